//! Measurements of the real app in a real window, for `scripts/bench`: how long a
//! 500-entry week takes from the click to all cells filled, how long from the
//! process's start to its first paint, and how much memory the app and its
//! WebKit processes hold once idle, beside WebKitGTK's own MiniBrowser on a
//! blank page (the floor any app on this engine starts from).
//!
//! Ignored by `cargo test`: they measure rather than check, and a timing in the
//! suite would only be noise. `scripts/bench` runs them, and reads the lines
//! they print that start with `measured`. They drive the debug build of the app
//! (the one whose sign-in the tests can script), so the Rust side's share of a
//! figure is an upper bound; the front end is the same production bundle.

use anyhow::{bail, ensure, Context as _, Result};
use chrono::NaiveDate;
use std::path::Path;
use std::time::Duration;
use timesheets::api::Api;
use timesheets::oauth;
use timesheets::{BrowserScript, Desktop, EMPLOYEE};
use timesheets_core::Week;

/// Entries of the measured week.
const ENTRIES: usize = 500;
/// Visits of the measured week: the first fetches it, the others show it again.
const ROUNDS: usize = 6;
/// How long the app is left alone before its memory is read.
const IDLE: Duration = Duration::from_secs(10);

/// Clicks `button`, then counts, once per animation frame, the grid's inputs for
/// `dates` that hold a value; answers the milliseconds until `expected` do
/// (`frame`: the frame that paints them is next), and on the way, when the
/// app's call for the week answered (`answered`) and when the grid's inputs
/// held the values (`rendered`), so what lies between is the front end's own
/// rendering, then WebKit's style and layout.
const FILL: &str = r#"
const [button, dates, expected, done] = arguments;
const start = performance.now();
let answered = null;
let rendered = null;
const fetch = window.fetch;
window.fetch = (resource, init) => {
  const call = fetch(resource, init);
  if (String(resource).includes("list_entries")) call.then(() => { answered ??= performance.now() - start; });
  return call;
};
const filled = () => {
  let n = 0;
  for (const input of document.querySelectorAll('input[data-testid^="cell-"]')) {
    const id = input.getAttribute("data-testid");
    if (input.value !== "" && dates.some((d) => id.endsWith(d))) n++;
  }
  return n;
};
const observer = new MutationObserver(() => {
  if (rendered === null && filled() >= expected) rendered = performance.now() - start;
});
observer.observe(document.body, { subtree: true, childList: true, attributes: true });
document.querySelector(`[data-testid="${button}"]`).click();
const poll = () => {
  if (filled() < expected) return requestAnimationFrame(poll);
  const frame = performance.now() - start;
  observer.disconnect();
  window.fetch = fetch;
  done({ frame, answered, rendered });
};
requestAnimationFrame(poll);
"#;

/// When the first frame was painted, in milliseconds since the Unix epoch:
/// WebKit's first contentful paint where it reports one, else the app's own mark.
const FIRST_PAINT: &str = r#"
const done = arguments[arguments.length - 1];
const started = performance.now();
const poll = () => {
  const first = performance.getEntriesByName("first-contentful-paint")[0]
    || performance.getEntriesByName("timesheets:first-paint")[0];
  if (first) done(performance.timeOrigin + first.startTime);
  else if (performance.now() - started > 5000) done(null);
  else setTimeout(poll, 20);
};
poll();
"#;

/// The milliseconds of one call of the app's `list_entries` command, as the
/// front end makes it, for the week from `arguments[0]` to `arguments[1]`.
const CALL: &str = r#"
const [from, to, done] = arguments;
const start = performance.now();
window.__TAURI_INTERNALS__.invoke("list_entries", { from, to }).then(
  (entries) => done(entries.length === 500 ? performance.now() - start : -1),
  () => done(-1),
);
"#;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::test]
#[ignore = "a measurement: scripts/bench runs it"]
async fn a_500_entry_week_from_the_click_to_all_cells_filled() -> Result<()> {
    let desk = Desktop::claim("speed-week-fill", &timesheets::test_browser()).await?;
    let server = desk.start_server().await?;
    let tokens = oauth::sign_in(&server.issuer, EMPLOYEE).await?;
    let api = Api::new(&server.api_url, tokens);
    let next = Week::containing(chrono::Local::now().date_naive()).next();
    let days: Vec<NaiveDate> = next.days().collect();
    // A person books at most 24 hours a day: 500 quarter hours fill 72 rows of
    // all seven days (the last row 3 of them), 18 hours a day.
    for i in 0..ENTRIES {
        api.create_entry(days[i % 7], &format!("P{:03}", i / 7), 0.25, "")
            .await?;
    }

    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(EMPLOYEE))
        .await?;
    app.click("sign-in").await?;
    app.wait_text("user-name", EMPLOYEE.name).await?;
    app.settle().await?;
    let dates: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    let expected = ENTRIES;
    let mut times = Vec::new();
    let mut answered = Vec::new();
    let mut rendered = Vec::new();
    for _ in 0..ROUNDS {
        let fill = app
            .execute_async(
                FILL,
                vec!["next-week".into(), dates.clone().into(), expected.into()],
            )
            .await?;
        let ms = |what: &str| fill[what].as_f64().unwrap_or(f64::NAN);
        times.push(ms("frame"));
        answered.push(ms("answered"));
        rendered.push(ms("rendered"));
        ensure!(!ms("frame").is_nan(), "the page answered no time: {fill}");
        app.click("prev-week").await?;
        app.settle().await?;
    }
    // The share of the app's own call for the week (IPC, the client, the API).
    let mut calls = Vec::new();
    for _ in 0..ROUNDS {
        let ms = app
            .execute_async(
                CALL,
                vec![days[0].to_string().into(), days[6].to_string().into()],
            )
            .await?;
        let ms = ms.as_f64().context("the page answered no time")?;
        ensure!(
            ms >= 0.0,
            "the app's list_entries call failed or missed entries"
        );
        calls.push(ms);
    }
    ensure!(
        api.entries(days[0], days[6]).await?.len() == expected,
        "the week does not hold {expected} entries"
    );
    app.close().await?;
    let first = times[0];
    let mut again = times[1..].to_vec();
    let rounds: Vec<String> = times.iter().map(|ms| format!("{ms:.0}")).collect();
    println!(
        "measured week_fill_first_ms={first:.0} week_fill_again_ms={:.0} week_fill_rounds_ms={} \
         week_answered_ms={:.0} week_rendered_ms={:.0} week_call_ms={:.0}",
        median(&mut again),
        rounds.join(","),
        median(&mut answered),
        median(&mut rendered),
        median(&mut calls)
    );
    Ok(())
}

#[tokio::test]
#[ignore = "a measurement: scripts/bench runs it"]
async fn first_paint_and_idle_memory_beside_webkits_own_browser() -> Result<()> {
    let desk = Desktop::claim("speed-start", &timesheets::test_browser()).await?;
    let server = desk.start_server().await?;
    let app = desk.launch(&server, &BrowserScript::unused()).await?;
    app.find("sign-in").await?;
    let pid = running(desk.app_binary())?;
    let started = started_at_ms(pid)?;
    let paint = app.execute_async(FIRST_PAINT, vec![]).await?;
    let first_paint = paint.as_f64().map(|at| at - started);
    tokio::time::sleep(IDLE).await;
    let app_kib = tree_pss_kib(pid)?;
    app.close().await?;

    let floor_kib = mini_browser_pss_kib().await?;
    println!(
        "measured first_paint_ms={} idle_pss_mib={:.1} webkit_floor_pss_mib={:.1} idle_vs_floor={:.2}",
        first_paint.map_or("unknown".to_owned(), |ms| format!("{ms:.0}")),
        app_kib as f64 / 1024.0,
        floor_kib as f64 / 1024.0,
        app_kib as f64 / floor_kib as f64
    );
    Ok(())
}

/// WebKitGTK's MiniBrowser on a blank page, left alone as long as the app was:
/// the PSS of it and its WebKit processes.
async fn mini_browser_pss_kib() -> Result<u64> {
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    let program = Path::new("/usr/lib")
        .join(multiarch)
        .join("webkit2gtk-4.1/MiniBrowser");
    ensure!(
        program.exists(),
        "{} is missing (libwebkit2gtk-4.1-0 ships it)",
        program.display()
    );
    let mut child = std::process::Command::new(&program)
        .arg("about:blank")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    tokio::time::sleep(IDLE).await;
    let kib = tree_pss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    kib
}

/// The one running process of `binary`.
fn running(binary: &Path) -> Result<u32> {
    let binary = binary.canonicalize()?;
    let found: Vec<u32> = processes()?
        .into_iter()
        .filter(|p| p.exe.as_deref() == Some(binary.as_path()))
        .map(|p| p.pid)
        .collect();
    match found[..] {
        [pid] => Ok(pid),
        _ => bail!("{} runs {} times", binary.display(), found.len()),
    }
}

struct Proc {
    pid: u32,
    parent: u32,
    exe: Option<std::path::PathBuf>,
}

fn processes() -> Result<Vec<Proc>> {
    let mut all = Vec::new();
    for dir in std::fs::read_dir("/proc")? {
        let dir = dir?;
        let Some(pid) = dir.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(dir.path().join("stat")) else {
            continue;
        };
        let parent = stat_fields(&stat)
            .get(1)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        let exe = std::fs::read_link(dir.path().join("exe")).ok();
        all.push(Proc { pid, parent, exe });
    }
    Ok(all)
}

/// The fields of /proc/PID/stat after the command name (which may hold spaces):
/// the state first, so field N of proc(5) is at N - 3.
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default()
}

/// The proportional set size of `root` and every process under it.
fn tree_pss_kib(root: u32) -> Result<u64> {
    let all = processes()?;
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|p| p.parent == parent).map(|p| p.pid));
        i += 1;
    }
    let mut total = 0;
    for pid in tree {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        total += rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// When `pid` started, in milliseconds since the Unix epoch: its start in clock
/// ticks after boot (proc(5) field 22), and the boot from `/proc/uptime`.
fn started_at_ms(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks: f64 = stat_fields(&stat)
        .get(22 - 3)
        .and_then(|f| f.parse().ok())
        .context("no start time in /proc/PID/stat")?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")?
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .context("no uptime")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    // Linux counts stat's start time in USER_HZ, 100 on every architecture it runs.
    Ok((now - uptime + ticks / 100.0) * 1000.0)
}

//! `test-browser <authorize-url>`: a scripted person in a browser, for the
//! end-to-end tests.
//!
//! Debug builds of the app start the program named by `TIMESHEETS_TEST_BROWSER`
//! with the authorize URL instead of opening the system browser. This program then
//! does what a person would: opens the page, fills in the identity provider's
//! sign-in form (and agrees on its consent page, if it has one), and when the
//! provider redirects to `com.example.timesheets:/oauth/callback?code=…&state=…&iss=…`,
//! starts the app with that link, as the OS does. The app's single-instance
//! plugin hands the link to the running app and that second process exits. When
//! the provider redirects to a loopback address instead (RFC 8252 §7.3), the
//! browser simply goes there: the app's own listener takes the sign-in.
//!
//! Environment:
//! - `TEST_BROWSER_EMAIL`, `TEST_BROWSER_PASSWORD`: who signs in. Without them the
//!   program fails loudly: a test that expects no sign-in leaves them unset.
//! - `TEST_BROWSER_APP`: the app binary to start with the link.
//! - `TEST_BROWSER_LOG` (optional): a file to append what it did to. Codes, states
//!   and tokens are never written: links are logged without their query.
//! - `TEST_BROWSER_WAIT_FOR` (optional): with the form loaded, wait until this file
//!   exists before signing in (a person who takes their time).
//!
//! Exits 0 once the app has taken the link, non-zero with a message on stderr
//! otherwise.

use anyhow::{anyhow, bail, Context as _, Result};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use timesheets::browser::{without_query, Browser, Form, Page};
use url::Url;

/// How long the person may take before signing in, when told to wait.
const WAIT_LIMIT: Duration = Duration::from_secs(120);
/// How long the app's second start may take to hand the link over and exit.
const HAND_OVER_LIMIT: Duration = Duration::from_secs(20);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let log = Log::from_env();
    match run(&log).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log.line(&format!("failed: {error:#}"));
            eprintln!("test-browser: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(log: &Log) -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(url), None) = (args.next(), args.next()) else {
        bail!("usage: test-browser <authorize-url>");
    };
    let url = url
        .into_string()
        .map_err(|_| anyhow!("the URL is not UTF-8"))?;
    let url = Url::parse(&url).context("the argument is not a URL")?;
    log.line(&format!("asked to open {}", without_query(&url)));

    let email = required("TEST_BROWSER_EMAIL")?;
    let password = required("TEST_BROWSER_PASSWORD")?;
    let app = std::env::var_os("TEST_BROWSER_APP")
        .filter(|value| !value.is_empty())
        .ok_or_else(|| anyhow!("TEST_BROWSER_APP is not set: which app should get the link?"))?;

    let browser = Browser::new()?;
    let wait_for = std::env::var_os("TEST_BROWSER_WAIT_FOR").map(PathBuf::from);
    let mut forms = 0;
    let page = browser
        .sign_in_through(&url, &email, &password, async |form: &Form| {
            forms += 1;
            log.line(&format!("form loaded from {}", without_query(&form.action)));
            if forms == 1 {
                if let Some(file) = &wait_for {
                    log.line("waiting before signing in");
                    wait_for_file(file).await?;
                }
            }
            Ok(())
        })
        .await?;
    let link = match page {
        Page::AppLink(link) => {
            if forms == 0 {
                log.line("the provider sent the browser straight back to the app");
            } else {
                log.line(&format!("signed in as {email}"));
            }
            link
        }
        // A loopback redirect: the app's own listener answered the browser.
        Page::Html { url, status, body } => {
            if !status.is_success() {
                bail!(
                    "the app's sign-in listener answered {status}: {}",
                    page_heading(&body).unwrap_or_default()
                );
            }
            log.line(&format!("signed in as {email}"));
            log.line(&format!(
                "the app's loopback listener at {} took the sign-in",
                without_query(&url)
            ));
            return Ok(());
        }
    };
    hand_over(&app, &link)?;
    log.line(&format!("handed {} to the app", without_query(&link)));
    Ok(())
}

/// Starts the app with `link` as the OS would, and waits for that second process
/// to pass the link on and exit.
fn hand_over(app: &OsString, link: &Url) -> Result<()> {
    let mut child = Command::new(app)
        .arg(link.as_str())
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start the app {}", PathBuf::from(app).display()))?;
    let deadline = Instant::now() + HAND_OVER_LIMIT;
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!("the app started with the link ended with {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the app started with the link did not exit within {HAND_OVER_LIMIT:?}: \
                 it ran as a second app instead of handing the link over (no D-Bus session?)"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first `<h1>` of a page: what the app's listener says happened.
fn page_heading(html: &str) -> Option<String> {
    let start = html.find("<h1>")? + "<h1>".len();
    let end = html[start..].find("</h1>")? + start;
    Some(html[start..end].to_owned())
}

async fn wait_for_file(file: &std::path::Path) -> Result<()> {
    let deadline = Instant::now() + WAIT_LIMIT;
    while !file.exists() {
        if Instant::now() > deadline {
            bail!("{} did not appear within {WAIT_LIMIT:?}", file.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn required(name: &str) -> Result<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            anyhow!("{name} is not set: this test did not expect anyone to sign in in the browser")
        })
}

/// The optional log of what the browser did, one line per step.
struct Log {
    path: Option<PathBuf>,
}

impl Log {
    fn from_env() -> Self {
        Log {
            path: std::env::var_os("TEST_BROWSER_LOG")
                .filter(|value| !value.is_empty())
                .map(PathBuf::from),
        }
    }

    fn line(&self, text: &str) {
        let Some(path) = &self.path else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "test-browser[{}]: {text}", std::process::id()));
        if let Err(error) = written {
            eprintln!("test-browser: cannot write {}: {error}", path.display());
        }
    }
}

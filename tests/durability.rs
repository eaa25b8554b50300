//! What an acknowledged write survives: the server killed outright (SIGKILL)
//! under concurrent writers and started again on the same data, on SQLite and on
//! PostgreSQL; and two API processes sharing one PostgreSQL database, which is
//! how the API runs on more than one machine.
//!
//! Writers behave as the app does: each change is retried, with the same
//! `Idempotency-Key` for a create, until the server answers it. At the end every
//! acknowledged create exists exactly once, no acknowledged delete is back, and
//! every entry holds the last acknowledged edit.

use anyhow::{bail, Context as _, Result};
use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timesheets::oauth::{self, random_text, EMPLOYEE};
use timesheets::server::{Server, ServerOptions, Trust};
use url::Url;

/// The first day writers book on; they spread over [`DAYS`] days from it.
const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 5) {
    Some(day) => day,
    None => panic!("a real date"),
};
const DAYS: u64 = 120;

/// What one writer was told by the server: the ground truth to check against.
#[derive(Debug, Default)]
struct Acknowledged {
    /// Entry id → the notes of its last acknowledged edit ("" when never edited).
    live: BTreeMap<String, String>,
    /// Entries whose deletion was acknowledged.
    deleted: BTreeSet<String>,
    /// Idempotency keys of acknowledged creates, with their entry.
    keys: BTreeMap<String, String>,
}

/// Sends one change until the server gives an answer, as the app's retries do:
/// a refused connection, a reset, a timeout or a 5xx (a server going down or
/// coming up) is tried again; anything else is the answer.
async fn until_answered(
    make: impl Fn() -> reqwest::RequestBuilder,
    stop_by: Instant,
) -> Result<(u16, Value)> {
    loop {
        match make().send().await {
            Ok(response) if !response.status().is_server_error() => {
                let status = response.status().as_u16();
                let body = response.json().await.unwrap_or(Value::Null);
                return Ok((status, body));
            }
            Ok(_) | Err(_) if Instant::now() < stop_by => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(response) => bail!("still {} after the deadline", response.status()),
            Err(e) => bail!("still unreachable after the deadline: {e}"),
        }
    }
}

/// One writer: creates entries (each with its own key, retried with it), edits
/// some and deletes some, against whichever of `bases` it picks, until `stop`.
async fn writer(
    n: u64,
    bases: Vec<Url>,
    token: String,
    stop: Arc<AtomicBool>,
) -> Result<Acknowledged> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut acked = Acknowledged::default();
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let base = &bases[usize::try_from(round).unwrap_or(0) % bases.len()];
        let stop_by = Instant::now() + Duration::from_secs(90);
        let key = random_text();
        let day = FIRST_DAY + Days::new((n * 7 + round) % DAYS);
        let body = json!({"date": day, "project": format!("w{n}-{round}"), "hours": 0.25});
        let url = base.join("v1/entries")?;
        let (status, created) = until_answered(
            || {
                http.post(url.clone())
                    .bearer_auth(&token)
                    .header("Idempotency-Key", &key)
                    .json(&body)
            },
            stop_by,
        )
        .await?;
        if status != 201 {
            bail!("writer {n}: create answered {status}: {created}");
        }
        let id = created["id"].as_str().context("an id")?.to_owned();
        acked.keys.insert(key, id.clone());
        acked.live.insert(id.clone(), String::new());

        let entry = base.join(&format!("v1/entries/{id}"))?;
        if round % 3 == 0 {
            let notes = format!("edit {round}");
            let (status, body) = until_answered(
                || {
                    http.patch(entry.clone())
                        .bearer_auth(&token)
                        .json(&json!({"notes": notes}))
                },
                stop_by,
            )
            .await?;
            if status != 200 {
                bail!("writer {n}: edit answered {status}: {body}");
            }
            acked.live.insert(id.clone(), notes);
        }
        if round % 4 == 0 {
            let (status, body) =
                until_answered(|| http.delete(entry.clone()).bearer_auth(&token), stop_by).await?;
            // 404: an earlier try went through before the server died.
            if status != 204 && status != 404 {
                bail!("writer {n}: delete answered {status}: {body}");
            }
            acked.live.remove(&id);
            acked.deleted.insert(id);
        }
    }
    Ok(acked)
}

/// Every entry of the signed-in person over the writers' days.
async fn all_entries(base: &Url, token: &str) -> Result<Vec<Value>> {
    let last = FIRST_DAY + Days::new(DAYS);
    let response = reqwest::Client::new()
        .get(base.join("v1/entries")?)
        .query(&[("from", FIRST_DAY.to_string()), ("to", last.to_string())])
        .bearer_auth(token)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("listing answered {}", response.status());
    }
    let list: Value = response.json().await?;
    Ok(list["entries"].as_array().cloned().unwrap_or_default())
}

/// Checks what the database holds against what every writer was told.
fn check(acked: &[Acknowledged], entries: &[Value]) -> Result<usize> {
    let mut stored: BTreeMap<String, String> = BTreeMap::new();
    let mut projects = BTreeSet::new();
    for entry in entries {
        let id = entry["id"].as_str().context("an id")?.to_owned();
        let project = entry["project"].as_str().context("a project")?.to_owned();
        if !projects.insert(project.clone()) {
            bail!("{project} was created twice");
        }
        stored.insert(id, entry["notes"].as_str().unwrap_or("").to_owned());
    }
    let mut expected = 0;
    for writer in acked {
        for (id, notes) in &writer.live {
            expected += 1;
            match stored.get(id) {
                None => bail!("the acknowledged entry {id} is lost"),
                Some(got) if got != notes => {
                    bail!("entry {id} holds {got:?}, not its last acknowledged edit {notes:?}")
                }
                Some(_) => {}
            }
        }
        for id in &writer.deleted {
            if stored.contains_key(id) {
                bail!("the deleted entry {id} is back");
            }
        }
    }
    if stored.len() != expected {
        bail!(
            "{} entries stored, {expected} acknowledged and not deleted",
            stored.len()
        );
    }
    Ok(expected)
}

/// A fresh PostgreSQL database on the test server, dropped by the caller.
async fn postgres_database() -> Result<(String, String)> {
    use sqlx::Connection as _;
    let admin = std::env::var("TIMESHEETS_TEST_POSTGRES_URL").context(
        "TIMESHEETS_TEST_POSTGRES_URL is not set: run scripts/test, which starts a \
         PostgreSQL server and sets it",
    )?;
    let name = format!(
        "crash_{}",
        random_text().to_lowercase().replace(['-', '_'], "")
    );
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let mut url = Url::parse(&admin)?;
    url.set_path(&format!("/{name}"));
    Ok((url.to_string(), name))
}

async fn drop_postgres_database(name: &str) {
    use sqlx::Connection as _;
    if let Ok(admin) = std::env::var("TIMESHEETS_TEST_POSTGRES_URL") {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// 16 writers; the server killed with SIGKILL `kills` times while they write,
/// and started again on the same data and ports each time.
async fn killed_under_writers(database_url: Option<String>, kills: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut options = ServerOptions::new(timesheets::server_binary(), dir.path().join("server"));
    options.database_url = database_url;
    let mut server = Server::start(&options).await?;
    options.ports = Some(server.ports());
    let token = oauth::sign_in(&server.issuer, EMPLOYEE).await?.access_token;
    let base = server.api_url.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..16)
        .map(|n| {
            tokio::spawn(writer(
                n,
                vec![base.clone()],
                token.clone(),
                Arc::clone(&stop),
            ))
        })
        .collect();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        server.kill();
        tokio::time::sleep(Duration::from_millis(200)).await;
        server = Server::start(&options).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for handle in writers {
        acked.push(handle.await??);
    }
    // Once more after the last writes, so they too must have reached the disk.
    server.kill();
    let server = Server::start(&options).await?;
    let entries = all_entries(&server.api_url, &token).await?;
    let count = check(&acked, &entries)?;
    let creates: usize = acked.iter().map(|a| a.keys.len()).sum();
    assert!(creates > 100, "too few writes to tell: {creates}");
    eprintln!("{creates} creates acknowledged, {count} entries left after {kills} kills");
    server.stop();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_16_writers_loses_nothing_on_sqlite() -> Result<()> {
    killed_under_writers(None, 3).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_16_writers_loses_nothing_on_postgres() -> Result<()> {
    let (url, name) = postgres_database().await?;
    let result = killed_under_writers(Some(url), 3).await;
    drop_postgres_database(&name).await;
    result
}

/// Two API processes on one PostgreSQL database: writers spread over both, and
/// one `Idempotency-Key` sent to both at once makes one entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_api_processes_share_one_postgres() -> Result<()> {
    let (url, name) = postgres_database().await?;
    let result = async {
        let dir = tempfile::tempdir()?;
        let mut first = ServerOptions::new(timesheets::server_binary(), dir.path().join("a"));
        first.database_url = Some(url.clone());
        let a = Server::start(&first).await?;
        // The second trusts the first one's provider, as every API process of a
        // deployment trusts the one provider.
        let mut second = ServerOptions::new(timesheets::server_binary(), dir.path().join("b"));
        second.database_url = Some(url.clone());
        second.trust = Some(Trust {
            issuer: a.issuer.clone(),
            audience: "timesheets-api".to_owned(),
        });
        let b = Server::start(&second).await?;
        let token = oauth::sign_in(&a.issuer, EMPLOYEE).await?.access_token;
        let bases = vec![a.api_url.clone(), b.api_url.clone()];

        // The same key at both at once, many times over: one entry each time.
        let http = reqwest::Client::new();
        for round in 0..20 {
            let key = random_text();
            let project = format!("raced {round}");
            let body = json!({"date": FIRST_DAY, "project": project, "hours": 0.25});
            let barrier = Arc::new(tokio::sync::Barrier::new(bases.len()));
            let sends: Vec<_> = bases
                .iter()
                .map(|base| {
                    let request = http
                        .post(base.join("v1/entries")?)
                        .bearer_auth(&token)
                        .header("Idempotency-Key", &key)
                        .json(&body);
                    let barrier = Arc::clone(&barrier);
                    Ok(tokio::spawn(async move {
                        barrier.wait().await;
                        let response = request.send().await?;
                        let status = response.status().as_u16();
                        let body: Value = response.json().await?;
                        Ok::<_, anyhow::Error>((status, body["id"].clone()))
                    }))
                })
                .collect::<Result<_>>()?;
            let mut ids = BTreeSet::new();
            for send in sends {
                let (status, id) = send.await??;
                assert_eq!(
                    status, 201,
                    "round {round}: both are answered as the create"
                );
                ids.insert(id.to_string());
            }
            assert_eq!(
                ids.len(),
                1,
                "round {round}: one entry for one key, {ids:?}"
            );
        }
        let raced = all_entries(&b.api_url, &token).await?;
        let raced = raced
            .iter()
            .filter(|e| e["project"].as_str().unwrap_or("").starts_with("raced"))
            .count();
        assert_eq!(raced, 20, "one entry per key");

        // Writers spread over both processes.
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..8)
            .map(|n| tokio::spawn(writer(n, bases.clone(), token.clone(), Arc::clone(&stop))))
            .collect();
        tokio::time::sleep(Duration::from_secs(5)).await;
        stop.store(true, Ordering::Relaxed);
        let mut acked = Vec::new();
        for handle in writers {
            acked.push(handle.await??);
        }
        let entries = all_entries(&a.api_url, &token).await?;
        let writes: Vec<Value> = entries
            .into_iter()
            .filter(|e| !e["project"].as_str().unwrap_or("").starts_with("raced"))
            .collect();
        check(&acked, &writes)?;
        assert_eq!(
            all_entries(&b.api_url, &token).await?.len(),
            all_entries(&a.api_url, &token).await?.len(),
            "both processes see the same entries"
        );
        a.stop();
        b.stop();
        Ok(())
    }
    .await;
    drop_postgres_database(&name).await;
    result
}

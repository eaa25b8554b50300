//! A bad day in operations: a database that runs out of room. Writes must fail
//! clearly while it lasts and recover by themselves once it is gone, and reads
//! must go on throughout. (The sustained burst of writes is `tests/burst.rs`.)

use crate::support::{Reply, TestApp, EMPLOYEE};
use serde_json::json;
use std::collections::BTreeSet;

const YEAR: &str = "/v1/entries?from=2026-01-01&to=2026-12-31";

/// Creates an entry of `alice`'s with notes of `size` characters, on a day of
/// 2026 that `n` picks (so no day fills up).
async fn create(app: &TestApp, token: &str, n: usize, size: usize) -> Reply {
    let day =
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n as u64 % 360);
    app.post(
        "/v1/entries",
        token,
        json!({"date": day, "project": format!("P{n}"), "notes": "x".repeat(size), "hours": 0.25}),
    )
    .await
}

/// SQLite capped at 256 KiB stands for a full disk: SQLite fails the write and
/// rolls back by itself, which once left pooled connections believing a
/// transaction was still open, so that every later write failed until restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_clearly_and_they_recover_by_themselves() {
    let app = TestApp::start_with(crate::support::Backend::Sqlite, |config| {
        config.max_database_bytes = Some(256 * 1024);
    })
    .await;
    let alice = app.token("alice", EMPLOYEE);

    // Fill it up: every create is either saved (201) or refused as full (507).
    let mut saved = Vec::new();
    let mut full = None;
    for n in 0..2000 {
        let reply = create(&app, &alice, n, 1000).await;
        match reply.status {
            201 => saved.push(reply.json["id"].as_str().unwrap().to_owned()),
            _ => {
                full = Some(reply);
                break;
            }
        }
    }
    let full = full.expect("the database filled up");
    assert_eq!(
        (full.status, full.error()),
        (507, "storage_full"),
        "{}",
        full.text
    );
    assert!(full.json["message"]
        .as_str()
        .unwrap()
        .contains("nothing was saved"));
    assert!(saved.len() > 10, "only {} saved before full", saved.len());

    // While full: more writes fail the same clear way, and reads go on.
    for n in 0..5 {
        let reply = create(&app, &alice, 10_000 + n, 1000).await;
        assert_eq!(
            (reply.status, reply.error()),
            (507, "storage_full"),
            "{}",
            reply.text
        );
        let list = app.get(YEAR, &alice).await;
        assert_eq!(list.status, 200, "reads work while full: {}", list.text);
        assert_eq!(list.json["entries"].as_array().unwrap().len(), saved.len());
    }

    // Room comes back: an operator clears half the entries (their pages become
    // free for new rows); the server is not restarted.
    let pool = app.db.pool().await;
    for id in saved.split_off(saved.len() / 2) {
        sqlx::query("DELETE FROM entries WHERE id = $1")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    // 100 writes in a row succeed, with no restart: small ones, as the room is.
    for n in 0..100 {
        let reply = create(&app, &alice, 20_000 + n, 10).await;
        assert_eq!(
            reply.status, 201,
            "write {n} after the disk had room again: {}",
            reply.text
        );
        saved.push(reply.json["id"].as_str().unwrap().to_owned());
    }
    // Nothing acknowledged is lost.
    let list = app.get(YEAR, &alice).await;
    let listed: BTreeSet<String> = list.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, saved.into_iter().collect::<BTreeSet<_>>());
}

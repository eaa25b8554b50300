//! A database made by an older schema, opened by this server: nothing is lost,
//! and every entry stands where the new rules put it.

use crate::both_backends;
use crate::support::{Backend, Issuer, TestApp, TestDb, MANAGER};
use serde_json::{json, Value};
use sqlx::Executor;

both_backends!(entries_before_drafts_keep_their_place);

/// The schema before drafts: the first four migrations of `backend`'s folder.
async fn old_schema(db: &TestDb, backend: Backend) {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let old = tempfile::tempdir().unwrap();
    for name in [
        "0001_entries.sql",
        "0002_people.sql",
        "0003_idempotency_expiry.sql",
        "0004_list_order.sql",
    ] {
        std::fs::copy(source.join(name), old.path().join(name)).unwrap();
    }
    // The file does not exist yet: SQLite is asked to make it.
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite => format!("{}?mode=rwc", db.url),
        Backend::Postgres => db.url.clone(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    // An entry in each status the old schema knew, and a person.
    let at = "2026-11-20T09:00:00.000000Z";
    for (id, owner, date, status, decided) in [
        (
            "0190a0a0-0000-7000-8000-000000000001",
            "alice",
            "2026-11-23",
            "pending",
            None,
        ),
        (
            "0190a0a0-0000-7000-8000-000000000002",
            "alice",
            "2026-11-24",
            "approved",
            Some("mona"),
        ),
        (
            "0190a0a0-0000-7000-8000-000000000003",
            "alice",
            "2026-11-25",
            "rejected",
            Some("mona"),
        ),
        (
            "0190a0a0-0000-7000-8000-000000000004",
            "bob",
            "2026-11-23",
            "pending",
            None,
        ),
    ] {
        sqlx::query(
            "INSERT INTO entries (id, owner, owner_name, date, project, notes, quarters, status, \
             decided_by, decided_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'Apollo', 'kept, \"quoted\"', 10, $5, $6, $7, $8, $8)",
        )
        .bind(id)
        .bind(owner)
        .bind(format!("{owner} (name)"))
        .bind(date)
        .bind(status)
        .bind(decided)
        .bind(decided.map(|_| at))
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.execute("INSERT INTO audit (at, actor, action, entry_id, detail) VALUES ('2026-11-20T09:00:00.000000Z', 'alice', 'create', '0190a0a0-0000-7000-8000-000000000001', '{}')")
        .await
        .unwrap();
    pool.close().await;
}

async fn entries_before_drafts_keep_their_place(backend: Backend) {
    let db = TestDb::create(backend).await;
    old_schema(&db, backend).await;
    let app = TestApp::start_on(db, Issuer::start().await, |_| {}).await;
    let alice = app.token("alice", MANAGER);
    let mona = app.token("mona", MANAGER);

    let week = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-29", &alice)
        .await;
    assert_eq!(week.status, 200, "{}", week.text);
    let entries = week.json["entries"].as_array().unwrap();
    let shown: Vec<(&str, &str, &Value, &Value)> = entries
        .iter()
        .map(|e| {
            (
                e["date"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
                &e["decided_by"],
                &e["reason"],
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("2026-11-23", "submitted", &Value::Null, &Value::Null),
            ("2026-11-24", "approved", &json!("mona"), &Value::Null),
            ("2026-11-25", "rejected", &json!("mona"), &Value::Null),
        ],
        "pending was sent for a decision: it is submitted; the rest keep theirs"
    );
    for e in entries {
        assert_eq!(e["notes"], "kept, \"quoted\"");
        assert_eq!(e["hours"], 2.5);
        assert_eq!(e["owner_name"], "alice (name)");
        assert_eq!(e["created_at"], "2026-11-20T09:00:00Z");
    }
    // Submitted, they are in the queue, and are decided as before.
    let queue = app.get("/v1/approvals", &mona).await;
    let ids: Vec<&str> = queue.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "0190a0a0-0000-7000-8000-000000000001",
            "0190a0a0-0000-7000-8000-000000000004"
        ]
    );
    let reply = app
        .post(
            "/v1/entries/0190a0a0-0000-7000-8000-000000000001/decision",
            &mona,
            json!({"decision": "reject", "seen_updated_at": entries[0]["updated_at"], "reason": "which Apollo?"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The old audit row is still there, before the new one.
    let actions: Vec<String> = app.audit().await.into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(actions, ["create", "reject"]);
    // The new rules hold on the old rows: a reason goes only with a rejection.
    let pool = app.db.pool().await;
    let refused = sqlx::query(
        "UPDATE entries SET reason = 'x' WHERE id = '0190a0a0-0000-7000-8000-000000000002'",
    )
    .execute(&pool)
    .await;
    assert!(refused.is_err(), "a reason on an approved entry was stored");
    pool.close().await;
}

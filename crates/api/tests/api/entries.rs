//! One's own entries: the row rules, each naming its field; the day limit; edits
//! and deletions; idempotent creation; and the shape of every error.

use crate::both_backends;
use crate::support::{Api, Backend, TestApp, EMPLOYEE, MANAGER};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    created_entries_are_listed_in_order,
    body_rules_name_their_field,
    list_query_rules_name_their_parameter,
    a_day_holds_at_most_24_hours,
    edits_follow_the_status,
    deletions_follow_the_status,
    idempotency_key_replays_the_first_answer,
    idempotency_keys_expire_and_never_replay_a_deleted_entry,
    text_that_reads_differently_is_refused,
    errors_are_json_everywhere,
);

const WEEK: &str = "/v1/entries?from=2026-11-23&to=2026-11-29";

fn ids(list: &Value) -> Vec<String> {
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn created_entries_are_listed_in_order(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);

    let reply = app
        .post(
            "/v1/entries",
            &alice,
            json!({"date": "2026-11-24", "project": "  Zeus ", "notes": "design", "hours": 7.5}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let zeus = reply.json.clone();
    assert_eq!(
        reply.header("location"),
        format!("/v1/entries/{}", zeus["id"].as_str().unwrap())
    );
    assert_eq!(zeus["owner"], "alice");
    assert_eq!(zeus["owner_name"], "alice (name)");
    assert_eq!(zeus["project"], "Zeus", "the project is trimmed");
    assert_eq!(zeus["notes"], "design");
    assert_eq!(zeus["hours"], 7.5);
    assert_eq!(
        zeus["status"], "draft",
        "hours are drafts until the week is submitted"
    );
    assert_eq!(zeus["reason"], Value::Null);
    assert_eq!(zeus["decided_by"], Value::Null);
    assert_eq!(zeus["created_at"], zeus["updated_at"]);

    let apollo = app.create(&alice, "2026-11-24", "Apollo", 1.0).await;
    let monday = app.create(&alice, "2026-11-23", "Zeus", 0.25).await;
    let _outside = app.create(&alice, "2026-11-30", "Apollo", 1.0).await;
    let _bobs = app.create(&bob, "2026-11-24", "Apollo", 1.0).await;

    let reply = app.get(WEEK, &alice).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
    assert!(
        !reply.header("x-request-id").is_empty(),
        "a request id is set"
    );
    let expected: Vec<String> = [&monday, &apollo, &zeus]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids(&reply.json),
        expected,
        "by date, then project; own entries only"
    );
    assert_eq!(reply.json["entries"][2], zeus, "listed exactly as created");

    // A request id sent by the client is kept and echoed.
    let reply = Api::send(
        app.request(Method::GET, WEEK, Some(&alice))
            .header("x-request-id", "trace-me-42"),
    )
    .await;
    assert_eq!(reply.header("x-request-id"), "trace-me-42");

    // A one-day range includes its day.
    let reply = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-23", &alice)
        .await;
    assert_eq!(
        ids(&reply.json),
        vec![monday["id"].as_str().unwrap().to_owned()]
    );
}

async fn body_rules_name_their_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let good = json!({"date": "2026-11-23", "project": "Apollo", "notes": "", "hours": 1.5});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "a day that does not exist",
            with("date", json!("2026-02-30")),
            422,
            "date",
        ),
        (
            "a date without padding",
            with("date", json!("2026-2-3")),
            422,
            "date",
        ),
        (
            "a date before 1970",
            with("date", json!("1969-12-31")),
            422,
            "date",
        ),
        (
            "a date that is a number",
            with("date", json!(20261123)),
            422,
            "date",
        ),
        ("zero hours", with("hours", json!(0)), 422, "hours"),
        ("negative hours", with("hours", json!(-1)), 422, "hours"),
        (
            "hours off the quarter grid",
            with("hours", json!(0.3)),
            422,
            "hours",
        ),
        ("more than a day", with("hours", json!(24.25)), 422, "hours"),
        ("hours as text", with("hours", json!("8")), 422, "hours"),
        ("hours null", with("hours", Value::Null), 422, "hours"),
        (
            "an empty project",
            with("project", json!("   ")),
            422,
            "project",
        ),
        (
            "a long project",
            with("project", json!("p".repeat(101))),
            422,
            "project",
        ),
        (
            "a project with a control char",
            with("project", json!("a\u{7}b")),
            422,
            "project",
        ),
        (
            "a project that is an object",
            with("project", json!({"a": 1})),
            422,
            "project",
        ),
        (
            "long notes",
            with("notes", json!("n".repeat(1001))),
            422,
            "notes",
        ),
        (
            "notes with NUL",
            with("notes", json!("a\u{0}b")),
            422,
            "notes",
        ),
        (
            "an unknown field",
            with("owner", json!("mallory")),
            422,
            "owner",
        ),
        (
            "a missing field",
            json!({"date": "2026-11-23", "hours": 1}),
            422,
            "project",
        ),
        ("not an object", json!([1, 2]), 422, "body"),
    ];
    for (case, body, status, field) in cases {
        let reply = app.post("/v1/entries", &alice, body).await;
        assert_eq!(reply.status, status, "{case}: {}", reply.text);
        assert_eq!(reply.error(), "invalid_field", "{case}");
        assert_eq!(reply.field(), field, "{case}: {}", reply.text);
    }
    // Limits are inclusive.
    app.post(
        "/v1/entries",
        &alice,
        with("project", json!("p".repeat(100))),
    )
    .await;
    let reply = app
        .post(
            "/v1/entries",
            &alice,
            with("notes", json!("n".repeat(1000))),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // Malformed JSON is a 400 that still names where it broke.
    for raw in [
        "{",
        "{\"hours\": }",
        "not json",
        "{\"date\": \"2026-11-23\", \"project\": \"A\", \"hours\": 1} trailing",
    ] {
        let reply = Api::send(
            app.request(Method::POST, "/v1/entries", Some(&alice))
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
        assert_eq!(reply.status, 400, "{raw}: {}", reply.text);
        assert_eq!(reply.error(), "invalid_field", "{raw}");
        assert!(!reply.field().is_empty(), "{raw}");
    }

    // A patch is checked the same way, and must change something.
    let entry = app.create(&alice, "2026-11-25", "Apollo", 1.0).await;
    let path = format!("/v1/entries/{}", entry["id"].as_str().unwrap());
    for (body, field) in [
        (json!({}), "body"),
        (json!({"hours": 0.1}), "hours"),
        (json!({"date": "2026-13-01"}), "date"),
        (json!({"project": ""}), "project"),
        (json!({"status": "approved"}), "status"),
        (json!({"hours": "x"}), "hours"),
    ] {
        let reply = app.patch(&path, &alice, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        assert_eq!(reply.field(), field, "{body}");
    }
}

async fn list_query_rules_name_their_parameter(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let cases = [
        ("/v1/entries", 400, "from"),
        ("/v1/entries?from=2026-11-23", 400, "to"),
        ("/v1/entries?to=2026-11-23", 400, "from"),
        ("/v1/entries?from=2026-11-31&to=2026-12-01", 422, "from"),
        ("/v1/entries?from=2026-11-23&to=tomorrow", 422, "to"),
        ("/v1/entries?from=2026-11-23&to=2026-11-22", 422, "to"),
        ("/v1/entries?from=2024-01-01&to=2025-01-01", 422, "to"),
        (
            "/v1/entries?from=2026-11-23&to=2026-11-29&limit=5",
            400,
            "limit",
        ),
        (
            "/v1/entries?from=2026-11-23&from=2026-11-24&to=2026-11-29",
            400,
            "from",
        ),
        ("/v1/approvals?from=someday", 422, "from"),
        ("/v1/approvals?from=2026-11-23&to=2026-11-01", 422, "to"),
        ("/v1/approvals?status=pending", 400, "status"),
    ];
    let manager = app.token("mona", MANAGER);
    for (path, status, field) in cases {
        let token = if path.starts_with("/v1/approvals") {
            &manager
        } else {
            &alice
        };
        let reply = app.get(path, token).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.text);
        assert_eq!(reply.field(), field, "{path}: {}", reply.text);
    }
    // A leap year fits exactly.
    assert_eq!(
        app.get("/v1/entries?from=2024-01-01&to=2024-12-31", &alice)
            .await
            .status,
        200
    );
}

async fn a_day_holds_at_most_24_hours(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    app.create(&alice, "2026-11-23", "Apollo", 20.0).await;

    let over = json!({"date": "2026-11-23", "project": "Zeus", "hours": 4.25});
    let reply = app.post("/v1/entries", &alice, over).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.field(), "hours");

    let last = app.create(&alice, "2026-11-23", "Zeus", 4.0).await;
    // Other people and other days are not affected.
    app.create(&bob, "2026-11-23", "Apollo", 24.0).await;
    let tuesday = app.create(&alice, "2026-11-24", "Apollo", 8.0).await;

    // Editing counts too: growing an entry, or moving it onto a full day.
    let last_path = format!("/v1/entries/{}", last["id"].as_str().unwrap());
    let reply = app.patch(&last_path, &alice, json!({"hours": 4.25})).await;
    assert_eq!(
        (reply.status, reply.field()),
        (422, "hours"),
        "{}",
        reply.text
    );
    let reply = app.patch(&last_path, &alice, json!({"hours": 3.75})).await;
    assert_eq!(reply.status, 200, "shrinking is fine: {}", reply.text);
    let tuesday_path = format!("/v1/entries/{}", tuesday["id"].as_str().unwrap());
    let reply = app
        .patch(&tuesday_path, &alice, json!({"date": "2026-11-23"}))
        .await;
    assert_eq!(
        (reply.status, reply.field()),
        (422, "hours"),
        "{}",
        reply.text
    );
    let reply = app
        .patch(
            &tuesday_path,
            &alice,
            json!({"date": "2026-11-23", "hours": 0.25}),
        )
        .await;
    assert_eq!(reply.status, 200, "exactly 24 fits: {}", reply.text);

    let list = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-23", &alice)
        .await;
    let total: f64 = list.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["hours"].as_f64().unwrap())
        .sum();
    assert_eq!(total, 24.0);
}

async fn edits_follow_the_status(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let entry = app.create(&alice, "2026-11-23", "Apollo", 2.0).await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/entries/{id}");

    let reply = app
        .patch(&path, &alice, json!({"notes": "more", "hours": 2.5}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        (reply.json["notes"].as_str(), reply.json["hours"].as_f64()),
        (Some("more"), Some(2.5))
    );
    assert_eq!(reply.json["project"], "Apollo", "fields not sent stay");
    assert_eq!(reply.json["created_at"], entry["created_at"]);
    assert_ne!(reply.json["updated_at"], entry["updated_at"]);

    // Someone else's entry does not exist for bob, whatever the id's form.
    let reply = app.patch(&path, &bob, json!({"hours": 1})).await;
    assert_eq!((reply.status, reply.error()), (404, "not_found"));
    let upper = format!("/v1/entries/{}", id.to_uppercase());
    assert_eq!(
        app.patch(&upper, &bob, json!({"hours": 1})).await.status,
        404
    );
    assert_eq!(
        app.patch("/v1/entries/not-a-uuid", &alice, json!({"hours": 1}))
            .await
            .status,
        404
    );
    let unknown = format!("/v1/entries/{}", uuid::Uuid::new_v4());
    assert_eq!(
        app.patch(&unknown, &alice, json!({"hours": 1}))
            .await
            .status,
        404
    );
    // The owner may use any spelling of the UUID.
    let reply = app.patch(&upper, &alice, json!({"hours": 2.5})).await;
    assert_eq!(reply.status, 200);

    // Submitted: read-only until decided or withdrawn.
    let submitted = app.submit(&alice, "2026-11-23").await;
    let reply = app.patch(&path, &alice, json!({"hours": 2.75})).await;
    assert_eq!(
        (reply.status, reply.error()),
        (409, "conflict"),
        "{}",
        reply.text
    );
    assert!(reply.json["message"].as_str().unwrap().contains("withdraw"));

    // Rejected: editing is allowed, and makes a draft again.
    let decision = format!("/v1/entries/{id}/decision");
    let seen = |entry: &Value, decision: &str| json!({"decision": decision, "seen_updated_at": entry["updated_at"], "reason": "not 2.5"});
    let reply = app
        .post(&decision, &mona, seen(&submitted[0], "reject"))
        .await;
    assert_eq!(reply.json["status"], "rejected", "{}", reply.text);
    let reply = app.patch(&path, &alice, json!({"hours": 3})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["status"], "draft");
    assert_eq!(reply.json["decided_by"], Value::Null);
    assert_eq!(reply.json["decided_at"], Value::Null);
    assert_eq!(reply.json["reason"], Value::Null);

    // Approved: frozen.
    let submitted = app.submit(&alice, "2026-11-23").await;
    let approve = json!({"decision": "approve", "seen_updated_at": submitted[0]["updated_at"]});
    assert_eq!(app.post(&decision, &mona, approve).await.status, 200);
    let reply = app.patch(&path, &alice, json!({"hours": 4})).await;
    assert_eq!(
        (reply.status, reply.error()),
        (409, "conflict"),
        "{}",
        reply.text
    );
    let listed = app.get(WEEK, &alice).await;
    assert_eq!(listed.json["entries"][0]["hours"], 3.0);

    let actions: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .map(|(action, _, _)| action)
        .collect();
    assert_eq!(
        actions,
        ["create", "edit", "edit", "submit", "reject", "edit", "submit", "approve"]
    );
}

async fn deletions_follow_the_status(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let doomed = app.create(&alice, "2026-11-23", "Apollo", 2.0).await;
    let kept = app.create(&alice, "2026-11-24", "Apollo", 2.0).await;
    let doomed_id = doomed["id"].as_str().unwrap();
    let kept_id = kept["id"].as_str().unwrap();

    assert_eq!(
        app.delete(&format!("/v1/entries/{doomed_id}"), &bob)
            .await
            .status,
        404
    );
    assert_eq!(app.delete("/v1/entries/123", &alice).await.status, 404);
    let reply = app
        .delete(&format!("/v1/entries/{doomed_id}"), &alice)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(
        app.delete(&format!("/v1/entries/{doomed_id}"), &alice)
            .await
            .status,
        404
    );
    assert_eq!(
        ids(&app.get(WEEK, &alice).await.json),
        vec![kept_id.to_owned()]
    );

    let submitted = app.submit(&alice, "2026-11-23").await;
    let reply = app.delete(&format!("/v1/entries/{kept_id}"), &alice).await;
    assert_eq!(
        (reply.status, reply.error()),
        (409, "conflict"),
        "submitted"
    );
    let reply = app
        .post(
            &format!("/v1/entries/{kept_id}/decision"),
            &mona,
            json!({"decision": "approve", "seen_updated_at": submitted[0]["updated_at"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app.delete(&format!("/v1/entries/{kept_id}"), &alice).await;
    assert_eq!((reply.status, reply.error()), (409, "conflict"), "approved");
    assert_eq!(
        ids(&app.get(WEEK, &alice).await.json),
        vec![kept_id.to_owned()]
    );

    let audit = app.audit().await;
    assert!(
        audit.contains(&(
            "delete".to_owned(),
            "alice".to_owned(),
            doomed_id.to_owned()
        )),
        "{audit:?}"
    );
    assert_eq!(
        audit.iter().filter(|(a, _, _)| a == "delete").count(),
        1,
        "refused deletions leave no row"
    );
}

async fn idempotency_key_replays_the_first_answer(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    let body = json!({"date": "2026-11-23", "project": "Apollo", "hours": 2});
    let post = |token: &str, key: &str, body: &Value| {
        Api::send(
            app.request(Method::POST, "/v1/entries", Some(token))
                .header("idempotency-key", key)
                .json(body),
        )
    };

    let first = post(&alice, "key-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // The entry changes afterwards; a retry still gets the first answer.
    let id = first.json["id"].as_str().unwrap();
    app.patch(
        &format!("/v1/entries/{id}"),
        &alice,
        json!({"notes": "later"}),
    )
    .await;
    let retry = post(&alice, "key-1", &body).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.text, first.text, "same body");

    let other_body = json!({"date": "2026-11-23", "project": "Apollo", "hours": 3});
    let reply = post(&alice, "key-1", &other_body).await;
    assert_eq!(
        (reply.status, reply.field()),
        (422, "Idempotency-Key"),
        "{}",
        reply.text
    );

    // Keys belong to their caller.
    let bobs = post(&bob, "key-1", &body).await;
    assert_eq!(bobs.status, 201);
    assert_ne!(bobs.json["id"], first.json["id"]);

    for bad in ["", &"k".repeat(256), "with space", "tab\there"] {
        let reply = Api::send(
            app.request(Method::POST, "/v1/entries", Some(&alice))
                .header("idempotency-key", bad)
                .json(&body),
        )
        .await;
        assert_eq!(
            (reply.status, reply.field()),
            (422, "Idempotency-Key"),
            "{bad:?}: {}",
            reply.text
        );
    }
    let max = "k".repeat(255);
    assert_eq!(post(&alice, &max, &body).await.status, 201);
    assert_eq!(
        app.get(WEEK, &alice).await.json["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn idempotency_keys_expire_and_never_replay_a_deleted_entry(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let pool = app.db.pool().await;
    // A key someone used two days ago and never again.
    sqlx::query(
        "INSERT INTO idempotency_keys (owner, idem_key, request_hash, entry_id, response, created_at) \
         VALUES ('carol', 'old', 'h', 'e', '{}', '2026-01-01T00:00:00.000000Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let body = json!({"date": "2026-11-23", "project": "Apollo", "hours": 2});
    let post = |key: &str| {
        Api::send(
            app.request(Method::POST, "/v1/entries", Some(&alice))
                .header("idempotency-key", key)
                .json(&body),
        )
    };
    let keys = |owner: &'static str| {
        let pool = pool.clone();
        async move {
            let keys: Vec<(String,)> =
                sqlx::query_as("SELECT idem_key FROM idempotency_keys WHERE owner = $1")
                    .bind(owner)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            keys.len()
        }
    };

    let first = post("key-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        keys("carol").await,
        0,
        "expired keys are swept by any write"
    );
    assert_eq!(keys("alice").await, 1);

    // Within the day a retry replays; a day later the same key is a new request.
    assert_eq!(post("key-1").await.json["id"], first.json["id"]);
    sqlx::query("UPDATE idempotency_keys SET created_at = $1 WHERE owner = 'alice'")
        .bind(
            (chrono::Utc::now() - chrono::TimeDelta::hours(25))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
        .execute(&pool)
        .await
        .unwrap();
    let later = post("key-1").await;
    assert_eq!(later.status, 201, "{}", later.text);
    assert_ne!(later.json["id"], first.json["id"], "a new entry");
    assert_eq!(keys("alice").await, 1, "the expired row was replaced");

    // Deleted since: a retry is told so, and the entry does not come back.
    let id = later.json["id"].as_str().unwrap();
    let deleted = app.delete(&format!("/v1/entries/{id}"), &alice).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let retry = post("key-1").await;
    assert_eq!(
        (retry.status, retry.error()),
        (409, "conflict"),
        "{}",
        retry.text
    );
    assert!(
        retry.json["message"]
            .as_str()
            .unwrap_or("")
            .contains("deleted"),
        "{}",
        retry.text
    );
    let ids = ids(&app.get(WEEK, &alice).await.json);
    assert_eq!(ids, vec![first.json["id"].as_str().unwrap().to_owned()]);
    pool.close().await;
}

async fn text_that_reads_differently_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let spoofed = "Apollo \u{202e}gnitniop\u{202c}";
    let reply = app
        .post(
            "/v1/entries",
            &alice,
            json!({"date": "2026-11-23", "project": spoofed, "hours": 1}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.field()),
        (422, "project"),
        "{}",
        reply.text
    );
    assert!(
        reply.json["message"]
            .as_str()
            .unwrap_or("")
            .contains("U+202E"),
        "{}",
        reply.text
    );
    for c in ['\u{2066}', '\u{200f}', '\u{feff}'] {
        let body = json!({"date": "2026-11-23", "project": "Apollo", "notes": format!("a{c}b"), "hours": 1});
        let reply = app.post("/v1/entries", &alice, body).await;
        assert_eq!(
            (reply.status, reply.field()),
            (422, "notes"),
            "{}",
            reply.text
        );
    }
    let entry = app.create(&alice, "2026-11-23", "Apollo", 1.0).await;
    let id = entry["id"].as_str().unwrap();
    let path = format!("/v1/entries/{id}");
    let reply = app.patch(&path, &alice, json!({"project": spoofed})).await;
    assert_eq!(
        (reply.status, reply.field()),
        (422, "project"),
        "{}",
        reply.text
    );
    let reply = app
        .patch(&path, &alice, json!({"notes": "\u{202d}x"}))
        .await;
    assert_eq!(
        (reply.status, reply.field()),
        (422, "notes"),
        "{}",
        reply.text
    );
    // Right-to-left text itself is welcome.
    let reply = app
        .patch(&path, &alice, json!({"project": "مشروع", "notes": "ملاحظة"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Nothing spoofed was stored.
    let list = app.get(WEEK, &alice).await;
    assert_eq!(list.json["entries"].as_array().unwrap().len(), 1);
    assert_eq!(list.json["entries"][0]["project"], "مشروع");
}

async fn errors_are_json_everywhere(backend: Backend) {
    let app = TestApp::start_with(backend, |c| c.max_body_bytes = 1024).await;
    let alice = app.token("alice", EMPLOYEE);

    let reply = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "ok"));

    for (method, path, status, error) in [
        (Method::GET, "/nowhere", 404, "not_found"),
        (Method::GET, "/v1/entries/extra/deep/path", 404, "not_found"),
        (Method::PUT, "/v1/entries", 405, "method_not_allowed"),
        (
            Method::GET,
            "/v1/entries/0b7ea5b0-1f7c-4d38-9a8e-6d9b1c0c3f21",
            405,
            "method_not_allowed",
        ),
    ] {
        let reply = app.call(method.clone(), path, Some(&alice), None).await;
        assert_eq!(
            (reply.status, reply.error()),
            (status, error),
            "{method} {path}: {}",
            reply.text
        );
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(reply.header("cache-control"), "no-store");
        assert_eq!(reply.header("x-content-type-options"), "nosniff");
    }

    // Wrong content type.
    let reply = Api::send(
        app.request(Method::POST, "/v1/entries", Some(&alice))
            .header("content-type", "text/plain")
            .body(r#"{"date": "2026-11-23", "project": "A", "hours": 1}"#),
    )
    .await;
    assert_eq!(
        (reply.status, reply.error()),
        (415, "unsupported_media_type")
    );
    let reply = Api::send(
        app.request(Method::POST, "/v1/entries", Some(&alice))
            .body("{}"),
    )
    .await;
    assert_eq!(reply.status, 415, "no content type at all");

    // Too large, declared or streamed.
    let big = json!({"date": "2026-11-23", "project": "A", "hours": 1, "notes": "n".repeat(2000)});
    let reply = app.post("/v1/entries", &alice, big.clone()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (413, "payload_too_large"),
        "{}",
        reply.text
    );
    // Without a Content-Length (chunked), the limit applies while reading.
    let body = big.to_string();
    let raw = format!(
        "POST /v1/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let response = raw_http(&app.base, &raw).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"), "{response}");

    // Nothing was stored by any of it.
    assert_eq!(app.get(WEEK, &alice).await.json["entries"], json!([]));
}

/// Sends `request` as is over a new connection and returns the whole answer.
async fn raw_http(base: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

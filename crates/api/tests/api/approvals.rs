//! Deciding others' entries: the queue, approve and reject, and what nobody may do.

use crate::both_backends;
use crate::support::{Backend, TestApp, EMPLOYEE, MANAGER};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    the_queue_holds_others_pending_entries,
    decisions_are_recorded_once,
    a_decision_is_refused_on_an_entry_changed_since_it_was_seen,
);

/// A decision on `entry` as it was seen.
fn seen(entry: &Value, decision: &str) -> Value {
    json!({"decision": decision, "seen_updated_at": entry["updated_at"]})
}

fn owners_and_dates(list: &Value) -> Vec<(String, String)> {
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["owner"].as_str().unwrap().to_owned(),
                e["date"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn the_queue_holds_others_pending_entries(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    app.create(&bob, "2026-11-25", "Apollo", 1.0).await;
    app.create(&alice, "2026-11-24", "Apollo", 1.0).await;
    app.create(&bob, "2026-11-23", "Apollo", 1.0).await;
    app.create(&mona, "2026-11-23", "Apollo", 1.0).await;
    let decided = app.create(&alice, "2026-11-20", "Apollo", 1.0).await;
    let path = format!("/v1/entries/{}/decision", decided["id"].as_str().unwrap());
    assert_eq!(
        app.post(&path, &mona, seen(&decided, "approve"))
            .await
            .status,
        200
    );

    let reply = app.get("/v1/approvals", &mona).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let day = |o: &str, d: &str| (o.to_owned(), d.to_owned());
    assert_eq!(
        owners_and_dates(&reply.json),
        vec![
            day("alice", "2026-11-24"),
            day("bob", "2026-11-23"),
            day("bob", "2026-11-25")
        ],
        "others' pending entries, by owner then date; not mona's own, not decided ones"
    );
    let reply = app
        .get("/v1/approvals?from=2026-11-24&to=2026-11-30", &mona)
        .await;
    assert_eq!(
        owners_and_dates(&reply.json),
        vec![day("alice", "2026-11-24"), day("bob", "2026-11-25")]
    );
    let reply = app.get("/v1/approvals?to=2026-11-23", &mona).await;
    assert_eq!(
        owners_and_dates(&reply.json),
        vec![day("bob", "2026-11-23")]
    );

    // Another manager sees mona's entry.
    let max = app.token("max", MANAGER);
    let reply = app
        .get("/v1/approvals?from=2026-11-23&to=2026-11-23", &max)
        .await;
    assert_eq!(
        owners_and_dates(&reply.json),
        vec![day("bob", "2026-11-23"), day("mona", "2026-11-23")]
    );
}

async fn decisions_are_recorded_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let first = app.create(&alice, "2026-11-23", "Apollo", 1.0).await;
    let second = app.create(&alice, "2026-11-24", "Apollo", 1.0).await;
    let own = app.create(&mona, "2026-11-23", "Apollo", 1.0).await;
    let decide = |entry: &Value| format!("/v1/entries/{}/decision", entry["id"].as_str().unwrap());

    let reply = app
        .post(&decide(&first), &mona, seen(&first, "approve"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["status"], "approved");
    assert_eq!(reply.json["decided_by"], "mona");
    assert!(reply.json["decided_at"].is_string());
    assert_eq!(reply.json["hours"], first["hours"]);

    // Decided is decided, either way round.
    for decision in ["approve", "reject"] {
        let reply = app
            .post(&decide(&first), &mona, seen(&first, decision))
            .await;
        assert_eq!(
            (reply.status, reply.error()),
            (409, "conflict"),
            "{decision}"
        );
    }
    let reply = app
        .post(&decide(&second), &mona, seen(&second, "reject"))
        .await;
    assert_eq!(reply.json["status"], "rejected");
    let reply = app
        .post(&decide(&second), &mona, seen(&second, "approve"))
        .await;
    assert_eq!(
        reply.status, 409,
        "a rejected entry waits for its owner's edit"
    );

    // Nobody decides their own entries, whatever their scopes.
    let reply = app.post(&decide(&own), &mona, seen(&own, "approve")).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.json["error"], "forbidden");
    assert_eq!(reply.json["message"], "nobody decides their own entries");
    assert_eq!(reply.header("www-authenticate"), "", "not a scope problem");

    let unknown = format!("/v1/entries/{}/decision", uuid::Uuid::new_v4());
    assert_eq!(
        app.post(&unknown, &mona, seen(&first, "approve"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.post("/v1/entries/nope/decision", &mona, seen(&first, "approve"))
            .await
            .status,
        404
    );
    let third = app.create(&alice, "2026-11-25", "Apollo", 1.0).await;
    for (body, status) in [
        (json!({"decision": "maybe"}), 422),
        (json!({"decision": "APPROVE"}), 422),
        (json!({}), 422),
        (json!({"decision": "approve", "why": "x"}), 422),
        // Deciding blind is refused: the decision must say which version it saw.
        (json!({"decision": "approve"}), 422),
    ] {
        let reply = app.post(&decide(&third), &mona, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert_eq!(reply.error(), "invalid_field");
        assert!(!reply.field().is_empty(), "{body}");
    }
    let blind = app
        .post(&decide(&third), &mona, json!({"decision": "approve"}))
        .await;
    assert_eq!(blind.field(), "seen_updated_at", "{}", blind.text);
    let reply = app
        .call(Method::GET, &decide(&third), Some(&mona), None)
        .await;
    assert_eq!(reply.status, 405);

    let audit = app.audit().await;
    let decisions: Vec<_> = audit
        .iter()
        .filter(|(action, _, _)| action == "approve" || action == "reject")
        .cloned()
        .collect();
    let id = |e: &Value| e["id"].as_str().unwrap().to_owned();
    assert_eq!(
        decisions,
        vec![
            ("approve".to_owned(), "mona".to_owned(), id(&first)),
            ("reject".to_owned(), "mona".to_owned(), id(&second)),
        ]
    );
    // The queue is what is left: the third entry, pending.
    let queue = app.get("/v1/approvals", &mona).await;
    assert_eq!(queue.json["entries"].as_array().unwrap().len(), 1);
    assert_eq!(queue.json["entries"][0]["id"], third["id"]);
}

async fn a_decision_is_refused_on_an_entry_changed_since_it_was_seen(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let entry = app.create(&alice, "2026-11-23", "Apollo", 2.0).await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let seen = app.get("/v1/approvals", &mona).await.json["entries"][0]["updated_at"].clone();
    assert_eq!(seen, entry["updated_at"]);

    // The owner changes the hours after the manager loaded the queue.
    let edited = app
        .patch(&format!("/v1/entries/{id}"), &alice, json!({"hours": 12.0}))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);

    let decide = format!("/v1/entries/{id}/decision");
    let stale = app
        .post(
            &decide,
            &mona,
            json!({"decision": "approve", "seen_updated_at": seen}),
        )
        .await;
    assert_eq!(
        (stale.status, stale.error()),
        (409, "conflict"),
        "{}",
        stale.text
    );
    assert!(stale.json["message"]
        .as_str()
        .unwrap()
        .contains("changed since you saw it"));

    let fresh = app.get("/v1/approvals", &mona).await.json["entries"][0]["updated_at"].clone();
    let reply = app
        .post(
            &decide,
            &mona,
            json!({"decision": "approve", "seen_updated_at": fresh}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json["hours"], 12.0,
        "the answer shows the hours decided"
    );
    assert_eq!(reply.json["status"], "approved");
}

//! Deciding others' entries: the queue, approve and reject, and what nobody may do.

use crate::both_backends;
use crate::support::{Backend, TestApp, EMPLOYEE, MANAGER};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    the_queue_holds_others_submitted_entries,
    decisions_are_recorded_once,
    a_decision_is_refused_on_an_entry_changed_since_it_was_seen,
    a_rejection_says_why_and_the_entry_goes_round_again,
);

/// A decision on `entry` as it was seen; a rejection gives a reason.
fn seen(entry: &Value, decision: &str) -> Value {
    match decision {
        "reject" => json!({
            "decision": decision,
            "seen_updated_at": entry["updated_at"],
            "reason": "Apollo was on Tuesday",
        }),
        _ => json!({"decision": decision, "seen_updated_at": entry["updated_at"]}),
    }
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

async fn the_queue_holds_others_submitted_entries(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    app.create(&bob, "2026-11-25", "Apollo", 1.0).await;
    app.create(&alice, "2026-11-24", "Apollo", 1.0).await;
    app.create(&bob, "2026-11-23", "Apollo", 1.0).await;
    app.create(&mona, "2026-11-23", "Apollo", 1.0).await;
    // Drafts are nobody's business but their owner's.
    let queue = app.get("/v1/approvals", &mona).await;
    assert_eq!(owners_and_dates(&queue.json), vec![], "{}", queue.text);
    app.submit(&bob, "2026-11-23").await;
    app.submit(&alice, "2026-11-23").await;
    app.submit(&mona, "2026-11-23").await;
    // A draft of another week stays out of the queue.
    app.create(&bob, "2026-11-30", "Apollo", 1.0).await;
    let decided = app.submitted(&alice, "2026-11-20", "Apollo", 1.0).await;
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
        "others' submitted entries, by owner then date; not mona's own, not decided ones, no drafts"
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
    let draft = app.create(&alice, "2026-11-16", "Apollo", 1.0).await;
    app.create(&alice, "2026-11-23", "Apollo", 1.0).await;
    app.create(&alice, "2026-11-24", "Apollo", 1.0).await;
    let week = app.submit(&alice, "2026-11-23").await;
    let (first, second) = (week[0].clone(), week[1].clone());
    let own = app.submitted(&mona, "2026-11-23", "Apollo", 1.0).await;
    let decide = |entry: &Value| format!("/v1/entries/{}/decision", entry["id"].as_str().unwrap());

    // A draft is not for deciding yet.
    let reply = app
        .post(&decide(&draft), &mona, seen(&draft, "approve"))
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (409, "conflict"),
        "{}",
        reply.text
    );
    assert!(reply.json["message"].as_str().unwrap().contains("draft"));

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
    assert_eq!(reply.json["reason"], "Apollo was on Tuesday");
    let reply = app
        .post(&decide(&second), &mona, seen(&second, "approve"))
        .await;
    assert_eq!(
        reply.status, 409,
        "a rejected entry waits for its owner to submit it again"
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
    let third = app.submitted(&alice, "2026-12-01", "Apollo", 1.0).await;
    let at = third["updated_at"].clone();
    for (body, status) in [
        (json!({"decision": "maybe"}), 422),
        (json!({"decision": "APPROVE"}), 422),
        (json!({}), 422),
        (json!({"decision": "approve", "why": "x"}), 422),
        // Deciding blind is refused: the decision must say which version it saw.
        (json!({"decision": "approve"}), 422),
        // A rejection says why, in 1 to 500 characters; an approval takes no reason.
        (json!({"decision": "reject", "seen_updated_at": at}), 422),
        (
            json!({"decision": "reject", "seen_updated_at": at, "reason": "  "}),
            422,
        ),
        (
            json!({"decision": "reject", "seen_updated_at": at, "reason": "x".repeat(501)}),
            422,
        ),
        (
            json!({"decision": "reject", "seen_updated_at": at, "reason": 7}),
            422,
        ),
        (
            json!({"decision": "approve", "seen_updated_at": at, "reason": "fine"}),
            422,
        ),
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
    let unexplained = app
        .post(
            &decide(&third),
            &mona,
            json!({"decision": "reject", "seen_updated_at": at}),
        )
        .await;
    assert_eq!(unexplained.field(), "reason", "{}", unexplained.text);
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
    // The queue is what is left: the third entry, submitted.
    let queue = app.get("/v1/approvals", &mona).await;
    assert_eq!(queue.json["entries"].as_array().unwrap().len(), 1);
    assert_eq!(queue.json["entries"][0]["id"], third["id"]);
}

async fn a_decision_is_refused_on_an_entry_changed_since_it_was_seen(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let entry = app.submitted(&alice, "2026-11-23", "Apollo", 2.0).await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let seen = app.get("/v1/approvals", &mona).await.json["entries"][0]["updated_at"].clone();
    assert_eq!(seen, entry["updated_at"]);

    // The owner withdraws the week after the manager loaded the queue, changes
    // the hours and submits again.
    let withdrawn = app
        .post("/v1/weeks/2026-11-23/withdraw", &alice, json!({}))
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let edited = app
        .patch(&format!("/v1/entries/{id}"), &alice, json!({"hours": 12.0}))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    app.submit(&alice, "2026-11-23").await;

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

async fn a_rejection_says_why_and_the_entry_goes_round_again(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let entry = app.submitted(&alice, "2026-11-23", "Apollo", 9.0).await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let decide = format!("/v1/entries/{id}/decision");
    let reason = "9 hours on Monday? The \"Apollo\" review was 2 hours.\nPlease check.";
    let rejected = app
        .post(
            &decide,
            &mona,
            json!({"decision": "reject", "seen_updated_at": entry["updated_at"], "reason": format!("  {reason} ")}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    assert_eq!(rejected.json["reason"], reason, "kept trimmed, as written");
    assert_eq!(rejected.json["decided_by"], "mona");

    // The owner sees the reason with the entry, in the week's list.
    let week = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-29", &alice)
        .await;
    assert_eq!(week.json["entries"][0]["status"], "rejected");
    assert_eq!(week.json["entries"][0]["reason"], reason);

    // Fixed, it is a draft again, without the old decision; submitted, it is
    // in the queue again; approved, it is locked.
    let fixed = app
        .patch(&format!("/v1/entries/{id}"), &alice, json!({"hours": 2.0}))
        .await;
    assert_eq!(fixed.status, 200, "{}", fixed.text);
    assert_eq!(fixed.json["status"], "draft");
    assert_eq!(fixed.json["reason"], Value::Null);
    assert_eq!(fixed.json["decided_by"], Value::Null);
    let again = app.submit(&alice, "2026-11-23").await;
    assert_eq!(again[0]["status"], "submitted");
    let queue = app.get("/v1/approvals", &mona).await;
    assert_eq!(queue.json["entries"][0]["id"], id.as_str());
    let approved = app.post(&decide, &mona, seen(&again[0], "approve")).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["reason"], Value::Null);
    let locked = app
        .patch(&format!("/v1/entries/{id}"), &alice, json!({"hours": 3.0}))
        .await;
    assert_eq!((locked.status, locked.error()), (409, "conflict"));

    // The audit trail keeps the reason with the rejection.
    let audit = app.audit().await;
    let actions: Vec<&str> = audit.iter().map(|(action, _, _)| action.as_str()).collect();
    assert_eq!(
        actions,
        ["create", "submit", "reject", "edit", "submit", "approve"]
    );
    let detail = app.audit_detail(&id, "reject").await;
    assert_eq!(detail["reason"], reason);
}

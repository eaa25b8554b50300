//! Submitting a week and withdrawing it: which entries move, and what is refused.

use crate::both_backends;
use crate::support::{Backend, TestApp, EMPLOYEE, MANAGER};
use serde_json::{json, Value};

both_backends!(
    a_submission_takes_the_weeks_drafts_and_rejections,
    a_withdrawal_takes_back_only_what_waits,
    weeks_are_named_by_their_monday_and_need_create,
);

/// `(project, status)` of each entry of a list, in its order.
fn statuses(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["project"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(project: &str, status: &str) -> (String, String) {
    (project.to_owned(), status.to_owned())
}

async fn a_submission_takes_the_weeks_drafts_and_rejections(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let approved = app.submitted(&alice, "2026-11-23", "Apollo", 1.0).await;
    let rejected = app.submitted(&alice, "2026-11-24", "Borealis", 1.0).await;
    let decide = |e: &Value| format!("/v1/entries/{}/decision", e["id"].as_str().unwrap());
    let at = |e: &Value| e["updated_at"].clone();
    app.post(
        &decide(&approved),
        &mona,
        json!({"decision": "approve", "seen_updated_at": at(&approved)}),
    )
    .await;
    app.post(
        &decide(&rejected),
        &mona,
        json!({"decision": "reject", "seen_updated_at": at(&rejected), "reason": "which project?"}),
    )
    .await;
    app.create(&alice, "2026-11-25", "Cygnus", 1.0).await;
    // Another week's draft, and another person's.
    app.create(&alice, "2026-11-30", "Apollo", 1.0).await;
    let bob = app.token("bob", EMPLOYEE);
    app.create(&bob, "2026-11-23", "Apollo", 1.0).await;

    let week = app.submit(&alice, "2026-11-23").await;
    assert_eq!(
        statuses(&week),
        vec![
            pair("Apollo", "approved"),
            pair("Borealis", "submitted"),
            pair("Cygnus", "submitted")
        ],
        "the draft and the rejected entry go; the approved one stays approved"
    );
    assert_eq!(
        week[1]["reason"],
        Value::Null,
        "a new submission, a new decision"
    );
    assert_eq!(week[1]["decided_by"], Value::Null);
    let next = app
        .get("/v1/entries?from=2026-11-30&to=2026-12-06", &alice)
        .await;
    assert_eq!(next.json["entries"][0]["status"], "draft");
    let bobs = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-29", &bob)
        .await;
    assert_eq!(bobs.json["entries"][0]["status"], "draft");

    // Nothing left to submit.
    let again = app
        .post("/v1/weeks/2026-11-23/submit", &alice, json!({}))
        .await;
    assert_eq!(
        (again.status, again.error()),
        (409, "conflict"),
        "{}",
        again.text
    );
    assert!(
        again.json["message"].as_str().unwrap().contains("nothing")
            || again.json["message"].as_str().unwrap().contains("no draft")
    );
    let empty = app
        .post("/v1/weeks/2026-12-14/submit", &alice, json!({}))
        .await;
    assert_eq!(empty.status, 409, "{}", empty.text);

    let audit = app.audit().await;
    let submits = audit
        .iter()
        .filter(|(action, actor, _)| action == "submit" && actor == "alice")
        .count();
    assert_eq!(submits, 2 + 2, "one audit row per entry submitted");
}

async fn a_withdrawal_takes_back_only_what_waits(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    app.create(&alice, "2026-11-23", "Apollo", 1.0).await;
    app.create(&alice, "2026-11-24", "Borealis", 1.0).await;
    let week = app.submit(&alice, "2026-11-23").await;
    let approve = json!({"decision": "approve", "seen_updated_at": week[0]["updated_at"]});
    let path = format!("/v1/entries/{}/decision", week[0]["id"].as_str().unwrap());
    assert_eq!(app.post(&path, &mona, approve).await.status, 200);

    let reply = app
        .post("/v1/weeks/2026-11-23/withdraw", &alice, json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let entries = reply.json["entries"].as_array().unwrap();
    assert_eq!(
        statuses(entries),
        vec![pair("Apollo", "approved"), pair("Borealis", "draft")]
    );
    assert_ne!(entries[1]["updated_at"], week[1]["updated_at"]);
    let queue = app.get("/v1/approvals", &mona).await;
    assert_eq!(
        queue.json["entries"],
        json!([]),
        "withdrawn hours leave the queue"
    );

    // What was decided cannot be withdrawn, and a draft has nothing to withdraw.
    let reply = app
        .post("/v1/weeks/2026-11-23/withdraw", &alice, json!({}))
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (409, "conflict"),
        "{}",
        reply.text
    );
    assert!(reply.json["message"]
        .as_str()
        .unwrap()
        .contains("decided hours cannot be withdrawn"));

    // Withdrawn, the draft can change, and goes again with the next submission.
    let id = entries[1]["id"].as_str().unwrap();
    let edited = app
        .patch(&format!("/v1/entries/{id}"), &alice, json!({"hours": 2.0}))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let week = app.submit(&alice, "2026-11-23").await;
    assert_eq!(
        statuses(&week),
        vec![pair("Apollo", "approved"), pair("Borealis", "submitted")]
    );
    let actions: Vec<String> = app.audit().await.into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(
        actions,
        ["create", "create", "submit", "submit", "approve", "withdraw", "edit", "submit"]
    );
}

async fn weeks_are_named_by_their_monday_and_need_create(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    app.create(&alice, "2026-11-24", "Apollo", 1.0).await;
    for action in ["submit", "withdraw"] {
        for (week, message) in [
            ("2026-11-24", "must be a Monday"),
            ("2026-11-31", "date that exists"),
            ("monday", "date that exists"),
        ] {
            let reply = app
                .post(&format!("/v1/weeks/{week}/{action}"), &alice, json!({}))
                .await;
            assert_eq!(
                (reply.status, reply.field()),
                (422, "week"),
                "{action} {week}: {}",
                reply.text
            );
            assert!(
                reply.json["message"].as_str().unwrap().contains(message),
                "{}",
                reply.text
            );
        }
        let reader = app.token("ada", "openid read:timesheets");
        let reply = app
            .post(
                &format!("/v1/weeks/2026-11-23/{action}"),
                &reader,
                json!({}),
            )
            .await;
        assert_eq!(
            (reply.status, reply.error()),
            (403, "insufficient_scope"),
            "{}",
            reply.text
        );
        let reply = app
            .call(
                reqwest::Method::POST,
                &format!("/v1/weeks/2026-11-23/{action}"),
                None,
                None,
            )
            .await;
        assert_eq!(reply.status, 401);
    }
    // Refused requests moved nothing.
    let week = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-29", &alice)
        .await;
    assert_eq!(week.json["entries"][0]["status"], "draft");
}

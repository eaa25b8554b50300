//! An entry's history: every change in order, for its owner and for managers,
//! and for nobody else.

use crate::both_backends;
use crate::support::{Backend, TestApp, EMPLOYEE, MANAGER};
use serde_json::{json, Value};

both_backends!(an_entry_tells_its_history_to_whom_may_see_it);

async fn an_entry_tells_its_history_to_whom_may_see_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let mona = app.token("mona", MANAGER);
    let entry = app.create(&alice, "2026-11-23", "Apollo", 9.0).await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/entries/{id}/history");
    let patched = app
        .patch(&format!("/v1/entries/{id}"), &alice, json!({"hours": 8.0}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let week = app.submit(&alice, "2026-11-23").await;
    let rejected = app
        .post(
            &format!("/v1/entries/{id}/decision"),
            &mona,
            json!({"decision": "reject", "seen_updated_at": week[0]["updated_at"], "reason": "8 on a Monday?"}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    // Mona's name goes on record (her access token's, which wins over the ID
    // token's); alice has none on record, so her subject shows.
    let id_token = app
        .issuer
        .id_token("mona", "Mona Manager", "mona@example.com");
    let named = app
        .put("/v1/me", &mona, json!({"id_token": id_token}))
        .await;
    assert_eq!(named.status, 200, "{}", named.text);

    for token in [&alice, &mona] {
        let reply = app.get(&path, token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let events = reply.json["events"].as_array().unwrap();
        let steps: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
            .collect();
        assert_eq!(
            steps,
            [
                ("create", "alice"),
                ("edit", "alice"),
                ("submit", "alice"),
                ("reject", "mona")
            ]
        );
        assert_eq!(events[1]["detail"]["before"]["hours"], 9.0);
        assert_eq!(events[1]["detail"]["after"]["hours"], 8.0);
        assert_eq!(events[3]["detail"]["reason"], "8 on a Monday?");
        assert_eq!(events[3]["actor_name"], "mona (name)");
        assert_eq!(events[0]["actor_name"], "alice");
        assert_eq!(events[3]["at"], rejected.json["decided_at"]);
    }

    // Another employee, even one who knows the id, learns nothing; an unknown
    // or malformed id is not found either.
    let bob = app.token("bob", EMPLOYEE);
    let reply = app.get(&path, &bob).await;
    assert_eq!((reply.status, reply.error()), (404, "not_found"));
    let unknown = format!("/v1/entries/{}/history", uuid::Uuid::new_v4());
    assert_eq!(app.get(&unknown, &alice).await.status, 404);
    assert_eq!(
        app.get("/v1/entries/nope/history", &alice).await.status,
        404
    );
    let reader = app.token("ada", "openid");
    let reply = app.get(&path, &reader).await;
    assert_eq!((reply.status, reply.error()), (403, "insufficient_scope"));
    let reply = app.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json["events"], Value::Null);
}

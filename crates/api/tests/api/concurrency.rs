//! Rules that must hold when requests race: one entry per idempotency key, and
//! never more than 24 hours on a day.

use crate::both_backends;
use crate::support::{parallel, Api, Backend, TestApp, EMPLOYEE};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

both_backends!(
    fifty_retries_with_one_key_make_one_entry,
    racing_creates_never_exceed_a_day,
);

async fn fifty_retries_with_one_key_make_one_entry(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let replies = parallel(50, |_| {
        let (api, token) = (app.api.clone(), alice.clone());
        async move {
            Api::send(
                api.request(Method::POST, "/v1/entries", Some(&token))
                    .header("idempotency-key", "5a0f3c1e-retry")
                    .json(&json!({"date": "2026-11-23", "project": "Apollo", "hours": 1.5})),
            )
            .await
        }
    })
    .await;
    let statuses: BTreeSet<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        BTreeSet::from([201]),
        "{:?}",
        replies.iter().find(|r| r.status != 201)
    );
    let bodies: BTreeSet<&str> = replies.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(bodies.len(), 1, "every retry gets the same answer");

    let list = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-23", &alice)
        .await;
    assert_eq!(list.json["entries"].as_array().unwrap().len(), 1);
    let creates = app
        .audit()
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "create")
        .count();
    assert_eq!(creates, 1);
}

async fn racing_creates_never_exceed_a_day(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    // Seed two entries to edit while the creates race.
    let a = app.create(&alice, "2026-11-23", "Seed A", 1.0).await;
    let b = app.create(&alice, "2026-11-23", "Seed B", 1.0).await;
    let seeds = [
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    ];

    // 16 creates of 3 h and 2 edits growing the seeds to 3 h: 54 h asked for a day.
    let replies = parallel(18, |i| {
        let (api, token, seeds) = (app.api.clone(), alice.clone(), seeds.clone());
        async move {
            if i < 16 {
                api.post(
                    "/v1/entries",
                    &token,
                    json!({"date": "2026-11-23", "project": format!("P{i:02}"), "hours": 3}),
                )
                .await
            } else {
                api.patch(
                    &format!("/v1/entries/{}", seeds[i - 16]),
                    &token,
                    json!({"hours": 3}),
                )
                .await
            }
        }
    })
    .await;
    for reply in &replies {
        assert!(
            matches!(reply.status, 200 | 201) || (reply.status == 422 && reply.field() == "hours"),
            "{} {}",
            reply.status,
            reply.text
        );
    }
    let accepted = replies.iter().filter(|r| r.status < 300).count();
    assert!(accepted >= 6, "the day fills up: only {accepted} accepted");

    let list = app
        .get("/v1/entries?from=2026-11-23&to=2026-11-23", &alice)
        .await;
    let total: f64 = list.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["hours"].as_f64().unwrap())
        .sum();
    assert!(total <= 24.0, "{total} hours booked on one day");
    assert!(
        total >= 22.0,
        "only {total} hours: the day should be (nearly) full"
    );
}

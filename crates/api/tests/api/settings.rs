//! The settings the app shows: the week's expected hours.

use crate::both_backends;
use crate::support::{config, Backend, Issuer, TestApp, TestDb, EMPLOYEE};

both_backends!(
    the_weekly_target_is_told_to_every_reader,
    an_impossible_target_stops_the_start
);

async fn an_impossible_target_stops_the_start(backend: Backend) {
    let issuer = Issuer::start().await;
    for bad in [168.25, 37.1, -1.0] {
        let db = TestDb::create(backend).await;
        let mut settings = config(&issuer, &db);
        settings.weekly_target_hours = bad;
        let refused = timesheets_api::ApiContext::connect(settings).await.err();
        let why = refused.map(|e| e.to_string()).unwrap_or_default();
        assert!(why.contains("weekly_target_hours"), "{bad}: {why:?}");
    }
}

async fn the_weekly_target_is_told_to_every_reader(backend: Backend) {
    let app = TestApp::start(backend).await;
    let alice = app.token("alice", EMPLOYEE);
    let reply = app.get("/v1/settings", &alice).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json, serde_json::json!({"weekly_target_hours": 40.0}));
    let nobody = app.token("ada", "openid");
    let refused = app.get("/v1/settings", &nobody).await;
    assert_eq!(
        (refused.status, refused.error()),
        (403, "insufficient_scope")
    );

    // Set on the server: every app shows the same target.
    let app = TestApp::start_trusting(backend, Issuer::start().await, |config| {
        config.weekly_target_hours = 37.5;
    })
    .await;
    let reply = app.get("/v1/settings", &app.token("alice", EMPLOYEE)).await;
    assert_eq!(reply.json["weekly_target_hours"], 37.5);
}

//! The settings the app shows: the week's expected hours.

use crate::both_backends;
use crate::support::{Backend, Issuer, TestApp, EMPLOYEE};

both_backends!(the_weekly_target_is_told_to_every_reader);

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

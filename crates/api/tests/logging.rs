//! Each request leaves one trace line and a refused token leaves its reason, but no
//! log line ever holds a token.
//!
//! A test binary of its own: it installs a global subscriber that captures every
//! log line (a thread-local one misses lines while other tests log on other
//! threads), and each scenario finds its own lines by the request ids it sends.

#[allow(dead_code)]
#[path = "api/support/mod.rs"]
mod support;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use support::{config, Backend, Issuer, Key, TestDb, EMPLOYEE};
use timesheets_api::ApiContext;
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this process so far.
fn logs() -> String {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    });
    String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_a_token_sqlite() {
    logs_never_hold_a_token(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_a_token_postgres() {
    logs_never_hold_a_token(Backend::Postgres).await;
}

async fn logs_never_hold_a_token(backend: Backend) {
    logs();
    let issuer = Issuer::start().await;
    let db = TestDb::create(backend).await;
    let router = timesheets_api::router(ApiContext::connect(config(&issuer, &db)).await.unwrap());
    let good = issuer.token("alice", EMPLOYEE);
    let mut expired_claims = issuer.claims("alice", EMPLOYEE);
    expired_claims["exp"] = json!(jsonwebtoken::get_current_timestamp() - 3600);
    let expired = Issuer::sign(&Issuer::header(Key::K1), &expired_claims, Key::K1);
    let forged = Issuer::sign(
        &Issuer::header(Key::K1),
        &issuer.claims("alice", EMPLOYEE),
        Key::Attacker,
    );
    let tokens = [good, expired, forged];
    let run = uuid::Uuid::new_v4().simple().to_string();
    for (i, token) in tokens.iter().enumerate() {
        let req = Request::get("/v1/entries?from=2026-11-23&to=2026-11-29")
            .header("authorization", format!("Bearer {token}"))
            .header("x-request-id", format!("{run}-{i}"))
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(req).await.unwrap();
    }

    let logs = logs();
    let mine: Vec<&str> = logs.lines().filter(|l| l.contains(&run)).collect();
    for (i, status) in ["200", "401", "401"].iter().enumerate() {
        let id = format!("request_id={run}-{i}");
        let finished: Vec<&&str> = mine
            .iter()
            .filter(|l| l.contains(&id) && l.contains("finished processing request"))
            .collect();
        assert_eq!(
            finished.len(),
            1,
            "one line for request {i}:\n{}",
            mine.join("\n")
        );
        assert!(
            finished[0].contains(&format!("status={status}")),
            "{}",
            finished[0]
        );
    }
    let refusals: Vec<&&str> = mine
        .iter()
        .filter(|l| l.contains("refused a bearer token"))
        .collect();
    assert_eq!(refusals.len(), 2, "{}", mine.join("\n"));
    assert!(refusals[0].contains("ExpiredSignature"), "{}", refusals[0]);
    assert!(refusals[1].contains("InvalidSignature"), "{}", refusals[1]);
    for token in &tokens {
        let payload = token.split('.').nth(1).unwrap();
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(payload), "a token payload was logged");
        assert!(!logs.contains(signature), "a token signature was logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_request_id_is_replaced_not_logged() {
    logs();
    let issuer = Issuer::start().await;
    let db = TestDb::create(Backend::Sqlite).await;
    let router = timesheets_api::router(ApiContext::connect(config(&issuer, &db)).await.unwrap());
    let run = uuid::Uuid::new_v4().simple().to_string();
    let forged = format!("{run} path=/forged status=200");
    let too_long = format!("{run}{}", "x".repeat(64));
    let plain = format!("{run}.plain_id-1");
    let mut echoed = Vec::new();
    for id in [&forged, &too_long, &plain] {
        let req = Request::get("/healthz")
            .header("x-request-id", id.as_str())
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(req).await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        echoed.push(id);
    }

    // Refused ids are replaced by fresh ones, which are echoed back; a plain one is kept.
    for (sent, got) in [&forged, &too_long].iter().zip(&echoed) {
        assert_ne!(got, *sent);
        assert!(
            uuid::Uuid::parse_str(got).is_ok(),
            "a fresh id, not {got:?}"
        );
    }
    assert_eq!(echoed[2], plain);
    let logs = logs();
    assert!(!logs.contains("path=/forged"), "a forged line was logged");
    assert!(!logs.contains(&too_long), "an over-long id was logged");
    for fresh in &echoed[..2] {
        assert!(
            logs.lines()
                .any(|l| l.contains(&format!("request_id={fresh}")) && l.contains("status=200")),
            "the request is logged under its fresh id {fresh}"
        );
    }
    assert!(logs.contains(&format!("request_id={plain}")));
}

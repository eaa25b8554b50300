//! Micro-benchmarks of the API's hot paths, so that a change that slows one of
//! them shows in `cargo bench -p timesheets-api`:
//!
//! - a bearer token checked in full (signature and claims) and one seen before;
//! - the week query: a 20-entry and a 500-entry week, on SQLite, and on PostgreSQL
//!   when `TIMESHEETS_TEST_POSTGRES_URL` names a server (as in the tests);
//! - serialising a 500-entry week to JSON.
//!
//! Requests go through the real router in process, without a socket, so each
//! figure is the API's own cost; `scripts/bench` measures the whole server.

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/support/mod.rs"]
mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use support::{Backend, TestApp, EMPLOYEE};
use timesheets_core::EntryList;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// As in the server, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WEEK: &str = "/v1/entries?from=2026-11-23&to=2026-11-29";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// The body of a request through `router`, which must answer `expected`.
async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<String>,
    expected: StatusCode,
) -> axum::body::Bytes {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .expect("a well-formed request");
    let reply = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = reply.status();
    let bytes = axum::body::to_bytes(reply.into_body(), usize::MAX)
        .await
        .expect("a whole body");
    assert_eq!(status, expected, "{method} {path}: {bytes:?}");
    bytes
}

/// The API on a fresh database, with `count` entries in the week of [`WEEK`]
/// for the token returned.
async fn api_with_week(backend: Backend, count: usize) -> (TestApp, Router, String) {
    let app = TestApp::start(backend).await;
    let router = timesheets_api::router(app.ctx.clone());
    let token = app.token(&format!("bench-{count}"), EMPLOYEE);
    for i in 0..count {
        let body = serde_json::json!({
            "date": format!("2026-11-{:02}", 23 + i % 7),
            "project": format!("Project {}", i % 12),
            "notes": format!("entry {i}"),
            "hours": 0.25,
        });
        call(
            &router,
            "POST",
            "/v1/entries",
            &token,
            Some(body.to_string()),
            StatusCode::CREATED,
        )
        .await;
    }
    (app, router, token)
}

fn tokens(c: &mut Criterion) {
    let rt = runtime();
    let (app, router, token) = rt.block_on(api_with_week(Backend::Sqlite, 0));
    let mut group = c.benchmark_group("token");
    group.bench_function("seen before", |b| {
        b.to_async(&rt)
            .iter(|| call(&router, "GET", WEEK, &token, None, StatusCode::OK));
    });
    // A new token each time: signing it is set-up, not measured.
    group.bench_function("checked in full", |b| {
        b.to_async(&rt).iter_batched(
            || app.token("bench-fresh", EMPLOYEE),
            |fresh| {
                let router = &router;
                async move { call(router, "GET", WEEK, &fresh, None, StatusCode::OK).await }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn week_query(c: &mut Criterion) {
    let rt = runtime();
    let mut backends = vec![("sqlite", Backend::Sqlite)];
    if std::env::var(support::POSTGRES_ENV).is_ok() {
        backends.push(("postgres", Backend::Postgres));
    } else {
        eprintln!(
            "{} is not set: the week query is measured on SQLite only",
            support::POSTGRES_ENV
        );
    }
    let mut group = c.benchmark_group("week query");
    for (name, backend) in backends {
        for count in [20, 500] {
            let (_app, router, token) = rt.block_on(api_with_week(backend, count));
            group.bench_function(format!("{name}, {count} entries"), |b| {
                b.to_async(&rt)
                    .iter(|| call(&router, "GET", WEEK, &token, None, StatusCode::OK));
            });
        }
    }
    group.finish();
}

fn serialise(c: &mut Criterion) {
    let rt = runtime();
    let (_app, router, token) = rt.block_on(api_with_week(Backend::Sqlite, 500));
    let body = rt.block_on(call(&router, "GET", WEEK, &token, None, StatusCode::OK));
    let week: EntryList = serde_json::from_slice(&body).expect("the week as entries");
    assert_eq!(week.entries.len(), 500);
    c.bench_function("serialise 500 entries", |b| {
        b.iter(|| serde_json::to_vec(&week).expect("entries serialise"))
    });
}

criterion_group!(benches, tokens, week_query, serialise);
criterion_main!(benches);

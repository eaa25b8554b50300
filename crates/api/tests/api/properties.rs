//! Whatever arrives, the API answers with a 4xx or a success, never a 5xx, and
//! every error is JSON. Generated requests go through the real router in process.

use crate::support::{config, Backend, Issuer, TestDb, EMPLOYEE, MANAGER};
use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{json, Value};
use timesheets_api::ApiContext;
use tower::ServiceExt;

#[test]
fn generated_requests_never_get_a_5xx_sqlite() {
    never_5xx(Backend::Sqlite, 3000);
}

#[test]
fn generated_requests_never_get_a_5xx_postgres() {
    never_5xx(Backend::Postgres, 2500);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for a known field: usually plausible, sometimes anything at all.
fn field_value(field: &'static str) -> BoxedStrategy<Value> {
    let plausible: BoxedStrategy<Value> = match field {
        "date" => prop_oneof![
            6 => (0u64..60).prop_map(|d| {
                let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Days::new(d);
                json!(day.format("%Y-%m-%d").to_string())
            }),
            1 => "(19|20|99)[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(Value::from),
            1 => "[0-9-]{0,12}".prop_map(Value::from),
        ]
        .boxed(),
        "hours" => prop_oneof![
            6 => (1i32..=16).prop_map(|q| json!(f64::from(q) / 4.0)),
            2 => (-8i32..120).prop_map(|q| json!(f64::from(q) / 4.0)),
            1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
            1 => prop_oneof![Just(json!(1e308)), Just(json!(u64::MAX)), Just(json!(-0.0))],
        ]
        .boxed(),
        "project" => prop_oneof![
            6 => "[A-Za-z ]{1,20}".prop_map(Value::from),
            1 => "[A-Za-z ]{0,110}".prop_map(Value::from),
            1 => ".{0,20}".prop_map(Value::from),
        ]
        .boxed(),
        "notes" => prop_oneof![8 => ".{0,40}".prop_map(Value::from), 1 => Just(json!("n".repeat(1001)))].boxed(),
        "reason" => prop_oneof![8 => ".{0,40}".prop_map(Value::from), 1 => Just(json!("r".repeat(501)))].boxed(),
        "decision" => prop_oneof![
            Just(json!("approve")),
            Just(json!("reject")),
            "[a-z]{0,8}".prop_map(Value::from)
        ]
        .boxed(),
        _ => json_value().boxed(),
    };
    prop_oneof![8 => plausible, 1 => json_value()].boxed()
}

fn entry_like_body() -> impl Strategy<Value = Value> {
    let fields = [
        "date", "hours", "project", "notes", "decision", "owner", "status", "reason",
    ];
    prop::sample::subsequence(fields.to_vec(), 0..=fields.len())
        .prop_flat_map(|chosen| {
            chosen
                .into_iter()
                .map(|f| field_value(f).prop_map(move |v| (f, v)))
                .collect::<Vec<_>>()
        })
        .prop_map(|pairs| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        })
}

#[derive(Debug, Clone)]
enum BodySpec {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct RequestSpec {
    method: &'static str,
    path: String,
    query: Option<String>,
    token: usize,
    content_type: Option<&'static str>,
    idempotency_key: Option<Vec<u8>>,
    body: BodySpec,
}

fn query() -> impl Strategy<Value = String> {
    let date = prop_oneof!["20[0-9]{2}-[01][0-9]-[0-3][0-9]", "[0-9a-z%+-]{0,12}",];
    prop_oneof![
        4 => (field_value("date"), field_value("date")).prop_map(|(f, t)| {
            let text = |v: Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("from", &text(f))
                .append_pair("to", &text(t))
                .finish()
        }),
        1 => (date.clone(), date).prop_map(|(f, t)| format!("from={f}&to={t}")),
        1 => "[a-z]{0,5}=[0-9a-zA-Z%&=+-]{0,20}",
        1 => prop::collection::vec((".{0,6}", ".{0,10}"), 0..4).prop_map(|pairs| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        }),
    ]
}

/// A body for the entry endpoints: mostly complete and plausible (so requests get
/// past parsing into the rules and the database), sometimes anything.
fn body() -> impl Strategy<Value = BodySpec> {
    let complete = (
        field_value("date"),
        field_value("project"),
        field_value("notes"),
        field_value("hours"),
    )
        .prop_map(|(date, project, notes, hours)| {
            json!({"date": date, "project": project, "notes": notes, "hours": hours})
        });
    let decision = field_value("decision").prop_map(|d| json!({ "decision": d }));
    prop_oneof![
        1 => Just(BodySpec::None),
        8 => complete.prop_map(BodySpec::Json),
        2 => decision.prop_map(BodySpec::Json),
        4 => entry_like_body().prop_map(BodySpec::Json),
        1 => json_value().prop_map(BodySpec::Json),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(BodySpec::Raw),
    ]
}

fn request(ids: Vec<String>) -> impl Strategy<Value = RequestSpec> {
    let id = prop_oneof![
        4 => prop::sample::select(ids),
        1 => Just(uuid::Uuid::new_v4().to_string()),
        1 => "[0-9a-zA-Z%-]{0,40}",
    ];
    let any_method = prop::sample::select(vec!["GET", "POST", "PATCH", "DELETE", "PUT"]);
    // Mostly a real route with its method, so requests reach the handlers.
    let route = prop_oneof![
        4 => Just(("GET", "/v1/entries".to_owned())),
        8 => Just(("POST", "/v1/entries".to_owned())),
        4 => id.clone().prop_map(|id| ("PATCH", format!("/v1/entries/{id}"))),
        2 => id.clone().prop_map(|id| ("DELETE", format!("/v1/entries/{id}"))),
        2 => Just(("GET", "/v1/approvals".to_owned())),
        3 => id.clone().prop_map(|id| ("POST", format!("/v1/entries/{id}/decision"))),
        2 => (
            prop_oneof![Just("2026-11-23".to_owned()), "[0-9a-z-]{0,12}"],
            prop::sample::select(vec!["submit", "withdraw"]),
        )
            .prop_map(|(week, action)| ("POST", format!("/v1/weeks/{week}/{action}"))),
        2 => (any_method.clone(), id).prop_map(|(m, id)| (m, format!("/v1/entries/{id}"))),
        1 => (any_method, prop_oneof![
            Just("/healthz".to_owned()),
            Just("/openapi.json".to_owned()),
            "/[a-z0-9/%._-]{0,30}",
        ]),
    ];
    let idempotency_key = prop_oneof![
        3 => "[!-~]{1,12}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..20),
    ];
    (
        route,
        prop::option::weighted(0.8, query()),
        prop::sample::select(vec![0usize, 0, 0, 0, 1, 1, 1, 2, 3, 4]),
        prop::sample::select(vec![
            Some("application/json"),
            Some("application/json"),
            Some("application/json"),
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            Some("application/merge-patch+json"),
            Some("text/plain"),
            None,
        ]),
        prop::option::weighted(0.3, idempotency_key),
        body(),
    )
        .prop_map(
            |((method, path), query, token, content_type, idempotency_key, body)| RequestSpec {
                method,
                path,
                query,
                token,
                content_type,
                idempotency_key,
                body,
            },
        )
}

impl RequestSpec {
    /// The request, or `None` when the generated parts cannot form one (e.g. a
    /// header value with a newline), which no client could send either.
    fn build(&self, tokens: &[Option<String>]) -> Option<Request<Body>> {
        let uri = match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        };
        let mut req = Request::builder().method(self.method).uri(uri);
        if let Some(Some(token)) = tokens.get(self.token) {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(ct) = self.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(key) = &self.idempotency_key {
            let value = axum::http::HeaderValue::from_bytes(key).ok()?;
            req = req.header("idempotency-key", value);
        }
        let body = match &self.body {
            BodySpec::None => Body::empty(),
            BodySpec::Json(v) => Body::from(v.to_string()),
            BodySpec::Raw(bytes) => Body::from(bytes.clone()),
        };
        req.body(body).ok()
    }
}

fn never_5xx(backend: Backend, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (router, tokens, ids, _issuer, _db) = rt.block_on(async {
        let issuer = Issuer::start().await;
        let db = TestDb::create(backend).await;
        let ctx = ApiContext::connect(config(&issuer, &db)).await.unwrap();
        let router = timesheets_api::router(ctx);
        let tokens = vec![
            Some(issuer.token("alice", EMPLOYEE)),
            Some(issuer.token("mona", MANAGER)),
            Some(issuer.token("audrey", "read:timesheets")),
            Some("garbage".to_owned()),
            None,
        ];
        // Seed: entries of alice's, one of them approved, for ids that exist.
        let mut ids = Vec::new();
        for (i, date) in ["2026-11-23", "2026-11-24", "2026-11-25"]
            .iter()
            .enumerate()
        {
            let req = Request::post("/v1/entries")
                .header(
                    "authorization",
                    format!("Bearer {}", tokens[0].as_deref().unwrap()),
                )
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"date": date, "project": format!("P{i}"), "hours": 2}).to_string(),
                ))
                .unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            let entry: Value = serde_json::from_slice(&bytes).unwrap();
            ids.push(entry["id"].as_str().unwrap().to_owned());
        }
        // Submitted, so the first can be approved as it then stands.
        let req = Request::post("/v1/weeks/2026-11-23/submit")
            .header(
                "authorization",
                format!("Bearer {}", tokens[0].as_deref().unwrap()),
            )
            .body(Body::empty())
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let week: Value = serde_json::from_slice(&bytes).unwrap();
        let seen: Vec<Value> = ids
            .iter()
            .map(|id| {
                week["entries"]
                    .as_array()
                    .and_then(|entries| entries.iter().find(|e| e["id"] == id.as_str()))
                    .map(|e| e["updated_at"].clone())
                    .unwrap()
            })
            .collect();
        let req = Request::post(format!("/v1/entries/{}/decision", ids[0]))
            .header(
                "authorization",
                format!("Bearer {}", tokens[1].as_deref().unwrap()),
            )
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"decision": "approve", "seen_updated_at": seen[0]}).to_string(),
            ))
            .unwrap();
        assert_eq!(router.clone().oneshot(req).await.unwrap().status(), 200);
        (router, tokens, ids, issuer, db)
    });

    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&request(ids), |spec| {
        let Some(req) = spec.build(&tokens) else {
            return Ok(());
        };
        let (status, content_type, body) = rt.block_on(async {
            let res = router.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = axum::body::to_bytes(res.into_body(), 1 << 22)
                .await
                .unwrap();
            (status, content_type, body)
        });
        prop_assert!(
            !status.is_server_error(),
            "{status} for {spec:?}: {}",
            String::from_utf8_lossy(&body)
        );
        if status.is_client_error() {
            prop_assert_eq!(content_type.as_str(), "application/json", "{:?}", spec);
            let parsed: Result<Value, _> = serde_json::from_slice(&body);
            prop_assert!(parsed.is_ok_and(|v| v["error"].is_string()), "{:?}", spec);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

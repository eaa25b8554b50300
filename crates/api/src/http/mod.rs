//! The HTTP face of the API: the shared context, the routes, and the middleware.
//!
//! Each concept has its module and its own `router()`, merged here: [`entries`]
//! (one's own entries), [`weeks`] (submitting them), [`history`] (an entry's
//! audit trail), [`approvals`] (deciding others'), [`me`] (the caller's
//! verified name), [`openapi`] (the document). [`auth`] and [`extract`] turn requests into typed, checked input;
//! [`error`] turns every failure into a response.

pub(crate) mod approvals;
pub(crate) mod auth;
pub(crate) mod entries;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod history;
pub(crate) mod me;
pub(crate) mod openapi;
pub(crate) mod settings;
pub(crate) mod verified;
pub(crate) mod weeks;

use crate::jwks::{IssuerCheck, Jwks};
use crate::store::Store;
use crate::{Config, Error};
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use axum::routing::get;
use axum::{middleware, Router};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::limit::{RequestBodyLimitLayer, ResponseBody};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How long one request may take before it is answered 503 `timeout`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every request shares: the configuration, the one database pool and the
/// one cache of the issuer's keys. Cloning it is cheap (reference counts).
#[derive(Clone)]
pub struct ApiContext {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) jwks: Arc<Jwks>,
    pub(crate) verified: Arc<verified::VerifiedTokens>,
}

impl ApiContext {
    /// Opens the database (creating a SQLite file if missing), brings its schema up
    /// to date, and prepares the key cache.
    ///
    /// The issuer is not contacted here: its keys are fetched on the first token,
    /// so the API starts even while the identity provider does not answer yet.
    pub async fn connect(config: Config) -> Result<Self, Error> {
        if config.audience.is_empty() {
            return Err(Error::Config("the audience must not be empty".into()));
        }
        timesheets_core::settings::weekly_target(config.weekly_target_hours)
            .map_err(|e| Error::Config(e.to_string()))?;
        if config.max_body_bytes == 0 {
            return Err(Error::Config("max_body_bytes must be above 0".into()));
        }
        if config.scope_claims.is_empty() {
            return Err(Error::Config(
                "scope_claims must name at least one of scope, scp, permissions".into(),
            ));
        }
        if config.client_ids.iter().all(|id| id.trim().is_empty()) {
            return Err(Error::Config(
                "client_ids must name at least one client id".into(),
            ));
        }
        let jwks = Jwks::new(&config.issuer, config.jwks_refresh_interval)?;
        let store = Store::connect(&config.database_url, config.max_database_bytes).await?;
        Ok(Self {
            config: Arc::new(config),
            store,
            jwks: Arc::new(jwks),
            verified: Arc::new(verified::VerifiedTokens::new()),
        })
    }
}

impl ApiContext {
    /// Asks the issuer for its discovery document and keys now, so that a start-up
    /// can say at once whether `issuer` works. Never fails: the answer says what
    /// was found. The keys found are kept for the first requests.
    pub async fn check_issuer(&self) -> IssuerCheck {
        self.jwks.probe().await
    }

    /// How many bearer tokens were checked in full (signature and claims) since
    /// start. A token seen before costs no check while it would still pass, so
    /// with a warm cache this grows with the number of distinct tokens, not with
    /// requests: a figure that says whether the cache works, without a timing.
    pub fn full_token_checks(&self) -> u64 {
        self.verified.misses()
    }
}

impl std::fmt::Debug for ApiContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiContext")
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .finish_non_exhaustive()
    }
}

/// Liveness: answers while the process serves requests; checks nothing else.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The API is up", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Drops a client's `X-Request-Id` unless it is a plain token
/// (`[A-Za-z0-9._-]{1,64}`), so a fresh one is made in its place: the id is
/// written into every log line of the request, and a chosen one could forge
/// log lines (`abc path=/forged status=200`) or hide a request among others.
fn keep_only_plain_request_ids(mut req: Request<Body>) -> Request<Body> {
    let plain = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let headers = req.headers_mut();
    let all: Vec<&HeaderValue> = headers.get_all(X_REQUEST_ID).iter().collect();
    if all.len() != 1 || !all.iter().all(|v| plain(v)) {
        headers.remove(X_REQUEST_ID);
    }
    req
}

/// One span per request, named by method, path and request id; never the query
/// or the headers (the Authorization header is marked sensitive anyway).
fn request_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %request_id,
    )
}

/// Every route of the API with its middleware, ready to serve.
///
/// Layers run top to bottom on the way in: a request id is set (or kept) and
/// echoed, the Authorization header is marked sensitive *before* tracing so no
/// token is ever logged, one trace line is written per request, responses are
/// marked `no-store` (they are personal) and `nosniff` (a browser must never
/// render a JSON answer as HTML), errors from the layers below are turned
/// into JSON, and finally the timeout and the body limit apply.
pub fn router(ctx: ApiContext) -> Router {
    let max_body = ctx.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::document))
        .merge(entries::router())
        .merge(weeks::router())
        .merge(history::router())
        .merge(settings::router())
        .merge(approvals::router())
        .merge(me::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .map_request(keep_only_plain_request_ids)
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(SetSensitiveRequestHeadersLayer::new([
                    AUTHORIZATION,
                    COOKIE,
                ]))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO))
                        .on_failure(()),
                )
                .layer(SetResponseHeaderLayer::overriding(
                    CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(middleware::map_response(error::json_errors))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    REQUEST_TIMEOUT,
                ))
                // The timeout needs a response body it can make empty; the body
                // limit's own body type cannot, so give it axum's.
                .map_response(|r: Response<ResponseBody<Body>>| r.map(Body::new))
                .layer(RequestBodyLimitLayer::new(max_body)),
        )
        .with_state(ctx)
}

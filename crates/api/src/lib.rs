//! The timesheet API: the OAuth 2.0 resource server of Timesheets.
//!
//! It checks every bearer token (RFC 9068 access tokens, signed by the issuer whose
//! keys it finds through OpenID discovery) and the scope each endpoint needs, then
//! reads and writes timesheet entries in SQLite or PostgreSQL through one code path.
//!
//! The binary that serves it lives elsewhere (`timesheets-server`); this crate is a
//! library so that tests can drive the very same [`router`] in-process or over HTTP:
//!
//! ```no_run
//! # async fn run() -> Result<(), timesheets_api::Error> {
//! let config = timesheets_api::Config::new(
//!     "http://127.0.0.1:8081/",
//!     "timesheets-api",
//!     "sqlite://timesheets.db?mode=rwc",
//! );
//! let ctx = timesheets_api::ApiContext::connect(config).await?;
//! let app = timesheets_api::router(ctx);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Where to look:
//!
//! - [`Config`]: what an operator sets (issuer, audience, database, limits);
//! - [`ApiContext`]: the one pool and the one key cache, shared by every request;
//! - [`router`]: every route and middleware layer, in order;
//! - [`Error`]: the single error type; every failure becomes one JSON response;
//! - [`Caller`] and [`Scoped`]: who is calling, and the scope a handler demands.
#![deny(missing_docs)]

mod config;
mod http;
mod jwks;
mod scope_claims;
mod store;

pub use config::{redact_database_url, Config, DEFAULT_CLIENT_ID};
pub use http::auth::{Approve, Caller, Create, Delete, Read, RequiredScope, Scoped};
pub use http::error::Error;
pub use http::openapi::ApiDoc;
pub use http::{router, ApiContext};
pub use jwks::{discovery_url, IssuerCheck};
pub use scope_claims::{ScopeClaim, UnknownScopeClaim};

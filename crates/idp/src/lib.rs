//! The development identity provider: an OAuth 2.0 / OpenID Connect authorization
//! server that speaks the same protocol as Auth0, so the Timesheets app and API
//! run on one machine with no account anywhere.
//!
//! It is for development and tests. Production points the app and the API at a
//! real provider by configuration alone; nothing here is shared with the API, which
//! meets this provider only through HTTP, the JWKS and the tokens.
//!
//! # Using it
//!
//! Build a [`Config`] with [`Config::new`] (development users, the desktop client,
//! the usual lifetimes), [`IdentityProvider::open`] it (this loads or generates the
//! signing key and opens the refresh-token database in the data directory), and
//! serve [`IdentityProvider::router`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use timesheets_idp::{Config, IdentityProvider};
//!
//! let issuer = url::Url::parse("http://127.0.0.1:8081/")?;
//! let idp = IdentityProvider::open(Config::new(issuer, "/tmp/timesheets-idp")).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! axum::serve(listener, idp.router()).await?;
//! # Ok(()) }
//! ```
//!
//! # What it serves (relative to the issuer)
//!
//! | path | what |
//! | --- | --- |
//! | `.well-known/openid-configuration` | discovery (OpenID Connect Discovery) |
//! | `.well-known/oauth-authorization-server` | the same document at RFC 8414's address |
//! | `.well-known/jwks.json` | the public signing key |
//! | `authorize` | the authorization endpoint and its sign-in page (PKCE S256 required) |
//! | `oauth/token` | `authorization_code` and `refresh_token` grants |
//! | `oauth/revoke` | refresh-token revocation (RFC 7009) |
//! | `userinfo` | the signed-in user's claims |
//! | `healthz` | liveness |
//!
//! # Serving it on a shared machine
//!
//! [`Limits`] (in [`Config::limits`]) bound what one client address can do: the
//! request rates of `/authorize`, the sign-in form and the token endpoint (429
//! with `Retry-After` beyond them), how many sign-ins may wait, and how many wrong
//! passwords a sign-in and an account may take. The address is the TCP peer's, so
//! serve the router with connect info:
//!
//! ```no_run
//! # async fn run(idp: timesheets_idp::IdentityProvider) -> std::io::Result<()> {
//! use std::net::SocketAddr;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! let app = idp.router().into_make_service_with_connect_info::<SocketAddr>();
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! Served without it, every request counts as the same client: the limits still
//! hold, but one busy client slows down all.
//!
//! The module [`pkce`] exposes the S256 challenge function, and [`scope`] the
//! scopes this provider knows.

#![deny(missing_docs)]

mod authorize;
mod claims;
mod client_auth;
mod code;
mod config;
mod discovery;
mod error;
mod keys;
mod limits;
mod oauth_error;
mod page;
mod params;
pub mod pkce;
mod refresh;
mod revoke;
pub mod scope;
mod secret;
mod token;
mod userinfo;
mod users;

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use axum::Router;

pub use config::{default_clients, Client, Config, DESKTOP_CLIENT_ID, LOOPBACK_CLIENT_ID};
pub use error::Error;
pub use limits::Limits;
pub use users::{default_users, load_users, User};

use crate::code::Codes;
use crate::keys::SigningKey;
use crate::refresh::RefreshStore;

/// A running identity provider: its configuration, signing key, refresh-token
/// database and the sign-ins in progress.
///
/// Cloning is cheap (one `Arc`), so the router's handlers each hold one.
#[derive(Clone)]
pub struct IdentityProvider {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    key: SigningKey,
    refresh: RefreshStore,
    codes: Codes,
    pending: authorize::PendingRequests,
    rates: limits::RateLimits,
    accounts: limits::Accounts,
}

impl fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("issuer", &self.inner.config.issuer.as_str())
            .field("kid", &self.inner.key.kid())
            .finish_non_exhaustive()
    }
}

impl IdentityProvider {
    /// Checks `config`, creates the data directory if needed, loads the signing
    /// key (generating and saving one on first start) and opens the refresh-token
    /// database, so that keys and refresh tokens survive a restart.
    ///
    /// Fails with an [`Error`] naming what is wrong: a bad issuer, user or client,
    /// an unwritable directory, a corrupt key file, a database that will not open.
    pub async fn open(config: Config) -> Result<Self, Error> {
        config.validate().map_err(Error::Config)?;
        tokio::fs::create_dir_all(&config.data_dir)
            .await
            .map_err(|source| Error::DataDir {
                path: config.data_dir.clone(),
                source,
            })?;
        let key = SigningKey::load_or_generate(&config.data_dir).await?;
        let refresh = RefreshStore::open(&config.data_dir, now_ms()).await?;
        tracing::info!(issuer = %config.issuer, kid = key.kid(), "identity provider ready");
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                refresh,
                codes: Codes::default(),
                pending: authorize::PendingRequests::new(&config.limits),
                rates: limits::RateLimits::new(&config.limits),
                accounts: limits::Accounts::new(&config.limits),
                config,
            }),
        })
    }

    /// The issuer identifier, exactly as it appears in tokens.
    pub fn issuer(&self) -> &url::Url {
        &self.inner.config.issuer
    }

    /// The HTTP routes, at the issuer's path (`/` for `http://host:port/`, `/idp/`
    /// for `http://host/idp/`). Merge the router into an app rather than nesting
    /// it, or the paths will no longer match the issuer's endpoint URLs.
    pub fn router(&self) -> Router {
        let routes = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(discovery::openid_configuration),
            )
            .route(
                "/.well-known/oauth-authorization-server",
                get(discovery::openid_configuration),
            )
            .route("/.well-known/jwks.json", get(discovery::jwks))
            .route("/healthz", get(discovery::healthz))
            .route("/authorize", get(authorize::show).post(authorize::submit))
            .route("/oauth/token", post(token::token))
            .route("/oauth/revoke", post(revoke::revoke))
            .route(
                "/userinfo",
                get(userinfo::userinfo).post(userinfo::userinfo),
            )
            .layer(axum::middleware::map_response(page::nosniff))
            .with_state(self.clone());
        let prefix = self.inner.config.issuer.path().trim_end_matches('/');
        if prefix.is_empty() {
            routes
        } else {
            Router::new().nest(prefix, routes)
        }
    }

    fn config(&self) -> &Config {
        &self.inner.config
    }

    fn user_by_sub(&self, sub: &str) -> Option<&User> {
        self.inner.config.users.iter().find(|user| user.sub == sub)
    }
}

/// Now, in Unix milliseconds (0 if the clock is before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Now, in Unix seconds, as JWT claims count time.
fn now_s() -> i64 {
    now_ms() / 1000
}

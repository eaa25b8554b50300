//! OAuth 2.0 error responses from the token and revocation endpoints
//! (RFC 6749 §5.2): a JSON body with `error` and a sentence in
//! `error_description` that names what is wrong.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer to a token-endpoint style request.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    basic_challenge: bool,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// `invalid_request`: a parameter is missing, repeated or malformed.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client` (401): client authentication failed.
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    /// `invalid_grant`: the code or refresh token is invalid, expired, revoked,
    /// used already, or was issued to someone else.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// `unauthorized_client`: this client may not do that.
    pub(crate) fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    /// `unsupported_grant_type`.
    pub(crate) fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    /// `invalid_scope`: the scope asks for more than was granted.
    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// 429 `slow_down` with `Retry-After`: this client address sent more token
    /// requests than its rate allows. RFC 6749 defines no code for it; `slow_down`
    /// is the one OAuth uses for "poll less often" (RFC 8628 §3.5), and the
    /// status and header say the rest to any HTTP client.
    pub(crate) fn too_many_requests(wait: std::time::Duration) -> Self {
        let secs = crate::limits::retry_after_secs(wait);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            format!("too many requests from this address; try again in {secs} seconds"),
        );
        error.retry_after = Some(secs);
        error
    }

    /// `server_error` (500): our fault, logged; the client learns nothing more.
    pub(crate) fn server(error: &crate::Error) -> Self {
        tracing::error!(%error, "token endpoint failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the identity provider failed; see its log",
        )
    }

    /// Adds `WWW-Authenticate: Basic`, required on a 401 when the client tried
    /// HTTP Basic authentication (RFC 6749 §5.2).
    pub(crate) fn with_basic_challenge(mut self, used_basic: bool) -> Self {
        self.basic_challenge = used_basic && self.status == StatusCode::UNAUTHORIZED;
        self
    }
}

impl From<crate::Error> for OAuthError {
    fn from(error: crate::Error) -> Self {
        Self::server(&error)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut headers = no_store();
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="timesheets-idp""#),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        let body = json!({ "error": self.code, "error_description": self.description });
        (self.status, headers, Json(body)).into_response()
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`: token responses must not be
/// cached anywhere (RFC 6749 §5.1).
pub(crate) fn no_store() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers
}

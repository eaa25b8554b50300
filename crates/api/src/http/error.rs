//! The crate's one error type, and how each failure becomes an HTTP response.
//!
//! Handlers, extractors, the store and the key cache all return [`Error`], so a
//! handler is a straight line of `?`. Every response that is not a success is built
//! here, as a JSON [`ErrorBody`] with a stable `error` code; internal failures are
//! logged in full and answered with a generic `internal`, never with their details.

use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use timesheets_core::validation::FieldError;
use timesheets_core::{ErrorBody, Scope};

/// The realm every `WWW-Authenticate` challenge names (RFC 6750 §3).
const REALM: &str = "timesheets";

/// Everything that can go wrong in the API, at start-up or in a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request carries no bearer token: 401 with a bare challenge, as RFC 6750
    /// §3.1 asks (no error code when no credentials were offered).
    #[error("no bearer token")]
    MissingToken,
    /// The bearer token is not one we accept: 401 `invalid_token`. The description
    /// is a fixed phrase safe to show; the detailed reason is logged at debug.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// The token is fine but lacks the scope the endpoint needs: 403
    /// `insufficient_scope`, naming it in the challenge and the body.
    #[error("missing scope {0}")]
    InsufficientScope(Scope),
    /// A rule of the domain forbids the action whatever the scopes: 403 `forbidden`.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request cannot be parsed (malformed JSON or query): 400 `invalid_field`.
    #[error("{field}: {message}")]
    Malformed {
        /// The field at fault, or `body`/`query` when no single field is.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The request parses but a value breaks a rule: 422 `invalid_field`.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No such resource, or one the caller may not know exists: 404 `not_found`.
    #[error("not found")]
    NotFound,
    /// The route exists but not with this method: 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The entry's state forbids the change (approved, already decided): 409 `conflict`.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The body is not JSON: 415 `unsupported_media_type`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// The body is over the configured limit: 413 `payload_too_large`.
    #[error("the body is too large")]
    PayloadTooLarge,
    /// The request took too long: 503 `timeout`.
    #[error("the request took too long")]
    Timeout,
    /// The issuer's keys cannot be had right now, so no token can be checked:
    /// 503 `temporarily_unavailable` (a 401 would sign a good user out).
    #[error("the issuer's keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// The configuration cannot work (bad URL, unknown database kind).
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be reached at start-up; says why (refused, timed out).
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A SQLite read failed.
    #[error("database: {0}")]
    SqliteRead(#[from] rusqlite::Error),
    /// The migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Serving failed (binding a socket, accepting a connection).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Something that should not happen did, e.g. a stored row that does not parse.
    #[error("internal: {0}")]
    Internal(String),
}

/// Whether the database refused a write for want of space (SQLite's
/// `SQLITE_FULL`, PostgreSQL's `disk_full`): the operator's problem, not the
/// caller's, and one that passes, so it is told apart from other failures.
fn storage_is_full(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "13" || code == "53100")
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid {
            field: e.field.to_owned(),
            message: e.message,
        }
    }
}

impl Error {
    /// A 422 about `field`.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 400 about `field`.
    pub(crate) fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Malformed {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::MissingToken | Error::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Error::InsufficientScope(_) | Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Malformed { .. } => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Timeout | Error::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(e) if storage_is_full(e) => StatusCode::INSUFFICIENT_STORAGE,
            Error::Config(_)
            | Error::Unreachable(_)
            | Error::Database(_)
            | Error::SqliteRead(_)
            | Error::Migrate(_)
            | Error::Io(_)
            | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body: a stable code and a sentence that reveals nothing internal.
    fn body(&self) -> ErrorBody {
        let (error, message) = match self {
            Error::MissingToken => ("invalid_token", "a bearer token is required".into()),
            Error::InvalidToken(why) => ("invalid_token", format!("the token is not valid: {why}")),
            Error::InsufficientScope(scope) => (
                "insufficient_scope",
                format!("this needs the permission {scope}"),
            ),
            Error::Forbidden(why) => ("forbidden", (*why).to_owned()),
            Error::Malformed { message, .. } | Error::Invalid { message, .. } => {
                ("invalid_field", message.clone())
            }
            Error::NotFound => ("not_found", "no such resource".into()),
            Error::MethodNotAllowed => (
                "method_not_allowed",
                "this resource does not support that method".into(),
            ),
            Error::Conflict(why) => ("conflict", (*why).to_owned()),
            Error::UnsupportedMediaType => (
                "unsupported_media_type",
                "the body must be sent as application/json".into(),
            ),
            Error::PayloadTooLarge => ("payload_too_large", "the body is too large".into()),
            Error::Timeout => ("timeout", "the request took too long".into()),
            Error::KeysUnavailable(_) => (
                "temporarily_unavailable",
                "tokens cannot be checked right now; try again shortly".into(),
            ),
            Error::Database(e) if storage_is_full(e) => (
                "storage_full",
                "the server has no room left to save this, so nothing was saved; \
                 try again later"
                    .into(),
            ),
            Error::Config(_)
            | Error::Unreachable(_)
            | Error::Database(_)
            | Error::SqliteRead(_)
            | Error::Migrate(_)
            | Error::Io(_)
            | Error::Internal(_) => ("internal", "something went wrong on our side".into()),
        };
        let field = match self {
            Error::Malformed { field, .. } | Error::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        let scope = match self {
            Error::InsufficientScope(scope) => Some(scope.as_str().to_owned()),
            _ => None,
        };
        ErrorBody {
            error: error.to_owned(),
            message,
            field,
            scope,
        }
    }

    /// The `WWW-Authenticate` challenge, for the errors RFC 6750 gives one.
    fn challenge(&self) -> Option<String> {
        match self {
            Error::MissingToken => Some(format!("Bearer realm=\"{REALM}\"")),
            Error::InvalidToken(why) => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                quoted_string_safe(why)
            )),
            Error::InsufficientScope(scope) => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            _ => None,
        }
    }
}

/// Keeps a description inside an RFC 6750 quoted string: printable ASCII without
/// `"` or `\`.
fn quoted_string_safe(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~'))
        .collect()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            match &self {
                Error::Timeout | Error::KeysUnavailable(_) => tracing::warn!(error = %self),
                _ => tracing::error!(error = %self, "request failed"),
            }
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| {
            br#"{"error":"internal","message":"something went wrong on our side"}"#.to_vec()
        });
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(challenge) = self.challenge() {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Turns the plain-text error responses produced outside our handlers (axum's 405,
/// tower-http's 413 and timeout) into the same JSON as every other error, so a
/// client never has to parse two shapes.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => Error::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => Error::Timeout,
        s if s.is_client_error() => Error::malformed("request", "the request is not valid"),
        s => Error::Internal(format!("unexpected {s} from a layer")),
    };
    let (mut parts, _) = response.into_parts();
    let rebuilt = error.into_response();
    let (new_parts, body) = rebuilt.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            Error::MissingToken.challenge().as_deref(),
            Some("Bearer realm=\"timesheets\"")
        );
        assert_eq!(
            Error::InsufficientScope(Scope::Approve).challenge().as_deref(),
            Some("Bearer realm=\"timesheets\", error=\"insufficient_scope\", scope=\"approve:timesheets\"")
        );
        assert_eq!(
            Error::InvalidToken("bad \"quote\"\\").challenge().as_deref(),
            Some("Bearer realm=\"timesheets\", error=\"invalid_token\", error_description=\"bad quote\"")
        );
        assert_eq!(Error::NotFound.challenge(), None);
    }

    #[test]
    fn internal_errors_reveal_nothing() {
        let body = Error::Internal("secret detail".into()).body();
        assert_eq!(body.error, "internal");
        assert!(!body.message.contains("secret"));
    }
}

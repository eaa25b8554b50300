//! Request extractors that answer every bad input with our JSON [`Error`] naming
//! the field, where axum's own would answer with plain text.

use crate::Error;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The field a serde error is about: the path where it happened, or for errors
/// raised on the enclosing object (missing or unknown field) the name serde quotes.
fn field_of(path: &serde_path_to_error::Path, message: &str, whole: &str) -> String {
    let path = path.to_string();
    if !path.is_empty() && path != "." && path != "?" {
        return path;
    }
    for prefix in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(rest) = message.split(prefix).nth(1) {
            if let Some(name) = rest.split('`').next() {
                return name.to_owned();
            }
        }
    }
    whole.to_owned()
}

/// A JSON request or response body.
///
/// As a request: the Content-Type must be JSON (else 415), the body within the
/// size limit (else 413), the syntax sound (else 400), the value an object and its
/// members of the right types and names (else 422), each error naming the field,
/// found with `serde_path_to_error`. As a response: serialized with `application/json`.
pub(crate) struct Json<T>(pub T);

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(CONTENT_TYPE)) {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::malformed("body", "the body could not be read")
            }
        })?;
        // Every body of this API is an object. serde would also fill a struct from
        // an array, by position; refuse that rather than guess what was meant.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                    Ok(_) => Error::invalid("body", "must be a JSON object"),
                    Err(e) => Error::malformed("body", e.to_string()),
                },
            );
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            let message = inner.to_string();
            let field = field_of(e.path(), &message, "body");
            match inner.classify() {
                serde_json::error::Category::Data => Error::invalid(field, message),
                _ => Error::malformed(field, message),
            }
        })?;
        de.end().map_err(|e| {
            Error::malformed("body", format!("unexpected data after the JSON value: {e}"))
        })?;
        Ok(Json(value))
    }
}

/// A list that the store serialised where it read it.
impl IntoResponse for crate::store::EntryListJson {
    fn into_response(self) -> Response {
        (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            self.0,
        )
            .into_response()
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(e) => Error::Internal(format!("response does not serialize: {e}")).into_response(),
        }
    }
}

/// A query string read into `T`, with unknown or repeated parameters and wrong
/// values answered as 400 naming the parameter.
pub(crate) struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let message = e.inner().to_string();
                let field = field_of(e.path(), &message, "query");
                Error::malformed(field, message)
            })
    }
}

/// The `{id}` of an entry's path: a UUID, normalised. Anything else names no entry,
/// so it is a 404 like any unknown id, never a parse error.
pub(crate) struct EntryId(pub String);

impl<S> FromRequestParts<S> for EntryId
where
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::NotFound)?;
        let id = uuid::Uuid::try_parse(&raw).map_err(|_| Error::NotFound)?;
        Ok(EntryId(id.hyphenated().to_string()))
    }
}

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub(crate) struct IdempotencyKey(pub Option<String>);

/// The header's name, also the `field` its errors name.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

impl<S> FromRequestParts<S> for IdempotencyKey
where
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey(None));
        };
        if values.next().is_some() {
            return Err(Error::invalid(IDEMPOTENCY_KEY, "must be sent once"));
        }
        let bytes = value.as_bytes();
        if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
        {
            return Err(Error::invalid(
                IDEMPOTENCY_KEY,
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(IdempotencyKey(Some(
            String::from_utf8_lossy(bytes).into_owned(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        hours: f64,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        x: u8,
    }

    fn field(json: &str) -> String {
        let mut de = serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, Body>(&mut de) {
            Ok(_) => "ok".into(),
            Err(e) => field_of(e.path(), &e.inner().to_string(), "body"),
        }
    }

    #[test]
    fn errors_name_their_field() {
        assert_eq!(field(r#"{"hours": "x"}"#), "hours");
        assert_eq!(field(r#"{"inner": {"x": 1}}"#), "hours");
        assert_eq!(field(r#"{"hours": 1, "bogus": 2}"#), "bogus");
        assert_eq!(field(r#"{"hours": 1, "inner": {"x": 300}}"#), "inner.x");
        assert_eq!(field(r#"{"hours": 1"#), "body");
    }

    #[test]
    fn json_content_types() {
        let ok = |s: &'static str| is_json(Some(&HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("Application/JSON; charset=utf-8"));
        assert!(ok("application/merge-patch+json"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonx"));
        assert!(!is_json(None));
    }
}

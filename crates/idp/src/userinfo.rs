//! The UserInfo endpoint (OpenID Connect Core §5.3): who the bearer of an access
//! token is.
//!
//! The token must be one of this provider's access tokens (signature, issuer,
//! audience, expiry, and `typ: at+jwt`, so an ID token is refused) with the
//! `openid` scope. The answer carries `sub`, plus `name` with the `profile`
//! scope and `email` with the `email` scope, as OpenID Connect §5.4 ties claims to
//! scopes. Errors follow RFC 6750 §3.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Map, Value};

use crate::claims::{AccessClaims, ACCESS_TOKEN_TYP};
use crate::oauth_error::no_store;
use crate::secret::Secret;
use crate::IdentityProvider;

/// `GET` or `POST /userinfo` with `Authorization: Bearer <access token>`.
pub(crate) async fn userinfo(State(idp): State<IdentityProvider>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return challenge(StatusCode::UNAUTHORIZED, r#"Bearer realm="timesheets-idp""#);
    };
    let claims = match verify(&idp, &token) {
        Ok(claims) => claims,
        Err(reason) => {
            tracing::debug!(reason, "userinfo refused a token");
            return challenge(
                StatusCode::UNAUTHORIZED,
                &format!(r#"Bearer error="invalid_token", error_description="{reason}""#),
            );
        }
    };
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return challenge(
            StatusCode::FORBIDDEN,
            r#"Bearer error="insufficient_scope", scope="openid""#,
        );
    }
    let Some(user) = idp.user_by_sub(&claims.sub) else {
        return challenge(
            StatusCode::UNAUTHORIZED,
            r#"Bearer error="invalid_token", error_description="the user no longer exists""#,
        );
    };
    let mut body = Map::new();
    body.insert("sub".to_owned(), Value::from(user.sub.clone()));
    if scopes.contains(&"profile") {
        body.insert("name".to_owned(), Value::from(user.name.clone()));
    }
    if scopes.contains(&"email") {
        body.insert("email".to_owned(), Value::from(user.email.clone()));
        body.insert("email_verified".to_owned(), Value::from(true));
    }
    (StatusCode::OK, no_store(), Json(Value::Object(body))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<Secret<String>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| Secret::new(token.trim().to_owned()))
        .filter(|token| !token.expose().is_empty())
}

fn verify(idp: &IdentityProvider, token: &Secret<String>) -> Result<AccessClaims, &'static str> {
    let header =
        jsonwebtoken::decode_header(token.expose()).map_err(|_| "the token is not a JWT")?;
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err("the token is not an access token");
    }
    let config = idp.config();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[config.issuer.as_str()]);
    validation.set_audience(&[config.default_audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<AccessClaims>(token.expose(), idp.inner.key.decoding_key(), &validation)
        .map(|data| data.claims)
        .map_err(|_| "the token is invalid or expired")
}

fn challenge(status: StatusCode, www_authenticate: &str) -> Response {
    let mut headers = no_store();
    if let Ok(value) = HeaderValue::from_str(www_authenticate) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    let body = json!({ "error": if status == StatusCode::FORBIDDEN { "insufficient_scope" } else { "invalid_token" } });
    (status, headers, Json(body)).into_response()
}

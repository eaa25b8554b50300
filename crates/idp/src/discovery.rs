//! What a client or API learns before talking to the provider: the discovery
//! document (RFC 8414, OpenID Connect Discovery 1.0), the JWKS, and a health check.
//!
//! Clients and the API find every endpoint here, as they would with Auth0, so
//! switching providers is a change of issuer URL and nothing else.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::scope;
use crate::IdentityProvider;

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(idp): State<IdentityProvider>) -> impl IntoResponse {
    let config = idp.config();
    let document = json!({
        "issuer": config.issuer.as_str(),
        "authorization_endpoint": config.endpoint("authorize"),
        "token_endpoint": config.endpoint("oauth/token"),
        "revocation_endpoint": config.endpoint("oauth/revoke"),
        "userinfo_endpoint": config.endpoint("userinfo"),
        "jwks_uri": config.endpoint(".well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scope::supported().collect::<Vec<_>>(),
        "subject_types_supported": ["public"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "auth_time", "nonce", "email", "name"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        // A field of its own, so the app can label this provider "Development
        // sign-in" without guessing from the address: any other provider on
        // 127.0.0.1 is shown by its host.
        "timesheets_development_provider": true,
    });
    (cacheable(), Json(document))
}

/// `GET /.well-known/jwks.json`: the public key that verifies every token.
pub(crate) async fn jwks(State(idp): State<IdentityProvider>) -> impl IntoResponse {
    (cacheable(), Json(idp.inner.key.jwks()))
}

/// `GET /healthz`: the provider is up.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Public documents may be cached briefly; the key does not change while the
/// provider runs.
fn cacheable() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers
}

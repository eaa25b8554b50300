//! The contents of the tokens this provider signs.
//!
//! Access tokens follow RFC 9068 (JWT profile for OAuth 2.0 access tokens): header
//! `typ: at+jwt`, so a resource server can tell one from an ID token, and claims
//! `iss sub aud client_id scope iat nbf exp jti`, plus `email` and `name`, which the
//! API shows. ID tokens follow OpenID Connect Core §2: `aud` is the client, and
//! `nonce` is echoed so the client can tie the token to its own sign-in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

/// Claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    pub(crate) jti: String,
    pub(crate) email: String,
    pub(crate) name: String,
}

/// Claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Serialize)]
pub(crate) struct IdClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<&'a str>,
    pub(crate) email: &'a str,
    pub(crate) name: &'a str,
}

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The `typ` header of ID tokens.
pub(crate) const ID_TOKEN_TYP: &str = "JWT";

/// A unique token id (`jti`): 128 random bits.
pub(crate) fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

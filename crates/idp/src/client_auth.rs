//! Who is calling the token and revocation endpoints.
//!
//! Every client here is public, so "authentication" is identification: the
//! `client_id` in the form body (RFC 6749 §2.3.1's `none` method), or HTTP Basic
//! with the client id and an empty password, which is what the Rust `oauth2`
//! crate sends by default. Both are accepted; if both are sent they must agree.
//! A secret is refused rather than ignored, so a misconfigured client learns why.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::config::{Client, Config};
use crate::oauth_error::OAuthError;
use crate::params::Params;

/// Identifies the client of a token or revocation request. A 401 answers a
/// client that tried HTTP Basic with `WWW-Authenticate: Basic`.
pub(crate) fn authenticate<'a>(
    config: &'a Config,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let used_basic = basic.is_some();
    let fail = |error: OAuthError| error.with_basic_challenge(used_basic);

    if let Some((_, secret)) = &basic {
        if !secret.is_empty() {
            return Err(fail(OAuthError::invalid_client(
                "this client is public and has no secret: send an empty password in HTTP Basic, or only client_id in the body",
            )));
        }
    }
    if params.get("client_secret").is_some() {
        return Err(fail(OAuthError::invalid_client(
            "this client is public and has no secret: do not send client_secret",
        )));
    }
    if params.is_repeated("client_id") {
        return Err(fail(OAuthError::invalid_request(
            "client_id was sent more than once",
        )));
    }
    let client_id = match (
        basic.as_ref().map(|(id, _)| id.as_str()),
        params.get("client_id"),
    ) {
        (Some(from_header), Some(from_body)) if from_header != from_body => {
            return Err(fail(OAuthError::invalid_client(
                "the client_id in the body differs from the one in the Authorization header",
            )));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(fail(OAuthError::invalid_client(
                "client authentication is required: send client_id in the body or with HTTP Basic",
            )));
        }
    };
    config
        .clients
        .iter()
        .find(|client| client.client_id == client_id)
        .ok_or_else(|| {
            fail(OAuthError::invalid_client(format!(
                "unknown client {client_id:?}"
            )))
        })
}

/// The client id and password from `Authorization: Basic`, if that header is
/// sent. Each part is form-urlencoded inside the base64 (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        OAuthError::invalid_client(
            "the Authorization header is not valid HTTP Basic (base64 of client_id:)",
        )
        .with_basic_challenge(true)
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(format!(
            "unsupported authentication scheme {scheme:?}: use HTTP Basic or client_id in the body"
        )));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok(Some((id, secret)))
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("bad%2"), None);
        assert_eq!(form_decode("bad%zz"), None);
        assert_eq!(form_decode("bad%+1"), None);
    }
}

//! Checking the ID token, the provider's signed statement of who signed in.
//!
//! The app shows the name and email from the ID token, so it checks it as
//! OpenID Connect Core §3.1.3.7 says: signature against the provider's published
//! keys (an asymmetric algorithm only: never `none`, never HMAC), `iss` equal to the
//! configured issuer, `aud` containing the client id (and `azp` equal to it when
//! there are several audiences), not expired, and `nonce` equal to the one sent
//! with this sign-in (which ties the token to this browser round trip). A header
//! with `crit` is refused (RFC 7515 §4.1.11: no extension is understood here).

use crate::discovery::Provider;
use crate::error::Error;
use crate::secret::Secret;
use crate::session::UserView;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The algorithms accepted: asymmetric only, so a public key can never be used as
/// an HMAC secret.
const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(serde::de::IgnoredAny),
    Many(Vec<String>),
    #[default]
    None,
}

/// Why an ID token was refused; logged, never shown with the token.
fn refused(reason: &str) -> Error {
    tracing::warn!(reason, "ID token refused");
    Error::unknown(
        "The sign-in server's answer could not be verified, so the sign-in was not accepted. \
         Please try again; if it keeps happening, check the app's issuer and client id.",
    )
}

/// Verifies `token` and returns who it names. `nonce` is the one sent with the
/// sign-in; `None` after a refresh, where OpenID Connect does not require it.
pub(crate) async fn verify(
    provider: &Provider,
    token: &Secret<String>,
    nonce: Option<&Secret<String>>,
) -> Result<UserView, Error> {
    let header =
        jsonwebtoken::decode_header(token.expose()).map_err(|_| refused("malformed header"))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(refused("algorithm not allowed"));
    }
    if names_critical_extensions(token.expose()) {
        // RFC 7515 §4.1.11: an extension marked critical that is not understood
        // (and none is) makes the token invalid. jsonwebtoken does not look.
        return Err(refused("critical header extension"));
    }
    let mut keys = provider.signing_keys(false).await?;
    let mut jwk = pick_key(&keys, header.kid.as_deref(), header.alg);
    if jwk.is_none() {
        // The provider may have rotated its keys since they were fetched.
        keys = provider.signing_keys(true).await?;
        jwk = pick_key(&keys, header.kid.as_deref(), header.alg);
    }
    let jwk = jwk.ok_or_else(|| refused("no matching signing key"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| refused("unusable signing key"))?;

    let config = provider.config();
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.set_issuer(&[config.issuer.as_str()]);
    validation.set_audience(&[config.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let claims = jsonwebtoken::decode::<Claims>(token.expose(), &key, &validation)
        .map_err(|e| refused(&format!("{:?}", e.kind())))?
        .claims;

    if let Audience::Many(list) = &claims.aud {
        if list.len() > 1 && claims.azp.as_deref() != Some(config.client_id.as_str()) {
            return Err(refused("several audiences and azp is not this client"));
        }
    }
    if let Some(expected) = nonce {
        let matches = claims
            .nonce
            .as_ref()
            .is_some_and(|got| bool::from(got.as_bytes().ct_eq(expected.expose().as_bytes())));
        if !matches {
            return Err(refused("nonce does not match this sign-in"));
        }
    }
    let email = claims.email.filter(|e| !e.is_empty());
    let name = claims
        .name
        .filter(|n| !n.trim().is_empty())
        .or_else(|| email.clone())
        .unwrap_or(claims.sub);
    Ok(UserView { name, email })
}

/// Whether the JWT's header carries `crit`.
fn names_critical_extensions(token: &str) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    token
        .split('.')
        .next()
        .and_then(|header| URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|header| header.contains_key("crit"))
}

/// The key for `kid` (or the only suitable key when the token names none); a key
/// that declares another algorithm, or a symmetric key, is never picked.
fn pick_key<'a>(
    keys: &'a [jsonwebtoken::jwk::Jwk],
    kid: Option<&str>,
    alg: Algorithm,
) -> Option<&'a jsonwebtoken::jwk::Jwk> {
    use jsonwebtoken::jwk::{AlgorithmParameters, PublicKeyUse};
    let suitable = |jwk: &&jsonwebtoken::jwk::Jwk| {
        !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
            && jwk
                .common
                .key_algorithm
                .is_none_or(|declared| declared.to_string().parse::<Algorithm>().ok() == Some(alg))
            && jwk.common.public_key_use != Some(PublicKeyUse::Encryption)
    };
    match kid {
        Some(kid) => keys
            .iter()
            .filter(suitable)
            .find(|jwk| jwk.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut candidates = keys.iter().filter(suitable);
            let first = candidates.next();
            candidates.next().is_none().then_some(first).flatten()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_critical_extension_is_seen() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let token = |header: &str| format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(header));
        assert!(names_critical_extensions(&token(
            r#"{"alg":"RS256","crit":["exp"]}"#
        )));
        assert!(!names_critical_extensions(&token(r#"{"alg":"RS256"}"#)));
        assert!(!names_critical_extensions("not a jwt"));
    }
}

//! Checking the ID token, the provider's signed statement of who signed in.
//!
//! The app shows the name and email from the ID token, so it checks it as
//! OpenID Connect Core §3.1.3.7 says: signature against the provider's published
//! keys (an asymmetric algorithm only: never `none`, never HMAC), `iss` equal to the
//! configured issuer, `aud` containing the client id (and `azp` equal to it when
//! there are several audiences), not expired, and `nonce` equal to the one sent
//! with this sign-in (which ties the token to this browser round trip). A header
//! with `crit` is refused (RFC 7515 §4.1.11: no extension is understood here).

use crate::config::ClientConfig;
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
    iss: String,
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

/// Who an ID token names: the pair that identifies a person (OpenID Connect Core
/// §5.7: `sub` is unique only within its issuer). The session keeps the one its
/// sign-in started with and holds every later ID token to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    pub(crate) issuer: String,
    pub(crate) sub: String,
}

/// A verified ID token: who it names, and how to show them.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) subject: Subject,
    pub(crate) user: UserView,
}

/// What an ID token from a refresh says about the session.
#[derive(Debug)]
pub(crate) enum Refreshed {
    /// Verified, and it names the person the session started with (or the
    /// session knew nobody yet, after a restore).
    Confirmed(Identity),
    /// The provider's keys could not be fetched just now, so it could not be
    /// checked: nothing in it is believed, and the person shown stays as it was.
    Unchecked,
    /// It failed a check (signature, `iss`, `aud`, expiry), or names someone else
    /// than the session's person (`other_person`): the session must end.
    Refused { other_person: bool },
}

/// Verifies `token` and returns who it names. `nonce` is the one sent with the
/// sign-in; `None` after a refresh, where OpenID Connect does not require it.
pub(crate) async fn verify(
    provider: &Provider,
    token: &Secret<String>,
    nonce: Option<&Secret<String>>,
) -> Result<Identity, Error> {
    let header = header(token)?;
    let key = signing_key(provider, &header)
        .await?
        .ok_or_else(|| refused("no matching signing key"))?;
    check(token, &key, header.alg, provider.config(), nonce)
}

/// Verifies the ID token of a refresh response and holds it to the session's
/// `original` subject, as OpenID Connect Core §12.2 requires: same `iss`, same
/// `sub`, and `aud` still containing this client. A refreshed token that names
/// someone else must not quietly replace the person shown, nor keep the session.
pub(crate) async fn verify_refreshed(
    provider: &Provider,
    token: &Secret<String>,
    original: Option<&Subject>,
) -> Refreshed {
    let Ok(header) = header(token) else {
        return Refreshed::Refused {
            other_person: false,
        };
    };
    let key = match signing_key(provider, &header).await {
        Ok(Some(key)) => key,
        Ok(None) => {
            tracing::warn!(reason = "no matching signing key", "ID token refused");
            return Refreshed::Refused {
                other_person: false,
            };
        }
        Err(e) => {
            tracing::warn!(
                code = e.code(),
                "cannot fetch the keys to check a refreshed ID token"
            );
            return Refreshed::Unchecked;
        }
    };
    judge_refreshed(token, &key, header.alg, provider.config(), original)
}

/// [`verify_refreshed`] once the key is known.
fn judge_refreshed(
    token: &Secret<String>,
    key: &DecodingKey,
    alg: Algorithm,
    config: &ClientConfig,
    original: Option<&Subject>,
) -> Refreshed {
    let Ok(identity) = check(token, key, alg, config, None) else {
        return Refreshed::Refused {
            other_person: false,
        };
    };
    match original {
        Some(original) if !same_person(original, &identity.subject) => {
            tracing::warn!("a refreshed ID token names another person than the sign-in");
            Refreshed::Refused { other_person: true }
        }
        _ => Refreshed::Confirmed(identity),
    }
}

/// Whether two ID tokens name the same person: `iss` and `sub` both equal, as
/// strings (OpenID Connect Core §12.2; no normalisation).
pub(crate) fn same_person(original: &Subject, refreshed: &Subject) -> bool {
    original == refreshed
}

/// The token's header, if it is one this app accepts at all.
fn header(token: &Secret<String>) -> Result<jsonwebtoken::Header, Error> {
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
    Ok(header)
}

/// The provider's key for `header`: `Ok(None)` when it has none that fits (a
/// refusal), `Err` when its keys could not be fetched.
async fn signing_key(
    provider: &Provider,
    header: &jsonwebtoken::Header,
) -> Result<Option<DecodingKey>, Error> {
    let mut keys = provider.signing_keys(false).await?;
    let mut jwk = pick_key(&keys, header.kid.as_deref(), header.alg);
    if jwk.is_none() {
        // The provider may have rotated its keys since they were fetched.
        keys = provider.signing_keys(true).await?;
        jwk = pick_key(&keys, header.kid.as_deref(), header.alg);
    }
    let Some(jwk) = jwk else {
        return Ok(None);
    };
    DecodingKey::from_jwk(jwk)
        .map(Some)
        .map_err(|_| refused("unusable signing key"))
}

/// The claims checks of OpenID Connect Core §3.1.3.7, signature included.
fn check(
    token: &Secret<String>,
    key: &DecodingKey,
    alg: Algorithm,
    config: &ClientConfig,
    nonce: Option<&Secret<String>>,
) -> Result<Identity, Error> {
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.set_issuer(&[config.issuer.as_str()]);
    validation.set_audience(&[config.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let claims = jsonwebtoken::decode::<Claims>(token.expose(), key, &validation)
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
        .unwrap_or_else(|| claims.sub.clone());
    Ok(Identity {
        subject: Subject {
            issuer: claims.iss,
            sub: claims.sub,
        },
        user: UserView { name, email },
    })
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

    /// One RSA key for these tests (generating one is slow) and its public half.
    fn key() -> &'static (jsonwebtoken::EncodingKey, DecodingKey) {
        static KEY: std::sync::OnceLock<(jsonwebtoken::EncodingKey, DecodingKey)> =
            std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            use base64::Engine as _;
            use rsa::pkcs1::EncodeRsaPrivateKey as _;
            use rsa::traits::PublicKeyParts as _;
            let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
                .unwrap_or_else(|e| panic!("{e}"));
            let der = private.to_pkcs1_der().unwrap_or_else(|e| panic!("{e}"));
            let public = DecodingKey::from_rsa_components(
                &URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                &URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            (
                jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
                public,
            )
        })
    }

    /// An ID token as a provider would sign it after a refresh.
    fn crafted(iss: &str, sub: &str, aud: &str) -> Secret<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = serde_json::json!({
            "iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + 300,
            "name": format!("Person {sub}"),
        });
        let header = jsonwebtoken::Header::new(Algorithm::RS256);
        Secret::new(
            jsonwebtoken::encode(&header, &claims, &key().0).unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn judged(token: &Secret<String>, original: Option<&Subject>) -> Refreshed {
        let config = ClientConfig::default();
        judge_refreshed(token, &key().1, Algorithm::RS256, &config, original)
    }

    #[test]
    fn a_refreshed_id_token_must_name_the_person_the_session_started_with() {
        let config = ClientConfig::default();
        let (issuer, client) = (config.issuer.as_str(), config.client_id.as_str());
        let original = Subject {
            issuer: issuer.to_owned(),
            sub: "person-1".into(),
        };

        let same = judged(&crafted(issuer, "person-1", client), Some(&original));
        let Refreshed::Confirmed(identity) = same else {
            panic!("the same person was refused: {same:?}");
        };
        assert_eq!(identity.subject, original);
        assert_eq!(identity.user.name, "Person person-1");

        let other = judged(&crafted(issuer, "person-2", client), Some(&original));
        assert!(
            matches!(other, Refreshed::Refused { other_person: true }),
            "another sub was accepted: {other:?}"
        );
        // Another issuer, or an audience without this client: refused as well.
        let elsewhere = judged(
            &crafted("https://other.example/", "person-1", client),
            Some(&original),
        );
        assert!(
            matches!(elsewhere, Refreshed::Refused { .. }),
            "{elsewhere:?}"
        );
        let not_for_us = judged(&crafted(issuer, "person-1", "another-app"), Some(&original));
        assert!(
            matches!(not_for_us, Refreshed::Refused { .. }),
            "{not_for_us:?}"
        );
        // A session restored from the keyring knows nobody yet: the first one sets it.
        let first = judged(&crafted(issuer, "person-2", client), None);
        assert!(matches!(first, Refreshed::Confirmed(_)), "{first:?}");
    }

    #[test]
    fn the_same_person_is_the_same_issuer_and_sub_exactly() {
        let person = |issuer: &str, sub: &str| Subject {
            issuer: issuer.into(),
            sub: sub.into(),
        };
        let original = person("https://a/", "u1");
        assert!(same_person(&original, &person("https://a/", "u1")));
        assert!(!same_person(&original, &person("https://a/", "U1")));
        assert!(!same_person(&original, &person("https://a", "u1")));
        assert!(!same_person(&original, &person("https://b/", "u1")));
    }

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

//! Who is calling, and may they: bearer tokens (RFC 6750) checked as JWT access
//! tokens (RFC 9068) following the JWT best practices (RFC 8725).
//!
//! Two extractors, so a handler's signature says what it needs:
//!
//! - [`Caller`]: a valid token, whatever its scopes;
//! - [`Scoped<S>`]: a valid token that grants the scope `S` names, e.g.
//!   `Scoped<Approve>` for `approve:timesheets`. Handlers take this one; a missing
//!   scope is a 403 naming it before the handler runs.
//!
//! What a token must pass, in order: a `Bearer` credential; a header whose `alg` is
//! on the allow-list (RS256, PS256, ES256: never `none`, never HMAC, so a token
//! "signed" with the public key as an HMAC secret fails here) and whose `typ` says
//! access token; a `kid` found in the issuer's key set (never a key the token
//! itself points at: `jku`, `x5u` and `jwk` are ignored); no `crit` (RFC 7515
//! §4.1.11: no extension is understood); the signature; `iss` exactly; our
//! audience in `aud`; `exp` (required), `nbf` and `iat` with leeway; `sub`; and
//! scopes in the claims the operator counts, each in its expected shape.

use crate::http::verified::Verified;
use crate::http::ApiContext;
use crate::jwks::VerifyKey;
use crate::{scope_claims, Error};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use timesheets_core::validation::is_spoofing_character;
use timesheets_core::{Scope, Scopes};

/// Tokens longer than this are refused unread; real access tokens are 1–2 KiB.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// More clock skew than this is a misconfiguration, not a tolerance.
const MAX_LEEWAY_SECS: u64 = 3600;
/// The signature algorithms accepted. Asymmetric only: the key set is public.
const ALLOWED: [Algorithm; 3] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256];

/// The person behind a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The subject at the issuer: the stable id entries are owned by.
    pub sub: String,
    /// A name to show managers: the `name` claim, else `email`, else `sub`.
    pub name: String,
    /// The `name` claim of the access token itself, when it has one: it wins over
    /// an ID token's (see `PUT /v1/me`).
    pub token_name: Option<String>,
    /// The `email` claim of the access token itself, when it has one.
    pub token_email: Option<String>,
    /// The timesheet scopes the token grants.
    pub scopes: Scopes,
}

/// The claims we read. `exp`, `nbf`, `iss` and `aud` are checked by jsonwebtoken;
/// `iss` is also read here so that an array (which jsonwebtoken tolerates) fails,
/// and `iat` so that a token issued in the future fails. The rest (scopes, name)
/// are read from `other` according to the configuration.
#[derive(Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    #[allow(dead_code)]
    iss: String,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(flatten)]
    pub(crate) other: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// `exp` in whole Unix seconds, when it is a non-negative number.
    fn exp(&self) -> Option<u64> {
        let exp = self.other.get("exp")?.as_f64()?;
        // Truncation is the point: a token valid until x.5 is not valid at x+1.
        (exp >= 0.0 && exp.is_finite()).then_some(exp as u64)
    }

    /// A text claim fit to show: control and spoofing characters dropped (see
    /// [`is_spoofing_character`]), at most 200 characters, `None` when absent,
    /// not a string, or blank.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.other
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control() && !is_spoofing_character(*c))
                    .take(200)
                    .collect::<String>()
            })
            .filter(|s| !s.trim().is_empty())
    }
}

/// Refuses a token: logs why at debug (never the token), answers a fixed phrase.
fn refuse(description: &'static str, detail: impl std::fmt::Display) -> Error {
    tracing::debug!(reason = %detail, "refused a bearer token");
    Error::InvalidToken(description)
}

/// Whether the header `typ` says "JWT access token" (RFC 9068 §2.1), or plain
/// `JWT` (Auth0, Entra ID, Keycloak) or none at all (Okta) when the operator
/// allows providers that do not type their access tokens. Media types compare
/// case-insensitively, and `application/` may be omitted (RFC 7515 §4.1.9).
fn typ_allowed(typ: Option<&str>, accept_jwt: bool) -> bool {
    let Some(typ) = typ else {
        return accept_jwt;
    };
    let typ = typ.to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    typ == "at+jwt" || (accept_jwt && typ == "jwt")
}

/// Text fit for storage and display: no control characters (PostgreSQL refuses
/// NUL in text, and names end up on screens).
fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Why a JWT was refused: a fixed phrase for the answer and the detail for the
/// debug log. Shared by access tokens (401) and presented ID tokens (422).
pub(crate) struct Refusal {
    pub(crate) description: &'static str,
    pub(crate) detail: String,
}

fn refusal(description: &'static str, detail: impl std::fmt::Display) -> Refusal {
    Refusal {
        description,
        detail: detail.to_string(),
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        refuse(r.description, r.detail)
    }
}

/// Whether the header names critical extensions (`crit`, RFC 7515 §4.1.11). The
/// API understands none, so any `crit` at all means "refuse": jsonwebtoken does
/// not look at it, hence this separate read of the header's JSON.
fn names_critical_extensions(token: &str) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|header| header.contains_key("crit"))
}

/// The checks every JWT gets before its signature is looked at: its size, a
/// header that parses, an algorithm on the allow-list (RS256, PS256, ES256:
/// never `none`, never HMAC, so a token "signed" with the public key as an HMAC
/// secret fails here), and no critical extension.
pub(crate) fn checked_header(token: &str) -> Result<jsonwebtoken::Header, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(refusal("the token is malformed", "token too long"));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| refusal("the token is malformed", format_args!("header: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(refusal(
            "the token's algorithm is not accepted",
            format_args!("alg {:?}", header.alg),
        ));
    }
    if names_critical_extensions(token) {
        return Err(refusal(
            "the token requires extensions the API does not understand",
            "crit present",
        ));
    }
    Ok(header)
}

/// Checks `token`'s signature with the issuer's key its header names, and its
/// `iss`, audience (one of `audiences`), `exp`, `nbf`, `iat` and `sub`; returns
/// its claims and the key that verified it. Every JWT the API accepts goes
/// through here (or was, when it comes from
/// [`VerifiedTokens`](crate::http::verified::VerifiedTokens)).
pub(crate) async fn verified_claims(
    ctx: &ApiContext,
    token: &str,
    header: &jsonwebtoken::Header,
    audiences: &[String],
) -> Result<(Claims, Arc<VerifyKey>), Error> {
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| refusal("the token names no key", "no kid"))?;
    let key = ctx
        .jwks
        .key(kid)
        .await?
        .ok_or_else(|| refusal("the token's key is unknown", format_args!("kid {kid:?}")))?;
    if !key.allows(header.alg) {
        return Err(refusal(
            "the token's algorithm does not fit its key",
            format_args!("alg {:?} with kid {kid:?}", header.alg),
        )
        .into());
    }

    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&ctx.config.issuer]);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // Clamped: jsonwebtoken adds and subtracts it from "now" without overflow checks.
    let leeway = ctx.config.leeway.as_secs().min(MAX_LEEWAY_SECS);
    validation.leeway = leeway;
    let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(|e| {
        let description = match e.kind() {
            ErrorKind::InvalidSignature => "the token's signature does not verify",
            ErrorKind::ExpiredSignature => "the token has expired",
            ErrorKind::ImmatureSignature => "the token is not valid yet",
            ErrorKind::InvalidIssuer => "the token is from another issuer",
            ErrorKind::InvalidAudience => "the token is meant for another audience",
            ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
            _ => "the token is malformed",
        };
        refusal(description, e)
    })?;
    let claims = data.claims;
    // RFC 7519 §4.1.6 leaves `iat` unchecked; a token from the future means a
    // broken clock or a forged lifetime, and extends how long a stolen token works.
    let now = jsonwebtoken::get_current_timestamp() as f64;
    if claims.iat.is_some_and(|iat| iat > now + leeway as f64) {
        return Err(refusal(
            "the token was issued in the future",
            format_args!("iat {:?}", claims.iat),
        )
        .into());
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 || !printable(&claims.sub) {
        return Err(refusal("the token's subject is not usable", "bad sub").into());
    }
    Ok((claims, key))
}

/// Checks `token` against everything listed in the module docs.
pub(crate) async fn verify(ctx: &ApiContext, token: &str) -> Result<Caller, Error> {
    let now = jsonwebtoken::get_current_timestamp();
    if let Some(caller) = ctx.verified.get(token, now, &ctx.jwks) {
        return Ok(caller);
    }
    let header = checked_header(token)?;
    if !typ_allowed(header.typ.as_deref(), ctx.config.accept_jwt_typ) {
        return Err(refuse(
            "the token is not an access token",
            format_args!("typ {:?}", header.typ),
        ));
    }
    let (claims, key) = verified_claims(
        ctx,
        token,
        &header,
        std::slice::from_ref(&ctx.config.audience),
    )
    .await?;
    let scopes = scope_claims::granted(&claims.other, &ctx.config.scope_claims).map_err(|bad| {
        refuse(
            "the token's scopes are in a form the API does not understand",
            format_args!("claim {} has an unexpected shape", bad.0),
        )
    })?;
    let token_name = claims.text("name");
    let token_email = claims.text("email");
    let exp = claims.exp();
    let name = token_name
        .clone()
        .or_else(|| token_email.clone())
        .unwrap_or_else(|| claims.sub.clone());
    let caller = Caller {
        sub: claims.sub,
        name,
        token_name,
        token_email,
        scopes,
    };
    // `exp` is required and was checked, so it is there; a fractional one counts
    // down to its whole second, as the check itself does.
    if let (Some(exp), Some(kid)) = (exp, header.kid) {
        let leeway = ctx.config.leeway.as_secs().min(MAX_LEEWAY_SECS);
        ctx.verified.insert(
            token,
            Verified {
                caller: caller.clone(),
                valid_until: exp.saturating_add(leeway),
                kid,
                key,
            },
        );
    }
    Ok(caller)
}

/// The credentials of an `Authorization: Bearer …` header (RFC 6750 §2.1).
///
/// `None` when there is no Authorization header; a header of another scheme or
/// several headers are invalid, not absent, so the client learns its mistake.
fn bearer(parts: &Parts) -> Result<Option<&str>, Error> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(refuse(
            "the token is malformed",
            "several Authorization headers",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| refuse("the token is malformed", "non-ASCII Authorization"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| refuse("the token is malformed", "no scheme"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(refuse("the token is malformed", "not a Bearer credential"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(refuse("the token is malformed", "empty token"));
    }
    Ok(Some(token))
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    ApiContext: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?.ok_or(Error::MissingToken)?;
        let ctx = ApiContext::from_ref(state);
        verify(&ctx, token).await
    }
}

/// A scope a handler can demand through [`Scoped`].
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// `read:timesheets`: see one's own entries.
pub struct Read;
/// `create:timesheets`: add and edit one's entries.
pub struct Create;
/// `delete:timesheets`: delete one's entries.
pub struct Delete;
/// `approve:timesheets`: see and decide others' submitted entries.
pub struct Approve;

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}
impl RequiredScope for Create {
    const SCOPE: Scope = Scope::Create;
}
impl RequiredScope for Delete {
    const SCOPE: Scope = Scope::Delete;
}
impl RequiredScope for Approve {
    const SCOPE: Scope = Scope::Approve;
}

/// A caller whose token grants the scope `S`; dereferences to the [`Caller`].
///
/// Taking `Scoped<Approve>` rather than checking inside the handler means the
/// check cannot be forgotten and the signature documents it.
pub struct Scoped<S> {
    /// Who is calling.
    pub caller: Caller,
    scope: PhantomData<fn() -> S>,
}

impl<S> Deref for Scoped<S> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<St, S> FromRequestParts<St> for Scoped<S>
where
    St: Send + Sync,
    S: RequiredScope,
    ApiContext: FromRef<St>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.scopes.contains(S::SCOPE) {
            tracing::debug!(scope = %S::SCOPE, "refused: scope not granted");
            return Err(Error::InsufficientScope(S::SCOPE));
        }
        Ok(Scoped {
            caller,
            scope: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_must_say_access_token() {
        assert!(typ_allowed(Some("at+jwt"), false));
        assert!(typ_allowed(Some("AT+JWT"), false));
        assert!(typ_allowed(Some("application/at+jwt"), false));
        assert!(!typ_allowed(Some("JWT"), false));
        assert!(typ_allowed(Some("JWT"), true));
        assert!(typ_allowed(None, true));
        assert!(!typ_allowed(None, false));
        assert!(!typ_allowed(Some("dpop+jwt"), true));
    }
}

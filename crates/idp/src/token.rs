//! The token endpoint: `authorization_code` (with PKCE) and `refresh_token`
//! grants, answered as RFC 6749 §5.1 JSON or §5.2 errors, never cached.
//!
//! A code is redeemed once, by the client it was issued to, with the same
//! redirect URI, and with the PKCE verifier whose SHA-256 is the challenge sent to
//! `/authorize`. A refresh token is rotated on every use (see [`crate::refresh`]).
//!
//! Each client address has a request rate (see [`crate::limits`]); beyond it the
//! answer is 429 with `Retry-After` and an OAuth-style JSON error.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::claims::{self, AccessClaims, IdClaims};
use crate::client_auth;
use crate::code::Redemption;
use crate::config::Client;
use crate::limits::ClientAddr;
use crate::oauth_error::{no_store, OAuthError};
use crate::params::Params;
use crate::pkce;
use crate::refresh::{Family, Rotation};
use crate::scope::Scopes;
use crate::secret::{digest, random_token, Secret};
use crate::users::User;
use crate::{now_ms, now_s, IdentityProvider};

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    State(idp): State<IdentityProvider>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(wait) = idp.inner.rates.token.check(client) {
        tracing::info!(%client, "token request refused: too many from this address");
        return OAuthError::too_many_requests(wait).into_response();
    }
    match handle(&idp, &headers, &body).await {
        Ok(response) => (StatusCode::OK, no_store(), Json(response)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    idp: &IdentityProvider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    require_form(headers)?;
    let mut params = Params::parse(body);
    let client = client_auth::authenticate(idp.config(), headers, &params)?;
    if let Some(name) = params.repeated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} was sent more than once"
        )));
    }
    match params.get("grant_type") {
        Some("authorization_code") => exchange_code(idp, client, &mut params).await,
        Some("refresh_token") => refresh(idp, client, &mut params).await,
        Some(other) => Err(OAuthError::unsupported_grant_type(format!(
            "grant_type {other:?} is not supported; use authorization_code or refresh_token"
        ))),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

/// Token and revocation requests must be form-encoded (RFC 6749 §4.1.3); say so
/// plainly to a client that sends JSON.
pub(crate) fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(format!(
            "the body must be application/x-www-form-urlencoded, not {mime:?}"
        )))
    }
}

async fn exchange_code(
    idp: &IdentityProvider,
    client: &Client,
    params: &mut Params,
) -> Result<TokenResponse, OAuthError> {
    let code = Secret::new(
        params
            .take("code")
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?,
    );
    let redirect_uri = params
        .get("redirect_uri")
        .map(str::to_owned)
        .ok_or_else(|| {
            OAuthError::invalid_request(
                "redirect_uri is required and must equal the one sent to /authorize",
            )
        })?;
    let verifier = params.take("code_verifier").map(Secret::new);

    let code_digest = digest(code.expose());
    let grant = match idp.inner.codes.redeem(&code_digest) {
        Redemption::Fresh(grant) => grant,
        Redemption::Expired => {
            return Err(OAuthError::invalid_grant(
                "the authorization code has expired; sign in again",
            ))
        }
        Redemption::Unknown => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is not valid",
            ))
        }
        Redemption::Replayed { family_id } => {
            tracing::warn!(family = %family_id, client = %client.client_id, "authorization code replayed; revoking the refresh tokens it issued");
            idp.inner
                .refresh
                .revoke_family(&family_id, now_ms())
                .await?;
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued with it are revoked",
            ));
        }
    };
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the one sent to /authorize",
        ));
    }
    let Some(verifier) = verifier else {
        return Err(OAuthError::invalid_grant(
            "code_verifier is required: this provider requires PKCE",
        ));
    };
    if !pkce::is_valid_verifier(verifier.expose()) {
        return Err(OAuthError::invalid_grant(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    if !pkce::verify(verifier.expose(), &grant.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge sent to /authorize",
        ));
    }
    let user = idp
        .user_by_sub(&grant.sub)
        .ok_or_else(|| OAuthError::invalid_grant("the user who signed in no longer exists"))?;

    let refresh_token = if grant.scope.contains("offline_access") {
        let token = random_token();
        let family = Family {
            id: grant.family_id.clone(),
            client_id: grant.client_id.clone(),
            sub: grant.sub.clone(),
            scope: grant.scope.to_param(),
            audience: grant.audience.clone(),
            auth_time: grant.auth_time,
        };
        idp.inner
            .refresh
            .create_family(
                &family,
                &digest(&token),
                now_ms(),
                idp.config().refresh_absolute_lifetime,
            )
            .await?;
        // A replay that raced this redemption may have revoked the family before
        // it existed; revoke it now instead.
        if idp.inner.codes.was_replayed(&code_digest) {
            idp.inner
                .refresh
                .revoke_family(&family.id, now_ms())
                .await?;
            return Err(OAuthError::invalid_grant(
                "the authorization code was used twice; the tokens issued with it are revoked",
            ));
        }
        Some(token)
    } else {
        None
    };

    let response = issue(
        idp,
        Grant {
            user,
            client_id: &client.client_id,
            scope: &grant.scope,
            audience: &grant.audience,
            nonce: grant.nonce.as_deref(),
            auth_time: grant.auth_time,
        },
        refresh_token,
    )?;
    tracing::info!(sub = %user.sub, client = %client.client_id, scope = %response.scope, "authorization code exchanged");
    Ok(response)
}

async fn refresh(
    idp: &IdentityProvider,
    client: &Client,
    params: &mut Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = Secret::new(
        params
            .take("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?,
    );
    let requested = params
        .get("scope")
        .map(Scopes::parse)
        .transpose()
        .map_err(OAuthError::invalid_scope)?;
    let presented_digest = digest(presented.expose());

    // Check a narrowed scope before spending the token, so a bad request does not
    // cost the client its refresh token.
    if let Some(requested) = &requested {
        if let Some(family) = idp.inner.refresh.family_of(&presented_digest).await? {
            let granted = Scopes::from_names(family.scope.split(' '));
            if !requested.is_subset(&granted) {
                return Err(OAuthError::invalid_scope(format!(
                    "a refresh may narrow the scope but not widen it; granted: {:?}",
                    granted.to_param()
                )));
            }
        }
    }

    let next = random_token();
    let rotation = idp
        .inner
        .refresh
        .rotate(
            &presented_digest,
            &digest(&next),
            &client.client_id,
            now_ms(),
            idp.config().refresh_reuse_interval,
        )
        .await?;
    let family = match rotation {
        Rotation::Rotated(family) => family,
        Rotation::Unknown => {
            return Err(OAuthError::invalid_grant("the refresh token is not valid"))
        }
        Rotation::Revoked => {
            return Err(OAuthError::invalid_grant(
                "the refresh token has been revoked; sign in again",
            ))
        }
        Rotation::Expired => {
            return Err(OAuthError::invalid_grant(
                "the refresh token has expired; sign in again",
            ))
        }
        Rotation::WrongClient => {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            ))
        }
        Rotation::Reused { family_id } => {
            tracing::warn!(family = %family_id, client = %client.client_id, "refresh token reused; revoked its whole family");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used, so every token from this sign-in is now revoked; sign in again",
            ));
        }
    };

    let Some(user) = idp.user_by_sub(&family.sub) else {
        idp.inner
            .refresh
            .revoke_family(&family.id, now_ms())
            .await?;
        return Err(OAuthError::invalid_grant(
            "the user who signed in no longer exists",
        ));
    };
    let granted = Scopes::from_names(family.scope.split(' '));
    let scope = requested
        .unwrap_or_else(|| granted.clone())
        .intersection(&granted)
        .intersection(&Scopes::allowed_for(&user.scopes));
    let response = issue(
        idp,
        Grant {
            user,
            client_id: &client.client_id,
            scope: &scope,
            audience: &family.audience,
            nonce: None,
            auth_time: family.auth_time,
        },
        Some(next),
    )?;
    tracing::info!(sub = %user.sub, client = %client.client_id, family = %family.id, "refresh token rotated");
    Ok(response)
}

/// Who and what the tokens of one response are for.
struct Grant<'a> {
    user: &'a User,
    client_id: &'a str,
    scope: &'a Scopes,
    audience: &'a str,
    nonce: Option<&'a str>,
    auth_time: i64,
}

/// Mints the access token (and the ID token when `openid` was granted).
fn issue(
    idp: &IdentityProvider,
    grant: Grant<'_>,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let Grant {
        user,
        client_id,
        scope,
        audience,
        nonce,
        auth_time,
    } = grant;
    let config = idp.config();
    let issuer = config.issuer.as_str();
    let now = now_s();
    let ttl = config.access_token_ttl.as_secs().max(1);
    let exp = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let access = AccessClaims {
        iss: issuer.to_owned(),
        sub: user.sub.clone(),
        aud: audience.to_owned(),
        client_id: client_id.to_owned(),
        scope: scope.to_param(),
        iat: now,
        nbf: now,
        exp,
        jti: claims::new_jti(),
        email: user.email.clone(),
        name: user.name.clone(),
    };
    let access_token = idp.inner.key.sign(claims::ACCESS_TOKEN_TYP, &access)?;
    let id_token = if scope.contains("openid") {
        let id = IdClaims {
            iss: issuer,
            sub: &user.sub,
            aud: client_id,
            iat: now,
            exp,
            auth_time,
            nonce,
            email: &user.email,
            name: &user.name,
        };
        Some(idp.inner.key.sign(claims::ID_TOKEN_TYP, &id)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: access.scope,
        refresh_token,
        id_token,
    })
}

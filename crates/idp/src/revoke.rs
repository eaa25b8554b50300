//! The revocation endpoint (RFC 7009): sign-out for refresh tokens.
//!
//! Revoking a refresh token revokes its whole family, so no token from that
//! sign-in refreshes again. Access tokens are self-contained JWTs that the API
//! checks offline; they cannot be recalled and simply expire, so revoking one is
//! accepted and does nothing. An unknown token is answered with 200 as RFC 7009
//! §2.2 requires: the client's goal, that the token be unusable, is met.
//!
//! It shares the token endpoint's request rate per client address: both look a
//! token up in the database.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::client_auth;
use crate::limits::ClientAddr;
use crate::oauth_error::{no_store, OAuthError};
use crate::params::Params;
use crate::refresh::Revocation;
use crate::secret::{digest, Secret};
use crate::token::require_form;
use crate::{now_ms, IdentityProvider};

/// `POST /oauth/revoke`.
pub(crate) async fn revoke(
    State(idp): State<IdentityProvider>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(wait) = idp.inner.rates.token.check(client) {
        tracing::info!(%client, "revoke request refused: too many from this address");
        return OAuthError::too_many_requests(wait).into_response();
    }
    match handle(&idp, &headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    idp: &IdentityProvider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    require_form(headers)?;
    let mut params = Params::parse(body);
    let client = client_auth::authenticate(idp.config(), headers, &params)?;
    if let Some(name) = params.repeated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} was sent more than once"
        )));
    }
    let token = Secret::new(
        params
            .take("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?,
    );
    // The hint only speeds up a lookup; there is one kind of token to look up.
    match params.get("token_type_hint") {
        None | Some("refresh_token") | Some("access_token") => {}
        Some(other) => {
            tracing::debug!(hint = other, "ignoring unknown token_type_hint");
        }
    }
    let outcome = idp
        .inner
        .refresh
        .revoke_by_token(&digest(token.expose()), &client.client_id, now_ms())
        .await?;
    match outcome {
        Revocation::Revoked => {
            tracing::info!(client = %client.client_id, "refresh token family revoked");
            Ok(())
        }
        Revocation::Unknown => Ok(()),
        Revocation::WrongClient => Err(OAuthError::unauthorized_client(
            "the token was issued to another client",
        )),
    }
}

//! The caller as a person: `GET /v1/me` and `PUT /v1/me`.
//!
//! Access tokens from most providers carry no `name` or `email`, so without more a
//! manager would see `auth0|65f…` for every employee. The app therefore presents
//! the ID token it got at sign-in; the API keeps the name it carries only after
//! checking it as strictly as an access token:
//!
//! - the header passes the same allow-list (asymmetric algorithm, no `crit`), and
//!   its `typ`, when present, is `JWT` (an access token is never an ID token);
//! - the signature verifies with a key from the issuer's key set;
//! - `iss` is the configured issuer exactly; `aud` holds one of the desktop app's
//!   client ids (and `azp` is one of them when there are several audiences);
//! - `exp`, `nbf` and `iat` hold, with the usual leeway;
//! - `sub` equals the access token's: a person can set no one's name but their own,
//!   and only to what the provider signed.
//!
//! Precedence: a `name`/`email` in the access token itself wins over the ID
//! token's; with neither, the name is the `sub`.

use super::auth::{checked_header, verified_claims, Caller, Claims};
use super::extract::Json;
use super::ApiContext;
use crate::Error;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use timesheets_core::validation::readable_text;
use timesheets_core::{ErrorBody, IdTokenPresentation, Person};

pub(crate) fn router() -> Router<ApiContext> {
    Router::new().route("/v1/me", get(show).put(present))
}

/// Who the caller is, as managers see them.
#[utoipa::path(get, path = "/v1/me", tag = "people",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's name and email", body = Person),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub(crate) async fn show(
    State(ctx): State<ApiContext>,
    caller: Caller,
) -> Result<Json<Person>, Error> {
    if caller.token_name.is_none() {
        if let Some(person) = ctx.store.person(&caller.sub).await? {
            return Ok(Json(person));
        }
    }
    Ok(Json(Person {
        sub: caller.sub,
        name: caller.name,
        email: caller.token_email,
    }))
}

/// Present the ID token from sign-in, so managers see the caller's real name.
#[utoipa::path(put, path = "/v1/me", tag = "people",
    request_body = IdTokenPresentation,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The name and email now on record", body = Person),
        (status = 400, description = "A malformed body", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 422, description = "The ID token was refused; the message says why", body = ErrorBody),
        (status = 503, description = "The issuer's keys cannot be had right now", body = ErrorBody),
    ))]
pub(crate) async fn present(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Json(body): Json<IdTokenPresentation>,
) -> Result<Json<Person>, Error> {
    let id = verify_id_token(&ctx, &body.id_token, &caller.sub).await?;
    // Signed is not the same as fit to show: a name that reorders the text
    // around it would mislead the managers who read it.
    for claim in ["name", "email"] {
        if let Some(text) = id.other.get(claim).and_then(serde_json::Value::as_str) {
            readable_text(claim, text)?;
        }
    }
    let person = Person {
        name: caller
            .token_name
            .clone()
            .or_else(|| id.text("name"))
            .or_else(|| caller.token_email.clone())
            .or_else(|| id.text("email"))
            .unwrap_or_else(|| caller.sub.clone()),
        email: caller.token_email.clone().or_else(|| id.text("email")),
        sub: caller.sub,
    };
    ctx.store.save_person(&person).await?;
    tracing::info!("a person's verified name was recorded");
    Ok(Json(person))
}

/// An ID token that failed a check: 422 naming `id_token`, with the reason.
fn refused(description: &str) -> Error {
    Error::invalid(
        "id_token",
        format!(
            "was refused: {}",
            description.replace("the token", "the ID token")
        ),
    )
}

/// Checks `token` as described in the module docs and returns its claims.
async fn verify_id_token(ctx: &ApiContext, token: &str, sub: &str) -> Result<Claims, Error> {
    let header = checked_header(token).map_err(|r| refused(r.description))?;
    let typ_ok = header.typ.as_deref().is_none_or(|typ| {
        let typ = typ.to_ascii_lowercase();
        typ.strip_prefix("application/").unwrap_or(&typ) == "jwt"
    });
    if !typ_ok {
        return Err(refused("the token is not an ID token"));
    }
    let (claims, _key) = verified_claims(ctx, token, &header, &ctx.config.client_ids)
        .await
        .map_err(|e| match e {
            Error::InvalidToken(description) => refused(description),
            other => other,
        })?;
    if let Some(serde_json::Value::Array(audiences)) = claims.other.get("aud") {
        let azp = claims.other.get("azp").and_then(serde_json::Value::as_str);
        if audiences.len() > 1
            && !azp.is_some_and(|azp| ctx.config.client_ids.iter().any(|c| c == azp))
        {
            return Err(refused(
                "the token names several audiences and no known azp",
            ));
        }
    }
    if claims.sub != sub {
        return Err(refused("the token is about someone else"));
    }
    Ok(claims)
}

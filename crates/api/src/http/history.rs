//! An entry's history, from the audit trail the API writes with every change.

use super::auth::{Read, Scoped};
use super::extract::{EntryId, Json};
use super::ApiContext;
use crate::Error;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use timesheets_core::{EntryHistory, ErrorBody, Scope};

pub(crate) fn router() -> Router<ApiContext> {
    Router::new().route("/v1/entries/{id}/history", get(show))
}

/// The history of one of the caller's entries, or, with `approve:timesheets`,
/// of anyone's: who created, changed, submitted, withdrew and decided it, and
/// when, oldest first.
#[utoipa::path(get, path = "/v1/entries/{id}/history", tag = "entries",
    params(("id" = String, Path, description = "The entry's id (a UUID)")),
    security(("bearer" = ["read:timesheets"])),
    responses(
        (status = 200, description = "The entry's changes, oldest first", body = EntryHistory),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No read:timesheets", body = ErrorBody),
        (status = 404, description = "No such entry the caller may see", body = ErrorBody),
    ))]
pub(crate) async fn show(
    State(ctx): State<ApiContext>,
    caller: Scoped<Read>,
    EntryId(id): EntryId,
) -> Result<Json<EntryHistory>, Error> {
    let may_decide = caller.scopes.contains(Scope::Approve);
    let events = ctx.store.history(&caller.sub, may_decide, &id).await?;
    Ok(Json(EntryHistory { events }))
}

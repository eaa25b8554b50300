//! Deciding others' entries: the queue of submitted ones, and approve or reject.

use super::auth::{Approve, Scoped};
use super::entries::checked_range;
use super::extract::{EntryId, Json, Query};
use super::ApiContext;
use crate::store::EntryListJson;
use crate::Error;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use timesheets_core::validation::date;
use timesheets_core::{DecisionRequest, Entry, EntryList, ErrorBody};
use utoipa::IntoParams;

pub(crate) fn router() -> Router<ApiContext> {
    Router::new()
        .route("/v1/approvals", get(list))
        .route("/v1/entries/{id}/decision", post(decide))
}

/// Optional bounds on the days listed, both included.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OptionalRange {
    /// The first day, `YYYY-MM-DD`.
    #[param(format = Date, example = "2026-11-23")]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD`.
    #[param(format = Date, example = "2026-11-29")]
    to: Option<String>,
}

/// List other people's entries awaiting a decision, by person then date.
#[utoipa::path(get, path = "/v1/approvals", tag = "approvals", params(OptionalRange),
    security(("bearer" = ["approve:timesheets"])),
    responses(
        (status = 200, description = "Submitted entries of others", body = EntryList),
        (status = 400, description = "A malformed query, naming the parameter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No approve:timesheets", body = ErrorBody),
        (status = 422, description = "A bad date or range, naming from or to", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(ctx): State<ApiContext>,
    caller: Scoped<Approve>,
    Query(range): Query<OptionalRange>,
) -> Result<EntryListJson, Error> {
    let from = range.from.as_deref().map(|d| date("from", d)).transpose()?;
    let to = range.to.as_deref().map(|d| date("to", d)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        checked_range(from, to)?;
    }
    ctx.store.awaiting_decision(&caller.sub, from, to).await
}

/// Approve or reject someone else's submitted entry. A rejection says why.
#[utoipa::path(post, path = "/v1/entries/{id}/decision", tag = "approvals",
    request_body = DecisionRequest,
    params(("id" = String, Path, description = "The entry's id (a UUID)")),
    security(("bearer" = ["approve:timesheets"])),
    responses(
        (status = 200, description = "The entry, decided", body = Entry),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No approve:timesheets, or the caller's own entry", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
        (status = 409, description = "A draft, already decided, or changed since `seen_updated_at`", body = ErrorBody),
        (status = 422, description = "Not approve or reject, or a rejection without a reason (1 to 500 characters)", body = ErrorBody),
    ))]
pub(crate) async fn decide(
    State(ctx): State<ApiContext>,
    caller: Scoped<Approve>,
    EntryId(id): EntryId,
    Json(body): Json<DecisionRequest>,
) -> Result<Json<Entry>, Error> {
    let reason = body.validate()?;
    let entry = ctx
        .store
        .decide(
            &caller.sub,
            &id,
            body.decision,
            body.seen_updated_at,
            reason.as_deref(),
        )
        .await?;
    Ok(Json(entry))
}

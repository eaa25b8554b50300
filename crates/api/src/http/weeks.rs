//! Submitting one's week for approval, and withdrawing it while undecided.
//!
//! Hours are drafts while their owner fills the week in; one action sends the
//! week's drafts (and the rejected entries, fixed or not) to the managers.

use super::auth::{Create, Scoped};
use super::ApiContext;
use crate::store::EntryListJson;
use crate::Error;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use chrono::NaiveDate;
use timesheets_core::validation::monday;
use timesheets_core::{EntryList, ErrorBody};

pub(crate) fn router() -> Router<ApiContext> {
    Router::new()
        .route("/v1/weeks/{week}/submit", post(submit))
        .route("/v1/weeks/{week}/withdraw", post(withdraw))
}

/// The Monday in the path, or an error naming `week`.
fn week(raw: &str) -> Result<NaiveDate, Error> {
    Ok(monday("week", raw)?)
}

/// Submit the caller's week: its drafts and rejected entries go to the managers,
/// read-only until decided or withdrawn. Answers the week's entries.
#[utoipa::path(post, path = "/v1/weeks/{week}/submit", tag = "entries",
    params(("week" = String, Path, format = Date, description = "The week's Monday, YYYY-MM-DD")),
    security(("bearer" = ["create:timesheets"])),
    responses(
        (status = 200, description = "The week's entries, submitted", body = EntryList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No create:timesheets", body = ErrorBody),
        (status = 409, description = "Nothing in the week to submit", body = ErrorBody),
        (status = 422, description = "Not a Monday, naming week", body = ErrorBody),
    ))]
pub(crate) async fn submit(
    State(ctx): State<ApiContext>,
    caller: Scoped<Create>,
    Path(raw): Path<String>,
) -> Result<EntryListJson, Error> {
    let monday = week(&raw)?;
    ctx.store.submit_week(&caller.sub, monday).await?;
    week_entries(&ctx, &caller.sub, monday).await
}

/// Withdraw the caller's submission of a week: what still waits for a decision
/// is a draft again. Decided entries stay as they are. Answers the week's entries.
#[utoipa::path(post, path = "/v1/weeks/{week}/withdraw", tag = "entries",
    params(("week" = String, Path, format = Date, description = "The week's Monday, YYYY-MM-DD")),
    security(("bearer" = ["create:timesheets"])),
    responses(
        (status = 200, description = "The week's entries, withdrawn", body = EntryList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No create:timesheets", body = ErrorBody),
        (status = 409, description = "Nothing in the week waits for a decision", body = ErrorBody),
        (status = 422, description = "Not a Monday, naming week", body = ErrorBody),
    ))]
pub(crate) async fn withdraw(
    State(ctx): State<ApiContext>,
    caller: Scoped<Create>,
    Path(raw): Path<String>,
) -> Result<EntryListJson, Error> {
    let monday = week(&raw)?;
    ctx.store.withdraw_week(&caller.sub, monday).await?;
    week_entries(&ctx, &caller.sub, monday).await
}

async fn week_entries(
    ctx: &ApiContext,
    owner: &str,
    monday: NaiveDate,
) -> Result<EntryListJson, Error> {
    ctx.store
        .own_entries(owner, monday, monday + chrono::Days::new(6))
        .await
}

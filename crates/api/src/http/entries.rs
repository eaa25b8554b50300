//! One's own entries: list a date range, create, edit, delete.

use super::auth::{Create, Delete, Read, Scoped};
use super::extract::{EntryId, IdempotencyKey, Json, Query};
use super::ApiContext;
use crate::store::{CreateEntry, EntryListJson};
use crate::Error;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::Router;
use chrono::NaiveDate;
use serde::Deserialize;
use timesheets_core::validation::date;
use timesheets_core::{EntryList, EntryPatch, ErrorBody, NewEntry};
use utoipa::IntoParams;

/// The longest range one list may span, in days: a (leap) year.
const MAX_RANGE_DAYS: i64 = 366;

pub(crate) fn router() -> Router<ApiContext> {
    Router::new()
        .route("/v1/entries", get(list).post(create))
        .route("/v1/entries/{id}", patch(update).delete(remove))
}

/// The days to list, both included.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Range {
    /// The first day, `YYYY-MM-DD`.
    #[param(format = Date, example = "2026-11-23")]
    from: String,
    /// The last day, `YYYY-MM-DD`; at most 366 days after `from`'s day count.
    #[param(format = Date, example = "2026-11-29")]
    to: String,
}

/// Checks a range: both dates real, in order, and not longer than a year.
pub(crate) fn checked_range(from: NaiveDate, to: NaiveDate) -> Result<(), Error> {
    if to < from {
        return Err(Error::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
        return Err(Error::invalid(
            "to",
            format!("a range spans at most {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok(())
}

/// List the caller's entries between two dates, by date then project.
#[utoipa::path(get, path = "/v1/entries", tag = "entries", params(Range),
    security(("bearer" = ["read:timesheets"])),
    responses(
        (status = 200, description = "The caller's entries", body = EntryList),
        (status = 400, description = "A malformed query, naming the parameter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No read:timesheets", body = ErrorBody),
        (status = 422, description = "A bad date or range, naming from or to", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(ctx): State<ApiContext>,
    caller: Scoped<Read>,
    Query(range): Query<Range>,
) -> Result<EntryListJson, Error> {
    let from = date("from", &range.from)?;
    let to = date("to", &range.to)?;
    checked_range(from, to)?;
    ctx.store.own_entries(&caller.sub, from, to).await
}

/// Create an entry for the caller, as a draft until the week is submitted.
///
/// With an `Idempotency-Key`, a retry returns the first answer and creates nothing.
#[utoipa::path(post, path = "/v1/entries", tag = "entries", request_body = NewEntry,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 255 visible ASCII characters; retries with the same key and body return the first entry")),
    security(("bearer" = ["create:timesheets"])),
    responses(
        (status = 201, description = "The entry, as created", body = timesheets_core::Entry),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No create:timesheets", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body not JSON", body = ErrorBody),
        (status = 422, description = "A rule broken, naming the field (24 hours a day at most names hours)", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(ctx): State<ApiContext>,
    caller: Scoped<Create>,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<NewEntry>,
) -> Result<impl IntoResponse, Error> {
    let entry = body.validate()?;
    let created = ctx
        .store
        .create(CreateEntry {
            owner: caller.sub.clone(),
            owner_name: caller.name.clone(),
            entry,
            idempotency_key: key,
        })
        .await?
        .into_entry();
    let location = format!("/v1/entries/{}", created.id);
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(created)))
}

/// Edit one of the caller's draft or rejected entries, which is a draft
/// afterwards. A submitted entry waits for its decision unchanged (withdraw the
/// week to change it); an approved one cannot change.
#[utoipa::path(patch, path = "/v1/entries/{id}", tag = "entries", request_body = EntryPatch,
    params(("id" = String, Path, description = "The entry's id (a UUID)")),
    security(("bearer" = ["create:timesheets"])),
    responses(
        (status = 200, description = "The entry, as edited", body = timesheets_core::Entry),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No create:timesheets", body = ErrorBody),
        (status = 404, description = "No such entry of the caller's", body = ErrorBody),
        (status = 409, description = "The entry is submitted or approved", body = ErrorBody),
        (status = 422, description = "A rule broken, naming the field", body = ErrorBody),
    ))]
pub(crate) async fn update(
    State(ctx): State<ApiContext>,
    caller: Scoped<Create>,
    EntryId(id): EntryId,
    Json(body): Json<EntryPatch>,
) -> Result<Json<timesheets_core::Entry>, Error> {
    let patch = body.validate()?;
    let entry = ctx.store.update(&caller.sub, &id, patch).await?;
    Ok(Json(entry))
}

/// Delete one of the caller's entries, unless it is approved.
#[utoipa::path(delete, path = "/v1/entries/{id}", tag = "entries",
    params(("id" = String, Path, description = "The entry's id (a UUID)")),
    security(("bearer" = ["delete:timesheets"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No delete:timesheets", body = ErrorBody),
        (status = 404, description = "No such entry of the caller's", body = ErrorBody),
        (status = 409, description = "The entry is submitted or approved", body = ErrorBody),
    ))]
pub(crate) async fn remove(
    State(ctx): State<ApiContext>,
    caller: Scoped<Delete>,
    EntryId(id): EntryId,
) -> Result<StatusCode, Error> {
    ctx.store.delete(&caller.sub, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn ranges_span_a_year_at_most() {
        assert!(checked_range(day("2024-01-01"), day("2024-12-31")).is_ok());
        assert!(checked_range(day("2024-01-01"), day("2025-01-01")).is_err());
        assert!(checked_range(day("2026-01-02"), day("2026-01-01")).is_err());
        assert!(checked_range(day("2026-01-01"), day("2026-01-01")).is_ok());
    }
}

//! The API's settings the app shows: the week's expected hours.

use super::auth::{Read, Scoped};
use super::extract::Json;
use super::ApiContext;
use crate::Error;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use timesheets_core::{ErrorBody, Settings};

pub(crate) fn router() -> Router<ApiContext> {
    Router::new().route("/v1/settings", get(show))
}

/// The hours a full week is expected to hold, set on the server for everyone,
/// so every app shows the same target.
#[utoipa::path(get, path = "/v1/settings", tag = "settings",
    security(("bearer" = ["read:timesheets"])),
    responses(
        (status = 200, description = "The settings", body = Settings),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "No read:timesheets", body = ErrorBody),
    ))]
pub(crate) async fn show(
    State(ctx): State<ApiContext>,
    _caller: Scoped<Read>,
) -> Result<Json<Settings>, Error> {
    Ok(Json(Settings {
        weekly_target_hours: ctx.config.weekly_target_hours,
    }))
}

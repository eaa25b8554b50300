//! The OpenAPI 3 document, generated from the handlers and the core types so it
//! cannot drift from the code; served at `/openapi.json` without a token.

use super::extract::Json;
use std::sync::LazyLock;
use timesheets_core::{
    Decision, DecisionRequest, Entry, EntryHistory, EntryList, EntryPatch, ErrorBody, HistoryEvent,
    IdTokenPresentation, NewEntry, Person, Settings, Status,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API's OpenAPI document; `ApiDoc::openapi()` builds it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Timesheets API",
        description = "Timesheet entries and their approval. Every /v1 call needs a bearer \
                       access token (RFC 9068) from the configured issuer, with the scope \
                       each operation names."
    ),
    paths(
        super::healthz,
        super::entries::list,
        super::entries::create,
        super::entries::update,
        super::entries::remove,
        super::weeks::submit,
        super::weeks::withdraw,
        super::history::show,
        super::settings::show,
        super::approvals::list,
        super::approvals::decide,
        super::me::show,
        super::me::present,
    ),
    components(schemas(Entry, EntryList, EntryHistory, HistoryEvent, Settings, NewEntry, EntryPatch, DecisionRequest, Decision, Status, ErrorBody, Person, IdTokenPresentation)),
    modifiers(&BearerAuth),
    tags(
        (name = "entries", description = "One's own entries"),
        (name = "approvals", description = "Deciding others' entries"),
        (name = "people", description = "The caller's verified name"),
        (name = "settings", description = "The API's settings the app shows"),
        (name = "health", description = "Liveness"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the operations' `security` refers to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// Serves the document.
pub(crate) async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

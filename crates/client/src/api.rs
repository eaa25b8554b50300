//! The timesheet API, as the app calls it.
//!
//! [`ApiClient`] has one method per endpoint. It attaches the session's bearer
//! token (the front end never sees it), and when the API answers 401
//! `invalid_token` it renews the token once and retries once, so a token revoked
//! or expired early costs the person nothing. Failures become the crate's
//! [`Error`], with the missing scope or the offending field named. Inputs are
//! checked with the same rules the API applies ([`timesheets_core::validation`])
//! before anything is sent.
//!
//! Approving or rejecting many entries at once is [`ApiClient::decide`], which
//! runs the requests concurrently (a few at a time) and reports each entry's
//! outcome, so one failure does not hide the others' success.
//!
//! When the API cannot be reached, the session is marked offline and a background
//! probe asks the API again with backoff (1 s, 2 s, 4 s, … up to 30 s) until it
//! answers; then the session is online again, which the window takes as its cue to
//! resend what failed. Being offline never signs anyone out.
//!
//! An API that answers 503 `temporarily_unavailable` is not offline: it is
//! reachable but cannot verify sign-ins (it cannot get its issuer's keys). The
//! session is marked `cannot_verify` instead, callers get [`Error::Unavailable`],
//! and a probe asks `GET /v1/me` with backoff until a token is judged again.
//!
//! After each sign-in the ID token is presented once ([`ApiClient::present_identity`]),
//! so managers see the person's name even when access tokens carry none.

use crate::error::Error;
use crate::secret::Secret;
use crate::session::Session;
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use timesheets_core::{
    Decision, DecisionRequest, Entry, EntryList, EntryPatch, ErrorBody, IdTokenPresentation,
    NewEntry, Person, Settings,
};
use url::Url;

/// How many decisions are sent at once.
const DECIDE_CONCURRENCY: usize = 4;

/// The timesheet API client. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    session: Session,
    http: reqwest::Client,
    base: Arc<Url>,
    /// Whether the last request failed to reach the API.
    down: Arc<AtomicBool>,
    /// Whether a probe is already waiting for the API to come back (one at a time).
    probing: Arc<AtomicBool>,
    /// Whether the last answer was "cannot verify sign-ins right now".
    unverifiable: Arc<AtomicBool>,
    /// Whether a probe is already waiting for the API to verify tokens again.
    probing_verification: Arc<AtomicBool>,
    /// Each submitted entry's `updated_at` as the approval list last showed it, sent
    /// with a decision so the API refuses one on hours the manager never saw.
    seen: Arc<std::sync::Mutex<std::collections::HashMap<String, DateTime<Utc>>>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// What happened to one entry of [`ApiClient::decide`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionOutcome {
    /// The entry's id.
    pub id: String,
    /// The entry as it now stands, when the decision was recorded.
    pub entry: Option<Entry>,
    /// Why not, when it was not.
    pub error: Option<crate::ErrorView>,
}

/// A request body as JSON bytes.
fn json<T: Serialize>(value: &T) -> Result<Option<Vec<u8>>, Error> {
    serde_json::to_vec(value)
        .map(Some)
        .map_err(|e| Error::unknown(format!("The request could not be encoded: {e}")))
}

impl ApiClient {
    pub(crate) fn new(session: Session, http: reqwest::Client, base: Url) -> Self {
        // A base with a path (https://host/timesheets) must end in a slash for
        // relative joins to keep that path.
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        ApiClient {
            session,
            http,
            base: Arc::new(base),
            down: Arc::new(AtomicBool::new(false)),
            probing: Arc::new(AtomicBool::new(false)),
            unverifiable: Arc::new(AtomicBool::new(false)),
            probing_verification: Arc::new(AtomicBool::new(false)),
            seen: Arc::default(),
        }
    }

    /// Marks the session offline and, unless one already runs, starts the probe
    /// that marks it online again once the API answers.
    fn went_offline(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.session.note_reachable(false);
        if self.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let api = self.clone();
        tokio::spawn(async move {
            loop {
                api.probe().await;
                api.probing.store(false, Ordering::SeqCst);
                // A call that failed while this probe was finishing found it still
                // running and started none: carry on for it.
                if !api.down.load(Ordering::SeqCst) || api.probing.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
        });
    }

    /// Asks the API with backoff until it answers, a call gets through, or the
    /// session ends (then nothing waits to be resent).
    async fn probe(&self) {
        let mut failures = 0u32;
        while self.down.load(Ordering::SeqCst) {
            failures = failures.saturating_add(1);
            tokio::time::sleep(crate::session::backoff(failures)).await;
            if self.session.view().state != crate::SessionState::SignedIn {
                // Nothing waits to be resent; the next call finds out afresh.
                self.down.store(false, Ordering::SeqCst);
                return;
            }
            if self.down.load(Ordering::SeqCst) && self.answers().await {
                tracing::info!("the timesheet server answers again");
                self.reached();
            }
        }
    }

    /// The API answered: online again, as far as the API is concerned.
    fn reached(&self) {
        self.down.store(false, Ordering::SeqCst);
        self.session.note_reachable(true);
    }

    /// Whether the API answers at all: any HTTP answer to its base URL (even 404)
    /// but a gateway's "unavailable". Sends no token.
    async fn answers(&self) -> bool {
        match self.http.get((*self.base).clone()).send().await {
            Ok(response) => !unavailable(response.status()),
            Err(_) => false,
        }
    }

    /// Marks the session `cannot_verify` and, unless one already runs, starts the
    /// probe that clears it once the API judges a token again.
    fn went_unverifiable(&self) {
        self.unverifiable.store(true, Ordering::SeqCst);
        self.session.note_verifiable(false);
        if self.probing_verification.swap(true, Ordering::SeqCst) {
            return;
        }
        let api = self.clone();
        tokio::spawn(async move {
            let mut failures = 0u32;
            while api.unverifiable.load(Ordering::SeqCst) {
                failures = failures.saturating_add(1);
                tokio::time::sleep(crate::session::backoff(failures)).await;
                if api.session.view().state != crate::SessionState::SignedIn {
                    api.unverifiable.store(false, Ordering::SeqCst);
                    break;
                }
                if api.unverifiable.load(Ordering::SeqCst) {
                    // Any answer but "cannot verify" clears the flag (in `call`).
                    let _ = api.me().await;
                }
            }
            api.probing_verification.store(false, Ordering::SeqCst);
        });
    }

    /// The API judged a token again.
    fn verified(&self) {
        if self.unverifiable.swap(false, Ordering::SeqCst) {
            tracing::info!("the timesheet server verifies sign-ins again");
            self.session.note_verifiable(true);
        }
    }

    /// Who the API says the person is (`GET /v1/me`).
    pub async fn me(&self) -> Result<Person, Error> {
        let url = self.url(&["v1", "me"])?;
        self.call(Method::GET, url, None, None).await
    }

    /// Shows the API the ID token of this sign-in (`PUT /v1/me`), so that it
    /// records the person's name as the provider signed it.
    pub(crate) async fn present_identity(
        &self,
        id_token: &Secret<String>,
    ) -> Result<Person, Error> {
        let url = self.url(&["v1", "me"])?;
        let body = IdTokenPresentation {
            id_token: id_token.expose().clone(),
        };
        self.call(Method::PUT, url, json(&body)?, None).await
    }

    /// The person's own entries dated `from` to `to`, inclusive.
    pub async fn list_entries(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Entry>, Error> {
        let url = self.url_with_range(&["v1", "entries"], from, to)?;
        let list: EntryList = self.call(Method::GET, url, None, None).await?;
        Ok(list.entries)
    }

    /// Adds an entry. Checked locally first; retried safely (one `Idempotency-Key`).
    pub async fn create_entry(&self, entry: &NewEntry) -> Result<Entry, Error> {
        let key = uuid::Uuid::new_v4().to_string();
        self.create_entry_once(entry, &key).await
    }

    /// Adds an entry under the caller's `idempotency_key`: the front end keeps one key
    /// per edit, so a retry after a lost answer can never make a second entry.
    pub async fn create_entry_once(
        &self,
        entry: &NewEntry,
        idempotency_key: &str,
    ) -> Result<Entry, Error> {
        entry.validate().map_err(Error::from)?;
        let valid_key = !idempotency_key.is_empty()
            && idempotency_key.len() <= 255
            && idempotency_key.bytes().all(|b| b.is_ascii_graphic());
        if !valid_key {
            return Err(Error::Invalid {
                field: Some("Idempotency-Key".to_owned()),
                message: "Idempotency-Key: must be 1 to 255 visible ASCII characters".to_owned(),
            });
        }
        let url = self.url(&["v1", "entries"])?;
        self.call(Method::POST, url, json(entry)?, Some(idempotency_key))
            .await
    }

    /// Changes the fields present in `patch` of entry `id`.
    pub async fn update_entry(&self, id: &str, patch: &EntryPatch) -> Result<Entry, Error> {
        patch.validate().map_err(Error::from)?;
        let url = self.url(&["v1", "entries", id])?;
        self.call(Method::PATCH, url, json(patch)?, None).await
    }

    /// Deletes entry `id`.
    pub async fn delete_entry(&self, id: &str) -> Result<(), Error> {
        let url = self.url(&["v1", "entries", id])?;
        let _: Empty = self.call(Method::DELETE, url, None, None).await?;
        Ok(())
    }

    /// The API's settings the app shows (the week's expected hours).
    pub async fn settings(&self) -> Result<Settings, Error> {
        let url = self.url(&["v1", "settings"])?;
        self.call(Method::GET, url, None, None).await
    }

    /// Submits the person's week from `monday`: its drafts and rejected entries go
    /// to the managers. Answers the week's entries as they now stand.
    pub async fn submit_week(&self, monday: NaiveDate) -> Result<Vec<Entry>, Error> {
        self.move_week(monday, "submit").await
    }

    /// Withdraws the person's submission of the week from `monday`: what still
    /// waits for a decision is a draft again. Answers the week's entries.
    pub async fn withdraw_week(&self, monday: NaiveDate) -> Result<Vec<Entry>, Error> {
        self.move_week(monday, "withdraw").await
    }

    async fn move_week(&self, monday: NaiveDate, action: &str) -> Result<Vec<Entry>, Error> {
        let week = monday.format("%Y-%m-%d").to_string();
        timesheets_core::validation::monday("week", &week).map_err(Error::from)?;
        let url = self.url(&["v1", "weeks", &week, action])?;
        let list: EntryList = self.call(Method::POST, url, None, None).await?;
        Ok(list.entries)
    }

    /// Others' entries awaiting approval, dated `from` to `to` (needs `approve:timesheets`).
    pub async fn pending_approvals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Entry>, Error> {
        let url = self.url_with_range(&["v1", "approvals"], from, to)?;
        let list: EntryList = self.call(Method::GET, url, None, None).await?;
        if let Ok(mut seen) = self.seen.lock() {
            *seen = list
                .entries
                .iter()
                .map(|e| (e.id.clone(), e.updated_at))
                .collect();
        }
        Ok(list.entries)
    }

    /// Approves or rejects one entry. An entry shown by
    /// [`ApiClient::pending_approvals`] is decided only if it has not changed since
    /// (the API answers `conflict` otherwise). A rejection needs its `reason`.
    pub async fn decide_one(
        &self,
        id: &str,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<Entry, Error> {
        let url = self.url(&["v1", "entries", id, "decision"])?;
        let seen_updated_at = self
            .seen
            .lock()
            .ok()
            .and_then(|seen| seen.get(id).copied())
            .ok_or_else(|| Error::Conflict {
                message: "This entry was not on the approval list you saw. Reload the list \
                          and decide what it shows."
                    .into(),
            })?;
        let body = DecisionRequest {
            decision,
            seen_updated_at,
            reason: reason.map(str::to_owned),
        };
        body.validate().map_err(Error::from)?;
        self.call(Method::POST, url, json(&body)?, None).await
    }

    /// Approves or rejects each of `ids`, a few at a time; one outcome per id, in
    /// order. A rejection gives each the same `reason`.
    pub async fn decide(
        &self,
        ids: &[String],
        decision: Decision,
        reason: Option<&str>,
    ) -> Vec<DecisionOutcome> {
        let permits = Arc::new(tokio::sync::Semaphore::new(DECIDE_CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, id) in ids.iter().enumerate() {
            let api = self.clone();
            let id = id.clone();
            let permits = permits.clone();
            let reason = reason.map(str::to_owned);
            tasks.spawn(async move {
                let result = match permits.acquire_owned().await {
                    Ok(_permit) => api.decide_one(&id, decision, reason.as_deref()).await,
                    Err(_) => Err(Error::unknown("The request was cancelled.")),
                };
                (index, id, result)
            });
        }
        let mut outcomes: Vec<Option<DecisionOutcome>> = vec![None; ids.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, id, result)) = joined {
                let outcome = match result {
                    Ok(entry) => DecisionOutcome {
                        id,
                        entry: Some(entry),
                        error: None,
                    },
                    Err(error) => DecisionOutcome {
                        id,
                        entry: None,
                        error: Some(error.into()),
                    },
                };
                if let Some(slot) = outcomes.get_mut(index) {
                    *slot = Some(outcome);
                }
            }
        }
        outcomes
            .into_iter()
            .zip(ids)
            .map(|(outcome, id)| {
                outcome.unwrap_or_else(|| DecisionOutcome {
                    id: id.clone(),
                    entry: None,
                    error: Some(Error::unknown("The request was interrupted.").into()),
                })
            })
            .collect()
    }

    fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = (*self.base).clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| Error::config("TIMESHEETS_API_URL", "cannot take a path"))?;
            path.pop_if_empty();
            // Each segment is percent-encoded: an id cannot change the path.
            path.extend(segments);
        }
        Ok(url)
    }

    fn url_with_range(
        &self,
        segments: &[&str],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Url, Error> {
        let mut url = self.url(segments)?;
        url.query_pairs_mut()
            .append_pair("from", &from.format("%Y-%m-%d").to_string())
            .append_pair("to", &to.format("%Y-%m-%d").to_string());
        Ok(url)
    }

    /// Sends with the bearer token; on 401 renews once and retries once.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        let mut bearer = self.session.bearer().await?;
        let mut renewed = false;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(bearer.token.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    tracing::info!(%method, path = url.path(), error = %e.without_url(), "API unreachable");
                    self.went_offline();
                    return Err(Error::offline("the timesheet server"));
                }
            };
            let status = response.status();
            if !unavailable(status) {
                self.reached();
            }
            if status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::info!(%method, path = url.path(), "API refused the token; renewing once");
                bearer = self.session.renew_rejected(bearer.generation).await?;
                renewed = true;
                continue;
            }
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = response.bytes().await.map_err(|e| {
                tracing::info!(error = %e.without_url(), "API answer cut off");
                self.went_offline();
                Error::offline("the timesheet server")
            })?;
            if status.is_success() {
                self.verified();
                let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
                return serde_json::from_slice(bytes).map_err(|e| {
                    tracing::warn!(%method, path = url.path(), error = %e, "API answer not understood");
                    Error::unknown("The timesheet server's answer could not be read.")
                });
            }
            let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
            tracing::info!(%method, path = url.path(), %status, code = body.as_ref().map(|b| b.error.as_str()), "API refused");
            let error = api_error(status, body, challenge.as_deref());
            match &error {
                // The API itself answered: reachable, but it cannot judge tokens.
                Error::Unavailable { .. } => {
                    self.reached();
                    self.went_unverifiable();
                }
                // A proxy in front of a server that is down.
                Error::Offline { .. } => self.went_offline(),
                _ if status != StatusCode::UNAUTHORIZED => self.verified(),
                _ => {}
            }
            return Err(error);
        }
    }
}

/// Whether `status` says the server behind a gateway is down (502, 503, 504).
fn unavailable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

/// A response without a body (204).
struct Empty;

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Empty)
    }
}

/// The error for an API refusal: from its JSON body where it has one, else from
/// the status and the `WWW-Authenticate` challenge.
pub(crate) fn api_error(
    status: StatusCode,
    body: Option<ErrorBody>,
    challenge: Option<&str>,
) -> Error {
    let message = body
        .as_ref()
        .map(|b| b.message.trim())
        .filter(|m| !m.is_empty())
        .map(sentence);
    match status {
        StatusCode::UNAUTHORIZED => Error::unknown(
            "The timesheet server refused your sign-in even after it was renewed. \
             Check that the app and the server agree on the issuer and audience.",
        ),
        StatusCode::FORBIDDEN => {
            let scope = body
                .as_ref()
                .and_then(|b| b.scope.clone())
                .or_else(|| challenge.and_then(challenge_scope));
            let message = match &scope {
                Some(scope) => format!("You don't have the permission this needs ({scope})."),
                None => message.unwrap_or_else(|| "You are not allowed to do that.".into()),
            };
            Error::Forbidden { scope, message }
        }
        StatusCode::NOT_FOUND => Error::NotFound {
            message: "That entry no longer exists. It may have been deleted.".into(),
        },
        StatusCode::CONFLICT => Error::Conflict {
            message: message.unwrap_or_else(|| "That entry can no longer be changed.".into()),
        },
        StatusCode::BAD_REQUEST
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::PAYLOAD_TOO_LARGE => {
            let field = body.as_ref().and_then(|b| b.field.clone());
            let message = message.unwrap_or_else(|| "The server did not accept that input.".into());
            let message = match &field {
                Some(field) if !message.starts_with(field.as_str()) => {
                    format!("{field}: {message}")
                }
                _ => message,
            };
            Error::Invalid { field, message }
        }
        // The API's own answer when it cannot get its issuer's keys: reachable,
        // but nothing that needs a token can work until its setup is fixed.
        StatusCode::SERVICE_UNAVAILABLE
            if body
                .as_ref()
                .is_some_and(|b| b.error == "temporarily_unavailable") =>
        {
            Error::cannot_verify()
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => {
            Error::offline("the timesheet server")
        }
        other => Error::unknown(format!(
            "The timesheet server had a problem (HTTP {}). Please try again in a moment.",
            other.as_u16()
        )),
    }
}

/// The `scope="…"` of an RFC 6750 `insufficient_scope` challenge.
fn challenge_scope(challenge: &str) -> Option<String> {
    let start = challenge.find("scope=\"")? + "scope=\"".len();
    let rest = &challenge[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_owned()).filter(|s| !s.is_empty())
}

/// The API's message as a sentence: capitalised, ending in a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(
        error: &str,
        message: &str,
        field: Option<&str>,
        scope: Option<&str>,
    ) -> Option<ErrorBody> {
        Some(ErrorBody {
            error: error.into(),
            message: message.into(),
            field: field.map(Into::into),
            scope: scope.map(Into::into),
        })
    }

    #[test]
    fn each_refusal_maps_to_its_code() {
        let forbidden = api_error(
            StatusCode::FORBIDDEN,
            body(
                "insufficient_scope",
                "this needs the permission approve:timesheets",
                None,
                Some("approve:timesheets"),
            ),
            None,
        );
        assert_eq!(forbidden.code(), "forbidden");
        assert_eq!(
            crate::ErrorView::from(&forbidden).scope.as_deref(),
            Some("approve:timesheets")
        );

        let from_challenge = api_error(
            StatusCode::FORBIDDEN,
            None,
            Some(
                r#"Bearer realm="timesheets", error="insufficient_scope", scope="delete:timesheets""#,
            ),
        );
        assert!(
            matches!(from_challenge, Error::Forbidden { scope: Some(ref s), .. } if s == "delete:timesheets")
        );

        let own = api_error(
            StatusCode::FORBIDDEN,
            body("forbidden", "nobody approves their own entries", None, None),
            None,
        );
        assert_eq!(own.to_string(), "Nobody approves their own entries.");

        let invalid = api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            body(
                "invalid_field",
                "must be in steps of 0.25 hours",
                Some("hours"),
                None,
            ),
            None,
        );
        assert_eq!(
            invalid,
            Error::Invalid {
                field: Some("hours".into()),
                message: "hours: Must be in steps of 0.25 hours.".into()
            }
        );
        assert_eq!(
            api_error(
                StatusCode::CONFLICT,
                body("conflict", "the entry is approved", None, None),
                None
            )
            .code(),
            "conflict"
        );
        assert_eq!(
            api_error(StatusCode::NOT_FOUND, None, None).code(),
            "not_found"
        );
        assert_eq!(
            api_error(StatusCode::SERVICE_UNAVAILABLE, None, None).code(),
            "offline"
        );
        // The API's own 503 is not "offline": it cannot verify sign-ins.
        let cannot_verify = api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            body("temporarily_unavailable", "keys", None, None),
            None,
        );
        assert_eq!(cannot_verify.code(), "unavailable");
        assert!(cannot_verify.to_string().contains("can't verify sign-ins"));
        assert_eq!(
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                body("timeout", "slow", None, None),
                None
            )
            .code(),
            "offline"
        );
        assert_eq!(
            api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                body("internal", "x", None, None),
                None
            )
            .code(),
            "unknown"
        );
    }
}

//! The timesheet API over HTTP with a bearer token: for putting entries in place
//! before a test drives the window, and for checking what the window did.

use crate::oauth::{random_text, Tokens};
use anyhow::{bail, Context as _, Result};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use timesheets_core::{Decision, DecisionRequest, Entry, EntryList, NewEntry};
use url::Url;

/// One person's view of the API.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    tokens: Tokens,
}

impl Api {
    /// Calls `base` (the API's root URL) with `tokens`' access token.
    pub fn new(base: &Url, tokens: Tokens) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: base.clone(),
            tokens,
        }
    }

    /// Creates an entry (with a fresh `Idempotency-Key`, as the app sends).
    pub async fn create_entry(
        &self,
        date: NaiveDate,
        project: &str,
        hours: f64,
        notes: &str,
    ) -> Result<Entry> {
        let body = NewEntry {
            date: date.to_string(),
            project: project.to_owned(),
            notes: notes.to_owned(),
            hours,
        };
        let request = self
            .http
            .post(self.url("v1/entries")?)
            .header("Idempotency-Key", random_text())
            .json(&body);
        self.send(request, "create an entry").await
    }

    /// The caller's own entries from `from` to `to`, both included.
    pub async fn entries(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Entry>> {
        let request = self
            .http
            .get(self.url("v1/entries")?)
            .query(&[("from", from.to_string()), ("to", to.to_string())]);
        let list: EntryList = self.send(request, "list entries").await?;
        Ok(list.entries)
    }

    /// Others' entries awaiting a decision (needs `approve:timesheets`).
    pub async fn approvals(&self) -> Result<Vec<Entry>> {
        let request = self.http.get(self.url("v1/approvals")?);
        let list: EntryList = self.send(request, "list approvals").await?;
        Ok(list.entries)
    }

    /// Submits the week from `monday`: its drafts go to the managers.
    pub async fn submit_week(&self, monday: NaiveDate) -> Result<Vec<Entry>> {
        let request = self
            .http
            .post(self.url(&format!("v1/weeks/{monday}/submit"))?);
        let list: EntryList = self.send(request, "submit a week").await?;
        Ok(list.entries)
    }

    /// Approves, or rejects with `reason`, someone else's submitted entry, as
    /// it was seen.
    pub async fn decide(
        &self,
        entry: &Entry,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<Entry> {
        let request = self
            .http
            .post(self.url(&format!("v1/entries/{}/decision", entry.id))?)
            .json(&DecisionRequest {
                decision,
                seen_updated_at: entry.updated_at,
                reason: reason.map(str::to_owned),
            });
        self.send(request, "decide an entry").await
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .with_context(|| format!("cannot join {path} to the API's URL"))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T> {
        let response = request
            .bearer_auth(&self.tokens.access_token)
            .send()
            .await
            .with_context(|| format!("cannot reach the API to {what}"))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("the API refused to {what} ({status}): {body}");
        }
        response
            .json()
            .await
            .with_context(|| format!("the API's answer to {what} is not the JSON expected"))
    }
}

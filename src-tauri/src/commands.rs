//! The commands the front end may call; each is one delegating call into
//! [`timesheets_client::Client`]. `capabilities/main.json` grants exactly these.

use tauri::State;
use timesheets_client::{
    Client, Decision, DecisionOutcome, Entry, EntryPatch, Error, NewEntry, SessionView, Settings,
};
use timesheets_core::validation;

#[tauri::command]
pub fn session(client: State<'_, Client>) -> SessionView {
    client.view()
}

#[tauri::command]
pub async fn sign_in(client: State<'_, Client>) -> Result<SessionView, Error> {
    client.sign_in().await?;
    Ok(client.view())
}

#[tauri::command]
pub fn cancel_sign_in(client: State<'_, Client>) -> SessionView {
    client.cancel_sign_in();
    client.view()
}

#[tauri::command]
pub async fn sign_out(client: State<'_, Client>) -> Result<SessionView, Error> {
    if let Err(error) = client.sign_out().await {
        // Signed out all the same; the view's message says what was left behind.
        tracing::warn!(%error, "sign-out could not clean up everything");
    }
    Ok(client.view())
}

#[tauri::command]
pub fn today(client: State<'_, Client>) -> String {
    client.today().to_string()
}

#[tauri::command]
pub async fn settings(client: State<'_, Client>) -> Result<Settings, Error> {
    client.api().settings().await
}

#[tauri::command]
pub async fn list_entries(
    client: State<'_, Client>,
    from: String,
    to: String,
) -> Result<Vec<Entry>, Error> {
    let from = validation::date("from", &from).map_err(Error::from)?;
    let to = validation::date("to", &to).map_err(Error::from)?;
    client.api().list_entries(from, to).await
}

#[tauri::command]
pub async fn create_entry(
    client: State<'_, Client>,
    entry: NewEntry,
    idempotency_key: String,
) -> Result<Entry, Error> {
    client
        .api()
        .create_entry_once(&entry, &idempotency_key)
        .await
}

#[tauri::command]
pub async fn update_entry(
    client: State<'_, Client>,
    id: String,
    patch: EntryPatch,
) -> Result<Entry, Error> {
    client.api().update_entry(&id, &patch).await
}

#[tauri::command]
pub async fn delete_entry(client: State<'_, Client>, id: String) -> Result<(), Error> {
    client.api().delete_entry(&id).await
}

#[tauri::command]
pub async fn submit_week(client: State<'_, Client>, week: String) -> Result<Vec<Entry>, Error> {
    let monday = validation::monday("week", &week).map_err(Error::from)?;
    client.api().submit_week(monday).await
}

#[tauri::command]
pub async fn withdraw_week(client: State<'_, Client>, week: String) -> Result<Vec<Entry>, Error> {
    let monday = validation::monday("week", &week).map_err(Error::from)?;
    client.api().withdraw_week(monday).await
}

#[tauri::command]
pub async fn pending_approvals(client: State<'_, Client>) -> Result<Vec<Entry>, Error> {
    client.pending_approvals().await
}

#[tauri::command]
pub async fn decide(
    client: State<'_, Client>,
    ids: Vec<String>,
    decision: Decision,
    reason: Option<String>,
) -> Result<Vec<DecisionOutcome>, Error> {
    Ok(client.api().decide(&ids, decision, reason.as_deref()).await)
}

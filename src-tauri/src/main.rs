//! The Timesheets desktop app: a thin Tauri shell.
//!
//! It registers the plugins (single instance first, then deep links, then the
//! opener), holds one [`timesheets_client::Client`] in state, forwards each command
//! to it, and pushes session changes to the window. Nothing here is worth testing
//! on its own: the logic lives in `timesheets-client`, tested headless.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod browser;
mod commands;
mod deep_link;

use std::sync::Arc;
use tauri::{Emitter, Manager};
use timesheets_client::{keyring, Client, ClientConfig};

/// The event the front end listens to for every change of the session view.
const SESSION_CHANGED: &str = "session-changed";

fn main() {
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = match ClientConfig::load() {
        Ok(config) => config,
        Err(error) => {
            // Nothing can be signed into with a broken configuration; say which key.
            eprintln!("timesheets: {error}");
            std::process::exit(2);
        }
    };

    let context = tauri::generate_context!("../tauri.conf.json");
    if let Err(message) = deep_link::check_redirect(
        &config.redirect_uri,
        &deep_link::declared_schemes(context.config()),
    ) {
        eprintln!("timesheets: {message}");
        std::process::exit(2);
    }

    let result = tauri::Builder::default()
        // Must come first: a second start (the OS delivering the sign-in link) hands
        // its URL to this instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .setup(move |app| {
            let store = keyring::system_store(&config);
            let browser: Arc<dyn timesheets_client::Browser> =
                Arc::from(browser::for_app(app.handle().clone()));
            let client = Client::new(config, store, browser)?;
            app.manage(client.clone());
            forward_session_changes(app.handle().clone(), &client);
            deep_link::listen(app)?;
            // Restoring asks the provider for a fresh access token: never hold up the
            // window for it.
            tauri::async_runtime::spawn(async move {
                client.restore().await;
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session,
            commands::sign_in,
            commands::cancel_sign_in,
            commands::sign_out,
            commands::today,
            commands::settings,
            commands::list_entries,
            commands::create_entry,
            commands::update_entry,
            commands::delete_entry,
            commands::submit_week,
            commands::withdraw_week,
            commands::pending_approvals,
            commands::decide,
        ])
        .run(context);
    if let Err(error) = result {
        eprintln!("timesheets: cannot start: {error}");
        std::process::exit(1);
    }
}

/// Pushes every new session view to the window, so a sign-in finished by the deep
/// link, a refresh that ended the session, or going offline show up at once.
fn forward_session_changes(app: tauri::AppHandle, client: &Client) {
    let mut changes = client.subscribe();
    tauri::async_runtime::spawn(async move {
        while changes.changed().await.is_ok() {
            let view = changes.borrow_and_update().clone();
            if let Err(error) = app.emit(SESSION_CHANGED, view) {
                tracing::warn!(%error, "cannot tell the window about a session change");
            }
        }
    });
}

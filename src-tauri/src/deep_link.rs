//! The sign-in callback, delivered through the private-use URI scheme declared in
//! `tauri.conf.json` (RFC 8252 §7.1).
//!
//! A link arrives at a cold start (the OS started the app with it) or while the app
//! runs (tauri-plugin-single-instance hands a second start's URL to this one). Both
//! go to [`timesheets_client::Client::handle_callback`], which accepts only the link
//! that belongs to the sign-in in progress.

use tauri::{App, AppHandle, Manager};
use tauri_plugin_deep_link::DeepLinkExt;
use timesheets_client::Client;

/// Registers the scheme where the OS allows it at run time, and routes links to the client.
pub fn listen(app: &mut App) -> Result<(), Box<dyn std::error::Error>> {
    // macOS takes the scheme from the bundle; Linux and Windows learn it now. A
    // failure is not fatal: an installed package declares the scheme too.
    #[cfg(any(target_os = "linux", windows))]
    if let Err(error) = app.deep_link().register_all() {
        tracing::warn!(%error, "cannot register the sign-in link scheme");
    }

    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            deliver(&handle, url.to_string());
        }
    });
    if let Some(urls) = app.deep_link().get_current()? {
        for url in urls {
            deliver(app.handle(), url.to_string());
        }
    }
    Ok(())
}

fn deliver(app: &AppHandle, url: String) {
    let client = app.state::<Client>().inner().clone();
    tauri::async_runtime::spawn(async move {
        // The client logs what it rejects and why (never the link's secrets), and
        // puts anything the person must know into the session view.
        if let Err(error) = client.handle_callback(&url).await {
            tracing::info!(code = error.code(), "sign-in link not accepted");
        }
    });
}

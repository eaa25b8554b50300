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
use url::Url;

/// The URI schemes `tauri.conf.json` declares for links into the app
/// (`plugins.deep-link.desktop.schemes`, one protocol or a list of them): the
/// one place the sign-in scheme is declared, and what the OS registers.
pub fn declared_schemes(config: &tauri::Config) -> Vec<String> {
    let Some(desktop) = config
        .plugins
        .0
        .get("deep-link")
        .and_then(|deep_link| deep_link.get("desktop"))
    else {
        return Vec::new();
    };
    let protocols = match desktop {
        serde_json::Value::Array(list) => list.iter().collect(),
        one => vec![one],
    };
    protocols
        .into_iter()
        .filter_map(|protocol| protocol.get("schemes")?.as_array())
        .flatten()
        .filter_map(|scheme| scheme.as_str().map(str::to_owned))
        .collect()
}

/// Refuses a redirect URI whose scheme the app does not register: the provider
/// would send the browser back to an address the OS hands to no one, and sign-in
/// would wait forever. The message names the setting to fix. A loopback `http`
/// redirect needs no registration: the app listens for it itself (RFC 8252 §7.3;
/// the client's configuration has already checked it is loopback).
pub fn check_redirect(redirect_uri: &Url, declared: &[String]) -> Result<(), String> {
    if redirect_uri.scheme() == "http"
        || declared
            .iter()
            .any(|scheme| scheme == redirect_uri.scheme())
    {
        return Ok(());
    }
    Err(format!(
        "TIMESHEETS_REDIRECT_URI (redirect_uri in config.toml): {redirect_uri} uses the scheme \
         {:?}, but this app receives sign-in links only for {declared:?} (tauri.conf.json) \
         or on a loopback http address, so the browser could never come back to it",
        redirect_uri.scheme()
    ))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> tauri::Config {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not a Tauri config: {e}"))
    }

    #[test]
    fn the_default_redirect_uses_the_scheme_tauri_conf_declares() {
        let declared = declared_schemes(&config(include_str!("../../tauri.conf.json")));
        assert_eq!(declared, vec!["com.example.timesheets".to_owned()]);
        let default = timesheets_client::ClientConfig::default().redirect_uri;
        assert_eq!(check_redirect(&default, &declared), Ok(()));
    }

    #[test]
    fn a_redirect_the_app_does_not_receive_is_refused_by_name() {
        let declared = vec!["com.example.timesheets".to_owned()];
        // The app listens for a loopback redirect itself.
        let loopback = Url::parse("http://127.0.0.1/callback").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check_redirect(&loopback, &declared), Ok(()));
        for other in [
            "com.example.other:/oauth/callback",
            "https://example.com/cb",
        ] {
            let url = Url::parse(other).unwrap_or_else(|e| panic!("{e}"));
            let error = check_redirect(&url, &declared).err().unwrap_or_default();
            assert!(error.starts_with("TIMESHEETS_REDIRECT_URI"), "{error}");
        }
        // Either shape of the plugin's configuration.
        let list = config(
            r#"{"identifier": "x.y.z", "plugins": {"deep-link": {"desktop": [{"schemes": ["a.b"]}, {"schemes": ["c.d"]}]}}}"#,
        );
        assert_eq!(declared_schemes(&list), vec!["a.b", "c.d"]);
        assert!(declared_schemes(&config(r#"{"identifier": "x.y.z"}"#)).is_empty());
    }
}

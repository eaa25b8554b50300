//! The loopback redirect (RFC 8252 §7.3), for providers that accept no private-use
//! scheme from desktop apps (Microsoft Entra ID, Google).
//!
//! For the one sign-in in progress, [`Listener::bind`] listens on an ephemeral
//! port of the configured loopback address (`127.0.0.1` or `[::1]`), and the
//! authorize request names that port in its `redirect_uri`. The listener serves
//! the configured path only, to one browser request: it hands the callback to the
//! same checks as a deep link (`state`, `iss`, expiry), answers the browser with a
//! small page saying it can be closed, and answers everything else 404 — another
//! path, or any request after the one that ended the sign-in. A callback that is
//! not this sign-in's (a wrong `state`) is refused with 400 and changes nothing:
//! the real one may still come.
//!
//! Dropping the [`Listener`] closes the port: the sign-in keeps it exactly as long
//! as it waits (it ends, is cancelled, replaced, or expires), so afterwards a
//! connection is refused.

use crate::error::Error;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;
use url::{Host, Url};

/// What became of a callback the listener passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The sign-in finished: the person is signed in.
    SignedIn,
    /// The request was not this sign-in's; it still waits for the real one.
    NotOurs,
    /// The sign-in ended without signing in; the sentence says why.
    Ended(String),
}

/// Handles the full callback URL, with every check of a deep link.
pub(crate) type OnCallback =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// A listening loopback redirect. Dropping it closes the port.
pub(crate) struct Listener {
    redirect_uri: Url,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// The redirect URI with its port: what a callback's address is rebuilt from.
    redirect_uri: Url,
    on_callback: OnCallback,
    /// Set once a callback ended the sign-in: every later request is 404.
    answered: AtomicBool,
}

impl Listener {
    /// Listens for the callback to `configured` (a loopback `http` URL; its port,
    /// when it has one, is used, else the OS picks one), handing it to
    /// `on_callback`.
    pub(crate) async fn bind(configured: &Url, on_callback: OnCallback) -> Result<Listener, Error> {
        let ip: IpAddr = match configured.host() {
            Some(Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
            _ => {
                return Err(Error::config(
                    "TIMESHEETS_REDIRECT_URI",
                    "a loopback redirect must name 127.0.0.1 or [::1]",
                ))
            }
        };
        let port = configured.port().unwrap_or(0);
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot listen for the sign-in redirect");
                Error::unknown(format!(
                    "The app could not listen on {ip} for the browser to come back ({e})."
                ))
            })?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::unknown(format!("The sign-in listener has no address ({e}).")))?;
        let mut redirect_uri = configured.clone();
        redirect_uri
            .set_port(Some(bound.port()))
            .map_err(|()| Error::unknown("The sign-in redirect cannot take a port."))?;

        let shared = Arc::new(Shared {
            redirect_uri: redirect_uri.clone(),
            on_callback,
            answered: AtomicBool::new(false),
        });
        let router = Router::new()
            .route(configured.path(), get(callback))
            .fallback(not_found)
            .with_state(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "the sign-in listener failed");
            }
            tracing::debug!("the sign-in listener is closed");
        });
        tracing::info!(port = bound.port(), "listening for the sign-in redirect");
        Ok(Listener {
            redirect_uri,
            stop: Some(stop),
        })
    }

    /// The redirect URI to send, with the port listened on.
    pub(crate) fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may have stopped already; either way it stops now.
            let _ = stop.send(());
        }
    }
}

/// The one route: the browser coming back from the provider.
async fn callback(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    if shared.answered.load(Ordering::SeqCst) {
        return not_found().await;
    }
    let mut url = shared.redirect_uri.clone();
    url.set_query(query.as_deref());
    match (shared.on_callback)(url.into()).await {
        Outcome::SignedIn => {
            shared.answered.store(true, Ordering::SeqCst);
            page(
                StatusCode::OK,
                "You're signed in",
                "You can close this tab and go back to Timesheets.",
            )
        }
        Outcome::Ended(message) => {
            shared.answered.store(true, Ordering::SeqCst);
            page(
                StatusCode::BAD_REQUEST,
                "Sign-in did not finish",
                &format!("{message} You can close this tab and go back to Timesheets."),
            )
        }
        Outcome::NotOurs => page(
            StatusCode::BAD_REQUEST,
            "This isn't the sign-in Timesheets is waiting for",
            "The link does not belong to the sign-in in progress, so it was ignored.",
        ),
    }
}

async fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
}

/// A small page for the browser: no script, nothing loaded from anywhere, not
/// kept in any cache, and the connection closed after it.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title} · Timesheets</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}\
         @media(prefers-color-scheme:dark){{body{{background:#1c1c1e;color:#f2f2f7}}}}</style>\
         </head><body><h1>{title}</h1><p>{text}</p></body></html>\n",
        title = escape(title),
        text = escape(text),
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONNECTION, "close"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}

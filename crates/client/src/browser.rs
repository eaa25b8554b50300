//! How the authorize page reaches the person: the system browser.
//!
//! Sign-in happens in the system browser, never in a web view inside the app
//! (RFC 8252 §8.12): there the person sees the real address bar and their password
//! manager, and the app never sees the password. The shell implements [`Browser`]
//! with tauri-plugin-opener; tests implement it with a scripted person.

use url::Url;

/// Opens a URL in the person's browser.
pub trait Browser: Send + Sync {
    /// Opens `url` and returns at once; the answer comes back later as a deep link.
    fn open(&self, url: &Url) -> Result<(), BrowserError>;
}

/// The browser could not be opened; the message says why in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BrowserError(pub String);

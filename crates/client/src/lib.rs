//! The Timesheets desktop app without its window.
//!
//! Everything the app does that is worth testing lives here, so it can be tested
//! headless; the Tauri shell only forwards commands and events to it. Start with
//! [`Client`]: the shell holds one in its state and calls it for every command.
//!
//! - [`config`]: where the app signs in and which API it talks to ([`ClientConfig`]);
//! - [`discovery`]: the provider's metadata and signing keys, fetched and cached;
//! - [`sign_in`]: one browser sign-in, Authorization Code + PKCE ([`PendingSignIn`]);
//! - [`session`]: the tokens, their renewal, and what the UI may see ([`SessionView`]);
//! - [`keyring`]: where the refresh token, and a sign-in in progress, are kept between
//!   runs ([`CredentialStore`]), so the sign-in link works even when it starts the app;
//! - [`api`]: the timesheet API's endpoints, with the bearer token attached ([`ApiClient`]);
//! - [`browser`]: how the authorize page is opened ([`Browser`]); the browser comes
//!   back through the private-use scheme (the shell's deep link) or, for providers
//!   that require it, to a loopback listener of the app's own (RFC 8252 §7.3);
//! - [`secret`]: values that must never be printed ([`Secret`]);
//! - [`error`]: the one error type, with stable codes for the UI ([`Error`], [`ErrorView`]).
//!
//! What it never does: write a token to a file or a log line, hand one to the web
//! front end, or follow an HTTP redirect.
#![deny(missing_docs)]

pub mod api;
pub mod app;
pub mod browser;
pub mod config;
pub mod discovery;
pub mod error;
mod id_token;
pub mod keyring;
mod loopback;
mod parked;
pub mod secret;
pub mod session;
pub mod sign_in;

pub use api::{ApiClient, DecisionOutcome};
pub use app::Client;
pub use browser::{Browser, BrowserError};
pub use config::ClientConfig;
pub use error::{Error, ErrorView};
pub use keyring::{CredentialStore, KeyringStore, MemoryStore, StoreError};
pub use secret::Secret;
pub use session::{Session, SessionState, SessionView, UserView};
pub use sign_in::PendingSignIn;
pub use timesheets_core::{
    Decision, Entry, EntryPatch, NewEntry, Scope, Scopes, Settings, Status, Week,
};

//! The one object the desktop shell holds: [`Client`].
//!
//! Each Tauri command is one call on it:
//!
//! | command | call |
//! | --- | --- |
//! | `session` | [`Client::view`] (and [`Client::subscribe`] for `session-changed` events) |
//! | start-up | [`Client::restore`] |
//! | `sign_in` | [`Client::sign_in`] |
//! | `cancel_sign_in` | [`Client::cancel_sign_in`] |
//! | the deep link | [`Client::handle_callback`] |
//! | `sign_out` | [`Client::sign_out`] |
//! | `today` | [`Client::today`] |
//! | entries, approvals | [`Client::api`] |
//!
//! ```no_run
//! # async fn run() -> Result<(), timesheets_client::Error> {
//! use std::sync::Arc;
//! use timesheets_client::{keyring, Browser, BrowserError, Client, ClientConfig};
//!
//! struct SystemBrowser;
//! impl Browser for SystemBrowser {
//!     fn open(&self, url: &url::Url) -> Result<(), BrowserError> {
//!         // tauri_plugin_opener::open_url(url.as_str(), None::<&str>) in the shell
//!         Ok(())
//!     }
//! }
//!
//! let config = ClientConfig::load()?;
//! let store = keyring::system_store(&config);
//! let client = Client::new(config, store, Arc::new(SystemBrowser))?;
//! client.restore().await; // signed in again without the browser, if a token was kept
//! # Ok(()) }
//! ```

use crate::api::ApiClient;
use crate::browser::Browser;
use crate::config::ClientConfig;
use crate::discovery::Provider;
use crate::error::Error;
use crate::keyring::{CredentialStore, Vault};
use crate::session::{Session, SessionView};
use crate::sign_in::{self, PendingSignIn, Rejection};
use chrono::NaiveDate;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// The app's brain: configuration, session, sign-in in progress, and the API client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<ClientConfig>,
    provider: Arc<Provider>,
    session: Session,
    api: ApiClient,
    browser: Arc<dyn Browser>,
    pending: Mutex<Option<Waiting>>,
}

/// A sign-in in progress, numbered so a timer can tell it is still the same one.
struct Waiting {
    number: u64,
    sign_in: PendingSignIn,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("issuer", &self.inner.config.issuer)
            .field("session", &self.inner.session.view())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`, keeping the refresh token in `store` and opening
    /// sign-in pages with `browser`. Sends nothing yet.
    pub fn new(
        config: ClientConfig,
        store: Arc<dyn CredentialStore>,
        browser: Arc<dyn Browser>,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            // Never follow redirects: a token request must not be bounced elsewhere
            // (oauth2-rs's advice against SSRF), and API calls have no reason to.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::unknown(format!("Cannot set up HTTPS: {e}")))?;
        let config = Arc::new(config);
        let provider = Arc::new(Provider::new(config.clone(), http.clone()));
        let session = Session::new(provider.clone(), Vault::new(store));
        let api = ApiClient::new(session.clone(), http, config.api_base.clone());
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                provider,
                session,
                api,
                browser,
                pending: Mutex::new(None),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The session (for [`Session::refresh_count`] and the like).
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    /// Signs in again from the stored refresh token, without the browser. Call once
    /// at start. Never fails: problems are in the view's `message` and `offline`.
    pub async fn restore(&self) -> SessionView {
        self.inner.session.restore().await
    }

    /// What the front end shows now.
    pub fn view(&self) -> SessionView {
        self.inner.session.view()
    }

    /// Each change of the view, for the shell's `session-changed` event.
    pub fn subscribe(&self) -> watch::Receiver<SessionView> {
        self.inner.session.subscribe()
    }

    /// Starts a sign-in: opens the provider's page in the browser and waits for the
    /// deep link ([`Client::handle_callback`]). A sign-in already waiting is replaced.
    pub async fn sign_in(&self) -> Result<(), Error> {
        let metadata = self.inner.provider.metadata().await?;
        self.begin_sign_in(&metadata)
    }

    fn begin_sign_in(&self, metadata: &crate::discovery::ProviderMetadata) -> Result<(), Error> {
        let (url, pending) = sign_in::start(&self.inner.config, metadata);
        let number = {
            let mut slot = self.pending();
            let number = slot.as_ref().map_or(1, |w| w.number + 1);
            *slot = Some(Waiting {
                number,
                sign_in: pending,
            });
            number
        };
        self.inner.session.set_waiting(true, None);
        if let Err(e) = self.inner.browser.open(&url) {
            tracing::warn!(error = %e, "cannot open the browser");
            self.pending().take();
            let message = format!("The browser could not be opened: {e}");
            self.inner.session.set_waiting(false, Some(message.clone()));
            return Err(Error::unknown(message));
        }
        tracing::info!("sign-in started in the browser");
        self.expire_later(number);
        Ok(())
    }

    /// Gives up the sign-in in progress (the person pressed Cancel).
    pub fn cancel_sign_in(&self) {
        if let Some(waiting) = self.pending().take() {
            waiting.sign_in.cancel();
        }
        self.inner.session.set_waiting(false, None);
    }

    /// Handles the deep link the OS delivered (`com.example.timesheets:/oauth/callback?…`).
    ///
    /// A link that does not belong to the sign-in in progress (forged, replayed,
    /// stale, addressed elsewhere) is rejected and logged, sends no request, and
    /// leaves a genuine sign-in waiting.
    pub async fn handle_callback(&self, url: &str) -> Result<SessionView, Error> {
        let (pending, accepted) = {
            let mut slot = self.pending();
            let Some(waiting) = slot.as_ref() else {
                tracing::warn!(
                    "sign-in link rejected: no sign-in is waiting (replayed or unsolicited)"
                );
                return Err(Rejection::NotOurs("no sign-in waiting").into_error());
            };
            match waiting.sign_in.check(url) {
                Ok(accepted) => match slot.take() {
                    Some(waiting) => (waiting.sign_in, accepted),
                    None => return Err(Rejection::NotOurs("no sign-in waiting").into_error()),
                },
                Err(rejection @ Rejection::NotOurs(reason)) => {
                    tracing::warn!(
                        reason,
                        "sign-in link rejected; still waiting for the real one"
                    );
                    return Err(rejection.into_error());
                }
                Err(rejection) => {
                    tracing::warn!(?rejection, "sign-in ended by its callback");
                    slot.take();
                    drop(slot);
                    let error = rejection.into_error();
                    self.inner
                        .session
                        .set_waiting(false, Some(error.to_string()));
                    return Err(error);
                }
            }
        };
        match pending.exchange(accepted, &self.inner.provider).await {
            Ok(signed_in) => {
                self.inner
                    .session
                    .establish(signed_in.grant, signed_in.user)
                    .await;
                tracing::info!("signed in");
                Ok(self.view())
            }
            Err(error) => {
                self.inner
                    .session
                    .set_waiting(false, Some(error.to_string()));
                Err(error)
            }
        }
    }

    /// Signs out: revokes at the provider, deletes the stored token, forgets the
    /// access token. Always ends signed out; an error says what could not be cleaned.
    pub async fn sign_out(&self) -> Result<(), Error> {
        self.pending().take();
        self.inner.session.sign_out().await
    }

    /// Today in the person's own time zone: the week the grid opens on.
    pub fn today(&self) -> NaiveDate {
        chrono::Local::now().date_naive()
    }

    /// The timesheet API, with this session's bearer token attached.
    pub fn api(&self) -> &ApiClient {
        &self.inner.api
    }

    fn pending(&self) -> MutexGuard<'_, Option<Waiting>> {
        // Only ever replaced or taken whole, so a poisoned lock holds no half-state.
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// After ten minutes, drops the sign-in `number` if it is still waiting.
    fn expire_later(&self, number: u64) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            tokio::time::sleep(sign_in::PENDING_LIFETIME).await;
            let Some(inner) = weak.upgrade() else { return };
            let client = Client { inner };
            let expired = {
                let mut slot = client.pending();
                if slot.as_ref().is_some_and(|w| w.number == number) {
                    slot.take();
                    true
                } else {
                    false
                }
            };
            if expired {
                tracing::info!("sign-in expired");
                client.inner.session.set_waiting(
                    false,
                    Some("The sign-in took longer than ten minutes, so it was cancelled.".into()),
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ProviderMetadata;
    use crate::keyring::{MemoryStore, StoreError, NOT_REMEMBERED};
    use crate::secret::Secret;
    use crate::session::{Grant, SessionState};
    use crate::BrowserError;
    use url::Url;

    /// Remembers what it was asked to open.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Url>>);

    impl Browser for Recorder {
        fn open(&self, url: &Url) -> Result<(), BrowserError> {
            self.0
                .lock()
                .map_err(|_| BrowserError("poisoned".into()))?
                .push(url.clone());
            Ok(())
        }
    }

    impl Recorder {
        fn state(&self) -> String {
            self.0
                .lock()
                .ok()
                .and_then(|urls| urls.last().cloned())
                .and_then(|url| {
                    url.query_pairs()
                        .find(|(k, _)| k == "state")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default()
        }
    }

    /// A keyring that never answers.
    struct Silent;

    impl CredentialStore for Silent {
        fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
            Err(StoreError::Unavailable("no Secret Service".into()))
        }
        fn save(&self, _: &Secret<String>) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("no Secret Service".into()))
        }
        fn delete(&self) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("no Secret Service".into()))
        }
    }

    /// A provider on a port where nothing listens: any request fails at once.
    fn unreachable_config() -> ClientConfig {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        ClientConfig {
            issuer: format!("http://127.0.0.1:{port}/"),
            api_base: Url::parse(&format!("http://127.0.0.1:{port}"))
                .unwrap_or_else(|e| panic!("{e}")),
            ..ClientConfig::default()
        }
    }

    fn metadata(config: &ClientConfig) -> ProviderMetadata {
        let url = |path: &str| {
            Url::parse(&format!("{}{path}", config.issuer)).unwrap_or_else(|e| panic!("{e}"))
        };
        ProviderMetadata {
            issuer: config.issuer.clone(),
            authorization_endpoint: url("authorize"),
            token_endpoint: url("oauth/token"),
            revocation_endpoint: None,
            jwks_uri: None,
            authorization_response_iss_parameter_supported: false,
            code_challenge_methods_supported: None,
        }
    }

    fn client(store: Arc<dyn CredentialStore>) -> (Client, Arc<Recorder>) {
        let browser = Arc::new(Recorder::default());
        let client = Client::new(unreachable_config(), store, browser.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        (client, browser)
    }

    fn grant(access: &str, refresh: Option<&str>) -> Grant {
        Grant {
            access: Secret::new(access.to_owned()),
            expires_in: Some(Duration::from_secs(300)),
            refresh: refresh.map(|r| Secret::new(r.to_owned())),
            scope: Some("openid read:timesheets create:timesheets".into()),
            id_token: None,
        }
    }

    #[tokio::test]
    async fn a_forged_link_is_ignored_and_the_real_sign_in_keeps_waiting() {
        let (client, browser) = client(Arc::new(MemoryStore::new()));
        let config = client.config().clone();
        assert!(client.begin_sign_in(&metadata(&config)).is_ok());
        assert_eq!(client.view().state, SessionState::WaitingForBrowser);
        let forged = "com.example.timesheets:/oauth/callback?code=x&state=guess";
        let error = client.handle_callback(forged).await.err();
        assert_eq!(error.map(|e| e.code()), Some("invalid"));
        assert_eq!(client.view().state, SessionState::WaitingForBrowser);
        assert!(client.pending().is_some());
        assert!(!browser.state().is_empty());
    }

    #[tokio::test]
    async fn a_replayed_link_finds_no_sign_in_and_is_refused_before_any_request() {
        let (client, browser) = client(Arc::new(MemoryStore::new()));
        let config = client.config().clone();
        assert!(client.begin_sign_in(&metadata(&config)).is_ok());
        let link = format!(
            "com.example.timesheets:/oauth/callback?code=abc&state={}",
            browser.state()
        );
        // First delivery: accepted, so the pending sign-in is spent, whatever the
        // exchange then does (here the provider is unreachable).
        let first = client.handle_callback(&link).await.err();
        assert_eq!(first.map(|e| e.code()), Some("offline"));
        assert!(client.pending().is_none());
        assert_eq!(client.view().state, SessionState::SignedOut);
        // Second delivery: nothing is waiting.
        let again = client.handle_callback(&link).await.err();
        assert_eq!(again.map(|e| e.code()), Some("invalid"));
    }

    #[tokio::test]
    async fn cancelling_forgets_the_sign_in() {
        let (client, browser) = client(Arc::new(MemoryStore::new()));
        let config = client.config().clone();
        assert!(client.begin_sign_in(&metadata(&config)).is_ok());
        client.cancel_sign_in();
        assert_eq!(client.view().state, SessionState::SignedOut);
        let link = format!(
            "com.example.timesheets:/oauth/callback?code=abc&state={}",
            browser.state()
        );
        let late = client.handle_callback(&link).await.err();
        assert_eq!(late.map(|e| e.code()), Some("invalid"));
    }

    #[tokio::test]
    async fn the_view_of_a_signed_in_session_holds_no_token() {
        let store = Arc::new(MemoryStore::new());
        let (client, _) = client(store.clone());
        client
            .session()
            .establish(
                grant("at-5ecret-access", Some("rt-5ecret-refresh")),
                Some(crate::UserView {
                    name: "Erin Employee".into(),
                    email: None,
                }),
            )
            .await;
        let view = client.view();
        assert_eq!(view.state, SessionState::SignedIn);
        assert_eq!(view.scopes, vec!["read:timesheets", "create:timesheets"]);
        assert!(view.remembered);
        let printed = format!(
            "{} {view:?} {client:?} {:?}",
            serde_json::to_string(&view).unwrap_or_default(),
            client.api()
        );
        assert!(!printed.contains("5ecret"), "{printed}");
        // The refresh token went to the store all the same.
        let stored = store.load().ok().flatten();
        assert_eq!(
            stored.map(|t| t.expose().clone()).as_deref(),
            Some("rt-5ecret-refresh")
        );
    }

    #[tokio::test]
    async fn without_a_keyring_the_session_works_for_this_run_and_says_so() {
        let (client, _) = client(Arc::new(Silent));
        let view = client.restore().await;
        assert_eq!(view.state, SessionState::SignedOut);
        assert!(!view.remembered);
        assert_eq!(view.message.as_deref(), Some(NOT_REMEMBERED));

        client
            .session()
            .establish(grant("at-1", Some("rt-1")), None)
            .await;
        let view = client.view();
        assert_eq!(view.state, SessionState::SignedIn);
        assert!(!view.remembered);
        assert_eq!(view.message.as_deref(), Some(NOT_REMEMBERED));
        // The access token is usable in this run.
        let bearer = client
            .session()
            .bearer()
            .await
            .map(|b| b.token.expose().clone());
        assert_eq!(bearer.ok().as_deref(), Some("at-1"));

        // Sign-out says the keyring could not be cleaned, but still signs out.
        let error = client.sign_out().await.err();
        assert_eq!(error.map(|e| e.code()), Some("unknown"));
        assert_eq!(client.view().state, SessionState::SignedOut);
    }

    #[tokio::test]
    async fn a_session_without_a_refresh_token_is_not_remembered() {
        let store = Arc::new(MemoryStore::new());
        let (client, _) = client(store.clone());
        client.session().establish(grant("at-1", None), None).await;
        let view = client.view();
        assert!(!view.remembered);
        assert!(view.message.is_some_and(|m| m.contains("offline_access")));
        assert!(store.load().ok().flatten().is_none());
    }
}

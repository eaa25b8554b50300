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
//! | the deep link (app running, or started by the link) | [`Client::handle_callback`] |
//! | `sign_out` | [`Client::sign_out`] |
//! | `today` | [`Client::today`] |
//! | `pending_approvals` | [`Client::pending_approvals`] |
//! | entries, decisions | [`Client::api`] |
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
use crate::keyring::{CredentialStore, Vault, PENDING_SIGN_IN_SLOT};
use crate::loopback::{self, Listener, Outcome};
use crate::parked::{self, Claim, Parked};
use crate::session::{Session, SessionView};
use crate::sign_in::{self, Accepted, PendingSignIn, Rejection};
use chrono::NaiveDate;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use timesheets_core::Entry;
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
    /// The sign-in this run started.
    pending: Mutex<Option<Waiting>>,
    /// The last sign-in's number. Never reused, so a timer left over from a
    /// finished sign-in cannot expire a later one.
    started: AtomicU64,
    /// The same sign-in written to a second keyring entry, so a cold start from
    /// the sign-in link can finish it. `None` when the store keeps no second
    /// entry: sign-ins then live in memory only.
    parked: Option<Parked>,
}

/// What [`Client::decide`] made of a link, before any request.
enum Decided {
    /// The sign-in in memory rejected it as not its own, and still waits.
    Kept(Rejection),
    /// The sign-in in memory, taken out, with its verdict (accepted, or ended) and
    /// the queued deletion of its keyring copy.
    Here(
        Box<PendingSignIn>,
        Result<Accepted, Rejection>,
        Option<tokio::sync::oneshot::Receiver<bool>>,
    ),
    /// Nothing in memory: the keyring's parked sign-in is being checked.
    Claimed(tokio::sync::oneshot::Receiver<Claim>),
    /// Nothing in memory, and no keyring entry to look in.
    Nothing,
}

/// The answer to a link when no sign-in is waiting anywhere.
fn no_sign_in_waiting() -> Error {
    tracing::warn!("sign-in link rejected: no sign-in is waiting (replayed or unsolicited)");
    Rejection::NotOurs("no sign-in waiting").into_error()
}

/// A sign-in in progress, numbered so a timer can tell it is still the same one.
struct Waiting {
    number: u64,
    sign_in: PendingSignIn,
    /// The loopback listener the browser comes back to, when the redirect is a
    /// loopback one; dropped (closing the port) with the sign-in.
    _listener: Option<Listener>,
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
    ///
    /// A sign-in in progress is also kept next to the refresh token, in `store`'s
    /// [`sibling`](CredentialStore::sibling) entry [`PENDING_SIGN_IN_SLOT`], so the
    /// sign-in link still works when the OS starts the app afresh with it. A store
    /// without siblings keeps sign-ins in memory only.
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
        let parked = store.sibling(PENDING_SIGN_IN_SLOT).and_then(Parked::start);
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
                started: AtomicU64::new(0),
                parked,
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
    ///
    /// Also asks the provider for its metadata, to name it on the sign-in screen,
    /// and shows the API this sign-in's ID token once (see
    /// [`ApiClient::me`](crate::ApiClient::me)).
    pub async fn restore(&self) -> SessionView {
        let (_, view) = tokio::join!(self.learn_provider(), self.inner.session.restore());
        if view.state == crate::SessionState::SignedIn {
            self.present_identity_soon();
        }
        self.view()
    }

    /// Names the provider as its discovery document describes it. A provider
    /// that cannot be asked yet keeps the name its address gives.
    async fn learn_provider(&self) {
        match self.inner.provider.metadata().await {
            Ok(metadata) => self.name_provider(&metadata),
            Err(error) => tracing::info!(code = error.code(), "provider metadata not read yet"),
        }
    }

    fn name_provider(&self, metadata: &crate::discovery::ProviderMetadata) {
        let name = self
            .inner
            .config
            .provider_name(metadata.timesheets_development_provider);
        self.inner.session.set_provider_name(name);
    }

    /// Shows the API this sign-in's ID token, in the background, so managers see
    /// the person's name (most providers put none in access tokens). Retried a few
    /// times while the API cannot be reached or cannot verify; never in the way of
    /// anything else, and never fatal: without it, the name is the subject.
    fn present_identity_soon(&self) {
        let Some(id_token) = self.inner.session.take_unpresented_id_token() else {
            return;
        };
        let client = self.clone();
        tokio::spawn(async move {
            const ATTEMPTS: u32 = 6;
            for attempt in 1..=ATTEMPTS {
                match client.inner.api.present_identity(&id_token).await {
                    Ok(_) => {
                        tracing::info!("the timesheet server knows this person's name");
                        return;
                    }
                    Err(Error::Offline { .. } | Error::Unavailable { .. })
                        if attempt < ATTEMPTS =>
                    {
                        tokio::time::sleep(crate::session::backoff(attempt)).await;
                    }
                    Err(Error::Offline { .. } | Error::Unavailable { .. }) => {
                        // The next sign-in or start presents it again.
                        client.inner.session.keep_unpresented_id_token(id_token);
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(code = error.code(), %error, "the timesheet server did not take the ID token");
                        return;
                    }
                }
            }
        });
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
    ///
    /// The sign-in is written to the keyring before the browser opens, so closing
    /// the app from then on does not lose it.
    pub async fn sign_in(&self) -> Result<(), Error> {
        let metadata = self.inner.provider.metadata().await?;
        self.name_provider(&metadata);
        self.begin_sign_in(&metadata).await
    }

    async fn begin_sign_in(
        &self,
        metadata: &crate::discovery::ProviderMetadata,
    ) -> Result<(), Error> {
        let config = &self.inner.config;
        let listener = if config.loopback_redirect() {
            Some(Listener::bind(&config.redirect_uri, self.loopback_callbacks()).await?)
        } else {
            None
        };
        let redirect_uri = listener
            .as_ref()
            .map_or(&config.redirect_uri, Listener::redirect_uri);
        let (url, pending) = sign_in::start_with_redirect(config, metadata, redirect_uri);
        let (number, parked) = {
            let mut slot = self.pending();
            let number = self.inner.started.fetch_add(1, Ordering::Relaxed) + 1;
            // Queued under the lock, so the keyring sees sign-ins replace each
            // other in the same order as memory does. A loopback sign-in is not
            // parked: only this run listens on its port, so no later start could
            // receive its callback.
            let parked = match (&self.inner.parked, &listener) {
                (Some(parked), None) => Some(parked.park(&pending)),
                _ => None,
            };
            *slot = Some(Waiting {
                number,
                sign_in: pending,
                _listener: listener,
            });
            (number, parked)
        };
        if let Some(parked) = parked {
            // Failure is logged there; this run can still finish from memory.
            parked::answer(parked, "keep the sign-in").await;
        }
        self.inner.session.set_waiting(true, None);
        if let Err(e) = self.inner.browser.open(&url) {
            tracing::warn!(error = %e, "cannot open the browser");
            self.drop_waiting(number);
            let message = format!("The browser could not be opened: {e}");
            self.inner.session.set_waiting(false, Some(message.clone()));
            return Err(Error::unknown(message));
        }
        tracing::info!("sign-in started in the browser");
        self.expire_later(number);
        Ok(())
    }

    /// What the loopback listener does with the browser's request: exactly what a
    /// deep link gets ([`Client::handle_callback`]). Holds the client weakly, so
    /// a listener never keeps a dropped client alive.
    fn loopback_callbacks(&self) -> loopback::OnCallback {
        let weak = Arc::downgrade(&self.inner);
        Arc::new(move |url: String| {
            let weak = weak.clone();
            Box::pin(async move {
                let Some(inner) = weak.upgrade() else {
                    return Outcome::NotOurs;
                };
                match (Client { inner }).handle_callback(&url).await {
                    Ok(_) => Outcome::SignedIn,
                    Err(Error::Invalid {
                        field: Some(field), ..
                    }) if field == "callback" => Outcome::NotOurs,
                    Err(error) => Outcome::Ended(error.to_string()),
                }
            })
        })
    }

    /// Gives up the sign-in in progress (the person pressed Cancel), here and in
    /// the keyring, so a late link is refused even by a later start of the app.
    ///
    /// Returns at once: the keyring is cleaned in the background, in order with
    /// everything else asked of it.
    pub fn cancel_sign_in(&self) {
        {
            let mut slot = self.pending();
            match slot.take() {
                Some(waiting) => {
                    drop(self.forget(&waiting.sign_in));
                    waiting.sign_in.cancel();
                }
                // A sign-in this run did not start (a cold start) may be parked.
                None => {
                    if let Some(parked) = &self.inner.parked {
                        drop(parked.forget_any());
                    }
                }
            }
        }
        self.inner.session.set_waiting(false, None);
    }

    /// Drops the sign-in `number` from memory and queues deleting it from the
    /// keyring, if it is still the one waiting. Whether it was.
    fn drop_waiting(&self, number: u64) -> bool {
        let mut slot = self.pending();
        match slot.take() {
            Some(waiting) if waiting.number == number => {
                drop(self.forget(&waiting.sign_in));
                true
            }
            other => {
                *slot = other;
                false
            }
        }
    }

    /// Queues deleting `pending` from the keyring (if it is still the one parked
    /// there) without waiting.
    fn forget(&self, pending: &PendingSignIn) -> Option<tokio::sync::oneshot::Receiver<bool>> {
        self.inner.parked.as_ref().map(|p| p.forget(pending))
    }

    /// Handles the deep link the OS delivered (`com.example.timesheets:/oauth/callback?…`).
    ///
    /// A link that does not belong to the sign-in in progress (forged, replayed,
    /// stale, addressed elsewhere) is rejected and logged, sends no request, and
    /// leaves a genuine sign-in waiting.
    ///
    /// When this run has no sign-in waiting (the OS started the app with the link),
    /// the one parked in the keyring is checked instead, by the same rules, plus:
    /// it must be for this issuer, client and redirect URI, and not older than ten
    /// minutes. An accepted link deletes it from the keyring before the code is
    /// exchanged, so it works once, in one run.
    pub async fn handle_callback(&self, url: &str) -> Result<SessionView, Error> {
        let (pending, verdict, cold) = match self.decide(url) {
            Decided::Here(pending, verdict, forgotten) => {
                if let Some(forgotten) = forgotten {
                    // Spent before any request. A failure is logged; the parked
                    // copy then outlives this sign-in until its ten minutes are up,
                    // and a later cold start only accepts it if it can delete it.
                    parked::answer(forgotten, "delete the spent sign-in").await;
                }
                (pending, verdict, false)
            }
            Decided::Claimed(claim) => match parked::answer(claim, "read the sign-in").await {
                Some(Claim::Found(pending, verdict)) => (pending, verdict, true),
                Some(Claim::Nothing) | None => return Err(no_sign_in_waiting()),
            },
            Decided::Kept(rejection) => return Err(rejection.into_error()),
            Decided::Nothing => return Err(no_sign_in_waiting()),
        };
        let accepted = match verdict {
            Ok(accepted) => accepted,
            Err(rejection @ Rejection::NotOurs(reason)) => {
                // Only a parked sign-in gets here: one in memory is put back first.
                if pending.is_expired() {
                    tracing::warn!(
                        reason,
                        "sign-in link rejected; the sign-in kept in the keyring had expired and was deleted"
                    );
                } else {
                    tracing::warn!(
                        reason,
                        "sign-in link rejected; the sign-in kept in the keyring still waits for the real one"
                    );
                }
                return Err(rejection.into_error());
            }
            Err(rejection) => {
                tracing::warn!(?rejection, "sign-in ended by its callback");
                let error = rejection.into_error();
                self.inner
                    .session
                    .set_waiting(false, Some(error.to_string()));
                return Err(error);
            }
        };
        if cold {
            tracing::info!("finishing a sign-in started before the app was restarted");
            self.inner.session.set_waiting(true, None);
        }
        self.exchange(*pending, accepted).await
    }

    /// The first, request-free step of [`handle_callback`](Self::handle_callback):
    /// the verdict on `url` from the sign-in in memory, or the keyring's queued.
    fn decide(&self, url: &str) -> Decided {
        let mut slot = self.pending();
        let Some(waiting) = slot.take() else {
            // Queued under the lock, so a sign-in started meanwhile is saved after
            // this read, and cannot be deleted by it.
            return match &self.inner.parked {
                Some(parked) => {
                    Decided::Claimed(parked.claim(self.inner.config.clone(), url.to_owned()))
                }
                None => Decided::Nothing,
            };
        };
        let verdict = waiting.sign_in.check(url);
        if let Err(Rejection::NotOurs(reason)) = verdict {
            tracing::warn!(
                reason,
                "sign-in link rejected; still waiting for the real one"
            );
            *slot = Some(waiting);
            return Decided::Kept(Rejection::NotOurs(reason));
        }
        let forgotten = self.forget(&waiting.sign_in);
        Decided::Here(Box::new(waiting.sign_in), verdict, forgotten)
    }

    async fn exchange(
        &self,
        pending: PendingSignIn,
        accepted: Accepted,
    ) -> Result<SessionView, Error> {
        match pending.exchange(accepted, &self.inner.provider).await {
            Ok(signed_in) => {
                self.inner
                    .session
                    .establish(signed_in.grant, signed_in.identity)
                    .await;
                tracing::info!("signed in");
                self.present_identity_soon();
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
        let forgotten = {
            let mut slot = self.pending();
            slot.take();
            self.inner.parked.as_ref().map(Parked::forget_any)
        };
        if let Some(forgotten) = forgotten {
            parked::answer(forgotten, "delete the pending sign-in").await;
        }
        self.inner.session.sign_out().await
    }

    /// Today in the person's own time zone: the week the grid opens on.
    pub fn today(&self) -> NaiveDate {
        chrono::Local::now().date_naive()
    }

    /// Others' entries awaiting a decision, for the approval screen: from about
    /// eleven months back to five weeks ahead of today, as the API serves at most a
    /// year per request.
    pub async fn pending_approvals(&self) -> Result<Vec<Entry>, Error> {
        let (from, to) = approval_window(self.today());
        self.inner.api.pending_approvals(from, to).await
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
            Client { inner }.expire(number);
        });
    }

    /// Drops the sign-in `number`, here and in the keyring, if it is still waiting.
    fn expire(&self, number: u64) {
        if self.drop_waiting(number) {
            tracing::info!("sign-in expired");
            self.inner.session.set_waiting(
                false,
                Some("The sign-in took longer than ten minutes, so it was cancelled.".into()),
            );
        }
    }
}

/// How far back and ahead the approval screen looks from `today`: 365 days in all,
/// within the API's one-year limit per request.
fn approval_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    const BACK: u64 = 329;
    const AHEAD: u64 = 35;
    let from = today
        .checked_sub_days(chrono::Days::new(BACK))
        .unwrap_or(today);
    let to = today
        .checked_add_days(chrono::Days::new(AHEAD))
        .unwrap_or(today);
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approval_window_holds_today_and_stays_within_a_year() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        let (from, to) = approval_window(today);
        assert!(from < today && today < to);
        // The API counts both end days and serves at most 366.
        assert!((to - from).num_days() < 366, "{from}..{to}");
    }
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
        // Like a `KeyringStore` with no D-Bus: the second entry opens, and fails too.
        fn sibling(&self, _: &str) -> Option<Arc<dyn CredentialStore>> {
            Some(Arc::new(Silent))
        }
    }

    /// A working store that keeps no second entry (the trait's default).
    #[derive(Default)]
    struct SingleEntry(MemoryStore);

    impl CredentialStore for SingleEntry {
        fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
            self.0.load()
        }
        fn save(&self, token: &Secret<String>) -> Result<(), StoreError> {
            self.0.save(token)
        }
        fn delete(&self) -> Result<(), StoreError> {
            self.0.delete()
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
        ProviderMetadata::plain(&config.issuer)
    }

    fn client(store: Arc<dyn CredentialStore>) -> (Client, Arc<Recorder>) {
        client_with(unreachable_config(), store)
    }

    /// A client for `config`: several over one store are several runs of the app.
    fn client_with(
        config: ClientConfig,
        store: Arc<dyn CredentialStore>,
    ) -> (Client, Arc<Recorder>) {
        let browser = Arc::new(Recorder::default());
        let client = Client::new(config, store, browser.clone()).unwrap_or_else(|e| panic!("{e}"));
        (client, browser)
    }

    /// Waits until the keyring thread has done everything asked of it so far.
    async fn settle(client: &Client) {
        if let Some(parked) = &client.inner.parked {
            assert!(parked::answer(parked.settled(), "settle").await.is_some());
        }
    }

    /// What the second entry holds, as JSON.
    fn parked_json(store: &MemoryStore) -> Option<serde_json::Value> {
        let stored = store.sibling(PENDING_SIGN_IN_SLOT)?.load().ok()??;
        serde_json::from_str(stored.expose()).ok()
    }

    fn parked_state(store: &MemoryStore) -> Option<String> {
        parked_json(store)?
            .get("state")?
            .as_str()
            .map(str::to_owned)
    }

    fn link(state: &str) -> String {
        format!("com.example.timesheets:/oauth/callback?code=abc&state={state}")
    }

    /// Starts a sign-in on a fresh client over `store`, then "closes the app".
    async fn started_then_closed(config: &ClientConfig, store: &Arc<MemoryStore>) -> String {
        let (client, browser) = client_with(config.clone(), store.clone());
        assert!(client.begin_sign_in(&metadata(config)).await.is_ok());
        let state = browser.state();
        assert!(!state.is_empty());
        drop(client);
        state
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
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
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
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
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
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
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
                Some(crate::id_token::Identity {
                    subject: crate::id_token::Subject {
                        issuer: client.config().issuer.clone(),
                        sub: "erin".into(),
                    },
                    user: crate::UserView {
                        name: "Erin Employee".into(),
                        email: None,
                    },
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

    #[tokio::test]
    async fn starting_a_sign_in_parks_it_next_to_the_refresh_token() {
        let store = Arc::new(MemoryStore::new());
        let (client, browser) = client(store.clone());
        let config = client.config().clone();
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let json = parked_json(&store).unwrap_or_else(|| panic!("nothing parked"));
        for key in [
            "state",
            "nonce",
            "verifier",
            "created_at",
            "redirect_uri",
            "issuer",
        ] {
            assert!(json.get(key).is_some(), "no {key} in the parked sign-in");
        }
        assert_eq!(parked_state(&store), Some(browser.state()));
        assert_eq!(
            json.get("issuer").and_then(|v| v.as_str()),
            Some(config.issuer.as_str())
        );
        // The refresh token's entry is untouched.
        assert!(matches!(store.load(), Ok(None)));
        // And nothing secret shows in Debug.
        let verifier = json
            .get("verifier")
            .and_then(|v| v.as_str())
            .unwrap_or("missing");
        let printed = format!(
            "{client:?} {:?}",
            client.pending().as_ref().map(|w| &w.sign_in)
        );
        assert!(!printed.contains(verifier), "{printed}");
        assert!(!printed.contains(&browser.state()), "{printed}");
    }

    #[tokio::test]
    async fn a_cold_start_accepts_the_parked_sign_in_once() {
        let config = unreachable_config();
        let store = Arc::new(MemoryStore::new());
        let state = started_then_closed(&config, &store).await;

        // The OS starts the app afresh with the link.
        let (cold, _) = client_with(config.clone(), store.clone());
        assert!(cold.pending().is_none());
        let first = cold.handle_callback(&link(&state)).await.err();
        // Accepted: it went on to the exchange, which found no provider.
        assert_eq!(first.map(|e| e.code()), Some("offline"));
        assert!(parked_json(&store).is_none(), "the sign-in is not spent");
        // Again, in this run or the next: nothing is waiting anywhere.
        let again = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(again.map(|e| e.code()), Some("invalid"));
        let (third, _) = client_with(config, store.clone());
        let replay = third.handle_callback(&link(&state)).await.err();
        assert_eq!(replay.map(|e| e.code()), Some("invalid"));
    }

    #[tokio::test]
    async fn a_forged_link_to_a_cold_start_spends_nothing() {
        let config = unreachable_config();
        let store = Arc::new(MemoryStore::new());
        let state = started_then_closed(&config, &store).await;
        let (cold, _) = client_with(config, store.clone());
        for forged in [
            link("guess"),
            link(&state[..state.len() - 1]),
            "com.example.timesheets:/oauth/callback?code=abc".to_owned(),
            format!("com.example.timesheets:/elsewhere?code=abc&state={state}"),
            format!("{}&state=x", link(&state)),
        ] {
            let error = cold.handle_callback(&forged).await.err();
            assert_eq!(error.map(|e| e.code()), Some("invalid"), "{forged}");
            assert_eq!(parked_state(&store), Some(state.clone()));
            assert_eq!(cold.view().state, SessionState::SignedOut);
            assert!(cold.pending().is_none());
        }
        let genuine = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(genuine.map(|e| e.code()), Some("offline"));
        assert!(parked_json(&store).is_none());
    }

    #[tokio::test]
    async fn cancelling_deletes_the_parked_sign_in_in_this_run_or_the_next() {
        let config = unreachable_config();
        let store = Arc::new(MemoryStore::new());
        let (client, browser) = client_with(config.clone(), store.clone());
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let state = browser.state();
        client.cancel_sign_in();
        settle(&client).await;
        assert!(parked_json(&store).is_none());
        let (cold, _) = client_with(config.clone(), store.clone());
        let late = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(late.map(|e| e.code()), Some("invalid"));

        // Cancel in a run that did not start the sign-in: the parked one goes too.
        let state = started_then_closed(&config, &store).await;
        let (cold, _) = client_with(config, store.clone());
        cold.cancel_sign_in();
        settle(&cold).await;
        assert!(parked_json(&store).is_none());
        let late = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(late.map(|e| e.code()), Some("invalid"));
    }

    #[tokio::test]
    async fn cancel_then_start_again_keeps_the_new_sign_in() {
        let store = Arc::new(MemoryStore::new());
        let (client, browser) = client(store.clone());
        let config = client.config().clone();
        for _ in 0..5 {
            assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
            // Returns before the keyring is cleaned...
            client.cancel_sign_in();
        }
        // ...yet a sign-in started right after is never deleted by it.
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        settle(&client).await;
        assert_eq!(parked_state(&store), Some(browser.state()));
    }

    #[tokio::test]
    async fn a_new_sign_in_replaces_the_parked_one() {
        let config = unreachable_config();
        let store = Arc::new(MemoryStore::new());
        let (client, browser) = client_with(config.clone(), store.clone());
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let first = browser.state();
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let second = browser.state();
        assert_ne!(first, second);
        assert_eq!(parked_state(&store), Some(second.clone()));
        drop(client);
        let (cold, _) = client_with(config, store.clone());
        let old = cold.handle_callback(&link(&first)).await.err();
        assert_eq!(old.map(|e| e.code()), Some("invalid"));
        assert_eq!(parked_state(&store), Some(second));
    }

    /// Makes the parked sign-in `minutes` older.
    fn age_parked(store: &MemoryStore, minutes: u64) {
        let mut json = parked_json(store).unwrap_or_else(|| panic!("nothing parked"));
        let created = json
            .get("created_at")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_default();
        json["created_at"] = (created - minutes * 60).into();
        let entry = store
            .sibling(PENDING_SIGN_IN_SLOT)
            .unwrap_or_else(|| panic!("no sibling"));
        assert!(entry.save(&Secret::new(json.to_string())).is_ok());
    }

    #[tokio::test]
    async fn an_expired_parked_sign_in_is_refused_and_deleted() {
        let config = unreachable_config();
        let store = Arc::new(MemoryStore::new());

        // Nine minutes old: still good.
        let state = started_then_closed(&config, &store).await;
        age_parked(&store, 9);
        let (cold, _) = client_with(config.clone(), store.clone());
        let error = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(error.map(|e| e.code()), Some("offline"));

        // Eleven minutes old: its own link is told why, and nothing is sent.
        let state = started_then_closed(&config, &store).await;
        age_parked(&store, 11);
        let (cold, _) = client_with(config.clone(), store.clone());
        let error = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(error.as_ref().map(Error::code), Some("signed_out"));
        assert!(error.is_some_and(|e| e.to_string().contains("ten minutes")));
        assert!(parked_json(&store).is_none());
        assert_eq!(cold.view().state, SessionState::SignedOut);

        // Any other link also clears an expired one away.
        let state = started_then_closed(&config, &store).await;
        age_parked(&store, 11);
        let (cold, _) = client_with(config, store.clone());
        let error = cold.handle_callback(&link("guess")).await.err();
        assert_eq!(error.map(|e| e.code()), Some("invalid"));
        assert!(parked_json(&store).is_none());
        let error = cold.handle_callback(&link(&state)).await.err();
        assert_eq!(error.map(|e| e.code()), Some("invalid"));
    }

    #[tokio::test]
    async fn the_ten_minute_timer_deletes_the_parked_sign_in() {
        let store = Arc::new(MemoryStore::new());
        let (client, _) = client(store.clone());
        let config = client.config().clone();
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let number = client.inner.started.load(Ordering::Relaxed);
        // A timer of an earlier sign-in does nothing.
        client.expire(number - 1);
        assert!(client.pending().is_some());
        client.expire(number);
        settle(&client).await;
        assert!(client.pending().is_none());
        assert!(parked_json(&store).is_none());
        assert!(client
            .view()
            .message
            .is_some_and(|m| m.contains("ten minutes")));
    }

    #[tokio::test]
    async fn a_sign_in_that_ends_or_is_signed_out_leaves_nothing_parked() {
        let store = Arc::new(MemoryStore::new());
        let (client, browser) = client(store.clone());
        let config = client.config().clone();
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let declined = format!(
            "com.example.timesheets:/oauth/callback?error=access_denied&state={}",
            browser.state()
        );
        let error = client.handle_callback(&declined).await.err();
        assert_eq!(error.map(|e| e.code()), Some("signed_out"));
        assert!(parked_json(&store).is_none());

        // Accepted in the run that started it: spent before the exchange.
        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        let error = client.handle_callback(&link(&browser.state())).await.err();
        assert_eq!(error.map(|e| e.code()), Some("offline"));
        assert!(parked_json(&store).is_none());

        assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
        assert!(parked_json(&store).is_some());
        let _ = client.sign_out().await;
        assert!(parked_json(&store).is_none());
    }

    #[tokio::test]
    async fn a_parked_sign_in_for_another_redirect_is_not_used() {
        let config = unreachable_config();
        let store = Arc::new(MemoryStore::new());
        let state = started_then_closed(&config, &store).await;
        let elsewhere = ClientConfig {
            redirect_uri: Url::parse("com.example.timesheets:/other/callback")
                .unwrap_or_else(|e| panic!("{e}")),
            ..config
        };
        let (cold, _) = client_with(elsewhere, store.clone());
        let link = format!("com.example.timesheets:/other/callback?code=abc&state={state}");
        let error = cold.handle_callback(&link).await.err();
        assert_eq!(error.map(|e| e.code()), Some("invalid"));
        assert!(parked_json(&store).is_none());
    }

    #[tokio::test]
    async fn without_a_second_entry_only_the_run_that_started_can_finish() {
        for store in [
            Arc::new(SingleEntry::default()) as Arc<dyn CredentialStore>,
            Arc::new(Silent),
        ] {
            let config = unreachable_config();
            let (client, browser) = client_with(config.clone(), store.clone());
            assert!(client.begin_sign_in(&metadata(&config)).await.is_ok());
            assert_eq!(client.view().state, SessionState::WaitingForBrowser);
            let state = browser.state();
            let (cold, _) = client_with(config, store);
            let error = cold.handle_callback(&link(&state)).await.err();
            assert_eq!(error.map(|e| e.code()), Some("invalid"));
            // The run that started it still can.
            let error = client.handle_callback(&link(&state)).await.err();
            assert_eq!(error.map(|e| e.code()), Some("offline"));
        }
    }

    /// How a refused link is made from the real one.
    #[derive(Debug, Clone)]
    enum Bad {
        /// Any text at all.
        Text(String),
        /// The real link with one edit inside its `state`.
        StateEdit(crate::sign_in::link_properties::Edit),
    }

    fn bad() -> impl proptest::strategy::Strategy<Value = Bad> {
        use proptest::prelude::*;
        prop_oneof![
            ".*".prop_map(Bad::Text),
            crate::sign_in::link_properties::edit().prop_map(Bad::StateEdit),
        ]
    }

    fn made(bad: &Bad, link: &str) -> String {
        match bad {
            Bad::Text(text) => text.clone(),
            Bad::StateEdit(edit) => {
                let chars = link.chars().count();
                let state_at = link.find("state=").map_or(0, |at| at + "state=".len());
                crate::sign_in::link_properties::apply(link, edit, state_at..chars, false)
            }
        }
    }

    /// Refused links, in this run or after a restart (the sign-in parked in the
    /// keyring), are answered "not ours", leave the sign-in waiting, and the real
    /// link still gets through afterwards: it is accepted and its code sent (to
    /// a provider that is unreachable here, hence "offline"), once.
    #[test]
    fn refused_links_leave_the_sign_in_waiting_for_the_real_one() {
        use proptest::test_runner::{TestCaseError, TestRunner};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut runner = TestRunner::new(crate::sign_in::link_properties::config());
        let strategy = (proptest::collection::vec(bad(), 1..4), proptest::bool::ANY);
        let result = runner.run(&strategy, |(bads, cold)| {
            runtime.block_on(async {
                let config = unreachable_config();
                let store = Arc::new(MemoryStore::new());
                let (client, state) = if cold {
                    let state = started_then_closed(&config, &store).await;
                    (client_with(config, store.clone()).0, state)
                } else {
                    let (client, browser) = client_with(config.clone(), store.clone());
                    if client.begin_sign_in(&metadata(&config)).await.is_err() {
                        return Err(TestCaseError::fail("cannot start"));
                    }
                    settle(&client).await;
                    (client, browser.state())
                };
                let real = link(&state);
                for bad in &bads {
                    let refused = made(bad, &real);
                    if refused == real {
                        // Replacing a character with itself edits nothing.
                        continue;
                    }
                    let error = client.handle_callback(&refused).await.err();
                    proptest::prop_assert_eq!(
                        error.as_ref().map(|e| e.code()),
                        Some("invalid"),
                        "{:?} was not refused as not ours",
                        refused
                    );
                    if cold {
                        settle(&client).await;
                        proptest::prop_assert_eq!(parked_state(&store), Some(state.clone()));
                    } else {
                        proptest::prop_assert_eq!(
                            client.view().state,
                            SessionState::WaitingForBrowser
                        );
                    }
                }
                let genuine = client.handle_callback(&real).await.err();
                proptest::prop_assert_eq!(genuine.map(|e| e.code()), Some("offline"));
                let replay = client.handle_callback(&real).await.err();
                proptest::prop_assert_eq!(replay.map(|e| e.code()), Some("invalid"));
                Ok(())
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

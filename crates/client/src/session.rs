//! The signed-in session: the tokens, their renewal, and what the UI may see of it.
//!
//! [`Session`] owns the token set. The access token lives in memory only; the
//! refresh token lives in the [keyring](crate::keyring). Everything the front end
//! learns goes through [`SessionView`], which holds no token by construction
//! (tokens are [`Secret`]s, which cannot be serialized).
//!
//! Renewal rules, each one tested:
//!
//! - **Single flight.** Any number of callers that find the access token expired
//!   (or close to it) share one refresh request: they queue on one async mutex and
//!   re-check after taking it, so only the first one asks the provider.
//! - **Renewed a little before expiry.** Each new access token schedules its own
//!   renewal a margin before it expires (30 s, or a quarter of a short lifetime), so
//!   a person who comes back to an idle window finds a fresh token, and a session
//!   ended at the provider (or a provider gone offline) shows up without a click.
//!   It goes through the same single flight as the calls.
//! - **Rotation is saved first.** A refresh returns a new refresh token (the old
//!   one is now dead); it is written to the store before the new access token is
//!   handed to anyone, so a crash can never leave only a dead token behind.
//! - **A refused refresh ends the session.** `invalid_grant` (expired, revoked,
//!   reused) deletes the stored token and signs out with a message that says why.
//! - **A network failure does not.** The session is marked `offline`, callers get
//!   [`Error::Offline`] at once, and a background task retries with exponential
//!   backoff (1 s, 2 s, 4 s, … capped at 30 s) until the provider answers.
//!
//! Every change is published on a `tokio::sync::watch` channel
//! ([`Session::subscribe`]) so the shell can push a `session-changed` event.

use crate::config::ClientConfig;
use crate::discovery::{Provider, TokenResponse, TokenTransport, TransportError};
use crate::error::Error;
use crate::id_token::{verify_refreshed, Identity, Refreshed, Subject};
use crate::keyring::{Kept, Vault};
use crate::secret::Secret;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, TokenResponse as _};
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use timesheets_core::Scopes;
use tokio::sync::watch;

/// Where the session stands, as the front end names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Nobody is signed in: show the sign-in screen.
    SignedOut,
    /// The browser is open on the provider's sign-in page; sign-in can be cancelled.
    WaitingForBrowser,
    /// Someone is signed in.
    SignedIn,
}

/// Who is signed in, from the ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// The display name (falls back to the email, then the subject).
    pub name: String,
    /// The email address, when the provider shares it.
    pub email: Option<String>,
}

/// Everything the front end may know about the session. Holds no token: it is
/// safe to serialize and send to the web view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    /// Signed out, waiting for the browser, or signed in.
    pub state: SessionState,
    /// The provider's display name: the issuer's host, or
    /// "Development sign-in (127.0.0.1:8081)" for the local provider.
    pub provider: String,
    /// Who is signed in, when known.
    pub user: Option<UserView>,
    /// The timesheet scopes granted (the UI enables actions by these; the API decides).
    pub scopes: Vec<String>,
    /// Something the person should read: why they were signed out, a keyring problem.
    pub message: Option<String>,
    /// Whether the sign-in is kept in the OS keyring for the next start.
    pub remembered: bool,
    /// Whether a server could not be reached; the app keeps retrying.
    pub offline: bool,
    /// Whether the timesheet server answers but cannot verify sign-ins right now
    /// (503 `temporarily_unavailable`: it cannot get its issuer's keys, a problem
    /// of its configuration or of the provider, not of this computer's network).
    /// Unsaved work is kept and the app keeps retrying.
    pub cannot_verify: bool,
}

/// An access token to send, and which renewal it came from (to tell, after a 401,
/// whether someone else has already renewed).
pub(crate) struct Bearer {
    pub(crate) token: Secret<String>,
    pub(crate) generation: u64,
}

/// A token endpoint answer, with every credential wrapped.
pub(crate) struct Grant {
    pub(crate) access: Secret<String>,
    pub(crate) expires_in: Option<Duration>,
    pub(crate) refresh: Option<Secret<String>>,
    pub(crate) scope: Option<String>,
    pub(crate) id_token: Option<Secret<String>>,
}

impl Grant {
    pub(crate) fn from_response(response: &TokenResponse) -> Self {
        Grant {
            access: Secret::new(response.access_token().secret().clone()),
            expires_in: response.expires_in(),
            refresh: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            scope: response.scopes().map(|scopes| {
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            id_token: response.extra_fields().id_token.clone().map(Secret::new),
        }
    }
}

/// The current token set.
struct Tokens {
    /// `None` right after a restore, until the first refresh.
    access: Option<Secret<String>>,
    expires_at: Option<Instant>,
    /// How long before `expires_at` the token counts as expired.
    margin: Duration,
    refresh: Option<Secret<String>>,
    generation: u64,
    scopes: Scopes,
    user: Option<UserView>,
    /// Whom the session's ID tokens name: set by the first verified one (at the
    /// browser sign-in, or the first refresh after a restore); every later one
    /// must name the same person (OpenID Connect Core §12.2).
    subject: Option<Subject>,
}

/// When to renew a token set ahead of its expiry, and which one it was.
struct Renewal {
    due: Instant,
    generation: u64,
}

impl Tokens {
    /// The moment this access token stops counting as fresh: a margin before it
    /// expires. `None` when the provider gave no lifetime (renewed only on a 401).
    fn renewal(&self) -> Option<Renewal> {
        let expires_at = self.expires_at?;
        Some(Renewal {
            due: expires_at.checked_sub(self.margin).unwrap_or(expires_at),
            generation: self.generation,
        })
    }

    fn fresh_access(&self, now: Instant) -> Option<Bearer> {
        let access = self.access.as_ref()?;
        let fresh = self.expires_at.is_none_or(|at| now + self.margin < at);
        fresh.then(|| Bearer {
            token: access.clone(),
            generation: self.generation,
        })
    }
}

/// The longest a token is renewed ahead of its expiry.
const MAX_MARGIN: Duration = Duration::from_secs(30);
/// The longest wait between two attempts to reach the provider.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long before expiry to renew: 30 s, or a quarter of a short lifetime, so a
/// token that lives only seconds (tests, strict providers) is not renewed on every call.
fn margin(lifetime: Option<Duration>) -> Duration {
    lifetime.map_or(MAX_MARGIN, |l| (l / 4).min(MAX_MARGIN))
}

/// The wait after `failures` failed attempts in a row: 1 s, 2 s, 4 s, … up to 30 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

/// The messages a person reads when the session ends.
pub(crate) mod messages {
    /// The provider refused the refresh token (expired, revoked elsewhere).
    pub const ENDED: &str = "Your session ended: you were signed out elsewhere or it expired. \
        Please sign in again.";
    /// The provider reported the token revoked or reused.
    pub const REVOKED: &str = "Your session was ended for your safety: the sign-in server \
        reports that this sign-in was revoked or used from somewhere else. Please sign in again.";
    /// No refresh token to renew with.
    pub const EXPIRED: &str = "Your session expired. Please sign in again.";
    /// Not signed in at all.
    pub const SIGNED_OUT: &str = "You are not signed in. Please sign in.";
    /// The provider granted no refresh token.
    pub const NO_REFRESH: &str = "The sign-in server did not allow staying signed in \
        (no offline_access), so you will need to sign in again when this session ends.";
    /// A refreshed ID token named another person than the one signed in.
    pub const OTHER_PERSON: &str = "The sign-in server answered for a different account \
        than the one signed in, so you were signed out for your safety. Please sign in again.";
    /// A refreshed ID token failed its checks.
    pub const UNVERIFIED: &str = "The sign-in server's answer could not be verified, so you \
        were signed out for your safety. Please sign in again.";
    /// Sign-out could not reach the provider.
    pub const NOT_REVOKED: &str = "You are signed out on this computer, but the sign-in \
        server could not be reached to cancel the sign-in there.";
}

/// How a renewal was asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Renew {
    /// The caller found the access token expired: renew unless someone just did.
    Expired,
    /// The API refused the token of this generation: renew unless someone already did.
    Rejected(u64),
    /// The background retry after a network failure: ignores the backoff window.
    Retry,
}

/// How the refresh request failed.
enum RefreshFailure {
    /// `invalid_grant`: the session is over. `revoked` when the provider said why.
    Refused { revoked: bool },
    /// The provider could not be reached, or answered with a server error.
    Unreachable,
    /// Anything else (misconfiguration, unreadable answer).
    Other(Error),
}

#[derive(Default)]
struct Retry {
    failures: u32,
    next_at: Option<Instant>,
    running: bool,
}

struct State {
    tokens: Option<Tokens>,
    waiting: bool,
    message: Option<String>,
    remembered: bool,
    offline: bool,
    cannot_verify: bool,
    retry: Retry,
    generation: u64,
    /// The ID token of this sign-in, until it has been shown to the API once
    /// (`PUT /v1/me`) so managers see the person's name.
    unpresented_id_token: Option<Secret<String>>,
}

struct Inner {
    provider: Arc<Provider>,
    vault: Vault,
    /// What the sign-in screen calls the provider; refined once discovery says
    /// whether it is the bundled development provider.
    provider_name: Mutex<String>,
    state: Mutex<State>,
    /// Held for the whole of a refresh, sign-in or sign-out: the single flight.
    gate: tokio::sync::Mutex<()>,
    view: watch::Sender<SessionView>,
    refreshes: std::sync::atomic::AtomicU64,
    /// Whether access tokens are renewed ahead of their expiry (see [`Session::set_renew_ahead`]).
    renew_ahead: std::sync::atomic::AtomicBool,
}

/// The session: cheap to clone, all clones share one token set.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("view", &self.view())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(provider: Arc<Provider>, vault: Vault) -> Self {
        let provider_name = provider.config().provider_name(false);
        let initial = SessionView {
            state: SessionState::SignedOut,
            provider: provider_name.clone(),
            user: None,
            scopes: Vec::new(),
            message: None,
            remembered: false,
            offline: false,
            cannot_verify: false,
        };
        let (view, _) = watch::channel(initial);
        Session {
            inner: Arc::new(Inner {
                provider,
                vault,
                provider_name: Mutex::new(provider_name),
                state: Mutex::new(State {
                    tokens: None,
                    waiting: false,
                    message: None,
                    remembered: false,
                    offline: false,
                    cannot_verify: false,
                    retry: Retry::default(),
                    generation: 0,
                    unpresented_id_token: None,
                }),
                gate: tokio::sync::Mutex::new(()),
                view,
                refreshes: std::sync::atomic::AtomicU64::new(0),
                renew_ahead: std::sync::atomic::AtomicBool::new(true),
            }),
        }
    }

    /// What the front end may see now.
    pub fn view(&self) -> SessionView {
        self.inner.view.borrow().clone()
    }

    /// Every change of [`SessionView`], for the shell's `session-changed` event.
    pub fn subscribe(&self) -> watch::Receiver<SessionView> {
        self.inner.view.subscribe()
    }

    /// How many refresh requests this session has sent (for diagnostics and tests).
    pub fn refresh_count(&self) -> u64 {
        self.inner
            .refreshes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Turns the renewal ahead of expiry on (the default) or off. Off, a token is
    /// renewed only when a call finds it (nearly) expired: for tests that need an
    /// access token to expire while nobody calls.
    pub fn set_renew_ahead(&self, on: bool) {
        self.inner
            .renew_ahead
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    fn config(&self) -> &ClientConfig {
        self.inner.provider.config()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written
        // (every update is a few assignments), so a poisoned lock is still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Recomputes the view from the state and publishes it if it changed.
    fn publish(&self) {
        let view = {
            let st = self.state();
            let state = if st.waiting {
                SessionState::WaitingForBrowser
            } else if st.tokens.is_some() {
                SessionState::SignedIn
            } else {
                SessionState::SignedOut
            };
            let tokens = st.tokens.as_ref();
            let provider = self
                .inner
                .provider_name
                .lock()
                .map(|name| name.clone())
                .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
            SessionView {
                state,
                provider,
                user: tokens.and_then(|t| t.user.clone()),
                scopes: tokens
                    .map(|t| t.scopes.iter().map(|s| s.as_str().to_owned()).collect())
                    .unwrap_or_default(),
                message: st.message.clone(),
                remembered: tokens.is_some() && st.remembered,
                offline: st.offline,
                cannot_verify: tokens.is_some() && st.cannot_verify,
            }
        };
        self.inner.view.send_if_modified(|current| {
            let changed = *current != view;
            *current = view;
            changed
        });
    }

    /// Marks the browser sign-in as started or over; `message` replaces the current one.
    pub(crate) fn set_waiting(&self, waiting: bool, message: Option<String>) {
        {
            let mut st = self.state();
            st.waiting = waiting;
            st.message = message;
        }
        self.publish();
    }

    /// Records whether the last request reached its server (for the `offline` flag).
    pub(crate) fn note_reachable(&self, reachable: bool) {
        {
            let mut st = self.state();
            if reachable && st.retry.next_at.is_some() {
                // The provider is still unreachable; the API answering does not change that.
                return;
            }
            st.offline = !reachable;
        }
        self.publish();
    }

    /// Records whether the API could verify the last sign-in it was shown (for
    /// the `cannot_verify` flag).
    pub(crate) fn note_verifiable(&self, verifiable: bool) {
        self.state().cannot_verify = !verifiable;
        self.publish();
    }

    /// Names the provider as discovery describes it (see
    /// [`ClientConfig::provider_name`]).
    pub(crate) fn set_provider_name(&self, name: String) {
        {
            let mut current = self
                .inner
                .provider_name
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *current = name;
        }
        self.publish();
    }

    /// The ID token of this sign-in if the API has not been shown it yet; taken,
    /// so it is presented once per sign-in.
    pub(crate) fn take_unpresented_id_token(&self) -> Option<Secret<String>> {
        self.state().unpresented_id_token.take()
    }

    /// Puts back an ID token whose presentation failed for a passing reason,
    /// unless the session has moved on to another sign-in meanwhile.
    pub(crate) fn keep_unpresented_id_token(&self, id_token: Secret<String>) {
        let mut st = self.state();
        if st.tokens.is_some() && st.unpresented_id_token.is_none() {
            st.unpresented_id_token = Some(id_token);
        }
    }

    /// Restores a session from the stored refresh token, without the browser.
    /// Problems end up in the view's message; this never fails.
    pub async fn restore(&self) -> SessionView {
        {
            let _gate = self.inner.gate.lock().await;
            if self.state().tokens.is_some() {
                return self.view();
            }
            let (token, kept) = self.inner.vault.load().await;
            // Whose token it is, when this version stored it: a refreshed ID
            // token must name the same person as before the restart.
            let subject = match token {
                Some(_) => self.inner.vault.load_account().await,
                None => None,
            }
            .map(|(issuer, sub)| Subject { issuer, sub });
            {
                let mut st = self.state();
                st.remembered = kept.remembered;
                st.message = kept.warning;
                if let Some(refresh) = token {
                    st.generation += 1;
                    st.tokens = Some(Tokens {
                        access: None,
                        expires_at: None,
                        margin: MAX_MARGIN,
                        refresh: Some(refresh),
                        generation: st.generation,
                        // Absent a `scope` in the refresh answer, the grant is as requested.
                        scopes: granted_scopes(None, self.config()),
                        user: None,
                        subject,
                    });
                } else {
                    drop(st);
                    self.publish();
                    return self.view();
                }
            }
        }
        match self.renew(Renew::Expired).await {
            Ok(_) | Err(Error::Offline { .. }) | Err(Error::SignedOut { .. }) => {}
            Err(other) => {
                // E.g. a misconfigured issuer: keep the stored token (fixing the
                // configuration brings the session back) but do not pretend to be in.
                tracing::warn!(code = other.code(), "cannot restore the session");
                {
                    let mut st = self.state();
                    st.tokens = None;
                    st.message = Some(other.to_string());
                }
                self.publish();
            }
        }
        self.view()
    }

    /// Installs the tokens of a completed browser sign-in.
    pub(crate) async fn establish(&self, grant: Grant, identity: Option<Identity>) {
        let (user, subject) = match identity {
            Some(identity) => (Some(identity.user), Some(identity.subject)),
            None => (None, None),
        };
        let _gate = self.inner.gate.lock().await;
        let kept = match &grant.refresh {
            Some(refresh) => {
                let kept = self.inner.vault.save(refresh).await;
                if let Some(subject) = &subject {
                    self.inner
                        .vault
                        .save_account(&subject.issuer, &subject.sub)
                        .await;
                }
                kept
            }
            None => {
                // An older token in the store belongs to an earlier session.
                let _ = self.inner.vault.delete().await;
                Kept {
                    remembered: false,
                    warning: Some(messages::NO_REFRESH.to_owned()),
                }
            }
        };
        let scopes = granted_scopes(grant.scope.as_deref(), self.config());
        let renewal = {
            let mut st = self.state();
            st.generation += 1;
            // Only a verified one: sign-in refuses an ID token that fails its checks.
            st.unpresented_id_token = grant.id_token.clone().filter(|_| user.is_some());
            st.cannot_verify = false;
            let tokens = Tokens {
                expires_at: grant.expires_in.map(|d| Instant::now() + d),
                margin: margin(grant.expires_in),
                access: Some(grant.access),
                refresh: grant.refresh,
                generation: st.generation,
                scopes,
                user,
                subject,
            };
            let renewal = tokens.renewal();
            st.tokens = Some(tokens);
            st.waiting = false;
            st.offline = false;
            st.retry = Retry::default();
            st.remembered = kept.remembered;
            st.message = kept.warning;
            renewal
        };
        self.publish();
        self.schedule_renewal(renewal);
    }

    /// An access token to send: the current one if fresh, else a renewed one.
    pub(crate) async fn bearer(&self) -> Result<Bearer, Error> {
        {
            let st = self.state();
            match st.tokens.as_ref() {
                None => return Err(signed_out_error(&st)),
                Some(tokens) => {
                    if let Some(bearer) = tokens.fresh_access(Instant::now()) {
                        return Ok(bearer);
                    }
                }
            }
        }
        self.renew(Renew::Expired).await
    }

    /// A new access token after the API refused the one of `generation`.
    pub(crate) async fn renew_rejected(&self, generation: u64) -> Result<Bearer, Error> {
        self.renew(Renew::Rejected(generation)).await
    }

    async fn renew(&self, why: Renew) -> Result<Bearer, Error> {
        let _gate = self.inner.gate.lock().await;
        let refresh = {
            let st = self.state();
            let Some(tokens) = st.tokens.as_ref() else {
                return Err(signed_out_error(&st));
            };
            match why {
                Renew::Expired | Renew::Retry => {
                    if let Some(bearer) = tokens.fresh_access(Instant::now()) {
                        return Ok(bearer); // someone renewed while we queued
                    }
                }
                Renew::Rejected(seen) => {
                    if tokens.generation != seen {
                        if let Some(access) = &tokens.access {
                            return Ok(Bearer {
                                token: access.clone(),
                                generation: tokens.generation,
                            });
                        }
                    }
                }
            }
            if why != Renew::Retry && st.retry.next_at.is_some_and(|at| Instant::now() < at) {
                // Offline and backing off: fail fast instead of hammering the provider.
                return Err(Error::offline("the sign-in server"));
            }
            tokens.refresh.clone()
        };
        let Some(refresh) = refresh else {
            self.end(messages::EXPIRED).await;
            return Err(Error::signed_out(messages::EXPIRED));
        };

        self.inner
            .refreshes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.request_refresh(&refresh).await {
            Ok(grant) => self.install(grant, refresh).await,
            Err(RefreshFailure::Refused { revoked }) => {
                let message = if revoked {
                    messages::REVOKED
                } else {
                    messages::ENDED
                };
                tracing::info!(revoked, "refresh refused; signing out");
                self.end(message).await;
                Err(Error::signed_out(message))
            }
            Err(RefreshFailure::Unreachable) => {
                let wait = {
                    let mut st = self.state();
                    st.offline = true;
                    st.retry.failures = st.retry.failures.saturating_add(1);
                    let wait = backoff(st.retry.failures);
                    st.retry.next_at = Some(Instant::now() + wait);
                    wait
                };
                tracing::info!(
                    retry_in_ms = wait.as_millis() as u64,
                    "provider unreachable; will retry"
                );
                self.publish();
                self.spawn_retry();
                Err(Error::offline("the sign-in server"))
            }
            Err(RefreshFailure::Other(error)) => Err(error),
        }
    }

    /// Checks who the refresh answer's ID token names, stores the rotated refresh
    /// token, then makes the new access token current.
    ///
    /// An ID token that fails its checks or names another person than the one
    /// signed in (OpenID Connect Core §12.2) ends the session instead: nothing of
    /// the answer is used, the stored refresh token is deleted, and the person is
    /// asked to sign in again.
    async fn install(&self, grant: Grant, old_refresh: Secret<String>) -> Result<Bearer, Error> {
        let original = self.state().tokens.as_ref().and_then(|t| t.subject.clone());
        let identity = match &grant.id_token {
            Some(id_token) => {
                match verify_refreshed(&self.inner.provider, id_token, original.as_ref()).await {
                    Refreshed::Confirmed(identity) => Some(identity),
                    Refreshed::Unchecked => None,
                    Refreshed::Refused { other_person } => {
                        let message = if other_person {
                            messages::OTHER_PERSON
                        } else {
                            messages::UNVERIFIED
                        };
                        self.end(message).await;
                        return Err(Error::signed_out(message));
                    }
                }
            }
            None => None,
        };
        // Rotation: the new refresh token goes to the store before the new access
        // token is used, so the store never holds only a dead token.
        let kept = match &grant.refresh {
            Some(new_refresh) => Some(self.inner.vault.save(new_refresh).await),
            None => None,
        };
        let (user, subject) = match identity {
            Some(identity) => (Some(identity.user), Some(identity.subject)),
            None => (None, None),
        };
        // The first ID token since a restore by an earlier version names the
        // person from now on, across restarts too.
        if let (None, Some(subject)) = (&original, &subject) {
            self.inner
                .vault
                .save_account(&subject.issuer, &subject.sub)
                .await;
        }
        let (bearer, renewal) = {
            let mut st = self.state();
            st.generation += 1;
            let generation = st.generation;
            let previous = st.tokens.take();
            // The first access token after a restore starts this run's sign-in:
            // its ID token is presented to the API once, as after the browser.
            let first_of_session = previous.as_ref().is_none_or(|t| t.access.is_none());
            if first_of_session && user.is_some() {
                st.unpresented_id_token = grant.id_token.clone();
            }
            let (previous_scopes, previous_user, previous_subject) = previous
                .map(|t| (Some(t.scopes), t.user, t.subject))
                .unwrap_or((None, None, None));
            let scopes = match grant.scope.as_deref() {
                Some(scope) => timesheet_scopes(scope.split(' ')),
                None => previous_scopes.unwrap_or_else(|| granted_scopes(None, self.config())),
            };
            let tokens = Tokens {
                expires_at: grant.expires_in.map(|d| Instant::now() + d),
                margin: margin(grant.expires_in),
                access: Some(grant.access.clone()),
                refresh: Some(grant.refresh.unwrap_or(old_refresh)),
                generation,
                scopes,
                user: user.or(previous_user),
                subject: previous_subject.or(subject),
            };
            let renewal = tokens.renewal();
            st.tokens = Some(tokens);
            st.offline = false;
            st.retry.failures = 0;
            st.retry.next_at = None;
            if let Some(kept) = kept {
                st.remembered = kept.remembered;
                st.message = kept.warning;
            } else if st.message.is_some() && st.remembered {
                st.message = None;
            }
            let bearer = Bearer {
                token: grant.access,
                generation,
            };
            (bearer, renewal)
        };
        self.publish();
        self.schedule_renewal(renewal);
        Ok(bearer)
    }

    /// Renews the token set `renewal` names when it falls due, unless it has been
    /// replaced or ended by then, has no refresh token, the session is offline (the
    /// retry loop is already on it), or renewing ahead is off. A refusal or a network failure is handled
    /// as for any call: sign-out with a reason, or offline and retrying.
    fn schedule_renewal(&self, renewal: Option<Renewal>) {
        let Some(renewal) = renewal else { return };
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(renewal.due)).await;
            let Some(inner) = weak.upgrade() else { return };
            let session = Session { inner };
            if !session
                .inner
                .renew_ahead
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                return;
            }
            {
                let st = session.state();
                // Without a refresh token there is nothing to renew with: the
                // session lasts until the access token expires, not a margin less.
                let renewable = st
                    .tokens
                    .as_ref()
                    .is_some_and(|t| t.generation == renewal.generation && t.refresh.is_some());
                if !renewable || st.retry.next_at.is_some() {
                    return;
                }
            }
            match session.renew(Renew::Expired).await {
                Ok(_) => tracing::debug!("access token renewed ahead of its expiry"),
                Err(error) => {
                    tracing::info!(code = error.code(), "cannot renew ahead of expiry")
                }
            }
        });
    }

    /// Ends the session locally: forgets the tokens and deletes the stored one.
    async fn end(&self, message: &str) {
        let _ = self.inner.vault.delete().await;
        {
            let mut st = self.state();
            st.tokens = None;
            st.offline = false;
            st.cannot_verify = false;
            st.unpresented_id_token = None;
            st.retry.failures = 0;
            st.retry.next_at = None;
            st.remembered = false;
            st.message = Some(message.to_owned());
        }
        self.publish();
    }

    async fn request_refresh(&self, refresh: &Secret<String>) -> Result<Grant, RefreshFailure> {
        let provider = &self.inner.provider;
        let client = provider.oauth().await.map_err(|e| match e {
            Error::Offline { .. } => RefreshFailure::Unreachable,
            other => RefreshFailure::Other(other),
        })?;
        let token = RefreshToken::new(refresh.expose().clone());
        let mut request = client.exchange_refresh_token(&token);
        if let Some(resource) = &self.config().resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        let transport = TokenTransport(provider.http());
        match request.request_async(&transport).await {
            Ok(response) => Ok(Grant::from_response(&response)),
            Err(RequestTokenError::ServerResponse(response)) => match response.error() {
                BasicErrorResponseType::InvalidGrant => {
                    let description = response.error_description().map(|d| d.to_lowercase());
                    let revoked = description.is_some_and(|d| {
                        d.contains("revoked") || d.contains("reuse") || d.contains("already used")
                    });
                    Err(RefreshFailure::Refused { revoked })
                }
                BasicErrorResponseType::Extension(code) if code == "temporarily_unavailable" => {
                    Err(RefreshFailure::Unreachable)
                }
                other => {
                    tracing::warn!(error = %other.as_ref(), "refresh refused");
                    Err(RefreshFailure::Other(Error::unknown(format!(
                        "The sign-in server refused to renew the session ({}). Check the app's client id.",
                        other.as_ref()
                    ))))
                }
            },
            Err(RequestTokenError::Request(e)) => {
                tracing::info!(error = %e, "refresh request failed");
                match e {
                    TransportError::Unreachable(_) | TransportError::Server(_) => {
                        Err(RefreshFailure::Unreachable)
                    }
                }
            }
            Err(RequestTokenError::Parse(e, _body)) => {
                // The body may hold tokens: never log it.
                tracing::warn!(error = %e, "refresh answer is not valid");
                Err(RefreshFailure::Other(Error::unknown(
                    "The sign-in server's answer could not be read.",
                )))
            }
            Err(RequestTokenError::Other(e)) => {
                tracing::warn!(error = %e, "refresh failed");
                Err(RefreshFailure::Other(Error::unknown(
                    "The sign-in server's answer could not be used.",
                )))
            }
        }
    }

    /// Starts the background retry after a network failure, once.
    fn spawn_retry(&self) {
        {
            let mut st = self.state();
            if st.retry.running {
                return;
            }
            st.retry.running = true;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let wait = {
                    let Some(inner) = weak.upgrade() else { return };
                    let session = Session { inner };
                    let mut st = session.state();
                    match st.retry.next_at {
                        Some(at) if st.tokens.is_some() => {
                            at.saturating_duration_since(Instant::now())
                        }
                        _ => {
                            st.retry.running = false;
                            return;
                        }
                    }
                };
                tokio::time::sleep(wait).await;
                let Some(inner) = weak.upgrade() else { return };
                let session = Session { inner };
                match session.renew(Renew::Retry).await {
                    Err(Error::Offline { .. }) => continue,
                    _ => {
                        session.state().retry.running = false;
                        return;
                    }
                }
            }
        });
    }

    /// Signs out: revokes the refresh token at the provider (RFC 7009) where it
    /// can, deletes the stored one, forgets the access token. Always ends signed
    /// out; an error says what could not be cleaned up.
    pub async fn sign_out(&self) -> Result<(), Error> {
        let _gate = self.inner.gate.lock().await;
        let tokens = self.state().tokens.take();
        let mut message = None;
        if let Some(refresh) = tokens.and_then(|t| t.refresh) {
            if let Err(reason) = self.revoke(refresh).await {
                tracing::info!(reason, "refresh token not revoked");
                message = Some(messages::NOT_REVOKED.to_owned());
            }
        }
        let deleted = self.inner.vault.delete().await;
        {
            let mut st = self.state();
            st.tokens = None;
            st.waiting = false;
            st.offline = false;
            st.cannot_verify = false;
            st.unpresented_id_token = None;
            st.retry.failures = 0;
            st.retry.next_at = None;
            st.remembered = false;
            st.message = message;
        }
        self.publish();
        deleted.map_err(|e| {
            Error::unknown(format!(
                "You are signed out, but the saved sign-in could not be removed from your keyring ({e})."
            ))
        })
    }

    /// RFC 7009 revocation, sent by hand: `oauth2` refuses a non-https revocation
    /// endpoint, and the development provider is plain http on loopback.
    async fn revoke(&self, refresh: Secret<String>) -> Result<(), &'static str> {
        let provider = &self.inner.provider;
        let metadata = provider.metadata().await.map_err(|_| "no metadata")?;
        let Some(endpoint) = metadata.revocation_endpoint.clone() else {
            return Ok(()); // nothing to revoke with; deleting locally is all there is
        };
        let form = [
            ("token", refresh.expose().as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", self.config().client_id.as_str()),
        ];
        let response = provider
            .http()
            .post(endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|_| "revocation request failed")?;
        if response.status().is_success() {
            Ok(())
        } else {
            tracing::warn!(status = %response.status(), "revocation refused");
            Err("revocation refused")
        }
    }
}

/// The scopes granted: the response's `scope`, or, absent, the scopes requested
/// (RFC 6749 §5.1).
fn granted_scopes(scope: Option<&str>, config: &ClientConfig) -> Scopes {
    match scope {
        Some(scope) => timesheet_scopes(scope.split(' ')),
        None => timesheet_scopes(config.scopes.iter().map(String::as_str)),
    }
}

/// The timesheet scopes among `names`, also when a provider qualifies them with
/// the API's URI (Microsoft Entra ID asks for and grants
/// `api://APP-ID/read:timesheets`, while its access tokens say `read:timesheets`).
/// Only the buttons follow this; the API reads the access token.
fn timesheet_scopes<'a>(names: impl IntoIterator<Item = &'a str>) -> Scopes {
    Scopes::from_names(names.into_iter().map(|name| match name.rsplit_once('/') {
        Some((api, short)) if api.contains("://") => short,
        _ => name,
    }))
}

fn signed_out_error(st: &State) -> Error {
    Error::signed_out(
        st.message
            .clone()
            .unwrap_or_else(|| messages::SIGNED_OUT.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use timesheets_core::Scope;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn scopes_qualified_by_the_api_uri_count_and_others_do_not() {
        let granted = timesheet_scopes(
            "openid api://6731/read:timesheets https://api.example.com/x/approve:timesheets \
             create:timesheets urn:x/delete:timesheets read:timesheets/other"
                .split(' '),
        );
        let names: Vec<Scope> = granted.iter().collect();
        assert_eq!(names, vec![Scope::Read, Scope::Create, Scope::Approve]);
    }

    #[test]
    fn short_lived_tokens_renew_a_quarter_before_expiry() {
        assert_eq!(margin(Some(Duration::from_secs(3600))), MAX_MARGIN);
        assert_eq!(
            margin(Some(Duration::from_secs(2))),
            Duration::from_millis(500)
        );
        assert_eq!(margin(None), MAX_MARGIN);
    }

    #[test]
    fn the_view_serializes_with_the_agreed_names_and_no_token() {
        let view = SessionView {
            state: SessionState::WaitingForBrowser,
            provider: "Development sign-in (127.0.0.1:8081)".into(),
            user: Some(UserView {
                name: "Erin Employee".into(),
                email: Some("employee@example.com".into()),
            }),
            scopes: vec!["read:timesheets".into()],
            message: None,
            remembered: true,
            offline: false,
            cannot_verify: false,
        };
        let json = serde_json::to_value(&view).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "state": "waiting_for_browser",
                "provider": "Development sign-in (127.0.0.1:8081)",
                "user": {"name": "Erin Employee", "email": "employee@example.com"},
                "scopes": ["read:timesheets"],
                "message": null,
                "remembered": true,
                "offline": false,
                "cannot_verify": false,
            })
        );
    }
}

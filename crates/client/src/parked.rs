//! The sign-in in progress, parked in the keyring so a cold start can finish it.
//!
//! The person may close the app while the browser sign-in is open; the OS then
//! starts the app afresh with the sign-in link. The in-memory pending sign-in is
//! gone by then, so [`Client`](crate::Client) also keeps it in a second keyring
//! entry ([`PENDING_SIGN_IN_SLOT`](crate::keyring::PENDING_SIGN_IN_SLOT)) and, when
//! a link finds nothing in memory, [`Parked::claim`]s it from there.
//!
//! Every call on the entry runs on one thread of its own, in the order the calls
//! were made. That order is what keeps the entry in step with memory: cancelling
//! (a synchronous Tauri command, with no async runtime to lean on) and then
//! starting again must not let the cancel's delete land after the new sign-in's
//! save. Keyring calls block (D-Bus, Keychain, and an unlock prompt may wait on the
//! person), so they never run on the caller's thread. And [`Parked::claim`] is one
//! step on that thread, load, check and delete together, so two deliveries of the
//! same link (the OS may hand it over twice at a cold start) cannot both accept it.
//!
//! Nothing here fails loudly: a keyring that does not answer only means a cold
//! start cannot finish the sign-in, while this run still can from memory.

use crate::config::ClientConfig;
use crate::keyring::CredentialStore;
use crate::sign_in::{stored_state_is, Accepted, PendingSignIn, Rejection};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::oneshot;

/// How long a caller waits for the keyring before going on without it. The call
/// itself still runs, later, in its turn.
const PATIENCE: Duration = Duration::from_secs(20);

type Job = Box<dyn FnOnce(&dyn CredentialStore) + Send>;

/// The second keyring entry, behind its own thread. Dropping it lets the thread
/// finish what was asked and end.
pub(crate) struct Parked {
    jobs: mpsc::Sender<Job>,
}

/// What a link found in the keyring.
pub(crate) enum Claim {
    /// No sign-in is parked (or the keyring did not answer, or what was there could
    /// not be used and was deleted).
    Nothing,
    /// The parked sign-in and the verdict on the link. When the link was accepted
    /// or ended the sign-in, or the sign-in had expired, the entry is already
    /// deleted; when the link is not ours, the entry is left for the real one.
    Found(Box<PendingSignIn>, Result<Accepted, Rejection>),
}

impl Parked {
    /// The thread for `store`. `None` when no thread can be started: then sign-ins
    /// live in memory only.
    pub(crate) fn start(store: Arc<dyn CredentialStore>) -> Option<Parked> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("timesheets-pending-sign-in".into())
            .spawn(move || {
                for job in queue {
                    // A panicking keyring backend must not take the later calls with
                    // it; the caller of this one sees its answer go missing.
                    let outcome =
                        std::panic::catch_unwind(AssertUnwindSafe(|| job(store.as_ref())));
                    if outcome.is_err() {
                        tracing::warn!("a keyring call for the pending sign-in panicked");
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Parked { jobs }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the keyring thread; sign-ins will not survive a restart");
                None
            }
        }
    }

    /// Queues `job`; its answer comes on the receiver. Never blocks.
    fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce(&dyn CredentialStore) -> T + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let (answer, receiver) = oneshot::channel();
        let queued = self.jobs.send(Box::new(move |store: &dyn CredentialStore| {
            let _ = answer.send(job(store));
        }));
        if queued.is_err() {
            // The thread is gone; the dropped sender makes the receiver report it.
            tracing::warn!("the keyring thread has stopped");
        }
        receiver
    }

    /// Writes `pending` down, replacing whatever sign-in was parked. Queued at once,
    /// in order; await the answer to know it is there.
    pub(crate) fn park(&self, pending: &PendingSignIn) -> oneshot::Receiver<bool> {
        let stored = pending.to_stored();
        self.submit(move |store| {
            let Some(stored) = stored else {
                // Not written down: at least do not leave an older one behind.
                let _ = store.delete();
                return false;
            };
            match store.save(&stored) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot keep the sign-in in the keyring; it will not survive a restart");
                    // A sign-in it replaces must not stay claimable.
                    if let Err(e) = store.delete() {
                        tracing::warn!(error = %e, "cannot delete an older pending sign-in");
                    }
                    false
                }
            }
        })
    }

    /// Deletes the parked sign-in if it is `pending` (or unreadable), and leaves a
    /// newer one alone. Queued at once, in order.
    pub(crate) fn forget(&self, pending: &PendingSignIn) -> oneshot::Receiver<bool> {
        let state = pending.state().clone();
        self.submit(move |store| {
            let stored = match store.load() {
                Ok(Some(stored)) => stored,
                Ok(None) => return true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the pending sign-in to delete it");
                    return false;
                }
            };
            match stored_state_is(&stored, &state) {
                Some(false) => true,
                Some(true) | None => delete(store),
            }
        })
    }

    /// Deletes whatever sign-in is parked. Queued at once, in order.
    pub(crate) fn forget_any(&self) -> oneshot::Receiver<bool> {
        self.submit(delete)
    }

    /// Answers once everything queued before it is done.
    #[cfg(test)]
    pub(crate) fn settled(&self) -> oneshot::Receiver<()> {
        self.submit(|_| ())
    }

    /// Reads the parked sign-in and checks `link` against it, all in one step on
    /// the keyring thread: see [`Claim`]. Sends nothing over the network.
    pub(crate) fn claim(
        &self,
        config: Arc<ClientConfig>,
        link: String,
    ) -> oneshot::Receiver<Claim> {
        let (answer, receiver) = oneshot::channel();
        let queued = self.jobs.send(Box::new(move |store: &dyn CredentialStore| {
            let claim = claim_now(store, &config, &link, SystemTime::now(), || {
                // The caller gave up waiting: leave the entry for a later link
                // rather than spend it on an answer nobody reads.
                answer.is_closed()
            });
            let _ = answer.send(claim);
        }));
        if queued.is_err() {
            tracing::warn!("the keyring thread has stopped");
        }
        receiver
    }
}

/// Awaits a keyring answer for at most [`PATIENCE`]; `None` when it did not come.
pub(crate) async fn answer<T>(receiver: oneshot::Receiver<T>, what: &'static str) -> Option<T> {
    match tokio::time::timeout(PATIENCE, receiver).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(_)) => {
            tracing::warn!(what, "the keyring call for the pending sign-in was lost");
            None
        }
        Err(_) => {
            tracing::warn!(
                what,
                "the keyring did not answer in time; going on without it"
            );
            None
        }
    }
}

fn delete(store: &dyn CredentialStore) -> bool {
    match store.delete() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot delete the pending sign-in from the keyring");
            false
        }
    }
}

/// [`Parked::claim`]'s step, on the keyring thread.
fn claim_now(
    store: &dyn CredentialStore,
    config: &ClientConfig,
    link: &str,
    now: SystemTime,
    abandoned: impl Fn() -> bool,
) -> Claim {
    let stored = match store.load() {
        Ok(Some(stored)) => stored,
        Ok(None) => return Claim::Nothing,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the pending sign-in from the keyring");
            return Claim::Nothing;
        }
    };
    let pending = match PendingSignIn::from_stored(&stored, config, now) {
        Ok(pending) => pending,
        Err(problem) => {
            // It can never be finished by this app as configured: clear it away.
            tracing::warn!(
                reason = problem.reason(),
                "pending sign-in in the keyring not usable; deleted"
            );
            delete(store);
            return Claim::Nothing;
        }
    };
    let verdict = pending.check(link);
    let spent = !matches!(verdict, Err(Rejection::NotOurs(_))) || pending.is_expired();
    if spent {
        if abandoned() {
            return Claim::Nothing;
        }
        // Single use: gone from the keyring before any request is sent. If it
        // cannot be deleted it could be claimed again, and a second presentation of
        // its code would make the provider revoke the session it started: refuse.
        if !delete(store) && verdict.is_ok() {
            return Claim::Nothing;
        }
    }
    Claim::Found(Box::new(pending), verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ProviderMetadata;
    use crate::keyring::{MemoryStore, StoreError};
    use crate::secret::Secret;
    use crate::sign_in;

    fn config() -> Arc<ClientConfig> {
        Arc::new(ClientConfig::default())
    }

    fn started() -> (PendingSignIn, String) {
        let config = config();
        let metadata = ProviderMetadata::plain(&config.issuer);
        let (authorize, pending) = sign_in::start(&config, &metadata);
        let state = authorize
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        (pending, state)
    }

    fn link(state: &str) -> String {
        format!("com.example.timesheets:/oauth/callback?code=abc&state={state}")
    }

    fn parked(store: &Arc<MemoryStore>) -> Parked {
        Parked::start(store.clone()).unwrap_or_else(|| panic!("no thread"))
    }

    async fn get<T>(receiver: oneshot::Receiver<T>) -> T {
        answer(receiver, "test")
            .await
            .unwrap_or_else(|| panic!("no answer"))
    }

    fn parked_is(store: &MemoryStore, pending: &PendingSignIn) -> Option<bool> {
        let stored = store.load().ok()??;
        stored_state_is(&stored, pending.state())
    }

    #[tokio::test]
    async fn a_claim_takes_the_parked_sign_in_once_and_ignores_foreign_links() {
        let store = Arc::new(MemoryStore::new());
        let parked = parked(&store);
        let (pending, state) = started();
        assert!(get(parked.park(&pending)).await);

        let foreign = get(parked.claim(config(), link("forged"))).await;
        assert!(matches!(
            foreign,
            Claim::Found(_, Err(Rejection::NotOurs("state does not match")))
        ));
        assert_eq!(
            parked_is(&store, &pending),
            Some(true),
            "a forged link spent it"
        );

        let genuine = get(parked.claim(config(), link(&state))).await;
        assert!(matches!(genuine, Claim::Found(_, Ok(_))));
        assert!(matches!(store.load(), Ok(None)));

        let replay = get(parked.claim(config(), link(&state))).await;
        assert!(matches!(replay, Claim::Nothing));
    }

    /// Keeps what it is given but cannot delete it, like a keyring that stopped
    /// answering halfway.
    struct Undeletable(MemoryStore);

    impl CredentialStore for Undeletable {
        fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
            self.0.load()
        }
        fn save(&self, value: &Secret<String>) -> Result<(), StoreError> {
            self.0.save(value)
        }
        fn delete(&self) -> Result<(), StoreError> {
            Err(StoreError::Failed("refused".into()))
        }
    }

    #[test]
    fn a_parked_sign_in_that_cannot_be_deleted_is_not_accepted() {
        let store = Undeletable(MemoryStore::new());
        let (pending, state) = started();
        let stored = pending
            .to_stored()
            .unwrap_or_else(|| panic!("not storable"));
        store.save(&stored).unwrap_or_else(|e| panic!("{e}"));
        let claim = claim_now(&store, &config(), &link(&state), SystemTime::now(), || {
            false
        });
        assert!(
            matches!(claim, Claim::Nothing),
            "a sign-in that stays claimable must not be used"
        );
    }

    #[tokio::test]
    async fn an_abandoned_claim_spends_nothing() {
        let store = Arc::new(MemoryStore::new());
        let parked = parked(&store);
        let (pending, state) = started();
        assert!(get(parked.park(&pending)).await);
        let claim = claim_now(
            store.as_ref(),
            &config(),
            &link(&state),
            SystemTime::now(),
            || true,
        );
        assert!(matches!(claim, Claim::Nothing));
        assert_eq!(parked_is(&store, &pending), Some(true));
    }

    #[tokio::test]
    async fn forgetting_one_sign_in_leaves_a_newer_one_alone() {
        let store = Arc::new(MemoryStore::new());
        let parked = parked(&store);
        let (older, _) = started();
        let (newer, _) = started();
        assert!(get(parked.park(&older)).await);
        assert!(get(parked.park(&newer)).await);
        assert_eq!(parked_is(&store, &older), Some(false));
        assert!(get(parked.forget(&older)).await);
        assert_eq!(parked_is(&store, &newer), Some(true));
        assert!(get(parked.forget(&newer)).await);
        assert!(matches!(store.load(), Ok(None)));
        // Garbage in the entry belongs to nobody and is cleared away.
        assert!(store
            .save(&crate::Secret::new("garbage".to_owned()))
            .is_ok());
        assert!(get(parked.forget(&newer)).await);
        assert!(matches!(store.load(), Ok(None)));
    }

    #[tokio::test]
    async fn calls_land_in_the_order_they_were_made() {
        let store = Arc::new(MemoryStore::new());
        let parked = parked(&store);
        let (first, _) = started();
        let (second, _) = started();
        // Queued without waiting, as a synchronous cancel does.
        drop(parked.park(&first));
        drop(parked.forget_any());
        let last = parked.park(&second);
        assert!(get(last).await);
        assert_eq!(parked_is(&store, &second), Some(true));
        drop(parked.forget_any());
        get(parked.settled()).await;
        assert!(matches!(store.load(), Ok(None)));
    }

    #[tokio::test]
    async fn a_parked_sign_in_from_another_app_or_garbage_is_deleted_unused() {
        let store = Arc::new(MemoryStore::new());
        let parked = parked(&store);
        let (pending, state) = started();
        assert!(get(parked.park(&pending)).await);
        let elsewhere = Arc::new(ClientConfig {
            client_id: "another-app".into(),
            ..ClientConfig::default()
        });
        let claim = get(parked.claim(elsewhere, link(&state))).await;
        assert!(matches!(claim, Claim::Nothing));
        assert!(matches!(store.load(), Ok(None)));

        assert!(store.save(&crate::Secret::new("{}".to_owned())).is_ok());
        let claim = get(parked.claim(config(), link(&state))).await;
        assert!(matches!(claim, Claim::Nothing));
        assert!(matches!(store.load(), Ok(None)));
    }
}

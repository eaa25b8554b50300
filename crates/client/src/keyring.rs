//! Where the refresh token is kept between runs: the OS keyring.
//!
//! This is the only module that touches the `keyring` crate. Use [`KeyringStore`]
//! in the app (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows) and [`MemoryStore`] in tests. Both implement [`CredentialStore`], which
//! holds exactly one thing: the refresh token of one issuer and client. The access
//! token is never stored anywhere (it lives in memory only, and would not fit in a
//! Windows credential anyway).
//!
//! One other secret needs to outlive the process: a sign-in in progress (its PKCE
//! verifier, `state` and `nonce`), because the OS may start the app afresh with the
//! sign-in link when the person closed it while the browser was open. It goes into
//! a second entry next to the refresh token, opened with
//! [`CredentialStore::sibling`] and [`PENDING_SIGN_IN_SLOT`], so the two never
//! overwrite each other and each keeps the keyring's protection.
//!
//! keyring 3 quietly falls back to an in-memory mock when built without its
//! platform features; the workspace turns them on, and this module treats a keyring
//! that does not answer as a loud event: the session then works for this run only,
//! and [`SessionView::remembered`](crate::SessionView::remembered) is `false` with a
//! message saying so in plain words.

use crate::config::ClientConfig;
use crate::secret::Secret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Keeps the refresh token between runs.
///
/// Calls may block (D-Bus, Keychain): the session runs them off the async runtime.
pub trait CredentialStore: Send + Sync + 'static {
    /// The stored refresh token, or `None` when there is none.
    fn load(&self) -> Result<Option<Secret<String>>, StoreError>;
    /// Stores the refresh token, replacing any earlier one.
    fn save(&self, refresh_token: &Secret<String>) -> Result<(), StoreError>;
    /// Removes the stored refresh token; removing nothing is not an error.
    fn delete(&self) -> Result<(), StoreError>;

    /// Another entry of the same kind next to this one, for another secret of the
    /// same issuer and client, named by `slot` (e.g. [`PENDING_SIGN_IN_SLOT`]).
    /// Opening the same slot twice, even from another handle on the same entry
    /// (another run of the app), must reach the same entry.
    ///
    /// `None`, the default, means this store keeps nothing else: what would go
    /// there then lives in memory for this run only. A store that cannot answer
    /// may still return an entry whose calls fail; callers treat both alike.
    fn sibling(&self, slot: &str) -> Option<Arc<dyn CredentialStore>> {
        let _ = slot;
        None
    }
}

/// The slot of the sign-in in progress (see [`CredentialStore::sibling`]): its
/// PKCE verifier, `state` and `nonce`, kept so a cold start from the sign-in link
/// can finish it. Single use, deleted as soon as the sign-in ends either way.
pub const PENDING_SIGN_IN_SLOT: &str = "pending-sign-in";

/// The keyring failed. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No keyring answered (no Secret Service running, locked, access refused).
    #[error("no keyring is available: {0}")]
    Unavailable(String),
    /// The keyring answered but refused or failed the operation.
    #[error("the keyring failed: {0}")]
    Failed(String),
}

impl From<::keyring::Error> for StoreError {
    fn from(error: ::keyring::Error) -> Self {
        match error {
            ::keyring::Error::NoStorageAccess(e) => StoreError::Unavailable(e.to_string()),
            ::keyring::Error::PlatformFailure(e) => StoreError::Unavailable(e.to_string()),
            // The bytes may be (part of) the secret: never print them.
            ::keyring::Error::BadEncoding(_) => {
                StoreError::Failed("the stored value is not UTF-8".into())
            }
            ::keyring::Error::Ambiguous(items) => StoreError::Failed(format!(
                "{} credentials match this entry; remove the extra ones",
                items.len()
            )),
            other => StoreError::Failed(other.to_string()),
        }
    }
}

/// The refresh token in the OS keyring, under service `com.example.timesheets`
/// (configurable) and a user name that names the issuer and client, so that
/// switching provider or client never picks up another's token.
///
/// The user name is [`entry_name`]: versioned, with each part percent-encoded so
/// that no issuer, client id or slot can spell another's name. Earlier versions
/// joined the parts with bare spaces, so a client id containing a space could
/// address another configuration's entry (`"… app pending-sign-in"` is both the
/// sign-in in progress of client `app` and the refresh token of client
/// `app pending-sign-in`). A refresh token found under such an old name is moved
/// to the new one on first use, so an upgrade signs nobody out, but only when the
/// old name can have been written by this configuration alone (see
/// [`legacy_entry_name`]); an ambiguous old name is left alone, never guessed at.
///
/// Its [`sibling`](CredentialStore::sibling) entries use the same service and the
/// same name with the slot as a third part.
pub struct KeyringStore {
    entry: ::keyring::Entry,
    service: String,
    issuer: String,
    client_id: String,
    /// The entry an earlier version kept the same token in, while it may still
    /// exist: `None` for siblings (a sign-in in progress lasts minutes, and its old
    /// name was always ambiguous), for an ambiguous old name, and once it is gone.
    legacy: Mutex<Option<::keyring::Entry>>,
}

/// The version tag that starts every entry name this version writes. It is not a
/// URL, so no old name (which began with the issuer, a URL) starts with it.
const ENTRY_NAME_VERSION: &str = "timesheets/2";

/// The keyring user name of the entry for `issuer`, `client_id` and, for a
/// [`sibling`](CredentialStore::sibling), its `slot`: the version tag and each part
/// percent-encoded, separated by single spaces.
///
/// Every byte that is not printable ASCII, and `%` itself, is encoded, so no part
/// contains a space and the name splits back into exactly the parts it was made
/// of: two configurations (or one and another's slot) never share an entry.
/// Printable ASCII stays as it is, so `secret-tool search` still shows a readable
/// issuer and client id.
pub fn entry_name(issuer: &str, client_id: &str, slot: Option<&str>) -> String {
    let mut name = String::from(ENTRY_NAME_VERSION);
    for part in [Some(issuer), Some(client_id), slot].into_iter().flatten() {
        name.push(' ');
        name.extend(percent_encoding::utf8_percent_encode(part, NOT_PRINTABLE));
    }
    name
}

/// What [`entry_name`] encodes besides every non-ASCII byte: controls, the
/// space that separates the parts, and `%` itself, so the name decodes back.
const NOT_PRINTABLE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b' ').add(b'%');

/// The name an earlier version gave the refresh token of `issuer` and
/// `client_id`, `"{issuer} {client_id}"`, when only that configuration can have
/// written it: neither part contains a space, so the name holds exactly one.
///
/// Any other old name may as well be another configuration's token (`"a b c"` is
/// issuer `a` with client `b c`, or issuer `a b` with client `c`), or another's
/// sign-in in progress (`"{issuer} {client} pending-sign-in"`): `None`, and such an
/// entry is left where it is; the person signs in once more.
pub fn legacy_entry_name(issuer: &str, client_id: &str) -> Option<String> {
    (!issuer.contains(' ') && !client_id.contains(' ')).then(|| format!("{issuer} {client_id}"))
}

impl KeyringStore {
    /// The entry for this service, issuer and client.
    pub fn new(service: &str, issuer: &str, client_id: &str) -> Result<Self, StoreError> {
        let entry = ::keyring::Entry::new(service, &entry_name(issuer, client_id, None))?;
        let legacy = legacy_entry_name(issuer, client_id).and_then(|old| {
            ::keyring::Entry::new(service, &old)
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "cannot open the keyring entry of an earlier version")
                })
                .ok()
        });
        Ok(KeyringStore {
            entry,
            service: service.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            legacy: Mutex::new(legacy),
        })
    }

    /// The entry for `config`.
    pub fn for_config(config: &ClientConfig) -> Result<Self, StoreError> {
        Self::new(&config.keyring_service, &config.issuer, &config.client_id)
    }

    fn legacy(&self) -> Result<MutexGuard<'_, Option<::keyring::Entry>>, StoreError> {
        self.legacy
            .lock()
            .map_err(|_| StoreError::Failed("keyring store poisoned".into()))
    }

    /// Moves a refresh token an earlier version stored under the old name to the
    /// new one, and returns it; `None` when there is none.
    ///
    /// The old entry is removed only once the new one holds the token. When the
    /// new one cannot be written, the token is still returned (this run signs in
    /// with it) and stays under the old name for the next start to try again.
    fn migrate(&self) -> Result<Option<Secret<String>>, StoreError> {
        let mut legacy = self.legacy()?;
        let Some(old) = legacy.as_ref() else {
            return Ok(None);
        };
        let token = match old.get_password() {
            Ok(token) => Secret::new(token),
            Err(::keyring::Error::NoEntry) => {
                *legacy = None;
                return Ok(None);
            }
            Err(e) => {
                // Not worth failing the whole keyring for: the person signs in again.
                tracing::warn!(error = %StoreError::from(e), "cannot read the entry of an earlier version");
                return Ok(None);
            }
        };
        if let Err(e) = self.entry.set_password(token.expose()) {
            tracing::warn!(error = %StoreError::from(e), "cannot move the refresh token to its new keyring entry");
            return Ok(Some(token));
        }
        match old.delete_credential() {
            Ok(()) | Err(::keyring::Error::NoEntry) => *legacy = None,
            Err(e) => {
                tracing::warn!(error = %StoreError::from(e), "cannot remove the keyring entry of an earlier version")
            }
        }
        tracing::info!("refresh token moved to its new keyring entry");
        Ok(Some(token))
    }

    /// Removes the old entry, if any: after a save its token is stale, and after a
    /// delete it must not come back at the next start.
    fn delete_legacy(&self) -> Result<(), StoreError> {
        let mut legacy = self.legacy()?;
        let Some(old) = legacy.as_ref() else {
            return Ok(());
        };
        match old.delete_credential() {
            Ok(()) | Err(::keyring::Error::NoEntry) => {
                *legacy = None;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl CredentialStore for KeyringStore {
    fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
        match self.entry.get_password() {
            Ok(token) => Ok(Some(Secret::new(token))),
            Err(::keyring::Error::NoEntry) => self.migrate(),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, refresh_token: &Secret<String>) -> Result<(), StoreError> {
        self.entry.set_password(refresh_token.expose())?;
        if let Err(e) = self.delete_legacy() {
            tracing::warn!(error = %e, "cannot remove the keyring entry of an earlier version");
        }
        Ok(())
    }

    fn delete(&self) -> Result<(), StoreError> {
        match self.entry.delete_credential() {
            Ok(()) | Err(::keyring::Error::NoEntry) => {}
            Err(e) => return Err(e.into()),
        }
        self.delete_legacy()
    }

    fn sibling(&self, slot: &str) -> Option<Arc<dyn CredentialStore>> {
        let name = entry_name(&self.issuer, &self.client_id, Some(slot));
        match ::keyring::Entry::new(&self.service, &name) {
            Ok(entry) => Some(Arc::new(KeyringStore {
                entry,
                service: self.service.clone(),
                issuer: self.issuer.clone(),
                client_id: self.client_id.clone(),
                legacy: Mutex::new(None),
            })),
            Err(e) => {
                tracing::warn!(error = %StoreError::from(e), slot, "cannot open a second keyring entry");
                None
            }
        }
    }
}

/// A store in memory: for tests, and this run's fallback when no keyring answers.
///
/// Its [`sibling`](CredentialStore::sibling) entries live inside it, so two
/// clients given the same `Arc<MemoryStore>` share them as two runs of the app
/// share the keyring.
#[derive(Default)]
pub struct MemoryStore {
    slot: Mutex<Option<Secret<String>>>,
    siblings: Mutex<HashMap<String, Arc<MemoryStore>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CredentialStore for MemoryStore {
    fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
        let slot = self
            .slot
            .lock()
            .map_err(|_| StoreError::Failed("memory store poisoned".into()))?;
        Ok(slot.clone())
    }

    fn save(&self, refresh_token: &Secret<String>) -> Result<(), StoreError> {
        let mut slot = self
            .slot
            .lock()
            .map_err(|_| StoreError::Failed("memory store poisoned".into()))?;
        *slot = Some(refresh_token.clone());
        Ok(())
    }

    fn delete(&self) -> Result<(), StoreError> {
        let mut slot = self
            .slot
            .lock()
            .map_err(|_| StoreError::Failed("memory store poisoned".into()))?;
        *slot = None;
        Ok(())
    }

    fn sibling(&self, slot: &str) -> Option<Arc<dyn CredentialStore>> {
        let mut siblings = self.siblings.lock().ok()?;
        let sibling = siblings.entry(slot.to_owned()).or_default().clone();
        Some(sibling)
    }
}

/// A store that refuses everything, standing in when the keyring entry could not
/// even be created, so the failure shows up as "not remembered" instead of a crash.
struct Unusable(StoreError);

impl CredentialStore for Unusable {
    fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
        Err(self.0.clone())
    }
    fn save(&self, _: &Secret<String>) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    fn delete(&self) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
}

/// The OS keyring for `config`; if its entry cannot be made, a store whose every
/// call fails, which the session reports as "not remembered" (and which has no
/// sibling, so a sign-in in progress then lives in memory only).
pub fn system_store(config: &ClientConfig) -> Arc<dyn CredentialStore> {
    match KeyringStore::for_config(config) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the keyring entry");
            Arc::new(Unusable(e))
        }
    }
}

/// What the person is told when the refresh token could not go into the keyring.
pub(crate) const NOT_REMEMBERED: &str = "Your system keyring did not answer, so you will stay \
    signed in only until you close the app.";

/// Whether the token just handled is in the keyring (`remembered`), and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    /// The token is in the durable store.
    pub remembered: bool,
    /// A sentence for the person when it is not.
    pub warning: Option<String>,
}

/// The session's door to the store: runs the blocking calls off the runtime, and
/// falls back to memory, loudly, when the keyring fails.
pub(crate) struct Vault {
    store: Arc<dyn CredentialStore>,
    fallback: Arc<MemoryStore>,
}

impl Vault {
    pub(crate) fn new(store: Arc<dyn CredentialStore>) -> Self {
        Vault {
            store,
            fallback: Arc::new(MemoryStore::new()),
        }
    }

    /// The stored refresh token. A keyring that fails is reported, and this run's
    /// in-memory fallback is consulted instead.
    pub(crate) async fn load(&self) -> (Option<Secret<String>>, Kept) {
        let store = self.store.clone();
        match blocking(move || store.load()).await {
            Ok(token) => (
                token,
                Kept {
                    remembered: true,
                    warning: None,
                },
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the keyring; using memory for this run");
                let token = self.fallback.load().ok().flatten();
                (
                    token,
                    Kept {
                        remembered: false,
                        warning: Some(NOT_REMEMBERED.to_owned()),
                    },
                )
            }
        }
    }

    /// Stores the refresh token in the keyring, or, when it fails, in memory for
    /// this run with a warning. Never loses the token: after a rotation the old one
    /// is dead, so this one is the only way to stay signed in.
    pub(crate) async fn save(&self, token: &Secret<String>) -> Kept {
        let store = self.store.clone();
        let copy = token.clone();
        match blocking(move || store.save(&copy)).await {
            Ok(()) => {
                let _ = self.fallback.delete();
                Kept {
                    remembered: true,
                    warning: None,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot write the keyring; keeping the sign-in in memory for this run");
                let _ = self.fallback.save(token);
                Kept {
                    remembered: false,
                    warning: Some(NOT_REMEMBERED.to_owned()),
                }
            }
        }
    }

    /// Removes the token from the keyring and the fallback, and the account it
    /// belongs to. A keyring failure is returned so sign-out can say the token
    /// may still be stored.
    pub(crate) async fn delete(&self) -> Result<(), StoreError> {
        let _ = self.fallback.delete();
        if let Some(account) = self.store.sibling(ACCOUNT_SLOT) {
            let _ = blocking(move || account.delete()).await;
        }
        let store = self.store.clone();
        blocking(move || store.delete()).await.inspect_err(|e| {
            tracing::warn!(error = %e, "cannot delete the refresh token from the keyring");
        })
    }

    /// Remembers whose refresh token is stored (the issuer and subject of the
    /// sign-in's ID token), so that after a restart a refreshed ID token is still
    /// checked against the person who signed in (OpenID Connect Core §12.2).
    /// Best effort: without it the first refresh after a restart names the person.
    pub(crate) async fn save_account(&self, issuer: &str, sub: &str) {
        let Some(account) = self.store.sibling(ACCOUNT_SLOT) else {
            return;
        };
        let value = Secret::new(format!("{issuer}\n{sub}"));
        if let Err(e) = blocking(move || account.save(&value)).await {
            tracing::warn!(error = %e, "cannot remember whose sign-in is stored");
        }
    }

    /// The issuer and subject [`save_account`](Self::save_account) remembered.
    pub(crate) async fn load_account(&self) -> Option<(String, String)> {
        let account = self.store.sibling(ACCOUNT_SLOT)?;
        let value = blocking(move || account.load()).await.ok().flatten()?;
        let (issuer, sub) = value.expose().split_once('\n')?;
        Some((issuer.to_owned(), sub.to_owned()))
    }
}

/// The slot (see [`CredentialStore::sibling`]) of the account the stored refresh
/// token belongs to.
const ACCOUNT_SLOT: &str = "account";

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| StoreError::Failed(format!("keyring task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keyring that does not answer, like a Linux desktop with no Secret Service.
    struct Silent;

    impl CredentialStore for Silent {
        fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
            Err(StoreError::Unavailable("no D-Bus".into()))
        }
        fn save(&self, _: &Secret<String>) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("no D-Bus".into()))
        }
        fn delete(&self) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("no D-Bus".into()))
        }
    }

    fn token(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[tokio::test]
    async fn a_working_store_remembers() {
        let store = Arc::new(MemoryStore::new());
        let vault = Vault::new(store.clone());
        let kept = vault.save(&token("rt-1")).await;
        assert!(kept.remembered);
        assert_eq!(kept.warning, None);
        let stored = store.load().ok().flatten();
        assert_eq!(stored.as_ref().map(|t| t.expose().as_str()), Some("rt-1"));
        let (loaded, kept) = vault.load().await;
        assert_eq!(loaded.as_ref().map(|t| t.expose().as_str()), Some("rt-1"));
        assert!(kept.remembered);
        assert!(vault.delete().await.is_ok());
        assert!(store.load().ok().flatten().is_none());
    }

    #[tokio::test]
    async fn a_silent_keyring_falls_back_to_memory_and_says_so() {
        let vault = Vault::new(Arc::new(Silent));
        let (loaded, kept) = vault.load().await;
        assert!(loaded.is_none());
        assert!(!kept.remembered);
        assert_eq!(kept.warning.as_deref(), Some(NOT_REMEMBERED));

        let kept = vault.save(&token("rt-2")).await;
        assert!(!kept.remembered);
        assert!(kept.warning.is_some_and(|w| w.contains("keyring")));
        // The token is not lost: this run can still use it.
        let (loaded, _) = vault.load().await;
        assert_eq!(loaded.as_ref().map(|t| t.expose().as_str()), Some("rt-2"));

        // Deleting reports the keyring failure instead of pretending it worked.
        assert!(matches!(
            vault.delete().await,
            Err(StoreError::Unavailable(_))
        ));
        let (loaded, _) = vault.load().await;
        assert!(loaded.is_none());
    }

    #[test]
    fn entry_names_keep_issuer_client_and_slot_apart() {
        let pairs = [
            // The refresh token of a client id ending in the slot's name, and the
            // sign-in in progress of the client without it.
            (
                entry_name("https://a/", "app pending-sign-in", None),
                entry_name("https://a/", "app", Some(PENDING_SIGN_IN_SLOT)),
            ),
            // The space on either side of the join.
            (
                entry_name("https://a/ b", "c", None),
                entry_name("https://a/", "b c", None),
            ),
            // An encoded-looking part is encoded again, so it cannot pass for one.
            (
                entry_name("https://a/", "b%20c", None),
                entry_name("https://a/", "b c", None),
            ),
        ];
        for (one, other) in pairs {
            assert_ne!(one, other);
        }
        assert_eq!(
            entry_name("https://a/", "app", Some(PENDING_SIGN_IN_SLOT)),
            "timesheets/2 https://a/ app pending-sign-in"
        );
        assert_eq!(
            entry_name("https://a/", "b c%é", None),
            "timesheets/2 https://a/ b%20c%25%C3%A9"
        );
    }

    #[test]
    fn only_an_old_name_with_one_space_is_taken_as_ours() {
        assert_eq!(
            legacy_entry_name("https://a/", "app").as_deref(),
            Some("https://a/ app")
        );
        assert_eq!(legacy_entry_name("https://a/", "app pending-sign-in"), None);
        assert_eq!(legacy_entry_name("https://a/ b", "c"), None);
    }

    #[test]
    fn keyring_errors_never_print_the_stored_bytes() {
        let error = StoreError::from(::keyring::Error::BadEncoding(b"rt-secret".to_vec()));
        assert!(!format!("{error} {error:?}").contains("rt-secret"));
    }

    #[test]
    fn a_memory_store_keeps_siblings_apart_and_shared() {
        let store = MemoryStore::new();
        let pending = store
            .sibling(PENDING_SIGN_IN_SLOT)
            .unwrap_or_else(|| panic!("no sibling"));
        assert!(pending.save(&token("pending")).is_ok());
        assert!(store.save(&token("rt-1")).is_ok());
        // Opened again (another client over the same store): the same entry.
        let again = store
            .sibling(PENDING_SIGN_IN_SLOT)
            .unwrap_or_else(|| panic!("no sibling"));
        let loaded = again.load().ok().flatten();
        assert_eq!(
            loaded.as_ref().map(|t| t.expose().as_str()),
            Some("pending")
        );
        // Neither overwrites the other.
        let loaded = store.load().ok().flatten();
        assert_eq!(loaded.as_ref().map(|t| t.expose().as_str()), Some("rt-1"));
        assert!(again.delete().is_ok());
        assert!(matches!(pending.load(), Ok(None)));
        let loaded = store.load().ok().flatten();
        assert_eq!(loaded.as_ref().map(|t| t.expose().as_str()), Some("rt-1"));
        // Another slot is another entry.
        let other = store
            .sibling("other")
            .unwrap_or_else(|| panic!("no sibling"));
        assert!(pending.save(&token("pending")).is_ok());
        assert!(matches!(other.load(), Ok(None)));
        // A store that keeps no siblings says so.
        assert!(Silent.sibling(PENDING_SIGN_IN_SLOT).is_none());
    }
}

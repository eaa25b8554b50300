//! The real OS keyring (Secret Service on Linux): a round trip, and a session
//! restored through it.
//!
//! Runs inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test`
//! sets up. Without a session bus it fails on purpose, saying how to run it: a
//! skipped keyring test would let a silent in-memory fallback go unnoticed.

mod common;

use std::sync::Arc;
use std::time::Duration;
use timesheets_client::keyring::PENDING_SIGN_IN_SLOT;
use timesheets_client::{CredentialStore, KeyringStore, Secret, SessionState};

fn require_session_bus() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "DBUS_SESSION_BUS_ADDRESS is not set, so there is no Secret Service to test \
             against. Run the project's test script (scripts/test), which starts \
             dbus-run-session with an unlocked gnome-keyring, or by hand: \
             dbus-run-session -- bash -c \"printf pw | gnome-keyring-daemon --unlock \
             --components=secrets >/dev/null; cargo test -p timesheets-client\""
        );
    }
}

/// A service name of its own per test, so a developer's real sign-in is never touched.
fn test_service() -> String {
    format!("com.example.timesheets.test-{}", uuid::Uuid::new_v4())
}

#[test]
fn the_keyring_keeps_loads_and_deletes_a_token() {
    require_session_bus();
    let service = test_service();
    let open = || {
        KeyringStore::new(&service, "http://127.0.0.1:1/", "timesheets-desktop")
            .unwrap_or_else(|e| panic!("keyring entry: {e}"))
    };
    let store = open();
    assert!(
        matches!(store.load(), Ok(None)),
        "a fresh entry is not empty"
    );
    store
        .save(&Secret::new("rt-first".to_owned()))
        .unwrap_or_else(|e| panic!("save: {e}"));
    store
        .save(&Secret::new("rt-second".to_owned()))
        .unwrap_or_else(|e| panic!("save again: {e}"));
    let loaded = store.load().unwrap_or_else(|e| panic!("load: {e}"));
    assert_eq!(
        loaded.map(|t| t.expose().clone()).as_deref(),
        Some("rt-second")
    );

    // A second handle (another run of the app) sees the same entry.
    let same = open().load().unwrap_or_else(|e| panic!("load: {e}"));
    assert_eq!(
        same.map(|t| t.expose().clone()).as_deref(),
        Some("rt-second")
    );
    // Another issuer or client is another entry.
    let other = KeyringStore::new(&service, "https://tenant.auth0.com/", "timesheets-desktop")
        .unwrap_or_else(|e| panic!("keyring entry: {e}"));
    assert!(matches!(other.load(), Ok(None)));

    store.delete().unwrap_or_else(|e| panic!("delete: {e}"));
    assert!(matches!(store.load(), Ok(None)));
    // Deleting nothing is fine.
    assert!(store.delete().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_restored_through_the_real_keyring() {
    require_session_bus();
    let stack = common::Stack::start(Duration::from_secs(300)).await;
    let mut config = stack.config();
    config.keyring_service = test_service();
    let store: Arc<dyn CredentialStore> = Arc::new(
        KeyringStore::for_config(&config).unwrap_or_else(|e| panic!("keyring entry: {e}")),
    );

    let person = Arc::new(common::Person::default());
    let client = timesheets_client::Client::new(config.clone(), store.clone(), person.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let view = common::sign_in(&client, &person, "employee@example.com").await;
    assert!(
        view.remembered,
        "the keyring did not take the token: {view:?}"
    );
    assert_eq!(view.message, None);
    drop(client);

    // The app starts again: a new store handle on the same entry.
    let reopened: Arc<dyn CredentialStore> = Arc::new(
        KeyringStore::for_config(&config).unwrap_or_else(|e| panic!("keyring entry: {e}")),
    );
    let client = timesheets_client::Client::new(
        config.clone(),
        reopened.clone(),
        Arc::new(common::Person::default()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert!(view.remembered);
    assert_eq!(view.user.map(|u| u.name).as_deref(), Some("Erin Employee"));

    client
        .sign_out()
        .await
        .unwrap_or_else(|e| panic!("sign_out: {e}"));
    assert!(
        matches!(reopened.load(), Ok(None)),
        "sign-out left the token in the keyring"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_survives_a_restart_through_the_real_keyring() {
    require_session_bus();
    let stack = common::Stack::start(Duration::from_secs(300)).await;
    let mut config = stack.config();
    config.keyring_service = test_service();
    let open = || -> Arc<dyn CredentialStore> {
        Arc::new(KeyringStore::for_config(&config).unwrap_or_else(|e| panic!("keyring entry: {e}")))
    };
    let pending_entry = || {
        open()
            .sibling(PENDING_SIGN_IN_SLOT)
            .unwrap_or_else(|| panic!("the keyring store opened no second entry"))
    };

    let person = Arc::new(common::Person::default());
    let client = timesheets_client::Client::new(config.clone(), open(), person.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    // In the keyring, in its own entry, next to (not instead of) the refresh token.
    let parked = pending_entry()
        .load()
        .unwrap_or_else(|e| panic!("load: {e}"))
        .unwrap_or_else(|| panic!("the sign-in is not in the keyring"));
    assert!(parked.expose().contains("\"verifier\""));
    assert!(matches!(open().load(), Ok(None)));
    let link = person
        .sign_in_at(&person.last_opened(), "auditor@example.com", "password")
        .await;
    drop(client);

    // The OS starts the app afresh with the link.
    let cold =
        timesheets_client::Client::new(config.clone(), open(), Arc::new(common::Person::default()))
            .unwrap_or_else(|e| panic!("{e}"));
    let view = cold
        .handle_callback(&link)
        .await
        .unwrap_or_else(|e| panic!("cold callback: {e}"));
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert_eq!(view.scopes, vec!["read:timesheets"]);
    assert!(view.remembered);
    assert!(
        matches!(pending_entry().load(), Ok(None)),
        "the spent sign-in is still in the keyring"
    );
    assert!(matches!(open().load(), Ok(Some(_))));
    assert_eq!(stack.counts.token_requests(), 1);

    cold.sign_out()
        .await
        .unwrap_or_else(|e| panic!("sign_out: {e}"));
    assert!(matches!(open().load(), Ok(None)));
}

/// The issuer every store-level test here names.
const ISSUER: &str = "http://127.0.0.1:1/";

fn token_in(store: &dyn CredentialStore) -> Option<String> {
    store
        .load()
        .unwrap_or_else(|e| panic!("load: {e}"))
        .map(|t| t.expose().clone())
}

/// The entry an earlier version wrote, reached by its raw name.
fn raw_entry(service: &str, user: &str) -> keyring::Entry {
    keyring::Entry::new(service, user).unwrap_or_else(|e| panic!("keyring entry: {e}"))
}

fn raw_token(entry: &keyring::Entry) -> Option<String> {
    match entry.get_password() {
        Ok(token) => Some(token),
        Err(keyring::Error::NoEntry) => None,
        Err(e) => panic!("raw load: {e}"),
    }
}

#[test]
fn configurations_whose_old_names_collide_get_separate_entries() {
    require_session_bus();
    let service = test_service();
    let open = |issuer: &str, client_id: &str| {
        KeyringStore::new(&service, issuer, client_id)
            .unwrap_or_else(|e| panic!("keyring entry: {e}"))
    };

    // A client id ending in " pending-sign-in" used to name the same entry as the
    // sign-in in progress of the client without that suffix.
    let suffixed = open(ISSUER, "timesheets-desktop pending-sign-in");
    let parked = open(ISSUER, "timesheets-desktop")
        .sibling(PENDING_SIGN_IN_SLOT)
        .unwrap_or_else(|| panic!("the keyring store opened no second entry"));
    suffixed
        .save(&Secret::new("rt-suffixed".to_owned()))
        .unwrap_or_else(|e| panic!("save: {e}"));
    parked
        .save(&Secret::new("parked-sign-in".to_owned()))
        .unwrap_or_else(|e| panic!("save: {e}"));
    assert_eq!(token_in(&suffixed).as_deref(), Some("rt-suffixed"));
    assert_eq!(token_in(parked.as_ref()).as_deref(), Some("parked-sign-in"));

    // Where the space falls between issuer and client id used not to count.
    let spaced_issuer = open(&format!("{ISSUER} x"), "y");
    let spaced_client = open(ISSUER, "x y");
    spaced_issuer
        .save(&Secret::new("rt-issuer".to_owned()))
        .unwrap_or_else(|e| panic!("save: {e}"));
    assert_eq!(
        token_in(&spaced_client),
        None,
        "another configuration's token"
    );
    spaced_client
        .save(&Secret::new("rt-client".to_owned()))
        .unwrap_or_else(|e| panic!("save: {e}"));
    assert_eq!(token_in(&spaced_issuer).as_deref(), Some("rt-issuer"));

    // Signing one out leaves the other signed in.
    spaced_client
        .delete()
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(token_in(&spaced_issuer).as_deref(), Some("rt-issuer"));
    suffixed.delete().unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(token_in(parked.as_ref()).as_deref(), Some("parked-sign-in"));
    for store in [&spaced_issuer as &dyn CredentialStore, parked.as_ref()] {
        store.delete().unwrap_or_else(|e| panic!("delete: {e}"));
    }
}

#[test]
fn a_token_under_the_old_name_is_found_moved_and_then_deleted_for_good() {
    require_session_bus();
    let service = test_service();
    let old = raw_entry(&service, &format!("{ISSUER} timesheets-desktop"));
    old.set_password("rt-from-the-old-version")
        .unwrap_or_else(|e| panic!("raw save: {e}"));

    let store = KeyringStore::new(&service, ISSUER, "timesheets-desktop")
        .unwrap_or_else(|e| panic!("keyring entry: {e}"));
    assert_eq!(
        token_in(&store).as_deref(),
        Some("rt-from-the-old-version"),
        "the upgrade lost the stored sign-in"
    );
    // Moved: under the new name only.
    assert_eq!(raw_token(&old), None, "the old entry is still there");
    // The next start finds it without the old entry.
    let next_start = KeyringStore::new(&service, ISSUER, "timesheets-desktop")
        .unwrap_or_else(|e| panic!("keyring entry: {e}"));
    assert_eq!(
        token_in(&next_start).as_deref(),
        Some("rt-from-the-old-version")
    );

    // An old entry that reappears (a failed move, an older version run meanwhile)
    // does not outlive a sign-out to sign the person back in.
    old.set_password("rt-stale")
        .unwrap_or_else(|e| panic!("raw save: {e}"));
    let third = KeyringStore::new(&service, ISSUER, "timesheets-desktop")
        .unwrap_or_else(|e| panic!("keyring entry: {e}"));
    third.delete().unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(raw_token(&old), None);
    let after = KeyringStore::new(&service, ISSUER, "timesheets-desktop")
        .unwrap_or_else(|e| panic!("keyring entry: {e}"));
    assert_eq!(token_in(&after), None);
}

#[test]
fn an_ambiguous_old_name_is_left_alone() {
    require_session_bus();
    let service = test_service();
    // Issuer ISSUER with client "desk top", or issuer "ISSUER desk" with client
    // "top": the old name cannot tell, so neither takes it.
    let old = raw_entry(&service, &format!("{ISSUER} desk top"));
    old.set_password("rt-whose")
        .unwrap_or_else(|e| panic!("raw save: {e}"));
    for (issuer, client_id) in [
        (ISSUER.to_owned(), "desk top"),
        (format!("{ISSUER} desk"), "top"),
    ] {
        let store = KeyringStore::new(&service, &issuer, client_id)
            .unwrap_or_else(|e| panic!("keyring entry: {e}"));
        assert_eq!(token_in(&store), None, "{issuer:?} {client_id:?} guessed");
        store.delete().unwrap_or_else(|e| panic!("delete: {e}"));
    }
    assert_eq!(raw_token(&old).as_deref(), Some("rt-whose"));
    let _ = old.delete_credential();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_kept_by_the_old_version_is_restored_after_the_upgrade() {
    require_session_bus();
    let stack = common::Stack::start(Duration::from_secs(300)).await;
    let mut config = stack.config();
    config.keyring_service = test_service();
    let open = || -> Arc<dyn CredentialStore> {
        Arc::new(KeyringStore::for_config(&config).unwrap_or_else(|e| panic!("keyring entry: {e}")))
    };

    // A real sign-in, its refresh token then put where the old version kept it.
    let person = Arc::new(common::Person::default());
    let client = timesheets_client::Client::new(config.clone(), open(), person.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let view = common::sign_in(&client, &person, "employee@example.com").await;
    assert!(view.remembered, "{view:?}");
    drop(client);
    let store = open();
    let token = token_in(store.as_ref()).unwrap_or_else(|| panic!("nothing stored"));
    store.delete().unwrap_or_else(|e| panic!("delete: {e}"));
    let old = raw_entry(
        &config.keyring_service,
        &format!("{} {}", config.issuer, config.client_id),
    );
    old.set_password(&token)
        .unwrap_or_else(|e| panic!("raw save: {e}"));

    // The upgraded app starts.
    let client =
        timesheets_client::Client::new(config.clone(), open(), Arc::new(common::Person::default()))
            .unwrap_or_else(|e| panic!("{e}"));
    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert!(view.remembered);
    assert_eq!(raw_token(&old), None, "the old entry is still there");
    client
        .sign_out()
        .await
        .unwrap_or_else(|e| panic!("sign_out: {e}"));
    assert_eq!(token_in(open().as_ref()), None);
}

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

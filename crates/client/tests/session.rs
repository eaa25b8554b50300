//! The session against the real provider and API: restore, rotation, single-flight
//! refresh, a refused refresh, sign-out, and being offline.

mod common;

use common::Stack;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use timesheets_client::{
    Client, ClientConfig, CredentialStore, MemoryStore, Secret, SessionState, StoreError,
};

const LONG: Duration = Duration::from_secs(300);
const SHORT: Duration = Duration::from_secs(2);

fn stored(store: &MemoryStore) -> Option<String> {
    store.load().ok().flatten().map(|t| t.expose().clone())
}

fn week() -> (chrono::NaiveDate, chrono::NaiveDate) {
    let week = timesheets_client::Week::containing(chrono::Local::now().date_naive());
    (week.monday(), week.sunday())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_token_restores_the_session_without_the_browser_and_rotates() {
    let stack = Stack::start(LONG).await;
    let (first, store) = stack.signed_in("manager@example.com").await;
    let token_at_sign_in = stored(&store).unwrap_or_else(|| panic!("nothing stored"));
    drop(first);

    // The app starts again with the same keyring.
    let (client, person) = stack.client(store.clone());
    assert_eq!(client.view().state, SessionState::SignedOut);
    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert_eq!(
        view.user.as_ref().map(|u| u.name.as_str()),
        Some("Morgan Manager")
    );
    assert_eq!(view.scopes.len(), 4);
    assert!(view.remembered);
    assert!(
        person_opened_nothing(&person),
        "restore must not open the browser"
    );
    assert_eq!(stack.counts.refreshes(), 1);

    // Rotation: the refresh gave a new refresh token, and it is what is stored now.
    let rotated = stored(&store).unwrap_or_else(|| panic!("nothing stored after refresh"));
    assert_ne!(rotated, token_at_sign_in);

    // And the restored session works against the API.
    let (from, to) = week();
    let entries = client.api().list_entries(from, to).await;
    assert!(entries.is_ok(), "{entries:?}");
}

fn person_opened_nothing(person: &common::Person) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| person.last_opened())).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_calls_with_an_expired_token_share_one_refresh() {
    let stack = Stack::start(SHORT).await;
    let (client, store) = stack.signed_in("employee@example.com").await;
    // Let the access token expire unrenewed, as after a laptop's sleep.
    client.session().set_renew_ahead(false);
    let before = stored(&store);
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;

    let (from, to) = week();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let api = client.api().clone();
        calls.spawn(async move { api.list_entries(from, to).await });
    }
    let mut ok = 0;
    while let Some(result) = calls.join_next().await {
        match result {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => panic!("a call failed: {e}"),
            Err(e) => panic!("a call panicked: {e}"),
        }
    }
    assert_eq!(ok, 100);
    assert_eq!(
        stack.counts.refreshes(),
        1,
        "the refresh was not single-flight"
    );
    assert_eq!(client.session().refresh_count(), 1);
    assert_ne!(stored(&store), before, "the rotated token was not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_signs_out_with_a_reason_and_empties_the_store() {
    let stack = Stack::start(SHORT).await;
    let (client, store) = stack.signed_in("employee@example.com").await;
    client.session().set_renew_ahead(false);
    let original = stored(&store).unwrap_or_else(|| panic!("nothing stored"));

    // Someone else (a copy of the keyring) uses the same refresh token first.
    let thief_store = Arc::new(MemoryStore::new());
    assert!(thief_store.save(&Secret::new(original)).is_ok());
    let (thief, _) = stack.client(thief_store);
    thief.session().set_renew_ahead(false);
    assert_eq!(thief.restore().await.state, SessionState::SignedIn);

    // Our token expires; our refresh presents the already-used token: reuse.
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;
    let (from, to) = week();
    let error = client
        .api()
        .list_entries(from, to)
        .await
        .err()
        .unwrap_or_else(|| panic!("a reused refresh token was accepted"));
    assert_eq!(error.code(), "signed_out");
    assert!(error.to_string().contains("revoked or used"), "{error}");
    let view = client.view();
    assert_eq!(view.state, SessionState::SignedOut);
    assert!(view
        .message
        .as_deref()
        .is_some_and(|m| m.contains("sign in again")));
    assert!(!view.remembered);
    assert_eq!(stored(&store), None, "the dead token is still stored");

    // Reuse revoked the whole family: the thief is out too at its next refresh.
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;
    let thief_error = thief.api().list_entries(from, to).await.err();
    assert_eq!(thief_error.map(|e| e.code()), Some("signed_out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_revoked_token_at_start_signs_out_with_the_general_reason() {
    let stack = Stack::start(LONG).await;
    let store = Arc::new(MemoryStore::new());
    assert!(store
        .save(&Secret::new("not-a-token-the-provider-issued".to_owned()))
        .is_ok());
    let (client, _) = stack.client(store.clone());
    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedOut);
    assert_eq!(
        view.message.as_deref(),
        Some(
            "Your session ended: you were signed out elsewhere or it expired. Please sign in again."
        )
    );
    assert_eq!(stored(&store), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_revokes_at_the_provider_and_deletes_the_stored_token() {
    let stack = Stack::start(LONG).await;
    let (client, store) = stack.signed_in("employee@example.com").await;
    let token = stored(&store).unwrap_or_else(|| panic!("nothing stored"));

    client
        .sign_out()
        .await
        .unwrap_or_else(|e| panic!("sign_out: {e}"));
    let view = client.view();
    assert_eq!(view.state, SessionState::SignedOut);
    assert_eq!(view.user, None);
    assert!(view.scopes.is_empty());
    assert_eq!(view.message, None);
    assert_eq!(stored(&store), None);
    assert_eq!(stack.counts.revocations(), 1);

    // The provider refuses the old refresh token now.
    let response = reqwest::Client::new()
        .post(
            stack
                .issuer
                .join("oauth/token")
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
            ("client_id", "timesheets-desktop"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(body["error"], "invalid_grant");

    // And the app's API calls say "signed out".
    let (from, to) = week();
    let error = client.api().list_entries(from, to).await.err();
    assert_eq!(error.map(|e| e.code()), Some("signed_out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_means_offline_not_signed_out() {
    // A port with nothing listening.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        listener.local_addr().map(|a| a.port()).unwrap_or_default()
    };
    let config = ClientConfig {
        issuer: format!("http://127.0.0.1:{port}/"),
        api_base: url::Url::parse(&format!("http://127.0.0.1:{port}"))
            .unwrap_or_else(|e| panic!("{e}")),
        ..ClientConfig::default()
    };
    let store = Arc::new(MemoryStore::new());
    assert!(store.save(&Secret::new("kept-token".to_owned())).is_ok());
    let client = Client::new(config, store.clone(), Arc::new(common::Person::default()))
        .unwrap_or_else(|e| panic!("{e}"));

    let view = client.restore().await;
    assert!(view.offline, "{view:?}");
    assert_eq!(view.state, SessionState::SignedIn);
    assert_eq!(stored(&store).as_deref(), Some("kept-token"));

    // While backing off, calls fail fast with `offline`, sending nothing.
    let (from, to) = week();
    let started = std::time::Instant::now();
    let error = client.api().list_entries(from, to).await.err();
    assert_eq!(error.map(|e| e.code()), Some("offline"));
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(client.session().refresh_count(), 1);

    // Signing in needs the provider: offline too, and no browser opened.
    assert_eq!(
        client.sign_in().await.err().map(|e| e.code()),
        Some("offline")
    );
    assert_eq!(stored(&store).as_deref(), Some("kept-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_retry_reconnects_when_the_provider_comes_back() {
    // Reserve a port, start the app against it while nothing listens there...
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    let issuer = url::Url::parse(&format!("http://{addr}/")).unwrap_or_else(|e| panic!("{e}"));

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let idp = timesheets_idp::IdentityProvider::open(timesheets_idp::Config::new(
        issuer.clone(),
        dir.path(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    // ...sign in once for real to have a token to restore, through a first server.
    let first = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let router = idp.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(first, router).await;
    });
    let config = ClientConfig {
        issuer: issuer.to_string(),
        ..ClientConfig::default()
    };
    let store = Arc::new(MemoryStore::new());
    let person = Arc::new(common::Person::default());
    let client = Client::new(config.clone(), store.clone(), person.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    common::sign_in(&client, &person, "auditor@example.com").await;
    server.abort();
    let _ = server.await;
    drop(client);

    // The provider is down at start: offline.
    let client = Client::new(config, store.clone(), Arc::new(common::Person::default()))
        .unwrap_or_else(|e| panic!("{e}"));
    let view = client.restore().await;
    assert!(view.offline, "{view:?}");
    let mut changes = client.subscribe();

    // It comes back; within the backoff (1 s, then 2 s) the app reconnects by itself.
    let again = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let router = idp.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(again, router).await;
    });
    let reconnected = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if !changes.borrow_and_update().offline {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        reconnected.is_ok(),
        "did not reconnect: {:?}",
        client.view()
    );
    let view = client.view();
    assert!(!view.offline);
    assert_eq!(view.state, SessionState::SignedIn);
    assert_eq!(view.user.map(|u| u.name), Some("Avery Auditor".to_owned()));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_renews_a_little_before_expiry_by_itself() {
    // Four-second tokens are renewed a quarter of their life (1 s) ahead.
    let ttl = Duration::from_secs(4);
    let stack = Stack::start(ttl).await;
    let (client, store) = stack.signed_in("employee@example.com").await;
    let signed_in_at = std::time::Instant::now();
    let first = stored(&store);
    assert_eq!(stack.counts.refreshes(), 0);

    // Nobody calls anything; the app renews on its own before the token expires.
    while stack.counts.refreshes() == 0 && signed_in_at.elapsed() < ttl * 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let renewed_after = signed_in_at.elapsed();
    assert_eq!(stack.counts.refreshes(), 1, "no renewal by itself");
    assert!(
        renewed_after >= ttl - Duration::from_millis(1500) && renewed_after < ttl,
        "renewed {renewed_after:?} after sign-in, not a little before the {ttl:?} expiry"
    );
    // Rotated, stored, and still signed in; a call now needs no refresh.
    while client.session().refresh_count() == 1 && stored(&store) == first {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(stored(&store), first);
    assert_eq!(client.view().state, SessionState::SignedIn);
    let (from, to) = week();
    assert!(client.api().list_entries(from, to).await.is_ok());
    assert_eq!(stack.counts.refreshes(), 1);
}

/// A keyring whose writes can be held, to see what the app does meanwhile.
#[derive(Default)]
struct HeldStore {
    inner: MemoryStore,
    hold: AtomicBool,
    waiting: AtomicBool,
    released: (Mutex<bool>, Condvar),
}

impl HeldStore {
    fn release(&self) {
        let (lock, ready) = &self.released;
        if let Ok(mut released) = lock.lock() {
            *released = true;
            ready.notify_all();
        }
    }
}

/// Releases the held write when the test ends, even by a failed assertion, so a
/// write still waiting cannot keep the test's runtime from shutting down.
struct ReleaseOnDrop(Arc<HeldStore>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl CredentialStore for HeldStore {
    fn load(&self) -> Result<Option<Secret<String>>, StoreError> {
        self.inner.load()
    }
    fn save(&self, token: &Secret<String>) -> Result<(), StoreError> {
        if self.hold.load(Ordering::SeqCst) {
            self.waiting.store(true, Ordering::SeqCst);
            let (lock, ready) = &self.released;
            let mut released = lock
                .lock()
                .map_err(|_| StoreError::Failed("poisoned".into()))?;
            while !*released {
                released = ready
                    .wait(released)
                    .map_err(|_| StoreError::Failed("poisoned".into()))?;
            }
        }
        self.inner.save(token)
    }
    fn delete(&self) -> Result<(), StoreError> {
        self.inner.delete()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotated_refresh_token_is_stored_before_the_new_access_token_is_used() {
    let stack = Stack::start(SHORT).await;
    let store = Arc::new(HeldStore::default());
    let (client, person) = stack.client(store.clone());
    client.session().set_renew_ahead(false);
    common::sign_in(&client, &person, "employee@example.com").await;
    let before = store
        .inner
        .load()
        .ok()
        .flatten()
        .map(|t| t.expose().clone());
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;

    // The refresh answers, and the keyring write of its new refresh token hangs.
    let _release = ReleaseOnDrop(store.clone());
    store.hold.store(true, Ordering::SeqCst);
    let (from, to) = week();
    let api = client.api().clone();
    let first = tokio::spawn(async move { api.list_entries(from, to).await });
    while !store.waiting.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Meanwhile nobody gets the new access token: not the caller that renewed,
    // nor one that comes later.
    let api = client.api().clone();
    let later = tokio::spawn(async move { api.list_entries(from, to).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !first.is_finished(),
        "a call went on before the keyring write"
    );
    assert!(
        !later.is_finished(),
        "a call used the new token before the keyring write"
    );

    store.release();
    for call in [first, later] {
        let result = call.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(result.is_ok(), "{result:?}");
    }
    let after = store
        .inner
        .load()
        .ok()
        .flatten()
        .map(|t| t.expose().clone());
    assert!(after.is_some());
    assert_ne!(after, before);
    assert_eq!(stack.counts.refreshes(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_means_offline_until_it_answers_again() {
    let stack = Stack::start(LONG).await;
    // The API's address, with nothing listening there yet.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    let config = ClientConfig {
        api_base: url::Url::parse(&format!("http://{addr}")).unwrap_or_else(|e| panic!("{e}")),
        ..stack.config()
    };
    let store = Arc::new(MemoryStore::new());
    let person = Arc::new(common::Person::default());
    let client =
        Client::new(config, store.clone(), person.clone()).unwrap_or_else(|e| panic!("{e}"));
    common::sign_in(&client, &person, "employee@example.com").await;

    let (from, to) = week();
    let error = client.api().list_entries(from, to).await.err();
    assert_eq!(error.map(|e| e.code()), Some("offline"));
    let view = client.view();
    assert!(view.offline, "{view:?}");
    assert_eq!(
        view.state,
        SessionState::SignedIn,
        "offline is not a sign-out"
    );
    assert!(stored(&store).is_some());

    // The API comes back (anything answering HTTP there); the app notices by itself.
    let mut changes = client.subscribe();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new()).await;
    });
    let back = tokio::time::timeout(Duration::from_secs(10), async {
        while changes.borrow_and_update().offline {
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(back.is_ok(), "still offline: {:?}", client.view());
    assert_eq!(client.view().state, SessionState::SignedIn);
    server.abort();
}

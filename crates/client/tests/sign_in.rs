//! Signing in through the browser against the real development identity provider.

mod common;

use common::{sign_in, Stack};
use std::sync::Arc;
use std::time::Duration;
use timesheets_client::keyring::PENDING_SIGN_IN_SLOT;
use timesheets_client::{CredentialStore, MemoryStore, SessionState};

const TTL: Duration = Duration::from_secs(300);

fn param(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_gets_the_scopes_they_may_have() {
    let stack = Stack::start(TTL).await;
    let cases = [
        (
            "employee@example.com",
            "Erin Employee",
            vec!["read:timesheets", "create:timesheets", "delete:timesheets"],
        ),
        (
            "manager@example.com",
            "Morgan Manager",
            vec![
                "read:timesheets",
                "create:timesheets",
                "delete:timesheets",
                "approve:timesheets",
            ],
        ),
        (
            "auditor@example.com",
            "Avery Auditor",
            vec!["read:timesheets"],
        ),
    ];
    for (email, name, scopes) in cases {
        let store = Arc::new(MemoryStore::new());
        let (client, person) = stack.client(store.clone());
        let view = sign_in(&client, &person, email).await;
        assert_eq!(view.state, SessionState::SignedIn);
        assert_eq!(view.scopes, scopes, "{email}");
        let user = view.user.clone().unwrap_or_else(|| panic!("no user"));
        assert_eq!(user.name, name);
        assert_eq!(user.email.as_deref(), Some(email));
        assert!(view.remembered);
        assert_eq!(view.message, None);
        assert!(!view.offline);
        assert_eq!(
            view.provider,
            format!(
                "Development sign-in (127.0.0.1:{})",
                stack.issuer.port().unwrap_or_default()
            )
        );
        assert_eq!(client.subscribe().borrow().clone(), view);

        // The refresh token went to the store, and nowhere near the front end.
        let stored = store
            .load()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no refresh token stored"));
        let json = serde_json::to_string(&view).unwrap_or_default();
        assert!(!json.contains(stored.expose().as_str()));
        assert!(!json.contains("eyJ"), "a JWT leaked into the view: {json}");
        let debug = format!("{client:?} {:?}", client.session());
        assert!(!debug.contains(stored.expose().as_str()));
        assert!(!debug.contains("eyJ"), "{debug}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_mismatched_and_replayed_links_send_no_request() {
    let stack = Stack::start(TTL).await;
    let (client, person) = stack.client(Arc::new(MemoryStore::new()));
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    let authorize = person.last_opened();
    let state = param(&authorize, "state");
    let real = person
        .sign_in_at(&authorize, "employee@example.com", "password")
        .await;
    let code = url::Url::parse(&real)
        .map(|u| param(&u, "code"))
        .unwrap_or_default();
    assert!(!code.is_empty());

    let iss = stack.issuer.as_str();
    let not_ours = [
        // Another program starts the app with a made-up link.
        format!("com.example.timesheets:/oauth/callback?code={code}&state=forged&iss={iss}"),
        format!("com.example.timesheets:/oauth/callback?code={code}&iss={iss}"),
        // The right state, addressed elsewhere.
        format!("com.example.timesheets:/elsewhere?code={code}&state={state}&iss={iss}"),
        format!("com.example.other:/oauth/callback?code={code}&state={state}&iss={iss}"),
        format!("com.example.timesheets:/oauth/callback?code={code}&state={state}&state=x"),
        "garbage".to_owned(),
    ];
    for link in &not_ours {
        let error = client
            .handle_callback(link)
            .await
            .err()
            .unwrap_or_else(|| panic!("accepted {link}"));
        assert_eq!(error.code(), "invalid", "{link}");
        // The genuine sign-in is still waiting.
        assert_eq!(client.view().state, SessionState::WaitingForBrowser);
    }
    assert_eq!(
        stack.counts.token_requests(),
        0,
        "a rejected link sent a request"
    );

    // The real link still works after all that.
    let view = client
        .handle_callback(&real)
        .await
        .unwrap_or_else(|e| panic!("real callback: {e}"));
    assert_eq!(view.state, SessionState::SignedIn);
    assert_eq!(stack.counts.token_requests(), 1);

    // Delivered again (replay): refused without a request.
    let replay = client.handle_callback(&real).await;
    assert_eq!(replay.err().map(|e| e.code()), Some("invalid"));
    assert_eq!(stack.counts.token_requests(), 1);
    assert_eq!(client.view().state, SessionState::SignedIn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_from_another_issuer_ends_the_sign_in_without_a_request() {
    let stack = Stack::start(TTL).await;
    let (client, person) = stack.client(Arc::new(MemoryStore::new()));
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    let authorize = person.last_opened();
    let real = person
        .sign_in_at(&authorize, "employee@example.com", "password")
        .await;
    // RFC 9207 mix-up defence: same state, but `iss` names another server.
    let own_iss =
        url::form_urlencoded::byte_serialize(stack.issuer.as_str().as_bytes()).collect::<String>();
    let mixed_up = real.replace(&own_iss, "https%3A%2F%2Fevil.example.com%2F");
    assert_ne!(mixed_up, real);
    let error = client
        .handle_callback(&mixed_up)
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted a link from another issuer"));
    assert_eq!(error.code(), "signed_out");
    let view = client.view();
    assert_eq!(view.state, SessionState::SignedOut);
    assert!(view
        .message
        .is_some_and(|m| m.contains("different sign-in server")));
    // The sign-in is over: even the genuine link is now refused.
    assert!(client.handle_callback(&real).await.is_err());
    // The provider requires `iss`; a link without it is refused too.
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    let authorize = person.last_opened();
    let without_iss = format!(
        "com.example.timesheets:/oauth/callback?code=abc&state={}",
        param(&authorize, "state")
    );
    assert_eq!(
        client
            .handle_callback(&without_iss)
            .await
            .err()
            .map(|e| e.code()),
        Some("signed_out")
    );
    assert_eq!(stack.counts.token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_or_cancelling_leaves_the_person_signed_out_in_plain_words() {
    let stack = Stack::start(TTL).await;
    let (client, person) = stack.client(Arc::new(MemoryStore::new()));
    let mut changes = client.subscribe();

    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    assert!(changes.has_changed().unwrap_or(false));
    assert_eq!(
        changes.borrow_and_update().state,
        SessionState::WaitingForBrowser
    );
    let state = param(&person.last_opened(), "state");
    let declined = format!(
        "com.example.timesheets:/oauth/callback?error=access_denied&error_description=no&state={state}&iss={}",
        stack.issuer
    );
    let error = client
        .handle_callback(&declined)
        .await
        .err()
        .unwrap_or_else(|| panic!("a declined sign-in succeeded"));
    assert_eq!(error.to_string(), "You declined the sign-in.");
    let view = client.view();
    assert_eq!(view.state, SessionState::SignedOut);
    assert_eq!(view.message.as_deref(), Some("You declined the sign-in."));
    assert_eq!(changes.borrow_and_update().state, SessionState::SignedOut);

    // Cancel: back to signed out, and the late link is refused without a request.
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    let authorize = person.last_opened();
    client.cancel_sign_in();
    assert_eq!(client.view().state, SessionState::SignedOut);
    let late = person
        .sign_in_at(&authorize, "employee@example.com", "password")
        .await;
    assert_eq!(
        client.handle_callback(&late).await.err().map(|e| e.code()),
        Some("invalid")
    );
    assert_eq!(stack.counts.token_requests(), 0);
}

/// Starts a sign-in with one run of the app, has the person sign in in the
/// browser, and "closes the app" before the link arrives. Returns the link.
async fn started_then_closed(stack: &Stack, store: &Arc<MemoryStore>, email: &str) -> String {
    let (client, person) = stack.client(store.clone());
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    assert_eq!(client.view().state, SessionState::WaitingForBrowser);
    let link = person
        .sign_in_at(&person.last_opened(), email, "password")
        .await;
    assert!(
        link.starts_with("com.example.timesheets:/oauth/callback?"),
        "{link}"
    );
    drop(client);
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_from_the_link_finishes_the_sign_in_once() {
    let stack = Stack::start(TTL).await;
    let store = Arc::new(MemoryStore::new());
    let link = started_then_closed(&stack, &store, "employee@example.com").await;
    assert_eq!(stack.counts.token_requests(), 0);

    // The OS starts the app afresh with the link: a new client over the same store.
    let (cold, _) = stack.client(store.clone());
    assert_eq!(cold.view().state, SessionState::SignedOut);
    let view = cold
        .handle_callback(&link)
        .await
        .unwrap_or_else(|e| panic!("cold callback: {e}"));
    assert_eq!(view.state, SessionState::SignedIn);
    assert_eq!(
        view.scopes,
        vec!["read:timesheets", "create:timesheets", "delete:timesheets"]
    );
    assert_eq!(view.user.map(|u| u.name).as_deref(), Some("Erin Employee"));
    assert!(view.remembered);
    assert_eq!(
        stack
            .counts
            .code_exchanges
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    // The session works against the API.
    let today = cold.today();
    cold.api()
        .list_entries(today, today)
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    // The refresh token went where it always goes.
    assert!(matches!(store.load(), Ok(Some(_))));

    // The same link again, to this run or to yet another start: refused, no request.
    let again = cold.handle_callback(&link).await.err().map(|e| e.code());
    assert_eq!(again, Some("invalid"));
    let (third, _) = stack.client(store.clone());
    let replay = third.handle_callback(&link).await.err().map(|e| e.code());
    assert_eq!(replay, Some("invalid"));
    assert_eq!(third.view().state, SessionState::SignedOut);
    assert_eq!(stack.counts.token_requests(), 1, "a replay sent a request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_link_to_a_cold_start_sends_nothing_and_spends_nothing() {
    let stack = Stack::start(TTL).await;
    let store = Arc::new(MemoryStore::new());
    let real = started_then_closed(&stack, &store, "manager@example.com").await;
    let real_url = url::Url::parse(&real).unwrap_or_else(|e| panic!("{e}"));
    let code = param(&real_url, "code");
    let state = param(&real_url, "state");
    let iss = stack.issuer.as_str();

    let (cold, _) = stack.client(store.clone());
    let forged = [
        format!("com.example.timesheets:/oauth/callback?code={code}&state=forged&iss={iss}"),
        format!("com.example.timesheets:/oauth/callback?code={code}&iss={iss}"),
        format!("com.example.timesheets:/elsewhere?code={code}&state={state}&iss={iss}"),
        format!("com.example.other:/oauth/callback?code={code}&state={state}&iss={iss}"),
        format!("com.example.timesheets:/oauth/callback?code={code}&state={state}&state=x"),
        "garbage".to_owned(),
    ];
    for link in &forged {
        let error = cold
            .handle_callback(link)
            .await
            .err()
            .unwrap_or_else(|| panic!("accepted {link}"));
        assert_eq!(error.code(), "invalid", "{link}");
        assert_eq!(cold.view().state, SessionState::SignedOut);
    }
    assert_eq!(
        stack.counts.token_requests(),
        0,
        "a forged link sent a request"
    );

    // The genuine link still works, even in yet another start of the app.
    let (later, _) = stack.client(store.clone());
    let view = later
        .handle_callback(&real)
        .await
        .unwrap_or_else(|e| panic!("genuine callback: {e}"));
    assert_eq!(view.state, SessionState::SignedIn);
    assert_eq!(
        view.scopes,
        vec![
            "read:timesheets",
            "create:timesheets",
            "delete:timesheets",
            "approve:timesheets"
        ]
    );
    assert_eq!(stack.counts.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_cancelled_before_the_app_closed_cannot_be_finished_by_a_cold_start() {
    let stack = Stack::start(TTL).await;
    let store = Arc::new(MemoryStore::new());
    let (client, person) = stack.client(store.clone());
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    let authorize = person.last_opened();
    let parked = store
        .sibling(PENDING_SIGN_IN_SLOT)
        .unwrap_or_else(|| panic!("no second entry"));
    assert!(matches!(parked.load(), Ok(Some(_))));
    client.cancel_sign_in();
    // Cancelling returns at once and cleans the keyring in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !matches!(parked.load(), Ok(None)) {
        assert!(
            std::time::Instant::now() < deadline,
            "cancelling left the sign-in in the store"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(client);
    let late = person
        .sign_in_at(&authorize, "employee@example.com", "password")
        .await;
    let (cold, _) = stack.client(store.clone());
    let error = cold.handle_callback(&late).await.err().map(|e| e.code());
    assert_eq!(error, Some("invalid"));
    assert_eq!(stack.counts.token_requests(), 0);
}

//! Signing in through the browser against the real development identity provider.

mod common;

use common::{sign_in, Stack};
use std::sync::Arc;
use std::time::Duration;
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

//! What other providers need of the app, against the real development stack: a
//! loopback redirect (RFC 8252 §7.3), `prompt`, the provider's name, and an API
//! that answers but cannot verify sign-ins.

mod common;

use common::{browse_to_app, Stack};
use std::sync::Arc;
use std::time::Duration;
use timesheets_client::{Client, ClientConfig, MemoryStore, SessionState};
use url::Url;

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The app configured for the development provider's loopback client.
fn loopback_config(stack: &Stack) -> ClientConfig {
    ClientConfig {
        client_id: "timesheets-desktop-loopback".into(),
        redirect_uri: Url::parse("http://127.0.0.1/callback").unwrap_or_else(|e| panic!("{e}")),
        ..stack.config()
    }
}

/// A plain HTTP client, as a browser (or another program on the machine) is.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Whether anything accepts connections on `port` now.
async fn listening(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// Waits until nothing listens on `port` any more (a closed listener).
async fn closed(port: u16) -> bool {
    for _ in 0..50 {
        if !listening(port).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_loopback_sign_in_listens_for_its_one_callback_then_closes() {
    let stack = Stack::start(Duration::from_secs(300)).await;
    let person = Arc::new(common::Person::default());
    let client = Client::new(
        loopback_config(&stack),
        Arc::new(MemoryStore::new()),
        person.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    client.sign_in().await.unwrap_or_else(|e| panic!("{e}"));

    let authorize = person.last_opened();
    let redirect = param(&authorize, "redirect_uri").unwrap_or_default();
    let redirect = Url::parse(&redirect).unwrap_or_else(|e| panic!("{redirect}: {e}"));
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect.path(), "/callback");
    let port = redirect
        .port()
        .unwrap_or_else(|| panic!("no port in {redirect}"));
    assert!(listening(port).await, "nothing listens on {port}");

    // Nothing else is served, and a callback with a wrong state changes nothing.
    let other = http()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.status(), 404);
    let forged = http()
        .get(format!(
            "http://127.0.0.1:{port}/callback?code=x&state=forged"
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forged.status(), 400);
    assert_eq!(client.view().state, SessionState::WaitingForBrowser);

    // The person signs in; the provider sends the browser to the listener.
    let callback = browse_to_app(&authorize, "employee@example.com", "password").await;
    assert_eq!(callback.port(), Some(port), "{callback}");
    assert_eq!(callback.path(), "/callback");
    let answer = http()
        .get(callback.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()[reqwest::header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let page = answer.text().await.unwrap_or_default();
    assert!(page.contains("You can close this tab"), "{page}");
    let view = client.view();
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert_eq!(view.user.map(|u| u.name).as_deref(), Some("Erin Employee"));

    // Served once: the same callback again finds the port closed.
    assert!(closed(port).await, "the listener is still open");
    assert!(http().get(callback).send().await.is_err());

    // The API works with the tokens.
    let today = client.today();
    assert!(client.api().list_entries(today, today).await.is_ok());
}

#[tokio::test]
async fn a_cancelled_or_replaced_loopback_sign_in_closes_its_port() {
    let stack = Stack::start(Duration::from_secs(300)).await;
    let person = Arc::new(common::Person::default());
    let client = Client::new(
        loopback_config(&stack),
        Arc::new(MemoryStore::new()),
        person.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let port_of = |url: &Url| {
        param(url, "redirect_uri")
            .and_then(|r| Url::parse(&r).ok())
            .and_then(|r| r.port())
            .unwrap_or_default()
    };

    client.sign_in().await.unwrap_or_else(|e| panic!("{e}"));
    let first = person.last_opened();
    let first_port = port_of(&first);
    // A second sign-in replaces the first: its listener goes.
    client.sign_in().await.unwrap_or_else(|e| panic!("{e}"));
    let second = person.last_opened();
    assert_ne!(port_of(&second), first_port);
    assert!(
        closed(first_port).await,
        "the replaced sign-in still listens"
    );

    // The person finishes the first sign-in anyway: nothing receives it.
    let late = browse_to_app(&first, "employee@example.com", "password").await;
    assert!(http().get(late).send().await.is_err());

    // Cancel: the port closes, and a callback after it is refused.
    client.cancel_sign_in();
    assert!(
        closed(port_of(&second)).await,
        "still listening after cancel"
    );
    let after = browse_to_app(&second, "employee@example.com", "password").await;
    assert!(http().get(after).send().await.is_err());
    assert_eq!(client.view().state, SessionState::SignedOut);
}

#[tokio::test]
async fn prompt_is_sent_and_the_development_provider_is_named_by_discovery() {
    let stack = Stack::start(Duration::from_secs(300)).await;
    let person = Arc::new(common::Person::default());
    let config = ClientConfig {
        prompt: Some("consent".into()),
        ..stack.config()
    };
    let client = Client::new(config, Arc::new(MemoryStore::new()), person.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let port = stack.issuer.port().unwrap_or_default();
    // Before discovery: only the address.
    assert_eq!(client.view().provider, format!("127.0.0.1:{port}"));
    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedOut);
    assert_eq!(
        view.provider,
        format!("Development sign-in (127.0.0.1:{port})")
    );
    client.sign_in().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        param(&person.last_opened(), "prompt").as_deref(),
        Some("consent")
    );
}

#[tokio::test]
async fn an_api_that_cannot_verify_sign_ins_is_not_offline() {
    let stack = Stack::start(Duration::from_secs(300)).await;
    let (signed_in, store) = stack.signed_in("employee@example.com").await;
    drop(signed_in);

    // An API that has never fetched the provider's keys, while the key set fails.
    stack
        .counts
        .fail_jwks
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let api_url = stack.extra_api("timesheets-api").await;
    let config = ClientConfig {
        api_base: api_url,
        ..stack.config()
    };
    let client = Client::new(config, store, Arc::new(common::Person::default()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client.restore().await.state, SessionState::SignedIn);

    let today = client.today();
    let error = client
        .api()
        .list_entries(today, today)
        .await
        .err()
        .unwrap_or_else(|| panic!("the API verified a token without keys"));
    assert_eq!(error.code(), "unavailable");
    assert!(
        error.to_string().contains("can't verify sign-ins"),
        "{error}"
    );
    let view = client.view();
    assert!(view.cannot_verify, "{view:?}");
    assert!(
        !view.offline,
        "an answering server is not offline: {view:?}"
    );
    assert_eq!(view.state, SessionState::SignedIn);

    // The keys come back: the app finds out by itself, with no call from anyone.
    stack
        .counts
        .fail_jwks
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let mut changes = client.subscribe();
    let recovered = tokio::time::timeout(Duration::from_secs(30), async {
        while changes.borrow_and_update().cannot_verify {
            if changes.changed().await.is_err() {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(
        recovered,
        Ok(true),
        "still cannot verify: {:?}",
        client.view()
    );
    assert!(client.api().list_entries(today, today).await.is_ok());
}

//! A refresh answer whose ID token names someone else ends the session (OpenID
//! Connect Core §12.2), over real HTTP: a small provider here serves discovery, its
//! key and a token endpoint whose refreshed ID tokens name whoever the test says.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::traits::PublicKeyParts as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timesheets_client::{
    Browser, BrowserError, Client, ClientConfig, CredentialStore, MemoryStore, Secret,
    SessionState, SessionView,
};
use url::Url;

/// Access tokens live this long, so the app renews by itself within a second or two.
const TTL_SECONDS: u64 = 2;

struct Provider {
    issuer: String,
    origin: String,
    key: EncodingKey,
    jwk: Value,
    /// The `sub` the next refreshed ID token names.
    sub: Mutex<String>,
    refreshes: AtomicUsize,
}

type Shared = Arc<Provider>;

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    Json(json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.origin),
        "token_endpoint": format!("{}/token", p.origin),
        "jwks_uri": format!("{}/keys", p.origin),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn keys(State(p): State<Shared>) -> Json<Value> {
    Json(json!({ "keys": [p.jwk] }))
}

async fn token(State(p): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Json<Value> {
    assert_eq!(
        form.get("grant_type").map(String::as_str),
        Some("refresh_token")
    );
    let n = p.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
    let sub = p.sub.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let now = jsonwebtoken::get_current_timestamp();
    let id = json!({
        "iss": p.issuer, "sub": sub, "aud": ClientConfig::default().client_id,
        "iat": now, "exp": now + 300, "name": format!("Person {sub}"),
    });
    let header = Header {
        kid: Some("refresh-key".into()),
        ..Header::new(Algorithm::RS256)
    };
    let id_token = jsonwebtoken::encode(&header, &id, &p.key).unwrap_or_else(|e| panic!("{e}"));
    Json(json!({
        "access_token": format!("at-{n}"),
        "token_type": "Bearer",
        "expires_in": TTL_SECONDS,
        "refresh_token": format!("rt-{n}"),
        "id_token": id_token,
    }))
}

async fn start_provider() -> Shared {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let origin = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let private =
        rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap_or_else(|e| panic!("{e}"));
    let der = private.to_pkcs1_der().unwrap_or_else(|e| panic!("{e}"));
    let shared = Arc::new(Provider {
        issuer: format!("{origin}/"),
        origin,
        key: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "refresh-key",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }),
        sub: Mutex::new("person-1".into()),
        refreshes: AtomicUsize::new(0),
    });
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/keys", get(keys))
        .route("/token", post(token))
        .with_state(shared.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    shared
}

/// No browser is needed: the session is restored from a stored refresh token.
struct NoBrowser;

impl Browser for NoBrowser {
    fn open(&self, _: &Url) -> Result<(), BrowserError> {
        Err(BrowserError("no browser in this test".into()))
    }
}

/// Waits until the provider has answered `count` refreshes and the app has
/// taken in the last answer.
async fn after_refresh(provider: &Provider, client: &Client, count: usize) -> SessionView {
    let deadline = Instant::now() + Duration::from_secs(TTL_SECONDS * 5);
    while provider.refreshes.load(Ordering::SeqCst) < count {
        assert!(Instant::now() < deadline, "the app did not renew by itself");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while client.session().refresh_count() < count as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The answer is in once the session has published what it made of it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.view()
}

/// The app's settings for `provider`, and a store holding the refresh token
/// `rt-0` an earlier run kept.
fn signed_in_before(provider: &Provider) -> (ClientConfig, Arc<MemoryStore>) {
    let config = ClientConfig {
        issuer: provider.issuer.clone(),
        api_base: Url::parse("http://127.0.0.1:9").unwrap_or_else(|e| panic!("{e}")),
        ..ClientConfig::default()
    };
    let store = Arc::new(MemoryStore::new());
    store
        .save(&Secret::new("rt-0".to_owned()))
        .unwrap_or_else(|e| panic!("{e}"));
    (config, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_id_token_names_someone_else_ends_the_session() {
    let provider = start_provider().await;
    let (config, store) = signed_in_before(&provider);
    let client =
        Client::new(config, store.clone(), Arc::new(NoBrowser)).unwrap_or_else(|e| panic!("{e}"));

    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert_eq!(
        view.user.map(|u| u.name).as_deref(),
        Some("Person person-1")
    );

    // A renewal naming the same person keeps the session.
    let view = after_refresh(&provider, &client, 2).await;
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    assert_eq!(
        store
            .load()
            .ok()
            .flatten()
            .map(|t| t.expose().clone())
            .as_deref(),
        Some("rt-2")
    );

    // The next names another person: signed out, nothing kept, a plain reason.
    *provider.sub.lock().unwrap_or_else(|e| e.into_inner()) = "person-2".into();
    let view = after_refresh(&provider, &client, 3).await;
    assert_eq!(
        view.state,
        SessionState::SignedOut,
        "the session went on as someone else: {view:?}"
    );
    assert_eq!(view.user, None);
    assert!(
        view.message
            .as_deref()
            .is_some_and(|m| m.contains("different account") && m.contains("sign in again")),
        "{view:?}"
    );
    assert!(
        matches!(store.load(), Ok(None)),
        "the refresh token is still stored"
    );
    // No access token is left to call the API with, and no renewal follows.
    let error = client
        .api()
        .list_entries(
            chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default(),
            chrono::NaiveDate::from_ymd_opt(2026, 1, 11).unwrap_or_default(),
        )
        .await
        .err();
    assert_eq!(
        error.as_ref().map(|e| e.code()),
        Some("signed_out"),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_secs(TTL_SECONDS)).await;
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 3);
}

/// After a restart the app still knows whose refresh token it kept: the first
/// refreshed ID token must name that person too, not whoever it says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_a_refresh_naming_someone_else_ends_the_session() {
    let provider = start_provider().await;
    let (config, store) = signed_in_before(&provider);
    // The account slot, where the app notes whose refresh token it keeps.
    let account = store
        .sibling("account")
        .unwrap_or_else(|| panic!("the memory store has slots"));

    // A first run notes the person its token names.
    let client = Client::new(config.clone(), store.clone(), Arc::new(NoBrowser))
        .unwrap_or_else(|e| panic!("{e}"));
    let view = client.restore().await;
    assert_eq!(view.state, SessionState::SignedIn, "{view:?}");
    let noted = account.load().ok().flatten().map(|s| s.expose().clone());
    assert_eq!(
        noted.as_deref(),
        Some(format!("{}\nperson-1", provider.issuer).as_str())
    );
    drop(client);

    // The next run: the provider now answers for someone else.
    *provider.sub.lock().unwrap_or_else(|e| e.into_inner()) = "person-2".into();
    let client =
        Client::new(config, store.clone(), Arc::new(NoBrowser)).unwrap_or_else(|e| panic!("{e}"));
    let view = client.restore().await;
    assert_eq!(
        view.state,
        SessionState::SignedOut,
        "the restored session went on as someone else: {view:?}"
    );
    assert!(
        view.message
            .as_deref()
            .is_some_and(|m| m.contains("different account")),
        "{view:?}"
    );
    assert!(
        matches!(store.load(), Ok(None)),
        "the refresh token is still stored"
    );
    assert!(
        matches!(account.load(), Ok(None)),
        "the account is still noted"
    );
}

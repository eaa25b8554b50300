//! The app against the providers people use, each as its documentation describes
//! it: the shape of its issuer and discovery document, whether it has RFC 7009
//! revocation and RFC 9207 `iss`, and how its access tokens carry scopes (none
//! carries a name). Each profile is served by a small test provider; the real
//! API, configured for that provider, checks the tokens.
//!
//! | profile | issuer | revocation | `iss` | access token |
//! | --- | --- | --- | --- | --- |
//! | Auth0 | `…/` | yes | no | `typ: JWT`, `permissions` array |
//! | Okta | `…/oauth2/default` | yes | no | no `typ`, `scp` array |
//! | Entra ID | `…/TENANT/v2.0` | no | no | `typ: JWT`, `scp` string; loopback redirect |
//! | Keycloak | `…/realms/acme` | yes | yes | `typ: JWT`, `scope` string |

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::traits::PublicKeyParts as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use timesheets_client::{
    Browser, BrowserError, Client, ClientConfig, MemoryStore, NewEntry, SessionState,
};
use url::Url;

mod common;

/// How a provider shapes what the app and the API see.
#[derive(Clone, Copy)]
struct Profile {
    name: &'static str,
    /// The issuer's path after the origin: "/" (with its slash), "" or a path.
    issuer_path: &'static str,
    revocation: bool,
    iss_parameter: bool,
    typ: Option<&'static str>,
    /// The access token's scope-bearing claims for the granted scopes.
    scopes: fn(&[&str]) -> Value,
    /// The redirect the app registers with this provider.
    redirect_uri: &'static str,
    client_id: &'static str,
    audience: &'static str,
    /// What the token response's `scope` puts before each scope name: Entra ID
    /// names the API's scopes by its application ID URI.
    scope_prefix: &'static str,
}

const GRANTED: [&str; 2] = ["read:timesheets", "create:timesheets"];

fn profiles() -> [Profile; 4] {
    [
        Profile {
            name: "Auth0",
            issuer_path: "/",
            revocation: true,
            iss_parameter: false,
            typ: Some("JWT"),
            scopes: |granted| json!({"scope": "openid profile email offline_access", "permissions": granted}),
            redirect_uri: "com.example.timesheets:/oauth/callback",
            client_id: "AbC123xyz",
            audience: "https://timesheets.example.com/api",
            scope_prefix: "",
        },
        Profile {
            name: "Okta",
            issuer_path: "/oauth2/default",
            revocation: true,
            iss_parameter: false,
            typ: None,
            scopes: |granted| json!({"scp": granted}),
            redirect_uri: "com.example.timesheets:/oauth/callback",
            client_id: "0oa1b2c3d4",
            audience: "api://timesheets",
            scope_prefix: "",
        },
        Profile {
            name: "Entra ID",
            issuer_path: "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            revocation: false,
            iss_parameter: false,
            typ: Some("JWT"),
            scopes: |granted| json!({"scp": granted.join(" ")}),
            redirect_uri: "http://127.0.0.1/callback",
            client_id: "6731de76-14a6-49ae-97bc-6eba6914391e",
            audience: "api://6731de76-timesheets",
            scope_prefix: "api://6731de76-timesheets/",
        },
        Profile {
            name: "Keycloak",
            issuer_path: "/realms/acme",
            revocation: true,
            iss_parameter: true,
            typ: Some("JWT"),
            scopes: |granted| json!({"scope": format!("openid email profile {}", granted.join(" "))}),
            redirect_uri: "com.example.timesheets:/oauth/callback",
            client_id: "timesheets-desktop",
            audience: "timesheets-api",
            scope_prefix: "",
        },
    ]
}

/// One signing key for every test here: generating RSA keys is slow.
fn key() -> &'static (EncodingKey, Value) {
    static KEY: OnceLock<(EncodingKey, Value)> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .unwrap_or_else(|e| panic!("{e}"));
        let der = private.to_pkcs1_der().unwrap_or_else(|e| panic!("{e}"));
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "profile-key",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        (EncodingKey::from_rsa_der(der.as_bytes()), jwk)
    })
}

/// A code the provider handed out, with what it was asked for.
struct Issued {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Provider {
    profile: Profile,
    issuer: String,
    origin: String,
    codes: Mutex<HashMap<String, Issued>>,
    revocations: AtomicUsize,
}

type Shared = Arc<Provider>;

impl Provider {
    fn sign(&self, typ: Option<&str>, claims: Value) -> String {
        let header = Header {
            typ: typ.map(str::to_owned),
            alg: Algorithm::RS256,
            kid: Some("profile-key".into()),
            ..Header::default()
        };
        jsonwebtoken::encode(&header, &claims, &key().0).unwrap_or_else(|e| panic!("{e}"))
    }

    fn tokens(&self, nonce: Option<&str>) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        let mut access = json!({
            "iss": self.issuer, "sub": "person|0001", "aud": self.profile.audience,
            "iat": now, "exp": now + 300, "azp": self.profile.client_id,
        });
        if let (Value::Object(access), Value::Object(scopes)) =
            (&mut access, (self.profile.scopes)(&GRANTED))
        {
            access.extend(scopes);
        }
        let mut id = json!({
            "iss": self.issuer, "sub": "person|0001", "aud": self.profile.client_id,
            "iat": now, "exp": now + 3600, "name": "Erin Employee",
            "email": "erin@example.com",
        });
        if let Some(nonce) = nonce {
            id["nonce"] = json!(nonce);
        }
        json!({
            "access_token": self.sign(self.profile.typ, access),
            "token_type": "Bearer",
            "expires_in": 300,
            "refresh_token": format!("rt-{}", rand::random::<u64>()),
            "id_token": self.sign(Some("JWT"), id),
            "scope": GRANTED.iter().fold(
                "openid profile email offline_access".to_owned(),
                |scope, name| format!("{scope} {}{name}", self.profile.scope_prefix),
            ),
        })
    }
}

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    let mut doc = json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.origin),
        "token_endpoint": format!("{}/token", p.origin),
        "jwks_uri": format!("{}/keys", p.origin),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    });
    if p.profile.revocation {
        doc["revocation_endpoint"] = json!(format!("{}/revoke", p.origin));
    }
    if p.profile.iss_parameter {
        doc["authorization_response_iss_parameter_supported"] = json!(true);
    }
    Json(doc)
}

async fn keys() -> Json<Value> {
    Json(json!({ "keys": [key().1] }))
}

/// Signs the person in at once (the sign-in page is not what is tested here) and
/// sends the browser back with a code.
async fn authorize(State(p): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let field = |name: &str| q.get(name).cloned().unwrap_or_default();
    assert_eq!(
        field("client_id"),
        p.profile.client_id,
        "{}",
        p.profile.name
    );
    assert_eq!(field("code_challenge_method"), "S256");
    let code = format!("code-{}", rand::random::<u64>());
    p.codes.lock().unwrap_or_else(|e| e.into_inner()).insert(
        code.clone(),
        Issued {
            nonce: field("nonce"),
            challenge: field("code_challenge"),
            redirect_uri: field("redirect_uri"),
        },
    );
    let mut back = Url::parse(&field("redirect_uri")).unwrap_or_else(|e| panic!("{e}"));
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &field("state"));
    if p.profile.iss_parameter {
        back.query_pairs_mut().append_pair("iss", &p.issuer);
    }
    Redirect::to(back.as_str()).into_response()
}

async fn token(State(p): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let field = |name: &str| f.get(name).cloned().unwrap_or_default();
    match field("grant_type").as_str() {
        "authorization_code" => {
            let issued = p
                .codes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&field("code"));
            let Some(issued) = issued else {
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_grant"})),
                )
                    .into_response();
            };
            use sha2::Digest as _;
            let challenge =
                URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(field("code_verifier").as_bytes()));
            let good = challenge == issued.challenge
                && field("redirect_uri") == issued.redirect_uri
                && field("client_id") == p.profile.client_id;
            if !good {
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_grant"})),
                )
                    .into_response();
            }
            Json(p.tokens(Some(&issued.nonce))).into_response()
        }
        "refresh_token" => Json(p.tokens(None)).into_response(),
        _ => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response(),
    }
}

async fn revoke(State(p): State<Shared>) -> &'static str {
    p.revocations.fetch_add(1, Ordering::SeqCst);
    ""
}

async fn start_provider(profile: Profile) -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let origin = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let issuer = format!("{origin}{}", profile.issuer_path);
    let shared = Arc::new(Provider {
        profile,
        issuer: issuer.clone(),
        origin,
        codes: Mutex::default(),
        revocations: AtomicUsize::new(0),
    });
    let well_known = format!(
        "{}/.well-known/openid-configuration",
        profile.issuer_path.trim_end_matches('/')
    );
    let router = Router::new()
        .route(&well_known, get(discovery))
        .route("/keys", get(keys))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .with_state(shared.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    shared
}

/// The real API, trusting `provider` as its profile asks.
async fn start_api(provider: &Provider, dir: &std::path::Path) -> Url {
    let database = format!("sqlite://{}?mode=rwc", dir.join("api.sqlite3").display());
    let mut config =
        timesheets_api::Config::new(provider.issuer.clone(), provider.profile.audience, database);
    config.accept_jwt_typ = true;
    config.client_ids = vec![provider.profile.client_id.to_owned()];
    let ctx = timesheets_api::ApiContext::connect(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let app = timesheets_api::router(ctx);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Url::parse(&format!("http://{addr}")).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Default)]
struct Opened(Mutex<Vec<Url>>);

impl Browser for Opened {
    fn open(&self, url: &Url) -> Result<(), BrowserError> {
        self.0
            .lock()
            .map_err(|_| BrowserError("poisoned".into()))?
            .push(url.clone());
        Ok(())
    }
}

#[tokio::test]
async fn the_app_signs_in_with_each_provider_as_it_documents_itself() {
    for profile in profiles() {
        let name = profile.name;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let provider = start_provider(profile).await;
        let api_url = start_api(&provider, dir.path()).await;
        let config = ClientConfig {
            issuer: provider.issuer.clone(),
            client_id: profile.client_id.into(),
            audience: Some(profile.audience.into()),
            redirect_uri: Url::parse(profile.redirect_uri).unwrap_or_else(|e| panic!("{e}")),
            api_base: api_url,
            ..ClientConfig::default()
        };
        let opened = Arc::new(Opened::default());
        let client = Client::new(config, Arc::new(MemoryStore::new()), opened.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        client
            .sign_in()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let authorize = opened
            .0
            .lock()
            .ok()
            .and_then(|urls| urls.last().cloned())
            .unwrap_or_else(|| panic!("{name}: no browser opened"));
        let back = common::browse_to_app(&authorize, "", "").await;
        if back.scheme() == "http" {
            let page = reqwest::get(back)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(page.status(), 200, "{name}");
        } else {
            client
                .handle_callback(back.as_str())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let view = client.view();
        assert_eq!(view.state, SessionState::SignedIn, "{name}: {view:?}");
        assert_eq!(
            view.user.as_ref().map(|u| u.name.as_str()),
            Some("Erin Employee"),
            "{name}"
        );
        assert_eq!(view.scopes, GRANTED, "{name}: the buttons follow the grant");
        assert!(
            !view.provider.contains("Development"),
            "{name}: {}",
            view.provider
        );

        // The API grants exactly what the provider's token says, in its shape.
        let today = client.today();
        client
            .api()
            .create_entry(&NewEntry {
                date: today.to_string(),
                project: "Apollo".into(),
                notes: String::new(),
                hours: 1.0,
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: create: {e}"));
        let refused = client.pending_approvals().await.err();
        assert_eq!(refused.map(|e| e.code()), Some("forbidden"), "{name}");
        // No name in its access tokens: the presented ID token gives the API one.
        let mut known = String::new();
        for _ in 0..50 {
            known = client
                .api()
                .me()
                .await
                .map(|me| me.name)
                .unwrap_or_default();
            if known == "Erin Employee" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(known, "Erin Employee", "{name}");

        // Sign-out revokes where the provider can, and is quiet where it cannot.
        client
            .sign_out()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(client.view().state, SessionState::SignedOut, "{name}");
        assert_eq!(client.view().message, None, "{name}");
        let expected = usize::from(profile.revocation);
        assert_eq!(
            provider.revocations.load(Ordering::SeqCst),
            expected,
            "{name}"
        );
    }
}

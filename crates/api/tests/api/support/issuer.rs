//! A tiny OpenID provider for tests: discovery, a key set it can rotate, a count
//! of key set fetches, and token minting with any header or claims a test wants.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub const AUDIENCE: &str = "timesheets-api";
pub const CLIENT_ID: &str = "timesheets-desktop";

/// The test keys: `K1` published from the start, `K2` after a rotation, and
/// `Attacker` never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    K1,
    K2,
    Attacker,
}

impl Key {
    pub fn kid(self) -> &'static str {
        match self {
            Key::K1 => "k1",
            Key::K2 => "k2",
            Key::Attacker => "attacker",
        }
    }

    fn index(self) -> usize {
        match self {
            Key::K1 => 0,
            Key::K2 => 1,
            Key::Attacker => 2,
        }
    }
}

struct KeyMaterial {
    encoding: EncodingKey,
    jwk: Value,
    public_pem: String,
}

/// RSA key generation is slow; do it once per test binary.
fn keys() -> &'static [KeyMaterial; 3] {
    static KEYS: OnceLock<[KeyMaterial; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = |kid: &str| {
            let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
            let der = private.to_pkcs1_der().unwrap();
            let public = private.to_public_key();
            KeyMaterial {
                encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                jwk: json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": kid,
                    "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                    "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
                }),
                public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
            }
        };
        [make("k1"), make("k2"), make("attacker")]
    })
}

#[derive(Clone)]
struct Published {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_hits: Arc<AtomicUsize>,
}

/// The running test issuer.
pub struct Issuer {
    /// The issuer identifier, with a trailing slash as Auth0 writes it.
    pub url: String,
    published: Published,
}

async fn discovery(State(p): State<Published>) -> Json<Value> {
    Json(json!({
        "issuer": p.issuer,
        "jwks_uri": format!("{}.well-known/jwks.json", p.issuer),
        "authorization_endpoint": format!("{}authorize", p.issuer),
        "token_endpoint": format!("{}oauth/token", p.issuer),
    }))
}

async fn jwks(State(p): State<Published>) -> Json<Value> {
    p.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let keys = p.keys.lock().unwrap().clone();
    Json(json!({ "keys": keys }))
}

impl Issuer {
    pub async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let published = Published {
            issuer: url.clone(),
            keys: Arc::new(Mutex::new(vec![keys()[0].jwk.clone()])),
            jwks_hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks.json", get(jwks))
            .with_state(published.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Issuer { url, published }
    }

    /// How often the key set was fetched.
    pub fn jwks_hits(&self) -> usize {
        self.published.jwks_hits.load(Ordering::SeqCst)
    }

    /// Publishes `K2` next to `K1`, as a provider does when it rotates keys.
    pub fn rotate(&self) {
        self.published
            .keys
            .lock()
            .unwrap()
            .push(keys()[1].jwk.clone());
    }

    /// The public key in PEM, for the "HMAC with the public key" attack.
    pub fn public_pem(&self) -> String {
        keys()[0].public_pem.clone()
    }

    /// The claims of a good access token.
    pub fn claims(&self, sub: &str, scope: &str) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({
            "iss": self.url,
            "sub": sub,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "scope": scope,
            "client_id": CLIENT_ID,
            "jti": uuid::Uuid::new_v4().to_string(),
            "name": format!("{sub} (name)"),
        })
    }

    /// The header of a good access token.
    pub fn header(key: Key) -> Header {
        Header {
            typ: Some("at+jwt".into()),
            alg: Algorithm::RS256,
            kid: Some(key.kid().into()),
            ..Header::default()
        }
    }

    /// Signs `claims` with `key` under `header`.
    pub fn sign(header: &Header, claims: &Value, key: Key) -> String {
        jsonwebtoken::encode(header, claims, &keys()[key.index()].encoding).unwrap()
    }

    /// A good access token.
    pub fn token(&self, sub: &str, scope: &str) -> String {
        Self::sign(&Self::header(Key::K1), &self.claims(sub, scope), Key::K1)
    }
}

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
    private: RsaPrivateKey,
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
                private: private.clone(),
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
    /// What discovery says the issuer is: normally the issuer itself.
    advertised: Arc<Mutex<String>>,
    /// Where the key set is.
    jwks_uri: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_hits: Arc<AtomicUsize>,
}

/// How an issuer identifier is written; providers differ, and each must work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `http://127.0.0.1:PORT/`: Auth0 writes its issuer with a trailing slash.
    Slash,
    /// `http://127.0.0.1:PORT`: Okta's org server, Google, node-oidc-provider.
    NoSlash,
    /// `http://127.0.0.1:PORT/tenant/v2.0`: Entra ID, Keycloak realms, Okta's
    /// custom servers.
    Path,
}

/// The running test issuer.
pub struct Issuer {
    /// The issuer identifier, exactly as its tokens' `iss` spell it.
    pub url: String,
    published: Published,
}

async fn discovery(State(p): State<Published>) -> Json<Value> {
    let issuer = p.advertised.lock().unwrap().clone();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": p.jwks_uri,
        "authorization_endpoint": format!("{}/authorize", issuer.trim_end_matches('/')),
        "token_endpoint": format!("{}/oauth/token", issuer.trim_end_matches('/')),
    }))
}

async fn jwks(State(p): State<Published>) -> Json<Value> {
    p.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let keys = p.keys.lock().unwrap().clone();
    Json(json!({ "keys": keys }))
}

impl Issuer {
    /// An issuer written with a trailing slash, as Auth0 does.
    pub async fn start() -> Issuer {
        Self::start_as(Shape::Slash).await
    }

    /// An issuer written as `shape` says, with its discovery document where
    /// OpenID Connect Discovery §4 puts it for that shape.
    pub async fn start_as(shape: Shape) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let url = match shape {
            Shape::Slash => format!("{origin}/"),
            Shape::NoSlash => origin.clone(),
            Shape::Path => format!("{origin}/tenant/v2.0"),
        };
        let base = url.trim_end_matches('/').to_owned();
        let well_known = base.strip_prefix(&origin).unwrap_or("").to_owned();
        let published = Published {
            advertised: Arc::new(Mutex::new(url.clone())),
            jwks_uri: format!("{origin}/keys"),
            keys: Arc::new(Mutex::new(vec![keys()[0].jwk.clone()])),
            jwks_hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route(
                &format!("{well_known}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route("/keys", get(jwks))
            .with_state(published.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Issuer { url, published }
    }

    /// Makes discovery name `issuer` instead of the real one: a provider the API
    /// was misconfigured for.
    pub fn advertise(&self, issuer: &str) {
        *self.published.advertised.lock().unwrap() = issuer.to_owned();
    }

    /// The claims of a good ID token for the desktop app: `name` and `email`,
    /// audience the client id.
    pub fn id_claims(&self, sub: &str, name: &str, email: &str) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({
            "iss": self.url,
            "sub": sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": "n-0S6_WzA2Mj",
            "name": name,
            "email": email,
        })
    }

    /// The header of an ID token: `typ: JWT`, as providers send it.
    pub fn id_header(key: Key) -> Header {
        Header {
            typ: Some("JWT".into()),
            alg: Algorithm::RS256,
            kid: Some(key.kid().into()),
            ..Header::default()
        }
    }

    /// A good ID token.
    pub fn id_token(&self, sub: &str, name: &str, email: &str) -> String {
        Self::sign(
            &Self::id_header(Key::K1),
            &self.id_claims(sub, name, email),
            Key::K1,
        )
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

    /// Publishes only `K2`: `K1` is retired, as a provider does after a rotation.
    pub fn retire_k1(&self) {
        *self.published.keys.lock().unwrap() = vec![keys()[1].jwk.clone()];
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

    /// Signs `claims` under a header given as JSON, for header fields
    /// jsonwebtoken cannot write (`crit`).
    pub fn sign_raw(header: &Value, claims: &Value, key: Key) -> String {
        use rsa::pkcs1v15::SigningKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signing = SigningKey::<rsa::sha2::Sha256>::new(keys()[key.index()].private.clone());
        let signature = signing.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A good access token.
    pub fn token(&self, sub: &str, scope: &str) -> String {
        Self::sign(&Self::header(Key::K1), &self.claims(sub, scope), Key::K1)
    }
}

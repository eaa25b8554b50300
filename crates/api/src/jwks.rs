//! The issuer's signing keys: found through OpenID discovery, fetched lazily,
//! cached, and refetched when a token names a key we have not seen, at most once
//! per interval and by one request at a time.
//!
//! Why lazily: the API must start (and answer `/healthz`) even while the identity
//! provider is still starting. Why rate limited and single-flight: anyone can send
//! a token with a made-up `kid`; without a limit each one would cost the issuer a
//! request.

use crate::Error;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// The most a discovery document or key set may weigh; real ones are a few KiB.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;
/// After a failed fetch, try again sooner than after a good one, but not at once.
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);

/// Which kind of key, so a token's `alg` can be matched against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA: RS256 or PS256.
    Rsa,
    /// EC P-256: ES256.
    EcP256,
}

/// One verification key from the key set.
pub(crate) struct VerifyKey {
    /// The key, ready for jsonwebtoken.
    pub(crate) decoding: DecodingKey,
    /// Its kind.
    pub(crate) kind: KeyKind,
    /// The algorithm the key set pins it to, if it says (`alg` in the JWK).
    pub(crate) alg: Option<Algorithm>,
}

impl VerifyKey {
    /// Whether a token signed with `alg` may be checked with this key.
    pub(crate) fn allows(&self, alg: Algorithm) -> bool {
        let kind_fits = match alg {
            Algorithm::RS256 | Algorithm::PS256 => self.kind == KeyKind::Rsa,
            Algorithm::ES256 => self.kind == KeyKind::EcP256,
            _ => false,
        };
        kind_fits && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// The keys currently known, by `kid`.
type KeySet = HashMap<String, Arc<VerifyKey>>;

/// What the single fetcher remembers between fetches.
#[derive(Default)]
struct FetchState {
    /// No fetch may start before this.
    not_before: Option<Instant>,
    /// The key set's address, once discovery has told us.
    jwks_uri: Option<Url>,
    /// Whether any fetch ever succeeded.
    fetched: bool,
}

/// The cache of the issuer's keys.
pub(crate) struct Jwks {
    http: reqwest::Client,
    issuer: String,
    discovery: Url,
    refresh_interval: Duration,
    keys: RwLock<Arc<KeySet>>,
    fetch: Mutex<FetchState>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

/// Why the issuer's keys could not be had.
#[derive(Debug)]
enum FetchError {
    /// No answer, or a 5xx: it may well work in a moment.
    Unreachable(String),
    /// An answer that will not change by waiting: no discovery document there, a
    /// document naming another issuer, or one that does not parse. The
    /// configuration is wrong.
    Wrong(String),
}

impl FetchError {
    fn text(&self) -> &str {
        match self {
            FetchError::Unreachable(text) | FetchError::Wrong(text) => text,
        }
    }
}

impl From<FetchError> for Error {
    /// During a request both kinds are a 503: no token can be checked right now.
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Unreachable(text) | FetchError::Wrong(text) => Error::KeysUnavailable(text),
        }
    }
}

/// What [`Jwks::probe`] found out about the configured issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerCheck {
    /// Discovery names the issuer exactly and its key set has this many usable keys.
    Ready(usize),
    /// The issuer could not be reached; the API will keep trying on each token.
    Unreachable(String),
    /// The issuer answered, wrongly: the setting needs fixing.
    Misconfigured(String),
}

/// Where the discovery document of `issuer` lives (OpenID Connect Discovery §4):
/// the issuer, then `/.well-known/openid-configuration`, with exactly one slash
/// between whether or not the issuer ends in one, and the issuer's path kept
/// (`https://login.microsoftonline.com/TENANT/v2.0`, `https://kc/realms/acme`).
pub fn discovery_url(issuer: &str) -> Result<Url, Error> {
    let base = issuer.trim_end_matches('/');
    let url = Url::parse(&format!("{base}/.well-known/openid-configuration"))
        .map_err(|e| Error::Config(format!("issuer {issuer:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!("issuer {issuer:?} is not http(s)")));
    }
    Ok(url)
}

impl Jwks {
    /// A cache for `issuer`'s keys; fetches nothing yet.
    pub(crate) fn new(issuer: &str, refresh_interval: Duration) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            // A redirect could point the fetch anywhere (SSRF); the issuer's own
            // documents never need one.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            issuer: issuer.to_owned(),
            discovery: discovery_url(issuer)?,
            refresh_interval,
            keys: RwLock::new(Arc::new(KeySet::new())),
            fetch: Mutex::new(FetchState::default()),
        })
    }

    fn cached(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// Whether `key` is still the key the issuer's key set holds under `kid`:
    /// false once a refetch dropped or replaced it.
    pub(crate) fn holds(&self, kid: &str, key: &Arc<VerifyKey>) -> bool {
        self.cached(kid)
            .is_some_and(|current| Arc::ptr_eq(&current, key))
    }

    /// The key named `kid`: from the cache, else after a refetch if one is allowed.
    ///
    /// `Ok(None)` means the issuer does not have such a key (as far as we may ask).
    /// An error means we have never obtained the key set, so no token can be
    /// checked at all.
    pub(crate) async fn key(&self, kid: &str) -> Result<Option<Arc<VerifyKey>>, Error> {
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        // One fetcher at a time: a burst of unknown kids waits here for one fetch.
        let mut state = self.fetch.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        if state.not_before.is_some_and(|t| Instant::now() < t) {
            tracing::debug!(kid, "unknown key id; key set refetch is rate limited");
            return if state.fetched {
                Ok(None)
            } else {
                Err(Error::KeysUnavailable("previous fetch failed".into()))
            };
        }
        match self.fetch_keys(&mut state).await {
            Ok(set) if set.is_empty() => {
                // Nothing usable: treat as a failure so the next token asks again soon.
                tracing::warn!("the issuer's key set holds no usable signing key");
                state.jwks_uri = None;
                state.not_before =
                    Some(Instant::now() + FAILURE_BACKOFF.min(self.refresh_interval));
                if state.fetched {
                    Ok(None)
                } else {
                    Err(Error::KeysUnavailable("no usable signing key".into()))
                }
            }
            Ok(set) => {
                tracing::info!(keys = set.len(), "fetched the issuer's key set");
                state.fetched = true;
                state.not_before = Some(Instant::now() + self.refresh_interval);
                let found = set.get(kid).cloned();
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
                Ok(found)
            }
            Err(e) => {
                tracing::warn!(error = e.text(), "cannot fetch the issuer's key set");
                // Rediscover next time, in case the key set moved.
                state.jwks_uri = None;
                state.not_before =
                    Some(Instant::now() + FAILURE_BACKOFF.min(self.refresh_interval));
                if state.fetched {
                    Ok(None)
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Asks the issuer now, outside any request: for a start-up line that says
    /// at once whether the configured issuer can work. Keeps the keys it finds.
    pub(crate) async fn probe(&self) -> IssuerCheck {
        let mut state = self.fetch.lock().await;
        state.jwks_uri = None;
        match self.fetch_keys(&mut state).await {
            Ok(set) if set.is_empty() => IssuerCheck::Misconfigured(
                "its key set holds no RS256, PS256 or ES256 signing key with a key id".into(),
            ),
            Ok(set) => {
                let count = set.len();
                state.fetched = true;
                state.not_before = Some(Instant::now() + self.refresh_interval);
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
                IssuerCheck::Ready(count)
            }
            Err(FetchError::Unreachable(text)) => {
                state.jwks_uri = None;
                IssuerCheck::Unreachable(text)
            }
            Err(FetchError::Wrong(text)) => {
                state.jwks_uri = None;
                IssuerCheck::Misconfigured(text)
            }
        }
    }

    async fn fetch_keys(&self, state: &mut FetchState) -> Result<KeySet, FetchError> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let doc: Discovery = self.get_json(self.discovery.clone()).await?;
                // OpenID Connect Discovery §4.3: the document must name the issuer
                // we asked about, or its keys are not that issuer's.
                if doc.issuer != self.issuer {
                    return Err(FetchError::Wrong(format!(
                        "{} names the issuer {:?}, not {:?} (issuers are compared exactly, \
                         trailing slash included)",
                        self.discovery, doc.issuer, self.issuer
                    )));
                }
                let uri = Url::parse(&doc.jwks_uri)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| FetchError::Wrong("jwks_uri is not an http(s) URL".into()))?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let raw: RawKeySet = self.get_json(jwks_uri).await?;
        Ok(parse_key_set(raw))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, FetchError> {
        let unavailable = |what: String| FetchError::Unreachable(format!("{url}: {what}"));
        let wrong = |what: String| FetchError::Wrong(format!("{url}: {what}"));
        let mut response = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(with_causes(&e)))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(unavailable(format!("status {status}")));
        }
        if !status.is_success() {
            return Err(wrong(format!("status {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(with_causes(&e)))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(wrong("document too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| wrong(e.to_string()))
    }
}

/// An error with its sources, for the log: reqwest's own message ("error sending
/// request") leaves out the part an operator needs ("dns error", "connection
/// refused", a certificate problem).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Keeps the usable signing keys of a key set, skipping (not failing on) the rest:
/// an issuer may publish encryption keys or kinds we do not use next to its
/// signing keys. Symmetric keys are never kept: a public key set cannot hold a
/// secret, and HMAC is not on our allow-list.
fn parse_key_set(raw: RawKeySet) -> KeySet {
    let mut set = KeySet::new();
    for value in raw.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            tracing::debug!("skipping a key the key set parser does not understand");
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p)
                if p.curve == jsonwebtoken::jwk::EllipticCurve::P256 =>
            {
                KeyKind::EcP256
            }
            _ => continue,
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(jsonwebtoken::jwk::KeyAlgorithm::RS256) => Some(Algorithm::RS256),
            Some(jsonwebtoken::jwk::KeyAlgorithm::PS256) => Some(Algorithm::PS256),
            Some(jsonwebtoken::jwk::KeyAlgorithm::ES256) => Some(Algorithm::ES256),
            Some(_) => continue,
        };
        let Ok(decoding) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        set.insert(
            kid,
            Arc::new(VerifyKey {
                decoding,
                kind,
                alg,
            }),
        );
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_keeps_every_issuer_shape() {
        let cases = [
            // Okta's org server, Google, node-oidc-provider: no path, no slash.
            (
                "http://127.0.0.1:9000",
                "http://127.0.0.1:9000/.well-known/openid-configuration",
            ),
            // Auth0: a trailing slash.
            (
                "https://tenant.auth0.com/",
                "https://tenant.auth0.com/.well-known/openid-configuration",
            ),
            // Entra ID and Keycloak: a path.
            (
                "https://login.microsoftonline.com/TENANT/v2.0",
                "https://login.microsoftonline.com/TENANT/v2.0/.well-known/openid-configuration",
            ),
            (
                "https://kc.example.com/realms/acme",
                "https://kc.example.com/realms/acme/.well-known/openid-configuration",
            ),
        ];
        for (issuer, expected) in cases {
            let url = discovery_url(issuer).map(String::from);
            assert_eq!(url.ok().as_deref(), Some(expected), "{issuer}");
        }
    }

    #[test]
    fn discovery_joins_with_one_slash() {
        let with = discovery_url("https://tenant.auth0.com/").map(String::from);
        let without = discovery_url("https://tenant.auth0.com").map(String::from);
        let expected = "https://tenant.auth0.com/.well-known/openid-configuration";
        assert_eq!(with.ok().as_deref(), Some(expected));
        assert_eq!(without.ok().as_deref(), Some(expected));
        let path = discovery_url("http://127.0.0.1:8081/realms/x/").map(String::from);
        assert_eq!(
            path.ok().as_deref(),
            Some("http://127.0.0.1:8081/realms/x/.well-known/openid-configuration")
        );
        assert!(discovery_url("not a url").is_err());
        assert!(discovery_url("file:///etc/").is_err());
    }

    #[test]
    fn symmetric_and_encryption_keys_are_skipped() {
        let raw: RawKeySet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "sig", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"},
            {"kty": "weird"},
        ]}))
        .unwrap_or(RawKeySet { keys: vec![] });
        let set = parse_key_set(raw);
        assert_eq!(set.keys().collect::<Vec<_>>(), vec!["sig"]);
        let key = &set["sig"];
        assert!(key.allows(Algorithm::RS256));
        assert!(!key.allows(Algorithm::PS256));
        assert!(!key.allows(Algorithm::HS256));
        assert!(!key.allows(Algorithm::ES256));
    }
}

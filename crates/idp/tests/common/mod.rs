//! Test harness: a real identity provider on 127.0.0.1, and a browser-like HTTP
//! client (cookies on, redirects off) that signs in through the HTML form.

#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore as _;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use timesheets_idp::{pkce, Config, IdentityProvider};
use tokio::task::JoinHandle;
use url::Url;

pub const CLIENT_ID: &str = "timesheets-desktop";
pub const LOOPBACK_CLIENT_ID: &str = "timesheets-desktop-loopback";
pub const REDIRECT_URI: &str = "com.example.timesheets:/oauth/callback";
pub const ALL_SCOPES: &str = "openid profile email offline_access read:timesheets create:timesheets delete:timesheets approve:timesheets";

/// A running provider. Its server task ends with the test's runtime, or at
/// [`TestIdp::stop`].
pub struct TestIdp {
    pub issuer: String,
    pub idp: IdentityProvider,
    pub dir: TempDir,
    server: JoinHandle<()>,
}

/// One RSA key per test binary: generating one per test would only slow the
/// suite. The restart test starts from an empty directory to cover generation.
fn shared_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    })
}

/// Starts a provider on a free port with a fresh data directory (seeded with the
/// shared key), after `configure` adjusts its configuration.
pub async fn start(configure: impl FnOnce(&mut Config)) -> TestIdp {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("signing-key.pem"), shared_key_pem()).unwrap();
    start_in(dir, configure).await
}

/// Starts a provider in an existing data directory.
pub async fn start_in(dir: TempDir, configure: impl FnOnce(&mut Config)) -> TestIdp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = format!("http://127.0.0.1:{port}/");
    let mut config = Config::new(Url::parse(&issuer).unwrap(), dir.path());
    configure(&mut config);
    let idp = IdentityProvider::open(config).await.unwrap();
    // With connect info, as `timesheets-server` serves it: the limits count each
    // client address on its own.
    let app = idp
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestIdp {
        issuer,
        idp,
        dir,
        server,
    }
}

impl TestIdp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Stops the server and hands back the data directory, for a restart.
    pub fn stop(self) -> TempDir {
        self.server.abort();
        let TestIdp { dir, .. } = self;
        dir
    }
}

/// A browser: keeps cookies, never follows redirects (we read `Location`).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A browser on another loopback address (`127.0.0.X`): Linux's loopback
/// answers the whole of 127.0.0.0/8, so the provider sees another client.
pub fn browser_at(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .local_address(std::net::IpAddr::from([127, 0, 0, last_octet]))
        .build()
        .unwrap()
}

/// A random PKCE verifier (32 bytes, base64url: 43 characters).
pub fn new_verifier() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An authorize request under construction.
#[derive(Clone, Debug)]
pub struct Authorize {
    pub params: Vec<(String, String)>,
    pub verifier: String,
}

impl Authorize {
    /// A complete, valid request for `scope`.
    pub fn new(scope: &str) -> Self {
        let verifier = new_verifier();
        let params = vec![
            ("response_type", "code".to_owned()),
            ("client_id", CLIENT_ID.to_owned()),
            ("redirect_uri", REDIRECT_URI.to_owned()),
            ("scope", scope.to_owned()),
            ("state", "state-123".to_owned()),
            ("nonce", "nonce-456".to_owned()),
            ("code_challenge", pkce::s256_challenge(&verifier)),
            ("code_challenge_method", "S256".to_owned()),
            ("audience", "timesheets-api".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self { params, verifier }
    }

    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.remove_param(name);
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.remove_param(name);
        self
    }

    fn remove_param(&mut self, name: &str) {
        self.params.retain(|(k, _)| k != name);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn url(&self, idp: &TestIdp) -> Url {
        let mut url = Url::parse(&idp.url("authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(&self.params);
        url
    }
}

/// The value of a hidden (or any) input named `name` in `html`.
pub fn form_field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in page:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// The query parameters of a URL, as pairs.
pub fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Loads the sign-in page and returns `(request_id, csrf)` from its form.
pub async fn open_form(
    browser: &reqwest::Client,
    idp: &TestIdp,
    request: &Authorize,
) -> (String, String) {
    let response = browser.get(request.url(idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "authorize page");
    let html = response.text().await.unwrap();
    (form_field(&html, "request_id"), form_field(&html, "csrf"))
}

/// Submits the sign-in form; returns the response (a 303 on success).
pub async fn submit_form(
    browser: &reqwest::Client,
    idp: &TestIdp,
    request_id: &str,
    csrf: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    browser
        .post(idp.url("authorize"))
        .form(&[
            ("request_id", request_id),
            ("csrf", csrf),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs in through the form as a browser would; returns the callback URL.
pub async fn sign_in_with(idp: &TestIdp, request: &Authorize, email: &str) -> Url {
    let browser = browser();
    let (request_id, csrf) = open_form(&browser, idp, request).await;
    let response = submit_form(&browser, idp, &request_id, &csrf, email, "password").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-in should redirect"
    );
    location(&response)
}

/// Signs in and returns the authorization code.
pub async fn code_for(idp: &TestIdp, request: &Authorize, email: &str) -> String {
    let callback = sign_in_with(idp, request, email).await;
    let pairs = query(&callback);
    param(&pairs, "code")
        .unwrap_or_else(|| panic!("no code in {callback}"))
        .to_owned()
}

pub fn location(response: &reqwest::Response) -> Url {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap();
    Url::parse(location).unwrap()
}

/// POSTs a form to the provider; returns the status and the JSON body.
pub async fn post_form(idp: &TestIdp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(idp.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

/// Exchanges a code with the request's verifier.
pub async fn exchange(idp: &TestIdp, code: &str, verifier: &str) -> (StatusCode, Value) {
    post_form(
        idp,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Signs in with `scope` as `email` and exchanges the code: the token response.
pub async fn tokens_for(idp: &TestIdp, email: &str, scope: &str) -> Value {
    let request = Authorize::new(scope);
    let code = code_for(idp, &request, email).await;
    let (status, body) = exchange(idp, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Uses a refresh token.
pub async fn refresh(idp: &TestIdp, refresh_token: &str) -> (StatusCode, Value) {
    post_form(
        idp,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

pub fn str_field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string {name} in {body}"))
}

/// Fetches the JWKS over HTTP.
pub async fn jwks(idp: &TestIdp) -> Value {
    reqwest::get(idp.url(".well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies `token` against the JWKS fetched over HTTP, as the API would, and
/// returns its header `typ` and claims.
pub async fn verify(idp: &TestIdp, token: &str, audience: &str) -> (String, Value) {
    let jwks = jwks(idp).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("a kid");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .expect("the token's kid in the JWKS");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[idp.issuer.as_str()]);
    let data = jsonwebtoken::decode::<Value>(token, &decoding, &validation).unwrap();
    (header.typ.unwrap_or_default(), data.claims)
}

/// Whether `path`'s permissions are exactly owner read/write.
#[cfg(unix)]
pub fn is_owner_only(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777 == 0o600
}

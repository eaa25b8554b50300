//! The real development stack, in-process: the identity provider and the API on
//! `127.0.0.1:0`, a person who signs in through a scripted browser, and counters
//! of the requests the provider's token endpoint receives.
#![allow(dead_code)] // each test binary uses a different part

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timesheets_client::{
    Browser, BrowserError, Client, ClientConfig, CredentialStore, MemoryStore, SessionView,
};
use url::Url;

/// Requests the identity provider received, by kind.
#[derive(Default)]
pub struct Counts {
    pub token_requests: AtomicUsize,
    pub code_exchanges: AtomicUsize,
    pub refreshes: AtomicUsize,
    pub revocations: AtomicUsize,
    /// While set, the provider's key set answers 500: an API that has not
    /// fetched it yet cannot verify tokens.
    pub fail_jwks: std::sync::atomic::AtomicBool,
}

impl Counts {
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
    pub fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }
    pub fn revocations(&self) -> usize {
        self.revocations.load(Ordering::SeqCst)
    }
}

/// The identity provider and the API, running until dropped.
pub struct Stack {
    pub issuer: Url,
    pub api_url: Url,
    pub counts: Arc<Counts>,
    idp_task: tokio::task::JoinHandle<()>,
    api_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    dir: tempfile::TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.idp_task.abort();
        if let Ok(tasks) = self.api_tasks.lock() {
            tasks.iter().for_each(tokio::task::JoinHandle::abort);
        }
    }
}

/// Counts the token endpoint's requests by grant type, then passes them on.
async fn count(counts: Arc<Counts>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.ends_with("/jwks.json") && counts.fail_jwks.load(Ordering::SeqCst) {
        return axum::response::IntoResponse::into_response(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    if path.ends_with("/oauth/revoke") {
        counts.revocations.fetch_add(1, Ordering::SeqCst);
        return next.run(request).await;
    }
    if !path.ends_with("/oauth/token") {
        return next.run(request).await;
    }
    counts.token_requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    match form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str())
    {
        Some("refresh_token") => counts.refreshes.fetch_add(1, Ordering::SeqCst),
        Some("authorization_code") => counts.code_exchanges.fetch_add(1, Ordering::SeqCst),
        _ => 0,
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

impl Stack {
    /// Starts both servers; access tokens live `access_ttl`.
    pub async fn start(access_ttl: Duration) -> Stack {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));

        let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let idp_addr = idp_listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let issuer = Url::parse(&format!("http://{idp_addr}/")).unwrap_or_else(|e| panic!("{e}"));
        let mut idp_config = timesheets_idp::Config::new(issuer.clone(), dir.path().join("idp"));
        idp_config.access_token_ttl = access_ttl;
        let idp = timesheets_idp::IdentityProvider::open(idp_config)
            .await
            .unwrap_or_else(|e| panic!("idp: {e}"));
        let counts = Arc::new(Counts::default());
        let counter = counts.clone();
        let router = idp
            .router()
            .layer(axum::middleware::from_fn(move |req, next| {
                count(counter.clone(), req, next)
            }));
        let idp_task = tokio::spawn(async move {
            let _ = axum::serve(idp_listener, router).await;
        });

        let (api_url, api_task) = serve_api(&issuer, "timesheets-api", dir.path()).await;

        Stack {
            issuer,
            api_url,
            counts,
            idp_task,
            api_tasks: Mutex::new(vec![api_task]),
            dir,
        }
    }

    /// Another API trusting this provider but expecting tokens for `audience`.
    pub async fn extra_api(&self, audience: &str) -> Url {
        let (url, task) = serve_api(&self.issuer, audience, self.dir.path()).await;
        if let Ok(mut tasks) = self.api_tasks.lock() {
            tasks.push(task);
        }
        url
    }

    /// The app's configuration for this stack.
    pub fn config(&self) -> ClientConfig {
        ClientConfig {
            issuer: self.issuer.to_string(),
            api_base: self.api_url.clone(),
            ..ClientConfig::default()
        }
    }

    /// A new app with `store`, and the person at its browser.
    pub fn client(&self, store: Arc<dyn CredentialStore>) -> (Client, Arc<Person>) {
        let person = Arc::new(Person::default());
        let client = Client::new(self.config(), store, person.clone())
            .unwrap_or_else(|e| panic!("client: {e}"));
        (client, person)
    }

    /// A new app with a fresh memory store, signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> (Client, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        let (client, person) = self.client(store.clone());
        let view = sign_in(&client, &person, email).await;
        assert_eq!(
            view.state,
            timesheets_client::SessionState::SignedIn,
            "{view:?}"
        );
        (client, store)
    }
}

/// Serves an API for `issuer` and `audience` with its own SQLite file in `dir`.
async fn serve_api(
    issuer: &Url,
    audience: &str,
    dir: &std::path::Path,
) -> (Url, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("api-{}.sqlite3", addr.port())).display()
    );
    let config = timesheets_api::Config::new(issuer.as_str(), audience, database);
    let ctx = timesheets_api::ApiContext::connect(config)
        .await
        .unwrap_or_else(|e| panic!("api: {e}"));
    let app = timesheets_api::router(ctx);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let url = Url::parse(&format!("http://{addr}")).unwrap_or_else(|e| panic!("{e}"));
    (url, task)
}

/// The person at the browser: the app "opens" URLs here; the test then has the
/// person sign in as a person would.
#[derive(Default)]
pub struct Person {
    opened: Mutex<Vec<Url>>,
}

impl Browser for Person {
    fn open(&self, url: &Url) -> Result<(), BrowserError> {
        self.opened
            .lock()
            .map_err(|_| BrowserError("poisoned".into()))?
            .push(url.clone());
        Ok(())
    }
}

impl Person {
    /// The last URL the app opened.
    pub fn last_opened(&self) -> Url {
        self.opened
            .lock()
            .ok()
            .and_then(|urls| urls.last().cloned())
            .unwrap_or_else(|| panic!("the app opened no browser"))
    }

    /// Signs in on the provider's page and returns where the browser was sent
    /// (the deep link), without delivering it.
    pub async fn sign_in_at(&self, authorize: &Url, email: &str, password: &str) -> String {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let page = http
            .get(authorize.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET authorize: {e}"));
        assert_eq!(page.status(), 200, "the sign-in page did not show");
        let html = page.text().await.unwrap_or_default();
        let form = Form::parse(&html).unwrap_or_else(|| panic!("no form on the page:\n{html}"));
        let action = authorize
            .join(&form.action)
            .unwrap_or_else(|e| panic!("action: {e}"));
        let mut fields: Vec<(String, String)> = form
            .inputs
            .into_iter()
            .filter(|(name, _)| name != "email" && name != "password")
            .collect();
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), password.into()));
        let response = http
            .post(action)
            .form(&fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST authorize: {e}"));
        assert_eq!(response.status(), 303, "sign-in was not accepted");
        response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location"))
            .to_owned()
    }
}

/// A person's browser at any provider: follows web redirects, fills `email` and
/// `password` where a form asks for them and submits any other form (a consent
/// page) as it is, and stops at the first redirect that leaves the provider: a
/// link for the app, or a loopback address. Returns that address.
pub async fn browse_to_app(authorize: &Url, email: &str, password: &str) -> Url {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let provider = authorize.origin();
    let mut response = http
        .get(authorize.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET authorize: {e}"));
    for _ in 0..20 {
        let here = response.url().clone();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("a redirect without Location"));
            let next = here.join(location).unwrap_or_else(|e| panic!("{e}"));
            if next.origin() != provider {
                return next;
            }
            response = http
                .get(next)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET: {e}"));
            continue;
        }
        let status = response.status();
        let html = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "the provider refused: {html}");
        let form = Form::parse(&html).unwrap_or_else(|| panic!("no form on the page:\n{html}"));
        let action = here.join(&form.action).unwrap_or_else(|e| panic!("{e}"));
        let mut fields = form.inputs;
        for (name, value) in &mut fields {
            match name.as_str() {
                "email" => *value = email.to_owned(),
                "password" => *value = password.to_owned(),
                _ => {}
            }
        }
        response = http
            .post(action)
            .form(&fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST: {e}"));
    }
    panic!("the provider never sent the browser back to the app")
}

/// Signs in through the app: it opens the browser, the person signs in, the OS
/// hands the deep link to the app.
pub async fn sign_in(client: &Client, person: &Person, email: &str) -> SessionView {
    client
        .sign_in()
        .await
        .unwrap_or_else(|e| panic!("sign_in: {e}"));
    assert_eq!(
        client.view().state,
        timesheets_client::SessionState::WaitingForBrowser
    );
    let callback = person
        .sign_in_at(&person.last_opened(), email, "password")
        .await;
    assert!(
        callback.starts_with("com.example.timesheets:/oauth/callback?"),
        "{callback}"
    );
    client
        .handle_callback(&callback)
        .await
        .unwrap_or_else(|e| panic!("handle_callback: {e}"))
}

/// The one `<form>` of a page: its action and its inputs' names and values.
struct Form {
    action: String,
    inputs: Vec<(String, String)>,
}

impl Form {
    fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let form_html = &html[start..];
        let end = form_html.find("</form>").unwrap_or(form_html.len());
        let form_html = &form_html[..end];
        let tag_end = form_html.find('>')?;
        let action = attribute(&form_html[..tag_end], "action").unwrap_or_default();
        let mut inputs = Vec::new();
        let mut rest = form_html;
        while let Some(at) = rest.find("<input") {
            rest = &rest[at..];
            let close = rest.find('>')?;
            let tag = &rest[..close];
            if let Some(name) = attribute(tag, "name") {
                inputs.push((name, attribute(tag, "value").unwrap_or_default()));
            }
            rest = &rest[close..];
        }
        Some(Form { action, inputs })
    }
}

/// The value of `name="…"` in a tag, with HTML entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')?;
    Some(
        tag[start..start + end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

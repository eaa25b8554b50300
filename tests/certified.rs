//! The app's brain and the API against an OpenID-certified provider that is not
//! their own (node-oidc-provider, `tests/oidc-provider/`), headless: its issuer has
//! no trailing slash, its access tokens carry no name, it asks for consent, names
//! the API with `resource`, and grants `offline_access` only with `prompt=consent`.
//!
//! The API is the real `timesheets-server` binary, told the issuer exactly as the
//! provider writes it. The person's browser is scripted over HTTP: the provider's
//! login and consent pages are filled in as a person would.
//!
//! The keyring test needs a D-Bus session with an unlocked Secret Service
//! (`scripts/test` provides one).

use anyhow::{bail, ensure, Context as _, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timesheets::browser::{Browser as HttpBrowser, Form, Page};
use timesheets::certified::{CertifiedProvider, API_RESOURCE, EMPLOYEE, MANAGER};
use timesheets::oauth::{self, Person};
use timesheets::server::{Server, ServerOptions, Trust};
use timesheets_client::{
    Browser, BrowserError, Client, ClientConfig, CredentialStore, KeyringStore, MemoryStore,
    SessionState,
};
use url::Url;

/// The provider and `timesheets-server` trusting it, in a folder of their own.
struct Stack {
    provider: CertifiedProvider,
    server: Server,
    dir: tempfile::TempDir,
}

async fn stack() -> Result<Stack> {
    let dir = tempfile::tempdir()?;
    let provider =
        CertifiedProvider::start(&dir.path().join("provider.log"), Duration::from_secs(300))
            .await?;
    ensure!(
        !provider.issuer.ends_with('/'),
        "the certified provider's issuer should have no slash: {}",
        provider.issuer
    );
    let server = Server::start(&ServerOptions {
        binary: timesheets::server_binary(),
        data_dir: dir.path().join("server"),
        log: dir.path().join("server.log"),
        users: None,
        trust: Some(Trust {
            issuer: provider.issuer.clone(),
            audience: API_RESOURCE.to_owned(),
        }),
        database_url: None,
        ports: None,
    })
    .await?;
    Ok(Stack {
        provider,
        server,
        dir,
    })
}

impl Stack {
    /// The app's configuration for this provider and server.
    fn config(&self, client_id: &str, redirect_uri: &str) -> Result<ClientConfig> {
        let env = self
            .provider
            .app_env(client_id, redirect_uri)
            .into_iter()
            .chain([(
                "TIMESHEETS_API_URL".to_owned(),
                self.server.api_url.to_string(),
            )])
            .collect();
        Ok(ClientConfig::from_sources(None, &env)?)
    }
}

/// The browser the app opens: remembers the authorize URL for the test to walk.
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

impl Opened {
    fn last(&self) -> Result<Url> {
        self.0
            .lock()
            .ok()
            .and_then(|urls| urls.last().cloned())
            .context("the app opened no browser")
    }
}

/// Signs `person` in through `client` and the provider's pages; returns where
/// the provider sent the browser (a deep link, or the app's loopback page).
async fn sign_in(client: &Client, opened: &Opened, person: Person) -> Result<Page> {
    client.sign_in().await?;
    ensure!(client.view().state == SessionState::WaitingForBrowser);
    let browser = HttpBrowser::new()?;
    let mut forms = 0;
    let page = browser
        .sign_in_through(
            &opened.last()?,
            person.email,
            person.password,
            async |_: &Form| {
                forms += 1;
                Ok(())
            },
        )
        .await?;
    ensure!(
        forms == 2,
        "expected a login and a consent page, saw {forms} forms"
    );
    if let Page::AppLink(link) = &page {
        client.handle_callback(link.as_str()).await?;
    }
    Ok(page)
}

/// Waits until the API knows `client`'s person by `name` (the ID token is
/// presented in the background after signing in).
async fn named(client: &Client, name: &str) -> Result<()> {
    for _ in 0..100 {
        if client.api().me().await.is_ok_and(|me| me.name == name) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the API never learned the name {name:?}: {:?}",
        client.api().me().await
    )
}

/// `token` re-signed with the provider's own key after `change` to its claims.
fn forged(
    token: &str,
    key: &serde_json::Value,
    change: impl FnOnce(&mut serde_json::Value),
) -> Result<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let part = |i: usize| -> Result<serde_json::Value> {
        let text = token.split('.').nth(i).context("not a JWT")?;
        Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text)?)?)
    };
    let header: jsonwebtoken::Header = serde_json::from_value(part(0)?)?;
    let mut claims = part(1)?;
    change(&mut claims);
    let number = |name: &str| -> Result<rsa::BigUint> {
        let text = key[name]
            .as_str()
            .with_context(|| format!("no {name} in the key"))?;
        Ok(rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(text)?))
    };
    let private = rsa::RsaPrivateKey::from_components(
        number("n")?,
        number("e")?,
        number("d")?,
        vec![number("p")?, number("q")?],
    )?;
    let der = private.to_pkcs1_der()?;
    let key = jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes());
    Ok(jsonwebtoken::encode(&header, &claims, &key)?)
}

#[tokio::test]
async fn the_api_takes_its_tokens_and_checks_iss_to_the_character() -> Result<()> {
    let stack = stack().await?;
    let tokens =
        oauth::sign_in_with(&stack.provider.issuer, EMPLOYEE, &[("prompt", "consent")]).await?;
    let api = timesheets::api::Api::new(&stack.server.api_url, tokens.clone());
    let range = "v1/entries?from=2026-11-23&to=2026-11-29";
    let status = |token: String| {
        let url = stack.server.api_url.join(range);
        async move {
            let response = reqwest::Client::new()
                .get(url?)
                .bearer_auth(token)
                .send()
                .await?;
            anyhow::Ok(response.status().as_u16())
        }
    };
    ensure!(status(tokens.access_token.clone()).await? == 200);
    // Its scopes as granted: the employee may add, not approve.
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).context("a date")?;
    let entry = api.create_entry(monday, "Apollo", 2.0, "").await?;
    ensure!(entry.owner == EMPLOYEE.sub, "{entry:?}");
    let approvals = reqwest::Client::new()
        .get(stack.server.api_url.join("v1/approvals")?)
        .bearer_auth(&tokens.access_token)
        .send()
        .await?;
    ensure!(approvals.status() == 403, "{}", approvals.status());

    // The same token, signed by the provider's own key, with `iss` one character
    // off either way: another issuer.
    let key = stack.provider.signing_key()?;
    let issuer = stack.provider.issuer.clone();
    for other in [format!("{issuer}/"), issuer[..issuer.len() - 1].to_owned()] {
        let token = forged(&tokens.access_token, &key, |claims| {
            claims["iss"] = serde_json::json!(other)
        })?;
        ensure!(status(token).await? == 401, "iss {other:?} was accepted");
    }
    // The forgery itself is sound: unchanged, it passes.
    let same = forged(&tokens.access_token, &key, |_| {})?;
    ensure!(status(same).await? == 200);
    Ok(())
}

#[tokio::test]
async fn the_client_signs_in_restores_rotates_and_signs_out() -> Result<()> {
    let stack = stack().await?;
    let mut config = stack.config(
        "timesheets-desktop",
        "com.example.timesheets:/oauth/callback",
    )?;
    config.keyring_service = format!(
        "com.example.timesheets.test.certified.{}.{}",
        std::process::id(),
        oauth::random_text()
    );
    let store: Arc<dyn CredentialStore> = Arc::new(KeyringStore::for_config(&config)?);
    let opened = Arc::new(Opened::default());
    let client = Client::new(config.clone(), store.clone(), opened.clone())?;
    let port = Url::parse(&stack.provider.issuer)?
        .port()
        .unwrap_or_default();
    ensure!(client.view().provider == format!("127.0.0.1:{port}"));

    sign_in(&client, &opened, EMPLOYEE).await?;
    let view = client.view();
    ensure!(view.state == SessionState::SignedIn, "{view:?}");
    ensure!(view.user.as_ref().map(|u| u.name.as_str()) == Some("Erin Employee"));
    ensure!(
        view.scopes == ["read:timesheets", "create:timesheets", "delete:timesheets"],
        "{:?}",
        view.scopes
    );
    ensure!(view.remembered, "no refresh token was kept: {view:?}");
    // Another provider on 127.0.0.1 is not "Development sign-in".
    ensure!(
        view.provider == format!("127.0.0.1:{port}"),
        "{}",
        view.provider
    );
    let authorize = opened.last()?;
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    ensure!(param("prompt").as_deref() == Some("consent"));
    ensure!(param("resource").as_deref() == Some(API_RESOURCE));
    ensure!(param("audience").is_none());

    // Access tokens carry no name; the presented ID token gives the API one.
    named(&client, "Erin Employee").await?;
    let today = client.today();
    client.api().list_entries(today, today).await?;
    let first = store.load()?.context("no refresh token in the keyring")?;
    drop(client);

    // A new run restores from the keyring, which rotates the refresh token.
    let again = Client::new(config.clone(), store.clone(), opened.clone())?;
    let view = again.restore().await;
    ensure!(view.state == SessionState::SignedIn, "{view:?}");
    ensure!(again.session().refresh_count() == 1);
    let second = store.load()?.context("the keyring lost the token")?;
    ensure!(
        second.expose() != first.expose(),
        "the refresh token was not rotated"
    );
    again.api().list_entries(today, today).await?;

    // Sign-out revokes at the provider and empties the keyring.
    again.sign_out().await?;
    ensure!(store.load()?.is_none(), "the keyring still holds a token");
    let discovery = oauth::discover(&stack.provider.issuer).await?;
    let (status, body) = oauth::refresh(&discovery, second.expose()).await?;
    ensure!(
        status == 400 && body["error"] == "invalid_grant",
        "{status} {body}"
    );
    Ok(())
}

#[tokio::test]
async fn the_manager_sees_the_employee_by_name() -> Result<()> {
    let stack = stack().await?;
    let config = stack.config(
        "timesheets-desktop",
        "com.example.timesheets:/oauth/callback",
    )?;
    let opened = Arc::new(Opened::default());

    let employee = Client::new(config.clone(), Arc::new(MemoryStore::new()), opened.clone())?;
    sign_in(&employee, &opened, EMPLOYEE).await?;
    named(&employee, EMPLOYEE.name).await?;
    let today = employee.today();
    employee
        .api()
        .create_entry(&timesheets_client::NewEntry {
            date: today.to_string(),
            project: "Apollo".into(),
            notes: String::new(),
            hours: 3.0,
        })
        .await?;
    employee
        .api()
        .submit_week(timesheets_core::Week::containing(today).monday())
        .await?;

    let manager = Client::new(config, Arc::new(MemoryStore::new()), opened.clone())?;
    sign_in(&manager, &opened, MANAGER).await?;
    let pending = manager.pending_approvals().await?;
    let names: Vec<&str> = pending.iter().map(|e| e.owner_name.as_str()).collect();
    ensure!(names == ["Erin Employee"], "{names:?}");
    ensure!(pending[0].owner == EMPLOYEE.sub);
    drop(stack.dir);
    Ok(())
}

#[tokio::test]
async fn a_loopback_sign_in_works_with_it() -> Result<()> {
    let stack = stack().await?;
    let config = stack.config("timesheets-desktop-loopback", "http://127.0.0.1/callback")?;
    let opened = Arc::new(Opened::default());
    let client = Client::new(config, Arc::new(MemoryStore::new()), opened.clone())?;
    let page = sign_in(&client, &opened, EMPLOYEE).await?;
    let Page::Html { url, status, body } = page else {
        bail!(
            "the provider sent a deep link to a loopback client: {}",
            page.describe()
        );
    };
    ensure!(status == 200, "{status}: {body}");
    ensure!(body.contains("You can close this tab"), "{body}");
    ensure!(
        url.host_str() == Some("127.0.0.1") && url.path() == "/callback",
        "{url}"
    );
    ensure!(client.view().state == SessionState::SignedIn);
    let today = client.today();
    client.api().list_entries(today, today).await?;
    // The port is closed now that the sign-in is over.
    let port = url.port().unwrap_or_default();
    let mut closed = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(closed, "the loopback listener is still open");
    Ok(())
}

#[tokio::test]
async fn without_prompt_consent_it_grants_no_refresh_token_and_the_app_says_so() -> Result<()> {
    let stack = stack().await?;
    let mut config = stack.config(
        "timesheets-desktop",
        "com.example.timesheets:/oauth/callback",
    )?;
    config.prompt = None;
    let opened = Arc::new(Opened::default());
    let client = Client::new(config, Arc::new(MemoryStore::new()), opened.clone())?;
    sign_in(&client, &opened, EMPLOYEE).await?;
    let view = client.view();
    ensure!(view.state == SessionState::SignedIn, "{view:?}");
    ensure!(
        !view.remembered,
        "remembered without a refresh token: {view:?}"
    );
    let message = view.message.unwrap_or_default();
    ensure!(
        message.contains("did not allow staying signed in"),
        "{message:?}"
    );
    // Usable for this session all the same.
    let today = client.today();
    client.api().list_entries(today, today).await?;
    Ok(())
}

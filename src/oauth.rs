//! Talking to the identity provider over HTTP, as the app does, to set tests up
//! and to check what the app left behind: sign a person in with PKCE through the
//! provider's real sign-in form (RFC 7636), and present a refresh token (to see
//! whether sign-out revoked it).
//!
//! The endpoints come from the provider's discovery document, not from guessed
//! paths, so these helpers follow the provider wherever it serves them.

use crate::browser::{Browser, Form, Page};
use anyhow::{anyhow, bail, Context as _, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::fmt;
use url::Url;

/// The desktop app's client at the development provider.
pub const CLIENT_ID: &str = "timesheets-desktop";
/// The app's redirect URI: the private-use scheme callback.
pub const REDIRECT_URI: &str = "com.example.timesheets:/oauth/callback";
/// The API identifier the development provider puts in `aud`.
pub const AUDIENCE: &str = "timesheets-api";
/// Everything the app asks for; the provider grants what the person may have.
pub const ALL_SCOPES: &str = "openid profile email offline_access read:timesheets create:timesheets delete:timesheets approve:timesheets";

/// A development user of the provider (see its users list in the README).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Person {
    /// What is typed in the Email field.
    pub email: &'static str,
    /// The development password.
    pub password: &'static str,
    /// The display name the provider puts in `name` (what the app's header shows).
    pub name: &'static str,
    /// The subject (`sub`) entries are filed under.
    pub sub: &'static str,
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.email)
    }
}

/// Read, create and delete.
pub const EMPLOYEE: Person = Person {
    email: "employee@example.com",
    password: "password",
    name: "Erin Employee",
    sub: "dev|employee",
};
/// All four scopes, approve included.
pub const MANAGER: Person = Person {
    email: "manager@example.com",
    password: "password",
    name: "Morgan Manager",
    sub: "dev|manager",
};
/// Read only.
pub const AUDITOR: Person = Person {
    email: "auditor@example.com",
    password: "password",
    name: "Avery Auditor",
    sub: "dev|auditor",
};

/// The parts of the provider's discovery document these helpers use.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// The issuer, exactly as in `iss`.
    pub issuer: String,
    /// Where the browser goes to sign in.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: Url,
    /// Where tokens are revoked (RFC 7009), if the provider has it.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
}

/// Fetches `{issuer}/.well-known/openid-configuration` (one slash between,
/// whether or not the issuer ends in one; its path kept).
pub async fn discover(issuer: &str) -> Result<Discovery> {
    let url = Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .context("the issuer cannot be joined with the discovery path")?;
    let response = reqwest::get(url.clone())
        .await
        .with_context(|| format!("cannot fetch {url}"))?
        .error_for_status()
        .with_context(|| format!("{url} refused"))?;
    response
        .json()
        .await
        .with_context(|| format!("{url} is not a discovery document"))
}

/// What the token endpoint gave. `Debug` hides the tokens.
#[derive(Clone, Deserialize)]
pub struct Tokens {
    /// The bearer token for the API.
    pub access_token: String,
    /// The refresh token, when `offline_access` was granted.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The scopes granted (space separated).
    #[serde(default)]
    pub scope: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

/// A PKCE pair (RFC 7636): a fresh 32-byte verifier and its S256 challenge.
#[derive(Clone)]
pub struct Pkce {
    /// Sent with the code to the token endpoint.
    pub verifier: String,
    /// Sent to the authorize endpoint.
    pub challenge: String,
}

impl Pkce {
    /// A new random pair.
    pub fn new() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// A code the provider issued, with what is needed to redeem it.
pub struct IssuedCode {
    /// The authorization code.
    pub code: String,
    /// The state this sign-in was started with.
    pub state: String,
    /// The PKCE pair whose challenge the code is bound to.
    pub pkce: Pkce,
    /// The whole link the provider sent the browser to.
    pub link: Url,
}

/// The authorize request the app sends the browser to: code flow, PKCE S256,
/// the app's client id and redirect URI, and the API as `audience` (a provider
/// that takes RFC 8707's `resource` instead ignores it).
pub fn authorize_url(discovery: &Discovery, pkce: &Pkce, state: &str, scope: &str) -> Url {
    let mut url = discovery.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("audience", AUDIENCE);
    url
}

/// Signs `person` in through the provider's form, exactly as the test browser
/// does for the app, and returns the code it issued (not yet redeemed).
pub async fn authorize(discovery: &Discovery, person: Person, scope: &str) -> Result<IssuedCode> {
    authorize_with(discovery, person, scope, &[]).await
}

/// [`authorize`] with more parameters on the authorize request, e.g.
/// `prompt=consent` for a provider that grants `offline_access` only then.
pub async fn authorize_with(
    discovery: &Discovery,
    person: Person,
    scope: &str,
    extra: &[(&str, &str)],
) -> Result<IssuedCode> {
    let pkce = Pkce::new();
    let state = random_text();
    let mut url = authorize_url(discovery, &pkce, &state, scope);
    url.query_pairs_mut().extend_pairs(extra);
    let browser = Browser::new()?;
    let link = match browser
        .sign_in_through(&url, person.email, person.password, async |_: &Form| Ok(()))
        .await?
    {
        Page::AppLink(link) => link,
        other => bail!(
            "signing in as {} did not come back to the app: {}",
            person.email,
            other.describe()
        ),
    };
    let param = |name: &str| {
        link.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if let Some(error) = param("error") {
        bail!("the provider refused the sign-in: {error}");
    }
    let code = param("code").ok_or_else(|| anyhow!("the provider's redirect has no code"))?;
    if param("state").as_deref() != Some(state.as_str()) {
        bail!("the provider's redirect carries another state");
    }
    Ok(IssuedCode {
        code,
        state,
        pkce,
        link,
    })
}

/// Redeems `code` at the token endpoint; the answer's status and JSON body, so a
/// test can check a refusal as well as a success.
pub async fn redeem(
    discovery: &Discovery,
    code: &str,
    verifier: &str,
) -> Result<(reqwest::StatusCode, serde_json::Value)> {
    token_request(
        discovery,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("code", code),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Presents `refresh_token` to the token endpoint (`grant_type=refresh_token`);
/// the answer's status and JSON body.
pub async fn refresh(
    discovery: &Discovery,
    refresh_token: &str,
) -> Result<(reqwest::StatusCode, serde_json::Value)> {
    token_request(
        discovery,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Signs `person` in and redeems the code: fresh tokens for calling the API.
pub async fn sign_in(issuer: &str, person: Person) -> Result<Tokens> {
    sign_in_with(issuer, person, &[]).await
}

/// [`sign_in`] with more parameters on the authorize request.
pub async fn sign_in_with(issuer: &str, person: Person, extra: &[(&str, &str)]) -> Result<Tokens> {
    let discovery = discover(issuer).await?;
    let issued = authorize_with(&discovery, person, ALL_SCOPES, extra).await?;
    let (status, body) = redeem(&discovery, &issued.code, &issued.pkce.verifier).await?;
    if !status.is_success() {
        bail!("the token endpoint refused the code ({status}): {body}");
    }
    serde_json::from_value(body).context("the token response is not what OAuth 2.0 says")
}

async fn token_request(
    discovery: &Discovery,
    form: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, serde_json::Value)> {
    let response = reqwest::Client::new()
        .post(discovery.token_endpoint.clone())
        .form(form)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", discovery.token_endpoint))?;
    let status = response.status();
    let body = response
        .json()
        .await
        .context("the token endpoint did not answer JSON")?;
    Ok((status, body))
}

/// 16 random bytes, base64url: a state or an idempotency key.
pub fn random_text() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_s256_of_a_43_character_verifier() {
        let pkce = Pkce::new();
        assert_eq!(pkce.verifier.len(), 43);
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(pkce.verifier.as_bytes()));
        assert_eq!(pkce.challenge, expected);
        assert_ne!(Pkce::new().verifier, pkce.verifier);
    }

    #[test]
    fn tokens_do_not_show_in_debug_output() {
        let tokens = Tokens {
            access_token: "AT-secret".into(),
            refresh_token: Some("RT-secret".into()),
            scope: Some("read:timesheets".into()),
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}

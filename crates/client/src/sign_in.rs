//! One browser sign-in: Authorization Code with PKCE (RFC 6749 §4.1, RFC 7636),
//! as a native app does it (RFC 8252).
//!
//! [`start`] makes a fresh PKCE S256 pair, `state` and `nonce`, and returns the
//! authorize URL to open with the [`PendingSignIn`] that remembers them.
//! [`PendingSignIn::finish`] takes the callback URL the OS hands the app, checks
//! it, and only then exchanges the code; it consumes the pending sign-in, so a code
//! verifier is sent at most once. A pending sign-in expires after ten minutes.
//!
//! What a callback must satisfy before any request is sent (the app can be started
//! by any program with a forged link, so these checks are the defence):
//!
//! - it is addressed to the configured redirect URI (scheme, host, port and path);
//! - its `state` equals this sign-in's, compared in constant time;
//! - it has not expired;
//! - if it carries `iss` (RFC 9207) that equals the issuer, and it must carry it
//!   when the provider says it always does;
//! - an `error=` callback becomes a sentence for the person ("You declined the
//!   sign-in.").
//!
//! Then the ID token is checked (signature, issuer, audience, expiry, nonce).
//!
//! A pending sign-in can also be written down and read back as small JSON, for
//! the keyring (see [`CredentialStore::sibling`](crate::CredentialStore::sibling)): the
//! person may close the app while the browser is open, and the OS then starts it
//! afresh with the link. Read back, it must belong to the same issuer, client and
//! redirect URI, and it keeps its original ten minutes (counted in wall-clock time
//! from when it was made); every check above applies to it unchanged.

use crate::config::ClientConfig;
use crate::discovery::{Provider, ProviderMetadata, TokenTransport, TransportError};
use crate::error::Error;
use crate::id_token::Identity;
use crate::secret::Secret;
use crate::session::{Grant, UserView};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RequestTokenError, Scope,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant, SystemTime};
use subtle::ConstantTimeEq;
use url::Url;

/// How long a person has to finish signing in in the browser.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A sign-in waiting for the browser to come back. Single use: [`finish`](Self::finish)
/// consumes it. Its `Debug` shows no secret.
pub struct PendingSignIn {
    state: Secret<String>,
    nonce: Secret<String>,
    verifier: PkceCodeVerifier,
    redirect_uri: Url,
    issuer: String,
    client_id: String,
    iss_required: bool,
    /// Wall-clock seconds since the Unix epoch: what survives a restart.
    created_at: u64,
    /// Monotonic: what this run checks, immune to the clock being changed meanwhile.
    expires_at: Instant,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The version of [`Stored`]; an entry of another version is not read.
const STORED_VERSION: u32 = 1;

/// How far in the future a stored sign-in's creation time may lie (the clock was
/// set back a little) before the entry is distrusted.
const CLOCK_SLACK: u64 = 60;

/// A pending sign-in as the keyring keeps it. Holds secrets in plain `String`s, so
/// it has no `Debug`, lives only while being converted, and its serde errors are
/// never printed (serde_json quotes the offending value in them).
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    state: String,
    nonce: String,
    verifier: String,
    created_at: u64,
    redirect_uri: String,
    issuer: String,
    client_id: String,
    /// Whether the provider promised RFC 9207's `iss`: kept so a cold start can
    /// apply the same check without asking the provider first (no request before
    /// the link is accepted).
    iss_required: bool,
}

/// Only the `state` of a stored sign-in, to tell whether it is a given one.
#[derive(Deserialize)]
struct StoredState {
    state: String,
}

/// Why a stored sign-in cannot be used. None of them names a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredProblem {
    /// Not JSON of the known shape and version, or a value that cannot be right
    /// (empty `state`, a verifier RFC 7636 would not allow, a bad URL).
    Unreadable,
    /// It was started for another issuer, client or redirect URI.
    OtherApp,
    /// Its creation time lies in the future: the clock cannot be trusted to say
    /// how old it is.
    FromTheFuture,
}

impl StoredProblem {
    /// A few words for the log.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            StoredProblem::Unreadable => "unreadable",
            StoredProblem::OtherApp => "started for another issuer, client or redirect URI",
            StoredProblem::FromTheFuture => "created in the future",
        }
    }
}

/// Whether `stored` is the sign-in whose `state` is `state` (compared in constant
/// time); `None` when `stored` is unreadable, so belongs to no sign-in.
pub(crate) fn stored_state_is(stored: &Secret<String>, state: &Secret<String>) -> Option<bool> {
    let stored: StoredState = serde_json::from_str(stored.expose()).ok()?;
    Some(
        stored
            .state
            .as_bytes()
            .ct_eq(state.expose().as_bytes())
            .into(),
    )
}

/// Seconds since the Unix epoch (0 for a clock set before 1970, which makes
/// anything created then look long expired).
fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Builds the authorize URL and the pending sign-in that goes with it, for the
/// configured redirect URI.
pub fn start(config: &ClientConfig, metadata: &ProviderMetadata) -> (Url, PendingSignIn) {
    start_with_redirect(config, metadata, &config.redirect_uri)
}

/// [`start`] for a `redirect_uri` known only now: a loopback redirect's port is
/// chosen when its listener binds (RFC 8252 §7.3). The code exchange sends the
/// same URI, port included, as RFC 6749 §4.1.3 requires.
pub fn start_with_redirect(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    redirect_uri: &Url,
) -> (Url, PendingSignIn) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random();
    let nonce = CsrfToken::new_random();
    let client = oauth2::basic::BasicClient::new(oauth2::ClientId::new(config.client_id.clone()))
        .set_auth_uri(oauth2::AuthUrl::from_url(
            metadata.authorization_endpoint.clone(),
        ))
        .set_redirect_uri(oauth2::RedirectUrl::from_url(redirect_uri.clone()));
    let state_value = state.secret().clone();
    let mut request = client
        .authorize_url(move || state)
        .set_pkce_challenge(challenge)
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        .add_extra_param("nonce", nonce.secret().clone());
    if let Some(audience) = &config.audience {
        request = request.add_extra_param("audience", audience.clone());
    }
    if let Some(resource) = &config.resource {
        request = request.add_extra_param("resource", resource.clone());
    }
    if let Some(prompt) = &config.prompt {
        request = request.add_extra_param("prompt", prompt.clone());
    }
    let (url, _) = request.url();
    let pending = PendingSignIn {
        state: Secret::new(state_value),
        nonce: Secret::new(nonce.secret().clone()),
        verifier,
        redirect_uri: redirect_uri.clone(),
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        iss_required: metadata.authorization_response_iss_parameter_supported,
        created_at: unix_seconds(SystemTime::now()),
        expires_at: Instant::now() + PENDING_LIFETIME,
    };
    (url, pending)
}

/// Why a callback was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The link does not belong to this sign-in (wrong address, wrong or missing
    /// `state`, malformed): ignore it and keep waiting for the real one.
    NotOurs(&'static str),
    /// The link belongs to this sign-in but ends it: expired, wrong issuer, or an
    /// `error=` from the provider. The message is for the person.
    Ended(String),
}

impl Rejection {
    /// The error the person sees.
    pub fn into_error(self) -> Error {
        match self {
            Rejection::NotOurs(_) => Error::Invalid {
                field: Some("callback".into()),
                message: "This sign-in link does not belong to a sign-in started in this app, \
                          so it was ignored."
                    .into(),
            },
            Rejection::Ended(message) => Error::SignedOut { message },
        }
    }
}

/// A callback that passed every check: the code to exchange.
pub struct Accepted {
    code: Secret<String>,
}

impl PendingSignIn {
    /// Whether the ten minutes are up.
    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.expires_at
    }

    /// Gives the sign-in up: its `state` and verifier are dropped, so a callback
    /// arriving later matches nothing.
    pub fn cancel(self) {
        tracing::info!("sign-in cancelled");
    }

    /// This sign-in as small JSON for the keyring (`state`, `nonce`, `verifier`,
    /// `created_at` in Unix seconds, `redirect_uri`, `issuer`, and the client id),
    /// wrapped in a [`Secret`] at once: the verifier is what makes a stolen code
    /// useless, so the text must never reach a log.
    pub(crate) fn to_stored(&self) -> Option<Secret<String>> {
        let stored = Stored {
            v: STORED_VERSION,
            state: self.state.expose().clone(),
            nonce: self.nonce.expose().clone(),
            verifier: self.verifier.secret().clone(),
            created_at: self.created_at,
            redirect_uri: self.redirect_uri.as_str().to_owned(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            iss_required: self.iss_required,
        };
        match serde_json::to_string(&stored) {
            Ok(json) => Some(Secret::new(json)),
            Err(e) => {
                // Cannot happen for strings and numbers; the error names no value.
                tracing::warn!(error = %e, "cannot write the sign-in down");
                None
            }
        }
    }

    /// Reads back a sign-in written by [`to_stored`](Self::to_stored), in this run
    /// or an earlier one, for `config`, as of `now`.
    ///
    /// One that is more than ten minutes old is returned all the same, already
    /// expired, so that its own link is told "took longer than ten minutes" (and a
    /// foreign link "not ours") by the same [`check`](Self::check) as always.
    pub(crate) fn from_stored(
        stored: &Secret<String>,
        config: &ClientConfig,
        now: SystemTime,
    ) -> Result<PendingSignIn, StoredProblem> {
        let stored: Stored =
            serde_json::from_str(stored.expose()).map_err(|_| StoredProblem::Unreadable)?;
        if stored.v != STORED_VERSION {
            return Err(StoredProblem::Unreadable);
        }
        if stored.issuer != config.issuer
            || stored.client_id != config.client_id
            || stored.redirect_uri != config.redirect_uri.as_str()
        {
            return Err(StoredProblem::OtherApp);
        }
        // An empty `state` would match a link with an empty `state=`; a verifier
        // outside RFC 7636's 43 to 128 characters was not made by `start`.
        if stored.state.is_empty()
            || stored.nonce.is_empty()
            || !(43..=128).contains(&stored.verifier.len())
        {
            return Err(StoredProblem::Unreadable);
        }
        let redirect_uri =
            Url::parse(&stored.redirect_uri).map_err(|_| StoredProblem::Unreadable)?;
        let now_seconds = unix_seconds(now);
        if stored.created_at > now_seconds.saturating_add(CLOCK_SLACK) {
            return Err(StoredProblem::FromTheFuture);
        }
        let age = Duration::from_secs(now_seconds.saturating_sub(stored.created_at));
        let left = PENDING_LIFETIME.saturating_sub(age);
        let this_run = Instant::now();
        Ok(PendingSignIn {
            state: Secret::new(stored.state),
            nonce: Secret::new(stored.nonce),
            verifier: PkceCodeVerifier::new(stored.verifier),
            redirect_uri,
            issuer: stored.issuer,
            client_id: stored.client_id,
            iss_required: stored.iss_required,
            created_at: stored.created_at,
            expires_at: this_run.checked_add(left).unwrap_or(this_run),
        })
    }

    /// The `state` that identifies this sign-in (for [`stored_state_is`]).
    pub(crate) fn state(&self) -> &Secret<String> {
        &self.state
    }

    /// Checks a callback URL without sending anything.
    pub fn check(&self, callback: &str) -> Result<Accepted, Rejection> {
        self.check_at(callback, Instant::now())
    }

    fn check_at(&self, callback: &str, now: Instant) -> Result<Accepted, Rejection> {
        let callback = callback.trim();
        if callback
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        {
            // The URL parser would quietly drop tabs and line breaks, so a link
            // spelled differently from any the provider sends would pass.
            return Err(Rejection::NotOurs("control or space character"));
        }
        let url = Url::parse(callback).map_err(|_| Rejection::NotOurs("not a URL"))?;
        let expected = &self.redirect_uri;
        if url.scheme() != expected.scheme()
            || url.host() != expected.host()
            || url.port_or_known_default() != expected.port_or_known_default()
            || url.path() != expected.path()
        {
            return Err(Rejection::NotOurs("addressed elsewhere"));
        }
        let mut state = None;
        let mut code = None;
        let mut iss = None;
        let mut error = None;
        for (name, value) in url.query_pairs() {
            let slot = match name.as_ref() {
                "state" => &mut state,
                "code" => &mut code,
                "iss" => &mut iss,
                "error" => &mut error,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                // A repeated parameter is a parsing trick, never a real response.
                return Err(Rejection::NotOurs("repeated parameter"));
            }
        }
        let state = state.ok_or(Rejection::NotOurs("no state"))?;
        let same_state: bool = state
            .as_bytes()
            .ct_eq(self.state.expose().as_bytes())
            .into();
        if !same_state {
            return Err(Rejection::NotOurs("state does not match"));
        }
        if now >= self.expires_at {
            return Err(Rejection::Ended(
                "The sign-in took longer than ten minutes, so it was cancelled. Please sign in again."
                    .into(),
            ));
        }
        match iss {
            Some(iss) if iss != self.issuer => {
                return Err(Rejection::Ended(
                    "The answer came from a different sign-in server than the one the app asked, \
                     so it was refused. Please sign in again."
                        .into(),
                ))
            }
            None if self.iss_required => {
                return Err(Rejection::Ended(
                    "The sign-in server's answer did not say who sent it, so it was refused. \
                     Please sign in again."
                        .into(),
                ))
            }
            _ => {}
        }
        if let Some(error) = error {
            return Err(Rejection::Ended(declined(&error)));
        }
        match code {
            Some(code) if !code.is_empty() => Ok(Accepted {
                code: Secret::new(code),
            }),
            _ => Err(Rejection::Ended(
                "The sign-in server's answer had no authorization code. Please sign in again."
                    .into(),
            )),
        }
    }

    /// Checks the callback and, if it is accepted, exchanges the code (with the
    /// PKCE verifier) and checks the ID token. Consumes the pending sign-in.
    pub async fn finish(self, callback: &str, provider: &Provider) -> Result<SignedIn, Error> {
        let accepted = self.check(callback).map_err(|rejection| {
            tracing::warn!(?rejection, "sign-in callback rejected");
            rejection.into_error()
        })?;
        self.exchange(accepted, provider).await
    }

    /// Exchanges an accepted code. Consumes the pending sign-in.
    pub(crate) async fn exchange(
        self,
        accepted: Accepted,
        provider: &Provider,
    ) -> Result<SignedIn, Error> {
        let client = provider.oauth().await?;
        let code = AuthorizationCode::new(accepted.code.expose().clone());
        let redirect = oauth2::RedirectUrl::from_url(self.redirect_uri.clone());
        let mut request = client
            .exchange_code(code)
            .set_pkce_verifier(self.verifier)
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        if let Some(resource) = &provider.config().resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        let response = request
            .request_async(&TokenTransport(provider.http()))
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(response) => {
                    tracing::warn!(error = %response.error().as_ref(), "code exchange refused");
                    match response.error() {
                        BasicErrorResponseType::InvalidGrant => Error::signed_out(
                            "The sign-in could not be completed: the server refused the code \
                             (it may have expired or been used already). Please sign in again.",
                        ),
                        other => Error::unknown(format!(
                            "The sign-in server refused the sign-in ({}). Check the app's client id and redirect URI.",
                            other.as_ref()
                        )),
                    }
                }
                RequestTokenError::Request(TransportError::Unreachable(reason)) => {
                    tracing::warn!(reason, "code exchange failed");
                    Error::offline("the sign-in server")
                }
                RequestTokenError::Request(TransportError::Server(status)) => {
                    tracing::warn!(status, "code exchange failed");
                    Error::unknown(format!(
                        "The sign-in server had a problem (HTTP {status}). Please sign in again in a moment."
                    ))
                }
                RequestTokenError::Parse(e, _body) => {
                    // The body may hold tokens: never log it.
                    tracing::warn!(error = %e, "code exchange answer unreadable");
                    Error::unknown("The sign-in server's answer could not be read.")
                }
                RequestTokenError::Other(e) => {
                    tracing::warn!(error = %e, "code exchange failed");
                    Error::unknown("The sign-in server's answer could not be used.")
                }
            })?;
        let grant = Grant::from_response(&response);
        let identity = match &grant.id_token {
            Some(id_token) => {
                Some(crate::id_token::verify(provider, id_token, Some(&self.nonce)).await?)
            }
            None => None,
        };
        Ok(SignedIn { grant, identity })
    }
}

/// A completed sign-in: the tokens and who signed in.
pub struct SignedIn {
    pub(crate) grant: Grant,
    /// Who signed in, from the verified ID token: every later ID token of this
    /// session must name the same person.
    pub(crate) identity: Option<Identity>,
}

impl SignedIn {
    /// Who signed in, when the provider sent an ID token.
    pub fn user(&self) -> Option<&UserView> {
        self.identity.as_ref().map(|identity| &identity.user)
    }

    /// The scopes granted, as the token response listed them (`None`: as requested).
    pub fn scope(&self) -> Option<&str> {
        self.grant.scope.as_deref()
    }
}

/// The sentence for an `error=` callback (RFC 6749 §4.1.2.1, OpenID Connect §3.1.2.6).
/// The provider's free-text description is not shown: a link can say anything.
fn declined(error: &str) -> String {
    match error {
        "access_denied" => "You declined the sign-in.".into(),
        "login_required" | "consent_required" | "interaction_required" | "account_selection_required" => {
            "The sign-in needs you to finish it in the browser. Please sign in again.".into()
        }
        "invalid_scope" => "The sign-in server refused the permissions the app asked for. \
            Check the app's configured scopes."
            .into(),
        "invalid_target" => "The sign-in server does not know the API this app asked for \
            (invalid_target). Check the app's audience or resource setting."
            .into(),
        "server_error" | "temporarily_unavailable" => {
            "The sign-in server had a problem. Please try again in a moment.".into()
        }
        "unauthorized_client" | "unsupported_response_type" | "invalid_request" | "invalid_client" => {
            "The sign-in server refused this app's request. Check the app's client id and redirect URI."
                .into()
        }
        other => {
            let code: String = other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            format!("The sign-in server refused the sign-in (error {code:?}). Please try again.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://tenant.auth0.com/";

    fn metadata(iss_supported: bool) -> ProviderMetadata {
        let url = |s: &str| Url::parse(s).unwrap_or_else(|e| panic!("{e}"));
        ProviderMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: url("https://tenant.auth0.com/authorize"),
            token_endpoint: url("https://tenant.auth0.com/oauth/token"),
            revocation_endpoint: None,
            jwks_uri: None,
            authorization_response_iss_parameter_supported: iss_supported,
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            timesheets_development_provider: false,
        }
    }

    fn config() -> ClientConfig {
        ClientConfig {
            issuer: ISSUER.into(),
            audience: Some("https://api.example.com".into()),
            ..ClientConfig::default()
        }
    }

    fn started(iss_supported: bool) -> (Url, PendingSignIn) {
        start(&config(), &metadata(iss_supported))
    }

    fn param(url: &Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn callback(state: &str, extra: &str) -> String {
        format!("com.example.timesheets:/oauth/callback?code=abc&state={state}{extra}")
    }

    fn rejection(result: Result<Accepted, Rejection>) -> Rejection {
        match result {
            Ok(_) => Rejection::NotOurs("accepted"),
            Err(r) => r,
        }
    }

    #[test]
    fn the_authorize_url_carries_pkce_state_nonce_and_audience() {
        let (url, pending) = started(false);
        assert_eq!(url.path(), "/authorize");
        assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
        assert_eq!(
            param(&url, "client_id").as_deref(),
            Some("timesheets-desktop")
        );
        assert_eq!(
            param(&url, "redirect_uri").as_deref(),
            Some("com.example.timesheets:/oauth/callback")
        );
        assert_eq!(
            param(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert_eq!(param(&url, "code_challenge").map(|c| c.len()), Some(43));
        assert_eq!(
            param(&url, "audience").as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            param(&url, "scope").as_deref(),
            Some(crate::config::DEFAULT_SCOPES)
        );
        assert_eq!(
            param(&url, "state").as_deref(),
            Some(pending.state.expose().as_str())
        );
        assert_eq!(
            param(&url, "nonce").as_deref(),
            Some(pending.nonce.expose().as_str())
        );
        assert_eq!(pending.verifier.secret().len(), 43);
        // Fresh every time.
        let (again, _) = started(false);
        assert_ne!(param(&url, "state"), param(&again, "state"));
        assert_ne!(
            param(&url, "code_challenge"),
            param(&again, "code_challenge")
        );
        // Nothing secret in Debug.
        let printed = format!("{pending:?}");
        assert!(!printed.contains(pending.state.expose().as_str()));
        assert!(!printed.contains(pending.verifier.secret().as_str()));
    }

    #[test]
    fn prompt_is_sent_only_when_configured() {
        let (url, _) = started(false);
        assert_eq!(param(&url, "prompt"), None);
        let strict = ClientConfig {
            prompt: Some("consent".into()),
            ..config()
        };
        let (url, _) = start(&strict, &metadata(false));
        assert_eq!(param(&url, "prompt").as_deref(), Some("consent"));
    }

    #[test]
    fn a_loopback_sign_in_uses_the_port_it_listens_on() {
        let loopback = ClientConfig {
            redirect_uri: Url::parse("http://127.0.0.1/callback").unwrap_or_else(|e| panic!("{e}")),
            ..config()
        };
        let bound = Url::parse("http://127.0.0.1:50123/callback").unwrap_or_else(|e| panic!("{e}"));
        let (url, pending) = start_with_redirect(&loopback, &metadata(false), &bound);
        assert_eq!(
            param(&url, "redirect_uri").as_deref(),
            Some("http://127.0.0.1:50123/callback")
        );
        let state = param(&url, "state").unwrap_or_default();
        let good = format!("http://127.0.0.1:50123/callback?code=abc&state={state}");
        assert!(pending.check(&good).is_ok());
        // Another port, or the configured URI without the port: not ours.
        for wrong in [
            format!("http://127.0.0.1:50124/callback?code=abc&state={state}"),
            format!("http://127.0.0.1/callback?code=abc&state={state}"),
            format!("http://127.0.0.1:50123/other?code=abc&state={state}"),
        ] {
            assert!(
                matches!(rejection(pending.check(&wrong)), Rejection::NotOurs(_)),
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_matching_callback_is_accepted() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        let accepted = pending.check(&callback(&state, "&iss=https%3A%2F%2Ftenant.auth0.com%2F"));
        assert_eq!(
            accepted.map(|a| a.code.expose().clone()).ok().as_deref(),
            Some("abc")
        );
        let without_iss = pending.check(&callback(&state, ""));
        assert!(without_iss.is_ok());
    }

    #[test]
    fn a_state_mismatch_is_not_ours() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        assert_eq!(
            rejection(pending.check(&callback("forged", ""))),
            Rejection::NotOurs("state does not match")
        );
        let truncated = &state[..state.len() - 1];
        assert!(matches!(
            rejection(pending.check(&callback(truncated, ""))),
            Rejection::NotOurs(_)
        ));
        assert_eq!(
            rejection(pending.check("com.example.timesheets:/oauth/callback?code=abc")),
            Rejection::NotOurs("no state")
        );
        assert_eq!(
            rejection(pending.check(&format!("{}&state=x", callback(&state, "")))),
            Rejection::NotOurs("repeated parameter")
        );
    }

    #[test]
    fn a_wrong_redirect_path_or_scheme_is_not_ours() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        for wrong in [
            format!("com.example.timesheets:/other?code=abc&state={state}"),
            format!("com.evil.timesheets:/oauth/callback?code=abc&state={state}"),
            format!("https://evil.example.com/oauth/callback?code=abc&state={state}"),
            "not a url".to_owned(),
        ] {
            assert!(
                matches!(rejection(pending.check(&wrong)), Rejection::NotOurs(_)),
                "{wrong}"
            );
        }
    }

    #[test]
    fn an_issuer_mismatch_ends_the_sign_in() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        let mixed_up = callback(&state, "&iss=https%3A%2F%2Fevil.example.com%2F");
        assert!(matches!(
            rejection(pending.check(&mixed_up)),
            Rejection::Ended(_)
        ));
        // Slash matters.
        let no_slash = callback(&state, "&iss=https%3A%2F%2Ftenant.auth0.com");
        assert!(matches!(
            rejection(pending.check(&no_slash)),
            Rejection::Ended(_)
        ));
    }

    #[test]
    fn iss_is_required_when_the_provider_says_it_sends_it() {
        let (url, pending) = started(true);
        let state = param(&url, "state").unwrap_or_default();
        assert!(matches!(
            rejection(pending.check(&callback(&state, ""))),
            Rejection::Ended(_)
        ));
        assert!(pending
            .check(&callback(&state, "&iss=https%3A%2F%2Ftenant.auth0.com%2F"))
            .is_ok());
    }

    #[test]
    fn an_error_callback_becomes_plain_words() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        let denied = format!(
            "com.example.timesheets:/oauth/callback?error=access_denied&error_description=User%20said%20no&state={state}"
        );
        assert_eq!(
            rejection(pending.check(&denied)),
            Rejection::Ended("You declined the sign-in.".into())
        );
        let error = rejection(pending.check(&denied)).into_error();
        assert_eq!(error.code(), "signed_out");
        assert_eq!(error.to_string(), "You declined the sign-in.");
        assert!(declined("invalid_target").contains("audience or resource setting"));
        let odd =
            format!("com.example.timesheets:/oauth/callback?error=%3Cscript%3E&state={state}");
        let Rejection::Ended(message) = rejection(pending.check(&odd)) else {
            panic!("not ended");
        };
        assert!(!message.contains('<'), "{message}");
    }

    #[test]
    fn an_expired_sign_in_refuses_even_its_own_callback() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        let later = Instant::now() + PENDING_LIFETIME + Duration::from_secs(1);
        assert!(matches!(
            rejection(pending.check_at(&callback(&state, ""), later)),
            Rejection::Ended(m) if m.contains("ten minutes")
        ));
    }

    #[test]
    fn a_rejected_link_reads_as_invalid_and_names_no_secret() {
        let error = Rejection::NotOurs("state does not match").into_error();
        assert_eq!(error.code(), "invalid");
        assert!(error.to_string().contains("ignored"));
    }

    fn stored_json(stored: &Secret<String>) -> serde_json::Value {
        serde_json::from_str(stored.expose()).unwrap_or_else(|e| panic!("not JSON: {e}"))
    }

    fn restamped(
        stored: &Secret<String>,
        change: impl FnOnce(&mut serde_json::Value),
    ) -> Secret<String> {
        let mut json = stored_json(stored);
        change(&mut json);
        Secret::new(json.to_string())
    }

    #[test]
    fn a_stored_sign_in_reads_back_as_the_same_sign_in() {
        let (url, pending) = started(true);
        let stored = pending.to_stored().unwrap_or_else(|| panic!("not written"));
        let json = stored_json(&stored);
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        assert_eq!(field("state"), param(&url, "state"));
        assert_eq!(field("nonce"), param(&url, "nonce"));
        assert_eq!(
            field("verifier").as_deref(),
            Some(pending.verifier.secret().as_str())
        );
        assert_eq!(field("issuer").as_deref(), Some(ISSUER));
        assert_eq!(
            field("redirect_uri").as_deref(),
            Some("com.example.timesheets:/oauth/callback")
        );
        assert_eq!(
            json.get("created_at").and_then(serde_json::Value::as_u64),
            Some(pending.created_at)
        );
        // Redacted wherever it could be printed.
        assert_eq!(format!("{stored:?}"), "<redacted>");

        let back = PendingSignIn::from_stored(&stored, &config(), SystemTime::now())
            .unwrap_or_else(|e| panic!("not read back: {e:?}"));
        assert_eq!(back.state.expose(), pending.state.expose());
        assert_eq!(back.nonce.expose(), pending.nonce.expose());
        assert_eq!(back.verifier.secret(), pending.verifier.secret());
        assert!(back.iss_required);
        assert!(!back.is_expired());
        // The same checks as ever: its own link (with `iss`, as promised) passes,
        // a forged one does not.
        let state = param(&url, "state").unwrap_or_default();
        assert!(back
            .check(&callback(&state, "&iss=https%3A%2F%2Ftenant.auth0.com%2F"))
            .is_ok());
        assert!(matches!(
            rejection(back.check(&callback(&state, ""))),
            Rejection::Ended(_)
        ));
        assert_eq!(
            rejection(back.check(&callback("forged", ""))),
            Rejection::NotOurs("state does not match")
        );
        let printed = format!("{back:?}");
        assert!(
            !printed.contains(back.verifier.secret().as_str()),
            "{printed}"
        );
        assert!(!printed.contains(&state), "{printed}");
        assert_eq!(stored_state_is(&stored, &back.state), Some(true));
        assert_eq!(
            stored_state_is(&stored, &Secret::new("other".to_owned())),
            Some(false)
        );
    }

    #[test]
    fn a_stored_sign_in_keeps_its_ten_minutes_across_restarts() {
        let (url, pending) = started(false);
        let state = param(&url, "state").unwrap_or_default();
        let stored = pending.to_stored().unwrap_or_else(|| panic!("not written"));
        let made = SystemTime::UNIX_EPOCH + Duration::from_secs(pending.created_at);

        let nine =
            PendingSignIn::from_stored(&stored, &config(), made + Duration::from_secs(9 * 60))
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!nine.is_expired());
        assert!(nine.check(&callback(&state, "")).is_ok());

        let ten = PendingSignIn::from_stored(&stored, &config(), made + PENDING_LIFETIME)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ten.is_expired());
        assert!(matches!(
            rejection(ten.check(&callback(&state, ""))),
            Rejection::Ended(m) if m.contains("ten minutes")
        ));
        // A foreign link is still only "not ours".
        assert!(matches!(
            rejection(ten.check(&callback("forged", ""))),
            Rejection::NotOurs(_)
        ));

        // Made in the future (beyond a minute of clock slack): not trusted.
        assert_eq!(
            PendingSignIn::from_stored(&stored, &config(), made - Duration::from_secs(120)).err(),
            Some(StoredProblem::FromTheFuture)
        );
        assert!(
            PendingSignIn::from_stored(&stored, &config(), made - Duration::from_secs(30)).is_ok()
        );
    }

    #[test]
    fn a_stored_sign_in_belongs_to_one_issuer_client_and_redirect() {
        let (_, pending) = started(false);
        let stored = pending.to_stored().unwrap_or_else(|| panic!("not written"));
        let now = SystemTime::now();
        let other_issuer = ClientConfig {
            issuer: "https://other.auth0.com/".into(),
            ..config()
        };
        let other_client = ClientConfig {
            client_id: "someone-else".into(),
            ..config()
        };
        let other_redirect = ClientConfig {
            redirect_uri: Url::parse("com.example.timesheets:/elsewhere")
                .unwrap_or_else(|e| panic!("{e}")),
            ..config()
        };
        for other in [other_issuer, other_client, other_redirect] {
            assert_eq!(
                PendingSignIn::from_stored(&stored, &other, now).err(),
                Some(StoredProblem::OtherApp),
                "{other:?}"
            );
        }
    }

    #[test]
    fn a_damaged_stored_sign_in_is_refused_without_echoing_it() {
        let (_, pending) = started(false);
        let stored = pending.to_stored().unwrap_or_else(|| panic!("not written"));
        let now = SystemTime::now();
        let damaged = [
            Secret::new("not json 5ecret".to_owned()),
            Secret::new(r#"{"state":"5ecret"}"#.to_owned()),
            restamped(&stored, |j| j["v"] = 2.into()),
            restamped(&stored, |j| j["state"] = "".into()),
            restamped(&stored, |j| j["verifier"] = "5ecret-too-short".into()),
            restamped(&stored, |j| j["created_at"] = "5ecret".into()),
        ];
        for stored in damaged {
            let problem = PendingSignIn::from_stored(&stored, &config(), now).err();
            assert_eq!(problem, Some(StoredProblem::Unreadable));
            let printed = format!(
                "{problem:?} {}",
                problem.map(StoredProblem::reason).unwrap_or("")
            );
            assert!(!printed.contains("5ecret"), "{printed}");
        }
        assert_eq!(
            stored_state_is(&Secret::new("garbage".to_owned()), &pending.state),
            None
        );
    }
}

/// The sign-in link's checks against arbitrary and mutated links. Any program
/// can start the app with a link, so the checks must hold for every input, not
/// only the ones a provider sends. `PROPTEST_CASES` sets the cases per property.
#[cfg(test)]
pub(crate) mod link_properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    /// Cases per property: modest by default, so the suite stays fast.
    pub(crate) fn config() -> Config {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(512);
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// A pending sign-in and its one valid link.
    fn started() -> (PendingSignIn, String) {
        let config = ClientConfig::default();
        let metadata = ProviderMetadata::plain(&config.issuer);
        let (authorize, pending) = start(&config, &metadata);
        let state = authorize
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let link = format!("{}?code=abc&state={state}", config.redirect_uri);
        (pending, link)
    }

    /// Characters that mean something in a URL, and any others.
    pub(crate) fn any_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => prop::sample::select(vec![
                '&', '=', '?', '#', '%', '+', '/', ':', ';', ' ', '\t', '\n', '\r', '\0',
                '\\', '.', 'A', 'a', '0', '\u{202e}', '\u{feff}', 'é',
            ]),
            1 => any::<char>(),
        ]
    }

    /// One edit of a string: insert, delete or replace one character.
    #[derive(Debug, Clone)]
    pub(crate) enum Edit {
        Insert(prop::sample::Index, char),
        Delete(prop::sample::Index),
        Replace(prop::sample::Index, char),
    }

    pub(crate) fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<prop::sample::Index>(), any_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<prop::sample::Index>().prop_map(Edit::Delete),
            (any::<prop::sample::Index>(), any_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        ]
    }

    /// `link` with `edit` applied within the characters `range` (by char index);
    /// an insertion may go after the range's last character only if `after_end`.
    pub(crate) fn apply(
        link: &str,
        edit: &Edit,
        range: std::ops::Range<usize>,
        after_end: bool,
    ) -> String {
        let mut chars: Vec<char> = link.chars().collect();
        let width = range.end - range.start;
        match edit {
            Edit::Insert(at, c) => {
                let room = if after_end { width + 1 } else { width };
                chars.insert(range.start + at.index(room), *c)
            }
            Edit::Delete(at) => {
                chars.remove(range.start + at.index(width));
            }
            Edit::Replace(at, c) => chars[range.start + at.index(width)] = *c,
        }
        chars.into_iter().collect()
    }

    /// What the link says, read independently: the address, and each parameter.
    fn parts(link: &str) -> Option<(String, Vec<(String, String)>)> {
        let url = Url::parse(link).ok()?;
        let address = format!("{}:{}", url.scheme(), url.path());
        let pairs = url.query_pairs().into_owned().collect();
        Some((address, pairs))
    }

    fn only<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        let mut found = pairs.iter().filter(|(k, _)| k == name);
        let first = found.next()?;
        found.next().is_none().then_some(first.1.as_str())
    }

    proptest! {
        #![proptest_config(config())]

        /// Arbitrary text never panics the check and is never accepted.
        #[test]
        fn arbitrary_text_is_refused(text in ".*") {
            let (pending, _) = started();
            prop_assert!(pending.check(&text).is_err());
            // Nor with the real link's beginning in front of it.
            let prefixed = format!("com.example.timesheets:/oauth/callback?{text}");
            prop_assert!(pending.check(&prefixed).is_err());
        }

        /// One edit inside the `state` value, or inside the address, makes the
        /// link someone else's: refused as not ours, and the sign-in still takes
        /// its real link afterwards. (Only the scheme's letter case may change:
        /// schemes are case-insensitive.)
        #[test]
        fn an_edited_state_or_address_is_refused(edit in edit(), in_state in any::<bool>()) {
            let (pending, link) = started();
            let state_at = link.find("state=").map_or(0, |at| at + "state=".len());
            let query_at = link.find('?').unwrap_or(0);
            let range = if in_state { state_at..link.len() } else { 0..query_at };
            // Inserting after the last character would leave the value itself
            // whole (`state=…&`, `…/callback?`): that is not an edit of it.
            let mutated = apply(&link, &edit, range, false);
            let colon = link.find(':').unwrap_or(0);
            let scheme_case_only = !in_state
                && mutated.len() == link.len()
                && mutated.is_char_boundary(colon)
                && mutated[colon..] == link[colon..]
                && mutated[..colon].eq_ignore_ascii_case(&link[..colon]);
            let verdict = pending.check(&mutated);
            if mutated.trim() == link || scheme_case_only {
                prop_assert!(verdict.is_ok(), "{mutated:?} refused");
            } else {
                prop_assert!(
                    matches!(verdict, Err(Rejection::NotOurs(_))),
                    "{mutated:?} was not refused as not ours: {:?}", verdict.err()
                );
            }
            prop_assert!(pending.check(&link).is_ok(), "the real link no longer works");
        }

        /// Up to four edits anywhere: never a panic, and whatever is accepted
        /// reads, independently, as this sign-in's address with exactly its
        /// `state` once and one non-empty `code`, which is the code accepted.
        #[test]
        fn whatever_is_accepted_is_this_sign_ins_link(edits in prop::collection::vec(edit(), 1..=4)) {
            let (pending, link) = started();
            let mut mutated = link.clone();
            for edit in &edits {
                let len = mutated.chars().count();
                if len == 0 {
                    break;
                }
                mutated = apply(&mutated, edit, 0..len, true);
            }
            if let Ok(accepted) = pending.check(&mutated) {
                prop_assert!(
                    !mutated.trim().chars().any(|c| c.is_control() || c.is_whitespace()),
                    "{mutated:?} accepted with a control or space character"
                );
                let (address, pairs) = parts(mutated.trim())
                    .ok_or_else(|| TestCaseError::fail(format!("{mutated:?} accepted but not a URL")))?;
                prop_assert_eq!(address, "com.example.timesheets:/oauth/callback");
                prop_assert_eq!(only(&pairs, "state"), Some(pending.state().expose().as_str()));
                let code = only(&pairs, "code");
                prop_assert!(code.is_some_and(|c| !c.is_empty()));
                prop_assert_eq!(Some(accepted.code.expose().as_str()), code);
                prop_assert!(only(&pairs, "error").is_none() && only(&pairs, "iss").is_none());
            }
            prop_assert!(pending.check(&link).is_ok(), "the real link no longer works");
        }
    }
}

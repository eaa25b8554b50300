//! What the app learns about its provider at run time: endpoints and signing keys.
//!
//! Only the issuer is configured; everything else comes from the provider's
//! metadata document (OpenID Connect Discovery, or RFC 8414 for plain OAuth
//! servers), so the same build talks to the development provider, Auth0 or any
//! other by configuration alone. [`Provider`] fetches the document once and keeps
//! it; it fetches the signing keys (JWKS) when an ID token needs checking, and again
//! when a token names a key it has not seen (the provider rotated), at most once
//! every few seconds.
//!
//! The document is trusted only if its `issuer` equals the configured one exactly
//! (RFC 8414 §3.3), which stops a mix-up between providers.

use crate::config::{is_secure_or_loopback, ClientConfig};
use crate::error::Error;
use jsonwebtoken::jwk::Jwk;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// The provider metadata the app uses (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: Url,
    /// RFC 7009 token revocation, used at sign-out when present.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// The provider's public signing keys, to check ID tokens.
    #[serde(default)]
    pub jwks_uri: Option<Url>,
    /// RFC 9207: when true, every authorization response must carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// PKCE methods; when listed, `S256` must be among them.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Set only by the development provider bundled with `timesheets-server`, so
    /// the sign-in screen labels it "Development sign-in" and nothing else.
    #[serde(default)]
    pub timesheets_development_provider: bool,
}

#[cfg(test)]
impl ProviderMetadata {
    /// The plainest document for `issuer`: its endpoints under it, nothing
    /// optional. For the unit tests that start sign-ins without a provider.
    pub(crate) fn plain(issuer: &str) -> Self {
        let url = |path: &str| {
            url::Url::parse(&format!("{issuer}{path}")).unwrap_or_else(|e| panic!("{e}"))
        };
        ProviderMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: url("authorize"),
            token_endpoint: url("oauth/token"),
            revocation_endpoint: None,
            jwks_uri: None,
            authorization_response_iss_parameter_supported: false,
            code_challenge_methods_supported: None,
            timesheets_development_provider: false,
        }
    }
}

impl ProviderMetadata {
    /// Checks the document against the configured issuer and for safe endpoints.
    fn check(self, config: &ClientConfig) -> Result<Self, Error> {
        if self.issuer != config.issuer {
            tracing::warn!(
                configured = %config.issuer,
                advertised = %self.issuer,
                "provider metadata names another issuer"
            );
            return Err(Error::unknown(format!(
                "The sign-in server's metadata names the issuer {:?}, but the app is configured \
                 for {:?}. Check TIMESHEETS_ISSUER (Auth0's issuer ends with a slash).",
                self.issuer, config.issuer
            )));
        }
        let endpoints = [
            Some(&self.authorization_endpoint),
            Some(&self.token_endpoint),
            self.revocation_endpoint.as_ref(),
            self.jwks_uri.as_ref(),
        ];
        if let Some(bad) = endpoints
            .into_iter()
            .flatten()
            .find(|u| !is_secure_or_loopback(u))
        {
            return Err(Error::unknown(format!(
                "The sign-in server advertises an endpoint that is not https: {bad}"
            )));
        }
        if let Some(methods) = &self.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(Error::unknown(
                    "The sign-in server does not support PKCE with S256, which this app requires.",
                ));
            }
        }
        Ok(self)
    }
}

/// The token response's fields beyond RFC 6749: OpenID Connect's `id_token`.
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct OidcFields {
    /// The ID token (a JWT), present when `openid` was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl fmt::Debug for OidcFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcFields")
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ExtraTokenFields for OidcFields {}

/// A token endpoint response with an optional ID token.
pub(crate) type TokenResponse = StandardTokenResponse<OidcFields, BasicTokenType>;

/// The `oauth2` client as configured from discovery: authorize and token endpoints
/// set. Revocation is sent by hand (see `Session::sign_out`): `oauth2` refuses a
/// plain-http revocation endpoint, which the development provider has.
pub(crate) type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The JWKS as last fetched, and when.
struct KeyCache {
    keys: Arc<Vec<Jwk>>,
    fetched: Instant,
}

/// The configured provider: its metadata and keys, fetched on demand and cached,
/// and the one HTTP client every request of the app goes through.
pub struct Provider {
    config: Arc<ClientConfig>,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<Arc<ProviderMetadata>>>,
    keys: tokio::sync::Mutex<Option<KeyCache>>,
}

/// The least time between two JWKS fetches, so a stream of tokens with unknown
/// key ids cannot make the app hammer the provider.
const JWKS_MIN_INTERVAL: Duration = Duration::from_secs(10);

impl Provider {
    /// A provider for `config`, using `http` for every request.
    pub(crate) fn new(config: Arc<ClientConfig>, http: reqwest::Client) -> Self {
        Provider {
            config,
            http,
            metadata: tokio::sync::Mutex::new(None),
            keys: tokio::sync::Mutex::new(None),
        }
    }

    /// The configuration this provider was made from.
    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The HTTP client (redirects off).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The metadata, fetched on first use and kept; a failed fetch is retried next time.
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        let mut cached = self.metadata.lock().await;
        if let Some(metadata) = cached.as_ref() {
            return Ok(metadata.clone());
        }
        let metadata = Arc::new(self.fetch_metadata().await?);
        *cached = Some(metadata.clone());
        Ok(metadata)
    }

    async fn fetch_metadata(&self) -> Result<ProviderMetadata, Error> {
        let mut last_error = None;
        for url in discovery_urls(&self.config.issuer)? {
            let response = self
                .http
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| {
                    tracing::warn!(%url, error = %e, "cannot fetch provider metadata");
                    Error::offline("the sign-in server")
                })?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                last_error = Some(Error::unknown(format!(
                    "The sign-in server at {} publishes no metadata (tried {url}). Check TIMESHEETS_ISSUER.",
                    self.config.issuer
                )));
                continue;
            }
            if !status.is_success() {
                tracing::warn!(%url, %status, "provider metadata request failed");
                return Err(server_trouble(status));
            }
            let metadata: ProviderMetadata = response.json().await.map_err(|e| {
                tracing::warn!(%url, error = %e, "provider metadata is not valid");
                Error::unknown("The sign-in server's metadata could not be read.")
            })?;
            return metadata.check(&self.config);
        }
        Err(last_error
            .unwrap_or_else(|| Error::unknown("The sign-in server publishes no metadata.")))
    }

    /// An `oauth2` client for the discovered endpoints.
    pub(crate) async fn oauth(&self) -> Result<OAuthClient, Error> {
        let metadata = self.metadata().await?;
        Ok(
            oauth2::Client::new(ClientId::new(self.config.client_id.clone()))
                // A public client: no secret, so `client_id` goes in the body.
                .set_auth_type(AuthType::RequestBody)
                .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint.clone()))
                .set_token_uri(TokenUrl::from_url(metadata.token_endpoint.clone()))
                .set_redirect_uri(RedirectUrl::from_url(self.config.redirect_uri.clone())),
        )
    }

    /// The signing keys; `refetch` asks again (a token named an unknown key), but
    /// not more often than every few seconds.
    pub(crate) async fn signing_keys(&self, refetch: bool) -> Result<Arc<Vec<Jwk>>, Error> {
        let mut cache = self.keys.lock().await;
        if let Some(cached) = cache.as_ref() {
            if !refetch || cached.fetched.elapsed() < JWKS_MIN_INTERVAL {
                return Ok(cached.keys.clone());
            }
        }
        let metadata = self.metadata().await?;
        let Some(url) = metadata.jwks_uri.clone() else {
            return Err(Error::unknown(
                "The sign-in server publishes no signing keys (jwks_uri), so its ID tokens cannot be checked.",
            ));
        };
        let response = self.http.get(url.clone()).send().await.map_err(|e| {
            tracing::warn!(%url, error = %e, "cannot fetch signing keys");
            Error::offline("the sign-in server")
        })?;
        if !response.status().is_success() {
            tracing::warn!(%url, status = %response.status(), "signing keys request failed");
            return Err(server_trouble(response.status()));
        }
        let document: serde_json::Value = response.json().await.map_err(|e| {
            tracing::warn!(%url, error = %e, "signing keys are not JSON");
            Error::unknown("The sign-in server's signing keys could not be read.")
        })?;
        // Keys of types this library does not know are skipped, not fatal.
        let keys: Vec<Jwk> = document
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|key| serde_json::from_value(key.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        let keys = Arc::new(keys);
        *cache = Some(KeyCache {
            keys: keys.clone(),
            fetched: Instant::now(),
        });
        Ok(keys)
    }
}

/// Why a token endpoint request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// The server could not be reached (DNS, connection, timeout).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with a 5xx: down or overloaded, worth retrying.
    #[error("the server failed (HTTP {0})")]
    Server(u16),
}

/// The HTTP client `oauth2` sends token and revocation requests through: the app's
/// one reqwest client (redirects off), with 5xx answers turned into transport
/// errors so that a provider that is down counts as unreachable, not as a refusal.
pub(crate) struct TokenTransport<'a>(pub(crate) &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for TokenTransport<'_> {
    type Error = TransportError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| TransportError::Unreachable(e.to_string()))?;
            let response = self
                .0
                .execute(request)
                .await
                .map_err(|e| TransportError::Unreachable(e.without_url().to_string()))?;
            let status = response.status();
            if status.is_server_error() {
                return Err(TransportError::Server(status.as_u16()));
            }
            let mut builder = oauth2::http::Response::builder().status(status);
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| TransportError::Unreachable(e.without_url().to_string()))?;
            builder
                .body(body.to_vec())
                .map_err(|e| TransportError::Unreachable(e.to_string()))
        })
    }
}

/// A 5xx or otherwise failed answer from the sign-in server, in plain words.
pub(crate) fn server_trouble(status: reqwest::StatusCode) -> Error {
    Error::unknown(format!(
        "The sign-in server had a problem (HTTP {}). Please try again in a moment.",
        status.as_u16()
    ))
}

/// Where the metadata may be: OpenID Connect Discovery first (what Auth0 and most
/// providers serve), then RFC 8414's location for plain OAuth servers.
pub fn discovery_urls(issuer: &str) -> Result<Vec<Url>, Error> {
    let parsed = Url::parse(issuer)
        .map_err(|e| Error::config("TIMESHEETS_ISSUER", format!("is not a URL: {e}")))?;
    let trimmed = issuer.trim_end_matches('/');
    let oidc = Url::parse(&format!("{trimmed}/.well-known/openid-configuration"))
        .map_err(|e| Error::config("TIMESHEETS_ISSUER", format!("is not a URL: {e}")))?;
    // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
    let path = parsed.path().trim_end_matches('/');
    let mut rfc8414 = parsed.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    Ok(if rfc8414 == oidc {
        vec![oidc]
    } else {
        vec![oidc, rfc8414]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(issuer: &str) -> ProviderMetadata {
        ProviderMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: Url::parse("https://idp.example.com/authorize")
                .unwrap_or_else(|e| panic!("{e}")),
            token_endpoint: Url::parse("https://idp.example.com/oauth/token")
                .unwrap_or_else(|e| panic!("{e}")),
            revocation_endpoint: None,
            jwks_uri: None,
            authorization_response_iss_parameter_supported: false,
            code_challenge_methods_supported: None,
            timesheets_development_provider: false,
        }
    }

    fn config(issuer: &str) -> ClientConfig {
        ClientConfig {
            issuer: issuer.to_owned(),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn discovery_keeps_the_issuer_path_and_slash() {
        let urls = discovery_urls("https://tenant.auth0.com/").unwrap_or_default();
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            vec![
                "https://tenant.auth0.com/.well-known/openid-configuration",
                "https://tenant.auth0.com/.well-known/oauth-authorization-server"
            ]
        );
        // Okta's org server, Google, node-oidc-provider: no path, no slash.
        let urls = discovery_urls("http://127.0.0.1:9000").unwrap_or_default();
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            vec![
                "http://127.0.0.1:9000/.well-known/openid-configuration",
                "http://127.0.0.1:9000/.well-known/oauth-authorization-server"
            ]
        );
        let urls =
            discovery_urls("https://login.microsoftonline.com/TENANT/v2.0").unwrap_or_default();
        assert_eq!(
            urls.first().map(Url::as_str),
            Some("https://login.microsoftonline.com/TENANT/v2.0/.well-known/openid-configuration")
        );
        let urls = discovery_urls("https://idp.example.com/realms/acme").unwrap_or_default();
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            vec![
                "https://idp.example.com/realms/acme/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/acme"
            ]
        );
    }

    #[test]
    fn metadata_must_name_the_configured_issuer_exactly() {
        let issuer = "https://tenant.auth0.com/";
        assert!(metadata(issuer).check(&config(issuer)).is_ok());
        // The slash matters: Auth0's `iss` has it, Okta's does not.
        assert!(metadata("https://tenant.auth0.com")
            .check(&config(issuer))
            .is_err());
        let okta = "https://example.okta.com";
        assert!(metadata(okta).check(&config(okta)).is_ok());
        assert!(metadata("https://example.okta.com/")
            .check(&config(okta))
            .is_err());
        assert!(metadata("https://evil.example.com/")
            .check(&config(issuer))
            .is_err());
    }

    #[test]
    fn metadata_without_s256_or_with_plain_http_is_refused() {
        let issuer = "https://tenant.auth0.com/";
        let mut plain_only = metadata(issuer);
        plain_only.code_challenge_methods_supported = Some(vec!["plain".into()]);
        assert!(plain_only.check(&config(issuer)).is_err());
        let mut http = metadata(issuer);
        http.token_endpoint =
            Url::parse("http://idp.example.com/token").unwrap_or_else(|e| panic!("{e}"));
        assert!(http.check(&config(issuer)).is_err());
    }
}

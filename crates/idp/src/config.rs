//! What the provider needs to run: its issuer URL, where it keeps state, its users
//! and clients, and how long things live.
//!
//! Start from [`Config::new`], which fills in the development users, the desktop
//! client and the usual lifetimes, then change fields as needed (tests shorten
//! `code_ttl`, for instance).

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::limits::Limits;
use crate::users::{self, User};

/// The identity provider's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier, with a trailing slash as Auth0 writes it (e.g.
    /// `http://127.0.0.1:8081/`). It goes verbatim into `iss` claims and the `iss`
    /// authorization response parameter, and every endpoint is relative to it
    /// (`{issuer}authorize`, `{issuer}oauth/token`, …). The router serves those
    /// paths, so an issuer with a path (`http://host/idp/`) is served under it.
    pub issuer: Url,
    /// Where the signing key (`signing-key.pem`) and the refresh-token database
    /// (`idp.sqlite3`) live, so that tokens survive a restart. Created if missing.
    pub data_dir: PathBuf,
    /// Who may sign in.
    pub users: Vec<User>,
    /// Which applications may ask for tokens.
    pub clients: Vec<Client>,
    /// The access-token audience when an authorize request names none (neither
    /// Auth0's `audience` nor RFC 8707's `resource`). It is also the only audience
    /// this provider issues tokens for, so a request naming another is refused.
    pub default_audience: String,
    /// How long an access token is valid.
    pub access_token_ttl: Duration,
    /// How long an authorization code may wait before it is exchanged.
    pub code_ttl: Duration,
    /// How long after rotation an already-used refresh token is still honoured
    /// (Auth0's "reuse interval", for clients that lose a response). Zero means a
    /// second use is always treated as theft and revokes the token family.
    pub refresh_reuse_interval: Duration,
    /// How long a refresh-token family lives from its first issue, however often it
    /// is rotated; after that the user must sign in again.
    pub refresh_absolute_lifetime: Duration,
    /// Request rates per client address, bounds on waiting sign-ins, and how many
    /// wrong passwords a sign-in and an account may take.
    pub limits: Limits,
}

impl Config {
    /// A configuration with the development users ([`default_users`](crate::default_users)),
    /// the desktop client ([`default_clients`]), audience `timesheets-api`, access
    /// tokens for 5 minutes, codes for 60 seconds, no refresh reuse interval,
    /// refresh-token families for 30 days, and the default [`Limits`].
    pub fn new(issuer: Url, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            issuer,
            data_dir: data_dir.into(),
            users: users::default_users(),
            clients: default_clients(),
            default_audience: "timesheets-api".to_owned(),
            access_token_ttl: Duration::from_secs(300),
            code_ttl: Duration::from_secs(60),
            refresh_reuse_interval: Duration::ZERO,
            refresh_absolute_lifetime: Duration::from_secs(30 * 24 * 60 * 60),
            limits: Limits::default(),
        }
    }

    /// Checks the configuration, naming the first thing that is wrong.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let issuer = &self.issuer;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(format!("issuer {issuer} must be an http or https URL"));
        }
        if !issuer.path().ends_with('/') {
            return Err(format!(
                "issuer {issuer} must end with '/' (endpoints are joined onto it, as with Auth0)"
            ));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(format!(
                "issuer {issuer} must not have a query or fragment (OpenID Connect Discovery §3)"
            ));
        }
        let path_ok = issuer
            .path()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
        if !path_ok || issuer.path().contains("//") {
            return Err(format!(
                "issuer path {:?} may hold only letters, digits, '-', '.', '_', '~' and single '/'",
                issuer.path()
            ));
        }
        users::validate_users(&self.users).map_err(|problem| format!("users: {problem}"))?;
        if self.clients.is_empty() {
            return Err("no clients: add at least one".to_owned());
        }
        for client in &self.clients {
            if client.client_id.trim().is_empty() {
                return Err("a client has an empty client_id".to_owned());
            }
            if client.redirect_uris.is_empty() {
                return Err(format!("client {:?} has no redirect URI", client.client_id));
            }
            for uri in &client.redirect_uris {
                let parsed = Url::parse(uri).map_err(|e| {
                    format!(
                        "client {:?}: redirect URI {uri:?} is not a URL: {e}",
                        client.client_id
                    )
                })?;
                if parsed.fragment().is_some() {
                    return Err(format!(
                        "client {:?}: redirect URI {uri:?} must not have a fragment (RFC 6749 §3.1.2)",
                        client.client_id
                    ));
                }
            }
        }
        if self.default_audience.trim().is_empty() {
            return Err("default_audience is empty".to_owned());
        }
        self.limits.validate()?;
        for (name, value) in [
            ("access_token_ttl", self.access_token_ttl),
            ("code_ttl", self.code_ttl),
            ("refresh_absolute_lifetime", self.refresh_absolute_lifetime),
        ] {
            if value.is_zero() {
                return Err(format!("{name} must be longer than zero"));
            }
        }
        Ok(())
    }

    /// An endpoint URL: the issuer with `path` joined on.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// An application allowed to ask for tokens. Every client is public (RFC 6749
/// §2.1): a native app cannot keep a secret, so it proves itself with PKCE and its
/// registered redirect URIs instead.
#[derive(Debug, Clone)]
pub struct Client {
    /// The `client_id` the app sends.
    pub client_id: String,
    /// Redirect URIs matched exactly, character for character (RFC 6749 §3.1.2.3),
    /// except that a registered loopback URI (`http://127.0.0.1/callback`,
    /// `http://[::1]/callback`) matches on any port: a native app listening on an
    /// ephemeral port cannot register it in advance (RFC 8252 §7.3). Only the
    /// port varies; scheme, address and path must be as registered, and
    /// `localhost` is never a loopback redirect (§8.3).
    pub redirect_uris: Vec<String>,
}

/// The client id of the desktop app returning through its private-use scheme.
pub const DESKTOP_CLIENT_ID: &str = "timesheets-desktop";
/// The client id of the desktop app returning through a loopback redirect.
pub const LOOPBACK_CLIENT_ID: &str = "timesheets-desktop-loopback";

/// The desktop app, registered twice as a provider would register it:
/// `timesheets-desktop` returns through the private-use URI scheme
/// `com.example.timesheets:/oauth/callback` (RFC 8252 §7.1) and nowhere else;
/// `timesheets-desktop-loopback` returns to `http://127.0.0.1/callback` or
/// `http://[::1]/callback` on whatever port the app listens (§7.3). Keeping them
/// apart means the scheme client can never be sent to a port some other program
/// on the machine listens on.
pub fn default_clients() -> Vec<Client> {
    vec![
        Client {
            client_id: DESKTOP_CLIENT_ID.to_owned(),
            redirect_uris: vec!["com.example.timesheets:/oauth/callback".to_owned()],
        },
        Client {
            client_id: LOOPBACK_CLIENT_ID.to_owned(),
            redirect_uris: vec![
                "http://127.0.0.1/callback".to_owned(),
                "http://[::1]/callback".to_owned(),
            ],
        },
    ]
}

impl Client {
    /// Whether `redirect_uri` is one this client may be sent back to.
    pub(crate) fn accepts_redirect(&self, redirect_uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| {
            registered == redirect_uri || same_loopback_but_port(registered, redirect_uri)
        })
    }
}

/// A plain `http` URL on the IPv4 or IPv6 loopback address, with no user info or
/// fragment. `localhost` is refused: it can resolve elsewhere (RFC 8252 §8.3).
fn loopback(uri: &str) -> Option<Url> {
    let url = Url::parse(uri).ok()?;
    let loopback_host = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    };
    (url.scheme() == "http"
        && loopback_host
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none())
    .then_some(url)
}

/// Whether `requested` is the registered loopback URI on another port.
fn same_loopback_but_port(registered: &str, requested: &str) -> bool {
    match (loopback(registered), loopback(requested)) {
        (Some(registered), Some(requested)) => {
            registered.host() == requested.host()
                && registered.path() == requested.path()
                && registered.query() == requested.query()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_client_never_goes_to_a_loopback_port() {
        let client = &default_clients()[0];
        assert_eq!(client.client_id, DESKTOP_CLIENT_ID);
        assert!(client.accepts_redirect("com.example.timesheets:/oauth/callback"));
        assert!(!client.accepts_redirect("http://127.0.0.1:49152/callback"));
        assert!(!client.accepts_redirect("http://[::1]:8080/callback"));
        assert!(!client.accepts_redirect("com.example.timesheets:/oauth/callback/"));
        assert!(!client.accepts_redirect("com.example.timesheets:/oauth/callbacks"));
    }

    #[test]
    fn the_loopback_client_varies_only_the_port() {
        let client = &default_clients()[1];
        assert_eq!(client.client_id, LOOPBACK_CLIENT_ID);
        assert!(client.accepts_redirect("http://127.0.0.1/callback"));
        assert!(client.accepts_redirect("http://127.0.0.1:49152/callback"));
        assert!(client.accepts_redirect("http://[::1]:8080/callback"));
        assert!(!client.accepts_redirect("http://127.0.0.1:8080/other"));
        assert!(!client.accepts_redirect("http://127.0.0.1:8080/callback?x=1"));
        assert!(!client.accepts_redirect("http://localhost:8080/callback"));
        assert!(!client.accepts_redirect("https://127.0.0.1:8080/callback"));
        assert!(!client.accepts_redirect("http://127.0.0.2:8080/callback"));
        assert!(!client.accepts_redirect("http://127.0.0.1:8080/callback#frag"));
        assert!(!client.accepts_redirect("http://user@127.0.0.1:8080/callback"));
        assert!(!client.accepts_redirect("com.example.timesheets:/oauth/callback"));
    }

    #[test]
    fn default_config_is_valid() {
        let config = Config::new(Url::parse("http://127.0.0.1:8081/").unwrap(), "/tmp/x");
        config.validate().unwrap();
        assert_eq!(
            config.endpoint("oauth/token"),
            "http://127.0.0.1:8081/oauth/token"
        );
    }

    #[test]
    fn issuer_without_slash_is_refused() {
        let config = Config::new(Url::parse("http://127.0.0.1:8081/idp").unwrap(), "/tmp/x");
        assert!(config.validate().unwrap_err().contains("must end with '/'"));
    }
}

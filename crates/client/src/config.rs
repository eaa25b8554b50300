//! Where the app signs in and which API it talks to.
//!
//! [`ClientConfig::load`] reads `config.toml` from the OS config directory
//! (`~/.config/timesheets/` on Linux) and lays `TIMESHEETS_*` environment variables
//! over it; with neither, it points at the local development stack. Pointing the
//! app at Auth0 or any standards-following provider is a matter of configuration
//! alone:
//!
//! ```toml
//! issuer = "https://example.eu.auth0.com/"   # exactly as the provider's `iss`
//! client_id = "AbC123"
//! audience = "https://timesheets.example.com/api"   # Auth0; "" to send none
//! resource = ""                                     # RFC 8707 providers
//! scopes = "openid profile email offline_access read:timesheets create:timesheets"
//! redirect_uri = "com.example.timesheets:/oauth/callback"   # or "http://127.0.0.1/callback"
//! prompt = "consent"                                # providers strict about offline_access
//! api_url = "https://timesheets.example.com"
//! ```
//!
//! The parsing is [`ClientConfig::from_sources`], a pure function of the file's text
//! and an environment map, so every rule is unit-tested. A bad value is an
//! [`Error::Config`] naming the variable or key to fix.

use crate::error::Error;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use url::{Host, Url};

/// The local identity provider of the development stack.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8081/";
/// The desktop app's client at the development identity provider.
pub const DEFAULT_CLIENT_ID: &str = "timesheets-desktop";
/// The API identifier (Auth0's `audience`) of the development stack.
pub const DEFAULT_AUDIENCE: &str = "timesheets-api";
/// Sign-in, refresh, and all four timesheet scopes; the provider grants what the person may have.
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access read:timesheets create:timesheets delete:timesheets approve:timesheets";
/// The private-use URI scheme callback (RFC 8252 §7.1), reverse domain name of the app.
pub const DEFAULT_REDIRECT_URI: &str = "com.example.timesheets:/oauth/callback";
/// The local timesheet API of the development stack.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";
/// The keyring service the refresh token is filed under.
pub const DEFAULT_KEYRING_SERVICE: &str = "com.example.timesheets";

/// Everything the app needs to know about the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The authorization server's issuer, exactly as its tokens' `iss` spell it
    /// (Auth0's ends in a slash).
    pub issuer: String,
    /// The app's client id at the provider (a public client: no secret).
    pub client_id: String,
    /// Auth0's `audience` parameter naming the API, if any.
    pub audience: Option<String>,
    /// RFC 8707's `resource` parameter naming the API, if any.
    pub resource: Option<String>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Where the provider sends the browser back: a private-use scheme
    /// (RFC 8252 §7.1), or a loopback URL (§7.3) for providers that accept no
    /// private-use scheme from desktop apps (Entra ID, Google). A loopback URL's
    /// port is chosen afresh for each sign-in unless it names one.
    pub redirect_uri: Url,
    /// OpenID Connect's `prompt`, sent with every authorization request when set:
    /// `consent` for providers that, following OpenID Connect Core §11, grant a
    /// refresh token for `offline_access` only after explicit consent.
    pub prompt: Option<String>,
    /// The timesheet API's base URL.
    pub api_base: Url,
    /// The keyring service name the refresh token is filed under.
    pub keyring_service: String,
}

impl Default for ClientConfig {
    /// The local development stack: `scripts/dev` runs both servers at these addresses.
    fn default() -> Self {
        // Parsing constants that the tests below check; never fails.
        let parse = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!("constant URL {s}"));
        ClientConfig {
            issuer: DEFAULT_ISSUER.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            audience: Some(DEFAULT_AUDIENCE.to_owned()),
            resource: None,
            scopes: split_scopes(DEFAULT_SCOPES),
            redirect_uri: parse(DEFAULT_REDIRECT_URI),
            prompt: None,
            api_base: parse(DEFAULT_API_URL),
            keyring_service: DEFAULT_KEYRING_SERVICE.to_owned(),
        }
    }
}

/// The config file's keys. Unknown keys are refused so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    issuer: Option<String>,
    client_id: Option<String>,
    audience: Option<String>,
    resource: Option<String>,
    scopes: Option<ScopeList>,
    redirect_uri: Option<String>,
    prompt: Option<String>,
    api_url: Option<String>,
    keyring_service: Option<String>,
}

/// Scopes in the file: a space-separated string, as in OAuth, or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Text(String),
    List(Vec<String>),
}

/// One raw setting and where it came from, so an error can name it.
struct Raw {
    value: String,
    key: String,
}

impl ClientConfig {
    /// Where [`ClientConfig::load`] looks for `config.toml`; `None` when the OS
    /// reports no home directory.
    pub fn file_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("com", "example", "timesheets")
            .map(|dirs| dirs.config_dir().join("config.toml"))
    }

    /// Reads the config file (if there is one) and the process environment.
    pub fn load() -> Result<Self, Error> {
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(name, _)| name.starts_with("TIMESHEETS_"))
            .collect();
        match Self::file_path() {
            Some(path) => match std::fs::read_to_string(&path) {
                Ok(text) => Self::from_sources(Some((&path, &text)), &env),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Self::from_sources(None, &env)
                }
                Err(e) => Err(Error::config(
                    path.display().to_string(),
                    format!("cannot read the config file: {e}"),
                )),
            },
            None => Self::from_sources(None, &env),
        }
    }

    /// Builds the configuration from the file's text (with its path, for messages)
    /// and environment variables, which win over the file. An empty `audience` or
    /// `resource` means "send none".
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: &HashMap<String, String>,
    ) -> Result<Self, Error> {
        let (parsed, file_name) = match file {
            Some((path, text)) => {
                let name = path.display().to_string();
                let parsed: FileConfig = toml::from_str(text).map_err(|e| {
                    Error::config(name.clone(), format!("is not a valid config file: {e}"))
                })?;
                (parsed, name)
            }
            None => (FileConfig::default(), String::from("config.toml")),
        };
        let pick = |var: &str, key: &str, from_file: Option<String>| -> Option<Raw> {
            match env.get(var) {
                Some(value) => Some(Raw {
                    value: value.clone(),
                    key: var.to_owned(),
                }),
                None => from_file.map(|value| Raw {
                    value,
                    key: format!("`{key}` in {file_name}"),
                }),
            }
        };
        let file_scopes = parsed.scopes.map(|s| match s {
            ScopeList::Text(text) => text,
            ScopeList::List(list) => list.join(" "),
        });

        let defaults = ClientConfig::default();
        let issuer = match pick("TIMESHEETS_ISSUER", "issuer", parsed.issuer) {
            Some(raw) => issuer(&raw)?,
            None => defaults.issuer,
        };
        let client_id = match pick("TIMESHEETS_CLIENT_ID", "client_id", parsed.client_id) {
            Some(raw) => non_empty(&raw)?,
            None => defaults.client_id,
        };
        let audience = match pick("TIMESHEETS_AUDIENCE", "audience", parsed.audience) {
            Some(raw) => optional(&raw),
            None => defaults.audience,
        };
        let resource = match pick("TIMESHEETS_RESOURCE", "resource", parsed.resource) {
            Some(raw) => resource(&raw)?,
            None => defaults.resource,
        };
        let scopes = match pick("TIMESHEETS_SCOPES", "scopes", file_scopes) {
            Some(raw) => scopes(&raw)?,
            None => defaults.scopes,
        };
        let redirect_uri = match pick(
            "TIMESHEETS_REDIRECT_URI",
            "redirect_uri",
            parsed.redirect_uri,
        ) {
            Some(raw) => redirect_uri(&raw)?,
            None => defaults.redirect_uri,
        };
        let prompt = match pick("TIMESHEETS_PROMPT", "prompt", parsed.prompt) {
            Some(raw) => prompt(&raw)?,
            None => defaults.prompt,
        };
        let api_base = match pick("TIMESHEETS_API_URL", "api_url", parsed.api_url) {
            Some(raw) => api_url(&raw)?,
            None => defaults.api_base,
        };
        let keyring_service = match pick(
            "TIMESHEETS_KEYRING_SERVICE",
            "keyring_service",
            parsed.keyring_service,
        ) {
            Some(raw) => non_empty(&raw)?,
            None => defaults.keyring_service,
        };
        Ok(ClientConfig {
            issuer,
            client_id,
            audience,
            resource,
            scopes,
            redirect_uri,
            prompt,
            api_base,
            keyring_service,
        })
    }

    /// The scopes as the space-separated `scope` parameter.
    pub fn scope_param(&self) -> String {
        self.scopes.join(" ")
    }

    /// The provider's name as the sign-in screen shows it: the issuer's host
    /// (with its port, when it names one), or "Development sign-in (host:port)"
    /// when the provider's discovery says it is the bundled development provider.
    /// An address alone never makes a provider "development": a real one may
    /// run on 127.0.0.1 too.
    pub fn provider_name(&self, development: bool) -> String {
        let Ok(url) = Url::parse(&self.issuer) else {
            return self.issuer.clone();
        };
        let host = url.host_str().unwrap_or(&self.issuer);
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        if development {
            format!("Development sign-in ({host})")
        } else {
            host
        }
    }

    /// Whether the browser comes back to a loopback listener of the app's own
    /// (RFC 8252 §7.3) rather than through the private-use scheme.
    pub fn loopback_redirect(&self) -> bool {
        self.redirect_uri.scheme() == "http"
    }
}

fn split_scopes(text: &str) -> Vec<String> {
    text.split([' ', '\t', '\n', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a URL points at this machine, where plain `http` cannot be intercepted.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `https`, or `http` on this machine only (development).
pub(crate) fn is_secure_or_loopback(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
}

fn non_empty(raw: &Raw) -> Result<String, Error> {
    let value = raw.value.trim();
    if value.is_empty() {
        return Err(Error::config(&raw.key, "must not be empty"));
    }
    Ok(value.to_owned())
}

fn optional(raw: &Raw) -> Option<String> {
    let value = raw.value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn issuer(raw: &Raw) -> Result<String, Error> {
    let value = non_empty(raw)?;
    let url = Url::parse(&value)
        .map_err(|e| Error::config(&raw.key, format!("is not a URL ({e}): {value:?}")))?;
    if !is_secure_or_loopback(&url) {
        return Err(Error::config(
            &raw.key,
            format!("must be an https URL (http only for 127.0.0.1 or localhost): {value:?}"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            &raw.key,
            "must have no query or fragment (RFC 8414 §2)",
        ));
    }
    // Kept exactly as written: `iss` is compared as a string, slash and all.
    Ok(value)
}

fn resource(raw: &Raw) -> Result<Option<String>, Error> {
    let Some(value) = optional(raw) else {
        return Ok(None);
    };
    let url = Url::parse(&value).map_err(|e| {
        Error::config(
            &raw.key,
            format!("must be an absolute URI (RFC 8707) ({e}): {value:?}"),
        )
    })?;
    if url.fragment().is_some() {
        return Err(Error::config(&raw.key, "must have no fragment (RFC 8707)"));
    }
    Ok(Some(value))
}

fn scopes(raw: &Raw) -> Result<Vec<String>, Error> {
    let scopes = split_scopes(&raw.value);
    if scopes.is_empty() {
        return Err(Error::config(&raw.key, "must name at least one scope"));
    }
    for scope in &scopes {
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3)
        let valid = scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return Err(Error::config(
                &raw.key,
                format!("scope {scope:?} has characters RFC 6749 §3.3 does not allow"),
            ));
        }
    }
    Ok(scopes)
}

fn redirect_uri(raw: &Raw) -> Result<Url, Error> {
    let value = non_empty(raw)?;
    let url = Url::parse(&value)
        .map_err(|e| Error::config(&raw.key, format!("is not a URI ({e}): {value:?}")))?;
    // RFC 8252 §7: a private-use scheme in reverse domain notation, or loopback
    // http on an IP literal (§8.3: `localhost` may resolve elsewhere, or to the
    // other address family than the one the app listens on).
    let private_use = url.scheme().contains('.') && url.host().is_none();
    let loopback_ip = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    let loopback = url.scheme() == "http" && loopback_ip;
    if !(private_use || loopback) {
        return Err(Error::config(
            &raw.key,
            format!(
                "must use a private-use scheme like com.example.timesheets:/oauth/callback \
                 or a loopback http URL like http://127.0.0.1/callback (RFC 8252 §7; \
                 not localhost, §8.3): {value:?}"
            ),
        ));
    }
    if url.fragment().is_some() {
        return Err(Error::config(&raw.key, "must have no fragment"));
    }
    if loopback && url.query().is_some() {
        return Err(Error::config(
            &raw.key,
            "a loopback redirect must have no query: the provider adds its own",
        ));
    }
    Ok(url)
}

/// The `prompt` values of OpenID Connect Core §3.1.2.1; `none` cannot be
/// combined with the others.
fn prompt(raw: &Raw) -> Result<Option<String>, Error> {
    let Some(value) = optional(raw) else {
        return Ok(None);
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    if let Some(bad) = words
        .iter()
        .find(|w| !matches!(**w, "none" | "login" | "consent" | "select_account"))
    {
        return Err(Error::config(
            &raw.key,
            format!("{bad:?} is not a prompt value; use consent, login, select_account or none"),
        ));
    }
    if words.contains(&"none") && words.len() > 1 {
        return Err(Error::config(
            &raw.key,
            "none cannot be combined with other prompt values",
        ));
    }
    Ok(Some(words.join(" ")))
}

fn api_url(raw: &Raw) -> Result<Url, Error> {
    let value = non_empty(raw)?;
    let url = Url::parse(&value)
        .map_err(|e| Error::config(&raw.key, format!("is not a URL ({e}): {value:?}")))?;
    if !is_secure_or_loopback(&url) {
        return Err(Error::config(
            &raw.key,
            format!(
                "must be an https URL (http only for 127.0.0.1 or localhost), \
                 since every request carries a bearer token: {value:?}"
            ),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(&raw.key, "must have no query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn from(file: Option<&str>, pairs: &[(&str, &str)]) -> Result<ClientConfig, Error> {
        ClientConfig::from_sources(
            file.map(|text| (Path::new("/home/u/.config/timesheets/config.toml"), text)),
            &env(pairs),
        )
    }

    fn key_of(result: Result<ClientConfig, Error>) -> String {
        match result {
            Err(Error::Config { key, .. }) => key,
            other => format!("not a config error: {other:?}"),
        }
    }

    #[test]
    fn nothing_configured_means_the_local_development_stack() {
        let config = from(None, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config, ClientConfig::default());
        assert_eq!(config.issuer, "http://127.0.0.1:8081/");
        assert_eq!(config.client_id, "timesheets-desktop");
        assert_eq!(config.audience.as_deref(), Some("timesheets-api"));
        assert_eq!(config.resource, None);
        assert_eq!(config.scope_param(), DEFAULT_SCOPES);
        assert_eq!(
            config.redirect_uri.as_str(),
            "com.example.timesheets:/oauth/callback"
        );
        assert_eq!(config.api_base.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(config.keyring_service, "com.example.timesheets");
        assert_eq!(config.prompt, None);
        assert!(!config.loopback_redirect());
        // Only discovery's word makes it "development"; an address alone does not.
        assert_eq!(
            config.provider_name(true),
            "Development sign-in (127.0.0.1:8081)"
        );
        assert_eq!(config.provider_name(false), "127.0.0.1:8081");
    }

    #[test]
    fn the_file_configures_auth0_and_the_environment_wins() {
        let file = r#"
            issuer = "https://example.eu.auth0.com/"
            client_id = "AbC123"
            audience = "https://timesheets.example.com/api"
            scopes = ["openid", "offline_access", "read:timesheets"]
            api_url = "https://timesheets.example.com"
        "#;
        let config = from(Some(file), &[("TIMESHEETS_CLIENT_ID", "FromEnv")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.issuer, "https://example.eu.auth0.com/");
        assert_eq!(config.client_id, "FromEnv");
        assert_eq!(
            config.audience.as_deref(),
            Some("https://timesheets.example.com/api")
        );
        assert_eq!(
            config.scope_param(),
            "openid offline_access read:timesheets"
        );
        assert_eq!(config.api_base.as_str(), "https://timesheets.example.com/");
        assert_eq!(config.provider_name(false), "example.eu.auth0.com");
    }

    #[test]
    fn an_empty_audience_sends_none_and_resource_is_rfc_8707() {
        let config = from(
            None,
            &[
                ("TIMESHEETS_AUDIENCE", ""),
                ("TIMESHEETS_RESOURCE", "https://api.example.com/"),
                ("TIMESHEETS_SCOPES", "openid  read:timesheets"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.audience, None);
        assert_eq!(config.resource.as_deref(), Some("https://api.example.com/"));
        assert_eq!(config.scopes, vec!["openid", "read:timesheets"]);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        assert_eq!(
            key_of(from(
                None,
                &[("TIMESHEETS_ISSUER", "http://idp.example.com/")]
            )),
            "TIMESHEETS_ISSUER"
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_ISSUER", "not a url")])),
            "TIMESHEETS_ISSUER"
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_CLIENT_ID", "  ")])),
            "TIMESHEETS_CLIENT_ID"
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_SCOPES", "")])),
            "TIMESHEETS_SCOPES"
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_SCOPES", "openid \"x\"")])),
            "TIMESHEETS_SCOPES"
        );
        assert_eq!(
            key_of(from(
                None,
                &[("TIMESHEETS_REDIRECT_URI", "https://evil.example.com/cb")]
            )),
            "TIMESHEETS_REDIRECT_URI"
        );
        assert_eq!(
            key_of(from(
                None,
                &[("TIMESHEETS_API_URL", "http://api.example.com")]
            )),
            "TIMESHEETS_API_URL"
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_RESOURCE", "no-scheme")])),
            "TIMESHEETS_RESOURCE"
        );
        let in_file = key_of(from(Some("issuer = \"ftp://x/\""), &[]));
        assert!(in_file.contains("`issuer`"), "{in_file}");
        assert!(in_file.contains("config.toml"), "{in_file}");
    }

    #[test]
    fn a_typo_in_the_file_is_refused_not_ignored() {
        let result = from(Some("isuer = \"https://x.example.com/\""), &[]);
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("isuer"), "{message}");
        assert!(message.contains("config.toml"), "{message}");
    }

    #[test]
    fn loopback_redirects_are_allowed_on_ip_literals_only() {
        let config = from(
            None,
            &[("TIMESHEETS_REDIRECT_URI", "http://127.0.0.1:53111/callback")],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.redirect_uri.port(), Some(53111));
        assert!(config.loopback_redirect());
        let v6 = from(
            None,
            &[("TIMESHEETS_REDIRECT_URI", "http://[::1]/callback")],
        );
        assert!(v6.is_ok_and(|c| c.loopback_redirect()));
        for bad in [
            "http://localhost/callback",
            "http://127.0.0.1/callback?x=1",
            "https://127.0.0.1/callback",
        ] {
            assert_eq!(
                key_of(from(None, &[("TIMESHEETS_REDIRECT_URI", bad)])),
                "TIMESHEETS_REDIRECT_URI",
                "{bad}"
            );
        }
    }

    #[test]
    fn prompt_takes_openid_values_only() {
        let config = from(Some("prompt = \"consent\""), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.prompt.as_deref(), Some("consent"));
        let both = from(None, &[("TIMESHEETS_PROMPT", " login  consent ")]);
        assert_eq!(
            both.ok().and_then(|c| c.prompt).as_deref(),
            Some("login consent")
        );
        assert_eq!(
            from(None, &[("TIMESHEETS_PROMPT", "")])
                .ok()
                .and_then(|c| c.prompt),
            None
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_PROMPT", "consnet")])),
            "TIMESHEETS_PROMPT"
        );
        assert_eq!(
            key_of(from(None, &[("TIMESHEETS_PROMPT", "none consent")])),
            "TIMESHEETS_PROMPT"
        );
    }
}

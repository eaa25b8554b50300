//! An OpenID-certified provider to test against: node-oidc-provider with the
//! project's own configuration (`tests/oidc-provider/`), as a child process on a
//! free loopback port.
//!
//! It is everything the development provider is not: its issuer has no trailing
//! slash (`http://127.0.0.1:PORT`), its access tokens carry no `name` or `email`,
//! it names the API with RFC 8707's `resource`, it asks for consent, and it issues
//! a refresh token for `offline_access` only with `prompt=consent` (OpenID Connect
//! Core §11). The app and the API must work with it by configuration alone.

use crate::oauth::Person;
use crate::process::Process;
use anyhow::{anyhow, bail, Context as _, Result};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The API's identifier at the certified provider: the `resource` the app asks
/// for and the `aud` of its access tokens.
pub const API_RESOURCE: &str = "https://timesheets.example.com/api";

/// Read, create and delete, at the certified provider.
pub const EMPLOYEE: Person = Person {
    email: "employee@example.com",
    password: "password",
    name: "Erin Employee",
    sub: "employee-0001",
};
/// All four scopes, at the certified provider.
pub const MANAGER: Person = Person {
    email: "manager@example.com",
    password: "password",
    name: "Morgan Manager",
    sub: "manager-0001",
};

/// How long the provider may take to print its issuer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running certified provider; dropping it stops it.
#[derive(Debug)]
pub struct CertifiedProvider {
    _process: Process,
    /// The issuer, exactly as in `iss`: `http://127.0.0.1:PORT`, no slash.
    pub issuer: String,
    key_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where the provider's configuration lives: `tests/oidc-provider/`.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

impl CertifiedProvider {
    /// Starts it with access tokens that live `access_ttl`, its log appended to `log`.
    pub async fn start(log: &Path, access_ttl: Duration) -> Result<CertifiedProvider> {
        let fixture = fixture_dir();
        if !fixture.join("node_modules/oidc-provider").is_dir() {
            bail!(
                "{} has no node_modules: run `npm ci` there (scripts/test does)",
                fixture.display()
            );
        }
        let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
        let key_file = dir.path().join("signing-key.json");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let mut command = Command::new("node");
        command
            .arg("provider.mjs")
            .current_dir(&fixture)
            .env("PORT", "0")
            .env("KEY_FILE", &key_file)
            .env("ACCESS_TOKEN_TTL", access_ttl.as_secs().max(1).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        let mut process = Process::spawn(command, "oidc-provider")?;
        let stdout = process
            .take_stdout()
            .ok_or_else(|| anyhow!("the provider's output was not piped"))?;
        let line = tokio::time::timeout(
            START_TIMEOUT,
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                std::io::BufReader::new(stdout)
                    .read_line(&mut line)
                    .map(|_| line)
            }),
        )
        .await
        .map_err(|_| anyhow!("the provider did not start within {START_TIMEOUT:?}"))???;
        let announced: serde_json::Value =
            serde_json::from_str(line.trim()).with_context(|| {
                format!(
                    "the provider printed {line:?}, not its issuer; its log: {}",
                    log.display()
                )
            })?;
        let issuer = announced["issuer"]
            .as_str()
            .ok_or_else(|| anyhow!("the provider printed no issuer: {line:?}"))?
            .to_owned();
        Ok(CertifiedProvider {
            _process: process,
            issuer,
            key_file,
            _dir: dir,
        })
    }

    /// The provider's private signing key (a JWK), to forge a token that differs
    /// from a real one in one claim.
    pub fn signing_key(&self) -> Result<serde_json::Value> {
        let text = std::fs::read_to_string(&self.key_file)
            .with_context(|| format!("cannot read {}", self.key_file.display()))?;
        serde_json::from_str(&text).context("the signing key is not JSON")
    }

    /// The app's settings for this provider, for `client_id`'s registration:
    /// the issuer as it writes it, the API as a `resource`, and `prompt=consent`
    /// so that `offline_access` brings a refresh token.
    pub fn app_env(&self, client_id: &str, redirect_uri: &str) -> Vec<(String, String)> {
        [
            ("TIMESHEETS_ISSUER", self.issuer.as_str()),
            ("TIMESHEETS_CLIENT_ID", client_id),
            ("TIMESHEETS_REDIRECT_URI", redirect_uri),
            ("TIMESHEETS_AUDIENCE", ""),
            ("TIMESHEETS_RESOURCE", API_RESOURCE),
            ("TIMESHEETS_PROMPT", "consent"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

//! `timesheets-server` as a separate process, the way people run it: the API and
//! the development identity provider on free loopback ports, with a data directory
//! of the test's own.

use crate::process::{free_port, Process};
use anyhow::{anyhow, bail, Context as _, Result};
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use url::Url;

/// How long the server may take to answer `/healthz` on both listeners (it makes
/// an RSA signing key on first start).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The `timesheets-server` binary.
    pub binary: PathBuf,
    /// `--data-dir`: the SQLite file, the signing key, refresh tokens. Starting a
    /// second server on the same directory finds the first one's data.
    pub data_dir: PathBuf,
    /// Where its output goes (appended, so restarts keep one log).
    pub log: PathBuf,
    /// `--users`: a TOML file of development users instead of the built-in three.
    pub users: Option<PathBuf>,
    /// Trust this provider instead of starting the development one.
    pub trust: Option<Trust>,
    /// `--database-url`, instead of the SQLite file in the data directory.
    pub database_url: Option<String>,
    /// The API's and the provider's ports, to start again where a killed server
    /// was (its tokens name the provider's address); free ones when `None`.
    pub ports: Option<(u16, u16)>,
}

impl ServerOptions {
    /// The development setup: the built `binary`, its data in `data_dir` (its log
    /// beside it, in `DATA_DIR.log`), and every other option at its default.
    pub fn new(binary: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        ServerOptions {
            binary: binary.into(),
            log: data_dir.with_extension("log"),
            data_dir,
            users: None,
            trust: None,
            database_url: None,
            ports: None,
        }
    }
}

/// An external provider for the API to trust (`--issuer`, `--audience`).
#[derive(Debug, Clone)]
pub struct Trust {
    /// `--issuer`, exactly as the provider writes it.
    pub issuer: String,
    /// `--audience`: the API identifier in its access tokens.
    pub audience: String,
}

/// A running `timesheets-server`; dropping it stops it.
#[derive(Debug)]
pub struct Server {
    process: Process,
    /// The API's root URL, e.g. `http://127.0.0.1:PORT/`.
    pub api_url: Url,
    /// The issuer the API trusts, exactly as in `iss`: the development
    /// provider's `http://127.0.0.1:PORT/` (trailing slash included), or the
    /// external one's as given.
    pub issuer: String,
    /// Whether the development provider runs beside the API.
    development: bool,
    log: PathBuf,
}

impl Server {
    /// Starts the server and waits until both listeners answer `GET /healthz`.
    ///
    /// It runs with `RUST_LOG=info` and no colours, so its log says, line by line,
    /// each API request and each sign-in and code exchange at the provider.
    pub async fn start(options: &ServerOptions) -> Result<Server> {
        if !options.binary.is_file() {
            bail!(
                "{} is missing: build it first with `cargo build -p timesheets-server`",
                options.binary.display()
            );
        }
        let (api_port, idp_port) = match options.ports {
            Some(ports) => ports,
            None => (free_port()?, free_port()?),
        };
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&options.log)
            .with_context(|| format!("cannot open {}", options.log.display()))?;
        writeln!(
            log,
            "==== timesheets-server: API on {api_port}, identity provider on {idp_port}"
        )?;
        let mut command = Command::new(&options.binary);
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{api_port}"))
            .arg("--idp-listen")
            .arg(format!("127.0.0.1:{idp_port}"))
            .arg("--data-dir")
            .arg(&options.data_dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TIMESHEETS_") {
                command.env_remove(name);
            }
        }
        if let Some(users) = &options.users {
            command.arg("--users").arg(users);
        }
        if let Some(url) = &options.database_url {
            command.arg("--database-url").arg(url);
        }
        if let Some(trust) = &options.trust {
            command
                .args(["--issuer", &trust.issuer])
                .args(["--audience", &trust.audience]);
        }
        let process = Process::spawn(command, "timesheets-server")?;
        let server = Server {
            process,
            api_url: Url::parse(&format!("http://127.0.0.1:{api_port}/"))?,
            issuer: match &options.trust {
                Some(trust) => trust.issuer.clone(),
                None => format!("http://127.0.0.1:{idp_port}/"),
            },
            development: options.trust.is_none(),
            log: options.log.clone(),
        };
        server.wait_until_healthy().await
    }

    async fn wait_until_healthy(mut self) -> Result<Server> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + START_TIMEOUT;
        let mut bases = vec![self.api_url.clone()];
        if self.development {
            bases.push(Url::parse(&self.issuer)?);
        }
        for base in bases {
            let health = base.join("healthz")?;
            loop {
                if let Some(status) = self.process.exited() {
                    bail!(
                        "timesheets-server ended ({status}) before it was ready; its log:\n{}",
                        self.log_text()
                    );
                }
                match http.get(health.clone()).send().await {
                    Ok(response) if response.status().is_success() => break,
                    _ if Instant::now() > deadline => {
                        return Err(anyhow!(
                        "{health} did not answer within {START_TIMEOUT:?}; the server's log:\n{}",
                        self.log_text()
                    ))
                    }
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
        Ok(self)
    }

    /// Everything the server has written so far (all starts on this log).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where the log is.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Stops the server (SIGTERM, then SIGKILL) and waits for it.
    pub fn stop(mut self) {
        self.process.stop();
    }

    /// Kills the server outright (SIGKILL), as a crash or a power cut would,
    /// and waits for it to be gone.
    pub fn kill(mut self) {
        self.process.kill();
    }

    /// The API's and the provider's ports, to start again on them.
    pub fn ports(&self) -> (u16, u16) {
        let issuer_port = Url::parse(&self.issuer).ok().and_then(|u| u.port());
        (self.api_url.port().unwrap_or(0), issuer_port.unwrap_or(0))
    }
}

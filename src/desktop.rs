//! One test's desktop: the real app in a real window, driven through WebDriver.
//!
//! The chain is the one tauri-driver documents: this test → tauri-driver (one per
//! app start, on free ports) → WebKitWebDriver → the debug build of the app. The
//! app's settings are environment variables set on tauri-driver, which hands its
//! environment down to WebKitWebDriver and so to the app.
//!
//! A [`Desktop`] is claimed at the start of each test. It checks that a display, a
//! D-Bus session and an unlocked keyring are there (failing with what to run when
//! not), takes the desktop lock (see [`Desktop::claim`]), and gives the test its
//! own keyring service, config/data/cache directories and log folder
//! (`test-output/logs/<test>/`: the server's, the driver's and the app's output, the
//! test browser's log, and a screenshot of any wait that timed out).

use crate::certified::CertifiedProvider;
use crate::keyring;
use crate::oauth::Person;
use crate::process::{adopt_orphans, free_port, Process};
use crate::server::{Server, ServerOptions, Trust};
use anyhow::{anyhow, bail, Context as _, Result};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use std::fs::OpenOptions;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a wait for the window may take before the test fails. Generous: a
/// cold WebKit start on a busy two-core machine takes several seconds.
pub const WAIT: Duration = Duration::from_secs(30);

/// How long the second start of the app (delivering a link) may take to hand the
/// link over and exit.
const LINK_TIMEOUT: Duration = Duration::from_secs(20);

/// One app window at a time on the whole machine's D-Bus session: the app is a
/// single instance per session (tauri-plugin-single-instance), so a second test's
/// app would hand itself over to the first and exit. Tests take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The workspace root (this package is the workspace's root package).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `test-output/` at the workspace root (git-ignored).
pub fn output_dir() -> PathBuf {
    workspace_root().join("test-output")
}

/// The programs a desktop test runs.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The debug build of the app (`cargo build -p timesheets-desktop`).
    pub app: PathBuf,
    /// `timesheets-server` (`cargo build -p timesheets-server`).
    pub server: PathBuf,
    /// This package's `test-browser` example.
    pub test_browser: PathBuf,
    /// tauri-driver (`cargo install tauri-driver --locked`).
    pub tauri_driver: PathBuf,
}

impl Programs {
    /// Finds the programs: the app and the server in the target directory that
    /// holds `test_browser` (see [`crate::test_browser`]) unless
    /// `TIMESHEETS_TEST_APP` names another app binary, tauri-driver on `PATH` or
    /// in cargo's `bin`.
    pub fn find(test_browser: &Path) -> Result<Self> {
        let bin_dir = test_browser
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| anyhow!("{} has no target folder", test_browser.display()))?;
        let built = |name: &str, package: &str| -> Result<PathBuf> {
            let path = bin_dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                bail!(
                    "{} is missing: build it first (`npm --prefix ui run build` then \
                     `cargo build -p {package}`), or run scripts/test",
                    path.display()
                )
            }
        };
        let tauri_driver = on_path("tauri-driver")
            .or_else(|| {
                let cargo_home =
                    std::env::var_os("CARGO_HOME")
                        .map(PathBuf::from)
                        .or_else(|| {
                            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"))
                        })?;
                let path = cargo_home.join("bin").join("tauri-driver");
                path.is_file().then_some(path)
            })
            .ok_or_else(|| {
                anyhow!("tauri-driver is not installed: `cargo install tauri-driver --locked`")
            })?;
        if on_path("WebKitWebDriver").is_none() {
            bail!("WebKitWebDriver is not on PATH: install the Debian package webkit2gtk-driver");
        }
        // Another build of the app may stand in, for measurements of a release
        // build; its sign-in cannot be scripted (only debug builds honour the test
        // browser), so only what needs no sign-in can drive it.
        let app = match std::env::var_os("TIMESHEETS_TEST_APP").filter(|p| !p.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => built("timesheets", "timesheets-desktop")?,
        };
        Ok(Programs {
            app,
            server: built("timesheets-server", "timesheets-server")?,
            test_browser: test_browser.to_path_buf(),
            tauri_driver,
        })
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// What the scripted person in the browser does when the app opens the sign-in
/// page (see the `test-browser` binary).
#[derive(Debug, Clone, Default)]
pub struct BrowserScript {
    /// Who signs in. `None`: the browser fails loudly if the app opens it at all.
    pub person: Option<Person>,
    /// Wait, with the sign-in form loaded, until this file exists: a person who
    /// has not finished signing in yet.
    pub wait_for: Option<PathBuf>,
}

impl BrowserScript {
    /// `person` signs in straight away.
    pub fn signs_in_as(person: Person) -> Self {
        BrowserScript {
            person: Some(person),
            wait_for: None,
        }
    }

    /// Nobody is expected to sign in: the browser exits non-zero and says so in
    /// its log if the app starts it.
    pub fn unused() -> Self {
        BrowserScript::default()
    }
}

/// One test's claim on the desktop. Dropping it clears the test's keyring entry
/// and lets the next test have its turn.
pub struct Desktop {
    name: String,
    programs: Programs,
    logs: PathBuf,
    home: TempDir,
    keyring_service: String,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("name", &self.name)
            .field("keyring_service", &self.keyring_service)
            .finish_non_exhaustive()
    }
}

impl Desktop {
    /// Claims the desktop for the test `name`, after checking that a display, a
    /// D-Bus session and an unlocked Secret Service are there: without them the
    /// test fails (never skips) and says to run `scripts/test`.
    ///
    /// Waits for the tests before it to finish: the app is a single instance per
    /// D-Bus session, so tests take turns, one app at a time.
    pub async fn claim(name: &str, test_browser: &Path) -> Result<Desktop> {
        for var in ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"] {
            if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
                bail!(
                    "{var} is not set: the desktop tests need a display, a D-Bus session \
                     and an unlocked keyring. Run them with scripts/test, or \
                     `dbus-run-session -- scripts/with-desktop cargo test -p timesheets`"
                );
            }
        }
        let programs = Programs::find(test_browser)?;
        let turn = TURN.lock().await;
        adopt_orphans();

        let keyring_service = format!(
            "com.example.timesheets.test.{name}.{}.{}",
            std::process::id(),
            crate::oauth::random_text()
        );
        keyring::probe(&keyring_service)?;

        let logs = output_dir().join("logs").join(name);
        if logs.exists() {
            std::fs::remove_dir_all(&logs)
                .with_context(|| format!("cannot empty {}", logs.display()))?;
        }
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        let home = tempfile::Builder::new()
            .prefix("timesheets-e2e-")
            .tempdir()
            .context("cannot make a temporary directory")?;
        for dir in ["config", "data", "cache", "server"] {
            std::fs::create_dir_all(home.path().join(dir))?;
        }
        Ok(Desktop {
            name: name.to_owned(),
            programs,
            logs,
            home,
            keyring_service,
            _turn: turn,
        })
    }

    /// The app binary this desktop launches, to find its process.
    pub fn app_binary(&self) -> &Path {
        &self.programs.app
    }

    /// The test's keyring service (`TIMESHEETS_KEYRING_SERVICE` of its app).
    pub fn keyring_service(&self) -> &str {
        &self.keyring_service
    }

    /// The refresh token the app stored for `server`'s issuer, read with
    /// `secret-tool lookup` under the entry name the app gives it (issuer and
    /// client id need no escaping here).
    pub fn stored_refresh_token(&self, server: &Server) -> Result<Option<String>> {
        let user = format!("timesheets/2 {} timesheets-desktop", server.issuer);
        keyring::lookup(&self.keyring_service, "username", &user)
    }

    /// How many keyring items the app has under its service (`secret-tool search
    /// --all`): once signed in, the refresh token and the note of whose it is.
    pub fn stored_items(&self) -> Result<usize> {
        keyring::count(&self.keyring_service)
    }

    /// This test's log folder, `test-output/logs/<test>/`.
    pub fn logs(&self) -> &Path {
        &self.logs
    }

    /// The test browser's log: one line per thing it did (never a code or a token).
    pub fn browser_log(&self) -> String {
        std::fs::read_to_string(self.logs.join("browser.log")).unwrap_or_default()
    }

    /// What the app (and tauri-driver and WebKitWebDriver) printed, all starts
    /// of this test: the app logs each sign-in link it turns down.
    pub fn app_log(&self) -> String {
        std::fs::read_to_string(self.logs.join("driver.log")).unwrap_or_default()
    }

    /// Starts `timesheets-server` with the built-in development users, on this
    /// test's data directory (a restart finds the same data).
    pub async fn start_server(&self) -> Result<Server> {
        self.start_server_with(None).await
    }

    /// Starts `timesheets-server` with the development users in `users_toml`.
    pub async fn start_server_with_users(&self, users_toml: &str) -> Result<Server> {
        let path = self.home.path().join("users.toml");
        std::fs::write(&path, users_toml)?;
        self.start_server_with(Some(path)).await
    }

    async fn start_server_with(&self, users: Option<PathBuf>) -> Result<Server> {
        Server::start(&ServerOptions {
            binary: self.programs.server.clone(),
            data_dir: self.home.path().join("server"),
            log: self.logs.join("server.log"),
            users,
            trust: None,
            database_url: None,
            ports: None,
        })
        .await
    }

    /// Starts the certified provider (see [`crate::certified`]), its log in this
    /// test's folder, and `timesheets-server` trusting it with the issuer exactly
    /// as the provider writes it.
    pub async fn start_certified(&self) -> Result<(CertifiedProvider, Server)> {
        let provider =
            CertifiedProvider::start(&self.logs.join("provider.log"), Duration::from_secs(300))
                .await?;
        let server = Server::start(&ServerOptions {
            binary: self.programs.server.clone(),
            data_dir: self.home.path().join("server"),
            log: self.logs.join("server.log"),
            users: None,
            trust: Some(Trust {
                issuer: provider.issuer.clone(),
                audience: crate::certified::API_RESOURCE.to_owned(),
            }),
            database_url: None,
            ports: None,
        })
        .await?;
        Ok((provider, server))
    }

    /// The environment the app runs with: `server`'s addresses, the test browser,
    /// this test's keyring service, and config/data/cache directories of its own
    /// (so a developer's `~/.config/timesheets/config.toml` cannot change a test).
    fn app_env(&self, server: &Server, browser: &BrowserScript) -> Vec<(String, String)> {
        let dir = |name: &str| self.home.path().join(name).display().to_string();
        let mut env = vec![
            ("TIMESHEETS_ISSUER".to_owned(), server.issuer.to_string()),
            ("TIMESHEETS_API_URL".to_owned(), server.api_url.to_string()),
            (
                "TIMESHEETS_KEYRING_SERVICE".to_owned(),
                self.keyring_service.clone(),
            ),
            (
                "TIMESHEETS_TEST_BROWSER".to_owned(),
                self.programs.test_browser.display().to_string(),
            ),
            (
                "TEST_BROWSER_APP".to_owned(),
                self.programs.app.display().to_string(),
            ),
            (
                "TEST_BROWSER_LOG".to_owned(),
                self.logs.join("browser.log").display().to_string(),
            ),
            ("XDG_CONFIG_HOME".to_owned(), dir("config")),
            ("XDG_DATA_HOME".to_owned(), dir("data")),
            ("XDG_CACHE_HOME".to_owned(), dir("cache")),
            ("RUST_LOG".to_owned(), "info".to_owned()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        if let Some(person) = browser.person {
            env.push(("TEST_BROWSER_EMAIL".to_owned(), person.email.to_owned()));
            env.push((
                "TEST_BROWSER_PASSWORD".to_owned(),
                person.password.to_owned(),
            ));
        }
        if let Some(file) = &browser.wait_for {
            env.push((
                "TEST_BROWSER_WAIT_FOR".to_owned(),
                file.display().to_string(),
            ));
        }
        env
    }

    /// Starts the app against `server` in a new WebDriver session, with `browser`
    /// as the person at the sign-in page, and waits for its window to show a screen.
    pub async fn launch(&self, server: &Server, browser: &BrowserScript) -> Result<App> {
        self.launch_with_env(server, browser, &[]).await
    }

    /// [`Desktop::launch`] with more environment for the app (e.g. another
    /// `TIMESHEETS_AUDIENCE`), set after and over the test's own.
    pub async fn launch_with_env(
        &self,
        server: &Server,
        browser: &BrowserScript,
        extra_env: &[(&str, &str)],
    ) -> Result<App> {
        let port = free_port()?;
        let native_port = free_port()?;
        let log_path = self.logs.join("driver.log");
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        writeln!(
            log,
            "==== tauri-driver on {port} (WebKitWebDriver on {native_port}); the app's output follows"
        )?;
        let mut command = Command::new(&self.programs.tauri_driver);
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (name, _) in std::env::vars_os() {
            let name_text = name.to_string_lossy();
            if name_text.starts_with("TIMESHEETS_") || name_text.starts_with("TEST_BROWSER_") {
                command.env_remove(&name);
            }
        }
        command.envs(self.app_env(server, browser));
        command.envs(extra_env.iter().copied());
        let mut driver = Process::spawn(command, "tauri-driver")?;

        // Wait for tauri-driver to listen.
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = driver.exited() {
                bail!("tauri-driver ended ({status}); see {}", log_path.display());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("tauri-driver did not listen on {port} within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let application = self.programs.app.to_str().ok_or_else(|| {
            anyhow!(
                "the app's path {} is not UTF-8",
                self.programs.app.display()
            )
        })?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), "wry".into());
        capabilities.insert(
            "tauri:options".to_owned(),
            serde_json::json!({ "application": application }),
        );
        // Both of rustls's crypto back ends are built in (see Cargo.toml): choose
        // one for the process. Failing means one is already chosen, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .context("cannot set up the WebDriver client's TLS")?
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot open a WebDriver session for the app ({e}); see {}",
                    log_path.display()
                )
            })?;
        let app = App {
            client: Some(client),
            driver,
            logs: self.logs.clone(),
            failures: AtomicUsize::new(0),
        };
        // The front end is up once it shows either the sign-in screen or the header.
        app.poll("the app's first screen", || {
            let client = app.client.clone();
            async move {
                let Some(client) = client else {
                    return Ok(None);
                };
                let found = client
                    .find_all(Locator::Css(
                        "[data-testid=\"sign-in\"], [data-testid=\"cancel-sign-in\"], [data-testid=\"user-name\"]",
                    ))
                    .await?;
                Ok((!found.is_empty()).then_some(()))
            }
        })
        .await?;
        Ok(app)
    }

    /// Starts the app binary a second time with `link` as its only argument, as
    /// the OS does when a browser follows a `com.example.timesheets:` link. The
    /// single-instance plugin hands the link to the running app and this second
    /// process exits; it failing to exit means it became a second app (no D-Bus
    /// session), which is an error.
    pub async fn open_link(&self, link: &str) -> Result<()> {
        let dir = |name: &str| self.home.path().join(name);
        let mut command = Command::new(&self.programs.app);
        command
            .arg(link)
            .env("XDG_CONFIG_HOME", dir("config"))
            .env("XDG_DATA_HOME", dir("data"))
            .env("XDG_CACHE_HOME", dir("cache"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        let log_path = self.logs.join("links.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        command.stdout(log.try_clone()?).stderr(log);
        let mut second = Process::spawn(command, "the app's second start")?;
        let deadline = Instant::now() + LINK_TIMEOUT;
        loop {
            if let Some(status) = second.exited() {
                if status.success() {
                    return Ok(());
                }
                bail!(
                    "the app's second start (delivering a link) ended with {status}; see {}",
                    log_path.display()
                );
            }
            if Instant::now() > deadline {
                second.stop();
                bail!(
                    "the app's second start did not hand its link over and exit within \
                     {LINK_TIMEOUT:?}: is there a D-Bus session?"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // Tokens of a finished test have no business staying in the keyring.
        let _ = keyring::clear(&self.keyring_service);
    }
}

/// The running app, through one WebDriver session. Dropping it ends the app;
/// [`App::close`] does so gracefully (ending the WebDriver session first).
pub struct App {
    client: Option<Client>,
    driver: Process,
    logs: PathBuf,
    failures: AtomicUsize,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("driver", &self.driver.id())
            .finish_non_exhaustive()
    }
}

/// Whether WebDriver says a click did not happen, so trying again is safe.
fn click_not_done(error: &fantoccini::error::CmdError) -> bool {
    use fantoccini::error::{CmdError, ErrorStatus};
    matches!(
        error,
        CmdError::Standard(e) if matches!(
            e.error,
            ErrorStatus::ElementClickIntercepted
                | ErrorStatus::StaleElementReference
                | ErrorStatus::ElementNotInteractable
        )
    )
}

/// The CSS selector of a `data-testid`.
pub fn testid(id: &str) -> String {
    let escaped = id.replace('\\', "\\\\").replace('"', "\\\"");
    format!("[data-testid=\"{escaped}\"]")
}

impl App {
    fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .ok_or_else(|| anyhow!("the WebDriver session is closed"))
    }

    /// Polls `check` until it gives `Some`, for up to [`WAIT`]. A WebDriver error
    /// counts as "not yet" (the page may be re-rendering) and is reported if time
    /// runs out, together with a screenshot in the test's log folder.
    async fn poll<T, F, Fut>(&self, what: &str, mut check: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("nothing yet");
        loop {
            match check().await {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(error) => last = format!("{error:#}"),
            }
            if Instant::now() > deadline {
                let shot = self.failure_screenshot().await;
                bail!("timed out after {WAIT:?} waiting for {what} (last: {last}); {shot}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn failure_screenshot(&self) -> String {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.logs.join(format!("timeout-{n}.png"));
        match self.client() {
            Ok(client) => match client.screenshot().await {
                Ok(png) if std::fs::write(&path, &png).is_ok() => {
                    format!("the window then: {}", path.display())
                }
                _ => "no screenshot could be taken".to_owned(),
            },
            Err(_) => "no session for a screenshot".to_owned(),
        }
    }

    /// Waits for the element with `data-testid` = `id` to be on the page.
    pub async fn find(&self, id: &str) -> Result<Element> {
        let client = self.client()?.clone();
        let selector = testid(id);
        self.poll(&format!("{id} to appear"), || {
            let client = client.clone();
            let selector = selector.clone();
            async move {
                let found = client.find_all(Locator::Css(&selector)).await?;
                Ok(found.into_iter().next())
            }
        })
        .await
    }

    /// Whether an element with `data-testid` = `id` is on the page now.
    pub async fn exists(&self, id: &str) -> Result<bool> {
        let found = self.client()?.find_all(Locator::Css(&testid(id))).await?;
        Ok(!found.is_empty())
    }

    /// Waits for `id` to leave the page.
    pub async fn wait_gone(&self, id: &str) -> Result<()> {
        let client = self.client()?.clone();
        let selector = testid(id);
        self.poll(&format!("{id} to go away"), || {
            let client = client.clone();
            let selector = selector.clone();
            async move {
                let found = client.find_all(Locator::Css(&selector)).await?;
                Ok(found.is_empty().then_some(()))
            }
        })
        .await
    }

    /// The text of `id` as shown (waits for it to appear), trimmed.
    pub async fn text(&self, id: &str) -> Result<String> {
        Ok(self.find(id).await?.text().await?.trim().to_owned())
    }

    /// Waits until `id`'s trimmed text is `expected`.
    pub async fn wait_text(&self, id: &str, expected: &str) -> Result<()> {
        self.wait_text_where(id, &format!("{expected:?}"), |text| text == expected)
            .await
            .map(drop)
    }

    /// Waits until `id`'s trimmed text contains `part`; returns the whole text.
    pub async fn wait_text_contains(&self, id: &str, part: &str) -> Result<String> {
        self.wait_text_where(id, &format!("text containing {part:?}"), |text| {
            text.contains(part)
        })
        .await
    }

    async fn wait_text_where(
        &self,
        id: &str,
        wanted: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let client = self.client()?.clone();
        let selector = testid(id);
        let accept = &accept;
        self.poll(&format!("{id} to show {wanted}"), || {
            let client = client.clone();
            let selector = selector.clone();
            async move {
                let element = client.find(Locator::Css(&selector)).await?;
                let text = element.text().await?.trim().to_owned();
                if accept(&text) {
                    Ok(Some(text))
                } else {
                    Err(anyhow!("{id} shows {text:?}"))
                }
            }
        })
        .await
    }

    /// `id`'s attribute `name` (waits for the element).
    pub async fn attr(&self, id: &str, name: &str) -> Result<Option<String>> {
        Ok(self.find(id).await?.attr(name).await?)
    }

    /// Waits until `id`'s attribute `name` is `expected`.
    pub async fn wait_attr(&self, id: &str, name: &str, expected: &str) -> Result<()> {
        let client = self.client()?.clone();
        let selector = testid(id);
        self.poll(&format!("{id}'s {name} to be {expected:?}"), || {
            let client = client.clone();
            let selector = selector.clone();
            async move {
                let element = client.find(Locator::Css(&selector)).await?;
                let value = element.attr(name).await?;
                if value.as_deref() == Some(expected) {
                    Ok(Some(()))
                } else {
                    Err(anyhow!("{id}'s {name} is {value:?}"))
                }
            }
        })
        .await
    }

    /// Whether `id` is enabled (waits for the element).
    pub async fn is_enabled(&self, id: &str) -> Result<bool> {
        Ok(self.find(id).await?.is_enabled().await?)
    }

    /// Waits for `id` to be there and enabled, then clicks it. A click that
    /// WebDriver reports as not done (another element on top, or the element
    /// replaced by a re-render) is tried again until [`WAIT`] runs out.
    pub async fn click(&self, id: &str) -> Result<()> {
        let client = self.client()?.clone();
        let selector = testid(id);
        let deadline = Instant::now() + WAIT;
        loop {
            let element = self
                .poll(&format!("{id} to be enabled"), || {
                    let client = client.clone();
                    let selector = selector.clone();
                    async move {
                        let element = client.find(Locator::Css(&selector)).await?;
                        Ok(element.is_enabled().await?.then_some(element))
                    }
                })
                .await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(error) if click_not_done(&error) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => {
                    let shot = self.failure_screenshot().await;
                    bail!("cannot click {id}: {error:?}; {shot}");
                }
            }
        }
    }

    /// Types `text` into the (empty) field `id` as a person would, key by key.
    pub async fn type_into(&self, id: &str, text: &str) -> Result<()> {
        let element = self.editable(id).await?;
        element.click().await?;
        element
            .send_keys(text)
            .await
            .with_context(|| format!("cannot type into {id}"))
    }

    /// Replaces what the grid cell `id` holds with `text`, then presses `key`
    /// (Enter saves and moves down, Tab saves on leaving the cell).
    pub async fn enter_in_cell(&self, id: &str, text: &str, key: Key) -> Result<()> {
        let element = self.editable(id).await?;
        let old = element.prop("value").await?.unwrap_or_default();
        element.click().await?;
        // End, then one Backspace per character: the same keys a person would use,
        // whatever the click did to the selection.
        let mut keys = String::new();
        keys.push(char::from(Key::End));
        for _ in old.chars() {
            keys.push(char::from(Key::Backspace));
        }
        keys.push_str(text);
        keys.push(char::from(key));
        element
            .send_keys(&keys)
            .await
            .with_context(|| format!("cannot type into {id}"))
    }

    /// Waits for the input `id` to accept typing (there, enabled, not read-only).
    async fn editable(&self, id: &str) -> Result<Element> {
        let client = self.client()?.clone();
        let selector = testid(id);
        self.poll(&format!("{id} to accept typing"), || {
            let client = client.clone();
            let selector = selector.clone();
            async move {
                let element = client.find(Locator::Css(&selector)).await?;
                let read_only = element.prop("readOnly").await?;
                let ready = element.is_enabled().await? && read_only.as_deref() != Some("true");
                Ok(ready.then_some(element))
            }
        })
        .await
    }

    /// The text of the elements `id`'s `aria-describedby` points at: what a
    /// screen reader says about a control, e.g. why it is disabled.
    pub async fn described_by(&self, id: &str) -> Result<String> {
        self.find(id).await?;
        let script = "const el = document.querySelector(arguments[0]);\n\
                      const ids = ((el && el.getAttribute('aria-describedby')) || '').split(/\\s+/);\n\
                      return ids.filter(Boolean)\n\
                        .map((i) => (document.getElementById(i) || {}).textContent || '')\n\
                        .join(' ').trim();";
        let value = self
            .client()?
            .execute(script, vec![testid(id).into()])
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits for the page to settle: nothing `aria-busy` (loading, saving), two
    /// animation frames painted, and a short pause. A screenshot taken right
    /// after a click can otherwise show the page before the click.
    pub async fn settle(&self) -> Result<()> {
        let client = self.client()?.clone();
        self.poll("the page to settle", || {
            let client = client.clone();
            async move {
                let busy = client
                    .find_all(Locator::Css("[aria-busy=\"true\"]"))
                    .await?;
                Ok(busy.is_empty().then_some(()))
            }
        })
        .await?;
        let frames = "const done = arguments[arguments.length - 1];\n\
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        self.client()?.execute_async(frames, vec![]).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    }

    /// Saves a screenshot of the window as `test-output/screenshots/<name>.png`
    /// after the page settles; returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        self.settle().await?;
        let png = self.client()?.screenshot().await?;
        let dir = output_dir().join("screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// Runs `script` in the page (for checks a `data-testid` cannot express).
    pub async fn execute(&self, script: &str) -> Result<serde_json::Value> {
        Ok(self.client()?.execute(script, vec![]).await?)
    }

    /// Runs `script` in the page with `args`; answers what the script passes to
    /// its last argument, a callback (for what takes frames, such as a timing).
    pub async fn execute_async(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        Ok(self.client()?.execute_async(script, args).await?)
    }

    /// Ends the WebDriver session (which ends the app), then tauri-driver.
    pub async fn close(mut self) -> Result<()> {
        let closed = match self.client.take() {
            Some(client) => client.close().await.map_err(anyhow::Error::from),
            None => Ok(()),
        };
        self.driver.stop();
        closed.context("cannot end the WebDriver session")
    }
}

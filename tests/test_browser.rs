//! The `test-browser` binary on its own, headless (no display, no keyring): it
//! signs in at a real `timesheets-server` and hands the link to whatever program
//! `TEST_BROWSER_APP` names — here a small script that writes the link down — and
//! it fails loudly when it should.

use anyhow::{ensure, Context as _, Result};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use timesheets::oauth::{self, Pkce, ALL_SCOPES};
use timesheets::server::{Server, ServerOptions};
use timesheets::EMPLOYEE;

fn test_browser() -> std::path::PathBuf {
    timesheets::test_browser()
}

/// A server of its own in `dir`, found next to `test-browser` in the target directory.
async fn server(dir: &Path) -> Result<Server> {
    let binary = test_browser()
        .parent()
        .and_then(Path::parent)
        .context("test-browser has no target folder")?
        .join("timesheets-server");
    Server::start(&ServerOptions {
        binary,
        data_dir: dir.join("server"),
        log: dir.join("server.log"),
        users: None,
        trust: None,
        database_url: None,
        ports: None,
    })
    .await
}

/// A stand-in for the app: writes its only argument to `link.txt` beside itself.
fn fake_app(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("fake-app");
    let out = dir.join("link.txt");
    std::fs::write(
        &path,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", out.display()),
    )?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

fn run(url: &str, env: &[(&str, &str)]) -> Result<Output> {
    let mut command = Command::new(test_browser());
    command.arg(url);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TEST_BROWSER_") {
            command.env_remove(name);
        }
    }
    Ok(command.envs(env.iter().copied()).output()?)
}

#[tokio::test]
async fn it_signs_in_and_hands_the_link_to_the_app() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = server(dir.path()).await?;
    let discovery = oauth::discover(&server.issuer).await?;
    let pkce = Pkce::new();
    let url = oauth::authorize_url(&discovery, &pkce, "state-123", ALL_SCOPES);
    let app = fake_app(dir.path())?;
    let log = dir.path().join("browser.log");

    let output = run(
        url.as_str(),
        &[
            ("TEST_BROWSER_EMAIL", EMPLOYEE.email),
            ("TEST_BROWSER_PASSWORD", EMPLOYEE.password),
            ("TEST_BROWSER_APP", &app.display().to_string()),
            ("TEST_BROWSER_LOG", &log.display().to_string()),
        ],
    )?;
    ensure!(
        output.status.success(),
        "test-browser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let link = url::Url::parse(&std::fs::read_to_string(dir.path().join("link.txt"))?)?;
    ensure!(link.scheme() == "com.example.timesheets", "{link}");
    let param = |name: &str| {
        link.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    ensure!(param("state").as_deref() == Some("state-123"), "{link}");
    ensure!(
        param("iss").as_deref() == Some(server.issuer.as_str()),
        "{link}"
    );
    let code = param("code").context("no code in the link")?;
    let (status, body) = oauth::redeem(&discovery, &code, &pkce.verifier).await?;
    ensure!(status.is_success(), "the code did not redeem: {body}");

    // The log says what happened, and never the code or the state.
    let logged = std::fs::read_to_string(&log)?;
    ensure!(
        logged.contains("signed in as employee@example.com"),
        "{logged}"
    );
    ensure!(
        logged.contains("handed com.example.timesheets:/oauth/callback to the app"),
        "{logged}"
    );
    ensure!(
        !logged.contains(&code) && !logged.contains("state-123"),
        "{logged}"
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_fails_loudly_and_starts_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = server(dir.path()).await?;
    let discovery = oauth::discover(&server.issuer).await?;
    let url = oauth::authorize_url(&discovery, &Pkce::new(), "s", ALL_SCOPES);
    let app = fake_app(dir.path())?;
    let output = run(
        url.as_str(),
        &[
            ("TEST_BROWSER_EMAIL", EMPLOYEE.email),
            ("TEST_BROWSER_PASSWORD", "wrong"),
            ("TEST_BROWSER_APP", &app.display().to_string()),
        ],
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(!output.status.success(), "test-browser succeeded");
    ensure!(
        stderr.contains("Email or password is incorrect"),
        "{stderr}"
    );
    ensure!(!dir.path().join("link.txt").exists(), "the app was started");
    Ok(())
}

#[test]
fn without_a_person_to_sign_in_it_fails_loudly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("browser.log");
    let output = run(
        "http://127.0.0.1:9/authorize?state=s",
        &[("TEST_BROWSER_LOG", &log.display().to_string())],
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(!output.status.success(), "test-browser succeeded");
    ensure!(stderr.contains("TEST_BROWSER_EMAIL is not set"), "{stderr}");
    let logged = std::fs::read_to_string(&log)?;
    ensure!(
        logged.contains("failed: TEST_BROWSER_EMAIL is not set"),
        "{logged}"
    );

    let usage = Command::new(test_browser()).output()?;
    ensure!(!usage.status.success());
    ensure!(String::from_utf8_lossy(&usage.stderr).contains("usage: test-browser"));
    Ok(())
}

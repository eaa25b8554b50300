//! The `timesheets-server` binary as an operator meets it: start-up mistakes are
//! reported on one line with a failing exit code (never a panic or a backtrace),
//! an unreachable external issuer does not stop it from starting, and SIGTERM
//! stops it cleanly.

mod common;

use common::configure;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary with free ports, a fresh data directory, and none of the
/// environment variables an outer shell might have set.
fn server(data: &tempfile::TempDir) -> (Command, u16, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_timesheets-server"));
    let (api, idp) = configure(&mut command, data.path());
    command.env("RUST_BACKTRACE", "1").env("RUST_LOG", "info");
    (command, api, idp)
}

/// Runs a server that is expected to refuse to start; gives up after a minute.
fn refused(mut command: Command) -> (Output, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("timesheets-server starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("timesheets-server kept running with a bad configuration");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "exit code: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    (output, stderr)
}

/// The status code of `GET path` with optional extra header lines, or `None`
/// when nothing listens.
fn get(port: u16, path: &str, headers: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

fn wait_healthy(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while get(port, "/healthz", "") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "port {port} never became healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_unreachable_database_is_named_not_panicked_over() {
    let data = tempfile::tempdir().expect("temp dir");
    // Port 1 on loopback: nothing listens, so the connection is refused.
    let (mut command, _, _) = server(&data);
    command.env(
        "DATABASE_URL",
        "postgres://app:s3cret@127.0.0.1:1/timesheets",
    );
    let (_, stderr) = refused(command);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("timesheets-server: "))
        .unwrap_or_else(|| panic!("no error line in:\n{stderr}"));
    assert!(
        line.contains("cannot open the API's database postgres://app:redacted@127.0.0.1:1/"),
        "{line}"
    );
    assert!(line.contains("cannot reach the database"), "{line}");
    assert!(line.to_lowercase().contains("refused"), "{line}");
    assert!(!stderr.contains("s3cret"), "the password is never printed");
}

#[test]
fn a_bad_database_url_is_named() {
    let data = tempfile::tempdir().expect("temp dir");
    let (mut command, _, _) = server(&data);
    command.args(["--database-url", "mysql://db/timesheets"]);
    let (_, stderr) = refused(command);
    assert!(
        stderr.contains("the database URL must start with sqlite: or postgres://"),
        "{stderr}"
    );
}

#[test]
fn a_bad_users_file_names_the_file_and_field() {
    let data = tempfile::tempdir().expect("temp dir");
    let users = data.path().join("users.toml");
    std::fs::write(
        &users,
        "[[users]]\nsub = \"dev|ada\"\nemail = \"ada@example.com\"\nname = \"Ada\"\n\
         password = \"pw\"\nscopes = [\"read:timesheet\"]\n",
    )
    .expect("write users");
    let (mut command, _, _) = server(&data);
    command.arg("--users").arg(&users);
    let (output, stderr) = refused(command);
    assert!(stderr.contains(&users.display().to_string()), "{stderr}");
    assert!(stderr.contains("field `scopes`"), "{stderr}");
    assert!(stderr.contains("read:timesheet"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("Timesheet API:"),
        "nothing is served"
    );

    let missing = data.path().join("nobody.toml");
    let (mut command, _, _) = server(&data);
    command.arg("--users").arg(&missing);
    let (_, stderr) = refused(command);
    assert!(stderr.contains("cannot read users file"), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}

#[test]
fn an_unreachable_issuer_does_not_delay_start_up() {
    let data = tempfile::tempdir().expect("temp dir");
    let (mut command, api, idp) = server(&data);
    // Port 9 (discard) on loopback: nothing listens.
    command.args(["--issuer", "http://127.0.0.1:9/", "--audience", "api"]);
    let started = Instant::now();
    let _server = Running(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("timesheets-server starts"),
    );
    wait_healthy(api, Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(get(idp, "/healthz", ""), None, "no development provider");

    let path = "/v1/entries?from=2026-11-23&to=2026-11-29";
    assert_eq!(get(api, path, ""), Some(401), "no token");
    // A well-formed token whose keys cannot be fetched: "try again", not "bad token".
    let token = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln";
    let auth = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(get(api, path, &auth), Some(503));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_it_cleanly() {
    let data = tempfile::tempdir().expect("temp dir");
    let (mut command, api, idp) = server(&data);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("timesheets-server starts");
    wait_healthy(api, Duration::from_secs(30));
    wait_healthy(idp, Duration::from_secs(30));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("timesheets-server ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}\n{stderr}", output.status);
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert_eq!(get(api, "/healthz", ""), None, "the API port is closed");
    assert_eq!(
        get(idp, "/healthz", ""),
        None,
        "the provider's port is closed"
    );

    // The start-up banner said where everything is.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "Development identity provider: http://127.0.0.1:{idp}/"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Timesheet API: http://127.0.0.1:{api}")),
        "{stdout}"
    );
    assert!(stdout.contains("employee@example.com"), "{stdout}");
}

#[test]
fn a_wrong_issuer_is_named_at_start_up() {
    // A real provider to point at: the development one of another server.
    let provider_data = tempfile::tempdir().expect("temp dir");
    let (mut command, _, provider) = server(&provider_data);
    let _provider = Running(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("timesheets-server starts"),
    );
    wait_healthy(provider, Duration::from_secs(30));
    let issuer = format!("http://127.0.0.1:{provider}/");

    // Its issuer without the slash it writes: discovery names another issuer.
    let without_slash = issuer.trim_end_matches('/');
    // A path where nothing is published.
    let nowhere = format!("{issuer}realms/acme");
    for (wrong, says) in [
        (without_slash, "names the issuer"),
        (nowhere.as_str(), "404"),
    ] {
        let data = tempfile::tempdir().expect("temp dir");
        let (mut command, _, _) = server(&data);
        command.args(["--issuer", wrong, "--audience", "timesheets-api"]);
        let (_, stderr) = refused(command);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("timesheets-server:"))
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].contains("--issuer (TIMESHEETS_ISSUER)"),
            "{stderr}"
        );
        assert!(lines[0].contains(says), "{stderr}");
    }

    // Exactly as the provider writes it: the server starts.
    let data = tempfile::tempdir().expect("temp dir");
    let (mut command, api, _) = server(&data);
    command.args(["--issuer", &issuer, "--audience", "timesheets-api"]);
    let _server = Running(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("timesheets-server starts"),
    );
    wait_healthy(api, Duration::from_secs(30));
}

/// The status and body of `GET path`, or `None` when nothing answers.
fn get_page(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// A valid authorize request for the desktop app: the sign-in page.
const SIGN_IN_PAGE: &str = "/authorize?response_type=code&client_id=timesheets-desktop\
    &redirect_uri=com.example.timesheets%3A%2Foauth%2Fcallback&scope=openid&state=s\
    &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

/// Starts the server, reads its sign-in page, stops it; returns the page and
/// everything it printed on standard output.
fn sign_in_page_and_banner(mut command: Command, api: u16, idp: u16) -> (String, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("timesheets-server starts");
    wait_healthy(api, Duration::from_secs(30));
    wait_healthy(idp, Duration::from_secs(30));
    let page = get_page(idp, SIGN_IN_PAGE);
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    let (status, page) = page.expect("the sign-in page answers");
    assert_eq!(status, 200, "{page}");
    (page, String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn a_users_file_is_never_printed_nor_listed() {
    let data = tempfile::tempdir().expect("temp dir");
    let users = data.path().join("users.toml");
    std::fs::write(
        &users,
        "[[users]]\nsub = \"corp|ada\"\nemail = \"ada.lovelace@example.org\"\nname = \"Ada Lovelace\"\n\
         password = \"Tr0ub4dor&3-real\"\nscopes = [\"read:timesheets\"]\n",
    )
    .expect("write users");
    let (mut command, api, idp) = server(&data);
    command.arg("--users").arg(&users);
    let (page, stdout) = sign_in_page_and_banner(command, api, idp);
    for secret in ["Tr0ub4dor&3-real", "Tr0ub4dor&amp;3-real"] {
        assert!(!stdout.contains(secret), "password printed:\n{stdout}");
        assert!(!page.contains(secret), "password on the page:\n{page}");
    }
    assert!(!stdout.contains("ada.lovelace"), "user printed:\n{stdout}");
    assert!(!page.contains("ada.lovelace"), "user listed:\n{page}");
    assert!(!page.contains("Ada Lovelace"), "user listed:\n{page}");
    assert!(!page.contains("employee@example.com"), "{page}");
    assert!(
        stdout.contains("Development users: 1 from ") && stdout.contains("(not shown)"),
        "{stdout}"
    );

    // Without a file, the built-in users and their public password are shown.
    let data = tempfile::tempdir().expect("temp dir");
    let (command, api, idp) = server(&data);
    let (page, stdout) = sign_in_page_and_banner(command, api, idp);
    for email in [
        "employee@example.com",
        "manager@example.com",
        "auditor@example.com",
    ] {
        assert!(stdout.contains(email), "{stdout}");
        assert!(page.contains(email), "{page}");
    }
    assert!(stdout.contains(r#"password "password""#), "{stdout}");
    assert!(page.contains("Development users"), "{page}");
}

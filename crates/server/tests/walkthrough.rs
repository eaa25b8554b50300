//! The README's sign-in walk-through, run word for word against the real
//! `timesheets-server` binary: if the documentation drifts from the server, this fails.

mod common;

use common::free_port;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const README: &str = include_str!("../../../README.md");

/// The first `sh` block after the walk-through's heading.
fn walkthrough_script() -> String {
    let section = README
        .split("## One sign-in with PKCE, by hand")
        .nth(1)
        .expect("README has the walk-through section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the walk-through has a sh block");
    block.to_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn healthy(url: &str) -> bool {
    Command::new("curl")
        .args(["-fsS", "-o", "/dev/null", url])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn the_readme_walkthrough_signs_in_and_calls_the_api() {
    let data = tempfile::tempdir().expect("temp dir");
    let (api_port, idp_port) = (free_port(), free_port());
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_timesheets-server"))
            .args(["--listen", &format!("127.0.0.1:{api_port}")])
            .args(["--idp-listen", &format!("127.0.0.1:{idp_port}")])
            .arg("--data-dir")
            .arg(data.path())
            .env_remove("DATABASE_URL")
            .env_remove("TIMESHEETS_ISSUER")
            .env_remove("TIMESHEETS_AUDIENCE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("timesheets-server starts"),
    );
    let api = format!("http://127.0.0.1:{api_port}");
    let idp = format!("http://127.0.0.1:{idp_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(healthy(&format!("{api}/healthz")) && healthy(&format!("{idp}/healthz"))) {
        assert!(Instant::now() < deadline, "the server never became healthy");
        std::thread::sleep(Duration::from_millis(100));
    }

    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &walkthrough_script()])
        .env("IDP", &idp)
        .env("API", &api)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "walk-through failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("com.example.timesheets:/oauth/callback?code="),
        "{stdout}"
    );
    assert!(stdout.contains("state=abc123"), "{stdout}");
    assert!(stdout.contains(r#""status":"draft""#), "{stdout}");
    assert!(stdout.contains(r#"{"entries":[{"#), "{stdout}");
    assert!(stdout.contains(r#""owner":"dev|employee""#), "{stdout}");
}

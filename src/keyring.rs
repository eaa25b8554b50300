//! The OS keyring as the person's desktop sees it, read with `secret-tool`
//! (libsecret's command line) rather than through the app's own code, so a test
//! checks what really landed in the Secret Service.
//!
//! The app files its refresh token under attribute `service` = its keyring
//! service name (`TIMESHEETS_KEYRING_SERVICE`); each test uses a service of its
//! own so tests never see each other's tokens.

use anyhow::{bail, Context as _, Result};
use std::io::Write as _;
use std::process::{Command, Stdio};

/// The secret stored under `service` whose attribute `name` is `value` (the
/// app's entries carry their user name as `username`), or `None` when there is none.
pub fn lookup(service: &str, name: &str, value: &str) -> Result<Option<String>> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", service, name, value])
        .stdin(Stdio::null())
        .output()
        .context("cannot run secret-tool (Debian package libsecret-tools)")?;
    let secret = String::from_utf8(output.stdout).context("the stored secret is not UTF-8")?;
    if output.status.success() && !secret.is_empty() {
        Ok(Some(secret.trim_end_matches('\n').to_owned()))
    } else if output.stderr.is_empty() {
        // secret-tool exits 1 with nothing to say when nothing matches.
        Ok(None)
    } else {
        bail!(
            "secret-tool lookup failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
    }
}

/// How many items are stored under `service` (`secret-tool search --all`).
pub fn count(service: &str) -> Result<usize> {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .stdin(Stdio::null())
        .output()
        .context("cannot run secret-tool (Debian package libsecret-tools)")?;
    // Each item starts with its object path in brackets (`[/1]`, or the full
    // `/org/freedesktop/secrets/…` path on older libsecret) on stdout, followed by
    // its label, secret and dates; the attributes go to stderr. Only the headers
    // are looked at, and the text is dropped here: it holds the secret.
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("[/") && line.ends_with(']'))
        .count())
}

/// Removes everything stored under `service`.
pub fn clear(service: &str) -> Result<()> {
    // The exit status is not checked: clearing nothing exits 1 on some versions.
    Command::new("secret-tool")
        .args(["clear", "service", service])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run secret-tool (Debian package libsecret-tools)")?;
    Ok(())
}

/// Stores and removes a throw-away item under `service`, to tell early and in
/// plain words when no unlocked Secret Service answers (the app would then keep
/// its session in memory only, and the restart tests would fail obscurely).
pub fn probe(service: &str) -> Result<()> {
    let mut child = Command::new("secret-tool")
        .args([
            "store",
            "--label=timesheets test probe",
            "service",
            service,
            "probe",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run secret-tool (Debian package libsecret-tools)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"probe")?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "no unlocked Secret Service answered (secret-tool store: {}); run the tests \
             through scripts/test, which starts gnome-keyring in a D-Bus session",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let found = lookup(service, "probe", "1")?;
    clear(service)?;
    if found.as_deref() != Some("probe") {
        bail!("the Secret Service did not keep a test item; is the keyring unlocked?");
    }
    Ok(())
}

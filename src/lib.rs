//! The end-to-end test harness of Timesheets.
//!
//! The tests in `tests/` drive the real desktop app in a real window, against the
//! real `timesheets-server`, through the OS keyring and a scripted person in a
//! browser — the way people use it, with nothing mocked. This library holds what
//! they share:
//!
//! - [`server`]: `timesheets-server` as a process on free loopback ports with a
//!   data directory of its own, ready once both `/healthz` answer;
//! - [`desktop`]: one test's claim on the desktop ([`desktop::Desktop`]) and the
//!   app window through tauri-driver and WebDriver ([`desktop::App`]): wait for a
//!   `data-testid`, read and click it, type into a grid cell, take a screenshot;
//! - [`browser`]: the person's browser at the identity provider's sign-in page,
//!   shared with the `test-browser` binary the app starts in place of the system
//!   browser (`TIMESHEETS_TEST_BROWSER`, honoured by debug builds only);
//! - [`certified`]: an OpenID-certified provider (node-oidc-provider) as a child
//!   process, for the tests that prove the app and the API work with a provider
//!   that is not their own;
//! - [`oauth`] and [`api`]: the provider and the API over HTTP, to put data in
//!   place and to check what the app did (a revoked refresh token, decided entries);
//! - [`keyring`]: the Secret Service as `secret-tool` sees it;
//! - [`process`]: child processes that end, with everything they started, when
//!   dropped.
//!
//! The desktop tests need a display, a D-Bus session and an unlocked keyring:
//! `scripts/test` provides them (`dbus-run-session -- scripts/with-desktop …`).

pub mod api;
pub mod browser;
pub mod certified;
pub mod desktop;
pub mod keyring;
pub mod oauth;
pub mod process;
pub mod server;

pub use desktop::{App, BrowserScript, Desktop};
pub use oauth::{Person, AUDITOR, EMPLOYEE, MANAGER};
pub use server::Server;

/// The `test-browser` program, built by `cargo test` as an example of this package.
///
/// It is an example rather than a binary so that the package's only binary is the
/// app's: Tauri's bundler reads this (root) manifest to find what to package.
pub fn test_browser() -> std::path::PathBuf {
    target_dir()
        .join("examples")
        .join(format!("test-browser{}", std::env::consts::EXE_SUFFIX))
}

/// The `timesheets-server` binary built beside the tests.
pub fn server_binary() -> std::path::PathBuf {
    target_dir().join(format!("timesheets-server{}", std::env::consts::EXE_SUFFIX))
}

/// The profile's target folder (`target/debug/`) the running test was built in.
fn target_dir() -> std::path::PathBuf {
    // A test runs from target/<profile>/deps/; examples sit beside deps/.
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

//! What every test of the binary needs: free ports, and the binary told to use
//! them, a data directory, and nothing an outer shell might have set.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Points `command` (the binary, or a shell that execs it with the arguments
/// that follow) at free ports for the API and the provider and at `data`, and
/// removes every setting the environment could add; returns the two ports.
#[allow(dead_code)]
pub fn configure(command: &mut Command, data: &Path) -> (u16, u16) {
    let (api, idp) = (free_port(), free_port());
    command
        .args(["--listen", &format!("127.0.0.1:{api}")])
        .args(["--idp-listen", &format!("127.0.0.1:{idp}")])
        .arg("--data-dir")
        .arg(data);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TIMESHEETS_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    (api, idp)
}

//! Child processes that are always cleaned up: each runs in its own process group,
//! and dropping its [`Process`] ends the whole group.
//!
//! A group rather than a pid, because tauri-driver starts WebKitWebDriver, which
//! starts the app: killing only tauri-driver would leave the app running, holding
//! the single-instance D-Bus name that the next test's app needs.

use anyhow::{Context as _, Result};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long a process may take to stop after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// A running child process and everything it started.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
    stopped: bool,
}

impl Process {
    /// Starts `command` as the leader of a new process group.
    pub fn spawn(mut command: Command, name: &str) -> Result<Self> {
        command.process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name} ({:?})", command.get_program()))?;
        Ok(Process {
            child,
            name: name.to_owned(),
            stopped: false,
        })
    }

    /// The leader's standard output, when it was piped and not taken yet.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The leader's process id (also the group's id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The leader's exit status if it has ended, without waiting.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks the whole group to stop (SIGTERM), then forces it (SIGKILL) after a
    /// grace period, and reaps the leader. Safe to call more than once.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = self.group();
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && group_alive(group) {
            // Reap the leader as soon as it ends, so the group check can see it gone.
            let _ = self.child.try_wait();
            reap_group(group);
            std::thread::sleep(Duration::from_millis(50));
        }
        if group_alive(group) {
            eprintln!("{} did not stop on SIGTERM; killing it", self.name);
            signal_group(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
        // Members orphaned by the leader may take a moment to go.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && group_alive(group) {
            reap_group(group);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the whole group at once (SIGKILL), with no chance to clean up,
    /// and reaps it.
    pub fn kill(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = self.group();
        signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && group_alive(group) {
            reap_group(group);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn group(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).unwrap_or(libc::pid_t::MAX)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no
    // memory of ours. The group is one this process created and has not reaped.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// Makes this process adopt the orphans of its children's groups (Linux's child
/// subreaper), so that when tauri-driver ends first, the WebKitWebDriver and app it
/// leaves behind are reaped here instead of lingering as zombies under an init
/// that may never reap them (containers). Harmless to call more than once.
pub fn adopt_orphans() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers and changes only
    // this process's attribute.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Reaps every member of `group` that has ended and was adopted by this process.
fn reap_group(group: libc::pid_t) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`, a local.
        let pid = unsafe { libc::waitpid(-group, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
    }
}

/// Whether any process of the group is still there (zombies included, which is
/// why callers bound their waits).
fn group_alive(group: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    unsafe { libc::kill(-group, 0) == 0 }
}

/// A free TCP port on 127.0.0.1, as the OS hands one out. The port is released
/// before it is returned, so another process could take it first; the OS does not
/// hand the same port out again at once, which is enough for tests.
pub fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

//! Idle and slow connections cannot take the `timesheets-server` binary from
//! others: a crowd of silent and trickling clients on either port, beyond the
//! process's open-file limit, does not stop a new client from being answered at
//! once; a request head that never ends and a kept-alive connection that sends
//! nothing more are closed on time; and only when every connection is answering a
//! request is a new one turned away, quickly.
#![cfg(unix)]

mod common;

use common::configure;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How quickly a new client must be answered despite the crowd.
const ANSWERED_WITHIN: Duration = Duration::from_secs(2);

/// The tests here count seconds: run them one at a time so that they do not
/// slow each other down.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Server {
    child: Child,
    api: u16,
    idp: u16,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with free ports, a fresh data directory and `args`, its
/// open-file limit (soft and hard) lowered to `open_files` when given, and waits
/// until both ports answer.
fn start(open_files: Option<u32>, args: &[&str]) -> Server {
    let data = tempfile::tempdir().expect("temp dir");
    let binary = env!("CARGO_BIN_EXE_timesheets-server");
    let mut command = match open_files {
        // `ulimit -n` sets both limits; `exec` keeps the process id.
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(binary);
            sh
        }
        None => Command::new(binary),
    };
    let (api, idp) = configure(&mut command, data.path());
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let server = Server {
        child: command.spawn().expect("timesheets-server starts"),
        api,
        idp,
        _data: data,
    };
    for port in [api, idp] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(port, "/healthz").map(|(status, _)| status) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "port {port} never became healthy"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    #[cfg(target_os = "linux")]
    if let Some(limit) = open_files {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id()))
            .expect("the server's limits");
        let line = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .expect("an open-file limit");
        let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
        assert_eq!(numbers, [limit.to_string(), limit.to_string()], "{line}");
    }
    server
}

/// The status of `GET path` on a new connection and how long the answer took, or
/// `None` when no answer came within [`ANSWERED_WITHIN`].
fn get(port: u16, path: &str) -> Option<(u16, Duration)> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(ANSWERED_WITHIN)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    // A timed-out read keeps what came; a complete answer ends with the close.
    let _ = stream.read_to_end(&mut response);
    let status = String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)?
        .parse()
        .ok()?;
    Some((status, started.elapsed()))
}

/// Connections that trickle a request head, one byte a second, never finishing it,
/// until dropped.
struct Tricklers {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Tricklers {
    fn start(port: u16, count: usize) -> Self {
        let mut streams = connect_many(port, count);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".repeat(10);
            for byte in head.iter().cycle() {
                for stream in &mut streams {
                    // The server may close any of them: that is its right.
                    let _ = stream.write_all(&[*byte]);
                }
                for _ in 0..10 {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Tricklers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connections that connect and send nothing.
fn silent(port: u16, count: usize) -> Vec<TcpStream> {
    connect_many(port, count)
}

/// Up to `count` connections to `port`: fewer when the server stops taking them
/// in (a server out of file descriptors leaves its backlog full, and the kernel
/// then ignores new ones), which is itself the crowd's doing.
fn connect_many(port: u16, count: usize) -> Vec<TcpStream> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let streams: Vec<TcpStream> = (0..count)
        .map_while(|_| TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok())
        .collect();
    if streams.len() < count {
        eprintln!(
            "port {port} took {} of {count} connections, then no more",
            streams.len()
        );
    }
    streams
}

/// 2N silent and N trickling connections on each port, with N the server's
/// per-listener connection limit: 6N connections in all, well over its open-file
/// limit. A new client on either port is still answered within two seconds.
fn crowd_both_ports_then_ask(server: &Server, n: usize) {
    let mut crowd = Vec::new();
    let mut tricklers = Vec::new();
    for port in [server.api, server.idp] {
        crowd.push(silent(port, 2 * n));
        tricklers.push(Tricklers::start(port, n));
    }
    // Let the trickle begin and the server take in the crowd.
    std::thread::sleep(Duration::from_millis(1500));
    for (port, path) in [
        (server.api, "/healthz"),
        (server.idp, "/.well-known/openid-configuration"),
    ] {
        let answer = get(port, path);
        eprintln!("GET {path} on port {port} amid the crowd: {answer:?}");
        let (status, took) =
            answer.unwrap_or_else(|| panic!("GET {path} was not answered within 2 s"));
        assert_eq!(status, 200, "GET {path}");
        assert!(took < ANSWERED_WITHIN, "GET {path} took {took:?}");
    }
}

#[test]
fn a_crowd_beyond_the_open_file_limit_cannot_lock_others_out() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // No flags: the limit derived from 256 open files is (256 - 128) / 2 = 64.
    let server = start(Some(256), &[]);
    crowd_both_ports_then_ask(&server, 64);
}

#[test]
fn max_connections_makes_room_and_turns_away_only_when_all_are_answering() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(Some(256), &["--max-connections", "8"]);
    crowd_both_ports_then_ask(&server, 8);

    // Eight requests whose bodies never come fill the provider's eight slots
    // with work in flight: there is nothing idle to close for a ninth.
    let busy: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", server.idp)).expect("connect");
            stream
                .write_all(
                    b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\n\
                      Content-Length: 100\r\n\r\ngrant_type=",
                )
                .expect("send a head");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let answer = get(server.idp, "/.well-known/openid-configuration");
    eprintln!("a ninth client while eight requests are in flight: {answer:?}");
    match answer {
        // Turned away at once, or closed before the answer could be read.
        Some((503, took)) => assert!(took < ANSWERED_WITHIN, "{took:?}"),
        None => {}
        Some(other) => panic!("a ninth connection was served: {other:?}"),
    }
    let started = Instant::now();
    let mut refused = TcpStream::connect(("127.0.0.1", server.idp)).expect("connect");
    refused
        .set_read_timeout(Some(ANSWERED_WITHIN))
        .expect("timeout");
    let mut rest = Vec::new();
    match refused.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the turned-away connection stayed open: {e}"),
    }
    assert!(started.elapsed() < ANSWERED_WITHIN);
    // The API's own slots are untouched.
    assert_eq!(get(server.api, "/healthz").map(|(s, _)| s), Some(200));

    // One client goes away: its slot frees and the next client is served.
    drop(busy);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        get(server.idp, "/.well-known/openid-configuration").map(|(s, _)| s),
        Some(200)
    );
}

/// How long after `since` the server closed `stream`, or `None` if it was still
/// open after `within`.
fn closed_after(stream: &mut TcpStream, since: Instant, within: Duration) -> Option<Duration> {
    stream
        .set_read_timeout(Some(within.saturating_sub(since.elapsed())))
        .ok()?;
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(since.elapsed()),
            Err(_) => return None,
        }
    }
}

/// Sends `GET /healthz` on a kept-alive connection and reads the whole answer.
fn ask_kept_alive(stream: &mut TcpStream) -> u16 {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("send");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut response = Vec::new();
    let mut buf = [0; 1024];
    loop {
        let read = stream.read(&mut buf).expect("an answer");
        assert!(read > 0, "closed before answering");
        response.extend_from_slice(&buf[..read]);
        let text = String::from_utf8_lossy(&response).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a content length");
            if body.len() >= length {
                return head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("a status");
            }
        }
    }
}

#[test]
fn unfinished_heads_and_idle_keep_alives_are_closed_on_time() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(None, &["--header-read-timeout", "1", "--idle-timeout", "3"]);
    let within = Duration::from_secs(8);

    // A connection that sends nothing at all, on either port.
    let mut checks = Vec::new();
    for port in [server.api, server.idp] {
        checks.push(std::thread::spawn(move || {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let since = Instant::now();
            ("silent", closed_after(&mut stream, since, within))
        }));
    }
    // A head that stops half-way.
    let api = server.api;
    checks.push(std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", api)).expect("connect");
        let since = Instant::now();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .expect("send");
        ("half a head", closed_after(&mut stream, since, within))
    }));
    // A head trickled a byte every 200 ms, for ever: busy, but never done.
    checks.push(std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", api)).expect("connect");
        let since = Instant::now();
        let mut writer = stream.try_clone().expect("clone");
        std::thread::spawn(move || {
            for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: "
                .iter()
                .chain([b'a'; 1000].iter())
            {
                if writer.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        ("trickled head", closed_after(&mut stream, since, within))
    }));
    for check in checks {
        let (what, closed) = check.join().expect("check");
        eprintln!("{what}: closed after {closed:?}");
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after {within:?}"));
        assert!(
            closed >= Duration::from_millis(900) && closed < Duration::from_millis(2500),
            "{what}: closed after {closed:?}, not about the 1 s header timeout"
        );
    }

    // Kept alive: a second request after longer than the header timeout is still
    // served on the same connection; then, silent, it is closed after the idle
    // timeout, not the header one.
    let mut stream = TcpStream::connect(("127.0.0.1", server.api)).expect("connect");
    assert_eq!(ask_kept_alive(&mut stream), 200);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ask_kept_alive(&mut stream), 200);
    let since = Instant::now();
    let closed = closed_after(&mut stream, since, within);
    eprintln!("kept alive and idle: closed after {closed:?}");
    let closed = closed.unwrap_or_else(|| panic!("idle connection still open after {within:?}"));
    assert!(
        closed >= Duration::from_millis(2800) && closed < Duration::from_millis(4500),
        "idle connection closed after {closed:?}, not about the 3 s idle timeout"
    );
}

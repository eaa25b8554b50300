//! A flood of sign-in requests from one address against the real
//! `timesheets-server`: someone signing in from another address is not locked
//! out, and the server's memory stays small.
//!
//! Linux's loopback answers the whole of 127.0.0.0/8, so the flood comes from
//! 127.0.0.1 and the person from 127.0.0.2, as two machines would.

mod common;

use common::configure;
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{redirect, StatusCode};

/// Requests in the flood.
const FLOOD: usize = 20_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;
/// The most the server may use, resident, during and after the flood.
const MAX_RSS_KB: u64 = 100 * 1024;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server's resident memory in KiB, from /proc.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Starts the server with `extra` arguments; returns it and the issuer.
async fn start(data: &tempfile::TempDir, extra: &[&str]) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_timesheets-server"));
    let (_, idp) = configure(&mut command, data.path());
    command
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Running(command.spawn().expect("timesheets-server starts"));
    let issuer = format!("http://127.0.0.1:{idp}/");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let healthy = http
            .get(format!("{issuer}healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if healthy {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the provider never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, issuer)
}

/// An authorize URL with `state` and `nonce` as long as the provider accepts.
fn authorize_url(issuer: &str) -> String {
    let long = "s".repeat(512);
    format!(
        "{issuer}authorize?response_type=code&client_id=timesheets-desktop\
         &redirect_uri=com.example.timesheets%3A%2Foauth%2Fcallback\
         &scope=openid%20read%3Atimesheets&state={long}&nonce={long}\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256"
    )
}

fn form_field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in page:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("a closing quote") + start;
    html[start..end].to_owned()
}

/// Signs in as the employee from 127.0.0.2; returns where the provider sent the
/// browser.
async fn sign_in_from_another_address(issuer: &str) -> String {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let page = browser
        .get(authorize_url(issuer))
        .send()
        .await
        .expect("the sign-in page");
    assert_eq!(page.status(), StatusCode::OK, "the sign-in page opens");
    let html = page.text().await.expect("its text");
    let response = browser
        .post(format!("{issuer}authorize"))
        .form(&[
            ("request_id", form_field(&html, "request_id").as_str()),
            ("csrf", form_field(&html, "csrf").as_str()),
            ("email", "employee@example.com"),
            ("password", "password"),
        ])
        .send()
        .await
        .expect("the form posts");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// What a flood did: answers by status, the peak RSS, how long it took.
struct Flood {
    ok: u64,
    too_many: u64,
    other: u64,
    peak_rss_kb: u64,
    took: Duration,
}

/// Sends [`FLOOD`] authorize requests from 127.0.0.1, sampling the server's RSS.
async fn flood(issuer: &str, pid: u32) -> Flood {
    let http = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .local_address(IpAddr::from([127, 0, 0, 1]))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let url = authorize_url(issuer);
    let (ok, too_many, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_kb(pid)));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..CONCURRENCY {
        let (http, url) = (http.clone(), url.clone());
        let (ok, too_many, other) = (ok.clone(), too_many.clone(), other.clone());
        workers.push(tokio::spawn(async move {
            for _ in (worker..FLOOD).step_by(CONCURRENCY) {
                let counter = match http.get(&url).send().await {
                    Ok(response) => {
                        let status = response.status();
                        // Read the page, as a browser would.
                        let _ = response.bytes().await;
                        match status {
                            StatusCode::OK => &ok,
                            StatusCode::TOO_MANY_REQUESTS => &too_many,
                            _ => &other,
                        }
                    }
                    Err(_) => &other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for worker in workers {
        worker.await.expect("a flood worker");
    }
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let flood = Flood {
        ok: ok.load(Ordering::Relaxed),
        too_many: too_many.load(Ordering::Relaxed),
        other: other.load(Ordering::Relaxed),
        peak_rss_kb: peak.load(Ordering::Relaxed).max(rss_kb(pid)),
        took,
    };
    eprintln!(
        "flood of {FLOOD}: {} ok, {} too many, {} other in {:.1} s; RSS peak {} KiB",
        flood.ok,
        flood.too_many,
        flood.other,
        flood.took.as_secs_f64(),
        flood.peak_rss_kb
    );
    flood
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_locks_nobody_else_out() {
    // With the default limits the flood is mostly refused with 429 ...
    let data = tempfile::tempdir().expect("temp dir");
    let (server, issuer) = start(&data, &[]).await;
    let pid = server.0.id();
    eprintln!("server RSS at start: {} KiB", rss_kb(pid));
    let result = flood(&issuer, pid).await;
    assert!(result.too_many > 19_000, "the rate limit answered 429");
    assert_eq!(result.other, 0, "every request was answered 200 or 429");
    let location = sign_in_from_another_address(&issuer).await;
    assert!(location.contains("code="), "{location}");
    assert!(
        result.peak_rss_kb < MAX_RSS_KB,
        "RSS {} KiB",
        result.peak_rss_kb
    );
    drop(server);

    // ... and with the rate out of the way, every request gets a sign-in page
    // while the waiting sign-ins stay bounded: the flood displaces only its own.
    let data = tempfile::tempdir().expect("temp dir");
    let (server, issuer) = start(&data, &["--idp-authorize-per-minute", "1000000"]).await;
    let pid = server.0.id();
    let result = flood(&issuer, pid).await;
    assert_eq!(result.ok, FLOOD as u64, "never refused, never 503");
    let location = sign_in_from_another_address(&issuer).await;
    assert!(location.contains("code="), "{location}");
    assert!(
        result.peak_rss_kb < MAX_RSS_KB,
        "RSS {} KiB",
        result.peak_rss_kb
    );
    assert!(
        result.took < Duration::from_secs(60),
        "took {:?}",
        result.took
    );
}

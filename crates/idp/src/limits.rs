//! Limits that keep the provider usable on a shared machine, and keep passwords
//! from a `--users` file out of reach of guessing.
//!
//! - [`Limits`] is the configuration: requests per minute per client address for
//!   `/authorize`, the sign-in form and the token endpoint; how many sign-ins may
//!   wait; how many wrong passwords a sign-in and an account may take.
//! - [`ClientAddr`] is the extractor that names who is asking: the TCP peer's
//!   address, from axum's `ConnectInfo<SocketAddr>`.
//! - [`RateLimit`] answers "may this address ask again now?" with `governor`'s
//!   keyed GCRA limiter, and says how long to wait when not (`Retry-After`).
//! - [`Accounts`] backs off per account after repeated wrong passwords, whichever
//!   sign-in or address they came from.
//!
//! The pending-sign-in bounds live with the pending sign-ins, in
//! [`crate::authorize`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::secret::digest;

/// The longest `state` and `nonce` accepted from an app, in bytes. Both are kept
/// for every waiting sign-in and `state` is sent back on the redirect; an app needs
/// far less (the desktop app sends 43 characters).
pub(crate) const MAX_STATE_LEN: usize = 512;

/// The longest `redirect_uri` accepted, in bytes.
pub(crate) const MAX_REDIRECT_URI_LEN: usize = 2048;

/// How the provider limits each client address and each account.
///
/// The defaults suit a person (or a test suite) signing in many times a minute
/// from one machine, while stopping a script: a flood of `/authorize` requests
/// can no longer lock everyone else out, and guessing a password costs minutes
/// per handful of tries instead of milliseconds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `GET /authorize` requests per minute from one client address. This is also
    /// the burst: that many may come at once, then one more each `60 / n` seconds.
    pub authorize_per_minute: NonZeroU32,
    /// Sign-in form posts (`POST /authorize`) per minute from one client address,
    /// also the burst.
    pub sign_in_per_minute: NonZeroU32,
    /// Token and revocation requests per minute from one client address, also the
    /// burst.
    pub token_per_minute: NonZeroU32,
    /// Sign-ins that may wait for their form from one client address. Opening
    /// one more forgets that address's oldest, so a flood only ever costs its
    /// sender their own sign-ins.
    pub pending_per_client: usize,
    /// Sign-ins that may wait in all. When full, the oldest is forgotten: a new
    /// sign-in is never refused.
    pub pending_total: usize,
    /// Wrong passwords one sign-in may take. After that it is spent: even the
    /// right password is refused, and the person must start again from the app.
    pub failures_per_sign_in: u32,
    /// Wrong passwords in a row for one account (by email, known or not) before
    /// it backs off.
    pub account_failures_before_backoff: u32,
    /// The first back-off: no password is checked for that account for this long.
    /// Each further wrong password doubles it.
    pub account_backoff: Duration,
    /// The longest back-off.
    pub account_backoff_max: Duration,
}

impl Default for Limits {
    /// 60 authorize requests, 30 form posts and 120 token requests a minute per
    /// address; 50 waiting sign-ins per address and 10,000 in all; 5 wrong
    /// passwords per sign-in; per account, 5 wrong passwords then 30 s, doubling
    /// up to 15 minutes.
    fn default() -> Self {
        Self {
            authorize_per_minute: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            sign_in_per_minute: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            token_per_minute: NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN),
            pending_per_client: 50,
            pending_total: 10_000,
            failures_per_sign_in: 5,
            account_failures_before_backoff: 5,
            account_backoff: Duration::from_secs(30),
            account_backoff_max: Duration::from_secs(15 * 60),
        }
    }
}

impl Limits {
    /// Checks the limits, naming the first one that cannot work.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.pending_per_client == 0 {
            return Err("limits: pending_per_client must be at least 1".to_owned());
        }
        if self.pending_total < self.pending_per_client {
            return Err(format!(
                "limits: pending_total ({}) must be at least pending_per_client ({})",
                self.pending_total, self.pending_per_client
            ));
        }
        if self.failures_per_sign_in == 0 {
            return Err("limits: failures_per_sign_in must be at least 1".to_owned());
        }
        if self.account_failures_before_backoff == 0 {
            return Err("limits: account_failures_before_backoff must be at least 1".to_owned());
        }
        if self.account_backoff.is_zero() {
            return Err("limits: account_backoff must be longer than zero".to_owned());
        }
        if self.account_backoff_max < self.account_backoff {
            return Err("limits: account_backoff_max must be at least account_backoff".to_owned());
        }
        Ok(())
    }
}

/// Who is asking, as the limits count: the TCP peer's address.
///
/// An IPv4 address counts alone; an IPv6 address counts by its /64, the block one
/// host is usually given, so that a host cannot dodge its limit by changing its
/// interface id. When the router is served without connect info (in-process
/// tests, or a server that does not record peers), every request counts as one
/// unknown client: the limits still hold, only shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientAddr(Option<IpAddr>);

impl ClientAddr {
    /// The one client that every request without connect info counts as.
    pub(crate) const UNKNOWN: Self = Self(None);

    pub(crate) fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(Some(ip)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(Some(IpAddr::V4(v4))),
                None => {
                    let bits = u128::from(v6) & !u128::from(u64::MAX);
                    Self(Some(IpAddr::V6(Ipv6Addr::from(bits))))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Self::UNKNOWN, |ConnectInfo(addr)| Self::from_ip(addr.ip())))
    }
}

/// Above this many tracked addresses, a limiter forgets those whose allowance is
/// full again, so an address seen once costs nothing for long.
const TRACKED_ADDRESSES: usize = 4096;

/// How many checks pass between two sweeps of forgotten addresses at most.
const SWEEP_EVERY: u64 = 1024;

/// A per-address request rate (`governor`'s keyed GCRA limiter).
pub(crate) struct RateLimit {
    limiter: DefaultKeyedRateLimiter<ClientAddr>,
    checks: AtomicU64,
}

impl RateLimit {
    /// `per_minute` requests a minute per address, and as many at once.
    pub(crate) fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request from `client`: `Ok` if it may go ahead, else how long
    /// until the next one from there would be allowed.
    pub(crate) fn check(&self, client: ClientAddr) -> Result<(), Duration> {
        let count = self.checks.fetch_add(1, Ordering::Relaxed);
        if count % SWEEP_EVERY == 0 && self.limiter.len() > TRACKED_ADDRESSES {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

/// Whole seconds for `Retry-After` (RFC 9110 §10.2.3): rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// The three request rates the provider enforces per client address.
pub(crate) struct RateLimits {
    pub(crate) authorize: RateLimit,
    pub(crate) sign_in: RateLimit,
    pub(crate) token: RateLimit,
}

impl RateLimits {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            authorize: RateLimit::per_minute(limits.authorize_per_minute),
            sign_in: RateLimit::per_minute(limits.sign_in_per_minute),
            token: RateLimit::per_minute(limits.token_per_minute),
        }
    }
}

/// At most this many accounts' failures are remembered; past it, the one whose
/// last failure is oldest is forgotten first. Unknown emails are tracked like
/// known ones (so a back-off tells nothing about who exists), which is why the
/// table needs a bound.
const TRACKED_ACCOUNTS: usize = 10_000;

/// Wrong-password counts per account, for the back-off.
pub(crate) struct Accounts {
    failures_before_backoff: u32,
    backoff: Duration,
    backoff_max: Duration,
    entries: Mutex<HashMap<String, Account>>,
}

#[derive(Debug, Clone, Copy)]
struct Account {
    /// Wrong passwords in a row.
    failures: u32,
    /// When the latest one came.
    last_failure: Instant,
    /// No password is checked before this.
    locked_until: Option<Instant>,
}

impl Accounts {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            failures_before_backoff: limits.account_failures_before_backoff,
            backoff: limits.account_backoff,
            backoff_max: limits.account_backoff_max,
            entries: Mutex::default(),
        }
    }

    /// Accounts are keyed by the digest of the lower-cased email, so the table's
    /// keys are short whatever is typed.
    fn key(email: &str) -> String {
        digest(&email.trim().to_lowercase())
    }

    /// `Ok` if `email`'s password may be checked now, else how long it backs off.
    pub(crate) fn check(&self, email: &str, now: Instant) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries
            .get(&Self::key(email))
            .and_then(|account| account.locked_until)
        {
            Some(until) if now < until => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a wrong password for `email`; returns the back-off it now has, if
    /// any: `backoff` at the `failures_before_backoff`-th failure in a row,
    /// doubling with each one after, up to `backoff_max`.
    pub(crate) fn failed(&self, email: &str, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = Self::key(email);
        if !entries.contains_key(&key) && entries.len() >= TRACKED_ACCOUNTS {
            self.forget_stale(&mut entries, now);
            if entries.len() >= TRACKED_ACCOUNTS {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, account)| account.last_failure)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        let account = entries.entry(key).or_insert(Account {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        account.failures = account.failures.saturating_add(1);
        account.last_failure = now;
        let over = account.failures.checked_sub(self.failures_before_backoff)?;
        let backoff = self
            .backoff
            .checked_mul(2u32.saturating_pow(over.min(31)))
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max);
        account.locked_until = Some(now + backoff);
        Some(backoff)
    }

    /// A right password: the account starts afresh.
    pub(crate) fn succeeded(&self, email: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(&Self::key(email));
    }

    /// Forgets accounts whose last failure, or back-off, ended longer ago than the
    /// longest back-off: a person who comes back after that starts afresh.
    fn forget_stale(&self, entries: &mut HashMap<String, Account>, now: Instant) {
        entries.retain(|_, account| {
            let quiet_since = account.locked_until.map_or(account.last_failure, |until| {
                until.max(account.last_failure)
            });
            now.saturating_duration_since(quiet_since) < self.backoff_max
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn limits() -> Limits {
        Limits {
            account_failures_before_backoff: 3,
            account_backoff: Duration::from_secs(30),
            account_backoff_max: Duration::from_secs(100),
            ..Limits::default()
        }
    }

    #[test]
    fn defaults_are_valid() {
        Limits::default().validate().unwrap();
        let bad = Limits {
            pending_total: 10,
            pending_per_client: 50,
            ..Limits::default()
        };
        assert!(bad.validate().unwrap_err().contains("pending_total"));
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddr::from_ip("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddr::from_ip("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = ClientAddr::from_ip("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mapped = ClientAddr::from_ip(IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()));
        assert_eq!(mapped, ClientAddr::from_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_ne!(
            ClientAddr::from_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ClientAddr::UNKNOWN,
            "a request without connect info is not mistaken for ::1"
        );
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_says_how_long_to_wait() {
        let limit = RateLimit::per_minute(NonZeroU32::new(3).unwrap());
        let one = ClientAddr::from_ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        let two = ClientAddr::from_ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        for _ in 0..3 {
            assert_eq!(limit.check(one), Ok(()));
        }
        let wait = limit.check(one).unwrap_err();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20));
        assert_eq!(retry_after_secs(wait), wait.as_secs() + 1);
        assert_eq!(limit.check(two), Ok(()), "another address has its own");
    }

    #[test]
    fn retry_after_rounds_up_to_at_least_a_second() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn an_account_backs_off_doubling_up_to_the_cap() {
        let accounts = Accounts::new(&limits());
        let t = Instant::now();
        assert_eq!(accounts.failed("Ada@example.com", t), None);
        assert_eq!(accounts.failed("ada@example.com", t), None);
        assert_eq!(accounts.check("ada@example.com", t), Ok(()));
        assert_eq!(
            accounts.failed("ada@example.com ", t),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            accounts.check("ADA@example.com", t + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
        assert_eq!(
            accounts.check("bob@example.com", t),
            Ok(()),
            "others are untouched"
        );
        let later = t + Duration::from_secs(31);
        assert_eq!(accounts.check("ada@example.com", later), Ok(()));
        assert_eq!(
            accounts.failed("ada@example.com", later),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            accounts.failed("ada@example.com", later),
            Some(Duration::from_secs(100)),
            "capped"
        );
        accounts.succeeded("ada@example.com");
        assert_eq!(accounts.check("ada@example.com", later), Ok(()));
        assert_eq!(accounts.failed("ada@example.com", later), None);
    }
}

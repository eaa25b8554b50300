//! Access tokens already verified, so that a token seen before costs a hash and
//! a lookup instead of a signature verification (an RSA verification is the
//! largest single cost of a small request, and an app sends the same token for
//! minutes).
//!
//! Only tokens that passed every check are kept, so every refusal is exactly what
//! a full check says. A kept token is used only while it would still pass: until
//! its `exp` (with the leeway), and while the key that verified it is still the
//! one the issuer's key set holds under its `kid`; otherwise it is dropped and
//! checked in full again, which refuses it for the same reason as ever.

use super::auth::Caller;
use crate::jwks::{Jwks, VerifyKey};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many tokens are kept: a few per person signed in, with room to spare.
/// Only verified tokens get in, so nobody can fill it with forgeries.
const CAPACITY: usize = 10_000;

/// A token that passed every check, and what it may be used for until when.
pub(crate) struct Verified {
    pub(crate) caller: Caller,
    /// The last Unix second it passes at: its `exp` plus the leeway.
    pub(crate) valid_until: u64,
    /// The key it was verified with, and its `kid`.
    pub(crate) kid: String,
    pub(crate) key: Arc<VerifyKey>,
}

/// Verified tokens by the SHA-256 of the token (never the token itself).
pub(crate) struct VerifiedTokens {
    cache: quick_cache::sync::Cache<[u8; 32], Arc<Verified>>,
    /// Lookups that found nothing usable, so the token was checked in full.
    misses: AtomicU64,
}

impl VerifiedTokens {
    pub(crate) fn new() -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(CAPACITY),
            misses: AtomicU64::new(0),
        }
    }

    fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The caller of `token` when it was verified before and would pass now.
    pub(crate) fn get(&self, token: &str, now: u64, jwks: &Jwks) -> Option<Caller> {
        let digest = Self::digest(token);
        if let Some(verified) = self.cache.get(&digest) {
            if now <= verified.valid_until && jwks.holds(&verified.kid, &verified.key) {
                return Some(verified.caller.clone());
            }
            self.cache.remove(&digest);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// How many tokens had to be checked in full since start.
    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Keeps `verified` for `token`.
    pub(crate) fn insert(&self, token: &str, verified: Verified) {
        self.cache.insert(Self::digest(token), Arc::new(verified));
    }
}

//! Authorization codes: issued after sign-in, redeemed once at the token endpoint.
//!
//! A code is 256 random bits, kept in memory under its SHA-256 digest together
//! with everything the token request must match (client, redirect URI, PKCE
//! challenge) and what it grants. It lives at most `code_ttl`. Redeeming it moves
//! it to a "redeemed" record that is kept for a while longer: presenting it again
//! is a replay (RFC 6749 §4.1.2), answered with `invalid_grant` and by revoking
//! the refresh-token family that the first redemption started.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::scope::Scopes;

/// How long a redeemed code is remembered after it expired, to catch replays.
const REPLAY_MEMORY: Duration = Duration::from_secs(10 * 60);

/// At most this many codes are held; beyond it new sign-ins are refused until
/// old codes expire, so a flood of sign-ins cannot exhaust memory.
const CAPACITY: usize = 10_000;

/// What a code grants and what its redemption must match.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) sub: String,
    pub(crate) scope: Scopes,
    pub(crate) audience: String,
    pub(crate) nonce: Option<String>,
    /// When the user signed in, in Unix seconds.
    pub(crate) auth_time: i64,
    /// The refresh-token family this code will start, chosen up front so that a
    /// replay can revoke it even while the first redemption is still running.
    pub(crate) family_id: String,
}

enum State {
    Issued(Box<CodeGrant>),
    Redeemed { family_id: String, replayed: bool },
}

struct Entry {
    expires_at: Instant,
    state: State,
}

/// The outcome of presenting a code.
#[derive(Debug)]
pub(crate) enum Redemption {
    /// First use within its lifetime: here is what it grants.
    Fresh(Box<CodeGrant>),
    /// The code was issued but has expired.
    Expired,
    /// Used before: revoke `family_id`.
    Replayed { family_id: String },
    /// Never issued (or long forgotten).
    Unknown,
}

/// The issued and recently redeemed codes.
#[derive(Default)]
pub(crate) struct Codes {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Codes {
    /// Stores a code (by digest). Returns `false` when the store is full.
    pub(crate) fn issue(&self, digest: String, grant: CodeGrant, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| now < entry.expires_at + REPLAY_MEMORY);
            if entries.len() >= CAPACITY {
                return false;
            }
        }
        entries.insert(
            digest,
            Entry {
                expires_at: now + ttl,
                state: State::Issued(Box::new(grant)),
            },
        );
        true
    }

    /// Redeems a code (by digest). Any presentation spends it, even one that later
    /// fails verification, so a stolen code cannot be tried twice.
    pub(crate) fn redeem(&self, digest: &str) -> Redemption {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, entry| now < entry.expires_at + REPLAY_MEMORY);
        let Some(entry) = entries.get_mut(digest) else {
            return Redemption::Unknown;
        };
        match &mut entry.state {
            State::Redeemed {
                family_id,
                replayed,
            } => {
                *replayed = true;
                Redemption::Replayed {
                    family_id: family_id.clone(),
                }
            }
            State::Issued(grant) => {
                let family_id = grant.family_id.clone();
                let expired = now >= entry.expires_at;
                let state = std::mem::replace(
                    &mut entry.state,
                    State::Redeemed {
                        family_id,
                        replayed: false,
                    },
                );
                match state {
                    State::Issued(grant) if !expired => Redemption::Fresh(grant),
                    _ => Redemption::Expired,
                }
            }
        }
    }

    /// Whether the code was replayed since it was redeemed: checked after the
    /// first redemption stored its refresh-token family, to close the race in
    /// which the replay's revocation ran before the family existed.
    pub(crate) fn was_replayed(&self, digest: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        matches!(
            entries.get(digest),
            Some(Entry {
                state: State::Redeemed { replayed: true, .. },
                ..
            })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> CodeGrant {
        CodeGrant {
            client_id: "c".into(),
            redirect_uri: "r".into(),
            code_challenge: "x".into(),
            sub: "s".into(),
            scope: Scopes::default(),
            audience: "a".into(),
            nonce: None,
            auth_time: 0,
            family_id: "f".into(),
        }
    }

    #[test]
    fn single_use_and_replay() {
        let codes = Codes::default();
        assert!(codes.issue("d".into(), grant(), Duration::from_secs(60)));
        assert!(matches!(codes.redeem("d"), Redemption::Fresh(_)));
        assert!(!codes.was_replayed("d"));
        assert!(
            matches!(codes.redeem("d"), Redemption::Replayed { family_id } if family_id == "f")
        );
        assert!(codes.was_replayed("d"));
        assert!(matches!(codes.redeem("other"), Redemption::Unknown));
    }

    #[test]
    fn expired() {
        let codes = Codes::default();
        assert!(codes.issue("d".into(), grant(), Duration::ZERO));
        assert!(matches!(codes.redeem("d"), Redemption::Expired));
    }
}

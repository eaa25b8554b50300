//! Proof Key for Code Exchange (RFC 7636), S256 only.
//!
//! A public client cannot keep a secret, so it proves that the app redeeming a
//! code is the one that asked for it: it sends `SHA-256(verifier)` with the
//! authorize request and the verifier itself with the token request. The `plain`
//! method adds nothing against an attacker who can read the authorize request,
//! so it is refused (RFC 9700 §2.1.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The S256 code challenge of `verifier`: `BASE64URL-NO-PAD(SHA-256(verifier))`
/// (RFC 7636 §4.2). Public so tests and tools can build authorize requests.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` has RFC 7636 §4.1's shape: 43 to 128 characters of
/// `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Whether `challenge` looks like an S256 challenge: exactly 43 base64url
/// characters, the encoding of a 32-byte digest.
pub(crate) fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` hashes to `challenge`, compared in constant time.
pub(crate) fn verify(verifier: &str, challenge: &str) -> bool {
    s256_challenge(verifier)
        .as_bytes()
        .ct_eq(challenge.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(42))));
        assert!(is_valid_s256_challenge(&s256_challenge(&"a".repeat(43))));
        assert!(!is_valid_s256_challenge("abc"));
    }
}

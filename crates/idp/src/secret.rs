//! Values that must never reach a log line: tokens, codes, verifiers, passwords.
//!
//! [`Secret`] wraps such a value so that `{:?}` prints `<redacted>`. It has no
//! `Serialize`, no `Display` and no `PartialEq` on purpose: printing it or comparing
//! it in variable time becomes a compile error instead of a leak. Reach the value
//! with [`Secret::expose`] only where it is really used.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// A value that is redacted in `Debug` output.
pub(crate) struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a sensitive value.
    pub(crate) fn new(value: T) -> Self {
        Self(value)
    }

    /// The sensitive value itself. Call this only where the value is used, never to
    /// log it.
    pub(crate) fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A fresh random value of 256 bits, base64url without padding (43 characters):
/// codes, refresh tokens, form ids and CSRF tokens are all unguessable this way.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a secret, base64url. Secrets are stored and looked up by this
/// digest, so a database or memory dump holds nothing a client could replay and a
/// lookup takes no time that depends on the secret itself.
pub(crate) fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = super::random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, super::random_token());
        assert_ne!(super::digest(&a), a);
    }
}

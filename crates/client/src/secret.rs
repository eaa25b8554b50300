//! Values that must never be printed: tokens, codes, verifiers, `state` and `nonce`.
//!
//! Wrap such a value in [`Secret`] the moment it arrives. `{:?}` then prints
//! `<redacted>`, so a stray `tracing::debug!(?x)` or a derived `Debug` on a struct
//! holding it cannot leak it. It deliberately has no `Serialize` (so it can never
//! reach the web front end or a file: that is a compile error, not a panic), no
//! `Display`, and no `PartialEq` (comparing secrets must be constant time: use
//! `subtle`). Reach the value with [`Secret::expose`], only where it is really used.
//!
//! ```
//! use timesheets_client::Secret;
//! let token = Secret::new(String::from("eyJhbGciOi..."));
//! assert_eq!(format!("{token:?}"), "<redacted>");
//! assert_eq!(token.expose(), "eyJhbGciOi...");
//! ```

use std::fmt;

/// A value redacted from `Debug`, never serialized, reached only through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a sensitive value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself. Call it only where the value is sent or stored, never to log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[derive(Debug)]
    #[allow(dead_code)] // only read through Debug
    struct Holder {
        name: &'static str,
        token: Secret<String>,
    }

    #[test]
    fn debug_is_redacted_even_inside_a_derived_debug() {
        let holder = Holder {
            name: "refresh",
            token: Secret::new("rt-1234567890".to_owned()),
        };
        let printed = format!("{holder:?} {:#?}", holder);
        assert!(!printed.contains("rt-1234567890"), "{printed}");
        assert!(printed.contains("<redacted>"));
        assert_eq!(holder.token.expose(), "rt-1234567890");
    }
}

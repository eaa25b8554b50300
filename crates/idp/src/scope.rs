//! OAuth 2.0 scopes: which exist, how a `scope` parameter is read, and how a grant
//! is narrowed to what a user may have.
//!
//! The provider knows eight scopes: the four that the timesheet API enforces
//! ([`TIMESHEET_SCOPES`]) and the four of OpenID Connect sign-in and refresh
//! ([`SIGN_IN_SCOPES`]). Scopes it does not know are dropped from a request rather
//! than refused, as Auth0 does, so that a client asking for more than exists still
//! signs in with what does.

use std::collections::BTreeSet;

/// The scopes the timesheet API enforces. Users are allowed a subset of these.
pub const TIMESHEET_SCOPES: [&str; 4] = [
    "read:timesheets",
    "create:timesheets",
    "delete:timesheets",
    "approve:timesheets",
];

/// The scopes of sign-in itself, granted to every user who asks for them.
pub const SIGN_IN_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Every scope this provider knows, in the order it lists them (sign-in first).
pub fn supported() -> impl Iterator<Item = &'static str> {
    SIGN_IN_SCOPES.into_iter().chain(TIMESHEET_SCOPES)
}

/// Whether `scope` is one of the four timesheet scopes.
pub fn is_timesheet_scope(scope: &str) -> bool {
    TIMESHEET_SCOPES.contains(&scope)
}

/// A set of known scopes, kept in the provider's canonical order so that every
/// response and token lists them the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scopes(BTreeSet<usize>);

impl Scopes {
    /// Reads a space-separated `scope` parameter (RFC 6749 §3.3). Unknown scope
    /// names are dropped; a malformed one is an error naming it.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|token| !token.is_empty()) {
            // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(format!(
                    "scope {token:?} contains characters that RFC 6749 §3.3 does not allow"
                ));
            }
            if let Some(index) = supported().position(|known| known == token) {
                set.insert(index);
            }
        }
        Ok(Self(set))
    }

    /// The scopes from names already known to be valid (e.g. stored grants).
    pub(crate) fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            names
                .into_iter()
                .filter_map(|name| supported().position(|known| known == name))
                .collect(),
        )
    }

    /// The scopes `user_scopes` allows: every sign-in scope and the user's
    /// timesheet scopes.
    pub(crate) fn allowed_for(user_scopes: &[String]) -> Self {
        Self::from_names(
            SIGN_IN_SCOPES
                .into_iter()
                .chain(user_scopes.iter().map(String::as_str)),
        )
    }

    /// The scopes in both sets.
    pub(crate) fn intersection(&self, other: &Self) -> Self {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    /// Whether every scope here is also in `other`.
    pub(crate) fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether `name` is in the set.
    pub(crate) fn contains(&self, name: &str) -> bool {
        supported()
            .position(|known| known == name)
            .is_some_and(|index| self.0.contains(&index))
    }

    /// The scopes as a space-separated string, in canonical order.
    pub(crate) fn to_param(&self) -> String {
        let names: Vec<&str> = supported()
            .enumerate()
            .filter(|(index, _)| self.0.contains(index))
            .map(|(_, name)| name)
            .collect();
        names.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::Scopes;

    #[test]
    fn parse_drops_unknown_and_orders() {
        let scopes = Scopes::parse("read:timesheets  openid bogus email").unwrap();
        assert_eq!(scopes.to_param(), "openid email read:timesheets");
    }

    #[test]
    fn parse_refuses_bad_characters() {
        assert!(Scopes::parse("openid \"quoted\"").is_err());
        assert!(Scopes::parse("back\\slash").is_err());
    }

    #[test]
    fn allowed_is_sign_in_plus_user_scopes() {
        let allowed = Scopes::allowed_for(&["read:timesheets".to_owned()]);
        let requested =
            Scopes::parse("openid offline_access read:timesheets approve:timesheets").unwrap();
        assert_eq!(
            requested.intersection(&allowed).to_param(),
            "openid offline_access read:timesheets"
        );
    }
}

//! The four timesheet scopes and the set of them a token grants.
//!
//! The API decides every request by these; the desktop app only uses them to enable
//! or disable controls, so both read the same definitions from here.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A permission the authorization server can grant to the desktop app.
///
/// Only the timesheet scopes are modelled: `openid`, `profile`, `email` and
/// `offline_access` drive sign-in, not what a user may do with entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// See one's own entries.
    Read,
    /// Add entries and edit one's pending entries.
    Create,
    /// Delete one's entries that are not approved.
    Delete,
    /// See others' pending entries and approve or reject them.
    Approve,
}

impl Scope {
    /// Every timesheet scope, in the order the UI lists them.
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Create, Scope::Delete, Scope::Approve];

    /// The scope's name on the wire, as the authorization server spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read:timesheets",
            Scope::Create => "create:timesheets",
            Scope::Delete => "delete:timesheets",
            Scope::Approve => "approve:timesheets",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name given is not one of the four timesheet scopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// The timesheet scopes a token grants.
///
/// Built from a space-separated `scope` claim (RFC 6749 §3.3, RFC 9068) or from
/// Auth0's `permissions` array. Unknown names are ignored rather than refused:
/// a provider may grant scopes meant for other APIs in the same token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// No scope at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a space-separated scope string, keeping the timesheet scopes.
    pub fn from_scope_claim(claim: &str) -> Self {
        Self::from_names(claim.split(' '))
    }

    /// Keeps the timesheet scopes among `names`.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(names.into_iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// Whether `scope` was granted.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// The granted scopes, in [`Scope::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Whether nothing was granted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for Scopes {
    /// The space-separated form, as in a `scope` claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_claim_and_ignores_foreign_scopes() {
        let scopes =
            Scopes::from_scope_claim("openid read:timesheets  approve:timesheets other:thing");
        assert!(scopes.contains(Scope::Read));
        assert!(scopes.contains(Scope::Approve));
        assert!(!scopes.contains(Scope::Create));
        assert_eq!(scopes.to_string(), "read:timesheets approve:timesheets");
    }

    #[test]
    fn round_trips_every_scope() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("read:timesheet".parse::<Scope>().is_err());
    }
}

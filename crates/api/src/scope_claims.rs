//! Where a provider puts the scopes it granted, and how to read each shape.
//!
//! Providers agree on what a scope is but not on where it goes in an access token:
//!
//! | claim | shape | who sends it |
//! | --- | --- | --- |
//! | `scope` | space-separated string | RFC 9068, Auth0, Keycloak, node-oidc-provider |
//! | `scp` | JSON array of strings | Okta |
//! | `scp` | space-separated string | Microsoft Entra ID |
//! | `permissions` | JSON array of strings | Auth0 with RBAC |
//!
//! The operator picks which claims count ([`ScopeClaim`], `--scope-claims`); the
//! scopes granted are the union of those claims. A claim that is present in a
//! shape other than its own (a number, an object, an array holding a number) makes
//! the whole token invalid: a provider that sends it is not the one the API was
//! configured for, and guessing could grant too much.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use timesheets_core::Scopes;

/// A claim the API reads granted scopes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeClaim {
    /// `scope`: a space-separated string (RFC 9068 §2.2.3).
    Scope,
    /// `scp`: an array of strings (Okta) or a space-separated string (Entra ID).
    Scp,
    /// `permissions`: an array of strings (Auth0 RBAC).
    Permissions,
}

impl ScopeClaim {
    /// Every claim, in the order they are documented: the default.
    pub const ALL: [ScopeClaim; 3] = [ScopeClaim::Scope, ScopeClaim::Scp, ScopeClaim::Permissions];

    /// The claim's name in the token.
    pub const fn name(self) -> &'static str {
        match self {
            ScopeClaim::Scope => "scope",
            ScopeClaim::Scp => "scp",
            ScopeClaim::Permissions => "permissions",
        }
    }

    /// The scopes in this claim's `value`; `None` when the value has a shape this
    /// claim never takes.
    fn read(self, value: &Value) -> Option<Scopes> {
        match (self, value) {
            (ScopeClaim::Scope | ScopeClaim::Scp, Value::String(text)) => {
                Some(Scopes::from_names(text.split([' ', '\t'])))
            }
            (ScopeClaim::Scp | ScopeClaim::Permissions, Value::Array(items)) => {
                let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                names.map(Scopes::from_names)
            }
            _ => None,
        }
    }
}

impl fmt::Display for ScopeClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The claim named is not one the API knows how to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope claim {0:?}; expected some of scope, scp, permissions")]
pub struct UnknownScopeClaim(pub String);

impl FromStr for ScopeClaim {
    type Err = UnknownScopeClaim;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScopeClaim::ALL
            .into_iter()
            .find(|claim| claim.name() == s.trim())
            .ok_or_else(|| UnknownScopeClaim(s.trim().to_owned()))
    }
}

/// The claim that had an unexpected shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadShape(pub(crate) ScopeClaim);

/// The union of the scopes in `claims` (the token's payload), reading only the
/// claims in `counted`. Absent claims grant nothing; a misshapen one is an error.
pub(crate) fn granted(
    claims: &serde_json::Map<String, Value>,
    counted: &[ScopeClaim],
) -> Result<Scopes, BadShape> {
    let mut scopes = Vec::new();
    for &claim in counted {
        match claims.get(claim.name()) {
            None | Some(Value::Null) => {}
            Some(value) => scopes.extend(claim.read(value).ok_or(BadShape(claim))?.iter()),
        }
    }
    Ok(scopes.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use timesheets_core::Scope;

    fn read(payload: Value, counted: &[ScopeClaim]) -> Result<Vec<Scope>, BadShape> {
        let Value::Object(map) = payload else {
            return Ok(vec![]);
        };
        granted(&map, counted).map(|s| s.iter().collect())
    }

    #[test]
    fn every_provider_shape_is_read() {
        let all = &ScopeClaim::ALL;
        // RFC 9068 / Auth0 / Keycloak.
        assert_eq!(
            read(json!({"scope": "openid read:timesheets"}), all),
            Ok(vec![Scope::Read])
        );
        // Okta: an array.
        assert_eq!(
            read(
                json!({"scp": ["read:timesheets", "create:timesheets"]}),
                all
            ),
            Ok(vec![Scope::Read, Scope::Create])
        );
        // Entra ID: a space-separated string.
        assert_eq!(
            read(json!({"scp": "approve:timesheets read:timesheets"}), all),
            Ok(vec![Scope::Read, Scope::Approve])
        );
        // Auth0 RBAC.
        assert_eq!(
            read(json!({"permissions": ["delete:timesheets"]}), all),
            Ok(vec![Scope::Delete])
        );
        // Together: the union.
        assert_eq!(
            read(
                json!({"scope": "read:timesheets", "permissions": ["approve:timesheets"]}),
                all
            ),
            Ok(vec![Scope::Read, Scope::Approve])
        );
        assert_eq!(read(json!({}), all), Ok(vec![]));
    }

    #[test]
    fn only_the_configured_claims_count() {
        let payload = json!({"scope": "read:timesheets", "scp": ["approve:timesheets"]});
        assert_eq!(
            read(payload.clone(), &[ScopeClaim::Scope]),
            Ok(vec![Scope::Read])
        );
        assert_eq!(read(payload, &[ScopeClaim::Scp]), Ok(vec![Scope::Approve]));
        // A misshapen claim that is not counted is not looked at.
        assert_eq!(
            read(
                json!({"scope": "read:timesheets", "scp": 7}),
                &[ScopeClaim::Scope]
            ),
            Ok(vec![Scope::Read])
        );
    }

    #[test]
    fn an_unexpected_shape_is_an_error_naming_the_claim() {
        let all = &ScopeClaim::ALL;
        for (payload, claim) in [
            (json!({"scope": 42}), ScopeClaim::Scope),
            (json!({"scope": ["read:timesheets"]}), ScopeClaim::Scope),
            (json!({"scp": {"read": true}}), ScopeClaim::Scp),
            (json!({"scp": ["read:timesheets", 5]}), ScopeClaim::Scp),
            (
                json!({"permissions": "read:timesheets"}),
                ScopeClaim::Permissions,
            ),
            (json!({"permissions": true}), ScopeClaim::Permissions),
        ] {
            assert_eq!(read(payload, all), Err(BadShape(claim)));
        }
    }

    #[test]
    fn claim_names_parse_and_unknown_ones_are_named() {
        assert_eq!(" scp ".parse::<ScopeClaim>(), Ok(ScopeClaim::Scp));
        assert_eq!(
            "roles".parse::<ScopeClaim>(),
            Err(UnknownScopeClaim("roles".into()))
        );
        assert!(UnknownScopeClaim("roles".into())
            .to_string()
            .contains("scope, scp, permissions"));
    }
}

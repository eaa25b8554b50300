//! A person as the API knows them: the name and email managers see.
//!
//! Most providers put no `name` or `email` in access tokens (Auth0, Okta and
//! Entra ID do not by default), so the API would otherwise show managers only an
//! opaque `sub` such as `auth0|65f…`. The app therefore presents the ID token it
//! got at sign-in once ([`IdTokenPresentation`]); the API verifies it as strictly
//! as an access token and keeps the name it carries ([`Person`]).

use serde::{Deserialize, Serialize};

/// Who someone is, as shown on managers' screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    /// The subject at the identity provider.
    pub sub: String,
    /// The display name: from the access token when it has one, else from the
    /// last verified ID token, else the subject.
    pub name: String,
    /// The email address, when a verified token carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The body of `PUT /v1/me`: the ID token the app got at sign-in.
///
/// Its `Debug` shows no token: the value is a credential-like statement signed by
/// the provider and must not reach a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdTokenPresentation {
    /// The ID token (a JWT) exactly as the token endpoint returned it.
    pub id_token: String,
}

impl std::fmt::Debug for IdTokenPresentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenPresentation")
            .field("id_token", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presented_token_is_not_printed() {
        let body = IdTokenPresentation {
            id_token: "eyJhbGciOiJSUzI1NiJ9.secret.sig".into(),
        };
        assert!(!format!("{body:?}").contains("secret"));
    }
}

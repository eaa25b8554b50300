//! What an operator decides: which issuer to trust, for which audience, and where
//! the data lives.

use crate::ScopeClaim;
use std::time::Duration;

/// The desktop app's client id at the development provider: the `aud` of the ID
/// tokens the app presents by default.
pub const DEFAULT_CLIENT_ID: &str = "timesheets-desktop";

/// The API's settings.
///
/// Build it with [`Config::new`], which fills in the defaults, then change fields as
/// needed; every field is public so a binary can map flags and environment onto it.
///
/// Its `Debug` hides the database password, so the whole configuration can be
/// logged at start-up.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// The exact `iss` every token must carry, e.g. `http://127.0.0.1:8081/`.
    ///
    /// A string, never a parsed URL: compared byte for byte (RFC 8414 §3.3), so
    /// Auth0's `https://tenant.auth0.com/` and Okta's `https://org.okta.com` both
    /// work as written, and a token whose `iss` differs by one character, a
    /// trailing slash included, is from another issuer. Discovery is fetched from
    /// `{issuer}/.well-known/openid-configuration` with exactly one slash between.
    pub issuer: String,
    /// The identifier of this API, which must appear in a token's `aud`.
    ///
    /// This is what tells an access token meant for us from an ID token (whose
    /// audience is the client id) or a token for another API of the same tenant.
    pub audience: String,
    /// Also accept header `typ: JWT` (Auth0's default token profile, Entra ID,
    /// Keycloak) or no `typ` at all (Okta), instead of RFC 9068's `at+jwt`.
    ///
    /// Off by default: with it on, the audience check is what keeps ID tokens out.
    pub accept_jwt_typ: bool,
    /// The claims granted scopes are read from; default all of `scope`, `scp`
    /// and `permissions`. Narrow it when a provider puts something else in one of
    /// them (a claim the API does not count is never looked at).
    pub scope_claims: Vec<ScopeClaim>,
    /// The desktop app's client ids: an ID token presented at `PUT /v1/me` must be
    /// meant for one of them (`aud`). Default `timesheets-desktop`.
    pub client_ids: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 30 s.
    pub leeway: Duration,
    /// `sqlite://path?mode=rwc` (the default kind) or `postgres://…`.
    pub database_url: String,
    /// The largest request body accepted, in bytes. Default 64 KiB: an entry is a
    /// few hundred bytes, so anything near this is a mistake or an attack.
    pub max_body_bytes: usize,
    /// The least time between two fetches of the issuer's key set. Default 30 s.
    ///
    /// A token with an unknown `kid` triggers a refetch (the issuer may have
    /// rotated its keys), but a flood of forged `kid`s must not turn the API into
    /// a traffic amplifier against the issuer.
    pub jwks_refresh_interval: Duration,
    /// The most a SQLite database may grow to, in bytes; `None` (the default)
    /// for no limit but the disk's. Beyond it, writes are answered 507
    /// `storage_full` as on a full disk, and reads go on: a cap for a database
    /// that shares its disk with things that must not run out of space.
    /// PostgreSQL databases are sized by their server.
    pub max_database_bytes: Option<u64>,
    /// The hours a full week is expected to hold (0 to 168, in quarter hours),
    /// told to the app by `GET /v1/settings`. Default 40.
    pub weekly_target_hours: f64,
}

impl Config {
    /// Settings for `issuer`, `audience` and `database_url`, with every other field
    /// at its default.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        database_url: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            accept_jwt_typ: false,
            scope_claims: ScopeClaim::ALL.to_vec(),
            client_ids: vec![DEFAULT_CLIENT_ID.to_owned()],
            leeway: Duration::from_secs(30),
            database_url: database_url.into(),
            max_body_bytes: 64 * 1024,
            jwks_refresh_interval: Duration::from_secs(30),
            max_database_bytes: None,
            weekly_target_hours: timesheets_core::settings::DEFAULT_WEEKLY_TARGET_HOURS,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("accept_jwt_typ", &self.accept_jwt_typ)
            .field("scope_claims", &self.scope_claims)
            .field("client_ids", &self.client_ids)
            .field("leeway", &self.leeway)
            .field("database_url", &redact_database_url(&self.database_url))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("jwks_refresh_interval", &self.jwks_refresh_interval)
            .field("max_database_bytes", &self.max_database_bytes)
            .field("weekly_target_hours", &self.weekly_target_hours)
            .finish()
    }
}

/// A database URL fit to print: any password replaced. A URL that does not parse
/// loses its whole user-info part, as there is no telling where the password ends.
///
/// Public so the binary that prints where its data lives shows the same thing the
/// configuration's `Debug` does.
pub fn redact_database_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => match (url.split_once("://"), url.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, host))) => format!("{scheme}://redacted@{host}"),
            _ => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_printed() {
        let shown = redact_database_url("postgres://app:s3cret@db.example.com/timesheets");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("app:redacted@"), "{shown}");
        let unparsable = redact_database_url("postgres://app:s3c@ret@@:::/db");
        assert_eq!(unparsable, "postgres://redacted@:::/db");
    }

    #[test]
    fn debug_hides_the_database_password() {
        let config = Config::new("https://i/", "a", "postgres://app:hunter2@db:5432/ts");
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            printed.contains("postgres://app:redacted@db:5432/ts"),
            "{printed}"
        );
    }
}

//! Users files, defaults and configuration checks: no server needed.

use std::path::PathBuf;
use std::time::Duration;

use timesheets_idp::{default_clients, default_users, load_users, Config, Error, IdentityProvider};
use url::Url;

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("users.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn default_users_and_clients() {
    let users = default_users();
    let find = |email: &str| users.iter().find(|u| u.email == email).unwrap();
    let employee = find("employee@example.com");
    assert_eq!(employee.sub, "dev|employee");
    assert_eq!(employee.name, "Erin Employee");
    assert_eq!(
        employee.scopes,
        ["read:timesheets", "create:timesheets", "delete:timesheets"]
    );
    let manager = find("manager@example.com");
    assert_eq!(manager.sub, "dev|manager");
    assert_eq!(manager.name, "Morgan Manager");
    assert_eq!(manager.scopes.len(), 4);
    let auditor = find("auditor@example.com");
    assert_eq!(auditor.sub, "dev|auditor");
    assert_eq!(auditor.name, "Avery Auditor");
    assert_eq!(auditor.scopes, ["read:timesheets"]);
    assert!(users.iter().all(|u| u.password == "password"));

    let clients = default_clients();
    assert_eq!(clients.len(), 2);
    assert_eq!(clients[0].client_id, "timesheets-desktop");
    assert_eq!(
        clients[0].redirect_uris,
        ["com.example.timesheets:/oauth/callback"]
    );
    assert_eq!(clients[1].client_id, "timesheets-desktop-loopback");
    assert_eq!(
        clients[1].redirect_uris,
        ["http://127.0.0.1/callback", "http://[::1]/callback"]
    );
}

#[test]
fn config_defaults() {
    let config = Config::new(Url::parse("http://127.0.0.1:8081/").unwrap(), "/tmp/idp");
    assert_eq!(config.default_audience, "timesheets-api");
    assert_eq!(config.access_token_ttl, Duration::from_secs(300));
    assert_eq!(config.code_ttl, Duration::from_secs(60));
    assert_eq!(config.refresh_reuse_interval, Duration::ZERO);
    assert_eq!(
        config.refresh_absolute_lifetime,
        Duration::from_secs(30 * 24 * 3600)
    );
    assert_eq!(config.users.len(), 3);
}

#[test]
fn passwords_are_redacted_in_debug() {
    let users = default_users();
    let debug = format!("{users:?}");
    assert!(debug.contains("employee@example.com"));
    assert!(!debug.contains("\"password\""), "{debug}");
    assert!(debug.contains("<redacted>"));
    let config = Config::new(Url::parse("http://127.0.0.1:8081/").unwrap(), "/tmp/idp");
    assert!(!format!("{config:?}").contains("\"password\""));
}

#[test]
fn loads_a_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
[[users]]
sub = "dev|alice"
email = "alice@example.com"
name = "Alice"
password = "correct horse"
scopes = ["read:timesheets", "approve:timesheets"]

[[users]]
sub = "dev|bob"
email = "bob@example.com"
name = "Bob"
password = "battery staple"
scopes = []
"#,
    );
    let users = load_users(&path).unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].sub, "dev|alice");
    assert_eq!(users[0].scopes, ["read:timesheets", "approve:timesheets"]);
    assert!(users[1].scopes.is_empty());
}

#[test]
fn bad_users_files_are_named_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "missing field",
            r#"[[users]]
sub = "a"
name = "A"
password = "p"
scopes = []"#,
            "email",
        ),
        (
            "unknown scope",
            r#"[[users]]
sub = "a"
email = "a@example.com"
name = "A"
password = "p"
scopes = ["read"]"#,
            "unknown scope \"read\"",
        ),
        (
            "unknown field",
            r#"[[users]]
sub = "a"
email = "a@example.com"
name = "A"
password = "p"
scopes = []
role = "admin""#,
            "role",
        ),
        (
            "duplicate email",
            r#"[[users]]
sub = "a"
email = "a@example.com"
name = "A"
password = "p"
scopes = []
[[users]]
sub = "b"
email = "A@example.com"
name = "B"
password = "p"
scopes = []"#,
            "used twice",
        ),
        (
            "empty password",
            r#"[[users]]
sub = "a"
email = "a@example.com"
name = "A"
password = ""
scopes = []"#,
            "`password` is empty",
        ),
        ("not toml", "[[users]\nsub=", "TOML"),
        ("no users", "users = []", "no users"),
    ];
    for (case, text, needle) in cases {
        let path = write(&dir, text);
        let error = load_users(&path).expect_err(case);
        assert!(
            matches!(error, Error::InvalidUsers { .. }),
            "{case}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("users.toml"), "{case}: {message}");
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "{case}: {needle:?} not in {message}"
        );
    }
    let error = load_users(&dir.path().join("missing.toml")).unwrap_err();
    assert!(matches!(error, Error::ReadUsers { .. }));
    assert!(error.to_string().contains("missing.toml"));
}

#[tokio::test]
async fn open_refuses_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(Url::parse("http://127.0.0.1:8081/idp").unwrap(), dir.path());
    let error = IdentityProvider::open(config.clone()).await.unwrap_err();
    assert!(error.to_string().contains("must end with '/'"), "{error}");

    config.issuer = Url::parse("http://127.0.0.1:8081/").unwrap();
    config.code_ttl = Duration::ZERO;
    let error = IdentityProvider::open(config.clone()).await.unwrap_err();
    assert!(error.to_string().contains("code_ttl"), "{error}");

    config.code_ttl = Duration::from_secs(60);
    config.clients[0].redirect_uris = vec!["not a url".to_owned()];
    let error = IdentityProvider::open(config).await.unwrap_err();
    assert!(error.to_string().contains("not a url"), "{error}");
}

#[tokio::test]
async fn a_corrupt_key_file_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing-key.pem");
    std::fs::write(&key, "not a key").unwrap();
    let config = Config::new(Url::parse("http://127.0.0.1:8081/").unwrap(), dir.path());
    let error = IdentityProvider::open(config).await.unwrap_err();
    assert!(matches!(error, Error::KeyFormat { .. }), "{error:?}");
    assert!(error.to_string().contains("signing-key.pem"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "not a key");
}

//! Development users: who can sign in, with which password, and which timesheet
//! scopes each may be granted.
//!
//! Use [`default_users`] for the three built-in people (employee, manager,
//! auditor), or [`load_users`] to read a TOML file of your own:
//!
//! ```toml
//! [[users]]
//! sub = "dev|employee"
//! email = "employee@example.com"
//! name = "Erin Employee"
//! password = "password"
//! scopes = ["read:timesheets", "create:timesheets", "delete:timesheets"]
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::scope;
use crate::Error;

/// A person who can sign in to the development provider.
///
/// The password is kept in plain text because these are throw-away development
/// accounts; it is redacted from `Debug` output all the same, and compared in
/// constant time. Only the built-in users ([`default_users`]), whose password is
/// public anyway, are ever shown: a file's users may hold real passwords, so
/// they are neither printed nor listed on the sign-in page ([`User::is_listed`]).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The stable subject identifier put in `sub` (e.g. `dev|employee`); the API
    /// keys entries by it.
    pub sub: String,
    /// The email address typed on the sign-in page, and the `email` claim.
    pub email: String,
    /// The display name: the `name` claim, which the API shows.
    pub name: String,
    /// The development password (plain text: development only).
    pub password: String,
    /// The timesheet scopes this user may be granted (full names such as
    /// `read:timesheets`). Sign-in scopes (`openid`, …) are always allowed.
    pub scopes: Vec<String>,
    /// Whether this is a built-in user, whose email and password may be shown.
    /// Never read from a file, so a file's users are never shown.
    #[serde(skip)]
    listed: bool,
}

impl User {
    /// Whether this user may be shown (printed at start, listed on the sign-in
    /// page): true only for the built-in development users, whose passwords are
    /// public. Users from a file ([`load_users`]) are never shown, since their
    /// passwords may be real.
    pub fn is_listed(&self) -> bool {
        self.listed
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("sub", &self.sub)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("listed", &self.listed)
            .finish()
    }
}

/// The three built-in development users, each with the password `password`:
/// an employee (read, create, delete), a manager (all four timesheet scopes) and
/// a read-only auditor. They cover every role the app distinguishes.
pub fn default_users() -> Vec<User> {
    let user = |sub: &str, email: &str, name: &str, scopes: &[&str]| User {
        sub: sub.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        password: "password".to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        listed: true,
    };
    vec![
        user(
            "dev|employee",
            "employee@example.com",
            "Erin Employee",
            &["read:timesheets", "create:timesheets", "delete:timesheets"],
        ),
        user(
            "dev|manager",
            "manager@example.com",
            "Morgan Manager",
            &scope::TIMESHEET_SCOPES,
        ),
        user(
            "dev|auditor",
            "auditor@example.com",
            "Avery Auditor",
            &["read:timesheets"],
        ),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<User>,
}

/// Reads development users from a TOML file of `[[users]]` tables, so a team can
/// sign in as the people its tests need.
///
/// Each user needs `sub`, `email`, `name`, `password` and `scopes`. The error
/// names the file and, where it can, the user and field that are wrong: a missing
/// or unknown field, an empty value, an unknown scope, or an email or `sub` used
/// twice.
pub fn load_users(path: &Path) -> Result<Vec<User>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadUsers {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |problem: String| Error::InvalidUsers {
        path: path.to_owned(),
        problem,
    };
    let file: UsersFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    validate_users(&file.users).map_err(invalid)?;
    Ok(file.users)
}

/// Checks a list of users for the mistakes [`load_users`] reports. Returns a
/// message naming the user and field.
pub(crate) fn validate_users(users: &[User]) -> Result<(), String> {
    if users.is_empty() {
        return Err("no users: add at least one [[users]] entry".to_owned());
    }
    let mut emails = HashSet::new();
    let mut subs = HashSet::new();
    for (index, user) in users.iter().enumerate() {
        let who = format!("user #{} ({:?})", index + 1, user.email);
        for (field, value) in [
            ("sub", &user.sub),
            ("email", &user.email),
            ("name", &user.name),
            ("password", &user.password),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{who}: field `{field}` is empty"));
            }
        }
        if !user.email.contains('@') {
            return Err(format!(
                "{who}: field `email` is not an email address: {:?}",
                user.email
            ));
        }
        for granted in &user.scopes {
            if !scope::is_timesheet_scope(granted) {
                return Err(format!(
                    "{who}: field `scopes` has unknown scope {granted:?}; expected some of {}",
                    scope::TIMESHEET_SCOPES.join(", ")
                ));
            }
        }
        if !emails.insert(user.email.to_lowercase()) {
            return Err(format!("{who}: email {:?} is used twice", user.email));
        }
        if !subs.insert(user.sub.as_str()) {
            return Err(format!("{who}: sub {:?} is used twice", user.sub));
        }
    }
    Ok(())
}

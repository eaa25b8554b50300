//! The crate's one error type, and the shape the UI receives it in.
//!
//! The front end branches on [`Error::code`], a small stable set, and shows
//! [`Error`]'s message, written for the person at the screen. Internals (HTTP
//! bodies, keyring diagnostics, token endpoint replies) are logged where they
//! happen, without secrets, and never put in a message.
//!
//! ```
//! use timesheets_client::{Error, ErrorView};
//! let error = Error::Forbidden {
//!     scope: Some("approve:timesheets".into()),
//!     message: "You don't have permission to approve entries.".into(),
//! };
//! assert_eq!(error.code(), "forbidden");
//! let view = ErrorView::from(&error);
//! assert_eq!(view.scope.as_deref(), Some("approve:timesheets"));
//! ```

use serde::Serialize;

/// What went wrong, in plain words, with a stable [`code`](Error::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no session (never signed in, signed out, or the provider ended it).
    #[error("{message}")]
    SignedOut {
        /// Why, in plain words.
        message: String,
    },
    /// The session lacks a permission, or the API refused the action for this person.
    #[error("{message}")]
    Forbidden {
        /// The missing scope, when the API named one.
        scope: Option<String>,
        /// What was refused, in plain words.
        message: String,
    },
    /// The input (an entry field, a link handed to the app) is not acceptable.
    #[error("{message}")]
    Invalid {
        /// The offending field, when known.
        field: Option<String>,
        /// What is wrong, in plain words.
        message: String,
    },
    /// The action clashes with the entry's state (e.g. it is already approved).
    #[error("{message}")]
    Conflict {
        /// What clashed, in plain words.
        message: String,
    },
    /// The entry does not exist (any more).
    #[error("{message}")]
    NotFound {
        /// What was missing, in plain words.
        message: String,
    },
    /// A server could not be reached; nothing was lost and the app keeps trying.
    #[error("{message}")]
    Offline {
        /// Which server, in plain words.
        message: String,
    },
    /// The timesheet server answers but cannot verify sign-ins right now (it
    /// cannot get its issuer's keys): not this computer's network, and not the
    /// person's fault. Nothing was lost and the app keeps trying.
    #[error("{message}")]
    Unavailable {
        /// What is wrong, in plain words.
        message: String,
    },
    /// The configuration is not usable; `key` names the setting to fix.
    #[error("{message}")]
    Config {
        /// The setting: an environment variable or a key of the config file.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Anything else: a server error, an unexpected answer, a keyring failure.
    #[error("{message}")]
    Unknown {
        /// What happened, in plain words.
        message: String,
    },
}

impl Error {
    /// The stable code the front end branches on: `signed_out`, `forbidden`,
    /// `invalid`, `conflict`, `not_found`, `offline`, `unavailable` or `unknown`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::SignedOut { .. } => "signed_out",
            Error::Forbidden { .. } => "forbidden",
            Error::Invalid { .. } => "invalid",
            Error::Conflict { .. } => "conflict",
            Error::NotFound { .. } => "not_found",
            Error::Offline { .. } => "offline",
            Error::Unavailable { .. } => "unavailable",
            Error::Config { .. } | Error::Unknown { .. } => "unknown",
        }
    }

    /// A signed-out error with its reason.
    pub(crate) fn signed_out(message: impl Into<String>) -> Self {
        Error::SignedOut {
            message: message.into(),
        }
    }

    /// An offline error naming what could not be reached.
    pub(crate) fn offline(what: &str) -> Self {
        Error::Offline {
            message: format!(
                "Can't reach {what}. Check your connection; nothing was lost and the app will keep trying."
            ),
        }
    }

    /// The timesheet server cannot verify sign-ins right now.
    pub(crate) fn cannot_verify() -> Self {
        Error::Unavailable {
            message: "The timesheet server can't verify sign-ins right now. This is a problem \
                      with the server's setup, not your connection; nothing was lost and the \
                      app will keep trying."
                .into(),
        }
    }

    /// Anything else, in plain words.
    pub(crate) fn unknown(message: impl Into<String>) -> Self {
        Error::Unknown {
            message: message.into(),
        }
    }

    /// A configuration error naming its key.
    pub(crate) fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        let key = key.into();
        let message = format!("{key}: {}", message.into());
        Error::Config { key, message }
    }
}

/// The error as the front end receives it: `{code, message, field, scope}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    /// The stable code (see [`Error::code`]).
    pub code: &'static str,
    /// The sentence to show.
    pub message: String,
    /// The input field at fault, or the setting for a configuration error.
    pub field: Option<String>,
    /// The missing scope.
    pub scope: Option<String>,
}

impl From<&Error> for ErrorView {
    fn from(error: &Error) -> Self {
        let (field, scope) = match error {
            Error::Invalid { field, .. } => (field.clone(), None),
            Error::Config { key, .. } => (Some(key.clone()), None),
            Error::Forbidden { scope, .. } => (None, scope.clone()),
            _ => (None, None),
        };
        ErrorView {
            code: error.code(),
            message: error.to_string(),
            field,
            scope,
        }
    }
}

impl From<Error> for ErrorView {
    fn from(error: Error) -> Self {
        ErrorView::from(&error)
    }
}

/// Serializes as an [`ErrorView`], so a Tauri command can return `Result<T, Error>`.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ErrorView::from(self).serialize(serializer)
    }
}

impl From<timesheets_core::FieldError> for Error {
    /// A rule of `timesheets-core` refused an input before any request was sent.
    fn from(e: timesheets_core::FieldError) -> Self {
        Error::Invalid {
            field: Some(e.field.to_owned()),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_code_message_field_scope() {
        let error = Error::Invalid {
            field: Some("hours".into()),
            message: "hours: must be more than 0".into(),
        };
        let json = serde_json::to_value(&error).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "invalid",
                "message": "hours: must be more than 0",
                "field": "hours",
                "scope": null,
            })
        );
        assert_eq!(Error::config("TIMESHEETS_ISSUER", "bad").code(), "unknown");
        assert_eq!(Error::offline("x").code(), "offline");
    }
}

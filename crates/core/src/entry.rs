//! A timesheet entry and the bodies the API exchanges about it.
//!
//! Request bodies ([`NewEntry`], [`EntryPatch`]) keep their fields raw (a date is a
//! string, hours a plain number) so that [`crate::validation`] can name exactly which
//! field is wrong instead of failing on the first type mismatch.

use crate::hours::Hours;
use crate::rfc3339;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where an entry stands in its approval.
///
/// Hours are drafts until their owner submits the week; a submitted entry waits
/// for a manager, read-only, unless the owner withdraws it. A rejection makes the
/// entry the owner's to change again, and to submit again; an approval is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being filled in; only its owner sees it, and may change or delete it.
    Draft,
    /// Sent for approval; read-only until decided or withdrawn. Read from
    /// `pending` too, its name before drafts: an answer kept for an
    /// `Idempotency-Key` before then is replayed as it was written.
    #[serde(alias = "pending")]
    Submitted,
    /// Accepted by a manager; frozen.
    Approved,
    /// Sent back by a manager with a reason; the owner may change it, which makes
    /// it a draft again, or submit it again.
    Rejected,
}

impl Status {
    /// The name stored in the database and sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        }
    }

    /// Reads a stored status back; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Status::Draft),
            "submitted" => Some(Status::Submitted),
            "approved" => Some(Status::Approved),
            "rejected" => Some(Status::Rejected),
            _ => None,
        }
    }

    /// Whether the owner may change or delete an entry in this status.
    pub const fn is_editable(self) -> bool {
        matches!(self, Status::Draft | Status::Rejected)
    }
}

/// One person's hours on one project on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// Opaque identifier (a UUID).
    pub id: String,
    /// The owner's subject (`sub`) at the identity provider.
    pub owner: String,
    /// The owner's name as the identity provider gave it, for managers' screens.
    pub owner_name: String,
    /// The day worked.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(serialize_with = "rfc3339::date")]
    pub date: NaiveDate,
    /// What the time was spent on.
    pub project: String,
    /// Free text about the work.
    pub notes: String,
    /// Hours, in quarter-hour steps.
    #[cfg_attr(feature = "openapi", schema(value_type = f64, minimum = 0.25, maximum = 24, multiple_of = 0.25))]
    pub hours: Hours,
    /// Where the entry stands.
    pub status: Status,
    /// The subject of the manager who decided, once decided.
    pub decided_by: Option<String>,
    /// When it was decided.
    #[serde(serialize_with = "rfc3339::optional_time")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected, in the manager's words; `null` unless rejected.
    pub reason: Option<String>,
    /// When it was created.
    #[serde(serialize_with = "rfc3339::time")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(serialize_with = "rfc3339::time")]
    pub updated_at: DateTime<Utc>,
}

/// A list of entries, wrapped so the response can grow fields without breaking clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryList {
    /// The entries, oldest date first.
    pub entries: Vec<Entry>,
}

/// One change of an entry, as the API's audit trail keeps it: written in the
/// same transaction as the change, so the trail is never behind the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEvent {
    /// When it happened.
    #[serde(serialize_with = "rfc3339::time")]
    pub at: DateTime<Utc>,
    /// Who did it: the subject at the identity provider.
    pub actor: String,
    /// Their name, as the API knows it (their subject when it knows none).
    pub actor_name: String,
    /// `create`, `edit`, `delete`, `submit`, `withdraw`, `approve` or `reject`.
    pub action: String,
    /// What the entry was after it (an edit: before and after; a rejection:
    /// its reason), as recorded then.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// An entry's history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryHistory {
    /// The changes, in the order they were made.
    pub events: Vec<HistoryEvent>,
}

/// The body of "create an entry".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "2026-11-23"))]
    pub date: String,
    /// 1 to 100 characters.
    pub project: String,
    /// Up to 1,000 characters.
    #[serde(default)]
    pub notes: String,
    /// More than 0 and at most 24, in steps of 0.25.
    #[cfg_attr(feature = "openapi", schema(example = 7.5))]
    pub hours: f64,
}

/// The body of "edit an entry": only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntryPatch {
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// 1 to 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Up to 1,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// More than 0 and at most 24, in steps of 0.25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<f64>,
}

/// A manager's verdict on a pending entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Accept the hours.
    Approve,
    /// Send them back to the owner.
    Reject,
}

impl Decision {
    /// The status an entry takes after this decision.
    pub const fn status(self) -> Status {
        match self {
            Decision::Approve => Status::Approved,
            Decision::Reject => Status::Rejected,
        }
    }
}

/// The body of "decide an entry".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Approve or reject.
    pub decision: Decision,
    /// The entry's `updated_at` as the manager saw it. Required: when the owner has
    /// changed the entry since, the decision is refused (409), so nobody approves
    /// hours they were never shown.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub seen_updated_at: DateTime<Utc>,
    /// Why the hours are rejected, 1 to 500 characters, shown to the owner at the
    /// entry. Required with `reject`; not taken with `approve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: Option<String>,
}

/// Every error the API returns, as JSON.
///
/// `error` is a stable code that programs branch on; `message` is a sentence for
/// people; `field` names the offending input and `scope` the missing permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable code: `invalid_token`, `insufficient_scope`, `invalid_field`,
    /// `not_found`, `conflict`, `forbidden`, `payload_too_large`, `storage_full`,
    /// `internal`.
    pub error: String,
    /// What went wrong, in plain words.
    pub message: String,
    /// The input field at fault, for `invalid_field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The scope that was missing, for `insufficient_scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

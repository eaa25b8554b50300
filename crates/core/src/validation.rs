//! The row rules: what makes an entry acceptable, each failure naming its field.
//!
//! The API enforces these; the desktop app runs the same checks before sending, so
//! a person sees the problem at once instead of after a round trip.

use crate::entry::{Decision, DecisionRequest, EntryPatch, NewEntry};
use crate::hours::{Hours, HoursError};
use chrono::{Datelike, NaiveDate};

/// The limits of the row rules, in one place for the API, the app and their docs.
pub struct Limits;

impl Limits {
    /// Longest project name, in characters.
    pub const PROJECT_MAX: usize = 100;
    /// Longest notes, in characters.
    pub const NOTES_MAX: usize = 1_000;
    /// Earliest year an entry may fall in.
    pub const YEAR_MIN: i32 = 1970;
    /// Latest year an entry may fall in.
    pub const YEAR_MAX: i32 = 9999;
    /// Longest reason for a rejection, in characters.
    pub const REASON_MAX: usize = 500;
}

/// One input field is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name as it appears in the request body or query.
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A [`NewEntry`] that passed every rule, in typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEntry {
    /// The day worked.
    pub date: NaiveDate,
    /// The trimmed project name.
    pub project: String,
    /// The notes.
    pub notes: String,
    /// The hours, above zero.
    pub hours: Hours,
}

/// An [`EntryPatch`] that passed every rule; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidPatch {
    /// A new day.
    pub date: Option<NaiveDate>,
    /// A new, trimmed project name.
    pub project: Option<String>,
    /// New notes.
    pub notes: Option<String>,
    /// New hours, above zero.
    pub hours: Option<Hours>,
}

impl NewEntry {
    /// Checks every rule that needs no database.
    pub fn validate(&self) -> Result<ValidEntry, FieldError> {
        Ok(ValidEntry {
            date: date("date", &self.date)?,
            project: project(&self.project)?,
            notes: notes(&self.notes)?,
            hours: hours(self.hours)?,
        })
    }
}

impl EntryPatch {
    /// Checks the fields present; an empty patch is refused as it would change nothing.
    pub fn validate(&self) -> Result<ValidPatch, FieldError> {
        if self.date.is_none()
            && self.project.is_none()
            && self.notes.is_none()
            && self.hours.is_none()
        {
            return Err(FieldError::new("body", "names no field to change"));
        }
        Ok(ValidPatch {
            date: self.date.as_deref().map(|d| date("date", d)).transpose()?,
            project: self.project.as_deref().map(project).transpose()?,
            notes: self.notes.as_deref().map(notes).transpose()?,
            hours: self.hours.map(hours).transpose()?,
        })
    }
}

impl DecisionRequest {
    /// Checks the reason: required to reject (a person must know what to fix),
    /// not taken to approve. Answers the reason, trimmed, for a rejection.
    pub fn validate(&self) -> Result<Option<String>, FieldError> {
        match (self.decision, self.reason.as_deref()) {
            (Decision::Approve, None) => Ok(None),
            (Decision::Approve, Some(_)) => {
                Err(FieldError::new("reason", "is only taken with a rejection"))
            }
            (Decision::Reject, None) => Err(FieldError::new(
                "reason",
                "is required to reject: say what needs fixing",
            )),
            (Decision::Reject, Some(reason)) => {
                let reason = reason.trim();
                let len = reason.chars().count();
                if len == 0 {
                    return Err(FieldError::new(
                        "reason",
                        "must not be empty: say what needs fixing",
                    ));
                }
                if len > Limits::REASON_MAX {
                    return Err(FieldError::new(
                        "reason",
                        format!("must be at most {} characters", Limits::REASON_MAX),
                    ));
                }
                if reason.contains('\0') {
                    return Err(FieldError::new("reason", "must not contain NUL characters"));
                }
                readable_text("reason", reason)?;
                Ok(Some(reason.to_owned()))
            }
        }
    }
}

/// Parses a week's Monday, `YYYY-MM-DD`, naming `field`. Any other day is
/// refused rather than rounded, so a client's mistake is not applied to another
/// week than the one it meant.
pub fn monday(field: &'static str, value: &str) -> Result<NaiveDate, FieldError> {
    let day = date(field, value)?;
    if day.weekday() != chrono::Weekday::Mon {
        return Err(FieldError::new(
            field,
            format!("must be a Monday; {value} is a {}", day.weekday()),
        ));
    }
    Ok(day)
}

/// Parses a calendar date `YYYY-MM-DD` that exists, for a body field or a query parameter.
pub fn date(field: &'static str, value: &str) -> Result<NaiveDate, FieldError> {
    let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .ok_or_else(|| FieldError::new(field, "must be a date that exists, as YYYY-MM-DD"))?;
    if !(Limits::YEAR_MIN..=Limits::YEAR_MAX).contains(&parsed.year()) {
        return Err(FieldError::new(
            field,
            format!(
                "must fall between the years {} and {}",
                Limits::YEAR_MIN,
                Limits::YEAR_MAX
            ),
        ));
    }
    Ok(parsed)
}

/// Whether `c` changes how the text around it is shown without being seen
/// itself: the bidirectional controls (which can make `Apollo \u{202e}gnitniop`
/// read as "Apollo pointing" backwards, or reorder the words of a line) and the
/// invisible format characters that make two different texts look the same.
///
/// The zero-width joiner and non-joiner (U+200C, U+200D) stay allowed: Persian,
/// Indic scripts and emoji sequences need them, and they reorder nothing.
pub fn is_spoofing_character(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                     // soft hyphen
        | '\u{061C}'                   // Arabic letter mark
        | '\u{180E}'                   // Mongolian vowel separator
        | '\u{200B}'                   // zero-width space
        | '\u{200E}' | '\u{200F}'      // left-to-right and right-to-left marks
        | '\u{202A}'..='\u{202E}'      // embeddings and overrides
        | '\u{2060}'..='\u{2064}'      // word joiner and invisible operators
        | '\u{2066}'..='\u{206F}'      // isolates and deprecated format characters
        | '\u{FEFF}'                   // zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'      // interlinear annotation
    )
}

/// Refuses text a person will read that holds control characters or
/// [spoofing characters](is_spoofing_character), naming `field`.
pub fn readable_text(field: &'static str, value: &str) -> Result<(), FieldError> {
    if let Some(c) = value.chars().find(|c| is_spoofing_character(*c)) {
        return Err(FieldError::new(
            field,
            format!(
                "must not contain invisible formatting characters such as U+{:04X}, \
                 which can make text read differently from what it says",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

fn project(value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(FieldError::new("project", "must not be empty"));
    }
    if len > Limits::PROJECT_MAX {
        return Err(FieldError::new(
            "project",
            format!("must be at most {} characters", Limits::PROJECT_MAX),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            "project",
            "must not contain control characters",
        ));
    }
    readable_text("project", trimmed)?;
    Ok(trimmed.to_owned())
}

fn notes(value: &str) -> Result<String, FieldError> {
    if value.chars().count() > Limits::NOTES_MAX {
        return Err(FieldError::new(
            "notes",
            format!("must be at most {} characters", Limits::NOTES_MAX),
        ));
    }
    if value.contains('\0') {
        return Err(FieldError::new("notes", "must not contain NUL characters"));
    }
    readable_text("notes", value)?;
    Ok(value.to_owned())
}

fn hours(value: f64) -> Result<Hours, FieldError> {
    let hours = Hours::from_f64(value).map_err(|e| match e {
        HoursError::Negative => FieldError::new("hours", "must be more than 0"),
        other => FieldError::new("hours", other.to_string()),
    })?;
    if hours.quarters() == 0 {
        return Err(FieldError::new("hours", "must be more than 0"));
    }
    Ok(hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(date: &str, project: &str, hours: f64) -> NewEntry {
        NewEntry {
            date: date.into(),
            project: project.into(),
            notes: String::new(),
            hours,
        }
    }

    fn field(result: Result<ValidEntry, FieldError>) -> &'static str {
        result.err().map(|e| e.field).unwrap_or("accepted")
    }

    #[test]
    fn a_rejection_needs_a_reason_and_an_approval_takes_none() {
        let at = chrono::Utc::now();
        let decide = |decision, reason: Option<&str>| DecisionRequest {
            decision,
            seen_updated_at: at,
            reason: reason.map(str::to_owned),
        };
        assert_eq!(decide(Decision::Approve, None).validate(), Ok(None));
        assert_eq!(
            decide(Decision::Reject, Some("  Apollo was Monday  ")).validate(),
            Ok(Some("Apollo was Monday".to_owned()))
        );
        let long = "x".repeat(Limits::REASON_MAX + 1);
        for (request, why) in [
            (decide(Decision::Reject, None), "is required"),
            (decide(Decision::Reject, Some(" \n ")), "must not be empty"),
            (decide(Decision::Reject, Some(&long)), "at most 500"),
            (decide(Decision::Reject, Some("a\u{202e}b")), "invisible"),
            (decide(Decision::Approve, Some("fine")), "only taken"),
        ] {
            let error = request.validate().err();
            assert_eq!(error.as_ref().map(|e| e.field), Some("reason"));
            assert!(
                error.is_some_and(|e| e.message.contains(why)),
                "{request:?}: {why}"
            );
        }
        let longest = "é".repeat(Limits::REASON_MAX);
        assert!(decide(Decision::Reject, Some(&longest)).validate().is_ok());
    }

    #[test]
    fn a_week_is_named_by_its_monday() {
        assert_eq!(
            monday("week", "2026-11-23").ok(),
            NaiveDate::from_ymd_opt(2026, 11, 23)
        );
        let tuesday = monday("week", "2026-11-24").err();
        assert!(tuesday.is_some_and(|e| e.field == "week" && e.message.contains("Tue")));
        assert_eq!(
            monday("week", "2026-11-31").err().map(|e| e.field),
            Some("week")
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(
            field(entry("2026-11-23", "Apollo", 7.5).validate()),
            "accepted"
        );
        assert_eq!(field(entry("2026-02-30", "Apollo", 1.0).validate()), "date");
        assert_eq!(field(entry("2026-2-3", "Apollo", 1.0).validate()), "date");
        assert_eq!(field(entry("1969-12-31", "Apollo", 1.0).validate()), "date");
        assert_eq!(field(entry("2026-11-23", "  ", 1.0).validate()), "project");
        assert_eq!(
            field(entry("2026-11-23", &"x".repeat(101), 1.0).validate()),
            "project"
        );
        assert_eq!(field(entry("2026-11-23", "A", 0.0).validate()), "hours");
        assert_eq!(field(entry("2026-11-23", "A", 0.3).validate()), "hours");
        assert_eq!(field(entry("2026-11-23", "A", 24.25).validate()), "hours");
        let mut long_notes = entry("2026-11-23", "A", 1.0);
        long_notes.notes = "n".repeat(1_001);
        assert_eq!(field(long_notes.validate()), "notes");
    }

    #[test]
    fn text_that_reads_differently_from_what_it_says_is_refused() {
        let spoofed = entry("2026-11-23", "Apollo \u{202e}gnitniop\u{202c}", 1.0);
        assert_eq!(field(spoofed.validate()), "project");
        for c in [
            '\u{200b}', '\u{200f}', '\u{2066}', '\u{2069}', '\u{feff}', '\u{61c}',
        ] {
            let mut notes = entry("2026-11-23", "A", 1.0);
            notes.notes = format!("ok{c}ok");
            assert_eq!(field(notes.validate()), "notes", "U+{:04X}", u32::from(c));
        }
        // Scripts that need joiners, right-to-left text and emoji are fine.
        for text in ["می\u{200c}خواهم", "पत्\u{200d}नी", "مشروع", "👩\u{200d}💻"]
        {
            assert_eq!(field(entry("2026-11-23", text, 1.0).validate()), "accepted");
        }
    }

    #[test]
    fn an_empty_patch_is_refused() {
        assert_eq!(
            EntryPatch::default().validate().err().map(|e| e.field),
            Some("body")
        );
        let patch = EntryPatch {
            hours: Some(2.25),
            ..EntryPatch::default()
        };
        assert_eq!(
            patch
                .validate()
                .ok()
                .and_then(|p| p.hours)
                .map(Hours::quarters),
            Some(9)
        );
    }
}

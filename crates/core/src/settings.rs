//! What the API tells every signed-in person about how it is set up.

use crate::validation::FieldError;
use serde::{Deserialize, Serialize};

/// Settings of the API that the app shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    /// The hours a full week is expected to hold: the app shows each week's
    /// total against it, so a person sees at a glance what is missing.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 168, multiple_of = 0.25, example = 40)
    )]
    pub weekly_target_hours: f64,
}

/// The expected hours of a week unless the server is told otherwise.
pub const DEFAULT_WEEKLY_TARGET_HOURS: f64 = 40.0;

/// Checks a weekly target: 0 to 168 hours (a week has no more), in quarter
/// hours like every entry.
pub fn weekly_target(value: f64) -> Result<f64, FieldError> {
    const FIELD: &str = "weekly_target_hours";
    if !value.is_finite() || !(0.0..=168.0).contains(&value) {
        return Err(FieldError::new(FIELD, "must be between 0 and 168 hours"));
    }
    if (value * 4.0).fract() != 0.0 {
        return Err(FieldError::new(FIELD, "must be in steps of 0.25 hours"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_fits_in_a_week_in_quarter_hours() {
        for ok in [0.0, 37.5, 40.0, 168.0] {
            assert_eq!(weekly_target(ok), Ok(ok));
        }
        for (bad, why) in [
            (-1.0, "between"),
            (168.25, "between"),
            (f64::NAN, "between"),
            (37.1, "steps"),
        ] {
            let error = weekly_target(bad).err();
            assert!(error.is_some_and(|e| e.message.contains(why)), "{bad}");
        }
    }
}

//! Hours in quarter-hour steps.
//!
//! Storing quarters as an integer keeps sums exact (no `0.1 + 0.2` surprises in a
//! day's total) and makes "a step of 0.25" a property of the type.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A number of hours that is a whole number of quarter hours, from 0 up to a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hours(u16);

/// Why a number cannot be [`Hours`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// Not a finite number, or negative.
    #[error("must be a number of hours of at least 0")]
    Negative,
    /// Not a multiple of 0.25.
    #[error("must be in steps of 0.25 hours")]
    NotQuarter,
    /// More than a day holds.
    #[error("must be at most 24 hours")]
    TooMany,
}

impl Hours {
    /// The most one person can book on one day.
    pub const DAY: Hours = Hours(96);

    /// Hours from a count of quarter hours.
    pub const fn from_quarters(quarters: u16) -> Self {
        Hours(quarters)
    }

    /// The count of quarter hours, the unit the database stores.
    pub const fn quarters(self) -> u16 {
        self.0
    }

    /// The value as a decimal, as the API and the grid show it.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 4.0
    }

    /// Converts a decimal number of hours, refusing anything off the quarter grid.
    pub fn from_f64(value: f64) -> Result<Self, HoursError> {
        if !value.is_finite() || value < 0.0 {
            return Err(HoursError::Negative);
        }
        if value > 24.0 {
            return Err(HoursError::TooMany);
        }
        let quarters = value * 4.0;
        if quarters.fract() != 0.0 {
            return Err(HoursError::NotQuarter);
        }
        // In range 0..=96 by the checks above, so the cast is exact.
        Ok(Hours(quarters as u16))
    }

    /// Adds, saturating: sums of a day never exceed a few hundred quarters.
    pub fn saturating_add(self, other: Hours) -> Hours {
        Hours(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

impl Serialize for Hours {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Hours::from_f64(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_quarters_only() {
        assert_eq!(Hours::from_f64(7.75).map(Hours::quarters), Ok(31));
        assert_eq!(Hours::from_f64(24.0), Ok(Hours::DAY));
        assert_eq!(Hours::from_f64(0.1), Err(HoursError::NotQuarter));
        assert_eq!(Hours::from_f64(24.25), Err(HoursError::TooMany));
        assert_eq!(Hours::from_f64(-0.25), Err(HoursError::Negative));
        assert_eq!(Hours::from_f64(f64::NAN), Err(HoursError::Negative));
    }

    #[test]
    fn serializes_as_a_decimal() {
        let json = serde_json::to_string(&Hours::from_quarters(10)).unwrap_or_default();
        assert_eq!(json, "2.5");
    }
}

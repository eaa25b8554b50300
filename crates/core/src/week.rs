//! ISO weeks, Monday first: the span the grid shows and the API is asked for.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::fmt;

/// An ISO 8601 week, identified by its Monday.
///
/// The caller picks "today" in the user's own time zone; a week is then pure
/// calendar arithmetic, with no time zone left to get wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week {
    monday: NaiveDate,
}

impl Week {
    /// The week that contains `day`.
    pub fn containing(day: NaiveDate) -> Self {
        let back = u64::from(day.weekday().num_days_from_monday());
        Week {
            monday: day.checked_sub_days(Days::new(back)).unwrap_or(day),
        }
    }

    /// The Monday that starts the week.
    pub fn monday(self) -> NaiveDate {
        self.monday
    }

    /// The Sunday that ends the week.
    pub fn sunday(self) -> NaiveDate {
        self.monday
            .checked_add_days(Days::new(6))
            .unwrap_or(self.monday)
    }

    /// The seven days, Monday to Sunday.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.monday.iter_days().take(7)
    }

    /// The week before; saturates at the calendar's start.
    pub fn previous(self) -> Self {
        Week::containing(
            self.monday
                .checked_sub_days(Days::new(7))
                .unwrap_or(self.monday),
        )
    }

    /// The week after; saturates at the calendar's end.
    pub fn next(self) -> Self {
        Week::containing(
            self.monday
                .checked_add_days(Days::new(7))
                .unwrap_or(self.monday),
        )
    }

    /// The ISO year and week number, as people name weeks ("2026-W48").
    pub fn iso(self) -> (i32, u32) {
        let iso = self.monday.iso_week();
        (iso.year(), iso.week())
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, week) = self.iso();
        write!(f, "{year}-W{week:02}")
    }
}

/// Whether `day` is a Monday, for APIs that take a week by its first day.
pub fn is_monday(day: NaiveDate) -> bool {
    day.weekday() == Weekday::Mon
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn weeks_start_on_monday_across_a_year_end() {
        let week = Week::containing(date(2027, 1, 1)); // a Friday
        assert_eq!(week.monday(), date(2026, 12, 28));
        assert_eq!(week.sunday(), date(2027, 1, 3));
        assert_eq!(week.to_string(), "2026-W53");
        assert_eq!(week.next().monday(), date(2027, 1, 4));
        assert_eq!(week.previous().monday(), date(2026, 12, 21));
        assert_eq!(week.days().count(), 7);
        assert!(is_monday(week.monday()));
    }
}

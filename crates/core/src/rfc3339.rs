//! Dates and times as the API writes them: exactly what chrono's own serde
//! implementation writes (RFC 3339, UTC as `Z`, as many fractional digits as the
//! value needs: none, 3, 6 or 9), but written digit by digit instead of through
//! `core::fmt`. A 500-entry week writes 2,000 of them, and formatting them through
//! `Display` was a tenth of the cost of answering it.
//!
//! Used with `#[serde(serialize_with = …)]`. Values outside the years 0–9999 (or
//! a leap second) are left to chrono.
//!
//! Reading, too, has a fast path for the one fixed form the API's database keeps
//! ([`parse_stored_time`], [`parse_date`]); anything else is left to chrono.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `YYYY-MM-DD`.
pub fn date<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    let mut out = [0u8; 10];
    match write_date(&mut out, *date) {
        Some(()) => serializer.serialize_str(ascii(&out)),
        None => date.serialize(serializer),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`.
pub fn time<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut out = [0u8; 30];
    match write_time(&mut out, at) {
        Some(len) => serializer.serialize_str(ascii(&out[..len])),
        None => at.serialize(serializer),
    }
}

/// [`time`], or `null`.
pub fn optional_time<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    struct Time<'a>(&'a DateTime<Utc>);
    impl Serialize for Time<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            time(self.0, serializer)
        }
    }
    match at {
        Some(at) => serializer.serialize_some(&Time(at)),
        None => serializer.serialize_none(),
    }
}

/// Reads `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the fixed-width form the API stores
/// times in (so that they sort as text), without chrono's general parser: a list
/// of 500 entries reads 1,500 of them. `None` for any other form, which the
/// caller leaves to chrono.
pub fn parse_stored_time(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if b.len() != 27 || b[26] != b'Z' || separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let date = parse_date(&text[..10])?;
    let at = date.and_hms_micro_opt(
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
        number(&b[20..26])?,
    )?;
    Some(at.and_utc())
}

/// Reads `YYYY-MM-DD`; `None` for any other form.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(number(&b[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..10])?)
}

/// The value of a run of ASCII digits; `None` if anything else is in it.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// Only ASCII digits and separators are ever written.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Writes `value` as exactly `out.len()` decimal digits.
fn digits(out: &mut [u8], mut value: u32) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn write_date(out: &mut [u8; 10], date: NaiveDate) -> Option<()> {
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    digits(&mut out[0..4], year);
    out[4] = b'-';
    digits(&mut out[5..7], date.month());
    out[7] = b'-';
    digits(&mut out[8..10], date.day());
    Some(())
}

/// The length written, or `None` for what only chrono writes.
fn write_time(out: &mut [u8; 30], at: &DateTime<Utc>) -> Option<usize> {
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut date = [0u8; 10];
    write_date(&mut date, at.date_naive())?;
    out[..10].copy_from_slice(&date);
    out[10] = b'T';
    digits(&mut out[11..13], at.hour());
    out[13] = b':';
    digits(&mut out[14..16], at.minute());
    out[16] = b':';
    digits(&mut out[17..19], at.second());
    let mut len = 19;
    let (fraction, width) = if nanos == 0 {
        (0, 0)
    } else if nanos % 1_000_000 == 0 {
        (nanos / 1_000_000, 3)
    } else if nanos % 1_000 == 0 {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if width > 0 {
        out[len] = b'.';
        digits(&mut out[len + 1..len + 1 + width], fraction);
        len += 1 + width;
    }
    out[len] = b'Z';
    Some(len + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "date")]
        date: NaiveDate,
        #[serde(serialize_with = "time")]
        time: DateTime<Utc>,
        #[serde(serialize_with = "optional_time")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Chronos {
        date: NaiveDate,
        time: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn same(date: NaiveDate, time: DateTime<Utc>, maybe: Option<DateTime<Utc>>) {
        let ours = serde_json::to_string(&Ours { date, time, maybe }).unwrap();
        let chronos = serde_json::to_string(&Chronos { date, time, maybe }).unwrap();
        assert_eq!(ours, chronos);
    }

    /// Every width of fraction, the ends of the supported years, and the values
    /// left to chrono (years past 9999, before year 0, a leap second) all come
    /// out as chrono writes them.
    #[test]
    fn writes_what_chrono_writes() {
        let base = Utc.with_ymd_and_hms(2026, 12, 2, 7, 5, 9).unwrap();
        for nanos in [
            0,
            1,
            7_000,
            120_000_000,
            123_000_000,
            123_456_000,
            123_456_789,
            999_999_999,
        ] {
            let at = base.with_nanosecond(nanos).unwrap();
            same(at.date_naive(), at, Some(at));
        }
        for (y, m, d) in [(0, 1, 1), (1, 2, 3), (999, 12, 31), (9999, 12, 31)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let at = date.and_hms_micro_opt(23, 59, 59, 1).unwrap().and_utc();
            same(date, at, None);
        }
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap();
        same(far, far.and_hms_opt(1, 2, 3).unwrap().and_utc(), None);
        let early = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap();
        same(early, early.and_hms_opt(1, 2, 3).unwrap().and_utc(), None);
        let leap = base.with_nanosecond(1_500_000_000).unwrap();
        same(leap.date_naive(), leap, Some(leap));
    }

    /// A sweep over a few years of seconds and fractions, beside chrono.
    #[test]
    fn agrees_with_chrono_across_years() {
        let mut at = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 58).unwrap();
        for i in 0u32..20_000 {
            let step = chrono::TimeDelta::seconds(i64::from(i) * 7_919)
                + chrono::TimeDelta::nanoseconds(i64::from(i % 4) * 250_000_000 + i64::from(i % 3));
            at += step;
            same(at.date_naive(), at, Some(at));
        }
    }

    /// The stored form reads back as chrono reads it, across years and every
    /// fraction; other forms are left to chrono (`None`), and bad values refused.
    #[test]
    fn reads_the_stored_form_as_chrono_does() {
        let start = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 58).unwrap();
        for i in 0u32..20_000 {
            // Over five years, past leap days and year ends.
            let at = start
                + chrono::TimeDelta::seconds(i64::from(i) * 7_919)
                + chrono::TimeDelta::microseconds(i64::from(i) * 37 % 1_000_000);
            let stored = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let chronos = DateTime::parse_from_rfc3339(&stored)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse_stored_time(&stored), Some(chronos), "{stored}");
            let day = &stored[..10];
            assert_eq!(parse_date(day), day.parse().ok(), "{day}");
        }
        for other in [
            "2026-12-02T07:05:09Z",
            "2026-12-02T07:05:09.123Z",
            "2026-12-02T07:05:09.123456+01:00",
            "2026-12-02T07:05:60.000000Z",
            "2026-02-30T07:05:09.123456Z",
            "2026-12-02T25:05:09.123456Z",
            "2026-12-02 07:05:09.123456Z",
            "2026-1a-02T07:05:09.123456Z",
            "+026-12-02T07:05:09.123456Z",
        ] {
            assert_eq!(parse_stored_time(other), None, "{other}");
        }
        for other in [
            "2026-2-02",
            "2026-02-30",
            "20260202",
            "2026-02-0x",
            "-026-02-02",
        ] {
            assert_eq!(parse_date(other), None, "{other}");
        }
    }
}

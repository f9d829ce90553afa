//! Calendar days, written one way: ISO 8601 `YYYY-MM-DD`, read strictly (four-digit
//! year, two-digit month and day), so that dates stored as text sort as dates.
//!
//! Days are counted as Julian day numbers (`i64`) where arithmetic is needed, and
//! as [`time::Date`] where a calendar is. Times are Unix seconds, UTC.

use time::format_description::FormatItem;
use time::{Date, Month, OffsetDateTime};

const ISO_DATE: &[FormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

/// The Julian day number of 1970-01-01, the Unix epoch.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Seconds in a day.
pub const DAY_SECONDS: i64 = 86_400;

/// Unix seconds now (the system clock; 0 if it reads before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Reads `YYYY-MM-DD` (surrounding spaces ignored), or says how to write a date.
pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), ISO_DATE)
        .map_err(|_| format!("`{text}` is not a date: write it as YYYY-MM-DD, such as 2026-12-25"))
}

/// Writes a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(ISO_DATE).unwrap_or_default()
}

/// The day (UTC) a Unix time falls on; 1970-01-01 for one out of range.
pub fn date_of(unix_seconds: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
}

/// The Julian day number of the day (UTC) a Unix time falls on.
pub fn julian_day(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(DAY_SECONDS) + UNIX_EPOCH_JULIAN_DAY
}

/// The Julian day number of a calendar date, if it is one.
pub fn day_of(year: i32, month: u8, day: u8) -> Option<i64> {
    let m = Month::try_from(month).ok()?;
    Date::from_calendar_date(year, m, day)
        .ok()
        .map(|d| i64::from(d.to_julian_day()))
}

/// Reads `YYYY-MM-DD` ([`parse_date`]'s rule) as a Julian day number.
pub fn parse_day(text: &str) -> Option<i64> {
    parse_date(text).ok().map(|d| i64::from(d.to_julian_day()))
}

/// A Julian day number as `YYYY-MM-DD` (the number itself for one out of range).
pub fn format_day(day: i64) -> String {
    match i32::try_from(day)
        .ok()
        .and_then(|d| Date::from_julian_day(d).ok())
    {
        Some(d) => format_date(d),
        None => day.to_string(),
    }
}

/// The day (UTC) of a Unix time as `YYYY-MM-DD`.
pub fn format_unix_day(unix_seconds: i64) -> String {
    format_day(julian_day(unix_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_strictly_and_written_the_same_way() {
        assert_eq!(parse_day("2026-12-02"), day_of(2026, 12, 2));
        assert_eq!(parse_day(" 2026-12-02 "), day_of(2026, 12, 2));
        for bad in [
            "2026-1-05",
            "2026-01-5",
            "26-01-05",
            "2026/01/05",
            "",
            "2026-02-30",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
            assert!(parse_date(bad).unwrap_err().contains("YYYY-MM-DD"));
        }
        let d = parse_day("2024-02-29").unwrap();
        assert_eq!(format_day(d), "2024-02-29");
        assert_eq!(format_day(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn unix_times_fall_on_their_utc_day() {
        assert_eq!(julian_day(0), 2_440_588, "1970-01-01");
        assert_eq!(julian_day(DAY_SECONDS - 1), 2_440_588);
        assert_eq!(julian_day(-1), 2_440_587);
        assert_eq!(format_unix_day(1_796_169_600), "2026-12-02");
        assert_eq!(format_date(date_of(1_796_169_600)), "2026-12-02");
        assert_eq!(Some(julian_day(1_796_169_600)), parse_day("2026-12-02"));
        assert_eq!(date_of(i64::MAX), date_of(0));
    }
}

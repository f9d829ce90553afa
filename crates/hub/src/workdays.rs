//! Working days, for the time-to-first-contact clock.
//!
//! The clock counts the working days after the day a referral arrived up to and
//! including the day of first contact: contacted the same day is 0, a Friday
//! referral contacted on Monday is 1. Saturdays, Sundays and the calendar's bank
//! holidays are not working days. Dates are taken in UTC.

use std::collections::BTreeSet;

pub use syndemic_model::date::{date_of, format_date, parse_date};
use time::{Date, Duration, Weekday};

/// Bank holidays in England and Wales, 2025–2027 (GOV.UK, "UK bank holidays"),
/// the default list; a deployment may configure its own.
pub const ENGLAND_AND_WALES: &[&str] = &[
    "2025-01-01",
    "2025-04-18",
    "2025-04-21",
    "2025-05-05",
    "2025-05-26",
    "2025-08-25",
    "2025-12-25",
    "2025-12-26",
    "2026-01-01",
    "2026-04-03",
    "2026-04-06",
    "2026-05-04",
    "2026-05-25",
    "2026-08-31",
    "2026-12-25",
    "2026-12-28",
    "2027-01-01",
    "2027-03-26",
    "2027-03-29",
    "2027-05-03",
    "2027-05-31",
    "2027-08-30",
    "2027-12-27",
    "2027-12-28",
];

/// Which days are not worked, besides weekends.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// A calendar from `YYYY-MM-DD` dates; a bad date is an error naming it.
    pub fn new<'a>(holidays: impl IntoIterator<Item = &'a str>) -> Result<Calendar, String> {
        let holidays = holidays
            .into_iter()
            .map(parse_date)
            .collect::<Result<_, _>>()?;
        Ok(Calendar { holidays })
    }

    /// England and Wales's bank holidays ([`ENGLAND_AND_WALES`]).
    pub fn england_and_wales() -> Calendar {
        Calendar::new(ENGLAND_AND_WALES.iter().copied()).expect("the built-in dates are valid")
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&date)
    }

    /// Working days after `from`'s day up to and including `to`'s day (0 if `to`
    /// is not later).
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        let mut n = 0;
        let mut day = from;
        while day < to {
            day += Duration::days(1);
            if self.is_working_day(day) {
                n += 1;
            }
        }
        n
    }

    /// The day `days` working days after `from`.
    pub fn add_working_days(&self, from: Date, days: u32) -> Date {
        let mut day = from;
        let mut left = days;
        while left > 0 {
            day += Duration::days(1);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Date {
        parse_date(text).unwrap()
    }

    #[test]
    fn weekends_and_bank_holidays_are_not_counted() {
        let c = Calendar::england_and_wales();
        // Friday 2026-12-18 → Monday 2026-12-21: one working day.
        assert_eq!(c.working_days_between(d("2026-12-18"), d("2026-12-21")), 1);
        // Same day: none.
        assert_eq!(c.working_days_between(d("2026-12-21"), d("2026-12-21")), 0);
        // Thursday 24 December → Tuesday 29 December 2026: 25th and 28th are
        // holidays, 26–27 the weekend: only the 29th counts.
        assert_eq!(c.working_days_between(d("2026-12-24"), d("2026-12-29")), 1);
        assert_eq!(c.add_working_days(d("2026-12-24"), 1), d("2026-12-29"));
        assert_eq!(c.add_working_days(d("2026-12-18"), 0), d("2026-12-18"));
        assert!(parse_date("25/12/2026").unwrap_err().contains("YYYY-MM-DD"));
    }

    proptest! {
        #[test]
        fn adding_then_counting_gives_the_days_back(offset in 0i64..2000, days in 0u32..40) {
            let c = Calendar::england_and_wales();
            let from = d("2025-01-01") + Duration::days(offset);
            let to = c.add_working_days(from, days);
            prop_assert_eq!(c.working_days_between(from, to), days);
            prop_assert!(days == 0 || c.is_working_day(to));
        }
    }
}

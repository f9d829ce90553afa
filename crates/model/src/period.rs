//! Time periods as official statistics publish them.
//!
//! Fingertips and ONS write periods in a handful of shapes: a calendar year
//! (`2019`), a financial year (`2019/20`, April to March), pooled years (`2017 - 19`)
//! and pooled financial years (`2016/17 - 18/19`), quarters (`2019 Q1` calendar,
//! `2019/20 Q1` financial), months (`2020-03`, `March 2020`) and dates
//! (`2021-03-21`, a census day). Each parses to one [`Period`], which prints back in
//! the published form and sorts in time order by its start and then its length.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Year(i32),
    /// Financial year starting in April of the given year.
    FinancialYear(i32),
    /// Calendar years `first` to `last` inclusive.
    Pooled {
        first: i32,
        last: i32,
    },
    /// Financial years starting in `first` to starting in `last`, inclusive.
    PooledFinancial {
        first: i32,
        last: i32,
    },
    /// Calendar quarter 1–4 of a year.
    Quarter {
        year: i32,
        quarter: u8,
    },
    /// Quarter 1–4 of the financial year starting in `year` (Q1 = April–June).
    FinancialQuarter {
        year: i32,
        quarter: u8,
    },
    Month {
        year: i32,
        month: u8,
    },
    Date {
        year: i32,
        month: u8,
        day: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a period syndemic knows: write a year (2019), a financial year (2019/20), pooled years (2017 - 19 or 2016/17 - 18/19), a quarter (2019 Q1, 2019/20 Q1), a month (2020-03, March 2020) or a date (2021-03-21)")]
pub struct PeriodError(pub String);

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn year(text: &str) -> Option<i32> {
    (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
        .filter(|y| (1800..=2200).contains(y))
}

/// The year a two- or four-digit end year stands for, given the start year.
fn end_year(start: i32, text: &str) -> Option<i32> {
    let end = match text.len() {
        2 if text.bytes().all(|b| b.is_ascii_digit()) => {
            let yy: i32 = text.parse().ok()?;
            let century = start - start.rem_euclid(100);
            let candidate = century + yy;
            if candidate < start {
                candidate + 100
            } else {
                candidate
            }
        }
        4 => year(text)?,
        _ => return None,
    };
    // Pooled periods span a few years; "2019 - 18" is a mistake, not 2019–2118.
    (start..=start + 30).contains(&end).then_some(end)
}

/// `2019/20` → 2019: the two years must follow each other.
fn financial(text: &str) -> Option<i32> {
    let (a, b) = text.split_once('/')?;
    let start = year(a.trim())?;
    (end_year(start, b.trim())? == start + 1).then_some(start)
}

fn number(text: &str, max: u8) -> Option<u8> {
    let n: u8 = text.parse().ok()?;
    (1..=max).contains(&n).then_some(n)
}

impl Period {
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        Period::parse_inner(text.trim()).ok_or_else(|| PeriodError(text.trim().to_owned()))
    }

    fn parse_inner(text: &str) -> Option<Period> {
        if let Some(y) = year(text) {
            return Some(Period::Year(y));
        }
        // Quarters: "2019 Q1", "2019/20 Q1", "2019 Q1" with any spacing.
        if let Some((head, q)) = text.rsplit_once(['Q', 'q']) {
            let quarter = number(q.trim(), 4)?;
            let head = head.trim();
            if let Some(y) = year(head) {
                return Some(Period::Quarter { year: y, quarter });
            }
            return financial(head).map(|year| Period::FinancialQuarter { year, quarter });
        }
        // Pooled: "2017 - 19", "2017-19", "2016/17 - 18/19".
        if let Some((a, b)) = text.split_once(" - ").or_else(|| {
            // "2017-19" but not a date "2020-03" (a month) or "2021-03-21".
            let (a, b) = text.split_once('-')?;
            (a.contains('/') || b.contains('/')).then_some((a, b))
        }) {
            let (a, b) = (a.trim(), b.trim());
            if let Some(first) = year(a) {
                let last = end_year(first, b)?;
                return (last > first).then_some(Period::Pooled { first, last });
            }
            let first = financial(a)?;
            let (b1, b2) = b.split_once('/')?;
            let last = end_year(first, b1.trim())?;
            return (end_year(last, b2.trim())? == last + 1 && last > first)
                .then_some(Period::PooledFinancial { first, last });
        }
        if let Some(y) = financial(text) {
            return Some(Period::FinancialYear(y));
        }
        // ISO month or date.
        let parts: Vec<&str> = text.split('-').collect();
        match parts.as_slice() {
            [y, m] if m.len() == 2 => {
                return Some(Period::Month {
                    year: year(y)?,
                    month: number(m, 12)?,
                })
            }
            [y, m, d] if m.len() == 2 && d.len() == 2 => {
                let (year, month) = (year(y)?, number(m, 12)?);
                let day = number(d, days_in_month(year, month))?;
                return Some(Period::Date { year, month, day });
            }
            _ => {}
        }
        // "March 2020", "Mar 2020".
        let (name, y) = text.split_once(' ')?;
        let name = name.to_ascii_lowercase();
        let month = MONTHS
            .iter()
            .position(|m| name.len() >= 3 && m.starts_with(&name))?;
        Some(Period::Month {
            year: year(y.trim())?,
            month: month as u8 + 1,
        })
    }

    /// First day of the period as (year, month, day).
    pub fn start(&self) -> (i32, u8, u8) {
        match *self {
            Period::Year(y) | Period::Pooled { first: y, .. } => (y, 1, 1),
            Period::FinancialYear(y) | Period::PooledFinancial { first: y, .. } => (y, 4, 1),
            Period::Quarter { year, quarter } => (year, 3 * (quarter - 1) + 1, 1),
            Period::FinancialQuarter { year, quarter } => {
                let month = 3 * (quarter - 1) + 4;
                if month > 12 {
                    (year + 1, month - 12, 1)
                } else {
                    (year, month, 1)
                }
            }
            Period::Month { year, month } => (year, month, 1),
            Period::Date { year, month, day } => (year, month, day),
        }
    }

    /// Length in months (a date counts as zero).
    pub fn months(&self) -> u32 {
        match *self {
            Period::Year(_) | Period::FinancialYear(_) => 12,
            Period::Pooled { first, last } | Period::PooledFinancial { first, last } => {
                12 * (last - first + 1) as u32
            }
            Period::Quarter { .. } | Period::FinancialQuarter { .. } => 3,
            Period::Month { .. } => 1,
            Period::Date { .. } => 0,
        }
    }

    /// A number that sorts periods by start, then by length: `yyyymmdd` × 1000 +
    /// months.
    pub fn sort_key(&self) -> i64 {
        let (y, m, d) = self.start();
        (i64::from(y) * 10_000 + i64::from(m) * 100 + i64::from(d)) * 1_000
            + i64::from(self.months())
    }

    /// Fingertips' `Time period Sortable`: the starting year × 10,000, plus the
    /// quarter × 100 for a quarter, plus the month for a month (`20210000` for 2021,
    /// 2021/22 and 2021 - 23; `20210300` for 2021/22 Q3; `20210005` for May 2021), as
    /// the Fingertips API's `TimePeriodSortable` is built (year, quarter and month
    /// of its time-period object). A date also carries its day: `20210514`.
    pub fn fingertips_sortable(&self) -> i64 {
        let year = |y: i32| i64::from(y) * 10_000;
        match *self {
            Period::Year(y)
            | Period::FinancialYear(y)
            | Period::Pooled { first: y, .. }
            | Period::PooledFinancial { first: y, .. } => year(y),
            Period::Quarter { year: y, quarter }
            | Period::FinancialQuarter { year: y, quarter } => year(y) + i64::from(quarter) * 100,
            Period::Month { year: y, month } => year(y) + i64::from(month),
            Period::Date {
                year: y,
                month,
                day,
            } => year(y) + i64::from(month) * 100 + i64::from(day),
        }
    }

    /// The last calendar year the period touches, used to place it on a time axis
    /// of years (a financial year 2019/20 ends in 2020).
    pub fn end_year(&self) -> i32 {
        match *self {
            Period::Year(y) => y,
            Period::FinancialYear(y) => y + 1,
            Period::Pooled { last, .. } => last,
            Period::PooledFinancial { last, .. } => last + 1,
            Period::Quarter { year, .. }
            | Period::Month { year, .. }
            | Period::Date { year, .. } => year,
            Period::FinancialQuarter { year, quarter } => year + i32::from(quarter == 4),
        }
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn two(year: i32) -> i32 {
    year.rem_euclid(100)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Year(y) => write!(f, "{y}"),
            Period::FinancialYear(y) => write!(f, "{y}/{:02}", two(y + 1)),
            Period::Pooled { first, last } => write!(f, "{first} - {:02}", two(last)),
            Period::PooledFinancial { first, last } => write!(
                f,
                "{first}/{:02} - {:02}/{:02}",
                two(first + 1),
                two(last),
                two(last + 1)
            ),
            Period::Quarter { year, quarter } => write!(f, "{year} Q{quarter}"),
            Period::FinancialQuarter { year, quarter } => {
                write!(f, "{year}/{:02} Q{quarter}", two(year + 1))
            }
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Date { year, month, day } => write!(f, "{year}-{month:02}-{day:02}"),
        }
    }
}

impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Period {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key()
            .cmp(&other.sort_key())
            .then_with(|| self.to_string().cmp(&other.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_periods_are_written_as_fingertips_writes_them() {
        let sortable = |t: &str| Period::parse(t).unwrap().fingertips_sortable();
        // As in the Fingertips exports in ../shared/data (2015 → 20150000).
        assert_eq!(sortable("2015"), 20150000);
        assert_eq!(sortable("2019/20"), 20190000);
        assert_eq!(sortable("2017 - 19"), 20170000);
        assert_eq!(
            Period::Quarter {
                year: 2021,
                quarter: 3
            }
            .fingertips_sortable(),
            20210300
        );
        assert_eq!(
            Period::Month {
                year: 2021,
                month: 5
            }
            .fingertips_sortable(),
            20210005
        );
    }

    #[test]
    fn published_shapes_round_trip() {
        for text in [
            "2019",
            "2019/20",
            "1999/00",
            "2017 - 19",
            "2016/17 - 18/19",
            "2019 Q1",
            "2019/20 Q4",
            "2020-03",
            "2021-03-21",
        ] {
            let period = Period::parse(text).unwrap();
            assert_eq!(period.to_string(), text, "{period:?}");
        }
        assert_eq!(
            Period::parse("March 2020").unwrap(),
            Period::Month {
                year: 2020,
                month: 3
            }
        );
        assert_eq!(
            Period::parse("Sep 2020").unwrap(),
            Period::Month {
                year: 2020,
                month: 9
            }
        );
        assert_eq!(
            Period::parse("2017 - 2019").unwrap(),
            Period::Pooled {
                first: 2017,
                last: 2019
            }
        );
        // Without spaces, YYYY-MM is a month: "2010-12" is December 2010.
        assert_eq!(
            Period::parse("2010-12").unwrap(),
            Period::Month {
                year: 2010,
                month: 12
            }
        );
    }

    #[test]
    fn unknown_shapes_are_errors() {
        for bad in [
            "",
            "19",
            "2019/21",
            "2019 Q5",
            "2019-13",
            "2019-02-30",
            "2019 - 18",
            "FY2019",
            "Smarch 2020",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert!(Period::parse("20x9")
            .unwrap_err()
            .to_string()
            .contains("`20x9` is not a period"));
    }

    #[test]
    fn periods_sort_in_time_order() {
        let mut periods: Vec<Period> =
            ["2019/20", "2019", "2018 - 20", "2019 Q2", "2019-04", "2020"]
                .iter()
                .map(|t| Period::parse(t).unwrap())
                .collect();
        periods.sort();
        let text: Vec<String> = periods.iter().map(Period::to_string).collect();
        assert_eq!(
            text,
            ["2018 - 20", "2019", "2019-04", "2019 Q2", "2019/20", "2020"]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_prints_what_it_parses(text in "[0-9 /QMarch-]{0,16}") {
            if let Ok(period) = Period::parse(&text) {
                proptest::prop_assert_eq!(Period::parse(&period.to_string()).unwrap(), period);
            }
        }
    }
}

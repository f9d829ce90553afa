//! Age bands as official statistics publish them, read once into one value.
//!
//! ONS and the Census write `Aged 4 years and under`, `Aged 5 to 9 years`, `Aged 85
//! years and over`; Fingertips and most local extracts write `0-4`, `05-09`, `90+`;
//! the European Standard Population writes `85-89` and `90+`. These are the same
//! bands: [`AgeBand::parse`] reads them all, and its `Display` writes the one form
//! the store keeps (`0-4`, `5-9`, `85+`, `All ages`).

use std::fmt;

/// One age band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeBand {
    /// From `from` to `to` years, both included (`5-9`); one year of age when they
    /// are equal (written `5`).
    Range { from: u16, to: u16 },
    /// `from` years and over (`85+`).
    AndOver { from: u16 },
    /// Every age (`All ages`, `Total`, `All persons`).
    AllAges,
}

impl AgeBand {
    /// Reads a band as published: `Aged 4 years and under` → `0-4`, `Aged 5 to 9
    /// years` → `5-9`, `0 to 4 yrs` → `0-4`, `Aged 85 years and over` → `85+`,
    /// `05 - 09` → `5-9`, `90 +` → `90+`, a single year of age `07` → `7`, `Aged
    /// under 1 year` → `0`, `under 16` → `0-15`, `All ages`. Case, spaces and leading zeros do not matter. `None` for anything
    /// else (`teenagers`, `<1`, a reversed range such as `9-5`).
    pub fn parse(text: &str) -> Option<AgeBand> {
        let t = text.trim().to_ascii_lowercase();
        if matches!(t.as_str(), "all ages" | "total" | "all persons") {
            return Some(AgeBand::AllAges);
        }
        // Words, with `-` and `+` as words of their own: `05 - 09`, `05-09` and
        // `5 to 9` read alike.
        let spaced = t.replace('-', " - ").replace('+', " + ");
        let words: Vec<&str> = spaced
            .split_whitespace()
            .skip_while(|w| *w == "aged")
            .filter(|w| *w != "years" && *w != "year")
            .collect();
        let number = |w: &str| w.parse::<u16>().ok();
        let words_only = |rest: &[&str]| {
            rest.iter()
                .all(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        };
        let band = match words.as_slice() {
            [a, "to" | "-", b, rest @ ..] if words_only(rest) => AgeBand::Range {
                from: number(a)?,
                to: number(b)?,
            },
            [a] => {
                let year = number(a)?;
                AgeBand::Range {
                    from: year,
                    to: year,
                }
            }
            [a, "and", "under"] => AgeBand::Range {
                from: 0,
                to: number(a)?,
            },
            // `Aged under 1 year` (the Census's first single year), `under 16`.
            ["under", a] => AgeBand::Range {
                from: 0,
                to: number(a)?.checked_sub(1)?,
            },
            [a, "and", "over"] | [a, "+"] => AgeBand::AndOver { from: number(a)? },
            _ => return None,
        };
        match band {
            AgeBand::Range { from, to } if from > to => None,
            band => Some(band),
        }
    }
}

impl AgeBand {
    /// The first and last year of age of the band (`None` for the last of an open
    /// band); `None` for `All ages`.
    pub fn years(self) -> Option<(u16, Option<u16>)> {
        match self {
            AgeBand::Range { from, to } => Some((from, Some(to))),
            AgeBand::AndOver { from } => Some((from, None)),
            AgeBand::AllAges => None,
        }
    }

    /// Whether every age of `other` is in this band (`85+` contains `85-89` and
    /// `90+`; `All ages` contains every band).
    pub fn contains(self, other: AgeBand) -> bool {
        let (Some((a, b)), Some((c, d))) = (self.years(), other.years()) else {
            return self == AgeBand::AllAges;
        };
        let end = |x: Option<u16>| x.map_or(u32::MAX, u32::from);
        a <= c && end(d) <= end(b)
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgeBand::Range { from, to } if from == to => write!(f, "{from}"),
            AgeBand::Range { from, to } => write!(f, "{from}-{to}"),
            AgeBand::AndOver { from } => write!(f, "{from}+"),
            AgeBand::AllAges => f.write_str("All ages"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AgeBand;
    use proptest::prelude::*;

    fn read(text: &str) -> Option<String> {
        AgeBand::parse(text).map(|b| b.to_string())
    }

    #[test]
    fn bands_as_published() {
        assert_eq!(read("Aged 4 years and under").as_deref(), Some("0-4"));
        assert_eq!(read("Aged 5 to 9 years").as_deref(), Some("5-9"));
        assert_eq!(read("Aged 85 years and over").as_deref(), Some("85+"));
        assert_eq!(read("85 and over").as_deref(), Some("85+"));
        assert_eq!(read("90+").as_deref(), Some("90+"));
        assert_eq!(read("90 +").as_deref(), Some("90+"));
        assert_eq!(read("10-14").as_deref(), Some("10-14"));
        assert_eq!(read("05-09").as_deref(), Some("5-9"));
        assert_eq!(read(" 00 - 04 ").as_deref(), Some("0-4"));
        assert_eq!(read("All ages").as_deref(), Some("All ages"));
        assert_eq!(read("TOTAL").as_deref(), Some("All ages"));
        assert_eq!(read("0 to 4 yrs").as_deref(), Some("0-4"));
        assert_eq!(read("Aged 5 to 9 years old").as_deref(), Some("5-9"));
        assert_eq!(read("07").as_deref(), Some("7"));
        assert_eq!(read("0").as_deref(), Some("0"));
        assert_eq!(read("Aged under 1 year").as_deref(), Some("0"));
        assert_eq!(read("Aged 1 year").as_deref(), Some("1"));
        assert_eq!(read("under 16").as_deref(), Some("0-15"));
        assert_eq!(read("Aged 90 years and over").as_deref(), Some("90+"));
    }

    #[test]
    fn wider_bands_contain_narrower() {
        let band = |t: &str| AgeBand::parse(t).unwrap();
        assert!(band("85+").contains(band("85-89")));
        assert!(band("85+").contains(band("90+")));
        assert!(band("85+").contains(band("85+")));
        assert!(!band("85-89").contains(band("85+")));
        assert!(!band("85+").contains(band("80-84")));
        assert!(band("0-14").contains(band("7")));
        assert!(AgeBand::AllAges.contains(band("90+")));
        assert!(!band("90+").contains(AgeBand::AllAges));
    }

    #[test]
    fn refuses_what_is_not_a_band() {
        for text in [
            "teenagers",
            "",
            "9-5",
            "5-",
            "-5",
            "+",
            "5 to",
            "a-b",
            "1-2-3",
            "<1",
            "5 to 9 10",
            "under 0",
        ] {
            assert_eq!(AgeBand::parse(text), None, "{text:?}");
        }
    }

    proptest! {
        /// What is written reads back as itself, so stored labels are stable.
        #[test]
        fn written_form_reads_back(from in 0u16..120, width in 0u16..30, over in any::<bool>()) {
            let band = if over {
                AgeBand::AndOver { from }
            } else {
                AgeBand::Range { from, to: from + width }
            };
            prop_assert_eq!(AgeBand::parse(&band.to_string()), Some(band));
        }
    }
}

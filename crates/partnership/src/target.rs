//! Target areas: a rule a plan is written in ("the most deprived fifth of LSOAs
//! in the district") resolved to the concrete list of small areas it means.
//!
//! - **Local quintiles** (`local-quintile:E08000009:1`): the small areas of a parent
//!   area ranked by national IMD rank (1 = most deprived) and cut into fifths
//!   *within the parent*, exactly as the evidence engine computes local quintiles
//!   ([`syndemic_stats::deprivation::local_quantiles`], the PHEindicatormethods rule,
//!   a tie across a boundary going to the lower quintile). "The most deprived 20 %
//!   of LSOAs in Trafford" is local quintile 1 of Trafford: 28 of its 138 LSOAs.
//! - **National deciles** (`national-decile:E08000009:1-2`): the small areas of the
//!   parent in England's IMD deciles 1 to 2 — a separate choice, which in a less
//!   deprived district may be none of them.
//! - **A list** (`areas:E01006187,E01006188`): the areas named.

use std::fmt;

use syndemic_model::AreaCode;
use syndemic_stats::deprivation::local_quantiles;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRule {
    /// Local quintiles (1 = most deprived), inclusive, within `within`.
    LocalQuintile {
        within: AreaCode,
        from: u32,
        to: u32,
    },
    /// National IMD deciles (1 = most deprived), inclusive, within `within`.
    NationalDecile {
        within: AreaCode,
        from: u32,
        to: u32,
    },
    Areas(Vec<AreaCode>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("`{0}` is not a target rule: write local-quintile:AREA:1 (the most deprived fifth within AREA), local-quintile:AREA:1-2, national-decile:AREA:1-2 or areas:CODE,CODE")]
    Syntax(String),
    #[error("{0}")]
    Area(String),
    #[error("{kind} must run from 1 to {max}, low to high: `{text}`")]
    Range {
        kind: &'static str,
        max: u32,
        text: String,
    },
    #[error("no small area with a deprivation rank lies within {0}: import the IMD and the lookups that place its small areas")]
    Empty(AreaCode),
    #[error("{within} has {n} small areas, too few for local quintiles")]
    TooFew { within: AreaCode, n: usize },
}

fn range(kind: &'static str, max: u32, text: &str) -> Result<(u32, u32), TargetError> {
    let bad = || TargetError::Range {
        kind,
        max,
        text: text.into(),
    };
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let a: u32 = a.trim().parse().map_err(|_| bad())?;
    let b: u32 = b.trim().parse().map_err(|_| bad())?;
    if a < 1 || b > max || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn code(text: &str) -> Result<AreaCode, TargetError> {
    AreaCode::parse(text.trim()).map_err(|e| TargetError::Area(e.to_string()))
}

impl TargetRule {
    /// "The most deprived 20 % of small areas within `within`".
    pub fn most_deprived_fifth(within: AreaCode) -> TargetRule {
        TargetRule::LocalQuintile {
            within,
            from: 1,
            to: 1,
        }
    }

    pub fn parse(text: &str) -> Result<TargetRule, TargetError> {
        let t = text.trim();
        let syntax = || TargetError::Syntax(t.into());
        let (kind, rest) = t.split_once(':').ok_or_else(syntax)?;
        match kind.trim() {
            "areas" => {
                let list = rest
                    .split([',', ' ', ';'])
                    .filter(|s| !s.trim().is_empty())
                    .map(code)
                    .collect::<Result<Vec<_>, _>>()?;
                if list.is_empty() {
                    return Err(syntax());
                }
                Ok(TargetRule::Areas(list))
            }
            "local-quintile" | "national-decile" => {
                let (area, groups) = rest.split_once(':').ok_or_else(syntax)?;
                let within = code(area)?;
                if kind == "local-quintile" {
                    let (from, to) = range("local quintiles", 5, groups)?;
                    Ok(TargetRule::LocalQuintile { within, from, to })
                } else {
                    let (from, to) = range("national deciles", 10, groups)?;
                    Ok(TargetRule::NationalDecile { within, from, to })
                }
            }
            _ => Err(syntax()),
        }
    }

    /// The parent area the rule ranks within, if it ranks.
    pub fn within(&self) -> Option<AreaCode> {
        match self {
            TargetRule::LocalQuintile { within, .. }
            | TargetRule::NationalDecile { within, .. } => Some(*within),
            TargetRule::Areas(_) => None,
        }
    }

    /// In words, for a page.
    pub fn describe(&self, within_name: &str) -> String {
        let groups = |from: u32, to: u32| {
            if from == to {
                format!("{from}")
            } else {
                format!("{from}–{to}")
            }
        };
        match self {
            TargetRule::LocalQuintile { from: 1, to: 1, .. } => {
                format!("The most deprived 20 % of small areas in {within_name} (local quintile 1)")
            }
            TargetRule::LocalQuintile { from, to, .. } => format!(
                "Local IMD quintiles {} of {within_name}",
                groups(*from, *to)
            ),
            TargetRule::NationalDecile { from, to, .. } => format!(
                "Small areas of {within_name} in national IMD deciles {}",
                groups(*from, *to)
            ),
            TargetRule::Areas(list) => format!("{} named small areas", list.len()),
        }
    }

    /// The small areas the rule means, most deprived first, from the ranked small
    /// areas within its parent (`inside`: every small area of the parent with its
    /// national rank and decile; ignored for a list).
    pub fn resolve(&self, inside: &[Ranked]) -> Result<Vec<AreaCode>, TargetError> {
        let mut sorted: Vec<&Ranked> = inside.iter().collect();
        sorted.sort_by_key(|r| (r.rank, r.area));
        match self {
            TargetRule::Areas(list) => Ok(list.clone()),
            TargetRule::NationalDecile { within, from, to } => {
                if sorted.is_empty() {
                    return Err(TargetError::Empty(*within));
                }
                Ok(sorted
                    .into_iter()
                    .filter(|r| (i64::from(*from)..=i64::from(*to)).contains(&r.decile))
                    .map(|r| r.area)
                    .collect())
            }
            TargetRule::LocalQuintile { within, from, to } => {
                if sorted.is_empty() {
                    return Err(TargetError::Empty(*within));
                }
                let ranks: Vec<f64> = sorted.iter().map(|r| r.rank as f64).collect();
                let q = local_quantiles(&vec![0; ranks.len()], 1, &ranks, 5).map_err(|_| {
                    TargetError::TooFew {
                        within: *within,
                        n: ranks.len(),
                    }
                })?;
                let mut out = Vec::new();
                for (r, q) in sorted.iter().zip(q) {
                    let q = q.ok_or(TargetError::TooFew {
                        within: *within,
                        n: ranks.len(),
                    })?;
                    if (*from..=*to).contains(&q) {
                        out.push(r.area);
                    }
                }
                Ok(out)
            }
        }
    }
}

impl fmt::Display for TargetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = |from: u32, to: u32| {
            if from == to {
                format!("{from}")
            } else {
                format!("{from}-{to}")
            }
        };
        match self {
            TargetRule::LocalQuintile { within, from, to } => {
                write!(f, "local-quintile:{within}:{}", groups(*from, *to))
            }
            TargetRule::NationalDecile { within, from, to } => {
                write!(f, "national-decile:{within}:{}", groups(*from, *to))
            }
            TargetRule::Areas(list) => {
                let codes: Vec<String> = list.iter().map(|c| c.to_string()).collect();
                write!(f, "areas:{}", codes.join(","))
            }
        }
    }
}

/// A small area with its national deprivation rank (1 = most deprived) and decile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranked {
    pub area: AreaCode,
    pub rank: i64,
    pub decile: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lsoa(i: usize) -> AreaCode {
        AreaCode::parse(&format!("E01{:06}", i)).unwrap()
    }

    fn district() -> AreaCode {
        AreaCode::parse("E08000009").unwrap()
    }

    #[test]
    fn rules_parse_and_print_back() {
        for text in [
            "local-quintile:E08000009:1",
            "local-quintile:E08000009:1-2",
            "national-decile:E08000009:1-2",
            "areas:E01000001,E01000002",
        ] {
            assert_eq!(TargetRule::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "most deprived",
            "local-quintile:E08000009:6",
            "local-quintile:E08000009:3-1",
            "national-decile:E08000009:0",
            "local-quintile:XYZ:1",
            "areas:",
        ] {
            assert!(TargetRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_deprived_fifth_is_local_quintile_one() {
        // Ten areas ranked 10, 20, …, 100: the fifth with the smallest ranks.
        let inside: Vec<Ranked> = (1..=10)
            .rev()
            .map(|i| Ranked {
                area: lsoa(i),
                rank: 10 * i as i64,
                decile: 1 + (i as i64 - 1) / 2,
            })
            .collect();
        let fifth = TargetRule::most_deprived_fifth(district())
            .resolve(&inside)
            .unwrap();
        assert_eq!(fifth, vec![lsoa(1), lsoa(2)]);
        let deciles = TargetRule::NationalDecile {
            within: district(),
            from: 1,
            to: 2,
        }
        .resolve(&inside)
        .unwrap();
        assert_eq!(deciles, vec![lsoa(1), lsoa(2), lsoa(3), lsoa(4)]);
        // Nothing ranked within the parent is an error, not an empty target.
        assert!(TargetRule::most_deprived_fifth(district())
            .resolve(&[])
            .is_err());
    }

    #[test]
    fn a_tie_on_the_boundary_goes_to_the_lower_quintile() {
        // Five areas; the first two share a rank: both in quintile 1.
        let ranks = [5, 5, 9, 12, 30];
        let inside: Vec<Ranked> = ranks
            .iter()
            .enumerate()
            .map(|(i, &rank)| Ranked {
                area: lsoa(i + 1),
                rank,
                decile: 1,
            })
            .collect();
        let fifth = TargetRule::most_deprived_fifth(district())
            .resolve(&inside)
            .unwrap();
        assert_eq!(fifth, vec![lsoa(1), lsoa(2)]);
    }
}

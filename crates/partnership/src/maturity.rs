//! The partnership's self-assessment of how mature its engagement with business
//! is: eight criteria, each scored 0 (not started) to 4 (leading), assessed again
//! each year so the change shows.
//!
//! The criteria follow what business-engagement frameworks for health partnerships
//! ask about — leadership, shared purpose, evidence, the workforce's health,
//! procurement and social value, inclusive recruitment, investment in communities
//! and delivering together. The overall score is the mean of the criteria scored,
//! and its level the level of that mean rounded down.

use serde::Serialize;

pub const CRITERIA: [(&str, &str); 8] = [
    (
        "leadership",
        "Business is represented in the partnership's leadership and governance",
    ),
    (
        "purpose",
        "Shared purpose: businesses have signed up to the place's health equity goals",
    ),
    (
        "insight",
        "The partnership knows its employers by size, sector and area",
    ),
    (
        "workforce",
        "Employers act on their workforce's health and wellbeing",
    ),
    (
        "procurement",
        "Public procurement secures social value from suppliers",
    ),
    (
        "recruitment",
        "Employers recruit from the most deprived areas and groups",
    ),
    (
        "investment",
        "Businesses invest time and money in communities",
    ),
    (
        "delivery",
        "Businesses deliver programmes jointly with the partnership",
    ),
];

pub const LEVELS: [&str; 5] = [
    "Not started",
    "Emerging",
    "Developing",
    "Maturing",
    "Leading",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub mean: Option<f64>,
    pub level: Option<&'static str>,
    pub scored: usize,
}

/// The overall score of an assessment's criteria (each 0–4; unscored left out).
pub fn score(scores: &[(String, u8)]) -> Score {
    let valid: Vec<f64> = scores
        .iter()
        .filter(|(c, s)| CRITERIA.iter().any(|(k, _)| k == c) && *s <= 4)
        .map(|(_, s)| f64::from(*s))
        .collect();
    if valid.is_empty() {
        return Score {
            mean: None,
            level: None,
            scored: 0,
        };
    }
    let mean = valid.iter().sum::<f64>() / valid.len() as f64;
    Score {
        mean: Some(mean),
        level: Some(LEVELS[(mean.floor() as usize).min(4)]),
        scored: valid.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_the_mean_rounded_down() {
        let s = score(&[("leadership".into(), 3), ("purpose".into(), 2)]);
        assert_eq!(s.mean, Some(2.5));
        assert_eq!(s.level, Some("Developing"));
        assert_eq!(s.scored, 2);
        let all = score(
            &CRITERIA
                .iter()
                .map(|(c, _)| ((*c).into(), 4))
                .collect::<Vec<_>>(),
        );
        assert_eq!(all.level, Some("Leading"));
        assert_eq!(score(&[("unknown".into(), 3)]).mean, None);
    }
}

//! Wellbeing scores as a commissioner reads them: each person's score at the
//! start of their case paired with their score at its close, so that the change
//! is measured within people (a paired design) rather than by comparing sums or
//! two different groups of people.
//!
//! A case counts once: its latest standing start score and its latest standing
//! close score (a correction replaces, a void removes). A case with only one of
//! the two is left out of the change and counted as unpaired. The mean change and
//! its interval are then a one-sample Student's t on the differences (see
//! `syndemic_stats::mean::mean_grouped`): `d̄ ∓ t(1 − α/2; n − 1) · s_d / √n`
//! (Altman, *Practical Statistics for Medical Research*, 1991, §9.5).

use std::collections::BTreeMap;

use crate::need::OutcomeCode;

/// One recorded score: which case, which code, the value and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score<'a> {
    pub case: &'a str,
    pub code: OutcomeCode,
    pub value: f64,
    pub at: i64,
}

/// The scale's two codes: at the start and at the close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub name: &'static str,
    pub start: OutcomeCode,
    pub close: OutcomeCode,
}

/// The wellbeing scales the hub records.
pub const SCALES: [Scale; 2] = [
    Scale {
        name: "ONS4 life satisfaction (0–10)",
        start: OutcomeCode::Ons4Start,
        close: OutcomeCode::Ons4Close,
    },
    Scale {
        name: "SWEMWBS (7–35)",
        start: OutcomeCode::SwemwbsStart,
        close: OutcomeCode::SwemwbsClose,
    },
];

/// The pairs of one scale, case by case.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairs {
    /// `(start, close)` of each case with both, in case order.
    pub pairs: Vec<(f64, f64)>,
    /// Cases with a start or a close score but not both.
    pub unpaired: usize,
}

impl Pairs {
    /// Each case's change, close minus start.
    pub fn differences(&self) -> Vec<f64> {
        self.pairs.iter().map(|(s, c)| c - s).collect()
    }

    /// Mean start and mean close scores of the paired cases.
    pub fn means(&self) -> Option<(f64, f64)> {
        let n = self.pairs.len() as f64;
        (n > 0.0).then(|| {
            let (s, c) = self
                .pairs
                .iter()
                .fold((0.0, 0.0), |(s, c), (a, b)| (s + a, c + b));
            (s / n, c / n)
        })
    }
}

/// A score and when it was recorded.
type Timed = (i64, f64);

/// Pairs each case's latest start and close score on `scale` (the scores given
/// must be the standing ones: voided outcomes left out by the caller).
pub fn pair(scores: &[Score], scale: Scale) -> Pairs {
    let mut latest: BTreeMap<&str, (Option<Timed>, Option<Timed>)> = BTreeMap::new();
    for s in scores {
        let slot = latest.entry(s.case).or_default();
        let which = if s.code == scale.start {
            &mut slot.0
        } else if s.code == scale.close {
            &mut slot.1
        } else {
            continue;
        };
        if which.is_none_or(|(at, _)| s.at >= at) {
            *which = Some((s.at, s.value));
        }
    }
    let mut pairs = Vec::new();
    let mut unpaired = 0;
    for (start, close) in latest.into_values() {
        match (start, close) {
            (Some((_, a)), Some((_, b))) => pairs.push((a, b)),
            (None, None) => {}
            _ => unpaired += 1,
        }
    }
    Pairs { pairs, unpaired }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(case: &str, code: OutcomeCode, value: f64, at: i64) -> Score<'_> {
        Score {
            case,
            code,
            value,
            at,
        }
    }

    #[test]
    fn each_case_is_paired_once_on_its_latest_scores() {
        use OutcomeCode::{Ons4Close as C, Ons4Start as S};
        let scores = [
            score("a", S, 4.0, 1),
            score("a", C, 7.0, 5),
            score("b", S, 2.0, 1),
            score("b", S, 5.0, 2), // recorded again later: the later one counts
            score("b", C, 6.0, 6),
            score("c", S, 6.0, 1),
            score("c", C, 9.0, 4),
            score("d", S, 3.0, 1), // never closed: unpaired
            score("e", OutcomeCode::MoneySaved, 100.0, 1),
        ];
        let p = pair(&scores, SCALES[0]);
        assert_eq!(p.pairs, [(4.0, 7.0), (5.0, 6.0), (6.0, 9.0)]);
        assert_eq!(p.unpaired, 1);
        assert_eq!(p.differences(), [3.0, 1.0, 3.0]);
        assert_eq!(p.means(), Some((5.0, 22.0 / 3.0)));
        assert_eq!(pair(&scores, SCALES[1]).pairs, []);
        assert_eq!(pair(&[], SCALES[0]).means(), None);
    }
}

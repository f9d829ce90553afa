//! Comparison with a benchmark, and the recent-trend test, as Fingertips does them.

use crate::confidence::ConfidenceLevel;
use crate::dist::chisq_quantile;

/// Which direction is good for an indicator: the workspace's one polarity.
pub use syndemic_model::Polarity;

/// The result of comparing an area with a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Better,
    Similar,
    Worse,
    Higher,
    Lower,
    NotCompared,
}

impl Comparison {
    pub fn label(self) -> &'static str {
        match self {
            Comparison::Better => "better",
            Comparison::Similar => "similar",
            Comparison::Worse => "worse",
            Comparison::Higher => "higher",
            Comparison::Lower => "lower",
            Comparison::NotCompared => "not compared",
        }
    }

    /// Fingertips' wording, as stored beside each value and shown on pages.
    pub fn wording(self) -> &'static str {
        match self {
            Comparison::Better => "Better",
            Comparison::Similar => "Similar",
            Comparison::Worse => "Worse",
            Comparison::Higher => "Higher",
            Comparison::Lower => "Lower",
            Comparison::NotCompared => "Not compared",
        }
    }

    /// Reads a stored or imported wording back: ours, or Fingertips' with its
    /// confidence level after the word (`Worse 99.8%`); any case. `None` for a
    /// wording that is not a comparison with a benchmark (quintiles such as
    /// `Highest`, or blank).
    pub fn from_wording(text: &str) -> Option<Comparison> {
        let first = text.split_whitespace().next()?.to_ascii_lowercase();
        let all = [
            Comparison::Better,
            Comparison::Similar,
            Comparison::Worse,
            Comparison::Higher,
            Comparison::Lower,
        ];
        if text.trim().eq_ignore_ascii_case("not compared") {
            return Some(Comparison::NotCompared);
        }
        all.into_iter().find(|c| c.label() == first)
    }
}

/// Compares an area's interval with a benchmark value, as Fingertips' "confidence
/// intervals overlapping reference value" method: when the whole interval is above
/// the benchmark the area is higher, when below it is lower, otherwise similar;
/// higher is better or worse as the polarity says. With a missing limit or benchmark
/// the area is not compared.
///
/// Source: OHID, *Fingertips: technical guidance — comparing an indicator value with
/// a benchmark*.
pub fn compare(
    lower: Option<f64>,
    upper: Option<f64>,
    benchmark: Option<f64>,
    polarity: Polarity,
) -> Comparison {
    let (Some(lo), Some(hi), Some(b)) = (lower, upper, benchmark) else {
        return Comparison::NotCompared;
    };
    let higher = if lo > b {
        Some(true)
    } else if hi < b {
        Some(false)
    } else {
        None
    };
    match (higher, polarity) {
        (None, _) => Comparison::Similar,
        (Some(true), Polarity::HigherIsBetter) | (Some(false), Polarity::LowerIsBetter) => {
            Comparison::Better
        }
        (Some(true), Polarity::LowerIsBetter) | (Some(false), Polarity::HigherIsBetter) => {
            Comparison::Worse
        }
        (Some(true), Polarity::NoJudgement) => Comparison::Higher,
        (Some(false), Polarity::NoJudgement) => Comparison::Lower,
    }
}

/// The recent trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Increasing,
    Decreasing,
    NoSignificantChange,
    /// Fewer than five points, or a point without counts.
    CannotBeCalculated,
}

/// A trend with its meaning under the indicator's polarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendResult {
    pub trend: Trend,
    /// `Some(true)` getting better, `Some(false)` getting worse, `None` neither.
    pub getting_better: Option<bool>,
    /// The chi-square statistic (1 degree of freedom), when computed.
    pub chi_square: Option<f64>,
}

/// Fingertips' recent trend over the last five points: the chi-square test for linear
/// trend in proportions (Cochran–Armitage) with scores 1…5. With counts `xᵢ` of `nᵢ`,
/// `p̄ = Σx/Σn`, `T = Σxᵢtᵢ − p̄Σnᵢtᵢ`, `V = p̄(1 − p̄)(Σnᵢtᵢ² − (Σnᵢtᵢ)²/Σn)`,
/// `χ² = T²/V` on one degree of freedom. The trend is increasing or decreasing (by
/// the sign of `T`) when `χ²` exceeds the quantile at `level` (Fingertips uses 99.9 %),
/// otherwise no significant change.
///
/// Source: Altman DG (1991), *Practical statistics for medical research*, 261–265;
/// OHID, *Fingertips: recent trends — technical guidance*.
///
/// `points` are `(count, denominator)` in time order; only the last five are used.
pub fn recent_trend(points: &[(f64, f64)], level: f64, polarity: Polarity) -> TrendResult {
    let cannot = TrendResult {
        trend: Trend::CannotBeCalculated,
        getting_better: None,
        chi_square: None,
    };
    if points.len() < 5 {
        return cannot;
    }
    let last = &points[points.len() - 5..];
    if last
        .iter()
        .any(|&(x, n)| !(x >= 0.0) || !(n > 0.0) || x > n || !n.is_finite())
    {
        return cannot;
    }
    let (mut sx, mut sn, mut sxt, mut snt, mut sntt) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &(x, n)) in last.iter().enumerate() {
        let t = (i + 1) as f64;
        sx += x;
        sn += n;
        sxt += x * t;
        snt += n * t;
        sntt += n * t * t;
    }
    let p = sx / sn;
    let t_stat = sxt - p * snt;
    let v = p * (1.0 - p) * (sntt - snt * snt / sn);
    if !(v > 0.0) {
        return TrendResult {
            trend: Trend::NoSignificantChange,
            getting_better: None,
            chi_square: Some(0.0),
        };
    }
    let chi = t_stat * t_stat / v;
    let level = ConfidenceLevel::new(level)
        .map(|l| l.fraction())
        .unwrap_or(0.999);
    let trend = if chi > chisq_quantile(level, 1.0) {
        if t_stat > 0.0 {
            Trend::Increasing
        } else {
            Trend::Decreasing
        }
    } else {
        Trend::NoSignificantChange
    };
    let getting_better = match (trend, polarity) {
        (Trend::Increasing, Polarity::HigherIsBetter)
        | (Trend::Decreasing, Polarity::LowerIsBetter) => Some(true),
        (Trend::Increasing, Polarity::LowerIsBetter)
        | (Trend::Decreasing, Polarity::HigherIsBetter) => Some(false),
        _ => None,
    };
    TrendResult {
        trend,
        getting_better,
        chi_square: Some(chi),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_follows_the_interval_and_polarity() {
        let b = Some(50.0);
        assert_eq!(
            compare(Some(51.0), Some(53.0), b, Polarity::HigherIsBetter),
            Comparison::Better
        );
        assert_eq!(
            compare(Some(51.0), Some(53.0), b, Polarity::LowerIsBetter),
            Comparison::Worse
        );
        assert_eq!(
            compare(Some(51.0), Some(53.0), b, Polarity::NoJudgement),
            Comparison::Higher
        );
        assert_eq!(
            compare(Some(45.0), Some(49.0), b, Polarity::HigherIsBetter),
            Comparison::Worse
        );
        assert_eq!(
            compare(Some(45.0), Some(49.0), b, Polarity::NoJudgement),
            Comparison::Lower
        );
        assert_eq!(
            compare(Some(49.0), Some(51.0), b, Polarity::HigherIsBetter),
            Comparison::Similar
        );
        // An interval that touches the benchmark is similar.
        assert_eq!(
            compare(Some(50.0), Some(51.0), b, Polarity::HigherIsBetter),
            Comparison::Similar
        );
        assert_eq!(
            compare(None, Some(51.0), b, Polarity::HigherIsBetter),
            Comparison::NotCompared
        );
        assert_eq!(
            compare(Some(1.0), Some(2.0), None, Polarity::HigherIsBetter),
            Comparison::NotCompared
        );
    }

    #[test]
    fn trend_statistic_matches_a_hand_computation() {
        // x = 10, 20, 30, 40, 50 of n = 100 each: p̄ = 0.3, Σxt = 550, Σnt = 1500,
        // T = 550 − 450 = 100, V = 0.21·(5500 − 1500²/500) = 0.21·1000 = 210, χ² = 47.619…
        let points: Vec<(f64, f64)> = [10.0, 20.0, 30.0, 40.0, 50.0]
            .iter()
            .map(|&x| (x, 100.0))
            .collect();
        let t = recent_trend(&points, 99.9, Polarity::LowerIsBetter);
        assert!((t.chi_square.unwrap() - 10000.0 / 210.0).abs() < 1e-9);
        assert_eq!(t.trend, Trend::Increasing);
        assert_eq!(t.getting_better, Some(false));
        let falling: Vec<(f64, f64)> = points.iter().rev().copied().collect();
        let t = recent_trend(&falling, 99.9, Polarity::LowerIsBetter);
        assert_eq!((t.trend, t.getting_better), (Trend::Decreasing, Some(true)));
    }

    #[test]
    fn trend_uses_the_last_five_points_and_needs_five() {
        let flat = vec![(30.0, 100.0); 5];
        assert_eq!(
            recent_trend(&flat, 99.9, Polarity::HigherIsBetter).trend,
            Trend::NoSignificantChange
        );
        assert_eq!(
            recent_trend(&flat[..4], 99.9, Polarity::HigherIsBetter).trend,
            Trend::CannotBeCalculated
        );
        // A steep early rise followed by five flat points is no significant change.
        let mut series = vec![(1.0, 100.0), (90.0, 100.0)];
        series.extend(flat);
        assert_eq!(
            recent_trend(&series, 99.9, Polarity::HigherIsBetter).trend,
            Trend::NoSignificantChange
        );
        // A small noisy change is not significant at 99.9 %.
        let noisy = [
            (30.0, 100.0),
            (31.0, 100.0),
            (29.0, 100.0),
            (32.0, 100.0),
            (31.0, 100.0),
        ];
        assert_eq!(
            recent_trend(&noisy, 99.9, Polarity::HigherIsBetter).trend,
            Trend::NoSignificantChange
        );
    }

    #[test]
    fn wordings_read_back() {
        for c in [
            Comparison::Better,
            Comparison::Similar,
            Comparison::Worse,
            Comparison::Higher,
            Comparison::Lower,
            Comparison::NotCompared,
        ] {
            assert_eq!(Comparison::from_wording(c.wording()), Some(c));
        }
        assert_eq!(
            Comparison::from_wording("Worse 99.8%"),
            Some(Comparison::Worse)
        );
        assert_eq!(Comparison::from_wording("better"), Some(Comparison::Better));
        assert_eq!(Comparison::from_wording("Highest"), None);
        assert_eq!(Comparison::from_wording(""), None);
    }
}

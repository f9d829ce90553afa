//! Comparison with a benchmark, and the recent-trend test, as Fingertips does them.

use crate::confidence::ConfidenceLevel;
use crate::dist::{chisq_quantile};

/// Which direction is good for an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    HighIsGood,
    LowIsGood,
    /// Higher or lower is reported without judgement.
    NoJudgement,
}

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
        (Some(true), Polarity::HighIsGood) | (Some(false), Polarity::LowIsGood) => {
            Comparison::Better
        }
        (Some(true), Polarity::LowIsGood) | (Some(false), Polarity::HighIsGood) => {
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
    let level = ConfidenceLevel::new(level).map(|l| l.fraction()).unwrap_or(0.999);
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
        (Trend::Increasing, Polarity::HighIsGood) | (Trend::Decreasing, Polarity::LowIsGood) => {
            Some(true)
        }
        (Trend::Increasing, Polarity::LowIsGood) | (Trend::Decreasing, Polarity::HighIsGood) => {
            Some(false)
        }
        _ => None,
    };
    TrendResult {
        trend,
        getting_better,
        chi_square: Some(chi),
    }
}

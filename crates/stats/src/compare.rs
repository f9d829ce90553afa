//! Comparison with a benchmark, and the recent-trend test, as Fingertips does them.

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
    verdict(chi, t_stat > 0.0, level, polarity)
}

/// The recent trend of values that are not a count out of a denominator (directly
/// standardised rates, life expectancy, ratios): a weighted least-squares line
/// through the last five values against time scores 1…5, each weighted by the
/// inverse of its variance, the variance taken from its 95 % limits as
/// `((upper − lower) / (2 × 1.959964))²`. With weights `wᵢ`, `t̄ = Σwᵢtᵢ/Σwᵢ`,
/// `ȳ = Σwᵢyᵢ/Σwᵢ`, the slope is `b = Σwᵢ(tᵢ − t̄)(yᵢ − ȳ) / Σwᵢ(tᵢ − t̄)²` with
/// variance `1 / Σwᵢ(tᵢ − t̄)²`, and `χ² = b² / var(b)` on one degree of freedom,
/// judged at `level` as [`recent_trend`] is (Fingertips uses 99.9 %). Limits that
/// are asymmetric (Dobson's for a DSR) give the variance of their mean half-width.
///
/// Source: OHID, *Fingertips: recent trends — technical guidance* (a weighted
/// regression for indicators other than proportions and crude rates); Kirkwood BR,
/// Sterne JAC (2003), *Essential medical statistics*, 2nd ed., ch. 10 (weighted
/// least squares and the Wald test of a slope).
///
/// `points` are `(value, lower95, upper95)` in time order; fewer than five, or a
/// point without a value or with no width between its limits, cannot be calculated.
pub fn recent_trend_of_values(
    points: &[(f64, f64, f64)],
    level: f64,
    polarity: Polarity,
) -> TrendResult {
    let cannot = TrendResult {
        trend: Trend::CannotBeCalculated,
        getting_better: None,
        chi_square: None,
    };
    if points.len() < 5 {
        return cannot;
    }
    let last = &points[points.len() - 5..];
    let mut weighted = Vec::with_capacity(5);
    for (i, &(y, lower, upper)) in last.iter().enumerate() {
        let se = (upper - lower) / (2.0 * 1.959_963_984_540_054);
        if !y.is_finite() || !(se > 0.0) || !se.is_finite() {
            return cannot;
        }
        weighted.push(((i + 1) as f64, y, 1.0 / (se * se)));
    }
    let sw: f64 = weighted.iter().map(|p| p.2).sum();
    let t_bar = weighted.iter().map(|p| p.2 * p.0).sum::<f64>() / sw;
    let y_bar = weighted.iter().map(|p| p.2 * p.1).sum::<f64>() / sw;
    let stt: f64 = weighted.iter().map(|p| p.2 * (p.0 - t_bar).powi(2)).sum();
    let sty: f64 = weighted
        .iter()
        .map(|p| p.2 * (p.0 - t_bar) * (p.1 - y_bar))
        .sum();
    if !(stt > 0.0) || !stt.is_finite() {
        return cannot;
    }
    let slope = sty / stt;
    let chi = slope * slope * stt;
    verdict(chi, slope > 0.0, level, polarity)
}

/// A trend statistic judged: significant at `level` (one degree of freedom),
/// rising or falling, and what that means under the polarity.
fn verdict(chi: f64, rising: bool, level: f64, polarity: Polarity) -> TrendResult {
    // A level in percent (99.9) or as a fraction (0.999), anywhere inside (0, 100 %);
    // the command line refuses anything else before it gets here.
    let fraction = if level > 1.0 { level / 100.0 } else { level };
    let level = if fraction > 0.0 && fraction < 1.0 {
        fraction
    } else {
        0.999
    };
    let trend = match (chi > chisq_quantile(level, 1.0), rising) {
        (true, true) => Trend::Increasing,
        (true, false) => Trend::Decreasing,
        (false, _) => Trend::NoSignificantChange,
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
    fn value_trend_matches_a_hand_computation() {
        // Values 100, 98, 96, 94, 92, each ±1.959964 (standard error 1, weight 1):
        // t̄ = 3, Σ(t − t̄)² = 10, slope = −2, χ² = 4 × 10 = 40 > 10.83 (99.9 %).
        let z = 1.959_963_984_540_054;
        let points: Vec<(f64, f64, f64)> = [100.0, 98.0, 96.0, 94.0, 92.0]
            .iter()
            .map(|&y| (y, y - z, y + z))
            .collect();
        let t = recent_trend_of_values(&points, 99.9, Polarity::LowerIsBetter);
        assert!((t.chi_square.unwrap() - 40.0).abs() < 1e-9, "{t:?}");
        assert_eq!((t.trend, t.getting_better), (Trend::Decreasing, Some(true)));
        // Wider limits (standard error 4): χ² = 40 / 16 = 2.5, no significant change.
        let wide: Vec<(f64, f64, f64)> = points
            .iter()
            .map(|&(y, ..)| (y, y - 4.0 * z, y + 4.0 * z))
            .collect();
        let t = recent_trend_of_values(&wide, 99.9, Polarity::LowerIsBetter);
        assert!((t.chi_square.unwrap() - 2.5).abs() < 1e-9);
        assert_eq!(t.trend, Trend::NoSignificantChange);
        // Weights: a point twice as precise counts four times. Values 0, 0, 0, 0, 10
        // with the last one's standard error 1/2: w = 1, 1, 1, 1, 4; Σw = 8,
        // t̄ = (1+2+3+4+20)/8 = 3.75, ȳ = 40/8 = 5,
        // Σw(t−t̄)² = 7.5625+3.0625+0.5625+0.0625+4·1.5625 = 17.5,
        // Σw(t−t̄)(y−ȳ) = −5·(−2.75−1.75−0.75+0.25) + 4·1.25·5 = 25 + 25 = 50,
        // slope = 50/17.5, χ² = slope² × 17.5 = 2500/17.5.
        let mut uneven: Vec<(f64, f64, f64)> = (0..4).map(|_| (0.0, -z, z)).collect();
        uneven.push((10.0, 10.0 - z / 2.0, 10.0 + z / 2.0));
        let t = recent_trend_of_values(&uneven, 99.9, Polarity::NoJudgement);
        assert!((t.chi_square.unwrap() - 2500.0 / 17.5).abs() < 1e-9);
        assert_eq!((t.trend, t.getting_better), (Trend::Increasing, None));
    }

    #[test]
    fn value_trend_needs_five_values_with_limits() {
        let point = (50.0, 45.0, 55.0);
        let t = recent_trend_of_values(&[point; 4], 99.9, Polarity::LowerIsBetter);
        assert_eq!(t.trend, Trend::CannotBeCalculated);
        let mut blank = vec![point; 5];
        blank[2] = (50.0, f64::NAN, f64::NAN);
        assert_eq!(
            recent_trend_of_values(&blank, 99.9, Polarity::LowerIsBetter).trend,
            Trend::CannotBeCalculated
        );
        // A flat series: no significant change; only the last five count.
        let mut series = vec![(10.0, 5.0, 15.0)];
        series.extend([point; 5]);
        let t = recent_trend_of_values(&series, 99.9, Polarity::LowerIsBetter);
        assert_eq!(t.trend, Trend::NoSignificantChange);
        assert_eq!(t.chi_square, Some(0.0));
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

//! Funnel plots, as Fingertips draws them: control limits at 95 % (two sigma) and
//! 99.8 % (three sigma) around the overall average, and each point's significance.

use crate::confidence::ConfidenceLevel;
use crate::dist::{gamma_quantile, normal_quantile};
use crate::error::{Field, Problem, StatsError};
use crate::rate::poisson_limits;

/// The four one-sided probabilities of the limits: lower and upper two-sigma
/// (0.025, 0.975), lower and upper three-sigma (0.001, 0.999).
pub const TWO_SIGMA: (f64, f64) = (0.025, 0.975);
pub const THREE_SIGMA: (f64, f64) = (0.001, 0.999);

/// Where a point sits against the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Significance {
    High0001,
    High0025,
    Low0001,
    Low0025,
    NotSignificant,
    /// DSRs of fewer than 10 events are not assessed.
    NotApplicable,
}

impl Significance {
    /// The label the reference uses.
    pub fn label(self) -> &'static str {
        match self {
            Significance::High0001 => "High (0.001)",
            Significance::High0025 => "High (0.025)",
            Significance::Low0001 => "Low (0.001)",
            Significance::Low0025 => "Low (0.025)",
            Significance::NotSignificant => "Not significant",
            Significance::NotApplicable => "Not applicable for events less than 10 for dsrs",
        }
    }

    fn from_limits(value: f64, low2: f64, high2: f64, low3: f64, high3: f64) -> Self {
        if value > high3 {
            Significance::High0001
        } else if value > high2 {
            Significance::High0025
        } else if value < low3 {
            Significance::Low0001
        } else if value < low2 {
            Significance::Low0025
        } else {
            Significance::NotSignificant
        }
    }
}

/// Control limit of a proportion for a denominator `n` around the average proportion
/// `a`, at one-sided probability `p`: the inversion of the Wilson score interval used
/// by Fingertips (`sigma_adjustment` in PHEindicatormethods). With `Z = Φ⁻¹(p)`:
///
/// `B = a(n/Z² + 1)`, `D = √((−8B)² − 64(1/Z² + 1/n)·a·(n(a(n/Z² + 2) − 1) + Z²(a − 1)))`,
/// `limit = (B ∓ D/8) / (1/Z² + 1/n) / n × m`, clamped to `[0, 100]` (the reference
/// clamps at 100 whatever the multiplier).
pub fn proportion_limit(p: f64, n: f64, average: f64, upper: bool, multiplier: f64) -> f64 {
    let z2 = normal_quantile(p).powi(2);
    let b = average * (n / z2 + 1.0);
    let inner = (-8.0 * b).powi(2)
        - 64.0
            * (1.0 / z2 + 1.0 / n)
            * average
            * (n * (average * (n / z2 + 2.0) - 1.0) + z2 * (average - 1.0));
    let d = inner.max(0.0).sqrt();
    let centre = if upper { b + d / 8.0 } else { b - d / 8.0 };
    (centre / (1.0 / z2 + 1.0 / n) / n * multiplier).clamp(0.0, 100.0)
}

/// The expected events `E` at which `o` observed events sit on a limit of one-sided
/// probability `p`: for an upper limit, `P(X ≥ o | E) = 1 − p`; for a lower, `P(X ≤ o |
/// E) = 1 − p`. Solved exactly through the incomplete gamma function (the reference
/// bisects to 1e-7).
pub fn poisson_expected(o: f64, p: f64, lower: bool) -> f64 {
    if lower {
        gamma_quantile(p, o + 1.0)
    } else {
        gamma_quantile(1.0 - p, o)
    }
}

/// One row of a funnel's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelRow {
    /// The x value: a denominator (proportions) or observed events (rates, ratios).
    pub x: f64,
    pub lower_2s: f64,
    pub upper_2s: f64,
    pub lower_3s: f64,
    pub upper_3s: f64,
}

/// The 100 x values of a funnel: from `max(1, axis_min)` to `axis_max`, in
/// geometrically growing whole steps of at least 1:
/// `xⱼ = max(round((max/xⱼ₋₁)^(1/(101 − j))·xⱼ₋₁), xⱼ₋₁ + 1)`.
///
/// The axis starts at 0 when the largest denominator is more than twice the smallest,
/// otherwise at `0.95 × min` rounded down to its leading digit; it ends at `1.05 ×
/// max` rounded up to two significant figures (Fingertips funnel plot tool).
pub fn axis(min: f64, max: f64) -> Vec<f64> {
    axis_points(min, max, AxisSteps::Standard)
}

/// The 100 x values of a ratio funnel: like [`axis`], over the expected events, with
/// the reference's step exponent `1/(101 − (j − 1))` for ratios.
pub fn ratio_axis(min_expected: f64, max_expected: f64) -> Vec<f64> {
    axis_points(min_expected, max_expected, AxisSteps::Ratio)
}

/// The step exponent of an axis: the reference uses one for proportions and rates
/// and another for ratios.
#[derive(Clone, Copy, PartialEq)]
enum AxisSteps {
    Standard,
    Ratio,
}

fn axis_points(min: f64, max: f64, steps: AxisSteps) -> Vec<f64> {
    let axis_min = if max > 2.0 * min {
        0.0
    } else {
        let x = (0.95 * min).floor();
        let e = 10f64.powf(x.log10().floor());
        (x / e).floor() * e
    };
    let top = 1.05 * max;
    let e = 10f64.powf(top.log10().floor() - 1.0);
    let axis_max = (top / e).ceil() * e;
    let mut xs = Vec::with_capacity(100);
    xs.push(axis_min.max(1.0));
    for j in 2..=100 {
        let prev = xs[j - 2];
        let k = f64::from(match steps {
            AxisSteps::Standard => 101 - j as u32,
            AxisSteps::Ratio => 102 - j as u32,
        });
        xs.push(
            ((axis_max / prev).powf(1.0 / k) * prev)
                .round()
                .max(prev + 1.0),
        );
    }
    xs
}

fn check_pairs(num: &[f64], den: &[f64], proportion: bool) -> Result<(), StatsError> {
    crate::estimate::same_len(num.len(), den.len())?;
    for (i, (&x, &n)) in num.iter().zip(den).enumerate() {
        if !x.is_finite() {
            return Err(StatsError::invalid(i, Field::Numerator, Problem::NotFinite));
        }
        if x < 0.0 {
            return Err(StatsError::invalid(
                i,
                Field::Numerator,
                Problem::Negative(x),
            ));
        }
        if !(n > 0.0) || !n.is_finite() {
            return Err(StatsError::invalid(
                i,
                Field::Denominator,
                Problem::NotPositive(n),
            ));
        }
        if proportion && x > n {
            return Err(StatsError::invalid(
                i,
                Field::Numerator,
                Problem::AboveDenominator {
                    numerator: x,
                    denominator: n,
                },
            ));
        }
    }
    Ok(())
}

/// Funnel limits for proportions over 100 denominators: baseline `Σx/Σn × m`, limits
/// by [`proportion_limit`]. Returns the baseline and the rows.
pub fn proportion_funnel(
    num: &[f64],
    den: &[f64],
    multiplier: f64,
) -> Result<(f64, Vec<FunnelRow>), StatsError> {
    check_pairs(num, den, true)?;
    let average = num.iter().sum::<f64>() / den.iter().sum::<f64>();
    let min = den.iter().copied().fold(f64::INFINITY, f64::min);
    let max = den.iter().copied().fold(0.0, f64::max);
    let rows = axis(min, max)
        .into_iter()
        .map(|n| FunnelRow {
            x: n,
            lower_2s: proportion_limit(TWO_SIGMA.1, n, average, false, multiplier),
            upper_2s: proportion_limit(TWO_SIGMA.1, n, average, true, multiplier),
            lower_3s: proportion_limit(THREE_SIGMA.1, n, average, false, multiplier),
            upper_3s: proportion_limit(THREE_SIGMA.1, n, average, true, multiplier),
        })
        .collect();
    Ok((average * multiplier, rows))
}

/// Significance of each proportion against the funnel around `Σx/Σn`.
pub fn proportion_significance(
    num: &[f64],
    den: &[f64],
    multiplier: f64,
) -> Result<Vec<Significance>, StatsError> {
    check_pairs(num, den, true)?;
    let average = num.iter().sum::<f64>() / den.iter().sum::<f64>();
    Ok(num
        .iter()
        .zip(den)
        .map(|(&x, &n)| {
            let lim = |p, up| proportion_limit(p, n, average, up, multiplier);
            Significance::from_limits(
                x / n * multiplier,
                lim(TWO_SIGMA.1, false),
                lim(TWO_SIGMA.1, true),
                lim(THREE_SIGMA.1, false),
                lim(THREE_SIGMA.1, true),
            )
        })
        .collect())
}

/// Significance of observed events `o` against expected `e`: the Poisson limits of
/// `o` (exact below 10, Byar's from 10; lower 0 when `o = 0`) at 95 % and 99.8 %
/// compared with `e`. Used for ratios (observed/expected) and for rates, where
/// `e = average rate × denominator`.
pub fn poisson_significance(o: f64, e: f64) -> Significance {
    let (l2, u2) = poisson_limits(o, ConfidenceLevel::P95);
    let (l3, u3) = poisson_limits(o, ConfidenceLevel::P99_8);
    let (l2, l3) = (l2.unwrap_or(0.0), l3.unwrap_or(0.0));
    let (u2, u3) = (u2.unwrap_or(f64::INFINITY), u3.unwrap_or(f64::INFINITY));
    if l3 > e {
        Significance::High0001
    } else if l2 > e {
        Significance::High0025
    } else if u3 < e {
        Significance::Low0001
    } else if u2 < e {
        Significance::Low0025
    } else {
        Significance::NotSignificant
    }
}

/// Significance of ratios `observed / expected` (e.g. SMRs).
pub fn ratio_significance(
    observed: &[f64],
    expected: &[f64],
) -> Result<Vec<Significance>, StatsError> {
    check_pairs(observed, expected, false)?;
    Ok(observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| poisson_significance(o, e))
        .collect())
}

/// Kind of rate in a rate funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateType {
    Dsr,
    Crude,
}

/// Denominators of rates: taken from `den` where given, otherwise derived as
/// `m·O/rate`. A DSR with no events has no derivable denominator (`None`, left out of
/// the average, as the reference's NA); a crude rate with no events needs `den`.
pub fn derived_denominators(
    count: &[f64],
    rate: &[Option<f64>],
    den: Option<&[Option<f64>]>,
    rate_type: RateType,
    multiplier: f64,
) -> Result<Vec<Option<f64>>, StatsError> {
    crate::estimate::same_len(count.len(), rate.len())?;
    count
        .iter()
        .zip(rate)
        .enumerate()
        .map(|(i, (&o, &r))| {
            if !o.is_finite() {
                return Err(StatsError::invalid(i, Field::Numerator, Problem::NotFinite));
            }
            if o < 0.0 {
                return Err(StatsError::invalid(
                    i,
                    Field::Numerator,
                    Problem::Negative(o),
                ));
            }
            match (den.and_then(|d| d[i]), r) {
                (Some(d), _) if d > 0.0 => Ok(Some(d)),
                (Some(d), _) => Err(StatsError::invalid(
                    i,
                    Field::Denominator,
                    Problem::NotPositive(d),
                )),
                (None, Some(r)) if o > 0.0 && r > 0.0 => Ok(Some(multiplier * o / r)),
                (None, _) if rate_type == RateType::Dsr && o == 0.0 => Ok(None),
                (None, _) => Err(StatsError::invalid(i, Field::Denominator, Problem::Missing)),
            }
        })
        .collect()
}

/// The funnel's centre line for rates, per person: `ΣO / Σden` over the rows that
/// have a denominator.
pub fn average_rate(count: &[f64], dens: &[Option<f64>]) -> f64 {
    let (events, people) = count
        .iter()
        .zip(dens)
        .filter_map(|(&o, d)| d.map(|d| (o, d)))
        .fold((0.0, 0.0), |(a, b), (o, d)| (a + o, b + d));
    events / people
}

/// Significance of rates against the funnel around the average rate `ΣO/Σden` (rows
/// without a denominator left out): each area's events are compared with `average ×
/// den` by [`poisson_significance`]. DSRs of fewer than 10 events are not assessed.
pub fn rate_significance(
    count: &[f64],
    rate: &[Option<f64>],
    den: Option<&[Option<f64>]>,
    rate_type: RateType,
    multiplier: f64,
) -> Result<Vec<Significance>, StatsError> {
    let dens = derived_denominators(count, rate, den, rate_type, multiplier)?;
    let average = average_rate(count, &dens);
    Ok(count
        .iter()
        .zip(&dens)
        .map(|(&o, &d)| match d {
            _ if rate_type == RateType::Dsr && o < 10.0 => Significance::NotApplicable,
            Some(d) => poisson_significance(o, average * d),
            None => Significance::NotApplicable,
        })
        .collect())
}

/// A rate funnel's plotted point: the rate to chart (blank for a DSR of fewer than 10
/// events, or without a count) and the denominator per year of data, as
/// `calculate_funnel_points`: the given denominator, or `m·O/rate`, divided by
/// `years`.
pub fn funnel_points(
    count: &[Option<f64>],
    rate: &[Option<f64>],
    den: Option<&[Option<f64>]>,
    rate_type: RateType,
    multiplier: f64,
    years: f64,
) -> Vec<(Option<f64>, Option<f64>)> {
    count
        .iter()
        .zip(rate)
        .enumerate()
        .map(|(i, (&o, &r))| {
            let chartable = match (rate_type, o) {
                (_, None) => false,
                (RateType::Dsr, Some(o)) => o >= 10.0,
                (RateType::Crude, Some(_)) => true,
            };
            let derived = match (den.and_then(|d| d[i]), o, r) {
                (Some(d), _, _) => Some(d),
                (None, Some(o), Some(r)) if r > 0.0 => Some(multiplier * o / r),
                _ => None,
            };
            (
                r.filter(|_| chartable),
                derived.filter(|_| chartable).map(|d| d / years),
            )
        })
        .collect()
}

/// Ratio funnel limits at observed events `o`: the ratio `o/E` at each limit's
/// expected events `E` ([`poisson_expected`]). Returns `(E, ratio)` per limit in the
/// order lower 2s, upper 2s, lower 3s, upper 3s.
pub fn ratio_limits(o: f64) -> [(f64, f64); 4] {
    [
        (TWO_SIGMA.1, true),
        (TWO_SIGMA.0, false),
        (THREE_SIGMA.1, true),
        (THREE_SIGMA.0, false),
    ]
    .map(|(p, lower)| {
        let e = if lower {
            poisson_expected(o, p, true)
        } else {
            gamma_quantile(p, o)
        };
        (e, o / e)
    })
}

/// Rate funnel limits at observed events `o` around the average rate `average` (per
/// person): the population at each limit, `E/average`, per year of data, and the rate
/// `o/(E/average) × m`. Order: lower 2s, upper 2s, lower 3s, upper 3s.
pub fn rate_limits(o: f64, average: f64, multiplier: f64, years: f64) -> [(f64, f64); 4] {
    ratio_limits(o).map(|(e, _)| {
        let pop = e / average;
        (pop / years, o / pop * multiplier)
    })
}

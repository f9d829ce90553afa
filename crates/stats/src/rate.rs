//! Crude rates with exact Poisson (below 10 events) or Byar's limits, and the Poisson
//! limit helpers other methods share.

use crate::confidence::ConfidenceLevel;
use crate::dist::gamma_quantile;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_levels, finite, par_rows, same_len, Estimates, Note, Row};
use crate::proportion::{totals, Totals};

/// Byar's approximation to the Poisson limits of an observed count `o`:
///
/// `lower = o·(1 − 1/(9o) − z/(3√o))³`, `upper = (o+1)·(1 − 1/(9(o+1)) + z/(3√(o+1)))³`
///
/// Source: Breslow NE, Day NE (1987), *Statistical methods in cancer research, vol.
/// II*, IARC, p. 69; as `byars_lower`/`byars_upper` in PHEindicatormethods. The lower
/// limit is `None` where the formula goes below zero (as the reference's NA).
pub fn byars(o: f64, z: f64) -> (Option<f64>, f64) {
    let lower = if o > 0.0 {
        let l = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * o.sqrt())).powi(3);
        (l >= 0.0).then_some(l)
    } else {
        None
    };
    let o1 = o + 1.0;
    let upper = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * o1.sqrt())).powi(3);
    (lower, upper)
}

/// Exact Poisson limits of an observed count `o` from the chi-square distribution:
///
/// `lower = χ²((1−c)/2; 2o)/2`, `upper = χ²(c + (1−c)/2; 2o + 2)/2`
///
/// Source: Ulm K (1990), *A simple method to calculate the confidence interval of a
/// standardized mortality ratio*, Am J Epidemiol 131:373–375. For `o = 0` the lower
/// limit is 0.
pub fn exact_poisson(o: f64, level: ConfidenceLevel) -> (f64, f64) {
    (
        gamma_quantile(level.lower_tail(), o),
        gamma_quantile(level.upper_tail(), o + 1.0),
    )
}

/// Which Poisson limits were used for a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoissonMethod {
    /// Exact chi-square limits (fewer than 10 events).
    Exact,
    /// Byar's approximation (10 or more events).
    Byars,
}

impl PoissonMethod {
    /// The reference's rule: exact below 10 events, Byar's from 10.
    pub fn for_count(o: f64) -> Self {
        if o < 10.0 {
            PoissonMethod::Exact
        } else {
            PoissonMethod::Byars
        }
    }
}

/// Poisson limits of `o` by the reference's rule (exact below 10, Byar's from 10).
pub fn poisson_limits(o: f64, level: ConfidenceLevel) -> (Option<f64>, Option<f64>) {
    poisson_limits_z(o, level, level.z())
}

/// [`poisson_limits`] with the level's `z` computed once by the caller.
pub(crate) fn poisson_limits_z(
    o: f64,
    level: ConfidenceLevel,
    z: f64,
) -> (Option<f64>, Option<f64>) {
    match PoissonMethod::for_count(o) {
        PoissonMethod::Exact => {
            let (l, u) = exact_poisson(o, level);
            (Some(l), Some(u))
        }
        PoissonMethod::Byars => {
            let (l, u) = byars(o, z);
            (l, Some(u))
        }
    }
}

fn check(row: usize, x: Option<f64>, n: Option<f64>) -> Result<(), StatsError> {
    let x = finite(x, row, Field::Numerator)?;
    let n = finite(n, row, Field::Denominator)?;
    if let Some(x) = x.filter(|&x| x < 0.0) {
        return Err(StatsError::invalid(
            row,
            Field::Numerator,
            Problem::Negative(x),
        ));
    }
    if let Some(n) = n.filter(|&n| n <= 0.0) {
        return Err(StatsError::invalid(
            row,
            Field::Denominator,
            Problem::NotPositive(n),
        ));
    }
    Ok(())
}

/// Writes the rate and its limits into `row` (its value, its first `levels.len()`
/// limits and its note; later limits are left as they are).
fn estimate(
    x: f64,
    n: f64,
    multiplier: f64,
    levels: &[ConfidenceLevel],
    zs: &[f64],
    rule: PoissonRule,
    row: &mut Row,
) {
    let scale = multiplier / n;
    row.value = Some(x * scale);
    row.note = None;
    for ((slot, &level), &z) in row.limits.iter_mut().zip(levels).zip(zs) {
        let (lo, hi) = match rule {
            PoissonRule::ExactBelow10 => poisson_limits_z(x, level, z),
            PoissonRule::Byars => {
                let (lo, hi) = byars(x, z);
                (lo, Some(hi))
            }
        };
        *slot = (lo.map(|l| l * scale), hi.map(|u| u * scale));
    }
}

/// Which Poisson limits a crude rate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoissonRule {
    /// Exact below 10 events, Byar's from 10: PHEindicatormethods' `phe_rate`.
    #[default]
    ExactBelow10,
    /// Byar's for every count: what OHID Fingertips publishes for crude rates.
    Byars,
}

/// Row-at-a-time [`rate`], for callers that stream rows ([`rate`] is built on it).
#[derive(Debug, Clone)]
pub struct RateKernel {
    multiplier: f64,
    levels: Vec<ConfidenceLevel>,
    zs: Vec<f64>,
    rule: PoissonRule,
}

impl RateKernel {
    pub fn new(multiplier: f64, levels: &[ConfidenceLevel]) -> Result<Self, StatsError> {
        Self::with_rule(multiplier, levels, PoissonRule::ExactBelow10)
    }

    /// A kernel with the given Poisson rule.
    pub fn with_rule(
        multiplier: f64,
        levels: &[ConfidenceLevel],
        rule: PoissonRule,
    ) -> Result<Self, StatsError> {
        check_levels(levels)?;
        Ok(RateKernel {
            multiplier,
            levels: levels.to_vec(),
            zs: levels.iter().map(|l| l.z()).collect(),
            rule,
        })
    }

    /// The result of row `i` (its index is used in errors).
    pub fn row(&self, i: usize, x: Option<f64>, n: Option<f64>) -> Result<Row, StatsError> {
        let mut row = Row::default();
        self.row_into(i, x, n, &mut row)?;
        Ok(row)
    }

    /// [`row`](Self::row) written into `out`, for a caller that reuses one [`Row`]
    /// across millions of rows (a `Row` holds every level's limits, so returning
    /// one by value per row costs more than the arithmetic). Only the first
    /// `levels.len()` limits are written.
    pub fn row_into(
        &self,
        i: usize,
        x: Option<f64>,
        n: Option<f64>,
        out: &mut Row,
    ) -> Result<(), StatsError> {
        check(i, x, n)?;
        match (x, n) {
            (Some(x), Some(n)) => estimate(
                x,
                n,
                self.multiplier,
                &self.levels,
                &self.zs,
                self.rule,
                out,
            ),
            _ => *out = Row::blank(Note::MissingInput),
        }
        Ok(())
    }
}

/// Crude rate `x/n × multiplier`, one result per row, with exact Poisson limits when
/// `x < 10` and Byar's otherwise, each divided by `n` and scaled (as `phe_rate`).
///
/// A missing numerator or denominator gives a blank row. Errors: numerator below zero,
/// denominator zero or below. There is no check that `x ≤ n` (a rate may exceed 1).
pub fn rate(
    x: &[Option<f64>],
    n: &[Option<f64>],
    multiplier: f64,
    levels: &[ConfidenceLevel],
) -> Result<Estimates, StatsError> {
    rate_with(x, n, multiplier, levels, PoissonRule::ExactBelow10)
}

/// [`rate`] with a chosen Poisson rule: `PoissonRule::Byars` reproduces the limits
/// OHID Fingertips publishes for crude rates, which use Byar's method at every count.
pub fn rate_with(
    x: &[Option<f64>],
    n: &[Option<f64>],
    multiplier: f64,
    levels: &[ConfidenceLevel],
    rule: PoissonRule,
) -> Result<Estimates, StatsError> {
    same_len(x.len(), n.len())?;
    let kernel = RateKernel::with_rule(multiplier, levels, rule)?;
    par_rows(x.len(), levels, |i| kernel.row(i, x[i], n[i]))
}

/// Crude rate per group: numerators and denominators summed within each group first.
pub fn rate_grouped(
    groups: &[u32],
    n_groups: usize,
    x: &[Option<f64>],
    n: &[Option<f64>],
    multiplier: f64,
    levels: &[ConfidenceLevel],
) -> Result<(Totals, Estimates), StatsError> {
    rate_grouped_with(
        groups,
        n_groups,
        x,
        n,
        multiplier,
        levels,
        PoissonRule::ExactBelow10,
    )
}

/// [`rate_grouped`] with a chosen Poisson rule.
pub fn rate_grouped_with(
    groups: &[u32],
    n_groups: usize,
    x: &[Option<f64>],
    n: &[Option<f64>],
    multiplier: f64,
    levels: &[ConfidenceLevel],
    rule: PoissonRule,
) -> Result<(Totals, Estimates), StatsError> {
    let totals = totals(groups, n_groups, x, n, check)?;
    let kernel = RateKernel::with_rule(multiplier, levels, rule)?;
    let est = par_rows(n_groups, levels, |g| {
        kernel.row(g, totals.numerator[g], totals.denominator[g])
    })?;
    Ok((totals, est))
}

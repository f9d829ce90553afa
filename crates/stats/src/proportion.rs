//! Proportions with the Wilson score interval.

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_levels, finite, group_sums, par_rows, same_len, Estimates, Note, Row};

/// Wilson score limits for `x` events out of `n`, at normal quantile `z`:
///
/// `(2x + z² ∓ z·√(z² + 4x(1 − x/n))) / (2(n + z²))`
///
/// Source: Wilson EB (1927), *Probable inference, the law of succession, and
/// statistical inference*, JASA 22:209–212; as `wilsonscore` in PHEindicatormethods.
pub fn wilson(x: f64, n: f64, z: f64) -> (f64, f64) {
    let z2 = z * z;
    let root = z * (z2 + 4.0 * x * (1.0 - x / n)).max(0.0).sqrt();
    let denom = 2.0 * (n + z2);
    ((2.0 * x + z2 - root) / denom, (2.0 * x + z2 + root) / denom)
}

/// Checks one row as `phe_proportion` does: numerator ≥ 0, denominator > 0, numerator ≤
/// denominator. Missing values pass (they give a blank result).
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
    if let (Some(x), Some(n)) = (x, n) {
        if x > n {
            return Err(StatsError::invalid(
                row,
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

/// Writes the proportion and its limits into `row` (its value, its first
/// `zs.len()` limits and its note).
fn estimate(x: f64, n: f64, multiplier: f64, zs: &[f64], row: &mut Row) {
    row.value = Some(x / n * multiplier);
    row.note = None;
    for (slot, &z) in row.limits.iter_mut().zip(zs) {
        let (lo, hi) = wilson(x, n, z);
        *slot = (Some(lo * multiplier), Some(hi * multiplier));
    }
}

/// Row-at-a-time [`proportion`], for callers that stream rows: the same checks and
/// arithmetic ([`proportion`] is built on it).
#[derive(Debug, Clone)]
pub struct ProportionKernel {
    multiplier: f64,
    zs: Vec<f64>,
}

impl ProportionKernel {
    pub fn new(multiplier: f64, levels: &[ConfidenceLevel]) -> Result<Self, StatsError> {
        check_levels(levels)?;
        Ok(ProportionKernel {
            multiplier,
            zs: levels.iter().map(|l| l.z()).collect(),
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
            (Some(x), Some(n)) => estimate(x, n, self.multiplier, &self.zs, out),
            _ => *out = Row::blank(Note::MissingInput),
        }
        Ok(())
    }
}

/// Proportion `x/n × multiplier` with Wilson limits, one result per row.
///
/// A missing numerator or denominator gives a blank row (note "missing input"); the
/// other rows still compute. Errors, as `phe_proportion`: numerator below zero,
/// denominator zero or below, numerator above denominator.
pub fn proportion(
    x: &[Option<f64>],
    n: &[Option<f64>],
    multiplier: f64,
    levels: &[ConfidenceLevel],
) -> Result<Estimates, StatsError> {
    same_len(x.len(), n.len())?;
    let kernel = ProportionKernel::new(multiplier, levels)?;
    par_rows(x.len(), levels, |i| kernel.row(i, x[i], n[i]))
}

/// Per-group totals of numerator and denominator (`None` where a row of the group is
/// missing one, as R's `sum` without `na.rm`).
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub numerator: Vec<Option<f64>>,
    pub denominator: Vec<Option<f64>>,
}

/// Sums numerator and denominator per group, checking each row as the method does.
pub(crate) fn totals(
    groups: &[u32],
    n_groups: usize,
    x: &[Option<f64>],
    n: &[Option<f64>],
    check_row: impl Fn(usize, Option<f64>, Option<f64>) -> Result<(), StatsError> + Sync,
) -> Result<Totals, StatsError> {
    same_len(groups.len(), x.len())?;
    same_len(x.len(), n.len())?;
    let sums = group_sums::<4, _>(groups, n_groups, |i| {
        check_row(i, x[i], n[i])?;
        Ok([
            x[i].unwrap_or(0.0),
            n[i].unwrap_or(0.0),
            f64::from(u8::from(x[i].is_none())),
            f64::from(u8::from(n[i].is_none())),
        ])
    })?;
    Ok(Totals {
        numerator: sums.iter().map(|s| (s[2] == 0.0).then_some(s[0])).collect(),
        denominator: sums.iter().map(|s| (s[3] == 0.0).then_some(s[1])).collect(),
    })
}

/// Proportion per group: numerators and denominators are summed within each group,
/// then [`proportion`] is applied to the totals. `groups[i]` is row `i`'s group id in
/// `0..n_groups`.
pub fn proportion_grouped(
    groups: &[u32],
    n_groups: usize,
    x: &[Option<f64>],
    n: &[Option<f64>],
    multiplier: f64,
    levels: &[ConfidenceLevel],
) -> Result<(Totals, Estimates), StatsError> {
    let totals = totals(groups, n_groups, x, n, check)?;
    let kernel = ProportionKernel::new(multiplier, levels)?;
    let est = par_rows(n_groups, levels, |g| {
        kernel.row(g, totals.numerator[g], totals.denominator[g])
    })?;
    Ok((totals, est))
}

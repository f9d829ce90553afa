//! Indirectly standardised ratios (e.g. SMRs) and rates.

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{finite, group_sums, par_rows, same_len, Estimates, Note, Row};
use crate::rate::poisson_limits_z;

/// What to report: the ratio `O/E × reference value`, or the rate `O/E × reference rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IsrKind {
    /// Ratio scaled by a reference value (1, or 100 for an SMR in percent).
    Ratio { ref_value: f64 },
    /// Rate per `multiplier`, the reference rate being `Σx_ref/Σn_ref × multiplier`
    /// over the group's rows, or `ref_rate` when given.
    Rate {
        multiplier: f64,
        ref_rate: Option<f64>,
    },
}

/// Inputs of an indirect standardisation: one row per group × age band.
#[derive(Debug, Clone, Copy)]
pub struct IsrInput<'a> {
    pub groups: &'a [u32],
    pub n_groups: usize,
    /// Observed events per band (missing ignored); unused when `observed_totals` given.
    pub count: &'a [Option<f64>],
    /// Local population per band (missing counts as 0; zero is allowed).
    pub population: &'a [Option<f64>],
    /// Reference events per band (missing counts as 0).
    pub ref_count: &'a [Option<f64>],
    /// Reference population per band.
    pub ref_population: &'a [Option<f64>],
    /// Observed events given as one total per group instead of per band.
    pub observed_totals: Option<&'a [Option<f64>]>,
    pub kind: IsrKind,
}

/// Observed, expected and (for rates) the reference rate per group.
#[derive(Debug, Clone, PartialEq)]
pub struct IsrTotals {
    pub observed: Vec<Option<f64>>,
    pub expected: Vec<f64>,
    pub ref_rate: Vec<Option<f64>>,
}

/// Indirectly standardised ratio or rate per group, as `calculate_ISRatio` /
/// `calculate_ISRate`:
///
/// - expected `E = Σ x_refᵢ / n_refᵢ · nᵢ`, observed `O = Σ xᵢ` (or the group total);
/// - ratio `O/E × ref_value`; rate `O/E × ref_rate`, `ref_rate = Σx_ref/Σn_ref × m`;
/// - limits: the Poisson limits of `O` (exact chi-square below 10 events, Byar's
///   from 10) divided by `E` and scaled the same way.
///
/// Source: Breslow NE, Day NE (1987), *Statistical methods in cancer research, vol.
/// II*, IARC; PHE *Technical guide: indirectly standardised rates and ratios*.
///
/// No suppression for small counts. A group with `E = 0` is blank ("no expected
/// events"), a group with no observed total is blank ("missing input"). Errors: a
/// negative count, population, reference count, or observed total; a reference
/// population of zero or below.
pub fn isr(
    input: &IsrInput<'_>,
    levels: &[ConfidenceLevel],
) -> Result<(IsrTotals, Estimates), StatsError> {
    let n = input.groups.len();
    same_len(n, input.count.len())?;
    same_len(n, input.population.len())?;
    same_len(n, input.ref_count.len())?;
    same_len(n, input.ref_population.len())?;
    let non_negative = |v: Option<f64>, i: usize, field: Field| -> Result<f64, StatsError> {
        let v = finite(v, i, field)?.unwrap_or(0.0);
        if v < 0.0 {
            return Err(StatsError::invalid(i, field, Problem::Negative(v)));
        }
        Ok(v)
    };
    // Per group: [O, E, Σx_ref, Σn_ref]
    let sums = group_sums::<4, _>(input.groups, input.n_groups, |i| {
        let o = if input.observed_totals.is_some() {
            0.0
        } else {
            non_negative(input.count[i], i, Field::Count)?
        };
        let pop = non_negative(input.population[i], i, Field::Population)?;
        let x_ref = non_negative(input.ref_count[i], i, Field::ReferenceCount)?;
        let n_ref = finite(input.ref_population[i], i, Field::ReferencePopulation)?;
        let expected = match n_ref {
            Some(n_ref) if n_ref <= 0.0 => {
                return Err(StatsError::invalid(
                    i,
                    Field::ReferencePopulation,
                    Problem::NotPositive(n_ref),
                ))
            }
            Some(n_ref) => x_ref / n_ref * pop,
            None => 0.0,
        };
        Ok([o, expected, x_ref, n_ref.unwrap_or(0.0)])
    })?;
    let observed: Vec<Option<f64>> = match input.observed_totals {
        Some(totals) => {
            same_len(totals.len(), input.n_groups)?;
            for (g, t) in totals.iter().enumerate() {
                if let Some(t) = finite(*t, g, Field::Count)?.filter(|&t| t < 0.0) {
                    return Err(StatsError::invalid(g, Field::Count, Problem::Negative(t)));
                }
            }
            totals.to_vec()
        }
        None => sums.iter().map(|s| Some(s[0])).collect(),
    };
    let ref_rate: Vec<Option<f64>> = sums
        .iter()
        .map(|s| match input.kind {
            IsrKind::Ratio { .. } => None,
            IsrKind::Rate {
                ref_rate: Some(r), ..
            } => Some(r),
            IsrKind::Rate { multiplier, .. } => (s[3] > 0.0).then(|| s[2] / s[3] * multiplier),
        })
        .collect();
    let totals = IsrTotals {
        observed,
        expected: sums.iter().map(|s| s[1]).collect(),
        ref_rate,
    };
    let zs: Vec<f64> = levels.iter().map(|l| l.z()).collect();
    let est = par_rows(input.n_groups, levels, |g| {
        let Some(o) = totals.observed[g] else {
            return Ok(Row::blank(Note::MissingInput));
        };
        let e = totals.expected[g];
        if e <= 0.0 {
            return Ok(Row::blank(Note::NoExpectedEvents));
        }
        let scale = match input.kind {
            IsrKind::Ratio { ref_value } => ref_value,
            IsrKind::Rate { .. } => match totals.ref_rate[g] {
                Some(r) => r,
                None => return Ok(Row::blank(Note::MissingInput)),
            },
        } / e;
        let mut row = Row {
            value: Some(o * scale),
            ..Row::default()
        };
        for ((slot, &level), &z) in row.limits.iter_mut().zip(levels).zip(&zs) {
            let (lo, hi) = poisson_limits_z(o, level, z);
            *slot = (lo.map(|l| l * scale), hi.map(|u| u * scale));
        }
        Ok(row)
    })?;
    Ok((totals, est))
}

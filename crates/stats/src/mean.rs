//! Means with the Student's t interval.

use crate::confidence::ConfidenceLevel;
use crate::dist::t_quantile;
use crate::error::{Field, StatsError};
use crate::estimate::{finite, group_sums, par_rows, same_len, Estimates, Note, Row};

/// Per-group sum, count and sample standard deviation.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanSummary {
    /// Sum of the values; `None` when a value is missing (R's `sum` without `na.rm`).
    pub sum: Vec<Option<f64>>,
    /// Number of rows, missing values included (R's `length`).
    pub count: Vec<f64>,
    /// Sample standard deviation (denominator `n − 1`); `None` below two values.
    pub stdev: Vec<Option<f64>>,
}

/// Mean per group with Student's t limits, as `phe_mean`:
///
/// `mean = Σx / n`, `limits = mean ∓ t(1 − (1−c)/2; n − 1) · s / √n`
///
/// where `s` is the sample standard deviation. A group with a missing value has a
/// blank mean (note "missing input"); a group of one value has a mean and no limits.
/// The standard deviation is computed in two passes for accuracy.
pub fn mean_grouped(
    groups: &[u32],
    n_groups: usize,
    x: &[Option<f64>],
    levels: &[ConfidenceLevel],
) -> Result<(MeanSummary, Estimates), StatsError> {
    same_len(groups.len(), x.len())?;
    let sums = group_sums::<3, _>(groups, n_groups, |i| {
        let v = finite(x[i], i, Field::Value)?;
        Ok([v.unwrap_or(0.0), 1.0, f64::from(u8::from(v.is_none()))])
    })?;
    let means: Vec<Option<f64>> = sums
        .iter()
        .map(|s| (s[2] == 0.0).then_some(s[0] / s[1]))
        .collect();
    let squares = group_sums::<1, _>(groups, n_groups, |i| {
        let g = groups[i] as usize;
        Ok([match (x[i], means[g]) {
            (Some(v), Some(m)) => (v - m) * (v - m),
            _ => 0.0,
        }])
    })?;
    let summary = MeanSummary {
        sum: sums.iter().map(|s| (s[2] == 0.0).then_some(s[0])).collect(),
        count: sums.iter().map(|s| s[1]).collect(),
        stdev: sums
            .iter()
            .zip(&squares)
            .map(|(s, q)| (s[2] == 0.0 && s[1] >= 2.0).then(|| (q[0] / (s[1] - 1.0)).sqrt()))
            .collect(),
    };
    let est = par_rows(n_groups, levels, |g| {
        let Some(mean) = means[g] else {
            return Ok(Row::blank(Note::MissingInput));
        };
        let mut row = Row {
            value: Some(mean),
            ..Row::default()
        };
        match summary.stdev[g] {
            Some(sd) => {
                let n = summary.count[g];
                for (slot, level) in row.limits.iter_mut().zip(levels) {
                    let half = t_quantile(level.upper_tail(), n - 1.0).abs() * sd / n.sqrt();
                    *slot = (Some(mean - half), Some(mean + half));
                }
            }
            None => row.note = Some(Note::FewerThanTwoValues),
        }
        Ok(row)
    })?;
    Ok((summary, est))
}

//! Quantile assignment (deciles, quintiles, any N) within groups.

use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_groups, finite, same_len, Note};

/// Which way round quantiles run.
#[derive(Debug, Clone, Copy)]
pub enum Invert<'a> {
    /// The same for every group: `true` gives the highest value quantile 1 (the
    /// reference's default, right for "higher score = more deprived").
    All(bool),
    /// Per row; must not differ within a group.
    PerRow(&'a [bool]),
}

/// Quantile of each row (`None` for a missing value or a group too small).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    pub quantile: Vec<Option<u32>>,
    pub note: Vec<Option<Note>>,
    /// Whether each row's group was inverted.
    pub inverted: Vec<bool>,
}

/// Assigns each value to one of `n_quantiles` quantiles within its group, as
/// `phe_quantile` (PHEindicatormethods 2.1.0):
///
/// - `N` = non-missing values in the group; `rank` = the minimum rank (ties share
///   the lowest rank) of `−value` when inverted, of `value` otherwise;
/// - `q = ⌊(nq + 1) − ⌈((N + 1) − rank) / (N / nq)⌉⌋`, and `q = 0` becomes 1.
///
/// Missing values get no quantile (note "missing input"). A group with fewer values
/// than quantiles gets none (note). Ties that straddle a boundary all go to the lower
/// quantile number, which the reference advises reviewing by hand. Errors: polarity
/// that differs within a group; `n_quantiles` of zero.
pub fn quantiles(
    groups: &[u32],
    n_groups: usize,
    values: &[Option<f64>],
    n_quantiles: u32,
    invert: Invert<'_>,
) -> Result<Quantiles, StatsError> {
    same_len(groups.len(), values.len())?;
    check_groups(groups, n_groups)?;
    if n_quantiles == 0 {
        return Err(StatsError::Parameter(
            "the number of quantiles must be at least 1".into(),
        ));
    }
    // Polarity per group.
    let mut group_invert: Vec<Option<(bool, usize)>> = vec![None; n_groups];
    for (i, &g) in groups.iter().enumerate() {
        finite(values[i], i, Field::Value)?;
        let this = match invert {
            Invert::All(b) => b,
            Invert::PerRow(col) => col[i],
        };
        match group_invert[g as usize] {
            None => group_invert[g as usize] = Some((this, i)),
            Some((first, first_row)) if first != this => {
                return Err(StatsError::invalid(
                    i,
                    Field::Polarity,
                    Problem::DiffersWithinGroup { first_row },
                ))
            }
            Some(_) => {}
        }
    }
    if let Invert::PerRow(col) = invert {
        same_len(col.len(), groups.len())?;
    }
    let inv = |g: u32| group_invert[g as usize].is_some_and(|(b, _)| b);
    let key = |i: usize| {
        let v = values[i].unwrap_or(f64::NAN);
        if inv(groups[i]) {
            -v
        } else {
            v
        }
    };
    let mut order: Vec<u32> = (0..values.len() as u32)
        .filter(|&i| values[i as usize].is_some())
        .collect();
    order.sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        groups[a]
            .cmp(&groups[b])
            .then_with(|| key(a).total_cmp(&key(b)))
    });
    let mut out = Quantiles {
        quantile: vec![None; values.len()],
        note: values
            .iter()
            .map(|v| v.is_none().then_some(Note::MissingInput))
            .collect(),
        inverted: groups.iter().map(|&g| inv(g)).collect(),
    };
    let nq = f64::from(n_quantiles);
    let mut start = 0;
    while start < order.len() {
        let g = groups[order[start] as usize];
        let end = start
            + order[start..]
                .iter()
                .position(|&i| groups[i as usize] != g)
                .unwrap_or(order.len() - start);
        let run = &order[start..end];
        let n = run.len() as f64;
        if run.len() < n_quantiles as usize {
            for &i in run {
                out.note[i as usize] = Some(Note::TooFewForQuantiles);
            }
        } else {
            let mut rank = 1usize;
            for (pos, &i) in run.iter().enumerate() {
                if pos > 0 && key(i as usize) != key(run[pos - 1] as usize) {
                    rank = pos + 1;
                }
                let q = ((nq + 1.0) - (((n + 1.0) - rank as f64) / (n / nq)).ceil()).floor();
                out.quantile[i as usize] = Some(if q <= 0.0 { 1 } else { q as u32 });
            }
        }
        start = end;
    }
    Ok(out)
}

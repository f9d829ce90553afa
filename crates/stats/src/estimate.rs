//! Result columns shared by the methods, and the parallel row/group driver.

use rayon::prelude::*;

use crate::confidence::ConfidenceLevel;
use crate::error::StatsError;

/// The most confidence levels one call computes (they share a fixed-size buffer so
/// that no row or group allocates).
pub const MAX_LEVELS: usize = 8;

/// Rows or groups per parallel task.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Why a value (or its limits) is blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// An input the value needs is missing.
    MissingInput,
    /// DSR suppressed: the group's total count is under 10.
    DsrCountBelow10,
    /// Fewer than two values: no standard deviation, so no interval.
    FewerThanTwoValues,
    /// Indirect standardisation with no expected events.
    NoExpectedEvents,
    /// Life table refused: a negative death count.
    LifeTableNegativeDeaths,
    /// Life table refused: a population of zero or below.
    LifeTableNonPositivePopulation,
    /// Life table refused: deaths above population in a band.
    LifeTableDeathsAbovePopulation,
    /// Life table refused: a band of the layout is absent (or given twice).
    LifeTableBandsIncomplete,
    /// Life table refused: total population 5,000 or less.
    LifeTableSmallPopulation,
    /// Life expectancy suppressed: the 95 % interval is wider than 20 years.
    LifeExpectancyIntervalTooWide,
    /// Life expectancy undefined: no deaths in the final (open) band.
    LifeTableNoFinalDeaths,
    /// Quantiles: the group has fewer values than quantiles.
    TooFewForQuantiles,
    /// SII: the group lacks one of the quantiles.
    SiiMissingQuantile,
    /// Funnel: fewer than 10 events for a DSR.
    FunnelDsrBelow10,
}

impl Note {
    /// The text written in a `note` column.
    pub fn text(self) -> &'static str {
        match self {
            Note::MissingInput => "missing input",
            Note::DsrCountBelow10 => "dsr NA for total count < 10",
            Note::FewerThanTwoValues => "fewer than two values: no confidence interval",
            Note::NoExpectedEvents => "no expected events",
            Note::LifeTableNegativeDeaths => "life table: negative deaths",
            Note::LifeTableNonPositivePopulation => "life table: population zero or below",
            Note::LifeTableDeathsAbovePopulation => "life table: deaths above population",
            Note::LifeTableBandsIncomplete => "life table: age bands missing or repeated",
            Note::LifeTableSmallPopulation => "life table: total population 5000 or less",
            Note::LifeExpectancyIntervalTooWide => "95% confidence interval wider than 20 years",
            Note::LifeTableNoFinalDeaths => "life table: no deaths in the final age band",
            Note::TooFewForQuantiles => "fewer values in group than quantiles",
            Note::SiiMissingQuantile => "group lacks one or more quantiles",
            Note::FunnelDsrBelow10 => "not applicable for events less than 10 for dsrs",
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// A value with its confidence limits at each requested level, as columns.
///
/// `lower[l][i]` and `upper[l][i]` are the limits at `levels[l]` of row (or group) `i`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Estimates {
    pub levels: Vec<ConfidenceLevel>,
    pub value: Vec<Option<f64>>,
    pub lower: Vec<Vec<Option<f64>>>,
    pub upper: Vec<Vec<Option<f64>>>,
    pub note: Vec<Option<Note>>,
}

impl Estimates {
    pub(crate) fn with_capacity(levels: &[ConfidenceLevel], n: usize) -> Self {
        Estimates {
            levels: levels.to_vec(),
            value: Vec::with_capacity(n),
            lower: levels.iter().map(|_| Vec::with_capacity(n)).collect(),
            upper: levels.iter().map(|_| Vec::with_capacity(n)).collect(),
            note: Vec::with_capacity(n),
        }
    }

    /// Number of rows (or groups).
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    pub(crate) fn push(&mut self, row: &Row) {
        self.value.push(row.value);
        for l in 0..self.levels.len() {
            self.lower[l].push(row.limits[l].0);
            self.upper[l].push(row.limits[l].1);
        }
        self.note.push(row.note);
    }

    pub(crate) fn append(&mut self, mut other: Estimates) {
        self.value.append(&mut other.value);
        for (mine, theirs) in self.lower.iter_mut().zip(other.lower.iter_mut()) {
            mine.append(theirs);
        }
        for (mine, theirs) in self.upper.iter_mut().zip(other.upper.iter_mut()) {
            mine.append(theirs);
        }
        self.note.append(&mut other.note);
    }
}

/// One row's result, filled in by a method's kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Row {
    pub value: Option<f64>,
    pub limits: [(Option<f64>, Option<f64>); MAX_LEVELS],
    pub note: Option<Note>,
}

impl Row {
    /// A blank result with a reason.
    pub fn blank(note: Note) -> Row {
        Row {
            note: Some(note),
            ..Row::default()
        }
    }
}

/// Checks the level list: one or more, at most [`MAX_LEVELS`].
pub fn check_levels(levels: &[ConfidenceLevel]) -> Result<(), StatsError> {
    if levels.is_empty() {
        return Err(StatsError::NoConfidenceLevel);
    }
    if levels.len() > MAX_LEVELS {
        return Err(StatsError::Parameter(format!(
            "{} confidence levels given; at most {MAX_LEVELS} can be computed in one call",
            levels.len()
        )));
    }
    Ok(())
}

/// One chunk's slices of every output column.
struct ChunkSlices<'a> {
    start: usize,
    value: &'a mut [Option<f64>],
    lower: Vec<&'a mut [Option<f64>]>,
    upper: Vec<&'a mut [Option<f64>]>,
    note: &'a mut [Option<Note>],
}

/// Runs `kernel` for every index `0..n` in parallel chunks, writing straight into
/// the output columns. The first error in index order is returned.
pub(crate) fn par_rows<F>(
    n: usize,
    levels: &[ConfidenceLevel],
    kernel: F,
) -> Result<Estimates, StatsError>
where
    F: Fn(usize) -> Result<Row, StatsError> + Sync,
{
    check_levels(levels)?;
    let mut out = Estimates {
        levels: levels.to_vec(),
        value: vec![None; n],
        lower: levels.iter().map(|_| vec![None; n]).collect(),
        upper: levels.iter().map(|_| vec![None; n]).collect(),
        note: vec![None; n],
    };
    let mut chunks: Vec<ChunkSlices<'_>> = out
        .value
        .chunks_mut(CHUNK)
        .zip(out.note.chunks_mut(CHUNK))
        .enumerate()
        .map(|(c, (value, note))| ChunkSlices {
            start: c * CHUNK,
            value,
            lower: Vec::with_capacity(levels.len()),
            upper: Vec::with_capacity(levels.len()),
            note,
        })
        .collect();
    for column in out.lower.iter_mut() {
        for (chunk, slice) in chunks.iter_mut().zip(column.chunks_mut(CHUNK)) {
            chunk.lower.push(slice);
        }
    }
    for column in out.upper.iter_mut() {
        for (chunk, slice) in chunks.iter_mut().zip(column.chunks_mut(CHUNK)) {
            chunk.upper.push(slice);
        }
    }
    let first_error = chunks
        .into_par_iter()
        .map(|mut chunk| {
            for k in 0..chunk.value.len() {
                let row = kernel(chunk.start + k)?;
                chunk.value[k] = row.value;
                for l in 0..chunk.lower.len() {
                    chunk.lower[l][k] = row.limits[l].0;
                    chunk.upper[l][k] = row.limits[l].1;
                }
                chunk.note[k] = row.note;
            }
            Ok(())
        })
        .collect::<Vec<Result<(), StatsError>>>()
        .into_iter()
        .find_map(Result::err);
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Checks that columns have the same length.
pub(crate) fn same_len(a: usize, b: usize) -> Result<(), StatsError> {
    if a == b {
        Ok(())
    } else {
        Err(StatsError::LengthMismatch(a, b))
    }
}

/// Checks group ids against `n_groups`.
pub(crate) fn check_groups(groups: &[u32], n_groups: usize) -> Result<(), StatsError> {
    match groups.iter().position(|&g| g as usize >= n_groups) {
        Some(row) => Err(StatsError::GroupOutOfRange {
            row,
            id: groups[row],
            n_groups,
        }),
        None => Ok(()),
    }
}

/// Rows per accumulation part.
const PART_ROWS: usize = 1 << 20;

/// Splits the rows into contiguous ranges for per-part accumulation followed by a
/// merge in order. The split depends only on the number of rows, never on the number
/// of cores, so sums are added in the same order (and give the same bits) everywhere.
pub(crate) fn accumulation_parts(n: usize) -> Vec<std::ops::Range<usize>> {
    let parts = n.div_ceil(PART_ROWS).clamp(1, 8);
    let size = n.div_ceil(parts).max(1);
    (0..parts)
        .map(|p| (p * size).min(n)..((p + 1) * size).min(n))
        .collect()
}

/// Sums `f(row)` per group for every row, in parallel blocks merged at the end.
/// `f` returns `None` for a row that is skipped and an error to stop.
pub(crate) fn group_sums<const K: usize, F>(
    groups: &[u32],
    n_groups: usize,
    f: F,
) -> Result<Vec<[f64; K]>, StatsError>
where
    F: Fn(usize) -> Result<[f64; K], StatsError> + Sync,
{
    check_groups(groups, n_groups)?;
    let partials: Vec<Result<Vec<[f64; K]>, StatsError>> = accumulation_parts(groups.len())
        .into_par_iter()
        .map(|range| {
            let mut acc = vec![[0.0; K]; n_groups];
            for i in range {
                let add = f(i)?;
                let slot = &mut acc[groups[i] as usize];
                for k in 0..K {
                    slot[k] += add[k];
                }
            }
            Ok(acc)
        })
        .collect();
    let mut total: Option<Vec<[f64; K]>> = None;
    for part in partials {
        let part = part?;
        match total.as_mut() {
            None => total = Some(part),
            Some(t) => {
                for (a, b) in t.iter_mut().zip(part) {
                    for k in 0..K {
                        a[k] += b[k];
                    }
                }
            }
        }
    }
    Ok(total.unwrap_or_else(|| vec![[0.0; K]; n_groups]))
}

/// Reads an optional input, refusing non-finite numbers.
pub(crate) fn finite(
    v: Option<f64>,
    row: usize,
    field: crate::Field,
) -> Result<Option<f64>, StatsError> {
    match v {
        Some(x) if !x.is_finite() => {
            Err(StatsError::invalid(row, field, crate::Problem::NotFinite))
        }
        other => Ok(other),
    }
}

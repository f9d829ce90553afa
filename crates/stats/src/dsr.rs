//! Directly standardised rates with Dobson's interval.

use std::collections::BTreeMap;

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_groups, finite, group_sums, par_rows, same_len, Estimates, Note, Row};
use crate::rate::byars;

/// The 2013 European Standard Population: 19 bands `0-4`, `5-9`, …, `85-89`, `90+`,
/// summing to 100,000 (Eurostat 2013, *Revision of the European Standard Population*).
pub const ESP2013: [(&str, f64); 19] = [
    ("0-4", 5000.0),
    ("5-9", 5500.0),
    ("10-14", 5500.0),
    ("15-19", 5500.0),
    ("20-24", 6000.0),
    ("25-29", 6000.0),
    ("30-34", 6500.0),
    ("35-39", 7000.0),
    ("40-44", 7000.0),
    ("45-49", 7000.0),
    ("50-54", 7000.0),
    ("55-59", 6500.0),
    ("60-64", 6000.0),
    ("65-69", 5500.0),
    ("70-74", 5000.0),
    ("75-79", 4000.0),
    ("80-84", 2500.0),
    ("85-89", 1500.0),
    ("90+", 1000.0),
];

/// Per-group totals reported beside a DSR.
#[derive(Debug, Clone, PartialEq)]
pub struct DsrTotals {
    /// Total events `O = ΣOᵢ` (for non-independent events, `Σ f·persons`).
    pub total_count: Vec<f64>,
    /// Total population `Σnᵢ` (each age band counted once).
    pub total_pop: Vec<f64>,
}

/// Inputs of a DSR: one row per group × age band (× event frequency when events are
/// not independent).
#[derive(Debug, Clone, Copy)]
pub struct DsrInput<'a> {
    /// Group id of each row, in `0..n_groups`.
    pub groups: &'a [u32],
    pub n_groups: usize,
    /// Events `Oᵢ` (missing is taken as 0, as the reference does); for
    /// non-independent events, the number of persons with `event_frequency` events.
    pub count: &'a [Option<f64>],
    /// Population `nᵢ`; must be present and above zero.
    pub population: &'a [Option<f64>],
    /// Standard population weight `wᵢ` of the row's age band; must be 0 or more.
    pub standard: &'a [Option<f64>],
    /// Result per `multiplier` people (100,000 by convention).
    pub multiplier: f64,
    /// For non-independent events: each row's event frequency `f` and age band id.
    pub non_independent: Option<NonIndependent<'a>>,
}

/// The columns that describe non-independent events (a person may have several).
#[derive(Debug, Clone, Copy)]
pub struct NonIndependent<'a> {
    pub event_frequency: &'a [Option<f64>],
    pub age_band: &'a [u32],
}

/// Directly standardised rate per group with Dobson's limits, as `calculate_dsr`.
///
/// With age bands `i`, events `Oᵢ`, population `nᵢ` and standard weights `wᵢ`:
///
/// - `DSR = Σ(Oᵢ·wᵢ/nᵢ) / Σwᵢ × m`
/// - `var = Σ(Oᵢ·(wᵢ/nᵢ)²) / (Σwᵢ)²`, `O = ΣOᵢ`
/// - `limit = DSR + √(var/O)·(O_lim − O) × m`, with `O_lim` Byar's limits of `O`
///   for every `O` (Dobson AJ et al. (1991), *Confidence intervals for weighted sums
///   of Poisson parameters*, Stat Med 10:457–462).
///
/// Suppression: when `O < 10` the value and limits are blank, note "dsr NA for total
/// count < 10". A negative lower limit is kept, as the reference keeps it.
///
/// Non-independent events (`calculate_dsr(independent_events = FALSE)`): each row is
/// the number of persons with `f` events. Events per band are `Σ f·persons`; the
/// variance is `Σ_f f²·var_f`, `var_f` being the formula above applied to the rows of
/// frequency `f` (Public Health England, *Technical guide: confidence intervals for
/// non-independent events*).
///
/// Errors: a negative count; a missing, zero or negative population; a missing or
/// negative standard weight; with non-independent events, a missing or negative
/// frequency, or a population or weight that differs within a group's age band.
pub fn dsr(
    input: &DsrInput<'_>,
    levels: &[ConfidenceLevel],
) -> Result<(DsrTotals, Estimates), StatsError> {
    let n = input.groups.len();
    same_len(n, input.count.len())?;
    same_len(n, input.population.len())?;
    same_len(n, input.standard.len())?;
    check_groups(input.groups, input.n_groups)?;
    let check_row = |i: usize| check_row(i, input.count[i], input.population[i], input.standard[i]);
    let sums: Vec<[f64; 5]> = match input.non_independent {
        None => group_sums::<5, _>(input.groups, input.n_groups, |i| {
            contribution(i, input.count[i], input.population[i], input.standard[i])
        })?,
        Some(ni) => non_independent_sums(input, &ni, &check_row)?,
    };
    finish(&sums, input.multiplier, levels)
}

/// Checks a row as `calculate_dsr` does; returns `(count, population, weight)`.
fn check_row(
    i: usize,
    count: Option<f64>,
    population: Option<f64>,
    standard: Option<f64>,
) -> Result<(f64, f64, f64), StatsError> {
    let count = finite(count, i, Field::Count)?.unwrap_or(0.0);
    if count < 0.0 {
        return Err(StatsError::invalid(
            i,
            Field::Count,
            Problem::Negative(count),
        ));
    }
    let pop = finite(population, i, Field::Population)?.ok_or(StatsError::invalid(
        i,
        Field::Population,
        Problem::Missing,
    ))?;
    if pop <= 0.0 {
        return Err(StatsError::invalid(
            i,
            Field::Population,
            Problem::NotPositive(pop),
        ));
    }
    let w = finite(standard, i, Field::StandardPopulation)?.ok_or(StatsError::invalid(
        i,
        Field::StandardPopulation,
        Problem::Missing,
    ))?;
    if w < 0.0 {
        return Err(StatsError::invalid(
            i,
            Field::StandardPopulation,
            Problem::Negative(w),
        ));
    }
    Ok((count, pop, w))
}

/// A row's part of its group's sums: `[O, O·w/n, O·(w/n)², w, n]`.
fn contribution(
    i: usize,
    count: Option<f64>,
    population: Option<f64>,
    standard: Option<f64>,
) -> Result<[f64; 5], StatsError> {
    let (o, n, w) = check_row(i, count, population, standard)?;
    let r = w / n;
    Ok([o, o * r, o * r * r, w, n])
}

/// Running DSR sums per group, for callers that stream rows (independent events):
/// the same checks and arithmetic as [`dsr`].
#[derive(Debug, Clone, Default)]
pub struct DsrAccumulator {
    sums: Vec<[f64; 5]>,
}

impl DsrAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds row `i` of group `group` (ids may appear in any order).
    pub fn add(
        &mut self,
        i: usize,
        group: u32,
        count: Option<f64>,
        population: Option<f64>,
        standard: Option<f64>,
    ) -> Result<(), StatsError> {
        let add = contribution(i, count, population, standard)?;
        let g = group as usize;
        if g >= self.sums.len() {
            self.sums.resize(g + 1, [0.0; 5]);
        }
        for (s, a) in self.sums[g].iter_mut().zip(add) {
            *s += a;
        }
        Ok(())
    }

    /// Adds another accumulator's groups; `map[g]` is the id here of its group `g`.
    pub fn merge(&mut self, other: &DsrAccumulator, map: &[u32]) {
        for (g, add) in other.sums.iter().enumerate() {
            let to = map[g] as usize;
            if to >= self.sums.len() {
                self.sums.resize(to + 1, [0.0; 5]);
            }
            for (s, a) in self.sums[to].iter_mut().zip(add) {
                *s += a;
            }
        }
    }

    /// The DSRs of groups `0..n_groups`.
    pub fn finish(
        mut self,
        n_groups: usize,
        multiplier: f64,
        levels: &[ConfidenceLevel],
    ) -> Result<(DsrTotals, Estimates), StatsError> {
        self.sums.resize(n_groups, [0.0; 5]);
        finish(&self.sums, multiplier, levels)
    }
}

/// DSRs from per-group sums `[O, Σ O·w/n, Σ O·(w/n)², Σw, Σn]`.
fn finish(
    sums: &[[f64; 5]],
    multiplier: f64,
    levels: &[ConfidenceLevel],
) -> Result<(DsrTotals, Estimates), StatsError> {
    let totals = DsrTotals {
        total_count: sums.iter().map(|s| s[0]).collect(),
        total_pop: sums.iter().map(|s| s[4]).collect(),
    };
    let m = multiplier;
    let zs: Vec<f64> = levels.iter().map(|l| l.z()).collect();
    let est = par_rows(sums.len(), levels, |g| {
        let [o, weighted, var_num, sum_w, _] = sums[g];
        if o < 10.0 {
            return Ok(Row::blank(Note::DsrCountBelow10));
        }
        let value = weighted / sum_w * m;
        let var = var_num / (sum_w * sum_w);
        let spread = (var / o).sqrt() * m;
        let mut row = Row {
            value: Some(value),
            ..Row::default()
        };
        for (slot, &z) in row.limits.iter_mut().zip(&zs) {
            let (lo, hi) = byars(o, z);
            *slot = (
                lo.map(|lo| value + spread * (lo - o)),
                Some(value + spread * (hi - o)),
            );
        }
        Ok(row)
    })?;
    Ok((totals, est))
}

/// Sums for non-independent events. Not on the hot path: a hash map per group × band
/// and per group × frequency.
fn non_independent_sums(
    input: &DsrInput<'_>,
    ni: &NonIndependent<'_>,
    check_row: &dyn Fn(usize) -> Result<(f64, f64, f64), StatsError>,
) -> Result<Vec<[f64; 5]>, StatsError> {
    let n = input.groups.len();
    same_len(n, ni.event_frequency.len())?;
    same_len(n, ni.age_band.len())?;
    // (group, band) -> (first row, n, w, events)
    let mut bands: BTreeMap<(u32, u32), (usize, f64, f64, f64)> = BTreeMap::new();
    // (group, frequency bits) -> (f, Σ persons·(w/n)², Σw)
    let mut by_freq: BTreeMap<(u32, u64), (f64, f64, f64)> = BTreeMap::new();
    for i in 0..n {
        let (persons, pop, w) = check_row(i)?;
        let f = finite(ni.event_frequency[i], i, Field::EventFrequency)?.ok_or(
            StatsError::invalid(i, Field::EventFrequency, Problem::Missing),
        )?;
        if f < 0.0 {
            return Err(StatsError::invalid(
                i,
                Field::EventFrequency,
                Problem::Negative(f),
            ));
        }
        let g = input.groups[i];
        let band = bands.entry((g, ni.age_band[i])).or_insert((i, pop, w, 0.0));
        if band.1 != pop {
            return Err(StatsError::invalid(
                i,
                Field::Population,
                Problem::DiffersWithinGroup { first_row: band.0 },
            ));
        }
        if band.2 != w {
            return Err(StatsError::invalid(
                i,
                Field::StandardPopulation,
                Problem::DiffersWithinGroup { first_row: band.0 },
            ));
        }
        band.3 += f * persons;
        let r = w / pop;
        let freq = by_freq.entry((g, f.to_bits())).or_insert((f, 0.0, 0.0));
        freq.1 += persons * r * r;
        freq.2 += w;
    }
    let mut sums = vec![[0.0; 5]; input.n_groups];
    for (&(g, _), &(_, pop, w, events)) in &bands {
        let s = &mut sums[g as usize];
        s[0] += events;
        s[1] += events * w / pop;
        s[3] += w;
        s[4] += pop;
    }
    for (&(g, _), &(f, var_num, sum_w)) in &by_freq {
        if sum_w > 0.0 {
            // var_f = var_num / sum_w²; the caller divides by (Σw)², so rescale.
            let s = &mut sums[g as usize];
            let total_w = s[3];
            s[2] += f * f * var_num / (sum_w * sum_w) * (total_w * total_w);
        }
    }
    Ok(sums)
}

//! Directly standardised rates with Dobson's interval.

use std::collections::BTreeMap;

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_groups, finite, group_sums, par_rows, same_len, Estimates, Note, Row};
use crate::rate::byars;
use syndemic_model::AgeBand;

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

/// The standard weight of `band` in a standard population `table` of bands and
/// weights: the band's own weight when the table has it, or the sum of the table's
/// bands that together make it up exactly — an open band `85+` is ESP2013's `85-89`
/// and `90+` together (1,500 + 1,000 = 2,500), `0-14` is `0-4`, `5-9` and `10-14`.
///
/// Standardising a band made of several standard bands with their summed weight is
/// exact when the age-specific rate is the same across them, and otherwise the
/// usual approximation for a population published with a wider top band (the
/// Census 2021 tables end at `85+`); OHID's *Technical Guide: Confidence intervals*
/// (2018) and the Eurostat ESP2013 revision note both treat aggregated bands this
/// way. `None` when no run of the table's bands makes up the band exactly (a band
/// that cuts one of the table's in two, or a gap), and never for `All ages`.
pub fn standard_weight(table: &[(AgeBand, f64)], band: AgeBand) -> Option<f64> {
    if let Some((_, w)) = table.iter().find(|(b, _)| *b == band) {
        return Some(*w);
    }
    let span = |b: AgeBand| {
        b.years()
            .map(|(from, to)| (u32::from(from), to.map_or(u32::MAX, u32::from)))
    };
    let (from, to) = span(band)?;
    let mut parts: Vec<(u32, u32, f64)> = Vec::new();
    for (b, w) in table {
        let Some((lo, hi)) = span(*b) else { continue };
        if hi < from || lo > to {
            continue;
        }
        if lo < from || hi > to {
            return None;
        }
        parts.push((lo, hi, *w));
    }
    parts.sort_by_key(|p| p.0);
    let first = parts.first()?;
    if first.0 != from || parts.last()?.1 != to {
        return None;
    }
    if parts
        .windows(2)
        .any(|w| w[0].1.checked_add(1) != Some(w[1].0))
    {
        return None;
    }
    Some(parts.iter().map(|p| p.2).sum())
}

/// [`ESP2013`] as bands, for [`standard_weight`].
pub fn esp2013_bands() -> Vec<(AgeBand, f64)> {
    ESP2013
        .iter()
        .filter_map(|(label, w)| AgeBand::parse(label).map(|b| (b, *w)))
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn band(text: &str) -> AgeBand {
        AgeBand::parse(text).unwrap()
    }

    #[test]
    fn bands_made_of_standard_bands() {
        let esp = esp2013_bands();
        assert_eq!(esp.len(), 19);
        assert_eq!(standard_weight(&esp, band("85-89")), Some(1500.0));
        assert_eq!(standard_weight(&esp, band("85+")), Some(2500.0));
        assert_eq!(
            standard_weight(&esp, band("Aged 85 years and over")),
            Some(2500.0)
        );
        assert_eq!(
            standard_weight(&esp, band("75+")),
            Some(4000.0 + 2500.0 + 2500.0)
        );
        assert_eq!(standard_weight(&esp, band("0-14")), Some(16_000.0));
        assert_eq!(standard_weight(&esp, band("0+")), Some(100_000.0));
        // A band that cuts a standard band, or a total, has no weight.
        assert_eq!(standard_weight(&esp, band("86+")), None);
        assert_eq!(standard_weight(&esp, band("0-6")), None);
        assert_eq!(standard_weight(&esp, band("7")), None);
        assert_eq!(standard_weight(&esp, AgeBand::AllAges), None);
        // A gap in the table is not bridged.
        let gappy = vec![(band("0-4"), 1.0), (band("10-14"), 1.0)];
        assert_eq!(standard_weight(&gappy, band("0-14")), None);
    }

    /// An `85+` band standardised with the weight of 85-89 and 90+ gives the DSR of
    /// the two bands when both carry the same rate.
    #[test]
    fn open_top_band_equals_its_parts_at_one_rate() {
        let esp = esp2013_bands();
        let lower: Vec<(f64, f64)> = (0..17).map(|i| (10.0 + i as f64, 1000.0)).collect();
        let mut split = lower.clone();
        split.extend([(30.0, 600.0), (20.0, 400.0)]);
        let mut joined = lower;
        joined.push((50.0, 1000.0));
        let weights = |n: usize| -> Vec<Option<f64>> {
            let mut w: Vec<Option<f64>> = ESP2013[..17].iter().map(|b| Some(b.1)).collect();
            if n == 2 {
                w.extend([Some(1500.0), Some(1000.0)]);
            } else {
                w.push(standard_weight(&esp, band("85+")));
            }
            w
        };
        let run = |rows: &[(f64, f64)], n: usize| {
            let count: Vec<Option<f64>> = rows.iter().map(|r| Some(r.0)).collect();
            let population: Vec<Option<f64>> = rows.iter().map(|r| Some(r.1)).collect();
            let standard = weights(n);
            let groups = vec![0; rows.len()];
            let input = DsrInput {
                groups: &groups,
                n_groups: 1,
                count: &count,
                population: &population,
                standard: &standard,
                multiplier: 100_000.0,
                non_independent: None,
            };
            dsr(&input, &[ConfidenceLevel::new(95.0).unwrap()])
                .unwrap()
                .1
        };
        let (a, b) = (run(&split, 2), run(&joined, 1));
        let close = |x: Option<f64>, y: Option<f64>| (x.unwrap() - y.unwrap()).abs() < 1e-9;
        assert!(close(a.value[0], b.value[0]));
        assert!(close(a.lower[0][0], b.lower[0][0]));
        assert!(close(a.upper[0][0], b.upper[0][0]));
    }
}

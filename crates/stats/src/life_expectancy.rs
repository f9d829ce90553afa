//! Life expectancy by the Chiang II abridged life table with Silcocks' variance for
//! the final band, for any layout of age bands whose last band is open.

use rayon::prelude::*;

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_groups, check_levels, finite, same_len, Estimates, Note, Row, CHUNK};

/// The z used by the reference's suppression rule (a 95 % interval wider than 20 years).
const Z95: f64 = 1.959963984540054;

/// The start ages of a life table's bands. The first is 0; they ascend; the last band
/// is open (e.g. 90+).
#[derive(Debug, Clone, PartialEq)]
pub struct AgeBands {
    starts: Vec<f64>,
}

impl AgeBands {
    /// The reference layout: `0, 1, 5, 10, …, 90` (20 bands, `<1`, `1-4`, five-year
    /// bands, `90+`).
    pub fn reference() -> Self {
        let mut starts = vec![0.0, 1.0];
        starts.extend((1..=18).map(|k| f64::from(k) * 5.0));
        AgeBands { starts }
    }

    /// Any layout: at least two bands, starting at 0, strictly ascending.
    pub fn new(starts: Vec<f64>) -> Result<Self, StatsError> {
        if starts.len() < 2 {
            return Err(StatsError::Parameter(
                "a life table needs at least two age bands".into(),
            ));
        }
        if starts[0] != 0.0 {
            return Err(StatsError::Parameter(format!(
                "the first age band must start at 0, not {}",
                starts[0]
            )));
        }
        if let Some(w) = starts.windows(2).find(|w| !(w[1] > w[0])) {
            return Err(StatsError::Parameter(format!(
                "age bands must ascend: {} is followed by {}",
                w[0], w[1]
            )));
        }
        Ok(AgeBands { starts })
    }

    /// The start ages.
    pub fn starts(&self) -> &[f64] {
        &self.starts
    }

    /// Index of the band that starts at `age`.
    pub fn index_of(&self, age: f64) -> Option<usize> {
        self.starts.iter().position(|&s| s == age)
    }
}

/// Which start ages to report.
#[derive(Debug, Clone, PartialEq)]
pub enum AtAges {
    /// Every band's start age.
    All,
    /// Only these start ages (each must be a band's start).
    Ages(Vec<f64>),
}

/// Life-table inputs: one row per group × age band.
#[derive(Debug, Clone, Copy)]
pub struct LifeTableInput<'a> {
    pub groups: &'a [u32],
    pub n_groups: usize,
    /// The start age of each row's band; must be one of `bands`.
    pub start_age: &'a [f64],
    pub deaths: &'a [Option<f64>],
    pub population: &'a [Option<f64>],
    pub bands: &'a AgeBands,
}

/// Life expectancy per group and start age. Rows are ordered by group, then start age.
#[derive(Debug, Clone, PartialEq)]
pub struct LifeExpectancy {
    pub group: Vec<u32>,
    pub start_age: Vec<f64>,
    /// Population from this age up.
    pub pops_used: Vec<Option<f64>>,
    /// Deaths from this age up.
    pub deaths_used: Vec<Option<f64>>,
    pub estimates: Estimates,
}

/// Life expectancy at each start age, as `phe_life_expectancy`, generalised to any
/// band layout whose last band is open.
///
/// Chiang II abridged life table (Chiang CL (1984), *The life table and its
/// applications*), with the final-band variance of Silcocks PBS et al. (2001),
/// *Estimating the variance of life expectancy*, JECH 55:38–43. With bands `i = 1..k`,
/// deaths `Dᵢ`, population `Pᵢ`, widths `nᵢ` (and `n_k = 2/M_k`), `Mᵢ = Dᵢ/Pᵢ`,
/// `aᵢ = 0.1` for a first band of width 1 (infants) and 0.5 otherwise:
///
/// - `qᵢ = Mᵢnᵢ / (1 + Mᵢnᵢ(1 − aᵢ))`, or 1 when `Dᵢ > Pᵢ/(nᵢaᵢ)`; `pᵢ = 1 − qᵢ`
/// - `l₁ = 100000`, `lᵢ₊₁ = lᵢpᵢ`, `dᵢ = lᵢ − lᵢ₊₁`
/// - `Lᵢ = nᵢ(lᵢ₊₁ + aᵢdᵢ)`, `L_k = l_k/M_k`, `Tᵢ = Σ_{j≥i} Lⱼ`, `eᵢ = Tᵢ/lᵢ`
/// - `s²ᵢ = qᵢ²(1 − qᵢ)/Dᵢ` (0 when `Dᵢ = 0`), `s²_k = 4/(D_k M_k²)`
/// - `Wᵢ = s²ᵢ lᵢ² ((1 − aᵢ)nᵢ + eᵢ₊₁)²`, `W_k = (l_k/2)² s²_k`
/// - `SE(eᵢ) = √(Σ_{j≥i} Wⱼ) / lᵢ`, limits `eᵢ ∓ z·SE`.
///
/// Suppression, as the reference: a group is blank when any band has negative deaths,
/// a population of zero or below, deaths above population, when a band of the layout
/// is absent or repeated, or when its total population is 5,000 or less; a value
/// (not its limits) is blank when `1.96·SE > 10`. No deaths in the final band make
/// `L_k` infinite, so the group is blank. A missing value blanks the group.
///
/// Errors: a start age that is not in the layout; an age asked for that is not in it.
pub fn life_expectancy(
    input: &LifeTableInput<'_>,
    at: &AtAges,
    levels: &[ConfidenceLevel],
) -> Result<LifeExpectancy, StatsError> {
    check_levels(levels)?;
    let n = input.groups.len();
    same_len(n, input.start_age.len())?;
    same_len(n, input.deaths.len())?;
    same_len(n, input.population.len())?;
    check_groups(input.groups, input.n_groups)?;
    let starts = input.bands.starts();
    let k = starts.len();
    let report: Vec<usize> = match at {
        AtAges::All => (0..k).collect(),
        AtAges::Ages(ages) => ages
            .iter()
            .map(|&a| {
                input.bands.index_of(a).ok_or_else(|| {
                    StatsError::Parameter(format!(
                        "life expectancy asked at age {a}, which does not start an age band; the bands start at {}",
                        list(starts)
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    // Place each row in its group × band slot.
    const EMPTY: u32 = u32::MAX;
    const REPEATED: u32 = u32::MAX - 1;
    let mut slot = vec![EMPTY; input.n_groups * k];
    for i in 0..n {
        let band = band_index(starts, input.start_age[i]).ok_or_else(|| {
            StatsError::invalid(
                i,
                Field::AgeBand,
                Problem::OutOfRange {
                    value: input.start_age[i],
                    allowed: "start ages must be those of the life table's age bands",
                },
            )
        })?;
        finite(input.deaths[i], i, Field::Deaths)?;
        finite(input.population[i], i, Field::Population)?;
        let s = &mut slot[input.groups[i] as usize * k + band];
        *s = if *s == EMPTY { i as u32 } else { REPEATED };
    }
    let n_out = report.len();
    let zs: Vec<f64> = levels.iter().map(|l| l.z()).collect();
    let chunks: Vec<ChunkOut> = (0..input.n_groups.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let groups = c * CHUNK..((c + 1) * CHUNK).min(input.n_groups);
            let rows = groups.len() * n_out;
            let mut out = (
                Vec::with_capacity(rows),
                Vec::with_capacity(rows),
                Vec::with_capacity(rows),
                Vec::with_capacity(rows),
                Estimates::with_capacity(levels, rows),
            );
            let mut table = Table::new(k);
            for g in groups {
                let slots = &slot[g * k..(g + 1) * k];
                let status = table.fill(slots, input, starts);
                for &b in &report {
                    out.0.push(g as u32);
                    out.1.push(starts[b]);
                    let (pops, deaths, row) = table.result(b, status, &zs);
                    out.2.push(pops);
                    out.3.push(deaths);
                    out.4.push(&row);
                }
            }
            out
        })
        .collect();
    let total = input.n_groups * n_out;
    let mut result = LifeExpectancy {
        group: Vec::with_capacity(total),
        start_age: Vec::with_capacity(total),
        pops_used: Vec::with_capacity(total),
        deaths_used: Vec::with_capacity(total),
        estimates: Estimates::with_capacity(levels, total),
    };
    for (mut g, mut a, mut p, mut d, e) in chunks {
        result.group.append(&mut g);
        result.start_age.append(&mut a);
        result.pops_used.append(&mut p);
        result.deaths_used.append(&mut d);
        result.estimates.append(e);
    }
    Ok(result)
}

/// One parallel chunk's rows: group, start age, pops used, deaths used, estimates.
type ChunkOut = (
    Vec<u32>,
    Vec<f64>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
    Estimates,
);

fn list(starts: &[f64]) -> String {
    starts
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn band_index(starts: &[f64], age: f64) -> Option<usize> {
    // Layouts are short; a linear scan beats a search for 20 bands.
    starts.iter().position(|&s| s == age)
}

/// Scratch space for one group's life table, reused across groups.
struct Table {
    deaths: Vec<f64>,
    pops: Vec<f64>,
    e: Vec<f64>,
    se: Vec<f64>,
    pops_used: Vec<f64>,
    deaths_used: Vec<f64>,
    l: Vec<f64>,
    w: Vec<f64>,
}

/// Whether a group's table could be computed.
#[derive(Debug, Clone, Copy)]
enum Status {
    Computed,
    Blank(Note),
}

impl Table {
    fn new(k: usize) -> Self {
        Table {
            deaths: vec![0.0; k],
            pops: vec![0.0; k],
            e: vec![0.0; k],
            se: vec![0.0; k],
            pops_used: vec![0.0; k],
            deaths_used: vec![0.0; k],
            l: vec![0.0; k + 1],
            w: vec![0.0; k],
        }
    }

    fn fill(&mut self, slots: &[u32], input: &LifeTableInput<'_>, starts: &[f64]) -> Status {
        let k = starts.len();
        let mut missing = false;
        for (b, &s) in slots.iter().enumerate() {
            if s >= u32::MAX - 1 {
                return Status::Blank(Note::LifeTableBandsIncomplete);
            }
            match (input.deaths[s as usize], input.population[s as usize]) {
                (Some(d), Some(p)) => {
                    self.deaths[b] = d;
                    self.pops[b] = p;
                }
                _ => missing = true,
            }
        }
        if missing {
            return Status::Blank(Note::MissingInput);
        }
        let (d, p) = (&self.deaths, &self.pops);
        if d.iter().any(|&d| d < 0.0) {
            return Status::Blank(Note::LifeTableNegativeDeaths);
        }
        if p.iter().any(|&p| p <= 0.0) {
            return Status::Blank(Note::LifeTableNonPositivePopulation);
        }
        if d.iter().zip(p).any(|(d, p)| d > p) {
            return Status::Blank(Note::LifeTableDeathsAbovePopulation);
        }
        let (mut pu, mut du) = (0.0, 0.0);
        for b in (0..k).rev() {
            pu += p[b];
            du += d[b];
            self.pops_used[b] = pu;
            self.deaths_used[b] = du;
        }
        if pu <= 5000.0 {
            return Status::Blank(Note::LifeTableSmallPopulation);
        }
        if d[k - 1] == 0.0 {
            return Status::Blank(Note::LifeTableNoFinalDeaths);
        }
        let infant = starts[1] - starts[0] == 1.0;
        let a = |b: usize| if b == 0 && infant { 0.1 } else { 0.5 };
        // l, and the per-band pieces needed for e and W.
        self.l[0] = 100_000.0;
        let m_k = d[k - 1] / p[k - 1];
        for b in 0..k - 1 {
            let n = starts[b + 1] - starts[b];
            let m = d[b] / p[b];
            let q = if d[b] <= p[b] / n / a(b) {
                m * n / (1.0 + m * n * (1.0 - a(b)))
            } else {
                1.0
            };
            self.l[b + 1] = self.l[b] * (1.0 - q);
            // Keep q in `w` for the variance pass.
            self.w[b] = q;
        }
        self.l[k] = 0.0;
        // T and e, from the top.
        let mut t = self.l[k - 1] / m_k;
        self.e[k - 1] = if self.l[k - 1] > 0.0 {
            t / self.l[k - 1]
        } else {
            0.0
        };
        for b in (0..k - 1).rev() {
            let n = starts[b + 1] - starts[b];
            let dl = self.l[b] - self.l[b + 1];
            t += n * (self.l[b + 1] + a(b) * dl);
            self.e[b] = if self.l[b] > 0.0 { t / self.l[b] } else { 0.0 };
        }
        // Variance, from the top.
        let s2_k = 4.0 / (d[k - 1] * m_k * m_k);
        let mut sum_w = (self.l[k - 1] / 2.0).powi(2) * s2_k;
        self.se[k - 1] = se(sum_w, self.l[k - 1]);
        for b in (0..k - 1).rev() {
            let n = starts[b + 1] - starts[b];
            let q = self.w[b];
            let dl = self.l[b] - self.l[b + 1];
            let s2 = if d[b] == 0.0 || dl == 0.0 {
                0.0
            } else {
                q * q * (1.0 - q) / d[b]
            };
            let lead = (1.0 - a(b)) * n + self.e[b + 1];
            sum_w += s2 * self.l[b] * self.l[b] * lead * lead;
            self.se[b] = se(sum_w, self.l[b]);
        }
        Status::Computed
    }

    fn result(&self, b: usize, status: Status, zs: &[f64]) -> (Option<f64>, Option<f64>, Row) {
        match status {
            Status::Blank(note) => {
                let used = matches!(
                    note,
                    Note::LifeTableSmallPopulation | Note::LifeTableNoFinalDeaths
                );
                (
                    used.then_some(self.pops_used[b]),
                    used.then_some(self.deaths_used[b]),
                    Row::blank(note),
                )
            }
            Status::Computed => {
                let (e, se) = (self.e[b], self.se[b]);
                let mut row = Row::default();
                if self.l[b] <= 0.0 {
                    // Nobody alive at the start of the band: no years to live, and
                    // no interval (the reference leaves the limits blank).
                    row.value = Some(0.0);
                } else if e.is_finite() {
                    for (slot, z) in row.limits.iter_mut().zip(zs) {
                        let half = z * se;
                        if half.is_finite() {
                            *slot = (Some(e - half), Some(e + half));
                        }
                    }
                    if Z95 * se > 10.0 || !se.is_finite() {
                        row.note = Some(Note::LifeExpectancyIntervalTooWide);
                    } else {
                        row.value = Some(e);
                    }
                } else {
                    row.note = Some(Note::LifeTableNoFinalDeaths);
                }
                (Some(self.pops_used[b]), Some(self.deaths_used[b]), row)
            }
        }
    }
}

fn se(sum_w: f64, l: f64) -> f64 {
    if l > 0.0 {
        (sum_w / (l * l)).sqrt()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deaths and population of the reference's one-area example (ages 0, 1, 5, …, 90).
    const DEATHS: [f64; 20] = [
        17.0, 9.0, 4.0, 8.0, 20.0, 15.0, 24.0, 33.0, 50.0, 71.0, 100.0, 163.0, 263.0, 304.0, 536.0,
        872.0, 1390.0, 1605.0, 1936.0, 1937.0,
    ];
    const POPS: [f64; 20] = [
        7060.0, 35059.0, 46974.0, 48489.0, 43219.0, 38561.0, 46009.0, 57208.0, 61435.0, 55601.0,
        50209.0, 56416.0, 46411.0, 39820.0, 37978.0, 37039.0, 33288.0, 23306.0, 11936.0, 11936.0,
    ];

    /// The life table's estimates at `ages` for one area.
    fn table(starts: Vec<f64>, deaths: &[f64], pops: &[f64], ages: Vec<f64>) -> Estimates {
        let bands = AgeBands::new(starts).unwrap();
        let d: Vec<_> = deaths.iter().map(|&x| Some(x)).collect();
        let p: Vec<_> = pops.iter().map(|&x| Some(x)).collect();
        let groups = vec![0; d.len()];
        let input = LifeTableInput {
            groups: &groups,
            n_groups: 1,
            start_age: bands.starts(),
            deaths: &d,
            population: &p,
            bands: &bands,
        };
        life_expectancy(&input, &AtAges::Ages(ages), &[ConfidenceLevel::P95])
            .unwrap()
            .estimates
    }

    fn at_birth(starts: Vec<f64>, deaths: &[f64], pops: &[f64]) -> f64 {
        table(starts, deaths, pops, vec![0.0]).value[0].unwrap()
    }

    #[test]
    fn other_layouts_with_an_open_last_band_agree_with_the_reference_layout() {
        let reference = at_birth(AgeBands::reference().starts().to_vec(), &DEATHS, &POPS);
        assert!((reference - 80.16960813).abs() < 5e-5, "{reference}");
        // 0, 1, 5, …, 85+: the last two bands merged.
        let mut d = DEATHS[..19].to_vec();
        let mut p = POPS[..19].to_vec();
        d[18] += DEATHS[19];
        p[18] += POPS[19];
        let starts: Vec<f64> = AgeBands::reference().starts()[..19].to_vec();
        let e85 = at_birth(starts, &d, &p);
        assert!((e85 - reference).abs() < 0.15, "85+: {e85} vs {reference}");
        // 0, 5, …, 85+: the infant band merged too (a = 0.5 for a five-year first band).
        let mut d5 = vec![d[0] + d[1]];
        d5.extend_from_slice(&d[2..]);
        let mut p5 = vec![p[0] + p[1]];
        p5.extend_from_slice(&p[2..]);
        let starts5: Vec<f64> = (0..18).map(|k| f64::from(k) * 5.0).collect();
        let e5 = at_birth(starts5, &d5, &p5);
        assert!(
            (e5 - reference).abs() < 0.25,
            "5-year bands: {e5} vs {reference}"
        );
    }

    /// Where everyone has died before a band starts (deaths in the band before it
    /// above what its population allows, so q = 1), the bands after have no one
    /// alive: life expectancy 0, and no limits rather than limits of 0 to 0.
    #[test]
    fn nobody_alive_at_the_start_gives_zero_and_blank_limits() {
        let mut deaths = DEATHS;
        // 85-89: more deaths than its people over 5 years allow (above 0.4 of them),
        // fewer than its people: q = 1.
        deaths[18] = 7_200.0;
        let e = &table(
            AgeBands::reference().starts().to_vec(),
            &deaths,
            &POPS,
            vec![0.0, 90.0],
        );
        assert!(e.value[0].is_some_and(|v| v > 0.0), "{e:?}");
        assert!(e.lower[0][0].is_some());
        assert_eq!(e.value[1], Some(0.0));
        assert_eq!((e.lower[0][1], e.upper[0][1]), (None, None));
    }

    #[test]
    fn layouts_and_ages_are_checked() {
        assert!(AgeBands::new(vec![1.0, 5.0]).is_err());
        assert!(AgeBands::new(vec![0.0, 5.0, 5.0]).is_err());
        assert!(AgeBands::new(vec![0.0]).is_err());
        let bands = AgeBands::reference();
        let d = vec![Some(1.0); 20];
        let p = vec![Some(1000.0); 20];
        let mut starts = bands.starts().to_vec();
        starts[3] = 11.0;
        let input = LifeTableInput {
            groups: &[0; 20],
            n_groups: 1,
            start_age: &starts,
            deaths: &d,
            population: &p,
            bands: &bands,
        };
        let e = life_expectancy(&input, &AtAges::All, &[ConfidenceLevel::P95]).unwrap_err();
        assert!(e.to_string().contains("row 4"), "{e}");
        let input = LifeTableInput {
            start_age: bands.starts(),
            ..input
        };
        assert!(
            life_expectancy(&input, &AtAges::Ages(vec![3.0]), &[ConfidenceLevel::P95]).is_err()
        );
    }
}

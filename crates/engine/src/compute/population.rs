//! Denominators from an imported population (`compute --population SOURCE`), for
//! counts that carry events only, as registrations of deaths and admissions do.
//!
//! Every area the counts name is taken as covered in every period and sex the
//! counts have, in every age band they have (and, for a DSR, the standard's bands
//! they do not cover): a band with no row has no events (a file of events leaves
//! out its zeros), and its population still counts. An area the counts never name is
//! not covered, so the areas above it are not published (see `coverage`): an LSOA
//! with no events at all needs one row with a count of 0.
//!
//! The population of a band is the source's own band, or bands of the source that
//! tile it exactly (`85+` from `85-89` and `90+`; `All ages` from the 19 ESP2013
//! bands); Persons is Male and Female summed where the source has no Persons. A
//! period's population is its year's (a mid-year estimate, or a Census dated in
//! the year); a financial year's is the mid-year estimate of the year it starts
//! in; a pooled period's is the sum over its years (person-years), as OHID's
//! methods give them. Nothing is guessed: a missing year, sex or band is an error
//! naming the area and what the source holds.

use std::collections::BTreeSet;

use syndemic_model::Sex;

use super::*;

/// The year a stored population is for: a mid-year estimate's year, or the year of
/// a dated count (Census day).
fn year_of(period: Period) -> Option<i32> {
    match period {
        Period::Year(y) | Period::Date { year: y, .. } => Some(y),
        _ => None,
    }
}

/// The years whose populations make a period's denominator.
fn years_for(period: Period) -> Option<Vec<i32>> {
    match period {
        Period::Year(y) | Period::FinancialYear(y) => Some(vec![y]),
        Period::Pooled { first, last } | Period::PooledFinancial { first, last } => {
            Some((first..=last).collect())
        }
        _ => None,
    }
}

/// The population of `band` from the bands held for one area, year and sex: the
/// band itself, else the held bands within it that tile it with no gap and no
/// overlap (the widest where held bands nest). `None` when they do not.
pub(super) fn population_in(band: AgeBand, held: &[(AgeBand, f64)]) -> Option<f64> {
    if let Some((_, n)) = held.iter().find(|(b, _)| *b == band) {
        return Some(*n);
    }
    let inside: Vec<&(AgeBand, f64)> = held
        .iter()
        .filter(|(b, _)| *b != AgeBand::AllAges && band.contains(*b))
        .collect();
    let mut widest: Vec<(u16, Option<u16>, f64)> = inside
        .iter()
        .filter(|(b, _)| !inside.iter().any(|(o, _)| o != b && o.contains(*b)))
        .filter_map(|(b, n)| b.years().map(|(from, to)| (from, to, *n)))
        .collect();
    widest.sort_by_key(|w| w.0);
    let (start, end) = band.years().unwrap_or((0, None));
    let mut next = Some(start);
    let mut total = 0.0;
    for (from, to, n) in widest {
        if Some(from) != next {
            return None;
        }
        total += n;
        next = to.map(|t| t + 1);
    }
    // Tiled to the band's last year, or to an open top for an open band.
    let reached = match (end, next) {
        (Some(e), Some(n)) => n == e + 1,
        (None, None) => true,
        _ => false,
    };
    reached.then_some(total)
}

/// Whether two bands share an age.
fn overlaps(a: AgeBand, b: AgeBand) -> bool {
    match (a.years(), b.years()) {
        (Some((a0, a1)), Some((b0, b1))) => {
            let end = |x: Option<u16>| x.map_or(u32::MAX, u32::from);
            u32::from(a0) <= end(b1) && u32::from(b0) <= end(a1)
        }
        _ => true,
    }
}

/// A population source, indexed by area, year and sex.
pub(super) struct Populations {
    source: String,
    held: FxHashMap<(AreaCode, i32, Sex), Vec<(AgeBand, f64)>>,
    years: BTreeSet<i32>,
}

impl Populations {
    pub(super) async fn load(store: &dyn Store, source: &str) -> Result<Populations, EngineError> {
        let rows = store.populations(source).await?;
        if rows.is_empty() {
            return Err(input(format!(
                "--population {source}: the store has no population of that source: import one with `syndemic import population FILE --source \"{source}\"`"
            )));
        }
        let mut held: FxHashMap<(AreaCode, i32, Sex), Vec<(AgeBand, f64)>> = FxHashMap::default();
        let mut periods: FxHashMap<i32, Period> = FxHashMap::default();
        let mut years = BTreeSet::new();
        for p in rows {
            let (Some(year), Some(sex), Some(band)) = (
                year_of(p.period),
                Sex::parse(&p.sex),
                AgeBand::parse(&p.age),
            ) else {
                continue;
            };
            if let Some(other) = periods.insert(year, p.period).filter(|o| *o != p.period) {
                return Err(input(format!(
                    "--population {source}: the source holds two populations for {year} ({other} and {}): keep one per year, or import them under two sources",
                    p.period
                )));
            }
            years.insert(year);
            held.entry((p.area, year, sex))
                .or_default()
                .push((band, p.population));
        }
        Ok(Populations {
            source: source.to_owned(),
            held,
            years,
        })
    }

    /// The population of one area, period, sex and band, or why there is none.
    pub(super) fn of(
        &self,
        area: AreaCode,
        period: &str,
        sex: &str,
        band: &str,
    ) -> Result<f64, String> {
        let source = &self.source;
        let when = Period::parse(period).map_err(|e| e.to_string())?;
        let years = years_for(when).ok_or_else(|| {
            format!("period {period}: populations are yearly, so --population takes counts by year, financial year or pooled years")
        })?;
        let sex = Sex::parse(sex).ok_or_else(|| format!("`{sex}` is not a sex"))?;
        let age = AgeBand::parse(band).ok_or_else(|| format!("`{band}` is not an age band"))?;
        let mut total = 0.0;
        for year in years {
            if !self.years.contains(&year) {
                return Err(format!(
                    "population source `{source}` has no population for {year} (period {period}); it holds {}: import that year's estimates",
                    self.years
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let one = |sex: Sex| -> Option<f64> {
                self.held
                    .get(&(area, year, sex))
                    .and_then(|held| population_in(age, held))
            };
            let n = one(sex).or_else(|| {
                (sex == Sex::Persons)
                    .then(|| Some(one(Sex::Male)? + one(Sex::Female)?))
                    .flatten()
            });
            let Some(n) = n else {
                let held: Vec<String> = self
                    .held
                    .get(&(area, year, sex))
                    .map(|h| h.iter().map(|(b, _)| b.to_string()).collect())
                    .unwrap_or_default();
                return Err(if held.is_empty() {
                    format!(
                        "population source `{source}` has no {sex} population of {area} in {year}"
                    )
                } else {
                    format!(
                        "population source `{source}` has no {sex} population of {area} in {year} aged {age}, nor bands that make it up (it has {})",
                        held.join(", ")
                    )
                });
            };
            total += n;
        }
        Ok(total)
    }
}

/// The counts with their population from `source`: every area the counts name,
/// in every period, sex and band they have, with its population, and its count
/// where the counts give one (0 where not).
pub(super) async fn with_population(
    ctx: &SessionContext,
    store: &dyn Store,
    counts: DataFrame,
    source: &str,
    spec: &ComputeSpec,
) -> Result<DataFrame, EngineError> {
    let populations = Populations::load(store, source).await?;
    let areas = counts
        .clone()
        .aggregate(vec![col("area")], vec![])?
        .collect()
        .await?;
    let areas = strings(&areas, "area");
    // Every period × every sex × every band: a band where nobody died anywhere has
    // no row at all, and for a DSR the standard's bands the counts' own do not
    // cover are added (`85+` counts keep `85+`; no `40-44` row anywhere still
    // gives 40-44 its population and no events).
    let distinct = |name: &str| {
        let name = name.to_owned();
        let counts = counts.clone();
        async move {
            let batches = counts
                .aggregate(vec![col(&name)], vec![])?
                .collect()
                .await?;
            let mut values = strings(&batches, &name);
            values.sort();
            Ok::<_, EngineError>(values)
        }
    };
    let (period_set, sex_set, mut band_set) = (
        distinct("period").await?,
        distinct("sex").await?,
        distinct("age_band").await?,
    );
    if spec.measure == Measure::Dsr {
        let seen: Vec<AgeBand> = band_set.iter().filter_map(|b| AgeBand::parse(b)).collect();
        for (standard, _) in esp2013_bands() {
            if !seen.iter().any(|b| overlaps(*b, standard)) {
                band_set.push(standard.to_string());
            }
        }
    }
    let mut periods = Vec::new();
    let mut sexes = Vec::new();
    let mut bands = Vec::new();
    for p in &period_set {
        for x in &sex_set {
            for b in &band_set {
                periods.push(p.clone());
                sexes.push(x.clone());
                bands.push(b.clone());
            }
        }
    }
    let size = areas.len() * periods.len();
    let (mut area, mut period, mut sex, mut band, mut population) = (
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
    );
    for a in &areas {
        let code = AreaCode::parse(a).map_err(|e| input(format!("{}: {e}", spec.counts)))?;
        for k in 0..periods.len() {
            let n = populations
                .of(code, &periods[k], &sexes[k], &bands[k])
                .map_err(|why| {
                    input(format!(
                        "{}: {a}, {}, {}, {}: {why}",
                        spec.counts, periods[k], sexes[k], bands[k]
                    ))
                })?;
            area.push(a.as_str());
            period.push(periods[k].as_str());
            sex.push(sexes[k].as_str());
            band.push(bands[k].as_str());
            population.push(n);
        }
    }
    // Each count onto its row (0 where the counts have none); a repeated row of
    // the counts is kept as a second row, which the collector refuses.
    let index: FxHashMap<(&str, &str, &str, &str), usize> = (0..area.len())
        .map(|r| ((area[r], period[r], sex[r], band[r]), r))
        .collect();
    let mut count = vec![0.0; area.len()];
    let mut seen = vec![false; area.len()];
    let held = counts.collect().await?;
    let mut repeated: Vec<(String, String, String, String, f64, f64)> = Vec::new();
    for batch in &held {
        let texts = |name: &str| -> Result<ArrayRef, EngineError> { column(batch, name) };
        let (a, p, x, b, n) = (
            texts("area")?,
            texts("period")?,
            texts("sex")?,
            texts("age_band")?,
            texts("count")?,
        );
        let (a, p, x, b) = (
            a.as_string::<i32>(),
            p.as_string::<i32>(),
            x.as_string::<i32>(),
            b.as_string::<i32>(),
        );
        let n = n.as_primitive::<Float64Type>();
        for r in 0..batch.num_rows() {
            let key = (a.value(r), p.value(r), x.value(r), b.value(r));
            let value = if n.is_null(r) { f64::NAN } else { n.value(r) };
            match index.get(&key) {
                Some(&i) if !seen[i] => {
                    seen[i] = true;
                    count[i] = value;
                }
                Some(&i) => repeated.push((
                    key.0.to_owned(),
                    key.1.to_owned(),
                    key.2.to_owned(),
                    key.3.to_owned(),
                    value,
                    population[i],
                )),
                None => {}
            }
        }
    }
    let mut area: Vec<String> = std::mem::take(&mut area)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut period: Vec<String> = std::mem::take(&mut period)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut sex: Vec<String> = std::mem::take(&mut sex)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut band: Vec<String> = std::mem::take(&mut band)
        .into_iter()
        .map(str::to_owned)
        .collect();
    for (a, p, x, b, n, people) in repeated {
        area.push(a);
        period.push(p);
        sex.push(x);
        band.push(b);
        count.push(n);
        population.push(people);
    }
    // A count that was blank stays blank, so the checks name it.
    let count: Float64Array = count
        .into_iter()
        .map(|c| (!c.is_nan()).then_some(c))
        .collect();
    let text = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    Ok(ctx.read_batch(
        RecordBatch::try_from_iter(vec![
            ("area", text(area)),
            ("period", text(period)),
            ("sex", text(sex)),
            ("age_band", text(band)),
            ("count", Arc::new(count) as ArrayRef),
            (
                "population",
                Arc::new(Float64Array::from(population)) as ArrayRef,
            ),
        ])
        .map_err(|e| EngineError::Query(e.into()))?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(text: &str) -> AgeBand {
        AgeBand::parse(text).unwrap()
    }

    #[test]
    fn a_band_is_its_own_or_the_bands_that_tile_it() {
        let held = [
            (band("80-84"), 10.0),
            (band("85-89"), 4.0),
            (band("90+"), 2.0),
            (band("All ages"), 100.0),
        ];
        assert_eq!(population_in(band("85-89"), &held), Some(4.0));
        assert_eq!(population_in(band("85+"), &held), Some(6.0));
        assert_eq!(population_in(band("80+"), &held), Some(16.0));
        assert_eq!(population_in(band("All ages"), &held), Some(100.0));
        // 75-79 is missing: no band from 75 can be made.
        assert_eq!(population_in(band("75+"), &held), None);
        // A band finer than what is held cannot be made.
        assert_eq!(population_in(band("85-87"), &held), None);
        // Open bands need an open top, closed bands a closed end.
        assert_eq!(population_in(band("80-89"), &held), Some(14.0));
        assert_eq!(
            population_in(band("85+"), &[(band("85-89"), 4.0)]),
            None,
            "no 90+"
        );
    }

    #[test]
    fn nested_bands_are_not_counted_twice() {
        let held = [
            (band("85+"), 6.0),
            (band("85-89"), 4.0),
            (band("90+"), 2.0),
            (band("80-84"), 10.0),
        ];
        assert_eq!(population_in(band("80+"), &held), Some(16.0));
        let singles: Vec<(AgeBand, f64)> = (0..5).map(|y| (band(&y.to_string()), 1.0)).collect();
        assert_eq!(population_in(band("0-4"), &singles), Some(5.0));
        assert_eq!(population_in(band("All ages"), &singles), None, "no top");
    }

    #[test]
    fn bands_overlap_where_they_share_an_age() {
        assert!(overlaps(band("85+"), band("85-89")));
        assert!(overlaps(band("80-84"), band("84-88")));
        assert!(!overlaps(band("80-84"), band("85+")));
        assert!(overlaps(band("All ages"), band("0-4")));
    }

    #[test]
    fn periods_take_their_years() {
        assert_eq!(years_for(Period::Year(2021)), Some(vec![2021]));
        assert_eq!(years_for(Period::FinancialYear(2019)), Some(vec![2019]));
        assert_eq!(
            years_for(Period::parse("2017 - 19").unwrap()),
            Some(vec![2017, 2018, 2019])
        );
        assert_eq!(years_for(Period::parse("2021-03-21").unwrap()), None);
        assert_eq!(year_of(Period::parse("2021-03-21").unwrap()), Some(2021));
    }
}

//! One `syndemic compute` run: a measure — directly standardised rate (ESP2013,
//! Dobson limits), crude rate (exact Poisson below 10 events, Byar's above) or
//! proportion (Wilson) — for every LSOA, ward, district, shire county, combined
//! authority, region and England, for England by national IMD decile and for each district by local IMD
//! quintile; each compared with England and its parent, with the recent trend over
//! the last five periods for crude rates and proportions; then, per district (local
//! quintiles) and for England (national deciles), the slope and relative index of
//! inequality and the gap and ratio between the most and least deprived groups.
//! Named groups of small areas (a commitment's target areas, [`TargetGroup`]) are
//! summed from the same LSOA rows and published under [`TARGET_AREAS`] where the
//! counts cover every one of their areas.

mod collect;
mod coverage;
mod inequality;
mod judge;
mod population;

pub use coverage::{Benchmark, Withheld};

use std::hash::Hasher;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::JoinType;
use datafusion::functions_aggregate::expr_fn::sum;
use datafusion::logical_expr::{cast, col, lit, Expr, GroupingSet};
use datafusion::prelude::{
    CsvReadOptions, DataFrame, ParquetReadOptions, SessionConfig, SessionContext,
};
use futures::StreamExt;
use rustc_hash::{FxHashMap, FxHasher};
use syndemic_model::{AgeBand, AreaCode, Period};
use syndemic_stats::compare::{compare, recent_trend, recent_trend_of_values, Trend};
use syndemic_stats::dsr::{esp2013_bands, standard_weight, DsrAccumulator};
use syndemic_stats::proportion::proportion;
use syndemic_stats::rate::rate;
use syndemic_stats::sii::{sii, SiiInput, SiiOptions, ValueType};
use syndemic_stats::ConfidenceLevel;
use syndemic_store::{Area, ComputeRun, Indicator, Observation, Polarity, Store};

use crate::{EngineError, Geography};

use collect::*;
use coverage::*;
use inequality::*;
pub use judge::NO_ENGLAND_VALUE;
use judge::*;
/// Column names of the counts file.
#[derive(Debug, Clone)]
pub struct CountColumns {
    pub area: String,
    pub period: String,
    /// Optional: without it every row is `Persons`.
    pub sex: Option<String>,
    /// Needed for a DSR; optional for crude rates and proportions (without it every
    /// row is `All ages`).
    pub age_band: Option<String>,
    pub count: String,
    pub population: String,
}

impl Default for CountColumns {
    fn default() -> Self {
        CountColumns {
            area: "area".into(),
            period: "period".into(),
            sex: Some("sex".into()),
            age_band: Some("age_band".into()),
            count: "count".into(),
            population: "population".into(),
        }
    }
}

/// Where the counts come from.
#[derive(Debug, Clone)]
pub enum Counts {
    /// A file in the tidy long layout: Parquet or CSV.
    File(PathBuf),
    /// A dataset imported with `syndemic import counts` (its `numerator` and
    /// `denominator` are the events and the population).
    Dataset(String),
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Counts::File(path) => write!(f, "{}", path.display()),
            Counts::Dataset(name) => write!(f, "dataset {name}"),
        }
    }
}

/// The measure computed from the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Directly standardised rate to ESP2013, Dobson limits; blank under 10 events.
    Dsr,
    /// Crude rate: events / population × multiplier, exact Poisson limits below 10
    /// events and Byar's from 10.
    Rate,
    /// Proportion: count / denominator × multiplier (100 for a percentage), Wilson
    /// score limits; a count above its denominator is refused.
    Proportion,
}

impl Measure {
    pub fn key(self) -> &'static str {
        match self {
            Measure::Dsr => "dsr",
            Measure::Rate => "rate",
            Measure::Proportion => "proportion",
        }
    }

    /// The multiplier when the indicator gives none.
    pub fn default_multiplier(self) -> f64 {
        match self {
            Measure::Dsr | Measure::Rate => 100_000.0,
            Measure::Proportion => 100.0,
        }
    }
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct ComputeSpec {
    pub measure: Measure,
    /// The indicator the results belong to (its multiplier defaults to
    /// [`Measure::default_multiplier`]).
    pub indicator: Indicator,
    /// LSOA-level counts by period, sex and ESP2013 age band: Parquet or CSV.
    pub counts: Counts,
    pub columns: CountColumns,
    /// Lookup vintage of the LSOA → ward → district links (e.g. `2019`).
    pub vintage: String,
    /// The vintage of the counts' areas when it is not the geography's (e.g.
    /// `LSOA21` counts on a 2011 geography): they are mapped through the stored
    /// lookup between vintages first.
    pub counts_vintage: Option<String>,
    /// Where one area of the counts overlaps several of the geography (LSOAs
    /// merged between vintages), its counts are shared in proportion to these
    /// populations (a population source, `All ages`, `Persons`); without it, equally.
    pub apportion_by: Option<String>,
    /// A population source in the store (`syndemic import population … --source`)
    /// giving the denominators, for counts of events only: the counts' population
    /// column is then not read (see `population`).
    pub population: Option<String>,
    /// Edition of the Indices of Deprivation for the deciles and quintiles.
    pub edition: String,
    /// SII simulation repetitions (at least 1,000) and seed.
    pub repetitions: u32,
    pub seed: u64,
    /// Where England's and the regions' values come from, in place of aggregates
    /// of the counts (which are published only where the counts cover the whole
    /// area: see [`Withheld`]).
    pub benchmark: Option<Benchmark>,
    /// Named groups of small areas to measure as well (at most
    /// [`MAX_TARGET_GROUPS`]): a commitment's target areas, and the community-
    /// defined places.
    pub targets: Vec<TargetGroup>,
}

pub use syndemic_model::TARGET_AREAS;

/// Most target groups one computation measures.
pub const MAX_TARGET_GROUPS: usize = 250;

/// A named group of small areas measured as one: its value is the measure over
/// the sum of their counts (for a DSR, of their counts band by band), with the
/// measure's own limits, as for any area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    /// How it is known, e.g. the rule `local-quintile:E07000041:1`.
    pub label: String,
    /// The area it is measured for (its values are filed under this area, and
    /// compared with it).
    pub within: AreaCode,
    /// Its small areas (LSOAs of the geography's vintage).
    pub areas: Vec<AreaCode>,
    /// A community-defined place (E99…): its values are filed under this code,
    /// as an area's, not under `within` as a category; still compared with
    /// `within`.
    pub place: Option<AreaCode>,
}

#[derive(Debug, Clone, Default)]
pub struct ComputeSummary {
    /// The inputs were those of the last run: nothing was done.
    pub up_to_date: bool,
    pub input_rows: u64,
    /// Areas of the counts' vintage whose counts were shared among several areas
    /// of the geography's.
    pub apportioned: u64,
    pub observations: u64,
    /// Areas whose aggregate was left out: the counts cover only part of them.
    pub withheld: Vec<Withheld>,
    /// England and region values taken from the benchmark.
    pub benchmark_values: usize,
    /// Stage names and how long each took.
    pub stages: Vec<(&'static str, Duration)>,
}

/// The groupings of one query; a row's grouping is read from which of its grouping
/// columns are null (DataFusion nulls the columns a grouping set leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Grouping {
    Lsoa,
    Ward,
    District,
    County,
    CombinedAuthority,
    Region,
    England,
    NationalDecile,
    LocalQuintile,
    /// Quintiles within a shire county (its own local quintiles, as a district's).
    CountyQuintile,
    /// A [`TargetGroup`]: its area is the one it lies within, its category its
    /// place in [`ComputeSpec::targets`] counted from 1.
    Target,
}

const ENGLAND: &str = "E92000001";

fn input(message: impl Into<String>) -> EngineError {
    EngineError::Input(message.into())
}

/// A fingerprint of the file's bytes (FxHash over 64-bit words), to tell whether
/// the inputs changed since the last run. Not cryptographic: it detects change,
/// it does not defend against a forger.
fn fingerprint(path: &std::path::Path) -> Result<String, EngineError> {
    let mut file = std::fs::File::open(path).map_err(|e| {
        input(format!(
            "{}: cannot open the counts file: {e}",
            path.display()
        ))
    })?;
    let mut hasher = FxHasher::default();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| input(format!("{}: cannot read: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        for chunk in buffer[..n].chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            hasher.write_u64(u64::from_le_bytes(word));
        }
    }
    Ok(format!("{total}:{:016x}", hasher.finish()))
}

/// A stored dataset as one Arrow batch in the tidy layout's default columns.
async fn dataset_batch(
    store: &dyn Store,
    name: &str,
    needs_denominator: bool,
) -> Result<RecordBatch, EngineError> {
    let rows = store.counts(name).await?;
    if rows.is_empty() {
        return Err(input(format!(
            "no counts dataset `{name}` in the store: import one with `syndemic import counts FILE --dataset {name}`"
        )));
    }
    if let Some(r) = rows
        .iter()
        .find(|r| needs_denominator && r.denominator.is_none())
    {
        return Err(input(format!(
            "dataset {name}: {}, {}, {}, {} has no denominator; a rate needs the population (or take it from an imported one with --population SOURCE)",
            r.area, r.period, r.sex, r.age_band
        )));
    }
    let text = |f: &dyn Fn(&syndemic_store::CountRow) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let number = |f: &dyn Fn(&syndemic_store::CountRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
    };
    RecordBatch::try_from_iter(vec![
        ("area", text(&|r| r.area.as_str().to_owned())),
        ("period", text(&|r| r.period.to_string())),
        ("sex", text(&|r| r.sex.clone())),
        ("age_band", text(&|r| r.age_band.clone())),
        ("count", number(&|r| r.numerator)),
        ("population", number(&|r| r.denominator.unwrap_or_default())),
    ])
    .map_err(|e| EngineError::Query(e.into()))
}

async fn read_counts(
    ctx: &SessionContext,
    store: &dyn Store,
    spec: &ComputeSpec,
) -> Result<DataFrame, EngineError> {
    let path = match &spec.counts {
        Counts::File(path) => path.display().to_string(),
        Counts::Dataset(name) => {
            let mut spec = spec.clone();
            spec.columns = CountColumns::default();
            let df =
                ctx.read_batch(dataset_batch(store, name, spec.population.is_none()).await?)?;
            return select_counts(df, &spec, &format!("dataset {name}"));
        }
    };
    let name = path.to_ascii_lowercase();
    let df = if name.ends_with(".parquet") {
        ctx.read_parquet(path.as_str(), ParquetReadOptions::default())
            .await?
    } else if name.ends_with(".csv") {
        ctx.read_csv(path.as_str(), CsvReadOptions::new().has_header(true))
            .await?
    } else {
        return Err(input(format!(
            "{path}: counts must be a .parquet or .csv file (the tidy layout: area, period, sex, age_band, count, population)"
        )));
    };
    select_counts(df, spec, &path)
}

/// The counts in the engine's column names and types, after checking the columns.
fn select_counts(df: DataFrame, spec: &ComputeSpec, path: &str) -> Result<DataFrame, EngineError> {
    let present: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let c = &spec.columns;
    let mut wanted = vec![&c.area, &c.period, &c.count];
    // With a population source, the file's own population column is not read.
    if spec.population.is_none() {
        wanted.push(&c.population);
    }
    wanted.extend(c.sex.iter().chain(&c.age_band));
    for w in wanted {
        if !present.contains(w) {
            return Err(input(format!(
                "{path}: no column `{w}` (the file has: {})",
                present.join(", ")
            )));
        }
    }
    let sex = match &c.sex {
        Some(s) => cast(col(format!("\"{s}\"")), DataType::Utf8),
        None => lit("Persons"),
    };
    let quoted = |n: &str| col(format!("\"{n}\""));
    let band = match &c.age_band {
        Some(b) => cast(quoted(b), DataType::Utf8),
        None => lit("All ages"),
    };
    let population = match &spec.population {
        None => cast(quoted(&c.population), DataType::Float64),
        Some(_) => lit(0.0),
    };
    Ok(df.select(vec![
        cast(quoted(&c.area), DataType::Utf8).alias("area"),
        cast(quoted(&c.period), DataType::Utf8).alias("period"),
        sex.alias("sex"),
        band.alias("age_band"),
        cast(quoted(&c.count), DataType::Float64).alias("count"),
        population.alias("population"),
    ])?)
}

/// Maps counts of areas of vintage `from` onto the geography's LSOAs through the
/// stored lookup between vintages: an area that lies in one LSOA of the geography
/// adds to it; an area overlapping several (LSOAs merged between the vintages)
/// shares its counts among them, by population where `apportion_by` names a
/// population source, otherwise equally. Returns the mapped counts and how many
/// areas were shared out. Areas the lookup does not hold are refused.
async fn map_vintage(
    ctx: &SessionContext,
    store: &dyn Store,
    counts: DataFrame,
    from: &str,
    geography: &Geography,
    spec: &ComputeSpec,
) -> Result<(DataFrame, u64), EngineError> {
    let lsoas: rustc_hash::FxHashSet<AreaCode> = geography.lsoa.iter().copied().collect();
    let mut targets: FxHashMap<AreaCode, Vec<AreaCode>> = FxHashMap::default();
    for c in store.correspondences(from).await? {
        if lsoas.contains(&c.target) {
            targets.entry(c.source).or_default().push(c.target);
        }
    }
    if targets.is_empty() {
        return Err(input(format!(
            "no lookup from {from} to the LSOAs of the {} lookups in the store: import one (e.g. the ONS LSOA11CD,LSOA21CD lookup) with `syndemic import lookups`",
            spec.vintage
        )));
    }
    let population: FxHashMap<AreaCode, f64> = match &spec.apportion_by {
        None => FxHashMap::default(),
        Some(source) => store
            .populations(source)
            .await?
            .into_iter()
            .filter(|p| p.age == "All ages" && p.sex == "Persons")
            .map(|p| (p.area, p.population))
            .collect(),
    };
    let (mut source, mut target, mut weight) = (Vec::new(), Vec::new(), Vec::new());
    let mut apportioned = 0;
    let mut sources: Vec<&AreaCode> = targets.keys().collect();
    sources.sort();
    for s in sources {
        let list = &targets[s];
        let shares: Vec<f64> = if list.len() == 1 {
            vec![1.0]
        } else {
            apportioned += 1;
            match &spec.apportion_by {
                None => vec![1.0 / list.len() as f64; list.len()],
                Some(by) => {
                    let people: Vec<f64> = list
                        .iter()
                        .map(|t| {
                            population.get(t).copied().ok_or_else(|| {
                                input(format!(
                                    "{s} of {from} overlaps {} LSOAs, and `{by}` has no population for {t} to share its counts by",
                                    list.len()
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    let total: f64 = people.iter().sum();
                    if total.is_nan() || total <= 0.0 {
                        return Err(input(format!(
                            "{s} of {from}: the `{by}` populations of the LSOAs it overlaps add up to {total}; counts cannot be shared by them"
                        )));
                    }
                    people.iter().map(|p| p / total).collect()
                }
            }
        };
        for (t, w) in list.iter().zip(shares) {
            source.push(s.as_str().to_owned());
            target.push(t.as_str().to_owned());
            weight.push(w);
        }
    }
    let mapping = ctx.read_batch(
        RecordBatch::try_from_iter(vec![
            ("source", Arc::new(StringArray::from(source)) as ArrayRef),
            ("target", Arc::new(StringArray::from(target)) as ArrayRef),
            ("weight", Arc::new(Float64Array::from(weight)) as ArrayRef),
        ])
        .map_err(|e| EngineError::Query(e.into()))?,
    )?;
    let unknown = counts
        .clone()
        .join(
            mapping.clone(),
            JoinType::LeftAnti,
            &["area"],
            &["source"],
            None,
        )?
        .select(vec![col("area")])?
        .limit(0, Some(5))?
        .collect()
        .await?;
    let unknown = strings(&unknown, "area");
    if !unknown.is_empty() {
        return Err(input(format!(
            "{}: areas that the lookup from {from} to the {} LSOAs does not hold: {}",
            spec.counts,
            spec.vintage,
            unknown.join(", ")
        )));
    }
    // Mapping sums rows, so a repeated row must be caught before.
    let keys = || vec![col("area"), col("period"), col("sex"), col("age_band")];
    let repeated = counts
        .clone()
        .aggregate(
            keys(),
            vec![datafusion::functions_aggregate::expr_fn::count(lit(1)).alias("n")],
        )?
        .filter(col("n").gt(lit(1i64)))?
        .limit(0, Some(1))?
        .collect()
        .await?;
    if let Some(row) = first_row(&repeated) {
        return Err(input(format!(
            "{}: duplicate key: more than one row for {row}; the layout has one row per area, period, sex and age band",
            spec.counts
        )));
    }
    let mapped = counts
        .join(mapping, JoinType::Inner, &["area"], &["source"], None)?
        .select(vec![
            col("target").alias("area"),
            col("period"),
            col("sex"),
            col("age_band"),
            (col("count") * col("weight")).alias("count"),
            (col("population") * col("weight")).alias("population"),
        ])?
        .aggregate(
            keys(),
            vec![
                sum(col("count")).alias("count"),
                sum(col("population")).alias("population"),
            ],
        )?;
    Ok((mapped, apportioned))
}

/// Most age bands one computation takes (ESP2013 has 19).
const MAX_BANDS: usize = 32;

/// The ESP2013 weight of an age band (in any form `AgeBand` reads): one of its 19
/// bands, or a run of them such as the Census's `85+` (85-89 and 90+ together,
/// [`standard_weight`]); and which of the 19 bands it covers, as a mask.
fn esp2013_band(band: &str) -> Option<(f64, u32)> {
    let band = AgeBand::parse(band)?;
    let table = esp2013_bands();
    let weight = standard_weight(&table, band)?;
    let mask = table
        .iter()
        .enumerate()
        .filter(|(_, (b, _))| band.contains(*b))
        .fold(0u32, |m, (i, _)| m | 1 << i);
    Some((weight, mask))
}

/// Each LSOA's target groups, by the id the LSOA rows carry: (the id of the area
/// the group lies within, the group's number counted from 1). An area of a
/// commitment's group that is not in the geography is refused, naming it; a
/// community place with one is left out.
fn target_members(
    spec: &ComputeSpec,
    codes: &[AreaCode],
) -> Result<FxHashMap<i64, Vec<(i64, i64)>>, EngineError> {
    let mut out: FxHashMap<i64, Vec<(i64, i64)>> = FxHashMap::default();
    if spec.targets.is_empty() {
        return Ok(out);
    }
    let id: FxHashMap<AreaCode, i64> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as i64))
        .collect();
    for (n, t) in spec.targets.iter().enumerate() {
        // A community place of another vintage's small areas (or of another
        // place) is not measured by this run; a commitment's target areas must be.
        if t.place.is_some()
            && (!id.contains_key(&t.within) || t.areas.iter().any(|a| !id.contains_key(a)))
        {
            continue;
        }
        let within = *id.get(&t.within).ok_or_else(|| {
            input(format!(
                "target areas `{}`: {} is not an area of the {} lookups in the store",
                t.label, t.within, spec.vintage
            ))
        })?;
        let mut seen = rustc_hash::FxHashSet::default();
        for a in &t.areas {
            let lsoa = *id.get(a).ok_or_else(|| {
                input(format!(
                    "target areas `{}`: {a} is not a small area of the {} lookups in the store",
                    t.label, spec.vintage
                ))
            })?;
            if seen.insert(lsoa) {
                out.entry(lsoa).or_default().push((within, n as i64 + 1));
            }
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct Group {
    grouping: Grouping,
    area: AreaCode,
    category: u8,
    period: Period,
    sex: String,
}

/// Computes and stores; does nothing when the inputs are those of the last run.
#[tracing::instrument(name = "compute", skip_all, fields(indicator = %spec.indicator.id))]
pub async fn compute(
    store: &dyn Store,
    spec: &ComputeSpec,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ComputeSummary, EngineError> {
    let mut summary = ComputeSummary::default();
    let mut clock = Instant::now();
    let mut stage = |summary: &mut ComputeSummary, name: &'static str| {
        tracing::info!(
            stage = name,
            seconds = clock.elapsed().as_secs_f64(),
            "compute stage done"
        );
        summary.stages.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    let id = spec.indicator.id.clone();
    let multiplier = spec
        .indicator
        .multiplier
        .unwrap_or(spec.measure.default_multiplier());
    let described = match spec.measure {
        Measure::Dsr => "dsr (Dobson limits, ESP2013",
        Measure::Rate => "crude rate (exact Poisson limits below 10 events, Byar's from 10",
        Measure::Proportion => "proportion (Wilson score limits",
    };
    let method = format!("{described}, per {multiplier}); compared with England and parent (95 % limits); recent trend (last 5 periods, 99.9 %: chi-square test for trend of counts, or for a DSR a regression weighted by its limits); SII/RII ({} simulations, seed {}); gap and ratio of most/least deprived", spec.repetitions, spec.seed);
    if spec.measure == Measure::Dsr && spec.columns.age_band.is_none() {
        return Err(input(format!(
            "{}: a directly standardised rate needs an age band column (ESP2013 bands 0-4, 5-9, …, 90+); without one compute a crude rate (--measure rate)",
            spec.counts
        )));
    }
    progress("fingerprinting the inputs");
    // A stored benchmark changes by imports, computes and comparisons alike: its
    // values themselves go into the key.
    let benchmark_key = match &spec.benchmark {
        None => "none".to_string(),
        Some(b @ Benchmark::File(path)) => format!("{b} [{}]", fingerprint(path)?),
        Some(b @ Benchmark::Indicator(id)) => {
            let mut h = FxHasher::default();
            for o in store.observations(Some(id)).await? {
                h.write(
                    format!(
                        "{}|{}|{}|{}|{:?}|{:?}|{:?}",
                        o.area, o.period, o.sex, o.age, o.value, o.lower95, o.upper95
                    )
                    .as_bytes(),
                );
            }
            format!("{b} [{:016x}]", h.finish())
        }
    };
    let imports = store.imports().await?.len();
    if spec.targets.len() > MAX_TARGET_GROUPS {
        return Err(input(format!(
            "{} target groups: at most {MAX_TARGET_GROUPS} are measured in one run",
            spec.targets.len()
        )));
    }
    let targets_key: Vec<String> = spec
        .targets
        .iter()
        .map(|t| {
            let areas: Vec<&str> = t.areas.iter().map(|a| a.as_str()).collect();
            let place = t.place.map(|p| format!(" as {p}")).unwrap_or_default();
            format!("{}@{}{place}={}", t.label, t.within, areas.join(","))
        })
        .collect();
    let inputs = format!(
        "counts {} [{}]; columns {:?}; lookups {}; deprivation {}; counts vintage {:?} apportioned by {:?}; population {:?}; benchmark {}; store imports {imports}; targets {}",
        spec.counts,
        match &spec.counts {
            Counts::File(path) => fingerprint(path)?,
            // A dataset changes only by an import, which the import count records.
            Counts::Dataset(_) => "stored".into(),
        },
        spec.columns,
        spec.vintage,
        spec.edition,
        spec.counts_vintage,
        spec.apportion_by,
        spec.population,
        benchmark_key,
        targets_key.join(";")
    );
    let key = format!("{:016x}", {
        let mut h = FxHasher::default();
        h.write(inputs.as_bytes());
        h.write(method.as_bytes());
        h.write(spec.indicator.name.as_bytes());
        h.finish()
    });
    if store
        .compute_runs(&id)
        .await?
        .last()
        .is_some_and(|r| r.input_key == key)
    {
        summary.up_to_date = true;
        return Ok(summary);
    }
    stage(&mut summary, "fingerprint");

    progress("reading the geography");
    let geography = Geography::load(store, &spec.vintage, &spec.edition).await?;
    let config = SessionConfig::new()
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let ctx = SessionContext::new_with_config(config);
    let (batch, codes) = geography.to_batch()?;
    let map = ctx.read_batch(batch)?;
    let mut counts = read_counts(&ctx, store, spec).await?;
    if let Some(from) = &spec.counts_vintage {
        progress("mapping the counts between vintages");
        let (mapped, apportioned) =
            map_vintage(&ctx, store, counts, from, &geography, spec).await?;
        counts = mapped;
        summary.apportioned = apportioned;
    }
    stage(&mut summary, "geography");

    progress("checking the counts");
    let unknown = counts
        .clone()
        .join(map.clone(), JoinType::LeftAnti, &["area"], &["lsoa"], None)?
        .select(vec![col("area")])?
        .limit(0, Some(5))?
        .collect()
        .await?;
    let unknown: Vec<String> = strings(&unknown, "area");
    if !unknown.is_empty() {
        return Err(input(format!(
            "{}: areas that are not LSOAs of the {} lookups in the store: {} (counts must be at LSOA level, and the lookups imported)",
            spec.counts,
            spec.vintage,
            unknown.join(", ")
        )));
    }
    if let Some(source) = &spec.population {
        progress("taking the population from the store");
        counts = population::with_population(&ctx, store, counts, source, spec).await?;
    }
    let bad = counts
        .clone()
        .filter(
            col("count")
                .is_null()
                .or(col("population").is_null())
                .or(col("count").lt(lit(0.0)))
                .or(col("population").lt(lit(0.0)))
                .or(col("period").is_null())
                .or(col("age_band").is_null()),
        )?
        .limit(0, Some(1))?
        .collect()
        .await?;
    if let Some(row) = first_row(&bad) {
        return Err(input(format!(
            "{}: a row with a missing or negative count or population, or no period or age band: {row}",
            spec.counts
        )));
    }
    stage(&mut summary, "checks");

    progress("aggregating every level and deprivation group");
    let joined = counts.join(map, JoinType::Inner, &["area"], &["lsoa"], None)?;
    let members = target_members(spec, &codes)?;
    let mut collector = Collector::new(spec, codes)?;
    // LSOAs: the counts are already at LSOA × period × sex × band, one row each
    // (a repeat is refused), so they stream straight into the accumulators; a hash
    // aggregation over 12 million groups would only cost memory.
    let mut stream = joined
        .clone()
        .select(vec![
            col("lsoa_id"),
            col("period"),
            col("sex"),
            col("age_band"),
            col("count"),
            col("population"),
        ])?
        .execute_stream()
        .await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let lsoa = column(&batch, "lsoa_id")?;
        let lsoa = lsoa.as_primitive::<Int64Type>();
        let texts = Texts::of(&batch)?;
        for r in 0..batch.num_rows() {
            summary.input_rows += 1;
            collector.add(Grouping::Lsoa, lsoa.value(r), 0, &texts, r, true)?;
            // The LSOA's target groups: (the area each lies within, its number).
            for &(within, t) in members.get(&lsoa.value(r)).map_or(&[][..], Vec::as_slice) {
                collector.add(Grouping::Target, within, t, &texts, r, false)?;
            }
        }
    }
    // Every other level and group: one query, per-group and per-band sums.
    let tail = || vec![col("period"), col("sex"), col("age_band")];
    let with = |mut head: Vec<Expr>| {
        head.extend(tail());
        head
    };
    let sets = vec![
        with(vec![col("ward")]),
        with(vec![col("district")]),
        with(vec![col("county")]),
        with(vec![col("combined")]),
        with(vec![col("region")]),
        tail(),
        with(vec![col("decile")]),
        with(vec![col("district"), col("quintile")]),
        with(vec![col("county"), col("county_quintile")]),
    ];
    let aggregated = joined.aggregate(
        vec![Expr::GroupingSet(GroupingSet::GroupingSets(sets))],
        vec![
            sum(col("count")).alias("count"),
            sum(col("population")).alias("population"),
        ],
    )?;
    let mut stream = aggregated.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let ints: Vec<_> = [
            "ward",
            "district",
            "county",
            "combined",
            "region",
            "decile",
            "quintile",
            "county_quintile",
        ]
        .iter()
        .map(|name| column(&batch, name))
        .collect::<Result<_, _>>()?;
        let [ward, district, county, combined, region, decile, quintile, county_quintile] =
            [0, 1, 2, 3, 4, 5, 6, 7].map(|i| ints[i].as_primitive::<Int64Type>());
        let texts = Texts::of(&batch)?;
        for r in 0..batch.num_rows() {
            let (grouping, area, category) = if ward.is_valid(r) {
                (Grouping::Ward, ward.value(r), 0)
            } else if quintile.is_valid(r) {
                (
                    Grouping::LocalQuintile,
                    district.value(r),
                    quintile.value(r),
                )
            } else if county_quintile.is_valid(r) {
                (
                    Grouping::CountyQuintile,
                    county.value(r),
                    county_quintile.value(r),
                )
            } else if district.is_valid(r) {
                (Grouping::District, district.value(r), 0)
            } else if county.is_valid(r) {
                (Grouping::County, county.value(r), 0)
            } else if combined.is_valid(r) {
                (Grouping::CombinedAuthority, combined.value(r), 0)
            } else if region.is_valid(r) {
                (Grouping::Region, region.value(r), 0)
            } else if decile.is_valid(r) {
                (Grouping::NationalDecile, -2, decile.value(r))
            } else {
                (Grouping::England, -2, 0)
            };
            // Unknown parents and groups (id -1, group 0) are not areas.
            if area == -1
                || (matches!(
                    grouping,
                    Grouping::NationalDecile | Grouping::LocalQuintile | Grouping::CountyQuintile
                ) && category == 0)
            {
                continue;
            }
            collector.add(grouping, area, category, &texts, r, false)?;
        }
    }
    collector.finish_persons()?;
    let Collector {
        groups,
        accumulator,
        mut sums,
        ..
    } = collector;
    sums.resize(groups.len(), [0.0; 2]);
    stage(&mut summary, "aggregate");

    progress("computing rates and limits");
    let levels = [ConfidenceLevel::new(95.0)?, ConfidenceLevel::new(99.8)?];
    let events: Vec<Option<f64>> = sums.iter().map(|s| Some(s[0])).collect();
    // A group with no population has no rate (rather than an error).
    let people: Vec<Option<f64>> = sums.iter().map(|s| (s[1] > 0.0).then_some(s[1])).collect();
    let estimates = match spec.measure {
        Measure::Dsr => accumulator.finish(groups.len(), multiplier, &levels)?.1,
        Measure::Rate => rate(&events, &people, multiplier, &levels)?,
        Measure::Proportion => proportion(&events, &people, multiplier, &levels)?,
    };
    let edition_year = spec.edition.trim_start_matches("IoD");
    let national = format!("IMD {edition_year} national decile");
    let local = format!("IMD {edition_year} local quintile");
    let (published, withheld) = coverage(&groups, &geography, &spec.targets);
    let mut coverage = describe(&groups, &published, &withheld);
    summary.withheld = withheld;
    let mut observations: Vec<Observation> = Vec::with_capacity(groups.len());
    let mut kept: Vec<Group> = Vec::with_capacity(groups.len());
    let target_of = |group: &Group| &spec.targets[usize::from(group.category) - 1];
    for ((g, group), publish) in groups.into_iter().enumerate().zip(published) {
        if !publish {
            continue;
        }
        let (category_type, category) = match group.grouping {
            Grouping::NationalDecile => (national.clone(), group.category.to_string()),
            Grouping::LocalQuintile | Grouping::CountyQuintile => {
                (local.clone(), group.category.to_string())
            }
            Grouping::Target if target_of(&group).place.is_none() => {
                (TARGET_AREAS.to_owned(), target_of(&group).label.clone())
            }
            _ => (String::new(), String::new()),
        };
        let area = match group.grouping {
            Grouping::Target => target_of(&group).place.unwrap_or(group.area),
            _ => group.area,
        };
        observations.push(Observation {
            indicator: id.clone(),
            area,
            period: group.period,
            sex: group.sex.clone(),
            age: "All ages".into(),
            category_type,
            category,
            count: Some(sums[g][0]),
            denominator: Some(sums[g][1]),
            value: estimates.value[g],
            lower95: estimates.lower[0][g],
            upper95: estimates.upper[0][g],
            lower998: estimates.lower[1][g],
            upper998: estimates.upper[1][g],
            note: estimates.note[g].map(|n| n.text().to_owned()),
            compared_to_england: None,
            compared_to_parent: None,
            recent_trend: None,
        });
        kept.push(group);
    }
    let mut groups = kept;
    if let Some(benchmark) = &spec.benchmark {
        progress("reading the benchmark");
        let regions: rustc_hash::FxHashSet<AreaCode> =
            geography.region.iter().flatten().copied().collect();
        let values = read_benchmark(store, benchmark, &regions).await?;
        summary.benchmark_values =
            apply_benchmark(&mut observations, &mut groups, &values, benchmark, &id);
        if summary.benchmark_values == 0 {
            return Err(input(format!(
                "benchmark {benchmark}: none of its England or region values is for a period of the counts"
            )));
        }
        coverage.push_str(&format!(
            "; {} England and region values from the benchmark {}",
            summary.benchmark_values,
            benchmark.label()
        ));
    }
    compare_with_parents(
        &mut observations,
        &groups,
        &geography,
        spec.indicator.polarity,
    );
    recent_trends(
        &mut observations,
        spec.indicator.polarity,
        spec.measure != Measure::Dsr,
    );
    stage(&mut summary, "rates");

    progress("computing the inequality measures");
    let inequality = inequality(
        spec,
        multiplier,
        &groups,
        &observations,
        &levels,
        &national,
        &local,
    )?;
    stage(&mut summary, "inequality");

    progress("storing the results");
    let mut tx = store.begin().await?;
    tx.put_areas(&[Area {
        code: AreaCode::parse(ENGLAND).map_err(|e| input(e.to_string()))?,
        name: Some("England".into()),
        no_known_parent: false,
    }])
    .await?;
    let mut indicator = spec.indicator.clone();
    indicator.measure_type = Some(spec.measure.key().into());
    indicator.multiplier = Some(multiplier);
    tx.put_indicator(&indicator).await?;
    tx.delete_observations(&id).await?;
    for (suffix, name, _) in DERIVED {
        let mut derived = Indicator::named(
            format!("{id}.{suffix}"),
            format!("{}: {name}", spec.indicator.name),
        );
        derived.measure_type = Some(suffix.to_string());
        derived.source = Some(format!("computed from {id}"));
        derived.polarity = Some(Polarity::NoJudgement);
        tx.put_indicator(&derived).await?;
        tx.delete_observations(&derived.id).await?;
    }
    for chunk in observations.chunks(20_000).chain(inequality.chunks(20_000)) {
        tx.put_observations(chunk).await?;
    }
    summary.observations = (observations.len() + inequality.len()) as u64;
    tx.record_compute(&ComputeRun {
        input_key: key,
        indicator: id.clone(),
        method,
        inputs,
        observations: summary.observations as i64,
        coverage,
    })
    .await?;
    tx.commit().await?;
    stage(&mut summary, "store");
    Ok(summary)
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    batches
        .iter()
        .filter_map(|b| b.column_by_name(column))
        .flat_map(|c| {
            let c = c.as_string::<i32>();
            (0..c.len())
                .map(|i| c.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn first_row(batches: &[RecordBatch]) -> Option<String> {
    let batch = batches.iter().find(|b| b.num_rows() > 0)?;
    let cells: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            let text =
                datafusion::arrow::util::display::array_value_to_string(c, 0).unwrap_or_default();
            format!(
                "{}={}",
                f.name(),
                if c.is_null(0) { "(blank)".into() } else { text }
            )
        })
        .collect();
    Some(cells.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esp2013_bands() {
        assert_eq!(esp2013_band("0-4"), Some((5000.0, 1)));
        assert_eq!(esp2013_band("05-09"), Some((5500.0, 1 << 1)));
        assert_eq!(esp2013_band("90+"), Some((1000.0, 1 << 18)));
        assert_eq!(esp2013_band("90 and over"), Some((1000.0, 1 << 18)));
        // The Census's top band: 85-89 and 90+ together.
        assert_eq!(esp2013_band("85+"), Some((2500.0, 1 << 17 | 1 << 18)));
        assert_eq!(
            esp2013_band("Aged 85 years and over"),
            Some((2500.0, 1 << 17 | 1 << 18))
        );
        assert_eq!(esp2013_band("0-5"), None);
    }
}

//! The evidence-store commands: `syndemic import`, `syndemic areas show` and
//! `syndemic export`. Each opens the store named by `--db` (a SQLite file by
//! default) and runs on a single-threaded async runtime.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use syndemic_engine::{
    commitment_targets, community_places, compute, Benchmark, ComputeSpec, CountColumns, Counts,
    Measure,
};
use syndemic_import::{
    export_fingertips, import_boundaries, import_counts, import_fingertips, import_imd,
    import_lookups, import_population, import_postcodes, locate, normalise_postcode, write_xlsx,
    LookupOptions,
};
use syndemic_model::{AreaCode, Level};
use syndemic_stats::deprivation::local_quantiles;
use syndemic_store::disclosure::{suppress, AreaFamilies, SUPPRESSED};
use syndemic_store::{Indicator, Observation, Polarity, SqlStore, Store, StoreUrl};

use crate::progress::Progress;

/// The default store: a SQLite file in the working directory.
pub const DEFAULT_DB: &str = "syndemic.db";

#[derive(Args, Clone)]
pub struct DbArgs {
    /// The store: a SQLite file path, sqlite:FILE, or postgres://… (default: a SQLite
    /// file syndemic.db in the working directory).
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: String,
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    kind: ImportKind,
}

#[derive(Subcommand)]
enum ImportKind {
    /// ONS geography lookups (CSV or .csv.gz), columns recognised by header
    /// (LSOA11CD, WD19CD, LAD19CD, UTLA19CD, RGN19CD, …).
    Lookups(ImportFiles),
    /// Indices of Deprivation files: IoD2019 Files 1, 2 and 6 as published, or
    /// IoD2025 at LSOA 2021.
    Imd(ImportFiles),
    /// OHID Fingertips CSV exports.
    Fingertips(ImportFiles),
    /// Population estimates by area, sex and age band (Census 2021 tables, ONS
    /// mid-year estimates, or area,period,sex,age_band,population).
    Population(ImportFiles),
    /// ONS boundaries as GeoJSON (lon/lat), one layer per file; neighbours are
    /// found from shared edges.
    Boundaries(ImportFiles),
    /// The ONS postcode directory (NSPL or ONSPD CSV layout).
    Postcodes(ImportFiles),
    /// Counts in the tidy long layout (CSV or Parquet: area, period, optional sex
    /// and age_band, numerator, optional denominator), as a named dataset.
    Counts(ImportFiles),
}

#[derive(Args)]
struct ImportFiles {
    /// Files to import, each in its own transaction.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// For lookups: the year of columns whose header carries none (LADCD).
    #[arg(long)]
    vintage: Option<String>,
    /// For populations: where they come from (e.g. "Census 2021").
    #[arg(long)]
    source: Option<String>,
    /// For counts: the dataset's name, used by `syndemic compute --dataset`.
    #[arg(long)]
    dataset: Option<String>,
    #[command(flatten)]
    db: DbArgs,
    /// No progress spinner.
    #[arg(long)]
    quiet: bool,
}

pub async fn open(db: &DbArgs) -> Result<SqlStore> {
    let url = StoreUrl::parse(&db.db)?;
    Ok(SqlStore::connect(&url).await?)
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn import(args: &ImportArgs) -> Result<()> {
    runtime()?.block_on(async {
        let (files, what) = match &args.kind {
            ImportKind::Lookups(f) => (f, "lookups"),
            ImportKind::Imd(f) => (f, "deprivation"),
            ImportKind::Fingertips(f) => (f, "Fingertips"),
            ImportKind::Population(f) => (f, "populations"),
            ImportKind::Boundaries(f) => (f, "boundaries"),
            ImportKind::Postcodes(f) => (f, "postcodes"),
            ImportKind::Counts(f) => (f, "counts"),
        };
        if files.dataset.is_some() != matches!(args.kind, ImportKind::Counts(_)) {
            bail!("`import counts` needs --dataset NAME; the other imports take none");
        }
        if files.source.is_some() != matches!(args.kind, ImportKind::Population(_)) {
            bail!("`import population` needs --source NAME (e.g. \"Census 2021\"); the other imports take none");
        }
        if files.vintage.is_some() && !matches!(args.kind, ImportKind::Lookups(_)) {
            bail!("--vintage applies to `import lookups` only");
        }
        let store = open(&files.db).await?;
        let progress = Progress::spinner(files.quiet);
        for file in &files.files {
            progress.say(format!("importing {what} from {}", file.display()));
            let summary = match &args.kind {
                ImportKind::Lookups(f) => {
                    let options = LookupOptions {
                        vintage: f.vintage.clone(),
                    };
                    import_lookups(&store, file, &options).await
                }
                ImportKind::Imd(_) => import_imd(&store, file).await,
                ImportKind::Fingertips(_) => import_fingertips(&store, file).await,
                ImportKind::Boundaries(_) => import_boundaries(&store, file).await,
                ImportKind::Postcodes(_) => import_postcodes(&store, file).await,
                ImportKind::Counts(f) => {
                    import_counts(&store, file, f.dataset.as_deref().unwrap_or_default()).await
                }
                ImportKind::Population(f) => {
                    import_population(&store, file, f.source.as_deref().unwrap_or_default()).await
                }
            };
            match summary {
                Ok(summary) => progress.println(format!("imported {summary}")),
                Err(e) => {
                    progress.finish();
                    store.close().await;
                    bail!("{e}\nnothing from this file was imported");
                }
            }
        }
        progress.finish();
        store.close().await;
        Ok(())
    })
}

#[derive(Args)]
pub struct AreasArgs {
    #[command(subcommand)]
    command: AreasCommand,
}

#[derive(Subcommand)]
enum AreasCommand {
    /// An area, its parents, its deprivation and its latest indicator values.
    Show {
        /// A GSS code, such as E01006074.
        code: String,
        /// The same as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// A postcode's LSOAs and coordinates, from the imported postcode directory.
    Postcode {
        postcode: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The area of a geography (default LSOA 2011) whose boundary holds a point.
    Locate {
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        /// The boundary layer: LSOA11, LSOA21, MSOA11, WD25, …
        #[arg(long, default_value = "LSOA11")]
        vintage: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Deprivation summaries (MHCLG's measures: average rank, average score, extent,
    /// proportion in the most deprived 10 %, each ranked) of every area of a level.
    Summaries(crate::deprivation::SummariesArgs),
    /// The small areas within an area, most deprived first, with their local
    /// quintile (or decile, …) among that area's small areas.
    Deprivation(crate::deprivation::LocalArgs),
    /// The areas that share a boundary with an area.
    Neighbours {
        code: String,
        #[arg(long, default_value = "LSOA11")]
        vintage: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Everything `areas show` prints.
struct Profile {
    code: AreaCode,
    name: Option<String>,
    no_known_parent: bool,
    vintages: Vec<String>,
    /// (level, vintage, code, name), nearest first.
    parents: Vec<(Level, String, AreaCode, Option<String>)>,
    /// (edition year, domain, rank, decile, score, local quintile and the parent it
    /// is within).
    deprivation: Vec<Deprivation>,
    /// Latest values of the area and of its parents.
    values: Vec<(AreaCode, Option<String>, Observation, String)>,
    national_count: usize,
}

struct Deprivation {
    year: String,
    domain: String,
    rank: i64,
    decile: i64,
    score: Option<f64>,
    local_quintile: Option<(u32, AreaCode, Option<String>)>,
}

fn domain_label(domain: &str) -> &str {
    match domain {
        "imd" => "IMD",
        "income" => "Income",
        "employment" => "Employment",
        "education" => "Education, skills and training",
        "health" => "Health deprivation and disability",
        "crime" => "Crime",
        "housing" => "Barriers to housing and services",
        "environment" => "Living environment",
        "idaci" => "IDACI",
        "idaopi" => "IDAOPI",
        other => other,
    }
}

async fn profile(store: &SqlStore, code: AreaCode) -> Result<Profile> {
    let Some(info) = store.area(code).await? else {
        bail!(
            "{code} ({}) is not in the store {}: import the lookups that hold it first (`syndemic import lookups FILE`)",
            code.area_type(),
            "given by --db"
        );
    };
    // Parents: the area's own, then theirs, one per level, nearest first.
    let mut parents: Vec<(Level, String, AreaCode, Option<String>)> =
        syndemic_place::geography::parent_chain(store, code)
            .await?
            .into_iter()
            .map(|p| (p.link.level, p.link.vintage, p.link.parent, p.name))
            .collect();
    parents.sort_by_key(|(level, ..)| *level);
    let mut deprivation = Vec::new();
    let mut national_count = 0;
    for d in store.deprivation(code).await? {
        let year = d.edition.trim_start_matches("IoD").to_owned();
        let mut local_quintile = None;
        // The local quintile within the district, for the IMD itself.
        if d.domain == "imd" {
            let table = store.deprivation_table(&d.edition, "imd").await?;
            national_count = table.len();
            if let Some((_, vintage, district, name)) = parents
                .iter()
                .find(|(level, ..)| *level == Level::LowerTierAuthority)
            {
                let siblings = store.children(*district, Some(vintage)).await?;
                let ranks: Vec<(AreaCode, f64)> = table
                    .iter()
                    .filter(|t| siblings.iter().any(|s| s.child == t.area))
                    .map(|t| (t.area, t.rank as f64))
                    .collect();
                let values: Vec<f64> = ranks.iter().map(|(_, r)| *r).collect();
                let quintiles = local_quantiles(&vec![0; values.len()], 1, &values, 5)?;
                local_quintile = ranks
                    .iter()
                    .zip(quintiles)
                    .find(|((area, _), _)| *area == code)
                    .and_then(|(_, q)| q)
                    .map(|q| (q, *district, name.clone()));
            }
        }
        deprivation.push(Deprivation {
            year,
            domain: d.domain,
            rank: d.rank,
            decile: d.decile,
            score: d.score,
            local_quintile,
        });
    }
    // IMD first.
    deprivation.sort_by_key(|d| (d.year.clone(), d.domain != "imd", d.domain.clone()));
    let mut values = Vec::new();
    let indicators = store.indicators().await?;
    let name_of = |id: &str| {
        indicators
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.name.clone())
            .unwrap_or_default()
    };
    let mut shown = Vec::new();
    // Values as they may be published: each indicator's small-number rule applied
    // over all its observations (a withheld cell can hide in a total).
    let mut families = None;
    let mut disclosed: std::collections::HashMap<String, Vec<Observation>> = Default::default();
    for (area, area_name) in std::iter::once((code, info.area.name.clone()))
        .chain(parents.iter().map(|(_, _, c, n)| (*c, n.clone())))
    {
        // A metropolitan district is its own upper tier: list its values once.
        if shown.contains(&area) {
            continue;
        }
        shown.push(area);
        for o in store.latest_observations(area).await? {
            let rule = indicators
                .iter()
                .find(|i| i.id == o.indicator)
                .and_then(|i| i.disclosure_rule());
            let o = match rule {
                None => o,
                Some(rule) => {
                    if families.is_none() {
                        families = Some(AreaFamilies::from_links(&store.all_links().await?));
                    }
                    if !disclosed.contains_key(&o.indicator) {
                        let mut rows = store.observations(Some(&o.indicator)).await?;
                        let f = families.as_ref().expect("read above");
                        suppress(&mut rows, &o.indicator, rule, f);
                        disclosed.insert(o.indicator.clone(), rows);
                    }
                    disclosed[&o.indicator]
                        .iter()
                        .find(|d| {
                            (
                                d.area,
                                d.period,
                                &d.sex,
                                &d.age,
                                &d.category_type,
                                &d.category,
                            ) == (
                                o.area,
                                o.period,
                                &o.sex,
                                &o.age,
                                &o.category_type,
                                &o.category,
                            )
                        })
                        .cloned()
                        // Not found among the published rows: shown as withheld.
                        .unwrap_or_else(|| Observation {
                            value: None,
                            count: None,
                            denominator: None,
                            lower95: None,
                            upper95: None,
                            lower998: None,
                            upper998: None,
                            note: Some(SUPPRESSED.into()),
                            ..o
                        })
                }
            };
            let title = name_of(&o.indicator);
            values.push((area, area_name.clone(), o, title));
        }
    }
    Ok(Profile {
        code,
        name: info.area.name,
        no_known_parent: info.area.no_known_parent,
        vintages: info.vintages,
        parents,
        deprivation,
        values,
        national_count,
    })
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn print_profile(p: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {}",
        p.code,
        p.name.as_deref().unwrap_or("(no name)")
    )?;
    writeln!(
        out,
        "Type: {}{}",
        p.code.area_type(),
        if p.vintages.is_empty() {
            String::new()
        } else {
            format!(" (geography {})", p.vintages.join(", "))
        }
    )?;
    if p.no_known_parent {
        writeln!(
            out,
            "No known parent: this area was met in data, not in a lookup"
        )?;
    }
    for (level, vintage, code, name) in &p.parents {
        let vintage = if vintage.is_empty() {
            String::new()
        } else {
            format!(" {vintage}")
        };
        writeln!(
            out,
            "{}{vintage}: {} {code}",
            level.label(),
            name.as_deref().unwrap_or("(no name)")
        )?;
    }
    for d in &p.deprivation {
        // Other tools read this line: keep it exactly `IMD 2019 decile: 5`.
        writeln!(
            out,
            "{} {} decile: {}",
            domain_label(&d.domain),
            d.year,
            d.decile
        )?;
        if d.domain == "imd" {
            writeln!(
                out,
                "IMD {} rank: {} of {} (1 = most deprived)",
                d.year, d.rank, p.national_count
            )?;
            if let Some(score) = d.score {
                writeln!(out, "IMD {} score: {score}", d.year)?;
            }
        }
        if let Some((q, _, name)) = &d.local_quintile {
            writeln!(
                out,
                "IMD {} local quintile within {}: {q} (1 = most deprived fifth)",
                d.year,
                name.as_deref().unwrap_or("its district")
            )?;
        }
    }
    if p.values.is_empty() {
        writeln!(out, "Indicators: none reach this area yet")?;
    } else {
        writeln!(out, "Indicators (latest period):")?;
        for (area, name, o, title) in &p.values {
            let limits = match (o.lower95, o.upper95) {
                (Some(l), Some(u)) => format!(" (95% CI {} to {})", number(l), number(u)),
                _ => String::new(),
            };
            let value = o.value.map(number).unwrap_or_else(|| "no value".into());
            let whose = if *area == p.code {
                String::new()
            } else {
                format!(" [{}]", name.as_deref().unwrap_or(area.as_str()))
            };
            let mut sub = String::new();
            if o.sex != "Persons" || o.age != "All ages" {
                sub.push_str(&format!(", {} {}", o.sex, o.age));
            }
            if !o.category.is_empty() {
                sub.push_str(&format!(", {}: {}", o.category_type, o.category));
            }
            writeln!(out, "  {title}{whose}, {}{sub}: {value}{limits}", o.period)?;
        }
    }
    Ok(())
}

fn profile_json(p: &Profile) -> serde_json::Value {
    use serde_json::json;
    json!({
        "code": p.code.as_str(),
        "name": p.name,
        "type": p.code.area_type().key(),
        "no_known_parent": p.no_known_parent,
        "vintages": p.vintages,
        "parents": p.parents.iter().map(|(level, vintage, code, name)| json!({
            "level": level.key(), "vintage": vintage, "code": code.as_str(), "name": name,
        })).collect::<Vec<_>>(),
        "deprivation": p.deprivation.iter().map(|d| json!({
            "edition": format!("IoD{}", d.year), "domain": d.domain, "rank": d.rank,
            "decile": d.decile, "score": d.score,
            "local_quintile": d.local_quintile.as_ref().map(|(q, within, _)| json!({"quintile": q, "within": within.as_str()})),
        })).collect::<Vec<_>>(),
        "indicators": p.values.iter().map(|(area, _, o, title)| json!({
            "area": area.as_str(), "indicator": o.indicator, "name": title,
            "period": o.period.to_string(), "sex": o.sex, "age": o.age,
            "category_type": o.category_type, "category": o.category,
            "value": o.value, "lower95": o.lower95, "upper95": o.upper95,
            "lower998": o.lower998, "upper998": o.upper998,
            "count": o.count, "denominator": o.denominator, "note": o.note,
        })).collect::<Vec<_>>(),
    })
}

pub fn areas(args: &AreasArgs) -> Result<()> {
    let (code, json, db) = match &args.command {
        AreasCommand::Show { code, json, db } => (code, json, db),
        AreasCommand::Postcode { postcode, db } => return show_postcode(postcode, db),
        AreasCommand::Summaries(args) => return crate::deprivation::summaries(args),
        AreasCommand::Deprivation(args) => return crate::deprivation::local(args),
        AreasCommand::Locate { lon, lat, vintage, db } => {
            return runtime()?.block_on(async {
                let store = open(db).await?;
                let found = locate(&store, vintage, *lon, *lat).await;
                store.close().await;
                match found.map_err(|e| anyhow::anyhow!(e))? {
                    Some(code) => {
                        println!("{code}");
                        Ok(())
                    }
                    None => bail!("no {vintage} boundary in the store holds ({lon}, {lat}): import the boundaries (`syndemic import boundaries`), and give longitude and latitude"),
                }
            })
        }
        AreasCommand::Neighbours { code, vintage, db } => {
            let code = AreaCode::parse(code)?;
            return runtime()?.block_on(async {
                let store = open(db).await?;
                let found = store.neighbours(code, vintage).await;
                store.close().await;
                for n in found? {
                    println!("{n}");
                }
                Ok(())
            });
        }
    };
    let code = AreaCode::parse(code)?;
    runtime()?.block_on(async {
        let store = open(db).await?;
        let profile = profile(&store, code).await;
        store.close().await;
        let profile = profile?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if *json {
            serde_json::to_writer_pretty(&mut out, &profile_json(&profile))?;
            writeln!(out)?;
        } else {
            print_profile(&profile, &mut out)?;
        }
        Ok(())
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// The Fingertips CSV layout.
    Fingertips,
    /// The same columns as a Parquet file (needs --output).
    Parquet,
    /// The same columns as an Excel workbook (needs --output).
    Xlsx,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Only this indicator (default: all).
    #[arg(long)]
    indicator: Option<String>,
    /// The layout to write.
    #[arg(long, value_enum, default_value = "fingertips")]
    format: ExportFormat,
    /// Where to write (default: standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
}

pub fn export(args: &ExportArgs) -> Result<()> {
    if !matches!(args.format, ExportFormat::Fingertips) && args.output.is_none() {
        bail!("--format parquet and --format xlsx need --output FILE");
    }
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let mut text = Vec::new();
        let result = export_fingertips(&store, args.indicator.as_deref(), &mut text).await;
        store.close().await;
        let summary = result?;
        match &args.output {
            Some(path) => {
                // Written beside the target and renamed: never half a file.
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                let temp = tempfile::NamedTempFile::new_in(dir.unwrap_or(std::path::Path::new(".")))
                    .with_context(|| format!("cannot write beside {}", path.display()))?;
                let written = match args.format {
                    ExportFormat::Fingertips => std::fs::write(temp.path(), &text).map_err(anyhow::Error::from),
                    ExportFormat::Parquet => syndemic_parquet::csv_to_parquet(&text, temp.path())
                        .map_err(|e| anyhow::anyhow!("cannot write Parquet: {e}")),
                    ExportFormat::Xlsx => write_xlsx(&text, temp.path()).map_err(anyhow::Error::from),
                };
                written
                    .and_then(|()| temp.as_file().sync_all().map_err(anyhow::Error::from))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                temp.persist(path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            None => std::io::stdout().lock().write_all(&text)?,
        }
        eprintln!(
            "exported {} rows; {} cells withheld for small counts and {} more so that they cannot be derived",
            summary.rows, summary.primary, summary.secondary
        );
        Ok(())
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum MeasureArg {
    /// Directly standardised rate (ESP2013, Dobson limits).
    Dsr,
    /// Crude rate (exact Poisson limits below 10 events, Byar's from 10).
    Rate,
    /// Proportion (Wilson score limits).
    Proportion,
}

#[derive(Args)]
pub struct ComputeArgs {
    /// LSOA-level counts (Parquet or CSV, the tidy layout: area, period, sex,
    /// age_band, count, population).
    #[arg(long, conflicts_with = "dataset", required_unless_present = "dataset")]
    counts: Option<PathBuf>,
    /// Instead of --counts: a dataset imported with `syndemic import counts`.
    #[arg(long)]
    dataset: Option<String>,
    /// The indicator the results are stored under.
    #[arg(long)]
    indicator: String,
    /// The indicator's name.
    #[arg(long)]
    name: String,
    /// The measure: dsr (directly standardised rate, ESP2013), rate (crude rate) or
    /// proportion.
    #[arg(long, value_enum, default_value = "dsr")]
    measure: MeasureArg,
    /// Per this many people (default 100000 for rates, 100 for a proportion).
    #[arg(long)]
    multiplier: Option<f64>,
    /// Which way is better: lower-is-better, higher-is-better or no-judgement
    /// (default: the indicator's polarity in the store, else lower-is-better).
    #[arg(long)]
    polarity: Option<String>,
    /// Lookup vintage of the LSOA → ward → district links.
    #[arg(long, default_value = "2019")]
    vintage: String,
    /// Edition of the Indices of Deprivation for deciles and quintiles.
    #[arg(long, default_value = "IoD2019")]
    edition: String,
    /// The vintage of the counts' areas when it is not the geography's (e.g.
    /// LSOA21 counts with 2011 LSOAs): mapped through the imported lookup between
    /// them (`syndemic import lookups` of a file with LSOA11CD and LSOA21CD).
    #[arg(long)]
    counts_vintage: Option<String>,
    /// With --counts-vintage: share the counts of an area that overlaps several
    /// LSOAs by these populations (a population source such as "IoD2019 File 6");
    /// without it, equally.
    #[arg(long, requires = "counts_vintage")]
    apportion_by: Option<String>,
    /// Take the denominators from an imported population (`syndemic import
    /// population FILE --source SOURCE`) when the counts carry events only; the
    /// counts' population column is then not read. Every area the counts name is
    /// taken as covered in every period, sex and age band they have (a band with
    /// no row has no events): an LSOA with no events at all needs a row with 0.
    #[arg(long, value_name = "SOURCE")]
    population: Option<String>,
    /// SII simulation repetitions (at least 1000).
    #[arg(long, default_value = "1000")]
    repetitions: u32,
    /// Seed of the SII simulation.
    #[arg(long, default_value = "1")]
    seed: u64,
    /// Column names of the counts file, if not the defaults.
    #[arg(long, default_value = "area")]
    area_column: String,
    #[arg(long, default_value = "period")]
    period_column: String,
    /// The sex column; `none` when the file has none (every row is Persons).
    #[arg(long, default_value = "sex")]
    sex_column: String,
    /// The age band column; `none` when the file has none (crude rates and
    /// proportions only).
    #[arg(long, default_value = "age_band")]
    age_band_column: String,
    #[arg(long, default_value = "count")]
    count_column: String,
    #[arg(long, default_value = "population")]
    population_column: String,
    /// England's and the regions' values from outside, when the counts cover only
    /// a place: an indicator in the store (e.g. imported from Fingertips) or a CSV
    /// file area,period,sex,age,value,lower_95,upper_95 (Fingertips' export headers
    /// read too). Without it, areas the counts cover only in part (England, the
    /// region) are not published and comparisons say "No England value".
    #[arg(long, value_name = "INDICATOR|FILE")]
    benchmark: Option<String>,
    /// Recompute even when the inputs are those of the last run.
    #[arg(long)]
    force: bool,
    /// Print how long each stage took and the peak memory.
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    db: DbArgs,
    /// No progress spinner.
    #[arg(long)]
    quiet: bool,
}

/// Peak resident memory of this process, from /proc (Linux), in bytes.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub fn run_compute(args: &ComputeArgs) -> Result<()> {
    let polarity = args
        .polarity
        .as_deref()
        .map(|p| {
            Polarity::from_key(p).with_context(|| {
                format!("--polarity {p}: write lower-is-better, higher-is-better or no-judgement")
            })
        })
        .transpose()?;
    let measure = match args.measure {
        MeasureArg::Dsr => Measure::Dsr,
        MeasureArg::Rate => Measure::Rate,
        MeasureArg::Proportion => Measure::Proportion,
    };
    let multiplier = args.multiplier.unwrap_or(measure.default_multiplier());
    if !(multiplier.is_finite() && multiplier > 0.0) {
        bail!("--multiplier must be a number above 0");
    }
    let mut indicator = Indicator::named(args.indicator.clone(), args.name.clone());
    indicator.multiplier = Some(multiplier);
    indicator.polarity = polarity;
    let spec = ComputeSpec {
        measure,
        indicator,
        counts: match (&args.counts, &args.dataset) {
            (Some(path), _) => Counts::File(path.clone()),
            (None, Some(name)) => Counts::Dataset(name.clone()),
            (None, None) => bail!("give --counts FILE or --dataset NAME"),
        },
        columns: CountColumns {
            area: args.area_column.clone(),
            period: args.period_column.clone(),
            sex: (args.sex_column != "none").then(|| args.sex_column.clone()),
            age_band: (args.age_band_column != "none").then(|| args.age_band_column.clone()),
            count: args.count_column.clone(),
            population: args.population_column.clone(),
        },
        vintage: args.vintage.clone(),
        counts_vintage: args.counts_vintage.clone(),
        apportion_by: args.apportion_by.clone(),
        population: args.population.clone(),
        edition: args.edition.clone(),
        repetitions: args.repetitions,
        seed: args.seed,
        benchmark: args.benchmark.as_ref().map(|b| {
            let path = PathBuf::from(b);
            if path.is_file() || b.to_ascii_lowercase().ends_with(".csv") {
                Benchmark::File(path)
            } else {
                Benchmark::Indicator(b.clone())
            }
        }),
        targets: Vec::new(),
    };
    let started = std::time::Instant::now();
    // DataFusion runs its partitions on the runtime's threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = open(&args.db).await?;
        let mut spec = spec;
        if spec.indicator.polarity.is_none() {
            // Keep what `indicators set` gave it; a new indicator is lower-is-better.
            spec.indicator.polarity = Some(
                store
                    .indicator(&spec.indicator.id)
                    .await?
                    .and_then(|i| i.polarity)
                    .unwrap_or(Polarity::LowerIsBetter),
            );
        }
        if args.force {
            forget_runs(&store, &spec.indicator.id).await?;
        }
        // Every commitment measuring this indicator over target areas is measured
        // on those areas as well.
        spec.targets = commitment_targets(&store, &spec.indicator.id).await?;
        // And every community-defined place, as an area of its own.
        spec.targets
            .extend(community_places(&store).await?);
        let progress = Progress::spinner(args.quiet);
        let mut say = |stage: &str| progress.say(stage.to_owned());
        let result = compute(&store, &spec, &mut say).await;
        progress.finish();
        store.close().await;
        let summary = result?;
        if summary.up_to_date {
            eprintln!(
                "{}: up to date (the inputs are those of the last run); nothing to do",
                spec.indicator.id
            );
            return Ok(());
        }
        eprintln!(
            "{}: {} input rows → {} results stored in {:.1} s",
            spec.indicator.id,
            summary.input_rows,
            summary.observations,
            started.elapsed().as_secs_f64()
        );
        for w in &summary.withheld {
            eprintln!("  {w} (the counts cover only part of it)");
        }
        if !spec.targets.is_empty() {
            eprintln!(
                "  measured over the target areas of {} commitment group(s) too",
                spec.targets.len()
            );
        }
        if summary.benchmark_values > 0 {
            eprintln!(
                "  {} England and region values from the benchmark {}",
                summary.benchmark_values,
                args.benchmark.as_deref().unwrap_or_default()
            );
        } else if summary.withheld.iter().any(|w| w.level == "England") {
            eprintln!(
                "  no England value: comparisons with England say so (give --benchmark with England's published values)"
            );
        }
        if summary.apportioned > 0 {
            eprintln!(
                "  {} areas of {} overlap several LSOAs: their counts were shared {}",
                summary.apportioned,
                spec.counts_vintage.as_deref().unwrap_or_default(),
                match &spec.apportion_by {
                    Some(by) => format!("by the `{by}` populations"),
                    None => "equally (--apportion-by to share by population)".into(),
                }
            );
        }
        if args.timings {
            for (stage, took) in &summary.stages {
                eprintln!("  {stage:<12} {:>8.2} s", took.as_secs_f64());
            }
            if let Some(peak) = peak_memory() {
                eprintln!(
                    "  peak memory  {:>8.2} GiB",
                    peak as f64 / (1u64 << 30) as f64
                );
            }
        }
        Ok(())
    })
}

/// `--force`: the next run does not match an earlier one.
async fn forget_runs(store: &SqlStore, indicator: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    tx.forget_compute_runs(indicator).await?;
    tx.commit().await?;
    Ok(())
}

fn show_postcode(postcode: &str, db: &DbArgs) -> Result<()> {
    let normal = normalise_postcode(postcode)
        .with_context(|| format!("`{postcode}` is not a postcode: write it as M33 7XX"))?;
    runtime()?.block_on(async {
        let store = open(db).await?;
        let found = store.postcode(&normal).await;
        store.close().await;
        let Some(p) = found? else {
            bail!("{normal} is not in the postcode directory in the store: import it with `syndemic import postcodes`");
        };
        println!("{}", p.postcode);
        if let Some(l) = p.lsoa11 {
            println!("LSOA 2011: {l}");
        }
        if let Some(l) = p.lsoa21 {
            println!("LSOA 2021: {l}");
        }
        match (p.latitude, p.longitude) {
            (Some(lat), Some(lon)) => println!("Latitude, longitude: {lat}, {lon}"),
            _ => println!("No grid reference"),
        }
        Ok(())
    })
}

//! The evidence-store commands: `syndemic import`, `syndemic areas show` and
//! `syndemic export`. Each opens the store named by `--db` (a SQLite file by
//! default) and runs on a single-threaded async runtime.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use syndemic_import::{
    export_fingertips, import_fingertips, import_imd, import_lookups, LookupOptions,
};
use syndemic_model::{AreaCode, Level};
use syndemic_stats::deprivation::local_quantiles;
use syndemic_store::{Observation, SqlStore, Store, StoreUrl};

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
}

#[derive(Args)]
struct ImportFiles {
    /// Files to import, each in its own transaction.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// For lookups: the year of columns whose header carries none (LADCD).
    #[arg(long)]
    vintage: Option<String>,
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
        };
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
    let mut parents: Vec<(Level, String, AreaCode, Option<String>)> = Vec::new();
    let mut frontier = vec![code];
    while let Some(current) = frontier.pop() {
        for p in store.parents(current).await? {
            if p.link.parent == code || parents.iter().any(|(level, ..)| *level == p.link.level) {
                continue;
            }
            parents.push((
                p.link.level,
                p.link.vintage.clone(),
                p.link.parent,
                p.name.clone(),
            ));
            frontier.insert(0, p.link.parent);
        }
    }
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
    for (area, area_name) in std::iter::once((code, info.area.name.clone()))
        .chain(parents.iter().map(|(_, _, c, n)| (*c, n.clone())))
    {
        // A metropolitan district is its own upper tier: list its values once.
        if shown.contains(&area) {
            continue;
        }
        shown.push(area);
        for o in store.latest_observations(area).await? {
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
    let AreasCommand::Show { code, json, db } = &args.command;
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
    let ExportFormat::Fingertips = args.format;
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let result = match &args.output {
            Some(path) => {
                // Written beside the target and renamed: never half a file.
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                let mut temp = tempfile::NamedTempFile::new_in(dir.unwrap_or(std::path::Path::new(".")))
                    .with_context(|| format!("cannot write beside {}", path.display()))?;
                let summary = export_fingertips(&store, args.indicator.as_deref(), &mut temp).await;
                match summary {
                    Ok(summary) => {
                        temp.persist(path)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        Ok(summary)
                    }
                    Err(e) => Err(e),
                }
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                export_fingertips(&store, args.indicator.as_deref(), &mut out).await
            }
        };
        store.close().await;
        let summary = result?;
        eprintln!(
            "exported {} rows; {} cells withheld for small counts and {} more so that they cannot be derived",
            summary.rows, summary.primary, summary.secondary
        );
        Ok(())
    })
}

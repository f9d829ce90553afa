//! `syndemic areas summaries` and `syndemic areas deprivation`: deprivation seen from
//! larger areas, as CSV (or JSON) on standard output.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use syndemic_import::{local_deprivation, summarise_areas, SummaryRequest};
use syndemic_model::{AreaCode, Level};

use crate::evidence::{open, runtime, DbArgs};

/// Which deprivation ranks to read.
#[derive(Args, Clone)]
pub struct Edition {
    /// The Indices of Deprivation edition as imported: IoD2019 or IoD2025.
    #[arg(long, default_value = "IoD2019")]
    edition: String,
    /// The domain: imd, income, employment, education, health, crime, housing,
    /// environment, idaci, idaopi.
    #[arg(long, default_value = "imd")]
    domain: String,
    /// The lookup vintage linking small areas to larger ones (the year of the ward and
    /// district codes, e.g. 2019).
    #[arg(long, default_value = "2019")]
    vintage: String,
}

#[derive(Args)]
pub struct SummariesArgs {
    /// The level summarised: district (lower tier), county (upper tier),
    /// combined-authority, ward, msoa, icb, region or england.
    #[arg(long, default_value = "district")]
    level: String,
    /// Only the areas within this one (a GSS code); ranks stay national.
    #[arg(long)]
    within: Option<String>,
    /// The population weights (default: the edition's File 6, `IoD2019 File 6`).
    #[arg(long)]
    population: Option<String>,
    #[command(flatten)]
    edition: Edition,
    /// JSON instead of CSV.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args)]
pub struct LocalArgs {
    /// The parent area (a GSS code): a ward, district, county, region, or England.
    code: String,
    /// How many local groups: 5 for quintiles, 10 for deciles.
    #[arg(long, default_value_t = 5)]
    quantiles: u32,
    #[command(flatten)]
    edition: Edition,
    /// JSON instead of CSV.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
}

fn parse_level(text: &str) -> Result<Level> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "district" | "ltla" | "lower-tier" => Level::LowerTierAuthority,
        "county" | "utla" | "upper-tier" => Level::UpperTierAuthority,
        "ward" => Level::Ward,
        "msoa" => Level::Msoa,
        "icb" => Level::Icb,
        "combined-authority" | "cauth" => Level::CombinedAuthority,
        "region" => Level::Region,
        "england" => Level::England,
        other => {
            bail!("--level {other}: give district, county, combined-authority, ward, msoa, icb, region or england")
        }
    })
}

fn parse_code(text: &str) -> Result<AreaCode> {
    AreaCode::parse(text).map_err(|e| anyhow!("{text}: {e}"))
}

fn emit(json: bool, header: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let objects: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                header
                    .iter()
                    .zip(row)
                    .enumerate()
                    .map(|(i, (h, v))| {
                        // Code and name are text; the rest are numbers.
                        let value = if v.is_empty() {
                            serde_json::Value::Null
                        } else if let (true, Ok(n)) = (i >= 2, v.parse::<f64>()) {
                            serde_json::json!(n)
                        } else {
                            serde_json::json!(v)
                        };
                        ((*h).to_owned(), value)
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &objects)?;
        use std::io::Write;
        writeln!(out)?;
    } else {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(header)?;
        for row in rows {
            w.write_record(
                row.iter()
                    .map(|c| syndemic_model::formula_safe(c).into_owned()),
            )?;
        }
        w.flush()?;
    }
    Ok(())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub fn summaries(args: &SummariesArgs) -> Result<()> {
    let level = parse_level(&args.level)?;
    let within = args.within.as_deref().map(parse_code).transpose()?;
    let e = &args.edition;
    let population = args
        .population
        .clone()
        .unwrap_or_else(|| format!("{} File 6", e.edition));
    let request = SummaryRequest {
        edition: &e.edition,
        domain: &e.domain,
        population_source: &population,
        vintage: &e.vintage,
        level,
        within,
    };
    let found = runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let found = summarise_areas(&store, &request).await;
        store.close().await;
        found.map_err(|e| anyhow!(e))
    })?;
    let rows = found
        .into_iter()
        .map(|s| {
            vec![
                s.area.to_string(),
                opt(s.name),
                s.summary.small_areas.to_string(),
                s.summary.population.to_string(),
                s.summary.average_rank.to_string(),
                s.rank_average_rank.to_string(),
                opt(s.summary.average_score),
                opt(s.rank_average_score),
                s.summary.extent.to_string(),
                s.rank_extent.to_string(),
                s.summary.proportion_most_deprived_10.to_string(),
                s.rank_proportion_most_deprived_10.to_string(),
            ]
        })
        .collect();
    emit(
        args.json,
        &[
            "code",
            "name",
            "small_areas",
            "population",
            "average_rank",
            "rank_average_rank",
            "average_score",
            "rank_average_score",
            "extent",
            "rank_extent",
            "proportion_most_deprived_10",
            "rank_proportion_most_deprived_10",
        ],
        rows,
    )
}

pub fn local(args: &LocalArgs) -> Result<()> {
    let parent = parse_code(&args.code)?;
    if args.quantiles < 2 {
        bail!(
            "--quantiles {}: give at least 2 (5 for quintiles, 10 for deciles)",
            args.quantiles
        );
    }
    let e = &args.edition;
    let found = runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let found = local_deprivation(
            &store,
            &e.edition,
            &e.domain,
            &e.vintage,
            parent,
            args.quantiles,
        )
        .await;
        store.close().await;
        found.map_err(|e| anyhow!(e))
    })?;
    let rows = found
        .into_iter()
        .map(|r| {
            vec![
                r.area.to_string(),
                opt(r.name),
                r.rank.to_string(),
                r.decile.to_string(),
                opt(r.score),
                r.local.to_string(),
            ]
        })
        .collect();
    emit(
        args.json,
        &[
            "code",
            "name",
            "rank",
            "national_decile",
            "score",
            "local_quantile",
        ],
        rows,
    )
}

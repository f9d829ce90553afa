//! `syndemic plan-outreach`: where `k` stops (a vaccination bus, an advice van)
//! reach the most need, and `syndemic bench --planner`, its benchmark.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use syndemic_model::AreaCode;
use syndemic_place::planner::{
    coverage, demand, grid, parse_sites, plan, stops, stops_csv, NeedOptions, Point,
};

use crate::bench::SplitMix;
use crate::evidence::{open, runtime, DbArgs};

#[derive(Args)]
pub struct PlanArgs {
    /// How many stops to choose.
    #[arg(long, default_value_t = 10)]
    stops: usize,
    /// The travel radius a stop serves, in km.
    #[arg(long, default_value_t = 3.0)]
    radius_km: f64,
    /// Candidate sites: a CSV with `name`, `lon` (or `longitude`) and `lat` (or
    /// `latitude`) columns.
    #[arg(long, conflicts_with = "grid_km")]
    candidates: Option<PathBuf>,
    /// Instead of --candidates: sites on a grid this many km apart over the areas.
    #[arg(long)]
    grid_km: Option<f64>,
    /// Only the small areas within this area (a GSS code).
    #[arg(long)]
    within: Option<String>,
    /// Weight need by an indicator's latest value (a proportion: the share without
    /// the good outcome, or with the bad one, by its polarity).
    #[arg(long)]
    indicator: Option<String>,
    /// The population source (`All ages`, `Persons`) whose people are the need.
    #[arg(long, default_value = "IoD2019 File 6")]
    population: String,
    /// Write the chosen stops as CSV here (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: &PlanArgs) -> Result<()> {
    if args.stops == 0 || args.radius_km.is_nan() || args.radius_km <= 0.0 {
        bail!("--stops must be at least 1 and --radius-km above 0");
    }
    let within = args.within.as_deref().map(AreaCode::parse).transpose()?;
    let demand = runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let options = NeedOptions {
            population: &args.population,
            indicator: args.indicator.as_deref(),
            within,
        };
        let result = demand(&store, options).await;
        store.close().await;
        Ok::<_, anyhow::Error>(result?)
    })?;
    let candidates: Vec<(String, Point)> = match (&args.candidates, args.grid_km) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            parse_sites(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?
        }
        (None, Some(step)) if step > 0.0 => grid(&demand.points, step),
        _ => bail!("give --candidates FILE.csv, or --grid-km N for sites on a grid"),
    };
    let sites: Vec<Point> = candidates.iter().map(|c| c.1).collect();
    let covers = coverage(&demand.points, &sites, args.radius_km);
    let result = plan(&covers, &demand.need, args.stops);
    let text = stops_csv(&stops(&candidates, &covers, &result));
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    eprintln!(
        "{} stops reach {:.0} of {:.0} need ({:.1} %) over {} small areas (of {} candidate sites; the greedy choice reaches at least 63 % of the best possible)",
        result.stops.len(),
        result.covered,
        result.total,
        100.0 * result.covered / result.total.max(1e-12),
        demand.areas.len(),
        candidates.len()
    );
    Ok(())
}

/// The planner's workload: 33,755 small areas clustered like England's towns, 5,000
/// candidate sites, 20 stops within 5 km. Best of `runs`.
pub fn bench(runs: u32) -> Result<()> {
    let mut rng = SplitMix(20_261_127);
    let mut unit = || rng.next() as f64 / u64::MAX as f64;
    let towns: Vec<Point> = (0..300)
        .map(|_| Point {
            lon: -5.5 + 7.2 * unit(),
            lat: 50.1 + 5.6 * unit(),
        })
        .collect();
    let demand: Vec<Point> = (0..33_755)
        .map(|i| {
            let t = towns[i % towns.len()];
            let (r, a) = (0.25 * unit().sqrt(), std::f64::consts::TAU * unit());
            Point {
                lon: t.lon + r * a.cos() / 0.62,
                lat: t.lat + r * a.sin(),
            }
        })
        .collect();
    let need: Vec<f64> = (0..demand.len()).map(|_| 800.0 + 1600.0 * unit()).collect();
    let candidates: Vec<Point> = (0..5_000)
        .map(|i| {
            let t = towns[(i * 7) % towns.len()];
            Point {
                lon: t.lon + 0.3 * (unit() - 0.5) / 0.62,
                lat: t.lat + 0.3 * (unit() - 0.5),
            }
        })
        .collect();
    let mut best = f64::MAX;
    let mut covered = 0.0;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let covers = coverage(&demand, &candidates, 5.0);
        let result = plan(&covers, &need, 20);
        best = best.min(start.elapsed().as_secs_f64());
        covered = result.covered / result.total;
    }
    println!(
        "planner: 20 stops among 5,000 sites over 33,755 small areas, 5 km: {:.3} s (best of {runs}); {:.1} % of need reached",
        best,
        100.0 * covered
    );
    Ok(())
}

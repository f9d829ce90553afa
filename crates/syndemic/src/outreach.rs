//! `syndemic plan-outreach`: where `k` stops (a vaccination bus, an advice van)
//! reach the most need, and `syndemic bench --planner`, its benchmark.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use rustc_hash::FxHashMap;
use syndemic_model::AreaCode;
use syndemic_store::{Polarity, Store};
use syndemic_web::planner::{coverage, plan, Point};

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

/// The centroid of a ring's outline (the mean of its vertices, the closing one
/// left out): inside any convex area and close enough for catchments.
fn centre(rings: &[Vec<[f64; 2]>]) -> Option<Point> {
    let ring = rings.iter().max_by_key(|r| r.len())?;
    let points = &ring[..ring.len().saturating_sub(1).max(1)];
    let n = points.len() as f64;
    Some(Point {
        lon: points.iter().map(|p| p[0]).sum::<f64>() / n,
        lat: points.iter().map(|p| p[1]).sum::<f64>() / n,
    })
}

fn read_candidates(path: &PathBuf) -> Result<Vec<(String, Point)>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(name), Some(lon), Some(lat)) = (
        find(&["name", "site"]),
        find(&["lon", "longitude", "long"]),
        find(&["lat", "latitude"]),
    ) else {
        bail!(
            "{}: the candidates need `name`, `lon` and `lat` columns (found: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let line = i + 2;
        let number = |c: usize, what: &str| -> Result<f64> {
            record
                .get(c)
                .unwrap_or("")
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| {
                    format!(
                        "{}, line {line}, column `{}`: the {what} is not a number",
                        path.display(),
                        &headers[c]
                    )
                })
        };
        let point = Point {
            lon: number(lon, "longitude")?,
            lat: number(lat, "latitude")?,
        };
        if !(-180.0..=180.0).contains(&point.lon) || !(-90.0..=90.0).contains(&point.lat) {
            bail!(
                "{}, line {line}: ({}, {}) is not a longitude and latitude",
                path.display(),
                point.lon,
                point.lat
            );
        }
        out.push((record.get(name).unwrap_or("").to_owned(), point));
    }
    if out.is_empty() {
        bail!("{}: no candidate sites", path.display());
    }
    Ok(out)
}

pub fn run(args: &PlanArgs) -> Result<()> {
    if args.stops == 0 || args.radius_km.is_nan() || args.radius_km <= 0.0 {
        bail!("--stops must be at least 1 and --radius-km above 0");
    }
    let within = args.within.as_deref().map(AreaCode::parse).transpose()?;
    let (demand, need, names) = runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let result = demand(&store, args, within).await;
        store.close().await;
        result
    })?;
    let candidates: Vec<(String, Point)> = match (&args.candidates, args.grid_km) {
        (Some(path), _) => read_candidates(path)?,
        (None, Some(step)) if step > 0.0 => {
            let (lon0, lon1) = demand.iter().fold((f64::MAX, f64::MIN), |a, p| {
                (a.0.min(p.lon), a.1.max(p.lon))
            });
            let (lat0, lat1) = demand.iter().fold((f64::MAX, f64::MIN), |a, p| {
                (a.0.min(p.lat), a.1.max(p.lat))
            });
            let dlat = step / 111.2;
            let dlon = dlat / ((lat0 + lat1) / 2.0).to_radians().cos();
            let mut out = Vec::new();
            let mut lat = lat0;
            while lat <= lat1 {
                let mut lon = lon0;
                while lon <= lon1 {
                    out.push((format!("grid {lat:.4},{lon:.4}"), Point { lon, lat }));
                    lon += dlon;
                }
                lat += dlat;
            }
            out
        }
        _ => bail!("give --candidates FILE.csv, or --grid-km N for sites on a grid"),
    };
    let sites: Vec<Point> = candidates.iter().map(|c| c.1).collect();
    let covers = coverage(&demand, &sites, args.radius_km);
    let result = plan(&covers, &need, args.stops);
    let mut text =
        String::from("order,name,lon,lat,need_covered,cumulative,share_of_need,areas_reached\n");
    let mut cumulative = 0.0;
    for (order, (c, gain)) in result.stops.iter().enumerate() {
        cumulative += gain;
        let (name, p) = &candidates[*c];
        let name = if name.contains(',') || name.contains('"') {
            format!("\"{}\"", name.replace('"', "\"\""))
        } else {
            name.clone()
        };
        text.push_str(&format!(
            "{},{name},{},{},{gain:.1},{cumulative:.1},{:.4},{}\n",
            order + 1,
            p.lon,
            p.lat,
            cumulative / result.total.max(1e-12),
            covers[*c].len()
        ));
    }
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
        names.len(),
        candidates.len()
    );
    Ok(())
}

/// Each small area's centre and need: people × deprivation weight ((11 − national
/// decile) / 10) × the indicator's unmet share where one is given.
async fn demand(
    store: &syndemic_store::SqlStore,
    args: &PlanArgs,
    within: Option<AreaCode>,
) -> Result<(Vec<Point>, Vec<f64>, Vec<AreaCode>)> {
    let (vintage, edition) = if store.count_in_vintage("LSOA21").await? > 0
        && !store.boundaries("LSOA21").await?.is_empty()
    {
        ("LSOA21", "IoD2025")
    } else {
        ("LSOA11", "IoD2019")
    };
    let boundaries = store.boundaries(vintage).await?;
    if boundaries.is_empty() {
        bail!("no LSOA boundaries in the store: import them first (`syndemic import boundaries`)");
    }
    let people: FxHashMap<AreaCode, f64> = store
        .populations(&args.population)
        .await?
        .into_iter()
        .filter(|p| p.age == "All ages" && p.sex == "Persons")
        .map(|p| (p.area, p.population))
        .collect();
    if people.is_empty() {
        bail!("no `{}` populations in the store: import some (`syndemic import population --source`) or name another source with --population", args.population);
    }
    let deciles: FxHashMap<AreaCode, i64> = store
        .deprivation_table(edition, "imd")
        .await?
        .into_iter()
        .map(|d| (d.area, d.decile))
        .collect();
    let share: Option<FxHashMap<AreaCode, f64>> = match &args.indicator {
        None => None,
        Some(id) => {
            let Some(indicator) = store.indicator(id).await? else {
                bail!("no indicator `{id}` in the store");
            };
            let multiplier = indicator.multiplier.unwrap_or(100.0);
            let mut latest: FxHashMap<AreaCode, (i64, f64)> = FxHashMap::default();
            for o in store.observations(Some(id)).await? {
                if o.sex != "Persons" || !o.category.is_empty() {
                    continue;
                }
                if let Some(v) = o.value {
                    let key = o.period.sort_key();
                    if latest.get(&o.area).is_none_or(|(k, _)| *k < key) {
                        latest.insert(o.area, (key, v));
                    }
                }
            }
            Some(
                latest
                    .into_iter()
                    .map(|(a, (_, v))| {
                        let s = (v / multiplier).clamp(0.0, 1.0);
                        (
                            a,
                            if indicator.polarity == Some(Polarity::HigherIsBetter) {
                                1.0 - s
                            } else {
                                s
                            },
                        )
                    })
                    .collect(),
            )
        }
    };
    let inside: Option<Vec<AreaCode>> = match within {
        None => None,
        Some(w) => {
            let mut found = Vec::new();
            let mut frontier = vec![w];
            while let Some(a) = frontier.pop() {
                for l in store.children(a, None).await? {
                    if !found.contains(&l.child) {
                        found.push(l.child);
                        frontier.push(l.child);
                    }
                }
            }
            found.sort();
            Some(found)
        }
    };
    let (mut points, mut need, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for b in boundaries {
        if inside
            .as_ref()
            .is_some_and(|i| i.binary_search(&b.code).is_err())
        {
            continue;
        }
        let (Some(p), Some(&n)) = (
            centre(&syndemic_web::rings(&b.simplified)),
            people.get(&b.code),
        ) else {
            continue;
        };
        let weight = deciles.get(&b.code).map_or(1.0, |d| (11 - d) as f64 / 10.0);
        let unmet = match &share {
            Some(s) => match s.get(&b.code) {
                Some(v) => *v,
                None => continue,
            },
            None => 1.0,
        };
        points.push(p);
        need.push(n * weight * unmet);
        names.push(b.code);
    }
    if points.is_empty() {
        bail!("no small area has a boundary, a population and (where asked) an indicator value");
    }
    Ok((points, need, names))
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

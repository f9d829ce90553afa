//! The outreach planner: choose `k` stops among candidate sites to maximise the
//! need-weighted population within a travel radius.
//!
//! Maximum coverage is NP-hard; the greedy method — take, each time, the site that
//! covers the most need not yet covered — reaches at least `1 − 1/e` (about 63 %)
//! of the optimum (Nemhauser, Wolsey & Fisher 1978, *An analysis of approximations
//! for maximizing submodular set functions*, Math. Programming 14:265–294). Because
//! coverage is submodular, a site's gain only shrinks as stops are chosen, so gains
//! are re-evaluated lazily (Minoux 1978; "CELF", Leskovec et al. 2007): a site is
//! taken when its freshly computed gain still tops every stale upper bound. Which
//! demand points a site covers is found once, through a grid of cells one radius
//! wide, so only the nine cells around a site are searched.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;
use syndemic_model::AreaCode;
use syndemic_store::{Polarity, Store};

use crate::geography::small_areas_within;
use crate::geometry::rings;
use crate::PlaceError;

/// Kilometres per degree of latitude.
const KM_PER_DEGREE: f64 = 111.2;

/// A place in longitude and latitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

/// The chosen stops, in the order chosen, each with the need it newly covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// (candidate index, need newly covered).
    pub stops: Vec<(usize, f64)>,
    pub covered: f64,
    pub total: f64,
}

/// Distances in km on a local equirectangular projection (longitude scaled by the
/// cosine of the latitude): within a few per cent of the great circle at outreach
/// distances (tens of km) in England's latitudes.
fn km(a: Point, b: Point) -> f64 {
    let k = ((a.lat + b.lat) / 2.0).to_radians().cos();
    (((a.lon - b.lon) * k).powi(2) + (a.lat - b.lat).powi(2)).sqrt() * KM_PER_DEGREE
}

/// For each candidate, the demand points within `radius_km`.
pub fn coverage(demand: &[Point], candidates: &[Point], radius_km: f64) -> Vec<Vec<u32>> {
    let cell = radius_km.max(1e-6) / KM_PER_DEGREE;
    let key = |p: Point| ((p.lon / cell).floor() as i64, (p.lat / cell).floor() as i64);
    let mut grid: FxHashMap<(i64, i64), Vec<u32>> = FxHashMap::default();
    for (i, &p) in demand.iter().enumerate() {
        grid.entry(key(p)).or_default().push(i as u32);
    }
    // A degree of longitude is shorter than one of latitude, so a radius spans more
    // longitude cells: search as many as the latitude's cosine needs.
    candidates
        .iter()
        .map(|&c| {
            let (x, y) = key(c);
            let k = c.lat.to_radians().cos().max(0.1);
            let reach_x = (1.0 / k).ceil() as i64;
            let mut covered = Vec::new();
            for dx in -reach_x..=reach_x {
                for dy in -1..=1 {
                    for &i in grid.get(&(x + dx, y + dy)).into_iter().flatten() {
                        if km(c, demand[i as usize]) <= radius_km {
                            covered.push(i);
                        }
                    }
                }
            }
            covered.sort_unstable();
            covered
        })
        .collect()
}

#[derive(PartialEq)]
struct Entry {
    gain: f64,
    candidate: usize,
    /// The round in which `gain` was computed.
    round: usize,
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Larger gain first; among equal gains the lower candidate index, so that the
    /// plan does not depend on the heap's order.
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then(other.candidate.cmp(&self.candidate))
    }
}

/// Greedy maximum coverage with lazy evaluation: `covers[c]` lists the demand
/// points candidate `c` reaches, `need[i]` the weight of point `i`. Stops when `k`
/// stops are chosen or no site adds anything.
pub fn plan(covers: &[Vec<u32>], need: &[f64], k: usize) -> Plan {
    let mut taken = vec![false; need.len()];
    let gain = |c: usize, taken: &[bool]| -> f64 {
        covers[c]
            .iter()
            .filter(|&&i| !taken[i as usize])
            .map(|&i| need[i as usize])
            .sum()
    };
    let mut heap: BinaryHeap<Entry> = (0..covers.len())
        .map(|c| Entry {
            gain: gain(c, &taken),
            candidate: c,
            round: 0,
        })
        .collect();
    let mut stops = Vec::new();
    let mut covered = 0.0;
    while stops.len() < k {
        let Some(top) = heap.pop() else { break };
        if top.round == stops.len() {
            if top.gain <= 0.0 {
                break;
            }
            for &i in &covers[top.candidate] {
                taken[i as usize] = true;
            }
            covered += top.gain;
            stops.push((top.candidate, top.gain));
        } else {
            heap.push(Entry {
                gain: gain(top.candidate, &taken),
                candidate: top.candidate,
                round: stops.len(),
            });
        }
    }
    Plan {
        stops,
        covered,
        total: need.iter().sum(),
    }
}

/// The small areas' centres and need, in the same order, with their codes.
#[derive(Debug, Clone, Default)]
pub struct Demand {
    pub points: Vec<Point>,
    pub need: Vec<f64>,
    pub areas: Vec<AreaCode>,
}

/// What need is made of: whose people, weighted by which indicator, where.
#[derive(Debug, Clone, Copy)]
pub struct NeedOptions<'a> {
    /// The population source (`All ages`, `Persons`) whose people are the need.
    pub population: &'a str,
    /// Weight each area by this indicator's latest unmet share.
    pub indicator: Option<&'a str>,
    /// Only the small areas within this area.
    pub within: Option<AreaCode>,
}

/// The centroid of an area's largest ring (the mean of its vertices, the closing
/// one left out): inside any convex area and close enough for catchments.
pub fn centre(rings: &[Vec<[f64; 2]>]) -> Option<Point> {
    let ring = rings.iter().max_by_key(|r| r.len())?;
    let points = &ring[..ring.len().saturating_sub(1).max(1)];
    let n = points.len() as f64;
    Some(Point {
        lon: points.iter().map(|p| p[0]).sum::<f64>() / n,
        lat: points.iter().map(|p| p[1]).sum::<f64>() / n,
    })
}

/// Each small area's centre and need: people × deprivation weight ((11 − national
/// decile) / 10, 1 where the decile is unknown) × the indicator's unmet share where
/// one is given (the share without the good outcome, or with the bad one, by its
/// polarity; areas without a value are left out).
pub async fn demand(store: &dyn Store, opts: NeedOptions<'_>) -> Result<Demand, PlaceError> {
    // The 2021 small areas where their boundaries are stored, else the 2011 ones;
    // deciles from the edition that ranks the most of them.
    let mut boundaries = store.boundaries("LSOA21").await?;
    if boundaries.is_empty() {
        boundaries = store.boundaries("LSOA11").await?;
    }
    if boundaries.is_empty() {
        return Err(PlaceError::Unusable(
            "no LSOA boundaries in the store: import them first (`syndemic import boundaries`)"
                .into(),
        ));
    }
    let people: FxHashMap<AreaCode, f64> = store
        .populations(opts.population)
        .await?
        .into_iter()
        .filter(|p| p.age == "All ages" && p.sex == "Persons")
        .map(|p| (p.area, p.population))
        .collect();
    if people.is_empty() {
        return Err(PlaceError::Unusable(format!(
            "no `{}` populations in the store: import some (`syndemic import population --source`) or name another source",
            opts.population
        )));
    }
    let codes: Vec<AreaCode> = boundaries.iter().map(|b| b.code).collect();
    let deciles: FxHashMap<AreaCode, i64> = crate::edition::ranked(store, &codes)
        .await?
        .map(|(_, rows)| rows)
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.area, d.decile))
        .collect();
    let share = match opts.indicator {
        None => None,
        Some(id) => Some(unmet_share(store, id).await?),
    };
    let inside = match opts.within {
        None => None,
        Some(w) => Some(small_areas_within(store, w).await?),
    };
    let mut out = Demand::default();
    for b in boundaries {
        if inside
            .as_ref()
            .is_some_and(|i| i.binary_search(&b.code).is_err())
        {
            continue;
        }
        let (Some(p), Some(&n)) = (centre(&rings(&b.simplified)), people.get(&b.code)) else {
            continue;
        };
        let weight = deciles
            .get(&b.code)
            .map_or(1.0, |d| (11 - (*d).clamp(1, 10)) as f64 / 10.0);
        let unmet = match &share {
            Some(s) => match s.get(&b.code) {
                Some(v) => *v,
                None => continue,
            },
            None => 1.0,
        };
        out.points.push(p);
        out.need.push(n * weight * unmet);
        out.areas.push(b.code);
    }
    if out.points.is_empty() {
        return Err(PlaceError::Missing(
            "no small area has a boundary, a population and (where asked) an indicator value"
                .into(),
        ));
    }
    Ok(out)
}

/// Each area's latest Persons value of `id` as the share of people still in need.
async fn unmet_share(store: &dyn Store, id: &str) -> Result<FxHashMap<AreaCode, f64>, PlaceError> {
    let Some(indicator) = store.indicator(id).await? else {
        return Err(PlaceError::Missing(format!(
            "no indicator `{id}` in the store"
        )));
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
    let higher_is_better = indicator.polarity == Some(Polarity::HigherIsBetter);
    Ok(latest
        .into_iter()
        .map(|(a, (_, v))| {
            let s = (v / multiplier).clamp(0.0, 1.0);
            (a, if higher_is_better { 1.0 - s } else { s })
        })
        .collect())
}

/// Candidate sites on a grid `step_km` apart over the demand points' extent.
pub fn grid(points: &[Point], step_km: f64) -> Vec<(String, Point)> {
    let (lon0, lon1) = points.iter().fold((f64::MAX, f64::MIN), |a, p| {
        (a.0.min(p.lon), a.1.max(p.lon))
    });
    let (lat0, lat1) = points.iter().fold((f64::MAX, f64::MIN), |a, p| {
        (a.0.min(p.lat), a.1.max(p.lat))
    });
    let mut out = Vec::new();
    if points.is_empty() || step_km.is_nan() || step_km <= 0.0 {
        return out;
    }
    let dlat = step_km / KM_PER_DEGREE;
    let dlon = dlat / ((lat0 + lat1) / 2.0).to_radians().cos();
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

/// Candidate sites from CSV text with `name` (or `site`), `lon` (or `longitude`)
/// and `lat` (or `latitude`) columns; `source` names the text in errors, which
/// give the line and column.
pub fn parse_sites(text: &str, source: &str) -> Result<Vec<(String, Point)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("{source}: {e}"))?
        .clone();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let (Some(name), Some(lon), Some(lat)) = (
        find(&["name", "site"]),
        find(&["lon", "longitude", "long"]),
        find(&["lat", "latitude"]),
    ) else {
        return Err(format!(
            "{source}: the candidate sites need `name`, `lon` and `lat` columns (found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    };
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("{source}, line {line}: {e}"))?;
        let number = |c: usize, what: &str| -> Result<f64, String> {
            record
                .get(c)
                .unwrap_or("")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    format!(
                        "{source}, line {line}, column `{}`: the {what} `{}` is not a number",
                        &headers[c],
                        record.get(c).unwrap_or("")
                    )
                })
        };
        let point = Point {
            lon: number(lon, "longitude")?,
            lat: number(lat, "latitude")?,
        };
        if !(-180.0..=180.0).contains(&point.lon) || !(-90.0..=90.0).contains(&point.lat) {
            return Err(format!(
                "{source}, line {line}: ({}, {}) is not a longitude and latitude",
                point.lon, point.lat
            ));
        }
        out.push((record.get(name).unwrap_or("").to_owned(), point));
    }
    if out.is_empty() {
        return Err(format!("{source}: no candidate sites"));
    }
    Ok(out)
}

/// One chosen stop as reported: its order, site, the need it newly reaches and the
/// running total.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub order: usize,
    pub name: String,
    pub point: Point,
    pub need_covered: f64,
    pub cumulative: f64,
    pub share_of_need: f64,
    pub areas_reached: usize,
}

/// A plan's stops, described.
pub fn stops(candidates: &[(String, Point)], covers: &[Vec<u32>], result: &Plan) -> Vec<Stop> {
    let mut cumulative = 0.0;
    result
        .stops
        .iter()
        .enumerate()
        .map(|(order, &(c, gain))| {
            cumulative += gain;
            Stop {
                order: order + 1,
                name: candidates[c].0.clone(),
                point: candidates[c].1,
                need_covered: gain,
                cumulative,
                share_of_need: (cumulative / result.total.max(1e-12)).min(1.0),
                areas_reached: covers[c].len(),
            }
        })
        .collect()
}

/// The stops as CSV: `order,name,lon,lat,need_covered,cumulative,share_of_need,areas_reached`
/// (a name made safe for a spreadsheet: `syndemic_model::formula_safe`).
pub fn stops_csv(stops: &[Stop]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut text =
        String::from("order,name,lon,lat,need_covered,cumulative,share_of_need,areas_reached\n");
    for s in stops {
        // Writing to memory cannot fail.
        let _ = w.write_record([
            s.order.to_string(),
            syndemic_model::formula_safe(&s.name).into_owned(),
            s.point.lon.to_string(),
            s.point.lat.to_string(),
            format!("{:.1}", s.need_covered),
            format!("{:.1}", s.cumulative),
            format!("{:.4}", s.share_of_need),
            s.areas_reached.to_string(),
        ]);
    }
    let _ = w.flush();
    text.push_str(&String::from_utf8_lossy(w.get_ref()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The best coverage of any `k` candidates, by trying them all.
    fn optimum(covers: &[Vec<u32>], need: &[f64], k: usize) -> f64 {
        fn go(
            covers: &[Vec<u32>],
            need: &[f64],
            k: usize,
            from: usize,
            chosen: &mut Vec<usize>,
        ) -> f64 {
            if chosen.len() == k || from == covers.len() {
                let mut seen = vec![false; need.len()];
                for &c in chosen.iter() {
                    for &i in &covers[c] {
                        seen[i as usize] = true;
                    }
                }
                return seen
                    .iter()
                    .zip(need)
                    .filter(|(s, _)| **s)
                    .map(|(_, n)| n)
                    .sum();
            }
            chosen.push(from);
            let with = go(covers, need, k, from + 1, chosen);
            chosen.pop();
            with.max(go(covers, need, k, from + 1, chosen))
        }
        go(covers, need, k, 0, &mut Vec::new())
    }

    /// The plain greedy method, every gain recomputed every round.
    fn naive(covers: &[Vec<u32>], need: &[f64], k: usize) -> f64 {
        let mut taken = vec![false; need.len()];
        let mut total = 0.0;
        for _ in 0..k {
            let best = (0..covers.len())
                .map(|c| {
                    (
                        covers[c]
                            .iter()
                            .filter(|&&i| !taken[i as usize])
                            .map(|&i| need[i as usize])
                            .sum::<f64>(),
                        c,
                    )
                })
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            let Some((gain, c)) = best.filter(|b| b.0 > 0.0) else {
                break;
            };
            total += gain;
            for &i in &covers[c] {
                taken[i as usize] = true;
            }
        }
        total
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
        #[test]
        fn greedy_is_within_its_guarantee_of_the_optimum(
            points in prop::collection::vec((0.0f64..0.3, 0.0f64..0.3, 1.0f64..100.0), 5..40),
            sites in prop::collection::vec((0.0f64..0.3, 0.0f64..0.3), 2..11),
            k in 1usize..4,
            radius in 2.0f64..10.0,
        ) {
            let demand: Vec<Point> = points.iter().map(|p| Point { lon: -1.0 + p.0, lat: 52.0 + p.1 }).collect();
            let need: Vec<f64> = points.iter().map(|p| p.2).collect();
            let candidates: Vec<Point> = sites.iter().map(|s| Point { lon: -1.0 + s.0, lat: 52.0 + s.1 }).collect();
            let covers = coverage(&demand, &candidates, radius);
            // The index finds exactly the points a full scan finds.
            for (c, list) in covers.iter().enumerate() {
                let scan: Vec<u32> = (0..demand.len() as u32).filter(|&i| km(candidates[c], demand[i as usize]) <= radius).collect();
                prop_assert_eq!(list, &scan);
            }
            let result = plan(&covers, &need, k);
            let best = optimum(&covers, &need, k);
            prop_assert!(result.covered <= best + 1e-9);
            prop_assert!(result.covered >= (1.0 - (-1.0f64).exp()) * best - 1e-9, "{} vs optimum {}", result.covered, best);
            // Lazy evaluation changes the work, not the answer.
            prop_assert!((result.covered - naive(&covers, &need, k)).abs() < 1e-9);
        }
    }

    #[test]
    fn sites_parse_with_located_errors() {
        let ok = parse_sites(
            "name,lon,lat\nLibrary,-1.5,52.1\n\"Hall, East\",-1.4,52.0\n",
            "sites",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].0, "Hall, East");
        let e = parse_sites("name,lon,lat\nA,-1.5,north\n", "sites").unwrap_err();
        assert!(
            e.contains("line 2, column `lat`") && e.contains("`north`"),
            "{e}"
        );
        let e = parse_sites("site,x,y\n", "sites").unwrap_err();
        assert!(e.contains("need `name`, `lon` and `lat`"), "{e}");
        assert!(parse_sites("name,lon,lat\nA,200,52\n", "s")
            .unwrap_err()
            .contains("not a longitude"));
        assert!(parse_sites("name,lon,lat\n", "s")
            .unwrap_err()
            .contains("no candidate"));
    }

    #[test]
    fn a_grid_covers_the_extent() {
        let pts = [
            Point {
                lon: -1.0,
                lat: 52.0,
            },
            Point {
                lon: -0.9,
                lat: 52.1,
            },
        ];
        let g = grid(&pts, 2.0);
        assert!(g.len() > 20);
        assert!(g
            .iter()
            .all(|(_, p)| p.lon >= -1.0 && p.lon <= -0.9 && p.lat >= 52.0 && p.lat <= 52.1));
        assert!(grid(&pts, 0.0).is_empty());
    }

    #[test]
    fn a_worked_example() {
        // Three villages in a row 4 km apart, a town of 100 at the end.
        let at = |km_east: f64| Point {
            lon: -1.0 + km_east / (KM_PER_DEGREE * 52.0f64.to_radians().cos()),
            lat: 52.0,
        };
        let demand = [at(0.0), at(4.0), at(8.0), at(30.0)];
        let need = [10.0, 10.0, 10.0, 100.0];
        let candidates = [at(4.0), at(30.0), at(0.0)];
        let covers = coverage(&demand, &candidates, 5.0);
        assert_eq!(covers[0], vec![0, 1, 2]);
        let result = plan(&covers, &need, 2);
        assert_eq!(result.stops, vec![(1, 100.0), (0, 30.0)]);
        assert_eq!(result.covered, 130.0);
        assert_eq!(result.total, 130.0);
        // Nothing more to gain: the third stop is not taken.
        assert_eq!(plan(&covers, &need, 3).stops.len(), 2);
        let sites: Vec<(String, Point)> = candidates
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("site {i}"), *p))
            .collect();
        let described = stops(&sites, &covers, &result);
        assert_eq!(described[1].cumulative, 130.0);
        assert_eq!(described[1].share_of_need, 1.0);
        let csv = stops_csv(&described);
        assert!(csv.starts_with("order,name,lon,lat,need_covered"));
        assert!(
            csv.lines().nth(1).unwrap().starts_with("1,site 1,"),
            "{csv}"
        );
    }
}

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
    }
}

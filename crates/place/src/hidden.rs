//! The hidden-deprivation finder: small areas far more deprived than the
//! population-weighted average of their neighbours — the pockets a district's
//! average hides.

use rustc_hash::FxHashMap;
use syndemic_model::AreaCode;
use syndemic_store::Store;

use crate::geometry::Shapes;
use crate::planner::{centre, coverage, Point};
use crate::PlaceError;

/// Thresholds of the finder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HiddenOptions {
    /// How many national deciles more deprived than its neighbours' average an
    /// area must be.
    pub min_gap: f64,
    /// Only areas in this national decile or a more deprived one.
    pub max_decile: u8,
}

impl Default for HiddenOptions {
    fn default() -> Self {
        HiddenOptions {
            min_gap: 3.0,
            max_decile: 4,
        }
    }
}

/// A small area that stands out from its neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenArea {
    pub area: AreaCode,
    pub decile: u8,
    pub score: Option<f64>,
    /// Population-weighted average national decile of its neighbours.
    pub neighbours_decile: f64,
    pub neighbours_score: Option<f64>,
    pub neighbours: usize,
    /// `neighbours_decile − decile`: how many deciles more deprived it is.
    pub gap: f64,
}

/// Each area's national decile (1 = most deprived), score and population, and the
/// pairs of neighbours; returns the areas whose decile is at most `max_decile` and
/// at least `min_gap` deciles below their neighbours' population-weighted average,
/// largest gap first. An area without neighbours, or whose neighbours have no
/// population, is never listed.
pub fn hidden_deprivation(
    areas: &FxHashMap<AreaCode, (u8, Option<f64>, f64)>,
    neighbours: &[(AreaCode, AreaCode)],
    options: HiddenOptions,
) -> Vec<HiddenArea> {
    let mut around: FxHashMap<AreaCode, Vec<AreaCode>> = FxHashMap::default();
    for (a, b) in neighbours {
        around.entry(*a).or_default().push(*b);
    }
    let mut out: Vec<HiddenArea> = around
        .iter()
        .filter_map(|(area, next)| {
            let &(decile, score, _) = areas.get(area)?;
            if decile > options.max_decile {
                return None;
            }
            let known: Vec<&(u8, Option<f64>, f64)> =
                next.iter().filter_map(|n| areas.get(n)).collect();
            let weight: f64 = known.iter().map(|n| n.2).sum();
            if known.is_empty() || weight <= 0.0 {
                return None;
            }
            let neighbours_decile =
                known.iter().map(|n| f64::from(n.0) * n.2).sum::<f64>() / weight;
            let neighbours_score = known
                .iter()
                .map(|n| n.1.map(|s| s * n.2))
                .sum::<Option<f64>>()
                .map(|s| s / weight);
            let gap = neighbours_decile - f64::from(decile);
            (gap >= options.min_gap).then_some(HiddenArea {
                area: *area,
                decile,
                score,
                neighbours_decile,
                neighbours_score,
                neighbours: known.len(),
                gap,
            })
        })
        .collect();
    out.sort_by(|a, b| b.gap.total_cmp(&a.gap).then(a.area.cmp(&b.area)));
    out
}

/// Which small areas count as an area's neighbours in the finder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Neighbours {
    /// Those sharing a boundary with it.
    Adjacent,
    /// Those whose centres lie within this many km of its centre.
    Within(f64),
}

impl Neighbours {
    /// From a `radius_km` parameter: none or 0 is adjacency; otherwise above 0 and
    /// at most 50 km.
    pub fn from_radius(radius: Option<f64>) -> Result<Neighbours, PlaceError> {
        match radius {
            None => Ok(Neighbours::Adjacent),
            Some(0.0) => Ok(Neighbours::Adjacent),
            Some(r) if r > 0.0 && r <= 50.0 => Ok(Neighbours::Within(r)),
            Some(r) => Err(PlaceError::Unusable(format!(
                "radius_km={r}: give 0 (neighbours share a boundary) or a radius above 0 and at most 50 km"
            ))),
        }
    }
}

/// The hidden-deprivation finder over the stored small areas' neighbours (shared
/// boundaries of the `shapes`' vintage, or centres within a radius) and the
/// deciles of the edition that ranks the most of them ([`crate::edition`]),
/// weighted by the `population` source's all-ages persons (1 each without one);
/// only the areas within `within` where it is given.
pub async fn find_hidden(
    store: &dyn Store,
    shapes: &Shapes,
    population: Option<&str>,
    within: Option<AreaCode>,
    options: HiddenOptions,
    neighbours: Neighbours,
) -> Result<Vec<HiddenArea>, PlaceError> {
    let Some(vintage) = shapes.vintage.clone() else {
        return Ok(Vec::new());
    };
    let population: FxHashMap<AreaCode, f64> = match population {
        Some(source) => store
            .populations(source)
            .await?
            .into_iter()
            .filter(|p| p.age == "All ages" && p.sex == "Persons")
            .map(|p| (p.area, p.population))
            .collect(),
        None => FxHashMap::default(),
    };
    let small: Vec<AreaCode> = shapes.outlines.keys().copied().collect();
    let ranked = crate::edition::ranked(store, &small)
        .await?
        .map(|(_, rows)| rows)
        .unwrap_or_default();
    let areas: FxHashMap<AreaCode, (u8, Option<f64>, f64)> = ranked
        .into_iter()
        .map(|d| {
            (
                d.area,
                (
                    d.decile as u8,
                    d.score,
                    population.get(&d.area).copied().unwrap_or(1.0),
                ),
            )
        })
        .collect();
    let pairs = match neighbours {
        Neighbours::Adjacent => store.adjacency(&vintage).await?,
        Neighbours::Within(km) => {
            let centres: Vec<(AreaCode, Point)> = shapes
                .outlines
                .iter()
                .filter_map(|(code, rings)| Some((*code, centre(rings)?)))
                .collect();
            let points: Vec<Point> = centres.iter().map(|c| c.1).collect();
            let near = coverage(&points, &points, km);
            let mut pairs = Vec::new();
            for (i, list) in near.iter().enumerate() {
                for &j in list.iter().filter(|&&j| j as usize != i) {
                    pairs.push((centres[i].0, centres[j as usize].0));
                }
            }
            pairs
        }
    };
    let mut found = hidden_deprivation(&areas, &pairs, options);
    if let Some(w) = within {
        let inside = crate::geography::small_areas_within(store, w).await?;
        found.retain(|h| inside.binary_search(&h.area).is_ok());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(n: u32) -> AreaCode {
        AreaCode::parse(&format!("E0190{n:04}")).unwrap()
    }

    #[test]
    fn a_deprived_area_among_affluent_neighbours_stands_out() {
        let mut areas = FxHashMap::default();
        areas.insert(code(1), (1, Some(50.0), 1500.0));
        areas.insert(code(2), (9, Some(5.0), 1000.0));
        areas.insert(code(3), (7, Some(9.0), 3000.0));
        areas.insert(code(4), (2, Some(40.0), 1500.0));
        let pairs = [
            (code(1), code(2)),
            (code(2), code(1)),
            (code(1), code(3)),
            (code(3), code(1)),
            (code(4), code(1)),
            (code(1), code(4)),
        ];
        let found = hidden_deprivation(&areas, &pairs, HiddenOptions::default());
        assert_eq!(found.len(), 1);
        let hit = &found[0];
        assert_eq!(hit.area, code(1));
        // (9 × 1000 + 7 × 3000 + 2 × 1500) / 5500 = 6.0
        assert!((hit.neighbours_decile - 6.0).abs() < 1e-12);
        assert!((hit.gap - 5.0).abs() < 1e-12);
        // Code 4 is deprived, but so is its only neighbour.
        let stricter = hidden_deprivation(
            &areas,
            &pairs,
            HiddenOptions {
                min_gap: 5.5,
                max_decile: 4,
            },
        );
        assert!(stricter.is_empty());
    }
}

//! Deprivation seen from larger areas: MHCLG's summary measures for every area of a
//! level (district, upper-tier authority, ward, region, ICB) and the local deciles
//! or quintiles of the small areas within any parent ("the most deprived fifth of
//! our county"), both from the stored small-area ranks.

use rustc_hash::{FxHashMap, FxHashSet};
use syndemic_model::{walk_up, AreaCode, AreaType, Level};
use syndemic_stats::deprivation::{local_quantiles, summarise, SmallArea, Summary};
use syndemic_store::{Deprivation, Store};

/// Every area's parents from the stored lookups of one vintage (and the unversioned
/// ones, such as a district → region lookup), walked transitively. Each parent keeps
/// the level of the link that reached it: a unitary authority created since (linked
/// from its old districts as their upper tier) is not counted among the districts.
pub struct Hierarchy {
    parents: FxHashMap<AreaCode, Vec<(AreaCode, Level)>>,
}

impl Hierarchy {
    pub async fn load(store: &dyn Store, vintage: &str) -> Result<Hierarchy, String> {
        let mut parents: FxHashMap<AreaCode, Vec<(AreaCode, Level)>> = FxHashMap::default();
        for level in Level::ALL {
            // The vintage's own links first: a walk up meets them before the
            // unversioned ones (a current district → upper-tier lookup).
            for v in [vintage, ""] {
                let links = store.links(level, v).await.map_err(|e| e.to_string())?;
                for l in links {
                    let list = parents.entry(l.child).or_default();
                    if !list.contains(&(l.parent, level)) {
                        list.push((l.parent, level));
                    }
                }
            }
        }
        Ok(Hierarchy { parents })
    }

    /// The area's parents, their parents and so on, each once, with the level of
    /// the link that reached it (`syndemic_model::walk_up`).
    pub fn ancestors(&self, code: AreaCode) -> Vec<(AreaCode, Level)> {
        walk_up(
            code,
            |a| self.parents.get(&a).cloned().unwrap_or_default(),
            |link| link.0,
            |link| *link,
        )
    }

    /// Whether `area` lies within `parent` (England holds every area).
    pub fn within(&self, area: AreaCode, parent: AreaCode) -> bool {
        area == parent
            || parent.area_type() == AreaType::England
            || self.ancestors(area).iter().any(|(a, _)| *a == parent)
    }
}

/// What to summarise: the small-area ranks of `edition` and `domain`, weighted by
/// the `All ages`, `Persons` populations of `population_source`, over the lookups
/// of `vintage`.
#[derive(Debug, Clone)]
pub struct SummaryRequest<'a> {
    pub edition: &'a str,
    pub domain: &'a str,
    pub population_source: &'a str,
    pub vintage: &'a str,
    pub level: Level,
    /// Only the areas of `level` within this one (ranks stay national).
    pub within: Option<AreaCode>,
}

/// One larger area's summary, with its rank on each measure among all areas of its
/// level (1 = most deprived; ties share the best rank), as MHCLG's File 10 ranks
/// districts.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaSummary {
    pub area: AreaCode,
    pub name: Option<String>,
    pub summary: Summary,
    pub rank_average_rank: usize,
    pub rank_average_score: Option<usize>,
    pub rank_extent: usize,
    pub rank_proportion_most_deprived_10: usize,
}

async fn ranked_table(
    store: &dyn Store,
    edition: &str,
    domain: &str,
) -> Result<Vec<Deprivation>, String> {
    let table = store
        .deprivation_table(edition, domain)
        .await
        .map_err(|e| e.to_string())?;
    if table.is_empty() {
        return Err(format!(
            "no {edition} {domain} ranks in the store: import the IoD files first (`syndemic import imd FILE`)"
        ));
    }
    Ok(table)
}

async fn names(
    store: &dyn Store,
    codes: impl Iterator<Item = AreaCode>,
) -> Result<FxHashMap<AreaCode, Option<String>>, String> {
    let types: FxHashSet<AreaType> = codes.map(|c| c.area_type()).collect();
    let mut out = FxHashMap::default();
    for t in types {
        for a in store.areas_of_type(t).await.map_err(|e| e.to_string())? {
            out.insert(a.code, a.name);
        }
    }
    Ok(out)
}

/// Competition ranks ("1224"), 1 for the largest value.
fn ranks_descending(values: &[f64]) -> Vec<usize> {
    values
        .iter()
        .map(|v| 1 + values.iter().filter(|w| *w > v).count())
        .collect()
}

/// Summaries of every area of `request.level` that holds ranked small areas.
pub async fn summarise_areas(
    store: &dyn Store,
    request: &SummaryRequest<'_>,
) -> Result<Vec<AreaSummary>, String> {
    let SummaryRequest {
        edition,
        domain,
        population_source,
        vintage,
        level,
        within,
    } = *request;
    let table = ranked_table(store, edition, domain).await?;
    let population: FxHashMap<AreaCode, f64> = store
        .populations(population_source)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| p.age == "All ages" && p.sex == "Persons")
        .map(|p| (p.area, p.population))
        .collect();
    if population.is_empty() {
        return Err(format!(
            "no `{population_source}` populations in the store: import the IoD2019 File 6 (`syndemic import imd`) or population estimates (`syndemic import population --source`)"
        ));
    }
    let hierarchy = Hierarchy::load(store, vintage).await?;
    let mut groups: FxHashMap<AreaCode, Vec<SmallArea>> = FxHashMap::default();
    for d in &table {
        let holders: Vec<AreaCode> = if level == Level::England {
            vec![AreaCode::parse("E92000001").map_err(|e| e.to_string())?]
        } else {
            // One holder per level, the nearest: a small area counts once in a
            // level's summaries, even where a current lookup links its old
            // district to a unitary authority created since.
            hierarchy
                .ancestors(d.area)
                .into_iter()
                .find(|(_, l)| *l == level)
                .map(|(a, _)| a)
                .into_iter()
                .collect()
        };
        if holders.is_empty() {
            continue;
        }
        let Some(&population) = population.get(&d.area) else {
            return Err(format!(
                "no `{population_source}` population for {}",
                d.area
            ));
        };
        let small = SmallArea {
            rank: d.rank as f64,
            decile: d.decile as u8,
            score: d.score,
            population,
        };
        for h in holders {
            groups.entry(h).or_default().push(small);
        }
    }
    if groups.is_empty() {
        return Err(format!(
            "no {} of lookup vintage {vintage} holds any {edition} small area: import the lookups that link them (`syndemic import lookups`)",
            level.label()
        ));
    }
    let mut summaries: Vec<(AreaCode, Summary)> = groups
        .into_iter()
        .map(|(area, small)| {
            summarise(&small, table.len())
                .map(|s| (area, s))
                .map_err(|e| format!("{area}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    summaries.sort_by_key(|(area, _)| *area);
    let measure = |f: fn(&Summary) -> f64| -> Vec<usize> {
        ranks_descending(&summaries.iter().map(|(_, s)| f(s)).collect::<Vec<_>>())
    };
    let by_rank = measure(|s| s.average_rank);
    let by_extent = measure(|s| s.extent);
    let by_proportion = measure(|s| s.proportion_most_deprived_10);
    let by_score = summaries
        .iter()
        .all(|(_, s)| s.average_score.is_some())
        .then(|| measure(|s| s.average_score.unwrap_or_default()));
    let names = names(store, summaries.iter().map(|(a, _)| *a)).await?;
    Ok(summaries
        .into_iter()
        .enumerate()
        .filter(|(_, (area, _))| within.is_none_or(|w| hierarchy.within(*area, w)))
        .map(|(i, (area, summary))| AreaSummary {
            area,
            name: names.get(&area).cloned().flatten(),
            summary,
            rank_average_rank: by_rank[i],
            rank_average_score: by_score.as_ref().map(|r| r[i]),
            rank_extent: by_extent[i],
            rank_proportion_most_deprived_10: by_proportion[i],
        })
        .collect())
}

/// A small area's deprivation with its quantile among the small areas of a parent.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRank {
    pub area: AreaCode,
    pub name: Option<String>,
    pub rank: i64,
    pub decile: i64,
    pub score: Option<f64>,
    /// 1 = the most deprived `1/n` of the parent's small areas.
    pub local: u32,
}

/// The small areas ranked in `edition`/`domain` that lie within `parent` (through
/// the lookups of `vintage`), most deprived first, each with its local quantile out
/// of `n` (5 for quintiles, 10 for deciles), assigned as
/// [`syndemic_stats::deprivation::local_quantiles`] does.
pub async fn local_deprivation(
    store: &dyn Store,
    edition: &str,
    domain: &str,
    vintage: &str,
    parent: AreaCode,
    n: u32,
) -> Result<Vec<LocalRank>, String> {
    let table = ranked_table(store, edition, domain).await?;
    let hierarchy = Hierarchy::load(store, vintage).await?;
    let inside: Vec<&Deprivation> = table
        .iter()
        .filter(|d| hierarchy.within(d.area, parent))
        .collect();
    if inside.is_empty() {
        return Err(format!(
            "no {edition} small area lies within {parent} in the lookups of vintage {vintage}: check the code, or import the lookups that link it (`syndemic import lookups`)"
        ));
    }
    let ranks: Vec<f64> = inside.iter().map(|d| d.rank as f64).collect();
    let quantiles =
        local_quantiles(&vec![0; ranks.len()], 1, &ranks, n).map_err(|e| e.to_string())?;
    let names = names(store, std::iter::once(inside[0].area)).await?;
    let mut out: Vec<LocalRank> = inside
        .iter()
        .zip(quantiles)
        .map(|(d, q)| {
            Ok(LocalRank {
                area: d.area,
                name: names.get(&d.area).cloned().flatten(),
                rank: d.rank,
                decile: d.decile,
                score: d.score,
                local: q.ok_or_else(|| {
                    format!(
                        "{parent} has too few small areas ({}) for {n} local groups",
                        ranks.len()
                    )
                })?,
            })
        })
        .collect::<Result<_, String>>()?;
    out.sort_by_key(|r| (r.rank, r.area));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn competition_ranks_put_the_largest_first() {
        assert_eq!(ranks_descending(&[1.0, 3.0, 3.0, 2.0]), vec![4, 1, 1, 3]);
    }
}

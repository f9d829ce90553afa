//! A community defines its place: a list of small areas, wards and postcodes
//! (pasted, or gathered from clicks on the map) read into the set of small areas
//! of the partnership's place it names, and the smallest district, county or
//! region holding them all — the area the community place is measured within and
//! compared with. Every problem is reported by line; nothing is kept until all is
//! well.

use std::fmt;

use rustc_hash::FxHashSet;
use syndemic_model::{normalise_postcode, AreaCode, AreaType, Level};
use syndemic_store::Store;

use crate::geography::parent_chain;
use crate::{small_areas_within, PlaceError, Placer};

/// The most small areas one community place may hold (a large town).
pub const MAX_SMALL_AREAS: usize = 1_000;
/// The most entries read from one list.
pub const MAX_ENTRIES: usize = 5_000;

/// One entry that could not be read, with its line (counted from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub entry: String,
    pub problem: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.entry, self.problem)
    }
}

/// The small areas a community chose, and the area they lie within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// Sorted, each once.
    pub areas: Vec<AreaCode>,
    pub within: AreaCode,
}

/// Reads `text` — one entry per line (commas and semicolons also separate): an
/// LSOA code, a ward code (all its small areas) or a postcode (its small area) —
/// against the small areas of `placer`'s place. Returns the problems, every one,
/// when any entry cannot be used; a store failure is the outer error.
pub async fn choose(
    store: &dyn Store,
    placer: &Placer,
    text: &str,
) -> Result<Result<Chosen, Vec<Problem>>, PlaceError> {
    let mut problems = Vec::new();
    let mut chosen: FxHashSet<AreaCode> = FxHashSet::default();
    let mut entries = 0usize;
    for (n, line) in text.lines().enumerate() {
        for entry in line
            .split([',', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            entries += 1;
            if entries > MAX_ENTRIES {
                problems.push(problem(
                    n + 1,
                    entry,
                    format!("more than {MAX_ENTRIES} entries: a community place is a neighbourhood or a town, give its wards instead"),
                ));
                return Ok(Err(problems));
            }
            match read_entry(store, placer, entry).await? {
                Ok(areas) => chosen.extend(areas),
                Err(p) => problems.push(problem(n + 1, entry, p)),
            }
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    if chosen.is_empty() {
        return Ok(Err(vec![problem(
            1,
            "",
            "no small areas given: list the place's LSOAs, wards or postcodes, one per line, or click its small areas on the map".into(),
        )]));
    }
    if chosen.len() > MAX_SMALL_AREAS {
        return Ok(Err(vec![problem(
            1,
            "",
            format!(
                "{} small areas: a community place holds at most {MAX_SMALL_AREAS}",
                chosen.len()
            ),
        )]));
    }
    let mut areas: Vec<AreaCode> = chosen.into_iter().collect();
    areas.sort();
    let Some(within) = within(store, &areas).await? else {
        return Ok(Err(vec![problem(
            1,
            "",
            "these small areas share no district, county or region in the store's lookups".into(),
        )]));
    };
    Ok(Ok(Chosen { areas, within }))
}

fn problem(line: usize, entry: &str, problem: String) -> Problem {
    Problem {
        line,
        entry: entry.to_owned(),
        problem,
    }
}

/// One entry's small areas, or what is wrong with it.
async fn read_entry(
    store: &dyn Store,
    placer: &Placer,
    entry: &str,
) -> Result<Result<Vec<AreaCode>, String>, PlaceError> {
    if let Ok(code) = AreaCode::parse(entry) {
        return Ok(match code.area_type() {
            AreaType::Lsoa => placer.lsoa(code).map(|c| vec![c]).map_err(|e| e.to_string()),
            AreaType::Ward => {
                let lsoas = small_areas_within(store, code).await?;
                if lsoas.is_empty() {
                    Err(format!("ward {code} has no small areas in the store's lookups"))
                } else if let Some(out) = lsoas.iter().find(|l| !placer.contains(**l)) {
                    Err(format!(
                        "ward {code} reaches outside the place (its small area {out}): give its small areas inside the place instead"
                    ))
                } else {
                    Ok(lsoas)
                }
            }
            other => Err(format!(
                "{code} is a {}: give small areas (LSOA codes such as E01006074), ward codes or postcodes",
                other.label().to_lowercase()
            )),
        });
    }
    match normalise_postcode(entry) {
        Some(postcode) => Ok(placer
            .postcode(store, &postcode)
            .await?
            .map(|c| vec![c])
            .map_err(|e| e.to_string())),
        None => Ok(Err(
            "neither an area code nor a postcode: give an LSOA code (E01…), a ward code (E05…) or a postcode such as M33 7XX"
                .into(),
        )),
    }
}

/// The nearest district, county, region or England holding every one of `areas`.
async fn within(store: &dyn Store, areas: &[AreaCode]) -> Result<Option<AreaCode>, PlaceError> {
    let Some(first) = areas.first() else {
        return Ok(None);
    };
    let levels = [
        Level::LowerTierAuthority,
        Level::UpperTierAuthority,
        Level::Region,
        Level::England,
    ];
    let chain = parent_chain(store, *first).await?;
    for level in levels {
        for candidate in chain.iter().filter(|p| p.link.level == level) {
            let inside: FxHashSet<AreaCode> = small_areas_within(store, candidate.link.parent)
                .await?
                .into_iter()
                .collect();
            if areas.iter().all(|a| inside.contains(a)) {
                return Ok(Some(candidate.link.parent));
            }
        }
    }
    Ok(None)
}

//! The English Indices of Deprivation in their published layouts:
//!
//! - IoD2019 Files 1–3 (`LSOA code (2011)`, `… Rank (where 1 is most deprived)`,
//!   `… Decile (…)`, `… Score`), with each LSOA's district (`Local Authority
//!   District code (2019)`);
//! - IoD2019 File 6, the population denominators (`Total population: mid 2015
//!   (excluding prisoners)`, …), kept as populations;
//! - IoD2025 at LSOA 2021 in the tidy layout (`lsoa21_code`, `IMD_rank`,
//!   `IMD_decile`, `IMD_score`, `Income_rank`, …).
//!
//! Ranks are kept as published, ties included: nothing assumes they run 1..N.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use syndemic_model::{AreaCode, AreaType, CodeVerdict, Level, Period};
use syndemic_store::{Area, AreaLink, Deprivation, Population, Store};

use crate::lookups::{finish, ROWS_PER_BATCH};
use crate::read::{normalise, Row, Table};
use crate::{ImportError, ImportSummary};

/// Domain keys and the header stems that name them, most specific first.
const DOMAINS: &[(&str, &[&str])] = &[
    (
        "imd",
        &[
            "index of multiple deprivation (imd)",
            "index of multiple deprivation",
            "imd",
        ],
    ),
    (
        "idaci",
        &[
            "income deprivation affecting children index (idaci)",
            "idaci",
        ],
    ),
    (
        "idaopi",
        &[
            "income deprivation affecting older people (idaopi)",
            "idaopi",
        ],
    ),
    ("income", &["income"]),
    ("employment", &["employment"]),
    (
        "education",
        &["education, skills and training", "education"],
    ),
    ("health", &["health deprivation and disability", "health"]),
    ("crime", &["crime"]),
    (
        "housing",
        &[
            "barriers to housing and services",
            "housing_and_services",
            "housing and services",
        ],
    ),
    ("environment", &["living environment", "environment"]),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Measure {
    Rank,
    Decile,
    Score,
}

/// Reads `Income Rank (where 1 is most deprived)` or `Income_rank` as
/// (`income`, rank).
fn domain_column(header: &str) -> Option<(&'static str, Measure)> {
    let lower = header.trim().to_lowercase();
    let stem_end = ["rank", "decile", "score"]
        .iter()
        .filter_map(|m| {
            lower
                .find(&format!(" {m}"))
                .or_else(|| lower.find(&format!("_{m}")))
                .map(|i| (i, *m))
        })
        .min_by_key(|(i, _)| *i)?;
    let (at, measure) = stem_end;
    let rest = &lower[at + 1 + measure.len()..];
    // `… Rank (where 1 is most deprived)` is a rank; `… Rank of average rank` is not.
    if !(rest.is_empty() || rest.trim_start().starts_with('(')) {
        return None;
    }
    let stem = lower[..at].trim();
    let key = DOMAINS
        .iter()
        .find(|(_, names)| names.contains(&stem))
        .map(|(key, _)| *key)?;
    let measure = match measure {
        "rank" => Measure::Rank,
        "decile" => Measure::Decile,
        _ => Measure::Score,
    };
    Some((key, measure))
}

/// Population columns of File 6, with the age band each holds.
const POPULATION_COLUMNS: &[(&str, &str)] = &[
    ("total population", "All ages"),
    ("dependent children aged 0-15", "0-15"),
    ("population aged 16-59", "16-59"),
    ("older population aged 60 and over", "60+"),
    ("working age population 18-59/64", "18-59/64"),
];

struct DomainColumns {
    key: &'static str,
    rank: usize,
    decile: usize,
    score: Option<usize>,
}

/// Imports one IoD file in one transaction.
pub async fn import_imd(store: &dyn Store, path: &Path) -> Result<ImportSummary, ImportError> {
    let mut table = Table::open(path)?;
    let file = table.file.clone();
    let lsoa11 = table.find(&["LSOA code (2011)", "lsoa11_code", "LSOA11CD"]);
    let lsoa21 = table.find(&["LSOA code (2021)", "lsoa21_code", "LSOA21CD"]);
    let (lsoa, lsoa_vintage, edition) = match (lsoa11, lsoa21) {
        (Some(i), None) => (i, "LSOA11", "IoD2019"),
        (None, Some(i)) => (i, "LSOA21", "IoD2025"),
        _ => {
            return Err(ImportError::file(
                &file,
                "not an Indices of Deprivation file: expected one LSOA code column, `LSOA code (2011)` (IoD2019) or `LSOA code (2021)` / `lsoa21_code` (IoD2025)",
            ))
        }
    };
    let lsoa_name = table.find(&[
        "LSOA name (2011)",
        "LSOA name (2021)",
        "lsoa11_name",
        "lsoa21_name",
    ]);
    let district = table
        .headers()
        .iter()
        .position(|h| normalise(h).starts_with("localauthoritydistrictcode("));
    let district_year = district.map(|i| {
        let h = &table.headers()[i];
        h.chars().filter(char::is_ascii_digit).collect::<String>()
    });
    let district_name = table
        .headers()
        .iter()
        .position(|h| normalise(h).starts_with("localauthoritydistrictname("));

    // Domains with both a rank and a decile.
    let mut found: FxHashMap<&'static str, [Option<usize>; 3]> = FxHashMap::default();
    let mut used = vec![table.headers()[lsoa].clone()];
    for (i, header) in table.headers().iter().enumerate() {
        if let Some((key, measure)) = domain_column(header) {
            let slot = &mut found.entry(key).or_default()[measure as usize];
            if slot.is_none() {
                *slot = Some(i);
            }
        }
    }
    let mut domains: Vec<DomainColumns> = DOMAINS
        .iter()
        .filter_map(|(key, _)| {
            let [rank, decile, score] = *found.get(key)?;
            Some(DomainColumns {
                key,
                rank: rank?,
                decile: decile?,
                score,
            })
        })
        .collect();
    domains.sort_by_key(|d| d.rank);
    for d in &domains {
        used.push(table.headers()[d.rank].clone());
        used.push(table.headers()[d.decile].clone());
        if let Some(s) = d.score {
            used.push(table.headers()[s].clone());
        }
    }
    let populations: Vec<(usize, &str, i32)> = table
        .headers()
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let lower = h.to_lowercase();
            let (_, age) = POPULATION_COLUMNS
                .iter()
                .find(|(stem, _)| lower.starts_with(stem))?;
            // "… mid 2015 (excluding prisoners)".
            let year = lower
                .split("mid ")
                .nth(1)
                .and_then(|rest| rest.get(..4))
                .and_then(|y| y.parse().ok())?;
            Some((i, *age, year))
        })
        .collect();
    for (i, _, _) in &populations {
        used.push(table.headers()[*i].clone());
    }
    if domains.is_empty() && populations.is_empty() {
        return Err(ImportError::file(
            &file,
            format!(
                "no deprivation columns: expected ranks and deciles such as `Index of Multiple Deprivation (IMD) Rank` and `… Decile`, `IMD_rank` and `IMD_decile`, or File 6 populations (found: {})",
                table.headers().join(", ")
            ),
        ));
    }
    let ignored: Vec<String> = table
        .headers()
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            !used.contains(h)
                && Some(*i) != lsoa_name
                && Some(*i) != district
                && Some(*i) != district_name
        })
        .map(|(_, h)| h.clone())
        .collect();
    let mut summary = ImportSummary {
        file: file.clone(),
        used_columns: used,
        ignored_columns: ignored,
        ..ImportSummary::default()
    };
    let population_source = format!("{edition} File 6");
    // The small areas each edition ranks: 1 is the most deprived, this the least.
    let ranked: i64 = if edition == "IoD2019" { 32_844 } else { 33_755 };

    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&file, e))?;
    let mut seen: FxHashMap<AreaCode, u64> = FxHashMap::default();
    let mut written: FxHashSet<AreaCode> = FxHashSet::default();
    let mut areas: Vec<Area> = Vec::new();
    let mut vintages: Vec<(AreaCode, String)> = Vec::new();
    let mut links: Vec<AreaLink> = Vec::new();
    let mut values: Vec<Deprivation> = Vec::new();
    let mut pops: Vec<Population> = Vec::new();
    let mut pending_orphans: Vec<AreaCode> = Vec::new();
    loop {
        let row = table.next_row()?;
        let done = row.is_none();
        if let Some(row) = row {
            summary.rows += 1;
            let code = match AreaCode::classify(row.required(lsoa)?) {
                Ok(CodeVerdict::England(code)) => code
                    .expect(&[AreaType::Lsoa], "LSOA")
                    .map_err(|e| row.error(lsoa, e.to_string()))?,
                Ok(CodeVerdict::OutsideEngland(_)) => {
                    summary.skipped_outside_england += 1;
                    continue;
                }
                Err(e) => return Err(row.error(lsoa, e.to_string())),
            };
            if let Some(first) = seen.insert(code, row.line) {
                return Err(row.error(
                    lsoa,
                    format!(
                        "duplicate key: {code} is also on line {first}; each LSOA appears once"
                    ),
                ));
            }
            let parent = match district {
                Some(i) => Some(district_code(&row, i)?),
                None => None,
            };
            areas.push(Area {
                code,
                name: lsoa_name
                    .map(|i| row.get(i).to_owned())
                    .filter(|n| !n.is_empty()),
                no_known_parent: false,
            });
            vintages.push((code, lsoa_vintage.to_owned()));
            summary.areas += 1;
            match parent {
                Some(parent) => {
                    let year = district_year.clone().unwrap_or_default();
                    if written.insert(parent) {
                        areas.push(Area {
                            code: parent,
                            name: district_name
                                .map(|i| row.get(i).to_owned())
                                .filter(|n| !n.is_empty()),
                            no_known_parent: false,
                        });
                        vintages.push((
                            parent,
                            format!("LAD{}", &year[year.len().saturating_sub(2)..]),
                        ));
                        summary.areas += 1;
                    }
                    links.push(AreaLink {
                        child: code,
                        parent,
                        level: Level::LowerTierAuthority,
                        vintage: year,
                    });
                    summary.links += 1;
                }
                None => pending_orphans.push(code),
            }
            for d in &domains {
                let rank = row.positive_integer(d.rank)?;
                if rank > ranked {
                    return Err(row.error(
                        d.rank,
                        format!("rank {rank} is beyond the {ranked} LSOAs {edition} ranks"),
                    ));
                }
                let decile = row.positive_integer(d.decile)?;
                if decile > 10 {
                    return Err(
                        row.error(d.decile, format!("decile {decile} is not between 1 and 10"))
                    );
                }
                let score = match d.score {
                    Some(i) => row.number(i)?,
                    None => None,
                };
                values.push(Deprivation {
                    area: code,
                    edition: edition.to_owned(),
                    domain: d.key.to_owned(),
                    rank,
                    decile,
                    score,
                });
                summary.values += 1;
            }
            for &(i, age, year) in &populations {
                let Some(population) = row.number(i)? else {
                    return Err(row.error(i, "blank population: every LSOA needs one"));
                };
                if population < 0.0 {
                    return Err(row.error(i, format!("population {population} is negative")));
                }
                pops.push(Population {
                    area: code,
                    period: Period::Year(year),
                    sex: "Persons".into(),
                    age: age.into(),
                    population,
                    source: population_source.clone(),
                });
                summary.values += 1;
            }
        }
        if done || values.len() + pops.len() + areas.len() >= ROWS_PER_BATCH {
            let to_store = |e| ImportError::store(&file, e);
            // LSOAs met without a district column keep their parents if the store
            // already knows them; new ones are flagged as having no known parent.
            if !pending_orphans.is_empty() {
                let missing = tx.missing_areas(&pending_orphans).await.map_err(to_store)?;
                for a in areas
                    .iter_mut()
                    .filter(|a| missing.binary_search(&a.code).is_ok())
                {
                    a.no_known_parent = true;
                }
                summary.created_without_parent += missing.len() as u64;
                pending_orphans.clear();
            }
            tx.put_areas(&areas).await.map_err(to_store)?;
            tx.put_vintages(&vintages).await.map_err(to_store)?;
            tx.put_links(&links).await.map_err(to_store)?;
            tx.put_deprivation(&values).await.map_err(to_store)?;
            tx.put_populations(&pops).await.map_err(to_store)?;
            areas.clear();
            vintages.clear();
            links.clear();
            values.clear();
            pops.clear();
        }
        if done {
            break;
        }
    }
    if summary.rows == 0 {
        return Err(ImportError::file(
            &file,
            "the file has a header but no data rows",
        ));
    }
    finish(tx, &summary, "imd").await?;
    Ok(summary)
}

fn district_code(row: &Row<'_>, index: usize) -> Result<AreaCode, ImportError> {
    let text = row.required(index)?;
    AreaCode::parse(text)
        .and_then(|c| {
            c.expect(
                &[
                    AreaType::UnitaryAuthority,
                    AreaType::NonMetropolitanDistrict,
                    AreaType::MetropolitanDistrict,
                    AreaType::LondonBorough,
                ],
                "district",
            )
        })
        .map_err(|e| row.error(index, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_domain_columns() {
        assert_eq!(
            domain_column("Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"),
            Some(("imd", Measure::Rank))
        );
        assert_eq!(
            domain_column("Index of Multiple Deprivation (IMD) Decile"),
            Some(("imd", Measure::Decile))
        );
        assert_eq!(
            domain_column(
                "Education, Skills and Training Decile (where 1 is most deprived 10% of LSOAs)"
            ),
            Some(("education", Measure::Decile))
        );
        assert_eq!(domain_column("IMD_score"), Some(("imd", Measure::Score)));
        assert_eq!(
            domain_column("Housing_and_Services_rank"),
            Some(("housing", Measure::Rank))
        );
        assert_eq!(
            domain_column("Income Deprivation Affecting Children Index (IDACI) Rank (where 1 is most deprived)"),
            Some(("idaci", Measure::Rank))
        );
        assert_eq!(domain_column("imd_rank_of_average_rank"), None);
        assert_eq!(domain_column("LSOA code (2011)"), None);
    }
}

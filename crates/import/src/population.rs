//! Population estimates by area, sex and age band, in a long layout: ONS mid-year
//! estimates and Census 2021 tables as the open-data portals publish them
//! (`area_code, period, indicator = "Aged 5 to 9 years", measure = Count,
//! unit = Persons, value`) or the tidy layout (`area, period, sex, age_band,
//! population`).

use std::path::Path;

use rustc_hash::FxHashMap;
use syndemic_model::{AreaCode, CodeVerdict, Period};
use syndemic_store::{Area, Population, Store};

use crate::lookups::finish;
use crate::read::Table;
use crate::{ImportError, ImportSummary};

/// `Aged 4 years and under` → `0-4`, `Aged 5 to 9 years` → `5-9`, `Aged 85 years
/// and over` → `85+`, `All ages` and bands already written `0-4` / `90+` as they are.
pub fn age_band(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "all ages" || t == "total" || t == "all persons" {
        return Some("All ages".into());
    }
    let words: Vec<&str> = t.trim_start_matches("aged ").split_whitespace().collect();
    let number = |w: &str| w.parse::<u32>().ok();
    match words.as_slice() {
        [a, "to", b, ..] => Some(format!("{}-{}", number(a)?, number(b)?)),
        [a, "years", "and", "under"] | [a, "and", "under"] => Some(format!("0-{}", number(a)?)),
        [a, "years", "and", "over"] | [a, "and", "over"] | [a, "+"] => {
            Some(format!("{}+", number(a)?))
        }
        [one] => {
            if let Some(a) = one.strip_suffix('+') {
                return Some(format!("{}+", number(a)?));
            }
            let (a, b) = one.split_once('-')?;
            Some(format!("{}-{}", number(a)?, number(b)?))
        }
        _ => None,
    }
}

/// Imports one population file in one transaction, under `source` (e.g.
/// `Census 2021`).
pub async fn import_population(
    store: &dyn Store,
    path: &Path,
    source: &str,
) -> Result<ImportSummary, ImportError> {
    let mut table = Table::open(path)?;
    let file = table.file.clone();
    let area = table.require(
        &[
            "area_code",
            "area",
            "Area Code",
            "LSOA11CD",
            "LSOA21CD",
            "code",
        ],
        "area code",
    )?;
    let area_name = table.find(&["area_name", "Area Name", "name"]);
    let period = table.require(&["period", "year", "date", "Time period"], "period")?;
    let age = table.require(&["age_band", "age", "indicator"], "age band")?;
    let sex = table.find(&["sex", "unit"]);
    let measure = table.find(&["measure"]);
    let value = table.require(&["population", "value", "count"], "population")?;
    let mut summary = ImportSummary {
        file: file.clone(),
        ..ImportSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&file, e))?;
    let mut seen: FxHashMap<(AreaCode, Period, String, String), u64> = FxHashMap::default();
    let mut names: FxHashMap<AreaCode, Option<String>> = FxHashMap::default();
    let mut rows: Vec<Population> = Vec::new();
    loop {
        let row = table.next_row()?;
        let done = row.is_none();
        if let Some(row) = row {
            summary.rows += 1;
            if let Some(m) = measure {
                let text = row.get(m);
                if !text.eq_ignore_ascii_case("count") {
                    return Err(row.error(
                        m,
                        format!("`{text}` is not a count: import only rows whose measure is Count"),
                    ));
                }
            }
            let code = match AreaCode::classify(row.required(area)?) {
                Ok(CodeVerdict::England(code)) => code,
                Ok(CodeVerdict::OutsideEngland(_)) => {
                    summary.skipped_outside_england += 1;
                    continue;
                }
                Err(e) => return Err(row.error(area, e.to_string())),
            };
            let when = Period::parse(row.required(period)?)
                .map_err(|e| row.error(period, e.to_string()))?;
            let band = age_band(row.required(age)?).ok_or_else(|| {
                row.error(
                    age,
                    format!(
                        "`{}` is not an age band: write 0-4, 85+, All ages or `Aged 5 to 9 years`",
                        row.get(age)
                    ),
                )
            })?;
            let sex_text = match sex.map(|i| row.get(i)) {
                None | Some("") => "Persons".to_owned(),
                Some(s) if s.eq_ignore_ascii_case("persons") || s.eq_ignore_ascii_case("all") => {
                    "Persons".into()
                }
                Some(s)
                    if s.eq_ignore_ascii_case("male")
                        || s.eq_ignore_ascii_case("males")
                        || s == "1" =>
                {
                    "Male".into()
                }
                Some(s)
                    if s.eq_ignore_ascii_case("female")
                        || s.eq_ignore_ascii_case("females")
                        || s == "2" =>
                {
                    "Female".into()
                }
                Some(s) => {
                    return Err(row.error(
                        sex.unwrap_or(0),
                        format!("`{s}` is not a sex: write Persons, Male or Female"),
                    ))
                }
            };
            let Some(population) = row.number(value)? else {
                return Err(row.error(value, "blank population"));
            };
            if population < 0.0 {
                return Err(row.error(value, format!("population {population} is negative")));
            }
            let key = (code, when, sex_text.clone(), band.clone());
            if let Some(first) = seen.insert(key, row.line) {
                return Err(row.error(
                    area,
                    format!(
                        "duplicate key: {code}, {when}, {sex_text}, {band} is also on line {first}"
                    ),
                ));
            }
            names.entry(code).or_insert_with(|| {
                area_name
                    .map(|i| row.get(i).to_owned())
                    .filter(|n| !n.is_empty())
            });
            rows.push(Population {
                area: code,
                period: when,
                sex: sex_text,
                age: band,
                population,
                source: source.to_owned(),
            });
            summary.values += 1;
        }
        if done || rows.len() >= 5_000 {
            let to_store = |e| ImportError::store(&file, e);
            let codes: Vec<AreaCode> = names.keys().copied().collect();
            let missing = tx.missing_areas(&codes).await.map_err(to_store)?;
            let created: Vec<Area> = missing
                .iter()
                .map(|c| Area {
                    code: *c,
                    name: names.get(c).cloned().flatten(),
                    no_known_parent: true,
                })
                .collect();
            summary.created_without_parent += created.len() as u64;
            summary.areas += created.len() as u64;
            tx.put_areas(&created).await.map_err(to_store)?;
            names.clear();
            tx.put_populations(&rows).await.map_err(to_store)?;
            rows.clear();
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
    finish(tx, &summary, "population").await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::age_band;

    #[test]
    fn age_bands_as_published() {
        assert_eq!(age_band("Aged 4 years and under").as_deref(), Some("0-4"));
        assert_eq!(age_band("Aged 5 to 9 years").as_deref(), Some("5-9"));
        assert_eq!(age_band("Aged 85 years and over").as_deref(), Some("85+"));
        assert_eq!(age_band("90+").as_deref(), Some("90+"));
        assert_eq!(age_band("10-14").as_deref(), Some("10-14"));
        assert_eq!(age_band("All ages").as_deref(), Some("All ages"));
        assert_eq!(age_band("teenagers"), None);
    }
}

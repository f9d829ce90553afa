//! Population estimates by area, sex and age band, in a long layout: ONS mid-year
//! estimates and Census 2021 tables as the open-data portals publish them
//! (`area_code, period, indicator = "Aged 5 to 9 years", measure = Count,
//! unit = Persons, value`) or the tidy layout (`area, period, sex, age_band,
//! population`).

use std::path::Path;

use rustc_hash::FxHashMap;
use syndemic_model::{AgeBand, AreaCode, CodeVerdict, Period, Sex};
use syndemic_store::{Population, Store};

use crate::lookups::{create_unknown_areas, finish, ROWS_PER_BATCH};
use crate::read::Table;
use crate::{ImportError, ImportSummary};

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
            let band = AgeBand::parse(row.required(age)?)
                .map(|b| b.to_string())
                .ok_or_else(|| {
                    row.error(
                        age,
                        format!(
                        "`{}` is not an age band: write 0-4, 85+, All ages or `Aged 5 to 9 years`",
                        row.get(age)
                    ),
                    )
                })?;
            let sex_text = match sex.map(|i| row.get(i)) {
                None => Sex::Persons,
                Some(s) => Sex::parse(s).ok_or_else(|| {
                    row.error(
                        sex.unwrap_or(0),
                        format!("`{s}` is not a sex: write Persons, Male or Female"),
                    )
                })?,
            }
            .label()
            .to_owned();
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
        if done || rows.len() >= ROWS_PER_BATCH {
            let created =
                create_unknown_areas(tx.as_mut(), &file, names.drain(), &mut summary).await?;
            summary.areas += created;
            tx.put_populations(&rows)
                .await
                .map_err(|e| ImportError::store(&file, e))?;
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

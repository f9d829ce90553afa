//! The OHID Fingertips CSV export layout: one row per indicator, area, period,
//! sex, age and category, with value, limits at 95 % and 99.8 %, count and
//! denominator. Header names vary between exports (`Area Name` / `AreaName`) and are
//! matched loosely.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use syndemic_model::{AreaCode, CodeVerdict, Period};
use syndemic_store::{Indicator, Observation, Store};

use crate::lookups::{create_unknown_areas, finish};
use crate::read::Table;
use crate::{ImportError, ImportSummary};

/// Observations held before writing: fewer than other importers' rows
/// (`ROWS_PER_BATCH`), as each observation is a wide row of values and limits.
const OBSERVATIONS_PER_BATCH: usize = 2_000;

/// Imports one Fingertips export in one transaction. Areas the store does not know
/// (say, a county abolished since) are created with their type from the code's
/// prefix and flagged as having no known parent; rows for areas outside England
/// are skipped and counted.
pub async fn import_fingertips(
    store: &dyn Store,
    path: &Path,
) -> Result<ImportSummary, ImportError> {
    let mut table = Table::open(path)?;
    let file = table.file.clone();
    let id = table.require(&["Indicator ID"], "indicator ID")?;
    let name = table.require(&["Indicator Name"], "indicator name")?;
    let area = table.require(&["Area Code"], "area code")?;
    let area_name = table.find(&["Area Name", "AreaName"]);
    let sex = table.require(&["Sex"], "sex")?;
    let age = table.require(&["Age"], "age")?;
    let category_type = table.find(&["Category Type"]);
    let category = table.find(&["Category"]);
    let period = table.require(&["Time period"], "time period")?;
    let value = table.require(&["Value"], "value")?;
    let number_columns: [Option<usize>; 6] = [
        table.find(&["Lower CI 95.0 limit"]),
        table.find(&["Upper CI 95.0 limit"]),
        table.find(&["Lower CI 99.8 limit"]),
        table.find(&["Upper CI 99.8 limit"]),
        table.find(&["Count"]),
        table.find(&["Denominator"]),
    ];
    let note = table.find(&["Value note"]);
    let compared_england = table.find(&["Compared to England value or percentiles"]);
    let compared_parent = table.find(&[
        "Compared to parent value or percentiles",
        "Compared to Region value or percentiles",
    ]);
    let trend = table.find(&["Recent Trend"]);
    let mut summary = ImportSummary {
        file: file.clone(),
        ..ImportSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&file, e))?;
    let mut indicators: FxHashSet<String> = FxHashSet::default();
    // Key → (line, the values): a real export repeats England as its own parent,
    // identically; a repeat that differs is an error.
    type Key = (String, AreaCode, Period, String, String, String, String);
    type Seen = (u64, [Option<f64>; 7], Option<String>);
    let mut keys: FxHashMap<Key, Seen> = FxHashMap::default();
    let mut rows: Vec<Observation> = Vec::new();
    let mut names: FxHashMap<AreaCode, Option<String>> = FxHashMap::default();
    let mut checked: FxHashSet<AreaCode> = FxHashSet::default();
    loop {
        let row = table.next_row()?;
        let done = row.is_none();
        if let Some(row) = row {
            summary.rows += 1;
            let indicator = row.required(id)?.to_owned();
            if indicator.is_empty() {
                return Err(row.error(id, "blank indicator ID"));
            }
            let code = match AreaCode::classify(row.required(area)?) {
                Ok(CodeVerdict::England(code)) => code,
                Ok(CodeVerdict::OutsideEngland(_)) => {
                    summary.skipped_outside_england += 1;
                    continue;
                }
                Err(e) => return Err(row.error(area, e.to_string())),
            };
            if indicators.insert(indicator.clone()) {
                let title = name_without_sex(row.get(name));
                let mut record = Indicator::named(indicator.clone(), title);
                record.source = Some("OHID Fingertips".into());
                record.licence = Some("Open Government Licence v3.0".into());
                tx.put_indicator(&record)
                    .await
                    .map_err(|e| ImportError::store(&file, e))?;
            }
            let when = Period::parse(row.required(period)?)
                .map_err(|e| row.error(period, e.to_string()))?;
            let text =
                |column: Option<usize>| column.map(|i| row.get(i).to_owned()).unwrap_or_default();
            let observation = Observation {
                indicator,
                area: code,
                period: when,
                sex: row.required(sex)?.to_owned(),
                age: row.required(age)?.to_owned(),
                category_type: text(category_type),
                category: text(category),
                value: row.number(value)?,
                lower95: number(&row, number_columns[0])?,
                upper95: number(&row, number_columns[1])?,
                lower998: number(&row, number_columns[2])?,
                upper998: number(&row, number_columns[3])?,
                count: number(&row, number_columns[4])?,
                denominator: number(&row, number_columns[5])?,
                note: note
                    .map(|i| row.get(i).to_owned())
                    .filter(|n| !n.is_empty()),
                compared_to_england: text(compared_england).into_nonempty(),
                compared_to_parent: text(compared_parent).into_nonempty(),
                recent_trend: text(trend).into_nonempty(),
            };
            for (column, what) in [
                (number_columns[4], "count"),
                (number_columns[5], "denominator"),
            ] {
                let v = if what == "count" {
                    observation.count
                } else {
                    observation.denominator
                };
                if let (Some(i), Some(v)) = (column, v.filter(|v| *v < 0.0)) {
                    return Err(
                        row.error(i, format!("{what} {v} is negative: a {what} is 0 or more"))
                    );
                }
            }
            let key = (
                observation.indicator.clone(),
                code,
                when,
                observation.sex.clone(),
                observation.age.clone(),
                observation.category_type.clone(),
                observation.category.clone(),
            );
            let numbers = [
                observation.value,
                observation.lower95,
                observation.upper95,
                observation.lower998,
                observation.upper998,
                observation.count,
                observation.denominator,
            ];
            match keys.get_mut(&key) {
                // The same numbers again: a repeat. Its note is kept if the first had
                // none (the upsert replaces the row with the one carrying the note).
                Some((_, same, note)) if *same == numbers && (*note == observation.note || observation.note.is_none() || note.is_none()) => {
                    summary.repeated += 1;
                    if note.is_some() || observation.note.is_none() {
                        continue;
                    }
                    *note = observation.note.clone();
                    rows.push(observation);
                    continue;
                }
                Some((first, _, _)) => {
                    return Err(row.error(
                        area,
                        format!(
                            "duplicate key with different values: indicator {}, area {code}, period {when}, sex {}, age {}, category {:?} is also on line {first}",
                            observation.indicator, observation.sex, observation.age, observation.category
                        ),
                    ))
                }
                None => {
                    keys.insert(key, (row.line, numbers, observation.note.clone()));
                }
            }
            if !checked.contains(&code) {
                names.insert(
                    code,
                    area_name
                        .map(|i| row.get(i).to_owned())
                        .filter(|n| !n.is_empty()),
                );
            }
            rows.push(observation);
            summary.values += 1;
        }
        if done || rows.len() >= OBSERVATIONS_PER_BATCH {
            checked.extend(names.keys().copied());
            let created =
                create_unknown_areas(tx.as_mut(), &file, names.drain(), &mut summary).await?;
            summary.areas += created;
            tx.put_observations(&rows)
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
    finish(tx, &summary, "fingertips").await?;
    Ok(summary)
}

trait NonEmpty {
    fn into_nonempty(self) -> Option<String>;
}

impl NonEmpty for String {
    fn into_nonempty(self) -> Option<String> {
        (!self.is_empty()).then_some(self)
    }
}

fn number(row: &crate::read::Row<'_>, column: Option<usize>) -> Result<Option<f64>, ImportError> {
    match column {
        Some(i) => row.number(i),
        None => Ok(None),
    }
}

/// An indicator's name without the sex Fingertips writes into it for a one-sex
/// export (`Life expectancy at birth (Female, 1 year range)` → `Life expectancy at
/// birth (1 year range)`; `Healthy life expectancy at birth (Male)` → `Healthy life
/// expectancy at birth`): sex is a column of the observations, and one indicator
/// has one name whichever sex's file came last.
pub(crate) fn name_without_sex(name: &str) -> String {
    let name = name.trim();
    let is_sex = |w: &str| {
        matches!(
            w.trim().to_ascii_lowercase().as_str(),
            "male" | "males" | "female" | "females" | "persons"
        )
    };
    let Some(open) = name.rfind('(') else {
        return name.to_owned();
    };
    let Some(inner) = name[open + 1..].strip_suffix(')') else {
        return name.to_owned();
    };
    let kept: Vec<&str> = inner
        .split(',')
        .filter(|w| !is_sex(w))
        .map(str::trim)
        .collect();
    if kept.len() == inner.split(',').count() {
        return name.to_owned();
    }
    let head = name[..open].trim_end();
    if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head} ({})", kept.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::name_without_sex;

    #[test]
    fn the_sex_leaves_the_name() {
        for (given, kept) in [
            (
                "A01b - Life expectancy at birth (Female, 1 year range)",
                "A01b - Life expectancy at birth (1 year range)",
            ),
            (
                "A01a - Healthy life expectancy at birth (Male)",
                "A01a - Healthy life expectancy at birth",
            ),
            (
                "Under 75 mortality rate for deaths due to COVID-19 (Persons)",
                "Under 75 mortality rate for deaths due to COVID-19",
            ),
            (
                "CHD: QOF prevalence (all ages)",
                "CHD: QOF prevalence (all ages)",
            ),
            (
                "Smoking prevalence in adults (15+) - current smokers (QOF)",
                "Smoking prevalence in adults (15+) - current smokers (QOF)",
            ),
            ("Deaths (1 year range, Males)", "Deaths (1 year range)"),
        ] {
            assert_eq!(name_without_sex(given), kept);
        }
    }
}

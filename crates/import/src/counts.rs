//! Counts partners hold themselves (deaths, admissions, people vaccinated), in the
//! tidy long layout, CSV or Parquet:
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `area` (or `area_code`) | yes | a GSS code of an area in England, usually an LSOA |
//! | `period` | yes | a period as published: `2019`, `2019/20`, `2017 - 19`, `2019 Q1`, … |
//! | `sex` | no | `Persons`, `Male` or `Female` (default `Persons`) |
//! | `age_band` | no | e.g. `0-4`, `90+` (default `All ages`) |
//! | `numerator` (or `count`) | yes | the events, 0 or more |
//! | `denominator` (or `population`) | no | the people at risk, 0 or more |
//!
//! One row per area, period, sex and age band: a repeat is an error.

use std::path::Path;

use rustc_hash::FxHashSet;
use syndemic_model::{AgeBand, AreaCode, CodeVerdict, Period, Sex};
use syndemic_store::{CountRow, Store};

use crate::lookups::{create_unknown_areas, finish, ROWS_PER_BATCH};
use crate::read::{Row, Table};
use crate::{ImportError, ImportSummary};

/// Imports one counts file (CSV, gzip CSV or Parquet) as `dataset`, replacing
/// rows of the same key, in one transaction.
pub async fn import_counts(
    store: &dyn Store,
    path: &Path,
    dataset: &str,
) -> Result<ImportSummary, ImportError> {
    let label = path.display().to_string();
    if dataset.trim().is_empty() {
        return Err(ImportError::file(
            &label,
            "a counts import needs a dataset name (--dataset)",
        ));
    }
    // Parquet is converted batch by batch to CSV text in a temporary file, so that
    // the same reader streams it and reports lines (data row n is line n + 1) and
    // columns.
    let converted;
    let csv_path: &Path = if label.to_ascii_lowercase().ends_with(".parquet") {
        converted = tempfile::NamedTempFile::new()
            .map_err(|e| ImportError::file(&label, format!("cannot make a temporary file: {e}")))?;
        let out = std::io::BufWriter::new(converted.as_file());
        let mut out = syndemic_parquet::parquet_to_csv_into(path, out)
            .map_err(|e| ImportError::file(&label, format!("cannot read the Parquet file: {e}")))?;
        std::io::Write::flush(&mut out).map_err(|e| {
            ImportError::file(&label, format!("cannot write a temporary file: {e}"))
        })?;
        converted.path()
    } else {
        path
    };
    let mut table = Table::open(csv_path)?;
    table.file = label.clone();
    let cols = KeyColumns::of(&table)?;
    let area = cols.area;
    let numerator = table.require(&["numerator", "count", "events", "deaths"], "numerator")?;
    let denominator = table.find(&["denominator", "population"]);
    let mut summary = ImportSummary {
        file: label.clone(),
        ..ImportSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&label, e))?;
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    let mut checked: FxHashSet<AreaCode> = FxHashSet::default();
    let mut pending: Vec<AreaCode> = Vec::new();
    let mut rows: Vec<CountRow> = Vec::new();
    loop {
        let row = table.next_row()?;
        let done = row.is_none();
        if let Some(row) = row {
            summary.rows += 1;
            let Some((code, when, sex_text, band)) = key_of(&row, &cols)? else {
                summary.skipped_outside_england += 1;
                continue;
            };
            let Some(events) = row.number(numerator)? else {
                return Err(row.error(
                    numerator,
                    "blank count: every row needs its number of events (0 if none)",
                ));
            };
            if events < 0.0 {
                return Err(row.error(numerator, format!("count {events} is negative")));
            }
            let people = match denominator {
                Some(i) => row.number(i)?,
                None => None,
            };
            if let Some(p) = people.filter(|p| *p < 0.0) {
                return Err(row.error(
                    denominator.unwrap_or(0),
                    format!("denominator {p} is negative"),
                ));
            }
            // A fingerprint of the key, not the key: 8 bytes a row instead of ~200.
            // A fingerprint met before is checked against the file's earlier rows,
            // so a collision is never taken for a repeat.
            let key = (code, when, sex_text, band);
            if !seen.insert(fingerprint(&key)) {
                if let Some(first) = first_line_with(csv_path, &label, &cols, &key, row.line)? {
                    let (code, when, sex_text, band) = &key;
                    return Err(row.error(
                        area,
                        format!(
                            "duplicate key: {code}, {when}, {sex_text}, {band} is also on line {first}"
                        ),
                    ));
                }
            }
            let (code, when, sex_text, band) = key;
            if checked.insert(code) {
                pending.push(code);
            }
            rows.push(CountRow {
                dataset: dataset.to_owned(),
                area: code,
                period: when,
                sex: sex_text.to_owned(),
                age_band: band,
                numerator: events,
                denominator: people,
            });
            summary.values += 1;
        }
        if done || rows.len() >= ROWS_PER_BATCH {
            let met = pending.drain(..).map(|code| (code, None));
            let created = create_unknown_areas(tx.as_mut(), &label, met, &mut summary).await?;
            summary.areas += created;
            tx.put_counts(&rows)
                .await
                .map_err(|e| ImportError::store(&label, e))?;
            rows.clear();
        }
        if done {
            break;
        }
    }
    if summary.rows == 0 {
        return Err(ImportError::file(
            &label,
            "the file has a header but no data rows",
        ));
    }
    finish(tx, &summary, "counts").await?;
    Ok(summary)
}

/// The columns of a row's key.
struct KeyColumns {
    area: usize,
    period: usize,
    sex: Option<usize>,
    age: Option<usize>,
}

impl KeyColumns {
    fn of(table: &Table) -> Result<KeyColumns, ImportError> {
        Ok(KeyColumns {
            area: table.require(
                &["area", "area_code", "Area Code", "lsoa11cd", "lsoa21cd"],
                "area",
            )?,
            period: table.require(&["period", "year", "Time period"], "period")?,
            sex: table.find(&["sex"]),
            age: table.find(&["age_band", "age"]),
        })
    }
}

type Key = (AreaCode, Period, &'static str, String);

/// A row's key (area, period, sex, age band), or `None` for an area outside England.
fn key_of(row: &Row<'_>, cols: &KeyColumns) -> Result<Option<Key>, ImportError> {
    let (area, period, sex, age) = (cols.area, cols.period, cols.sex, cols.age);
    let code = match AreaCode::classify(row.required(area)?) {
        Ok(CodeVerdict::England(code)) => code,
        Ok(CodeVerdict::OutsideEngland(_)) => return Ok(None),
        Err(e) => return Err(row.error(area, e.to_string())),
    };
    let when =
        Period::parse(row.required(period)?).map_err(|e| row.error(period, e.to_string()))?;
    let sex_text = match sex {
        Some(i) => Sex::parse(row.get(i)).map(Sex::label).ok_or_else(|| {
            row.error(
                i,
                format!(
                    "`{}` is not a sex: write Persons, Male or Female",
                    row.get(i)
                ),
            )
        })?,
        None => "Persons",
    };
    let band = match age {
        Some(i) => {
            let text = row.get(i);
            if text.is_empty() {
                "All ages".to_owned()
            } else {
                AgeBand::parse(text).map(|b| b.to_string()).ok_or_else(|| {
                    row.error(
                        i,
                        format!("`{text}` is not an age band: write 0-4, 90+ or All ages"),
                    )
                })?
            }
        }
        None => "All ages".to_owned(),
    };
    Ok(Some((code, when, sex_text, band)))
}

fn fingerprint(key: &Key) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key)
}

/// The line of the first row before `before` whose key is `key`, read again from
/// the file (only when a fingerprint repeats).
fn first_line_with(
    path: &Path,
    label: &str,
    cols: &KeyColumns,
    key: &Key,
    before: u64,
) -> Result<Option<u64>, ImportError> {
    let mut table = Table::open(path)?;
    table.file = label.to_owned();
    while let Some(row) = table.next_row()? {
        if row.line >= before {
            break;
        }
        if key_of(&row, cols)?.as_ref() == Some(key) {
            return Ok(Some(row.line));
        }
    }
    Ok(None)
}

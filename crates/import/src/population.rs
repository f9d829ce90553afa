//! Population estimates by area, sex and age band, in a long layout: ONS mid-year
//! estimates and Census 2021 tables as the open-data portals publish them
//! (`area_code, period, indicator = "Aged 5 to 9 years", measure = Count,
//! unit = Persons, value`, or with `age = "Aged 7 years"` and `sex` columns, a row
//! per single year, summed into bands as below) or the tidy layout (`area, period,
//! sex, age_band, population`); or a wide layout of single years of age, one column a year, as
//! the ONS small-area mid-year estimates (`0`, `1`, … `90+`, a row per sex) and
//! Nomis' Census bulk tables (`Age: Aged under 1 year; measures: Value` … `Age:
//! Aged 100 years and over`) publish them, summed into the five-year bands of the
//! European Standard Population (`0-4` … `85-89`, `90+`).

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
    if let Some(years) = single_years(&table)? {
        return import_wide(store, table, years, source).await;
    }
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
    let mut seen: FxHashMap<(AreaCode, Period, &'static str, String), u64> = FxHashMap::default();
    let mut names: FxHashMap<AreaCode, Option<String>> = FxHashMap::default();
    let mut rows: Vec<Population> = Vec::new();
    let mut singles: FxHashMap<(AreaCode, Period, &'static str), Singles> = FxHashMap::default();
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
            let parsed = AgeBand::parse(row.required(age)?).ok_or_else(|| {
                row.error(
                    age,
                    format!(
                        "`{}` is not an age band: write 0-4, 85+, All ages or `Aged 5 to 9 years`",
                        row.get(age)
                    ),
                )
            })?;
            let band = parsed.to_string();
            let sex_text = match sex.map(|i| row.get(i)) {
                None => Sex::Persons,
                Some(s) => Sex::parse(s).ok_or_else(|| {
                    row.error(
                        sex.unwrap_or(0),
                        format!("`{s}` is not a sex: write Persons, Male or Female"),
                    )
                })?,
            }
            .label();
            let Some(population) = row.number(value)? else {
                return Err(row.error(value, "blank population"));
            };
            if population < 0.0 {
                return Err(row.error(value, format!("population {population} is negative")));
            }
            let key = (code, when, sex_text, band.clone());
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
            // Single years and open-ended tops wait to be summed into bands.
            match parsed {
                AgeBand::Range { from, to } if from == to => {
                    singles
                        .entry((code, when, sex_text))
                        .or_default()
                        .years
                        .insert(from, population);
                    continue;
                }
                AgeBand::AndOver { from } => {
                    singles
                        .entry((code, when, sex_text))
                        .or_default()
                        .tops
                        .push((from, population, row.line));
                    continue;
                }
                _ => {}
            }
            rows.push(Population {
                area: code,
                period: when,
                sex: sex_text.to_owned(),
                age: band,
                population,
                source: source.to_owned(),
            });
            summary.values += 1;
        }
        if done {
            for ((code, when, sex_text), group) in std::mem::take(&mut singles) {
                for (band, population) in group.bands(&file)? {
                    let Some(population) = population else {
                        summary.incomplete += 1;
                        continue;
                    };
                    rows.push(Population {
                        area: code,
                        period: when,
                        sex: sex_text.to_owned(),
                        age: band,
                        population,
                        source: source.to_owned(),
                    });
                    summary.values += 1;
                }
            }
        }
        if done || rows.len() >= ROWS_PER_BATCH {
            write_batch(tx.as_mut(), &file, &mut names, &mut rows, &mut summary).await?;
        }
        if done {
            break;
        }
    }
    commit(tx, summary).await
}

/// One area's, period's and sex's rows of single years of age (`Aged 7 years`)
/// and open-ended tops (`Aged 90 years and over`) in a long table.
#[derive(Default)]
struct Singles {
    years: FxHashMap<u16, f64>,
    /// (first year, population, line).
    tops: Vec<(u16, f64, u64)>,
}

impl Singles {
    /// The ESP2013 bands: single years summed into `0-4` … `85-89` and the top
    /// (`90+`, holding the open-ended row), each `None` where a year it sums is not
    /// in the file (a table cut short). A group of open-ended rows alone (`85+`
    /// in a table of five-year bands) is those bands as they are. Other open-ended
    /// rows below the top (Nomis' `85 and over` beside `100 and over`) are bands
    /// of their own.
    fn bands(self, file: &str) -> Result<Vec<(String, Option<f64>)>, ImportError> {
        let mut tops = self.tops;
        tops.sort_by_key(|t| t.0);
        if self.years.is_empty() {
            return Ok(tops
                .into_iter()
                .map(|(from, n, _)| (AgeBand::AndOver { from }.to_string(), Some(n)))
                .collect());
        }
        let top = tops.pop();
        let mut out: Vec<(String, Option<f64>)> = tops
            .into_iter()
            .map(|(from, n, _)| (AgeBand::AndOver { from }.to_string(), Some(n)))
            .collect();
        // Without an open-ended row, the oldest band cannot be complete.
        let top_year = top.map_or(90, |t| u32::from(t.0));
        if let Some((from, _, line)) = top {
            if from < 90 && from % 5 != 0 {
                return Err(ImportError::file(
                    file,
                    format!("line {line}: the open-ended top age {from}+ is not the start of a five-year band: a table of single years of age needs an open-ended top of 90+ (or 85+, 80+, …)"),
                ));
            }
            if let Some(y) = self.years.keys().find(|y| **y >= from) {
                return Err(ImportError::file(
                    file,
                    format!("line {line}: age {y} is also in the open-ended top {from}+: a table of single years of age counts each age once"),
                ));
            }
        }
        let mut bands: Vec<(String, Option<f64>)> = Vec::new();
        for year in 0..top_year {
            let n = self.years.get(&(year as u16)).copied();
            let band = band_of(year, top_year);
            match bands.last_mut() {
                Some((b, total)) if *b == band => *total = total.zip(n).map(|(a, b)| a + b),
                _ => bands.push((band, n)),
            }
        }
        let top_band = band_of(top_year, top_year);
        let n = top.map(|t| t.1);
        match bands.last_mut() {
            Some((b, total)) if *b == top_band => *total = total.zip(n).map(|(a, b)| a + b),
            _ => bands.push((top_band, n)),
        }
        out.extend(bands);
        Ok(out)
    }
}

/// Commits a population import that read rows; a file of a header alone is an
/// error and leaves nothing.
async fn commit(
    tx: Box<dyn syndemic_store::StoreTx>,
    summary: ImportSummary,
) -> Result<ImportSummary, ImportError> {
    if summary.rows == 0 {
        return Err(ImportError::file(
            &summary.file,
            "the file has a header but no data rows",
        ));
    }
    finish(tx, &summary, "population").await?;
    Ok(summary)
}

/// Writes a batch of populations in the import's transaction, creating the areas
/// met for the first time.
async fn write_batch(
    tx: &mut dyn syndemic_store::StoreTx,
    file: &str,
    names: &mut FxHashMap<AreaCode, Option<String>>,
    rows: &mut Vec<Population>,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    let created = create_unknown_areas(tx, file, names.drain(), summary).await?;
    summary.areas += created;
    tx.put_populations(rows)
        .await
        .map_err(|e| ImportError::store(file, e))?;
    rows.clear();
    Ok(())
}

/// A header naming one year of age (`0`, `Aged 1 year`, `Age: Aged 7 years;
/// measures: Value`) or an open-ended top (`90+`, `Aged 100 years and over`): the
/// year, and whether it is open-ended. Bands (`Aged 5 to 9 years`, `aged_0_to_15`)
/// and totals are none.
fn single_year(header: &str) -> Option<(u32, bool)> {
    let h = header.trim();
    let h = h.strip_prefix("Age: ").unwrap_or(h);
    let h = h.split(';').next().unwrap_or(h).trim().to_ascii_lowercase();
    // `Aged 90+` as well as `90+`.
    let h = match h.strip_prefix("aged ") {
        Some(rest) if rest.ends_with('+') => rest.to_owned(),
        _ => h,
    };
    if let Some(n) = h.strip_suffix('+') {
        return n.trim().parse().ok().map(|n| (n, true));
    }
    if let Ok(n) = h.parse::<u32>() {
        return Some((n, false));
    }
    if h == "aged under 1 year" {
        return Some((0, false));
    }
    let rest = h.strip_prefix("aged ")?;
    if let Some(n) = rest.strip_suffix(" years and over") {
        return n.parse().ok().map(|n| (n, true));
    }
    let n = rest
        .strip_suffix(" years")
        .or_else(|| rest.strip_suffix(" year"))?;
    n.parse().ok().map(|n| (n, false))
}

/// A column of single years: its index, the year, whether it is open-ended.
type YearColumn = (usize, u32, bool);

/// The single-year columns of a wide table, by year (`None` for a long table):
/// every year from 0 to an open-ended top, each once, else an error naming what
/// is missing.
fn single_years(table: &Table) -> Result<Option<Vec<YearColumn>>, ImportError> {
    let mut years: Vec<YearColumn> = table
        .headers()
        .iter()
        .enumerate()
        .filter_map(|(i, h)| single_year(h).map(|(y, open)| (i, y, open)))
        .collect();
    if years.len() < 20 {
        return Ok(None);
    }
    // Nomis' bulk tables put totals of open-ended groups (`Aged 85 years and
    // over`) beside the single years they sum: only the highest is the top.
    let top_open = years.iter().filter(|y| y.2).map(|y| y.1).max();
    years.retain(|&(_, y, open)| !open || Some(y) == top_open);
    years.sort_by_key(|&(_, y, _)| y);
    // The ONS's older small-area estimates head their last column `90` for 90 and
    // over.
    if let Some(last) = years.last_mut().filter(|l| l.1 == 90 && top_open.is_none()) {
        last.2 = true;
    }
    let fail = |problem: String| {
        Err(ImportError::file(
            &table.file,
            format!("{problem}: a table of single years of age needs a column for every year from 0 and an open-ended top (90+)"),
        ))
    };
    for (k, &(i, y, open)) in years.iter().enumerate() {
        if y != k as u32 {
            return fail(format!(
                "column `{}` is age {y} where age {k} was expected",
                table.headers()[i]
            ));
        }
        if open != (k + 1 == years.len()) {
            return fail(format!(
                "column `{}` is {}",
                table.headers()[i],
                if open {
                    "open-ended but not the last age"
                } else {
                    "the last age but not open-ended (write it as 90+)"
                }
            ));
        }
    }
    let top = years.last().map_or(0, |y| y.1);
    if top < 90 && top % 5 != 0 {
        return fail(format!(
            "the open-ended top age {top}+ is not the start of a five-year band"
        ));
    }
    Ok(Some(years))
}

/// The ESP2013 band of a single year of age, under an open-ended top of `top`+:
/// `0-4` … `85-89`, then `90+` (or the top's own band where it is lower).
fn band_of(year: u32, top: u32) -> String {
    let last = top.min(90);
    if year >= last {
        format!("{last}+")
    } else {
        let start = year / 5 * 5;
        format!("{start}-{}", start + 4)
    }
}

/// A wide table of single years, summed into five-year bands, one transaction.
async fn import_wide(
    store: &dyn Store,
    mut table: Table,
    years: Vec<YearColumn>,
    source: &str,
) -> Result<ImportSummary, ImportError> {
    let file = table.file.clone();
    let area = table.require(
        &[
            "area_code",
            "geography code",
            "Area Code",
            "LSOA21CD",
            "LSOA11CD",
            "area",
            "code",
        ],
        "area code",
    )?;
    let area_name = table.find(&["area_name", "geography", "Area Name", "name"]);
    let period = table.require(&["period", "date", "year", "Time period"], "period")?;
    let sex = table.find(&["sex", "gender"]);
    let top = years.last().map_or(90, |y| y.1);
    let mut summary = ImportSummary {
        file: file.clone(),
        ..ImportSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&file, e))?;
    let mut seen: FxHashMap<(AreaCode, Period, &'static str), u64> = FxHashMap::default();
    let mut names: FxHashMap<AreaCode, Option<String>> = FxHashMap::default();
    let mut rows: Vec<Population> = Vec::new();
    loop {
        let row = table.next_row()?;
        let done = row.is_none();
        if let Some(row) = row {
            summary.rows += 1;
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
            let sex_label = match sex.map(|i| (i, row.get(i))) {
                None => Sex::Persons,
                Some((i, s)) => Sex::parse(s).ok_or_else(|| {
                    row.error(
                        i,
                        format!("`{s}` is not a sex: write Persons, Males or Females"),
                    )
                })?,
            }
            .label();
            if let Some(first) = seen.insert((code, when, sex_label), row.line) {
                return Err(row.error(
                    area,
                    format!("duplicate key: {code}, {when}, {sex_label} is also on line {first}"),
                ));
            }
            // A band with a year not available (`NA`, as a table cut short by
            // Nomis' cell cap writes it) is left out and counted, never guessed.
            let mut bands: Vec<(String, Option<f64>)> = Vec::new();
            for &(i, year, _) in &years {
                let n = if row.get(i).trim().eq_ignore_ascii_case("NA") {
                    None
                } else {
                    let Some(n) = row.number(i)? else {
                        return Err(row.error(
                            i,
                            format!("blank population at age {year}: give a number, or NA where it is not available"),
                        ));
                    };
                    if n < 0.0 {
                        return Err(row.error(i, format!("population {n} is negative")));
                    }
                    Some(n)
                };
                let band = band_of(year, top);
                match bands.last_mut() {
                    Some((b, total)) if *b == band => *total = total.zip(n).map(|(a, b)| a + b),
                    _ => bands.push((band, n)),
                }
            }
            names.entry(code).or_insert_with(|| {
                area_name
                    .map(|i| row.get(i).to_owned())
                    .filter(|n| !n.is_empty())
            });
            for (band, population) in bands {
                let Some(population) = population else {
                    summary.incomplete += 1;
                    continue;
                };
                rows.push(Population {
                    area: code,
                    period: when,
                    sex: sex_label.to_owned(),
                    age: band,
                    population,
                    source: source.to_owned(),
                });
                summary.values += 1;
            }
        }
        if done || rows.len() >= ROWS_PER_BATCH {
            write_batch(tx.as_mut(), &file, &mut names, &mut rows, &mut summary).await?;
        }
        if done {
            break;
        }
    }
    commit(tx, summary).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_years_as_published() {
        assert_eq!(single_year("0"), Some((0, false)));
        assert_eq!(single_year("90+"), Some((90, true)));
        assert_eq!(single_year("Aged 90+"), Some((90, true)));
        assert_eq!(
            single_year("Age: Aged under 1 year; measures: Value"),
            Some((0, false))
        );
        assert_eq!(
            single_year("Age: Aged 1 year; measures: Value"),
            Some((1, false))
        );
        assert_eq!(
            single_year("Age: Aged 57 years; measures: Value"),
            Some((57, false))
        );
        assert_eq!(
            single_year("Age: Aged 100 years and over; measures: Value"),
            Some((100, true))
        );
        for band in [
            "Age: Aged 5 to 9 years; measures: Value",
            "Age: Aged 4 years and under; measures: Value",
            "Age: Total; measures: Value",
            "aged_0_to_15",
            "all_ages",
            "period",
        ] {
            assert_eq!(single_year(band), None, "{band}");
        }
    }

    #[test]
    fn single_years_fall_in_the_standard_bands() {
        assert_eq!(band_of(0, 90), "0-4");
        assert_eq!(band_of(4, 90), "0-4");
        assert_eq!(band_of(89, 90), "85-89");
        assert_eq!(band_of(90, 90), "90+");
        assert_eq!(band_of(95, 100), "90+");
        assert_eq!(band_of(100, 100), "90+");
        assert_eq!(band_of(87, 85), "85+");
    }
}

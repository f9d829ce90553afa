//! Indicator metadata: what each indicator measures, in what unit, from what
//! source, which way is better, and how its intervals and years are reckoned.
//!
//! Two layouts: the Fingertips API's indicator metadata JSON as served (an object
//! keyed by indicator id, or a list, of `{IID, Descriptive: {Name, DataSource,
//! Definition}, Unit: {Label, Value}, ValueType: {Name}, YearType: {Name},
//! ConfidenceIntervalMethod: {Name}, Polarity?}`), and a table a person writes (CSV
//! or the first sheet of a workbook, read by the caller) with loose headers: an id
//! column and any of name, definition, unit, value type, polarity, domain, source,
//! confidence interval method, year type, disclosure. The metadata lands whole or
//! not at all (one transaction); the comparisons with England that a polarity
//! brings are then redone indicator by indicator, each in its own transaction. Only
//! what a file gives is changed: a blank cell keeps what the store has.

use std::path::Path;

use serde_json::Value;
use syndemic_store::{Disclosure, Indicator, Polarity, Store};

use crate::read::normalise;
use crate::ImportError;

/// What a metadata import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataSummary {
    /// Indicators described by the file.
    pub described: u64,
    /// Of those, indicators the store holds, whose metadata was written.
    pub updated: u64,
    /// Described but not in the store (kept only with `all`).
    pub not_in_store: u64,
    /// Written though not in the store (with `all`).
    pub added: u64,
    /// Values newly compared with England now that their polarity is known.
    pub judged: u64,
}

/// Reads a polarity as people and Fingertips write it: `higher is better`, `High is
/// good`, `RAG - High is good`, `lower-is-better`, `RAG - Low is good`, `no
/// judgement`, `BOB`, `Not applicable`.
pub fn read_polarity(text: &str) -> Option<Polarity> {
    let t: String = text
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .collect();
    let t = t.strip_prefix("rag").unwrap_or(&t);
    match t {
        "higherisbetter" | "highisgood" | "higherisgood" | "highisbetter" | "high" => {
            Some(Polarity::HigherIsBetter)
        }
        "lowerisbetter" | "lowisgood" | "lowerisgood" | "lowisbetter" | "low" => {
            Some(Polarity::LowerIsBetter)
        }
        "nojudgement" | "nojudgment" | "bob" | "bobblueorangeblue" | "notapplicable" | "none" => {
            Some(Polarity::NoJudgement)
        }
        _ => None,
    }
}

/// `per 100,000` → 100000, `%` → 100: the multiplier a unit label implies.
fn multiplier_of(unit: &str, value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v > 0.0).or_else(|| {
        let digits: String = unit
            .strip_prefix("per ")?
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// One indicator's metadata from a Fingertips API record.
fn from_fingertips(file: &str, key: &str, record: &Value) -> Result<Indicator, ImportError> {
    let id = match record.get("IID") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ if !key.is_empty() => key.to_owned(),
        _ => return Err(ImportError::file(
            file,
            "a record has no IID (indicator id): expected the Fingertips API's indicator metadata",
        )),
    };
    let descriptive = record.get("Descriptive");
    let field = |name: &str| text(descriptive.and_then(|d| d.get(name)));
    let name = field("Name").or_else(|| field("NameLong")).ok_or_else(|| {
        ImportError::file(
            file,
            format!("indicator {id}: no Descriptive.Name; every indicator needs a name"),
        )
    })?;
    let named = |outer: &str, inner: &str| text(record.get(outer).and_then(|o| o.get(inner)));
    let unit = named("Unit", "Label");
    let mut indicator = Indicator::named(id, crate::fingertips::name_without_sex(&name));
    indicator.definition = field("Definition");
    indicator.source = field("DataSource").map(|s| format!("{s} (OHID Fingertips)"));
    indicator.multiplier = unit.as_deref().and_then(|u| {
        multiplier_of(
            u,
            record
                .get("Unit")
                .and_then(|o| o.get("Value"))
                .and_then(Value::as_f64),
        )
    });
    indicator.unit = unit;
    indicator.value_type = named("ValueType", "Name");
    indicator.year_type = named("YearType", "Name");
    indicator.ci_method = named("ConfidenceIntervalMethod", "Name");
    indicator.polarity = named("Polarity", "Name")
        .or_else(|| text(record.get("Polarity")))
        .and_then(|p| read_polarity(&p));
    Ok(indicator)
}

/// Reads the Fingertips API's indicator metadata JSON (an object keyed by id, or a
/// list of records).
pub fn read_fingertips_metadata(path: &Path) -> Result<Vec<Indicator>, ImportError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| ImportError::file(&file, format!("cannot read the file: {e}")))?;
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ImportError::at(
            &file,
            e.line() as u64,
            None,
            format!("not readable as JSON: {e}; expected the Fingertips API's indicator metadata"),
        )
    })?;
    let records: Vec<(String, &Value)> = match &json {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(list) => list.iter().map(|v| (String::new(), v)).collect(),
        _ => {
            return Err(ImportError::file(
                &file,
                "expected an object of indicator records keyed by id, or a list of them",
            ))
        }
    };
    records
        .into_iter()
        .map(|(key, record)| from_fingertips(&file, &key, record))
        .collect()
}

/// Reads a metadata table a person wrote: `header` and `rows` of a CSV or a
/// worksheet whose header is on line `header_line`.
pub fn read_metadata_table(
    file: &str,
    header_line: u64,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<Vec<Indicator>, ImportError> {
    let find = |names: &[&str]| {
        let wanted: Vec<String> = names.iter().map(|n| normalise(n)).collect();
        header.iter().position(|h| wanted.contains(&normalise(h)))
    };
    let id = find(&["id", "indicator id", "indicator", "iid", "indicator_id"]).ok_or_else(|| {
        ImportError::file(
            file,
            format!(
                "no indicator id column: expected a header named `id` or `Indicator ID` (found: {})",
                header.join(", ")
            ),
        )
    })?;
    let columns = [
        find(&["name", "indicator name", "title"]),
        find(&["definition", "description"]),
        find(&["unit", "units"]),
        find(&["value type", "valuetype", "measure"]),
        find(&["polarity", "direction"]),
        find(&["domain", "objective", "marmot objective", "theme"]),
        find(&["source", "data source"]),
        find(&[
            "ci method",
            "confidence interval method",
            "confidence intervals",
        ]),
        find(&["year type", "yeartype"]),
        find(&["disclosure", "disclosure rule", "small numbers"]),
        find(&["multiplier"]),
    ];
    if columns.iter().all(Option::is_none) {
        return Err(ImportError::file(
            file,
            format!(
                "no metadata columns beside the id: give any of name, definition, unit, value type, polarity, domain, source, ci method, year type, disclosure, multiplier (found: {})",
                header.join(", ")
            ),
        ));
    }
    let [name, definition, unit, value_type, polarity, domain, source, ci, year, disclosure, multiplier] =
        columns;
    let mut out: Vec<Indicator> = Vec::new();
    let mut seen: rustc_hash::FxHashMap<String, u64> = Default::default();
    for (i, row) in rows.iter().enumerate() {
        let line = header_line + 1 + i as u64;
        let cell = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let at = |c: usize, problem: String| {
            ImportError::at(file, line, header.get(c).map(String::as_str), problem)
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(key) = cell(Some(id)) else {
            return Err(at(id, "blank indicator id".into()));
        };
        if let Some(first) = seen.insert(key.to_owned(), line) {
            return Err(at(
                id,
                format!("indicator {key} is described twice (lines {first} and {line}); keep one row per indicator"),
            ));
        }
        let mut indicator = Indicator::named(key, cell(name).unwrap_or_default());
        indicator.definition = cell(definition).map(str::to_owned);
        indicator.unit = cell(unit).map(str::to_owned);
        indicator.value_type = cell(value_type).map(str::to_owned);
        indicator.domain = cell(domain).map(str::to_owned);
        indicator.source = cell(source).map(str::to_owned);
        indicator.ci_method = cell(ci).map(str::to_owned);
        indicator.year_type = cell(year).map(str::to_owned);
        if let (Some(c), Some(p)) = (polarity, cell(polarity)) {
            indicator.polarity = Some(read_polarity(p).ok_or_else(|| {
                at(
                    c,
                    format!("`{p}` is not a polarity: write higher is better, lower is better or no judgement"),
                )
            })?);
        }
        if let (Some(c), Some(d)) = (disclosure, cell(disclosure)) {
            indicator.disclosure = Some(Disclosure::parse(d).map_err(|e| at(c, e))?);
        }
        if let (Some(c), Some(m)) = (multiplier, cell(multiplier)) {
            let value = m
                .replace(',', "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0);
            indicator.multiplier =
                Some(value.ok_or_else(|| {
                    at(c, format!("the multiplier `{m}` is not a number above 0"))
                })?);
        }
        out.push(indicator);
    }
    if out.is_empty() {
        return Err(ImportError::file(
            file,
            "no rows under the header: nothing to import",
        ));
    }
    Ok(out)
}

/// Writes `described` into the store in one transaction: each indicator the store
/// holds gets every field the file gives (its name only when the file gives one),
/// and, where the file gives its polarity, its values are compared with England's
/// ([`judge_against_england`], a transaction per indicator after the first);
/// an indicator the store does not hold is added only with `all` (a catalogue of
/// 1,587 Fingertips indicators would otherwise fill every list with empty ones).
pub async fn import_indicator_metadata(
    store: &dyn Store,
    file: &str,
    described: Vec<Indicator>,
    all: bool,
) -> Result<MetadataSummary, ImportError> {
    let held: rustc_hash::FxHashMap<String, Indicator> = store
        .indicators()
        .await
        .map_err(|e| ImportError::store(file, e))?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let mut summary = MetadataSummary {
        described: described.len() as u64,
        ..MetadataSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(file, e))?;
    let mut with_polarity: Vec<String> = Vec::new();
    for mut indicator in described {
        match held.get(&indicator.id) {
            Some(current) => {
                if indicator.name.is_empty() {
                    indicator.name = current.name.clone();
                }
                summary.updated += 1;
            }
            None if all && !indicator.name.is_empty() => summary.added += 1,
            None => {
                summary.not_in_store += 1;
                continue;
            }
        }
        tx.put_indicator(&indicator)
            .await
            .map_err(|e| ImportError::store(file, e))?;
        if indicator.polarity.is_some() && held.contains_key(&indicator.id) {
            with_polarity.push(indicator.id.clone());
        }
    }
    tx.commit().await.map_err(|e| ImportError::store(file, e))?;
    for id in with_polarity {
        if let Some(indicator) = store
            .indicator(&id)
            .await
            .map_err(|e| ImportError::store(file, e))?
        {
            summary.judged += judge_against_england(store, &indicator).await?;
        }
    }
    Ok(summary)
}

/// Compares each value of `indicator` with England's value of the same period, sex
/// and age, from its 95 % limits and the indicator's polarity, where the store has
/// no published comparison (blank, or one of our own bare wordings from an earlier
/// polarity): a Fingertips export leaves the column blank for indicators it
/// compares with a goal, and a polarity set afterwards must reach the pages.
/// Fingertips' own wordings (`Worse 95%`) are kept. Returns how many changed.
pub async fn judge_against_england(
    store: &dyn Store,
    indicator: &Indicator,
) -> Result<u64, ImportError> {
    use syndemic_stats::compare::{compare, Comparison};
    let file = format!("indicator {}", indicator.id);
    let fail = |e| ImportError::store(&file, e);
    let polarity = indicator.polarity.unwrap_or(Polarity::NoJudgement);
    let mut rows = store
        .observations(Some(&indicator.id))
        .await
        .map_err(fail)?;
    let england: rustc_hash::FxHashMap<(syndemic_model::Period, String, String), f64> = rows
        .iter()
        .filter(|o| o.area.as_str() == "E92000001" && o.category.is_empty())
        .filter_map(|o| Some(((o.period, o.sex.clone(), o.age.clone()), o.value?)))
        .collect();
    let ours = |text: &str| {
        text.is_empty() || Comparison::from_wording(text).is_some_and(|c| c.wording() == text)
    };
    let mut changed = 0;
    for o in rows.iter_mut().filter(|o| o.area.as_str() != "E92000001") {
        if !ours(o.compared_to_england.as_deref().unwrap_or("")) {
            continue;
        }
        let Some(&benchmark) = england.get(&(o.period, o.sex.clone(), o.age.clone())) else {
            continue;
        };
        let wording = compare(o.lower95, o.upper95, Some(benchmark), polarity)
            .wording()
            .to_owned();
        if o.compared_to_england.as_deref() != Some(wording.as_str()) {
            o.compared_to_england = Some(wording);
            changed += 1;
        }
    }
    if changed > 0 {
        let mut tx = store.begin().await.map_err(fail)?;
        tx.delete_observations(&indicator.id).await.map_err(fail)?;
        for chunk in rows.chunks(2_000) {
            tx.put_observations(chunk).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polarity_as_written() {
        assert_eq!(
            read_polarity("RAG - High is good"),
            Some(Polarity::HigherIsBetter)
        );
        assert_eq!(
            read_polarity("lower-is-better"),
            Some(Polarity::LowerIsBetter)
        );
        assert_eq!(read_polarity("Low is good"), Some(Polarity::LowerIsBetter));
        assert_eq!(
            read_polarity("BOB - Blue orange blue"),
            Some(Polarity::NoJudgement)
        );
        assert_eq!(read_polarity("sideways"), None);
    }

    #[test]
    fn a_fingertips_record() {
        let record: Value = serde_json::from_str(
            r#"{"IID": 108, "Descriptive": {"Name": "Under 75 mortality", "DataSource": "ONS"},
                "Unit": {"Value": 100000.0, "Label": "per 100,000"},
                "ValueType": {"Name": "Directly standardised rate"},
                "YearType": {"Name": "Calendar"},
                "ConfidenceIntervalMethod": {"Name": "Dobson & Byar's methods"}}"#,
        )
        .unwrap();
        let i = from_fingertips("ft.json", "108", &record).unwrap();
        assert_eq!(i.id, "108");
        assert_eq!(i.unit.as_deref(), Some("per 100,000"));
        assert_eq!(i.multiplier, Some(100_000.0));
        assert_eq!(i.source.as_deref(), Some("ONS (OHID Fingertips)"));
        assert_eq!(i.value_type.as_deref(), Some("Directly standardised rate"));
        assert_eq!(i.polarity, None);
        assert_eq!(multiplier_of("per 1,000", None), Some(1000.0));
        assert_eq!(multiplier_of("%", None), None);
    }

    #[test]
    fn a_table_with_loose_headers() {
        let header: Vec<String> = ["Indicator ID", "Polarity", "Unit", "Disclosure"]
            .map(String::from)
            .to_vec();
        let rows = vec![
            vec![
                "30301".into(),
                "Higher is better".into(),
                "%".into(),
                "none".into(),
            ],
            vec!["108".into(), "".into(), "per 100,000".into(), "1-9".into()],
        ];
        let out = read_metadata_table("m.csv", 1, &header, &rows).unwrap();
        assert_eq!(out[0].polarity, Some(Polarity::HigherIsBetter));
        assert_eq!(out[0].disclosure, Some(Disclosure::NONE));
        assert_eq!(out[1].polarity, None);
        assert_eq!(out[1].disclosure, Some(Disclosure { min: 1.0, max: 9.0 }));
        let bad = vec![vec!["1".into(), "up".into(), "".into(), "".into()]];
        let err = read_metadata_table("m.csv", 1, &header, &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("Polarity"), "{err}");
        let twice = vec![
            vec!["1".into(), "".into(), "%".into(), "".into()],
            vec!["1".into(), "".into(), "%".into(), "".into()],
        ];
        let err = read_metadata_table("m.csv", 1, &header, &twice)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lines 2 and 3"), "{err}");
    }
}

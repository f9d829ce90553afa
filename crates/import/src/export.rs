//! Exports of observations in the Fingertips CSV layout, with each indicator's
//! small-number disclosure rule applied: nothing leaves the store that the rule
//! forbids.

use std::io::Write;

use rustc_hash::FxHashMap;
use syndemic_model::{AreaCode, AreaType};
use syndemic_store::disclosure::{suppress, AreaFamilies};
use syndemic_store::Store;

use crate::ImportError;

/// The columns of a Fingertips export, in its order.
pub const FINGERTIPS_HEADER: [&str; 24] = [
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Compared to parent value or percentiles",
    "Time period Sortable",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub rows: u64,
    /// Cells withheld because their count is small (primary suppression).
    pub primary: u64,
    /// Cells withheld so that a small count cannot be derived from a total.
    pub secondary: u64,
}

/// Writes every observation of `indicator` (or of all indicators) as a Fingertips
/// CSV to `out`.
pub async fn export_fingertips(
    store: &dyn Store,
    indicator: Option<&str>,
    out: &mut dyn Write,
) -> Result<ExportSummary, ImportError> {
    let target = "export";
    let fail = |e: syndemic_store::StoreError| ImportError::file(target, e.to_string());
    let mut observations = store.observations(indicator).await.map_err(fail)?;
    if observations.is_empty() {
        return Err(ImportError::file(
            target,
            match indicator {
                Some(id) => format!("no observations of indicator {id} in the store"),
                None => "the store holds no observations: import some first".into(),
            },
        ));
    }
    let mut summary = ExportSummary::default();
    let indicators = store.indicators().await.map_err(fail)?;
    let families = if indicators.iter().any(|i| i.disclosure_rule().is_some()) {
        AreaFamilies::from_links(&store.all_links().await.map_err(fail)?)
    } else {
        AreaFamilies::default()
    };
    let mut names = FxHashMap::default();
    // Residents' evidence is labelled in its rows' value note, with its sample
    // and weighting, where the row has no note of its own.
    let mut residents: FxHashMap<String, String> = FxHashMap::default();
    for i in &indicators {
        names.insert(i.id.clone(), i.name.clone());
        if i.is_residents_evidence() {
            residents.insert(i.id.clone(), i.ci_method.clone().unwrap_or_default());
        }
        if let Some(rule) = i.disclosure_rule() {
            let (primary, secondary) = suppress(&mut observations, &i.id, rule, &families);
            summary.primary += primary;
            summary.secondary += secondary;
        }
    }
    // Each area's name, type, and parent (code and name) as Fingertips writes them.
    let mut areas: FxHashMap<AreaCode, [String; 4]> = FxHashMap::default();
    let mut writer = csv::Writer::from_writer(out);
    let io = |e: csv::Error| ImportError::file(target, format!("cannot write: {e}"));
    writer.write_record(FINGERTIPS_HEADER).map_err(io)?;
    for o in &observations {
        if let std::collections::hash_map::Entry::Vacant(slot) = areas.entry(o.area) {
            let info = store.area(o.area).await.map_err(fail)?;
            let name = info
                .as_ref()
                .and_then(|i| i.area.name.clone())
                .unwrap_or_default();
            // The nearest parent (England is its own, as Fingertips lists it).
            let (parent, parent_name) = if o.area.area_type() == AreaType::England {
                (o.area.to_string(), name.clone())
            } else {
                store
                    .parents(o.area)
                    .await
                    .map_err(fail)?
                    .into_iter()
                    .min_by_key(|p| (p.link.level, p.link.vintage.is_empty()))
                    .map(|p| (p.link.parent.to_string(), p.name.unwrap_or_default()))
                    .unwrap_or_default()
            };
            slot.insert([
                name,
                o.area.area_type().label().to_owned(),
                parent,
                parent_name,
            ]);
        }
        let [area_name, area_type, parent, parent_name] = &areas[&o.area];
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let note = match (&o.note, residents.get(&o.indicator)) {
            (Some(n), _) => n.clone(),
            (None, Some(method)) => format!(
                "Residents' evidence: a sample of {}; {method}",
                num(o.denominator)
            ),
            (None, None) => String::new(),
        };
        // Every cell made safe for a spreadsheet (an area's or indicator's name
        // came from a file); numbers are left as they are.
        for cell in [
            o.indicator.as_str(),
            names.get(&o.indicator).map(String::as_str).unwrap_or(""),
            parent,
            parent_name,
            o.area.as_str(),
            area_name,
            area_type,
            &o.sex,
            &o.age,
            &o.category_type,
            &o.category,
            &o.period.to_string(),
            &num(o.value),
            &num(o.lower95),
            &num(o.upper95),
            &num(o.lower998),
            &num(o.upper998),
            &num(o.count),
            &num(o.denominator),
            &note,
            o.recent_trend.as_deref().unwrap_or(""),
            o.compared_to_england.as_deref().unwrap_or(""),
            o.compared_to_parent.as_deref().unwrap_or(""),
            &o.period.fingertips_sortable().to_string(),
        ] {
            writer
                .write_field(syndemic_model::formula_safe(cell).as_bytes())
                .map_err(io)?;
        }
        writer.write_record(None::<&[u8]>).map_err(io)?;
        summary.rows += 1;
    }
    writer
        .flush()
        .map_err(|e| ImportError::file(target, format!("cannot write: {e}")))?;
    Ok(summary)
}

/// Columns written as numbers in a workbook.
const NUMERIC: [&str; 8] = [
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Time period Sortable",
];

/// Writes an export (Fingertips-layout CSV text, as [`export_fingertips`] makes it)
/// as an Excel workbook: one sheet, the header row frozen, numbers as numbers.
pub fn write_xlsx(csv_text: &[u8], path: &std::path::Path) -> Result<(), ImportError> {
    let target = path.display().to_string();
    let fail = |e: &dyn std::fmt::Display| {
        ImportError::file(&target, format!("cannot write the workbook: {e}"))
    };
    let mut reader = csv::Reader::from_reader(csv_text);
    let headers = reader.headers().map_err(|e| fail(&e))?.clone();
    let numeric: Vec<bool> = headers.iter().map(|h| NUMERIC.contains(&h)).collect();
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Indicators").map_err(|e| fail(&e))?;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, h).map_err(|e| fail(&e))?;
    }
    sheet.set_freeze_panes(1, 0).map_err(|e| fail(&e))?;
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| fail(&e))?;
        let row = u32::try_from(r + 1)
            .ok()
            .filter(|row| *row < 1_048_576)
            .ok_or_else(|| fail(&"more rows than a worksheet holds (1,048,576): export one indicator at a time, or as Parquet"))?;
        for (c, cell) in record.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(v) if numeric[c] => sheet.write_number(row, c as u16, v),
                _ => sheet.write_string(row, c as u16, cell),
            }
            .map_err(|e| fail(&e))?;
        }
    }
    workbook.save(path).map_err(|e| fail(&e))
}

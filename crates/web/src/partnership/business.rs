//! The business map of a place: businesses from lists (business rates, partners'
//! own) and ONS UK Business Counts, drawn on the small-area map and summarised by
//! size band and by the national IMD decile of where they are, so a health system
//! knows which large, medium and small employers are in its footprint.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use rustc_hash::FxHashMap;
use syndemic_model::AreaCode;
use syndemic_partnership::access as rules;
use syndemic_partnership::layout::{self, Sheet};
use syndemic_partnership::sector::SizeBand;
use syndemic_store::partnership::{BusinessCountRecord, BusinessRecord};
use syndemic_store::Store;

use super::{audit_entry, layout_error, num};
use crate::shell::page as layout_page;
use crate::shell::svg::{choropleth, skippable, MapArea, SCALE};
use crate::shell::table::{Cell, DataTable, Download};
use crate::shell::Signed;
use crate::shell::{PostedFiles, Upload};
use crate::{AppState, WebError};

const BANDS: [SizeBand; 4] = [
    SizeBand::Micro,
    SizeBand::Small,
    SizeBand::Medium,
    SizeBand::Large,
];

/// The national IMD decile of each small area the businesses are in, from the
/// edition that ranks the most of them (`syndemic_place::edition`).
pub(crate) async fn deciles(
    store: &dyn Store,
    list: &[BusinessRecord],
) -> Result<FxHashMap<String, i64>, WebError> {
    let areas: Vec<AreaCode> = list
        .iter()
        .filter_map(|b| b.area.as_deref())
        .filter_map(|a| AreaCode::parse(a).ok())
        .collect();
    Ok(syndemic_place::edition::ranked(store, &areas)
        .await?
        .map(|(_, rows)| rows)
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.area.as_str().to_owned(), d.decile))
        .collect())
}

/// Businesses by size band and the national IMD decile of their area.
pub(crate) fn by_decile(list: &[BusinessRecord], deciles: &FxHashMap<String, i64>) -> DataTable {
    let mut columns = vec!["IMD decile (1 = most deprived)".to_owned()];
    for b in BANDS {
        columns.push(format!("{} businesses", b.label()));
    }
    columns.push("Employees".into());
    columns.push("Employees living locally".into());
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut t = DataTable::new(
        "Businesses by size and the deprivation of their area",
        &names,
    );
    for decile in (1..=10).map(Some).chain([None]) {
        let here: Vec<&BusinessRecord> = list
            .iter()
            .filter(|b| b.area.as_ref().and_then(|a| deciles.get(a)).copied() == decile)
            .collect();
        if decile.is_none() && here.is_empty() {
            continue;
        }
        let mut row = vec![Cell::text(
            decile.map_or("Not located".into(), |d| d.to_string()),
        )];
        for band in BANDS {
            row.push(Cell::Number(Some(
                here.iter().filter(|b| b.size_band == band.code()).count() as f64,
            )));
        }
        row.push(Cell::Number(Some(
            here.iter().filter_map(|b| b.employees).sum::<i64>() as f64,
        )));
        row.push(Cell::Number(Some(
            here.iter().filter_map(|b| b.local_employees).sum::<i64>() as f64,
        )));
        t.push(row);
    }
    t
}

/// The largest employers: every large and medium business, biggest first.
pub(crate) fn employers(list: &[BusinessRecord], deciles: &FxHashMap<String, i64>) -> DataTable {
    let mut t = DataTable::new(
        "Large and medium employers",
        &[
            "Business",
            "Company number",
            "SIC code",
            "Size",
            "Employees",
            "Employees living locally",
            "Area",
            "IMD decile",
        ],
    );
    let mut big: Vec<&BusinessRecord> = list
        .iter()
        .filter(|b| b.size_band == SizeBand::Large.code() || b.size_band == SizeBand::Medium.code())
        .collect();
    big.sort_by_key(|b| (std::cmp::Reverse(b.employees.unwrap_or(0)), b.name.clone()));
    for b in big {
        t.push(vec![
            Cell::text(b.name.clone()),
            Cell::text(b.company_number.clone().unwrap_or_default()),
            Cell::text(b.sic_code.clone().unwrap_or_default()),
            Cell::text(SizeBand::parse(&b.size_band).map_or("", SizeBand::label)),
            Cell::Number(b.employees.map(|n| n as f64)),
            Cell::Number(b.local_employees.map(|n| n as f64)),
            Cell::text(b.area.clone().unwrap_or_default()),
            Cell::Number(
                b.area
                    .as_ref()
                    .and_then(|a| deciles.get(a))
                    .map(|d| *d as f64),
            ),
        ]);
    }
    t
}

/// UK Business Counts summed by area, unit and size band (the newest year).
pub(crate) fn counts(rows: &[BusinessCountRecord]) -> DataTable {
    let year = rows.iter().map(|r| r.year).max();
    let mut columns = vec!["Area".to_owned(), "Year".to_owned(), "Unit".to_owned()];
    for b in BANDS {
        columns.push(b.label().to_owned());
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut t = DataTable::new("UK Business Counts by employment size band", &names);
    let mut keys: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| Some(r.year) == year)
        .map(|r| (r.area.as_str(), r.unit.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for (area, unit) in keys {
        let mut row = vec![
            Cell::text(area),
            Cell::Number(year.map(|y| y as f64)),
            Cell::text(unit),
        ];
        for b in BANDS {
            row.push(Cell::Number(Some(
                rows.iter()
                    .filter(|r| {
                        Some(r.year) == year
                            && r.area == area
                            && r.unit == unit
                            && r.size_band == b.code()
                    })
                    .map(|r| r.count)
                    .sum::<i64>() as f64,
            )));
        }
        t.push(row);
    }
    t
}

pub(crate) async fn map(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let list = state.db.businesses().await?;
    let deciles = deciles(state.db.as_ref(), &list).await?;
    let ubc = state.db.business_counts().await?;
    let shapes = state.shapes().await?;
    let mut per_area: FxHashMap<&str, (usize, i64)> = FxHashMap::default();
    for b in &list {
        if let Some(a) = &b.area {
            let e = per_area.entry(a.as_str()).or_default();
            e.0 += 1;
            e.1 += b.employees.unwrap_or(0);
        }
    }
    let max = per_area.values().map(|v| v.0).max().unwrap_or(0).max(1);
    let mut areas: Vec<MapArea> = shapes
        .outlines
        .iter()
        .map(|(code, rings)| {
            let (n, employees) = per_area.get(code.as_str()).copied().unwrap_or((0, 0));
            MapArea {
                code: *code,
                rings,
                step: Some(((n * (SCALE.len() - 1)).div_ceil(max)).min(SCALE.len() - 1)),
                label: format!("{code}: {n} businesses, {employees} employees"),
                href: format!("/areas/{code}"),
                focus: false,
            }
        })
        .collect();
    areas.sort_by_key(|a| a.code);
    let by_decile = by_decile(&list, &deciles);
    let big = employers(&list, &deciles);
    let ubc_table = counts(&ubc);
    let download = |name: &str| Download {
        path: format!("/businesses/{name}"),
        query: String::new(),
    };
    let bands: Vec<(SizeBand, usize)> = BANDS
        .iter()
        .map(|b| (*b, list.iter().filter(|x| x.size_band == b.code()).count()))
        .collect();
    Ok(layout_page(
        &state,
        "The business map",
        html! {
            p class="lead" { (list.len()) " businesses on the lists imported: "
                @for (i, (b, n)) in bands.iter().enumerate() { @if i > 0 { ", " } (n) " " (b.label().to_lowercase()) } "." }
            figure {
                (skippable(choropleth(&areas, "Businesses on the lists, by small area (darker: more)"), areas.len(), "business-map"))
                figcaption { "Businesses per small area; each area links to its profile. The same figures are in the tables below." }
            }
            (by_decile.html(Some(&download("by-decile"))))
            (big.html(Some(&download("employers"))))
            @if !ubc.is_empty() { (ubc_table.html(Some(&download("business-counts")))) }
            @if rules::may_import_place_data(&s.actor) {
                h2 { "Import businesses" }
                p { "A business list (" a href="/templates/businesses.csv" { "template" } ") replaces the earlier list of the same name; UK Business Counts (as downloaded from Nomis, or the " a href="/templates/business-counts.csv" { "template" } ") replace the counts of the same areas and year. Nothing is imported unless every row is right." }
                form method="post" action="/businesses/import" enctype="multipart/form-data" class="stack" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    fieldset { legend { "What the file holds" }
                        div { input type="radio" id="b-kind-list" name="kind" value="list" checked; label for="b-kind-list" { "A business list" } }
                        div { input type="radio" id="b-kind-counts" name="kind" value="counts"; label for="b-kind-counts" { "UK Business Counts" } }
                    }
                    div class="field" { label for="b-source" { "The list's name" } p class="hint" id="b-source-hint" { "e.g. business-rates-2026; for counts, enterprises or local-units." }
                        input id="b-source" name="source" type="text" required aria-describedby="b-source-hint"; }
                    div class="field" { label for="b-file" { "Spreadsheet (CSV or XLSX)" } input id="b-file" name="file" type="file" accept=".csv,.xlsx" required; }
                    button type="submit" { "Import" }
                }
            }
            p { (num(list.iter().filter_map(|b| b.employees).sum::<i64>() as f64)) " employees in all." }
        },
    ))
}

pub(crate) async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    _signed: Signed,
) -> Result<Response, WebError> {
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| WebError::NotFound(format!("no download `{file}`")))?;
    let list = state.db.businesses().await?;
    let deciles = deciles(state.db.as_ref(), &list).await?;
    let table = match stem {
        "by-decile" => by_decile(&list, &deciles),
        "employers" => employers(&list, &deciles),
        "business-counts" => counts(&state.db.business_counts().await?),
        other => {
            return Err(WebError::NotFound(format!(
                "no table `{other}`: by-decile, employers or business-counts"
            )))
        }
    };
    table.respond(ext, stem)
}

/// A business's small area: the one given, or its postcode's.
pub(crate) async fn locate(
    store: &dyn Store,
    area: Option<AreaCode>,
    postcode: Option<&str>,
) -> Result<Option<String>, WebError> {
    if let Some(a) = area {
        return Ok(Some(a.as_str().to_owned()));
    }
    let Some(pc) = postcode.and_then(syndemic_model::normalise_postcode) else {
        return Ok(None);
    };
    Ok(store
        .postcode(&pc)
        .await?
        .and_then(|p| p.lsoa21.or(p.lsoa11))
        .map(|a| a.as_str().to_owned()))
}

pub(crate) async fn import(
    State(state): State<AppState>,
    PostedFiles(s, form, files): PostedFiles,
) -> Result<Response, WebError> {
    if !rules::may_import_place_data(&s.actor) {
        return Err(WebError::Forbidden(
            "a partnership lead or a system admin imports the place's businesses".into(),
        ));
    }
    let file = Upload::one(&files, "file")?;
    let source = form.get("source");
    if source.is_empty() || source.len() > 64 {
        return Err(WebError::Unprocessable(
            "name the list (e.g. business-rates-2026)".into(),
        ));
    }
    let sheet = Sheet::read(&file.file_name, &file.bytes).map_err(layout_error)?;
    let audit = audit_entry(&s.actor, "import", "businesses", &file.file_name);
    if form.get("kind") == "counts" {
        let rows = layout::read_business_counts(&sheet, &source).map_err(layout_error)?;
        let records: Vec<BusinessCountRecord> = rows
            .into_iter()
            .map(|r| BusinessCountRecord {
                area: r.area.as_str().to_owned(),
                year: i64::from(r.year),
                unit: r.unit,
                size_band: r.size_band.code().into(),
                band_text: r.band_text,
                industry: r.industry,
                count: r.count as i64,
            })
            .collect();
        state.db.import_business_counts(&records, &audit).await?;
    } else {
        let rows = layout::read_businesses(&sheet).map_err(layout_error)?;
        let mut records = Vec::with_capacity(rows.len());
        for (i, r) in rows.into_iter().enumerate() {
            records.push(BusinessRecord {
                id: format!("{source}:{}", i + 1),
                source: source.clone(),
                area: locate(state.db.as_ref(), r.area, r.postcode.as_deref()).await?,
                name: r.name,
                company_number: r.company_number,
                sic_code: r.sic_code,
                size_band: r.size_band.code().into(),
                employees: r.employees.map(|n| n as i64),
                local_employees: r.local_employees.map(|n| n as i64),
                postcode: r.postcode,
            });
        }
        state
            .db
            .import_businesses(&source, &records, &audit)
            .await?;
    }
    Ok(Redirect::to("/businesses").into_response())
}

//! The hidden-deprivation finder (`/hidden`): small areas far more deprived
//! than the population-weighted average of their neighbours, as a page with a
//! map and a list in pages, and as CSV, XLSX and SVG downloads of the same query.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use syndemic_model::AreaCode;
use syndemic_place::HiddenOptions;

use super::pages::{page_rows, HIDDEN_PER_PAGE};
use super::picker;
use crate::shell::page;
use crate::shell::svg::{self, MapArea};
use crate::shell::table::{Cell, DataTable, Download};
use crate::{AppState, WebError};

/// The finder's form as sent: text, so that anything typed comes back to the
/// form with its error beside it rather than a bare "Bad Request".
#[derive(Deserialize, Default)]
pub struct HiddenQuery {
    within: Option<String>,
    gap: Option<String>,
    decile: Option<String>,
    /// Neighbours within this many km (none or 0: sharing a boundary).
    radius_km: Option<String>,
    /// Which page of the list (from 1), [`HIDDEN_PER_PAGE`] areas a page.
    page: Option<String>,
}

/// The finder's form read and checked.
#[derive(Debug, Clone)]
struct Hidden {
    within: Option<AreaCode>,
    options: HiddenOptions,
    radius_km: f64,
    page: usize,
}

impl Hidden {
    /// The form checked, the area resolved by the picker; or each field's error.
    async fn read(
        state: &AppState,
        q: &HiddenQuery,
    ) -> Result<Result<Hidden, Vec<(&'static str, String)>>, WebError> {
        let mut errors = Vec::new();
        let defaults = HiddenOptions::default();
        let mut field = |name: &'static str, r: Result<f64, String>| {
            r.map_err(|e| errors.push((name, e))).unwrap_or_default()
        };
        let gap = field(
            "gap",
            picker::number_in(&q.gap, defaults.min_gap, 0.0..=9.0, "The gap in deciles"),
        );
        let radius_km = field(
            "radius_km",
            picker::number_in(&q.radius_km, 0.0, 0.0..=50.0, "The radius in km"),
        );
        let decile = picker::number_in(&q.decile, defaults.max_decile, 1..=10, "The decile")
            .map_err(|e| errors.push(("decile", e)))
            .unwrap_or(defaults.max_decile);
        let page = picker::number_in(&q.page, 1usize, 1..=usize::MAX, "The page")
            .map_err(|e| errors.push(("page", e)))
            .unwrap_or(1);
        let within =
            match picker::resolve_optional(state, q.within.as_deref().unwrap_or("")).await? {
                Ok(p) => p.map(|p| p.code),
                Err(e) => {
                    errors.push(("within", e));
                    None
                }
            };
        Ok(if errors.is_empty() {
            Ok(Hidden {
                within,
                options: HiddenOptions {
                    min_gap: gap,
                    max_decile: decile,
                },
                radius_km,
                page,
            })
        } else {
            Err(errors)
        })
    }

    /// For the downloads: the checked form, or one error naming every problem.
    async fn read_or_refuse(state: &AppState, q: &HiddenQuery) -> Result<Hidden, WebError> {
        Hidden::read(state, q).await?.map_err(|errors| {
            WebError::BadRequest(
                errors
                    .iter()
                    .map(|(f, e)| format!("{f}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

/// What the hidden-deprivation finder found, with the areas' names.
async fn find(
    state: &AppState,
    h: &Hidden,
) -> Result<
    (
        Vec<syndemic_place::HiddenArea>,
        FxHashMap<AreaCode, Option<String>>,
    ),
    WebError,
> {
    let neighbours = syndemic_place::Neighbours::from_radius(Some(h.radius_km))?;
    let found = state.find_hidden(h.within, h.options, neighbours).await?;
    let mut names: FxHashMap<AreaCode, Option<String>> = FxHashMap::default();
    for a in &found {
        names.insert(
            a.area,
            state.db.area(a.area).await?.and_then(|a| a.area.name),
        );
    }
    Ok((found, names))
}

fn hidden_table(
    found: &[syndemic_place::HiddenArea],
    names: &FxHashMap<AreaCode, Option<String>>,
) -> DataTable {
    let mut t = DataTable::new(
        "Small areas more deprived than their neighbours",
        &[
            "Area",
            "Code",
            "National decile",
            "Neighbours' average decile",
            "Deciles apart",
            "Score",
            "Neighbours' score",
            "Neighbours",
        ],
    );
    for h in found {
        t.push(vec![
            Cell::Link {
                text: names
                    .get(&h.area)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| h.area.to_string()),
                href: format!("/areas/{}", h.area),
            },
            Cell::text(h.area.as_str()),
            Cell::Number(Some(h.decile as f64)),
            Cell::Number(Some(h.neighbours_decile)),
            Cell::Number(Some(h.gap)),
            Cell::Number(h.score),
            Cell::Number(h.neighbours_score),
            Cell::Number(Some(h.neighbours as f64)),
        ]);
    }
    t
}

/// `/hidden.csv` and `/hidden.xlsx`: the finder's list for the same query.
pub async fn hidden_csv(
    State(state): State<AppState>,
    Query(query): Query<HiddenQuery>,
) -> Result<Response, WebError> {
    let h = Hidden::read_or_refuse(&state, &query).await?;
    let (found, names) = find(&state, &h).await?;
    hidden_table(&found, &names).respond("csv", "hidden-deprivation")
}

pub async fn hidden_xlsx(
    State(state): State<AppState>,
    Query(query): Query<HiddenQuery>,
) -> Result<Response, WebError> {
    let h = Hidden::read_or_refuse(&state, &query).await?;
    let (found, names) = find(&state, &h).await?;
    hidden_table(&found, &names).respond("xlsx", "hidden-deprivation")
}

/// The hidden-deprivation finder's page, kept like the profile
/// (`AppState::cached_page`) for each query; a form with an error is shown
/// again with the error beside its field and what was typed.
pub async fn hidden(
    State(state): State<AppState>,
    Query(query): Query<HiddenQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let h = match Hidden::read(&state, &query).await? {
        Ok(h) => h,
        Err(errors) => {
            let body = hidden_form(&state, &query, &errors).await?;
            return Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, "Hidden deprivation", body),
            )
                .into_response());
        }
    };
    let key = format!("hidden {:?} {:?}", query.within, h);
    state
        .cached_page(key, &headers, hidden_page(&state, &query, &h))
        .await
}

/// The finder's form, with what was typed and any errors beside their fields.
async fn hidden_form(
    state: &AppState,
    q: &HiddenQuery,
    errors: &[(&str, String)],
) -> Result<Markup, WebError> {
    let error_of = |f: &str| {
        errors
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, m)| m.as_str())
    };
    let typed = |v: &Option<String>, default: String| {
        v.clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(default)
    };
    let d = HiddenOptions::default();
    let number = |name: &str, label: &str, value: String, attrs: (&str, &str, &str)| {
        let err = error_of(name);
        html! {
            div class="field" {
                label for=(name) { (label) }
                @if let Some(e) = err { p class="field-error" id=(format!("{name}-error")) { "Error: " (e) } }
                input id=(name) name=(name) type="number" value=(value) min=(attrs.0) max=(attrs.1) step=(attrs.2)
                    aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| format!("{name}-error"))];
            }
        }
    };
    Ok(html! {
        p class="lead" { "Small areas far more deprived than the population-weighted average of their neighbours: the pockets a district's average hides." }
        (picker::error_summary(errors))
        form method="get" action="/hidden" {
            (picker::field("within", "Within area (optional)", q.within.as_deref().unwrap_or(""), error_of("within"), false))
            (number("gap", "At least this many deciles more deprived than the neighbours (0 to 9)", typed(&q.gap, d.min_gap.to_string()), ("0", "9", "0.5")))
            (number("decile", "In national decile at most (1 to 10)", typed(&q.decile, d.max_decile.to_string()), ("1", "10", "1")))
            (number("radius_km", "Neighbours: within this many km (0: those sharing a boundary; at most 50)", typed(&q.radius_km, "0".into()), ("0", "50", "0.5")))
            button type="submit" { "Find" }
        }
        (picker::suggestions(state).await?)
    })
}

async fn hidden_page(
    state: &AppState,
    query: &HiddenQuery,
    h: &Hidden,
) -> Result<Html<String>, WebError> {
    let state = state.clone();
    let (found, names) = find(&state, h).await?;
    let page_number = h.page;
    let rows = page_rows(found.len(), page_number, HIDDEN_PER_PAGE)?;
    let pages = found.len().div_ceil(HIDDEN_PER_PAGE).max(1);
    let shapes = state.shapes().await?;
    let map = hidden_map(&shapes, &found, &names);
    let download = Download {
        path: "/hidden".into(),
        query: format!(
            "within={}&gap={}&decile={}&radius_km={}",
            h.within.map(|c| c.to_string()).unwrap_or_default(),
            h.options.min_gap,
            h.options.max_decile,
            h.radius_km
        ),
    };
    let form = hidden_form(&state, query, &[]).await?;
    Ok(page(
        &state,
        "Hidden deprivation",
        html! {
            (form)
            p { (found.len()) " small areas stand out." @if pages > 1 { " This page lists " (rows.start + 1) "–" (rows.end) "; the downloads hold all of them." } }
            @if shapes.outlines.is_empty() { p { "No boundaries are stored, so there is no map; the list stands alone." } }
            @else if !found.is_empty() { figure { (svg::skippable(map, shapes.outlines.len(), "hidden-map")) figcaption { "Dark blue: areas listed below. " a href=(format!("/hidden.svg?{}", download.query)) { "Download the map (SVG)" } } } }
            (hidden_table(&found[rows.clone()], &names).html(Some(&download)))
            @if pages > 1 {
                nav aria-label="Pages of the list" class="pages" {
                    @if page_number > 1 { a href=(format!("/hidden?{}&page={}", download.query, page_number - 1)) rel="prev" { "Previous page" } " " }
                    "Page " (page_number) " of " (pages)
                    @if page_number < pages { " " a href=(format!("/hidden?{}&page={}", download.query, page_number + 1)) rel="next" { "Next page" } }
                }
            }
            p { a href=(format!("/api/v1/hidden?gap={}&decile={}", h.options.min_gap, h.options.max_decile)) { "The same as JSON" } }
        },
    ))
}

/// Every small area, those that stand out in dark blue.
fn hidden_map(
    shapes: &syndemic_place::Shapes,
    found: &[syndemic_place::HiddenArea],
    names: &FxHashMap<AreaCode, Option<String>>,
) -> Markup {
    let highlighted: Vec<MapArea> = shapes
        .outlines
        .iter()
        .map(|(code, rings)| {
            let hit = found.iter().find(|h| h.area == *code);
            MapArea {
                code: *code,
                rings,
                step: hit.map(|_| 4).or(Some(0)),
                label: match hit {
                    Some(h) => format!(
                        "{} {code}: decile {}, neighbours {:.1}",
                        names.get(code).cloned().flatten().unwrap_or_default(),
                        h.decile,
                        h.neighbours_decile
                    ),
                    None => code.to_string(),
                },
                href: format!("/areas/{code}"),
                focus: false,
            }
        })
        .collect();
    svg::choropleth(
        &highlighted,
        "Small areas that stand out from their neighbours, in dark blue",
    )
}

/// `/hidden.svg`: the finder's map for the same query.
pub async fn hidden_svg(
    State(state): State<AppState>,
    Query(query): Query<HiddenQuery>,
) -> Result<Response, WebError> {
    let h = Hidden::read_or_refuse(&state, &query).await?;
    let (found, names) = find(&state, &h).await?;
    let shapes = state.shapes().await?;
    if shapes.outlines.is_empty() {
        return Err(WebError::NotFound(
            "no boundaries are stored, so there is no map".into(),
        ));
    }
    Ok(svg::download(
        hidden_map(&shapes, &found, &names),
        "hidden-deprivation",
    ))
}

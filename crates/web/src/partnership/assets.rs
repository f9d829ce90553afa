//! The community asset map: the directory's services classified by the asset
//! taxonomy (`syndemic_hub::assets`) drawn over the small areas around them,
//! each kind with its own mark, and listed in a table (the map's text
//! alternative), filtered by kind. The same records are served as Open Referral
//! UK by `/openreferral`.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use syndemic_hub::assets::{from_directory, kind_label, Asset, KINDS};

use crate::shell::page;
use crate::{AppState, WebError};

/// The map's width in CSS pixels.
const WIDTH: f64 = 340.0;

/// Each kind's mark: fill colour and shape, distinct in both (never colour
/// alone); every fill has 3:1 contrast against the map's pale ground.
const MARKS: [(&str, &str); 6] = [
    ("#0b5394", "circle"),
    ("#7a3e00", "square"),
    ("#1d6b2f", "triangle"),
    ("#6a1b9a", "diamond"),
    ("#9c1c1c", "cross"),
    ("#005f5f", "ring"),
];

#[derive(Deserialize)]
pub(crate) struct Filter {
    kind: Option<String>,
}

async fn assets(state: &AppState, kind: Option<&str>) -> Result<Vec<Asset>, WebError> {
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let mut all = from_directory(&directory.feed);
    if let Some(k) = kind.filter(|k| !k.is_empty()) {
        if kind_label(k).is_none() {
            return Err(WebError::BadRequest(format!(
                "kind `{k}` is not one of {}",
                KINDS.map(|k| k.0).join(", ")
            )));
        }
        all.retain(|a| a.kind == k);
    }
    Ok(all)
}

fn mark(kind: &str, x: f64, y: f64) -> maud::Markup {
    let i = KINDS.iter().position(|k| k.0 == kind).unwrap_or(0);
    let (fill, shape) = MARKS[i];
    let r = 5.0;
    html! {
        @match shape {
            "circle" => { circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(r) fill=(fill) stroke="#fff" stroke-width="1" {} }
            "square" => { rect x=(format!("{:.1}", x - r)) y=(format!("{:.1}", y - r)) width=(2.0 * r) height=(2.0 * r) fill=(fill) stroke="#fff" stroke-width="1" {} }
            "triangle" => { path d=(format!("M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z", y - r - 1.0, x + r + 1.0, y + r, x - r - 1.0, y + r)) fill=(fill) stroke="#fff" stroke-width="1" {} }
            "diamond" => { path d=(format!("M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}Z", y - r - 1.0, x + r + 1.0, y + r + 1.0, x - r - 1.0)) fill=(fill) stroke="#fff" stroke-width="1" {} }
            "cross" => { path d=(format!("M{:.1},{:.1}h4v-4h-4v-4h-4v4h-4v4h4v4h4z", x + 2.0, y - 2.0)) fill=(fill) stroke="#fff" stroke-width="1" {} }
            _ => { circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(r - 1.0) fill="#fff" stroke=(fill) stroke-width="2.5" {} }
        }
    }
}

/// `/community-assets.svg?kind=…`: the assets over the small areas around them.
pub(crate) async fn map(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    let shown = assets(&state, filter.kind.as_deref()).await?;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for a in &shown {
        x0 = x0.min(a.longitude);
        x1 = x1.max(a.longitude);
        y0 = y0.min(a.latitude);
        y1 = y1.max(a.latitude);
    }
    if shown.is_empty() {
        return Err(WebError::NotFound("no community assets to draw".into()));
    }
    // A margin of a tenth (at least about a kilometre) around the assets.
    let mx = ((x1 - x0) * 0.1).max(0.015);
    let my = ((y1 - y0) * 0.1).max(0.01);
    let (x0, x1, y0, y1) = (x0 - mx, x1 + mx, y0 - my, y1 + my);
    let k = ((y0 + y1) / 2.0).to_radians().cos();
    let scale = WIDTH / ((x1 - x0) * k);
    let height = (y1 - y0) * scale;
    let at = |lon: f64, lat: f64| ((lon - x0) * k * scale, (y1 - lat) * scale);
    let shapes = state.shapes().await?;
    let mut d = String::new();
    for outline in shapes.outlines.values() {
        let inside = outline
            .iter()
            .flatten()
            .any(|p| (x0..=x1).contains(&p[0]) && (y0..=y1).contains(&p[1]));
        if !inside {
            continue;
        }
        for ring in outline {
            for (i, p) in ring.iter().enumerate() {
                let (x, y) = at(p[0], p[1]);
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
    }
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(format!("{height:.0}")) viewBox=(format!("0 0 {WIDTH} {height:.0}")) role="img" aria-label=(format!("Map of {} community assets", shown.len())) {
            rect width="100%" height="100%" fill="#f4f7f9" {}
            path d=(d) fill="#e8f1f8" stroke="#6b7785" stroke-width="0.4" fill-rule="evenodd" {}
            @for a in &shown {
                @let (x, y) = at(a.longitude, a.latitude);
                g { title { (a.name) " (" (kind_label(&a.kind).unwrap_or("")) ")" } (mark(&a.kind, x, y)) }
            }
        }
    };
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg.into_string()).into_response())
}

/// `/community-assets?kind=…`: the map, its key and the table.
pub(crate) async fn page_of(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    let kind = filter.kind.as_deref().filter(|k| !k.is_empty());
    let shown = assets(&state, kind).await?;
    let query = kind.map(|k| format!("?kind={k}")).unwrap_or_default();
    let body = html! {
        p { "What " (state.place) "'s communities have to build on — groups, halls, green spaces, businesses that help — as the communities recorded them. They are published as Open Referral UK services (" a href="/openreferral/taxonomies/syndemic-community-assets" { "the asset taxonomy" } ") beside the services people are referred to." }
        nav aria-label="Kinds of asset" {
            "Show: "
            @if kind.is_none() { strong aria-current="true" { "every kind" } } @else { a href="/community-assets" { "every kind" } }
            @for (code, label, _) in KINDS {
                " · "
                @if kind == Some(code) { strong aria-current="true" { (label) } }
                @else { a href={ "/community-assets?kind=" (code) } { (label) } }
            }
        }
        @if shown.is_empty() {
            p { "No community assets of this kind are recorded yet." }
        } @else {
            figure {
                img src={ "/community-assets.svg" (query) } width=(WIDTH) alt={ "Map of the " (shown.len()) " community assets listed in the table below" };
                figcaption {
                    "Key: "
                    @for (i, (code, label, _)) in KINDS.iter().enumerate() {
                        @if kind.is_none() || kind == Some(*code) {
                            span {
                                svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true" { (mark(code, 7.0, 7.5)) }
                                " " (label) @if i + 1 < KINDS.len() { "; " }
                            }
                        }
                    }
                }
            }
            div class="table-scroll" role="region" tabindex="0" aria-label="Community assets" { table {
                caption { (shown.len()) " community assets" }
                thead { tr { th scope="col" { "Asset" } th scope="col" { "Kind" } th scope="col" { "Run by" } th scope="col" { "Postcode" } th scope="col" { "What it offers" } } }
                tbody {
                    @for a in &shown {
                        tr {
                            th scope="row" { a href={ "/openreferral/services/" (a.id) } { (a.name) } }
                            td { (kind_label(&a.kind).unwrap_or("")) }
                            td { (a.organisation) }
                            td { (a.postcode.as_deref().unwrap_or("")) }
                            td { (a.description) }
                        }
                    }
                }
            } }
        }
    };
    Ok(page(&state, "Community assets", body).into_response())
}

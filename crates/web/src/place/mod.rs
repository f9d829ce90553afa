//! The place intelligence pages — home, search, the area profile, the indicator
//! view, hidden deprivation, compare, the outreach planner, the place report —
//! and the open data API under `/api/v1`, with its documentation; `picker` is
//! the one area field (name, postcode or code) every form that asks for a place uses.

pub(crate) mod api;
pub(crate) mod apidocs;
mod hidden;
mod indicator;
mod outreach;
pub(crate) mod pages;
pub(crate) mod picker;
pub(crate) mod report;

use axum::routing::get;
use axum::Router;

use syndemic_model::AreaCode;

use crate::{AppState, WebError};

/// The place pages' routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/areas/{code}", get(pages::profile))
        .route("/areas/{code}/{file}", get(pages::profile_download))
        .route("/indicators/{id}", get(indicator::indicator))
        .route("/indicators/{id}/{file}", get(indicator::download))
        .route("/hidden", get(hidden::hidden))
        .route("/hidden.csv", get(hidden::hidden_csv))
        .route("/hidden.xlsx", get(hidden::hidden_xlsx))
        .route("/hidden.svg", get(hidden::hidden_svg))
        .route("/compare", get(pages::compare))
        .route("/compare.csv", get(pages::compare_csv))
        .route("/compare.xlsx", get(pages::compare_xlsx))
        .route("/report/{file}", get(report::report))
        .route("/report/{code}/{file}", get(report::report_table))
        .route("/planner", get(outreach::planner))
        .route("/planner.csv", get(outreach::planner_csv))
        .route("/planner.xlsx", get(outreach::planner_xlsx))
        .route("/planner.svg", get(outreach::planner_svg))
}

/// The open data API, mounted under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The area an indicator is shown for when none is asked: England where it has
/// a value there, else the area whose value covers the most people (a residents'
/// survey's place, a local indicator's county) — never an empty England.
pub(crate) async fn default_area(
    store: &dyn syndemic_store::Database,
    id: &str,
) -> Result<AreaCode, WebError> {
    let england = crate::parse_code("E92000001")?;
    let above = store.observations_above_wards(id).await?;
    if above.is_empty() || above.iter().any(|o| o.area == england && o.value.is_some()) {
        return Ok(england);
    }
    Ok(above
        .iter()
        .filter(|o| o.value.is_some())
        .max_by(|a, b| {
            a.denominator
                .unwrap_or(0.0)
                .total_cmp(&b.denominator.unwrap_or(0.0))
        })
        .map_or(england, |o| o.area))
}

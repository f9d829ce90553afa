//! The outreach planner's page (`/planner`), its CSV of stops (`/planner.csv`) and
//! its API answer (`/api/v1/planner`): `k` stops among candidate sites — generated
//! grid points, or named sites pasted as CSV — chosen greedily to reach the most
//! need within a radius (see [`syndemic_place::planner`]).

use axum::extract::{Query, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use rustc_hash::FxHashSet;
use serde::Deserialize;

use super::picker::{self, number_in};
use crate::shell::page;
use crate::shell::svg::{choropleth_with, fmt, MapArea, Marker};
use crate::shell::table::{Cell, DataTable, Download};
use crate::{AppState, WebError};
use syndemic_place::planner::{
    coverage, demand, grid, parse_sites, plan, stops, stops_csv, Demand, NeedOptions, Point, Stop,
};

/// The most stops and candidate sites one request may ask for.
const MAX_STOPS: usize = 50;
const MAX_SITES: usize = 20_000;

/// The planner's form as sent: text, so that anything typed comes back to the
/// form with its error beside it.
#[derive(Deserialize, Default)]
pub struct PlanQuery {
    stops: Option<String>,
    radius_km: Option<String>,
    grid_km: Option<String>,
    indicator: Option<String>,
    within: Option<String>,
    /// Candidate sites as CSV text (`name,lon,lat`); the grid when empty.
    sites: Option<String>,
}

/// Why no plan was made: a field's error (shown beside it), or another failure.
pub(crate) enum Refused {
    Field(&'static str, String),
    Web(WebError),
}

impl From<WebError> for Refused {
    fn from(e: WebError) -> Refused {
        Refused::Web(e)
    }
}

impl From<syndemic_place::PlaceError> for Refused {
    fn from(e: syndemic_place::PlaceError) -> Refused {
        Refused::Web(e.into())
    }
}

impl From<Refused> for WebError {
    fn from(r: Refused) -> WebError {
        match r {
            Refused::Field(field, message) => WebError::BadRequest(format!("{field}: {message}")),
            Refused::Web(e) => e,
        }
    }
}

/// A plan worked out for a query.
pub(crate) struct Outcome {
    pub demand: Demand,
    pub covered: Vec<bool>,
    pub stops: Vec<Stop>,
    pub covered_need: f64,
    pub total_need: f64,
    pub candidates: usize,
    pub radius_km: f64,
    /// The grid's spacing, where the sites are a grid (widened from the one asked
    /// for when that would give more than [`MAX_SITES`]).
    pub grid_km: Option<f64>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl PlanQuery {
    fn stops(&self) -> Result<usize, Refused> {
        number_in(&self.stops, 5, 1..=MAX_STOPS, "The number of stops")
            .map_err(|e| Refused::Field("stops", e))
    }
    fn radius(&self) -> Result<f64, Refused> {
        match number_in(&self.radius_km, 3.0, 0.0..=100.0, "The travel radius in km") {
            Ok(r) if r > 0.0 => Ok(r),
            Ok(_) => Err(Refused::Field(
                "radius_km",
                "The travel radius must be above 0 km".into(),
            )),
            Err(e) => Err(Refused::Field("radius_km", e)),
        }
    }
    fn grid(&self) -> Result<f64, Refused> {
        number_in(&self.grid_km, 2.0, 0.25..=100.0, "The grid's spacing in km")
            .map_err(|e| Refused::Field("grid_km", e))
    }

    /// The same query as a URL's query string.
    fn encoded(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("stops", &self.stops),
            ("radius_km", &self.radius_km),
            ("grid_km", &self.grid_km),
            ("indicator", &self.indicator),
            ("within", &self.within),
            ("sites", &self.sites),
        ] {
            if let Some(v) = non_empty(v) {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        parts.join("&")
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) async fn outcome(state: &AppState, q: &PlanQuery) -> Result<Outcome, Refused> {
    // Every number is checked, the grid's spacing too where sites are given.
    let (k, radius, spacing) = (q.stops()?, q.radius()?, q.grid()?);
    let Some(population) = state.population.as_deref() else {
        return Err(WebError::BadRequest(
            "this place has no population source to count people with".into(),
        )
        .into());
    };
    // A code is taken as it is (an area with no small areas plans nothing); a
    // name or postcode is resolved by the picker.
    let typed = q.within.as_deref().unwrap_or("").trim();
    let within = match syndemic_model::AreaCode::parse(typed) {
        Ok(code) => Some(code),
        Err(_) => match picker::resolve_optional(state, typed).await? {
            Ok(p) => p.map(|p| p.code),
            Err(e) => return Err(Refused::Field("within", e)),
        },
    };
    let indicator = non_empty(&q.indicator);
    let demand = demand(
        state.db.as_ref(),
        NeedOptions {
            population,
            indicator,
            within,
        },
    )
    .await?;
    let mut grid_km = None;
    let candidates: Vec<(String, Point)> = match non_empty(&q.sites) {
        Some(text) => {
            parse_sites(text, "the candidate sites").map_err(|e| Refused::Field("sites", e))?
        }
        None => {
            // A spacing too fine for the area is widened until the grid fits.
            let mut step = spacing;
            let mut sites = grid(&demand.points, step);
            while sites.len() > MAX_SITES {
                step *= (sites.len() as f64 / MAX_SITES as f64).sqrt() * 1.01;
                sites = grid(&demand.points, step);
            }
            grid_km = Some(step);
            sites
        }
    };
    if candidates.len() > MAX_SITES {
        return Err(Refused::Field(
            "sites",
            format!(
                "{} candidate sites: give at most {MAX_SITES}",
                candidates.len()
            ),
        ));
    }
    let sites: Vec<Point> = candidates.iter().map(|c| c.1).collect();
    let covers = coverage(&demand.points, &sites, radius);
    let result = plan(&covers, &demand.need, k);
    let reached: FxHashSet<u32> = result
        .stops
        .iter()
        .flat_map(|(c, _)| covers[*c].iter().copied())
        .collect();
    let covered = (0..demand.points.len() as u32)
        .map(|i| reached.contains(&i))
        .collect();
    Ok(Outcome {
        covered,
        stops: stops(&candidates, &covers, &result),
        covered_need: result.covered,
        total_need: result.total,
        candidates: candidates.len(),
        radius_km: radius,
        grid_km,
        demand,
    })
}

fn stops_table(o: &Outcome) -> DataTable {
    let mut t = DataTable::new(
        "Stops in the order chosen",
        &[
            "Stop",
            "Site",
            "Longitude",
            "Latitude",
            "Need newly reached",
            "Need reached so far",
            "Share of all need (%)",
            "Small areas in reach",
        ],
    );
    for s in &o.stops {
        t.push(vec![
            Cell::Number(Some(s.order as f64)),
            Cell::text(s.name.clone()),
            Cell::Number(Some(s.point.lon)),
            Cell::Number(Some(s.point.lat)),
            Cell::Number(Some(s.need_covered)),
            Cell::Number(Some(s.cumulative)),
            Cell::Number(Some(100.0 * s.share_of_need)),
            Cell::Number(Some(s.areas_reached as f64)),
        ]);
    }
    t
}

/// The planner's form with what was typed (the pasted sites too) and any
/// errors beside their fields.
async fn form(
    state: &AppState,
    q: &PlanQuery,
    errors: &[(&str, String)],
) -> Result<Markup, WebError> {
    let indicators = state.db.indicators().await?;
    let error_of = |f: &str| {
        errors
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, m)| m.as_str())
    };
    let typed = |v: &Option<String>, default: &str| {
        non_empty(v).map_or_else(|| default.to_owned(), str::to_owned)
    };
    let field = |name: &str, label: &str, body: Markup| {
        let err = error_of(name);
        html! {
            div class="field" {
                label for=(name) { (label) }
                @if let Some(e) = err { p class="field-error" id=(format!("{name}-error")) { "Error: " (e) } }
                (body)
            }
        }
    };
    let invalid = |name: &str| error_of(name).map(|_| "true");
    let described = |name: &str| error_of(name).map(|_| format!("{name}-error"));
    Ok(html! {
        (picker::error_summary(errors))
        form method="get" action="/planner" {
            (field("stops", "Number of stops (1 to 50)", html! { input id="stops" name="stops" type="number" min="1" max=(MAX_STOPS) value=(typed(&q.stops, "5")) aria-invalid=[invalid("stops")] aria-describedby=[described("stops")]; }))
            (field("radius_km", "Travel radius each stop serves (km)", html! { input id="radius_km" name="radius_km" type="number" min="0.5" max="100" step="0.5" value=(typed(&q.radius_km, "3")) aria-invalid=[invalid("radius_km")] aria-describedby=[described("radius_km")]; }))
            (field("grid_km", "Candidate sites on a grid this many km apart", html! { input id="grid_km" name="grid_km" type="number" min="0.25" step="0.25" value=(typed(&q.grid_km, "2")) aria-invalid=[invalid("grid_km")] aria-describedby=[described("grid_km")]; }))
            (field("indicator", "Weight need by an indicator (optional)", html! {
                select id="indicator" name="indicator" {
                    option value="" { "People and deprivation only" }
                    @for i in indicators.iter().filter(|i| !i.id.contains('.') && i.measure_type.as_deref() == Some("proportion")) {
                        option value=(i.id) selected[non_empty(&q.indicator) == Some(i.id.as_str())] { (i.name) }
                    }
                }
            }))
            (picker::field("within", "Within area (optional)", q.within.as_deref().unwrap_or(""), error_of("within"), false))
            (field("sites", "Or your own candidate sites, as CSV with name, lon and lat columns (replaces the grid)", html! {
                textarea id="sites" name="sites" rows="4" cols="50" aria-invalid=[invalid("sites")] aria-describedby=[described("sites")] { (q.sites.clone().unwrap_or_default()) }
            }))
            button type="submit" { "Plan the stops" }
        }
        (picker::suggestions(state).await?)
    })
}

pub async fn planner(
    State(state): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, WebError> {
    let o = match outcome(&state, &q).await {
        Ok(o) => o,
        Err(Refused::Field(field, message)) => {
            let body = html! {
                p class="lead" { "Where should a limited number of stops — a vaccination bus, an advice van — go to reach the most people in need?" }
                (form(&state, &q, &[(field, message)]).await?)
            };
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, "Outreach planner", body),
            )
                .into_response());
        }
        Err(Refused::Web(e)) => return Err(e),
    };
    let map = map(&state, &o).await?;
    let download = Download {
        path: "/planner".into(),
        query: q.encoded(),
    };
    let share = 100.0 * o.covered_need / o.total_need.max(1e-12);
    let form = form(&state, &q, &[]).await?;
    Ok(page(
        &state,
        "Outreach planner",
        html! {
            p class="lead" { "Where should a limited number of stops — a vaccination bus, an advice van — go to reach the most people in need? Need is people × a deprivation weight (most deprived tenth 1, least 0.1) × the chosen indicator's unmet share." }
            (form)
            h2 { "Coverage" }
            p { strong { (o.stops.len()) " stops" } " reach " strong { (fmt(share)) " %" } " of the need (" (fmt(o.covered_need)) " of " (fmt(o.total_need)) ") across " (o.demand.areas.len()) " small areas, chosen among " (o.candidates) " candidate sites" @if let Some(g) = o.grid_km { " (a grid " (fmt(g)) " km apart)" } ", each serving " (fmt(o.radius_km)) " km around it. The greedy choice reaches at least 63 % of the best possible." }
            @if let Some(map) = map {
                figure {
                    (crate::shell::svg::skippable(map, o.demand.areas.len(), "planner-map"))
                    figcaption { "Dark blue: small areas within reach; pale: not reached; red circles: the stops in the order chosen, dashed: the radius each serves. The table lists the same stops. " a href=(download.href("svg")) { "Download the map (SVG)" } }
                }
            }
            (stops_table(&o).html(Some(&download)))
        },
    )
    .into_response())
}

/// `/planner.csv` and `/planner.xlsx`: the chosen stops.
pub async fn planner_csv(
    State(state): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, WebError> {
    let o = outcome(&state, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"outreach-stops.csv\"",
            ),
        ],
        stops_csv(&o.stops),
    )
        .into_response())
}

pub async fn planner_xlsx(
    State(state): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, WebError> {
    let o = outcome(&state, &q).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"outreach-stops.xlsx\"",
            ),
        ],
        stops_table(&o).xlsx()?,
    )
        .into_response())
}

/// The small areas, those within reach dark, with the numbered stops on top.
async fn map(state: &AppState, o: &Outcome) -> Result<Option<maud::Markup>, WebError> {
    let shapes = state.shapes().await?;
    let areas: Vec<MapArea> = o
        .demand
        .areas
        .iter()
        .zip(&o.covered)
        .filter_map(|(code, hit)| {
            Some(MapArea {
                code: *code,
                rings: shapes.outlines.get(code)?,
                step: Some(if *hit { 3 } else { 0 }),
                label: format!(
                    "{code}: {}",
                    if *hit {
                        "within reach of a stop"
                    } else {
                        "not reached"
                    }
                ),
                href: format!("/areas/{code}"),
                focus: false,
            })
        })
        .collect();
    let markers: Vec<Marker> = o
        .stops
        .iter()
        .map(|s| Marker {
            label: format!("Stop {}: {}", s.order, s.name),
            lon: s.point.lon,
            lat: s.point.lat,
            radius_km: o.radius_km,
        })
        .collect();
    Ok((!areas.is_empty()).then(|| {
        choropleth_with(
            &areas,
            &markers,
            "Small areas within reach of a stop (dark) and the numbered stops with their catchments",
        )
    }))
}

/// `/planner.svg`: the planner's map for the same query.
pub async fn planner_svg(
    State(state): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, WebError> {
    let o = outcome(&state, &q).await?;
    let chart = map(&state, &o)
        .await?
        .ok_or_else(|| WebError::NotFound("no boundaries are stored, so there is no map".into()))?;
    Ok(crate::shell::svg::download(chart, "outreach-plan"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_round_trip_their_text() {
        let q = PlanQuery {
            sites: Some("name,lon,lat\nA & B,-1,52".into()),
            ..PlanQuery::default()
        };
        assert_eq!(
            q.encoded(),
            "sites=name%2Clon%2Clat%0AA%20%26%20B%2C-1%2C52"
        );
    }
}

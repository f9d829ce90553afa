//! The open JSON API under `/api/v1`, described by the OpenAPI 3.1 document at
//! `/api/v1/openapi.json`. Lists answer in Open Referral UK's page envelope.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use syndemic_model::{AreaCode, AreaType};
use syndemic_store::Observation;

use crate::shell::api::{list, tagged, ApiError, Paging};
use crate::{parse_code, AppState, WebError};
use syndemic_place::{small_areas_within, HiddenOptions, Neighbours};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/docs", get(crate::place::apidocs::docs))
        .route("/areas", get(areas))
        .route("/areas/{code}", get(area))
        .route("/indicators", get(indicators))
        .route("/indicators/{id}/data", get(data))
        .route("/hidden", get(hidden))
        .route("/area-types", get(area_types))
        .route("/indicators/{id}/inequality", get(inequality))
        .route("/planner", get(planner))
        .fallback(|| async {
            ApiError(WebError::NotFound(
                "no such API route: see /api/v1/openapi.json".into(),
            ))
        })
}

#[derive(Deserialize)]
pub struct AreasQuery {
    #[serde(rename = "type")]
    area_type: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

fn parse_type(text: &str) -> Result<AreaType, WebError> {
    AreaType::from_key(text).ok_or_else(|| {
        WebError::BadRequest(format!(
            "type={text}: give one of {}",
            AreaType::ALL
                .iter()
                .map(|t| t.key())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

async fn areas(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<AreasQuery>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = query.paging.parse()?;
    let types: Vec<AreaType> = match &query.area_type {
        Some(t) => vec![parse_type(t)?],
        None => AreaType::ALL.to_vec(),
    };
    let mut items = Vec::new();
    for t in types {
        for a in state.db.areas_of_type(t).await? {
            items.push(AreaItem {
                code: a.code,
                name: a.name,
                area_type: t.key(),
            });
        }
    }
    Ok(list(&headers, items, page, size, csv)?)
}

/// One area of a list (schema `AreaSummary`).
#[derive(Serialize)]
struct AreaItem {
    code: AreaCode,
    name: Option<String>,
    #[serde(rename = "type")]
    area_type: &'static str,
}

/// One published value (schema `Observation`); an inequality result adds its
/// `measure`.
#[derive(Serialize)]
struct ObservationOut<'a> {
    indicator: &'a str,
    area: AreaCode,
    period: String,
    sex: &'a str,
    age: &'a str,
    category_type: &'a str,
    category: &'a str,
    value: Option<f64>,
    lower95: Option<f64>,
    upper95: Option<f64>,
    lower998: Option<f64>,
    upper998: Option<f64>,
    count: Option<f64>,
    denominator: Option<f64>,
    note: Option<&'a str>,
    compared_to_england: Option<&'a str>,
    compared_to_parent: Option<&'a str>,
    recent_trend: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    measure: Option<&'static str>,
}

impl<'a> From<&'a Observation> for ObservationOut<'a> {
    fn from(o: &'a Observation) -> Self {
        ObservationOut {
            indicator: &o.indicator,
            area: o.area,
            period: o.period.to_string(),
            sex: &o.sex,
            age: &o.age,
            category_type: &o.category_type,
            category: &o.category,
            value: o.value,
            lower95: o.lower95,
            upper95: o.upper95,
            lower998: o.lower998,
            upper998: o.upper998,
            count: o.count,
            denominator: o.denominator,
            note: o.note.as_deref(),
            compared_to_england: o.compared_to_england.as_deref(),
            compared_to_parent: o.compared_to_parent.as_deref(),
            recent_trend: o.recent_trend.as_deref(),
            measure: None,
        }
    }
}

/// An area with its parents, deprivation and latest values (schema `Area`).
#[derive(Serialize)]
struct AreaOut<'a> {
    code: AreaCode,
    name: Option<String>,
    #[serde(rename = "type")]
    area_type: &'static str,
    vintages: Vec<String>,
    parents: Vec<ParentOut>,
    deprivation: Vec<DeprivationOut>,
    latest: Vec<ObservationOut<'a>>,
}

#[derive(Serialize)]
struct ParentOut {
    code: AreaCode,
    name: Option<String>,
    level: &'static str,
    vintage: String,
}

#[derive(Serialize)]
struct DeprivationOut {
    edition: String,
    domain: String,
    rank: i64,
    decile: i64,
    score: Option<f64>,
}

async fn area(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let code = parse_code(&code)?;
    let store = state.db.as_ref();
    let Some(info) = store.area(code).await? else {
        return Err(WebError::NotFound(format!("{code} is not in the store")).into());
    };
    let parents: Vec<ParentOut> = store
        .parents(code)
        .await?
        .into_iter()
        .map(|p| ParentOut {
            code: p.link.parent,
            name: p.name,
            level: p.link.level.key(),
            vintage: p.link.vintage,
        })
        .collect();
    let deprivation: Vec<DeprivationOut> = store
        .deprivation(code)
        .await?
        .into_iter()
        .map(|d| DeprivationOut {
            edition: d.edition,
            domain: d.domain,
            rank: d.rank,
            decile: d.decile,
            score: d.score,
        })
        .collect();
    // Each indicator's rows for the area at its latest period, as published.
    let mut rows_of = Vec::new();
    for i in store.indicators().await? {
        let rows = state.observations(&i.id).await?;
        let period = rows
            .iter()
            .filter(|o| o.area == code)
            .map(|o| o.period)
            .max_by_key(|p| p.sort_key());
        rows_of.push((rows, period));
    }
    let latest = rows_of
        .iter()
        .flat_map(|(rows, period)| {
            rows.iter()
                .filter(|o| o.area == code && Some(o.period) == *period)
                .map(ObservationOut::from)
        })
        .collect();
    Ok(tagged(
        &headers,
        &AreaOut {
            code,
            name: info.area.name,
            area_type: code.area_type().key(),
            vintages: info.vintages,
            parents,
            deprivation,
            latest,
        },
    )?)
}

/// An indicator and the kinds of area it has values for (schema `Indicator`).
#[derive(Serialize)]
struct IndicatorOut {
    id: String,
    name: String,
    definition: Option<String>,
    measure_type: Option<String>,
    multiplier: Option<f64>,
    polarity: Option<&'static str>,
    unit: Option<String>,
    source: Option<String>,
    licence: Option<String>,
    domain: Option<String>,
    area_types: Vec<&'static str>,
}

async fn indicators(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = paging.parse()?;
    let store = state.db.as_ref();
    let mut items = Vec::new();
    for i in store.indicators().await? {
        let mut types: Vec<&str> = state
            .observations(&i.id)
            .await?
            .iter()
            .map(|o| o.area.area_type().key())
            .collect();
        types.sort_unstable();
        types.dedup();
        items.push(IndicatorOut {
            polarity: i.polarity.map(|p| p.key()),
            id: i.id,
            name: i.name,
            definition: i.definition,
            measure_type: i.measure_type,
            multiplier: i.multiplier,
            unit: i.unit,
            source: i.source,
            licence: i.licence,
            domain: i.domain,
            area_types: types,
        });
    }
    Ok(list(&headers, items, page, size, csv)?)
}

#[derive(Deserialize)]
pub struct DataQuery {
    area_type: Option<String>,
    parent: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

async fn data(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<DataQuery>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = query.paging.parse()?;
    let store = state.db.as_ref();
    if store.indicator(&id).await?.is_none() {
        return Err(WebError::NotFound(format!(
            "no indicator `{id}`: /api/v1/indicators lists them"
        ))
        .into());
    }
    let area_type = query.area_type.as_deref().map(parse_type).transpose()?;
    let within: Option<Vec<AreaCode>> = match &query.parent {
        Some(p) => {
            let parent = parse_code(p)?;
            let mut inside: Vec<AreaCode> = store
                .children(parent, None)
                .await?
                .iter()
                .map(|l| l.child)
                .collect();
            inside.extend(
                small_areas_within(store, parent)
                    .await
                    .map_err(WebError::from)?,
            );
            inside.sort();
            inside.dedup();
            Some(inside)
        }
        None => None,
    };
    let rows = state.observations(&id).await?;
    let items: Vec<ObservationOut> = rows
        .iter()
        .filter(|o| area_type.is_none_or(|t| o.area.area_type() == t))
        .filter(|o| {
            within
                .as_ref()
                .is_none_or(|w| w.binary_search(&o.area).is_ok())
        })
        .map(ObservationOut::from)
        .collect();
    Ok(list(&headers, items, page, size, csv)?)
}

#[derive(Deserialize)]
pub struct HiddenQuery {
    within: Option<String>,
    gap: Option<String>,
    decile: Option<String>,
    radius_km: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// A small area more deprived than its neighbours (schema `HiddenArea`).
#[derive(Serialize)]
struct HiddenOut {
    area: AreaCode,
    decile: u8,
    score: Option<f64>,
    neighbours_decile: f64,
    neighbours_score: Option<f64>,
    neighbours: usize,
    gap: f64,
}

async fn hidden(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HiddenQuery>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = query.paging.parse()?;
    let gap = match &query.gap {
        None => HiddenOptions::default().min_gap,
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|g| (0.0..=9.0).contains(g))
            .ok_or_else(|| {
                WebError::BadRequest(format!("gap={t}: give a number of deciles from 0 to 9"))
            })?,
    };
    let decile = match &query.decile {
        None => HiddenOptions::default().max_decile,
        Some(t) => t
            .parse::<u8>()
            .ok()
            .filter(|d| (1..=10).contains(d))
            .ok_or_else(|| {
                WebError::BadRequest(format!("decile={t}: give a decile from 1 to 10"))
            })?,
    };
    let within = query.within.as_deref().map(parse_code).transpose()?;
    let radius = match &query.radius_km {
        None => None,
        Some(t) => Some(t.parse::<f64>().map_err(|_| {
            WebError::BadRequest(format!(
                "radius_km={t}: give a number of km (0: neighbours share a boundary)"
            ))
        })?),
    };
    let found = state
        .find_hidden(
            within,
            HiddenOptions {
                min_gap: gap,
                max_decile: decile,
            },
            Neighbours::from_radius(radius).map_err(WebError::from)?,
        )
        .await?;
    let items: Vec<HiddenOut> = found
        .iter()
        .map(|h| HiddenOut {
            area: h.area,
            decile: h.decile,
            score: h.score,
            neighbours_decile: h.neighbours_decile,
            neighbours_score: h.neighbours_score,
            neighbours: h.neighbours,
            gap: h.gap,
        })
        .collect();
    Ok(list(&headers, items, page, size, csv)?)
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::place::apidocs::OPENAPI,
    )
}

/// A kind of area (schema `AreaType`).
#[derive(Serialize)]
struct AreaTypeOut {
    key: &'static str,
    label: &'static str,
    prefix: &'static str,
    areas: usize,
}

/// Every kind of area, with its GSS prefix and how many the store holds.
async fn area_types(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = paging.parse()?;
    let mut items = Vec::new();
    for t in AreaType::ALL {
        items.push(AreaTypeOut {
            key: t.key(),
            label: t.label(),
            prefix: t.prefix(),
            areas: state.db.areas_of_type(t).await?.len(),
        });
    }
    Ok(list(&headers, items, page, size, csv)?)
}

#[derive(Deserialize)]
pub struct InequalityQuery {
    area: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// The inequality results of an indicator in an area, every period and sex: the
/// slope and relative index of inequality, and the gap and ratio between the most
/// and least deprived groups.
async fn inequality(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<InequalityQuery>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = query.paging.parse()?;
    if state.db.indicator(&id).await?.is_none() || id.contains('.') {
        return Err(WebError::NotFound(format!(
            "no indicator `{id}`: /api/v1/indicators lists them"
        ))
        .into());
    }
    let area = parse_code(query.area.as_deref().unwrap_or("E92000001"))?;
    let mut results = Vec::new();
    for measure in ["sii", "rii", "gap", "ratio"] {
        results.push((
            measure,
            state.observations(&format!("{id}.{measure}")).await?,
        ));
    }
    let mut items: Vec<ObservationOut> = results
        .iter()
        .flat_map(|(measure, rows)| {
            rows.iter()
                .filter(|o| o.area == area)
                .map(|o| ObservationOut {
                    measure: Some(*measure),
                    ..ObservationOut::from(o)
                })
        })
        .collect();
    items.sort_by(|a, b| (&a.period, a.sex, a.measure).cmp(&(&b.period, b.sex, b.measure)));
    Ok(list(&headers, items, page, size, csv)?)
}

/// The outreach planner's answer (schema `Plan`).
#[derive(Serialize)]
struct PlanOut<'a> {
    stops: Vec<StopOut<'a>>,
    need_covered: f64,
    need_total: f64,
    share_of_need: f64,
    small_areas: usize,
    candidate_sites: usize,
    radius_km: f64,
    grid_km: Option<f64>,
}

/// One stop of the outreach plan (schema `Stop`).
#[derive(Serialize)]
struct StopOut<'a> {
    order: usize,
    name: &'a str,
    lon: f64,
    lat: f64,
    need_covered: f64,
    cumulative: f64,
    share_of_need: f64,
    areas_reached: usize,
}

/// The outreach planner's stops as JSON (the `/planner` page's query).
async fn planner(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<crate::place::outreach::PlanQuery>,
) -> Result<Response, ApiError> {
    let o = crate::place::outreach::outcome(&state, &query)
        .await
        .map_err(WebError::from)?;
    let stops: Vec<StopOut> = o
        .stops
        .iter()
        .map(|s| StopOut {
            order: s.order,
            name: &s.name,
            lon: s.point.lon,
            lat: s.point.lat,
            need_covered: s.need_covered,
            cumulative: s.cumulative,
            share_of_need: s.share_of_need,
            areas_reached: s.areas_reached,
        })
        .collect();
    Ok(tagged(
        &headers,
        &PlanOut {
            stops,
            need_covered: o.covered_need,
            need_total: o.total_need,
            share_of_need: o.covered_need / o.total_need.max(1e-12),
            small_areas: o.demand.areas.len(),
            candidate_sites: o.candidates,
            radius_km: o.radius_km,
            grid_km: o.grid_km,
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::api::conformance::assert_conforms;
    use syndemic_model::Period;

    #[test]
    fn answers_match_the_openapi_document() {
        let code = AreaCode::parse("E01000001").unwrap();
        assert_conforms(
            &AreaItem {
                code,
                name: Some("Hartmoor 001A".into()),
                area_type: "lsoa",
            },
            "AreaSummary",
        );
        let o = Observation {
            indicator: "90366".into(),
            area: code,
            period: Period::parse("2022").unwrap(),
            sex: "Persons".into(),
            age: "All ages".into(),
            category_type: String::new(),
            category: String::new(),
            count: Some(12.0),
            denominator: Some(1500.0),
            value: Some(8.0),
            lower95: Some(4.1),
            upper95: Some(14.0),
            lower998: None,
            upper998: None,
            note: None,
            compared_to_england: Some("Similar".into()),
            compared_to_parent: None,
            recent_trend: None,
        };
        assert_conforms(&ObservationOut::from(&o), "Observation");
        assert_conforms(
            &ObservationOut {
                measure: Some("sii"),
                ..ObservationOut::from(&o)
            },
            "InequalityResult",
        );
        assert_conforms(
            &AreaOut {
                code,
                name: Some("Hartmoor 001A".into()),
                area_type: "lsoa",
                vintages: vec!["LSOA21".into()],
                parents: vec![ParentOut {
                    code: AreaCode::parse("E07000001").unwrap(),
                    name: Some("Hartford".into()),
                    level: "ltla",
                    vintage: "2021".into(),
                }],
                deprivation: vec![DeprivationOut {
                    edition: "IoD2025".into(),
                    domain: "imd".into(),
                    rank: 1200,
                    decile: 1,
                    score: Some(45.2),
                }],
                latest: vec![ObservationOut::from(&o)],
            },
            "Area",
        );
        assert_conforms(
            &IndicatorOut {
                id: "90366".into(),
                name: "Life expectancy at birth".into(),
                definition: None,
                measure_type: Some("life-expectancy".into()),
                multiplier: None,
                polarity: Some("higher-is-better"),
                unit: Some("years".into()),
                source: Some("OHID".into()),
                licence: Some("OGL v3".into()),
                domain: None,
                area_types: vec!["lsoa", "district"],
            },
            "Indicator",
        );
        assert_conforms(
            &HiddenOut {
                area: code,
                decile: 3,
                score: Some(30.0),
                neighbours_decile: 7.5,
                neighbours_score: Some(12.0),
                neighbours: 6,
                gap: 4.5,
            },
            "HiddenArea",
        );
        assert_conforms(
            &AreaTypeOut {
                key: "lsoa",
                label: "LSOA",
                prefix: "E01",
                areas: 400,
            },
            "AreaType",
        );
        let stop = StopOut {
            order: 1,
            name: "Hartford library",
            lon: -1.5,
            lat: 53.0,
            need_covered: 120.0,
            cumulative: 120.0,
            share_of_need: 0.4,
            areas_reached: 9,
        };
        assert_conforms(&stop, "Stop");
        assert_conforms(
            &PlanOut {
                stops: vec![stop],
                need_covered: 120.0,
                need_total: 300.0,
                share_of_need: 0.4,
                small_areas: 40,
                candidate_sites: 12,
                radius_km: 2.0,
                grid_km: None,
            },
            "Plan",
        );
    }
}

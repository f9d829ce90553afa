//! The open JSON API under `/api/v1`, described by the OpenAPI 3.1 document at
//! `/api/v1/openapi.json`. Lists answer in Open Referral UK's page envelope.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use syndemic_model::{AreaCode, AreaType};
use syndemic_store::Observation;
use syndemic_store::Store;

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

/// Errors as JSON: `{"error": "…"}` with 400, 404 or 500.
pub struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(e)
    }
}

impl From<syndemic_store::StoreError> for ApiError {
    fn from(e: syndemic_store::StoreError) -> Self {
        ApiError(WebError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if let WebError::SignIn = self.0 {
            return (
                status,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(json!({ "error": "authentication required: send an organisation's API token as `Authorization: Bearer …`" })),
            )
                .into_response();
        }
        if let WebError::Store(e) = &self.0 {
            // The detail goes to the log, never to the caller.
            tracing::error!(error = %e, "an API request failed on the store");
            return (
                status,
                Json(json!({ "error": "the store could not answer just now; nothing was changed: try again" })),
            )
                .into_response();
        }
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

/// A JSON answer with a strong ETag of its bytes; `If-None-Match` gets 304.
fn tagged(headers: &HeaderMap, body: Value) -> Response {
    let text = body.to_string();
    let tag = format!("\"{:016x}\"", {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        text.hash(&mut h);
        h.finish()
    });
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == tag)
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, tag),
        ],
        text,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct Paging {
    page: Option<String>,
    per_page: Option<String>,
    /// `json` (the default, one page in the envelope) or `csv` (every item).
    format: Option<String>,
}

impl Paging {
    /// (page from 1, size, CSV wanted), or 400 saying what is allowed.
    pub(crate) fn parse(&self) -> Result<(usize, usize, bool), WebError> {
        let number = |text: &Option<String>, name: &str, default: usize, max: usize| match text {
            None => Ok(default),
            Some(t) => t
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    WebError::BadRequest(format!("{name}={t}: give a whole number from 1 to {max}"))
                }),
        };
        let csv = match self.format.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(WebError::BadRequest(format!(
                    "format={other}: give json or csv"
                )))
            }
        };
        Ok((
            number(&self.page, "page", 1, 1_000_000)?,
            number(&self.per_page, "per_page", 50, 1_000)?,
            csv,
        ))
    }
}

/// A list: one page in the envelope as JSON, or every item as CSV (columns the
/// items' fields, lists joined with `;`).
pub(crate) fn list(
    headers: &HeaderMap,
    items: Vec<Value>,
    page: usize,
    size: usize,
    csv: bool,
) -> Response {
    if !csv {
        return tagged(headers, envelope(items, page, size));
    }
    let columns: Vec<String> = items
        .first()
        .and_then(|i| i.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let cell = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    let _ = out.write_record(&columns);
    for item in &items {
        let _ = out.write_record(columns.iter().map(|c| cell(&item[c])));
    }
    let body = out.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"syndemic.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// Open Referral UK's page envelope around one page of `items`.
fn envelope(items: Vec<Value>, page: usize, size: usize) -> Value {
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let contents: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    json!({
        "contents": contents,
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": size,
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": contents.is_empty(),
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
            items.push(json!({ "code": a.code.as_str(), "name": a.name, "type": t.key() }));
        }
    }
    Ok(list(&headers, items, page, size, csv))
}

fn observation_json(o: &Observation) -> Value {
    json!({
        "indicator": o.indicator, "area": o.area.as_str(), "period": o.period.to_string(),
        "sex": o.sex, "age": o.age, "category_type": o.category_type, "category": o.category,
        "value": o.value, "lower95": o.lower95, "upper95": o.upper95,
        "lower998": o.lower998, "upper998": o.upper998, "count": o.count,
        "denominator": o.denominator, "note": o.note,
        "compared_to_england": o.compared_to_england, "compared_to_parent": o.compared_to_parent,
        "recent_trend": o.recent_trend,
    })
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
    let parents: Vec<Value> = store
        .parents(code)
        .await?
        .iter()
        .map(|p| json!({ "code": p.link.parent.as_str(), "name": p.name, "level": p.link.level.key(), "vintage": p.link.vintage }))
        .collect();
    let deprivation: Vec<Value> = store
        .deprivation(code)
        .await?
        .iter()
        .map(|d| json!({ "edition": d.edition, "domain": d.domain, "rank": d.rank, "decile": d.decile, "score": d.score }))
        .collect();
    // Each indicator's rows for the area at its latest period, as published.
    let mut latest: Vec<Value> = Vec::new();
    for i in store.indicators().await? {
        let rows = state.observations(&i.id).await?;
        let period = rows
            .iter()
            .filter(|o| o.area == code)
            .map(|o| o.period)
            .max_by_key(|p| p.sort_key());
        latest.extend(
            rows.iter()
                .filter(|o| o.area == code && Some(o.period) == period)
                .map(observation_json),
        );
    }
    Ok(tagged(
        &headers,
        json!({
            "code": code.as_str(), "name": info.area.name, "type": code.area_type().key(),
            "vintages": info.vintages, "parents": parents, "deprivation": deprivation,
            "latest": latest,
        }),
    ))
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
        items.push(json!({
            "id": i.id, "name": i.name, "definition": i.definition, "measure_type": i.measure_type,
            "multiplier": i.multiplier, "polarity": i.polarity.map(|p| p.key()), "unit": i.unit,
            "source": i.source, "licence": i.licence, "domain": i.domain, "area_types": types,
        }));
    }
    Ok(list(&headers, items, page, size, csv))
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
    let items: Vec<Value> = state
        .observations(&id)
        .await?
        .iter()
        .filter(|o| area_type.is_none_or(|t| o.area.area_type() == t))
        .filter(|o| {
            within
                .as_ref()
                .is_none_or(|w| w.binary_search(&o.area).is_ok())
        })
        .map(observation_json)
        .collect();
    Ok(list(&headers, items, page, size, csv))
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
    let items: Vec<Value> = found
        .iter()
        .map(|h| {
            json!({
                "area": h.area.as_str(), "decile": h.decile, "score": h.score,
                "neighbours_decile": h.neighbours_decile, "neighbours_score": h.neighbours_score,
                "neighbours": h.neighbours, "gap": h.gap,
            })
        })
        .collect();
    Ok(list(&headers, items, page, size, csv))
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::place::apidocs::OPENAPI,
    )
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
        items.push(json!({
            "key": t.key(), "label": t.label(), "prefix": t.prefix(),
            "areas": state.db.areas_of_type(t).await?.len(),
        }));
    }
    Ok(list(&headers, items, page, size, csv))
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
    let mut items = Vec::new();
    for measure in ["sii", "rii", "gap", "ratio"] {
        for o in state
            .observations(&format!("{id}.{measure}"))
            .await?
            .iter()
            .filter(|o| o.area == area)
        {
            let mut v = observation_json(o);
            v["measure"] = json!(measure);
            items.push(v);
        }
    }
    items.sort_by(|a, b| {
        (
            a["period"].as_str(),
            a["sex"].as_str(),
            a["measure"].as_str(),
        )
            .cmp(&(
                b["period"].as_str(),
                b["sex"].as_str(),
                b["measure"].as_str(),
            ))
    });
    Ok(list(&headers, items, page, size, csv))
}

/// The outreach planner's stops as JSON (the `/planner` page's query).
async fn planner(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<crate::place::outreach::PlanQuery>,
) -> Result<Response, ApiError> {
    let o = crate::place::outreach::outcome(&state, &query).await?;
    let stops: Vec<Value> = o
        .stops
        .iter()
        .map(|s| {
            json!({
                "order": s.order, "name": s.name, "lon": s.point.lon, "lat": s.point.lat,
                "need_covered": s.need_covered, "cumulative": s.cumulative,
                "share_of_need": s.share_of_need, "areas_reached": s.areas_reached,
            })
        })
        .collect();
    Ok(tagged(
        &headers,
        json!({
            "stops": stops,
            "need_covered": o.covered_need,
            "need_total": o.total_need,
            "share_of_need": o.covered_need / o.total_need.max(1e-12),
            "small_areas": o.demand.areas.len(),
            "candidate_sites": o.candidates,
            "radius_km": o.radius_km,
            "grid_km": o.grid_km,
        }),
    ))
}

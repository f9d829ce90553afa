//! `/openreferral`: the service directory's open read API, Open Referral UK 3.0.
//!
//! Open to anyone, with `Access-Control-Allow-Origin: *` on every answer
//! (errors too), and never any personal data: it reads only the directory.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use syndemic_hub::oruk::{self, Near, Query};

use crate::{AppState, WebError};

/// Results per page when the caller does not say; and the most a caller may ask for.
const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 500;
/// The radius of a postcode search when no `proximity` (metres) is given.
const PROXIMITY_M: f64 = 10_000.0;

pub(crate) fn routes() -> Router<AppState> {
    let not_found = |method: Method| async move {
        if method == Method::OPTIONS {
            return (
                StatusCode::NO_CONTENT,
                [
                    (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
                    (header::ACCESS_CONTROL_ALLOW_HEADERS, "*"),
                ],
            )
                .into_response();
        }
        Oops(
            StatusCode::NOT_FOUND,
            "no such directory route: see /openreferral/".into(),
        )
        .into_response()
    };
    Router::new()
        .route("/openreferral", get(root))
        .route("/openreferral/", get(root))
        .route("/openreferral/services", get(services))
        .route("/openreferral/services/{id}", get(service))
        .route(
            "/openreferral/service_at_locations",
            get(service_at_locations),
        )
        .route(
            "/openreferral/service_at_locations/{id}",
            get(service_at_location),
        )
        .route("/openreferral/taxonomies", get(taxonomies))
        .route("/openreferral/taxonomies/{id}", get(taxonomy))
        .route("/openreferral/taxonomy_terms", get(taxonomy_terms))
        .route("/openreferral/taxonomy_terms/{id}", get(taxonomy_term))
        .route("/openreferral/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::map_response(
            |mut r: Response| async move {
                r.headers_mut().insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                r
            },
        ))
}

/// An error as the directory answers it: JSON, with its status.
struct Oops(StatusCode, String);

impl IntoResponse for Oops {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<WebError> for Oops {
    fn from(e: WebError) -> Oops {
        let status = e.status();
        let message = match e {
            WebError::Store(_) | WebError::Internal(_) => {
                "the directory cannot be read just now".to_owned()
            }
            other => other.to_string(),
        };
        Oops(status, message)
    }
}

impl From<syndemic_store::StoreError> for Oops {
    fn from(e: syndemic_store::StoreError) -> Oops {
        Oops::from(WebError::Store(e))
    }
}

async fn root() -> Json<Value> {
    Json(json!({
        "version": oruk::VERSION,
        "profile": "https://github.com/OpenReferralUK/uk-profile/blob/main/docs/index.md",
        "openapi_url": "https://raw.githubusercontent.com/OpenReferralUK/uk-profile/main/schema/openapi.json",
    }))
}

/// The query string's parameters, each parsed, and the page asked for.
struct Asked {
    query: Query,
    page: usize,
    per_page: usize,
}

fn bad(message: String) -> Oops {
    Oops(StatusCode::BAD_REQUEST, message)
}

async fn asked(state: &AppState, raw: Option<String>) -> Result<Asked, Oops> {
    let mut a = Asked {
        query: Query::default(),
        page: 1,
        per_page: PER_PAGE,
    };
    let mut postcode: Option<String> = None;
    let mut proximity: Option<f64> = None;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let v = v.trim().to_owned();
        if v.is_empty() {
            continue;
        }
        let number = |name: &str| -> Result<f64, Oops> {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| {
                    bad(format!(
                        "`{name}` must be a number of 0 or more; `{v}` is not"
                    ))
                })
        };
        let q = &mut a.query;
        match k.as_ref() {
            "page" | "per_page" => {
                let n: usize = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad(format!("`{k}` must be a whole number from 1; `{v}` is not"))
                })?;
                if k == "page" {
                    a.page = n
                } else {
                    a.per_page = n.min(MAX_PER_PAGE)
                }
            }
            "search" | "text" => q.search = Some(v),
            "taxonomy_term_id" => q.taxonomy_term_id = Some(v),
            "taxonomy_id" => q.taxonomy_id = Some(v),
            "organization_id" => q.organization_id = Some(v),
            "minimum_age" => q.minimum_age = Some(number("minimum_age")?),
            "maximum_age" => q.maximum_age = Some(number("maximum_age")?),
            "day" => {
                q.day = Some(oruk::parse_day(&v).ok_or_else(|| {
                    bad(format!(
                        "`day` is a day of the week (MO … SU, or Monday …); `{v}` is not"
                    ))
                })?)
            }
            "start_time" | "end_time" => {
                oruk::parse_time(&v)
                    .ok_or_else(|| bad(format!("`{k}` is a time such as 09:30; `{v}` is not")))?;
                if k == "start_time" {
                    q.start_time = Some(v)
                } else {
                    q.end_time = Some(v)
                }
            }
            "modified_after" => q.modified_after = Some(v),
            "postcode" => postcode = Some(v),
            "proximity" => proximity = Some(number("proximity")?),
            _ => {}
        }
    }
    if let Some(pc) = postcode {
        let normal = syndemic_model::normalise_postcode(&pc)
            .ok_or_else(|| bad(format!("`{pc}` is not a UK postcode")))?;
        let found = state.db.postcode(&normal).await.map_err(Oops::from)?;
        let point = found.and_then(|p| Some((p.latitude?, p.longitude?)));
        // An unknown postcode finds nothing near it (an empty page), not an error.
        let (lat, lon) = point.unwrap_or((f64::NAN, f64::NAN));
        a.query.near = Some(Near {
            lat,
            lon,
            metres: proximity.unwrap_or(PROXIMITY_M),
        });
    }
    Ok(a)
}

async fn services(State(state): State<AppState>, raw: RawQuery) -> Result<Json<Value>, Oops> {
    let a = asked(&state, raw.0).await?;
    let d = state.hub.directory(state.db.as_ref()).await?;
    Ok(Json(oruk::page(d.services(&a.query), a.page, a.per_page)))
}

async fn service_at_locations(
    State(state): State<AppState>,
    raw: RawQuery,
) -> Result<Json<Value>, Oops> {
    let a = asked(&state, raw.0).await?;
    let d = state.hub.directory(state.db.as_ref()).await?;
    Ok(Json(oruk::page(
        d.service_at_locations(&a.query),
        a.page,
        a.per_page,
    )))
}

async fn taxonomies(State(state): State<AppState>, raw: RawQuery) -> Result<Json<Value>, Oops> {
    let a = asked(&state, raw.0).await?;
    let d = state.hub.directory(state.db.as_ref()).await?;
    Ok(Json(oruk::page(
        d.taxonomies(a.query.search.as_deref()),
        a.page,
        a.per_page,
    )))
}

async fn taxonomy_terms(State(state): State<AppState>, raw: RawQuery) -> Result<Json<Value>, Oops> {
    let a = asked(&state, raw.0).await?;
    let d = state.hub.directory(state.db.as_ref()).await?;
    let items = d.taxonomy_terms(a.query.taxonomy_id.as_deref(), a.query.search.as_deref());
    Ok(Json(oruk::page(items, a.page, a.per_page)))
}

fn found(v: Option<Value>, what: &str, id: &str) -> Result<Json<Value>, Oops> {
    v.map(Json)
        .ok_or_else(|| Oops(StatusCode::NOT_FOUND, format!("no {what} with id `{id}`")))
}

async fn service(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Oops> {
    found(
        state
            .hub
            .directory(state.db.as_ref())
            .await?
            .service_full(&id),
        "service",
        &id,
    )
}

async fn service_at_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Oops> {
    found(
        state
            .hub
            .directory(state.db.as_ref())
            .await?
            .service_at_location_full(&id),
        "service at location",
        &id,
    )
}

async fn taxonomy(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Oops> {
    found(
        state.hub.directory(state.db.as_ref()).await?.taxonomy(&id),
        "taxonomy",
        &id,
    )
}

async fn taxonomy_term(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Oops> {
    let d = state.hub.directory(state.db.as_ref()).await?;
    found(
        d.feed.taxonomy_terms.get(&id).cloned(),
        "taxonomy term",
        &id,
    )
}

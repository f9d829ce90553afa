//! `/api/v1/referrals`: the referral API for referrers' systems.
//!
//! Authentication comes first, before the body is read: an anonymous caller
//! gets 401 whatever it sent. `POST` takes a referral as JSON (or a FHIR Bundle
//! at `/referrals/fhir`) with an `Idempotency-Key` header: the same key and body
//! again answer with the first referral (200, `Idempotent-Replayed: true`)
//! instead of making a second; the same key with another body is 409.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use syndemic_access::{self as access, Action, Scope};
use syndemic_hub::referral::Draft;
use syndemic_store::hub::{Created, ReferralFilter, ReferralRecord};

use super::front::{scope_of, service_name};
use super::make::{make_referral, Hubs, Referrer, Refusal};
use crate::place::api::ApiError;
use crate::shell::auth::api_caller;
use crate::{AppState, WebError};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/referrals", get(list).post(create))
        .route("/referrals/fhir", axum::routing::post(create_fhir))
        .route("/referrals/{id}", get(one))
}

#[derive(Deserialize)]
struct Body {
    /// The hub's organisation id; the only hub when there is one.
    #[serde(default)]
    hub: Option<String>,
    #[serde(flatten)]
    draft: Draft,
}

fn key_of(headers: &HeaderMap) -> String {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn finish(
    state: &AppState,
    by: &Referrer<'_>,
    hubs: &Hubs,
    hub: &str,
    draft: Draft,
    key: &str,
) -> Result<Response, ApiError> {
    match make_referral(state, by, hubs, hub, draft, key).await {
        Ok(c) => Ok(created(&c)),
        Err(Refusal::Fields(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "the referral breaks some rules: see `fields`",
                "fields": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>(),
            })),
        )
            .into_response()),
        Err(Refusal::Failed(e)) => Err(e.into()),
    }
}

fn created(c: &Created) -> Response {
    let status = if c.repeat {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut r = (
        status,
        Json(json!({"id": c.id, "reference": c.reference, "status": "received", "href": format!("/api/v1/referrals/{}", c.id)})),
    )
        .into_response();
    if c.repeat {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Referrals).await?;
    let referrer = Referrer::check(&actor)?;
    let parsed: Body = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "the body is not a referral: {e} (see /api/v1/docs for the fields)"
        ))
    })?;
    let hubs = Hubs::read(&state).await?;
    let hub = hubs.chosen(parsed.hub)?;
    finish(
        &state,
        &referrer,
        &hubs,
        &hub,
        parsed.draft,
        &key_of(&headers),
    )
    .await
}

async fn create_fhir(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: axum::extract::RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Referrals).await?;
    let referrer = Referrer::check(&actor)?;
    let bundle: Value = serde_json::from_slice(&body)
        .map_err(|e| WebError::BadRequest(format!("the body is not JSON: {e}")))?;
    let (id, draft) = syndemic_hub::fhir::from_bundle(&bundle)
        .map_err(|e| WebError::Unprocessable(format!("the Bundle cannot be read: {e}")))?;
    let mut key = key_of(&headers);
    if key.is_empty() {
        // A Bundle carries its own identity.
        key = id.map(|i| format!("fhir:{i}")).unwrap_or_default();
    }
    // `?hub=ID` names the hub where there is more than one.
    let asked = form_urlencoded::parse(query.0.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "hub")
        .map(|(_, v)| v.into_owned());
    let hubs = Hubs::read(&state).await?;
    let hub = hubs.chosen(asked)?;
    finish(&state, &referrer, &hubs, &hub, draft, &key).await
}

async fn summary(state: &AppState, r: &ReferralRecord) -> Result<Value, WebError> {
    let directory = state.hub.directory(&state.db).await?;
    let outcomes = state.db.outcomes(Some(&r.id)).await?;
    Ok(json!({
        "id": r.id,
        "reference": r.reference,
        "created_at": r.created_at,
        "status": r.status.code(),
        "service": r.service_id.as_ref().map(|_| service_name(&directory, r.service_id.as_deref())),
        "outcomes": outcomes.iter().map(|o| json!({"code": o.code.code(), "value": o.value, "at": o.at})).collect::<Vec<_>>(),
    }))
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Referrals).await?;
    if !access::role_allows(actor.role, Action::SeeOwnReferrals) {
        return Err(WebError::Forbidden("this account made no referrals".into()).into());
    }
    let mine = state
        .db
        .referrals(&ReferralFilter {
            referrer: Some(actor.id.clone()),
            referrer_org: Some(actor.org.clone()),
            ..ReferralFilter::default()
        })
        .await?;
    let mut items = Vec::with_capacity(mine.len());
    for r in &mine {
        items.push(summary(&state, r).await?);
    }
    state
        .audit(&actor, "view", "referral-list", "own", "API list")
        .await?;
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Referrals).await?;
    let r = state
        .db
        .referral(&id)
        .await?
        .ok_or_else(|| WebError::NotFound("no such referral".into()))?;
    if !access::may(&actor, Action::SeeOwnReferrals, &scope_of(&r)) {
        return Err(
            WebError::Forbidden("only the referrer may follow a referral here".into()).into(),
        );
    }
    state
        .audit(&actor, "view", "referral", &r.id, "API status")
        .await?;
    Ok(Json(summary(&state, &r).await?).into_response())
}

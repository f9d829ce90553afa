//! `/api/v1/{partnerships,organisations,commitments,businesses,anchor-measures}`:
//! the partnership records as JSON, lists in the API's page envelope (or CSV with
//! `?format=csv`). The caller is authenticated before anything else — an
//! anonymous request gets 401 whatever its body — then access is decided as on
//! the pages. Progress updates and board reviews can be posted as JSON, each
//! under the caller's id for it, so a retry records it once.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use syndemic_access::Scope;
use syndemic_partnership::access as rules;
use syndemic_store::partnership::{CommitmentRecord, ReviewRecord};

use super::business::deciles;
use super::pages::{record_review, record_update, NewUpdate};
use super::{judge_all, must_read, Judged, World};
use crate::place::api::{list, ApiError, Paging};
use crate::shell::auth::api_caller;
use crate::{AppState, WebError};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/partnerships", get(partnerships))
        .route("/partnerships/{id}", get(partnership))
        .route("/organisations", get(organisations))
        .route("/organisations/{id}", get(organisation))
        .route("/commitments", get(commitments))
        .route("/commitments/{id}", get(commitment))
        .route("/commitments/{id}/updates", post(update))
        .route("/commitments/{id}/reviews", post(review))
        .route("/businesses", get(businesses))
        .route("/anchor-measures", get(anchor_measures))
}

fn partnership_json(world: &World, id: &str) -> Result<Value, WebError> {
    let p = world.partnership(id)?;
    Ok(json!({
        "id": p.id,
        "name": p.name,
        "kind": p.kind,
        "area": p.area,
        "parent_id": p.parent_id,
        "framework": p.framework,
        "members": world.members.iter().filter(|m| m.partnership_id == p.id).map(|m| json!({
            "organisation_id": m.org_id,
            "role": m.role,
            "title": m.title,
        })).collect::<Vec<_>>(),
        "plans": world.plans.iter().filter(|pl| pl.partnership_id == p.id).map(|pl| json!({
            "id": pl.id,
            "title": pl.title,
            "owner_organisation_id": pl.owner_org,
            "period_start": pl.period_start,
            "period_end": pl.period_end,
            "priorities": pl.priorities,
        })).collect::<Vec<_>>(),
    }))
}

async fn partnerships(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Partnership).await?;
    let (page, size, csv) = paging.parse()?;
    let world = World::load(&state).await?;
    let items = world
        .readable(&actor)
        .iter()
        .map(|p| partnership_json(&world, &p.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(list(&headers, items, page, size, csv))
}

async fn partnership(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Partnership).await?;
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_read(&actor, &world.family(&id))?;
    Ok(Json(partnership_json(&world, &id)?).into_response())
}

fn organisation_json(world: &World, id: &str) -> Value {
    let org = world.orgs.iter().find(|o| o.id == id);
    let p = world.profiles.get(id);
    json!({
        "id": id,
        "name": org.map(|o| o.name.clone()),
        "sector": world.sector_of(id),
        "sub_type": p.and_then(|p| p.sub_type.clone()),
        "size_band": p.and_then(|p| p.size_band.clone()),
        "employees": p.and_then(|p| p.employees),
        "local_employee_share": p.and_then(|p| p.local_employee_share),
        "area": p.and_then(|p| p.area.clone()),
        "charity_number": p.and_then(|p| p.charity_number.clone()),
        "company_number": p.and_then(|p| p.company_number.clone()),
        "anchor": p.is_some_and(|p| p.anchor),
        "partnerships": world.members.iter().filter(|m| m.org_id == id).map(|m| m.partnership_id.clone()).collect::<Vec<_>>(),
    })
}

async fn organisations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    api_caller(&state, &headers, Scope::Partnership).await?;
    let (page, size, csv) = paging.parse()?;
    let world = World::load(&state).await?;
    let items = world
        .orgs
        .iter()
        .map(|o| organisation_json(&world, &o.id))
        .collect();
    Ok(list(&headers, items, page, size, csv))
}

async fn organisation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    api_caller(&state, &headers, Scope::Partnership).await?;
    let world = World::load(&state).await?;
    if !world.orgs.iter().any(|o| o.id == id) {
        return Err(WebError::NotFound(format!("there is no organisation `{id}`")).into());
    }
    Ok(Json(organisation_json(&world, &id)).into_response())
}

fn commitment_json(world: &World, c: &CommitmentRecord, j: Option<&Judged>) -> Value {
    json!({
        "id": c.id,
        "plan_id": c.plan_id,
        "partnership_id": world.plan(&c.plan_id).ok().map(|p| p.partnership_id.clone()),
        "reference": c.reference,
        "title": c.title,
        "lead_organisation_id": c.lead_org,
        "contributor_ids": c.contributors,
        "framework": c.framework,
        "objective": c.objective,
        "indicator_id": c.indicator,
        "target_rule": c.target_rule,
        "target_areas": c.areas,
        "target_value": c.target_value,
        "target_date": c.target_date,
        "milestones": c.milestones.iter().map(|m| json!({"seq": m.seq, "due": m.due, "what": m.what, "done_on": m.done_on})).collect::<Vec<_>>(),
        "status": j.map(|j| j.status.clone()),
        "update_overdue": j.is_some_and(|j| j.overdue),
        "last_update_at": j.and_then(|j| j.last_update),
        "next_update_due_at": j.map(|j| j.due_at),
        "baseline": j.and_then(|j| j.baseline.map(|b| json!({
            "period": j.baseline_period.map(|p| p.to_string()),
            "value": b.value, "lower95": b.lower, "upper95": b.upper,
            "from_evidence_store": j.baseline_from_store,
        }))),
        "latest": j.and_then(|j| j.latest.as_ref().map(|(p, o)| json!({
            "period": p.to_string(), "value": o.value, "lower95": o.lower, "upper95": o.upper,
        }))),
        "trajectory_value": j.and_then(|j| j.assessment.map(|a| a.expected)),
        "judgement": j.filter(|_| c.indicator.is_some()).map(|j| j.judgement().code()),
        "movement": j.filter(|_| c.indicator.is_some()).map(|j| j.movement),
        "problem": j.and_then(|j| j.problem.clone()),
    })
}

async fn commitments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Partnership).await?;
    let (page, size, csv) = paging.parse()?;
    let world = World::load(&state).await?;
    let mine: Vec<&CommitmentRecord> = world
        .commitments
        .iter()
        .filter(|c| {
            world
                .plan_family(&c.plan_id)
                .is_ok_and(|(_, f)| rules::may_read(&actor, &f))
        })
        .collect();
    let judged = judge_all(&state, &world, &mine).await?;
    let items = mine
        .iter()
        .map(|c| commitment_json(&world, c, judged.get(&c.id)))
        .collect();
    Ok(list(&headers, items, page, size, csv))
}

async fn commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Partnership).await?;
    let world = World::load(&state).await?;
    let c = world.commitment(&id)?;
    let (_, family) = world.plan_family(&c.plan_id)?;
    must_read(&actor, &family)?;
    let judged = judge_all(&state, &world, &[c]).await?;
    let mut v = commitment_json(&world, c, judged.get(&c.id));
    v["updates"] = json!(world.updates_of(&c.id).iter().map(|u| json!({
        "id": u.id, "at": u.at, "organisation_id": u.org_id, "status": u.status, "narrative": u.narrative,
        "evidence": u.evidence.iter().map(|e| json!({"id": e.id, "file_name": e.file_name, "size": e.size, "href": format!("/evidence/{}", e.id)})).collect::<Vec<_>>(),
    })).collect::<Vec<_>>());
    v["reviews"] = json!(world
        .reviews_of(&c.id)
        .iter()
        .map(|r| json!({
            "id": r.id, "reviewed_on": r.reviewed_on, "rating": r.rating, "actions": r.actions, "next_review": r.next_review,
        }))
        .collect::<Vec<_>>());
    Ok(Json(v).into_response())
}

/// A JSON body, after the caller was authenticated: a form post cannot pass as
/// JSON (its content type differs), so a cookie alone cannot be used across sites.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    what: &str,
) -> Result<T, WebError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(WebError::BadRequest(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        WebError::BadRequest(format!(
            "the body is not {what}: {e} (see /api/v1/docs for the fields)"
        ))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    /// The caller's id for this update: the same id again records nothing new.
    id: String,
    status: String,
    narrative: String,
    #[serde(default)]
    milestones_done: Vec<i64>,
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Partnership).await?;
    let b: UpdateBody = json_body(&headers, &body, "a progress update")?;
    let new = record_update(
        &state,
        &actor,
        &id,
        NewUpdate {
            id: &b.id,
            status: &b.status,
            narrative: &b.narrative,
            milestones: &b.milestones_done,
            files: Vec::new(),
        },
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"id": b.id, "commitment_id": id, "recorded": new})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    id: String,
    reviewed_on: String,
    rating: String,
    actions: String,
    #[serde(default)]
    next_review: Option<String>,
}

async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = api_caller(&state, &headers, Scope::Partnership).await?;
    let b: ReviewBody = json_body(&headers, &body, "a board review")?;
    let new = record_review(
        &state,
        &actor,
        &id,
        ReviewRecord {
            id: b.id.clone(),
            commitment_id: id.clone(),
            reviewed_on: b.reviewed_on,
            rating: b.rating,
            actions: b.actions,
            next_review: b.next_review,
            by_user: String::new(),
            at: 0,
        },
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"id": b.id, "commitment_id": id, "recorded": new})),
    )
        .into_response())
}

async fn businesses(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    api_caller(&state, &headers, Scope::Partnership).await?;
    let (page, size, csv) = paging.parse()?;
    let businesses = state.db.businesses().await?;
    let deciles = deciles(state.db.as_ref(), &businesses).await?;
    let items = businesses
        .into_iter()
        .map(|b| {
            json!({
                "id": b.id,
                "source": b.source,
                "name": b.name,
                "company_number": b.company_number,
                "sic_code": b.sic_code,
                "size_band": b.size_band,
                "employees": b.employees,
                "local_employees": b.local_employees,
                "area": b.area,
                "imd_decile": b.area.as_ref().and_then(|a| deciles.get(a)),
            })
        })
        .collect();
    Ok(list(&headers, items, page, size, csv))
}

async fn anchor_measures(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    api_caller(&state, &headers, Scope::Partnership).await?;
    let (page, size, csv) = paging.parse()?;
    let social = state.db.social_value().await?;
    let items = state
        .db
        .anchor_measures()
        .await?
        .into_iter()
        .map(|m| {
            let committed: f64 = social
                .iter()
                .filter(|s| s.org_id == m.org_id && s.year == m.year)
                .map(|s| s.quantity * s.proxy_value)
                .sum();
            json!({
                "organisation_id": m.org_id,
                "year": m.year,
                "employees": m.employees,
                "hired_most_deprived_share": m.hired_most_deprived_share,
                "local_spend_share": m.local_spend_share,
                "sme_vcse_spend_share": m.sme_vcse_spend_share,
                "real_living_wage": m.real_living_wage,
                "apprenticeships": m.apprenticeships,
                "volunteering_hours": m.volunteering_hours,
                "social_value_committed": committed,
            })
        })
        .collect();
    Ok(list(&headers, items, page, size, csv))
}

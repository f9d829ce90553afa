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
use serde::{Deserialize, Serialize};
use serde_json::Value;
use syndemic_access::{self as access, Action};
use syndemic_hub::referral::Draft;
use syndemic_store::hub::{Created, ReferralFilter, ReferralRecord};

use super::front::{scope_of, service_name};
use super::make::{make_referral, Hubs, Referrer, Refusal};
use crate::shell::api::ApiError;
use crate::shell::{Caller, ReferralsScope};
use crate::{AppState, WebError};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/referrals", get(list).post(create))
        .route("/referrals/fhir", axum::routing::post(create_fhir))
        .route("/referrals/{id}", get(one))
}

/// 422: the referral's fields that break the rules (schema `Error`, with `fields`).
#[derive(Serialize)]
struct Problems<'a> {
    error: &'static str,
    fields: Vec<FieldProblem<'a>>,
}

#[derive(Serialize)]
struct FieldProblem<'a> {
    field: &'a str,
    message: &'a str,
}

/// 201 (or 200 for a replayed key): the referral made (schema `ReferralStatus`).
#[derive(Serialize)]
struct Received<'a> {
    id: &'a str,
    reference: &'a str,
    status: &'static str,
    href: String,
}

/// A referral as its referrer follows it (schema `ReferralStatus`).
#[derive(Serialize)]
struct Summary {
    id: String,
    reference: String,
    created_at: i64,
    status: &'static str,
    service: Option<String>,
    outcomes: Vec<Outcome>,
}

#[derive(Serialize)]
struct Outcome {
    code: &'static str,
    value: Option<f64>,
    at: i64,
}

/// The referrer's own referrals (`GET /referrals`).
#[derive(Serialize)]
struct SummaryList {
    total: usize,
    items: Vec<Summary>,
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
            Json(Problems {
                error: "the referral breaks some rules: see `fields`",
                fields: errors
                    .iter()
                    .map(|e| FieldProblem {
                        field: &e.field,
                        message: &e.message,
                    })
                    .collect(),
            }),
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
        Json(Received {
            id: &c.id,
            reference: &c.reference,
            status: "received",
            href: format!("/api/v1/referrals/{}", c.id),
        }),
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
    Caller(actor, _): Caller<ReferralsScope>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
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
    Caller(actor, _): Caller<ReferralsScope>,
    headers: HeaderMap,
    query: axum::extract::RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
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

async fn summary(state: &AppState, r: &ReferralRecord) -> Result<Summary, WebError> {
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let outcomes = state.db.outcomes(Some(&r.id)).await?;
    Ok(Summary {
        id: r.id.clone(),
        reference: r.reference.clone(),
        created_at: r.created_at,
        status: r.status.code(),
        service: r
            .service_id
            .as_ref()
            .map(|_| service_name(&directory, r.service_id.as_deref())),
        outcomes: outcomes
            .iter()
            .filter(|o| o.stands())
            .map(|o| Outcome {
                code: o.code.code(),
                value: o.value,
                at: o.at,
            })
            .collect(),
    })
}

async fn list(
    State(state): State<AppState>,
    Caller(actor, _): Caller<ReferralsScope>,
) -> Result<Response, ApiError> {
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
    Ok(Json(SummaryList {
        total: items.len(),
        items,
    })
    .into_response())
}

async fn one(
    State(state): State<AppState>,
    Caller(actor, _): Caller<ReferralsScope>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::api::conformance::assert_conforms;

    #[test]
    fn answers_match_the_openapi_document() {
        let summary = Summary {
            id: "r1".into(),
            reference: "HUB-0001".into(),
            created_at: 1_700_000_000,
            status: "received",
            service: Some("Warm homes".into()),
            outcomes: vec![Outcome {
                code: "onward-referral",
                value: Some(1.0),
                at: 1_700_000_100,
            }],
        };
        assert_conforms(&summary, "ReferralStatus");
        assert_conforms(
            &Received {
                id: "r1",
                reference: "HUB-0001",
                status: "received",
                href: "/api/v1/referrals/r1".into(),
            },
            "ReferralStatus",
        );
        assert_conforms(
            &Problems {
                error: "the referral breaks some rules: see `fields`",
                fields: vec![FieldProblem {
                    field: "person.postcode",
                    message: "give a postcode",
                }],
            },
            "Error",
        );
    }
}

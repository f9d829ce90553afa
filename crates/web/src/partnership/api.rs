//! `/api/v1/{partnerships,organisations,commitments,businesses,anchor-measures}`:
//! the partnership records as JSON, lists in the API's page envelope (or CSV with
//! `?format=csv`). The caller is authenticated before anything else — an
//! anonymous request gets 401 whatever its body — then access is decided as on
//! the pages. Progress updates and board reviews can be posted as JSON, each
//! under the caller's id for it, so a retry records it once.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use syndemic_partnership::access as rules;
use syndemic_partnership::trajectory::Movement;
use syndemic_store::partnership::{CommitmentRecord, ReviewRecord};

use super::business::deciles;
use super::pages::{record_review, record_update, NewUpdate};
use super::{judge_all, must_read, Judged, World};
use crate::shell::api::{list, ApiError, Paging};
use crate::shell::{Caller, PartnershipScope};
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

/// A partnership with its members and plans (schema `Partnership`).
#[derive(Serialize)]
struct PartnershipOut<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    area: Option<&'a str>,
    parent_id: Option<&'a str>,
    framework: &'a str,
    members: Vec<MemberOut<'a>>,
    plans: Vec<PlanOut<'a>>,
}

/// Schema `Member`.
#[derive(Serialize)]
struct MemberOut<'a> {
    organisation_id: &'a str,
    role: &'a str,
    title: Option<&'a str>,
}

/// Schema `ActionPlan`.
#[derive(Serialize)]
struct PlanOut<'a> {
    id: &'a str,
    title: &'a str,
    owner_organisation_id: &'a str,
    period_start: &'a str,
    period_end: &'a str,
    priorities: &'a [String],
}

fn partnership_out<'a>(world: &'a World, id: &str) -> Result<PartnershipOut<'a>, WebError> {
    let p = world.partnership(id)?;
    Ok(PartnershipOut {
        id: &p.id,
        name: &p.name,
        kind: &p.kind,
        area: p.area.as_deref(),
        parent_id: p.parent_id.as_deref(),
        framework: &p.framework,
        members: world
            .members
            .iter()
            .filter(|m| m.partnership_id == p.id)
            .map(|m| MemberOut {
                organisation_id: &m.org_id,
                role: &m.role,
                title: m.title.as_deref(),
            })
            .collect(),
        plans: world
            .plans
            .iter()
            .filter(|pl| pl.partnership_id == p.id)
            .map(|pl| PlanOut {
                id: &pl.id,
                title: &pl.title,
                owner_organisation_id: &pl.owner_org,
                period_start: &pl.period_start,
                period_end: &pl.period_end,
                priorities: &pl.priorities,
            })
            .collect(),
    })
}

async fn partnerships(
    State(state): State<AppState>,
    Caller(actor, _): Caller<PartnershipScope>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = paging.parse()?;
    let world = World::load(&state).await?;
    let items = world
        .readable(&actor)
        .iter()
        .map(|p| partnership_out(&world, &p.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(list(&headers, items, page, size, csv)?)
}

async fn partnership(
    State(state): State<AppState>,
    Caller(actor, _): Caller<PartnershipScope>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_read(&actor, &world.family(&id))?;
    Ok(Json(partnership_out(&world, &id)?).into_response())
}

/// An organisation and its profile (schema `Organisation`).
#[derive(Serialize)]
struct OrganisationOut<'a> {
    id: &'a str,
    name: Option<&'a str>,
    sector: &'a str,
    sub_type: Option<&'a str>,
    size_band: Option<&'a str>,
    employees: Option<i64>,
    local_employee_share: Option<f64>,
    area: Option<&'a str>,
    charity_number: Option<&'a str>,
    company_number: Option<&'a str>,
    anchor: bool,
    partnerships: Vec<&'a str>,
}

fn organisation_out<'a>(world: &'a World, id: &'a str) -> OrganisationOut<'a> {
    let org = world.orgs.iter().find(|o| o.id == id);
    let p = world.profiles.get(id);
    OrganisationOut {
        id,
        name: org.map(|o| o.name.as_str()),
        sector: world.sector_of(id),
        sub_type: p.and_then(|p| p.sub_type.as_deref()),
        size_band: p.and_then(|p| p.size_band.as_deref()),
        employees: p.and_then(|p| p.employees),
        local_employee_share: p.and_then(|p| p.local_employee_share),
        area: p.and_then(|p| p.area.as_deref()),
        charity_number: p.and_then(|p| p.charity_number.as_deref()),
        company_number: p.and_then(|p| p.company_number.as_deref()),
        anchor: p.is_some_and(|p| p.anchor),
        partnerships: world
            .members
            .iter()
            .filter(|m| m.org_id == id)
            .map(|m| m.partnership_id.as_str())
            .collect(),
    }
}

async fn organisations(
    State(state): State<AppState>,
    Caller(_, _): Caller<PartnershipScope>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = paging.parse()?;
    let world = World::load(&state).await?;
    let items = world
        .orgs
        .iter()
        .map(|o| organisation_out(&world, &o.id))
        .collect();
    Ok(list(&headers, items, page, size, csv)?)
}

async fn organisation(
    State(state): State<AppState>,
    Caller(_, _): Caller<PartnershipScope>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let world = World::load(&state).await?;
    if !world.orgs.iter().any(|o| o.id == id) {
        return Err(WebError::NotFound(format!("there is no organisation `{id}`")).into());
    }
    Ok(Json(organisation_out(&world, &id)).into_response())
}

/// A commitment, judged against its indicator (schema `Commitment`); one
/// commitment read on its own adds its updates and reviews.
#[derive(Serialize)]
struct CommitmentOut<'a> {
    id: &'a str,
    plan_id: &'a str,
    partnership_id: Option<&'a str>,
    reference: &'a str,
    title: &'a str,
    lead_organisation_id: &'a str,
    contributor_ids: &'a [String],
    framework: Option<&'a str>,
    objective: Option<&'a str>,
    indicator_id: Option<&'a str>,
    target_rule: Option<&'a str>,
    target_areas: &'a [String],
    target_value: Option<f64>,
    target_date: Option<&'a str>,
    milestones: Vec<MilestoneOut<'a>>,
    status: Option<&'a str>,
    update_overdue: bool,
    last_update_at: Option<i64>,
    next_update_due_at: Option<i64>,
    baseline: Option<Baseline>,
    latest: Option<Latest>,
    trajectory_value: Option<f64>,
    measured_on: Option<&'static str>,
    judgement: Option<&'static str>,
    movement: Option<Movement>,
    problem: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updates: Option<Vec<UpdateOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reviews: Option<Vec<ReviewOut<'a>>>,
}

#[derive(Serialize)]
struct MilestoneOut<'a> {
    seq: i64,
    due: &'a str,
    what: &'a str,
    done_on: Option<&'a str>,
}

#[derive(Serialize)]
struct Baseline {
    period: Option<String>,
    value: f64,
    lower95: Option<f64>,
    upper95: Option<f64>,
    from_evidence_store: bool,
}

#[derive(Serialize)]
struct Latest {
    period: String,
    value: f64,
    lower95: Option<f64>,
    upper95: Option<f64>,
}

#[derive(Serialize)]
struct UpdateOut<'a> {
    id: &'a str,
    at: i64,
    organisation_id: &'a str,
    status: &'a str,
    narrative: &'a str,
    evidence: Vec<EvidenceOut<'a>>,
}

#[derive(Serialize)]
struct EvidenceOut<'a> {
    id: &'a str,
    file_name: &'a str,
    size: i64,
    href: String,
}

#[derive(Serialize)]
struct ReviewOut<'a> {
    id: &'a str,
    reviewed_on: &'a str,
    rating: &'a str,
    actions: &'a str,
    next_review: Option<&'a str>,
}

fn commitment_out<'a>(
    world: &'a World,
    c: &'a CommitmentRecord,
    j: Option<&'a Judged>,
) -> CommitmentOut<'a> {
    let judged = j.filter(|_| c.indicator.is_some());
    CommitmentOut {
        id: &c.id,
        plan_id: &c.plan_id,
        partnership_id: world
            .plan(&c.plan_id)
            .ok()
            .map(|p| p.partnership_id.as_str()),
        reference: &c.reference,
        title: &c.title,
        lead_organisation_id: &c.lead_org,
        contributor_ids: &c.contributors,
        framework: c.framework.as_deref(),
        objective: c.objective.as_deref(),
        indicator_id: c.indicator.as_deref(),
        target_rule: c.target_rule.as_deref(),
        target_areas: &c.areas,
        target_value: c.target_value,
        target_date: c.target_date.as_deref(),
        milestones: c
            .milestones
            .iter()
            .map(|m| MilestoneOut {
                seq: m.seq,
                due: &m.due,
                what: &m.what,
                done_on: m.done_on.as_deref(),
            })
            .collect(),
        status: j.map(|j| j.status.as_str()),
        update_overdue: j.is_some_and(|j| j.overdue),
        last_update_at: j.and_then(|j| j.last_update),
        next_update_due_at: j.map(|j| j.due_at),
        baseline: j.and_then(|j| {
            j.baseline.map(|b| Baseline {
                period: j.baseline_period.map(|p| p.to_string()),
                value: b.value,
                lower95: b.lower,
                upper95: b.upper,
                from_evidence_store: j.baseline_from_store,
            })
        }),
        latest: j.and_then(|j| {
            j.latest.as_ref().map(|(p, o)| Latest {
                period: p.to_string(),
                value: o.value,
                lower95: o.lower,
                upper95: o.upper,
            })
        }),
        trajectory_value: j.and_then(|j| j.assessment.map(|a| a.expected)),
        measured_on: judged.map(|j| {
            if j.on_targets == Some(true) {
                "target-areas"
            } else {
                "whole-area"
            }
        }),
        judgement: judged.map(|j| j.judgement().code()),
        movement: judged.map(|j| j.movement),
        problem: j.and_then(|j| j.problem.as_deref()),
        updates: None,
        reviews: None,
    }
}

async fn commitments(
    State(state): State<AppState>,
    Caller(actor, _): Caller<PartnershipScope>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
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
        .map(|c| commitment_out(&world, c, judged.get(&c.id)))
        .collect();
    Ok(list(&headers, items, page, size, csv)?)
}

async fn commitment(
    State(state): State<AppState>,
    Caller(actor, _): Caller<PartnershipScope>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let world = World::load(&state).await?;
    let c = world.commitment(&id)?;
    let (_, family) = world.plan_family(&c.plan_id)?;
    must_read(&actor, &family)?;
    let judged = judge_all(&state, &world, &[c]).await?;
    let updates = world.updates_of(&c.id);
    let reviews = world.reviews_of(&c.id);
    let v = CommitmentOut {
        updates: Some(
            updates
                .iter()
                .map(|u| UpdateOut {
                    id: &u.id,
                    at: u.at,
                    organisation_id: &u.org_id,
                    status: &u.status,
                    narrative: &u.narrative,
                    evidence: u
                        .evidence
                        .iter()
                        .map(|e| EvidenceOut {
                            id: &e.id,
                            file_name: &e.file_name,
                            size: e.size,
                            href: format!("/evidence/{}", e.id),
                        })
                        .collect(),
                })
                .collect(),
        ),
        reviews: Some(
            reviews
                .iter()
                .map(|r| ReviewOut {
                    id: &r.id,
                    reviewed_on: &r.reviewed_on,
                    rating: &r.rating,
                    actions: &r.actions,
                    next_review: r.next_review.as_deref(),
                })
                .collect(),
        ),
        ..commitment_out(&world, c, judged.get(&c.id))
    };
    Ok(Json(v).into_response())
}

/// A JSON body, read after the caller was authenticated (and its type checked:
/// `Caller`).
fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes, what: &str) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| {
        WebError::BadRequest(format!(
            "the body is not {what}: {e} (see /api/v1/docs for the fields)"
        ))
    })
}

/// A progress update or board review, recorded now or before under the same id
/// (schema `Recorded`).
#[derive(Serialize)]
struct Recorded<'a> {
    id: &'a str,
    commitment_id: &'a str,
    recorded: bool,
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
    Caller(actor, _): Caller<PartnershipScope>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: UpdateBody = json_body(&body, "a progress update")?;
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
        Json(Recorded {
            id: &b.id,
            commitment_id: &id,
            recorded: new,
        }),
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
    Caller(actor, _): Caller<PartnershipScope>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: ReviewBody = json_body(&body, "a board review")?;
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
        Json(Recorded {
            id: &b.id,
            commitment_id: &id,
            recorded: new,
        }),
    )
        .into_response())
}

/// A business of the place's business map (schema `Business`).
#[derive(Serialize)]
struct BusinessOut {
    id: String,
    source: String,
    name: String,
    company_number: Option<String>,
    sic_code: Option<String>,
    size_band: String,
    employees: Option<i64>,
    local_employees: Option<i64>,
    area: Option<String>,
    imd_decile: Option<i64>,
}

/// An anchor institution's measures for a year (schema `AnchorMeasure`).
#[derive(Serialize)]
struct AnchorMeasureOut {
    organisation_id: String,
    year: i64,
    employees: Option<i64>,
    hired_most_deprived_share: Option<f64>,
    local_spend_share: Option<f64>,
    sme_vcse_spend_share: Option<f64>,
    real_living_wage: Option<bool>,
    apprenticeships: Option<i64>,
    volunteering_hours: Option<f64>,
    social_value_committed: f64,
}

async fn businesses(
    State(state): State<AppState>,
    Caller(_, _): Caller<PartnershipScope>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = paging.parse()?;
    let businesses = state.db.businesses().await?;
    let deciles = deciles(state.db.as_ref(), &businesses).await?;
    let items = businesses
        .into_iter()
        .map(|b| {
            let imd_decile = b.area.as_ref().and_then(|a| deciles.get(a)).copied();
            BusinessOut {
                id: b.id,
                source: b.source,
                name: b.name,
                company_number: b.company_number,
                sic_code: b.sic_code,
                size_band: b.size_band,
                employees: b.employees,
                local_employees: b.local_employees,
                area: b.area,
                imd_decile,
            }
        })
        .collect();
    Ok(list(&headers, items, page, size, csv)?)
}

async fn anchor_measures(
    State(state): State<AppState>,
    Caller(_, _): Caller<PartnershipScope>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
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
            AnchorMeasureOut {
                organisation_id: m.org_id,
                year: m.year,
                employees: m.employees,
                hired_most_deprived_share: m.hired_most_deprived_share,
                local_spend_share: m.local_spend_share,
                sme_vcse_spend_share: m.sme_vcse_spend_share,
                real_living_wage: m.real_living_wage,
                apprenticeships: m.apprenticeships,
                volunteering_hours: m.volunteering_hours,
                social_value_committed: committed,
            }
        })
        .collect();
    Ok(list(&headers, items, page, size, csv)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::api::conformance::assert_conforms;

    #[test]
    fn answers_match_the_openapi_document() {
        let priorities = vec!["warm homes".to_owned()];
        assert_conforms(
            &PartnershipOut {
                id: "p1",
                name: "Health and wellbeing board",
                kind: "board",
                area: Some("E10000001"),
                parent_id: None,
                framework: "marmot",
                members: vec![MemberOut {
                    organisation_id: "council",
                    role: "lead",
                    title: Some("Director of Public Health"),
                }],
                plans: vec![PlanOut {
                    id: "plan1",
                    title: "Warm homes",
                    owner_organisation_id: "council",
                    period_start: "2026-04-01",
                    period_end: "2029-03-31",
                    priorities: &priorities,
                }],
            },
            "Partnership",
        );
        assert_conforms(
            &OrganisationOut {
                id: "council",
                name: Some("Hartmoor County Council"),
                sector: "public",
                sub_type: Some("local-authority"),
                size_band: Some("large"),
                employees: Some(4000),
                local_employee_share: Some(0.8),
                area: Some("E10000001"),
                charity_number: None,
                company_number: None,
                anchor: true,
                partnerships: vec!["p1"],
            },
            "Organisation",
        );
        let contributors = vec!["nhs".to_owned()];
        let areas = vec!["E01000001".to_owned()];
        assert_conforms(
            &CommitmentOut {
                id: "c1",
                plan_id: "plan1",
                partnership_id: Some("p1"),
                reference: "M1",
                title: "Insulate 500 homes",
                lead_organisation_id: "council",
                contributor_ids: &contributors,
                framework: Some("marmot"),
                objective: Some("healthy-standard-of-living"),
                indicator_id: Some("90366"),
                target_rule: Some("most-deprived 20% of E10000001"),
                target_areas: &areas,
                target_value: Some(8.0),
                target_date: Some("2029-03-31"),
                milestones: vec![MilestoneOut {
                    seq: 1,
                    due: "2027-03-31",
                    what: "Survey done",
                    done_on: None,
                }],
                status: Some("on-track"),
                update_overdue: false,
                last_update_at: Some(1_700_000_000),
                next_update_due_at: Some(1_707_000_000),
                baseline: Some(Baseline {
                    period: Some("2022".into()),
                    value: 10.0,
                    lower95: Some(9.0),
                    upper95: Some(11.0),
                    from_evidence_store: true,
                }),
                latest: Some(Latest {
                    period: "2024".into(),
                    value: 9.5,
                    lower95: None,
                    upper95: None,
                }),
                trajectory_value: Some(9.2),
                measured_on: Some("target-areas"),
                judgement: Some("on-track"),
                movement: Some(Movement::NotSignificant),
                problem: None,
                updates: Some(vec![UpdateOut {
                    id: "u1",
                    at: 1_700_000_000,
                    organisation_id: "council",
                    status: "on-track",
                    narrative: "Half the surveys are done",
                    evidence: vec![EvidenceOut {
                        id: "e1",
                        file_name: "survey.pdf",
                        size: 1024,
                        href: "/evidence/e1".into(),
                    }],
                }]),
                reviews: Some(vec![ReviewOut {
                    id: "b1",
                    reviewed_on: "2026-06-01",
                    rating: "green",
                    actions: "Keep going",
                    next_review: Some("2026-12-01"),
                }]),
            },
            "Commitment",
        );
        assert_conforms(
            &Recorded {
                id: "u1",
                commitment_id: "c1",
                recorded: true,
            },
            "Recorded",
        );
        assert_conforms(
            &BusinessOut {
                id: "b1".into(),
                source: "register".into(),
                name: "Hartmoor Bakery".into(),
                company_number: Some("01234567".into()),
                sic_code: Some("10710".into()),
                size_band: "small".into(),
                employees: Some(12),
                local_employees: Some(10),
                area: Some("E01000001".into()),
                imd_decile: Some(2),
            },
            "Business",
        );
        assert_conforms(
            &AnchorMeasureOut {
                organisation_id: "nhs".into(),
                year: 2025,
                employees: Some(5000),
                hired_most_deprived_share: Some(0.2),
                local_spend_share: Some(0.4),
                sme_vcse_spend_share: Some(0.1),
                real_living_wage: Some(true),
                apprenticeships: Some(30),
                volunteering_hours: Some(120.0),
                social_value_committed: 25_000.0,
            },
            "AnchorMeasure",
        );
    }
}

//! The triage rules: what each service in the directory takes by referral —
//! whether it takes direct referrals, the needs it meets, ages, the areas it
//! covers, and a priority among equals. Coordinators set them; triage suggests
//! from them (`syndemic_hub::triage`).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use syndemic_access::Action;
use syndemic_hub::need::Need;
use syndemic_hub::triage::Terms;

use super::front::service_name;
use crate::shell::page;
use crate::shell::Posted;
use crate::shell::Signed;
use crate::{AppState, WebError};

pub(crate) async fn list(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    s.must(Action::Triage)?;
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let terms = state.db.all_terms().await?;
    let orgs = super::front::org_names(&state).await?;
    Ok(page(
        &state,
        "Services and triage rules",
        html! {
            p { "What each service takes by referral. Triage suggests services from these; you decide." }
            @for (id, provider, t) in &terms {
                section aria-labelledby=(format!("svc-{id}")) {
                    h2 id=(format!("svc-{id}")) { (service_name(&directory, Some(id))) }
                    p { "Run by " (provider.as_deref().and_then(|p| orgs.get(p)).map_or("an organisation outside the hub", |n| n.as_str())) }
                    form method="post" action=(format!("/hub/services/{id}")) class="stack" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        div { input type="checkbox" id=(format!("acc-{id}")) name="accepts" value="yes" checked[t.accepts_referrals]; label for=(format!("acc-{id}")) { "Takes direct referrals" } }
                        fieldset {
                            legend { "Needs it meets" }
                            div class="choices" {
                                @for n in Need::ALL {
                                    div { input type="checkbox" id=(format!("{id}-{}", n.code())) name="needs" value=(n.code()) checked[t.needs.contains(n)]; label for=(format!("{id}-{}", n.code())) { (n.label()) } }
                                }
                            }
                        }
                        div class="field" { label for=(format!("min-{id}")) { "Youngest age" } input id=(format!("min-{id}")) name="minimum_age" type="number" min="0" max="150" value=[t.minimum_age]; }
                        div class="field" { label for=(format!("max-{id}")) { "Oldest age" } input id=(format!("max-{id}")) name="maximum_age" type="number" min="0" max="150" value=[t.maximum_age]; }
                        div class="field" { label for=(format!("areas-{id}")) { "Areas covered (GSS codes, comma-separated; empty for everywhere)" } input id=(format!("areas-{id}")) name="areas" type="text" value=(t.areas.join(", ")); }
                        div class="field" { label for=(format!("prio-{id}")) { "Priority among equal matches" } input id=(format!("prio-{id}")) name="priority" type="number" value=(t.priority); }
                        button type="submit" { "Save" }
                    }
                }
            }
        },
    ))
}

pub(crate) async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    s.must(Action::Triage)?;
    let all = state.db.all_terms().await?;
    let Some((_, provider, _)) = all.iter().find(|(sid, _, _)| *sid == id) else {
        return Err(WebError::NotFound("no such service".into()));
    };
    let age = |name: &str| -> Result<Option<u32>, WebError> {
        let v = form.get(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<u32>()
            .ok()
            .filter(|a| *a <= 150)
            .map(Some)
            .ok_or_else(|| {
                WebError::Unprocessable(format!("{name}: `{v}` is not an age from 0 to 150"))
            })
    };
    let mut areas = Vec::new();
    for a in form
        .get("areas")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let code = syndemic_model::AreaCode::parse(a).map_err(|e| {
            WebError::Unprocessable(format!("areas: `{a}` is not an area code: {e}"))
        })?;
        areas.push(code.as_str().to_owned());
    }
    let terms = Terms {
        accepts_referrals: form.get("accepts") == "yes",
        needs: form
            .all("needs")
            .iter()
            .filter_map(|c| Need::from_code(c))
            .collect(),
        minimum_age: age("minimum_age")?,
        maximum_age: age("maximum_age")?,
        areas,
        priority: form.get("priority").parse().unwrap_or(0),
    };
    if let (Some(lo), Some(hi)) = (terms.minimum_age, terms.maximum_age) {
        if lo > hi {
            return Err(WebError::Unprocessable(format!(
                "the youngest age ({lo}) is above the oldest ({hi})"
            )));
        }
    }
    state.db.put_terms(&id, provider.as_deref(), &terms).await?;
    state
        .audit(&s.actor, "change", "service-terms", &id, "triage rules")
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/hub/services#svc-{id}"))],
    )
        .into_response())
}

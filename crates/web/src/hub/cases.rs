//! Triage and casework: the case list, a case with its timeline, and every
//! change to it (each under a one-time update id, so a double click or a retry
//! changes it once).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use syndemic_access::{self as access, Action, Role};
use syndemic_hub::need::OutcomeCode;
use syndemic_hub::status::Status;
use syndemic_hub::triage::{self, Facts, Offer};
use syndemic_hub::workdays::{date_of, format_date};
use syndemic_store::hub::{Applied, Change, ChangeError, ReferralFilter, ReferralRecord, Stamp};

use super::front::{org_names, scope_of, service_name};
use crate::shell::page;
use crate::shell::{now, today, Posted, Signed};
use crate::{AppState, WebError};

/// A time as `YYYY-MM-DD HH:MM` UTC.
pub(crate) fn when(t: i64) -> String {
    let dt =
        time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{} {:02}:{:02}",
        format_date(dt.date()),
        dt.hour(),
        dt.minute()
    )
}

/// The first-contact clock of a referral: working days so far (or taken), the
/// day contact is due, and whether it is overdue.
pub(crate) struct Clock {
    pub days: u32,
    pub due: time::Date,
    pub overdue: bool,
}

pub(crate) fn clock(state: &AppState, r: &ReferralRecord) -> Clock {
    let cal = &state.hub.calendar;
    let start = date_of(r.created_at);
    let due = cal.add_working_days(start, r.urgency.target_working_days());
    let end = r.first_contact_at.map(date_of).unwrap_or_else(today);
    let open = r.first_contact_at.is_none() && !r.status.is_final();
    Clock {
        days: cal.working_days_between(start, end),
        due,
        overdue: open && today() > due,
    }
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
}

/// The cases this user may work, and the audit of their viewing.
async fn cases_of(state: &AppState, s: &Signed) -> Result<Vec<ReferralRecord>, WebError> {
    s.must(Action::ListCases)?;
    let filter = match s.actor.role {
        Role::Coordinator => ReferralFilter {
            hub_org: Some(s.actor.org.clone()),
            ..ReferralFilter::default()
        },
        _ => ReferralFilter {
            service_org: Some(s.actor.org.clone()),
            ..ReferralFilter::default()
        },
    };
    let all = state.db.referrals(&filter).await?;
    Ok(all
        .into_iter()
        .filter(|r| access::may(&s.actor, Action::ListCases, &scope_of(r)))
        .collect())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, WebError> {
    let mut cases = cases_of(&state, &s).await?;
    let status = q.status.as_deref().filter(|v| !v.is_empty());
    if let Some(code) = status {
        if code == "open" {
            cases.retain(|r| !r.status.is_final());
        } else {
            let st = Status::from_code(code)
                .ok_or_else(|| WebError::BadRequest(format!("`{code}` is not a case status")))?;
            cases.retain(|r| r.status == st);
        }
    }
    state
        .audit(
            &s.actor,
            "view",
            "case-list",
            status.unwrap_or("all"),
            "case list",
        )
        .await?;
    let directory = state.hub.directory(state.db.as_ref()).await?;
    Ok(page(
        &state,
        "Cases",
        html! {
            form method="get" action="/hub/cases" {
                div {
                    label for="status" { "Show" }
                    select id="status" name="status" {
                        option value="" { "All cases" }
                        option value="open" selected[status == Some("open")] { "Open cases" }
                        @for st in Status::ALL { option value=(st.code()) selected[status == Some(st.code())] { (st.label()) } }
                    }
                }
                button type="submit" { "Show" }
            }
            table {
                caption { (cases.len()) " cases, newest first" }
                thead { tr { th scope="col" { "Reference" } th scope="col" { "Person" } th scope="col" { "Received" } th scope="col" { "Urgency" } th scope="col" { "Status" } th scope="col" { "Service" } th scope="col" { "First contact" } th scope="col" { "Risks" } } }
                tbody {
                    @for r in &cases {
                        @let c = clock(&state, r);
                        tr {
                            td { a href=(format!("/hub/cases/{}", r.id)) { (r.reference) } @if r.linked_to.is_some() && !r.link_confirmed { " " span class="tag" { "Possible repeat" } } }
                            td { (r.person.as_ref().map(|p| p.display_name()).unwrap_or_else(|| "(erased)".into())) }
                            td { (when(r.created_at)) }
                            td { (r.urgency.code()) }
                            td { (r.status.label()) @if r.triage == "pending" && !r.status.is_final() { " (awaiting triage)" } }
                            td { (service_name(&directory, r.service_id.as_deref())) }
                            td {
                                @if r.first_contact_at.is_some() { (c.days) " working days" }
                                @else if c.overdue { strong class="overdue" { "Overdue: due " (format_date(c.due)) } }
                                @else if !r.status.is_final() { "Due " (format_date(c.due)) }
                            }
                            td { (r.flags.iter().map(|f| f.label()).collect::<Vec<_>>().join("; ")) }
                        }
                    }
                }
            }
        },
    ))
}

/// The referral, if the user may `action` it; 404 and 403 otherwise.
async fn load(
    state: &AppState,
    s: &Signed,
    id: &str,
    action: Action,
) -> Result<ReferralRecord, WebError> {
    s.must(action)?;
    let r = state
        .db
        .referral(id)
        .await?
        .ok_or_else(|| WebError::NotFound("There is no such case.".into()))?;
    if !access::may(&s.actor, action, &scope_of(&r)) {
        return Err(WebError::Forbidden(
            "This case is not one of your organisation's.".into(),
        ));
    }
    Ok(r)
}

/// Services the case could go to, with the triage rules' suggestions.
async fn offers(
    state: &AppState,
) -> Result<(Vec<Offer>, rustc_hash::FxHashMap<String, Option<String>>), WebError> {
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let mut offers = Vec::new();
    let mut provider = rustc_hash::FxHashMap::default();
    for (service_id, org, terms) in state.db.all_terms().await? {
        let name = service_name(&directory, Some(&service_id));
        provider.insert(service_id.clone(), org);
        offers.push(Offer {
            service_id,
            name,
            terms,
        });
    }
    Ok((offers, provider))
}

async fn areas_above(state: &AppState, lsoa: Option<&str>) -> Result<Vec<String>, WebError> {
    let Some(code) = lsoa.and_then(|l| syndemic_model::AreaCode::parse(l).ok()) else {
        return Ok(Vec::new());
    };
    let mut out = vec![code.as_str().to_owned()];
    for p in syndemic_store::Store::parents(state.db.as_ref(), code).await? {
        out.push(p.link.parent.as_str().to_owned());
    }
    Ok(out)
}

fn hidden(s: &Signed, r: &ReferralRecord, action: &str) -> Result<Markup, WebError> {
    let update = crate::shell::new_uuid()?;
    Ok(html! {
        input type="hidden" name="csrf" value=(s.csrf);
        input type="hidden" name="update_id" value=(update);
        input type="hidden" name="version" value=(r.version);
        input type="hidden" name="action" value=(action);
    })
}

pub(crate) async fn case(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let r = load(&state, &s, &id, Action::ViewCase).await?;
    render_case(&state, &s, &r, None).await
}

/// The case page. Every display of it — the page asked for, or the page shown
/// again with the reason a change was refused — writes the audit log first.
async fn render_case(
    state: &AppState,
    s: &Signed,
    r: &ReferralRecord,
    problem: Option<&str>,
) -> Result<Html<String>, WebError> {
    let why = if problem.is_some() {
        "working the case (a change refused)"
    } else {
        "working the case"
    };
    state
        .audit(&s.actor, "view", "referral", &r.id, why)
        .await?;
    let db = &state.db;
    let events = db.events(&r.id).await?;
    let tasks = db.tasks(&r.id).await?;
    let outcomes = db.outcomes(Some(&r.id)).await?;
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let orgs = org_names(state).await?;
    let users: rustc_hash::FxHashMap<String, String> = db
        .users(None)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let actor_name = |a: &str| {
        users
            .get(a)
            .cloned()
            .or_else(|| {
                a.strip_prefix(access::TOKEN_ACTOR)
                    .map(|_| "API".to_owned())
            })
            .unwrap_or_else(|| a.to_owned())
    };
    let is_coordinator = access::may(&s.actor, Action::Triage, &scope_of(r));
    let (offers, _) = offers(state).await?;
    let person = r.person.clone().unwrap_or_default();
    let facts = Facts {
        needs: r.needs.clone(),
        age: person.age_on(today()),
        areas: areas_above(state, r.lsoa.as_deref()).await?,
    };
    let suggestions = triage::suggest(&facts, &offers);
    let c = clock(state, r);
    let caseworkers: Vec<(String, String)> = match &r.service_org {
        Some(org) => db
            .users(Some(org))
            .await?
            .into_iter()
            .filter(|u| u.role == Role::Caseworker && u.active)
            .map(|u| (u.id, u.display_name))
            .collect(),
        None => Vec::new(),
    };
    let withdrawn = r.consent_withdrawn_at.is_some();
    Ok(page(
        state,
        &format!("Case {}", r.reference),
        html! {
            @if let Some(p) = problem { div class="error-summary" role="alert" tabindex="-1" { h2 { "There is a problem" } p { (p) } } }
            @if !r.flags.is_empty() {
                div class="warning" role="note" { h2 { "Risks" } ul { @for f in &r.flags { li { strong { (f.label()) } } } } }
            }
            @if withdrawn { div class="warning" { p { strong { "Consent was withdrawn on " (when(r.consent_withdrawn_at.unwrap_or(0))) "." } " Share nothing further; close the case." } } }
            dl class="facts" {
                dt { "Status" } dd { (r.status.label()) @if r.triage == "pending" && !r.status.is_final() { " — awaiting triage" } }
                dt { "Received" } dd { (when(r.created_at)) " from " (orgs.get(&r.referrer_org).map_or(r.referrer_org.as_str(), |n| n.as_str())) " (" (actor_name(&r.referrer)) ")" }
                dt { "Urgency" } dd { (r.urgency.label()) }
                dt { "First contact" } dd {
                    @if let Some(t) = r.first_contact_at { (when(t)) ", after " (c.days) " working days" }
                    @else if c.overdue { strong class="overdue" { "Overdue: was due " (format_date(c.due)) } }
                    @else { "Due by " (format_date(c.due)) " (" (c.days) " working days so far)" }
                }
                dt { "Service" } dd { (service_name(&directory, r.service_id.as_deref())) }
                dt { "Assigned to" } dd { (r.assigned_to.as_deref().map(actor_name).unwrap_or_else(|| "Nobody yet".into())) }
                dt { "Needs" } dd { (r.needs.iter().map(|n| n.label()).collect::<Vec<_>>().join("; ")) }
                dt { "Name" } dd { (person.display_name()) }
                dt { "Date of birth" } dd { (person.date_of_birth.clone().unwrap_or_default()) @if let Some(a) = person.age_on(today()) { " (" (a) ")" } }
                dt { "NHS number" } dd { (person.nhs_number.as_deref().and_then(|n| syndemic_hub::nhs::NhsNumber::parse(n).ok()).map(|n| n.to_string()).unwrap_or_default()) }
                dt { "Phone" } dd { (person.phone) }
                dt { "E-mail" } dd { (person.email) }
                dt { "Address" } dd { (person.address) " " (person.postcode) }
                dt { "Neighbourhood" } dd {
                    @if let Some(l) = &r.lsoa { a href=(format!("/areas/{l}")) { (l) } @if let Some(d) = r.imd_decile { ", IMD decile " (d) " (1 = most deprived)" } } @else { "Not located" }
                }
                dt { "Note" } dd class="note" { (r.note.clone().unwrap_or_default()) }
                dt { "Consent" } dd {
                    @if let Some(cn) = &r.consent { (cn.basis.label()) @if !cn.given_by.is_empty() { ": given by " (cn.given_by) " on " (cn.given_on) @if let Some(m) = cn.method { ", " (m.label().to_lowercase()) } ". Sharing: " (cn.sharing) } }
                }
            }
            @if let Some(other) = &r.linked_to {
                section aria-labelledby="repeat" {
                    h2 id="repeat" { "Possible repeat referral" }
                    p { "This person may be the same as in " a href=(format!("/hub/cases/{other}")) { "an earlier referral" } " (same NHS number, or same name, date of birth and postcode)." @if r.link_confirmed { " Confirmed: same person." } }
                    @if is_coordinator && !r.link_confirmed {
                        form method="post" action=(format!("/hub/cases/{}", r.id)) {
                            (hidden(s, r, "link")?)
                            button type="submit" name="same" value="yes" { "Same person: link them" }
                            button type="submit" name="same" value="no" class="secondary" { "Not the same person" }
                        }
                    }
                }
            }
            @if is_coordinator && !r.status.is_final() {
                section aria-labelledby="triage" {
                    h2 id="triage" { "Triage" }
                    p { "Suggested by the rules from the needs, age and area; you decide." }
                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                        (hidden(s, r, "route")?)
                        fieldset {
                            legend { "Route to a service" }
                            @for (i, sg) in suggestions.iter().enumerate() {
                                div {
                                    input type="radio" name="service" id=(format!("svc-{i}")) value=(sg.service_id) checked[i == 0 && sg.eligible];
                                    label for=(format!("svc-{i}")) { (sg.name) @if !sg.eligible { " (not eligible: " (sg.reasons.join("; ")) ")" } @else { " — " (sg.reasons.join("; ")) } }
                                }
                            }
                            @if suggestions.is_empty() { p { "No service in the directory meets these needs." } }
                        }
                        div class="field" { label for="route-reason" { "Reason (for a reroute or an ineligible service)" } input id="route-reason" name="reason" type="text"; }
                        button type="submit" { @if r.service_id.is_some() { "Reroute" } @else { "Accept and route" } }
                    }
                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                        (hidden(s, r, "decline")?)
                        div class="field" { label for="decline-reason" { "Reason for declining" } input id="decline-reason" name="reason" type="text" required; }
                        button type="submit" class="warning-button" { "Decline the referral" }
                    }
                }
            }
            @if !r.status.next().is_empty() && r.service_id.is_some() {
                section aria-labelledby="work" {
                    h2 id="work" { "Work the case" }
                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                        (hidden(s, r, "status")?)
                        div class="field" {
                            label for="to" { "Change status to" }
                            select id="to" name="to" { @for st in r.status.next() { option value=(st.code()) { (st.label()) } } }
                        }
                        div class="field" { label for="status-reason" { "Reason or summary" } input id="status-reason" name="reason" type="text"; }
                        button type="submit" { "Change status" }
                    }
                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                        (hidden(s, r, "note")?)
                        div class="field" { label for="note-text" { "Add a note or a contact" } textarea id="note-text" name="text" rows="3" maxlength="4000" {} }
                        div { input type="checkbox" id="contact" name="contact" value="yes"; label for="contact" { "This was a contact with the person" } }
                        button type="submit" { "Add to the timeline" }
                    }
                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                        (hidden(s, r, "outcome")?)
                        div class="field" {
                            label for="code" { "Outcome" }
                            select id="code" name="code" { @for o in OutcomeCode::ALL { option value=(o.code()) { (o.label()) } } }
                        }
                        div class="field" { label for="value" { "Value (£ or score, where it has one)" } input id="value" name="value" type="text" inputmode="decimal"; }
                        button type="submit" { "Record the outcome" }
                    }
                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                        (hidden(s, r, "task")?)
                        div class="field" { label for="task-title" { "New task" } input id="task-title" name="title" type="text"; }
                        div class="field" { label for="task-due" { "Due" } input id="task-due" name="due" type="date"; }
                        button type="submit" { "Add the task" }
                    }
                    @if !caseworkers.is_empty() {
                        form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                            (hidden(s, r, "assign")?)
                            div class="field" { label for="assignee" { "Assign to" } select id="assignee" name="user" { option value="" { "Nobody" } @for (uid, name) in &caseworkers { option value=(uid) selected[r.assigned_to.as_deref() == Some(uid.as_str())] { (name) } } } }
                            button type="submit" { "Assign" }
                        }
                    }
                    @if !withdrawn {
                        form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                            (hidden(s, r, "onward")?)
                            div class="field" { label for="onward" { "Refer onward to" } select id="onward" name="service" { @for o in &offers { @if r.service_id.as_deref() != Some(o.service_id.as_str()) { option value=(o.service_id) { (o.name) } } } } }
                            div class="field" { label for="onward-reason" { "Why" } input id="onward-reason" name="reason" type="text"; }
                            button type="submit" class="secondary" { "Refer onward" }
                        }
                        form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                            (hidden(s, r, "withdraw-consent")?)
                            div class="field" { label for="withdraw-reason" { "The person withdrew consent: how and when" } input id="withdraw-reason" name="reason" type="text"; }
                            button type="submit" class="warning-button" { "Record withdrawal of consent" }
                        }
                    }
                }
            }
            h2 { "Tasks" }
            @if tasks.is_empty() { p { "No tasks." } } @else {
                ul { @for t in &tasks {
                    li { (t.title) " — due " (t.due) @if t.done_at.is_some() { " (done)" } @else {
                        @if t.due < format_date(today()) { " " strong class="overdue" { "overdue" } }
                        form method="post" action=(format!("/hub/cases/{}", r.id)) class="inline" { (hidden(s, r, "task-done")?) input type="hidden" name="task" value=(t.id); button type="submit" class="secondary" { "Done" } }
                    } }
                } }
            }
            h2 { "Outcomes" }
            @if outcomes.is_empty() { p { "None recorded yet." } } @else { ul { @for o in &outcomes { li { (o.code.label()) @if let Some(v) = o.value { ": " (v) } " (" (when(o.at)) ")" } } } }
            h2 { "Timeline" }
            ol class="timeline" {
                @for e in &events {
                    li { (when(e.at)) " — " strong { (e.kind) } " by " (actor_name(&e.actor)) @if let Some(b) = &e.body { ": " span class="note" { (b) } } @if let Some(d) = &e.data { " (" (d) ")" } }
                }
            }
            @if is_coordinator { p { a href=(format!("/hub/cases/{}/fhir.json", r.id)) download { "Export as FHIR (ServiceRequest and Patient)" } } }
            p { a href="/hub/cases" { "All cases" } }
        },
    ))
}

/// One change to a case from its page.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let action = form.get("action");
    let needs = match action.as_str() {
        "route" | "decline" | "link" => Action::Triage,
        _ => Action::WorkCase,
    };
    let r = load(&state, &s, &id, needs).await?;
    let (_, provider) = offers(&state).await?;
    let change = match action.as_str() {
        "route" | "onward" => {
            let service = form.get("service");
            if r.consent_withdrawn_at.is_some() {
                return refused(
                    &state,
                    &s,
                    &r,
                    "Consent was withdrawn: the case cannot be shared with another service.",
                )
                .await;
            }
            let Some(org) = provider.get(&service) else {
                return refused(&state, &s, &r, "Choose a service from the list.").await;
            };
            let reason = if action == "onward" {
                format!("onward referral: {}", form.get("reason"))
            } else {
                form.get("reason")
            };
            Change::Route {
                service_id: service,
                service_org: org.clone(),
                reason,
            }
        }
        "decline" => Change::Decline {
            reason: form.get("reason"),
        },
        "link" => Change::ConfirmLink {
            same_person: form.get("same") == "yes",
        },
        "status" => match Status::from_code(&form.get("to")) {
            Some(to) => Change::Status {
                to,
                reason: form.get("reason"),
            },
            None => return refused(&state, &s, &r, "Choose a status.").await,
        },
        "note" => Change::Note {
            text: form.get("text"),
            contact: form.get("contact") == "yes",
        },
        "outcome" => {
            let Some(code) = OutcomeCode::from_code(&form.get("code")) else {
                return refused(&state, &s, &r, "Choose an outcome.").await;
            };
            let text = form.get("value").replace(['£', ','], "");
            let value = if text.is_empty() {
                None
            } else {
                match text.parse::<f64>() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        return refused(&state, &s, &r, &format!("`{text}` is not a number")).await
                    }
                }
            };
            Change::Outcome { code, value }
        }
        "task" => Change::AddTask {
            title: form.get("title"),
            due: form.get("due"),
        },
        "task-done" => Change::DoneTask {
            task_id: form.get("task"),
        },
        "assign" => {
            let user = Some(form.get("user")).filter(|u| !u.is_empty());
            if let (Some(u), Some(org)) = (&user, &r.service_org) {
                let ok = state
                    .db
                    .user(u)
                    .await?
                    .is_some_and(|u| &u.org_id == org && u.role == Role::Caseworker);
                if !ok {
                    return refused(
                        &state,
                        &s,
                        &r,
                        "Assign the case to a caseworker of the service it is routed to.",
                    )
                    .await;
                }
            }
            Change::Assign { user_id: user }
        }
        "withdraw-consent" => Change::WithdrawConsent {
            reason: form.get("reason"),
        },
        other => {
            return Err(WebError::BadRequest(format!(
                "`{other}` is not something a case can do"
            )))
        }
    };
    let update = form.get("update_id");
    if update.is_empty() {
        return Err(WebError::BadRequest(
            "the form has no update id: reload the page".into(),
        ));
    }
    let version = form.get("version").parse().ok();
    let event_id = format!("{}:{update}", r.id);
    match state
        .db
        .apply(
            &r.id,
            &event_id,
            &Stamp {
                actor: &s.actor.id,
                org: &s.actor.org,
                at: now(),
            },
            &change,
            version,
        )
        .await
    {
        Ok(Applied::Done) | Ok(Applied::Repeat) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/hub/cases/{}", r.id))],
        )
            .into_response()),
        Err(ChangeError::Refused(m)) => refused(&state, &s, &r, &m).await,
        Err(e @ ChangeError::Stale { .. }) => refused(&state, &s, &r, &e.to_string()).await,
        Err(ChangeError::NotFound(_)) => Err(WebError::NotFound("There is no such case.".into())),
        Err(ChangeError::Store(e)) => Err(e.into()),
    }
}

async fn refused(
    state: &AppState,
    s: &Signed,
    r: &ReferralRecord,
    message: &str,
) -> Result<Response, WebError> {
    let fresh = state.db.referral(&r.id).await?.unwrap_or_else(|| r.clone());
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        render_case(state, s, &fresh, Some(message)).await?,
    )
        .into_response())
}

/// The referral as a FHIR Bundle (audited as an export).
pub(crate) async fn fhir(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Response, WebError> {
    let r = load(&state, &s, &id, Action::ExportCase).await?;
    let bundle = bundle_of(&state, &r).await?;
    state
        .audit(&s.actor, "export", "referral", &r.id, "FHIR export")
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/fhir+json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.json\"", r.reference),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bundle.to_string(),
    )
        .into_response())
}

pub(crate) async fn bundle_of(
    state: &AppState,
    r: &ReferralRecord,
) -> Result<serde_json::Value, WebError> {
    let (Some(person), Some(consent)) = (r.person.clone(), r.consent.clone()) else {
        return Err(WebError::Unprocessable(
            "the referral's personal data was erased".into(),
        ));
    };
    if r.consent_withdrawn_at.is_some() {
        return Err(WebError::Forbidden(
            "consent was withdrawn: the referral cannot be shared".into(),
        ));
    }
    let orgs = org_names(state).await?;
    let draft = syndemic_hub::referral::Draft {
        person,
        needs: r.needs.clone(),
        urgency: r.urgency,
        note: r.note.clone().unwrap_or_default(),
        consent,
        flags: r.flags.clone(),
    };
    let env = syndemic_hub::fhir::Envelope {
        referral_id: r.id.clone(),
        authored_on: time::OffsetDateTime::from_unix_timestamp(r.created_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default(),
        status: match r.status {
            Status::Closed => "completed",
            Status::Declined => "revoked",
            _ => "active",
        },
        requester: orgs
            .get(&r.referrer_org)
            .cloned()
            .unwrap_or_else(|| r.referrer_org.clone()),
    };
    Ok(syndemic_hub::fhir::to_bundle(&env, &draft))
}

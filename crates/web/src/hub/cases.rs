//! Triage and casework: the case list, a case with its timeline, and every
//! change to it (each under a one-time update id, so a double click or a retry
//! changes it once).

use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use syndemic_access::{self as access, Action, Role};
use syndemic_hub::need::OutcomeCode;
use syndemic_hub::status::Status;
use syndemic_hub::triage::{self, Facts, Offer};
use syndemic_hub::workdays::{date_of, format_date};
use syndemic_store::hub::{Applied, Change, ChangeError, ReferralRecord, Stamp};

use super::front::{org_names, scope_of, service_name};
use super::make::{make_referral, Hubs, Referrer, Refusal};
use crate::shell::page;
use crate::shell::{now, today, Form, Posted, Signed};
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
pub(crate) async fn offers(
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

pub(crate) async fn areas_above(
    state: &AppState,
    lsoa: Option<&str>,
) -> Result<Vec<String>, WebError> {
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

/// What the case page says above the case: nothing, why a change was refused,
/// what the last change did, or that closing would leave tasks open.
enum Banner<'a> {
    Nothing,
    Refused(&'a str),
    Done(&'static str),
    /// Closing with open tasks: the same change again, confirmed.
    ConfirmClose {
        form: &'a Form,
        open: usize,
    },
}

/// What a change just did, in a person's words (`?done=KIND` after the redirect).
fn done_message(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "status" => "The status is changed.",
        "note" => "The note is on the timeline.",
        "contact" => "The contact is recorded.",
        "route" => "The case is routed to the service.",
        "decline" => "The referral is declined; the referrer can see the reason.",
        "assign" => "The assignment is saved.",
        "outcome" => "The outcome is recorded.",
        "task" => "The task is added.",
        "task-done" => "The task is done.",
        "consent-withdrawn" => "The withdrawal of consent is recorded.",
        "link" => "Your decision on the possible repeat is recorded.",
        "outcome-corrected" => "The outcome is corrected; the one it replaces is kept, void.",
        "onward" => "The person is referred onward: a new referral, open beside this one.",
        "outcome-voided" => "The outcome is void: kept on record, no longer counted.",
        _ => return None,
    })
}

pub(crate) async fn case(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
    UrlQuery(q): UrlQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let r = load(&state, &s, &id, Action::ViewCase).await?;
    let done = q
        .iter()
        .find(|(k, _)| k == "done")
        .and_then(|(_, v)| done_message(v));
    let banner = done.map_or(Banner::Nothing, Banner::Done);
    render_case(&state, &s, &r, banner).await
}

/// A timeline entry's detail in words: names for services, people and tasks,
/// labels for statuses — never an id.
fn detail(
    e: &syndemic_store::hub::EventRecord,
    directory: &syndemic_hub::oruk::Directory,
    person: &dyn Fn(&str) -> String,
    tasks: &[syndemic_store::hub::TaskRecord],
) -> Option<String> {
    let data = e.data.as_deref();
    match e.kind.as_str() {
        "status" => {
            let (from, to) = data?.split_once('→')?;
            let label =
                |c: &str| Status::from_code(c).map_or(c.to_owned(), |s| s.label().to_owned());
            Some(format!("{} → {}", label(from), label(to)))
        }
        "route" => {
            let (from, to) = data?.split_once('→')?;
            let to = service_name(directory, Some(to));
            Some(if from.is_empty() {
                format!("to {to}")
            } else {
                format!("from {} to {to}", service_name(directory, Some(from)))
            })
        }
        "assign" => Some(match data {
            Some(u) => format!("to {}", person(u)),
            None => "to nobody".to_owned(),
        }),
        "task" => data.map(|due| format!("due {due}")),
        "task-done" => tasks
            .iter()
            .find(|t| Some(t.id.as_str()) == data)
            .map(|t| t.title.clone()),
        "outcome" | "outcome-corrected" => data
            .and_then(|d| d.split_once('='))
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
            .map(|v| format!("value {v}")),
        "link" => data.map(str::to_owned),
        "onward" => {
            let (reference, service) = data?.split_once('→')?;
            Some(format!(
                "to {} as referral {reference}",
                service_name(directory, Some(service))
            ))
        }
        _ => None,
    }
}

/// The case page. Every display of it — the page asked for, or the page shown
/// again with the reason a change was refused — writes the audit log first.
async fn render_case(
    state: &AppState,
    s: &Signed,
    r: &ReferralRecord,
    banner: Banner<'_>,
) -> Result<Html<String>, WebError> {
    let why = if matches!(banner, Banner::Refused(_)) {
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
    let can_work = access::may(&s.actor, Action::WorkCase, &scope_of(r));
    // The person's other referrals this user may see (by the identity keys: the
    // NHS number, the name as written): parallel and onward referrals side by side.
    let others: Vec<ReferralRecord> = match &r.person {
        Some(p) => db
            .referrals_of_person(&p.identity_keys())
            .await?
            .into_iter()
            .filter(|o| o.id != r.id && access::may(&s.actor, Action::ViewCase, &scope_of(o)))
            .collect(),
        None => Vec::new(),
    };
    Ok(page(
        state,
        &format!("Case {}", r.reference),
        html! {
            @match &banner {
                Banner::Nothing => {}
                Banner::Refused(p) => { div class="error-summary" role="alert" tabindex="-1" id="problem" { h2 { "There is a problem" } p { (p) } } }
                Banner::Done(m) => { div class="notice" role="status" tabindex="-1" id="done" { p { strong { (m) } } } }
                Banner::ConfirmClose { form, open } => {
                    div class="warning" role="alert" tabindex="-1" id="confirm-close" {
                        h2 { "The case has " (open) " open " (if *open == 1 { "task" } else { "tasks" }) }
                        p { "Closing it leaves them undone. Finish them first, or close the case anyway." }
                        form method="post" action=(format!("/hub/cases/{}", r.id)) {
                            input type="hidden" name="csrf" value=(s.csrf);
                            @for name in ["update_id", "version", "action", "to", "reason"] { input type="hidden" name=(name) value=(form.get(name)); }
                            input type="hidden" name="confirm" value="yes";
                            button type="submit" class="warning-button" { "Close the case anyway" }
                        }
                        p { a href="#tasks" { "Go to the open tasks" } }
                    }
                }
            }
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
            @if !others.is_empty() {
                section aria-labelledby="others" {
                    h2 id="others" { "This person's other referrals" }
                    ul { @for o in &others {
                        li { a href=(format!("/hub/cases/{}", o.id)) { (o.reference) } ": " (service_name(&directory, o.service_id.as_deref())) ", " (o.status.label().to_lowercase()) ", received " (when(o.created_at)) }
                    } }
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
                            div class="field" { label for="onward" { "Also refer the person to (a new referral; this case stays open)" } select id="onward" name="service" { @for o in &offers { @if r.service_id.as_deref() != Some(o.service_id.as_str()) { option value=(o.service_id) { (o.name) } } } } }
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
            h2 id="tasks" { "Tasks" }
            @if tasks.is_empty() { p { "No tasks." } } @else {
                ul { @for t in &tasks {
                    li { (t.title) " — due " (t.due) @if t.done_at.is_some() { " (done)" } @else {
                        @if t.due < format_date(today()) { " " strong class="overdue" { "overdue" } }
                        form method="post" action=(format!("/hub/cases/{}", r.id)) class="inline" { (hidden(s, r, "task-done")?) input type="hidden" name="task" value=(t.id); button type="submit" class="secondary" { "Done" } }
                    } }
                } }
            }
            h2 { "Outcomes" }
            @if outcomes.is_empty() { p { "None recorded yet." } } @else {
                ul class="outcomes" { @for (i, o) in outcomes.iter().enumerate() {
                    li {
                        @if o.stands() {
                            (o.code.label()) @if let Some(v) = o.value { ": " (v) } " (" (when(o.at)) ")"
                            @if o.replaces.is_some() { " — a correction" }
                            @if can_work {
                                details {
                                    summary { "Correct or void this outcome" }
                                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                                        (hidden(s, r, "outcome-correct")?)
                                        input type="hidden" name="outcome" value=(o.id);
                                        div class="field" {
                                            label for=(format!("fix-code-{i}")) { "The right outcome" }
                                            select id=(format!("fix-code-{i}")) name="code" { @for c in OutcomeCode::ALL { option value=(c.code()) selected[*c == o.code] { (c.label()) } } }
                                        }
                                        div class="field" { label for=(format!("fix-value-{i}")) { "Value (£ or score, where it has one)" } input id=(format!("fix-value-{i}")) name="value" type="text" inputmode="decimal" value=(o.value.map(|v| v.to_string()).unwrap_or_default()); }
                                        div class="field" { label for=(format!("fix-reason-{i}")) { "Why it is corrected" } input id=(format!("fix-reason-{i}")) name="reason" type="text" required; }
                                        button type="submit" { "Correct the outcome" }
                                    }
                                    form method="post" action=(format!("/hub/cases/{}", r.id)) class="stack" {
                                        (hidden(s, r, "outcome-void")?)
                                        input type="hidden" name="outcome" value=(o.id);
                                        div class="field" { label for=(format!("void-reason-{i}")) { "Why it is void (recorded in error, twice, for the wrong person)" } input id=(format!("void-reason-{i}")) name="reason" type="text" required; }
                                        button type="submit" class="warning-button" { "Void the outcome" }
                                    }
                                }
                            }
                        } @else {
                            del { (o.code.label()) @if let Some(v) = o.value { ": " (v) } } " — void since " (when(o.voided_at.unwrap_or(0))) ": " (o.void_reason.clone().unwrap_or_default())
                        }
                    }
                } }
            }
            h2 { "Timeline" }
            ol class="timeline" {
                @for e in &events {
                    li { (when(e.at)) " — " strong { (e.kind) } " by " (actor_name(&e.actor)) @if let Some(d) = detail(e, &directory, &actor_name, &tasks) { " " (d) } @if let Some(b) = &e.body { ": " span class="note" { (b) } } }
                }
            }
            @if is_coordinator { p { a href=(format!("/hub/cases/{}/fhir.json", r.id)) download { "Export as FHIR (ServiceRequest and Patient)" } } }
            p { a href="/hub/cases" { "All cases" } }
        },
    ))
}

/// Refers the person onward: a new referral of the same person, needs, consent
/// and risks to another service, routed to it and open beside this case (a
/// parallel referral); this case records it as an onward-referral outcome and
/// stays as it was. Three writes, each idempotent under the form's update id
/// (the new referral's key, its routing's event id, this case's event id), so a
/// retry after a failure between them finishes the job and makes nothing twice;
/// a new referral left unrouted by a crash waits in the coordinator's triage.
async fn onward(
    state: &AppState,
    s: &Signed,
    r: &ReferralRecord,
    form: &Form,
    provider: &rustc_hash::FxHashMap<String, Option<String>>,
) -> Result<Response, WebError> {
    if r.consent_withdrawn_at.is_some() {
        return refused(
            state,
            s,
            r,
            "Consent was withdrawn: the person cannot be referred onward.",
        )
        .await;
    }
    let service = form.get("service");
    let Some(org) = provider.get(&service) else {
        return refused(state, s, r, "Choose a service from the list.").await;
    };
    if r.service_id.as_deref() == Some(service.as_str()) {
        return refused(state, s, r, "The case is with that service already.").await;
    }
    let update = form.get("update_id");
    if update.is_empty() {
        return Err(WebError::BadRequest(
            "the form has no update id: reload the page".into(),
        ));
    }
    let (Some(person), Some(consent)) = (r.person.clone(), r.consent.clone()) else {
        return refused(state, s, r, "The referral's personal data was erased.").await;
    };
    let reason = form.get("reason");
    let note: String = format!("Onward referral from {}. {reason}", r.reference)
        .chars()
        .take(syndemic_hub::referral::MAX_NOTE)
        .collect();
    let draft = syndemic_hub::referral::Draft {
        person,
        needs: r.needs.clone(),
        urgency: r.urgency,
        note,
        consent,
        flags: r.flags.clone(),
    };
    let by = Referrer::check(&s.actor)?;
    let hubs = Hubs::read(state).await?;
    let key = format!("onward:{}:{update}", r.id);
    let created = match make_referral(state, &by, &hubs, &r.hub_org, draft, &key).await {
        Ok(c) => c,
        Err(Refusal::Fields(errors)) => {
            let why: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return refused(state, s, r, &why.join("; ")).await;
        }
        Err(Refusal::Failed(e)) => return Err(e),
    };
    let stamp = Stamp {
        actor: &s.actor.id,
        org: &s.actor.org,
        at: now(),
    };
    let steps = [
        (
            created.id.clone(),
            format!("{}:onward-route", created.id),
            Change::Route {
                service_id: service.clone(),
                service_org: org.clone(),
                reason: format!("onward referral from {}", r.reference),
            },
        ),
        (
            r.id.clone(),
            format!("{}:{update}", r.id),
            Change::Onward {
                reference: created.reference.clone(),
                service_id: service.clone(),
                reason,
            },
        ),
    ];
    // The new referral is the same person by construction: a possible-repeat
    // link the match keys made for it is confirmed, not left for triage.
    let linked = state
        .db
        .referral(&created.id)
        .await?
        .is_some_and(|c| c.linked_to.is_some() && !c.link_confirmed);
    let confirm = linked.then(|| {
        (
            created.id.clone(),
            format!("{}:onward-link", created.id),
            Change::ConfirmLink { same_person: true },
        )
    });
    for (id, event, change) in confirm.iter().chain(&steps) {
        match state.db.apply(id, event, &stamp, change, None).await {
            Ok(_) => {}
            Err(ChangeError::Refused(m)) => return refused(state, s, r, &m).await,
            Err(e @ ChangeError::Stale { .. }) => {
                return refused(state, s, r, &e.to_string()).await
            }
            Err(ChangeError::NotFound(_)) => {
                return Err(WebError::NotFound("There is no such case.".into()))
            }
            Err(ChangeError::Store(e)) => return Err(e.into()),
        }
    }
    Ok((
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("/hub/cases/{}?done=onward#done", r.id),
        )],
    )
        .into_response())
}

/// An outcome's value as typed (`£1,250`, `7`, or nothing), or what is wrong with it.
fn value_of(typed: &str) -> Result<Option<f64>, String> {
    let text = typed.replace(['£', ','], "");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| format!("`{text}` is not a number"))
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
        "onward" => return onward(&state, &s, &r, &form, &provider).await,
        "route" => {
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
            Change::Route {
                service_id: service,
                service_org: org.clone(),
                reason: form.get("reason"),
            }
        }
        "decline" => Change::Decline {
            reason: form.get("reason"),
        },
        "link" => Change::ConfirmLink {
            same_person: form.get("same") == "yes",
        },
        "status" => match Status::from_code(&form.get("to")) {
            Some(to) => {
                if to.is_final() && form.get("confirm") != "yes" {
                    let open = state
                        .db
                        .tasks(&r.id)
                        .await?
                        .iter()
                        .filter(|t| t.done_at.is_none())
                        .count();
                    if open > 0 {
                        let banner = Banner::ConfirmClose { form: &form, open };
                        return Ok((
                            StatusCode::CONFLICT,
                            render_case(&state, &s, &r, banner).await?,
                        )
                            .into_response());
                    }
                }
                Change::Status {
                    to,
                    reason: form.get("reason"),
                }
            }
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
            let value = match value_of(&form.get("value")) {
                Ok(v) => v,
                Err(m) => return refused(&state, &s, &r, &m).await,
            };
            Change::Outcome { code, value }
        }
        "outcome-correct" | "outcome-void" => {
            let outcome_id = form.get("outcome");
            let reason = form.get("reason");
            if action == "outcome-void" {
                Change::VoidOutcome { outcome_id, reason }
            } else {
                let Some(code) = OutcomeCode::from_code(&form.get("code")) else {
                    return refused(&state, &s, &r, "Choose the right outcome.").await;
                };
                let value = match value_of(&form.get("value")) {
                    Ok(v) => v,
                    Err(m) => return refused(&state, &s, &r, &m).await,
                };
                Change::CorrectOutcome {
                    outcome_id,
                    code,
                    value,
                    reason,
                }
            }
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
            [(
                header::LOCATION,
                format!("/hub/cases/{}?done={}#done", r.id, change.kind()),
            )],
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
        render_case(state, s, &fresh, Banner::Refused(message)).await?,
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

//! The front door: the referral form, and what a referrer sees of what they referred.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use syndemic_access::{self as access, Action, CaseScope};
use syndemic_hub::need::{ConsentMethod, LawfulBasis, Need, RiskFlag, Urgency};
use syndemic_hub::person::Person;
use syndemic_hub::referral::{Consent, Draft};
use syndemic_hub::FieldError;
use syndemic_store::hub::{ReferralFilter, ReferralRecord};

use super::make::{make_referral, Hubs, Referrer, Refusal};
use crate::shell::page;
use crate::shell::{today, Form, Posted, Signed};
use crate::{AppState, WebError};

/// The organisation an answer is for, by id → name.
pub(crate) async fn org_names(
    state: &AppState,
) -> Result<rustc_hash::FxHashMap<String, String>, WebError> {
    Ok(state
        .db
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

/// The scope access is decided on.
pub(crate) fn scope_of(r: &ReferralRecord) -> CaseScope {
    CaseScope {
        hub_org: r.hub_org.clone(),
        referrer_org: r.referrer_org.clone(),
        referrer: r.referrer.clone(),
        service_org: r.service_org.clone(),
    }
}

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let can = |a| access::role_allows(s.actor.role, a);
    let orgs = org_names(&state).await?;
    let unread = state.db.unread_notifications(&s.user.id).await?;
    Ok(page(
        &state,
        "Referral hub",
        html! {
            p class="lead" { "Signed in as " strong { (s.user.display_name) } ", " (s.actor.role.label().to_lowercase()) " at " (orgs.get(&s.actor.org).map_or(s.actor.org.as_str(), |n| n.as_str())) "." }
            p {
                a href="/notifications" {
                    "Your notifications"
                    @if unread > 0 { " (" (unread) " unread)" }
                }
            }
            ul class="columns" {
                @if can(Action::Refer) { li { a href="/refer" { "Make a referral" } } li { a href="/referrals" { "Referrals you made" } } }
                @if can(Action::ListCases) {
                    li { a href="/hub/cases" { "Cases" } }
                    li { a href="/hub/cases?assigned=me&status=open" { "Open cases assigned to you" } }
                    li { a href="/hub/cases?overdue=yes" { "Overdue cases" } }
                }
                @if can(Action::Triage) { li { a href="/hub/services" { "Services and triage rules" } } li { a href="/hub/subject-access" { "Subject access and erasure" } } }
                @if can(Action::Reports) { li { a href="/hub/reports" { "Reports" } } }
                @if can(Action::ManageOrgUsers) { li { a href="/admin" { "Users and API tokens" } } }
                @if can(Action::ReadAudit) { li { a href="/hub/audit" { "Audit log" } } }
                li { a href="/directory" { "Service directory" } }
                li { a href="/partnerships" { "Partnerships, plans and commitments" } }
                li { a href="/account" { "Your account, two-step sign-in and e-mail settings" } }
            }
            (logout_form(&s))
        },
    ))
}

pub(crate) fn logout_form(s: &Signed) -> Markup {
    html! {
        form method="post" action="/logout" {
            input type="hidden" name="csrf" value=(s.csrf);
            button type="submit" class="secondary" { "Sign out" }
        }
    }
}

/// The form's values, kept to show again beside its errors.
#[derive(Default)]
struct Filled {
    form: Option<Form>,
}

impl Filled {
    fn get(&self, name: &str) -> String {
        self.form.as_ref().map(|f| f.get(name)).unwrap_or_default()
    }
    fn has(&self, name: &str, value: &str) -> bool {
        self.form
            .as_ref()
            .is_some_and(|f| f.all(name).iter().any(|v| v == value))
    }
}

fn refer_form(
    state: &AppState,
    s: &Signed,
    hubs: &[(String, String)],
    filled: &Filled,
    errors: &[FieldError],
) -> Result<Html<String>, WebError> {
    let key = crate::shell::new_uuid()?;
    let text = |id: &str, label: &str, kind: &str, autocomplete: &str, hint: Option<&str>| {
        let err = errors
            .iter()
            .find(|e| e.field == id || (id == "given_name" && e.field == "name"));
        html! {
            div class=(if err.is_some() { "field invalid" } else { "field" }) {
                label for=(id) { (label) }
                @if let Some(h) = hint { p class="hint" id=(format!("{id}-hint")) { (h) } }
                @if let Some(e) = err { p class="field-error" id=(format!("{id}-error")) { "Error: " (e.message) } }
                input id=(id) name=(id) type=(kind) autocomplete=(autocomplete) value=(filled.get(id))
                    aria-invalid=[err.map(|_| "true")]
                    aria-describedby=[err.map(|_| format!("{id}-error")).or(hint.map(|_| format!("{id}-hint")))];
            }
        }
    };
    let today = syndemic_hub::workdays::format_date(today());
    Ok(page(
        state,
        "Make a referral",
        html! {
            @if !errors.is_empty() {
                div class="error-summary" role="alert" tabindex="-1" id="errors" {
                    h2 { "There is a problem" }
                    ul { @for e in errors { li { a href=(format!("#{}", e.field.replace('.', "_"))) { (e.message) } } } }
                }
            }
            p class="lead" { "One form for cold homes, money, isolation and more: the hub finds the right help and tells you what happened." }
            form method="post" action="/refer" class="stack" novalidate {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="idempotency_key" value=(filled.form.as_ref().map(|f| f.get("idempotency_key")).filter(|k| !k.is_empty()).unwrap_or(key));
                @if hubs.len() > 1 {
                    div class="field" {
                        label for="hub" { "Send to" }
                        select id="hub" name="hub" { @for (id, name) in hubs { option value=(id) selected[filled.get("hub") == *id] { (name) } } }
                    }
                } @else if let Some((id, _)) = hubs.first() {
                    input type="hidden" name="hub" value=(id);
                }
                fieldset {
                    legend { "The person" }
                    (text("given_name", "First name", "text", "off", None))
                    (text("family_name", "Last name", "text", "off", None))
                    (text("date_of_birth", "Date of birth", "date", "off", Some("If known")))
                    (text("nhs_number", "NHS number", "text", "off", Some("If known: 10 digits, such as 943 476 5919")))
                    (text("phone", "Phone", "tel", "off", None))
                    (text("email", "E-mail", "email", "off", None))
                    (text("address", "Address", "text", "off", None))
                    (text("postcode", "Postcode", "text", "off", Some("Finds the neighbourhood and its deprivation")))
                    @if let Some(e) = errors.iter().find(|e| e.field == "contact") { p class="field-error" id="contact" { "Error: " (e.message) } }
                }
                fieldset id="needs" {
                    legend { "Needs (choose all that apply)" }
                    @if let Some(e) = errors.iter().find(|e| e.field == "needs") { p class="field-error" { "Error: " (e.message) } }
                    div class="choices" {
                        @for n in Need::ALL {
                            div { input type="checkbox" id=(format!("need-{}", n.code())) name="needs" value=(n.code()) checked[filled.has("needs", n.code())]; label for=(format!("need-{}", n.code())) { (n.label()) } }
                        }
                    }
                }
                fieldset {
                    legend { "Urgency" }
                    div class="choices" {
                        @for u in Urgency::ALL {
                            div { input type="radio" id=(format!("urgency-{}", u.code())) name="urgency" value=(u.code()) checked[filled.get("urgency") == u.code() || (filled.get("urgency").is_empty() && *u == Urgency::Routine)]; label for=(format!("urgency-{}", u.code())) { (u.label()) } }
                        }
                    }
                }
                fieldset {
                    legend { "Risks everyone visiting must know" }
                    div class="choices" {
                        @for f in RiskFlag::ALL {
                            div { input type="checkbox" id=(format!("flag-{}", f.code())) name="flags" value=(f.code()) checked[filled.has("flags", f.code())]; label for=(format!("flag-{}", f.code())) { (f.label()) } }
                        }
                    }
                }
                div class="field" {
                    label for="note" { "Note for the hub" }
                    textarea id="note" name="note" rows="4" maxlength="4000" { (filled.get("note")) }
                }
                fieldset {
                    legend { "Consent, or the lawful basis for sharing" }
                    div class="field" {
                        label for="basis" { "Basis" }
                        select id="basis" name="basis" { @for b in LawfulBasis::ALL { option value=(b.code()) selected[filled.get("basis") == b.code()] { (b.label()) } } }
                    }
                    (text("consent_given_by", "Consent given by", "text", "off", Some("The person, or their representative by name")))
                    div class=(if errors.iter().any(|e| e.field == "consent.given_on") { "field invalid" } else { "field" }) {
                        label for="consent_given_on" { "Consent given on" }
                        @if let Some(e) = errors.iter().find(|e| e.field == "consent.given_on") { p class="field-error" { "Error: " (e.message) } }
                        input id="consent_given_on" name="consent_given_on" type="date" value=(Some(filled.get("consent_given_on")).filter(|v| !v.is_empty()).unwrap_or(today));
                    }
                    div class="field" {
                        label for="consent_method" { "How consent was given" }
                        @if let Some(e) = errors.iter().find(|e| e.field == "consent.method") { p class="field-error" { "Error: " (e.message) } }
                        select id="consent_method" name="consent_method" {
                            option value="" { "Choose…" }
                            @for m in ConsentMethod::ALL { option value=(m.code()) selected[filled.get("consent_method") == m.code()] { (m.label()) } }
                        }
                    }
                    (text("consent_sharing", "What may be shared, with whom", "text", "off", Some("Left empty: the hub and the services it refers to")))
                }
                button type="submit" { "Send the referral" }
            }
        },
    ))
}

pub(crate) async fn refer_page(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    Referrer::check(&s.actor)?;
    refer_form(
        &state,
        &s,
        &Hubs::read(&state).await?.choices(),
        &Filled::default(),
        &[],
    )
}

/// Reads the form's fields into a draft; unknown codes are field errors.
fn draft_of(form: &Form) -> Result<Draft, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut needs = Vec::new();
    for code in form.all("needs") {
        match Need::from_code(&code) {
            Some(n) => needs.push(n),
            None => errors.push(FieldError::new("needs", format!("`{code}` is not a need"))),
        }
    }
    let flags = form
        .all("flags")
        .iter()
        .filter_map(|c| RiskFlag::from_code(c))
        .collect();
    let urgency = Urgency::from_code(&form.get("urgency")).unwrap_or(Urgency::Routine);
    let basis = LawfulBasis::from_code(&form.get("basis")).unwrap_or(LawfulBasis::Consent);
    let draft = Draft {
        person: Person {
            given_name: form.get("given_name"),
            family_name: form.get("family_name"),
            date_of_birth: Some(form.get("date_of_birth")),
            nhs_number: Some(form.get("nhs_number")),
            phone: form.get("phone"),
            email: form.get("email"),
            address: form.get("address"),
            postcode: form.get("postcode"),
        },
        needs,
        urgency,
        note: form.get("note"),
        consent: Consent {
            basis,
            given_by: form.get("consent_given_by"),
            given_on: form.get("consent_given_on"),
            method: ConsentMethod::from_code(&form.get("consent_method")),
            sharing: form.get("consent_sharing"),
        },
        flags,
    };
    if errors.is_empty() {
        Ok(draft)
    } else {
        Err(errors)
    }
}

pub(crate) async fn refer(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let referrer = Referrer::check(&s.actor)?;
    let hubs = Hubs::read(&state).await?;
    let choices = hubs.choices();
    let hub = Some(form.get("hub"))
        .filter(|h| !h.is_empty())
        .or_else(|| choices.first().map(|h| h.0.clone()))
        .unwrap_or_default();
    let key = form.get("idempotency_key");
    let errors = match draft_of(&form) {
        Ok(draft) => match make_referral(&state, &referrer, &hubs, &hub, draft, &key).await {
            Ok(c) => {
                return Ok((
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, format!("/referrals/{}?sent=1", c.id))],
                )
                    .into_response())
            }
            Err(Refusal::Fields(errors)) => errors,
            Err(Refusal::Failed(e)) => return Err(e),
        },
        Err(errors) => errors,
    };
    // The form shown again holds the person as typed: a display, audited.
    state
        .audit(
            &s.actor,
            "view",
            "referral-draft",
            &key.chars().take(64).collect::<String>(),
            "refer form shown again with its problems",
        )
        .await?;
    let html = refer_form(&state, &s, &choices, &Filled { form: Some(form) }, &errors)?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

pub(crate) async fn my_referrals(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    s.must(Action::SeeOwnReferrals)?;
    let mine = state
        .db
        .referrals(&ReferralFilter {
            referrer: Some(s.actor.id.clone()),
            referrer_org: Some(s.actor.org.clone()),
            ..ReferralFilter::default()
        })
        .await?;
    state
        .audit(&s.actor, "view", "referral-list", "own", "referrer's list")
        .await?;
    let directory = state.hub.directory(state.db.as_ref()).await?;
    Ok(page(
        &state,
        "Referrals you made",
        html! {
            p { a href="/refer" { "Make a referral" } }
            @if mine.is_empty() { p { "You have made no referral yet." } } @else {
                div class="table-scroll" role="region" tabindex="0" aria-label="Referrals you made" {
                table {
                    caption { (mine.len()) " referrals, newest first" }
                    thead { tr { th scope="col" { "Reference" } th scope="col" { "Person" } th scope="col" { "Sent" } th scope="col" { "Status" } th scope="col" { "Service" } } }
                    tbody {
                        @for r in &mine {
                            tr {
                                td { a href=(format!("/referrals/{}", r.id)) { (r.reference) } }
                                td { (r.person.as_ref().map(|p| p.display_name()).unwrap_or_else(|| "(erased)".into())) }
                                td { (super::cases::when(r.created_at)) }
                                td { (r.status.label()) }
                                td { (service_name(&directory, r.service_id.as_deref())) }
                            }
                        }
                    }
                }
                }
            }
        },
    ))
}

pub(crate) fn service_name(d: &syndemic_hub::oruk::Directory, id: Option<&str>) -> String {
    match id {
        None => "Not yet routed".into(),
        Some(id) => d
            .feed
            .services
            .get(id)
            .and_then(|s| s["name"].as_str())
            .unwrap_or(id)
            .to_owned(),
    }
}

pub(crate) async fn my_referral(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
    query: axum::extract::RawQuery,
) -> Result<Html<String>, WebError> {
    s.must(Action::SeeOwnReferrals)?;
    let r = state
        .db
        .referral(&id)
        .await?
        .ok_or_else(|| WebError::NotFound("There is no such referral.".into()))?;
    if !access::may(&s.actor, Action::SeeOwnReferrals, &scope_of(&r)) {
        return Err(WebError::Forbidden(
            "You can see only the referrals you made.".into(),
        ));
    }
    state
        .audit(&s.actor, "view", "referral", &r.id, "referrer follows up")
        .await?;
    let mut outcomes = state.db.outcomes(Some(&r.id)).await?;
    outcomes.retain(|o| o.stands());
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let sent = query.0.as_deref().is_some_and(|q| q.contains("sent=1"));
    // What the referrer is told: the case's milestones and a decline's reason,
    // never the casework (notes, contacts, tasks, who works it).
    let events = state.db.events(&r.id).await?;
    let milestones: Vec<(i64, String)> = events
        .iter()
        .filter_map(|e| {
            let text = match e.kind.as_str() {
                "received" => "Received by the hub".to_owned(),
                "route" => {
                    let to = e.data.as_deref()?.split_once('→')?.1;
                    format!("Passed to {}", service_name(&directory, Some(to)))
                }
                "status" => {
                    let to = e.data.as_deref()?.split_once('→')?.1;
                    format!(
                        "Now: {}",
                        syndemic_hub::status::Status::from_code(to)?.label()
                    )
                }
                "decline" => format!(
                    "Declined: {}",
                    e.body.as_deref().unwrap_or("no reason given")
                ),
                "consent-withdrawn" => "The person withdrew consent".to_owned(),
                _ => return None,
            };
            Some((e.at, text))
        })
        .collect();
    let declined = r.status == syndemic_hub::status::Status::Declined;
    let reason = events
        .iter()
        .rev()
        .find(|e| e.kind == "decline")
        .and_then(|e| e.body.clone());
    let alternatives = if declined && r.person.is_some() {
        let (offers, _) = super::cases::offers(&state).await?;
        let facts = syndemic_hub::triage::Facts {
            needs: r.needs.clone(),
            age: r.person.as_ref().and_then(|p| p.age_on(today())),
            areas: super::cases::areas_above(&state, r.lsoa.as_deref()).await?,
        };
        syndemic_hub::triage::suggest(&facts, &offers)
            .into_iter()
            .filter(|sg| sg.eligible)
            .collect()
    } else {
        Vec::new()
    };
    Ok(page(
        &state,
        &format!("Referral {}", r.reference),
        html! {
            @if sent {
                div class="notice" role="status" { h2 { "Referral sent" } p { "The hub has it: reference " strong { (r.reference) } ". You can follow it here." } }
            }
            dl class="facts" {
                dt { "Person" } dd { (r.person.as_ref().map(|p| p.display_name()).unwrap_or_else(|| "(erased)".into())) }
                dt { "Sent" } dd { (super::cases::when(r.created_at)) }
                dt { "Needs" } dd { (r.needs.iter().map(|n| n.label()).collect::<Vec<_>>().join("; ")) }
                dt { "Status" } dd { (r.status.label()) }
                dt { "Service" } dd { (service_name(&directory, r.service_id.as_deref())) }
            }
            @if declined {
                div class="warning" id="declined" {
                    h2 { "The hub declined this referral" }
                    p { "Reason: " strong { (reason.as_deref().unwrap_or("none recorded")) } }
                    @if alternatives.is_empty() { p { "No other service in the directory meets these needs." } } @else {
                        p { "Services in the directory that meet the needs and may help instead:" }
                        ul { @for a in &alternatives { li { (a.name) " — " (a.reasons.join("; ")) } } }
                        p { a href="/openreferral/services" { "The service directory" } }
                    }
                }
            }
            h2 { "What has happened" }
            ol class="timeline" { @for (at, text) in &milestones { li { (super::cases::when(*at)) " — " (text) } } }
            h2 { "Outcomes" }
            @if outcomes.is_empty() { p { "None recorded yet." } } @else {
                ul { @for o in &outcomes { li { (o.code.label()) @if let Some(v) = o.value { ": " (v) } } } }
            }
            p { a href="/referrals" { "All your referrals" } }
        },
    ))
}

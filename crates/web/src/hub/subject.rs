//! Subject access and erasure (UK GDPR Articles 15 and 17): everything the hub
//! holds about one person, found by NHS number or by name, date of birth and
//! postcode, as JSON or as a page to print; and its erasure. A coordinator
//! answers for their own hub's referrals; every search, export and erasure is
//! audited.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde_json::json;
use syndemic_access::{self as access, Action};
use syndemic_hub::person::Person;
use syndemic_store::hub::{ReferralRecord, Stamp};

use super::cases::when;
use super::front::scope_of;
use crate::shell::page;
use crate::shell::{now, Form, Posted, Signed};
use crate::{AppState, WebError};

fn person_of(form: &Form) -> Person {
    Person {
        given_name: form.get("given_name"),
        family_name: form.get("family_name"),
        date_of_birth: Some(form.get("date_of_birth")).filter(|d| !d.is_empty()),
        nhs_number: Some(form.get("nhs_number")).filter(|n| !n.is_empty()),
        postcode: syndemic_model::normalise_postcode(&form.get("postcode")).unwrap_or_default(),
        ..Person::default()
    }
}

/// The person's referrals in this coordinator's hub.
async fn find(state: &AppState, s: &Signed, form: &Form) -> Result<Vec<ReferralRecord>, WebError> {
    s.must(Action::ExportCase)?;
    let mut p = person_of(form);
    if let Some(n) = &p.nhs_number {
        let n = syndemic_hub::nhs::NhsNumber::parse(n)
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
        p.nhs_number = Some(n.digits());
    }
    let keys = p.identity_keys();
    if keys.is_empty() {
        return Err(WebError::BadRequest(
            "give the NHS number, or the first and last names, date of birth and postcode".into(),
        ));
    }
    let found = state.db.referrals_of_person(&keys).await?;
    Ok(found
        .into_iter()
        .filter(|r| access::may(&s.actor, Action::ExportCase, &scope_of(r)))
        .collect())
}

async fn export(state: &AppState, found: &[ReferralRecord]) -> Result<serde_json::Value, WebError> {
    let db = &state.db;
    let mut referrals = Vec::new();
    for r in found {
        let events = db.events(&r.id).await?;
        let tasks = db.tasks(&r.id).await?;
        let outcomes = db.outcomes(Some(&r.id)).await?;
        referrals.push(json!({
            "reference": r.reference,
            "received": when(r.created_at),
            "status": r.status.code(),
            "needs": r.needs,
            "person": r.person,
            "consent": r.consent,
            "consent_withdrawn": r.consent_withdrawn_at.map(when),
            "flags": r.flags,
            "note": r.note,
            "neighbourhood": r.lsoa,
            "timeline": events.iter().map(|e| json!({"at": when(e.at), "kind": e.kind, "text": e.body, "detail": e.data})).collect::<Vec<_>>(),
            "tasks": tasks.iter().map(|t| json!({"title": t.title, "due": t.due, "done": t.done_at.map(when)})).collect::<Vec<_>>(),
            "outcomes": outcomes.iter().map(|o| json!({"code": o.code, "value": o.value, "at": when(o.at), "voided": o.voided_at.map(when), "void_reason": o.void_reason})).collect::<Vec<_>>(),
        }));
    }
    Ok(json!({"generated": when(now()), "referrals": referrals}))
}

/// The search form, empty: a search is sent by POST, so that an NHS number, a
/// name or a date of birth never sits in a URL (a log, a history, a `Referer`).
/// A query string given here is ignored.
pub(crate) async fn subject(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Response, WebError> {
    s.must(Action::ExportCase)?;
    Ok(render(&state, &s, &Form::default(), None).into_response())
}

/// A search (CSRF-checked): the page, or with `format=json` the download.
pub(crate) async fn search(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    s.must(Action::ExportCase)?;
    let found = find(&state, &s, &form).await?;
    for r in &found {
        state
            .audit(
                &s.actor,
                "export",
                "person",
                &r.id,
                "subject access request",
            )
            .await?;
    }
    let data = export(&state, &found).await?;
    if form.get("format") == "json" {
        return Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"subject-access.json\"".to_owned(),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            serde_json::to_string_pretty(&data).unwrap_or_default(),
        )
            .into_response());
    }
    Ok(render(&state, &s, &form, Some(&data)).into_response())
}

/// The search form, the person's referrals found (if searched), and the forms
/// to download them and to erase them, each carrying the search in hidden fields.
fn render(
    state: &AppState,
    s: &Signed,
    form: &Form,
    data: Option<&serde_json::Value>,
) -> Html<String> {
    let carried = html! {
        input type="hidden" name="csrf" value=(s.csrf);
        @for (k, v) in form.0.iter().filter(|(k, _)| !matches!(k.as_str(), "format" | "csrf")) { input type="hidden" name=(k) value=(v); }
    };
    page(
        state,
        "Subject access and erasure",
        html! {
            p { "Find everything the hub holds about one person: by NHS number, or by full name, date of birth and postcode." }
            form method="post" action="/hub/subject-access" class="stack" {
                input type="hidden" name="csrf" value=(s.csrf);
                @for (id, label, kind) in [("nhs_number", "NHS number", "text"), ("given_name", "First name", "text"), ("family_name", "Last name", "text"), ("date_of_birth", "Date of birth", "date"), ("postcode", "Postcode", "text")] {
                    div class="field" { label for=(id) { (label) } input id=(id) name=(id) type=(kind) value=(form.get(id)) autocomplete="off"; }
                }
                button type="submit" { "Find" }
            }
            @if let Some(d) = data {
                @let n = d["referrals"].as_array().map_or(0, Vec::len);
                h2 { (n) " referrals found" }
                @if n > 0 {
                    form method="post" action="/hub/subject-access" class="inline" {
                        (carried)
                        input type="hidden" name="format" value="json";
                        button type="submit" class="secondary" { "Download as JSON" }
                    }
                    p { "Or print this page." }
                    @for r in d["referrals"].as_array().into_iter().flatten() {
                        h3 { "Referral " (r["reference"].as_str().unwrap_or("")) }
                        pre class="note" { (serde_json::to_string_pretty(r).unwrap_or_default()) }
                    }
                    form method="post" action="/hub/subject-access/erase" class="stack" {
                        (carried)
                        div class="field" { label for="why" { "Why erase (the request, and its date)" } input id="why" name="why" type="text" required; }
                        button type="submit" class="warning-button" { "Erase this person's personal data" }
                    }
                }
            }
        },
    )
}

pub(crate) async fn erase(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    s.must(Action::ExportCase)?;
    let why = form.get("why");
    if why.is_empty() {
        return Err(WebError::Unprocessable("say why the data is erased".into()));
    }
    let found = find(&state, &s, &form).await?;
    let ids: Vec<String> = found.iter().map(|r| r.id.clone()).collect();
    let n = state
        .db
        .erase(
            &ids,
            &Stamp {
                actor: &s.actor.id,
                org: &s.actor.org,
                at: now(),
            },
            &why,
        )
        .await?;
    Ok((
        StatusCode::OK,
        page(&state, "Erased", html! { p { "Erased the personal data of " (n) " referrals. Their counts stay in the reports." } p { a href="/hub/cases" { "Back to the cases" } } }),
    )
        .into_response())
}

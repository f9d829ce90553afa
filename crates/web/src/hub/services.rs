//! `/directory`: the service directory as people read it — search by words or
//! near a postcode, a page of services at a time, each with who runs it, what it
//! does, where, who it is for and how to reach it. The same records as the open
//! Open Referral UK API (`/openreferral`), which each page links to; open to
//! anyone, and never any personal data.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{html, Markup};
use serde_json::Value;
use syndemic_hub::oruk::{Near, Query as Find};
use syndemic_hub::FieldError;

use crate::shell::page;
use crate::{AppState, WebError};

/// Services on one page.
const PER_PAGE: usize = 20;
/// How far from a postcode a service's location may be.
const NEAR_METRES: f64 = 10_000.0;
/// The longest search read.
const MAX_SEARCH: usize = 100;

fn text(v: &Value) -> Option<&str> {
    v.as_str().map(str::trim).filter(|t| !t.is_empty())
}

/// Who a service is for, in words, from its eligibility and age range.
fn who_for(s: &Value) -> Option<String> {
    // 0 and 100-plus are the directory's way of saying "any age".
    let min = s["minimum_age"].as_f64().filter(|a| *a > 0.0);
    let max = s["maximum_age"].as_f64().filter(|b| *b < 100.0);
    let ages = match (min, max) {
        (Some(a), Some(b)) => Some(format!("aged {a} to {b}")),
        (Some(a), None) => Some(format!("aged {a} and over")),
        (None, Some(b)) => Some(format!("aged up to {b}")),
        (None, None) => None,
    };
    let eligibility = text(&s["eligibility_description"]).map(str::to_owned);
    match (ages, eligibility) {
        (Some(a), Some(e)) => Some(format!("{e} ({a})")),
        (a, e) => a.or(e),
    }
}

/// A service's locations as one line each: name and address.
fn places(s: &Value) -> Vec<String> {
    s["service_at_locations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|sal| {
            let l = &sal["location"];
            let address = l["addresses"]
                .as_array()
                .and_then(|a| a.first())
                .map(|a| {
                    ["address_1", "city", "postal_code"]
                        .iter()
                        .filter_map(|k| text(&a[*k]))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|a| !a.is_empty());
            match (text(&l["name"]), address) {
                (Some(n), Some(a)) => Some(format!("{n}, {a}")),
                (n, a) => n.map(str::to_owned).or(a),
            }
        })
        .collect()
}

/// How to reach a service: its e-mail, web site and phone numbers, as links.
fn contact(s: &Value) -> Markup {
    let phones: Vec<&str> = s["phones"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| text(&p["number"]))
        .collect();
    html! {
        @if let Some(e) = text(&s["email"]) { a href=(format!("mailto:{e}")) { (e) } " " }
        @if let Some(u) = text(&s["url"]).filter(|u| u.starts_with("https://") || u.starts_with("http://")) { a href=(u) rel="noopener noreferrer" { (u) } " " }
        @for p in &phones { a href=(format!("tel:{}", p.replace(' ', ""))) { (p) } " " }
    }
}

/// One service as the list and its own page show it.
fn service_facts(s: &Value, org: Option<&str>) -> Markup {
    html! {
        dl class="facts" {
            @if let Some(o) = org { dt { "Run by" } dd { (o) } }
            @if let Some(d) = text(&s["description"]) { dt { "What it does" } dd { (d) } }
            @if let Some(w) = who_for(s) { dt { "Who it is for" } dd { (w) } }
            @let where_ = places(s);
            @if !where_.is_empty() { dt { "Where" } dd { (where_.join("; ")) } }
            dt { "Contact" } dd { (contact(s)) }
        }
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let value = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut find = Find::default();
    let words = value("q");
    if words.chars().count() > MAX_SEARCH {
        errors.push(FieldError::new(
            "q",
            format!("search for at most {MAX_SEARCH} characters"),
        ));
    } else if !words.is_empty() {
        find.search = Some(words.clone());
    }
    let postcode = value("postcode");
    if !postcode.is_empty() {
        match syndemic_model::normalise_postcode(&postcode) {
            None => errors.push(FieldError::new(
                "postcode",
                format!("`{postcode}` is not a UK postcode: write it as HM1 2AB"),
            )),
            Some(pc) => match state.db.postcode(&pc).await? {
                Some(p) if p.latitude.is_some() && p.longitude.is_some() => {
                    find.near = Some(Near {
                        lat: p.latitude.unwrap_or_default(),
                        lon: p.longitude.unwrap_or_default(),
                        metres: NEAR_METRES,
                    });
                }
                _ => errors.push(FieldError::new(
                    "postcode",
                    format!("{pc} is not in this place's postcode directory: check it, or search without it"),
                )),
            },
        }
    }
    let page_no = match value("page") {
        p if p.is_empty() => 1,
        p => match p.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                errors.push(FieldError::new(
                    "page",
                    format!("`{p}` is not a page number"),
                ));
                1
            }
        },
    };
    let d = state.hub.directory(state.db.as_ref()).await?;
    let found = if errors.is_empty() {
        d.services(&find)
    } else {
        Vec::new()
    };
    let pages = found.len().div_ceil(PER_PAGE).max(1);
    let page_no = page_no.min(pages);
    let shown: Vec<&Value> = found
        .iter()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    let error_of = |k: &str| errors.iter().find(|e| e.field == k);
    let link = |p: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !words.is_empty() {
            q.append_pair("q", &words);
        }
        if !postcode.is_empty() {
            q.append_pair("postcode", &postcode);
        }
        q.append_pair("page", &p.to_string());
        format!("/directory?{}", q.finish())
    };
    Ok(page(
        &state,
        "Service directory",
        html! {
            p class="lead" { "Services that help with the things behind ill health — cold homes, money, loneliness and more — and how to reach them." }
            @if !errors.is_empty() {
                div class="error-summary" role="alert" tabindex="-1" {
                    h2 { "There is a problem" }
                    ul { @for e in &errors { li { a href=(format!("#{}", e.field)) { (e.message) } } } }
                }
            }
            form method="get" action="/directory" aria-label="Find a service" {
                @for (k, label, hint) in [("q", "What help?", "A word such as heating, debt or lonely"), ("postcode", "Near a postcode", "Within 10 km")] {
                    div class=(if error_of(k).is_some() { "field invalid" } else { "field" }) {
                        label for=(k) { (label) }
                        p class="hint" id=(format!("{k}-hint")) { (hint) }
                        @if let Some(e) = error_of(k) { p class="field-error" id=(format!("{k}-error")) { "Error: " (e.message) } }
                        input id=(k) name=(k) type="text" value=(value(k))
                            autocomplete=(if k == "postcode" { "postal-code" } else { "off" })
                            aria-invalid=[error_of(k).map(|_| "true")]
                            aria-describedby=(if error_of(k).is_some() { format!("{k}-error {k}-hint") } else { format!("{k}-hint") });
                    }
                }
                button type="submit" { "Find services" }
            }
            @if errors.is_empty() {
                p role="status" id="directory-count" {
                    @if found.is_empty() { "No service matches." } @else {
                        "Showing " ((page_no - 1) * PER_PAGE + 1) "–" ((page_no - 1) * PER_PAGE + shown.len()) " of " (found.len()) " services."
                    }
                }
                @for s in &shown {
                    @let id = s["id"].as_str().unwrap_or_default();
                    section class="service" aria-labelledby=(format!("s-{id}")) {
                        h2 id=(format!("s-{id}")) { a href=(format!("/directory/{id}")) { (text(&s["name"]).unwrap_or("(unnamed service)")) } }
                        @let full = d.service_full(id).unwrap_or_else(|| (*s).clone());
                        (service_facts(&full, text(&s["organization"]["name"])))
                    }
                }
                @if pages > 1 {
                    nav aria-label="Pages of services" class="pager" {
                        @if page_no > 1 { a href=(link(page_no - 1)) { "Previous page" } }
                        span { "Page " (page_no) " of " (pages) }
                        @if page_no < pages { a href=(link(page_no + 1)) { "Next page" } }
                    }
                }
            }
            p { "The same records, open to any program: " a href="/openreferral/services" { "Open Referral UK 3.0 API" } "." }
        },
    ))
}

pub(crate) async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let d = state.hub.directory(state.db.as_ref()).await?;
    let s = d
        .service_full(&id)
        .ok_or_else(|| WebError::NotFound("There is no such service in the directory.".into()))?;
    let name = text(&s["name"]).unwrap_or("(unnamed service)").to_owned();
    Ok(page(
        &state,
        &name,
        html! {
            (service_facts(&s, text(&s["organization"]["name"])))
            p { a href=(format!("/openreferral/services/{id}")) { "This service as Open Referral UK JSON" } }
            p { a href="/directory" { "The whole directory" } }
        },
    ))
}

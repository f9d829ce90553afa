//! The case list as a caseload: search, filters, priority order and pages
//! (the rules are `syndemic_hub::caseload`; this renders them).
//!
//! Filters travel in the address (`GET /hub/cases?status=open&assigned=me`), so a
//! view can be bookmarked; a search for a person travels only in a form's body
//! (`POST /hub/cases`, with the CSRF token), so a name or NHS number never lands
//! in an address, a browser's history or a proxy's log. A value that cannot be
//! read is shown again beside its field, with everything else as typed.

use axum::extract::{Query as UrlQuery, State};
use axum::response::Html;
use maud::{html, Markup};
use syndemic_access::{self as access, Action, Role};
use syndemic_hub::caseload::{self, Assigned, Facts, Query, Search, Sort, StatusFilter};
use syndemic_hub::need::Urgency;
use syndemic_hub::status::Status;
use syndemic_hub::workdays::{date_of, format_date};
use syndemic_hub::FieldError;
use syndemic_store::hub::{ReferralFilter, ReferralRecord};

use super::cases::{clock, when, Clock};
use super::front::{org_names, scope_of, service_name};
use crate::shell::page;
use crate::shell::{Form, Posted, Signed};
use crate::{AppState, WebError};

/// The cases this user may work.
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

/// The query a form (or an address) asks for, with every field that could not
/// be read. `search` is false for an address: a person is searched for by POST only.
fn query_of(form: &Form, me: &str, search: bool) -> (Query, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut q = Query::default();
    let mut take = |r: Result<(), FieldError>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    if search {
        take(Search::parse(&form.get("q")).map(|s| q.search = s));
    }
    take(StatusFilter::parse(&form.get("status")).map(|s| q.status = s));
    take(Sort::parse(&form.get("sort")).map(|s| q.sort = s));
    q.service = Some(form.get("service")).filter(|s| !s.is_empty());
    q.referrer_org = Some(form.get("referrer")).filter(|s| !s.is_empty());
    let urgency = form.get("urgency");
    if !urgency.is_empty() {
        match Urgency::from_code(&urgency) {
            Some(u) => q.urgency = Some(u),
            None => take(Err(FieldError::new(
                "urgency",
                format!("`{urgency}` is not an urgency; choose one from the list"),
            ))),
        }
    }
    q.overdue_only = form.get("overdue") == "yes";
    q.assigned = match form.get("assigned").as_str() {
        "" => Assigned::Anyone,
        "me" => Assigned::To(me.to_owned()),
        "nobody" => Assigned::Nobody,
        other => {
            take(Err(FieldError::new(
                "assigned",
                format!("`{other}` is not a choice here; choose anyone, me or nobody"),
            )));
            Assigned::Anyone
        }
    };
    for (field, slot) in [("from", &mut q.from), ("to", &mut q.to)] {
        let text = form.get(field);
        if !text.is_empty() {
            match syndemic_model::date::parse_date(&text) {
                Ok(d) => *slot = Some(d),
                Err(e) => take(Err(FieldError::new(field, e))),
            }
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            take(Err(FieldError::new(
                "to",
                format!("the last day ({to}) is before the first ({from}): swap them"),
            )));
        }
    }
    let page = form.get("page");
    if !page.is_empty() {
        match page.parse::<usize>() {
            Ok(n) if n >= 1 => q.page = n,
            _ => take(Err(FieldError::new(
                "page",
                format!("`{page}` is not a page number; pages count from 1"),
            ))),
        }
    }
    (q, errors)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    s: Signed,
    UrlQuery(pairs): UrlQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let form = Form::from_pairs(pairs);
    render(&state, &s, &form, false).await
}

pub(crate) async fn search(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Html<String>, WebError> {
    render(&state, &s, &form, true).await
}

async fn render(
    state: &AppState,
    s: &Signed,
    form: &Form,
    posted: bool,
) -> Result<Html<String>, WebError> {
    let cases = cases_of(state, s).await?;
    let (q, errors) = query_of(form, &s.actor.id, posted);
    // Each case's first-contact clock, worked out once for the filter and the rows.
    let clocks: Vec<Clock> = cases.iter().map(|r| clock(state, r)).collect();
    let directory = state.hub.directory(state.db.as_ref()).await?;
    let orgs = org_names(state).await?;
    let users: rustc_hash::FxHashMap<String, String> = state
        .db
        .users(None)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    // The names each row shows, for sorting by its columns.
    let names: Vec<[String; 3]> = cases
        .iter()
        .map(|r| {
            [
                r.service_id
                    .as_deref()
                    .map(|id| service_name(&directory, Some(id)))
                    .unwrap_or_default(),
                r.assigned_to
                    .as_deref()
                    .and_then(|u| users.get(u).cloned())
                    .unwrap_or_default(),
                orgs.get(&r.referrer_org).cloned().unwrap_or_default(),
            ]
        })
        .collect();
    let facts: Vec<Facts> = cases
        .iter()
        .zip(&clocks)
        .zip(&names)
        .map(|((r, c), [service, assigned, referrer])| Facts {
            reference: &r.reference,
            person: r.person.as_ref(),
            status: r.status,
            urgency: r.urgency,
            service_id: r.service_id.as_deref(),
            assigned_to: r.assigned_to.as_deref(),
            referrer_org: &r.referrer_org,
            received_at: r.created_at,
            received: date_of(r.created_at),
            overdue: c.overdue,
            service_name: service,
            assigned_name: assigned,
            referrer_name: referrer,
        })
        .collect();
    let shown = if errors.is_empty() {
        Some(caseload::select(&q, &facts))
    } else {
        None
    };
    state
        .audit(
            &s.actor,
            "view",
            "case-list",
            &format!(
                "status={}; search={}; page={}",
                if q.status.code().is_empty() {
                    "all"
                } else {
                    q.status.code()
                },
                q.search.kind(),
                shown.as_ref().map_or(0, |p| p.page)
            ),
            "case list",
        )
        .await?;
    let mut services: Vec<(&str, String)> = cases
        .iter()
        .filter_map(|r| r.service_id.as_deref())
        .map(|id| (id, service_name(&directory, Some(id))))
        .collect();
    services.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    services.dedup_by(|a, b| a.0 == b.0);
    let mut referrers: Vec<(&str, &str)> = cases
        .iter()
        .map(|r| {
            let id = r.referrer_org.as_str();
            (id, orgs.get(id).map_or(id, String::as_str))
        })
        .collect();
    referrers.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)));
    referrers.dedup_by(|a, b| a.0 == b.0);
    let value = |name: &str| form.get(name);
    let field = |name: &str, label: &str, control: Markup| {
        let err = errors.iter().find(|e| e.field == name);
        html! {
            div class=(if err.is_some() { "field invalid" } else { "field" }) {
                label for=(name) { (label) }
                @if let Some(e) = err { p class="field-error" id=(format!("{name}-error")) { "Error: " (e.message) } }
                (control)
            }
        }
    };
    let invalid = |name: &str| errors.iter().any(|e| e.field == name).then_some("true");
    let described = |name: &str| {
        errors
            .iter()
            .any(|e| e.field == name)
            .then(|| format!("{name}-error"))
    };
    let search_text = if posted { value("q") } else { String::new() };
    Ok(page(
        state,
        "Cases",
        html! {
            @if !errors.is_empty() {
                div class="error-summary" role="alert" tabindex="-1" id="errors" {
                    h2 { "There is a problem" }
                    ul { @for e in &errors { li { a href=(format!("#{}", e.field)) { (e.message) } } } }
                }
            }
            form method="post" action="/hub/cases" class="filters" aria-label="Find cases" {
                input type="hidden" name="csrf" value=(s.csrf);
                (field("q", "Search: name, NHS number, reference, postcode or phone", html! {
                    input id="q" name="q" type="search" value=(search_text) maxlength=(caseload::MAX_SEARCH_CHARS)
                        autocomplete="off" aria-invalid=[invalid("q")] aria-describedby=[described("q")];
                }))
                (field("status", "Status", html! {
                    select id="status" name="status" aria-invalid=[invalid("status")] aria-describedby=[described("status")] {
                        option value="" { "All cases" }
                        option value="open" selected[value("status") == "open"] { "Open cases" }
                        @for st in Status::ALL { option value=(st.code()) selected[value("status") == st.code()] { (st.label()) } }
                    }
                }))
                (field("service", "Service", html! {
                    select id="service" name="service" {
                        option value="" { "Any service" }
                        @for (id, name) in &services { option value=(id) selected[value("service") == *id] { (name) } }
                    }
                }))
                (field("urgency", "Urgency", html! {
                    select id="urgency" name="urgency" aria-invalid=[invalid("urgency")] aria-describedby=[described("urgency")] {
                        option value="" { "Any urgency" }
                        @for u in Urgency::ALL { option value=(u.code()) selected[value("urgency") == u.code()] { (u.label()) } }
                    }
                }))
                (field("assigned", "Assigned to", html! {
                    select id="assigned" name="assigned" aria-invalid=[invalid("assigned")] aria-describedby=[described("assigned")] {
                        option value="" { "Anyone" }
                        option value="me" selected[value("assigned") == "me"] { "Me" }
                        option value="nobody" selected[value("assigned") == "nobody"] { "Nobody yet" }
                    }
                }))
                (field("referrer", "Referred by", html! {
                    select id="referrer" name="referrer" {
                        option value="" { "Any organisation" }
                        @for (id, name) in &referrers { option value=(id) selected[value("referrer") == *id] { (name) } }
                    }
                }))
                (field("from", "Received from (YYYY-MM-DD)", html! {
                    input id="from" name="from" type="date" value=(value("from")) aria-invalid=[invalid("from")] aria-describedby=[described("from")];
                }))
                (field("to", "Received up to (YYYY-MM-DD)", html! {
                    input id="to" name="to" type="date" value=(value("to")) aria-invalid=[invalid("to")] aria-describedby=[described("to")];
                }))
                (field("sort", "Order", html! {
                    select id="sort" name="sort" aria-invalid=[invalid("sort")] aria-describedby=[described("sort")] {
                        @for so in Sort::ALL { option value=(so.code()) selected[value("sort") == so.code()] { (so.label()) } }
                    }
                }))
                div class="choices" {
                    input type="checkbox" id="overdue" name="overdue" value="yes" checked[value("overdue") == "yes"];
                    label for="overdue" { "Overdue only" }
                }
                button type="submit" { "Find cases" }
                " "
                a href="/hub/cases" { "Clear the search and filters" }
            }
            @if let Some(p) = &shown {
                p role="status" id="caseload-count" {
                    @if p.matched == 0 { "No case matches" } @else {
                        "Showing " (p.first()) "–" (p.last()) " of " (p.matched) " matching cases"
                    }
                    " (" (p.total) " in your caseload)"
                    @if p.overdue > 0 { "; " strong class="overdue" { (p.overdue) " overdue" } }
                    "."
                }
                div class="table-scroll" tabindex="0" role="region" aria-labelledby="caseload-caption" {
                    table {
                        caption id="caseload-caption" { "Cases, " (q.sort.label().to_lowercase()) ", page " (p.page) " of " (p.pages) }
                        thead { tr {
                            @for (heading, sort) in [("Reference", Some(Sort::Reference)), ("Person", Some(Sort::Person)), ("Received", Some(Sort::Newest)), ("Referred by", Some(Sort::ReferredBy)), ("Urgency", Some(Sort::Urgency)), ("Status", Some(Sort::Status)), ("Service", Some(Sort::Service)), ("Assigned to", Some(Sort::Assigned)), ("First contact", Some(Sort::Priority)), ("Risks", None)] {
                                @match sort {
                                    Some(by) if by == q.sort => th scope="col" aria-sort=(if by == Sort::Newest { "descending" } else { "ascending" }) { (heading) " (sorted)" },
                                    Some(by) => th scope="col" { (resort(s, form, posted, by, heading)) },
                                    None => th scope="col" { (heading) },
                                }
                            }
                        } }
                        tbody {
                            @for &i in &p.rows {
                                @let r = &cases[i];
                                @let c = &clocks[i];
                                tr {
                                    td { a href=(format!("/hub/cases/{}", r.id)) { (r.reference) } @if r.linked_to.is_some() && !r.link_confirmed { " " span class="tag" { "Possible repeat" } } }
                                    td { (r.person.as_ref().map(|p| p.display_name()).unwrap_or_else(|| "(erased)".into())) }
                                    td { (when(r.created_at)) }
                                    td { (orgs.get(&r.referrer_org).map_or(r.referrer_org.as_str(), String::as_str)) }
                                    td { (r.urgency.code()) }
                                    td { (r.status.label()) @if r.triage == "pending" && !r.status.is_final() { " (awaiting triage)" } }
                                    td { (service_name(&directory, r.service_id.as_deref())) }
                                    td { (r.assigned_to.as_deref().map_or("Nobody yet", |u| users.get(u).map_or("(a former user)", String::as_str))) }
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
                }
                @if p.pages > 1 {
                    nav aria-label="Pages of cases" class="pager" {
                        @if p.page > 1 { (pager(s, form, posted, p.page - 1, "Previous page")) }
                        span { "Page " (p.page) " of " (p.pages) }
                        @if p.page < p.pages { (pager(s, form, posted, p.page + 1, "Next page")) }
                    }
                }
            }
        },
    ))
}

/// A column heading that sorts the same list by that column (from its first page).
fn resort(s: &Signed, form: &Form, posted: bool, by: Sort, heading: &str) -> Markup {
    let searched = posted && !form.get("q").is_empty();
    html! {
        form method=(if searched { "post" } else { "get" }) action="/hub/cases" class="inline" {
            @if searched { input type="hidden" name="csrf" value=(s.csrf); }
            @for name in KEPT.iter().filter(|n| **n != "sort") {
                @let v = form.get(name);
                @if !v.is_empty() && (*name != "q" || searched) { input type="hidden" name=(*name) value=(v); }
            }
            input type="hidden" name="sort" value=(by.code());
            button type="submit" class="link" aria-label=(format!("{heading}: sort by this column")) { (heading) }
        }
    }
}

/// The fields a page or sort link keeps.
const KEPT: [&str; 10] = [
    "status", "service", "urgency", "assigned", "referrer", "from", "to", "sort", "overdue", "q",
];

/// A button to another page of the same list: by the address when the list has no
/// search, by a form's body when it has one (so the search stays out of addresses).
fn pager(s: &Signed, form: &Form, posted: bool, page: usize, label: &str) -> Markup {
    let searched = posted && !form.get("q").is_empty();
    html! {
        form method=(if searched { "post" } else { "get" }) action="/hub/cases" class="inline" {
            @if searched { input type="hidden" name="csrf" value=(s.csrf); }
            @for name in KEPT {
                @let v = form.get(name);
                @if !v.is_empty() && (name != "q" || searched) { input type="hidden" name=(name) value=(v); }
            }
            input type="hidden" name="page" value=(page);
            button type="submit" class="secondary" { (label) }
        }
    }
}

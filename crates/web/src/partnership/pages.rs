//! The partnership pages: the partnerships one may read, a partnership's
//! scorecard, members and plans, a plan's commitments, a commitment judged
//! against its trajectory with its updates and board reviews, and the forms that
//! add plans, commitments, updates, reviews and self-assessments.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use rustc_hash::FxHashMap;
use syndemic_hub::access::Actor;
use syndemic_partnership::access as rules;
use syndemic_partnership::framework;
use syndemic_partnership::layout::{self, Sheet};
use syndemic_partnership::maturity;
use syndemic_partnership::sector::Sector;
use syndemic_partnership::target::TargetRule;
use syndemic_partnership::trajectory::{parse_date, Judgement, Movement};
use syndemic_store::partnership::{
    CommitmentRecord, EvidenceFile, MaturityRecord, MilestoneRecord, PlanRecord, ReviewRecord,
    UpdateRecord,
};

use super::{
    audit_entry, day, judge_all, judgement_tag, layout_error, must_manage, must_read, num,
    one_file, owed, posted_multipart, resolve_targets, status_label, Judged, World, STATUSES,
};
use crate::hub::auth::require;
use crate::hub::{new_uuid, posted, Signed};
use crate::pages::page as layout_page;
use crate::table::{Cell, DataTable, Download};
use crate::{AppState, WebError};

/// The ratings a board gives a commitment at review.
pub(crate) const RATINGS: [(&str, &str); 4] = [
    ("green", "Green: delivering as agreed"),
    ("amber", "Amber: some concern, actions agreed"),
    ("red", "Red: not delivering, escalated"),
    ("complete", "Complete: closed by the board"),
];

fn rating_label(code: &str) -> &str {
    RATINGS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let s = require(&state, &headers).await?;
    let world = World::load(&state).await?;
    let readable = world.readable(&s.actor);
    let all: Vec<&CommitmentRecord> = world.commitments.iter().collect();
    let judged = judge_all(&state, &world, &all).await?;
    let reminders = owed(&world, &judged, &s.actor);
    let frameworks = super::frameworks(&state).await?;
    Ok(layout_page(
        &state,
        "Partnerships",
        html! {
            @if !reminders.is_empty() {
                div class="warning" role="status" {
                    h2 { "Updates your organisation owes" }
                    ul { @for c in &reminders {
                        li { a href=(format!("/commitments/{}", c.id)) { (c.reference) ": " (c.title) } " — due " (day_of_unix(judged[&c.id].due_at)) }
                    } }
                }
            }
            @if readable.is_empty() {
                p { "Your organisation is not a member of any partnership yet. A partnership's lead adds members." }
            } @else {
                table {
                    caption { "Partnerships you can see" }
                    thead { tr { th scope="col" { "Partnership" } th scope="col" { "Kind" } th scope="col" { "Nested in" } th scope="col" class="num" { "Members" } th scope="col" class="num" { "Commitments" } } }
                    tbody { @for p in &readable {
                        tr {
                            td { a href=(format!("/partnerships/{}", p.id)) { (p.name) } }
                            td { (kind_label(&p.kind)) }
                            td { (p.parent_id.as_deref().and_then(|id| world.partnership(id).ok()).map_or("—", |x| x.name.as_str())) }
                            td class="num" { (world.members.iter().filter(|m| m.partnership_id == p.id).count()) }
                            td class="num" { (world.commitments.iter().filter(|c| world.plan(&c.plan_id).is_ok_and(|pl| pl.partnership_id == p.id)).count()) }
                        }
                    } }
                }
            }
            @if super::manage::may_create(&s) { (super::manage::create_form(&s, &world, &frameworks)) }
            ul class="columns" {
                li { a href="/organisations" { "Organisations and their sectors" } }
                li { a href="/anchors" { "Anchor institutions" } }
                li { a href="/businesses" { "The business map" } }
            }
        },
    ))
}

/// A partnership's kind in words.
fn kind_label(code: &str) -> &str {
    super::manage::KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

/// Seconds since the epoch as a date.
pub(crate) fn day_of_unix(at: i64) -> String {
    day(at.div_euclid(86_400) + 2_440_588)
}

/// The scorecard tables' download names, in the order [`scorecards`] gives them.
pub(crate) const SCORECARDS: [&str; 4] = [
    "scorecard",
    "status",
    "by-organisation",
    "status-by-organisation",
];

type Groups<'a> = Vec<(String, Vec<&'a CommitmentRecord>)>;

fn counter<'a>(
    list: &'a [&'a CommitmentRecord],
    judged: &'a FxHashMap<String, Judged>,
) -> impl Fn(&dyn Fn(&Judged) -> bool) -> Cell + 'a {
    move |f| {
        Cell::Number(Some(
            list.iter()
                .filter(|c| judged.get(&c.id).is_some_and(f))
                .count() as f64,
        ))
    }
}

/// Commitments with an indicator by their judgement against trajectory, and
/// whether the indicator moved significantly since the baseline.
pub(crate) fn judgement_table(
    caption: &str,
    groups: &Groups<'_>,
    judged: &FxHashMap<String, Judged>,
) -> DataTable {
    let mut columns = vec!["Group", "Commitments"];
    columns.extend(Judgement::ALL.iter().map(|j| j.label()));
    columns.extend([
        "Indicator significantly better",
        "Indicator significantly worse",
    ]);
    let mut t = DataTable::new(caption, &columns);
    for (name, list) in groups {
        let count = counter(list, judged);
        let mut row = vec![
            Cell::text(name.clone()),
            Cell::Number(Some(list.len() as f64)),
        ];
        for j in Judgement::ALL {
            row.push(count(&|x| x.indicator.is_some() && x.judgement() == j));
        }
        row.push(count(&|x| x.movement == Movement::Better));
        row.push(count(&|x| x.movement == Movement::Worse));
        t.push(row);
    }
    t
}

/// Commitments by the delivery status their latest update reports, and overdue.
pub(crate) fn status_table(
    caption: &str,
    groups: &Groups<'_>,
    judged: &FxHashMap<String, Judged>,
) -> DataTable {
    let mut columns = vec!["Group", "Commitments"];
    columns.extend(STATUSES.iter().map(|(_, l)| *l));
    columns.push("Update overdue");
    let mut t = DataTable::new(caption, &columns);
    for (name, list) in groups {
        let count = counter(list, judged);
        let mut row = vec![
            Cell::text(name.clone()),
            Cell::Number(Some(list.len() as f64)),
        ];
        for (code, _) in STATUSES {
            row.push(count(&|x| x.status == code));
        }
        row.push(count(&|x| x.overdue));
        t.push(row);
    }
    t
}

/// The scorecards of one partnership (and those nested in it): all commitments
/// and by the lead organisation's sector, then by lead organisation — each
/// against trajectory and by reported status.
pub(crate) async fn scorecards(
    state: &AppState,
    world: &World,
    partnership: &str,
) -> Result<(Vec<DataTable>, FxHashMap<String, Judged>), WebError> {
    let mut scope = world.descendants(partnership);
    scope.push(partnership);
    let list: Vec<&CommitmentRecord> = world
        .commitments
        .iter()
        .filter(|c| {
            world
                .plan(&c.plan_id)
                .is_ok_and(|p| scope.contains(&p.partnership_id.as_str()))
        })
        .collect();
    let judged = judge_all(state, world, &list).await?;
    let mut by_sector: Groups<'_> = vec![("All commitments".into(), list.clone())];
    for sector in Sector::ALL {
        let these: Vec<&CommitmentRecord> = list
            .iter()
            .copied()
            .filter(|c| world.sector_of(&c.lead_org) == sector.code())
            .collect();
        if !these.is_empty() {
            by_sector.push((sector.label().to_owned(), these));
        }
    }
    let mut by_org: Groups<'_> = Vec::new();
    for c in &list {
        let name = world.org_name(&c.lead_org).to_owned();
        match by_org.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(c),
            None => by_org.push((name, vec![c])),
        }
    }
    by_org.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((
        vec![
            judgement_table(
                "Against trajectory: all commitments and by the lead organisation's sector",
                &by_sector,
                &judged,
            ),
            status_table(
                "Delivery status as reported: all commitments and by the lead organisation's sector",
                &by_sector,
                &judged,
            ),
            judgement_table("Against trajectory, by lead organisation", &by_org, &judged),
            status_table("Delivery status, by lead organisation", &by_org, &judged),
        ],
        judged,
    ))
}

pub(crate) async fn partnership(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let s = require(&state, &headers).await?;
    let world = World::load(&state).await?;
    let p = world.partnership(&id)?;
    let family = world.family(&id);
    must_read(&s.actor, &family)?;
    let manage = rules::may_manage(&s.actor, &family);
    let (tables, _) = scorecards(&state, &world, &id).await?;
    let members: Vec<_> = world
        .members
        .iter()
        .filter(|m| m.partnership_id == id)
        .collect();
    let plans: Vec<&PlanRecord> = world
        .plans
        .iter()
        .filter(|pl| pl.partnership_id == id)
        .collect();
    let nested: Vec<_> = world
        .partnerships
        .iter()
        .filter(|x| x.parent_id.as_deref() == Some(id.as_str()))
        .collect();
    let assessments = state.hub.db.maturity(&id).await?;
    let mut days: Vec<&str> = assessments.iter().map(|m| m.assessed_on.as_str()).collect();
    days.dedup();
    let download = |name: &str| Download {
        path: format!("/partnerships/{id}/{name}"),
        query: String::new(),
    };
    let framework_name = super::frameworks(&state)
        .await?
        .into_iter()
        .find(|f| f.code == p.framework)
        .map_or(p.framework.clone(), |f| f.name);
    Ok(layout_page(
        &state,
        &p.name,
        html! {
            p class="lead" { (kind_label(&p.kind)) @if let Some(a) = &p.area { " for " span class="code" { (a) } } ". Commitments are classified against " (framework_name) "." }
            @if let Some(parent) = p.parent_id.as_deref().and_then(|x| world.partnership(x).ok()) {
                p { "Part of " a href=(format!("/partnerships/{}", parent.id)) { (parent.name) } "." }
            }
            @if !nested.is_empty() {
                p { "Partnerships within it: " @for (i, n) in nested.iter().enumerate() { @if i > 0 { ", " } a href=(format!("/partnerships/{}", n.id)) { (n.name) } } "." }
            }
            p { a href=(format!("/partnerships/{id}/report")) { "Printable accountability report" } }
            h2 { "Scorecard" }
            p { "A commitment is on track when its indicator's latest value is at or better than the straight line from its baseline to its target at that period; not significant when the latest 95 % interval contains that line's value." }
            @for (i, t) in tables.iter().enumerate() {
                (t.html(Some(&download(SCORECARDS[i]))))
            }
            h2 { "Action plans" }
            @if plans.is_empty() { p { "No plan yet." } }
            ul { @for pl in &plans {
                li { a href=(format!("/plans/{}", pl.id)) { (pl.title) } " (" (pl.period_start) " to " (pl.period_end) ", " (world.commitments.iter().filter(|c| c.plan_id == pl.id).count()) " commitments)" }
            } }
            @if manage { (plan_form(&s, &world, &id, None)) }
            h2 { "Members" }
            table {
                caption { (members.len()) " member organisations" }
                thead { tr { th scope="col" { "Organisation" } th scope="col" { "Sector" } th scope="col" { "Role" } th scope="col" { "Seat" } } }
                tbody { @for m in &members {
                    tr {
                        td { a href=(format!("/organisations/{}", m.org_id)) { (world.org_name(&m.org_id)) } }
                        td { (Sector::from_code(world.sector_of(&m.org_id)).map_or("—", |x| x.label())) }
                        td { (m.role) }
                        td { (m.title.as_deref().unwrap_or("")) }
                    }
                } }
            }
            @if manage || s.actor.role == syndemic_hub::access::Role::SystemAdmin { (super::manage::members_form(&s, &world, &id)) }
            h2 { "Business engagement self-assessment" }
            @if days.is_empty() { p { "Not assessed yet." } }
            @else {
                table {
                    caption { "Scores from 0 to 4 per criterion, by assessment" }
                    thead { tr { th scope="col" { "Criterion" } @for d in &days { th scope="col" class="num" { (d) } } } }
                    tbody {
                        @for (code, label) in maturity::CRITERIA {
                            tr { th scope="row" { (label) } @for d in &days {
                                td class="num" { (assessments.iter().find(|m| m.assessed_on == *d && m.criterion == code).map_or(String::new(), |m| m.score.to_string())) }
                            } }
                        }
                        tr { th scope="row" { "Overall (mean, 0–4)" } @for d in &days {
                            @let score = maturity::score(&assessments.iter().filter(|m| m.assessed_on == *d).map(|m| (m.criterion.clone(), m.score as u8)).collect::<Vec<_>>());
                            td class="num" { (score.mean.map(num).unwrap_or_default()) " " (score.level.unwrap_or("")) }
                        } }
                    }
                }
            }
            @if manage { (maturity_form(&s, &id)) (super::manage::framework_form(&s, &id)) }
        },
    ))
}

/// The form that adds a plan to `partnership`, or changes `existing`.
fn plan_form(
    s: &Signed,
    world: &World,
    partnership: &str,
    existing: Option<&PlanRecord>,
) -> Markup {
    let members: Vec<&str> = world
        .members
        .iter()
        .filter(|m| m.partnership_id == partnership)
        .map(|m| m.org_id.as_str())
        .collect();
    let owner = existing.map_or(s.actor.org.as_str(), |p| p.owner_org.as_str());
    let action = existing.map_or(format!("/partnerships/{partnership}/plans"), |p| {
        format!("/plans/{}", p.id)
    });
    let priorities = existing
        .map(|p| p.priorities.join("\n"))
        .unwrap_or_default();
    html! {
        @if existing.is_none() { h3 { "Add an action plan" } }
        form method="post" action=(action) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            div class="field" { label for="plan-title" { "Title" } input id="plan-title" name="title" type="text" required value=[existing.map(|p| &p.title)]; }
            div class="field" { label for="plan-owner" { "Owning organisation" }
                select id="plan-owner" name="owner" { @for m in &members { option value=(m) selected[*m == owner] { (world.org_name(m)) } } } }
            div class="field" { label for="plan-start" { "Period from" } input id="plan-start" name="period_start" type="date" required value=[existing.map(|p| &p.period_start)]; }
            div class="field" { label for="plan-end" { "Period to" } input id="plan-end" name="period_end" type="date" required value=[existing.map(|p| &p.period_end)]; }
            div class="field" { label for="plan-priorities" { "Priorities" } p class="hint" id="plan-priorities-hint" { "One a line." }
                textarea id="plan-priorities" name="priorities" rows="4" aria-describedby="plan-priorities-hint" { (priorities) } }
            div class="field" { label for="plan-every" { "Progress updates due every (days)" } input id="plan-every" name="update_every_days" type="number" min="7" max="366" value=(existing.map_or(92, |p| p.update_every_days)); }
            button type="submit" { @if existing.is_some() { "Save the plan" } @else { "Add the plan" } }
        }
    }
}

fn maturity_form(s: &Signed, partnership: &str) -> Markup {
    html! {
        h3 { "Record a self-assessment" }
        form method="post" action=(format!("/partnerships/{partnership}/maturity")) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            div class="field" { label for="m-day" { "Assessed on" } input id="m-day" name="assessed_on" type="date" required; }
            @for (code, label) in maturity::CRITERIA {
                div class="field" {
                    label for=(format!("m-{code}")) { (label) }
                    select id=(format!("m-{code}")) name=(code) {
                        @for (i, level) in maturity::LEVELS.iter().enumerate() { option value=(i) { (i) ": " (level) } }
                    }
                }
            }
            button type="submit" { "Save the assessment" }
        }
    }
}

fn date_field(form: &crate::hub::Form, name: &str, label: &str) -> Result<String, WebError> {
    let v = form.get(name);
    if parse_date(&v).is_none() {
        return Err(WebError::Unprocessable(format!(
            "{label}: `{v}` is not a date; give it as YYYY-MM-DD"
        )));
    }
    Ok(v)
}

pub(crate) async fn create_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (s, form) = posted(&state, &headers, &body).await?;
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_manage(&s.actor, &world.family(&id))?;
    let plan = plan_of_form(&form, &world, new_uuid()?, &id)?;
    state
        .hub
        .db
        .put_plan(
            &plan,
            &[],
            &audit_entry(&s.actor, "create", "plan", &plan.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/plans/{}", plan.id)).into_response())
}

/// A partnership's lead changes one of its plans: title, owner, period, priorities
/// and how often updates are due, with the checks a new plan has; its commitments
/// stay as they are.
pub(crate) async fn edit_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (s, form) = posted(&state, &headers, &body).await?;
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_manage(&s.actor, &family)?;
    let changed = plan_of_form(&form, &world, plan.id.clone(), &plan.partnership_id)?;
    state
        .hub
        .db
        .put_plan(
            &changed,
            &[],
            &audit_entry(&s.actor, "edit", "plan", &changed.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/plans/{id}")).into_response())
}

/// A plan from its form, checked: a title, an owner among the partnership's
/// members, a period that ends after it starts, updates due every 7 to 366 days.
fn plan_of_form(
    form: &crate::hub::Form,
    world: &World,
    id: String,
    partnership: &str,
) -> Result<PlanRecord, WebError> {
    let title = form.get("title");
    if title.is_empty() {
        return Err(WebError::Unprocessable("give the plan a title".into()));
    }
    let owner = form.get("owner");
    if !world
        .members
        .iter()
        .any(|m| m.partnership_id == partnership && m.org_id == owner)
    {
        return Err(WebError::Unprocessable(format!(
            "`{owner}` is not a member of this partnership: choose a member to own the plan"
        )));
    }
    let start = date_field(form, "period_start", "Period from")?;
    let end = date_field(form, "period_end", "Period to")?;
    if end <= start {
        return Err(WebError::Unprocessable(
            "the plan's period must end after it starts".into(),
        ));
    }
    let every: i64 = form.get("update_every_days").parse().unwrap_or(92);
    if !(7..=366).contains(&every) {
        return Err(WebError::Unprocessable(
            "updates are due every 7 to 366 days".into(),
        ));
    }
    Ok(PlanRecord {
        id,
        partnership_id: partnership.to_owned(),
        title,
        owner_org: owner,
        period_start: start,
        period_end: end,
        priorities: form
            .get("priorities")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        update_every_days: every,
    })
}

pub(crate) async fn save_maturity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (s, form) = posted(&state, &headers, &body).await?;
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_manage(&s.actor, &world.family(&id))?;
    let on = date_field(&form, "assessed_on", "Assessed on")?;
    let mut rows = Vec::new();
    for (code, label) in maturity::CRITERIA {
        let score: i64 = form
            .get(code)
            .parse()
            .map_err(|_| WebError::Unprocessable(format!("score “{label}” from 0 to 4")))?;
        if !(0..=4).contains(&score) {
            return Err(WebError::Unprocessable(format!(
                "score “{label}” from 0 to 4"
            )));
        }
        rows.push(MaturityRecord {
            partnership_id: id.clone(),
            assessed_on: on.clone(),
            criterion: code.into(),
            score,
            note: String::new(),
        });
    }
    state
        .hub
        .db
        .put_maturity(&rows, &audit_entry(&s.actor, "assess", "maturity", &id))
        .await?;
    Ok(Redirect::to(&format!("/partnerships/{id}")).into_response())
}

pub(crate) async fn scorecard_download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let s = require(&state, &headers).await?;
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_read(&s.actor, &world.family(&id))?;
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| WebError::NotFound(format!("no download `{file}`")))?;
    let index = SCORECARDS.iter().position(|n| *n == stem).ok_or_else(|| {
        WebError::NotFound(format!("no table `{stem}`: {}", SCORECARDS.join(", ")))
    })?;
    let (tables, _) = scorecards(&state, &world, &id).await?;
    tables[index].respond(ext, stem)
}

fn judged_cells(c: &CommitmentRecord, j: Option<&Judged>) -> Markup {
    let Some(j) = j else {
        return html! { td {} td {} td {} };
    };
    html! {
        td { (status_label(&j.status)) @if j.overdue { " " span class="overdue" { "(update overdue)" } } }
        td { @if c.indicator.is_some() { (judgement_tag(j.judgement())) } @else { "No indicator" } }
        td class="num" { @if let Some((p, o)) = &j.latest { (num(o.value)) " (" (p) ")" } }
    }
}

pub(crate) async fn plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let s = require(&state, &headers).await?;
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_read(&s.actor, &family)?;
    let manage = rules::may_manage(&s.actor, &family);
    let list: Vec<&CommitmentRecord> = world
        .commitments
        .iter()
        .filter(|c| c.plan_id == id)
        .collect();
    let judged = judge_all(&state, &world, &list).await?;
    let partnership = world.partnership(&plan.partnership_id)?;
    let indicators = state.store.indicators().await?;
    let frameworks = super::frameworks(&state).await?;
    Ok(layout_page(
        &state,
        &plan.title,
        html! {
            p class="lead" { "An action plan of " a href=(format!("/partnerships/{}", partnership.id)) { (partnership.name) } ", owned by " (world.org_name(&plan.owner_org)) ", " (plan.period_start) " to " (plan.period_end) "." }
            @if !plan.priorities.is_empty() {
                h2 { "Priorities" }
                ol { @for p in &plan.priorities { li { (p) } } }
            }
            h2 { "Commitments" }
            table {
                caption { (list.len()) " commitments" }
                thead { tr { th scope="col" { "Ref" } th scope="col" { "Commitment" } th scope="col" { "Lead" } th scope="col" { "Status" } th scope="col" { "Against trajectory" } th scope="col" class="num" { "Latest value" } } }
                tbody { @for c in &list {
                    tr {
                        td { (c.reference) }
                        td { a href=(format!("/commitments/{}", c.id)) { (c.title) } }
                        td { (world.org_name(&c.lead_org)) }
                        (judged_cells(c, judged.get(&c.id)))
                    }
                } }
            }
            p class="downloads" { "Download every commitment with its figures: " a href=(format!("/plans/{id}/commitments.csv")) { "CSV" } ", " a href=(format!("/plans/{id}/commitments.xlsx")) { "Excel (XLSX)" } }
            @if manage {
                h2 { "Add a commitment" }
                (commitment_form(&s, &world, &partnership.id, &frameworks, &indicators, None, &format!("/plans/{id}/commitments")))
                h2 { "Import commitments from a spreadsheet" }
                p { "Fill in the " a href="/templates/commitments.csv" { "template (CSV)" } " or " a href="/templates/commitments.xlsx" { "template (Excel)" } ". Every row is checked first: if any is wrong, nothing is imported and every problem is listed with its line and column." }
                form method="post" action=(format!("/plans/{id}/import")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    div class="field" { label for="c-file" { "Spreadsheet (CSV or XLSX)" } input id="c-file" name="file" type="file" accept=".csv,.xlsx" required; }
                    button type="submit" { "Import" }
                }
                h2 { "Change this plan" }
                (plan_form(&s, &world, &partnership.id, Some(plan)))
            }
        },
    ))
}

/// The form that adds a commitment, or changes `existing` (its reference fixed).
fn commitment_form(
    s: &Signed,
    world: &World,
    partnership: &str,
    frameworks: &[syndemic_store::partnership::FrameworkRecord],
    indicators: &[syndemic_store::Indicator],
    existing: Option<&CommitmentRecord>,
    action: &str,
) -> Markup {
    let members: Vec<&str> = world
        .members
        .iter()
        .filter(|m| m.partnership_id == partnership)
        .map(|m| m.org_id.as_str())
        .collect();
    let text =
        |f: fn(&CommitmentRecord) -> Option<String>| existing.and_then(f).unwrap_or_default();
    let objective = existing.and_then(|c| {
        Some(format!(
            "{}:{}",
            c.framework.as_deref()?,
            c.objective.as_deref()?
        ))
    });
    let milestones: String = existing.map_or(String::new(), |c| {
        c.milestones
            .iter()
            .map(|m| format!("{}: {}\n", m.due, m.what))
            .collect()
    });
    html! {
        form method="post" action=(action) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            @if let Some(c) = existing {
                p { "Reference " strong { (c.reference) } " (it stays as it is)." }
            } @else {
                div class="field" { label for="c-ref" { "Reference" } input id="c-ref" name="reference" type="text" required; }
            }
            div class="field" { label for="c-title" { "What will be done" } input id="c-title" name="title" type="text" required value=(text(|c| Some(c.title.clone()))); }
            div class="field" { label for="c-lead" { "Lead organisation" }
                select id="c-lead" name="lead" { @for m in &members { option value=(m) selected[existing.is_some_and(|c| c.lead_org == *m)] { (world.org_name(m)) } } } }
            fieldset { legend { "Contributing partners" }
                @for m in &members {
                    div { input type="checkbox" id=(format!("c-with-{m}")) name="contributors" value=(m) checked[existing.is_some_and(|c| c.contributors.iter().any(|x| x == m))]; label for=(format!("c-with-{m}")) { (world.org_name(m)) } }
                }
            }
            div class="field" { label for="c-objective" { "Framework objective" }
                select id="c-objective" name="objective" { option value="" { "None" }
                    @for f in frameworks { optgroup label=(f.name) { @for (code, label) in &f.objectives {
                        @let value = format!("{}:{code}", f.code);
                        option value=(value) selected[objective.as_ref() == Some(&value)] { (label) }
                    } } } } }
            div class="field" { label for="c-indicator" { "Linked indicator" }
                select id="c-indicator" name="indicator" { option value="" { "None" } @for i in indicators { option value=(i.id) selected[existing.is_some_and(|c| c.indicator.as_ref() == Some(&i.id))] { (i.name) } } } }
            div class="field" { label for="c-bp" { "Baseline period" } p class="hint" id="c-bp-hint" { "As the indicator publishes it, e.g. 2019/20 or 2020." } input id="c-bp" name="baseline_period" type="text" aria-describedby="c-bp-hint" value=(text(|c| c.baseline_period.clone())); }
            div class="field" { label for="c-bv" { "Baseline value (used where the evidence store has none for that period)" } input id="c-bv" name="baseline_value" type="text" inputmode="decimal" value=(text(|c| c.baseline_value.map(|v| v.to_string()))); }
            div class="field" { label for="c-tv" { "Target value" } input id="c-tv" name="target_value" type="text" inputmode="decimal" value=(text(|c| c.target_value.map(|v| v.to_string()))); }
            div class="field" { label for="c-td" { "Target date" } input id="c-td" name="target_date" type="date" value=(text(|c| c.target_date.clone())); }
            div class="field" { label for="c-areas" { "Target areas" } p class="hint" id="c-areas-hint" { "local-quintile:E08000009:1 is the most deprived fifth of the district's small areas; national-decile:E08000009:1-2 its areas in national deciles 1 and 2; areas:E01…,E01… a list." }
                input id="c-areas" name="target_areas" type="text" aria-describedby="c-areas-hint" value=(text(|c| c.target_rule.clone())); }
            div class="field" { label for="c-milestones" { "Milestones" } p class="hint" id="c-milestones-hint" { "One a line, as YYYY-MM-DD: what — e.g. 2026-06-30: 500 homes surveyed." }
                textarea id="c-milestones" name="milestones" rows="3" aria-describedby="c-milestones-hint" { (milestones) } }
            button type="submit" { @if existing.is_some() { "Save the changes" } @else { "Add the commitment" } }
        }
    }
}

/// A commitment as the form or a spreadsheet row gives it, checked against the
/// store: the lead and contributors members of the partnership, the objective
/// in a framework, the indicator known, the target areas resolved.
pub(crate) struct Proposed {
    pub reference: String,
    pub title: String,
    pub lead: String,
    pub contributors: Vec<String>,
    pub objective: Option<(String, String)>,
    pub indicator: Option<String>,
    pub baseline_period: Option<String>,
    pub baseline_value: Option<f64>,
    pub target_value: Option<f64>,
    pub target_date: Option<String>,
    pub target_areas: Option<TargetRule>,
    pub milestones: Vec<(String, String)>,
}

pub(crate) async fn commitment_record(
    state: &AppState,
    world: &World,
    plan: &PlanRecord,
    p: Proposed,
) -> Result<CommitmentRecord, String> {
    let members: Vec<&str> = world
        .members
        .iter()
        .filter(|m| m.partnership_id == plan.partnership_id)
        .map(|m| m.org_id.as_str())
        .collect();
    for org in std::iter::once(&p.lead).chain(&p.contributors) {
        if !members.contains(&org.as_str()) {
            return Err(format!(
                "`{org}` is not a member of this partnership: add it as a member first"
            ));
        }
    }
    if let Some((f, o)) = &p.objective {
        let frameworks = super::frameworks(state).await.map_err(|e| e.to_string())?;
        if !frameworks
            .iter()
            .any(|x| x.code == *f && x.objectives.iter().any(|(c, _)| c == o))
        {
            return Err(format!(
                "`{f}:{o}` is not an objective of a framework here (built in: {} and {})",
                framework::MARMOT,
                framework::TRIANGLE
            ));
        }
    }
    if let Some(i) = &p.indicator {
        if state
            .store
            .indicator(i)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err(format!("the evidence store has no indicator `{i}`"));
        }
    }
    if let Some(bp) = &p.baseline_period {
        syndemic_model::Period::parse(bp).map_err(|e| format!("baseline period `{bp}`: {e}"))?;
    }
    if let Some(d) = &p.target_date {
        if parse_date(d).is_none() {
            return Err(format!("target date `{d}` is not a date: give YYYY-MM-DD"));
        }
    }
    let areas = match &p.target_areas {
        Some(rule) => resolve_targets(state.store.as_ref(), rule)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        None => Vec::new(),
    };
    Ok(CommitmentRecord {
        id: new_uuid().map_err(|e| e.to_string())?,
        plan_id: plan.id.clone(),
        reference: p.reference,
        title: p.title,
        lead_org: p.lead,
        contributors: p.contributors,
        framework: p.objective.as_ref().map(|(f, _)| f.clone()),
        objective: p.objective.map(|(_, o)| o),
        indicator: p.indicator,
        indicator_area: None,
        baseline_period: p.baseline_period,
        baseline_value: p.baseline_value,
        target_value: p.target_value,
        target_date: p.target_date,
        target_rule: p.target_areas.map(|r| r.to_string()),
        areas,
        milestones: p
            .milestones
            .into_iter()
            .enumerate()
            .map(|(i, (due, what))| MilestoneRecord {
                seq: i as i64 + 1,
                due,
                what,
                done_on: None,
            })
            .collect(),
        created_at: crate::hub::now(),
    })
}

fn number(form: &crate::hub::Form, name: &str, label: &str) -> Result<Option<f64>, WebError> {
    let v = form.get(name);
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Some)
        .ok_or_else(|| WebError::Unprocessable(format!("{label}: `{v}` is not a number")))
}

fn optional(form: &crate::hub::Form, name: &str) -> Option<String> {
    Some(form.get(name)).filter(|v| !v.is_empty())
}

/// A plan's commitments with every figure they are judged by: the table the
/// plan page downloads as CSV or XLSX.
fn commitments_table(
    world: &World,
    list: &[&CommitmentRecord],
    judged: &FxHashMap<String, Judged>,
) -> DataTable {
    let mut t = DataTable::new(
        "Commitments judged against their trajectories",
        &[
            "Reference",
            "Commitment",
            "Lead organisation",
            "Contributors",
            "Objective",
            "Indicator",
            "Area measured",
            "Baseline period",
            "Baseline",
            "Latest period",
            "Latest",
            "Latest lower 95 %",
            "Latest upper 95 %",
            "Target",
            "Target date",
            "Trajectory at latest",
            "Judgement",
            "Since the baseline",
            "Status",
            "Update overdue",
            "Target areas",
        ],
    );
    for c in list {
        let j = judged.get(&c.id);
        let latest = j.and_then(|j| j.latest.as_ref());
        t.push(vec![
            Cell::text(c.reference.clone()),
            Cell::text(c.title.clone()),
            Cell::text(world.org_name(&c.lead_org)),
            Cell::text(
                c.contributors
                    .iter()
                    .map(|o| world.org_name(o))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Cell::text(c.objective.clone().unwrap_or_default()),
            Cell::text(c.indicator.clone().unwrap_or_default()),
            Cell::text(
                j.and_then(|j| j.area)
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            Cell::text(c.baseline_period.clone().unwrap_or_default()),
            Cell::Number(j.and_then(|j| j.baseline).map(|b| b.value)),
            Cell::text(latest.map(|(p, _)| p.to_string()).unwrap_or_default()),
            Cell::Number(latest.map(|(_, o)| o.value)),
            Cell::Number(latest.and_then(|(_, o)| o.lower)),
            Cell::Number(latest.and_then(|(_, o)| o.upper)),
            Cell::Number(c.target_value),
            Cell::text(c.target_date.clone().unwrap_or_default()),
            Cell::Number(j.and_then(|j| j.assessment).map(|a| a.expected)),
            Cell::text(if c.indicator.is_some() {
                j.map_or("", |j| j.judgement().label())
            } else {
                ""
            }),
            Cell::text(if c.indicator.is_some() {
                j.map_or("", |j| j.movement.label())
            } else {
                ""
            }),
            Cell::text(j.map_or("", |j| status_label(&j.status))),
            Cell::text(if j.is_some_and(|j| j.overdue) {
                "Yes"
            } else {
                "No"
            }),
            Cell::text(c.areas.join("; ")),
        ]);
    }
    t
}

pub(crate) async fn plan_download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let s = require(&state, &headers).await?;
    let world = World::load(&state).await?;
    let (_, family) = world.plan_family(&id)?;
    must_read(&s.actor, &family)?;
    let ext = file.strip_prefix("commitments.").ok_or_else(|| {
        WebError::NotFound(format!(
            "no download `{file}`: commitments.csv or commitments.xlsx"
        ))
    })?;
    let list: Vec<&CommitmentRecord> = world
        .commitments
        .iter()
        .filter(|c| c.plan_id == id)
        .collect();
    let judged = judge_all(&state, &world, &list).await?;
    commitments_table(&world, &list, &judged).respond(ext, "commitments")
}

/// Milestones as a form gives them: `YYYY-MM-DD: what`, one a line.
fn milestones(text: &str) -> Result<Vec<(String, String)>, WebError> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match line.split_once(':') {
            Some((due, what)) if parse_date(due.trim()).is_some() && !what.trim().is_empty() => {
                out.push((due.trim().to_owned(), what.trim().to_owned()));
            }
            _ => {
                return Err(WebError::Unprocessable(format!(
                    "milestones, line {}: write `YYYY-MM-DD: what`, not `{}`",
                    i + 1,
                    line.trim()
                )))
            }
        }
    }
    Ok(out)
}

/// The commitment a form proposes (its reference aside).
fn proposed(form: &crate::hub::Form, reference: String) -> Result<Proposed, WebError> {
    let title = form.get("title");
    if reference.is_empty() || title.is_empty() {
        return Err(WebError::Unprocessable(
            "give the commitment a reference and say what will be done".into(),
        ));
    }
    let target_areas = match optional(form, "target_areas") {
        Some(t) => Some(TargetRule::parse(&t).map_err(|e| WebError::Unprocessable(e.to_string()))?),
        None => None,
    };
    let objective = optional(form, "objective").map(|o| match o.split_once(':') {
        Some((f, c)) => (f.to_owned(), c.to_owned()),
        None => (String::new(), o),
    });
    Ok(Proposed {
        reference,
        title,
        lead: form.get("lead"),
        contributors: form
            .all("contributors")
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
        objective,
        indicator: optional(form, "indicator"),
        baseline_period: optional(form, "baseline_period"),
        baseline_value: number(form, "baseline_value", "Baseline value")?,
        target_value: number(form, "target_value", "Target value")?,
        target_date: optional(form, "target_date"),
        target_areas,
        milestones: milestones(&form.get("milestones"))?,
    })
}

pub(crate) async fn create_commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (s, form) = posted(&state, &headers, &body).await?;
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_manage(&s.actor, &family)?;
    let reference = form.get("reference");
    if world
        .commitments
        .iter()
        .any(|c| c.plan_id == id && c.reference == reference)
    {
        return Err(WebError::Conflict(format!(
            "this plan already has a commitment `{reference}`: choose another reference"
        )));
    }
    let record = commitment_record(&state, &world, plan, proposed(&form, reference)?)
        .await
        .map_err(WebError::Unprocessable)?;
    state
        .hub
        .db
        .put_plan(
            plan,
            std::slice::from_ref(&record),
            &audit_entry(&s.actor, "create", "commitment", &record.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/commitments/{}", record.id)).into_response())
}

/// Changes a commitment: the partnership's lead only, with the same checks as a
/// new one; milestones already reached keep the day they were reached.
pub(crate) async fn edit_commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (s, form) = posted(&state, &headers, &body).await?;
    let world = World::load(&state).await?;
    let old = world.commitment(&id)?;
    let (plan, family) = world.plan_family(&old.plan_id)?;
    must_manage(&s.actor, &family)?;
    let new = commitment_record(
        &state,
        &world,
        plan,
        proposed(&form, old.reference.clone())?,
    )
    .await
    .map_err(WebError::Unprocessable)?;
    let milestones = new
        .milestones
        .into_iter()
        .map(|m| MilestoneRecord {
            done_on: old
                .milestones
                .iter()
                .find(|o| o.due == m.due && o.what == m.what)
                .and_then(|o| o.done_on.clone()),
            ..m
        })
        .collect();
    let changed = CommitmentRecord {
        id: old.id.clone(),
        created_at: old.created_at,
        indicator_area: old.indicator_area.clone(),
        milestones,
        ..new
    };
    state
        .hub
        .db
        .update_commitment(&changed, &audit_entry(&s.actor, "edit", "commitment", &id))
        .await?;
    Ok(Redirect::to(&format!("/commitments/{id}")).into_response())
}

pub(crate) async fn import_commitments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, WebError> {
    let (s, _, files) = posted_multipart(&state, &headers, request).await?;
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_manage(&s.actor, &family)?;
    let file = one_file(&files, "file")?;
    let sheet = Sheet::read(&file.file_name, &file.bytes).map_err(layout_error)?;
    let rows = layout::read_commitments(&sheet).map_err(layout_error)?;
    let mut records = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        if world
            .commitments
            .iter()
            .any(|c| c.plan_id == id && c.reference == r.reference)
        {
            problems.push(format!(
                "line {}: the plan already has a commitment `{}`",
                i + 2,
                r.reference
            ));
            continue;
        }
        let objective = r.objective.map(|o| {
            (
                r.framework
                    .clone()
                    .unwrap_or_else(|| framework::MARMOT.to_owned()),
                o,
            )
        });
        let proposed = Proposed {
            reference: r.reference,
            title: r.title,
            lead: r.lead,
            contributors: r.contributors,
            objective,
            indicator: r.indicator,
            baseline_period: r.baseline_period,
            baseline_value: r.baseline_value,
            target_value: r.target_value,
            target_date: r.target_date,
            target_areas: r.target_areas,
            milestones: r.milestones,
        };
        match commitment_record(&state, &world, plan, proposed).await {
            Ok(c) => records.push(c),
            Err(e) => problems.push(format!("line {}: {e}", i + 2)),
        }
    }
    if !problems.is_empty() {
        return Err(WebError::Unprocessable(format!(
            "{}: nothing was imported; fix these and import it again: {}",
            file.file_name,
            problems.join("; ")
        )));
    }
    state
        .hub
        .db
        .put_plan(
            plan,
            &records,
            &audit_entry(&s.actor, "import", "commitments", &plan.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/plans/{id}")).into_response())
}

pub(crate) async fn commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let s = require(&state, &headers).await?;
    let world = World::load(&state).await?;
    let c = world.commitment(&id)?;
    let (plan, family) = world.plan_family(&c.plan_id)?;
    must_read(&s.actor, &family)?;
    let judged = judge_all(&state, &world, &[c]).await?;
    let j = &judged[&c.id];
    let may_update = rules::may_update(&s.actor, &family, &c.lead_org, &c.contributors);
    let may_review = rules::may_manage(&s.actor, &family);
    let updates = world.updates_of(&c.id);
    let reviews = world.reviews_of(&c.id);
    let frameworks = super::frameworks(&state).await?;
    let indicators = if may_review {
        state.store.indicators().await?
    } else {
        Vec::new()
    };
    let objective = c.objective.as_deref().and_then(|o| {
        frameworks
            .iter()
            .find(|f| Some(f.code.as_str()) == c.framework.as_deref())
            .and_then(|f| f.objectives.iter().find(|(code, _)| code == o))
            .map(|(_, l)| l.clone())
    });
    Ok(layout_page(
        &state,
        &format!("{}: {}", c.reference, c.title),
        html! {
            p class="lead" { "In " a href=(format!("/plans/{}", plan.id)) { (plan.title) } ". Led by " a href=(format!("/organisations/{}", c.lead_org)) { (world.org_name(&c.lead_org)) }
                @if !c.contributors.is_empty() { ", with " (c.contributors.iter().map(|o| world.org_name(o)).collect::<Vec<_>>().join(", ")) } "." }
            dl class="facts" {
                dt { "Status" } dd { (status_label(&j.status)) @if j.overdue { " " span class="overdue" { "— an update is overdue (due " (day_of_unix(j.due_at)) ")" } } @else { " — next update due " (day_of_unix(j.due_at)) } }
                @if let Some(o) = &objective { dt { "Objective" } dd { (o) } }
                @if let Some(rule) = &c.target_rule { dt { "Target areas" } dd { (rule) " — " (c.areas.len()) " small areas" } }
            }
            @if c.indicator.is_some() {
                h2 { "Against its indicator" }
                @if let Some(p) = &j.problem { p class="warning" { (p) } }
                dl class="facts" {
                    dt { "Indicator" } dd { @if let Some(i) = &j.indicator { a href=(format!("/indicators/{}", i.id)) { (i.name) } } @else { (c.indicator.as_deref().unwrap_or("")) } }
                    @if let Some(a) = j.area { dt { "Measured for" } dd { span class="code" { (a.as_str()) } } }
                    dt { "Baseline" } dd { @if let (Some(b), Some(p)) = (&j.baseline, &j.baseline_period) { (num(b.value)) " (" (p) ")" @if let (Some(l), Some(u)) = (b.lower, b.upper) { ", 95 % CI " (num(l)) "–" (num(u)) } @if !j.baseline_from_store { " — as the plan states it" } } @else { "—" } }
                    dt { "Target" } dd { @if let (Some(t), Some(d)) = (c.target_value, &c.target_date) { (num(t)) " by " (d) } @else { "—" } }
                    dt { "Latest" } dd { @if let Some((p, o)) = &j.latest { (num(o.value)) " (" (p) ")" @if let (Some(l), Some(u)) = (o.lower, o.upper) { ", 95 % CI " (num(l)) "–" (num(u)) } } @else { "No value yet" } }
                    @if let Some(a) = &j.assessment { dt { "Trajectory at the latest period" } dd { (num(a.expected)) } }
                    dt { "Judgement" } dd { (judgement_tag(j.judgement())) }
                    dt { "Since the baseline" } dd { (j.movement.label()) }
                }
            }
            @if !c.milestones.is_empty() {
                h2 { "Milestones" }
                table { caption { "Milestones" } thead { tr { th scope="col" { "Due" } th scope="col" { "What" } th scope="col" { "Done" } } }
                    tbody { @for m in &c.milestones { tr { td { (m.due) } td { (m.what) } td { (m.done_on.as_deref().unwrap_or("Not yet")) } } } } }
            }
            h2 { "Progress updates" }
            @if updates.is_empty() { p { "No update yet." } }
            ol class="timeline" reversed { @for u in updates.iter().rev() {
                li {
                    strong { (day_of_unix(u.at)) " — " (status_label(&u.status)) } " by " (world.org_name(&u.org_id))
                    p class="note" { (u.narrative) }
                    @if !u.evidence.is_empty() { ul { @for e in &u.evidence { li { a href=(format!("/evidence/{}", e.id)) { (e.file_name) } " (" (e.size) " bytes)" } } } }
                }
            } }
            @if may_update { (update_form(&s, c)?) }
            h2 { "Board reviews" }
            @if reviews.is_empty() { p { "Not reviewed yet." } }
            @for r in reviews.iter().rev() {
                div class="notice" {
                    p { strong { (r.reviewed_on) ": " (rating_label(&r.rating)) } }
                    p class="note" { (r.actions) }
                    @if let Some(n) = &r.next_review { p { "Next review: " (n) } }
                }
            }
            @if may_review {
                (review_form(&s, c)?)
                h2 { "Change this commitment" }
                (commitment_form(&s, &world, &plan.partnership_id, &frameworks, &indicators, Some(c), &format!("/commitments/{}", c.id)))
            }
        },
    ))
}

fn update_form(s: &Signed, c: &CommitmentRecord) -> Result<Markup, WebError> {
    let key = new_uuid()?;
    Ok(html! {
        h3 { "Report progress" }
        form method="post" action=(format!("/commitments/{}/updates", c.id)) enctype="multipart/form-data" class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="update_id" value=(key);
            div class="field" { label for="u-status" { "Status" }
                select id="u-status" name="status" { @for (code, label) in STATUSES { option value=(code) { (label) } } } }
            div class="field" { label for="u-narrative" { "What happened" } textarea id="u-narrative" name="narrative" rows="5" required {} }
            @if c.milestones.iter().any(|m| m.done_on.is_none()) {
                fieldset { legend { "Milestones reached" }
                    @for m in c.milestones.iter().filter(|m| m.done_on.is_none()) {
                        div { input type="checkbox" id=(format!("u-m{}", m.seq)) name="milestone" value=(m.seq); label for=(format!("u-m{}", m.seq)) { (m.what) " (due " (m.due) ")" } }
                    }
                }
            }
            div class="field" { label for="u-evidence" { "Evidence (files, 2 MB in all)" } input id="u-evidence" name="evidence" type="file" multiple; }
            button type="submit" { "Save the update" }
        }
    })
}

fn review_form(s: &Signed, c: &CommitmentRecord) -> Result<Markup, WebError> {
    let key = new_uuid()?;
    Ok(html! {
        h3 { "Record the board's review" }
        form method="post" action=(format!("/commitments/{}/reviews", c.id)) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="review_id" value=(key);
            div class="field" { label for="r-on" { "Reviewed on" } input id="r-on" name="reviewed_on" type="date" required; }
            fieldset { legend { "Agreed rating" }
                @for (i, (code, label)) in RATINGS.iter().enumerate() {
                    div { input type="radio" id=(format!("r-{code}")) name="rating" value=(code) required checked[i == 0]; label for=(format!("r-{code}")) { (label) } }
                }
            }
            div class="field" { label for="r-actions" { "Actions agreed" } textarea id="r-actions" name="actions" rows="4" required {} }
            div class="field" { label for="r-next" { "Next review" } input id="r-next" name="next_review" type="date"; }
            button type="submit" { "Record the review" }
        }
    })
}

/// Records a progress update (once per `update_id`): the checks the page and the
/// API share.
/// A progress update as a page or the API sends it.
pub(crate) struct NewUpdate<'a> {
    /// The sender's id for it: the same id again records nothing new.
    pub id: &'a str,
    pub status: &'a str,
    pub narrative: &'a str,
    pub milestones: &'a [i64],
    pub files: Vec<EvidenceFile>,
}

pub(crate) async fn record_update(
    state: &AppState,
    actor: &Actor,
    commitment: &str,
    new: NewUpdate<'_>,
) -> Result<bool, WebError> {
    let NewUpdate {
        id: update_id,
        status,
        narrative,
        milestones,
        files,
    } = new;
    let world = World::load(state).await?;
    let c = world.commitment(commitment)?;
    let (_, family) = world.plan_family(&c.plan_id)?;
    must_read(actor, &family)?;
    if !rules::may_update(actor, &family, &c.lead_org, &c.contributors) {
        return Err(WebError::Forbidden(
            "only the lead or a contributing organisation, or the partnership's lead, reports progress on this commitment".into(),
        ));
    }
    if !STATUSES.iter().any(|(code, _)| *code == status) {
        return Err(WebError::Unprocessable(format!(
            "`{status}` is not a status: one of {}",
            STATUSES.map(|(c, _)| c).join(", ")
        )));
    }
    if narrative.trim().is_empty() {
        return Err(WebError::Unprocessable("say what happened".into()));
    }
    if update_id.is_empty() || update_id.len() > 64 {
        return Err(WebError::BadRequest(
            "the update has no id: reload the page and send it again".into(),
        ));
    }
    let today = crate::hub::today();
    let on = day(syndemic_partnership::trajectory::day_of(
        today.year(),
        u8::from(today.month()),
        today.day(),
    )
    .unwrap_or(0));
    let done: Vec<(i64, String)> = milestones.iter().map(|m| (*m, on.clone())).collect();
    let record = UpdateRecord {
        id: update_id.to_owned(),
        commitment_id: c.id.clone(),
        at: crate::hub::now(),
        author: actor.id.clone(),
        org_id: actor.org.clone(),
        status: status.to_owned(),
        narrative: narrative.trim().to_owned(),
        evidence: Vec::new(),
    };
    Ok(state
        .hub
        .db
        .add_update(
            &record,
            &files,
            &done,
            &audit_entry(actor, "update", "commitment", &c.id),
        )
        .await?)
}

pub(crate) async fn add_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, WebError> {
    let (s, form, files) = posted_multipart(&state, &headers, request).await?;
    let update_id = form.get("update_id");
    let mut evidence = Vec::new();
    for f in files.into_iter().filter(|f| f.field == "evidence") {
        evidence.push(EvidenceFile {
            id: new_uuid()?,
            update_id: update_id.clone(),
            file_name: f.file_name,
            content_type: f.content_type,
            bytes: f.bytes,
        });
    }
    let milestones: Vec<i64> = form
        .all("milestone")
        .iter()
        .filter_map(|m| m.parse().ok())
        .collect();
    record_update(
        &state,
        &s.actor,
        &id,
        NewUpdate {
            id: &update_id,
            status: &form.get("status"),
            narrative: &form.get("narrative"),
            milestones: &milestones,
            files: evidence,
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/commitments/{id}")).into_response())
}

/// Records a board review (once per `review_id`): the checks the page and the
/// API share.
pub(crate) async fn record_review(
    state: &AppState,
    actor: &Actor,
    commitment: &str,
    review: ReviewRecord,
) -> Result<bool, WebError> {
    let world = World::load(state).await?;
    let c = world.commitment(commitment)?;
    let (_, family) = world.plan_family(&c.plan_id)?;
    must_read(actor, &family)?;
    must_manage(actor, &family)?;
    if !RATINGS.iter().any(|(code, _)| *code == review.rating) {
        return Err(WebError::Unprocessable(format!(
            "`{}` is not a rating: one of {}",
            review.rating,
            RATINGS.map(|(c, _)| c).join(", ")
        )));
    }
    if parse_date(&review.reviewed_on).is_none() {
        return Err(WebError::Unprocessable(
            "give the review's date as YYYY-MM-DD".into(),
        ));
    }
    if review
        .next_review
        .as_deref()
        .is_some_and(|n| parse_date(n).is_none() || *n <= *review.reviewed_on)
    {
        return Err(WebError::Unprocessable(
            "the next review must be a date (YYYY-MM-DD) after this one".into(),
        ));
    }
    if review.actions.trim().is_empty() {
        return Err(WebError::Unprocessable(
            "record the actions the board agreed".into(),
        ));
    }
    if review.id.is_empty() || review.id.len() > 64 {
        return Err(WebError::BadRequest(
            "the review has no id: reload the page and send it again".into(),
        ));
    }
    let review = ReviewRecord {
        commitment_id: c.id.clone(),
        by_user: actor.id.clone(),
        at: crate::hub::now(),
        ..review
    };
    Ok(state
        .hub
        .db
        .add_review(&review, &audit_entry(actor, "review", "commitment", &c.id))
        .await?)
}

pub(crate) async fn add_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (s, form) = posted(&state, &headers, &body).await?;
    let review = ReviewRecord {
        id: form.get("review_id"),
        commitment_id: id.clone(),
        reviewed_on: form.get("reviewed_on"),
        rating: form.get("rating"),
        actions: form.get("actions"),
        next_review: optional(&form, "next_review"),
        by_user: String::new(),
        at: 0,
    };
    record_review(&state, &s.actor, &id, review).await?;
    Ok(Redirect::to(&format!("/commitments/{id}")).into_response())
}

pub(crate) async fn evidence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let s = require(&state, &headers).await?;
    let file = state
        .hub
        .db
        .evidence_file(&id)
        .await?
        .ok_or_else(|| WebError::NotFound("there is no such evidence file".into()))?;
    let world = World::load(&state).await?;
    let update = world
        .updates
        .iter()
        .find(|u| u.id == file.update_id)
        .ok_or_else(|| WebError::NotFound("there is no such evidence file".into()))?;
    let c = world.commitment(&update.commitment_id)?;
    let (_, family) = world.plan_family(&c.plan_id)?;
    must_read(&s.actor, &family)?;
    let name: String = file
        .file_name
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | ' '))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        file.bytes,
    )
        .into_response())
}

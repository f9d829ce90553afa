//! The partnership pages: the partnerships one may read, a partnership's
//! scorecard, members and plans, a plan's commitments, a commitment judged
//! against its trajectory with its updates and board reviews, and the forms that
//! add plans, commitments, updates, reviews and self-assessments.

mod commitments;
mod progress;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use rustc_hash::FxHashMap;
use syndemic_access::Actor;
use syndemic_model::date::{format_unix_day, parse_day as parse_date};
use syndemic_partnership::access as rules;
use syndemic_partnership::framework;
use syndemic_partnership::layout::{self, Sheet};
use syndemic_partnership::maturity;
use syndemic_partnership::sector::Sector;
use syndemic_partnership::target::TargetRule;
use syndemic_partnership::trajectory::{Judgement, Movement};
use syndemic_store::partnership::{
    CommitmentRecord, EvidenceFile, MaturityRecord, MilestoneRecord, PlanRecord, ReviewRecord,
    UpdateRecord,
};

use super::{
    audit_entry, day, judge_all, judgement_tag, layout_error, must_manage, must_read, num, owed,
    resolve_targets, status_label, Judged, World, STATUSES,
};
use crate::shell::page as layout_page;
use crate::shell::table::{Cell, DataTable, Download};
use crate::shell::{new_uuid, Posted, Signed};
use crate::{AppState, WebError};

pub(crate) use commitments::*;
pub(crate) use progress::*;
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
    s: Signed,
) -> Result<Html<String>, WebError> {
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
                        li { a href=(format!("/commitments/{}", c.id)) { (c.reference) ": " (c.title) } " — due " (format_unix_day(judged[&c.id].due_at)) }
                    } }
                }
            }
            @if readable.is_empty() {
                p { "Your organisation is not a member of any partnership yet. A partnership's lead adds members." }
            } @else {
                div class="table-scroll" role="region" tabindex="0" aria-label="Partnerships you can see" { table {
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
                } }
            }
            @if syndemic_partnership::access::may_create_partnership(&s.actor) { (super::manage::create_form(&s, &world, &frameworks)) }
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

/// The scorecard tables' download names, in the order [`scorecards`] gives them.
pub(crate) const SCORECARDS: [&str; 5] = [
    "scorecard",
    "status",
    "by-organisation",
    "status-by-organisation",
    "contradictions",
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

/// The commitments whose lead, data and board disagree outright, for the board
/// to resolve (`syndemic_partnership::contradiction`).
pub(crate) fn contradiction_table(
    list: &[&CommitmentRecord],
    judged: &FxHashMap<String, Judged>,
) -> DataTable {
    let mut t = DataTable::new(
        "Contradictions to resolve: where the lead's status, the data and the board's rating disagree",
        &["Ref", "Commitment", "What disagrees"],
    );
    for c in list {
        let Some(j) = judged.get(&c.id) else { continue };
        let disagree = j.contradictions();
        if !disagree.is_empty() {
            t.push(vec![
                Cell::text(c.reference.clone()),
                Cell::Link {
                    text: c.title.clone(),
                    href: format!("/commitments/{}", c.id),
                },
                Cell::text(disagree.join("; ")),
            ]);
        }
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
            contradiction_table(&list, &judged),
        ],
        judged,
    ))
}

pub(crate) async fn partnership(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Html<String>, WebError> {
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
    let assessments = state.db.maturity(&id).await?;
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
            div class="table-scroll" role="region" tabindex="0" aria-label="Members" { table {
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
            } }
            @if manage || s.actor.role == syndemic_access::Role::SystemAdmin { (super::manage::members_form(&s, &world, &id)) }
            h2 { "Business engagement self-assessment" }
            @if days.is_empty() { p { "Not assessed yet." } }
            @else {
                div class="table-scroll" role="region" tabindex="0" aria-label="Business engagement self-assessment scores" { table {
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
                } }
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
            div class="field" { label for="plan-priorities" { "Priorities" } p class="hint" id="plan-priorities-hint" { "One a line. Cite each priority's evidence after “evidence:” — indicators by id, separated by commas, such as: Feeling safe after dark — evidence: hartmoor-voices:feel_safe:agree" }
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

fn date_field(form: &crate::shell::Form, name: &str, label: &str) -> Result<String, WebError> {
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
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_manage(&s.actor, &world.family(&id))?;
    let plan = plan_of_form(&form, &world, new_uuid()?, &id)?;
    check_evidence(&state, &plan).await?;
    state
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
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_manage(&s.actor, &family)?;
    let changed = plan_of_form(&form, &world, plan.id.clone(), &plan.partnership_id)?;
    check_evidence(&state, &changed).await?;
    state
        .db
        .put_plan(
            &changed,
            &[],
            &audit_entry(&s.actor, "edit", "plan", &changed.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/plans/{id}")).into_response())
}

/// The evidence a plan's priorities cite must be indicators the store holds.
async fn check_evidence(state: &AppState, plan: &PlanRecord) -> Result<(), WebError> {
    let held: rustc_hash::FxHashSet<String> = state
        .db
        .indicators()
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let problems = syndemic_partnership::priority::check(&plan.priorities, |id| held.contains(id));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(WebError::Unprocessable(problems.join("; ")))
    }
}

/// A plan from its form, checked: a title, an owner among the partnership's
/// members, a period that ends after it starts, updates due every 7 to 366 days.
fn plan_of_form(
    form: &crate::shell::Form,
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
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
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
        .db
        .put_maturity(&rows, &audit_entry(&s.actor, "assess", "maturity", &id))
        .await?;
    Ok(Redirect::to(&format!("/partnerships/{id}")).into_response())
}

pub(crate) async fn scorecard_download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    s: Signed,
) -> Result<Response, WebError> {
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
        td { @if c.indicator.is_some() { (judgement_tag(j.judgement())) } @else { "No indicator" }
            @let disagree = j.contradictions();
            @if !disagree.is_empty() { " " strong class="overdue" title=(disagree.join("; ")) { "Contradiction: " (disagree.join("; ")) } } }
        td class="num" { @if let Some((p, o)) = &j.latest {
            (num(o.value)) @if let Some(u) = j.indicator.as_ref().and_then(|i| i.unit.as_deref()) { " " (u) } " (" (p) ")"
            @if let Some(i) = &j.indicator { br; span class="hint" { (i.name) @if j.on_targets == Some(true) { ", target areas" } } }
        } }
    }
}

pub(crate) async fn plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Html<String>, WebError> {
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
    let indicators = state.db.indicators().await?;
    let frameworks = super::frameworks(&state).await?;
    Ok(layout_page(
        &state,
        &plan.title,
        html! {
            p class="lead" { "An action plan of " a href=(format!("/partnerships/{}", partnership.id)) { (partnership.name) } ", owned by " (world.org_name(&plan.owner_org)) ", " (plan.period_start) " to " (plan.period_end) "." }
            @if !plan.priorities.is_empty() {
                h2 { "Priorities" }
                ol { @for line in &plan.priorities {
                    @let p = syndemic_partnership::priority::parse(line);
                    li { (p.text)
                        @if !p.evidence.is_empty() {
                            " — evidence: "
                            @for (i, id) in p.evidence.iter().enumerate() {
                                @if i > 0 { ", " }
                                a href={ "/indicators/" (id) } { (id) }
                            }
                        }
                    }
                } }
            }
            h2 { "Commitments" }
            div class="table-scroll" role="region" tabindex="0" aria-label="The plan's commitments" {
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

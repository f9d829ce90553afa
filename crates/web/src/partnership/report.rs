//! The printable accountability report for a board meeting: the scorecards, then
//! every commitment of the partnership's plans (and of those nested in it) with
//! its judgement against trajectory, its latest update and the board's last
//! review. Print styles hide navigation and forms and keep a commitment on one page.

use axum::extract::{Path, State};
use axum::response::Html;
use maud::html;

use super::pages::scorecards;
use super::{judgement_tag, must_read, num, status_label, World};
use crate::shell::page as layout_page;
use crate::shell::Signed;
use crate::{AppState, WebError};
use syndemic_model::date::format_unix_day;
use syndemic_partnership::trajectory::Judgement;

pub(crate) async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let world = World::load(&state).await?;
    let p = world.partnership(&id)?;
    must_read(&s.actor, &world.family(&id))?;
    let (tables, judged) = scorecards(&state, &world, &id).await?;
    let mut scope = world.descendants(&id);
    scope.push(&id);
    let plans: Vec<_> = world
        .plans
        .iter()
        .filter(|pl| scope.contains(&pl.partnership_id.as_str()))
        .collect();
    state
        .audit(&s.actor, "view", "accountability-report", &id, "")
        .await?;
    // The one-page summary: counts, then what needs the board's attention.
    let all: Vec<_> = world
        .commitments
        .iter()
        .filter(|c| plans.iter().any(|pl| pl.id == c.plan_id))
        .collect();
    let count = |f: &dyn Fn(&super::Judged) -> bool| {
        all.iter()
            .filter(|c| judged.get(&c.id).is_some_and(f))
            .count()
    };
    let attention: Vec<(String, String, String)> = all
        .iter()
        .filter_map(|c| {
            let j = judged.get(&c.id)?;
            let mut why = j.contradictions();
            if j.judgement() == Judgement::OffTrack {
                why.insert(0, "off its trajectory".into());
            }
            if j.status == "off-track" || j.status == "at-risk" {
                why.push(format!(
                    "reported {}",
                    status_label(&j.status).to_lowercase()
                ));
            }
            if j.overdue {
                why.push("its update is overdue".into());
            }
            (!why.is_empty()).then(|| (c.reference.clone(), c.title.clone(), why.join("; ")))
        })
        .collect();
    Ok(layout_page(
        &state,
        &format!("Accountability report: {}", p.name),
        html! {
            p class="lead" { "Prepared " (format_unix_day(crate::shell::now())) " for the board. Judgements compare each linked indicator's latest value with the straight line from its baseline to its target; “not significant” means the latest 95 % confidence interval contains the line's value." }
            p class="no-print" { "Print this page (Ctrl+P) for the meeting pack." }
            section class="summary" aria-labelledby="summary" {
                h2 id="summary" { "Summary" }
                ul {
                    li { strong { (all.len()) } " commitments in " (plans.len()) " plans." }
                    li { "Against trajectory: " strong { (count(&|j| j.judgement() == Judgement::OnTrack)) } " on track, " strong { (count(&|j| j.judgement() == Judgement::OffTrack)) } " off track, " (count(&|j| j.judgement() == Judgement::NotSignificant)) " not significantly different, " (count(&|j| matches!(j.judgement(), Judgement::NoData | Judgement::NoDirection))) " not judged." }
                    li { "As reported: " (count(&|j| j.status == "on-track")) " on track, " (count(&|j| j.status == "at-risk")) " at risk, " (count(&|j| j.status == "off-track")) " off track, " (count(&|j| j.status == "complete")) " complete; " strong { (count(&|j| j.overdue)) } " updates overdue." }
                    li { strong { (count(&|j| !j.contradictions().is_empty())) } " where the lead, the data and the board disagree." }
                }
                h3 { "For the board's attention" }
                @if attention.is_empty() { p { "Nothing is off track, overdue or contradicted." } } @else {
                    ul { @for (r, title, why) in &attention { li { strong { (r) } " " (title) ": " (why) "." } } }
                }
            }
            h2 { "Scorecard" }
            @for t in &tables { (t.html(None)) }
            @for pl in &plans {
                h2 { (pl.title) }
                p { "Owned by " (world.org_name(&pl.owner_org)) ", " (pl.period_start) " to " (pl.period_end) "." }
                @for c in world.commitments.iter().filter(|c| c.plan_id == pl.id) {
                    @let j = judged.get(&c.id);
                    @let last_update = world.updates_of(&c.id).into_iter().max_by_key(|u| (u.at, u.id.clone()));
                    @let last_review = world.reviews_of(&c.id).into_iter().max_by_key(|r| (r.reviewed_on.clone(), r.at));
                    section class="commitment" aria-labelledby=(format!("c-{}", c.id)) {
                        h3 id=(format!("c-{}", c.id)) { (c.reference) ": " (c.title) }
                        dl class="facts" {
                            dt { "Lead" } dd { (world.org_name(&c.lead_org)) }
                            @if let Some(j) = j {
                                dt { "Status" } dd { (status_label(&j.status)) @if j.overdue { " — update overdue" } }
                                @if c.indicator.is_some() {
                                    dt { "Indicator" } dd { (j.indicator.as_ref().map_or(c.indicator.clone().unwrap_or_default(), |i| i.name.clone())) }
                                    dt { "Baseline → latest → target" } dd {
                                        (j.baseline.map_or("—".into(), |b| num(b.value))) " → "
                                        (j.latest.as_ref().map_or("—".into(), |(p, o)| format!("{} ({p})", num(o.value)))) " → "
                                        (c.target_value.map_or("—".into(), num)) @if let Some(d) = &c.target_date { " by " (d) }
                                    }
                                    dt { "Against trajectory" } dd { (judgement_tag(j.judgement())) @if let Some(a) = &j.assessment { " (trajectory " (num(a.expected)) ")" } }
                                    dt { "Since the baseline" } dd { (j.movement.label()) }
                                }
                                @let disagree = j.contradictions();
                                @if !disagree.is_empty() { dt { "Disagreements" } dd { strong { (disagree.join("; ")) } } }
                            }
                            dt { "Latest update" } dd { @if let Some(u) = &last_update { (format_unix_day(u.at)) ": " (u.narrative) } @else { "None" } }
                            dt { "Board's last review" } dd { @if let Some(r) = &last_review { (r.reviewed_on) ", " (r.rating) ": " (r.actions) @if let Some(n) = &r.next_review { " Next review " (n) "." } } @else { "Not reviewed" } }
                        }
                    }
                }
            }
        },
    ))
}

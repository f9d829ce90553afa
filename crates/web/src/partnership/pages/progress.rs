//! A commitment judged against its trajectory, with its progress updates, board reviews and evidence files.

use super::*;
use crate::shell::charts::{trajectory, Measured};
use crate::shell::PostedFiles;

pub(crate) async fn commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Html<String>, WebError> {
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
    let frameworks = super::super::frameworks(&state).await?;
    let indicators = if may_review {
        state.db.indicators().await?
    } else {
        Vec::new()
    };
    let area_name = match j.area {
        Some(a) => state
            .db
            .area(a)
            .await?
            .and_then(|i| i.area.name)
            .map_or_else(|| a.as_str().to_owned(), |n| format!("{n} ({a})")),
        None => String::new(),
    };
    let unit = j
        .indicator
        .as_ref()
        .and_then(|i| i.unit.clone())
        .unwrap_or_default();
    let chart = trajectory_chart(c, j, &unit);
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
            @let disagree = j.contradictions();
            @if !disagree.is_empty() {
                div class="warning" role="note" id="contradictions" {
                    h2 { "The judgements disagree" }
                    ul { @for d in &disagree { li { (d) } } }
                    p { "Say why at the next update or review, or change the rating." }
                }
            }
            p class="lead" { "In " a href=(format!("/plans/{}", plan.id)) { (plan.title) } ". Led by " a href=(format!("/organisations/{}", c.lead_org)) { (world.org_name(&c.lead_org)) }
                @if !c.contributors.is_empty() { ", with " (c.contributors.iter().map(|o| world.org_name(o)).collect::<Vec<_>>().join(", ")) } "." }
            dl class="facts" {
                dt { "Status" } dd { (status_label(&j.status)) @if j.overdue { " " span class="overdue" { "— an update is overdue (due " (format_unix_day(j.due_at)) ")" } } @else { " — next update due " (format_unix_day(j.due_at)) } }
                @if let Some(o) = &objective { dt { "Objective" } dd { (o) } }
                @if let Some(rule) = &c.target_rule { dt { "Target areas" } dd { (rule) " — " (c.areas.len()) " small areas" } }
            }
            @if c.indicator.is_some() {
                h2 { "Against its indicator" }
                @if let Some(p) = &j.problem { p class="warning" { (p) } }
                dl class="facts" {
                    dt { "Indicator" } dd { @if let Some(i) = &j.indicator { a href=(format!("/indicators/{}", i.id)) { (i.name) } } @else { (c.indicator.as_deref().unwrap_or("")) } }
                    @if j.area.is_some() { dt { "Measured on" } dd { (j.measured_on(&area_name)) } }
                    @if !unit.is_empty() { dt { "Unit" } dd { (unit) } }
                    dt { "Baseline" } dd { @if let (Some(b), Some(p)) = (&j.baseline, &j.baseline_period) { (num(b.value)) " (" (p) ")" @if let (Some(l), Some(u)) = (b.lower, b.upper) { ", 95 % CI " (num(l)) "–" (num(u)) } @if !j.baseline_from_store { " — as the plan states it" } } @else { "—" } }
                    dt { "Target" } dd { @if let (Some(t), Some(d)) = (c.target_value, &c.target_date) { (num(t)) " by " (d) } @else { "—" } }
                    dt { "Latest" } dd { @if let Some((p, o)) = &j.latest { (num(o.value)) " (" (p) ")" @if let (Some(l), Some(u)) = (o.lower, o.upper) { ", 95 % CI " (num(l)) "–" (num(u)) } } @else { "No value yet" } }
                    @if let Some(a) = &j.assessment { dt { "Trajectory at the latest period" } dd { (num(a.expected)) } }
                    dt { "Judgement" } dd { (judgement_tag(j.judgement())) }
                    dt { "Since the baseline" } dd { (j.movement.label()) }
                }
                @if let Some(chart) = chart {
                    figure class="chart" {
                        (chart)
                        figcaption { "The straight line from the baseline to the target is the trajectory the commitment is judged against; each point is a measured value with its 95 % confidence interval." }
                    }
                    (points_table(j, &unit).aligned().html(None))
                }
            }
            @if !c.milestones.is_empty() {
                h2 { "Milestones" }
                div class="table-scroll" role="region" tabindex="0" aria-label="Milestones" { table { caption { "Milestones" } thead { tr { th scope="col" { "Due" } th scope="col" { "What" } th scope="col" { "Done" } } }
                    tbody { @for m in &c.milestones { tr { td { (m.due) } td { (m.what) } td { (m.done_on.as_deref().unwrap_or("Not yet")) } } } } } }
            }
            h2 { "Progress updates" }
            @if updates.is_empty() { p { "No update yet." } }
            ol class="timeline" reversed { @for u in updates.iter().rev() {
                li {
                    strong { (format_unix_day(u.at)) " — " (status_label(&u.status)) } " by " (world.org_name(&u.org_id))
                    p class="note" { (u.narrative) }
                    @if !u.evidence.is_empty() { ul { @for e in &u.evidence { li { a href=(format!("/evidence/{}", e.id)) { (e.file_name) } " (" (e.size) " bytes)" } } } }
                }
            } }
            @if may_update { (update_form(&s, c, updates.last().map(|u| u.status.as_str()))?) }
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

/// The commitment's trajectory with the values measured since its baseline,
/// where it has a baseline, a target and at least one value.
fn trajectory_chart(c: &CommitmentRecord, j: &Judged, unit: &str) -> Option<Markup> {
    let (b, target, day, bp) = (
        j.baseline?,
        c.target_value?,
        j.target_day?,
        j.baseline_period?,
    );
    if j.points.is_empty() {
        return None;
    }
    // Time on the axis in days from the baseline, so the axis spans the plan's
    // years rather than the days since 1970.
    let points: Vec<Measured> = j
        .points
        .iter()
        .map(|(p, o)| Measured {
            label: p.to_string(),
            at: (o.day - b.day) as f64,
            value: o.value,
            lower: o.lower,
            upper: o.upper,
        })
        .collect();
    let title = format!(
        "{}: measured values against the trajectory from {} to the target of {} by {}",
        c.reference,
        bp,
        num(target),
        c.target_date.as_deref().unwrap_or("")
    );
    Some(trajectory(
        &points,
        (0.0, b.value, &bp.to_string()),
        (
            (day - b.day) as f64,
            target,
            c.target_date.as_deref().unwrap_or(""),
        ),
        unit,
        &title,
    ))
}

/// The chart's figures as a table: each period's value, limits and the trajectory there.
fn points_table(j: &Judged, unit: &str) -> DataTable {
    let mut t = DataTable::new(
        "Measured values since the baseline",
        &["Period", "Value", "Lower 95 %", "Upper 95 %", "Unit"],
    );
    for (p, o) in &j.points {
        t.push(vec![
            Cell::text(p.to_string()),
            Cell::Number(Some(o.value)),
            Cell::Number(o.lower),
            Cell::Number(o.upper),
            Cell::text(unit.to_owned()),
        ]);
    }
    t
}

/// The progress form; its status starts at the commitment's current one (the
/// last update's), so an update that only adds news does not reset it.
pub(super) fn update_form(
    s: &Signed,
    c: &CommitmentRecord,
    current: Option<&str>,
) -> Result<Markup, WebError> {
    let key = new_uuid()?;
    Ok(html! {
        h3 { "Report progress" }
        form method="post" action=(format!("/commitments/{}/updates", c.id)) enctype="multipart/form-data" class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="update_id" value=(key);
            div class="field" { label for="u-status" { "Status" }
                select id="u-status" name="status" { @for (code, label) in STATUSES { option value=(code) selected[current == Some(code)] { (label) } } } }
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

pub(super) fn review_form(s: &Signed, c: &CommitmentRecord) -> Result<Markup, WebError> {
    let key = new_uuid()?;
    Ok(html! {
        h3 { "Record the board's review" }
        form method="post" action=(format!("/commitments/{}/reviews", c.id)) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="review_id" value=(key);
            div class="field" { label for="r-on" { "Reviewed on" } input id="r-on" name="reviewed_on" type="date" required; }
            fieldset { legend { "Agreed rating (none is chosen for you)" }
                @for (code, label) in RATINGS {
                    div { input type="radio" id=(format!("r-{code}")) name="rating" value=(code) required; label for=(format!("r-{code}")) { (label) } }
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
    let today = crate::shell::today();
    let on = day(
        syndemic_model::date::day_of(today.year(), u8::from(today.month()), today.day())
            .unwrap_or(0),
    );
    let done: Vec<(i64, String)> = milestones.iter().map(|m| (*m, on.clone())).collect();
    let record = UpdateRecord {
        id: update_id.to_owned(),
        commitment_id: c.id.clone(),
        at: crate::shell::now(),
        author: actor.id.clone(),
        org_id: actor.org.clone(),
        status: status.to_owned(),
        narrative: narrative.trim().to_owned(),
        evidence: Vec::new(),
    };
    Ok(state
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
    PostedFiles(s, form, files): PostedFiles,
) -> Result<Response, WebError> {
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
        at: crate::shell::now(),
        ..review
    };
    Ok(state
        .db
        .add_review(&review, &audit_entry(actor, "review", "commitment", &c.id))
        .await?)
}

pub(crate) async fn add_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
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
    s: Signed,
) -> Result<Response, WebError> {
    let file = state
        .db
        .evidence_file(&id)
        .await?
        .ok_or_else(|| WebError::NotFound("there is no such evidence file".into()))?;
    let world = World::load(&state).await?;
    let update = world
        .updates
        .iter()
        .find(|u| u.evidence.iter().any(|e| e.id == file.id))
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

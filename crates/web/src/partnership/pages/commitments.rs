//! Commitments: the form that adds or changes one, its checks against the store, the plan's commitments table and its import.

use super::*;
use crate::shell::{PostedFiles, Upload};
use syndemic_partnership::commitment::{check, Facts, Proposed, Refusal};

/// The form that adds a commitment, or changes `existing` (its reference fixed).
pub(super) fn commitment_form(
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

/// The facts every commitment proposed to `plan` is checked against, read once:
/// the plan's references (but `changing`'s own), the partnership's members, the
/// frameworks' objectives and the store's indicators.
async fn facts(
    state: &AppState,
    world: &World,
    plan: &PlanRecord,
    changing: Option<&str>,
) -> Result<Facts, WebError> {
    Ok(Facts {
        references: world
            .commitments
            .iter()
            .filter(|c| c.plan_id == plan.id && Some(c.id.as_str()) != changing)
            .map(|c| c.reference.clone())
            .collect(),
        members: world
            .members
            .iter()
            .filter(|m| m.partnership_id == plan.partnership_id)
            .map(|m| m.org_id.clone())
            .collect(),
        objectives: super::super::frameworks(state)
            .await?
            .into_iter()
            .flat_map(|f| {
                let code = f.code;
                f.objectives
                    .into_iter()
                    .map(move |(o, _)| (code.clone(), o))
            })
            .collect(),
        indicators: state
            .db
            .indicators()
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect(),
    })
}

/// A refusal as the person sees it: a reference already taken is a conflict
/// (409), anything else a form to correct (422).
fn refused(r: Refusal) -> WebError {
    match r {
        Refusal::ReferenceTaken(_) => WebError::Conflict(r.to_string()),
        other => WebError::Unprocessable(other.to_string()),
    }
}

/// A checked proposal as the record the store keeps: its target areas resolved,
/// its milestones numbered.
async fn commitment_record(
    state: &AppState,
    plan: &PlanRecord,
    p: Proposed,
) -> Result<CommitmentRecord, WebError> {
    let areas = match &p.target_areas {
        Some(rule) => resolve_targets(state.db.as_ref(), rule)
            .await?
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        None => Vec::new(),
    };
    Ok(CommitmentRecord {
        id: new_uuid()?,
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
        created_at: crate::shell::now(),
    })
}

pub(super) fn number(
    form: &crate::shell::Form,
    name: &str,
    label: &str,
) -> Result<Option<f64>, WebError> {
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

pub(super) fn optional(form: &crate::shell::Form, name: &str) -> Option<String> {
    Some(form.get(name)).filter(|v| !v.is_empty())
}

/// A plan's commitments with every figure they are judged by: the table the
/// plan page downloads as CSV or XLSX.
pub(super) fn commitments_table(
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
            "Measured on",
            "Unit",
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
            Cell::text(match j.and_then(|j| j.on_targets) {
                Some(true) => "Target areas",
                Some(false) => "Whole area (target areas not yet measured)",
                None if c.indicator.is_some() => "Whole area",
                None => "",
            }),
            Cell::text(
                j.and_then(|j| j.indicator.as_ref())
                    .and_then(|i| i.unit.clone())
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
    s: Signed,
) -> Result<Response, WebError> {
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
pub(super) fn milestones(text: &str) -> Result<Vec<(String, String)>, WebError> {
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
pub(super) fn proposed(form: &crate::shell::Form, reference: String) -> Result<Proposed, WebError> {
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
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_manage(&s.actor, &family)?;
    let facts = facts(&state, &world, plan, None).await?;
    let reference = form.get("reference");
    if facts.references.contains(&reference) {
        return Err(refused(Refusal::ReferenceTaken(reference)));
    }
    let proposal = proposed(&form, reference)?;
    check(&proposal, &facts).map_err(refused)?;
    let record = commitment_record(&state, plan, proposal).await?;
    state
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
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    let old = world.commitment(&id)?;
    let (plan, family) = world.plan_family(&old.plan_id)?;
    must_manage(&s.actor, &family)?;
    let proposal = proposed(&form, old.reference.clone())?;
    check(
        &proposal,
        &facts(&state, &world, plan, Some(&old.id)).await?,
    )
    .map_err(refused)?;
    let new = commitment_record(&state, plan, proposal).await?;
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
        .db
        .update_commitment(&changed, &audit_entry(&s.actor, "edit", "commitment", &id))
        .await?;
    Ok(Redirect::to(&format!("/commitments/{id}")).into_response())
}

pub(crate) async fn import_commitments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PostedFiles(s, _, files): PostedFiles,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    let (plan, family) = world.plan_family(&id)?;
    must_manage(&s.actor, &family)?;
    let file = Upload::one(&files, "file")?;
    let sheet = Sheet::read(&file.file_name, &file.bytes).map_err(layout_error)?;
    let rows = layout::read_commitments(&sheet).map_err(layout_error)?;
    let facts = facts(&state, &world, plan, None).await?;
    let mut records = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
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
        if let Err(refusal) = check(&proposed, &facts) {
            problems.push(format!("line {}: {refusal}", i + 2));
            continue;
        }
        // A target rule that names no usable area is the row's problem too; a
        // store that cannot answer is no one's row.
        match commitment_record(&state, plan, proposed).await {
            Ok(record) => records.push(record),
            Err(WebError::Store(e)) => return Err(WebError::Store(e)),
            Err(WebError::Internal(e)) => return Err(WebError::Internal(e)),
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
        .db
        .put_plan(
            plan,
            &records,
            &audit_entry(&s.actor, "import", "commitments", &plan.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/plans/{id}")).into_response())
}

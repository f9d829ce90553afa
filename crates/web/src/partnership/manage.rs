//! Making and running partnerships: a new partnership (top-level, or nested in
//! one its maker leads), its members and their seats, and frameworks of its own.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use syndemic_partnership::access::{self as rules, MemberRole};
use syndemic_store::partnership::{FrameworkRecord, MemberRecord, PartnershipRecord};

use super::{audit_entry, frameworks, must_manage, World};
use crate::shell::{Posted, Signed};
use crate::{AppState, WebError};

/// The kinds of partnership a place has.
pub(crate) const KINDS: [(&str, &str); 5] = [
    ("health-and-wellbeing-board", "Health and wellbeing board"),
    ("ics-partnership", "Integrated care partnership"),
    ("community-partnership", "Community or town partnership"),
    ("anchor-network", "Anchor institutions' network"),
    ("other", "Other partnership"),
];

pub(crate) fn create_form(s: &Signed, world: &World, frameworks: &[FrameworkRecord]) -> Markup {
    let parents: Vec<_> = world
        .partnerships
        .iter()
        .filter(|p| rules::may_run(&s.actor, &world.family(&p.id)))
        .collect();
    html! {
        h2 { "Make a partnership" }
        form method="post" action="/partnerships" class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            div class="field" { label for="p-name" { "Name" } input id="p-name" name="name" type="text" required; }
            div class="field" { label for="p-kind" { "Kind" }
                select id="p-kind" name="kind" { @for (code, label) in KINDS { option value=(code) { (label) } } } }
            div class="field" { label for="p-area" { "Area it covers" } p class="hint" id="p-area-hint" { "A county, district or ICB by name or code, such as Cumbria or E10000008; its indicators are judged for this area." }
                input id="p-area" name="area" type="text" aria-describedby="p-area-hint"; }
            div class="field" { label for="p-parent" { "Part of" }
                select id="p-parent" name="parent" { option value="" { "None: a top-level partnership" } @for p in &parents { option value=(p.id) { (p.name) } } } }
            div class="field" { label for="p-framework" { "Framework for its commitments" }
                select id="p-framework" name="framework" { @for f in frameworks { option value=(f.code) { (f.name) } } } }
            button type="submit" { "Make the partnership" }
        }
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(48).collect()
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    if !rules::may_create_partnership(&s.actor) {
        return Err(WebError::Forbidden(
            "a partnership lead or a system admin makes partnerships".into(),
        ));
    }
    let world = World::load(&state).await?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(WebError::Unprocessable(
            "give the partnership a name".into(),
        ));
    }
    let kind = form.get("kind");
    if !KINDS.iter().any(|(c, _)| *c == kind) {
        return Err(WebError::Unprocessable(format!(
            "`{kind}` is not a kind of partnership: one of {}",
            KINDS.map(|(c, _)| c).join(", ")
        )));
    }
    // The area by name, postcode or code, as every place field takes it.
    let area = match crate::place::picker::resolve_optional(&state, &form.get("area")).await? {
        Ok(picked) => picked.map(|p| p.code.to_string()),
        Err(message) => {
            return Err(WebError::Unprocessable(format!(
                "the area it covers: {message}"
            )))
        }
    };
    let parent = Some(form.get("parent")).filter(|p| !p.is_empty());
    if let Some(p) = &parent {
        world.partnership(p)?;
        must_run(&s, &world, p)?;
    }
    let framework = form.get("framework");
    if !frameworks(&state)
        .await?
        .iter()
        .any(|f| f.code == framework)
    {
        return Err(WebError::Unprocessable(format!(
            "`{framework}` is not a framework here"
        )));
    }
    let base = slug(&name);
    let mut id = if base.is_empty() {
        "partnership".to_owned()
    } else {
        base
    };
    let mut n = 2;
    while world.partnerships.iter().any(|p| p.id == id) {
        id = format!("{}-{n}", slug(&name));
        n += 1;
    }
    let record = PartnershipRecord {
        id: id.clone(),
        name,
        kind,
        area,
        parent_id: parent,
        framework,
    };
    // A lead's organisation leads what they make; a system admin adds members next.
    let members: Vec<MemberRecord> = rules::founding_lead(&s.actor)
        .map(|org| MemberRecord {
            partnership_id: id.clone(),
            org_id: org.to_owned(),
            role: MemberRole::Lead.code().into(),
            title: None,
        })
        .into_iter()
        .collect();
    state
        .db
        .put_partnership(
            &record,
            &members,
            &audit_entry(&s.actor, "create", "partnership", &id),
        )
        .await?;
    Ok(Redirect::to(&format!("/partnerships/{id}")).into_response())
}

/// Whoever manages a partnership, or a system admin (who sets up its first lead).
fn must_run(s: &Signed, world: &World, id: &str) -> Result<(), WebError> {
    if rules::may_run(&s.actor, &world.family(id)) {
        Ok(())
    } else {
        must_manage(&s.actor, &world.family(id))
    }
}

pub(crate) fn members_form(s: &Signed, world: &World, id: &str) -> Markup {
    let outside: Vec<_> = world
        .orgs
        .iter()
        .filter(|o| {
            !world
                .members
                .iter()
                .any(|m| m.partnership_id == id && m.org_id == o.id)
        })
        .collect();
    let members: Vec<_> = world
        .members
        .iter()
        .filter(|m| m.partnership_id == id)
        .collect();
    html! {
        h3 { "Add or change a member" }
        form method="post" action=(format!("/partnerships/{id}/members")) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="action" value="put";
            div class="field" { label for="m-org" { "Organisation" }
                select id="m-org" name="org" {
                    @for m in &members { option value=(m.org_id) { (world.org_name(&m.org_id)) " (a member)" } }
                    @for o in &outside { option value=(o.id) { (o.name) } }
                } }
            fieldset { legend { "Role" }
                div { input type="radio" id="m-member" name="role" value="member" checked; label for="m-member" { "Member" } }
                div { input type="radio" id="m-lead" name="role" value="lead"; label for="m-lead" { "Lead (owns the partnership's plans and reviews)" } }
            }
            div class="field" { label for="m-title" { "Seat" } p class="hint" id="m-title-hint" { "e.g. Chair, Director of Public Health." } input id="m-title" name="title" type="text" aria-describedby="m-title-hint"; }
            button type="submit" { "Save the member" }
        }
        @if !members.is_empty() {
            h3 { "Remove a member" }
            form method="post" action=(format!("/partnerships/{id}/members")) class="stack" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="action" value="remove";
                div class="field" { label for="m-remove" { "Organisation" }
                    select id="m-remove" name="org" { @for m in &members { option value=(m.org_id) { (world.org_name(&m.org_id)) } } } }
                button type="submit" class="warning-button" { "Remove from the partnership" }
            }
        }
    }
}

pub(crate) async fn members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    let p = world.partnership(&id)?.clone();
    must_run(&s, &world, &id)?;
    let org = form.get("org");
    if !world.orgs.iter().any(|o| o.id == org) {
        return Err(WebError::Unprocessable(format!(
            "there is no organisation `{org}`"
        )));
    }
    let mut list: Vec<MemberRecord> = world
        .members
        .iter()
        .filter(|m| m.partnership_id == id && m.org_id != org)
        .cloned()
        .collect();
    match form.get("action").as_str() {
        "put" => {
            let role = MemberRole::from_code(&form.get("role")).ok_or_else(|| {
                WebError::Unprocessable("a member's role is lead or member".into())
            })?;
            list.push(MemberRecord {
                partnership_id: id.clone(),
                org_id: org.clone(),
                role: role.code().into(),
                title: Some(form.get("title")).filter(|t| !t.is_empty()),
            });
        }
        "remove" => {
            if world.commitments.iter().any(|c| {
                world
                    .plan(&c.plan_id)
                    .is_ok_and(|pl| pl.partnership_id == id)
                    && (c.lead_org == org || c.contributors.contains(&org))
            }) {
                return Err(WebError::Conflict(format!(
                    "{} leads or contributes to commitments of this partnership: hand them over first",
                    world.org_name(&org)
                )));
            }
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "`{other}` is not an action here: put or remove"
            )))
        }
    }
    if !list.iter().any(|m| m.role == MemberRole::Lead.code()) && p.parent_id.is_none() {
        return Err(WebError::Conflict(
            "a partnership needs at least one lead organisation".into(),
        ));
    }
    state
        .db
        .put_partnership(
            &p,
            &list,
            &audit_entry(&s.actor, "members", "partnership", &id),
        )
        .await?;
    Ok(Redirect::to(&format!("/partnerships/{id}")).into_response())
}

pub(crate) fn framework_form(s: &Signed, id: &str) -> Markup {
    html! {
        h3 { "Add a framework of the partnership's own" }
        form method="post" action=(format!("/partnerships/{id}/frameworks")) class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            div class="field" { label for="f-name" { "Name" } input id="f-name" name="name" type="text" required; }
            div class="field" { label for="f-objectives" { "Objectives" } p class="hint" id="f-objectives-hint" { "One a line, as code: label — e.g. warm-homes: Every home warm and dry." }
                textarea id="f-objectives" name="objectives" rows="5" required aria-describedby="f-objectives-hint" {} }
            button type="submit" { "Add the framework" }
        }
    }
}

pub(crate) async fn add_framework(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    world.partnership(&id)?;
    must_manage(&s.actor, &world.family(&id))?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(WebError::Unprocessable("give the framework a name".into()));
    }
    let mut objectives = Vec::new();
    for (i, line) in form.get("objectives").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (code, label) = line.split_once(':').ok_or_else(|| {
            WebError::Unprocessable(format!("objectives, line {}: write `code: label`", i + 1))
        })?;
        let code = slug(code);
        if code.is_empty() || label.trim().is_empty() {
            return Err(WebError::Unprocessable(format!(
                "objectives, line {}: write `code: label`",
                i + 1
            )));
        }
        if objectives
            .iter()
            .any(|(c, _): &(String, String)| *c == code)
        {
            return Err(WebError::Unprocessable(format!(
                "objectives, line {}: `{code}` is already an objective",
                i + 1
            )));
        }
        objectives.push((code, label.trim().to_owned()));
    }
    if objectives.is_empty() {
        return Err(WebError::Unprocessable(
            "give at least one objective, as `code: label`".into(),
        ));
    }
    let code = format!("{id}-{}", slug(&name));
    if frameworks(&state).await?.iter().any(|f| f.code == code) {
        return Err(WebError::Conflict(format!(
            "this partnership already has a framework `{code}`"
        )));
    }
    let audit = audit_entry(&s.actor, "create", "framework", &code);
    state
        .db
        .put_framework(
            &FrameworkRecord {
                code,
                name,
                partnership_id: Some(id.clone()),
                objectives,
            },
            &audit,
        )
        .await?;
    Ok(Redirect::to(&format!("/partnerships/{id}")).into_response())
}

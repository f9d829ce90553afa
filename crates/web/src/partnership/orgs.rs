//! Organisations as partners — sector, size, local employment, anchor status —
//! their profiles (edited by their own admin), the partners' import, and the
//! anchor institutions' measures and social value.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use rustc_hash::FxHashSet;
use syndemic_partnership::access as rules;
use syndemic_partnership::layout::{self, Sheet};
use syndemic_partnership::sector::{Sector, SizeBand};
use syndemic_store::hub::HubOrg;
use syndemic_store::partnership::{
    AnchorRecord, MemberRecord, PartnerProfile, PartnersImport, SocialValueRecord,
};

use super::{audit_entry, layout_error, num, World};
use crate::shell::page as layout_page;
use crate::shell::table::{Cell, DataTable, Download};
use crate::shell::Posted;
use crate::shell::Signed;
use crate::shell::{PostedFiles, Upload};
use crate::{AppState, WebError};

fn sector_label(code: &str) -> &str {
    Sector::from_code(code).map_or(code, |s| s.label())
}

pub(crate) fn organisations_table(world: &World) -> DataTable {
    let mut t = DataTable::new(
        "Organisations by sector",
        &[
            "Organisation",
            "Id",
            "Sector",
            "Kind",
            "Size",
            "Employees",
            "Share of employees living locally",
            "Anchor institution",
            "Area",
        ],
    );
    let mut orgs: Vec<&HubOrg> = world.orgs.iter().collect();
    orgs.sort_by_key(|o| {
        (
            Sector::from_code(world.sector_of(&o.id)).map_or(99, |s| s as usize),
            o.name.clone(),
        )
    });
    for o in orgs {
        let p = world.profiles.get(&o.id);
        t.push(vec![
            Cell::text(o.name.clone()),
            Cell::text(o.id.clone()),
            Cell::text(sector_label(world.sector_of(&o.id))),
            Cell::text(p.and_then(|p| p.sub_type.clone()).unwrap_or_default()),
            Cell::text(
                p.and_then(|p| p.size_band.as_deref())
                    .and_then(SizeBand::parse)
                    .map_or("", SizeBand::label),
            ),
            Cell::Number(p.and_then(|p| p.employees).map(|n| n as f64)),
            Cell::Number(p.and_then(|p| p.local_employee_share)),
            Cell::text(if p.is_some_and(|p| p.anchor) {
                "Yes"
            } else {
                "No"
            }),
            Cell::text(p.and_then(|p| p.area.clone()).unwrap_or_default()),
        ]);
    }
    t
}

pub(crate) async fn list(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let world = World::load(&state).await?;
    let table = organisations_table(&world);
    let counts: Vec<(Sector, usize)> = Sector::ALL
        .iter()
        .map(|sec| {
            (
                *sec,
                world
                    .orgs
                    .iter()
                    .filter(|o| world.sector_of(&o.id) == sec.code())
                    .count(),
            )
        })
        .collect();
    Ok(layout_page(
        &state,
        "Organisations",
        html! {
            p class="lead" { (world.orgs.len()) " organisations: "
                @for (i, (sec, n)) in counts.iter().enumerate() { @if i > 0 { ", " } (n) " " (sec.label().to_lowercase()) } "." }
            (table.html(Some(&Download { path: "/organisations/table/organisations".into(), query: String::new() })))
            @if rules::may_import_partners(&s.actor) {
                h2 { "Import partners" }
                p { "Fill in the " a href="/templates/partners.csv" { "partners template (CSV)" } " or " a href="/templates/partners.xlsx" { "(Excel)" } ". Organisations are added or updated by id; a partnership column adds each to a partnership. Nothing is imported unless every row is right." }
                form method="post" action="/organisations/import" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    div class="field" { label for="p-file" { "Spreadsheet (CSV or XLSX)" } input id="p-file" name="file" type="file" accept=".csv,.xlsx" required; }
                    button type="submit" { "Import" }
                }
            }
        },
    ))
}

pub(crate) async fn organisations_download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    _signed: Signed,
) -> Result<Response, WebError> {
    let world = World::load(&state).await?;
    let ext = file
        .strip_prefix("organisations.")
        .ok_or_else(|| WebError::NotFound(format!("no download `{file}`")))?;
    organisations_table(&world).respond(ext, "organisations")
}

pub(crate) async fn organisation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let world = World::load(&state).await?;
    let org = world
        .orgs
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| WebError::NotFound(format!("there is no organisation `{id}`")))?;
    let p = world.profiles.get(&id).cloned().unwrap_or_default();
    let edit = rules::may_edit_org(&s.actor, &id);
    let memberships: Vec<_> = world.members.iter().filter(|m| m.org_id == id).collect();
    let leads: Vec<_> = world
        .commitments
        .iter()
        .filter(|c| c.lead_org == id)
        .filter(|c| {
            world
                .plan_family(&c.plan_id)
                .is_ok_and(|(_, f)| rules::may_read(&s.actor, &f))
        })
        .collect();
    let sector = Sector::from_code(&p.sector);
    Ok(layout_page(
        &state,
        &org.name,
        html! {
            dl class="facts" {
                dt { "Sector" } dd { (sector.map_or("Not recorded", Sector::label)) @if let Some(t) = &p.sub_type { " — " (t.replace('-', " ")) } }
                dt { "Size" } dd { (p.size_band.as_deref().and_then(SizeBand::parse).map_or("Not recorded", SizeBand::label)) @if let Some(n) = p.employees { " (" (n) " employees)" } }
                dt { "Employees living locally" } dd { (p.local_employee_share.map_or("Not recorded".into(), |v| format!("{} %", num(100.0 * v)))) }
                dt { "Anchor institution" } dd { (if p.anchor { "Yes" } else { "No" }) }
                @if let Some(a) = &p.area { dt { "Located in" } dd { a href=(format!("/areas/{a}")) { (a) } } }
                @if let Some(c) = &p.charity_number { dt { "Charity number" } dd { (c) } }
                @if let Some(c) = &p.company_number { dt { "Company number" } dd { (c) } }
            }
            h2 { "Partnerships" }
            ul { @for m in &memberships { li { @if let Ok(pp) = world.partnership(&m.partnership_id) { a href=(format!("/partnerships/{}", pp.id)) { (pp.name) } } " — " (m.role) @if let Some(t) = &m.title { ", " (t) } } } }
            @if !leads.is_empty() {
                h2 { "Commitments it leads" }
                ul { @for c in &leads { li { a href=(format!("/commitments/{}", c.id)) { (c.reference) ": " (c.title) } } } }
            }
            @if edit {
                h2 { "Edit the profile" }
                form method="post" action=(format!("/organisations/{id}")) class="stack" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    div class="field" { label for="o-name" { "Name" } input id="o-name" name="name" type="text" required value=(org.name); }
                    div class="field" { label for="o-sector" { "Sector" }
                        select id="o-sector" name="sector" { @for sec in Sector::ALL { option value=(sec.code()) selected[Some(sec) == sector] { (sec.label()) } } } }
                    div class="field" { label for="o-sub" { "Kind" } p class="hint" id="o-sub-hint" { "Within the sector, e.g. nhs-trust, fire-and-rescue, charity." }
                        input id="o-sub" name="sub_type" type="text" value=(p.sub_type.clone().unwrap_or_default()) aria-describedby="o-sub-hint"; }
                    div class="field" { label for="o-emp" { "Employees" } input id="o-emp" name="employees" type="number" min="0" value=(p.employees.map(|n| n.to_string()).unwrap_or_default()); }
                    div class="field" { label for="o-local" { "Share of employees living locally (%)" } input id="o-local" name="local_percent" type="number" min="0" max="100" step="any" value=(p.local_employee_share.map(|v| num(100.0 * v)).unwrap_or_default()); }
                    div class="field" { label for="o-postcode" { "Postcode" } input id="o-postcode" name="postcode" type="text" autocomplete="postal-code" value=(p.postcode.clone().unwrap_or_default()); }
                    div class="field" { label for="o-charity" { "Charity number" } input id="o-charity" name="charity_number" type="text" value=(p.charity_number.clone().unwrap_or_default()); }
                    div class="field" { label for="o-company" { "Company number" } input id="o-company" name="company_number" type="text" value=(p.company_number.clone().unwrap_or_default()); }
                    div { input type="checkbox" id="o-anchor" name="anchor" value="yes" checked[p.anchor]; label for="o-anchor" { "An anchor institution" } }
                    button type="submit" { "Save" }
                }
            }
        },
    ))
}

pub(crate) async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    if !rules::may_edit_org(&s.actor, &id) {
        return Err(WebError::Forbidden(
            "only the organisation's own admin edits its profile".into(),
        ));
    }
    let world = World::load(&state).await?;
    let org = world
        .orgs
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| WebError::NotFound(format!("there is no organisation `{id}`")))?;
    let sector = Sector::from_code(&form.get("sector"))
        .ok_or_else(|| WebError::Unprocessable("choose the organisation's sector".into()))?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(WebError::Unprocessable(
            "give the organisation's name".into(),
        ));
    }
    let employees = match form.get("employees").as_str() {
        "" => None,
        t => Some(t.parse::<u64>().map_err(|_| {
            WebError::Unprocessable(format!("employees: `{t}` is not a whole number"))
        })?),
    };
    let local = match form.get("local_percent").as_str() {
        "" => None,
        t => Some(
            t.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=100.0).contains(v))
                .ok_or_else(|| {
                    WebError::Unprocessable(format!(
                        "share living locally: `{t}` is not a percentage from 0 to 100"
                    ))
                })?
                / 100.0,
        ),
    };
    let old = world.profiles.get(&id).cloned().unwrap_or_default();
    let opt = |n: &str| Some(form.get(n)).filter(|v| !v.is_empty());
    let postcode = opt("postcode");
    let area = match &postcode {
        Some(pc) if old.postcode.as_ref() != Some(pc) => {
            super::business::locate(state.db.as_ref(), None, Some(pc)).await?
        }
        Some(_) => old.area.clone(),
        None => None,
    };
    let profile = PartnerProfile {
        org_id: id.clone(),
        sector: sector.code().into(),
        sub_type: opt("sub_type").map(|t| t.to_ascii_lowercase().replace(' ', "-")),
        size_band: employees.map(|n| SizeBand::of_employees(n).code().to_owned()),
        employees: employees.map(|n| n as i64),
        local_employee_share: local,
        postcode,
        area,
        charity_number: opt("charity_number"),
        company_number: opt("company_number"),
        anchor: form.get("anchor") == "yes",
        ..old
    };
    let org = HubOrg {
        name,
        ..org.clone()
    };
    state
        .db
        .put_profile(
            &org,
            &profile,
            &audit_entry(&s.actor, "edit", "organisation", &id),
        )
        .await?;
    Ok(Redirect::to(&format!("/organisations/{id}")).into_response())
}

/// Imports partners — organisations, profiles and memberships — all or nothing.
pub(crate) async fn import_partners(
    State(state): State<AppState>,
    PostedFiles(s, _, files): PostedFiles,
) -> Result<Response, WebError> {
    if !rules::may_import_partners(&s.actor) {
        return Err(WebError::Forbidden(
            "only a system admin imports organisations".into(),
        ));
    }
    let file = Upload::one(&files, "file")?;
    let sheet = Sheet::read(&file.file_name, &file.bytes).map_err(layout_error)?;
    let rows = layout::read_partners(&sheet).map_err(layout_error)?;
    let world = World::load(&state).await?;
    let mut problems = Vec::new();
    let mut import = PartnersImport::default();
    for (i, r) in rows.into_iter().enumerate() {
        let area =
            super::business::locate(state.db.as_ref(), r.area, r.postcode.as_deref()).await?;
        if let Some(p) = &r.partnership {
            if world.partnership(p).is_err() {
                problems.push(format!(
                    "line {}: there is no partnership `{p}`: create it first",
                    i + 2
                ));
            }
        }
        let is_hub = world.orgs.iter().any(|o| o.id == r.id && o.is_hub);
        import.orgs.push(HubOrg {
            id: r.id.clone(),
            name: r.name.clone(),
            sector: r.sector.code().into(),
            is_hub,
        });
        if let Some(p) = r.partnership.clone() {
            import.members.push(MemberRecord {
                partnership_id: p,
                org_id: r.id.clone(),
                role: r.member_role.map_or("member", |m| m.code()).to_owned(),
                title: None,
            });
        }
        import.profiles.push(PartnerProfile {
            org_id: r.id,
            sector: r.sector.code().into(),
            sub_type: r.sub_type,
            size_band: r.size_band.map(|b| b.code().to_owned()),
            employees: r.employees.map(|n| n as i64),
            local_employee_share: r.local_employee_share,
            address: r.address,
            postcode: r.postcode,
            area,
            charity_number: r.charity_number,
            company_number: r.company_number,
            anchor: r.anchor,
        });
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
        .import_partners(
            &import,
            &audit_entry(&s.actor, "import", "partners", &file.file_name),
        )
        .await?;
    Ok(Redirect::to("/organisations").into_response())
}

pub(crate) fn anchors_table(
    world: &World,
    measures: &[AnchorRecord],
    social: &[SocialValueRecord],
) -> DataTable {
    let mut t = DataTable::new(
        "Anchor institutions' measures by year",
        &[
            "Organisation",
            "Year",
            "Employees",
            "Share of hires from the most deprived areas",
            "Share of spend with local suppliers",
            "Share of spend with SMEs and VCSE",
            "Real living wage employer",
            "Apprenticeships",
            "Volunteering hours",
            "Social value committed (£)",
        ],
    );
    for m in measures {
        let committed: f64 = social
            .iter()
            .filter(|s| s.org_id == m.org_id && s.year == m.year)
            .map(|s| s.quantity * s.proxy_value)
            .sum();
        t.push(vec![
            Cell::text(world.org_name(&m.org_id)),
            Cell::Number(Some(m.year as f64)),
            Cell::Number(m.employees.map(|n| n as f64)),
            Cell::Number(m.hired_most_deprived_share),
            Cell::Number(m.local_spend_share),
            Cell::Number(m.sme_vcse_spend_share),
            Cell::text(match m.real_living_wage {
                Some(true) => "Yes",
                Some(false) => "No",
                None => "",
            }),
            Cell::Number(m.apprenticeships.map(|n| n as f64)),
            Cell::Number(m.volunteering_hours),
            Cell::Number(Some(committed)),
        ]);
    }
    t
}

pub(crate) async fn anchors(
    State(state): State<AppState>,
    s: Signed,
) -> Result<Html<String>, WebError> {
    let world = World::load(&state).await?;
    let measures = state.db.anchor_measures().await?;
    let social = state.db.social_value().await?;
    let anchors: Vec<&HubOrg> = world
        .orgs
        .iter()
        .filter(|o| world.profiles.get(&o.id).is_some_and(|p| p.anchor))
        .collect();
    let table = anchors_table(&world, &measures, &social);
    let mut themes: Vec<(String, f64)> = Vec::new();
    for sv in &social {
        let v = sv.quantity * sv.proxy_value;
        match themes.iter_mut().find(|(t, _)| *t == sv.theme) {
            Some((_, total)) => *total += v,
            None => themes.push((sv.theme.clone(), v)),
        }
    }
    Ok(layout_page(
        &state,
        "Anchor institutions",
        html! {
            p class="lead" { "Large organisations rooted in the place that use their hiring, buying and assets for local people: "
                @for (i, a) in anchors.iter().enumerate() { @if i > 0 { ", " } a href=(format!("/organisations/{}", a.id)) { (a.name) } } "." }
            (table.html(Some(&Download { path: "/anchors/measures".into(), query: String::new() })))
            h2 { "Social value committed in contracts, by theme" }
            p { "In the style of the National TOMs: each measure's quantity times its proxy value in pounds." }
            div class="table-scroll" role="region" tabindex="0" aria-label="Social value by theme" { table { caption { "Social value by theme (£)" } thead { tr { th scope="col" { "Theme" } th scope="col" class="num" { "£" } } }
                tbody { @for (t, v) in &themes { tr { td { (t) } td class="num" { (num(v.round())) } } } } } }
            @if rules::may_import_anchor_measures(&s.actor) {
                h2 { "Import measures" }
                p { "Fill in the " a href="/templates/anchors.csv" { "anchor measures template" } " and, if you have it, the " a href="/templates/social-value.csv" { "social value template" } ". An organisation's admin imports its own organisation's rows; nothing is imported unless every row is right." }
                form method="post" action="/anchors/import" enctype="multipart/form-data" class="stack" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    div class="field" { label for="a-file" { "Anchor measures (CSV or XLSX)" } input id="a-file" name="file" type="file" accept=".csv,.xlsx" required; }
                    div class="field" { label for="a-social" { "Social value (CSV or XLSX, optional)" } input id="a-social" name="social" type="file" accept=".csv,.xlsx"; }
                    button type="submit" { "Import" }
                }
            }
        },
    ))
}

pub(crate) async fn anchors_download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    _signed: Signed,
) -> Result<Response, WebError> {
    let ext = file
        .strip_prefix("measures.")
        .ok_or_else(|| WebError::NotFound(format!("no download `{file}`")))?;
    let world = World::load(&state).await?;
    let measures = state.db.anchor_measures().await?;
    let social = state.db.social_value().await?;
    anchors_table(&world, &measures, &social).respond(ext, "anchor-measures")
}

pub(crate) async fn import_anchors(
    State(state): State<AppState>,
    PostedFiles(s, _, files): PostedFiles,
) -> Result<Response, WebError> {
    if !rules::may_import_anchor_measures(&s.actor) {
        return Err(WebError::Forbidden(
            "an organisation's admin imports its anchor measures".into(),
        ));
    }
    let file = Upload::one(&files, "file")?;
    let sheet = Sheet::read(&file.file_name, &file.bytes).map_err(layout_error)?;
    let rows = layout::read_anchor_measures(&sheet).map_err(layout_error)?;
    let social_rows = match files.iter().find(|f| f.field == "social") {
        Some(f) => {
            let sheet = Sheet::read(&f.file_name, &f.bytes).map_err(layout_error)?;
            layout::read_social_value(&sheet).map_err(layout_error)?
        }
        None => Vec::new(),
    };
    let world = World::load(&state).await?;
    let known: FxHashSet<&str> = world.orgs.iter().map(|o| o.id.as_str()).collect();
    let mut problems = Vec::new();
    let orgs = rows
        .iter()
        .map(|r| r.organisation.as_str())
        .chain(social_rows.iter().map(|r| r.organisation.as_str()));
    for (i, org) in orgs.enumerate() {
        if !known.contains(org) {
            problems.push(format!("row {}: there is no organisation `{org}`", i + 1));
        } else if !rules::may_edit_org(&s.actor, org) {
            return Err(WebError::Forbidden(format!(
                "you may import only your own organisation's measures, not `{org}`'s"
            )));
        }
    }
    if !problems.is_empty() {
        return Err(WebError::Unprocessable(format!(
            "{}: nothing was imported; fix these and import it again: {}",
            file.file_name,
            problems.join("; ")
        )));
    }
    let measures: Vec<AnchorRecord> = rows
        .into_iter()
        .map(|r| AnchorRecord {
            org_id: r.organisation,
            year: i64::from(r.year),
            employees: r.employees.map(|n| n as i64),
            hired_most_deprived_share: r.hired_most_deprived_share,
            local_spend_share: r.local_spend_share,
            sme_vcse_spend_share: r.sme_vcse_spend_share,
            real_living_wage: r.real_living_wage,
            apprenticeships: r.apprenticeships.map(|n| n as i64),
            volunteering_hours: r.volunteering_hours,
        })
        .collect();
    let social: Vec<SocialValueRecord> = social_rows
        .into_iter()
        .map(|r| SocialValueRecord {
            org_id: r.organisation,
            year: i64::from(r.year),
            contract: r.contract,
            theme: r.theme,
            outcome: r.outcome,
            measure: r.measure,
            unit: r.unit,
            quantity: r.quantity,
            proxy_value: r.proxy_value,
        })
        .collect();
    state
        .db
        .import_anchor_measures(
            &measures,
            &social,
            &audit_entry(&s.actor, "import", "anchor-measures", &file.file_name),
        )
        .await?;
    Ok(Redirect::to("/anchors").into_response())
}

/// The import templates: an empty sheet with the layout's header, as CSV or XLSX.
pub(crate) async fn template(Path(file): Path<String>) -> Result<Response, WebError> {
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| WebError::NotFound(format!("no template `{file}`")))?;
    let columns = match stem {
        "partners" => layout::partners_template(),
        "businesses" => layout::businesses_template(),
        "business-counts" => layout::business_counts_template(),
        "anchors" => layout::anchors_template(),
        "social-value" => layout::social_value_template(),
        "commitments" => layout::commitments_template(),
        other => {
            return Err(WebError::NotFound(format!(
                "no template `{other}`: partners, businesses, business-counts, anchors, social-value or commitments"
            )))
        }
    };
    DataTable::new(stem, &columns).respond(ext, &format!("{stem}-template"))
}

//! Community-defined places: the public list (each has a profile at
//! `/areas/{code}` like any area), and, for a partnership's leads and system
//! admins, defining one within the partnership's area — its small areas clicked
//! on the map one at a time (an image button: no script), pasted as postcodes,
//! or listed as LSOA and ward codes. All or nothing: every entry that cannot be
//! used is named by line, and nothing is kept until all is well.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use syndemic_model::AreaCode;
use syndemic_partnership::access as rules;
use syndemic_place::Placer;
use syndemic_store::partnership::{PartnershipRecord, Removal};
use syndemic_voice::{define_place, PlaceDefinition, VoiceError, MAX_PLACE_DESCRIPTION};

use super::matters::{area_outlines, path_of, MAP_WIDTH};
use super::{audit_entry, World};
use crate::shell::auth::signed_in;
use crate::shell::{page, Posted, Signed};
use crate::{AppState, WebError};

/// `/community-places`: every community place, with its profile.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let places = state.db.community_places().await?;
    let signed = signed_in(&state, &headers).await?;
    let runs: Vec<PartnershipRecord> = match &signed {
        Some(s) => definable(&state, s).await?,
        None => Vec::new(),
    };
    let may_define = !runs.is_empty();
    let may_remove = |p: &syndemic_store::partnership::CommunityPlaceRecord| {
        signed.as_ref().is_some_and(|s| {
            s.actor.role == syndemic_access::Role::SystemAdmin
                || p.partnership_id
                    .as_ref()
                    .is_some_and(|id| runs.iter().any(|r| &r.id == id))
        })
    };
    let mut within_names = Vec::new();
    for p in &places {
        let name = state
            .db
            .area(p.within)
            .await?
            .and_then(|a| a.area.name)
            .unwrap_or_else(|| p.within.to_string());
        within_names.push(name);
    }
    let body = html! {
        p { "Places as their communities define them — a village and its farms, an estate, the streets a residents' association speaks for — rather than as a ward or an LSOA draws them. Each is a set of small areas; every indicator is computed for it from its small areas' counts, as for any area, and residents' survey results are published for it." }
        @if may_define {
            p { a href="/community-places/new" { "Define a community place" } }
        }
        @if places.is_empty() {
            p { "No community has defined its place yet." }
        } @else {
            div class="table-scroll" role="region" tabindex="0" aria-label="Community places" { table {
                caption { "Community places" }
                thead { tr { th scope="col" { "Place" } th scope="col" { "Small areas" } th scope="col" { "Within" } th scope="col" { "Chosen" } @if may_define { th scope="col" { "Defined by mistake?" } } } }
                tbody {
                    @for (p, within) in places.iter().zip(&within_names) {
                        tr {
                            th scope="row" { a href={ "/areas/" (p.code) } { (p.name) } }
                            td { (p.areas.len()) }
                            td { a href={ "/areas/" (p.within) } { (within) } }
                            td { (chosen_label(&p.chosen_by)) }
                            @if may_define {
                                td { @if let (true, Some(s)) = (may_remove(p), &signed) {
                                    form method="post" action={ "/community-places/" (p.code) "/remove" } class="inline" {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        button type="submit" class="secondary" aria-label={ "Remove " (p.name) } { "Remove" }
                                    }
                                } }
                            }
                        }
                    }
                }
            } }
        }
    };
    Ok(page(&state, "Community places", body).into_response())
}

fn chosen_label(code: &str) -> &'static str {
    match code {
        "map" => "on the map",
        "postcodes" => "from postcodes",
        _ => "from a list",
    }
}

/// The partnerships (with an area) `s` may define a community place in: those
/// it runs (a system admin runs every one).
async fn definable(state: &AppState, s: &Signed) -> Result<Vec<PartnershipRecord>, WebError> {
    let world = World::load(state).await?;
    Ok(world
        .partnerships
        .iter()
        .filter(|p| p.area.is_some() && rules::may_run(&s.actor, &world.family(&p.id)))
        .cloned()
        .collect())
}

#[derive(Deserialize)]
pub(crate) struct Which {
    partnership: Option<String>,
}

/// The partnership asked for among those `s` may define in, or the first.
async fn chosen_partnership(
    state: &AppState,
    s: &Signed,
    asked: Option<&str>,
) -> Result<(PartnershipRecord, AreaCode, Vec<PartnershipRecord>), WebError> {
    let options = definable(state, s).await?;
    let chosen = match asked.filter(|a| !a.is_empty()) {
        Some(id) => options.iter().find(|p| p.id == id),
        None => options.first(),
    }
    .cloned()
    .ok_or_else(|| {
        WebError::Forbidden(
            "only a system admin, or a partnership lead of an organisation that leads a partnership with an area, may define a community place in it"
                .into(),
        )
    })?;
    let area = crate::parse_code(chosen.area.as_deref().unwrap_or_default())?;
    Ok((chosen, area, options))
}

struct Draft<'a> {
    name: &'a str,
    description: &'a str,
    list: &'a str,
    chosen_by: &'a str,
    note: Option<String>,
    problems: Vec<String>,
}

fn form_page(
    s: &Signed,
    partnership: &PartnershipRecord,
    options: &[PartnershipRecord],
    height: f64,
    d: &Draft<'_>,
) -> Markup {
    html! {
        p { "A community place is a set of small areas (LSOAs, about 1,500 residents each) within " (partnership.name) "'s area. Click its small areas on the map one at a time, paste its postcodes, or list LSOA and ward codes — one per line; a ward brings all its small areas." }
        @if options.len() > 1 {
            nav aria-label="Partnership" { "Within the area of: "
                @for (i, p) in options.iter().enumerate() {
                    @if i > 0 { " · " }
                    @if p.id == partnership.id { strong aria-current="true" { (p.name) } }
                    @else { a href={ "/community-places/new?partnership=" (p.id) } { (p.name) } }
                }
            }
        }
        @if !d.problems.is_empty() {
            div class="error-summary" role="alert" {
                h2 { "There is a problem: nothing was kept" }
                ul { @for p in &d.problems { li { a href="#list" { (p) } } } }
            }
        }
        @if let Some(note) = &d.note { p role="status" { (note) } }
        form method="post" action="/community-places" class="stack" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="partnership" value=(partnership.id);
            input type="hidden" name="chosen_by" value=(d.chosen_by);
            div class="field" { label for="name" { "Its name, as its residents call it" }
                input id="name" name="name" type="text" maxlength=(syndemic_voice::MAX_PLACE_NAME) value=(d.name); }
            div class="field" { label for="description" { "What it is, in the community's words (optional)" }
                textarea id="description" name="description" rows="3" maxlength=(MAX_PLACE_DESCRIPTION) { (d.description) } }
            div class="field" { label for="list" { "Its small areas, wards or postcodes, one per line" }
                p class="hint" id="list-hint" { "Such as E01006074 (a small area), E05000829 (a ward: all its small areas) or M33 7XX (the small area it lies in)." }
                textarea id="list" name="list" rows="8" aria-describedby="list-hint" { (d.list) } }
            button type="submit" name="define" value="1" { "Define this community place" }
            p { "Or click a small area on the map to add it to the list (this sends the form and keeps what you typed):" }
            input type="image" name="pick" src={ "/community-places/map.svg?partnership=" (partnership.id) } width=(MAP_WIDTH) height=(format!("{height:.0}")) alt={ "Map of " (partnership.name) "'s small areas: click one to add it to the list" };
        }
    }
}

/// `/community-places/new`: the form.
pub(crate) async fn new(
    State(state): State<AppState>,
    s: Signed,
    Query(which): Query<Which>,
) -> Result<Response, WebError> {
    let (partnership, area, options) =
        chosen_partnership(&state, &s, which.partnership.as_deref()).await?;
    let (_, frame) = area_outlines(&state, area).await?;
    let height = frame.map_or(MAP_WIDTH, |f| f.height);
    let draft = Draft {
        name: "",
        description: "",
        list: "",
        chosen_by: "list",
        note: None,
        problems: Vec::new(),
    };
    Ok(page(
        &state,
        "Define a community place",
        form_page(&s, &partnership, &options, height, &draft),
    )
    .into_response())
}

/// `/community-places/map.svg?partnership=…`: the partnership area's small areas.
pub(crate) async fn map(
    State(state): State<AppState>,
    s: Signed,
    Query(which): Query<Which>,
) -> Result<Response, WebError> {
    let (_, area, _) = chosen_partnership(&state, &s, which.partnership.as_deref()).await?;
    let (areas, frame) = area_outlines(&state, area).await?;
    let Some(f) = frame else {
        return Err(WebError::NotFound(
            "no boundaries of the area to draw".into(),
        ));
    };
    let d = path_of(areas.iter().map(|a| &a.1), &f);
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(MAP_WIDTH) height=(format!("{:.0}", f.height)) viewBox=(format!("0 0 {MAP_WIDTH} {:.0}", f.height)) {
            path d=(d) fill="#e8f1f8" stroke="#1a1a1a" stroke-width="0.5" fill-rule="evenodd" {}
        }
    };
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg.into_string()).into_response())
}

/// `POST /community-places`: a click on the map adds its small area to the
/// list; the button defines the place.
pub(crate) async fn define(
    State(state): State<AppState>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    let asked = form.get("partnership");
    let (partnership, area, options) = chosen_partnership(&state, &s, Some(&asked)).await?;
    let (_, frame) = area_outlines(&state, area).await?;
    let height = frame.as_ref().map_or(MAP_WIDTH, |f| f.height);
    let (name, description) = (form.get("name"), form.get("description"));
    let mut list = form.get("list");
    let mut chosen_by = match form.get("chosen_by").as_str() {
        "map" => "map",
        _ if list
            .lines()
            .any(|l| !l.trim().is_empty() && AreaCode::parse(l).is_err()) =>
        {
            "postcodes"
        }
        _ => "list",
    };
    let again = |status: StatusCode, d: &Draft<'_>| {
        (
            status,
            page(
                &state,
                "Define a community place",
                form_page(&s, &partnership, &options, height, d),
            ),
        )
            .into_response()
    };
    let clicked = (
        form.get("pick.x").parse::<f64>(),
        form.get("pick.y").parse::<f64>(),
    );
    if let ((Ok(x), Ok(y)), Some(f)) = (clicked, frame.as_ref()) {
        let (lat, lon) = f.to_point(x.clamp(0.0, MAP_WIDTH), y.clamp(0.0, f.height));
        let placer = Placer::new(state.db.as_ref(), area, &partnership.name).await?;
        let note = match placer.point(state.db.as_ref(), lat, lon).await? {
            Ok(lsoa) => {
                let already = list.lines().any(|l| l.trim() == lsoa.as_str());
                if !already {
                    if !list.is_empty() && !list.ends_with('\n') {
                        list.push('\n');
                    }
                    list.push_str(lsoa.as_str());
                }
                chosen_by = "map";
                let label = state
                    .db
                    .area(lsoa)
                    .await?
                    .and_then(|a| a.area.name)
                    .unwrap_or_default();
                if already {
                    format!("{lsoa} {label} is already in the list.")
                } else {
                    format!("Added {lsoa} {label} to the list.")
                }
            }
            Err(why) => why.to_string(),
        };
        let draft = Draft {
            name: &name,
            description: &description,
            list: &list,
            chosen_by,
            note: Some(note),
            problems: Vec::new(),
        };
        return Ok(again(StatusCode::OK, &draft));
    }
    let definition = PlaceDefinition {
        name: &name,
        description: &description,
        list: &list,
        chosen_by,
        place: area,
        partnership_id: Some(&partnership.id),
    };
    let mut audit = audit_entry(&s.actor, "create", "community place", "");
    audit.reason = name.clone();
    match define_place(state.db.as_ref(), &definition, &audit, audit.at).await {
        Ok(code) => {
            state.forget_all().await;
            Ok(Redirect::to(&format!("/areas/{code}")).into_response())
        }
        Err(VoiceError::Community(problems)) => {
            let draft = Draft {
                name: &name,
                description: &description,
                list: &list,
                chosen_by,
                note: None,
                problems,
            };
            Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &draft))
        }
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

/// `POST /community-places/{code}/remove`: a place defined by mistake removed,
/// by a system admin or a lead of the partnership that defined it.
pub(crate) async fn remove(
    State(state): State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
    Posted(s, _): Posted,
) -> Result<Response, WebError> {
    let code = crate::parse_code(&code)?;
    let place = state
        .db
        .community_places()
        .await?
        .into_iter()
        .find(|p| p.code == code)
        .ok_or_else(|| WebError::NotFound(format!("{code} is not a community place")))?;
    let runs = definable(&state, &s).await?;
    let allowed = s.actor.role == syndemic_access::Role::SystemAdmin
        || place
            .partnership_id
            .as_ref()
            .is_some_and(|id| runs.iter().any(|r| &r.id == id));
    if !allowed {
        return Err(WebError::Forbidden(
            "only a system admin, or a lead of the partnership that defined it, may remove a community place".into(),
        ));
    }
    let mut audit = audit_entry(&s.actor, "erase", "community place", code.as_str());
    audit.reason = place.name.clone();
    match state.db.remove_place(code, &audit).await? {
        Removal::Removed => {
            state.forget_all().await;
            Ok(Redirect::to("/community-places").into_response())
        }
        Removal::NotFound => Err(WebError::NotFound(format!(
            "{code} is not a community place"
        ))),
        Removal::InUse(what) => Err(WebError::Conflict(format!(
            "{} was not removed: {what}; change that first",
            place.name
        ))),
    }
}

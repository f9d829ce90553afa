//! "What matters here": residents drop a pin — a theme and a short comment — on
//! a map of the place, with no script (the map is an image button: a click
//! sends its coordinates with the form, turned back here into a point and
//! placed in its small area; a postcode does as well, for keyboards and screen
//! readers). Only the small area is kept. Counts by theme are published by ward
//! and by small area;
//! comments reach staff only once a moderator (a partnership lead or system
//! admin) has approved them, shown with their ward and never finer, and every
//! reading is audited.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use syndemic_access::secret::keyed_hash;
use syndemic_model::{AreaCode, Whereabouts};
use syndemic_partnership::access::may_run_surveys;
use syndemic_partnership::survey::{read_pin, FieldProblem, MAX_PIN_COMMENT, THEMES};
use syndemic_place::Placer;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::{PinRecord, SurveyRecord};

use super::surveys::{held, wards_of};
use crate::shell::table::{Cell, DataTable};
use crate::shell::throttle::{too_many, Client, Route};
use crate::shell::{cookie, now, page, random_hex, security, Form, Posted, SecurityEvent, Signed};
use crate::{AppState, WebError};

/// The map's size on the page, in CSS pixels: fixed, so a click's coordinates
/// mean the same point on a phone as on a desk.
pub(crate) const MAP_WIDTH: f64 = 340.0;
/// Pins one device may drop on one survey's map in a day.
const PINS_PER_DAY: i64 = 10;

/// The projection of the place's small areas into the map: longitude scaled by
/// the cosine of the middle latitude, as every map of the site draws.
pub(crate) struct Frame {
    x0: f64,
    y1: f64,
    k: f64,
    scale: f64,
    pub(crate) height: f64,
}

impl Frame {
    fn of(outlines: &[&Vec<Vec<[f64; 2]>>]) -> Option<Frame> {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in outlines.iter().flat_map(|o| o.iter().flatten()) {
            x0 = x0.min(p[0]);
            x1 = x1.max(p[0]);
            y0 = y0.min(p[1]);
            y1 = y1.max(p[1]);
        }
        if x0 > x1 {
            return None;
        }
        let k = ((y0 + y1) / 2.0).to_radians().cos();
        let scale = MAP_WIDTH / ((x1 - x0) * k).max(1e-9);
        Some(Frame {
            x0,
            y1,
            k,
            scale,
            height: ((y1 - y0) * scale).max(1.0),
        })
    }

    /// The point (latitude, longitude) under a click at (x, y) on the map.
    pub(crate) fn to_point(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.y1 - y / self.scale,
            x / (self.k * self.scale) + self.x0,
        )
    }
}

/// One small area's outline rings.
pub(crate) type Outline = Vec<Vec<[f64; 2]>>;

/// The place's small-area outlines and their frame.
async fn outlines(
    state: &AppState,
    record: &SurveyRecord,
) -> Result<(Vec<Outline>, Option<Frame>), WebError> {
    let place = crate::parse_code(&record.place)?;
    let (areas, frame) = area_outlines(state, place).await?;
    Ok((areas.into_iter().map(|a| a.1).collect(), frame))
}

/// The small areas of `place` with their outlines (those with a boundary), and
/// their frame.
pub(crate) async fn area_outlines(
    state: &AppState,
    place: AreaCode,
) -> Result<(Vec<(AreaCode, Outline)>, Option<Frame>), WebError> {
    let shapes = state.shapes().await?;
    let areas: Vec<(AreaCode, Outline)> =
        syndemic_place::small_areas_within(state.db.as_ref(), place)
            .await?
            .into_iter()
            .filter_map(|c| shapes.outlines.get(&c).cloned().map(|o| (c, o)))
            .collect();
    let frame = Frame::of(&areas.iter().map(|a| &a.1).collect::<Vec<_>>());
    Ok((areas, frame))
}

/// An SVG path of `outlines` in the map's frame.
pub(crate) fn path_of<'a>(outlines: impl IntoIterator<Item = &'a Outline>, f: &Frame) -> String {
    let mut d = String::new();
    for area in outlines {
        for ring in area {
            for (i, p) in ring.iter().enumerate() {
                let (x, y) = ((p[0] - f.x0) * f.k * f.scale, (f.y1 - p[1]) * f.scale);
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
    }
    d
}

/// `/surveys/{slug}/matters.svg`: the map residents click.
pub(crate) async fn map(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let (record, _) = held(&state, &slug).await?;
    let (rings, frame) = outlines(&state, &record).await?;
    let Some(f) = frame else {
        return Err(WebError::NotFound(
            "no boundaries of the place to draw".into(),
        ));
    };
    let d = path_of(&rings, &f);
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(MAP_WIDTH) height=(format!("{:.0}", f.height)) viewBox=(format!("0 0 {MAP_WIDTH} {:.0}", f.height)) {
            path d=(d) fill="#e8f1f8" stroke="#1a1a1a" stroke-width="0.5" fill-rule="evenodd" {}
        }
    };
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg.into_string()).into_response())
}

fn form_page(
    state: &AppState,
    record: &SurveyRecord,
    height: f64,
    typed: &Form,
    problems: &[FieldProblem],
    counts: &Markup,
) -> Markup {
    let error = |f: &str| {
        problems
            .iter()
            .find(|p| p.field == f)
            .map(|p| p.message.clone())
    };
    html! {
        p { "Mark a place in " (state.place) " that matters to you — somewhere that works well, or something that needs to change — and say why. Only the neighbourhood your pin falls in is kept; your comment is read by the partnership's team once it has been checked, and is never shown with anything finer than a ward." }
        @if !problems.is_empty() {
            div class="error-summary" role="alert" {
                h2 { "There is a problem" }
                ul { @for p in problems { li { a href={ "#" (p.field) } { (p.message) } } } }
            }
        }
        form method="post" action={ "/surveys/" (record.slug) "/matters" } {
            input type="hidden" name="form" value=(super::surveys::form_token(state, &record.slug, now()));
            div class="visually-hidden" aria-hidden="true" {
                label for="website" { "Leave this empty" }
                input type="text" name="website" id="website" tabindex="-1" autocomplete="off";
            }
            fieldset class="choices" id="theme" {
                legend { "What is it about?" }
                @if let Some(e) = error("theme") { p class="field-error" { (e) } }
                @for (i, t) in THEMES.iter().enumerate() {
                    div {
                        input type="radio" name="theme" id={ "theme-" (i) } value=(t) checked[typed.get("theme") == *t];
                        label for={ "theme-" (i) } { (t) }
                    }
                }
            }
            div class="field" {
                label for="comment" { "Why it matters (optional, up to " (MAX_PIN_COMMENT) " characters)" }
                @if let Some(e) = error("comment") { p class="field-error" { (e) } }
                textarea name="comment" id="comment" rows="3" maxlength=(MAX_PIN_COMMENT) { (typed.get("comment")) }
            }
            div class="field" {
                label for="postcode" { "The nearest postcode" }
                @if let Some(e) = error("postcode") { p class="field-error" { (e) } }
                input type="text" name="postcode" id="postcode" autocomplete="postal-code" size="8" value=(typed.get("postcode"));
                button type="submit" { "Drop my pin at this postcode" }
            }
            p { "Or click the place on the map (this sends your pin):" }
            @if let Some(e) = error("pin") { p class="field-error" id="pin" { (e) } }
            input type="image" name="pin" src={ "/surveys/" (record.slug) "/matters.svg" } width=(MAP_WIDTH) height=(format!("{height:.0}")) alt={ "Map of " (state.place) ": click where it matters to drop your pin there" };
        }
        h2 { "What residents have marked, by ward" }
        (counts)
    }
}

/// The published counts: pins by ward and theme (rejected ones left out).
async fn counts(state: &AppState, record: &SurveyRecord) -> Result<Markup, WebError> {
    let pins = state.db.pin_themes(&record.id).await?;
    let wards = wards_of(state, pins.iter().map(|p| p.0.as_str())).await?;
    let ward_of = |lsoa: &str| {
        wards
            .get(lsoa)
            .map_or("No ward known".to_string(), |w| w.1.clone())
    };
    let mut by_ward: BTreeMap<Vec<String>, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut by_lsoa: BTreeMap<Vec<String>, BTreeMap<&str, usize>> = BTreeMap::new();
    for (lsoa, theme) in &pins {
        for (by, key) in [
            (&mut by_ward, vec![ward_of(lsoa)]),
            (&mut by_lsoa, vec![ward_of(lsoa), lsoa.clone()]),
        ] {
            *by.entry(key)
                .or_default()
                .entry(theme.as_str())
                .or_default() += 1;
        }
    }
    let table =
        |title: &str, heads: &[&'static str], by: &BTreeMap<Vec<String>, BTreeMap<&str, usize>>| {
            let mut columns = heads.to_vec();
            columns.extend(THEMES.iter().copied());
            let mut t = DataTable::new(title, &columns);
            for (key, themes) in by {
                let mut row: Vec<Cell> = key.iter().map(|k| Cell::text(k.clone())).collect();
                row.extend(
                    THEMES
                        .iter()
                        .map(|th| Cell::Number(Some(*themes.get(th).unwrap_or(&0) as f64))),
                );
                t.push(row);
            }
            t.html(None)
        };
    Ok(if by_ward.is_empty() {
        html! { p { "No pins yet." } }
    } else {
        html! {
            (table("Pins by ward and theme", &["Ward"], &by_ward))
            details {
                summary { "Pins by small area (LSOA) and theme" }
                (table("Pins by small area and theme", &["Ward", "Small area"], &by_lsoa))
            }
        }
    })
}

/// `/surveys/{slug}/matters`.
pub(crate) async fn form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let (record, _) = held(&state, &slug).await?;
    let (_, frame) = outlines(&state, &record).await?;
    let height = frame.map_or(MAP_WIDTH, |f| f.height);
    let counts = counts(&state, &record).await?;
    Ok(page(
        &state,
        "What matters here",
        form_page(&state, &record, height, &Form::default(), &[], &counts),
    )
    .into_response())
}

fn audit(actor: &str, org: &str, action: &str, record: &str, reason: &str) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: actor.into(),
        org: org.into(),
        action: action.into(),
        subject: "pin".into(),
        record: record.into(),
        reason: reason.into(),
    }
}

/// `POST /surveys/{slug}/matters`: an anonymous pin.
pub(crate) async fn drop_pin(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let at = now();
    if let Err(wait) = state.throttle.take(Route::Survey, &client.0, at as f64) {
        security(
            SecurityEvent::Throttled,
            "-",
            "-",
            &format!("client {}: pin", client.0),
        );
        return Ok(too_many(wait, "pins"));
    }
    let (record, _) = held(&state, &slug).await?;
    let form = Form::parse(&body);
    if !form.get("website").is_empty() {
        security(
            SecurityEvent::Abuse,
            "-",
            "-",
            &format!("client {}: pin honeypot filled", client.0),
        );
        return Ok(Redirect::to(&format!("/surveys/{slug}/matters")).into_response());
    }
    let (_, frame) = outlines(&state, &record).await?;
    let height = frame.as_ref().map_or(MAP_WIDTH, |f| f.height);
    let again = |problems: Vec<FieldProblem>, counts: Markup| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                &state,
                "What matters here",
                form_page(&state, &record, height, &form, &problems, &counts),
            ),
        )
            .into_response()
    };
    if !super::surveys::token_good(&state, &slug, &form.get("form"), at) {
        let c = counts(&state, &record).await?;
        return Ok(again(
            vec![FieldProblem {
                field: "theme".into(),
                message: "This form had expired: send it again.".into(),
            }],
            c,
        ));
    }
    let (theme, comment) = match read_pin(&form.get("theme"), &form.get("comment")) {
        Ok(p) => p,
        Err(problems) => {
            let c = counts(&state, &record).await?;
            return Ok(again(problems, c));
        }
    };
    let clicked = (
        form.get("pin.x").parse::<f64>(),
        form.get("pin.y").parse::<f64>(),
    );
    let (whereabouts, field) = match (clicked, frame.as_ref()) {
        ((Ok(x), Ok(y)), Some(f))
            if (0.0..=MAP_WIDTH).contains(&x) && (0.0..=f.height).contains(&y) =>
        {
            let (lat, lon) = f.to_point(x, y);
            (Some(Whereabouts::Pin { lat, lon }), "pin")
        }
        _ => (
            syndemic_model::normalise_postcode(&form.get("postcode")).map(Whereabouts::Postcode),
            "postcode",
        ),
    };
    let Some(whereabouts) = whereabouts else {
        let c = counts(&state, &record).await?;
        return Ok(again(
            vec![FieldProblem {
                field: "postcode".into(),
                message: "Give the nearest postcode, or click the place on the map".into(),
            }],
            c,
        ));
    };
    let place = AreaCode::parse(&record.place).map_err(|e| WebError::Internal(e.to_string()))?;
    let placer = Placer::new(state.db.as_ref(), place, &state.place).await?;
    let lsoa = match placer.place(state.db.as_ref(), &whereabouts).await? {
        Ok(l) => l,
        Err(why) => {
            let c = counts(&state, &record).await?;
            return Ok(again(
                vec![FieldProblem {
                    field: field.into(),
                    message: why.to_string(),
                }],
                c,
            ));
        }
    };
    let key = state.pseudonym_key().await?;
    let device =
        cookie(&headers, "syndemic_device").unwrap_or_else(|| format!("none:{}", client.0));
    if !state
        .db
        .take_quota(
            &record.id,
            &keyed_hash(&key, &format!("pins:{device}")),
            at.div_euclid(86_400),
            PINS_PER_DAY,
        )
        .await?
    {
        security(
            SecurityEvent::Abuse,
            "-",
            "-",
            &format!("client {}: pin daily cap", client.0),
        );
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            page(
                &state,
                "Enough pins for today",
                html! { p { "This device has dropped as many pins as it may today. Thank you." } },
            ),
        )
            .into_response());
    }
    let pin = PinRecord {
        id: format!("pin-{}", random_hex(10)?),
        survey_id: record.id.clone(),
        theme: theme.into(),
        lsoa: lsoa.to_string(),
        comment,
        status: "pending".into(),
        at,
    };
    state
        .db
        .add_pin(
            &pin,
            &audit(
                "anonymous",
                "",
                "create",
                &pin.id,
                "a pin on what matters here",
            ),
        )
        .await?;
    Ok(page(&state, "Thank you", html! {
        p { "Your pin is counted in its ward. " a href={ "/surveys/" (slug) "/matters" } { "Drop another" } " or " a href="/surveys" { "answer a survey" } "." }
    })
    .into_response())
}

/// `/surveys/{slug}/matters/comments`: approved comments for staff, with their
/// ward; pending ones too, with approve and reject, for those who moderate.
pub(crate) async fn comments(
    State(state): State<AppState>,
    s: Signed,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let (record, _) = held(&state, &slug).await?;
    let moderates = may_run_surveys(&s.actor);
    let status = if moderates { None } else { Some("approved") };
    let pins = state
        .db
        .pins(
            &record.id,
            status,
            &audit(
                &s.user.id,
                &s.actor.org,
                "view",
                &record.slug,
                "residents' pin comments",
            ),
        )
        .await?;
    let wards = wards_of(&state, pins.iter().map(|p| p.lsoa.as_str())).await?;
    let ward = |p: &PinRecord| {
        wards
            .get(&p.lsoa)
            .map_or("No ward known".to_string(), |w| w.1.clone())
    };
    let body = html! {
        p class="hint" { "Shown with the ward only. Do not copy anything that could identify someone into a report." }
        @if moderates {
            h2 { "Waiting to be checked" }
            ul {
                @for p in pins.iter().filter(|p| p.status == "pending") {
                    li {
                        strong { (p.theme) } ", " (ward(p)) ": " (p.comment)
                        form method="post" action={ "/surveys/" (record.slug) "/matters/" (p.id) } class="inline" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" name="status" value="approved" { "Approve" }
                            " "
                            button type="submit" name="status" value="rejected" { "Reject" }
                        }
                    }
                }
            }
        }
        h2 { "Approved" }
        ul { @for p in pins.iter().filter(|p| p.status == "approved" && !p.comment.is_empty()) { li { strong { (p.theme) } ", " (ward(p)) ": " (p.comment) } } }
    };
    Ok(page(&state, "What matters here: comments", body).into_response())
}

/// `POST /surveys/{slug}/matters/{id}`: approve or reject a pin's comment.
pub(crate) async fn moderate(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Posted(s, form): Posted,
) -> Result<Response, WebError> {
    if !may_run_surveys(&s.actor) {
        security(
            SecurityEvent::Denied,
            &s.user.id,
            &s.actor.org,
            "pin moderation",
        );
        return Err(WebError::Forbidden(
            "only a partnership lead or a system admin moderates residents' comments".into(),
        ));
    }
    let status = form.get("status");
    if status != "approved" && status != "rejected" {
        return Err(WebError::BadRequest("status: approved or rejected".into()));
    }
    let (record, _) = held(&state, &slug).await?;
    if !state
        .db
        .moderate_pin(
            &record.id,
            &id,
            &status,
            &s.user.id,
            now(),
            &audit(&s.user.id, &s.actor.org, "change", &id, &status),
        )
        .await?
    {
        return Err(WebError::NotFound(format!("no pin `{id}` on this survey")));
    }
    Ok(Redirect::to(&format!("/surveys/{slug}/matters/comments")).into_response())
}

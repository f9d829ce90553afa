//! Residents' surveys on the web: the public list and the form anyone may
//! answer (no script; a phone's width; abuse resisted by a per-client throttle,
//! a honeypot field, a signed form token and a cap per device and per connection
//! a day), and the survey team's page — who answered, by channel, ward, age and
//! sex against the population (chi-square), paper and exported responses
//! entered in bulk, and residents' free text, read only by those who run
//! surveys and audited. The estimates themselves are indicators of residents'
//! evidence (`syndemic survey compute`), served with every other indicator.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use rustc_hash::FxHashMap;
use syndemic_access::secret::keyed_hash;
use syndemic_model::{AreaCode, Level};
use syndemic_partnership::access::may_run_surveys;
use syndemic_partnership::layout::{read_responses, Sheet};
use syndemic_partnership::survey::{
    Channel, FieldProblem, Kind, Raw, Survey, AGE_BANDS, ETHNIC_GROUPS, SEXES,
};
use syndemic_partnership::voice::survey_band_shares;
use syndemic_place::geography::parent_chain;
use syndemic_place::{Placer, Unplaced};
use syndemic_stats::survey::representativeness;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::{ResponseRecord, SurveyBatch, SurveyRecord};
use syndemic_voice::{definition, new_response, place_sheet, VoiceError};

use super::layout_error;
use crate::shell::auth::set_cookie;
use crate::shell::table::{Cell, DataTable};
use crate::shell::throttle::{too_many, Client, Route};
use crate::shell::{
    cookie, now, page, random_hex, security, PostedFiles, SecurityEvent, Signed, Upload,
};
use crate::{AppState, WebError};

/// A survey operation's failure at the web's edge: a file's problems are the
/// caller's to fix (422), anything else is ours.
fn voice_error(e: VoiceError) -> WebError {
    match e {
        VoiceError::Rows(rows) => layout_error(rows),
        VoiceError::Place(p) => p.into(),
        VoiceError::Store(s) => s.into(),
        other => WebError::Internal(other.to_string()),
    }
}

/// The device cookie that caps submissions per device and day.
const DEVICE_COOKIE: &str = "syndemic_device";
/// Submissions one device may make to one survey in a day.
pub(crate) const DEVICE_CAP: i64 = 5;
/// Submissions one connection (address) may make to one survey in a day: a
/// library's or a care home's shared connection answers for many residents.
pub(crate) const CLIENT_CAP: i64 = 200;
/// How long a form stays good after it is served.
const FORM_SECONDS: i64 = 24 * 3600;
/// The honeypot: a field people never see or fill; software that fills every
/// field does, and its submission is thanked and dropped.
const HONEYPOT: &str = "website";

/// A survey held, its definition read; 404 for none.
pub(crate) async fn held(state: &AppState, slug: &str) -> Result<(SurveyRecord, Survey), WebError> {
    let record = state
        .db
        .survey_by_slug(slug)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("there is no survey `{slug}`")))?;
    let survey = definition(&record).map_err(voice_error)?;
    Ok((record, survey))
}

/// `/surveys`: the surveys open to answer, and closed ones.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, WebError> {
    let surveys = state.db.surveys().await?;
    let body = html! {
        p { "Tell the partners of " (state.place) " what it is like to live here. Your answers are counted with everyone else's and published only as totals for areas with at least ten answers; nobody is named." }
        @if surveys.is_empty() {
            p { "There is no survey at the moment." }
        }
        ul {
            @for s in &surveys {
                li {
                    a href={ "/surveys/" (s.slug) } { (s.title) }
                    @match &s.open_wave {
                        Some(w) => { " — open (" (w) ")" }
                        None => { " — closed" }
                    }
                }
            }
        }
    };
    Ok(page(&state, "Residents' surveys", body).into_response())
}

/// The signed token a form carries: when it was served, and a MAC over that and
/// the survey, so a submission must come from a form this server gave out.
pub(crate) fn form_token(state: &AppState, slug: &str, issued: i64) -> String {
    let mac = keyed_hash(&state.security.form_key, &format!("survey:{slug}:{issued}"));
    format!("{issued}.{mac}")
}

pub(crate) fn token_good(state: &AppState, slug: &str, token: &str, at: i64) -> bool {
    let Some((issued, _)) = token.split_once('.') else {
        return false;
    };
    let Ok(issued) = issued.parse::<i64>() else {
        return false;
    };
    (0..=FORM_SECONDS).contains(&(at - issued))
        && syndemic_access::secret::same_secret(&form_token(state, slug, issued), token)
}

/// The values a form was given, by field, to show again.
fn raw_of(form: &[(String, String)]) -> Raw {
    let mut raw = Raw::new();
    for (k, v) in form {
        raw.entry(k.clone()).or_default().push(v.clone());
    }
    raw
}

fn chosen(raw: &Raw, key: &str, value: &str) -> bool {
    raw.get(key).is_some_and(|v| v.iter().any(|x| x == value))
}

fn first<'a>(raw: &'a Raw, key: &str) -> &'a str {
    raw.get(key)
        .and_then(|v| v.first())
        .map_or("", String::as_str)
}

/// One question as form fields; `error` shown beside it.
fn question_fields(
    q: &syndemic_partnership::survey::Question,
    raw: &Raw,
    error: Option<&str>,
    slug: &str,
) -> Markup {
    let id = format!("q-{}", q.key);
    let required = if q.required { " (required)" } else { "" };
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } id={ (id) "-field" } {
            @match q.kind {
                Kind::Single | Kind::Likert | Kind::Multiple => {
                    fieldset class="choices" {
                        legend { (q.text) (required) }
                        @if let Some(e) = error { p class="field-error" id={ (id) "-error" } { (e) } }
                        @for (i, option) in q.choices().iter().enumerate() {
                            @let value = (i + 1).to_string();
                            @let input_id = format!("{id}-{}", i + 1);
                            div {
                                @if q.kind == Kind::Multiple {
                                    input type="checkbox" name=(q.key) id=(input_id) value=(option) checked[chosen(raw, &q.key, option)];
                                } @else {
                                    input type="radio" name=(q.key) id=(input_id) value=(value) checked[chosen(raw, &q.key, &value)];
                                }
                                label for=(input_id) { (option) }
                            }
                        }
                    }
                }
                Kind::Number => {
                    label for=(id) { (q.text) (required) }
                    @if let Some(e) = error { p class="field-error" id={ (id) "-error" } { (e) } }
                    input type="text" inputmode="decimal" name=(q.key) id=(id) value=(first(raw, &q.key)) aria-invalid=[error.map(|_| "true")];
                }
                Kind::Text => {
                    label for=(id) { (q.text) (required) }
                    p class="hint" id={ (id) "-hint" } { "Read only by the survey's team, never published. Please do not name anyone." }
                    @if let Some(e) = error { p class="field-error" id={ (id) "-error" } { (e) } }
                    textarea name=(q.key) id=(id) rows="4" maxlength="1000" aria-describedby={ (id) "-hint" } { (first(raw, &q.key)) }
                }
                Kind::Postcode => {
                    label for=(id) { (q.text) (required) }
                    p class="hint" id={ (id) "-hint" } { "Used only to count your answers in your neighbourhood; it is not kept." }
                    @if let Some(e) = error { p class="field-error" id={ (id) "-error" } { (e) } }
                    input type="text" name=(q.key) id=(id) autocomplete="postal-code" size="8" value=(first(raw, &q.key)) aria-describedby={ (id) "-hint" } aria-invalid=[error.map(|_| "true")];
                }
                Kind::Pin => {
                    fieldset {
                        legend { (q.text) (required) }
                        p class="hint" id={ (id) "-hint" } { "Click the place on the map: this sends your answers, so answer the other questions first. Without the map, give your postcode instead. Only the neighbourhood is kept, never the point." }
                        @if let Some(e) = error { p class="field-error" id={ (id) "-error" } { (e) } }
                        input type="image" name=(q.key) id=(id) src={ "/surveys/" (slug) "/matters.svg" } width=(super::matters::MAP_WIDTH) alt={ (q.text) ": a map of the place; click where you mean to send your answers with that place" } aria-describedby={ (id) "-hint" };
                    }
                }
            }
        }
    }
}

/// A demographic question: radios with "prefer not to say".
fn about_you(key: &str, legend: &str, options: &[&str], raw: &Raw, error: Option<&str>) -> Markup {
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } id={ "q-" (key) "-field" } {
            fieldset class="choices" {
                legend { (legend) " (optional)" }
                @if let Some(e) = error { p class="field-error" { (e) } }
                @for (i, option) in options.iter().chain(std::iter::once(&"Prefer not to say")).enumerate() {
                    @let input_id = format!("q-{key}-{}", i + 1);
                    div {
                        input type="radio" name=(key) id=(input_id) value=(option) checked[chosen(raw, key, option)];
                        label for=(input_id) { (option) }
                    }
                }
            }
        }
    }
}

fn form_page(
    state: &AppState,
    record: &SurveyRecord,
    survey: &Survey,
    raw: &Raw,
    problems: &[FieldProblem],
) -> Markup {
    let error = |field: &str| {
        problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    };
    let token = form_token(state, &record.slug, now());
    html! {
        @if !survey.intro.is_empty() { p { (survey.intro) } }
        @if record.open_wave.is_none() {
            p { "This survey is closed. Thank you to everyone who answered." }
        } @else {
            @if !problems.is_empty() {
                div class="error-summary" role="alert" tabindex="-1" id="problems" {
                    h2 { "There is a problem" }
                    ul {
                        @for p in problems {
                            li { a href={ "#q-" (p.field) "-field" } { (p.message) } }
                        }
                    }
                }
            }
            p class="hint" { "Your answers are published only as totals for areas with at least ten answers. Lawful basis: " (survey.lawful_basis) "." }
            form method="post" action={ "/surveys/" (record.slug) } {
                input type="hidden" name="form" value=(token);
                div class="visually-hidden" aria-hidden="true" {
                    label for="website" { "Leave this empty" }
                    input type="text" name=(HONEYPOT) id="website" tabindex="-1" autocomplete="off";
                }
                @for q in &survey.questions {
                    (question_fields(q, raw, error(&q.key), &record.slug))
                }
                h2 { "About you" }
                p class="hint" { "These help us see who has and has not been heard. Answer any, all or none." }
                (about_you("age_band", "Your age", &AGE_BANDS, raw, error("age_band")))
                (about_you("sex", "Your sex", &SEXES, raw, error("sex")))
                (about_you("ethnicity", "Your ethnic group", &ETHNIC_GROUPS, raw, error("ethnicity")))
                h2 { "Hearing back" }
                div class="field choices" {
                    div {
                        input type="checkbox" name="contact_ok" id="contact-ok" value="yes" checked[chosen(raw, "contact_ok", "yes")];
                        label for="contact-ok" { "You may contact me about what happens next" }
                    }
                }
                div class="field" {
                    label for="contact" { "E-mail address or phone number (kept apart from your answers)" }
                    input type="text" name="contact" id="contact" autocomplete="email" maxlength="200" value=(first(raw, "contact"));
                }
                button type="submit" { "Send my answers" }
            }
        }
    }
}

/// `/surveys/{slug}`: the form. Gives the device its cookie if it has none.
pub(crate) async fn form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (record, survey) = held(&state, &slug).await?;
    let mut response = page(
        &state,
        &survey.title,
        form_page(&state, &record, &survey, &Raw::new(), &[]),
    )
    .into_response();
    if cookie(&headers, DEVICE_COOKIE).is_none() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state, DEVICE_COOKIE, &random_hex(16)?, 365 * 24 * 3600),
        );
    }
    Ok(response)
}

fn thanks(state: &AppState, survey: &Survey) -> Response {
    page(
        state,
        "Thank you",
        html! {
            p { "Your answers to " (survey.title) " are counted. When the results are published they appear beside the other evidence about " (state.place) ", area by area." }
            p { a href="/surveys" { "Other surveys" } }
        },
    )
    .into_response()
}

/// `POST /surveys/{slug}`: an anonymous submission.
pub(crate) async fn submit(
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
            &format!("client {}: survey", client.0),
        );
        return Ok(too_many(wait, "answers"));
    }
    let (record, survey) = held(&state, &slug).await?;
    let Some(wave) = record.open_wave.clone() else {
        return Err(WebError::Conflict("this survey is closed".into()));
    };
    let form = crate::shell::Form::parse(&body);
    if !form.get(HONEYPOT).is_empty() {
        security(
            SecurityEvent::Abuse,
            "-",
            "-",
            &format!("client {}: survey honeypot filled", client.0),
        );
        return Ok(thanks(&state, &survey));
    }
    let mut raw = raw_of(&form.0);
    // A click on a pin question's map: its coordinates turned back into the
    // point, as "what matters here" does.
    for q in survey.questions.iter().filter(|q| q.kind == Kind::Pin) {
        let clicked = (
            form.get(&format!("{}.x", q.key)).parse::<f64>(),
            form.get(&format!("{}.y", q.key)).parse::<f64>(),
        );
        if let (Ok(x), Ok(y)) = clicked {
            let place = crate::parse_code(&record.place)?;
            if let (_, Some(f)) = super::matters::area_outlines(&state, place).await? {
                let (lat, lon) = f.to_point(
                    x.clamp(0.0, super::matters::MAP_WIDTH),
                    y.clamp(0.0, f.height),
                );
                raw.insert(q.key.clone(), vec![format!("{lat:.6}, {lon:.6}")]);
            }
        }
    }
    if !token_good(&state, &slug, &form.get("form"), at) {
        let problem = FieldProblem {
            field: "form".into(),
            message: "This form had expired: your answers are kept below; send them again.".into(),
        };
        let body = form_page(&state, &record, &survey, &raw, &[problem]);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, &survey.title, body),
        )
            .into_response());
    }
    let answer = match survey.read(&raw) {
        Ok(a) => a,
        Err(problems) => {
            let body = form_page(&state, &record, &survey, &raw, &problems);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &survey.title, body),
            )
                .into_response());
        }
    };
    let place = AreaCode::parse(&record.place).map_err(|e| WebError::Internal(e.to_string()))?;
    let placer = Placer::new(state.db.as_ref(), place, &state.place).await?;
    let lsoa = match placer.place(state.db.as_ref(), &answer.location).await? {
        Ok(l) => l,
        Err(why) => {
            let problem = FieldProblem {
                field: survey.location_field(&answer.location).to_string(),
                message: match why {
                    Unplaced::Outside { .. } => format!(
                        "That postcode is outside {}: this survey is for people who live here.",
                        state.place
                    ),
                    other => other.to_string(),
                },
            };
            let body = form_page(&state, &record, &survey, &raw, &[problem]);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &survey.title, body),
            )
                .into_response());
        }
    };
    // The day's caps: per device (its cookie) and per connection, keyed so the
    // store never holds an address or a cookie.
    let key = state.pseudonym_key().await?;
    let day = at.div_euclid(86_400);
    let device = cookie(&headers, DEVICE_COOKIE).unwrap_or_else(|| format!("none:{}", client.0));
    for (who, cap) in [
        (format!("device:{device}"), DEVICE_CAP),
        (format!("client:{}", client.0), CLIENT_CAP),
    ] {
        if !state
            .db
            .take_quota(&record.id, &keyed_hash(&key, &who), day, cap)
            .await?
        {
            security(
                SecurityEvent::Abuse,
                "-",
                "-",
                &format!("client {}: survey daily cap", client.0),
            );
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                page(&state, "Already answered today", html! {
                    p { "This device or connection has sent as many answers to this survey as it may today. If you are helping several people answer, the survey's team can enter paper forms for them." }
                }),
            )
                .into_response());
        }
    }
    let contact = (form.get("contact_ok") == "yes")
        .then(|| form.get("contact").chars().take(200).collect::<String>())
        .filter(|c| !c.trim().is_empty());
    let response = new_response(&answer, lsoa, &wave, Channel::Online, at).map_err(voice_error)?;
    let batch = SurveyBatch {
        id: format!("form-{}", random_hex(10)?),
        survey_id: record.id.clone(),
        kind: "form".into(),
        entered_by: None,
        at,
    };
    state
        .db
        .add_responses(
            &batch,
            &[response],
            contact.as_slice(),
            &audit(
                "anonymous",
                "",
                "create",
                &record.slug,
                "a response by the online form".into(),
            ),
        )
        .await?;
    Ok(thanks(&state, &survey))
}

fn audit(actor: &str, org: &str, action: &str, record: &str, reason: String) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: actor.into(),
        org: org.into(),
        action: action.into(),
        subject: "survey".into(),
        record: record.into(),
        reason,
    }
}

/// Each small area's ward (code, name), through the stored lookups.
pub(crate) async fn wards_of(
    state: &AppState,
    lsoas: impl Iterator<Item = &str>,
) -> Result<FxHashMap<String, (String, String)>, WebError> {
    let mut out = FxHashMap::default();
    for l in lsoas {
        if out.contains_key(l) {
            continue;
        }
        let Ok(code) = AreaCode::parse(l) else {
            continue;
        };
        let ward = parent_chain(state.db.as_ref(), code)
            .await?
            .into_iter()
            .find(|p| p.link.level == Level::Ward)
            .map(|p| {
                (
                    p.link.parent.to_string(),
                    p.name.unwrap_or_else(|| p.link.parent.to_string()),
                )
            })
            .unwrap_or_else(|| ("-".into(), "No ward known".into()));
        out.insert(l.to_string(), ward);
    }
    Ok(out)
}

/// One representativeness table: categories, respondents, population.
fn represent_table(caption: &str, rows: &[(String, f64, f64)]) -> Markup {
    let observed: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let population: Vec<f64> = rows.iter().map(|r| r.2).collect();
    match representativeness(&observed, &population) {
        Ok(r) => {
            let mut t = DataTable::new(
                caption,
                &[
                    "Group",
                    "Respondents",
                    "Share of respondents %",
                    "Share of residents %",
                    "Representation (1 = in proportion)",
                    "Over or under",
                ],
            );
            for (row, c) in rows.iter().zip(&r.categories) {
                let verdict = if c.adjusted_residual > 1.96 {
                    "Over-represented"
                } else if c.adjusted_residual < -1.96 {
                    "Under-represented"
                } else {
                    "In proportion"
                };
                t.push(vec![
                    Cell::text(row.0.clone()),
                    Cell::Number(Some(c.respondents)),
                    Cell::Number(Some(c.sample_share * 100.0)),
                    Cell::Number(Some(c.population_share * 100.0)),
                    Cell::Number(Some((c.ratio * 100.0).round() / 100.0)),
                    Cell::text(verdict),
                ]);
            }
            html! {
                (t.html(None))
                p class="hint" {
                    "Chi-square goodness of fit: χ² = " (format!("{:.1}", r.chi_square)) " on " (r.degrees_of_freedom) " degrees of freedom, p " (if r.p_value < 0.001 { "< 0.001".to_string() } else { format!("= {:.3}", r.p_value) })
                    @if !r.approximation_holds { " (few respondents expected in some groups: read the test with care)" }
                    "."
                }
            }
        }
        Err(e) => html! { p { (caption) ": " (e.to_string()) } },
    }
}

/// `/surveys/{slug}/manage`: who answered, against who lives here; entering
/// paper and imported responses; the way to residents' free text.
pub(crate) async fn manage(
    State(state): State<AppState>,
    s: Signed,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let (record, survey) = held(&state, &slug).await?;
    let responses = state.db.responses(&record.id).await?;
    let batches = state.db.batches(&record.id).await?;
    let place = AreaCode::parse(&record.place).map_err(|e| WebError::Internal(e.to_string()))?;
    let lsoas: Vec<String> = syndemic_place::small_areas_within(state.db.as_ref(), place)
        .await?
        .iter()
        .map(|c| c.to_string())
        .collect();
    let wards = wards_of(&state, lsoas.iter().map(String::as_str)).await?;
    let runs = may_run_surveys(&s.actor);
    // By wave and channel.
    let mut by_channel: BTreeMap<(String, &str), usize> = BTreeMap::new();
    let mut by_ward: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
    for r in &responses {
        let channel = Channel::ALL
            .iter()
            .find(|c| c.code() == r.channel)
            .map_or("Other", |c| c.label());
        *by_channel.entry((r.wave.clone(), channel)).or_default() += 1;
        let ward = wards
            .get(&r.lsoa)
            .cloned()
            .unwrap_or_else(|| ("-".into(), "No ward known".into()));
        *by_ward
            .entry(ward)
            .or_default()
            .entry(r.channel.clone())
            .or_default() += 1;
    }
    let mut channels = DataTable::new(
        "Responses by wave and channel",
        &["Wave", "Channel", "Responses"],
    );
    for ((wave, channel), n) in &by_channel {
        channels.push(vec![
            Cell::text(wave.clone()),
            Cell::text(*channel),
            Cell::Number(Some(*n as f64)),
        ]);
    }
    let mut columns = vec!["Ward"];
    columns.extend(Channel::ALL.iter().map(|c| c.label()));
    columns.push("All");
    let mut ward_table = DataTable::new("Responses by ward and channel", &columns);
    for ((code, name), counts) in &by_ward {
        let mut row = vec![if code == "-" {
            Cell::text(name.clone())
        } else {
            Cell::Link {
                text: name.clone(),
                href: format!("/areas/{code}"),
            }
        }];
        row.extend(
            Channel::ALL
                .iter()
                .map(|c| Cell::Number(Some(*counts.get(c.code()).unwrap_or(&0) as f64))),
        );
        row.push(Cell::Number(Some(counts.values().sum::<usize>() as f64)));
        ward_table.push(row);
    }
    let represent = representativeness_section(&state, place, &responses, &wards).await?;
    let body = html! {
        p { (responses.len()) " responses in " (batches.len()) " batches. " a href={ "/surveys/" (record.slug) } { "The form" } "." }
        (channels.html(None))
        (ward_table.html(None))
        h2 { "Who answered, against who lives here" }
        (represent)
        @if runs {
            h2 { "Enter paper forms or import responses" }
            p { "A CSV or Excel file, one row per response: a column per question (its key or its words), and the postcode, LSOA code, or latitude and longitude. Names and e-mail addresses in the file are not kept. Every row is checked: if any is wrong, nothing is imported and every problem is listed by line and column." }
            form method="post" action={ "/surveys/" (record.slug) "/responses" } enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="channel" { "How these responses were collected" }
                select name="channel" id="channel" {
                    @for c in Channel::ALL {
                        option value=(c.code()) selected[c == Channel::Paper] { (c.label()) }
                    }
                }
                label for="file" { "File" }
                input type="file" name="file" id="file" accept=".csv,.xlsx";
                button type="submit" { "Import" }
            }
            p { a href={ "/surveys/" (record.slug) "/comments" } { "Residents' free text" } " (each reading is recorded)" }
        }
    };
    Ok(page(&state, &format!("{}: who answered", survey.title), body).into_response())
}

/// Respondents against residents, as tables of (group, respondents, residents):
/// by age band and sex, and by ward where `wards` is given. Residents are those
/// aged 16 and over of the place's small areas (`lsoas`), in the server's
/// population source's latest period; respondents those who gave their age or
/// sex. `None` without a population source.
pub(crate) async fn represented(
    state: &AppState,
    place: AreaCode,
    responses: &[ResponseRecord],
    lsoas: &rustc_hash::FxHashSet<String>,
    wards: Option<&FxHashMap<String, (String, String)>>,
) -> Result<Option<(String, Vec<(&'static str, Vec<(String, f64, f64)>)>)>, WebError> {
    let Some(source) = state.population.as_deref() else {
        return Ok(None);
    };
    let rows = state.db.populations(source).await?;
    let latest = rows.iter().map(|p| p.period.sort_key()).max();
    let mut age = [0.0f64; 7];
    let mut sex = [0.0f64; 2];
    let mut ward_people: BTreeMap<String, f64> = BTreeMap::new();
    let mut adults_of: FxHashMap<&str, f64> = FxHashMap::default();
    for p in rows
        .iter()
        .filter(|p| Some(p.period.sort_key()) == latest && lsoas.contains(p.area.as_str()))
    {
        let Some(shares) = survey_band_shares(&p.age) else {
            continue;
        };
        let adults: f64 = shares.iter().sum::<f64>() * p.population;
        if p.sex == "Female" || p.sex == "Male" {
            for (slot, share) in age.iter_mut().zip(shares) {
                *slot += share * p.population;
            }
            sex[usize::from(p.sex == "Male")] += adults;
            *adults_of.entry(p.area.as_str()).or_default() += adults;
            if let Some((_, name)) = wards.and_then(|w| w.get(p.area.as_str())) {
                *ward_people.entry(name.clone()).or_default() += adults;
            }
        }
    }
    let count =
        |f: &dyn Fn(&ResponseRecord) -> bool| responses.iter().filter(|r| f(r)).count() as f64;
    let mut tables = vec![
        (
            "Age",
            AGE_BANDS
                .iter()
                .zip(age)
                .map(|(b, pop)| {
                    (
                        b.to_string(),
                        count(&|r| r.age_band.as_deref() == Some(b)),
                        pop,
                    )
                })
                .collect(),
        ),
        (
            "Sex",
            SEXES
                .iter()
                .zip(sex)
                .map(|(s, pop)| (s.to_string(), count(&|r| r.sex.as_deref() == Some(s)), pop))
                .collect(),
        ),
    ];
    // Local deprivation fifths of the place (1 = most deprived), by the IoD
    // edition that ranks most of its small areas.
    if let Some((_, ranked)) =
        syndemic_place::edition::ranked_within(state.db.as_ref(), place).await?
    {
        let ranks: Vec<f64> = ranked.iter().map(|d| d.rank as f64).collect();
        let fifths =
            syndemic_stats::deprivation::local_quantiles(&vec![0; ranks.len()], 1, &ranks, 5)
                .map_err(|e| WebError::Internal(e.to_string()))?;
        let fifth_of: FxHashMap<String, u32> = ranked
            .iter()
            .zip(fifths)
            .filter_map(|(d, q)| Some((d.area.to_string(), q?)))
            .collect();
        let rows: Vec<(String, f64, f64)> = (1..=5u32)
            .map(|k| {
                let label = match k {
                    1 => "1 (most deprived)".to_string(),
                    5 => "5 (least deprived)".to_string(),
                    k => k.to_string(),
                };
                let residents: f64 = adults_of
                    .iter()
                    .filter(|(l, _)| fifth_of.get(**l) == Some(&k))
                    .map(|(_, n)| n)
                    .sum();
                (
                    label,
                    count(&|r| fifth_of.get(&r.lsoa) == Some(&k)),
                    residents,
                )
            })
            .collect();
        tables.push(("Local deprivation fifth", rows));
    }
    if let Some(wards) = wards {
        tables.push((
            "Ward",
            ward_people
                .iter()
                .map(|(name, pop)| {
                    (
                        name.clone(),
                        count(&|r| wards.get(&r.lsoa).is_some_and(|w| &w.1 == name)),
                        *pop,
                    )
                })
                .collect(),
        ));
    }
    Ok(Some((source.to_string(), tables)))
}

/// The tables of [`represented`] as HTML, each with its chi-square test.
async fn representativeness_section(
    state: &AppState,
    place: AreaCode,
    responses: &[ResponseRecord],
    wards: &FxHashMap<String, (String, String)>,
) -> Result<Markup, WebError> {
    let lsoas = wards.keys().cloned().collect();
    let Some((source, tables)) = represented(state, place, responses, &lsoas, Some(wards)).await?
    else {
        return Ok(
            html! { p { "No population source is configured (--population), so respondents cannot be compared with residents." } },
        );
    };
    Ok(html! {
        p class="hint" { "Residents aged 16 and over of the place's small areas (" (source) ", latest year); respondents who gave their age or sex; deprivation fifths are the place's own (its small areas ranked by the Index of Multiple Deprivation, 1 the most deprived). A representation of 1 means a group answered in proportion to its share of residents; over or under is judged at 95 % (Haberman's adjusted residual beyond ±1.96)." }
        @for (caption, rows) in &tables {
            (represent_table(caption, rows))
        }
    })
}

/// `POST /surveys/{slug}/responses`: paper forms or another tool's export, all or nothing.
pub(crate) async fn import(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    PostedFiles(s, form, files): PostedFiles,
) -> Result<Response, WebError> {
    if !may_run_surveys(&s.actor) {
        return Err(WebError::Forbidden(
            "only a partnership lead or a system admin enters a survey's responses".into(),
        ));
    }
    let (record, survey) = held(&state, &slug).await?;
    let Some(wave) = record.open_wave.clone() else {
        return Err(WebError::Conflict(
            "this survey is closed: reopen it to add responses".into(),
        ));
    };
    let channel = Channel::parse(&form.get("channel")).unwrap_or(Channel::Paper);
    let file = Upload::one(&files, "file")?;
    let sheet = Sheet::read(&file.file_name, &file.bytes).map_err(layout_error)?;
    let read = read_responses(&sheet, &survey, channel).map_err(layout_error)?;
    let place = AreaCode::parse(&record.place).map_err(|e| WebError::Internal(e.to_string()))?;
    let placer = Placer::new(state.db.as_ref(), place, &state.place).await?;
    let at = now();
    let responses = place_sheet(
        state.db.as_ref(),
        &placer,
        &survey,
        &read,
        &file.file_name,
        &wave,
        at,
    )
    .await
    .map_err(voice_error)?;
    let batch = SurveyBatch {
        id: format!("batch-{}", random_hex(10)?),
        survey_id: record.id.clone(),
        kind: if channel == Channel::Paper {
            "paper".into()
        } else {
            "import".into()
        },
        entered_by: Some(s.user.id.clone()),
        at,
    };
    state
        .db
        .add_responses(
            &batch,
            &responses,
            &[],
            &audit(
                &s.user.id,
                &s.actor.org,
                "import",
                &record.slug,
                format!(
                    "{} {} responses from {}",
                    responses.len(),
                    channel.code(),
                    file.file_name
                ),
            ),
        )
        .await?;
    let body = html! {
        p { (responses.len()) " responses (" (channel.label()) ") added to " (survey.title) ", wave " (wave) "." }
        @if !read.ignored.is_empty() { p { "Columns not kept: " (read.ignored.join(", ")) "." } }
        p { a href={ "/surveys/" (record.slug) "/manage" } { "Who answered" } }
    };
    Ok(page(&state, "Imported", body).into_response())
}

/// `/surveys/{slug}/comments`: residents' free text, for those who run surveys;
/// every reading is audited (in the same transaction as the read).
pub(crate) async fn comments(
    State(state): State<AppState>,
    s: Signed,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    if !may_run_surveys(&s.actor) {
        security(
            SecurityEvent::Denied,
            &s.user.id,
            &s.actor.org,
            "survey free text",
        );
        return Err(WebError::Forbidden(
            "only a partnership lead or a system admin reads residents' free text".into(),
        ));
    }
    let (record, survey) = held(&state, &slug).await?;
    let texts = state
        .db
        .texts(
            &record.id,
            &audit(
                &s.user.id,
                &s.actor.org,
                "view",
                &record.slug,
                "residents' free text".into(),
            ),
        )
        .await?;
    let wards = wards_of(&state, texts.iter().map(|t| t.lsoa.as_str())).await?;
    let mut table = DataTable::new(
        "Residents' free text",
        &["Wave", "Ward", "Question", "Text"],
    );
    for t in &texts {
        let question = survey
            .question(&t.question)
            .map_or(t.question.clone(), |q| q.text.clone());
        let ward = wards
            .get(&t.lsoa)
            .map_or("No ward known".to_string(), |w| w.1.clone());
        table.push(vec![
            Cell::text(t.wave.clone()),
            Cell::text(ward),
            Cell::text(question),
            Cell::text(t.body.clone()),
        ]);
    }
    let body = html! {
        p class="hint" { "Shown with the ward only: never a street, a postcode or a small area. Do not copy anything here that could identify someone into a report." }
        (table.html(None))
    };
    Ok(page(&state, &format!("{}: free text", survey.title), body).into_response())
}

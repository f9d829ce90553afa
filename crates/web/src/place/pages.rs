//! The HTML pages, rendered with maud: every page works without script, has one
//! `main` landmark, a skip link, labelled forms, and a table beside each chart.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use syndemic_model::{AreaCode, AreaType};
use syndemic_stats::compare::Comparison;
use syndemic_store::{Indicator, Observation};

use super::picker;
use crate::shell::page;
use crate::shell::svg::{self, fmt};
use crate::shell::table::{Cell, DataTable, Download};
use crate::{parse_code, AppState, WebError};
use syndemic_place::edition::Edition;

/// The Marmot policy objectives indicators are grouped under, in order.
const DOMAINS: [(&str, &str); 7] = [
    ("early_years", "Give every child the best start in life"),
    (
        "education",
        "Enable all children, young people and adults to maximise their capabilities",
    ),
    ("work", "Create fair employment and good work for all"),
    ("income", "Ensure a healthy standard of living for all"),
    (
        "healthy_places",
        "Create and develop healthy and sustainable places and communities",
    ),
    (
        "prevention",
        "Strengthen the role and impact of ill health prevention",
    ),
    ("other", "Other indicators"),
];

fn search_form() -> Markup {
    search_form_with("")
}

fn search_form_with(typed: &str) -> Markup {
    html! {
        form method="get" action="/search" role="search" {
            label for="q" { "Find an area by name, postcode or code" }
            input id="q" name="q" type="search" required minlength="2" autocomplete="off" value=(typed);
            button type="submit" { "Search" }
        }
    }
}

fn area_link(code: AreaCode, name: &Option<String>) -> Markup {
    html! { a href=(format!("/areas/{code}")) { (name.as_deref().unwrap_or(code.as_str())) } " " span class="code" { (code.as_str()) } }
}

/// The home page, kept like the profile (`AppState::cached_page`).
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    state
        .cached_page("home".into(), &headers, render_home(&state))
        .await
}

async fn render_home(state: &AppState) -> Result<Html<String>, WebError> {
    let state = state.clone();
    let store = state.db.as_ref();
    let mut top = Vec::new();
    for t in [
        AreaType::County,
        AreaType::UnitaryAuthority,
        AreaType::MetropolitanDistrict,
        AreaType::LondonBorough,
        AreaType::NonMetropolitanDistrict,
    ] {
        top.extend(store.areas_of_type(t).await?);
    }
    let indicators = store.indicators().await?;
    let title = format!("{} at a glance", state.place);
    Ok(page(
        &state,
        &title,
        html! {
            p class="lead" { "Where health is worse, for whom, and whether the gap is closing: every indicator for every neighbourhood, compared with England and with the most and least deprived." }
            (search_form())
            h2 { "Areas" }
            @if top.is_empty() { p { "The store holds no areas yet: import lookups with " code { "syndemic import lookups" } "." } }
            ul class="columns" { @for a in &top { li { (area_link(a.code, &a.name)) } } }
            h2 { "Indicators" }
            ul class="columns" { @for i in indicators.iter().filter(|i| !i.id.contains('.')) { li { a href=(format!("/indicators/{}", i.id)) { (i.name) } } } }
            h2 { "Find what averages hide" }
            p { a href="/hidden" { "Small areas far more deprived than their neighbours" } }
            h2 { "Residents' voices" }
            ul {
                li { a href="/surveys" { "Residents' surveys" } ": say what it is like to live here" }
                li { a href="/community-places" { "Community places" } ": places as their communities define them" }
                li { a href="/community-assets" { "Community assets" } ": groups, halls, green spaces and businesses that help" }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    page: Option<String>,
}

/// An area's code and name.
type Named = (AreaCode, Option<String>);

/// Areas a search page lists.
const SEARCH_PER_PAGE: usize = 25;

/// `/search`: areas whose name or code matches, every level (wards and small
/// areas too), in pages; a postcode's own areas; and, for an area named exactly,
/// the districts and wards within it.
pub async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let text = query.q.unwrap_or_default();
    let text = text.trim();
    let refuse = |message: &str| {
        html! {
            div class="error-summary" role="alert" tabindex="-1" id="errors" {
                h2 { "There is a problem" }
                p { a href="#q" { (message) } }
            }
            (search_form_with(text))
        }
    };
    if text.chars().count() < 2 || text.chars().count() > 100 {
        let body = refuse(
            "Search for at least two characters (and at most 100) of a name, a postcode or a code",
        );
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, "Find an area", body),
        )
            .into_response());
    }
    let page_number = match picker::number_in(&query.page, 1usize, 1..=10_000, "The page") {
        Ok(p) => p,
        Err(e) => return Err(WebError::BadRequest(e)),
    };
    let store = state.db.as_ref();
    // A postcode: the small area it lies in and the areas above it.
    let mut postcode_areas: Vec<Named> = Vec::new();
    let postcode = syndemic_model::normalise_postcode(text);
    if let Some(pc) = &postcode {
        if let Some(found) = store.postcode(pc).await? {
            if let Some(lsoa) = found.lsoa21.or(found.lsoa11) {
                let name = store.area(lsoa).await?.and_then(|a| a.area.name);
                postcode_areas.push((lsoa, name));
                for p in store.parents(lsoa).await? {
                    if !postcode_areas.iter().any(|(c, _)| *c == p.link.parent) {
                        postcode_areas.push((p.link.parent, p.name));
                    }
                }
            }
        }
    }
    let found = store.search_areas(text, 2_000).await?;
    let rows = page_rows(found.len(), page_number, SEARCH_PER_PAGE)?;
    let pages = found.len().div_ceil(SEARCH_PER_PAGE).max(1);
    // An area named exactly: what lies within it, level by level.
    let mut within: Vec<(String, AreaType, Vec<Named>)> = Vec::new();
    if page_number == 1 {
        if let Some(a) = found.iter().find(|a| {
            a.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(text))
                && !matches!(a.code.area_type(), AreaType::Lsoa | AreaType::Msoa)
        }) {
            let below: rustc_hash::FxHashSet<AreaCode> =
                store.descendants(a.code).await?.into_iter().collect();
            for t in [
                AreaType::NonMetropolitanDistrict,
                AreaType::MetropolitanDistrict,
                AreaType::UnitaryAuthority,
                AreaType::LondonBorough,
                AreaType::Ward,
            ] {
                if !below.iter().any(|c| c.area_type() == t) {
                    continue;
                }
                let mut list: Vec<Named> = store
                    .areas_of_type(t)
                    .await?
                    .into_iter()
                    .filter(|x| below.contains(&x.code))
                    .map(|x| (x.code, x.name))
                    .collect();
                list.sort_by(|x, y| x.1.cmp(&y.1));
                within.push((a.name.clone().unwrap_or_default(), t, list));
            }
        }
    }
    let nothing = found.is_empty() && postcode_areas.is_empty();
    Ok(page(
        &state,
        &format!("Areas matching “{text}”"),
        html! {
            (search_form_with(text))
            @if !postcode_areas.is_empty() {
                h2 { "Postcode " (postcode.as_deref().unwrap_or_default()) }
                ul { @for (code, name) in &postcode_areas { li { (area_link(*code, name)) " — " (code.area_type().label()) } } }
            } @else if let Some(pc) = &postcode {
                @if found.is_empty() { p { "The postcode " (pc) " is not in the postcode directory this place holds." } }
            }
            @if nothing {
                p { "No area's name or code matches. Try part of a name, a postcode such as TS1 1AA, or a code such as E01006074." }
            } @else if !found.is_empty() {
                h2 { "Areas by name or code" }
                p { "Showing " (rows.start + 1) "–" (rows.end) " of " (found.len()) " areas" @if found.len() == 2_000 { " (the first 2,000: narrow the search)" } "." }
                ul { @for a in &found[rows.clone()] { li { (area_link(a.code, &a.name)) " — " (a.code.area_type().label()) } } }
                @if pages > 1 {
                    nav aria-label="Pages of areas" class="pages" {
                        @if page_number > 1 { a href=(format!("/search?q={}&page={}", query_text(text), page_number - 1)) rel="prev" { "Previous page" } " " }
                        "Page " (page_number) " of " (pages)
                        @if page_number < pages { " " a href=(format!("/search?q={}&page={}", query_text(text), page_number + 1)) rel="next" { "Next page" } }
                    }
                }
            }
            @for (parent, t, list) in &within {
                h2 { (t.label()) "s in " (parent) " (" (list.len()) ")" }
                ul class="columns" { @for (code, name) in list { li { (area_link(*code, name)) } } }
            }
        },
    )
    .into_response())
}

/// Text as a URL query value.
fn query_text(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Fingertips-style comparison colours, each with a dark or light text colour that
/// reads on it, and always written out in words beside.
pub(crate) fn comparison_colour(comparison: Option<&str>) -> (&'static str, &'static str) {
    match comparison.and_then(Comparison::from_wording) {
        Some(Comparison::Better) => ("#92d050", "#000000"),
        Some(Comparison::Worse) => ("#c00000", "#ffffff"),
        Some(Comparison::Similar) => ("#ffc000", "#000000"),
        Some(Comparison::Higher) => ("#bed2ff", "#000000"),
        Some(Comparison::Lower) => ("#5555e6", "#ffffff"),
        Some(Comparison::NotCompared) | None => ("#ffffff", "#000000"),
    }
}

fn trend_arrow(trend: Option<&str>) -> &'static str {
    match trend {
        Some(t) if t.starts_with("Increasing") => "↑",
        Some(t) if t.starts_with("Decreasing") => "↓",
        Some("No significant change") => "→",
        _ => "",
    }
}

pub(crate) fn latest_total<'a>(
    rows: impl Iterator<Item = &'a Observation>,
) -> Option<&'a Observation> {
    latest_of_sex(rows, "Persons")
}

/// The latest whole-area value of one sex.
pub(crate) fn latest_of_sex<'a>(
    rows: impl Iterator<Item = &'a Observation>,
    sex: &str,
) -> Option<&'a Observation> {
    rows.filter(|o| o.category.is_empty() && o.sex == sex)
        .max_by_key(|o| o.period.sort_key())
}

/// The sexes an area's values of one indicator are shown for: Persons where there
/// is a value for Persons, otherwise each sex it has (life expectancy is published
/// for males and females only).
pub(crate) fn sexes_shown<'a>(rows: impl Iterator<Item = &'a Observation>) -> Vec<String> {
    let mut sexes: Vec<String> = Vec::new();
    for o in rows.filter(|o| o.category.is_empty()) {
        if o.sex == "Persons" {
            return vec!["Persons".into()];
        }
        if !sexes.contains(&o.sex) {
            sexes.push(o.sex.clone());
        }
    }
    sexes.sort();
    sexes
}

#[derive(Deserialize)]
pub struct ProfileQuery {
    /// The IoD edition to count the small areas by (`IoD2019`, `IoD2025`); the
    /// default is `syndemic_place::edition`'s one rule.
    edition: Option<String>,
}

impl ProfileQuery {
    fn edition(&self) -> Result<Option<Edition>, WebError> {
        self.edition
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(|e| {
                Edition::from_code(e).ok_or_else(|| {
                    WebError::BadRequest(format!("edition={e}: give IoD2019 or IoD2025"))
                })
            })
            .transpose()
    }
}

pub async fn profile(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<ProfileQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let code = parse_code(&code)?;
    let edition = query.edition()?;
    state
        .cached_page(
            format!("profile {code} {edition:?}"),
            &headers,
            render_profile(&state, code, edition),
        )
        .await
}

/// What an area's profile shows, read once for the page and its downloads.
struct Profile {
    name: String,
    parents: Vec<syndemic_store::ParentInfo>,
    children: Vec<(AreaCode, Option<String>)>,
    deprivation: Vec<syndemic_store::Deprivation>,
    /// Per indicator: its latest value here, England's, and the peers' values.
    rows: Vec<(Indicator, Observation, Option<f64>, Vec<f64>)>,
    /// Small areas by national IMD decile (index 1–10).
    by_decile: [usize; 11],
    /// The IoD edition the deciles are of (`syndemic_place::edition`'s one rule,
    /// or the one asked for), and every edition that ranks any of the small areas.
    edition: Option<Edition>,
    editions: Vec<Edition>,
    /// A community-defined place's own record.
    community: Option<syndemic_store::partnership::CommunityPlaceRecord>,
}

impl Profile {
    async fn load(
        state: &AppState,
        code: AreaCode,
        asked: Option<Edition>,
    ) -> Result<Profile, WebError> {
        let store = state.db.as_ref();
        let Some(info) = store.area(code).await? else {
            return Err(WebError::NotFound(format!(
                "{code} is not in the store: search for an area from the home page"
            )));
        };
        let name = info.area.name.clone().unwrap_or_else(|| code.to_string());
        let parents = store.parents(code).await?;
        let mut children: Vec<(AreaCode, Option<String>)> = Vec::new();
        // A community place's children are its small areas.
        let below: Vec<AreaCode> = if code.area_type() == AreaType::Community {
            store.descendants(code).await?
        } else {
            store
                .children(code, None)
                .await?
                .into_iter()
                .map(|l| l.child)
                .collect()
        };
        for child in below {
            if !children.iter().any(|(c, _)| *c == child) {
                let info = store.area(child).await?;
                children.push((child, info.and_then(|c| c.area.name)));
            }
        }
        children.sort_by(|a, b| a.1.cmp(&b.1));
        let deprivation = store.deprivation(code).await?;
        let indicators = store.indicators().await?;
        // The area's latest value, England's, and the peers' spread, per indicator.
        let mut rows: Vec<(Indicator, Observation, Option<f64>, Vec<f64>)> = Vec::new();
        // A community place's peers are the wards, areas of its size.
        let peer_type = match code.area_type() {
            AreaType::Community => AreaType::Ward,
            other => other,
        };
        for indicator in indicators.into_iter().filter(|i| !i.id.contains('.')) {
            let all = state.observations_for_area(&indicator.id, code).await?;
            // A row per sex where the indicator has no Persons value here.
            for sex in sexes_shown(all.iter().filter(|x| x.area == code)) {
                let Some(o) = latest_of_sex(all.iter().filter(|x| x.area == code), &sex) else {
                    continue;
                };
                // England in the same period (never a later year's value).
                let england = all
                    .iter()
                    .find(|x| {
                        x.area.as_str() == "E92000001"
                            && x.period == o.period
                            && x.sex == sex
                            && x.category.is_empty()
                    })
                    .and_then(|x| x.value);
                let peers: Vec<f64> = all
                    .iter()
                    .filter(|x| {
                        x.area.area_type() == peer_type
                            && x.period == o.period
                            && x.sex == sex
                            && x.category.is_empty()
                    })
                    .filter_map(|x| x.value)
                    .collect();
                let mut shown = indicator.clone();
                if sex != "Persons" {
                    shown.name = format!("{} ({sex})", indicator.name);
                }
                rows.push((shown, o.clone(), england, peers));
            }
        }
        let mut by_decile = [0usize; 11];
        let mut edition = None;
        let mut editions = Vec::new();
        if code.area_type() != AreaType::Lsoa {
            let (ranked, offered) =
                syndemic_place::edition::ranked_within_as(store, code, asked).await?;
            editions = offered;
            if let Some((e, rows)) = ranked {
                edition = Some(e);
                for d in &rows {
                    by_decile[d.decile.clamp(1, 10) as usize] += 1;
                }
            }
        }
        let community = if code.area_type() == AreaType::Community {
            store
                .community_places()
                .await?
                .into_iter()
                .find(|p| p.code == code)
        } else {
            None
        };
        Ok(Profile {
            name,
            parents,
            children,
            deprivation,
            rows,
            by_decile,
            edition,
            editions,
            community,
        })
    }

    fn indicators_table(&self) -> DataTable {
        let mut t = DataTable::new(
            format!("Indicators for {}", self.name),
            &[
                "Indicator",
                "Policy objective",
                "Period",
                "Value",
                "95 % limits",
                "Count",
                "England",
                "Compared with England",
                "Compared with parent area",
                "Recent trend",
            ],
        );
        for (indicator, o, england, _) in &self.rows {
            let domain = indicator.domain.as_deref().unwrap_or("other");
            let heading = DOMAINS
                .iter()
                .find(|d| d.0 == domain)
                .map_or(DOMAINS[6].1, |d| d.1);
            t.push(vec![
                Cell::text(indicator.name.clone()),
                Cell::text(heading),
                Cell::text(o.period.to_string()),
                Cell::Number(o.value),
                Cell::Range(o.lower95, o.upper95),
                Cell::Number(o.count),
                Cell::Number(*england),
                Cell::text(
                    o.compared_to_england
                        .clone()
                        .unwrap_or_else(|| "Not compared".into()),
                ),
                Cell::text(
                    o.compared_to_parent
                        .clone()
                        .unwrap_or_else(|| "Not compared".into()),
                ),
                Cell::text(o.recent_trend.clone().unwrap_or_default()),
            ]);
        }
        t
    }

    fn deciles_table(&self) -> DataTable {
        let mut t = DataTable::new(
            "Small areas by national deprivation decile (1 = most deprived)",
            &["Decile", "Small areas"],
        );
        for d in 1..=10 {
            t.push(vec![
                Cell::Number(Some(d as f64)),
                Cell::Number(Some(self.by_decile[d] as f64)),
            ]);
        }
        t
    }
}

async fn render_profile(
    state: &AppState,
    code: AreaCode,
    asked: Option<Edition>,
) -> Result<Html<String>, WebError> {
    let Profile {
        name,
        parents,
        children,
        deprivation,
        rows,
        by_decile,
        edition,
        editions,
        community,
    } = Profile::load(state, code, asked).await?;
    let downloads = |name: &str| Download {
        path: format!("/areas/{code}/{name}"),
        query: asked.map(|e| format!("edition={e}")).unwrap_or_default(),
    };
    let ranked: usize = by_decile.iter().sum();
    Ok(page(
        state,
        &name,
        html! {
            p class="lead" { (code.area_type().label()) " " span class="code" { (code.as_str()) } }
            @if let Some(c) = &community {
                @if !c.description.is_empty() { p { (c.description) } }
                p class="hint" { "Defined by its community as " (c.areas.len()) " small area" @if c.areas.len() != 1 { "s" } " (chosen " (match c.chosen_by.as_str() { "map" => "on the map", "postcodes" => "from postcodes", _ => "from a list" }) "). Every indicator is computed for it from its small areas' counts, as for any area, and compared with " (parents.iter().find(|p| p.link.parent == c.within).and_then(|p| p.name.clone()).unwrap_or_else(|| c.within.to_string())) "; its code is syndemic's own, not an ONS code. See " a href="/community-places" { "all community places" } "." }
            }
            @if !parents.is_empty() {
                nav aria-label="Parent areas" { ol class="crumbs" { @for p in &parents { li { (p.link.level.label()) ": " (area_link(p.link.parent, &p.name)) } } } }
            }
            h2 { "Deprivation" }
            @for d in deprivation.iter().filter(|d| d.domain == "imd") {
                p { "IMD " (d.edition.trim_start_matches("IoD")) " decile: " strong { (d.decile) } " (rank " (d.rank) ", 1 = most deprived)" }
            }
            @if ranked > 0 {
                p { (ranked) " small areas; " (by_decile[1] + by_decile[2]) " (" (fmt(100.0 * (by_decile[1] + by_decile[2]) as f64 / ranked as f64)) " %) in England's most deprived fifth (" (edition.map(|e| e.to_string()).unwrap_or_default()) ")." }
                div class="table-scroll" role="region" tabindex="0" aria-label="Small areas by deprivation decile" { table {
                    caption { "Small areas by national deprivation decile (1 = most deprived), " (edition.map(|e| e.to_string()).unwrap_or_default()) }
                    thead { tr { th scope="col" { "Decile" } @for d in 1..=10 { th scope="col" { (d) } } } }
                    tbody { tr { th scope="row" { "Small areas" } @for d in 1..=10 { td { (by_decile[d]) } } } }
                } }
                p class="downloads" { "Download this table: " a href=(downloads("deprivation").href("csv")) { "CSV" } ", " a href=(downloads("deprivation").href("xlsx")) { "Excel (XLSX)" } }
                @if editions.len() > 1 {
                    nav aria-label="Edition of the Indices of Deprivation" {
                        "Count by: "
                        @for (n, e) in editions.iter().enumerate() {
                            @if n > 0 { " · " }
                            @if Some(*e) == edition { strong aria-current="true" { (e) } }
                            @else { a href=(format!("/areas/{code}?edition={e}")) { (e) } }
                        }
                    }
                }
            }
            h2 { "Indicators" }
            @if rows.is_empty() { p { "No indicator values reach this area yet." } }
            @else {
                p class="hint" id="spine-key" { "How to read the spine charts: the light grey bar runs from the lowest to the highest value among the area's peers (areas of the same kind; wards for a community-defined place), the dark grey bar covers their middle half, the black line is their median, and the circle is this area, coloured by its comparison with England." }
            }
            @for (key, heading) in DOMAINS {
                @let group: Vec<_> = rows.iter().filter(|r| r.0.domain.as_deref().unwrap_or("other") == key || (key == "other" && !DOMAINS.iter().any(|d| Some(d.0) == r.0.domain.as_deref()))).collect();
                @if !group.is_empty() {
                    h3 { (heading) }
                    div class="table-scroll" role="region" tabindex="0" aria-label=(heading) { table class="profile" {
                        thead { tr { th scope="col" { "Indicator" } th scope="col" { "Period" } th scope="col" { "Value" } th scope="col" { "95 % limits" } th scope="col" { "Count" } th scope="col" { "England" } th scope="col" { "Compared with England" } th scope="col" { "Compared with parent area" } th scope="col" { "Trend" } th scope="col" { "Among peers" } } }
                        tbody {
                            @for (indicator, o, england, peers) in group {
                                @let (fill, ink) = comparison_colour(o.compared_to_england.as_deref());
                                tr {
                                    th scope="row" { a href=(format!("/indicators/{}?area={code}{}", indicator.id, if o.sex == "Persons" { String::new() } else { format!("&{}", form_urlencoded::Serializer::new(String::new()).append_pair("sex", &o.sex).finish()) })) { (indicator.name) }
                                        @if indicator.is_residents_evidence() {
                                            br; span class="hint" { "Residents' evidence: a sample of " (o.denominator.map(fmt).unwrap_or_else(|| "–".into())) ", " (if indicator.ci_method.as_deref().is_some_and(|m| m.contains("unweighted")) { "unweighted" } else { "weighted to the population" }) }
                                        }
                                    }
                                    td { (o.period.to_string()) }
                                    // The value and its limits to the same decimals, and England's too: one indicator a row.
                                    @let places = svg::decimals_of(&[o.value, o.lower95, o.upper95, *england].into_iter().flatten().collect::<Vec<f64>>());
                                    td { (o.value.map(|v| svg::fmt_with(v, places)).unwrap_or_else(|| "–".into())) @if o.value.is_some() { @if let Some(u) = indicator.unit.as_deref() { " " (u) } } }
                                    td { @if let (Some(lo), Some(hi)) = (o.lower95, o.upper95) { (svg::fmt_with(lo, places)) "–" (svg::fmt_with(hi, places)) } }
                                    td { (o.count.map(fmt).unwrap_or_default()) }
                                    td { (england.map(|v| svg::fmt_with(v, places)).unwrap_or_default()) }
                                    td style=(format!("background:{fill};color:{ink}")) { (o.compared_to_england.as_deref().unwrap_or("Not compared")) }
                                    @let (pfill, pink) = comparison_colour(o.compared_to_parent.as_deref());
                                    td style=(format!("background:{pfill};color:{pink}")) { (o.compared_to_parent.as_deref().unwrap_or("Not compared")) }
                                    td { (trend_arrow(o.recent_trend.as_deref())) " " (o.recent_trend.as_deref().unwrap_or("")) }
                                    td { @if let Some(v) = o.value { @if peers.len() >= 2 { (svg::spine(v, peers, fill, &format!("{} against {} peers", fmt(v), peers.len()))) " " a href=(format!("/areas/{code}/spine-{}.svg", indicator.id)) aria-label=(format!("{} spine chart as SVG", indicator.name)) { "SVG" } } } }
                                }
                            }
                        }
                    } }
                }
            }
            @if !rows.is_empty() {
                p class="downloads" { "Download every indicator above: " a href=(downloads("indicators").href("csv")) { "CSV" } ", " a href=(downloads("indicators").href("xlsx")) { "Excel (XLSX)" } }
            }
            @if !children.is_empty() {
                h2 { "Areas within " (name) }
                ul class="columns" { @for (c, n) in &children { li { (area_link(*c, n)) } } }
            }
            p { a href=(format!("/report/{code}")) { "The place report for " (name) } " (printable; also as " a href=(format!("/report/{code}.pdf")) { "PDF" } ")" }
            p { a href=(format!("/api/v1/areas/{code}")) { "This area as JSON" } }
        },
    ))
}

/// How many areas a page of the hidden-deprivation list shows (England's list
/// runs to thousands; the downloads hold every one).
pub const HIDDEN_PER_PAGE: usize = 50;

/// The rows of page `page` (from 1) of a list of `total`, `per` a page; a page
/// past the end is an error naming the last (an empty list has one empty page).
pub(crate) fn page_rows(
    total: usize,
    page: usize,
    per: usize,
) -> Result<std::ops::Range<usize>, WebError> {
    let pages = total.div_ceil(per).max(1);
    if page == 0 || page > pages {
        return Err(WebError::BadRequest(format!(
            "page={page}: give a page from 1 to {pages}"
        )));
    }
    Ok((page - 1) * per..(page * per).min(total))
}

#[derive(Deserialize)]
pub struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
}

/// Two areas side by side: each indicator's latest value and limits for both, and
/// whether their 95 % intervals overlap.
pub async fn compare(
    State(state): State<AppState>,
    Query(query): Query<CompareQuery>,
) -> Result<Response, WebError> {
    let a = query.a.clone().unwrap_or_default();
    let b = query.b.clone().unwrap_or_default();
    let suggestions = picker::suggestions(&state).await?;
    let form = |errors: &[(&str, String)]| {
        let error_of = |f: &str| {
            errors
                .iter()
                .find(|(k, _)| *k == f)
                .map(|(_, m)| m.as_str())
        };
        html! {
            (picker::error_summary(errors))
            form method="get" action="/compare" {
                (picker::field("a", "First area", &a, error_of("a"), true))
                (picker::field("b", "Second area", &b, error_of("b"), true))
                button type="submit" { "Compare" }
            }
            (suggestions)
        }
    };
    if query.a.is_none() && query.b.is_none() {
        return Ok(page(&state, "Compare two areas", form(&[])).into_response());
    }
    let mut errors = Vec::new();
    let mut picked = Vec::new();
    for (field, text) in [("a", &a), ("b", &b)] {
        match picker::resolve(&state, text).await? {
            Ok(p) => picked.push(p),
            Err(message) => errors.push((field, message)),
        }
    }
    if !errors.is_empty() {
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, "Compare two areas", form(&errors)),
        )
            .into_response());
    }
    let (areas, rows) = compared(&state, picked[0].code, picked[1].code).await?;
    let table = compare_table(&areas, &rows);
    let title = format!("{} and {}", areas[0].1, areas[1].1);
    Ok(page(
        &state,
        &title,
        html! {
            (form(&[]))
            (table.html(Some(&Download { path: "/compare".into(), query: format!("a={}&b={}", areas[0].0, areas[1].0) })))
        },
    )
    .into_response())
}

/// `/areas/{code}/{table}.{csv|xlsx}`: the profile's indicators or its small areas
/// by deprivation decile.
pub async fn profile_download(
    State(state): State<AppState>,
    Path((code, file)): Path<(String, String)>,
    Query(query): Query<ProfileQuery>,
) -> Result<Response, WebError> {
    let code = parse_code(&code)?;
    let asked = query.edition()?;
    let unknown = || {
        WebError::NotFound(format!(
            "no download `{file}`: give indicators.csv, indicators.xlsx, deprivation.csv, deprivation.xlsx or spine-INDICATOR.svg"
        ))
    };
    let (name, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
    if let (Some(id), "svg") = (name.strip_prefix("spine-"), ext) {
        let p = Profile::load(&state, code, asked).await?;
        let (indicator, o, _, peers) = p
            .rows
            .iter()
            .find(|r| r.0.id == id)
            .ok_or_else(|| WebError::NotFound(format!("{} has no value of `{id}`", p.name)))?;
        let value = o.value.ok_or_else(|| {
            WebError::NotFound(format!(
                "{}'s value of `{id}` is withheld or missing",
                p.name
            ))
        })?;
        if peers.len() < 2 {
            return Err(WebError::NotFound(format!(
                "{} has too few peers for a spine chart of `{id}`",
                p.name
            )));
        }
        let fill = comparison_colour(o.compared_to_england.as_deref()).0;
        let label = format!(
            "{} in {}: {} against {} peers",
            indicator.name,
            p.name,
            fmt(value),
            peers.len()
        );
        return Ok(svg::download(
            svg::spine(value, peers, fill, &label),
            &format!("{code}-{id}-spine"),
        ));
    }
    if !matches!(name, "indicators" | "deprivation") || !matches!(ext, "csv" | "xlsx") {
        return Err(unknown());
    }
    let p = Profile::load(&state, code, asked).await?;
    let table = if name == "indicators" {
        p.indicators_table()
    } else {
        p.deciles_table()
    };
    table.respond(ext, &format!("{code}-{name}"))
}

type Compared = (
    Vec<(AreaCode, String)>,
    Vec<(Indicator, Option<Observation>, Option<Observation>)>,
);

/// Two areas and each indicator's latest value in each.
async fn compared(state: &AppState, a: AreaCode, b: AreaCode) -> Result<Compared, WebError> {
    let store = state.db.as_ref();
    let mut areas = Vec::new();
    for code in [a, b] {
        let info = store
            .area(code)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("{code} is not in the store")))?;
        areas.push((code, info.area.name.unwrap_or_else(|| code.to_string())));
    }
    let mut rows = Vec::new();
    for indicator in store
        .indicators()
        .await?
        .into_iter()
        .filter(|i| !i.id.contains('.'))
    {
        // Both areas' rows: from the rows above the wards unless one of them is a
        // small area or ward.
        let small = |c: AreaCode| {
            matches!(
                c.area_type(),
                AreaType::Lsoa | AreaType::Msoa | AreaType::Ward
            )
        };
        let probe = if small(areas[0].0) {
            areas[0].0
        } else {
            areas[1].0
        };
        let all = state.observations_for_area(&indicator.id, probe).await?;
        let first = latest_total(all.iter().filter(|o| o.area == areas[0].0)).cloned();
        let second = latest_total(all.iter().filter(|o| o.area == areas[1].0)).cloned();
        if first.is_some() || second.is_some() {
            rows.push((indicator, first, second));
        }
    }
    Ok((areas, rows))
}

/// Whether two 95 % intervals overlap, and which is lower where they do not.
fn verdict(x: &Option<Observation>, y: &Option<Observation>) -> &'static str {
    match (
        x.as_ref().and_then(|o| o.lower95.zip(o.upper95)),
        y.as_ref().and_then(|o| o.lower95.zip(o.upper95)),
    ) {
        (Some((_, u1)), Some((l2, _))) if u1 < l2 => "first lower",
        (Some((l1, _)), Some((_, u2))) if u2 < l1 => "first higher",
        (Some(_), Some(_)) => "intervals overlap",
        _ => "not compared",
    }
}

fn compare_table(
    areas: &[(AreaCode, String)],
    rows: &[(Indicator, Option<Observation>, Option<Observation>)],
) -> DataTable {
    let (a, b) = (&areas[0].1, &areas[1].1);
    let columns = [
        "Indicator".to_owned(),
        a.clone(),
        format!("{a} 95 % limits"),
        format!("{a} period"),
        b.clone(),
        format!("{b} 95 % limits"),
        format!("{b} period"),
        "Difference".to_owned(),
    ];
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut t = DataTable::new("Latest values side by side, with 95 % limits", &columns);
    for (indicator, x, y) in rows {
        let mut row = vec![Cell::Link {
            text: indicator.name.clone(),
            href: format!("/indicators/{}", indicator.id),
        }];
        for o in [x, y] {
            row.push(Cell::Number(o.as_ref().and_then(|o| o.value)));
            row.push(Cell::Range(
                o.as_ref().and_then(|o| o.lower95),
                o.as_ref().and_then(|o| o.upper95),
            ));
            row.push(Cell::text(
                o.as_ref().map(|o| o.period.to_string()).unwrap_or_default(),
            ));
        }
        row.push(Cell::text(verdict(x, y)));
        t.push(row);
    }
    t
}

pub async fn compare_csv(
    State(state): State<AppState>,
    Query(query): Query<CompareQuery>,
) -> Result<Response, WebError> {
    compare_download(&state, &query, "csv").await
}

pub async fn compare_xlsx(
    State(state): State<AppState>,
    Query(query): Query<CompareQuery>,
) -> Result<Response, WebError> {
    compare_download(&state, &query, "xlsx").await
}

async fn compare_download(
    state: &AppState,
    query: &CompareQuery,
    ext: &str,
) -> Result<Response, WebError> {
    let (Some(a), Some(b)) = (query.a.as_deref(), query.b.as_deref()) else {
        return Err(WebError::BadRequest(
            "give two areas, a= and b= (names, postcodes or codes)".into(),
        ));
    };
    let mut codes = Vec::new();
    for (field, text) in [("a", a), ("b", b)] {
        match picker::resolve(state, text).await? {
            Ok(p) => codes.push(p.code),
            Err(message) => return Err(WebError::BadRequest(format!("{field}={text}: {message}"))),
        }
    }
    let (areas, rows) = compared(state, codes[0], codes[1]).await?;
    compare_table(&areas, &rows).respond(ext, &format!("compare-{}-{}", areas[0].0, areas[1].0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_cut_into_pages() {
        assert_eq!(page_rows(120, 1, 50).unwrap(), 0..50);
        assert_eq!(page_rows(120, 3, 50).unwrap(), 100..120);
        assert_eq!(page_rows(0, 1, 50).unwrap(), 0..0);
        assert_eq!(page_rows(100, 2, 50).unwrap(), 50..100);
        for (total, page) in [(120, 4), (100, 3), (0, 2), (10, 0)] {
            assert!(page_rows(total, page, 50).is_err(), "{total} {page}");
        }
    }
}

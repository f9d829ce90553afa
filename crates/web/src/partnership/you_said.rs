//! `/plans/{id}/you-said-we-did`: a plan told back to the residents whose
//! voices shaped it — open to anyone, with nothing personal in it. Its
//! priorities; what residents said (each residents' evidence indicator the
//! plan's commitments are measured by: every wave's value with its interval and
//! sample); what the partners committed to in answer, each with its current
//! judgement against its trajectory; and who took part (responses by channel
//! and ward, and how far respondents resembled residents by age and sex).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, Response};
use maud::html;
use rustc_hash::FxHashSet;
use syndemic_partnership::survey::Channel;
use syndemic_stats::survey::representativeness;

use super::{judge_all, World};
use crate::shell::table::{Cell, DataTable};
use crate::shell::{page, svg};
use crate::{AppState, WebError};

/// The page, kept as the profile is (so a busy public page costs one render a
/// few minutes).
pub(crate) async fn page_for_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    state
        .cached_page(
            format!("you-said {id}"),
            &headers,
            render(&state, id.clone()),
        )
        .await
}

async fn render(state: &AppState, id: String) -> Result<Html<String>, WebError> {
    let state = state.clone();
    let world = World::load(&state).await?;
    let plan = world.plan(&id)?.clone();
    let partnership = world.partnership(&plan.partnership_id)?.clone();
    let commitments: Vec<_> = world
        .commitments
        .iter()
        .filter(|c| c.plan_id == plan.id)
        .collect();
    let judged = judge_all(&state, &world, &commitments).await?;
    // What residents said: the residents' evidence the commitments are measured by.
    let mut said = Vec::new();
    let mut seen = FxHashSet::default();
    for c in &commitments {
        let Some(id) = c.indicator.as_deref() else {
            continue;
        };
        let Some(indicator) = state.db.indicator(id).await? else {
            continue;
        };
        if !indicator.is_residents_evidence() || !seen.insert(id.to_owned()) {
            continue;
        }
        let area = c
            .indicator_area
            .clone()
            .or_else(|| partnership.area.clone())
            .unwrap_or_default();
        let mut rows: Vec<_> = state
            .observations(id)
            .await?
            .iter()
            .filter(|o| o.area.as_str() == area && o.category.is_empty())
            .cloned()
            .collect();
        rows.sort_by_key(|o| o.period.sort_key());
        let mut table = DataTable::new(
            indicator.name.clone(),
            &["Wave", "Value", "95 % limits", "Residents who answered"],
        );
        for o in &rows {
            table.push(vec![
                Cell::text(o.period.to_string()),
                Cell::Number(o.value),
                Cell::Range(o.lower95, o.upper95),
                Cell::Number(o.denominator),
            ]);
        }
        said.push((indicator, area, table.aligned()));
    }
    let surveys: Vec<_> = state
        .db
        .surveys()
        .await?
        .into_iter()
        .filter(|s| s.partnership_id.as_deref() == Some(partnership.id.as_str()))
        .collect();
    let mut participation = Vec::new();
    for s in &surveys {
        let responses = state.db.responses(&s.id).await?;
        let mut by_channel = DataTable::new(
            format!("{}: responses by wave and channel", s.title),
            &["Wave", "Channel", "Responses"],
        );
        let mut waves: Vec<&str> = responses.iter().map(|r| r.wave.as_str()).collect();
        waves.sort_unstable();
        waves.dedup();
        for wave in waves {
            for c in Channel::ALL {
                let n = responses
                    .iter()
                    .filter(|r| r.wave == wave && r.channel == c.code())
                    .count();
                if n > 0 {
                    by_channel.push(vec![
                        Cell::text(wave),
                        Cell::text(c.label()),
                        Cell::Number(Some(n as f64)),
                    ]);
                }
            }
        }
        let wards =
            super::surveys::wards_of(&state, responses.iter().map(|r| r.lsoa.as_str())).await?;
        let mut by_ward: BTreeMap<String, usize> = BTreeMap::new();
        for r in &responses {
            let ward = wards
                .get(&r.lsoa)
                .map_or("No ward known".to_string(), |w| w.1.clone());
            *by_ward.entry(ward).or_default() += 1;
        }
        let mut ward_table = DataTable::new(
            format!("{}: responses by ward", s.title),
            &["Ward", "Responses"],
        );
        for (ward, n) in by_ward {
            ward_table.push(vec![Cell::text(ward), Cell::Number(Some(n as f64))]);
        }
        let place = crate::parse_code(&s.place)?;
        let lsoas = syndemic_place::small_areas_within(state.db.as_ref(), place)
            .await?
            .iter()
            .map(|c| c.to_string())
            .collect();
        let mut fairness = Vec::new();
        if let Some((_, tables)) =
            super::surveys::represented(&state, place, &responses, &lsoas, None).await?
        {
            for (variable, rows) in tables {
                let observed: Vec<f64> = rows.iter().map(|r| r.1).collect();
                let residents: Vec<f64> = rows.iter().map(|r| r.2).collect();
                if let Ok(r) = representativeness(&observed, &residents) {
                    let under: Vec<String> = rows
                        .iter()
                        .zip(&r.categories)
                        .filter(|(_, c)| c.adjusted_residual < -1.96)
                        .map(|(row, _)| row.0.clone())
                        .collect();
                    fairness.push((variable, under));
                }
            }
        }
        participation.push((s.clone(), responses.len(), by_channel, ward_table, fairness));
    }
    let body = html! {
        h1 { "You said, we did: " (plan.title) }
        p { (partnership.name) " asked residents what it is like to live here and what would make the most difference. This page puts what they said beside what the partners committed to, and how each commitment is going. It is updated as new answers and new figures arrive." }
        @if !plan.priorities.is_empty() {
            h2 { "The plan's priorities" }
            ul { @for p in &plan.priorities { li { (p) } } }
        }
        h2 { "What residents said" }
        @if said.is_empty() {
            p { "None of this plan's commitments is measured by residents' evidence yet." }
        }
        @for (indicator, area, table) in &said {
            h3 { (indicator.name) }
            p class="hint" { "Per cent of residents aged 16 and over who answered, in " (area) "; " (indicator.ci_method.clone().unwrap_or_default()) "." }
            (table.html(None))
        }
        h2 { "What we committed to" }
        @if commitments.is_empty() { p { "No commitments yet." } }
        ul {
            @for c in &commitments {
                @let j = judged.get(&c.id);
                li {
                    strong { (c.reference) ": " (c.title) }
                    " — led by " (world.org_name(&c.lead_org))
                    @if let Some(j) = j {
                        ". " (j.judgement().label())
                        @if let Some((period, latest)) = &j.latest { " (latest " (period.to_string()) ": " (svg::fmt(latest.value)) ")" }
                    }
                    "."
                }
            }
        }
        h2 { "Who took part" }
        @if participation.is_empty() { p { "No residents' survey is linked to this partnership yet." } }
        @for (s, n, by_channel, ward_table, fairness) in &participation {
            p { (svg::fmt(*n as f64)) " residents answered " a href={ "/surveys/" (s.slug) } { (s.title) } "." }
            (by_channel.html(None))
            (ward_table.html(None))
            @for (variable, under) in fairness {
                p {
                    (variable) ": "
                    @if under.is_empty() { "respondents were broadly like residents." }
                    @else { "fewer answered than live here among " (under.join(", ")) "; the partners will seek them out in the next wave." }
                }
            }
        }
    };
    Ok(page(
        &state,
        &format!("You said, we did: {}", plan.title),
        body,
    ))
}

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
use syndemic_model::AreaCode;
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
    let area_of = |c: &syndemic_store::partnership::CommitmentRecord| {
        c.indicator_area
            .clone()
            .or_else(|| partnership.area.clone())
            .unwrap_or_default()
    };
    let partnership_area = partnership.area.clone().unwrap_or_default();
    let area_name = match AreaCode::parse(&partnership_area) {
        Ok(code) => state
            .db
            .area(code)
            .await?
            .and_then(|a| a.area.name)
            .unwrap_or_else(|| partnership_area.clone()),
        Err(_) => partnership_area.clone(),
    };
    // Each priority with the evidence it cites and the commitments that answer it
    // (those measured by one of its indicators).
    let mut priorities = Vec::new();
    let mut cited = FxHashSet::default();
    for line in &plan.priorities {
        let p = syndemic_partnership::priority::parse(line);
        let mut evidence = Vec::new();
        for id in &p.evidence {
            cited.insert(id.to_string());
            let Some(indicator) = state.db.indicator(id).await? else {
                continue;
            };
            let table = evidence_table(&state, &indicator, &partnership_area).await?;
            evidence.push((indicator, table));
        }
        let answers: Vec<_> = commitments
            .iter()
            .filter(|c| {
                c.indicator
                    .as_deref()
                    .is_some_and(|i| p.evidence.contains(&i))
            })
            .copied()
            .collect();
        priorities.push((p.text.to_owned(), evidence, answers));
    }
    // What residents said besides: residents' evidence other commitments are
    // measured by.
    let mut said = Vec::new();
    let mut seen = FxHashSet::default();
    for c in &commitments {
        let Some(id) = c.indicator.as_deref() else {
            continue;
        };
        if cited.contains(id) {
            continue;
        }
        let Some(indicator) = state.db.indicator(id).await? else {
            continue;
        };
        if !indicator.is_residents_evidence() || !seen.insert(id.to_owned()) {
            continue;
        }
        let area = area_of(c);
        let table = evidence_table(&state, &indicator, &area).await?;
        said.push((indicator, area, table));
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
        p { (partnership.name) " asked residents what it is like to live here and what would make the most difference. This page puts what they said beside what the partners committed to, and how each commitment is going. It is updated as new answers and new figures arrive." }
        @if !priorities.is_empty() {
            h2 { "The plan's priorities" }
            @for (text, evidence, answers) in &priorities {
                h3 { (text) }
                @if evidence.is_empty() {
                    p { "No evidence is cited for this priority yet." }
                }
                @for (indicator, table) in evidence {
                    h4 { a href={ "/indicators/" (indicator.id) } { (indicator.name) } }
                    p class="hint" {
                        @if indicator.is_residents_evidence() { "Residents' evidence: per cent of residents aged 16 and over who answered, in " (area_name) "; " (indicator.ci_method.clone().unwrap_or_default()) "." }
                        @else { "Routine data for " (area_name) "; source: " (indicator.source.clone().unwrap_or_else(|| "computed from counts".into())) "." }
                    }
                    (table.html(None))
                }
                @if !answers.is_empty() {
                    p { "What we committed to in answer:" }
                    ul { @for c in answers { li { (commitment_line(c, &world, &judged)) } } }
                }
            }
        }
        h2 { "What residents said" }
        @if said.is_empty() && cited.is_empty() {
            p { "None of this plan's commitments is measured by residents' evidence yet." }
        }
        @if said.is_empty() && !cited.is_empty() {
            p { "What residents said is shown with each priority above." }
        }
        @for (indicator, area, table) in &said {
            h3 { (indicator.name) }
            p class="hint" { "Per cent of residents aged 16 and over who answered, in " (area) "; " (indicator.ci_method.clone().unwrap_or_default()) "." }
            (table.html(None))
        }
        h2 { "What we committed to" }
        @if commitments.is_empty() { p { "No commitments yet." } }
        ul { @for c in &commitments { li { (commitment_line(c, &world, &judged)) } } }
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

/// A commitment in one line: its reference and title, its lead, and its current
/// judgement against its trajectory with the latest value.
fn commitment_line(
    c: &syndemic_store::partnership::CommitmentRecord,
    world: &World,
    judged: &rustc_hash::FxHashMap<String, super::Judged>,
) -> maud::Markup {
    let j = judged.get(&c.id);
    html! {
        strong { (c.reference) ": " (c.title) }
        " — led by " (world.org_name(&c.lead_org))
        @if let Some(j) = j {
            ". " (j.judgement().label())
            @if let Some((period, latest)) = &j.latest { " (latest " (period.to_string()) ": " (svg::fmt(latest.value)) ")" }
        }
        "."
    }
}

/// An indicator's values for `area` (persons, no category), the latest five
/// periods: value, 95 % limits, and the sample (residents who answered) for
/// residents' evidence or the count for routine data.
async fn evidence_table(
    state: &AppState,
    indicator: &syndemic_store::Indicator,
    area: &str,
) -> Result<DataTable, WebError> {
    let mut rows: Vec<_> = state
        .observations(&indicator.id)
        .await?
        .iter()
        .filter(|o| o.area.as_str() == area && o.category.is_empty() && o.sex == "Persons")
        .cloned()
        .collect();
    rows.sort_by_key(|o| o.period.sort_key());
    let skip = rows.len().saturating_sub(5);
    let residents = indicator.is_residents_evidence();
    let mut table = DataTable::new(
        indicator.name.clone(),
        &[
            if residents { "Wave" } else { "Period" },
            "Value",
            "95 % limits",
            if residents {
                "Residents who answered"
            } else {
                "Count"
            },
        ],
    );
    for o in rows.iter().skip(skip) {
        table.push(vec![
            Cell::text(o.period.to_string()),
            Cell::Number(o.value),
            Cell::Range(o.lower95, o.upper95),
            Cell::Number(if residents { o.denominator } else { o.count }),
        ]);
    }
    Ok(table.aligned())
}

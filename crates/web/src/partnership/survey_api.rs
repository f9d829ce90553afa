//! `/api/v1/surveys`: residents' surveys in the open API — what each asks,
//! how many answered by wave and channel, who answered against who lives there
//! (age and sex, with chi-square), and the results by area with intervals and
//! sample sizes, from the same disclosure-controlled observations as every page.
//! Never a response, a free-text answer or a contact.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use syndemic_partnership::survey::{Channel, Kind, Survey};
use syndemic_partnership::voice;
use syndemic_stats::survey::representativeness;
use syndemic_store::partnership::SurveyRecord;

use super::surveys::{held, represented};
use crate::shell::api::{list, ApiError, Paging};
use crate::{parse_code, AppState, WebError};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(surveys))
        .route("/surveys/{slug}", get(survey))
        .route("/surveys/{slug}/results", get(results))
}

/// A survey (schema `Survey`).
#[derive(Serialize)]
struct SurveyOut {
    slug: String,
    title: String,
    intro: String,
    place: String,
    waves: Vec<String>,
    open_wave: Option<String>,
    lawful_basis: String,
    questions: Vec<QuestionOut>,
    /// The indicators its closed questions are published as.
    indicators: Vec<String>,
}

#[derive(Serialize)]
struct QuestionOut {
    key: String,
    text: String,
    kind: &'static str,
    options: Vec<String>,
}

fn kind_code(k: Kind) -> &'static str {
    match k {
        Kind::Single => "single",
        Kind::Multiple => "multiple",
        Kind::Likert => "likert",
        Kind::Number => "number",
        Kind::Text => "text",
        Kind::Postcode => "postcode",
        Kind::Pin => "pin",
    }
}

fn survey_out(record: &SurveyRecord, survey: &Survey) -> SurveyOut {
    SurveyOut {
        slug: record.slug.clone(),
        title: survey.title.clone(),
        intro: survey.intro.clone(),
        place: record.place.clone(),
        waves: survey.waves.clone(),
        open_wave: record.open_wave.clone(),
        lawful_basis: survey.lawful_basis.clone(),
        questions: survey
            .questions
            .iter()
            .map(|q| QuestionOut {
                key: q.key.clone(),
                text: q.text.clone(),
                kind: kind_code(q.kind),
                options: q.choices().iter().map(|o| o.to_string()).collect(),
            })
            .collect(),
        indicators: voice::indicators(survey)
            .into_iter()
            .map(|i| i.id)
            .collect(),
    }
}

async fn surveys(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = paging.parse()?;
    let mut items = Vec::new();
    for record in state.db.surveys().await? {
        let (_, survey) = held(&state, &record.slug).await?;
        items.push(survey_out(&record, &survey));
    }
    Ok(list(&headers, items, page, size, csv)?)
}

/// Responses by wave and channel (schema `Participation`).
#[derive(Serialize)]
struct ParticipationOut {
    wave: String,
    channel: &'static str,
    responses: usize,
}

/// One group of a representativeness table (schema `Represented`).
#[derive(Serialize)]
struct GroupOut {
    group: String,
    respondents: f64,
    residents: f64,
    sample_share: f64,
    population_share: f64,
    ratio: f64,
    adjusted_residual: f64,
}

/// Respondents against residents by one variable (schema `Representativeness`).
#[derive(Serialize)]
struct RepresentOut {
    variable: &'static str,
    groups: Vec<GroupOut>,
    chi_square: f64,
    degrees_of_freedom: usize,
    p_value: f64,
    approximation_holds: bool,
}

/// A survey with who answered (schema `SurveyDetail`).
#[derive(Serialize)]
struct DetailOut {
    survey: SurveyOut,
    participation: Vec<ParticipationOut>,
    /// The population source residents are counted from; `null` when the
    /// server has none (and `representativeness` is empty).
    population_source: Option<String>,
    representativeness: Vec<RepresentOut>,
}

async fn survey(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let (record, survey) = held(&state, &slug).await?;
    let responses = state.db.responses(&record.id).await?;
    let mut participation: Vec<ParticipationOut> = Vec::new();
    for wave in &survey.waves {
        for c in Channel::ALL {
            let n = responses
                .iter()
                .filter(|r| &r.wave == wave && r.channel == c.code())
                .count();
            if n > 0 {
                participation.push(ParticipationOut {
                    wave: wave.clone(),
                    channel: c.code(),
                    responses: n,
                });
            }
        }
    }
    let place = parse_code(&record.place)?;
    let lsoas = syndemic_place::small_areas_within(state.db.as_ref(), place)
        .await
        .map_err(WebError::from)?
        .iter()
        .map(|c| c.to_string())
        .collect();
    let (source, tables) = match represented(&state, place, &responses, &lsoas, None).await? {
        Some((s, t)) => (Some(s), t),
        None => (None, Vec::new()),
    };
    let representativeness = tables
        .into_iter()
        .filter_map(|(variable, rows)| {
            let observed: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let residents: Vec<f64> = rows.iter().map(|r| r.2).collect();
            let r = representativeness(&observed, &residents).ok()?;
            Some(RepresentOut {
                variable,
                groups: rows
                    .iter()
                    .zip(&r.categories)
                    .map(|(row, c)| GroupOut {
                        group: row.0.clone(),
                        respondents: row.1,
                        residents: row.2,
                        sample_share: c.sample_share,
                        population_share: c.population_share,
                        ratio: c.ratio,
                        adjusted_residual: c.adjusted_residual,
                    })
                    .collect(),
                chi_square: r.chi_square,
                degrees_of_freedom: r.degrees_of_freedom,
                p_value: r.p_value,
                approximation_holds: r.approximation_holds,
            })
        })
        .collect();
    Ok(Json(DetailOut {
        survey: survey_out(&record, &survey),
        participation,
        population_source: source,
        representativeness,
    })
    .into_response())
}

#[derive(Deserialize)]
struct ResultsQuery {
    area: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// One result (schema `SurveyResult`): an indicator's estimate in an area and
/// wave, its limits and sample size; withheld values are `null` with a note.
#[derive(Serialize)]
struct ResultOut {
    indicator: String,
    name: String,
    area: String,
    wave: String,
    value: Option<f64>,
    lower95: Option<f64>,
    upper95: Option<f64>,
    lower998: Option<f64>,
    upper998: Option<f64>,
    count: Option<f64>,
    sample_size: Option<f64>,
    weighting: String,
    note: Option<String>,
}

async fn results(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<ResultsQuery>,
) -> Result<Response, ApiError> {
    let (page, size, csv) = query.paging.parse()?;
    let (record, survey) = held(&state, &slug).await?;
    let area = parse_code(query.area.as_deref().unwrap_or(&record.place))?;
    let mut items = Vec::new();
    for ind in voice::indicators(&survey) {
        let Some(stored) = state.db.indicator(&ind.id).await? else {
            continue;
        };
        let weighting = stored.ci_method.clone().unwrap_or_default();
        for o in state
            .observations(&ind.id)
            .await?
            .iter()
            .filter(|o| o.area == area)
        {
            items.push(ResultOut {
                indicator: ind.id.clone(),
                name: ind.name.clone(),
                area: o.area.to_string(),
                wave: o.period.to_string(),
                value: o.value,
                lower95: o.lower95,
                upper95: o.upper95,
                lower998: o.lower998,
                upper998: o.upper998,
                count: o.count,
                sample_size: o.denominator,
                weighting: weighting.clone(),
                note: o.note.clone(),
            });
        }
    }
    Ok(list(&headers, items, page, size, csv)?)
}

//! Residents' surveys over the store, shared by the web application, the command
//! line and the demo:
//!
//! - [`place_sheet`]: a sheet of responses (another tool's export, paper forms
//!   typed up) placed in the small areas of the survey's place, all or nothing —
//!   every response outside the place or unplaceable named by line and column.
//! - [`new_response`]: one checked response as it is kept (its small area, never
//!   its postcode or pin).
//! - [`publish`]: the survey's closed questions published as indicators of
//!   residents' evidence (`syndemic_partnership::voice`) for every small area,
//!   ward and district of the place, every community-defined place and the
//!   place itself, in one transaction.
//! - [`define_place`]: a community-defined place from a list of small areas,
//!   wards and postcodes, all or nothing, every problem by line.

use std::collections::BTreeMap;

use syndemic_model::{AreaCode, Level, Period};
use syndemic_partnership::layout::{LayoutError, Problem, ReadResponses, MAX_PROBLEMS};
use syndemic_partnership::survey::{Answer, Channel, Response, Survey, AGE_BANDS, SEXES};
use syndemic_partnership::voice::{self, survey_band_shares, Answered, Margins, Respondent};
use syndemic_place::geography::parent_chain;
use syndemic_place::{PlaceError, Placer};
use syndemic_store::disclosure::SUPPRESSED;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::{
    CommunityPlaceRecord, NewResponse, ResponseRecord, SurveyRecord,
};
use syndemic_store::prelude::*;
use syndemic_store::{Indicator, Observation, StoreError, RESIDENTS_EVIDENCE};

/// The ages a survey's indicators describe: residents aged 16 and over.
pub const SURVEY_AGES: &str = "16+ yrs";

/// Why a survey operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The file's responses, every problem listed: nothing was kept.
    #[error("{0}")]
    Rows(#[from] LayoutError),
    #[error("{0}")]
    Place(#[from] PlaceError),
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    /// Stored data that cannot be read back (a survey's definition, a response).
    #[error("{0}")]
    Corrupt(String),
    #[error("no random numbers: {0}")]
    Random(String),
    /// A community place that cannot be defined as given, every problem listed:
    /// nothing was kept.
    #[error("the community place was not kept; fix {}", .0.join("; "))]
    Community(Vec<String>),
}

fn random_id(prefix: &str) -> Result<String, VoiceError> {
    syndemic_access::secret::random_hex(10)
        .map(|h| format!("{prefix}-{h}"))
        .map_err(|e| VoiceError::Random(e.to_string()))
}

/// A survey's stored definition, read.
pub fn definition(record: &SurveyRecord) -> Result<Survey, VoiceError> {
    serde_json::from_str(&record.definition).map_err(|e| {
        VoiceError::Corrupt(format!(
            "survey `{}`: its definition is unreadable: {e}",
            record.slug
        ))
    })
}

/// One checked response as kept: in `lsoa`, of `wave`, by `channel`.
pub fn new_response(
    r: &Response,
    lsoa: AreaCode,
    wave: &str,
    channel: Channel,
    at: i64,
) -> Result<NewResponse, VoiceError> {
    Ok(NewResponse {
        record: ResponseRecord {
            id: random_id("response")?,
            wave: wave.into(),
            channel: channel.code().into(),
            lsoa: lsoa.to_string(),
            age_band: r.age_band.map(str::to_string),
            sex: r.sex.map(str::to_string),
            ethnicity: r.ethnicity.map(str::to_string),
            answers: r.answers_json(),
            at,
        },
        texts: r.texts.clone(),
    })
}

/// Places every response of a sheet: all of them, or an error naming each one
/// that could not be placed (at most [`MAX_PROBLEMS`]) by line and column.
pub async fn place_sheet(
    store: &dyn Store,
    placer: &Placer,
    survey: &Survey,
    read: &ReadResponses,
    file: &str,
    wave: &str,
    at: i64,
) -> Result<Vec<NewResponse>, VoiceError> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut more = 0;
    let mut out = Vec::with_capacity(read.responses.len());
    for r in &read.responses {
        match placer.place(store, &r.response.location).await? {
            Ok(lsoa) => out.push(new_response(&r.response, lsoa, wave, r.channel, at)?),
            Err(why) if problems.len() < MAX_PROBLEMS => {
                let field = survey.location_field(&r.response.location).to_string();
                problems.push(Problem {
                    line: r.line,
                    column: read.column_of(&field),
                    field,
                    message: why.to_string(),
                });
            }
            Err(_) => more += 1,
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(LayoutError {
            file: file.into(),
            problems,
            more,
        }
        .into())
    }
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub indicators: usize,
    pub responses: usize,
    pub estimates: usize,
    pub withheld: usize,
}

/// Publishes the survey's closed questions as indicators of residents'
/// evidence, replacing those published before, in one transaction. Each small
/// area counts towards itself, its ward and every area above it up to the
/// survey's place — never beyond: a survey of one place says nothing of England.
/// With a `population` source holding residents by sex and age band, each
/// wave's respondents are weighted to each district's residents aged 16 and
/// over ([`syndemic_partnership::voice::weights`]); without one, or where a
/// district has no residents in it, every response weighs 1 (and the
/// indicator says which).
pub async fn publish(
    store: &dyn Database,
    record: &SurveyRecord,
    population: Option<&str>,
) -> Result<Published, VoiceError> {
    let survey = definition(record)?;
    let responses = store.responses(&record.id).await?;
    let answers: Vec<BTreeMap<String, Answer>> = responses
        .iter()
        .map(|r| serde_json::from_str(&r.answers))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            VoiceError::Corrupt(format!(
                "survey `{}`: a stored response is unreadable: {e}",
                record.slug
            ))
        })?;
    let bad_code = |e: syndemic_model::AreaCodeError| VoiceError::Corrupt(e.to_string());
    let place = AreaCode::parse(&record.place).map_err(bad_code)?;
    let mut areas: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // Each small area's stratum for weighting: its district (or the place).
    let mut strata: BTreeMap<String, AreaCode> = BTreeMap::new();
    // The community places each small area belongs to.
    let mut communities: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in store.community_places().await? {
        for a in &c.areas {
            communities
                .entry(a.to_string())
                .or_default()
                .push(c.code.to_string());
        }
    }
    for r in &responses {
        if areas.contains_key(r.lsoa.as_str()) {
            continue;
        }
        let lsoa = AreaCode::parse(&r.lsoa).map_err(bad_code)?;
        let mut list = vec![r.lsoa.clone()];
        let mut district = place;
        for p in parent_chain(store, lsoa).await? {
            list.push(p.link.parent.to_string());
            if p.link.level == Level::LowerTierAuthority {
                district = p.link.parent;
            }
            if p.link.parent == place {
                break;
            }
        }
        strata.insert(r.lsoa.clone(), district);
        if !list.contains(&record.place) {
            list.push(record.place.clone());
        }
        list.extend(communities.get(&r.lsoa).into_iter().flatten().cloned());
        areas.insert(r.lsoa.as_str(), list);
    }
    let weighted = match population {
        Some(source) => weigh(store, &responses, &strata, source).await?,
        None => None,
    };
    let answered: Vec<Answered<'_>> = responses
        .iter()
        .zip(&answers)
        .enumerate()
        .map(|(i, (r, a))| Answered {
            lsoa: &r.lsoa,
            wave: &r.wave,
            answers: a,
            weight: weighted.as_ref().map_or(1.0, |(w, _)| w[i]),
        })
        .collect();
    let method = match &weighted {
        Some((_, how)) => format!("Wilson score interval on Kish's effective sample size; {how}"),
        None => "Wilson score interval; unweighted (every response weighted 1)".to_string(),
    };
    let estimates = voice::estimates(&survey, &answered, |l| {
        areas.get(l).cloned().unwrap_or_default()
    });
    let indicators = voice::indicators(&survey);
    let mut observations = Vec::with_capacity(estimates.len());
    for e in &estimates {
        let withheld = e.value.is_none();
        let end = |v: f64| (!withheld && v.is_finite()).then_some(v);
        observations.push(Observation {
            indicator: indicators[e.indicator].id.clone(),
            area: AreaCode::parse(&e.area).map_err(bad_code)?,
            period: Period::parse(&e.wave)
                .map_err(|err| VoiceError::Corrupt(format!("wave {}: {err}", e.wave)))?,
            sex: "Persons".into(),
            age: SURVEY_AGES.into(),
            category_type: String::new(),
            category: String::new(),
            count: (!withheld).then_some(e.count as f64),
            denominator: (!withheld).then_some(e.n as f64),
            value: e.value,
            lower95: end(e.limits95.0),
            upper95: end(e.limits95.1),
            lower998: end(e.limits998.0),
            upper998: end(e.limits998.1),
            note: withheld.then(|| SUPPRESSED.to_string()),
            compared_to_england: None,
            compared_to_parent: None,
            recent_trend: None,
        });
    }
    let mut tx = store.begin().await?;
    for ind in &indicators {
        let question = survey
            .question(&ind.question)
            .map_or("", |q| q.text.as_str());
        tx.delete_observations(&ind.id).await?;
        tx.put_indicator(&Indicator {
            definition: Some(format!(
                "Residents' evidence: of residents aged 16 and over who answered \"{question}\" in the survey \"{}\", the percentage answering as named. The count is those who did, the denominator those who answered the question (the sample size); an area with fewer than {} answers is withheld.",
                survey.title,
                voice::MIN_RESPONSES
            )),
            measure_type: Some("proportion".into()),
            multiplier: Some(100.0),
            unit: Some("%".into()),
            source: Some(format!("Residents' survey: {} {RESIDENTS_EVIDENCE}", survey.title)),
            value_type: Some("Proportion".into()),
            ci_method: Some(method.clone()),
            ..Indicator::named(ind.id.clone(), ind.name.clone())
        })
        .await?;
    }
    tx.put_observations(&observations).await?;
    tx.commit().await?;
    let withheld = observations.iter().filter(|o| o.value.is_none()).count();
    Ok(Published {
        indicators: indicators.len(),
        responses: responses.len(),
        estimates: observations.len() - withheld,
        withheld,
    })
}

/// Weights for every response (in order) raked within its district and wave to
/// the district's residents aged 16 and over by age band and sex, from
/// `source`'s latest period; with the words saying how. `None` where the source
/// has no residents for some district.
async fn weigh(
    store: &dyn Database,
    responses: &[ResponseRecord],
    strata: &BTreeMap<String, AreaCode>,
    source: &str,
) -> Result<Option<(Vec<f64>, String)>, VoiceError> {
    let rows = store.populations(source).await?;
    let Some(latest) = rows.iter().map(|p| p.period.sort_key()).max() else {
        return Ok(None);
    };
    let period = rows
        .iter()
        .find(|p| p.period.sort_key() == latest)
        .map(|p| p.period.to_string())
        .unwrap_or_default();
    // (district, wave) → stratum number.
    let mut keys: BTreeMap<(AreaCode, &str), usize> = BTreeMap::new();
    let mut respondents = Vec::with_capacity(responses.len());
    for r in responses {
        let Some(&district) = strata.get(&r.lsoa) else {
            return Ok(None);
        };
        let next = keys.len();
        let stratum = *keys.entry((district, r.wave.as_str())).or_insert(next);
        respondents.push(Respondent {
            stratum,
            age: r
                .age_band
                .as_deref()
                .and_then(|a| AGE_BANDS.iter().position(|b| *b == a)),
            sex: r
                .sex
                .as_deref()
                .and_then(|s| SEXES.iter().position(|x| *x == s)),
        });
    }
    let mut margins = vec![
        Margins {
            age: [0.0; 7],
            sex: [0.0; 2]
        };
        keys.len()
    ];
    let mut districts: BTreeMap<AreaCode, Margins> = BTreeMap::new();
    for district in keys
        .keys()
        .map(|k| k.0)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let lsoas: std::collections::HashSet<AreaCode> =
            syndemic_place::small_areas_within(store, district)
                .await?
                .into_iter()
                .collect();
        let mut m = Margins {
            age: [0.0; 7],
            sex: [0.0; 2],
        };
        for p in rows
            .iter()
            .filter(|p| p.period.sort_key() == latest && lsoas.contains(&p.area))
        {
            let Some(shares) = survey_band_shares(&p.age) else {
                continue;
            };
            let Some(sex) = SEXES.iter().position(|s| *s == p.sex) else {
                continue;
            };
            for (slot, share) in m.age.iter_mut().zip(shares) {
                *slot += share * p.population;
            }
            m.sex[sex] += shares.iter().sum::<f64>() * p.population;
        }
        districts.insert(district, m);
    }
    for ((district, _), &k) in &keys {
        margins[k] = districts[district].clone();
    }
    Ok(voice::weights(&respondents, &margins).map(|w| {
        (
            w,
            format!("weighted to residents aged 16 and over by age band and sex within each district ({source}, {period}; raked, to sex alone or to the total where a district's answers cannot meet both)"),
        )
    }))
}

/// What defining a community place needs: its name and description, the list
/// of small areas, wards and postcodes (one per line), how it was chosen, the
/// partnership's place it must lie in and the partnership defining it.
#[derive(Debug, Clone)]
pub struct PlaceDefinition<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub list: &'a str,
    /// `map`, `postcodes` or `list`.
    pub chosen_by: &'a str,
    pub place: AreaCode,
    pub partnership_id: Option<&'a str>,
}

/// The longest name of a community place.
pub const MAX_PLACE_NAME: usize = 120;
/// The longest description of a community place.
pub const MAX_PLACE_DESCRIPTION: usize = 2_000;

/// Defines a community place, all or nothing: every entry of the list that
/// cannot be used is named by line (and nothing is kept); otherwise the place is
/// numbered, kept with its small areas and audited, and its code returned. Its
/// values appear at the next compute of each indicator and the next publication
/// of each survey.
pub async fn define_place(
    store: &dyn Database,
    d: &PlaceDefinition<'_>,
    audit: &AuditEntry,
    now: i64,
) -> Result<AreaCode, VoiceError> {
    let problem = |message: String| VoiceError::Community(vec![message]);
    let name = d.name.trim();
    if name.is_empty() || name.chars().count() > MAX_PLACE_NAME {
        return Err(problem(format!(
            "name: give the community place a name of 1 to {MAX_PLACE_NAME} characters"
        )));
    }
    if d.description.chars().count() > MAX_PLACE_DESCRIPTION {
        return Err(problem(format!(
            "description: at most {MAX_PLACE_DESCRIPTION} characters"
        )));
    }
    if !["map", "postcodes", "list"].contains(&d.chosen_by) {
        return Err(problem(format!(
            "chosen by `{}`: one of map, postcodes or list",
            d.chosen_by
        )));
    }
    let place_name = store
        .area(d.place)
        .await?
        .and_then(|a| a.area.name)
        .unwrap_or_else(|| d.place.to_string());
    let placer = Placer::new(store, d.place, &place_name).await?;
    let chosen = match syndemic_place::community::choose(store, &placer, d.list).await? {
        Ok(chosen) => chosen,
        Err(problems) => {
            return Err(VoiceError::Community(
                problems
                    .iter()
                    .take(MAX_PROBLEMS)
                    .map(ToString::to_string)
                    .collect(),
            ))
        }
    };
    let record = CommunityPlaceRecord {
        code: d.place,
        name: name.to_owned(),
        description: d.description.trim().to_owned(),
        within: chosen.within,
        chosen_by: d.chosen_by.to_owned(),
        partnership_id: d.partnership_id.map(str::to_owned),
        created_by: Some(audit.actor.clone()),
        created_at: now,
        areas: chosen.areas,
    };
    Ok(store.define_place(&record, audit).await?)
}

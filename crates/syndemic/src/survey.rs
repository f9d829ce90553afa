//! `syndemic survey`: create a residents' survey, import responses exported by
//! another tool (or typed up from paper) all or nothing, and list what is held.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use syndemic_access::secret::random_hex;
use syndemic_model::date::unix_now as now;
use syndemic_model::{AreaCode, Period};
use syndemic_partnership::layout::{read_responses, LayoutError, Problem, Sheet, MAX_PROBLEMS};
use syndemic_partnership::survey::{Answer, Channel, Survey};
use syndemic_partnership::voice::{self, Answered};
use syndemic_place::geography::parent_chain;
use syndemic_place::Placer;
use syndemic_store::disclosure::SUPPRESSED;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::{NewResponse, ResponseRecord, SurveyBatch, SurveyRecord};
use syndemic_store::prelude::*;
use syndemic_store::{Indicator, Observation};

use crate::evidence::{open, runtime, DbArgs};

#[derive(Args)]
pub struct SurveyArgs {
    #[command(subcommand)]
    command: SurveyCommand,
}

#[derive(Subcommand)]
enum SurveyCommand {
    /// Create a survey (or change its definition) from a JSON definition: slug,
    /// title, intro, lawful_basis, waves and questions (key, text, kind — Single,
    /// Multiple, Likert, Number, Text, Postcode or Pin — options, required, min, max).
    Create {
        /// The definition file.
        #[arg(long)]
        definition: PathBuf,
        /// The area it covers, by code (responses are placed in its small areas).
        #[arg(long)]
        place: String,
        /// The wave responses go to now (default: the last of the definition's).
        #[arg(long)]
        open_wave: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import responses from a CSV or XLSX export (loose headers: a question's
    /// key or its text; channel, age band, sex, ethnic group, postcode, LSOA or
    /// latitude and longitude): every row placed in a small area of the survey's
    /// place, or nothing is imported and every problem is listed by line and column.
    Import {
        /// The survey's slug.
        #[arg(long)]
        survey: String,
        /// The file.
        file: PathBuf,
        /// The wave the responses belong to (default: the survey's open wave).
        #[arg(long)]
        wave: Option<String>,
        /// The channel of rows that do not say (online, paper, in-person, phone).
        #[arg(long, default_value = "online")]
        channel: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Publish the survey's closed questions as indicators of residents'
    /// evidence: the share giving each answer, per wave, for every small area,
    /// ward and district of the place and the place itself, with Wilson limits;
    /// an area with fewer than 10 answers withheld (and whatever would reveal it).
    Compute {
        /// The survey's slug.
        #[arg(long)]
        survey: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The surveys held, with their responses by wave and channel.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(args: &SurveyArgs) -> Result<()> {
    runtime()?.block_on(async {
        match &args.command {
            SurveyCommand::Create {
                definition,
                place,
                open_wave,
                db,
            } => create(definition, place, open_wave.as_deref(), db).await,
            SurveyCommand::Import {
                survey,
                file,
                wave,
                channel,
                db,
            } => import(survey, file, wave.as_deref(), channel, db).await,
            SurveyCommand::Compute { survey, db } => compute(survey, db).await,
            SurveyCommand::List { db } => list(db).await,
        }
    })
}

fn audit(action: &str, record: &str, reason: String) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: "command line".into(),
        org: String::new(),
        action: action.into(),
        subject: "survey".into(),
        record: record.into(),
        reason,
    }
}

async fn create(
    definition: &PathBuf,
    place: &str,
    open_wave: Option<&str>,
    db: &DbArgs,
) -> Result<()> {
    let text = std::fs::read_to_string(definition)
        .with_context(|| format!("cannot read {}", definition.display()))?;
    let survey: Survey = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: line {}, column {}: {e}",
            definition.display(),
            e.line(),
            e.column()
        )
    })?;
    let problems = survey.check();
    if !problems.is_empty() {
        let list: Vec<String> = problems
            .iter()
            .map(|(f, m)| format!("  {f}: {m}"))
            .collect();
        bail!(
            "{}: the survey is not saved; fix:\n{}",
            definition.display(),
            list.join("\n")
        );
    }
    let place_code = AreaCode::parse(place).map_err(|e| anyhow::anyhow!("--place {place}: {e}"))?;
    let wave = open_wave
        .map(str::to_string)
        .or_else(|| survey.waves.last().cloned());
    if let Some(w) = &wave {
        if !survey.waves.contains(w) {
            bail!(
                "--open-wave {w}: not one of the survey's waves ({})",
                survey.waves.join(", ")
            );
        }
    }
    let store = open(db).await?;
    let Some(area) = store.area(place_code).await? else {
        bail!("--place {place}: no such area in the store; import the lookups first");
    };
    let place_name = area.area.name.unwrap_or_else(|| place_code.to_string());
    // Placing needs small areas: refuse a place without any now, not at the first response.
    Placer::new(&store, place_code, &place_name).await?;
    let existing = store.survey_by_slug(&survey.slug).await?;
    let record = SurveyRecord {
        id: existing.as_ref().map_or_else(
            || Ok(format!("survey-{}", random_hex(8)?)),
            |s| Ok::<_, anyhow::Error>(s.id.clone()),
        )?,
        slug: survey.slug.clone(),
        title: survey.title.clone(),
        definition: serde_json::to_string(&survey)?,
        place: place_code.to_string(),
        open_wave: wave,
        partnership_id: existing.as_ref().and_then(|s| s.partnership_id.clone()),
        created_at: existing.as_ref().map_or_else(now, |s| s.created_at),
    };
    store
        .put_survey(
            &record,
            &audit(
                if existing.is_some() {
                    "change"
                } else {
                    "create"
                },
                &record.slug,
                record.title.clone(),
            ),
        )
        .await?;
    store.close().await;
    println!(
        "{} survey {} ({} questions) for {}",
        if existing.is_some() {
            "Changed"
        } else {
            "Created"
        },
        record.slug,
        survey.questions.len(),
        place_name
    );
    Ok(())
}

/// A survey held, with its definition read.
pub(crate) async fn held(store: &dyn Database, slug: &str) -> Result<(SurveyRecord, Survey)> {
    let Some(record) = store.survey_by_slug(slug).await? else {
        let all: Vec<String> = store.surveys().await?.into_iter().map(|s| s.slug).collect();
        bail!(
            "no survey `{slug}` in the store (it holds: {}); create it with `syndemic survey create`",
            if all.is_empty() { "none".into() } else { all.join(", ") }
        );
    };
    let survey: Survey = serde_json::from_str(&record.definition)
        .with_context(|| format!("survey `{slug}`: its stored definition is unreadable"))?;
    Ok((record, survey))
}

async fn import(
    slug: &str,
    file: &PathBuf,
    wave: Option<&str>,
    channel: &str,
    db: &DbArgs,
) -> Result<()> {
    let Some(channel) = Channel::parse(channel) else {
        bail!(
            "--channel {channel}: one of {}",
            Channel::ALL.map(Channel::code).join(", ")
        );
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let store = open(db).await?;
    let (record, survey) = held(&store, slug).await?;
    let wave = match wave.map(str::to_string).or(record.open_wave.clone()) {
        Some(w) if survey.waves.contains(&w) => w,
        Some(w) => bail!(
            "--wave {w}: not one of the survey's waves ({})",
            survey.waves.join(", ")
        ),
        None => bail!("the survey is closed: give the --wave these responses belong to"),
    };
    let sheet = Sheet::read(&name, &bytes)?;
    let read = read_responses(&sheet, &survey, channel)?;
    let place: AreaCode = AreaCode::parse(&record.place).map_err(|e| anyhow::anyhow!("{e}"))?;
    let place_name = store
        .area(place)
        .await?
        .and_then(|a| a.area.name)
        .unwrap_or_else(|| record.place.clone());
    let placer = Placer::new(&store, place, &place_name).await?;
    let mut problems: Vec<Problem> = Vec::new();
    let mut more = 0;
    let mut responses = Vec::with_capacity(read.responses.len());
    let at = now();
    for r in &read.responses {
        match placer.place(&store, &r.response.location).await? {
            Ok(lsoa) => responses.push(NewResponse {
                record: ResponseRecord {
                    id: format!("response-{}", random_hex(10)?),
                    wave: wave.clone(),
                    channel: r.channel.code().into(),
                    lsoa: lsoa.to_string(),
                    age_band: r.response.age_band.map(str::to_string),
                    sex: r.response.sex.map(str::to_string),
                    ethnicity: r.response.ethnicity.map(str::to_string),
                    answers: r.response.answers_json(),
                    at,
                },
                texts: r.response.texts.clone(),
            }),
            Err(why) => {
                let field = survey.location_field(&r.response.location).to_string();
                if problems.len() < MAX_PROBLEMS {
                    problems.push(Problem {
                        line: r.line,
                        column: read.column_of(&field),
                        field,
                        message: why.to_string(),
                    });
                } else {
                    more += 1;
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(LayoutError {
            file: name,
            problems,
            more,
        }
        .into());
    }
    let batch = SurveyBatch {
        id: format!("batch-{}", random_hex(10)?),
        survey_id: record.id.clone(),
        kind: "import".into(),
        entered_by: Some("command line".into()),
        at,
    };
    store
        .add_responses(
            &batch,
            &responses,
            &[],
            &audit(
                "import",
                &record.slug,
                format!("{} responses to wave {wave} from {name}", responses.len()),
            ),
        )
        .await?;
    store.close().await;
    let mut by_channel: Vec<String> = Channel::ALL
        .iter()
        .filter_map(|c| {
            let n = read.responses.iter().filter(|r| r.channel == *c).count();
            (n > 0).then(|| format!("{} {n}", c.code()))
        })
        .collect();
    by_channel.sort();
    println!(
        "Imported {} responses to {} wave {wave} ({})",
        responses.len(),
        record.slug,
        by_channel.join(", ")
    );
    if !read.ignored.is_empty() {
        println!("Columns not kept: {}", read.ignored.join(", "));
    }
    Ok(())
}

/// The ages a survey's indicators describe: residents aged 16 and over.
pub(crate) const SURVEY_AGES: &str = "16+ yrs";

async fn compute(slug: &str, db: &DbArgs) -> Result<()> {
    let store = open(db).await?;
    let (record, survey) = held(&store, slug).await?;
    let responses = store.responses(&record.id).await?;
    let answers: Vec<BTreeMap<String, Answer>> = responses
        .iter()
        .map(|r| serde_json::from_str(&r.answers))
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("survey `{slug}`: a stored response is unreadable"))?;
    let place = AreaCode::parse(&record.place).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Each small area counts towards itself, its ward and every area above it
    // up to the place (never beyond: a survey of one place says nothing of England).
    let mut areas: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in &responses {
        if areas.contains_key(r.lsoa.as_str()) {
            continue;
        }
        let lsoa = AreaCode::parse(&r.lsoa).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut list = vec![r.lsoa.clone()];
        for p in parent_chain(&store, lsoa).await? {
            list.push(p.link.parent.to_string());
            if p.link.parent == place {
                break;
            }
        }
        if !list.contains(&record.place) {
            list.push(record.place.clone());
        }
        areas.insert(r.lsoa.as_str(), list);
    }
    let answered: Vec<Answered<'_>> = responses
        .iter()
        .zip(&answers)
        .map(|(r, a)| Answered {
            lsoa: &r.lsoa,
            wave: &r.wave,
            answers: a,
            weight: 1.0,
        })
        .collect();
    let estimates = voice::estimates(&survey, &answered, |l| {
        areas.get(l).cloned().unwrap_or_default()
    });
    let indicators = voice::indicators(&survey);
    let mut observations = Vec::with_capacity(estimates.len());
    for e in &estimates {
        let withheld = e.value.is_none();
        let ends = |v: f64| (!withheld && v.is_finite()).then_some(v);
        observations.push(Observation {
            indicator: indicators[e.indicator].id.clone(),
            area: AreaCode::parse(&e.area).map_err(|err| anyhow::anyhow!("{err}"))?,
            period: Period::parse(&e.wave)
                .map_err(|err| anyhow::anyhow!("wave {}: {err}", e.wave))?,
            sex: "Persons".into(),
            age: SURVEY_AGES.into(),
            category_type: String::new(),
            category: String::new(),
            count: (!withheld).then_some(e.count as f64),
            denominator: (!withheld).then_some(e.n as f64),
            value: e.value,
            lower95: ends(e.limits95.0),
            upper95: ends(e.limits95.1),
            lower998: ends(e.limits998.0),
            upper998: ends(e.limits998.1),
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
                "Residents' evidence: the percentage of residents aged 16 and over answering the survey \"{}\" who answered \"{question}\" so. Sample size is the number who answered the question; areas with fewer than {} answers are withheld.",
                survey.title,
                voice::MIN_RESPONSES
            )),
            measure_type: Some("proportion".into()),
            multiplier: Some(100.0),
            unit: Some("%".into()),
            source: Some(format!("Residents' survey: {} (community)", survey.title)),
            value_type: Some("Proportion".into()),
            ci_method: Some("Wilson score interval; unweighted (every response weighted 1)".into()),
            ..Indicator::named(ind.id.clone(), ind.name.clone())
        })
        .await?;
    }
    tx.put_observations(&observations).await?;
    tx.commit().await?;
    store.close().await;
    let published = observations.iter().filter(|o| o.value.is_some()).count();
    println!(
        "Computed {} indicators of {} from {} responses: {} estimates published, {} withheld (fewer than {} answers)",
        indicators.len(),
        record.slug,
        responses.len(),
        published,
        observations.len() - published,
        voice::MIN_RESPONSES
    );
    Ok(())
}

async fn list(db: &DbArgs) -> Result<()> {
    let store = open(db).await?;
    for s in store.surveys().await? {
        let responses = store.responses(&s.id).await?;
        let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
        for r in &responses {
            *counts
                .entry((r.wave.clone(), r.channel.clone()))
                .or_default() += 1;
        }
        println!(
            "{}  {}  ({} responses; open wave: {})",
            s.slug,
            s.title,
            responses.len(),
            s.open_wave.as_deref().unwrap_or("closed")
        );
        for ((wave, channel), n) in counts {
            println!("  {wave}  {channel}  {n}");
        }
    }
    store.close().await;
    Ok(())
}

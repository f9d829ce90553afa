//! `syndemic survey`: create a residents' survey, import responses exported by
//! another tool (or typed up from paper) all or nothing, and list what is held.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use syndemic_access::secret::random_hex;
use syndemic_model::date::unix_now as now;
use syndemic_model::AreaCode;
use syndemic_partnership::layout::{read_responses, Sheet};
use syndemic_partnership::survey::{Channel, Survey};
use syndemic_partnership::voice::MIN_RESPONSES;
use syndemic_place::Placer;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::{SurveyBatch, SurveyRecord};
use syndemic_store::prelude::*;
use syndemic_voice::{definition, place_sheet, publish};

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
        /// Weight each wave's respondents to the residents aged 16 and over of
        /// each district, by age band and sex, from this population source (as
        /// imported: `syndemic import population --source NAME`); unweighted
        /// without it.
        #[arg(long, value_name = "SOURCE")]
        population: Option<String>,
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
            SurveyCommand::Compute {
                survey,
                population,
                db,
            } => compute(survey, population.as_deref(), db).await,
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
    let survey = definition(&record)?;
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
    let at = now();
    let responses = place_sheet(&store, &placer, &survey, &read, &name, &wave, at).await?;
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

async fn compute(slug: &str, population: Option<&str>, db: &DbArgs) -> Result<()> {
    let store = open(db).await?;
    let (record, _) = held(&store, slug).await?;
    if let Some(source) = population {
        if store.populations(source).await?.is_empty() {
            bail!("--population {source}: no population of that source in the store; import one with `syndemic import population --source {source}`");
        }
    }
    let done = publish(&store, &record, population).await?;
    store.close().await;
    println!(
        "Computed {} indicators of {} from {} responses ({}): {} estimates published, {} withheld (fewer than {} answers)",
        done.indicators,
        record.slug,
        done.responses,
        if population.is_some() { "weighted" } else { "unweighted" },
        done.estimates,
        done.withheld,
        MIN_RESPONSES
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

//! The demo's residents' survey, "Hartmoor voices": two waves (2025 and 2026)
//! of responses online, on paper, in person and by phone, their answers leaning
//! with each neighbourhood's deprivation and the sample leaning older, female
//! and away from the most deprived neighbourhoods, as real samples do. Every response goes through the code real ones
//! do — a sheet read by `read_responses`, placed by `syndemic_voice::place_sheet`,
//! added as a batch — and the survey is published as indicators of residents'
//! evidence by `syndemic_voice::publish`, weighted to the demo's residents;
//! and 120 pins on "what matters here", most of them already moderated.
//! Only the answers are invented.

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use syndemic_model::{AreaCode, AreaType};
use syndemic_partnership::layout::{read_responses, Sheet};
use syndemic_partnership::survey::{Channel, Kind, Question, Survey, AGE_BANDS, THEMES};
use syndemic_place::Placer;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::{CommitmentRecord, PinRecord, SurveyBatch, SurveyRecord};
use syndemic_store::prelude::*;
use syndemic_store::SqlStore;

use crate::{DemoError, COUNTY, EDITION, SEED};

/// The demo survey's slug.
pub const SLUG: &str = "hartmoor-voices";
/// The county plan its answer is committed in, and the Marmot objective.
const PLAN: &str = "hartmoor-marmot-plan";
const OBJECTIVE: &str = "places";

fn question(key: &str, text: &str, kind: Kind, options: &[&str], required: bool) -> Question {
    Question {
        key: key.into(),
        text: text.into(),
        kind,
        options: options.iter().map(|o| o.to_string()).collect(),
        required,
        min: None,
        max: None,
    }
}

/// What the demo survey asks.
pub fn definition() -> Survey {
    Survey {
        slug: SLUG.into(),
        title: "Hartmoor voices".into(),
        intro: "What is it like to live in your part of Hartmoor, and what would make the most difference? It takes five minutes.".into(),
        lawful_basis: "Public task (UK GDPR Article 6(1)(e)); age, sex and ethnic group: explicit consent (Article 9(2)(a)), given by answering".into(),
        questions: vec![
            question("postcode", "Your postcode", Kind::Postcode, &[], true),
            question("feel_safe", "I feel safe walking in my area after dark", Kind::Likert, &[], true),
            question("warm_home", "Could you keep your home warm enough last winter?", Kind::Single, &["Yes", "No"], false),
            question("lonely", "Do you feel lonely often or always?", Kind::Single, &["Yes", "No"], false),
            question(
                "what_would_help",
                "What would make the most difference where you live?",
                Kind::Multiple,
                &["Buses and transport", "Warmer homes", "Somewhere to meet", "Help with money", "Green spaces"],
                false,
            ),
            question("comment", "Anything else you want the partners to hear?", Kind::Text, &[], false),
        ],
        waves: vec!["2025".into(), "2026".into()],
    }
}

const COMMENTS: [&str; 6] = [
    "The last bus leaves too early to get back from a shift.",
    "Our street lights have been out since the autumn.",
    "The community centre closing left the older people with nowhere to go.",
    "Heating costs more than we can pay; we sit in one room.",
    "The park is lovely but the path floods every winter.",
    "It took months to find out what help there is with debt.",
];

fn pick<'a>(rng: &mut ChaCha8Rng, weights: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = weights.iter().map(|w| w.1).sum();
    let mut x = rng.random::<f64>() * total;
    for (v, w) in weights {
        if x < *w {
            return v;
        }
        x -= w;
    }
    weights[weights.len() - 1].0
}

/// One wave's responses as a sheet of another tool's export.
fn wave_sheet(rng: &mut ChaCha8Rng, areas: &[(AreaCode, f64)], wave: usize, n: usize) -> String {
    let mut text = String::from("Response ID,Channel,LSOA code,I feel safe walking in my area after dark,warm_home,lonely,What would make the most difference where you live?,comment,Age group,Sex\n");
    for i in 0..n {
        // The most deprived neighbourhoods answer least, as in most surveys.
        let (code, dep) = loop {
            let (code, dep) = areas[rng.random_range(0..areas.len())];
            if rng.random::<f64>() < 1.0 - 0.5 * dep {
                break (code, dep);
            }
        };
        // Things get a little better in the second wave where it is worst.
        let dep = dep * if wave == 1 { 0.9 } else { 1.0 };
        let agree = 0.78 - 0.38 * dep;
        let safe = if rng.random::<f64>() < agree {
            pick(rng, &[("Strongly agree", 0.4), ("Agree", 0.6)])
        } else {
            pick(
                rng,
                &[
                    ("Neither agree nor disagree", 0.4),
                    ("Disagree", 0.4),
                    ("Strongly disagree", 0.2),
                ],
            )
        };
        let warm = if rng.random::<f64>() < 0.06 + 0.3 * dep {
            "No"
        } else {
            "Yes"
        };
        let lonely = if rng.random::<f64>() < 0.05 + 0.12 * dep {
            "Yes"
        } else {
            "No"
        };
        let mut help = Vec::new();
        for (option, base) in [
            ("Buses and transport", 0.35),
            ("Warmer homes", 0.1 + 0.4 * dep),
            ("Somewhere to meet", 0.25),
            ("Help with money", 0.08 + 0.35 * dep),
            ("Green spaces", 0.2),
        ] {
            if rng.random::<f64>() < base {
                help.push(option);
            }
        }
        let comment = if rng.random::<f64>() < 0.04 {
            COMMENTS[rng.random_range(0..COMMENTS.len())]
        } else {
            ""
        };
        // Older and female residents answer more, as in most surveys.
        let age = AGE_BANDS[pick(
            rng,
            &[
                ("0", 0.6),
                ("1", 0.9),
                ("2", 1.0),
                ("3", 1.2),
                ("4", 1.4),
                ("5", 1.5),
                ("6", 1.1),
            ],
        )
        .parse::<usize>()
        .unwrap_or(0)];
        let age = if rng.random::<f64>() < 0.08 {
            "Prefer not to say"
        } else {
            age
        };
        let sex = pick(
            rng,
            &[
                ("Female", 0.58),
                ("Male", 0.40),
                ("Prefer not to say", 0.02),
            ],
        );
        let channel = pick(
            rng,
            &[
                ("online", 0.7),
                ("paper", 0.15),
                ("in person", 0.1),
                ("phone", 0.05),
            ],
        );
        writeln!(
            text,
            "{}-{i},{channel},{code},{safe},{warm},{lonely},{},\"{comment}\",{age},{sex}",
            2025 + wave,
            help.join("; ")
        )
        .expect("writing to a string");
    }
    text
}

fn audit(at: i64, action: &str, reason: &str) -> AuditEntry {
    AuditEntry {
        at,
        actor: "demo".into(),
        org: "hartmoor-county-council".into(),
        action: action.into(),
        subject: "survey".into(),
        record: SLUG.into(),
        reason: reason.into(),
    }
}

/// Creates the survey, adds its two waves and publishes its indicators.
pub async fn seed(
    store: &SqlStore,
    now: i64,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), DemoError> {
    progress("residents' voices: a survey in two waves");
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 19);
    let survey = definition();
    let county = AreaCode::parse(COUNTY).map_err(|e| DemoError::Survey(e.to_string()))?;
    let record = SurveyRecord {
        id: "survey-hartmoor-voices".into(),
        slug: SLUG.into(),
        title: survey.title.clone(),
        definition: serde_json::to_string(&survey).map_err(|e| DemoError::Survey(e.to_string()))?,
        place: COUNTY.into(),
        open_wave: Some("2026".into()),
        partnership_id: Some(crate::partnership::BOARD.into()),
        created_at: now - 400 * 86_400,
    };
    store
        .put_survey(
            &record,
            &audit(record.created_at, "create", "the demo survey"),
        )
        .await?;
    let deciles: rustc_hash::FxHashMap<AreaCode, i64> = store
        .deprivation_table(EDITION, "imd")
        .await?
        .into_iter()
        .map(|d| (d.area, d.decile))
        .collect();
    let areas: Vec<(AreaCode, f64)> = store
        .areas_of_type(AreaType::Lsoa)
        .await?
        .into_iter()
        .map(|a| {
            (
                a.code,
                1.0 - (*deciles.get(&a.code).unwrap_or(&5) as f64 - 1.0) / 9.0,
            )
        })
        .collect();
    let placer = Placer::new(store, county, "Hartmoor").await?;
    for (w, (wave, n, days_ago)) in [("2025", 900, 330), ("2026", 1100, 20)]
        .into_iter()
        .enumerate()
    {
        let at = now - days_ago * 86_400;
        let text = wave_sheet(&mut rng, &areas, w, n);
        let file = format!("hartmoor-voices-{wave}.csv");
        let sheet =
            Sheet::read(&file, text.as_bytes()).map_err(|e| DemoError::Survey(e.to_string()))?;
        let read = read_responses(&sheet, &survey, Channel::Online)
            .map_err(|e| DemoError::Survey(e.to_string()))?;
        let responses =
            syndemic_voice::place_sheet(store, &placer, &survey, &read, &file, wave, at)
                .await
                .map_err(|e| DemoError::Survey(e.to_string()))?;
        let batch = SurveyBatch {
            id: format!("demo-batch-{wave}"),
            survey_id: record.id.clone(),
            kind: "import".into(),
            entered_by: Some("demo".into()),
            at,
        };
        store
            .add_responses(
                &batch,
                &responses,
                &[],
                &audit(
                    at,
                    "import",
                    &format!("{} responses, wave {wave}", responses.len()),
                ),
            )
            .await?;
    }
    syndemic_voice::publish(store, &record, Some(crate::POPULATION))
        .await
        .map_err(|e| DemoError::Survey(e.to_string()))?;
    // What matters here: residents' pins, most already checked by the team.
    let pin_comments = [
        "The crossing outside the school needs a lollipop person.",
        "This community garden is the best thing in the village.",
        "Buses stop running at six.",
        "Damp flats on this estate; the landlord does nothing.",
        "",
    ];
    for i in 0..120 {
        let (code, dep) = areas[rng.random_range(0..areas.len())];
        let lsoa = placer
            .lsoa(code)
            .map_err(|e| DemoError::Survey(e.to_string()))?;
        let theme = if rng.random::<f64>() < 0.3 + 0.3 * dep {
            pick(
                &mut rng,
                &[
                    ("Warm, safe homes", 1.0),
                    ("Money and work", 1.0),
                    ("Feeling safe", 1.0),
                ],
            )
        } else {
            THEMES[rng.random_range(0..THEMES.len())]
        };
        let at = now - rng.random_range(1..300) * 86_400;
        let pin = PinRecord {
            id: format!("demo-pin-{i}"),
            survey_id: record.id.clone(),
            theme: theme.into(),
            lsoa: lsoa.to_string(),
            comment: pin_comments[rng.random_range(0..pin_comments.len())].into(),
            status: if i % 10 == 0 { "pending" } else { "approved" }.into(),
            at,
        };
        store
            .add_pin(&pin, &audit(at, "create", "a pin on what matters here"))
            .await?;
    }
    // The board answers what residents said with a commitment measured by it,
    // shown on the plan's "you said, we did" page.
    if let Some(plan) = store.plans().await?.into_iter().find(|p| p.id == PLAN) {
        let commitment = CommitmentRecord {
            id: "commitment-voices-safe".into(),
            plan_id: plan.id.clone(),
            reference: "V1".into(),
            title: "Light and staff the routes residents said feel unsafe after dark".into(),
            lead_org: "hartmoor-county-council".into(),
            contributors: Vec::new(),
            framework: Some(syndemic_partnership::framework::MARMOT.into()),
            objective: Some(OBJECTIVE.into()),
            indicator: Some(format!("{SLUG}:feel_safe:agree")),
            indicator_area: Some(COUNTY.into()),
            baseline_period: Some("2025".into()),
            baseline_value: None,
            target_value: Some(80.0),
            target_date: Some("2028-03-31".into()),
            target_rule: None,
            areas: Vec::new(),
            milestones: Vec::new(),
            created_at: now - 300 * 86_400,
        };
        store
            .put_plan(
                &plan,
                &[commitment],
                &audit(
                    now - 300 * 86_400,
                    "change",
                    "a commitment answering the survey",
                ),
            )
            .await?;
    }
    Ok(())
}

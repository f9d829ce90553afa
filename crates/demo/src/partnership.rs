//! Hartmoor's partnership: 31 organisations across the six sectors with their
//! profiles, the county's health and wellbeing board and a town partnership
//! nested in it, two action plans with 20 commitments linked to the demo's
//! indicators (targets set against the computed baselines, target areas resolved
//! by deprivation), a year of quarterly progress updates, a board review, three
//! anchor institutions with their measures and social value, 500 businesses with
//! UK Business Counts, and two business-engagement self-assessments — written
//! through the store's own operations, as the web application would.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use syndemic_engine::TargetGroup;
use syndemic_model::{AreaCode, AreaType, Period, TARGET_AREAS};
use syndemic_partnership::framework;
use syndemic_partnership::sector::SizeBand;
use syndemic_partnership::target::{Ranked, TargetRule};
use syndemic_store::hub::{AuditEntry, HubOrg};
use syndemic_store::partnership::{
    AnchorRecord, BusinessCountRecord, BusinessRecord, CommitmentRecord, FrameworkRecord,
    MaturityRecord, MemberRecord, MilestoneRecord, PartnerProfile, PartnersImport,
    PartnershipRecord, PlanRecord, ReviewRecord, SocialValueRecord, UpdateRecord,
};
use syndemic_store::{SqlStore, Store};

use crate::{DemoError, COUNTY, SEED};
use syndemic_model::date::format_unix_day;
use syndemic_store::prelude::*;

/// The county's health and wellbeing board.
pub const BOARD: &str = "hartmoor-hwb";
/// The town partnership nested in it.
pub const TOWN: &str = "saltmouth-partnership";
const SALTMOUTH: &str = "E07900003";

/// (id, name, sector, sub-type, employees, share living locally, anchor).
/// The first fourteen are the referral hub's partners.
const PARTNERS: &[(&str, &str, &str, &str, u64, f64, bool)] = &[
    (
        "hartmoor-hub",
        "Hartmoor Healthy Homes Hub",
        "local-government",
        "county-council",
        24,
        0.9,
        false,
    ),
    (
        "moorside-practice",
        "Moorside Medical Practice",
        "health-and-care",
        "primary-care",
        38,
        0.8,
        false,
    ),
    (
        "hartmoor-general",
        "Hartmoor General Hospital",
        "health-and-care",
        "nhs-trust",
        4200,
        0.71,
        true,
    ),
    (
        "hartmoor-fire",
        "Hartmoor Fire and Rescue Service",
        "public-services",
        "fire-and-rescue",
        610,
        0.83,
        false,
    ),
    (
        "hartmoor-police",
        "Hartmoor Police",
        "public-services",
        "police",
        1650,
        0.77,
        false,
    ),
    (
        "warm-homes",
        "Warm Homes Hartmoor CIC",
        "vcse",
        "social-enterprise",
        22,
        0.95,
        false,
    ),
    (
        "citizens-advice",
        "Citizens Advice Hartmoor",
        "vcse",
        "charity",
        46,
        0.9,
        false,
    ),
    (
        "age-friendly",
        "Age Friendly Hartmoor",
        "vcse",
        "charity",
        12,
        1.0,
        false,
    ),
    (
        "food-network",
        "Hartmoor Food Network",
        "vcse",
        "charity",
        6,
        1.0,
        false,
    ),
    (
        "council-housing",
        "Hartmoor Council housing standards",
        "local-government",
        "county-council",
        35,
        0.88,
        false,
    ),
    (
        "carers-centre",
        "Hartmoor Carers Centre",
        "vcse",
        "charity",
        18,
        0.94,
        false,
    ),
    (
        "mind-hartmoor",
        "Hartmoor Mind",
        "vcse",
        "charity",
        31,
        0.9,
        false,
    ),
    (
        "coast-energy",
        "Coast Energy",
        "business",
        "supplier",
        380,
        0.4,
        false,
    ),
    (
        "health-partnership",
        "Hartmoor Public Health",
        "health-and-care",
        "public-health",
        64,
        0.85,
        false,
    ),
    (
        "hartmoor-county-council",
        "Hartmoor County Council",
        "local-government",
        "county-council",
        5200,
        0.81,
        true,
    ),
    (
        "kingsbridge-district",
        "Kingsbridge District Council",
        "local-government",
        "district-council",
        420,
        0.86,
        false,
    ),
    (
        "saltmouth-town-council",
        "Saltmouth Town Council",
        "local-government",
        "parish-or-town-council",
        9,
        1.0,
        false,
    ),
    (
        "hartmoor-icb",
        "Hartmoor Integrated Care Board",
        "health-and-care",
        "icb",
        310,
        0.62,
        false,
    ),
    (
        "hartmoor-university",
        "University of Hartmoor",
        "public-services",
        "education",
        2900,
        0.58,
        true,
    ),
    (
        "hartmoor-college",
        "Hartmoor College",
        "public-services",
        "education",
        640,
        0.9,
        false,
    ),
    (
        "jobcentre-hartmoor",
        "Jobcentre Plus Hartmoor",
        "public-services",
        "employment-services",
        120,
        0.92,
        false,
    ),
    (
        "hartmoor-probation",
        "Hartmoor Probation Service",
        "public-services",
        "criminal-justice",
        85,
        0.8,
        false,
    ),
    (
        "hartmoor-leisure",
        "Hartmoor Leisure Trust",
        "public-services",
        "leisure",
        260,
        0.93,
        false,
    ),
    (
        "moor-homes",
        "Moor Homes Housing Association",
        "vcse",
        "housing-association",
        410,
        0.87,
        false,
    ),
    (
        "hartmoor-cvs",
        "Hartmoor Council for Voluntary Service",
        "vcse",
        "infrastructure-body",
        14,
        1.0,
        false,
    ),
    (
        "hartmoor-chamber",
        "Hartmoor Chamber of Commerce",
        "business",
        "chamber-of-commerce",
        8,
        1.0,
        false,
    ),
    (
        "moorland-foods",
        "Moorland Foods Ltd",
        "business",
        "employer",
        730,
        0.9,
        false,
    ),
    (
        "westcombe-engineering",
        "Westcombe Engineering Ltd",
        "business",
        "employer",
        140,
        0.85,
        false,
    ),
    (
        "saltmouth-residents",
        "Saltmouth Residents' Association",
        "community",
        "residents-association",
        0,
        1.0,
        false,
    ),
    (
        "eastmoor-forum",
        "Eastmoor Community Forum",
        "community",
        "community-forum",
        0,
        1.0,
        false,
    ),
    (
        "kingsbridge-tenants",
        "Kingsbridge Tenants' Association",
        "community",
        "tenants-association",
        0,
        1.0,
        false,
    ),
];

/// The organisations that lead the board, and those of the town partnership.
const BOARD_LEADS: [&str; 2] = ["health-partnership", "hartmoor-county-council"];
const TOWN_MEMBERS: [(&str, &str); 9] = [
    ("saltmouth-town-council", "lead"),
    ("health-partnership", "lead"),
    ("moorside-practice", "member"),
    ("warm-homes", "member"),
    ("citizens-advice", "member"),
    ("moor-homes", "member"),
    ("hartmoor-fire", "member"),
    ("saltmouth-residents", "member"),
    ("coast-energy", "member"),
];

/// (reference, title, lead, contributors, objective, indicator, improvement
/// aimed for by the target date as a share of the baseline, target rule).
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    f64,
    Option<&'static str>,
);

const COUNTY_PLAN: [Spec; 12] = [
    (
        "M1",
        "Every family with a new baby offered a health visitor contact at home within 14 days",
        "health-partnership",
        &["moorside-practice", "hartmoor-general"],
        "early-years",
        "low_birth_weight",
        0.05,
        Some("local-quintile:E10900001:1"),
    ),
    (
        "M2",
        "School readiness support in every primary school in the most deprived fifth",
        "hartmoor-county-council",
        &["hartmoor-college"],
        "early-years",
        "school_readiness",
        0.03,
        Some("local-quintile:E10900001:1"),
    ),
    (
        "M3",
        "Second MMR dose catch-up clinics in family hubs",
        "hartmoor-icb",
        &["moorside-practice"],
        "prevention",
        "mmr2_5",
        0.02,
        None,
    ),
    (
        "M4",
        "GCSE attainment programme for disadvantaged pupils",
        "hartmoor-county-council",
        &["hartmoor-university", "hartmoor-college"],
        "education",
        "gcse_english_maths",
        0.08,
        None,
    ),
    (
        "M5",
        "500 local people from deprived areas into anchor-institution jobs",
        "hartmoor-general",
        &[
            "hartmoor-university",
            "jobcentre-hartmoor",
            "hartmoor-county-council",
        ],
        "work",
        "employment",
        0.04,
        Some("national-decile:E10900001:1-2"),
    ),
    (
        "M6",
        "Child poverty: maximise household income through benefits advice in schools",
        "citizens-advice",
        &["hartmoor-county-council", "jobcentre-hartmoor"],
        "income",
        "child_poverty",
        0.12,
        Some("local-quintile:E10900001:1"),
    ),
    (
        "M7",
        "Warm homes: insulate every fuel-poor home in the most deprived fifth",
        "warm-homes",
        &["council-housing", "coast-energy", "moor-homes"],
        "income",
        "fuel_poverty",
        0.2,
        Some("local-quintile:E10900001:1"),
    ),
    (
        "M8",
        "Smoke-free pregnancies and stop-smoking support in every practice",
        "health-partnership",
        &["moorside-practice", "hartmoor-general"],
        "prevention",
        "smoking",
        0.1,
        None,
    ),
    (
        "M9",
        "Falls prevention with fire service safe-and-well visits",
        "hartmoor-fire",
        &["age-friendly", "hartmoor-general"],
        "prevention",
        "falls_65",
        0.06,
        None,
    ),
    (
        "M10",
        "Cardiovascular checks in workplaces and community venues",
        "hartmoor-icb",
        &["moorland-foods", "hartmoor-leisure"],
        "prevention",
        "u75_cvd",
        0.1,
        Some("local-quintile:E10900001:1-2"),
    ),
    (
        "M11",
        "Social prescribing against loneliness in every neighbourhood",
        "hartmoor-cvs",
        &["age-friendly", "mind-hartmoor", "carers-centre"],
        "places",
        "loneliness",
        0.05,
        None,
    ),
    (
        "M12",
        "Healthy weight in primary schools: active travel and school meals",
        "hartmoor-leisure",
        &["hartmoor-county-council"],
        "places",
        "obesity_y6",
        0.04,
        None,
    ),
];

const TOWN_PLAN: [Spec; 8] = [
    (
        "S1",
        "Saltmouth warm homes street by street",
        "warm-homes",
        &["moor-homes", "coast-energy"],
        "income",
        "fuel_poverty",
        0.15,
        Some("local-quintile:E07900003:1"),
    ),
    (
        "S2",
        "Money advice sessions at the GP surgery every week",
        "citizens-advice",
        &["moorside-practice"],
        "income",
        "child_poverty",
        0.05,
        None,
    ),
    (
        "S3",
        "Flu vaccination outreach at the harbour and the food bank",
        "moorside-practice",
        &["saltmouth-residents"],
        "prevention",
        "flu_65",
        0.04,
        None,
    ),
    (
        "S4",
        "Emergency admissions: a frailty team in the community",
        "moorside-practice",
        &["hartmoor-fire", "warm-homes"],
        "prevention",
        "emergency_admissions",
        0.05,
        None,
    ),
    (
        "S5",
        "Self-harm: a safe space on the seafront on weekend evenings",
        "saltmouth-town-council",
        &["saltmouth-residents"],
        "places",
        "self_harm",
        0.1,
        None,
    ),
    (
        "S6",
        "Under-75 mortality: health checks through the residents' association",
        "health-partnership",
        &["saltmouth-residents", "moorside-practice"],
        "prevention",
        "u75_mortality",
        0.05,
        None,
    ),
    (
        "S7",
        "Smoking: a stop-smoking stall at the Saturday market",
        "health-partnership",
        &["saltmouth-town-council"],
        "prevention",
        "smoking",
        0.08,
        None,
    ),
    (
        "S8",
        "Loneliness: a befriending scheme with the residents' association",
        "saltmouth-residents",
        &["citizens-advice"],
        "places",
        "loneliness",
        0.1,
        None,
    ),
];

fn uuid(kind: u32, n: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

fn audit(at: i64, action: &str, subject: &str, record: &str) -> AuditEntry {
    AuditEntry {
        at,
        actor: "demo".into(),
        org: "health-partnership".into(),
        action: action.into(),
        subject: subject.into(),
        record: record.into(),
        reason: "demo seed".into(),
    }
}

/// The small areas a target rule means, as the web application resolves it.
async fn resolve(store: &dyn Store, text: &str) -> Result<Vec<AreaCode>, DemoError> {
    let rule = TargetRule::parse(text).map_err(|e| DemoError::Hub(e.to_string()))?;
    let inside = match rule.within() {
        Some(p) => ranked_within(store, p).await?,
        None => Vec::new(),
    };
    rule.resolve(&inside)
        .map_err(|e| DemoError::Hub(e.to_string()))
}

/// The target groups the demo's commitments measuring `indicator` will have,
/// resolved as [`seed`] resolves them (the same rules on the same ranks), so
/// that the build measures the indicator over them with everything else.
pub(crate) async fn planned_targets(
    store: &dyn Store,
    indicator: &str,
) -> Result<Vec<TargetGroup>, DemoError> {
    let mut out: Vec<TargetGroup> = Vec::new();
    for (area, specs) in [(COUNTY, &COUNTY_PLAN[..]), (SALTMOUTH, &TOWN_PLAN[..])] {
        let within = AreaCode::parse(area).map_err(|e| DemoError::Hub(e.to_string()))?;
        for (.., measured, _, rule) in specs {
            let Some(rule) = rule.filter(|_| *measured == indicator) else {
                continue;
            };
            if out.iter().any(|t| t.label == rule && t.within == within) {
                continue;
            }
            out.push(TargetGroup {
                label: rule.to_owned(),
                within,
                areas: resolve(store, rule).await?,
                place: None,
            });
        }
    }
    Ok(out)
}

/// The small areas within `parent` with their IMD rank, in the edition that
/// ranks the most of them (the rule the web application applies).
async fn ranked_within(store: &dyn Store, parent: AreaCode) -> Result<Vec<Ranked>, DemoError> {
    Ok(syndemic_place::edition::ranked_within(store, parent)
        .await?
        .map(|(_, rows)| rows)
        .unwrap_or_default()
        .into_iter()
        .map(|d| Ranked {
            area: d.area,
            rank: d.rank,
            decile: d.decile,
        })
        .collect())
}

/// The indicator's value for `area` in `year` (persons): of its whole
/// population, or with `target` of that group of target areas measured for it;
/// each indicator's observations are read once into `cache`.
async fn value_of(
    store: &SqlStore,
    cache: &mut rustc_hash::FxHashMap<String, Vec<syndemic_store::Observation>>,
    indicator: &str,
    area: &str,
    target: Option<&str>,
    year: &str,
) -> Result<Option<f64>, DemoError> {
    let period = Period::parse(year).map_err(|e| DemoError::Hub(e.to_string()))?;
    if !cache.contains_key(indicator) {
        let rows = store.observations(Some(indicator)).await?;
        cache.insert(indicator.to_owned(), rows);
    }
    Ok(cache[indicator]
        .iter()
        .filter(|o| o.area.as_str() == area && o.period == period)
        .filter(|o| match target {
            None => o.category_type.is_empty(),
            Some(rule) => o.category_type == TARGET_AREAS && o.category == rule,
        })
        .find(|o| o.sex == "Persons")
        .and_then(|o| o.value))
}

/// Seeds the partnership into a demo place whose hub is seeded; `now` is the end
/// of the demo's year.
pub async fn seed(
    store: &SqlStore,
    now: i64,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 6);
    progress("the partnership: partners, plans, commitments and businesses");
    let year_ago = now - 365 * 86_400;
    for f in framework::built_in() {
        store
            .put_framework(
                &FrameworkRecord {
                    code: f.code,
                    name: f.name,
                    partnership_id: None,
                    objectives: f
                        .objectives
                        .into_iter()
                        .map(|o| (o.code, o.label))
                        .collect(),
                },
                &audit(year_ago, "create", "framework", "built-in"),
            )
            .await?;
    }
    let lsoas = store.areas_of_type(AreaType::Lsoa).await?;
    let mut import = PartnersImport::default();
    for (i, (id, name, sector, sub, employees, local, anchor)) in PARTNERS.iter().enumerate() {
        if i >= 14 {
            import.orgs.push(HubOrg {
                id: (*id).into(),
                name: (*name).into(),
                sector: (*sector).into(),
                is_hub: false,
            });
        }
        let area = lsoas
            .get(rng.random_range(0..lsoas.len().max(1)))
            .map(|a| a.code.as_str().to_owned());
        import.profiles.push(PartnerProfile {
            org_id: (*id).into(),
            sector: (*sector).into(),
            sub_type: Some((*sub).into()),
            size_band: (*employees > 0).then(|| SizeBand::of_employees(*employees).code().into()),
            employees: (*employees > 0).then_some(*employees as i64),
            local_employee_share: (*employees > 0).then_some(*local),
            address: None,
            postcode: None,
            area,
            charity_number: (*sector == "vcse").then(|| format!("11{:05}", 23 + i * 97)),
            company_number: (*sector == "business").then(|| format!("0{:07}", 4_411_200 + i * 13)),
            anchor: *anchor,
        });
    }
    store
        .import_partners(&import, &audit(year_ago, "import", "partners", "demo"))
        .await?;
    let board = PartnershipRecord {
        id: BOARD.into(),
        name: "Hartmoor Health and Wellbeing Board".into(),
        kind: "health-and-wellbeing-board".into(),
        area: Some(COUNTY.into()),
        parent_id: None,
        framework: framework::MARMOT.into(),
    };
    let members: Vec<MemberRecord> = PARTNERS
        .iter()
        .map(|(id, ..)| MemberRecord {
            partnership_id: BOARD.into(),
            org_id: (*id).into(),
            role: if BOARD_LEADS.contains(id) {
                "lead"
            } else {
                "member"
            }
            .into(),
            title: match *id {
                "hartmoor-county-council" => Some("Chair".into()),
                "health-partnership" => Some("Director of Public Health".into()),
                "hartmoor-icb" => Some("Vice-chair".into()),
                _ => None,
            },
        })
        .collect();
    store
        .put_partnership(
            &board,
            &members,
            &audit(year_ago, "create", "partnership", BOARD),
        )
        .await?;
    let town = PartnershipRecord {
        id: TOWN.into(),
        name: "Saltmouth Community Partnership".into(),
        kind: "community-partnership".into(),
        area: Some(SALTMOUTH.into()),
        parent_id: Some(BOARD.into()),
        framework: framework::MARMOT.into(),
    };
    let town_members: Vec<MemberRecord> = TOWN_MEMBERS
        .iter()
        .map(|(id, role)| MemberRecord {
            partnership_id: TOWN.into(),
            org_id: (*id).into(),
            role: (*role).into(),
            title: None,
        })
        .collect();
    store
        .put_partnership(
            &town,
            &town_members,
            &audit(year_ago, "create", "partnership", TOWN),
        )
        .await?;

    let mut cache = rustc_hash::FxHashMap::default();
    for (n, (plan, partnership, area, title, owner, specs)) in [
        (
            "hartmoor-marmot-plan",
            BOARD,
            COUNTY,
            "Hartmoor Marmot Place Plan 2024–2028",
            "hartmoor-county-council",
            &COUNTY_PLAN[..],
        ),
        (
            "saltmouth-warm-and-well",
            TOWN,
            SALTMOUTH,
            "Saltmouth Warm and Well Plan 2025–2027",
            "saltmouth-town-council",
            &TOWN_PLAN[..],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let record = PlanRecord {
            id: plan.into(),
            partnership_id: partnership.into(),
            title: title.into(),
            owner_org: owner.into(),
            period_start: if n == 0 { "2024-04-01" } else { "2025-04-01" }.into(),
            period_end: if n == 0 { "2028-03-31" } else { "2027-03-31" }.into(),
            priorities: vec![
                "Close the gap in healthy life between the most and least deprived neighbourhoods — evidence: u75_mortality, emergency_admissions"
                    .into(),
                "Warm, safe homes and enough money to live on — evidence: fuel_poverty, hartmoor-voices:feel_safe:agree"
                    .into(),
                "Good work for local people through our anchor institutions".into(),
            ],
            update_every_days: 92,
        };
        let mut commitments = Vec::new();
        for (k, (reference, what, lead, with, objective, indicator, improve, rule)) in
            specs.iter().enumerate()
        {
            // Set against the target areas' own baseline where they have one (the
            // build measured them), as a plan for them would be.
            let baseline = match value_of(store, &mut cache, indicator, area, *rule, "2019").await?
            {
                Some(v) => Some(v),
                None => value_of(store, &mut cache, indicator, area, None, "2019").await?,
            };
            let polarity = store.indicator(indicator).await?.and_then(|i| i.polarity);
            let lower_better = polarity == Some(syndemic_store::Polarity::LowerIsBetter);
            let target = baseline.map(|b| {
                let v = if lower_better {
                    b * (1.0 - improve)
                } else {
                    b * (1.0 + improve)
                };
                (v * 100.0).round() / 100.0
            });
            let areas = match rule {
                Some(text) => resolve(store, text)
                    .await?
                    .into_iter()
                    .map(|a| a.as_str().to_owned())
                    .collect(),
                None => Vec::new(),
            };
            commitments.push(CommitmentRecord {
                id: uuid(0xc0 + n as u32, k),
                plan_id: plan.into(),
                reference: (*reference).into(),
                title: (*what).into(),
                lead_org: (*lead).into(),
                contributors: with.iter().map(|s| (*s).into()).collect(),
                framework: Some(framework::MARMOT.into()),
                objective: Some((*objective).into()),
                indicator: Some((*indicator).into()),
                indicator_area: None,
                baseline_period: Some("2019".into()),
                baseline_value: baseline,
                target_value: target,
                target_date: Some(if n == 0 { "2028-03-31" } else { "2027-03-31" }.into()),
                target_rule: rule.map(str::to_owned),
                areas,
                milestones: vec![
                    MilestoneRecord {
                        seq: 1,
                        due: format_unix_day(year_ago + 120 * 86_400),
                        what: "Delivery partners agreed and funded".into(),
                        done_on: None,
                    },
                    MilestoneRecord {
                        seq: 2,
                        due: format_unix_day(now + 180 * 86_400),
                        what: "First year's reach reported to the board".into(),
                        done_on: None,
                    },
                ],
                created_at: year_ago,
            });
        }
        store
            .put_plan(
                &record,
                &commitments,
                &audit(year_ago, "create", "plan", plan),
            )
            .await?;
        // A year of quarterly updates; a few commitments have missed their last.
        const STORIES: [(&str, &str); 4] = [
            (
                "on-track",
                "Partners met, delivery plan agreed and the first sessions held.",
            ),
            (
                "on-track",
                "Reach as planned this quarter; referrals from practices rising.",
            ),
            (
                "at-risk",
                "Staff vacancy slowed delivery; the lead is recruiting and partners are covering.",
            ),
            (
                "on-track",
                "Back to plan; numbers reached this quarter reported to the board.",
            ),
        ];
        for (k, c) in commitments.iter().enumerate() {
            let quarters = if k % 5 == 3 { 2 } else { 4 };
            for (q, (status, story)) in STORIES.iter().take(quarters).enumerate() {
                let at = year_ago + (q as i64 + 1) * 88 * 86_400 + rng.random_range(0..86_400);
                let mut status = *status;
                if k % 7 == 6 && q == 3 {
                    status = "off-track";
                }
                let done: Vec<(i64, String)> = if q == 1 {
                    vec![(1, format_unix_day(at))]
                } else {
                    Vec::new()
                };
                store
                    .add_update(
                        &UpdateRecord {
                            id: uuid(0xd0 + n as u32, k * 8 + q),
                            commitment_id: c.id.clone(),
                            at,
                            author: "demo".into(),
                            org_id: c.lead_org.clone(),
                            status: status.into(),
                            narrative: (*story).into(),
                            evidence: Vec::new(),
                        },
                        &[],
                        &done,
                        &audit(at, "update", "commitment", &c.id),
                    )
                    .await?;
            }
            // The board reviewed the county plan a month ago.
            if n == 0 {
                let rating = ["green", "amber", "green", "red", "green", "amber"][k % 6];
                let at = now - 30 * 86_400;
                store
                    .add_review(
                        &ReviewRecord {
                            id: uuid(0xe0, k),
                            commitment_id: c.id.clone(),
                            reviewed_on: format_unix_day(at),
                            rating: rating.into(),
                            actions: match rating {
                                "red" => "Escalated to the chief executives' group; a recovery plan to the next meeting.",
                                "amber" => "Lead to bring a revised trajectory and the partners' resourcing to the next review.",
                                _ => "Noted; continue as planned.",
                            }
                            .into(),
                            next_review: Some(format_unix_day(at + 91 * 86_400)),
                            by_user: "demo".into(),
                            at,
                        },
                        &audit(at, "review", "commitment", &c.id),
                    )
                    .await?;
            }
        }
    }

    // Anchor institutions: two years of measures and social value in contracts.
    let mut measures = Vec::new();
    let mut social = Vec::new();
    for (i, org) in [
        "hartmoor-general",
        "hartmoor-university",
        "hartmoor-county-council",
    ]
    .iter()
    .enumerate()
    {
        let employees = PARTNERS.iter().find(|p| p.0 == *org).map_or(0, |p| p.4) as i64;
        for (y, year) in [2024, 2025].into_iter().enumerate() {
            let step = y as f64 * 0.02;
            measures.push(AnchorRecord {
                org_id: (*org).into(),
                year,
                employees: Some(employees + y as i64 * 40),
                hired_most_deprived_share: Some(0.14 + 0.03 * i as f64 + step),
                local_spend_share: Some(0.31 + 0.05 * i as f64 + step),
                sme_vcse_spend_share: Some(0.18 + 0.02 * i as f64 + step),
                real_living_wage: Some(i != 1 || y == 1),
                apprenticeships: Some(40 + 25 * i as i64 + 10 * y as i64),
                volunteering_hours: Some(1200.0 + 800.0 * i as f64 + 300.0 * y as f64),
            });
            for (theme, outcome, measure, unit, qty, proxy) in [
                (
                    "Jobs",
                    "More local people in employment",
                    "NT1",
                    "people FTE",
                    12.0,
                    28_000.0,
                ),
                (
                    "Growth",
                    "More opportunities for local SMEs and VCSEs",
                    "NT18",
                    "£ spend",
                    250_000.0,
                    0.2,
                ),
                (
                    "Social",
                    "Healthier, safer and more resilient communities",
                    "NT28",
                    "hours",
                    400.0,
                    15.0,
                ),
            ] {
                social.push(SocialValueRecord {
                    org_id: (*org).into(),
                    year,
                    contract: format!(
                        "{} facilities contract",
                        ["Estates", "Campus", "Highways"][i]
                    ),
                    theme: theme.into(),
                    outcome: outcome.into(),
                    measure: measure.into(),
                    unit: unit.into(),
                    quantity: qty * (1.0 + 0.1 * y as f64 + 0.2 * i as f64),
                    proxy_value: proxy,
                });
            }
        }
    }
    store
        .import_anchor_measures(
            &measures,
            &social,
            &audit(now, "import", "anchor-measures", "demo"),
        )
        .await?;

    // The business map: a business rates list of 500 and UK Business Counts.
    const TRADES: [(&str, &str); 10] = [
        ("10710", "Bakery"),
        ("47110", "Stores"),
        ("56101", "Kitchen"),
        ("41201", "Builders"),
        ("45200", "Motors"),
        ("96020", "Hair and Beauty"),
        ("62020", "Digital"),
        ("86900", "Care"),
        ("01410", "Farm"),
        ("55100", "Hotel"),
    ];
    const NAMES: [&str; 12] = [
        "Moorview",
        "Harbour",
        "Kingsbridge",
        "Hartford",
        "Eastmoor",
        "Westcombe",
        "Saltmouth",
        "Granite",
        "Heather",
        "Tor",
        "Riverside",
        "Old Mill",
    ];
    let mut businesses = Vec::new();
    for i in 0..500 {
        let (band, employees) = match i {
            0..5 => (SizeBand::Large, rng.random_range(250..900)),
            5..30 => (SizeBand::Medium, rng.random_range(50..250)),
            30..110 => (SizeBand::Small, rng.random_range(10..50)),
            _ => (SizeBand::Micro, rng.random_range(1..10)),
        };
        let (sic, trade) = TRADES[rng.random_range(0..TRADES.len())];
        let area = lsoas
            .get(rng.random_range(0..lsoas.len().max(1)))
            .map(|a| a.code.as_str().to_owned());
        businesses.push(BusinessRecord {
            id: format!("hartmoor-rates-2026:{}", i + 1),
            source: "hartmoor-rates-2026".into(),
            name: format!(
                "{} {trade} {}",
                NAMES[i % NAMES.len()],
                if band == SizeBand::Micro { "" } else { "Ltd" }
            )
            .trim()
            .to_owned(),
            company_number: (band != SizeBand::Micro).then(|| format!("0{:07}", 5_100_000 + i * 7)),
            sic_code: Some(sic.into()),
            size_band: band.code().into(),
            employees: Some(employees),
            local_employees: Some((employees as f64 * rng.random_range(0.5..0.95)).round() as i64),
            postcode: None,
            area,
        });
    }
    store
        .import_businesses(
            "hartmoor-rates-2026",
            &businesses,
            &audit(now, "import", "businesses", "demo"),
        )
        .await?;
    let mut counts = Vec::new();
    for d in 1..=5 {
        for (band, text, base) in [
            (SizeBand::Micro, "0 to 9", 2_400),
            (SizeBand::Small, "10 to 49", 310),
            (SizeBand::Medium, "50 to 249", 55),
            (SizeBand::Large, "250+", 10),
        ] {
            for (industry, share) in [
                ("Production", 0.12),
                ("Construction", 0.16),
                ("Retail", 0.14),
                ("Health", 0.08),
                ("Other services", 0.5),
            ] {
                counts.push(BusinessCountRecord {
                    area: format!("E0790000{d}"),
                    year: 2025,
                    unit: "enterprises".into(),
                    size_band: band.code().into(),
                    band_text: text.into(),
                    industry: industry.into(),
                    count: ((base as f64) * share * (1.0 + 0.1 * d as f64)).round() as i64,
                });
            }
        }
    }
    store
        .import_business_counts(&counts, &audit(now, "import", "business-counts", "demo"))
        .await?;

    // Two self-assessments of the board's engagement with business, a year apart.
    for (k, (at, base)) in [(year_ago, 1_i64), (now - 14 * 86_400, 2)]
        .into_iter()
        .enumerate()
    {
        let rows: Vec<MaturityRecord> = syndemic_partnership::maturity::CRITERIA
            .iter()
            .enumerate()
            .map(|(i, (code, _))| MaturityRecord {
                partnership_id: BOARD.into(),
                assessed_on: format_unix_day(at),
                criterion: (*code).into(),
                score: (base + (i as i64 + k as i64) % 2).min(4),
                note: String::new(),
            })
            .collect();
        store
            .put_maturity(&rows, &audit(at, "assess", "maturity", BOARD))
            .await?;
    }
    Ok(())
}

//! Hartmoor's referral hub: partner organisations across the sectors, a
//! directory of services in Open Referral UK form with their referral terms,
//! demo users of every role, postcodes for the place's neighbourhoods, and a year
//! of synthetic referrals worked through triage to their outcomes — written
//! through the store's own hub operations, as the web application would.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use syndemic_access::Role;
use syndemic_hub::need::{ConsentMethod, LawfulBasis, Need, OutcomeCode, RiskFlag, Urgency};
use syndemic_hub::oruk::Feed;
use syndemic_hub::person::Person;
use syndemic_hub::referral::{Consent, Draft};
use syndemic_hub::status::Status;
use syndemic_hub::triage::Terms;
use syndemic_model::{AreaType, Level};
use syndemic_store::hub::{Change, HubOrg, NewReferral, Stamp, UserRecord};
use syndemic_store::{PostcodeRecord, SqlStore, Store};

use crate::{DemoError, EDITION, SEED};
use syndemic_store::prelude::*;

/// The password of every demo user (printed when the demo starts).
pub const DEMO_PASSWORD: &str = "hartmoor demo 2026";
/// The hub that takes the demo's referrals.
pub const HUB: &str = "hartmoor-hub";
/// Referrals in the demo's year.
const REFERRALS: usize = 600;

/// A demo user: user name, role, organisation.
pub const USERS: &[(&str, Role, &str)] = &[
    ("coordinator", Role::Coordinator, HUB),
    ("gp.referrer", Role::Referrer, "moorside-practice"),
    ("fire.referrer", Role::Referrer, "hartmoor-fire"),
    ("discharge.referrer", Role::Referrer, "hartmoor-general"),
    ("warmhomes.caseworker", Role::Caseworker, "warm-homes"),
    ("advice.caseworker", Role::Caseworker, "citizens-advice"),
    ("analyst", Role::Analyst, "health-partnership"),
    ("hub.admin", Role::OrgAdmin, HUB),
    ("sysadmin", Role::SystemAdmin, HUB),
    (
        "partnership.lead",
        Role::PartnershipLead,
        "health-partnership",
    ),
];

const ORGS: &[(&str, &str, &str, bool)] = &[
    (HUB, "Hartmoor Healthy Homes Hub", "council", true),
    (
        "moorside-practice",
        "Moorside Medical Practice",
        "nhs",
        false,
    ),
    (
        "hartmoor-general",
        "Hartmoor General Hospital discharge team",
        "nhs",
        false,
    ),
    (
        "hartmoor-fire",
        "Hartmoor Fire and Rescue Service",
        "fire",
        false,
    ),
    (
        "hartmoor-police",
        "Hartmoor Police neighbourhood team",
        "police",
        false,
    ),
    ("warm-homes", "Warm Homes Hartmoor CIC", "voluntary", false),
    (
        "citizens-advice",
        "Citizens Advice Hartmoor",
        "voluntary",
        false,
    ),
    ("age-friendly", "Age Friendly Hartmoor", "voluntary", false),
    ("food-network", "Hartmoor Food Network", "voluntary", false),
    (
        "council-housing",
        "Hartmoor Council housing standards",
        "council",
        false,
    ),
    (
        "carers-centre",
        "Hartmoor Carers Centre",
        "voluntary",
        false,
    ),
    ("mind-hartmoor", "Hartmoor Mind", "voluntary", false),
    (
        "coast-energy",
        "Coast Energy (priority services)",
        "business",
        false,
    ),
    (
        "health-partnership",
        "Hartmoor Health Partnership",
        "council",
        false,
    ),
];

/// (provider, service name, description, needs, minimum age).
const SERVICES: &[(&str, &str, &str, &[Need], u32)] = &[
    (
        "warm-homes",
        "Warm home assessment",
        "A home visit to find why a home is cold and what would fix it",
        &[
            Need::ColdHome,
            Need::Respiratory,
            Need::Cardiovascular,
            Need::DischargeCold,
        ],
        0,
    ),
    (
        "warm-homes",
        "Heating and insulation grants",
        "Grants for boilers, insulation and heating controls",
        &[Need::ColdHome, Need::LowIncome, Need::Aged65],
        18,
    ),
    (
        "warm-homes",
        "Emergency heating loan",
        "Temporary heaters for homes with no working heating",
        &[Need::ColdHome, Need::DischargeCold],
        0,
    ),
    (
        "citizens-advice",
        "Debt advice",
        "Free, confidential debt advice and repayment plans",
        &[Need::Debt, Need::LowIncome],
        16,
    ),
    (
        "citizens-advice",
        "Benefits check",
        "A full benefits check and help to claim",
        &[Need::LowIncome, Need::Aged65, Need::Disability, Need::Carer],
        16,
    ),
    (
        "citizens-advice",
        "Energy bill advice",
        "Help with energy debt, tariffs and supplier grants",
        &[Need::ColdHome, Need::Debt],
        16,
    ),
    (
        "age-friendly",
        "Befriending",
        "A weekly visit or call from a trained volunteer",
        &[Need::Isolation, Need::Aged65],
        60,
    ),
    (
        "age-friendly",
        "Home from hospital",
        "Practical support for the first weeks at home after a stay in hospital",
        &[Need::DischargeCold, Need::Aged65, Need::Isolation],
        50,
    ),
    (
        "age-friendly",
        "Community lunch clubs",
        "Hot meals and company in village halls",
        &[Need::Isolation, Need::Food, Need::Aged65],
        55,
    ),
    (
        "food-network",
        "Food bank referral",
        "Three days of food for a household, with advice",
        &[Need::Food, Need::LowIncome],
        0,
    ),
    (
        "food-network",
        "Community pantry",
        "Low-cost weekly food shop membership",
        &[Need::Food, Need::LowIncome],
        16,
    ),
    (
        "council-housing",
        "Damp and mould inspection",
        "An inspection of privately rented homes for hazards, with enforcement",
        &[Need::Housing, Need::Respiratory],
        0,
    ),
    (
        "council-housing",
        "Disabled facilities grant",
        "Adaptations so a disabled person can live safely at home",
        &[Need::Disability, Need::Housing],
        0,
    ),
    (
        "council-housing",
        "Housing options",
        "Advice for people at risk of losing their home",
        &[Need::Housing, Need::Debt],
        16,
    ),
    (
        "hartmoor-fire",
        "Safe and well visit",
        "A home fire safety visit with smoke alarms and a wellbeing check",
        &[Need::FireSafety, Need::Aged65, Need::ColdHome],
        0,
    ),
    (
        "moorside-practice",
        "Social prescribing link worker",
        "Time with a link worker to find community support",
        &[Need::Isolation, Need::MentalHealth, Need::Carer],
        16,
    ),
    (
        "moorside-practice",
        "Breathe easy respiratory clinic",
        "Pulmonary rehabilitation and inhaler reviews",
        &[Need::Respiratory],
        18,
    ),
    (
        "carers-centre",
        "Carers assessment and support",
        "Support, breaks and advice for unpaid carers",
        &[Need::Carer, Need::Isolation],
        8,
    ),
    (
        "carers-centre",
        "Carers emergency card",
        "A plan for the person cared for if the carer is taken ill",
        &[Need::Carer],
        16,
    ),
    (
        "mind-hartmoor",
        "Wellbeing cafe",
        "Drop-in peer support for mental wellbeing",
        &[Need::MentalHealth, Need::Isolation],
        16,
    ),
    (
        "mind-hartmoor",
        "Talking therapies referral support",
        "Help to access NHS talking therapies",
        &[Need::MentalHealth],
        16,
    ),
    (
        "coast-energy",
        "Priority services register",
        "Extra help from the energy network for people in vulnerable situations",
        &[Need::ColdHome, Need::Aged65, Need::Disability],
        0,
    ),
];

const TOWNS: [(&str, f64, f64); 5] = [
    ("Hartmoor", 50.92, -3.55),
    ("Saltcombe", 50.85, -3.30),
    ("Brackenford", 51.05, -3.70),
    ("Easterleigh", 50.98, -3.20),
    ("Westbury Moor", 51.10, -3.45),
];

fn uuid(kind: u32, n: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// Whether the hub part of the demo is there.
pub async fn is_seeded(store: &SqlStore) -> Result<bool, DemoError> {
    Ok(!store.orgs().await?.is_empty())
}

/// The directory as an ORUK feed: organisations, services with a location in a
/// town, a weekday schedule, and a need term from the hub's taxonomy.
fn directory() -> Value {
    let taxonomy = uuid(0x7a, 1);
    let terms: Vec<Value> = Need::ALL
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": uuid(0x7e, i), "name": n.label(), "description": n.label(), "taxonomy_id": taxonomy, "term": n.code()}))
        .collect();
    let organizations: Vec<Value> = ORGS
        .iter()
        .enumerate()
        .map(|(i, (_, name, sector, _))| json!({"id": uuid(0x0a, i), "name": name, "description": format!("{name} ({sector} sector partner)")}))
        .collect();
    let services: Vec<Value> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, (provider, name, description, needs, min_age))| {
            let org = ORGS.iter().position(|o| o.0 == *provider).unwrap_or(0);
            let (town, lat, lon) = TOWNS[i % TOWNS.len()];
            let days = ["MO,TU,WE,TH,FR", "MO,WE,FR", "TU,TH", "MO,TU,WE,TH,FR,SA"][i % 4];
            json!({
                "id": uuid(0x5e, i),
                "organization_id": uuid(0x0a, org),
                "name": name,
                "description": description,
                "status": "active",
                "email": format!("{}@example.org", provider),
                "url": format!("https://{}.example.org", provider),
                "minimum_age": min_age,
                "maximum_age": 120,
                "last_modified": "2026-11-01T09:00:00Z",
                "schedules": [{"id": uuid(0x5c, i), "freq": "WEEKLY", "byday": days, "opens_at": "09:00:00", "closes_at": if i % 3 == 0 { "17:00:00" } else { "13:00:00" }, "description": "Referrals taken through the hub at any time"}],
                "service_areas": [{"id": uuid(0x5a, i), "name": "Hartmoor", "service_area": "The county of Hartmoor"}],
                "attributes": needs.iter().map(|n| {
                    let t = Need::ALL.iter().position(|x| x == n).unwrap_or(0);
                    json!({"id": uuid(0xa7, i * 32 + t), "link_type": "service", "link_id": uuid(0x5e, i), "taxonomy_term_id": uuid(0x7e, t)})
                }).collect::<Vec<_>>(),
                "service_at_locations": [{"id": uuid(0x5a1, i), "location": {
                    "id": uuid(0x10c, i), "location_type": "physical", "name": format!("{town} community centre"),
                    "latitude": lat + (i as f64) * 0.002, "longitude": lon,
                    "addresses": [{"id": uuid(0xadd, i), "address_1": format!("{} High Street", i + 1), "city": town, "state_province": "Hartmoor", "postal_code": format!("HM{} {}AA", 1 + i % 5, i % 10), "country": "GB", "address_type": "physical"}]
                }}]
            })
        })
        .collect();
    json!({
        "organizations": organizations,
        "taxonomies": [{"id": taxonomy, "name": "Hartmoor hub needs", "description": "The needs the hub refers for", "version": "1"}],
        "taxonomy_terms": terms,
        "services": services,
    })
}

const GIVEN: [&str; 16] = [
    "Margaret", "John", "Susan", "David", "Patricia", "Alan", "Joan", "Peter", "Aisha", "Tomasz",
    "Grace", "Kwame", "Eileen", "Ravi", "Sian", "Mohammed",
];
const FAMILY: [&str; 16] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Khan", "Nowak",
    "Roberts", "Mensah", "Walker", "Patel", "Hughes", "Ali",
];

/// Seeds the hub into a built demo place; `now` is the end of the demo's year.
/// Returns the demo users' names and roles.
pub async fn seed(
    store: &SqlStore,
    now: i64,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 5);
    progress("the referral hub: partners, directory and users");
    for (id, name, sector, is_hub) in ORGS {
        store
            .put_org(
                &HubOrg {
                    id: (*id).into(),
                    name: (*name).into(),
                    sector: (*sector).into(),
                    is_hub: *is_hub,
                },
                now,
            )
            .await?;
    }
    let feed = Feed::parse(&directory()).map_err(|e| DemoError::Hub(e.to_string()))?;
    store.put_directory(&feed).await?;
    for (i, (provider, _, _, needs, min_age)) in SERVICES.iter().enumerate() {
        let terms = Terms {
            accepts_referrals: true,
            needs: needs.to_vec(),
            minimum_age: Some(*min_age),
            maximum_age: None,
            areas: Vec::new(),
            priority: 0,
        };
        store
            .put_terms(&uuid(0x5e, i), Some(provider), &terms)
            .await?;
    }
    let hash = syndemic_access::secret::hash_password(DEMO_PASSWORD, &rng.random())
        .map_err(DemoError::Hub)?;
    for (i, (user, role, org)) in USERS.iter().enumerate() {
        let u = UserRecord {
            password_hash: Some(hash.clone()),
            trained_on: (*role == Role::Referrer).then(|| "2026-02-10".to_owned()),
            ..UserRecord::new(
                uuid(0x05e, i),
                *org,
                *user,
                user.replace('.', " "),
                *role,
                now - 366 * 86400,
            )
        };
        store.create_user(&u).await?;
    }
    // Postcodes: one per neighbourhood, at its boundary's centre.
    let lsoas = store.areas_of_type(AreaType::Lsoa).await?;
    let deciles: rustc_hash::FxHashMap<_, _> = store
        .deprivation_table(EDITION, "imd")
        .await?
        .into_iter()
        .map(|d| (d.area, d.decile))
        .collect();
    let centres: rustc_hash::FxHashMap<_, _> = store
        .boundaries("LSOA21")
        .await?
        .into_iter()
        .map(|b| {
            (
                b.code,
                ((b.bbox[1] + b.bbox[3]) / 2.0, (b.bbox[0] + b.bbox[2]) / 2.0),
            )
        })
        .collect();
    let mut postcodes = Vec::with_capacity(lsoas.len());
    for (i, a) in lsoas.iter().enumerate() {
        let district = store
            .parents(a.code)
            .await?
            .iter()
            .find(|p| p.link.level == Level::LowerTierAuthority)
            .map(|p| p.link.parent.as_str().chars().last().unwrap_or('1'))
            .unwrap_or('1');
        let letters = |k: usize| char::from(b'A' + (k % 26) as u8);
        let (lat, lon) = centres.get(&a.code).copied().unzip();
        postcodes.push(PostcodeRecord {
            postcode: format!(
                "HM{district} {}{}{}",
                i % 10,
                letters(i / 10),
                letters(i / 260 + 3)
            ),
            lsoa11: None,
            lsoa21: Some(a.code),
            latitude: lat,
            longitude: lon,
        });
    }
    let mut tx = store.begin().await?;
    tx.put_postcodes(&postcodes).await?;
    tx.commit().await?;

    progress("the referral hub: a year of referrals");
    let referrers: Vec<(String, &str)> = USERS
        .iter()
        .enumerate()
        .filter(|(_, u)| u.1 == Role::Referrer)
        .map(|(i, u)| (uuid(0x05e, i), u.2))
        .collect();
    let coordinator = uuid(0x05e, 0);
    let day = 86400;
    for k in 0..REFERRALS {
        // Spread over the year, more in winter.
        let mut at;
        loop {
            at = now - rng.random_range(1..365) * day - rng.random_range(0..8 * 3600);
            let month = syndemic_hub::workdays::date_of(at).month() as u8;
            let winter = matches!(month, 11 | 12 | 1 | 2 | 3);
            if winter || rng.random::<f64>() < 0.5 {
                break;
            }
        }
        let pc = &postcodes[rng.random_range(0..postcodes.len())];
        let decile = pc.lsoa21.and_then(|c| deciles.get(&c).copied());
        // Deprived areas bring more cold-home and money needs.
        let deprived = decile.is_some_and(|d| d <= 3);
        let mut needs = vec![if deprived || rng.random::<f64>() < 0.6 {
            Need::ColdHome
        } else {
            Need::Isolation
        }];
        for (n, p) in [
            (Need::LowIncome, if deprived { 0.6 } else { 0.2 }),
            (Need::Debt, if deprived { 0.35 } else { 0.1 }),
            (Need::Aged65, 0.5),
            (Need::Respiratory, 0.3),
            (Need::Cardiovascular, 0.15),
            (Need::Isolation, 0.2),
            (Need::Food, if deprived { 0.2 } else { 0.05 }),
        ] {
            if rng.random::<f64>() < p {
                needs.push(n);
            }
        }
        let (referrer, referrer_org) = &referrers[rng.random_range(0..referrers.len())];
        if *referrer_org == "hartmoor-general" {
            needs.push(Need::DischargeCold);
        }
        let age = if needs.contains(&Need::Aged65) {
            rng.random_range(65..95)
        } else {
            rng.random_range(19..65)
        };
        let birth_year = 2026 - age;
        let person = Person {
            given_name: GIVEN[rng.random_range(0..16)].into(),
            family_name: FAMILY[rng.random_range(0..16)].into(),
            date_of_birth: Some(format!(
                "{birth_year}-{:02}-{:02}",
                rng.random_range(1..13),
                rng.random_range(1..29)
            )),
            nhs_number: None,
            phone: format!("01632 9{:05}", rng.random_range(0..100_000)),
            email: String::new(),
            address: format!(
                "{} {} Road",
                rng.random_range(1..120),
                ["Mill", "Church", "Station", "Moor", "Harbour"][rng.random_range(0..5)]
            ),
            postcode: pc.postcode.clone(),
        };
        let urgency = [
            Urgency::Routine,
            Urgency::Routine,
            Urgency::Soon,
            Urgency::Urgent,
        ][rng.random_range(0..4)];
        let flags = if rng.random::<f64>() < 0.08 {
            vec![RiskFlag::LoneWorking]
        } else if rng.random::<f64>() < 0.1 {
            vec![RiskFlag::Dog]
        } else {
            Vec::new()
        };
        let draft = Draft {
            person,
            needs,
            urgency,
            note: "Synthetic demo referral.".into(),
            consent: Consent {
                basis: LawfulBasis::Consent,
                given_by: "The person".into(),
                given_on: syndemic_hub::workdays::format_date(syndemic_hub::workdays::date_of(at)),
                method: Some(ConsentMethod::Verbal),
                sharing: "The hub and the services it refers to".into(),
            },
            flags,
        }
        .validate(syndemic_hub::workdays::date_of(now))
        .map_err(|e| DemoError::Hub(format!("{e:?}")))?;
        let id = uuid(0xeef, k);
        let n = NewReferral {
            match_keys: draft.person.match_keys(),
            id: id.clone(),
            reference: format!("R-{:06}", k + 1),
            hub_org: HUB.into(),
            referrer_org: (*referrer_org).into(),
            referrer: referrer.clone(),
            idempotency_key: format!("demo-{k}"),
            request_hash: format!("demo-{k}"),
            created_at: at,
            lsoa: pc.lsoa21.map(|c| c.as_str().to_owned()),
            imd_decile: decile,
            draft: draft.clone(),
        };
        store
            .create_referral(&n)
            .await
            .map_err(|e| DemoError::Hub(e.to_string()))?;
        // Work it: triage within a day or two, contact within the target mostly,
        // close with outcomes — unless it is recent.
        let age_days = (now - at) / day;
        let mut t = at + rng.random_range(2..30) * 3600;
        let step = |change: Change, actor: &str, when: i64, tag: &str| {
            let change = change.clone();
            let actor = actor.to_owned();
            let event = format!("{id}:{tag}");
            async move {
                store
                    .apply(
                        &id_of(&event),
                        &event,
                        &Stamp {
                            actor: &actor,
                            org: HUB,
                            at: when,
                        },
                        &change,
                        None,
                    )
                    .await
            }
        };
        if rng.random::<f64>() < 0.04 {
            step(
                Change::Decline {
                    reason: "Outside the hub's remit".into(),
                },
                &coordinator,
                t,
                "decline",
            )
            .await
            .map_err(hub_err)?;
            continue;
        }
        let service = SERVICES
            .iter()
            .enumerate()
            .find(|(_, s)| s.3.contains(&draft.needs[0]))
            .map(|(i, s)| (uuid(0x5e, i), s.0))
            .unwrap_or((uuid(0x5e, 0), "warm-homes"));
        step(
            Change::Route {
                service_id: service.0,
                service_org: Some(service.1.into()),
                reason: String::new(),
            },
            &coordinator,
            t,
            "route",
        )
        .await
        .map_err(hub_err)?;
        if age_days < 3 {
            continue;
        }
        t += rng.random_range(1..(urgency.target_working_days() as i64 + 3)) * day;
        if rng.random::<f64>() < 0.07 {
            step(
                Change::Status {
                    to: Status::CouldNotContact,
                    reason: "Three calls, no answer".into(),
                },
                &coordinator,
                t,
                "cnc",
            )
            .await
            .map_err(hub_err)?;
            continue;
        }
        step(
            Change::Status {
                to: Status::Contacted,
                reason: "Phoned and visit booked".into(),
            },
            &coordinator,
            t,
            "contacted",
        )
        .await
        .map_err(hub_err)?;
        if age_days < 20 {
            continue;
        }
        t += rng.random_range(2..15) * day;
        step(
            Change::Status {
                to: Status::InProgress,
                reason: String::new(),
            },
            &coordinator,
            t,
            "progress",
        )
        .await
        .map_err(hub_err)?;
        if age_days < 45 {
            continue;
        }
        t += rng.random_range(5..40) * day;
        let outcome = match service.1 {
            "warm-homes" => (OutcomeCode::MeasuresInstalled, None),
            "citizens-advice" => (
                OutcomeCode::BenefitsSecured,
                Some(f64::from(rng.random_range(5..60)) * 50.0),
            ),
            _ => (OutcomeCode::AdviceGiven, None),
        };
        step(
            Change::Outcome {
                code: outcome.0,
                value: outcome.1,
            },
            &coordinator,
            t,
            "outcome",
        )
        .await
        .map_err(hub_err)?;
        step(
            Change::Outcome {
                code: OutcomeCode::MoneySaved,
                value: Some(f64::from(rng.random_range(4..40)) * 25.0),
            },
            &coordinator,
            t,
            "saved",
        )
        .await
        .map_err(hub_err)?;
        step(
            Change::Status {
                to: Status::Closed,
                reason: "Help in place".into(),
            },
            &coordinator,
            t + 3600,
            "closed",
        )
        .await
        .map_err(hub_err)?;
    }
    crate::partnership::seed(store, now, progress).await?;
    crate::survey::seed(store, now, progress).await?;
    crate::assets::seed(store, progress).await
}

/// The referral id an event id starts with.
fn id_of(event: &str) -> String {
    event.split(':').next().unwrap_or(event).to_owned()
}

fn hub_err(e: syndemic_store::hub::ChangeError) -> DemoError {
    DemoError::Hub(e.to_string())
}

//! The built-in demo place: Hartmoor, a fictional county of about 400 LSOAs in five
//! districts, drawn, populated and measured from a fixed seed, so that every run
//! builds the same place.
//!
//! Everything goes through the product's own front doors: the place is written as
//! the files partners would bring — an ONS-style lookup, GeoJSON boundaries, an
//! IoD2025-layout deprivation file, population estimates, LSOA counts by year, sex
//! and age band — and imported and computed by `syndemic-import` and
//! `syndemic-engine`. Only the numbers are invented:
//!
//! - **Geography**: LSOA cells are the Voronoi cells of points scattered densely in
//!   five towns and thinly in the countryside, clipped to the county's outline (an
//!   ellipse cut by a straight coast); districts follow the nearest town; wards
//!   group about five neighbouring LSOAs (k-means within the district).
//! - **Deprivation** is spatially clustered: high in the town centres and along the
//!   coast, low in the suburbs and countryside, with five deprived rural pockets
//!   (a former quarry village, a caravan park…) among affluent neighbours — the
//!   pattern the hidden-deprivation finder exists for.
//! - **People**: about 1,600 per LSOA by sex and five-year age band, younger where
//!   deprived, older in the countryside.
//! - **Indicators**: 17 over ten years (2015–2024), each with a credible
//!   deprivation gradient and trend, drawn as Poisson or binomial counts.
//!
//! Codes are well-formed GSS codes in ranges ONS has not used (E01900001…).

mod assets;
mod geometry;
pub mod hub;
pub mod partnership;
pub mod survey;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Normal, Poisson};
use syndemic_engine::{
    community_places, compute, Benchmark, ComputeSpec, CountColumns, Counts, Measure,
};
use syndemic_import::{
    import_boundaries, import_imd, import_lookups, import_population, LookupOptions,
};
use syndemic_stats::dsr::ESP2013;
use syndemic_store::{Database, Indicator, Polarity, Store};

use geometry::{distance, inside, outline, to_lon_lat, voronoi, Point};

/// Why the demo could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo: cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("demo: {0}")]
    Import(#[from] syndemic_import::ImportError),
    #[error("demo: {0}")]
    Engine(#[from] syndemic_engine::EngineError),
    #[error("demo: {0}")]
    Store(#[from] syndemic_store::StoreError),
    #[error("demo: {0}")]
    Place(#[from] syndemic_place::PlaceError),
    #[error("demo hub: {0}")]
    Hub(String),
    #[error("demo survey: {0}")]
    Survey(String),
}

/// What was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub lsoas: usize,
    pub wards: usize,
    pub districts: usize,
    pub indicators: usize,
    pub observations: u64,
}

/// The lookup vintage and deprivation edition of the demo's geography.
pub const VINTAGE: &str = "2024";
pub const EDITION: &str = "IoD2025";
/// The population source the demo's estimates are stored under.
pub const POPULATION: &str = "Hartmoor estimates";
pub const COUNTY: &str = "E10900001";
pub const SEED: u64 = 2026;

const YEARS: std::ops::Range<i32> = 2015..2025;
const LSOAS: usize = 400;

/// ESP2013 band labels and their start ages.
const BANDS: [(&str, f64); 19] = [
    ("0-4", 0.0),
    ("5-9", 5.0),
    ("10-14", 10.0),
    ("15-19", 15.0),
    ("20-24", 20.0),
    ("25-29", 25.0),
    ("30-34", 30.0),
    ("35-39", 35.0),
    ("40-44", 40.0),
    ("45-49", 45.0),
    ("50-54", 50.0),
    ("55-59", 55.0),
    ("60-64", 60.0),
    ("65-69", 65.0),
    ("70-74", 70.0),
    ("75-79", 75.0),
    ("80-84", 80.0),
    ("85-89", 85.0),
    ("90+", 90.0),
];

struct Town {
    name: &'static str,
    at: Point,
    /// Spread of its built-up area, km.
    radius: f64,
}

const TOWNS: [Town; 5] = [
    Town {
        name: "Hartford",
        at: [24.0, 30.0],
        radius: 5.0,
    },
    Town {
        name: "Kingsbridge",
        at: [56.0, 33.0],
        radius: 4.0,
    },
    Town {
        name: "Saltmouth",
        at: [38.0, 8.0],
        radius: 3.5,
    },
    Town {
        name: "Eastmoor",
        at: [68.0, 17.0],
        radius: 3.0,
    },
    Town {
        name: "Westcombe",
        at: [12.0, 15.0],
        radius: 3.0,
    },
];

const WARD_NAMES: [&str; 20] = [
    "Abbey",
    "Priory",
    "Castle",
    "Meadows",
    "Riverside",
    "Hill",
    "Park",
    "Green",
    "Moor",
    "Bridge",
    "Church",
    "Mill",
    "Fields",
    "Wood",
    "Cross",
    "Vale",
    "Common",
    "Heath",
    "Quay",
    "Downs",
];

/// One small area of the demo.
struct Lsoa {
    code: String,
    name: String,
    site: Point,
    cell: Vec<Point>,
    district: usize,
    ward: usize,
    /// 0 (least) … 1 (most deprived).
    deprivation: f64,
    /// 0 (town centre) … 1 (deep countryside).
    rural: f64,
    /// People by sex (0 female, 1 male) and band, in the latest year.
    people: [[f64; 19]; 2],
}

struct Place {
    lsoas: Vec<Lsoa>,
    /// (code, name, district)
    wards: Vec<(String, String, usize)>,
}

fn district_code(d: usize) -> String {
    format!("E0790000{}", d + 1)
}

fn draw_place(rng: &mut ChaCha8Rng) -> Place {
    let shape = outline();
    // Sites: dense in towns, thin in the countryside, never closer than 250 m.
    let density = |p: Point| -> f64 {
        let urban: f64 = TOWNS
            .iter()
            .map(|t| (-(distance(p, t.at) / t.radius).powi(2) / 2.0).exp())
            .sum();
        0.04 + urban
    };
    let mut sites: Vec<Point> = Vec::with_capacity(LSOAS);
    while sites.len() < LSOAS {
        let p = [rng.random_range(0.0..80.0), rng.random_range(0.0..50.0)];
        if !inside(&shape, p) || rng.random::<f64>() * 1.1 > density(p) {
            continue;
        }
        if sites.iter().any(|&q| distance(p, q) < 0.25) {
            continue;
        }
        sites.push(p);
    }
    // Sorted west to east so that codes read across the map.
    sites.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let cells = voronoi(&sites, &shape);
    let nearest_town = |p: Point| -> usize {
        (0..TOWNS.len())
            .min_by(|&a, &b| distance(p, TOWNS[a].at).total_cmp(&distance(p, TOWNS[b].at)))
            .unwrap_or(0)
    };
    // Deprivation: town centres and the coast, smooth regional variation, noise,
    // and five rural pockets.
    let bumps: Vec<(Point, f64)> = (0..6)
        .map(|_| {
            (
                [rng.random_range(0.0..80.0), rng.random_range(0.0..50.0)],
                rng.random_range(-0.15..0.15),
            )
        })
        .collect();
    let noise = Normal::new(0.0, 0.07).expect("a valid normal");
    let mut lsoas: Vec<Lsoa> = sites
        .iter()
        .zip(cells)
        .enumerate()
        .map(|(i, (&site, cell))| {
            let town = nearest_town(site);
            let d = distance(site, TOWNS[town].at);
            let centre = (-(d / (0.45 * TOWNS[town].radius)).powi(2)).exp();
            let coast = (-(site[1] - 4.0).max(0.0) / 3.0).exp() * 0.35;
            let regional: f64 = bumps
                .iter()
                .map(|(at, h)| h * (-(distance(site, *at) / 12.0).powi(2)).exp())
                .sum();
            let rural = (d / (2.5 * TOWNS[town].radius)).clamp(0.0, 1.0);
            let deprivation = (0.2 + 0.6 * centre + coast + regional - 0.12 * rural
                + noise.sample(rng))
            .clamp(0.0, 1.0);
            Lsoa {
                code: format!("E0190{:04}", i + 1),
                name: String::new(),
                site,
                cell,
                district: town,
                ward: 0,
                deprivation,
                rural,
                people: [[0.0; 19]; 2],
            }
        })
        .collect();
    // Rural pockets: among the most rural LSOAs, five become deeply deprived.
    let mut rural: Vec<usize> = (0..lsoas.len()).filter(|&i| lsoas[i].rural > 0.8).collect();
    rural.sort_by(|&a, &b| lsoas[b].rural.total_cmp(&lsoas[a].rural));
    for k in 0..5.min(rural.len()) {
        let i = rural[k * rural.len() / 5];
        lsoas[i].deprivation = (lsoas[i].deprivation + 0.65).min(1.0);
    }
    // Wards: k-means of about five LSOAs within each district.
    let mut wards: Vec<(String, String, usize)> = Vec::new();
    for (d, town) in TOWNS.iter().enumerate() {
        let members: Vec<usize> = (0..lsoas.len())
            .filter(|&i| lsoas[i].district == d)
            .collect();
        let k = (members.len() / 5).max(1);
        let mut centres: Vec<Point> = (0..k)
            .map(|c| lsoas[members[c * members.len() / k]].site)
            .collect();
        let mut assign = vec![0usize; members.len()];
        for _ in 0..12 {
            for (m, &i) in members.iter().enumerate() {
                assign[m] = (0..k)
                    .min_by(|&a, &b| {
                        distance(lsoas[i].site, centres[a])
                            .total_cmp(&distance(lsoas[i].site, centres[b]))
                    })
                    .unwrap_or(0);
            }
            for (c, centre) in centres.iter_mut().enumerate() {
                let points: Vec<Point> = members
                    .iter()
                    .zip(&assign)
                    .filter(|(_, &a)| a == c)
                    .map(|(&i, _)| lsoas[i].site)
                    .collect();
                if !points.is_empty() {
                    let n = points.len() as f64;
                    *centre = [
                        points.iter().map(|p| p[0]).sum::<f64>() / n,
                        points.iter().map(|p| p[1]).sum::<f64>() / n,
                    ];
                }
            }
        }
        // Only wards that kept members, numbered in order.
        let mut used: Vec<usize> = assign.clone();
        used.sort_unstable();
        used.dedup();
        for (local, &c) in used.iter().enumerate() {
            let index = wards.len();
            let stem = WARD_NAMES[local % WARD_NAMES.len()];
            let name = if local < WARD_NAMES.len() {
                format!("{} {stem}", town.name)
            } else {
                format!("{} {stem} {}", town.name, local / WARD_NAMES.len() + 1)
            };
            wards.push((format!("E0590{:04}", index + 1), name, d));
            let mut letter = b'A';
            for (m, &i) in members.iter().enumerate() {
                if assign[m] == c {
                    lsoas[i].ward = index;
                    lsoas[i].name = format!("{} {:03}{}", town.name, local + 1, letter as char);
                    letter += 1;
                }
            }
        }
    }
    // People: about 1,600 per LSOA; children and young adults where deprived,
    // older people in the countryside.
    for l in &mut lsoas {
        let total = rng.random_range(1_350.0..1_900.0);
        let shares: Vec<f64> = BANDS
            .iter()
            .map(|&(_, age)| {
                let base = if age < 75.0 {
                    1.0
                } else {
                    (-(age - 70.0) / 9.0).exp()
                };
                let young = if (0.0..35.0).contains(&age) {
                    1.0 + 0.5 * (l.deprivation - 0.4)
                } else {
                    1.0
                };
                let old = if age >= 55.0 {
                    1.0 + 0.6 * l.rural
                } else {
                    1.0
                };
                base * young * old
            })
            .collect();
        let sum: f64 = shares.iter().sum();
        for (b, share) in shares.iter().enumerate() {
            let people = total * share / sum;
            let age = BANDS[b].1;
            let female = if age >= 75.0 { 0.58 } else { 0.505 };
            l.people[0][b] = (people * female).round();
            l.people[1][b] = (people * (1.0 - female)).round();
        }
    }
    Place { lsoas, wards }
}

/// How an indicator's counts are drawn.
#[derive(Clone, Copy)]
enum Kind {
    /// Deaths or admissions per person-year by age band, Gompertz-shaped: `base ×
    /// e^(slope × age)`, for ages `from..to` (band starts); a DSR.
    AgeRate {
        base: f64,
        slope: f64,
        from: f64,
        to: f64,
    },
    /// Events per person a year in ages `from..to`; a crude rate.
    Rate { per_person: f64, from: f64, to: f64 },
    /// People of ages `from..to` (× `eligible` of them) of whom a share has the
    /// outcome: `logistic(logit + gradient × deprivation + trend × year)`.
    Share {
        logit: f64,
        from: f64,
        to: f64,
        eligible: f64,
    },
}

struct Spec {
    id: &'static str,
    name: &'static str,
    domain: &'static str,
    kind: Kind,
    polarity: Polarity,
    /// Multiplies the rate at the most deprived end (AgeRate, Rate), or the logit
    /// added per unit of deprivation (Share).
    gradient: f64,
    /// Change a year: relative for rates, logit for shares.
    trend: f64,
    multiplier: f64,
}

/// The demo's indicators, with the Marmot policy objective each belongs to.
const SPECS: [Spec; 17] = [
    Spec {
        id: "u75_mortality",
        name: "Under 75 mortality rate from all causes",
        domain: "prevention",
        kind: Kind::AgeRate {
            base: 0.0000185,
            slope: 0.088,
            from: 0.0,
            to: 75.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 2.2,
        trend: -0.012,
        multiplier: 100_000.0,
    },
    Spec {
        id: "mortality",
        name: "Mortality rate from all causes, all ages",
        domain: "prevention",
        kind: Kind::AgeRate {
            base: 0.000029,
            slope: 0.088,
            from: 0.0,
            to: 200.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.6,
        trend: -0.008,
        multiplier: 100_000.0,
    },
    Spec {
        id: "u75_cvd",
        name: "Under 75 mortality rate from cardiovascular disease",
        domain: "prevention",
        kind: Kind::AgeRate {
            base: 0.0000021,
            slope: 0.09,
            from: 30.0,
            to: 75.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 2.6,
        trend: -0.02,
        multiplier: 100_000.0,
    },
    Spec {
        id: "falls_65",
        name: "Emergency hospital admissions due to falls, 65 and over",
        domain: "prevention",
        kind: Kind::AgeRate {
            base: 0.0000435,
            slope: 0.075,
            from: 65.0,
            to: 200.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.4,
        trend: 0.01,
        multiplier: 100_000.0,
    },
    Spec {
        id: "emergency_admissions",
        name: "Emergency hospital admissions, all ages",
        domain: "prevention",
        kind: Kind::Rate {
            per_person: 0.085,
            from: 0.0,
            to: 200.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.7,
        trend: 0.015,
        multiplier: 1_000.0,
    },
    Spec {
        id: "self_harm",
        name: "Emergency admissions for intentional self-harm",
        domain: "healthy_places",
        kind: Kind::Rate {
            per_person: 0.0016,
            from: 10.0,
            to: 200.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 2.4,
        trend: 0.02,
        multiplier: 100_000.0,
    },
    Spec {
        id: "flu_65",
        name: "Flu vaccine uptake, 65 and over",
        domain: "prevention",
        kind: Kind::Share {
            logit: 1.35,
            from: 65.0,
            to: 200.0,
            eligible: 1.0,
        },
        polarity: Polarity::HigherIsBetter,
        gradient: -1.1,
        trend: 0.02,
        multiplier: 100.0,
    },
    Spec {
        id: "mmr2_5",
        name: "MMR vaccination, two doses by age 5",
        domain: "early_years",
        kind: Kind::Share {
            logit: 2.4,
            from: 5.0,
            to: 10.0,
            eligible: 0.2,
        },
        polarity: Polarity::HigherIsBetter,
        gradient: -1.3,
        trend: -0.03,
        multiplier: 100.0,
    },
    Spec {
        id: "school_readiness",
        name: "School readiness: good level of development at the end of reception",
        domain: "early_years",
        kind: Kind::Share {
            logit: 1.1,
            from: 5.0,
            to: 10.0,
            eligible: 0.2,
        },
        polarity: Polarity::HigherIsBetter,
        gradient: -1.2,
        trend: 0.03,
        multiplier: 100.0,
    },
    Spec {
        id: "low_birth_weight",
        name: "Low birth weight of term babies",
        domain: "early_years",
        kind: Kind::Share {
            logit: -3.6,
            from: 0.0,
            to: 5.0,
            eligible: 0.2,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 0.9,
        trend: 0.0,
        multiplier: 100.0,
    },
    Spec {
        id: "obesity_y6",
        name: "Year 6 prevalence of obesity",
        domain: "education",
        kind: Kind::Share {
            logit: -1.9,
            from: 10.0,
            to: 15.0,
            eligible: 0.2,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.0,
        trend: 0.02,
        multiplier: 100.0,
    },
    Spec {
        id: "gcse_english_maths",
        name: "Pupils achieving grade 5 or above in English and maths GCSEs",
        domain: "education",
        kind: Kind::Share {
            logit: 0.3,
            from: 15.0,
            to: 20.0,
            eligible: 0.2,
        },
        polarity: Polarity::HigherIsBetter,
        gradient: -1.6,
        trend: 0.01,
        multiplier: 100.0,
    },
    Spec {
        id: "employment",
        name: "Employment rate, 16 to 64",
        domain: "work",
        kind: Kind::Share {
            logit: 1.15,
            from: 15.0,
            to: 65.0,
            eligible: 0.95,
        },
        polarity: Polarity::HigherIsBetter,
        gradient: -1.3,
        trend: 0.015,
        multiplier: 100.0,
    },
    Spec {
        id: "child_poverty",
        name: "Children in relative low income families",
        domain: "income",
        kind: Kind::Share {
            logit: -2.2,
            from: 0.0,
            to: 15.0,
            eligible: 1.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 2.4,
        trend: 0.02,
        multiplier: 100.0,
    },
    Spec {
        id: "fuel_poverty",
        name: "Households in fuel poverty",
        domain: "income",
        kind: Kind::Share {
            logit: -2.4,
            from: 15.0,
            to: 200.0,
            eligible: 0.45,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.9,
        trend: 0.03,
        multiplier: 100.0,
    },
    Spec {
        id: "smoking",
        name: "Smoking prevalence in adults",
        domain: "healthy_places",
        kind: Kind::Share {
            logit: -2.0,
            from: 20.0,
            to: 200.0,
            eligible: 1.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.5,
        trend: -0.05,
        multiplier: 100.0,
    },
    Spec {
        id: "loneliness",
        name: "Adults who feel lonely often or always",
        domain: "healthy_places",
        kind: Kind::Share {
            logit: -3.0,
            from: 20.0,
            to: 200.0,
            eligible: 1.0,
        },
        polarity: Polarity::LowerIsBetter,
        gradient: 1.1,
        trend: 0.02,
        multiplier: 100.0,
    },
];

fn write(path: &Path, text: &str) -> Result<PathBuf, DemoError> {
    std::fs::write(path, text).map_err(|source| DemoError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path.to_owned())
}

fn lookup_file(place: &Place, dir: &Path) -> Result<Vec<PathBuf>, DemoError> {
    let mut lookup = String::from("LSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM\n");
    for l in &place.lsoas {
        let (ward, ward_name, d) = &place.wards[l.ward];
        writeln!(
            lookup,
            "{},{},{ward},{ward_name},{},{}",
            l.code,
            l.name,
            district_code(*d),
            TOWNS[*d].name
        )
        .expect("writing to a string");
    }
    let mut upper = String::from("LAD24CD,LAD24NM,CTY24CD,CTY24NM,RGN24CD,RGN24NM\n");
    for (d, town) in TOWNS.iter().enumerate() {
        writeln!(
            upper,
            "{},{},{COUNTY},Hartmoor,E12900001,Wessex (demo region)",
            district_code(d),
            town.name
        )
        .expect("writing to a string");
    }
    Ok(vec![
        write(&dir.join("lsoa_ward_district.csv"), &lookup)?,
        write(&dir.join("district_county_region.csv"), &upper)?,
    ])
}

fn boundary_file(place: &Place, dir: &Path) -> Result<PathBuf, DemoError> {
    let features: Vec<serde_json::Value> = place
        .lsoas
        .iter()
        .map(|l| {
            let mut ring: Vec<Point> = l.cell.iter().map(|&p| to_lon_lat(p)).collect();
            ring.push(ring[0]);
            serde_json::json!({
                "type": "Feature",
                "properties": { "LSOA21CD": l.code, "LSOA21NM": l.name },
                "geometry": { "type": "Polygon", "coordinates": [ring] },
            })
        })
        .collect();
    let text = serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string();
    write(&dir.join("lsoa21.geojson"), &text)
}

/// Deprivation as the IoD2025 tidy layout: national ranks out of 33,755 LSOAs, from
/// where each LSOA's deprivation falls on a national logistic spread.
fn deprivation_file(place: &Place, dir: &Path) -> Result<PathBuf, DemoError> {
    const NATIONAL: f64 = 33_755.0;
    let mut text = String::from("lsoa21_code,lsoa21_name,IMD_score,IMD_rank,IMD_decile\n");
    for l in &place.lsoas {
        let share_less_deprived = 1.0 / (1.0 + (-(l.deprivation - 0.42) / 0.13).exp());
        let rank = (1.0 + (1.0 - share_less_deprived) * (NATIONAL - 1.0)).round();
        let decile = ((rank / NATIONAL * 10.0).ceil() as i64).clamp(1, 10);
        let score = 4.0 + 60.0 * share_less_deprived.powf(1.6);
        writeln!(text, "{},{},{score:.3},{rank},{decile}", l.code, l.name)
            .expect("writing to a string");
    }
    write(&dir.join("imd.csv"), &text)
}

fn population_file(place: &Place, dir: &Path) -> Result<PathBuf, DemoError> {
    let latest = YEARS.end - 1;
    let mut text = String::from("area,period,sex,age_band,population\n");
    for l in &place.lsoas {
        let mut all = 0.0;
        for (s, sex) in ["Female", "Male"].iter().enumerate() {
            for (b, (band, _)) in BANDS.iter().enumerate() {
                writeln!(text, "{},{latest},{sex},{band},{}", l.code, l.people[s][b])
                    .expect("writing to a string");
                all += l.people[s][b];
            }
        }
        writeln!(text, "{},{latest},Persons,All ages,{all}", l.code).expect("writing to a string");
    }
    write(&dir.join("population.csv"), &text)
}

/// People of band `b` in year `y` (index from 2015): the latest year's, growing
/// half a per cent a year.
fn people_in(l: &Lsoa, s: usize, b: usize, y: usize) -> f64 {
    let years_back = (YEARS.len() - 1 - y) as f64;
    (l.people[s][b] * (1.0 - 0.005 * years_back)).round()
}

fn counts_file(
    spec: &Spec,
    place: &Place,
    rng: &mut ChaCha8Rng,
    dir: &Path,
) -> Result<PathBuf, DemoError> {
    let mut text = String::from("area,period,sex,age_band,count,population\n");
    let poisson = |rng: &mut ChaCha8Rng, mean: f64| -> f64 {
        if mean <= 0.0 {
            0.0
        } else {
            Poisson::new(mean).map_or(0.0, |p| p.sample(rng))
        }
    };
    for l in &place.lsoas {
        // Deprivation raises rates by up to `gradient` times.
        let lift = 1.0 + (spec.gradient - 1.0) * l.deprivation;
        for y in 0..YEARS.len() {
            let year = YEARS.start + y as i32;
            match spec.kind {
                Kind::AgeRate {
                    base,
                    slope,
                    from,
                    to,
                } => {
                    for s in 0..2 {
                        let sex = ["Female", "Male"][s];
                        let male = if s == 1 { 1.35 } else { 1.0 };
                        for (b, (band, age)) in BANDS.iter().enumerate() {
                            if *age < from || *age >= to {
                                continue;
                            }
                            let people = people_in(l, s, b, y);
                            let rate = base
                                * (slope * (age + 2.5)).exp()
                                * male
                                * lift
                                * (1.0 + spec.trend).powi(y as i32);
                            let count = poisson(rng, people * rate.min(0.5));
                            writeln!(text, "{},{year},{sex},{band},{count},{people}", l.code)
                                .expect("writing to a string");
                        }
                    }
                }
                Kind::Rate {
                    per_person,
                    from,
                    to,
                } => {
                    let people: f64 = (0..2)
                        .flat_map(|s| (0..19).map(move |b| (s, b)))
                        .filter(|&(_, b)| BANDS[b].1 >= from && BANDS[b].1 < to)
                        .map(|(s, b)| people_in(l, s, b, y))
                        .sum();
                    let rate = per_person * lift * (1.0 + spec.trend).powi(y as i32);
                    let count = poisson(rng, people * rate);
                    writeln!(text, "{},{year},Persons,All ages,{count},{people}", l.code)
                        .expect("writing to a string");
                }
                Kind::Share {
                    logit,
                    from,
                    to,
                    eligible,
                } => {
                    let people: f64 = (0..2)
                        .flat_map(|s| (0..19).map(move |b| (s, b)))
                        .filter(|&(_, b)| BANDS[b].1 >= from && BANDS[b].1 < to)
                        .map(|(s, b)| people_in(l, s, b, y))
                        .sum();
                    let n = (people * eligible).round().max(1.0);
                    let z = logit + spec.gradient * (l.deprivation - 0.4) + spec.trend * y as f64;
                    let p = 1.0 / (1.0 + (-z).exp());
                    let count = Binomial::new(n as u64, p).map_or(0, |d| d.sample(rng));
                    writeln!(text, "{},{year},Persons,All ages,{count},{n}", l.code)
                        .expect("writing to a string");
                }
            }
        }
    }
    write(&dir.join(format!("{}.csv", spec.id)), &text)
}

/// England's and the demo region's published values of an indicator, as a real
/// place would download them from Fingertips: the counts' own model, averaged over
/// England's deprivation (England's LSOAs spread evenly over the national ranks:
/// the inverse of [`deprivation_file`]'s mapping; the region a little less
/// deprived), with 95 % limits for England's 56.5 million people (the region a
/// tenth of them). Hartmoor's own counts never make its England.
fn benchmark_file(spec: &Spec, dir: &Path) -> Result<PathBuf, DemoError> {
    const PEOPLE: f64 = 56_500_000.0;
    let places = [
        ("E92000001", 0.0, PEOPLE),
        ("E12900001", -0.03, PEOPLE / 10.0),
    ];
    let spread: Vec<f64> = (0..200)
        .map(|k| {
            let u = (f64::from(k) + 0.5) / 200.0;
            0.42 + 0.13 * (u / (1.0 - u)).ln()
        })
        .collect();
    let mean = |f: &dyn Fn(f64) -> f64| spread.iter().map(|d| f(*d)).sum::<f64>() / 200.0;
    let share_of_people = |from: f64, to: f64| -> f64 {
        BANDS
            .iter()
            .zip(ESP2013)
            .filter(|((_, age), _)| *age >= from && *age < to)
            .map(|(_, (_, w))| w)
            .sum::<f64>()
            / 100_000.0
    };
    let mut text = String::from("area,period,sex,age,value,lower_95,upper_95\n");
    for (code, shift, people) in places {
        for y in 0..YEARS.len() {
            let year = YEARS.start + y as i32;
            let lift = |d: f64| 1.0 + (spec.gradient - 1.0) * (d + shift).clamp(0.0, 1.0);
            let mut rows: Vec<(&str, f64, f64)> = Vec::new();
            match spec.kind {
                Kind::AgeRate {
                    base,
                    slope,
                    from,
                    to,
                } => {
                    for (sex, male) in [("Female", 1.0), ("Male", 1.35), ("Persons", 1.175)] {
                        let (mut weighted, mut weights) = (0.0, 0.0);
                        for ((_, age), (_, w)) in BANDS.iter().zip(ESP2013) {
                            if *age < from || *age >= to {
                                continue;
                            }
                            let rate = mean(&|d| {
                                (base
                                    * (slope * (age + 2.5)).exp()
                                    * male
                                    * lift(d)
                                    * (1.0 + spec.trend).powi(y as i32))
                                .min(0.5)
                            });
                            weighted += w * rate;
                            weights += w;
                        }
                        let rate = weighted / weights;
                        let events = rate * people * share_of_people(from, to);
                        rows.push((sex, rate, 1.96 * rate / events.sqrt()));
                    }
                }
                Kind::Rate {
                    per_person,
                    from,
                    to,
                } => {
                    let rate = per_person * mean(&lift) * (1.0 + spec.trend).powi(y as i32);
                    let events = rate * people * share_of_people(from, to);
                    rows.push(("Persons", rate, 1.96 * rate / events.sqrt()));
                }
                Kind::Share {
                    logit,
                    from,
                    to,
                    eligible,
                } => {
                    let p = mean(&|d| {
                        let z = logit
                            + spec.gradient * ((d + shift).clamp(0.0, 1.0) - 0.4)
                            + spec.trend * y as f64;
                        1.0 / (1.0 + (-z).exp())
                    });
                    let n = people * share_of_people(from, to) * eligible;
                    rows.push(("Persons", p, 1.96 * (p * (1.0 - p) / n).sqrt()));
                }
            }
            for (sex, value, half) in rows {
                let m = spec.multiplier;
                writeln!(
                    text,
                    "{code},{year},{sex},All ages,{:.4},{:.4},{:.4}",
                    value * m,
                    (value - half) * m,
                    (value + half) * m
                )
                .expect("writing to a string");
            }
        }
    }
    write(&dir.join(format!("{}-england.csv", spec.id)), &text)
}

/// Whether `store` holds a complete demo place (every indicator computed).
pub async fn is_built(store: &dyn Store) -> Result<bool, DemoError> {
    for spec in &SPECS {
        if store.compute_runs(spec.id).await?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The demo's community-defined place: the twelve small areas nearest
/// Saltmouth's harbour, as its residents drew it on the map.
pub const OLD_TOWN: &str = "Saltmouth old town";

async fn define_old_town(store: &dyn Database, place: &Place) -> Result<(), DemoError> {
    let harbour = TOWNS[2].at;
    let mut nearest: Vec<&Lsoa> = place.lsoas.iter().collect();
    nearest.sort_by(|a, b| distance(a.site, harbour).total_cmp(&distance(b.site, harbour)));
    let list: Vec<&str> = nearest.iter().take(12).map(|l| l.code.as_str()).collect();
    let county =
        syndemic_model::AreaCode::parse(COUNTY).map_err(|e| DemoError::Hub(e.to_string()))?;
    let audit = syndemic_store::hub::AuditEntry {
        at: syndemic_model::date::unix_now(),
        actor: "demo".into(),
        org: String::new(),
        action: "create".into(),
        subject: "community place".into(),
        record: String::new(),
        reason: OLD_TOWN.into(),
    };
    let definition = syndemic_voice::PlaceDefinition {
        name: OLD_TOWN,
        description: "The harbour, the old fish market and the terraces up the hill: the streets the Saltmouth Old Town Residents' Association speaks for, as its members drew them on the map.",
        list: &list.join("\n"),
        chosen_by: "map",
        place: county,
        partnership_id: None,
    };
    syndemic_voice::define_place(store, &definition, &audit, audit.at)
        .await
        .map_err(|e| DemoError::Survey(e.to_string()))?;
    Ok(())
}

/// Builds the demo place into `store`, writing its files into `dir` (a scratch
/// folder the caller removes). `progress` hears each stage.
pub async fn build(
    store: &dyn Database,
    dir: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<DemoSummary, DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    progress("drawing Hartmoor");
    let place = draw_place(&mut rng);
    progress("importing its lookups, boundaries, deprivation and population");
    for file in lookup_file(&place, dir)? {
        import_lookups(store, &file, &LookupOptions::default()).await?;
    }
    import_boundaries(store, &boundary_file(&place, dir)?).await?;
    import_imd(store, &deprivation_file(&place, dir)?).await?;
    import_population(store, &population_file(&place, dir)?, POPULATION).await?;
    progress("defining Saltmouth old town, a community place");
    define_old_town(store, &place).await?;
    let mut summary = DemoSummary {
        lsoas: place.lsoas.len(),
        wards: place.wards.len(),
        districts: TOWNS.len(),
        indicators: SPECS.len(),
        observations: 0,
    };
    for spec in &SPECS {
        progress(spec.name);
        let counts = counts_file(spec, &place, &mut rng, dir)?;
        let benchmark = benchmark_file(spec, dir)?;
        let mut indicator = Indicator::named(spec.id, spec.name);
        indicator.polarity = Some(spec.polarity);
        indicator.multiplier = Some(spec.multiplier);
        indicator.definition = Some(format!("{} (synthetic demo data).", spec.name));
        indicator.unit = Some(match spec.kind {
            Kind::Share { .. } => "%".into(),
            _ => format!("per {}", spec.multiplier),
        });
        indicator.source = Some("syndemic demo place (generated)".into());
        indicator.licence = Some("CC0".into());
        indicator.domain = Some(spec.domain.into());
        let result = compute(
            store,
            &ComputeSpec {
                measure: match spec.kind {
                    Kind::AgeRate { .. } => Measure::Dsr,
                    Kind::Rate { .. } => Measure::Rate,
                    Kind::Share { .. } => Measure::Proportion,
                },
                indicator,
                counts: Counts::File(counts),
                columns: CountColumns::default(),
                vintage: VINTAGE.into(),
                counts_vintage: None,
                apportion_by: None,
                population: None,
                edition: EDITION.into(),
                repetitions: 1000,
                seed: SEED,
                benchmark: Some(Benchmark::File(benchmark)),
                targets: {
                    let mut targets = partnership::planned_targets(store, spec.id).await?;
                    targets.extend(community_places(store).await?);
                    targets
                },
            },
            &mut |_| {},
        )
        .await?;
        summary.observations += result.observations;
    }
    Ok(summary)
}

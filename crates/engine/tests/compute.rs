//! The compute engine on a small place of our own (20 LSOAs, 4 wards, 2 districts,
//! a shire county over one of them, a combined authority of both, 1 region), on SQLite and PostgreSQL: every
//! level's DSR equals the statistics crate's DSR of the summed bands; deprivation
//! groups and inequality measures are stored; an unchanged re-run does nothing; bad
//! counts change nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use syndemic_engine::{
    compute, Benchmark, ComputeSpec, CountColumns, Counts, Measure, TargetGroup, TARGET_AREAS,
};
use syndemic_import::{import_imd, import_lookups, LookupOptions};
use syndemic_model::{AreaCode, Period};
use syndemic_stats::dsr::{dsr, DsrInput, ESP2013};
use syndemic_stats::proportion::wilson;
use syndemic_stats::rate::rate;
use syndemic_stats::ConfidenceLevel;
use syndemic_store::{Indicator, Observation, Polarity, SqlStore, Store};
use syndemic_testkit::stores;

const LSOAS: usize = 20;
const COUNTY: &str = "E10000099";
const COMBINED: &str = "E47000001";

fn lsoa(i: usize) -> String {
    format!("E0100{:04}", 6000 + i)
}

fn district(i: usize) -> &'static str {
    if i < 10 {
        "E08000009"
    } else {
        "E08000010"
    }
}

/// Deaths and population of LSOA `i`, year `y`, sex `s`, band `b`.
fn cell(i: usize, y: usize, s: usize, b: usize) -> (f64, f64) {
    let population = 40.0 + ((i * 7 + y * 3 + s * 5 + b * 11) % 60) as f64;
    let deaths = ((i + 1) * (b + 1) * (y + s + 1) % 9) as f64;
    (deaths, population)
}

fn fixture(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let mut lookup = String::from("LSOA11CD,LSOA11NM,WD19CD,WD19NM,LAD19CD,LAD19NM\n");
    let mut regions =
        String::from("LAD19CD,LAD19NM,CTY19CD,CTY19NM,CAUTH19CD,CAUTH19NM,RGN19CD,RGN19NM\n");
    let mut imd = String::from("LSOA code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,Index of Multiple Deprivation (IMD) Decile\n");
    for i in 0..LSOAS {
        let ward = format!("E0500{:04}", 800 + i / 5);
        writeln!(
            lookup,
            "{},Area {i},{ward},Ward {},{},District",
            lsoa(i),
            i / 5,
            district(i)
        )
        .unwrap();
        // Ranks spread over the country's 32,844, most deprived first.
        let rank = 1 + (i * 7919) % 32_000;
        writeln!(
            imd,
            "{},Area {i},{},District,{rank},{}",
            lsoa(i),
            district(i),
            1 + (rank - 1) * 10 / 32_844
        )
        .unwrap();
    }
    // The first district lies in a shire county; the second has none above it.
    // Both are members of one combined authority.
    writeln!(
        regions,
        "E08000009,Trafford,{COUNTY},A county,{COMBINED},Greater Manchester,E12000002,North West"
    )
    .unwrap();
    writeln!(
        regions,
        "E08000010,Wigan,,,{COMBINED},Greater Manchester,E12000002,North West"
    )
    .unwrap();
    let mut counts = String::from("area,period,sex,age_band,count,population\n");
    for i in 0..LSOAS {
        for y in 0..2 {
            for (s, sex) in ["Female", "Male"].iter().enumerate() {
                for (b, (band, _)) in ESP2013.iter().enumerate() {
                    let (d, p) = cell(i, y, s, b);
                    writeln!(counts, "{},{},{sex},{band},{d},{p}", lsoa(i), 2018 + y).unwrap();
                }
            }
        }
    }
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    (
        write("lookup.csv", &lookup),
        write("regions.csv", &regions),
        write("imd.csv", &imd),
        write("counts.csv", &counts),
    )
}

/// The statistics crate's DSR of the band sums over `members`.
fn expected(members: &[usize], y: usize, s: usize) -> (f64, f64, f64) {
    expected_of(members, y, &[s])
}

/// The same over several sexes (both: Persons).
fn expected_of(members: &[usize], y: usize, sexes: &[usize]) -> (f64, f64, f64) {
    let (mut count, mut population) = (vec![0.0; 19], vec![0.0; 19]);
    for &i in members {
        for &s in sexes {
            for b in 0..19 {
                let (d, p) = cell(i, y, s, b);
                count[b] += d;
                population[b] += p;
            }
        }
    }
    let count: Vec<Option<f64>> = count.into_iter().map(Some).collect();
    let population: Vec<Option<f64>> = population.into_iter().map(Some).collect();
    let standard: Vec<Option<f64>> = ESP2013.iter().map(|(_, w)| Some(*w)).collect();
    let levels = [ConfidenceLevel::new(95.0).unwrap()];
    let (_, e) = dsr(
        &DsrInput {
            groups: &[0; 19],
            n_groups: 1,
            count: &count,
            population: &population,
            standard: &standard,
            multiplier: 100_000.0,
            non_independent: None,
        },
        &levels,
    )
    .unwrap();
    (
        e.value[0].unwrap(),
        e.lower[0][0].unwrap(),
        e.upper[0][0].unwrap(),
    )
}

fn spec(counts: PathBuf) -> ComputeSpec {
    let mut indicator = Indicator::named("mort", "Mortality, all ages");
    indicator.polarity = Some(Polarity::LowerIsBetter);
    ComputeSpec {
        measure: Measure::Dsr,
        indicator,
        counts: Counts::File(counts),
        columns: CountColumns::default(),
        vintage: "2019".into(),
        counts_vintage: None,
        apportion_by: None,
        population: None,
        edition: "IoD2019".into(),
        repetitions: 1000,
        seed: 7,
        benchmark: None,
        targets: Vec::new(),
    }
}

fn find<'a>(
    all: &'a [Observation],
    indicator: &str,
    area: &str,
    category: &str,
) -> Vec<&'a Observation> {
    all.iter()
        .filter(|o| o.indicator == indicator && o.area.as_str() == area && o.category == category)
        .collect()
}

async fn prepared(store: &SqlStore, dir: &Path) -> PathBuf {
    let (lookup, regions, imd, counts) = fixture(dir);
    import_lookups(store, &lookup, &LookupOptions::default())
        .await
        .unwrap();
    import_lookups(store, &regions, &LookupOptions::default())
        .await
        .unwrap();
    import_imd(store, &imd).await.unwrap();
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_level_and_group_from_lsoa_counts() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("every_level_and_group_from_lsoa_counts", dir.path()).await {
        let backend = store.backend_name();
        let counts = prepared(&store, dir.path()).await;
        let summary = compute(&store, &spec(counts.clone()), &mut |_| {})
            .await
            .unwrap();
        assert!(!summary.up_to_date);
        assert_eq!(summary.input_rows, (LSOAS * 2 * 2 * 19) as u64);
        let all = store.observations(None).await.unwrap();
        let close = |o: &Observation, e: (f64, f64, f64), what: &str| {
            for (got, want) in [(o.value, e.0), (o.lower95, e.1), (o.upper95, e.2)] {
                let got = got.unwrap();
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs(),
                    "{backend} {what}: {got} vs {want}"
                );
            }
        };
        for (y, s) in [(0, 0), (1, 1)] {
            let period = Period::Year(2018 + y as i32);
            let sex = ["Female", "Male"][s];
            let pick = |rows: Vec<&Observation>| -> Observation {
                rows.into_iter()
                    .find(|o| o.period == period && o.sex == sex)
                    .cloned()
                    .unwrap_or_else(|| panic!("{backend}: missing {period} {sex}"))
            };
            close(
                &pick(find(&all, "mort", &lsoa(3), "")),
                expected(&[3], y, s),
                "LSOA",
            );
            close(
                &pick(find(&all, "mort", "E05000800", "")),
                expected(&[0, 1, 2, 3, 4], y, s),
                "ward",
            );
            let trafford: Vec<usize> = (0..10).collect();
            close(
                &pick(find(&all, "mort", "E08000009", "")),
                expected(&trafford, y, s),
                "district",
            );
            close(
                &pick(find(&all, "mort", COUNTY, "")),
                expected(&trafford, y, s),
                "county",
            );
            let everyone: Vec<usize> = (0..LSOAS).collect();
            close(
                &pick(find(&all, "mort", "E12000002", "")),
                expected(&everyone, y, s),
                "region",
            );
            close(
                &pick(find(&all, "mort", COMBINED, "")),
                expected(&everyone, y, s),
                "combined authority",
            );
            close(
                &pick(find(&all, "mort", "E92000001", "")),
                expected(&everyone, y, s),
                "England",
            );
        }
        // Persons: both sexes' bands added together, then standardised.
        let persons = find(&all, "mort", "E08000009", "")
            .into_iter()
            .find(|o| o.sex == "Persons" && o.period == Period::Year(2019))
            .cloned()
            .unwrap();
        let trafford: Vec<usize> = (0..10).collect();
        close(&persons, expected_of(&trafford, 1, &[0, 1]), "persons");
        // Compared with England and with the parent, from the 95 % limits.
        let lsoa_row = find(&all, "mort", &lsoa(3), "")[0];
        let district_row = all
            .iter()
            .find(|o| {
                o.indicator == "mort"
                    && o.area.as_str() == "E08000009"
                    && o.category.is_empty()
                    && o.period == lsoa_row.period
                    && o.sex == lsoa_row.sex
            })
            .unwrap();
        let expected_comparison = if lsoa_row.lower95.unwrap() > district_row.value.unwrap() {
            "Worse"
        } else if lsoa_row.upper95.unwrap() < district_row.value.unwrap() {
            "Better"
        } else {
            "Similar"
        };
        assert_eq!(
            lsoa_row.compared_to_parent.as_deref(),
            Some(expected_comparison),
            "{backend}"
        );
        assert!(lsoa_row.compared_to_england.is_some());
        // The county is compared with its region; the district outside it has no
        // county, and no county is counted twice.
        assert!(find(&all, "mort", COUNTY, "")
            .iter()
            .all(|o| o.compared_to_parent.is_some() && o.compared_to_england.is_some()));
        assert_eq!(find(&all, "mort", COUNTY, "").len(), 6, "{backend}");
        // The combined authority is compared with its region, as a county is.
        assert!(find(&all, "mort", COMBINED, "")
            .iter()
            .all(|o| o.compared_to_parent.is_some() && o.compared_to_england.is_some()));
        assert!(find(&all, "mort", "E92000001", "")
            .iter()
            .all(|o| o.compared_to_england.is_none()));

        // Local quintiles of each district, national deciles of England.
        let quintiles: Vec<&Observation> = all
            .iter()
            .filter(|o| o.indicator == "mort" && o.category_type == "IMD 2019 local quintile")
            .collect();
        // Two districts and the shire county over one of them × five quintiles ×
        // two years × female, male and persons.
        assert_eq!(quintiles.len(), 3 * 5 * 2 * 3, "{backend}");
        assert!(all.iter().any(
            |o| o.category_type == "IMD 2019 national decile" && o.area.as_str() == "E92000001"
        ));
        // SII, RII, gap and ratio per district (and England) per period and sex.
        for measure in ["mort.sii", "mort.rii", "mort.gap", "mort.ratio"] {
            let rows = find(&all, measure, "E08000009", "");
            assert_eq!(rows.len(), 6, "{backend}: {measure}");
            assert!(
                rows.iter().all(|o| o.value.is_some()),
                "{backend}: {measure} {rows:?}"
            );
        }
        let sii = find(&all, "mort.sii", "E08000009", "")[0];
        assert!(
            sii.lower95.unwrap() <= sii.value.unwrap()
                && sii.value.unwrap() <= sii.upper95.unwrap()
        );

        // The same inputs again: nothing to do, nothing changed.
        let again = compute(&store, &spec(counts.clone()), &mut |_| {})
            .await
            .unwrap();
        assert!(again.up_to_date, "{backend}");
        assert_eq!(store.observations(None).await.unwrap(), all);
        assert_eq!(store.compute_runs("mort").await.unwrap().len(), 1);

        // The same counts imported as a dataset give the same results.
        syndemic_import::import_counts(&store, &counts, "deaths")
            .await
            .unwrap();
        // The same counts as Parquet land as the same rows (streamed batch by batch).
        let parquet = dir.path().join("counts.parquet");
        syndemic_parquet::csv_to_parquet(&std::fs::read(&counts).unwrap(), &parquet).unwrap();
        syndemic_import::import_counts(&store, &parquet, "deaths_pq")
            .await
            .unwrap();
        let rows = |name: &'static str| {
            let store = &store;
            async move {
                let mut rows = store.counts(name).await.unwrap();
                for r in &mut rows {
                    r.dataset.clear();
                }
                rows
            }
        };
        assert_eq!(rows("deaths_pq").await, rows("deaths").await, "{backend}");
        let mut from_store = spec(counts.clone());
        from_store.indicator.id = "mort2".into();
        from_store.counts = Counts::Dataset("deaths".into());
        compute(&store, &from_store, &mut |_| {}).await.unwrap();
        let stored = store.observations(Some("mort2")).await.unwrap();
        let original: Vec<&Observation> = all.iter().filter(|o| o.indicator == "mort").collect();
        assert_eq!(stored.len(), original.len(), "{backend}");
        for (a, b) in stored.iter().zip(&original) {
            assert_eq!(
                (a.area, a.period, &a.sex, &a.category),
                (b.area, b.period, &b.sex, &b.category)
            );
            // The same sums added in another order: equal to the last bits.
            match (a.value, b.value) {
                (Some(x), Some(y)) => {
                    assert!((x - y).abs() <= 1e-12 * y.abs(), "{backend}: {x} vs {y}")
                }
                (x, y) => assert_eq!(x, y, "{backend}"),
            }
        }
        let all = store.observations(Some("mort")).await.unwrap();

        // Counts for an area that is not an LSOA of the lookups: refused, unchanged.
        let bad = dir.path().join("bad.csv");
        let mut text = std::fs::read_to_string(&counts).unwrap();
        text.push_str("E01999999,2018,Female,0-4,1,50\n");
        std::fs::write(&bad, text).unwrap();
        let error = compute(&store, &spec(bad.clone()), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("E01999999") && error.contains("not LSOAs"),
            "{error}"
        );
        std::fs::write(
            &bad,
            std::fs::read_to_string(&counts)
                .unwrap()
                .replace(",0-4,", ",0-5,"),
        )
        .unwrap();
        let error = compute(&store, &spec(bad.clone()), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("`0-5` is not an ESP2013 band"), "{error}");
        let mut text = std::fs::read_to_string(&counts).unwrap();
        text.push_str(&format!("{},2018,Persons,0-4,1,50\n", lsoa(0)));
        std::fs::write(&bad, text).unwrap();
        let error = compute(&store, &spec(bad.clone()), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("mix rows for Persons"), "{error}");
        let mut text = std::fs::read_to_string(&counts).unwrap();
        text.push_str(&format!("{},2018,Female,0-4,1,50\n", lsoa(0)));
        std::fs::write(&bad, text).unwrap();
        let error = compute(&store, &spec(bad), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("duplicate key") && error.contains(&lsoa(0)),
            "{error}"
        );
        assert_eq!(store.observations(Some("mort")).await.unwrap(), all);
        store.close().await;
    }
}

/// Vaccinated of eligible in LSOA `i`, year `y`: uptake rising by five points a
/// year from a level that differs by LSOA.
fn uptake(i: usize, y: usize) -> (f64, f64) {
    let eligible = 200.0 + (i * 13 % 50) as f64;
    let share = 0.3 + (i % 4) as f64 * 0.05 + y as f64 * 0.05;
    ((eligible * share).round(), eligible)
}

/// A DSR's recent trend: mortality rising a fifth a year over six years is a
/// significant increase, getting worse; its first four years cannot be judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsrs_have_a_recent_trend_from_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("dsrs_have_a_recent_trend", dir.path()).await {
        let backend = store.backend_name();
        prepared(&store, dir.path()).await;
        let mut text = String::from("area,period,sex,age_band,count,population\n");
        for i in 0..LSOAS {
            for y in 0..6 {
                for sex in ["Female", "Male"] {
                    for (b, (band, _)) in ESP2013.iter().enumerate() {
                        let deaths = ((b + 1) as f64 * 1.2_f64.powi(y)).round();
                        writeln!(text, "{},{},{sex},{band},{deaths},1000", lsoa(i), 2015 + y)
                            .unwrap();
                    }
                }
            }
        }
        let counts = dir.path().join("rising.csv");
        std::fs::write(&counts, &text).unwrap();
        compute(&store, &spec(counts), &mut |_| {}).await.unwrap();
        let all = store.observations(Some("mort")).await.unwrap();
        let trafford = find(&all, "mort", "E08000009", "");
        let trend = |year: i32| {
            trafford
                .iter()
                .find(|o| o.period == Period::Year(year) && o.sex == "Persons")
                .and_then(|o| o.recent_trend.clone())
        };
        assert_eq!(
            trend(2020).as_deref(),
            Some("Increasing & getting worse"),
            "{backend}"
        );
        assert_eq!(
            trend(2018).as_deref(),
            Some("Cannot be calculated"),
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crude_rates_and_proportions_with_recent_trends() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("crude_rates_and_proportions_with_recent_trends", dir.path()).await {
        let backend = store.backend_name();
        prepared(&store, dir.path()).await;
        // No sex and no age band: one row per LSOA and year.
        let mut text = String::from("lsoa,year,vaccinated,eligible\n");
        for i in 0..LSOAS {
            for y in 0..6 {
                let (x, n) = uptake(i, y);
                writeln!(text, "{},{},{x},{n}", lsoa(i), 2015 + y).unwrap();
            }
        }
        let counts = dir.path().join("uptake.csv");
        std::fs::write(&counts, &text).unwrap();
        let columns = CountColumns {
            area: "lsoa".into(),
            period: "year".into(),
            sex: None,
            age_band: None,
            count: "vaccinated".into(),
            population: "eligible".into(),
        };
        let mut indicator = Indicator::named("flu", "Flu vaccine uptake");
        indicator.polarity = Some(Polarity::HigherIsBetter);
        let proportion = ComputeSpec {
            measure: Measure::Proportion,
            indicator,
            columns,
            ..spec(counts.clone())
        };
        compute(&store, &proportion, &mut |_| {}).await.unwrap();
        let all = store.observations(Some("flu")).await.unwrap();
        let z = ConfidenceLevel::new(95.0).unwrap().z();
        // Trafford (LSOAs 0-9) in 2020: the summed counts, Wilson limits, per cent.
        let (x, n) = (0..10)
            .map(|i| uptake(i, 5))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let row = find(&all, "flu", "E08000009", "")
            .into_iter()
            .find(|o| o.period == Period::Year(2020))
            .unwrap();
        assert_eq!(
            (row.count, row.denominator),
            (Some(x), Some(n)),
            "{backend}"
        );
        assert_eq!(row.sex, "Persons");
        let (lo, hi) = wilson(x, n, z);
        for (got, want) in [
            (row.value, x / n * 100.0),
            (row.lower95, lo * 100.0),
            (row.upper95, hi * 100.0),
        ] {
            assert!(
                (got.unwrap() - want).abs() < 1e-9,
                "{backend}: {got:?} vs {want}"
            );
        }
        // Uptake rises five points a year: a significant increase, and better.
        assert_eq!(
            row.recent_trend.as_deref(),
            Some("Increasing & getting better"),
            "{backend}"
        );
        let first = find(&all, "flu", "E08000009", "")
            .into_iter()
            .find(|o| o.period == Period::Year(2018))
            .unwrap();
        assert_eq!(
            first.recent_trend.as_deref(),
            Some("Cannot be calculated"),
            "{backend}"
        );
        let england = find(&all, "flu", "E92000001", "");
        assert_eq!(england.len(), 6);
        assert!(england
            .iter()
            .all(|o| o.value.unwrap() > 0.0 && o.value.unwrap() < 100.0));
        // The deprivation gradient of a proportion: SII on the percentage scale.
        let everything = store.observations(None).await.unwrap();
        let sii = find(&everything, "flu.sii", "E08000009", "");
        assert_eq!(sii.len(), 6, "{backend}");
        assert!(
            sii.iter()
                .all(|o| o.value.is_some() && o.value.unwrap().abs() < 100.0),
            "{backend}: {sii:?}"
        );
        assert_eq!(
            store
                .indicator("flu")
                .await
                .unwrap()
                .unwrap()
                .measure_type
                .as_deref(),
            Some("proportion")
        );

        // The same counts as a crude rate per 1,000.
        let mut crude = proportion.clone();
        crude.measure = Measure::Rate;
        crude.indicator.id = "flu_rate".into();
        crude.indicator.multiplier = Some(1000.0);
        compute(&store, &crude, &mut |_| {}).await.unwrap();
        let rates = store.observations(Some("flu_rate")).await.unwrap();
        let row = find(&rates, "flu_rate", "E08000009", "")
            .into_iter()
            .find(|o| o.period == Period::Year(2020))
            .unwrap();
        let levels = [
            ConfidenceLevel::new(95.0).unwrap(),
            ConfidenceLevel::new(99.8).unwrap(),
        ];
        let want = rate(&[Some(x)], &[Some(n)], 1000.0, &levels).unwrap();
        assert_eq!(row.value, want.value[0], "{backend}");
        assert_eq!(
            (row.lower95, row.upper998),
            (want.lower[0][0], want.upper[1][0]),
            "{backend}"
        );

        // A count above its denominator is no proportion: refused, nothing changed.
        let bad = dir.path().join("bad_uptake.csv");
        std::fs::write(&bad, format!("{text}{},2021,300,200\n", lsoa(1))).unwrap();
        let error = compute(
            &store,
            &ComputeSpec {
                counts: Counts::File(bad),
                ..proportion.clone()
            },
            &mut |_| {},
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("above its denominator") && error.contains(&lsoa(1)),
            "{error}"
        );
        assert_eq!(store.observations(Some("flu")).await.unwrap(), all);
        // A DSR needs age bands.
        let error = compute(
            &store,
            &ComputeSpec {
                measure: Measure::Dsr,
                ..proportion.clone()
            },
            &mut |_| {},
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("needs an age band column"), "{error}");
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_of_another_vintage_are_mapped_through_the_lookup() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("counts_of_another_vintage_are_mapped", dir.path()).await {
        let backend = store.backend_name();
        let counts = prepared(&store, dir.path()).await;
        compute(&store, &spec(counts.clone()), &mut |_| {})
            .await
            .unwrap();
        let direct = store.observations(Some("mort")).await.unwrap();
        // LSOA 2021: LSOAs 0-15 unchanged; 16 and 17 (one ward) merged into one;
        // 18 split in two; 19 unchanged.
        let merged = "E01100001";
        let split = ["E01100002", "E01100003"];
        let mut lookup = String::from("LSOA11CD,LSOA21CD,CHGIND\n");
        for i in 0..LSOAS {
            match i {
                16 | 17 => writeln!(lookup, "{},{merged},M", lsoa(i)).unwrap(),
                18 => {
                    for s in split {
                        writeln!(lookup, "{},{s},S", lsoa(i)).unwrap();
                    }
                }
                _ => writeln!(lookup, "{0},{0},U", lsoa(i)).unwrap(),
            }
        }
        let lookup_path = dir.path().join("lsoa11_lsoa21.csv");
        std::fs::write(&lookup_path, lookup).unwrap();
        import_lookups(&store, &lookup_path, &LookupOptions::default())
            .await
            .unwrap();
        // The same deaths counted on 2021 LSOAs.
        let mut text = String::from("area,period,sex,age_band,count,population\n");
        for y in 0..2 {
            for (s, sex) in ["Female", "Male"].iter().enumerate() {
                for (b, (band, _)) in ESP2013.iter().enumerate() {
                    let mut row = |area: &str, d: f64, p: f64| {
                        writeln!(text, "{area},{},{sex},{band},{d},{p}", 2018 + y).unwrap()
                    };
                    for i in (0..16).chain([19]) {
                        let (d, p) = cell(i, y, s, b);
                        row(&lsoa(i), d, p);
                    }
                    let (d16, p16) = cell(16, y, s, b);
                    let (d17, p17) = cell(17, y, s, b);
                    row(merged, d16 + d17, p16 + p17);
                    let (d, p) = cell(18, y, s, b);
                    let half = (d / 2.0).floor();
                    row(split[0], half, (p / 2.0).floor());
                    row(split[1], d - half, p - (p / 2.0).floor());
                }
            }
        }
        let lsoa21 = dir.path().join("counts21.csv");
        std::fs::write(&lsoa21, text).unwrap();
        let mut mapped = spec(lsoa21.clone());
        mapped.indicator.id = "mort21".into();
        mapped.counts_vintage = Some("LSOA21".into());
        let summary = compute(&store, &mapped, &mut |_| {}).await.unwrap();
        assert_eq!(summary.apportioned, 1, "{backend}");
        let via = store.observations(Some("mort21")).await.unwrap();
        let value = |rows: &[Observation], area: &str| {
            rows.iter()
                .find(|o| {
                    o.area.as_str() == area
                        && o.category.is_empty()
                        && o.period == Period::Year(2019)
                        && o.sex == "Male"
                })
                .map(|o| (o.count, o.denominator, o.value))
                .unwrap_or_else(|| panic!("{backend}: no {area}"))
        };
        // Exact wherever the 2021 areas nest in the 2011 ones: the split LSOA, the
        // ward holding both merged LSOAs, the district, England.
        for area in [
            lsoa(18).as_str(),
            lsoa(3).as_str(),
            "E05000803",
            "E08000010",
            "E92000001",
        ] {
            let (a, b) = (value(&via, area), value(&direct, area));
            assert_eq!(a.0, b.0, "{backend}: {area}");
            assert_eq!(a.1, b.1, "{backend}: {area}");
            let (x, y) = (a.2.unwrap(), b.2.unwrap());
            assert!((x - y).abs() <= 1e-9 * y, "{backend}: {area}: {x} vs {y}");
        }
        // The merged area is shared equally between the two 2011 LSOAs.
        let (c16, p16, _) = value(&via, &lsoa(16));
        let (c17, p17, _) = value(&via, &lsoa(17));
        assert_eq!((c16, p16), (c17, p17), "{backend}");
        let (d16, q16, _) = value(&direct, &lsoa(16));
        let (d17, q17, _) = value(&direct, &lsoa(17));
        assert_eq!(c16.unwrap() * 2.0, d16.unwrap() + d17.unwrap());
        assert_eq!(p16.unwrap() * 2.0, q16.unwrap() + q17.unwrap());

        // Shared by population instead: LSOA 16 three times LSOA 17's.
        let people = dir.path().join("people.csv");
        std::fs::write(
            &people,
            format!(
                "area,period,sex,age_band,population\n{},2019,Persons,All ages,1500\n{},2019,Persons,All ages,500\n",
                lsoa(16),
                lsoa(17)
            ),
        )
        .unwrap();
        syndemic_import::import_population(&store, &people, "estimates")
            .await
            .unwrap();
        let mut by_people = mapped.clone();
        by_people.indicator.id = "mort21p".into();
        by_people.apportion_by = Some("estimates".into());
        compute(&store, &by_people, &mut |_| {}).await.unwrap();
        let shared = store.observations(Some("mort21p")).await.unwrap();
        let (c16, _, _) = value(&shared, &lsoa(16));
        let (c17, _, _) = value(&shared, &lsoa(17));
        let total = d16.unwrap() + d17.unwrap();
        assert!((c16.unwrap() - 0.75 * total).abs() < 1e-9, "{backend}");
        assert!((c17.unwrap() - 0.25 * total).abs() < 1e-9, "{backend}");

        // A 2021 code the lookup does not hold is refused.
        let bad = dir.path().join("bad21.csv");
        let mut text = std::fs::read_to_string(&lsoa21).unwrap();
        text.push_str("E01100009,2018,Female,0-4,1,50\n");
        std::fs::write(&bad, &text).unwrap();
        let mut refused = mapped.clone();
        refused.counts = Counts::File(bad);
        let error = compute(&store, &refused, &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("E01100009") && error.contains("lookup from LSOA21"),
            "{error}"
        );
        store.close().await;
    }
}

/// Counts of one district only (a council's own residents): its LSOAs, wards,
/// district and county are published, the region and England are not (nor
/// England's deciles), and comparisons with England say there is no England value;
/// with a benchmark file, England's and the region's values are the benchmark's
/// and every comparison uses them. An `85+` band is read as 85-89 and 90+.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_counts_publish_no_england_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("local_counts_publish_no_england", dir.path()).await {
        let backend = store.backend_name();
        let all_counts = prepared(&store, dir.path()).await;
        // Trafford's LSOAs (0-9) only, with the top two bands given as 85+.
        let mut local = String::from("area,period,sex,age_band,count,population\n");
        for i in 0..10 {
            for y in 0..2 {
                for (s, sex) in ["Female", "Male"].iter().enumerate() {
                    for (b, (band, _)) in ESP2013.iter().enumerate().take(17) {
                        let (d, p) = cell(i, y, s, b);
                        writeln!(local, "{},{},{sex},{band},{d},{p}", lsoa(i), 2018 + y).unwrap();
                    }
                    let (d1, p1) = cell(i, y, s, 17);
                    let (d2, p2) = cell(i, y, s, 18);
                    writeln!(
                        local,
                        "{},{},{sex},85+,{},{}",
                        lsoa(i),
                        2018 + y,
                        d1 + d2,
                        p1 + p2
                    )
                    .unwrap();
                }
            }
        }
        let local_path = dir.path().join("trafford.csv");
        std::fs::write(&local_path, local).unwrap();
        let mut local_spec = spec(local_path.clone());
        local_spec.indicator.id = "local".into();
        let summary = compute(&store, &local_spec, &mut |_| {}).await.unwrap();
        let left_out: Vec<String> = summary.withheld.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            left_out,
            [
                "England E92000001: 10 of 20 LSOAs — not published",
                "region E12000002: 10 of 20 LSOAs — not published",
                "combined authority E47000001: 10 of 20 LSOAs — not published"
            ],
            "{backend}"
        );
        let rows = store.observations(Some("local")).await.unwrap();
        assert!(
            find(&rows, "local", "E92000001", "").is_empty(),
            "{backend}"
        );
        assert!(
            find(&rows, "local", "E12000002", "").is_empty(),
            "{backend}"
        );
        assert!(
            rows.iter().all(|o| !o.category_type.contains("national")),
            "{backend}: England's deciles from Trafford's counts"
        );
        let trafford = find(&rows, "local", "E08000009", "");
        assert!(!trafford.is_empty(), "{backend}");
        assert!(
            trafford
                .iter()
                .all(|o| o.compared_to_england.as_deref() == Some("No England value")),
            "{backend}"
        );
        // The county over Trafford is Trafford's LSOAs alone: published, and its
        // local quintiles too.
        assert!(!find(&rows, "local", COUNTY, "").is_empty(), "{backend}");
        assert!(!find(&rows, "local", COUNTY, "1").is_empty(), "{backend}");
        // 85+ is read (not refused) and adds its deaths and people as the two
        // bands it stands for do.
        compute(&store, &spec(all_counts.clone()), &mut |_| {})
            .await
            .unwrap();
        let full = store.observations(Some("mort")).await.unwrap();
        let count_of = |rows: &[Observation], area: &str| {
            rows.iter()
                .find(|o| {
                    o.area.as_str() == area
                        && o.category.is_empty()
                        && o.sex == "Persons"
                        && o.period == Period::Year(2019)
                })
                .map(|o| (o.count, o.denominator))
        };
        assert_eq!(
            count_of(&rows, &lsoa(2)),
            count_of(&full, &lsoa(2)),
            "{backend}"
        );

        // A benchmark: England and the region from a Fingertips-layout file.
        let bench = dir.path().join("england.csv");
        let mut text = String::from(
            "Area Code,Sex,Age,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit\n",
        );
        for year in [2018, 2019] {
            for sex in ["Persons", "Female", "Male"] {
                writeln!(text, "E92000001,{sex},All ages,{year},1.0,0.9,1.1").unwrap();
                writeln!(
                    text,
                    "E12000002,{sex},All ages,{year},1000000,999999,1000001"
                )
                .unwrap();
            }
        }
        std::fs::write(&bench, text).unwrap();
        local_spec.benchmark = Some(Benchmark::File(bench));
        let summary = compute(&store, &local_spec, &mut |_| {}).await.unwrap();
        assert_eq!(summary.benchmark_values, 12, "{backend}");
        let rows = store.observations(Some("local")).await.unwrap();
        let england = find(&rows, "local", "E92000001", "");
        assert_eq!(england.len(), 6, "{backend}");
        assert!(england.iter().all(|o| o.value == Some(1.0)
            && o.count.is_none()
            && o.note
                .as_deref()
                .is_some_and(|n| n.starts_with("Benchmark: "))));
        // Trafford's rates (well above 1 per 100,000) are worse than this England,
        // and better than this region.
        for o in find(&rows, "local", "E08000009", "") {
            assert_eq!(o.compared_to_england.as_deref(), Some("Worse"), "{backend}");
        }
        let region = find(&rows, "local", "E12000002", "");
        assert!(region.iter().all(|o| o.value == Some(1_000_000.0)));
        for o in find(&rows, "local", "E08000009", "") {
            assert_eq!(o.compared_to_parent.as_deref(), Some("Better"), "{backend}");
        }
        store.close().await;
    }
}

/// Counts of events only, with the population from an imported source: the same
/// results as the counts with their own population column, though the file leaves
/// out every band with no deaths; a year the source does not hold is refused,
/// naming it.
#[tokio::test]
async fn event_counts_take_their_population_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("event_counts_take_their_population", dir.path()).await {
        let backend = store.backend_name();
        let counts = prepared(&store, dir.path()).await;
        compute(&store, &spec(counts), &mut |_| {}).await.unwrap();
        // Deaths only, without their zeros; the population as its own file.
        let mut events = String::from("area,period,sex,age_band,count\n");
        let mut people = String::from("area,period,sex,age_band,population\n");
        let mut left_out = 0;
        for i in 0..LSOAS {
            for y in 0..2 {
                for (s, sex) in ["Female", "Male"].iter().enumerate() {
                    for (b, (band, _)) in ESP2013.iter().enumerate() {
                        let (d, p) = cell(i, y, s, b);
                        writeln!(people, "{},{},{sex},{band},{p}", lsoa(i), 2018 + y).unwrap();
                        // A 0 row for the first band only: an LSOA where nobody
                        // died is still named, so covered.
                        if d == 0.0 && b > 0 {
                            left_out += 1;
                            continue;
                        }
                        writeln!(events, "{},{},{sex},{band},{d}", lsoa(i), 2018 + y).unwrap();
                    }
                }
            }
        }
        assert!(left_out > 50, "the fixture has bands with no deaths");
        let events_path = dir.path().join("events.csv");
        std::fs::write(&events_path, events).unwrap();
        let people_path = dir.path().join("people.csv");
        std::fs::write(&people_path, people).unwrap();
        syndemic_import::import_population(&store, &people_path, "Estimates")
            .await
            .unwrap();
        let mut from_store = spec(events_path.clone());
        from_store.indicator = Indicator::named("mort2", "Mortality, all ages");
        from_store.indicator.polarity = Some(Polarity::LowerIsBetter);
        from_store.population = Some("Estimates".into());
        let summary = compute(&store, &from_store, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert!(
            summary.withheld.is_empty(),
            "{backend}: {:?}",
            summary.withheld
        );
        let all = store.observations(None).await.unwrap();
        let of = |id: &str| -> Vec<&Observation> {
            let mut rows: Vec<&Observation> = all
                .iter()
                .filter(|o| o.indicator == id && o.category.is_empty())
                .collect();
            rows.sort_by_key(|o| (o.area, o.period, o.sex.clone()));
            rows
        };
        let (full, events_only) = (of("mort"), of("mort2"));
        assert_eq!(full.len(), events_only.len(), "{backend}");
        for (a, b) in full.iter().zip(&events_only) {
            assert_eq!((a.area, a.period, &a.sex), (b.area, b.period, &b.sex));
            for (x, y) in [
                (a.value, b.value),
                (a.lower95, b.lower95),
                (a.denominator, b.denominator),
            ] {
                let same = match (x, y) {
                    (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs(),
                    (x, y) => x == y,
                };
                assert!(
                    same,
                    "{backend} {} {} {}: {x:?} vs {y:?} (counts {:?} vs {:?}, denominators {:?} vs {:?})",
                    a.area,
                    a.period,
                    a.sex,
                    a.count,
                    b.count,
                    a.denominator,
                    b.denominator
                );
            }
        }
        // Counts of a year the source does not hold: refused, naming the year.
        let later = dir.path().join("later.csv");
        std::fs::write(
            &later,
            format!(
                "area,period,sex,age_band,count\n{},2020,Female,0-4,3\n",
                lsoa(0)
            ),
        )
        .unwrap();
        let mut missing = from_store.clone();
        missing.counts = Counts::File(later);
        missing.indicator.id = "mort3".into();
        let error = compute(&store, &missing, &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no population for 2020") && error.contains("2018, 2019"),
            "{backend}: {error}"
        );
        store.close().await;
    }
}

/// A commitment's target areas measured as one group: the measure over their
/// summed counts with its own limits, filed under the area measured; withheld in
/// a period where one of its areas has no counts; an area outside the geography
/// refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_areas_are_measured_as_one_group() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("target_areas_are_measured_as_one_group", dir.path()).await {
        let backend = store.backend_name();
        prepared(&store, dir.path()).await;
        // LSOA 2 has no count in 2020.
        let mut text = String::from("lsoa,year,vaccinated,eligible\n");
        for i in 0..LSOAS {
            for y in 4..6 {
                if (i, y) != (2, 5) {
                    let (x, n) = uptake(i, y);
                    writeln!(text, "{},{},{x},{n}", lsoa(i), 2015 + y).unwrap();
                }
            }
        }
        let counts = dir.path().join("uptake_targets.csv");
        std::fs::write(&counts, &text).unwrap();
        let mut indicator = Indicator::named("flu_t", "Flu vaccine uptake");
        indicator.polarity = Some(Polarity::HigherIsBetter);
        let code = |i: usize| AreaCode::parse(&lsoa(i)).unwrap();
        let trafford = AreaCode::parse("E08000009").unwrap();
        let group = |label: &str, areas: Vec<AreaCode>| TargetGroup {
            label: label.into(),
            within: trafford,
            areas,
            place: None,
        };
        let spec = ComputeSpec {
            measure: Measure::Proportion,
            indicator,
            columns: CountColumns {
                area: "lsoa".into(),
                period: "year".into(),
                sex: None,
                age_band: None,
                count: "vaccinated".into(),
                population: "eligible".into(),
            },
            targets: vec![
                group("areas:first-two", vec![code(0), code(1)]),
                group("areas:with-2", vec![code(1), code(2), code(3)]),
            ],
            ..spec(counts.clone())
        };
        let summary = compute(&store, &spec, &mut |_| {}).await.unwrap();
        let all = store.observations(Some("flu_t")).await.unwrap();
        let z = ConfidenceLevel::new(95.0).unwrap().z();
        let of = |label: &str, year: i32| {
            all.iter()
                .find(|o| {
                    o.category_type == TARGET_AREAS
                        && o.category == label
                        && o.area == trafford
                        && o.period == Period::Year(year)
                })
                .cloned()
        };
        let row = of("areas:first-two", 2020).expect("the group is measured");
        let (x, n) = [uptake(0, 5), uptake(1, 5)]
            .iter()
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let (lo, hi) = wilson(x, n, z);
        assert_eq!(
            (row.count, row.denominator),
            (Some(x), Some(n)),
            "{backend}"
        );
        for (got, want) in [
            (row.value, x / n * 100.0),
            (row.lower95, lo * 100.0),
            (row.upper95, hi * 100.0),
        ] {
            assert!((got.unwrap() - want).abs() < 1e-9, "{backend}");
        }
        assert!(
            row.compared_to_parent.is_some(),
            "{backend}: compared with the area it is measured for"
        );
        assert!(of("areas:with-2", 2019).is_some(), "{backend}");
        assert!(
            of("areas:with-2", 2020).is_none(),
            "{backend}: LSOA 2 has no count in 2020, so the group is not published"
        );
        assert!(summary.observations > 0);
        let run = store.compute_runs("flu_t").await.unwrap().pop().unwrap();
        assert!(
            run.coverage.contains("2 groups of target areas"),
            "{backend}: {}",
            run.coverage
        );

        // An area the geography does not hold is refused by name.
        let error = compute(
            &store,
            &ComputeSpec {
                targets: vec![group(
                    "areas:x",
                    vec![AreaCode::parse("E01999999").unwrap()],
                )],
                ..spec.clone()
            },
            &mut |_| {},
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("E01999999") && error.contains("areas:x"),
            "{error}"
        );
        store.close().await;
    }
}

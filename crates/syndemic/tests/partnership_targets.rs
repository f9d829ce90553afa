//! Targeting a commitment by deprivation, on the real published IMD 2019 and ONS
//! lookups in `../shared/data`: "the most deprived 20 % of LSOAs in Trafford"
//! resolves to local quintile 1 of Trafford's 138 LSOAs exactly as the evidence
//! engine computes local quintiles, and "national deciles 1–2" to the LSOAs the
//! published file puts in deciles 1 and 2 — on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::path::Path;

use syndemic_import::{import_imd, import_lookups, local_deprivation, LookupOptions};
use syndemic_model::AreaCode;
use syndemic_partnership::target::TargetRule;
use syndemic_testkit::{shared_dir, stores};
use syndemic_web::partnership::resolve_targets;

const TRAFFORD: &str = "E08000009";

async fn import(store: &syndemic_store::SqlStore, shared: &Path) {
    let data = shared.join("data");
    import_lookups(
        store,
        &data.join("ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv"),
        &LookupOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    import_imd(
        store,
        &data.join("iod2019-energy_flex/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_most_deprived_fifth_of_trafford_from_real_imd_2019() {
    let test = "the_most_deprived_fifth_of_trafford_from_real_imd_2019";
    let Some(shared) = shared_dir(test) else {
        return;
    };
    // What the published file says of Trafford's LSOAs, read independently.
    let file = shared
        .join("data/iod2019-energy_flex/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz");
    let mut reader = csv::Reader::from_reader(flate2::read::GzDecoder::new(
        std::fs::File::open(&file).unwrap(),
    ));
    let published: Vec<(String, i64, i64)> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == TRAFFORD)
        .map(|r| {
            let n = |i: usize| r[i].replace(',', "").parse::<i64>().unwrap();
            (r[0].to_owned(), n(4), n(5))
        })
        .collect();
    assert_eq!(published.len(), 138, "Trafford has 138 LSOAs (2011)");
    let dir = tempfile::tempdir().unwrap();
    let trafford = AreaCode::parse(TRAFFORD).unwrap();
    for store in stores(test, dir.path()).await {
        let backend = store.backend_name();
        import(&store, &shared).await;

        let fifth = TargetRule::parse(&format!("local-quintile:{TRAFFORD}:1")).unwrap();
        let got: BTreeSet<String> = resolve_targets(&store, &fifth)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        // The evidence engine's local quintiles of the same district.
        let engine: BTreeSet<String> =
            local_deprivation(&store, "IoD2019", "imd", "2019", trafford, 5)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.local == 1)
                .map(|r| r.area.as_str().to_owned())
                .collect();
        assert_eq!(
            got, engine,
            "{backend}: local quintile 1 as the engine computes it"
        );
        // 138 areas in five groups: the first fifth is the 28 most deprived by rank.
        let mut by_rank = published.clone();
        by_rank.sort_by_key(|(_, rank, _)| *rank);
        let expected: BTreeSet<String> = by_rank
            .iter()
            .take(got.len())
            .map(|(c, ..)| c.clone())
            .collect();
        assert!(
            (27..=28).contains(&got.len()),
            "{backend}: {} areas",
            got.len()
        );
        assert_eq!(
            got, expected,
            "{backend}: the most deprived by national rank"
        );
        println!(
            "{backend}: most deprived fifth of Trafford: {} LSOAs, ranks {}–{}",
            got.len(),
            by_rank[0].1,
            by_rank[got.len() - 1].1
        );

        let deciles = TargetRule::parse(&format!("national-decile:{TRAFFORD}:1-2")).unwrap();
        let got: BTreeSet<String> = resolve_targets(&store, &deciles)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        let expected: BTreeSet<String> = published
            .iter()
            .filter(|(_, _, d)| *d <= 2)
            .map(|(c, ..)| c.clone())
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            got, expected,
            "{backend}: national deciles 1 and 2 within Trafford"
        );

        // A district with no ranked small area is an error that says what to import.
        let none = TargetRule::parse("local-quintile:E06000999:1").unwrap();
        let e = resolve_targets(&store, &none)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("import the IMD"), "{backend}: {e}");
    }
}

/// A commitment aimed at Trafford's most deprived fifth is measured by the engine
/// on exactly those small areas: on the real lookups and IMD 2019, the target
/// group's rate, limits and denominators are those of local quintile 1, which
/// the engine computes from the same small areas by another road.
#[tokio::test(flavor = "multi_thread")]
async fn the_engine_measures_traffords_most_deprived_fifth_as_its_first_local_quintile() {
    use std::fmt::Write as _;
    use syndemic_engine::{compute, ComputeSpec, CountColumns, Counts, Measure, TargetGroup};
    use syndemic_store::Store as _;
    let test = "the_engine_measures_traffords_most_deprived_fifth_as_its_first_local_quintile";
    let Some(shared) = shared_dir(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let trafford = AreaCode::parse(TRAFFORD).unwrap();
    for store in stores(test, dir.path()).await {
        let backend = store.backend_name();
        import(&store, &shared).await;
        let rule = format!("local-quintile:{TRAFFORD}:1");
        let fifth = resolve_targets(&store, &TargetRule::parse(&rule).unwrap())
            .await
            .unwrap();
        // Events and people in each of Trafford's small areas, two years.
        let lsoas = syndemic_place::small_areas_within(&store, trafford)
            .await
            .unwrap();
        assert_eq!(lsoas.len(), 138, "{backend}");
        let mut text = String::from("area,year,events,people\n");
        for (i, lsoa) in lsoas.iter().enumerate() {
            for year in [2020, 2021] {
                let people = 1200 + (i * 37) % 500;
                let events = 3 + (i * 11 + year) % 17;
                writeln!(text, "{lsoa},{year},{events},{people}").unwrap();
            }
        }
        let counts = dir.path().join(format!("{backend}-events.csv"));
        std::fs::write(&counts, text).unwrap();
        let mut indicator = syndemic_store::Indicator::named("events", "Events");
        indicator.polarity = Some(syndemic_store::Polarity::LowerIsBetter);
        let spec = ComputeSpec {
            measure: Measure::Rate,
            indicator,
            counts: Counts::File(counts),
            columns: CountColumns {
                area: "area".into(),
                period: "year".into(),
                sex: None,
                age_band: None,
                count: "events".into(),
                population: "people".into(),
            },
            vintage: "2019".into(),
            counts_vintage: None,
            apportion_by: None,
            population: None,
            edition: "IoD2019".into(),
            repetitions: 1000,
            seed: 1,
            benchmark: None,
            targets: vec![TargetGroup {
                label: rule.clone(),
                within: trafford,
                areas: fifth.clone(),
                place: None,
            }],
        };
        compute(&store, &spec, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let all = store.observations(Some("events")).await.unwrap();
        for year in [2020, 2021] {
            let period = syndemic_model::Period::Year(year);
            let of = |category_type: &str, category: &str| {
                all.iter()
                    .find(|o| {
                        o.area == trafford
                            && o.period == period
                            && o.category_type == category_type
                            && o.category == category
                    })
                    .unwrap_or_else(|| panic!("{backend}: no {category_type} {category} in {year}"))
            };
            let target = of(syndemic_model::TARGET_AREAS, &rule);
            let quintile = of("IMD 2019 local quintile", "1");
            assert_eq!(
                (
                    target.count,
                    target.denominator,
                    target.value,
                    target.lower95,
                    target.upper95
                ),
                (
                    quintile.count,
                    quintile.denominator,
                    quintile.value,
                    quintile.lower95,
                    quintile.upper95
                ),
                "{backend} {year}: the target group is the first local quintile"
            );
            assert!(!target.is_deprivation_group() && quintile.is_deprivation_group());
        }
    }
}

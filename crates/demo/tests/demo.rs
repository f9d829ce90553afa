//! The demo place, built into a fresh store (SQLite, and PostgreSQL where
//! configured): its size, its shapes and neighbours, its indicators and their
//! deprivation gradients, and that it is the same every time.

use syndemic_model::{AreaCode, AreaType, Level};
use syndemic_store::partnership::CommunityPlaces;
use syndemic_store::{Observation, Store};
use syndemic_testkit::stores;

fn latest<'a>(
    all: &'a [Observation],
    indicator: &str,
    area: &str,
    category: &str,
) -> Option<&'a Observation> {
    all.iter()
        .filter(|o| {
            o.indicator == indicator
                && o.area.as_str() == area
                && o.category == category
                && o.sex == "Persons"
        })
        .max_by_key(|o| o.period.sort_key())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_place_is_built_through_the_real_importers_and_engine() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("demo_place", dir.path()).await {
        let backend = store.backend_name();
        let scratch = tempfile::tempdir().unwrap();
        let mut stages = Vec::new();
        let summary =
            syndemic_demo::build(&store, scratch.path(), &mut |s| stages.push(s.to_owned()))
                .await
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
        println!("{backend}: {summary:?}");
        assert_eq!(summary.lsoas, 400);
        assert_eq!(summary.districts, 5);
        assert!(
            (60..=100).contains(&summary.wards),
            "{backend}: {} wards",
            summary.wards
        );
        assert!(summary.indicators >= 15);
        assert!(stages.len() > summary.indicators);

        let counts = store.area_counts().await.unwrap();
        let of = |t: AreaType| {
            counts
                .iter()
                .find(|c| c.area_type == t)
                .map_or(0, |c| c.areas)
        };
        assert_eq!(of(AreaType::Lsoa), 400, "{backend}");
        assert_eq!(of(AreaType::NonMetropolitanDistrict), 5, "{backend}");
        assert_eq!(
            store
                .links(Level::LowerTierAuthority, "2024")
                .await
                .unwrap()
                .iter()
                .filter(|l| l.child.area_type() == AreaType::Lsoa)
                .count(),
            400
        );
        // One drawn shape per LSOA, each with neighbours across shared edges.
        let boundaries = store.boundaries("LSOA21").await.unwrap();
        assert_eq!(boundaries.len(), 400, "{backend}");
        let first = AreaCode::parse("E01900001").unwrap();
        let neighbours = store.neighbours(first, "LSOA21").await.unwrap();
        assert!(
            (1..=12).contains(&neighbours.len()),
            "{backend}: {neighbours:?}"
        );
        // Deprivation spread over the national deciles.
        let imd = store
            .deprivation_table(syndemic_demo::EDITION, "imd")
            .await
            .unwrap();
        assert_eq!(imd.len(), 400);
        let deciles: std::collections::BTreeSet<i64> = imd.iter().map(|d| d.decile).collect();
        assert!(deciles.len() >= 8, "{backend}: deciles {deciles:?}");

        let all = store.observations(None).await.unwrap();
        let england = "E92000001";
        let county = syndemic_demo::COUNTY;
        for spec in [
            "u75_mortality",
            "flu_65",
            "emergency_admissions",
            "fuel_poverty",
            "school_readiness",
        ] {
            for area in [england, county] {
                let o = latest(&all, spec, area, "")
                    .unwrap_or_else(|| panic!("{backend}: {spec} at {area}"));
                assert!(
                    o.value.is_some() && o.lower95.is_some(),
                    "{backend}: {spec} {o:?}"
                );
                assert_eq!(
                    all.iter()
                        .filter(|x| x.indicator == spec
                            && x.area.as_str() == area
                            && x.category.is_empty()
                            && x.sex == "Persons")
                        .count(),
                    10,
                    "{backend}: ten years of {spec} at {area}"
                );
            }
        }
        // A county inside England: England's and the region's values come from the
        // national benchmark the demo writes, never from Hartmoor's own counts, so
        // no indicator of Hartmoor equals its England in every period, and
        // England's values carry their source and no counts.
        let indicators: std::collections::BTreeSet<&str> = all
            .iter()
            .filter(|o| !o.indicator.contains('.'))
            .map(|o| o.indicator.as_str())
            .collect();
        assert_eq!(indicators.len(), 17, "{backend}");
        for spec in &indicators {
            let series = |area: &str| -> Vec<(i64, Option<f64>)> {
                let mut rows: Vec<(i64, Option<f64>)> = all
                    .iter()
                    .filter(|o| {
                        o.indicator == *spec
                            && o.area.as_str() == area
                            && o.category.is_empty()
                            && o.sex == "Persons"
                    })
                    .map(|o| (o.period.sort_key(), o.value))
                    .collect();
                rows.sort_by_key(|r| r.0);
                rows
            };
            assert_ne!(series(county), series(england), "{backend}: {spec}");
            assert_ne!(series(county), series("E12900001"), "{backend}: {spec}");
            assert!(all
                .iter()
                .filter(|o| o.indicator == *spec && o.area.as_str() == england)
                .all(|o| o.count.is_none()
                    && o.note
                        .as_deref()
                        .is_some_and(|n| n.starts_with("Benchmark: "))));
        }
        // England's deciles are not summed from Hartmoor's counts.
        assert!(!all
            .iter()
            .any(|o| o.category_type.ends_with("national decile")));
        // Credible gradients: worse in the county's most deprived fifth than in its
        // least deprived, in the direction of each indicator.
        let decile_value = |indicator: &str, want_most: bool| -> f64 {
            let rows: Vec<&Observation> = all
                .iter()
                .filter(|o| {
                    o.indicator == indicator
                        && o.area.as_str() == county
                        && o.category_type.ends_with("local quintile")
                        && o.period.sort_key()
                            == latest(&all, indicator, county, "")
                                .unwrap()
                                .period
                                .sort_key()
                        && o.value.is_some()
                })
                .collect();
            let pick = if want_most {
                rows.iter()
                    .min_by_key(|o| o.category.parse::<u32>().unwrap())
            } else {
                rows.iter()
                    .max_by_key(|o| o.category.parse::<u32>().unwrap())
            };
            pick.unwrap().value.unwrap()
        };
        assert!(
            decile_value("u75_mortality", true) > decile_value("u75_mortality", false),
            "{backend}"
        );
        assert!(
            decile_value("child_poverty", true) > decile_value("child_poverty", false),
            "{backend}"
        );
        assert!(
            decile_value("flu_65", true) < decile_value("flu_65", false),
            "{backend}"
        );
        assert!(
            decile_value("school_readiness", true) < decile_value("school_readiness", false),
            "{backend}"
        );
        // Saltmouth old town, a community-defined place of twelve small areas in
        // Saltmouth, measured as an area of its own and compared with Saltmouth.
        let places = store.community_places().await.unwrap();
        assert_eq!(places.len(), 1, "{backend}");
        let old_town = &places[0];
        assert_eq!(old_town.name, syndemic_demo::OLD_TOWN);
        assert_eq!(old_town.areas.len(), 12, "{backend}");
        assert_eq!(
            old_town.within.as_str(),
            "E07900003",
            "{backend}: within Saltmouth"
        );
        let measured = latest(&all, "u75_mortality", old_town.code.as_str(), "")
            .unwrap_or_else(|| panic!("{backend}: no value for the old town"));
        assert!(measured.value.is_some() && measured.compared_to_parent.is_some());
        // The county's own gap and slope index between its fifths, for its report.
        for measure in ["gap", "sii"] {
            assert!(
                all.iter()
                    .any(|o| o.indicator == format!("u75_mortality.{measure}")
                        && o.area.as_str() == county
                        && o.value.is_some()),
                "{backend}: the county's {measure}"
            );
        }
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_place_is_the_same_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut built = Vec::new();
    for name in ["one", "two"] {
        let url = syndemic_store::StoreUrl::parse(
            &dir.path().join(format!("{name}.db")).display().to_string(),
        )
        .unwrap();
        let store = syndemic_store::SqlStore::connect(&url).await.unwrap();
        let scratch = tempfile::tempdir().unwrap();
        syndemic_demo::build(&store, scratch.path(), &mut |_| {})
            .await
            .unwrap();
        let mut rows = store.observations(Some("smoking")).await.unwrap();
        rows.sort_by(|a, b| {
            (a.area, a.period.sort_key(), &a.category).cmp(&(
                b.area,
                b.period.sort_key(),
                &b.category,
            ))
        });
        built.push((rows, store.boundaries("LSOA21").await.unwrap()));
        store.close().await;
    }
    assert_eq!(built[0], built[1]);
}

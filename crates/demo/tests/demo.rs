//! The demo place, built into a fresh store (SQLite, and PostgreSQL where
//! configured): its size, its shapes and neighbours, its indicators and their
//! deprivation gradients, and that it is the same every time.

use syndemic_model::{AreaCode, AreaType, Level};
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
        let county = "E92000001";
        for spec in [
            "u75_mortality",
            "flu_65",
            "emergency_admissions",
            "fuel_poverty",
            "school_readiness",
        ] {
            let o = latest(&all, spec, county, "").unwrap_or_else(|| panic!("{backend}: {spec}"));
            assert!(
                o.value.is_some() && o.lower95.is_some(),
                "{backend}: {spec} {o:?}"
            );
            assert_eq!(
                all.iter()
                    .filter(|x| x.indicator == spec
                        && x.area.as_str() == county
                        && x.category.is_empty()
                        && x.sex == "Persons")
                    .count(),
                10,
                "{backend}: ten years of {spec}"
            );
        }
        // Hartmoor is a shire county over its five districts: the engine computes it
        // as a level of its own (the whole place, as its one-county region is).
        for spec in ["u75_mortality", "fuel_poverty"] {
            let at = |area: &str| {
                latest(&all, spec, area, "")
                    .unwrap_or_else(|| panic!("{backend}: {spec} at {area}"))
                    .value
            };
            assert!(at(syndemic_demo::COUNTY).is_some(), "{backend}: {spec}");
            assert_eq!(
                at(syndemic_demo::COUNTY),
                at("E12900001"),
                "{backend}: {spec}"
            );
        }
        // Credible gradients: worse in the most deprived national decile present
        // than in the least deprived, in the direction of each indicator.
        let decile_value = |indicator: &str, want_most: bool| -> f64 {
            let rows: Vec<&Observation> = all
                .iter()
                .filter(|o| {
                    o.indicator == indicator
                        && o.area.as_str() == county
                        && o.category_type.ends_with("national decile")
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

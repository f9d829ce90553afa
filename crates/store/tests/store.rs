//! The store's contract, run against SQLite and (when configured) PostgreSQL.

use syndemic_model::{AreaCode, Level, Period};
use syndemic_store::*;

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

fn area(text: &str, name: &str) -> Area {
    Area {
        code: code(text),
        name: Some(name.into()),
        no_known_parent: false,
    }
}

fn observation(area: &str, period: &str, value: f64) -> Observation {
    Observation {
        indicator: "93356".into(),
        area: code(area),
        period: Period::parse(period).unwrap(),
        sex: "Persons".into(),
        age: "All ages".into(),
        category_type: String::new(),
        category: String::new(),
        count: Some(10.0),
        denominator: Some(1000.0),
        value: Some(value),
        lower95: Some(value - 1.0),
        upper95: Some(value + 1.0),
        lower998: None,
        upper998: None,
        note: Some("a note".into()),
        compared_to_england: Some("Better".into()),
        compared_to_parent: None,
        recent_trend: None,
    }
}

#[tokio::test]
async fn areas_links_and_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for store in syndemic_testkit::stores("areas_links_and_values_round_trip", dir.path()).await {
        let mut tx = store.begin().await.unwrap();
        tx.put_areas(&[
            area("E01006074", "Trafford 025A"),
            area("E05000829", "Altrincham"),
            area("E08000009", "Trafford"),
        ])
        .await
        .unwrap();
        tx.put_vintages(&[(code("E01006074"), "LSOA11".into())])
            .await
            .unwrap();
        tx.put_links(&[
            AreaLink {
                child: code("E01006074"),
                parent: code("E05000829"),
                level: Level::Ward,
                vintage: "2019".into(),
            },
            AreaLink {
                child: code("E01006074"),
                parent: code("E08000009"),
                level: Level::LowerTierAuthority,
                vintage: "2019".into(),
            },
        ])
        .await
        .unwrap();
        tx.put_deprivation(&[Deprivation {
            area: code("E01006074"),
            edition: "IoD2019".into(),
            domain: "imd".into(),
            rank: 16_000,
            decile: 5,
            score: None,
        }])
        .await
        .unwrap();
        let mut indicator = Indicator::named("93356", "Campylobacter");
        indicator.polarity = Some(Polarity::LowerIsBetter);
        indicator.disclosure = Some(Disclosure { min: 1.0, max: 4.0 });
        tx.put_indicator(&indicator).await.unwrap();
        tx.put_observations(&[
            observation("E01006074", "2019", 5.0),
            observation("E01006074", "2020/21", 6.0),
        ])
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let info = store.area(code("E01006074")).await.unwrap().unwrap();
        assert_eq!(info.area.name.as_deref(), Some("Trafford 025A"));
        assert_eq!(info.vintages, ["LSOA11"]);
        let parents = store.parents(code("E01006074")).await.unwrap();
        assert_eq!(parents.len(), 2);
        assert_eq!(parents[0].name.as_deref(), Some("Altrincham"));
        assert_eq!(store.count_in_vintage("LSOA11").await.unwrap(), 1);
        assert_eq!(
            store.deprivation(code("E01006074")).await.unwrap()[0].decile,
            5
        );
        assert_eq!(store.indicator("93356").await.unwrap(), Some(indicator));
        let latest = store.latest_observations(code("E01006074")).await.unwrap();
        assert_eq!(latest, [observation("E01006074", "2020/21", 6.0)]);
        assert_eq!(store.observations(None).await.unwrap().len(), 2);
        assert!(store.area(code("E01000001")).await.unwrap().is_none());
        store.close().await;
    }
}

/// The areas below an area, in one query: every level and vintage, each once, and
/// a link of an area to itself (a metropolitan district as its own upper tier)
/// does not loop.
#[tokio::test]
async fn descendants_walk_every_level_once() {
    let dir = tempfile::tempdir().unwrap();
    for store in syndemic_testkit::stores("descendants_walk_every_level_once", dir.path()).await {
        let link = |child: &str, parent: &str, level: Level, vintage: &str| AreaLink {
            child: code(child),
            parent: code(parent),
            level,
            vintage: vintage.into(),
        };
        let mut tx = store.begin().await.unwrap();
        let codes = [
            "E01006074",
            "E01006075",
            "E01035001",
            "E01000001",
            "E05000829",
            "E08000009",
            "E09000001",
            "E12000002",
        ];
        let areas: Vec<Area> = codes.iter().map(|c| area(c, c)).collect();
        tx.put_areas(&areas).await.unwrap();
        tx.put_links(&[
            link("E01006074", "E05000829", Level::Ward, "2019"),
            link("E01006075", "E05000829", Level::Ward, "2019"),
            link("E01006074", "E08000009", Level::LowerTierAuthority, "2019"),
            link("E01006075", "E08000009", Level::LowerTierAuthority, "2019"),
            link("E05000829", "E08000009", Level::LowerTierAuthority, "2019"),
            link("E08000009", "E08000009", Level::UpperTierAuthority, "2019"),
            link("E08000009", "E12000002", Level::Region, "2019"),
            link("E01035001", "E08000009", Level::LowerTierAuthority, "2021"),
            link("E01000001", "E09000001", Level::LowerTierAuthority, "2019"),
        ])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let below = |c: &str| {
            let store = &store;
            let c = code(c);
            async move {
                store
                    .descendants(c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            below("E12000002").await,
            [
                "E01006074",
                "E01006075",
                "E01035001",
                "E05000829",
                "E08000009"
            ]
        );
        assert_eq!(
            below("E08000009").await,
            ["E01006074", "E01006075", "E01035001", "E05000829"]
        );
        assert!(below("E01006074").await.is_empty());
        store.close().await;
    }
}

#[tokio::test]
async fn a_missing_number_then_a_number_in_the_same_place() {
    let dir = tempfile::tempdir().unwrap();
    for store in syndemic_testkit::stores("a_missing_number_then_a_number", dir.path()).await {
        let mut tx = store.begin().await.unwrap();
        tx.put_areas(&[area("E01006074", "Trafford 025A")])
            .await
            .unwrap();
        tx.put_indicator(&Indicator::named("93356", "Campylobacter"))
            .await
            .unwrap();
        let mut first = observation("E01006074", "2019", 5.0);
        first.count = None;
        tx.put_observations(&[first]).await.unwrap();
        let second = observation("E01006074", "2020", 6.0);
        tx.put_observations(std::slice::from_ref(&second))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.observations(None).await.unwrap()[1], second);
        store.close().await;
    }
}

#[tokio::test]
async fn an_uncommitted_transaction_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for store in
        syndemic_testkit::stores("an_uncommitted_transaction_leaves_nothing", dir.path()).await
    {
        {
            let mut tx = store.begin().await.unwrap();
            tx.put_areas(&[area("E08000009", "Trafford")])
                .await
                .unwrap();
            // Dropped without commit: an import that failed half way.
        }
        assert!(store.area(code("E08000009")).await.unwrap().is_none());
        // A constraint violation fails the statement and the transaction with it.
        let mut tx = store.begin().await.unwrap();
        tx.put_areas(&[area("E08000009", "Trafford")])
            .await
            .unwrap();
        let orphan = observation("E01006074", "2019", 1.0); // no such indicator or area
        assert!(tx.put_observations(&[orphan]).await.is_err());
        drop(tx);
        assert!(store.area(code("E08000009")).await.unwrap().is_none());
        store.close().await;
    }
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_migrate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::Sqlite(dir.path().join("again.db").display().to_string());
    let store = SqlStore::connect(&url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.put_areas(&[area("E92000001", "England")]).await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    let store = SqlStore::connect(&url).await.unwrap();
    let counts = store.area_counts().await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].areas, 1);
}

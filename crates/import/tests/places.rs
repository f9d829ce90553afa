//! Boundaries, neighbours, point-in-polygon and postcodes, on SQLite and PostgreSQL.

use syndemic_import::*;
use syndemic_model::AreaCode;
use syndemic_store::Store;
use syndemic_testkit::{shared_dir, stores};

#[tokio::test]
async fn boundaries_neighbours_and_locating_a_point() {
    let Some(shared) = shared_dir("boundaries_neighbours_and_locating_a_point") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = shared.join("data/boundaries-geo-lookups/boundaries/lsoa11/E08000009.geojson");
    for store in stores("boundaries_neighbours_and_locating", dir.path()).await {
        let backend = store.backend_name();
        // An area an earlier import created from its code alone.
        let unnamed = AreaCode::parse("E01006074").unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.put_areas(&[syndemic_store::Area {
            code: unnamed,
            name: None,
            no_known_parent: true,
        }])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let summary = import_boundaries(&store, &file)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        println!("{backend}: {summary}");
        // The boundary names it.
        assert_eq!(
            store
                .area(unnamed)
                .await
                .unwrap()
                .unwrap()
                .area
                .name
                .as_deref(),
            Some("Trafford 025A"),
            "{backend}"
        );
        assert_eq!(
            summary.values, 138,
            "{backend}: Trafford's 138 LSOAs (2011)"
        );
        assert_eq!(
            summary.neighbours, 373,
            "{backend}: neighbouring pairs sharing a boundary"
        );
        // Each LSOA's district, upper tier, combined authority (Greater
        // Manchester) and region from its properties.
        assert_eq!(summary.links, 138 * 4, "{backend}: parent links");
        let parents = store
            .parents(AreaCode::parse("E01006074").unwrap())
            .await
            .unwrap();
        assert!(
            parents
                .iter()
                .any(|p| p.link.parent.as_str() == "E12000002"),
            "{backend}: {parents:?}"
        );
        assert!(
            parents.iter().any(|p| p.link.parent.as_str() == "E47000001"
                && p.link.level == syndemic_model::Level::CombinedAuthority),
            "{backend}: {parents:?}"
        );
        let boundaries = store.boundaries("LSOA11").await.unwrap();
        assert_eq!(boundaries.len(), 138);
        // The simplified outline is smaller and still closed.
        let trafford_025a = boundaries
            .iter()
            .find(|b| b.code.as_str() == "E01006074")
            .unwrap();
        assert!(trafford_025a.simplified.len() < trafford_025a.geometry.len());
        // The published centroid of E01006074 lies in it; a point in the sea lies nowhere.
        let found = locate(&store, "LSOA11", -2.3779, 53.39055).await.unwrap();
        assert_eq!(
            found,
            Some(AreaCode::parse("E01006074").unwrap()),
            "{backend}"
        );
        assert_eq!(locate(&store, "LSOA11", -4.0, 54.0).await.unwrap(), None);
        let neighbours = store
            .neighbours(AreaCode::parse("E01006074").unwrap(), "LSOA11")
            .await
            .unwrap();
        assert!(
            !neighbours.is_empty() && neighbours.len() < 15,
            "{backend}: {neighbours:?}"
        );
        for n in &neighbours {
            let back = store.neighbours(*n, "LSOA11").await.unwrap();
            assert!(
                back.contains(&AreaCode::parse("E01006074").unwrap()),
                "adjacency is symmetric"
            );
        }
        // A broken file changes nothing.
        let bad = dir.path().join("bad.geojson");
        std::fs::write(&bad, r#"{"type":"FeatureCollection","features":[{"properties":{"LSOA11CD":"E01006074"},"geometry":{"type":"Polygon","coordinates":[[[374965,388256],[374966,388256],[374966,388257],[374965,388256]]]}}]}"#).unwrap();
        let error = import_boundaries(&store, &bad)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("feature 1") && error.contains("not longitude and latitude"),
            "{error}"
        );
        assert_eq!(store.boundaries("LSOA11").await.unwrap(), boundaries);
        // A truncated file: the features before the cut are read and written (in
        // batches of 100), then the broken end undoes them all.
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("LSOA11CD", "LSOA21CD")
            .replace("LSOA11NM", "LSOA21NM");
        let cut = dir.path().join("cut.geojson");
        std::fs::write(&cut, &text[..text.len() * 9 / 10]).unwrap();
        let error = import_boundaries(&store, &cut)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cut.geojson, line") && error.contains("not GeoJSON"),
            "{error}"
        );
        assert!(
            store.boundaries("LSOA21").await.unwrap().is_empty(),
            "{backend}"
        );
        let empty = dir.path().join("empty.geojson");
        std::fs::write(&empty, r#"{"type":"FeatureCollection","name":"x"}"#).unwrap();
        let error = import_boundaries(&store, &empty)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("no `features` list"), "{error}");
        store.close().await;
    }
}

#[tokio::test]
async fn postcodes_to_lsoas_and_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    // A few rows in the NSPL layout, written for this test.
    let nspl = dir.path().join("nspl.csv");
    std::fs::write(
        &nspl,
        "pcd,pcd2,pcds,dointr,doterm,lsoa11,lsoa21,lat,long\n\
         M337XX,M33  7XX,M33 7XX,199901,,E01006074,E01006074,53.390550,-2.377900\n\
         M1 1AE,M1   1AE,M1 1AE,199901,,E01005209,E01033658,53.478530,-2.234400\n\
         CF101AA,CF10 1AA,CF10 1AA,199901,,W01001939,W01001939,51.481400,-3.179100\n\
         ZZ991ZZ,ZZ99 1ZZ,ZZ99 1ZZ,199901,,E01006074,,99.999999,0.000000\n",
    )
    .unwrap();
    for store in stores("postcodes_to_lsoas_and_coordinates", dir.path()).await {
        let summary = import_postcodes(&store, &nspl).await.unwrap();
        assert_eq!((summary.values, summary.skipped_outside_england), (3, 1));
        let normal = normalise_postcode("m33 7xx").unwrap();
        let found = store.postcode(&normal).await.unwrap().unwrap();
        assert_eq!(found.lsoa11, Some(AreaCode::parse("E01006074").unwrap()));
        assert_eq!(
            (found.latitude, found.longitude),
            (Some(53.39055), Some(-2.3779))
        );
        let no_grid = store.postcode("ZZ99 1ZZ").await.unwrap().unwrap();
        assert_eq!(no_grid.latitude, None);
        assert!(store.postcode("CF10 1AA").await.unwrap().is_none());
        // A malformed postcode: refused with line and column, nothing kept.
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "pcds,lsoa11,lat,long\nM1 2AB,E01005209,53.4,-2.2\nnot a postcode,E01005209,53.4,-2.2\n").unwrap();
        let error = import_postcodes(&store, &bad)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 3, column `pcds`"), "{error}");
        assert!(store.postcode("M1 2AB").await.unwrap().is_none());
        store.close().await;
    }
}

//! Published files as they come, and files that are wrong: each error says file,
//! line and column, and a failed import leaves the store exactly as it was — on
//! SQLite and on PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};

use syndemic_import::*;
use syndemic_model::AreaCode;
use syndemic_store::{SqlStore, Store};
use syndemic_testkit::stores;

const LOOKUP: &str = "\u{feff}FID,LSOA11CD,LSOA11NM,WD19CD,WD19NM,LAD19CD,LAD19NM\r\n\
1,E01006074,Trafford 025A,E05000819,Altrincham,E08000009,Trafford\r\n\
2,E01006075,Trafford 025B,E05000819,Altrincham,E08000009,Trafford\r\n\
3,W01000001,Isle of Anglesey 001A,W05000001,Aberffraw,W06000001,Isle of Anglesey\r\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Everything the store holds, as one comparable value.
async fn snapshot(store: &SqlStore) -> (Vec<syndemic_store::AreaCount>, usize, usize, usize) {
    (
        store.area_counts().await.unwrap(),
        store
            .links(syndemic_model::Level::Ward, "2019")
            .await
            .unwrap()
            .len(),
        store.observations(None).await.unwrap().len(),
        store.imports().await.unwrap().len(),
    )
}

async fn refused(store: &SqlStore, result: Result<ImportSummary, ImportError>, expect: &[&str]) {
    let error = result.expect_err("the import must fail").to_string();
    for part in expect {
        assert!(
            error.contains(part),
            "{}: `{error}` does not say `{part}`",
            store.backend_name()
        );
    }
}

#[tokio::test]
async fn bad_files_are_refused_whole_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for store in stores("bad_files_are_refused_whole", d).await {
        // A good file first: BOM, CRLF, a Welsh row skipped and counted.
        let good = write(d, "good.csv", LOOKUP.as_bytes());
        let summary = import_lookups(&store, &good, &LookupOptions::default())
            .await
            .unwrap();
        assert_eq!(summary.skipped_outside_england, 1);
        assert_eq!((summary.rows, summary.links), (3, 5));
        let before = snapshot(&store).await;

        let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
            (
                "malformed.csv",
                format!("{LOOKUP}4,E01006076,Trafford 025C,E05000819,Altrincham,E0800009,Trafford\r\n").into_bytes(),
                vec!["malformed.csv, line 5, column `LAD19CD`", "not a GSS area code"],
            ),
            (
                "unknown_prefix.csv",
                format!("{LOOKUP}4,E01006076,Trafford 025C,E05000819,Altrincham,E98000009,Trafford\r\n").into_bytes(),
                vec!["line 5", "E98", "not a known type"],
            ),
            (
                "wrong_type.csv",
                format!("{LOOKUP}4,E01006076,Trafford 025C,E05000819,Altrincham,E05000819,Altrincham\r\n").into_bytes(),
                vec!["line 5, column `LAD19CD`", "is a Ward code, but this column holds district codes"],
            ),
            (
                "duplicate.csv",
                format!("{LOOKUP}4,E01006074,Trafford 025A,E05000819,Altrincham,E08000009,Trafford\r\n").into_bytes(),
                vec!["line 5, column `LSOA11CD`", "duplicate key", "line 2"],
            ),
            (
                "two_parents.csv",
                format!("{LOOKUP}4,E01006076,Trafford 025C,E05000819,Altrincham,E08000010,Wigan\r\n").into_bytes(),
                vec!["line 5", "E05000819 is in E08000010 here but in E08000009 on line 2"],
            ),
            (
                "latin1.csv",
                [LOOKUP.as_bytes(), b"4,E01006076,Caf\xe9 001A,E05000819,Altrincham,E08000009,Trafford\r\n"].concat(),
                vec!["line 5, column `LSOA11NM`", "not UTF-8", "Latin-1"],
            ),
            (
                "truncated.csv",
                format!("{LOOKUP}4,E01006076,Trafford 025C,E05000819").into_bytes(),
                vec!["line 5", "truncated"],
            ),
            (
                "boundaries.csv",
                br#"{"type": "FeatureCollection", "features": []}"#.to_vec(),
                vec!["JSON", "import boundaries"],
            ),
            ("empty.csv", Vec::new(), vec!["empty"]),
            (
                "not_a_lookup.csv",
                b"name,value\nx,1\n".to_vec(),
                vec!["no geography code columns"],
            ),
        ];
        for (name, bytes, expect) in cases {
            let path = write(d, name, &bytes);
            refused(
                &store,
                import_lookups(&store, &path, &LookupOptions::default()).await,
                &expect,
            )
            .await;
            assert_eq!(
                snapshot(&store).await,
                before,
                "{}: {name} left something behind",
                store.backend_name()
            );
        }

        // A gzip file cut short.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(LOOKUP.as_bytes()).unwrap();
        let mut bytes = gz.finish().unwrap();
        bytes.truncate(bytes.len() / 2);
        let path = write(d, "cut.csv.gz", &bytes);
        refused(
            &store,
            import_lookups(&store, &path, &LookupOptions::default()).await,
            &["cut.csv.gz", "truncated"],
        )
        .await;
        assert_eq!(snapshot(&store).await, before);

        // A Fingertips export with a period of an unknown shape half way down.
        let header = "Indicator ID,Indicator Name,Area Code,Area Name,Sex,Age,Category Type,Category,Time period,Value,Count,Denominator\n";
        let path = write(
            d,
            "period.csv",
            format!("{header}1,X,E08000009,Trafford,Persons,All ages,,,2019/20,5,5,100\n1,X,E08000009,Trafford,Persons,All ages,,,2019/21,5,5,100\n").as_bytes(),
        );
        refused(
            &store,
            import_fingertips(&store, &path).await,
            &[
                "period.csv, line 3, column `Time period`",
                "`2019/21` is not a period",
            ],
        )
        .await;
        assert_eq!(snapshot(&store).await, before);
        let path = write(
            d,
            "number.csv",
            format!("{header}1,X,E08000009,Trafford,Persons,All ages,,,2019,five,5,100\n")
                .as_bytes(),
        );
        refused(
            &store,
            import_fingertips(&store, &path).await,
            &["line 2, column `Value`", "`five` is not a number"],
        )
        .await;
        assert_eq!(snapshot(&store).await, before);
        let path = write(
            d,
            "gp.csv",
            format!("{header}1,X,A81001,A practice,Persons,All ages,,,2019,5,5,100\n").as_bytes(),
        );
        refused(
            &store,
            import_fingertips(&store, &path).await,
            &[
                "line 2, column `Area Code`",
                "`A81001` is not a GSS area code",
            ],
        )
        .await;
        assert_eq!(snapshot(&store).await, before);

        // A community-defined place's code the store does not hold: only
        // `syndemic community define` makes those.
        let path = write(
            d,
            "community.csv",
            format!("{header}1,X,E99000004,Our village,Persons,All ages,,,2019,5,5,100\n")
                .as_bytes(),
        );
        refused(
            &store,
            import_fingertips(&store, &path).await,
            &["community.csv", "E99000004", "syndemic community define"],
        )
        .await;
        assert_eq!(snapshot(&store).await, before);

        // An abolished county met in an old export is created and flagged; Welsh rows
        // are skipped and counted; thousands separators are read.
        let path = write(
            d,
            "old.csv",
            format!("{header}1,X,E10000009,Dorset (old),Persons,All ages,,,2017 - 19,5.5,\"1,205\",100\n1,X,W06000001,Anglesey,Persons,All ages,,,2019,5,5,100\n").as_bytes(),
        );
        let summary = import_fingertips(&store, &path).await.unwrap();
        assert_eq!(
            (
                summary.created_without_parent,
                summary.skipped_outside_england
            ),
            (1, 1)
        );
        let dorset = store
            .area(AreaCode::parse("E10000009").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(dorset.area.no_known_parent);
        assert_eq!(
            store.observations(None).await.unwrap()[0].count,
            Some(1205.0)
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_blank_parent_means_no_parent() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores("a_blank_parent_means_no_parent", dir.path()).await {
        let path = write(
            dir.path(),
            "blank.csv",
            b"WD19CD,WD19NM,LAD19CD,LAD19NM\nE05000819,Altrincham,,\n",
        );
        let summary = import_lookups(&store, &path, &LookupOptions::default())
            .await
            .unwrap();
        assert_eq!((summary.areas, summary.links), (1, 0));
        assert!(store
            .parents(AreaCode::parse("E05000819").unwrap())
            .await
            .unwrap()
            .is_empty());
        store.close().await;
    }
}

//! Hostile files (issue 17, item 8): rows cut short, columns named twice, values
//! outside their domain. Each is refused with its line and column, and the store is
//! left as it was — on SQLite and on PostgreSQL.

use std::path::{Path, PathBuf};

use syndemic_import::*;
use syndemic_store::{SqlStore, Store};
use syndemic_testkit::stores;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn refused(
    store: &SqlStore,
    result: Result<ImportSummary, ImportError>,
    expect: &[&str],
) -> String {
    let error = result.expect_err("the import must be refused").to_string();
    for part in expect {
        assert!(
            error.contains(part),
            "{}: `{error}` does not say `{part}`",
            store.backend_name()
        );
    }
    error
}

const FINGERTIPS: &str = "Indicator ID,Indicator Name,Area Code,Area Name,Sex,Age,Category Type,Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,Count,Denominator\n";

#[tokio::test]
async fn rows_cut_short_are_refused_not_stored_blank() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for store in stores("hostile_rows_cut_short", d).await {
        // A Fingertips file cut mid-number: the last row ends inside `Value`.
        let whole = "1,X,E08000009,Trafford,Persons,All ages,,,2019,311668.2227734467,300000,320000,5,100\n";
        let cut = "1,X,E08000010,Wigan,Persons,All ages,,,2019,311668.2";
        let path = write(d, "cut.csv", &format!("{FINGERTIPS}{whole}{cut}"));
        refused(
            &store,
            import_fingertips(&store, &path).await,
            &["cut.csv, line 3, column `Lower CI 95.0 limit`", "truncated"],
        )
        .await;
        assert!(store.observations(None).await.unwrap().is_empty());

        let path = write(
            d,
            "counts.csv",
            "area,period,sex,age_band,numerator,denominator\nE01006074,2019,Persons,0-4,5,100\nE01006075,2019,Persons,0-4\n",
        );
        refused(
            &store,
            import_counts(&store, &path, "d").await,
            &["line 3, column `numerator`"],
        )
        .await;

        let path = write(
            d,
            "lookup.csv",
            "LSOA11CD,LSOA11NM,WD19CD,WD19NM,LAD19CD,LAD19NM\nE01006074,A,E05000819,Altrincham,E08000009,Trafford\nE01006075,B,E05000819,Altrincham\n",
        );
        refused(
            &store,
            import_lookups(&store, &path, &LookupOptions::default()).await,
            &["line 3, column `LAD19CD`"],
        )
        .await;

        let path = write(
            d,
            "pc.csv",
            "pcds,lsoa11,lat,long\nM1 2AB,E01005209,53.4,-2.2\nM1 2AC,E01005209,53.4\n",
        );
        refused(
            &store,
            import_postcodes(&store, &path).await,
            &["line 3, column `long`"],
        )
        .await;
        assert!(store.imports().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn columns_named_twice_are_refused_by_every_importer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for store in stores("hostile_duplicate_columns", d).await {
        let path = write(
            d,
            "ft.csv",
            &format!(
                "{}Value\n1,X,E08000009,Trafford,Persons,All ages,,,2019,5,4,6,5,100,7\n",
                FINGERTIPS.trim_end().to_owned() + ","
            ),
        );
        refused(&store, import_fingertips(&store, &path).await, &["twice"]).await;
        let path = write(
            d,
            "counts.csv",
            "area,period,numerator,Numerator\nE01006074,2019,5,6\n",
        );
        refused(&store, import_counts(&store, &path, "d").await, &["twice"]).await;
        let path = write(
            d,
            "lookup.csv",
            "LSOA11CD,WD19CD,LSOA11 CD\nE01006074,E05000819,E01006075\n",
        );
        refused(
            &store,
            import_lookups(&store, &path, &LookupOptions::default()).await,
            &["twice"],
        )
        .await;
        let path = write(
            d,
            "pc.csv",
            "pcds,lsoa11,lat,lat\nM1 2AB,E01005209,53.4,53.5\n",
        );
        refused(&store, import_postcodes(&store, &path).await, &["twice"]).await;
        let path = write(
            d,
            "imd.csv",
            "lsoa21_code,IMD_rank,IMD_decile,IMD_rank\nE01000001,5,1,6\n",
        );
        refused(&store, import_imd(&store, &path).await, &["twice"]).await;
        assert!(store.imports().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn values_outside_their_domain_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for store in stores("hostile_domains", d).await {
        for (name, row, column) in [
            (
                "negative-count.csv",
                "1,X,E08000009,Trafford,Persons,All ages,,,2019,5,4,6,-5,100\n",
                "column `Count`",
            ),
            (
                "negative-denominator.csv",
                "1,X,E08000009,Trafford,Persons,All ages,,,2019,5,4,6,5,-100\n",
                "column `Denominator`",
            ),
            (
                "nan.csv",
                "1,X,E08000009,Trafford,Persons,All ages,,,2019,NaN,4,6,5,100\n",
                "column `Value`",
            ),
        ] {
            let path = write(d, name, &format!("{FINGERTIPS}{row}"));
            refused(
                &store,
                import_fingertips(&store, &path).await,
                &["line 2", column],
            )
            .await;
        }
        assert!(store.observations(None).await.unwrap().is_empty());

        for (lat, long, column) in [("500", "-2.2", "`lat`"), ("53.4", "-400", "`long`")] {
            let path = write(
                d,
                "pc.csv",
                &format!("pcds,lsoa11,lat,long\nM1 2AB,E01005209,{lat},{long}\n"),
            );
            refused(
                &store,
                import_postcodes(&store, &path).await,
                &["line 2", column, "impossible"],
            )
            .await;
        }

        let path = write(
            d,
            "imd.csv",
            "lsoa21_code,IMD_rank,IMD_decile\nE01000001,99999,1\n",
        );
        refused(
            &store,
            import_imd(&store, &path).await,
            &["line 2, column `IMD_rank`", "99999"],
        )
        .await;
        assert!(store.imports().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn counts_find_a_repeated_key_by_fingerprint_and_name_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for store in stores("hostile_counts_repeat", d).await {
        let mut text = String::from("area,period,sex,age_band,numerator\n");
        for band in ["0-4", "5-9", "10-14"] {
            text.push_str(&format!("E01006074,2019,Persons,{band},5\n"));
        }
        text.push_str("E01006074,2019,Persons,05-09,6\n");
        let path = write(d, "repeat.csv", &text);
        refused(
            &store,
            import_counts(&store, &path, "d").await,
            &["line 5", "also on line 3"],
        )
        .await;
    }
}

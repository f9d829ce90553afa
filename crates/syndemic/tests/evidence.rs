//! The evidence-store commands end to end: `syndemic import`, `areas show`,
//! `export`, on the real published files.

use std::path::Path;
use std::process::{Command, Output};

use syndemic_testkit::{read_csv, shared_dir, Served};

fn syndemic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(args)
        .output()
        .expect("run syndemic")
}

fn ok(args: &[&str]) -> String {
    let out = syndemic(args);
    assert!(
        out.status.success(),
        "syndemic {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn data(shared: &Path, file: &str) -> String {
    shared.join("data").join(file).display().to_string()
}

#[test]
fn areas_show_summarises_an_lsoa_from_the_published_files() {
    let Some(shared) = shared_dir("areas_show_summarises_an_lsoa_from_the_published_files") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db").display().to_string();
    ok(&[
        "import",
        "lookups",
        "--quiet",
        "--db",
        &db,
        &data(
            &shared,
            "ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv",
        ),
        &data(&shared, "ons-lookups-jtrim/LSOA11_to_UTLA19_lookup_EW.csv"),
        &data(&shared, "boundaries-geo-lookups/lookups/la_all_codes.csv"),
    ]);
    ok(&[
        "import",
        "imd",
        "--quiet",
        "--db",
        &db,
        &data(
            &shared,
            "iod2019-energy_flex/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz",
        ),
        &data(
            &shared,
            "iod2019-energy_flex/File_6_-_IoD2019_Population_Denominators.csv.gz",
        ),
    ]);
    ok(&[
        "import",
        "fingertips",
        "--quiet",
        "--db",
        &db,
        &data(&shared, "fingertips-data-dev/indicators-CountyUA.data.csv"),
    ]);
    let text = ok(&["areas", "show", "E01006074", "--db", &db]);
    println!("{text}");
    for line in [
        "E01006074 Trafford 025A",
        "Ward 2019: Altrincham E05000819",
        "District 2019: Trafford E08000009",
        "Region: North West E12000002",
        "IMD 2019 decile: 5",
        "Campylobacter incidence rate/100,000 [Trafford], 2017: 29.8 (95% CI 23.3 to 37.7)",
    ] {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "missing `{line}` in\n{text}"
        );
    }
    // A county abolished since 2019 (Northamptonshire) is in no current lookup of
    // regions: it takes its districts' region.
    let county = ok(&["areas", "show", "E10000021", "--db", &db]);
    assert!(
        county
            .lines()
            .any(|l| l.trim() == "Region: East Midlands E12000004"),
        "{county}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["areas", "show", "E01006074", "--json", "--db", &db])).unwrap();
    assert_eq!(json["name"], "Trafford 025A");
    assert_eq!(json["deprivation"][0]["decile"], 5);
    assert_eq!(json["parents"][0]["name"], "Altrincham");
    let quintile = json["deprivation"][0]["local_quintile"]["quintile"]
        .as_u64()
        .unwrap();

    // Trafford's LSOAs in local quintiles: the same quintile as `areas show`.
    let local = csv_rows(&ok(&["areas", "deprivation", "E08000009", "--db", &db]));
    assert_eq!(local.len(), 138);
    let row = local.iter().find(|r| r["code"] == "E01006074").unwrap();
    assert_eq!(row["name"], "Trafford 025A");
    assert_eq!(row["national_decile"], "5");
    assert_eq!(row["local_quantile"], quintile.to_string());
    let deciles = csv_rows(&ok(&[
        "areas",
        "deprivation",
        "E08000009",
        "--quantiles",
        "10",
        "--db",
        &db,
    ]));
    assert_eq!(deciles[0]["local_quantile"], "1");
    assert_eq!(deciles[137]["local_quantile"], "10");
    // The districts of the North West with MHCLG's summary measures, ranked
    // nationally (Trafford: 209th of 317 on average rank in the published File 10).
    let nw = csv_rows(&ok(&[
        "areas",
        "summaries",
        "--level",
        "district",
        "--within",
        "E12000002",
        "--db",
        &db,
    ]));
    assert_eq!(nw.len(), 39);
    let trafford = nw.iter().find(|r| r["code"] == "E08000009").unwrap();
    assert_eq!(trafford["name"], "Trafford");
    assert_eq!(trafford["small_areas"], "138");
    assert_eq!(trafford["rank_average_rank"], "209");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "areas",
        "summaries",
        "--level",
        "region",
        "--json",
        "--db",
        &db,
    ]))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 9);
    assert!(json[0]["average_rank"].is_f64());
    let refused = syndemic(&["areas", "summaries", "--level", "parish", "--db", &db]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--level parish: give district"));

    // Boundaries, a point located, neighbours, and a postcode.
    ok(&[
        "import",
        "boundaries",
        "--quiet",
        "--db",
        &db,
        &data(
            &shared,
            "boundaries-geo-lookups/boundaries/lsoa11/E08000009.geojson",
        ),
    ]);
    let located = ok(&[
        "areas", "locate", "--lon", "-2.3779", "--lat", "53.39055", "--db", &db,
    ]);
    assert_eq!(located.trim(), "E01006074");
    assert!(!ok(&["areas", "neighbours", "E01006074", "--db", &db])
        .trim()
        .is_empty());
    let nspl = dir.path().join("nspl.csv");
    std::fs::write(
        &nspl,
        "pcds,lsoa11,lsoa21,lat,long\nM33 7XX,E01006074,E01006074,53.39055,-2.3779\n",
    )
    .unwrap();
    ok(&[
        "import",
        "postcodes",
        "--quiet",
        "--db",
        &db,
        &nspl.display().to_string(),
    ]);
    let postcode = ok(&["areas", "postcode", "m337xx", "--db", &db]);
    assert!(postcode.contains("LSOA 2011: E01006074"), "{postcode}");

    // Export in the Fingertips layout, to a file.
    let export = dir.path().join("export.csv");
    ok(&[
        "export",
        "--indicator",
        "93356",
        "--output",
        &export.display().to_string(),
        "--db",
        &db,
    ]);
    let rows = read_csv(&export);
    let source = read_csv(&shared.join("data/fingertips-data-dev/indicators-CountyUA.data.csv"));
    assert_eq!(rows.len(), source.len());
    // The same as Parquet: read back, the same rows.
    let parquet = dir.path().join("export.parquet");
    ok(&[
        "export",
        "--format",
        "parquet",
        "--output",
        &parquet.display().to_string(),
        "--db",
        &db,
    ]);
    let back = syndemic_parquet::parquet_to_csv(&parquet).unwrap();
    let back_path = dir.path().join("back.csv");
    std::fs::write(&back_path, back).unwrap();
    let back = read_csv(&back_path);
    assert_eq!(back.len(), rows.len());
    assert_eq!(back[0]["Area Code"], rows[0]["Area Code"]);
    assert_eq!(
        syndemic_testkit::num(&back[0], "Value"),
        syndemic_testkit::num(&rows[0], "Value")
    );
}

#[test]
fn commands_refuse_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db").display().to_string();
    let unknown = syndemic(&["areas", "show", "E01006074", "--db", &db]);
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("E01006074 (LSOA) is not in the store"),
        "{message}"
    );
    let malformed = syndemic(&["areas", "show", "E0100607", "--db", &db]);
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("not a GSS area code"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "LSOA11CD,LAD19CD\nE01006074,E0800009\n").unwrap();
    let failed = syndemic(&[
        "import",
        "lookups",
        "--quiet",
        "--db",
        &db,
        &bad.display().to_string(),
    ]);
    assert!(!failed.status.success());
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(
        message.contains("bad.csv, line 2, column `LAD19CD`"),
        "{message}"
    );
    assert!(
        message.contains("nothing from this file was imported"),
        "{message}"
    );
    let planned = syndemic(&["plan-outreach", "--grid-km", "2", "--db", &db]);
    assert!(String::from_utf8_lossy(&planned.stderr).contains("no LSOA boundaries in the store"));
    let planned = syndemic(&["plan-outreach", "--stops", "0", "--db", &db]);
    assert!(String::from_utf8_lossy(&planned.stderr).contains("--stops must be at least 1"));
    let db_url = syndemic(&["areas", "show", "E01006074", "--db", "mysql://x"]);
    assert!(String::from_utf8_lossy(&db_url.stderr).contains("not a database syndemic can use"));
}

/// One HTTP/1.1 GET with `Connection: close`; (status, body).
#[test]
fn serves_the_tees_valley_from_the_published_files() {
    let Some(shared) = shared_dir("serves_the_tees_valley_from_the_published_files") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tees.db").display().to_string();
    // The 2021 LSOA boundaries carry each LSOA's district, upper tier and region.
    ok(&[
        "import",
        "boundaries",
        "--quiet",
        "--db",
        &db,
        &data(
            &shared,
            "boundaries-geo-lookups/boundaries/lsoa/E47000006.geojson",
        ),
    ]);
    ok(&[
        "import",
        "imd",
        "--quiet",
        "--db",
        &db,
        &data(&shared, "iod-humaniverse-IMD/imd2025_england_lsoa21.csv"),
    ]);
    let server = Served::start(
        env!("CARGO_BIN_EXE_syndemic"),
        &["serve", "--db", &db, "--place", "Tees Valley"],
    );
    let (status, page) = server.get("/hidden");
    let (hartlepool_status, hartlepool) = server.get("/hidden?within=E06000001&gap=2");
    let (api_status, api) = server.get("/api/v1/hidden?per_page=1000");
    drop(server);
    assert_eq!(status, 200, "{page}");
    // The map: one shape per LSOA of the Tees Valley.
    assert_eq!(page.matches("data-code=").count(), 425);
    assert_eq!(api_status, 200);
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let found = api["total_items"].as_u64().unwrap();
    println!("Tees Valley: {found} LSOAs at least 3 deciles more deprived than their neighbours");
    assert!(found >= 1, "{api}");
    // Each listed area is in a deprived decile, and the figures that make it
    // stand out are given.
    for h in api["contents"].as_array().unwrap() {
        assert!(h["decile"].as_u64().unwrap() <= 4);
        assert!(h["gap"].as_f64().unwrap() >= 3.0);
        assert!(h["neighbours_score"].as_f64().unwrap() < h["score"].as_f64().unwrap());
    }
    assert_eq!(hartlepool_status, 200, "{hartlepool}");
    assert!(
        hartlepool.contains("Hartlepool"),
        "areas within Hartlepool listed by name"
    );
    assert!(!hartlepool.contains("Middlesbrough 0"), "only Hartlepool's");
}

/// Lambeth from its Fingertips exports: the Fingertips API's metadata gives every
/// indicator its unit and source; with MMR uptake's polarity set, Lambeth's 76 %
/// against England's 89 % is worse than England; life expectancy and healthy life
/// expectancy, published for males and females in files of their own, are one
/// indicator each, shown on the profile for both sexes.
#[test]
fn lambeth_with_indicator_metadata_and_sexes() {
    let Some(shared) = shared_dir("lambeth_with_indicator_metadata_and_sexes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lambeth.db").display().to_string();
    let mut files: Vec<String> = std::fs::read_dir(shared.join("data/fingertips-lambeth"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 24);
    let mut args = vec!["import", "fingertips", "--quiet", "--db", &db];
    args.extend(files.iter().map(String::as_str));
    ok(&args);
    let list = ok(&["indicators", "list", "--db", &db]);
    assert_eq!(list.lines().count(), 1 + 22, "{list}");
    assert!(
        list.contains("A01b - Life expectancy at birth (1 year range)"),
        "{list}"
    );
    assert!(
        !list.contains("(Female"),
        "the sex is not in a name: {list}"
    );
    let out = syndemic(&[
        "indicators",
        "import",
        &data(&shared, "fingertips-api-indicator-metadata-json/ft.json"),
        "--db",
        &db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("1587 indicators described; 22 in the store updated"),
        "{said}"
    );
    let list = ok(&["indicators", "list", "--db", &db]);
    assert!(
        list.lines()
            .skip(1)
            .all(|l| l.split('\t').nth(2) != Some("-")),
        "every indicator has a unit: {list}"
    );
    let mmr = ok(&["indicators", "show", "30309", "--db", &db]);
    assert!(mmr.contains("Unit: %"), "{mmr}");
    assert!(
        mmr.contains("Source: NHS England (OHID Fingertips)"),
        "{mmr}"
    );
    assert!(
        mmr.contains("Disclosure: counts 1–4 withheld (the default)"),
        "{mmr}"
    );
    ok(&[
        "indicators",
        "set",
        "30309",
        "--polarity",
        "higher-is-better",
        "--db",
        &db,
    ]);
    let export = csv_rows(&ok(&["export", "--indicator", "30309", "--db", &db]));
    let lambeth = export
        .iter()
        .find(|r| r["Area Code"] == "E09000022" && r["Time period"] == "2021/22")
        .unwrap();
    assert_eq!(
        lambeth["Compared to England value or percentiles"], "Worse",
        "{lambeth:?}"
    );
    // The profile: life expectancy and healthy life expectancy for each sex, under
    // the names the metadata gives.
    let server = Served::start(
        env!("CARGO_BIN_EXE_syndemic"),
        &["serve", "--db", &db, "--place", "Lambeth"],
    );
    let (status, page) = server.get("/areas/E09000022");
    // Each sex's row links to the indicator view of that sex's series, which has
    // a sex selector (life expectancy has no Persons).
    let link = page
        .split("<a href=\"")
        .find(|a| a.contains(">Life expectancy at birth (Female)<"))
        .and_then(|a| a.split('"').next())
        .expect("a link from the female life expectancy row")
        .replace("&amp;", "&");
    assert!(link.ends_with("&sex=Female"), "{link}");
    let (view_status, view) = server.get(&link);
    let (male_status, male) = server.get(&link.replace("Female", "Male"));
    let (bad_status, _) = server.get(&link.replace("Female", "Persons"));
    drop(server);
    assert_eq!(view_status, 200, "{view}");
    assert!(view.contains("Showing <strong>Female, "), "{view}");
    assert!(
        view.contains("<select id=\"series-sex\" name=\"sex\">"),
        "a sex selector"
    );
    assert_eq!(male_status, 200);
    assert!(male.contains("Showing <strong>Male, "));
    assert_eq!(bad_status, 404, "life expectancy has no Persons series");
    assert_eq!(status, 200, "{page}");
    for name in [
        "Life expectancy at birth (Female)",
        "Life expectancy at birth (Male)",
        "Healthy life expectancy at birth (Female)",
        "Healthy life expectancy at birth (Male)",
    ] {
        assert!(page.contains(name), "the profile lacks {name}");
    }
}

//! `docs/REAL-PLACE.md` run as written, on SQLite and PostgreSQL: Trafford from the
//! published files and a generated Trafford-only file of deaths by LSOA, sex and
//! age band. No England or North West value is published from Trafford's counts;
//! with a benchmark file the comparisons use its values; no count from 1 to 4 leaves
//! the store by export, API or page.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use syndemic_testkit::{database_urls, read_csv, shared_dir, Served};

/// The `syndemic …` commands of the document's shell blocks, in order, each split
/// into words (double quotes group words).
fn steps(doc: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_shell = false;
    for line in doc.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            in_shell = line == "```sh";
            continue;
        }
        if in_shell && line.starts_with("syndemic ") {
            let mut words = Vec::new();
            let mut word = String::new();
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ' ' if !quoted => {
                        if !word.is_empty() {
                            words.push(std::mem::take(&mut word));
                        }
                    }
                    c => word.push(c),
                }
            }
            words.push(word);
            out.push(words);
        }
    }
    out
}

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(args)
        .output()
        .expect("run syndemic")
}

fn ok(args: &[String]) -> (String, String) {
    let out = run(args);
    assert!(
        out.status.success(),
        "syndemic {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const BANDS: [&str; 17] = [
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
    "55-59", "60-64", "65-69", "70-74", "75-79", "80-84",
];

/// Deaths in Trafford's 138 LSOAs (2011), 2019-2021, by sex and band (the top band
/// `85+` as the Census gives it): rates rising with age, some LSOAs with very few.
fn deaths_file(shared: &Path, work: &Path) -> usize {
    let lookup = read_csv(
        &shared
            .join("data")
            .join("ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv"),
    );
    let mut lsoas: Vec<String> = lookup
        .iter()
        .filter(|r| r["LAD19CD"] == "E08000009")
        .map(|r| r["LSOA11CD"].clone())
        .collect();
    lsoas.sort();
    let mut text = String::from("area,period,sex,age_band,count,population\n");
    for (i, lsoa) in lsoas.iter().enumerate() {
        for year in 2019..=2021 {
            for (s, sex) in ["Female", "Male"].iter().enumerate() {
                let bands = BANDS.iter().copied().chain(["85+"]);
                for (b, band) in bands.enumerate() {
                    let population = 40 + (i * 7 + b * 13 + s * 5 + year as usize) % 50;
                    let rate =
                        0.0002 * (0.09 * (b as f64 * 5.0 + 2.5)).exp() * (1.0 + 0.3 * s as f64);
                    // In every seventh LSOA only a few of the oldest die: totals of
                    // 1 to 3 a sex.
                    let deaths = if i % 7 != 0 {
                        (population as f64 * rate.min(0.4)
                            + ((i + b + year as usize) % 3) as f64 * 0.4)
                            .round()
                    } else if band == "85+" {
                        (1 + (i + s) % 3) as f64
                    } else {
                        0.0
                    };
                    writeln!(text, "{lsoa},{year},{sex},{band},{deaths},{population}").unwrap();
                }
            }
        }
    }
    std::fs::write(work.join("trafford-deaths.csv"), text).unwrap();
    let mut england = String::from(
        "Area Code,Sex,Age,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit\n",
    );
    for year in 2019..=2021 {
        for sex in ["Persons", "Female", "Male"] {
            writeln!(
                england,
                "E92000001,{sex},All ages,{year},1000.5,998.5,1002.5"
            )
            .unwrap();
            writeln!(
                england,
                "E12000002,{sex},All ages,{year},1100.5,1094.5,1106.5"
            )
            .unwrap();
        }
    }
    std::fs::write(work.join("england-mortality.csv"), england).unwrap();
    lsoas.len()
}

fn small(count: &str) -> bool {
    count.parse::<f64>().is_ok_and(|c| (1.0..=4.0).contains(&c))
}

#[test]
fn the_real_place_walkthrough_runs_as_written() {
    let Some(shared) = shared_dir("the_real_place_walkthrough_runs_as_written") else {
        return;
    };
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/REAL-PLACE.md"),
    )
    .unwrap();
    let steps = steps(&doc);
    assert_eq!(steps.len(), 9, "the walkthrough's steps: {steps:?}");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    assert_eq!(deaths_file(&shared, work), 138);
    let data = shared.join("data").display().to_string();
    let urls = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(database_urls("real_place_walkthrough", work));
    for db in urls {
        let backend = if db.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        let fill = |step: &[String]| -> Vec<String> {
            step[1..]
                .iter()
                .map(|w| {
                    w.replace("$DATA", &data)
                        .replace("$DB", &db)
                        .replace("$WORK", &work.display().to_string())
                })
                .collect()
        };
        for (n, step) in steps.iter().enumerate() {
            let args = fill(step);
            if args[0] == "serve" {
                served(&args, backend);
                continue;
            }
            let (out, err) = ok(&args);
            match n {
                2 => assert_eq!(
                    err.matches("neighbouring pairs").count(),
                    2,
                    "{backend}: both vintages' outlines: {err}"
                ),
                3 => {
                    for line in [
                        "England E92000001: 138 of 32,844 LSOAs — not published",
                        "region E12000002: 138 of 4,497 LSOAs — not published",
                        "no England value",
                    ] {
                        assert!(
                            err.contains(line),
                            "{backend}: step 4 does not say `{line}`:\n{err}"
                        );
                    }
                }
                4 => assert!(
                    err.contains("18 England and region values from the benchmark"),
                    "{backend}: {err}"
                ),
                6 => {
                    assert!(
                        out.contains("Mortality from all causes"),
                        "{backend}: {out}"
                    );
                    assert!(!out.contains("No England value"), "{backend}: {out}");
                }
                7 => {
                    let rows = read_csv(&work.join("trafford-mortality.csv"));
                    assert!(rows.len() > 138 * 3, "{backend}: {} rows", rows.len());
                    let england: Vec<_> = rows
                        .iter()
                        .filter(|r| r["Area Code"] == "E92000001")
                        .collect();
                    assert_eq!(england.len(), 9, "{backend}: England is the benchmark's");
                    assert!(england
                        .iter()
                        .all(|r| r["Value"] == "1000.5" && r["Count"].is_empty()));
                    let region: Vec<_> = rows
                        .iter()
                        .filter(|r| r["Area Code"] == "E12000002")
                        .collect();
                    assert!(region.iter().all(|r| r["Value"] == "1100.5"), "{backend}");
                    assert!(
                        !rows.iter().any(|r| small(&r["Count"])),
                        "{backend}: a count of 1 to 4 was exported"
                    );
                    assert!(
                        rows.iter()
                            .any(|r| r["Value note"].contains("disclosure control")),
                        "{backend}: nothing withheld: the generated file has small counts"
                    );
                    let trafford = rows
                        .iter()
                        .find(|r| {
                            r["Area Code"] == "E08000009"
                                && r["Sex"] == "Persons"
                                && r["Category"].is_empty()
                                && r["Time period"] == "2021"
                        })
                        .unwrap();
                    assert!(
                        ["Better", "Similar", "Worse"]
                            .iter()
                            .any(|w| trafford["Compared to England value or percentiles"]
                                .starts_with(w)),
                        "{backend}: {trafford:?}"
                    );
                }
                _ => {}
            }
        }
    }
}

/// A sealing key for the PostgreSQL server (64 hex digits).
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Step 9: the server, its API and the indicator page; no count from 1 to 4.
fn served(args: &[String], backend: &str) {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    // As the walkthrough says: a PostgreSQL store's server is given the key that
    // seals second-factor secrets; a SQLite store keeps one beside its file.
    let env: &[(&str, &str)] = if backend == "postgres" {
        &[("SYNDEMIC_SECRET_KEY", KEY)]
    } else {
        &[]
    };
    let server = Served::start_with(env!("CARGO_BIN_EXE_syndemic"), &words, env);
    let (api_status, api) =
        server.get("/api/v1/indicators/trafford_mortality/data?parent=E08000009&format=csv");
    let (page_status, page) = server.get("/indicators/trafford_mortality?area=E08000009");
    let (ranked_status, ranked) =
        server.get("/indicators/trafford_mortality/ranked.csv?area=E08000009");
    let (_, by_lsoa) =
        server.get("/indicators/trafford_mortality/ranked.csv?area=E08000009&level=lsoa");
    let (bad_level, _) = server.get("/indicators/trafford_mortality?area=E08000009&level=region");
    let (_, profile) = server.get("/areas/E08000009");
    let (_, report) = server.get("/report/E08000009");
    // The analyst finds places by name: Trafford's wards from its name, the
    // hidden finder and a comparison by names, a small area mapped within its ward.
    let (_, search) = server.get("/search?q=Trafford");
    let (hidden_status, hidden) = server.get("/hidden?within=Trafford");
    let (compare_status, compare) = server.get("/compare?a=Trafford&b=England");
    let lsoa = api
        .split([',', '\n'])
        .find(|f| f.starts_with("E01"))
        .expect("an LSOA in the API's answer")
        .to_owned();
    let (_, small_view) = server.get(&format!("/indicators/trafford_mortality?area={lsoa}"));
    drop(server);
    assert!(
        search.contains("Wards in Trafford (21)"),
        "{backend}: the search lists Trafford's wards"
    );
    assert_eq!(hidden_status, 200, "{backend}: {hidden}");
    assert_eq!(compare_status, 200, "{backend}: {compare}");
    assert!(compare.contains("Trafford and England"), "{backend}");
    assert!(
        small_view.contains("among the small areas of"),
        "{backend}: a small area is drawn within its ward"
    );
    // Profile and report name one IoD edition and count the same small areas in
    // England's most deprived fifth.
    let profile_count = profile
        .split("138 small areas; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{backend}: the profile's deprivation line"));
    assert!(
        profile.contains("in England's most deprived fifth (IoD2019)"),
        "{backend}: the profile names its edition"
    );
    assert!(
        report.contains(&format!("{profile_count} of 138 small areas"))
            && report.contains("England's most deprived fifth (IoD2019)"),
        "{backend}: the report says otherwise than the profile's {profile_count} of 138"
    );
    assert_eq!(api_status, 200, "{backend}: {api}");
    let mut reader = csv::Reader::from_reader(api.as_bytes());
    let header = reader.headers().unwrap().clone();
    let count = header
        .iter()
        .position(|h| h == "count")
        .expect("a count column");
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        rows += 1;
        assert!(
            !small(&record[count]),
            "{backend}: the API served a count of 1 to 4: {record:?}"
        );
    }
    assert!(rows >= 138, "{backend}: {rows} rows");
    assert_eq!(page_status, 200, "{backend}: {page}");
    // The page says what the counts covered and where England's value came from.
    for words in [
        "138 LSOAs, 21 wards, 1 district",
        "England E92000001: 138 of 32,844 LSOAs",
        "from the benchmark england-mortality.csv",
    ] {
        assert!(
            page.contains(words),
            "{backend}: the page's coverage: {words}"
        );
    }
    // The map of this 2011-LSOA indicator draws every LSOA with a value, one of
    // them split in 2021, on the 2011 outlines.
    let mut reader = csv::Reader::from_reader(api.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (area, value, period, sex) = (
        column("area"),
        column("value"),
        column("period"),
        column("sex"),
    );
    let latest = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| {
            r[area].starts_with("E01")
                && &r[period] == "2021"
                && &r[sex] == "Persons"
                && !r[value].is_empty()
        })
        .map(|r| r[area].to_owned())
        .collect::<Vec<_>>();
    assert!(
        latest.len() > 100,
        "{backend}: {} LSOAs with values",
        latest.len()
    );
    let undrawn: Vec<&String> = latest
        .iter()
        .filter(|c| !page.contains(&format!("data-code=\"{c}\"")))
        .collect();
    assert!(
        undrawn.is_empty(),
        "{backend}: no shape on the map for {undrawn:?}"
    );
    assert!(
        page.contains("counts 1–4 withheld"),
        "{backend}: the page states the rule"
    );
    // Trafford's indicator view ranks its 21 wards (not Trafford itself, nor its
    // LSOAs, which the map and funnel show).
    assert_eq!(ranked_status, 200, "{backend}: {ranked}");
    let wards: Vec<&str> = ranked
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(wards.len(), 21, "{backend}: {ranked}");
    assert!(
        wards.iter().all(|l| l.contains("E05")),
        "{backend}: {ranked}"
    );
    // The level switch: the page offers wards and LSOAs; LSOAs ranked are the 138.
    assert!(
        page.contains("Rank: ") && page.contains("level=lsoa"),
        "{backend}: the level switch"
    );
    let lsoas = by_lsoa
        .lines()
        .skip(1)
        .filter(|l| l.contains("E01"))
        .count();
    assert!(lsoas > 120, "{backend}: {lsoas} LSOAs ranked: {by_lsoa}");
    assert_eq!(
        bad_level, 404,
        "{backend}: Trafford has no regions below it"
    );
}

/// Deaths in Trafford's 139 LSOAs (2021) by five-year band, as a register gives
/// them — events only, no row where nobody died — with the Census 2021 population
/// taken from the store (`compute --population`): the same rates, limits and
/// denominators as the same deaths with the population written beside each row.
#[test]
fn event_counts_take_the_census_population() {
    let Some(shared) = shared_dir("event_counts_take_the_census_population") else {
        return;
    };
    let census = shared
        .join("data")
        .join("trafford-census2021-lsoa/2021_population_by_5_year_age_bands_lsoa_trafford.csv");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let mut full = String::from("area,period,sex,age_band,count,population\n");
    // Events as a register gives them, with one row of 0 for each LSOA's first
    // band (an LSOA where nobody died is still covered), and without it.
    let mut events = String::from("area,period,sex,age_band,count\n");
    let mut bare = events.clone();
    let (mut rows, mut zeros) = (0, 0);
    for (i, r) in read_csv(&census).iter().enumerate() {
        let population: f64 = r["value"].parse().unwrap();
        let deaths = ((population * 0.002 * (1.0 + (i % 40) as f64 / 4.0)) as usize % 9) as f64;
        let (area, band) = (&r["area_code"], &r["indicator"]);
        writeln!(full, "{area},2021,Persons,{band},{deaths},{population}").unwrap();
        rows += 1;
        if deaths == 0.0 {
            zeros += 1;
        } else {
            writeln!(bare, "{area},2021,Persons,{band},{deaths}").unwrap();
        }
        if deaths > 0.0 || band == "Aged 4 years and under" {
            writeln!(events, "{area},2021,Persons,{band},{deaths}").unwrap();
        }
    }
    assert_eq!(rows, 139 * 18);
    assert!(zeros > 100, "bands with no deaths: {zeros}");
    let full_path = work.join("deaths-with-population.csv");
    std::fs::write(&full_path, full).unwrap();
    let events_path = work.join("deaths.csv");
    std::fs::write(&events_path, events).unwrap();
    let bare_path = work.join("deaths-no-zeros.csv");
    std::fs::write(&bare_path, bare).unwrap();
    let data = |file: &str| shared.join("data").join(file).display().to_string();
    let urls = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(database_urls("event_counts_census_population", work));
    let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
    for db in urls {
        let backend = if db.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        let mut lookups = words("import lookups --quiet --db");
        lookups.extend([
            db.clone(),
            data("ons-lsoa21-ward24-lad24/lsoa21_to_ward24.csv"),
        ]);
        ok(&lookups);
        let mut imd = words("import imd --quiet --db");
        imd.extend([
            db.clone(),
            data("iod-humaniverse-IMD/imd2025_england_lsoa21.csv"),
        ]);
        ok(&imd);
        let mut population = words("import population --quiet --source");
        population.extend(["Census 2021".into(), "--db".into(), db.clone()]);
        population.push(census.display().to_string());
        ok(&population);
        let compute = |id: &str, counts: &Path, extra: &[&str]| {
            let mut args = words("compute --quiet --measure dsr --vintage 2024 --edition IoD2025 --sex-column none --indicator");
            args.extend([
                id.into(),
                "--name".into(),
                "Deaths".into(),
                "--db".into(),
                db.clone(),
            ]);
            args.extend(["--counts".into(), counts.display().to_string()]);
            args.extend(extra.iter().map(|s| s.to_string()));
            ok(&args).1
        };
        compute("written", &full_path, &[]);
        // LSOAs where nobody died and the file says nothing: not covered, so
        // Trafford is not published from the rest.
        let said = compute("bare", &bare_path, &["--population", "Census 2021"]);
        assert!(
            said.contains("district E08000009: ") && said.contains(" of 139 LSOAs — not published"),
            "{backend}: {said}"
        );
        let said = compute("from_store", &events_path, &["--population", "Census 2021"]);
        let exported = |id: &str| {
            let out = work.join(format!("{backend}-{id}.csv"));
            let mut args = words("export --indicator");
            args.extend([id.into(), "--db".into(), db.clone(), "--output".into()]);
            args.push(out.display().to_string());
            ok(&args);
            let mut rows: Vec<Vec<String>> = read_csv(&out)
                .into_iter()
                .map(|r| {
                    [
                        "Area Code",
                        "Category",
                        "Value",
                        "Lower CI 95.0 limit",
                        "Upper CI 95.0 limit",
                        "Count",
                        "Denominator",
                    ]
                    .iter()
                    .map(|c| r[*c].clone())
                    .collect()
                })
                .collect();
            rows.sort();
            rows
        };
        let (written, from_store) = (exported("written"), exported("from_store"));
        assert_eq!(written.len(), from_store.len(), "{backend}: {said}");
        // The same figures, to the last few bits (sums are taken in another order).
        for (a, b) in written.iter().zip(&from_store) {
            assert_eq!(a[..2], b[..2], "{backend}");
            for (x, y) in a[2..].iter().zip(&b[2..]) {
                let close = match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                    _ => x == y,
                };
                assert!(close, "{backend}: {a:?} vs {b:?}");
            }
        }
        let trafford = written
            .iter()
            .find(|r| r[0] == "E08000009" && r[1].is_empty())
            .unwrap_or_else(|| panic!("{backend}: Trafford is published"));
        assert_eq!(
            trafford[6].parse::<f64>().ok(),
            Some(235_044.0),
            "{backend}: the Census 2021 five-year bands summed"
        );
        // What the run covered is kept with it.
        let mut show = words("indicators show from_store --db");
        show.push(db.clone());
        let (shown, _) = ok(&show);
        for line in [
            "Coverage: published (the counts cover every LSOA of each): 139 LSOAs, 21 wards, 1 district;",
            "England E92000001: 139 of 33,755 LSOAs",
        ] {
            assert!(shown.contains(line), "{backend}: `{line}` in\n{shown}");
        }
        // Trafford, its 21 wards and 139 LSOAs, its five local quintiles.
        assert!(
            written.len() >= 1 + 21 + 139 + 5,
            "{backend}: {}",
            written.len()
        );
    }
}

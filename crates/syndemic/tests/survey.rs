//! `syndemic survey` on the real place (Trafford's 2021 LSOAs and wards from the
//! ONS lookup), both backends: 1,000 generated responses, some with postcodes in
//! Manchester, are refused whole with every such line named; a malformed file
//! leaves the store unchanged; the corrected file and a pile of paper forms land.

use std::fmt::Write as _;
use std::process::Command;

use syndemic_testkit::{database_urls, shared_dir};

fn syndemic(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn ok(args: &[&str]) -> String {
    let (success, text) = syndemic(args);
    assert!(success, "syndemic {args:?} failed: {text}");
    text
}

const DEFINITION: &str = r#"{
  "slug": "trafford-voices",
  "title": "Trafford voices",
  "intro": "What is it like to live here?",
  "lawful_basis": "Public task (UK GDPR Article 6(1)(e)); ethnic group: explicit consent (Article 9(2)(a))",
  "waves": ["2025", "2026"],
  "questions": [
    {"key": "postcode", "text": "Your postcode", "kind": "Postcode", "required": true},
    {"key": "feel_safe", "text": "I feel safe walking here after dark", "kind": "Likert", "required": true},
    {"key": "warm", "text": "Could you keep your home warm last winter?", "kind": "Single", "options": ["Yes", "No"]},
    {"key": "comment", "text": "Anything else?", "kind": "Text"}
  ]
}"#;

/// A postcode of the made-up directory: `T` or `X` (outside), a number, then a
/// valid inward code.
fn postcode(prefix: char, i: usize) -> String {
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    format!(
        "{prefix}{} {}{}{}",
        10 + i / 100,
        i % 10,
        letters[(i / 10) % 10] as char,
        letters[i % 20] as char
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_import_all_or_nothing_on_the_real_place() {
    let Some(shared) = shared_dir("responses_import_all_or_nothing_on_the_real_place") else {
        return;
    };
    let lookup = shared.join("data/ons-lsoa21-ward24-lad24/lsoa21_to_ward24.csv");
    let text = std::fs::read_to_string(&lookup).unwrap();
    let lsoas_of = |lad: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(lad))
            .map(|l| {
                l.trim_start_matches('\u{feff}')
                    .split(',')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let (trafford, manchester) = (lsoas_of("E08000009"), lsoas_of("E08000003"));
    assert!(trafford.len() > 100 && manchester.len() > 100);
    let dir = tempfile::tempdir().unwrap();
    // The postcode directory: one made-up postcode per LSOA of each district.
    let mut nspl = String::from("pcds,lsoa21,lat,long\n");
    for (i, l) in trafford.iter().enumerate() {
        writeln!(nspl, "{},{l},53.42,-2.35", postcode('T', i)).unwrap();
    }
    for (i, l) in manchester.iter().enumerate() {
        writeln!(nspl, "{},{l},53.48,-2.24", postcode('X', i)).unwrap();
    }
    let nspl_path = dir.path().join("nspl.csv");
    std::fs::write(&nspl_path, nspl).unwrap();
    let definition = dir.path().join("survey.json");
    std::fs::write(&definition, DEFINITION).unwrap();
    // 1,000 responses, seven of them from Manchester postcodes. One small area
    // (the first of its ward) gets 3 responses, each other small area of its ward
    // 30, the rest are spread over the other small areas.
    let ward_of = |lsoa: &str| -> String {
        text.lines()
            .find(|l| l.trim_start_matches('\u{feff}').starts_with(lsoa))
            .map(|l| l.split(',').nth(3).unwrap().to_string())
            .unwrap()
    };
    let target = 0usize;
    let ward = ward_of(&trafford[target]);
    let siblings: Vec<usize> = (0..trafford.len())
        .filter(|&i| i != target && ward_of(&trafford[i]) == ward)
        .collect();
    assert!(!siblings.is_empty());
    let others: Vec<usize> = (0..trafford.len())
        .filter(|i| *i != target && !siblings.contains(i))
        .collect();
    let mut lsoa_of_row: Vec<usize> = vec![target; 3];
    for &s in &siblings {
        lsoa_of_row.extend(std::iter::repeat_n(s, 30));
    }
    let mut k = 0;
    while lsoa_of_row.len() < 1000 {
        lsoa_of_row.push(others[k % others.len()]);
        k += 1;
    }
    let outside_lines = [12usize, 150, 151, 480, 700, 999, 1001];
    let mut rows = String::from("Respondent,Your postcode,I feel safe walking here after dark,warm,Age group,Sex,Anything else?\n");
    for (i, &l) in lsoa_of_row.iter().enumerate() {
        let line = i + 2;
        let pc = if outside_lines.contains(&line) && l != target {
            postcode('X', i % manchester.len())
        } else {
            postcode('T', l)
        };
        let likert = [
            "Strongly agree",
            "Agree",
            "Neither agree nor disagree",
            "Disagree",
            "Strongly disagree",
        ][i % 5];
        let warm = if i % 3 == 0 { "No" } else { "Yes" };
        let age = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"][i % 7];
        let sex = if i % 2 == 0 { "Female" } else { "Male" };
        writeln!(
            rows,
            "Person {i},{pc},{likert},{warm},{age},{sex},\"Line {line}, with a comma\""
        )
        .unwrap();
    }
    let responses = dir.path().join("responses.csv");
    std::fs::write(&responses, &rows).unwrap();
    let inside: String = rows
        .lines()
        .enumerate()
        .filter(|(i, _)| !outside_lines.contains(&(i + 1)))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let corrected = dir.path().join("corrected.csv");
    std::fs::write(&corrected, &inside).unwrap();
    // The corrected file with one bad answer on line 500.
    let malformed = dir.path().join("malformed.csv");
    let broken: String = inside
        .lines()
        .map(|l| match l.strip_prefix("Person 498,") {
            Some(rest) => format!(
                "Person 498,not a postcode,{}\n",
                rest.split_once(',').unwrap().1
            ),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&malformed, broken).unwrap();
    let mut paper = String::from("postcode,feel_safe,warm\n");
    for i in 0..40 {
        writeln!(
            paper,
            "{},Agree,Yes",
            postcode('T', (i * 3) % trafford.len())
        )
        .unwrap();
    }
    let paper_path = dir.path().join("paper.csv");
    std::fs::write(&paper_path, paper).unwrap();

    let p = |path: &std::path::Path| path.display().to_string();
    for db in database_urls("survey_import_real_place", dir.path()).await {
        let lookup_s = p(&lookup);
        ok(&["import", "lookups", "--quiet", "--db", &db, &lookup_s]);
        ok(&[
            "import",
            "postcodes",
            "--quiet",
            "--db",
            &db,
            &p(&nspl_path),
        ]);
        let created = ok(&[
            "survey",
            "create",
            "--definition",
            &p(&definition),
            "--place",
            "E08000009",
            "--db",
            &db,
        ]);
        assert!(
            created.contains("Created survey trafford-voices (4 questions) for Trafford"),
            "{created}"
        );

        // Seven postcodes outside Trafford: refused whole, each line named.
        let (success, text) = syndemic(&[
            "survey",
            "import",
            "--survey",
            "trafford-voices",
            &p(&responses),
            "--db",
            &db,
        ]);
        assert!(!success, "{text}");
        assert!(text.contains("nothing was imported"), "{text}");
        for line in outside_lines {
            assert!(
                text.contains(&format!("line {line}, column B (postcode): postcode X")),
                "line {line} not named: {text}"
            );
        }
        assert!(text.contains("outside Trafford"), "{text}");
        let listed = ok(&["survey", "list", "--db", &db]);
        assert!(listed.contains("(0 responses"), "{listed}");

        // A malformed file: nothing changes either.
        let bad = std::fs::read_to_string(&malformed).unwrap();
        let bad_line = bad
            .lines()
            .position(|l| l.contains("not a postcode"))
            .unwrap()
            + 1;
        let (success, text) = syndemic(&[
            "survey",
            "import",
            "--survey",
            "trafford-voices",
            &p(&malformed),
            "--db",
            &db,
        ]);
        assert!(!success);
        assert!(
            text.contains(&format!("line {bad_line}, column B (postcode)")),
            "{text}"
        );
        assert!(ok(&["survey", "list", "--db", &db]).contains("(0 responses"));

        // The corrected file lands, names and all other columns dropped.
        let imported = ok(&[
            "survey",
            "import",
            "--survey",
            "trafford-voices",
            "--wave",
            "2025",
            &p(&corrected),
            "--db",
            &db,
        ]);
        assert!(
            imported.contains("Imported 993 responses to trafford-voices wave 2025 (online 993)"),
            "{imported}"
        );
        assert!(
            imported.contains("Columns not kept: Respondent"),
            "{imported}"
        );
        // Forty paper forms, entered by staff, in the open wave.
        let entered = ok(&[
            "survey",
            "import",
            "--survey",
            "trafford-voices",
            "--channel",
            "paper",
            &p(&paper_path),
            "--db",
            &db,
        ]);
        assert!(
            entered.contains("Imported 40 responses to trafford-voices wave 2026 (paper 40)"),
            "{entered}"
        );
        let listed = ok(&["survey", "list", "--db", &db]);
        assert!(
            listed.contains("(1033 responses; open wave: 2026)"),
            "{listed}"
        );
        assert!(listed.contains("2025  online  993"), "{listed}");
        assert!(listed.contains("2026  paper  40"), "{listed}");
        // A wave the survey does not have, an unknown survey, a bad channel.
        for (args, expect) in [
            (vec!["--wave", "2030"], "not one of the survey's waves"),
            (vec!["--channel", "pigeon"], "--channel pigeon"),
        ] {
            let mut all = vec!["survey", "import", "--survey", "trafford-voices"];
            all.extend(args);
            let paper_s = p(&paper_path);
            all.extend([paper_s.as_str(), "--db", &db]);
            let (success, text) = syndemic(&all);
            assert!(!success && text.contains(expect), "{text}");
        }
        let (success, text) = syndemic(&[
            "survey",
            "import",
            "--survey",
            "nope",
            &p(&paper_path),
            "--db",
            &db,
        ]);
        assert!(
            !success && text.contains("no survey `nope`") && text.contains("trafford-voices"),
            "{text}"
        );

        // Residents' evidence as indicators, under the disclosure rule.
        let computed = ok(&[
            "survey",
            "compute",
            "--survey",
            "trafford-voices",
            "--db",
            &db,
        ]);
        assert!(
            computed.contains("Computed 4 indicators of trafford-voices from 1033 responses"),
            "{computed}"
        );
        let export = dir.path().join("export.csv");
        ok(&[
            "export",
            "--indicator",
            "trafford-voices:feel_safe:agree",
            "--output",
            &p(&export),
            "--db",
            &db,
        ]);
        let rows = syndemic_testkit::read_csv(&export);
        let in_2025 = |code: &str| {
            rows.iter()
                .find(|r| r["Area Code"] == code && r["Time period"] == "2025")
                .unwrap_or_else(|| panic!("no 2025 row for {code}"))
        };
        // The small area with 3 responses is withheld, with the ward's total
        // published and one more small area of the ward withheld beside it.
        let lone = in_2025(&trafford[target]);
        assert_eq!(
            (
                lone["Value"].as_str(),
                lone["Count"].as_str(),
                lone["Denominator"].as_str()
            ),
            ("", "", "")
        );
        assert!(lone["Value note"].contains("suppressed"), "{lone:?}");
        let ward_row = in_2025(&ward);
        let ward_n: f64 = ward_row["Denominator"].parse().unwrap();
        assert!(ward_n >= 30.0, "{ward_row:?}");
        let hidden_siblings = siblings
            .iter()
            .filter(|&&i| in_2025(&trafford[i])["Value"].is_empty())
            .count();
        assert!(
            hidden_siblings >= 1,
            "the lone small area could be worked out from its ward"
        );
        let shown: f64 = siblings
            .iter()
            .filter_map(|&i| in_2025(&trafford[i])["Denominator"].parse::<f64>().ok())
            .sum();
        assert!(
            ward_n - shown > 3.0,
            "the ward's total less its published small areas is the lone one's"
        );
        // The place itself and its published small areas carry limits and sample sizes.
        let place = in_2025("E08000009");
        assert_eq!(place["Denominator"], "993");
        let (v, lo, hi): (f64, f64, f64) = (
            place["Value"].parse().unwrap(),
            place["Lower CI 95.0 limit"].parse().unwrap(),
            place["Upper CI 95.0 limit"].parse().unwrap(),
        );
        assert!(lo < v && v < hi, "{place:?}");
        assert_eq!(place["Age"], "16+ yrs");
        // Nothing above the place: a survey of Trafford says nothing of England.
        assert!(rows.iter().all(|r| r["Area Code"] != "E92000001"));

        // Weighted to Trafford's residents aged 16 and over by age band and sex
        // (Census 2021, sex by single year of age, summed into bands on import):
        // the estimate moves, and its interval widens by the design effect.
        let census = shared
            .join("data/trafford-census2021-lsoa/2021_population_by_sex_and_age_lsoa_trafford.csv");
        ok(&[
            "import",
            "population",
            "--quiet",
            "--source",
            "Census 2021",
            "--db",
            &db,
            &p(&census),
        ]);
        let (success, text) = syndemic(&[
            "survey",
            "compute",
            "--survey",
            "trafford-voices",
            "--population",
            "Mid-2030",
            "--db",
            &db,
        ]);
        assert!(!success && text.contains("--population Mid-2030"), "{text}");
        let weighted = ok(&[
            "survey",
            "compute",
            "--survey",
            "trafford-voices",
            "--population",
            "Census 2021",
            "--db",
            &db,
        ]);
        assert!(weighted.contains("1033 responses (weighted)"), "{weighted}");
        ok(&[
            "export",
            "--indicator",
            "trafford-voices:feel_safe:agree",
            "--output",
            &p(&export),
            "--db",
            &db,
        ]);
        let rows = syndemic_testkit::read_csv(&export);
        let w_place = rows
            .iter()
            .find(|r| r["Area Code"] == "E08000009" && r["Time period"] == "2025")
            .unwrap();
        let (wv, wlo, whi): (f64, f64, f64) = (
            w_place["Value"].parse().unwrap(),
            w_place["Lower CI 95.0 limit"].parse().unwrap(),
            w_place["Upper CI 95.0 limit"].parse().unwrap(),
        );
        assert!(wlo < wv && wv < whi, "{w_place:?}");
        assert!(
            (wv - v).abs() > 1e-9,
            "weighting moved the estimate: {wv} against {v}"
        );
        assert!(
            whi - wlo > hi - lo,
            "the weighted interval is wider: {wlo}–{whi} against {lo}–{hi}"
        );
        assert_eq!(
            w_place["Denominator"], "993",
            "the sample size is still the answers"
        );
        assert!(
            w_place["Value note"].starts_with("Residents' evidence: a sample of 993;")
                && w_place["Value note"].contains("weighted to residents aged 16"),
            "labelled in the export: {w_place:?}"
        );
        let shown = ok(&[
            "indicators",
            "show",
            "trafford-voices:feel_safe:agree",
            "--db",
            &db,
        ]);
        assert!(
            shown.contains("weighted to residents aged 16 and over")
                && shown.contains("Census 2021"),
            "{shown}"
        );
    }
}

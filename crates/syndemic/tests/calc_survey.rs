//! `syndemic calc rake` and `calc proportion --weight` end to end: hand-checked
//! weights and intervals, margins met, unit weights equal to the unweighted
//! Wilson interval (PHE reference counts) to the last digit, and every refusal
//! naming its file, line and category with no output written.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use syndemic_testkit::{agrees, num, read_csv, shared_dir, Record};

fn calc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .arg("calc")
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run syndemic")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Runs calc into a file of `dir` and reads the result.
fn calc_ok(dir: &Path, args: &[&str]) -> Vec<Record> {
    let out = dir.join("out.csv");
    let out_s = out.to_str().unwrap().to_string();
    let mut all = args.to_vec();
    all.extend(["--output", &out_s]);
    let o = calc(&all);
    assert!(
        o.status.success(),
        "calc {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_csv(&out)
}

/// Runs calc expecting a refusal: returns the message; no output file is left.
fn calc_err(dir: &Path, args: &[&str]) -> String {
    let out = dir.join("refused.csv");
    let out_s = out.to_str().unwrap().to_string();
    let mut all = args.to_vec();
    all.extend(["--output", &out_s]);
    let o = calc(&all);
    assert!(!o.status.success(), "calc {args:?} should have failed");
    assert!(!out.exists(), "a refused calc left {}", out.display());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn f(r: &Record, c: &str) -> f64 {
    num(r, c).unwrap_or_else(|| panic!("{c} missing in {r:?}"))
}

/// The Wilson score interval (Wilson 1927), written out here independently.
fn wilson(x: f64, n: f64, z: f64) -> (f64, f64) {
    let p = x / n;
    let centre = p + z * z / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let d = 1.0 + z * z / n;
    ((centre - half) / d, (centre + half) / d)
}

#[test]
fn raking_two_variables_gives_the_hand_checked_weights() {
    // (sex, age) = (F, young), (F, old), (M, young), (M, young); margins F 60,
    // M 40, young 50, old 50. The fixed point: the old woman carries all of
    // "old" (50), her young sister F's other 10, the young men 20 each.
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "r.csv",
        "id,sex,age_band\n1,F,young\n2,F,old\n3,M,young\n4,M,young\n",
    );
    let margins = write(
        dir.path(),
        "m.csv",
        "variable,category,total\nsex,F,60\nsex,M,40\nage_band,young,50\nage_band,old,50\n",
    );
    let out = calc_ok(
        dir.path(),
        &[
            "rake",
            "--input",
            &input,
            "--margins",
            &margins,
            "--variables",
            "sex,age_band",
        ],
    );
    let got: Vec<(String, f64)> = out
        .iter()
        .map(|r| (r["id"].clone(), f(r, "weight")))
        .collect();
    for ((id, w), want) in got.iter().zip([10.0, 50.0, 20.0, 20.0]) {
        assert!((w - want).abs() < 1e-8, "response {id}: {w} (all: {got:?})");
    }
    assert_eq!(out[0]["sex"], "F", "every input column is kept");
}

#[test]
fn each_group_is_raked_to_its_own_margins() {
    // 300 responses in two wards, skewed towards older women; each ward's
    // weighted counts must equal its own margins to 1e-9 and sum to its total.
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::from("ward,age_band,sex,design\n");
    let ages = ["16-34", "35-64", "65+"];
    for i in 0..300u32 {
        let ward = if i % 3 == 0 { "North" } else { "South" };
        let age = ages[((i * 7) % 11 % 3) as usize];
        let sex = if (i * 5) % 7 < 4 { "F" } else { "M" };
        rows.push_str(&format!("{ward},{age},{sex},{}\n", 1 + i % 2));
    }
    let input = write(dir.path(), "r.csv", &rows);
    let margins_text = "ward,variable,category,total\n\
        North,age_band,16-34,1200\nNorth,age_band,35-64,2500\nNorth,age_band,65+,1300\n\
        North,sex,F,2600\nNorth,sex,M,2400\n\
        South,age_band,16-34,3000\nSouth,age_band,35-64,4000\nSouth,age_band,65+,1000\n\
        South,sex,F,4100\nSouth,sex,M,3900\n";
    let margins = write(dir.path(), "m.csv", margins_text);
    for start in [None, Some("design")] {
        let mut args = vec![
            "rake",
            "--input",
            &input,
            "--margins",
            &margins,
            "--variables",
            "age_band,sex",
            "--group-by",
            "ward",
        ];
        if let Some(w) = start {
            args.extend(["--weight", w]);
        }
        let out = calc_ok(dir.path(), &args);
        assert_eq!(out.len(), 300);
        let mut sums: BTreeMap<(String, String), f64> = BTreeMap::new();
        for r in &out {
            let w = f(r, "weight");
            assert!(w > 0.0);
            *sums
                .entry((r["ward"].clone(), r["age_band"].clone()))
                .or_default() += w;
            *sums
                .entry((r["ward"].clone(), r["sex"].clone()))
                .or_default() += w;
            *sums.entry((r["ward"].clone(), "all".into())).or_default() += w;
        }
        for line in margins_text.lines().skip(1) {
            let p: Vec<&str> = line.split(',').collect();
            let want: f64 = p[3].parse().unwrap();
            let got = sums[&(p[0].to_string(), p[2].to_string())];
            assert!((got / want - 1.0).abs() < 1e-9, "{line}: {got} ({start:?})");
        }
        assert!((sums[&("North".into(), "all".into())] - 5000.0).abs() < 1e-6);
        assert!((sums[&("South".into(), "all".into())] - 8000.0).abs() < 1e-6);
    }
}

#[test]
fn margins_that_cannot_be_met_are_refused_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = write(
        d,
        "r.csv",
        "ward,sex,age_band\nNorth,F,young\nNorth,M,old\nNorth,X,young\nSouth,F,\n",
    );
    let rake = |margins: &str, input: &str, extra: &[&str]| {
        let m = write(d, "m.csv", margins);
        let mut args = vec![
            "rake",
            "--input",
            input,
            "--margins",
            &m,
            "--variables",
            "sex,age_band",
        ];
        args.extend(extra);
        calc_err(d, &args)
    };
    // A response with no category: its line and column.
    let e = rake("variable,category,total\nsex,F,1\n", &input, &[]);
    assert!(e.contains("line 5") && e.contains("age_band"), "{e}");

    let input = write(
        d,
        "r2.csv",
        "ward,sex,age_band\nNorth,F,young\nNorth,M,old\nNorth,X,young\nSouth,F,young\nSouth,M,old\n",
    );
    // A category with respondents but no margin.
    let e = rake(
        "variable,category,total\nsex,F,50\nsex,M,50\nage_band,young,50\nage_band,old,50\n",
        &input,
        &[],
    );
    assert!(
        e.contains("sex 'X'") && e.contains("no margin") && e.contains("line 4"),
        "{e}"
    );
    // A margin with no respondents: the margins file's line.
    let e = rake(
        "variable,category,total\nsex,F,40\nsex,M,40\nsex,X,10\nsex,Y,10\nage_band,young,50\nage_band,old,50\n",
        &input,
        &[],
    );
    assert!(
        e.contains("m.csv") && e.contains("line 5") && e.contains("no respondents"),
        "{e}"
    );
    // A variable not raked, a category given twice, a missing total.
    let e = rake(
        "variable,category,total\nsex,F,50\nsex,M,50\nsex,X,1\nage,young,50\n",
        &input,
        &[],
    );
    assert!(
        e.contains("line 5") && e.contains("not one of --variables"),
        "{e}"
    );
    let e = rake("variable,category,total\nsex,F,50\nsex,F,50\n", &input, &[]);
    assert!(e.contains("line 3") && e.contains("first on line 2"), "{e}");
    let e = rake("variable,category,total\nsex,F,\n", &input, &[]);
    assert!(e.contains("line 2") && e.contains("no total"), "{e}");
    // Grouped: a group of the input with no margins, a group of the margins with
    // no responses.
    let e = rake(
        "ward,variable,category,total\nNorth,sex,F,1\nNorth,sex,M,1\nNorth,sex,X,1\nNorth,age_band,young,2\nNorth,age_band,old,1\n",
        &input,
        &["--group-by", "ward"],
    );
    assert!(
        e.contains("ward = South") && e.contains("no margin of sex"),
        "{e}"
    );
    let e = rake(
        "ward,variable,category,total\nEast,sex,F,1\n",
        &input,
        &["--group-by", "ward"],
    );
    assert!(
        e.contains("ward = East") && e.contains("no responses"),
        "{e}"
    );
    // Margins of different populations.
    let e = rake(
        "variable,category,total\nsex,F,50\nsex,M,50\nsex,X,1\nage_band,young,50\nage_band,old,50\n",
        &input,
        &[],
    );
    assert!(e.contains("add up to 101") && e.contains("100"), "{e}");
    // Unreachable margins: every F is young and every M old, yet F 60 ≠ young 50.
    let input = write(d, "r3.csv", "sex,age_band\nF,young\nM,old\nF,young\n");
    let e = rake(
        "variable,category,total\nsex,F,60\nsex,M,40\nage_band,young,50\nage_band,old,50\n",
        &input,
        &["--max-iterations", "20"],
    );
    assert!(e.contains("did not converge in 20 sweeps"), "{e}");
    // Flags that make no sense.
    let e = rake("variable,category,total\n", &input, &["--tolerance", "0"]);
    assert!(e.contains("--tolerance"), "{e}");
}

#[test]
fn a_weighted_proportion_matches_the_hand_worked_interval() {
    // Weights 1, 2, 3, 4 with answers 1, 0, 1, 1, and a fifth response with no
    // answer (left out): p = 8/10, Σw² = 30, n_eff = 100/30, design effect 1.2,
    // Wilson on x = 0.8 · n_eff of n_eff.
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "w.csv",
        "ward,safe,w\nA,1,1\nA,0,2\nA,1,3\nA,1,4\nA,,9\nB,,\n",
    );
    let out = calc_ok(
        dir.path(),
        &[
            "proportion",
            "--input",
            &input,
            "--weight",
            "w",
            "--numerator",
            "safe",
            "--group-by",
            "ward",
            "--multiplier",
            "100",
        ],
    );
    assert_eq!(out.len(), 2);
    let a = &out[0];
    assert_eq!(a["ward"], "A");
    assert_eq!(f(a, "n"), 4.0);
    let n_eff = 100.0 / 30.0;
    assert!((f(a, "n_eff") - n_eff).abs() < 1e-12);
    assert!((f(a, "design_effect") - 1.2).abs() < 1e-12);
    assert!((f(a, "value") - 80.0).abs() < 1e-12);
    for (level, z) in [("95", 1.959963984540054), ("99_8", 3.090232306167813)] {
        let (lo, hi) = wilson(0.8 * n_eff, n_eff, z);
        assert!(agrees(
            num(a, &format!("lower_{level}")),
            Some(lo * 100.0),
            1e-9,
            0.0
        ));
        assert!(agrees(
            num(a, &format!("upper_{level}")),
            Some(hi * 100.0),
            1e-9,
            0.0
        ));
    }
    // B has no answer: blank, with a note, never NaN.
    let b = &out[1];
    assert_eq!(b["value"], "");
    assert!(!b["note"].is_empty());
}

#[test]
fn weighted_proportion_refusals_name_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |text: &str, extra: &[&str]| {
        let input = write(d, "w.csv", text);
        let mut args = vec![
            "proportion",
            "--input",
            &input,
            "--weight",
            "w",
            "--numerator",
            "y",
        ];
        args.extend(extra);
        calc_err(d, &args)
    };
    let e = run("y,w\n1,1\n2,1\n", &[]);
    assert!(e.contains("line 3") && e.contains("column 1"), "{e}");
    let e = run("y,w\n1,1\n0,0\n", &[]);
    assert!(e.contains("line 3") && e.contains("weight"), "{e}");
    let e = run("y,w\n1,1\n0,\n", &[]);
    assert!(e.contains("line 3") && e.contains("no weight"), "{e}");
    let e = run("y,w,n\n1,1,1\n", &["--denominator", "n"]);
    assert!(e.contains("no --denominator"), "{e}");
}

#[test]
fn unit_weights_give_the_unweighted_wilson_interval_to_the_last_digit() {
    // PHE's grouped reference counts, expanded into one row per response with
    // weight 1: the weighted command must print exactly what the unweighted one
    // prints, and agree with PHEindicatormethods.
    let Some(shared) =
        shared_dir("unit_weights_give_the_unweighted_wilson_interval_to_the_last_digit")
    else {
        return;
    };
    let reference = read_csv(&shared.join("reference/phe/proportion_grouped_expected.csv"));
    let dir = tempfile::tempdir().unwrap();
    let mut counts = String::from("area,x,n\n");
    let mut responses = String::from("area,y,w\n");
    let mut areas = 0;
    for r in &reference {
        let (Some(x), Some(n)) = (num(r, "Numerator"), num(r, "Denominator")) else {
            continue; // the reference's rows of missing input
        };
        let (x, n) = (x as u32, n as u32);
        if n > 20_000 {
            continue;
        }
        counts.push_str(&format!("{},{x},{n}\n", r["Area"]));
        for i in 0..n {
            responses.push_str(&format!("{},{},1\n", r["Area"], u32::from(i < x)));
        }
        areas += 1;
    }
    assert!(areas >= 3, "the reference has small areas");
    let counts = write(dir.path(), "counts.csv", &counts);
    let responses = write(dir.path(), "responses.csv", &responses);
    let plain = calc_ok(
        dir.path(),
        &[
            "proportion",
            "--input",
            &counts,
            "--numerator",
            "x",
            "--denominator",
            "n",
            "--group-by",
            "area",
        ],
    );
    let weighted = calc_ok(
        dir.path(),
        &[
            "proportion",
            "--input",
            &responses,
            "--weight",
            "w",
            "--numerator",
            "y",
            "--group-by",
            "area",
        ],
    );
    assert_eq!(plain.len(), weighted.len());
    for (p, w) in plain.iter().zip(&weighted) {
        for c in ["value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"] {
            assert_eq!(p[c], w[c], "{}: {c}", p["area"]);
        }
        assert_eq!(w["n"], p["n"]);
        assert_eq!(f(w, "design_effect"), 1.0);
        let exp = reference.iter().find(|r| r["Area"] == p["area"]).unwrap();
        assert!(agrees(num(w, "lower_95"), num(exp, "lowercl"), 1e-6, 0.0));
        assert!(agrees(num(w, "upper_95"), num(exp, "uppercl"), 1e-6, 0.0));
    }
}

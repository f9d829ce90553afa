//! `syndemic calc` end to end: every reference case through the command line on CSV,
//! and the refusals of bad input (message, exit code, no output file).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use syndemic_testkit::{agrees, num, read_csv, shared_dir, Record};

const REL: f64 = 1e-6;

fn calc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .arg("calc")
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run syndemic")
}

/// Runs calc into a temporary file and reads the result.
fn calc_ok(args: &[&str]) -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let mut all: Vec<&str> = args.to_vec();
    let out_s = out.to_str().unwrap().to_string();
    all.extend(["--output", &out_s]);
    let o = calc(&all);
    assert!(
        o.status.success(),
        "calc {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_csv(&out)
}

fn phe(test: &str) -> Option<PathBuf> {
    Some(shared_dir(test)?.join("reference/phe"))
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).to_str().unwrap().to_string()
}

fn check(what: &str, got: &Record, gcol: &str, exp: &Record, ecol: &str, rel: f64) {
    assert!(
        agrees(num(got, gcol), num(exp, ecol), rel, 0.0),
        "{what}: {gcol} {:?} vs {ecol} {:?}",
        got[gcol],
        exp[ecol]
    );
}

fn check_wide(what: &str, got: &Record, exp: &Record) {
    for (g, e) in [
        ("value", "value"),
        ("lower_95", "lower95_0cl"),
        ("upper_95", "upper95_0cl"),
        ("lower_99_8", "lower99_8cl"),
        ("upper_99_8", "upper99_8cl"),
    ] {
        check(what, got, g, exp, e, REL);
    }
}

#[test]
fn proportion_and_rate_per_row_and_grouped() {
    let Some(dir) = phe("proportion_and_rate_per_row_and_grouped") else {
        return;
    };
    let mut checked = 0;
    for (method, file) in [("proportion", "proportion.csv"), ("rate", "rate.csv")] {
        let input = read_csv(&dir.join(file));
        for m in ["1", "100", "1e+05"] {
            let rows: Vec<&Record> = input.iter().filter(|r| r["multiplier"] == m).collect();
            if rows.is_empty() {
                continue;
            }
            let mult = num(rows[0], "multiplier").unwrap().to_string();
            let out = calc_ok(
                &[
                    "proportion",
                    "--input",
                    &path(&dir, file),
                    "--numerator",
                    "Numerator",
                    "--denominator",
                    "Denominator",
                    "--multiplier",
                    &mult,
                ]
                .map(|s| if s == "proportion" { method } else { s }),
            );
            // Output keeps every input row and column, in order.
            assert_eq!(out.len(), input.len());
            for (o, e) in out.iter().zip(&input) {
                if e["multiplier"] == m {
                    assert_eq!(o["Area"], e["Area"]);
                    check_wide(&format!("{method} {}", e["Area"]), o, e);
                    checked += 1;
                }
            }
        }
    }
    println!("proportion.csv, rate.csv: {checked} rows checked through calc");
    let out = calc_ok(&[
        "proportion",
        "--input",
        &path(&dir, "proportion.csv"),
        "--numerator",
        "Numerator",
        "--denominator",
        "Denominator",
        "--group-by",
        "Area",
        "--confidence",
        "95",
    ]);
    let expected = read_csv(&dir.join("proportion_grouped_expected.csv"));
    for e in &expected {
        let o = out.iter().find(|o| o["Area"] == e["Area"]).unwrap();
        check("grouped proportion", o, "value", e, "value", REL);
        check("grouped proportion", o, "lower_95", e, "lowercl", REL);
        check("grouped proportion", o, "upper_95", e, "uppercl", REL);
        assert_eq!(o["note"].is_empty(), num(e, "value").is_some());
    }
    println!(
        "proportion_grouped_expected.csv: {} rows checked through calc",
        expected.len()
    );
}

#[test]
fn mean_through_calc() {
    let Some(dir) = phe("mean_through_calc") else {
        return;
    };
    let expected = read_csv(&dir.join("mean_expected.csv"));
    let grouped = calc_ok(&[
        "mean",
        "--input",
        &path(&dir, "mean_inputs.csv"),
        "--value",
        "values",
        "--group-by",
        "area",
    ]);
    let all = calc_ok(&[
        "mean",
        "--input",
        &path(&dir, "mean_inputs.csv"),
        "--value",
        "values",
    ]);
    for e in &expected {
        let o = grouped
            .iter()
            .find(|o| o["area"] == e["area"])
            .unwrap_or(&all[0]);
        check_wide(&e["area"], o, e);
        check(&e["area"], o, "stdev", e, "stdev", REL);
    }
    println!(
        "mean_expected.csv: {} rows checked through calc",
        expected.len()
    );
}

#[test]
fn dsr_through_calc() {
    let Some(dir) = phe("dsr_through_calc") else {
        return;
    };
    let expected = read_csv(&dir.join("dsr_expected.csv"));
    let mut checked = 0;
    for m in ["10000", "100000"] {
        let ind = calc_ok(&[
            "dsr",
            "--input",
            &path(&dir, "dsr_inputs.csv"),
            "--group-by",
            "area",
            "--age-band",
            "ageband",
            "--count",
            "count",
            "--population",
            "pop",
            "--standard-column",
            "stdpop",
            "--multiplier",
            m,
        ]);
        let non = calc_ok(&[
            "dsr",
            "--input",
            &path(&dir, "dsr_nonindependent_inputs.csv"),
            "--group-by",
            "area",
            "--age-band",
            "ageband",
            "--count",
            "persons",
            "--population",
            "pop",
            "--standard-column",
            "stdpop",
            "--event-frequency",
            "eventfreq",
            "--multiplier",
            m,
        ]);
        for e in expected.iter().filter(|e| e["multiplier"] == m) {
            let o = ind
                .iter()
                .chain(&non)
                .find(|o| o["area"] == e["area"])
                .unwrap();
            check(&e["area"], o, "total_count", e, "total_count", REL);
            check(&e["area"], o, "value", e, "value", REL);
            check(&e["area"], o, "lower_95", e, "lower95_0cl", REL);
            check(&e["area"], o, "upper_95", e, "upper95_0cl", REL);
            if e["area"] != "testdata_1976" {
                check(&e["area"], o, "lower_99_8", e, "lower99_8cl", REL);
            }
            if num(e, "value").is_none() {
                assert_eq!(o["note"], "dsr NA for total count < 10");
            }
            checked += 1;
        }
    }
    println!("dsr_expected.csv: {checked} rows checked through calc");
}

#[test]
fn isr_through_calc() {
    let Some(dir) = phe("isr_through_calc") else {
        return;
    };
    let expected = read_csv(&dir.join("isr_expected.csv"));
    let input = path(&dir, "isr_inputs.csv");
    let base: [&str; 12] = [
        "--input",
        &input,
        "--group-by",
        "area",
        "--count",
        "count",
        "--population",
        "pop",
        "--ref-count",
        "refcount",
        "--ref-population",
        "refpop",
    ];
    let totals = path(&dir, "isr_observed_totals.csv");
    let mut checked = 0;
    for e in &expected {
        let scale = e["scale"].clone();
        let scale = num(e, "scale").map(|s| s.to_string()).unwrap_or(scale);
        let (method, flag) = if e["function"] == "calculate_ISRate" {
            ("israte", "--multiplier")
        } else {
            ("isratio", "--ref-value")
        };
        let mut args: Vec<&str> = vec![method];
        args.extend(base);
        args.extend([flag, &scale]);
        let mut runs = vec![calc_ok(&args)];
        if ["testdata_big", "testdata_small", "testdata_tiny"].contains(&e["area"].as_str()) {
            let mut with_totals = args.clone();
            with_totals.extend(["--observed-totals", &totals]);
            // Totals are given per area with the column named like --count.
            runs.push(calc_ok(
                &with_totals
                    .iter()
                    .map(|s| if *s == "count" { "total_count" } else { s })
                    .collect::<Vec<_>>(),
            ));
        }
        for out in &runs {
            let o = out.iter().find(|o| o["area"] == e["area"]).unwrap();
            for (g, c) in [
                ("observed", "observed"),
                ("expected", "expected"),
                ("value", "value"),
                ("lower_95", "lower95_0cl"),
                ("upper_95", "upper95_0cl"),
            ] {
                check(&format!("{method} {}", e["area"]), o, g, e, c, REL);
            }
        }
        checked += 1;
    }
    println!("isr_expected.csv: {checked} rows checked through calc");
}

#[test]
fn life_expectancy_through_calc() {
    let Some(dir) = phe("life_expectancy_through_calc") else {
        return;
    };
    let expected = read_csv(&dir.join("life_expectancy_expected.csv"));
    let out = calc_ok(&[
        "life-expectancy",
        "--input",
        &path(&dir, "life_expectancy_expected.csv"),
        "--group-by",
        "case",
        "--age-band",
        "startage",
        "--deaths",
        "deaths",
        "--population",
        "pops",
        "--confidence",
        "95",
    ]);
    assert_eq!(out.len(), expected.len());
    for (o, e) in out.iter().zip(&expected) {
        for (g, c) in [
            ("value", "value"),
            ("lower_95", "lowercl"),
            ("upper_95", "uppercl"),
        ] {
            assert!(
                agrees(num(o, g), num(e, c), 0.0, 1.0001e-4),
                "age {}: {g}",
                e["startage"]
            );
        }
        assert_eq!(num(o, "pops_used"), num(e, "pops_used"));
    }
    let wide = read_csv(&dir.join("life_expectancy_widecis_expected.csv"));
    let out = calc_ok(&[
        "life-expectancy",
        "--input",
        &path(&dir, "life_expectancy_widecis_expected.csv"),
        "--group-by",
        "area",
        "--age-band",
        "startage",
        "--deaths",
        "deaths",
        "--population",
        "pops",
    ]);
    for e in &wide {
        let o = out
            .iter()
            .find(|o| o["area"] == e["area"] && o["start_age"] == e["startage"])
            .unwrap();
        for (g, c) in [
            ("value", "value"),
            ("lower_95", "lower95_0cl"),
            ("upper_95", "upper95_0cl"),
        ] {
            assert!(
                agrees(num(o, g), num(e, c), 0.0, 1.0001e-4),
                "{} age {}: {g}",
                e["area"],
                e["startage"]
            );
        }
    }
    let at = calc_ok(&[
        "life-expectancy",
        "--input",
        &path(&dir, "life_expectancy_expected.csv"),
        "--group-by",
        "case",
        "--age-band",
        "startage",
        "--deaths",
        "deaths",
        "--population",
        "pops",
        "--at-ages",
        "0,65",
    ]);
    assert_eq!(
        at.iter()
            .map(|r| r["start_age"].as_str())
            .collect::<Vec<_>>(),
        ["0", "65"]
    );
    println!(
        "life expectancy: {} rows checked through calc",
        expected.len() + wide.len()
    );
}

#[test]
fn quantile_through_calc() {
    let Some(dir) = phe("quantile_through_calc") else {
        return;
    };
    let input = read_csv(&dir.join("quantiles.csv"));
    let mut checked = 0;
    for (set, name, n, group, invert) in [
        (
            "IndSexReg",
            "Decile",
            "10",
            "IndSexRef,ParentCode",
            "Polarity",
        ),
        ("IndSex", "Septile", "7", "IndSexRef", "Polarity"),
        ("None", "Quartile", "4", "", "true"),
    ] {
        // Write the case's rows to their own file.
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("q.csv");
        let mut w = csv::Writer::from_path(&file).unwrap();
        let cols = [
            "IndSexRef",
            "ParentCode",
            "AreaCode",
            "Polarity",
            "Value",
            "QuantileInGrp",
        ];
        w.write_record(cols).unwrap();
        let rows: Vec<&Record> = input
            .iter()
            .filter(|r| r["GroupSet"] == set && r["QuantileNm"] == name)
            .collect();
        for r in &rows {
            w.write_record(cols.map(|c| r[c].as_str())).unwrap();
        }
        w.flush().unwrap();
        let mut args = vec![
            "quantile",
            "--value",
            "Value",
            "--quantiles",
            n,
            "--invert",
            invert,
        ];
        let f = file.to_str().unwrap().to_string();
        args.extend(["--input", &f]);
        if !group.is_empty() {
            args.extend(["--group-by", group]);
        }
        for o in calc_ok(&args) {
            assert_eq!(num(&o, "quantile"), num(&o, "QuantileInGrp"), "{set} {o:?}");
            checked += 1;
        }
    }
    println!("quantiles.csv: {checked} rows checked through calc");
}

#[test]
fn sii_through_calc() {
    let Some(dir) = phe("sii_through_calc") else {
        return;
    };
    let input = read_csv(&dir.join("sii.csv"));
    let mut checked = 0;
    for (desc, extra) in [
        (
            "default (e.g. life expectancy) - default parameters",
            vec![],
        ),
        (
            "rate (e.g. infant mortality) - log transform with 98% CI",
            vec!["--value-type", "rate", "--transform", "--confidence", "98"],
        ),
        (
            "proportion - testing multiplier (x -100)",
            vec!["--value-type", "proportion", "--multiplier", "-100"],
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("s.csv");
        let mut w = csv::Writer::from_path(&file).unwrap();
        let cols = ["Area", "Quantile", "Population", "Value", "StandardError"];
        w.write_record(cols).unwrap();
        let rows: Vec<&Record> = input
            .iter()
            .filter(|r| r["TestDescription"] == desc)
            .collect();
        for r in &rows {
            w.write_record(cols.map(|c| r[c].as_str())).unwrap();
        }
        w.flush().unwrap();
        let f = file.to_str().unwrap().to_string();
        let mut args = vec![
            "sii",
            "--input",
            &f,
            "--group-by",
            "Area",
            "--quantile",
            "Quantile",
            "--population",
            "Population",
            "--value",
            "Value",
            "--se",
            "StandardError",
            "--repetitions",
            "20000",
        ];
        if !extra.contains(&"--confidence") {
            args.extend(["--confidence", "95"]);
        }
        args.extend(extra.iter().copied());
        let out = calc_ok(&args);
        for e in rows.iter().filter(|r| num(r, "sii").is_some()) {
            let o = out.iter().find(|o| o["Area"] == e["Area"]).unwrap();
            check(desc, o, "sii_value", e, "sii", REL);
            check(desc, o, "rii_value", e, "rii", REL);
            let label = if desc.contains("98%") { "98" } else { "95" };
            check(
                desc,
                o,
                &format!("sii_lower_{label}"),
                e,
                "sii_lowercl_1",
                0.05,
            );
            check(
                desc,
                o,
                &format!("sii_upper_{label}"),
                e,
                "sii_uppercl_1",
                0.05,
            );
            checked += 1;
        }
    }
    println!("sii.csv: {checked} group results checked through calc");
}

#[test]
fn funnel_through_calc() {
    let Some(dir) = phe("funnel_through_calc") else {
        return;
    };
    let input = read_csv(&dir.join("funnel_prop_inputs.csv"));
    // The output keeps the input's own `significance` column first; ours is added after.
    let out_raw = Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args([
            "calc",
            "funnel",
            "--input",
            &path(&dir, "funnel_prop_inputs.csv"),
            "--numerator",
            "numerator",
            "--denominator",
            "denominator",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out_raw.stdout).unwrap();
    let mut checked = 0;
    for (line, e) in text.lines().skip(1).zip(&input) {
        assert!(
            line.ends_with(&format!(",{},", e["significance"])),
            "{line}"
        );
        checked += 1;
    }
    let limits = calc_ok(&[
        "funnel",
        "--input",
        &path(&dir, "funnel_prop_inputs.csv"),
        "--numerator",
        "numerator",
        "--denominator",
        "denominator",
        "--limits",
    ]);
    let expected = read_csv(&dir.join("funnel_prop_outputs.csv"));
    for (o, e) in limits.iter().zip(&expected) {
        check("limits", o, "x", e, "Population", REL);
        check("limits", o, "lower_2s", e, "Lower2s0025limit", REL);
        check("limits", o, "upper_3s", e, "Upper3s0001limit", REL);
    }
    assert_eq!(limits.len(), 100);
    let ratio = calc_ok(&[
        "funnel",
        "--input",
        &path(&dir, "funnel_ratio_inputs.csv"),
        "--statistic",
        "ratio",
        "--observed",
        "obs",
        "--expected",
        "expected",
        "--limits",
    ]);
    let ratio_expected = read_csv(&dir.join("funnel_ratio_outputs.csv"));
    assert_eq!(ratio.len(), ratio_expected.len());
    for (o, e) in ratio.iter().zip(&ratio_expected) {
        assert_eq!(num(o, "x"), num(e, "Observed_events"));
        // Ratio limits are O/E; the reference's "count" form is O/E − 1, its E found by
        // bisection to 1e-7 (hence the looser tolerance at the smallest E).
        let lower = num(e, "lower_2s_count").map(|c| c + 1.0);
        assert!(agrees(num(o, "lower_2s"), lower, 1e-4, 0.0), "{o:?}");
    }
    println!(
        "funnel: {checked} significances and {} + {} limit rows checked through calc",
        expected.len(),
        ratio_expected.len()
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Runs calc expecting failure; returns stderr and checks no output file was left.
fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let mut all = args.to_vec();
    let o = out.to_str().unwrap().to_string();
    all.extend(["--output", &o]);
    let result = calc(&all);
    assert!(!result.status.success(), "calc {args:?} should have failed");
    assert!(!out.exists(), "a failed calc left an output file");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a failed calc left a temporary file"
    );
    String::from_utf8(result.stderr).unwrap()
}

#[test]
fn bad_input_is_refused_with_file_line_column_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "p.csv", "area,x,n\nA,1,10\nB,12,10\n");
    let err = refused(&[
        "proportion",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert!(
        err.contains("p.csv: line 3, column 2 ('x')") && err.contains("above the denominator"),
        "{err}"
    );

    let f = write(d, "neg.csv", "area,x,n\nA,-1,10\n");
    let err = refused(&[
        "rate",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert!(
        err.contains("line 2, column 2") && err.contains("below zero"),
        "{err}"
    );

    let f = write(d, "text.csv", "area,x,n\nA,1,10\nB,ten,10\n");
    let err = refused(&[
        "rate",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert!(
        err.contains("line 3, column 2 ('x')") && err.contains("'ten' is not a number"),
        "{err}"
    );

    let err = refused(&[
        "rate",
        "--input",
        &f,
        "--numerator",
        "events",
        "--denominator",
        "n",
    ]);
    assert!(err.contains("no column 'events'"), "{err}");

    let f = write(d, "ok.csv", "area,x,n\nA,1,10\n");
    let err = refused(&[
        "rate",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
        "--confidence",
        "80",
    ]);
    assert!(err.contains("confidence level 80 is out of range"), "{err}");

    let f = write(
        d,
        "dsr.csv",
        "area,band,count,pop\nA,0-4,5,100\nA,95+,5,100\n",
    );
    let err = refused(&[
        "dsr",
        "--input",
        &f,
        "--group-by",
        "area",
        "--age-band",
        "band",
        "--count",
        "count",
        "--population",
        "pop",
    ]);
    assert!(
        err.contains("line 3, column 2 ('band')")
            && err.contains("'95+' is not in the standard population"),
        "{err}"
    );

    let f = write(d, "q.csv", "g,v,pol\nA,1,TRUE\nA,2,FALSE\n");
    let err = refused(&[
        "quantile",
        "--input",
        &f,
        "--group-by",
        "g",
        "--value",
        "v",
        "--quantiles",
        "2",
        "--invert",
        "pol",
    ]);
    assert!(
        err.contains("line 3, column 3 ('pol')") && err.contains("same throughout a group"),
        "{err}"
    );

    let f = write(d, "short.csv", "area,x,n\nA,1\n");
    let err = refused(&[
        "rate",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert!(
        err.contains("line 2") && err.contains("2 fields but the header has 3"),
        "{err}"
    );
}

#[test]
fn blanks_carry_a_reason_and_missing_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "m.csv", "area,x,n\nA,,10\nB,NA,10\nC,3,10\n");
    let out = calc_ok(&[
        "proportion",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert_eq!(out[0]["note"], "missing input");
    assert_eq!(out[1]["value"], "");
    assert_eq!(out[2]["value"], "0.3");
}

#[test]
fn groups_need_not_be_adjacent_and_stdin_works() {
    let input = "g,x,n\nA,1,10\nB,2,10\nA,3,10\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args([
            "calc",
            "proportion",
            "--numerator",
            "x",
            "--denominator",
            "n",
            "--group-by",
            "g",
            "--confidence",
            "95",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("g,x,n,value,lower_95,upper_95,note"));
    assert!(lines.next().unwrap().starts_with("A,4,20,0.2,"));
    assert!(lines.next().unwrap().starts_with("B,2,10,0.2,"));
}

#[test]
fn parquet_in_and_out_give_the_csv_results() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/deaths_by_age.csv");
    let parquet_in = dir.path().join("in.parquet");
    syndemic_parquet::csv_to_parquet(&std::fs::read(&example).unwrap(), &parquet_in).unwrap();
    let args = |input: &str, output: &str| {
        vec![
            "dsr".to_string(),
            "--input".into(),
            input.into(),
            "--output".into(),
            output.into(),
            "--group-by".into(),
            "area,sex".into(),
            "--age-band".into(),
            "age_band".into(),
            "--count".into(),
            "deaths".into(),
            "--population".into(),
            "population".into(),
        ]
    };
    let csv_out = dir.path().join("out.csv");
    let parquet_out = dir.path().join("out.parquet");
    for (i, o) in [
        (example.to_str().unwrap(), csv_out.to_str().unwrap()),
        (parquet_in.to_str().unwrap(), parquet_out.to_str().unwrap()),
    ] {
        let a = args(i, o);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = calc(&refs);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let from_parquet =
        String::from_utf8(syndemic_parquet::parquet_to_csv(&parquet_out).unwrap()).unwrap();
    let from_csv = std::fs::read_to_string(&csv_out).unwrap();
    assert_eq!(from_parquet, from_csv);
}

#[test]
fn a_standard_population_file_gives_the_built_in_results() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/deaths_by_age.csv");
    let ex = example.to_str().unwrap();
    let bands = [
        "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
        "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
    ];
    let weights = [
        5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
        4000, 2500, 1500, 1000,
    ];
    let mut text = String::from("band,population\n");
    for (b, w) in bands.iter().zip(weights) {
        text.push_str(&format!("{b},{w}\n"));
    }
    let std_file = write(dir.path(), "std.csv", &text);
    let base = [
        "dsr",
        "--input",
        ex,
        "--group-by",
        "area,sex",
        "--age-band",
        "age_band",
        "--count",
        "deaths",
        "--population",
        "population",
    ];
    let built_in = calc_ok(&base);
    let mut with_file = base.to_vec();
    with_file.extend(["--standard", &std_file]);
    assert_eq!(calc_ok(&with_file), built_in);
    assert_eq!(built_in.len(), 6);
}

#[test]
fn life_expectancy_takes_any_open_ended_layout() {
    let dir = tempfile::tempdir().unwrap();
    // Five-year bands to 85+, one area: the layout is given, or found from the data.
    let mut text = String::from("area,age,deaths,pop\n");
    let rates = [
        1.0, 0.1, 0.1, 0.3, 0.4, 0.5, 0.6, 0.8, 1.1, 1.7, 2.6, 4.0, 6.5, 10.0, 16.0, 27.0, 47.0,
        120.0,
    ];
    for (k, r) in rates.iter().enumerate() {
        let pop = 20_000.0;
        text.push_str(&format!(
            "A,{},{},{}\n",
            k * 5,
            (pop * r / 1000.0_f64).round().max(1.0),
            pop
        ));
    }
    let f = write(dir.path(), "le.csv", &text);
    let layout = (0..18)
        .map(|k| (k * 5).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let given = calc_ok(&[
        "life-expectancy",
        "--input",
        &f,
        "--group-by",
        "area",
        "--age-band",
        "age",
        "--deaths",
        "deaths",
        "--population",
        "pop",
        "--age-bands",
        &layout,
        "--at-ages",
        "0,65",
    ]);
    let auto = calc_ok(&[
        "life-expectancy",
        "--input",
        &f,
        "--group-by",
        "area",
        "--age-band",
        "age",
        "--deaths",
        "deaths",
        "--population",
        "pop",
        "--age-bands",
        "auto",
        "--at-ages",
        "0,65",
    ]);
    assert_eq!(given, auto);
    let e0 = num(&given[0], "value").unwrap();
    let e65 = num(&given[1], "value").unwrap();
    assert!(
        (70.0..90.0).contains(&e0) && (10.0..30.0).contains(&e65),
        "{e0} {e65}"
    );
    // With the default (reference) layout the same data lacks bands: blank, with the reason.
    let default = calc_ok(&[
        "life-expectancy",
        "--input",
        &f,
        "--group-by",
        "area",
        "--age-band",
        "age",
        "--deaths",
        "deaths",
        "--population",
        "pop",
        "--at-ages",
        "0",
    ]);
    assert_eq!(default.len(), 1);
    assert!(
        default[0]["value"].is_empty() && !default[0]["note"].is_empty(),
        "{:?}",
        default[0]
    );
}

#[test]
fn compare_and_trend_through_calc() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "c.csv",
        "area,lo,hi,eng\nA,4,6,3\nB,4,6,5\nC,,6,5\nD,1,2,3\n",
    );
    let out = calc_ok(&[
        "compare",
        "--input",
        &f,
        "--lower",
        "lo",
        "--upper",
        "hi",
        "--benchmark",
        "eng",
        "--polarity",
        "high-is-good",
    ]);
    let got: Vec<&str> = out.iter().map(|r| r["comparison"].as_str()).collect();
    assert_eq!(got, ["better", "similar", "not compared", "worse"]);
    let out = calc_ok(&[
        "compare",
        "--input",
        &f,
        "--lower",
        "lo",
        "--upper",
        "hi",
        "--benchmark",
        "5",
    ]);
    let got: Vec<&str> = out.iter().map(|r| r["comparison"].as_str()).collect();
    assert_eq!(got, ["similar", "similar", "not compared", "lower"]);

    // Periods out of order and groups interleaved; B lacks counts in its last period.
    let f = write(dir.path(), "t.csv", "area,period,x,n\nA,2019,10,100\nA,2020,20,100\nB,2019,30,100\nA,2021,30,100\nA,2022,40,100\nA,2023,50,100\nB,2020,30,100\nB,2021,31,100\nB,2022,29,100\nB,2023,,100\nA,2018,90,100\n");
    let out = calc_ok(&[
        "trend",
        "--input",
        &f,
        "--group-by",
        "area",
        "--period",
        "period",
        "--numerator",
        "x",
        "--denominator",
        "n",
        "--polarity",
        "low-is-good",
    ]);
    assert_eq!(out[0]["trend"], "increasing");
    assert_eq!(out[0]["direction"], "getting worse");
    assert!(
        (num(&out[0], "chi_square").unwrap() - 10000.0 / 210.0).abs() < 1e-9,
        "only the last five periods count"
    );
    assert_eq!(out[1]["trend"], "cannot be calculated");
    assert!(!out[1]["note"].is_empty());
}

#[test]
fn grouped_rates_life_table_suppression_and_rate_funnels_through_calc() {
    let Some(dir) = phe("grouped_rates_life_table_suppression_and_rate_funnels_through_calc")
    else {
        return;
    };
    // Grouped rates: the reference sums each area over the per-100,000 inputs and a
    // second copy of them (Area12 once), as the library test does.
    let rate = read_csv(&dir.join("rate.csv"));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("r.csv");
    let mut w = csv::Writer::from_path(&file).unwrap();
    w.write_record(["Area", "Numerator", "Denominator"])
        .unwrap();
    let inputs: Vec<&Record> = rate.iter().filter(|r| r["multiplier"] != "100").collect();
    for r in inputs
        .iter()
        .chain(inputs.iter().filter(|r| r["Area"] != "Area12"))
    {
        w.write_record([&r["Area"], &r["Numerator"], &r["Denominator"]])
            .unwrap();
    }
    w.flush().unwrap();
    let out = calc_ok(&[
        "rate",
        "--input",
        file.to_str().unwrap(),
        "--group-by",
        "Area",
        "--numerator",
        "Numerator",
        "--denominator",
        "Denominator",
        "--confidence",
        "95",
    ]);
    let expected = read_csv(&dir.join("rate_grouped_expected.csv"));
    for e in &expected {
        let o = out.iter().find(|o| o["Area"] == e["Area"]).unwrap();
        check("grouped rate", o, "value", e, "value", REL);
        check("grouped rate", o, "lower_95", e, "lowercl", REL);
        check("grouped rate", o, "upper_95", e, "uppercl", REL);
    }
    // Life tables the reference refuses: every case but "Good data" is blank, with a reason.
    let le = calc_ok(&[
        "life-expectancy",
        "--input",
        &path(&dir, "life_expectancy_edge_inputs.csv"),
        "--group-by",
        "case",
        "--age-band",
        "age",
        "--deaths",
        "deaths",
        "--population",
        "pop",
    ]);
    for o in &le {
        let good = o["case"].contains("Good data");
        if o["start_age"] == "0" {
            assert_eq!(!o["value"].is_empty(), good, "{o:?}");
        }
        if !good {
            assert!(o["value"].is_empty() && !o["note"].is_empty(), "{o:?}");
        }
    }
    // Rate funnels: each row's significance, DSRs and crude rates.
    let funnel_in = read_csv(&dir.join("funnel_rate_dsr_inputs.csv"));
    let f = path(&dir, "funnel_rate_dsr_inputs.csv");
    let dsr = calc_ok(&[
        "funnel",
        "--input",
        &f,
        "--statistic",
        "rate",
        "--numerator",
        "count",
        "--rate",
        "rate_dsr",
        "--rate-type",
        "dsr",
    ]);
    let crude = calc_ok(&[
        "funnel",
        "--input",
        &f,
        "--statistic",
        "rate",
        "--numerator",
        "count",
        "--rate",
        "rate_crude_per_100000",
        "--denominator",
        "pop",
        "--rate-type",
        "crude",
    ]);
    for ((d, c), e) in dsr.iter().zip(&crude).zip(&funnel_in) {
        // The output keeps the input's own columns; ours is the last "significance".
        assert_eq!(d["significance"], e["dsr_per_100000_with_0"], "{e:?}");
        assert_eq!(c["significance"], e["crude_per_100000_with_0"], "{e:?}");
    }
    println!(
        "rate_grouped_expected.csv: {} rows, life_expectancy_edge_inputs.csv: {} rows, funnel_rate_dsr_inputs.csv: {} rows checked through calc",
        expected.len(),
        le.len(),
        funnel_in.len() * 2
    );
}

/// ESP2013 bands with one rate per band, as `group,band,count,population` rows.
fn esp_rows(group: &str, bands: &[(&str, f64, f64)]) -> String {
    bands
        .iter()
        .map(|(band, count, population)| format!("{group},{band},{count},{population}\n"))
        .collect()
}

const LOWER_BANDS: [&str; 17] = [
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
    "55-59", "60-64", "65-69", "70-74", "75-79", "80-84",
];

fn dsr_args<'a>(input: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "dsr",
        "--input",
        input,
        "--group-by",
        "district",
        "--age-band",
        "band",
        "--count",
        "count",
        "--population",
        "population",
    ];
    args.extend(extra);
    args
}

/// LSOA rows grouped by district repeat every band once per LSOA: refused, naming
/// the group, the band and the lines, unless asked to sum them; the sum then gives
/// the DSR of the district's summed bands.
#[test]
fn dsr_refuses_repeated_bands_unless_asked_to_sum_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lower: Vec<(&str, f64, f64)> = LOWER_BANDS
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, 5.0 + i as f64, 800.0 + 10.0 * i as f64))
        .collect();
    let mut first = lower.clone();
    first.extend([("85-89", 12.0, 300.0), ("90+", 9.0, 100.0)]);
    let mut second = lower.clone();
    second.extend([("85-89", 20.0, 250.0), ("90+", 15.0, 150.0)]);
    let mut lsoa_rows = String::from("district,band,count,population\n");
    lsoa_rows += &esp_rows("E07000001", &first);
    lsoa_rows += &esp_rows("E07000001", &second);
    let lsoas = write(d, "lsoas.csv", &lsoa_rows);
    // Streamed (no quotes) and fully read (quotes) files are refused alike.
    let quoted = write(
        d,
        "quoted.csv",
        &lsoa_rows.replace("E07000001", "\"E07000001\""),
    );
    for input in [&lsoas, &quoted] {
        let err = refused(&dsr_args(input, &[]));
        assert!(err.contains("group E07000001"), "{err}");
        assert!(err.contains("age band 0-4 occurs 2 times"), "{err}");
        assert!(err.contains("lines 2, 21"), "{err}");
        assert!(err.contains("--sum-repeated-bands"), "{err}");
    }
    // Summed first by hand: the same figure as --sum-repeated-bands.
    let summed: Vec<(&str, f64, f64)> = first
        .iter()
        .zip(&second)
        .map(|(a, b)| (a.0, a.1 + b.1, a.2 + b.2))
        .collect();
    let by_hand = write(
        d,
        "summed.csv",
        &format!(
            "district,band,count,population\n{}",
            esp_rows("E07000001", &summed)
        ),
    );
    let expected = calc_ok(&dsr_args(&by_hand, &[]));
    for input in [&lsoas, &quoted] {
        let got = calc_ok(&dsr_args(input, &["--sum-repeated-bands"]));
        assert_eq!(got.len(), 1);
        for column in ["total_count", "total_pop", "value", "lower_95", "upper_95"] {
            check("summed", &got[0], column, &expected[0], column, 1e-12);
        }
    }
    // An open band beside the bands inside it overlaps them: refused, even when summing.
    let mut overlap = String::from("district,band,count,population\n");
    overlap += &esp_rows("E07000001", &first);
    overlap += "E07000001,85+,3,40\n";
    let overlap = write(d, "overlap.csv", &overlap);
    for extra in [&[][..], &["--sum-repeated-bands"][..]] {
        let err = refused(&dsr_args(&overlap, extra));
        assert!(err.contains("overlap in group E07000001"), "{err}");
        assert!(err.contains("85+"), "{err}");
    }
    // A repeated band beside a wider one that overlaps it: the overlap is found
    // too, so summing never standardises the same ages twice.
    let beside = write(
        d,
        "beside.csv",
        "district,band,count,population
A,0-4,1,10
A,0-4,1,10
A,0-9,2,20
A,10-14,1,10
",
    );
    let err = refused(&dsr_args(&beside, &["--sum-repeated-bands"]));
    assert!(
        err.contains("age bands 0-4 (line 3) and 0-9 (line 4) overlap"),
        "{err}"
    );
}

/// The Census's top band `85+` takes the ESP2013 weight of 85-89 and 90+ together:
/// the same DSR as the two bands when they carry the same rate.
#[test]
fn dsr_reads_an_open_85_plus_band_as_85_89_and_90_plus() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lower: Vec<(&str, f64, f64)> = LOWER_BANDS
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, 3.0 + 2.0 * i as f64, 1000.0))
        .collect();
    let mut split = lower.clone();
    split.extend([("85-89", 60.0, 600.0), ("90+", 40.0, 400.0)]);
    let mut joined = lower;
    joined.push(("Aged 85 years and over", 100.0, 1000.0));
    let header = "district,band,count,population\n";
    let split = write(
        d,
        "split.csv",
        &format!("{header}{}", esp_rows("A", &split)),
    );
    let joined = write(
        d,
        "joined.csv",
        &format!("{header}{}", esp_rows("A", &joined)),
    );
    let a = calc_ok(&dsr_args(&split, &[]));
    let b = calc_ok(&dsr_args(&joined, &[]));
    for column in [
        "total_count",
        "value",
        "lower_95",
        "upper_95",
        "lower_99_8",
        "upper_99_8",
    ] {
        check("85+", &b[0], column, &a[0], column, 1e-12);
    }
}

/// A quoted file (as Fingertips exports are: names with newlines inside quotes)
/// whose row is one field short: the error names that row's real line.
#[test]
fn a_short_row_in_a_quoted_file_is_named_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "quoted.csv",
        "area,name,n,d\nA,\"two\nlines\",1,10\nB,x,2\n",
    );
    let err = refused(&[
        "proportion",
        "--input",
        &f,
        "--numerator",
        "n",
        "--denominator",
        "d",
    ]);
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("3 fields but the header has 4"), "{err}");
    // The same with Windows line ends (as Fingertips writes them).
    let crlf = write(
        dir.path(),
        "crlf.csv",
        "area,name,n,d\r\nA,\"two\nlines\",1,10\r\nB,x,2\r\n",
    );
    let err = refused(&[
        "proportion",
        "--input",
        &crlf,
        "--numerator",
        "n",
        "--denominator",
        "d",
    ]);
    assert!(err.contains("line 4"), "{err}");
}

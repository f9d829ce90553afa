//! Hostile files and faults against the command line (issue 17, item 8): each test
//! here failed on the code before it — a panic, a silent success, a wrong line, a
//! partial file, a foreign `--db` replaced or waited on.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn syndemic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(args)
        .output()
        .expect("run syndemic")
}

fn calc(args: &[&str]) -> Output {
    let mut all = vec!["calc"];
    all.extend(args);
    all.push("--quiet");
    syndemic(&all)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Refused cleanly: exit code 1 (not a panic's 101), a message, nothing on stdout.
fn assert_refused(o: &Output, what: &str, says: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {err}");
    for part in says {
        assert!(err.contains(part), "{what}: `{err}` does not say `{part}`");
    }
    err
}

/// A table every method below can read: two areas, five years, one age band.
fn table() -> String {
    let mut t = String::from("area,year,band,x,n,v,lo,hi,w,refx,refn,r\n");
    for area in ["A", "B"] {
        for (i, year) in (2019..2024).enumerate() {
            let x = 10 + i * 3 + usize::from(area == "B");
            t.push_str(&format!(
                "{area},{year},0-4,{x},{},{}.5,{},{},1000,50,500,{}\n",
                100 + i,
                x,
                x - 2,
                x + 2,
                x * 100
            ));
        }
    }
    t
}

/// Each calc method with the flags it needs on [`table`]'s columns.
fn methods() -> Vec<(&'static str, Vec<&'static str>)> {
    let isr = [
        "--group-by",
        "area",
        "--count",
        "x",
        "--population",
        "n",
        "--ref-count",
        "refx",
        "--ref-population",
        "refn",
    ];
    vec![
        ("proportion", vec!["--numerator", "x", "--denominator", "n"]),
        ("rate", vec!["--numerator", "x", "--denominator", "n"]),
        (
            "rate",
            vec![
                "--numerator",
                "x",
                "--denominator",
                "n",
                "--group-by",
                "area",
            ],
        ),
        ("mean", vec!["--value", "v", "--group-by", "area"]),
        (
            "dsr",
            vec![
                "--group-by",
                "area,year",
                "--age-band",
                "band",
                "--count",
                "x",
                "--population",
                "n",
                "--standard-column",
                "w",
            ],
        ),
        ("isratio", isr.to_vec()),
        ("israte", isr.to_vec()),
        (
            "quantile",
            vec!["--value", "v", "--quantiles", "2", "--group-by", "year"],
        ),
        (
            "funnel",
            vec![
                "--statistic",
                "proportion",
                "--numerator",
                "x",
                "--denominator",
                "n",
            ],
        ),
        (
            "compare",
            vec!["--lower", "lo", "--upper", "hi", "--benchmark", "12"],
        ),
        (
            "trend",
            vec![
                "--group-by",
                "area",
                "--period",
                "year",
                "--numerator",
                "x",
                "--denominator",
                "n",
            ],
        ),
    ]
}

fn run_method(method: &str, flags: &[&str], input: &str) -> Output {
    let mut args = vec![method, "--input", input];
    args.extend(flags);
    calc(&args)
}

#[test]
fn counts_of_1e_15_and_less_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    for tiny in ["1e-15", "1e-16", "5e-300"] {
        let f = write(
            dir.path(),
            "t.csv",
            format!("area,x,n,refx,refn,r\nA,{tiny},100,50,500,0.001\nB,3,100,50,500,3000\n")
                .as_bytes(),
        );
        let isr = [
            "--group-by",
            "area",
            "--count",
            "x",
            "--population",
            "n",
            "--ref-count",
            "refx",
            "--ref-population",
            "refn",
        ];
        let runs: Vec<Vec<&str>> = vec![
            vec!["rate", "--numerator", "x", "--denominator", "n"],
            vec!["isratio"].into_iter().chain(isr).collect(),
            vec!["israte"].into_iter().chain(isr).collect(),
            vec![
                "funnel",
                "--statistic",
                "rate",
                "--numerator",
                "x",
                "--rate",
                "r",
                "--rate-type",
                "crude",
                "--denominator",
                "n",
            ],
        ];
        for run in runs {
            let mut args = run.clone();
            args.extend(["--input", &f]);
            let o = calc(&args);
            let err = stderr(&o);
            assert_ne!(o.status.code(), Some(101), "{run:?} {tiny}: {err}");
            assert!(!err.contains("panicked"), "{run:?} {tiny}: {err}");
        }
    }
}

#[test]
fn carriage_return_line_ends_read_as_lines_in_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let lf = write(dir.path(), "lf.csv", table().as_bytes());
    let cr = write(dir.path(), "cr.csv", table().replace('\n', "\r").as_bytes());
    for (method, flags) in methods() {
        let a = run_method(method, &flags, &lf);
        assert!(a.status.success(), "{method}: {}", stderr(&a));
        let b = run_method(method, &flags, &cr);
        assert!(b.status.success(), "{method} (CR): {}", stderr(&b));
        assert!(
            a.stdout.iter().filter(|&&c| c == b'\n').count() > 1,
            "{method}"
        );
        assert_eq!(
            String::from_utf8_lossy(&a.stdout),
            String::from_utf8_lossy(&b.stdout),
            "{method}: a CR-only file reads as the same table"
        );
    }
}

#[test]
fn columns_named_twice_are_refused_by_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let text = table().replacen(",refn,", ",x,", 1);
    let f = write(dir.path(), "dup.csv", text.as_bytes());
    for (method, flags) in methods() {
        let o = run_method(method, &flags, &f);
        assert_refused(&o, method, &["line 1", "twice"]);
        assert!(o.stdout.is_empty(), "{method}");
    }
}

#[test]
fn an_unclosed_quote_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = table().lines().map(str::to_owned).collect();
    lines[3] = format!("\"{}", lines[3]);
    let f = write(dir.path(), "q.csv", (lines.join("\n") + "\n").as_bytes());
    for (method, flags) in methods() {
        let o = run_method(method, &flags, &f);
        let err = assert_refused(&o, method, &["line 4"]);
        assert!(!err.contains("line 0"), "{method}: {err}");
    }
}

#[test]
fn a_ragged_row_far_down_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("area,x,n\n");
    for i in 0..200 {
        if i == 120 {
            text.push_str("R,1\n");
        } else {
            text.push_str(&format!("A{i},{},{}\n", i % 7, 100 + i));
        }
    }
    let f = write(dir.path(), "ragged.csv", text.as_bytes());
    for statistic in ["proportion", "ratio"] {
        let (a, b) = if statistic == "ratio" {
            ("--observed", "--expected")
        } else {
            ("--numerator", "--denominator")
        };
        let o = calc(&[
            "funnel",
            "--input",
            &f,
            "--statistic",
            statistic,
            a,
            "x",
            b,
            "n",
        ]);
        let err = assert_refused(&o, statistic, &["line 122"]);
        assert!(!err.contains("line 0"), "{err}");
    }
    let o = calc(&[
        "proportion",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert_refused(&o, "proportion", &["line 122"]);
}

#[test]
fn a_non_finite_result_is_blank_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    // 1e-320 is a (subnormal) finite denominator: the rate overflows to infinity.
    let f = write(dir.path(), "t.csv", b"area,x,n\nA,10,1e-320\nB,10,1000\n");
    for grouped in [false, true] {
        let mut args = vec![
            "rate",
            "--input",
            &f,
            "--numerator",
            "x",
            "--denominator",
            "n",
        ];
        if grouped {
            args.extend(["--group-by", "area"]);
        }
        let o = calc(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            !out.contains("e+308") && !out.contains(",inf") && !out.contains("NaN"),
            "{out}"
        );
        let first = out.lines().nth(1).unwrap();
        assert!(first.contains("not a finite number"), "{first}");
        let second = out.lines().nth(2).unwrap();
        assert!(!second.contains("not a finite number"), "{second}");
    }
}

#[test]
fn flags_that_make_results_undefined_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "t.csv", table().as_bytes());
    let zero = write(dir.path(), "zero.csv", b"band,population\n0-4,0\n5-9,0\n");
    let rate = [
        "rate",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ];
    for m in ["NaN", "inf", "1e309", "-inf"] {
        let mut args = rate.to_vec();
        args.extend(["--multiplier", m]);
        assert_refused(&calc(&args), m, &["--multiplier"]);
    }
    let isr = [
        "isratio",
        "--input",
        &f,
        "--group-by",
        "area",
        "--count",
        "x",
        "--population",
        "n",
        "--ref-count",
        "refx",
        "--ref-population",
        "refn",
        "--ref-value",
        "NaN",
    ];
    assert_refused(&calc(&isr), "ref-value", &["--ref-value"]);
    for level in ["0", "100", "NaN", "150"] {
        let o = calc(&[
            "trend",
            "--input",
            &f,
            "--group-by",
            "area",
            "--period",
            "year",
            "--numerator",
            "x",
            "--denominator",
            "n",
            "--trend-level",
            level,
        ]);
        assert_refused(&o, level, &["--trend-level"]);
    }
    let o = calc(&[
        "dsr",
        "--input",
        &f,
        "--group-by",
        "area,year",
        "--age-band",
        "band",
        "--count",
        "x",
        "--population",
        "n",
        "--standard",
        &zero,
    ]);
    assert_refused(&o, "all-zero standard", &["all zero"]);
}

#[test]
fn trend_refuses_negative_counts_and_denominators_in_any_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("area,year,x,n\n");
    for year in 2012..2024 {
        text.push_str(&format!("A,{year},{},100\n", year - 2000));
    }
    for (name, from, to, says) in [
        (
            "count.csv",
            "A,2020,20,100",
            "A,2020,-20,100",
            "count is negative",
        ),
        (
            "early.csv",
            "A,2013,13,100",
            "A,2013,13,-100",
            "denominator is negative",
        ),
    ] {
        let f = write(dir.path(), name, text.replace(from, to).as_bytes());
        let line = text.lines().position(|l| l == from).unwrap() + 1;
        let o = calc(&[
            "trend",
            "--input",
            &f,
            "--group-by",
            "area",
            "--period",
            "year",
            "--numerator",
            "x",
            "--denominator",
            "n",
        ]);
        assert_refused(&o, name, &[&format!("line {line}"), says]);
    }
}

#[test]
fn standard_output_is_the_same_table_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x,n\n");
    for i in 0..50_000 {
        text.push_str(&format!("{},{}\n", i % 50, 100 + i % 1000));
    }
    let f = write(dir.path(), "big.csv", text.as_bytes());
    let out = dir.path().join("out.csv").display().to_string();
    let to_file = calc(&[
        "proportion",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
        "--output",
        &out,
    ]);
    assert!(to_file.status.success());
    let streamed = calc(&[
        "proportion",
        "--input",
        &f,
        "--numerator",
        "x",
        "--denominator",
        "n",
    ]);
    assert!(streamed.status.success());
    assert_eq!(std::fs::read(&out).unwrap(), streamed.stdout);
}

fn counts_file(dir: &Path, name: &str, rows: usize) -> String {
    let mut text = String::from("area,period,age_band,numerator,denominator\n");
    for i in 0..rows {
        text.push_str(&format!(
            "E01{:06},{},{}-{},{},{}\n",
            i / 19,
            2019,
            (i % 19) * 5,
            (i % 19) * 5 + 4,
            i % 9,
            100
        ));
    }
    write(dir, name, text.as_bytes())
}

#[test]
fn a_foreign_or_damaged_db_is_refused_at_once_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let counts = counts_file(d, "c.csv", 10);
    for (name, bytes, says) in [
        ("data.csv", b"area,x\nE01000001,5\n".to_vec(), "CSV"),
        ("one.db", b"x".to_vec(), "not a syndemic store"),
        ("gz.db", vec![0x1f, 0x8b, 8, 0, 0, 0], "gzip"),
        (
            "damaged.db",
            [b"SQLite format 3\0".as_slice(), &[0xAB; 4096]].concat(),
            "damaged",
        ),
    ] {
        let db = write(d, name, &bytes);
        let started = Instant::now();
        let o = syndemic(&[
            "import",
            "counts",
            "--quiet",
            "--dataset",
            "d",
            "--db",
            &db,
            &counts,
        ]);
        assert_refused(&o, name, &[says]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: refused after {:?}",
            started.elapsed()
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "{name} is left as it was"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_new_store_and_its_backup_are_private_and_a_backup_is_whole_or_absent() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let counts = counts_file(d, "c.csv", 100);
    let db = d.join("store.db").display().to_string();
    let o = syndemic(&[
        "import",
        "counts",
        "--quiet",
        "--dataset",
        "d",
        "--db",
        &db,
        &counts,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = |p: &str| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    let backups = tempfile::tempdir().unwrap();
    let out = backups.path().join("b.db").display().to_string();
    let o = syndemic(&["backup", "--db", &db, "--out", &out]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&out), 0o600);
    let o = syndemic(&["backup", "--db", &db, "--out", &out]);
    assert_refused(&o, "backup over a file", &["exists"]);
    let left: Vec<_> = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left,
        ["b.db"],
        "only the backup, no temporary file or journal"
    );
    // A backup into a folder that does not exist names the file and leaves nothing.
    let o = syndemic(&["backup", "--db", &db, "--out", "/nonexistent-syndemic/b.db"]);
    assert_refused(&o, "backup", &["/nonexistent-syndemic/b.db"]);

    // Exports name the file they could not write.
    let ft = write(
        d,
        "ft.csv",
        b"Indicator ID,Indicator Name,Area Code,Area Name,Sex,Age,Category Type,Category,Time period,Value,Count,Denominator\n1,X,E08000009,Trafford,Persons,All ages,,,2019,5,50,1000\n",
    );
    let o = syndemic(&["import", "fingertips", "--quiet", "--db", &db, &ft]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = syndemic(&[
        "export",
        "--db",
        &db,
        "--output",
        "/nonexistent-syndemic/e.csv",
    ]);
    assert_refused(&o, "export", &["/nonexistent-syndemic/e.csv"]);
    let o = syndemic(&[
        "directory",
        "export",
        "--db",
        &db,
        "--out",
        "/nonexistent-syndemic/dir.json",
    ]);
    assert_refused(&o, "directory export", &["/nonexistent-syndemic/dir.json"]);
    let good = d.join("dir.json").display().to_string();
    let o = syndemic(&["directory", "export", "--db", &db, "--out", &good]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join("dir.partial").exists());
}

#[test]
fn a_second_writer_waits_for_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("store.db").display().to_string();
    let files: Vec<String> = (0..4)
        .map(|i| counts_file(d, &format!("c{i}.csv"), 40_000))
        .collect();
    let children: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Command::new(env!("CARGO_BIN_EXE_syndemic"))
                .args([
                    "import",
                    "counts",
                    "--quiet",
                    "--dataset",
                    &format!("d{i}"),
                    "--db",
                    &db,
                    f,
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

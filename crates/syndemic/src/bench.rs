//! `syndemic bench`: writes the benchmark workloads (deterministic) and times
//! `syndemic calc` on them as whole commands, best of three, beside the time to
//! merely parse the same file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::table;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Folder for the generated workloads (kept between runs).
    #[arg(long, default_value = "target/bench-workloads")]
    pub dir: PathBuf,
    /// Only write the workload files.
    #[arg(long)]
    pub generate_only: bool,
    /// Runs per measurement; the best is reported.
    #[arg(long, default_value = "3")]
    pub runs: u32,
    /// Instead: the compute engine's scale benchmark on England's LSOAs (needs the
    /// shared data folder).
    #[arg(long)]
    pub evidence: bool,
    /// Instead: the outreach planner (20 stops, 5,000 sites, 33,755 small areas).
    #[arg(long)]
    pub planner: bool,
    /// Instead: every kind of web page, first request after a start and warm, on a
    /// store built from the shared data folder (kept as `--dir`/pages.db).
    #[arg(long)]
    pub pages: bool,
    /// With `--pages`: also an indicator computed for every LSOA of England (the
    /// `--evidence` workload's counts), and its pages.
    #[arg(long)]
    pub with_england_counts: bool,
    /// Instead: create-referral through the API at `--rate` requests a second for
    /// `--seconds`, on a fresh SQLite store served in this process.
    #[arg(long)]
    pub referrals: bool,
    #[arg(long, default_value = "500")]
    pub rate: u32,
    #[arg(long, default_value = "60")]
    pub seconds: u32,
    /// The shared data folder, for `--evidence` and `--pages`.
    #[arg(long, default_value = "../shared")]
    pub shared: PathBuf,
}

/// A small deterministic generator (SplitMix64), so workloads are the same everywhere.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const ESP_BANDS: [&str; 19] = [
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
    "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
];

/// Deaths per 1,000 by band for a plausible English population.
const MORTALITY: [f64; 20] = [
    4.0, 0.15, 0.08, 0.1, 0.25, 0.4, 0.5, 0.6, 0.8, 1.1, 1.7, 2.6, 4.0, 6.5, 10.0, 16.0, 27.0,
    47.0, 85.0, 180.0,
];

fn area(a: u32) -> String {
    format!("E01{a:06}")
}

fn write_dsr(path: &Path) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "area,sex,year,age_band,count,pop")?;
    let mut rng = SplitMix(1);
    for a in 0..7000 {
        for sex in ["F", "M"] {
            for year in 2005..2025 {
                for (b, band) in ESP_BANDS.iter().enumerate() {
                    let pop = 50 + rng.below(150);
                    let rate = MORTALITY[b + 1] / 1000.0 * 10.0;
                    let count = ((pop as f64) * rate) as u64 + rng.below(3);
                    writeln!(
                        w,
                        "{},{sex},{year},{band},{},{pop}",
                        area(a),
                        count.min(pop)
                    )?;
                }
            }
        }
    }
    Ok(w.flush()?)
}

fn write_le(path: &Path) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "area,year,start_age,deaths,pop")?;
    let mut rng = SplitMix(2);
    let starts: Vec<u32> = std::iter::once(0)
        .chain(std::iter::once(1))
        .chain((1..=18).map(|k| k * 5))
        .collect();
    for a in 0..7000 {
        for year in 2005..2025 {
            for (b, &s) in starts.iter().enumerate() {
                let width = if b == 0 {
                    1
                } else if b == 1 {
                    4
                } else {
                    5
                };
                let pop = (400 + rng.below(400)) * width / 5 + 20;
                let deaths = ((pop as f64) * MORTALITY[b] / 1000.0 * 3.0) as u64
                    + rng.below(3)
                    + u64::from(b == 19);
                writeln!(w, "{},{year},{s},{},{pop}", area(a), deaths.min(pop))?;
            }
        }
    }
    Ok(w.flush()?)
}

fn write_proportion(path: &Path) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "area,numerator,denominator")?;
    let mut rng = SplitMix(3);
    for a in 0..1_000_000 {
        let n = 100 + rng.below(5000);
        let x = rng.below(n + 1);
        writeln!(w, "{},{x},{n}", area(a))?;
    }
    Ok(w.flush()?)
}

struct Workload {
    name: &'static str,
    file: &'static str,
    write: fn(&Path) -> anyhow::Result<()>,
    args: &'static [&'static str],
    numeric: &'static [&'static str],
    keys: &'static [&'static [&'static str]],
    target: Duration,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "DSR, 5.32 M rows -> 280,000 DSRs (95, 99.8)",
        file: "dsr.csv",
        write: write_dsr,
        args: &[
            "dsr",
            "--group-by",
            "area,sex,year",
            "--age-band",
            "age_band",
            "--count",
            "count",
            "--population",
            "pop",
            "--standard",
            "esp2013",
            "--confidence",
            "95,99.8",
        ],
        numeric: &["count", "pop"],
        keys: &[&["area", "sex", "year"], &["age_band"]],
        target: Duration::from_millis(650),
    },
    Workload {
        name: "Life expectancy, 140,000 life tables at age 0 (95)",
        file: "le.csv",
        write: write_le,
        args: &[
            "life-expectancy",
            "--group-by",
            "area,year",
            "--age-band",
            "start_age",
            "--deaths",
            "deaths",
            "--population",
            "pop",
            "--at-ages",
            "0",
            "--confidence",
            "95",
        ],
        numeric: &["start_age", "deaths", "pop"],
        keys: &[&["area", "year"]],
        target: Duration::from_millis(1000),
    },
    Workload {
        name: "Proportion, 1 M rows (95, 99.8)",
        file: "proportion.csv",
        write: write_proportion,
        args: &[
            "proportion",
            "--numerator",
            "numerator",
            "--denominator",
            "denominator",
            "--confidence",
            "95,99.8",
        ],
        numeric: &["numerator", "denominator"],
        keys: &[],
        target: Duration::from_millis(200),
    },
];

/// Tokenises the file, parses the numeric fields and identifies the keys of every row,
/// in parallel blocks, storing nothing: the floor a whole command is compared with.
fn parse_only(input: &Path, w: &Workload) -> anyhow::Result<usize> {
    use rayon::prelude::*;
    let (data, source) = table::read_input(Some(input))?;
    let prep = table::prepare(data, source)?;
    let numeric: Vec<usize> = w
        .numeric
        .iter()
        .map(|c| prep.column(c))
        .collect::<Result<_, _>>()?;
    let keys: Vec<Vec<usize>> = w
        .keys
        .iter()
        .map(|k| k.iter().map(|c| prep.column(c)).collect::<Result<_, _>>())
        .collect::<Result<_, _>>()?;
    let data = &prep.data;
    let counts: Vec<Result<usize, table::BlockError>> = prep
        .blocks
        .par_iter()
        .map(|range| {
            let mut sets: Vec<table::SpanKeys<'_>> = keys
                .iter()
                .map(|k| table::SpanKeys::new(data, k.clone(), 0))
                .collect();
            let mut sum = 0.0;
            let rows = table::visit_rows(data, range.clone(), prep.headers.len(), |row, f| {
                for &c in &numeric {
                    sum += table::number_at(data, f, row, c)?.unwrap_or(0.0);
                }
                for k in sets.iter_mut() {
                    k.key(f);
                }
                Ok(())
            })?;
            std::hint::black_box(sum);
            Ok(rows)
        })
        .collect();
    let mut total = 0;
    for c in counts {
        total += c.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    }
    Ok(total)
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.evidence {
        return crate::bench_evidence::run(&args.dir, &args.shared, args.runs);
    }
    if args.pages {
        return crate::bench_pages::run(
            &args.dir,
            &args.shared,
            args.runs,
            args.with_england_counts,
        );
    }
    if args.planner {
        return crate::outreach::bench(args.runs);
    }
    if args.referrals {
        return crate::bench_hub::run(args.rate, args.seconds);
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    for w in &WORKLOADS {
        let path = args.dir.join(w.file);
        if !path.exists() {
            eprintln!("writing {}", path.display());
            let tmp = path.with_extension("tmp");
            (w.write)(&tmp)?;
            std::fs::rename(&tmp, &path)?;
        }
    }
    if args.generate_only {
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the syndemic executable")?;
    println!(
        "| workload | whole command (best of {}) | parse only | ratio | target |",
        args.runs
    );
    println!("|---|---|---|---|---|");
    for w in &WORKLOADS {
        let input = args.dir.join(w.file);
        let output = args.dir.join(format!("{}.out.csv", w.file));
        // Warm the file cache.
        std::fs::read(&input)?;
        let mut best = Duration::MAX;
        for _ in 0..args.runs {
            // A new output file each time: replacing a large file makes the file
            // system free the old one's blocks inside the timed run.
            let _ = std::fs::remove_file(&output);
            std::thread::sleep(Duration::from_millis(300));
            let start = Instant::now();
            let status = std::process::Command::new(&exe)
                .arg("calc")
                .args(w.args)
                .arg("--input")
                .arg(&input)
                .arg("--output")
                .arg(&output)
                .arg("--quiet")
                .status()?;
            let took = start.elapsed();
            anyhow::ensure!(
                status.success(),
                "syndemic calc failed on {}",
                input.display()
            );
            best = best.min(took);
        }
        // "Merely parsing": read the file, split every line into fields, convert the
        // numeric fields used and identify each row's keys, keeping nothing.
        let mut parse_best = Duration::MAX;
        for _ in 0..args.runs {
            let start = Instant::now();
            let rows = parse_only(&input, w)?;
            std::hint::black_box(rows);
            parse_best = parse_best.min(start.elapsed());
        }
        println!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | <= {:.2} s {} |",
            w.name,
            best.as_secs_f64(),
            parse_best.as_secs_f64(),
            best.as_secs_f64() / parse_best.as_secs_f64(),
            w.target.as_secs_f64(),
            if best <= w.target { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

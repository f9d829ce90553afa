//! `syndemic bench --pages`: how fast the web pages answer on a real place. Builds a
//! SQLite store from the files in `../shared/data` that syndemic imports — the
//! 2011 and 2021 geography of England (LSOAs to wards, districts, upper tiers and
//! regions; the exact-fit LSOA 2011 → 2021 lookup), the IoD2019 and IoD2025, the
//! boundaries of Trafford, Lambeth, Tees Valley and the North East, the Fingertips
//! exports and metadata, Trafford's Census 2021 population — and, as
//! `docs/REAL-PLACE.md` does, a DSR computed from generated deaths in Trafford's 138
//! LSOAs; with `--with-england-counts`, also an indicator computed for every LSOA
//! of England (the `--evidence` workload's 12.5 M rows of counts: 1.3 M results).
//! Then it starts `syndemic serve` afresh for each page and times its first
//! request after the start, then the same request warm.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

/// The pages timed: what each shows, and its address.
const PAGES: [(&str, &str); 14] = [
    ("home", "/"),
    ("England's profile", "/areas/E92000001"),
    ("a region's profile (North West)", "/areas/E12000002"),
    ("a district's profile (Trafford)", "/areas/E08000009"),
    ("Lambeth's profile (Fingertips)", "/areas/E09000022"),
    ("a small area's profile", "/areas/E01006074"),
    ("indicator view, England", "/indicators/trafford_mortality"),
    (
        "indicator view, Trafford (map, wards, funnel)",
        "/indicators/trafford_mortality?area=E08000009",
    ),
    (
        "compare Trafford and Lambeth",
        "/compare?a=E08000009&b=E09000022",
    ),
    ("hidden deprivation, first page", "/hidden"),
    ("search", "/search?q=Traff"),
    ("place report (Trafford)", "/report/E08000009"),
    (
        "API: Trafford's observations",
        "/api/v1/indicators/trafford_mortality/data?parent=E08000009",
    ),
    ("place report as PDF (Trafford)", "/report/E08000009.pdf"),
];

/// With `--with-england-counts`: the pages of the indicator of every LSOA.
const ENGLAND_PAGES: [(&str, &str); 3] = [
    (
        "England-wide indicator: view, England",
        "/indicators/bench-mortality",
    ),
    (
        "England-wide indicator: view, Trafford",
        "/indicators/bench-mortality?area=E08000009",
    ),
    (
        "England-wide indicator: API, Trafford",
        "/api/v1/indicators/bench-mortality/data?parent=E08000009",
    ),
];

fn syndemic(exe: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(exe).args(args).output()?;
    ensure!(
        out.status.success(),
        "syndemic {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Every file of a folder with the extension, sorted.
fn files(dir: &Path, ext: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.display().to_string())
        .collect();
    out.sort();
    Ok(out)
}

/// Deaths in Trafford's 138 LSOAs (2011), 2019–2021, by sex and five-year band to
/// `85+`: deterministic, rates rising with age.
fn trafford_deaths(shared: &Path, path: &Path) -> Result<()> {
    let lookup = shared.join("data/ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv");
    let mut reader = csv::Reader::from_path(&lookup)
        .with_context(|| format!("cannot read {}", lookup.display()))?;
    let mut lsoas: Vec<String> = Vec::new();
    for row in reader.records() {
        let row = row?;
        if row.get(5) == Some("E08000009") {
            lsoas.push(row.get(1).unwrap_or_default().to_owned());
        }
    }
    lsoas.sort();
    let bands = [
        "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
        "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+",
    ];
    let mut text = String::from("area,period,sex,age_band,count,population\n");
    for (i, lsoa) in lsoas.iter().enumerate() {
        for year in 2019..=2021 {
            for (s, sex) in ["Female", "Male"].iter().enumerate() {
                for (b, band) in bands.iter().enumerate() {
                    let population = 40 + (i * 7 + b * 13 + s * 5 + year) % 50;
                    let rate =
                        0.0002 * (0.09 * (b as f64 * 5.0 + 2.5)).exp() * (1.0 + 0.3 * s as f64);
                    let deaths = (population as f64 * rate.min(0.4)).round();
                    writeln!(text, "{lsoa},{year},{sex},{band},{deaths},{population}")?;
                }
            }
        }
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The store, built once into `dir` (delete it to build afresh).
fn build_store(exe: &Path, dir: &Path, shared: &Path, england_counts: bool) -> Result<PathBuf> {
    let db = dir.join(if england_counts {
        "pages-england.db"
    } else {
        "pages.db"
    });
    if db.exists() {
        return Ok(db);
    }
    let building = dir.join("pages.building.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    let data = shared.join("data");
    let at = |p: &str| data.join(p).display().to_string();
    let store = building.display().to_string();
    let import = |kind: &str, extra: &[&str], paths: &[String]| -> Result<()> {
        eprintln!("importing {kind}: {} file(s)", paths.len());
        let mut args = vec!["import", kind, "--quiet", "--db", &store];
        args.extend(extra);
        args.extend(paths.iter().map(String::as_str));
        syndemic(exe, &args)
    };
    import(
        "lookups",
        &[],
        &[
            at("ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv"),
            at("ons-lookups-jtrim/LSOA11_to_UTLA19_lookup_EW.csv"),
            at("boundaries-geo-lookups/lookups/la_all_codes.csv"),
            at("ons-lsoa21-ward24-lad24/lsoa21_to_ward24.csv"),
            at("ons-lsoa21-utla23-bestfit/lsoa21_to_utla23.csv"),
            at("ons-lsoa11-lsoa21-lad22-exactfit/lsoa11_to_lsoa21_exact.csv"),
        ],
    )?;
    import(
        "imd",
        &[],
        &[
            at("iod2019-energy_flex/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"),
            at("iod-humaniverse-IMD/imd2025_england_lsoa21.csv"),
        ],
    )?;
    let mut outlines = Vec::new();
    for layer in ["lsoa11", "lsoa", "msoa11", "msoa", "ward"] {
        outlines.extend(files(
            &data.join("boundaries-geo-lookups/boundaries").join(layer),
            "geojson",
        )?);
    }
    import("boundaries", &[], &outlines)?;
    let mut fingertips = files(&data.join("fingertips-lambeth"), "csv")?;
    fingertips.push(at("fingertips-data-dev/indicators-CountyUA.data.csv"));
    import("fingertips", &[], &fingertips)?;
    import(
        "population",
        &["--source", "Census 2021"],
        &[at(
            "trafford-census2021-lsoa/2021_population_by_5_year_age_bands_lsoa_trafford.csv",
        )],
    )?;
    let deaths = dir.join("trafford-deaths.csv");
    trafford_deaths(shared, &deaths)?;
    let compute = |counts: &Path, id: &str, name: &str| -> Result<()> {
        eprintln!("computing {id}");
        syndemic(
            exe,
            &[
                "compute",
                "--quiet",
                "--db",
                &store,
                "--counts",
                &counts.display().to_string(),
                "--indicator",
                id,
                "--name",
                name,
                "--measure",
                "dsr",
            ],
        )
    };
    compute(&deaths, "trafford_mortality", "Mortality from all causes")?;
    if england_counts {
        // England's deaths by LSOA: the `--evidence` workload's counts.
        let counts = dir.join("lsoa_deaths.parquet");
        if !counts.exists() {
            crate::bench_evidence::write_counts_for(&building, &counts)?;
        }
        compute(
            &counts,
            "bench-mortality",
            "All-cause mortality (generated)",
        )?;
    }
    syndemic(
        exe,
        &[
            "indicators",
            "import",
            "--db",
            &store,
            &at("fingertips-api-indicator-metadata-json/ft.json"),
        ],
    )?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    std::fs::rename(&building, &db)?;
    Ok(db)
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(exe: &Path, db: &Path) -> Result<Server> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        let child = Command::new(exe)
            .args(["serve", "--place", "England", "--port", &port.to_string()])
            .arg("--db")
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Server { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the server did not start within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// One GET, read to the end: its status and how long it took.
    fn get(&self, path: &str) -> Result<(u16, usize, Duration)> {
        let start = Instant::now();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let took = start.elapsed();
        let head = String::from_utf8_lossy(&raw[..raw.len().min(64)]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("GET {path}: no HTTP status in `{head}`"))?;
        Ok((status, raw.len(), took))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

pub fn run(dir: &Path, shared: &Path, runs: u32, england_counts: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the syndemic executable")?;
    let db = build_store(&exe, dir, shared, england_counts)?;
    let extra: &[(&str, &str)] = if england_counts { &ENGLAND_PAGES } else { &[] };
    println!(
        "| page | address | first request after start (worst of {runs}) | warm (median of 20, max) | size | target |"
    );
    println!("|---|---|---|---|---|---|");
    let mut missed = 0;
    for &(what, path) in PAGES.iter().chain(extra) {
        let pdf = path.ends_with(".pdf");
        let mut first = Duration::ZERO;
        let mut warm = Vec::new();
        let mut size = 0;
        for _ in 0..runs.max(1) {
            let server = Server::start(&exe, &db)?;
            let (status, bytes, took) = server.get(path)?;
            ensure!(status == 200, "GET {path}: status {status}");
            first = first.max(took);
            size = bytes;
            if warm.is_empty() {
                for _ in 0..if pdf { 5 } else { 20 } {
                    warm.push(server.get(path)?.2);
                }
            }
        }
        warm.sort();
        let median = warm[warm.len() / 2];
        let (first_target, warm_target) = if pdf {
            (Duration::from_secs(5), Duration::from_secs(5))
        } else {
            (Duration::from_secs(1), Duration::from_millis(100))
        };
        let met = first <= first_target && median <= warm_target;
        missed += usize::from(!met);
        println!(
            "| {what} | `{path}` | {} | {} ({}) | {:.1} kB | {} {} |",
            ms(first),
            ms(median),
            ms(*warm.last().unwrap_or(&median)),
            size as f64 / 1000.0,
            if pdf {
                "≤ 5 s".to_owned()
            } else {
                "≤ 1 s first, ≤ 100 ms warm".to_owned()
            },
            if met { "met" } else { "MISSED" }
        );
    }
    if missed > 0 {
        eprintln!("{missed} page(s) missed the target");
    }
    Ok(())
}

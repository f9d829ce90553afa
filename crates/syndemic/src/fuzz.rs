//! A mutation fuzz harness over every reader of outside input (issue 17, item 8):
//! the `calc` reader, each importer (Fingertips, lookups, IoD, counts, postcodes,
//! populations), Open Referral UK feeds, FHIR referral bundles and the partnership
//! spreadsheet reader (CSV and XLSX).
//!
//! Seeds are the first lines of the real files in `$SYNDEMIC_SHARED_DIR/data` and
//! `…/reference` (small prefixes, so a case takes a millisecond or so), plus a few
//! written here where no real file exists (counts, postcodes, a FHIR bundle).
//! Each case mutates one seed — truncation, byte flips, line-ending changes,
//! quotes, huge fields, odd numbers, duplicated columns and lines, deleted ranges,
//! stray bytes — and calls the library function in-process under `catch_unwind`.
//! A case fails on a panic, on taking more than [`SLOW`], or when a file cut inside
//! a data row (so that the row has fewer fields than it had) is read successfully:
//! a truncated file must never import or compute with changed values. Peak memory
//! of the whole run is checked at the end.
//!
//! Every case draws its randomness from `(seed, case)` alone, so a failure is
//! reproduced by `SYNDEMIC_FUZZ_SEED=S SYNDEMIC_FUZZ_ONLY=CASE`. The short run
//! (300 cases) runs with the unit tests; the long run is
//! `SYNDEMIC_FUZZ_CASES=1000000 cargo test --release --workspace --bin syndemic fuzz -- --nocapture`,
//! or shards of it side by side with `SYNDEMIC_FUZZ_FROM` (the first case).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use syndemic_store::{SqlStore, StoreUrl};

use crate::table::{self, Input, Wanted};

/// Longer than this for one case is a failure (a hang in waiting).
const SLOW: Duration = Duration::from_secs(10);
/// Lines of each real file kept as its seed.
const PREFIX_LINES: usize = 24;
/// Bytes of each real file kept at most.
const PREFIX_BYTES: usize = 12 << 10;
/// Peak resident memory allowed for the whole run.
const PEAK_BYTES: u64 = 1 << 30;

/// SplitMix64: small, seeded, and good enough to choose mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, case: u64) -> Rng {
        let mut r = Rng(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Calc,
    Fingertips,
    Lookups,
    Imd,
    Counts,
    Postcodes,
    Population,
    Oruk,
    Fhir,
    SheetCsv,
    SheetXlsx,
}

impl Target {
    fn is_import(self) -> bool {
        matches!(
            self,
            Target::Fingertips
                | Target::Lookups
                | Target::Imd
                | Target::Counts
                | Target::Postcodes
                | Target::Population
        )
    }

    /// Whether a data row cut short must be refused (the tabular readers).
    fn refuses_short_rows(self) -> bool {
        self == Target::Calc || self.is_import()
    }
}

struct Seed {
    target: Target,
    name: String,
    bytes: Vec<u8>,
    /// Whether the unmutated seed is read successfully (the truncation oracle
    /// applies only then).
    good: bool,
    /// For the calc reader: the seed's columns that hold numbers on every row.
    numeric: Vec<String>,
}

/// The first [`PREFIX_LINES`] lines of a file (gzip undone).
fn prefix(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut raw = Vec::new();
    let mut head = [0u8; 2];
    let mut reader: Box<dyn Read> = Box::new(std::io::BufReader::new(file));
    let n = reader.read(&mut head).ok()?;
    let chained = std::io::Cursor::new(head[..n].to_vec()).chain(reader);
    let reader: Box<dyn Read> = if head[..n] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(chained))
    } else {
        Box::new(chained)
    };
    // A gzip file cut short by the prefix is fine: what was decoded is kept.
    let _ = reader.take(PREFIX_BYTES as u64 * 4).read_to_end(&mut raw);
    if raw.is_empty() {
        return None;
    }
    let mut end = 0;
    for (lines, at) in memchr::memchr_iter(b'\n', &raw).enumerate() {
        end = at + 1;
        if lines + 1 >= PREFIX_LINES || end >= PREFIX_BYTES {
            break;
        }
    }
    if end == 0 {
        end = raw.len();
    }
    raw.truncate(end);
    Some(raw)
}

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.to_string_lossy().to_ascii_lowercase();
        name.ends_with(".csv") || name.ends_with(".csv.gz")
    });
    files.sort();
    files
}

const COUNTS: &str = "area,period,sex,age_band,numerator,denominator\n\
E01006074,2019,Persons,0-4,5,100\nE01006074,2019,Persons,5-9,7,120\n\
E01006075,2019,Male,0-4,3,90\nE01006075,2019/20,Female,90+,11,40\n\
W01000001,2019,Persons,0-4,1,10\n";

const POSTCODES: &str = "pcd,pcds,lsoa11,lsoa21,lat,long\n\
M1  2AB,M1 2AB,E01005209,E01033658,53.4781,-2.2367\n\
WA141AA,WA14 1AA,E01006074,E01006074,53.3871,-2.3531\n\
CF101AA,CF10 1AA,W01001939,W01001939,51.48,-3.18\n\
ZZ991ZZ,ZZ99 1ZZ,,,99.999999,0\n";

fn fhir_seed() -> Vec<u8> {
    use syndemic_hub::need::{ConsentMethod, LawfulBasis, Need, RiskFlag, Urgency};
    use syndemic_hub::person::Person;
    use syndemic_hub::referral::{Consent, Draft};
    let draft = Draft {
        person: Person {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            date_of_birth: Some("1950-12-10".into()),
            nhs_number: Some("9434765919".into()),
            phone: "01632 960000".into(),
            address: "1 Mill Lane, Hartmoor".into(),
            postcode: "HM1 2AB".into(),
            ..Person::default()
        },
        needs: vec![Need::ColdHome, Need::Respiratory],
        urgency: Urgency::Soon,
        note: "Damp bedroom".into(),
        consent: Consent {
            basis: LawfulBasis::Consent,
            given_by: "Ada Lovelace".into(),
            given_on: "2026-11-30".into(),
            method: Some(ConsentMethod::Verbal),
            sharing: "Hub and warm homes services".into(),
        },
        flags: vec![RiskFlag::Dog],
    };
    let env = syndemic_hub::fhir::Envelope {
        referral_id: "R-1".into(),
        authored_on: "2026-12-01T10:00:00Z".into(),
        status: "active",
        requester: "Hartmoor Surgery".into(),
    };
    serde_json::to_vec_pretty(&syndemic_hub::fhir::to_bundle(&env, &draft)).unwrap_or_default()
}

/// Every seed, from the shared folder and from here.
fn seeds(shared: &Path) -> Vec<Seed> {
    let data = shared.join("data");
    let mut out: Vec<(Target, String, Vec<u8>)> = Vec::new();
    let mut add = |target: Target, path: PathBuf| {
        if let Some(bytes) = prefix(&path) {
            let name = path
                .strip_prefix(shared)
                .unwrap_or(&path)
                .display()
                .to_string();
            out.push((target, name, bytes));
        }
    };
    for f in csv_files(&shared.join("reference/phe")) {
        add(Target::Calc, f);
    }
    let mut fingertips = csv_files(&data.join("fingertips-lambeth"));
    fingertips.truncate(6);
    fingertips.push(data.join("fingertips-data-dev/indicators-CountyUA.data.csv"));
    fingertips.push(data.join("fingertips-api-data-csv-93553-gp/indicator-data.csv"));
    for f in &fingertips {
        add(Target::Fingertips, f.clone());
        add(Target::Calc, f.clone());
        add(Target::SheetCsv, f.clone());
    }
    for f in [
        "ons-lookups-jtrim/LSOA11_to_WD19_LAD19_lookup_EW.csv",
        "ons-lookups-jtrim/LTLA19_to_UTLA19_lookup_EW.csv",
        "boundaries-geo-lookups/lookups/la_all_codes.csv",
        "boundaries-geo-lookups/lookups/rgn_all_codes.csv",
    ] {
        add(Target::Lookups, data.join(f));
    }
    for dir in [
        "ons-lsoa21-ward24-lad24",
        "ons-lsoa11-lsoa21-lad22-exactfit",
        "ons-msoa21-lad23",
    ] {
        for f in csv_files(&data.join(dir)).into_iter().take(2) {
            add(Target::Lookups, f);
        }
    }
    for f in [
        "iod-humaniverse-IMD/imd2025_england_lsoa21.csv",
        "iod2019-energy_flex/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz",
        "iod2019-energy_flex/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz",
        "iod2019-energy_flex/File_6_-_IoD2019_Population_Denominators.csv.gz",
    ] {
        add(Target::Imd, data.join(f));
    }
    for f in [
        "trafford-mye-lsoa-syoa/mid-year_2020_population_estimates_lsoa.csv",
        "trafford-open-data/census2021_population_5yr_age_bands_lsoa_trafford.csv",
        "trafford-census2021-lsoa/2021_population_by_sex_and_age_lsoa_trafford.csv",
    ] {
        add(Target::Population, data.join(f));
    }
    let mut oruk: Vec<PathBuf> = Vec::new();
    for dir in [
        "hsds-3.0/examples",
        "oruk-3.0/examples",
        "oruk-validator-mocks",
    ] {
        if let Ok(entries) = std::fs::read_dir(shared.join("reference/openreferral").join(dir)) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "json")
                    && e.metadata().is_ok_and(|m| m.len() < 64 << 10)
                {
                    oruk.push(p);
                }
            }
        }
    }
    oruk.sort();
    for p in oruk.into_iter().take(12) {
        if let Ok(bytes) = std::fs::read(&p) {
            out.push((Target::Oruk, p.display().to_string(), bytes));
        }
    }
    out.push((
        Target::Counts,
        "counts (written here)".into(),
        COUNTS.into(),
    ));
    out.push((
        Target::Postcodes,
        "postcodes (written here)".into(),
        POSTCODES.into(),
    ));
    out.push((
        Target::Fhir,
        "FHIR bundle (written here)".into(),
        fhir_seed(),
    ));
    // Workbooks made from CSV prefixes, so that the XLSX reader sees real cells.
    let sheets: Vec<(String, Vec<u8>)> = out
        .iter()
        .filter(|(t, _, _)| *t == Target::SheetCsv)
        .take(3)
        .map(|(_, n, b)| (n.clone(), b.clone()))
        .collect();
    for (name, csv) in sheets {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("s.xlsx");
        if syndemic_import::write_xlsx(&csv, &path).is_ok() {
            if let Ok(bytes) = std::fs::read(&path) {
                out.push((Target::SheetXlsx, format!("{name} as XLSX"), bytes));
            }
        }
    }
    out.into_iter()
        .map(|(target, name, bytes)| Seed {
            target,
            name,
            bytes,
            good: false,
            numeric: Vec::new(),
        })
        .collect()
}

const ODD_NUMBERS: &[&str] = &[
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e-320",
    "-0",
    "-1",
    "-99999",
    "0x1F",
    "1,2",
    "1.2.3",
    "99999999999999999999999",
    "1e15",
    "1e-15",
    "5e-324",
    "",
    " ",
    "NA",
    "..",
    "+",
    "-",
    "1e",
    "١٢",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    Truncate,
    FlipBytes,
    LineEnds,
    Quote,
    HugeField,
    OddNumber,
    DuplicateColumn,
    DeleteRange,
    DuplicateLine,
    StrayBytes,
}

const MUTATIONS: [Mutation; 10] = [
    Mutation::Truncate,
    Mutation::FlipBytes,
    Mutation::LineEnds,
    Mutation::Quote,
    Mutation::HugeField,
    Mutation::OddNumber,
    Mutation::DuplicateColumn,
    Mutation::DeleteRange,
    Mutation::DuplicateLine,
    Mutation::StrayBytes,
];

/// Applies `m` to `bytes`. For a truncation, also says whether the cut lands inside
/// a data row leaving it fewer fields than it had (then the input must be refused).
fn mutate(rng: &mut Rng, m: Mutation, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut b = bytes.to_vec();
    let len = b.len();
    match m {
        Mutation::Truncate => {
            if len < 2 {
                return (Vec::new(), false);
            }
            let cut = 1 + rng.below(len - 1);
            b.truncate(cut);
            let short = cut_leaves_a_short_row(bytes, cut);
            return (b, short);
        }
        Mutation::FlipBytes => {
            for _ in 0..1 + rng.below(4) {
                if !b.is_empty() {
                    let at = rng.below(b.len());
                    b[at] = rng.next() as u8;
                }
            }
        }
        Mutation::LineEnds => {
            let text = std::mem::take(&mut b);
            b = match rng.below(3) {
                0 => text
                    .iter()
                    .filter(|&&c| c != b'\r')
                    .map(|&c| if c == b'\n' { b'\r' } else { c })
                    .collect(),
                1 => text.iter().filter(|&&c| c != b'\r').copied().collect(),
                _ => {
                    let mut out = Vec::with_capacity(text.len() * 2);
                    for &c in text.iter().filter(|&&c| c != b'\r') {
                        if c == b'\n' {
                            out.push(b'\r');
                        }
                        out.push(c);
                    }
                    out
                }
            };
        }
        Mutation::Quote => {
            let at = rng.below(len + 1);
            b.insert(at, b'"');
        }
        Mutation::HugeField => {
            let at = rng.below(len + 1);
            let n = (64 << 10) + rng.below(960 << 10);
            let fill = [b'x', b'9', b',', b'"'][rng.below(4)];
            b.splice(at..at, std::iter::repeat_n(fill, n));
        }
        Mutation::OddNumber => {
            let digits: Vec<usize> = (0..len).filter(|&i| b[i].is_ascii_digit()).collect();
            if !digits.is_empty() {
                let mut start = digits[rng.below(digits.len())];
                while start > 0 && (b[start - 1].is_ascii_digit() || b[start - 1] == b'.') {
                    start -= 1;
                }
                let mut end = start;
                while end < len && (b[end].is_ascii_digit() || b[end] == b'.') {
                    end += 1;
                }
                let odd = ODD_NUMBERS[rng.below(ODD_NUMBERS.len())];
                b.splice(start..end, odd.bytes());
            }
        }
        Mutation::DuplicateColumn => {
            let header_end = memchr::memchr(b'\n', &b).unwrap_or(len);
            let header = String::from_utf8_lossy(&b[..header_end]).into_owned();
            let mut names: Vec<String> = header.split(',').map(str::to_owned).collect();
            if names.len() >= 2 {
                let from = rng.below(names.len());
                let mut to = rng.below(names.len());
                if to == from {
                    to = (to + 1) % names.len();
                }
                names[to] = names[from].trim_end_matches('\r').to_owned();
                if header.ends_with('\r') && to == names.len() - 1 {
                    names[to].push('\r');
                }
                b.splice(..header_end, names.join(",").into_bytes());
            }
        }
        Mutation::DeleteRange => {
            if len > 0 {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                b.drain(start..end);
            }
        }
        Mutation::DuplicateLine => {
            let ends: Vec<usize> = memchr::memchr_iter(b'\n', &b).collect();
            if ends.len() >= 2 {
                let i = rng.below(ends.len() - 1);
                let line = b[ends[i] + 1..ends[i + 1] + 1].to_vec();
                let at = ends[rng.below(ends.len())] + 1;
                b.splice(at..at, line);
            }
        }
        Mutation::StrayBytes => {
            let stray: &[&[u8]] = &[
                b"\0",
                b"\xef\xbb\xbf",
                b"\xff\xfe",
                b"\xc3",
                b"\r",
                b"\n\n",
                b",",
                b"\x1f\x8b",
            ];
            let at = rng.below(len + 1);
            b.splice(at..at, stray[rng.below(stray.len())].iter().copied());
        }
    }
    (b, false)
}

/// Whether cutting `bytes` at `cut` leaves a data row (not the header, nor the
/// first data row, whose width a short layout may set) with fewer fields than it
/// had: fewer commas outside quotes (rows holding no line break in a field).
fn cut_leaves_a_short_row(bytes: &[u8], cut: usize) -> bool {
    if !bytes.is_ascii() {
        return false;
    }
    let line_start = bytes[..cut]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let line_index = bytes[..line_start].iter().filter(|&&c| c == b'\n').count();
    if line_index < 2 {
        return false;
    }
    let line_end =
        memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |e| line_start + e);
    let whole = &bytes[line_start..line_end];
    let kept = &bytes[line_start..cut];
    let commas = |s: &[u8]| {
        let mut quoted = false;
        s.iter()
            .filter(|&&c| {
                if c == b'"' {
                    quoted = !quoted;
                }
                c == b',' && !quoted
            })
            .count()
    };
    !kept.iter().all(|c| c.is_ascii_whitespace()) && commas(kept) < commas(whole)
}

/// What one case came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Read,
    Refused,
}

/// Reads `bytes` as `target` would, in-process.
fn read(
    target: Target,
    bytes: &[u8],
    numeric: &[String],
    scratch: &Path,
    store: &SqlStore,
    rt: &tokio::runtime::Runtime,
) -> Outcome {
    let ok = |r: bool| if r { Outcome::Read } else { Outcome::Refused };
    match target {
        Target::Calc => ok(read_calc(bytes, numeric)),
        Target::Oruk => ok(serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .is_some_and(|v| syndemic_hub::oruk::Feed::parse(&v).is_ok())),
        Target::Fhir => ok(serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .is_some_and(|v| syndemic_hub::fhir::from_bundle(&v).is_ok())),
        Target::SheetCsv | Target::SheetXlsx => {
            ok(syndemic_partnership::layout::Sheet::read("fuzz", bytes).is_ok())
        }
        _ => {
            let path = scratch.join(if target == Target::SheetXlsx {
                "in.xlsx"
            } else {
                "in.csv"
            });
            if std::fs::write(&path, bytes).is_err() {
                return Outcome::Refused;
            }
            let result = rt.block_on(async {
                use syndemic_import::*;
                match target {
                    Target::Fingertips => import_fingertips(store, &path).await,
                    Target::Lookups => {
                        import_lookups(store, &path, &LookupOptions::default()).await
                    }
                    Target::Imd => import_imd(store, &path).await,
                    Target::Counts => import_counts(store, &path, "fuzz").await,
                    Target::Postcodes => import_postcodes(store, &path).await,
                    _ => import_population(store, &path, "fuzz").await,
                }
            });
            ok(result.is_ok())
        }
    }
}

/// The `calc` reader: the header, every block row by row, and the columns a method
/// would take (the seed's numeric columns as numbers, the first as keys).
fn read_calc(bytes: &[u8], numeric: &[String]) -> bool {
    let Ok(prep) = table::prepare(Input::Owned(bytes.to_vec()), "fuzz".into()) else {
        return false;
    };
    let n = prep.headers.len();
    if !prep.quoted {
        for range in &prep.blocks {
            if table::visit_rows(&prep.data, range.clone(), n, |_, _| Ok(())).is_err() {
                return false;
            }
        }
    }
    let wanted = Wanted {
        numeric: numeric.to_vec(),
        keys: vec![vec![prep.headers[0].clone()]],
        keep_rows: true,
    };
    table::parse(prep.data, prep.source, &wanted).is_ok()
}

/// The columns of a calc seed that read as numbers on every row (at most three).
fn numeric_columns(bytes: &[u8]) -> Vec<String> {
    let Ok(prep) = table::prepare(Input::Owned(bytes.to_vec()), "fuzz".into()) else {
        return Vec::new();
    };
    prep.headers
        .iter()
        .filter(|h| {
            let wanted = Wanted {
                numeric: vec![(*h).clone()],
                keys: vec![],
                keep_rows: false,
            };
            table::parse(Input::Owned(bytes.to_vec()), "fuzz".into(), &wanted)
                .is_ok_and(|p| p.numeric[0].iter().any(Option::is_some))
        })
        .take(3)
        .cloned()
        .collect()
}

/// Peak resident memory of this process, from `/proc/self/status` (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

async fn fresh_store(dir: &Path, n: usize) -> SqlStore {
    let path = dir.join(format!("fuzz-{n}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    SqlStore::connect(&StoreUrl::Sqlite(path.display().to_string()))
        .await
        .expect("a scratch store")
}

#[test]
fn fuzz_every_reader_with_mutated_real_files() {
    let Some(shared) = syndemic_testkit::shared_dir("fuzz_every_reader_with_mutated_real_files")
    else {
        return;
    };
    let cases = env_u64("SYNDEMIC_FUZZ_CASES").unwrap_or(300);
    let seed = env_u64("SYNDEMIC_FUZZ_SEED").unwrap_or(17);
    let only = env_u64("SYNDEMIC_FUZZ_ONLY");
    // Scratch files in memory where there is a tmpfs: the importers' commits are then
    // cheap.
    let base = Path::new("/dev/shm");
    let scratch = if base.is_dir() {
        tempfile::tempdir_in(base)
    } else {
        tempfile::tempdir()
    }
    .expect("a scratch folder");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut stores = 0;
    let mut store = rt.block_on(fresh_store(scratch.path(), stores));
    let mut seeds = seeds(&shared);
    assert!(seeds.len() >= 20, "only {} seeds", seeds.len());
    for s in &mut seeds {
        if s.target == Target::Calc {
            s.numeric = numeric_columns(&s.bytes);
        }
        s.good = read(s.target, &s.bytes, &s.numeric, scratch.path(), &store, &rt) == Outcome::Read;
    }
    let unread: Vec<&str> = seeds
        .iter()
        .filter(|s| !s.good && s.target != Target::Oruk)
        .map(|s| s.name.as_str())
        .collect();
    eprintln!(
        "fuzz: {} seeds ({} not read whole even unmutated: {unread:?}), {cases} cases, seed {seed}",
        seeds.len(),
        unread.len()
    );
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let mut failures: Vec<String> = Vec::new();
    let mut by_target: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    // SYNDEMIC_FUZZ_FROM shards a long run over processes: cases FROM..FROM+CASES.
    let first = env_u64("SYNDEMIC_FUZZ_FROM").unwrap_or(0);
    let (from, to) = match only {
        Some(c) => (c, c + 1),
        None => (first, first + cases),
    };
    let failures_dir = std::env::temp_dir().join("syndemic-fuzz-failures");
    for case in from..to {
        if case > from && (case - from) % 50_000 == 0 {
            eprintln!(
                "fuzz: {} cases in {:.0} s, {} failures",
                case - from,
                started.elapsed().as_secs_f64(),
                failures.len()
            );
        }
        let mut rng = Rng::new(seed, case);
        let s = &seeds[rng.below(seeds.len())];
        let m = MUTATIONS[rng.below(MUTATIONS.len())];
        let (input, must_refuse) = mutate(&mut rng, m, &s.bytes);
        if s.target.is_import() && case % 400 == 0 {
            stores += 1;
            store = rt.block_on(fresh_store(scratch.path(), stores));
            let _ = std::fs::remove_file(scratch.path().join(format!("fuzz-{}.db", stores - 1)));
        }
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            read(s.target, &input, &s.numeric, scratch.path(), &store, &rt)
        }));
        let took = t0.elapsed();
        let entry = by_target.entry(format!("{:?}", s.target)).or_default();
        entry.0 += 1;
        let problem = match &outcome {
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("?")
            )),
            Ok(_) if took > SLOW => Some(format!("took {took:?}")),
            Ok(Outcome::Read) if must_refuse && s.good && s.target.refuses_short_rows() => {
                Some("a file cut inside a data row was read as if whole".into())
            }
            Ok(Outcome::Read) => {
                entry.1 += 1;
                None
            }
            Ok(Outcome::Refused) => None,
        };
        if let Some(problem) = problem {
            let _ = std::fs::create_dir_all(&failures_dir);
            let saved = failures_dir.join(format!("seed{seed}-case{case}"));
            let _ = std::fs::write(&saved, &input);
            failures.push(format!(
                "case {case} ({:?} of {}, {m:?}): {problem}; input saved as {}; reproduce with SYNDEMIC_FUZZ_SEED={seed} SYNDEMIC_FUZZ_ONLY={case}",
                s.target,
                s.name,
                saved.display()
            ));
            if failures.len() >= 20 {
                break;
            }
        }
    }
    std::panic::set_hook(quiet);
    let elapsed = started.elapsed();
    let peak = peak_rss();
    eprintln!(
        "fuzz: {} cases in {:.1} s ({:.0} a second), peak RSS {} MB, {} failures; per target (cases, read whole): {by_target:?}",
        to - from,
        elapsed.as_secs_f64(),
        (to - from) as f64 / elapsed.as_secs_f64().max(1e-9),
        peak.map_or(0, |p| p >> 20),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if let Some(peak) = peak {
        assert!(peak < PEAK_BYTES, "peak RSS {} MB", peak >> 20);
    }
}

#[test]
fn truncation_oracle_knows_a_short_row() {
    let text = b"a,b,c\n1,2,3\n4,5,6\n";
    assert!(
        !cut_leaves_a_short_row(text, 8),
        "the first data row sets a layout"
    );
    assert!(cut_leaves_a_short_row(text, 14), "4,5 of 4,5,6");
    assert!(
        !cut_leaves_a_short_row(text, 17),
        "4,5,6 cut inside its last field"
    );
    assert!(!cut_leaves_a_short_row(text, 12), "cut at a line end");
    let quoted = b"a,b,c\n\"1\",\"2\",\"3\"\n\"4,5\",\"6\",\"7\"\n";
    assert!(
        cut_leaves_a_short_row(quoted, 25),
        "a comma in quotes is no field"
    );
}

//! Test support shared by the crates' integration tests: where the reference data
//! lives, reading its CSV files, and comparing numbers to a tolerance.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The shared reference folder: `$SYNDEMIC_SHARED_DIR`, or `../shared` beside the
/// repository. Returns `None` (after saying which test is skipped) when it is absent;
/// panics instead when `SYNDEMIC_REQUIRE_SHARED=1`, so that CI cannot skip silently.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("SYNDEMIC_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if dir.join("reference").is_dir() {
        return Some(dir);
    }
    if std::env::var("SYNDEMIC_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "{test}: the shared reference folder {} is missing and SYNDEMIC_REQUIRE_SHARED=1",
            dir.display()
        );
    }
    eprintln!(
        "skipped: {test}: shared reference folder {} not found",
        dir.display()
    );
    None
}

/// One CSV row, by column name.
pub type Record = HashMap<String, String>;

/// Reads a CSV file (gzip not supported) into records.
pub fn read_csv(path: &Path) -> Vec<Record> {
    // Published exports sometimes drop trailing empty fields: read flexibly and treat
    // a missing field as empty.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.expect("CSV row");
            headers
                .iter()
                .enumerate()
                .map(|(i, h)| (h.clone(), r.get(i).unwrap_or("").to_string()))
                .collect()
        })
        .collect()
}

/// A cell as a number: `None` for empty or `NA`.
pub fn num(record: &Record, column: &str) -> Option<f64> {
    let text = record
        .get(column)
        .unwrap_or_else(|| panic!("no column {column} in {record:?}"));
    let text = text.trim();
    if text.is_empty() || text == "NA" {
        None
    } else {
        Some(
            text.replace(',', "")
                .parse()
                .unwrap_or_else(|_| panic!("column {column}: {text} is not a number")),
        )
    }
}

/// True when `actual` is within `rel` relative (or `abs` absolute) of `expected`;
/// both missing also agree.
pub fn agrees(actual: Option<f64>, expected: Option<f64>, rel: f64, abs: f64) -> bool {
    match (actual, expected) {
        (None, None) => true,
        (Some(a), Some(e)) => (a - e).abs() <= abs.max(rel * e.abs()),
        _ => false,
    }
}

/// Asserts agreement with a message naming the case.
#[track_caller]
pub fn assert_agrees(what: &str, actual: Option<f64>, expected: Option<f64>, rel: f64) {
    assert!(
        agrees(actual, expected, rel, 0.0),
        "{what}: got {actual:?}, expected {expected:?} (relative tolerance {rel})"
    );
}

/// The stores a storage test runs against: always a fresh SQLite file in `dir`, and
/// PostgreSQL in a schema of its own (named after the test, dropped first) when
/// `SYNDEMIC_TEST_POSTGRES_URL` is set. Without the variable the PostgreSQL run says
/// it was skipped, by name.
pub async fn stores(test: &str, dir: &Path) -> Vec<syndemic_store::SqlStore> {
    use syndemic_store::{SqlStore, StoreUrl};
    let sqlite = StoreUrl::Sqlite(dir.join(format!("{test}.db")).display().to_string());
    let mut out = vec![SqlStore::connect(&sqlite)
        .await
        .unwrap_or_else(|e| panic!("{test}: {e}"))];
    match std::env::var("SYNDEMIC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let url = StoreUrl::parse(&url).expect("SYNDEMIC_TEST_POSTGRES_URL");
            let schema = schema_of(test);
            out.push(
                SqlStore::connect_fresh_schema(&url, &schema)
                    .await
                    .unwrap_or_else(|e| panic!("{test} on PostgreSQL: {e}")),
            );
        }
        _ => eprintln!("skipped: {test} on PostgreSQL: SYNDEMIC_TEST_POSTGRES_URL is not set"),
    }
    out
}

/// The `--db` values a command-line test runs against: a fresh SQLite file in
/// `dir`, and, when `SYNDEMIC_TEST_POSTGRES_URL` is set, PostgreSQL in a fresh
/// schema of its own (named after the test, dropped first), reached through the
/// URL's `options=-c search_path=…` so that every connection the command opens works
/// in it. Without the variable the PostgreSQL run says it was skipped, by name.
pub async fn database_urls(test: &str, dir: &Path) -> Vec<String> {
    let stores = stores(test, dir).await;
    let mut urls = vec![dir.join(format!("{test}.db")).display().to_string()];
    for store in stores {
        let postgres = store.backend_name() == "postgres";
        store.close().await;
        if postgres {
            let base = std::env::var("SYNDEMIC_TEST_POSTGRES_URL").expect("set: a store was made");
            let separator = if base.contains('?') { '&' } else { '?' };
            urls.push(format!(
                "{base}{separator}options=-c%20search_path%3D{}",
                schema_of(test)
            ));
        }
    }
    urls
}

/// The PostgreSQL schema of a test: its name, lower case, `_` for anything else.
fn schema_of(test: &str) -> String {
    format!("test_{test}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A `syndemic serve` (or `demo`) process on a free local port, stopped when
/// dropped: `bin` is the test's `env!("CARGO_BIN_EXE_syndemic")`, `args` the
/// command and its flags without `--port`.
pub struct Served {
    pub port: u16,
    child: std::process::Child,
}

impl Served {
    /// Starts the server and waits (up to a minute) until it accepts connections.
    pub fn start(bin: &str, args: &[&str]) -> Served {
        Served::start_with(bin, args, &[])
    }

    /// [`Served::start`] with these environment variables set for the server.
    pub fn start_with(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Served {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .expect("a free local port")
            .port();
        let child = std::process::Command::new(bin)
            .args(args)
            .args(["--port", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the server");
        let mut served = Served { port, child };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = served.child.try_wait() {
                panic!("the server stopped before it served ({status}): {args:?}");
            }
            assert!(started.elapsed().as_secs() < 60, "the server did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        served
    }

    /// A plain HTTP/1.1 GET: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (
            head.split_whitespace().nth(1).unwrap().parse().unwrap(),
            body.to_owned(),
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! [`SqlStore`]: the store on SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! The queries are written once, in the SQL both databases share (`$n`
//! placeholders, `ON CONFLICT … DO UPDATE`); what differs — column types, identity
//! columns, connection settings — lives in each backend's migrations and in
//! [`SqlStore::connect`].

mod evidence;
mod evidence_tx;

use std::path::Path;

use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use syndemic_model::{AreaCode, AreaType, Level, Period};

use crate::{
    Area, AreaCount, AreaInfo, AreaLink, Boundary, ComputeRun, Correspondence, CountRow,
    Deprivation, Disclosure, ImportRecord, Indicator, Observation, ParentInfo, Polarity,
    Population, PostcodeRecord, Result, Store, StoreError, StoreTx,
};

/// Where the store lives, as given to `--db`.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(String),
    Postgres(String),
}

impl std::fmt::Debug for StoreUrl {
    // A PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl StoreUrl {
    /// `sqlite:FILE`, `sqlite://FILE`, `postgres://…`, `postgresql://…`, or a bare
    /// file path (SQLite).
    pub fn parse(text: &str) -> Result<StoreUrl> {
        let text = text.trim();
        if text.is_empty() {
            return Err(StoreError::BadUrl(text.to_owned()));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(text.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(StoreError::BadUrl(text.to_owned()));
            }
            return Ok(StoreUrl::Sqlite(path.to_owned()));
        }
        if text.contains("://") {
            return Err(StoreError::BadUrl(text.to_owned()));
        }
        Ok(StoreUrl::Sqlite(text.to_owned()))
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Sqlite(path) => format!("sqlite:{path}"),
            StoreUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let userinfo = &url[scheme + 3..at];
                    match userinfo.split_once(':') {
                        Some((user, _)) => {
                            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                        }
                        None => url.clone(),
                    }
                }
                _ => url.clone(),
            },
        }
    }
}

/// The store on a pool of database connections.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// The channel to the referral hub's group-commit writer on SQLite, started
    /// on first use and stopped by [`SqlStore::close`].
    pub(crate) batch:
        std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Sender<crate::hub::Pending>>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "evidence",
        sqlite: include_str!("../../migrations/sqlite/0001_evidence.sql"),
        postgres: include_str!("../../migrations/postgres/0001_evidence.sql"),
    },
    Migration {
        version: 2,
        name: "compute",
        sqlite: include_str!("../../migrations/sqlite/0002_compute.sql"),
        postgres: include_str!("../../migrations/postgres/0002_compute.sql"),
    },
    Migration {
        version: 3,
        name: "comparisons",
        sqlite: include_str!("../../migrations/sqlite/0003_comparisons.sql"),
        postgres: include_str!("../../migrations/postgres/0003_comparisons.sql"),
    },
    Migration {
        version: 4,
        name: "places",
        sqlite: include_str!("../../migrations/sqlite/0004_places.sql"),
        postgres: include_str!("../../migrations/postgres/0004_places.sql"),
    },
    Migration {
        version: 5,
        name: "counts",
        sqlite: include_str!("../../migrations/sqlite/0005_counts.sql"),
        postgres: include_str!("../../migrations/postgres/0005_counts.sql"),
    },
    Migration {
        version: 6,
        name: "correspondence",
        sqlite: include_str!("../../migrations/sqlite/0006_correspondence.sql"),
        postgres: include_str!("../../migrations/postgres/0006_correspondence.sql"),
    },
    Migration {
        version: 7,
        name: "indicator domain",
        sqlite: include_str!("../../migrations/sqlite/0007_indicator_domain.sql"),
        postgres: include_str!("../../migrations/postgres/0007_indicator_domain.sql"),
    },
    Migration {
        version: 8,
        name: "hub",
        sqlite: include_str!("../../migrations/sqlite/0008_hub.sql"),
        postgres: include_str!("../../migrations/postgres/0008_hub.sql"),
    },
    Migration {
        version: 9,
        name: "partnership",
        sqlite: include_str!("../../migrations/sqlite/0009_partnership.sql"),
        postgres: include_str!("../../migrations/postgres/0009_partnership.sql"),
    },
    Migration {
        version: 10,
        name: "indicator metadata",
        sqlite: include_str!("../../migrations/sqlite/0010_indicator_metadata.sql"),
        postgres: include_str!("../../migrations/postgres/0010_indicator_metadata.sql"),
    },
    Migration {
        version: 11,
        name: "compute coverage",
        sqlite: include_str!("../../migrations/sqlite/0011_compute_coverage.sql"),
        postgres: include_str!("../../migrations/postgres/0011_compute_coverage.sql"),
    },
    Migration {
        version: 12,
        name: "sign-in hardening",
        sqlite: include_str!("../../migrations/sqlite/0012_sign_in.sql"),
        postgres: include_str!("../../migrations/postgres/0012_sign_in.sql"),
    },
    Migration {
        version: 13,
        name: "data protection",
        sqlite: include_str!("../../migrations/sqlite/0013_data_protection.sql"),
        postgres: include_str!("../../migrations/postgres/0013_data_protection.sql"),
    },
    Migration {
        version: 14,
        name: "outcome corrections",
        sqlite: include_str!("../../migrations/sqlite/0014_outcome_corrections.sql"),
        postgres: include_str!("../../migrations/postgres/0014_outcome_corrections.sql"),
    },
    Migration {
        version: 15,
        name: "notifications",
        sqlite: include_str!("../../migrations/sqlite/0015_notifications.sql"),
        postgres: include_str!("../../migrations/postgres/0015_notifications.sql"),
    },
    Migration {
        version: 16,
        name: "surveys",
        sqlite: include_str!("../../migrations/sqlite/0016_surveys.sql"),
        postgres: include_str!("../../migrations/postgres/0016_surveys.sql"),
    },
    Migration {
        version: 17,
        name: "pins",
        sqlite: include_str!("../../migrations/sqlite/0017_pins.sql"),
        postgres: include_str!("../../migrations/postgres/0017_pins.sql"),
    },
    Migration {
        version: 18,
        name: "community places",
        sqlite: include_str!("../../migrations/sqlite/0018_community_places.sql"),
        postgres: include_str!("../../migrations/postgres/0018_community_places.sql"),
    },
];

/// A statement that binds an `Option<f64>`: sqlx 0.8's `Any` driver binds a NULL `f64`
/// as a `float4`, and a statement PostgreSQL prepared with that type then rejects a
/// non-NULL `f64` in the same place ("incorrect binary data format"). Such a statement
/// is therefore never kept prepared on its connection; every one that can bind a NULL
/// float goes through here.
pub(crate) fn nullable_floats(sql: &str) -> Query<'_, Any, AnyArguments<'_>> {
    sqlx::query(sql).persistent(false)
}

pub(crate) fn sql_error(doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Sql { doing, source }
}

impl SqlStore {
    /// Opens (creating if need be) the store and brings its schema up to date.
    pub async fn connect(url: &StoreUrl) -> Result<SqlStore> {
        SqlStore::connect_in_schema(url, None).await
    }

    /// As [`SqlStore::connect`], but on PostgreSQL every connection works in the
    /// given schema, created if absent: tests use one schema each so that they can
    /// run in parallel against one database. Ignored on SQLite.
    pub async fn connect_in_schema(url: &StoreUrl, schema: Option<&str>) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let open_error = |source| StoreError::Open {
            url: url.redacted(),
            source,
        };
        let (pool, backend) = match url {
            StoreUrl::Sqlite(path) => {
                if let Some(parent) = Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() && !parent.is_dir() {
                        return Err(StoreError::Open {
                            url: url.redacted(),
                            source: sqlx::Error::Configuration(
                                format!("the folder {} does not exist", parent.display()).into(),
                            ),
                        });
                    }
                }
                check_sqlite_file(path).map_err(|what| StoreError::Open {
                    url: url.redacted(),
                    source: sqlx::Error::Configuration(what.into()),
                })?;
                probe_sqlite(path).await.map_err(|e| StoreError::Open {
                    url: url.redacted(),
                    source: sqlx::Error::Configuration(
                        format!("{path} is a damaged SQLite database, or not one: {e}").into(),
                    ),
                })?;
                // Four for readers and other writers, one held by the referral
                // hub's group-commit writer once it starts.
                let pool = AnyPoolOptions::new()
                    .max_connections(5)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers work while an import writes; FULL makes a
                            // commit durable before it is acknowledged.
                            // A second writer (another import) waits its turn, for
                            // up to five minutes, instead of failing "database is
                            // locked"; set first, so that it covers the rest.
                            conn.execute("PRAGMA busy_timeout = 300000").await?;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // Deleted and overwritten content is zeroed in the file,
                            // so an erased person is not left in free space.
                            conn.execute("PRAGMA secure_delete = ON").await?;
                            Ok(())
                        })
                    })
                    .connect(&format!("sqlite://{path}?mode=rwc"))
                    .await
                    .map_err(open_error)?;
                (pool, Backend::Sqlite)
            }
            StoreUrl::Postgres(pg) => {
                if let Some(schema) = schema {
                    valid_schema(schema)?;
                    let setup = AnyPoolOptions::new()
                        .max_connections(1)
                        .connect(pg)
                        .await
                        .map_err(open_error)?;
                    setup
                        .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
                        .await
                        .map_err(open_error)?;
                    setup.close().await;
                }
                let search_path = schema.map(|s| format!("SET search_path TO \"{s}\""));
                let pool = AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(move |conn, _| {
                        let search_path = search_path.clone();
                        Box::pin(async move {
                            if let Some(set) = search_path {
                                conn.execute(set.as_str()).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(pg)
                    .await
                    .map_err(open_error)?;
                (pool, Backend::Postgres)
            }
        };
        let store = SqlStore {
            pool,
            backend,
            batch: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// As [`SqlStore::connect_in_schema`] on PostgreSQL, after dropping the schema
    /// and everything in it: for tests, which each own one schema.
    pub async fn connect_fresh_schema(url: &StoreUrl, schema: &str) -> Result<SqlStore> {
        if let StoreUrl::Postgres(pg) = url {
            sqlx::any::install_default_drivers();
            let open_error = |source| StoreError::Open {
                url: url.redacted(),
                source,
            };
            valid_schema(schema)?;
            let setup = AnyPoolOptions::new()
                .max_connections(1)
                .connect(pg)
                .await
                .map_err(open_error)?;
            setup
                .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                .await
                .map_err(open_error)?;
            setup.close().await;
        }
        SqlStore::connect_in_schema(url, Some(schema)).await
    }

    /// Whether this is the embedded SQLite backend (`"sqlite"`) or PostgreSQL.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(sql_error("migrating"))?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY NOT NULL, name TEXT NOT NULL)",
        )
        .await
        .map_err(sql_error("creating the migration table"))?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migration")
            .fetch_all(&mut *conn)
            .await
            .map_err(sql_error("reading the migration table"))?;
        for migration in MIGRATIONS {
            if applied.contains(&migration.version) {
                continue;
            }
            let fail = |source| StoreError::Migration {
                version: migration.version,
                name: migration.name,
                source,
            };
            let script = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            let mut tx = self.tx().await?;
            // Another process may have applied it while this one waited for the lock.
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migration WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?;
            if done.is_some() {
                continue;
            }
            for statement in statements(script) {
                tx.execute(statement.as_str()).await.map_err(fail)?;
            }
            sqlx::query("INSERT INTO schema_migration (version, name) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish: first the
    /// group-commit writer's, which ends once the referrals already handed to it
    /// are committed and answered.
    pub async fn close(&self) {
        let writer = self.batch.lock().ok().and_then(|mut b| b.take());
        drop(writer);
        self.pool.close().await;
    }
}

/// Checks the file `--db` names before SQLite touches it: a new store is created
/// here, empty and readable by its owner only (0600; SQLite gives the WAL and
/// shared-memory files the same mode); an existing file must be a SQLite database
/// and, when it is not, is left as it is and described (a CSV, a gzip file, …).
/// A damaged database is refused by a first connection that reads its schema.
fn check_sqlite_file(path: &str) -> std::result::Result<(), String> {
    use std::io::Read;
    if path == ":memory:" {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create the store {path}: {e}")),
    }
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if head.is_empty() || head.starts_with(b"SQLite format 3\0") {
        return Ok(());
    }
    Err(format!(
        "{path} is not a syndemic store: it is {}; it was left as it is (give --db a new file name or an existing store)",
        describe_file(&head)
    ))
}

/// One connection that reads the schema: a damaged file fails here at once,
/// instead of each pooled connection failing until the pool gives up.
async fn probe_sqlite(path: &str) -> std::result::Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{path}?mode=rwc")).await?;
    conn.execute("PRAGMA busy_timeout = 300000").await?;
    conn.execute("SELECT count(*) FROM sqlite_master").await?;
    conn.close().await
}

/// What the first bytes of a file say it is, for a message.
fn describe_file(head: &[u8]) -> String {
    let kind = if head.starts_with(&[0x1f, 0x8b]) {
        "a gzip-compressed file"
    } else if head.starts_with(b"PK\x03\x04") {
        "a ZIP archive or Excel workbook"
    } else if head.starts_with(b"PAR1") {
        "a Parquet file"
    } else if head.starts_with(b"%PDF") {
        "a PDF document"
    } else if head.starts_with(b"PGDMP") {
        "a PostgreSQL dump (restore it with pg_restore)"
    } else if head.starts_with(b"SQLite format") {
        "a damaged SQLite database (its header is cut short)"
    } else if matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    ) {
        "a JSON file"
    } else if std::str::from_utf8(head).is_ok() || head.iter().all(|b| b.is_ascii()) {
        if head.contains(&b',') {
            "a text file (CSV?)"
        } else {
            "a text file"
        }
    } else {
        "a file of another kind"
    };
    kind.to_owned()
}

fn valid_schema(schema: &str) -> Result<()> {
    if !schema.is_empty()
        && schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(())
    } else {
        Err(StoreError::BadUrl(format!(
            "schema `{schema}`: use letters, digits and _"
        )))
    }
}

/// The statements of a migration script: split on `;` at line ends, comments
/// removed. The scripts hold no procedural code, so this is enough.
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        let line = line.split("--").next().unwrap_or_default().trim_end();
        if line.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column).map_err(sql_error("reading a row"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            StoreUrl::parse("syndemic.db").unwrap(),
            StoreUrl::Sqlite("syndemic.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:///tmp/x.db").unwrap(),
            StoreUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:x.db?mode=rwc").unwrap(),
            StoreUrl::Sqlite("x.db".into())
        );
        let pg = StoreUrl::parse("postgres://me:secret@host/db").unwrap();
        assert_eq!(pg.redacted(), "postgres://me:***@host/db");
        assert!(!format!("{pg:?}").contains("secret"));
        assert!(StoreUrl::parse("mysql://x").is_err());
        assert!(StoreUrl::parse("").is_err());
    }

    #[test]
    fn migration_statements_split() {
        let parts = statements("-- c\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x); -- t\n");
        assert_eq!(parts.len(), 2);
        assert!(parts[0].starts_with("CREATE TABLE a"));
    }
}

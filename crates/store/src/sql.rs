//! [`SqlStore`]: the store on SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! The queries are written once, in the SQL both databases share (`$n`
//! placeholders, `ON CONFLICT … DO UPDATE`); what differs — column types, identity
//! columns, connection settings — lives in each backend's migrations and in
//! [`SqlStore::connect`].

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
        sqlite: include_str!("../migrations/sqlite/0001_evidence.sql"),
        postgres: include_str!("../migrations/postgres/0001_evidence.sql"),
    },
    Migration {
        version: 2,
        name: "compute",
        sqlite: include_str!("../migrations/sqlite/0002_compute.sql"),
        postgres: include_str!("../migrations/postgres/0002_compute.sql"),
    },
    Migration {
        version: 3,
        name: "comparisons",
        sqlite: include_str!("../migrations/sqlite/0003_comparisons.sql"),
        postgres: include_str!("../migrations/postgres/0003_comparisons.sql"),
    },
    Migration {
        version: 4,
        name: "places",
        sqlite: include_str!("../migrations/sqlite/0004_places.sql"),
        postgres: include_str!("../migrations/postgres/0004_places.sql"),
    },
    Migration {
        version: 5,
        name: "counts",
        sqlite: include_str!("../migrations/sqlite/0005_counts.sql"),
        postgres: include_str!("../migrations/postgres/0005_counts.sql"),
    },
    Migration {
        version: 6,
        name: "correspondence",
        sqlite: include_str!("../migrations/sqlite/0006_correspondence.sql"),
        postgres: include_str!("../migrations/postgres/0006_correspondence.sql"),
    },
    Migration {
        version: 7,
        name: "indicator domain",
        sqlite: include_str!("../migrations/sqlite/0007_indicator_domain.sql"),
        postgres: include_str!("../migrations/postgres/0007_indicator_domain.sql"),
    },
    Migration {
        version: 8,
        name: "hub",
        sqlite: include_str!("../migrations/sqlite/0008_hub.sql"),
        postgres: include_str!("../migrations/postgres/0008_hub.sql"),
    },
    Migration {
        version: 9,
        name: "partnership",
        sqlite: include_str!("../migrations/sqlite/0009_partnership.sql"),
        postgres: include_str!("../migrations/postgres/0009_partnership.sql"),
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
                // Four for readers and other writers, one held by the referral
                // hub's group-commit writer once it starts.
                let pool = AnyPoolOptions::new()
                    .max_connections(5)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers work while an import writes; FULL makes a
                            // commit durable before it is acknowledged.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
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
            let mut tx = self.pool.begin().await.map_err(fail)?;
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

fn code_of(row: &AnyRow, column: &str) -> Result<AreaCode> {
    let text: String = row.try_get(column).map_err(sql_error("reading a code"))?;
    AreaCode::parse(&text).map_err(|_| StoreError::Corrupt {
        found: format!("`{text}` in {column}"),
        expected: "a GSS area code",
    })
}

fn period_of(row: &AnyRow) -> Result<Period> {
    let text: String = row
        .try_get("period")
        .map_err(sql_error("reading a period"))?;
    Period::parse(&text).map_err(|_| StoreError::Corrupt {
        found: format!("`{text}` in period"),
        expected: "a period",
    })
}

fn level_of(row: &AnyRow) -> Result<Level> {
    let text: String = row.try_get("level").map_err(sql_error("reading a level"))?;
    Level::from_key(&text).ok_or(StoreError::Corrupt {
        found: format!("`{text}` in level"),
        expected: "a geography level",
    })
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column).map_err(sql_error("reading a row"))
}

fn link_of(row: &AnyRow) -> Result<AreaLink> {
    Ok(AreaLink {
        child: code_of(row, "child")?,
        parent: code_of(row, "parent")?,
        level: level_of(row)?,
        vintage: get(row, "vintage")?,
    })
}

fn boundary_of(row: &AnyRow) -> Result<Boundary> {
    Ok(Boundary {
        code: code_of(row, "code")?,
        vintage: get(row, "vintage")?,
        geometry: get(row, "geometry")?,
        simplified: get(row, "simplified")?,
        bbox: [
            get(row, "min_lon")?,
            get(row, "min_lat")?,
            get(row, "max_lon")?,
            get(row, "max_lat")?,
        ],
    })
}

fn deprivation_of(row: &AnyRow) -> Result<Deprivation> {
    Ok(Deprivation {
        area: code_of(row, "area")?,
        edition: get(row, "edition")?,
        domain: get(row, "domain")?,
        rank: get(row, "rank")?,
        decile: get(row, "decile")?,
        score: get(row, "score")?,
    })
}

fn indicator_of(row: &AnyRow) -> Result<Indicator> {
    let polarity: Option<String> = get(row, "polarity")?;
    let disclosure_min: Option<f64> = get(row, "disclosure_min")?;
    let disclosure_max: Option<f64> = get(row, "disclosure_max")?;
    Ok(Indicator {
        id: get(row, "id")?,
        name: get(row, "name")?,
        definition: get(row, "definition")?,
        measure_type: get(row, "measure_type")?,
        multiplier: get(row, "multiplier")?,
        polarity: match polarity {
            Some(text) => Some(Polarity::from_key(&text).ok_or(StoreError::Corrupt {
                found: format!("`{text}` in polarity"),
                expected: "a polarity",
            })?),
            None => None,
        },
        unit: get(row, "unit")?,
        source: get(row, "source")?,
        licence: get(row, "licence")?,
        domain: get(row, "domain")?,
        disclosure: match (disclosure_min, disclosure_max) {
            (Some(min), Some(max)) => Some(Disclosure { min, max }),
            _ => None,
        },
    })
}

const OBSERVATION_COLUMNS: &str = "o.indicator, o.area, o.period, o.sex, o.age, o.category_type, o.category, o.count, o.denominator, o.value, o.lower95, o.upper95, o.lower998, o.upper998, o.note, o.compared_to_england, o.compared_to_parent, o.recent_trend";

fn observation_of(row: &AnyRow) -> Result<Observation> {
    Ok(Observation {
        indicator: get(row, "indicator")?,
        area: code_of(row, "area")?,
        period: period_of(row)?,
        sex: get(row, "sex")?,
        age: get(row, "age")?,
        category_type: get(row, "category_type")?,
        category: get(row, "category")?,
        count: get(row, "count")?,
        denominator: get(row, "denominator")?,
        value: get(row, "value")?,
        lower95: get(row, "lower95")?,
        upper95: get(row, "upper95")?,
        lower998: get(row, "lower998")?,
        upper998: get(row, "upper998")?,
        note: get(row, "note")?,
        compared_to_england: get(row, "compared_to_england")?,
        compared_to_parent: get(row, "compared_to_parent")?,
        recent_trend: get(row, "recent_trend")?,
    })
}

#[async_trait]
impl Store for SqlStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        let tx = self
            .pool
            .begin()
            .await
            .map_err(sql_error("starting a transaction"))?;
        Ok(Box::new(SqlTx {
            tx,
            backend: self.backend,
        }))
    }

    async fn area(&self, code: AreaCode) -> Result<Option<AreaInfo>> {
        let row = sqlx::query("SELECT code, name, no_known_parent FROM area WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(sql_error("reading an area"))?;
        let Some(row) = row else { return Ok(None) };
        let vintages: Vec<String> =
            sqlx::query_scalar("SELECT vintage FROM area_vintage WHERE code = $1 ORDER BY vintage")
                .bind(code.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(sql_error("reading an area's vintages"))?;
        let no_known_parent: i64 = get(&row, "no_known_parent")?;
        Ok(Some(AreaInfo {
            area: Area {
                code,
                name: get(&row, "name")?,
                no_known_parent: no_known_parent != 0,
            },
            area_type: code.area_type(),
            vintages,
        }))
    }

    async fn areas_of_type(&self, area_type: AreaType) -> Result<Vec<Area>> {
        let rows = sqlx::query(
            "SELECT code, name, no_known_parent FROM area WHERE area_type = $1 ORDER BY code",
        )
        .bind(area_type.key())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading areas"))?;
        rows.iter()
            .map(|row| {
                Ok(Area {
                    code: code_of(row, "code")?,
                    name: get(row, "name")?,
                    no_known_parent: get::<i64>(row, "no_known_parent")? != 0,
                })
            })
            .collect()
    }

    async fn parents(&self, code: AreaCode) -> Result<Vec<ParentInfo>> {
        let rows = sqlx::query(
            "SELECT l.child, l.parent, l.level, l.vintage, a.name FROM area_link l \
             JOIN area a ON a.code = l.parent WHERE l.child = $1 ORDER BY l.level, l.vintage",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading an area's parents"))?;
        let mut out: Vec<ParentInfo> = rows
            .iter()
            .map(|row| {
                Ok(ParentInfo {
                    link: link_of(row)?,
                    name: get(row, "name")?,
                })
            })
            .collect::<Result<_>>()?;
        out.sort_by_key(|p| (p.link.level, p.link.vintage.clone()));
        Ok(out)
    }

    async fn children(&self, parent: AreaCode, vintage: Option<&str>) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT child, parent, level, vintage FROM area_link \
             WHERE parent = $1 AND ($2 IS NULL OR vintage = $2) ORDER BY child",
        )
        .bind(parent.as_str())
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading an area's children"))?;
        rows.iter().map(link_of).collect()
    }

    async fn all_links(&self) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT child, parent, level, vintage FROM area_link ORDER BY parent, child, level, vintage",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading links"))?;
        rows.iter().map(link_of).collect()
    }

    async fn links(&self, level: Level, vintage: &str) -> Result<Vec<AreaLink>> {
        let rows = sqlx::query(
            "SELECT child, parent, level, vintage FROM area_link \
             WHERE level = $1 AND vintage = $2 ORDER BY child",
        )
        .bind(level.key())
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading links"))?;
        rows.iter().map(link_of).collect()
    }

    async fn correspondences(&self, from: &str) -> Result<Vec<Correspondence>> {
        // Stored one way round (earlier vintage first); read either way.
        let rows = sqlx::query(
            "SELECT source, source_vintage, target, target_vintage FROM area_correspondence \
             WHERE source_vintage = $1 \
             UNION ALL SELECT target, target_vintage, source, source_vintage \
             FROM area_correspondence WHERE target_vintage = $1",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading a lookup between vintages"))?;
        let mut out = rows
            .iter()
            .map(|row| {
                Ok(Correspondence {
                    source: code_of(row, "source")?,
                    source_vintage: get(row, "source_vintage")?,
                    target: code_of(row, "target")?,
                    target_vintage: get(row, "target_vintage")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (&a.target_vintage, a.source, a.target).cmp(&(&b.target_vintage, b.source, b.target))
        });
        Ok(out)
    }

    async fn count_in_vintage(&self, vintage: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM area_vintage WHERE vintage = $1")
            .bind(vintage)
            .fetch_one(&self.pool)
            .await
            .map_err(sql_error("counting areas"))
    }

    async fn area_counts(&self) -> Result<Vec<AreaCount>> {
        let rows = sqlx::query(
            "SELECT area_type, COUNT(*) AS areas, CAST(SUM(no_known_parent) AS BIGINT) AS orphans \
             FROM area GROUP BY area_type",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("counting areas"))?;
        let mut out = rows
            .iter()
            .map(|row| {
                let key: String = get(row, "area_type")?;
                Ok(AreaCount {
                    area_type: AreaType::from_key(&key).ok_or(StoreError::Corrupt {
                        found: format!("`{key}` in area_type"),
                        expected: "an area type",
                    })?,
                    areas: get(row, "areas")?,
                    no_known_parent: get::<Option<i64>>(row, "orphans")?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|c| c.area_type);
        Ok(out)
    }

    async fn deprivation(&self, code: AreaCode) -> Result<Vec<Deprivation>> {
        let rows = sqlx::query(
            "SELECT area, edition, domain, rank, decile, score FROM deprivation \
             WHERE area = $1 ORDER BY edition, domain",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading deprivation"))?;
        rows.iter().map(deprivation_of).collect()
    }

    async fn deprivation_table(&self, edition: &str, domain: &str) -> Result<Vec<Deprivation>> {
        let rows = sqlx::query(
            "SELECT area, edition, domain, rank, decile, score FROM deprivation \
             WHERE edition = $1 AND domain = $2 ORDER BY area",
        )
        .bind(edition)
        .bind(domain)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading deprivation"))?;
        rows.iter().map(deprivation_of).collect()
    }

    async fn populations(&self, source: &str) -> Result<Vec<Population>> {
        let rows = sqlx::query(
            "SELECT area, period, sex, age, source, population FROM population \
             WHERE source = $1 ORDER BY area, period_sort, sex, age",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading populations"))?;
        rows.iter()
            .map(|row| {
                Ok(Population {
                    area: code_of(row, "area")?,
                    period: period_of(row)?,
                    sex: get(row, "sex")?,
                    age: get(row, "age")?,
                    population: get(row, "population")?,
                    source: get(row, "source")?,
                })
            })
            .collect()
    }

    async fn indicators(&self) -> Result<Vec<Indicator>> {
        let rows = sqlx::query("SELECT * FROM indicator ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading indicators"))?;
        rows.iter().map(indicator_of).collect()
    }

    async fn indicator(&self, id: &str) -> Result<Option<Indicator>> {
        let row = sqlx::query("SELECT * FROM indicator WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(sql_error("reading an indicator"))?;
        row.as_ref().map(indicator_of).transpose()
    }

    async fn observations(&self, indicator: Option<&str>) -> Result<Vec<Observation>> {
        let rows = sqlx::query(&format!(
            "SELECT {OBSERVATION_COLUMNS} FROM observation o WHERE ($1 IS NULL OR o.indicator = $1) \
             ORDER BY o.indicator, o.area, o.period_sort, o.sex, o.age, o.category_type, o.category"
        ))
        .bind(indicator)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading observations"))?;
        rows.iter().map(observation_of).collect()
    }

    async fn latest_observations(&self, code: AreaCode) -> Result<Vec<Observation>> {
        let rows = sqlx::query(&format!(
            "SELECT {OBSERVATION_COLUMNS} FROM observation o WHERE o.area = $1 AND o.period_sort = \
             (SELECT MAX(p.period_sort) FROM observation p WHERE p.area = o.area AND p.indicator = o.indicator) \
             ORDER BY o.indicator, o.sex, o.age, o.category_type, o.category"
        ))
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading an area's latest values"))?;
        rows.iter().map(observation_of).collect()
    }

    async fn compute_runs(&self, indicator: &str) -> Result<Vec<ComputeRun>> {
        let rows = sqlx::query(
            "SELECT input_key, indicator, method, inputs, observations FROM compute_run \
             WHERE indicator = $1 ORDER BY id",
        )
        .bind(indicator)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading compute runs"))?;
        rows.iter()
            .map(|row| {
                Ok(ComputeRun {
                    input_key: get(row, "input_key")?,
                    indicator: get(row, "indicator")?,
                    method: get(row, "method")?,
                    inputs: get(row, "inputs")?,
                    observations: get(row, "observations")?,
                })
            })
            .collect()
    }

    async fn boundaries_around(&self, vintage: &str, lon: f64, lat: f64) -> Result<Vec<Boundary>> {
        let rows = sqlx::query(
            "SELECT code, vintage, geometry, simplified, min_lon, min_lat, max_lon, max_lat FROM boundary \
             WHERE vintage = $1 AND min_lon <= $2 AND max_lon >= $2 AND min_lat <= $3 AND max_lat >= $3 ORDER BY code",
        )
        .bind(vintage)
        .bind(lon)
        .bind(lat)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading boundaries"))?;
        rows.iter().map(boundary_of).collect()
    }

    async fn boundaries(&self, vintage: &str) -> Result<Vec<Boundary>> {
        let rows = sqlx::query(
            "SELECT code, vintage, geometry, simplified, min_lon, min_lat, max_lon, max_lat FROM boundary \
             WHERE vintage = $1 ORDER BY code",
        )
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading boundaries"))?;
        rows.iter().map(boundary_of).collect()
    }

    async fn neighbours(&self, code: AreaCode, vintage: &str) -> Result<Vec<AreaCode>> {
        let rows = sqlx::query(
            "SELECT neighbour FROM adjacency WHERE area = $1 AND vintage = $2 ORDER BY neighbour",
        )
        .bind(code.as_str())
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading neighbours"))?;
        rows.iter().map(|row| code_of(row, "neighbour")).collect()
    }

    async fn adjacency(&self, vintage: &str) -> Result<Vec<(AreaCode, AreaCode)>> {
        let rows = sqlx::query(
            "SELECT area, neighbour FROM adjacency WHERE vintage = $1 ORDER BY area, neighbour",
        )
        .bind(vintage)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading neighbours"))?;
        rows.iter()
            .map(|row| Ok((code_of(row, "area")?, code_of(row, "neighbour")?)))
            .collect()
    }

    async fn search_areas(&self, text: &str, limit: i64) -> Result<Vec<Area>> {
        // Codes match from the start, names anywhere, case aside.
        let rows = sqlx::query(
            "SELECT code, name, no_known_parent FROM area \
             WHERE UPPER(code) LIKE $1 OR UPPER(COALESCE(name, '')) LIKE $2 \
             ORDER BY CASE WHEN UPPER(code) = $3 THEN 0 ELSE 1 END, LENGTH(COALESCE(name, code)), code LIMIT $4",
        )
        .bind(format!("{}%", text.to_uppercase()))
        .bind(format!("%{}%", text.to_uppercase()))
        .bind(text.to_uppercase())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("searching areas"))?;
        rows.iter()
            .map(|row| {
                Ok(Area {
                    code: code_of(row, "code")?,
                    name: get(row, "name")?,
                    no_known_parent: get::<i64>(row, "no_known_parent")? != 0,
                })
            })
            .collect()
    }

    async fn postcode(&self, postcode: &str) -> Result<Option<PostcodeRecord>> {
        let row = sqlx::query(
            "SELECT postcode, lsoa11, lsoa21, latitude, longitude FROM postcode WHERE postcode = $1",
        )
        .bind(postcode)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("looking a postcode up"))?;
        let Some(row) = row else { return Ok(None) };
        let optional_code = |column: &str| -> Result<Option<AreaCode>> {
            let text: Option<String> = get(&row, column)?;
            text.map(|t| {
                AreaCode::parse(&t).map_err(|_| StoreError::Corrupt {
                    found: format!("`{t}` in {column}"),
                    expected: "a GSS area code",
                })
            })
            .transpose()
        };
        Ok(Some(PostcodeRecord {
            postcode: get(&row, "postcode")?,
            lsoa11: optional_code("lsoa11")?,
            lsoa21: optional_code("lsoa21")?,
            latitude: get(&row, "latitude")?,
            longitude: get(&row, "longitude")?,
        }))
    }

    async fn counts(&self, dataset: &str) -> Result<Vec<CountRow>> {
        let rows = sqlx::query(
            "SELECT dataset, area, period, sex, age_band, numerator, denominator FROM count_row \
             WHERE dataset = $1 ORDER BY area, period_sort, sex, age_band",
        )
        .bind(dataset)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading counts"))?;
        rows.iter()
            .map(|row| {
                Ok(CountRow {
                    dataset: get(row, "dataset")?,
                    area: code_of(row, "area")?,
                    period: period_of(row)?,
                    sex: get(row, "sex")?,
                    age_band: get(row, "age_band")?,
                    numerator: get(row, "numerator")?,
                    denominator: get(row, "denominator")?,
                })
            })
            .collect()
    }

    async fn imports(&self) -> Result<Vec<ImportRecord>> {
        let rows = sqlx::query(
            "SELECT kind, file, rows, skipped, created_without_parent FROM import_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading the import log"))?;
        rows.iter()
            .map(|row| {
                Ok(ImportRecord {
                    kind: get(row, "kind")?,
                    file: get(row, "file")?,
                    rows: get(row, "rows")?,
                    skipped: get(row, "skipped")?,
                    created_without_parent: get(row, "created_without_parent")?,
                })
            })
            .collect()
    }
}

/// One open transaction.
struct SqlTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

/// Parameters per statement (SQLite allows 32,766, PostgreSQL 65,535). Bulk inserts
/// use anonymous `?` parameters on SQLite: sqlx binds each named `$n` by asking
/// SQLite for its name, a linear search, so named parameters cost time quadratic in
/// their number (a 34,000-row lookup took 30 s with `$n` at 30,000 a statement).
const MAX_PARAMETERS: usize = 16_000;

impl SqlTx {
    /// Inserts `rows` with as few statements as the parameter limit allows:
    /// `INSERT INTO {table} ({columns}) VALUES (…), (…) {tail}`.
    async fn insert<T>(
        &mut self,
        table: &str,
        columns: &[&str],
        tail: &str,
        rows: &[T],
        bind: impl for<'q> Fn(
            Query<'q, Any, AnyArguments<'q>>,
            &'q T,
        ) -> Query<'q, Any, AnyArguments<'q>>,
        doing: &'static str,
    ) -> Result<()> {
        let per_statement = (MAX_PARAMETERS / columns.len()).max(1);
        for chunk in rows.chunks(per_statement) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..columns.len() {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    n += 1;
                    match self.backend {
                        Backend::Sqlite => sql.push('?'),
                        Backend::Postgres => {
                            sql.push('$');
                            sql.push_str(&n.to_string());
                        }
                    }
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            let mut query = nullable_floats(&sql);
            for row in chunk {
                query = bind(query, row);
            }
            query
                .execute(&mut *self.tx)
                .await
                .map_err(sql_error(doing))?;
        }
        Ok(())
    }
}

#[async_trait]
impl StoreTx for SqlTx {
    async fn put_areas(&mut self, areas: &[Area]) -> Result<()> {
        self.insert(
            "area",
            &["code", "area_type", "name", "no_known_parent"],
            "ON CONFLICT (code) DO UPDATE SET name = COALESCE(excluded.name, area.name), \
             no_known_parent = CASE WHEN excluded.no_known_parent = 0 THEN 0 ELSE area.no_known_parent END",
            areas,
            |q, a| {
                q.bind(a.code.as_str())
                    .bind(a.code.area_type().key())
                    .bind(a.name.as_deref())
                    .bind(i64::from(a.no_known_parent))
            },
            "writing areas",
        )
        .await
    }

    async fn put_vintages(&mut self, members: &[(AreaCode, String)]) -> Result<()> {
        self.insert(
            "area_vintage",
            &["code", "vintage"],
            "ON CONFLICT (code, vintage) DO NOTHING",
            members,
            |q, (code, vintage)| q.bind(code.as_str()).bind(vintage.as_str()),
            "writing area vintages",
        )
        .await
    }

    async fn put_links(&mut self, links: &[AreaLink]) -> Result<()> {
        self.insert(
            "area_link",
            &["child", "parent", "level", "vintage"],
            "ON CONFLICT (child, level, vintage) DO UPDATE SET parent = excluded.parent",
            links,
            |q, l| {
                q.bind(l.child.as_str())
                    .bind(l.parent.as_str())
                    .bind(l.level.key())
                    .bind(l.vintage.as_str())
            },
            "writing parent links",
        )
        .await
    }

    async fn put_correspondences(&mut self, rows: &[Correspondence]) -> Result<()> {
        self.insert(
            "area_correspondence",
            &["source", "source_vintage", "target", "target_vintage"],
            "ON CONFLICT (source_vintage, target_vintage, source, target) DO NOTHING",
            rows,
            |q, c| {
                q.bind(c.source.as_str())
                    .bind(c.source_vintage.as_str())
                    .bind(c.target.as_str())
                    .bind(c.target_vintage.as_str())
            },
            "writing a lookup between vintages",
        )
        .await
    }

    async fn put_deprivation(&mut self, rows: &[Deprivation]) -> Result<()> {
        self.insert(
            "deprivation",
            &["area", "edition", "domain", "rank", "decile", "score"],
            "ON CONFLICT (area, edition, domain) DO UPDATE SET rank = excluded.rank, \
             decile = excluded.decile, score = excluded.score",
            rows,
            |q, d| {
                q.bind(d.area.as_str())
                    .bind(d.edition.as_str())
                    .bind(d.domain.as_str())
                    .bind(d.rank)
                    .bind(d.decile)
                    .bind(d.score)
            },
            "writing deprivation",
        )
        .await
    }

    async fn put_populations(&mut self, rows: &[Population]) -> Result<()> {
        self.insert(
            "population",
            &["area", "period", "period_sort", "sex", "age", "source", "population"],
            "ON CONFLICT (area, period, sex, age, source) DO UPDATE SET population = excluded.population",
            rows,
            |q, p| {
                q.bind(p.area.as_str())
                    .bind(p.period.to_string())
                    .bind(p.period.sort_key())
                    .bind(p.sex.as_str())
                    .bind(p.age.as_str())
                    .bind(p.source.as_str())
                    .bind(p.population)
            },
            "writing populations",
        )
        .await
    }

    async fn put_indicator(&mut self, i: &Indicator) -> Result<()> {
        self.insert(
            "indicator",
            &[
                "id",
                "name",
                "definition",
                "measure_type",
                "multiplier",
                "polarity",
                "unit",
                "source",
                "licence",
                "disclosure_min",
                "disclosure_max",
                "domain",
            ],
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             definition = COALESCE(excluded.definition, indicator.definition), \
             measure_type = COALESCE(excluded.measure_type, indicator.measure_type), \
             multiplier = COALESCE(excluded.multiplier, indicator.multiplier), \
             polarity = COALESCE(excluded.polarity, indicator.polarity), \
             unit = COALESCE(excluded.unit, indicator.unit), \
             source = COALESCE(excluded.source, indicator.source), \
             licence = COALESCE(excluded.licence, indicator.licence), \
             disclosure_min = COALESCE(excluded.disclosure_min, indicator.disclosure_min), \
             disclosure_max = COALESCE(excluded.disclosure_max, indicator.disclosure_max), \
             domain = COALESCE(excluded.domain, indicator.domain)",
            std::slice::from_ref(i),
            |q, i| {
                q.bind(i.id.as_str())
                    .bind(i.name.as_str())
                    .bind(i.definition.as_deref())
                    .bind(i.measure_type.as_deref())
                    .bind(i.multiplier)
                    .bind(i.polarity.map(Polarity::key))
                    .bind(i.unit.as_deref())
                    .bind(i.source.as_deref())
                    .bind(i.licence.as_deref())
                    .bind(i.disclosure.map(|d| d.min))
                    .bind(i.disclosure.map(|d| d.max))
                    .bind(i.domain.as_deref())
            },
            "writing an indicator",
        )
        .await
    }

    async fn put_observations(&mut self, rows: &[Observation]) -> Result<()> {
        self.insert(
            "observation",
            &[
                "indicator",
                "area",
                "period",
                "period_sort",
                "sex",
                "age",
                "category_type",
                "category",
                "count",
                "denominator",
                "value",
                "lower95",
                "upper95",
                "lower998",
                "upper998",
                "note",
                "compared_to_england",
                "compared_to_parent",
                "recent_trend",
            ],
            "ON CONFLICT (indicator, area, period, sex, age, category_type, category) DO UPDATE SET \
             period_sort = excluded.period_sort, count = excluded.count, denominator = excluded.denominator, \
             value = excluded.value, lower95 = excluded.lower95, upper95 = excluded.upper95, \
             lower998 = excluded.lower998, upper998 = excluded.upper998, note = excluded.note, \
             compared_to_england = excluded.compared_to_england, compared_to_parent = excluded.compared_to_parent, \
             recent_trend = excluded.recent_trend",
            rows,
            |q, o| {
                q.bind(o.indicator.as_str())
                    .bind(o.area.as_str())
                    .bind(o.period.to_string())
                    .bind(o.period.sort_key())
                    .bind(o.sex.as_str())
                    .bind(o.age.as_str())
                    .bind(o.category_type.as_str())
                    .bind(o.category.as_str())
                    .bind(o.count)
                    .bind(o.denominator)
                    .bind(o.value)
                    .bind(o.lower95)
                    .bind(o.upper95)
                    .bind(o.lower998)
                    .bind(o.upper998)
                    .bind(o.note.as_deref())
                    .bind(o.compared_to_england.as_deref())
                    .bind(o.compared_to_parent.as_deref())
                    .bind(o.recent_trend.as_deref())
            },
            "writing observations",
        )
        .await
    }

    async fn missing_areas(&mut self, codes: &[AreaCode]) -> Result<Vec<AreaCode>> {
        let mut missing = Vec::new();
        for chunk in codes.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT code FROM area WHERE code IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for code in chunk {
                query = query.bind(code.as_str());
            }
            let found: Vec<String> = query
                .fetch_all(&mut *self.tx)
                .await
                .map_err(sql_error("looking areas up"))?;
            let found: std::collections::HashSet<String> = found.into_iter().collect();
            missing.extend(chunk.iter().filter(|c| !found.contains(c.as_str())));
        }
        missing.sort();
        missing.dedup();
        Ok(missing)
    }

    async fn delete_observations(&mut self, indicator: &str) -> Result<()> {
        sqlx::query("DELETE FROM observation WHERE indicator = $1")
            .bind(indicator)
            .execute(&mut *self.tx)
            .await
            .map_err(sql_error("removing earlier results"))?;
        Ok(())
    }

    async fn record_compute(&mut self, run: &ComputeRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO compute_run (input_key, indicator, method, inputs, observations) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run.input_key.as_str())
        .bind(run.indicator.as_str())
        .bind(run.method.as_str())
        .bind(run.inputs.as_str())
        .bind(run.observations)
        .execute(&mut *self.tx)
        .await
        .map_err(sql_error("recording the compute run"))?;
        Ok(())
    }

    async fn put_boundaries(&mut self, rows: &[Boundary]) -> Result<()> {
        self.insert(
            "boundary",
            &["code", "vintage", "geometry", "simplified", "min_lon", "min_lat", "max_lon", "max_lat"],
            "ON CONFLICT (code, vintage) DO UPDATE SET geometry = excluded.geometry, \
             simplified = excluded.simplified, min_lon = excluded.min_lon, min_lat = excluded.min_lat, \
             max_lon = excluded.max_lon, max_lat = excluded.max_lat",
            rows,
            |q, b| {
                q.bind(b.code.as_str())
                    .bind(b.vintage.as_str())
                    .bind(b.geometry.as_str())
                    .bind(b.simplified.as_str())
                    .bind(b.bbox[0])
                    .bind(b.bbox[1])
                    .bind(b.bbox[2])
                    .bind(b.bbox[3])
            },
            "writing boundaries",
        )
        .await
    }

    async fn put_adjacency(&mut self, pairs: &[(AreaCode, AreaCode, String)]) -> Result<()> {
        self.insert(
            "adjacency",
            &["area", "neighbour", "vintage"],
            "ON CONFLICT (area, neighbour, vintage) DO NOTHING",
            pairs,
            |q, (a, b, v)| q.bind(a.as_str()).bind(b.as_str()).bind(v.as_str()),
            "writing neighbours",
        )
        .await
    }

    async fn put_postcodes(&mut self, rows: &[PostcodeRecord]) -> Result<()> {
        self.insert(
            "postcode",
            &["postcode", "lsoa11", "lsoa21", "latitude", "longitude"],
            "ON CONFLICT (postcode) DO UPDATE SET lsoa11 = excluded.lsoa11, lsoa21 = excluded.lsoa21, \
             latitude = excluded.latitude, longitude = excluded.longitude",
            rows,
            |q, p| {
                q.bind(p.postcode.as_str())
                    .bind(p.lsoa11.map(|c| c.as_str().to_owned()))
                    .bind(p.lsoa21.map(|c| c.as_str().to_owned()))
                    .bind(p.latitude)
                    .bind(p.longitude)
            },
            "writing postcodes",
        )
        .await
    }

    async fn put_counts(&mut self, rows: &[CountRow]) -> Result<()> {
        self.insert(
            "count_row",
            &[
                "dataset",
                "area",
                "period",
                "period_sort",
                "sex",
                "age_band",
                "numerator",
                "denominator",
            ],
            "ON CONFLICT (dataset, area, period, sex, age_band) DO UPDATE SET \
             numerator = excluded.numerator, denominator = excluded.denominator",
            rows,
            |q, c| {
                q.bind(c.dataset.as_str())
                    .bind(c.area.as_str())
                    .bind(c.period.to_string())
                    .bind(c.period.sort_key())
                    .bind(c.sex.as_str())
                    .bind(c.age_band.as_str())
                    .bind(c.numerator)
                    .bind(c.denominator)
            },
            "writing counts",
        )
        .await
    }

    async fn forget_compute_runs(&mut self, indicator: &str) -> Result<()> {
        sqlx::query("DELETE FROM compute_run WHERE indicator = $1")
            .bind(indicator)
            .execute(&mut *self.tx)
            .await
            .map_err(sql_error("forgetting compute runs"))?;
        Ok(())
    }

    async fn record_import(&mut self, r: &ImportRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO import_log (kind, file, rows, skipped, created_without_parent) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.kind.as_str())
        .bind(r.file.as_str())
        .bind(r.rows)
        .bind(r.skipped)
        .bind(r.created_without_parent)
        .execute(&mut *self.tx)
        .await
        .map_err(sql_error("recording the import"))?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(sql_error("committing"))
    }
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

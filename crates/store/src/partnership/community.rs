//! Community-defined places: a named set of small areas a community chose as its
//! own, kept as an area of type `community` (codes `E99000001`, … numbered here in
//! the order they are defined) linked to the area it lies within, with its small
//! areas in a table of their own (a small area may belong to several).

use async_trait::async_trait;
use syndemic_model::{AreaCode, AreaType};

use super::*;

/// A community-defined place as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CommunityPlaceRecord {
    pub code: AreaCode,
    pub name: String,
    pub description: String,
    /// The smallest district, county or region holding all its small areas: its
    /// values are compared with this area's.
    pub within: AreaCode,
    /// How the community chose it: `map`, `postcodes` or `list`.
    pub chosen_by: String,
    pub partnership_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    /// Its small areas, sorted.
    pub areas: Vec<AreaCode>,
}

/// The vintage of the link from a community place to the area it lies within,
/// kept apart from every lookup's.
pub const COMMUNITY_VINTAGE: &str = "community";

/// Community-defined places.
#[async_trait]
pub trait CommunityPlaces: Send + Sync {
    /// Defines a place in one transaction with its audit entry: numbers it (the
    /// record's `code` is ignored), keeps its area, its link to `within` and its
    /// small areas; returns its code.
    async fn define_place(&self, p: &CommunityPlaceRecord, audit: &AuditEntry) -> Result<AreaCode>;

    /// Every community place with its small areas, by code.
    async fn community_places(&self) -> Result<Vec<CommunityPlaceRecord>>;

    /// Removes a community place — its area, link, small areas and every value
    /// computed or published for it — in one transaction with its audit entry;
    /// its code is never given again. Refused (nothing removed) while a
    /// commitment is measured on it, or a survey or a partnership covers it.
    async fn remove_place(&self, code: AreaCode, audit: &AuditEntry) -> Result<Removal>;
}

/// What became of a request to remove a community place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// What still uses it, in words.
    InUse(String),
}

fn area_code(text: &str, column: &'static str) -> Result<AreaCode> {
    AreaCode::parse(text).map_err(|_| crate::StoreError::Corrupt {
        found: format!("`{text}` in {column}"),
        expected: "a GSS area code",
    })
}

#[async_trait]
impl CommunityPlaces for SqlStore {
    async fn define_place(&self, p: &CommunityPlaceRecord, audit: &AuditEntry) -> Result<AreaCode> {
        let mut tx = self.tx().await?;
        let last: Option<String> = sqlx::query_scalar("SELECT MAX(code) FROM community_place_code")
            .fetch_one(&mut *tx)
            .await
            .map_err(sql_error("numbering a community place"))?;
        let next = last
            .and_then(|c| c.get(3..).and_then(|n| n.parse::<u32>().ok()))
            .unwrap_or(0)
            + 1;
        let code = AreaCode::community(next).ok_or(crate::StoreError::Corrupt {
            found: format!("{next} community places"),
            expected: "at most 999,999",
        })?;
        sqlx::query("INSERT INTO community_place_code (code) VALUES ($1)")
            .bind(code.as_str())
            .execute(&mut *tx)
            .await
            .map_err(sql_error("numbering a community place"))?;
        sqlx::query(
            "INSERT INTO area (code, area_type, name, no_known_parent) VALUES ($1, $2, $3, 0)",
        )
        .bind(code.as_str())
        .bind(AreaType::Community.key())
        .bind(&p.name)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a community place's area"))?;
        let level = p
            .within
            .area_type()
            .levels()
            .last()
            .copied()
            .unwrap_or(syndemic_model::Level::England);
        sqlx::query(
            "INSERT INTO area_link (child, parent, level, vintage) VALUES ($1, $2, $3, $4)",
        )
        .bind(code.as_str())
        .bind(p.within.as_str())
        .bind(level.key())
        .bind(COMMUNITY_VINTAGE)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("linking a community place"))?;
        sqlx::query(
            "INSERT INTO community_place (code, description, within, chosen_by, partnership_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(code.as_str())
        .bind(&p.description)
        .bind(p.within.as_str())
        .bind(&p.chosen_by)
        .bind(p.partnership_id.as_deref())
        .bind(p.created_by.as_deref())
        .bind(p.created_at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a community place"))?;
        for lsoa in &p.areas {
            sqlx::query("INSERT INTO community_place_area (place, lsoa) VALUES ($1, $2)")
                .bind(code.as_str())
                .bind(lsoa.as_str())
                .execute(&mut *tx)
                .await
                .map_err(sql_error("saving a community place's small areas"))?;
        }
        let audit = AuditEntry {
            record: code.to_string(),
            ..audit.clone()
        };
        audit_in(&mut tx, &audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a community place"))?;
        Ok(code)
    }

    async fn community_places(&self) -> Result<Vec<CommunityPlaceRecord>> {
        let rows = sqlx::query(
            "SELECT p.code, a.name, p.description, p.within, p.chosen_by, p.partnership_id, \
             p.created_by, p.created_at FROM community_place p JOIN area a ON a.code = p.code \
             ORDER BY p.code",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading community places"))?;
        let members =
            sqlx::query("SELECT place, lsoa FROM community_place_area ORDER BY place, lsoa")
                .fetch_all(&self.pool)
                .await
                .map_err(sql_error("reading community places' small areas"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let code: String = get(row, "code")?;
            let name: Option<String> = get(row, "name")?;
            out.push(CommunityPlaceRecord {
                code: area_code(&code, "community_place.code")?,
                name: name.unwrap_or_else(|| code.clone()),
                description: get(row, "description")?,
                within: area_code(&get::<String>(row, "within")?, "community_place.within")?,
                chosen_by: get(row, "chosen_by")?,
                partnership_id: get(row, "partnership_id")?,
                created_by: get(row, "created_by")?,
                created_at: get(row, "created_at")?,
                areas: Vec::new(),
            });
        }
        for m in &members {
            let place: String = get(m, "place")?;
            let lsoa: String = get(m, "lsoa")?;
            if let Some(p) = out.iter_mut().find(|p| p.code.as_str() == place) {
                p.areas.push(area_code(&lsoa, "community_place_area.lsoa")?);
            }
        }
        Ok(out)
    }

    async fn remove_place(&self, code: AreaCode, audit: &AuditEntry) -> Result<Removal> {
        let mut tx = self.tx().await?;
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM community_place WHERE code = $1")
            .bind(code.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(sql_error("reading a community place"))?;
        if held == 0 {
            return Ok(Removal::NotFound);
        }
        // What still uses it: (query of the users' names, what they are, how).
        for (sql, what, how) in [
            (
                "SELECT reference FROM commitment WHERE indicator_area = $1 ORDER BY reference",
                "commitment",
                "is measured on it",
            ),
            (
                "SELECT slug FROM survey WHERE place = $1 ORDER BY slug",
                "survey",
                "covers it",
            ),
            (
                "SELECT name FROM partnership WHERE area = $1 ORDER BY name",
                "partnership",
                "covers it",
            ),
        ] {
            let users: Vec<String> = sqlx::query_scalar(sql)
                .bind(code.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(sql_error("reading what uses a community place"))?;
            if !users.is_empty() {
                return Ok(Removal::InUse(format!("{what} {} {how}", users.join(", "))));
            }
        }
        for (sql, doing) in [
            (
                "DELETE FROM observation WHERE area = $1",
                "removing a community place's values",
            ),
            (
                "DELETE FROM community_place_area WHERE place = $1",
                "removing a community place's small areas",
            ),
            (
                "DELETE FROM community_place WHERE code = $1",
                "removing a community place",
            ),
            (
                "DELETE FROM area_link WHERE child = $1 OR parent = $1",
                "removing a community place's link",
            ),
            (
                "DELETE FROM area_vintage WHERE code = $1",
                "removing a community place's area",
            ),
            (
                "DELETE FROM area WHERE code = $1",
                "removing a community place's area",
            ),
        ] {
            sqlx::query(sql)
                .bind(code.as_str())
                .execute(&mut *tx)
                .await
                .map_err(sql_error(doing))?;
        }
        let audit = AuditEntry {
            record: code.to_string(),
            ..audit.clone()
        };
        audit_in(&mut tx, &audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a community place's removal"))?;
        Ok(Removal::Removed)
    }
}

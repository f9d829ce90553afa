//! Anchor institutions' measures and social value, the business map, and business-engagement maturity.

use super::*;

/// Anchor institutions' measures and social value, the business map, and business-engagement maturity.
#[async_trait]
pub trait Businesses: Send + Sync {
    /// Writes anchor measures and social value in one transaction, replacing the
    /// rows of the same organisation and year.
    async fn import_anchor_measures(
        &self,
        measures: &[AnchorRecord],
        social: &[SocialValueRecord],
        audit: &AuditEntry,
    ) -> Result<()>;

    async fn anchor_measures(&self) -> Result<Vec<AnchorRecord>>;

    async fn social_value(&self) -> Result<Vec<SocialValueRecord>>;

    /// Replaces the businesses of one source list with `rows`, in one transaction.
    async fn import_businesses(
        &self,
        source: &str,
        rows: &[BusinessRecord],
        audit: &AuditEntry,
    ) -> Result<()>;

    async fn businesses(&self) -> Result<Vec<BusinessRecord>>;

    /// Writes UK Business Counts rows, replacing each (area, year, unit) they cover.
    async fn import_business_counts(
        &self,
        rows: &[BusinessCountRecord],
        audit: &AuditEntry,
    ) -> Result<()>;

    async fn business_counts(&self) -> Result<Vec<BusinessCountRecord>>;

    /// Saves one self-assessment (every criterion scored on one day), replacing an
    /// earlier one of the same day.
    async fn put_maturity(&self, rows: &[MaturityRecord], audit: &AuditEntry) -> Result<()>;

    async fn maturity(&self, partnership: &str) -> Result<Vec<MaturityRecord>>;
}

impl SqlStore {
    // --- anchors -----------------------------------------------------------------------

    // --- the business map -------------------------------------------------------------

    // --- business-engagement maturity ------------------------------------------------
}

#[async_trait]
impl Businesses for SqlStore {
    async fn import_anchor_measures(
        &self,
        measures: &[AnchorRecord],
        social: &[SocialValueRecord],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        for m in measures {
            nullable_floats(
                "INSERT INTO anchor_measure (org_id, year, employees, hired_most_deprived_share, local_spend_share, \
                 sme_vcse_spend_share, real_living_wage, apprenticeships, volunteering_hours) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_id, year) DO UPDATE SET \
                 employees = excluded.employees, hired_most_deprived_share = excluded.hired_most_deprived_share, \
                 local_spend_share = excluded.local_spend_share, sme_vcse_spend_share = excluded.sme_vcse_spend_share, \
                 real_living_wage = excluded.real_living_wage, apprenticeships = excluded.apprenticeships, \
                 volunteering_hours = excluded.volunteering_hours",
            )
            .bind(&m.org_id)
            .bind(m.year)
            .bind(m.employees)
            .bind(m.hired_most_deprived_share)
            .bind(m.local_spend_share)
            .bind(m.sme_vcse_spend_share)
            .bind(m.real_living_wage.map(flag))
            .bind(m.apprenticeships)
            .bind(m.volunteering_hours)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving an anchor measure"))?;
        }
        let mut cleared = rustc_hash::FxHashSet::default();
        for s in social {
            if cleared.insert((s.org_id.clone(), s.year)) {
                sqlx::query("DELETE FROM social_value WHERE org_id = $1 AND year = $2")
                    .bind(&s.org_id)
                    .bind(s.year)
                    .execute(&mut *tx)
                    .await
                    .map_err(sql_error("replacing social value"))?;
            }
            sqlx::query(
                "INSERT INTO social_value (org_id, year, contract, theme, outcome, measure, unit, quantity, proxy_value) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&s.org_id)
            .bind(s.year)
            .bind(&s.contract)
            .bind(&s.theme)
            .bind(&s.outcome)
            .bind(&s.measure)
            .bind(&s.unit)
            .bind(s.quantity)
            .bind(s.proxy_value)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving social value"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing anchor measures"))
    }

    async fn anchor_measures(&self) -> Result<Vec<AnchorRecord>> {
        let rows = sqlx::query("SELECT * FROM anchor_measure ORDER BY org_id, year")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading anchor measures"))?;
        rows.iter()
            .map(|r| {
                Ok(AnchorRecord {
                    org_id: get(r, "org_id")?,
                    year: get(r, "year")?,
                    employees: get(r, "employees")?,
                    hired_most_deprived_share: get(r, "hired_most_deprived_share")?,
                    local_spend_share: get(r, "local_spend_share")?,
                    sme_vcse_spend_share: get(r, "sme_vcse_spend_share")?,
                    real_living_wage: get::<Option<i64>>(r, "real_living_wage")?.map(|v| v != 0),
                    apprenticeships: get(r, "apprenticeships")?,
                    volunteering_hours: get(r, "volunteering_hours")?,
                })
            })
            .collect()
    }

    async fn social_value(&self) -> Result<Vec<SocialValueRecord>> {
        let rows =
            sqlx::query("SELECT * FROM social_value ORDER BY org_id, year, contract, measure")
                .fetch_all(&self.pool)
                .await
                .map_err(sql_error("reading social value"))?;
        rows.iter()
            .map(|r| {
                Ok(SocialValueRecord {
                    org_id: get(r, "org_id")?,
                    year: get(r, "year")?,
                    contract: get(r, "contract")?,
                    theme: get(r, "theme")?,
                    outcome: get(r, "outcome")?,
                    measure: get(r, "measure")?,
                    unit: get(r, "unit")?,
                    quantity: get(r, "quantity")?,
                    proxy_value: get(r, "proxy_value")?,
                })
            })
            .collect()
    }

    async fn import_businesses(
        &self,
        source: &str,
        rows: &[BusinessRecord],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("DELETE FROM business WHERE source = $1")
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("replacing a business list"))?;
        for b in rows {
            sqlx::query(
                "INSERT INTO business (id, source, name, company_number, sic_code, size_band, employees, \
                 local_employees, postcode, area) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&b.id)
            .bind(source)
            .bind(&b.name)
            .bind(b.company_number.as_deref())
            .bind(b.sic_code.as_deref())
            .bind(&b.size_band)
            .bind(b.employees)
            .bind(b.local_employees)
            .bind(b.postcode.as_deref())
            .bind(b.area.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving a business"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a business list"))
    }

    async fn businesses(&self) -> Result<Vec<BusinessRecord>> {
        let rows = sqlx::query("SELECT * FROM business ORDER BY name, id")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading businesses"))?;
        rows.iter()
            .map(|r| {
                Ok(BusinessRecord {
                    id: get(r, "id")?,
                    source: get(r, "source")?,
                    name: get(r, "name")?,
                    company_number: get(r, "company_number")?,
                    sic_code: get(r, "sic_code")?,
                    size_band: get(r, "size_band")?,
                    employees: get(r, "employees")?,
                    local_employees: get(r, "local_employees")?,
                    postcode: get(r, "postcode")?,
                    area: get(r, "area")?,
                })
            })
            .collect()
    }

    async fn import_business_counts(
        &self,
        rows: &[BusinessCountRecord],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        let mut cleared = rustc_hash::FxHashSet::default();
        for c in rows {
            if cleared.insert((c.area.clone(), c.year, c.unit.clone())) {
                sqlx::query(
                    "DELETE FROM business_count WHERE area = $1 AND year = $2 AND unit = $3",
                )
                .bind(&c.area)
                .bind(c.year)
                .bind(&c.unit)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("replacing business counts"))?;
            }
            sqlx::query(
                "INSERT INTO business_count (area, year, unit, size_band, band_text, industry, count) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (area, year, unit, band_text, industry) \
                 DO UPDATE SET count = business_count.count + excluded.count",
            )
            .bind(&c.area)
            .bind(c.year)
            .bind(&c.unit)
            .bind(&c.size_band)
            .bind(&c.band_text)
            .bind(&c.industry)
            .bind(c.count)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving business counts"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing business counts"))
    }

    async fn business_counts(&self) -> Result<Vec<BusinessCountRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM business_count ORDER BY area, year, unit, size_band, band_text, industry",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading business counts"))?;
        rows.iter()
            .map(|r| {
                Ok(BusinessCountRecord {
                    area: get(r, "area")?,
                    year: get(r, "year")?,
                    unit: get(r, "unit")?,
                    size_band: get(r, "size_band")?,
                    band_text: get(r, "band_text")?,
                    industry: get(r, "industry")?,
                    count: get(r, "count")?,
                })
            })
            .collect()
    }

    async fn put_maturity(&self, rows: &[MaturityRecord], audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        for m in rows {
            sqlx::query(
                "INSERT INTO maturity_score (partnership_id, assessed_on, criterion, score, note) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (partnership_id, assessed_on, criterion) DO UPDATE SET score = excluded.score, note = excluded.note",
            )
            .bind(&m.partnership_id)
            .bind(&m.assessed_on)
            .bind(&m.criterion)
            .bind(m.score)
            .bind(&m.note)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving a maturity score"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a self-assessment"))
    }

    async fn maturity(&self, partnership: &str) -> Result<Vec<MaturityRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM maturity_score WHERE partnership_id = $1 ORDER BY assessed_on, criterion",
        )
        .bind(partnership)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading self-assessments"))?;
        rows.iter()
            .map(|r| {
                Ok(MaturityRecord {
                    partnership_id: get(r, "partnership_id")?,
                    assessed_on: get(r, "assessed_on")?,
                    criterion: get(r, "criterion")?,
                    score: get(r, "score")?,
                    note: get(r, "note")?,
                })
            })
            .collect()
    }
}

//! Referrals and their timelines, tasks and outcomes, as read.

use super::*;

/// Referrals and their timelines, tasks and outcomes, as read.
#[async_trait]
pub trait ReferralReads: Send + Sync {
    async fn referral(&self, id: &str) -> Result<Option<ReferralRecord>>;

    /// Referrals matching every given part of the filter, newest first.
    async fn referrals(&self, f: &ReferralFilter) -> Result<Vec<ReferralRecord>>;

    async fn events(&self, referral_id: &str) -> Result<Vec<EventRecord>>;

    async fn tasks(&self, referral_id: &str) -> Result<Vec<TaskRecord>>;

    /// Every outcome, of one referral or of all.
    async fn outcomes(&self, referral_id: Option<&str>) -> Result<Vec<OutcomeRecord>>;
}

#[async_trait]
impl ReferralReads for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn referral(&self, id: &str) -> Result<Option<ReferralRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a referral"))?;
        row.as_ref().map(referral_of).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn referrals(&self, f: &ReferralFilter) -> Result<Vec<ReferralRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral WHERE ($1 IS NULL OR hub_org = $1) \
             AND ($2 IS NULL OR service_org = $2) AND ($3 IS NULL OR referrer = $3) \
             AND ($4 IS NULL OR referrer_org = $4) ORDER BY created_at DESC, id"
        ))
        .bind(f.hub_org.as_deref())
        .bind(f.service_org.as_deref())
        .bind(f.referrer.as_deref())
        .bind(f.referrer_org.as_deref())
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("listing referrals"))?;
        rows.iter().map(referral_of).collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn events(&self, referral_id: &str) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, referral_id, at, actor, kind, body, data FROM referral_event WHERE referral_id = $1 ORDER BY at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading a timeline"))?;
        rows.iter()
            .map(|r| {
                Ok(EventRecord {
                    id: get(r, "id")?,
                    referral_id: get(r, "referral_id")?,
                    at: get(r, "at")?,
                    actor: get(r, "actor")?,
                    kind: get(r, "kind")?,
                    body: get(r, "body")?,
                    data: get(r, "data")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn tasks(&self, referral_id: &str) -> Result<Vec<TaskRecord>> {
        let rows = sqlx::query(
            "SELECT id, referral_id, title, due, done_at FROM referral_task WHERE referral_id = $1 ORDER BY due, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading tasks"))?;
        rows.iter()
            .map(|r| {
                Ok(TaskRecord {
                    id: get(r, "id")?,
                    referral_id: get(r, "referral_id")?,
                    title: get(r, "title")?,
                    due: get(r, "due")?,
                    done_at: get(r, "done_at")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn outcomes(&self, referral_id: Option<&str>) -> Result<Vec<OutcomeRecord>> {
        let rows = sqlx::query(
            "SELECT id, referral_id, code, value, at, voided_at, void_reason, replaces FROM referral_outcome WHERE ($1 IS NULL OR referral_id = $1) ORDER BY at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading outcomes"))?;
        rows.iter()
            .map(|r| {
                let code: String = get(r, "code")?;
                Ok(OutcomeRecord {
                    id: get(r, "id")?,
                    referral_id: get(r, "referral_id")?,
                    code: OutcomeCode::from_code(&code).ok_or(StoreError::Corrupt {
                        found: code,
                        expected: "an outcome code",
                    })?,
                    value: get(r, "value")?,
                    at: get(r, "at")?,
                    voided_at: get(r, "voided_at")?,
                    void_reason: get(r, "void_reason")?,
                    replaces: get(r, "replaces")?,
                })
            })
            .collect()
    }
}

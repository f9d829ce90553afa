//! The audit log.

use super::*;

/// The audit log: append-only, every view, change or export of personal data.
#[async_trait]
pub trait Audit: Send + Sync {
    async fn audit(&self, e: &AuditEntry) -> Result<()>;

    /// The newest `limit` audit entries, of one organisation's actors or all.
    async fn audit_log(&self, org: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>>;
}

pub(crate) async fn audit_in(tx: &mut Transaction<'_, Any>, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, org, action, subject, record, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.org)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.record)
    .bind(&e.reason)
    .execute(&mut **tx)
    .await
    .map_err(sql_error("writing the audit log"))?;
    Ok(())
}

impl SqlStore {
    // --- the audit log -------------------------------------------------------------
}

#[async_trait]
impl Audit for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn audit(&self, e: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        audit_in(&mut tx, e).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing the audit log"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn audit_log(&self, org: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, org, action, subject, record, reason FROM audit_log \
             WHERE ($1 IS NULL OR org = $1) ORDER BY seq DESC LIMIT $2",
        )
        .bind(org)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading the audit log"))?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: get(r, "at")?,
                    actor: get(r, "actor")?,
                    org: get(r, "org")?,
                    action: get(r, "action")?,
                    subject: get(r, "subject")?,
                    record: get(r, "record")?,
                    reason: get(r, "reason")?,
                })
            })
            .collect()
    }
}

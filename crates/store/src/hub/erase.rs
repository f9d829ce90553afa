//! Backups, subject access, erasure and retention.

use super::*;

/// Subject access, erasure and retention.
#[async_trait]
pub trait SubjectRights: Send + Sync {
    /// The referrals recorded under any of these match keys (a person's NHS
    /// number, or name, date of birth and postcode).
    async fn referrals_of_person(&self, keys: &[String]) -> Result<Vec<ReferralRecord>>;

    /// Removes the personal data of referrals — the person, consent record and
    /// note, the text of timeline entries and tasks, the match keys, the sender's
    /// idempotency key (now `erased:ID`) and request hash — keeping what
    /// the reports count (dates, needs, status, area, outcomes). One transaction,
    /// audited per referral; on SQLite the write-ahead log is then checkpointed
    /// and emptied. Returns how many were erased.
    async fn erase(&self, ids: &[String], by: &Stamp<'_>, why: &str) -> Result<usize>;

    /// Referrals finished (closed or declined) before `before`, not yet erased:
    /// those past their retention period.
    async fn past_retention(&self, before: i64) -> Result<Vec<String>>;
}

impl SqlStore {
    /// A consistent copy of a live SQLite store into a new file (`VACUUM INTO`,
    /// which reads one snapshot while writers carry on).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn backup_to(&self, path: &str) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::BadUrl(
                "backups of PostgreSQL are taken with pg_dump".into(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await
            .map_err(sql_error("backing up"))?;
        Ok(())
    }
}

impl SqlStore {
    /// On SQLite, moves everything in the write-ahead log into the database file
    /// and empties the log, so the file alone holds every commit (before it is
    /// copied or renamed). Nothing on PostgreSQL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .map_err(sql_error("checkpointing the write-ahead log"))?;
        }
        Ok(())
    }
}

#[async_trait]
impl SubjectRights for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn referrals_of_person(&self, keys: &[String]) -> Result<Vec<ReferralRecord>> {
        let mut out: Vec<ReferralRecord> = Vec::new();
        for key in keys {
            let rows = sqlx::query(&format!(
                "SELECT {REFERRAL_COLUMNS} FROM referral WHERE id IN (SELECT referral_id FROM referral_key WHERE match_key = $1) ORDER BY created_at"
            ))
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("finding a person's referrals"))?;
            for r in rows.iter().map(referral_of) {
                let r = r?;
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
        out.sort_by_key(|r| r.created_at);
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn erase(&self, ids: &[String], by: &Stamp<'_>, why: &str) -> Result<usize> {
        let mut tx = self.tx().await?;
        let mut n = 0;
        for id in ids {
            let done = sqlx::query(
                "UPDATE referral SET person = NULL, consent = NULL, note = NULL, flags = '', \
                 idempotency_key = $3, request_hash = '', erased_at = $1 WHERE id = $2 AND erased_at IS NULL",
            )
            .bind(by.at)
            .bind(id)
            .bind(format!("erased:{id}"))
            .execute(&mut *tx)
            .await
            .map_err(sql_error("erasing a referral"))?;
            if done.rows_affected() == 0 {
                continue;
            }
            n += 1;
            for statement in [
                "DELETE FROM referral_key WHERE referral_id = $1",
                "UPDATE referral_event SET body = NULL WHERE referral_id = $1",
                "UPDATE referral_task SET title = '(erased)' WHERE referral_id = $1",
            ] {
                sqlx::query(statement)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(sql_error("erasing a referral's timeline"))?;
            }
            audit_in(
                &mut tx,
                &AuditEntry {
                    at: by.at,
                    actor: by.actor.into(),
                    org: by.org.into(),
                    action: "erase".into(),
                    subject: "referral".into(),
                    record: id.clone(),
                    reason: why.into(),
                },
            )
            .await?;
        }
        tx.commit()
            .await
            .map_err(sql_error("committing an erasure"))?;
        // The old pages are still in the write-ahead log: move the log into the
        // file (whose freed space `secure_delete` zeroes) and empty it.
        if n > 0 {
            self.checkpoint().await?;
        }
        Ok(n)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn past_retention(&self, before: i64) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM referral WHERE erased_at IS NULL AND closed_at IS NOT NULL AND closed_at < $1 ORDER BY closed_at",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("finding referrals past retention"))
    }
}

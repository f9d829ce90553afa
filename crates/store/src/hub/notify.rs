//! Notifications: written with the change they tell of (in its transaction), read
//! by their user, and e-mailed by the mailer, which leases each due one before
//! sending so that two servers never send the same one at once.

use super::*;
use syndemic_hub::notify::{Audience, Notice, Topic};

/// One notification as its user reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: String,
    pub referral_id: String,
    /// The referral's reference.
    pub reference: String,
    pub audience: Audience,
    pub topic: Topic,
    pub at: i64,
    pub read_at: Option<i64>,
    /// `none`, `due`, `sent`, `failed` or `expired`.
    pub mail: String,
    /// When the e-mail was sent (or last tried).
    pub mail_at: Option<i64>,
}

/// A user's notifications, newest first, one page of them.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPage {
    pub items: Vec<NotificationRecord>,
    pub total: i64,
    pub unread: i64,
}

/// An e-mail to send, leased to the caller until the lease ends.
#[derive(Debug, Clone, PartialEq)]
pub struct MailJob {
    pub id: String,
    pub to: String,
    pub audience: Audience,
    pub topic: Topic,
    /// Tries made before this one.
    pub attempts: i64,
}

/// What became of an e-mail.
#[derive(Debug, Clone, PartialEq)]
pub enum MailOutcome {
    Sent,
    /// Not sent; try again at `next_at`.
    Retry {
        next_at: i64,
        error: String,
    },
    /// Not sent, and not to be tried again.
    Failed {
        error: String,
    },
}

/// A user's notifications and the mailer's queue.
#[async_trait]
pub trait Notifications: Send + Sync {
    /// One page of a user's notifications, newest first, with the counts.
    async fn notifications(
        &self,
        user_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<NotificationPage>;

    /// How many of a user's notifications are unread.
    async fn unread_notifications(&self, user_id: &str) -> Result<i64>;

    /// One of a user's notifications (none of anyone else's).
    async fn notification(&self, user_id: &str, id: &str) -> Result<Option<NotificationRecord>>;

    /// Marks one of a user's notifications read, or all of them; how many were unread.
    async fn mark_read(&self, user_id: &str, id: Option<&str>, now: i64) -> Result<u64>;

    /// A user's e-mail address and which notifications go to it.
    async fn set_mail_settings(
        &self,
        user_id: &str,
        email: Option<&str>,
        referrals: bool,
        cases: bool,
    ) -> Result<()>;

    /// Leases up to `limit` due e-mails until `lease_until`, oldest first. Due
    /// ones made before `oldest` are marked expired (news that late is no news),
    /// and ones whose user no longer wants them, or has no address, are marked
    /// not to be sent.
    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
        oldest: i64,
        limit: i64,
    ) -> Result<Vec<MailJob>>;

    /// Records what became of a leased e-mail.
    async fn mail_done(&self, id: &str, now: i64, outcome: &MailOutcome) -> Result<()>;
}

/// Writes the notices of one change, inside its transaction. A notice to a user
/// that is not a person (an API token made the referral) or is no longer active
/// is left out; each is to be e-mailed if its user has an address and wants that
/// kind.
pub(crate) async fn notify_in(
    tx: &mut Transaction<'static, Any>,
    referral_id: &str,
    event_id: &str,
    now: i64,
    notices: &[Notice],
) -> std::result::Result<(), sqlx::Error> {
    for (i, n) in notices.iter().enumerate() {
        sqlx::query(
            "INSERT INTO notification (id, user_id, referral_id, event_id, audience, topic, at, mail) \
             SELECT $1, u.id, $2, $3, $4, $5, $6, \
             CASE WHEN u.email IS NOT NULL AND ((($4 = 'referrer') AND u.email_referrals = 1) \
                  OR (($4 = 'caseworker') AND u.email_cases = 1)) THEN 'due' ELSE 'none' END \
             FROM hub_user u WHERE u.id = $7 AND u.active = 1",
        )
        .bind(format!("{event_id}-{i}"))
        .bind(referral_id)
        .bind(event_id)
        .bind(n.audience.code())
        .bind(n.topic.code())
        .bind(now)
        .bind(&n.user)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

const NOTIFICATION_COLUMNS: &str = "n.id, n.referral_id, r.reference, n.audience, n.topic, n.at, \
     n.read_at, n.mail, n.mail_at";

fn notification_of(row: &AnyRow) -> Result<NotificationRecord> {
    let audience: String = get(row, "audience")?;
    let topic: String = get(row, "topic")?;
    Ok(NotificationRecord {
        id: get(row, "id")?,
        referral_id: get(row, "referral_id")?,
        reference: get(row, "reference")?,
        audience: Audience::from_code(&audience).ok_or(StoreError::Corrupt {
            found: audience,
            expected: "an audience (referrer or caseworker)",
        })?,
        topic: Topic::from_code(&topic).ok_or(StoreError::Corrupt {
            found: topic,
            expected: "a notification topic",
        })?,
        at: get(row, "at")?,
        read_at: get(row, "read_at")?,
        mail: get(row, "mail")?,
        mail_at: get(row, "mail_at")?,
    })
}

#[async_trait]
impl Notifications for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn notifications(
        &self,
        user_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<NotificationPage> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notification n JOIN referral r ON r.id = n.referral_id \
             WHERE n.user_id = $1 ORDER BY n.at DESC, n.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(user_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading notifications"))?;
        let counts = sqlx::query(
            "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread \
             FROM notification WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(sql_error("counting notifications"))?;
        Ok(NotificationPage {
            items: rows.iter().map(notification_of).collect::<Result<_>>()?,
            total: get(&counts, "total")?,
            unread: get(&counts, "unread")?,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn unread_notifications(&self, user_id: &str) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notification WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(sql_error("counting notifications"))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn notification(&self, user_id: &str, id: &str) -> Result<Option<NotificationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notification n JOIN referral r ON r.id = n.referral_id \
             WHERE n.user_id = $1 AND n.id = $2"
        ))
        .bind(user_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a notification"))?;
        row.as_ref().map(notification_of).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn mark_read(&self, user_id: &str, id: Option<&str>, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE notification SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND ($3 IS NULL OR id = $3)",
        )
        .bind(now)
        .bind(user_id)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(sql_error("marking notifications read"))?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_mail_settings(
        &self,
        user_id: &str,
        email: Option<&str>,
        referrals: bool,
        cases: bool,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE hub_user SET email = $1, email_referrals = $2, email_cases = $3 WHERE id = $4",
        )
        .bind(email)
        .bind(flag(referrals))
        .bind(flag(cases))
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving e-mail settings"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
        oldest: i64,
        limit: i64,
    ) -> Result<Vec<MailJob>> {
        sqlx::query("UPDATE notification SET mail = 'expired' WHERE mail = 'due' AND at < $1")
            .bind(oldest)
            .execute(&self.pool)
            .await
            .map_err(sql_error("expiring old e-mails"))?;
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM notification WHERE mail = 'due' AND (mail_next_at IS NULL OR mail_next_at <= $1) \
             ORDER BY at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("finding e-mails to send"))?;
        let mut jobs = Vec::new();
        for id in due {
            // The lease: only one claimant's update finds the row still due.
            let leased = sqlx::query(
                "UPDATE notification SET mail_next_at = $1 WHERE id = $2 AND mail = 'due' \
                 AND (mail_next_at IS NULL OR mail_next_at <= $3)",
            )
            .bind(lease_until)
            .bind(&id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(sql_error("leasing an e-mail"))?;
            if leased.rows_affected() != 1 {
                continue;
            }
            let row = sqlx::query(
                "SELECT n.audience, n.topic, n.mail_attempts, u.email, u.email_referrals, u.email_cases, u.active \
                 FROM notification n JOIN hub_user u ON u.id = n.user_id WHERE n.id = $1",
            )
            .bind(&id)
            .fetch_one(&self.pool)
            .await
            .map_err(sql_error("reading an e-mail to send"))?;
            let audience: String = get(&row, "audience")?;
            let topic: String = get(&row, "topic")?;
            let email: Option<String> = get(&row, "email")?;
            let (Some(audience), Some(topic)) =
                (Audience::from_code(&audience), Topic::from_code(&topic))
            else {
                return Err(StoreError::Corrupt {
                    found: format!("{audience} {topic}"),
                    expected: "a notification's audience and topic",
                });
            };
            let wanted = match audience {
                Audience::Referrer => get::<i64>(&row, "email_referrals")? != 0,
                Audience::Caseworker => get::<i64>(&row, "email_cases")? != 0,
            } && get::<i64>(&row, "active")? != 0;
            match email {
                Some(to) if wanted => jobs.push(MailJob {
                    id,
                    to,
                    audience,
                    topic,
                    attempts: get(&row, "mail_attempts")?,
                }),
                _ => {
                    sqlx::query("UPDATE notification SET mail = 'none' WHERE id = $1")
                        .bind(&id)
                        .execute(&self.pool)
                        .await
                        .map_err(sql_error("dropping an unwanted e-mail"))?;
                }
            }
        }
        Ok(jobs)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn mail_done(&self, id: &str, now: i64, outcome: &MailOutcome) -> Result<()> {
        let (mail, next_at, error) = match outcome {
            MailOutcome::Sent => ("sent", None, None),
            MailOutcome::Retry { next_at, error } => ("due", Some(*next_at), Some(error.as_str())),
            MailOutcome::Failed { error } => ("failed", None, Some(error.as_str())),
        };
        sqlx::query(
            "UPDATE notification SET mail = $1, mail_next_at = $2, mail_error = $3, mail_at = $4, \
             mail_attempts = mail_attempts + 1 WHERE id = $5",
        )
        .bind(mail)
        .bind(next_at)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(sql_error("recording an e-mail"))?;
        Ok(())
    }
}

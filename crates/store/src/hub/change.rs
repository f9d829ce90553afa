//! One change to a referral: the case read inside the write transaction, the
//! change decided by `syndemic_hub::case::apply` on that row, its effect, timeline
//! entry, notifications (`syndemic_hub::notify`) and audit entry written together.

use super::*;
use syndemic_hub::case::{self, Case, Decided, Effect};
use syndemic_hub::notify::{notices, Followers};

/// Changing a case: one change under its event id, decided by `syndemic_hub::case::apply` on the row read inside the transaction.
#[async_trait]
pub trait CaseChanges: Send + Sync {
    /// Applies one change to a referral under the caller's event id, in one
    /// transaction with its timeline and audit entries. The same event id applied
    /// again changes nothing. With `expected_version`, a referral changed since
    /// is refused rather than overwritten.
    async fn apply(
        &self,
        referral_id: &str,
        event_id: &str,
        by: &Stamp<'_>,
        change: &Change,
        expected_version: Option<i64>,
    ) -> Result<Applied, ChangeError>;
}

/// An outcome row to write: recorded under its event's id, or a correction of
/// the outcome it `replaces`.
struct NewOutcome<'a> {
    id: &'a str,
    referral_id: &'a str,
    code: syndemic_hub::need::OutcomeCode,
    value: Option<f64>,
    at: i64,
    actor: &'a str,
    replaces: Option<&'a str>,
}

impl NewOutcome<'_> {
    async fn insert(&self, tx: &mut Transaction<'static, Any>) -> Result<(), ChangeError> {
        crate::sql::nullable_floats(
            "INSERT INTO referral_outcome (id, referral_id, code, value, at, actor, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.id)
        .bind(self.referral_id)
        .bind(self.code.code())
        .bind(self.value)
        .bind(self.at)
        .bind(self.actor)
        .bind(self.replaces)
        .execute(&mut **tx)
        .await
        .map_err(sql_error("saving an outcome"))?;
        Ok(())
    }
}

impl SqlStore {
    /// The writes of a change [`case::apply`] allowed.
    async fn effect_in(
        tx: &mut Transaction<'static, Any>,
        referral_id: &str,
        event_id: &str,
        actor: &str,
        now: i64,
        effect: Effect,
    ) -> Result<(), ChangeError> {
        match effect {
            Effect::Status {
                to,
                reached,
                closed,
            } => {
                sqlx::query(
                    "UPDATE referral SET status = $1, \
                     first_contact_at = CASE WHEN $2 = 1 AND first_contact_at IS NULL THEN $3 ELSE first_contact_at END, \
                     closed_at = CASE WHEN $4 = 1 THEN $3 ELSE NULL END WHERE id = $5",
                )
                .bind(to.code())
                .bind(flag(reached))
                .bind(now)
                .bind(flag(closed))
                .bind(referral_id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("changing a status"))?;
            }
            Effect::Timeline => {}
            Effect::Route {
                service_id,
                service_org,
            } => {
                sqlx::query(
                    "UPDATE referral SET triage = 'accepted', service_id = $1, service_org = $2, assigned_to = NULL WHERE id = $3",
                )
                .bind(service_id)
                .bind(service_org)
                .bind(referral_id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("routing a referral"))?;
            }
            Effect::Decline => {
                sqlx::query(
                    "UPDATE referral SET triage = 'declined', status = 'declined', closed_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(referral_id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("declining a referral"))?;
            }
            Effect::Assign { user_id } => {
                sqlx::query("UPDATE referral SET assigned_to = $1 WHERE id = $2")
                    .bind(user_id)
                    .bind(referral_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(sql_error("assigning a referral"))?;
            }
            Effect::Outcome { code, value } => {
                let outcome = NewOutcome {
                    id: event_id,
                    referral_id,
                    code,
                    value,
                    at: now,
                    actor,
                    replaces: None,
                };
                outcome.insert(tx).await?;
            }
            Effect::VoidOutcome {
                outcome_id,
                reason,
                replacement,
            } => {
                let voided = sqlx::query(
                    "UPDATE referral_outcome SET voided_at = $1, void_reason = $2 WHERE id = $3 AND referral_id = $4 AND voided_at IS NULL",
                )
                .bind(now)
                .bind(&reason)
                .bind(&outcome_id)
                .bind(referral_id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("voiding an outcome"))?;
                if voided.rows_affected() == 0 {
                    return Err(ChangeError::Refused(
                        "that outcome is not one of this case's standing outcomes: reload the page"
                            .into(),
                    ));
                }
                if let Some((code, value)) = replacement {
                    let outcome = NewOutcome {
                        id: event_id,
                        referral_id,
                        code,
                        value,
                        at: now,
                        actor,
                        replaces: Some(&outcome_id),
                    };
                    outcome.insert(tx).await?;
                }
            }
            Effect::AddTask { title, due } => {
                sqlx::query(
                    "INSERT INTO referral_task (id, referral_id, title, due, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(event_id)
                .bind(referral_id)
                .bind(title)
                .bind(due)
                .bind(actor)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("saving a task"))?;
            }
            Effect::DoneTask { task_id } => {
                let done = sqlx::query(
                    "UPDATE referral_task SET done_at = $1 WHERE id = $2 AND referral_id = $3 AND done_at IS NULL",
                )
                .bind(now)
                .bind(task_id)
                .bind(referral_id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("finishing a task"))?;
                if done.rows_affected() == 0 {
                    return Err(ChangeError::Refused("no open task with that id".into()));
                }
            }
            Effect::WithdrawConsent => {
                sqlx::query("UPDATE referral SET consent_withdrawn_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(referral_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(sql_error("recording a withdrawal of consent"))?;
            }
            Effect::ConfirmLink { same_person } => {
                sqlx::query(
                    "UPDATE referral SET link_confirmed = $1, linked_to = CASE WHEN $1 = 1 THEN linked_to ELSE NULL END WHERE id = $2",
                )
                .bind(flag(same_person))
                .bind(referral_id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("confirming a link"))?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CaseChanges for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn apply(
        &self,
        referral_id: &str,
        event_id: &str,
        by: &Stamp<'_>,
        change: &Change,
        expected_version: Option<i64>,
    ) -> Result<Applied, ChangeError> {
        let (actor, actor_org, now) = (by.actor, by.org, by.at);
        let mut tx = self.tx().await?;
        let seen: Option<String> =
            sqlx::query_scalar("SELECT referral_id FROM referral_event WHERE id = $1")
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(sql_error("checking an update"))?;
        if let Some(of) = seen {
            if of != referral_id {
                return Err(ChangeError::Refused(format!(
                    "the update id `{event_id}` was used for another referral"
                )));
            }
            return Ok(Applied::Repeat);
        }
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral WHERE id = $1"
        ))
        .bind(referral_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(sql_error("reading a referral"))?;
        let r = match row {
            Some(row) => referral_of(&row)?,
            None => return Err(ChangeError::NotFound(referral_id.to_owned())),
        };
        if let Some(expected) = expected_version {
            if expected != r.version {
                return Err(ChangeError::Stale {
                    expected,
                    found: r.version,
                });
            }
        }
        let case = Case {
            status: r.status,
            service_id: r.service_id.clone(),
            erased: r.erased_at.is_some(),
            consent_withdrawn: r.consent_withdrawn_at.is_some(),
            linked: r.linked_to.is_some(),
        };
        let Decided { effect, body, data } =
            case::apply(&case, change).map_err(ChangeError::Refused)?;
        let followers = Followers {
            referrer: &r.referrer,
            assigned_to: r.assigned_to.as_deref(),
        };
        let told = notices(change, &followers, actor);
        Self::effect_in(&mut tx, &r.id, event_id, actor, now, effect).await?;
        sqlx::query("UPDATE referral SET version = version + 1 WHERE id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("updating a referral"))?;
        sqlx::query(
            "INSERT INTO referral_event (id, referral_id, at, actor, kind, body, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(event_id)
        .bind(referral_id)
        .bind(now)
        .bind(actor)
        .bind(change.kind())
        .bind(body.as_deref())
        .bind(data.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving the timeline"))?;
        super::notify::notify_in(&mut tx, referral_id, event_id, now, &told)
            .await
            .map_err(sql_error("saving notifications"))?;
        audit_in(
            &mut tx,
            &AuditEntry {
                at: now,
                actor: actor.to_owned(),
                org: actor_org.to_owned(),
                action: "change".into(),
                subject: "referral".into(),
                record: referral_id.to_owned(),
                reason: change.kind().into(),
            },
        )
        .await?;
        tx.commit()
            .await
            .map_err(sql_error("committing an update"))?;
        Ok(Applied::Done)
    }
}

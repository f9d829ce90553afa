//! One change to a referral, checked against its lifecycle inside the transaction.

use super::*;

impl SqlStore {
    /// Applies one change to a referral under the caller's event id, in one
    /// transaction with its timeline and audit entries. The same event id applied
    /// again changes nothing. With `expected_version`, a referral changed since
    /// is refused rather than overwritten.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn apply(
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
        if r.erased_at.is_some() {
            return Err(ChangeError::Refused(
                "the referral's personal data was erased".into(),
            ));
        }
        let (body, data) = self
            .change_in(&mut tx, &r, event_id, actor, now, change)
            .await?;
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

    /// The change's own writes; returns the timeline entry's text and data.
    async fn change_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        r: &ReferralRecord,
        event_id: &str,
        actor: &str,
        now: i64,
        change: &Change,
    ) -> Result<(Option<String>, Option<String>), ChangeError> {
        match change {
            Change::Status { to, reason } => {
                r.status.check_move(*to).map_err(ChangeError::Refused)?;
                if r.status.move_needs_reason(*to) && reason.trim().is_empty() {
                    return Err(ChangeError::Refused(format!(
                        "give a reason for making the case {}",
                        to.label().to_lowercase()
                    )));
                }
                if r.service_id.is_none() && *to != Status::Declined {
                    return Err(ChangeError::Refused(
                        "route the referral to a service before working it".into(),
                    ));
                }
                sqlx::query(
                    "UPDATE referral SET status = $1, \
                     first_contact_at = CASE WHEN $2 = 1 AND first_contact_at IS NULL THEN $3 ELSE first_contact_at END, \
                     closed_at = CASE WHEN $4 = 1 THEN $3 ELSE NULL END WHERE id = $5",
                )
                .bind(to.code())
                .bind(flag(to.reached()))
                .bind(now)
                .bind(flag(to.is_final()))
                .bind(&r.id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("changing a status"))?;
                Ok((
                    Some(reason.trim().to_owned()).filter(|s| !s.is_empty()),
                    Some(format!("{}→{}", r.status.code(), to.code())),
                ))
            }
            Change::Note { text, .. } => {
                let text = text.trim();
                if text.is_empty() {
                    return Err(ChangeError::Refused("a note needs some text".into()));
                }
                if text.chars().count() > syndemic_hub::referral::MAX_NOTE {
                    return Err(ChangeError::Refused(
                        "a note is at most 4000 characters".into(),
                    ));
                }
                Ok((Some(text.to_owned()), None))
            }
            Change::Route {
                service_id,
                service_org,
                reason,
            } => {
                if r.status.is_final() {
                    return Err(ChangeError::Refused(format!(
                        "a {} case cannot be routed",
                        r.status.label().to_lowercase()
                    )));
                }
                sqlx::query(
                    "UPDATE referral SET triage = 'accepted', service_id = $1, service_org = $2, assigned_to = NULL WHERE id = $3",
                )
                .bind(service_id)
                .bind(service_org.as_deref())
                .bind(&r.id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("routing a referral"))?;
                let from = r.service_id.clone().unwrap_or_default();
                Ok((
                    Some(reason.trim().to_owned()).filter(|s| !s.is_empty()),
                    Some(format!("{from}→{service_id}")),
                ))
            }
            Change::Decline { reason } => {
                if reason.trim().is_empty() {
                    return Err(ChangeError::Refused("give a reason for declining".into()));
                }
                r.status
                    .check_move(Status::Declined)
                    .map_err(ChangeError::Refused)?;
                sqlx::query(
                    "UPDATE referral SET triage = 'declined', status = 'declined', closed_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(&r.id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("declining a referral"))?;
                Ok((Some(reason.trim().to_owned()), None))
            }
            Change::Assign { user_id } => {
                sqlx::query("UPDATE referral SET assigned_to = $1 WHERE id = $2")
                    .bind(user_id.as_deref())
                    .bind(&r.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(sql_error("assigning a referral"))?;
                Ok((None, user_id.clone()))
            }
            Change::Outcome { code, value } => {
                let value = code.check_value(*value).map_err(ChangeError::Refused)?;
                crate::sql::nullable_floats(
                    "INSERT INTO referral_outcome (id, referral_id, code, value, at, actor) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(event_id)
                .bind(&r.id)
                .bind(code.code())
                .bind(value)
                .bind(now)
                .bind(actor)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("saving an outcome"))?;
                Ok((
                    Some(code.label().to_owned()),
                    Some(format!(
                        "{}={}",
                        code.code(),
                        value.map(|v| v.to_string()).unwrap_or_default()
                    )),
                ))
            }
            Change::AddTask { title, due } => {
                let title = title.trim();
                if title.is_empty() {
                    return Err(ChangeError::Refused("a task needs a title".into()));
                }
                let due = syndemic_hub::workdays::parse_date(due).map_err(ChangeError::Refused)?;
                let due = syndemic_hub::workdays::format_date(due);
                sqlx::query(
                    "INSERT INTO referral_task (id, referral_id, title, due, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(event_id)
                .bind(&r.id)
                .bind(title)
                .bind(&due)
                .bind(actor)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("saving a task"))?;
                Ok((Some(title.to_owned()), Some(due)))
            }
            Change::DoneTask { task_id } => {
                let done = sqlx::query(
                    "UPDATE referral_task SET done_at = $1 WHERE id = $2 AND referral_id = $3 AND done_at IS NULL",
                )
                .bind(now)
                .bind(task_id)
                .bind(&r.id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("finishing a task"))?;
                if done.rows_affected() == 0 {
                    return Err(ChangeError::Refused("no open task with that id".into()));
                }
                Ok((None, Some(task_id.clone())))
            }
            Change::WithdrawConsent { reason } => {
                if r.consent_withdrawn_at.is_some() {
                    return Err(ChangeError::Refused("consent was withdrawn already".into()));
                }
                sqlx::query("UPDATE referral SET consent_withdrawn_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&r.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(sql_error("recording a withdrawal of consent"))?;
                Ok((
                    Some(reason.trim().to_owned()).filter(|s| !s.is_empty()),
                    None,
                ))
            }
            Change::ConfirmLink { same_person } => {
                if r.linked_to.is_none() {
                    return Err(ChangeError::Refused(
                        "the referral is linked to no other".into(),
                    ));
                }
                sqlx::query(
                    "UPDATE referral SET link_confirmed = $1, linked_to = CASE WHEN $1 = 1 THEN linked_to ELSE NULL END WHERE id = $2",
                )
                .bind(flag(*same_person))
                .bind(&r.id)
                .execute(&mut **tx)
                .await
                .map_err(sql_error("confirming a link"))?;
                Ok((
                    None,
                    Some(
                        if *same_person {
                            "same person"
                        } else {
                            "not the same person"
                        }
                        .into(),
                    ),
                ))
            }
        }
    }
}

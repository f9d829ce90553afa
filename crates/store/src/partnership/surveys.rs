//! Residents' surveys: their definitions, responses arriving in batches, free
//! text kept apart (read only through an audited call), contacts kept apart from
//! both, and the daily cap of anonymous submissions per client.

use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::*;

/// A survey as stored: its definition is `syndemic_partnership::survey::Survey`
/// as JSON, read and checked by the callers.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyRecord {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub definition: String,
    /// The area whose small areas responses are placed in.
    pub place: String,
    /// The wave responses go to now; `None` when the survey is closed.
    pub open_wave: Option<String>,
    pub partnership_id: Option<String>,
    pub created_at: i64,
}

/// A batch of responses written together, once.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyBatch {
    pub id: String,
    pub survey_id: String,
    /// `form`, `paper` or `import`.
    pub kind: String,
    /// The staff member who entered or imported it; `None` for the public form.
    pub entered_by: Option<String>,
    pub at: i64,
}

/// One response as kept: its small area, never its postcode or pin.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRecord {
    pub id: String,
    pub wave: String,
    pub channel: String,
    pub lsoa: String,
    pub age_band: Option<String>,
    pub sex: Option<String>,
    pub ethnicity: Option<String>,
    /// The closed answers as JSON.
    pub answers: String,
    pub at: i64,
}

/// A response to add, with its free text (question key, text).
#[derive(Debug, Clone, PartialEq)]
pub struct NewResponse {
    pub record: ResponseRecord,
    pub texts: Vec<(String, String)>,
}

/// One free-text answer, for staff.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRecord {
    pub response_id: String,
    pub wave: String,
    pub lsoa: String,
    pub question: String,
    pub body: String,
}

/// A count of responses by channel and small area, for participation.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    pub batch: SurveyBatch,
    pub responses: i64,
}

/// A resident's pin on "what matters here": the small area it fell in, never
/// the point.
#[derive(Debug, Clone, PartialEq)]
pub struct PinRecord {
    pub id: String,
    pub survey_id: String,
    pub theme: String,
    pub lsoa: String,
    pub comment: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub at: i64,
}

/// Residents' surveys and their responses.
#[async_trait]
pub trait Surveys: Send + Sync {
    /// Saves a survey (a new one, or a changed definition or open wave of one
    /// with this id), audited.
    async fn put_survey(&self, s: &SurveyRecord, audit: &AuditEntry) -> Result<()>;

    async fn surveys(&self) -> Result<Vec<SurveyRecord>>;

    async fn survey_by_slug(&self, slug: &str) -> Result<Option<SurveyRecord>>;

    /// Adds a batch of responses, their free text and any contacts (kept with no
    /// link to a response), in one transaction with its audit entry, once:
    /// `Ok(false)` if a batch with this id was added before (nothing changes).
    async fn add_responses(
        &self,
        batch: &SurveyBatch,
        responses: &[NewResponse],
        contacts: &[String],
        audit: &AuditEntry,
    ) -> Result<bool>;

    /// Every response of a survey, oldest first: small areas and closed answers,
    /// never free text.
    async fn responses(&self, survey_id: &str) -> Result<Vec<ResponseRecord>>;

    /// The batches of a survey, oldest first, with how many responses each has.
    async fn batches(&self, survey_id: &str) -> Result<Vec<BatchSummary>>;

    /// The free text of a survey: a read of personal data, audited in the same
    /// transaction.
    async fn texts(&self, survey_id: &str, audit: &AuditEntry) -> Result<Vec<TextRecord>>;

    /// How many contacts a survey holds (read only by count: they are for the
    /// survey's team, exported through an audited route).
    async fn contact_count(&self, survey_id: &str) -> Result<i64>;

    /// Adds a resident's pin (pending moderation).
    async fn add_pin(&self, pin: &PinRecord, audit: &AuditEntry) -> Result<()>;

    /// The pins of a survey that are not rejected, by small area and theme —
    /// no comment: what the public aggregates are counted from.
    async fn pin_themes(&self, survey_id: &str) -> Result<Vec<(String, String)>>;

    /// The pins of a survey with their comments, of one status or all: a read of
    /// residents' words, audited in the same transaction.
    async fn pins(
        &self,
        survey_id: &str,
        status: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<Vec<PinRecord>>;

    /// Approves or rejects a pin, audited: `Ok(false)` if there is no such pin.
    async fn moderate_pin(
        &self,
        survey_id: &str,
        id: &str,
        status: &str,
        by: &str,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<bool>;

    /// Counts one anonymous submission of `client` on `day`, unless it has
    /// made `cap` already: `Ok(false)` then, and nothing is counted.
    async fn take_quota(&self, survey_id: &str, client: &str, day: i64, cap: i64) -> Result<bool>;
}

fn survey_of(row: &AnyRow) -> Result<SurveyRecord> {
    Ok(SurveyRecord {
        id: get(row, "id")?,
        slug: get(row, "slug")?,
        title: get(row, "title")?,
        definition: get(row, "definition")?,
        place: get(row, "place")?,
        open_wave: get(row, "open_wave")?,
        partnership_id: get(row, "partnership_id")?,
        created_at: get(row, "created_at")?,
    })
}

fn response_of(row: &AnyRow) -> Result<ResponseRecord> {
    Ok(ResponseRecord {
        id: get(row, "id")?,
        wave: get(row, "wave")?,
        channel: get(row, "channel")?,
        lsoa: get(row, "lsoa")?,
        age_band: get(row, "age_band")?,
        sex: get(row, "sex")?,
        ethnicity: get(row, "ethnicity")?,
        answers: get(row, "answers")?,
        at: get(row, "at")?,
    })
}

#[async_trait]
impl Surveys for SqlStore {
    async fn put_survey(&self, s: &SurveyRecord, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO survey (id, slug, title, definition, place, open_wave, partnership_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, definition = excluded.definition, \
             open_wave = excluded.open_wave, partnership_id = excluded.partnership_id",
        )
        .bind(&s.id)
        .bind(&s.slug)
        .bind(&s.title)
        .bind(&s.definition)
        .bind(&s.place)
        .bind(s.open_wave.as_deref())
        .bind(s.partnership_id.as_deref())
        .bind(s.created_at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a survey"))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await.map_err(sql_error("committing a survey"))
    }

    async fn surveys(&self) -> Result<Vec<SurveyRecord>> {
        let rows = sqlx::query("SELECT * FROM survey ORDER BY created_at, slug")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading surveys"))?;
        rows.iter().map(survey_of).collect()
    }

    async fn survey_by_slug(&self, slug: &str) -> Result<Option<SurveyRecord>> {
        let row = sqlx::query("SELECT * FROM survey WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await
            .map_err(sql_error("reading a survey"))?;
        row.as_ref().map(survey_of).transpose()
    }

    async fn add_responses(
        &self,
        batch: &SurveyBatch,
        responses: &[NewResponse],
        contacts: &[String],
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.tx().await?;
        let fresh = sqlx::query(
            "INSERT INTO survey_batch (id, survey_id, kind, entered_by, responses, at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&batch.id)
        .bind(&batch.survey_id)
        .bind(&batch.kind)
        .bind(batch.entered_by.as_deref())
        .bind(responses.len() as i64)
        .bind(batch.at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a batch of responses"))?;
        if fresh.rows_affected() == 0 {
            return Ok(false);
        }
        for n in responses {
            let r = &n.record;
            sqlx::query(
                "INSERT INTO survey_response (id, survey_id, batch_id, wave, channel, lsoa, age_band, sex, ethnicity, answers, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&r.id)
            .bind(&batch.survey_id)
            .bind(&batch.id)
            .bind(&r.wave)
            .bind(&r.channel)
            .bind(&r.lsoa)
            .bind(r.age_band.as_deref())
            .bind(r.sex.as_deref())
            .bind(r.ethnicity.as_deref())
            .bind(&r.answers)
            .bind(r.at)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving a response"))?;
            for (i, (question, body)) in n.texts.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO survey_text (id, response_id, question, body) VALUES ($1, $2, $3, $4)",
                )
                .bind(format!("{}-{i}", r.id))
                .bind(&r.id)
                .bind(question)
                .bind(body)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("saving a response's text"))?;
            }
        }
        for (i, contact) in contacts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO survey_contact (id, survey_id, contact, at) VALUES ($1, $2, $3, $4)",
            )
            .bind(format!("{}-{i}", batch.id))
            .bind(&batch.survey_id)
            .bind(contact)
            .bind(batch.at)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving a contact"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a batch of responses"))?;
        Ok(true)
    }

    async fn responses(&self, survey_id: &str) -> Result<Vec<ResponseRecord>> {
        let rows = sqlx::query(
            "SELECT id, wave, channel, lsoa, age_band, sex, ethnicity, answers, at \
             FROM survey_response WHERE survey_id = $1 ORDER BY at, id",
        )
        .bind(survey_id)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading responses"))?;
        rows.iter().map(response_of).collect()
    }

    async fn batches(&self, survey_id: &str) -> Result<Vec<BatchSummary>> {
        let rows = sqlx::query("SELECT * FROM survey_batch WHERE survey_id = $1 ORDER BY at, id")
            .bind(survey_id)
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading batches of responses"))?;
        rows.iter()
            .map(|row| {
                Ok(BatchSummary {
                    batch: SurveyBatch {
                        id: get(row, "id")?,
                        survey_id: get(row, "survey_id")?,
                        kind: get(row, "kind")?,
                        entered_by: get(row, "entered_by")?,
                        at: get(row, "at")?,
                    },
                    responses: get(row, "responses")?,
                })
            })
            .collect()
    }

    async fn texts(&self, survey_id: &str, audit: &AuditEntry) -> Result<Vec<TextRecord>> {
        let mut tx = self.tx().await?;
        audit_in(&mut tx, audit).await?;
        let rows = sqlx::query(
            "SELECT t.response_id, r.wave, r.lsoa, t.question, t.body FROM survey_text t \
             JOIN survey_response r ON r.id = t.response_id WHERE r.survey_id = $1 ORDER BY r.at, t.id",
        )
        .bind(survey_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(sql_error("reading free text"))?;
        let texts = rows
            .iter()
            .map(|row| {
                Ok(TextRecord {
                    response_id: get(row, "response_id")?,
                    wave: get(row, "wave")?,
                    lsoa: get(row, "lsoa")?,
                    question: get(row, "question")?,
                    body: get(row, "body")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit()
            .await
            .map_err(sql_error("committing a read of free text"))?;
        Ok(texts)
    }

    async fn contact_count(&self, survey_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM survey_contact WHERE survey_id = $1")
            .bind(survey_id)
            .fetch_one(&self.pool)
            .await
            .map_err(sql_error("counting contacts"))?;
        get(&row, "n")
    }

    async fn add_pin(&self, pin: &PinRecord, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO survey_pin (id, survey_id, theme, lsoa, comment, status, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&pin.id)
        .bind(&pin.survey_id)
        .bind(&pin.theme)
        .bind(&pin.lsoa)
        .bind(&pin.comment)
        .bind(&pin.status)
        .bind(pin.at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a pin"))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await.map_err(sql_error("committing a pin"))
    }

    async fn pin_themes(&self, survey_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT lsoa, theme FROM survey_pin WHERE survey_id = $1 AND status <> 'rejected' ORDER BY at, id",
        )
        .bind(survey_id)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading pins"))?;
        rows.iter()
            .map(|r| Ok((get(r, "lsoa")?, get(r, "theme")?)))
            .collect()
    }

    async fn pins(
        &self,
        survey_id: &str,
        status: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<Vec<PinRecord>> {
        let mut tx = self.tx().await?;
        audit_in(&mut tx, audit).await?;
        let rows = sqlx::query(
            "SELECT * FROM survey_pin WHERE survey_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY at, id",
        )
        .bind(survey_id)
        .bind(status)
        .fetch_all(&mut *tx)
        .await
        .map_err(sql_error("reading pins"))?;
        let pins = rows
            .iter()
            .map(|r| {
                Ok(PinRecord {
                    id: get(r, "id")?,
                    survey_id: get(r, "survey_id")?,
                    theme: get(r, "theme")?,
                    lsoa: get(r, "lsoa")?,
                    comment: get(r, "comment")?,
                    status: get(r, "status")?,
                    at: get(r, "at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit()
            .await
            .map_err(sql_error("committing a read of pins"))?;
        Ok(pins)
    }

    async fn moderate_pin(
        &self,
        survey_id: &str,
        id: &str,
        status: &str,
        by: &str,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query(
            "UPDATE survey_pin SET status = $1, moderated_by = $2, moderated_at = $3 WHERE id = $4 AND survey_id = $5",
        )
        .bind(status)
        .bind(by)
        .bind(at)
        .bind(id)
        .bind(survey_id)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("moderating a pin"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a pin's moderation"))?;
        Ok(true)
    }

    async fn take_quota(&self, survey_id: &str, client: &str, day: i64, cap: i64) -> Result<bool> {
        let mut tx = self.tx().await?;
        let taken = sqlx::query(
            "INSERT INTO survey_quota (survey_id, client, day, used) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (survey_id, client, day) DO UPDATE SET used = survey_quota.used + 1 \
             WHERE survey_quota.used < $4",
        )
        .bind(survey_id)
        .bind(client)
        .bind(day)
        .bind(cap)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("counting a submission"))?;
        tx.commit()
            .await
            .map_err(sql_error("committing a submission's count"))?;
        Ok(taken.rows_affected() > 0)
    }
}

//! Partnership and accountability records: partners' profiles, partnerships and
//! their members, frameworks, action plans and commitments, progress updates with
//! their evidence files, board reviews, anchor measures and social value, the
//! business map and the business-engagement self-assessment, residents'
//! surveys with their responses, and community-defined places.
//!
//! Every import is one transaction (all or nothing) with its audit entry; every
//! update and review is written under the id its page drew, so a double click or a
//! retried request records it once.

mod business;
mod community;
mod surveys;

pub use business::Businesses;
pub use community::*;
pub use surveys::*;

/// The partnership's records: `PartnershipRecords`, `Businesses`, `Surveys` and
/// `CommunityPlaces`.
pub trait Partnerships: PartnershipRecords + Businesses + Surveys + CommunityPlaces {}

impl<T: PartnershipRecords + Businesses + Surveys + CommunityPlaces> Partnerships for T {}

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::hub::{audit_in, flag, AuditEntry, HubOrg};
use crate::sql::{get, nullable_floats, sql_error};
use crate::{Result, SqlStore};

/// Partners, partnerships and members, frameworks, plans, commitments, progress updates with evidence, and board reviews.
#[async_trait]
pub trait PartnershipRecords: Send + Sync {
    /// Writes a partners' import — organisations, their profiles, their
    /// memberships — in one transaction with its audit entry.
    async fn import_partners(&self, i: &PartnersImport, audit: &AuditEntry) -> Result<()>;

    /// Saves one partner's profile (and its organisation's name), audited.
    async fn put_profile(&self, org: &HubOrg, p: &PartnerProfile, audit: &AuditEntry)
        -> Result<()>;

    async fn profiles(&self) -> Result<Vec<PartnerProfile>>;

    /// Saves a partnership and its members (replacing the members it had).
    async fn put_partnership(
        &self,
        p: &PartnershipRecord,
        members: &[MemberRecord],
        audit: &AuditEntry,
    ) -> Result<()>;

    async fn partnerships(&self) -> Result<Vec<PartnershipRecord>>;

    /// Every partnership's members.
    async fn members(&self) -> Result<Vec<MemberRecord>>;

    /// Saves a framework with its objectives (replacing those it had), audited.
    async fn put_framework(&self, f: &FrameworkRecord, audit: &AuditEntry) -> Result<()>;

    async fn frameworks(&self) -> Result<Vec<FrameworkRecord>>;

    /// Saves a plan and adds its commitments, in one transaction: a plan imported
    /// from a spreadsheet is stored whole or not at all. A commitment whose
    /// reference the plan already has is refused (the database's unique key).
    async fn put_plan(
        &self,
        plan: &PlanRecord,
        commitments: &[CommitmentRecord],
        audit: &AuditEntry,
    ) -> Result<()>;

    /// Changes a commitment — what, who, its objective, indicator, baseline,
    /// target, target areas and milestones (replacing those it had) — in one
    /// transaction with its audit entry. `Ok(false)` if there is no such commitment.
    async fn update_commitment(&self, c: &CommitmentRecord, audit: &AuditEntry) -> Result<bool>;

    async fn plans(&self) -> Result<Vec<PlanRecord>>;

    /// Commitments of one plan, or all, with their partners, areas and milestones.
    async fn commitments(&self, plan: Option<&str>) -> Result<Vec<CommitmentRecord>>;

    /// Records a progress update with its evidence files and audit entry, once:
    /// `Ok(false)` if an update with this id was recorded before.
    async fn add_update(
        &self,
        u: &UpdateRecord,
        files: &[EvidenceFile],
        milestones_done: &[(i64, String)],
        audit: &AuditEntry,
    ) -> Result<bool>;

    /// Progress updates of one commitment, or all, oldest first, with their
    /// evidence files' names and sizes.
    async fn updates(&self, commitment: Option<&str>) -> Result<Vec<UpdateRecord>>;

    async fn evidence_file(&self, id: &str) -> Result<Option<EvidenceFile>>;

    /// Records a board review once: `Ok(false)` if one with this id was recorded before.
    async fn add_review(&self, r: &ReviewRecord, audit: &AuditEntry) -> Result<bool>;

    /// Reviews of one commitment, or all, oldest first.
    async fn reviews(&self, commitment: Option<&str>) -> Result<Vec<ReviewRecord>>;
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartnerProfile {
    pub org_id: String,
    /// A `syndemic_partnership::sector::Sector` code.
    pub sector: String,
    pub sub_type: Option<String>,
    pub size_band: Option<String>,
    pub employees: Option<i64>,
    /// The share (0–1) of employees living in the place.
    pub local_employee_share: Option<f64>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// The small area its address is in.
    pub area: Option<String>,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub anchor: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartnershipRecord {
    pub id: String,
    pub name: String,
    /// `health-and-wellbeing-board`, `ics-partnership`, `community-partnership`, ….
    pub kind: String,
    /// The area it covers (a district, county or ICB code).
    pub area: Option<String>,
    /// The partnership it is nested in.
    pub parent_id: Option<String>,
    /// The framework its commitments are classified against.
    pub framework: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub partnership_id: String,
    pub org_id: String,
    /// `lead` or `member`.
    pub role: String,
    /// The member's seat (e.g. "Chair", "Director of Public Health").
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FrameworkRecord {
    pub code: String,
    pub name: String,
    /// The partnership that added it; `None` for a built-in one.
    pub partnership_id: Option<String>,
    pub objectives: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub id: String,
    pub partnership_id: String,
    pub title: String,
    pub owner_org: String,
    pub period_start: String,
    pub period_end: String,
    pub priorities: Vec<String>,
    /// How often each commitment owes a progress update.
    pub update_every_days: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneRecord {
    pub seq: i64,
    pub due: String,
    pub what: String,
    pub done_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommitmentRecord {
    pub id: String,
    pub plan_id: String,
    pub reference: String,
    pub title: String,
    pub lead_org: String,
    pub contributors: Vec<String>,
    pub framework: Option<String>,
    pub objective: Option<String>,
    pub indicator: Option<String>,
    /// The area the indicator is measured for (the partnership's, unless named).
    pub indicator_area: Option<String>,
    pub baseline_period: Option<String>,
    pub baseline_value: Option<f64>,
    pub target_value: Option<f64>,
    pub target_date: Option<String>,
    /// The rule the target areas were resolved from (`local-quintile:E08000009:1`).
    pub target_rule: Option<String>,
    /// The small areas it targets, resolved when it was made.
    pub areas: Vec<String>,
    pub milestones: Vec<MilestoneRecord>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceMeta {
    pub id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceFile {
    pub id: String,
    pub update_id: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The row id of a progress update: made from the sender's organisation, the
/// commitment and the sender's id (lengths first, so no two triples make the same
/// text), so that ids are scoped by organisation and commitment.
fn update_row_id(org: &str, commitment: &str, id: &str) -> String {
    let whole = format!(
        "{}:{org}{}:{commitment}{}:{id}",
        org.len(),
        commitment.len(),
        id.len()
    );
    format!("pu-{}", &syndemic_access::secret::hex_sha256(&whole)[..40])
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRecord {
    /// The sender's id for the update: the same id again from the same
    /// organisation on the same commitment records nothing new; another
    /// organisation, or another commitment, may use it too.
    pub id: String,
    pub commitment_id: String,
    pub at: i64,
    pub author: String,
    pub org_id: String,
    /// `not-started`, `on-track`, `at-risk`, `off-track`, `complete`.
    pub status: String,
    pub narrative: String,
    pub evidence: Vec<EvidenceMeta>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRecord {
    pub id: String,
    pub commitment_id: String,
    pub reviewed_on: String,
    /// The board's agreed rating.
    pub rating: String,
    pub actions: String,
    pub next_review: Option<String>,
    pub by_user: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnchorRecord {
    pub org_id: String,
    pub year: i64,
    pub employees: Option<i64>,
    pub hired_most_deprived_share: Option<f64>,
    pub local_spend_share: Option<f64>,
    pub sme_vcse_spend_share: Option<f64>,
    pub real_living_wage: Option<bool>,
    pub apprenticeships: Option<i64>,
    pub volunteering_hours: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SocialValueRecord {
    pub org_id: String,
    pub year: i64,
    pub contract: String,
    pub theme: String,
    pub outcome: String,
    pub measure: String,
    pub unit: String,
    pub quantity: f64,
    pub proxy_value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessRecord {
    pub id: String,
    /// The list it came from (`business-rates-2026`, a partner's own).
    pub source: String,
    pub name: String,
    pub company_number: Option<String>,
    pub sic_code: Option<String>,
    pub size_band: String,
    pub employees: Option<i64>,
    pub local_employees: Option<i64>,
    pub postcode: Option<String>,
    pub area: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCountRecord {
    pub area: String,
    pub year: i64,
    pub unit: String,
    pub size_band: String,
    pub band_text: String,
    pub industry: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MaturityRecord {
    pub partnership_id: String,
    pub assessed_on: String,
    pub criterion: String,
    pub score: i64,
    pub note: String,
}

/// Everything a partners' import writes.
#[derive(Debug, Clone, Default)]
pub struct PartnersImport {
    pub orgs: Vec<HubOrg>,
    pub profiles: Vec<PartnerProfile>,
    pub members: Vec<MemberRecord>,
}

fn profile_of(r: &AnyRow) -> Result<PartnerProfile> {
    Ok(PartnerProfile {
        org_id: get(r, "org_id")?,
        sector: get(r, "sector")?,
        sub_type: get(r, "sub_type")?,
        size_band: get(r, "size_band")?,
        employees: get(r, "employees")?,
        local_employee_share: get(r, "local_employee_share")?,
        address: get(r, "address")?,
        postcode: get(r, "postcode")?,
        area: get(r, "area")?,
        charity_number: get(r, "charity_number")?,
        company_number: get(r, "company_number")?,
        anchor: get::<i64>(r, "anchor")? != 0,
    })
}

async fn put_org_in(tx: &mut Transaction<'_, Any>, org: &HubOrg, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO hub_org (id, name, sector, is_hub, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, sector = excluded.sector",
    )
    .bind(&org.id)
    .bind(&org.name)
    .bind(&org.sector)
    .bind(flag(org.is_hub))
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(sql_error("saving an organisation"))?;
    Ok(())
}

async fn put_profile_in(tx: &mut Transaction<'_, Any>, p: &PartnerProfile, now: i64) -> Result<()> {
    nullable_floats(
        "INSERT INTO partner_profile (org_id, sector, sub_type, size_band, employees, local_employee_share, \
         address, postcode, area, charity_number, company_number, anchor, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (org_id) DO UPDATE SET sector = excluded.sector, sub_type = excluded.sub_type, \
         size_band = excluded.size_band, employees = excluded.employees, \
         local_employee_share = excluded.local_employee_share, address = excluded.address, \
         postcode = excluded.postcode, area = excluded.area, charity_number = excluded.charity_number, \
         company_number = excluded.company_number, anchor = excluded.anchor, updated_at = excluded.updated_at",
    )
    .bind(&p.org_id)
    .bind(&p.sector)
    .bind(p.sub_type.as_deref())
    .bind(p.size_band.as_deref())
    .bind(p.employees)
    .bind(p.local_employee_share)
    .bind(p.address.as_deref())
    .bind(p.postcode.as_deref())
    .bind(p.area.as_deref())
    .bind(p.charity_number.as_deref())
    .bind(p.company_number.as_deref())
    .bind(flag(p.anchor))
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(sql_error("saving a partner's profile"))?;
    Ok(())
}

async fn put_member_in(tx: &mut Transaction<'_, Any>, m: &MemberRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO partnership_member (partnership_id, org_id, role, title) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (partnership_id, org_id) DO UPDATE SET role = excluded.role, title = excluded.title",
    )
    .bind(&m.partnership_id)
    .bind(&m.org_id)
    .bind(&m.role)
    .bind(m.title.as_deref())
    .execute(&mut **tx)
    .await
    .map_err(sql_error("saving a partnership's member"))?;
    Ok(())
}

async fn put_commitment_in(tx: &mut Transaction<'_, Any>, c: &CommitmentRecord) -> Result<()> {
    nullable_floats(
        "INSERT INTO commitment (id, plan_id, reference, title, lead_org, framework, objective, indicator, \
         indicator_area, baseline_period, baseline_value, target_value, target_date, target_rule, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&c.id)
    .bind(&c.plan_id)
    .bind(&c.reference)
    .bind(&c.title)
    .bind(&c.lead_org)
    .bind(c.framework.as_deref())
    .bind(c.objective.as_deref())
    .bind(c.indicator.as_deref())
    .bind(c.indicator_area.as_deref())
    .bind(c.baseline_period.as_deref())
    .bind(c.baseline_value)
    .bind(c.target_value)
    .bind(c.target_date.as_deref())
    .bind(c.target_rule.as_deref())
    .bind(c.created_at)
    .execute(&mut **tx)
    .await
    .map_err(sql_error("saving a commitment"))?;
    put_parts_in(tx, c).await
}

/// A commitment's contributing partners, target areas and milestones.
async fn put_parts_in(tx: &mut Transaction<'_, Any>, c: &CommitmentRecord) -> Result<()> {
    for org in &c.contributors {
        sqlx::query("INSERT INTO commitment_partner (commitment_id, org_id) VALUES ($1, $2)")
            .bind(&c.id)
            .bind(org)
            .execute(&mut **tx)
            .await
            .map_err(sql_error("saving a commitment's partner"))?;
    }
    for area in &c.areas {
        sqlx::query("INSERT INTO commitment_area (commitment_id, area) VALUES ($1, $2)")
            .bind(&c.id)
            .bind(area)
            .execute(&mut **tx)
            .await
            .map_err(sql_error("saving a commitment's target area"))?;
    }
    for m in &c.milestones {
        sqlx::query(
            "INSERT INTO milestone (commitment_id, seq, due, what, done_on) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.id)
        .bind(m.seq)
        .bind(&m.due)
        .bind(&m.what)
        .bind(m.done_on.as_deref())
        .execute(&mut **tx)
        .await
        .map_err(sql_error("saving a milestone"))?;
    }
    Ok(())
}

const COMMITMENT_COLUMNS: &str = "id, plan_id, reference, title, lead_org, framework, objective, indicator, \
     indicator_area, baseline_period, baseline_value, target_value, target_date, target_rule, created_at";

fn commitment_of(r: &AnyRow) -> Result<CommitmentRecord> {
    Ok(CommitmentRecord {
        id: get(r, "id")?,
        plan_id: get(r, "plan_id")?,
        reference: get(r, "reference")?,
        title: get(r, "title")?,
        lead_org: get(r, "lead_org")?,
        contributors: Vec::new(),
        framework: get(r, "framework")?,
        objective: get(r, "objective")?,
        indicator: get(r, "indicator")?,
        indicator_area: get(r, "indicator_area")?,
        baseline_period: get(r, "baseline_period")?,
        baseline_value: get(r, "baseline_value")?,
        target_value: get(r, "target_value")?,
        target_date: get(r, "target_date")?,
        target_rule: get(r, "target_rule")?,
        areas: Vec::new(),
        milestones: Vec::new(),
        created_at: get(r, "created_at")?,
    })
}

fn plan_of(r: &AnyRow) -> Result<PlanRecord> {
    let priorities: String = get(r, "priorities")?;
    Ok(PlanRecord {
        id: get(r, "id")?,
        partnership_id: get(r, "partnership_id")?,
        title: get(r, "title")?,
        owner_org: get(r, "owner_org")?,
        period_start: get(r, "period_start")?,
        period_end: get(r, "period_end")?,
        priorities: priorities
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        update_every_days: get(r, "update_every_days")?,
    })
}

fn review_of(r: &AnyRow) -> Result<ReviewRecord> {
    Ok(ReviewRecord {
        id: get(r, "id")?,
        commitment_id: get(r, "commitment_id")?,
        reviewed_on: get(r, "reviewed_on")?,
        rating: get(r, "rating")?,
        actions: get(r, "actions")?,
        next_review: get(r, "next_review")?,
        by_user: get(r, "by_user")?,
        at: get(r, "at")?,
    })
}

impl SqlStore {
    // --- partners and partnerships ---------------------------------------------

    // --- frameworks ------------------------------------------------------------------

    // --- plans and commitments ------------------------------------------------------

    // --- progress and reviews ----------------------------------------------------------
}

#[async_trait]
impl PartnershipRecords for SqlStore {
    async fn import_partners(&self, i: &PartnersImport, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        for o in &i.orgs {
            put_org_in(&mut tx, o, audit.at).await?;
        }
        for p in &i.profiles {
            put_profile_in(&mut tx, p, audit.at).await?;
        }
        for m in &i.members {
            put_member_in(&mut tx, m).await?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing the partners' import"))
    }

    async fn put_profile(
        &self,
        org: &HubOrg,
        p: &PartnerProfile,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        put_org_in(&mut tx, org, audit.at).await?;
        put_profile_in(&mut tx, p, audit.at).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a partner's profile"))
    }

    async fn profiles(&self) -> Result<Vec<PartnerProfile>> {
        let rows = sqlx::query("SELECT * FROM partner_profile ORDER BY org_id")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading partners' profiles"))?;
        rows.iter().map(profile_of).collect()
    }

    async fn put_partnership(
        &self,
        p: &PartnershipRecord,
        members: &[MemberRecord],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO partnership (id, name, kind, area, parent_id, framework, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             kind = excluded.kind, area = excluded.area, parent_id = excluded.parent_id, framework = excluded.framework",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.kind)
        .bind(p.area.as_deref())
        .bind(p.parent_id.as_deref())
        .bind(&p.framework)
        .bind(audit.at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a partnership"))?;
        sqlx::query("DELETE FROM partnership_member WHERE partnership_id = $1")
            .bind(&p.id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("replacing a partnership's members"))?;
        for m in members {
            put_member_in(&mut tx, m).await?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a partnership"))
    }

    async fn partnerships(&self) -> Result<Vec<PartnershipRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, kind, area, parent_id, framework FROM partnership ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading partnerships"))?;
        rows.iter()
            .map(|r| {
                Ok(PartnershipRecord {
                    id: get(r, "id")?,
                    name: get(r, "name")?,
                    kind: get(r, "kind")?,
                    area: get(r, "area")?,
                    parent_id: get(r, "parent_id")?,
                    framework: get(r, "framework")?,
                })
            })
            .collect()
    }

    async fn members(&self) -> Result<Vec<MemberRecord>> {
        let rows = sqlx::query(
            "SELECT partnership_id, org_id, role, title FROM partnership_member ORDER BY partnership_id, role, org_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading partnerships' members"))?;
        rows.iter()
            .map(|r| {
                Ok(MemberRecord {
                    partnership_id: get(r, "partnership_id")?,
                    org_id: get(r, "org_id")?,
                    role: get(r, "role")?,
                    title: get(r, "title")?,
                })
            })
            .collect()
    }

    async fn put_framework(&self, f: &FrameworkRecord, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO framework (code, name, partnership_id) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name",
        )
        .bind(&f.code)
        .bind(&f.name)
        .bind(f.partnership_id.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a framework"))?;
        for (seq, (code, label)) in f.objectives.iter().enumerate() {
            sqlx::query(
                "INSERT INTO framework_objective (framework, code, label, seq) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (framework, code) DO UPDATE SET label = excluded.label, seq = excluded.seq",
            )
            .bind(&f.code)
            .bind(code)
            .bind(label)
            .bind(seq as i64)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving a framework's objective"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a framework"))
    }

    async fn frameworks(&self) -> Result<Vec<FrameworkRecord>> {
        let rows = sqlx::query("SELECT code, name, partnership_id FROM framework ORDER BY code")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading frameworks"))?;
        let objectives = sqlx::query(
            "SELECT framework, code, label FROM framework_objective ORDER BY framework, seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading frameworks' objectives"))?;
        rows.iter()
            .map(|r| {
                let code: String = get(r, "code")?;
                let mut list = Vec::new();
                for o in &objectives {
                    if get::<String>(o, "framework")? == code {
                        list.push((get(o, "code")?, get(o, "label")?));
                    }
                }
                Ok(FrameworkRecord {
                    name: get(r, "name")?,
                    partnership_id: get(r, "partnership_id")?,
                    objectives: list,
                    code,
                })
            })
            .collect()
    }

    async fn put_plan(
        &self,
        plan: &PlanRecord,
        commitments: &[CommitmentRecord],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO action_plan (id, partnership_id, title, owner_org, period_start, period_end, priorities, \
             update_every_days, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, owner_org = excluded.owner_org, \
             period_start = excluded.period_start, period_end = excluded.period_end, \
             priorities = excluded.priorities, update_every_days = excluded.update_every_days",
        )
        .bind(&plan.id)
        .bind(&plan.partnership_id)
        .bind(&plan.title)
        .bind(&plan.owner_org)
        .bind(&plan.period_start)
        .bind(&plan.period_end)
        .bind(plan.priorities.join("\n"))
        .bind(plan.update_every_days)
        .bind(audit.at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving an action plan"))?;
        for c in commitments {
            put_commitment_in(&mut tx, c).await?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing an action plan"))
    }

    async fn update_commitment(&self, c: &CommitmentRecord, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = nullable_floats(
            "UPDATE commitment SET title = $2, lead_org = $3, framework = $4, objective = $5, indicator = $6, \
             indicator_area = $7, baseline_period = $8, baseline_value = $9, target_value = $10, target_date = $11, \
             target_rule = $12 WHERE id = $1",
        )
        .bind(&c.id)
        .bind(&c.title)
        .bind(&c.lead_org)
        .bind(c.framework.as_deref())
        .bind(c.objective.as_deref())
        .bind(c.indicator.as_deref())
        .bind(c.indicator_area.as_deref())
        .bind(c.baseline_period.as_deref())
        .bind(c.baseline_value)
        .bind(c.target_value)
        .bind(c.target_date.as_deref())
        .bind(c.target_rule.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(sql_error("changing a commitment"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for table in ["commitment_partner", "commitment_area", "milestone"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE commitment_id = $1"))
                .bind(&c.id)
                .execute(&mut *tx)
                .await
                .map_err(sql_error(
                    "replacing a commitment's partners, areas and milestones",
                ))?;
        }
        put_parts_in(&mut tx, c).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a changed commitment"))?;
        Ok(true)
    }

    async fn plans(&self) -> Result<Vec<PlanRecord>> {
        let rows = sqlx::query("SELECT * FROM action_plan ORDER BY period_start, title")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading action plans"))?;
        rows.iter().map(plan_of).collect()
    }

    async fn commitments(&self, plan: Option<&str>) -> Result<Vec<CommitmentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COMMITMENT_COLUMNS} FROM commitment WHERE ($1 IS NULL OR plan_id = $1) ORDER BY plan_id, reference"
        ))
        .bind(plan)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading commitments"))?;
        let mut out: Vec<CommitmentRecord> =
            rows.iter().map(commitment_of).collect::<Result<_>>()?;
        // M2 before M10: references in the order people number them.
        out.sort_by(|a, b| {
            a.plan_id
                .cmp(&b.plan_id)
                .then_with(|| syndemic_model::natural_cmp(&a.reference, &b.reference))
        });
        let index: rustc_hash::FxHashMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let partners = sqlx::query(
            "SELECT commitment_id, org_id FROM commitment_partner ORDER BY commitment_id, org_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading commitments' partners"))?;
        for r in &partners {
            if let Some(&i) = index.get(&get::<String>(r, "commitment_id")?) {
                out[i].contributors.push(get(r, "org_id")?);
            }
        }
        let areas = sqlx::query(
            "SELECT commitment_id, area FROM commitment_area ORDER BY commitment_id, area",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading commitments' areas"))?;
        for r in &areas {
            if let Some(&i) = index.get(&get::<String>(r, "commitment_id")?) {
                out[i].areas.push(get(r, "area")?);
            }
        }
        let milestones = sqlx::query(
            "SELECT commitment_id, seq, due, what, done_on FROM milestone ORDER BY commitment_id, seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading milestones"))?;
        for r in &milestones {
            if let Some(&i) = index.get(&get::<String>(r, "commitment_id")?) {
                out[i].milestones.push(MilestoneRecord {
                    seq: get(r, "seq")?,
                    due: get(r, "due")?,
                    what: get(r, "what")?,
                    done_on: get(r, "done_on")?,
                });
            }
        }
        Ok(out)
    }

    async fn add_update(
        &self,
        u: &UpdateRecord,
        files: &[EvidenceFile],
        milestones_done: &[(i64, String)],
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.tx().await?;
        let row_id = update_row_id(&u.org_id, &u.commitment_id, &u.id);
        let done = sqlx::query(
            "INSERT INTO progress_update (id, caller_id, commitment_id, at, author, org_id, status, narrative) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id, commitment_id, caller_id) DO NOTHING",
        )
        .bind(&row_id)
        .bind(&u.id)
        .bind(&u.commitment_id)
        .bind(u.at)
        .bind(&u.author)
        .bind(&u.org_id)
        .bind(&u.status)
        .bind(&u.narrative)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a progress update"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for f in files {
            sqlx::query(
                "INSERT INTO update_evidence (id, update_id, file_name, content_type, bytes) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&f.id)
            .bind(&row_id)
            .bind(&f.file_name)
            .bind(&f.content_type)
            .bind(&f.bytes)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("saving an update's evidence"))?;
        }
        for (seq, on) in milestones_done {
            sqlx::query(
                "UPDATE milestone SET done_on = $1 WHERE commitment_id = $2 AND seq = $3 AND done_on IS NULL",
            )
            .bind(on)
            .bind(&u.commitment_id)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("marking a milestone done"))?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a progress update"))?;
        Ok(true)
    }

    async fn updates(&self, commitment: Option<&str>) -> Result<Vec<UpdateRecord>> {
        let rows = sqlx::query(
            "SELECT id, caller_id, commitment_id, at, author, org_id, status, narrative FROM progress_update \
             WHERE ($1 IS NULL OR commitment_id = $1) ORDER BY commitment_id, at, id",
        )
        .bind(commitment)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading progress updates"))?;
        let files = sqlx::query(
            "SELECT e.id, e.update_id, e.file_name, e.content_type, CAST(LENGTH(e.bytes) AS BIGINT) AS size FROM update_evidence e \
             JOIN progress_update u ON u.id = e.update_id WHERE ($1 IS NULL OR u.commitment_id = $1) ORDER BY e.file_name",
        )
        .bind(commitment)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading updates' evidence"))?;
        // Evidence belongs to the row (its own id), shown under the sender's id.
        let row_ids: Vec<String> = rows.iter().map(|r| get(r, "id")).collect::<Result<_>>()?;
        let mut out: Vec<UpdateRecord> = rows
            .iter()
            .map(|r| {
                Ok(UpdateRecord {
                    id: get(r, "caller_id")?,
                    commitment_id: get(r, "commitment_id")?,
                    at: get(r, "at")?,
                    author: get(r, "author")?,
                    org_id: get(r, "org_id")?,
                    status: get(r, "status")?,
                    narrative: get(r, "narrative")?,
                    evidence: Vec::new(),
                })
            })
            .collect::<Result<_>>()?;
        let index: rustc_hash::FxHashMap<String, usize> = row_ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        for f in &files {
            if let Some(&i) = index.get(&get::<String>(f, "update_id")?) {
                out[i].evidence.push(EvidenceMeta {
                    id: get(f, "id")?,
                    file_name: get(f, "file_name")?,
                    content_type: get(f, "content_type")?,
                    size: get(f, "size")?,
                });
            }
        }
        Ok(out)
    }

    async fn evidence_file(&self, id: &str) -> Result<Option<EvidenceFile>> {
        let row = sqlx::query(
            "SELECT e.id, u.caller_id AS update_id, e.file_name, e.content_type, e.bytes FROM update_evidence e \
             JOIN progress_update u ON u.id = e.update_id WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading an evidence file"))?;
        row.map(|r| {
            Ok(EvidenceFile {
                id: get(&r, "id")?,
                update_id: get(&r, "update_id")?,
                file_name: get(&r, "file_name")?,
                content_type: get(&r, "content_type")?,
                bytes: get(&r, "bytes")?,
            })
        })
        .transpose()
    }

    async fn add_review(&self, r: &ReviewRecord, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query(
            "INSERT INTO board_review (id, commitment_id, reviewed_on, rating, actions, next_review, by_user, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.commitment_id)
        .bind(&r.reviewed_on)
        .bind(&r.rating)
        .bind(&r.actions)
        .bind(r.next_review.as_deref())
        .bind(&r.by_user)
        .bind(r.at)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("saving a board review"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing a board review"))?;
        Ok(true)
    }

    async fn reviews(&self, commitment: Option<&str>) -> Result<Vec<ReviewRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM board_review WHERE ($1 IS NULL OR commitment_id = $1) ORDER BY commitment_id, reviewed_on, at",
        )
        .bind(commitment)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading board reviews"))?;
        rows.iter().map(review_of).collect()
    }
}

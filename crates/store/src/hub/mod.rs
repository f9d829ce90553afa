//! The referral hub's records: organisations, users, sessions, API tokens, the
//! service directory, referrals and everything that happens to them, and the
//! audit log.
//!
//! Every write that a person is told has happened is one committed transaction
//! (on SQLite with `synchronous = FULL`), and every write is idempotent under the
//! id its caller chose: a referral under (referring organisation, idempotency key),
//! an update under its event id. A retried request therefore finds its first
//! attempt rather than doing it twice.

mod accounts;
mod audit;
mod change;
mod create;
mod directory;
mod erase;
mod group_commit;
mod notify;
mod read;

pub use accounts::Accounts;
pub(crate) use audit::audit_in;
pub use audit::Audit;
pub use change::CaseChanges;
pub use create::NewReferrals;
pub use directory::ServiceDirectory;
pub use erase::SubjectRights;
pub use notify::{MailJob, MailOutcome, NotificationPage, NotificationRecord, Notifications};
pub use read::ReferralReads;

/// The referral hub's records, one trait per concern (`ReferralReads`,
/// `NewReferrals`, `CaseChanges`, `ServiceDirectory`, `SubjectRights`,
/// `Notifications`); a type that keeps them all keeps a hub.
pub trait Referrals:
    ReferralReads + NewReferrals + CaseChanges + ServiceDirectory + SubjectRights + Notifications
{
}

impl<
        T: ReferralReads
            + NewReferrals
            + CaseChanges
            + ServiceDirectory
            + SubjectRights
            + Notifications,
    > Referrals for T
{
}
pub(crate) use group_commit::{checkpointer, group_commit, Pending};

use async_trait::async_trait;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use syndemic_access::Role;
pub use syndemic_hub::case::Change;
use syndemic_hub::need::{Need, OutcomeCode, RiskFlag, Urgency};
use syndemic_hub::oruk::Feed;
use syndemic_hub::person::Person;
use syndemic_hub::referral::{Consent, Draft};
use syndemic_hub::status::Status;
use syndemic_hub::triage::Terms;

use crate::sql::{get, sql_error, Backend};
use crate::{Result, SqlStore, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct HubOrg {
    pub id: String,
    pub name: String,
    /// Council, NHS, police, fire, voluntary, business, residents.
    pub sector: String,
    /// Whether it runs a hub that receives referrals.
    pub is_hub: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub org_id: String,
    pub user_name: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub active: bool,
    /// When the user was trained to refer (`YYYY-MM-DD`).
    pub trained_on: Option<String>,
    pub created_at: i64,
    /// Where notifications are e-mailed, if anywhere.
    pub email: Option<String>,
    /// E-mail news of the referrals this user made.
    pub email_referrals: bool,
    /// E-mail news of the cases assigned to this user.
    pub email_cases: bool,
}

impl UserRecord {
    /// A new, active user with no password yet (they set it through a reset
    /// link), no second factor, no failed sign-ins and no training recorded.
    pub fn new(
        id: impl Into<String>,
        org_id: impl Into<String>,
        user_name: impl Into<String>,
        display_name: impl Into<String>,
        role: Role,
        created_at: i64,
    ) -> UserRecord {
        UserRecord {
            id: id.into(),
            org_id: org_id.into(),
            user_name: user_name.into(),
            display_name: display_name.into(),
            role,
            password_hash: None,
            totp_secret: None,
            failed_logins: 0,
            locked_until: None,
            active: true,
            trained_on: None,
            created_at,
            email: None,
            email_referrals: true,
            email_cases: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub user_id: String,
    pub csrf: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A referral as stored. `person`, `consent` and `note` are `None` once erased
/// or purged; the counts the reports need stay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralRecord {
    pub id: String,
    pub reference: String,
    pub hub_org: String,
    pub referrer_org: String,
    pub referrer: String,
    pub created_at: i64,
    pub status: Status,
    /// `pending`, `accepted` or `declined`.
    pub triage: String,
    pub urgency: Urgency,
    pub needs: Vec<Need>,
    pub health_condition: bool,
    pub service_id: Option<String>,
    pub service_org: Option<String>,
    pub assigned_to: Option<String>,
    pub lsoa: Option<String>,
    pub imd_decile: Option<i64>,
    pub person: Option<Person>,
    pub consent: Option<Consent>,
    pub flags: Vec<RiskFlag>,
    pub note: Option<String>,
    pub first_contact_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// An earlier referral of the same person, as found by the match keys.
    pub linked_to: Option<String>,
    pub link_confirmed: bool,
    pub consent_withdrawn_at: Option<i64>,
    pub erased_at: Option<i64>,
    pub version: i64,
}

/// A new referral: the checked draft, where it goes, and who sent it.
#[derive(Debug, Clone)]
pub struct NewReferral {
    pub id: String,
    /// The reference people quote. If another referral has it already (short
    /// references drawn at random do clash: 8 hex digits among 30,000 referrals,
    /// one time in ten), the store gives a longer one drawn from `id` instead.
    pub reference: String,
    pub hub_org: String,
    pub referrer_org: String,
    pub referrer: String,
    pub idempotency_key: String,
    /// A digest of the request, so that a key reused for another request is caught.
    pub request_hash: String,
    pub created_at: i64,
    pub draft: Draft,
    pub lsoa: Option<String>,
    pub imd_decile: Option<i64>,
    pub match_keys: Vec<String>,
}

/// What creating a referral did.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub id: String,
    pub reference: String,
    /// The idempotency key had been used for this same request: nothing new was made.
    pub repeat: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: String,
    pub referral_id: String,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub body: Option<String>,
    pub data: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub referral_id: String,
    pub title: String,
    pub due: String,
    pub done_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRecord {
    pub id: String,
    pub referral_id: String,
    pub code: OutcomeCode,
    pub value: Option<f64>,
    pub at: i64,
    /// Voided (recorded in error, or replaced by a correction): kept, never counted.
    pub voided_at: Option<i64>,
    pub void_reason: Option<String>,
    /// The outcome this one corrects.
    pub replaces: Option<String>,
}

impl OutcomeRecord {
    /// Whether it counts: not voided.
    pub fn stands(&self) -> bool {
        self.voided_at.is_none()
    }
}

/// Who made a change, for which organisation, and when (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub org: &'a str,
    pub at: i64,
}

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The event id had been applied already: nothing changed.
    Repeat,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no referral {0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error(
        "the referral changed meanwhile (version {found}, not {expected}): reload it and try again"
    )]
    Stale { expected: i64, found: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a referral was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the idempotency key `{0}` was used for a different referral: use a new key for a new referral")]
    KeyReused(String),
    /// Concurrent writers took this referral's key or reference three tries in a
    /// row (each try after a clash sees what they wrote): retry with the same key.
    #[error("a concurrent request made this referral")]
    Raced,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A row of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: i64,
    /// The user id, `token:{id}`, or `system`.
    pub actor: String,
    pub org: String,
    /// `view`, `create`, `change`, `export`, `erase`, `purge`, `login`, …
    pub action: String,
    /// What kind of record: `referral`, `person`, `user`, `report`, …
    pub subject: String,
    pub record: String,
    pub reason: String,
}

/// Which referrals to list.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub hub_org: Option<String>,
    pub service_org: Option<String>,
    pub referrer: Option<String>,
    pub referrer_org: Option<String>,
}

fn codes<T: Copy>(items: &[T], code: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|i| code(*i)).collect::<Vec<_>>().join(",")
}

fn parse_codes<T>(text: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            parse(c).ok_or_else(|| StoreError::Corrupt {
                found: format!("`{c}`"),
                expected: "a known code",
            })
        })
        .collect()
}

fn json_of<T: serde::de::DeserializeOwned>(text: Option<String>) -> Result<Option<T>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|_| StoreError::Corrupt {
            found: "unreadable JSON".into(),
            expected: "a stored record",
        })
    })
    .transpose()
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub(crate) fn flag(v: bool) -> i64 {
    i64::from(v)
}

fn user_of(row: &AnyRow) -> Result<UserRecord> {
    let role: String = get(row, "role")?;
    Ok(UserRecord {
        id: get(row, "id")?,
        org_id: get(row, "org_id")?,
        user_name: get(row, "user_name")?,
        display_name: get(row, "display_name")?,
        role: Role::from_code(&role).ok_or(StoreError::Corrupt {
            found: role,
            expected: "a role",
        })?,
        password_hash: get(row, "password_hash")?,
        totp_secret: get(row, "totp_secret")?,
        failed_logins: get(row, "failed_logins")?,
        locked_until: get(row, "locked_until")?,
        active: get::<i64>(row, "active")? != 0,
        trained_on: get(row, "trained_on")?,
        created_at: get(row, "created_at")?,
        email: get(row, "email")?,
        email_referrals: get::<i64>(row, "email_referrals")? != 0,
        email_cases: get::<i64>(row, "email_cases")? != 0,
    })
}

const USER_COLUMNS: &str =
    "id, org_id, user_name, display_name, role, password_hash, totp_secret, \
     failed_logins, locked_until, active, trained_on, created_at, email, email_referrals, email_cases";

const REFERRAL_COLUMNS: &str =
    "id, reference, hub_org, referrer_org, referrer, created_at, status, \
     triage, urgency, needs, health_condition, service_id, service_org, assigned_to, lsoa, \
     imd_decile, person, consent, flags, note, first_contact_at, closed_at, linked_to, \
     link_confirmed, consent_withdrawn_at, erased_at, version";

fn referral_of(row: &AnyRow) -> Result<ReferralRecord> {
    let status: String = get(row, "status")?;
    let urgency: String = get(row, "urgency")?;
    Ok(ReferralRecord {
        id: get(row, "id")?,
        reference: get(row, "reference")?,
        hub_org: get(row, "hub_org")?,
        referrer_org: get(row, "referrer_org")?,
        referrer: get(row, "referrer")?,
        created_at: get(row, "created_at")?,
        status: Status::from_code(&status).ok_or(StoreError::Corrupt {
            found: status,
            expected: "a case status",
        })?,
        triage: get(row, "triage")?,
        urgency: Urgency::from_code(&urgency).ok_or(StoreError::Corrupt {
            found: urgency,
            expected: "an urgency",
        })?,
        needs: parse_codes(&get::<String>(row, "needs")?, Need::from_code)?,
        health_condition: get::<i64>(row, "health_condition")? != 0,
        service_id: get(row, "service_id")?,
        service_org: get(row, "service_org")?,
        assigned_to: get(row, "assigned_to")?,
        lsoa: get(row, "lsoa")?,
        imd_decile: get(row, "imd_decile")?,
        person: json_of(get(row, "person")?)?,
        consent: json_of(get(row, "consent")?)?,
        flags: parse_codes(&get::<String>(row, "flags")?, RiskFlag::from_code)?,
        note: get(row, "note")?,
        first_contact_at: get(row, "first_contact_at")?,
        closed_at: get(row, "closed_at")?,
        linked_to: get(row, "linked_to")?,
        link_confirmed: get::<i64>(row, "link_confirmed")? != 0,
        consent_withdrawn_at: get(row, "consent_withdrawn_at")?,
        erased_at: get(row, "erased_at")?,
        version: get(row, "version")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

impl SqlStore {
    /// A write transaction. On SQLite it takes the write lock at the start
    /// (`BEGIN IMMEDIATE`): a transaction that reads and then writes would
    /// otherwise fail at once with "database is locked" when another writer got
    /// in between, instead of waiting its turn (busy_timeout only covers waits
    /// for a lock, not upgrades of one).
    pub(crate) async fn tx(&self) -> Result<Transaction<'static, Any>> {
        let begun = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        begun.map_err(sql_error("starting a transaction"))
    }

    /// On SQLite, the connection's `PRAGMA synchronous` (2 = FULL); `None` on PostgreSQL.
    pub async fn sqlite_synchronous(&self) -> Result<Option<i64>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let v: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.pool)
            .await
            .map_err(sql_error("reading PRAGMA synchronous"))?;
        Ok(Some(v))
    }
}

//! The referral hub's records: organisations, users, sessions, API tokens, the
//! service directory, referrals and everything that happens to them, and the
//! audit log.
//!
//! Every write that a person is told has happened is one committed transaction
//! (on SQLite with `synchronous = FULL`), and every write is idempotent under the
//! id its caller chose: a referral under (referring organisation, idempotency key),
//! an update under its event id. A retried request therefore finds its first
//! attempt rather than doing it twice.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use syndemic_hub::access::Role;
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
    pub referral_id: String,
    pub code: OutcomeCode,
    pub value: Option<f64>,
    pub at: i64,
}

/// One change to a referral, recorded on its timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Status {
        to: Status,
        reason: String,
    },
    /// A note; `contact` marks a contact with the person (call, visit, message).
    Note {
        text: String,
        contact: bool,
    },
    /// Accept to a service, reroute, or refer onward: routes the case to it.
    Route {
        service_id: String,
        service_org: Option<String>,
        reason: String,
    },
    Decline {
        reason: String,
    },
    Assign {
        user_id: Option<String>,
    },
    Outcome {
        code: OutcomeCode,
        value: Option<f64>,
    },
    AddTask {
        title: String,
        due: String,
    },
    DoneTask {
        task_id: String,
    },
    WithdrawConsent {
        reason: String,
    },
    /// The coordinator confirms (or rejects) that the linked referral is the same person.
    ConfirmLink {
        same_person: bool,
    },
}

impl Change {
    fn kind(&self) -> &'static str {
        match self {
            Change::Status { .. } => "status",
            Change::Note { contact: true, .. } => "contact",
            Change::Note { .. } => "note",
            Change::Route { .. } => "route",
            Change::Decline { .. } => "decline",
            Change::Assign { .. } => "assign",
            Change::Outcome { .. } => "outcome",
            Change::AddTask { .. } => "task",
            Change::DoneTask { .. } => "task-done",
            Change::WithdrawConsent { .. } => "consent-withdrawn",
            Change::ConfirmLink { .. } => "link",
        }
    }
}

/// A referral waiting for the group-commit writer, and where its answer goes.
pub(crate) type Pending = (
    NewReferral,
    tokio::sync::oneshot::Sender<Result<Created, CreateError>>,
);

/// Most referrals in one group commit.
const GROUP: usize = 128;

/// The SQLite group-commit writer: see [`SqlStore::create_referral`].
///
/// It holds one connection of the pool while it lives, so that a group never
/// waits behind readers for one, and SQLite's automatic checkpoint is off on it:
/// no referral's commit waits for the log to be copied into the database
/// ([`checkpointer`] does that beside it). It ends, giving the connection back
/// with the checkpoint on, when its channel closes: when the store is closed
/// ([`SqlStore::close`]) or its last handle dropped.
pub(crate) async fn group_commit(
    pool: sqlx::AnyPool,
    mut receive: tokio::sync::mpsc::Receiver<Pending>,
) {
    let mut conn = None;
    while let Some(first) = receive.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < GROUP {
            match receive.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match writer_connection(&pool).await {
                Ok(c) => conn = Some(c),
                Err((e, doing)) => {
                    let results = failed_all(&jobs, &e, doing);
                    for ((_, reply), result) in jobs.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let results = commit_group(c, &jobs).await;
        if results
            .iter()
            .any(|r| matches!(r, Err(CreateError::Store(_))))
        {
            // After a failure the connection's state is unknown: take a new one.
            if let Some(mut c) = conn.take() {
                c.close_on_drop();
            }
        }
        for ((_, reply), result) in jobs.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
    if let Some(mut c) = conn {
        if sqlx::query(AUTOCHECKPOINT_ON)
            .execute(&mut *c)
            .await
            .is_err()
        {
            c.close_on_drop();
        }
    }
}

/// A pool connection with SQLite's automatic checkpoint off.
async fn writer_connection(
    pool: &sqlx::AnyPool,
) -> std::result::Result<sqlx::pool::PoolConnection<Any>, (sqlx::Error, &'static str)> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| (e, "connecting to the database"))?;
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
        .execute(&mut *conn)
        .await
        .map_err(|e| (e, "turning the automatic checkpoint off"))?;
    Ok(conn)
}

/// SQLite's default: a checkpoint when the log passes 1,000 pages.
const AUTOCHECKPOINT_ON: &str = "PRAGMA wal_autocheckpoint = 1000";

/// How often [`checkpointer`] copies the log into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Copies SQLite's write-ahead log into the database every [`CHECKPOINT_EVERY`],
/// on a connection other than the writer's (`PASSIVE`: it never blocks a writer
/// or a reader), for as long as the group-commit writer lives and the pool is open.
pub(crate) async fn checkpointer(
    pool: sqlx::AnyPool,
    writer: tokio::sync::mpsc::WeakSender<Pending>,
) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() || writer.upgrade().is_none() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            // Not fatal: the next commit of any other connection checkpoints too.
            eprintln!("warning: checkpointing the write-ahead log failed: {e}");
        }
    }
}

/// Every job answered with the same failure.
fn failed_all(
    jobs: &[Pending],
    e: &sqlx::Error,
    doing: &'static str,
) -> Vec<Result<Created, CreateError>> {
    jobs.iter()
        .map(|_| Err(sql_error(doing)(sqlx::Error::Protocol(e.to_string())).into()))
        .collect()
}

/// Commits a group in one transaction; if it fails as a whole, each referral
/// on its own, so that one that cannot be saved does not take the others with it.
async fn commit_group(
    conn: &mut sqlx::pool::PoolConnection<Any>,
    jobs: &[Pending],
) -> Vec<Result<Created, CreateError>> {
    let all: Vec<&NewReferral> = jobs.iter().map(|(n, _)| n).collect();
    match commit_set(conn, &all).await {
        Ok(out) => out,
        Err(e) if jobs.len() == 1 => vec![Err(e)],
        Err(_) => {
            let mut out = Vec::with_capacity(jobs.len());
            for n in all {
                out.push(commit_one(conn, n).await);
            }
            out
        }
    }
}

/// One referral in its own transaction, tried again after a clash with a
/// concurrent writer (which the next try sees).
async fn commit_one(
    conn: &mut sqlx::pool::PoolConnection<Any>,
    n: &NewReferral,
) -> Result<Created, CreateError> {
    for _ in 0..3 {
        match commit_set(conn, &[n]).await {
            Ok(mut out) => return out.pop().unwrap_or(Err(CreateError::Raced)),
            Err(CreateError::Raced) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CreateError::Raced)
}

async fn commit_set(
    conn: &mut sqlx::pool::PoolConnection<Any>,
    jobs: &[&NewReferral],
) -> Result<Vec<Result<Created, CreateError>>, CreateError> {
    use sqlx::Connection;
    let mut tx = (**conn)
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(sql_error("starting a transaction"))?;
    let out = create_all(Backend::Sqlite, &mut tx, jobs).await?;
    tx.commit()
        .await
        .map_err(sql_error("committing referrals"))?;
    Ok(out)
}

/// The new references asked for: `n.reference`, then `R-` and the first 12, 16
/// or all 32 hex digits of `n.id` (unique, so the last is free whatever form the
/// id takes).
fn reference_choices(n: &NewReferral) -> Vec<String> {
    let digits: String =
        n.id.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
    std::iter::once(n.reference.clone())
        .chain(
            [12, 16]
                .into_iter()
                .filter(|&k| k < digits.len())
                .map(|k| format!("R-{}", &digits[..k])),
        )
        .chain([format!("R-{digits}")])
        .collect()
}

/// `rows` copies of `template` joined by `between`: the text of a statement
/// about a set. Each `?` in them is a parameter, numbered in turn (`$1`, `$2`, …)
/// for PostgreSQL and left anonymous for SQLite (sqlx binds a named SQLite
/// parameter by a linear search for its name: see `MAX_PARAMETERS` in `sql.rs`).
fn numbered(backend: Backend, rows: usize, template: &str, between: &str) -> String {
    if backend == Backend::Sqlite {
        return vec![template; rows].join(between);
    }
    let mut out = String::new();
    let mut next = 1;
    for row in 0..rows {
        if row > 0 {
            out.push_str(between);
        }
        for (i, part) in template.split('?').enumerate() {
            if i > 0 {
                out.push_str(&format!("${next}"));
                next += 1;
            }
            out.push_str(part);
        }
    }
    out
}

/// Rows per multi-row `INSERT`: under SQLite's oldest limit of 999 parameters.
const ROWS_PER_INSERT: usize = 40;

/// The writes of new referrals inside `tx` (see [`SqlStore::create_referral`]),
/// as a set: three reads for all of them (earlier requests with the same keys,
/// earlier referrals with the same match keys, references already taken) and
/// multi-row inserts, whatever their number — a referral costs the database a
/// few rows, not a dozen statements. The answer for each is as if they had been
/// made one after another in the order given: a repeat of an earlier request
/// (in the store or in `jobs`) is answered with it, a reused key refused, a
/// person seen before linked to their earliest referral, and every reference
/// unique. `Err` (nothing of it to be committed) for a database failure, or
/// [`CreateError::Raced`] when a concurrent writer took a key or reference
/// meanwhile (PostgreSQL).
async fn create_all(
    backend: Backend,
    tx: &mut Transaction<'_, Any>,
    jobs: &[&NewReferral],
) -> Result<Vec<Result<Created, CreateError>>, CreateError> {
    use std::collections::{HashMap, HashSet};
    // Earlier requests with the same idempotency keys: (org, key) → (id, reference, hash).
    let mut requests: HashMap<(String, String), (String, String, String)> = HashMap::new();
    if !jobs.is_empty() {
        let sql = format!(
            "SELECT referrer_org, idempotency_key, id, reference, request_hash FROM referral WHERE {}",
            numbered(backend, jobs.len(), "(referrer_org = ? AND idempotency_key = ?)", " OR ")
        );
        let mut q = sqlx::query(&sql);
        for n in jobs {
            q = q.bind(&n.referrer_org).bind(&n.idempotency_key);
        }
        for row in q
            .fetch_all(&mut **tx)
            .await
            .map_err(sql_error("checking the idempotency keys"))?
        {
            requests.insert(
                (get(&row, "referrer_org")?, get(&row, "idempotency_key")?),
                (
                    get(&row, "id")?,
                    get(&row, "reference")?,
                    get(&row, "request_hash")?,
                ),
            );
        }
    }
    // The earliest referral, not erased, holding each match key: key → (created_at, id).
    let keys: Vec<&String> = jobs.iter().flat_map(|n| &n.match_keys).collect();
    let mut earliest: HashMap<String, (i64, String)> = HashMap::new();
    if !keys.is_empty() {
        let sql = format!(
            "SELECT k.match_key, k.referral_id, r.created_at FROM referral_key k \
             JOIN referral r ON r.id = k.referral_id \
             WHERE r.erased_at IS NULL AND k.match_key IN ({})",
            numbered(backend, keys.len(), "?", ", ")
        );
        let mut q = sqlx::query(&sql);
        for k in &keys {
            q = q.bind(*k);
        }
        for row in q
            .fetch_all(&mut **tx)
            .await
            .map_err(sql_error("looking for earlier referrals"))?
        {
            let key: String = get(&row, "match_key")?;
            let found: (i64, String) = (get(&row, "created_at")?, get(&row, "referral_id")?);
            match earliest.get(&key) {
                Some(known) if *known <= found => {}
                _ => {
                    earliest.insert(key, found);
                }
            }
        }
    }
    // References already taken, of those these referrals could have.
    let choices: Vec<Vec<String>> = jobs.iter().map(|n| reference_choices(n)).collect();
    let all: Vec<&String> = choices.iter().flatten().collect();
    let mut taken: HashSet<String> = HashSet::new();
    if !all.is_empty() {
        let sql = format!(
            "SELECT reference FROM referral WHERE reference IN ({})",
            numbered(backend, all.len(), "?", ", ")
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for r in &all {
            q = q.bind(*r);
        }
        taken.extend(
            q.fetch_all(&mut **tx)
                .await
                .map_err(sql_error("checking references"))?,
        );
    }
    // Each in turn, as if one after another.
    let mut out = Vec::with_capacity(jobs.len());
    let mut new: Vec<(&NewReferral, String, Option<String>)> = Vec::new();
    for (n, choices) in jobs.iter().zip(choices) {
        let request = (n.referrer_org.clone(), n.idempotency_key.clone());
        if let Some((id, reference, hash)) = requests.get(&request) {
            out.push(if *hash == n.request_hash {
                Ok(Created {
                    id: id.clone(),
                    reference: reference.clone(),
                    repeat: true,
                })
            } else {
                Err(CreateError::KeyReused(n.idempotency_key.clone()))
            });
            continue;
        }
        let linked = n
            .match_keys
            .iter()
            .find_map(|k| earliest.get(k).map(|(_, id)| id.clone()));
        let Some(reference) = choices.into_iter().find(|c| !taken.contains(c)) else {
            // Even the reference of its own (unique) id is taken: only a
            // concurrent write of this same referral does that, committed
            // between this transaction's reads (PostgreSQL reads committed data
            // afresh at each statement). Tried again, it is seen as a repeat.
            return Err(CreateError::Raced);
        };
        taken.insert(reference.clone());
        for k in &n.match_keys {
            earliest
                .entry(k.clone())
                .or_insert_with(|| (n.created_at, n.id.clone()));
        }
        requests.insert(
            request,
            (n.id.clone(), reference.clone(), n.request_hash.clone()),
        );
        out.push(Ok(Created {
            id: n.id.clone(),
            reference: reference.clone(),
            repeat: false,
        }));
        new.push((n, reference, linked));
    }
    for chunk in new.chunks(ROWS_PER_INSERT) {
        insert_referrals(backend, tx, chunk).await?;
    }
    Ok(out)
}

/// The rows of new referrals: the referral, its match keys, the first event of
/// its timeline, and the audit entry.
async fn insert_referrals(
    backend: Backend,
    tx: &mut Transaction<'_, Any>,
    rows: &[(&NewReferral, String, Option<String>)],
) -> Result<(), CreateError> {
    let sql = format!(
        "INSERT INTO referral (id, reference, hub_org, referrer_org, referrer, idempotency_key, request_hash, \
         created_at, status, triage, urgency, needs, health_condition, lsoa, imd_decile, person, consent, \
         flags, note, linked_to) VALUES {}",
        numbered(backend, rows.len(),
            "(?, ?, ?, ?, ?, ?, ?, ?, 'received', 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ", "
        )
    );
    let mut q = sqlx::query(&sql);
    for (n, reference, linked) in rows {
        let d = &n.draft;
        q = q
            .bind(&n.id)
            .bind(reference)
            .bind(&n.hub_org)
            .bind(&n.referrer_org)
            .bind(&n.referrer)
            .bind(&n.idempotency_key)
            .bind(&n.request_hash)
            .bind(n.created_at)
            .bind(d.urgency.code())
            .bind(codes(&d.needs, Need::code))
            .bind(flag(d.has_health_condition()))
            .bind(n.lsoa.as_deref())
            .bind(n.imd_decile)
            .bind(to_json(&d.person))
            .bind(to_json(&d.consent))
            .bind(codes(&d.flags, RiskFlag::code))
            .bind(&d.note)
            .bind(linked.as_deref());
    }
    if let Err(e) = q.execute(&mut **tx).await {
        return Err(if is_unique_violation(&e) {
            CreateError::Raced
        } else {
            sql_error("saving referrals")(e).into()
        });
    }
    let keys: Vec<(&String, &String)> = rows
        .iter()
        .flat_map(|(n, _, _)| n.match_keys.iter().map(|k| (k, &n.id)))
        .collect();
    for chunk in keys.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO referral_key (match_key, referral_id) VALUES {} ON CONFLICT DO NOTHING",
            numbered(backend, chunk.len(), "(?, ?)", ", ")
        );
        let mut q = sqlx::query(&sql);
        for (key, id) in chunk {
            q = q.bind(*key).bind(*id);
        }
        q.execute(&mut **tx)
            .await
            .map_err(sql_error("saving match keys"))?;
    }
    let sql = format!(
        "INSERT INTO referral_event (id, referral_id, at, actor, kind, body, data) VALUES {}",
        numbered(
            backend,
            rows.len(),
            "(?, ?, ?, ?, 'received', NULL, NULL)",
            ", "
        )
    );
    let mut q = sqlx::query(&sql);
    for (n, _, _) in rows {
        q = q
            .bind(format!("{}:received", n.id))
            .bind(&n.id)
            .bind(n.created_at)
            .bind(&n.referrer);
    }
    q.execute(&mut **tx)
        .await
        .map_err(sql_error("saving the timeline"))?;
    let sql = format!(
        "INSERT INTO audit_log (at, actor, org, action, subject, record, reason) VALUES {}",
        numbered(
            backend,
            rows.len(),
            "(?, ?, ?, 'create', 'referral', ?, 'referral made')",
            ", "
        )
    );
    let mut q = sqlx::query(&sql);
    for (n, _, _) in rows {
        q = q
            .bind(n.created_at)
            .bind(&n.referrer)
            .bind(&n.referrer_org)
            .bind(&n.id);
    }
    q.execute(&mut **tx)
        .await
        .map_err(sql_error("writing the audit log"))?;
    Ok(())
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
    })
}

const USER_COLUMNS: &str =
    "id, org_id, user_name, display_name, role, password_hash, totp_secret, \
     failed_logins, locked_until, active, trained_on, created_at";

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

    // --- organisations and users ---------------------------------------------

    pub async fn put_org(&self, org: &HubOrg, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO hub_org (id, name, sector, is_hub, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, sector = excluded.sector, is_hub = excluded.is_hub",
        )
        .bind(&org.id)
        .bind(&org.name)
        .bind(&org.sector)
        .bind(flag(org.is_hub))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving an organisation"))?;
        Ok(())
    }

    pub async fn orgs(&self) -> Result<Vec<HubOrg>> {
        let rows = sqlx::query("SELECT id, name, sector, is_hub FROM hub_org ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading organisations"))?;
        rows.iter()
            .map(|r| {
                Ok(HubOrg {
                    id: get(r, "id")?,
                    name: get(r, "name")?,
                    sector: get(r, "sector")?,
                    is_hub: get::<i64>(r, "is_hub")? != 0,
                })
            })
            .collect()
    }

    /// Creates a user; `Ok(false)` if the user name is taken.
    pub async fn create_user(&self, u: &UserRecord) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO hub_user (id, org_id, user_name, display_name, role, password_hash, totp_secret, \
             failed_logins, locked_until, active, trained_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL, $8, $9, $10)",
        )
        .bind(&u.id)
        .bind(&u.org_id)
        .bind(&u.user_name)
        .bind(&u.display_name)
        .bind(u.role.code())
        .bind(u.password_hash.as_deref())
        .bind(u.totp_secret.as_deref())
        .bind(flag(u.active))
        .bind(u.trained_on.as_deref())
        .bind(u.created_at)
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(sql_error("creating a user")(e)),
        }
    }

    pub async fn user_by_name(&self, user_name: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM hub_user WHERE user_name = $1"
        ))
        .bind(user_name)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a user"))?;
        row.as_ref().map(user_of).transpose()
    }

    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM hub_user WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a user"))?;
        row.as_ref().map(user_of).transpose()
    }

    /// Users of one organisation, or all.
    pub async fn users(&self, org: Option<&str>) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM hub_user WHERE ($1 IS NULL OR org_id = $1) ORDER BY user_name"
        ))
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading users"))?;
        rows.iter().map(user_of).collect()
    }

    /// Counts a failed sign-in; after `max` in a row the account locks until
    /// `now + lock_seconds`. Returns the count and the lock.
    pub async fn login_failed(
        &self,
        user_id: &str,
        now: i64,
        max: i64,
        lock_seconds: i64,
    ) -> Result<(i64, Option<i64>)> {
        let mut tx = self.tx().await?;
        let row = sqlx::query(
            "UPDATE hub_user SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(sql_error("counting a failed sign-in"))?;
        let failed: i64 = get(&row, "failed_logins")?;
        let mut locked = None;
        if failed >= max {
            locked = Some(now + lock_seconds);
            sqlx::query("UPDATE hub_user SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                .bind(locked)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("locking an account"))?;
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok((failed, locked))
    }

    pub async fn login_succeeded(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE hub_user SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(sql_error("resetting failed sign-ins"))?;
        Ok(())
    }

    /// Sets a password, clears any lock, and ends every session of the user.
    pub async fn set_password(&self, user_id: &str, hash: &str) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "UPDATE hub_user SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
        )
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(sql_error("setting a password"))?;
        sqlx::query("DELETE FROM hub_session WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("ending sessions"))?;
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok(())
    }

    pub async fn set_totp(&self, user_id: &str, secret: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE hub_user SET totp_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(sql_error("setting a second factor"))?;
        Ok(())
    }

    pub async fn set_user_active(&self, user_id: &str, active: bool) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("UPDATE hub_user SET active = $1 WHERE id = $2")
            .bind(flag(active))
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(sql_error("changing a user"))?;
        if !active {
            sqlx::query("DELETE FROM hub_session WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("ending sessions"))?;
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO hub_session (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(sql_error("starting a session"))?;
        Ok(())
    }

    /// The live session with this id hash, and its user (active users only).
    pub async fn session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<(SessionRecord, UserRecord)>> {
        let row = sqlx::query(
            "SELECT user_id, csrf, expires_at FROM hub_session WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a session"))?;
        let Some(row) = row else { return Ok(None) };
        let session = SessionRecord {
            user_id: get(&row, "user_id")?,
            csrf: get(&row, "csrf")?,
            expires_at: get(&row, "expires_at")?,
        };
        Ok(self
            .user(&session.user_id)
            .await?
            .filter(|u| u.active)
            .map(|u| (session, u)))
    }

    pub async fn end_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM hub_session WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(sql_error("ending a session"))?;
        Ok(())
    }

    pub async fn create_reset(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO hub_reset (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(sql_error("saving a reset link"))?;
        Ok(())
    }

    /// The user of an unused, unexpired reset link; with `spend`, marks it used.
    pub async fn reset_link(
        &self,
        token_hash: &str,
        now: i64,
        spend: bool,
    ) -> Result<Option<String>> {
        let mut tx = self.tx().await?;
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM hub_reset WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(sql_error("reading a reset link"))?;
        if user.is_some() && spend {
            sqlx::query("UPDATE hub_reset SET used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(sql_error("spending a reset link"))?;
        }
        tx.commit().await.map_err(sql_error("committing"))?;
        Ok(user)
    }

    // --- API tokens ------------------------------------------------------------

    pub async fn create_token(&self, t: &TokenRecord, token_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO hub_token (id, org_id, name, token_hash, scopes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&t.org_id)
        .bind(&t.name)
        .bind(token_hash)
        .bind(t.scopes.join(" "))
        .bind(&t.created_by)
        .bind(t.created_at)
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving a token"))?;
        Ok(())
    }

    fn token_of(r: &AnyRow) -> Result<TokenRecord> {
        Ok(TokenRecord {
            id: get(r, "id")?,
            org_id: get(r, "org_id")?,
            name: get(r, "name")?,
            scopes: get::<String>(r, "scopes")?
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            created_by: get(r, "created_by")?,
            created_at: get(r, "created_at")?,
            revoked_at: get(r, "revoked_at")?,
        })
    }

    /// The unrevoked token with this hash.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, org_id, name, scopes, created_by, created_at, revoked_at FROM hub_token \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("checking a token"))?;
        row.as_ref().map(SqlStore::token_of).transpose()
    }

    pub async fn tokens(&self, org: &str) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT id, org_id, name, scopes, created_by, created_at, revoked_at FROM hub_token \
             WHERE org_id = $1 ORDER BY created_at, id",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading tokens"))?;
        rows.iter().map(SqlStore::token_of).collect()
    }

    /// Revokes an organisation's token; false if it has no such token.
    pub async fn revoke_token(&self, id: &str, org: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE hub_token SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(org)
        .execute(&self.pool)
        .await
        .map_err(sql_error("revoking a token"))?;
        Ok(done.rows_affected() > 0)
    }

    // --- the directory -----------------------------------------------------------

    /// Adds or replaces every record of a feed, in one transaction.
    pub async fn put_directory(&self, feed: &Feed) -> Result<()> {
        let mut tx = self.tx().await?;
        for (kind, records) in [
            ("organization", &feed.organizations),
            ("service", &feed.services),
            ("taxonomy", &feed.taxonomies),
            ("taxonomy_term", &feed.taxonomy_terms),
        ] {
            for (id, doc) in records {
                sqlx::query(
                    "INSERT INTO dir_record (kind, id, doc) VALUES ($1, $2, $3) \
                     ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
                )
                .bind(kind)
                .bind(id)
                .bind(doc.to_string())
                .execute(&mut *tx)
                .await
                .map_err(sql_error("saving the directory"))?;
            }
        }
        tx.commit()
            .await
            .map_err(sql_error("committing the directory"))?;
        Ok(())
    }

    pub async fn directory(&self) -> Result<Feed> {
        let rows = sqlx::query("SELECT kind, id, doc FROM dir_record ORDER BY kind, id")
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error("reading the directory"))?;
        let mut feed = Feed::default();
        for r in &rows {
            let kind: String = get(r, "kind")?;
            let id: String = get(r, "id")?;
            let doc: Value = json_of(Some(get(r, "doc")?))?.unwrap_or(Value::Null);
            let map = match kind.as_str() {
                "organization" => &mut feed.organizations,
                "service" => &mut feed.services,
                "taxonomy" => &mut feed.taxonomies,
                _ => &mut feed.taxonomy_terms,
            };
            map.insert(id, doc);
            feed.records += 1;
        }
        Ok(feed)
    }

    /// Sets what a service accepts by referral, and which organisation of ours runs it.
    pub async fn put_terms(
        &self,
        service_id: &str,
        provider_org: Option<&str>,
        terms: &Terms,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO dir_terms (service_id, provider_org, terms) VALUES ($1, $2, $3) \
             ON CONFLICT (service_id) DO UPDATE SET provider_org = excluded.provider_org, terms = excluded.terms",
        )
        .bind(service_id)
        .bind(provider_org)
        .bind(to_json(terms))
        .execute(&self.pool)
        .await
        .map_err(sql_error("saving a service's referral terms"))?;
        Ok(())
    }

    /// Every service's referral terms: (service id, provider organisation, terms).
    pub async fn all_terms(&self) -> Result<Vec<(String, Option<String>, Terms)>> {
        let rows = sqlx::query(
            "SELECT service_id, provider_org, terms FROM dir_terms ORDER BY service_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading referral terms"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    get(r, "service_id")?,
                    get(r, "provider_org")?,
                    json_of(Some(get(r, "terms")?))?.unwrap_or_default(),
                ))
            })
            .collect()
    }

    // --- referrals ----------------------------------------------------------------

    /// Creates a referral, its match keys, its first timeline entry and its audit
    /// entry in one transaction. A repeat of the same request under the same key
    /// returns the first; the same key with another request is refused. A
    /// referral sharing a match key with an earlier one is linked to it, for the
    /// coordinator to confirm.
    ///
    /// On SQLite, referrals arriving together are committed together (group
    /// commit): one writer task takes every referral waiting, writes them as a
    /// set (a refused one, such as a reused key, leaves the others; a group that
    /// fails as a whole is retried one by one), commits once — one `fsync` for
    /// the lot — and only then answers each caller. Every referral is still
    /// acknowledged only after the commit that holds it.
    pub async fn create_referral(&self, n: &NewReferral) -> Result<Created, CreateError> {
        if self.backend == Backend::Sqlite {
            if let Some(done) = self.batched(n).await {
                return done;
            }
        }
        // A clash with a concurrent writer (a retry of the same request, or a
        // referral that took the same free reference) is tried again: the next
        // try sees what the other wrote.
        for _ in 0..3 {
            let mut tx = self.tx().await?;
            match create_all(self.backend, &mut tx, &[n]).await {
                Ok(mut out) => {
                    tx.commit()
                        .await
                        .map_err(sql_error("committing a referral"))?;
                    return out.pop().unwrap_or(Err(CreateError::Raced));
                }
                Err(CreateError::Raced) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CreateError::Raced)
    }

    /// Hands the referral to the group-commit writer (started on first use, on
    /// the caller's runtime); `None` if the store is closed or the writer is gone
    /// (its runtime ended: the next referral starts another), in which case the
    /// caller writes directly.
    async fn batched(&self, n: &NewReferral) -> Option<Result<Created, CreateError>> {
        let sender = {
            let mut batch = self.batch.lock().ok()?;
            if self.pool.is_closed() {
                return None;
            }
            batch
                .get_or_insert_with(|| {
                    let (send, receive) = tokio::sync::mpsc::channel(4096);
                    tokio::spawn(group_commit(self.pool.clone(), receive));
                    tokio::spawn(checkpointer(self.pool.clone(), send.downgrade()));
                    send
                })
                .clone()
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        if sender.send((n.clone(), reply)).await.is_err() {
            if let Ok(mut batch) = self.batch.lock() {
                if batch.as_ref().is_some_and(|s| s.is_closed()) {
                    *batch = None;
                }
            }
            return None;
        }
        answer.await.ok()
    }

    pub async fn referral(&self, id: &str) -> Result<Option<ReferralRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_error("reading a referral"))?;
        row.as_ref().map(referral_of).transpose()
    }

    /// Referrals matching every given part of the filter, newest first.
    pub async fn referrals(&self, f: &ReferralFilter) -> Result<Vec<ReferralRecord>> {
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

    pub async fn events(&self, referral_id: &str) -> Result<Vec<EventRecord>> {
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

    pub async fn tasks(&self, referral_id: &str) -> Result<Vec<TaskRecord>> {
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

    /// Every outcome, of one referral or of all.
    pub async fn outcomes(&self, referral_id: Option<&str>) -> Result<Vec<OutcomeRecord>> {
        let rows = sqlx::query(
            "SELECT referral_id, code, value, at FROM referral_outcome WHERE ($1 IS NULL OR referral_id = $1) ORDER BY at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("reading outcomes"))?;
        rows.iter()
            .map(|r| {
                let code: String = get(r, "code")?;
                Ok(OutcomeRecord {
                    referral_id: get(r, "referral_id")?,
                    code: OutcomeCode::from_code(&code).ok_or(StoreError::Corrupt {
                        found: code,
                        expected: "an outcome code",
                    })?,
                    value: get(r, "value")?,
                    at: get(r, "at")?,
                })
            })
            .collect()
    }

    /// Applies one change to a referral under the caller's event id, in one
    /// transaction with its timeline and audit entries. The same event id applied
    /// again changes nothing. With `expected_version`, a referral changed since
    /// is refused rather than overwritten.
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

    // --- the audit log -------------------------------------------------------------

    pub async fn audit(&self, e: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        audit_in(&mut tx, e).await?;
        tx.commit()
            .await
            .map_err(sql_error("committing the audit log"))?;
        Ok(())
    }

    /// The newest `limit` audit entries, of one organisation's actors or all.
    pub async fn audit_log(&self, org: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>> {
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

impl SqlStore {
    /// Records the day a user was trained to refer.
    pub async fn set_trained(&self, user_id: &str, on: &str) -> Result<()> {
        sqlx::query("UPDATE hub_user SET trained_on = $1 WHERE id = $2")
            .bind(on)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(sql_error("recording training"))?;
        Ok(())
    }
}

impl SqlStore {
    /// A consistent copy of a live SQLite store into a new file (`VACUUM INTO`,
    /// which reads one snapshot while writers carry on).
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
    /// The referrals recorded under any of these match keys (a person's NHS
    /// number, or name, date of birth and postcode).
    pub async fn referrals_of_person(&self, keys: &[String]) -> Result<Vec<ReferralRecord>> {
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

    /// Removes the personal data of referrals — the person, consent record and
    /// note, the text of timeline entries and tasks, the match keys — keeping what
    /// the reports count (dates, needs, status, area, outcomes). One transaction,
    /// audited per referral. Returns how many were erased.
    pub async fn erase(&self, ids: &[String], by: &Stamp<'_>, why: &str) -> Result<usize> {
        let mut tx = self.tx().await?;
        let mut n = 0;
        for id in ids {
            let done = sqlx::query(
                "UPDATE referral SET person = NULL, consent = NULL, note = NULL, flags = '', erased_at = $1 WHERE id = $2 AND erased_at IS NULL",
            )
            .bind(by.at)
            .bind(id)
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
        Ok(n)
    }

    /// Referrals finished (closed or declined) before `before`, not yet erased:
    /// those past their retention period.
    pub async fn past_retention(&self, before: i64) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM referral WHERE erased_at IS NULL AND closed_at IS NOT NULL AND closed_at < $1 ORDER BY closed_at",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await
        .map_err(sql_error("finding referrals past retention"))
    }
}

impl SqlStore {
    /// On SQLite, moves everything in the write-ahead log into the database file
    /// and empties the log, so the file alone holds every commit (before it is
    /// copied or renamed). Nothing on PostgreSQL.
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

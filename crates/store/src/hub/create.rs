//! New referrals, written as a set.

use super::*;

/// Making a referral: one committed, idempotent write (group commit on SQLite).
#[async_trait]
pub trait NewReferrals: Send + Sync {
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
    async fn create_referral(&self, n: &NewReferral) -> Result<Created, CreateError>;
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
pub(super) async fn create_all(
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

impl SqlStore {
    // --- referrals ----------------------------------------------------------------

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
}

#[async_trait]
impl NewReferrals for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_referral(&self, n: &NewReferral) -> Result<Created, CreateError> {
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
}

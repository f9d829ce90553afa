//! The SQLite group-commit writer and the checkpointer beside it.

use super::create::create_all;
use super::*;

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
            tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
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

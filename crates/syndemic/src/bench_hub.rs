//! `syndemic bench --referrals`: create-referral through `/api/v1/referrals` with
//! an organisation's API token, at a fixed rate, against the web application on a
//! fresh SQLite store (`synchronous = FULL`) served in this process.
//!
//! The load is open-loop: request `i` is due at `start + i / rate` whatever
//! happened to earlier ones, and its latency is measured from when it was due,
//! not from when it was sent — so a stall shows in the percentiles instead of
//! hiding behind a slower send rate (no coordinated omission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use syndemic_access::Role;
use syndemic_store::hub::{HubOrg, TokenRecord};
use syndemic_store::prelude::*;
use syndemic_store::{SqlStore, StoreUrl};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "synd_benchmark_token";

async fn seed(store: &SqlStore) -> Result<()> {
    for (id, is_hub) in [("hub", true), ("gp", false)] {
        store
            .put_org(
                &HubOrg {
                    id: id.into(),
                    name: id.into(),
                    sector: "nhs".into(),
                    is_hub,
                },
                0,
            )
            .await?;
    }
    let _ = Role::Referrer;
    store
        .create_token(
            &TokenRecord {
                id: "bench".into(),
                org_id: "gp".into(),
                name: "benchmark".into(),
                scopes: vec!["referrals".into()],
                created_by: "bench".into(),
                created_at: 0,
                revoked_at: None,
            },
            &syndemic_access::secret::hash_token(TOKEN),
        )
        .await?;
    Ok(())
}

/// One request on a kept-alive connection: the status. The answer is read in
/// chunks (the load generator shares the machine with the server, so it should
/// cost little), up to the end of its body.
async fn exchange(conn: &mut TcpStream, request: &[u8]) -> std::io::Result<u16> {
    conn.write_all(request).await?;
    let mut got = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&got[..head_end]);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    while got.len() < head_end + length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// Connections the benchmark's client keeps open at most: half the server's
/// cap of 64 connections from one address.
const CONNECTIONS: usize = 32;

pub fn run(rate: u32, seconds: u32) -> Result<()> {
    if rate == 0 || seconds == 0 {
        bail!("--rate and --seconds must be above 0");
    }
    let dir = tempfile::tempdir().context("cannot make a scratch folder")?;
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (port, store) = server.block_on(async {
        let store = SqlStore::connect(&StoreUrl::Sqlite(
            dir.path().join("bench.db").display().to_string(),
        ))
        .await?;
        seed(&store).await?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let state = syndemic_web::AppState::new(Arc::new(store.clone()), "Benchmark", None);
        tokio::spawn(syndemic_web::serve(state, listener));
        anyhow::Ok((port, store))
    })?;
    let sync = server.block_on(store.sqlite_synchronous())?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let total = (rate * seconds) as usize;
    println!("create-referral: {rate} requests/s for {seconds} s ({total} requests), SQLite synchronous = {sync:?} (2 = FULL)");
    let (mut latencies, errors) = client.block_on(async move {
        let pool: Arc<tokio::sync::Mutex<Vec<TcpStream>>> = Arc::default();
        // A client as an organisation's system is one: at most `CONNECTIONS`
        // open at once (the server closes a 65th from one address on arrival);
        // a request waits for a free one, and its wait counts in its latency.
        let open = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS));
        let start = Instant::now() + Duration::from_millis(200);
        let mut tasks = Vec::with_capacity(total);
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate));
            tokio::time::sleep_until(due.into()).await;
            let pool = pool.clone();
            let open = open.clone();
            tasks.push(tokio::spawn(async move {
                let Ok(_connection) = open.acquire_owned().await else {
                    return (due.elapsed(), false);
                };
                let body = format!(
                    r#"{{"person": {{"given_name": "Bench {i}", "family_name": "Person", "phone": "01632 960000", "postcode": "HM1 2AB"}}, "needs": ["cold-home", "low-income"], "urgency": "routine", "note": "benchmark", "consent": {{"basis": "consent", "given_by": "The person", "given_on": "2026-11-30", "method": "verbal"}}}}"#
                );
                let request = format!(
                    "POST /api/v1/referrals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nIdempotency-Key: bench-{i}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                // A kept connection the server has closed since (idle past its
                // header deadline) fails before any answer: like any HTTP client,
                // try once more on a new connection — safe, as the request carries
                // its Idempotency-Key.
                let kept = pool.lock().await.pop();
                let reused = kept.is_some();
                let mut conn = match kept {
                    Some(c) => c,
                    None => match TcpStream::connect(("127.0.0.1", port)).await {
                        Ok(c) => c,
                        Err(_) => return (due.elapsed(), false),
                    },
                };
                let _ = conn.set_nodelay(true);
                let mut answer = exchange(&mut conn, request.as_bytes()).await;
                if reused && answer.is_err() {
                    match TcpStream::connect(("127.0.0.1", port)).await {
                        Ok(c) => {
                            conn = c;
                            let _ = conn.set_nodelay(true);
                            answer = exchange(&mut conn, request.as_bytes()).await;
                        }
                        Err(_) => return (due.elapsed(), false),
                    }
                }
                let ok = matches!(answer, Ok(201));
                if !ok {
                    eprintln!("request {i}: {answer:?}");
                }
                let took = due.elapsed();
                if ok {
                    pool.lock().await.push(conn);
                }
                (took, ok)
            }));
        }
        let mut latencies = Vec::with_capacity(total);
        let mut errors = 0usize;
        for t in tasks {
            let (took, ok) = t.await.unwrap_or((Duration::MAX, false));
            if ok {
                latencies.push(took);
            } else {
                errors += 1;
            }
        }
        (latencies, errors)
    });
    latencies.sort_unstable();
    let q = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "  {} created, {errors} errors; latency from the due time: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        q(1.0)
    );
    let stored = server.block_on(store.referrals(&Default::default()))?.len();
    println!("  {stored} referrals in the store");
    if errors > 0 || stored != total {
        bail!("{errors} requests failed; {stored} of {total} referrals stored");
    }
    Ok(())
}

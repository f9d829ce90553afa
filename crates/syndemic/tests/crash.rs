//! Nothing acknowledged is lost: a load generator submits 10,000 referrals and
//! case updates to `syndemic serve` over HTTP while the server is killed with
//! SIGKILL several times and restarted. Every request is retried until it is
//! acknowledged (the same idempotency key or update id each time, as a real
//! client retries). Afterwards the store must hold every acknowledged referral
//! and update exactly once; the test counts them and prints the figures.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use syndemic_access::Role;
use syndemic_hub::need::Need;
use syndemic_hub::triage::Terms;
use syndemic_store::hub::{HubOrg, ReferralFilter, TokenRecord, UserRecord};
use syndemic_store::prelude::*;
use syndemic_store::{SqlStore, StoreUrl};

const REFERRALS: usize = 6_000;
const UPDATES: usize = 4_000;
const KILLS: usize = 5;
const TOKEN: &str = "synd_crash_test_token";
const PASSWORD: &str = "crash test password";

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request; `None` when the server is not there or the answer was cut off.
fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head.to_owned(), body.to_owned()))
}

/// Starts the server, its output appended to `log`.
fn start(db: &str, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{db}.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(["serve", "--db", db, "--port", &port.to_string()])
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

fn wait_up(port: u16) {
    let t = Instant::now();
    while send(port, "GET", "/openreferral/", &[], "").is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the server did not come back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn seed(db: &str) {
    let store = SqlStore::connect(&StoreUrl::parse(db).unwrap())
        .await
        .unwrap();
    for (id, is_hub) in [("hub", true), ("gp", false), ("svc", false)] {
        store
            .put_org(
                &HubOrg {
                    id: id.into(),
                    name: id.into(),
                    sector: "council".into(),
                    is_hub,
                },
                0,
            )
            .await
            .unwrap();
    }
    store
        .create_token(
            &TokenRecord {
                id: "t".into(),
                org_id: "gp".into(),
                name: "gp system".into(),
                scopes: vec!["referrals".into()],
                created_by: "test".into(),
                created_at: 0,
                revoked_at: None,
            },
            &syndemic_access::secret::hash_token(TOKEN),
        )
        .await
        .unwrap();
    let hash = syndemic_access::secret::hash_password(PASSWORD, &[1; 16]).unwrap();
    store
        .create_user(&UserRecord {
            password_hash: Some(hash),
            ..UserRecord::new("coord", "hub", "coord", "Coordinator", Role::Coordinator, 0)
        })
        .await
        .unwrap();
    store
        .put_terms(
            "svc-1",
            Some("svc"),
            &Terms {
                accepts_referrals: true,
                needs: vec![Need::ColdHome],
                ..Terms::default()
            },
        )
        .await
        .unwrap();
    store.close().await;
}

/// Signs the coordinator in: the session cookie and CSRF token.
fn sign_in(port: u16) -> (String, String) {
    let (_, head, body) = send(port, "GET", "/login", &[], "").unwrap();
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: syndemic_login="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let field = |body: &str, name: &str| -> String {
        let at = body.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        body[at..at + body[at..].find('"').unwrap()].to_owned()
    };
    let form = format!(
        "login_token={}&user_name=coord&password={}",
        field(&body, "login_token"),
        PASSWORD.replace(' ', "+")
    );
    let (status, head, _) = send(
        port,
        "POST",
        "/login",
        &[
            ("Cookie", &format!("syndemic_login={cookie}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form,
    )
    .unwrap();
    assert_eq!(status, 303);
    let session = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: syndemic_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = format!("syndemic_session={session}");
    let (_, _, hub) = send(port, "GET", "/hub", &[("Cookie", &session)], "").unwrap();
    (session.clone(), field(&hub, "csrf"))
}

#[test]
fn acknowledged_referrals_and_updates_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db").display().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(seed(&db));
    let port = free_port();
    let server = Arc::new(Mutex::new(start(&db, port)));
    wait_up(port);
    let (session, csrf) = sign_in(port);

    let acked_referrals = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let acked_updates = Arc::new(Mutex::new(Vec::<String>::new()));
    let retries = Arc::new(AtomicUsize::new(0));
    let replays = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));

    // Retries one request until the server acknowledges it.
    let until_acked = {
        let retries = retries.clone();
        move |method: &str,
              path: &str,
              headers: &[(&str, &str)],
              body: &str,
              ok: &[u16]|
              -> (u16, String) {
            loop {
                if let Some((status, head, body)) = send(port, method, path, headers, body) {
                    if ok.contains(&status) {
                        return (
                            status,
                            if head.contains("idempotent-replayed: true") {
                                format!("replayed {body}")
                            } else {
                                body
                            },
                        );
                    }
                    // Only a dead server may cost a retry: any answer but success is a failure.
                    panic!("{method} {path}: {status} {body}");
                }
                retries.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };

    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (acked_referrals, acked_updates, next, replays) = (acked_referrals.clone(), acked_updates.clone(), next.clone(), replays.clone());
            let (session, csrf, until_acked) = (session.clone(), csrf.clone(), until_acked.clone());
            std::thread::spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= REFERRALS + UPDATES {
                    break;
                }
                let have = acked_referrals.lock().unwrap().len();
                if k % 5 < 3 || have == 0 {
                    let key = format!("crash-{k}");
                    let body = format!(
                        r#"{{"person": {{"given_name": "P{k}", "family_name": "Crash", "phone": "0163296{k:04}"}}, "needs": ["cold-home"], "urgency": "routine",
                           "consent": {{"basis": "consent", "given_by": "The person", "given_on": "2026-11-30", "method": "verbal"}}}}"#
                    );
                    let (_, answer) = until_acked("POST", "/api/v1/referrals", &[("Authorization", &format!("Bearer {TOKEN}")), ("Idempotency-Key", &key), ("Content-Type", "application/json")], &body, &[200, 201]);
                    if answer.starts_with("replayed") {
                        replays.fetch_add(1, Ordering::Relaxed);
                    }
                    let id = answer.split("\"id\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
                    acked_referrals.lock().unwrap().push((key, id));
                } else {
                    let target = acked_referrals.lock().unwrap()[k % have].1.clone();
                    let update = format!("note-{k}");
                    let form = format!("csrf={csrf}&action=note&text=update+{k}&update_id={update}");
                    until_acked("POST", &format!("/hub/cases/{target}"), &[("Cookie", &session), ("Content-Type", "application/x-www-form-urlencoded")], &form, &[303]);
                    acked_updates.lock().unwrap().push(format!("{target}:{update}"));
                }
            })
        })
        .collect();

    // The killer: SIGKILL the server mid-load, restart it, several times.
    let mut kills = 0;
    while kills < KILLS && next.load(Ordering::Relaxed) < REFERRALS + UPDATES {
        std::thread::sleep(Duration::from_millis(1200));
        let mut s = server.lock().unwrap();
        s.kill().unwrap();
        s.wait().unwrap();
        kills += 1;
        *s = start(&db, port);
        drop(s);
        wait_up(port);
    }
    for w in workers {
        w.join().unwrap();
    }
    let mut s = server.lock().unwrap();
    s.kill().unwrap();
    s.wait().unwrap();

    rt.block_on(async {
        let store = SqlStore::connect(&StoreUrl::parse(&db).unwrap()).await.unwrap();
        let stored = store.referrals(&ReferralFilter::default()).await.unwrap();
        let referrals = acked_referrals.lock().unwrap().clone();
        let updates = acked_updates.lock().unwrap().clone();
        let mut by_key = std::collections::HashMap::new();
        for r in &stored {
            *by_key.entry(r.id.clone()).or_insert(0) += 1;
        }
        for (key, id) in &referrals {
            assert_eq!(by_key.get(id), Some(&1), "acknowledged referral {key} ({id}) is stored exactly once");
        }
        assert_eq!(stored.len(), referrals.len(), "no referral beyond those acknowledged");
        let mut events = std::collections::HashMap::new();
        let mut targets: Vec<&str> = updates.iter().map(|u| u.split(':').next().unwrap()).collect();
        targets.sort_unstable();
        targets.dedup();
        for t in targets {
            for e in store.events(t).await.unwrap() {
                *events.entry(e.id).or_insert(0) += 1;
            }
        }
        for u in &updates {
            assert_eq!(events.get(u), Some(&1), "acknowledged update {u} is stored exactly once");
        }
        println!(
            "crash test: {kills} SIGKILLs; {} referrals and {} updates acknowledged, every one stored exactly once ({} stored referrals); {} requests retried, {} answered by replay",
            referrals.len(),
            updates.len(),
            stored.len(),
            retries.load(Ordering::Relaxed),
            replays.load(Ordering::Relaxed)
        );
        assert!(kills >= 3, "the server was killed only {kills} times: the load finished too fast");
        // The server's log holds no personal data of any of them.
        let log = std::fs::read_to_string(format!("{db}.log")).unwrap();
        for needle in ["Crash", "016329", "update 1"] {
            assert!(!log.contains(needle), "the server's log shows personal data (`{needle}`): {log}");
        }
        assert_eq!(referrals.len() + updates.len(), REFERRALS + UPDATES);
    });
}

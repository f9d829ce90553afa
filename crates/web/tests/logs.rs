//! The server's logs: the access log names a personal route by its template,
//! never its path or query; a failed sign-in and a 403 are security events; and
//! no line holds a person's name or NHS number.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use syndemic_access::Role;
use syndemic_hub::referral::Draft;
use syndemic_store::hub::{HubOrg, NewReferral, UserRecord};
use syndemic_store::prelude::*;
use syndemic_web::AppState;

use support::{request, Browser};

const PASSWORD: &str = "correct horse battery staple";

/// Every line logged by this test binary, whatever thread wrote it.
fn lines() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || Sink(sink.clone()))
            .init();
        log
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&lines().lock().unwrap()).into_owned()
}

async fn fill(store: &syndemic_store::SqlStore) -> String {
    for (id, is_hub) in [("hub-a", true), ("svc-a", false), ("gp-a", false)] {
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
    let hash = syndemic_access::secret::hash_password(PASSWORD, &[3; 16]).unwrap();
    for (name, org, role) in [
        ("coordinator", "hub-a", Role::Coordinator),
        ("caseworker", "svc-a", Role::Caseworker),
    ] {
        let u = UserRecord {
            password_hash: Some(hash.clone()),
            ..UserRecord::new(name, org, name, name, role, 0)
        };
        assert!(store.create_user(&u).await.unwrap());
    }
    let draft: Draft = serde_json::from_value(serde_json::json!({
        "person": {"given_name": "Iris", "family_name": "Okafor", "nhs_number": "9434765919",
                   "date_of_birth": "1948-03-02", "address": "2 Mill Lane", "postcode": "TS1 1AA"},
        "needs": ["cold-home"],
        "urgency": "routine",
        "note": "Damp bedroom",
        "consent": {"basis": "consent", "given_by": "The person", "given_on": "2026-11-30", "method": "verbal"}
    }))
    .unwrap();
    let id = "0c0c0c0c-4e5f-4a6b-8c7d-8e9f0a1b2c3d".to_owned();
    store
        .create_referral(&NewReferral {
            id: id.clone(),
            reference: "R-0C0C0C0C".into(),
            hub_org: "hub-a".into(),
            referrer_org: "gp-a".into(),
            referrer: "someone".into(),
            idempotency_key: "log-1".into(),
            request_hash: "h".into(),
            created_at: 1_764_547_200,
            match_keys: draft.person.match_keys(),
            draft,
            lsoa: None,
            imd_decile: None,
        })
        .await
        .unwrap();
    id
}

#[test]
fn logs_name_routes_by_template_and_record_security_events_without_personal_data() {
    lines();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers = rt.block_on(async {
        let mut out = Vec::new();
        for store in syndemic_testkit::stores("web_logs", dir.path()).await {
            let id = fill(&store).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store.clone()), "Testshire", None);
            tokio::spawn(syndemic_web::serve(state, listener));
            out.push((store.backend_name().to_owned(), port, id));
        }
        out
    });
    for (b, port, id) in servers {
        let coordinator = Browser::sign_in(port, "coordinator", PASSWORD).unwrap();
        // A personal route with a query: the template is logged, not the id or query.
        let case = coordinator.get(&format!("/hub/cases/{id}?who=Okafor"));
        assert_eq!(case.status, 200, "{b}: {}", case.body);
        assert!(
            case.body.contains("Okafor"),
            "{b}: the page shows the person"
        );
        let rid = case.header("x-request-id").expect("a request id");
        let searched = coordinator.post(
            "/hub/subject-access",
            &[("nhs_number", "9434765919"), ("given_name", "Iris")],
        );
        assert_eq!(searched.status, 200, "{b}: {}", searched.body);
        assert!(searched.body.contains("1 referrals found"), "{b}");
        // A request id the client sends is kept.
        let mine = request(
            port,
            "GET",
            "/hub/subject-access?nhs_number=9434765919",
            &[("X-Request-Id", "trace-me-0001")],
            "",
        );
        assert_eq!(
            mine.header("x-request-id").as_deref(),
            Some("trace-me-0001"),
            "{b}"
        );
        // A failed sign-in and a 403.
        assert!(Browser::sign_in(port, "coordinator", "wrong password here").is_err());
        let caseworker = Browser::sign_in(port, "caseworker", PASSWORD).unwrap();
        assert_eq!(caseworker.get("/hub/subject-access").status, 403, "{b}");

        let log = logged();
        let access: Vec<&str> = log.lines().filter(|l| l.contains("access:")).collect();
        assert!(
            access.iter().any(|l| l.contains("route=/hub/cases/{id}")
                && l.contains(&rid)
                && l.contains("status=200")),
            "{b}: the case page by its template: {access:#?}"
        );
        assert!(
            access
                .iter()
                .any(|l| l.contains("route=/hub/subject-access") && l.contains("method=POST")),
            "{b}"
        );
        assert!(
            log.lines().any(
                |l| l.contains("security:") && l.contains("event=\"sign-in-failed\"")
                    || l.contains("security:") && l.contains("event=sign-in-failed")
            ),
            "{b}: a failed sign-in: {log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains("security:") && l.contains("denied") && l.contains("403")),
            "{b}: a 403: {log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains("security:") && l.contains("sign-in") && !l.contains("failed")),
            "{b}: a sign-in"
        );
        for secret in [
            id.as_str(),
            "?who",
            "Okafor",
            "Iris",
            "9434765919",
            "Mill Lane",
            "1948-03-02",
            PASSWORD,
        ] {
            assert!(
                !log.contains(secret),
                "{b}: `{secret}` in the log:\n{}",
                log.lines()
                    .filter(|l| l.contains(secret))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

//! A referral from `/refer` to its audit row reads the organisations once and
//! checks the role once. The store's calls are counted from their `tracing` spans
//! (every hub method of `SqlStore` has one, at `debug`) and the role checks from
//! the event `Referrer::check` writes; this file holds one test, so the global
//! subscriber that counts sees this test's requests only.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use syndemic_access::Role;
use syndemic_store::hub::{HubOrg, UserRecord};
use syndemic_testkit::stores;
use syndemic_web::AppState;
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use support::{hidden, Browser};
use syndemic_store::prelude::*;

const PASSWORD: &str = "tulip kettle orbit";

/// Store calls by method name, and role checks, since the last `take`.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<HashMap<String, usize>>>);

impl Counts {
    fn take(&self) -> HashMap<String, usize> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    fn add(&self, key: &str) {
        *self.0.lock().unwrap().entry(key.to_owned()).or_default() += 1;
    }
}

impl<S: Subscriber> Layer<S> for Counts {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let m = attrs.metadata();
        if m.target().starts_with("syndemic_store") {
            self.add(m.name());
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let m = event.metadata();
        if m.target() == "syndemic_web::hub::make" && m.fields().field("action").is_some() {
            self.add("role check");
        }
    }
}

async fn fill(store: &syndemic_store::SqlStore) {
    for (id, name, is_hub) in [("hub-a", "Hub A", true), ("gp-a", "Practice A", false)] {
        let org = HubOrg {
            id: id.into(),
            name: name.into(),
            sector: if is_hub { "council" } else { "nhs" }.into(),
            is_hub,
        };
        store.put_org(&org, 0).await.unwrap();
    }
    let u = UserRecord {
        password_hash: Some(syndemic_access::secret::hash_password(PASSWORD, &[5; 16]).unwrap()),
        trained_on: Some("2026-01-01".into()),
        ..UserRecord::new("gp", "gp-a", "gp", "GP referrer", Role::Referrer, 0)
    };
    assert!(store.create_user(&u).await.unwrap());
}

#[test]
fn a_referral_reads_the_organisations_once_and_checks_the_role_once() {
    let counts = Counts::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(counts.clone()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers = rt.block_on(async {
        let mut out = Vec::new();
        for store in stores("refer_calls", dir.path()).await {
            fill(&store).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store.clone()), "Testshire", None);
            tokio::spawn(syndemic_web::serve(state, listener));
            out.push((store, port));
        }
        out
    });
    for (store, port) in servers {
        let b = store.backend_name();
        let referrer = Browser::sign_in(port, "gp", PASSWORD).unwrap();
        let key = hidden(&referrer.get("/refer").body, "idempotency_key");
        counts.take();
        let made = referrer.post(
            "/refer",
            &[
                ("idempotency_key", &key),
                ("hub", "hub-a"),
                ("given_name", "Grace"),
                ("family_name", "Hopper"),
                ("phone", "01632 960002"),
                ("postcode", "TS1 1AA"),
                ("needs", "cold-home"),
                ("urgency", "routine"),
                ("basis", "consent"),
                ("consent_given_by", "The person"),
                ("consent_given_on", "2026-11-30"),
                ("consent_method", "verbal"),
            ],
        );
        assert_eq!(made.status, 303, "{b}: {}", made.body);
        let seen = counts.take();
        assert_eq!(
            seen.get("orgs"),
            Some(&1),
            "{b}: the organisations read once: {seen:?}"
        );
        assert_eq!(
            seen.get("role check"),
            Some(&1),
            "{b}: the role checked once: {seen:?}"
        );
        assert_eq!(seen.get("create_referral"), Some(&1), "{b}: {seen:?}");
        // The session and its user are read to know who is asking; nothing else
        // of the hub's records is read on the way to the write.
        let mut calls: Vec<&str> = seen.keys().map(String::as_str).collect();
        calls.sort_unstable();
        assert_eq!(
            calls,
            ["create_referral", "orgs", "role check", "session", "user"],
            "{b}: {seen:?}"
        );
        let audit = rt.block_on(store.audit_log(Some("gp-a"), 10)).unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "create" && e.subject == "referral" && e.actor == "gp"),
            "{b}: the referral's audit row: {audit:?}"
        );
        println!("{b}: /refer → audit row: {seen:?}");
    }
}

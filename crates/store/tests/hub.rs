//! The referral store's contract on both backends: what the web tests cannot
//! arrange through pages (a clash of references drawn at random).

use syndemic_hub::need::OutcomeCode;
use syndemic_hub::referral::Draft;
use syndemic_store::hub::{Change, HubOrg, NewReferral, Stamp};
use syndemic_store::prelude::*;

fn draft(given: &str) -> Draft {
    draft_of(
        serde_json::json!({"given_name": given, "family_name": "Clash", "phone": "01632960001"}),
    )
}

fn draft_of(person: serde_json::Value) -> Draft {
    serde_json::from_value(serde_json::json!({
        "person": person,
        "needs": ["cold-home"],
        "urgency": "routine",
        "consent": {"basis": "consent", "given_by": "The person", "given_on": "2026-11-30", "method": "verbal"}
    }))
    .unwrap()
}

fn referral(id: &str, reference: &str, key: &str) -> NewReferral {
    let draft = draft(key);
    NewReferral {
        id: id.into(),
        reference: reference.into(),
        hub_org: "hub".into(),
        referrer_org: "hub".into(),
        referrer: "someone".into(),
        idempotency_key: key.into(),
        request_hash: format!("hash-{key}"),
        created_at: 1_764_547_200,
        match_keys: draft.person.match_keys(),
        draft,
        lsoa: None,
        imd_decile: None,
    }
}

fn hub() -> HubOrg {
    HubOrg {
        id: "hub".into(),
        name: "Hub".into(),
        sector: "council".into(),
        is_hub: true,
    }
}

#[tokio::test]
async fn a_reference_already_taken_is_replaced_by_a_longer_one() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a_reference_already_taken_is_replaced_by_a_longer_one";
    for store in syndemic_testkit::stores(name, dir.path()).await {
        store.put_org(&hub(), 0).await.unwrap();
        let ids = [
            "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d",
            "0a1b2c3d-4e5f-4a6b-8c7d-000000000001",
            "0a1b2c3d-4e5f-4a6b-8c7d-000000000002",
        ];
        let mut references = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let made = store
                .create_referral(&referral(id, "R-0A1B2C3D", &format!("key-{i}")))
                .await
                .unwrap();
            assert!(!made.repeat);
            assert_eq!(
                store.referral(id).await.unwrap().unwrap().reference,
                made.reference
            );
            references.push(made.reference);
        }
        assert_eq!(
            references,
            ["R-0A1B2C3D", "R-0A1B2C3D4E5F", "R-0A1B2C3D4E5F4A6B"],
            "the first keeps the reference it asked for; the others get longer ones from their ids"
        );
        // A retry of the second answers with the reference it was given.
        let again = store
            .create_referral(&referral(ids[1], "R-0A1B2C3D", "key-1"))
            .await
            .unwrap();
        assert!(again.repeat);
        assert_eq!(again.reference, "R-0A1B2C3D4E5F");
    }
}

/// Outcomes with and without a figure, in either order, are all recorded: a
/// statement first run with a missing figure still takes a present one on the
/// same connection.
#[tokio::test]
async fn outcomes_with_and_without_a_figure_are_all_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let name = "outcomes_with_and_without_a_figure_are_all_recorded";
    for store in syndemic_testkit::stores(name, dir.path()).await {
        let backend = store.backend_name();
        store.put_org(&hub(), 0).await.unwrap();
        let id = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
        store
            .create_referral(&referral(id, "R-0A1B2C3D", "key"))
            .await
            .unwrap();
        let outcomes = [
            (OutcomeCode::AdviceGiven, None),
            (OutcomeCode::MoneySaved, Some(125.5)),
            (OutcomeCode::AdviceGiven, None),
            (OutcomeCode::Ons4Close, Some(7.0)),
        ];
        for (i, (code, value)) in outcomes.iter().enumerate() {
            let by = Stamp {
                actor: "someone",
                org: "hub",
                at: 1_764_547_300 + i as i64,
            };
            let change = Change::Outcome {
                code: *code,
                value: *value,
            };
            store
                .apply(id, &format!("event-{i}"), &by, &change, None)
                .await
                .unwrap_or_else(|e| panic!("{backend}: outcome {i}: {e}"));
        }
        let recorded: Vec<_> = store
            .outcomes(Some(id))
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.code, o.value))
            .collect();
        assert_eq!(recorded, outcomes, "{backend}");
    }
}

/// Referrals arriving together (on SQLite, committed as one group) are answered
/// as if made one after another: repeats of one request share one referral, a
/// key reused for another request is refused, the same person's referrals link
/// to the earliest, and every one is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_arriving_together_are_answered_as_if_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let name = "referrals_arriving_together_are_answered_as_if_one_by_one";
    for store in syndemic_testkit::stores(name, dir.path()).await {
        store.put_org(&hub(), 0).await.unwrap();
        let same_person = |i: usize| {
            let mut r = referral(
                &format!("person-{i}"),
                &format!("R-P{i}"),
                &format!("p-{i}"),
            );
            r.draft = draft_of(serde_json::json!({
                "given_name": "Ann", "family_name": "Same", "date_of_birth": "1950-01-02",
                "postcode": "HM1 2AB", "nhs_number": "9434765919"
            }));
            r.match_keys = r.draft.person.match_keys();
            r.created_at += i as i64;
            r
        };
        let first = store.create_referral(&same_person(0)).await.unwrap();
        let reused = referral("reused-0", "R-U0", "reused");
        store.create_referral(&reused).await.unwrap();
        let mut jobs = Vec::new();
        for i in 0..20 {
            jobs.push(referral(
                &format!("new-{i}"),
                &format!("R-N{i}"),
                &format!("new-{i}"),
            ));
        }
        for _ in 0..10 {
            jobs.push(referral("again", "R-AGAIN", "again"));
        }
        for i in 1..11 {
            jobs.push(same_person(i));
        }
        for i in 0..5 {
            let mut r = referral(
                &format!("reused-{}", i + 1),
                &format!("R-U{}", i + 1),
                "reused",
            );
            r.request_hash = format!("another request {i}");
            jobs.push(r);
        }
        let answers = futures_join(&store, jobs.clone()).await;
        let mut made = 0;
        let mut again_ids = std::collections::BTreeSet::new();
        for (job, answer) in jobs.iter().zip(&answers) {
            match (job.idempotency_key.as_str(), answer) {
                ("reused", Err(syndemic_store::hub::CreateError::KeyReused(_))) => {}
                ("reused", other) => panic!("a reused key was accepted: {other:?}"),
                ("again", Ok(c)) => {
                    again_ids.insert(c.id.clone());
                    made += usize::from(!c.repeat);
                }
                (_, Ok(c)) => {
                    assert!(!c.repeat, "{} is new", job.id);
                    assert_eq!(c.id, job.id);
                    made += 1;
                }
                (key, Err(e)) => panic!("{key}: {e}"),
            }
        }
        assert_eq!(
            again_ids.len(),
            1,
            "ten sendings of one request make one referral"
        );
        assert_eq!(made, 20 + 1 + 10);
        for i in 1..11 {
            let r = store
                .referral(&format!("person-{i}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                r.linked_to.as_deref(),
                Some(first.id.as_str()),
                "person-{i} links to the earliest"
            );
        }
        let stored = store.referrals(&Default::default()).await.unwrap();
        assert_eq!(stored.len(), 2 + 31, "every referral once");
        let references: std::collections::BTreeSet<_> =
            stored.iter().map(|r| &r.reference).collect();
        assert_eq!(references.len(), stored.len(), "references are unique");
    }
}

/// Every referral sent at once, each from its own task; the answers in order.
async fn futures_join(
    store: &syndemic_store::SqlStore,
    jobs: Vec<NewReferral>,
) -> Vec<Result<syndemic_store::hub::Created, syndemic_store::hub::CreateError>> {
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.create_referral(&n).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// An erasure leaves the person in no file: not the database, not its
/// write-ahead log, not a backup taken afterwards (SQLite, whose files are the
/// store); on both backends the sender's idempotency key goes too, so a retry
/// under the old key is a new referral.
#[tokio::test]
async fn an_erased_person_is_in_no_database_file_log_or_backup() {
    let dir = tempfile::tempdir().unwrap();
    let name = "an_erased_person_is_in_no_database_file_log_or_backup";
    let needles = [
        "Quillfeather",
        "Marigold Terrace",
        "do not visit after dark",
        "erase-key-7781",
        "Zebedee rang",
    ];
    for store in syndemic_testkit::stores(name, dir.path()).await {
        let backend = store.backend_name();
        store.put_org(&hub(), 0).await.unwrap();
        let id = "0e0e0e0e-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
        let mut r = referral(id, "R-0E0E0E0E", "erase-key-7781");
        r.draft = draft_of(serde_json::json!({
            "given_name": "Zebedee", "family_name": "Quillfeather",
            "address": "17 Marigold Terrace", "postcode": "TS1 1AA",
            "date_of_birth": "1950-01-02", "phone": "01632960002"
        }));
        r.draft.note = "Safeguarding: her son is violent, do not visit after dark".into();
        r.match_keys = r.draft.person.match_keys();
        store.create_referral(&r).await.unwrap();
        let by = Stamp {
            actor: "someone",
            org: "hub",
            at: 1_764_600_000,
        };
        store
            .apply(
                id,
                &format!("{id}:n1"),
                &by,
                &Change::Note {
                    text: "Zebedee rang from 17 Marigold Terrace".into(),
                    contact: true,
                },
                None,
            )
            .await
            .unwrap();
        let db = dir.path().join(format!("{name}.db"));
        let wal = dir.path().join(format!("{name}.db-wal"));
        let lower = |path: &std::path::Path| -> String {
            String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).to_lowercase()
        };
        if backend == "sqlite" {
            let before = lower(&db) + &lower(&wal);
            for n in needles {
                assert!(
                    before.contains(&n.to_lowercase()),
                    "the test sees `{n}` before"
                );
            }
        }
        assert_eq!(
            store
                .erase(&[id.into()], &by, "request of 2026-12-01")
                .await
                .unwrap(),
            1
        );
        // A retry under the old key is not recognised: the key is gone.
        let again = store
            .create_referral(&referral(
                "0e0e0e0e-4e5f-4a6b-8c7d-000000000009",
                "R-0E0E0E09",
                "erase-key-7781",
            ))
            .await
            .unwrap();
        assert!(!again.repeat, "{backend}: the idempotency key was erased");
        if backend == "sqlite" {
            let backup = dir.path().join("after-erasure.db");
            store
                .backup_to(&backup.display().to_string())
                .await
                .unwrap();
            for path in [&db, &wal, &backup] {
                let text = lower(path);
                for n in needles.iter().filter(|n| !n.starts_with("erase-key")) {
                    assert!(
                        !text.contains(&n.to_lowercase()),
                        "`{n}` is still in {}",
                        path.display()
                    );
                }
            }
        }
    }
}

//! The partnership store's contract on both backends: records round-trip whole,
//! imports are all or nothing, updates and reviews are recorded once under their
//! id, and every change leaves its audit entry.

use syndemic_store::hub::{AuditEntry, HubOrg};
use syndemic_store::partnership::{
    AnchorRecord, BusinessCountRecord, BusinessRecord, CommitmentRecord, EvidenceFile,
    FrameworkRecord, MaturityRecord, MemberRecord, MilestoneRecord, PartnerProfile, PartnersImport,
    PartnershipRecord, PlanRecord, ReviewRecord, SocialValueRecord, UpdateRecord,
};
use syndemic_store::prelude::*;
use syndemic_store::SqlStore;

fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        at: 1_764_547_200,
        actor: "u1".into(),
        org: "council".into(),
        action: action.into(),
        subject: "test".into(),
        record: "r".into(),
        reason: String::new(),
    }
}

fn org(id: &str, sector: &str) -> HubOrg {
    HubOrg {
        id: id.into(),
        name: format!("Org {id}"),
        sector: sector.into(),
        is_hub: false,
    }
}

fn profile(id: &str, sector: &str) -> PartnerProfile {
    PartnerProfile {
        org_id: id.into(),
        sector: sector.into(),
        sub_type: Some("charity".into()),
        size_band: Some("small".into()),
        employees: Some(12),
        local_employee_share: Some(0.75),
        area: Some("E01000001".into()),
        anchor: id == "trust",
        ..PartnerProfile::default()
    }
}

async fn audit_count(store: &SqlStore) -> usize {
    store.audit_log(None, 10_000).await.unwrap().len()
}

async fn partnership(store: &SqlStore) {
    let import = PartnersImport {
        orgs: vec![
            org("council", "local-government"),
            org("trust", "health-and-care"),
            org("charity", "vcse"),
        ],
        profiles: vec![
            profile("council", "local-government"),
            profile("trust", "health-and-care"),
            profile("charity", "vcse"),
        ],
        members: Vec::new(),
    };
    store
        .import_partners(&import, &audit("import"))
        .await
        .unwrap();
    let board = PartnershipRecord {
        id: "board".into(),
        name: "Board".into(),
        kind: "health-and-wellbeing-board".into(),
        area: Some("E10000001".into()),
        parent_id: None,
        framework: "marmot".into(),
    };
    let town = PartnershipRecord {
        id: "town".into(),
        name: "Town".into(),
        kind: "community-partnership".into(),
        area: None,
        parent_id: Some("board".into()),
        framework: "marmot".into(),
    };
    let member = |p: &str, o: &str, role: &str| MemberRecord {
        partnership_id: p.into(),
        org_id: o.into(),
        role: role.into(),
        title: None,
    };
    store
        .put_partnership(
            &board,
            &[
                member("board", "council", "lead"),
                member("board", "trust", "member"),
            ],
            &audit("create"),
        )
        .await
        .unwrap();
    store
        .put_partnership(
            &town,
            &[member("town", "charity", "lead")],
            &audit("create"),
        )
        .await
        .unwrap();
}

fn plan() -> PlanRecord {
    PlanRecord {
        id: "plan".into(),
        partnership_id: "board".into(),
        title: "Plan".into(),
        owner_org: "council".into(),
        period_start: "2025-04-01".into(),
        period_end: "2028-03-31".into(),
        priorities: vec!["Warm homes".into(), "Good work".into()],
        update_every_days: 92,
    }
}

fn commitment(id: &str, reference: &str) -> CommitmentRecord {
    CommitmentRecord {
        id: id.into(),
        plan_id: "plan".into(),
        reference: reference.into(),
        title: format!("Commitment {reference}"),
        lead_org: "council".into(),
        contributors: vec!["charity".into(), "trust".into()],
        framework: Some("marmot".into()),
        objective: Some("income".into()),
        indicator: Some("fuel_poverty".into()),
        indicator_area: None,
        baseline_period: Some("2019".into()),
        baseline_value: Some(14.5),
        target_value: Some(10.0),
        target_date: Some("2028-03-31".into()),
        target_rule: Some("local-quintile:E10000001:1".into()),
        areas: vec!["E01000001".into(), "E01000002".into()],
        milestones: vec![MilestoneRecord {
            seq: 1,
            due: "2026-03-31".into(),
            what: "Survey done".into(),
            done_on: None,
        }],
        created_at: 1_764_547_200,
    }
}

#[tokio::test]
async fn partnership_records_round_trip_and_nest() {
    let dir = tempfile::tempdir().unwrap();
    for store in
        syndemic_testkit::stores("partnership_records_round_trip_and_nest", dir.path()).await
    {
        let backend = store.backend_name();
        partnership(&store).await;
        let profiles = store.profiles().await.unwrap();
        assert_eq!(profiles.len(), 3, "{backend}");
        assert_eq!(
            profiles[2],
            profile("trust", "health-and-care"),
            "{backend}"
        );
        let ps = store.partnerships().await.unwrap();
        assert_eq!(ps.len(), 2, "{backend}");
        assert_eq!(
            ps.iter()
                .find(|p| p.id == "town")
                .unwrap()
                .parent_id
                .as_deref(),
            Some("board")
        );
        assert_eq!(store.members().await.unwrap().len(), 3, "{backend}");
        store
            .put_framework(
                &FrameworkRecord {
                    code: "ours".into(),
                    name: "Our framework".into(),
                    partnership_id: Some("board".into()),
                    objectives: vec![("a".into(), "A".into()), ("b".into(), "B".into())],
                },
                &audit("framework"),
            )
            .await
            .unwrap();
        let f = store.frameworks().await.unwrap();
        assert_eq!(
            f[0].objectives,
            vec![("a".into(), "A".into()), ("b".into(), "B".into())]
        );

        store
            .put_plan(
                &plan(),
                &[commitment("c1", "C1"), commitment("c2", "C2")],
                &audit("plan"),
            )
            .await
            .unwrap();
        assert_eq!(store.plans().await.unwrap(), vec![plan()], "{backend}");
        let cs = store.commitments(Some("plan")).await.unwrap();
        assert_eq!(
            cs,
            vec![commitment("c1", "C1"), commitment("c2", "C2")],
            "{backend}"
        );

        // A commitment changed: its parts replaced, the rest of the plan untouched.
        let mut changed = commitment("c2", "C2");
        changed.title = "Changed".into();
        changed.target_value = Some(8.0);
        changed.contributors = vec!["trust".into()];
        changed.areas = vec!["E01000009".into()];
        changed.milestones[0].done_on = Some("2026-02-01".into());
        assert!(store
            .update_commitment(&changed, &audit("edit"))
            .await
            .unwrap());
        let cs = store.commitments(Some("plan")).await.unwrap();
        assert_eq!(
            cs,
            vec![commitment("c1", "C1"), changed.clone()],
            "{backend}"
        );
        // A figure that comes and goes: a statement first run with a missing float
        // must still take a present one on the same connection (sqlx's `Any` driver
        // types a missing `f64` as a `float4`, which a prepared statement keeps).
        for round in 0..4 {
            let mut c = changed.clone();
            c.baseline_value = (round % 2 == 1).then_some(20.5);
            c.target_value = (round % 2 == 1).then_some(12.25);
            assert!(
                store.update_commitment(&c, &audit("edit")).await.unwrap(),
                "{backend}: round {round}"
            );
            assert_eq!(
                store.commitments(Some("plan")).await.unwrap()[1],
                c,
                "{backend}: round {round}"
            );
            let mut p = profile("charity", "vcse");
            p.local_employee_share = (round % 2 == 1).then_some(0.5);
            store
                .put_profile(&org("charity", "vcse"), &p, &audit("profile"))
                .await
                .unwrap();
        }
        assert!(store
            .update_commitment(&changed, &audit("edit"))
            .await
            .unwrap());
        let mut ghost = changed.clone();
        ghost.id = "nobody".into();
        assert!(!store
            .update_commitment(&ghost, &audit("edit"))
            .await
            .unwrap());
        // A change naming an organisation that does not exist is refused whole.
        let mut bad = changed.clone();
        bad.title = "Bad".into();
        bad.contributors = vec!["nobody".into()];
        assert!(store.update_commitment(&bad, &audit("edit")).await.is_err());
        assert_eq!(
            store.commitments(Some("plan")).await.unwrap()[1],
            changed,
            "{backend}"
        );

        // A plan whose commitments clash on a reference is refused whole.
        let before = audit_count(&store).await;
        let mut other = plan();
        other.title = "Changed".into();
        assert!(store
            .put_plan(
                &other,
                &[commitment("c3", "C3"), commitment("c4", "C1")],
                &audit("plan")
            )
            .await
            .is_err());
        assert_eq!(store.plans().await.unwrap()[0].title, "Plan", "{backend}");
        assert_eq!(store.commitments(None).await.unwrap().len(), 2, "{backend}");
        assert_eq!(
            store.commitments(None).await.unwrap()[1],
            changed,
            "{backend}"
        );
        assert_eq!(
            audit_count(&store).await,
            before,
            "{backend}: no audit for nothing"
        );
    }
}

#[tokio::test]
async fn updates_and_reviews_are_recorded_once_with_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    for store in syndemic_testkit::stores(
        "updates_and_reviews_are_recorded_once_with_their_evidence",
        dir.path(),
    )
    .await
    {
        let backend = store.backend_name();
        partnership(&store).await;
        store
            .put_plan(&plan(), &[commitment("c1", "C1")], &audit("plan"))
            .await
            .unwrap();
        let update = UpdateRecord {
            id: "u1".into(),
            commitment_id: "c1".into(),
            at: 1_764_600_000,
            author: "someone".into(),
            org_id: "council".into(),
            status: "on-track".into(),
            narrative: "Surveyed 400 homes.".into(),
            evidence: Vec::new(),
        };
        let file = EvidenceFile {
            id: "e1".into(),
            update_id: "u1".into(),
            file_name: "survey.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 survey".to_vec(),
        };
        let before = audit_count(&store).await;
        assert!(store
            .add_update(
                &update,
                std::slice::from_ref(&file),
                &[(1, "2026-01-10".into())],
                &audit("update")
            )
            .await
            .unwrap());
        // The same update again (a double click, a retry) records nothing.
        assert!(!store
            .add_update(&update, std::slice::from_ref(&file), &[], &audit("update"))
            .await
            .unwrap());
        assert_eq!(audit_count(&store).await, before + 1, "{backend}");
        let got = store.updates(Some("c1")).await.unwrap();
        assert_eq!(got.len(), 1, "{backend}");
        assert_eq!(got[0].evidence.len(), 1);
        assert_eq!(got[0].evidence[0].size, 15, "{backend}");
        assert_eq!(store.evidence_file("e1").await.unwrap(), Some(file.clone()));
        // Ids are the sender's, scoped by organisation (and commitment): another
        // organisation's `u1` on the same commitment is a new update, with its own
        // evidence, and does not block or touch the first.
        let theirs = UpdateRecord {
            org_id: "charity".into(),
            narrative: "Fitted 12 boilers.".into(),
            ..update.clone()
        };
        let their_file = EvidenceFile {
            id: "e2".into(),
            bytes: b"boilers".to_vec(),
            ..file.clone()
        };
        assert!(
            store
                .add_update(
                    &theirs,
                    std::slice::from_ref(&their_file),
                    &[],
                    &audit("update")
                )
                .await
                .unwrap(),
            "{backend}: another organisation may use the same id"
        );
        assert!(!store
            .add_update(&theirs, &[], &[], &audit("update"))
            .await
            .unwrap());
        let got = store.updates(Some("c1")).await.unwrap();
        assert_eq!(got.len(), 2, "{backend}");
        for u in &got {
            assert_eq!(u.id, "u1", "{backend}");
            assert_eq!(u.evidence.len(), 1, "{backend}: {u:?}");
        }
        let mine = got.iter().find(|u| u.org_id == "council").unwrap();
        assert_eq!(mine.narrative, "Surveyed 400 homes.", "{backend}");
        assert_eq!(mine.evidence[0].id, "e1", "{backend}");
        assert_eq!(store.evidence_file("e2").await.unwrap(), Some(their_file));
        assert_eq!(store.evidence_file("e1").await.unwrap(), Some(file.clone()));
        let c = &store.commitments(Some("plan")).await.unwrap()[0];
        assert_eq!(c.milestones[0].done_on.as_deref(), Some("2026-01-10"));

        let review = ReviewRecord {
            id: "r1".into(),
            commitment_id: "c1".into(),
            reviewed_on: "2026-02-01".into(),
            rating: "amber".into(),
            actions: "Bring a recovery plan.".into(),
            next_review: Some("2026-05-01".into()),
            by_user: "lead".into(),
            at: 1_764_700_000,
        };
        assert!(store.add_review(&review, &audit("review")).await.unwrap());
        assert!(!store.add_review(&review, &audit("review")).await.unwrap());
        assert_eq!(
            store.reviews(Some("c1")).await.unwrap(),
            vec![review],
            "{backend}"
        );
        // The first update, the other organisation's, and the review.
        assert_eq!(audit_count(&store).await, before + 3, "{backend}");
    }
}

#[tokio::test]
async fn anchors_businesses_and_maturity_replace_what_they_cover() {
    let dir = tempfile::tempdir().unwrap();
    for store in syndemic_testkit::stores(
        "anchors_businesses_and_maturity_replace_what_they_cover",
        dir.path(),
    )
    .await
    {
        let backend = store.backend_name();
        partnership(&store).await;
        let measure = AnchorRecord {
            org_id: "trust".into(),
            year: 2025,
            employees: Some(4000),
            hired_most_deprived_share: Some(0.2),
            local_spend_share: Some(0.35),
            sme_vcse_spend_share: Some(0.18),
            real_living_wage: Some(true),
            apprenticeships: Some(60),
            volunteering_hours: Some(1500.0),
        };
        let sv = |measure: &str, q: f64| SocialValueRecord {
            org_id: "trust".into(),
            year: 2025,
            contract: "Estates".into(),
            theme: "Jobs".into(),
            outcome: "Local jobs".into(),
            measure: measure.into(),
            unit: "people".into(),
            quantity: q,
            proxy_value: 28_000.0,
        };
        store
            .import_anchor_measures(
                std::slice::from_ref(&measure),
                &[sv("NT1", 5.0), sv("NT2", 1.0)],
                &audit("a"),
            )
            .await
            .unwrap();
        // Importing the year again replaces its social value rather than adding.
        store
            .import_anchor_measures(
                std::slice::from_ref(&measure),
                &[sv("NT1", 7.0)],
                &audit("a"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.anchor_measures().await.unwrap(),
            vec![measure],
            "{backend}"
        );
        assert_eq!(
            store.social_value().await.unwrap(),
            vec![sv("NT1", 7.0)],
            "{backend}"
        );

        // An anchor row for an organisation that does not exist fails the whole import.
        let bad = AnchorRecord {
            org_id: "nobody".into(),
            year: 2025,
            ..AnchorRecord::default()
        };
        assert!(store
            .import_anchor_measures(&[bad], &[sv("NT9", 1.0)], &audit("a"))
            .await
            .is_err());
        assert_eq!(
            store.social_value().await.unwrap(),
            vec![sv("NT1", 7.0)],
            "{backend}"
        );

        let business = |id: &str, name: &str| BusinessRecord {
            id: id.into(),
            source: "rates".into(),
            name: name.into(),
            company_number: None,
            sic_code: Some("10710".into()),
            size_band: "micro".into(),
            employees: Some(4),
            local_employees: Some(3),
            postcode: None,
            area: Some("E01000001".into()),
        };
        store
            .import_businesses(
                "rates",
                &[business("b1", "Bakery"), business("b2", "Cafe")],
                &audit("b"),
            )
            .await
            .unwrap();
        store
            .import_businesses("rates", &[business("b3", "Deli")], &audit("b"))
            .await
            .unwrap();
        // Two rows with one id: refused whole, the list as it was.
        assert!(store
            .import_businesses(
                "rates",
                &[business("b4", "X"), business("b4", "Y")],
                &audit("b")
            )
            .await
            .is_err());
        let names: Vec<String> = store
            .businesses()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, vec!["Deli".to_owned()], "{backend}");

        let count = |band: &str, n: i64| BusinessCountRecord {
            area: "E07000001".into(),
            year: 2025,
            unit: "enterprises".into(),
            size_band: "small".into(),
            band_text: band.into(),
            industry: "Retail".into(),
            count: n,
        };
        store
            .import_business_counts(&[count("10 to 19", 5), count("20 to 49", 3)], &audit("c"))
            .await
            .unwrap();
        store
            .import_business_counts(&[count("10 to 19", 6)], &audit("c"))
            .await
            .unwrap();
        assert_eq!(
            store.business_counts().await.unwrap(),
            vec![count("10 to 19", 6)],
            "{backend}"
        );

        let score = |c: &str, s: i64| MaturityRecord {
            partnership_id: "board".into(),
            assessed_on: "2026-01-01".into(),
            criterion: c.into(),
            score: s,
            note: String::new(),
        };
        store
            .put_maturity(&[score("a", 1), score("b", 2)], &audit("m"))
            .await
            .unwrap();
        store
            .put_maturity(&[score("a", 3)], &audit("m"))
            .await
            .unwrap();
        assert_eq!(
            store.maturity("board").await.unwrap(),
            vec![score("a", 3), score("b", 2)],
            "{backend}"
        );
        // A score out of range is refused by the database itself.
        assert!(store
            .put_maturity(&[score("c", 9)], &audit("m"))
            .await
            .is_err());
    }
}

//! The referral store's contract on both backends: what the web tests cannot
//! arrange through pages (a clash of references drawn at random).

use syndemic_hub::referral::Draft;
use syndemic_store::hub::{HubOrg, NewReferral};

fn draft(given: &str) -> Draft {
    serde_json::from_value(serde_json::json!({
        "person": {"given_name": given, "family_name": "Clash", "phone": "01632960001"},
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

#[tokio::test]
async fn a_reference_already_taken_is_replaced_by_a_longer_one() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a_reference_already_taken_is_replaced_by_a_longer_one";
    for store in syndemic_testkit::stores(name, dir.path()).await {
        let hub = HubOrg {
            id: "hub".into(),
            name: "Hub".into(),
            sector: "council".into(),
            is_hub: true,
        };
        store.put_org(&hub, 0).await.unwrap();
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

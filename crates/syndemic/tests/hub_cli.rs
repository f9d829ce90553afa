//! The hub's commands end to end: `admin` bootstraps the first system admin,
//! `directory import|export` round-trips an ORUK feed (and refuses a bad one
//! whole), `backup` and `restore` bring a store back, re-applying erasures made
//! since, and `purge` erases what is past retention.

use std::process::Command;

use syndemic_store::hub::{HubOrg, NewReferral, ReferralFilter, Stamp};
use syndemic_store::prelude::*;
use syndemic_store::{SqlStore, StoreUrl};

fn syndemic(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn referral(k: usize, at: i64) -> NewReferral {
    let draft: syndemic_hub::referral::Draft = serde_json::from_value(serde_json::json!({
        "person": {"given_name": format!("P{k}"), "family_name": "Cli", "phone": "01632 960000"},
        "needs": ["debt"], "urgency": "routine",
        "consent": {"basis": "vital-interests"}
    }))
    .unwrap();
    NewReferral {
        id: format!("r{k}"),
        reference: format!("R-{k}"),
        hub_org: "hub".into(),
        referrer_org: "hub".into(),
        referrer: "cli".into(),
        idempotency_key: format!("k{k}"),
        request_hash: format!("h{k}"),
        created_at: at,
        match_keys: draft.person.match_keys(),
        draft,
        lsoa: None,
        imd_decile: None,
    }
}

#[test]
fn admin_directory_backup_restore_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db").display().to_string();
    let (ok, out) = syndemic(&[
        "admin",
        "--db",
        &db,
        "--user",
        "root",
        "--org",
        "hub",
        "--org-name",
        "Test hub",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("/reset/"), "a one-time link: {out}");
    let (ok, out) = syndemic(&["admin", "--db", &db, "--user", "root"]);
    assert!(!ok && out.contains("taken"), "{out}");

    let feed = dir.path().join("feed.json");
    std::fs::write(&feed, r#"{"services": [{"id": "s1", "name": "Debt advice", "status": "active"}, {"id": "s2", "name": "Food bank", "status": "active", "organization": {"id": "o1", "name": "Food network"}}]}"#).unwrap();
    let (ok, out) = syndemic(&["directory", "import", feed.to_str().unwrap(), "--db", &db]);
    assert!(ok && out.contains("2 services, 1 organisations"), "{out}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"services": [{"id": "s3", "name": "Fine", "status": "active"}, {"id": "s4", "name": "Broken", "status": "open"}]}"#).unwrap();
    let (ok, out) = syndemic(&["directory", "import", bad.to_str().unwrap(), "--db", &db]);
    assert!(
        !ok && out.contains("services[1].status") && out.contains("nothing was imported"),
        "{out}"
    );
    let exported = dir.path().join("export.json");
    let (ok, out) = syndemic(&[
        "directory",
        "export",
        "--db",
        &db,
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(
        back["services"].as_array().unwrap().len(),
        2,
        "the bad feed left nothing behind: {back}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    rt.block_on(async {
        let store = SqlStore::connect(&StoreUrl::parse(&db).unwrap())
            .await
            .unwrap();
        store
            .put_org(
                &HubOrg {
                    id: "hub".into(),
                    name: "Test hub".into(),
                    sector: "council".into(),
                    is_hub: true,
                },
                0,
            )
            .await
            .unwrap();
        for k in 0..3 {
            store
                .create_referral(&referral(k, now - 1000 * 86400))
                .await
                .unwrap();
        }
        let by = Stamp {
            actor: "cli",
            org: "hub",
            at: now - 900 * 86400,
        };
        let close = syndemic_store::hub::Change::Decline {
            reason: "test".into(),
        };
        store.apply("r0", "r0:d", &by, &close, None).await.unwrap();
        store.close().await;
    });
    let backup = dir.path().join("backup.db");
    let (ok, out) = syndemic(&["backup", "--db", &db, "--out", backup.to_str().unwrap()]);
    assert!(ok, "{out}");
    // After the backup, referral r1 is erased at the person's request.
    rt.block_on(async {
        let store = SqlStore::connect(&StoreUrl::parse(&db).unwrap())
            .await
            .unwrap();
        assert_eq!(
            store
                .erase(
                    &["r1".into()],
                    &Stamp {
                        actor: "cli",
                        org: "hub",
                        at: now
                    },
                    "request"
                )
                .await
                .unwrap(),
            1
        );
        store.close().await;
    });
    let restored = dir.path().join("restored.db");
    let (ok, out) = syndemic(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--db",
        restored.to_str().unwrap(),
        "--erasures-from",
        &db,
    ]);
    assert!(
        ok && out.contains("re-applied 1 erasures") && out.contains("3 referrals"),
        "{out}"
    );
    let (ok, out) = syndemic(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--db",
        restored.to_str().unwrap(),
    ]);
    assert!(
        !ok && out.contains("exists"),
        "restore never overwrites: {out}"
    );
    // Purge: the referral declined 900 days ago is past a 730-day retention.
    let (ok, out) = syndemic(&[
        "purge",
        "--db",
        restored.to_str().unwrap(),
        "--retention-days",
        "730",
    ]);
    assert!(
        ok && out.contains("purged the personal data of 1 referrals"),
        "{out}"
    );
    rt.block_on(async {
        let store = SqlStore::connect(&StoreUrl::Sqlite(restored.display().to_string()))
            .await
            .unwrap();
        let all = store.referrals(&ReferralFilter::default()).await.unwrap();
        let erased: Vec<&str> = all
            .iter()
            .filter(|r| r.person.is_none())
            .map(|r| r.id.as_str())
            .collect();
        let mut erased = erased;
        erased.sort_unstable();
        assert_eq!(
            erased,
            ["r0", "r1"],
            "the erasure came back with the restore, and the purge did its part"
        );
        assert_eq!(all.len(), 3, "counts stay");
    });
}

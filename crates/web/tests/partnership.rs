//! Partnership and accountability over real HTTP, on SQLite and (where
//! configured) PostgreSQL: the authorisation matrix over every route (denials
//! asserted as well as permissions, anonymous callers included), commitments
//! judged against their trajectories from known data (on track, off track, and
//! "not significant" where the latest interval holds the trajectory), target
//! areas resolved by local quintile, imports all-or-nothing with errors that say
//! where, and updates recorded once under their id.

mod support;

use std::sync::Arc;

use serde_json::{json, Value};
use syndemic_access::Role;
use syndemic_model::{AreaCode, Level, Period};
use syndemic_store::hub::{AuditEntry, HubOrg, TokenRecord, UserRecord};
use syndemic_store::partnership::{
    CommitmentRecord, EvidenceFile, MemberRecord, PartnershipRecord, PlanRecord, UpdateRecord,
};
use syndemic_store::{
    Area, AreaLink, Deprivation, Indicator, Observation, Polarity, SqlStore, Store,
};
use syndemic_testkit::stores;
use syndemic_web::AppState;

use support::{request, Browser, Reply};
use syndemic_store::prelude::*;

const PASSWORD: &str = "tulip kettle orbit";
const DISTRICT: &str = "E07900001";
const PARTNERSHIP: &str = "board";
const PLAN: &str = "plan";
/// Off track, on track and not significant against their trajectories; and one
/// with no indicator whose update is long overdue.
const C_OFF: &str = "c-off";
const C_ON: &str = "c-on";
const C_NS: &str = "c-ns";
const C_LATE: &str = "c-late";

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

fn lsoa(i: usize) -> String {
    format!("E019{i:05}")
}

/// (user name, role, organisation). `lead-org` leads the partnership,
/// `member-org` is a member and contributes to every commitment, `outsider` is
/// neither.
const USERS: &[(&str, Role, &str)] = &[
    ("lead.own", Role::PartnershipLead, "lead-org"),
    ("coordinator.lead", Role::Coordinator, "lead-org"),
    ("lead.member", Role::PartnershipLead, "member-org"),
    ("caseworker.member", Role::Caseworker, "member-org"),
    ("analyst.member", Role::Analyst, "member-org"),
    ("referrer.member", Role::Referrer, "member-org"),
    ("orgadmin.member", Role::OrgAdmin, "member-org"),
    ("lead.outsider", Role::PartnershipLead, "outsider"),
    ("orgadmin.outsider", Role::OrgAdmin, "outsider"),
    ("sysadmin", Role::SystemAdmin, "outsider"),
];

fn obs(period: &str, value: f64, lower: f64, upper: f64) -> Observation {
    Observation {
        indicator: "fuel".into(),
        area: code(DISTRICT),
        period: Period::parse(period).unwrap(),
        sex: "Persons".into(),
        age: "All ages".into(),
        category_type: String::new(),
        category: String::new(),
        count: None,
        denominator: None,
        value: Some(value),
        lower95: Some(lower),
        upper95: Some(upper),
        lower998: None,
        upper998: None,
        note: None,
        compared_to_england: None,
        compared_to_parent: None,
        recent_trend: None,
    }
}

fn audit() -> AuditEntry {
    AuditEntry {
        at: 0,
        actor: "setup".into(),
        org: "lead-org".into(),
        action: "setup".into(),
        subject: "test".into(),
        record: String::new(),
        reason: String::new(),
    }
}

fn commitment(id: &str, reference: &str, target: Option<f64>, created_at: i64) -> CommitmentRecord {
    CommitmentRecord {
        id: id.into(),
        plan_id: PLAN.into(),
        reference: reference.into(),
        title: format!("Commitment {reference}"),
        lead_org: "lead-org".into(),
        contributors: vec!["member-org".into()],
        framework: Some("marmot".into()),
        objective: Some("income".into()),
        indicator: target.map(|_| "fuel".into()),
        indicator_area: None,
        baseline_period: target.map(|_| "2019".into()),
        // The plan's own figure; the store's 20.0 for 2019 takes precedence.
        baseline_value: target.map(|_| 25.0),
        target_value: target,
        target_date: target.map(|_| "2029-07-02".into()),
        target_rule: None,
        areas: Vec::new(),
        milestones: Vec::new(),
        created_at,
    }
}

/// A district of ten small areas ranked 100, 200, …, 1000 nationally; an
/// indicator (lower is better) at 20.0 (19–21) in 2019 and 17.0 (16.5–17.5) in
/// 2023; organisations, users of every role, a partnership with a plan of four
/// commitments, and an update with an evidence file.
async fn fill(store: &SqlStore) {
    let now = syndemic_model::date::unix_now();
    let mut tx = store.begin().await.unwrap();
    let mut areas = vec![Area {
        code: code(DISTRICT),
        name: Some("Testshire".into()),
        no_known_parent: false,
    }];
    let mut links = Vec::new();
    let mut deprivation = Vec::new();
    for i in 1..=10 {
        areas.push(Area {
            code: code(&lsoa(i)),
            name: Some(format!("Testshire {i:03}")),
            no_known_parent: false,
        });
        links.push(AreaLink {
            child: code(&lsoa(i)),
            parent: code(DISTRICT),
            level: Level::LowerTierAuthority,
            vintage: "2024".into(),
        });
        deprivation.push(Deprivation {
            area: code(&lsoa(i)),
            edition: "IoD2025".into(),
            domain: "imd".into(),
            // Listed out of order: the most deprived are 7 and 3.
            rank: [500, 900, 200, 800, 600, 1000, 100, 400, 300, 700][i - 1],
            decile: 1,
            score: None,
        });
    }
    tx.put_areas(&areas).await.unwrap();
    tx.put_links(&links).await.unwrap();
    tx.put_deprivation(&deprivation).await.unwrap();
    let mut indicator = Indicator::named("fuel", "Fuel poverty");
    indicator.polarity = Some(Polarity::LowerIsBetter);
    indicator.unit = Some("%".into());
    tx.put_indicator(&indicator).await.unwrap();
    // The district's values, and those of its most deprived fifth measured as a
    // group of target areas (as `syndemic compute` files them).
    let targeted = |o: Observation| Observation {
        category_type: syndemic_model::TARGET_AREAS.into(),
        category: "local-quintile:E07900001:1".into(),
        ..o
    };
    tx.put_observations(&[
        obs("2019", 20.0, 19.0, 21.0),
        obs("2023", 17.0, 16.5, 17.5),
        targeted(obs("2019", 31.0, 29.5, 32.5)),
        targeted(obs("2021", 28.5, 27.0, 30.0)),
        targeted(obs("2023", 26.0, 24.5, 27.5)),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (id, sector) in [
        ("lead-org", "local-government"),
        ("member-org", "vcse"),
        ("outsider", "local-government"),
    ] {
        store
            .put_org(
                &HubOrg {
                    id: id.into(),
                    name: format!("Org {id}"),
                    sector: sector.into(),
                    is_hub: false,
                },
                0,
            )
            .await
            .unwrap();
    }
    let hash = syndemic_access::secret::hash_password(PASSWORD, &[3; 16]).unwrap();
    for (name, role, org) in USERS {
        let u = UserRecord {
            password_hash: Some(hash.clone()),
            ..UserRecord::new(*name, *org, *name, *name, *role, 0)
        };
        assert!(store.create_user(&u).await.unwrap());
    }
    let member = |org: &str, role: &str| MemberRecord {
        partnership_id: PARTNERSHIP.into(),
        org_id: org.into(),
        role: role.into(),
        title: None,
    };
    store
        .put_partnership(
            &PartnershipRecord {
                id: PARTNERSHIP.into(),
                name: "Testshire Board".into(),
                kind: "health-and-wellbeing-board".into(),
                area: Some(DISTRICT.into()),
                parent_id: None,
                framework: "marmot".into(),
            },
            &[member("lead-org", "lead"), member("member-org", "member")],
            &audit(),
        )
        .await
        .unwrap();
    store
        .put_plan(
            &PlanRecord {
                id: PLAN.into(),
                partnership_id: PARTNERSHIP.into(),
                title: "Testshire Plan".into(),
                owner_org: "lead-org".into(),
                period_start: "2025-04-01".into(),
                period_end: "2028-03-31".into(),
                priorities: vec!["Warm homes".into()],
                update_every_days: 92,
            },
            &[
                commitment(C_OFF, "C1", Some(10.0), now),
                commitment(C_ON, "C2", Some(18.0), now),
                commitment(C_NS, "C3", Some(12.0), now),
                commitment(C_LATE, "C4", None, now - 200 * 86_400),
            ],
            &audit(),
        )
        .await
        .unwrap();
    store
        .add_update(
            &UpdateRecord {
                id: "u-seed".into(),
                commitment_id: C_OFF.into(),
                at: now,
                author: "lead.own".into(),
                org_id: "lead-org".into(),
                status: "on-track".into(),
                narrative: "Started.".into(),
                evidence: Vec::new(),
            },
            &[EvidenceFile {
                id: "evidence-1".into(),
                update_id: "u-seed".into(),
                file_name: "survey.csv".into(),
                content_type: "text/csv".into(),
                bytes: b"homes,surveyed\n400,1\n".to_vec(),
            }],
            &[],
            &audit(),
        )
        .await
        .unwrap();
}

struct Server {
    backend: String,
    port: u16,
    store: SqlStore,
}

fn servers(test: &str, dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> Vec<Server> {
    rt.block_on(async {
        let mut out = Vec::new();
        for store in stores(test, dir).await {
            fill(&store).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store.clone()), "Testshire", None);
            tokio::spawn(syndemic_web::serve(state, listener));
            out.push(Server {
                backend: store.backend_name().to_owned(),
                port,
                store,
            });
        }
        out
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A `multipart/form-data` body: text fields, then files as (field, name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str)]) -> (String, String) {
    let boundary = "----syndemic-test-boundary-7d1f";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    for (field, name, content) in files {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_multipart(
    b: Option<&Browser>,
    port: u16,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str)],
) -> Reply {
    let mut all: Vec<(&str, &str)> = Vec::new();
    if let Some(b) = b {
        all.push(("csrf", &b.csrf));
    }
    all.extend_from_slice(fields);
    let (kind, body) = multipart(&all, files);
    let mut headers = vec![("Content-Type", kind.as_str())];
    if let Some(b) = b {
        headers.push(("Cookie", &b.cookie));
    }
    request(port, "POST", path, &headers, &body)
}

fn api(b: Option<&Browser>, port: u16, method: &str, path: &str, body: &Value) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(b) = b {
        headers.push(("Cookie", b.cookie.as_str()));
        headers.push(("X-CSRF-Token", b.csrf.as_str()));
    }
    request(port, method, path, &headers, &body.to_string())
}

const COMMITMENTS_CSV: &str = "reference,title,lead,contributors,indicator,baseline_period,target_value,target_date,target_areas\nN1,New commitment,lead-org,member-org,fuel,2019,15,2030-03-31,local-quintile:E07900001:1\n";
const PARTNERS_CSV: &str =
    "id,name,sector,sub_type,employees,partnership,member_role\nnew-charity,New Charity,vcse,charity,12,board,member\n";
const ANCHORS_CSV: &str =
    "organisation,year,employees,local_spend_share,real_living_wage\nmember-org,2025,300,40%,yes\n";
const BUSINESSES_CSV: &str =
    "name,sic_code,employees,area\nMill Bakery,10710,12,E01900001\nBig Works,25110,400,E01900007\n";

/// Everyone who reads the partnership: its members' users and the system admin.
fn reads(user: &str) -> bool {
    !matches!(user, "lead.outsider" | "orgadmin.outsider")
}

/// Who may report progress on a commitment led by `lead-org` with `member-org`.
fn updates(user: &str) -> bool {
    matches!(
        user,
        "lead.own" | "coordinator.lead" | "lead.member" | "caseworker.member" | "orgadmin.member"
    )
}

#[test]
fn every_route_decides_access_by_role_and_organisation() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "every_route_decides_access_by_role_and_organisation";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        // Anonymous: pages send to sign-in; the API answers 401 whatever the body.
        for path in [
            "/partnerships",
            "/partnerships/board",
            "/partnerships/board/report",
            "/partnerships/board/scorecard.csv",
            "/plans/plan",
            "/plans/plan/commitments.xlsx",
            "/commitments/c-off",
            "/evidence/evidence-1",
            "/organisations",
            "/organisations/member-org",
            "/organisations/table/organisations.csv",
            "/anchors",
            "/anchors/measures.xlsx",
            "/businesses",
            "/businesses/by-decile.csv",
        ] {
            let r = request(port, "GET", path, &[], "");
            assert_eq!(r.status, 303, "{backend} anonymous GET {path}");
            let back = form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
            assert_eq!(
                r.header("location"),
                Some(format!("/login?next={back}")),
                "{backend}: back to {path} after sign-in"
            );
        }
        for path in [
            "/partnerships",
            "/partnerships/board/members",
            "/partnerships/board/frameworks",
            "/partnerships/board/plans",
            "/partnerships/board/maturity",
            "/plans/plan",
            "/plans/plan/commitments",
            "/plans/plan/import",
            "/commitments/c-off/updates",
            "/commitments/c-off/reviews",
            "/organisations/member-org",
            "/organisations/import",
            "/anchors/import",
            "/businesses/import",
        ] {
            let r = request(
                port,
                "POST",
                path,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                "title=x",
            );
            assert_eq!(r.status, 303, "{backend} anonymous POST {path}");
        }
        for (method, path) in [
            ("GET", "/api/v1/partnerships"),
            ("GET", "/api/v1/partnerships/board"),
            ("GET", "/api/v1/organisations"),
            ("GET", "/api/v1/organisations/member-org"),
            ("GET", "/api/v1/commitments"),
            ("GET", "/api/v1/commitments/c-off"),
            ("GET", "/api/v1/businesses"),
            ("GET", "/api/v1/anchor-measures"),
            ("POST", "/api/v1/commitments/c-off/updates"),
            ("POST", "/api/v1/commitments/c-off/reviews"),
            ("POST", "/api/v1/commitments/no-such/updates"),
        ] {
            for body in [
                json!({}),
                json!("not an object"),
                json!({"id": "x", "status": "on-track", "narrative": "n"}),
            ] {
                let r = api(None, port, method, path, &body);
                assert_eq!(
                    r.status, 401,
                    "{backend} anonymous {method} {path}: {}",
                    r.body
                );
            }
        }

        let mut checks = 0;
        for (user, _, _) in USERS {
            let b =
                Browser::sign_in(port, user, PASSWORD).unwrap_or_else(|r| panic!("{user}: {r:?}"));
            let mut check = |what: &str, got: u16, allowed: bool, ok: u16| {
                let want = if allowed { ok } else { 403 };
                assert_eq!(got, want, "{backend} {user}: {what}");
                checks += 1;
            };
            // Reading the partnership and everything in it.
            for path in [
                "/partnerships/board",
                "/partnerships/board/report",
                "/partnerships/board/scorecard.csv",
                "/partnerships/board/by-organisation.xlsx",
                "/plans/plan",
                "/plans/plan/commitments.csv",
                "/plans/plan/commitments.xlsx",
                "/commitments/c-off",
                "/evidence/evidence-1",
                "/api/v1/partnerships/board",
                "/api/v1/commitments/c-off",
            ] {
                check(&format!("GET {path}"), b.get(path).status, reads(user), 200);
            }
            // Reading what every signed-in user reads.
            for path in [
                "/partnerships",
                "/organisations",
                "/organisations/member-org",
                "/organisations/table/organisations.csv",
                "/anchors",
                "/anchors/measures.csv",
                "/businesses",
                "/businesses/employers.xlsx",
                "/templates/partners.xlsx",
                "/api/v1/partnerships",
                "/api/v1/organisations",
                "/api/v1/commitments",
                "/api/v1/businesses",
                "/api/v1/anchor-measures",
            ] {
                check(&format!("GET {path}"), b.get(path).status, true, 200);
            }
            // Lists show only what the caller may read.
            let listed = b.get("/api/v1/commitments").json()["total_items"]
                .as_u64()
                .unwrap();
            let all = rt.block_on(server.store.commitments(None)).unwrap().len() as u64;
            assert_eq!(
                listed,
                if reads(user) { all } else { 0 },
                "{backend} {user}: commitments listed"
            );
            let listed = b.get("/api/v1/partnerships").json()["total_items"]
                .as_u64()
                .unwrap();
            // Those its organisation is a member of (all top-level here), or all for
            // the system admin.
            let org = USERS.iter().find(|u| u.0 == *user).unwrap().2;
            let members = rt.block_on(server.store.members()).unwrap();
            let partnerships = rt.block_on(server.store.partnerships()).unwrap();
            let expected = partnerships
                .iter()
                .filter(|p| {
                    *user == "sysadmin"
                        || members
                            .iter()
                            .any(|m| m.partnership_id == p.id && m.org_id == org)
                })
                .count() as u64;
            assert_eq!(listed, expected, "{backend} {user}: partnerships listed");

            let manage = *user == "lead.own";
            let r = b.post(
                "/partnerships",
                &[
                    ("name", &format!("Made by {user}")),
                    ("kind", "community-partnership"),
                    ("area", DISTRICT),
                    ("parent", ""),
                    ("framework", "marmot"),
                ],
            );
            check(
                "POST a partnership",
                r.status,
                matches!(
                    *user,
                    "lead.own" | "lead.member" | "lead.outsider" | "sysadmin"
                ),
                303,
            );
            let r = b.post("/partnerships/board", &[]);
            assert_eq!(r.status, 405, "{backend} {user}: POST to a page");
            let r = b.post(
                "/partnerships/board/members",
                &[
                    ("action", "put"),
                    ("org", "member-org"),
                    ("role", "member"),
                    ("title", "Voluntary sector seat"),
                ],
            );
            check(
                "POST a member",
                r.status,
                matches!(*user, "lead.own" | "sysadmin"),
                303,
            );
            let r = b.post(
                "/partnerships/board/frameworks",
                &[
                    ("name", &format!("Ours {user}")),
                    ("objectives", "warm: Warm homes\ndry: Dry homes"),
                ],
            );
            check("POST a framework", r.status, manage, 303);
            let r = b.post(
                "/partnerships/board/plans",
                &[
                    ("title", "Another plan"),
                    ("owner", "lead-org"),
                    ("period_start", "2026-01-01"),
                    ("period_end", "2027-01-01"),
                    ("update_every_days", "92"),
                ],
            );
            check("POST a plan", r.status, manage, 303);
            let r = b.post(
                "/plans/plan",
                &[
                    ("title", "Testshire Plan"),
                    ("owner", "lead-org"),
                    ("period_start", "2025-04-01"),
                    ("period_end", "2028-03-31"),
                    ("priorities", "Warm homes"),
                    ("update_every_days", "92"),
                ],
            );
            check("POST a changed plan", r.status, manage, 303);
            let mut maturity: Vec<(&str, &str)> = vec![("assessed_on", "2026-06-01")];
            for (c, _) in syndemic_partnership::maturity::CRITERIA {
                maturity.push((c, "2"));
            }
            check(
                "POST a self-assessment",
                b.post("/partnerships/board/maturity", &maturity).status,
                manage,
                303,
            );
            let reference = format!("X-{user}");
            let r = b.post(
                "/plans/plan/commitments",
                &[
                    ("reference", &reference),
                    ("title", "Something"),
                    ("lead", "lead-org"),
                    ("contributors", "member-org"),
                    ("objective", "marmot:work"),
                ],
            );
            check("POST a commitment", r.status, manage, 303);
            let csv = COMMITMENTS_CSV.replace("N1", &format!("N-{user}"));
            let r = post_multipart(
                Some(&b),
                port,
                "/plans/plan/import",
                &[],
                &[("file", "plan.csv", &csv)],
            );
            check("POST a plan import", r.status, manage, 303);
            let update_id = format!("page-{user}");
            let r = post_multipart(
                Some(&b),
                port,
                "/commitments/c-off/updates",
                &[
                    ("update_id", &update_id),
                    ("status", "at-risk"),
                    ("narrative", "Slower than hoped."),
                ],
                &[("evidence", "notes.txt", "minutes")],
            );
            check("POST an update", r.status, updates(user), 303);
            let r = b.post(
                "/commitments/c-off",
                &[
                    ("title", "Commitment C1"),
                    ("lead", "lead-org"),
                    ("contributors", "member-org"),
                    ("objective", "marmot:income"),
                    ("indicator", "fuel"),
                    ("baseline_period", "2019"),
                    ("baseline_value", "25"),
                    ("target_value", "10"),
                    ("target_date", "2029-07-02"),
                ],
            );
            check("POST a changed commitment", r.status, manage, 303);
            let r = b.post(
                "/commitments/c-off/reviews",
                &[
                    ("review_id", &format!("page-{user}")),
                    ("reviewed_on", "2026-10-01"),
                    ("rating", "amber"),
                    ("actions", "Recovery plan"),
                    ("next_review", "2027-01-01"),
                ],
            );
            check("POST a review", r.status, manage, 303);
            let r = b.post(
                "/organisations/member-org",
                &[
                    ("name", "Org member-org"),
                    ("sector", "vcse"),
                    ("employees", "30"),
                    ("local_percent", "80"),
                ],
            );
            check(
                "POST a profile",
                r.status,
                matches!(*user, "orgadmin.member" | "sysadmin"),
                303,
            );
            let r = post_multipart(
                Some(&b),
                port,
                "/organisations/import",
                &[],
                &[("file", "partners.csv", PARTNERS_CSV)],
            );
            check(
                "POST a partners' import",
                r.status,
                *user == "sysadmin",
                303,
            );
            let r = post_multipart(
                Some(&b),
                port,
                "/anchors/import",
                &[],
                &[("file", "anchors.csv", ANCHORS_CSV)],
            );
            check(
                "POST anchor measures",
                r.status,
                matches!(*user, "orgadmin.member" | "sysadmin"),
                303,
            );
            let r = post_multipart(
                Some(&b),
                port,
                "/businesses/import",
                &[("kind", "list"), ("source", "rates")],
                &[("file", "b.csv", BUSINESSES_CSV)],
            );
            check(
                "POST businesses",
                r.status,
                matches!(
                    *user,
                    "lead.own" | "lead.member" | "lead.outsider" | "sysadmin"
                ),
                303,
            );
            let body = json!({"id": format!("api-{user}"), "status": "on-track", "narrative": "Via the API"});
            let r = api(
                Some(&b),
                port,
                "POST",
                "/api/v1/commitments/c-off/updates",
                &body,
            );
            let want = if updates(user) { 201 } else { 403 };
            assert_eq!(r.status, want, "{backend} {user}: API update: {}", r.body);
            let body = json!({"id": format!("api-{user}"), "reviewed_on": "2026-11-01", "rating": "green", "actions": "Noted"});
            let r = api(
                Some(&b),
                port,
                "POST",
                "/api/v1/commitments/c-off/reviews",
                &body,
            );
            assert_eq!(
                r.status,
                if manage { 201 } else { 403 },
                "{backend} {user}: API review: {}",
                r.body
            );
            checks += 2;
            // A session cannot post JSON as a form from another site.
            let r = request(
                port,
                "POST",
                "/api/v1/commitments/c-off/updates",
                &[("Cookie", &b.cookie), ("Content-Type", "text/plain")],
                &json!({"id": "t", "status": "on-track", "narrative": "n"}).to_string(),
            );
            assert_eq!(r.status, 415, "{backend} {user}: {}", r.body);
        }
        println!("{backend}: {checks} authorisation checks");
        // Every change left its audit entry.
        let log = rt.block_on(server.store.audit_log(None, 10_000)).unwrap();
        for action in ["create", "update", "review", "import", "edit", "assess"] {
            assert!(
                log.iter().any(|e| e.action == action),
                "{backend}: no `{action}` in the audit log"
            );
        }
    }
}

fn lead_of_board(port: u16) -> Browser {
    Browser::sign_in(port, "lead.own", PASSWORD).unwrap()
}

#[test]
fn commitments_are_judged_against_their_trajectories() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "commitments_are_judged_against_their_trajectories";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        let b = Browser::sign_in(port, "analyst.member", PASSWORD).unwrap();
        // Baseline mid-2019, latest mid-2023 (1,461 days on), target 2029-07-02
        // (3,653 days on): the trajectory at the latest is baseline + (target −
        // baseline) × 1461/3653.
        let share = 1461.0 / 3653.0;
        for (id, target, judgement, movement) in [
            (C_OFF, 10.0, "off-track", "better"),
            (C_ON, 18.0, "on-track", "better"),
            (C_NS, 12.0, "not-significant", "better"),
        ] {
            let c = b.get(&format!("/api/v1/commitments/{id}")).json();
            assert_eq!(
                c["baseline"]["value"],
                json!(20.0),
                "{backend} {id}: baseline from the store, not the plan's 25"
            );
            assert_eq!(c["baseline"]["from_evidence_store"], json!(true));
            assert_eq!(c["baseline"]["period"], json!("2019"));
            assert_eq!(c["latest"]["value"], json!(17.0), "{backend} {id}");
            assert_eq!(c["latest"]["period"], json!("2023"));
            assert_eq!(c["latest"]["lower95"], json!(16.5));
            let expected = 20.0 + (target - 20.0) * share;
            let got = c["trajectory_value"].as_f64().unwrap();
            assert!(
                (got - expected).abs() < 1e-9,
                "{backend} {id}: trajectory {got} ≠ {expected}"
            );
            assert_eq!(c["judgement"], json!(judgement), "{backend} {id}: {c}");
            // 19–21 against 16.5–17.5: significantly better.
            assert_eq!(c["movement"], json!(movement), "{backend} {id}");
        }
        let late = b.get(&format!("/api/v1/commitments/{C_LATE}")).json();
        assert_eq!(late["judgement"], Value::Null);
        assert_eq!(
            late["update_overdue"],
            json!(true),
            "{backend}: 200 days without an update"
        );
        let page = b.get(&format!("/commitments/{C_NS}"));
        assert!(page.body.contains("Not significant"), "{backend}");
        assert!(
            page.body.contains("19–21") || page.body.contains("19"),
            "{backend}"
        );
        // The lead changes a target: the judgement follows; a bad change is refused
        // whole with what would be valid.
        let edit = |target: &str, lead_org: &str| {
            lead_of_board(port).post(
                &format!("/commitments/{C_ON}"),
                &[
                    ("title", "Commitment C2, more ambitious"),
                    ("lead", lead_org),
                    ("contributors", "member-org"),
                    ("indicator", "fuel"),
                    ("baseline_period", "2019"),
                    ("target_value", target),
                    ("target_date", "2029-07-02"),
                    ("milestones", "2027-01-31: Half the homes done"),
                ],
            )
        };
        assert_eq!(edit("10", "lead-org").status, 303, "{backend}");
        let c = b.get(&format!("/api/v1/commitments/{C_ON}")).json();
        assert_eq!(c["judgement"], json!("off-track"), "{backend}: {c}");
        assert_eq!(c["reference"], json!("C2"));
        assert_eq!(c["milestones"][0]["what"], json!("Half the homes done"));
        let r = edit("ten", "lead-org");
        assert_eq!(r.status, 422, "{backend}");
        assert!(
            r.body.contains("Target value: `ten` is not a number"),
            "{backend}: {}",
            r.body
        );
        let r = edit("12", "outsider");
        assert_eq!(r.status, 422, "{backend}");
        assert!(r.body.contains("not a member"), "{backend}: {}", r.body);
        assert_eq!(
            b.get(&format!("/api/v1/commitments/{C_ON}")).json()["target_value"],
            json!(10.0)
        );
        let edit_back = lead_of_board(port).post(
            &format!("/commitments/{C_ON}"),
            &[
                ("title", "Commitment C2"),
                ("lead", "lead-org"),
                ("contributors", "member-org"),
                ("indicator", "fuel"),
                ("baseline_period", "2019"),
                ("baseline_value", "25"),
                ("target_value", "18"),
                ("target_date", "2029-07-02"),
            ],
        );
        assert_eq!(edit_back.status, 303, "{backend}");

        // The plan's download carries the same figures.
        let csv = b.get("/plans/plan/commitments.csv").body;
        let c3 = csv.lines().find(|l| l.starts_with("C3,")).unwrap();
        assert!(
            c3.contains(",2019,20,2023,17,16.5,17.5,12,2029-07-02,")
                && c3.contains("Not significant"),
            "{backend}: {c3}"
        );
        // The scorecard counts them.
        let csv = b.get("/partnerships/board/scorecard.csv").body;
        let row = csv.lines().nth(1).unwrap();
        assert!(
            row.starts_with("All commitments,4,1,1,1,0,0,"),
            "{backend}: {csv}"
        );
        // The lead organisation's users see the reminder for the overdue update.
        let lead = Browser::sign_in(port, "lead.own", PASSWORD).unwrap();
        let list = lead.get("/partnerships").body;
        assert!(
            list.contains("Updates your organisation owes") && list.contains("Commitment C4"),
            "{backend}"
        );
        let outsider = Browser::sign_in(port, "orgadmin.outsider", PASSWORD).unwrap();
        assert!(
            !outsider.get("/partnerships").body.contains("Commitment C4"),
            "{backend}"
        );
        // The printable report has a print style and every commitment.
        let report = lead.get("/partnerships/board/report").body;
        for c in ["C1", "C2", "C3", "C4"] {
            assert!(
                report.contains(&format!("{c}: Commitment {c}")),
                "{backend}: {c}"
            );
        }
        // Withdrawn by its lead organisation, the late commitment owes nothing more.
        let body = json!({"id": "withdraw-c4", "status": "withdrawn", "narrative": "Merged into C1 by the board."});
        let r = api(
            Some(&lead),
            port,
            "POST",
            &format!("/api/v1/commitments/{C_LATE}/updates"),
            &body,
        );
        assert_eq!(r.status, 201, "{backend}: {}", r.body);
        let late = b.get(&format!("/api/v1/commitments/{C_LATE}")).json();
        assert_eq!(late["status"], json!("withdrawn"), "{backend}");
        assert_eq!(late["update_overdue"], json!(false), "{backend}");
        assert!(
            !lead.get("/partnerships").body.contains("Commitment C4"),
            "{backend}: no reminder for a withdrawn commitment"
        );
        let csv = b.get("/partnerships/board/status.csv").body;
        let header = csv.lines().find(|l| l.starts_with("Group,")).unwrap();
        assert!(
            header.ends_with(",Complete,Withdrawn,Update overdue"),
            "{backend}: {csv}"
        );
        let all = csv
            .lines()
            .find(|l| l.starts_with("All commitments,"))
            .unwrap();
        assert!(
            all.ends_with(",1,0"),
            "{backend}: one withdrawn, none overdue: {csv}"
        );

        // The lead says on track and the board says green while the data says
        // off track: flagged on the commitment, the scorecard and the report.
        let said = api(
            Some(&lead),
            port,
            "POST",
            &format!("/api/v1/commitments/{C_OFF}/updates"),
            &json!({"id": "contra-1", "status": "on-track", "narrative": "All going well"}),
        );
        assert_eq!(said.status, 201, "{backend}: {}", said.body);
        let rated = api(
            Some(&lead),
            port,
            "POST",
            &format!("/api/v1/commitments/{C_OFF}/reviews"),
            &json!({"id": "contra-r", "reviewed_on": "2026-11-01", "rating": "green", "actions": "Noted"}),
        );
        assert_eq!(rated.status, 201, "{backend}: {}", rated.body);
        let page = b.get(&format!("/commitments/{C_OFF}")).body;
        assert!(page.contains("The judgements disagree"), "{backend}");
        assert!(
            page.contains("the lead reports it on track, but the data shows it off its trajectory")
                && page
                    .contains("the data shows it off its trajectory, but the board rated it green"),
            "{backend}: both disagreements named"
        );
        let flagged = b.get("/partnerships/board/contradictions.csv").body;
        let rows: Vec<&str> = flagged.lines().skip(1).collect();
        assert_eq!(
            rows.len(),
            1,
            "{backend}: only the contradicted one: {flagged}"
        );
        assert!(
            rows[0].contains("board rated it green"),
            "{backend}: {flagged}"
        );
        let report = b.get("/partnerships/board/report").body;
        assert!(
            report.contains("Contradictions to resolve"),
            "{backend}: the report carries them"
        );
        let summary =
            &report[report.find("id=\"summary\"").unwrap()..report.find(">Scorecard<").unwrap()];
        assert!(
            summary.contains("where the lead, the data and the board disagree")
                && summary.contains("off its trajectory; the lead reports it on track"),
            "{backend}: the one-page summary names it for the board: {summary}"
        );
        assert!(
            !b.get(&format!("/commitments/{C_ON}"))
                .body
                .contains("The judgements disagree"),
            "{backend}: an agreed commitment is not flagged"
        );
    }
}

#[test]
fn target_areas_resolve_by_local_quintile_and_imports_are_all_or_nothing() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "target_areas_resolve_by_local_quintile_and_imports_are_all_or_nothing";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        let lead = Browser::sign_in(port, "lead.own", PASSWORD).unwrap();
        let r = post_multipart(
            Some(&lead),
            port,
            "/plans/plan/import",
            &[],
            &[("file", "plan.csv", COMMITMENTS_CSV)],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        let all = lead.get("/api/v1/commitments").json();
        let n1 = all["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["reference"] == "N1")
            .unwrap()
            .clone();
        // Ten areas: the most deprived fifth is the two ranked 100 and 200.
        assert_eq!(n1["target_areas"], json!([lsoa(3), lsoa(7)]), "{backend}");
        assert_eq!(n1["target_rule"], json!("local-quintile:E07900001:1"));

        // A partnership's area by its name, as every place field takes it; a
        // name the place does not hold is refused by name.
        let made = lead.post(
            "/partnerships",
            &[
                ("name", "Testshire Healthy Towns"),
                ("kind", "community-partnership"),
                ("area", "testshire"),
                ("parent", ""),
                ("framework", "marmot"),
            ],
        );
        assert_eq!(made.status, 303, "{backend}: {}", made.body);
        let town = lead
            .get("/api/v1/partnerships/testshire-healthy-towns")
            .json();
        assert_eq!(town["area"], json!(DISTRICT), "{backend}: {town}");
        let refused = lead.post(
            "/partnerships",
            &[
                ("name", "Nowhere Partnership"),
                ("kind", "community-partnership"),
                ("area", "Nowhere"),
                ("parent", ""),
                ("framework", "marmot"),
            ],
        );
        assert_eq!(refused.status, 422, "{backend}");
        assert!(
            refused.body.contains("the area it covers"),
            "{backend}: {}",
            refused.body
        );

        // N1 is measured on its target areas, with a chart of their values
        // against its trajectory; a commitment whose areas the engine has not
        // measured says it is measured on the whole district meanwhile.
        let page = lead.get(&format!("/commitments/{}", n1["id"].as_str().unwrap()));
        assert_eq!(page.status, 200, "{backend}");
        assert!(
            page.body
                .contains("Its target areas, measured as one group"),
            "{backend}"
        );
        assert!(
            page.body.contains("26 (2023)"),
            "{backend}: the target areas' latest value"
        );
        assert!(page.body.contains("31 (2019)"), "{backend}: their baseline");
        assert!(
            page.body.contains("Trajectory, baseline to target"),
            "{backend}: the chart"
        );
        assert!(
            page.body.contains("Measured values since the baseline"),
            "{backend}: its table"
        );
        assert_eq!(
            page.body.matches("class=\"measured\"").count(),
            1,
            "{backend}"
        );
        let plan = lead.get("/plans/plan");
        assert!(
            plan.body.contains("26 % (2023)"),
            "{backend}: value with its unit"
        );
        assert!(
            plan.body.contains("Fuel poverty, target areas"),
            "{backend}: and what it is"
        );
        let csv = lead.get("/plans/plan/commitments.csv").body;
        assert!(
            csv.contains("Measured on") && csv.contains("Target areas,%"),
            "{backend}: {csv}"
        );

        let count = |b: &Browser| {
            b.get("/api/v1/commitments").json()["total_items"]
                .as_u64()
                .unwrap()
        };
        let before = count(&lead);
        // One bad row among good ones: nothing imported, the row and column named.
        let bad = format!("{COMMITMENTS_CSV}N2,Two,lead-org,,fuel,2019,abc,2030-03-31,\nN3,Three,nobody-org,,,,,,\n").replace("N1,", "N9,");
        let r = post_multipart(
            Some(&lead),
            port,
            "/plans/plan/import",
            &[],
            &[("file", "plan.csv", &bad)],
        );
        assert_eq!(r.status, 422, "{backend}: {}", r.body);
        assert!(
            r.body.contains("line 3, column G (target_value)"),
            "{backend}: {}",
            r.body
        );
        assert!(r.body.contains("nothing was imported"), "{backend}");
        assert_eq!(count(&lead), before, "{backend}: nothing imported");
        let unknown = COMMITMENTS_CSV.replace("N1,New commitment,lead-org", "N8,Eight,nobody-org");
        let r = post_multipart(
            Some(&lead),
            port,
            "/plans/plan/import",
            &[],
            &[("file", "plan.csv", &unknown)],
        );
        assert_eq!(r.status, 422, "{backend}");
        assert!(
            r.body.contains("line 2") && r.body.contains("nobody-org"),
            "{backend}: {}",
            r.body
        );
        assert_eq!(count(&lead), before, "{backend}: nothing imported");

        let admin = Browser::sign_in(port, "sysadmin", PASSWORD).unwrap();
        let orgs = |b: &Browser| {
            b.get("/api/v1/organisations").json()["total_items"]
                .as_u64()
                .unwrap()
        };
        let before = orgs(&admin);
        let bad = format!("{PARTNERS_CSV}second,Second,police,,,,\n");
        let r = post_multipart(
            Some(&admin),
            port,
            "/organisations/import",
            &[],
            &[("file", "partners.csv", &bad)],
        );
        assert_eq!(r.status, 422, "{backend}");
        assert!(
            r.body.contains("line 3, column C (sector)"),
            "{backend}: {}",
            r.body
        );
        assert_eq!(orgs(&admin), before, "{backend}: no organisation added");
        let r = post_multipart(
            Some(&admin),
            port,
            "/organisations/import",
            &[],
            &[("file", "partners.csv", PARTNERS_CSV)],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        assert_eq!(orgs(&admin), before + 1, "{backend}");
        let board = admin.get("/api/v1/partnerships/board").json();
        assert!(
            board["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["organisation_id"] == "new-charity"),
            "{backend}"
        );

        let businesses = |b: &Browser| {
            b.get("/api/v1/businesses").json()["total_items"]
                .as_u64()
                .unwrap()
        };
        let r = post_multipart(
            Some(&admin),
            port,
            "/businesses/import",
            &[("kind", "list"), ("source", "rates")],
            &[("file", "b.csv", BUSINESSES_CSV)],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        assert_eq!(businesses(&admin), 2);
        let listed = admin.get("/api/v1/businesses").json();
        let big = listed["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "Big Works")
            .unwrap()
            .clone();
        assert_eq!(big["size_band"], json!("large"), "{backend}");
        let bad = format!("{BUSINESSES_CSV}Odd,ABCDE,3,E01900002\n");
        let r = post_multipart(
            Some(&admin),
            port,
            "/businesses/import",
            &[("kind", "list"), ("source", "rates")],
            &[("file", "b.csv", &bad)],
        );
        assert_eq!(r.status, 422, "{backend}: {}", r.body);
        assert!(r.body.contains("line 4"), "{backend}: {}", r.body);
        assert_eq!(businesses(&admin), 2, "{backend}: the list as it was");

        // UK Business Counts as downloaded from Nomis; totals skipped, bands summed.
        let nomis = "GEOGRAPHY_CODE,DATE,EMPLOYMENT_SIZEBAND_NAME,INDUSTRY_NAME,OBS_VALUE\nE07900001,2025,0 to 4,Retail,40\nE07900001,2025,5 to 9,Retail,15\nE07900001,2025,250+,Retail,2\nE07900001,2025,Total,Retail,57\n";
        let r = post_multipart(
            Some(&admin),
            port,
            "/businesses/import",
            &[("kind", "counts"), ("source", "enterprises")],
            &[("file", "ubc.csv", nomis)],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        let table = admin.get("/businesses/business-counts.csv").body;
        assert_eq!(
            table.lines().nth(1),
            Some("E07900001,2025,enterprises,55,0,0,2"),
            "{backend}: {table}"
        );
        let bad = nomis.replace("15", "fifteen");
        let r = post_multipart(
            Some(&admin),
            port,
            "/businesses/import",
            &[("kind", "counts"), ("source", "enterprises")],
            &[("file", "ubc.csv", &bad)],
        );
        assert_eq!(r.status, 422, "{backend}: {}", r.body);
        assert!(r.body.contains("line 3, column E"), "{backend}: {}", r.body);
        assert_eq!(
            admin.get("/businesses/business-counts.csv").body,
            table,
            "{backend}: counts as they were"
        );

        let anchors = |b: &Browser| {
            b.get("/api/v1/anchor-measures").json()["total_items"]
                .as_u64()
                .unwrap()
        };
        let bad = format!("{ANCHORS_CSV}member-org,2024,300,140%,yes\n");
        let r = post_multipart(
            Some(&admin),
            port,
            "/anchors/import",
            &[],
            &[("file", "anchors.csv", &bad)],
        );
        assert_eq!(r.status, 422, "{backend}: {}", r.body);
        assert!(r.body.contains("line 3"), "{backend}: {}", r.body);
        assert_eq!(anchors(&admin), 0, "{backend}");
        let r = post_multipart(
            Some(&admin),
            port,
            "/anchors/import",
            &[],
            &[("file", "anchors.csv", ANCHORS_CSV)],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        let m = admin.get("/api/v1/anchor-measures").json();
        assert_eq!(
            m["contents"][0]["local_spend_share"],
            json!(0.4),
            "{backend}"
        );
        assert_eq!(
            m["contents"][0]["real_living_wage"],
            json!(true),
            "{backend}"
        );
    }
}

#[test]
fn an_update_is_recorded_once_under_its_id() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "an_update_is_recorded_once_under_its_id";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        let b = Browser::sign_in(port, "caseworker.member", PASSWORD).unwrap();
        let body = json!({"id": "retry-1", "status": "complete", "narrative": "Done", "milestones_done": []});
        let first = api(
            Some(&b),
            port,
            "POST",
            "/api/v1/commitments/c-on/updates",
            &body,
        );
        assert_eq!(first.status, 201, "{backend}: {}", first.body);
        let again = api(
            Some(&b),
            port,
            "POST",
            "/api/v1/commitments/c-on/updates",
            &body,
        );
        assert_eq!(again.status, 200, "{backend}");
        assert_eq!(again.json()["recorded"], json!(false));
        let c = b.get("/api/v1/commitments/c-on").json();
        assert_eq!(c["updates"].as_array().unwrap().len(), 1, "{backend}");
        assert_eq!(c["status"], json!("complete"), "{backend}");
        // The id is scoped by organisation: another organisation's `retry-1` on the
        // same commitment is its own update, not silently taken for the first.
        let lead = Browser::sign_in(port, "coordinator.lead", PASSWORD).unwrap();
        let theirs = json!({"id": "retry-1", "status": "at-risk", "narrative": "Ours", "milestones_done": []});
        let r = api(
            Some(&lead),
            port,
            "POST",
            "/api/v1/commitments/c-on/updates",
            &theirs,
        );
        assert_eq!(r.status, 201, "{backend}: {}", r.body);
        let c = b.get("/api/v1/commitments/c-on").json();
        assert_eq!(c["updates"].as_array().unwrap().len(), 2, "{backend}: {c}");
        // Bad input is refused with what would be valid.
        let bad = api(
            Some(&b),
            port,
            "POST",
            "/api/v1/commitments/c-on/updates",
            &json!({"id": "x", "status": "finished", "narrative": "n"}),
        );
        assert_eq!(bad.status, 422, "{backend}");
        assert!(bad.body.contains("on-track"), "{backend}: {}", bad.body);
        let bad = api(
            Some(&b),
            port,
            "POST",
            "/api/v1/commitments/c-on/updates",
            &json!({"id": "x", "state": "complete"}),
        );
        assert_eq!(bad.status, 400, "{backend}: {}", bad.body);
        // Script in a narrative is shown as text.
        let xss =
            json!({"id": "xss", "status": "on-track", "narrative": "<script>alert(1)</script>"});
        assert_eq!(
            api(
                Some(&b),
                port,
                "POST",
                "/api/v1/commitments/c-on/updates",
                &xss
            )
            .status,
            201
        );
        let page = b.get("/commitments/c-on").body;
        assert!(
            !page.contains("<script>alert(1)</script>") && page.contains("&lt;script&gt;"),
            "{backend}"
        );
        // The evidence file downloads as an attachment, never rendered.
        let e = b.get("/evidence/evidence-1");
        assert_eq!(e.status, 200);
        assert!(
            e.header("content-disposition")
                .unwrap()
                .starts_with("attachment"),
            "{backend}"
        );
        assert_eq!(e.body, "homes,surveyed\n400,1\n");
        let store = &server.store;
        let n = rt.block_on(store.updates(Some(C_ON))).unwrap().len();
        assert_eq!(n, 3, "{backend}: two organisations' `retry-1`, and `xss`");
    }
}

/// An organisation's API token does only what its scopes allow: with the
/// `partnership` scope it reads its organisation's partnerships and reports
/// progress on the commitments its organisation leads or contributes to, and
/// nothing else; with only `referrals` it reaches no partnership route.
#[test]
fn an_organisations_token_does_only_what_its_scopes_allow() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "an_organisations_token_does_only_what_its_scopes_allow";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        let tokens = [
            ("t-member-partnership", "member-org", "partnership"),
            ("t-member-referrals", "member-org", "referrals"),
            ("t-outsider-partnership", "outsider", "partnership"),
            ("t-lead-both", "lead-org", "referrals partnership"),
        ];
        for (id, org, scopes) in tokens {
            rt.block_on(server.store.create_token(
                &TokenRecord {
                    id: id.into(),
                    org_id: org.into(),
                    name: id.into(),
                    scopes: scopes.split(' ').map(str::to_owned).collect(),
                    created_by: "orgadmin.member".into(),
                    created_at: 0,
                    revoked_at: None,
                },
                &syndemic_access::secret::hash_token(&format!("synd_{id}")),
            ))
            .unwrap();
        }
        let call = |token: &str, method: &str, path: &str, body: &Value| {
            let bearer = format!("Bearer synd_{token}");
            request(
                port,
                method,
                path,
                &[
                    ("Authorization", bearer.as_str()),
                    ("Content-Type", "application/json"),
                ],
                &body.to_string(),
            )
        };
        let update = |id: &str| json!({"id": id, "status": "at-risk", "narrative": "Fewer homes insulated than planned."});
        let none = json!({});

        // The member's partnership token reads its partnership and reports on a
        // commitment its organisation contributes to, once under the update's id.
        let t = "t-member-partnership";
        let r = call(t, "GET", "/api/v1/partnerships", &none);
        assert_eq!(r.status, 200, "{backend}: {}", r.body);
        assert_eq!(r.json()["contents"][0]["id"], json!("board"), "{backend}");
        assert_eq!(
            call(t, "GET", "/api/v1/commitments/c-off", &none).status,
            200
        );
        let path = "/api/v1/commitments/c-off/updates";
        let r = call(t, "POST", path, &update("from-the-system"));
        assert_eq!(r.status, 201, "{backend}: {}", r.body);
        assert_eq!(
            call(t, "POST", path, &update("from-the-system")).status,
            200
        );
        let updates = rt.block_on(server.store.updates(Some("c-off"))).unwrap();
        let mine: Vec<_> = updates
            .iter()
            .filter(|u| u.id == "from-the-system")
            .collect();
        assert_eq!(mine.len(), 1, "{backend}");
        assert_eq!(mine[0].org_id, "member-org");
        assert_eq!(mine[0].author, "token:t-member-partnership");
        // … but does not review, and makes no referral.
        let review = json!({"id": "r-token", "reviewed_on": "2026-11-01", "rating": "green", "actions": "Noted"});
        let r = call(t, "POST", "/api/v1/commitments/c-off/reviews", &review);
        assert_eq!(r.status, 403, "{backend}: {}", r.body);
        let r = call(t, "GET", "/api/v1/referrals", &none);
        assert_eq!(r.status, 403, "{backend}: {}", r.body);
        assert!(
            r.body.contains("no `referrals` scope"),
            "{backend}: {}",
            r.body
        );

        // The same organisation's referrals token reaches no partnership route.
        for (method, path) in [
            ("GET", "/api/v1/partnerships"),
            ("GET", "/api/v1/commitments"),
            ("GET", "/api/v1/organisations"),
            ("POST", "/api/v1/commitments/c-off/updates"),
        ] {
            let r = call(
                "t-member-referrals",
                method,
                path,
                &update("referrals-token"),
            );
            assert_eq!(r.status, 403, "{backend}: {method} {path}: {}", r.body);
            assert!(
                r.body.contains("no `partnership` scope"),
                "{backend}: {}",
                r.body
            );
        }
        assert_eq!(
            call("t-member-referrals", "GET", "/api/v1/referrals", &none).status,
            200,
            "{backend}"
        );

        // An outsider's token reads nothing of the partnership and reports nothing.
        let t = "t-outsider-partnership";
        assert_eq!(
            call(t, "GET", "/api/v1/partnerships/board", &none).status,
            403
        );
        assert_eq!(
            call(t, "GET", "/api/v1/commitments/c-off", &none).status,
            403
        );
        assert_eq!(call(t, "POST", path, &update("outsider")).status, 403);
        let r = call(t, "GET", "/api/v1/partnerships", &none);
        assert_eq!(r.json()["contents"], json!([]), "{backend}");

        // A token with both scopes does both; an unknown token nothing.
        assert_eq!(
            call("t-lead-both", "GET", "/api/v1/referrals", &none).status,
            200
        );
        assert_eq!(
            call("t-lead-both", "POST", path, &update("lead-system")).status,
            201
        );
        assert_eq!(
            call("t-nobody", "GET", "/api/v1/partnerships", &none).status,
            401
        );
        let updates = rt.block_on(server.store.updates(Some("c-off"))).unwrap();
        assert!(
            updates
                .iter()
                .all(|u| u.id != "referrals-token" && u.id != "outsider"),
            "{backend}: nothing refused was recorded"
        );
    }
}

#[test]
fn a_plan_is_changed_by_its_lead_with_the_checks_a_new_one_has() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "a_plan_is_changed_by_its_lead_with_the_checks_a_new_one_has";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        let lead = lead_of_board(port);
        let page = lead.get("/plans/plan");
        assert!(
            page.body.contains("Change this plan") && page.body.contains(r#"value="2028-03-31""#),
            "{backend}: the form carries the plan as it is"
        );
        let change = |end: &str, owner: &str, every: &str| {
            lead.post(
                "/plans/plan",
                &[
                    ("title", "Testshire Plan, refreshed"),
                    ("owner", owner),
                    ("period_start", "2025-04-01"),
                    ("period_end", end),
                    ("priorities", "Warm homes\n\n  Good work  \n"),
                    ("update_every_days", every),
                ],
            )
        };
        for (end, owner, every, says) in [
            ("2024-01-01", "member-org", "92", "must end after it starts"),
            ("2029-03-31", "outsider", "92", "not a member"),
            ("31/03/2029", "member-org", "92", "is not a date"),
            ("2029-03-31", "member-org", "400", "every 7 to 366 days"),
        ] {
            let r = change(end, owner, every);
            assert_eq!(r.status, 422, "{backend}: {end} {owner} {every}");
            assert!(r.body.contains(says), "{backend}: {}", r.body);
        }
        let before = rt.block_on(server.store.plans()).unwrap();
        assert_eq!(
            before[0].title, "Testshire Plan",
            "{backend}: nothing changed"
        );
        let r = change("2029-03-31", "member-org", "61");
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/plans/plan"));
        let plan = rt
            .block_on(server.store.plans())
            .unwrap()
            .into_iter()
            .find(|p| p.id == "plan")
            .unwrap();
        assert_eq!(plan.title, "Testshire Plan, refreshed", "{backend}");
        assert_eq!(plan.owner_org, "member-org");
        assert_eq!(plan.period_end, "2029-03-31");
        assert_eq!(plan.priorities, ["Warm homes", "Good work"]);
        assert_eq!(plan.update_every_days, 61);
        assert_eq!(
            plan.partnership_id, "board",
            "{backend}: it stays where it was"
        );
        // Its commitments are untouched and the change is audited.
        let commitments = rt.block_on(server.store.commitments(Some("plan"))).unwrap();
        assert_eq!(commitments.len(), 4, "{backend}");
        let log = rt.block_on(server.store.audit_log(None, 10_000)).unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "edit" && e.subject == "plan" && e.record == "plan"),
            "{backend}"
        );
        // A member that does not lead the partnership may not.
        let member = Browser::sign_in(port, "lead.member", PASSWORD).unwrap();
        let r = member.post(
            "/plans/plan",
            &[
                ("title", "Mine now"),
                ("owner", "member-org"),
                ("period_start", "2025-04-01"),
                ("period_end", "2029-03-31"),
                ("update_every_days", "92"),
            ],
        );
        assert_eq!(r.status, 403, "{backend}");
        assert!(!member.get("/plans/plan").body.contains("Change this plan"));
        let plans = rt.block_on(server.store.plans()).unwrap();
        assert!(plans.iter().all(|p| p.title != "Mine now"), "{backend}");
    }
}

#[test]
fn nested_partnerships_share_reading_but_not_leading() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let name = "nested_partnerships_share_reading_but_not_leading";
    for server in servers(name, dir.path(), &rt) {
        let (backend, port) = (server.backend.as_str(), server.port);
        let admin = Browser::sign_in(port, "sysadmin", PASSWORD).unwrap();
        let outsider = Browser::sign_in(port, "lead.outsider", PASSWORD).unwrap();
        assert_eq!(outsider.get("/partnerships/board").status, 403, "{backend}");
        // A partnership lead cannot nest a partnership in one they do not lead.
        let r = outsider.post(
            "/partnerships",
            &[
                ("name", "Town"),
                ("kind", "community-partnership"),
                ("area", ""),
                ("parent", "board"),
                ("framework", "marmot"),
            ],
        );
        assert_eq!(r.status, 403, "{backend}");
        let r = admin.post(
            "/partnerships",
            &[
                ("name", "Town of Testshire"),
                ("kind", "community-partnership"),
                ("area", ""),
                ("parent", "board"),
                ("framework", "marmot"),
            ],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        let town = r.header("location").unwrap();
        assert_eq!(town, "/partnerships/town-of-testshire");
        let r = admin.post(
            "/partnerships/town-of-testshire/members",
            &[
                ("action", "put"),
                ("org", "outsider"),
                ("role", "lead"),
                ("title", "Chair"),
            ],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        // The town's lead reads the county board's plan and leads the town…
        assert_eq!(outsider.get("/partnerships/board").status, 200, "{backend}");
        assert_eq!(outsider.get("/plans/plan").status, 200, "{backend}");
        assert_eq!(outsider.get(&town).status, 200, "{backend}");
        let r = outsider.post(
            "/partnerships/town-of-testshire/plans",
            &[
                ("title", "Town plan"),
                ("owner", "outsider"),
                ("period_start", "2026-01-01"),
                ("period_end", "2027-01-01"),
                ("update_every_days", "92"),
            ],
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        // …but does not manage the board, nor review its commitments.
        let r = outsider.post(
            "/commitments/c-off/reviews",
            &[
                ("review_id", "x"),
                ("reviewed_on", "2026-10-01"),
                ("rating", "green"),
                ("actions", "Fine"),
            ],
        );
        assert_eq!(r.status, 403, "{backend}");
        // The board's lead leads the town too (it is nested in the board).
        let lead = Browser::sign_in(port, "lead.own", PASSWORD).unwrap();
        let r = lead.post(
            "/partnerships/town-of-testshire/maturity",
            &syndemic_partnership::maturity::CRITERIA
                .iter()
                .map(|(c, _)| (*c, "1"))
                .chain([("assessed_on", "2026-05-01")])
                .collect::<Vec<_>>(),
        );
        assert_eq!(r.status, 303, "{backend}: {}", r.body);
        // A member who leads or contributes to commitments cannot be dropped.
        let r = lead.post(
            "/partnerships/board/members",
            &[("action", "remove"), ("org", "member-org")],
        );
        assert_eq!(r.status, 409, "{backend}: {}", r.body);
        // The board's scorecard counts the town's commitments with its own.
        let listed = admin.get("/api/v1/partnerships").json()["total_items"]
            .as_u64()
            .unwrap();
        assert_eq!(listed, 2, "{backend}");
    }
}

/// A `multipart/form-data` body of one file of any bytes, with the CSRF token.
fn upload(
    b: &Browser,
    port: u16,
    path: &str,
    fields: &[(&str, &str)],
    name: &str,
    bytes: &[u8],
) -> Reply {
    let boundary = "----syndemic-test-boundary-9e2a";
    let mut text = String::new();
    for (k, v) in [("csrf", b.csrf.as_str())].iter().chain(fields) {
        text.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    text.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"));
    let mut body = text.into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let kind = format!("multipart/form-data; boundary={boundary}");
    support::request_bytes(
        port,
        "POST",
        path,
        &[("Content-Type", &kind), ("Cookie", &b.cookie)],
        &body,
    )
}

/// A 6 KB workbook whose cells are A1 and XFD1048576 (a grid of 17 billion
/// cells), and an archive that unpacks to 66 MB: both refused with a 422 that
/// says why, at both upload routes, and the server answers the next request.
#[test]
fn hostile_workbooks_are_refused_and_the_server_keeps_answering() {
    use std::io::Write;
    let sparse = {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "organisation").unwrap();
        sheet.write_string(1_048_575, 16_383, "far").unwrap();
        book.save_to_buffer().unwrap()
    };
    let bomb = {
        let mut buffer = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("xl/sharedStrings.xml", options).unwrap();
        let zeros = vec![b'a'; 1 << 20];
        for _ in 0..66 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
        buffer.into_inner()
    };
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for s in servers("partnership_hostile_workbooks", dir.path(), &rt) {
        let b = &s.backend;
        let admin = Browser::sign_in(s.port, "sysadmin", PASSWORD).unwrap();
        for path in ["/anchors/import", "/businesses/import"] {
            for (name, bytes, says) in [
                ("sparse.xlsx", &sparse, "XFD1048576"),
                ("bomb.xlsx", &bomb, "unpacks to more than 64 MB"),
            ] {
                let r = upload(&admin, s.port, path, &[("source", "hostile")], name, bytes);
                assert_eq!(r.status, 422, "{b} {path} {name}: {}", r.body);
                assert!(r.body.contains(says), "{b} {path} {name}: {}", r.body);
                assert_eq!(admin.get("/").status, 200, "{b}: still answering");
            }
        }
    }
}

/// A commitment titled with a formula, and an organisation named with one: every
/// CSV download writes them with a neutralising quote, and numbers (a negative
/// change) stay numbers.
#[test]
fn csv_downloads_never_carry_a_formula() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    for s in servers("partnership_csv_formulas", dir.path(), &rt) {
        let b = &s.backend;
        let lead = Browser::sign_in(s.port, "lead.own", PASSWORD).unwrap();
        let title = "=HYPERLINK(\"http://evil.example\",\"Click\")";
        let r = lead.post(
            "/plans/plan/commitments",
            &[
                ("reference", "F1"),
                ("title", title),
                ("lead", "lead-org"),
                ("contributors", "member-org"),
                ("objective", "marmot:work"),
            ],
        );
        assert_eq!(r.status, 303, "{b}: {}", r.body);
        let admin = Browser::sign_in(s.port, "sysadmin", PASSWORD).unwrap();
        let r = admin.post(
            "/organisations/member-org",
            &[
                ("name", "@SUM(1+1)*cmd|' /C calc'!A0"),
                ("sector", "vcse"),
                ("employees", "30"),
                ("local_percent", "80"),
            ],
        );
        assert_eq!(r.status, 303, "{b}: {}", r.body);
        for path in [
            "/plans/plan/commitments.csv",
            "/organisations/table/organisations.csv",
            "/api/v1/organisations?format=csv",
        ] {
            let csv = admin.get(path);
            assert_eq!(csv.status, 200, "{b} {path}: {}", csv.body);
            for line in csv.body.lines() {
                for cell in line.split(',') {
                    let cell = cell.trim_start_matches('"');
                    assert!(
                        !cell.starts_with('=') && !cell.starts_with('@'),
                        "{b} {path}: a formula in `{line}`"
                    );
                }
            }
        }
        let commitments = admin.get("/plans/plan/commitments.csv");
        assert_eq!(commitments.status, 200, "{b}");
        assert!(
            commitments
                .body
                .contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Click\"\")\""),
            "{b}: {}",
            commitments.body
        );
        let organisations = admin.get("/organisations/table/organisations.csv");
        assert_eq!(organisations.status, 200, "{b}");
        assert!(
            organisations.body.contains("'@SUM(1+1)*cmd|"),
            "{b}: {}",
            organisations.body
        );
    }
}

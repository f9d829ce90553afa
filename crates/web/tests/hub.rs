//! The referral hub over real HTTP, on SQLite and (where configured) PostgreSQL:
//! the authorisation matrix (every role × every route × own and other
//! organisation, denials asserted as well as permissions), sign-in security
//! (CSRF, session fixation, lockout), injection rendered inert, the referral API
//! (authentication first, idempotency), a FHIR round trip, and durability settings.

mod support;

use std::sync::Arc;

use serde_json::{json, Value};
use syndemic_access::Role;
use syndemic_hub::need::Need;
use syndemic_hub::oruk::Feed;
use syndemic_hub::triage::Terms;
use syndemic_model::{AreaCode, Level};
use syndemic_store::hub::{HubOrg, ReferralFilter, TokenRecord, UserRecord};
use syndemic_store::{Area, AreaLink, Deprivation, Population, PostcodeRecord, SqlStore, Store};
use syndemic_testkit::stores;
use syndemic_web::AppState;

use support::{enc, form_encode, hidden, request, Browser, Reply};
use syndemic_store::prelude::*;

pub const PASSWORD: &str = "tulip kettle orbit";
pub const LSOA: &str = "E01900001";
/// A second, less deprived small area of the district, with no referrals.
pub const LSOA_B: &str = "E01900002";
/// The population source the test servers name.
pub const POPULATION: &str = "Test population";
pub const DISTRICT: &str = "E07900001";
pub const POSTCODE: &str = "TS1 1AA";
pub const SERVICE_A: &str = "a0000000-0000-4000-8000-00000000000a";
pub const SERVICE_B: &str = "b0000000-0000-4000-8000-00000000000b";

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

/// A small place (one LSOA in a district, with deprivation and a postcode), two
/// hubs, two services run by two providers, two referring practices, users of
/// every role in an "own" and an "other" organisation, and an API token.
pub async fn fill(store: &SqlStore) -> String {
    let mut tx = store.begin().await.unwrap();
    tx.put_areas(&[
        Area {
            code: code(LSOA),
            name: Some("Testshire 001A".into()),
            no_known_parent: false,
        },
        Area {
            code: code(DISTRICT),
            name: Some("Testshire".into()),
            no_known_parent: false,
        },
        Area {
            code: code(LSOA_B),
            name: Some("Testshire 001B".into()),
            no_known_parent: false,
        },
    ])
    .await
    .unwrap();
    let link = |lsoa: &str| AreaLink {
        child: code(lsoa),
        parent: code(DISTRICT),
        level: Level::LowerTierAuthority,
        vintage: "2024".into(),
    };
    tx.put_links(&[link(LSOA), link(LSOA_B)]).await.unwrap();
    let deprivation = |lsoa: &str, rank: i64, decile: i64| Deprivation {
        area: code(lsoa),
        edition: "IoD2025".into(),
        domain: "imd".into(),
        rank,
        decile,
        score: Some(55.0),
    };
    tx.put_deprivation(&[deprivation(LSOA, 100, 1), deprivation(LSOA_B, 25_000, 8)])
        .await
        .unwrap();
    // Residents, for the hub's reach per 1,000 (the place is named Testshire).
    let residents = |lsoa: &str, n: f64| Population {
        area: code(lsoa),
        period: syndemic_model::Period::parse("2022").unwrap(),
        sex: "Persons".into(),
        age: "All ages".into(),
        population: n,
        source: POPULATION.into(),
    };
    tx.put_populations(&[residents(LSOA, 2000.0), residents(LSOA_B, 3000.0)])
        .await
        .unwrap();
    tx.put_postcodes(&[PostcodeRecord {
        postcode: POSTCODE.into(),
        lsoa11: None,
        lsoa21: Some(code(LSOA)),
        latitude: Some(51.005),
        longitude: Some(-1.495),
    }])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (id, name, sector, is_hub) in [
        ("hub-a", "Hub A", "council", true),
        ("hub-b", "Hub B", "council", true),
        ("svc-a", "Warm Homes A", "voluntary", false),
        ("svc-b", "Money Advice B", "voluntary", false),
        ("gp-a", "Practice A", "nhs", false),
        ("gp-b", "Practice B", "nhs", false),
    ] {
        store
            .put_org(
                &HubOrg {
                    id: id.into(),
                    name: name.into(),
                    sector: sector.into(),
                    is_hub,
                },
                0,
            )
            .await
            .unwrap();
    }
    let hash = syndemic_access::secret::hash_password(PASSWORD, &[3; 16]).unwrap();
    for (role, own, other) in USERS {
        for (org, which) in [(own, "own"), (other, "other")] {
            let name = format!("{}-{which}", role.code());
            let u = UserRecord {
                password_hash: Some(hash.clone()),
                trained_on: Some("2026-01-01".into()),
                ..UserRecord::new(name.clone(), *org, name.clone(), name, *role, 0)
            };
            assert!(store.create_user(&u).await.unwrap());
        }
    }
    let feed = Feed::parse(&json!({
        "organizations": [
            {"id": "c0000000-0000-4000-8000-00000000000a", "name": "Warm Homes A", "description": "Heating and insulation"},
            {"id": "c0000000-0000-4000-8000-00000000000b", "name": "Money Advice B", "description": "Debt and benefits"}
        ],
        "services": [
            {"id": SERVICE_A, "name": "Warm homes grants", "status": "active", "organization_id": "c0000000-0000-4000-8000-00000000000a", "description": "Heating and insulation grants",
             "service_at_locations": [{"id": "d0000000-0000-4000-8000-00000000000a", "location": {"id": "e0000000-0000-4000-8000-00000000000a", "name": "Town hall", "latitude": 51.0, "longitude": -1.5}}]},
            {"id": SERVICE_B, "name": "Debt advice", "status": "active", "organization_id": "c0000000-0000-4000-8000-00000000000b", "description": "Free debt advice"}
        ]
    }))
    .unwrap();
    store.put_directory(&feed).await.unwrap();
    store
        .put_terms(
            SERVICE_A,
            Some("svc-a"),
            &Terms {
                accepts_referrals: true,
                needs: vec![Need::ColdHome, Need::Respiratory],
                ..Terms::default()
            },
        )
        .await
        .unwrap();
    store
        .put_terms(
            SERVICE_B,
            Some("svc-b"),
            &Terms {
                accepts_referrals: true,
                needs: vec![Need::Debt, Need::LowIncome],
                ..Terms::default()
            },
        )
        .await
        .unwrap();
    let token = "synd_test_token_gp_a".to_owned();
    store
        .create_token(
            &TokenRecord {
                id: "t-gp-a".into(),
                org_id: "gp-a".into(),
                name: "Practice A system".into(),
                scopes: vec!["referrals".into()],
                created_by: "org-admin-own".into(),
                created_at: 0,
                revoked_at: None,
            },
            &syndemic_access::secret::hash_token(&token),
        )
        .await
        .unwrap();
    store
        .create_token(
            &TokenRecord {
                id: "t-gp-b".into(),
                org_id: "gp-b".into(),
                name: "Practice B system".into(),
                scopes: vec!["referrals".into()],
                created_by: "org-admin-other".into(),
                created_at: 0,
                revoked_at: None,
            },
            &syndemic_access::secret::hash_token("synd_test_token_gp_b"),
        )
        .await
        .unwrap();
    token
}

/// Each role's user in the organisation that owns the test referral, and in another.
pub const USERS: &[(Role, &str, &str)] = &[
    (Role::Referrer, "gp-a", "gp-b"),
    (Role::Caseworker, "svc-a", "svc-b"),
    (Role::Coordinator, "hub-a", "hub-b"),
    (Role::Analyst, "hub-a", "hub-b"),
    (Role::OrgAdmin, "hub-a", "gp-b"),
    (Role::SystemAdmin, "hub-a", "hub-b"),
];

pub struct Server {
    pub backend: String,
    pub port: u16,
    pub store: SqlStore,
}

pub fn servers(test: &str, dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> Vec<Server> {
    rt.block_on(async {
        let mut out = Vec::new();
        for store in stores(test, dir).await {
            fill(&store).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store.clone()), "Testshire", Some(POPULATION));
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

pub fn referral_body(name: &str) -> Value {
    json!({
        "hub": "hub-a",
        "person": {"given_name": name, "family_name": "Okafor", "date_of_birth": "1948-03-02", "nhs_number": "943 476 5919",
                   "phone": "01632 960001", "address": "2 Mill Lane", "postcode": "ts11aa"},
        "needs": ["cold-home", "respiratory"],
        "urgency": "soon",
        "note": "Damp bedroom",
        "consent": {"basis": "consent", "given_by": "The person", "given_on": "2026-11-30", "method": "verbal"},
        "flags": ["dog"]
    })
}

/// Makes a referral through the API with Practice A's token; its id.
fn api_referral(port: u16, token: &str, key: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {token}");
    request(
        port,
        "POST",
        "/api/v1/referrals",
        &[
            ("Authorization", &auth),
            ("Idempotency-Key", key),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    )
}

/// A referral made through the `/refer` form by a signed-in referrer to Hub A
/// (family name Hopper, a cold home); its id.
fn refer_by_form(referrer: &Browser, given_name: &str, phone: &str) -> String {
    let page = referrer.get("/refer");
    let key = hidden(&page.body, "idempotency_key");
    let made = referrer.post(
        "/refer",
        &[
            ("idempotency_key", &key),
            ("hub", "hub-a"),
            ("given_name", given_name),
            ("family_name", "Hopper"),
            ("phone", phone),
            ("postcode", POSTCODE),
            ("needs", "cold-home"),
            ("urgency", "routine"),
            ("basis", "consent"),
            ("consent_given_by", "The person"),
            ("consent_given_on", "2026-11-30"),
            ("consent_method", "verbal"),
        ],
    );
    assert_eq!(made.status, 303, "{}", made.body);
    made.header("location").unwrap()["/referrals/".len()..]
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_authorisation_matrix_holds_for_every_role_route_and_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_matrix", dir.path(), &rt) {
        let b = &s.backend;
        // The referral: made by Practice A's referrer to Hub A, routed to Warm Homes A.
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        let id = refer_by_form(&referrer, "Grace", "01632 960002");
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let case = coordinator.get(&format!("/hub/cases/{id}"));
        let routed = coordinator.post(
            &format!("/hub/cases/{id}"),
            &[
                ("action", "route"),
                ("service", SERVICE_A),
                ("update_id", "u-route"),
                ("version", &hidden(&case.body, "version")),
            ],
        );
        assert_eq!(routed.status, 303, "{b}: {}", routed.body);

        // (method, path, form, status when allowed, who is allowed: role and own/other).
        type Allowed = &'static [(Role, bool)];
        const ALL: Allowed = &[
            (Role::Referrer, true),
            (Role::Referrer, false),
            (Role::Caseworker, true),
            (Role::Caseworker, false),
            (Role::Coordinator, true),
            (Role::Coordinator, false),
            (Role::Analyst, true),
            (Role::Analyst, false),
            (Role::OrgAdmin, true),
            (Role::OrgAdmin, false),
            (Role::SystemAdmin, true),
            (Role::SystemAdmin, false),
        ];
        const REFERRERS: Allowed = &[
            (Role::Referrer, true),
            (Role::Referrer, false),
            (Role::Caseworker, true),
            (Role::Caseworker, false),
            (Role::Coordinator, true),
            (Role::Coordinator, false),
        ];
        const WORKERS: Allowed = &[
            (Role::Caseworker, true),
            (Role::Caseworker, false),
            (Role::Coordinator, true),
            (Role::Coordinator, false),
        ];
        const CASE: Allowed = &[(Role::Caseworker, true), (Role::Coordinator, true)];
        const REPORTS: Allowed = &[
            (Role::Coordinator, true),
            (Role::Coordinator, false),
            (Role::Analyst, true),
            (Role::Analyst, false),
        ];
        const ADMINS: Allowed = &[
            (Role::OrgAdmin, true),
            (Role::OrgAdmin, false),
            (Role::SystemAdmin, true),
            (Role::SystemAdmin, false),
        ];
        let case_path = format!("/hub/cases/{id}");
        let fhir_path = format!("/hub/cases/{id}/fhir.json");
        let own_path = format!("/referrals/{id}");
        type Route<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16, Allowed);
        let routes: Vec<Route> = vec![
            ("GET", "/hub", vec![], 200, ALL),
            ("GET", "/refer", vec![], 200, REFERRERS),
            (
                "POST",
                "/refer",
                vec![("idempotency_key", "matrix"), ("hub", "hub-a")],
                422,
                REFERRERS,
            ),
            ("GET", "/referrals", vec![], 200, REFERRERS),
            ("GET", &own_path, vec![], 200, &[(Role::Referrer, true)]),
            ("GET", "/hub/cases", vec![], 200, WORKERS),
            ("GET", &case_path, vec![], 200, CASE),
            (
                "POST",
                &case_path,
                vec![("action", "note"), ("text", "checked"), ("update_id", "")],
                400,
                CASE,
            ),
            ("GET", &fhir_path, vec![], 200, &[(Role::Coordinator, true)]),
            ("GET", "/hub/reports", vec![], 200, REPORTS),
            ("GET", "/hub/reports/summary.csv", vec![], 200, REPORTS),
            ("GET", "/admin", vec![], 200, ADMINS),
            (
                "POST",
                "/admin/tokens",
                vec![("name", "matrix"), ("scopes", "referrals")],
                201,
                ADMINS,
            ),
            ("GET", "/hub/audit", vec![], 200, ADMINS),
            (
                "GET",
                "/admin/indicators",
                vec![],
                200,
                &[(Role::SystemAdmin, true), (Role::SystemAdmin, false)],
            ),
            (
                "POST",
                "/admin/indicators/no-such-indicator",
                vec![("disclosure", "1-4")],
                404,
                &[(Role::SystemAdmin, true), (Role::SystemAdmin, false)],
            ),
            (
                "GET",
                "/hub/services",
                vec![],
                200,
                &[(Role::Coordinator, true), (Role::Coordinator, false)],
            ),
            (
                "POST",
                "/hub/services/b0000000-0000-4000-8000-00000000000b",
                vec![
                    ("accepts", "yes"),
                    ("needs", "debt"),
                    ("minimum_age", "200"),
                ],
                422,
                &[(Role::Coordinator, true), (Role::Coordinator, false)],
            ),
            ("GET", "/account", vec![], 200, ALL),
            (
                "POST",
                "/admin/users/coordinator-own",
                vec![("do", "trained")],
                200,
                &[
                    (Role::OrgAdmin, true),
                    (Role::SystemAdmin, true),
                    (Role::SystemAdmin, false),
                ],
            ),
            (
                "POST",
                "/admin/users",
                vec![("user_name", "bad name!"), ("role", "referrer")],
                422,
                ADMINS,
            ),
            (
                "POST",
                "/admin/tokens/no-such-token/revoke",
                vec![],
                404,
                ADMINS,
            ),
            (
                "POST",
                "/hub/subject-access",
                vec![("nhs_number", "9434765919")],
                200,
                &[(Role::Coordinator, true), (Role::Coordinator, false)],
            ),
            (
                "POST",
                "/hub/subject-access/erase",
                vec![],
                422,
                &[(Role::Coordinator, true), (Role::Coordinator, false)],
            ),
        ];
        let mut checked = 0;
        for (role, _, _) in USERS {
            for own in [true, false] {
                let user = format!("{}-{}", role.code(), if own { "own" } else { "other" });
                let browser = Browser::sign_in(s.port, &user, PASSWORD).unwrap();
                for (method, path, form, ok, allowed) in &routes {
                    let r = if *method == "GET" {
                        browser.get(path)
                    } else {
                        browser.post(path, form)
                    };
                    let expect = if allowed.contains(&(*role, own)) {
                        *ok
                    } else {
                        403
                    };
                    assert_eq!(
                        r.status,
                        expect,
                        "{b}: {user} {method} {path}: {}",
                        &r.body[..r.body.len().min(400)]
                    );
                    checked += 1;
                }
                // A worker of another organisation does not even see the case listed.
                if matches!(role, Role::Caseworker | Role::Coordinator) {
                    let list = browser.get("/hub/cases");
                    assert_eq!(list.body.contains(&id), own, "{b}: {user} case list");
                }
                // Anonymous: pages send to sign-in.
            }
        }
        for (method, path, form, _, _) in &routes {
            let r = if *method == "GET" {
                request(s.port, "GET", path, &[], "")
            } else {
                request(
                    s.port,
                    "POST",
                    path,
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    &form_encode(form),
                )
            };
            assert_eq!(r.status, 303, "{b}: anonymous {method} {path}");
            // A page comes back to itself after sign-in; a form's POST does not.
            let back = if *method == "GET" {
                format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
                )
            } else {
                "/login".to_owned()
            };
            assert_eq!(r.header("location"), Some(back), "{b}: {method} {path}");
        }
        // The API: another organisation's token cannot follow the referral.
        let other = request(
            s.port,
            "GET",
            &format!("/api/v1/referrals/{id}"),
            &[("Authorization", "Bearer synd_test_token_gp_b")],
            "",
        );
        assert_eq!(other.status, 403, "{b}");
        println!(
            "{b}: authorisation matrix: {checked} role × route × organisation checks, {} anonymous",
            routes.len()
        );
    }
}

#[test]
fn sign_in_resists_csrf_fixation_and_guessing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_security", dir.path(), &rt) {
        let b = &s.backend;
        // Session fixation: a session id planted before sign-in is not the one issued, and opens nothing.
        let page = request(s.port, "GET", "/login", &[], "");
        let login = page
            .cookies()
            .into_iter()
            .find(|(k, _)| k == "syndemic_login")
            .unwrap()
            .1;
        let cookie = format!("syndemic_login={login}; syndemic_session=planted");
        let r = request(
            s.port,
            "POST",
            "/login",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&[
                ("login_token", &hidden(&page.body, "login_token")),
                ("user_name", "coordinator-own"),
                ("password", PASSWORD),
            ]),
        );
        assert_eq!(r.status, 303, "{b}");
        let issued = r
            .cookies()
            .into_iter()
            .find(|(k, _)| k == "syndemic_session")
            .unwrap()
            .1;
        assert_ne!(issued, "planted");
        assert!(
            r.head.contains("HttpOnly") && r.head.contains("SameSite=Strict"),
            "{}",
            r.head
        );
        assert_eq!(
            request(
                s.port,
                "GET",
                "/hub",
                &[("Cookie", "syndemic_session=planted")],
                ""
            )
            .status,
            303
        );
        // The sign-in form without its token, or with a token of another
        // pre-session, is refused.
        let r = request(
            s.port,
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form_encode(&[("user_name", "coordinator-own"), ("password", PASSWORD)]),
        );
        assert_eq!(r.status, 403, "{b}: login CSRF");
        let other = request(s.port, "GET", "/login", &[], "");
        let other_cookie = other
            .cookies()
            .into_iter()
            .find(|(k, _)| k == "syndemic_login")
            .unwrap()
            .1;
        let r = request(
            s.port,
            "POST",
            "/login",
            &[
                ("Cookie", &format!("syndemic_login={other_cookie}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&[
                ("login_token", &hidden(&page.body, "login_token")),
                ("user_name", "coordinator-own"),
                ("password", PASSWORD),
            ]),
        );
        assert_eq!(r.status, 403, "{b}: a token of another pre-session");
        let r = request(
            s.port,
            "POST",
            "/login",
            &[
                ("Cookie", &format!("syndemic_login={login}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&[
                ("login_token", &login),
                ("user_name", "coordinator-own"),
                ("password", PASSWORD),
            ]),
        );
        assert_eq!(
            r.status, 403,
            "{b}: the cookie's own value is not the token"
        );
        assert!(
            !r.head.contains("Secure"),
            "{b}: no public HTTPS address configured, so no Secure flag, whatever the Host"
        );

        // CSRF: a form without the session's token changes nothing.
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        let forged = Browser {
            csrf: "0".repeat(64),
            ..Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap()
        };
        let before = rt
            .block_on(s.store.referrals(&ReferralFilter::default()))
            .unwrap()
            .len();
        let r = forged.post(
            "/refer",
            &[
                ("idempotency_key", "forged"),
                ("hub", "hub-a"),
                ("given_name", "X"),
                ("phone", "1"),
                ("needs", "debt"),
                ("basis", "vital-interests"),
            ],
        );
        assert_eq!(r.status, 403, "{b}: CSRF");
        let r = request(
            s.port,
            "POST",
            "/refer",
            &[
                ("Cookie", &referrer.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&[
                ("idempotency_key", "no-token"),
                ("hub", "hub-a"),
                ("given_name", "X"),
                ("phone", "1"),
                ("needs", "debt"),
                ("basis", "vital-interests"),
            ]),
        );
        assert_eq!(r.status, 403, "{b}: no CSRF token");
        assert_eq!(
            rt.block_on(s.store.referrals(&ReferralFilter::default()))
                .unwrap()
                .len(),
            before
        );

        // Signing out ends the session on the server.
        let out = referrer.post("/logout", &[]);
        assert_eq!(out.status, 303);
        assert_eq!(
            referrer.get("/hub").status,
            303,
            "{b}: session after sign-out"
        );

        // No answer with personal data is kept by a browser or proxy; none can
        // be framed.
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        for path in [
            "/hub",
            "/hub/cases",
            "/hub/audit",
            "/account",
            "/areas/E07900001",
        ] {
            let r = coordinator.get(path);
            let head = r.head.to_ascii_lowercase();
            assert!(
                head.contains("cache-control: no-store"),
                "{b} {path}: {head}"
            );
            assert!(head.contains("x-frame-options: deny"), "{b} {path}");
            assert!(head.contains("frame-ancestors 'none'"), "{b} {path}");
        }
        let anonymous = request(s.port, "GET", "/login", &[], "");
        assert!(
            anonymous
                .head
                .to_ascii_lowercase()
                .contains("cache-control: no-store"),
            "{b}: the sign-in page"
        );
    }
}

/// Guessing costs the guesser: one client is stopped after five wrong passwords
/// for a name (429, the wait doubling), and after twenty across names; the
/// account itself locks only after twenty wrong passwords from several clients,
/// and a locked account, an unknown name and a wrong password all get the same
/// answer.
#[test]
fn guessing_costs_the_guesser_and_answers_tell_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_guessing", dir.path(), &rt) {
        let b = &s.backend;
        let wrong = |source: &str, user: &str| {
            Browser::sign_in_from(source, s.port, user, "wrong password!", "")
                .err()
                .unwrap()
        };
        // An unknown name and a real one with a wrong password: the same answer.
        let (real, unknown) = (
            wrong("127.0.0.1", "analyst-own"),
            wrong("127.0.0.1", "nobody-at-all"),
        );
        assert_eq!((real.status, unknown.status), (401, 401), "{b}");
        let words = |r: &Reply| {
            let start = r.body.find("<main").unwrap_or(0);
            let end = r.body.find("<form").unwrap_or(r.body.len());
            r.body[start..end].to_owned()
        };
        assert_eq!(words(&real), words(&unknown), "{b}");
        // Four more for the real name from this client: now it must wait, even
        // with the right password; so must the unknown name after five.
        for _ in 0..4 {
            assert_eq!(wrong("127.0.0.1", "analyst-own").status, 401, "{b}");
        }
        let refused = Browser::sign_in_from("127.0.0.1", s.port, "analyst-own", PASSWORD, "")
            .err()
            .unwrap();
        assert_eq!(refused.status, 429, "{b}: this client waits");
        assert!(refused.header("retry-after").is_some(), "{b}");
        for _ in 0..4 {
            assert_eq!(wrong("127.0.0.1", "nobody-at-all").status, 401, "{b}");
        }
        assert_eq!(
            wrong("127.0.0.1", "nobody-at-all").status,
            429,
            "{b}: unknown names too"
        );
        // …but the account is not locked: another client signs in.
        assert!(
            Browser::sign_in_from("127.0.0.2", s.port, "analyst-own", PASSWORD, "").is_ok(),
            "{b}: one client cannot lock someone out"
        );
        // Twenty wrong passwords from four more clients lock the account for
        // everyone, with the same answer as a wrong password.
        for client in ["127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"] {
            for _ in 0..5 {
                assert_eq!(wrong(client, "analyst-other").status, 401, "{b} {client}");
            }
        }
        let locked = Browser::sign_in_from("127.0.0.7", s.port, "analyst-other", PASSWORD, "")
            .err()
            .unwrap();
        assert_eq!(locked.status, 401, "{b}: locked");
        assert_eq!(
            words(&locked),
            words(&unknown),
            "{b}: a lock says nothing more"
        );
        let user = rt
            .block_on(s.store.user_by_name("analyst-other"))
            .unwrap()
            .unwrap();
        assert!(user.locked_until.is_some(), "{b}");
        let audit = rt.block_on(s.store.audit_log(None, 200)).unwrap();
        assert!(
            audit.iter().any(|e| e.action == "login-failed"
                && e.reason.contains("account locked for 15 minutes")),
            "{b}"
        );
        assert!(
            audit.iter().any(|e| e.action == "login-failed"
                && e.reason == "unknown user name"
                && e.actor.is_empty()),
            "{b}: unknown names are audited, without the name"
        );
        // One client trying many names is stopped at twenty.
        for i in 0..20 {
            let r = wrong("127.0.0.8", &format!("guess-{i}"));
            assert_eq!(r.status, 401, "{b}: guess {i}");
        }
        assert_eq!(
            wrong("127.0.0.8", "guess-new").status,
            429,
            "{b}: a spraying client waits"
        );
        assert!(
            Browser::sign_in_from("127.0.0.8", s.port, "coordinator-own", PASSWORD, "").is_err(),
            "{b}: even with a right password"
        );
        assert!(
            Browser::sign_in(s.port, "coordinator-own", PASSWORD).is_ok(),
            "{b}"
        );
    }
}

/// A session ends after 30 minutes without a request (and at its absolute end);
/// a changed password ends every session and every outstanding reset link.
#[test]
fn idle_sessions_and_old_reset_links_end() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        for store in stores("hub_idle_sessions", dir.path()).await {
            fill(&store).await;
            let b = store.backend_name();
            let id = store.user_by_name("analyst-own").await.unwrap().unwrap().id;
            let idle = syndemic_web::IDLE_SECONDS;
            let t = 2_000_000;
            store
                .create_session("s1", &id, "c", t, t + 8 * 3600)
                .await
                .unwrap();
            // Used every 20 minutes, it lives on; 31 minutes unused, it ends.
            for k in 1..=6 {
                assert!(
                    store
                        .session("s1", t + k * 1_200, idle)
                        .await
                        .unwrap()
                        .is_some(),
                    "{b}: used at {k} × 20 minutes"
                );
            }
            assert!(
                store
                    .session("s1", t + 6 * 1_200 + idle + 60, idle)
                    .await
                    .unwrap()
                    .is_none(),
                "{b}: idle"
            );
            store
                .create_session("s2", &id, "c", t, t + 600)
                .await
                .unwrap();
            assert!(
                store.session("s2", t + 601, idle).await.unwrap().is_none(),
                "{b}: absolute end"
            );
            // Two reset links; the password changes by other means: both end.
            store.create_reset("r1", &id, t + 86_400).await.unwrap();
            store.create_reset("r2", &id, t + 86_400).await.unwrap();
            assert!(
                store.reset_link("r1", t, false).await.unwrap().is_some(),
                "{b}"
            );
            store.set_password(&id, "$argon2id$changed").await.unwrap();
            for r in ["r1", "r2"] {
                assert!(
                    store.reset_link(r, t, false).await.unwrap().is_none(),
                    "{b}: {r}"
                );
            }
        }
    });
}

/// A lock's length doubles with each lock since the account's last good sign-in.
#[test]
fn each_lock_lasts_twice_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        for store in stores("hub_lock_backoff", dir.path()).await {
            fill(&store).await;
            let b = store.backend_name();
            let id = store.user_by_name("analyst-own").await.unwrap().unwrap().id;
            let mut locks = Vec::new();
            for round in 0..3 {
                let t = 1_000_000 + round * 100_000;
                for i in 1..=3 {
                    let (n, lock) = store.login_failed(&id, t, 3, 900).await.unwrap();
                    assert_eq!(n, i, "{b}");
                    if let Some(until) = lock {
                        locks.push(until - t);
                    }
                }
            }
            assert_eq!(locks, [900, 1_800, 3_600], "{b}");
            store.login_succeeded(&id).await.unwrap();
            for _ in 0..3 {
                store.login_failed(&id, 5_000_000, 3, 900).await.unwrap();
            }
            let user = store.user(&id).await.unwrap().unwrap();
            assert_eq!(
                user.locked_until,
                Some(5_000_900),
                "{b}: a good sign-in starts again"
            );
        }
    });
}

#[test]
fn free_text_is_rendered_inert_and_the_directory_holds_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_injection", dir.path(), &rt) {
        let b = &s.backend;
        let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>";
        let mut body = referral_body(evil);
        body["person"]["family_name"] = json!(evil);
        body["person"]["address"] = json!(evil);
        body["note"] = json!(evil);
        body["consent"]["given_by"] = json!(evil);
        let r = api_referral(s.port, "synd_test_token_gp_a", "inject-1", &body);
        assert_eq!(r.status, 201, "{b}: {}", r.body);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let case = coordinator.get(&format!("/hub/cases/{id}"));
        let routed = coordinator.post(
            &format!("/hub/cases/{id}"),
            &[
                ("action", "route"),
                ("service", SERVICE_A),
                ("update_id", "r1"),
                ("reason", evil),
            ],
        );
        assert_eq!(routed.status, 303, "{b}: {}", routed.body);
        let note = coordinator.post(
            &format!("/hub/cases/{id}"),
            &[("action", "note"), ("text", evil), ("update_id", "n1")],
        );
        assert_eq!(note.status, 303, "{b}: {}", note.body);
        let task = coordinator.post(
            &format!("/hub/cases/{id}"),
            &[
                ("action", "task"),
                ("title", evil),
                ("due", "2026-12-24"),
                ("update_id", "t1"),
            ],
        );
        assert_eq!(task.status, 303, "{b}: {}", task.body);
        drop(case);
        for page in [format!("/hub/cases/{id}"), "/hub/cases".into()] {
            let html = coordinator.get(&page).body;
            assert!(
                !html.contains("<script>alert") && !html.contains("<img src=x"),
                "{b}: {page} renders markup from input"
            );
            assert!(
                html.contains("&lt;script&gt;alert"),
                "{b}: {page} shows the text"
            );
        }
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        assert!(!referrer.get("/referrals").body.contains("<script>alert"));
        // The open directory: no person's name, NHS number or note, whatever is asked.
        for path in [
            "/openreferral/",
            "/openreferral/services",
            &format!("/openreferral/services/{SERVICE_A}"),
            "/openreferral/service_at_locations",
            "/openreferral/taxonomies",
            "/openreferral/taxonomy_terms",
            &format!("/openreferral/services?search={}", enc("Okafor")),
        ] {
            let r = request(s.port, "GET", path, &[], "");
            assert_eq!(r.status, 200, "{b} {path}");
            for secret in ["Okafor", "9434765919", "Damp bedroom", "01632"] {
                assert!(!r.body.contains(secret), "{b}: {path} shows {secret}");
            }
        }
    }
}

/// The referral API with a signed-in browser's cookie: a body that is not JSON is
/// refused (415), and so is a JSON write that neither carries the session's CSRF
/// token nor comes from this site (403); with either, the referral is made.
#[test]
fn a_session_writes_to_the_api_only_as_json_from_this_site() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_api_session", dir.path(), &rt) {
        let b = &s.backend;
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        let body = referral_body("Ann").to_string();
        let post = |extra: &[(&str, &str)]| {
            let mut h = vec![("Cookie", referrer.cookie.as_str())];
            h.extend_from_slice(extra);
            request(s.port, "POST", "/api/v1/referrals", &h, &body)
        };
        let plain = post(&[("Content-Type", "text/plain")]);
        assert_eq!(plain.status, 415, "{b}: {}", plain.body);
        let form = post(&[("Content-Type", "application/x-www-form-urlencoded")]);
        assert_eq!(form.status, 415, "{b}");
        let bare = post(&[("Content-Type", "application/json")]);
        assert_eq!(bare.status, 403, "{b}: {}", bare.body);
        let elsewhere = post(&[
            ("Content-Type", "application/json"),
            ("Origin", "https://evil.example"),
        ]);
        assert_eq!(elsewhere.status, 403, "{b}");
        let wrong = post(&[
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", "0000"),
        ]);
        assert_eq!(wrong.status, 403, "{b}");
        let host = format!("http://127.0.0.1:{}", s.port);
        let here = post(&[
            ("Content-Type", "application/json"),
            ("Origin", host.as_str()),
            ("Idempotency-Key", "session-1"),
        ]);
        assert_eq!(here.status, 201, "{b}: {}", here.body);
        let with_token = post(&[
            ("Content-Type", "application/json; charset=utf-8"),
            ("X-CSRF-Token", referrer.csrf.as_str()),
            ("Idempotency-Key", "session-2"),
        ]);
        assert_eq!(with_token.status, 201, "{b}: {}", with_token.body);
    }
}

#[test]
fn the_referral_api_authenticates_first_and_makes_each_referral_once() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_api", dir.path(), &rt) {
        let b = &s.backend;
        for body in [
            "",
            "not json",
            "{\"person\": 1}",
            &referral_body("Ann").to_string(),
        ] {
            for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
                let mut h = vec![("Content-Type", "application/json")];
                if let Some(a) = auth {
                    h.push(("Authorization", a));
                }
                let r = request(s.port, "POST", "/api/v1/referrals", &h, body);
                assert_eq!(r.status, 401, "{b}: {auth:?} {body}");
                assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
            }
        }
        assert_eq!(
            request(s.port, "GET", "/api/v1/referrals", &[], "").status,
            401
        );
        let token = "synd_test_token_gp_a";
        let first = api_referral(s.port, token, "key-1", &referral_body("Ann"));
        assert_eq!(first.status, 201, "{b}: {}", first.body);
        let id = first.json()["id"].as_str().unwrap().to_owned();
        // A retry: the same referral, not a second.
        let again = api_referral(s.port, token, "key-1", &referral_body("Ann"));
        assert_eq!(again.status, 200, "{b}");
        assert_eq!(again.json()["id"], json!(id));
        assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
        // The same key for another referral is a conflict; no key is a field error.
        assert_eq!(
            api_referral(s.port, token, "key-1", &referral_body("Bob")).status,
            409,
            "{b}"
        );
        let missing = api_referral(s.port, token, "", &referral_body("Bob"));
        assert_eq!(missing.status, 422, "{b}");
        assert_eq!(missing.json()["fields"][0]["field"], "idempotency_key");
        // A bad NHS number is named by field.
        let mut bad = referral_body("Cy");
        bad["person"]["nhs_number"] = json!("9434765918");
        let r = api_referral(s.port, token, "key-bad", &bad);
        assert_eq!(r.status, 422, "{b}");
        assert!(
            r.body.contains("nhs_number") && r.body.contains("check digit"),
            "{}",
            r.body
        );
        // The list is the caller's own.
        let list = request(
            s.port,
            "GET",
            "/api/v1/referrals",
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
        .json();
        assert_eq!(list["total"], 1, "{b}: {list}");
        let theirs = request(
            s.port,
            "GET",
            "/api/v1/referrals",
            &[("Authorization", "Bearer synd_test_token_gp_b")],
            "",
        )
        .json();
        assert_eq!(theirs["total"], 0, "{b}");
        let stored = rt.block_on(s.store.referral(&id)).unwrap().unwrap();
        assert_eq!(
            stored.lsoa.as_deref(),
            Some(LSOA),
            "{b}: located by postcode"
        );
        assert_eq!(stored.imd_decile, Some(1));
        assert_eq!(stored.person.unwrap().postcode, "TS1 1AA");
        // A second referral of the same person is linked to the first for the coordinator.
        let repeat = api_referral(s.port, token, "key-2", &{
            let mut v = referral_body("Ann");
            v["needs"] = json!(["debt"]);
            v
        });
        assert_eq!(repeat.status, 201);
        let second = rt
            .block_on(s.store.referral(repeat.json()["id"].as_str().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(
            second.linked_to.as_deref(),
            Some(id.as_str()),
            "{b}: repeat recognised"
        );
    }
}

#[test]
fn a_referral_goes_out_as_fhir_and_comes_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_fhir", dir.path(), &rt) {
        let b = &s.backend;
        let made = api_referral(
            s.port,
            "synd_test_token_gp_a",
            "fhir-1",
            &referral_body("Ada"),
        );
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let exported = coordinator.get(&format!("/hub/cases/{id}/fhir.json"));
        assert_eq!(exported.status, 200, "{b}: {}", exported.body);
        let bundle = exported.json();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(
            bundle["entry"][1]["resource"]["resourceType"],
            "ServiceRequest"
        );
        let imported = request(
            s.port,
            "POST",
            "/api/v1/referrals/fhir?hub=hub-a",
            &[
                ("Authorization", "Bearer synd_test_token_gp_b"),
                ("Content-Type", "application/fhir+json"),
            ],
            &bundle.to_string(),
        );
        assert_eq!(imported.status, 201, "{b}: {}", imported.body);
        let original = rt.block_on(s.store.referral(&id)).unwrap().unwrap();
        let back = rt
            .block_on(s.store.referral(imported.json()["id"].as_str().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(back.person, original.person, "{b}");
        assert_eq!(back.needs, original.needs);
        assert_eq!(back.urgency, original.urgency);
        assert_eq!(back.note, original.note);
        assert_eq!(back.consent, original.consent);
        assert_eq!(back.flags, original.flags);
        assert_eq!(back.lsoa, original.lsoa);
        // Importing the same Bundle again is a retry, not a new referral.
        let again = request(
            s.port,
            "POST",
            "/api/v1/referrals/fhir?hub=hub-a",
            &[
                ("Authorization", "Bearer synd_test_token_gp_b"),
                ("Content-Type", "application/fhir+json"),
            ],
            &bundle.to_string(),
        );
        assert_eq!(again.status, 200, "{b}");
        let audit = rt.block_on(s.store.audit_log(None, 50)).unwrap();
        assert!(
            audit.iter().any(|e| e.action == "export" && e.record == id),
            "{b}: export audited"
        );
    }
}

#[test]
fn casework_follows_the_lifecycle_and_an_update_applies_once() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_casework", dir.path(), &rt) {
        let b = &s.backend;
        let made = api_referral(
            s.port,
            "synd_test_token_gp_a",
            "case-1",
            &referral_body("Eve"),
        );
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let path = format!("/hub/cases/{id}");
        let case = coordinator.get(&path);
        assert!(
            case.body.contains("Warm homes grants"),
            "{b}: triage suggests the service meeting the needs"
        );
        assert!(
            case.body.contains("Dog at the property"),
            "{b}: risk flags shown"
        );
        assert!(
            !case.body.contains("Debt advice —"),
            "{b}: debt advice meets none of the needs"
        );
        let saved = coordinator.post(
            &format!("/hub/services/{SERVICE_B}"),
            &[
                ("accepts", "yes"),
                ("needs", "cold-home"),
                ("minimum_age", "18"),
            ],
        );
        assert_eq!(saved.status, 303, "{b}: {}", saved.body);
        assert!(
            coordinator
                .get(&path)
                .body
                .contains("Debt advice — meets cold home"),
            "{b}: the changed rule suggests it now"
        );
        // Working an unrouted case is refused with the reason, and the case shown
        // again with it is a display like any other: audited.
        let views = || {
            rt.block_on(s.store.audit_log(None, 1000))
                .unwrap()
                .iter()
                .filter(|e| {
                    e.action == "view" && e.subject == "referral" && path.ends_with(&e.record)
                })
                .count()
        };
        let before = views();
        let r = coordinator.post(
            &path,
            &[
                ("action", "status"),
                ("to", "contacted"),
                ("update_id", "s0"),
            ],
        );
        assert_eq!(r.status, 422, "{b}");
        assert!(r.body.contains("route the referral"));
        assert_eq!(
            views(),
            before + 1,
            "{b}: the refused change's page is audited"
        );
        let r = coordinator.post(
            &path,
            &[
                ("action", "outcome"),
                ("code", "no-such-outcome"),
                ("update_id", "x0"),
            ],
        );
        assert_eq!(r.status, 422, "{b}");
        assert_eq!(views(), before + 2, "{b}: a validation error's page too");
        assert_eq!(
            coordinator
                .post(
                    &path,
                    &[
                        ("action", "route"),
                        ("service", SERVICE_A),
                        ("update_id", "r1")
                    ]
                )
                .status,
            303
        );
        let caseworker = Browser::sign_in(s.port, "caseworker-own", PASSWORD).unwrap();
        // A double click: the same update twice is recorded once.
        for _ in 0..2 {
            assert_eq!(
                caseworker
                    .post(
                        &path,
                        &[
                            ("action", "status"),
                            ("to", "contacted"),
                            ("update_id", "s1")
                        ]
                    )
                    .status,
                303,
                "{b}"
            );
        }
        let r = caseworker.post(
            &path,
            &[
                ("action", "status"),
                ("to", "received"),
                ("update_id", "s2"),
            ],
        );
        assert_eq!(r.status, 422, "{b}: no going back");
        for (fields, ok) in [
            (
                vec![
                    ("action", "status"),
                    ("to", "in-progress"),
                    ("update_id", "s3"),
                ],
                303,
            ),
            (
                vec![
                    ("action", "outcome"),
                    ("code", "money-saved"),
                    ("value", "£350"),
                    ("update_id", "o1"),
                ],
                303,
            ),
            (
                vec![
                    ("action", "outcome"),
                    ("code", "swemwbs-start"),
                    ("value", "40"),
                    ("update_id", "o2"),
                ],
                422,
            ),
            (
                vec![
                    ("action", "outcome"),
                    ("code", "measures-installed"),
                    ("update_id", "o3"),
                ],
                303,
            ),
            (
                vec![
                    ("action", "status"),
                    ("to", "closed"),
                    ("reason", "Boiler replaced"),
                    ("update_id", "s4"),
                ],
                303,
            ),
        ] {
            let r = caseworker.post(&path, &fields);
            assert_eq!(
                r.status,
                ok,
                "{b}: {fields:?}: {}",
                &r.body[..r.body.len().min(300)]
            );
        }
        let events = rt.block_on(s.store.events(&id)).unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.data.as_deref() == Some("received→contacted"))
                .count(),
            1,
            "{b}"
        );
        let r = rt.block_on(s.store.referral(&id)).unwrap().unwrap();
        assert_eq!(r.status.code(), "closed");
        assert!(r.first_contact_at.is_some() && r.closed_at.is_some());
        // The referrer sees status and outcome; the report counts it.
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        let api = request(
            s.port,
            "GET",
            &format!("/api/v1/referrals/{id}"),
            &[("Authorization", "Bearer synd_test_token_gp_a")],
            "",
        )
        .json();
        assert_eq!(api["status"], "closed", "{b}");
        assert_eq!(api["outcomes"][0]["value"], 350.0);
        drop(referrer);
        let analyst = Browser::sign_in(s.port, "analyst-other", PASSWORD).unwrap();
        let records = analyst.get("/hub/reports/records.csv");
        assert_eq!(records.status, 200, "{b}: {}", records.body);
        // One referral stands out on its own: the k-anonymous file (k = 5, said in
        // its heading) withholds it.
        assert!(records.body.contains("k = 5"), "{b}: {}", records.body);
        assert_eq!(
            records.body.trim().lines().count(),
            1,
            "{b}: {}",
            records.body
        );
        assert!(
            !records.body.contains("Eve")
                && !records.body.contains("Okafor")
                && !records.body.contains(&id),
            "{b}: pseudonymised: {}",
            records.body
        );
        let report = coordinator.get("/hub/reports/summary.csv");
        assert!(
            report.body.contains("Money saved per year (£),350"),
            "{b}: {}",
            report.body
        );
        // Consent withdrawn: recorded, and the case can no longer go to another service or out as FHIR.
        let made = api_referral(
            s.port,
            "synd_test_token_gp_a",
            "case-2",
            &referral_body("Fay"),
        );
        let id2 = made.json()["id"].as_str().unwrap().to_owned();
        let p2 = format!("/hub/cases/{id2}");
        assert_eq!(
            coordinator
                .post(
                    &p2,
                    &[
                        ("action", "withdraw-consent"),
                        ("reason", "phoned"),
                        ("update_id", "w1")
                    ]
                )
                .status,
            303
        );
        assert_eq!(
            coordinator
                .post(
                    &p2,
                    &[
                        ("action", "route"),
                        ("service", SERVICE_A),
                        ("update_id", "w2")
                    ]
                )
                .status,
            422,
            "{b}"
        );
        assert_eq!(
            coordinator.get(&format!("{p2}/fhir.json")).status,
            403,
            "{b}"
        );
    }
}

#[test]
fn admins_make_users_with_one_time_links_and_revoke_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_admin", dir.path(), &rt) {
        let b = &s.backend;
        let admin = Browser::sign_in(s.port, "org-admin-own", PASSWORD).unwrap();
        let made = admin.post(
            "/admin/users",
            &[
                ("user_name", "new.referrer"),
                ("display_name", "New Referrer"),
                ("role", "referrer"),
            ],
        );
        assert_eq!(made.status, 201, "{b}: {}", made.body);
        let link = made
            .body
            .split("<code>")
            .nth(1)
            .unwrap()
            .split("</code>")
            .next()
            .unwrap()
            .to_owned();
        assert!(link.starts_with("/reset/"), "{b}: {link}");
        // An org admin cannot make a system admin, nor users of another organisation.
        assert_eq!(
            admin
                .post(
                    "/admin/users",
                    &[
                        ("user_name", "x1"),
                        ("display_name", "X"),
                        ("role", "system-admin")
                    ]
                )
                .status,
            403,
            "{b}"
        );
        assert_eq!(
            admin
                .post(
                    "/admin/users",
                    &[
                        ("user_name", "x2"),
                        ("display_name", "X"),
                        ("role", "referrer"),
                        ("org", "gp-b")
                    ]
                )
                .status,
            403,
            "{b}"
        );
        assert_eq!(
            admin
                .post(
                    "/admin/users",
                    &[
                        ("user_name", "new.referrer"),
                        ("display_name", "Again"),
                        ("role", "referrer")
                    ]
                )
                .status,
            409,
            "{b}: taken"
        );
        // The link sets a password once; a weak or mismatched one is refused.
        assert_eq!(request(s.port, "GET", &link, &[], "").status, 200, "{b}");
        let set = |fields: &[(&str, &str)]| {
            request(
                s.port,
                "POST",
                &link,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                &form_encode(fields),
            )
        };
        assert_eq!(
            set(&[("password", "short"), ("again", "short")]).status,
            422,
            "{b}"
        );
        assert_eq!(
            set(&[
                ("password", "river cobalt lantern"),
                ("again", "river cobalt lanterns")
            ])
            .status,
            422,
            "{b}"
        );
        assert_eq!(
            set(&[
                ("password", "river cobalt lantern"),
                ("again", "river cobalt lantern")
            ])
            .status,
            303,
            "{b}"
        );
        assert_eq!(
            request(s.port, "GET", &link, &[], "").status,
            404,
            "{b}: spent"
        );
        let new = Browser::sign_in(s.port, "new.referrer", "river cobalt lantern").unwrap();
        assert_eq!(new.get("/refer").status, 200, "{b}");
        // Deactivating ends their sessions.
        let id = rt
            .block_on(s.store.user_by_name("new.referrer"))
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(
            admin
                .post(&format!("/admin/users/{id}"), &[("do", "deactivate")])
                .status,
            200,
            "{b}"
        );
        assert_eq!(new.get("/hub").status, 303, "{b}: signed out");
        assert!(
            Browser::sign_in(s.port, "new.referrer", "river cobalt lantern").is_err(),
            "{b}"
        );
        // A token issued is shown once and works; revoked, it opens nothing.
        let gp_admin = Browser::sign_in(s.port, "org-admin-other", PASSWORD).unwrap();
        // A token must be for something, and for something that exists.
        for (scopes, says) in [
            (vec![], "choose what the token may do"),
            (
                vec![("scopes", "everything")],
                "`everything` is not a scope",
            ),
        ] {
            let mut fields = vec![("name", "Practice B system 2")];
            fields.extend(scopes);
            let r = gp_admin.post("/admin/tokens", &fields);
            assert_eq!(r.status, 422, "{b}");
            assert!(r.body.contains(says), "{b}: {}", r.body);
        }
        let issued = gp_admin.post(
            "/admin/tokens",
            &[("name", "Practice B system 2"), ("scopes", "referrals")],
        );
        assert_eq!(issued.status, 201, "{b}");
        let token = issued
            .body
            .split("<code>")
            .nth(1)
            .unwrap()
            .split("</code>")
            .next()
            .unwrap()
            .to_owned();
        let bearer = format!("Bearer {token}");
        assert_eq!(
            request(
                s.port,
                "GET",
                "/api/v1/referrals",
                &[("Authorization", &bearer)],
                ""
            )
            .status,
            200,
            "{b}"
        );
        let tokens = rt.block_on(s.store.tokens("gp-b")).unwrap();
        let t = tokens
            .iter()
            .find(|t| t.name == "Practice B system 2")
            .unwrap();
        assert_eq!(
            admin
                .post(&format!("/admin/tokens/{}/revoke", t.id), &[])
                .status,
            404,
            "{b}: another organisation's token"
        );
        // A system admin of another organisation revokes it (a leaked key of a
        // partner's system need not wait for that partner's admin).
        let system = Browser::sign_in(s.port, "system-admin-other", PASSWORD).unwrap();
        assert!(
            system.get("/admin").body.contains("Practice B system 2"),
            "{b}"
        );
        assert_eq!(
            system
                .post(&format!("/admin/tokens/{}/revoke", t.id), &[])
                .status,
            303,
            "{b}: a system admin revokes any organisation's token"
        );
        assert_eq!(
            gp_admin
                .post(&format!("/admin/tokens/{}/revoke", t.id), &[])
                .status,
            404,
            "{b}: revoked already"
        );
        assert_eq!(
            request(
                s.port,
                "GET",
                "/api/v1/referrals",
                &[("Authorization", &bearer)],
                ""
            )
            .status,
            401,
            "{b}: revoked"
        );
        assert!(
            admin.get("/hub/audit").body.contains("password-reset"),
            "{b}: audited"
        );
        assert!(
            admin.get("/account").body.contains("Two-step sign-in is"),
            "{b}"
        );
        // Two-step sign-in set up from the account page, then required.
        let me = Browser::sign_in(s.port, "analyst-own", PASSWORD).unwrap();
        let start = me.post("/account/totp", &[("do", "start")]);
        let secret = hidden(&start.body, "secret");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let code = format!(
            "{:06}",
            syndemic_access::totp::hotp(
                &syndemic_access::totp::from_base32(&secret).unwrap(),
                now / 30
            )
        );
        assert_eq!(
            me.post(
                "/account/totp",
                &[("do", "confirm"), ("secret", &secret), ("code", "123456x")]
            )
            .status,
            422,
            "{b}"
        );
        let on = me.post(
            "/account/totp",
            &[("do", "confirm"), ("secret", &secret), ("code", &code)],
        );
        assert!(
            on.body.contains("Two-step sign-in is on"),
            "{b}: {}",
            on.body
        );
        assert_eq!(
            Browser::sign_in(s.port, "analyst-own", PASSWORD)
                .err()
                .map(|r| r.status),
            Some(401),
            "{b}: code now needed"
        );
        // The code that turned it on is spent: a replay is refused; the next
        // step's code works, once.
        let replay = Browser::sign_in_with_code(s.port, "analyst-own", PASSWORD, &code)
            .err()
            .unwrap();
        assert_eq!(replay.status, 401, "{b}: a replayed code");
        assert!(replay.body.contains("used already"), "{b}");
        let next = format!(
            "{:06}",
            syndemic_access::totp::hotp(
                &syndemic_access::totp::from_base32(&secret).unwrap(),
                now / 30 + 1
            )
        );
        let me = Browser::sign_in_with_code(s.port, "analyst-own", PASSWORD, &next).unwrap();
        assert_eq!(
            Browser::sign_in_with_code(s.port, "analyst-own", PASSWORD, &next)
                .err()
                .map(|r| r.status),
            Some(401),
            "{b}: each code once"
        );
        // The secret is kept sealed, never as given.
        let stored = rt
            .block_on(s.store.user_by_name("analyst-own"))
            .unwrap()
            .unwrap()
            .totp_secret
            .unwrap();
        assert!(
            stored.starts_with("v1:") && !stored.contains(&secret),
            "{b}: {stored}"
        );
        // Guessing the code to turn it off: five wrong, then the account waits.
        for i in 0..4 {
            let r = me.post("/account/totp", &[("do", "off"), ("code", "000000")]);
            assert_eq!(r.status, 422, "{b}: guess {i}");
        }
        let r = me.post("/account/totp", &[("do", "off"), ("code", "000000")]);
        assert_eq!(r.status, 429, "{b}: guessing waits");
        assert!(r.header("retry-after").is_some(), "{b}");
    }
}

/// Every admin action × every target role: an admin manages only the accounts it
/// could have made (`syndemic_access::may_grant`). An organisation admin of a hub
/// never resets, deactivates or marks trained its system admin or its analyst, and
/// never makes one; a partner's admin makes no coordinator.
#[test]
fn an_admin_manages_only_the_accounts_it_could_have_made() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_admin_targets", dir.path(), &rt) {
        let b = &s.backend;
        for (admin, role) in [
            ("org-admin-own", Role::OrgAdmin),
            ("system-admin-other", Role::SystemAdmin),
        ] {
            let browser = Browser::sign_in(s.port, admin, PASSWORD).unwrap();
            // Hub A's accounts of every role it holds.
            for (target, target_role) in [
                ("coordinator-own", Role::Coordinator),
                ("analyst-own", Role::Analyst),
                ("org-admin-own", Role::OrgAdmin),
                ("system-admin-own", Role::SystemAdmin),
            ] {
                let allowed =
                    syndemic_access::may_grant(role, syndemic_access::OrgKind::Hub, target_role);
                for action in ["trained", "reset", "deactivate", "activate"] {
                    let reply = browser.post(&format!("/admin/users/{target}"), &[("do", action)]);
                    let expected = match (allowed, action) {
                        (false, _) => 403,
                        (true, "deactivate" | "activate") if target == admin => 422,
                        (true, _) => 200,
                    };
                    assert_eq!(
                        reply.status, expected,
                        "{b}: {admin} doing {action} to {target}: {}",
                        reply.body
                    );
                    if !allowed {
                        assert!(!reply.body.contains("/reset/"), "{b}: no link leaks");
                    }
                }
                let user = rt.block_on(s.store.user_by_name(target)).unwrap().unwrap();
                assert!(user.active, "{b}: {target} is active again");
            }
        }
        // Making accounts: the same table.
        let hub_admin = Browser::sign_in(s.port, "org-admin-own", PASSWORD).unwrap();
        let practice_admin = Browser::sign_in(s.port, "org-admin-other", PASSWORD).unwrap();
        for (browser, who, role, expected) in [
            (&hub_admin, "hub", "coordinator", 201),
            (&hub_admin, "hub", "analyst", 403),
            (&hub_admin, "hub", "partnership-lead", 403),
            (&hub_admin, "hub", "system-admin", 403),
            (&practice_admin, "practice", "caseworker", 201),
            (&practice_admin, "practice", "org-admin", 201),
            (&practice_admin, "practice", "coordinator", 403),
            (&practice_admin, "practice", "analyst", 403),
        ] {
            let name = format!("made.{who}.{role}");
            let reply = browser.post(
                "/admin/users",
                &[
                    ("user_name", &name),
                    ("display_name", "Made"),
                    ("role", role),
                ],
            );
            assert_eq!(reply.status, expected, "{b}: {who} admin making a {role}");
            assert_eq!(
                rt.block_on(s.store.user_by_name(&name)).unwrap().is_some(),
                expected == 201,
                "{b}: {name}"
            );
        }
        // The admin page offers actions only on the accounts one may manage.
        let page = hub_admin.get("/admin");
        assert!(page.body.contains("Managed by a system admin"), "{b}");
    }
}

#[test]
fn sqlite_commits_are_durable_before_they_are_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        for store in stores("hub_sync", dir.path()).await {
            match store.sqlite_synchronous().await.unwrap() {
                // 2 is FULL: every commit waits for the disk.
                Some(level) => assert_eq!(level, 2, "PRAGMA synchronous"),
                None => assert_eq!(store.backend_name(), "postgres"),
            }
        }
    });
}

#[test]
fn a_person_can_see_everything_held_about_them_and_have_it_erased() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_subject", dir.path(), &rt) {
        let b = &s.backend;
        let first = api_referral(
            s.port,
            "synd_test_token_gp_a",
            "sar-1",
            &referral_body("Iris"),
        )
        .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut other = referral_body("Iris");
        other["needs"] = json!(["debt"]);
        api_referral(s.port, "synd_test_token_gp_a", "sar-2", &other);
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        coordinator.post(
            &format!("/hub/cases/{first}"),
            &[
                ("action", "note"),
                ("text", "Iris says the boiler failed"),
                ("update_id", "n"),
            ],
        );
        // A search is a POST: nothing of the person in a URL, and a GET with a
        // query shows only the empty form (and audits nothing).
        let before = rt.block_on(s.store.audit_log(None, 500)).unwrap().len();
        let get = coordinator.get("/hub/subject-access?nhs_number=9434765919");
        assert_eq!(get.status, 200, "{b}");
        assert!(!get.body.contains("referrals found"), "{b}: {}", get.body);
        assert!(!get.body.contains("9434765919"), "{b}");
        assert_eq!(
            rt.block_on(s.store.audit_log(None, 500)).unwrap().len(),
            before,
            "{b}"
        );
        assert!(
            get.body
                .contains("method=\"post\" action=\"/hub/subject-access\""),
            "{b}"
        );
        let forged = Browser {
            csrf: "x".into(),
            ..Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap()
        };
        assert_eq!(
            forged
                .post("/hub/subject-access", &[("nhs_number", "9434765919")])
                .status,
            403,
            "{b}: the search needs the session's CSRF token"
        );
        let json = coordinator.post(
            "/hub/subject-access",
            &[("nhs_number", "9434765919"), ("format", "json")],
        );
        assert_eq!(json.status, 200, "{b}: {}", json.body);
        let data = json.json();
        assert_eq!(
            data["referrals"].as_array().unwrap().len(),
            2,
            "{b}: {data}"
        );
        assert!(
            json.body.contains("Iris says the boiler failed"),
            "{b}: the timeline is in the export"
        );
        let html = coordinator.post(
            "/hub/subject-access",
            &[
                ("given_name", "Iris"),
                ("family_name", "Okafor"),
                ("date_of_birth", "1948-03-02"),
                ("postcode", "TS1 1AA"),
            ],
        );
        // Its download and erasure forms carry the search in the body, not a URL.
        assert!(!html.body.contains("subject-access?"), "{b}");
        assert!(
            html.body.contains("2 referrals found"),
            "{b}: by name, birth date and postcode"
        );
        // Another hub's coordinator finds nothing of this hub's; a caseworker may not ask.
        let elsewhere = Browser::sign_in(s.port, "coordinator-other", PASSWORD).unwrap();
        assert!(
            elsewhere
                .post("/hub/subject-access", &[("nhs_number", "9434765919")])
                .body
                .contains("0 referrals found"),
            "{b}"
        );
        assert_eq!(
            Browser::sign_in(s.port, "caseworker-own", PASSWORD)
                .unwrap()
                .post("/hub/subject-access", &[("nhs_number", "9434765919")])
                .status,
            403
        );
        // Erasure: without the session's token, nothing; with it, the personal data goes, the counts stay.
        let forged = Browser {
            csrf: "x".into(),
            ..Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap()
        };
        assert_eq!(
            forged
                .post(
                    "/hub/subject-access/erase",
                    &[("nhs_number", "9434765919"), ("why", "asked")]
                )
                .status,
            403
        );
        let erased = coordinator.post(
            "/hub/subject-access/erase",
            &[
                ("nhs_number", "9434765919"),
                ("why", "Request of 2026-12-01"),
            ],
        );
        assert_eq!(erased.status, 200, "{b}: {}", erased.body);
        assert!(erased.body.contains("2 referrals"), "{}", erased.body);
        let r = rt.block_on(s.store.referral(&first)).unwrap().unwrap();
        assert!(
            r.person.is_none() && r.note.is_none() && r.erased_at.is_some(),
            "{b}"
        );
        assert_eq!(
            r.needs,
            vec![Need::ColdHome, Need::Respiratory],
            "{b}: counts stay"
        );
        let events = rt.block_on(s.store.events(&first)).unwrap();
        assert!(
            events.iter().all(|e| e.body.is_none()),
            "{b}: timeline text erased"
        );
        assert!(
            coordinator
                .get(&format!("/hub/cases/{first}"))
                .body
                .contains("(erased)")
                || !coordinator.get("/hub/cases").body.contains("Iris"),
            "{b}"
        );
        assert!(
            coordinator
                .post("/hub/subject-access", &[("nhs_number", "9434765919")])
                .body
                .contains("0 referrals found"),
            "{b}: the keys are gone"
        );
        assert!(
            coordinator
                .get("/hub/reports/summary.csv")
                .body
                .contains("Referrals,2"),
            "{b}: still counted"
        );
        let audit = rt.block_on(s.store.audit_log(None, 200)).unwrap();
        assert_eq!(
            audit.iter().filter(|e| e.action == "erase").count(),
            2,
            "{b}"
        );
        // Retention: a finished referral past the period is found for the purge.
        assert!(
            rt.block_on(s.store.past_retention(i64::MAX))
                .unwrap()
                .is_empty(),
            "{b}: erased ones are not purged twice"
        );
    }
}

/// A system admin sets an indicator's small-number rule on the admin page: the API
/// answers by the new rule at once, a bad rule is refused with the form's reason,
/// and the change is in the audit log.
#[test]
fn a_system_admin_sets_an_indicators_small_number_rule() {
    use syndemic_model::Period;
    use syndemic_store::{Indicator, Observation};
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_disclosure", dir.path(), &rt) {
        let b = &s.backend;
        rt.block_on(async {
            let mut tx = s.store.begin().await.unwrap();
            tx.put_indicator(&Indicator::named("rare", "A rare event"))
                .await
                .unwrap();
            tx.put_observations(&[Observation {
                indicator: "rare".into(),
                area: code(LSOA),
                period: Period::Year(2024),
                sex: "Persons".into(),
                age: "All ages".into(),
                category_type: String::new(),
                category: String::new(),
                count: Some(3.0),
                denominator: Some(1000.0),
                value: Some(0.3),
                lower95: None,
                upper95: None,
                lower998: None,
                upper998: None,
                note: None,
                compared_to_england: None,
                compared_to_parent: None,
                recent_trend: None,
            }])
            .await
            .unwrap();
            tx.commit().await.unwrap();
        });
        let count = || {
            let r = request(s.port, "GET", "/api/v1/indicators/rare/data", &[], "");
            assert_eq!(r.status, 200, "{b}: {}", r.body);
            let v: Value = serde_json::from_str(&r.body).unwrap();
            v["contents"][0]["count"].clone()
        };
        assert_eq!(count(), Value::Null, "{b}: withheld by the default rule");
        let admin = Browser::sign_in(s.port, "system-admin-own", PASSWORD).unwrap();
        let page = admin.get("/admin/indicators");
        assert!(
            page.body.contains("counts 1–4 withheld (the default)"),
            "{b}: {}",
            page.body
        );
        let set = admin.post("/admin/indicators/rare", &[("disclosure", "none")]);
        assert_eq!(set.status, 200, "{b}: {}", set.body);
        assert!(
            set.body.contains("A rare event: no small-number rule"),
            "{b}"
        );
        assert_eq!(count(), json!(3.0), "{b}: published at once");
        let bad = admin.post("/admin/indicators/rare", &[("disclosure", "1-x")]);
        assert_eq!(bad.status, 422, "{b}: {}", bad.body);
        assert!(bad.body.contains("MIN-MAX"), "{b}");
        let set = admin.post("/admin/indicators/rare", &[("disclosure", "1-4")]);
        assert_eq!(set.status, 200, "{b}: {}", set.body);
        assert_eq!(count(), Value::Null, "{b}: withheld again at once");
        let log = admin.get("/hub/audit");
        assert!(
            log.body
                .contains("disclosure: no small-number rule (was: counts 1–4 withheld)")
                && log
                    .body
                    .contains("disclosure: counts 1–4 withheld (was: no small-number rule)"),
            "{b}: the changes are audited"
        );
    }
}

/// The number of cases the caseload says match, read from its status line.
fn matching(body: &str) -> (usize, usize, usize) {
    let at = body
        .find("id=\"caseload-count\">")
        .unwrap_or_else(|| panic!("no count in {body}"));
    let line = &body[at..at + body[at..].find("</p>").unwrap()];
    if line.contains("No case matches") {
        return (0, 0, 0);
    }
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[0], numbers[1], numbers[2])
}

#[test]
fn the_caseload_finds_filters_and_pages_cases() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_caseload", dir.path(), &rt) {
        let b = &s.backend;
        let mut ids = Vec::new();
        for i in 0..30 {
            let mut body = referral_body(&format!("Person{i:02}"));
            if i % 10 == 3 {
                body["urgency"] = json!("urgent");
            }
            if i == 7 {
                body["person"]["given_name"] = json!("Margaret");
                body["person"]["family_name"] = json!("Ó Súilleabháin");
                body["person"]["phone"] = json!("07700 900123");
                body["person"]["nhs_number"] = json!("401 023 2137");
            }
            let made = api_referral(s.port, "synd_test_token_gp_a", &format!("cl-{i}"), &body);
            assert_eq!(made.status, 201, "{b}: {}", made.body);
            ids.push(made.json()["id"].as_str().unwrap().to_owned());
        }
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let first = coordinator.get("/hub/cases");
        assert_eq!(first.status, 200, "{b}");
        assert_eq!(
            matching(&first.body),
            (1, 25, 30),
            "{b}: a page of 25 of 30"
        );
        assert!(first.body.contains("Page 1 of 2"), "{b}");
        // Urgent cases first: the three urgent ones head the list.
        let first_rows = &first.body[first.body.find("<tbody>").unwrap()..];
        let urgent_at = first_rows.find("<td>urgent</td>").unwrap();
        let soon_at = first_rows.find("<td>soon</td>").unwrap();
        assert!(urgent_at < soon_at, "{b}: urgent before soon");
        assert_eq!(
            first_rows[..soon_at].matches("<td>urgent</td>").count(),
            3,
            "{b}: all three urgent cases come first"
        );
        assert!(
            first.body.contains("Practice A"),
            "{b}: the referrer by name"
        );
        let second = coordinator.get("/hub/cases?page=2");
        assert_eq!(matching(&second.body), (26, 30, 30), "{b}");
        let past = coordinator.get("/hub/cases?page=9");
        assert_eq!(
            matching(&past.body),
            (26, 30, 30),
            "{b}: past the end is the last page"
        );
        let urgent = coordinator.get("/hub/cases?urgency=urgent");
        assert_eq!(matching(&urgent.body), (1, 3, 3), "{b}");
        // Any column sorts the list; the sorted one says so, and the others are
        // buttons that keep the filters.
        let by_ref = coordinator.get("/hub/cases?urgency=urgent&sort=reference");
        assert_eq!(matching(&by_ref.body), (1, 3, 3), "{b}: the filter kept");
        assert!(
            by_ref
                .body
                .contains("aria-sort=\"ascending\">Reference (sorted)"),
            "{b}"
        );
        assert!(
            by_ref.body.contains("name=\"sort\" value=\"status\""),
            "{b}"
        );
        assert!(
            by_ref.body.contains("name=\"urgency\" value=\"urgent\""),
            "{b}"
        );
        let refs: Vec<&str> = by_ref
            .body
            .match_indices("/hub/cases/")
            .map(|(i, _)| &by_ref.body[i..])
            .filter_map(|rest| rest.split('>').nth(1)?.split('<').next())
            .filter(|t| !t.is_empty())
            .collect();
        let mut sorted = refs.clone();
        sorted.sort_by(|x, y| syndemic_model::natural_cmp(x, y));
        assert_eq!(refs, sorted, "{b}: in reference order");
        assert!(
            coordinator
                .get("/hub/cases?sort=sideways")
                .body
                .contains("is not an order"),
            "{b}"
        );

        // A search travels by POST only: in the address it is ignored.
        let by_url = coordinator.get("/hub/cases?q=Margaret");
        assert_eq!(matching(&by_url.body), (1, 25, 30), "{b}");
        for text in ["margaret", "marg súil", "401 023 2137", "+44 7700 900123"] {
            let found = coordinator.post("/hub/cases", &[("q", text)]);
            assert_eq!(found.status, 200, "{b}: {text}");
            assert_eq!(
                matching(&found.body),
                (1, 1, 1),
                "{b}: `{text}` finds Margaret"
            );
            assert!(
                found.body.contains("Margaret Ó Súilleabháin"),
                "{b}: {text}"
            );
        }
        let case = coordinator.get(&format!("/hub/cases/{}", ids[12]));
        let reference = case.body[case.body.find("<h1>Case ").unwrap() + 9..]
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        let found = coordinator.post("/hub/cases", &[("q", &reference.to_lowercase())]);
        assert_eq!(
            matching(&found.body).2,
            1,
            "{b}: found by reference {reference}"
        );
        let all_okafor = coordinator.post("/hub/cases", &[("q", "okafor"), ("page", "2")]);
        assert_eq!(
            matching(&all_okafor.body),
            (26, 29, 29),
            "{b}: a search pages"
        );
        assert!(
            all_okafor.body.contains("name=\"q\" value=\"okafor\""),
            "{b}: the pager carries the search in the form's body"
        );
        let none = coordinator.post("/hub/cases", &[("q", "nobody-by-this-name")]);
        assert_eq!(matching(&none.body), (0, 0, 0), "{b}");
        assert!(none.body.contains("No case matches"), "{b}");
        // The audit records that a search was made, never what was searched for.
        let audit = rt.block_on(s.store.audit_log(None, 1000)).unwrap();
        let lists: Vec<_> = audit.iter().filter(|e| e.subject == "case-list").collect();
        assert!(lists.len() >= 10, "{b}");
        assert!(
            lists
                .iter()
                .all(|e| !e.record.to_lowercase().contains("margaret")
                    && !e.record.contains("401")
                    && !e.record.contains("7700")),
            "{b}: no search text in the audit"
        );
        assert!(
            lists
                .iter()
                .any(|e| e.record.contains("search=NHS number or phone")),
            "{b}"
        );

        // A value that cannot be read is shown beside its field, everything kept.
        let bad = coordinator.get("/hub/cases?from=2026-13-01&urgency=urgent&status=open");
        assert_eq!(bad.status, 200, "{b}");
        assert!(
            bad.body.contains("class=\"field-error\" id=\"from-error\""),
            "{b}"
        );
        assert!(
            bad.body.contains("value=\"2026-13-01\""),
            "{b}: the typed value kept"
        );
        assert!(
            bad.body.contains("<option value=\"urgent\" selected>"),
            "{b}"
        );
        assert!(!bad.body.contains("<tbody>"), "{b}: no list under an error");
        let swapped = coordinator.get("/hub/cases?from=2026-12-01&to=2026-11-01");
        assert!(swapped.body.contains("id=\"to-error\""), "{b}");
        let long = coordinator.post("/hub/cases", &[("q", &"x".repeat(101))]);
        assert!(long.body.contains("id=\"q-error\""), "{b}");
        // A search without the CSRF token is refused.
        let forged = request(
            s.port,
            "POST",
            "/hub/cases",
            &[
                ("Cookie", &coordinator.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "q=margaret",
        );
        assert_eq!(forged.status, 403, "{b}");

        // Assigned to me: the caseworker of the service sees the cases given to them.
        let case = coordinator.get(&format!("/hub/cases/{}", ids[5]));
        let routed = coordinator.post(
            &format!("/hub/cases/{}", ids[5]),
            &[
                ("action", "route"),
                ("service", SERVICE_A),
                ("update_id", "cl-route"),
                ("version", &hidden(&case.body, "version")),
            ],
        );
        assert_eq!(routed.status, 303, "{b}: {}", routed.body);
        let user = rt
            .block_on(s.store.users(Some("svc-a")))
            .unwrap()
            .into_iter()
            .find(|u| u.role == Role::Caseworker)
            .unwrap();
        let case = coordinator.get(&format!("/hub/cases/{}", ids[5]));
        let assigned = coordinator.post(
            &format!("/hub/cases/{}", ids[5]),
            &[
                ("action", "assign"),
                ("user", &user.id),
                ("update_id", "cl-assign"),
                ("version", &hidden(&case.body, "version")),
            ],
        );
        assert_eq!(assigned.status, 303, "{b}: {}", assigned.body);
        let worker = Browser::sign_in(s.port, "caseworker-own", PASSWORD).unwrap();
        let mine = worker.get("/hub/cases?assigned=me");
        assert_eq!(matching(&mine.body), (1, 1, 1), "{b}");
        assert!(
            mine.body.contains(&user.display_name),
            "{b}: the assignee by name"
        );
        let unassigned = coordinator.get("/hub/cases?assigned=nobody");
        assert_eq!(matching(&unassigned.body).2, 29, "{b}");
        // Closing with a task still open asks first; confirmed, it closes.
        let path = format!("/hub/cases/{}", ids[5]);
        let step = |fields: &[(&str, &str)], update: &str| {
            let version = hidden(&worker.get(&path).body, "version");
            let mut all = vec![("update_id", update), ("version", version.as_str())];
            all.extend_from_slice(fields);
            worker.post(&path, &all)
        };
        assert_eq!(
            step(&[("action", "status"), ("to", "contacted")], "cl-1").status,
            303,
            "{b}"
        );
        let task = step(
            &[
                ("action", "task"),
                ("title", "Call the landlord"),
                ("due", "2026-12-24"),
            ],
            "cl-2",
        );
        assert_eq!(task.status, 303, "{b}: {}", task.body);
        let ask = step(
            &[
                ("action", "status"),
                ("to", "closed"),
                ("reason", "Boiler fixed"),
            ],
            "cl-3",
        );
        assert_eq!(ask.status, 409, "{b}: {}", ask.body);
        assert!(ask.body.contains("The case has 1 open task"), "{b}");
        assert!(ask.body.contains("Close the case anyway"), "{b}");
        assert!(
            ask.body.contains("name=\"reason\" value=\"Boiler fixed\""),
            "{b}: kept"
        );
        assert!(
            worker.get(&path).body.contains("<dd>Contacted"),
            "{b}: not closed yet"
        );
        let version = hidden(&worker.get(&path).body, "version");
        let confirmed = worker.post(
            &path,
            &[
                ("action", "status"),
                ("to", "closed"),
                ("reason", "Boiler fixed"),
                ("update_id", "cl-3"),
                ("version", &version),
                ("confirm", "yes"),
            ],
        );
        assert_eq!(confirmed.status, 303, "{b}: {}", confirmed.body);
        let closed = worker.get(&path);
        assert!(closed.body.contains("<dd>Closed"), "{b}");
        // The timeline names the service and the caseworker, never their ids.
        assert!(closed.body.contains("to Warm homes grants"), "{b}");
        assert!(
            closed.body.contains(&format!("to {}", user.display_name)),
            "{b}"
        );
        assert!(closed.body.contains("Contacted → Closed"), "{b}");
        assert!(
            !closed.body.contains(&format!("({SERVICE_A}")),
            "{b}: no service id"
        );
        let other = Browser::sign_in(s.port, "caseworker-other", PASSWORD).unwrap();
        assert_eq!(
            matching(&other.get("/hub/cases").body),
            (0, 0, 0),
            "{b}: another provider's caseworker sees none of them"
        );
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        assert_eq!(referrer.get("/hub/cases").status, 403, "{b}");
        assert_eq!(
            referrer.post("/hub/cases", &[("q", "margaret")]).status,
            403,
            "{b}"
        );
    }
}

/// Signs in through `/login?next=…` as a browser would; where it was sent.
fn sign_in_to(port: u16, next: &str) -> Option<String> {
    let page = request(port, "GET", &format!("/login?next={}", enc(next)), &[], "");
    let login = page
        .cookies()
        .into_iter()
        .find(|(k, _)| k == "syndemic_login")
        .unwrap()
        .1;
    let kept = page.body.contains("name=\"next\"");
    let mut fields = vec![
        ("login_token".to_owned(), hidden(&page.body, "login_token")),
        ("user_name".to_owned(), "coordinator-own".to_owned()),
        ("password".to_owned(), PASSWORD.to_owned()),
    ];
    if kept {
        fields.push(("next".to_owned(), hidden(&page.body, "next")));
    }
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = request(
        port,
        "POST",
        "/login",
        &[
            ("Cookie", &format!("syndemic_login={login}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form_encode(&fields),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    r.header("location")
}

#[test]
fn the_referrer_sees_why_a_referral_was_declined_and_sign_in_returns_to_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_loop", dir.path(), &rt) {
        let b = &s.backend;
        let referrer = Browser::sign_in(s.port, "referrer-own", PASSWORD).unwrap();
        let id = refer_by_form(&referrer, "Nia", "01632 960003");
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let path = format!("/hub/cases/{id}");
        let case = coordinator.get(&path);
        let declined = coordinator.post(
            &path,
            &[
                ("action", "decline"),
                (
                    "reason",
                    "Lives outside the hub's area: try the county scheme",
                ),
                ("update_id", "loop-decline"),
                ("version", &hidden(&case.body, "version")),
            ],
        );
        assert_eq!(declined.status, 303, "{b}: {}", declined.body);
        let after = declined.header("location").unwrap();
        assert_eq!(after, format!("{path}?done=decline#done"), "{b}");
        let shown = coordinator.get(after.split('#').next().unwrap());
        assert!(
            shown.body.contains("id=\"done\"") && shown.body.contains("The referral is declined"),
            "{b}: the change is confirmed on the page"
        );

        // The referrer reads the reason and what else may help; nobody else does.
        let mine = referrer.get(&format!("/referrals/{id}"));
        assert_eq!(mine.status, 200, "{b}");
        assert!(
            mine.body.contains("Lives outside the hub&#39;s area")
                || mine.body.contains("Lives outside the hub's area"),
            "{b}: the decline reason is shown to the referrer"
        );
        assert!(
            mine.body.contains("Warm homes grants"),
            "{b}: an alternative"
        );
        assert!(
            mine.body.contains("Received by the hub"),
            "{b}: what happened"
        );
        let other = Browser::sign_in(s.port, "referrer-other", PASSWORD).unwrap();
        let theirs = other.get(&format!("/referrals/{id}"));
        assert_eq!(theirs.status, 403, "{b}: another practice is refused");
        assert!(!theirs.body.contains("outside the hub"), "{b}");

        // "Maggie" referred after "Margaret" (same birth and postcode, no NHS
        // number) is offered as a possible repeat; "Mary" is not.
        let mut ids = Vec::new();
        for (i, name) in ["Margaret", "Maggie", "Mary"].iter().enumerate() {
            let mut body = referral_body(name);
            body["person"].as_object_mut().unwrap().remove("nhs_number");
            body["person"]["phone"] = json!(format!("01632 96010{i}"));
            let made = api_referral(s.port, "synd_test_token_gp_a", &format!("nick-{i}"), &body);
            assert_eq!(made.status, 201, "{b}: {}", made.body);
            ids.push(made.json()["id"].as_str().unwrap().to_owned());
        }
        let stored = |id: &str| rt.block_on(s.store.referral(id)).unwrap().unwrap();
        assert_eq!(
            stored(&ids[1]).linked_to.as_deref(),
            Some(ids[0].as_str()),
            "{b}"
        );
        assert_eq!(stored(&ids[2]).linked_to, None, "{b}: Mary is someone else");
        assert!(
            coordinator
                .get(&format!("/hub/cases/{}", ids[1]))
                .body
                .contains("Possible repeat referral"),
            "{b}"
        );
        // Sign-in returns to the page that asked for it, and only to this site's pages.
        let anonymous = request(s.port, "GET", "/hub/cases?status=open", &[], "");
        assert_eq!(
            anonymous.header("location").as_deref(),
            Some("/login?next=%2Fhub%2Fcases%3Fstatus%3Dopen"),
            "{b}"
        );
        assert_eq!(
            sign_in_to(s.port, "/hub/cases?status=open").as_deref(),
            Some("/hub/cases?status=open"),
            "{b}"
        );
        for elsewhere in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "/login",
        ] {
            assert_eq!(
                sign_in_to(s.port, elsewhere).as_deref(),
                Some("/hub"),
                "{b}: {elsewhere} is not followed"
            );
        }
    }
}

/// The value in a report CSV's row that starts with `first`, under `column`.
fn csv_value(csv: &str, first: &str, column: &str) -> String {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = head
        .iter()
        .position(|h| h.trim_matches('"') == column)
        .unwrap_or_else(|| panic!("no column {column} in {head:?}"));
    let row = lines
        .find(|l| l.trim_start_matches('"').starts_with(first))
        .unwrap_or_else(|| panic!("no row {first} in {csv}"));
    row.split(',').nth(at).unwrap().trim_matches('"').to_owned()
}

#[test]
fn reports_pair_wellbeing_scores_count_outcomes_once_and_cover_a_period() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_reports", dir.path(), &rt) {
        let b = &s.backend;
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let worker = Browser::sign_in(s.port, "caseworker-own", PASSWORD).unwrap();
        // Start and close ONS4 scores, hand-paired: (4, 7), (5, 6) — the later of
        // two starts — and (6, 9); one case has a start only.
        let scores: [&[(&str, &str)]; 4] = [
            &[
                ("ons4-start", "4"),
                ("ons4-close", "7"),
                ("grant-secured", "500"),
                ("grant-secured", "500"),
            ],
            &[
                ("ons4-start", "2"),
                ("ons4-start", "5"),
                ("ons4-close", "6"),
            ],
            &[
                ("ons4-start", "6"),
                ("ons4-close", "9"),
                ("money-saved", "1000"),
            ],
            &[("ons4-start", "8")],
        ];
        let mut ids = Vec::new();
        for (i, list) in scores.iter().enumerate() {
            let made = api_referral(
                s.port,
                "synd_test_token_gp_a",
                &format!("rep-{i}"),
                &referral_body(&format!("Rep{i}")),
            );
            let id = made.json()["id"].as_str().unwrap().to_owned();
            let path = format!("/hub/cases/{id}");
            let routed = coordinator.post(
                &path,
                &[
                    ("action", "route"),
                    ("service", SERVICE_A),
                    ("update_id", &format!("rep-route-{i}")),
                ],
            );
            assert_eq!(routed.status, 303, "{b}: {}", routed.body);
            for (j, (code, value)) in list.iter().enumerate() {
                let r = worker.post(
                    &path,
                    &[
                        ("action", "outcome"),
                        ("code", code),
                        ("value", value),
                        ("update_id", &format!("rep-{i}-{j}")),
                    ],
                );
                assert_eq!(r.status, 303, "{b}: {}", r.body);
            }
            ids.push(id);
        }
        // The money saved was recorded in error: voided, with a reason, it no longer counts.
        let page = worker.get(&format!("/hub/cases/{}", ids[2]));
        let money = page
            .body
            .find("Money saved per year (£): 1000")
            .expect("the outcome listed");
        let outcome_id = hidden(&page.body[money..], "outcome");
        let void = |reason: &str, update: &str| {
            worker.post(
                &format!("/hub/cases/{}", ids[2]),
                &[
                    ("action", "outcome-void"),
                    ("outcome", &outcome_id),
                    ("reason", reason),
                    ("update_id", update),
                ],
            )
        };
        assert_eq!(
            void("", "rep-void-0").status,
            422,
            "{b}: a void needs a reason"
        );
        assert_eq!(
            void("Recorded for the wrong person", "rep-void-1").status,
            303,
            "{b}"
        );
        assert_eq!(void("again", "rep-void-2").status, 422, "{b}: void once");
        let after = worker.get(&format!("/hub/cases/{}", ids[2]));
        assert!(
            after
                .body
                .contains("<del>Money saved per year (£): 1000</del>"),
            "{b}: kept, struck out"
        );
        assert!(after.body.contains("Recorded for the wrong person"), "{b}");
        // The first case's grant (recorded twice at £500) is corrected to £450: the
        // report counts the case once, at the corrected value.
        let page = worker.get(&format!("/hub/cases/{}", ids[0]));
        let grant = page.body.find("Grant secured: 500").unwrap();
        let grant_id = hidden(&page.body[grant..], "outcome");
        let fixed = worker.post(
            &format!("/hub/cases/{}", ids[0]),
            &[
                ("action", "outcome-correct"),
                ("outcome", &grant_id),
                ("code", "grant-secured"),
                ("value", "450"),
                ("reason", "Award letter says £450"),
                ("update_id", "rep-fix"),
            ],
        );
        assert_eq!(fixed.status, 303, "{b}: {}", fixed.body);
        let audit = rt.block_on(s.store.audit_log(None, 1000)).unwrap();
        assert!(
            audit.iter().any(|e| e.record == ids[2]
                && e.action == "change"
                && e.reason == "outcome-voided"),
            "{b}: the void is audited: {:?}",
            audit
                .iter()
                .filter(|e| e.record == ids[2])
                .collect::<Vec<_>>()
        );

        let csv = coordinator.get("/hub/reports/wellbeing.csv");
        assert_eq!(csv.status, 200, "{b}: {}", csv.body);
        let ons4 = "ONS4 life satisfaction";
        assert_eq!(
            csv_value(&csv.body, ons4, "Cases with both scores"),
            "3",
            "{b}"
        );
        assert_eq!(
            csv_value(&csv.body, ons4, "Cases with one score only"),
            "1",
            "{b}"
        );
        let num = |column: &str| csv_value(&csv.body, ons4, column).parse::<f64>().unwrap();
        // Differences 3, 1, 3: mean 7/3, s = 2/√3, t(0.975; 2) = 4.302653.
        let half = 4.302_652_729_911_275 * (2.0 / 3f64.sqrt()) / 3f64.sqrt();
        assert!((num("Mean change") - 7.0 / 3.0).abs() < 1e-6, "{b}");
        assert!((num("Mean at start") - 5.0).abs() < 1e-6, "{b}");
        assert!((num("Mean at close") - 22.0 / 3.0).abs() < 1e-6, "{b}");
        let lower = csv
            .body
            .lines()
            .next()
            .unwrap()
            .split(',')
            .position(|h| h.contains("lower"))
            .unwrap();
        let row = csv.body.lines().find(|l| l.contains(ons4)).unwrap();
        let cells: Vec<&str> = row.split(',').collect();
        let lo: f64 = cells[lower].trim_matches('"').parse().unwrap();
        let hi: f64 = cells[lower + 1].trim_matches('"').parse().unwrap();
        assert!((lo - (7.0 / 3.0 - half)).abs() < 1e-6, "{b}: {lo}");
        assert!((hi - (7.0 / 3.0 + half)).abs() < 1e-6, "{b}: {hi}");

        let outcomes = coordinator.get("/hub/reports/outcomes.csv").body;
        assert_eq!(
            csv_value(&outcomes, "Grant secured", "Cases"),
            "1",
            "{b}: once per case"
        );
        assert_eq!(
            csv_value(&outcomes, "Grant secured", "Total value"),
            "450",
            "{b}: the corrected value, once"
        );
        assert_eq!(
            csv_value(&outcomes, "Money saved", "Cases"),
            "0",
            "{b}: the void is not counted"
        );

        // A period: every referral was received today; a period before today has none.
        let today = syndemic_hub::workdays::format_date(time::OffsetDateTime::now_utc().date());
        let summary = coordinator
            .get(&format!("/hub/reports/summary.csv?from={today}&to={today}"))
            .body;
        assert_eq!(csv_value(&summary, "Referrals", "Value"), "4", "{b}");
        let none = coordinator
            .get("/hub/reports/summary.csv?to=2020-01-01")
            .body;
        assert_eq!(csv_value(&none, "Referrals", "Value"), "0", "{b}");
        let page = coordinator.get("/hub/reports?from=2026-02-30");
        assert!(
            page.body.contains("id=\"from-error\""),
            "{b}: the field's error beside it"
        );
        assert!(
            page.body.contains("value=\"2026-02-30\""),
            "{b}: kept as typed"
        );
        assert_eq!(
            coordinator
                .get("/hub/reports/summary.csv?from=nonsense")
                .status,
            400,
            "{b}"
        );
        let months = coordinator.get("/hub/reports/months.csv").body;
        assert_eq!(csv_value(&months, &today[..7], "Referrals"), "4", "{b}");

        // Reach: the four referrals all live in decile 1's small area of 2,000
        // residents (2 per 1,000, exact Poisson limits for 4 events); decile 8's
        // 3,000 residents none.
        let reach = coordinator.get("/hub/reports/reach.csv").body;
        assert_eq!(csv_value(&reach, "1", "Referrals"), "4", "{b}: {reach}");
        assert_eq!(csv_value(&reach, "1", "Residents"), "2000", "{b}");
        let per = |d: &str, c: &str| csv_value(&reach, d, c).parse::<f64>().unwrap();
        assert!(
            (per("1", "Per thousand residents") - 2.0).abs() < 1e-9,
            "{b}"
        );
        // Exact Poisson 95 % limits of 4 events: 1.0899 and 10.2416, per 2,000.
        assert!(
            (per("1", "Lower 95 %") - 1.089_865 / 2.0).abs() < 1e-4,
            "{b}: {reach}"
        );
        assert!(
            (per("1", "Upper 95 %") - 10.241_589 / 2.0).abs() < 1e-4,
            "{b}: {reach}"
        );
        assert_eq!(csv_value(&reach, "8", "Referrals"), "0", "{b}");
        assert_eq!(per("8", "Per thousand residents"), 0.0, "{b}");
        let page = coordinator.get("/hub/reports");
        assert!(
            page.body
                .contains("Referrals per 1,000 residents by IMD decile of Testshire"),
            "{b}: the chart beside the table"
        );
        assert!(
            page.body
                .contains("The catchment is Testshire (E07900001): 2 small areas"),
            "{b}"
        );
        assert!(
            page.body.contains("aria-label=\"Referrals by need\"")
                && page.body.contains("aria-label=\"Cases by outcome\""),
            "{b}: charts beside the tables"
        );
        // Across hubs, an analyst sees a count under 5 withheld, and its rate too.
        let analyst = Browser::sign_in(s.port, "analyst-own", PASSWORD).unwrap();
        let withheld = analyst.get("/hub/reports/reach.csv").body;
        assert_eq!(csv_value(&withheld, "1", "Referrals"), "<5", "{b}");
        assert_eq!(
            csv_value(&withheld, "1", "Per thousand residents"),
            "<5",
            "{b}"
        );
    }
}

#[test]
fn a_person_is_referred_onward_in_parallel_and_the_first_case_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    for s in servers("hub_onward", dir.path(), &rt) {
        let b = &s.backend;
        let made = api_referral(
            s.port,
            "synd_test_token_gp_a",
            "onward-1",
            &referral_body("Ola"),
        );
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let path = format!("/hub/cases/{id}");
        let coordinator = Browser::sign_in(s.port, "coordinator-own", PASSWORD).unwrap();
        let routed = coordinator.post(
            &path,
            &[
                ("action", "route"),
                ("service", SERVICE_A),
                ("update_id", "on-route"),
            ],
        );
        assert_eq!(routed.status, 303, "{b}");
        let worker = Browser::sign_in(s.port, "caseworker-own", PASSWORD).unwrap();
        let onward = |update: &str| {
            worker.post(
                &path,
                &[
                    ("action", "onward"),
                    ("service", SERVICE_B),
                    ("reason", "Arrears on the energy bill"),
                    ("update_id", update),
                ],
            )
        };
        let sent = onward("on-1");
        assert_eq!(sent.status, 303, "{b}: {}", sent.body);
        assert_eq!(
            sent.header("location"),
            Some(format!("{path}?done=onward#done")),
            "{b}"
        );
        assert_eq!(onward("on-1").status, 303, "{b}: a retry is harmless");
        let all = rt
            .block_on(s.store.referrals(&ReferralFilter::default()))
            .unwrap();
        assert_eq!(
            all.len(),
            2,
            "{b}: one new referral, however often the form is sent"
        );
        let first = all.iter().find(|r| r.id == id).unwrap();
        let second = all.iter().find(|r| r.id != id).unwrap();
        assert_eq!(
            first.service_id.as_deref(),
            Some(SERVICE_A),
            "{b}: the first case keeps its service"
        );
        assert!(!first.status.is_final(), "{b}: and stays open");
        assert_eq!(second.service_id.as_deref(), Some(SERVICE_B), "{b}");
        assert_eq!(second.service_org.as_deref(), Some("svc-b"), "{b}");
        assert!(second.link_confirmed, "{b}: the same person, confirmed");
        assert_eq!(
            second.person.as_ref().map(|p| p.display_name()),
            Some("Ola Okafor".to_owned()),
            "{b}"
        );
        let page = worker.get(&path);
        assert!(
            page.body.contains("Onward referral made"),
            "{b}: an outcome of the first case"
        );
        assert!(
            page.body
                .contains(&format!("to Debt advice as referral {}", second.reference)),
            "{b}"
        );
        // The other service's caseworker now sees the person's new referral.
        let other = Browser::sign_in(s.port, "caseworker-other", PASSWORD).unwrap();
        assert!(
            other.get("/hub/cases").body.contains(&second.reference),
            "{b}"
        );
        let beside = coordinator.get(&format!("/hub/cases/{}", second.id)).body;
        assert!(
            beside.contains("This person&#39;s other referrals")
                || beside.contains("This person's other referrals"),
            "{b}: the parallel referrals side by side"
        );
        assert!(beside.contains(&first.reference), "{b}");
        let outcomes = coordinator.get("/hub/reports/outcomes.csv").body;
        assert_eq!(
            csv_value(&outcomes, "Onward referral made", "Cases"),
            "1",
            "{b}: counted"
        );
    }
}

/// A real SMTP server for the test: aiosmtpd (from PyPI) keeping each message it
/// accepts as a file in `dir`, started on `port` when asked. `None` where Python
/// has no aiosmtpd — the test then says it was skipped, unless
/// `SYNDEMIC_REQUIRE_SMTP` makes that a failure (as `.ci/run` does).
struct SmtpServer {
    child: std::process::Child,
}

impl SmtpServer {
    const SCRIPT: &'static str = r#"
import itertools, pathlib, sys, time
from aiosmtpd.controller import Controller
out = pathlib.Path(sys.argv[1])
count = itertools.count()
class Keep:
    async def handle_DATA(self, server, session, envelope):
        i = next(count)
        tmp = out / f"{i}.tmp"
        tmp.write_bytes(("To: " + ",".join(envelope.rcpt_tos) + "\n").encode() + envelope.content)
        tmp.rename(out / f"{i}.eml")
        return "250 Message accepted for delivery"
controller = Controller(Keep(), hostname="127.0.0.1", port=int(sys.argv[2]))
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

    fn python() -> Option<String> {
        let python = std::env::var("SYNDEMIC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let has = std::process::Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has {
            return Some(python);
        }
        assert!(
            std::env::var_os("SYNDEMIC_REQUIRE_SMTP").is_none(),
            "SYNDEMIC_REQUIRE_SMTP is set but {python} cannot import aiosmtpd (pip install aiosmtpd)"
        );
        None
    }

    fn start(python: &str, dir: &std::path::Path, port: u16) -> SmtpServer {
        use std::io::BufRead;
        let script = dir.join("smtp.py");
        std::fs::write(&script, Self::SCRIPT).unwrap();
        let mut child = std::process::Command::new(python)
            .arg(&script)
            .arg(dir)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpServer { child }
    }

    /// The messages received, waiting up to 30 s for `n` of them.
    fn messages(dir: &std::path::Path, n: usize) -> Vec<String> {
        for _ in 0..300 {
            let mut found: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect();
            if found.len() >= n {
                found.sort_by_key(|p| {
                    p.file_stem()
                        .unwrap()
                        .to_string_lossy()
                        .parse::<u32>()
                        .unwrap()
                });
                return found
                    .iter()
                    .map(|p| std::fs::read_to_string(p).unwrap())
                    .collect();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("fewer than {n} e-mails arrived in 30 s");
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn changes_notify_the_referrer_and_caseworker_in_the_app_and_by_email() {
    let Some(python) = SmtpServer::python() else {
        eprintln!(
            "skipped changes_notify_the_referrer_and_caseworker_in_the_app_and_by_email: no Python with aiosmtpd (pip install aiosmtpd, or set SYNDEMIC_TEST_PYTHON)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let stores = rt.block_on(stores("hub_notify", dir.path()));
    for store in stores {
        let b = store.backend_name().to_owned();
        let mailbox = tempfile::tempdir().unwrap();
        let smtp_port = free_port();
        let port = rt.block_on(async {
            fill(&store).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let security = syndemic_web::Security::new(
                Some(format!("http://127.0.0.1:{port}")),
                syndemic_access::seal::SealKey::random().unwrap(),
                Vec::new(),
            )
            .unwrap();
            // The relay is not up yet: the first tries fail and are retried.
            let mail = syndemic_web::Mail::new(
                &format!("smtp://127.0.0.1:{smtp_port}"),
                "Testshire hub <hub@testshire.example>",
            )
            .unwrap()
            .with_timing(
                std::time::Duration::from_millis(200),
                std::time::Duration::from_secs(1),
            );
            let state = AppState::new(Arc::new(store.clone()), "Testshire", None)
                .with_security(security)
                .with_mail(mail);
            tokio::spawn(syndemic_web::serve(state, listener));
            port
        });

        // Settings: a wrong address is shown again beside its field, as typed.
        let referrer = Browser::sign_in(port, "referrer-own", PASSWORD).unwrap();
        let wrong = referrer.post(
            "/account/notifications",
            &[("email", "gp.practice-a@"), ("referrals", "yes")],
        );
        assert_eq!(wrong.status, 422, "{b}");
        assert!(wrong.body.contains("id=\"email-error\""), "{b}");
        assert!(
            wrong.body.contains("value=\"gp.practice-a@\""),
            "{b}: typed value kept"
        );
        let saved = referrer.post(
            "/account/notifications",
            &[("email", "gp.practice-a@nhs.example"), ("referrals", "yes")],
        );
        assert_eq!(saved.status, 303, "{b}: {}", saved.body);
        assert!(referrer
            .get("/account?saved=notifications")
            .body
            .contains("value=\"gp.practice-a@nhs.example\""));
        let worker = Browser::sign_in(port, "caseworker-own", PASSWORD).unwrap();
        let saved = worker.post(
            "/account/notifications",
            &[("email", "worker@warmhomes.example"), ("cases", "yes")],
        );
        assert_eq!(saved.status, 303, "{b}");
        // No CSRF token, no change.
        let forged = request(
            port,
            "POST",
            "/account/notifications",
            &[
                ("Cookie", &worker.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "email=attacker%40evil.example&cases=yes",
        );
        assert_eq!(forged.status, 403, "{b}");

        // A referral, accepted and assigned by the coordinator, contacted by the caseworker.
        let id = refer_by_form(&referrer, "Winifred", "01632 960077");
        let reference = rt.block_on(store.referral(&id)).unwrap().unwrap().reference;
        let coordinator = Browser::sign_in(port, "coordinator-own", PASSWORD).unwrap();
        let path = format!("/hub/cases/{id}");
        for (fields, key) in [
            (vec![("action", "route"), ("service", SERVICE_A)], "n-route"),
            (
                vec![("action", "assign"), ("user", "caseworker-own")],
                "n-assign",
            ),
        ] {
            let case = coordinator.get(&path);
            let mut fields = fields.clone();
            let version = hidden(&case.body, "version");
            fields.push(("update_id", key));
            fields.push(("version", &version));
            let done = coordinator.post(&path, &fields);
            assert_eq!(done.status, 303, "{b}: {}", done.body);
        }
        let contacted = worker.post(
            &path,
            &[
                ("action", "status"),
                ("to", "contacted"),
                ("update_id", "n-contact"),
            ],
        );
        assert_eq!(contacted.status, 303, "{b}: {}", contacted.body);

        // In the app: the referrer has two, the caseworker one; the coordinator,
        // who made the changes, none.
        let list = referrer.get("/notifications");
        assert_eq!(list.status, 200, "{b}");
        assert!(
            list.body
                .contains("Showing 1–2 of 2 notifications; 2 unread"),
            "{b}: {}",
            list.body
        );
        assert!(
            list.body
                .contains("A referral you made was accepted by a service."),
            "{b}"
        );
        assert!(
            list.body.contains("A referral you made is now: contacted."),
            "{b}"
        );
        assert!(
            list.body.contains(&reference),
            "{b}: the reference, behind sign-in"
        );
        let mine = worker.get("/notifications");
        assert!(mine.body.contains("A case was assigned to you."), "{b}");
        assert!(mine.body.contains("of 1 notifications"), "{b}");
        assert!(
            coordinator
                .get("/notifications")
                .body
                .contains("Nothing yet"),
            "{b}"
        );
        assert!(
            referrer
                .get("/hub")
                .body
                .contains("Your notifications (2 unread)"),
            "{b}"
        );

        // Opening one marks it read and leads to the referral as the referrer sees
        // it; nobody else can open it.
        let first = {
            let at = list.body.find("href=\"/notifications/").unwrap() + "href=\"".len();
            list.body[at..at + list.body[at..].find('"').unwrap()].to_owned()
        };
        let other = Browser::sign_in(port, "referrer-other", PASSWORD).unwrap();
        assert_eq!(other.get(&first).status, 404, "{b}: another's notification");
        assert_eq!(worker.get(&first).status, 404, "{b}");
        let opened = referrer.get(&first);
        assert_eq!(opened.status, 303, "{b}");
        assert_eq!(
            opened.header("location"),
            Some(format!("/referrals/{id}")),
            "{b}"
        );
        assert!(
            referrer.get("/notifications").body.contains("1 unread"),
            "{b}"
        );
        let all = referrer.post("/notifications", &[]);
        assert_eq!(all.status, 303, "{b}");
        assert!(
            referrer.get("/notifications").body.contains("0 unread"),
            "{b}"
        );

        // By e-mail, once the relay is up (the tries before it was are retried):
        // to the right people, a sentence and a link, nothing personal.
        let _smtp = SmtpServer::start(&python, mailbox.path(), smtp_port);
        let mails = SmtpServer::messages(mailbox.path(), 3);
        let to = |who: &str| {
            mails
                .iter()
                .filter(|m| m.starts_with(&format!("To: {who}")))
                .count()
        };
        assert_eq!(to("gp.practice-a@nhs.example"), 2, "{b}: {mails:#?}");
        assert_eq!(to("worker@warmhomes.example"), 1, "{b}");
        for m in &mails {
            assert!(
                m.contains("From: \"Testshire hub\" <hub@testshire.example>")
                    || m.contains("From: Testshire hub <hub@testshire.example>"),
                "{b}: {m}"
            );
            assert!(
                m.contains(&format!("http://127.0.0.1:{port}/notifications/")),
                "{b}: {m}"
            );
            for personal in ["Winifred", "Hopper", "960077", "TS1", &reference] {
                assert!(!m.contains(personal), "{b}: `{personal}` in an e-mail: {m}");
            }
        }
        // Turned off, a change is listed in the app and not e-mailed.
        referrer.post(
            "/account/notifications",
            &[("email", "gp.practice-a@nhs.example")],
        );
        let closed = worker.post(
            &path,
            &[
                ("action", "status"),
                ("to", "closed"),
                ("reason", "Grant agreed"),
                ("update_id", "n-close"),
            ],
        );
        assert_eq!(closed.status, 303, "{b}: {}", closed.body);
        let list = referrer.get("/notifications");
        assert!(list.body.contains("A referral you made was closed."), "{b}");
        assert!(list.body.contains("Not e-mailed (your settings)"), "{b}");
        assert!(
            list.body.contains("E-mailed "),
            "{b}: the earlier ones say when"
        );
    }
}

//! Residents' surveys over real HTTP, on SQLite and (where configured)
//! PostgreSQL: the anonymous form (answers kept with their small area, never the
//! postcode; errors beside their fields with everything typed kept; a postcode
//! outside the place refused; the honeypot, the form token, the daily cap per
//! device and the per-client throttle), and the access matrix of the survey
//! team's pages — anonymous callers sent to sign in, analysts seeing aggregates
//! only, free text read only by those who run surveys and every reading audited,
//! paper forms entered in bulk all or nothing and counted by channel and ward.

mod support;

use std::sync::Arc;

use syndemic_access::Role;
use syndemic_model::{AreaCode, Level, Period};
use syndemic_store::hub::{AuditEntry, HubOrg, UserRecord};
use syndemic_store::partnership::{
    CommitmentRecord, MemberRecord, PartnershipRecord, PlanRecord, SurveyRecord,
};
use syndemic_store::{Area, AreaLink, Boundary, Deprivation, Population, PostcodeRecord, SqlStore};
use syndemic_testkit::stores;
use syndemic_web::AppState;

use support::{form_encode, request, request_from, Browser, Reply};
use syndemic_store::prelude::*;

const PASSWORD: &str = "tulip kettle orbit";
const DISTRICT: &str = "E07900001";
const SLUG: &str = "testshire-voices";

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

fn lsoa(i: usize) -> String {
    format!("E019{i:05}")
}

fn postcode(i: usize) -> String {
    format!("TS{i} 9AA")
}

const DEFINITION: &str = r#"{
  "slug": "testshire-voices", "title": "Testshire voices", "intro": "What is it like here?",
  "lawful_basis": "Public task (Article 6(1)(e))", "waves": ["2026"],
  "questions": [
    {"key": "where", "text": "Where do you mean?", "kind": "Pin"},
    {"key": "postcode", "text": "Your postcode", "kind": "Postcode", "required": true},
    {"key": "feel_safe", "text": "I feel safe here after dark", "kind": "Likert", "required": true},
    {"key": "warm", "text": "Could you keep your home warm?", "kind": "Single", "options": ["Yes", "No"]},
    {"key": "comment", "text": "Anything else?", "kind": "Text"}
  ]
}"#;

/// A district of ten small areas in two wards, a postcode for each and one
/// outside, residents by sex and age, users of several roles and the survey.
async fn fill(store: &SqlStore) {
    let mut tx = store.begin().await.unwrap();
    let mut areas = vec![
        Area {
            code: code(DISTRICT),
            name: Some("Testshire".into()),
            no_known_parent: false,
        },
        Area {
            code: code("E05900001"),
            name: Some("North Ward".into()),
            no_known_parent: false,
        },
        Area {
            code: code("E05900002"),
            name: Some("South Ward".into()),
            no_known_parent: false,
        },
        Area {
            code: code("E01999999"),
            name: Some("Elsewhere 001".into()),
            no_known_parent: false,
        },
    ];
    let mut links = Vec::new();
    let mut people = Vec::new();
    let mut postcodes = Vec::new();
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
        let ward = if i <= 5 { "E05900001" } else { "E05900002" };
        links.push(AreaLink {
            child: code(&lsoa(i)),
            parent: code(ward),
            level: Level::Ward,
            vintage: "2024".into(),
        });
        for sex in ["Female", "Male"] {
            for (band, n) in [("20-24", 60.0), ("45-49", 80.0), ("70-74", 40.0)] {
                people.push(Population {
                    area: code(&lsoa(i)),
                    period: Period::Year(2024),
                    sex: sex.into(),
                    age: band.into(),
                    population: n,
                    source: "Census 2021".into(),
                });
            }
        }
        postcodes.push(PostcodeRecord {
            postcode: postcode(i),
            lsoa11: None,
            lsoa21: Some(code(&lsoa(i))),
            latitude: None,
            longitude: None,
        });
    }
    postcodes.push(PostcodeRecord {
        postcode: "ZZ9 9ZZ".into(),
        lsoa11: None,
        lsoa21: Some(code("E01999999")),
        latitude: None,
        longitude: None,
    });
    for ward in ["E05900001", "E05900002"] {
        links.push(AreaLink {
            child: code(ward),
            parent: code(DISTRICT),
            level: Level::LowerTierAuthority,
            vintage: "2024".into(),
        });
    }
    tx.put_areas(&areas).await.unwrap();
    tx.put_links(&links).await.unwrap();
    tx.put_populations(&people).await.unwrap();
    let ranks: Vec<Deprivation> = (1..=10)
        .map(|i| Deprivation {
            area: code(&lsoa(i)),
            edition: "IoD2025".into(),
            domain: "imd".into(),
            rank: (i as i64) * 1000,
            decile: i as i64,
            score: None,
        })
        .collect();
    tx.put_deprivation(&ranks).await.unwrap();
    tx.put_postcodes(&postcodes).await.unwrap();
    // Ten small squares in a row, west to east, a hundredth of a degree each.
    let boundaries: Vec<Boundary> = (1..=10)
        .map(|i| {
            let (x0, x1) = (-1.0 + 0.01 * (i - 1) as f64, -1.0 + 0.01 * i as f64);
            let (y0, y1) = (54.0, 54.01);
            let ring = format!("[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]");
            let geometry = format!("{{\"type\":\"MultiPolygon\",\"coordinates\":[[{ring}]]}}");
            Boundary {
                code: code(&lsoa(i)),
                vintage: "LSOA21".into(),
                simplified: geometry.clone(),
                geometry,
                bbox: [x0, y0, x1, y1],
            }
        })
        .collect();
    tx.put_boundaries(&boundaries).await.unwrap();
    tx.commit().await.unwrap();
    store
        .put_org(
            &HubOrg {
                id: "council".into(),
                name: "Testshire Council".into(),
                sector: "local-government".into(),
                is_hub: false,
            },
            0,
        )
        .await
        .unwrap();
    let hash = syndemic_access::secret::hash_password(PASSWORD, &[3; 16]).unwrap();
    for (name, role) in [
        ("lead", Role::PartnershipLead),
        ("analyst", Role::Analyst),
        ("admin", Role::SystemAdmin),
        ("caseworker", Role::Caseworker),
    ] {
        let u = UserRecord {
            password_hash: Some(hash.clone()),
            ..UserRecord::new(name, "council", name, name, role, 0)
        };
        assert!(store.create_user(&u).await.unwrap());
    }
    let audit = AuditEntry {
        at: 0,
        actor: "test".into(),
        org: String::new(),
        action: "create".into(),
        subject: "survey".into(),
        record: SLUG.into(),
        reason: String::new(),
    };
    store
        .put_survey(
            &SurveyRecord {
                id: "survey-1".into(),
                slug: SLUG.into(),
                title: "Testshire voices".into(),
                definition: DEFINITION.into(),
                place: DISTRICT.into(),
                open_wave: Some("2026".into()),
                partnership_id: None,
                created_at: 0,
            },
            &audit,
        )
        .await
        .unwrap();
}

/// A partnership of the district with a plan whose one commitment is measured
/// by the survey's safety question; the survey linked to the partnership.
async fn fill_plan(store: &SqlStore, survey: &SurveyRecord) {
    let audit = AuditEntry {
        at: 0,
        actor: "test".into(),
        org: "council".into(),
        action: "create".into(),
        subject: "plan".into(),
        record: "plan-1".into(),
        reason: String::new(),
    };
    store
        .put_partnership(
            &PartnershipRecord {
                id: "board".into(),
                name: "Testshire Board".into(),
                kind: "health-and-wellbeing-board".into(),
                area: Some(DISTRICT.into()),
                parent_id: None,
                framework: "marmot".into(),
            },
            &[MemberRecord {
                partnership_id: "board".into(),
                org_id: "council".into(),
                role: "lead".into(),
                title: None,
            }],
            &audit,
        )
        .await
        .unwrap();
    store
        .put_plan(
            &PlanRecord {
                id: "plan-1".into(),
                partnership_id: "board".into(),
                title: "Testshire Plan".into(),
                owner_org: "council".into(),
                period_start: "2026-04-01".into(),
                period_end: "2029-03-31".into(),
                priorities: vec!["Warm homes for all".into()],
                update_every_days: 92,
            },
            &[CommitmentRecord {
                id: "c-safe".into(),
                plan_id: "plan-1".into(),
                reference: "V1".into(),
                title: "Walk-safe routes lit".into(),
                lead_org: "council".into(),
                contributors: Vec::new(),
                framework: Some("marmot".into()),
                objective: Some("places".into()),
                indicator: Some("testshire-voices:feel_safe:agree".into()),
                indicator_area: Some(DISTRICT.into()),
                baseline_period: Some("2026".into()),
                baseline_value: None,
                target_value: Some(90.0),
                target_date: Some("2029-03-31".into()),
                target_rule: None,
                areas: Vec::new(),
                milestones: Vec::new(),
                created_at: 0,
            }],
            &audit,
        )
        .await
        .unwrap();
    store
        .put_survey(
            &SurveyRecord {
                partnership_id: Some("board".into()),
                ..survey.clone()
            },
            &audit,
        )
        .await
        .unwrap();
}

/// The form as served from `source`, with its device cookie and token.
fn open_form(source: &str, port: u16) -> (String, String) {
    let page = request_from(source, port, "GET", &format!("/surveys/{SLUG}"), &[], "");
    assert_eq!(page.status, 200, "{}", page.body);
    let device = page
        .cookies()
        .into_iter()
        .find(|(k, _)| k == "syndemic_device")
        .expect("a device cookie")
        .1;
    (
        format!("syndemic_device={device}"),
        support::hidden(&page.body, "form"),
    )
}

fn send(source: &str, port: u16, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if !cookie.is_empty() {
        headers.push(("Cookie", cookie));
    }
    request_from(
        source,
        port,
        "POST",
        &format!("/surveys/{SLUG}"),
        &headers,
        &form_encode(fields),
    )
}

fn multipart(b: &Browser, path: &str, channel: &str, name: &str, content: &str) -> Reply {
    let boundary = "----syndemic-survey-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\n{channel}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n",
        b.csrf
    );
    let kind = format!("multipart/form-data; boundary={boundary}");
    request(
        b.port,
        "POST",
        path,
        &[("Content-Type", &kind), ("Cookie", &b.cookie)],
        &body,
    )
}

#[test]
fn the_public_form_and_the_survey_teams_pages() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers: Vec<(SqlStore, u16)> = rt.block_on(async {
        let mut out = Vec::new();
        for store in stores("surveys_web", dir.path()).await {
            fill(&store).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store.clone()), "Testshire", Some("Census 2021"));
            tokio::spawn(syndemic_web::serve(state, listener));
            out.push((store, port));
        }
        out
    });
    for (store, port) in &servers {
        let port = *port;
        let count = || rt.block_on(store.responses("survey-1")).unwrap().len();
        let listed = request(port, "GET", "/surveys", &[], "");
        assert!(listed.body.contains("Testshire voices") && listed.body.contains("open (2026)"));
        let (device, token) = open_form("127.0.0.1", port);
        // A good answer: kept with its small area, never its postcode.
        let good = [
            ("form", token.as_str()),
            ("postcode", "ts3 9aa"),
            ("feel_safe", "2"),
            ("warm", "1"),
            ("comment", "More buses please"),
            ("age_band", "45-54"),
            ("sex", "Female"),
            ("contact_ok", "yes"),
            ("contact", "me@example.org"),
        ];
        let r = send("127.0.0.1", port, &device, &good);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Thank you"));
        let kept = rt.block_on(store.responses("survey-1")).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (
                kept[0].lsoa.as_str(),
                kept[0].channel.as_str(),
                kept[0].wave.as_str()
            ),
            (lsoa(3).as_str(), "online", "2026")
        );
        assert!(
            !kept[0].answers.contains("TS3") && !kept[0].answers.contains("buses"),
            "{}",
            kept[0].answers
        );
        assert_eq!(rt.block_on(store.contact_count("survey-1")).unwrap(), 1);
        // A wrong answer: shown beside its field, everything typed kept, nothing stored.
        let r = send(
            "127.0.0.1",
            port,
            &device,
            &[
                ("form", &token),
                ("postcode", "TS3 9AA"),
                ("feel_safe", "9"),
                ("comment", "Keep this text"),
            ],
        );
        assert_eq!(r.status, 422);
        assert!(
            r.body.contains("There is a problem") && r.body.contains("href=\"#q-feel_safe-field\""),
            "{}",
            r.body
        );
        assert!(r.body.contains("value=\"TS3 9AA\"") && r.body.contains("Keep this text"));
        // A postcode outside the place.
        let r = send(
            "127.0.0.1",
            port,
            &device,
            &[
                ("form", &token),
                ("postcode", "ZZ9 9ZZ"),
                ("feel_safe", "1"),
            ],
        );
        assert_eq!(r.status, 422);
        assert!(r.body.contains("outside Testshire"), "{}", r.body);
        // No token (a script that never fetched the form), and the honeypot.
        let r = send(
            "127.0.0.1",
            port,
            &device,
            &[("postcode", "TS3 9AA"), ("feel_safe", "1")],
        );
        assert_eq!(r.status, 422);
        assert!(r.body.contains("expired"));
        let r = send(
            "127.0.0.1",
            port,
            &device,
            &[
                ("form", &token),
                ("postcode", "TS3 9AA"),
                ("feel_safe", "1"),
                ("website", "http://spam.example"),
            ],
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            count(),
            1,
            "the honeypot's submission is thanked and dropped"
        );
        // Five a day from one device, whatever its connection.
        let (device2, token2) = open_form("127.0.0.2", port);
        for i in 0..5 {
            let source = if i % 2 == 0 { "127.0.0.2" } else { "127.0.0.4" };
            let r = send(
                source,
                port,
                &device2,
                &[
                    ("form", &token2),
                    ("postcode", &postcode(1 + i)),
                    ("feel_safe", "1"),
                ],
            );
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let r = send(
            "127.0.0.2",
            port,
            &device2,
            &[
                ("form", &token2),
                ("postcode", "TS1 9AA"),
                ("feel_safe", "1"),
            ],
        );
        assert_eq!(r.status, 429);
        assert_eq!(count(), 6);
        // The per-client throttle: ten at once, then a wait.
        let statuses: Vec<u16> = (0..11)
            .map(|_| send("127.0.0.3", port, "", &[("feel_safe", "1")]).status)
            .collect();
        assert_eq!(statuses[10], 429, "{statuses:?}");

        // The team's pages: anonymous callers sign in first.
        let r = request(port, "GET", &format!("/surveys/{SLUG}/manage"), &[], "");
        assert!(r.status == 303 || r.status == 401, "{}", r.status);
        let r = request(port, "GET", &format!("/surveys/{SLUG}/comments"), &[], "");
        assert!(r.status == 303 || r.status == 401, "{}", r.status);
        let analyst = Browser::sign_in(port, "analyst", PASSWORD).unwrap();
        let lead = Browser::sign_in(port, "lead", PASSWORD).unwrap();
        let caseworker = Browser::sign_in(port, "caseworker", PASSWORD).unwrap();
        let page = analyst.get(&format!("/surveys/{SLUG}/manage"));
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("North Ward") && page.body.contains("Chi-square"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("Local deprivation fifth")
                && page.body.contains("1 (most deprived)"),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("enctype=\"multipart/form-data\"")
                && !page.body.contains("/comments")
        );
        for who in [&analyst, &caseworker] {
            assert_eq!(who.get(&format!("/surveys/{SLUG}/comments")).status, 403);
            assert_eq!(
                multipart(
                    who,
                    &format!("/surveys/{SLUG}/responses"),
                    "paper",
                    "p.csv",
                    "postcode,feel_safe\nTS1 1AA,Agree\n"
                )
                .status,
                403
            );
        }
        assert_eq!(count(), 6);
        let text = lead.get(&format!("/surveys/{SLUG}/comments"));
        assert_eq!(text.status, 200);
        assert!(
            text.body.contains("More buses please")
                && !text.body.contains("South Ward")
                && text.body.contains("North Ward")
        );
        let log = rt.block_on(store.audit_log(None, 100)).unwrap();
        assert!(log.iter().any(|e| e.actor == "lead"
            && e.action == "view"
            && e.subject == "survey"
            && e.reason.contains("free text")));
        // Paper forms in bulk: a bad row refuses the whole file; forty land.
        let mut paper = String::from("postcode,I feel safe here after dark,warm\n");
        for i in 0..40 {
            paper.push_str(&format!("{},Agree,Yes\n", postcode(1 + i % 10)));
        }
        let bad = paper.replacen("TS5 9AA,Agree", "TS5 9AA,Perhaps", 1);
        let r = multipart(
            &lead,
            &format!("/surveys/{SLUG}/responses"),
            "paper",
            "paper.csv",
            &bad,
        );
        assert_eq!(r.status, 422);
        assert!(r.body.contains("line 6, column B"), "{}", r.body);
        assert_eq!(count(), 6);
        let r = multipart(
            &lead,
            &format!("/surveys/{SLUG}/responses"),
            "paper",
            "paper.csv",
            &paper,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(count(), 46);
        let page = analyst.get(&format!("/surveys/{SLUG}/manage"));
        assert!(page.body.contains("Paper, entered by staff"));
        // Forty paper responses, twenty in each ward, by channel.
        let north = page.body.split("North Ward").nth(1).unwrap();
        assert!(north.contains(">20<"), "{}", &north[..300.min(north.len())]);
        assert!(rt
            .block_on(store.audit_log(None, 100))
            .unwrap()
            .iter()
            .any(|e| e.actor == "lead" && e.action == "import"));

        // "You said, we did": the results published (weighted to the residents),
        // a plan whose commitment is measured by them, its public page.
        let record = rt.block_on(store.survey_by_slug(SLUG)).unwrap().unwrap();
        let done = rt
            .block_on(syndemic_voice::publish(store, &record, Some("Census 2021")))
            .unwrap();
        assert_eq!(done.responses, 46);
        let district = rt
            .block_on(store.observations(Some("testshire-voices:feel_safe:agree")))
            .unwrap()
            .into_iter()
            .find(|o| o.area.as_str() == DISTRICT && o.value.is_some())
            .expect("the district's estimate");
        assert_eq!(district.denominator, Some(46.0));
        let indicator = rt
            .block_on(store.indicator("testshire-voices:feel_safe:agree"))
            .unwrap()
            .unwrap();
        assert!(indicator.is_residents_evidence());
        assert!(indicator
            .ci_method
            .unwrap()
            .contains("weighted to residents aged 16"));
        rt.block_on(fill_plan(store, &record));
        // The lead cites the survey's result as a priority's evidence; an
        // indicator the store does not hold is refused by name.
        let plan_form = |priorities: &str| {
            lead.post(
                "/plans/plan-1",
                &[
                    ("title", "Testshire Plan"),
                    ("owner", "council"),
                    ("period_start", "2026-04-01"),
                    ("period_end", "2029-03-31"),
                    ("update_every_days", "92"),
                    ("priorities", priorities),
                ],
            )
        };
        let r =
            plan_form("Safe streets — evidence: testshire-voices:feel_safe:agree, no-such-thing");
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("no-such-thing"), "{}", r.body);
        let r = plan_form(
            "Safe streets after dark — evidence: testshire-voices:feel_safe:agree\nWarm homes for all",
        );
        assert_eq!(r.status, 303, "{}", r.body);
        let plan_page = lead.get("/plans/plan-1");
        assert!(
            plan_page
                .body
                .contains("href=\"/indicators/testshire-voices:feel_safe:agree\""),
            "the evidence linked on the plan: {}",
            plan_page.body
        );
        let public = request(port, "GET", "/plans/plan-1/you-said-we-did", &[], "");
        assert_eq!(public.status, 200, "{}", public.body);
        for words in [
            "<h3>Safe streets after dark</h3>",
            "Residents' evidence: per cent of residents aged 16 and over",
            "What we committed to in answer:",
            "No evidence is cited for this priority yet.",
        ] {
            assert!(public.body.contains(words), "{words}: {}", public.body);
        }
        for words in [
            "You said, we did",
            "Warm homes for all",
            "I feel safe here after dark — agree or strongly agree",
            "Residents who answered",
            "Walk-safe routes lit",
            "46 residents answered",
            "South Ward",
        ] {
            assert!(
                public.body.contains(words),
                "{words} not on the page: {}",
                public.body
            );
        }
        assert!(
            !public.body.contains("More buses please"),
            "never free text"
        );
        assert_eq!(
            request(port, "GET", "/plans/nope/you-said-we-did", &[], "").status,
            404
        );

        // What matters here: a pin by its postcode, moderated before staff read it.
        let page = request(port, "GET", &format!("/surveys/{SLUG}/matters"), &[], "");
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("input type=\"image\" name=\"pin\""));
        let token = support::hidden(&page.body, "form");
        let pin = |fields: &[(&str, &str)]| {
            request_from(
                "127.0.0.5",
                port,
                "POST",
                &format!("/surveys/{SLUG}/matters"),
                &[("Content-Type", "application/x-www-form-urlencoded")],
                &form_encode(fields),
            )
        };
        let r = pin(&[
            ("form", &token),
            ("theme", "Parking"),
            ("postcode", &postcode(7)),
        ]);
        assert_eq!(r.status, 422, "a theme not on the list");
        let r = pin(&[
            ("form", &token),
            ("theme", "Feeling safe"),
            ("comment", "The underpass by the station is dark"),
            ("postcode", &postcode(7)),
        ]);
        assert_eq!(r.status, 200, "{}", r.body);
        let public = request(port, "GET", &format!("/surveys/{SLUG}/matters"), &[], "");
        assert!(
            public.body.contains("South Ward") && public.body.contains(&lsoa(7)),
            "counted in its ward and its small area: {}",
            public.body
        );
        assert!(
            !public.body.contains("underpass"),
            "no comment is published"
        );
        let unread = analyst.get(&format!("/surveys/{SLUG}/matters/comments"));
        assert_eq!(unread.status, 200);
        assert!(
            !unread.body.contains("underpass"),
            "staff read comments only once approved"
        );
        let pending = lead.get(&format!("/surveys/{SLUG}/matters/comments"));
        assert!(pending.body.contains("underpass") && pending.body.contains("South Ward"));
        let id = {
            let at = pending
                .body
                .find(&format!("/surveys/{SLUG}/matters/pin-"))
                .unwrap();
            let rest = &pending.body[at + format!("/surveys/{SLUG}/matters/").len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        };
        let denied = analyst.post(
            &format!("/surveys/{SLUG}/matters/{id}"),
            &[("status", "approved")],
        );
        assert_eq!(denied.status, 403);
        let approved = lead.post(
            &format!("/surveys/{SLUG}/matters/{id}"),
            &[("status", "approved")],
        );
        assert_eq!(approved.status, 303, "{}", approved.body);
        let read = analyst.get(&format!("/surveys/{SLUG}/matters/comments"));
        assert!(
            read.body.contains("underpass") && read.body.contains("South Ward"),
            "{}",
            read.body
        );
        assert!(!read.body.contains(&lsoa(7)), "never finer than a ward");
        let log = rt.block_on(store.audit_log(None, 200)).unwrap();
        assert!(log
            .iter()
            .any(|e| e.actor == "analyst" && e.subject == "pin" && e.action == "view"));
        assert!(log
            .iter()
            .any(|e| e.actor == "lead" && e.subject == "pin" && e.action == "change"));
    }
}

/// Community places and assets over HTTP: anyone reads the list and a place's
/// profile; only a system admin or a lead of a partnership with an area defines
/// one (analysts and caseworkers are refused, anonymous callers sent to sign
/// in); a list with problems keeps nothing and names each line; the place's
/// profile shows its small areas and what it is; the definition is audited.
/// Assets recorded as Open Referral UK services with the asset taxonomy are
/// listed, filtered by kind and drawn, and served by `/openreferral`.
#[test]
fn community_places_and_assets() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let hall = syndemic_hub::assets::Asset {
        id: "asset-north-hall".into(),
        name: "North Ward Hall".into(),
        description: "Lunch club on Wednesdays".into(),
        kind: "meeting-place".into(),
        organisation: "North Ward Hall Trust".into(),
        latitude: 54.5,
        longitude: -1.2,
        postcode: Some("TS1 9AA".into()),
        url: None,
    };
    let servers: Vec<(SqlStore, u16)> = rt.block_on(async {
        let mut out = Vec::new();
        for store in stores("community_places_web", dir.path()).await {
            fill(&store).await;
            let survey = store.survey_by_slug(SLUG).await.unwrap().unwrap();
            fill_plan(&store, &survey).await;
            let feed = syndemic_hub::assets::to_feed(std::slice::from_ref(&hall)).unwrap();
            store.put_directory(&feed).await.unwrap();
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store.clone()), "Testshire", Some("Census 2021"));
            tokio::spawn(syndemic_web::serve(state, listener));
            out.push((store, port));
        }
        out
    });
    for (store, port) in &servers {
        let port = *port;
        let kept = || rt.block_on(store.community_places()).unwrap();
        let listed = request(port, "GET", "/community-places", &[], "");
        assert_eq!(listed.status, 200);
        assert!(listed
            .body
            .contains("No community has defined its place yet"));
        assert!(!listed.body.contains("/community-places/new"));
        let r = request(port, "GET", "/community-places/new", &[], "");
        assert!(r.status == 303 || r.status == 401, "{}", r.status);
        let analyst = Browser::sign_in(port, "analyst", PASSWORD).unwrap();
        let caseworker = Browser::sign_in(port, "caseworker", PASSWORD).unwrap();
        let lead = Browser::sign_in(port, "lead", PASSWORD).unwrap();
        assert_eq!(analyst.get("/community-places/new").status, 403);
        let fields = [
            ("partnership", "board"),
            ("name", "North and a bit"),
            ("description", "The north of the town and the school"),
            ("list", "E05900001\nTS6 9AA\n"),
            ("define", "1"),
        ];
        assert_eq!(caseworker.post("/community-places", &fields).status, 403);
        assert_eq!(analyst.post("/community-places", &fields).status, 403);
        assert!(kept().is_empty());
        // Without the form's CSRF token, refused.
        let r = request(
            port,
            "POST",
            "/community-places",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &lead.cookie),
            ],
            &form_encode(&fields),
        );
        assert_eq!(r.status, 403, "{}", r.body);
        let form = lead.get("/community-places/new");
        assert_eq!(form.status, 200);
        assert!(form.body.contains("Testshire Board") && form.body.contains("type=\"image\""));
        // Problems by line: a postcode outside the place and a line that is nothing.
        let bad = [
            ("partnership", "board"),
            ("name", "North and a bit"),
            ("list", "E05900001\nTS6 9AA\nZZ9 9ZZ\nthe school\n"),
            ("define", "1"),
        ];
        let r = lead.post("/community-places", &bad);
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body.contains("line 3: `ZZ9 9ZZ`") && r.body.contains("line 4: `the school`"),
            "{}",
            r.body
        );
        assert!(r.body.contains("TS6 9AA"), "what was typed is kept");
        assert!(kept().is_empty());
        let r = lead.post("/community-places", &fields);
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/areas/E99000001"));
        let places = kept();
        assert_eq!(places.len(), 1);
        let expected: Vec<AreaCode> = (1..=6).map(|i| code(&lsoa(i))).collect();
        assert_eq!(places[0].areas, expected);
        assert_eq!(places[0].within, code(DISTRICT));
        assert_eq!(places[0].chosen_by, "postcodes");
        assert_eq!(places[0].partnership_id.as_deref(), Some("board"));
        let profile = request(port, "GET", "/areas/E99000001", &[], "");
        assert_eq!(profile.status, 200);
        assert!(
            profile.body.contains("North and a bit")
                && profile.body.contains("Community-defined place")
                && profile
                    .body
                    .contains("Defined by its community as 6 small areas")
                && profile.body.contains("Testshire 006")
                && profile.body.contains("compared with Testshire;"),
            "{}",
            profile.body
        );
        let listed = request(port, "GET", "/community-places", &[], "");
        assert!(listed.body.contains("href=\"/areas/E99000001\""));
        let log = rt.block_on(store.audit_log(None, 200)).unwrap();
        assert!(log.iter().any(|e| e.subject == "community place"
            && e.actor == "lead"
            && e.record == "E99000001"));

        // Removed by its partnership's lead, not by an analyst; its values go.
        let listed = lead.get("/community-places");
        assert!(listed.body.contains("/community-places/E99000001/remove"));
        assert_eq!(
            analyst
                .post("/community-places/E99000001/remove", &[])
                .status,
            403
        );
        assert_eq!(kept().len(), 1);
        let r = lead.post("/community-places/E99000001/remove", &[]);
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(kept().is_empty());
        assert_eq!(
            request(port, "GET", "/areas/E99000001", &[], "").status,
            404
        );
        let log = rt.block_on(store.audit_log(None, 200)).unwrap();
        assert!(log.iter().any(|e| e.subject == "community place"
            && e.action == "erase"
            && e.record == "E99000001"));

        // A survey's pin question is a map on the form: a click sends the
        // answers, placed in the small area under it (the first square).
        let (device, token) = open_form("127.0.0.1", port);
        let form = request(port, "GET", &format!("/surveys/{SLUG}"), &[], "");
        assert!(
            form.body.contains("type=\"image\" name=\"where\""),
            "{}",
            form.body
        );
        let r = send(
            "127.0.0.1",
            port,
            &device,
            &[
                ("form", &token),
                ("feel_safe", "4"),
                ("where.x", "17"),
                ("where.y", "20"),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Thank you"), "{}", r.body);
        let kept = rt.block_on(store.responses("survey-1")).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].lsoa, lsoa(1), "the small area under the click");
        assert!(
            !kept[0].answers.contains("54.0"),
            "never the point: {}",
            kept[0].answers
        );

        // Assets.
        let page = request(port, "GET", "/community-assets", &[], "");
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("North Ward Hall") && page.body.contains("Hall or meeting place")
        );
        let none = request(port, "GET", "/community-assets?kind=green-space", &[], "");
        assert!(!none.body.contains("North Ward Hall"));
        assert_eq!(
            request(port, "GET", "/community-assets?kind=pub", &[], "").status,
            400
        );
        let svg = request(port, "GET", "/community-assets.svg", &[], "");
        assert_eq!(svg.status, 200);
        assert!(svg.body.contains("<svg") && svg.body.contains("North Ward Hall"));
        let oruk = request(
            port,
            "GET",
            "/openreferral/services/asset-north-hall",
            &[],
            "",
        );
        assert_eq!(oruk.status, 200);
        assert!(oruk
            .body
            .contains("syndemic-community-assets:meeting-place"));
    }
}

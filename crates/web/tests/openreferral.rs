//! Conformance of the Open Referral UK read API at `/openreferral`: every
//! endpoint's answers validated against the standard's own JSON Schemas in
//! `../shared/reference/openreferral/oruk-3.0` (the compiled schemas API
//! responses are checked against, and the page envelope of its OpenAPI
//! document) — first, middle and last page, and every filter — over a directory
//! holding the ORUK validator's mock feeds and a fixture of our own.

mod support;

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use syndemic_hub::oruk::Feed;
use syndemic_model::AreaCode;
use syndemic_store::{PostcodeRecord, SqlStore, Store};
use syndemic_testkit::{shared_dir, stores};
use syndemic_web::AppState;

use support::request;
use syndemic_store::prelude::*;

fn read(path: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Replaces every `{"$ref": "x.json"}` with the schema in the same folder, so
/// the validator needs no file or network access.
fn inline(v: &mut Value, dir: &Path) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                if !r.starts_with('#') {
                    *v = read(&dir.join(r));
                    return inline(v, dir);
                }
            }
            for x in o.values_mut() {
                inline(x, dir);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| inline(x, dir)),
        _ => {}
    }
}

struct Schemas {
    page: jsonschema::Validator,
    service: jsonschema::Validator,
    service_list: jsonschema::Validator,
    sal: jsonschema::Validator,
    sal_list: jsonschema::Validator,
    taxonomy: jsonschema::Validator,
    term: jsonschema::Validator,
}

fn validator(mut schema: Value, dir: &Path) -> jsonschema::Validator {
    inline(&mut schema, dir);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

impl Schemas {
    fn load(oruk: &Path) -> Schemas {
        let schema = oruk.join("schema");
        let compiled = schema.join("compiled");
        let openapi = read(&schema.join("openapi.json"));
        Schemas {
            page: validator(openapi["components"]["schemas"]["Page"].clone(), &schema),
            service: validator(read(&compiled.join("service.json")), &schema),
            service_list: validator(read(&compiled.join("service_list.json")), &schema),
            sal: validator(read(&compiled.join("service_at_location.json")), &schema),
            sal_list: validator(
                read(&compiled.join("service_at_location_list.json")),
                &schema,
            ),
            taxonomy: validator(read(&schema.join("taxonomy.json")), &schema),
            term: validator(read(&schema.join("taxonomy_term.json")), &schema),
        }
    }
}

fn check(v: &jsonschema::Validator, what: &str, instance: &Value) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks the ORUK schema: {errors:#?}\n{instance:#}"
    );
}

/// Seven services of our own: ages, days, times, places and terms that every
/// filter separates, with UUID ids as the schemas require.
fn fixture() -> Value {
    let uuid = |kind: u32, n: u32| format!("{kind:08x}-0000-4000-8000-{n:012x}");
    let terms = [("Warmth", 1), ("Money", 2), ("Company", 3)];
    let services: Vec<Value> = (1..=7u32)
        .map(|i| {
            let (day, opens, closes) = [("MO,TU", "09:00:00", "17:00:00"), ("WE", "10:00:00", "14:00:00"), ("SA", "09:00:00", "12:00:00")][(i % 3) as usize];
            json!({
                "id": uuid(1, i),
                "organization_id": uuid(2, 1 + i % 2),
                "name": format!("Fixture service {i}"),
                "description": format!("Helps with {}", terms[(i % 3) as usize].0.to_lowercase()),
                "status": "active",
                "email": "help@example.org",
                "url": "https://example.org/help",
                "minimum_age": if i % 2 == 0 { 18 } else { 0 },
                "maximum_age": if i == 7 { 25 } else { 120 },
                "last_modified": format!("2026-0{}-01T10:00:00Z", 1 + i % 9),
                "schedules": [{"id": uuid(3, i), "freq": "WEEKLY", "byday": day, "opens_at": opens, "closes_at": closes}],
                "attributes": [{"id": uuid(4, i), "link_type": "service", "link_id": uuid(1, i), "taxonomy_term_id": uuid(5, terms[(i % 3) as usize].1)}],
                "service_at_locations": [{"id": uuid(6, i), "location": {
                    "id": uuid(7, i), "location_type": "physical", "name": format!("Place {i}"),
                    "latitude": 51.0 + f64::from(i) * 0.05, "longitude": -1.5,
                    "addresses": [{"id": uuid(8, i), "address_1": "1 High Street", "city": "Testshire", "state_province": "Testshire", "postal_code": "TS1 1AA", "country": "GB", "address_type": "physical"}]
                }}]
            })
        })
        .collect();
    json!({
        "organizations": [
            {"id": uuid(2, 1), "name": "Fixture organisation one", "description": "One", "website": "https://one.example.org"},
            {"id": uuid(2, 2), "name": "Fixture organisation two", "description": "Two"}
        ],
        "taxonomies": [{"id": uuid(9, 1), "name": "Fixture needs", "description": "Needs", "version": "1", "uri": "https://example.org/needs"}],
        "taxonomy_terms": terms.iter().map(|(name, n)| json!({"id": uuid(5, *n), "name": name, "description": name, "taxonomy_id": uuid(9, 1), "term": name})).collect::<Vec<_>>(),
        "services": services,
    })
}

async fn import(store: &SqlStore, mocks: &Path) -> usize {
    let mut n = 0;
    for variant in ["V3.0-UK-Default", "V3.0-UK-Test", "V3.0-UK-Warn"] {
        let dir = mocks.join(variant);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("api_details") || name.starts_with("dashboard") {
                continue;
            }
            let feed = Feed::parse(&read(&f)).unwrap_or_else(|e| panic!("{variant}/{name}: {e}"));
            store.put_directory(&feed).await.unwrap();
            n += 1;
        }
    }
    // The failing feed's records are refused, each with the field that fails.
    for name in ["service_full.json", "service_list.json"] {
        let e = Feed::parse(&read(&mocks.join("V3.0-UK-Fail").join(name))).expect_err(name);
        assert!(e.path != "$" && !e.message.is_empty(), "{name}: {e}");
    }
    store
        .put_directory(&Feed::parse(&fixture()).unwrap())
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.put_postcodes(&[PostcodeRecord {
        postcode: "TS1 1AA".into(),
        lsoa11: None,
        lsoa21: None,
        latitude: Some(51.05),
        longitude: Some(-1.5),
    }])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let _ = AreaCode::parse("E01900001");
    n
}

#[test]
fn the_directory_api_conforms_to_open_referral_uk() {
    let Some(shared) = shared_dir("openreferral_conformance") else {
        return;
    };
    let reference = shared.join("reference/openreferral");
    let schemas = Schemas::load(&reference.join("oruk-3.0"));
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers: Vec<(String, u16, usize)> = rt.block_on(async {
        let mut out = Vec::new();
        for store in stores("openreferral", dir.path()).await {
            let n = import(&store, &reference.join("oruk-validator-mocks")).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let backend = store.backend_name().to_owned();
            tokio::spawn(syndemic_web::serve(
                AppState::new(Arc::new(store), "Testshire", None),
                listener,
            ));
            out.push((backend, port, n));
        }
        out
    });
    for (b, port, feeds) in servers {
        let get = |path: &str, origin: bool| {
            let h: &[(&str, &str)] = if origin {
                &[("Origin", "https://example.org")]
            } else {
                &[]
            };
            let r = request(port, "GET", path, h, "");
            assert_eq!(
                r.header("access-control-allow-origin").as_deref(),
                Some("*"),
                "{b} {path}: CORS"
            );
            r
        };
        let ok = |path: &str| {
            let r = get(path, path.len() % 2 == 0);
            assert_eq!(r.status, 200, "{b} {path}: {}", r.body);
            r.json()
        };
        let root = ok("/openreferral/");
        assert_eq!(root["version"], "HSDS-UK-3.0");
        assert_eq!(get("/openreferral/nothing", true).status, 404);
        assert_eq!(get("/openreferral/services?page=0", false).status, 400);
        assert_eq!(get("/openreferral/services?day=someday", false).status, 400);
        assert_eq!(get("/openreferral/services/none", true).status, 404);

        let list = |path: &str, item: &jsonschema::Validator| -> Vec<Value> {
            let page = ok(path);
            check(&schemas.page, &format!("{b} {path} (page)"), &page);
            let items = page["contents"]
                .as_array()
                .unwrap_or_else(|| panic!("{b} {path}: no contents"))
                .clone();
            assert_eq!(page["size"].as_u64(), Some(items.len() as u64));
            for (i, it) in items.iter().enumerate() {
                check(item, &format!("{b} {path} [{i}]"), it);
            }
            items
        };
        // Every page of every list: first, middle and last.
        let all = list("/openreferral/services?per_page=500", &schemas.service_list);
        assert!(
            all.len() >= 8,
            "{b}: {} services from {feeds} feeds",
            all.len()
        );
        let per = 3;
        let pages = all.len().div_ceil(per);
        let mut seen = Vec::new();
        for p in 1..=pages {
            let path = format!("/openreferral/services?per_page={per}&page={p}");
            let page = ok(&path);
            assert_eq!(page["first_page"], json!(p == 1), "{b} {path}");
            assert_eq!(page["last_page"], json!(p == pages), "{b} {path}");
            assert_eq!(page["total_pages"], json!(pages));
            assert_eq!(page["total_items"], json!(all.len()));
            seen.extend(
                list(&path, &schemas.service_list)
                    .into_iter()
                    .map(|s| s["id"].clone()),
            );
        }
        assert_eq!(
            seen,
            all.iter().map(|s| s["id"].clone()).collect::<Vec<_>>(),
            "{b}: pages cover the list once, in order"
        );
        let beyond = ok(&format!(
            "/openreferral/services?per_page={per}&page={}",
            pages + 1
        ));
        assert_eq!(beyond["empty"], true);
        for s in &all {
            let id = s["id"].as_str().unwrap();
            check(
                &schemas.service,
                &format!("{b} service {id}"),
                &ok(&format!("/openreferral/services/{id}")),
            );
        }
        let sals = list(
            "/openreferral/service_at_locations?per_page=500",
            &schemas.sal_list,
        );
        assert!(sals.len() >= 7, "{b}: {} service-at-locations", sals.len());
        for p in [1, 2, sals.len().div_ceil(per)] {
            list(
                &format!("/openreferral/service_at_locations?per_page={per}&page={p}"),
                &schemas.sal_list,
            );
        }
        for s in &sals {
            let id = s["id"].as_str().unwrap();
            check(
                &schemas.sal,
                &format!("{b} service at location {id}"),
                &ok(&format!("/openreferral/service_at_locations/{id}")),
            );
        }
        let taxonomies = list("/openreferral/taxonomies", &schemas.taxonomy);
        for t in &taxonomies {
            check(
                &schemas.taxonomy,
                &format!("{b} taxonomy"),
                &ok(&format!(
                    "/openreferral/taxonomies/{}",
                    t["id"].as_str().unwrap()
                )),
            );
        }
        let terms = list("/openreferral/taxonomy_terms", &schemas.term);
        assert!(terms.len() >= 4, "{b}");
        for t in &terms {
            check(
                &schemas.term,
                &format!("{b} term"),
                &ok(&format!(
                    "/openreferral/taxonomy_terms/{}",
                    t["id"].as_str().unwrap()
                )),
            );
        }
        list("/openreferral/taxonomy_terms?taxonomy_id=00000009-0000-4000-8000-000000000001&per_page=2&page=2", &schemas.term);

        // Every filter: the answer conforms and holds exactly the services it should.
        let ids = |path: &str, schema: &jsonschema::Validator| -> Vec<String> {
            let mut v: Vec<String> = list(path, schema)
                .iter()
                .map(|s| {
                    let id = s["id"].as_str().unwrap();
                    id.rsplit('-')
                        .next()
                        .unwrap()
                        .trim_start_matches('0')
                        .to_owned()
                })
                .collect();
            v.sort();
            v
        };
        let fixture_only =
            |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|s| s.len() == 1).collect() };
        let svc = |q: &str| {
            fixture_only(ids(
                &format!("/openreferral/services?per_page=500&{q}"),
                &schemas.service_list,
            ))
        };
        let term = |n: u32| format!("00000005-0000-4000-8000-{n:012x}");
        assert_eq!(svc("search=fixture+service+3"), ["3"], "{b} search");
        assert_eq!(
            svc("search=MONEY"),
            ["1", "4", "7"],
            "{b} search by description and term"
        );
        assert_eq!(
            svc(&format!("taxonomy_term_id={}", term(1))),
            ["3", "6"],
            "{b} term"
        );
        assert_eq!(
            svc("taxonomy_id=00000009-0000-4000-8000-000000000001").len(),
            7,
            "{b} taxonomy"
        );
        assert_eq!(
            svc("organization_id=00000002-0000-4000-8000-000000000002"),
            ["1", "3", "5", "7"],
            "{b} organisation"
        );
        assert_eq!(
            svc("minimum_age=30"),
            ["1", "2", "3", "4", "5", "6"],
            "{b} minimum age"
        );
        assert_eq!(
            svc("maximum_age=10"),
            ["1", "3", "5", "7"],
            "{b} maximum age"
        );
        assert_eq!(svc("day=WE"), ["1", "4", "7"], "{b} day");
        assert_eq!(
            svc("day=saturday&start_time=09:30"),
            ["2", "5"],
            "{b} day and time"
        );
        assert_eq!(
            svc("start_time=09:00&end_time=16:00"),
            ["3", "6"],
            "{b} times"
        );
        assert_eq!(
            svc("modified_after=2026-07-01T00:00:00Z"),
            ["6", "7"],
            "{b} modified after"
        );
        let near = fixture_only(ids(
            "/openreferral/service_at_locations?per_page=500&postcode=ts11aa&proximity=6000",
            &schemas.sal_list,
        ));
        assert_eq!(near, ["1", "2"], "{b} postcode and proximity");
        assert!(
            list(
                "/openreferral/service_at_locations?postcode=ZZ9+9ZZ",
                &schemas.sal_list
            )
            .is_empty(),
            "{b} unknown postcode"
        );
        assert_eq!(
            get(
                "/openreferral/service_at_locations?postcode=nonsense",
                false
            )
            .status,
            400
        );
        // The same directory as people read it: searchable, paged, readable.
        let page = |path: &str| request(port, "GET", path, &[], "");
        let all_pages = page("/directory");
        assert_eq!(all_pages.status, 200, "{b}");
        let shown = all_pages.body.matches("<section class=\"service\"").count();
        assert!(
            all_pages.body.contains(&format!("Showing 1–{shown} of")) && (1..=20).contains(&shown),
            "{b}: pages of at most 20: {}",
            all_pages.body
        );
        let warmth = page("/directory?q=warmth");
        assert!(
            warmth.body.contains("Fixture service 3")
                && warmth.body.contains("Fixture service 6")
                && !warmth.body.contains("Fixture service 1<"),
            "{b}: services whose description or term says warmth"
        );
        assert!(
            warmth.body.contains("Fixture organisation two"),
            "{b}: who runs it"
        );
        assert!(
            warmth.body.contains("1 High Street, Testshire, TS1 1AA"),
            "{b}: where"
        );
        assert!(
            warmth.body.contains("href=\"mailto:help@example.org\""),
            "{b}: how to reach it"
        );
        assert!(
            !warmth.body.contains("\"organization_id\""),
            "{b}: never raw JSON"
        );
        let near = page("/directory?q=fixture&postcode=ts11aa");
        assert!(
            near.body.contains("Showing 1–2 of 2 services"),
            "{b}: {}",
            near.body
        );
        let bad = page("/directory?postcode=nonsense&q=warm");
        assert!(
            bad.body.contains("id=\"postcode-error\""),
            "{b}: the error beside its field"
        );
        assert!(bad.body.contains("value=\"warm\""), "{b}: the search kept");
        let one = page(&format!(
            "/directory/{}",
            "00000001-0000-4000-8000-000000000007"
        ));
        assert!(
            one.body.contains("aged up to 25"),
            "{b}: who it is for: {}",
            one.body
        );
        assert_eq!(page("/directory/no-such-service").status, 404, "{b}");
        println!("{b}: ORUK conformance: {} services, {} service-at-locations, {} terms from {feeds} mock feeds and the fixture", all.len(), sals.len(), terms.len());
    }
}

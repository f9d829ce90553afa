//! Every page and API route over real HTTP: a server on a random port over a fresh
//! store (SQLite, and PostgreSQL where configured) holding a small place of our
//! own — four LSOAs in a square, one of them a deprived pocket among affluent
//! neighbours — including the 400 and 404 answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use syndemic_model::{AreaCode, Level, Period};
use syndemic_store::{
    Area, AreaLink, Boundary, Deprivation, Disclosure, Indicator, Observation, Polarity,
    Population, SqlStore, Store,
};
use syndemic_testkit::stores;
use syndemic_web::AppState;

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

const LSOAS: [&str; 4] = ["E01900001", "E01900002", "E01900003", "E01900004"];
const DISTRICT: &str = "E07900001";

fn observation(area: &str, year: i32, value: f64) -> Observation {
    Observation {
        indicator: "smoking".into(),
        area: code(area),
        period: Period::Year(year),
        sex: "Persons".into(),
        age: "All ages".into(),
        category_type: String::new(),
        category: String::new(),
        count: Some(value * 10.0),
        denominator: Some(1000.0),
        value: Some(value),
        lower95: Some(value - 1.0),
        upper95: Some(value + 1.0),
        lower998: None,
        upper998: None,
        note: None,
        compared_to_england: Some(if value > 15.0 { "Worse" } else { "Better" }.into()),
        compared_to_parent: Some("Similar".into()),
        recent_trend: Some("No significant change".into()),
    }
}

async fn fill(store: &SqlStore) {
    let mut tx = store.begin().await.unwrap();
    let mut areas: Vec<Area> = LSOAS
        .iter()
        .enumerate()
        .map(|(i, c)| Area {
            code: code(c),
            name: Some(format!("Testshire {:03}A", i + 1)),
            no_known_parent: false,
        })
        .collect();
    areas.push(Area {
        code: code(DISTRICT),
        name: Some("Testshire".into()),
        no_known_parent: false,
    });
    areas.push(Area {
        code: code("E92000001"),
        name: Some("England".into()),
        no_known_parent: false,
    });
    tx.put_areas(&areas).await.unwrap();
    let links: Vec<AreaLink> = LSOAS
        .iter()
        .map(|c| AreaLink {
            child: code(c),
            parent: code(DISTRICT),
            level: Level::LowerTierAuthority,
            vintage: "2024".into(),
        })
        .collect();
    tx.put_links(&links).await.unwrap();
    // A 2 × 2 square: LSOA 1 (decile 1) beside three affluent ones.
    let deciles = [1, 9, 8, 9];
    let deprivation: Vec<Deprivation> = LSOAS
        .iter()
        .zip(deciles)
        .map(|(c, d)| Deprivation {
            area: code(c),
            edition: "IoD2025".into(),
            domain: "imd".into(),
            rank: (d - 1) * 3000 + 10,
            decile: d,
            score: Some(60.0 - 6.0 * d as f64),
        })
        .collect();
    tx.put_deprivation(&deprivation).await.unwrap();
    // An older edition ranking only the first two (its 2011 small areas).
    let older: Vec<Deprivation> = LSOAS[..2]
        .iter()
        .zip([2, 9])
        .map(|(c, d)| Deprivation {
            area: code(c),
            edition: "IoD2019".into(),
            domain: "imd".into(),
            rank: (d - 1) * 3000 + 10,
            decile: d,
            score: None,
        })
        .collect();
    tx.put_deprivation(&older).await.unwrap();
    tx.put_postcodes(&[syndemic_store::PostcodeRecord {
        postcode: "TS1 1AA".into(),
        lsoa11: None,
        lsoa21: Some(AreaCode::parse("E01900001").unwrap()),
        latitude: Some(51.005),
        longitude: Some(-1.495),
    }])
    .await
    .unwrap();
    let square = |x: f64, y: f64| {
        let ring = [
            [x, y],
            [x + 0.01, y],
            [x + 0.01, y + 0.01],
            [x, y + 0.01],
            [x, y],
        ];
        serde_json::json!({ "type": "Polygon", "coordinates": [ring] }).to_string()
    };
    let corners = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.01), (0.01, 0.01)];
    let boundaries: Vec<Boundary> = LSOAS
        .iter()
        .zip(corners)
        .map(|(c, (x, y))| Boundary {
            code: code(c),
            vintage: "LSOA21".into(),
            geometry: square(-1.5 + x, 51.0 + y),
            simplified: square(-1.5 + x, 51.0 + y),
            bbox: [-1.5 + x, 51.0 + y, -1.49 + x, 51.01 + y],
        })
        .collect();
    tx.put_boundaries(&boundaries).await.unwrap();
    let mut pairs = Vec::new();
    for (a, b) in [(0, 1), (0, 2), (1, 3), (2, 3), (0, 3), (1, 2)] {
        pairs.push((code(LSOAS[a]), code(LSOAS[b]), "LSOA21".to_owned()));
        pairs.push((code(LSOAS[b]), code(LSOAS[a]), "LSOA21".to_owned()));
    }
    tx.put_adjacency(&pairs).await.unwrap();
    let people: Vec<Population> = LSOAS
        .iter()
        .map(|c| Population {
            area: code(c),
            period: Period::Year(2024),
            sex: "Persons".into(),
            age: "All ages".into(),
            population: 1500.0,
            source: "test estimates".into(),
        })
        .collect();
    tx.put_populations(&people).await.unwrap();
    let mut indicator = Indicator::named("smoking", "Smoking prevalence in adults");
    indicator.polarity = Some(Polarity::LowerIsBetter);
    indicator.unit = Some("%".into());
    indicator.domain = Some("healthy_places".into());
    indicator.measure_type = Some("proportion".into());
    indicator.multiplier = Some(100.0);
    tx.put_indicator(&indicator).await.unwrap();
    tx.put_indicator(&Indicator::named(
        "smoking.sii",
        "Smoking: slope index of inequality",
    ))
    .await
    .unwrap();
    let mut rows = Vec::new();
    for year in [2023, 2024] {
        for (i, c) in LSOAS.iter().enumerate() {
            rows.push(observation(c, year, 10.0 + 4.0 * i as f64));
        }
        rows.push(observation(DISTRICT, year, 15.0));
        rows.push(observation("E92000001", year, 13.0));
    }
    // The district by local quintile (most deprived first), and its SII.
    for q in 1..=5 {
        rows.push(Observation {
            category_type: "Local IMD quintile".into(),
            category: q.to_string(),
            ..observation(DISTRICT, 2024, 24.0 - 2.0 * q as f64)
        });
    }
    rows.push(Observation {
        indicator: "smoking.sii".into(),
        category_type: "Local IMD quintile".into(),
        count: None,
        denominator: None,
        ..observation(DISTRICT, 2024, -10.0)
    });
    tx.put_observations(&rows).await.unwrap();
    // A rare event with a small-number rule: counts 1–4 are withheld.
    let mut rare = Indicator::named("rare", "A rare event");
    rare.disclosure = Some(Disclosure { min: 1.0, max: 4.0 });
    tx.put_indicator(&rare).await.unwrap();
    let rare_rows: Vec<Observation> = LSOAS
        .iter()
        .zip([3.0, 40.0, 50.0, 60.0])
        .map(|(c, n)| (*c, n))
        .chain([(DISTRICT, 153.0)])
        .map(|(c, n)| Observation {
            indicator: "rare".into(),
            count: Some(n),
            ..observation(c, 2024, n / 10.0)
        })
        .collect();
    tx.put_observations(&rare_rows).await.unwrap();
    tx.commit().await.unwrap();
}

/// One HTTP/1.1 request; (status, headers, body).
fn get(port: u16, path: &str, extra: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let host = if extra.starts_with("Host:") {
        ""
    } else {
        "Host: localhost\r\n"
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\n{host}Connection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn every_page_and_api_route_answers() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers: Vec<(String, u16)> = runtime.block_on(async {
        let mut out = Vec::new();
        for store in stores("web_routes", dir.path()).await {
            fill(&store).await;
            let backend = store.backend_name().to_owned();
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = AppState::new(Arc::new(store), "Testshire", Some("test estimates"));
            tokio::spawn(syndemic_web::serve(state, listener));
            out.push((backend, port));
        }
        out
    });
    for (backend, port) in servers {
        let page = |path: &str, status: u16, needles: &[&str]| {
            let (got, _, body) = get(port, path, "");
            assert_eq!(got, status, "{backend} {path}: {body}");
            for n in needles {
                assert!(body.contains(n), "{backend} {path}: no `{n}` in {body}");
            }
            body
        };
        page(
            "/",
            200,
            &[
                "Testshire at a glance",
                "href=\"/areas/E07900001\"",
                "Smoking prevalence in adults",
                "<main",
            ],
        );
        page("/search?q=testsh", 200, &["E01900003", "E07900001"]);
        page("/search?q=E019", 200, &["Testshire 001A"]);
        page(
            "/search?q=x",
            422,
            &["at least two characters", "value=\"x\""],
        );
        // A postcode finds its small area and the areas above it; an area named
        // exactly lists what lies within it.
        page(
            "/search?q=ts1%201aa",
            200,
            &["Postcode TS1 1AA", "E01900001", "E07900001"],
        );
        page(
            "/search?q=Testshire",
            200,
            &["Showing 1–", "Testshire 001A"],
        );
        let profile = page(
            "/areas/E07900001",
            200,
            &[
                "Testshire",
                "Smoking prevalence in adults",
                "Create and develop healthy",
                "Better",
                "1 (25 %) in England",
            ],
        );
        assert!(profile.contains("Testshire 004A"), "children listed");
        // One edition per page, by the one rule (the one ranking the most), and
        // a switch to the other.
        assert!(
            profile.contains("most deprived fifth (IoD2025)"),
            "{backend}"
        );
        assert!(
            profile.contains("href=\"/areas/E07900001?edition=IoD2019\""),
            "{backend}: the edition switch"
        );
        page(
            "/areas/E07900001?edition=IoD2019",
            200,
            &["2 small areas; 1 (50 %) in England's most deprived fifth (IoD2019)"],
        );
        page(
            "/areas/E07900001?edition=IoD2015",
            400,
            &["give IoD2019 or IoD2025"],
        );
        page(
            "/areas/E01900001",
            200,
            &[
                "IMD 2025 decile: <strong>1</strong>",
                "class=\"spine\"",
                "District: ",
            ],
        );
        page("/areas/E01999999", 404, &["not in the store"]);
        page("/areas/E0190", 400, &["not an area code"]);
        let view = page(
            "/indicators/smoking?area=E07900001",
            200,
            &[
                "class=\"map\"",
                "data-code=\"E01900004\"",
                "Areas within Testshire, ranked",
                "class=\"chart\"",
                "Over time",
            ],
        );
        assert_eq!(
            view.matches("data-code=").count(),
            4,
            "{backend}: one shape per LSOA"
        );
        page("/indicators/smoking", 200, &["England"]);
        page("/indicators/nothing", 404, &["no indicator"]);
        page("/indicators/smoking?area=E0", 400, &["not an area code"]);
        // A period picked, and a benchmark chosen for the ranked areas.
        page(
            "/indicators/smoking?area=E07900001&period=2023",
            200,
            &[
                "option value=\"2023\" selected",
                "Testshire, 2023:",
                "Persons, All ages, 2023",
            ],
        );
        page(
            "/indicators/smoking?area=E07900001&period=1999",
            404,
            &["has values for 2024, 2023"],
        );
        page(
            "/indicators/smoking?area=E07900001&benchmark=england",
            200,
            &[
                "Ranked values, compared with England",
                "option value=\"england\" selected",
            ],
        );
        let (status, _, ranked) = get(
            port,
            "/indicators/smoking/ranked.csv?area=E07900001&benchmark=england&period=2023",
            "",
        );
        assert_eq!(status, 200, "{backend}");
        assert!(
            ranked.contains("Compared with England") && ranked.contains("Worse"),
            "{backend}: {ranked}"
        );
        page(
            "/indicators/smoking?area=E07900001&benchmark=moon",
            400,
            &["give parent, england or region"],
        );
        // A small area is drawn among its neighbourhood's, itself outlined.
        let small = page(
            "/indicators/smoking?area=E01900002",
            200,
            &[
                "among the small areas of",
                "stroke=\"#000000\" stroke-width=\"2.5\" data-code=\"E01900002\"",
            ],
        );
        assert_eq!(
            small.matches("data-code=").count(),
            4,
            "{backend}: the whole neighbourhood"
        );
        // Map classes are stated, and a link skips the map's areas.
        let view = page(
            "/indicators/smoking?area=E07900001",
            200,
            &[
                "Classes are quintiles",
                "href=\"#after-indicator-map\"",
                "id=\"after-indicator-map\"",
            ],
        );
        // Four small areas of 10, 14, 18 and 22: each its own class.
        for class in ["10 to 10", "14 to 14", "18 to 18", "22 to 22"] {
            assert!(view.contains(class), "{backend}: the class {class}");
        }
        let hidden = page(
            "/hidden",
            200,
            &["1 small areas stand out", "Testshire 001A"],
        );
        assert!(!hidden.contains(">Testshire 002A<"));
        page(
            "/hidden?within=E07900001&gap=2&decile=3",
            200,
            &["Testshire 001A"],
        );
        // A value out of range is shown again beside its field, as typed.
        page(
            "/hidden?gap=12",
            422,
            &["from 0 to 9", "id=\"gap-error\"", "value=\"12\""],
        );
        // The area by its name, as the picker takes it.
        page(
            "/hidden?within=Testshire&gap=2&decile=3",
            200,
            &["Testshire 001A"],
        );
        page(
            "/hidden?within=Nowhere",
            422,
            &["id=\"within-error\"", "value=\"Nowhere\""],
        );
        // Neighbours by distance: within 2 km every LSOA neighbours every other.
        page(
            "/hidden?radius_km=2",
            200,
            &["1 small areas stand out", "Testshire 001A"],
        );
        // Within 0.5 km no centre has a neighbour, so nothing stands out.
        page("/hidden?radius_km=0.5", 200, &["0 small areas stand out"]);
        page("/hidden?radius_km=60", 422, &["from 0 to 50"]);
        // One page of one area: no page links; a page past the end is refused.
        let one = page("/hidden?page=1", 200, &["Testshire 001A"]);
        assert!(!one.contains("Next page"), "{backend}");
        page("/hidden?page=2", 400, &["give a page from 1 to 1"]);
        page("/compare", 200, &["Compare two areas", "label for=\"a\""]);
        page(
            "/compare?a=E01900001&b=E01900004",
            200,
            &["Testshire 001A and Testshire 004A", "first lower"],
        );
        page(
            "/compare?a=E01900001&b=E0",
            422,
            &["id=\"b-error\"", "value=\"E0\""],
        );
        page(
            "/compare?a=E01900001&b=E01999999",
            422,
            &["E01999999 is not an area this place holds"],
        );
        // Names and postcodes, as well as codes.
        page(
            "/compare?a=Testshire%20001A&b=TS1%201AA",
            200,
            &["Testshire 001A and Testshire 001A"],
        );
        // The indicator view's charts and their downloads.
        for needle in [
            "class=\"sii-line\"",
            "class=\"series\"",
            "class=\"limit-3s\"",
            "href=\"/indicators/smoking/gradient.svg?area=E07900001\"",
            "href=\"/indicators/smoking/ranked.xlsx?area=E07900001\"",
            "Gap between the most and least deprived groups: <strong>8</strong>",
        ] {
            assert!(
                view.contains(needle),
                "{backend}: no `{needle}` in the view"
            );
        }
        for chart in ["map", "ranked", "gradient", "trend", "funnel"] {
            let (status, head, body) = get(
                port,
                &format!("/indicators/smoking/{chart}.svg?area=E07900001"),
                "",
            );
            assert_eq!(status, 200, "{backend} {chart}: {body}");
            assert!(head
                .to_ascii_lowercase()
                .contains("content-type: image/svg+xml"));
            assert!(
                body.starts_with("<?xml") && body.contains("<svg"),
                "{backend} {chart}"
            );
            assert!(!body.contains("NaN"), "{backend} {chart}");
        }
        let (status, head, csv) = get(port, "/indicators/smoking/gradient.csv?area=E07900001", "");
        assert_eq!(status, 200, "{backend}: {csv}");
        assert!(head
            .to_ascii_lowercase()
            .contains("content-disposition: attachment"));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "Group,Value,95 % limits lower,95 % limits upper,Count,Population"
        );
        assert_eq!(
            lines[1], "1,22,21,23,220,1000",
            "{backend}: full-precision figures"
        );
        assert_eq!(lines.len(), 6);
        let (status, _, ranked) = get(port, "/indicators/smoking/ranked.csv?area=E07900001", "");
        assert_eq!(status, 200);
        assert!(
            ranked
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("Testshire 004A,E01900004,22,"),
            "{backend}: largest first: {ranked}"
        );
        let (status, head, xlsx) = get(port, "/indicators/smoking/trend.xlsx?area=E07900001", "");
        assert_eq!(status, 200);
        assert!(head.contains("spreadsheetml"), "{backend}: {head}");
        assert!(
            xlsx.starts_with("PK"),
            "{backend}: an XLSX is a zip archive"
        );
        page(
            "/indicators/smoking/gradient.png?area=E07900001",
            404,
            &["charts are map.svg"],
        );
        page("/indicators/smoking/map.csv", 404, &["tables are"]);
        page("/indicators/nothing/map.svg", 404, &["no indicator"]);
        page(
            "/indicators/smoking/trend.svg?area=E0",
            400,
            &["not an area code"],
        );
        // The rare indicator has no gradient: its chart is not drawn, and says why.
        page(
            "/indicators/rare/gradient.svg?area=E07900001",
            404,
            &["too few values"],
        );

        // The outreach planner: page, CSV, Excel; bad parameters answer 400.
        let planner = page(
            "/planner?stops=2&radius_km=1&grid_km=0.5",
            200,
            &[
                "Outreach planner",
                "stops</strong> reach",
                "class=\"marker\"",
                "label for=\"sites\"",
            ],
        );
        assert!(
            planner.contains("100 %"),
            "{backend}: two stops reach all four areas: {planner}"
        );
        let (status, _, stops) = get(port, "/planner.csv?stops=1&radius_km=0.5&sites=name%2Clon%2Clat%0APocket%2C-1.495%2C51.005%0AFar%2C-1.3%2C51.3", "");
        assert_eq!(status, 200, "{backend}: {stops}");
        assert!(
            stops.lines().nth(1).unwrap().starts_with("1,Pocket,"),
            "{backend}: {stops}"
        );
        let (status, _, x) = get(port, "/planner.xlsx?stops=1", "");
        assert_eq!(status, 200);
        assert!(x.starts_with("PK"));
        page(
            "/planner?stops=0",
            422,
            &["from 1 to 50", "id=\"stops-error\""],
        );
        page("/planner?radius_km=-1", 422, &["travel radius"]);
        // The grid's spacing is checked even where sites replace the grid.
        page(
            "/planner?grid_km=-0.5&sites=name%2Clon%2Clat%0AA%2C-1.5%2C51",
            422,
            &["id=\"grid_km-error\""],
        );
        // Pasted sites with an error come back in the form, as pasted.
        page(
            "/planner?stops=3&sites=name%2Clon%2Clat%0AA%2Cwest%2C51",
            422,
            &[
                "line 2, column `lon`",
                "id=\"sites-error\"",
                "A,west,51</textarea>",
                "value=\"3\"",
            ],
        );
        page("/planner?indicator=nothing", 404, &["no indicator"]);
        // A valid request with nothing to plan for: no small area has the indicator.
        page(
            "/planner?indicator=smoking.sii",
            404,
            &["no small area has"],
        );
        page(
            "/planner?within=E0",
            422,
            &["id=\"within-error\"", "value=\"E0\""],
        );

        // The place report, printable, and as PDF where Chromium is installed.
        let report = page(
            "/report/E07900001",
            200,
            &[
                "Testshire: place report",
                "The gaps between the most and least deprived",
                "Smoking prevalence in adults",
                "class=\"sii-line\"",
                "Hidden pockets",
                "Testshire 001A E01900001",
                "<style>",
            ],
        );
        assert!(
            !report.contains("/assets/site.css"),
            "the report prints from a file"
        );
        assert!(report.contains("href=\"/report/E07900001/gaps.xlsx\""));
        let (status, _, gaps) = get(port, "/report/E07900001/gaps.csv", "");
        assert_eq!(status, 200, "{backend}: {gaps}");
        assert!(
            gaps.lines()
                .nth(1)
                .unwrap()
                .starts_with("Smoking prevalence in adults,2024,Local IMD quintile,22,14,8,-10,"),
            "{backend}: {gaps}"
        );
        let (status, _, x) = get(port, "/report/E07900001/pockets.xlsx", "");
        assert_eq!(status, 200);
        assert!(x.starts_with("PK"));
        page(
            "/report/E07900001/other.csv",
            404,
            &["give gaps, flagged or pockets"],
        );
        page("/report/E01999999", 404, &["not in the store"]);
        page("/report/E0", 400, &["not an area code"]);
        let (status, head, body) = get(port, "/report/E07900001.pdf", "");
        match status {
            200 => {
                assert!(head.contains("application/pdf"));
                assert!(body.starts_with("%PDF"), "{backend}: a PDF");
            }
            503 => assert!(body.contains("PDF needs headless Chromium"), "{body}"),
            other => panic!("{backend}: the PDF answered {other}: {body}"),
        }
        let profile_links = page("/areas/E07900001", 200, &["href=\"/report/E07900001\""]);
        assert!(profile_links.contains("Outreach planner"));

        // The API's documentation page, drawn from the OpenAPI document.
        page(
            "/api/v1/docs",
            200,
            &[
                "Open data API",
                "GET /api/v1/areas",
                "Parameters of outreachPlan",
                "one of json, csv",
            ],
        );
        // The other pages' tables download too.
        let (status, _, csv) = get(port, "/areas/E07900001/indicators.csv", "");
        assert_eq!(status, 200, "{backend}: {csv}");
        assert!(
            csv.starts_with("Indicator,Policy objective,Period,Value,95 % limits lower"),
            "{csv}"
        );
        assert!(
            csv.contains("Smoking prevalence in adults,Create and develop healthy"),
            "{csv}"
        );
        let (status, _, csv) = get(port, "/areas/E07900001/deprivation.csv", "");
        assert_eq!(status, 200);
        assert_eq!(
            csv.lines().nth(1),
            Some("1,1"),
            "{backend}: one small area in decile 1"
        );
        let (status, _, x) = get(port, "/areas/E07900001/indicators.xlsx", "");
        assert_eq!(status, 200);
        assert!(x.starts_with("PK"));
        page(
            "/areas/E07900001/indicators.pdf",
            404,
            &["give indicators.csv"],
        );
        page("/areas/E0/indicators.csv", 400, &["not an area code"]);
        assert!(profile.contains("href=\"/areas/E07900001/indicators.xlsx\""));
        let (status, _, csv) = get(port, "/hidden.csv", "");
        assert_eq!(status, 200);
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("Testshire 001A,E01900001,1,"),
            "{csv}"
        );
        let (status, _, x) = get(port, "/hidden.xlsx?gap=2", "");
        assert_eq!(status, 200);
        assert!(x.starts_with("PK"));
        page("/hidden.csv?gap=12", 400, &["from 0 to 9"]);
        let (status, _, csv) = get(port, "/compare.csv?a=E01900001&b=E01900004", "");
        assert_eq!(status, 200, "{csv}");
        assert!(
            csv.starts_with("Indicator,Testshire 001A,Testshire 001A 95 % limits lower"),
            "{csv}"
        );
        assert!(csv.contains(",first lower"), "{csv}");
        let (status, _, x) = get(port, "/compare.xlsx?a=E01900001&b=E01900004", "");
        assert_eq!(status, 200);
        assert!(x.starts_with("PK"));
        page("/compare.csv?a=E01900001", 400, &["give two areas"]);
        // The other charts as SVG: a spine chart, the finder's and the planner's maps.
        for path in [
            "/areas/E01900002/spine-smoking.svg",
            "/hidden.svg?gap=2",
            "/planner.svg?stops=2&radius_km=1&grid_km=0.5",
        ] {
            let (status, head, body) = get(port, path, "");
            assert_eq!(status, 200, "{backend} {path}: {body}");
            assert!(head.contains("image/svg+xml"), "{backend} {path}");
            assert!(
                body.starts_with("<?xml") && body.contains("</svg>"),
                "{backend} {path}"
            );
        }
        let (_, _, lsoa) = get(port, "/areas/E01900002", "");
        assert!(lsoa.contains("href=\"/areas/E01900002/spine-smoking.svg\""));
        // A district alone of its kind has no peers, so no spine chart to download.
        assert!(!profile.contains("spine-smoking.svg"));
        page(
            "/areas/E07900001/spine-smoking.svg",
            404,
            &["too few peers"],
        );
        page(
            "/areas/E07900001/spine-nothing.svg",
            404,
            &["has no value of `nothing`"],
        );
        page("/nowhere", 404, &["There is no page here"]);
        // Compression for clients that ask for it, and none for those that do not.
        let (status, head, _) = get(port, "/areas/E07900001", "Accept-Encoding: gzip\r\n");
        assert_eq!(status, 200);
        assert!(
            head.to_ascii_lowercase().contains("content-encoding: gzip"),
            "{backend}: {head}"
        );
        let (_, head, _) = get(port, "/areas/E07900001", "");
        assert!(
            !head.to_ascii_lowercase().contains("content-encoding"),
            "{backend}: {head}"
        );
        let (status, head, _) = get(port, "/assets/site.css", "");
        assert_eq!(status, 200);
        assert!(head.to_ascii_lowercase().contains("content-type: text/css"));

        // The API: envelopes, 400/404 with messages, ETags.
        let json = |path: &str, status: u16| -> serde_json::Value {
            let (got, _, body) = get(port, path, "");
            assert_eq!(got, status, "{backend} {path}: {body}");
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{backend} {path}: {e}: {body}"))
        };
        let areas = json("/api/v1/areas?type=lsoa&per_page=3", 200);
        assert_eq!(areas["total_items"], 4);
        assert_eq!(areas["total_pages"], 2);
        assert_eq!(areas["contents"].as_array().unwrap().len(), 3);
        assert_eq!(areas["first_page"], true);
        assert_eq!(
            json("/api/v1/areas?type=lsoa&page=2&per_page=3", 200)["last_page"],
            true
        );
        assert_eq!(json("/api/v1/areas", 200)["size"], 50);
        assert!(json("/api/v1/areas?type=parish", 400)["error"]
            .as_str()
            .unwrap()
            .contains("give one of"));
        assert!(json("/api/v1/areas?page=0", 400)["error"]
            .as_str()
            .unwrap()
            .contains("from 1"));
        let area = json("/api/v1/areas/E01900001", 200);
        assert_eq!(area["name"], "Testshire 001A");
        let editions = area["deprivation"].as_array().unwrap();
        assert!(
            editions
                .iter()
                .any(|d| d["edition"] == "IoD2025" && d["decile"] == 1),
            "{area}"
        );
        json("/api/v1/areas/E01999999", 404);
        json("/api/v1/areas/nonsense", 400);
        let indicators = json("/api/v1/indicators", 200);
        assert_eq!(indicators["contents"][1]["id"], "smoking");
        let types = &indicators["contents"][1]["area_types"];
        assert!(
            types.as_array().unwrap().iter().any(|t| t == "lsoa"),
            "{types}"
        );
        let data = json(
            "/api/v1/indicators/smoking/data?area_type=lsoa&parent=E07900001",
            200,
        );
        assert_eq!(data["total_items"], 8);
        json("/api/v1/indicators/nothing/data", 404);
        let (status, head, csv) = get(
            port,
            "/api/v1/indicators/smoking/data?area_type=lsoa&format=csv",
            "",
        );
        assert_eq!(status, 200, "{backend}: {csv}");
        assert!(head.to_ascii_lowercase().contains("content-type: text/csv"));
        assert_eq!(
            csv.lines().count(),
            9,
            "{backend}: a header and 8 rows: {csv}"
        );
        assert!(csv.lines().next().unwrap().contains("value"));
        json("/api/v1/areas?format=xml", 400);
        json("/api/v1/indicators/smoking/data?area_type=town", 400);
        // Disclosure control on the API: the count of 3 is withheld, and so is the
        // smallest of its siblings, or it could be worked out from the district's.
        let rare = json("/api/v1/indicators/rare/data?area_type=lsoa", 200);
        let withheld: Vec<&str> = rare["contents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["value"].is_null() && o["count"].is_null())
            .map(|o| o["area"].as_str().unwrap())
            .collect();
        assert_eq!(withheld, ["E01900001", "E01900002"], "{backend}: {rare}");
        let (_, _, page) = get(port, "/indicators/rare?area=E07900001", "");
        assert!(
            page.contains("Testshire 001A E01900001: no value"),
            "{backend}: the withheld cell is drawn without a value"
        );
        let types = json("/api/v1/area-types", 200);
        assert_eq!(types["total_items"], 17);
        assert!(
            types["contents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["key"] == "lsoa" && t["areas"] == 4 && t["prefix"] == "E01"),
            "{types}"
        );
        let inequality = json("/api/v1/indicators/smoking/inequality?area=E07900001", 200);
        assert_eq!(inequality["total_items"], 1, "{backend}: {inequality}");
        assert_eq!(inequality["contents"][0]["measure"], "sii");
        assert_eq!(inequality["contents"][0]["value"], -10.0);
        json("/api/v1/indicators/nothing/inequality", 404);
        json("/api/v1/indicators/smoking.sii/inequality", 404);
        json("/api/v1/indicators/smoking/inequality?area=E0", 400);
        let plan = json("/api/v1/planner?stops=1&radius_km=0.5&grid_km=0.5", 200);
        assert_eq!(
            plan["stops"].as_array().unwrap().len(),
            1,
            "{backend}: {plan}"
        );
        assert_eq!(plan["small_areas"], 4);
        // The pocket (decile 1, weight 1) outweighs any one affluent area (weight 0.2 or 0.3).
        assert!(
            plan["stops"][0]["need_covered"].as_f64().unwrap() >= 1500.0,
            "{plan}"
        );
        json("/api/v1/planner?stops=51", 400);
        let hidden = json("/api/v1/hidden", 200);
        assert_eq!(hidden["contents"][0]["area"], "E01900001");
        json("/api/v1/hidden?decile=11", 400);
        assert_eq!(
            json("/api/v1/hidden?radius_km=2", 200)["contents"][0]["area"],
            "E01900001"
        );
        json("/api/v1/hidden?radius_km=-1", 400);
        json("/api/v1/hidden?radius_km=far", 400);
        json("/api/v1/nothing", 404);
        let openapi = json("/api/v1/openapi.json", 200);
        assert_eq!(openapi["openapi"], "3.1.0");
        // ETags: the same answer again is "not modified".
        let (_, head, _) = get(port, "/api/v1/areas/E01900001", "");
        let tag = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("etag:")
                    .then(|| l[5..].trim().to_owned())
            })
            .expect("an ETag");
        let (status, _, _) = get(
            port,
            "/api/v1/areas/E01900001",
            &format!("If-None-Match: {tag}\r\n"),
        );
        assert_eq!(status, 304, "{backend}");
        // Every answer carries the security headers; public pages may be kept.
        for path in [
            "/",
            "/areas/E07900001",
            "/api/v1/areas",
            "/nothing",
            "/assets/site.css",
        ] {
            let (_, head, _) = get(port, path, "");
            let head = head.to_ascii_lowercase();
            for h in [
                "content-security-policy: default-src 'self'; script-src 'none';",
                "frame-ancestors 'none'",
                "x-frame-options: deny",
                "referrer-policy: same-origin",
                "x-content-type-options: nosniff",
            ] {
                assert!(head.contains(h), "{backend} {path}: no `{h}` in\n{head}");
            }
            assert!(!head.contains("no-store"), "{backend} {path}: public");
        }
    }
}

/// One server on SQLite over the small place, its state shaped by `shape`; the
/// runtime it runs on, and its port.
fn one_server(
    test: &str,
    dir: &std::path::Path,
    shape: impl FnOnce(AppState) -> AppState,
) -> (tokio::runtime::Runtime, u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = runtime.block_on(async {
        let store = stores(test, dir).await.remove(0);
        fill(&store).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = shape(AppState::new(
            Arc::new(store),
            "Testshire",
            Some("test estimates"),
        ));
        tokio::spawn(syndemic_web::serve(state, listener));
        port
    });
    (runtime, port)
}

/// Twenty anonymous requests at once for one report's PDF: one Chromium prints it,
/// never two at a time; a few requests wait for it and the rest are told to come
/// back (503, `Retry-After`); the other pages answer within a second meanwhile; the
/// PDF printed is kept, and asked for again is not printed again. The browser is a
/// script that takes Chromium's flags, so the test counts what runs.
#[test]
fn pdfs_are_printed_one_at_a_time_and_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let browser = dir.path().join("fake-chromium");
    let log = dir.path().join("log");
    std::fs::create_dir(&log).unwrap();
    std::fs::write(
        &browser,
        format!(
            r#"#!/bin/sh
log={}
mkdir "$log/running" 2>/dev/null || echo overlap >> "$log/overlaps"
echo start >> "$log/starts"
sleep 1
for a in "$@"; do case "$a" in --print-to-pdf=*) printf '%%PDF-1.4 fake' > "${{a#--print-to-pdf=}}";; esac; done
rmdir "$log/running"
"#,
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_runtime, port) = one_server("web_pdf_printer", dir.path(), |state| {
        state.with_pdf_browser(browser.clone())
    });
    assert_eq!(get(port, "/", "").0, 200);
    let asks: Vec<_> = (0..20)
        .map(|_| std::thread::spawn(move || get(port, "/report/E07900001.pdf", "")))
        .collect();
    // Meanwhile the other pages answer.
    std::thread::sleep(std::time::Duration::from_millis(300));
    for path in ["/", "/areas/E07900001", "/api/v1/areas/E01900001"] {
        let started = std::time::Instant::now();
        assert_eq!(get(port, path, "").0, 200, "{path}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{path} took {:?} while PDFs printed",
            started.elapsed()
        );
    }
    let answers: Vec<(u16, String, String)> = asks.into_iter().map(|t| t.join().unwrap()).collect();
    let printed = answers.iter().filter(|a| a.0 == 200).count();
    let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert_eq!(printed + busy.len(), 20, "{answers:?}");
    assert!(
        (1..=5).contains(&printed),
        "one printing and at most four waiting: {printed}"
    );
    assert!(answers
        .iter()
        .filter(|a| a.0 == 200)
        .all(|a| a.2.starts_with("%PDF")));
    assert!(busy
        .iter()
        .all(|a| a.1.to_ascii_lowercase().contains("retry-after: 30")));
    assert!(!log.join("overlaps").exists(), "two Chromiums at once");
    let starts = || {
        std::fs::read_to_string(log.join("starts"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(starts(), 1, "the report printed once");
    // Asked for again: kept.
    let (status, _, body) = get(port, "/report/E07900001.pdf", "");
    assert_eq!((status, body.starts_with("%PDF")), (200, true));
    assert_eq!(starts(), 1, "kept, not printed again");
}

/// Two thousand connections from one client that never say a word: no more than
/// `PER_CLIENT` are held, each only until the header deadline; another client is
/// answered at once meanwhile, and every silent connection is closed soon after
/// the deadline.
#[test]
fn silent_connections_are_closed_and_others_still_answered() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let (runtime, port) = one_server("web_silent_connections", dir.path(), |state| state);
    let started = std::time::Instant::now();
    // The silent client is 127.0.0.2 (the whole of 127/8 is this machine).
    let mut silent = runtime.block_on(async {
        let mut out = Vec::new();
        for _ in 0..2_000 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
            out.push(
                socket
                    .connect(format!("127.0.0.1:{port}").parse().unwrap())
                    .await
                    .unwrap(),
            );
        }
        out
    });
    // Another client is answered at once.
    let asked = std::time::Instant::now();
    assert_eq!(get(port, "/", "").0, 200);
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // Every silent connection is closed by the header deadline (and a little).
    let deadline = std::time::Duration::from_secs(syndemic_web::HEADER_SECONDS + 5);
    let closed = runtime.block_on(async {
        let mut closed = 0;
        for stream in &mut silent {
            let left = deadline.saturating_sub(started.elapsed());
            let mut byte = [0u8; 1];
            match tokio::time::timeout(left, stream.read(&mut byte)).await {
                Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
                Ok(Ok(_)) | Err(_) => {}
            }
        }
        closed
    });
    assert_eq!(closed, 2_000, "silent connections left open");
    assert_eq!(get(port, "/", "").0, 200);
}

/// [`get`] from another client of this machine (any address of 127/8).
fn get_from(source: &str, port: u16, path: &str) -> (u16, String, String) {
    let stream = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
            socket
                .connect(format!("127.0.0.1:{port}").parse().unwrap())
                .await
                .unwrap()
                .into_std()
                .unwrap()
        });
    stream.set_nonblocking(false).unwrap();
    let mut stream = stream;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// The expensive open routes have a rate per client: past it, one client is told
/// to wait (429 with `Retry-After`) while another is answered; cheap pages are
/// never throttled.
#[test]
fn expensive_open_routes_are_throttled_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let (_runtime, port) = one_server("web_throttle", dir.path(), |state| state);
    for path in ["/planner", "/hidden"] {
        for i in 0..60 {
            let (status, _, _) = get_from("127.0.0.3", port, path);
            assert_ne!(status, 429, "{path}: request {i} is within the rate");
        }
        let (status, head, body) = get_from("127.0.0.3", port, path);
        assert_eq!(status, 429, "{path}: {body}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1"),
            "{head}"
        );
        assert!(body.contains("try again in"), "{body}");
        assert_ne!(
            get_from("127.0.0.4", port, path).0,
            429,
            "{path}: another client"
        );
    }
    for _ in 0..100 {
        assert_eq!(
            get_from("127.0.0.3", port, "/").0,
            200,
            "the home page is cheap"
        );
    }
}

/// Cookies are `Secure` when the configured public address is HTTPS, whatever
/// `Host` a client sends; without one, never.
#[test]
fn the_secure_flag_follows_the_configured_address_not_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (_runtime, port) = one_server("web_secure_cookie", dir.path(), |state| {
        state.with_security(
            syndemic_web::Security::new(
                Some("https://health.example.gov.uk".into()),
                syndemic_access::seal::SealKey::random().unwrap(),
                Vec::new(),
            )
            .unwrap(),
        )
    });
    let (status, head, _) = get(port, "/login", "");
    assert_eq!(status, 200);
    let cookie = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: syndemic_login=")
        })
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let (_runtime2, plain) = one_server("web_plain_cookie", dir.path(), |state| state);
    let (_, head, _) = get(plain, "/login", "Host: health.example.gov.uk\r\n");
    assert!(
        !head.contains("Secure"),
        "a Host header decides nothing: {head}"
    );
}

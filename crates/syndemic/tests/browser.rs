//! The demo in a real headless Chromium, driven over the WebDriver protocol
//! (chromedriver): home → district profile → indicator → map; one map shape per
//! small area of the district; the charts drawn; the page walked by keyboard; axe-core
//! run on each page with no WCAG 2.2 A/AA violation; screenshots saved to a folder
//! whose path the test prints.
//!
//! Needs `chromium` and `chromedriver` on the path and axe-core's `axe.min.js` at
//! `SYNDEMIC_AXE_JS`; without them the test says it was skipped, by name — unless
//! `SYNDEMIC_REQUIRE_BROWSER=1` (as `.ci/run` sets), when their absence fails it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange; the JSON body of the answer.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    // Read the head, then exactly the body it announces (chromedriver keeps the
    // connection open), or to the end, or the chunks of a chunked body.
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut body = Vec::new();
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        stream.read_exact(&mut body).ok()?;
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).ok()?;
        let mut at = 0;
        while let Some(end) = rest[at..].windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[at..at + end]).ok()?.trim(), 16)
                    .ok()?;
            if size == 0 {
                break;
            }
            let start = at + end + 2;
            body.extend_from_slice(rest.get(start..start + size)?);
            at = start + size + 2;
        }
    } else {
        stream.read_to_end(&mut body).ok()?;
    }
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

struct Browser {
    port: u16,
    session: String,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, text) =
            http(self.port, method, &path, body.as_ref()).expect("chromedriver answers");
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        assert_eq!(status, 200, "{path}: {json}");
        json["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn tab(&self) -> Value {
        self.call(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                { "type": "keyDown", "value": "\u{E004}" }, { "type": "keyUp", "value": "\u{E004}" } ] }] })),
        );
        self.script("const e = document.activeElement; return e ? (e.getAttribute('href') || e.id || e.tagName) : null;")
    }

    /// Clicks the element a CSS selector finds (as a person would: WebDriver's
    /// own click), then waits for the page it leads to.
    fn click(&self, selector: &str) {
        let before = self.script("return location.href + '#' + performance.timeOrigin;");
        let found = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": selector })),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no `{selector}`"))
            .to_owned();
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
        wait_for(selector, || {
            self.script("return document.readyState === 'complete' ? location.href + '#' + performance.timeOrigin : null;")
                .as_str()
                .is_some_and(|now| Some(now) != before.as_str())
        });
    }

    /// Fills form fields by id: text, or `true` to tick a box or choose a radio button.
    fn fill(&self, fields: &[(&str, &str)]) {
        for (id, value) in fields {
            let set = if *value == "true" {
                "e.checked = true;".to_owned()
            } else {
                format!("e.value = {};", json!(value))
            };
            let ok = self.script(&format!(
                "const e = document.getElementById({}); if (!e) return false; {set} return true;",
                json!(id)
            ));
            assert_eq!(ok, json!(true), "no field #{id}");
        }
    }

    /// Types text into the focused element, key by key, as a person would.
    fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        self.call(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        );
    }

    /// Presses Enter in a form's field, and waits for the page its form leads to.
    fn enter_to_next_page(&self) {
        let before = self.script("return location.href + '#' + performance.timeOrigin;");
        self.call(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                { "type": "keyDown", "value": "\u{E007}" }, { "type": "keyUp", "value": "\u{E007}" } ] }] })),
        );
        wait_for("the form's answer", || {
            self.script("return document.readyState === 'complete' ? location.href + '#' + performance.timeOrigin : null;")
                .as_str()
                .is_some_and(|now| Some(now) != before.as_str())
        });
    }

    /// Presses Enter on the focused element (a link within the page).
    fn enter(&self) {
        self.call(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                { "type": "keyDown", "value": "\u{E007}" }, { "type": "keyUp", "value": "\u{E007}" } ] }] })),
        );
        wait_for("the page after Enter", || {
            self.script("return document.readyState === 'complete';") == json!(true)
        });
    }

    fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn screenshot(&self, dir: &std::path::Path, name: &str) {
        let data = self.call("GET", "/screenshot", None);
        let bytes = base64(data.as_str().expect("base64 text"));
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// axe-core's WCAG 2.0–2.2 A and AA rules on the open page: the violations.
    fn axe(&self, source: &str) -> Vec<String> {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": format!("{source}\nreturn true;"), "args": [] })),
        );
        let found = self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": "const done = arguments[arguments.length - 1]; axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }).then(r => done(r.violations.map(v => v.id + ' (' + v.nodes.length + '): ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))));", "args": [] })),
        );
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

/// The open page at a desk's width and at a phone's 390 px: screenshots of both,
/// axe-core's findings, and the document no wider than the viewport at 390 px.
fn check_narrow(
    browser: &Browser,
    shots: &std::path::Path,
    name: &str,
    violations: &mut Vec<String>,
    axe_source: &str,
) {
    browser.screenshot(shots, name);
    violations.extend(
        browser
            .axe(axe_source)
            .into_iter()
            .map(|v| format!("{name}: {v}")),
    );
    browser.call(
        "POST",
        "/window/rect",
        Some(json!({ "width": 390, "height": 844 })),
    );
    // Measured only once the page is laid out at the narrow width (else the
    // desktop layout would pass for the phone's).
    wait_for("the page at 390 px", || {
        browser.script("return window.innerWidth <= 400;") == json!(true)
    });
    let wide = browser.script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
    );
    browser.screenshot(shots, &format!("{name}-390px"));
    browser.call(
        "POST",
        "/window/rect",
        Some(json!({ "width": 1280, "height": 1600 })),
    );
    assert_eq!(wide, json!(true), "{name}: wider than the screen at 390 px");
}

/// Responses held by the demo's survey, read by the command line beside the
/// running server.
fn survey_responses(db: &std::path::Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_syndemic"))
        .args(["survey", "list", "--db"])
        .arg(db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let at = text
        .find("hartmoor-voices")
        .unwrap_or_else(|| panic!("{text}"));
    let rest = &text[at..];
    let open = rest.find('(').unwrap() + 1;
    rest[open..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A resident answers the survey in a browser with JavaScript switched off,
/// by keyboard only: the session proves first that no script runs in it, then
/// reads the result through WebDriver's own title and the store.
fn survey_without_script(driver_port: u16, base: &str, db: &std::path::Path) {
    let (_, created) = http(
        driver_port,
        "POST",
        "/session",
        Some(&json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--window-size=390,844"],
            "prefs": { "profile.managed_default_content_settings.javascript": 2 } } } } })),
    )
    .unwrap();
    let created: Value = serde_json::from_str(&created).unwrap();
    let plain = Browser {
        port: driver_port,
        session: created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned(),
    };
    let press = |keys: &[&str]| {
        let mut actions = Vec::new();
        for k in keys {
            actions.push(json!({ "type": "keyDown", "value": k }));
            actions.push(json!({ "type": "keyUp", "value": k }));
        }
        plain.call(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        );
    };
    plain.open("data:text/html,<title>before</title><script>document.title='script ran'</script>");
    assert_eq!(
        plain.call("GET", "/title", None),
        json!("before"),
        "JavaScript is off in this session"
    );
    // A postcode of the demo's directory.
    let postcode = (1..=5)
        .map(|d| format!("HM{d} 0AD"))
        .find(|p| {
            Command::new(env!("CARGO_BIN_EXE_syndemic"))
                .args(["areas", "postcode", p, "--db"])
                .arg(db)
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("a demo postcode");
    let before = survey_responses(db);
    // From the safety question: Tab to its first answer, Space to choose it,
    // Shift+Tab back to the postcode, type it, Enter to send.
    plain.open(&format!("{base}/surveys/hartmoor-voices#q-feel_safe-field"));
    press(&["\u{E004}", " "]);
    plain.call(
        "POST",
        "/actions",
        Some(
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
        { "type": "keyDown", "value": "\u{E008}" }, { "type": "keyDown", "value": "\u{E004}" },
        { "type": "keyUp", "value": "\u{E004}" }, { "type": "keyUp", "value": "\u{E008}" } ] }] }),
        ),
    );
    let chars: Vec<String> = postcode.chars().map(String::from).collect();
    press(&chars.iter().map(String::as_str).collect::<Vec<_>>());
    press(&["\u{E007}"]);
    wait_for("the survey's thanks", || {
        plain
            .call("GET", "/title", None)
            .as_str()
            .is_some_and(|t| t.starts_with("Thank you"))
    });
    assert_eq!(
        survey_responses(db),
        before + 1,
        "the answer sent without script is kept"
    );
    plain.call("DELETE", "", None);
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_demo_in_a_real_browser() {
    let name = "the_demo_in_a_real_browser";
    let required = std::env::var("SYNDEMIC_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let axe_path = std::env::var("SYNDEMIC_AXE_JS").ok().map(PathBuf::from);
    let missing: Vec<&str> = [
        (!on_path("chromium")).then_some("chromium"),
        (!on_path("chromedriver")).then_some("chromedriver"),
        (!axe_path.as_ref().is_some_and(|p| p.exists())).then_some("axe-core (SYNDEMIC_AXE_JS)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        assert!(
            !required,
            "{name}: SYNDEMIC_REQUIRE_BROWSER=1 but missing: {}",
            missing.join(", ")
        );
        eprintln!("skipped: {name}: missing {}", missing.join(", "));
        return;
    }
    let axe_source = std::fs::read_to_string(axe_path.unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shots = std::env::var("SYNDEMIC_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("syndemic-screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    println!("{name}: screenshots in {}", shots.display());

    let web = free_port();
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_syndemic"))
            .args(["demo", "--quiet", "--port", &web.to_string(), "--db"])
            .arg(dir.path().join("demo.db"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the demo", || {
        http(web, "GET", "/", None).is_some_and(|(s, _)| s == 200)
    });
    let driver_port = free_port();
    let _driver = Killed(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("chromedriver", || {
        http(driver_port, "GET", "/status", None).is_some()
    });
    let (_, created) = http(
        driver_port,
        "POST",
        "/session",
        Some(&json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--window-size=1280,1600"] } } } })),
    )
    .unwrap();
    let created: Value = serde_json::from_str(&created).unwrap();
    let browser = Browser {
        port: driver_port,
        session: created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned(),
    };
    let base = format!("http://127.0.0.1:{web}");

    // Home, then by its own links to a district's profile and an indicator.
    let mut violations = Vec::new();
    browser.open(&format!("{base}/"));
    check_narrow(&browser, &shots, "home", &mut violations, &axe_source);
    browser.open(&format!("{base}/"));
    // Keyboard: the first Tab reaches the skip link, then the site's links in order.
    assert_eq!(browser.tab(), json!("#main"), "the skip link comes first");
    assert_eq!(browser.tab(), json!("/"));
    let district = browser.script(
        "return document.querySelector('a[href=\"/areas/E07900001\"]').getAttribute('href');",
    );
    browser.open(&format!("{base}{}", district.as_str().unwrap()));
    check_narrow(&browser, &shots, "profile", &mut violations, &axe_source);
    let indicator = browser.script("return document.querySelector('table.profile a[href^=\"/indicators/\"]').getAttribute('href');");
    let indicator = indicator
        .as_str()
        .expect("an indicator link on the profile")
        .to_owned();
    browser.open(&format!("{base}{indicator}"));
    check_narrow(&browser, &shots, "indicator", &mut violations, &axe_source);
    // One shape per small area of the district, each drawn with a size, each a link.
    let mut lsoas: Vec<String> = Vec::new();
    for page in 1.. {
        let path = format!("/api/v1/indicators/u75_mortality/data?area_type=lsoa&parent=E07900001&per_page=1000&page={page}");
        let (_, answer) = http(web, "GET", &path, None).unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        lsoas.extend(
            answer["contents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["area"].as_str().unwrap().to_owned()),
        );
        if answer["last_page"] == json!(true) {
            break;
        }
    }
    lsoas.sort_unstable();
    lsoas.dedup();
    let shapes = browser.script("return Array.from(document.querySelectorAll('svg.map path')).filter(p => { const b = p.getBBox(); return b.width > 0 && b.height > 0; }).map(p => p.dataset.code);");
    let mut drawn: Vec<String> = shapes
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    drawn.sort_unstable();
    assert_eq!(drawn, lsoas, "one drawn shape per LSOA of the district");
    let bars = browser.script("return document.querySelectorAll('svg.chart rect').length;");
    assert!(
        bars.as_u64().unwrap() >= 5,
        "the ranked chart has bars: {bars}"
    );
    // The map's shapes are links that the keyboard reaches.
    let mut reached_map = false;
    for _ in 0..40 {
        let focused = browser.tab();
        if focused
            .as_str()
            .is_some_and(|h| h.starts_with("/areas/E019"))
        {
            reached_map = true;
            break;
        }
    }
    assert!(reached_map, "Tab reaches the map's areas");
    // The indicator's other charts render with real size: the gradient with its SII
    // line, the trend, and (for a rate) the funnel.
    let drawn = |selector: &str| -> bool {
        browser
            .script(&format!("const e = document.querySelector('{selector}'); if (!e) return false; const b = e.getBBox(); return b.width > 0 || b.height > 0;"))
            .as_bool()
            .unwrap_or(false)
    };
    for selector in ["line.sii-line", "path.series", "path.limit-3s"] {
        assert!(drawn(selector), "{indicator}: `{selector}` is drawn");
    }
    // …and a keyboard user skips all of them in one step: the map's first stop
    // is a link past it.
    browser.open(&format!("{base}{indicator}"));
    let mut at_skip = false;
    for _ in 0..40 {
        if browser.tab() == json!("#after-indicator-map") {
            at_skip = true;
            break;
        }
    }
    assert!(at_skip, "Tab reaches the link that skips the map");
    browser.enter();
    let after = browser.tab();
    // Zoom without script: the map doubles in width inside its own box, which
    // scrolls to pan.
    let width = |b: &Browser| {
        b.script("return document.querySelector('svg.map').getBoundingClientRect().width;")
            .as_f64()
            .unwrap()
    };
    let whole = width(&browser);
    browser.script("document.querySelector('a[href=\"#indicator-map-2x\"]').click();");
    let zoomed = width(&browser);
    let pans = browser
        .script("const p = document.querySelector('.pan'); return p.scrollWidth > p.clientWidth;");
    assert!(
        zoomed > whole * 1.5 && pans == json!(true),
        "zoomed from {whole} to {zoomed} px, pans: {pans}"
    );
    assert!(
        !after.as_str().is_some_and(|h| h.starts_with("/areas/E01")),
        "after skipping the map the next stop is past its areas, not {after}"
    );

    // The analyst compares two areas by typing their names, keyboard only:
    // the picker takes names (and suggests them from its list).
    browser.open(&format!("{base}/compare"));
    let suggested =
        browser.script("return document.querySelectorAll('datalist#area-names option').length;");
    assert!(
        suggested.as_u64().unwrap() >= 5,
        "names are suggested: {suggested}"
    );
    browser.script("document.getElementById('a').focus();");
    browser.keys("Hartford");
    assert_eq!(browser.tab(), json!("b"), "Tab moves to the second area");
    browser.keys("Hartmoor");
    browser.enter_to_next_page();
    let compared = browser.text();
    assert!(
        compared.contains("Hartford and Hartmoor"),
        "the two areas by name: {compared}"
    );
    violations.extend(browser.axe(&axe_source));
    // A name the place does not hold comes back beside its field, as typed.
    browser.open(&format!("{base}/compare?a=Hartford&b=Nowhere"));
    check_narrow(
        &browser,
        &shots,
        "compare-error",
        &mut violations,
        &axe_source,
    );
    let kept = browser.script("return document.getElementById('b').value + '|' + document.getElementById('a').value + '|' + !!document.getElementById('b-error');");
    assert_eq!(
        kept,
        json!("Nowhere|Hartford|true"),
        "the error beside the field, everything typed kept"
    );
    violations.extend(browser.axe(&axe_source));

    browser.open(&format!("{base}/hidden"));
    check_narrow(&browser, &shots, "hidden", &mut violations, &axe_source);
    for (name, path) in [
        (
            "planner",
            "/planner?stops=4&radius_km=4&grid_km=3".to_owned(),
        ),
        (
            "report",
            format!(
                "/report/{}",
                district.as_str().unwrap().trim_start_matches("/areas/")
            ),
        ),
        ("api-docs", "/api/v1/docs".to_owned()),
    ] {
        browser.open(&format!("{base}{path}"));
        check_narrow(&browser, &shots, name, &mut violations, &axe_source);
    }
    browser.open(&format!("{base}/planner?stops=4&radius_km=4&grid_km=3"));
    let markers = browser.script("return document.querySelectorAll('svg.map g.marker').length;");
    assert_eq!(markers, json!(4), "four stops on the planner's map");
    // The place report prints to PDF through the same Chromium.
    let (status, _) = http(
        web,
        "GET",
        &format!(
            "/report/{}.pdf",
            district.as_str().unwrap().trim_start_matches("/areas/")
        ),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "the report as PDF");
    // The county's report shows its gaps between its own most and least deprived
    // fifths, one row per indicator computed by deprivation.
    let (status, report) = http(web, "GET", "/report/E10900001", None).unwrap();
    assert_eq!(status, 200, "the county's report");
    assert!(
        report.contains("The gap between the most and least deprived in Hartmoor")
            && !report.contains("No indicator has been computed by deprivation group"),
        "the county's report has its gaps"
    );
    let (status, gaps) = http(web, "GET", "/report/E10900001/gaps.csv", None).unwrap();
    assert_eq!(status, 200, "the county's gaps as CSV");
    let rows: Vec<&str> = gaps
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        rows.len() >= 4 && rows.iter().all(|r| r.to_lowercase().contains("quintile")),
        "the county's gaps by its quintiles: {gaps}"
    );

    // The referral hub: a GP's referrer completes the front door's form…
    let password = "hartmoor demo 2026";
    let sign_in = |user: &str| {
        browser.open(&format!("{base}/login"));
        browser.fill(&[("user_name", user), ("password", password)]);
        browser.click("form[action='/login'] button[type=submit]");
        assert!(
            browser.text().contains("Signed in as"),
            "{user} signed in: {}",
            browser.text()
        );
    };
    sign_in("gp.referrer");
    browser.open(&format!("{base}/refer"));
    check_narrow(&browser, &shots, "refer", &mut violations, &axe_source);
    browser.fill(&[
        ("given_name", "Winifred"),
        ("family_name", "Browser-Test"),
        ("date_of_birth", "1941-02-03"),
        ("nhs_number", "943 476 5919"),
        ("phone", "01632 960123"),
        ("address", "3 Quarry Row"),
        ("need-cold-home", "true"),
        ("need-respiratory", "true"),
        ("urgency-soon", "true"),
        ("note", "Bedroom very cold; uses a nebuliser"),
        ("consent_given_by", "Winifred"),
        ("consent_method", "verbal"),
    ]);
    browser.click("form[action='/refer'] button[type=submit]");
    let sent = browser.text();
    assert!(
        sent.contains("Referral sent"),
        "the referral was taken: {sent}"
    );
    assert!(
        sent.contains("Received by the hub"),
        "the referrer sees what has happened: {sent}"
    );
    check_narrow(
        &browser,
        &shots,
        "referral-sent",
        &mut violations,
        &axe_source,
    );
    let case_path = browser
        .script("return location.pathname;")
        .as_str()
        .unwrap()
        .replace("/referrals/", "/hub/cases/");
    // The service directory reads as a page, not as JSON.
    browser.open(&format!("{base}/directory?q=warm"));
    assert!(
        browser.text().contains("Who it is for") || browser.text().contains("What it does"),
        "the directory reads as a page: {}",
        browser.text()
    );
    check_narrow(&browser, &shots, "directory", &mut violations, &axe_source);
    browser.open(&format!("{base}/hub"));
    browser.click("form[action='/logout'] button");
    // …the coordinator triages it to a service, the case is worked and closed with an outcome…
    sign_in("coordinator");
    browser.open(&format!("{base}{case_path}"));
    assert!(
        browser.text().contains("Winifred Browser-Test"),
        "the coordinator sees the case"
    );
    check_narrow(&browser, &shots, "case", &mut violations, &axe_source);
    browser.fill(&[("svc-0", "true")]);
    browser.click("input[value=route] ~ button[type=submit]");
    for to in ["contacted", "in-progress"] {
        browser.fill(&[("to", to), ("status-reason", "Spoke to Winifred")]);
        browser.click("input[value=status] ~ button[type=submit]");
    }
    browser.fill(&[("code", "money-saved"), ("value", "420")]);
    browser.click("input[value=outcome] ~ button[type=submit]");
    browser.fill(&[("to", "closed"), ("status-reason", "Heating repaired")]);
    browser.click("input[value=status] ~ button[type=submit]");
    let closed = browser.text();
    assert!(
        closed.contains("Closed") && closed.contains("Money saved per year (£): 420"),
        "the case is closed with its outcome: {closed}"
    );
    assert!(
        closed.contains("The status is changed."),
        "each change is confirmed on the page: {closed}"
    );
    // The caseload: the coordinator finds the case among the demo's 600 by a few
    // letters of the name (a search sent in the form's body), at a desk and at a
    // phone's 390 px, where the page never scrolls sideways.
    browser.open(&format!("{base}/hub/cases"));
    assert!(
        browser.text().contains("Showing 1–25 of"),
        "the caseload pages: {}",
        browser.text()
    );
    browser.fill(&[("q", "winif brow")]);
    browser.click("form[action='/hub/cases'] button[type=submit]");
    let found = browser.text();
    assert!(
        found.contains("Showing 1–1 of 1 matching cases")
            && found.contains("Winifred Browser-Test"),
        "the search finds the case: {found}"
    );
    check_narrow(&browser, &shots, "caseload", &mut violations, &axe_source);
    // …and the report counts it: the demo's year of referrals and this one.
    browser.open(&format!("{base}/hub/reports"));
    check_narrow(&browser, &shots, "reports", &mut violations, &axe_source);
    assert!(
        browser
            .text()
            .contains("The catchment is Hartmoor (E10900001)"),
        "the demo's reach per 1,000 residents by decile: {}",
        browser.text()
    );
    assert!(
        browser
            .text()
            .contains("Wellbeing: mean change from the start of a case to its close"),
        "the paired wellbeing table: {}",
        browser.text()
    );
    let report = browser
        .script("return document.querySelector('table').innerText;")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        report.contains("Referrals\t601"),
        "the report counts the new referral: {report}"
    );
    // The referrer is told in the app what became of the referral, and chooses
    // what is e-mailed.
    browser.open(&format!("{base}/hub"));
    browser.click("form[action='/logout'] button");
    sign_in("gp.referrer");
    browser.open(&format!("{base}/notifications"));
    assert!(
        browser
            .text()
            .contains("A referral you made was accepted by a service."),
        "the referrer's notifications: {}",
        browser.text()
    );
    check_narrow(
        &browser,
        &shots,
        "notifications",
        &mut violations,
        &axe_source,
    );
    browser.open(&format!("{base}/account"));
    check_narrow(&browser, &shots, "account", &mut violations, &axe_source);
    // The partnership: the lead walks partnership → plan → commitment, reports
    // progress, records the board's review, and opens the printable report.
    browser.open(&format!("{base}/hub"));
    browser.click("form[action='/logout'] button");
    sign_in("partnership.lead");
    let mut check_page = |name: &str| {
        check_narrow(&browser, &shots, name, &mut violations, &axe_source);
    };
    browser.open(&format!("{base}/partnerships"));
    check_page("partnerships");
    browser.click("a[href='/partnerships/hartmoor-hwb']");
    assert!(
        browser.text().contains("Scorecard"),
        "the board's scorecard: {}",
        browser.text()
    );
    assert_eq!(
        browser.tab(),
        json!("#main"),
        "the skip link comes first on the partnership page"
    );
    check_page("partnership");
    browser.click("a[href='/plans/hartmoor-marmot-plan']");
    check_page("plan");
    browser.call(
        "POST",
        "/window/rect",
        Some(json!({ "width": 390, "height": 844 })),
    );
    wait_for("the plan at 390 px", || {
        browser.script("return window.innerWidth <= 400;") == json!(true)
    });
    let plan_fits = browser.script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
    );
    browser.screenshot(&shots, "plan-390px");
    browser.call(
        "POST",
        "/window/rect",
        Some(json!({ "width": 1280, "height": 1600 })),
    );
    assert_eq!(plan_fits, json!(true), "the plan is no wider than 390 px");
    browser.click("table a[href^='/commitments/']");
    let commitment = browser.text();
    assert!(
        commitment.contains("Against its indicator")
            && commitment.contains("Baseline")
            && !commitment.contains("has no values"),
        "the commitment judged against its indicator: {commitment}"
    );
    // Aimed at the county's most deprived fifth, it is measured on those areas:
    // its latest value is the engine's for that group of target areas.
    assert!(
        commitment.contains("Its target areas, measured as one group"),
        "measured on its target areas: {commitment}"
    );
    let indicator = browser
        .script("return document.querySelector('dl.facts a[href^=\"/indicators/\"]').getAttribute('href').split('/')[2];")
        .as_str()
        .unwrap()
        .to_owned();
    let mut engine: Option<(i64, f64)> = None;
    for page in 1.. {
        let path = format!(
            "/api/v1/indicators/{indicator}/data?area_type=county&per_page=1000&page={page}"
        );
        let (_, answer) = http(web, "GET", &path, None).unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        for o in answer["contents"].as_array().unwrap() {
            if o["area"] == json!("E10900001")
                && o["category_type"] == json!("Target areas")
                && o["category"] == json!("local-quintile:E10900001:1")
                && o["sex"] == json!("Persons")
            {
                let year: i64 = o["period"].as_str().unwrap()[..4].parse().unwrap();
                let value = o["value"].as_f64().unwrap();
                if engine.is_none_or(|(y, _)| year > y) {
                    engine = Some((year, value));
                }
            }
        }
        if answer["last_page"] == json!(true) {
            break;
        }
    }
    let (year, value) = engine.expect("the engine measured the target areas");
    let latest = browser
        .script("const dt = Array.from(document.querySelectorAll('dl.facts dt')).find(d => d.textContent === 'Latest'); return dt.nextElementSibling.textContent;")
        .as_str()
        .unwrap()
        .to_owned();
    let shown: f64 = latest
        .split(' ')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(
        (shown - value).abs() <= 0.005 * value.abs().max(1.0)
            && latest.contains(&format!("({year})")),
        "the page's latest value {latest} is the engine's {value} ({year})"
    );
    assert!(
        browser.script("return !!document.querySelector('svg path.measured, svg circle');")
            == json!(true),
        "the trajectory chart with the measured values"
    );
    check_page("commitment");
    browser.fill(&[
        ("u-status", "at-risk"),
        (
            "u-narrative",
            "Browser test: two health visitors recruited, starting in January.",
        ),
    ]);
    browser.click("form[action$='/updates'] button[type=submit]");
    assert!(
        browser
            .text()
            .contains("Browser test: two health visitors recruited"),
        "the update is on the commitment's timeline"
    );
    browser.script(
        "const d = new Date(); document.getElementById('r-on').value = d.toISOString().slice(0, 10); \
         d.setDate(d.getDate() + 91); document.getElementById('r-next').value = d.toISOString().slice(0, 10); return true;",
    );
    browser.fill(&[
        ("r-amber", "true"),
        (
            "r-actions",
            "Browser test: the board asks for a recovery plan by March.",
        ),
    ]);
    browser.click("form[action$='/reviews'] button[type=submit]");
    assert!(
        browser
            .text()
            .contains("Browser test: the board asks for a recovery plan"),
        "the review is recorded: {}",
        browser.text()
    );
    browser.open(&format!("{base}/partnerships/hartmoor-hwb/report"));
    let report = browser.text();
    assert!(
        report.contains("Browser test: two health visitors recruited")
            && report.contains("Browser test: the board asks for a recovery plan"),
        "the printable report carries the update and the review: {report}"
    );
    assert_eq!(
        browser.script("return [...document.styleSheets].some(s => [...s.cssRules].some(r => r.media && r.media.mediaText === 'print'));"),
        json!(true),
        "the report has print styles"
    );
    check_page("accountability-report");

    // Residents' voices: the survey form, its errors, and the team's pages
    // (the partnership lead runs surveys), each checked by axe-core.
    browser.open(&format!("{base}/surveys/hartmoor-voices"));
    check_page("survey");
    browser.click("form[action='/surveys/hartmoor-voices'] button[type=submit]");
    assert!(
        browser.text().contains("There is a problem"),
        "an empty answer is shown its problems: {}",
        browser.text()
    );
    check_page("survey-errors");
    browser.open(&format!("{base}/surveys/hartmoor-voices/manage"));
    assert!(
        browser.text().contains("Paper, entered by staff") && browser.text().contains("Chi-square"),
        "who answered, against who lives here: {}",
        browser.text()
    );
    check_page("survey-manage");
    browser.open(&format!("{base}/surveys/hartmoor-voices/comments"));
    check_page("survey-comments");
    browser.open(&format!(
        "{base}/plans/hartmoor-marmot-plan/you-said-we-did"
    ));
    assert!(
        browser
            .text()
            .contains("Light and staff the routes residents said feel unsafe")
            && browser.text().contains("Residents who answered"),
        "you said, we did: {}",
        browser.text()
    );
    check_page("you-said-we-did");
    // What matters here: a theme chosen, then a click on the map drops the pin
    // (the click's coordinates turned back into a point inside the place).
    browser.open(&format!("{base}/surveys/hartmoor-voices/matters"));
    check_page("what-matters-here");
    browser.fill(&[
        ("theme-2", "true"),
        ("comment", "Browser test: the lane by the school is dark"),
    ]);
    browser.click("input[type=image][name=pin]");
    assert!(
        browser.text().contains("Your pin is counted in its ward"),
        "a pin dropped by a click on the map: {}",
        browser.text()
    );
    browser.open(&format!("{base}/surveys/hartmoor-voices/matters/comments"));
    assert!(
        browser
            .text()
            .contains("Browser test: the lane by the school is dark"),
        "the lead moderates it"
    );
    check_page("what-matters-comments");
    // Community places: the old town's profile, and a new place defined by two
    // clicks on the map (each adds the small area under it to the list).
    browser.open(&format!("{base}/community-places"));
    assert!(
        browser.text().contains("Saltmouth old town"),
        "the demo's community place: {}",
        browser.text()
    );
    check_page("community-places");
    browser.click("a[href^='/areas/E99']");
    assert!(
        browser
            .text()
            .contains("Defined by its community as 12 small areas"),
        "its profile: {}",
        browser.text()
    );
    browser.open(&format!("{base}/community-places/new"));
    check_page("community-place-define");
    browser.fill(&[("name", "Browser test hamlet")]);
    browser.click("input[type=image][name=pick]");
    assert!(
        browser.text().contains("to the list."),
        "a click adds a small area: {}",
        browser.text()
    );
    browser.click("button[name=define]");
    assert!(
        browser.text().contains("Browser test hamlet")
            && browser
                .text()
                .contains("Defined by its community as 1 small area (chosen on the map)"),
        "the place defined on the map: {}",
        browser.text()
    );
    // Community assets: the map and its table.
    browser.open(&format!("{base}/community-assets"));
    assert!(
        browser.text().contains("Quay Hall") && browser.text().contains("36 community assets"),
        "the demo's assets: {}",
        browser.text()
    );
    check_page("community-assets");
    browser.call("DELETE", "", None);
    survey_without_script(driver_port, &base, &dir.path().join("demo.db"));
    assert!(
        violations.is_empty(),
        "axe-core WCAG 2.2 A/AA violations:\n{}",
        violations.join("\n")
    );
}

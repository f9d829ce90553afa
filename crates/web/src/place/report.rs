//! The place report (`/report/{code}`): what a health and wellbeing board reads —
//! the area's deprivation, the headline gaps between its most and least deprived,
//! the deprivation gradient of its leading indicator, the indicators worse than
//! England or getting worse, and the hidden pockets of deprivation. One printable
//! page (its style sheet inline, so it prints the same from a file), and as PDF
//! (`/report/{code}.pdf`) through headless Chromium's print where the server has it:
//! printed once per area and version of the report ([`Printer`]), one Chromium at a
//! time, a few requests waiting, the rest told to come back (503, `Retry-After`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use rustc_hash::FxHashMap;
use syndemic_model::AreaType;
use syndemic_stats::compare::Comparison;
use syndemic_store::{Indicator, Observation};

use crate::place::pages::{latest_of_sex, sexes_shown};
use crate::shell::charts;
use crate::shell::svg::fmt;
use crate::shell::table::{Cell, DataTable, Download};
use crate::{parse_code, AppState, WebError};
use syndemic_place::{small_areas_within, HiddenOptions};

/// One indicator's part of the report.
struct Line {
    indicator: Indicator,
    latest: Observation,
    england: Option<f64>,
    /// Most and least deprived groups' values, the grouping's name.
    gap: Option<(f64, f64, String)>,
    sii: Option<Observation>,
    gradient: Vec<Observation>,
}

/// Reads what the report needs of every indicator.
async fn lines(state: &AppState, code: syndemic_model::AreaCode) -> Result<Vec<Line>, WebError> {
    let mut out = Vec::new();
    for indicator in state.db.indicators().await? {
        if indicator.id.contains('.') {
            continue;
        }
        let all = state.observations_for_area(&indicator.id, code).await?;
        // A line per sex where the indicator has no Persons value here (life
        // expectancy), as the profile shows it.
        for sex in sexes_shown(all.iter().filter(|o| o.area == code)) {
            let Some(latest) = latest_of_sex(all.iter().filter(|o| o.area == code), &sex).cloned()
            else {
                continue;
            };
            // England in the same period (never a later year's value).
            let england = all
                .iter()
                .find(|o| {
                    o.area.as_str() == "E92000001"
                        && o.period == latest.period
                        && o.sex == latest.sex
                        && o.category.is_empty()
                })
                .and_then(|o| o.value);
            let mut gradient: Vec<Observation> = all
                .iter()
                .filter(|o| {
                    o.area == code
                        && o.period == latest.period
                        && o.sex == sex
                        && o.is_deprivation_group()
                })
                .cloned()
                .collect();
            gradient.sort_by_key(|o| o.category.parse::<u32>().unwrap_or(0));
            let gap = match (gradient.first(), gradient.last()) {
                (Some(a), Some(b)) if gradient.len() > 1 => {
                    Some((a.value, b.value, a.category_type.clone()))
                }
                _ => None,
            }
            .and_then(|(a, b, t)| Some((a?, b?, t)));
            let sii = state
                .observations_for_area(&format!("{}.sii", indicator.id), code)
                .await?
                .iter()
                .find(|o| o.area == code && o.period == latest.period && o.sex == sex)
                .cloned();
            let mut shown = indicator.clone();
            if sex != "Persons" {
                shown.name = format!("{} ({sex})", indicator.name);
            }
            // Residents' evidence is labelled as such, with its sample, in every table.
            if indicator.is_residents_evidence() {
                let sample = latest.denominator.map_or_else(|| "–".into(), fmt);
                shown.name = format!("{} (residents' evidence, a sample of {sample})", shown.name);
            }
            out.push(Line {
                indicator: shown,
                latest,
                england,
                gap,
                sii,
                gradient,
            });
        }
    }
    Ok(out)
}

/// The indicator view of a line's series in the area.
fn view_link(l: &Line, code: syndemic_model::AreaCode) -> String {
    let sex = if l.latest.sex == "Persons" {
        String::new()
    } else {
        format!(
            "&{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("sex", &l.latest.sex)
                .finish()
        )
    };
    format!("/indicators/{}?area={code}{sex}", l.indicator.id)
}

fn worse(o: &Observation) -> bool {
    o.compared_to_england
        .as_deref()
        .and_then(Comparison::from_wording)
        .is_some_and(|c| c == Comparison::Worse)
}

fn getting_worse(o: &Observation) -> bool {
    o.recent_trend
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("getting worse"))
}

/// The report's HTML.
/// The report's HTML, and its tables by name (for their downloads).
async fn render(
    state: &AppState,
    code_text: &str,
) -> Result<(String, Vec<(&'static str, DataTable)>), WebError> {
    let code = parse_code(code_text)?;
    let store = state.db.as_ref();
    let Some(info) = store.area(code).await? else {
        return Err(WebError::NotFound(format!(
            "{code} is not in the store: search for an area from the home page"
        )));
    };
    let name = info.area.name.clone().unwrap_or_else(|| code.to_string());
    let lines = lines(state, code).await?;
    // Deprivation: the small areas by national decile.
    let small = small_areas_within(store, code).await?;
    let (ranked, most_deprived_fifth, edition) =
        match syndemic_place::edition::ranked(store, &small).await? {
            Some((e, rows)) => (
                rows.len(),
                rows.iter().filter(|d| d.decile <= 2).count(),
                e.to_string(),
            ),
            None => (0, 0, String::new()),
        };
    let hidden = state
        .find_hidden(
            (code.area_type() != AreaType::England).then_some(code),
            HiddenOptions::default(),
            syndemic_place::Neighbours::Adjacent,
        )
        .await?;
    let mut hidden_names = Vec::new();
    for h in hidden.iter().take(20) {
        hidden_names.push(store.area(h.area).await?.and_then(|a| a.area.name));
    }

    let mut gaps = DataTable::new(
        format!("The gap between the most and least deprived in {name}"),
        &[
            "Indicator",
            "Period",
            "Grouping",
            "Most deprived",
            "Least deprived",
            "Gap",
            "Slope index of inequality",
            "SII 95 % limits",
        ],
    );
    let mut with_gaps: Vec<&Line> = lines.iter().filter(|l| l.gap.is_some()).collect();
    // Widest relative gaps first.
    with_gaps.sort_by(|a, b| {
        let rel = |l: &Line| {
            l.gap
                .as_ref()
                .map_or(0.0, |(m, n, _)| ((m - n) / n.abs().max(1e-9)).abs())
        };
        rel(b).total_cmp(&rel(a))
    });
    for l in &with_gaps {
        let Some((most, least, grouping)) = &l.gap else {
            continue;
        };
        gaps.push(vec![
            Cell::Link {
                text: l.indicator.name.clone(),
                href: view_link(l, code),
            },
            Cell::text(l.latest.period.to_string()),
            Cell::text(grouping.clone()),
            Cell::Number(Some(*most)),
            Cell::Number(Some(*least)),
            Cell::Number(Some((most - least).abs())),
            Cell::Number(l.sii.as_ref().and_then(|s| s.value)),
            Cell::Range(
                l.sii.as_ref().and_then(|s| s.lower95),
                l.sii.as_ref().and_then(|s| s.upper95),
            ),
        ]);
    }
    let mut flagged = DataTable::new(
        format!("Indicators where {name} is worse than England or getting worse"),
        &[
            "Indicator",
            "Period",
            "Value",
            "95 % limits",
            "England",
            "Compared with England",
            "Recent trend",
        ],
    );
    for l in lines
        .iter()
        .filter(|l| worse(&l.latest) || getting_worse(&l.latest))
    {
        let o = &l.latest;
        flagged.push(vec![
            Cell::Link {
                text: l.indicator.name.clone(),
                href: view_link(l, code),
            },
            Cell::text(o.period.to_string()),
            Cell::Number(o.value),
            Cell::Range(o.lower95, o.upper95),
            Cell::Number(l.england),
            Cell::text(o.compared_to_england.clone().unwrap_or_default()),
            Cell::text(o.recent_trend.clone().unwrap_or_default()),
        ]);
    }
    // The leading gradient: life expectancy where there is one, else the widest gap.
    let lead = with_gaps
        .iter()
        .find(|l| l.indicator.measure_type.as_deref() == Some("life-expectancy"))
        .or_else(|| with_gaps.first())
        .copied();
    let lead_chart = lead.and_then(|l| {
        let first = l.gradient.first()?;
        let title = format!(
            "{} in {} by {} (1 = most deprived), {}",
            l.indicator.name, name, first.category_type, l.latest.period
        );
        charts::gradient_of(&l.gradient, &title).map(|chart| (l, chart))
    });
    let mut pockets = DataTable::new(
        format!("Hidden pockets: small areas of {name} far more deprived than their neighbours"),
        &[
            "Area",
            "National decile",
            "Neighbours' average decile",
            "Deciles apart",
        ],
    );
    for (h, n) in hidden.iter().zip(&hidden_names) {
        pockets.push(vec![
            Cell::Link {
                text: format!("{} {}", n.clone().unwrap_or_default(), h.area),
                href: format!("/areas/{}", h.area),
            },
            Cell::Number(Some(h.decile as f64)),
            Cell::Number(Some(h.neighbours_decile)),
            Cell::Number(Some(h.gap)),
        ]);
    }
    let n_worse = lines.iter().filter(|l| worse(&l.latest)).count();
    let n_getting_worse = lines.iter().filter(|l| getting_worse(&l.latest)).count();
    let title = format!("{name}: place report");
    let download = |table: &str| Download {
        path: format!("/report/{code}/{table}"),
        query: String::new(),
    };
    let body: Markup = html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (state.place) " — syndemic" }
                style { (PreEscaped(include_str!("../../assets/site.css"))) }
            }
            body class="report" {
                a class="skip" href="#main" { "Skip to content" }
                header { nav aria-label="Site" { a href="/" { strong { (state.place) } " place intelligence" } a href=(format!("/areas/{code}")) { "Profile of " (name) } a href=(format!("/report/{code}.pdf")) { "This report as PDF" } } }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    p class="lead" { (code.area_type().label()) " " span class="code" { (code.as_str()) } ". " (lines.len()) " indicators: " (n_worse) " worse than England, " (n_getting_worse) " getting worse." }
                    h2 { "Summary" }
                    ul {
                        @if ranked > 0 {
                            li { (most_deprived_fifth) " of " (ranked) " small areas (" (fmt(100.0 * most_deprived_fifth as f64 / ranked as f64)) " %) are in England's most deprived fifth (" (edition) ")." }
                        }
                        @if let Some(l) = with_gaps.first() {
                            @if let Some((m, n, g)) = &l.gap {
                                li { "The widest gap: " (l.indicator.name) ", " (fmt(*m)) " in the most deprived against " (fmt(*n)) " in the least (" (g) ")." }
                            }
                        }
                        li { (hidden.len()) " small areas are hidden pockets of deprivation among less deprived neighbours." }
                    }
                    h2 { "The gaps between the most and least deprived" }
                    @if gaps.rows.is_empty() { p { "No indicator has been computed by deprivation group for this area." } }
                    @else { (gaps.html(Some(&download("gaps")))) }
                    @if let Some((l, chart)) = &lead_chart {
                        h2 { "The deprivation gradient: " (l.indicator.name) }
                        figure { (chart) figcaption { "Bars: each group's value as wide as its share of the population; dashed red line: the slope index of inequality's fitted line; bracket: the gap. The table above gives the figures." } }
                    }
                    h2 { "Worse than England, or getting worse" }
                    @if flagged.rows.is_empty() { p { "No indicator is worse than England or getting worse." } }
                    @else { (flagged.html(Some(&download("flagged")))) }
                    h2 { "Hidden pockets of deprivation" }
                    @if pockets.rows.is_empty() { p { "No small area stands out from its neighbours at the default thresholds (3 deciles apart, national decile 3 or below)." } }
                    @else { (pockets.html(Some(&download("pockets")))) }
                    p { "Figures: the evidence store of " (state.place) ", with 95 % confidence limits; small numbers withheld under each indicator's disclosure rule. Comparisons with England use the intervals and each indicator's polarity; recent trends test the last five periods." }
                }
            }
        }
    };
    Ok((
        body.into_string(),
        vec![("gaps", gaps), ("flagged", flagged), ("pockets", pockets)],
    ))
}

/// `/report/{code}/{table}.csv|xlsx`: one of the report's tables — `gaps`,
/// `flagged` (worse than England or getting worse) or `pockets`.
pub async fn report_table(
    State(state): State<AppState>,
    Path((code, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let unknown = || {
        WebError::NotFound(format!(
            "no download `{file}`: give gaps, flagged or pockets, as .csv or .xlsx"
        ))
    };
    let (name, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
    if !matches!(ext, "csv" | "xlsx") {
        return Err(unknown());
    }
    let (_, tables) = render(&state, &code).await?;
    let (_, table) = tables
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(unknown)?;
    table.respond(ext, &format!("report-{code}-{name}"))
}

pub async fn report(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    if let Some(code) = file.strip_suffix(".pdf") {
        // The report's HTML as the page serves it (kept like the page), so that a
        // PDF is printed again only when the report would read differently.
        let html = state
            .kept_html(format!("report {code}"), async {
                Ok(Html(render(&state, code).await?.0))
            })
            .await?;
        let pdf = state.printer.pdf(code, html).await;
        return Ok(match pdf {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"report-{code}.pdf\""),
                    ),
                ],
                bytes,
            )
                .into_response(),
            Err(Refused::Busy) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "30")],
                crate::shell::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "The PDF printer is busy with other reports: try again in half a minute. The HTML report at /report/{code} prints the same from any browser."
                    ),
                ),
            )
                .into_response(),
            Err(Refused::Failed(why)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                crate::shell::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "{why} The HTML report at /report/{code} prints the same from any browser."
                    ),
                ),
            )
                .into_response(),
        });
    }
    // Kept like the profile (`AppState::cached_page`): the report reads every
    // indicator, the deprivation of every small area and the hidden pockets.
    let rendered = async { Ok(Html(render(&state, &file).await?.0)) };
    state
        .cached_page(format!("report {file}"), &headers, rendered)
        .await
}

/// The browser that prints PDFs: `SYNDEMIC_CHROMIUM`, or the first of
/// `chromium`, `chromium-browser`, `google-chrome` on the `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SYNDEMIC_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Why no PDF was given.
pub(crate) enum Refused {
    /// The printer is printing and enough requests wait for it already.
    Busy,
    /// Chromium is missing, failed or ran out of time: what to tell the reader.
    Failed(String),
}

/// Requests that may wait for the printer; more are refused (503) at once.
const MOST_WAITING: usize = 4;
/// Reports kept as PDF; the oldest is dropped past this.
const MOST_KEPT: usize = 64;
/// How long Chromium may take over one report before it is stopped.
const PRINT_SECONDS: u64 = 60;

/// The one PDF printer of a server: at most one Chromium runs at a time, at most
/// [`MOST_WAITING`] requests wait for it, and each report is printed once per
/// version of its HTML (a digest of it), then served from memory. A hostile client
/// asking for many PDFs at once costs one Chromium and a few waiting tasks.
pub struct Printer {
    /// The browser, when not found on the `PATH` ([`chromium`]).
    browser: Option<PathBuf>,
    gate: Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    /// Area → (digest of the HTML printed, when last served, the PDF).
    kept: tokio::sync::Mutex<FxHashMap<String, (u64, Instant, Bytes)>>,
}

impl Default for Printer {
    fn default() -> Printer {
        Printer::with_browser(None)
    }
}

impl Printer {
    /// A printer using `browser` (a Chromium, or anything that takes its flags and
    /// writes `--print-to-pdf`), or the one [`chromium`] finds.
    pub fn with_browser(browser: Option<PathBuf>) -> Printer {
        Printer {
            browser,
            gate: Arc::new(tokio::sync::Semaphore::new(1)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            kept: tokio::sync::Mutex::new(FxHashMap::default()),
        }
    }
}

/// Takes a place in the printer's queue, and gives it back when dropped.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Printer {
    /// The PDF of `html`, the report of `area`: kept, or printed now.
    pub(crate) async fn pdf(&self, area: &str, html: Bytes) -> Result<Bytes, Refused> {
        use std::hash::Hasher;
        let digest = {
            let mut h = rustc_hash::FxHasher::default();
            h.write(&html);
            h.finish()
        };
        if let Some(pdf) = self.kept(area, digest).await {
            return Ok(pdf);
        }
        use std::sync::atomic::Ordering::SeqCst;
        if self.waiting.fetch_add(1, SeqCst) >= MOST_WAITING {
            self.waiting.fetch_sub(1, SeqCst);
            return Err(Refused::Busy);
        }
        let place = Waiting(&self.waiting);
        let permit = self
            .gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Refused::Failed(format!("the PDF printer stopped: {e}.")))?;
        drop(place);
        // Printed by whoever held the printer before us?
        if let Some(pdf) = self.kept(area, digest).await {
            return Ok(pdf);
        }
        let browser = self.browser.clone().or_else(chromium);
        // The printer is held until the PDF is kept, so whoever waits for it next
        // finds it kept.
        let (printed, permit) =
            tokio::task::spawn_blocking(move || (print_to_pdf(browser, &html), permit))
                .await
                .map_err(|e| Refused::Failed(format!("the PDF printer stopped: {e}.")))?;
        let pdf = Bytes::from(printed.map_err(Refused::Failed)?);
        let mut kept = self.kept.lock().await;
        if kept.len() >= MOST_KEPT {
            if let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, (_, at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                kept.remove(&oldest);
            }
        }
        kept.insert(area.to_owned(), (digest, Instant::now(), pdf.clone()));
        drop(permit);
        Ok(pdf)
    }

    async fn kept(&self, area: &str, digest: u64) -> Option<Bytes> {
        let mut kept = self.kept.lock().await;
        let entry = kept.get_mut(area).filter(|(d, ..)| *d == digest)?;
        entry.1 = Instant::now();
        Some(entry.2.clone())
    }
}

/// Stops Chromium and every process it started (its own process group).
fn stop_group(child: &mut std::process::Child) {
    let group = i32::try_from(child.id()).unwrap_or(0);
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals that process group; it
        // reads no memory of ours. The group is Chromium's own (`process_group(0)`).
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Prints `html` to PDF with headless Chromium (its own profile, no network, its
/// own process group), giving up after [`PRINT_SECONDS`].
fn print_to_pdf(browser: Option<PathBuf>, html: &[u8]) -> Result<Vec<u8>, String> {
    use std::os::unix::process::CommandExt;
    let browser = browser.ok_or(
        "PDF needs headless Chromium on the server (Debian's `chromium`), which is not installed.",
    )?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot print: {e}."))?;
    let page = dir.path().join("report.html");
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&page, html).map_err(|e| format!("cannot print: {e}."))?;
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}.", browser.display()))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => {
                // Helpers Chromium left behind end with it.
                stop_group(&mut child);
                break;
            }
            Ok(None) if start.elapsed() > Duration::from_secs(PRINT_SECONDS) => {
                stop_group(&mut child);
                return Err("the PDF printer took over a minute and was stopped.".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                stop_group(&mut child);
                return Err(format!("the PDF printer failed: {e}."));
            }
        }
    }
    match std::fs::read(&pdf) {
        Ok(bytes) if bytes.starts_with(b"%PDF") => Ok(bytes),
        _ => Err(format!("{} printed no PDF.", browser.display())),
    }
}

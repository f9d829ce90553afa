//! The place report (`/report/{code}`): what a health and wellbeing board reads —
//! the area's deprivation, the headline gaps between its most and least deprived,
//! the deprivation gradient of its leading indicator, the indicators worse than
//! England or getting worse, and the hidden pockets of deprivation. One printable
//! page (its style sheet inline, so it prints the same from a file), and as PDF
//! (`/report/{code}.pdf`) through headless Chromium's print where the server has it.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
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
                        && !o.category.is_empty()
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
        let (html, _) = render(&state, code).await?;
        let pdf = tokio::task::spawn_blocking(move || print_to_pdf(&html))
            .await
            .map_err(|e| WebError::Internal(format!("the PDF printer stopped: {e}")))?;
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
            Err(why) => (
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

/// Prints `html` to PDF with headless Chromium (its own profile, no network),
/// giving up after a minute.
fn print_to_pdf(html: &str) -> Result<Vec<u8>, String> {
    let browser = chromium().ok_or(
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
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}.", browser.display()))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(60) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the PDF printer took over a minute and was stopped.".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("the PDF printer failed: {e}.")),
        }
    }
    match std::fs::read(&pdf) {
        Ok(bytes) if bytes.starts_with(b"%PDF") => Ok(bytes),
        _ => Err(format!("{} printed no PDF.", browser.display())),
    }
}

//! Maps and charts drawn on the server as SVG: a choropleth of small areas from
//! their stored outlines, a ranked bar chart with confidence limits, and a spine
//! chart of an area against England's spread. Every shape carries its figures as a
//! title and label, and each chart sits beside a table with the same numbers.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use syndemic_model::AreaCode;

/// Five steps of a sequential scale, light to dark, each with the text colour that
/// reads on it at WCAG AA contrast.
pub const SCALE: [(&str, &str); 5] = [
    ("#eff3ff", "#000000"),
    ("#bdd7e7", "#000000"),
    ("#6baed6", "#000000"),
    ("#2171b5", "#ffffff"),
    ("#08519c", "#ffffff"),
];

/// The outline of an area filled at `step`: dark on the light fills and white
/// on the dark ones, so that every area's edge has at least 3:1 contrast with
/// its own fill (WCAG 1.4.11) and each area reads as a shape of its own.
fn outline(step: Option<usize>) -> &'static str {
    match step {
        Some(s) if s >= 3 => "#ffffff",
        _ => "#1a1a1a",
    }
}

/// One area on a map: its outline rings, its fill step (none: no value), and the
/// label read out for it.
pub struct MapArea<'a> {
    pub code: AreaCode,
    pub rings: &'a [Vec<[f64; 2]>],
    pub step: Option<usize>,
    pub label: String,
    pub href: String,
    /// The area the page is about: outlined in black, drawn last (on top).
    pub focus: bool,
}

/// A choropleth: areas projected (longitude scaled by the cosine of the middle
/// latitude) into a 640-wide box; each area a link that keyboard users reach in
/// turn, with its label as title.
pub fn choropleth(areas: &[MapArea], title: &str) -> Markup {
    choropleth_with(areas, &[], title)
}

/// A place marked on a map, with the radius it serves (km; 0 for none).
pub struct Marker {
    pub label: String,
    pub lon: f64,
    pub lat: f64,
    pub radius_km: f64,
}

/// A choropleth with numbered markers (and their catchment circles) drawn on top.
pub fn choropleth_with(areas: &[MapArea], markers: &[Marker], title: &str) -> Markup {
    let points = areas.iter().flat_map(|a| a.rings.iter().flatten());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    if x0 > x1 {
        return html! { p { "No boundaries to draw: import them with " code { "syndemic import boundaries" } "." } };
    }
    let k = ((y0 + y1) / 2.0).to_radians().cos();
    let width = 640.0;
    let scale = width / ((x1 - x0) * k).max(1e-9);
    let height = ((y1 - y0) * scale).max(1.0);
    let path = |rings: &[Vec<[f64; 2]>]| -> String {
        let mut d = String::new();
        for ring in rings {
            for (i, p) in ring.iter().enumerate() {
                let x = (p[0] - x0) * k * scale;
                let y = (y1 - p[1]) * scale;
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
        d
    };
    html! {
        svg class="map" viewBox=(format!("0 0 {width:.0} {height:.0}")) role="group" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for a in areas.iter().filter(|a| !a.focus).chain(areas.iter().filter(|a| a.focus)) {
                a href=(a.href) aria-label=(a.label) {
                    path d=(path(a.rings)) fill=(a.step.map_or("#d9d9d9", |s| SCALE[s.min(4)].0)) fill-rule="evenodd"
                        stroke=(if a.focus { "#000000" } else { outline(a.step) }) stroke-width=(if a.focus { "2.5" } else { "0.6" }) data-code=(a.code.as_str()) {
                        title { (a.label) }
                    }
                }
            }
            @for (i, m) in markers.iter().enumerate() {
                @let (x, y) = ((m.lon - x0) * k * scale, (y1 - m.lat) * scale);
                g class="marker" {
                    title { (m.label) }
                    @if m.radius_km > 0.0 {
                        circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(format!("{:.1}", m.radius_km / 111.2 * scale)) fill="none" stroke="#b30000" stroke-width="1.5" stroke-dasharray="4 2" {}
                    }
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="9" fill="#b30000" stroke="#ffffff" stroke-width="1.5" {}
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 4.0)) text-anchor="middle" font-size="11" font-weight="bold" fill="#ffffff" { (i + 1) }
                }
            }
        }
    }
}

/// A map as a page shows it: every area of a map is a link, so a keyboard user
/// first meets a link that skips all `areas` of them (`key` names the map on
/// the page, for the link's target). The map zooms to twice or four times its
/// size and pans by scrolling its own box (by keyboard too: the box takes
/// focus) — with no script: the zoom links target a wrapper, and the style
/// sheet widens the map inside the one targeted (`:target`).
pub fn skippable(map: Markup, areas: usize, key: &str) -> Markup {
    let end = format!("after-{key}");
    html! {
        a class="skip-map" href=(format!("#{end}")) { "Skip the map's " (areas) " areas" }
        div class="zoom" id=(format!("{key}-4x")) {
            div class="zoom" id=(format!("{key}-2x")) {
                p class="zoom-links" {
                    "Zoom: "
                    a href=(format!("#{key}-1x")) id=(format!("{key}-1x")) { "whole map" } " · "
                    a href=(format!("#{key}-2x")) { "2×" } " · "
                    a href=(format!("#{key}-4x")) { "4×" }
                    " (scroll the map to pan)"
                }
                div class="pan" role="region" tabindex="0" aria-label="The map: scroll to pan" { (map) }
            }
        }
        span id=(end) tabindex="-1" class="map-end" {}
    }
}

/// A bar of a ranked chart: label, value, limits.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub colour: &'static str,
}

/// Bars from largest to smallest with their 95 % limits as whiskers, and a
/// benchmark line.
pub fn ranked_bars(bars: &[Bar], benchmark: Option<f64>, title: &str) -> Markup {
    let top = bars
        .iter()
        .map(|b| b.upper.unwrap_or(b.value).max(b.value))
        .chain(benchmark)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let row = 16.0;
    let (left, width) = (220.0, 380.0);
    let height = row * bars.len() as f64 + 32.0;
    let x = |v: f64| left + v.max(0.0) / top * width;
    html! {
        svg class="chart" viewBox=(format!("0 0 640 {height:.0}")) role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, b) in bars.iter().enumerate() {
                @let y = 4.0 + row * i as f64;
                text x=(left - 6.0) y=(y + 11.0) text-anchor="end" font-size="11" fill="#000000" { (truncate(&b.label, 34)) }
                rect x=(left) y=(y) width=(format!("{:.1}", x(b.value) - left)) height=(row - 4.0) fill=(b.colour) {
                    title { (b.label) ": " (fmt(b.value)) }
                }
                @if let (Some(l), Some(u)) = (b.lower, b.upper) {
                    line x1=(format!("{:.1}", x(l))) x2=(format!("{:.1}", x(u))) y1=(y + 6.0) y2=(y + 6.0) stroke="#000000" stroke-width="1" {}
                }
            }
            @if let Some(bm) = benchmark {
                line x1=(format!("{:.1}", x(bm))) x2=(format!("{:.1}", x(bm))) y1="0" y2=(format!("{:.0}", height - 24.0)) stroke="#b30000" stroke-width="1.5" stroke-dasharray="4 2" {}
            }
            // The value axis: five ticks from 0 to the largest value.
            line x1=(left) x2=(left + width) y1=(format!("{:.1}", height - 22.0)) y2=(format!("{:.1}", height - 22.0)) stroke="#767676" stroke-width="1" {}
            @for i in 0..=4 {
                @let v = top * f64::from(i) / 4.0;
                line x1=(format!("{:.1}", x(v))) x2=(format!("{:.1}", x(v))) y1=(format!("{:.1}", height - 22.0)) y2=(format!("{:.1}", height - 18.0)) stroke="#767676" stroke-width="1" {}
                text x=(format!("{:.1}", x(v))) y=(format!("{:.1}", height - 6.0)) text-anchor="middle" font-size="11" fill="#000000" { (fmt(v)) }
            }
        }
    }
}

/// A spine chart: where the area's value sits in the spread of its peers (min,
/// quartiles, max), with the benchmark in the middle.
pub fn spine(value: f64, peers: &[f64], colour: &str, label: &str) -> Markup {
    let mut sorted: Vec<f64> = peers.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() < 2 {
        return html! {};
    }
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let (lo, hi) = (sorted[0].min(value), sorted[sorted.len() - 1].max(value));
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| 2.0 + (v - lo) / span * 156.0;
    html! {
        svg class="spine" viewBox="0 0 160 16" width="160" height="16" role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            rect x=(format!("{:.1}", x(q(0.0)))) y="4" width=(format!("{:.1}", x(q(1.0)) - x(q(0.0)))) height="8" fill="#d9d9d9" {}
            rect x=(format!("{:.1}", x(q(0.25)))) y="4" width=(format!("{:.1}", x(q(0.75)) - x(q(0.25)))) height="8" fill="#969696" {}
            line x1=(format!("{:.1}", x(q(0.5)))) x2=(format!("{:.1}", x(q(0.5)))) y1="1" y2="15" stroke="#000000" stroke-width="1.5" {}
            circle cx=(format!("{:.1}", x(value))) cy="8" r="4.5" fill=(colour) stroke="#000000" stroke-width="1" {}
        }
    }
}

/// A chart or map as a downloaded SVG file named `stem.svg`.
pub fn download(chart: Markup, stem: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.svg\""),
            ),
        ],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
            chart.into_string()
        ),
    )
        .into_response()
}

/// A number as people read it: four significant figures at most, no trailing
/// zeros.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let digits = if v.abs() >= 1000.0 {
        0
    } else if v.abs() >= 100.0 {
        1
    } else {
        2
    };
    let text = format!("{v:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    // A value that rounds to zero reads as 0, not −0.
    if text == "-0" {
        "0".to_owned()
    } else {
        grouped(&text)
    }
}

/// Numbers read together (an interval's two ends) as [`fmt`] writes them, but
/// all to the decimals the most precise of them needs: 5.78 and 6 read
/// "5.78" and "6.00".
pub fn fmt_alike(values: &[f64]) -> Vec<String> {
    let decimals = decimals_of(values);
    values.iter().map(|v| fmt_with(*v, decimals)).collect()
}

/// The decimals [`fmt`] gives the most precise of `values`.
pub fn decimals_of(values: &[f64]) -> usize {
    values
        .iter()
        .map(|v| fmt(*v).split_once('.').map_or(0, |(_, f)| f.len()))
        .max()
        .unwrap_or(0)
}

/// A number to exactly `decimals` decimals, thousands separated; never −0.
pub fn fmt_with(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let text = format!("{v:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        return grouped(text.trim_start_matches('-'));
    }
    grouped(&text)
}

/// Thousands separated by commas, as the ONS writes them: 110380 → 110,380.
fn grouped(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (whole, fraction) = rest
        .split_once('.')
        .map_or((rest, None), |(w, f)| (w, Some(f)));
    if whole.len() <= 3 {
        return text.to_owned();
    }
    let mut out = String::from(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

fn truncate(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(n - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG's relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn every_area_outline_has_3_to_1_against_its_fill() {
        for (step, (fill, ink)) in SCALE.iter().enumerate() {
            let edge = outline(Some(step));
            assert!(
                contrast(fill, edge) >= 3.0,
                "step {step}: {fill} against {edge}"
            );
            assert!(contrast(fill, ink) >= 4.5, "step {step}: its text");
        }
        assert!(contrast("#d9d9d9", outline(None)) >= 3.0, "no value");
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(fmt(1234.567), "1,235");
        assert_eq!(fmt(110380.0), "110,380");
        assert_eq!(fmt(-2_500_000.4), "-2,500,000");
        assert_eq!(fmt(999.94), "999.9");
        assert_eq!(fmt_alike(&[5.78, 6.0]), ["5.78", "6.00"]);
        assert_eq!(fmt_alike(&[-9.31, -7.25]), ["-9.31", "-7.25"]);
        assert_eq!(fmt_alike(&[1234.6, 1300.0]), ["1,235", "1,300"]);
        assert_eq!(fmt_alike(&[0.5, -0.001]), ["0.5", "0.0"]);
        assert_eq!(fmt(123.45), "123.5");
        assert_eq!(fmt(12.0), "12");
        assert_eq!(fmt(0.126), "0.13");
        assert_eq!(fmt(-0.001), "0");
        assert_eq!(fmt(-0.0), "0");
    }
}

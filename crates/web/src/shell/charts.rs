//! The indicator view's charts, drawn as standalone SVG (each also downloads as a
//! file): the deprivation gradient with the SII's fitted line and the gap between
//! the ends, the series over time against England, and the funnel plot of the
//! small areas against control limits. Colours keep a 3:1 contrast with the white
//! background (WCAG 1.4.11); every chart has a table of the same figures beside it.

use maud::{html, Markup};
use syndemic_stats::funnel::FunnelRow;
use syndemic_stats::sii::{gradient_line, GradientLine};
use syndemic_store::Observation;

use crate::shell::svg::fmt;

const WIDTH: f64 = 640.0;
const INK: &str = "#000000";
const BAR: &str = "#2b6ca3";
const LINE: &str = "#b30000";
const GRID: &str = "#767676";

/// A plotting box: data ranges mapped onto the SVG's pixels, y upwards.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(height: f64, x: (f64, f64), y: (f64, f64)) -> Frame {
        Frame {
            left: 64.0,
            right: WIDTH - 16.0,
            top: 28.0,
            bottom: height - 40.0,
            x: widen(x),
            y: widen(y),
        }
    }

    fn px(&self, v: f64) -> f64 {
        self.left + (v - self.x.0) / (self.x.1 - self.x.0) * (self.right - self.left)
    }

    fn py(&self, v: f64) -> f64 {
        self.bottom - (v - self.y.0) / (self.y.1 - self.y.0) * (self.bottom - self.top)
    }

    /// Axes with five labelled ticks on y, and the axis titles.
    fn axes(&self, x_title: &str, y_title: &str) -> Markup {
        let ticks = ticks(self.y);
        html! {
            @for t in &ticks {
                line x1=(n(self.left)) x2=(n(self.right)) y1=(n(self.py(*t))) y2=(n(self.py(*t))) stroke="#d9d9d9" stroke-width="1" {}
                text x=(n(self.left - 6.0)) y=(n(self.py(*t) + 4.0)) text-anchor="end" font-size="11" fill=(INK) { (fmt(*t)) }
            }
            line x1=(n(self.left)) x2=(n(self.left)) y1=(n(self.top)) y2=(n(self.bottom)) stroke=(GRID) stroke-width="1" {}
            line x1=(n(self.left)) x2=(n(self.right)) y1=(n(self.bottom)) y2=(n(self.bottom)) stroke=(GRID) stroke-width="1" {}
            text x=(n((self.left + self.right) / 2.0)) y=(n(self.bottom + 32.0)) text-anchor="middle" font-size="12" fill=(INK) { (x_title) }
            text x="12" y=(n(self.top - 12.0)) font-size="12" fill=(INK) { (y_title) }
        }
    }
}

/// A range with room around it (and never empty).
fn widen((lo, hi): (f64, f64)) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = (hi - lo).abs().max(hi.abs() * 0.1).max(1e-9);
    (lo - span * 0.05, hi + span * 0.05)
}

/// Five round ticks across a range.
fn ticks((lo, hi): (f64, f64)) -> Vec<f64> {
    let raw = (hi - lo) / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 12 {
        // Adding 0.0 turns a tick at −0 into 0.
        out.push(t + 0.0);
        t += step;
    }
    out
}

/// A coordinate as SVG text.
fn n(v: f64) -> String {
    format!("{v:.1}")
}

fn range<'a>(values: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    })
}

fn svg(height: f64, title: &str, body: Markup) -> Markup {
    html! {
        svg class="chart" viewBox=(format!("0 0 {WIDTH:.0} {height:.0}")) role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" {
            title { (title) }
            rect x="0" y="0" width=(n(WIDTH)) height=(n(height)) fill="#ffffff" {}
            (body)
        }
    }
}

/// One deprivation group of a gradient chart.
pub struct GroupValue {
    pub label: String,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The deprivation gradient: a bar per group (most deprived on the left) placed at
/// its population midpoint and as wide as its share, 95 % whiskers, the SII's
/// fitted line across the whole gradient, and the gap between the two ends.
pub fn gradient(groups: &[GroupValue], line: Option<&GradientLine>, title: &str) -> Markup {
    let height = 300.0;
    let limits = groups.iter().flat_map(|g| [g.lower, g.upper]).flatten();
    let values: Vec<f64> = groups.iter().map(|g| g.value).chain(limits).collect();
    let (lo, hi) = range(values.iter());
    let f = Frame::new(height, (0.0, 1.0), (lo.min(0.0), hi));
    // Without a line (no populations), groups share the axis equally.
    let mids: Vec<f64> = match line {
        Some(l) if l.midpoints.len() == groups.len() => l.midpoints.clone(),
        _ => (0..groups.len())
            .map(|i| (i as f64 + 0.5) / groups.len().max(1) as f64)
            .collect(),
    };
    let half = |i: usize| {
        let prev = if i == 0 {
            0.0
        } else {
            (mids[i - 1] + mids[i]) / 2.0
        };
        let next = mids.get(i + 1).map_or(1.0, |m| (mids[i] + m) / 2.0);
        (prev, next)
    };
    let gap = match (groups.first(), groups.last()) {
        (Some(a), Some(b)) if groups.len() > 1 => Some((a.value, b.value)),
        _ => None,
    };
    html! {
        (svg(height, title, html! {
            (f.axes("Population ranked by deprivation: most deprived on the left", ""))
            @for (i, g) in groups.iter().enumerate() {
                @let (x0, x1) = half(i);
                @let (px0, px1) = (f.px(x0) + 2.0, f.px(x1) - 2.0);
                rect x=(n(px0)) y=(n(f.py(g.value.max(f.y.0)).min(f.py(0f64.max(f.y.0))))) width=(n((px1 - px0).max(1.0))) height=(n((f.py(0f64.max(f.y.0)) - f.py(g.value)).abs())) fill=(BAR) {
                    title { (g.label) ": " (fmt(g.value)) }
                }
                @if let (Some(l), Some(u)) = (g.lower, g.upper) {
                    @let cx = f.px(mids[i]);
                    line x1=(n(cx)) x2=(n(cx)) y1=(n(f.py(l))) y2=(n(f.py(u))) stroke=(INK) stroke-width="1.5" {}
                    line x1=(n(cx - 4.0)) x2=(n(cx + 4.0)) y1=(n(f.py(l))) y2=(n(f.py(l))) stroke=(INK) stroke-width="1.5" {}
                    line x1=(n(cx - 4.0)) x2=(n(cx + 4.0)) y1=(n(f.py(u))) y2=(n(f.py(u))) stroke=(INK) stroke-width="1.5" {}
                }
                text x=(n(f.px(mids[i]))) y=(n(f.bottom + 14.0)) text-anchor="middle" font-size="11" fill=(INK) { (g.label) }
            }
            @if let Some(l) = line {
                line class="sii-line" x1=(n(f.px(0.0))) x2=(n(f.px(1.0))) y1=(n(f.py(l.intercept))) y2=(n(f.py(l.intercept + l.slope))) stroke=(LINE) stroke-width="2.5" stroke-dasharray="6 3" {
                    title { "Slope index of inequality's line: " (fmt(l.intercept)) " at the most deprived end to " (fmt(l.intercept + l.slope)) " at the least" }
                }
            }
            @if let Some((a, b)) = gap {
                @let x = f.right - 4.0;
                line class="gap" x1=(n(x)) x2=(n(x)) y1=(n(f.py(a))) y2=(n(f.py(b))) stroke=(INK) stroke-width="1.5" {}
                line x1=(n(x - 6.0)) x2=(n(x)) y1=(n(f.py(a))) y2=(n(f.py(a))) stroke=(INK) stroke-width="1.5" {}
                line x1=(n(x - 6.0)) x2=(n(x)) y1=(n(f.py(b))) y2=(n(f.py(b))) stroke=(INK) stroke-width="1.5" {}
                text x=(n(x - 8.0)) y=(n((f.py(a) + f.py(b)) / 2.0 + 4.0)) text-anchor="end" font-size="11" fill=(INK) { "gap " (fmt((a - b).abs())) }
            }
        }))
    }
}

/// The gradient chart of an area's deprivation groups (observations in group
/// order, 1 = most deprived): the groups with values, and the SII's line fitted
/// over the groups' denominators as populations (equal shares where one is
/// missing). `None` with fewer than two groups.
pub fn gradient_of(groups: &[Observation], title: &str) -> Option<Markup> {
    let bars: Vec<GroupValue> = groups
        .iter()
        .filter_map(|o| {
            Some(GroupValue {
                label: o.category.clone(),
                value: o.value?,
                lower: o.lower95,
                upper: o.upper95,
            })
        })
        .collect();
    let values: Option<Vec<f64>> = groups.iter().map(|o| o.value).collect();
    let pops: Vec<f64> = groups
        .iter()
        .map(|o| o.denominator.filter(|d| *d > 0.0))
        .collect::<Option<Vec<f64>>>()
        .unwrap_or_else(|| vec![1.0; groups.len()]);
    let line = values.and_then(|v| gradient_line(&pops, &v));
    (bars.len() >= 2).then(|| gradient(&bars, line.as_ref(), title))
}

/// One period of a trend chart, with England's value for the same period.
pub struct TrendPoint {
    pub label: String,
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub benchmark: Option<f64>,
}

/// The series over time: the area's values joined, their 95 % limits as whiskers,
/// and the benchmark (England) dashed.
pub fn trend(points: &[TrendPoint], area: &str, benchmark: &str, title: &str) -> Markup {
    let height = 280.0;
    let all: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.value, p.lower, p.upper, p.benchmark])
        .flatten()
        .collect();
    let (lo, hi) = range(all.iter());
    let f = Frame::new(
        height,
        (0.0, points.len().saturating_sub(1).max(1) as f64),
        (lo, hi),
    );
    let path = |get: &dyn Fn(&TrendPoint) -> Option<f64>| -> String {
        let mut d = String::new();
        let mut pen = false;
        for (i, p) in points.iter().enumerate() {
            match get(p) {
                Some(v) => {
                    d.push_str(&format!(
                        "{}{},{}",
                        if pen { "L" } else { "M" },
                        n(f.px(i as f64)),
                        n(f.py(v))
                    ));
                    pen = true;
                }
                None => pen = false,
            }
        }
        d
    };
    let every = points.len().div_ceil(10).max(1);
    html! {
        (svg(height, title, html! {
            (f.axes("Period", ""))
            @for (i, p) in points.iter().enumerate() {
                @if i % every == 0 { text x=(n(f.px(i as f64))) y=(n(f.bottom + 14.0)) text-anchor="middle" font-size="11" fill=(INK) { (p.label) } }
                @if let (Some(l), Some(u)) = (p.lower, p.upper) {
                    line x1=(n(f.px(i as f64))) x2=(n(f.px(i as f64))) y1=(n(f.py(l))) y2=(n(f.py(u))) stroke=(BAR) stroke-width="1.5" {}
                }
            }
            path class="benchmark" d=(path(&|p| p.benchmark)) fill="none" stroke=(LINE) stroke-width="2" stroke-dasharray="6 3" {}
            path class="series" d=(path(&|p| p.value)) fill="none" stroke=(BAR) stroke-width="2.5" {}
            @for (i, p) in points.iter().enumerate() {
                @if let Some(v) = p.value {
                    circle cx=(n(f.px(i as f64))) cy=(n(f.py(v))) r="4" fill=(BAR) stroke="#ffffff" stroke-width="1" { title { (area) ", " (p.label) ": " (fmt(v)) } }
                }
            }
            rect x=(n(f.left + 8.0)) y=(n(f.top - 24.0)) width="14" height="4" fill=(BAR) {}
            text x=(n(f.left + 26.0)) y=(n(f.top - 18.0)) font-size="11" fill=(INK) { (area) }
            @if points.iter().any(|p| p.benchmark.is_some()) {
                line x1=(n(f.left + 208.0)) x2=(n(f.left + 222.0)) y1=(n(f.top - 22.0)) y2=(n(f.top - 22.0)) stroke=(LINE) stroke-width="2" stroke-dasharray="4 2" {}
                text x=(n(f.left + 226.0)) y=(n(f.top - 18.0)) font-size="11" fill=(INK) { (benchmark) }
            }
        }))
    }
}

/// A funnel's four control limits as (x, y) curves, in the order lower and upper
/// 95 % (two-sigma), lower and upper 99.8 % (three-sigma).
pub struct Curves {
    pub lines: [Vec<(f64, f64)>; 4],
}

impl Curves {
    /// From limits that share their x values (proportions).
    pub fn from_rows(rows: &[FunnelRow]) -> Curves {
        let at = |get: fn(&FunnelRow) -> f64| rows.iter().map(|r| (r.x, get(r))).collect();
        Curves {
            lines: [
                at(|r| r.lower_2s),
                at(|r| r.upper_2s),
                at(|r| r.lower_3s),
                at(|r| r.upper_3s),
            ],
        }
    }
}

/// One area on a funnel plot.
pub struct FunnelPoint {
    pub label: String,
    /// The denominator (population or people eligible).
    pub x: f64,
    pub y: f64,
    /// The significance label ("High (0.001)", "Not significant", …).
    pub significance: &'static str,
}

/// A funnel plot: each area's value against its denominator, the average, and the
/// 95 % (two-sigma) and 99.8 % (three-sigma) control limits. Points outside the
/// outer limits are drawn as squares as well as in another colour, so the chart
/// reads without colour.
pub fn funnel(
    points: &[FunnelPoint],
    limits: &Curves,
    average: f64,
    (x_title, y_title): (&str, &str),
    title: &str,
) -> Markup {
    let height = 320.0;
    let ys: Vec<f64> = points
        .iter()
        .map(|p| p.y)
        .chain(limits.lines.iter().flatten().map(|p| p.1))
        .filter(|v| v.is_finite())
        .collect();
    let (ylo, yhi) = range(ys.iter());
    // The limits fan out wildly at tiny denominators: keep the view near the points.
    let (plo, phi) = range(points.iter().map(|p| &p.y));
    let span = (phi - plo).max(average.abs() * 0.2).max(1e-9);
    let y = (ylo.max(plo - span), yhi.min(phi + span));
    let xs: Vec<f64> = points
        .iter()
        .map(|p| p.x)
        .chain(limits.lines.iter().flatten().map(|p| p.0))
        .filter(|v| v.is_finite())
        .collect();
    let (xlo, xhi) = range(xs.iter());
    let mut f = Frame::new(height, (xlo.min(0.0), xhi), y);
    // Room above the plot for the legend's row and, below it, the y axis's title.
    f.top = 52.0;
    let inside = |v: f64| v >= f.y.0 && v <= f.y.1;
    let curve = |k: usize| -> String {
        let mut d = String::new();
        let mut pen = false;
        for &(x, v) in &limits.lines[k] {
            if x.is_finite() && v.is_finite() && inside(v) && x <= f.x.1 {
                d.push_str(&format!(
                    "{}{},{}",
                    if pen { "L" } else { "M" },
                    n(f.px(x)),
                    n(f.py(v))
                ));
                pen = true;
            } else {
                pen = false;
            }
        }
        d
    };
    html! {
        (svg(height, title, html! {
            (f.axes(x_title, y_title))
            line class="average" x1=(n(f.left)) x2=(n(f.right)) y1=(n(f.py(average))) y2=(n(f.py(average))) stroke=(INK) stroke-width="1.5" {}
            path class="limit-2s" d=(curve(0)) fill="none" stroke=(BAR) stroke-width="1.5" stroke-dasharray="5 3" {}
            path class="limit-2s" d=(curve(1)) fill="none" stroke=(BAR) stroke-width="1.5" stroke-dasharray="5 3" {}
            path class="limit-3s" d=(curve(2)) fill="none" stroke=(LINE) stroke-width="1.5" {}
            path class="limit-3s" d=(curve(3)) fill="none" stroke=(LINE) stroke-width="1.5" {}
            @for p in points.iter().filter(|p| inside(p.y)) {
                @let (cx, cy) = (f.px(p.x), f.py(p.y));
                @if p.significance.ends_with("(0.001)") {
                    rect class="point outlier" x=(n(cx - 4.0)) y=(n(cy - 4.0)) width="8" height="8" fill=(LINE) { title { (p.label) ": " (fmt(p.y)) ", " (p.significance) } }
                } @else {
                    circle class="point" cx=(n(cx)) cy=(n(cy)) r="3.5" fill=(BAR) fill-opacity="0.8" { title { (p.label) ": " (fmt(p.y)) ", " (p.significance) } }
                }
            }
            text x=(n(f.right)) y="16" text-anchor="end" font-size="11" fill=(INK) { "black line: average; dashed blue: 95 % limits; solid red: 99.8 % limits; square: outside 99.8 %" }
        }))
    }
}

/// One measured value of a commitment's indicator.
pub struct Measured {
    pub label: String,
    /// Its time on the chart's axis (any unit the baseline and target share).
    pub at: f64,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A commitment's trajectory: the straight line from its baseline to its target
/// (dashed), and the values measured since with their 95 % limits as whiskers.
/// `baseline` and `target` are (time, value, label).
pub fn trajectory(
    points: &[Measured],
    baseline: (f64, f64, &str),
    target: (f64, f64, &str),
    y_title: &str,
    title: &str,
) -> Markup {
    let height = 300.0;
    let ys: Vec<f64> = points
        .iter()
        .flat_map(|p| [Some(p.value), p.lower, p.upper])
        .flatten()
        .chain([baseline.1, target.1])
        .collect();
    let xs: Vec<f64> = points
        .iter()
        .map(|p| p.at)
        .chain([baseline.0, target.0])
        .collect();
    let mut f = Frame::new(height, range(xs.iter()), range(ys.iter()));
    // Room above the plot for the legend's row and, below it, the y axis's title.
    f.top = 52.0;
    let line: String = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "{}{},{}",
                if i == 0 { "M" } else { "L" },
                n(f.px(p.at)),
                n(f.py(p.value))
            )
        })
        .collect();
    // Period labels along the x axis, thinned so that they do not overlap.
    let every = points.len().div_ceil(6).max(1);
    html! {
        (svg(height, title, html! {
            (f.axes("Period", y_title))
            line class="trajectory" x1=(n(f.px(baseline.0))) y1=(n(f.py(baseline.1))) x2=(n(f.px(target.0))) y2=(n(f.py(target.1))) stroke=(LINE) stroke-width="2" stroke-dasharray="6 3" {}
            rect x=(n(f.px(target.0) - 5.0)) y=(n(f.py(target.1) - 5.0)) width="10" height="10" fill=(LINE) { title { "Target: " (fmt(target.1)) " by " (target.2) } }
            text x=(n(f.px(target.0))) y=(n(f.bottom + 14.0)) text-anchor="end" font-size="11" fill=(INK) { (target.2) }
            @for (i, p) in points.iter().enumerate() {
                @if i % every == 0 && (f.px(target.0) - f.px(p.at)).abs() > 60.0 {
                    text x=(n(f.px(p.at))) y=(n(f.bottom + 14.0)) text-anchor="middle" font-size="11" fill=(INK) { (p.label) }
                }
                @if let (Some(l), Some(u)) = (p.lower, p.upper) {
                    line x1=(n(f.px(p.at))) x2=(n(f.px(p.at))) y1=(n(f.py(l))) y2=(n(f.py(u))) stroke=(BAR) stroke-width="1.5" {}
                }
            }
            @if points.len() > 1 { path class="measured" d=(line) fill="none" stroke=(BAR) stroke-width="2.5" {} }
            @for p in points {
                circle cx=(n(f.px(p.at))) cy=(n(f.py(p.value))) r="4" fill=(BAR) stroke="#ffffff" stroke-width="1" { title { (p.label) ": " (fmt(p.value)) } }
            }
            circle cx=(n(f.px(baseline.0))) cy=(n(f.py(baseline.1))) r="5" fill="#ffffff" stroke=(INK) stroke-width="2" { title { "Baseline " (baseline.2) ": " (fmt(baseline.1)) } }
            circle cx=(n(f.left + 14.0)) cy="12" r="4" fill=(BAR) {}
            text x=(n(f.left + 24.0)) y="16" font-size="11" fill=(INK) { "Measured (95 % limits)" }
            line x1=(n(f.left + 180.0)) x2=(n(f.left + 200.0)) y1="12" y2="12" stroke=(LINE) stroke-width="2" stroke-dasharray="4 2" {}
            text x=(n(f.left + 206.0)) y="16" font-size="11" fill=(INK) { "Trajectory, baseline to target" }
            circle cx=(n(f.left + 400.0)) cy="12" r="4" fill="#ffffff" stroke=(INK) stroke-width="2" {}
            text x=(n(f.left + 410.0)) y="16" font-size="11" fill=(INK) { "Baseline" }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks((0.0, 100.0)), [0.0, 25.0, 50.0, 75.0, 100.0]);
        let t = ticks((72.3, 81.9));
        assert!(t.first().unwrap() >= &72.3 && t.last().unwrap() <= &81.9);
        assert!(t.len() >= 3);
    }

    #[test]
    fn gradient_draws_every_group_the_line_and_the_gap() {
        let groups: Vec<GroupValue> = (1..=5)
            .map(|q| GroupValue {
                label: q.to_string(),
                value: 70.0 + q as f64,
                lower: Some(69.0 + q as f64),
                upper: Some(71.0 + q as f64),
            })
            .collect();
        let line = syndemic_stats::sii::gradient_line(&[1.0; 5], &[71.0, 72.0, 73.0, 74.0, 75.0]);
        let svg = gradient(&groups, line.as_ref(), "Life expectancy").into_string();
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 5,
            "background and five bars"
        );
        assert!(svg.contains("class=\"sii-line\""));
        assert!(svg.contains("gap 4"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn trend_and_funnel_never_draw_nan() {
        let points: Vec<TrendPoint> = (0..3)
            .map(|i| TrendPoint {
                label: format!("20{i:02}"),
                value: (i != 1).then_some(10.0),
                lower: None,
                upper: None,
                benchmark: Some(10.0),
            })
            .collect();
        let t = trend(&points, "A", "England", "t").into_string();
        assert!(!t.contains("NaN") && t.contains("class=\"series\""));
        let (avg, rows) =
            syndemic_stats::funnel::proportion_funnel(&[10.0, 50.0], &[100.0, 400.0], 100.0)
                .unwrap();
        let pts = vec![FunnelPoint {
            label: "A".into(),
            x: 100.0,
            y: 10.0,
            significance: "Not significant",
        }];
        let f = funnel(
            &pts,
            &Curves::from_rows(&rows),
            avg,
            ("people", "per cent"),
            "f",
        )
        .into_string();
        assert!(
            !f.contains("NaN") && f.contains("class=\"limit-3s\"") && f.contains("class=\"point\"")
        );
    }
}

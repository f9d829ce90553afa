//! The indicator view: one indicator in one area — a choropleth of its small areas,
//! its child areas ranked with limits, the deprivation gradient with the SII's line
//! and the gap, the series over time against England, and a funnel plot of the
//! small areas. Each chart downloads as SVG and each table as CSV and XLSX, from
//! `/indicators/{id}/{chart}.svg` and `/indicators/{id}/{table}.csv|xlsx` with the
//! same `?area=`; all of them read the disclosure-controlled observations.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, Response};
use maud::{html, Markup};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use syndemic_model::AreaCode;
use syndemic_stats::funnel::{self, RateType};
use syndemic_store::{Indicator, Observation, Polarity};

use crate::place::pages::comparison_colour;
use crate::shell::charts::{self, Curves, FunnelPoint, TrendPoint};
use crate::shell::page;
use crate::shell::svg::{self, fmt, Bar, MapArea, SCALE};
use crate::shell::table::{Cell, DataTable, Download};
use crate::{parse_code, AppState, WebError};
use syndemic_place::{small_areas_within, Shapes};

const ENGLAND: &str = "E92000001";

/// The most small areas an indicator view draws on its map and funnel plot: the
/// largest county (Kent, about 900 LSOAs) is drawn; a region (the North West's
/// 4,497) or England ranks its districts or regions instead, and reads no small
/// area's row.
pub const MOST_SMALL_AREAS: usize = 2_000;

#[derive(Deserialize)]
pub struct IndicatorQuery {
    area: Option<String>,
    /// `Persons`, `Female` or `Male`: which sex's series (the default: Persons
    /// where the indicator has it).
    sex: Option<String>,
    /// The age group's label as published (`All ages`, `<75 yrs`, `65+ yrs`).
    age: Option<String>,
    /// The level of the areas ranked (`ward`, `ltla`, `utla`, `lsoa`…; the default:
    /// the finest level above the small areas with values).
    level: Option<String>,
    /// The period shown (`2019`, `2019/20`…; the default: the latest).
    period: Option<String>,
    /// What the ranked areas are compared with: `parent` (the area shown, the
    /// default), `england` or `region`.
    benchmark: Option<String>,
}

/// What the ranked areas are compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Benchmark {
    /// The area the view is of (as published, `compared_to_parent`).
    Parent,
    England,
    /// The region the area lies in, compared here from the limits.
    Region,
}

impl Benchmark {
    fn parse(text: Option<&str>) -> Result<Benchmark, WebError> {
        match text.map(str::trim).unwrap_or("") {
            "" | "parent" => Ok(Benchmark::Parent),
            "england" => Ok(Benchmark::England),
            "region" => Ok(Benchmark::Region),
            other => Err(WebError::BadRequest(format!(
                "benchmark={other}: give parent, england or region"
            ))),
        }
    }

    fn key(self) -> &'static str {
        match self {
            Benchmark::Parent => "parent",
            Benchmark::England => "england",
            Benchmark::Region => "region",
        }
    }
}

/// A level's label in the plural: `Wards`, `Upper-tier authorities`.
fn plural(label: &str) -> String {
    match label.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{label}s"),
    }
}

/// One series of an indicator: its sex and age group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Series {
    pub sex: String,
    pub age: String,
}

impl Series {
    fn holds(&self, o: &Observation) -> bool {
        o.category.is_empty() && o.sex == self.sex && o.age == self.age
    }

    /// The series an indicator has in `rows` (whole-area values only), Persons
    /// first then by sex, each sex's `All ages` first.
    fn of<'a>(rows: impl Iterator<Item = &'a Observation>) -> Vec<Series> {
        let mut found: Vec<Series> = Vec::new();
        for o in rows.filter(|o| o.category.is_empty()) {
            if !found.iter().any(|s| s.sex == o.sex && s.age == o.age) {
                found.push(Series {
                    sex: o.sex.clone(),
                    age: o.age.clone(),
                });
            }
        }
        let sex_order = |s: &str| match s {
            "Persons" => 0,
            "Female" => 1,
            "Male" => 2,
            _ => 3,
        };
        found.sort_by(|a, b| {
            (sex_order(&a.sex), a.age != "All ages", &a.sex, &a.age).cmp(&(
                sex_order(&b.sex),
                b.age != "All ages",
                &b.sex,
                &b.age,
            ))
        });
        found
    }
}

/// Everything the view draws, read once per request.
pub(crate) struct View {
    pub indicator: Indicator,
    /// What the last compute of a computed indicator covered (`None` when imported).
    coverage: Option<String>,
    pub area: AreaCode,
    pub area_name: String,
    pub headline: Option<Observation>,
    pub period: Option<syndemic_model::Period>,
    /// Every period of the series shown, newest first, and whether one was asked for.
    periods: Vec<syndemic_model::Period>,
    period_asked: bool,
    /// What the ranked areas are compared with, and the area's region (if any).
    benchmark: Benchmark,
    region: Option<(AreaCode, String)>,
    small: Vec<AreaCode>,
    /// For a small area: the neighbourhood its map shows it in (its ward, or its
    /// lowest parent), by code and name.
    neighbourhood: Option<(AreaCode, String)>,
    /// How many small areas lie within the area (`small` is empty above
    /// [`MOST_SMALL_AREAS`]).
    small_areas: usize,
    names: FxHashMap<AreaCode, Option<String>>,
    /// The series shown, the one shown when none is asked for, and every series
    /// the indicator has.
    pub series: Series,
    default_series: Option<Series>,
    pub all_series: Vec<Series>,
    /// The latest value of the series shown of every area, by code.
    latest: FxHashMap<AreaCode, Observation>,
    shapes: Arc<Shapes>,
    /// The levels of the area's children with values, finest first, and the one
    /// ranked.
    pub levels: Vec<syndemic_model::Level>,
    pub level: Option<syndemic_model::Level>,
    /// Whether the level ranked is the one asked for (so links keep it).
    level_asked: bool,
    /// The direct children of one kind, largest value first.
    children: Vec<(AreaCode, Option<String>, Observation)>,
    pub gradient: Vec<Observation>,
    pub sii: Option<Observation>,
    pub trend: Vec<Observation>,
    england: FxHashMap<syndemic_model::Period, Observation>,
}

/// Quintile steps of values: 0 for the lowest fifth … 4 for the highest.
fn steps(values: &[f64]) -> impl Fn(f64) -> usize + '_ {
    move |v: f64| {
        let below = values.iter().filter(|&&w| w < v).count();
        (below * 5 / values.len().max(1)).min(4)
    }
}

impl View {
    pub(crate) async fn load(
        state: &AppState,
        id: &str,
        area: Option<&str>,
        sex: Option<&str>,
        age: Option<&str>,
        level: Option<&str>,
        asked_period: Option<&str>,
    ) -> Result<View, WebError> {
        let store = state.db.as_ref();
        let Some(indicator) = store.indicator(id).await? else {
            return Err(WebError::NotFound(format!(
                "no indicator `{id}`: the home page lists them"
            )));
        };
        let area = match area {
            Some(a) => parse_code(a)?,
            None => super::default_area(store, id).await?,
        };
        let area_name = store
            .area(area)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("{area} is not in the store")))?
            .area
            .name
            .unwrap_or_else(|| area.to_string());
        // An area of more small areas than a map can show (a region, England)
        // reads only the rows above the wards: its map and funnel are not drawn.
        let mut small = small_areas_within(store, area).await?;
        let small_areas = small.len();
        // A small area is drawn within its neighbourhood (its ward, else its
        // lowest parent), never alone filling the map.
        let mut neighbourhood = None;
        if matches!(
            area.area_type(),
            syndemic_model::AreaType::Lsoa | syndemic_model::AreaType::Msoa
        ) {
            let parents = store.parents(area).await?;
            let nearest = parents
                .iter()
                .find(|p| p.link.level == syndemic_model::Level::Ward)
                .or_else(|| parents.iter().min_by_key(|p| p.link.level));
            if let Some(p) = nearest {
                let around = small_areas_within(store, p.link.parent).await?;
                if around.len() > 1 && around.len() <= MOST_SMALL_AREAS {
                    small = around;
                    neighbourhood = Some((
                        p.link.parent,
                        p.name.clone().unwrap_or_else(|| p.link.parent.to_string()),
                    ));
                }
            }
        }
        let all = if small_areas > MOST_SMALL_AREAS {
            small.clear();
            state.observations_above_wards(id).await?
        } else {
            state.observations(id).await?
        };
        // The series: the one asked for, else the area's first (Persons, all ages,
        // where it has them), else the indicator's first.
        let all_series = Series::of(all.iter());
        let here = Series::of(all.iter().filter(|o| o.area == area));
        let default_series = here.first().or(all_series.first()).cloned();
        let series = match (sex, age) {
            (None, None) => default_series.clone(),
            (sex, age) => {
                // As stored (Fingertips' `Not applicable` too), or its usual form.
                let sex = sex.map(|s| {
                    syndemic_model::Sex::parse(s)
                        .map(|x| x.label().to_owned())
                        .filter(|x| all_series.iter().any(|series| series.sex == *x))
                        .unwrap_or_else(|| s.to_owned())
                });
                let of_sex = |s: &&Series| sex.as_ref().is_none_or(|x| *x == s.sex);
                // The pair asked for; else the sex's first age group (a selector
                // offers every sex beside every age group).
                let found = all_series
                    .iter()
                    .filter(of_sex)
                    .find(|s| age.is_none_or(|a| a == s.age))
                    .or_else(|| all_series.iter().find(of_sex))
                    .cloned();
                Some(found.ok_or_else(|| {
                    WebError::NotFound(format!(
                        "{} has no series for {}: it has {}",
                        indicator.name,
                        [sex.as_deref(), age]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(", "),
                        all_series
                            .iter()
                            .map(|s| format!("{} {}", s.sex, s.age))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))
                })?)
            }
        }
        .unwrap_or(Series {
            sex: "Persons".into(),
            age: "All ages".into(),
        });
        let is_total = |o: &Observation| series.holds(o);
        // Every period of the series, newest first, for the period picker.
        let mut periods: Vec<syndemic_model::Period> = all
            .iter()
            .filter(|o| is_total(o))
            .map(|o| o.period)
            .collect();
        periods.sort_by_key(|p| std::cmp::Reverse(p.sort_key()));
        periods.dedup();
        let asked = match asked_period.map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(text) => Some(
                syndemic_model::Period::parse(text)
                    .ok()
                    .filter(|p| periods.contains(p))
                    .ok_or_else(|| {
                        WebError::NotFound(format!(
                            "period={text}: {} has values for {}",
                            indicator.name,
                            periods
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?,
            ),
        };
        let headline = all
            .iter()
            .filter(|o| o.area == area && is_total(o))
            .filter(|o| asked.is_none_or(|p| o.period == p))
            .max_by_key(|o| o.period.sort_key())
            .cloned();
        let period = asked.or(headline.as_ref().map(|o| o.period)).or_else(|| {
            all.iter()
                .filter(|o| is_total(o))
                .max_by_key(|o| o.period.sort_key())
                .map(|o| o.period)
        });
        let latest: FxHashMap<AreaCode, Observation> = all
            .iter()
            .filter(|o| Some(o.period) == period && is_total(o))
            .map(|o| (o.area, o.clone()))
            .collect();
        // The newest outlines, unless they leave out some small area with a value
        // (an indicator of 2011 LSOAs): then every vintage's, to choose from.
        let newest = state.shapes().await?;
        let shapes = if small
            .iter()
            .filter(|c| latest.get(c).is_some_and(|o| o.value.is_some()))
            .all(|c| newest.outlines.contains_key(c))
        {
            newest
        } else {
            state.all_shapes().await?
        };
        let mut names: FxHashMap<AreaCode, Option<String>> = FxHashMap::default();
        for c in &small {
            names.insert(*c, store.area(*c).await?.and_then(|a| a.area.name));
        }
        // The areas one level down with values, above the small areas (which the
        // map and funnel show): Trafford's wards, the North West's districts and
        // unitaries — the finest such level among the area's children (the small
        // areas where there is none), never the area itself (a metropolitan
        // district is its own upper tier).
        let mut children: Vec<(AreaCode, Option<String>, Observation)> = Vec::new();
        let links: Vec<_> = store
            .children(area, None)
            .await?
            .into_iter()
            .filter(|l| l.child != area && latest.contains_key(&l.child))
            .collect();
        let level_of = |code: AreaCode| code.area_type().levels().first().copied();
        let mut levels: Vec<syndemic_model::Level> =
            links.iter().filter_map(|l| level_of(l.child)).collect();
        levels.sort();
        levels.dedup();
        let finest = match level {
            Some(asked) => Some(
                syndemic_model::Level::from_key(asked)
                    .filter(|l| levels.contains(l))
                    .ok_or_else(|| {
                        WebError::NotFound(format!(
                            "level={asked}: {area_name} has {} values of {} ranked by {}",
                            indicator.name,
                            "areas below it",
                            levels
                                .iter()
                                .map(|l| l.key())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?,
            ),
            None => levels
                .iter()
                .filter(|level| **level > syndemic_model::Level::Msoa)
                .min()
                // Only small areas below it (a district without ward values): them.
                .or_else(|| levels.iter().min())
                .copied(),
        };
        for link in links
            .iter()
            .filter(|l| finest.is_some() && level_of(l.child) == finest)
        {
            if let Some(o) = latest.get(&link.child) {
                if children.iter().any(|(c, ..)| *c == link.child) {
                    continue;
                }
                let name = store.area(link.child).await?.and_then(|a| a.area.name);
                children.push((link.child, name, o.clone()));
            }
        }
        children.sort_by(|a, b| {
            b.2.value
                .unwrap_or(f64::MIN)
                .total_cmp(&a.2.value.unwrap_or(f64::MIN))
        });
        let mut gradient: Vec<Observation> = all
            .iter()
            .filter(|o| {
                o.area == area
                    && Some(o.period) == period
                    && o.sex == series.sex
                    && o.age == series.age
                    && o.is_deprivation_group()
            })
            .cloned()
            .collect();
        gradient.sort_by_key(|o| o.category.parse::<u32>().unwrap_or(0));
        let sii = state
            .observations(&format!("{id}.sii"))
            .await?
            .iter()
            .find(|o| o.area == area && Some(o.period) == period && o.sex == series.sex)
            .cloned();
        let mut trend: Vec<Observation> = all
            .iter()
            .filter(|o| o.area == area && is_total(o))
            .cloned()
            .collect();
        trend.sort_by_key(|o| o.period.sort_key());
        let england = all
            .iter()
            .filter(|o| o.area.as_str() == ENGLAND && is_total(o))
            .map(|o| (o.period, o.clone()))
            .collect();
        let coverage = store
            .compute_runs(id)
            .await?
            .pop()
            .map(|run| run.coverage)
            .filter(|c| !c.is_empty());
        Ok(View {
            indicator,
            coverage,
            area,
            area_name,
            series,
            default_series,
            all_series,
            levels,
            level: finest,
            level_asked: level.is_some(),
            small_areas,
            neighbourhood,
            periods,
            period_asked: asked.is_some(),
            benchmark: Benchmark::Parent,
            region: store
                .parents(area)
                .await?
                .into_iter()
                .find(|p| p.link.level == syndemic_model::Level::Region)
                .map(|p| {
                    (
                        p.link.parent,
                        p.name.unwrap_or_else(|| p.link.parent.to_string()),
                    )
                }),
            headline,
            period,
            small,
            names,
            latest,
            shapes,
            children,
            gradient,
            sii,
            trend,
            england,
        })
    }

    fn period_text(&self) -> String {
        self.period.map(|p| p.to_string()).unwrap_or_default()
    }

    fn name_of(&self, c: &AreaCode) -> String {
        self.names.get(c).cloned().flatten().unwrap_or_default()
    }

    /// The map's classes (quintiles of the small areas' values, as [`steps`]
    /// places them): each class's lowest and highest value.
    fn classes(&self) -> Vec<Option<(f64, f64)>> {
        let values: Vec<f64> = self
            .small
            .iter()
            .filter_map(|c| self.latest.get(c).and_then(|o| o.value))
            .collect();
        let step = steps(&values);
        let mut out: Vec<Option<(f64, f64)>> = vec![None; 5];
        for v in &values {
            let slot = &mut out[step(*v)];
            *slot = Some(slot.map_or((*v, *v), |(lo, hi)| (lo.min(*v), hi.max(*v))));
        }
        out
    }

    fn with_benchmark(mut self, text: Option<&str>) -> Result<View, WebError> {
        self.benchmark = Benchmark::parse(text)?;
        Ok(self)
    }

    /// How a ranked area compares with the benchmark chosen: as published for
    /// the area shown and England; for the region, its 95 % limits against the
    /// region's value in the same period (`syndemic_stats::compare::compare`).
    fn compared(&self, o: &Observation) -> Option<String> {
        match self.benchmark {
            Benchmark::Parent => o.compared_to_parent.clone(),
            Benchmark::England => o.compared_to_england.clone(),
            Benchmark::Region => {
                let value = self
                    .region
                    .as_ref()
                    .and_then(|(r, _)| self.latest.get(r))
                    .and_then(|r| r.value);
                let polarity = self
                    .indicator
                    .polarity
                    .unwrap_or(syndemic_model::Polarity::NoJudgement);
                Some(
                    syndemic_stats::compare::compare(o.lower95, o.upper95, value, polarity)
                        .wording()
                        .to_owned(),
                )
            }
        }
    }

    /// The benchmark's name and value in the period shown, for the ranked chart.
    fn benchmark_line(&self) -> (String, Option<f64>) {
        match self.benchmark {
            Benchmark::Parent => (
                self.area_name.clone(),
                self.headline.as_ref().and_then(|o| o.value),
            ),
            Benchmark::England => (
                "England".into(),
                AreaCode::parse(ENGLAND)
                    .ok()
                    .and_then(|e| self.latest.get(&e))
                    .and_then(|o| o.value),
            ),
            Benchmark::Region => match &self.region {
                Some((code, name)) => (name.clone(), self.latest.get(code).and_then(|o| o.value)),
                None => ("its region".into(), None),
            },
        }
    }

    /// The choropleth of the small areas, fifths of their values.
    fn map(&self) -> Option<Markup> {
        let values: Vec<f64> = self
            .small
            .iter()
            .filter_map(|c| self.latest.get(c).and_then(|o| o.value))
            .collect();
        let step = steps(&values);
        // The outlines of the indicator's own small areas' vintage.
        let (_, outlines) = self.shapes.for_codes(
            self.small
                .iter()
                .filter(|c| self.latest.get(c).is_some_and(|o| o.value.is_some())),
        );
        let areas: Vec<MapArea> = self
            .small
            .iter()
            .filter_map(|c| {
                let rings = outlines.get(c)?;
                let value = self.latest.get(c).and_then(|o| o.value);
                Some(MapArea {
                    code: *c,
                    rings,
                    step: value.map(&step),
                    label: format!(
                        "{} {}: {}{}",
                        self.name_of(c),
                        c,
                        value.map(fmt).unwrap_or_else(|| "no value".into()),
                        if *c == self.area { " (this area)" } else { "" }
                    ),
                    href: format!("/areas/{c}"),
                    focus: *c == self.area,
                })
            })
            .collect();
        (!areas.is_empty()).then(|| {
            svg::choropleth(
                &areas,
                &match &self.neighbourhood {
                    Some((_, around)) => format!(
                        "{} by small area in {around}, {}, with {} outlined in black",
                        self.indicator.name,
                        self.period_text(),
                        self.area_name
                    ),
                    None => format!(
                        "{} by small area, {}",
                        self.indicator.name,
                        self.period_text()
                    ),
                },
            )
        })
    }

    fn ranked(&self) -> Option<Markup> {
        let bars: Vec<Bar> = self
            .children
            .iter()
            .filter_map(|(c, name, o)| {
                Some(Bar {
                    label: name.clone().unwrap_or_else(|| c.to_string()),
                    value: o.value?,
                    lower: o.lower95,
                    upper: o.upper95,
                    colour: comparison_colour(self.compared(o).as_deref()).0,
                })
            })
            .collect();
        let (against, value) = self.benchmark_line();
        (!bars.is_empty()).then(|| {
            svg::ranked_bars(
                &bars,
                value,
                &format!(
                    "{} ranked, with 95 % limits; dashed line: {against}",
                    self.indicator.name
                ),
            )
        })
    }

    fn ranked_table(&self) -> DataTable {
        let (against, _) = self.benchmark_line();
        let parent = format!("Compared with {against}");
        let mut t = DataTable::new(
            format!("Ranked values, compared with {against}"),
            &["Area", "Code", "Value", "95 % limits", "Count", &parent],
        );
        for (c, name, o) in &self.children {
            t.push(vec![
                Cell::Link {
                    text: name.clone().unwrap_or_else(|| c.to_string()),
                    href: format!("/areas/{c}"),
                },
                Cell::text(c.as_str()),
                Cell::Number(o.value),
                Cell::Range(o.lower95, o.upper95),
                Cell::Number(o.count),
                Cell::text(self.compared(o).unwrap_or_else(|| "Not compared".into())),
            ]);
        }
        t
    }

    fn gradient_chart(&self) -> Option<Markup> {
        let first = self.gradient.first()?;
        charts::gradient_of(
            &self.gradient,
            &format!(
                "{} by {} in {}, {} (1 = most deprived), with the slope index of inequality's line",
                self.indicator.name,
                first.category_type,
                self.area_name,
                self.period_text()
            ),
        )
    }

    fn gradient_table(&self) -> DataTable {
        let caption = match self.gradient.first() {
            Some(o) => format!("{} (1 = most deprived)", o.category_type),
            None => "By deprivation".to_owned(),
        };
        let mut t = DataTable::new(
            caption,
            &["Group", "Value", "95 % limits", "Count", "Population"],
        );
        for o in &self.gradient {
            t.push(vec![
                Cell::text(o.category.clone()),
                Cell::Number(o.value),
                Cell::Range(o.lower95, o.upper95),
                Cell::Number(o.count),
                Cell::Number(o.denominator),
            ]);
        }
        t
    }

    fn trend_chart(&self) -> Option<Markup> {
        let points: Vec<TrendPoint> = self
            .trend
            .iter()
            .map(|o| TrendPoint {
                label: o.period.to_string(),
                value: o.value,
                lower: o.lower95,
                upper: o.upper95,
                benchmark: self.england.get(&o.period).and_then(|e| e.value),
            })
            .collect();
        (points.len() >= 2).then(|| {
            charts::trend(
                &points,
                &self.area_name,
                "England",
                &format!(
                    "{} in {} over time, with 95 % limits, against England",
                    self.indicator.name, self.area_name
                ),
            )
        })
    }

    fn trend_table(&self) -> DataTable {
        let mut t = DataTable::new(
            format!("{} by period", self.area_name),
            &["Period", "Value", "95 % limits", "England", "Recent trend"],
        );
        for o in &self.trend {
            t.push(vec![
                Cell::text(o.period.to_string()),
                Cell::Number(o.value),
                Cell::Range(o.lower95, o.upper95),
                Cell::Number(self.england.get(&o.period).and_then(|e| e.value)),
                Cell::text(o.recent_trend.clone().unwrap_or_default()),
            ]);
        }
        t
    }

    /// The small areas' funnel: proportions around `Σx/Σn` with the Wilson-based
    /// limits, rates and DSRs around `ΣO/Σden` with the Poisson limits (Fingertips'
    /// funnel plot methods); other measures have none.
    fn funnel(&self) -> Option<(Vec<FunnelPoint>, Curves, f64, &'static str)> {
        let measure = self.indicator.measure_type.as_deref()?;
        let rows: Vec<(AreaCode, f64, f64, f64)> = self
            .small
            .iter()
            .filter_map(|c| {
                let o = self.latest.get(c)?;
                Some((*c, o.count?, o.denominator.filter(|d| *d > 0.0)?, o.value?))
            })
            .collect();
        if rows.len() < 3 {
            return None;
        }
        let label = |c: &AreaCode| format!("{} {c}", self.name_of(c));
        let counts: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let dens: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let (sig, xs, curves, average, x_title): (_, Vec<Option<f64>>, _, _, _) = match measure {
            "proportion" => {
                let m = self.indicator.multiplier.unwrap_or(100.0);
                let (average, limits) = funnel::proportion_funnel(&counts, &dens, m).ok()?;
                let sig = funnel::proportion_significance(&counts, &dens, m).ok()?;
                (
                    sig,
                    dens.iter().map(|d| Some(*d)).collect(),
                    Curves::from_rows(&limits),
                    average,
                    "People (denominator)",
                )
            }
            "rate" | "dsr" => {
                let m = self.indicator.multiplier.unwrap_or(100_000.0);
                let kind = if measure == "dsr" {
                    RateType::Dsr
                } else {
                    RateType::Crude
                };
                let values: Vec<Option<f64>> = rows.iter().map(|r| Some(r.3)).collect();
                let given: Vec<Option<f64>> = dens.iter().map(|d| Some(*d)).collect();
                // A DSR's denominator is the one that gives the DSR from its
                // events, `m·O/DSR`, as the reference derives it: so the average
                // and the limits are on the standardised scale.
                let den = (kind == RateType::Crude).then_some(given.as_slice());
                let used = funnel::derived_denominators(&counts, &values, den, kind, m).ok()?;
                let sig = funnel::rate_significance(&counts, &values, den, kind, m).ok()?;
                let average = funnel::average_rate(&counts, &used);
                let top = counts.iter().copied().fold(1.0, f64::max);
                let mut lines: [Vec<(f64, f64)>; 4] = Default::default();
                for o in funnel::axis(0.0, top) {
                    for (k, (pop, rate)) in funnel::rate_limits(o, average, m, 1.0)
                        .into_iter()
                        .enumerate()
                    {
                        lines[k].push((pop, rate));
                    }
                }
                for line in &mut lines {
                    line.sort_by(|a, b| a.0.total_cmp(&b.0));
                }
                let x_title = if kind == RateType::Dsr {
                    "Population (events × multiplier ÷ DSR)"
                } else {
                    "Population"
                };
                (sig, used, Curves { lines }, average * m, x_title)
            }
            _ => return None,
        };
        let points = rows
            .iter()
            .zip(sig)
            .zip(xs)
            .filter_map(|((r, s), x)| {
                Some(FunnelPoint {
                    label: label(&r.0),
                    x: x?,
                    y: r.3,
                    significance: s.label(),
                })
            })
            .collect();
        Some((points, curves, average, x_title))
    }

    fn funnel_chart(&self) -> Option<Markup> {
        let (points, curves, average, x_title) = self.funnel()?;
        let y_title = match self.indicator.unit.as_deref() {
            Some(u) if !u.is_empty() => format!("{} ({u})", self.indicator.name),
            _ => self.indicator.name.clone(),
        };
        Some(charts::funnel(
            &points,
            &curves,
            average,
            (x_title, &y_title),
            &format!(
                "Funnel plot of the small areas of {}: {} against the average {}, with 95 % and 99.8 % control limits",
                self.area_name,
                self.indicator.name,
                fmt(average)
            ),
        ))
    }

    fn funnel_table(&self) -> DataTable {
        let mut t = DataTable::new(
            format!("Small areas of {} against the funnel", self.area_name),
            &["Area", "Code", "Value", "Denominator", "Against the funnel"],
        );
        if let Some((points, ..)) = self.funnel() {
            let mut points = points;
            points.sort_by(|a, b| b.y.total_cmp(&a.y));
            for p in points {
                let code = p.label.rsplit(' ').next().unwrap_or_default().to_owned();
                t.push(vec![
                    Cell::Link {
                        text: p.label.clone(),
                        href: format!("/areas/{code}"),
                    },
                    Cell::text(code),
                    Cell::Number(Some(p.y)),
                    Cell::Number(Some(p.x)),
                    Cell::text(p.significance),
                ]);
            }
        }
        t
    }

    fn chart(&self, name: &str) -> Option<Markup> {
        match name {
            "map" => self.map(),
            "ranked" => self.ranked(),
            "gradient" => self.gradient_chart(),
            "trend" => self.trend_chart(),
            "funnel" => self.funnel_chart(),
            _ => None,
        }
    }

    /// One of the view's tables: one measure each, so each column's numbers are
    /// shown to the same decimals.
    fn table(&self, name: &str) -> Option<DataTable> {
        match name {
            "ranked" => Some(self.ranked_table()),
            "gradient" => Some(self.gradient_table()),
            "trend" => Some(self.trend_table()),
            "funnel" => Some(self.funnel_table()),
            _ => None,
        }
        .map(DataTable::aligned)
    }

    /// The view's query string: its area, and its series where it is not the
    /// default one.
    fn query(&self) -> String {
        let mut q = format!("area={}", self.area);
        if let Some(level) = self.level.filter(|_| self.level_asked) {
            q.push_str(&format!("&level={}", level.key()));
        }
        if self.benchmark != Benchmark::Parent {
            q.push_str(&format!("&benchmark={}", self.benchmark.key()));
        }
        if let Some(p) = self.period.filter(|_| self.period_asked) {
            q.push('&');
            q.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .append_pair("period", &p.to_string())
                    .finish(),
            );
        }
        if self.default_series.as_ref() != Some(&self.series) {
            q.push('&');
            q.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .append_pair("sex", &self.series.sex)
                    .append_pair("age", &self.series.age)
                    .finish(),
            );
        }
        q
    }

    /// The view's query string ranking another level.
    fn query_with_level(&self, level: syndemic_model::Level) -> String {
        let mut q = format!("area={}&level={}", self.area, level.key());
        if self.benchmark != Benchmark::Parent {
            q.push_str(&format!("&benchmark={}", self.benchmark.key()));
        }
        if let Some(p) = self.period.filter(|_| self.period_asked) {
            q.push_str(&format!(
                "&period={}",
                form_urlencoded::byte_serialize(p.to_string().as_bytes()).collect::<String>()
            ));
        }
        if let Some(series) = self.query().split_once("&sex=").map(|(_, rest)| rest) {
            q.push_str("&sex=");
            q.push_str(series);
        }
        q
    }

    fn download(&self, name: &str) -> Download {
        Download {
            path: format!("/indicators/{}/{name}", self.indicator.id),
            query: self.query(),
        }
    }

    /// A chart in a figure with its SVG download link.
    fn figure(&self, name: &str, chart: Markup, caption: Markup) -> Markup {
        let d = self.download(name);
        html! {
            figure {
                (chart)
                figcaption { (caption) " " a href=(d.href("svg")) { "Download the chart (SVG)" } }
            }
        }
    }
}

const CHARTS: [&str; 5] = ["map", "ranked", "gradient", "trend", "funnel"];
const TABLES: [&str; 4] = ["ranked", "gradient", "trend", "funnel"];

pub async fn indicator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<IndicatorQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let key = format!(
        "indicator {id} {} {:?} {:?} {:?} {:?} {:?}",
        query.area.as_deref().unwrap_or(ENGLAND),
        query.sex,
        query.age,
        query.level,
        query.period,
        query.benchmark
    );
    state
        .cached_page(key, &headers, render(&state, id, query))
        .await
}

/// ` (95 % limits A to B)`, or nothing where either limit is blank (a value
/// from fewer than 10 events, or a benchmark published without limits).
fn limits(lower: Option<f64>, upper: Option<f64>) -> String {
    match (lower, upper) {
        (Some(a), Some(b)) => {
            let ends = crate::shell::svg::fmt_alike(&[a, b]);
            format!(" (95 % limits {} to {})", ends[0], ends[1])
        }
        _ => String::new(),
    }
}

async fn render(
    state: &AppState,
    id: String,
    query: IndicatorQuery,
) -> Result<Html<String>, WebError> {
    let v = View::load(
        state,
        &id,
        query.area.as_deref(),
        query.sex.as_deref(),
        query.age.as_deref(),
        query.level.as_deref(),
        query.period.as_deref(),
    )
    .await?
    .with_benchmark(query.benchmark.as_deref())?;
    let unit = v.indicator.unit.clone().unwrap_or_default();
    let table = |name: &str| v.table(name).map(|t| t.html(Some(&v.download(name))));
    let funnel = v.funnel_chart();
    Ok(page(
        state,
        &format!("{} — {}", v.indicator.name, v.area_name),
        html! {
            form method="get" action=(format!("/indicators/{id}")) class="inline series" aria-label="What to show" {
                input type="hidden" name="area" value=(v.area.as_str());
                @if let Some(l) = v.level.filter(|_| v.level_asked) { input type="hidden" name="level" value=(l.key()); }
                label for="period" { "Period " }
                select id="period" name="period" {
                    option value="" selected[!v.period_asked] { "Latest" }
                    @for p in &v.periods { option value=(p.to_string()) selected[v.period_asked && Some(*p) == v.period] { (p.to_string()) } }
                }
                " "
                label for="benchmark" { "Compare the ranked areas with " }
                select id="benchmark" name="benchmark" {
                    option value="parent" selected[v.benchmark == Benchmark::Parent] { (v.area_name) }
                    option value="england" selected[v.benchmark == Benchmark::England] { "England" }
                    @if let Some((_, region)) = &v.region { option value="region" selected[v.benchmark == Benchmark::Region] { (region) " (region)" } }
                }
                " "
            @if v.all_series.len() > 1 {
                    @let sexes = v.all_series.iter().fold(Vec::<&str>::new(), |mut a, s| { if !a.contains(&s.sex.as_str()) { a.push(&s.sex) } a });
                    @let ages = v.all_series.iter().fold(Vec::<&str>::new(), |mut a, s| { if !a.contains(&s.age.as_str()) { a.push(&s.age) } a });
                    label for="series-sex" { "Sex " }
                    select id="series-sex" name="sex" { @for s in &sexes { option value=(s) selected[*s == v.series.sex] { (s) } } }
                    " "
                    label for="series-age" { "Age " }
                    select id="series-age" name="age" { @for a in &ages { option value=(a) selected[*a == v.series.age] { (a) } } }
                    " "
            }
                button type="submit" class="secondary" { "Show" }
            }
            p { "Showing " strong { (v.series.sex) ", " (v.series.age) ", " (v.period_text()) } @if !v.period_asked { " (the latest period)" } "." }
            @if let Some(o) = &v.headline {
                p class="lead" { (v.area_name) ", " (o.period.to_string()) ": " strong { (o.value.map(fmt).unwrap_or_else(|| "no value".into())) } " " (unit) (limits(o.lower95, o.upper95)) }
                @if v.indicator.is_residents_evidence() { p class="hint" { "Residents' evidence, as valuable as routine data: a sample of " (o.denominator.map(fmt).unwrap_or_else(|| "–".into())) " residents who answered; " (v.indicator.ci_method.clone().unwrap_or_default()) "." } }
            }
            @if let Some(d) = &v.indicator.definition { p { (d) } }
            @if v.small_areas > MOST_SMALL_AREAS {
                p { (v.area_name) " has " (v.small_areas) " small areas, more than a map or funnel plot can show here: choose a region, county or district below for its map." }
            }
            @if let Some(map) = v.map() {
                @if let Some((code, around)) = &v.neighbourhood {
                    h2 { "Map of " (v.area_name) " among the small areas of " a href=(format!("/indicators/{id}?area={code}")) { (around) } }
                } @else {
                    h2 { "Map of the small areas of " (v.area_name) }
                }
                @let classes = v.classes();
                (v.figure("map", svg::skippable(map, v.small.len(), "indicator-map"), html! {
                    "Classes are quintiles: each holds a fifth of the small areas, ranked by value (lightest lowest). "
                    ul class="legend" aria-label="The map's classes" {
                        @for (i, (lo, hi)) in classes.iter().enumerate().filter_map(|(i, c)| c.map(|c| (i, c))) {
                            li { span class="key" style=(format!("background:{};color:{}", SCALE[i].0, SCALE[i].1)) { (i + 1) } " " (fmt(lo)) " to " (fmt(hi)) " " (unit) }
                        }
                        li { span class="key" style="background:#d9d9d9;color:#000000" { "–" } " no value" }
                    }
                    "The funnel plot's table lists each small area's figures."
                }))
            }
            @if let Some(chart) = v.ranked() {
                h2 { "Areas within " (v.area_name) ", ranked" }
                @if v.levels.len() > 1 {
                    nav aria-label="Level of the areas ranked" class="levels" {
                        "Rank: "
                        @for (n, l) in v.levels.iter().enumerate() {
                            @if n > 0 { " · " }
                            @if Some(*l) == v.level { strong aria-current="true" { (plural(l.label())) } }
                            @else { a href=(format!("/indicators/{id}?{}", v.query_with_level(*l))) { (plural(l.label())) } }
                        }
                    }
                }
                (v.figure("ranked", chart, html! { "Bars coloured by comparison with " (v.area_name) "; whiskers: 95 % limits." }))
                (table("ranked").unwrap_or_default())
            }
            @if !v.gradient.is_empty() {
                h2 { "By deprivation" }
                @if let Some(chart) = v.gradient_chart() {
                    (v.figure("gradient", chart, html! { "Bars: each group's value, as wide as its share of the population; dashed red line: the slope index of inequality's fitted line; bracket: the gap between the most and least deprived groups." }))
                }
                (table("gradient").unwrap_or_default())
                @if let Some(s) = &v.sii { p { "Slope index of inequality: " strong { (s.value.map(fmt).unwrap_or_else(|| "not computed".into())) } (limits(s.lower95, s.upper95)) ": the modelled gap between the most and least deprived ends." } }
                @if let (Some(a), Some(b)) = (v.gradient.first().and_then(|o| o.value), v.gradient.last().and_then(|o| o.value)) {
                    @if v.gradient.len() > 1 { p { "Gap between the most and least deprived groups: " strong { (fmt((a - b).abs())) } " (" (fmt(a)) " against " (fmt(b)) ")." } }
                }
            }
            @if !v.trend.is_empty() {
                h2 { "Over time" }
                @if let Some(chart) = v.trend_chart() {
                    (v.figure("trend", chart, html! { "Solid blue: " (v.area_name) " with 95 % limits; dashed red: England." }))
                }
                (table("trend").unwrap_or_default())
            }
            @if let Some(chart) = funnel {
                h2 { "Funnel plot of the small areas" }
                (v.figure("funnel", chart, html! { "Each small area's value against its denominator; squares lie outside the 99.8 % limits." }))
                (table("funnel").unwrap_or_default())
            }
            p { a href=(format!("/api/v1/indicators/{id}/data?parent={}&format=csv", v.area)) { "Download every figure for the areas within " (v.area_name) " (CSV)" } }
            h2 { "About this indicator" }
            dl class="about" {
                dt { "Unit" } dd { (v.indicator.unit.as_deref().unwrap_or("not given")) }
                @if let Some(t) = &v.indicator.value_type { dt { "Value type" } dd { (t) } }
                dt { "Polarity" } dd { (match v.indicator.polarity { Some(Polarity::HigherIsBetter) => "higher is better", Some(Polarity::LowerIsBetter) => "lower is better", _ => "no judgement" }) }
                dt { "Source" } dd { (v.indicator.source.as_deref().unwrap_or("not given")) }
                @if let Some(m) = &v.indicator.ci_method { dt { "Confidence intervals" } dd { (m) } }
                @if let Some(y) = &v.indicator.year_type { dt { "Year type" } dd { (y) } }
                @if let Some(c) = &v.coverage { dt { "Coverage" } dd { "Computed here from counts by small area; " (c) "." } }
                dt { "Small numbers" } dd { (match v.indicator.disclosure_rule() { Some(rule) => format!("{rule}, and any figure from which one could be worked out"), None => "every count published (no small-number rule)".into() }) }
            }
        },
    ))
}

/// `/indicators/{id}/{name}.{svg|csv|xlsx}`: one chart or table of the view.
pub async fn download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(query): Query<IndicatorQuery>,
) -> Result<Response, WebError> {
    let Some((name, ext)) = file.rsplit_once('.') else {
        return Err(unknown(&file));
    };
    let known = match ext {
        "svg" => CHARTS.contains(&name),
        "csv" | "xlsx" => TABLES.contains(&name),
        _ => false,
    };
    if !known {
        return Err(unknown(&file));
    }
    let v = View::load(
        &state,
        &id,
        query.area.as_deref(),
        query.sex.as_deref(),
        query.age.as_deref(),
        query.level.as_deref(),
        query.period.as_deref(),
    )
    .await?
    .with_benchmark(query.benchmark.as_deref())?;
    let stem = format!("{}-{}-{name}", v.indicator.id, v.area);
    Ok(match ext {
        "svg" => svg::download(
            v.chart(name).ok_or_else(|| {
                WebError::NotFound(format!(
                    "{} has no {name} chart in {}: too few values to draw",
                    v.indicator.name, v.area_name
                ))
            })?,
            &stem,
        ),
        _ => v
            .table(name)
            .ok_or_else(|| unknown(&file))?
            .respond(ext, &stem)?,
    })
}

fn unknown(file: &str) -> WebError {
    WebError::NotFound(format!(
        "no download `{file}`: charts are {}.svg; tables are {}.csv or .xlsx",
        CHARTS.join(".svg, "),
        TABLES.join(", ")
    ))
}

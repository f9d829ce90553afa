//! The records the store keeps. Codes and periods are parsed values, never raw text.

use syndemic_model::{AreaCode, AreaType, Level, Period};

#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub code: AreaCode,
    pub name: Option<String>,
    /// Created from a code met in data (e.g. an abolished county in an old export)
    /// rather than from a lookup: its parents are unknown.
    pub no_known_parent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AreaInfo {
    pub area: Area,
    pub area_type: AreaType,
    /// The geography vintages the area belongs to (`LSOA11`, `LSOA21`, `WD19`, …).
    pub vintages: Vec<String>,
}

/// One pair of a lookup between two vintages of the same kind of area: `source` of
/// `source_vintage` (e.g. `LSOA21`) overlaps `target` of `target_vintage` (`LSOA11`).
/// An area split or merged between vintages has several pairs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Correspondence {
    pub source: AreaCode,
    pub source_vintage: String,
    pub target: AreaCode,
    pub target_vintage: String,
}

/// A best-fit parent link from a lookup: `child` lies in `parent`, which is at
/// `level` in the lookup of `vintage` (e.g. ward, `2019`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AreaLink {
    pub child: AreaCode,
    pub parent: AreaCode,
    pub level: Level,
    pub vintage: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParentInfo {
    pub link: AreaLink,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaCount {
    pub area_type: AreaType,
    pub areas: i64,
    pub no_known_parent: i64,
}

/// One area's rank, decile and (where published) score in one domain of one edition
/// of the Indices of Deprivation. Rank 1 is the most deprived; ranks may tie.
#[derive(Debug, Clone, PartialEq)]
pub struct Deprivation {
    pub area: AreaCode,
    /// `IoD2019` or `IoD2025`.
    pub edition: String,
    /// `imd`, `income`, `employment`, `education`, `health`, `crime`,
    /// `housing`, `environment`, `idaci`, `idaopi`, ….
    pub domain: String,
    pub rank: i64,
    pub decile: i64,
    pub score: Option<f64>,
}

/// A population count of an area for a period, sex and age band.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub area: AreaCode,
    pub period: Period,
    /// `Persons`, `Male` or `Female`.
    pub sex: String,
    /// An age band as published (`All ages`, `0-4`, `90+`, `Aged 4 years and under`).
    pub age: String,
    pub population: f64,
    /// Where it came from (e.g. `IoD2019 File 6`, `Census 2021`).
    pub source: String,
}

pub use syndemic_model::Polarity;

/// Small-number disclosure control: counts from `min` to `max` (e.g. 1–4) are not
/// published, and neither is any cell from which a suppressed one could be derived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Disclosure {
    pub min: f64,
    pub max: f64,
}

impl Disclosure {
    /// The rule of an indicator that sets none: counts from 1 to 4 withheld, the
    /// small-number practice of ONS, NHS England and OHID for health statistics.
    pub const DEFAULT: Disclosure = Disclosure { min: 1.0, max: 4.0 };
    /// No rule: every count published (an empty range, stored so that it is not
    /// taken for "unset").
    pub const NONE: Disclosure = Disclosure { min: 1.0, max: 0.0 };

    /// Whether the rule publishes every count.
    pub fn is_none(self) -> bool {
        self.min.is_nan() || self.max.is_nan() || self.min > self.max
    }

    /// Reads `1-4` (counts 1 to 4 withheld), `1-9`, or `none`.
    pub fn parse(text: &str) -> Result<Disclosure, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(Disclosure::NONE);
        }
        let bad = || {
            format!(
                "disclosure rule `{t}`: give the range of counts to withhold as MIN-MAX (e.g. 1-4), or `none`"
            )
        };
        let (a, b) = t.split_once('-').ok_or_else(bad)?;
        let (min, max): (f64, f64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if !(min.is_finite() && max.is_finite() && min >= 0.0 && min <= max) {
            return Err(bad());
        }
        Ok(Disclosure { min, max })
    }
}

impl std::fmt::Display for Disclosure {
    /// `counts 1–4 withheld` or `no small-number rule`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_none() {
            f.write_str("no small-number rule")
        } else {
            write!(f, "counts {}–{} withheld", self.min, self.max)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    pub definition: Option<String>,
    /// `proportion`, `crude-rate`, `dsr`, `life-expectancy`, `ratio`, `mean`, `count`.
    pub measure_type: Option<String>,
    pub multiplier: Option<f64>,
    pub polarity: Option<Polarity>,
    pub unit: Option<String>,
    pub source: Option<String>,
    pub licence: Option<String>,
    /// The policy objective it is grouped under (`early_years`, `education`,
    /// `work`, `income`, `healthy_places`, `prevention`; none: "other").
    pub domain: Option<String>,
    pub disclosure: Option<Disclosure>,
    /// As published: `Directly standardised rate`, `Proportion`, `Life expectancy`…
    pub value_type: Option<String>,
    /// How its confidence intervals are computed (`Wilson Score method`).
    pub ci_method: Option<String>,
    /// `Calendar`, `Financial`, `Academic`…
    pub year_type: Option<String>,
}

/// How the source of residents' evidence ends ([`Indicator::is_residents_evidence`]).
pub const RESIDENTS_EVIDENCE: &str = "(community)";

impl Indicator {
    /// The small-number rule in force: the indicator's own, or
    /// [`Disclosure::DEFAULT`] when it sets none; `None` when it publishes every count.
    pub fn disclosure_rule(&self) -> Option<Disclosure> {
        let rule = self.disclosure.unwrap_or(Disclosure::DEFAULT);
        (!rule.is_none()).then_some(rule)
    }

    /// Whether the indicator is residents' evidence — published from a residents'
    /// survey (its source names the survey and ends `(community)`) — to be
    /// labelled so, with its sample size, wherever it is shown.
    pub fn is_residents_evidence(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(|s| s.ends_with(RESIDENTS_EVIDENCE))
    }

    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Indicator {
        Indicator {
            id: id.into(),
            name: name.into(),
            definition: None,
            measure_type: None,
            multiplier: None,
            polarity: None,
            unit: None,
            source: None,
            licence: None,
            domain: None,
            disclosure: None,
            value_type: None,
            ci_method: None,
            year_type: None,
        }
    }
}

/// One published or computed value of an indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub indicator: String,
    pub area: AreaCode,
    pub period: Period,
    pub sex: String,
    pub age: String,
    /// Empty when the value is for the whole population of the area.
    pub category_type: String,
    pub category: String,
    pub count: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub lower95: Option<f64>,
    pub upper95: Option<f64>,
    pub lower998: Option<f64>,
    pub upper998: Option<f64>,
    pub note: Option<String>,
    /// Against England and against the parent area, as Fingertips words it
    /// (`Better`, `Similar`, `Worse`, `Higher`, `Lower`, `Not compared`).
    pub compared_to_england: Option<String>,
    pub compared_to_parent: Option<String>,
    /// The recent trend as Fingertips words it.
    pub recent_trend: Option<String>,
}

impl Observation {
    /// Whether this is the value of a deprivation group of its area (a national
    /// decile, a local quintile), as opposed to the whole area's or a group of
    /// target areas' ([`syndemic_model::TARGET_AREAS`]).
    pub fn is_deprivation_group(&self) -> bool {
        !self.category.is_empty() && self.category_type != syndemic_model::TARGET_AREAS
    }
}

/// The summary of one import, kept in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// `lookups`, `imd`, `fingertips`, `counts`, `population`, `boundaries`.
    pub kind: String,
    pub file: String,
    pub rows: i64,
    /// Rows about areas outside England, skipped.
    pub skipped: i64,
    /// Areas created from codes met for the first time without a known parent.
    pub created_without_parent: i64,
}

/// One run of the compute engine: what it computed, by which method, from which
/// inputs, and the key of those inputs (a run with the same key is not repeated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeRun {
    pub input_key: String,
    pub indicator: String,
    /// E.g. `dsr (Dobson limits, ESP2013)`.
    pub method: String,
    /// A description of the inputs: files and their fingerprints, editions, vintages.
    pub inputs: String,
    pub observations: i64,
    /// What the run published and left out: the areas of each level whose every
    /// LSOA the counts cover, and each area covered only in part, with its share
    /// (e.g. `England E92000001: 138 of 32,844 LSOAs`).
    pub coverage: String,
}

/// An area's boundary in one vintage, as GeoJSON geometry text (lon/lat, CRS84):
/// the published one, for point-in-polygon lookups, and a simplified one for
/// drawing; with its bounding box `[min lon, min lat, max lon, max lat]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    pub code: AreaCode,
    pub vintage: String,
    pub geometry: String,
    pub simplified: String,
    pub bbox: [f64; 4],
}

/// One postcode of the ONS postcode directory.
#[derive(Debug, Clone, PartialEq)]
pub struct PostcodeRecord {
    /// Normal form: upper case, one space before the inward code (`M33 7XX`).
    pub postcode: String,
    pub lsoa11: Option<AreaCode>,
    pub lsoa21: Option<AreaCode>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// One row of counts a partner holds (deaths, admissions, people vaccinated) in the
/// tidy long layout, in a named dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    pub dataset: String,
    pub area: AreaCode,
    pub period: Period,
    /// `Persons` when the file has no sex.
    pub sex: String,
    /// `All ages` when the file has no age band.
    pub age_band: String,
    pub numerator: f64,
    /// Denominator or population, where given.
    pub denominator: Option<f64>,
}

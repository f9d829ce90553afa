//! Coverage and benchmarks: an aggregate is published as an area's value only when
//! the counts cover every LSOA of the area in the geography; England's and the
//! regions' values may instead come from outside, from a benchmark.
//!
//! A council holds counts for its own residents only. Summed over its LSOAs they
//! make its districts' and wards' values; summed "over England" they make the
//! council's own value again, under England's name, and every comparison with
//! England then compares the place with itself. So an aggregate over an area the
//! counts do not fully cover (in the period) is not published at all — not as a
//! value, not as a comparator, not as a deprivation group (national deciles follow
//! England, a district's local quintiles follow the district) — and the real
//! comparator is read from a published source: a Fingertips export of the same
//! measure, or a file of England and region values.

use std::path::{Path, PathBuf};

use syndemic_model::{AreaType, Sex};

use super::*;

/// Where the England and region values come from when the counts are local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Benchmark {
    /// An indicator already in the store (e.g. imported from Fingertips): its England
    /// and region rows.
    Indicator(String),
    /// A CSV file `area,period,sex,age,value,lower_95,upper_95` (Fingertips' export
    /// headers `Area Code`, `Time period`, `Sex`, `Age`, `Value`, `Lower CI 95.0
    /// limit`, `Upper CI 95.0 limit` are read too).
    File(PathBuf),
}

impl Benchmark {
    /// What a stored value names as its source: the indicator, or the file's name
    /// (not its folder, which says nothing to a reader and differs between runs).
    pub fn label(&self) -> String {
        match self {
            Benchmark::Indicator(id) => format!("indicator {id}"),
            Benchmark::File(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
        }
    }
}

impl std::fmt::Display for Benchmark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Benchmark::Indicator(id) => write!(f, "indicator {id}"),
            Benchmark::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// An area whose aggregate was left out because the counts cover only part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    pub area: AreaCode,
    /// `England`, `region`, `combined authority`, `county`, `district` or `ward`.
    pub level: &'static str,
    /// LSOAs with counts (the most in any period) and LSOAs of the area.
    pub covered: usize,
    pub total: usize,
}

impl std::fmt::Display for Withheld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} of {} LSOAs — not published",
            self.level,
            self.area,
            thousands(self.covered),
            thousands(self.total)
        )
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn level_name(grouping: Grouping) -> Option<&'static str> {
    match grouping {
        Grouping::Ward => Some("ward"),
        Grouping::District => Some("district"),
        Grouping::County => Some("county"),
        Grouping::CombinedAuthority => Some("combined authority"),
        Grouping::Region => Some("region"),
        Grouping::England => Some("England"),
        Grouping::Lsoa
        | Grouping::NationalDecile
        | Grouping::LocalQuintile
        | Grouping::CountyQuintile
        | Grouping::Target => None,
    }
}

/// Which groups are published (one flag per group), and the areas left out: an
/// aggregate is published when every LSOA of its area in the geography has counts
/// in its period; an LSOA's own value always is.
/// A target group is published when every one of its areas has counts.
pub(super) fn coverage(
    groups: &[Group],
    geography: &Geography,
    targets: &[TargetGroup],
) -> (Vec<bool>, Vec<Withheld>) {
    let england = AreaCode::parse(ENGLAND).expect("England's code is well formed");
    // A Welsh LSOA in a lookup of England and Wales is no part of England.
    let parents = |i: usize| {
        [
            geography.ward[i],
            geography.district[i],
            geography.county[i],
            geography.combined[i],
            geography.region[i],
            geography.lsoa[i]
                .as_str()
                .starts_with('E')
                .then_some(england),
        ]
        .into_iter()
        .flatten()
    };
    let index: FxHashMap<AreaCode, usize> = geography
        .lsoa
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i))
        .collect();
    let mut total: FxHashMap<AreaCode, usize> = FxHashMap::default();
    for i in 0..geography.lsoa.len() {
        for p in parents(i) {
            *total.entry(p).or_default() += 1;
        }
    }
    // England is as large as the deprivation edition's national table, even where
    // the lookups in the store hold only a place's own LSOAs.
    let in_england = total.entry(england).or_default();
    *in_england = (*in_england).max(geography.national);
    // Which LSOAs have counts, by period and sex (a total of a sex is published
    // only where every LSOA gives that sex).
    let mut present: rustc_hash::FxHashSet<(AreaCode, Period, &str)> = Default::default();
    for g in groups.iter().filter(|g| g.grouping == Grouping::Lsoa) {
        present.insert((g.area, g.period, g.sex.as_str()));
    }
    let mut covered: FxHashMap<(AreaCode, Period, &str), usize> = FxHashMap::default();
    for (lsoa, period, sex) in &present {
        if let Some(&i) = index.get(lsoa) {
            for p in parents(i) {
                *covered.entry((p, *period, *sex)).or_default() += 1;
            }
        }
    }
    let mut withheld: FxHashMap<AreaCode, Withheld> = FxHashMap::default();
    let published = groups
        .iter()
        .map(|g| {
            let area = match g.grouping {
                Grouping::Lsoa => return true,
                Grouping::Target => {
                    let t = &targets[usize::from(g.category) - 1];
                    return t
                        .areas
                        .iter()
                        .all(|a| present.contains(&(*a, g.period, g.sex.as_str())));
                }
                Grouping::NationalDecile => england,
                _ => g.area,
            };
            let whole = total.get(&area).copied().unwrap_or(0);
            let have = covered
                .get(&(area, g.period, g.sex.as_str()))
                .copied()
                .unwrap_or(0);
            if have >= whole {
                return true;
            }
            if let Some(level) = level_name(g.grouping) {
                let entry = withheld.entry(area).or_insert(Withheld {
                    area,
                    level,
                    covered: 0,
                    total: whole,
                });
                entry.covered = entry.covered.max(have);
            }
            false
        })
        .collect();
    let mut withheld: Vec<Withheld> = withheld.into_values().collect();
    let rank = |w: &Withheld| match w.level {
        "England" => 0,
        "region" => 1,
        "combined authority" => 2,
        "county" => 3,
        "district" => 4,
        _ => 5,
    };
    withheld.sort_by_key(|w| (rank(w), w.area));
    (published, withheld)
}

/// What a run published and left out, in words, for the record kept with it: how
/// many areas of each level were published (the counts cover every LSOA of each),
/// and each area left out with its share.
pub(super) fn describe(groups: &[Group], published: &[bool], withheld: &[Withheld]) -> String {
    const LEVELS: [(Grouping, &str, &str); 8] = [
        (Grouping::Lsoa, "LSOA", "LSOAs"),
        (Grouping::Ward, "ward", "wards"),
        (Grouping::District, "district", "districts"),
        (Grouping::County, "county", "counties"),
        (
            Grouping::CombinedAuthority,
            "combined authority",
            "combined authorities",
        ),
        (Grouping::Region, "region", "regions"),
        (Grouping::England, "England", "England"),
        (
            Grouping::Target,
            "group of target areas or community place",
            "groups of target areas and community places",
        ),
    ];
    let mut areas: FxHashMap<Grouping, rustc_hash::FxHashSet<(AreaCode, u8)>> =
        FxHashMap::default();
    for (g, publish) in groups.iter().zip(published) {
        if *publish {
            areas
                .entry(g.grouping)
                .or_default()
                .insert((g.area, g.category));
        }
    }
    let counted: Vec<String> = LEVELS
        .iter()
        .filter_map(|(grouping, one, many)| {
            let n = areas.get(grouping).map_or(0, |a| a.len());
            match n {
                0 => None,
                1 => Some(format!("1 {one}")),
                n => Some(format!("{} {many}", thousands(n))),
            }
        })
        .collect();
    let mut text = if counted.is_empty() {
        "published: nothing".to_owned()
    } else {
        format!(
            "published (the counts cover every LSOA of each): {}",
            counted.join(", ")
        )
    };
    if !withheld.is_empty() {
        let parts: Vec<String> = withheld
            .iter()
            .map(|w| {
                format!(
                    "{} {}: {} of {} LSOAs",
                    w.level,
                    w.area,
                    thousands(w.covered),
                    thousands(w.total)
                )
            })
            .collect();
        text.push_str(&format!(
            "; not published (the counts cover part of the area): {}",
            parts.join("; ")
        ));
    }
    text
}

/// One benchmark value: England's or a region's, for a period and sex.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BenchmarkValue {
    pub area: AreaCode,
    pub period: Period,
    pub sex: String,
    pub value: Option<f64>,
    pub lower95: Option<f64>,
    pub upper95: Option<f64>,
}

/// The England and region values of a benchmark, for the regions in `regions`.
pub(super) async fn read_benchmark(
    store: &dyn Store,
    benchmark: &Benchmark,
    regions: &rustc_hash::FxHashSet<AreaCode>,
) -> Result<Vec<BenchmarkValue>, EngineError> {
    let wanted = |area: AreaCode| area.area_type() == AreaType::England || regions.contains(&area);
    let rows = match benchmark {
        Benchmark::Indicator(id) => {
            let observations: Vec<Observation> = store
                .observations(Some(id))
                .await?
                .into_iter()
                .filter(|o| o.category.is_empty() && wanted(o.area))
                .collect();
            let ages: std::collections::BTreeSet<&str> =
                observations.iter().map(|o| o.age.as_str()).collect();
            if ages.len() > 1 {
                return Err(input(format!(
                    "benchmark indicator {id} has England or region values for several age groups ({}); a benchmark is one series: give a file of the one age group",
                    ages.into_iter().collect::<Vec<_>>().join(", ")
                )));
            }
            if observations.is_empty() {
                return Err(input(format!(
                    "benchmark indicator {id} has no values for England or a region of the geography: import it first (e.g. `syndemic import fingertips FILE`)"
                )));
            }
            observations
                .into_iter()
                .map(|o| BenchmarkValue {
                    area: o.area,
                    period: o.period,
                    sex: o.sex,
                    value: o.value,
                    lower95: o.lower95,
                    upper95: o.upper95,
                })
                .collect()
        }
        Benchmark::File(path) => read_benchmark_file(path, &wanted)?,
    };
    Ok(rows)
}

/// Reads a benchmark file: one row per area, period and sex of England or a region;
/// other areas are skipped, a repeated row or a bad number is refused with its line.
fn read_benchmark_file(
    path: &Path,
    wanted: &dyn Fn(AreaCode) -> bool,
) -> Result<Vec<BenchmarkValue>, EngineError> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| input(format!("{shown}: cannot read the benchmark file: {e}")))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| input(format!("{shown}: cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let find = |names: &[&str], what: &str| -> Result<Option<usize>, EngineError> {
        let at = headers.iter().position(|h| names.contains(&h.as_str()));
        if at.is_none() && !what.is_empty() {
            return Err(input(format!(
                "{shown}: no {what} column (looked for {}); a benchmark file has area,period,sex,age,value,lower_95,upper_95 or Fingertips' export headers",
                names.join(", ")
            )));
        }
        Ok(at)
    };
    let area = find(&["area", "area code", "areacode"], "area")?.unwrap_or(0);
    let period = find(&["period", "time period", "timeperiod"], "period")?.unwrap_or(0);
    let value = find(&["value"], "value")?.unwrap_or(0);
    let sex = find(&["sex"], "")?;
    let age = find(&["age"], "")?;
    let lower = find(
        &["lower_95", "lower ci 95.0 limit", "lower95", "lower 95"],
        "",
    )?;
    let upper = find(
        &["upper_95", "upper ci 95.0 limit", "upper95", "upper 95"],
        "",
    )?;
    let category = find(&["category type"], "")?;
    let mut out = Vec::new();
    let mut seen: FxHashMap<(AreaCode, Period, String), u64> = FxHashMap::default();
    let mut ages: std::collections::BTreeSet<String> = Default::default();
    for record in reader.records() {
        let record = record.map_err(|e| input(format!("{shown}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let at = |col: usize, message: String| {
            input(format!(
                "{shown}: line {line}, column {} ({}): {message}",
                col + 1,
                headers.get(col).map(String::as_str).unwrap_or("")
            ))
        };
        if category.is_some_and(|c| !cell(c).is_empty()) {
            continue;
        }
        let Ok(code) = AreaCode::parse(cell(area)) else {
            continue;
        };
        if !wanted(code) {
            continue;
        }
        let when = Period::parse(cell(period)).map_err(|e| at(period, e.to_string()))?;
        let sex_text = match sex {
            Some(c) => Sex::parse(cell(c))
                .map(|s| s.label().to_owned())
                .ok_or_else(|| {
                    at(
                        c,
                        format!("`{}` is not a sex: write Persons, Male or Female", cell(c)),
                    )
                })?,
            None => "Persons".into(),
        };
        if let Some(c) = age {
            ages.insert(cell(c).to_owned());
        }
        let number = |col: Option<usize>, what: &str| -> Result<Option<f64>, EngineError> {
            let Some(c) = col else { return Ok(None) };
            let text = cell(c).replace(',', "");
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| at(c, format!("the {what} `{}` is not a number", cell(c))))
        };
        let row = BenchmarkValue {
            area: code,
            period: when,
            sex: sex_text,
            value: number(Some(value), "value")?,
            lower95: number(lower, "lower limit")?,
            upper95: number(upper, "upper limit")?,
        };
        if let Some(first) = seen.insert((row.area, row.period, row.sex.clone()), line) {
            return Err(at(
                area,
                format!(
                    "{} {} {} is given twice (lines {first} and {line}); a benchmark has one value per area, period and sex",
                    row.area, row.period, row.sex
                ),
            ));
        }
        out.push(row);
    }
    if ages.len() > 1 {
        return Err(input(format!(
            "{shown}: values for several age groups ({}); a benchmark is one series: keep the rows of the indicator's own age group",
            ages.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    if out.is_empty() {
        return Err(input(format!(
            "{shown}: no values for England (E92000001) or a region of the geography"
        )));
    }
    Ok(out)
}

/// Puts the benchmark's values in place of the computed England and region values:
/// every computed row of a benchmarked area goes, and the benchmark's rows for the
/// periods of the counts come in. Each carries the benchmark's source in its note, and no
/// counts. Returns how many values were used.
pub(super) fn apply_benchmark(
    observations: &mut Vec<Observation>,
    groups: &mut Vec<Group>,
    values: &[BenchmarkValue],
    source: &Benchmark,
    indicator: &str,
) -> usize {
    // England's deprivation deciles summed from the counts are the place's own
    // LSOAs by decile, not England's: with England's value from outside, they go.
    if values
        .iter()
        .any(|v| v.area.area_type() == AreaType::England)
    {
        let keep: Vec<bool> = groups
            .iter()
            .map(|g| g.grouping != Grouping::NationalDecile)
            .collect();
        let mut k = keep.iter();
        observations.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        groups.retain(|_| *k.next().unwrap_or(&true));
    }
    // A benchmarked area's values are all the benchmark's: none summed from the
    // counts survives beside them, in any period or sex.
    let benchmarked: rustc_hash::FxHashSet<AreaCode> = values.iter().map(|v| v.area).collect();
    let keep: Vec<bool> = groups
        .iter()
        .map(|g| {
            !(matches!(g.grouping, Grouping::England | Grouping::Region)
                && benchmarked.contains(&g.area))
        })
        .collect();
    let mut k = keep.iter();
    observations.retain(|_| *k.next().unwrap_or(&true));
    let mut k = keep.iter();
    groups.retain(|_| *k.next().unwrap_or(&true));
    let periods: rustc_hash::FxHashSet<Period> = groups.iter().map(|g| g.period).collect();
    let mut used = 0;
    for v in values.iter().filter(|v| periods.contains(&v.period)) {
        used += 1;
        let row = Observation {
            indicator: indicator.to_owned(),
            area: v.area,
            period: v.period,
            sex: v.sex.clone(),
            age: "All ages".into(),
            category_type: String::new(),
            category: String::new(),
            count: None,
            denominator: None,
            value: v.value,
            lower95: v.lower95,
            upper95: v.upper95,
            lower998: None,
            upper998: None,
            note: Some(format!("Benchmark: {}", source.label())),
            compared_to_england: None,
            compared_to_parent: None,
            recent_trend: None,
        };
        groups.push(Group {
            grouping: if v.area.area_type() == AreaType::England {
                Grouping::England
            } else {
                Grouping::Region
            },
            area: v.area,
            category: 0,
            period: v.period,
            sex: v.sex.clone(),
        });
        observations.push(row);
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> AreaCode {
        AreaCode::parse(c).unwrap()
    }

    fn group(grouping: Grouping, area: &str) -> Group {
        Group {
            grouping,
            area: code(area),
            category: 0,
            period: Period::parse("2020").unwrap(),
            sex: "Persons".into(),
        }
    }

    /// Two districts of one region; counts for the first district only.
    #[test]
    fn an_area_the_counts_cover_in_part_is_not_published() {
        let d1 = Some(code("E08000009"));
        let d2 = Some(code("E08000010"));
        let region = Some(code("E12000002"));
        let geography = Geography {
            lsoa: vec![code("E01000001"), code("E01000002"), code("E01000003")],
            ward: vec![None; 3],
            district: vec![d1, d1, d2],
            county: vec![None; 3],
            combined: vec![None; 3],
            region: vec![region; 3],
            decile: vec![Some(1); 3],
            local_quintile: vec![Some(1); 3],
            county_quintile: vec![None; 3],
            national: 3,
        };
        let groups = vec![
            group(Grouping::Lsoa, "E01000001"),
            group(Grouping::Lsoa, "E01000002"),
            group(Grouping::District, "E08000009"),
            group(Grouping::Region, "E12000002"),
            group(Grouping::England, ENGLAND),
            group(Grouping::NationalDecile, ENGLAND),
            group(Grouping::LocalQuintile, "E08000009"),
        ];
        let (published, withheld) = coverage(&groups, &geography, &[]);
        assert_eq!(published, [true, true, true, false, false, false, true]);
        assert_eq!(withheld.len(), 2);
        assert_eq!(
            withheld[0].to_string(),
            "England E92000001: 2 of 3 LSOAs — not published"
        );
        assert_eq!(withheld[1].level, "region");
        assert_eq!(thousands(32_844), "32,844");
    }

    #[test]
    fn a_benchmark_file_in_fingertips_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("england.csv");
        std::fs::write(
            &path,
            "Indicator ID,Area Code,Area Type,Sex,Age,Category Type,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit\n\
             1,E92000001,England,Persons,All ages,,2020,101.5,100.1,102.9\n\
             1,E92000001,England,Persons,All ages,Deprivation decile,2020,1,1,1\n\
             1,E12000002,Region,Female,All ages,,2020,99,\"97.0\",101\n\
             1,E08000009,District,Persons,All ages,,2020,5,4,6\n",
        )
        .unwrap();
        let yes = |_: AreaCode| true;
        let not_districts = |a: AreaCode| a.area_type() != AreaType::MetropolitanDistrict;
        let rows = read_benchmark_file(&path, &not_districts).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].value, Some(101.5));
        assert_eq!(rows[1].sex, "Female");
        assert_eq!(rows[1].lower95, Some(97.0));
        std::fs::write(
            &path,
            "area,period,value\nE92000001,2020,1\nE92000001,2020,2\n",
        )
        .unwrap();
        let err = read_benchmark_file(&path, &yes).unwrap_err().to_string();
        assert!(err.contains("lines 2 and 3"), "{err}");
        std::fs::write(&path, "area,period,value\nE92000001,2020,lots\n").unwrap();
        let err = read_benchmark_file(&path, &yes).unwrap_err().to_string();
        assert!(err.contains("line 2, column 3 (value)"), "{err}");
    }
}

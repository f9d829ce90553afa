//! ONS geography lookups: files whose columns are GSS codes at several levels
//! (`LSOA11CD`, `WD19CD`, `LAD19CD`, `UTLA19CD`, `RGN19CD`, …), each with its name
//! beside it (`LSOA11NM`). Columns are recognised by their header names; the
//! finest level in the file is the child, every coarser column a parent.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use syndemic_model::{AreaCode, AreaType, CodeVerdict, Level};
use syndemic_store::{Area, AreaLink, Correspondence, ImportRecord, Store, StoreTx};

use crate::read::{normalise, Row, Table};
use crate::{ImportError, ImportSummary};

/// Choices for a lookup import.
#[derive(Debug, Clone, Default)]
pub struct LookupOptions {
    /// The year to assume for columns whose header carries none (`LADCD`), e.g.
    /// `2019`. Without it such columns are imported as unversioned.
    pub vintage: Option<String>,
}

/// A geography column of a lookup file.
#[derive(Debug, Clone)]
struct GeoColumn {
    index: usize,
    name_index: Option<usize>,
    header: String,
    level: Level,
    allowed: &'static [AreaType],
    what: &'static str,
    /// `LSOA11`, `WD19`, or `LAD` when the header has no year.
    member_vintage: String,
    /// `2011`, `2019`, or empty when unknown.
    year: String,
}

const DISTRICTS: &[AreaType] = &[
    AreaType::UnitaryAuthority,
    AreaType::NonMetropolitanDistrict,
    AreaType::MetropolitanDistrict,
    AreaType::LondonBorough,
];
const UPPER_TIER: &[AreaType] = &[
    AreaType::UnitaryAuthority,
    AreaType::MetropolitanDistrict,
    AreaType::LondonBorough,
    AreaType::County,
];

/// A recognised geography header: its level, the area types its codes may have,
/// what to call them, the member vintage (`LSOA11`) and the year (`2011`).
pub(crate) type Recognised = (
    Level,
    &'static [AreaType],
    &'static str,
    String,
    Option<String>,
);

/// Recognises `LSOA11CD`, `WD19CD`, `LADCD`, `UTLA19CD`, `CTYUA21CD`, `CAUTH24CD`,
/// `RGN19CD`, `ICB23CD`, `CTRY19CD` (any case).
pub(crate) fn geo_column(header: &str) -> Option<Recognised> {
    let upper = header.trim().to_ascii_uppercase();
    // The ONS's first exact-fit LSOA 2011 → 2021 lookup writes `F_LSOA11CD`.
    let upper = upper.strip_prefix("F_").unwrap_or(&upper);
    let stem = upper.strip_suffix("CD")?;
    let digits = stem.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, yy) = stem.split_at(stem.len() - digits);
    let year = match yy.len() {
        0 => None,
        2 => {
            let n: u32 = yy.parse().ok()?;
            Some(if n >= 70 { 1900 + n } else { 2000 + n }.to_string())
        }
        _ => return None,
    };
    let (level, allowed, what): (Level, &'static [AreaType], &'static str) = match prefix {
        "LSOA" => (Level::Lsoa, &[AreaType::Lsoa], "LSOA"),
        "MSOA" => (Level::Msoa, &[AreaType::Msoa], "MSOA"),
        "WD" => (Level::Ward, &[AreaType::Ward], "ward"),
        "LAD" | "LTLA" => (Level::LowerTierAuthority, DISTRICTS, "district"),
        "UTLA" | "CTYUA" => (
            Level::UpperTierAuthority,
            UPPER_TIER,
            "upper-tier authority",
        ),
        "CTY" => (Level::UpperTierAuthority, &[AreaType::County], "county"),
        "RGN" | "GOR" => (Level::Region, &[AreaType::Region], "region"),
        "CAUTH" => (
            Level::CombinedAuthority,
            &[AreaType::CombinedAuthority],
            "combined authority",
        ),
        "ICB" => (Level::Icb, &[AreaType::Icb], "ICB"),
        "CTRY" => (Level::England, &[AreaType::England], "country"),
        _ => return None,
    };
    Some((level, allowed, what, format!("{prefix}{yy}"), year))
}

fn columns(table: &Table, options: &LookupOptions) -> (Vec<GeoColumn>, Vec<String>) {
    let mut geo = Vec::new();
    let mut ignored = Vec::new();
    for (index, header) in table.headers().iter().enumerate() {
        match geo_column(header) {
            Some((level, allowed, what, member, year)) => {
                let name_header = format!("{}NM", &header.trim()[..header.trim().len() - 2]);
                let year = year.or_else(|| options.vintage.clone()).unwrap_or_default();
                // `LADCD` with `--vintage 2019` belongs to LAD19.
                let member_vintage = match &options.vintage {
                    Some(v) if !member.bytes().any(|b| b.is_ascii_digit()) => {
                        format!("{member}{}", &v[v.len().saturating_sub(2)..])
                    }
                    _ => member,
                };
                geo.push(GeoColumn {
                    index,
                    name_index: table.find(&[&name_header, name_header.trim_start_matches("F_")]),
                    header: header.clone(),
                    level,
                    allowed,
                    what,
                    member_vintage,
                    year,
                });
            }
            None => {
                let is_name =
                    normalise(header).ends_with("nm") || normalise(header).ends_with("nmw");
                if !is_name && normalise(header) != "fid" && normalise(header) != "objectid" {
                    ignored.push(header.clone());
                }
            }
        }
    }
    geo.sort_by_key(|c| (c.level, c.year.clone()));
    (geo, ignored)
}

struct Batch {
    areas: Vec<Area>,
    vintages: Vec<(AreaCode, String)>,
    links: Vec<AreaLink>,
    correspondences: Vec<Correspondence>,
    written_areas: FxHashSet<AreaCode>,
    /// (area, vintage) pairs written: an LSOA whose code did not change in 2021
    /// belongs to both LSOA11 and LSOA21.
    written_vintages: FxHashSet<(AreaCode, String)>,
}

impl Batch {
    async fn flush(&mut self, tx: &mut dyn StoreTx, file: &str) -> Result<(), ImportError> {
        let to_store = |e| ImportError::store(file, e);
        tx.put_areas(&self.areas).await.map_err(to_store)?;
        tx.put_vintages(&self.vintages).await.map_err(to_store)?;
        tx.put_links(&self.links).await.map_err(to_store)?;
        tx.put_correspondences(&self.correspondences)
            .await
            .map_err(to_store)?;
        self.areas.clear();
        self.vintages.clear();
        self.links.clear();
        self.correspondences.clear();
        Ok(())
    }
}

/// What a cell of a geography column holds.
enum Cell {
    Blank,
    Outside,
    Area(AreaCode),
}

fn cell(row: &Row<'_>, column: &GeoColumn) -> Result<Cell, ImportError> {
    let text = row.required(column.index)?;
    if text.is_empty() {
        return Ok(Cell::Blank);
    }
    match AreaCode::classify(text) {
        Ok(CodeVerdict::OutsideEngland(_)) => Ok(Cell::Outside),
        Ok(CodeVerdict::England(code)) => code
            .expect(column.allowed, column.what)
            .map(Cell::Area)
            .map_err(|e| row.error(column.index, e.to_string())),
        Err(e) => Err(row.error(column.index, e.to_string())),
    }
}

/// Imports one lookup file in one transaction.
pub async fn import_lookups(
    store: &dyn Store,
    path: &Path,
    options: &LookupOptions,
) -> Result<ImportSummary, ImportError> {
    let mut table = Table::open(path)?;
    let file = table.file.clone();
    let (geo, ignored) = columns(&table, options);
    if geo.is_empty() {
        return Err(ImportError::file(
            &file,
            format!(
                "no geography code columns: a lookup has headers such as LSOA11CD, WD19CD, LAD19CD, UTLA19CD, RGN19CD (found: {})",
                table.headers().join(", ")
            ),
        ));
    }
    let mut summary = ImportSummary {
        file: file.clone(),
        used_columns: geo.iter().map(|c| c.header.clone()).collect(),
        ignored_columns: ignored,
        ..ImportSummary::default()
    };
    let mut tx = store
        .begin()
        .await
        .map_err(|e| ImportError::store(&file, e))?;
    let mut batch = Batch {
        areas: Vec::new(),
        vintages: Vec::new(),
        links: Vec::new(),
        correspondences: Vec::new(),
        written_areas: FxHashSet::default(),
        written_vintages: FxHashSet::default(),
    };
    // Child code → line first seen; (child, level, vintage) → (parent, line).
    let mut seen_children: FxHashMap<AreaCode, u64> = FxHashMap::default();
    let mut seen_links: FxHashMap<(AreaCode, Level, String), (AreaCode, u64)> =
        FxHashMap::default();
    // (level, vintage) → the links the store held before this import, read once.
    let mut stored: FxHashMap<(Level, String), FxHashMap<AreaCode, AreaCode>> =
        FxHashMap::default();
    let child = geo[0].clone();
    // A lookup between vintages of the child's kind (LSOA11CD, LSOA21CD) lists an
    // area once per area it overlaps.
    let between_vintages = geo.iter().filter(|c| c.level == child.level).count() > 1;
    let mut cells: Vec<Option<AreaCode>> = Vec::with_capacity(geo.len());
    while let Some(row) = table.next_row()? {
        summary.rows += 1;
        let line = row.line;
        cells.clear();
        let mut outside = false;
        for column in &geo {
            match cell(&row, column)? {
                Cell::Blank => cells.push(None),
                Cell::Outside => {
                    outside |= column.index == child.index;
                    cells.push(None);
                }
                Cell::Area(code) => cells.push(Some(code)),
            }
        }
        if outside {
            summary.skipped_outside_england += 1;
            continue;
        }
        let Some(child_code) = cells[0] else {
            return Err(row.error(
                child.index,
                format!(
                    "blank {} code: every row of a lookup needs its {}",
                    child.what, child.header
                ),
            ));
        };
        if let Some(first) = seen_children
            .insert(child_code, line)
            .filter(|_| !between_vintages)
        {
            return Err(row.error(
                child.index,
                format!("duplicate key: {child_code} is also on line {first}; a lookup lists each area once"),
            ));
        }
        for (column, code) in geo.iter().zip(&cells) {
            let Some(code) = code else { continue };
            if batch.written_areas.insert(*code) {
                let name = column
                    .name_index
                    .map(|i| row.get(i).to_owned())
                    .filter(|n| !n.is_empty());
                batch.areas.push(Area {
                    code: *code,
                    name,
                    no_known_parent: false,
                });
                summary.areas += 1;
            }
            if batch
                .written_vintages
                .insert((*code, column.member_vintage.clone()))
            {
                batch.vintages.push((*code, column.member_vintage.clone()));
            }
        }
        // Each column is linked to every coarser one (LSOA → ward, LSOA → district,
        // ward → district); two columns of one level and different years make a
        // lookup between vintages (LSOA11 ↔ LSOA21), many to many as areas split
        // and merge.
        for (i, lower) in geo.iter().enumerate() {
            let Some(lower_code) = cells[i] else { continue };
            // Where a lookup holds two dated vintages of one level (the exact-fit
            // LSOA 2011 → 2021 → district 2022), a coarser column of the newer
            // vintage's year or later holds the newer areas' parents: a 2011 LSOA
            // split across two 2022 districts has no one district of its own. An
            // undated column, or a coarser one older than the newer vintage
            // (`la_all_codes.csv`'s LADCD and UTLACD beside its LAD20CD), keeps
            // its links.
            let superseded = |upper: &GeoColumn| {
                !lower.year.is_empty()
                    && geo.iter().zip(&cells).any(|(c, code)| {
                        c.level == lower.level
                            && c.year > lower.year
                            && c.year <= upper.year
                            && code.is_some()
                    })
            };
            for (j, upper) in geo.iter().enumerate().skip(i + 1) {
                let Some(upper_code) = cells[j] else { continue };
                if upper.level != lower.level && superseded(upper) {
                    continue;
                }
                if upper.level == lower.level {
                    if upper.year != lower.year {
                        batch.correspondences.push(Correspondence {
                            source: lower_code,
                            source_vintage: lower.member_vintage.clone(),
                            target: upper_code,
                            target_vintage: upper.member_vintage.clone(),
                        });
                        summary.links += 1;
                    }
                    continue;
                }
                let key = (lower_code, upper.level, upper.year.clone());
                match seen_links.get(&key) {
                    Some((parent, _)) if *parent == upper_code => continue,
                    Some((parent, first)) => {
                        return Err(row.error(
                            upper.index,
                            format!(
                                "{lower_code} is in {upper_code} here but in {parent} on line {first}: a lookup gives each area one parent per level"
                            ),
                        ))
                    }
                    None => {
                        seen_links.insert(key, (upper_code, line));
                    }
                }
                // A link the store already holds for this area, level and vintage,
                // from an earlier file, is never silently replaced.
                let held = match stored.entry((upper.level, upper.year.clone())) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(
                        store
                            .links(upper.level, &upper.year)
                            .await
                            .map_err(|e| ImportError::store(&file, e))?
                            .into_iter()
                            .map(|l| (l.child, l.parent))
                            .collect(),
                    ),
                };
                if let Some(earlier) = held.get(&lower_code).filter(|p| **p != upper_code) {
                    let vintage = if upper.year.is_empty() {
                        "unversioned lookups".to_string()
                    } else {
                        format!("lookups of vintage {}", upper.year)
                    };
                    return Err(row.error(
                        upper.index,
                        format!(
                            "{lower_code} is in {upper_code} here, but an earlier import put it in {earlier} ({vintage}); a lookup never replaces another's link: if this file describes another year, import it with its own --vintage (e.g. --vintage 2024)"
                        ),
                    ));
                }
                batch.links.push(AreaLink {
                    child: lower_code,
                    parent: upper_code,
                    level: upper.level,
                    vintage: upper.year.clone(),
                });
                summary.links += 1;
            }
        }
        if batch.links.len() + batch.areas.len() + batch.correspondences.len() >= ROWS_PER_BATCH {
            batch.flush(tx.as_mut(), &file).await?;
        }
    }
    batch.flush(tx.as_mut(), &file).await?;
    if summary.rows == 0 {
        return Err(ImportError::file(
            &file,
            "the file has a header but no data rows",
        ));
    }
    finish(tx, &summary, "lookups").await?;
    Ok(summary)
}

/// Rows an importer holds before writing them, in every importer but Fingertips'
/// (whose rows are wide enough to need smaller batches): memory stays bounded
/// however long the file, and each batch is one multi-row statement per table.
pub(crate) const ROWS_PER_BATCH: usize = 5_000;

/// Areas met in a data file that no imported lookup holds are created, with the
/// name the file gives if any, marked as having no known parent — so they are
/// shown as such, never dropped. Counts them in the summary; returns how many.
pub(crate) async fn create_unknown_areas(
    tx: &mut dyn StoreTx,
    file: &str,
    met: impl IntoIterator<Item = (AreaCode, Option<String>)>,
    summary: &mut ImportSummary,
) -> Result<u64, ImportError> {
    let met: FxHashMap<AreaCode, Option<String>> = met.into_iter().collect();
    let codes: Vec<AreaCode> = met.keys().copied().collect();
    let missing = tx
        .missing_areas(&codes)
        .await
        .map_err(|e| ImportError::store(file, e))?;
    if let Some(code) = missing
        .iter()
        .find(|c| c.area_type() == AreaType::Community)
    {
        return Err(ImportError::file(
            file,
            format!(
                "{code} is the code of a community-defined place the store does not hold: such places are made by `syndemic community define`, never by an import; correct the code or define the place first"
            ),
        ));
    }
    let created: Vec<Area> = missing
        .iter()
        .map(|code| Area {
            code: *code,
            name: met.get(code).cloned().flatten(),
            no_known_parent: true,
        })
        .collect();
    tx.put_areas(&created)
        .await
        .map_err(|e| ImportError::store(file, e))?;
    let n = created.len() as u64;
    summary.created_without_parent += n;
    Ok(n)
}

/// Records the import and commits.
pub(crate) async fn finish(
    mut tx: Box<dyn StoreTx>,
    summary: &ImportSummary,
    kind: &str,
) -> Result<(), ImportError> {
    let file = summary.file.clone();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    tx.record_import(&ImportRecord {
        kind: kind.to_owned(),
        file: file.clone(),
        rows: count(summary.rows),
        skipped: count(summary.skipped_outside_england),
        created_without_parent: count(summary.created_without_parent),
    })
    .await
    .map_err(|e| ImportError::store(&file, e))?;
    tx.commit().await.map_err(|e| ImportError::store(&file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_published_headers() {
        let (level, _, _, member, year) = geo_column("LSOA11CD").unwrap();
        assert_eq!(
            (level, member.as_str(), year.as_deref()),
            (Level::Lsoa, "LSOA11", Some("2011"))
        );
        let (level, _, _, member, year) = geo_column("lad19cd").unwrap();
        assert_eq!(
            (level, member.as_str(), year.as_deref()),
            (Level::LowerTierAuthority, "LAD19", Some("2019"))
        );
        let (level, _, _, member, year) = geo_column("RGNCD").unwrap();
        assert_eq!((level, member.as_str(), year), (Level::Region, "RGN", None));
        assert!(geo_column("LADCD_ACTIVE").is_none());
        assert!(geo_column("FID").is_none());
        let (level, _, _, member, year) = geo_column("CAUTH24CD").unwrap();
        assert_eq!(
            (level, member.as_str(), year.as_deref()),
            (Level::CombinedAuthority, "CAUTH24", Some("2024"))
        );
        // Both published headers of the exact-fit LSOA 2011 → 2021 lookup.
        for header in ["LSOA11CD", "F_LSOA11CD"] {
            let (level, _, _, member, year) = geo_column(header).unwrap();
            assert_eq!(
                (level, member.as_str(), year.as_deref()),
                (Level::Lsoa, "LSOA11", Some("2011"))
            );
        }
    }
}

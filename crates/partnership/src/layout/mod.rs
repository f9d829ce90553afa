//! The spreadsheets partners bring — their organisations, business lists, ONS UK
//! Business Counts, anchor measures, social value and action plans — read from CSV
//! or XLSX bytes into checked rows.
//!
//! Reading is all-or-nothing: every row is checked, every broken rule is reported
//! with its line (the spreadsheet's row number, header = 1), column and field, and
//! nothing is returned unless every row is good — so an import either stores the
//! whole file or nothing. Headers are matched loosely (case, spaces, underscores and
//! punctuation ignored) and in any order; unknown columns are ignored, missing
//! required ones reported once.

mod business;
mod partners;
mod plans;
mod responses;

use std::fmt;
use std::io::Cursor;

use serde::Serialize;
use syndemic_model::{AreaCode, Period};

use crate::access::MemberRole;
use crate::sector::{Sector, SizeBand};
use crate::target::TargetRule;
use syndemic_model::date::parse_day as parse_date;

pub use business::*;
pub use partners::*;
pub use plans::*;
pub use responses::*;
/// One problem in one place of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The spreadsheet row (the header is row 1); 0 for the file as a whole.
    pub line: usize,
    /// The column's letter (A, B, …, AA), if the problem is in one cell.
    pub column: Option<String>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.column, self.line) {
            (_, 0) => write!(f, "{}: {}", self.field, self.message),
            (Some(c), l) => write!(f, "line {l}, column {c} ({}): {}", self.field, self.message),
            (None, l) => write!(f, "line {l} ({}): {}", self.field, self.message),
        }
    }
}

/// Every problem found in a file (at most [`MAX_PROBLEMS`] listed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct LayoutError {
    pub file: String,
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more: usize,
}

pub const MAX_PROBLEMS: usize = 50;

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: nothing was imported; fix ", self.file)?;
        if self.problems.len() == 1 {
            write!(f, "this and import it again: ")?;
        } else {
            write!(
                f,
                "these {} problems and import it again:",
                self.problems.len() + self.more
            )?;
        }
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        if self.more > 0 {
            write!(f, "\n  … and {} more", self.more)?;
        }
        Ok(())
    }
}

/// A sheet: its header and rows of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub file: String,
    /// The spreadsheet line (1-based) the header is on: after any blank lines and
    /// a title line above it.
    pub header_line: usize,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn file_error(file: &str, message: String) -> LayoutError {
    LayoutError {
        file: file.into(),
        problems: vec![Problem {
            line: 0,
            column: None,
            field: "file".into(),
            message,
        }],
        more: 0,
    }
}

/// What an uploaded workbook may hold.
#[derive(Debug, Clone, Copy)]
pub struct WorkbookLimits {
    /// Bytes of the archive's files unpacked, all together.
    pub unpacked_bytes: u64,
    pub rows: u32,
    pub columns: u32,
    /// Filled cells.
    pub cells: usize,
}

/// The limits of every workbook read: far above a place's partners, businesses
/// or anchors (hundreds of rows, tens of columns), far below what would hurt a
/// server (a grid of 100,000 × 256 text cells is held at most once per upload).
pub const WORKBOOK_LIMITS: WorkbookLimits = WorkbookLimits {
    unpacked_bytes: 64 << 20,
    rows: 100_000,
    columns: 256,
    cells: 2_000_000,
};

/// Unpacks every file of the archive to nowhere, stopping past `most` bytes: the
/// sizes an archive declares are not trusted.
fn unpacked_size(file: &str, bytes: &[u8], most: u64) -> Result<u64, LayoutError> {
    use std::io::Read;
    let unreadable =
        |e: &dyn fmt::Display| file_error(file, format!("not readable as an Excel workbook: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| unreadable(&e))?;
        let budget = most - total;
        total += std::io::copy(&mut entry.take(budget + 1), &mut std::io::sink())
            .map_err(|e| unreadable(&e))?;
        if total > most {
            return Err(file_error(
                file,
                format!(
                    "the workbook unpacks to more than {} MB: an upload this large is refused; save the table alone, or as CSV",
                    most >> 20
                ),
            ));
        }
    }
    Ok(total)
}

impl Sheet {
    /// Reads CSV (UTF-8, a BOM allowed) or, when the bytes are a ZIP archive, the
    /// first worksheet of an XLSX workbook.
    pub fn read(file: &str, bytes: &[u8]) -> Result<Sheet, LayoutError> {
        if bytes.starts_with(b"PK\x03\x04") {
            return Sheet::read_xlsx(file, bytes);
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| {
            file_error(
                file,
                format!("the file is not UTF-8 text (byte {}): save it as CSV UTF-8 or as an Excel workbook", e.valid_up_to()),
            )
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| {
                file_error(file, format!("line {}: not readable as CSV: {e}", i + 1))
            })?;
            rows.push(rec.iter().map(|c| c.trim().to_owned()).collect::<Vec<_>>());
        }
        Sheet::from_rows(file, rows)
    }

    /// The first worksheet of a workbook, within [`WORKBOOK_LIMITS`]: the archive
    /// is unpacked (to nowhere) before anything is parsed, so a zip bomb is refused
    /// having cost at most the limit; cells are then read one at a time, and a cell
    /// beyond the last row or column allowed is refused before any grid is made (a
    /// sheet whose only cells are A1 and XFD1048576 would otherwise ask for a grid
    /// of 17 billion cells).
    fn read_xlsx(file: &str, bytes: &[u8]) -> Result<Sheet, LayoutError> {
        use calamine::{Data, Reader, Xlsx};
        let limits = WORKBOOK_LIMITS;
        unpacked_size(file, bytes, limits.unpacked_bytes)?;
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
            .map_err(|e| file_error(file, format!("not readable as an Excel workbook: {e}")))?;
        let first = book
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| file_error(file, "the workbook has no worksheet".into()))?;
        let mut reader = book
            .worksheet_cells_reader(&first)
            .map_err(|e| file_error(file, format!("worksheet `{first}`: {e}")))?;
        let mut cells: Vec<(u32, u32, String)> = Vec::new();
        while let Some(cell) = reader
            .next_cell()
            .map_err(|e| file_error(file, format!("worksheet `{first}`: {e}")))?
        {
            let (row, column) = cell.get_position();
            if row >= limits.rows || column >= limits.columns {
                return Err(file_error(
                    file,
                    format!(
                        "worksheet `{first}` has a cell at {}{}, beyond the {} rows and {} columns an upload may have: delete the cells outside the table, or split the file",
                        column_letter(column as usize),
                        u64::from(row) + 1,
                        limits.rows,
                        limits.columns
                    ),
                ));
            }
            let text = match Data::from(cell.get_value().clone()) {
                Data::Empty => continue,
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                Data::DateTimeIso(s) | Data::DurationIso(s) => {
                    s.split('T').next().unwrap_or(&s).to_owned()
                }
                Data::DateTime(d) => {
                    // Excel's serial day: 1899-12-30 is day 0.
                    syndemic_model::date::format_day(2_415_019 + d.as_f64().floor() as i64)
                }
                other => other.to_string().trim().to_owned(),
            };
            if cells.len() >= limits.cells {
                return Err(file_error(
                    file,
                    format!(
                        "worksheet `{first}` has more than {} filled cells: split the file",
                        limits.cells
                    ),
                ));
            }
            cells.push((row, column, text));
        }
        // Rows and columns from the first used ones, as the sheet's used range.
        let top = cells.iter().map(|c| c.0).min().unwrap_or(0);
        let left = cells.iter().map(|c| c.1).min().unwrap_or(0);
        let height = cells.iter().map(|c| c.0 - top + 1).max().unwrap_or(0) as usize;
        let width = cells.iter().map(|c| c.1 - left + 1).max().unwrap_or(0) as usize;
        let mut rows = vec![vec![String::new(); width]; height];
        for (row, column, text) in cells {
            rows[(row - top) as usize][(column - left) as usize] = text;
        }
        Sheet::from_rows(file, rows)
    }

    fn from_rows(file: &str, mut rows: Vec<Vec<String>>) -> Result<Sheet, LayoutError> {
        let filled = |r: &[String]| r.iter().filter(|c| !c.is_empty()).count();
        // Blank lines above the header are skipped, and so is a title line — one
        // cell alone above a row of several, as a workbook's caption sits above
        // its headings (our own XLSX downloads and templates are laid out so).
        let mut skip = 0;
        while skip < rows.len() && filled(&rows[skip]) == 0 {
            skip += 1;
        }
        if skip + 1 < rows.len() && filled(&rows[skip]) == 1 && filled(&rows[skip + 1]) >= 2 {
            skip += 1;
        }
        if skip >= rows.len() {
            return Err(file_error(
                file,
                "the file is empty: it needs a header row and at least one row of data".into(),
            ));
        }
        let mut rows = rows.split_off(skip);
        let header = rows.remove(0);
        Ok(Sheet {
            file: file.into(),
            header_line: skip + 1,
            header,
            rows,
        })
    }
}

/// The spreadsheet letter of a 0-based column.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn loose(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A column a layout reads: its name in the template, other names it is known
/// by, and whether it must be there.
struct Column {
    name: &'static str,
    aliases: &'static [&'static str],
    required: bool,
}

const fn req(name: &'static str, aliases: &'static [&'static str]) -> Column {
    Column {
        name,
        aliases,
        required: true,
    }
}

const fn opt(name: &'static str, aliases: &'static [&'static str]) -> Column {
    Column {
        name,
        aliases,
        required: false,
    }
}

/// Reads the rows of a sheet through a layout, gathering every problem.
struct Reading<'a> {
    sheet: &'a Sheet,
    index: Vec<Option<usize>>,
    problems: Vec<Problem>,
    more: usize,
}

/// One row being read.
struct Row<'r, 'a> {
    reading: &'r mut Reading<'a>,
    cells: &'a [String],
    line: usize,
    columns: &'static [Column],
}

impl<'a> Reading<'a> {
    fn new(sheet: &'a Sheet, columns: &'static [Column]) -> Reading<'a> {
        let keys: Vec<String> = sheet.header.iter().map(|h| loose(h)).collect();
        let index = columns
            .iter()
            .map(|c| {
                std::iter::once(c.name)
                    .chain(c.aliases.iter().copied())
                    .find_map(|n| keys.iter().position(|k| *k == loose(n)))
            })
            .collect::<Vec<_>>();
        let mut r = Reading {
            sheet,
            index,
            problems: Vec::new(),
            more: 0,
        };
        for (c, i) in columns.iter().zip(r.index.clone()) {
            if c.required && i.is_none() {
                r.problem(
                    1,
                    None,
                    c.name,
                    format!(
                        "the header has no `{}` column (it has: {}); add it, or start from the template",
                        c.name,
                        sheet.header.join(", ")
                    ),
                );
            }
        }
        if sheet.rows.iter().all(|r| r.iter().all(String::is_empty)) {
            r.problem(
                0,
                None,
                "file",
                "there are no rows of data under the header".into(),
            );
        }
        r
    }

    fn problem(&mut self, line: usize, column: Option<usize>, field: &str, message: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                line,
                column: column.map(column_letter),
                field: field.into(),
                message,
            });
        } else {
            self.more += 1;
        }
    }

    /// Each non-blank row, with its spreadsheet line.
    fn rows(&self) -> Vec<(usize, &'a [String])> {
        self.sheet
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
            .map(|(i, r)| (i + self.sheet.header_line + 1, r.as_slice()))
            .collect()
    }

    fn finish<T>(self, out: Vec<T>) -> Result<Vec<T>, LayoutError> {
        if self.problems.is_empty() {
            Ok(out)
        } else {
            Err(LayoutError {
                file: self.sheet.file.clone(),
                problems: self.problems,
                more: self.more,
            })
        }
    }
}

impl Row<'_, '_> {
    fn at(&self, name: &str) -> (Option<usize>, &str) {
        let k = self
            .columns
            .iter()
            .position(|c| c.name == name)
            .expect("a layout reads only its own columns");
        let i = self.reading.index[k];
        (
            i,
            i.and_then(|i| self.cells.get(i))
                .map(String::as_str)
                .unwrap_or(""),
        )
    }

    fn text(&self, name: &str) -> String {
        self.at(name).1.to_owned()
    }

    fn fail(&mut self, name: &str, message: String) {
        let (i, _) = self.at(name);
        let line = self.line;
        self.reading.problem(line, i, name, message);
    }

    /// A required text cell.
    fn need(&mut self, name: &str) -> String {
        let v = self.text(name);
        if v.is_empty() {
            self.fail(name, "is empty: every row needs it".into());
        }
        v
    }

    fn parse<T>(&mut self, name: &str, what: &str, f: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let v = self.text(name);
        if v.is_empty() {
            return None;
        }
        let parsed = f(&v);
        if parsed.is_none() {
            self.fail(name, format!("`{v}` is not {what}"));
        }
        parsed
    }

    fn number(&mut self, name: &str) -> Option<f64> {
        self.parse(name, "a number", |v| {
            v.replace([',', '£'], "")
                .trim_end_matches('%')
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
        })
    }

    fn count(&mut self, name: &str) -> Option<u64> {
        self.parse(name, "a whole number of 0 or more", |v| {
            v.replace(',', "").parse::<u64>().ok()
        })
    }

    /// A share as a fraction 0–1, written as 0.35 or 35%.
    fn share(&mut self, name: &str) -> Option<f64> {
        self.parse(name, "a share: write 35% or 0.35", |v| {
            let pct = v.ends_with('%');
            let x: f64 = v.trim_end_matches('%').trim().parse().ok()?;
            let x = if pct || x > 1.0 { x / 100.0 } else { x };
            (0.0..=1.0).contains(&x).then_some(x)
        })
    }

    fn yes_no(&mut self, name: &str) -> Option<bool> {
        self.parse(name, "yes or no", |v| {
            match v.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "1" => Some(true),
                "no" | "n" | "false" | "0" => Some(false),
                _ => None,
            }
        })
    }

    fn area(&mut self, name: &str) -> Option<AreaCode> {
        let v = self.text(name);
        if v.is_empty() {
            return None;
        }
        match AreaCode::parse(&v) {
            Ok(c) => Some(c),
            Err(e) => {
                self.fail(name, e.to_string());
                None
            }
        }
    }
}

fn read_rows<T>(
    sheet: &Sheet,
    columns: &'static [Column],
    mut each: impl FnMut(&mut Row<'_, '_>) -> Option<T>,
) -> Result<Vec<T>, LayoutError> {
    let mut reading = Reading::new(sheet, columns);
    if !reading.problems.is_empty() {
        return reading.finish(Vec::new());
    }
    let mut out = Vec::new();
    for (line, cells) in reading.rows() {
        let before = reading.problems.len() + reading.more;
        let mut row = Row {
            reading: &mut reading,
            cells,
            line,
            columns,
        };
        let v = each(&mut row);
        if reading.problems.len() + reading.more == before {
            out.extend(v);
        }
    }
    reading.finish(out)
}

/// The header of a layout's template, in order.
fn template(columns: &[Column]) -> Vec<&'static str> {
    columns.iter().map(|c| c.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &str) -> Sheet {
        Sheet::read("test.csv", text.as_bytes()).unwrap()
    }

    /// A workbook as a person (or our own downloads) would lay one out: a title
    /// in the first row, headings in the second, numbers and dates as such.
    fn workbook() -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "Hartmoor plan").unwrap();
        for (c, h) in [
            "reference",
            "title",
            "lead",
            "baseline_value",
            "target_value",
            "target_date",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string(1, c as u16, *h).unwrap();
        }
        sheet.write_string(2, 0, "C1").unwrap();
        sheet.write_string(2, 1, "Warm homes").unwrap();
        sheet.write_string(2, 2, "council").unwrap();
        sheet.write_number(2, 3, 14.5).unwrap();
        sheet.write_number(2, 4, 10).unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2028, 3, 31).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_datetime_with_format(2, 5, &date, &format)
            .unwrap();
        sheet.write_string(3, 0, "C2").unwrap();
        sheet.write_string(3, 1, "Good work").unwrap();
        sheet.write_string(3, 2, "council").unwrap();
        sheet.write_string(3, 4, "ten").unwrap();
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn an_xlsx_workbook_is_read_with_its_title_numbers_and_dates() {
        let bytes = workbook();
        let s = Sheet::read("plan.xlsx", &bytes).unwrap();
        assert_eq!(s.header_line, 2);
        assert_eq!(s.rows[0][3..], ["14.5", "10", "2028-03-31"]);
        // The bad cell is named by its spreadsheet line and column.
        let e = read_commitments(&s).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("plan.xlsx: nothing was imported"), "{text}");
        assert!(text.contains("line 4, column E (target_value)"), "{text}");
    }

    #[test]
    fn a_title_above_the_header_is_skipped_and_lines_still_count_from_the_top() {
        let s = sheet("Commitments,,\nreference,title,lead\nC1,Warm homes,\n");
        assert_eq!(s.header_line, 2);
        assert_eq!(s.header, vec!["reference", "title", "lead"]);
        let e = read_commitments(&s).unwrap_err();
        assert_eq!(e.problems[0].line, 3, "{e}");
        assert_eq!(e.problems[0].column.as_deref(), Some("C"), "{e}");
        // A one-column sheet's header is not taken for a title.
        let one = sheet("name\nMill Bakery\n");
        assert_eq!((one.header_line, one.header.len()), (1, 1));
    }

    #[test]
    fn columns_are_lettered_as_spreadsheets_letter_them() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn partners_are_read_with_loose_headers() {
        let s = sheet("\u{feff}ID,Name,Sector,Sub Type,Employees,Local Employee Share,Anchor\nhartmoor-fire,Hartmoor Fire,public-services,fire-and-rescue,640,72%,no\nhartmoor-nhs,Hartmoor NHS Trust,Health and care,nhs-trust,\"6,200\",0.81,yes\n");
        let rows = read_partners(&s).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].size_band, Some(SizeBand::Large));
        assert_eq!(rows[0].local_employee_share, Some(0.72));
        assert!(rows[1].anchor);
        assert_eq!(rows[1].employees, Some(6200));
        assert_eq!(rows[1].sector, Sector::HealthAndCare);
    }

    #[test]
    fn every_bad_row_is_reported_where_it_is_and_nothing_returned() {
        let s = sheet("id,name,sector,sub_type,employees,size_band\nok,Fine,vcse,charity,5,micro\nBad Id,X,vcse,,,\ndup,Y,police,,,\ndup,Z,business,employer,300,small\n");
        let e = read_partners(&s).unwrap_err();
        let at: Vec<(usize, Option<&str>, &str)> = e
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_deref(), p.field.as_str()))
            .collect();
        assert_eq!(
            at,
            vec![
                (3, Some("A"), "id"),
                (4, Some("C"), "sector"),
                (5, Some("A"), "id"),
                (5, Some("F"), "size_band"),
            ]
        );
        let text = e.to_string();
        assert!(text.contains("test.csv: nothing was imported"), "{text}");
        assert!(
            text.contains("line 4, column C (sector): `police` is not a sector"),
            "{text}"
        );
        assert!(
            text.contains("300 employees make a large employer, not small"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_column_is_named_once() {
        let e = read_partners(&sheet("id,name\na,b\n")).unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert!(e.problems[0].message.contains("no `sector` column"));
        assert!(read_partners(&sheet("id,name,sector\n")).is_err());
    }

    #[test]
    fn business_counts_are_read_from_the_nomis_layout() {
        let s = sheet("DATE,GEOGRAPHY_CODE,GEOGRAPHY_NAME,INDUSTRY_NAME,EMPLOYMENT_SIZEBAND_NAME,OBS_VALUE\n2025,E08000009,Trafford,C : Manufacturing,0 to 4,310\n2025,E08000009,Trafford,C : Manufacturing,Total,999\n2025,E08000009,Trafford,C : Manufacturing,250 to 499,5\n");
        let rows = read_business_counts(&s, "enterprises").unwrap();
        assert_eq!(rows.len(), 2, "the total row is skipped");
        assert_eq!(rows[0].size_band, SizeBand::Micro);
        assert_eq!(rows[1].size_band, SizeBand::Large);
        assert_eq!(rows[1].unit, "enterprises");
        let bad = sheet("DATE,GEOGRAPHY_CODE,INDUSTRY_NAME,EMPLOYMENT_SIZEBAND_NAME,OBS_VALUE\n2025,E08000009,C,0 to 49,x\n");
        let e = read_business_counts(&bad, "enterprises").unwrap_err();
        assert_eq!(e.problems.len(), 2);
    }

    #[test]
    fn businesses_need_a_size() {
        let s = sheet("name,company_number,sic_code,employees,local_employees\nMill Bakery,01234567,10710,12,9\nNo Size Ltd,,,,\nOdd,123,ABCDE,3,5\n");
        let e = read_businesses(&s).unwrap_err();
        let fields: Vec<_> = e
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (3, "size_band"),
                (4, "local_employees"),
                (4, "sic_code"),
                (4, "company_number")
            ]
        );
    }

    #[test]
    fn anchor_rows_are_one_per_organisation_and_year() {
        let s = sheet("organisation,year,employees,local_spend_share,real_living_wage\nnhs,2025/26,6200,41%,yes\nnhs,2025,6100,40%,yes\n");
        let e = read_anchor_measures(&s).unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].line, 3);
        let ok = read_anchor_measures(&sheet(
            "organisation,year,local_spend_share\nnhs,2025,0.4\n",
        ))
        .unwrap();
        assert_eq!(ok[0].local_spend_share, Some(0.4));
    }

    #[test]
    fn commitments_linked_to_an_indicator_need_their_trajectory() {
        let s = sheet("reference,title,lead,indicator,baseline_period,target_value,target_date,target_areas,milestones\nC1,Warm homes,council,fuel-poverty,2022,10,2030-03-31,local-quintile:E08000009:1,2026-03-31: 500 homes insulated\nC2,Smoking,nhs,smoking,,,,,\n");
        let e = read_commitments(&s).unwrap_err();
        assert_eq!(e.problems.len(), 3, "{e}");
        assert!(e.problems.iter().all(|p| p.line == 3));
        let one = read_commitments(&sheet("reference,title,lead,milestones\nC1,Warm homes,council,2026-03-31: half; 2027-03-31: all\n")).unwrap();
        assert_eq!(one[0].milestones.len(), 2);
    }

    #[test]
    fn blank_and_binary_files_are_refused_with_a_reason() {
        assert!(Sheet::read("x.csv", b"").is_err());
        let e = Sheet::read("x.csv", &[0xff, 0xfe, 0x00]).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"));
        let e = Sheet::read("x.xlsx", b"PK\x03\x04garbage").unwrap_err();
        assert!(e.to_string().contains("Excel"), "{e}");
    }

    /// Two cells, A1 and XFD1048576, in 6 KB: refused from the second cell's
    /// address, before any grid is made.
    #[test]
    fn a_sparse_workbook_is_refused_before_its_grid_is_made() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "reference").unwrap();
        sheet.write_string(1_048_575, 16_383, "far").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert!(bytes.len() < 10_000, "{}", bytes.len());
        let e = Sheet::read("sparse.xlsx", &bytes).unwrap_err().to_string();
        assert!(e.contains("XFD1048576") && e.contains("beyond"), "{e}");
    }

    /// An archive that unpacks to more than the limit is refused having unpacked
    /// no more than the limit, whatever sizes it declares.
    #[test]
    fn a_zip_bomb_is_refused_unopened() {
        use std::io::Write;
        let mut buffer = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..(WORKBOOK_LIMITS.unpacked_bytes >> 20) + 2 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        let bytes = buffer.into_inner();
        assert!(bytes.len() < 1 << 20, "{}", bytes.len());
        let e = Sheet::read("bomb.xlsx", &bytes).unwrap_err().to_string();
        assert!(e.contains("unpacks to more than 64 MB"), "{e}");
    }
}

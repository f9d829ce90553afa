//! Reading published tables as they come: CSV or gzip-compressed CSV, with or
//! without a byte-order mark, numbers with thousands separators, header names that
//! differ in case and spacing between vintages.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::ImportError;

/// A CSV table being read row by row.
pub struct Table {
    pub file: String,
    line_offset: u64,
    headers: Vec<String>,
    /// The headers as [`normalise`] compares them, computed once: a lookup is one
    /// pass over them, whatever the number of names asked for.
    normalised: Vec<String>,
    reader: csv::Reader<Box<dyn Read>>,
    record: csv::StringRecord,
    /// The number of fields every data row has: the header's, or the first data
    /// row's where a publisher leaves trailing columns off every row (a Fingertips
    /// export's 25 fields under 26 names). A row with fewer was cut short.
    width: Option<usize>,
}

/// One data row, borrowed from the table.
pub struct Row<'t> {
    pub line: u64,
    table: &'t Table,
}

/// The most columns a header may have: the widest table read (a Census or IoD
/// file) has a few hundred; a header of hundreds of thousands is a damaged file,
/// and every lookup would pay for its width.
pub const MAX_COLUMNS: usize = 10_000;

/// How a header name is compared: case, spaces and underscores ignored.
pub fn normalise(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

impl Table {
    pub fn open(path: &Path) -> Result<Table, ImportError> {
        let file = path.display().to_string();
        let handle = File::open(path)
            .map_err(|e| ImportError::file(&file, format!("cannot open the file: {e}")))?;
        let mut buffered = BufReader::with_capacity(1 << 16, handle);
        let head = buffered
            .fill_buf()
            .map_err(|e| ImportError::file(&file, format!("cannot read the file: {e}")))?;
        let inner: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut text = BufReader::with_capacity(1 << 16, inner);
        let head = text.fill_buf().map_err(|e| read_error(&file, &e))?;
        if head.is_empty() {
            return Err(ImportError::file(
                &file,
                "the file is empty: expected a header row and data",
            ));
        }
        if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
            return Err(ImportError::file(
                &file,
                "the file is UTF-16 encoded: save it as CSV UTF-8 and import again",
            ));
        }
        if head.starts_with(b"PK\x03\x04") {
            return Err(ImportError::file(
                &file,
                "this is a ZIP or Excel workbook, not a CSV file: unzip it, or save the sheet as CSV UTF-8",
            ));
        }
        if head.iter().take_while(|b| b.is_ascii_whitespace()).count() < head.len()
            && matches!(
                head.iter().find(|b| !b.is_ascii_whitespace()),
                Some(b'{') | Some(b'[')
            )
        {
            return Err(ImportError::file(
                &file,
                "this looks like JSON (GeoJSON?), not CSV: boundaries are imported with `syndemic import boundaries`",
            ));
        }
        // With CRLF line ends the csv crate counts a record's line before the `\n`
        // that ends the previous one: its line numbers run one short.
        let line_offset = match memchr_newline(head) {
            Some(i) if i > 0 && head[i - 1] == b'\r' => 1,
            _ => 0,
        };
        if head.starts_with(&[0xef, 0xbb, 0xbf]) {
            text.consume(3);
        }
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(Box::new(text) as Box<dyn Read>);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(&file, &[], e))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect();
        if headers.len() > MAX_COLUMNS {
            return Err(ImportError::at(
                &file,
                1,
                None,
                format!(
                    "the header has {} columns; no table this reads has more than {MAX_COLUMNS}: the file is damaged or not the table meant",
                    headers.len()
                ),
            ));
        }
        let normalised: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
        check_unique(&file, &headers, &normalised)?;
        Ok(Table {
            file,
            line_offset,
            headers,
            normalised,
            reader,
            record: csv::StringRecord::new(),
            width: None,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The index of the column named by the first of `names` the table has: the
    /// names are in order of preference, so a Census file with both `age` and
    /// `indicator` (the table's title) reads its ages from `age`.
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            let n = normalise(n);
            self.normalised.iter().position(|h| *h == n)
        })
    }

    /// As [`Table::find`], but a missing column is an error naming what was looked for.
    pub fn require(&self, names: &[&str], what: &str) -> Result<usize, ImportError> {
        self.find(names).ok_or_else(|| {
            ImportError::file(
                &self.file,
                format!(
                    "no {what} column: expected a header named {} (found: {})",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    self.headers.join(", ")
                ),
            )
        })
    }

    /// The next data row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, ImportError> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line()) + self.line_offset;
                if self.record.len() > self.headers.len() {
                    return Err(ImportError::at(
                        &self.file,
                        line,
                        None,
                        format!(
                            "{} fields where the header has {}: a field holds an unquoted comma, or the line is misquoted",
                            self.record.len(),
                            self.headers.len()
                        ),
                    ));
                }
                let width = *self.width.get_or_insert(self.record.len());
                if self.record.len() < width {
                    let missing = self.record.len();
                    return Err(ImportError::at(
                        &self.file,
                        line,
                        self.headers.get(missing).map(String::as_str),
                        format!(
                            "the line ends after {} of {} fields (the rows before have {width}): the file looks truncated or the line is cut short",
                            self.record.len(),
                            self.headers.len()
                        ),
                    ));
                }
                Ok(Some(Row { line, table: self }))
            }
            Err(e) => {
                let mut error = csv_error(&self.file, &self.headers, e);
                error.line = error.line.map(|l| l + self.line_offset);
                Err(error)
            }
        }
    }
}

/// Refuses a header that names one column twice (compared as [`find`](Table::find)
/// compares them): which of the two a reader used would be a guess. Blank names
/// (trailing commas) name nothing and may repeat.
fn check_unique(file: &str, headers: &[String], normalised: &[String]) -> Result<(), ImportError> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, (h, key)) in headers.iter().zip(normalised).enumerate() {
        if key.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(key, i) {
            return Err(ImportError::at(
                file,
                1,
                Some(h),
                format!(
                    "the header names column `{h}` twice (columns {} and {}): rename or remove one",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

fn read_error(file: &str, e: &std::io::Error) -> ImportError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ImportError::file(
            file,
            "the compressed file ends early: it is truncated (download it again)",
        )
    } else {
        ImportError::file(file, format!("cannot read the file: {e}"))
    }
}

fn csv_error(file: &str, headers: &[String], e: csv::Error) -> ImportError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => read_error(file, &io),
        csv::ErrorKind::Utf8 { pos, err } => ImportError {
            file: file.to_owned(),
            line: pos.map(|p| p.line()),
            column: headers.get(err.field()).cloned(),
            problem: "the text is not UTF-8 (it looks Latin-1 or Windows-1252 encoded): save the file as CSV UTF-8 and import again".into(),
        },
        other => ImportError::file(file, format!("cannot read the CSV: {other:?}")),
    }
}

impl Row<'_> {
    /// The cell in column `index`, trimmed; empty when the line is short.
    pub fn get(&self, index: usize) -> &str {
        self.table.record.get(index).unwrap_or("").trim()
    }

    /// The cell, which must be present: a short line is reported as truncated.
    pub fn required(&self, index: usize) -> Result<&str, ImportError> {
        if index >= self.table.record.len() {
            return Err(self.error(
                index,
                format!(
                    "the line ends after {} of {} fields: the file looks truncated",
                    self.table.record.len(),
                    self.table.headers.len()
                ),
            ));
        }
        Ok(self.get(index))
    }

    pub fn error(&self, index: usize, problem: impl Into<String>) -> ImportError {
        ImportError::at(
            &self.table.file,
            self.line,
            self.table.headers.get(index).map(String::as_str),
            problem,
        )
    }

    /// A number, allowing thousands separators (`"29,199"`); `None` for a blank or
    /// a published marker of a missing value (`NA`, `..`, `:`, `-`, `x`, `*`).
    /// A field the row lacks (it ends before the column) is an error, never a blank.
    pub fn number(&self, index: usize) -> Result<Option<f64>, ImportError> {
        let text = self.required(index)?;
        parse_number(text).map_err(|()| {
            self.error(
                index,
                format!("`{text}` is not a number: write digits with an optional decimal point, such as 1234.5"),
            )
        })
    }

    /// A whole number at least 1, required.
    pub fn positive_integer(&self, index: usize) -> Result<i64, ImportError> {
        let text = self.required(index)?;
        match parse_number(text) {
            Ok(Some(v)) if v >= 1.0 && v.fract() == 0.0 && v < 9e15 => Ok(v as i64),
            _ => Err(self.error(
                index,
                format!("`{text}` is not a whole number of 1 or more"),
            )),
        }
    }
}

pub fn parse_number(text: &str) -> Result<Option<f64>, ()> {
    let text = text.trim();
    if text.is_empty() || matches!(text, "NA" | ".." | ":" | "-" | "x" | "*") {
        return Ok(None);
    }
    let cleaned;
    let digits = if text.contains(',') {
        // Thousands separators only: 1,234 or 1,234,567.89 — never 1,2 or 12,34.
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let int = int.strip_prefix('-').unwrap_or(int);
        let mut groups = int.split(',');
        let first = groups.next().unwrap_or("");
        let ok = (1..=3).contains(&first.len())
            && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
            && !frac.contains(',');
        if !ok {
            return Err(());
        }
        cleaned = text.replace(',', "");
        cleaned.as_str()
    } else {
        text
    };
    match digits.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_published() {
        assert_eq!(parse_number("29,199"), Ok(Some(29199.0)));
        assert_eq!(parse_number("9,352,586"), Ok(Some(9_352_586.0)));
        assert_eq!(parse_number("-1,234.5"), Ok(Some(-1234.5)));
        assert_eq!(parse_number(" 12.5 "), Ok(Some(12.5)));
        assert_eq!(parse_number(""), Ok(None));
        assert_eq!(parse_number(".."), Ok(None));
        assert_eq!(parse_number("1,2"), Err(()));
        assert_eq!(parse_number("12,34"), Err(()));
        assert_eq!(parse_number("abc"), Err(()));
        assert_eq!(parse_number("inf"), Err(()));
        // NaN is not a published marker of a missing value: refused, never NULL.
        assert_eq!(parse_number("NaN"), Err(()));
    }

    #[test]
    fn headers_compare_loosely() {
        assert_eq!(normalise("\u{feff}Area Code"), normalise("area_code"));
        assert_eq!(normalise("LSOA11CD"), "lsoa11cd");
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn lines_count_from_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        for ending in ["\n", "\r\n"] {
            let text =
                format!("\u{feff}a,b{ending}1,2{ending}\"3{ending}more\",4{ending}5,6{ending}");
            std::fs::write(&path, text).unwrap();
            let mut table = Table::open(&path).unwrap();
            assert_eq!(table.headers(), ["a", "b"]);
            assert_eq!(table.next_row().unwrap().unwrap().line, 2, "{ending:?}");
            assert_eq!(table.next_row().unwrap().unwrap().line, 3, "{ending:?}");
            assert_eq!(table.next_row().unwrap().unwrap().line, 5, "{ending:?}");
            assert!(table.next_row().unwrap().is_none());
        }
    }

    #[test]
    fn a_row_cut_short_is_an_error_with_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b,c\n1,2,3\n4,5\n").unwrap();
        let mut table = Table::open(&path).unwrap();
        assert!(table.next_row().unwrap().is_some());
        let err = table.next_row().err().unwrap();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.column.as_deref(), Some("c"));
        // Every row one short of the header (as a Fingertips export) is a layout.
        std::fs::write(&path, "a,b,c\n1,2\n4,5\n6\n").unwrap();
        let mut table = Table::open(&path).unwrap();
        assert!(table.next_row().unwrap().is_some());
        assert!(table.next_row().unwrap().is_some());
        let err = table.next_row().err().unwrap();
        assert_eq!(err.line, Some(4));
        assert_eq!(err.column.as_deref(), Some("b"));
    }

    #[test]
    fn a_field_beyond_a_short_row_is_not_a_blank_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b,c\n1,2\n").unwrap();
        let mut table = Table::open(&path).unwrap();
        let row = table.next_row().unwrap().unwrap();
        assert_eq!(row.number(1).unwrap(), Some(2.0));
        assert!(row.number(2).is_err());
    }

    #[test]
    fn a_header_of_a_damaged_width_is_refused_and_a_wide_one_is_found() {
        // Found by the fuzz harness: a header of 800,000 blank names made every
        // column lookup normalise them all again (a minute to refuse the file).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let wide = format!("Indicator ID{}\n1\n", ",".repeat(MAX_COLUMNS));
        std::fs::write(&path, wide).unwrap();
        let err = Table::open(&path).err().unwrap();
        assert_eq!(err.line, Some(1), "{err}");
        assert!(err.to_string().contains("10001 columns"), "{err}");
        let wide = format!("{}Value\n", ",".repeat(MAX_COLUMNS - 1));
        std::fs::write(&path, wide).unwrap();
        let table = Table::open(&path).unwrap();
        assert_eq!(table.find(&["Area", "value"]), Some(MAX_COLUMNS - 1));
    }

    #[test]
    fn duplicate_column_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "Area Code,Value,area_code\nE1,2,E2\n").unwrap();
        let err = Table::open(&path).err().unwrap();
        assert!(err.to_string().contains("twice"), "{err}");
        // Blank names (trailing commas) repeat harmlessly.
        std::fs::write(&path, "a,b,,\n1,2,,\n").unwrap();
        assert!(Table::open(&path).is_ok());
    }
}

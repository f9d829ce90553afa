//! A table of figures that a page shows and a person downloads: the same rows drawn
//! as accessible HTML (caption, column and row headers, numbers as people read
//! them), written as CSV (numbers at full precision) or as an Excel workbook
//! (numbers as numbers). Every table a page draws through this type has its CSV and
//! XLSX links beside it.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use crate::shell::svg::{decimals_of, fmt, fmt_alike, fmt_with};
use crate::WebError;
use syndemic_model::formula_safe;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(Option<f64>),
    /// A confidence interval: one cell on a page, two columns in a download.
    Range(Option<f64>, Option<f64>),
    /// A link on a page, its text in a download.
    Link {
        text: String,
        href: String,
    },
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Cell {
        Cell::Text(t.into())
    }
}

/// A table: a caption, column headings, and rows whose first cell heads the row.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTable {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Each column's numbers shown to the same decimals (a table of one measure).
    aligned: bool,
}

impl DataTable {
    pub fn new(caption: impl Into<String>, columns: &[&str]) -> DataTable {
        DataTable {
            caption: caption.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
            aligned: false,
        }
    }

    /// The same table with each column's numbers (and intervals) shown to the
    /// decimals its most precise value needs: for tables of one measure, where
    /// "12.3" beside "10" would read as a difference of precision.
    pub fn aligned(mut self) -> DataTable {
        self.aligned = true;
        self
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Whether column `c` holds intervals (split in two in downloads).
    fn is_range(&self, c: usize) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.get(c), Some(Cell::Range(..))))
    }

    /// The column headings of a download: an interval column becomes its lower and
    /// upper limits.
    fn download_header(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (c, name) in self.columns.iter().enumerate() {
            if self.is_range(c) {
                out.push(format!("{name} lower"));
                out.push(format!("{name} upper"));
            } else {
                out.push(name.clone());
            }
        }
        out
    }

    /// Each row's cells for a download: text or a number, intervals split.
    fn download_rows(&self) -> Vec<Vec<Value<'_>>> {
        let ranges: Vec<bool> = (0..self.columns.len()).map(|c| self.is_range(c)).collect();
        self.rows
            .iter()
            .map(|row| {
                let mut out = Vec::new();
                for (c, cell) in row.iter().enumerate() {
                    match cell {
                        Cell::Text(t) | Cell::Link { text: t, .. } => out.push(Value::Text(t)),
                        Cell::Number(v) => out.push(Value::Number(*v)),
                        Cell::Range(l, u) => {
                            out.push(Value::Number(*l));
                            out.push(Value::Number(*u));
                        }
                    }
                    if ranges.get(c) == Some(&true) && !matches!(cell, Cell::Range(..)) {
                        out.push(Value::Number(None));
                    }
                }
                out
            })
            .collect()
    }

    /// The table as HTML, with links to its downloads when `download` is the
    /// address the `.csv` and `.xlsx` suffixes are added to (before any query).
    pub fn html(&self, download: Option<&Download>) -> Markup {
        // For an aligned table, each column's decimals.
        let decimals: Vec<Option<usize>> = (0..self.columns.len())
            .map(|c| {
                self.aligned.then(|| {
                    let values: Vec<f64> = self
                        .rows
                        .iter()
                        .filter_map(|r| r.get(c))
                        .flat_map(|cell| match cell {
                            Cell::Number(v) => vec![*v],
                            Cell::Range(l, u) => vec![*l, *u],
                            _ => Vec::new(),
                        })
                        .flatten()
                        .collect();
                    decimals_of(&values)
                })
            })
            .collect();
        let cell = |c: &Cell, column: usize| -> Markup {
            let places = decimals.get(column).copied().flatten();
            let number = |v: f64| places.map_or_else(|| fmt(v), |d| fmt_with(v, d));
            match c {
                Cell::Text(t) => html! { (t) },
                Cell::Number(v) => html! { (v.map(number).unwrap_or_default()) },
                Cell::Range(l, u) => {
                    // Both ends to the same decimals: "5.78–6.00", never "5.78–6".
                    let ends: Vec<f64> = [*l, *u].into_iter().flatten().collect();
                    let shown: Vec<String> = match places {
                        Some(_) => ends.iter().map(|v| number(*v)).collect(),
                        None => fmt_alike(&ends),
                    };
                    let mut shown = shown.into_iter();
                    let mut end =
                        |v: &Option<f64>| v.and_then(|_| shown.next()).unwrap_or_default();
                    let (a, b) = (end(l), end(u));
                    match (l, u) {
                        (None, None) => html! {},
                        // "−9.3 to −7.2" reads where "−9.3–−7.2" does not.
                        _ if l.is_some_and(|v| v < 0.0) || u.is_some_and(|v| v < 0.0) => {
                            html! { (a) " to " (b) }
                        }
                        _ => html! { (a) "–" (b) },
                    }
                }
                Cell::Link { text, href } => html! { a href=(href) { (text) } },
            }
        };
        // The table scrolls inside its own box (focusable, so a keyboard can
        // scroll it too): a narrow screen never scrolls the page sideways.
        html! {
            div class="table-scroll" role="region" tabindex="0" aria-label=(self.caption) {
            table {
                caption { (self.caption) }
                thead { tr { @for c in &self.columns { th scope="col" { (c) } } } }
                tbody {
                    @for row in &self.rows {
                        tr {
                            @for (i, c) in row.iter().enumerate() {
                                @if i == 0 { th scope="row" { (cell(c, i)) } } @else { td { (cell(c, i)) } }
                            }
                        }
                    }
                }
            }
            }
            @if let Some(d) = download {
                p class="downloads" {
                    "Download this table: "
                    a href=(d.href("csv")) { "CSV" } ", "
                    a href=(d.href("xlsx")) { "Excel (XLSX)" }
                }
            }
        }
    }

    /// The table as CSV (RFC 4180), numbers at full precision, text made safe for
    /// a spreadsheet (`syndemic_model::formula_safe`).
    pub fn csv(&self) -> Result<String, WebError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| WebError::Internal(format!("cannot write CSV: {e}"));
        w.write_record(
            self.download_header()
                .iter()
                .map(|h| formula_safe(h).into_owned()),
        )
        .map_err(fail)?;
        for row in self.download_rows() {
            let fields: Vec<String> = row
                .iter()
                .map(|v| match v {
                    Value::Text(t) => formula_safe(t).into_owned(),
                    Value::Number(Some(n)) => n.to_string(),
                    Value::Number(None) => String::new(),
                })
                .collect();
            w.write_record(fields).map_err(fail)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| WebError::Internal(format!("cannot write CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| WebError::Internal(e.to_string()))
    }

    /// The table as an Excel workbook of one sheet: the caption in the first row,
    /// headings in the second, numbers as numbers.
    pub fn xlsx(&self) -> Result<Vec<u8>, WebError> {
        let fail = |e: rust_xlsxwriter::XlsxError| {
            WebError::Internal(format!("cannot write the workbook: {e}"))
        };
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        sheet
            .write_string_with_format(0, 0, &self.caption, &bold)
            .map_err(fail)?;
        for (c, h) in self.download_header().iter().enumerate() {
            sheet
                .write_string_with_format(1, c as u16, h, &bold)
                .map_err(fail)?;
        }
        for (r, row) in self.download_rows().iter().enumerate() {
            let r = r as u32 + 2;
            for (c, v) in row.iter().enumerate() {
                match v {
                    Value::Text(t) => {
                        sheet.write_string(r, c as u16, *t).map_err(fail)?;
                    }
                    Value::Number(Some(n)) => {
                        sheet.write_number(r, c as u16, *n).map_err(fail)?;
                    }
                    Value::Number(None) => {}
                }
            }
        }
        book.save_to_buffer().map_err(fail)
    }
}

impl DataTable {
    /// The table as a download: `ext` is `csv` or `xlsx`, `stem` the file name
    /// without it.
    pub fn respond(&self, ext: &str, stem: &str) -> Result<Response, WebError> {
        let (kind, body) = match ext {
            "csv" => ("text/csv; charset=utf-8", self.csv()?.into_bytes()),
            "xlsx" => (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                self.xlsx()?,
            ),
            other => {
                return Err(WebError::NotFound(format!(
                    "no `.{other}` download: tables download as .csv or .xlsx"
                )))
            }
        };
        Ok((
            [
                (header::CONTENT_TYPE, kind.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{stem}.{ext}\""),
                ),
            ],
            body,
        )
            .into_response())
    }
}

/// A downloaded cell: text or a number (blank when missing).
enum Value<'a> {
    Text(&'a str),
    Number(Option<f64>),
}

/// Where a table downloads from: a path to which `.csv` or `.xlsx` is added, and
/// the query that selects the same rows.
#[derive(Debug, Clone)]
pub struct Download {
    pub path: String,
    pub query: String,
}

impl Download {
    pub fn href(&self, ext: &str) -> String {
        if self.query.is_empty() {
            format!("{}.{ext}", self.path)
        } else {
            format!("{}.{ext}?{}", self.path, self.query)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DataTable {
        let mut t = DataTable::new("Rates", &["Area", "Value", "95 % limits"]);
        t.push(vec![
            Cell::Link {
                text: "North, \"A\"".into(),
                href: "/areas/E01000001".into(),
            },
            Cell::Number(Some(12.345678901)),
            Cell::Range(Some(10.0), Some(14.5)),
        ]);
        t.push(vec![
            Cell::text("South"),
            Cell::Number(None),
            Cell::Range(None, None),
        ]);
        t
    }

    #[test]
    fn csv_splits_intervals_and_keeps_full_precision() {
        let csv = sample().csv().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "Area,Value,95 % limits lower,95 % limits upper");
        assert_eq!(lines[1], "\"North, \"\"A\"\"\",12.345678901,10,14.5");
        assert_eq!(lines[2], "South,,,");
    }

    #[test]
    fn an_aligned_table_shows_each_column_to_one_number_of_decimals() {
        let mut t = DataTable::new("One measure", &["Area", "Value", "95 % limits"]);
        t.push(vec![
            Cell::text("A"),
            Cell::Number(Some(12.35)),
            Cell::Range(Some(10.0), Some(14.5)),
        ]);
        t.push(vec![
            Cell::text("B"),
            Cell::Number(Some(10.0)),
            Cell::Range(Some(9.0), Some(11.0)),
        ]);
        t.push(vec![
            Cell::text("C"),
            Cell::Number(Some(1234.5)),
            Cell::Range(None, None),
        ]);
        let plain = t.html(None).into_string();
        assert!(
            plain.contains("<td>10</td>") && plain.contains("9–11"),
            "{plain}"
        );
        let aligned = t.aligned().html(None).into_string();
        for shown in [
            "12.35",
            "<td>10.00</td>",
            "1,234.50",
            "10.0–14.5",
            "9.0–11.0",
        ] {
            assert!(aligned.contains(shown), "{shown} in {aligned}");
        }
    }

    #[test]
    fn html_has_headers_and_download_links() {
        let d = Download {
            path: "/indicators/x/ranked".into(),
            query: "area=E92000001".into(),
        };
        let html = sample().html(Some(&d)).into_string();
        assert!(html.contains("<caption>Rates</caption>"));
        assert!(html.contains("<th scope=\"row\"><a href=\"/areas/E01000001\">"));
        assert!(html.contains("12.35"));
        assert!(html.contains("10.0–14.5"), "both ends to the same decimals");
        let mut t = DataTable::new("SII", &["Area", "95 % limits"]);
        t.push(vec![Cell::text("A"), Cell::Range(Some(-9.31), Some(-7.25))]);
        assert!(t.html(None).into_string().contains("-9.31 to -7.25"));
        assert!(html.contains("href=\"/indicators/x/ranked.xlsx?area=E92000001\""));
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = sample().xlsx().unwrap();
        assert_eq!(&bytes[..2], b"PK", "an XLSX file is a zip archive");
    }
}

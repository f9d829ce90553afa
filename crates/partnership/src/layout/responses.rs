//! Survey responses as another tool exports them (or staff type up paper forms):
//! one row per response, a column per question — named by its key or its text —
//! and optional columns of channel, age band, sex, ethnic group, LSOA or pin.

use super::*;
use crate::survey::{Channel, Kind, Raw, Response, Survey};

/// A response read from a sheet, with the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetResponse {
    pub line: usize,
    pub channel: Channel,
    pub response: Response,
}

/// What a sheet of responses held.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadResponses {
    pub responses: Vec<SheetResponse>,
    /// Columns read as nothing we keep (names, e-mail addresses, timestamps):
    /// never stored.
    pub ignored: Vec<String>,
    /// Each field read (a question's key, `lsoa`, `pin_lat`, …) and its column's
    /// letter, for problems found later (a postcode outside the place).
    pub columns: Vec<(String, String)>,
}

impl ReadResponses {
    /// The letter of the column a field was read from.
    pub fn column_of(&self, field: &str) -> Option<String> {
        self.columns
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, c)| c.clone())
    }
}

/// The fields a column may be, besides the survey's questions.
const FIXED: &[(&str, &[&str])] = &[
    ("channel", &["mode", "method", "response channel", "source"]),
    ("age_band", &["age", "age group", "age range"]),
    ("sex", &["gender", "sex or gender"]),
    (
        "ethnicity",
        &["ethnic group", "ethnic background", "ethnic origin"],
    ),
    (
        "lsoa",
        &["lsoa code", "lsoa21cd", "lsoa21", "lsoa11cd", "small area"],
    ),
    ("pin_lat", &["latitude", "lat"]),
    ("pin_lon", &["longitude", "lon", "lng", "long"]),
];

/// Reads every row of `sheet` as a response to `survey`, all or nothing: every
/// problem is reported by line, column and field. Rows with no channel take
/// `channel`.
pub fn read_responses(
    sheet: &Sheet,
    survey: &Survey,
    channel: Channel,
) -> Result<ReadResponses, LayoutError> {
    // Each header cell: a fixed field, a question's key, or its text.
    let mut fields: Vec<Option<String>> = Vec::with_capacity(sheet.header.len());
    let mut ignored = Vec::new();
    let mut problems = Vec::new();
    for (i, h) in sheet.header.iter().enumerate() {
        let k = loose(h);
        let field = FIXED
            .iter()
            .find(|(name, aliases)| loose(name) == k || aliases.iter().any(|a| loose(a) == k))
            .map(|(name, _)| name.to_string())
            .or_else(|| {
                survey
                    .questions
                    .iter()
                    .find(|q| loose(&q.key) == k || loose(&q.text) == k)
                    .map(|q| q.key.clone())
            });
        if let Some(f) = &field {
            if let Some(j) = fields.iter().position(|x| x.as_ref() == Some(f)) {
                problems.push(Problem {
                    line: sheet.header_line,
                    column: Some(column_letter(i)),
                    field: f.clone(),
                    message: format!(
                        "`{h}` is the same field as column {} (`{}`): keep one",
                        column_letter(j),
                        sheet.header[j]
                    ),
                });
            }
        } else if !h.is_empty() {
            ignored.push(h.clone());
        }
        fields.push(field);
    }
    let has = |name: &str| fields.iter().any(|f| f.as_deref() == Some(name));
    let located = has("lsoa")
        || has("pin_lat")
        || survey
            .questions
            .iter()
            .any(|q| matches!(q.kind, Kind::Postcode | Kind::Pin) && has(&q.key));
    if !located {
        problems.push(Problem {
            line: sheet.header_line,
            column: None,
            field: "postcode".into(),
            message: format!(
                "no column places the responses: add the postcode ({}), an LSOA code or latitude and longitude (the header has: {})",
                survey
                    .questions
                    .iter()
                    .filter(|q| q.kind == Kind::Postcode)
                    .map(|q| format!("`{}`", q.key))
                    .collect::<Vec<_>>()
                    .join(", "),
                sheet.header.join(", ")
            ),
        });
    }
    let mut responses = Vec::new();
    let mut more = 0;
    if problems.is_empty() {
        for (r, cells) in sheet.rows.iter().enumerate() {
            if cells.iter().all(String::is_empty) {
                continue;
            }
            let line = sheet.header_line + 1 + r;
            let mut raw = Raw::new();
            for (cell, field) in cells.iter().zip(&fields) {
                if let Some(f) = field {
                    raw.entry(f.clone()).or_default().push(cell.clone());
                }
            }
            let column_of = |field: &str| {
                fields
                    .iter()
                    .position(|f| f.as_deref() == Some(field))
                    .map(column_letter)
            };
            let mut report = |field: &str, message: String| {
                if problems.len() < MAX_PROBLEMS {
                    problems.push(Problem {
                        line,
                        column: column_of(field),
                        field: field.into(),
                        message,
                    });
                } else {
                    more += 1;
                }
            };
            let channel_text = raw
                .get("channel")
                .and_then(|v| v.first())
                .map(String::as_str)
                .unwrap_or("");
            let row_channel = if channel_text.is_empty() {
                Some(channel)
            } else {
                let c = Channel::parse(channel_text);
                if c.is_none() {
                    report(
                        "channel",
                        format!(
                            "`{channel_text}` is not a channel: one of {}",
                            Channel::ALL.map(Channel::code).join(", ")
                        ),
                    );
                }
                c
            };
            match survey.read(&raw) {
                Ok(response) => {
                    if let Some(channel) = row_channel {
                        responses.push(SheetResponse {
                            line,
                            channel,
                            response,
                        });
                    }
                }
                Err(list) => {
                    for p in list {
                        report(&p.field, p.message);
                    }
                }
            }
        }
        if responses.is_empty() && problems.is_empty() {
            problems.push(Problem {
                line: 0,
                column: None,
                field: "file".into(),
                message: "there are no responses under the header".into(),
            });
        }
    }
    if problems.is_empty() {
        let columns = fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((f.clone()?, column_letter(i))))
            .collect();
        Ok(ReadResponses {
            responses,
            ignored,
            columns,
        })
    } else {
        Err(LayoutError {
            file: sheet.file.clone(),
            problems,
            more,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{Answer, Question, Whereabouts};

    fn survey() -> Survey {
        let q = |key: &str, text: &str, kind: Kind, options: &[&str]| Question {
            key: key.into(),
            text: text.into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            required: false,
            min: None,
            max: None,
        };
        Survey {
            slug: "s".into(),
            title: "S".into(),
            intro: String::new(),
            lawful_basis: "Public task".into(),
            questions: vec![
                q("postcode", "Your postcode", Kind::Postcode, &[]),
                q(
                    "feel_safe",
                    "I feel safe here after dark",
                    Kind::Likert,
                    &[],
                ),
                q(
                    "warm",
                    "Could you keep your home warm?",
                    Kind::Single,
                    &["Yes", "No"],
                ),
                q("comment", "Anything else?", Kind::Text, &[]),
            ],
            waves: vec!["2025".into()],
        }
    }

    #[test]
    fn another_tools_export_reads_by_question_text_and_drops_names() {
        let text = "Respondent name,Email,Your postcode,I feel safe here after dark,Could you keep your home warm?,Age group,Gender,Mode\n\
            Ann,a@example.org,M33 7XX,Agree,Yes,25-34,Female,\n\
            Bob,b@example.org,M32 0AA,Strongly disagree,No,75 and over,Male,Paper\n";
        let sheet = Sheet::read("export.csv", text.as_bytes()).unwrap();
        let read = read_responses(&sheet, &survey(), Channel::Online).unwrap();
        assert_eq!(read.ignored, vec!["Respondent name", "Email"]);
        assert_eq!(read.responses.len(), 2);
        let (a, b) = (&read.responses[0], &read.responses[1]);
        assert_eq!((a.line, a.channel), (2, Channel::Online));
        assert_eq!((b.line, b.channel), (3, Channel::Paper));
        assert_eq!(a.response.location, Whereabouts::Postcode("M33 7XX".into()));
        assert_eq!(b.response.answers["warm"], Answer::Choice(1));
        assert_eq!(b.response.age_band, Some("75+"));
    }

    #[test]
    fn every_bad_cell_is_reported_by_line_and_column() {
        let text = "postcode,feel_safe,warm,channel\nM33 7XX,Agree,Perhaps,online\nnowhere,Agree,Yes,carrier pigeon\n";
        let sheet = Sheet::read("r.csv", text.as_bytes()).unwrap();
        let e = read_responses(&sheet, &survey(), Channel::Online).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("nothing was imported"), "{text}");
        assert!(text.contains("line 2, column C (warm)"), "{text}");
        assert!(text.contains("line 3, column A (postcode)"), "{text}");
        assert!(text.contains("line 3, column D (channel)"), "{text}");
        // No location column at all.
        let sheet = Sheet::read("r.csv", b"feel_safe\nAgree\n").unwrap();
        let e = read_responses(&sheet, &survey(), Channel::Online).unwrap_err();
        assert!(
            e.to_string().contains("no column places the responses"),
            "{e}"
        );
    }

    /// Another tool's export as a workbook: a title row above the headings, a
    /// number where a Likert answer was coded 1–5, a bad cell named by its
    /// spreadsheet line and column letter.
    #[test]
    fn an_xlsx_export_reads_as_its_csv_would() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet
            .write_string(0, 0, "Survey export, 3 December")
            .unwrap();
        for (c, h) in [
            "Your postcode",
            "I feel safe here after dark",
            "warm",
            "Age group",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string(1, c as u16, *h).unwrap();
        }
        sheet.write_string(2, 0, "M33 7XX").unwrap();
        sheet.write_string(2, 1, "Agree").unwrap();
        sheet.write_string(2, 2, "Yes").unwrap();
        sheet.write_string(2, 3, "25-34").unwrap();
        sheet.write_string(3, 0, "M32 0AA").unwrap();
        sheet.write_number(3, 1, 1).unwrap();
        sheet.write_string(3, 2, "No").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let read = read_responses(
            &Sheet::read("export.xlsx", &bytes).unwrap(),
            &survey(),
            Channel::Paper,
        )
        .unwrap();
        assert_eq!(read.responses.len(), 2);
        assert_eq!(read.responses[0].line, 3, "lines count from the top");
        assert_eq!(read.responses[1].channel, Channel::Paper);
        assert_eq!(
            read.responses[1].response.answers["warm"],
            Answer::Choice(1)
        );
        sheet_with_bad_cell();
    }

    fn sheet_with_bad_cell() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["postcode", "warm"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "M33 7XX").unwrap();
        sheet.write_string(1, 1, "Perhaps").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let e = read_responses(
            &Sheet::read("export.xlsx", &bytes).unwrap(),
            &survey(),
            Channel::Online,
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("export.xlsx: nothing was imported"), "{text}");
        assert!(text.contains("line 2, column B (warm)"), "{text}");
    }
}

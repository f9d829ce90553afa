//! Residents' surveys: what a survey asks, how a response came in, and the one
//! reading every response passes — from the online form, a paper form entered by
//! staff, or a row of another tool's export — before it is kept.
//!
//! What is kept of a response is deliberately little: its channel, the small area
//! (LSOA) it is placed in — never the address, the postcode or the pin —, the
//! optional age band, sex and ethnic group (under the survey's recorded lawful
//! basis), and the answers. Free text is kept apart from the closed answers and
//! read only by staff; consent to be contacted is kept apart from both, with no
//! link back to the answers. No question asks a name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syndemic_model::AreaCode;
pub use syndemic_model::Whereabouts;

/// How a response came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    Online,
    Paper,
    InPerson,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Online,
        Channel::Paper,
        Channel::InPerson,
        Channel::Phone,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Paper => "paper",
            Channel::InPerson => "in-person",
            Channel::Phone => "phone",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Online => "Online",
            Channel::Paper => "Paper, entered by staff",
            Channel::InPerson => "In person",
            Channel::Phone => "Phone",
        }
    }

    /// Reads a channel loosely: `paper`, `Paper form`, `in person`, `telephone`.
    pub fn parse(text: &str) -> Option<Channel> {
        let t = loose(text);
        match t.as_str() {
            "online" | "web" | "internet" | "onlineform" => Some(Channel::Online),
            "paper" | "paperform" | "post" | "postal" => Some(Channel::Paper),
            "inperson" | "facetoface" | "event" | "street" => Some(Channel::InPerson),
            "phone" | "telephone" | "call" => Some(Channel::Phone),
            _ => None,
        }
    }
}

/// The age bands residents are asked for (16 and over), matching the Census
/// 2021 and mid-year estimate bands they are compared with and raked to.
pub const AGE_BANDS: [&str; 7] = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"];
/// Sex as the Census 2021 tables give it.
pub const SEXES: [&str; 2] = ["Female", "Male"];
/// The Census 2021 high-level ethnic groups (TS021).
pub const ETHNIC_GROUPS: [&str; 5] = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
];
/// The five points of an agreement scale, 1 to 5.
pub const LIKERT: [&str; 5] = [
    "Strongly agree",
    "Agree",
    "Neither agree nor disagree",
    "Disagree",
    "Strongly disagree",
];

/// The kinds of question a survey can ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// One of the options.
    Single,
    /// Any of the options.
    Multiple,
    /// A five-point agreement scale ([`LIKERT`]).
    Likert,
    /// A number, within the question's bounds.
    Number,
    /// Free text: read by staff only, never published.
    Text,
    /// The resident's postcode: used to place the response, never kept.
    Postcode,
    /// A pin on a map: used to place the response, never kept.
    Pin,
}

impl Kind {
    /// Closed questions become indicators; free text and location never do.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Kind::Single | Kind::Multiple | Kind::Likert | Kind::Number
        )
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Short and stable: lower-case letters, digits and underscores (`feel_safe`).
    pub key: String,
    pub text: String,
    pub kind: Kind,
    /// The options of a single or multiple choice (a Likert scale has its own).
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
    /// Bounds of a number.
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

impl Question {
    /// The options answered from: the question's own, or the Likert scale's.
    pub fn choices(&self) -> Vec<&str> {
        match self.kind {
            Kind::Likert => LIKERT.to_vec(),
            _ => self.options.iter().map(String::as_str).collect(),
        }
    }
}

/// What a survey asks, and on what basis it keeps the answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    /// Lower-case letters, digits and hyphens (`hartmoor-voices`).
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub intro: String,
    /// The lawful basis recorded for the answers and the optional age band, sex
    /// and ethnic group (UK GDPR Articles 6 and 9), shown on the form.
    pub lawful_basis: String,
    pub questions: Vec<Question>,
    /// Waves (periods) in order, such as `2025` and `2026`.
    pub waves: Vec<String>,
}

/// The themes of "what matters here": what a resident's pin is about.
pub const THEMES: [&str; 8] = [
    "Getting about",
    "Warm, safe homes",
    "Feeling safe",
    "Green spaces",
    "Somewhere to meet",
    "Money and work",
    "Health and care",
    "Something else",
];
/// The longest comment on a pin, in characters.
pub const MAX_PIN_COMMENT: usize = 280;

/// A pin's theme and comment read from a form: every problem by field.
pub fn read_pin(theme: &str, comment: &str) -> Result<(&'static str, String), Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let theme = THEMES.iter().copied().find(|t| *t == theme.trim());
    if theme.is_none() {
        problems.push(FieldProblem {
            field: "theme".into(),
            message: "choose what your pin is about".into(),
        });
    }
    let comment: String = comment
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    if comment.chars().count() > MAX_PIN_COMMENT {
        problems.push(FieldProblem {
            field: "comment".into(),
            message: format!("is longer than {MAX_PIN_COMMENT} characters; shorten it"),
        });
    }
    match theme {
        Some(t) if problems.is_empty() => Ok((t, comment)),
        _ => Err(problems),
    }
}

/// The longest free text kept, in characters.
pub const MAX_TEXT: usize = 1000;
/// The most questions a survey may ask, and options a question may have.
pub const MAX_QUESTIONS: usize = 60;
pub const MAX_OPTIONS: usize = 30;

fn loose(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn key_like(v: &str, extra: char) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == extra)
}

impl Survey {
    /// Every problem with the survey's definition, as (field, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut fail = |field: &str, message: String| problems.push((field.to_string(), message));
        if !key_like(&self.slug, '-') {
            fail(
                "slug",
                format!(
                    "`{}` is not a slug: lower-case letters, digits and hyphens (hartmoor-voices)",
                    self.slug
                ),
            );
        }
        if self.title.trim().is_empty() {
            fail("title", "a survey needs a title".into());
        }
        if self.lawful_basis.trim().is_empty() {
            fail("lawful_basis", "record the lawful basis for keeping the answers (UK GDPR Article 6, and Article 9 for ethnic group)".into());
        }
        if self.waves.is_empty()
            || self
                .waves
                .iter()
                .any(|w| w.trim().is_empty() || w.len() > 32)
        {
            fail(
                "waves",
                "name each wave (period), such as 2025 and 2026".into(),
            );
        }
        for w in &self.waves {
            if syndemic_model::Period::parse(w).is_err() {
                fail("waves", format!("`{w}` is not a period: name a wave by its year (2026), financial year (2025/26) or years (2024-26)"));
            }
        }
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            fail(
                "questions",
                format!("a survey asks from 1 to {MAX_QUESTIONS} questions"),
            );
        }
        if !self
            .questions
            .iter()
            .any(|q| matches!(q.kind, Kind::Postcode | Kind::Pin))
        {
            fail("questions", "a survey needs a postcode or a pin question, to place each response in its small area".into());
        }
        let mut keys = std::collections::HashSet::new();
        for q in &self.questions {
            let field = format!("questions.{}", q.key);
            if !key_like(&q.key, '_') {
                fail(
                    &field,
                    format!(
                        "`{}` is not a key: lower-case letters, digits and underscores",
                        q.key
                    ),
                );
            }
            if !keys.insert(q.key.as_str())
                || [
                    "channel",
                    "age_band",
                    "sex",
                    "ethnicity",
                    "wave",
                    "lsoa",
                    "contact",
                ]
                .contains(&q.key.as_str())
            {
                fail(
                    &field,
                    format!("the key `{}` is taken; give each question its own", q.key),
                );
            }
            if q.text.trim().is_empty() {
                fail(&field, "the question has no text".into());
            }
            let needs_options = matches!(q.kind, Kind::Single | Kind::Multiple);
            if needs_options && (q.options.len() < 2 || q.options.len() > MAX_OPTIONS) {
                fail(
                    &field,
                    format!("a choice needs from 2 to {MAX_OPTIONS} options"),
                );
            }
            if !needs_options && !q.options.is_empty() {
                fail(
                    &field,
                    "only a single or multiple choice has options".into(),
                );
            }
            let mut seen = std::collections::HashSet::new();
            if q.options
                .iter()
                .any(|o| o.trim().is_empty() || !seen.insert(loose(o)))
            {
                fail(&field, "every option needs its own text".into());
            }
            if let (Some(lo), Some(hi)) = (q.min, q.max) {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    fail(
                        &field,
                        "a number's bounds must be finite, the least first".into(),
                    );
                }
            }
        }
        problems
    }

    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.key == key)
    }

    /// The field a response's whereabouts came from: the postcode or pin
    /// question's key, or `lsoa`.
    pub fn location_field(&self, at: &Whereabouts) -> &str {
        let kind = match at {
            Whereabouts::Postcode(_) => Kind::Postcode,
            Whereabouts::Pin { .. } => Kind::Pin,
            Whereabouts::Lsoa(_) => return "lsoa",
        };
        self.questions
            .iter()
            .find(|q| q.kind == kind)
            .map_or("postcode", |q| q.key.as_str())
    }
}

/// A closed answer, kept by option number (0-based) or value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    Choice(u16),
    Choices(Vec<u16>),
    /// 1 (strongly agree) to 5 (strongly disagree).
    Scale(u8),
    Number(f64),
}

/// A response read and checked, before it is placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub location: Whereabouts,
    pub age_band: Option<&'static str>,
    pub sex: Option<&'static str>,
    pub ethnicity: Option<&'static str>,
    pub answers: BTreeMap<String, Answer>,
    /// Free text, by question key: kept apart, read by staff only.
    pub texts: Vec<(String, String)>,
}

impl Response {
    /// The closed answers as kept (JSON).
    pub fn answers_json(&self) -> String {
        serde_json::to_string(&self.answers).unwrap_or_else(|_| "{}".into())
    }
}

/// What a form or a sheet gave for one response, as text: question key (or
/// `age_band`, `sex`, `ethnicity`, `lsoa`, `pin_lat`, `pin_lon`) → values (several
/// for a multiple choice).
pub type Raw = BTreeMap<String, Vec<String>>;

/// One problem with one field of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

fn pick(list: &[&'static str], text: &str) -> Option<&'static str> {
    let t = loose(text);
    list.iter().copied().find(|o| loose(o) == t).or_else(|| {
        // A number 1..=n picks the n-th.
        text.trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| list.get(i).copied())
    })
}

/// "Prefer not to say" and its kin: no answer.
fn declined(text: &str) -> bool {
    matches!(
        loose(text).as_str(),
        "" | "prefernottosay" | "prefernot" | "notsaid" | "notstated" | "declined" | "na" | "na/"
    )
}

/// Reads the age band loosely: `25-34`, `25 to 34`, `Aged 25 to 34`, `75 and over`.
fn age_band(text: &str) -> Option<&'static str> {
    let digits: Vec<u16> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|d| d.parse().ok())
        .collect();
    match digits.as_slice() {
        [from, _] | [from] => AGE_BANDS.iter().copied().find(|b| {
            b.split(['-', '+'])
                .next()
                .and_then(|f| f.parse::<u16>().ok())
                == Some(*from)
        }),
        _ => None,
    }
}

impl Survey {
    /// Reads one response: every problem, by field, or the response.
    pub fn read(&self, raw: &Raw) -> Result<Response, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut fail = |field: &str, message: String| {
            problems.push(FieldProblem {
                field: field.to_string(),
                message,
            })
        };
        let one = |key: &str| -> &str {
            raw.get(key)
                .and_then(|v| v.iter().find(|s| !s.trim().is_empty()))
                .map_or("", |s| s.trim())
        };
        let mut demographic =
            |key: &str, list: &[&'static str], parse: &dyn Fn(&str) -> Option<&'static str>| {
                let v = one(key);
                if declined(v) {
                    return None;
                }
                let got = parse(v);
                if got.is_none() {
                    fail(
                        key,
                        format!(
                            "`{v}` is not one of: {}, or prefer not to say",
                            list.join("; ")
                        ),
                    );
                }
                got
            };
        let age = demographic("age_band", &AGE_BANDS, &age_band);
        let sex = demographic("sex", &SEXES, &|v| pick(&SEXES, v));
        let ethnicity = demographic("ethnicity", &ETHNIC_GROUPS, &|v| {
            pick(&ETHNIC_GROUPS, v).or_else(|| {
                // The group's first word is enough: "Asian", "Black", "Mixed".
                let t = loose(v);
                ETHNIC_GROUPS
                    .iter()
                    .copied()
                    .find(|g| !t.is_empty() && loose(g.split([',', ' ']).next().unwrap_or("")) == t)
            })
        });
        let mut answers = BTreeMap::new();
        let mut texts = Vec::new();
        let mut location = None;
        if let Some(code) = Some(one("lsoa")).filter(|s| !s.is_empty()) {
            match AreaCode::parse(code) {
                Ok(c) => location = Some(Whereabouts::Lsoa(c)),
                Err(e) => fail("lsoa", e.to_string()),
            }
        }
        for q in &self.questions {
            let values: Vec<&str> = raw
                .get(&q.key)
                .map(|v| {
                    v.iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let answered =
                !values.is_empty() || (q.kind == Kind::Pin && !one("pin_lat").is_empty());
            if !answered {
                if q.required
                    && !(matches!(q.kind, Kind::Postcode | Kind::Pin) && location.is_some())
                {
                    fail(&q.key, "needs an answer".into());
                }
                continue;
            }
            let choices = q.choices();
            match q.kind {
                Kind::Single | Kind::Likert => {
                    if values.len() > 1 {
                        fail(&q.key, "choose one answer".into());
                        continue;
                    }
                    if declined(values[0]) && !q.required {
                        continue;
                    }
                    match choices
                        .iter()
                        .position(|o| loose(o) == loose(values[0]))
                        .or_else(|| {
                            values[0]
                                .parse::<usize>()
                                .ok()
                                .and_then(|i| i.checked_sub(1))
                                .filter(|i| *i < choices.len())
                        }) {
                        Some(i) if q.kind == Kind::Likert => {
                            answers.insert(q.key.clone(), Answer::Scale(i as u8 + 1));
                        }
                        Some(i) => {
                            answers.insert(q.key.clone(), Answer::Choice(i as u16));
                        }
                        None => fail(
                            &q.key,
                            format!("`{}` is not one of: {}", values[0], choices.join("; ")),
                        ),
                    }
                }
                Kind::Multiple => {
                    let mut picked = Vec::new();
                    for v in values
                        .iter()
                        .flat_map(|v| v.split(';'))
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                    {
                        match choices.iter().position(|o| loose(o) == loose(v)) {
                            Some(i) if !picked.contains(&(i as u16)) => picked.push(i as u16),
                            Some(_) => {}
                            None => fail(
                                &q.key,
                                format!(
                                    "`{v}` is not one of: {} (separate several with ;)",
                                    choices.join("; ")
                                ),
                            ),
                        }
                    }
                    picked.sort_unstable();
                    answers.insert(q.key.clone(), Answer::Choices(picked));
                }
                Kind::Number => {
                    let v = values[0].replace(',', "");
                    match v.parse::<f64>().ok().filter(|x| x.is_finite()) {
                        Some(x) if q.min.is_some_and(|m| x < m) || q.max.is_some_and(|m| x > m) => {
                            fail(
                                &q.key,
                                format!(
                                    "{x} is outside {} to {}",
                                    q.min.map_or("any".into(), |m| m.to_string()),
                                    q.max.map_or("any".into(), |m| m.to_string())
                                ),
                            )
                        }
                        Some(x) => {
                            answers.insert(q.key.clone(), Answer::Number(x));
                        }
                        None => fail(&q.key, format!("`{}` is not a number", values[0])),
                    }
                }
                Kind::Text => {
                    let text: String = values
                        .join("\n")
                        .chars()
                        .filter(|c| !c.is_control() || *c == '\n')
                        .collect();
                    if text.chars().count() > MAX_TEXT {
                        fail(
                            &q.key,
                            format!("is longer than {MAX_TEXT} characters; shorten it"),
                        );
                    } else {
                        texts.push((q.key.clone(), text));
                    }
                }
                Kind::Postcode => match syndemic_model::postcode::normalise_postcode(values[0]) {
                    Some(p) => location = location.or(Some(Whereabouts::Postcode(p))),
                    None => fail(
                        &q.key,
                        format!("`{}` is not a postcode, such as M33 7XX", values[0]),
                    ),
                },
                Kind::Pin => {
                    let (lat, lon) = (one("pin_lat"), one("pin_lon"));
                    let (lat, lon) = if lat.is_empty() {
                        // One cell: "lat, lon".
                        let mut parts = values[0].split(',').map(str::trim);
                        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
                    } else {
                        (lat, lon)
                    };
                    match (lat.parse::<f64>(), lon.parse::<f64>()) {
                        (Ok(lat), Ok(lon)) if (49.0..=61.0).contains(&lat) && (-9.0..=2.5).contains(&lon) => {
                            location = location.or(Some(Whereabouts::Pin { lat, lon }));
                        }
                        _ => fail(&q.key, format!("`{lat}, {lon}` is not a place in Great Britain (latitude, longitude)")),
                    }
                }
            }
        }
        let Some(location) = location else {
            if problems.is_empty() {
                problems.push(FieldProblem {
                    field: "postcode".into(),
                    message: "a postcode or a pin is needed to place the response in its area (it is not kept)".into(),
                });
            }
            return Err(problems);
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Response {
            location,
            age_band: age,
            sex,
            ethnicity,
            answers,
            texts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey() -> Survey {
        Survey {
            slug: "hartmoor-voices".into(),
            title: "Hartmoor voices".into(),
            intro: String::new(),
            lawful_basis:
                "Public task (Article 6(1)(e)); ethnic group: explicit consent (Article 9(2)(a))"
                    .into(),
            questions: vec![
                Question {
                    key: "postcode".into(),
                    text: "Your postcode".into(),
                    kind: Kind::Postcode,
                    options: vec![],
                    required: false,
                    min: None,
                    max: None,
                },
                Question {
                    key: "pin".into(),
                    text: "Or drop a pin".into(),
                    kind: Kind::Pin,
                    options: vec![],
                    required: false,
                    min: None,
                    max: None,
                },
                Question {
                    key: "feel_safe".into(),
                    text: "I feel safe here after dark".into(),
                    kind: Kind::Likert,
                    options: vec![],
                    required: true,
                    min: None,
                    max: None,
                },
                Question {
                    key: "warm".into(),
                    text: "Could you keep your home warm last winter?".into(),
                    kind: Kind::Single,
                    options: vec!["Yes".into(), "No".into()],
                    required: false,
                    min: None,
                    max: None,
                },
                Question {
                    key: "matters".into(),
                    text: "What matters most?".into(),
                    kind: Kind::Multiple,
                    options: vec!["Housing".into(), "Transport".into(), "Jobs".into()],
                    required: false,
                    min: None,
                    max: None,
                },
                Question {
                    key: "lonely_days".into(),
                    text: "Days last week you felt lonely".into(),
                    kind: Kind::Number,
                    options: vec![],
                    required: false,
                    min: Some(0.0),
                    max: Some(7.0),
                },
                Question {
                    key: "comment".into(),
                    text: "Anything else?".into(),
                    kind: Kind::Text,
                    options: vec![],
                    required: false,
                    min: None,
                    max: None,
                },
            ],
            waves: vec!["2025".into(), "2026".into()],
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> Raw {
        let mut r = Raw::new();
        for (k, v) in pairs {
            r.entry(k.to_string()).or_default().push(v.to_string());
        }
        r
    }

    #[test]
    fn the_demo_definition_is_sound() {
        assert_eq!(survey().check(), Vec::<(String, String)>::new());
        let mut bad = survey();
        bad.questions
            .retain(|q| !matches!(q.kind, Kind::Postcode | Kind::Pin));
        bad.questions[0].key = "age_band".into();
        let problems = bad.check();
        assert!(
            problems.iter().any(|p| p.1.contains("postcode or a pin")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.1.contains("is taken")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_response_is_read_loosely_and_keeps_no_location_text() {
        let r = survey()
            .read(&raw(&[
                ("postcode", "m33 7xx"),
                ("feel_safe", "agree"),
                ("warm", "2"),
                ("matters", "housing; Jobs"),
                ("lonely_days", "3"),
                ("comment", "More buses\u{7} please"),
                ("age_band", "Aged 25 to 34"),
                ("sex", "female"),
                ("ethnicity", "Asian"),
            ]))
            .unwrap();
        assert_eq!(r.location, Whereabouts::Postcode("M33 7XX".into()));
        assert_eq!(r.answers["feel_safe"], Answer::Scale(2));
        assert_eq!(r.answers["warm"], Answer::Choice(1));
        assert_eq!(r.answers["matters"], Answer::Choices(vec![0, 2]));
        assert_eq!(r.answers["lonely_days"], Answer::Number(3.0));
        assert_eq!(
            r.texts,
            vec![("comment".to_string(), "More buses please".to_string())]
        );
        assert_eq!(r.age_band, Some("25-34"));
        assert_eq!(r.sex, Some("Female"));
        assert_eq!(r.ethnicity, Some(ETHNIC_GROUPS[0]));
    }

    #[test]
    fn every_problem_is_named_by_field() {
        let problems = survey()
            .read(&raw(&[
                ("postcode", "not a postcode"),
                ("feel_safe", "maybe"),
                ("lonely_days", "9"),
                ("age_band", "200"),
                ("matters", "Parks"),
            ]))
            .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for f in [
            "postcode",
            "feel_safe",
            "lonely_days",
            "age_band",
            "matters",
        ] {
            assert!(fields.contains(&f), "{f} not in {problems:?}");
        }
        // No location at all.
        let problems = survey().read(&raw(&[("feel_safe", "Agree")])).unwrap_err();
        assert_eq!(problems[0].field, "postcode");
        // A required question left empty; prefer-not-to-say is no answer, not an error.
        let problems = survey()
            .read(&raw(&[
                ("postcode", "M33 7XX"),
                ("sex", "Prefer not to say"),
            ]))
            .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "feel_safe");
    }

    #[test]
    fn a_pin_needs_a_theme_and_a_short_comment() {
        assert_eq!(
            read_pin("Feeling safe", " Dark underpass\u{7} ").unwrap(),
            ("Feeling safe", "Dark underpass".to_string())
        );
        let e = read_pin("Parking", &"x".repeat(300)).unwrap_err();
        assert_eq!(
            e.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
            ["theme", "comment"]
        );
    }

    #[test]
    fn a_pin_or_an_lsoa_places_a_response() {
        let r = survey()
            .read(&raw(&[
                ("pin_lat", "53.42"),
                ("pin_lon", "-2.35"),
                ("pin", "x"),
                ("feel_safe", "1"),
            ]))
            .unwrap();
        assert_eq!(
            r.location,
            Whereabouts::Pin {
                lat: 53.42,
                lon: -2.35
            }
        );
        let r = survey()
            .read(&raw(&[
                ("lsoa", "E01006187"),
                ("feel_safe", "Strongly disagree"),
            ]))
            .unwrap();
        assert!(matches!(r.location, Whereabouts::Lsoa(_)));
        assert_eq!(r.answers["feel_safe"], Answer::Scale(5));
        let e = survey()
            .read(&raw(&[("pin", "0, 0"), ("feel_safe", "1")]))
            .unwrap_err();
        assert_eq!(e[0].field, "pin");
    }
}

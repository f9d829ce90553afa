//! The caseload: which of a team's cases a person is shown, in what order, a page
//! at a time.
//!
//! A coordinator or caseworker finds a case by what they have in front of them —
//! the person's name (or its first letters), an NHS number, the reference the
//! referrer quotes, a postcode (whole, or its outward part) or a phone number —
//! and narrows the list by status, service, urgency, assignee, referring
//! organisation and the day it was received. Unless asked otherwise, the cases that
//! need someone now come first: overdue open cases, then open cases by urgency,
//! then the rest, newest first.
//!
//! Pure: the caller gives each case's [`Facts`] (its overdue judgement comes from
//! the working-day clock of [`crate::workdays`]) and renders the [`Page`].

use std::cmp::Reverse;

use time::Date;

use crate::need::Urgency;
use crate::person::Person;
use crate::status::Status;
use crate::FieldError;

/// Cases on one page.
pub const PAGE_SIZE: usize = 25;

/// The longest search text read (a name, a number or a reference is far shorter).
pub const MAX_SEARCH_CHARS: usize = 100;

/// What the caseload knows of one case.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub reference: &'a str,
    /// `None` once the person's details are erased: such a case is found by its
    /// reference only.
    pub person: Option<&'a Person>,
    pub status: Status,
    pub urgency: Urgency,
    pub service_id: Option<&'a str>,
    pub assigned_to: Option<&'a str>,
    pub referrer_org: &'a str,
    /// When it was received (Unix seconds), for ordering.
    pub received_at: i64,
    /// The day it was received, for the date filter.
    pub received: Date,
    /// Open and past its first-contact deadline.
    pub overdue: bool,
    /// The names the list shows, for sorting by its columns: the service, the
    /// caseworker and the referring organisation (empty for none).
    pub service_name: &'a str,
    pub assigned_name: &'a str,
    pub referrer_name: &'a str,
}

/// Which statuses are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    /// Every status that is not final.
    Open,
    Is(Status),
}

impl StatusFilter {
    /// The form's value: empty for all, `open`, or a status code.
    pub fn parse(code: &str) -> Result<StatusFilter, FieldError> {
        match code {
            "" => Ok(StatusFilter::All),
            "open" => Ok(StatusFilter::Open),
            c => Status::from_code(c).map(StatusFilter::Is).ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!("`{c}` is not a case status; choose one from the list"),
                )
            }),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            StatusFilter::All => "",
            StatusFilter::Open => "open",
            StatusFilter::Is(s) => s.code(),
        }
    }

    fn keeps(self, s: Status) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Open => !s.is_final(),
            StatusFilter::Is(want) => s == want,
        }
    }
}

/// Whose cases are shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Assigned {
    #[default]
    Anyone,
    /// Assigned to this user (the one asking: "assigned to me").
    To(String),
    /// Assigned to nobody yet.
    Nobody,
}

/// The order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Overdue open cases, then open cases by urgency (urgent first), then the
    /// final ones; newest first within each.
    #[default]
    Priority,
    Newest,
    Oldest,
    /// By a column of the list, A to Z (urgency: urgent first; status: in the
    /// lifecycle's order); newest first within each.
    Reference,
    Person,
    ReferredBy,
    Urgency,
    Status,
    Service,
    Assigned,
}

impl Sort {
    pub const ALL: &'static [Sort] = &[
        Sort::Priority,
        Sort::Newest,
        Sort::Oldest,
        Sort::Reference,
        Sort::Person,
        Sort::ReferredBy,
        Sort::Urgency,
        Sort::Status,
        Sort::Service,
        Sort::Assigned,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Sort::Priority => "priority",
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Reference => "reference",
            Sort::Person => "person",
            Sort::ReferredBy => "referred-by",
            Sort::Urgency => "urgency",
            Sort::Status => "status",
            Sort::Service => "service",
            Sort::Assigned => "assigned",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Priority => "Overdue and urgent first",
            Sort::Newest => "Newest first",
            Sort::Oldest => "Oldest first",
            Sort::Reference => "By reference",
            Sort::Person => "By the person's family name",
            Sort::ReferredBy => "By referring organisation",
            Sort::Urgency => "Most urgent first",
            Sort::Status => "By status",
            Sort::Service => "By service",
            Sort::Assigned => "By caseworker",
        }
    }

    pub fn parse(code: &str) -> Result<Sort, FieldError> {
        match code {
            "" => Ok(Sort::Priority),
            c => Sort::ALL
                .iter()
                .copied()
                .find(|s| s.code() == c)
                .ok_or_else(|| {
                    FieldError::new(
                        "sort",
                        format!("`{c}` is not an order; choose one from the list"),
                    )
                }),
        }
    }
}

/// What a person typed to find a case, read once.
///
/// A case matches when any reading of the text matches it:
/// - **reference**: the text's letters and digits (at least four) appear in the
///   case's reference, case ignored;
/// - **NHS number**: the text is ten digits (spaces and dashes allowed) equal to
///   the person's NHS number;
/// - **phone**: the text is a phone number of at least six digits (spaces,
///   dashes, brackets and a leading `+` allowed) found in the person's number,
///   `+44` and a leading `0` read alike;
/// - **postcode**: a whole postcode equal to the person's, an outward code
///   (`HM1`) equal to its outward part, or a longer start (`HM1 2`) of it;
/// - **name**: every word is the start of a word of the person's given or
///   family name, case and accents on ASCII letters ignored (`mar smi` finds
///   Margaret Smith).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    text: String,
    compact: String,
    digits: Option<String>,
    postcode: Option<Postcode>,
    words: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Postcode {
    Whole(String),
    Outward(String),
    Start(String),
}

impl Search {
    pub fn parse(text: &str) -> Result<Search, FieldError> {
        let text = text.trim();
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(FieldError::new(
                "q",
                format!("search for at most {MAX_SEARCH_CHARS} characters: a name, an NHS number, a reference, a postcode or a phone number"),
            ));
        }
        let compact: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let numeric = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '+'));
        let digits = numeric.then(|| phone_digits(text));
        Ok(Search {
            text: text.to_owned(),
            postcode: postcode_of(text),
            words: text
                .split_whitespace()
                .map(fold)
                .filter(|w| !w.is_empty())
                .collect(),
            compact,
            digits,
        })
    }

    /// The text as typed (trimmed), to show again in the form.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// What the text was read as, for the audit trail (never the text itself).
    pub fn kind(&self) -> &'static str {
        match (&self.digits, &self.postcode) {
            _ if self.is_empty() => "none",
            (Some(d), _) if d.len() == 10 => "NHS number or phone",
            (Some(_), _) => "phone or reference",
            (None, Some(_)) => "postcode, name or reference",
            (None, None) => "name or reference",
        }
    }

    pub fn matches(&self, f: &Facts) -> bool {
        if self.is_empty() {
            return true;
        }
        if self.compact.len() >= 4 && compact(f.reference).contains(&self.compact) {
            return true;
        }
        let Some(p) = f.person else {
            return false;
        };
        if let Some(d) = &self.digits {
            let plain: String = d.chars().filter(char::is_ascii_digit).collect();
            if plain.len() == 10 && p.nhs_number.as_deref() == Some(plain.as_str()) {
                return true;
            }
            if d.len() >= 6 && !p.phone.is_empty() && phone_digits(&p.phone).contains(d.as_str()) {
                return true;
            }
            return false;
        }
        if let Some(pc) = &self.postcode {
            let theirs = &p.postcode;
            let hit = match pc {
                Postcode::Whole(w) => theirs == w,
                Postcode::Outward(o) => theirs.split(' ').next() == Some(o.as_str()),
                Postcode::Start(s) => theirs.starts_with(s.as_str()),
            };
            if hit {
                return true;
            }
        }
        let names: Vec<String> = format!("{} {}", p.given_name, p.family_name)
            .split(|c: char| c.is_whitespace() || c == '-')
            .map(fold)
            .filter(|w| !w.is_empty())
            .collect();
        !self.words.is_empty()
            && self
                .words
                .iter()
                .all(|w| names.iter().any(|n| n.starts_with(w.as_str())))
    }
}

/// Letters and digits only, upper case.
fn compact(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A phone number's digits with `+44` (or `0044`) written as the leading `0`
/// of a national number, so `+44 7700 900123` and `07700 900123` compare alike.
fn phone_digits(text: &str) -> String {
    let d: String = text.chars().filter(char::is_ascii_digit).collect();
    let international = text.trim_start().starts_with('+') || d.starts_with("00");
    let rest = d.trim_start_matches("00");
    if international && rest.starts_with("44") {
        format!("0{}", &rest[2..])
    } else {
        d
    }
}

/// A word as names are compared: lower case, apostrophes and dots dropped, the
/// accents of Latin letters taken off.
fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| !matches!(c, '\'' | '’' | '.' | ','))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

/// The text read as a postcode, a district (outward code) or the start of one.
fn postcode_of(text: &str) -> Option<Postcode> {
    if let Some(whole) = syndemic_model::normalise_postcode(text) {
        return Some(Postcode::Whole(whole));
    }
    let upper = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    let outward_like = |o: &str| {
        (2..=4).contains(&o.len())
            && o.starts_with(|c: char| c.is_ascii_alphabetic())
            && o.chars().any(|c| c.is_ascii_digit())
            && o.chars().all(|c| c.is_ascii_alphanumeric())
    };
    match upper.split_once(' ') {
        None if outward_like(&upper) => Some(Postcode::Outward(upper)),
        Some((o, rest))
            if outward_like(o)
                && (1..=2).contains(&rest.len())
                && rest.starts_with(|c: char| c.is_ascii_digit())
                && rest.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(Postcode::Start(upper))
        }
        _ => None,
    }
}

/// A request for a page of the caseload.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub search: Search,
    pub status: StatusFilter,
    pub service: Option<String>,
    pub urgency: Option<Urgency>,
    pub overdue_only: bool,
    pub assigned: Assigned,
    pub referrer_org: Option<String>,
    /// Received on or after this day.
    pub from: Option<Date>,
    /// Received on or before this day.
    pub to: Option<Date>,
    pub sort: Sort,
    /// Counted from 1; past the last page means the last page.
    pub page: usize,
}

impl Query {
    /// Whether the case passes every filter and the search.
    pub fn keeps(&self, f: &Facts) -> bool {
        self.status.keeps(f.status)
            && self
                .service
                .as_deref()
                .is_none_or(|s| f.service_id == Some(s))
            && self.urgency.is_none_or(|u| f.urgency == u)
            && (!self.overdue_only || f.overdue)
            && match &self.assigned {
                Assigned::Anyone => true,
                Assigned::To(u) => f.assigned_to == Some(u.as_str()),
                Assigned::Nobody => f.assigned_to.is_none(),
            }
            && self
                .referrer_org
                .as_deref()
                .is_none_or(|o| f.referrer_org == o)
            && self.from.is_none_or(|d| f.received >= d)
            && self.to.is_none_or(|d| f.received <= d)
            && self.search.matches(f)
    }
}

/// One page of the caseload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Indexes into the cases given, in display order.
    pub rows: Vec<usize>,
    /// Cases that pass the filters and the search.
    pub matched: usize,
    /// Of those, how many are overdue.
    pub overdue: usize,
    /// Cases given (the whole caseload this person may see).
    pub total: usize,
    /// The page shown, from 1, and how many pages there are (at least 1).
    pub page: usize,
    pub pages: usize,
}

impl Page {
    /// The position of the first row shown, from 1 (0 when nothing matched).
    pub fn first(&self) -> usize {
        if self.rows.is_empty() {
            0
        } else {
            (self.page - 1) * PAGE_SIZE + 1
        }
    }

    /// The position of the last row shown.
    pub fn last(&self) -> usize {
        self.first() + self.rows.len().saturating_sub(1)
    }
}

/// The page of `cases` that `q` asks for.
pub fn select(q: &Query, cases: &[Facts]) -> Page {
    let mut kept: Vec<usize> = (0..cases.len()).filter(|&i| q.keeps(&cases[i])).collect();
    let urgency_rank = |u: Urgency| match u {
        Urgency::Urgent => 0,
        Urgency::Soon => 1,
        Urgency::Routine => 2,
    };
    match q.sort {
        Sort::Priority => kept.sort_by_key(|&i| {
            let f = &cases[i];
            let closed = f.status.is_final();
            (
                closed,
                !f.overdue,
                if closed { 0 } else { urgency_rank(f.urgency) },
                Reverse(f.received_at),
                f.reference,
            )
        }),
        Sort::Newest => kept.sort_by_key(|&i| (Reverse(cases[i].received_at), cases[i].reference)),
        Sort::Oldest => kept.sort_by_key(|&i| (cases[i].received_at, cases[i].reference)),
        Sort::Reference => kept
            .sort_by(|&a, &b| syndemic_model::natural_cmp(cases[a].reference, cases[b].reference)),
        Sort::Urgency => kept.sort_by_key(|&i| {
            (
                urgency_rank(cases[i].urgency),
                Reverse(cases[i].received_at),
            )
        }),
        Sort::Status => kept.sort_by_key(|&i| {
            let order = Status::ALL.iter().position(|s| *s == cases[i].status);
            (order, Reverse(cases[i].received_at))
        }),
        Sort::Person | Sort::ReferredBy | Sort::Service | Sort::Assigned => {
            let key = |f: &Facts| -> String {
                match q.sort {
                    Sort::Person => f
                        .person
                        .map(|p| format!("{} {}", p.family_name, p.given_name))
                        .unwrap_or_default(),
                    Sort::ReferredBy => f.referrer_name.to_owned(),
                    Sort::Service => f.service_name.to_owned(),
                    _ => f.assigned_name.to_owned(),
                }
                .to_lowercase()
            };
            // Empty last, then A to Z, newest first within a name.
            let keys: Vec<String> = cases.iter().map(key).collect();
            kept.sort_by(|&a, &b| {
                (keys[a].is_empty(), &keys[a], Reverse(cases[a].received_at)).cmp(&(
                    keys[b].is_empty(),
                    &keys[b],
                    Reverse(cases[b].received_at),
                ))
            });
        }
    }
    let matched = kept.len();
    let overdue = kept.iter().filter(|&&i| cases[i].overdue).count();
    let pages = matched.div_ceil(PAGE_SIZE).max(1);
    let page = q.page.clamp(1, pages);
    let rows = kept
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Page {
        rows,
        matched,
        overdue,
        total: cases.len(),
        page,
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn person(given: &str, family: &str) -> Person {
        Person {
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: Some("1948-03-02".into()),
            nhs_number: Some("9434765919".into()),
            phone: "07700 900123".into(),
            postcode: "HM1 2AB".into(),
            ..Person::default()
        }
    }

    fn facts<'a>(reference: &'a str, p: Option<&'a Person>) -> Facts<'a> {
        Facts {
            reference,
            person: p,
            status: Status::Received,
            urgency: Urgency::Routine,
            service_id: None,
            assigned_to: None,
            referrer_org: "gp",
            received_at: 0,
            received: date!(2026 - 11 - 02),
            overdue: false,
            service_name: "",
            assigned_name: "",
            referrer_name: "",
        }
    }

    #[test]
    fn every_column_sorts_with_empty_names_last() {
        let (a, b, c) = (
            person("Ann", "Young"),
            person("Bo", "Adams"),
            person("Cy", "Mills"),
        );
        let mut cases = vec![
            facts("R10", Some(&a)),
            facts("R2", Some(&b)),
            facts("R1", Some(&c)),
        ];
        cases[0].service_name = "Warm homes";
        cases[1].service_name = "";
        cases[2].service_name = "Debt advice";
        cases[0].urgency = Urgency::Soon;
        cases[2].urgency = Urgency::Urgent;
        cases[1].status = Status::Closed;
        let order = |sort: Sort| -> Vec<&str> {
            let q = Query {
                sort,
                ..Query::default()
            };
            select(&q, &cases)
                .rows
                .iter()
                .map(|&i| cases[i].reference)
                .collect()
        };
        assert_eq!(order(Sort::Reference), ["R1", "R2", "R10"], "natural order");
        assert_eq!(
            order(Sort::Person),
            ["R2", "R1", "R10"],
            "Adams, Mills, Young"
        );
        assert_eq!(order(Sort::Service), ["R1", "R10", "R2"], "no service last");
        assert_eq!(order(Sort::Urgency), ["R1", "R10", "R2"]);
        // Received (in the list's order where the days tie), then closed.
        assert_eq!(order(Sort::Status), ["R10", "R1", "R2"]);
        for s in Sort::ALL {
            assert_eq!(Sort::parse(s.code()).unwrap(), *s);
        }
    }

    fn finds(text: &str, f: &Facts) -> bool {
        Search::parse(text).unwrap().matches(f)
    }

    #[test]
    fn a_case_is_found_by_name_number_reference_postcode_and_phone() {
        let p = person("Margaret", "O'Brien-Smith");
        let f = facts("HM-7F3A2B1C", Some(&p));
        for hit in [
            "margaret",
            "mar obr",
            "Smith",
            "MARGARET O’BRIEN",
            "943 476 5919",
            "9434765919",
            "7f3a2b1c",
            "hm-7f3a",
            "HM1 2AB",
            "hm12ab",
            "HM1",
            "hm1 2",
            "07700 900123",
            "+44 7700 900123",
            "900123",
        ] {
            assert!(finds(hit, &f), "`{hit}` should find the case");
        }
        for miss in [
            "maggie",
            "smithson",
            "9434765918",
            "HM2",
            "HM1 3",
            "HM1 2AC",
            "07700 900124",
            "7f3b",
            "12345",
        ] {
            assert!(!finds(miss, &f), "`{miss}` should not find the case");
        }
    }

    #[test]
    fn an_erased_person_is_found_by_reference_only() {
        let f = facts("HM-7F3A2B1C", None);
        assert!(finds("7F3A2B1C", &f));
        assert!(!finds("Margaret", &f));
        assert!(!finds("9434765919", &f));
    }

    #[test]
    fn accents_are_ignored_in_names() {
        let p = person("Zoë", "Núñez");
        let f = facts("R1", Some(&p));
        assert!(finds("zoe nunez", &f));
        assert!(finds("ZOË", &f));
    }

    #[test]
    fn a_search_too_long_is_refused_on_its_field() {
        let err = Search::parse(&"a".repeat(MAX_SEARCH_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "q");
        assert!(Search::parse(&"a".repeat(MAX_SEARCH_CHARS)).is_ok());
    }

    #[test]
    fn the_kind_of_search_is_recorded_never_the_text() {
        assert_eq!(
            Search::parse("943 476 5919").unwrap().kind(),
            "NHS number or phone"
        );
        assert_eq!(
            Search::parse("HM1").unwrap().kind(),
            "postcode, name or reference"
        );
        assert_eq!(Search::parse("Smith").unwrap().kind(), "name or reference");
        assert_eq!(Search::parse("").unwrap().kind(), "none");
    }

    #[test]
    fn overdue_then_urgent_open_cases_come_first_and_closed_ones_last() {
        let mut cases = Vec::new();
        let names = [
            "closed-urgent",
            "routine-new",
            "urgent-old",
            "overdue-routine",
            "soon",
        ];
        for (i, name) in names.iter().enumerate() {
            let mut f = facts(name, None);
            f.received_at = i as i64;
            cases.push(f);
        }
        cases[0].status = Status::Closed;
        cases[0].urgency = Urgency::Urgent;
        cases[1].received_at = 100;
        cases[2].urgency = Urgency::Urgent;
        cases[3].overdue = true;
        cases[4].urgency = Urgency::Soon;
        let page = select(&Query::default(), &cases);
        let order: Vec<&str> = page.rows.iter().map(|&i| cases[i].reference).collect();
        assert_eq!(
            order,
            [
                "overdue-routine",
                "urgent-old",
                "soon",
                "routine-new",
                "closed-urgent"
            ]
        );
        assert_eq!(page.overdue, 1);
        let q = Query {
            sort: Sort::Oldest,
            ..Query::default()
        };
        let page = select(&q, &cases);
        assert_eq!(cases[page.rows[0]].reference, "closed-urgent");
    }

    #[test]
    fn every_filter_narrows_the_list() {
        let p = person("Ann", "Lee");
        let mut a = facts("A", Some(&p));
        a.service_id = Some("warm");
        a.assigned_to = Some("u1");
        a.urgency = Urgency::Urgent;
        a.overdue = true;
        let mut b = facts("B", Some(&p));
        b.status = Status::Closed;
        b.referrer_org = "council";
        b.received = date!(2026 - 10 - 01);
        let cases = [a, b];
        let only = |q: Query| -> Vec<&str> {
            select(&q, &cases)
                .rows
                .iter()
                .map(|&i| cases[i].reference)
                .collect()
        };
        assert_eq!(only(Query::default()), ["A", "B"]);
        assert_eq!(
            only(Query {
                status: StatusFilter::Open,
                ..Query::default()
            }),
            ["A"]
        );
        assert_eq!(
            only(Query {
                status: StatusFilter::Is(Status::Closed),
                ..Query::default()
            }),
            ["B"]
        );
        assert_eq!(
            only(Query {
                service: Some("warm".into()),
                ..Query::default()
            }),
            ["A"]
        );
        assert_eq!(
            only(Query {
                urgency: Some(Urgency::Routine),
                ..Query::default()
            }),
            ["B"]
        );
        assert_eq!(
            only(Query {
                overdue_only: true,
                ..Query::default()
            }),
            ["A"]
        );
        assert_eq!(
            only(Query {
                assigned: Assigned::To("u1".into()),
                ..Query::default()
            }),
            ["A"]
        );
        assert_eq!(
            only(Query {
                assigned: Assigned::Nobody,
                ..Query::default()
            }),
            ["B"]
        );
        assert_eq!(
            only(Query {
                referrer_org: Some("council".into()),
                ..Query::default()
            }),
            ["B"]
        );
        assert_eq!(
            only(Query {
                from: Some(date!(2026 - 11 - 01)),
                ..Query::default()
            }),
            ["A"]
        );
        assert_eq!(
            only(Query {
                to: Some(date!(2026 - 10 - 01)),
                ..Query::default()
            }),
            ["B"]
        );
    }

    #[test]
    fn the_form_values_are_read_or_refused_on_their_field() {
        assert_eq!(StatusFilter::parse("open").unwrap(), StatusFilter::Open);
        assert_eq!(
            StatusFilter::parse("closed").unwrap(),
            StatusFilter::Is(Status::Closed)
        );
        assert_eq!(StatusFilter::parse("shut").unwrap_err().field, "status");
        assert_eq!(Sort::parse("").unwrap(), Sort::Priority);
        assert_eq!(Sort::parse("sideways").unwrap_err().field, "sort");
        for s in [
            StatusFilter::All,
            StatusFilter::Open,
            StatusFilter::Is(Status::Declined),
        ] {
            assert_eq!(StatusFilter::parse(s.code()).unwrap(), s);
        }
    }

    proptest! {
        /// Paging shows every matched case exactly once, in order, and the
        /// counts agree with the rows.
        #[test]
        fn pages_cover_the_matches_once(n in 0usize..140, seed in any::<u64>()) {
            let cases: Vec<Facts> = (0..n)
                .map(|i| {
                    let mut f = facts("R", None);
                    f.received_at = ((i as u64).wrapping_mul(seed | 1) % 97) as i64;
                    f.overdue = (seed >> (i % 64)) & 1 == 1;
                    f.status = if i % 5 == 0 { Status::Closed } else { Status::Received };
                    f
                })
                .collect();
            let q = Query { status: StatusFilter::Open, ..Query::default() };
            let all = select(&Query { page: 1, ..q.clone() }, &cases);
            let mut seen = Vec::new();
            for page in 1..=all.pages {
                let p = select(&Query { page, ..q.clone() }, &cases);
                prop_assert!(p.rows.len() <= PAGE_SIZE);
                prop_assert_eq!(p.matched, all.matched);
                if !p.rows.is_empty() {
                    prop_assert_eq!(p.last() - p.first() + 1, p.rows.len());
                }
                seen.extend(p.rows);
            }
            prop_assert_eq!(seen.len(), all.matched);
            let mut unique = seen.clone();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(unique.len(), seen.len());
            prop_assert!(seen.iter().all(|&i| !cases[i].status.is_final()));
            // Overdue cases all come before the rest.
            let first_not_overdue = seen.iter().position(|&i| !cases[i].overdue).unwrap_or(seen.len());
            prop_assert!(seen[first_not_overdue..].iter().all(|&i| !cases[i].overdue));
            // A page past the end is the last page.
            let past = select(&Query { page: all.pages + 3, ..q.clone() }, &cases);
            prop_assert_eq!(past.page, all.pages);
        }
    }
}

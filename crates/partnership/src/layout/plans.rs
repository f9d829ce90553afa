//! An action plan's commitments.

use super::*;

// --- plans --------------------------------------------------------------------

/// A commitment as a plan's sheet gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentRow {
    pub reference: String,
    pub title: String,
    pub lead: String,
    pub contributors: Vec<String>,
    pub framework: Option<String>,
    pub objective: Option<String>,
    pub indicator: Option<String>,
    pub baseline_period: Option<String>,
    pub baseline_value: Option<f64>,
    pub target_value: Option<f64>,
    /// `YYYY-MM-DD`.
    pub target_date: Option<String>,
    pub target_areas: Option<TargetRule>,
    /// `YYYY-MM-DD: what`, separated by `;`.
    pub milestones: Vec<(String, String)>,
}

pub(super) const COMMITMENT_COLUMNS: &[Column] = &[
    req("reference", &["ref", "id", "number"]),
    req("title", &["commitment", "what"]),
    req("lead", &["lead organisation", "who leads"]),
    opt("contributors", &["contributing partners", "partners"]),
    opt("framework", &[]),
    opt("objective", &["framework objective", "marmot objective"]),
    opt("indicator", &["indicator id", "linked indicator"]),
    opt("baseline_period", &["baseline year"]),
    opt("baseline_value", &["baseline"]),
    opt("target_value", &["target"]),
    opt("target_date", &["by"]),
    opt("target_areas", &["areas", "target area rule"]),
    opt("milestones", &[]),
];

pub fn commitments_template() -> Vec<&'static str> {
    template(COMMITMENT_COLUMNS)
}

pub(super) fn list(text: &str) -> Vec<String> {
    text.split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A plan's commitments. Organisation ids, frameworks, objectives and indicators
/// are checked against the store by the importer; here, every cell's own form.
pub fn read_commitments(sheet: &Sheet) -> Result<Vec<CommitmentRow>, LayoutError> {
    let mut seen = std::collections::HashMap::new();
    read_rows(sheet, COMMITMENT_COLUMNS, |r| {
        let reference = r.need("reference");
        if let Some(first) = seen.insert(reference.clone(), r.line) {
            r.fail(
                "reference",
                format!("`{reference}` is already on line {first}: each commitment once"),
            );
        }
        let title = r.need("title");
        let lead = r.need("lead");
        let indicator = Some(r.text("indicator")).filter(|s| !s.is_empty());
        let baseline_period = Some(r.text("baseline_period")).filter(|s| !s.is_empty());
        if let Some(p) = &baseline_period {
            if let Err(e) = Period::parse(p) {
                r.fail("baseline_period", e.to_string());
            }
        }
        let baseline_value = r.number("baseline_value");
        let target_value = r.number("target_value");
        let target_date = r.parse("target_date", "a date: write YYYY-MM-DD", |v| {
            parse_date(v).map(|_| v.to_owned())
        });
        if indicator.is_some() {
            for (name, missing) in [
                ("baseline_period", baseline_period.is_none()),
                ("target_value", target_value.is_none()),
                (
                    "target_date",
                    target_date.is_none() && r.text("target_date").is_empty(),
                ),
            ] {
                if missing {
                    r.fail(name, "is empty: a commitment linked to an indicator needs its baseline period, target value and target date".into());
                }
            }
        }
        let target_areas = r.parse(
            "target_areas",
            "a target rule (local-quintile:AREA:1, national-decile:AREA:1-2 or areas:CODE,CODE)",
            |v| TargetRule::parse(v).ok(),
        );
        let mut milestones = Vec::new();
        for m in r
            .text("milestones")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match m.split_once(':') {
                Some((d, what)) if parse_date(d).is_some() && !what.trim().is_empty() => {
                    milestones.push((d.trim().to_owned(), what.trim().to_owned()))
                }
                _ => r.fail(
                    "milestones",
                    format!("`{m}` is not a milestone: write YYYY-MM-DD: what, separated by ;"),
                ),
            }
        }
        Some(CommitmentRow {
            reference,
            title,
            lead,
            contributors: list(&r.text("contributors")),
            framework: Some(r.text("framework")).filter(|s| !s.is_empty()),
            objective: Some(r.text("objective")).filter(|s| !s.is_empty()),
            indicator,
            baseline_period,
            baseline_value,
            target_value,
            target_date,
            target_areas,
            milestones,
        })
    })
}

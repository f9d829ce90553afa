//! A commitment proposed to an action plan — from the plan's form or a row of an
//! imported plan — and the checks it must pass before it is kept: its reference is
//! new to the plan, its lead and contributors are members of the partnership, its
//! objective belongs to a known framework, its indicator is in the evidence store,
//! and its baseline period and target date are real periods and days.
//!
//! The checks are pure: the caller reads the facts once ([`Facts`]) and every
//! proposal of a request — one from a form, hundreds from a file — is checked
//! against them, each refusal typed ([`Refusal`]) and worded for the person who
//! can fix it.

use syndemic_model::date::parse_day;
use syndemic_model::Period;

use crate::framework;
use crate::target::TargetRule;

/// A commitment as proposed, before its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    pub reference: String,
    pub title: String,
    /// The lead organisation's id.
    pub lead: String,
    pub contributors: Vec<String>,
    /// (framework code, objective code).
    pub objective: Option<(String, String)>,
    pub indicator: Option<String>,
    pub baseline_period: Option<String>,
    pub baseline_value: Option<f64>,
    pub target_value: Option<f64>,
    pub target_date: Option<String>,
    pub target_areas: Option<TargetRule>,
    /// (due day `YYYY-MM-DD`, what will be done).
    pub milestones: Vec<(String, String)>,
}

/// What a proposal is checked against, read from the store once per request.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// References the plan's commitments already use (not the one being changed).
    pub references: Vec<String>,
    /// The organisations that are members of the plan's partnership.
    pub members: Vec<String>,
    /// Every (framework code, objective code) a commitment may be classified by.
    pub objectives: Vec<(String, String)>,
    /// The ids of the evidence store's indicators.
    pub indicators: Vec<String>,
}

/// Why a proposed commitment is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("this plan already has a commitment `{0}`: choose another reference")]
    ReferenceTaken(String),
    #[error("`{0}` is not a member of this partnership: add it as a member first")]
    NotAMember(String),
    #[error(
        "`{framework}:{objective}` is not an objective of a framework here (built in: {} and {})",
        framework::MARMOT,
        framework::TRIANGLE
    )]
    UnknownObjective {
        framework: String,
        objective: String,
    },
    #[error("the evidence store has no indicator `{0}`")]
    UnknownIndicator(String),
    #[error("baseline period `{period}`: {reason}")]
    BadBaselinePeriod { period: String, reason: String },
    #[error("target date `{0}` is not a date: give YYYY-MM-DD")]
    BadTargetDate(String),
}

/// Checks a proposal against the facts: the first refusal, or `Ok`.
pub fn check(p: &Proposed, facts: &Facts) -> Result<(), Refusal> {
    if facts.references.contains(&p.reference) {
        return Err(Refusal::ReferenceTaken(p.reference.clone()));
    }
    if let Some(org) = std::iter::once(&p.lead)
        .chain(&p.contributors)
        .find(|org| !facts.members.contains(org))
    {
        return Err(Refusal::NotAMember(org.clone()));
    }
    if let Some((f, o)) = &p.objective {
        if !facts.objectives.iter().any(|(x, y)| x == f && y == o) {
            return Err(Refusal::UnknownObjective {
                framework: f.clone(),
                objective: o.clone(),
            });
        }
    }
    if let Some(i) = &p.indicator {
        if !facts.indicators.contains(i) {
            return Err(Refusal::UnknownIndicator(i.clone()));
        }
    }
    if let Some(bp) = &p.baseline_period {
        Period::parse(bp).map_err(|e| Refusal::BadBaselinePeriod {
            period: bp.clone(),
            reason: e.to_string(),
        })?;
    }
    if let Some(d) = &p.target_date {
        if parse_day(d).is_none() {
            return Err(Refusal::BadTargetDate(d.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            references: vec!["M1".into()],
            members: vec!["council".into(), "nhs".into()],
            objectives: vec![(framework::MARMOT.into(), "warm-homes".into())],
            indicators: vec!["90366".into()],
        }
    }

    fn proposal() -> Proposed {
        Proposed {
            reference: "M2".into(),
            title: "Insulate 500 homes".into(),
            lead: "council".into(),
            contributors: vec!["nhs".into()],
            objective: Some((framework::MARMOT.into(), "warm-homes".into())),
            indicator: Some("90366".into()),
            baseline_period: Some("2022".into()),
            baseline_value: Some(10.0),
            target_value: Some(8.0),
            target_date: Some("2027-03-31".into()),
            target_areas: None,
            milestones: Vec::new(),
        }
    }

    #[test]
    fn a_sound_proposal_passes() {
        assert_eq!(check(&proposal(), &facts()), Ok(()));
    }

    #[test]
    fn each_fault_is_refused_by_name() {
        let f = facts();
        let cases: Vec<(Proposed, Refusal)> = vec![
            (
                Proposed {
                    reference: "M1".into(),
                    ..proposal()
                },
                Refusal::ReferenceTaken("M1".into()),
            ),
            (
                Proposed {
                    contributors: vec!["police".into()],
                    ..proposal()
                },
                Refusal::NotAMember("police".into()),
            ),
            (
                Proposed {
                    objective: Some(("marmot".into(), "nothing".into())),
                    ..proposal()
                },
                Refusal::UnknownObjective {
                    framework: "marmot".into(),
                    objective: "nothing".into(),
                },
            ),
            (
                Proposed {
                    indicator: Some("1".into()),
                    ..proposal()
                },
                Refusal::UnknownIndicator("1".into()),
            ),
            (
                Proposed {
                    target_date: Some("2027-3-31".into()),
                    ..proposal()
                },
                Refusal::BadTargetDate("2027-3-31".into()),
            ),
        ];
        for (p, refusal) in cases {
            assert_eq!(check(&p, &f), Err(refusal));
        }
        let bad_period = Proposed {
            baseline_period: Some("last year".into()),
            ..proposal()
        };
        assert!(matches!(
            check(&bad_period, &f),
            Err(Refusal::BadBaselinePeriod { .. })
        ));
    }
}

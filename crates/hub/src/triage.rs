//! Triage: which services suit a referral. Suggestions only — a coordinator
//! decides (UK GDPR Article 22: no solely automated decision).
//!
//! A service's referral terms say whether it takes direct referrals, which needs
//! it meets, the ages it serves and the areas it covers (GSS codes of districts,
//! wards or LSOAs; none means everywhere). A service is eligible when it takes
//! referrals, the person's age (if known) is in range and their area is covered;
//! eligible services are ranked by how many of the referral's needs they meet,
//! then by the configured priority, then by name. Ineligible services that meet a
//! need are listed too, with why not, so the coordinator can overrule.

use serde::{Deserialize, Serialize};

use crate::need::Need;

/// What a service accepts, beside its directory entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    pub accepts_referrals: bool,
    pub needs: Vec<Need>,
    #[serde(default)]
    pub minimum_age: Option<u32>,
    #[serde(default)]
    pub maximum_age: Option<u32>,
    /// Areas served; empty means everywhere.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Higher first among equally good matches (a rule a coordinator sets).
    #[serde(default)]
    pub priority: i32,
}

/// A service that may be suggested.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub service_id: String,
    pub name: String,
    pub terms: Terms,
}

/// What is known about the person for triage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub needs: Vec<Need>,
    pub age: Option<u32>,
    /// The person's small area and every area above it.
    pub areas: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub service_id: String,
    pub name: String,
    pub meets: Vec<Need>,
    pub eligible: bool,
    /// Why it is suggested, or why it is not eligible.
    pub reasons: Vec<String>,
}

/// Services that meet at least one need, eligible ones first (see the module).
pub fn suggest(facts: &Facts, offers: &[Offer]) -> Vec<Suggestion> {
    let mut out: Vec<(Suggestion, i32)> = offers
        .iter()
        .filter_map(|o| {
            let meets: Vec<Need> = facts
                .needs
                .iter()
                .copied()
                .filter(|n| o.terms.needs.contains(n))
                .collect();
            if meets.is_empty() {
                return None;
            }
            let mut why_not = Vec::new();
            if !o.terms.accepts_referrals {
                why_not.push("does not take direct referrals".to_owned());
            }
            if let Some(age) = facts.age {
                if o.terms.minimum_age.is_some_and(|m| age < m)
                    || o.terms.maximum_age.is_some_and(|m| age > m)
                {
                    why_not.push(format!(
                        "serves ages {}–{}, the person is {age}",
                        o.terms.minimum_age.unwrap_or(0),
                        o.terms
                            .maximum_age
                            .map_or("any".to_owned(), |m| m.to_string())
                    ));
                }
            }
            if !o.terms.areas.is_empty()
                && !facts.areas.is_empty()
                && !o.terms.areas.iter().any(|a| facts.areas.contains(a))
            {
                why_not.push("does not cover the person's area".to_owned());
            }
            let eligible = why_not.is_empty();
            let reasons = if eligible {
                vec![format!(
                    "meets {}",
                    meets
                        .iter()
                        .map(|n| n.label().to_lowercase())
                        .collect::<Vec<_>>()
                        .join(", ")
                )]
            } else {
                why_not
            };
            Some((
                Suggestion {
                    service_id: o.service_id.clone(),
                    name: o.name.clone(),
                    meets,
                    eligible,
                    reasons,
                },
                o.terms.priority,
            ))
        })
        .collect();
    out.sort_by(|(a, pa), (b, pb)| {
        b.eligible
            .cmp(&a.eligible)
            .then(b.meets.len().cmp(&a.meets.len()))
            .then(pb.cmp(pa))
            .then_with(|| a.name.cmp(&b.name))
    });
    out.into_iter().map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, needs: &[Need], f: impl FnOnce(&mut Terms)) -> Offer {
        let mut terms = Terms {
            accepts_referrals: true,
            needs: needs.to_vec(),
            ..Terms::default()
        };
        f(&mut terms);
        Offer {
            service_id: id.into(),
            name: id.into(),
            terms,
        }
    }

    #[test]
    fn eligible_services_that_meet_most_needs_come_first() {
        let offers = [
            offer("a-debt", &[Need::Debt], |_| {}),
            offer("b-warm", &[Need::ColdHome, Need::Debt], |_| {}),
            offer("c-warm-elsewhere", &[Need::ColdHome, Need::Debt], |t| {
                t.areas = vec!["E07000999".into()]
            }),
            offer("d-youth", &[Need::ColdHome], |t| t.maximum_age = Some(25)),
            offer("e-food", &[Need::Food], |_| {}),
            offer("f-debt-preferred", &[Need::Debt], |t| t.priority = 5),
        ];
        let facts = Facts {
            needs: vec![Need::ColdHome, Need::Debt],
            age: Some(70),
            areas: vec!["E01000001".into(), "E07000001".into()],
        };
        let s = suggest(&facts, &offers);
        let ids: Vec<&str> = s.iter().map(|s| s.service_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "b-warm",
                "f-debt-preferred",
                "a-debt",
                "c-warm-elsewhere",
                "d-youth"
            ]
        );
        assert!(!s[3].eligible && s[3].reasons[0].contains("area"));
        assert!(s[4].reasons[0].contains("the person is 70"));
    }
}

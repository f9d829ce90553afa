//! The frameworks a partnership classifies its commitments against.
//!
//! Two are built in:
//!
//! - **Marmot policy objectives**: the six of *Fair Society, Healthy Lives* (the
//!   Marmot Review, 2010) and the two added by *Build Back Fairer* (2020): tackle
//!   racism, discrimination and their outcomes; pursue environmental sustainability
//!   and health equity together.
//! - **The population intervention triangle** (Public Health England, *Community-
//!   centred public health*, 2019; from Kelly and others' triangle): civic-level,
//!   service-based and community-centred interventions, and the overlaps where they
//!   are joined up — which is where the model says population health gains are made.
//!
//! A partnership may add its own framework, with its own objectives.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Objective {
    pub code: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    pub code: String,
    pub name: String,
    /// Built in (cannot be changed), or a partnership's own.
    pub built_in: bool,
    pub objectives: Vec<Objective>,
}

impl Framework {
    pub fn objective(&self, code: &str) -> Option<&Objective> {
        self.objectives.iter().find(|o| o.code == code)
    }
}

fn framework(code: &str, name: &str, objectives: &[(&str, &str)]) -> Framework {
    Framework {
        code: code.into(),
        name: name.into(),
        built_in: true,
        objectives: objectives
            .iter()
            .map(|(c, l)| Objective {
                code: (*c).into(),
                label: (*l).into(),
            })
            .collect(),
    }
}

pub const MARMOT: &str = "marmot";
pub const TRIANGLE: &str = "intervention-triangle";

/// The Marmot policy objectives, 2010 and 2020.
pub fn marmot() -> Framework {
    framework(
        MARMOT,
        "Marmot policy objectives",
        &[
            (
                "early-years",
                "Give every child the best start in life",
            ),
            (
                "education",
                "Enable all children, young people and adults to maximise their capabilities and have control over their lives",
            ),
            ("work", "Create fair employment and good work for all"),
            ("income", "Ensure a healthy standard of living for all"),
            (
                "places",
                "Create and develop healthy and sustainable places and communities",
            ),
            (
                "prevention",
                "Strengthen the role and impact of ill health prevention",
            ),
            (
                "racism",
                "Tackle racism, discrimination and their outcomes",
            ),
            (
                "sustainability",
                "Pursue environmental sustainability and health equity together",
            ),
        ],
    )
}

/// The population intervention triangle: its three segments and their overlaps.
pub fn intervention_triangle() -> Framework {
    framework(
        TRIANGLE,
        "Population intervention triangle",
        &[
            ("civic", "Civic-level interventions"),
            ("service", "Service-based interventions"),
            ("community", "Community-centred interventions"),
            ("civic-service", "Civic-level and service-based together"),
            (
                "civic-community",
                "Civic-level and community-centred together",
            ),
            (
                "service-community",
                "Service-based and community-centred together",
            ),
            ("all", "All three joined up: place-based planning"),
        ],
    )
}

pub fn built_in() -> Vec<Framework> {
    vec![marmot(), intervention_triangle()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marmot_has_the_six_of_2010_and_the_two_of_2020() {
        let m = marmot();
        assert_eq!(m.objectives.len(), 8);
        assert!(m.objective("racism").is_some());
        assert!(m.objective("sustainability").is_some());
        let codes: std::collections::HashSet<_> = m.objectives.iter().map(|o| &o.code).collect();
        assert_eq!(codes.len(), 8);
    }

    #[test]
    fn the_triangle_has_three_segments_and_four_overlaps() {
        assert_eq!(intervention_triangle().objectives.len(), 7);
    }
}

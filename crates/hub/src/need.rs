//! The coded lists a referral and its outcome are recorded in.
//!
//! Codes are stable short identifiers (stored, exchanged in the API and FHIR);
//! labels are what people read. The needs follow the conditions behind ill health
//! that single-point-of-contact schemes (warm homes, social prescribing) refer for.

use serde::{Deserialize, Serialize};

macro_rules! coded {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $label:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The value for a code (exact), or `None`.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(code: String) -> Result<$name, String> {
                $name::from_code(&code).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.code()).collect();
                    format!("`{code}` is not a known code; use one of {}", known.join(", "))
                })
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str { v.code() }
        }
    };
}

coded! {
    /// A need a referral names; a referral names one or more.
    Need {
        ColdHome = "cold-home", "Cold home or fuel poverty";
        Respiratory = "respiratory", "Respiratory condition";
        Cardiovascular = "cardiovascular", "Cardiovascular condition";
        Aged65 = "aged-65", "Aged 65 or over";
        LowIncome = "low-income", "Low income";
        Debt = "debt", "Debt";
        Housing = "housing", "Housing (repairs, damp, security of tenure)";
        Food = "food", "Food";
        Isolation = "isolation", "Social isolation or loneliness";
        DischargeCold = "discharge-cold-home", "Hospital discharge to a cold home";
        MentalHealth = "mental-health", "Mental health and wellbeing";
        Disability = "disability", "Disability or long-term condition";
        FireSafety = "fire-safety", "Home fire safety";
        Carer = "carer", "Unpaid carer";
    }
}

impl Need {
    /// Whether the need is a health condition (for the reports' share with one).
    pub fn is_health_condition(self) -> bool {
        matches!(
            self,
            Need::Respiratory
                | Need::Cardiovascular
                | Need::MentalHealth
                | Need::Disability
                | Need::DischargeCold
        )
    }
}

coded! {
    /// What came of a case, recorded at or before closing; a case has any number.
    OutcomeCode {
        MeasuresInstalled = "measures-installed", "Energy-efficiency or heating measures installed";
        GrantSecured = "grant-secured", "Grant secured";
        BenefitsSecured = "benefits-secured", "Benefits or income secured";
        DebtManaged = "debt-managed", "Debt advice and a repayment plan";
        MoneySaved = "money-saved", "Money saved per year (£)";
        OnwardReferral = "onward-referral", "Onward referral made";
        AdviceGiven = "advice-given", "Advice and information given";
        Ons4Start = "ons4-start", "ONS4 life satisfaction at start (0–10)";
        Ons4Close = "ons4-close", "ONS4 life satisfaction at close (0–10)";
        SwemwbsStart = "swemwbs-start", "SWEMWBS score at start (7–35)";
        SwemwbsClose = "swemwbs-close", "SWEMWBS score at close (7–35)";
    }
}

impl OutcomeCode {
    /// The range a value recorded with the outcome must fall in, where it has one.
    pub fn value_range(self) -> Option<(f64, f64)> {
        match self {
            OutcomeCode::MoneySaved | OutcomeCode::GrantSecured | OutcomeCode::BenefitsSecured => {
                Some((0.0, 1_000_000.0))
            }
            OutcomeCode::Ons4Start | OutcomeCode::Ons4Close => Some((0.0, 10.0)),
            OutcomeCode::SwemwbsStart | OutcomeCode::SwemwbsClose => Some((7.0, 35.0)),
            _ => None,
        }
    }

    /// Checks a value against [`OutcomeCode::value_range`]: a scored outcome needs one.
    pub fn check_value(self, value: Option<f64>) -> Result<Option<f64>, String> {
        match (self.value_range(), value) {
            (None, _) => Ok(value.filter(|v| v.is_finite())),
            (Some((lo, hi)), Some(v)) if v.is_finite() && (lo..=hi).contains(&v) => Ok(Some(v)),
            (Some((lo, hi)), Some(v)) => Err(format!(
                "{} must be between {lo} and {hi}; {v} is not",
                self.label()
            )),
            (Some(_), None) => match self {
                OutcomeCode::GrantSecured | OutcomeCode::BenefitsSecured => Ok(None),
                _ => Err(format!("{} needs a value", self.label())),
            },
        }
    }
}

coded! {
    /// How soon the person should be contacted.
    Urgency {
        Routine = "routine", "Routine (within 10 working days)";
        Soon = "soon", "Soon (within 3 working days)";
        Urgent = "urgent", "Urgent (next working day)";
    }
}

impl Urgency {
    /// The working days allowed to first contact before the case is overdue.
    pub fn target_working_days(self) -> u32 {
        match self {
            Urgency::Routine => 10,
            Urgency::Soon => 3,
            Urgency::Urgent => 1,
        }
    }
}

coded! {
    /// On what basis the person's data is shared with the hub and its services.
    LawfulBasis {
        Consent = "consent", "Consent of the person";
        VitalInterests = "vital-interests", "Vital interests (UK GDPR 6(1)(d))";
        PublicTask = "public-task", "Public task (UK GDPR 6(1)(e)) with 9(2)(h) health and social care";
        LegalObligation = "legal-obligation", "Legal obligation (UK GDPR 6(1)(c))";
    }
}

coded! {
    /// How consent was given.
    ConsentMethod {
        Verbal = "verbal", "Verbally, in person or by phone";
        Written = "written", "In writing";
        Electronic = "electronic", "Electronically";
    }
}

coded! {
    /// A risk that everyone working the case must see.
    RiskFlag {
        Safeguarding = "safeguarding", "Safeguarding concern";
        LoneWorking = "lone-working", "Lone-working risk: visit in pairs";
        Dog = "dog", "Dog at the property";
        Interpreter = "interpreter", "Needs an interpreter";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_name_the_known_ones() {
        for n in Need::ALL {
            assert_eq!(Need::from_code(n.code()), Some(*n));
        }
        let e = Need::try_from("warmth".to_owned()).unwrap_err();
        assert!(e.contains("cold-home") && e.contains("warmth"), "{e}");
        let json = serde_json::to_string(&Need::ColdHome).unwrap();
        assert_eq!(json, "\"cold-home\"");
        assert_eq!(serde_json::from_str::<Need>(&json).unwrap(), Need::ColdHome);
    }

    #[test]
    fn scored_outcomes_are_range_checked() {
        assert!(OutcomeCode::SwemwbsStart.check_value(Some(6.0)).is_err());
        assert!(OutcomeCode::SwemwbsStart.check_value(None).is_err());
        assert_eq!(OutcomeCode::Ons4Close.check_value(Some(7.0)), Ok(Some(7.0)));
        assert!(OutcomeCode::MoneySaved.check_value(Some(f64::NAN)).is_err());
        assert_eq!(OutcomeCode::AdviceGiven.check_value(None), Ok(None));
    }
}

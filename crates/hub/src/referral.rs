//! A referral as the front door takes it, checked.

use serde::{Deserialize, Serialize};

use crate::need::{ConsentMethod, LawfulBasis, Need, RiskFlag, Urgency};
use crate::person::Person;
use crate::FieldError;

/// The longest free-text note accepted.
pub const MAX_NOTE: usize = 4000;

/// On what basis the person's data is shared, and, for consent, who gave it,
/// when, how and for which sharing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub basis: LawfulBasis,
    /// Who gave consent: the person, or a named representative.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub given_by: String,
    /// `YYYY-MM-DD` the consent was given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub given_on: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<ConsentMethod>,
    /// What the person agreed to share, and with whom.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sharing: String,
}

/// A referral before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub person: Person,
    pub needs: Vec<Need>,
    pub urgency: Urgency,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub consent: Consent,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<RiskFlag>,
}

impl Draft {
    /// Checks every rule and reports each broken one by field.
    pub fn validate(mut self, today: time::Date) -> Result<Draft, Vec<FieldError>> {
        let mut errors = match self.person.clone().validate(today) {
            Ok(p) => {
                self.person = p;
                Vec::new()
            }
            Err(e) => e,
        };
        self.needs.sort();
        self.needs.dedup();
        self.flags.sort();
        self.flags.dedup();
        if self.needs.is_empty() {
            errors.push(FieldError::new("needs", "choose at least one need"));
        }
        self.note = self.note.trim().to_owned();
        if self.note.chars().count() > MAX_NOTE {
            errors.push(FieldError::new(
                "note",
                format!("a note is at most {MAX_NOTE} characters"),
            ));
        }
        let c = &mut self.consent;
        c.given_by = c.given_by.trim().to_owned();
        c.sharing = c.sharing.trim().to_owned();
        if c.basis == LawfulBasis::Consent {
            if c.given_by.is_empty() {
                errors.push(FieldError::new(
                    "consent.given_by",
                    "say who gave consent (the person, or their representative by name)",
                ));
            }
            if c.method.is_none() {
                errors.push(FieldError::new(
                    "consent.method",
                    "say how consent was given",
                ));
            }
            match crate::workdays::parse_date(&c.given_on) {
                Ok(d) if d > today => errors.push(FieldError::new(
                    "consent.given_on",
                    "consent cannot be given in the future",
                )),
                Ok(d) => c.given_on = crate::workdays::format_date(d),
                Err(e) => errors.push(FieldError::new("consent.given_on", e)),
            }
            if c.sharing.is_empty() {
                c.sharing = "The hub and the services it refers to".into();
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// Whether any need is a health condition.
    pub fn has_health_condition(&self) -> bool {
        self.needs.iter().any(|n| n.is_health_condition())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::date;

    pub fn draft() -> Draft {
        Draft {
            person: Person {
                given_name: "Ada".into(),
                family_name: "Lovelace".into(),
                date_of_birth: Some("1950-12-10".into()),
                nhs_number: Some("9434765919".into()),
                phone: "01632 960000".into(),
                address: "1 Mill Lane, Hartmoor".into(),
                postcode: "HM1 2AB".into(),
                ..Person::default()
            },
            needs: vec![Need::ColdHome, Need::Respiratory],
            urgency: Urgency::Soon,
            note: "Damp bedroom; <b>asthma</b>".into(),
            consent: Consent {
                basis: LawfulBasis::Consent,
                given_by: "Ada Lovelace".into(),
                given_on: "2026-11-30".into(),
                method: Some(ConsentMethod::Verbal),
                sharing: "Hub and warm homes services".into(),
            },
            flags: vec![RiskFlag::Dog],
        }
    }

    #[test]
    fn a_consent_names_who_when_and_how() {
        assert!(draft().validate(date!(2026 - 12 - 01)).is_ok());
        let mut d = draft();
        d.consent.given_by.clear();
        d.consent.method = None;
        d.needs.clear();
        let e = d.validate(date!(2026 - 12 - 01)).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["needs", "consent.given_by", "consent.method"]);
        // Another lawful basis needs no consent record.
        let mut d = draft();
        d.consent = Consent {
            basis: LawfulBasis::VitalInterests,
            given_by: String::new(),
            given_on: String::new(),
            method: None,
            sharing: String::new(),
        };
        assert!(d.validate(date!(2026 - 12 - 01)).is_ok());
    }
}

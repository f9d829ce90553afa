//! The referral hub's domain, free of I/O: what a referral is and the rules it
//! follows from the front door to its outcome.
//!
//! - [`nhs`]: NHS numbers, validated by their modulus-11 check digit.
//! - [`need`]: the coded list of needs a referral names, and outcome codes.
//! - [`status`]: the case lifecycle and which moves it allows.
//! - [`case`]: what one change to a case may do, decided from the case as it stands.
//! - [`caseload`]: finding a case (name, NHS number, reference, postcode, phone), filters, priority order, pages.
//! - [`notify`]: who is told of a change to a referral (referrer, caseworker), in words that name nobody.
//! - [`workdays`]: time to first contact in working days (weekends and bank holidays out).
//! - [`referral`]: a referral as the front door takes it, with its consent record.
//! - [`person`]: a person's details as given, and the keys that recognise a repeat referral.
//! - [`triage`]: rules that suggest services from needs, eligibility and area.
//! - [`oruk`]: the Open Referral UK 3.0 directory: documents, filters and pages.
//! - [`assets`]: community assets as ORUK services with an asset taxonomy, and back.
//! - [`fhir`]: a referral as an HL7 FHIR UK Core `ServiceRequest` and `Patient` in a Bundle.
//! - [`wellbeing`]: start and close wellbeing scores paired case by case, for the mean change.
//! - [`reach`]: referrals per 1,000 residents of each IMD decile of the catchment, with exact or Byar's limits.
//! - [`release`]: the record-level download generalised to k-anonymity (k = 5) on month, sector, decile, needs and urgency.
//!
//! Who may act on a referral (roles, actors, scopes) is the shared shell's, in
//! `syndemic-access`.
//!
//! Every function here is deterministic given its inputs (the current time and
//! random bytes are passed in), so the rules are tested without a database.

pub mod assets;
pub mod case;
pub mod caseload;
pub mod fhir;
pub mod need;
pub mod nhs;
pub mod notify;
pub mod oruk;
pub mod person;
pub mod reach;
pub mod referral;
pub mod release;
pub mod status;
pub mod triage;
pub mod wellbeing;
pub mod workdays;

/// Input a person gave that breaks a rule: which field, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

//! A referral as HL7 FHIR R4: a UK Core `ServiceRequest` and its UK Core
//! `Patient` in a `Bundle` (type `collection`), the pair the NHS Booking and
//! Referral Standard (BaRS) carries.
//!
//! Mapping: NHS number → `Patient.identifier` (system
//! `https://fhir.nhs.uk/Id/nhs-number`); name, birth date, phone, e-mail, address
//! and postcode → `Patient`; needs → `ServiceRequest.reasonCode` (our code system
//! [`NEED_SYSTEM`]); urgency → `priority` (routine → routine, soon → urgent,
//! urgent → asap); the note → `note`; consent or lawful basis and the risk flags →
//! extensions of the `ServiceRequest` (BaRS carries consent the same way, as an
//! extension, rather than a separate `Consent` resource).

use serde_json::{json, Value};

use crate::need::{ConsentMethod, LawfulBasis, Need, RiskFlag, Urgency};
use crate::person::Person;
use crate::referral::{Consent, Draft};
use crate::FieldError;

pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const NEED_SYSTEM: &str = "https://syndemic.org.uk/fhir/CodeSystem/need";
pub const REFERRAL_ID_SYSTEM: &str = "https://syndemic.org.uk/fhir/Id/referral";
const CONSENT_EXT: &str = "https://syndemic.org.uk/fhir/StructureDefinition/consent";
const FLAG_EXT: &str = "https://syndemic.org.uk/fhir/StructureDefinition/risk-flag";

/// What the Bundle says besides the draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub referral_id: String,
    /// RFC 3339.
    pub authored_on: String,
    /// `active`, `completed` or `revoked` (FHIR's request status).
    pub status: &'static str,
    pub requester: String,
}

fn priority(u: Urgency) -> &'static str {
    match u {
        Urgency::Routine => "routine",
        Urgency::Soon => "urgent",
        Urgency::Urgent => "asap",
    }
}

/// The Bundle for a referral.
pub fn to_bundle(env: &Envelope, d: &Draft) -> Value {
    let p = &d.person;
    let patient_url = format!("urn:uuid:patient-{}", env.referral_id);
    let mut patient = json!({
        "resourceType": "Patient",
        "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
        "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
    });
    if let Some(n) = &p.nhs_number {
        patient["identifier"] = json!([{"system": NHS_NUMBER_SYSTEM, "value": n}]);
    }
    if let Some(b) = &p.date_of_birth {
        patient["birthDate"] = json!(b);
    }
    let mut telecom = Vec::new();
    if !p.phone.is_empty() {
        telecom.push(json!({"system": "phone", "value": p.phone}));
    }
    if !p.email.is_empty() {
        telecom.push(json!({"system": "email", "value": p.email}));
    }
    if !telecom.is_empty() {
        patient["telecom"] = Value::Array(telecom);
    }
    if !p.address.is_empty() || !p.postcode.is_empty() {
        let mut a = json!({"use": "home"});
        if !p.address.is_empty() {
            a["text"] = json!(p.address);
        }
        if !p.postcode.is_empty() {
            a["postalCode"] = json!(p.postcode);
        }
        patient["address"] = json!([a]);
    }
    let c = &d.consent;
    let mut consent = vec![json!({"url": "basis", "valueCode": c.basis.code()})];
    for (key, v) in [
        ("givenBy", &c.given_by),
        ("givenOn", &c.given_on),
        ("sharing", &c.sharing),
    ] {
        if !v.is_empty() {
            let value = if key == "givenOn" {
                "valueDate"
            } else {
                "valueString"
            };
            consent.push(json!({"url": key, value: v}));
        }
    }
    if let Some(m) = c.method {
        consent.push(json!({"url": "method", "valueCode": m.code()}));
    }
    let mut extension = vec![json!({"url": CONSENT_EXT, "extension": consent})];
    extension.extend(
        d.flags
            .iter()
            .map(|f| json!({"url": FLAG_EXT, "valueCode": f.code()})),
    );
    let mut request = json!({
        "resourceType": "ServiceRequest",
        "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-ServiceRequest"]},
        "identifier": [{"system": REFERRAL_ID_SYSTEM, "value": env.referral_id}],
        "status": env.status,
        "intent": "order",
        "priority": priority(d.urgency),
        "code": {"text": "Referral to the single point of contact"},
        "subject": {"reference": patient_url},
        "authoredOn": env.authored_on,
        "requester": {"display": env.requester},
        "reasonCode": d.needs.iter().map(|n| json!({"coding": [{"system": NEED_SYSTEM, "code": n.code(), "display": n.label()}]})).collect::<Vec<_>>(),
        "extension": extension,
    });
    if !d.note.is_empty() {
        request["note"] = json!([{"text": d.note}]);
    }
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": patient_url, "resource": patient},
            {"fullUrl": format!("urn:uuid:servicerequest-{}", env.referral_id), "resource": request},
        ]
    })
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// Reads a Bundle back into a draft (to be validated like any other), with the
/// referral id it carried, if any.
pub fn from_bundle(bundle: &Value) -> Result<(Option<String>, Draft), FieldError> {
    if bundle["resourceType"] != "Bundle" {
        return Err(bad("resourceType", "expected a FHIR Bundle"));
    }
    let entries = bundle["entry"]
        .as_array()
        .ok_or_else(|| bad("entry", "the Bundle has no entries"))?;
    let find = |kind: &str| {
        entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == kind)
    };
    let request =
        find("ServiceRequest").ok_or_else(|| bad("entry", "the Bundle holds no ServiceRequest"))?;
    let subject = request["subject"]["reference"].as_str();
    let patient = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient" && e["fullUrl"].as_str() == subject)
        .map(|e| &e["resource"])
        .or_else(|| find("Patient"))
        .ok_or_else(|| bad("entry", "the Bundle holds no Patient"))?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let name = &patient["name"][0];
    let telecom = |system: &str| {
        patient["telecom"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["system"] == system)
            .map(|t| text(&t["value"]))
            .unwrap_or_default()
    };
    let person = Person {
        given_name: name["given"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        family_name: text(&name["family"]),
        date_of_birth: patient["birthDate"].as_str().map(str::to_owned),
        nhs_number: patient["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["system"] == NHS_NUMBER_SYSTEM)
            .map(|i| text(&i["value"])),
        phone: telecom("phone"),
        email: telecom("email"),
        address: text(&patient["address"][0]["text"]),
        postcode: text(&patient["address"][0]["postalCode"]),
    };
    let mut needs = Vec::new();
    for (i, r) in request["reasonCode"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        for c in r["coding"].as_array().into_iter().flatten() {
            if c["system"] == NEED_SYSTEM {
                let code = text(&c["code"]);
                needs.push(Need::from_code(&code).ok_or_else(|| {
                    bad(
                        &format!("ServiceRequest.reasonCode[{i}]"),
                        format!("`{code}` is not a need code"),
                    )
                })?);
            }
        }
    }
    let urgency = match request["priority"].as_str() {
        Some("urgent") => Urgency::Soon,
        Some("asap") | Some("stat") => Urgency::Urgent,
        _ => Urgency::Routine,
    };
    let mut consent = Consent {
        basis: LawfulBasis::Consent,
        given_by: String::new(),
        given_on: String::new(),
        method: None,
        sharing: String::new(),
    };
    let mut flags = Vec::new();
    let mut consent_seen = false;
    for e in request["extension"].as_array().into_iter().flatten() {
        if e["url"] == CONSENT_EXT {
            consent_seen = true;
            for part in e["extension"].as_array().into_iter().flatten() {
                match part["url"].as_str() {
                    Some("basis") => {
                        let code = text(&part["valueCode"]);
                        consent.basis = LawfulBasis::from_code(&code).ok_or_else(|| {
                            bad(
                                "ServiceRequest.extension(consent).basis",
                                format!("`{code}` is not a lawful basis"),
                            )
                        })?;
                    }
                    Some("givenBy") => consent.given_by = text(&part["valueString"]),
                    Some("givenOn") => consent.given_on = text(&part["valueDate"]),
                    Some("sharing") => consent.sharing = text(&part["valueString"]),
                    Some("method") => {
                        consent.method =
                            ConsentMethod::from_code(part["valueCode"].as_str().unwrap_or_default())
                    }
                    _ => {}
                }
            }
        } else if e["url"] == FLAG_EXT {
            if let Some(f) = RiskFlag::from_code(part_code(e)) {
                flags.push(f);
            }
        }
    }
    if !consent_seen {
        return Err(bad(
            "ServiceRequest.extension",
            "the referral carries no consent or lawful basis extension",
        ));
    }
    let note = request["note"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let id = request["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"] == REFERRAL_ID_SYSTEM)
        .and_then(|i| i["value"].as_str())
        .map(str::to_owned);
    Ok((
        id,
        Draft {
            person,
            needs,
            urgency,
            note,
            consent,
            flags,
        },
    ))
}

fn part_code(e: &Value) -> &str {
    e["valueCode"].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::referral::tests::draft;
    use time::macros::date;

    #[test]
    fn a_referral_survives_the_round_trip() {
        let d = draft().validate(date!(2026 - 12 - 01)).unwrap();
        let env = Envelope {
            referral_id: "R-1".into(),
            authored_on: "2026-12-01T10:00:00Z".into(),
            status: "active",
            requester: "Hartmoor Surgery".into(),
        };
        let bundle = to_bundle(&env, &d);
        assert_eq!(
            bundle["entry"][0]["resource"]["identifier"][0]["value"],
            "9434765919"
        );
        assert_eq!(bundle["entry"][1]["resource"]["priority"], "urgent");
        let (id, back) = from_bundle(&bundle).unwrap();
        assert_eq!(id.as_deref(), Some("R-1"));
        assert_eq!(back.validate(date!(2026 - 12 - 01)).unwrap(), d);
        assert!(from_bundle(&json!({"resourceType": "Patient"})).is_err());
    }
}

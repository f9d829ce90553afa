//! The person a referral is about, and the keys that recognise them again.

use serde::{Deserialize, Serialize};
use syndemic_access::secret::hex_sha256;
use syndemic_model::normalise_postcode;

use crate::nhs::NhsNumber;
use crate::FieldError;

/// A person's details as the referrer gave them. Only the name and one way of
/// reaching the person (phone, e-mail or address) are required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// In its normal form (`HM1 2AB`), where given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub postcode: String,
}

impl Person {
    /// Checks and normalises the details: trims every field, validates the NHS
    /// number and writes it as ten digits, normalises the postcode and checks the
    /// date of birth. Every broken rule is reported, by field.
    pub fn validate(mut self, today: time::Date) -> Result<Person, Vec<FieldError>> {
        let mut errors = Vec::new();
        for f in [
            &mut self.given_name,
            &mut self.family_name,
            &mut self.phone,
            &mut self.email,
            &mut self.address,
            &mut self.postcode,
        ] {
            *f = f.trim().to_owned();
        }
        if self.given_name.is_empty() && self.family_name.is_empty() {
            errors.push(FieldError::new("name", "give the person's name"));
        }
        if self.given_name.chars().count() > 100 || self.family_name.chars().count() > 100 {
            errors.push(FieldError::new("name", "a name is at most 100 characters"));
        }
        match self.nhs_number.as_deref().map(str::trim) {
            None | Some("") => self.nhs_number = None,
            Some(text) => match NhsNumber::parse(text) {
                Ok(n) => self.nhs_number = Some(n.digits()),
                Err(e) => errors.push(FieldError::new("nhs_number", e.to_string())),
            },
        }
        match self.date_of_birth.as_deref().map(str::trim) {
            None | Some("") => self.date_of_birth = None,
            Some(text) => match crate::workdays::parse_date(text) {
                Ok(d) if d > today => errors.push(FieldError::new(
                    "date_of_birth",
                    format!("{text} is in the future"),
                )),
                Ok(d) => self.date_of_birth = Some(crate::workdays::format_date(d)),
                Err(e) => errors.push(FieldError::new("date_of_birth", e)),
            },
        }
        if !self.postcode.is_empty() {
            match normalise_postcode(&self.postcode) {
                Some(p) => self.postcode = p,
                None => errors.push(FieldError::new(
                    "postcode",
                    format!("`{}` is not a UK postcode (such as HM1 2AB)", self.postcode),
                )),
            }
        }
        if !self.email.is_empty() && !self.email.contains('@') {
            errors.push(FieldError::new("email", "an e-mail address has an @"));
        }
        if self.phone.is_empty() && self.email.is_empty() && self.address.is_empty() {
            errors.push(FieldError::new(
                "contact",
                "give at least one way to reach the person: phone, e-mail or address",
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// "Given Family".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
            .trim()
            .to_owned()
    }

    /// Age in whole years on `today`, where the date of birth is known.
    pub fn age_on(&self, today: time::Date) -> Option<u32> {
        let dob = crate::workdays::parse_date(self.date_of_birth.as_deref()?).ok()?;
        let mut years = today.year() - dob.year();
        if (today.month() as u8, today.day()) < (dob.month() as u8, dob.day()) {
            years -= 1;
        }
        u32::try_from(years).ok()
    }

    /// The keys under which a repeat referral of this person is recognised: the
    /// NHS number; (given name, family name, date of birth, postcode) when all are
    /// known — once as written and once for each full form of a familiar given
    /// name ([`full_forms`]: "Maggie" is also keyed as "Margaret"); and (family
    /// name, date of birth, phone) when a phone is given, so a person who moved is
    /// still recognised. Keys are hashed so that the index holds no readable
    /// personal data; a match is only ever a *possible* repeat, for a person to
    /// confirm.
    pub fn match_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(n) = &self.nhs_number {
            keys.push(format!("nhs:{}", hex_sha256(n)));
        }
        let Some(dob) = &self.date_of_birth else {
            return keys;
        };
        let family = fold(&self.family_name);
        if family.is_empty() {
            return keys;
        }
        if !self.postcode.is_empty() {
            let given = fold(&self.given_name);
            let postcode = self.postcode.replace(' ', "");
            let mut forms = vec![given.clone()];
            forms.extend(full_forms(&given).iter().map(|f| (*f).to_owned()));
            forms.dedup();
            for form in forms {
                let text = format!("{form}|{family}|{dob}|{postcode}");
                keys.push(format!("pd:{}", hex_sha256(&text)));
            }
        }
        let phone: String = self.phone.chars().filter(char::is_ascii_digit).collect();
        if phone.len() >= 6 {
            keys.push(format!(
                "tel:{}",
                hex_sha256(&format!("{family}|{dob}|{phone}"))
            ));
        }
        keys
    }

    /// The keys that say "this very person" for subject access: the NHS number,
    /// and the name *as written* with date of birth and postcode — never a
    /// familiar form's or the phone's, which only suggest a repeat.
    pub fn identity_keys(&self) -> Vec<String> {
        let all = self.match_keys();
        let exact_pd = all.iter().find(|k| k.starts_with("pd:")).cloned();
        all.into_iter()
            .filter(|k| k.starts_with("nhs:"))
            .chain(exact_pd)
            .collect()
    }
}

/// A name as match keys compare it: letters and digits only, lower case.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The familiar given names, as shipped in `nicknames.txt`: each line a full
/// form and the short forms it goes by.
const NICKNAMES: &str = include_str!("nicknames.txt");

/// The full forms a (folded) given name may stand for, other than itself:
/// `maggie` → `margaret`; `sam` → `samantha`, `samuel`; `margaret` → none.
pub fn full_forms(given: &str) -> Vec<&'static str> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<String, Vec<&'static str>>> =
        std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t: std::collections::HashMap<String, Vec<&'static str>> =
            std::collections::HashMap::new();
        for line in NICKNAMES.lines().filter(|l| !l.starts_with('#')) {
            let mut words = line.split_whitespace();
            let Some(full) = words.next() else { continue };
            for short in words {
                t.entry(fold(short)).or_default().push(full);
            }
        }
        t
    });
    table.get(given).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn person() -> Person {
        Person {
            given_name: " Ada ".into(),
            family_name: "Lovelace".into(),
            date_of_birth: Some("1950-12-10".into()),
            nhs_number: Some("943 476 5919".into()),
            phone: "01632 960000".into(),
            postcode: "hm12ab".into(),
            ..Person::default()
        }
    }

    #[test]
    fn familiar_names_share_a_key_with_their_full_form() {
        let margaret = Person {
            given_name: "Margaret".into(),
            nhs_number: None,
            phone: String::new(),
            ..person()
        };
        let keys = |p: &Person| {
            p.match_keys()
                .into_iter()
                .collect::<std::collections::HashSet<_>>()
        };
        for nick in ["Maggie", "peggy", "Meg"] {
            let p = Person {
                given_name: nick.into(),
                ..margaret.clone()
            };
            assert!(
                !keys(&p).is_disjoint(&keys(&margaret)),
                "{nick} is keyed as Margaret"
            );
        }
        let maggie = Person {
            given_name: "Maggie".into(),
            ..margaret.clone()
        };
        let peggy = Person {
            given_name: "Peggy".into(),
            ..margaret.clone()
        };
        assert!(
            !keys(&maggie).is_disjoint(&keys(&peggy)),
            "two short forms of one name"
        );
        let mary = Person {
            given_name: "Mary".into(),
            ..margaret.clone()
        };
        assert!(
            keys(&mary).is_disjoint(&keys(&margaret)),
            "another name is another person"
        );
        assert_eq!(full_forms("sam"), ["samantha", "samuel"]);
        assert!(full_forms("margaret").is_empty());
        // A person who moved is still recognised by name, birth and phone.
        let before = Person {
            phone: "01632 960000".into(),
            ..margaret.clone()
        };
        let moved = Person {
            postcode: "TS1 1AA".into(),
            ..before.clone()
        };
        assert!(!keys(&before).is_disjoint(&keys(&moved)));
    }

    #[test]
    fn validation_normalises_and_reports_by_field() {
        let p = person().validate(date!(2026 - 12 - 01)).unwrap();
        assert_eq!(p.given_name, "Ada");
        assert_eq!(p.nhs_number.as_deref(), Some("9434765919"));
        assert_eq!(p.postcode, "HM1 2AB");
        assert_eq!(p.age_on(date!(2026 - 12 - 01)), Some(75));
        assert_eq!(p.age_on(date!(2026 - 12 - 10)), Some(76));
        let bad = Person {
            nhs_number: Some("9434765918".into()),
            phone: String::new(),
            postcode: "12345".into(),
            date_of_birth: Some("2030-01-01".into()),
            ..person()
        };
        let errors = bad.validate(date!(2026 - 12 - 01)).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["nhs_number", "date_of_birth", "postcode", "contact"]
        );
    }

    #[test]
    fn repeat_referrals_share_a_key_whatever_the_spelling_of_case_and_space() {
        let a = person().validate(date!(2026 - 12 - 01)).unwrap();
        let b = Person {
            given_name: "ADA".into(),
            nhs_number: None,
            postcode: "HM1 2AB".into(),
            ..person()
        }
        .validate(date!(2026 - 12 - 01))
        .unwrap();
        let theirs = b.match_keys();
        let shared = a
            .match_keys()
            .into_iter()
            .filter(|k| theirs.contains(k))
            .count();
        // Name, birth and postcode; family name, birth and phone.
        assert_eq!(shared, 2);
        assert!(a.match_keys().iter().all(|k| !k.contains("9434765919")));
        assert!(a.match_keys().iter().all(|k| !k.contains("01632")));
    }
}

//! Sex as official statistics publish it: persons, males or females.

use std::fmt;

/// The sex a statistic is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    Persons,
    Male,
    Female,
}

impl Sex {
    /// Reads a sex as data files write it: `Persons`, `All`, `All persons` (the
    /// Census), `P` or blank for persons; `Male`, `Males`, `M` or `1`; `Female`,
    /// `Females`, `F` or `2` (the ONS codes). Case and spaces do not matter.
    pub fn parse(text: &str) -> Option<Sex> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "persons" | "all" | "all persons" | "p" => Some(Sex::Persons),
            "male" | "males" | "m" | "1" => Some(Sex::Male),
            "female" | "females" | "f" | "2" => Some(Sex::Female),
            _ => None,
        }
    }

    /// The label the store keeps and pages show.
    pub fn label(self) -> &'static str {
        match self {
            Sex::Persons => "Persons",
            Sex::Male => "Male",
            Sex::Female => "Female",
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::Sex;

    #[test]
    fn reads_labels_and_ons_codes() {
        for (text, sex) in [
            ("Persons", Sex::Persons),
            ("", Sex::Persons),
            (" all ", Sex::Persons),
            ("All persons", Sex::Persons),
            ("Males", Sex::Male),
            ("1", Sex::Male),
            ("F", Sex::Female),
            ("2", Sex::Female),
        ] {
            assert_eq!(Sex::parse(text), Some(sex), "{text:?}");
        }
        assert_eq!(Sex::parse("3"), None);
        for sex in [Sex::Persons, Sex::Male, Sex::Female] {
            assert_eq!(Sex::parse(sex.label()), Some(sex));
        }
    }
}

//! The sectors a place's partners come from, their sub-types, and employer size
//! bands.
//!
//! Six sectors, as place-based partnerships are usually drawn: local government;
//! other public services (police, fire and rescue, education, housing, criminal
//! justice, employment services, transport, leisure); health and care (NHS trusts,
//! integrated care boards, primary care, public health); the voluntary, community
//! and social enterprise sector (VCSE); business; and community groups.
//!
//! Size bands follow the UK's definition of an enterprise's size by employees
//! (the Companies Act thresholds ONS uses in UK Business Counts): micro 0–9, small
//! 10–49, medium 50–249, large 250 or more.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sector {
    LocalGovernment,
    PublicServices,
    HealthAndCare,
    Vcse,
    Business,
    Community,
}

impl Sector {
    pub const ALL: [Sector; 6] = [
        Sector::LocalGovernment,
        Sector::PublicServices,
        Sector::HealthAndCare,
        Sector::Vcse,
        Sector::Business,
        Sector::Community,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Sector::LocalGovernment => "local-government",
            Sector::PublicServices => "public-services",
            Sector::HealthAndCare => "health-and-care",
            Sector::Vcse => "vcse",
            Sector::Business => "business",
            Sector::Community => "community",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sector::LocalGovernment => "Local government",
            Sector::PublicServices => "Other public services",
            Sector::HealthAndCare => "Health and care",
            Sector::Vcse => "Voluntary, community and social enterprise",
            Sector::Business => "Business",
            Sector::Community => "Community group",
        }
    }

    pub fn from_code(code: &str) -> Option<Sector> {
        let c = code.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        Sector::ALL
            .into_iter()
            .find(|s| s.code() == c || s.label().eq_ignore_ascii_case(code.trim()))
    }

    /// The sub-types a partner of this sector may have (codes).
    pub fn sub_types(self) -> &'static [&'static str] {
        match self {
            Sector::LocalGovernment => &[
                "county-council",
                "district-council",
                "unitary-authority",
                "metropolitan-borough",
                "combined-authority",
                "parish-or-town-council",
            ],
            Sector::PublicServices => &[
                "police",
                "fire-and-rescue",
                "education",
                "housing",
                "criminal-justice",
                "employment-services",
                "transport",
                "leisure",
            ],
            Sector::HealthAndCare => &[
                "nhs-trust",
                "icb",
                "primary-care",
                "public-health",
                "social-care",
            ],
            Sector::Vcse => &[
                "charity",
                "social-enterprise",
                "infrastructure-body",
                "faith-group",
                "housing-association",
            ],
            Sector::Business => &[
                "employer",
                "business-network",
                "chamber-of-commerce",
                "supplier",
            ],
            Sector::Community => &[
                "residents-association",
                "tenants-association",
                "community-forum",
                "mutual-aid",
            ],
        }
    }
}

/// An employer's size by its number of employees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeBand {
    /// 0–9 employees.
    Micro,
    /// 10–49.
    Small,
    /// 50–249.
    Medium,
    /// 250 or more.
    Large,
}

impl SizeBand {
    pub const ALL: [SizeBand; 4] = [
        SizeBand::Micro,
        SizeBand::Small,
        SizeBand::Medium,
        SizeBand::Large,
    ];

    pub fn of_employees(n: u64) -> SizeBand {
        match n {
            0..=9 => SizeBand::Micro,
            10..=49 => SizeBand::Small,
            50..=249 => SizeBand::Medium,
            _ => SizeBand::Large,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            SizeBand::Micro => "micro",
            SizeBand::Small => "small",
            SizeBand::Medium => "medium",
            SizeBand::Large => "large",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SizeBand::Micro => "Micro (0–9)",
            SizeBand::Small => "Small (10–49)",
            SizeBand::Medium => "Medium (50–249)",
            SizeBand::Large => "Large (250+)",
        }
    }

    /// A band's code, or one of UK Business Counts' employment size bands
    /// (`0 to 4`, `5 to 9`, `10 to 19`, `20 to 49`, `50 to 99`, `100 to 249`,
    /// `250 to 499`, `500 to 999`, `1000+`, also written `1,000+` or `0-4`), read
    /// into the band it falls within.
    pub fn parse(text: &str) -> Option<SizeBand> {
        let t = text.trim().to_ascii_lowercase();
        if let Some(b) = SizeBand::ALL.into_iter().find(|b| b.code() == t) {
            return Some(b);
        }
        let t = t.replace(',', "");
        let t = t.trim_start_matches("micro").trim_start_matches("small");
        let low: String = t
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let low: u64 = low.parse().ok()?;
        let rest = &t[t.find(&low.to_string())? + low.to_string().len()..];
        let high: String = rest
            .trim_start_matches(|c: char| !c.is_ascii_digit() && c != '+')
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        match high.parse::<u64>() {
            // A band must sit inside one size band to be read as it.
            Ok(high) if SizeBand::of_employees(low) == SizeBand::of_employees(high) => {
                Some(SizeBand::of_employees(low))
            }
            Ok(_) => None,
            Err(_) if rest.trim().starts_with('+') || rest.contains("and over") => {
                Some(SizeBand::of_employees(low))
            }
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_employee_thresholds() {
        assert_eq!(SizeBand::of_employees(0), SizeBand::Micro);
        assert_eq!(SizeBand::of_employees(9), SizeBand::Micro);
        assert_eq!(SizeBand::of_employees(10), SizeBand::Small);
        assert_eq!(SizeBand::of_employees(49), SizeBand::Small);
        assert_eq!(SizeBand::of_employees(50), SizeBand::Medium);
        assert_eq!(SizeBand::of_employees(249), SizeBand::Medium);
        assert_eq!(SizeBand::of_employees(250), SizeBand::Large);
    }

    #[test]
    fn business_counts_bands_are_read_into_size_bands() {
        for (text, band) in [
            ("0 to 4", SizeBand::Micro),
            ("Micro (0 to 9)", SizeBand::Micro),
            ("5 to 9", SizeBand::Micro),
            ("10 to 19", SizeBand::Small),
            ("20-49", SizeBand::Small),
            ("50 to 99", SizeBand::Medium),
            ("100 to 249", SizeBand::Medium),
            ("250 to 499", SizeBand::Large),
            ("1,000+", SizeBand::Large),
            ("1000 and over", SizeBand::Large),
            ("large", SizeBand::Large),
        ] {
            assert_eq!(SizeBand::parse(text), Some(band), "{text}");
        }
        // Straddling two bands, or not a band at all.
        assert_eq!(SizeBand::parse("0 to 49"), None);
        assert_eq!(SizeBand::parse("lots"), None);
    }

    #[test]
    fn sectors_round_trip_by_code_and_label() {
        for s in Sector::ALL {
            assert_eq!(Sector::from_code(s.code()), Some(s));
            assert_eq!(Sector::from_code(s.label()), Some(s));
        }
        assert_eq!(
            Sector::from_code("Health and care"),
            Some(Sector::HealthAndCare)
        );
        assert_eq!(Sector::from_code("police"), None);
    }
}

//! GSS area codes (the nine-character codes the Office for National Statistics
//! gives every statistical and administrative area: a letter for the nation, two
//! digits for the entity, six digits for the instance) and the types they imply.
//!
//! Source: ONS, "Code history database and register of geographic codes" — the
//! entity prefixes used here are those of the register for England.

use std::fmt;

/// The kind of area a GSS code names, read from its three-character prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AreaType {
    /// E01: lower layer super output area (2011 and 2021 share the prefix).
    Lsoa,
    /// E02: middle layer super output area.
    Msoa,
    /// E05: electoral ward or division.
    Ward,
    /// E06: unitary authority (both lower and upper tier).
    UnitaryAuthority,
    /// E07: non-metropolitan district (lower tier).
    NonMetropolitanDistrict,
    /// E08: metropolitan district (both tiers).
    MetropolitanDistrict,
    /// E09: London borough (both tiers).
    LondonBorough,
    /// E10: county (upper tier).
    County,
    /// E11: metropolitan county.
    MetropolitanCounty,
    /// E12: region (formerly government office region).
    Region,
    /// E13: inner or outer London.
    InnerOuterLondon,
    /// E38: clinical commissioning group / sub-ICB location.
    SubIcbLocation,
    /// E40: NHS England region.
    NhsRegion,
    /// E47: combined authority.
    CombinedAuthority,
    /// E54: integrated care board.
    Icb,
    /// E92: England.
    England,
    /// E99: a community-defined place — a named set of small areas a community
    /// chose as its own. Not an ONS entity: syndemic numbers these itself
    /// (`E99000001`, `E99000002`, … in the order they are defined); the prefix is
    /// unallocated in the ONS register.
    Community,
}

/// The levels of the geography that analysis aggregates to. A unitary authority is
/// both a lower- and an upper-tier authority; [`AreaType::levels`] says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Lsoa,
    Msoa,
    Ward,
    LowerTierAuthority,
    UpperTierAuthority,
    /// A combined authority: a group of authorities (E47), beside the tiers, not
    /// between them — its members keep their counties and regions.
    CombinedAuthority,
    Icb,
    Region,
    England,
    /// A community-defined place (E99), beside the tiers: its small areas keep
    /// their wards and districts, and may belong to several community places.
    Community,
}

impl Level {
    pub const ALL: [Level; 10] = [
        Level::Lsoa,
        Level::Msoa,
        Level::Ward,
        Level::LowerTierAuthority,
        Level::UpperTierAuthority,
        Level::CombinedAuthority,
        Level::Icb,
        Level::Region,
        Level::England,
        Level::Community,
    ];

    /// A stable identifier, used in the store.
    pub fn key(self) -> &'static str {
        match self {
            Level::Lsoa => "lsoa",
            Level::Msoa => "msoa",
            Level::Ward => "ward",
            Level::LowerTierAuthority => "ltla",
            Level::UpperTierAuthority => "utla",
            Level::CombinedAuthority => "cauth",
            Level::Icb => "icb",
            Level::Region => "region",
            Level::England => "england",
            Level::Community => "community",
        }
    }

    pub fn from_key(key: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.key() == key)
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Level::Lsoa => "LSOA",
            Level::Msoa => "MSOA",
            Level::Ward => "Ward",
            Level::LowerTierAuthority => "District",
            Level::UpperTierAuthority => "Upper-tier authority",
            Level::CombinedAuthority => "Combined authority",
            Level::Icb => "ICB",
            Level::Region => "Region",
            Level::England => "Country",
            Level::Community => "Community place",
        }
    }
}

impl AreaType {
    pub const ALL: [AreaType; 17] = [
        AreaType::Lsoa,
        AreaType::Msoa,
        AreaType::Ward,
        AreaType::UnitaryAuthority,
        AreaType::NonMetropolitanDistrict,
        AreaType::MetropolitanDistrict,
        AreaType::LondonBorough,
        AreaType::County,
        AreaType::MetropolitanCounty,
        AreaType::Region,
        AreaType::InnerOuterLondon,
        AreaType::SubIcbLocation,
        AreaType::NhsRegion,
        AreaType::CombinedAuthority,
        AreaType::Icb,
        AreaType::England,
        AreaType::Community,
    ];

    /// The three-character prefix of codes of this type.
    pub fn prefix(self) -> &'static str {
        match self {
            AreaType::Lsoa => "E01",
            AreaType::Msoa => "E02",
            AreaType::Ward => "E05",
            AreaType::UnitaryAuthority => "E06",
            AreaType::NonMetropolitanDistrict => "E07",
            AreaType::MetropolitanDistrict => "E08",
            AreaType::LondonBorough => "E09",
            AreaType::County => "E10",
            AreaType::MetropolitanCounty => "E11",
            AreaType::Region => "E12",
            AreaType::InnerOuterLondon => "E13",
            AreaType::SubIcbLocation => "E38",
            AreaType::NhsRegion => "E40",
            AreaType::CombinedAuthority => "E47",
            AreaType::Icb => "E54",
            AreaType::England => "E92",
            AreaType::Community => "E99",
        }
    }

    /// A stable identifier, used in the store and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            AreaType::Lsoa => "lsoa",
            AreaType::Msoa => "msoa",
            AreaType::Ward => "ward",
            AreaType::UnitaryAuthority => "unitary",
            AreaType::NonMetropolitanDistrict => "district",
            AreaType::MetropolitanDistrict => "metropolitan-district",
            AreaType::LondonBorough => "london-borough",
            AreaType::County => "county",
            AreaType::MetropolitanCounty => "metropolitan-county",
            AreaType::Region => "region",
            AreaType::InnerOuterLondon => "inner-outer-london",
            AreaType::SubIcbLocation => "sub-icb",
            AreaType::NhsRegion => "nhs-region",
            AreaType::CombinedAuthority => "combined-authority",
            AreaType::Icb => "icb",
            AreaType::England => "england",
            AreaType::Community => "community",
        }
    }

    /// The inverse of [`AreaType::key`].
    pub fn from_key(key: &str) -> Option<AreaType> {
        AreaType::ALL.into_iter().find(|t| t.key() == key)
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            AreaType::Lsoa => "LSOA",
            AreaType::Msoa => "MSOA",
            AreaType::Ward => "Ward",
            AreaType::UnitaryAuthority => "Unitary authority",
            AreaType::NonMetropolitanDistrict => "Non-metropolitan district",
            AreaType::MetropolitanDistrict => "Metropolitan district",
            AreaType::LondonBorough => "London borough",
            AreaType::County => "County",
            AreaType::MetropolitanCounty => "Metropolitan county",
            AreaType::Region => "Region",
            AreaType::InnerOuterLondon => "Inner or outer London",
            AreaType::SubIcbLocation => "Sub-ICB location",
            AreaType::NhsRegion => "NHS region",
            AreaType::CombinedAuthority => "Combined authority",
            AreaType::Icb => "Integrated care board",
            AreaType::England => "Country",
            AreaType::Community => "Community-defined place",
        }
    }

    /// The analysis levels an area of this type sits at.
    pub fn levels(self) -> &'static [Level] {
        match self {
            AreaType::Lsoa => &[Level::Lsoa],
            AreaType::Msoa => &[Level::Msoa],
            AreaType::Ward => &[Level::Ward],
            AreaType::UnitaryAuthority
            | AreaType::MetropolitanDistrict
            | AreaType::LondonBorough => &[Level::LowerTierAuthority, Level::UpperTierAuthority],
            AreaType::NonMetropolitanDistrict => &[Level::LowerTierAuthority],
            AreaType::County => &[Level::UpperTierAuthority],
            AreaType::Icb => &[Level::Icb],
            AreaType::CombinedAuthority => &[Level::CombinedAuthority],
            AreaType::Region => &[Level::Region],
            AreaType::England => &[Level::England],
            AreaType::Community => &[Level::Community],
            AreaType::MetropolitanCounty
            | AreaType::InnerOuterLondon
            | AreaType::SubIcbLocation
            | AreaType::NhsRegion => &[],
        }
    }

    /// Whether this type is a lower-tier local authority (a "district" in the
    /// lookups' sense: `LAD19CD`).
    pub fn is_district(self) -> bool {
        self.levels().contains(&Level::LowerTierAuthority)
    }
}

impl fmt::Display for AreaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A valid GSS code of an area in England. Construct with [`AreaCode::classify`] or
/// [`AreaCode::parse`]; the type is always known.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AreaCode([u8; 9]);

/// What a syntactically valid code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVerdict {
    /// A code of an English area of a known type.
    England(AreaCode),
    /// A well-formed code of Wales (W), Scotland (S), Northern Ireland (N), the UK or
    /// Great Britain (K), or the Crown dependencies (L, M): not an area of England,
    /// to be skipped and counted.
    OutsideEngland(char),
}

/// Why a cell is not an area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaCodeError {
    #[error("`{0}` is not a GSS area code: expected a letter and eight digits, such as E01006074")]
    Malformed(String),
    #[error("`{code}` has the prefix {prefix}, which is not a known type of area in England (known: E01 LSOA, E02 MSOA, E05 ward, E06–E10 local authorities, E12 region, E54 ICB, E92 England, …)")]
    UnknownPrefix { code: String, prefix: String },
    #[error("`{0}` is an area outside England; only English areas can be used here")]
    OutsideEngland(String),
    #[error("`{code}` is a {found} code, but this column holds {expected} codes")]
    WrongType {
        code: String,
        found: AreaType,
        expected: &'static str,
    },
}

impl AreaCode {
    /// Reads a code, trimming blanks and accepting lower case. Codes of the other
    /// nations are recognised as such, not rejected.
    pub fn classify(text: &str) -> Result<CodeVerdict, AreaCodeError> {
        let trimmed = text.trim();
        let bytes = trimmed.as_bytes();
        if bytes.len() != 9
            || !bytes[0].is_ascii_alphabetic()
            || !bytes[1..].iter().all(u8::is_ascii_digit)
        {
            return Err(AreaCodeError::Malformed(trimmed.to_owned()));
        }
        let mut code = [0u8; 9];
        code.copy_from_slice(bytes);
        code[0] = code[0].to_ascii_uppercase();
        match code[0] {
            b'E' => {}
            b'W' | b'S' | b'N' | b'K' | b'L' | b'M' => {
                return Ok(CodeVerdict::OutsideEngland(code[0] as char))
            }
            _ => {
                return Err(AreaCodeError::UnknownPrefix {
                    code: trimmed.to_owned(),
                    prefix: trimmed[..3].to_owned(),
                })
            }
        }
        let candidate = AreaCode(code);
        if AreaType::ALL
            .iter()
            .any(|t| t.prefix().as_bytes() == &code[..3])
        {
            Ok(CodeVerdict::England(candidate))
        } else {
            Err(AreaCodeError::UnknownPrefix {
                code: trimmed.to_owned(),
                prefix: candidate.as_str()[..3].to_owned(),
            })
        }
    }

    /// Reads the code of an English area; other nations are an error.
    pub fn parse(text: &str) -> Result<AreaCode, AreaCodeError> {
        match AreaCode::classify(text)? {
            CodeVerdict::England(code) => Ok(code),
            CodeVerdict::OutsideEngland(_) => {
                Err(AreaCodeError::OutsideEngland(text.trim().to_owned()))
            }
        }
    }

    /// The code of the `n`th community-defined place (`E99000001` for 1), or
    /// `None` past the 999,999th.
    pub fn community(n: u32) -> Option<AreaCode> {
        (1..=999_999)
            .contains(&n)
            .then(|| AreaCode::parse(&format!("E99{n:06}")).ok())
            .flatten()
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters and digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn area_type(&self) -> AreaType {
        let prefix = &self.0[..3];
        AreaType::ALL
            .into_iter()
            .find(|t| t.prefix().as_bytes() == prefix)
            .unwrap_or(AreaType::England)
    }

    /// Checks that this code is of one of `allowed` types (a column of `LAD19CD`
    /// holds districts, not wards).
    pub fn expect(self, allowed: &[AreaType], what: &'static str) -> Result<Self, AreaCodeError> {
        if allowed.contains(&self.area_type()) {
            Ok(self)
        } else {
            Err(AreaCodeError::WrongType {
                code: self.as_str().to_owned(),
                found: self.area_type(),
                expected: what,
            })
        }
    }
}

/// Written as its nine characters, as every file and API exchanges it.
impl serde::Serialize for AreaCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AreaCode({})", self.as_str())
    }
}

/// The one walk up the geography: an area's parents, their parents and so on,
/// nearest first (breadth first), never the area itself. `parents_of` gives an
/// area's direct links, as `T`; `parent` says which area a link reaches. A link is
/// kept unless one with the same `once_per` key was kept before it — per (area,
/// level) for every ancestor, per level for one chain of parents — and the walk
/// goes on only from the areas that kept links reach. The lookups a place imports
/// can hold a loop (a ward that is its own district's child in another vintage);
/// the walk still ends.
pub fn walk_up<T, K: PartialEq>(
    start: AreaCode,
    parents_of: impl Fn(AreaCode) -> Vec<T>,
    parent: impl Fn(&T) -> AreaCode,
    once_per: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    let mut kept: Vec<K> = Vec::new();
    let mut visited: Vec<AreaCode> = vec![start];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(current) = queue.pop_front() {
        for link in parents_of(current) {
            let reached = parent(&link);
            let key = once_per(&link);
            if reached == start || kept.contains(&key) {
                continue;
            }
            kept.push(key);
            out.push(link);
            if !visited.contains(&reached) {
                visited.push(reached);
                queue.push_back(reached);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_prefixes() {
        assert_eq!(
            AreaCode::parse("E01006074").unwrap().area_type(),
            AreaType::Lsoa
        );
        assert_eq!(
            AreaCode::parse(" e05000829 ").unwrap().as_str(),
            "E05000829"
        );
        assert_eq!(
            AreaCode::parse("E08000009").unwrap().area_type(),
            AreaType::MetropolitanDistrict
        );
        assert_eq!(
            AreaCode::parse("E92000001").unwrap().area_type(),
            AreaType::England
        );
        for t in AreaType::ALL {
            assert_eq!(AreaType::from_key(t.key()), Some(t));
        }
    }

    #[test]
    fn community_places_are_numbered_in_their_own_prefix() {
        let first = AreaCode::community(1).unwrap();
        assert_eq!(first.as_str(), "E99000001");
        assert_eq!(first.area_type(), AreaType::Community);
        assert_eq!(first.area_type().levels(), &[Level::Community]);
        assert_eq!(AreaCode::community(999_999).unwrap().as_str(), "E99999999");
        assert_eq!(AreaCode::community(0), None);
        assert_eq!(AreaCode::community(1_000_000), None);
    }

    #[test]
    fn other_nations_are_recognised_not_rejected() {
        assert_eq!(
            AreaCode::classify("W01000001").unwrap(),
            CodeVerdict::OutsideEngland('W')
        );
        assert_eq!(
            AreaCode::classify("K04000001").unwrap(),
            CodeVerdict::OutsideEngland('K')
        );
        assert!(matches!(
            AreaCode::parse("S12000033"),
            Err(AreaCodeError::OutsideEngland(_))
        ));
    }

    #[test]
    fn malformed_and_unknown_codes_are_errors() {
        for bad in ["", "E0100607", "E01006074X", "E0100607A", "95AA01S1"] {
            assert!(
                matches!(AreaCode::classify(bad), Err(AreaCodeError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            AreaCode::classify("E98000001"),
            Err(AreaCodeError::UnknownPrefix { .. })
        ));
        assert!(matches!(
            AreaCode::classify("X01000001"),
            Err(AreaCodeError::UnknownPrefix { .. })
        ));
    }

    #[test]
    fn wrong_type_in_a_column() {
        let ward = AreaCode::parse("E05000829").unwrap();
        let err = ward.expect(&[AreaType::Lsoa], "LSOA").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`E05000829` is a Ward code, but this column holds LSOA codes"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,12}") {
            let _ = AreaCode::classify(&text);
        }
    }

    #[test]
    fn walk_up_nearest_first_each_once_through_loops() {
        let lsoa = AreaCode::parse("E01000001").unwrap();
        let ward = AreaCode::parse("E05000001").unwrap();
        let district = AreaCode::parse("E07000001").unwrap();
        let region = AreaCode::parse("E12000001").unwrap();
        let links = [
            (lsoa, ward, Level::Ward),
            (lsoa, district, Level::LowerTierAuthority),
            (ward, district, Level::LowerTierAuthority),
            (district, region, Level::Region),
            // A loop back down, as mismatched vintages can make.
            (region, lsoa, Level::Lsoa),
        ];
        let parents_of = |a| links.iter().filter(|l| l.0 == a).copied().collect();
        let up = walk_up(lsoa, parents_of, |l| l.1, |l| (l.1, l.2));
        let reached: Vec<AreaCode> = up.iter().map(|l| l.1).collect();
        assert_eq!(reached, vec![ward, district, region]);
        // One per level: the walk goes on only through the links it keeps.
        let other = AreaCode::parse("E07000002").unwrap();
        let links = [
            (lsoa, ward, Level::Ward),
            (lsoa, district, Level::LowerTierAuthority),
            (ward, other, Level::LowerTierAuthority),
            (other, region, Level::Region),
        ];
        let parents_of = |a| links.iter().filter(|l| l.0 == a).copied().collect();
        let chain = walk_up(lsoa, parents_of, |l| l.1, |l| l.2);
        let reached: Vec<AreaCode> = chain.iter().map(|l| l.1).collect();
        assert_eq!(
            reached,
            vec![ward, district],
            "no region through a dropped district"
        );
    }
}

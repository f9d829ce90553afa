//! UK postcodes in their one normal form, and where a resident says they are.

use crate::AreaCode;

/// Where a resident said they are, to place their answer in a small area: a
/// postcode (normal form), a pin (latitude, longitude) or a small area's code.
/// It is used to place the answer and never kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Whereabouts {
    Postcode(String),
    Pin { lat: f64, lon: f64 },
    Lsoa(AreaCode),
}

/// A postcode in its normal form — capitals, one space before the three-character
/// inward code (`m337xx` → `M33 7XX`) — or `None` if it cannot be a UK postcode
/// (5–7 letters and digits once spaces are dropped, starting with a letter, ending
/// digit-letter-letter).
pub fn normalise_postcode(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = compact.as_bytes();
    let ok = (5..=7).contains(&b.len())
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 3].is_ascii_digit()
        && b[b.len() - 2].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphabetic();
    ok.then(|| format!("{} {}", &compact[..b.len() - 3], &compact[b.len() - 3..]))
}

#[cfg(test)]
mod tests {
    use super::normalise_postcode;

    #[test]
    fn postcodes_normalised() {
        assert_eq!(normalise_postcode("m337xx").as_deref(), Some("M33 7XX"));
        assert_eq!(
            normalise_postcode(" SW1A  1AA ").as_deref(),
            Some("SW1A 1AA")
        );
        assert_eq!(normalise_postcode(" sw1a1aa ").as_deref(), Some("SW1A 1AA"));
        assert_eq!(normalise_postcode("M1 1AE").as_deref(), Some("M1 1AE"));
        assert_eq!(normalise_postcode("12345"), None);
        assert_eq!(normalise_postcode("M1 AAE"), None);
        assert_eq!(normalise_postcode("SW1A"), None);
        assert_eq!(normalise_postcode("M"), None);
        assert_eq!(normalise_postcode("É1 1AE"), None);
        assert_eq!(normalise_postcode(""), None);
    }
}

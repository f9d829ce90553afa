//! NHS numbers.
//!
//! An NHS number is ten digits; the tenth is a check digit. Source: NHS Data
//! Dictionary, "NHS Number" — multiply the first nine digits by weights 10 down to
//! 2, sum, take the remainder modulo 11 and subtract it from 11; a result of 11
//! means a check digit of 0, and a result of 10 means the number is not valid.
//! Spaces and hyphens between digits (`943 476 5919`, `943-476-5919`) are allowed.

use std::fmt;

/// A valid NHS number, kept as its ten digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

/// Why a text is not an NHS number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsError {
    #[error("an NHS number has ten digits; `{0}` has {1}")]
    Length(String, usize),
    #[error("`{0}` holds a character that is not a digit, space or hyphen")]
    NotDigits(String),
    #[error("`{0}` fails the NHS number's check digit: check it was copied correctly")]
    CheckDigit(String),
}

impl NhsNumber {
    pub fn parse(text: &str) -> Result<NhsNumber, NhsError> {
        let mut digits = [0u8; 10];
        let mut n = 0;
        for c in text.trim().chars() {
            match c {
                '0'..='9' => {
                    if n < 10 {
                        digits[n] = c as u8 - b'0';
                    }
                    n += 1;
                }
                ' ' | '-' => {}
                _ => return Err(NhsError::NotDigits(text.to_owned())),
            }
        }
        if n != 10 {
            return Err(NhsError::Length(text.to_owned(), n));
        }
        if check_digit(&digits[..9]) != Some(digits[9]) {
            return Err(NhsError::CheckDigit(text.to_owned()));
        }
        Ok(NhsNumber(digits))
    }

    /// The ten digits with no separators, as FHIR's identifier value carries them.
    pub fn digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

/// The check digit of nine digits, or `None` where no tenth digit can make them valid.
pub fn check_digit(nine: &[u8]) -> Option<u8> {
    let sum: u32 = nine
        .iter()
        .zip((2..=10).rev())
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c as u8),
    }
}

impl fmt::Display for NhsNumber {
    /// Written as the NHS writes it: 3 3 4 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits();
        write!(f, "{} {} {}", &d[..3], &d[3..6], &d[6..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_numbers() {
        // The NHS's published test number and its layouts.
        for text in ["9434765919", "943 476 5919", "943-476-5919"] {
            assert_eq!(NhsNumber::parse(text).unwrap().to_string(), "943 476 5919");
        }
        assert!(matches!(
            NhsNumber::parse("9434765918"),
            Err(NhsError::CheckDigit(_))
        ));
        assert!(matches!(
            NhsNumber::parse("943476591"),
            Err(NhsError::Length(_, 9))
        ));
        assert!(matches!(
            NhsNumber::parse("94347659x9"),
            Err(NhsError::NotDigits(_))
        ));
        // A remainder that gives 10 has no valid check digit.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 6]), None);
    }

    proptest! {
        #[test]
        fn every_number_with_its_check_digit_parses(nine in proptest::collection::vec(0u8..10, 9)) {
            if let Some(c) = check_digit(&nine) {
                let text: String = nine.iter().chain([c].iter()).map(|d| char::from(b'0' + d)).collect();
                let n = NhsNumber::parse(&text).unwrap();
                prop_assert_eq!(n.digits(), text.clone());
                // Any other last digit is refused.
                let wrong = (c + 1) % 10;
                let bad: String = nine.iter().chain([wrong].iter()).map(|d| char::from(b'0' + d)).collect();
                prop_assert!(NhsNumber::parse(&bad).is_err());
            }
        }
    }
}

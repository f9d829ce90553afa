//! Confidence levels.

use crate::dist::normal_quantile;
use crate::error::StatsError;

/// A two-sided confidence level, stored as a fraction in `[0.9, 1)`.
///
/// Parsed once at the edge: `0.95` and `95` both mean 95 %, `99.8` and `0.998` both
/// mean 99.8 %. The reference accepts levels in `[0.9, 1]` or `[90, 100]`; a level of
/// exactly 100 % gives infinite limits, so it is refused here.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ConfidenceLevel(f64);

impl ConfidenceLevel {
    /// 95 %.
    pub const P95: ConfidenceLevel = ConfidenceLevel(0.95);
    /// 99.8 %, the Fingertips "three sigma" level.
    pub const P99_8: ConfidenceLevel = ConfidenceLevel(0.998);

    /// Accepts `0.9 ≤ level < 1` or `90 ≤ level < 100`.
    pub fn new(level: f64) -> Result<Self, StatsError> {
        let fraction = if level >= 90.0 { level / 100.0 } else { level };
        if fraction.is_finite() && (0.9..1.0).contains(&fraction) {
            Ok(ConfidenceLevel(fraction))
        } else {
            Err(StatsError::ConfidenceOutOfRange(level))
        }
    }

    /// Parses a list such as `"95,99.8"`.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, StatsError> {
        text.split(',')
            .map(|part| {
                let part = part.trim().trim_end_matches('%');
                part.parse::<f64>()
                    .map_err(|_| StatsError::ConfidenceNotANumber(part.to_string()))
                    .and_then(Self::new)
            })
            .collect()
    }

    /// The level as a fraction, e.g. 0.95.
    pub fn fraction(self) -> f64 {
        self.0
    }

    /// The standard normal quantile `z = Φ⁻¹(c + (1 − c)/2)`: 1.959964 for 95 %.
    pub fn z(self) -> f64 {
        normal_quantile(self.0 + (1.0 - self.0) / 2.0)
    }

    /// Lower-tail probability of the lower limit, `(1 − c)/2`.
    pub fn lower_tail(self) -> f64 {
        (1.0 - self.0) / 2.0
    }

    /// Lower-tail probability of the upper limit, `c + (1 − c)/2`.
    pub fn upper_tail(self) -> f64 {
        self.0 + (1.0 - self.0) / 2.0
    }

    /// The level in percent as written in column names: `95`, `99_8`.
    pub fn label(self) -> String {
        let percent = (self.0 * 100.0 * 1e6).round() / 1e6;
        format!("{percent}").replace('.', "_")
    }
}

impl std::fmt::Display for ConfidenceLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let percent = (self.0 * 100.0 * 1e6).round() / 1e6;
        write!(f, "{percent}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_as_fraction_or_percent() {
        assert_eq!(ConfidenceLevel::new(95.0).unwrap(), ConfidenceLevel::P95);
        assert_eq!(ConfidenceLevel::new(0.95).unwrap(), ConfidenceLevel::P95);
        assert_eq!(ConfidenceLevel::new(99.8).unwrap().label(), "99_8");
        assert_eq!(ConfidenceLevel::new(0.998).unwrap().label(), "99_8");
        assert_eq!(ConfidenceLevel::P95.label(), "95");
        assert!(ConfidenceLevel::new(80.0).is_err());
        assert!(ConfidenceLevel::new(100.0).is_err());
        assert!(ConfidenceLevel::new(f64::NAN).is_err());
        assert!(ConfidenceLevel::parse_list("95,x").is_err());
        assert_eq!(ConfidenceLevel::parse_list("95, 99.8").unwrap().len(), 2);
    }

    #[test]
    fn z_values_match_the_reference() {
        assert!((ConfidenceLevel::P95.z() - 1.959963984540054).abs() < 1e-12);
        assert!((ConfidenceLevel::P99_8.z() - 3.090232306167813).abs() < 1e-12);
    }
}

//! Domain values of syndemic, parsed once where data enters ("parse, don't
//! validate"): GSS area codes and the area types they imply, the time periods
//! official statistics are published for, calendar days, postcodes and
//! age bands, sex and indicators' polarity; and text made safe for a spreadsheet.
//!
//! This crate does no I/O and knows no database; the store and the importers hold
//! these values, never raw strings.

pub mod age;
mod area;
pub mod date;
pub mod geo;
mod natural;
mod period;
pub mod polarity;
pub mod postcode;
mod sex;
pub mod spreadsheet;

pub use age::AgeBand;
pub use area::{walk_up, AreaCode, AreaCodeError, AreaType, CodeVerdict, Level};
pub use natural::natural_cmp;
pub use period::{Period, PeriodError};
pub use polarity::Polarity;
pub use postcode::{normalise_postcode, Whereabouts};
pub use sex::Sex;
pub use spreadsheet::formula_safe;

/// The category type of a value measured over a named group of small areas (a
/// commitment's target areas): the value is filed under the area the group is
/// measured for, its category is the group's label (the target rule, such as
/// `local-quintile:E07000041:1`).
pub const TARGET_AREAS: &str = "Target areas";

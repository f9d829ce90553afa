//! Domain values of syndemic, parsed once where data enters ("parse, don't
//! validate"): GSS area codes and the area types they imply, and the time periods
//! official statistics are published for.
//!
//! This crate does no I/O and knows no database; the store and the importers hold
//! these values, never raw strings.

mod area;
pub mod geo;
mod period;

pub use area::{AreaCode, AreaCodeError, AreaType, CodeVerdict, Level};
pub use period::{Period, PeriodError};

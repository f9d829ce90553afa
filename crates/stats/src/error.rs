//! Errors: the rule an input broke, and where (the row index within the columns).

use thiserror::Error;

/// Which input a problem was found in. The caller maps it to its own column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Numerator,
    Denominator,
    Count,
    Population,
    StandardPopulation,
    EventFrequency,
    AgeBand,
    Value,
    ReferenceCount,
    ReferencePopulation,
    Deaths,
    Quantile,
    StandardError,
    LowerLimit,
    UpperLimit,
    Polarity,
    Multiplier,
    Weight,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Field::Numerator => "numerator",
            Field::Denominator => "denominator",
            Field::Count => "count",
            Field::Population => "population",
            Field::StandardPopulation => "standard population",
            Field::EventFrequency => "event frequency",
            Field::AgeBand => "age band",
            Field::Value => "value",
            Field::ReferenceCount => "reference count",
            Field::ReferencePopulation => "reference population",
            Field::Deaths => "deaths",
            Field::Quantile => "quantile",
            Field::StandardError => "standard error",
            Field::LowerLimit => "lower limit",
            Field::UpperLimit => "upper limit",
            Field::Polarity => "polarity",
            Field::Multiplier => "multiplier",
            Field::Weight => "weight",
        };
        f.write_str(name)
    }
}

/// The rule an input value broke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Problem {
    /// Below zero where a count or size is needed.
    Negative(f64),
    /// Zero or below where a strictly positive value is needed.
    NotPositive(f64),
    /// A proportion's numerator above its denominator.
    AboveDenominator { numerator: f64, denominator: f64 },
    /// Missing where the method cannot do without it.
    Missing,
    /// Not a finite number.
    NotFinite,
    /// A proportion outside `[0, 1]`.
    OutsideUnitInterval(f64),
    /// Differs from the value given on another row of the same group (`first_row`).
    DiffersWithinGroup { first_row: usize },
    /// A value outside the range the method allows.
    OutOfRange { value: f64, allowed: &'static str },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Negative(v) => write!(f, "is {v}, below zero; counts must be 0 or more"),
            Problem::NotPositive(v) => write!(f, "is {v}; it must be greater than zero"),
            Problem::AboveDenominator {
                numerator,
                denominator,
            } => write!(
                f,
                "{numerator} is above the denominator {denominator}; a proportion's numerator must not exceed its denominator"
            ),
            Problem::Missing => write!(f, "is missing; this method needs a value on every row"),
            Problem::NotFinite => write!(f, "is not a finite number"),
            Problem::OutsideUnitInterval(v) => {
                write!(f, "is {v}; a proportion must lie between 0 and 1")
            }
            Problem::DiffersWithinGroup { first_row } => write!(
                f,
                "differs from the value on row {} of the same group; it must be the same throughout a group",
                first_row + 1
            ),
            Problem::OutOfRange { value, allowed } => write!(f, "is {value}; {allowed}"),
        }
    }
}

/// Why a computation was refused. Rows are 0-based indices into the columns given.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    #[error("row {}: {field} {problem}", row + 1)]
    Invalid {
        row: usize,
        field: Field,
        problem: Problem,
    },
    #[error("confidence level {0} is out of range: give a level between 90 and 100 (such as 95 or 99.8) or between 0.9 and 1")]
    ConfidenceOutOfRange(f64),
    #[error("confidence level '{0}' is not a number: give levels such as 95,99.8")]
    ConfidenceNotANumber(String),
    #[error("no confidence level given: give at least one, such as 95")]
    NoConfidenceLevel,
    #[error("columns have different lengths ({0} and {1})")]
    LengthMismatch(usize, usize),
    #[error("group id {id} on row {} is not below the number of groups {n_groups}", row + 1)]
    GroupOutOfRange {
        row: usize,
        id: u32,
        n_groups: usize,
    },
    #[error("{0}")]
    Parameter(String),
}

impl StatsError {
    pub(crate) fn invalid(row: usize, field: Field, problem: Problem) -> Self {
        StatsError::Invalid {
            row,
            field,
            problem,
        }
    }
}

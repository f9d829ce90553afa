//! Place intelligence: the questions asked of a place's small areas, answered over
//! the evidence store (through its `Store` trait, never SQL) and shared by the web
//! application, the command line and the demo.
//!
//! - [`geography`]: the small areas within any area, by walking the stored links down.
//! - [`edition`]: the one rule choosing which edition of the Indices of
//!   Deprivation describes a set of small areas.
//! - [`geometry`]: small-area outlines from the stored GeoJSON.
//! - [`hidden`]: the hidden-deprivation finder.
//! - [`planner`]: the outreach planner (greedy maximum coverage).
//! - [`placement`]: a resident's postcode, pin or LSOA placed in a small area of
//!   the place (only the LSOA is kept).
//! - [`community`]: a community-defined place read from a list of small areas,
//!   wards and postcodes, with the area it lies within.

pub mod community;
pub mod edition;
pub mod geography;
pub mod geometry;
pub mod hidden;
pub mod placement;
pub mod planner;

pub use edition::Edition;
pub use geography::small_areas_within;
pub use geometry::{rings, Shapes};
pub use hidden::{find_hidden, hidden_deprivation, HiddenArea, HiddenOptions, Neighbours};
pub use placement::{Placer, Unplaced};
pub use planner::{centre, Point};

/// Why a question about a place could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// The question names something the store does not hold (an indicator, any
    /// small area with what the question needs).
    #[error("{0}")]
    Missing(String),
    /// The question cannot be asked as put: a parameter out of range, or data it
    /// needs not imported yet (the message says which command imports it).
    #[error("{0}")]
    Unusable(String),
    #[error("the store: {0}")]
    Store(#[from] syndemic_store::StoreError),
}

//! # syndemic-stats
//!
//! The standard public-health statistical methods, written to give the same numbers
//! as the public reference implementation (the R package PHEindicatormethods 2.1.0 and
//! OHID Fingertips), with several confidence levels per call and columnar entry
//! points that compute every group of a table in one pass.
//!
//! This crate does no I/O and knows nothing of files, databases or engines: callers
//! hand it columns (`&[Option<f64>]`, `None` = missing) and dense group ids
//! (`&[u32]`, `0..n_groups`) and get columns back.
//!
//! | method | module |
//! |---|---|
//! | proportion, Wilson score interval | [`proportion`] |
//! | crude rate, exact Poisson / Byar's | [`rate`] |
//! | mean, Student's t | [`mean`] |
//! | directly standardised rate, Dobson | [`dsr`] |
//! | indirectly standardised ratio and rate | [`isr`] |
//! | life expectancy, Chiang II + Silcocks | [`life_expectancy`] |
//! | quantiles (deciles, quintiles, any N) | [`quantile`] |
//! | slope and relative index of inequality | [`sii`] |
//! | funnel plot limits and significance | [`funnel`] |
//! | benchmark comparison and recent trend | [`compare`] |
//! | survey weights by raking; weighted proportion with Kish's effective size | [`survey`] |

// NaN-aware range checks are written `!(x > 0.0)` on purpose: they reject NaN too.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod compare;
pub mod confidence;
pub mod deprivation;
pub mod dist;
pub mod dsr;
pub mod error;
pub mod estimate;
pub mod funnel;
pub mod isr;
pub mod life_expectancy;
pub mod mean;
pub mod proportion;
pub mod quantile;
pub mod rate;
pub mod sii;
pub mod survey;

pub use confidence::ConfidenceLevel;
pub use error::{Field, Problem, StatsError};
pub use estimate::{Estimates, Note};

//! Partnership and accountability: the rules, pure and tested without a database.
//!
//! - [`sector`]: the six sectors of a place's partners, their sub-types, and
//!   employer size bands.
//! - [`framework`]: the frameworks commitments are classified against — the
//!   Marmot policy objectives and the population intervention triangle built in.
//! - [`trajectory`]: the straight line from a commitment's baseline to its target,
//!   and whether the latest value is on track, off track or not significantly
//!   different from it.
//! - [`target`]: target areas resolved from a rule ("the most deprived 20 % of
//!   LSOAs in a district") to a concrete list.
//! - [`access`]: who may read, manage, update and review what.
//! - [`commitment`]: a proposed commitment and the checks it must pass.
//! - [`layout`]: the spreadsheet layouts of partners, businesses, business counts,
//!   anchor measures and plans, read all-or-nothing with every bad row reported.
//! - [`maturity`]: the business-engagement maturity self-assessment.
//! - [`progress`]: delivery statuses, and when a progress update is overdue.
//! - [`contradiction`]: where the lead, the data and the board disagree outright.
//! - [`survey`]: residents' surveys — questions, channels, and the one reading of
//!   every response (form, paper or another tool's export) before it is kept.
//! - [`voice`]: residents' answers as indicators, per answer, area and wave.
//! - [`priority`]: a plan's priority and the indicators it cites as its evidence.

pub mod access;
pub mod commitment;
pub mod contradiction;
pub mod framework;
pub mod layout;
pub mod maturity;
pub mod priority;
pub mod progress;
pub mod sector;
pub mod survey;
pub mod target;
pub mod trajectory;
pub mod voice;

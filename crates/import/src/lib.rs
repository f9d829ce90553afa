//! Reading published files into the evidence store, and writing exports.
//!
//! Every import runs in one store transaction: a file either lands whole or leaves
//! the store exactly as it was. Files are streamed (read a batch of rows, write it,
//! read the next), so memory grows with the number of distinct areas, not with the
//! size of the file. Errors say which file, line and column, what was wrong and how
//! to put it right.

mod counts;
mod error;
mod export;
mod fingertips;
mod imd;
mod lookups;
mod metadata;
mod places;
mod population;
mod read;
mod summaries;

pub use counts::import_counts;
pub use error::ImportError;
pub use export::{export_fingertips, write_xlsx, ExportSummary};
pub use fingertips::import_fingertips;
pub use imd::import_imd;
pub use lookups::{import_lookups, LookupOptions};
pub use metadata::{
    import_indicator_metadata, judge_against_england, read_fingertips_metadata,
    read_metadata_table, read_polarity, MetadataSummary,
};
pub use places::{import_boundaries, import_postcodes, locate};
pub use population::import_population;
pub use summaries::{
    local_deprivation, summarise_areas, AreaSummary, Hierarchy, LocalRank, SummaryRequest,
};
pub use syndemic_model::normalise_postcode;

/// What an import did, for the summary printed afterwards and kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub file: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows about areas outside England (W, S, N, K codes), skipped.
    pub skipped_outside_england: u64,
    /// Areas created from a code met for the first time, with no known parent.
    pub created_without_parent: u64,
    /// Areas written (created or updated).
    pub areas: u64,
    /// Parent links written.
    pub links: u64,
    /// Pairs of neighbouring areas found (boundaries).
    pub neighbours: u64,
    /// Deprivation, population or observation rows written.
    pub values: u64,
    /// Rows repeating an earlier row exactly (Fingertips lists England once as
    /// itself and once as its own parent), ignored.
    pub repeated: u64,
    /// Values left out because part of what they sum is not available (a
    /// population band with an `NA` year, or with years missing from a table cut
    /// short by its publisher).
    pub incomplete: u64,
    /// Header columns the import recognised, and those it did not use.
    pub used_columns: Vec<String>,
    pub ignored_columns: Vec<String>,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} rows; {} areas, {} parent links, {} values written",
            self.file, self.rows, self.areas, self.links, self.values
        )?;
        if self.neighbours > 0 {
            write!(f, "; {} neighbouring pairs", self.neighbours)?;
        }
        if self.skipped_outside_england > 0 {
            write!(
                f,
                "; {} rows outside England skipped",
                self.skipped_outside_england
            )?;
        }
        if self.created_without_parent > 0 {
            write!(
                f,
                "; {} areas new to the store created with no known parent",
                self.created_without_parent
            )?;
        }
        if self.repeated > 0 {
            write!(f, "; {} exact repeats ignored", self.repeated)?;
        }
        if self.incomplete > 0 {
            write!(
                f,
                "; {} values left out: part of what they sum is not in the file (NA or missing years)",
                self.incomplete
            )?;
        }
        if !self.ignored_columns.is_empty() {
            write!(f, "; columns not used: {}", self.ignored_columns.join(", "))?;
        }
        Ok(())
    }
}

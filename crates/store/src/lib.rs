//! The evidence store: areas and their parents, deprivation, populations,
//! indicators and observations, and the record of every import.
//!
//! The API is the [`Store`] trait (reads) and [`StoreTx`] (writes, always inside one
//! transaction, so that an import either lands whole or not at all). One
//! implementation, [`SqlStore`], serves both embedded SQLite (the default: one file,
//! WAL) and PostgreSQL, chosen at run time from the URL. Only this crate knows SQL.

pub mod disclosure;
pub mod hub;
mod model;
pub mod partnership;
mod sql;

pub use model::*;
pub use sql::{SqlStore, StoreUrl};

/// Every part's store traits, so a caller of `SqlStore` (or of a fake) writes one
/// `use syndemic_store::prelude::*;`: the evidence (`Store`), accounts and audit,
/// the referral hub (`Referrals` and its concerns), the partnership
/// (`Partnerships` and its concerns).
pub mod prelude {
    pub use crate::hub::{
        Accounts, Audit, CaseChanges, NewReferrals, Notifications, ReferralReads, Referrals,
        ServiceDirectory, SubjectRights,
    };
    pub use crate::partnership::{
        Businesses, CommunityPlaces, PartnershipRecords, Partnerships, Surveys,
    };
    pub use crate::{Database, Store};
}

/// Every part's records together — the evidence, accounts and audit, the
/// referral hub and the partnership: what the web application holds, as
/// `Arc<dyn Database>`, so none of its handlers names the SQL implementation.
pub trait Database:
    Store + hub::Accounts + hub::Audit + hub::Referrals + partnership::Partnerships
{
}

impl<T: Store + hub::Accounts + hub::Audit + hub::Referrals + partnership::Partnerships> Database
    for T
{
}

use async_trait::async_trait;
use syndemic_model::{AreaCode, AreaType, Level};

/// What went wrong in the store. Messages name the database and the operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("`{0}` is not a database syndemic can use: give a SQLite file path, sqlite:FILE or postgres://…")]
    BadUrl(String),
    #[error("database migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("the database holds {found} where syndemic expects {expected}: it was written by another program or version")]
    Corrupt {
        found: String,
        expected: &'static str,
    },
    #[error("database error while {doing}: {source}")]
    Sql {
        doing: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Reads from the store. Every method sees committed data only.
#[async_trait]
pub trait Store: Send + Sync {
    /// Starts a transaction; nothing it writes is visible until [`StoreTx::commit`],
    /// and dropping it undoes everything.
    async fn begin(&self) -> Result<Box<dyn StoreTx>>;

    async fn area(&self, code: AreaCode) -> Result<Option<AreaInfo>>;
    /// Every area of one type, by code.
    async fn areas_of_type(&self, area_type: AreaType) -> Result<Vec<Area>>;
    /// The area's parents, each with its level and the lookup vintage it came from.
    async fn parents(&self, code: AreaCode) -> Result<Vec<ParentInfo>>;
    /// Areas whose parent at `level` (of any vintage, or of `vintage`) is `parent`.
    async fn children(&self, parent: AreaCode, vintage: Option<&str>) -> Result<Vec<AreaLink>>;
    /// Every area below `parent` through links of any vintage and level (children,
    /// theirs, and so on), each once, sorted; never `parent` itself. One query. A
    /// community-defined place's are its small areas.
    async fn descendants(&self, parent: AreaCode) -> Result<Vec<AreaCode>>;
    /// Every parent link in the store, and each community-defined place's small
    /// areas as its children (level and vintage `community`).
    async fn all_links(&self) -> Result<Vec<AreaLink>>;
    /// The parent links of the areas with observations of `indicator` (only those
    /// above the wards where `above_wards`), with community places' small areas
    /// as in [`Store::all_links`]: all that the disclosure control of its cells
    /// reads of the geography, in one query.
    async fn links_of_observed(&self, indicator: &str, above_wards: bool) -> Result<Vec<AreaLink>>;
    /// Every link at a level, of one vintage.
    async fn links(&self, level: Level, vintage: &str) -> Result<Vec<AreaLink>>;
    /// The lookups between vintages from areas of vintage `from` (e.g. `LSOA21`) to
    /// those of any other vintage, read in that direction.
    async fn correspondences(&self, from: &str) -> Result<Vec<Correspondence>>;
    /// How many areas belong to a geography vintage (e.g. `LSOA11`).
    async fn count_in_vintage(&self, vintage: &str) -> Result<i64>;
    /// How many areas of each type the store holds, with those flagged as having no
    /// known parent.
    async fn area_counts(&self) -> Result<Vec<AreaCount>>;

    async fn deprivation(&self, code: AreaCode) -> Result<Vec<Deprivation>>;
    /// All areas' values of one domain of one edition (e.g. `IoD2019`, `imd`).
    async fn deprivation_table(&self, edition: &str, domain: &str) -> Result<Vec<Deprivation>>;
    async fn populations(&self, source: &str) -> Result<Vec<Population>>;

    async fn indicators(&self) -> Result<Vec<Indicator>>;
    async fn indicator(&self, id: &str) -> Result<Option<Indicator>>;
    /// Observations of one indicator (or all), ordered by indicator, area and period.
    async fn observations(&self, indicator: Option<&str>) -> Result<Vec<Observation>>;
    /// Observations of one indicator for every area above the wards (no LSOA, MSOA
    /// or ward), in the order of [`Store::observations`]: all that the profile or
    /// report of a district, county, region or England shows, and all that the
    /// disclosure control of those areas' cells depends on (a cell is withheld by
    /// its own count, its sexes and categories, and its siblings of its own type).
    async fn observations_above_wards(&self, indicator: &str) -> Result<Vec<Observation>>;
    /// For each indicator, the area's observations of its latest period.
    async fn latest_observations(&self, code: AreaCode) -> Result<Vec<Observation>>;
    async fn imports(&self) -> Result<Vec<ImportRecord>>;
    /// Boundaries of a vintage whose bounding box holds the point.
    async fn boundaries_around(&self, vintage: &str, lon: f64, lat: f64) -> Result<Vec<Boundary>>;
    /// Every boundary of a vintage (`LSOA11`, `WD25`, …).
    async fn boundaries(&self, vintage: &str) -> Result<Vec<Boundary>>;
    /// Areas that share a boundary with `code` in a vintage.
    async fn neighbours(&self, code: AreaCode, vintage: &str) -> Result<Vec<AreaCode>>;
    /// A postcode in the directory, written in its normal form (`M33 7XX`).
    /// Every pair of neighbouring areas of a boundary vintage, both ways round.
    async fn adjacency(&self, vintage: &str) -> Result<Vec<(AreaCode, AreaCode)>>;
    /// Areas whose code starts with, or whose name holds, `text` (case aside),
    /// exact codes and short names first.
    async fn search_areas(&self, text: &str, limit: i64) -> Result<Vec<Area>>;
    async fn postcode(&self, postcode: &str) -> Result<Option<PostcodeRecord>>;
    /// The rows of an imported counts dataset.
    async fn counts(&self, dataset: &str) -> Result<Vec<CountRow>>;
    /// The compute runs that produced an indicator's results, oldest first.
    async fn compute_runs(&self, indicator: &str) -> Result<Vec<ComputeRun>>;
}

/// Writes, all inside one transaction. Writing the same key twice replaces the
/// earlier row, so re-importing a corrected file is allowed.
#[async_trait]
pub trait StoreTx: Send {
    /// Creates areas, or fills in names and clears the no-known-parent flag of areas
    /// already known.
    async fn put_areas(&mut self, areas: &[Area]) -> Result<()>;
    /// Records that areas belong to a geography vintage (`LSOA11`, `WD19`, …).
    async fn put_vintages(&mut self, members: &[(AreaCode, String)]) -> Result<()>;
    async fn put_links(&mut self, links: &[AreaLink]) -> Result<()>;
    async fn put_correspondences(&mut self, rows: &[Correspondence]) -> Result<()>;
    async fn put_deprivation(&mut self, rows: &[Deprivation]) -> Result<()>;
    async fn put_populations(&mut self, rows: &[Population]) -> Result<()>;
    async fn put_indicator(&mut self, indicator: &Indicator) -> Result<()>;
    async fn put_observations(&mut self, rows: &[Observation]) -> Result<()>;
    /// Areas of `codes` the store does not hold yet.
    async fn missing_areas(&mut self, codes: &[AreaCode]) -> Result<Vec<AreaCode>>;
    /// Gives each listed area its name where it has none yet (an area an earlier
    /// import created from a code alone); a name already stored is kept.
    async fn name_unnamed_areas(&mut self, names: &[(AreaCode, String)]) -> Result<()>;
    async fn record_import(&mut self, record: &ImportRecord) -> Result<()>;
    /// Removes every observation of an indicator (before a recomputation replaces them).
    async fn delete_observations(&mut self, indicator: &str) -> Result<()>;
    async fn record_compute(&mut self, run: &ComputeRun) -> Result<()>;
    async fn put_boundaries(&mut self, rows: &[Boundary]) -> Result<()>;
    /// Neighbouring pairs (both directions are stored by the caller) of a vintage.
    async fn put_adjacency(&mut self, pairs: &[(AreaCode, AreaCode, String)]) -> Result<()>;
    async fn put_postcodes(&mut self, rows: &[PostcodeRecord]) -> Result<()>;
    async fn put_counts(&mut self, rows: &[CountRow]) -> Result<()>;
    /// Forgets the compute runs of an indicator, so that the next run recomputes.
    async fn forget_compute_runs(&mut self, indicator: &str) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

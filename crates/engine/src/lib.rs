//! The compute engine: from counts at LSOA level to results for every area and
//! every deprivation group, stored with what produced them.
//!
//! The aggregation runs on Apache DataFusion: the counts file (Parquet or CSV) is
//! joined to the store's geography (each LSOA's ward, district, shire county, region, national
//! IMD decile and local quintile within its district). The LSOA rows, already one
//! per LSOA, period, sex and age band, stream out as they are; every higher level
//! and deprivation group is reduced, in one query with grouping sets, to per-group,
//! per-age-band sums of events and population. Only those sums leave the query; the
//! statistics crate turns them into rates and limits. Because every method is reduced to per-group sums in the plan, the same
//! plan can run on a distributed DataFusion engine (Ballista).

mod compute;
mod geography;
mod targets;

pub use compute::{
    compute, Benchmark, ComputeSpec, ComputeSummary, CountColumns, Counts, Measure, TargetGroup,
    Withheld, MAX_TARGET_GROUPS, NO_ENGLAND_VALUE, TARGET_AREAS,
};
pub use geography::Geography;
pub use targets::{commitment_targets, community_places};

/// Why a computation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] syndemic_store::StoreError),
    #[error("query engine: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Stats(#[from] syndemic_stats::StatsError),
}

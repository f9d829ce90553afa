//! The geography the engine aggregates over, read from the store.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use rustc_hash::FxHashMap;
use syndemic_model::{AreaCode, AreaType, Level};
use syndemic_stats::deprivation::local_quantiles;
use syndemic_store::Store;

use crate::EngineError;

/// Every LSOA of a geography vintage with its parents and deprivation groups.
#[derive(Debug, Clone, Default)]
pub struct Geography {
    pub lsoa: Vec<AreaCode>,
    pub ward: Vec<Option<AreaCode>>,
    pub district: Vec<Option<AreaCode>>,
    /// The shire county (E10) over the district, where there is one: unitary and
    /// metropolitan areas have none, their district being their upper tier.
    pub county: Vec<Option<AreaCode>>,
    /// The combined authority (E47) the LSOA's district belongs to, where there is
    /// one: a group of authorities beside the tiers, not between them.
    pub combined: Vec<Option<AreaCode>>,
    pub region: Vec<Option<AreaCode>>,
    /// National IMD decile as published, 1 = most deprived.
    pub decile: Vec<Option<u8>>,
    /// Quintile within the district by national IMD rank, 1 = most deprived.
    pub local_quintile: Vec<Option<u8>>,
    /// Quintile within the shire county by national IMD rank (`None` outside a
    /// shire county, whose districts are their own upper tier).
    pub county_quintile: Vec<Option<u8>>,
    /// Small areas in England by the deprivation edition's national table (32,844
    /// LSOAs for IoD2019): England's size even where the lookups hold fewer.
    pub national: usize,
}

/// Quintiles by national IMD rank within each parent (1 = most deprived), for the
/// LSOAs with a parent and a rank.
fn quintiles_within(
    parent: &[Option<AreaCode>],
    rank: &[Option<f64>],
) -> Result<Vec<Option<u8>>, EngineError> {
    let mut ids: FxHashMap<AreaCode, u32> = FxHashMap::default();
    let mut ranked: Vec<(usize, u32, f64)> = Vec::new();
    for (i, (p, r)) in parent.iter().zip(rank).enumerate() {
        if let (Some(p), Some(r)) = (p, r) {
            let next = ids.len() as u32;
            let id = *ids.entry(*p).or_insert(next);
            ranked.push((i, id, *r));
        }
    }
    let groups: Vec<u32> = ranked.iter().map(|r| r.1).collect();
    let ranks: Vec<f64> = ranked.iter().map(|r| r.2).collect();
    let quintiles = local_quantiles(&groups, ids.len(), &ranks, 5)?;
    let mut out = vec![None; parent.len()];
    for ((i, _, _), q) in ranked.iter().zip(quintiles) {
        out[*i] = q.map(|q| q as u8);
    }
    Ok(out)
}

impl Geography {
    /// Reads the LSOAs linked to districts in the lookups of `vintage` (e.g.
    /// `2019`), with their wards, counties, combined authorities, regions, and the
    /// IMD of `edition`.
    pub async fn load(
        store: &dyn Store,
        vintage: &str,
        edition: &str,
    ) -> Result<Geography, EngineError> {
        let lsoa_links = |links: Vec<syndemic_store::AreaLink>| -> FxHashMap<AreaCode, AreaCode> {
            links
                .into_iter()
                .filter(|l| l.child.area_type() == AreaType::Lsoa)
                .map(|l| (l.child, l.parent))
                .collect()
        };
        let districts = lsoa_links(store.links(Level::LowerTierAuthority, vintage).await?);
        if districts.is_empty() {
            return Err(EngineError::Input(format!(
                "the store has no LSOA-to-district lookup of vintage {vintage}: import one first (`syndemic import lookups`)"
            )));
        }
        let wards = lsoa_links(store.links(Level::Ward, vintage).await?);
        // Region of each district: from a lookup of this vintage or an unversioned one.
        let mut region_of: FxHashMap<AreaCode, AreaCode> = FxHashMap::default();
        for v in ["", vintage] {
            for l in store.links(Level::Region, v).await? {
                region_of.insert(l.child, l.parent);
            }
        }
        // County of each LSOA: linked directly, or through its district; from a
        // lookup of this vintage or an unversioned one. Only shire counties count:
        // an upper tier that is the district itself adds no level.
        let mut county_of: FxHashMap<AreaCode, AreaCode> = FxHashMap::default();
        for v in ["", vintage] {
            for l in store.links(Level::UpperTierAuthority, v).await? {
                if l.parent.area_type() == AreaType::County {
                    county_of.insert(l.child, l.parent);
                }
            }
        }
        // Combined authority of each LSOA: linked directly or through its district.
        let mut combined_of: FxHashMap<AreaCode, AreaCode> = FxHashMap::default();
        for v in ["", vintage] {
            for l in store.links(Level::CombinedAuthority, v).await? {
                combined_of.insert(l.child, l.parent);
            }
        }
        let imd: FxHashMap<AreaCode, (i64, i64)> = store
            .deprivation_table(edition, "imd")
            .await?
            .into_iter()
            .map(|d| (d.area, (d.rank, d.decile)))
            .collect();
        let mut lsoa: Vec<AreaCode> = districts.keys().copied().collect();
        lsoa.sort();
        let district: Vec<Option<AreaCode>> =
            lsoa.iter().map(|l| districts.get(l).copied()).collect();
        // Local quintiles: rank within district (and within shire county), over
        // LSOAs with an IMD rank.
        let rank: Vec<Option<f64>> = lsoa
            .iter()
            .map(|l| imd.get(l).map(|(r, _)| *r as f64))
            .collect();
        let local_quintile = quintiles_within(&district, &rank)?;
        // Each LSOA's parent in `parent_of`: linked directly, or through its district.
        let via_district = |parent_of: &FxHashMap<AreaCode, AreaCode>| -> Vec<Option<AreaCode>> {
            lsoa.iter()
                .zip(&district)
                .map(|(l, d)| {
                    parent_of
                        .get(l)
                        .or_else(|| d.and_then(|d| parent_of.get(&d)))
                        .copied()
                })
                .collect()
        };
        let county = via_district(&county_of);
        let county_quintile = quintiles_within(&county, &rank)?;
        let combined = via_district(&combined_of);
        Ok(Geography {
            combined,
            national: imd.len(),
            ward: lsoa.iter().map(|l| wards.get(l).copied()).collect(),
            county,
            county_quintile,
            region: district
                .iter()
                .map(|d| d.and_then(|d| region_of.get(&d).copied()))
                .collect(),
            decile: lsoa
                .iter()
                .map(|l| imd.get(l).map(|(_, d)| *d as u8))
                .collect(),
            district,
            local_quintile,
            lsoa,
        })
    }

    /// The geography as one Arrow batch to join the counts to: the LSOA code, then
    /// integer ids (indexes into [`Geography::codes`]) of the LSOA, ward, district,
    /// county, combined authority and region — `-1` when unknown — and the decile and the district's and
    /// county's quintiles (`0` when unknown). Integer keys keep the aggregation's hash tables small.
    pub fn to_batch(&self) -> Result<(RecordBatch, Vec<AreaCode>), EngineError> {
        let mut codes: Vec<AreaCode> = Vec::new();
        let mut ids: FxHashMap<AreaCode, i64> = FxHashMap::default();
        let mut id = |code: Option<AreaCode>| -> i64 {
            match code {
                None => -1,
                Some(c) => *ids.entry(c).or_insert_with(|| {
                    codes.push(c);
                    codes.len() as i64 - 1
                }),
            }
        };
        let lsoa_id: Vec<i64> = self.lsoa.iter().map(|c| id(Some(*c))).collect();
        let ward: Vec<i64> = self.ward.iter().map(|c| id(*c)).collect();
        let district: Vec<i64> = self.district.iter().map(|c| id(*c)).collect();
        let county: Vec<i64> = self.county.iter().map(|c| id(*c)).collect();
        let combined: Vec<i64> = self.combined.iter().map(|c| id(*c)).collect();
        let region: Vec<i64> = self.region.iter().map(|c| id(*c)).collect();
        let ints = |values: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(values)) };
        let groups = |values: &[Option<u8>]| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(
                values.iter().map(|v| v.map_or(0, i64::from)),
            ))
        };
        let batch = RecordBatch::try_from_iter(vec![
            (
                "lsoa",
                Arc::new(StringArray::from_iter_values(
                    self.lsoa.iter().map(|c| c.as_str().to_owned()),
                )) as ArrayRef,
            ),
            ("lsoa_id", ints(lsoa_id)),
            ("ward", ints(ward)),
            ("district", ints(district)),
            ("county", ints(county)),
            ("combined", ints(combined)),
            ("region", ints(region)),
            ("decile", groups(&self.decile)),
            ("quintile", groups(&self.local_quintile)),
            ("county_quintile", groups(&self.county_quintile)),
        ])
        .map_err(|e| EngineError::Query(e.into()))?;
        Ok((batch, codes))
    }
}

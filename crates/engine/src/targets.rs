//! The target groups a computation measures: the target areas of the
//! partnership's commitments that measure its indicator, each as resolved when
//! the commitment was made, filed under the area the commitment is measured for;
//! and the community-defined places, each filed under its own code.

use rustc_hash::FxHashSet;
use syndemic_model::AreaCode;
use syndemic_store::partnership::{CommunityPlaces, PartnershipRecords};

use crate::{EngineError, TargetGroup};

/// One [`TargetGroup`] per (area measured, target rule) among the commitments
/// that measure `indicator`; where two commitments share both, the older one's
/// areas are kept. A commitment whose area cannot be told is left out (its page
/// says it is measured on no area).
pub async fn commitment_targets(
    store: &dyn PartnershipRecords,
    indicator: &str,
) -> Result<Vec<TargetGroup>, EngineError> {
    let partnerships = store.partnerships().await?;
    let plans = store.plans().await?;
    let mut commitments = store.commitments(None).await?;
    commitments.retain(|c| c.indicator.as_deref() == Some(indicator) && !c.areas.is_empty());
    commitments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut seen = FxHashSet::default();
    let mut out = Vec::new();
    for c in &commitments {
        let Some(rule) = &c.target_rule else {
            continue;
        };
        let measured = c.indicator_area.clone().or_else(|| {
            let plan = plans.iter().find(|p| p.id == c.plan_id)?;
            let partnership = partnerships.iter().find(|p| p.id == plan.partnership_id)?;
            partnership.area.clone()
        });
        let Some(within) = measured.and_then(|a| AreaCode::parse(&a).ok()) else {
            continue;
        };
        if !seen.insert((within, rule.clone())) {
            continue;
        }
        out.push(TargetGroup {
            label: rule.clone(),
            within,
            areas: c
                .areas
                .iter()
                .filter_map(|a| AreaCode::parse(a).ok())
                .collect(),
            place: None,
        });
    }
    Ok(out)
}

/// One [`TargetGroup`] per community-defined place: measured as any area, over
/// the sum of its small areas' counts, and compared with the area it lies within.
pub async fn community_places(
    store: &dyn CommunityPlaces,
) -> Result<Vec<TargetGroup>, EngineError> {
    Ok(store
        .community_places()
        .await?
        .into_iter()
        .map(|p| TargetGroup {
            label: p.code.to_string(),
            within: p.within,
            areas: p.areas,
            place: Some(p.code),
        })
        .collect())
}

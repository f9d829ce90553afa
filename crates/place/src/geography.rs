//! Walking the stored geography.

use syndemic_model::{AreaCode, AreaType};
use syndemic_store::Store;

use crate::PlaceError;

/// The area's small areas (LSOAs) below it, walking the stored links down through
/// every vintage, sorted; an LSOA is its own one small area.
pub async fn small_areas_within(
    store: &dyn Store,
    parent: AreaCode,
) -> Result<Vec<AreaCode>, PlaceError> {
    if parent.area_type() == AreaType::Lsoa {
        return Ok(vec![parent]);
    }
    let mut found: Vec<AreaCode> = Vec::new();
    let mut seen: rustc_hash::FxHashSet<AreaCode> = [parent].into_iter().collect();
    let mut frontier = vec![parent];
    while let Some(area) = frontier.pop() {
        for link in store.children(area, None).await? {
            let child = link.child;
            if !seen.insert(child) {
                continue;
            }
            if child.area_type() == AreaType::Lsoa {
                found.push(child);
            } else {
                frontier.push(child);
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

//! Walking the stored geography.

use rustc_hash::FxHashMap;
use syndemic_model::{walk_up, AreaCode, AreaType, Level};
use syndemic_store::{AreaLink, ParentInfo, Store};

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
    Ok(store
        .descendants(parent)
        .await?
        .into_iter()
        .filter(|c| c.area_type() == AreaType::Lsoa)
        .collect())
}

/// The area's chain of parents through every stored vintage: its own, then
/// theirs, one per level, nearest first, with names — the walk of
/// `syndemic_model::walk_up` over the store's links, read one area at a time, going
/// on only through the parent it keeps at each level (so a region is never reached
/// through a district of another vintage that was not kept). A shire county with
/// no region of its own takes its districts' region.
pub async fn parent_chain(
    store: &dyn Store,
    code: AreaCode,
) -> Result<Vec<ParentInfo>, PlaceError> {
    let mut links: FxHashMap<AreaCode, Vec<ParentInfo>> = FxHashMap::default();
    let mut frontier = vec![code];
    while let Some(area) = frontier.pop() {
        if links.contains_key(&area) {
            continue;
        }
        let parents = store.parents(area).await?;
        frontier.extend(parents.iter().map(|p| p.link.parent));
        links.insert(area, parents);
    }
    let mut chain = walk_up(
        code,
        |a| links.get(&a).cloned().unwrap_or_default(),
        |p| p.link.parent,
        |p| p.link.level,
    );
    // A shire county abolished since its lookup's year is in no current lookup of
    // regions: its region is its districts' (they all share one).
    if code.area_type() == AreaType::County && !chain.iter().any(|p| p.link.level == Level::Region)
    {
        // Up from one of its members (a district, or an LSOA through its district)
        // to the first region link, never back through the county.
        let mut region = None;
        if let Some(child) = store.children(code, None).await?.first() {
            let mut frontier = vec![child.child];
            let mut seen = vec![code];
            while let Some(area) = frontier.pop() {
                if seen.contains(&area) || seen.len() > 16 {
                    continue;
                }
                seen.push(area);
                let parents = store.parents(area).await?;
                if let Some(r) = parents.iter().find(|p| p.link.level == Level::Region) {
                    region = Some(r.clone());
                    break;
                }
                frontier.extend(parents.iter().map(|p| p.link.parent));
            }
        }
        if let Some(region) = region {
            chain.push(ParentInfo {
                link: AreaLink {
                    child: code,
                    ..region.link
                },
                name: region.name,
            });
        }
    }
    Ok(chain)
}

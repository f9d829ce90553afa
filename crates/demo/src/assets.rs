//! The demo's community assets: halls, groups, green spaces, businesses that
//! help, faith groups and sport — six of each kind across Hartmoor's towns, and
//! Saltmouth old town's own — recorded as Open Referral UK services with the
//! asset taxonomy, placed at the middle of a small area of their town.

use syndemic_hub::assets::{to_feed, Asset, KINDS};
use syndemic_model::AreaCode;
use syndemic_place::{centre, Shapes};
use syndemic_store::prelude::*;
use syndemic_store::SqlStore;

use crate::DemoError;

/// Each kind's assets: (name, run by, what it offers).
const NAMED: [[(&str, &str, &str); 6]; 6] = [
    [
        (
            "Old Town Residents' Association",
            "Saltmouth Old Town Residents' Association",
            "Monthly meetings, street clean-ups and a say in the harbour plans",
        ),
        (
            "Hartford Tenants' Forum",
            "Hartford Tenants' Forum",
            "Tenants of the Priory estate speaking together to the landlord",
        ),
        (
            "Kingsbridge Men's Shed",
            "Kingsbridge Men's Shed",
            "Woodwork, repairs and company, Tuesdays and Thursdays",
        ),
        (
            "Eastmoor Mutual Aid",
            "Eastmoor Mutual Aid",
            "Shopping, prescriptions and lifts for neighbours who need them",
        ),
        (
            "Westcombe Carers' Circle",
            "Westcombe Carers' Circle",
            "A monthly break and advice for unpaid carers",
        ),
        (
            "Saltmouth Parents' Network",
            "Saltmouth Parents' Network",
            "Stay-and-play, swap shop and a parents' WhatsApp",
        ),
    ],
    [
        (
            "Quay Hall",
            "Saltmouth Old Town Residents' Association",
            "A hall by the harbour: warm space on winter weekdays",
        ),
        (
            "Hartford Community Centre",
            "Hartford Community Trust",
            "Rooms to hire, a café and advice surgeries",
        ),
        (
            "Kingsbridge Library",
            "Hartmoor County Council",
            "Books, computers, warm space and a job club",
        ),
        (
            "Eastmoor Village Hall",
            "Eastmoor Village Hall Trust",
            "The village's hall: lunch club on Wednesdays",
        ),
        (
            "Westcombe Scout Hut",
            "1st Westcombe Scouts",
            "Scouting, and a room for groups in the evenings",
        ),
        (
            "Priory Hub",
            "Hartford Community Trust",
            "A drop-in on the Priory estate with a food pantry",
        ),
    ],
    [
        (
            "Harbour Beach",
            "Saltmouth Town Council",
            "The beach and the harbour wall walk",
        ),
        (
            "Hartford Riverside Park",
            "Hartford Borough Council",
            "A park with a play area and an outdoor gym",
        ),
        (
            "Kingsbridge Allotments",
            "Kingsbridge Allotment Society",
            "Plots to rent and a community plot anyone can help on",
        ),
        (
            "Eastmoor Common",
            "Eastmoor Parish Council",
            "Open moorland with way-marked walks",
        ),
        (
            "Westcombe Woods",
            "Woodland Trust",
            "Ancient woodland with level paths",
        ),
        (
            "Mill Fields Community Garden",
            "Hartford Community Trust",
            "Growing days on Saturdays, produce shared",
        ),
    ],
    [
        (
            "The Net Loft Café",
            "The Net Loft Café",
            "Pay-it-forward coffee and a warm corner in winter",
        ),
        (
            "Hartford Co-op",
            "Hartford Co-op",
            "Hosts the food bank collection point and pays the real living wage",
        ),
        (
            "Kingsbridge Cycles",
            "Kingsbridge Cycles",
            "Refurbished bikes for people starting work",
        ),
        (
            "Eastmoor Post Office",
            "Eastmoor Post Office",
            "Cash, parcels and a noticeboard the village reads",
        ),
        (
            "Westcombe Pharmacy",
            "Westcombe Pharmacy",
            "Blood pressure checks and a quiet room",
        ),
        (
            "Saltmouth Boatyard",
            "Saltmouth Boatyard",
            "Apprenticeships for young people of the old town",
        ),
    ],
    [
        (
            "St Peter's by the Quay",
            "Parish of Saltmouth",
            "Sunday lunch for anyone on their own",
        ),
        (
            "Hartford Central Mosque",
            "Hartford Islamic Centre",
            "Food parcels and a women's group",
        ),
        (
            "Kingsbridge Methodist Church",
            "Kingsbridge Methodist Church",
            "Toddlers, a lunch club and debt advice by appointment",
        ),
        (
            "Eastmoor Chapel",
            "Eastmoor Chapel",
            "A coffee morning and lifts to appointments",
        ),
        (
            "Westcombe Gurdwara",
            "Westcombe Sikh Society",
            "The langar: a free meal every day for everyone",
        ),
        (
            "Hartford Quaker Meeting",
            "Religious Society of Friends",
            "A quiet room and a refugee welcome group",
        ),
    ],
    [
        (
            "Saltmouth Gig Rowing Club",
            "Saltmouth Gig Rowing Club",
            "Rowing for all ages; taster sessions in summer",
        ),
        (
            "Hartford Leisure Centre",
            "Hartmoor Leisure Trust",
            "Pool, gym and concessions for people on benefits",
        ),
        (
            "Kingsbridge Walking Football",
            "Kingsbridge Town FC",
            "Walking football for over-50s, Fridays",
        ),
        (
            "Eastmoor Cricket Club",
            "Eastmoor Cricket Club",
            "Junior section and a clubhouse for village events",
        ),
        (
            "Westcombe parkrun",
            "parkrun UK",
            "A free, timed 5 km every Saturday morning",
        ),
        (
            "Hartford Boxing Club",
            "Hartford Boxing Club",
            "Youth sessions that keep young people busy and fit",
        ),
    ],
];

/// Records the demo's assets in the directory: those of Saltmouth's harbour and
/// old town in the old town's small areas, the rest spread across the county's.
pub async fn seed(
    store: &SqlStore,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), DemoError> {
    progress("community assets on the map");
    let shapes = Shapes::load(store).await?;
    let old_town: Vec<AreaCode> = store
        .community_places()
        .await?
        .into_iter()
        .find(|p| p.name == crate::OLD_TOWN)
        .map(|p| p.areas)
        .unwrap_or_default();
    let mut county: Vec<AreaCode> = shapes.outlines.keys().copied().collect();
    county.sort();
    if county.is_empty() || old_town.is_empty() {
        return Err(DemoError::Hub(
            "the demo's boundaries and old town must be built before its assets".into(),
        ));
    }
    let mut assets = Vec::new();
    for (k, (kind, ..)) in KINDS.iter().enumerate() {
        for (i, (name, organisation, description)) in NAMED[k].iter().enumerate() {
            let in_old_town = name.contains("Quay")
                || name.contains("Harbour")
                || name.contains("Old Town")
                || name.starts_with("Saltmouth")
                || name.contains("Net Loft");
            let area = if in_old_town {
                old_town[(k * 5 + i) % old_town.len()]
            } else {
                county[(k * 61 + i * 67 + 13) % county.len()]
            };
            let Some(point) = shapes.outlines.get(&area).and_then(|o| centre(o)) else {
                continue;
            };
            // Spread assets sharing a small area a little apart.
            let nudge = (i as f64 - 2.5) * 0.0008;
            assets.push(Asset {
                id: format!("asset-{}-{}", kind, i + 1),
                name: (*name).into(),
                description: (*description).into(),
                kind: (*kind).into(),
                organisation: (*organisation).into(),
                latitude: point.lat + nudge,
                longitude: point.lon - nudge,
                postcode: None,
                url: None,
            });
        }
    }
    let feed = to_feed(&assets).map_err(DemoError::Hub)?;
    store.put_directory(&feed).await?;
    Ok(())
}

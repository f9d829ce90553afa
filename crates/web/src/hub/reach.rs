//! The hub's reach per 1,000 residents of each IMD decile of its catchment
//! (`syndemic_hub::reach`), as a table and a chart of the report.
//!
//! The catchment is the area the place is named after (`--place`, e.g.
//! "Hartmoor"; a note in brackets after the name is left out): the small areas within the area of that name in the store, each
//! with its national IMD decile (in the edition that ranks the most of them) and
//! its residents from the configured population source (`--population`, its
//! latest period, all ages, persons).

use maud::Markup;
use rustc_hash::FxHashMap;
use syndemic_hub::reach::{reach, CatchmentArea};
use syndemic_model::{AreaCode, AreaType};
use syndemic_store::hub::ReferralRecord;

use crate::shell::charts::{gradient, GroupValue};
use crate::shell::table::{Cell, DataTable};
use crate::{AppState, WebError};

/// The area the place is named after: of the areas with exactly that name, the
/// largest (a county before a district of the same name).
async fn catchment(state: &AppState) -> Result<Option<(AreaCode, String)>, WebError> {
    let rank = |t: AreaType| match t {
        AreaType::England => 0,
        AreaType::Region => 1,
        AreaType::CombinedAuthority => 2,
        AreaType::County | AreaType::MetropolitanCounty => 3,
        AreaType::UnitaryAuthority | AreaType::MetropolitanDistrict | AreaType::LondonBorough => 4,
        AreaType::NonMetropolitanDistrict => 5,
        AreaType::Ward => 6,
        _ => 9,
    };
    // The name as given, then without a note in brackets ("Hartmoor (demo)").
    let given = state.place.trim();
    let plain = given
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once('('))
        .map(|(name, _)| name.trim());
    for place in std::iter::once(given).chain(plain) {
        let mut found: Vec<_> = state
            .db
            .search_areas(place, 50)
            .await?
            .into_iter()
            .filter(|a| {
                a.name
                    .as_deref()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(place))
            })
            .filter(|a| rank(a.code.area_type()) < 9)
            .collect();
        found.sort_by_key(|a| rank(a.code.area_type()));
        if let Some(a) = found.into_iter().next() {
            return Ok(Some((a.code, a.name.unwrap_or_default())));
        }
    }
    Ok(None)
}

/// The reach table and its chart, or why there is none; counts of 1 to 4 (and
/// their rates) withheld when `suppress`.
pub(super) async fn reach_report(
    state: &AppState,
    referrals: &[ReferralRecord],
    suppress: bool,
) -> Result<(DataTable, Option<Markup>, String), WebError> {
    let mut table = DataTable::new(
        "Reach: referrals per 1,000 residents of each IMD decile of the catchment (1 = most deprived 10 % of England), with 95 % confidence intervals",
        &[
            "IMD decile",
            "Small areas",
            "Residents",
            "Referrals",
            "Per thousand residents",
            "Lower 95 %",
            "Upper 95 %",
        ],
    );
    let Some((area, name)) = catchment(state).await? else {
        return Ok((table, None, format!(
            "No reach per 1,000 residents: the place is named \"{}\" but no region, county, district or ward in the store has that name. Start the server with --place set to the name of the area the hub serves.",
            state.place
        )));
    };
    let Some(source) = state.population.as_deref() else {
        return Ok((
            table,
            None,
            "No reach per 1,000 residents: the server has no population source (--population)."
                .into(),
        ));
    };
    let ranked = syndemic_place::edition::ranked_within(state.db.as_ref(), area)
        .await?
        .map(|(_, rows)| rows)
        .unwrap_or_default();
    // Each small area's latest population, all ages, persons.
    let mut people: FxHashMap<AreaCode, (syndemic_model::Period, f64)> = FxHashMap::default();
    for p in state.db.populations(source).await? {
        if p.age != "All ages" || p.sex != "Persons" {
            continue;
        }
        let slot = people.entry(p.area).or_insert((p.period, p.population));
        if p.period.sort_key() > slot.0.sort_key() {
            *slot = (p.period, p.population);
        }
    }
    let codes: Vec<String> = ranked.iter().map(|d| d.area.as_str().to_owned()).collect();
    let areas: Vec<CatchmentArea> = ranked
        .iter()
        .zip(&codes)
        .map(|(d, code)| CatchmentArea {
            code,
            decile: d.decile,
            population: people.get(&d.area).map_or(0.0, |p| p.1),
        })
        .collect();
    let without = areas.iter().filter(|a| a.population <= 0.0).count();
    let r = reach(&areas, referrals.iter().map(|r| r.lsoa.as_deref()))
        .map_err(|e| WebError::Internal(format!("reach: {e}")))?;
    let mut bars = Vec::new();
    for d in &r.deciles {
        let hidden = suppress && (1..5).contains(&d.referrals);
        let cell = |v: Option<f64>| {
            if hidden {
                Cell::text("<5")
            } else {
                Cell::Number(v)
            }
        };
        table.push(vec![
            Cell::text(d.decile.to_string()),
            Cell::Number(Some(d.areas as f64)),
            Cell::Number(Some(d.population.round())),
            cell(Some(d.referrals as f64)),
            cell(d.per_1000),
            cell(d.lower),
            cell(d.upper),
        ]);
        if let (Some(value), false) = (d.per_1000, hidden) {
            bars.push(GroupValue {
                label: d.decile.to_string(),
                value,
                lower: d.lower,
                upper: d.upper,
            });
        }
    }
    let mut note = format!(
        "The catchment is {name} ({area}): {} small areas with residents from {source}.",
        areas.len() - without
    );
    if without > 0 {
        note.push_str(&format!(
            " {without} small areas have no population and count no residents."
        ));
    }
    note.push_str(&format!(
        " Referrals from outside it: {}; with no area: {}.",
        r.outside, r.unlocated
    ));
    let chart = (bars.len() >= 2).then(|| {
        gradient(
            &bars,
            None,
            &format!("Referrals per 1,000 residents by IMD decile of {name}, with 95 % confidence intervals"),
        )
    });
    Ok((table.aligned(), chart, note))
}

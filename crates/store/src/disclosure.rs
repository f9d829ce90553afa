//! Small-number disclosure control: cells whose count falls in an indicator's
//! rule are withheld, and so is whatever would let a reader work them out from a
//! published total. Pure: it rewrites observations in memory; every way out of the
//! store (exports, pages, the API) applies it.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};
use syndemic_model::{AreaCode, AreaType};

use crate::{AreaLink, Disclosure, Observation};

/// The note on a cell withheld by disclosure control.
pub const SUPPRESSED: &str = "Value suppressed for disclosure control due to small count";

fn withhold(o: &mut Observation) {
    o.value = None;
    o.count = None;
    o.denominator = None;
    o.lower95 = None;
    o.upper95 = None;
    o.lower998 = None;
    o.upper998 = None;
    o.note = Some(SUPPRESSED.into());
}

/// Sets of areas that add up to another: the children of one parent, of one kind
/// (LSOAs, or wards), in one lookup vintage — a district's LSOAs, its wards, a
/// community place's LSOAs.
#[derive(Debug, Clone, Default)]
pub struct AreaFamilies {
    parents: Vec<AreaCode>,
    /// Child → the families it belongs to (indexes into `parents`).
    member_of: FxHashMap<AreaCode, Vec<u32>>,
}

impl AreaFamilies {
    pub fn from_links(links: &[AreaLink]) -> AreaFamilies {
        let mut ids: BTreeMap<(AreaCode, &str, AreaType), u32> = BTreeMap::new();
        let mut families = AreaFamilies::default();
        // A community place lies within its district but the district's
        // community places do not add up to it: they make no family.
        for l in links
            .iter()
            .filter(|l| l.child.area_type() != AreaType::Community)
        {
            let next = ids.len() as u32;
            let id = *ids
                .entry((l.parent, &l.vintage, l.child.area_type()))
                .or_insert_with(|| {
                    families.parents.push(l.parent);
                    next
                });
            families.member_of.entry(l.child).or_default().push(id);
        }
        families
    }
}

/// Applies `rule` to the observations of `indicator`: first every cell whose count
/// lies within the rule's range, and every cell stored withheld (primary
/// suppression); then, wherever a published
/// total is the sum of a set of cells — the categories of one category type, males
/// and females making persons, or the child areas of a published parent area (its
/// LSOAs, its wards) — and exactly one cell of the set is withheld, the smallest
/// other cell of the set too (secondary suppression), repeated until nothing
/// changes, since a cell withheld in one set may expose another. Returns (primary,
/// secondary) counts.
pub fn suppress(
    observations: &mut [Observation],
    indicator: &str,
    rule: Disclosure,
    families: &AreaFamilies,
) -> (u64, u64) {
    let mut withheld = vec![false; observations.len()];
    let mut primary = 0;
    for (i, o) in observations.iter().enumerate() {
        // A cell stored withheld (a survey's area with too few answers, a
        // published file's suppressed cell) is withheld as much as one the rule
        // catches: whatever would let it be worked out goes too.
        let stored_withheld = o.value.is_none() && o.note.as_deref() == Some(SUPPRESSED);
        if o.indicator == indicator
            && (stored_withheld || o.count.is_some_and(|c| c >= rule.min && c <= rule.max))
        {
            withheld[i] = true;
            primary += 1;
        }
    }
    // Sets of cells that add up to a total.
    // (area, what varies within the set, period, age, kind of set) → members.
    type SetKey = (String, String, i64, String, u8);
    let mut sets: BTreeMap<SetKey, Vec<usize>> = BTreeMap::new();
    for (i, o) in observations.iter().enumerate() {
        if o.indicator != indicator {
            continue;
        }
        let base = (
            o.area.as_str().to_owned(),
            o.age.clone(),
            o.period.sort_key(),
        );
        // Deprivation groups partition their area; groups of target areas do
        // not (they may overlap, and leave most of the area out), so they make
        // no set.
        if !o.category_type.is_empty() && o.category_type != syndemic_model::TARGET_AREAS {
            sets.entry((
                base.0.clone(),
                format!("{}|{}", o.sex, o.category_type),
                base.2,
                base.1.clone(),
                0,
            ))
            .or_default()
            .push(i);
        }
        if o.sex == "Male" || o.sex == "Female" {
            sets.entry((
                base.0,
                format!("{}|{}", o.category_type, o.category),
                base.2,
                base.1,
                1,
            ))
            .or_default()
            .push(i);
        }
    }
    // Child areas of a parent whose own cell (same sex, category, period, age) is
    // published.
    let cell_key = |o: &Observation, area: AreaCode| {
        (
            area,
            o.sex.clone(),
            o.category_type.clone(),
            o.category.clone(),
            o.period.sort_key(),
            o.age.clone(),
        )
    };
    let published: FxHashSet<_> = observations
        .iter()
        .filter(|o| o.indicator == indicator)
        .map(|o| cell_key(o, o.area))
        .collect();
    for (i, o) in observations.iter().enumerate() {
        if o.indicator != indicator {
            continue;
        }
        for &family in families.member_of.get(&o.area).into_iter().flatten() {
            let parent = families.parents[family as usize];
            if !published.contains(&cell_key(o, parent)) {
                continue;
            }
            sets.entry((
                parent.as_str().to_owned(),
                format!("{family}|{}|{}|{}", o.sex, o.category_type, o.category),
                o.period.sort_key(),
                o.age.clone(),
                2,
            ))
            .or_default()
            .push(i);
        }
    }
    let mut secondary = 0;
    loop {
        let mut changed = false;
        for members in sets.values() {
            let hidden = members.iter().filter(|&&i| withheld[i]).count();
            if hidden != 1 || members.len() < 2 {
                continue;
            }
            let smallest = members
                .iter()
                .filter(|&&i| !withheld[i])
                .min_by(|&&a, &&b| {
                    let count = |i: usize| observations[i].count.unwrap_or(f64::INFINITY);
                    count(a).total_cmp(&count(b))
                })
                .copied();
            if let Some(i) = smallest {
                withheld[i] = true;
                secondary += 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (o, hide) in observations.iter_mut().zip(&withheld) {
        if *hide {
            withhold(o);
        }
    }
    (primary, secondary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syndemic_model::Period;

    fn cell(sex: &str, category: &str, count: f64) -> Observation {
        Observation {
            indicator: "1".into(),
            area: AreaCode::parse("E08000009").unwrap(),
            period: Period::Year(2020),
            sex: sex.into(),
            age: "All ages".into(),
            category_type: if category.is_empty() {
                String::new()
            } else {
                "Ethnic groups".into()
            },
            category: category.into(),
            count: Some(count),
            denominator: Some(1000.0),
            value: Some(count / 10.0),
            lower95: None,
            upper95: None,
            lower998: None,
            upper998: None,
            note: None,
            compared_to_england: None,
            compared_to_parent: None,
            recent_trend: None,
        }
    }

    #[test]
    fn a_lone_small_cell_takes_its_smallest_sibling_with_it() {
        let mut cells = vec![
            cell("Persons", "", 60.0),
            cell("Persons", "A", 3.0),
            cell("Persons", "B", 20.0),
            cell("Persons", "C", 37.0),
        ];
        let (primary, secondary) = suppress(
            &mut cells,
            "1",
            Disclosure { min: 1.0, max: 4.0 },
            &AreaFamilies::default(),
        );
        assert_eq!((primary, secondary), (1, 1));
        assert!(cells[1].value.is_none() && cells[2].value.is_none());
        assert_eq!(cells[2].note.as_deref(), Some(SUPPRESSED));
        assert_eq!(cells[3].count, Some(37.0));
        assert_eq!(cells[0].count, Some(60.0));
    }

    #[test]
    fn male_and_female_make_persons() {
        let mut cells = vec![
            cell("Persons", "", 12.0),
            cell("Male", "", 2.0),
            cell("Female", "", 10.0),
        ];
        let (primary, secondary) = suppress(
            &mut cells,
            "1",
            Disclosure { min: 1.0, max: 4.0 },
            &AreaFamilies::default(),
        );
        assert_eq!((primary, secondary), (1, 1));
        assert!(cells[2].count.is_none());
    }

    #[test]
    fn two_small_cells_need_no_more() {
        let mut cells = vec![
            cell("Persons", "A", 3.0),
            cell("Persons", "B", 2.0),
            cell("Persons", "C", 50.0),
        ];
        assert_eq!(
            suppress(
                &mut cells,
                "1",
                Disclosure { min: 1.0, max: 4.0 },
                &AreaFamilies::default(),
            ),
            (2, 0)
        );
        assert_eq!(cells[2].count, Some(50.0));
    }

    #[test]
    fn a_lone_small_child_area_takes_its_smallest_sibling_with_it() {
        let ward = AreaCode::parse("E05000819").unwrap();
        let lsoas: Vec<AreaCode> = ["E01006074", "E01006075", "E01006076"]
            .iter()
            .map(|c| AreaCode::parse(c).unwrap())
            .collect();
        let links: Vec<AreaLink> = lsoas
            .iter()
            .map(|&child| AreaLink {
                child,
                parent: ward,
                level: syndemic_model::Level::Ward,
                vintage: "2019".into(),
            })
            .collect();
        let families = AreaFamilies::from_links(&links);
        let at = |area: AreaCode, count: f64| Observation {
            area,
            ..cell("Persons", "", count)
        };
        let rule = Disclosure { min: 1.0, max: 4.0 };
        let mut cells = vec![
            at(ward, 40.0),
            at(lsoas[0], 3.0),
            at(lsoas[1], 25.0),
            at(lsoas[2], 12.0),
        ];
        assert_eq!(suppress(&mut cells, "1", rule, &families), (1, 1));
        assert!(cells[3].count.is_none(), "the smallest sibling goes too");
        assert_eq!(cells[2].count, Some(25.0));
        // Without the ward's own cell there is no total to subtract from.
        let mut cells = vec![at(lsoas[0], 3.0), at(lsoas[1], 25.0), at(lsoas[2], 12.0)];
        assert_eq!(suppress(&mut cells, "1", rule, &families), (1, 0));
        // A cell stored withheld (a survey's small area with 3 answers, its count
        // 8 outside the rule) still takes its smallest sibling with it.
        let mut stored = at(lsoas[0], 8.0);
        withhold(&mut stored);
        let mut cells = vec![
            at(ward, 45.0),
            stored,
            at(lsoas[1], 25.0),
            at(lsoas[2], 12.0),
        ];
        assert_eq!(suppress(&mut cells, "1", rule, &families), (1, 1));
        assert!(cells[3].count.is_none() && cells[3].value.is_none());
        assert_eq!(cells[2].count, Some(25.0));
    }

    #[test]
    fn a_community_place_is_a_total_of_its_small_areas_but_not_a_part_of_a_set() {
        let district = AreaCode::parse("E08000009").unwrap();
        let place = AreaCode::community(1).unwrap();
        let other = AreaCode::community(2).unwrap();
        let lsoas: Vec<AreaCode> = ["E01006074", "E01006075", "E01006076"]
            .iter()
            .map(|c| AreaCode::parse(c).unwrap())
            .collect();
        // As the store gives them: each place's small areas (level and vintage
        // `community`), and each place linked to its district.
        let mut links: Vec<AreaLink> = lsoas
            .iter()
            .map(|&child| AreaLink {
                child,
                parent: place,
                level: syndemic_model::Level::Community,
                vintage: "community".into(),
            })
            .collect();
        for p in [place, other] {
            links.push(AreaLink {
                child: p,
                parent: district,
                level: syndemic_model::Level::LowerTierAuthority,
                vintage: "community".into(),
            });
        }
        let families = AreaFamilies::from_links(&links);
        let at = |area: AreaCode, count: f64| Observation {
            area,
            ..cell("Persons", "", count)
        };
        let rule = Disclosure { min: 1.0, max: 4.0 };
        // The place's total less its other small areas would reveal the small one.
        let mut cells = vec![
            at(place, 40.0),
            at(lsoas[0], 3.0),
            at(lsoas[1], 25.0),
            at(lsoas[2], 12.0),
        ];
        assert_eq!(suppress(&mut cells, "1", rule, &families), (1, 1));
        assert!(cells[3].count.is_none(), "the smallest sibling goes too");
        // The district's community places do not add up to it: a small place
        // takes no other place with it.
        let mut cells = vec![at(district, 900.0), at(place, 3.0), at(other, 50.0)];
        assert_eq!(suppress(&mut cells, "1", rule, &families), (1, 0));
        assert_eq!(cells[2].count, Some(50.0));
    }
}

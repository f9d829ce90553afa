//! The record-level release on the demo hub's year: 600 referrals, nearly all
//! unique as given on month, sector, decile, needs and urgency (548 of 600 on
//! their own; every one in a class under 5), released with no class under 5.
//! The fixture holds only those five fields (no person), taken from
//! `syndemic demo`'s store.

use std::collections::HashMap;

use syndemic_hub::release::{release, Quasi, Scheme, K};

fn demo() -> Vec<Quasi> {
    let text = include_str!("data/demo_quasi.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            // month,sector,decile,needs (quoted when more than one),urgency
            let (front, urgency) = line.rsplit_once(',').unwrap();
            let mut p = front.splitn(4, ',');
            let [month, sector, decile, needs] = [(); 4].map(|()| p.next().unwrap());
            let needs = needs.trim_matches('"');
            Quasi {
                year: month[..4].parse().unwrap(),
                month: month[5..7].parse().unwrap(),
                sector: sector.into(),
                decile: decile.parse().ok(),
                needs: needs.split(',').map(str::to_owned).collect(),
                urgency: urgency.into(),
            }
        })
        .collect()
}

#[test]
fn the_demo_hubs_year_is_released_with_no_class_under_five() {
    let rows = demo();
    assert_eq!(rows.len(), 600);
    let mut finest: HashMap<_, usize> = HashMap::new();
    for q in &rows {
        *finest.entry(Scheme::default().apply(q)).or_default() += 1;
    }
    let unique = rows
        .iter()
        .filter(|q| finest[&Scheme::default().apply(q)] == 1)
        .count();
    assert!(unique > 500, "as given, {unique} of 600 stand alone");
    let r = release(&rows, K);
    let mut classes: HashMap<_, usize> = HashMap::new();
    for row in r.rows.iter().flatten() {
        *classes.entry(row.clone()).or_default() += 1;
    }
    assert!(classes.values().all(|&n| n >= K), "{classes:?}");
    assert!(r.suppressed <= 30, "{} withheld", r.suppressed);
    assert!(!classes.is_empty());
    eprintln!(
        "demo: scheme {:?}, {} classes, {} of 600 withheld",
        r.scheme,
        classes.len(),
        r.suppressed
    );
}

//! Reach by deprivation: how many of each IMD decile's residents the hub reached,
//! per 1,000, so a commissioner sees whether help goes where need is.
//!
//! The catchment is a set of small areas, each with its national IMD decile and
//! its resident population. A decile's rate is the hub's referrals from that
//! decile's areas of the catchment per 1,000 of their residents, with the exact
//! Poisson interval below 10 referrals and Byar's approximation from 10
//! (`syndemic_stats::rate`; Breslow & Day, *Statistical Methods in Cancer
//! Research* II, 1987, §2.3) — referrals treated as events in a population, as
//! crude rates of service use are in public-health practice. A referral whose
//! area lies outside the catchment, or that has no area, is counted apart and in
//! no decile.

use std::collections::BTreeMap;

use syndemic_stats::rate::rate;
use syndemic_stats::{ConfidenceLevel, StatsError};

/// One small area of the catchment.
#[derive(Debug, Clone, PartialEq)]
pub struct CatchmentArea<'a> {
    pub code: &'a str,
    /// National IMD decile, 1 = the most deprived tenth of England.
    pub decile: i64,
    pub population: f64,
}

/// One decile's reach.
#[derive(Debug, Clone, PartialEq)]
pub struct DecileReach {
    pub decile: i64,
    /// Small areas of the catchment in the decile.
    pub areas: usize,
    pub population: f64,
    pub referrals: usize,
    /// Referrals per 1,000 residents, with its 95 % interval.
    pub per_1000: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Reach across the catchment's deciles.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// The deciles the catchment has, most deprived first.
    pub deciles: Vec<DecileReach>,
    /// Referrals from areas outside the catchment.
    pub outside: usize,
    /// Referrals with no area.
    pub unlocated: usize,
}

/// Reach of the referrals whose areas are `referred` (one entry per referral)
/// across `catchment`. Areas without a population count as none.
pub fn reach<'a>(
    catchment: &[CatchmentArea<'_>],
    referred: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<Reach, StatsError> {
    let decile_of: std::collections::HashMap<&str, i64> =
        catchment.iter().map(|a| (a.code, a.decile)).collect();
    let mut by: BTreeMap<i64, (usize, f64, usize)> = BTreeMap::new();
    for a in catchment {
        let e = by.entry(a.decile).or_default();
        e.0 += 1;
        if a.population.is_finite() && a.population > 0.0 {
            e.1 += a.population;
        }
    }
    let (mut outside, mut unlocated) = (0, 0);
    for r in referred {
        match r {
            None => unlocated += 1,
            Some(code) => match decile_of.get(code) {
                Some(d) => by.entry(*d).or_default().2 += 1,
                None => outside += 1,
            },
        }
    }
    let events: Vec<Option<f64>> = by.values().map(|(_, _, n)| Some(*n as f64)).collect();
    let people: Vec<Option<f64>> = by
        .values()
        .map(|(_, p, _)| (*p > 0.0).then_some(*p))
        .collect();
    let levels = [ConfidenceLevel::new(95.0)?];
    let e = rate(&events, &people, 1000.0, &levels)?;
    let deciles = by
        .into_iter()
        .enumerate()
        .map(
            |(i, (decile, (areas, population, referrals)))| DecileReach {
                decile,
                areas,
                population,
                referrals,
                per_1000: e.value[i],
                lower: e.lower[0][i],
                upper: e.upper[0][i],
            },
        )
        .collect();
    Ok(Reach {
        deciles,
        outside,
        unlocated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn area(code: &str, decile: i64, population: f64) -> CatchmentArea<'_> {
        CatchmentArea {
            code,
            decile,
            population,
        }
    }

    #[test]
    fn referrals_per_thousand_residents_of_each_decile() {
        let catchment = [
            area("A", 1, 1500.0),
            area("B", 1, 1500.0),
            area("C", 5, 2000.0),
            area("D", 10, 4000.0),
        ];
        let mut referred: Vec<Option<&str>> = vec![Some("A"); 12];
        referred.extend([Some("B"); 3]);
        referred.extend([Some("C"); 2]);
        referred.extend([Some("Z"), None, None]);
        let r = reach(&catchment, referred).unwrap();
        assert_eq!((r.outside, r.unlocated), (1, 2));
        let d1 = &r.deciles[0];
        assert_eq!((d1.decile, d1.areas, d1.referrals), (1, 2, 15));
        assert_eq!(d1.population, 3000.0);
        assert!((d1.per_1000.unwrap() - 5.0).abs() < 1e-12);
        // Byar's 95 % limits for 15 events in 3,000 people, per 1,000 (hand-worked:
        // 15·(1 − 1/135 − z/(3·√15))³ = 8.38926…, 16·(1 − 1/144 + z/(3·√16))³ =
        // 24.74163…, with z = 1.959964).
        assert!((d1.lower.unwrap() - 8.389264 / 3.0).abs() < 1e-6, "{d1:?}");
        assert!((d1.upper.unwrap() - 24.741631 / 3.0).abs() < 1e-6, "{d1:?}");
        // A decile with no referrals has a rate of 0 and an upper limit above it.
        let d10 = &r.deciles[2];
        assert_eq!((d10.decile, d10.referrals), (10, 0));
        assert_eq!(d10.per_1000, Some(0.0));
        assert!(d10.upper.unwrap() > 0.0);
    }

    proptest! {
        #[test]
        fn every_interval_holds_its_rate(
            pops in proptest::collection::vec(1.0f64..100_000.0, 1..10),
            hits in proptest::collection::vec(0usize..200, 1..10),
        ) {
            let codes: Vec<String> = (0..pops.len()).map(|i| format!("L{i}")).collect();
            let catchment: Vec<CatchmentArea> = codes
                .iter()
                .zip(&pops)
                .enumerate()
                .map(|(i, (c, p))| area(c, (i % 10) as i64 + 1, *p))
                .collect();
            let referred: Vec<Option<&str>> = hits
                .iter()
                .enumerate()
                .flat_map(|(i, n)| std::iter::repeat_n(codes.get(i).map(String::as_str), *n))
                .collect();
            let r = reach(&catchment, referred).unwrap();
            for d in &r.deciles {
                let (v, l, u) = (d.per_1000.unwrap(), d.lower.unwrap(), d.upper.unwrap());
                prop_assert!(l.is_finite() && u.is_finite() && !v.is_nan());
                prop_assert!(l <= v + 1e-9 && v <= u + 1e-9, "{d:?}");
            }
        }
    }
}

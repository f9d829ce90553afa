//! Properties every method must keep for any valid input: the interval holds the
//! estimate, widens with the level, stays in range, and is never NaN or infinite.

use proptest::prelude::*;
use syndemic_stats::dsr::{dsr, DsrInput};
use syndemic_stats::isr::{isr, IsrInput, IsrKind};
use syndemic_stats::life_expectancy::{life_expectancy, AgeBands, AtAges, LifeTableInput};
use syndemic_stats::mean::mean_grouped;
use syndemic_stats::proportion::proportion;
use syndemic_stats::quantile::{quantiles, Invert};
use syndemic_stats::rate::rate;
use syndemic_stats::{ConfidenceLevel, Estimates};

fn levels() -> Vec<ConfidenceLevel> {
    [90.0, 95.0, 99.0, 99.8]
        .iter()
        .map(|&l| ConfidenceLevel::new(l).unwrap())
        .collect()
}

/// Holds, widens with the level, finite.
fn check_nested(est: &Estimates, i: usize) -> Result<(), TestCaseError> {
    let v = est.value[i].expect("a value");
    prop_assert!(v.is_finite());
    let mut prev: Option<(f64, f64)> = None;
    for l in 0..est.levels.len() {
        let lo = est.lower[l][i].expect("lower");
        let hi = est.upper[l][i].expect("upper");
        prop_assert!(lo.is_finite() && hi.is_finite(), "level {l}: {lo} {hi}");
        prop_assert!(lo <= v && v <= hi, "level {l}: {lo} <= {v} <= {hi}");
        if let Some((plo, phi)) = prev {
            prop_assert!(
                lo <= plo && hi >= phi,
                "level {l} not wider: ({lo}, {hi}) vs ({plo}, {phi})"
            );
        }
        prev = Some((lo, hi));
    }
    Ok(())
}

proptest! {
    #[test]
    fn proportions_hold_widen_and_stay_in_range(n in 1u32..1_000_000, frac in 0.0f64..=1.0, m in prop::sample::select(vec![1.0, 100.0, 1000.0])) {
        let x = (f64::from(n) * frac).floor();
        let est = proportion(&[Some(x)], &[Some(f64::from(n))], m, &levels()).unwrap();
        check_nested(&est, 0)?;
        for l in 0..4 {
            prop_assert!(est.lower[l][0].unwrap() >= -1e-12 * m);
            prop_assert!(est.upper[l][0].unwrap() <= m * (1.0 + 1e-12));
        }
    }

    #[test]
    fn rates_hold_and_widen(x in 0u32..100_000, n in 1u32..10_000_000) {
        let est = rate(&[Some(f64::from(x))], &[Some(f64::from(n))], 100_000.0, &levels()).unwrap();
        check_nested(&est, 0)?;
    }

    #[test]
    fn one_band_dsr_equals_the_crude_rate(x in 10u32..50_000, n in 1u32..5_000_000, w in 1u32..100_000) {
        let (xf, nf) = (f64::from(x), f64::from(n.max(x)));
        let input = DsrInput {
            groups: &[0], n_groups: 1, count: &[Some(xf)], population: &[Some(nf)],
            standard: &[Some(f64::from(w))], multiplier: 100_000.0, non_independent: None,
        };
        let (_, est) = dsr(&input, &levels()).unwrap();
        let crude = xf / nf * 100_000.0;
        prop_assert!((est.value[0].unwrap() - crude).abs() <= 1e-9 * crude);
        check_nested(&est, 0)?;
    }

    #[test]
    fn dsrs_hold_and_widen(bands in prop::collection::vec((5u32..500, 100u32..20_000, 100u32..10_000), 2..19)) {
        let count: Vec<_> = bands.iter().map(|b| Some(f64::from(b.0))).collect();
        let pop: Vec<_> = bands.iter().map(|b| Some(f64::from(b.1))).collect();
        let std: Vec<_> = bands.iter().map(|b| Some(f64::from(b.2))).collect();
        let groups = vec![0; bands.len()];
        let input = DsrInput { groups: &groups, n_groups: 1, count: &count, population: &pop, standard: &std, multiplier: 100_000.0, non_independent: None };
        let (_, est) = dsr(&input, &levels()).unwrap();
        // The Dobson lower limit may go below zero (the reference keeps it); it still nests.
        check_nested(&est, 0)?;
    }

    #[test]
    fn means_hold_and_widen(values in prop::collection::vec(-1e6f64..1e6, 2..200)) {
        let x: Vec<_> = values.iter().map(|&v| Some(v)).collect();
        let (_, est) = mean_grouped(&vec![0; x.len()], 1, &x, &levels()).unwrap();
        check_nested(&est, 0)?;
    }

    #[test]
    fn isrs_hold_and_widen(bands in prop::collection::vec((0u32..300, 100u32..20_000, 1u32..5_000, 10_000u32..1_000_000), 1..19)) {
        prop_assume!(bands.iter().map(|b| b.0).sum::<u32>() > 0);
        let c = |f: fn(&(u32, u32, u32, u32)) -> u32| bands.iter().map(|b| Some(f64::from(f(b)))).collect::<Vec<_>>();
        let (count, pop, refc, refp) = (c(|b| b.0), c(|b| b.1), c(|b| b.2), c(|b| b.3));
        let groups = vec![0; bands.len()];
        for kind in [IsrKind::Ratio { ref_value: 100.0 }, IsrKind::Rate { multiplier: 100_000.0, ref_rate: None }] {
            let input = IsrInput { groups: &groups, n_groups: 1, count: &count, population: &pop, ref_count: &refc, ref_population: &refp, observed_totals: None, kind };
            let (_, est) = isr(&input, &levels()).unwrap();
            check_nested(&est, 0)?;
        }
    }

    #[test]
    fn life_expectancy_plus_age_never_decreases(scale in 0.3f64..3.0, pop in 2_000u32..50_000) {
        // A plausible mortality schedule scaled up or down, deaths in every band.
        let bands = AgeBands::reference();
        let rates = [4.0, 0.15, 0.08, 0.1, 0.25, 0.4, 0.5, 0.6, 0.8, 1.1, 1.7, 2.6, 4.0, 6.5, 10.0, 16.0, 27.0, 47.0, 85.0, 180.0];
        let p = f64::from(pop);
        let deaths: Vec<_> = rates.iter().map(|r| Some((p * r / 1000.0 * scale).round().max(1.0))).collect();
        let pops = vec![Some(p); 20];
        let input = LifeTableInput { groups: &[0; 20], n_groups: 1, start_age: bands.starts(), deaths: &deaths, population: &pops, bands: &bands };
        let le = life_expectancy(&input, &AtAges::All, &levels()).unwrap();
        let mut previous = f64::NEG_INFINITY;
        for i in 0..20 {
            let lower = le.estimates.lower[0][i].unwrap();
            let upper = le.estimates.upper[0][i].unwrap();
            prop_assert!(lower.is_finite() && upper.is_finite());
            if let Some(e) = le.estimates.value[i] {
                prop_assert!(lower <= e && e <= upper);
                let reached = e + le.start_age[i];
                prop_assert!(reached >= previous - 1e-9, "age {}: {reached} < {previous}", le.start_age[i]);
                previous = reached;
            }
        }
    }

    #[test]
    fn quantiles_are_in_range_and_ordered(values in prop::collection::vec(-1e3f64..1e3, 10..300), n in 2u32..11, invert: bool) {
        let x: Vec<_> = values.iter().map(|&v| Some(v)).collect();
        let q = quantiles(&vec![0; x.len()], 1, &x, n, Invert::All(invert)).unwrap();
        for i in 0..x.len() {
            let qi = q.quantile[i].unwrap();
            prop_assert!((1..=n).contains(&qi));
            for j in 0..x.len() {
                let (a, b) = if invert { (values[j], values[i]) } else { (values[i], values[j]) };
                if a < b {
                    prop_assert!(qi <= q.quantile[j].unwrap());
                }
            }
        }
    }
}

#[test]
fn sii_limits_are_reproducible_and_hold_the_estimate() {
    use syndemic_stats::sii::{sii, SiiInput, SiiOptions};
    let q: Vec<_> = (1..=10).map(|q| Some(f64::from(q))).collect();
    let pop = vec![Some(10_000.0); 10];
    let value: Vec<_> = (1..=10).map(|q| Some(75.0 + f64::from(q) * 0.8)).collect();
    let se = vec![Some(0.5); 10];
    let groups = vec![0; 10];
    let input = SiiInput {
        groups: &groups,
        n_groups: 1,
        quantile: &q,
        population: &pop,
        value: &value,
        se: Some(&se),
        limits: None,
    };
    let opts = SiiOptions {
        repetitions: 5_000,
        seed: 42,
        ..SiiOptions::default()
    };
    let a = sii(&input, &opts, &levels()).unwrap();
    let b = sii(&input, &opts, &levels()).unwrap();
    assert_eq!(a, b, "the same seed gives the same limits");
    let c = sii(&input, &SiiOptions { seed: 43, ..opts }, &levels()).unwrap();
    assert_ne!(a.sii.lower, c.sii.lower, "another seed gives other draws");
    // The point SII of a straight line of slope 0.8 per decile is 8 across the gradient.
    assert!((a.sii.value[0].unwrap() - 8.0).abs() < 1e-9);
    let est = &a.sii;
    let mut prev = (f64::INFINITY, f64::NEG_INFINITY);
    for l in 0..4 {
        let (lo, hi) = (est.lower[l][0].unwrap(), est.upper[l][0].unwrap());
        assert!(lo <= 8.0 && 8.0 <= hi);
        assert!(lo <= prev.0 && hi >= prev.1);
        prev = (lo, hi);
    }
}

proptest! {
    /// The line drawn under a deprivation chart is the SII's own fit: its slope is
    /// the SII (multiplier 1, untransformed) and its midpoints rise from 0 to 1.
    #[test]
    fn gradient_line_is_the_sii_fit(
        pops in prop::collection::vec(100.0f64..100_000.0, 5..=10),
        values in prop::collection::vec(1.0f64..500.0, 10),
    ) {
        use syndemic_stats::sii::{gradient_line, sii, SiiInput, SiiOptions};
        let q = pops.len();
        let values = &values[..q];
        let line = gradient_line(&pops, values).expect("a line");
        prop_assert!(line.midpoints.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(line.midpoints[0] > 0.0 && line.midpoints[q - 1] < 1.0);
        let quantile: Vec<_> = (1..=q).map(|j| Some(j as f64)).collect();
        let input = SiiInput {
            groups: &vec![0; q],
            n_groups: 1,
            quantile: &quantile,
            population: &pops.iter().map(|&p| Some(p)).collect::<Vec<_>>(),
            value: &values.iter().map(|&v| Some(v)).collect::<Vec<_>>(),
            se: Some(&vec![Some(1.0); q]),
            limits: None,
        };
        let fit = sii(&input, &SiiOptions { repetitions: 1_000, ..SiiOptions::default() }, &levels()).unwrap();
        let s = fit.sii.value[0].unwrap();
        prop_assert!((line.slope - s).abs() <= 1e-9 * s.abs().max(1.0), "{} vs {s}", line.slope);
        prop_assert!((line.intercept - fit.intercept[0].unwrap()).abs() <= 1e-9 * line.intercept.abs().max(1.0));
    }
}

#[test]
fn gradient_line_refuses_what_it_cannot_fit() {
    use syndemic_stats::sii::gradient_line;
    assert!(gradient_line(&[1.0], &[2.0]).is_none());
    assert!(gradient_line(&[1.0, 0.0], &[2.0, 3.0]).is_none());
    assert!(gradient_line(&[1.0, 1.0], &[2.0, f64::NAN]).is_none());
    assert!(gradient_line(&[1.0, 1.0], &[2.0]).is_none());
    let flat = gradient_line(&[1.0, 3.0], &[5.0, 5.0]).unwrap();
    assert_eq!((flat.intercept, flat.slope), (5.0, 0.0));
    assert_eq!(flat.midpoints, [0.125, 0.625]);
}

proptest! {
    /// The trend of values with limits: never NaN for valid points; a series read
    /// backwards has the same statistic and the opposite direction.
    #[test]
    fn value_trends_are_finite_and_symmetric_in_time(
        values in prop::collection::vec(1.0f64..1_000.0, 5..=8),
        widths in prop::collection::vec(0.1f64..100.0, 8),
    ) {
        use syndemic_stats::compare::{recent_trend_of_values, Polarity, Trend};
        let points: Vec<(f64, f64, f64)> = values
            .iter()
            .zip(&widths)
            .map(|(&v, &w)| (v, v - w, v + w * 1.5))
            .collect();
        let t = recent_trend_of_values(&points, 99.9, Polarity::LowerIsBetter);
        let chi = t.chi_square.expect("a statistic");
        prop_assert!(chi.is_finite() && chi >= 0.0);
        prop_assert!(t.trend != Trend::CannotBeCalculated);
        let last: Vec<(f64, f64, f64)> = points[points.len() - 5..].iter().rev().copied().collect();
        let back = recent_trend_of_values(&last, 99.9, Polarity::LowerIsBetter);
        prop_assert!((back.chi_square.unwrap() - chi).abs() <= 1e-9 * chi.max(1.0));
        let flipped = match t.trend {
            Trend::Increasing => Trend::Decreasing,
            Trend::Decreasing => Trend::Increasing,
            other => other,
        };
        prop_assert_eq!(back.trend, flipped);
    }
}

//! Summaries of small-area deprivation for larger areas, as the Ministry of
//! Housing, Communities and Local Government computes them for the English Indices
//! of Deprivation, and local quantiles of small areas within a parent area.
//!
//! Source: MHCLG, *The English Indices of Deprivation 2019: Technical report*,
//! section 3.6 "Summary measures for higher-level geographies", and the published
//! File 10 (local authority district summaries).

use crate::error::StatsError;
use crate::quantile::{quantiles, Invert};

/// One small area (LSOA) of a larger area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmallArea {
    /// National rank, 1 = most deprived. Ranks may tie.
    pub rank: f64,
    /// National decile as published, 1 = most deprived 10 %.
    pub decile: u8,
    /// Score where the edition publishes one (IoD2025 does; IoD2019's File 1 does not).
    pub score: Option<f64>,
    /// Population used as the weight (IoD2019: mid-2015 total, File 6).
    pub population: f64,
}

/// The summary measures of one larger area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub small_areas: usize,
    pub population: f64,
    /// Population-weighted average of the reversed ranks `N + 1 − rank`, so that, as
    /// in MHCLG's File 10, a higher average rank means more deprived:
    /// `Σ pᵢ (N + 1 − rᵢ) / Σ pᵢ`.
    pub average_rank: f64,
    /// Population-weighted average score `Σ pᵢ sᵢ / Σ pᵢ`, when every small area has
    /// a score.
    pub average_score: Option<f64>,
    /// Share of the small areas in the most deprived 10 % nationally (decile 1).
    pub proportion_most_deprived_10: f64,
    /// Extent: the share of the population living in the most deprived 30 % of small
    /// areas, weighted 1 in national percentiles 1–10 and `(31 − c) / 21` in
    /// percentiles c = 11–30 (0.95 down to 0.05), where `c = ⌈100 rᵢ / N⌉`.
    pub extent: f64,
}

/// Summarises the small areas of one larger area, out of `national_count` small
/// areas in the country (N; 32,844 LSOAs for IoD2019). Errors on an empty area, a
/// population that is negative or not finite, a zero total population, or a rank
/// outside 1..=N.
pub fn summarise(areas: &[SmallArea], national_count: usize) -> Result<Summary, StatsError> {
    if areas.is_empty() {
        return Err(StatsError::Parameter("no small areas to summarise".into()));
    }
    let n = national_count as f64;
    let mut population = 0.0;
    let mut weighted_rank = 0.0;
    let mut weighted_score = Some(0.0);
    let mut most_deprived = 0usize;
    let mut extent = 0.0;
    for a in areas {
        if !a.population.is_finite() || a.population < 0.0 {
            return Err(StatsError::Parameter(format!(
                "population {} is not a count",
                a.population
            )));
        }
        if !(1.0..=n).contains(&a.rank) {
            return Err(StatsError::Parameter(format!(
                "rank {} is outside 1..={national_count}",
                a.rank
            )));
        }
        population += a.population;
        weighted_rank += a.population * (n + 1.0 - a.rank);
        weighted_score = match (weighted_score, a.score) {
            (Some(total), Some(s)) if s.is_finite() => Some(total + a.population * s),
            _ => None,
        };
        if a.decile == 1 {
            most_deprived += 1;
        }
        let percentile = (100.0 * a.rank / n).ceil();
        let weight = if percentile <= 10.0 {
            1.0
        } else if percentile <= 30.0 {
            (31.0 - percentile) / 21.0
        } else {
            0.0
        };
        extent += a.population * weight;
    }
    if population <= 0.0 {
        return Err(StatsError::Parameter("the total population is zero".into()));
    }
    Ok(Summary {
        small_areas: areas.len(),
        population,
        average_rank: weighted_rank / population,
        average_score: weighted_score.map(|s| s / population),
        proportion_most_deprived_10: most_deprived as f64 / areas.len() as f64,
        extent: extent / population,
    })
}

/// Local quantiles: each small area's quantile (1 = most deprived) among the small
/// areas of its parent, by national rank, assigned exactly as
/// [`crate::quantile::quantiles`] assigns them (the PHEindicatormethods rule, ties to
/// the lower quantile). `parents[i]` is the parent index of area `i`.
pub fn local_quantiles(
    parents: &[u32],
    n_parents: usize,
    ranks: &[f64],
    n_quantiles: u32,
) -> Result<Vec<Option<u32>>, StatsError> {
    let values: Vec<Option<f64>> = ranks.iter().map(|&r| Some(r)).collect();
    Ok(quantiles(parents, n_parents, &values, n_quantiles, Invert::All(false))?.quantile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(rank: f64, decile: u8, population: f64) -> SmallArea {
        SmallArea {
            rank,
            decile,
            score: Some(rank / 100.0),
            population,
        }
    }

    #[test]
    fn weighted_by_population() {
        let s = summarise(&[area(1.0, 1, 100.0), area(100.0, 10, 300.0)], 100).unwrap();
        // Reversed ranks 100 and 1, weights 1 and 3.
        assert!((s.average_rank - (100.0 + 3.0) / 4.0).abs() < 1e-12);
        assert_eq!(s.proportion_most_deprived_10, 0.5);
        assert!((s.extent - 0.25).abs() < 1e-12);
        assert!((s.average_score.unwrap() - (0.01 * 100.0 + 1.0 * 300.0) / 400.0).abs() < 1e-12);
    }

    #[test]
    fn extent_slides_from_the_tenth_to_the_thirtieth_percentile() {
        let at = |rank| summarise(&[area(rank, 2, 1.0)], 100).unwrap().extent;
        assert_eq!(at(10.0), 1.0);
        assert!((at(11.0) - 20.0 / 21.0).abs() < 1e-12);
        assert!((at(30.0) - 1.0 / 21.0).abs() < 1e-12);
        assert_eq!(at(31.0), 0.0);
    }

    #[test]
    fn refuses_what_cannot_be_summarised() {
        assert!(summarise(&[], 10).is_err());
        assert!(summarise(&[area(11.0, 1, 1.0)], 10).is_err());
        assert!(summarise(&[area(1.0, 1, 0.0)], 10).is_err());
        assert!(summarise(&[area(1.0, 1, f64::NAN)], 10).is_err());
    }

    #[test]
    fn local_quintiles_within_parents() {
        // Parent 0 has ten areas; parent 1 has five, with a tie.
        let parents = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        let ranks = [
            5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 10.0, 4.0, 8.0, 6.0, 50.0, 10.0, 30.0, 30.0, 90.0,
        ];
        let q = local_quantiles(&parents, 2, &ranks, 5).unwrap();
        let q: Vec<u32> = q.into_iter().map(Option::unwrap).collect();
        assert_eq!(&q[..10], &[3, 1, 5, 2, 4, 1, 5, 2, 4, 3]);
        assert_eq!(&q[10..], &[4, 1, 2, 2, 5]);
    }
}

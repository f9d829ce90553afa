//! Comparisons with England and the parent, and recent trends, in the Fingertips wording.

use super::*;

/// The comparison with England where the store has no England value for the
/// period and sex (the counts are local and no benchmark was given).
pub const NO_ENGLAND_VALUE: &str = "No England value";

pub(super) fn judged(polarity: Option<Polarity>) -> Polarity {
    polarity.unwrap_or(Polarity::NoJudgement)
}

/// Fingertips' wording of a recent trend.
pub(super) fn trend_wording(trend: Trend, getting_better: Option<bool>) -> &'static str {
    match (trend, getting_better) {
        (Trend::Increasing, Some(true)) => "Increasing & getting better",
        (Trend::Increasing, Some(false)) => "Increasing & getting worse",
        (Trend::Increasing, None) => "Increasing",
        (Trend::Decreasing, Some(true)) => "Decreasing & getting better",
        (Trend::Decreasing, Some(false)) => "Decreasing & getting worse",
        (Trend::Decreasing, None) => "Decreasing",
        (Trend::NoSignificantChange, _) => "No significant change",
        (Trend::CannotBeCalculated, _) => "Cannot be calculated",
    }
}

/// The recent trend of each result as of its period over the last five periods of
/// the same area, group and sex up to and including it (fewer than five periods,
/// or five that are not consecutive single years — pooled years overlap — cannot be
/// calculated), tested at 99.9 % as Fingertips does: for crude rates
/// and proportions (`by_counts`) the chi-square test for trend in the counts out
/// of their denominators ([`recent_trend`]); for directly standardised rates a
/// weighted regression of the values, weighted by the variance their 95 % limits
/// imply ([`recent_trend_of_values`]; a period without limits — under 10 events —
/// cannot be calculated).
pub(super) fn recent_trends(
    observations: &mut [Observation],
    polarity: Option<Polarity>,
    by_counts: bool,
) {
    let polarity = judged(polarity);
    let mut series: FxHashMap<(AreaCode, &str, &str, &str), Vec<usize>> = FxHashMap::default();
    for (i, o) in observations.iter().enumerate() {
        series
            .entry((o.area, &o.category_type, &o.category, &o.sex))
            .or_default()
            .push(i);
    }
    let nan = f64::NAN;
    let mut trends: Vec<(usize, &'static str)> = Vec::with_capacity(observations.len());
    for members in series.into_values() {
        let mut members = members;
        members.sort_by_key(|&i| observations[i].period.sort_key());
        let points: Vec<(f64, f64, f64)> = members
            .iter()
            .map(|&i| {
                let o = &observations[i];
                if by_counts {
                    (o.count.unwrap_or(nan), o.denominator.unwrap_or(nan), nan)
                } else {
                    (
                        o.value.unwrap_or(nan),
                        o.lower95.unwrap_or(nan),
                        o.upper95.unwrap_or(nan),
                    )
                }
            })
            .collect();
        for (k, &i) in members.iter().enumerate() {
            // Fingertips tests only five consecutive single years (calendar or
            // financial): pooled, overlapping or broken series are not judged.
            let last: Vec<Period> = members[..=k]
                .iter()
                .rev()
                .take(5)
                .map(|&m| observations[m].period)
                .collect();
            if !consecutive_years(&last) {
                trends.push((i, trend_wording(Trend::CannotBeCalculated, None)));
                continue;
            }
            let t = if by_counts {
                let counts: Vec<(f64, f64)> = points[..=k].iter().map(|p| (p.0, p.1)).collect();
                recent_trend(&counts, 99.9, polarity)
            } else {
                recent_trend_of_values(&points[..=k], 99.9, polarity)
            };
            trends.push((i, trend_wording(t.trend, t.getting_better)));
        }
    }
    for (i, wording) in trends {
        observations[i].recent_trend = Some(wording.to_owned());
    }
}

/// Whether periods (newest first) are single years, all calendar or all
/// financial, one after another with no gap.
fn consecutive_years(newest_first: &[Period]) -> bool {
    let year = |p: &Period| match *p {
        Period::Year(y) => Some((y, false)),
        Period::FinancialYear(y) => Some((y, true)),
        _ => None,
    };
    newest_first
        .windows(2)
        .all(|w| match (year(&w[0]), year(&w[1])) {
            (Some((a, fa)), Some((b, fb))) => fa == fb && a == b + 1,
            _ => false,
        })
        && newest_first.iter().all(|p| year(p).is_some())
}

/// Each result against England's and against its parent's value of the same
/// period and sex, from its 95 % limits and the indicator's polarity (as Fingertips
/// compares): an LSOA or ward with its district, a district, county or combined
/// authority with its region, a region with England, a deprivation group with the whole of its area.
pub(super) fn compare_with_parents(
    observations: &mut [Observation],
    groups: &[Group],
    geography: &Geography,
    polarity: Option<Polarity>,
) {
    let polarity = judged(polarity);
    let mut parent_of: FxHashMap<AreaCode, AreaCode> = FxHashMap::default();
    for (i, lsoa) in geography.lsoa.iter().enumerate() {
        if let Some(d) = geography.district[i] {
            parent_of.insert(*lsoa, d);
            if let Some(w) = geography.ward[i] {
                parent_of.insert(w, d);
            }
            if let Some(r) = geography.region[i] {
                parent_of.insert(d, r);
                if let Some(c) = geography.county[i] {
                    parent_of.insert(c, r);
                }
                if let Some(c) = geography.combined[i] {
                    parent_of.insert(c, r);
                }
            }
        }
    }
    let mut totals: FxHashMap<(AreaCode, Period, String), Option<f64>> = FxHashMap::default();
    for o in observations.iter().filter(|o| o.category.is_empty()) {
        totals.insert((o.area, o.period, o.sex.clone()), o.value);
    }
    let england = groups
        .iter()
        .find(|g| g.grouping == Grouping::England)
        .map(|g| g.area);
    for (o, g) in observations.iter_mut().zip(groups) {
        let parent = match g.grouping {
            Grouping::England => None,
            Grouping::Region => england,
            Grouping::NationalDecile
            | Grouping::LocalQuintile
            | Grouping::CountyQuintile
            | Grouping::Target => Some(g.area),
            Grouping::Lsoa
            | Grouping::Ward
            | Grouping::District
            | Grouping::County
            | Grouping::CombinedAuthority => parent_of.get(&g.area).copied(),
        };
        let benchmark = |area: Option<AreaCode>| {
            area.and_then(|a| totals.get(&(a, o.period, o.sex.clone())).copied().flatten())
        };
        if g.grouping != Grouping::England {
            o.compared_to_england = Some(match benchmark(england) {
                // Never the area against itself, nor against a part of England
                // under England's name: see `coverage`.
                None => NO_ENGLAND_VALUE.to_owned(),
                Some(value) => compare(o.lower95, o.upper95, Some(value), polarity)
                    .wording()
                    .to_owned(),
            });
        }
        if parent.is_some() {
            let c = compare(o.lower95, o.upper95, benchmark(parent), polarity);
            o.compared_to_parent = Some(c.wording().to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_consecutive_single_years_are_judged() {
        let years = |ys: &[i32]| ys.iter().map(|&y| Period::Year(y)).collect::<Vec<_>>();
        assert!(consecutive_years(&years(&[2020, 2019, 2018, 2017, 2016])));
        assert!(!consecutive_years(&years(&[2020, 2019, 2017, 2016, 2015])));
        let financial: Vec<Period> = (2015..2020).rev().map(Period::FinancialYear).collect();
        assert!(consecutive_years(&financial));
        let mut mixed = financial.clone();
        mixed[2] = Period::Year(2017);
        assert!(!consecutive_years(&mixed));
        let pooled: Vec<Period> = (2015..2020)
            .rev()
            .map(|y| Period::Pooled {
                first: y - 2,
                last: y,
            })
            .collect();
        assert!(!consecutive_years(&pooled), "rolling pooled years overlap");
    }
}

//! Survey estimates: weights that make a sample's totals match the population
//! (raking), and proportions from weighted responses with an interval that
//! allows for the weighting.
//!
//! **Raking** (iterative proportional fitting; Deming & Stephan 1940, *On a
//! least squares adjustment of a sampled frequency table when the expected
//! marginal totals are known*, Ann. Math. Statist. 11:427–444; as `rake` in R's
//! `survey` package, Lumley 2010, *Complex Surveys*, §7.3). Each response starts
//! at weight 1 (or a design weight); then, variable by variable, every weight in
//! category `c` is multiplied by `T_c / Σ_{i∈c} w_i`, so that the weighted total
//! of `c` equals its margin `T_c`. Sweeps repeat until every category of every
//! variable is within the tolerance of its margin (relative: `|Σw/T − 1| ≤ tol`),
//! or the iterations run out (reported, never hidden).
//!
//! **Weighted proportion**. Each response `i` has weight `w_i` and `y_i ∈ {0, 1}`:
//! `p = Σ w_i y_i / Σ w_i`; Kish's effective sample size `n_eff = (Σ w_i)² / Σ w_i²`
//! (Kish 1965, *Survey Sampling*, §11.7); the design effect `n / n_eff`; and the
//! Wilson score interval ([`crate::proportion::wilson`]) with `n_eff` as the
//! denominator and `p · n_eff` as the numerator (Kott & Carr 1997; Dean & Pagano
//! 2015, *Evaluating confidence interval methods for binomial proportions in
//! clustered surveys*, J. Surv. Stat. Methodol. 3:484–503). With every weight 1,
//! `n_eff = n` and the result is the unweighted Wilson interval exactly.

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_levels, Estimates, Note, Row};
use crate::proportion::wilson;

/// One variable weights are raked to: each response's category (a dense id below
/// `totals.len()`) and each category's population total.
#[derive(Debug, Clone, Copy)]
pub struct Margin<'a> {
    pub categories: &'a [u32],
    pub totals: &'a [f64],
}

/// When raking stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RakeOptions {
    pub max_iterations: usize,
    /// The largest relative difference `|Σw/T − 1|` allowed in any category.
    pub tolerance: f64,
}

impl Default for RakeOptions {
    fn default() -> Self {
        RakeOptions {
            max_iterations: 100,
            tolerance: 1e-10,
        }
    }
}

/// Raked weights, and how the fitting went.
#[derive(Debug, Clone, PartialEq)]
pub struct Raked {
    pub weights: Vec<f64>,
    /// Full sweeps over the variables.
    pub iterations: usize,
    pub converged: bool,
    /// The largest relative difference from a margin after the last sweep.
    pub largest_error: f64,
}

/// Why raking was refused: which variable (0-based, in the order given) and
/// category, and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RakeError {
    #[error("variable {variable}: category {category} has respondents but no margin (its total is {total}); give it a population total, or merge it with another category")]
    NoMargin {
        variable: usize,
        category: usize,
        total: f64,
    },
    #[error("variable {variable}: category {category} has a margin of {total} but no respondents; merge it with a neighbouring category")]
    NoRespondents {
        variable: usize,
        category: usize,
        total: f64,
    },
    #[error("variable {variable}: category {category}'s margin {total} is not a total of people; give a number of 0 or more")]
    BadMargin {
        variable: usize,
        category: usize,
        total: f64,
    },
    #[error("variable {variable} has {given} category ids but there are {expected} responses")]
    Length {
        variable: usize,
        given: usize,
        expected: usize,
    },
    #[error("variable {variable}: response {} has category {category}, but only {categories} categories have margins", row + 1)]
    UnknownCategory {
        variable: usize,
        row: usize,
        category: u32,
        categories: usize,
    },
    #[error("the margins do not add up to the same population: variable 0 sums to {first}, variable {variable} to {total}; raking needs one population")]
    Inconsistent {
        variable: usize,
        first: f64,
        total: f64,
    },
    #[error("response {}'s starting weight {weight} is not above zero", row + 1)]
    BadStart { row: usize, weight: f64 },
    #[error("no variable to rake to")]
    NothingToRake,
}

/// Weights for `n` responses whose weighted totals equal every margin (see the
/// module's description). `start` gives design weights (1 each without).
pub fn rake(
    n: usize,
    margins: &[Margin<'_>],
    start: Option<&[f64]>,
    options: RakeOptions,
) -> Result<Raked, RakeError> {
    if margins.is_empty() {
        return Err(RakeError::NothingToRake);
    }
    let mut first_total = None;
    for (v, m) in margins.iter().enumerate() {
        if m.categories.len() != n {
            return Err(RakeError::Length {
                variable: v,
                given: m.categories.len(),
                expected: n,
            });
        }
        let mut respondents = vec![0usize; m.totals.len()];
        for (row, &c) in m.categories.iter().enumerate() {
            let slot = respondents
                .get_mut(c as usize)
                .ok_or(RakeError::UnknownCategory {
                    variable: v,
                    row,
                    category: c,
                    categories: m.totals.len(),
                })?;
            *slot += 1;
        }
        for (c, (&total, &count)) in m.totals.iter().zip(&respondents).enumerate() {
            if !(total.is_finite() && total >= 0.0) {
                return Err(RakeError::BadMargin {
                    variable: v,
                    category: c,
                    total,
                });
            }
            if count > 0 && total == 0.0 {
                return Err(RakeError::NoMargin {
                    variable: v,
                    category: c,
                    total,
                });
            }
            if count == 0 && total > 0.0 {
                return Err(RakeError::NoRespondents {
                    variable: v,
                    category: c,
                    total,
                });
            }
        }
        let total: f64 = m.totals.iter().sum();
        match first_total {
            None => first_total = Some(total),
            Some(first) => {
                if (total - first).abs() > 1e-9 * first.abs().max(1.0) {
                    return Err(RakeError::Inconsistent {
                        variable: v,
                        first,
                        total,
                    });
                }
            }
        }
    }
    let mut weights = match start {
        Some(s) => {
            if let Some((row, &weight)) = s
                .iter()
                .enumerate()
                .find(|(_, w)| !(w.is_finite() && **w > 0.0))
            {
                return Err(RakeError::BadStart { row, weight });
            }
            s.to_vec()
        }
        None => vec![1.0; n],
    };
    let mut sums: Vec<f64> = Vec::new();
    let mut largest_error = f64::INFINITY;
    let mut iterations = 0;
    while iterations < options.max_iterations {
        iterations += 1;
        for m in margins {
            sums.clear();
            sums.resize(m.totals.len(), 0.0);
            for (w, &c) in weights.iter().zip(m.categories) {
                sums[c as usize] += w;
            }
            let factors: Vec<f64> = m
                .totals
                .iter()
                .zip(&sums)
                .map(|(t, s)| if *s > 0.0 { t / s } else { 1.0 })
                .collect();
            for (w, &c) in weights.iter_mut().zip(m.categories) {
                *w *= factors[c as usize];
            }
        }
        largest_error = largest_error_of(&weights, margins);
        if largest_error <= options.tolerance {
            break;
        }
    }
    Ok(Raked {
        weights,
        iterations,
        converged: largest_error <= options.tolerance,
        largest_error,
    })
}

/// The largest relative difference between a weighted category total and its margin.
fn largest_error_of(weights: &[f64], margins: &[Margin<'_>]) -> f64 {
    let mut largest: f64 = 0.0;
    for m in margins {
        let mut sums = vec![0.0; m.totals.len()];
        for (w, &c) in weights.iter().zip(m.categories) {
            sums[c as usize] += w;
        }
        for (s, t) in sums.iter().zip(m.totals) {
            if *t > 0.0 {
                largest = largest.max((s / t - 1.0).abs());
            }
        }
    }
    largest
}

/// Each group's responses counted and their effective size.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// Responses counted (those with an answer).
    pub n: Vec<usize>,
    /// Kish's effective sample size, `(Σw)² / Σw²`.
    pub n_eff: Vec<f64>,
    /// `n / n_eff`.
    pub design_effect: Vec<Option<f64>>,
}

/// The weighted proportion per group (see the module's description), times
/// `multiplier`, with Wilson limits at each level on the effective sample size.
/// `y[i]` is 1 where response `i` has the attribute, 0 where not, `None` for no
/// answer (left out); every weight must be above zero. A group with no answer
/// is blank.
pub fn weighted_proportion_grouped(
    groups: &[u32],
    n_groups: usize,
    y: &[Option<f64>],
    weights: &[f64],
    multiplier: f64,
    levels: &[ConfidenceLevel],
) -> Result<(Effective, Estimates), StatsError> {
    if y.len() != groups.len() {
        return Err(StatsError::LengthMismatch(groups.len(), y.len()));
    }
    if weights.len() != groups.len() {
        return Err(StatsError::LengthMismatch(groups.len(), weights.len()));
    }
    check_levels(levels)?;
    // Per group: Σw, Σw², Σwy, responses.
    let mut sums = vec![[0.0f64; 3]; n_groups];
    let mut counted = vec![0usize; n_groups];
    for (row, ((&g, &answer), &w)) in groups.iter().zip(y).zip(weights).enumerate() {
        if g as usize >= n_groups {
            return Err(StatsError::GroupOutOfRange {
                row,
                id: g,
                n_groups,
            });
        }
        if !(w.is_finite() && w > 0.0) {
            return Err(StatsError::Invalid {
                row,
                field: Field::Weight,
                problem: Problem::OutOfRange {
                    value: w,
                    allowed: "a weight must be a number above zero",
                },
            });
        }
        let Some(answer) = answer else { continue };
        if answer != 0.0 && answer != 1.0 {
            return Err(StatsError::Invalid {
                row,
                field: Field::Numerator,
                problem: Problem::OutOfRange {
                    value: answer,
                    allowed: "a response is 1 (has the attribute) or 0 (has not)",
                },
            });
        }
        let s = &mut sums[g as usize];
        s[0] += w;
        s[1] += w * w;
        s[2] += w * answer;
        counted[g as usize] += 1;
    }
    let zs: Vec<f64> = levels.iter().map(|l| l.z()).collect();
    let mut est = Estimates {
        levels: levels.to_vec(),
        value: Vec::with_capacity(n_groups),
        lower: vec![Vec::with_capacity(n_groups); levels.len()],
        upper: vec![Vec::with_capacity(n_groups); levels.len()],
        note: Vec::with_capacity(n_groups),
    };
    let mut eff = Effective {
        n: counted.clone(),
        n_eff: Vec::with_capacity(n_groups),
        design_effect: Vec::with_capacity(n_groups),
    };
    for (g, [sw, sw2, swy]) in sums.into_iter().enumerate() {
        let mut row = Row::default();
        if counted[g] == 0 {
            row = Row::blank(Note::MissingInput);
            eff.n_eff.push(0.0);
            eff.design_effect.push(None);
        } else {
            let n_eff = sw * sw / sw2;
            // p·n_eff as Σwy · (n_eff / Σw): with unit weights the factor is
            // exactly 1, so the numerator is the count itself.
            let x_eff = swy * (n_eff / sw);
            row.value = Some(swy / sw * multiplier);
            for (slot, &z) in row.limits.iter_mut().zip(&zs) {
                let (lo, hi) = wilson(x_eff, n_eff, z);
                *slot = (Some(lo * multiplier), Some(hi * multiplier));
            }
            eff.n_eff.push(n_eff);
            eff.design_effect.push(Some(counted[g] as f64 / n_eff));
        }
        est.value.push(row.value);
        for (l, (lo, hi)) in row.limits.iter().take(levels.len()).enumerate() {
            est.lower[l].push(*lo);
            est.upper[l].push(*hi);
        }
        est.note.push(row.note);
    }
    Ok((eff, est))
}

/// One category of a representativeness table.
#[derive(Debug, Clone, PartialEq)]
pub struct Represented {
    /// Respondents in the category.
    pub respondents: f64,
    /// The category's share of respondents, `o / n`.
    pub sample_share: f64,
    /// The category's share of the population, `π = P / ΣP`.
    pub population_share: f64,
    /// Respondents expected were the sample like the population, `e = n·π`.
    pub expected: f64,
    /// `(o/n) / π`: above 1 over-represented, below 1 under-represented.
    pub ratio: f64,
    /// Haberman's adjusted residual `(o − e) / √(n·π·(1 − π))`: roughly standard
    /// normal if the sample were drawn from the population, so beyond ±1.96 the
    /// category is over- or under-represented at 95 %.
    pub adjusted_residual: f64,
}

/// Who answered against who lives there: per category, and Pearson's
/// chi-square goodness-of-fit test of the whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Representativeness {
    pub categories: Vec<Represented>,
    pub respondents: f64,
    /// `X² = Σ (o − e)² / e` over categories with population.
    pub chi_square: f64,
    /// Categories with population, less one.
    pub degrees_of_freedom: usize,
    /// `P(χ²_df ≥ X²)`: small means the respondents are unlike the population.
    pub p_value: f64,
    /// Cochran's rule for the chi-square approximation: no expected count below 1,
    /// and at most a fifth below 5. Where it fails, read the test with care.
    pub approximation_holds: bool,
}

/// Why a representativeness table cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RepresentError {
    #[error("{given} respondent counts for {expected} population counts")]
    Length { given: usize, expected: usize },
    #[error("category {category}: {value} is not a count of people; give a number of 0 or more")]
    BadCount { category: usize, value: f64 },
    #[error("category {category} has {respondents} respondents but no population; its population count is missing from the population table")]
    NoPopulation { category: usize, respondents: f64 },
    #[error("no respondents to compare")]
    NoRespondents,
    #[error("fewer than two categories have population; there is nothing to compare")]
    TooFewCategories,
}

/// Respondents per category (`observed`) against the population per category
/// (`population`): each category's shares, ratio and Haberman's adjusted
/// residual (Haberman 1973, *The analysis of residuals in cross-classified
/// tables*, Biometrics 29:205–220), and Pearson's chi-square goodness-of-fit
/// test, `X² = Σ (o − e)² / e` with `e = n·π`, on `K − 1` degrees of freedom
/// (Agresti 2013, *Categorical Data Analysis*, 3rd ed., §1.5), with Cochran's
/// (1954) rule for when its approximation holds. A category with no
/// population and no respondents is left out of the test.
pub fn representativeness(
    observed: &[f64],
    population: &[f64],
) -> Result<Representativeness, RepresentError> {
    if observed.len() != population.len() {
        return Err(RepresentError::Length {
            given: observed.len(),
            expected: population.len(),
        });
    }
    for (category, &value) in observed.iter().chain(population).enumerate() {
        if !(value.is_finite() && value >= 0.0) {
            return Err(RepresentError::BadCount {
                category: category % observed.len().max(1),
                value,
            });
        }
    }
    if let Some((category, &respondents)) = observed
        .iter()
        .enumerate()
        .find(|(c, o)| **o > 0.0 && population[*c] == 0.0)
    {
        return Err(RepresentError::NoPopulation {
            category,
            respondents,
        });
    }
    let n: f64 = observed.iter().sum();
    if n <= 0.0 {
        return Err(RepresentError::NoRespondents);
    }
    let total: f64 = population.iter().sum();
    let k = population.iter().filter(|p| **p > 0.0).count();
    if k < 2 {
        return Err(RepresentError::TooFewCategories);
    }
    let mut chi_square = 0.0;
    let (mut below_one, mut below_five) = (false, 0usize);
    let categories = observed
        .iter()
        .zip(population)
        .map(|(&o, &p)| {
            let share = p / total;
            let e = n * share;
            if p > 0.0 {
                chi_square += (o - e) * (o - e) / e;
                below_one |= e < 1.0;
                below_five += usize::from(e < 5.0);
            }
            let spread = (n * share * (1.0 - share)).sqrt();
            Represented {
                respondents: o,
                sample_share: o / n,
                population_share: share,
                expected: e,
                ratio: if p > 0.0 { (o / n) / share } else { 1.0 },
                adjusted_residual: if spread > 0.0 { (o - e) / spread } else { 0.0 },
            }
        })
        .collect();
    let degrees_of_freedom = k - 1;
    Ok(Representativeness {
        categories,
        respondents: n,
        chi_square,
        degrees_of_freedom,
        p_value: crate::dist::chisq_upper_tail(chi_square, degrees_of_freedom as f64),
        approximation_holds: !below_one && below_five * 5 <= k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proportion::proportion;
    use proptest::prelude::*;

    #[test]
    fn a_hand_checked_rake_of_two_variables() {
        // Four respondents: (sex, age) = (F, young), (F, old), (M, young), (M, young).
        // Margins: F 60, M 40; young 50, old 50. Sweep 1 on sex: F rows 30 each,
        // M rows 20 each; on age: young total 30+20+20 = 70 → ×50/70; old 30 → ×50/30.
        // The fixed point: the old woman carries all of "old" (50), so F's other
        // 10 is her young sister, and M's 40 the two young men, 20 each.
        let sex = [0, 0, 1, 1];
        let age = [0, 1, 0, 0];
        let margins = [
            Margin {
                categories: &sex,
                totals: &[60.0, 40.0],
            },
            Margin {
                categories: &age,
                totals: &[50.0, 50.0],
            },
        ];
        let r = rake(4, &margins, None, RakeOptions::default()).unwrap();
        assert!(r.converged, "{r:?}");
        for (got, want) in r.weights.iter().zip([10.0, 50.0, 20.0, 20.0]) {
            assert!((got - want).abs() < 1e-8, "{:?}", r.weights);
        }
    }

    #[test]
    fn margins_that_cannot_be_met_are_refused_by_name() {
        let sex = [0, 0, 1];
        let no_margin = rake(
            3,
            &[Margin {
                categories: &sex,
                totals: &[10.0, 0.0],
            }],
            None,
            RakeOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(no_margin, RakeError::NoMargin { category: 1, .. }));
        let nobody = rake(
            3,
            &[Margin {
                categories: &sex,
                totals: &[10.0, 5.0, 7.0],
            }],
            None,
            RakeOptions::default(),
        )
        .unwrap_err();
        assert!(nobody
            .to_string()
            .contains("category 2 has a margin of 7 but no respondents"));
        let age = [0, 1, 1];
        let two = rake(
            3,
            &[
                Margin {
                    categories: &sex,
                    totals: &[10.0, 5.0],
                },
                Margin {
                    categories: &age,
                    totals: &[10.0, 6.0],
                },
            ],
            None,
            RakeOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(two, RakeError::Inconsistent { variable: 1, .. }));
    }

    #[test]
    fn a_hand_checked_weighted_proportion() {
        // Weights 1, 2, 3, 4; answers 1, 0, 1, 1: p = 8/10; Σw² = 30, n_eff =
        // 100/30 = 3.333…; design effect 4/3.333… = 1.2; Wilson on 2.666… of 3.333….
        let (eff, est) = weighted_proportion_grouped(
            &[0, 0, 0, 0],
            1,
            &[Some(1.0), Some(0.0), Some(1.0), Some(1.0)],
            &[1.0, 2.0, 3.0, 4.0],
            100.0,
            &[ConfidenceLevel::P95],
        )
        .unwrap();
        assert!((est.value[0].unwrap() - 80.0).abs() < 1e-12);
        assert!((eff.n_eff[0] - 10.0 / 3.0).abs() < 1e-12);
        assert!((eff.design_effect[0].unwrap() - 1.2).abs() < 1e-12);
        let (lo, hi) = wilson(8.0 / 3.0, 10.0 / 3.0, ConfidenceLevel::P95.z());
        assert!((est.lower[0][0].unwrap() - 100.0 * lo).abs() < 1e-12);
        assert!((est.upper[0][0].unwrap() - 100.0 * hi).abs() < 1e-12);
        assert_eq!(eff.n[0], 4);
    }

    #[test]
    fn no_answer_is_left_out_and_a_bad_weight_or_answer_is_refused() {
        let (eff, est) = weighted_proportion_grouped(
            &[0, 0, 1],
            2,
            &[Some(1.0), None, None],
            &[2.0, 5.0, 1.0],
            1.0,
            &[ConfidenceLevel::P95],
        )
        .unwrap();
        assert_eq!(eff.n, [1, 0]);
        assert_eq!(est.value, [Some(1.0), None]);
        let bad = weighted_proportion_grouped(
            &[0],
            1,
            &[Some(1.0)],
            &[0.0],
            1.0,
            &[ConfidenceLevel::P95],
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("a weight must be a number above zero"));
        let bad = weighted_proportion_grouped(
            &[0],
            1,
            &[Some(2.0)],
            &[1.0],
            1.0,
            &[ConfidenceLevel::P95],
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("is 1 (has the attribute) or 0"));
    }

    proptest! {
        #[test]
        fn raked_margins_equal_their_targets(
            rows in proptest::collection::vec((0u32..3, 0u32..4, 0u32..2, 0.2f64..5.0), 12..200),
        ) {
            // Margins from a positive weighting that exists (each row's weight),
            // so raking has a solution to find.
            let vars: [Vec<u32>; 3] = [
                rows.iter().map(|r| r.0).collect(),
                rows.iter().map(|r| r.1).collect(),
                rows.iter().map(|r| r.2).collect(),
            ];
            let sizes = [3usize, 4, 2];
            let totals: Vec<Vec<f64>> = vars
                .iter()
                .zip(sizes)
                .map(|(v, k)| {
                    let mut t = vec![0.0; k];
                    for (c, r) in v.iter().zip(&rows) {
                        t[*c as usize] += r.3;
                    }
                    t
                })
                .collect();
            let margins: Vec<Margin> = vars
                .iter()
                .zip(&totals)
                .map(|(v, t)| Margin { categories: v, totals: t })
                .collect();
            let r = rake(rows.len(), &margins, None, RakeOptions { max_iterations: 2000, tolerance: 1e-12 }).unwrap();
            prop_assert!(r.weights.iter().all(|w| *w > 0.0 && w.is_finite()));
            prop_assert!(r.converged, "{:?}", r.largest_error);
            for m in &margins {
                let mut sums = vec![0.0; m.totals.len()];
                for (w, c) in r.weights.iter().zip(m.categories) {
                    sums[*c as usize] += w;
                }
                for (s, t) in sums.iter().zip(m.totals) {
                    prop_assert!((s - t).abs() <= 1e-9 * t.max(1.0), "{s} vs {t}");
                }
            }
        }

        #[test]
        fn unit_weights_give_todays_wilson_to_the_last_bit(
            answers in proptest::collection::vec(proptest::option::of(0u8..2), 1..300),
        ) {
            let y: Vec<Option<f64>> = answers.iter().map(|a| a.map(f64::from)).collect();
            let n = y.len();
            let levels = [ConfidenceLevel::P95, ConfidenceLevel::new(99.8).unwrap()];
            let (eff, weighted) = weighted_proportion_grouped(&vec![0; n], 1, &y, &vec![1.0; n], 100.0, &levels).unwrap();
            let x: f64 = y.iter().flatten().sum();
            let counted = y.iter().flatten().count();
            prop_assert!(eff.n_eff[0] <= eff.n[0] as f64 + 1e-9);
            if counted > 0 {
                let plain = proportion(&[Some(x)], &[Some(counted as f64)], 100.0, &levels).unwrap();
                prop_assert_eq!(weighted.value[0].map(f64::to_bits), plain.value[0].map(f64::to_bits));
                for l in 0..levels.len() {
                    prop_assert_eq!(weighted.lower[l][0].map(f64::to_bits), plain.lower[l][0].map(f64::to_bits));
                    prop_assert_eq!(weighted.upper[l][0].map(f64::to_bits), plain.upper[l][0].map(f64::to_bits));
                }
            }
        }

        #[test]
        fn the_interval_holds_the_estimate_and_n_eff_is_at_most_n(
            rows in proptest::collection::vec((0u8..2, 0.01f64..50.0), 1..300),
        ) {
            let y: Vec<Option<f64>> = rows.iter().map(|r| Some(f64::from(r.0))).collect();
            let w: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let n = rows.len();
            let levels = [ConfidenceLevel::new(90.0).unwrap(), ConfidenceLevel::P95, ConfidenceLevel::new(99.8).unwrap()];
            let (eff, est) = weighted_proportion_grouped(&vec![0; n], 1, &y, &w, 1.0, &levels).unwrap();
            prop_assert!(eff.n_eff[0] <= n as f64 * (1.0 + 1e-12));
            prop_assert!(eff.design_effect[0].unwrap() >= 1.0 - 1e-12);
            let p = est.value[0].unwrap();
            let mut width = 0.0;
            for l in 0..levels.len() {
                let (lo, hi) = (est.lower[l][0].unwrap(), est.upper[l][0].unwrap());
                prop_assert!(!lo.is_nan() && !hi.is_nan());
                prop_assert!(lo <= p + 1e-12 && p <= hi + 1e-12, "{lo} {p} {hi}");
                prop_assert!(hi - lo >= width - 1e-12, "wider with the level");
                width = hi - lo;
            }
        }
    }

    #[test]
    fn representativeness_by_hand() {
        // 100 respondents: 70 women, 30 men; the population is half and half.
        // e = 50 each; X² = 20²/50 + 20²/50 = 16 on 1 df, p = P(χ²₁ ≥ 16)
        // = 2·(1 − Φ(4)) = 6.334e-5; adjusted residual (70 − 50)/√(100·½·½) = 4.
        let r = representativeness(&[70.0, 30.0], &[5000.0, 5000.0]).unwrap();
        assert_eq!(r.degrees_of_freedom, 1);
        assert!((r.chi_square - 16.0).abs() < 1e-12);
        assert!(
            (r.p_value - 6.334_248_366_623_996e-5).abs() < 1e-12,
            "{}",
            r.p_value
        );
        assert!((r.categories[0].adjusted_residual - 4.0).abs() < 1e-12);
        assert!((r.categories[0].ratio - 1.4).abs() < 1e-12);
        assert!((r.categories[1].ratio - 0.6).abs() < 1e-12);
        assert!(r.approximation_holds);
        // A sample exactly like the population: X² = 0, p = 1.
        let same = representativeness(&[20.0, 30.0, 50.0], &[2.0, 3.0, 5.0]).unwrap();
        assert!(same.chi_square.abs() < 1e-12 && (same.p_value - 1.0).abs() < 1e-12);
        // Tiny expected counts: the approximation is flagged.
        let small = representativeness(&[3.0, 0.0, 1.0], &[10.0, 10.0, 80.0]).unwrap();
        assert!(!small.approximation_holds);
        assert!(matches!(
            representativeness(&[1.0, 2.0], &[0.0, 5.0]),
            Err(RepresentError::NoPopulation { category: 0, .. })
        ));
        assert!(representativeness(&[0.0, 0.0], &[1.0, 1.0]).is_err());
        assert!(representativeness(&[1.0, f64::NAN], &[1.0, 1.0]).is_err());
    }

    proptest! {
        #[test]
        fn representativeness_is_finite_and_consistent(
            cells in proptest::collection::vec((0u32..500, 1u32..100_000), 2..12)
        ) {
            let o: Vec<f64> = cells.iter().map(|c| f64::from(c.0)).collect();
            let p: Vec<f64> = cells.iter().map(|c| f64::from(c.1)).collect();
            prop_assume!(o.iter().sum::<f64>() > 0.0);
            let r = representativeness(&o, &p).unwrap();
            prop_assert!(r.chi_square.is_finite() && r.chi_square >= 0.0);
            prop_assert!((0.0..=1.0).contains(&r.p_value));
            let shares: f64 = r.categories.iter().map(|c| c.sample_share).sum();
            prop_assert!((shares - 1.0).abs() < 1e-9);
            let expected: f64 = r.categories.iter().map(|c| c.expected).sum();
            prop_assert!((expected - r.respondents).abs() < 1e-6 * r.respondents.max(1.0));
            for c in &r.categories {
                prop_assert!(c.ratio.is_finite() && c.adjusted_residual.is_finite());
            }
        }
    }
}

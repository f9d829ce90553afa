//! Slope and relative index of inequality.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::confidence::ConfidenceLevel;
use crate::error::{Field, Problem, StatsError};
use crate::estimate::{check_groups, check_levels, finite, same_len, Estimates, Note, Row};

/// The kind of value regressed, which sets the scale on which sampling error is
/// normal: as is, log (rates), or logit (proportions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Normal,
    Rate,
    Proportion,
}

impl ValueType {
    fn forward(self, y: f64) -> f64 {
        match self {
            ValueType::Normal => y,
            ValueType::Rate => y.ln(),
            ValueType::Proportion => (y / (1.0 - y)).ln(),
        }
    }

    fn back(self, t: f64) -> f64 {
        match self {
            ValueType::Normal => t,
            ValueType::Rate => t.exp(),
            ValueType::Proportion => 1.0 / (1.0 + (-t).exp()),
        }
    }
}

/// Options of [`sii`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiiOptions {
    pub value_type: ValueType,
    /// Fit the regression on the log/logit scale (not allowed for `Normal`).
    pub transform: bool,
    /// Scales the SII; a negative multiplier also inverts the RII.
    pub multiplier: f64,
    /// Simulations for the confidence limits (at least 1,000).
    pub repetitions: u32,
    /// Seed of the simulation: the same seed gives the same limits.
    pub seed: u64,
}

impl Default for SiiOptions {
    fn default() -> Self {
        SiiOptions {
            value_type: ValueType::Normal,
            transform: false,
            multiplier: 1.0,
            repetitions: 100_000,
            seed: 1,
        }
    }
}

/// Lower and upper 95 % limits, one per row.
pub type Limits<'a> = (&'a [Option<f64>], &'a [Option<f64>]);

/// Inputs of [`sii`]: one row per group × quantile.
#[derive(Debug, Clone, Copy)]
pub struct SiiInput<'a> {
    pub groups: &'a [u32],
    pub n_groups: usize,
    /// Quantile number, 1 = the first (e.g. most deprived) quantile.
    pub quantile: &'a [Option<f64>],
    pub population: &'a [Option<f64>],
    /// The indicator value of the quantile (a proportion as a fraction in [0, 1]).
    pub value: &'a [Option<f64>],
    /// Standard error on the transformed scale, or `None` to derive it from limits.
    pub se: Option<&'a [Option<f64>]>,
    /// 95 % limits of the value, used when `se` is absent.
    pub limits: Option<Limits<'a>>,
}

/// SII and RII per group with simulated limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Sii {
    /// Number of quantiles per group.
    pub n_quantiles: Vec<Option<u32>>,
    /// The fitted value at the top of the gradient (`β₀`, back-transformed), × |m|.
    pub intercept: Vec<Option<f64>>,
    pub sii: Estimates,
    pub rii: Estimates,
}

/// Slope index of inequality (SII) and relative index of inequality (RII), as
/// `phe_sii` (PHEindicatormethods 2.1.0).
///
/// Per group, quantiles `j` in order with population share `aⱼ` and cumulative
/// midpoint `bⱼ = Σ_{i<j} aᵢ + aⱼ/2`: weighted least squares of the value on `bⱼ`
/// with weights `aⱼ` gives `y = β₀ + β₁·b`. Then `SII = m·β₁` and
/// `RII = (β₀ + β₁)/β₀` (inverted when `m < 0`). With `transform`, the fit is on the
/// log or logit scale and `SII = m·(g⁻¹(β₀ + β₁) − g⁻¹(β₀))`,
/// `RII = g⁻¹(β₀ + β₁)/g⁻¹(β₀)`.
///
/// Limits by simulation (Low A, Low A (2004), *Measuring the gap: quantifying and
/// comparing local health inequalities*, J Public Health 26:388–395): each repetition
/// draws every quantile's value from `N(value, se)` on the transformed scale, refits,
/// and the limits are the sorted draws at positions `round(R·(1 − c)/2)` and
/// `round(R·(1 + c)/2)`. The generator is ChaCha8 seeded by `seed` with one stream
/// per group, so a run is reproducible and independent of thread count; it is not
/// R's generator, so limits agree with the reference to simulation error (±5 %).
///
/// When `se` is absent it is `(ln or logit(upper) − ln or logit(lower)) / (2 × 1.959964)`,
/// always from 95 % limits, as the reference does.
///
/// Blank groups: a group lacking any quantile `1..Q` (`Q` the highest quantile in
/// the data) or repeating one, or with a missing value, population or standard error.
/// Errors: population zero or below; standard error below zero; proportions outside
/// [0, 1]; a value of zero or below with a log/logit scale; `Q` outside 5..=100;
/// fewer than 1,000 repetitions; transform with normal values.
pub fn sii(
    input: &SiiInput<'_>,
    options: &SiiOptions,
    levels: &[ConfidenceLevel],
) -> Result<Sii, StatsError> {
    check_levels(levels)?;
    let n = input.groups.len();
    same_len(n, input.quantile.len())?;
    same_len(n, input.population.len())?;
    same_len(n, input.value.len())?;
    check_groups(input.groups, input.n_groups)?;
    if options.repetitions < 1000 {
        return Err(StatsError::Parameter(format!(
            "{} repetitions is too few for simulated limits; use at least 1000",
            options.repetitions
        )));
    }
    if options.transform && options.value_type == ValueType::Normal {
        return Err(StatsError::Parameter(
            "a log or logit transform needs rates or proportions, not normal values".into(),
        ));
    }
    let vt = options.value_type;
    // Validate rows and find the transformed value and se of each.
    let mut q_max = 0u32;
    for i in 0..n {
        if let Some(p) = finite(input.population[i], i, Field::Population)? {
            if p <= 0.0 {
                return Err(StatsError::invalid(
                    i,
                    Field::Population,
                    Problem::NotPositive(p),
                ));
            }
        }
        if let Some(v) = finite(input.value[i], i, Field::Value)? {
            check_value(vt, v, i, Field::Value)?;
        }
        if let Some(q) = finite(input.quantile[i], i, Field::Quantile)? {
            if q < 1.0 || q.fract() != 0.0 || q > 100.0 {
                return Err(StatsError::invalid(
                    i,
                    Field::Quantile,
                    Problem::OutOfRange {
                        value: q,
                        allowed: "quantiles are whole numbers from 1 to 100",
                    },
                ));
            }
            q_max = q_max.max(q as u32);
        }
        if let Some(se) = input.se {
            if let Some(s) = finite(se[i], i, Field::StandardError)? {
                if s < 0.0 {
                    return Err(StatsError::invalid(
                        i,
                        Field::StandardError,
                        Problem::Negative(s),
                    ));
                }
            }
        } else if let Some((lo, hi)) = input.limits {
            for (col, field) in [(lo, Field::LowerLimit), (hi, Field::UpperLimit)] {
                if let Some(v) = finite(col[i], i, field)? {
                    check_value(vt, v, i, field)?;
                }
            }
        } else {
            return Err(StatsError::Parameter(
                "the SII needs a standard error or the 95% limits of each value".into(),
            ));
        }
    }
    if n > 0 && !(5..=100).contains(&q_max) {
        return Err(StatsError::Parameter(format!(
            "{q_max} quantiles: the SII needs between 5 and 100"
        )));
    }
    let qn = q_max as usize;
    // Slot of each group × quantile.
    const EMPTY: u32 = u32::MAX;
    const BAD: u32 = u32::MAX - 1;
    let mut slot = vec![EMPTY; input.n_groups * qn];
    for i in 0..n {
        let g = input.groups[i] as usize;
        match input.quantile[i] {
            Some(q) => {
                let s = &mut slot[g * qn + q as usize - 1];
                *s = if *s == EMPTY { i as u32 } else { BAD };
            }
            None => slot[g * qn] = BAD,
        }
    }
    let per_group: Vec<(Option<u32>, Option<f64>, Row, Row)> = (0..input.n_groups)
        .into_par_iter()
        .map(|g| group_sii(input, options, levels, &slot[g * qn..(g + 1) * qn], g))
        .collect();
    let mut out = Sii {
        n_quantiles: Vec::with_capacity(input.n_groups),
        intercept: Vec::with_capacity(input.n_groups),
        sii: Estimates::with_capacity(levels, input.n_groups),
        rii: Estimates::with_capacity(levels, input.n_groups),
    };
    for (q, intercept, s, r) in per_group {
        out.n_quantiles.push(q);
        out.intercept.push(intercept);
        out.sii.push(&s);
        out.rii.push(&r);
    }
    Ok(out)
}

fn check_value(vt: ValueType, v: f64, row: usize, field: Field) -> Result<(), StatsError> {
    match vt {
        ValueType::Proportion if !(0.0..=1.0).contains(&v) => Err(StatsError::invalid(
            row,
            field,
            Problem::OutsideUnitInterval(v),
        )),
        ValueType::Proportion | ValueType::Rate if v <= 0.0 => Err(StatsError::invalid(
            row,
            field,
            Problem::OutOfRange {
                value: v,
                allowed: "rates and proportions must be above zero to be log- or logit-transformed",
            },
        )),
        _ => Ok(()),
    }
}

/// The population shares `aⱼ` of the quantiles in order, their cumulative
/// midpoints `bⱼ`, the weighted mean `b̄ = Σ aⱼbⱼ` and `S_bb = Σ aⱼ(bⱼ − b̄)²`.
struct Ranks {
    a: Vec<f64>,
    b: Vec<f64>,
    b_bar: f64,
    s_bb: f64,
}

fn ranks(pop: &[f64]) -> Ranks {
    let total: f64 = pop.iter().sum();
    let a: Vec<f64> = pop.iter().map(|p| p / total).collect();
    let mut b = Vec::with_capacity(a.len());
    let mut cum = 0.0;
    for &share in &a {
        b.push(cum + share / 2.0);
        cum += share;
    }
    let b_bar: f64 = a.iter().zip(&b).map(|(a, b)| a * b).sum();
    let s_bb: f64 = a.iter().zip(&b).map(|(a, b)| a * (b - b_bar).powi(2)).sum();
    Ranks { a, b, b_bar, s_bb }
}

/// The straight line [`sii`] fits (untransformed), for drawing a deprivation
/// gradient: each quantile's midpoint `bⱼ` on the population rank from 0 (the
/// first quantile's end) to 1, and `y = β₀ + β₁·b`, so `β₁` is the SII of a
/// multiplier of 1 and `β₀` the fitted value at the first quantile's end.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientLine {
    pub midpoints: Vec<f64>,
    pub intercept: f64,
    pub slope: f64,
}

/// The fitted line of quantiles' `value`s weighted by `population`, in quantile
/// order; `None` unless there are two or more quantiles, every population is above
/// zero and every number is finite.
pub fn gradient_line(population: &[f64], value: &[f64]) -> Option<GradientLine> {
    let ok = |v: &f64| v.is_finite();
    if population.len() != value.len()
        || population.len() < 2
        || !population.iter().all(|p| ok(p) && *p > 0.0)
        || !value.iter().all(ok)
    {
        return None;
    }
    let r = ranks(population);
    let (intercept, slope) = fit(&r.a, &r.b, r.b_bar, r.s_bb, value);
    (intercept.is_finite() && slope.is_finite()).then_some(GradientLine {
        midpoints: r.b,
        intercept,
        slope,
    })
}

/// Weighted least-squares fit of `y` on the midpoints: returns `(β₀, β₁)`.
fn fit(a: &[f64], b: &[f64], b_bar: f64, s_bb: f64, y: &[f64]) -> (f64, f64) {
    let mut y_bar = 0.0;
    let mut s_by = 0.0;
    for j in 0..a.len() {
        y_bar += a[j] * y[j];
        s_by += a[j] * (b[j] - b_bar) * y[j];
    }
    let beta1 = s_by / s_bb;
    (y_bar - beta1 * b_bar, beta1)
}

fn group_sii(
    input: &SiiInput<'_>,
    options: &SiiOptions,
    levels: &[ConfidenceLevel],
    slots: &[u32],
    g: usize,
) -> (Option<u32>, Option<f64>, Row, Row) {
    let blank = |note| (None, None, Row::blank(note), Row::blank(note));
    if slots.iter().any(|&s| s >= u32::MAX - 1) {
        return blank(Note::SiiMissingQuantile);
    }
    let vt = options.value_type;
    let q = slots.len();
    let mut pop = Vec::with_capacity(q);
    let mut t = Vec::with_capacity(q);
    let mut se = Vec::with_capacity(q);
    for &s in slots {
        let i = s as usize;
        let (Some(p), Some(v)) = (input.population[i], input.value[i]) else {
            return blank(Note::MissingInput);
        };
        let s = match (input.se, input.limits) {
            (Some(col), _) => col[i],
            (None, Some((lo, hi))) => match (lo[i], hi[i]) {
                (Some(l), Some(u)) => {
                    Some((vt.forward(u) - vt.forward(l)) / (2.0 * ConfidenceLevel::P95.z()))
                }
                _ => None,
            },
            (None, None) => None,
        };
        let Some(s) = s else {
            return blank(Note::MissingInput);
        };
        pop.push(p);
        t.push(vt.forward(v));
        se.push(s);
    }
    let Ranks { a, b, b_bar, s_bb } = ranks(&pop);
    let m = options.multiplier;
    let stats = |y: &mut [f64]| -> (f64, f64, f64) {
        if options.transform {
            let (b0, b1) = fit(&a, &b, b_bar, s_bb, y);
            let (top, bottom) = (vt.back(b0 + b1), vt.back(b0));
            let rii = top / bottom;
            (
                m * (top - bottom),
                if m < 0.0 { 1.0 / rii } else { rii },
                bottom,
            )
        } else {
            for v in y.iter_mut() {
                *v = vt.back(*v);
            }
            let (b0, b1) = fit(&a, &b, b_bar, s_bb, y);
            let rii = (b0 + b1) / b0;
            (m * b1, if m < 0.0 { 1.0 / rii } else { rii }, b0)
        }
    };
    let mut y = t.clone();
    let (sii_value, rii_value, intercept) = stats(&mut y);

    let reps = options.repetitions as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    rng.set_stream(g as u64);
    let mut sims_sii = Vec::with_capacity(reps);
    let mut sims_rii = Vec::with_capacity(reps);
    for _ in 0..reps {
        for j in 0..q {
            let z: f64 = StandardNormal.sample(&mut rng);
            y[j] = t[j] + se[j] * z;
        }
        let (s, r, _) = stats(&mut y);
        sims_sii.push(s);
        sims_rii.push(r);
    }
    sims_sii.sort_unstable_by(f64::total_cmp);
    sims_rii.sort_unstable_by(f64::total_cmp);
    let pick = |sims: &[f64], p: f64| {
        // R's 1-based `sims[round(R·p)]`, held inside the array.
        let k = (reps as f64 * p).round() as usize;
        sims[k.clamp(1, reps) - 1]
    };
    let mut sii_row = Row {
        value: Some(sii_value),
        ..Row::default()
    };
    let mut rii_row = Row {
        value: Some(rii_value),
        ..Row::default()
    };
    for (l, level) in levels.iter().enumerate() {
        let c = level.fraction();
        sii_row.limits[l] = (
            Some(pick(&sims_sii, (1.0 - c) / 2.0)),
            Some(pick(&sims_sii, (1.0 + c) / 2.0)),
        );
        rii_row.limits[l] = (
            Some(pick(&sims_rii, (1.0 - c) / 2.0)),
            Some(pick(&sims_rii, (1.0 + c) / 2.0)),
        );
    }
    (Some(q as u32), Some(intercept * m.abs()), sii_row, rii_row)
}

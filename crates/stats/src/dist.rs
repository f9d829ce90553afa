//! Distribution functions the methods need, accurate to near double precision.
//!
//! The normal quantile comes from `statrs`' inverse complementary error function; the
//! gamma (and so chi-square and exact Poisson) quantile is solved here by safeguarded
//! Newton iteration on `statrs`' regularised incomplete gamma function, because the
//! generic bisection in `statrs` stops after a few steps and is not accurate enough to
//! reproduce the reference to 1e-6.

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::erf::{erfc, erfc_inv};
use statrs::function::gamma::{checked_gamma_lr, checked_gamma_ur, ln_gamma};

/// `P(a, x)`, the lower regularised incomplete gamma function, total on its domain's
/// edges where `statrs` panics: 0 at `x ≤ 0`, 1 at `x = ∞` or `a = 0`, NaN for a
/// NaN argument or a negative or infinite shape.
fn gamma_lr(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && x > 0.0 {
        return 1.0;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x == f64::INFINITY {
        return 1.0;
    }
    checked_gamma_lr(a, x).unwrap_or(f64::NAN)
}

/// `Q(a, x) = 1 − P(a, x)`, total in the same way as [`gamma_lr`].
fn gamma_ur(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && x > 0.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    checked_gamma_ur(a, x).unwrap_or(f64::NAN)
}

/// Standard normal quantile `Φ⁻¹(p)`, for `0 < p < 1`.
pub fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

/// Standard normal distribution function `Φ(x)`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Quantile of the gamma distribution with shape `a` and scale 1: the `x` with
/// `P(a, x) = p`. Shape 0 is the point mass at 0 (as R's `qgamma`/`qchisq(df = 0)`);
/// a shape so small that the quantile is below the smallest positive `f64` (a count
/// of 1e-15 and less) gives 0; a NaN argument gives NaN. Never panics.
pub fn gamma_quantile(p: f64, a: f64) -> f64 {
    if p.is_nan() || a.is_nan() {
        return f64::NAN;
    }
    if a <= 0.0 || p <= 0.0 {
        return 0.0;
    }
    if a == f64::INFINITY {
        return f64::INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    // Starting point: Wilson–Hilferty for larger shapes, the small-x series otherwise.
    let z = normal_quantile(p);
    let mut x = if a > 1.0 {
        let c = 1.0 / (9.0 * a);
        (a * (1.0 - c + z * c.sqrt()).powi(3)).max(1e-3 * a)
    } else {
        (p * (ln_gamma(a + 1.0)).exp()).powf(1.0 / a).max(1e-300)
    };
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    let ln_gamma_a = ln_gamma(a);
    for _ in 0..200 {
        // Work in the tail that keeps precision.
        let f = if p < 0.5 {
            gamma_lr(a, x) - p
        } else {
            (1.0 - p) - gamma_ur(a, x)
        };
        if f == 0.0 {
            return x;
        }
        if f > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let density = ((a - 1.0) * x.ln() - x - ln_gamma_a).exp();
        let mut next = x - f / density;
        if !next.is_finite() || next <= lo || next >= hi {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * x.max(lo)
            };
        }
        if (next - x).abs() <= 1e-15 * x.abs() || next <= 0.0 {
            // `next <= 0`: the bisection has underflowed; the quantile is 0 to double
            // precision.
            return next.max(0.0);
        }
        x = next;
    }
    x
}

/// Quantile of the chi-square distribution with `df` degrees of freedom.
pub fn chisq_quantile(p: f64, df: f64) -> f64 {
    2.0 * gamma_quantile(p, df / 2.0)
}

/// Upper tail of the chi-square distribution: `P(X > x)`.
pub fn chisq_upper_tail(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_ur(df / 2.0, x / 2.0)
}

/// `P(X ≤ k)` for `X ~ Poisson(mean)`, through the incomplete gamma function.
pub fn poisson_cdf(k: f64, mean: f64) -> f64 {
    if k < 0.0 {
        return 0.0;
    }
    if mean <= 0.0 {
        return 1.0;
    }
    gamma_ur(k.floor() + 1.0, mean)
}

/// Quantile of Student's t distribution with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn chisq_quantiles_match_r() {
        // qchisq values, computed to 30 digits with mpmath.
        assert!(close(
            chisq_quantile(0.025, 2.0),
            0.05063561596857975,
            1e-12
        ));
        assert!(close(chisq_quantile(0.975, 4.0), 11.14328678187779, 1e-12));
        assert!(close(
            chisq_quantile(0.001, 2.0),
            0.002_001_000_667_167_067,
            1e-12
        ));
        assert!(close(
            chisq_quantile(0.999, 20.0),
            45.314_746_618_125_86,
            1e-12
        ));
        assert_eq!(chisq_quantile(0.025, 0.0), 0.0);
    }

    #[test]
    fn tiny_shapes_give_zero_not_a_panic() {
        // Counts above 0 but 1e-15 or smaller panicked inside statrs.
        for a in [1e-15, 5e-16, 1e-300, f64::MIN_POSITIVE] {
            for p in [0.001, 0.025, 0.5, 0.975, 0.999] {
                let q = gamma_quantile(p, a);
                assert!(q >= 0.0 && q.is_finite(), "{a} {p} {q}");
            }
        }
        assert!(gamma_quantile(0.5, f64::NAN).is_nan());
        assert_eq!(poisson_cdf(1.0, f64::INFINITY), 0.0);
        assert_eq!(chisq_upper_tail(f64::INFINITY, 1.0), 0.0);
    }

    #[test]
    fn t_quantiles_match_r() {
        assert!(close(t_quantile(0.975, 7.0), 2.364624251592785, 1e-10));
        assert!(close(t_quantile(0.999, 25.0), 3.450_188_726_973_064, 1e-10));
    }

    #[test]
    fn normal_functions_invert() {
        for p in [1e-6, 0.001, 0.025, 0.5, 0.975, 0.999] {
            assert!(close(normal_cdf(normal_quantile(p)), p, 1e-10), "{p}");
        }
    }

    #[test]
    fn poisson_cdf_sums_the_mass() {
        let mean: f64 = 3.5;
        let direct: f64 = (0..=4)
            .map(|k| mean.powi(k) * (-mean).exp() / (1..=k).map(f64::from).product::<f64>())
            .sum();
        assert!(close(poisson_cdf(4.0, mean), direct, 1e-12));
    }
}

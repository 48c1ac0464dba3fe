//! The sigmoid approximation used on shares, and its error, for every input.
//!
//! Secure training computes `s(z) = p(clamp(z, -CLAMP_AT, CLAMP_AT))`, where `p` is an odd polynomial of degree
//! 9 in `t = z / 6`, `p(z) = 1/2 + sum_k C[k] t^(2k+1)`, the least-squares fit of the sigmoid on `[-6, 6]`
//! (2,001 evenly spaced points). The clamp is a secure comparison ([`mpc_core::protocols::compare`]): for
//! `|z| > 5.5` the output is `p(+-5.5)`, within 0.005 of the saturated sigmoid, so the approximation is right
//! for every input of the fixed-point range, not only on the fit's interval (a degree-9 polynomial alone
//! grows like `t^9` outside it: before the clamp, one outlier record drove training to a wrong model).
//!
//! Why this range. With the clamp, a narrow fit interval costs only the saturation error `sigmoid(-5.5) =
//! 0.004`, and the fit on `[-6, 6]` is 25 times more accurate than the previous fit on `[-24, 24]` (whose
//! largest error was 0.139). The clamp compares `z` exactly (`mpc_ml::step`), so an unclamped `z` stays
//! inside `[-5.5, 5.5]`.
//!
//! **Error.** `|s(z) - sigmoid(z)|` is at most [`MAX_ERROR`] (0.0061) for every real `z`, with a
//! root-mean-square error of at most [`RMS_ERROR`] (0.002) on `[-6, 6]`; `s(0) = 1/2` exactly and `s` is odd
//! about `(0, 1/2)`. The fixed-point evaluation adds at most about `1e-4` (20 fractional bits, coefficients
//! below 6, one unit in the last place per truncation).

/// The range the polynomial is fitted on: `[-RANGE, RANGE]`.
pub const RANGE: f64 = 6.0;

/// Inputs are clamped to `[-CLAMP_AT, CLAMP_AT]` before the polynomial.
pub const CLAMP_AT: f64 = 5.5;

/// Coefficients of `t, t^3, t^5, t^7, t^9` for `t = z / RANGE`.
pub const COEFFS: [f64; 5] = [
    1.461_213_007_211_453_8,
    -3.401_008_025_549_864,
    5.933_617_961_094_318,
    -5.423_833_312_434_012,
    1.933_263_935_635_886_3,
];

/// Largest error of the clamped approximation, over every real input.
pub const MAX_ERROR: f64 = 0.0061;
/// Root-mean-square error of the approximation on `[-RANGE, RANGE]`.
pub const RMS_ERROR: f64 = 0.002;

/// The exact sigmoid.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The approximation's coefficients of `t^0 .. t^9` (even ones zero but the constant 1/2).
pub fn coefficients_in_t() -> Vec<f64> {
    let mut c = vec![0.0; 10];
    c[0] = 0.5;
    for (k, &v) in COEFFS.iter().enumerate() {
        c[2 * k + 1] = v;
    }
    c
}

/// The approximation used on shares: the polynomial of the clamped input.
pub fn approx(z: f64) -> f64 {
    let t = z.clamp(-CLAMP_AT, CLAMP_AT) / RANGE;
    coefficients_in_t()
        .iter()
        .rev()
        .fold(0.0, |acc, &c| acc * t + c)
}

/// The factor that makes the clamped polynomial saturate at exactly 0 and 1:
/// `1/2 / (approx(CLAMP_AT) - 1/2)` (about 1.0123).
pub fn saturation() -> f64 {
    0.5 / (approx(CLAMP_AT) - 0.5)
}

/// The sigmoid of Newton's method ([`crate::newton`]): `1/2 + saturation() (approx(z) - 1/2)`, the clamped
/// polynomial stretched to reach exactly 0 and 1 at `+-CLAMP_AT`. Continuous, flat beyond the clamp, with
/// a largest error of 0.0083 (against 0.0061 for [`approx`]), but right where most rows of a fitted model
/// lie: far from the boundary, where [`approx`]'s saturation error of 0.006 per row, summed over many rows,
/// pulled the converged weights far from the exact sigmoid's (0.60 against 0.075 on breast cancer).
pub fn saturating(z: f64) -> f64 {
    0.5 + saturation() * (approx(z) - 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(range: f64) -> (f64, f64) {
        let pts: Vec<f64> = (0..=20_000)
            .map(|i| -range + 2.0 * range * i as f64 / 20_000.0)
            .collect();
        let e: Vec<f64> = pts
            .iter()
            .map(|&z| (approx(z) - sigmoid(z)).abs())
            .collect();
        let max = e.iter().copied().fold(0.0, f64::max);
        let rms = (e.iter().map(|e| e * e).sum::<f64>() / e.len() as f64).sqrt();
        (max, rms)
    }

    #[test]
    fn error_over_the_documented_range() {
        let (_, rms) = errors(RANGE);
        assert!(rms <= RMS_ERROR && rms > RMS_ERROR - 0.001, "rms {rms}");
        // Every input, far beyond the fit's range too.
        for range in [RANGE, 50.0, 1e6] {
            let (max, _) = errors(range);
            assert!(max <= MAX_ERROR, "max {max} on [-{range}, {range}]");
        }
        let (max, _) = errors(50.0);
        assert!(max > MAX_ERROR - 0.001, "max {max}");
    }

    #[test]
    fn newtons_sigmoid_saturates_exactly() {
        assert!((saturating(CLAMP_AT) - 1.0).abs() < 1e-12);
        assert!(saturating(-100.0).abs() < 1e-12);
        let worst = (0..=40_000)
            .map(|i| -20.0 + i as f64 * 1e-3)
            .map(|z| (saturating(z) - sigmoid(z)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.0083 && worst > 0.008, "{worst}");
    }

    #[test]
    fn centred_odd_and_saturating_outside_the_range() {
        assert_eq!(approx(0.0), 0.5);
        for z in [0.5, 3.0, 5.4, 11.0, 23.0, 1e9] {
            assert!((approx(z) + approx(-z) - 1.0).abs() < 1e-12);
        }
        // Beyond the clamp the output is constant, within the error of the saturated sigmoid.
        assert_eq!(approx(30.0), approx(CLAMP_AT));
        assert_eq!(approx(-1e12), approx(-CLAMP_AT));
        assert!((approx(1e12) - 1.0).abs() <= MAX_ERROR);
        assert!((sigmoid(-40.0) - 0.0).abs() < 1e-15 && sigmoid(40.0) == 1.0);
    }
}

//! One statistical security parameter for the whole run: the sizes of its statistically hiding masks and
//! the run's statistical security, summed over every value it hides only statistically.
//!
//! A value `x` with `|x| < X` opened as `x + m` under a mask `m` whose honest part is uniform on `[0, 2^b)`
//! is within statistical distance `X / 2^b` of `m` alone; a run opens many, and the distances add up. The
//! `ot` source hides statistically, per value (with `rho` the bits of its truncation masks,
//! [`mpc_core::preprocessing::trunc_mask_bits`], and `A = |x| / 2^shift + 1` after scaling):
//!
//! - a truncation opened alone or aligned with a uniform mask: `|x| / 2^rho`;
//! - a truncation by `shift` bits aligned with a mask of `b` bits per party (`r' + a`,
//!   [`mpc_core::protocols::fused`]): `A (2^(shift - rho) + 2^-b)` (couple `r_h` and `a_h` by the shift
//!   `floor(x / 2^shift) + carry`; the low bits of `r_h` rotate): the square masks of `t` and `u` and the
//!   product mask of `v` ([`crate::step`]), and the truncated `g` with the backward product's bounded `B`;
//! - the forward product's `w - B` with bounded `B`, aligned with the pending update:
//!   `A 2^(shift - rho) + (|w| + A) 2^-b`;
//! - the short Gilboa pads of the owners' values in mask triples without reused OTs
//!   (`mpc_core::ot::gilboa::Bounds`): `2^-pad_hiding_bits` per word a receiver may see.
//!
//! A dealer's masks are uniform, but its truncation fails (a wrong result) with probability
//! `(|x| + 2^k) / 2^128` per element for a truncation under `|x| < 2^k`; that is summed the same way.
//!
//! Counts come from the public plan: rows, batches, epochs, features, parties, and whether the `ot` source
//! reuses the owners' OTs for each chunk (`OtConfig::reuses_owned_ots`, `B` then uniform). Sizes: with
//! `N` the values whose hiding depends on a mask size, every such mask gets `sigma + 1 + ceil(log2 N)` bits
//! plus its value's bound bits (plus one for the alignment's two terms), at most the ring's 128 (then
//! uniform), and the pads `sigma + 1 + ceil(log2 N)`: together at most `2^-(sigma + 1)`. The truncations
//! take the other half: their `k` come from [`crate::bounds`]. [`Plan::new`] computes the sum from the sizes
//! actually used and refuses a run whose security would be below `sigma`, naming the largest part.

use mpc_core::ot::gilboa;
use mpc_core::preprocessing::{trunc_mask_bits, OtConfig, OwnedHiding};
use mpc_core::{FixedPoint, Ring, Z128};

use crate::bounds::{RunShape, TruncBound, ValueBounds};
use crate::config::{PreprocessingKind, TrainConfig};
use crate::error::{Error, Result};
use crate::plain::batches;
use crate::secure::{chunk_rows, owned_value_bits, owned_value_limit, FORMAT};

/// How a source masks: uniformly (a dealer: its truncations may fail), or with the `ot` source's bounded
/// masks and pads (its truncations never fail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Masking {
    /// Uniform masks; truncation pairs uniform over the ring.
    Uniform,
    /// The `ot` source.
    Ot,
}

impl Masking {
    /// The masking of a source by its name (`"ot"`; every other source's masks are uniform).
    pub fn of_source(name: &str) -> Self {
        if name == "ot" {
            Masking::Ot
        } else {
            Masking::Uniform
        }
    }

    /// The masking of a configured preprocessing.
    pub fn of(kind: PreprocessingKind) -> Self {
        match kind {
            PreprocessingKind::Dealer => Masking::Uniform,
            PreprocessingKind::Ot => Masking::Ot,
        }
    }
}

/// The sizes of a run's bounded masks, in bits (128: uniform).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Each party's share of the square masks of `t` and `u`.
    pub square_mask_bits: u32,
    /// Each party's share of the mask of `v = t^4` in `v w`.
    pub product_mask_bits: u32,
    /// Each party's share of `B` in mask triples of owned masks without reused OTs.
    pub operand_bits: u32,
    /// Short Gilboa pads' bits beyond the owners' value bound.
    pub pad_hiding_bits: u32,
}

/// Values hidden alike, and the bound of each one's statistical distance (or failure probability).
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// What they are.
    pub what: &'static str,
    /// How many the run opens or sends.
    pub count: f64,
    /// The bound for one.
    pub each: f64,
    /// Whether `each` depends on a mask size of [`Sizes`].
    sized: bool,
}

/// A run's public plan: bounds, mask sizes, truncation formats, and its statistical security.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The statistical security parameter asked for.
    pub sigma: u32,
    /// The value bounds.
    pub bounds: ValueBounds,
    /// The mask sizes.
    pub sizes: Sizes,
    /// Every kind of statistically hidden value (or possible truncation failure) of the run.
    pub terms: Vec<Term>,
}

/// Gradient steps and rows per epoch in each masked chunk, and whether its mask's `B` is bounded.
struct Chunk {
    steps: f64,
    rows: f64,
    bounded: bool,
}

/// `2^e`.
fn exp2(e: f64) -> f64 {
    e.exp2()
}

/// The statistical distance of `(x + r, (r >> shift) + a - y)` from its value at `x = y = 0`, with `r`
/// uniform below `2^rho`, `a` uniform below `2^bits`, `|x| < 2^shift shifted` and `|y| <= y_bound`: a
/// truncation's opening and its alignment with a bounded mask (`y = 0`), or with `B` in `w - B` (`y = w`).
/// Coupling: `r >> shift` and `a` shift by `q = floor(x / 2^shift) + carry`, `|q| <= shifted + 1`, and the
/// low bits of `r` rotate.
pub(crate) fn aligned_distance(shifted: f64, y_bound: f64, shift: u32, rho: u32, bits: u32) -> f64 {
    let q = shifted + 1.0;
    q * exp2(shift as f64 - rho as f64) + (q + y_bound) * exp2(-(bits as f64))
}

/// One truncation's share of a run's statistical budget when its input is only known to be below `2^k`
/// (raw ring units): with a dealer's uniform pairs it fails with probability up to `2^(k + 1) / 2^128`,
/// with the `ot` source its bounded mask hides the input within `2^k / 2^rho` (`rho`
/// [`trunc_mask_bits`] for `parties` parties).
pub fn truncation_term(k: u32, parties: usize, ot: bool) -> f64 {
    if ot {
        (k as f64 - trunc_mask_bits(Z128::BITS, parties) as f64).exp2()
    } else {
        (k as f64 + 1.0 - Z128::BITS as f64).exp2()
    }
}

/// Refuses a run of `solver` whose statistical security `bits` ([`crate::newton::security_bits`],
/// [`crate::closed_form::security_bits`]) is below `sigma`, naming both and the way out.
pub(crate) fn require_sigma(solver: &str, bits: f64, sigma: u32) -> Result<()> {
    if bits >= sigma as f64 {
        return Ok(());
    }
    Err(Error::option(
        "sigma",
        format!(
            "a {solver} run of this shape has {:.1} bits of statistical security, below sigma = {sigma} (its truncations of the matrices it inverts are counted at the fixed-point format's bound, having no tighter public bound yet); use `solver = \"gradient_descent\"`, which meets sigma, or set `sigma` to at most {}",
            (bits * 10.0).floor() / 10.0,
            bits.floor() as u32
        ),
    ))
}

/// `ceil(log2 x)` for `x >= 1`.
fn ceil_log2(x: f64) -> u32 {
    x.max(1.0).log2().ceil() as u32
}

impl Plan {
    /// The plan of a gradient-descent run of `config` on `shape`, with `masking`; `owned` if the data
    /// matrix is masked by its owners' rows (horizontal data). An error if the run's statistical security
    /// would be below `config.sigma`, or a bound leaves the fixed-point format.
    pub fn new(
        shape: &RunShape,
        config: &TrainConfig,
        masking: Masking,
        owned: bool,
    ) -> Result<Self> {
        let bounds = ValueBounds::new(shape, config)?;
        let tr = &bounds.truncs;
        // Every truncation's format must fit (the step uses them).
        for (what, t) in [
            ("z / 24", tr.t),
            ("t^2", tr.u),
            ("t^4", tr.v),
            ("q(t^2)", tr.q),
            ("the error g", Some(tr.g)),
            ("the weight update", Some(tr.update)),
        ] {
            if let Some(t) = t {
                t.format(what)?;
            }
        }
        let sigma = config.sigma;
        let mut plan = Plan {
            sigma,
            bounds,
            sizes: Sizes {
                square_mask_bits: Z128::BITS,
                product_mask_bits: Z128::BITS,
                operand_bits: Z128::BITS,
                pad_hiding_bits: sigma + 1,
            },
            terms: Vec::new(),
        };
        if masking == Masking::Ot {
            // The pads' count is largest with the shortest pads: count with those, then size.
            plan.terms = plan.terms_of(shape, config, masking, owned);
            let sized: f64 = plan.terms.iter().filter(|t| t.sized).map(|t| t.count).sum();
            let e = sigma + 1 + ceil_log2(sized);
            let bits = |a: f64| (e + 1 + ceil_log2(a)).min(Z128::BITS);
            let shifted = |t: Option<TruncBound>| t.map_or(0.0, |t| t.shifted()) + 1.0;
            let w = plan.bounds.w * FORMAT.scale();
            // Linear regression has no sigmoid masks.
            let sigmoid = |b: u32| if tr.t.is_some() { b } else { Z128::BITS };
            plan.sizes = Sizes {
                square_mask_bits: sigmoid(bits(shifted(tr.t).max(shifted(tr.u)))),
                product_mask_bits: sigmoid(bits(shifted(tr.v))),
                operand_bits: bits((w + shifted(Some(tr.update))).max(shifted(Some(tr.g)))),
                pad_hiding_bits: e,
            };
        }
        plan.terms = plan.terms_of(shape, config, masking, owned);
        let bits = plan.security_bits();
        if bits < sigma as f64 {
            let worst = plan
                .terms
                .iter()
                .max_by(|a, b| (a.count * a.each).total_cmp(&(b.count * b.each)))
                .map_or("", |t| t.what);
            return Err(Error::option(
                "sigma",
                format!(
                    "this run's statistical security would be {bits:.1} bits, below sigma = {sigma}; most of it goes to {worst}: fewer epochs, a smaller learning rate, or a smaller sigma"
                ),
            ));
        }
        Ok(plan)
    }

    /// The summed statistical distance (and truncation failure probability) of the run.
    pub fn distance(&self) -> f64 {
        self.terms.iter().map(|t| t.count * t.each).sum()
    }

    /// The run's statistical security in bits: `-log2` of [`Plan::distance`] (at most 128).
    pub fn security_bits(&self) -> f64 {
        (-self.distance().log2()).min(Z128::BITS as f64)
    }

    /// The sizes the `ot` source uses for owned masks without reused OTs.
    pub fn owned_hiding(&self) -> OwnedHiding {
        OwnedHiding {
            operand_bits: self.sizes.operand_bits,
            pad_hiding_bits: self.sizes.pad_hiding_bits,
        }
    }

    /// The format of a truncation of the step (its own bound), or the training format's for one the
    /// model does not use.
    pub(crate) fn format(t: Option<TruncBound>, shift: u32) -> Result<FixedPoint> {
        match t {
            Some(t) => t.format("a truncated value"),
            None => Ok(FixedPoint {
                frac_bits: shift,
                bound_bits: FORMAT.bound_bits,
            }),
        }
    }

    /// The masked chunks of the data matrix, as [`crate::secure::descend`] makes them.
    fn chunks(shape: &RunShape, config: &TrainConfig, masking: Masking, owned: bool) -> Vec<Chunk> {
        let (total, d) = (shape.rows, shape.features);
        let per = chunk_rows(config.batch_size);
        let schedule = batches(total, config.batch_size);
        let value_bits = owned_value_bits(owned_value_limit(total, config.standardize));
        (0..total.div_ceil(per))
            .map(|c| {
                let (c0, c1) = (c * per, ((c + 1) * per).min(total));
                let here: Vec<&(usize, usize)> = schedule
                    .iter()
                    .filter(|&&(s, _)| (c0..c1).contains(&s))
                    .collect();
                let reused = OtConfig::default().reuses_owned_ots(
                    c1 - c0,
                    d + 1,
                    value_bits,
                    shape.parties,
                    Z128::BITS,
                );
                Chunk {
                    steps: here.len() as f64,
                    rows: here.iter().map(|&&(s, e)| (e - s) as f64).sum(),
                    bounded: masking == Masking::Ot && owned && !reused,
                }
            })
            .collect()
    }

    /// The run's terms with the current sizes.
    fn terms_of(
        &self,
        shape: &RunShape,
        config: &TrainConfig,
        masking: Masking,
        owned: bool,
    ) -> Vec<Term> {
        let tr = &self.bounds.truncs;
        let sz = &self.sizes;
        let l = Z128::BITS as f64;
        let rho = trunc_mask_bits(Z128::BITS, shape.parties) as f64;
        let epochs = config.epochs as f64;
        let weights = (shape.features + 1) as f64;
        let w = self.bounds.w * FORMAT.scale();
        let value_bits = owned_value_bits(owned_value_limit(shape.rows, config.standardize));
        // One truncation opened alone (or aligned with a uniform mask).
        let alone = |t: &TruncBound| match masking {
            Masking::Ot => exp2(t.scaled_log2() - rho),
            Masking::Uniform => exp2(t.scaled_log2() - l) + exp2(t.bound_bits() as f64 - l),
        };
        let rho_bits = trunc_mask_bits(Z128::BITS, shape.parties);
        // One truncation aligned with a bounded mask of `bits` bits per party.
        let aligned = |t: &TruncBound, bits: u32| match masking {
            Masking::Ot => aligned_distance(t.shifted(), 0.0, t.shift, rho_bits, bits),
            Masking::Uniform => alone(t),
        };
        let mut terms: Vec<Term> = Vec::new();
        let mut add = |what: &'static str, count: f64, each: f64, sized: bool| match terms
            .iter_mut()
            .find(|t| t.what == what && t.each == each)
        {
            Some(t) => t.count += count,
            None => terms.push(Term {
                what,
                count,
                each,
                sized,
            }),
        };
        let ot = masking == Masking::Ot;
        for chunk in Self::chunks(shape, config, masking, owned) {
            let (rows, steps) = (chunk.rows * epochs, chunk.steps * epochs);
            if let (Some(t), Some(u), Some(v), Some(q)) = (tr.t, tr.u, tr.v, tr.q) {
                add(
                    "z / 24 (aligned with t's square mask)",
                    rows,
                    aligned(&t, sz.square_mask_bits),
                    ot,
                );
                add(
                    "t^2 (aligned with u's square mask)",
                    rows,
                    aligned(&u, sz.square_mask_bits),
                    ot,
                );
                add(
                    "t^4 (aligned with v's product mask)",
                    rows,
                    aligned(&v, sz.product_mask_bits),
                    ot,
                );
                add("q(t^2)", rows, alone(&q), false);
            }
            let up = &tr.update;
            if chunk.bounded {
                add(
                    "the error g (aligned with the backward product's B)",
                    rows,
                    aligned(&tr.g, sz.operand_bits),
                    true,
                );
                let fwd = aligned_distance(up.shifted(), w, up.shift, rho_bits, sz.operand_bits);
                add(
                    "the weights against the forward product's B, with the update",
                    steps * weights,
                    fwd,
                    true,
                );
                let pads = gilboa::Bounds {
                    choice_bits: sz.operand_bits as usize,
                    value_bits: Some(value_bits),
                    pad_hiding_bits: sz.pad_hiding_bits,
                };
                let words = pads.short_words(Z128::BITS) as f64;
                // Forward and backward: (d + 1) values of B times the batch's rows of the owners' values,
                // to each of the other parties.
                let count = 2.0 * weights * rows * words * (shape.parties - 1) as f64;
                add(
                    "the owners' values under short Gilboa pads",
                    count,
                    exp2(-(sz.pad_hiding_bits as f64)),
                    true,
                );
            } else {
                add("the error g", rows, alone(&tr.g), false);
                add("the weight update", steps * weights, alone(up), false);
            }
        }
        // The last update, opened alone.
        add("the weight update", weights, alone(&tr.update), false);
        terms
    }
}

/// The statistical security, in bits, of a gradient-descent run of `config` on `shape` with
/// `preprocessing` (`horizontal`: owners' rows as masks): the number a run's report states.
pub fn run_security_bits(
    shape: &RunShape,
    config: &TrainConfig,
    preprocessing: PreprocessingKind,
    horizontal: bool,
) -> Result<f64> {
    Plan::new(shape, config, Masking::of(preprocessing), horizontal).map(|p| p.security_bits())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The exact statistical distance of the view `(x + r, (r >> shift) + a - y)` at `(x, y)` from the one
    /// at `(0, 0)`, by enumerating `r` and `a`.
    fn exact(x: i64, y: i64, shift: u32, rho: u32, bits: u32) -> f64 {
        let view = |x: i64, y: i64| {
            let mut h: HashMap<(i64, i64), u64> = HashMap::new();
            for r in 0..1i64 << rho {
                for a in 0..1i64 << bits {
                    *h.entry((x + r, (r >> shift) + a - y)).or_default() += 1;
                }
            }
            h
        };
        let (p, q) = (view(x, y), view(0, 0));
        let total = (1u64 << (rho + bits)) as f64;
        let keys: std::collections::HashSet<_> = p.keys().chain(q.keys()).collect();
        keys.iter()
            .map(|k| {
                let (a, b) = (
                    p.get(k).copied().unwrap_or(0),
                    q.get(k).copied().unwrap_or(0),
                );
                a.abs_diff(b) as f64
            })
            .sum::<f64>()
            / (2.0 * total)
    }

    /// The coupling bound holds against the exact distance, for truncations aligned with a bounded mask
    /// and for the forward product's `w - B`, and is tight within a small factor.
    #[test]
    fn aligned_distance_bounds_the_exact_distance() {
        let (shift, rho, bits) = (3, 9, 5);
        let mut tightest = f64::MAX;
        for x in [-37i64, -8, -1, 1, 5, 8, 29, 63] {
            for y in [0i64, 3, -6] {
                let got = exact(x, y, shift, rho, bits);
                let bound = aligned_distance(
                    x.unsigned_abs() as f64 / 8.0,
                    y.unsigned_abs() as f64,
                    shift,
                    rho,
                    bits,
                );
                assert!(got <= bound + 1e-12, "x {x} y {y}: {got} > {bound}");
                assert!(got > 0.0);
                tightest = tightest.min(bound / got);
            }
        }
        assert!(
            tightest < 4.0,
            "the bound is {tightest} times the distance at best"
        );
    }

    fn task(
        rows: usize,
        features: usize,
        parties: usize,
        config: TrainConfig,
    ) -> (RunShape, TrainConfig) {
        (
            RunShape {
                rows,
                features,
                parties,
            },
            config,
        )
    }

    /// The peers' tasks of `mpc bench` (src/cli/bench_train.rs): training rows after the 80/20 split.
    fn tasks() -> Vec<(&'static str, RunShape, TrainConfig)> {
        let synthetic = TrainConfig {
            epochs: 1,
            batch_size: 128,
            ..TrainConfig::default()
        };
        let linear = TrainConfig {
            model: crate::config::ModelKind::Linear,
            ..TrainConfig::default()
        };
        [
            ("breast cancer", task(455, 30, 3, TrainConfig::default())),
            ("diabetes", task(353, 10, 3, linear)),
            ("synthetic 100,000", task(80_000, 20, 2, synthetic.clone())),
            ("synthetic 1,000,000", task(800_000, 20, 2, synthetic)),
        ]
        .into_iter()
        .map(|(name, (shape, config))| (name, shape, config))
        .collect()
    }

    /// The bundled tasks, the 100,000-row and the 1,000,000-row tasks have at least sigma = 40 bits with
    /// both sources, horizontal (owners' rows as masks) and vertical.
    #[test]
    fn the_benchmark_tasks_meet_sigma() {
        for (name, shape, config) in tasks() {
            for kind in [PreprocessingKind::Dealer, PreprocessingKind::Ot] {
                for horizontal in [true, false] {
                    let plan = Plan::new(&shape, &config, Masking::of(kind), horizontal)
                        .unwrap_or_else(|e| panic!("{name} {kind:?}: {e}"));
                    let bits = plan.security_bits();
                    eprintln!(
                        "{name}, {}, horizontal {horizontal}: {bits:.2} bits, {:?}",
                        kind.name(),
                        plan.sizes
                    );
                    assert!(bits >= 40.0, "{name} {kind:?}: {bits} bits");
                    assert_eq!(
                        run_security_bits(&shape, &config, kind, horizontal).unwrap(),
                        bits
                    );
                    // The sum is the terms' sum, and every term is a count times a bound below 1.
                    assert!(plan.terms.iter().all(|t| t.count >= 0.0 && t.each < 1.0));
                    assert!(
                        (plan.distance()
                            - plan.terms.iter().map(|t| t.count * t.each).sum::<f64>())
                        .abs()
                            == 0.0
                    );
                }
            }
        }
    }

    /// The sized masks take at most half of the budget, and a larger sigma lengthens them bit for bit; a
    /// dealer's masks are uniform.
    #[test]
    fn masks_are_sized_for_the_run() {
        let (_, shape, config) = tasks().remove(0);
        let plan = Plan::new(&shape, &config, Masking::Ot, true).unwrap();
        let sized: f64 = plan
            .terms
            .iter()
            .filter(|t| t.sized)
            .map(|t| t.count * t.each)
            .sum();
        assert!(sized <= exp2(-41.0), "{sized}");
        // Breast cancer: about 13,650 masked values, so 40 + 1 + 14 + 1 bits plus t's 21.
        let n: f64 = plan.terms.iter().filter(|t| t.sized).map(|t| t.count).sum();
        assert_eq!(n, 455.0 * 3.0 * 10.0);
        assert_eq!(plan.sizes.square_mask_bits, 40 + 1 + 14 + 1 + 21);
        let more = TrainConfig {
            sigma: 50,
            ..config.clone()
        };
        let plan50 = Plan::new(&shape, &more, Masking::Ot, true).unwrap();
        assert_eq!(
            plan50.sizes.square_mask_bits,
            plan.sizes.square_mask_bits + 10
        );
        assert!(plan50.security_bits() >= 50.0);
        let dealer = Plan::new(&shape, &config, Masking::Uniform, true).unwrap();
        assert_eq!(dealer.sizes.square_mask_bits, 128);
        assert!(dealer.terms.iter().all(|t| !t.sized));
    }

    /// The 100,000-row task's owned masks are too large to reuse their OTs: bounded `B` and short pads,
    /// counted in the hundreds of millions.
    #[test]
    fn large_owned_masks_count_their_pads() {
        let (_, shape, config) = tasks().remove(2);
        let plan = Plan::new(&shape, &config, Masking::Ot, true).unwrap();
        let pads = plan
            .terms
            .iter()
            .find(|t| t.what.contains("Gilboa pads"))
            .expect("pads are counted");
        assert!(pads.count > 1e7, "{}", pads.count);
        assert!(plan.sizes.pad_hiding_bits >= 40 + 1 + pads.count.log2().ceil() as u32);
        let vertical = Plan::new(&shape, &config, Masking::Ot, false).unwrap();
        assert!(vertical.terms.iter().all(|t| !t.what.contains("Gilboa")));
    }

    /// A run that cannot reach its sigma is refused, naming sigma and the largest part.
    #[test]
    fn runs_below_sigma_are_refused() {
        let (_, shape, config) = tasks().remove(3);
        let strict = TrainConfig {
            sigma: 80,
            ..config
        };
        let e = Plan::new(&shape, &strict, Masking::Uniform, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sigma = 80") && e.contains("most of it goes to"),
            "{e}"
        );
    }
}

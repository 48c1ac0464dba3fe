//! Plaintext f64 training with the same recipe as the secure run: the baseline every comparison uses.
//!
//! Plain in-order mini-batch gradient descent on standardized rows, the last partial batch included:
//! `w -= lr * (X_b^T (f(X_b w + b) - y_b) / |b| + l2 * w)`, `b -= lr * mean(f(X_b w + b) - y_b)`, with
//! `f` the exact sigmoid (or, to check the secure arithmetic alone, the approximation of
//! [`crate::sigmoid`]) for logistic regression and the identity for linear regression.
//!
//! With `solver = closed_form` the baseline is the same closed form in f64: the normal equations
//! `(X^T X / N + l2 I') w = X^T y / N` on the standardized rows (penalty not on the intercept), solved by
//! Gauss-Jordan elimination ([`ridge`]), one model.
//!
//! With `solver = newton` it is the converged
//! model of the same objective ([`newton`]): with the exact sigmoid, scikit-learn's
//! `LogisticRegression(C = c)` on the standardized features.

use crate::config::{ModelKind, Solver, Standardize, TrainConfig};
use crate::data::PartyData;
use crate::metrics;
use crate::model::Model;
use crate::scaling::Scaling;
use crate::sigmoid;
use crate::split::pool;

/// The link function used in the gradient of a logistic model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The exact sigmoid: the plaintext baseline.
    Exact,
    /// The approximation the secure run uses.
    Approx,
}

/// A plaintext training run's result.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainResult {
    /// The model on raw values.
    pub model: Model,
    /// The model (on raw values) after each epoch.
    pub epoch_models: Vec<Model>,
    /// The standardization used.
    pub scaling: Scaling,
}

/// The `(start, end)` of every mini-batch of an epoch over `n` rows, in order.
pub fn batches(n: usize, batch: usize) -> Vec<(usize, usize)> {
    (0..n)
        .step_by(batch.max(1))
        .map(|s| (s, (s + batch).min(n)))
        .collect()
}

/// Trains on the pooled training rows of `parties` (in party order), as the secure run does. The default
/// solver ([`Solver::Auto`]) is resolved as with a dealer: to compare with an `ot` run, pass the solver the
/// run used ([`crate::secure::TrainOutput::solver`]).
pub fn train_plain(parties: &[PartyData], config: &TrainConfig, link: Link) -> PlainResult {
    let (rows, labels) = pool(parties);
    let d = rows.first().map_or(0, Vec::len);
    let config = &config.resolve(d, rows.len(), parties.len(), false);
    let scaling = match config.standardize {
        Standardize::Global => Scaling::of_rows(&rows, &labels, config.model == ModelKind::Linear),
        Standardize::None => Scaling::identity(d),
    };
    let x: Vec<Vec<f64>> = rows.iter().map(|r| scaling.standardize(r)).collect();
    let y: Vec<f64> = labels
        .iter()
        .map(|&v| scaling.standardize_label(v))
        .collect();
    let features = parties
        .first()
        .map(|p| p.features.clone())
        .unwrap_or_default();
    if matches!(config.solver, Solver::ClosedForm | Solver::Newton) {
        let mut w = if config.solver == Solver::Newton {
            newton(&x, &y, config.c, link)
        } else {
            closed_form(&x, &y, config.l2)
        };
        let b = w.pop().unwrap_or(0.0);
        let (weights, intercept) = scaling.to_raw(&w, b);
        let model = Model {
            model: config.model,
            features,
            weights,
            intercept,
        };
        return PlainResult {
            epoch_models: vec![model.clone()],
            model,
            scaling,
        };
    }
    let (mut w, mut b) = (vec![0.0; d], 0.0);
    let mut epoch_models = Vec::with_capacity(config.epochs);
    let f = |z: f64| match (config.model, link) {
        (ModelKind::Linear, _) => z,
        (ModelKind::Logistic, Link::Exact) => sigmoid::sigmoid(z),
        (ModelKind::Logistic, Link::Approx) => sigmoid::approx(z),
    };
    for _ in 0..config.epochs {
        for (s, e) in batches(x.len(), config.batch_size) {
            let mut gw = vec![0.0; d];
            let mut gb = 0.0;
            for i in s..e {
                let z = b + x[i].iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
                let g = f(z) - y[i];
                gw.iter_mut()
                    .zip(&x[i])
                    .for_each(|(acc, xi)| *acc += g * xi);
                gb += g;
            }
            let k = config.learning_rate / (e - s) as f64;
            for (wj, gj) in w.iter_mut().zip(&gw) {
                *wj -= k * gj + config.learning_rate * config.l2 * *wj;
            }
            b -= k * gb;
        }
        let (rw, rb) = scaling.to_raw(&w, b);
        epoch_models.push(Model {
            model: config.model,
            features: features.clone(),
            weights: rw,
            intercept: rb,
        });
    }
    let model = epoch_models.last().cloned().unwrap_or(Model {
        model: config.model,
        features,
        weights: vec![0.0; d],
        intercept: 0.0,
    });
    PlainResult {
        model,
        epoch_models,
        scaling,
    }
}

/// The training loss of each epoch's model on the given rows.
pub fn loss_curve(epoch_models: &[Model], parties: &[PartyData]) -> Vec<f64> {
    let (rows, labels) = pool(parties);
    epoch_models
        .iter()
        .map(|m| metrics::loss(m, &rows, &labels))
        .collect()
}

/// The ridge normal equations `(X^T X / N + l2 I') w = X^T y / N` with an intercept column appended to
/// `rows` (`I'` leaves the intercept unpenalized); returns the weights with the intercept last. Solved by
/// Gauss-Jordan elimination with partial pivoting; a direction with a pivot below `1e-12` (a singular system)
/// gets weight 0.
pub fn ridge(rows: &[Vec<f64>], labels: &[f64], l2: f64) -> Vec<f64> {
    damped_ridge(rows, labels, l2, 0.0)
}

/// The system the secure closed form solves ([`crate::closed_form`]): [`ridge`] with
/// [`crate::closed_form::DAMPING`] added to every diagonal entry, the intercept's too.
pub fn closed_form(rows: &[Vec<f64>], labels: &[f64], l2: f64) -> Vec<f64> {
    let delta = crate::closed_form::DAMPING;
    damped_ridge(rows, labels, l2 + delta, delta)
}

/// [`ridge`] with `intercept_l2` on the intercept's diagonal entry.
fn damped_ridge(rows: &[Vec<f64>], labels: &[f64], l2: f64, intercept_l2: f64) -> Vec<f64> {
    let p = rows.first().map_or(0, Vec::len) + 1;
    let n = rows.len().max(1) as f64;
    let mut a = vec![vec![0.0; p + 1]; p];
    for (r, &y) in rows.iter().zip(labels) {
        let v: Vec<f64> = r.iter().copied().chain([1.0]).collect();
        for (row, &vi) in a.iter_mut().zip(&v) {
            row.iter_mut()
                .zip(&v)
                .for_each(|(acc, &vj)| *acc += vi * vj / n);
            row[p] += vi * y / n;
        }
    }
    for (j, row) in a.iter_mut().enumerate() {
        row[j] += if j + 1 < p { l2 } else { intercept_l2 };
    }
    gauss_jordan(a)
}

/// Ordinary least squares with an intercept on raw values, by the normal equations (Gauss-Jordan with
/// partial pivoting); `None` if they are singular. The reference linear regression converges to.
pub fn least_squares(rows: &[Vec<f64>], labels: &[f64], features: &[String]) -> Option<Model> {
    let d = rows.first()?.len() + 1;
    let mut a = vec![vec![0.0; d + 1]; d];
    for (r, &y) in rows.iter().zip(labels) {
        let p: Vec<f64> = r.iter().copied().chain([1.0]).collect();
        for (row, &pi) in a.iter_mut().zip(&p) {
            row.iter_mut().zip(&p).for_each(|(v, &pj)| *v += pi * pj);
            row[d] += pi * y;
        }
    }
    for i in 0..d {
        let best = (i..d).max_by(|&x, &y| a[x][i].abs().total_cmp(&a[y][i].abs()))?;
        a.swap(i, best);
        let pivot = a[i][i];
        if pivot.abs() < 1e-12 {
            return None;
        }
        a[i].iter_mut().for_each(|v| *v /= pivot);
        let row_i = a[i].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != i {
                let f = row[i];
                row.iter_mut().zip(&row_i).for_each(|(v, p)| *v -= f * p);
            }
        }
    }
    Some(Model {
        model: ModelKind::Linear,
        features: features.to_vec(),
        weights: a[..d - 1].iter().map(|r| r[d]).collect(),
        intercept: a[d - 1][d],
    })
}

/// Logistic regression's converged weights (intercept last) on standardized `rows`: the zero of the gradient
/// `X^T (f(X w) - y) + I' w / c` (scikit-learn's `LogisticRegression(C = c)` objective: penalty
/// `|w|^2 / (2c)` on the summed loss, intercept not penalized) by Newton's method in f64, with `f` the
/// exact sigmoid or the one of the secure run ([`Link::Approx`]: [`sigmoid::saturating`], whose Hessian
/// weights are its derivative, zero where clamped, the intercept's diagonal damped by `1 / c` as on the
/// shares). Stops
/// when no weight moves by `1e-12`, or after 200 iterations.
pub fn newton(rows: &[Vec<f64>], labels: &[f64], c: f64, link: Link) -> Vec<f64> {
    let p = rows.first().map_or(0, Vec::len) + 1;
    let lambda = 1.0 / c;
    let mut w = vec![0.0; p];
    for _ in 0..200 {
        let mut a = vec![vec![0.0; p + 1]; p];
        for (r, &y) in rows.iter().zip(labels) {
            let v: Vec<f64> = r.iter().copied().chain([1.0]).collect();
            let z: f64 = v.iter().zip(&w).map(|(a, b)| a * b).sum();
            let (s, slope) = match link {
                Link::Exact => {
                    let s = sigmoid::sigmoid(z);
                    (s, s * (1.0 - s))
                }
                Link::Approx => {
                    let slope = if z.abs() > sigmoid::CLAMP_AT {
                        0.0
                    } else {
                        sigmoid::saturation() * crate::newton::poly_slope(z)
                    };
                    (sigmoid::saturating(z), slope)
                }
            };
            for (row, &vi) in a.iter_mut().zip(&v) {
                row.iter_mut()
                    .zip(&v)
                    .for_each(|(acc, &vj)| *acc += slope * vi * vj);
                row[p] += vi * (s - y);
            }
        }
        for (j, row) in a.iter_mut().enumerate() {
            row[j] += lambda;
            if j + 1 < p {
                row[p] += lambda * w[j];
            }
        }
        if link == Link::Exact {
            // The exact Hessian needs no damping of the intercept.
            a[p - 1][p - 1] -= lambda;
        }
        let step = gauss_jordan(a);
        let moved = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
        w.iter_mut().zip(&step).for_each(|(w, s)| *w -= s);
        if moved < 1e-12 || !moved.is_finite() {
            break;
        }
    }
    w
}

/// Solves the augmented system `a` (`p x (p + 1)`) by Gauss-Jordan elimination with partial pivoting; a
/// pivot below `1e-12` leaves its unknown at 0.
fn gauss_jordan(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let p = a.len();
    let mut solved = vec![false; p];
    for i in 0..p {
        let Some(best) = (i..p).max_by(|&x, &y| a[x][i].abs().total_cmp(&a[y][i].abs())) else {
            continue;
        };
        if a[best][i].abs() < 1e-12 {
            continue;
        }
        a.swap(i, best);
        let pivot = a[i][i];
        a[i].iter_mut().for_each(|v| *v /= pivot);
        let row_i = a[i].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != i {
                let f = row[i];
                row.iter_mut().zip(&row_i).for_each(|(v, q)| *v -= f * q);
            }
        }
        solved[i] = true;
    }
    (0..p)
        .map(|i| if solved[i] { a[i][p] } else { 0.0 })
        .collect()
}

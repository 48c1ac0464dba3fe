//! Standardization statistics: the global mean and standard deviation of every feature (and of a linear
//! model's label), and the map from a model on standardized values back to raw values.
//!
//! The secure run computes them from secret-shared sums that are opened as totals (see [`crate::secure`]);
//! the plaintext baseline computes them with the same formula from the pooled rows, so both standardize
//! identically. The opened totals are not private per party: a party that subtracts its own sums gets the
//! sums of all the others, so with two parties each learns the other's mean and variance of every column
//! (and of a linear model's label), and any `n - 1` parties together learn the remaining one's. In a
//! vertical run each party announces its own columns' statistics outright ([`crate::vertical`]). The standard deviation is the population one (as numpy's `std`), and a constant column gets
//! 1 instead of 0.

use serde::{Deserialize, Serialize};

/// Means and standard deviations of the features and of the label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Mean of each feature.
    pub mean: Vec<f64>,
    /// Standard deviation of each feature.
    pub sd: Vec<f64>,
    /// Mean of the label (0 when the label is not standardized).
    pub label_mean: f64,
    /// Standard deviation of the label (1 when the label is not standardized).
    pub label_sd: f64,
}

impl Scaling {
    /// No standardization.
    pub fn identity(features: usize) -> Self {
        Scaling {
            mean: vec![0.0; features],
            sd: vec![1.0; features],
            label_mean: 0.0,
            label_sd: 1.0,
        }
    }

    /// From totals over `count` rows: `sums` and `squares` hold the feature sums and sums of squares; the
    /// label's, if it is standardized, come as `label`.
    pub fn from_sums(
        count: usize,
        sums: &[f64],
        squares: &[f64],
        label: Option<(f64, f64)>,
    ) -> Self {
        let n = count.max(1) as f64;
        let moments = |s: f64, q: f64| {
            let mean = s / n;
            let var = (q / n - mean * mean).max(0.0);
            let sd = var.sqrt();
            (mean, if sd > 1e-9 { sd } else { 1.0 })
        };
        let (mean, sd) = sums
            .iter()
            .zip(squares)
            .map(|(&s, &q)| moments(s, q))
            .unzip();
        let (label_mean, label_sd) = label.map_or((0.0, 1.0), |(s, q)| moments(s, q));
        Scaling {
            mean,
            sd,
            label_mean,
            label_sd,
        }
    }

    /// The statistics of pooled plaintext rows, by the same formula as the secure run.
    pub fn of_rows(rows: &[Vec<f64>], labels: &[f64], scale_label: bool) -> Self {
        let d = rows.first().map_or(0, Vec::len);
        let mut sums = vec![0.0; d];
        let mut squares = vec![0.0; d];
        for r in rows {
            for (j, &v) in r.iter().enumerate() {
                sums[j] += v;
                squares[j] += v * v;
            }
        }
        let label = scale_label.then(|| {
            (
                labels.iter().sum::<f64>(),
                labels.iter().map(|v| v * v).sum::<f64>(),
            )
        });
        Scaling::from_sums(rows.len(), &sums, &squares, label)
    }

    /// A row in standardized units.
    pub fn standardize(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(self.mean.iter().zip(&self.sd))
            .map(|(&v, (&m, &s))| (v - m) / s)
            .collect()
    }

    /// A label in standardized units.
    pub fn standardize_label(&self, y: f64) -> f64 {
        (y - self.label_mean) / self.label_sd
    }

    /// Weights and intercept on raw values from weights and intercept on standardized values.
    pub fn to_raw(&self, weights: &[f64], intercept: f64) -> (Vec<f64>, f64) {
        let w: Vec<f64> = weights
            .iter()
            .zip(&self.sd)
            .map(|(&w, &s)| w / s * self.label_sd)
            .collect();
        let shift: f64 = weights
            .iter()
            .zip(self.mean.iter().zip(&self.sd))
            .map(|(&w, (&m, &s))| w * m / s)
            .sum();
        (w, self.label_mean + self.label_sd * (intercept - shift))
    }

    /// The inverse of [`Scaling::to_raw`]: weights on standardized values with the intercept last.
    pub fn to_standardized(&self, weights: &[f64], intercept: f64) -> Vec<f64> {
        let w: Vec<f64> = weights
            .iter()
            .zip(&self.sd)
            .map(|(&w, &s)| w * s / self.label_sd)
            .collect();
        let shift: f64 = w
            .iter()
            .zip(self.mean.iter().zip(&self.sd))
            .map(|(&w, (&m, &s))| w * m / s)
            .sum();
        let b = (intercept - self.label_mean) / self.label_sd + shift;
        w.into_iter().chain([b]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_model_scores_like_the_standardized_one() {
        let rows = vec![
            vec![1.0, 10.0],
            vec![2.0, 30.0],
            vec![4.0, 20.0],
            vec![3.0, 20.0],
        ];
        let labels = vec![5.0, 7.0, 9.0, 1.0];
        let s = Scaling::of_rows(&rows, &labels, true);
        assert!((s.mean[1] - 20.0).abs() < 1e-12 && (s.sd[1] - 50f64.sqrt()).abs() < 1e-12);
        let (w, b) = ([0.3, -0.7], 0.2);
        let (rw, rb) = s.to_raw(&w, b);
        for r in &rows {
            let z: f64 = s
                .standardize(r)
                .iter()
                .zip(&w)
                .map(|(x, w)| x * w)
                .sum::<f64>()
                + b;
            let raw: f64 = r.iter().zip(&rw).map(|(x, w)| x * w).sum::<f64>() + rb;
            assert!((s.label_mean + s.label_sd * z - raw).abs() < 1e-9);
        }
        let back = s.to_standardized(&rw, rb);
        assert!((back[0] - w[0]).abs() < 1e-12 && (back[1] - w[1]).abs() < 1e-12);
        assert!((back[2] - b).abs() < 1e-12);
        let c = Scaling::of_rows(&[vec![3.0], vec![3.0]], &[0.0, 1.0], false);
        assert_eq!((c.sd[0], c.label_sd), (1.0, 1.0));
    }
}

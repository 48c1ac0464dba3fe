//! Model quality: accuracy, ROC AUC and log-loss for classifiers, R^2 and mean squared error for regression.

use serde::{Deserialize, Serialize};

use crate::config::ModelKind;
use crate::model::Model;

/// Test metrics of one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Share of correct 0/1 predictions (threshold 0.5), for logistic models.
    pub accuracy: Option<f64>,
    /// Area under the ROC curve, for logistic models.
    pub roc_auc: Option<f64>,
    /// Mean log-loss (probabilities clipped to [1e-15, 1 - 1e-15]), for logistic models.
    pub log_loss: Option<f64>,
    /// Coefficient of determination, for linear models.
    pub r2: Option<f64>,
    /// Mean squared error, for linear models.
    pub mse: Option<f64>,
}

/// The metrics that were computed, for people: `accuracy 0.9500, ROC AUC 0.9800, log-loss 0.1200` (a
/// classifier) or `R^2 0.4500, MSE 2900.0000` (a regression); the ones not computed are left out.
impl std::fmt::Display for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("accuracy", self.accuracy),
            ("ROC AUC", self.roc_auc),
            ("log-loss", self.log_loss),
            ("R^2", self.r2),
            ("MSE", self.mse),
        ]
        .iter()
        .filter_map(|(name, v)| v.map(|v| format!("{name} {v:.4}")))
        .collect();
        if parts.is_empty() {
            f.write_str("no metrics")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Evaluates `model` on rows and labels.
pub fn evaluate(model: &Model, rows: &[Vec<f64>], labels: &[f64]) -> Metrics {
    let p = model.predict_all(rows);
    match model.model {
        ModelKind::Logistic => Metrics {
            accuracy: Some(accuracy(&p, labels)),
            roc_auc: Some(roc_auc(&p, labels)),
            log_loss: Some(log_loss(&p, labels)),
            ..Metrics::default()
        },
        ModelKind::Linear => Metrics {
            r2: Some(r2(&p, labels)),
            mse: Some(mse(&p, labels)),
            ..Metrics::default()
        },
    }
}

/// The training loss the model kind minimises: log-loss for logistic, mean squared error for linear.
pub fn loss(model: &Model, rows: &[Vec<f64>], labels: &[f64]) -> f64 {
    let p = model.predict_all(rows);
    match model.model {
        ModelKind::Logistic => log_loss(&p, labels),
        ModelKind::Linear => mse(&p, labels),
    }
}

/// Share of `p > 0.5` that agree with `y > 0.5`.
pub fn accuracy(p: &[f64], y: &[f64]) -> f64 {
    let right = p
        .iter()
        .zip(y)
        .filter(|(&p, &y)| (p > 0.5) == (y > 0.5))
        .count();
    right as f64 / p.len().max(1) as f64
}

/// Mean log-loss.
pub fn log_loss(p: &[f64], y: &[f64]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    s / p.len().max(1) as f64
}

/// ROC AUC by the rank statistic (ties count one half).
pub fn roc_auc(p: &[f64], y: &[f64]) -> f64 {
    let pos: Vec<f64> = p
        .iter()
        .zip(y)
        .filter(|(_, &y)| y > 0.5)
        .map(|(&p, _)| p)
        .collect();
    let neg: Vec<f64> = p
        .iter()
        .zip(y)
        .filter(|(_, &y)| y <= 0.5)
        .map(|(&p, _)| p)
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut wins = 0.0;
    for &a in &pos {
        for &b in &neg {
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()) as f64
}

/// Mean squared error.
pub fn mse(p: &[f64], y: &[f64]) -> f64 {
    p.iter().zip(y).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / p.len().max(1) as f64
}

/// Coefficient of determination `1 - SS_res / SS_tot`.
pub fn r2(p: &[f64], y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
    let ss_tot: f64 = y.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = p.iter().zip(y).map(|(p, y)| (p - y).powi(2)).sum();
    1.0 - ss_res / ss_tot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_print_only_what_was_computed() {
        let m = Metrics {
            accuracy: Some(1.0),
            roc_auc: Some(0.5),
            ..Metrics::default()
        };
        let text = m.to_string();
        assert_eq!(text, "accuracy 1.0000, ROC AUC 0.5000");
        let r = Metrics {
            r2: Some(0.25),
            ..Metrics::default()
        }
        .to_string();
        assert_eq!(r, "R^2 0.2500");
        for t in [text, r] {
            assert!(!t.contains("Some") && !t.contains("None"), "{t}");
        }
    }

    #[test]
    fn known_values() {
        let y = [0.0, 0.0, 1.0, 1.0];
        let p = [0.1, 0.4, 0.35, 0.8];
        assert_eq!(accuracy(&p, &y), 0.75);
        assert_eq!(roc_auc(&p, &y), 0.75);
        let ll = log_loss(&p, &y);
        let want = -(0.9f64.ln() + 0.6f64.ln() + 0.35f64.ln() + 0.8f64.ln()) / 4.0;
        assert!((ll - want).abs() < 1e-12);
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(r2(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(mse(&[1.0, 3.0], &[2.0, 2.0]), 1.0);
    }
}

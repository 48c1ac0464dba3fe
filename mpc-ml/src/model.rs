//! A trained model on raw feature values, and its scoring.
//!
//! The weights and the intercept apply to the raw, unstandardized values of the CSV columns, so anyone can
//! score a row without the training pipeline: `z = intercept + sum_j weights[j] * x[j]`, then
//! `sigmoid(z)` for a logistic model (the exact sigmoid: the approximation is only a training device).

use serde::{Deserialize, Serialize};

use crate::config::ModelKind;
use crate::sigmoid::sigmoid;

/// A linear or logistic regression model on raw feature values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The kind of model.
    pub model: ModelKind,
    /// Feature names, in the order of `weights`.
    pub features: Vec<String>,
    /// One weight per feature, on raw values.
    pub weights: Vec<f64>,
    /// The intercept, on raw values.
    pub intercept: f64,
}

impl Model {
    /// The linear score `intercept + w . x`.
    pub fn score(&self, row: &[f64]) -> f64 {
        self.intercept
            + row
                .iter()
                .zip(&self.weights)
                .map(|(x, w)| x * w)
                .sum::<f64>()
    }

    /// The prediction: a probability for a logistic model, a value for a linear one.
    pub fn predict(&self, row: &[f64]) -> f64 {
        match self.model {
            ModelKind::Logistic => sigmoid(self.score(row)),
            ModelKind::Linear => self.score(row),
        }
    }

    /// Predictions for many rows.
    pub fn predict_all(&self, rows: &[Vec<f64>]) -> Vec<f64> {
        rows.iter().map(|r| self.predict(r)).collect()
    }
}

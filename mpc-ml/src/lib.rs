//! Data loading and validation, joint standardization, and linear and logistic regression on secret shares.
//!
//! This crate is a placeholder until the mpc-ml issue lands: it will hold CSV loading with errors naming
//! file, line and column, horizontal and vertical partitioning, training, metrics and model export.

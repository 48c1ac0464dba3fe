//! The online protocols, one per file, each vectorized so that one round moves a whole batch.
//!
//! | protocol | rounds | elements sent per party |
//! | --- | --- | --- |
//! | [`input::share_from`] | 1 (owner to others) | a 32-byte seed to each other party |
//! | [`open::open`] | 1 | `len` to each other party |
//! | [`mul::mul`] (Beaver) | 1 | `2 len` to each other party |
//! | [`dot::dot_rows`] | 1 | `2 m k` to each other party |
//! | [`matmul::matmul`] (matrix triple) | 1 | `m k + k n` to each other party |
//! | [`matmul::MaskedMatrix::mul`] (SecureML reuse) | 1 | `k' n` to each other party |
//! | [`trunc::trunc`] (probabilistic, with a pair) | 1 | `len` to each other party |
//! | [`trunc::trunc_local_two_party`] | 0 | nothing |
//! | [`fused::PendingTrunc`] (truncation opened with the next Beaver openings) | 0 of its own | `len` plus one per later use |
//! | [`poly::eval`] | 2 per doubling level + 1 | see its docs |

pub mod bits;
pub mod compare;
pub mod dot;
pub mod fused;
pub mod input;
pub mod matmul;
pub mod mul;
pub mod open;
pub mod poly;
pub mod trunc;

#[cfg(test)]
pub(crate) mod test_util;

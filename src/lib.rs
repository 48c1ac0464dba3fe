pub use mpc_core as core;

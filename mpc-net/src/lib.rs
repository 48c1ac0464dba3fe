//! The QUIC mesh of a real deployment: quinn and rustls with pinned self-signed certificates, implementing
//! [`mpc_core::net::Network`] so that every mpc-core protocol runs unchanged between processes and machines.
//!
//! This crate is a placeholder until the mpc-net issue lands: it will hold key generation, the party
//! configuration and roster, the mutually authenticated mesh, framing and abort handling.

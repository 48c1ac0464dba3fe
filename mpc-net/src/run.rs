//! The run id: a fresh value per run, bound by the set-up, so that nothing from another run of the same
//! session (a stale process, a replayed hello or transcript) is taken for part of this one.
//!
//! Each party draws a 32-byte [`fresh_nonce`] from the operating system when it connects and sends it in
//! its hello on every connection. The mesh is complete, so once every link is up each party holds every
//! party's nonce (its own and one per peer) and derives [`run_id`]: SHA-256 over the session id, the roster
//! digest and the nonces in party order. Each side then sends its run id on every control stream and
//! compares the peer's with its own ([`crate::wire::Control::Run`]); a mismatch means the two parties saw
//! different processes somewhere (or a hello from another run) and refuses the link, naming the peer. The
//! run id is public (every nonce crosses the wire in the clear inside TLS); [`crate::Mesh::run_id`] returns
//! it so that a report can print it.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// The id of one run of a session, identical on every party of the run.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunId(pub [u8; 32]);

impl std::fmt::Display for RunId {
    /// Lower-case hex of all 32 bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunId({self})")
    }
}

/// A fresh random nonce from the operating system's generator.
pub fn fresh_nonce() -> [u8; 32] {
    let mut n = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

/// The run id of a session whose parties drew `nonces` (indexed by party id).
pub fn run_id(session_id: &str, roster_digest: &[u8; 32], nonces: &[[u8; 32]]) -> RunId {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(b"mpc-net run id v2");
    field(session_id.as_bytes());
    field(roster_digest);
    field(&(nonces.len() as u64).to_le_bytes());
    for n in nonces {
        field(n);
    }
    RunId(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_id_changes_with_every_input() {
        let nonces = [[1u8; 32], [2; 32], [3; 32]];
        let base = run_id("s", &[9; 32], &nonces);
        assert_eq!(base, run_id("s", &[9; 32], &nonces));
        for i in 0..3 {
            let mut other = nonces;
            other[i][0] ^= 1;
            assert_ne!(base, run_id("s", &[9; 32], &other), "nonce {i}");
        }
        let mut swapped = nonces;
        swapped.swap(0, 1);
        assert_ne!(base, run_id("s", &[9; 32], &swapped));
        assert_ne!(base, run_id("t", &[9; 32], &nonces));
        assert_ne!(base, run_id("s", &[8; 32], &nonces));
        assert_ne!(base, run_id("s", &[9; 32], &nonces[..2]));
    }

    #[test]
    fn nonces_are_fresh() {
        let a = fresh_nonce();
        assert_ne!(a, fresh_nonce());
        assert_ne!(a, [0; 32]);
    }

    #[test]
    fn run_ids_print_as_hex() {
        let id = RunId([0xab; 32]);
        assert_eq!(id.to_string(), "ab".repeat(32));
        assert!(format!("{id:?}").starts_with("RunId(abab"));
    }
}

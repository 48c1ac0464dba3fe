//! Secrets never print and secret buffers are handed out in wiping containers.
//!
//! Every secret type's `Debug` shows `<redacted>` and none of the digits of the value it holds (one test per
//! type), and the functions that return OT keys, choices, pads or shares return `Zeroizing` buffers (the
//! explicit types below are the compile-time assertion; the values are checked against their definition).

use mpc_core::fixed::FixedPoint;
use mpc_core::ot::hash::{AesPrg, Block};
use mpc_core::ot::{base, fixed_choice, gilboa, iknp};
use mpc_core::preprocessing::{MaskTriple, MatrixMask, MatrixTriple, Squares, Triples, TruncPairs};
use mpc_core::prg::{Prg, Seed};
use mpc_core::protocols::fused::PendingTrunc;
use mpc_core::protocols::matmul::MaskedMatrix;
use mpc_core::{simulate, Ring, Shared, SharedMatrix, Z128, Z64};
use rand_core::RngCore;
use zeroize::Zeroizing;

/// A value whose decimal digits would be recognizable in any output.
const SECRET: u64 = 987_654_321_987;

/// Asserts that `shown` is redacted and does not contain the secret's digits.
fn assert_redacted(shown: &str) {
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains(&SECRET.to_string()), "{shown}");
    assert!(!shown.contains("987654"), "{shown}");
}

fn secret_vec(n: usize) -> Vec<Z64> {
    vec![Z64(SECRET); n]
}

#[test]
fn shared_debug_is_redacted() {
    assert_redacted(&format!("{:?}", Shared::from_share(secret_vec(3))));
}

#[test]
fn shared_matrix_debug_is_redacted() {
    let m = SharedMatrix::new(1, 2, Shared::from_share(secret_vec(2))).unwrap();
    assert_redacted(&format!("{m:?}"));
}

#[test]
fn seed_prg_and_expander_debug_is_redacted() {
    let bytes: [u8; 32] = core::array::from_fn(|i| (SECRET >> (i % 8)) as u8);
    let seed = Seed::from_bytes(bytes);
    for shown in [
        format!("{seed:?}"),
        format!("{:?}", seed.prg(0)),
        format!("{:?}", seed.expander(0)),
        format!("{:?}", Prg::from_entropy()),
    ] {
        assert_redacted(&shown);
    }
}

#[test]
fn aes_prg_debug_is_redacted() {
    assert_redacted(&format!("{:?}", AesPrg::new(SECRET as Block)));
}

#[test]
fn triples_debug_is_redacted() {
    let t = Triples::from_shares(secret_vec(2), secret_vec(2), secret_vec(2)).unwrap();
    assert_redacted(&format!("{t:?}"));
}

#[test]
fn squares_debug_is_redacted() {
    let s =
        Squares::from_shares(secret_vec(2), secret_vec(2), secret_vec(2), secret_vec(2)).unwrap();
    assert_redacted(&format!("{s:?}"));
}

#[test]
fn matrix_triple_debug_is_redacted() {
    let t =
        MatrixTriple::from_shares(1, 1, 1, secret_vec(1), secret_vec(1), secret_vec(1)).unwrap();
    assert_redacted(&format!("{t:?}"));
}

#[test]
fn matrix_mask_debug_is_redacted() {
    let m = MatrixMask::from_share(0, 1, 2, secret_vec(2)).unwrap();
    assert_redacted(&format!("{m:?}"));
    assert_redacted(&format!("{:?}", MaskedMatrix::owned(m)));
}

#[test]
fn mask_triple_debug_is_redacted() {
    assert_redacted(&format!(
        "{:?}",
        MaskTriple::from_shares(0, secret_vec(2), secret_vec(2))
    ));
}

#[test]
fn trunc_pairs_debug_is_redacted() {
    let p = TruncPairs::from_shares(20, secret_vec(2), secret_vec(2)).unwrap();
    assert_redacted(&format!("{p:?}"));
}

#[tokio::test]
async fn pending_trunc_debug_is_redacted() {
    let shown = simulate(1, |ctx| async move {
        let fx = FixedPoint::Z64_DEFAULT;
        let pairs = TruncPairs::from_shares(fx.frac_bits, secret_vec(2), secret_vec(2))?;
        let x = Shared::from_share(secret_vec(2));
        let p = PendingTrunc::start(&ctx, &x, fx, pairs)?;
        Ok(format!("{p:?}"))
    })
    .await
    .unwrap();
    assert_redacted(&shown[0]);
}

#[test]
fn ot_ends_debug_is_redacted() {
    let delta = SECRET as Block;
    let keys: Vec<Block> = (0..iknp::KAPPA as u128).map(|i| delta + i).collect();
    let pairs: Vec<[Block; 2]> = keys.iter().map(|&k| [k, k + 1]).collect();
    let sender = iknp::IknpSender::new(delta, &keys).unwrap();
    let receiver = iknp::IknpReceiver::new(&pairs).unwrap();
    assert_redacted(&format!("{sender:?}"));
    assert_redacted(&format!("{receiver:?}"));
    assert_redacted(&format!("{:?}", iknp::PairOt { sender, receiver }));
}

#[test]
fn base_ot_states_debug_is_redacted() {
    let mut rng = Prg::from_entropy();
    let (sender, a) = base::Sender::start(&mut rng, 0, 1);
    let (receiver, _) = base::Receiver::respond(&mut rng, 0, 1, &a, &[true, false]).unwrap();
    assert!(format!("{sender:?}").contains("<redacted>"));
    assert!(format!("{receiver:?}").contains("<redacted>"));
}

/// OT keys, choices, OT outputs, random OTs and the shares of OT multiplications come back in `Zeroizing`
/// buffers (the annotated types fail to compile otherwise), and they are correct.
#[test]
fn secret_buffers_are_zeroizing() {
    let mut rng = Prg::from_entropy();
    // Base OTs: both ends' keys.
    let (sender, a) = base::Sender::start(&mut rng, 0, 1);
    let choices = [true, false, true];
    let (receiver, b) = base::Receiver::respond(&mut rng, 0, 1, &a, &choices).unwrap();
    let pairs: Zeroizing<Vec<[Block; 2]>> = sender.finish(&b, 3).unwrap();
    let chosen: Zeroizing<Vec<Block>> = receiver.keys();
    for (i, &c) in choices.iter().enumerate() {
        assert_eq!(chosen[i], pairs[i][c as usize]);
    }
    // OT extension: q, t and the random OTs.
    let delta = (rng.next_u64() as u128) << 64 | rng.next_u64() as u128;
    let base_pairs: Vec<[Block; 2]> = (0..iknp::KAPPA)
        .map(|_| [rng.next_u64() as u128, rng.next_u64() as u128])
        .collect();
    let base_chosen: Vec<Block> = (0..iknp::KAPPA)
        .map(|i| base_pairs[i][((delta >> i) & 1) as usize])
        .collect();
    let mut s = iknp::IknpSender::new(delta, &base_chosen).unwrap();
    let mut r = iknp::IknpReceiver::new(&base_pairs).unwrap();
    let y: Vec<Z128> = (0..2u128).map(|i| Z128(SECRET as u128 + i)).collect();
    let choice_blocks: Zeroizing<Vec<Block>> = gilboa::choice_blocks(&y);
    let (msg, t): (Vec<u8>, Zeroizing<Vec<Block>>) =
        r.extend(&choice_blocks, iknp::Check::None, &mut rng);
    let q: Zeroizing<Vec<Block>> = s
        .extend(choice_blocks.len(), &msg, iknp::Check::None)
        .unwrap();
    let ro_s: Zeroizing<Vec<[Block; 2]>> = iknp::random_ot_sender(&q, delta);
    let ro_r: Zeroizing<Vec<Block>> = iknp::random_ot_receiver(&t);
    assert!(ro_r.iter().zip(ro_s.iter()).all(|(k, m)| m.contains(k)));
    // Gilboa: the two shares of x * y.
    let x: Vec<Z128> = vec![Z128(3), Z128(u128::MAX - 4)];
    let (msg, s_share): (Vec<u8>, Zeroizing<Vec<Z128>>) = gilboa::send(&q[..256], delta, &x, 1);
    let r_share: Zeroizing<Vec<Z128>> = gilboa::receive(&t[..256], &y, 1, &msg).unwrap();
    for i in 0..2 {
        assert_eq!(s_share[i] + r_share[i], x[i] * y[i]);
    }
    // Fixed-choice Gilboa: small signed values choose once, in their own OTs.
    let bits = 40;
    let small = vec![Z128::from_i128(-12_345), Z128::from_i128(67_890)];
    let choices: Zeroizing<Vec<Block>> = gilboa::choice_blocks_bounded(&small, bits as usize);
    let (msg, t) = r.extend(&choices, iknp::Check::None, &mut rng);
    let q = s.extend(choices.len(), &msg, iknp::Check::None).unwrap();
    let beta = vec![Z128(SECRET as u128), Z128(u128::MAX - 7)];
    let (msg, s_share): (Vec<u8>, Zeroizing<Vec<Z128>>) =
        fixed_choice::send(&q, delta, 0, bits, &beta, 1).unwrap();
    let r_share: Zeroizing<Vec<Z128>> =
        fixed_choice::receive(&t, &small, 0, bits, 1, &msg).unwrap();
    for i in 0..2 {
        assert_eq!(s_share[i] + r_share[i], small[i] * beta[i]);
    }
}

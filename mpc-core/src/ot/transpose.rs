//! Bit-matrix transposition in 128 x 128 blocks, the column-to-row step of IKNP.
//!
//! The block is transposed by Eklundh's recursive swap: at level `j` (64, 32, ..., 1), row `k` and row `k + j`
//! (for `k` with bit `j` clear) exchange their `j x j` off-diagonal sub-blocks. Levels below 64 act on the two
//! 64-bit halves of every row independently, so each row is kept as two `u64` lanes in separate arrays and the
//! inner loops run over contiguous rows, which the compiler vectorizes with SSE2 without any `unsafe`.

use zeroize::Zeroize;

use super::hash::Block;

/// Transposes a 128 x 128 bit matrix in place: bit `c` of row `r` becomes bit `r` of row `c`.
pub fn transpose_128(m: &mut [Block; 128]) {
    let mut rows = [[0u64; 2]; 128];
    for (r, x) in rows.iter_mut().zip(m.iter()) {
        *r = [*x as u64, (*x >> 64) as u64];
    }
    transpose_rows(&mut rows);
    for (r, x) in rows.iter().zip(m.iter_mut()) {
        *x = (r[1] as u128) << 64 | r[0] as u128;
    }
    // The scratch holds OT keys' bits: wiped once per call.
    rows.zeroize();
}

/// The transposition on rows given as `[low, high]` 64-bit lanes. Levels below 64 act on both lanes
/// alike, lane by lane, so each pair of rows is one two-lane SIMD operation.
#[inline(always)]
fn transpose_rows(rows: &mut [[u64; 2]; 128]) {
    // Level 64: the high half of row k trades places with the low half of row k + 64.
    let (top, bottom) = rows.split_at_mut(64);
    for (a, b) in top.iter_mut().zip(bottom.iter_mut()) {
        std::mem::swap(&mut a[1], &mut b[0]);
    }
    level::<32>(rows, 0x0000_0000_ffff_ffff);
    level::<16>(rows, 0x0000_ffff_0000_ffff);
    level::<8>(rows, 0x00ff_00ff_00ff_00ff);
    level::<4>(rows, 0x0f0f_0f0f_0f0f_0f0f);
    level::<2>(rows, 0x3333_3333_3333_3333);
    level::<1>(rows, 0x5555_5555_5555_5555);
}

/// One swap level: rows `k` and `k + J` (bit `J` of `k` clear) exchange their `J x J` off-diagonal
/// sub-blocks in both lanes. `J` is a constant so the inner loop unrolls and vectorizes.
#[inline(always)]
fn level<const J: usize>(rows: &mut [[u64; 2]; 128], mask: u64) {
    for chunk in rows.chunks_exact_mut(2 * J) {
        let (top, bottom) = chunk.split_at_mut(J);
        for (x, y) in top.iter_mut().zip(bottom.iter_mut()) {
            let t0 = ((x[0] >> J) ^ y[0]) & mask;
            let t1 = ((x[1] >> J) ^ y[1]) & mask;
            x[0] ^= t0 << J;
            x[1] ^= t1 << J;
            y[0] ^= t0;
            y[1] ^= t1;
        }
    }
}

/// Transposes a `128 x (128 * blocks)` bit matrix given as 128 rows of `blocks` words (row `i` is
/// `rows[i * blocks..(i + 1) * blocks]`) into `128 * blocks` rows of 128 bits.
pub fn transpose_columns(rows: &[Block], blocks: usize, out: &mut [Block]) {
    debug_assert_eq!(rows.len(), 128 * blocks);
    debug_assert_eq!(out.len(), 128 * blocks);
    let mut m = [[0u64; 2]; 128];
    for (b, out) in out.chunks_exact_mut(128).enumerate() {
        for (i, r) in m.iter_mut().enumerate() {
            let x = rows[i * blocks + b];
            *r = [x as u64, (x >> 64) as u64];
        }
        transpose_rows(&mut m);
        for (r, x) in m.iter().zip(out.iter_mut()) {
            *x = (r[1] as u128) << 64 | r[0] as u128;
        }
    }
    // The scratch holds the last block's bits (OT keys): wiped once per call, not per block.
    m.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    fn bit(x: u128, i: usize) -> bool {
        (x >> i) & 1 == 1
    }

    #[test]
    fn transposes_against_the_definition() {
        let mut rng = rand::thread_rng();
        let blocks = 3;
        let rows: Vec<u128> = (0..128 * blocks)
            .map(|_| (rng.next_u64() as u128) << 64 | rng.next_u64() as u128)
            .collect();
        let mut out = vec![0u128; 128 * blocks];
        transpose_columns(&rows, blocks, &mut out);
        for r in 0..128 {
            for c in 0..128 * blocks {
                let input = bit(rows[r * blocks + c / 128], c % 128);
                assert_eq!(bit(out[c], r), input, "row {r} column {c}");
            }
        }
        // Transposing twice is the identity.
        let mut m = [0u128; 128];
        m.copy_from_slice(&out[..128]);
        let original = m;
        transpose_128(&mut m);
        transpose_128(&mut m);
        assert_eq!(m, original);
    }
}

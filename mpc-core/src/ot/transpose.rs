//! Bit-matrix transposition in 128 x 128 blocks, the column-to-row step of IKNP.
//!
//! The block is transposed by Eklundh's recursive swap: at level `j` (64, 32, ..., 1), row `k` and row `k + j`
//! (for `k` with bit `j` clear) exchange their `j x j` off-diagonal sub-blocks. Levels below 64 act on the two
//! 64-bit halves of every row independently, so each row is kept as two `u64` lanes in separate arrays and the
//! inner loops run over contiguous rows, which the compiler vectorizes with SSE2 without any `unsafe`.

use super::hash::Block;

/// Transposes a 128 x 128 bit matrix in place: bit `c` of row `r` becomes bit `r` of row `c`.
pub fn transpose_128(m: &mut [Block; 128]) {
    let mut lo = [0u64; 128];
    let mut hi = [0u64; 128];
    for (i, x) in m.iter().enumerate() {
        lo[i] = *x as u64;
        hi[i] = (*x >> 64) as u64;
    }
    // Level 64: the high half of row k trades places with the low half of row k + 64.
    for k in 0..64 {
        std::mem::swap(&mut hi[k], &mut lo[k + 64]);
    }
    for lane in [&mut lo, &mut hi] {
        swap_levels(lane);
    }
    for (i, x) in m.iter_mut().enumerate() {
        *x = (hi[i] as u128) << 64 | lo[i] as u128;
    }
}

/// Levels 32..1 on one 64-bit lane of 128 rows (two independent 64 x 64 transposes).
#[inline(always)]
fn swap_levels(a: &mut [u64; 128]) {
    const MASKS: [(usize, u64); 6] = [
        (32, 0x0000_0000_ffff_ffff),
        (16, 0x0000_ffff_0000_ffff),
        (8, 0x00ff_00ff_00ff_00ff),
        (4, 0x0f0f_0f0f_0f0f_0f0f),
        (2, 0x3333_3333_3333_3333),
        (1, 0x5555_5555_5555_5555),
    ];
    for (j, mask) in MASKS {
        for base in (0..128).step_by(2 * j) {
            let (top, bottom) = a[base..base + 2 * j].split_at_mut(j);
            for (x, y) in top.iter_mut().zip(bottom.iter_mut()) {
                let t = ((*x >> j) ^ *y) & mask;
                *x ^= t << j;
                *y ^= t;
            }
        }
    }
}

/// Transposes a `128 x (128 * blocks)` bit matrix given as 128 rows of `blocks` words (row `i` is
/// `rows[i * blocks..(i + 1) * blocks]`) into `128 * blocks` rows of 128 bits.
pub fn transpose_columns(rows: &[Block], blocks: usize, out: &mut [Block]) {
    debug_assert_eq!(rows.len(), 128 * blocks);
    debug_assert_eq!(out.len(), 128 * blocks);
    let mut m = [0u128; 128];
    for b in 0..blocks {
        for (i, x) in m.iter_mut().enumerate() {
            *x = rows[i * blocks + b];
        }
        transpose_128(&mut m);
        out[b * 128..(b + 1) * 128].copy_from_slice(&m);
    }
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

//! AES-based PRG expansion and correlation-robust hashing for OT extension.
//!
//! - [`AesPrg`]: AES-128 in counter mode keyed by a 128-bit seed (the base-OT outputs). Block `c` of the stream
//!   is `AES_seed(c)` with the counter as a little-endian 128-bit integer, so the stream of the all-zero seed
//!   starts with the FIPS-197 value `AES_0(0)` (known-answer test below).
//! - [`ccr_hash`]: the circular-correlation-robust hash of Guo, Katz, Wang and Yu ("Efficient and Secure
//!   Multiparty Computation from Fixed-Key Block Ciphers", IEEE S&P 2020, section 7.3):
//!   `H(x) = pi(sigma(x)) xor sigma(x)` with `pi` fixed-key AES and `sigma(x_L || x_R) = (x_L xor x_R || x_L)`
//!   a linear orthomorphism. It is what IKNP needs to break the `Delta` correlation between the two messages
//!   of each OT (semi-honest receiver, uniform `t_j`). Longer outputs use counters in the high word
//!   (`H(x xor (c << 64))`), still correlation-robust for the distinct inputs of a semi-honest run.
//!
//! Both run on AES-NI when the CPU has it (the `aes` crate detects it at run time), with eight blocks in flight.
//! Key schedules are wiped on drop (the `aes` crate's `zeroize` feature).

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use zeroize::{Zeroize, Zeroizing};

/// A 128-bit block, little-endian: bit `i` of the block is bit `i` of the integer.
pub type Block = u128;

/// The public fixed key of the permutation `pi` (the first 128 bits of pi's fractional part, as in many
/// OT libraries; any public constant works in the random-permutation model).
const FIXED_KEY: [u8; 16] = [
    0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3, 0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44,
];

/// Blocks encrypted per call to the cipher (a multiple of the eight the AES-NI backend pipelines).
const CHUNK: usize = 64;

fn fixed_key() -> &'static Aes128 {
    static PI: std::sync::OnceLock<Aes128> = std::sync::OnceLock::new();
    PI.get_or_init(|| Aes128::new(&FIXED_KEY.into()))
}

#[inline(always)]
fn sigma(x: Block) -> Block {
    let (hi, lo) = ((x >> 64) as u64, x as u64);
    ((hi ^ lo) as u128) << 64 | hi as u128
}

/// Encrypts `blocks` in place under `cipher`, each block as its 16 little-endian bytes, a cache-sized piece
/// at a time and with no staging copy.
fn encrypt_blocks_in_place(cipher: &Aes128, blocks: &mut [Block]) {
    use aes::cipher::inout::InOutBuf;
    use aes::cipher::typenum::U16;
    for piece in blocks.chunks_mut(CHUNK) {
        if cfg!(target_endian = "big") {
            piece.iter_mut().for_each(|b| *b = b.to_le());
        }
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(piece);
        let (chunks, _) = InOutBuf::from(bytes).into_chunks::<U16>();
        cipher.encrypt_blocks_inout(chunks);
        if cfg!(target_endian = "big") {
            piece.iter_mut().for_each(|b| *b = Block::from_le(*b));
        }
    }
}

/// `H(x) = pi(sigma(x)) xor sigma(x)` for every block, in place.
pub fn ccr_hash(blocks: &mut [Block]) {
    let pi = fixed_key();
    // The hash inputs derive from OT keys: the scratch copy is wiped when done.
    let mut scratch = Zeroizing::new([0u128; CHUNK]);
    for piece in blocks.chunks_mut(CHUNK) {
        let s = &mut scratch[..piece.len()];
        for (x, s) in piece.iter_mut().zip(s.iter_mut()) {
            *s = sigma(*x);
            *x = *s;
        }
        encrypt_blocks_in_place(pi, piece);
        piece.iter_mut().zip(s.iter()).for_each(|(x, s)| *x ^= s);
    }
}

/// [`ccr_hash`] of `x_j xor offset xor tweak(c)` into `out[j * nb + c]` for every `j` and `c < nb`.
pub fn ccr_hash_tweaked(xs: &[Block], offset: Block, nb: usize, out: &mut [Block]) {
    let out = &mut out[..xs.len() * nb];
    // sigma(x), encrypted in place, then sigma(x) again (recomputed, cheaper than a copy) xored in.
    for (o, &x) in out.chunks_exact_mut(nb.max(1)).zip(xs) {
        let base = x ^ offset;
        for (c, v) in o.iter_mut().enumerate() {
            *v = sigma(base ^ counter_tweak(c));
        }
    }
    encrypt_blocks_in_place(fixed_key(), out);
    for (o, &x) in out.chunks_exact_mut(nb.max(1)).zip(xs) {
        let base = x ^ offset;
        for (c, v) in o.iter_mut().enumerate() {
            *v ^= sigma(base ^ counter_tweak(c));
        }
    }
}

/// The tweak for output block `c` of a multi-block hash (`c = 0` leaves the input unchanged).
#[inline(always)]
pub fn counter_tweak(c: usize) -> Block {
    (c as u128) << 64
}

/// AES-128 in counter mode keyed by a seed: the PRG that IKNP expands its base-OT seeds with.
pub struct AesPrg {
    cipher: Aes128,
    counter: u128,
}

impl std::fmt::Debug for AesPrg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesPrg(<redacted>)")
    }
}

impl AesPrg {
    /// The PRG keyed by `seed`, at counter 0.
    pub fn new(seed: Block) -> Self {
        let mut key: [u8; 16] = seed.to_le_bytes();
        let prg = AesPrg {
            cipher: Aes128::new(&key.into()),
            counter: 0,
        };
        key.zeroize();
        prg
    }

    /// Fills `out` with the next `out.len()` blocks of the stream.
    pub fn fill(&mut self, out: &mut [Block]) {
        for piece in out.chunks_mut(CHUNK) {
            for b in piece.iter_mut() {
                *b = self.counter;
                self.counter = self.counter.wrapping_add(1);
            }
            encrypt_blocks_in_place(&self.cipher, piece);
        }
    }

    /// XORs the next `out.len()` blocks of the stream into `out`.
    pub fn xor_into(&mut self, out: &mut [Block]) {
        let mut buf = Zeroizing::new([0u128; CHUNK]);
        for piece in out.chunks_mut(CHUNK) {
            let buf = &mut buf[..piece.len()];
            self.fill(buf);
            piece.iter_mut().zip(buf.iter()).for_each(|(x, b)| *x ^= b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// Known-answer vectors: AES-128 of the zero block under the zero key is
    /// 66e94bd4ef8a2c3b884cfa59ca342b2e, and FIPS-197 appendix C.1 (key 000102..0f, plaintext 00112233..ff)
    /// gives 69c4e0d86a7b0430d8cdb78070b4c55a. The PRG's first block is AES of counter 0, and its second
    /// block is AES of the little-endian counter 1.
    #[test]
    fn prg_expansion_known_answer() {
        let mut prg = AesPrg::new(0);
        let mut out = [0u128; 2];
        prg.fill(&mut out[..1]);
        assert_eq!(
            out[0].to_le_bytes(),
            hex("66e94bd4ef8a2c3b884cfa59ca342b2e")
        );
        // FIPS-197 C.1 through the same block path.
        let key = u128::from_le_bytes(hex("000102030405060708090a0b0c0d0e0f"));
        let mut block = [u128::from_le_bytes(hex("00112233445566778899aabbccddeeff"))];
        encrypt_blocks_in_place(&AesPrg::new(key).cipher, &mut block);
        assert_eq!(
            block[0].to_le_bytes(),
            hex("69c4e0d86a7b0430d8cdb78070b4c55a")
        );
        // The stream continues where it stopped, and matches a fresh expansion of two blocks at once.
        prg.fill(&mut out[1..]);
        let mut fresh = [0u128; 2];
        AesPrg::new(0).fill(&mut fresh);
        assert_eq!(out, fresh);
        assert_ne!(out[0], out[1]);
        // xor_into adds the same stream.
        let mut x = [5u128, 6];
        AesPrg::new(0).xor_into(&mut x);
        assert_eq!(x, [fresh[0] ^ 5, fresh[1] ^ 6]);
    }

    #[test]
    fn ccr_hash_is_mmo_of_sigma() {
        let xs: Vec<u128> = (0..200u128)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834) ^ i)
            .collect();
        let mut hashed = xs.clone();
        ccr_hash(&mut hashed);
        for (x, h) in xs.iter().zip(&hashed) {
            let mut b = [sigma(*x)];
            encrypt_blocks_in_place(fixed_key(), &mut b);
            assert_eq!(*h, b[0] ^ sigma(*x));
        }
        // sigma is an orthomorphism: sigma(x) xor x is a permutation too; spot-check linearity.
        assert_eq!(sigma(xs[3] ^ xs[7]), sigma(xs[3]) ^ sigma(xs[7]));
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", AesPrg::new(5)), "AesPrg(<redacted>)");
    }
}

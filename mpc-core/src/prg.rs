//! The pseudo-random generator every party uses to expand seeds: ChaCha12 (rand_chacha), keyed by a 32-byte
//! seed and a 64-bit stream number so that one seed yields independent streams for independent purposes.
//!
//! Seeds zeroize on drop and never print. Ring elements are drawn with [`crate::ring::Ring::fill_random`].
//!
//! Bulk expansion of correlated randomness (triples, masks, input shares: millions of elements per batch)
//! uses [`Expander`], AES-128 in counter mode keyed from the seed, which runs several times faster than
//! ChaCha on CPUs with AES instructions (the `aes` crate detects them at run time). AES-CTR with a uniformly
//! random key is a standard PRG (NIST SP 800-90A's CTR_DRBG core); its known-answer test is below.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::{Aes128, Block};
use rand_chacha::ChaCha12Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A 32-byte PRG seed. Secret: zeroized on drop, redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed(pub(crate) [u8; 32]);

impl Seed {
    /// Wraps raw bytes as a seed.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Seed(bytes)
    }

    /// A fresh seed from the operating system's generator (drawn into the seed itself: no other copy).
    pub fn random() -> Self {
        let mut s = Seed([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut s.0);
        s
    }

    /// A fresh seed drawn from another generator.
    pub fn from_rng(rng: &mut impl RngCore) -> Self {
        let mut s = Seed([0u8; 32]);
        rng.fill_bytes(&mut s.0);
        s
    }

    /// A seed copied from exactly 32 bytes (a received message); `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut s = Seed([0u8; 32]);
        if bytes.len() != s.0.len() {
            return None;
        }
        s.0.copy_from_slice(bytes);
        Some(s)
    }

    /// The raw bytes, for sending a seed to the party that must hold it.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The generator for stream `stream` of this seed.
    pub fn prg(&self, stream: u64) -> Prg {
        let mut rng = ChaCha12Rng::from_seed(self.0);
        rng.set_stream(stream);
        Prg(rng)
    }
}

impl Seed {
    /// The bulk expander for stream `stream` of this seed: AES-128-CTR keyed by the first 16 bytes of the
    /// seed's ChaCha12 stream `stream`.
    pub fn expander(&self, stream: u64) -> Expander {
        let mut key = [0u8; 16];
        self.prg(stream).fill_bytes(&mut key);
        let exp = Expander::from_key(key);
        key.zeroize();
        exp
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

/// ChaCha12 keyed by a [`Seed`]. rand_chacha does not wipe its state, so [`Prg`]'s `zeroize` (run on drop)
/// overwrites the whole generator (key, counter and buffered output) with the all-zero seed's.
pub struct Prg(ChaCha12Rng);

impl Zeroize for Prg {
    fn zeroize(&mut self) {
        self.0 = ChaCha12Rng::from_seed([0u8; 32]);
        // The overwrite must not be elided as a dead store before the memory is freed.
        std::hint::black_box(&mut self.0);
    }
}

impl Drop for Prg {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl Prg {
    /// A generator seeded from the operating system.
    pub fn from_entropy() -> Self {
        Seed::random().prg(0)
    }
}

impl std::fmt::Debug for Prg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prg(<redacted>)")
    }
}

impl RngCore for Prg {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl CryptoRng for Prg {}

/// AES-128 in counter mode as a PRG: block `i` of the output is `AES_k(i)`, `i` a 128-bit little-endian
/// counter. The cipher's key schedule is zeroized on drop by the `aes` crate's `zeroize` support; the
/// counter is not secret.
pub struct Expander {
    cipher: Aes128,
    counter: u128,
    buf: [u8; 16],
    used: usize,
}

impl Expander {
    /// An expander with an explicit 16-byte key, counter starting at 0. This copy of the key is wiped.
    pub fn from_key(mut key: [u8; 16]) -> Self {
        let exp = Expander {
            cipher: Aes128::new(&key.into()),
            counter: 0,
            buf: [0; 16],
            used: 16,
        };
        key.zeroize();
        exp
    }

    fn next_blocks(&mut self, out: &mut [u8]) {
        use aes::cipher::inout::InOutBuf;
        use aes::cipher::typenum::U16;
        // Whole blocks are encrypted in place: the counters are written into `out` a cache-sized piece at a
        // time and encrypted there, with no copy.
        const PIECE: usize = 16 * 64;
        let whole = out.len() / 16 * 16;
        let (body, tail) = out.split_at_mut(whole);
        for piece in body.chunks_mut(PIECE) {
            for block in piece.chunks_exact_mut(16) {
                block.copy_from_slice(&self.counter.to_le_bytes());
                self.counter = self.counter.wrapping_add(1);
            }
            let (blocks, _) = InOutBuf::from(piece).into_chunks::<U16>();
            self.cipher.encrypt_blocks_inout(blocks);
        }
        if !tail.is_empty() {
            let mut b = Block::from(self.counter.to_le_bytes());
            self.counter = self.counter.wrapping_add(1);
            self.cipher.encrypt_block(&mut b);
            tail.copy_from_slice(&b[..tail.len()]);
            self.buf.copy_from_slice(&b);
            self.used = tail.len();
        }
    }
}

impl std::fmt::Debug for Expander {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Expander(<redacted>)")
    }
}

impl RngCore for Expander {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, mut dest: &mut [u8]) {
        if self.used < 16 {
            let take = dest.len().min(16 - self.used);
            dest[..take].copy_from_slice(&self.buf[self.used..self.used + take]);
            self.used += take;
            dest = &mut dest[take..];
        }
        if !dest.is_empty() {
            self.used = 16;
            self.next_blocks(dest);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Expander {}

/// Wipes the buffered output (the `aes` crate wipes the key schedule when the cipher drops).
impl Zeroize for Expander {
    fn zeroize(&mut self) {
        self.buf.zeroize();
        self.used = 16;
    }
}

impl Drop for Expander {
    fn drop(&mut self) {
        self.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vector: ChaCha with 12 rounds, all-zero key, all-zero nonce, block 0, as produced by
    /// rand_chacha 0.3 (the reference implementation of the ChaCha family by D. J. Bernstein with 12 rounds).
    #[test]
    fn chacha12_zero_key_known_answer() {
        let mut prg = Seed::from_bytes([0; 32]).prg(0);
        let mut out = [0u8; 16];
        prg.fill_bytes(&mut out);
        assert_eq!(
            out,
            [
                0x9b, 0xf4, 0x9a, 0x6a, 0x07, 0x55, 0xf9, 0x53, 0x81, 0x1f, 0xce, 0x12, 0x5f, 0x26,
                0x83, 0xd5
            ]
        );
    }

    /// NIST SP 800-38A, F.5.1 (CTR-AES128.Encrypt) with a zero plaintext gives the keystream; our counter
    /// is little-endian from 0, so we check FIPS-197 Appendix C.1 instead: AES-128 of the block
    /// 00112233..eeff under key 000102..0f.
    #[test]
    fn aes_known_answer() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let cipher = Aes128::new(&key.into());
        let mut block = Block::from(core::array::from_fn::<u8, 16, _>(|i| (i as u8) * 0x11));
        cipher.encrypt_block(&mut block);
        let want = [
            0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
            0xc5, 0x5a,
        ];
        assert_eq!(block.as_slice(), &want);
        // The expander's first block is AES_k(0), its second AES_k(1), in any split of the requests.
        let mut e = Expander::from_key(key);
        let mut one = [0u8; 40];
        e.fill_bytes(&mut one[..5]);
        e.fill_bytes(&mut one[5..23]);
        e.fill_bytes(&mut one[23..]);
        let mut whole = [0u8; 40];
        Expander::from_key(key).fill_bytes(&mut whole);
        assert_eq!(one, whole);
        let mut b0 = Block::from(0u128.to_le_bytes());
        cipher.encrypt_block(&mut b0);
        assert_eq!(&whole[..16], b0.as_slice());
        // Over several in-place pieces and a partial last block: block i is AES_k(i) throughout, and a
        // later request continues inside the partial block.
        let mut long = vec![0u8; 3 * 1024 + 21];
        let mut e = Expander::from_key(key);
        e.fill_bytes(&mut long[..3 * 1024 + 9]);
        e.fill_bytes(&mut long[3 * 1024 + 9..]);
        for (i, chunk) in long.chunks(16).enumerate() {
            let mut b = Block::from((i as u128).to_le_bytes());
            cipher.encrypt_block(&mut b);
            assert_eq!(chunk, &b[..chunk.len()], "block {i}");
        }
    }

    #[test]
    fn streams_differ_and_repeat() {
        let seed = Seed::from_bytes([7; 32]);
        let (a, b, a2) = (
            seed.prg(1).next_u64(),
            seed.prg(2).next_u64(),
            seed.prg(1).next_u64(),
        );
        assert_ne!(a, b);
        assert_eq!(a, a2);
    }

    #[test]
    fn debug_is_redacted() {
        let seed = Seed::from_bytes([0xab; 32]);
        assert_eq!(format!("{seed:?}"), "Seed(<redacted>)");
        assert_eq!(format!("{:?}", seed.prg(3)), "Prg(<redacted>)");
        assert_eq!(format!("{:?}", seed.expander(3)), "Expander(<redacted>)");
    }

    /// `Prg::zeroize` (what its drop runs) replaces the key and the buffered output: afterwards it is the
    /// all-zero seed's generator, not the one it was.
    #[test]
    fn prg_zeroize_replaces_the_state() {
        let seed = Seed::from_bytes([0x5a; 32]);
        let mut prg = seed.prg(7);
        let _ = prg.next_u32(); // leaves buffered output behind
        let mut wiped = seed.prg(7);
        let _ = wiped.next_u32();
        wiped.zeroize();
        let zero = Seed::from_bytes([0; 32]).prg(0).next_u64();
        assert_eq!(wiped.next_u64(), zero);
        assert_ne!(prg.next_u64(), zero);
    }

    /// `Expander::zeroize` clears the buffered block of keystream.
    #[test]
    fn expander_zeroize_clears_the_buffer() {
        let mut e = Seed::from_bytes([0x33; 32]).expander(1);
        let mut out = [0u8; 5];
        e.fill_bytes(&mut out);
        assert_ne!(e.buf, [0u8; 16]);
        e.zeroize();
        assert_eq!((e.buf, e.used), ([0u8; 16], 16));
    }

    #[test]
    fn seed_from_slice_checks_the_length() {
        let s = Seed::from_slice(&[9u8; 32]).unwrap();
        assert_eq!(s.expose_bytes(), &[9u8; 32]);
        assert!(Seed::from_slice(&[9u8; 31]).is_none());
    }
}

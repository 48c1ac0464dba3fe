//! Little-endian bit streams of values up to 128 bits wide: the packed corrections of Gilboa
//! multiplication ([`super::gilboa`], [`super::fixed_choice`]).

/// The low `bits` bits set.
#[inline(always)]
pub(crate) fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Appends values of up to 128 bits to a little-endian bit stream (bit `i` of the stream is bit `i % 8` of
/// byte `i / 8`). Bits gather in a register and leave in whole 8- or 16-byte stores.
pub(crate) struct BitWriter {
    out: Vec<u8>,
    pos: usize,
    acc: u128,
    fill: u32,
}

impl BitWriter {
    /// A writer for a stream of at most `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        BitWriter {
            out: vec![0u8; capacity + 16],
            pos: 0,
            acc: 0,
            fill: 0,
        }
    }

    #[inline(always)]
    fn store<const N: usize>(&mut self, bytes: &[u8]) {
        match self
            .out
            .get_mut(self.pos..)
            .and_then(|s| s.first_chunk_mut::<N>())
        {
            Some(dst) => {
                if let Some(src) = bytes.first_chunk::<N>() {
                    *dst = *src;
                }
            }
            None => debug_assert!(false, "bit stream longer than its capacity"),
        }
        self.pos += N;
    }

    /// Appends the low `bits` bits of `v`.
    #[inline(always)]
    pub(crate) fn push(&mut self, v: u128, bits: u32) {
        self.push_masked(v & mask(bits), bits);
    }

    /// Appends `v`, which is below `2^bits`.
    #[inline(always)]
    pub(crate) fn push_masked(&mut self, v: u128, bits: u32) {
        // Invariant: fill < 64.
        self.acc |= v << self.fill;
        let total = self.fill + bits;
        if total >= 128 {
            let bytes = self.acc.to_le_bytes();
            self.store::<16>(&bytes);
            self.acc = if self.fill == 0 {
                0
            } else {
                v >> (128 - self.fill)
            };
            self.fill = total - 128;
        } else if total >= 64 {
            let bytes = (self.acc as u64).to_le_bytes();
            self.store::<8>(&bytes);
            self.acc >>= 64;
            self.fill = total - 64;
        } else {
            self.fill = total;
        }
    }

    #[inline(always)]
    pub(crate) fn push64(&mut self, v: u64, bits: u32) {
        self.push(v as u128, bits);
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        let bytes = self.acc.to_le_bytes();
        self.store::<16>(&bytes);
        self.out
            .truncate(self.pos - 16 + self.fill.div_ceil(8) as usize);
        self.out
    }
}

/// Reads values of up to 128 bits from a little-endian bit stream whose length was checked beforehand (past
/// its end it reads zeros).
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, bit: 0 }
    }

    #[inline(always)]
    pub(crate) fn read(&mut self, bits: u32) -> u128 {
        self.read_masked(bits, mask(bits))
    }

    /// [`BitReader::read`] with `m = mask(bits)` given.
    #[inline(always)]
    pub(crate) fn read_masked(&mut self, bits: u32, m: u128) -> u128 {
        let (byte, shift) = (self.bit / 8, (self.bit % 8) as u32);
        self.bit += bits as usize;
        let rest = self.bytes.get(byte..).unwrap_or(&[]);
        let word = match rest.first_chunk::<16>() {
            Some(w) => u128::from_le_bytes(*w),
            None => {
                let mut w = [0u8; 16];
                w[..rest.len()].copy_from_slice(rest);
                u128::from_le_bytes(w)
            }
        };
        let mut v = word >> shift;
        if shift > 0 && bits + shift > 128 {
            v |= (rest.get(16).copied().unwrap_or(0) as u128) << (128 - shift);
        }
        v & m
    }

    /// Skips `bits` bits.
    #[inline(always)]
    pub(crate) fn skip(&mut self, bits: usize) {
        self.bit += bits;
    }

    #[inline(always)]
    pub(crate) fn read64(&mut self, bits: u32) -> u64 {
        self.read(bits) as u64
    }
}

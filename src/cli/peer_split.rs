//! The peers' train/test split, reproduced so that `mpc bench` trains and tests on the same rows as the peer
//! frameworks: `../shared/peers/common.py` uses sklearn's `train_test_split(test_size=0.2, random_state=0)`,
//! which takes numpy's legacy `RandomState(0).permutation(n)` (MT19937; a Fisher-Yates shuffle drawing each
//! index by masked rejection sampling) and makes its first `ceil(0.2 n)` entries the test rows and the rest
//! the training rows, in that order.

/// MT19937 (Matsumoto and Nishimura 1998) as numpy's legacy generator seeds and runs it.
struct Mt19937 {
    state: [u32; 624],
    next: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, next: 624 }
    }

    fn twist(&mut self) {
        for k in 0..624 {
            let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % 624] & 0x7fff_ffff);
            let mut v = self.state[(k + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.state[k] = v;
        }
        self.next = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.next >= 624 {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A uniform integer in `0..=max` (numpy's `random_interval` for `max < 2^32`).
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }
}

/// numpy's `RandomState(seed).permutation(n)`, for `n < 2^32`.
fn permutation(n: usize, seed: u32) -> Vec<usize> {
    let mut out: Vec<usize> = (0..n).collect();
    let mut rng = Mt19937::new(seed);
    for i in (1..n).rev() {
        let j = rng.interval(i as u32) as usize;
        out.swap(i, j);
    }
    out
}

/// The training and the test row indices of `train_test_split(range(n), test_size=0.2, random_state=0)`.
pub(super) fn train_test(n: usize) -> (Vec<usize>, Vec<usize>) {
    let p = permutation(n, 0);
    let n_test = (n as f64 * 0.2).ceil() as usize;
    let (test, train) = p.split_at(n_test.min(n));
    (train.to_vec(), test.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers printed by numpy 1.26.4 and scikit-learn 1.9.1 (the peers' versions): `RandomState(0)
    /// .permutation(10)`, and the split of the breast-cancer (569 rows) and diabetes (442 rows) tables.
    #[test]
    fn matches_numpy_and_sklearn() {
        assert_eq!(permutation(10, 0), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        let (train, test) = train_test(569);
        assert_eq!((train.len(), test.len()), (455, 114));
        assert_eq!(test[..8], [512, 457, 439, 298, 37, 515, 382, 310]);
        assert_eq!(train[..8], [338, 427, 406, 96, 490, 384, 281, 325]);
        assert_eq!(train[452..], [359, 192, 559]);
        let (train, test) = train_test(442);
        assert_eq!((train.len(), test.len()), (353, 89));
        assert_eq!(test[..8], [362, 249, 271, 435, 400, 403, 12, 399]);
        assert_eq!(train[..8], [74, 26, 45, 389, 154, 4, 386, 225]);
        assert_eq!(train[350..], [117, 47, 172]);
    }
}

//! The deterministic data of the stream test: a pseudo-random byte stream
//! per connection and direction (splitmix64), and a chunking-independent
//! checksum of a byte stream.

/// splitmix64's output function.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of connection `index`, direction `dir` (0: client to server,
/// 1: server to client) under the run's seed.
pub fn conn_seed(seed: u64, index: u32, dir: u8) -> u64 {
    mix64(seed ^ mix64(((index as u64) << 8) | dir as u64 | 0x5a5a_0000_0000_0000))
}

/// An endless pseudo-random byte stream; [`Pattern::fill`] continues where
/// the previous call stopped, so any chunking yields the same bytes.
pub struct Pattern {
    state: u64,
    word: [u8; 8],
    /// Bytes of `word` already handed out (8: `word` is used up).
    used: usize,
}

impl Pattern {
    pub fn new(seed: u64) -> Pattern {
        Pattern {
            state: seed,
            word: [0; 8],
            used: 8,
        }
    }

    fn next_word(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Fills `out` with the next `out.len()` bytes of the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut i = 0;
        // The rest of the current word.
        while self.used < 8 && i < out.len() {
            out[i] = self.word[self.used];
            self.used += 1;
            i += 1;
        }
        // Whole words.
        let mut chunks = out[i..].chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_word().to_le_bytes());
        }
        // A partial word at the end.
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            self.word = self.next_word().to_le_bytes();
            let n = tail.len();
            tail.copy_from_slice(&self.word[..n]);
            self.used = n;
        }
    }
}

/// A 64-bit checksum of a byte stream that does not depend on how the
/// stream was cut into pieces: whole 8-byte words are mixed in, the last
/// partial word and the length at the end.
#[derive(Clone)]
pub struct Checksum {
    h: u64,
    len: u64,
    pending: [u8; 8],
    npending: usize,
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum {
            h: 0xcbf2_9ce4_8422_2325,
            len: 0,
            pending: [0; 8],
            npending: 0,
        }
    }
}

impl Checksum {
    fn mix(&mut self, w: u64) {
        self.h = (self.h ^ w)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(29);
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.npending > 0 {
            let n = (8 - self.npending).min(data.len());
            self.pending[self.npending..self.npending + n].copy_from_slice(&data[..n]);
            self.npending += n;
            data = &data[n..];
            if self.npending < 8 {
                return;
            }
            let w = u64::from_le_bytes(self.pending);
            self.mix(w);
            self.npending = 0;
        }
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.npending = rest.len();
    }

    pub fn value(&self) -> u64 {
        let mut c = self.clone();
        let mut last = [0u8; 8];
        last[..c.npending].copy_from_slice(&c.pending[..c.npending]);
        c.mix(u64::from_le_bytes(last) ^ ((c.npending as u64) << 56));
        c.mix(c.len);
        mix64(c.h)
    }

    pub fn len(&self) -> u64 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        Pattern::new(seed).fill(&mut v);
        v
    }

    #[test]
    fn chunking_does_not_change_the_stream() {
        let whole = bytes(7, 1000);
        for step in [1, 3, 7, 8, 9, 64, 999] {
            let mut p = Pattern::new(7);
            let mut v = Vec::new();
            while v.len() < 1000 {
                let mut c = vec![0; step.min(1000 - v.len())];
                p.fill(&mut c);
                v.extend(c);
            }
            assert_eq!(v, whole, "step {step}");
        }
        // Irregular pieces.
        let mut p = Pattern::new(7);
        let mut v = Vec::new();
        for n in [5, 0, 11, 8, 1, 2, 300, 673] {
            let mut c = vec![0; n];
            p.fill(&mut c);
            v.extend(c);
        }
        assert_eq!(v, whole);
    }

    #[test]
    fn streams_differ_per_connection_and_direction() {
        let a = bytes(conn_seed(1, 0, 0), 64);
        let b = bytes(conn_seed(1, 0, 1), 64);
        let c = bytes(conn_seed(1, 1, 0), 64);
        let d = bytes(conn_seed(2, 0, 0), 64);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a, bytes(conn_seed(1, 0, 0), 64));
        // Not trivially degenerate: all byte values show up in a few KiB.
        let v = bytes(conn_seed(1, 0, 0), 8192);
        let mut seen = [false; 256];
        v.iter().for_each(|&x| seen[x as usize] = true);
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn pattern_is_stable() {
        // Both peers of a run may be different builds: the stream must not change.
        assert_eq!(mix64(0), 0);
        assert_eq!(bytes(0, 8), 0xe220_a839_7b1d_cdafu64.to_le_bytes());
    }

    #[test]
    fn checksum_is_chunking_independent_and_sensitive() {
        let data = bytes(3, 777);
        let mut whole = Checksum::default();
        whole.update(&data);
        for step in [1, 2, 5, 8, 13, 100] {
            let mut c = Checksum::default();
            data.chunks(step).for_each(|p| c.update(p));
            assert_eq!(c.value(), whole.value(), "step {step}");
            assert_eq!(c.len(), 777);
        }
        let mut flipped = data.clone();
        flipped[500] ^= 1;
        let mut c = Checksum::default();
        c.update(&flipped);
        assert_ne!(c.value(), whole.value());
        // Trailing zero bytes change the checksum (the length is in it).
        let mut c = Checksum::default();
        c.update(&data);
        c.update(&[0]);
        assert_ne!(c.value(), whole.value());
        let mut e1 = Checksum::default();
        e1.update(&[]);
        assert_eq!(e1.value(), Checksum::default().value());
    }
}

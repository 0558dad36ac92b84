//! Latency histogram and the arithmetic of the reported figures.

/// Exact buckets below this value; above it, 32 buckets per power of two.
const LINEAR: u64 = 64;
/// Buckets per power of two above `LINEAR` (relative width at most 1/32).
const SUB: u64 = 32;
/// Bucket count: enough for every `u64`.
const BUCKETS: usize = (LINEAR + (64 - 6) * SUB) as usize;

/// A log-linear histogram of nanosecond latencies (the idea of HDR
/// histograms): values below 64 are exact, larger ones fall into buckets
/// at most 1/32 of their value wide. Fixed size (15 KiB), so each
/// connection keeps one and they are merged at the end.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of `v`.
fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - u64::from(v.leading_zeros()); // >= 6
    let shift = msb - 5; // >= 1; v >> shift is in 32..64
    (LINEAR + (shift - 1) * SUB + ((v >> shift) - SUB)) as usize
}

/// The smallest and largest value of bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR {
        return (i, i);
    }
    let shift = (i - LINEAR) / SUB + 1;
    let m = (i - LINEAR) % SUB + SUB;
    let lo = m << shift;
    (lo, lo + ((1u64 << shift) - 1))
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    /// Records one value.
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.max = self.max.max(v);
    }

    /// Adds `other`'s values to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean (0 if empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The `p`-th percentile (0 < p <= 100): the value at rank
    /// ceil(p/100 * count), reported as the middle of its bucket (never
    /// above the maximum). 0 if empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((p / 100.0 * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bounds(i);
                return (lo + (hi - lo) / 2).min(self.max);
            }
        }
        self.max
    }
}

/// CPU time in microseconds per gigabit (10^9 bits) moved; `None` if no
/// data moved.
pub fn us_per_gbit(cpu_us: f64, bytes: u64) -> Option<f64> {
    (bytes > 0).then(|| cpu_us / (bytes as f64 * 8.0 / 1e9))
}

/// Gigabits (10^9 bits) per second.
pub fn gbit_per_s(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 * 8.0 / 1e9 / secs
    } else {
        0.0
    }
}

/// Events per second.
pub fn per_s(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Whether the payload evidently went through TCP, from the TCP segments
/// (in + out, whole system) counted over the window. Request/response
/// (`transactions` is Some): at least one segment per 4 transactions; over
/// TCP there are at least two per transaction (the request in, the
/// response out). Stream: at least one segment per 256 KiB; over TCP even
/// with 64 KiB GSO/GRO segments there are several. Over SMC-D only the
/// idle CLC sockets' few segments (and the control connection's) remain.
pub fn data_over_tcp(tcp_segs: u64, bytes: u64, transactions: Option<u64>) -> bool {
    match transactions {
        Some(t) => tcp_segs.saturating_mul(4) >= t && t > 0,
        None => tcp_segs.saturating_mul(256 * 1024) >= bytes && bytes > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        assert_eq!(index(0), 0);
        assert_eq!(index(63), 63);
        assert_eq!(index(64), 64);
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        let mut prev_hi = None;
        for i in 0..BUCKETS {
            let (lo, hi) = bounds(i);
            assert!(lo <= hi);
            if let Some(p) = prev_hi {
                assert_eq!(lo, p + 1, "gap before bucket {i}");
            }
            assert_eq!(index(lo), i);
            assert_eq!(index(hi), i);
            assert!((hi - lo) as f64 <= lo as f64 / 32.0, "bucket {i} too wide");
            prev_hi = (hi < u64::MAX).then_some(hi);
            if hi == u64::MAX {
                assert_eq!(i, BUCKETS - 1);
            }
        }
        for v in [100u64, 1000, 12345, 1 << 40, (1 << 40) + 17, u64::MAX / 3] {
            let (lo, hi) = bounds(index(v));
            assert!(lo <= v && v <= hi);
        }
    }

    #[test]
    fn percentiles() {
        let mut h = Histogram::new();
        assert_eq!(h.percentile(50.0), 0);
        assert_eq!(h.mean(), 0.0);
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.max(), 10_000_000);
        assert!((h.mean() - 5_000_500.0).abs() < 1e-6);
        for (p, want) in [
            (50.0, 5_000_000.0),
            (90.0, 9_000_000.0),
            (99.0, 9_900_000.0),
            (99.9, 9_990_000.0),
        ] {
            let got = h.percentile(p) as f64;
            assert!(
                (got - want).abs() / want < 1.0 / 32.0,
                "p{p}: {got} vs {want}"
            );
        }
        assert_eq!(h.percentile(100.0), 10_000_000);
        // Small exact values.
        let mut h = Histogram::new();
        for v in [1, 2, 3, 4] {
            h.record(v);
        }
        assert_eq!(h.percentile(50.0), 2);
        assert_eq!(h.percentile(75.0), 3);
        assert_eq!(h.percentile(100.0), 4);
        assert_eq!(h.percentile(0.0001), 1);
    }

    #[test]
    fn merge() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        a.record(10);
        b.record(1_000_000);
        b.record(30);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.max(), 1_000_000);
        assert_eq!(a.percentile(50.0), 30);
        assert!((a.mean() - 1_000_040.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn rates() {
        // 1 Gb in 2 s with 1 s of CPU: 0.5 Gb/s, 10^6 µs per Gb.
        assert_eq!(gbit_per_s(125_000_000, 2.0), 0.5);
        assert_eq!(us_per_gbit(1e6, 125_000_000), Some(1e6));
        assert_eq!(us_per_gbit(1e6, 0), None);
        assert_eq!(per_s(50, 2.0), 25.0);
        assert_eq!(per_s(50, 0.0), 0.0);
        assert_eq!(gbit_per_s(1, 0.0), 0.0);
    }

    #[test]
    fn tcp_path() {
        // rr1c-200x1000 over TCP: about 2 segments per transaction.
        assert!(data_over_tcp(2_000, 1_000 * 1200, Some(1_000)));
        // Over SMC-D: 14 segments in 1309 transactions (measured), or 902
        // in 13400 at 250 connections.
        assert!(!data_over_tcp(14, 1309 * 1200, Some(1309)));
        assert!(!data_over_tcp(902, 13_400 * 1200, Some(13_400)));
        // A stream in 64 KiB segments with an ACK per two.
        assert!(data_over_tcp(1_500, 1000 * 65536, None));
        // SMC-D: a handful of segments for hundreds of MB.
        assert!(!data_over_tcp(12, 500 << 20, None));
        // Nothing moved: no evidence either way.
        assert!(!data_over_tcp(0, 0, None));
        assert!(!data_over_tcp(5, 0, Some(0)));
    }
}

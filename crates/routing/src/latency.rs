//! Latency tracking per target, lock-free: a peak-EWMA estimate (Finagle / linkerd style) that
//! the `lowest_latency` strategy compares, and a log-scale histogram of recent observations
//! whose p95 sets the hedge delay when none is configured.
//!
//! Peak-EWMA: an observation above the current estimate replaces it at once (react to
//! slowness immediately); one below pulls it down with a weight that grows with the time since
//! the last observation (time constant [`DECAY`]); with no observations the estimate decays
//! towards zero, so an idle target is tried again. The estimate and its timestamp share one
//! `AtomicU64` (an `f32` of nanoseconds and a wrapping `u32` of milliseconds), so an update is a
//! single compare-and-swap and reads never see a torn pair.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::duration_nanos;

/// What a latency observation measures. Streams are measured to their first event (time to
/// first token), everything else to the complete response; each kind has its own estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyKind {
    /// Time to the first stream event.
    FirstToken,
    /// Time to the whole response.
    #[default]
    Total,
}

impl LatencyKind {
    pub(crate) fn index(self) -> usize {
        match self {
            LatencyKind::FirstToken => 0,
            LatencyKind::Total => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LatencyKind::FirstToken => "first_token",
            LatencyKind::Total => "total",
        }
    }
}

/// Time constant of the peak-EWMA decay (linkerd's default).
pub const DECAY: Duration = Duration::from_secs(10);
const DECAY_NS: f64 = 10e9;
const UNSET: u64 = u64::MAX;

fn pack(estimate_ns: f32, stamp_ms: u64) -> u64 {
    (u64::from(estimate_ns.to_bits()) << 32) | (stamp_ms & 0xffff_ffff)
}

fn unpack(word: u64) -> (f32, u32) {
    (f32::from_bits((word >> 32) as u32), word as u32)
}

/// The estimate at `now_ms` and the weight the past keeps.
fn decayed(word: u64, now_ms: u64) -> (f64, f64) {
    let (est, stamp) = unpack(word);
    let elapsed_ms = (now_ms as u32).wrapping_sub(stamp);
    let keep = (-(f64::from(elapsed_ms) * 1e6) / DECAY_NS).exp();
    (f64::from(est) * keep, keep)
}

#[derive(Debug)]
pub(crate) struct PeakEwma {
    word: AtomicU64,
}

impl PeakEwma {
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicU64::new(UNSET),
        }
    }

    fn update(&self, now_ms: u64, f: impl Fn(Option<(f64, f64)>) -> Option<f64>) {
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            let prev = (cur != UNSET).then(|| decayed(cur, now_ms));
            let Some(next_ns) = f(prev) else { return };
            let next = pack(next_ns as f32, now_ms);
            match self
                .word
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// One observed latency.
    pub(crate) fn observe(&self, now_ms: u64, rtt: Duration) {
        let rtt = duration_nanos(rtt) as f64;
        self.update(now_ms, |prev| {
            Some(match prev {
                None => rtt,
                Some((est, _)) if rtt > est => rtt,
                Some((est, keep)) => est + rtt * (1.0 - keep),
            })
        });
    }

    /// A latency known to be at least `rtt` (an attempt cut short): raises the estimate to it
    /// if it is higher, never lowers it.
    pub(crate) fn raise_to(&self, now_ms: u64, rtt: Duration) {
        let rtt = duration_nanos(rtt) as f64;
        self.update(now_ms, |prev| match prev {
            Some((est, _)) if est >= rtt => None,
            _ => Some(rtt),
        });
    }

    /// Nanoseconds, decayed to `now_ms`; `None` before the first observation.
    pub(crate) fn estimate_ns(&self, now_ms: u64) -> Option<f64> {
        let word = self.word.load(Ordering::Acquire);
        (word != UNSET).then(|| decayed(word, now_ms).0)
    }
}

const HIST_BUCKETS: usize = 128;
/// Each histogram generation covers this long; quantiles read the current and previous one,
/// so they reflect the last 30 to 60 seconds.
const GENERATION_MS: u64 = 30_000;
/// Fewer observations than this give no quantile.
pub(crate) const MIN_SAMPLES: u64 = 20;

/// Bucket of a latency in microseconds: four sub-buckets per power of two (about 19% wide),
/// values under 4 µs exact, everything from about 36 minutes up in the last bucket.
fn bucket_of(us: u64) -> usize {
    if us < 4 {
        return us as usize;
    }
    let msb = u64::from(63 - us.leading_zeros());
    let sub = (us >> (msb - 2)) & 3;
    ((msb * 4 + sub) as usize).min(HIST_BUCKETS - 1)
}

/// Upper bound (exclusive) of a bucket, in microseconds.
fn bucket_upper_us(index: usize) -> u64 {
    if index < 8 {
        return index as u64 + 1;
    }
    let msb = (index / 4) as u64;
    let sub = (index % 4) as u64;
    (4 + sub + 1) << (msb - 2)
}

#[derive(Debug)]
struct Generation {
    /// Generation number + 1 (0: never used).
    tag: AtomicU64,
    counts: [AtomicU32; HIST_BUCKETS],
}

/// Recent latencies in fixed log-scale buckets of atomics, two rotating generations.
#[derive(Debug)]
pub(crate) struct Histogram {
    generations: [Generation; 2],
}

impl Histogram {
    pub(crate) fn new() -> Self {
        let generation = || Generation {
            tag: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicU32::new(0)),
        };
        Self {
            generations: [generation(), generation()],
        }
    }

    pub(crate) fn record(&self, now_ms: u64, latency: Duration) {
        let number = now_ms / GENERATION_MS;
        let tag = number + 1;
        let generation = &self.generations[(number % 2) as usize];
        let seen = generation.tag.load(Ordering::Acquire);
        if seen != tag
            && generation
                .tag
                .compare_exchange(seen, tag, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            for c in &generation.counts {
                c.store(0, Ordering::Relaxed);
            }
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        generation.counts[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
    }

    /// The `q` quantile (0..=1) over the last one to two generations, as the upper bound of
    /// its bucket; `None` with fewer than [`MIN_SAMPLES`] observations.
    pub(crate) fn quantile(&self, now_ms: u64, q: f64) -> Option<Duration> {
        let tag = now_ms / GENERATION_MS + 1;
        let live = self.generations.each_ref().map(|g| {
            let t = g.tag.load(Ordering::Acquire);
            t == tag || t + 1 == tag
        });
        let count = |i: usize| -> u64 {
            self.generations
                .iter()
                .zip(live)
                .filter(|(_, live)| *live)
                .map(|(g, _)| u64::from(g.counts[i].load(Ordering::Relaxed)))
                .sum()
        };
        let total: u64 = (0..HIST_BUCKETS).map(count).sum();
        if total < MIN_SAMPLES {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for i in 0..HIST_BUCKETS {
            seen += count(i);
            if seen >= rank {
                return Some(Duration::from_micros(bucket_upper_us(i)));
            }
        }
        Some(Duration::from_micros(bucket_upper_us(HIST_BUCKETS - 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn est_ms(e: &PeakEwma, now: u64) -> f64 {
        e.estimate_ns(now).unwrap() / 1e6
    }

    #[test]
    fn peak_replaces_and_lower_values_pull_down_with_time() {
        let e = PeakEwma::new();
        assert_eq!(e.estimate_ns(0), None);
        e.observe(0, ms(100));
        assert!((est_ms(&e, 0) - 100.0).abs() < 1e-3);
        // A slower observation replaces the estimate at once.
        e.observe(0, ms(400));
        assert!((est_ms(&e, 0) - 400.0).abs() < 1e-3);
        // A faster one right away barely moves it; one after a full time constant moves it
        // most of the way.
        e.observe(1, ms(100));
        assert!(est_ms(&e, 1) > 399.0);
        e.observe(10_001, ms(100));
        let expected = 400.0 * (-1.0f64).exp() + 100.0 * (1.0 - (-1.0f64).exp());
        assert!(
            (est_ms(&e, 10_001) - expected).abs() < 1.0,
            "{}",
            est_ms(&e, 10_001)
        );
    }

    #[test]
    fn idle_estimates_decay_towards_zero() {
        let e = PeakEwma::new();
        e.observe(0, ms(1_000));
        let later = est_ms(&e, 10_000);
        assert!((later - 1_000.0 * (-1.0f64).exp()).abs() < 1.0);
        assert!(est_ms(&e, 100_000) < 1.0);
    }

    #[test]
    fn raise_only_raises() {
        let e = PeakEwma::new();
        e.raise_to(0, ms(50));
        assert!((est_ms(&e, 0) - 50.0).abs() < 1e-3);
        e.raise_to(0, ms(20));
        assert!((est_ms(&e, 0) - 50.0).abs() < 1e-3);
        e.raise_to(0, ms(80));
        assert!((est_ms(&e, 0) - 80.0).abs() < 1e-3);
    }

    #[test]
    fn buckets_are_monotonic_and_bound_their_values() {
        let mut last = 0;
        for us in (0..5_000u64).chain([1 << 20, 1 << 30, 1 << 31, u64::MAX]) {
            let b = bucket_of(us);
            assert!(b >= last, "{us}");
            last = b;
            if b < HIST_BUCKETS - 1 {
                assert!(us < bucket_upper_us(b), "{us} not below bound of {b}");
                // Bucket width stays within 25% of the value.
                assert!(bucket_upper_us(b) as f64 <= (us.max(4) as f64) * 1.25 + 1.0);
            }
        }
        assert_eq!(bucket_of(u64::MAX), HIST_BUCKETS - 1);
    }

    #[test]
    fn p95_of_recent_observations() {
        let h = Histogram::new();
        assert_eq!(h.quantile(0, 0.95), None);
        for i in 0..100u64 {
            // 1..=100 ms
            h.record(0, ms(i + 1));
        }
        let p95 = h.quantile(0, 0.95).unwrap();
        assert!(p95 >= ms(95) && p95 <= ms(95 * 5 / 4), "{p95:?}");
        let p50 = h.quantile(0, 0.5).unwrap();
        assert!(p50 >= ms(50) && p50 <= ms(63), "{p50:?}");
        // Still visible in the next generation, gone after two.
        assert!(h.quantile(GENERATION_MS, 0.95).is_some());
        assert_eq!(h.quantile(2 * GENERATION_MS, 0.95), None);
        // A reused generation starts empty.
        for _ in 0..MIN_SAMPLES {
            h.record(2 * GENERATION_MS, ms(3));
        }
        let p95 = h.quantile(2 * GENERATION_MS, 0.95).unwrap();
        assert!(p95 <= ms(4), "{p95:?}");
    }
}

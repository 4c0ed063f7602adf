//! A sliding-window pair of counters in ten atomic buckets, lock-free. Each bucket packs its
//! time tag and both counts into one `AtomicU64`, so an update is one compare-and-swap and a
//! bucket from an older turn of the ring is never mixed with the current one. Used for the
//! breaker's error rate (requests, failures) and the retry budget (requests, retries).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::duration_millis;

const BUCKETS: usize = 10;
const COUNT_BITS: u32 = 20;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;
const TAG_BITS: u32 = 64 - 2 * COUNT_BITS;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

fn pack(tag: u64, a: u64, b: u64) -> u64 {
    (tag << (2 * COUNT_BITS)) | (a << COUNT_BITS) | b
}

fn unpack(v: u64) -> (u64, u64, u64) {
    (
        v >> (2 * COUNT_BITS),
        (v >> COUNT_BITS) & COUNT_MAX,
        v & COUNT_MAX,
    )
}

/// Two counts over the last `window` (to within one bucket, a tenth of it). Counts saturate at
/// about a million per bucket.
#[derive(Debug)]
pub(crate) struct WindowCounter {
    buckets: [AtomicU64; BUCKETS],
    bucket_ms: u64,
}

impl WindowCounter {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            buckets: Default::default(),
            bucket_ms: (duration_millis(window) / BUCKETS as u64).max(1),
        }
    }

    fn tick(&self, now_ms: u64) -> u64 {
        now_ms / self.bucket_ms
    }

    /// Adds `a` and `b` to the bucket of `now_ms`.
    pub(crate) fn add(&self, now_ms: u64, a: u64, b: u64) {
        let tick = self.tick(now_ms);
        let tag = tick & TAG_MASK;
        let slot = &self.buckets[(tick % BUCKETS as u64) as usize];
        let mut cur = slot.load(Ordering::Relaxed);
        loop {
            let (t, ca, cb) = unpack(cur);
            let next = if t == tag {
                pack(tag, (ca + a).min(COUNT_MAX), (cb + b).min(COUNT_MAX))
            } else {
                pack(tag, a.min(COUNT_MAX), b.min(COUNT_MAX))
            };
            match slot.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Both totals over the window ending at `now_ms`.
    pub(crate) fn sums(&self, now_ms: u64) -> (u64, u64) {
        let tag = self.tick(now_ms) & TAG_MASK;
        let mut total = (0, 0);
        for slot in &self.buckets {
            let (t, a, b) = unpack(slot.load(Ordering::Acquire));
            if tag.wrapping_sub(t) & TAG_MASK < BUCKETS as u64 {
                total.0 += a;
                total.1 += b;
            }
        }
        total
    }

    /// Forgets everything (a breaker closing starts a fresh window).
    pub(crate) fn reset(&self) {
        for slot in &self.buckets {
            slot.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_window_and_forgets_after() {
        let w = WindowCounter::new(Duration::from_secs(10));
        w.add(0, 1, 0);
        w.add(500, 1, 1);
        w.add(4_000, 2, 1);
        assert_eq!(w.sums(4_000), (4, 2));
        assert_eq!(w.sums(9_999), (4, 2));
        // The first bucket (0..1s) leaves the window once 10 buckets have passed.
        assert_eq!(w.sums(10_000), (2, 1));
        assert_eq!(w.sums(13_999), (2, 1));
        assert_eq!(w.sums(14_000), (0, 0));
        // A bucket reused a full ring later starts from zero.
        w.add(20_000, 1, 0);
        assert_eq!(w.sums(20_000), (1, 0));
        w.reset();
        assert_eq!(w.sums(20_000), (0, 0));
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let w = WindowCounter::new(Duration::from_secs(1));
        w.add(0, COUNT_MAX, 3);
        w.add(0, 5, 0);
        assert_eq!(w.sums(0), (COUNT_MAX, 3));
    }

    #[test]
    fn tiny_windows_still_work() {
        let w = WindowCounter::new(Duration::from_millis(3));
        w.add(7, 1, 1);
        assert_eq!(w.sums(7), (1, 1));
    }

    #[test]
    fn concurrent_adds_are_all_counted() {
        let w = std::sync::Arc::new(WindowCounter::new(Duration::from_secs(10)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        w.add(100, 1, 1);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(w.sums(100), (40_000, 40_000));
    }
}

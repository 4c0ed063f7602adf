//! Randomness for selection and jitter without locks: a per-thread wyrand generator for
//! production, and a seeded, shared SplitMix64 sequence that tests inject for reproducible runs.
//! Both implement `rand::RngCore`, so strategies are written once against `rand::Rng`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngCore;

thread_local! {
    static STATE: Cell<u64> = Cell::new(rand::random());
}

/// wyrand step: fast, small state, passes the usual statistical suites; good enough for load
/// balancing and jitter (not for secrets).
fn wyrand(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0xa076_1d64_78bd_642f);
    let t = u128::from(*state) * u128::from(*state ^ 0xe703_7ed1_a0b4_28db);
    ((t >> 64) as u64) ^ (t as u64)
}

/// SplitMix64 finaliser over a counter value.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fill_from(bytes: &mut [u8], mut next: impl FnMut() -> u64) {
    for chunk in bytes.chunks_mut(8) {
        let v = next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// The calling thread's generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRng;

impl RngCore for ThreadRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        STATE.with(|cell| {
            let mut s = cell.get();
            let v = wyrand(&mut s);
            cell.set(s);
            v
        })
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        fill_from(dst, || self.next_u64());
    }
}

/// A seeded sequence shared by reference: each draw advances one atomic counter, so concurrent
/// users never block each other, and a single-threaded test sees the same numbers every run.
#[derive(Debug)]
pub(crate) struct SeededSource(AtomicU64);

impl SeededSource {
    pub(crate) fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }

    fn next(&self) -> u64 {
        splitmix(
            self.0
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
                .wrapping_add(0x9e37_79b9_7f4a_7c15),
        )
    }
}

/// The generator an executor hands to strategies and backoff.
#[derive(Debug)]
pub(crate) enum RngHandle<'a> {
    Thread(ThreadRng),
    Seeded(&'a SeededSource),
}

impl RngCore for RngHandle<'_> {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        match self {
            RngHandle::Thread(t) => t.next_u64(),
            RngHandle::Seeded(s) => s.next(),
        }
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        fill_from(dst, || self.next_u64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn seeded_sequences_repeat_and_differ_by_seed() {
        let a = SeededSource::new(7);
        let b = SeededSource::new(7);
        let c = SeededSource::new(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn generators_cover_a_range_evenly() {
        let seeded = SeededSource::new(1);
        for mut rng in [RngHandle::Thread(ThreadRng), RngHandle::Seeded(&seeded)] {
            let mut counts = [0u32; 4];
            for _ in 0..40_000 {
                counts[rng.random_range(0..4usize)] += 1;
            }
            for c in counts {
                assert!((9_000..11_000).contains(&c), "{counts:?}");
            }
            let mut buf = [0u8; 13];
            rng.fill_bytes(&mut buf);
            assert!(buf.iter().any(|b| *b != 0));
        }
    }
}

//! Backoff between retries: exponential with full jitter (AWS architecture blog), capped, and
//! combined with a provider's `Retry-After` without ever waiting past the request's deadline.
//!
//! Retry `n` (1-based) waits a uniform random time in `[0, min(max, base × 2^(n-1))]`. Full
//! jitter spreads a burst of clients' retries evenly instead of synchronising them.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::settings::RetrySettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
        }
    }

    pub fn from_settings(s: &RetrySettings) -> Self {
        Self::new(
            Duration::from_millis(s.base_delay_ms),
            Duration::from_millis(s.max_delay_ms),
        )
    }

    /// Upper bound of the wait before retry `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// A jittered wait before retry `retry`: uniform in `[0, ceiling]`.
    pub fn jittered<R: Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }

    /// The wait before retry `retry`: the jittered backoff, or `retry_after` if longer. `None`
    /// if the retry could not start before `deadline` (then give up now rather than wait).
    pub fn wait<R: Rng + ?Sized>(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        now: Instant,
        deadline: Option<Instant>,
        rng: &mut R,
    ) -> Option<Duration> {
        let wait = self
            .jittered(retry, rng)
            .max(retry_after.unwrap_or_default());
        match deadline {
            Some(d) if now.checked_add(wait).is_none_or(|at| at >= d) => None,
            _ => Some(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::new(ms(100), ms(1_000));
        let c: Vec<Duration> = (1..=6).map(|n| b.ceiling(n)).collect();
        assert_eq!(
            c,
            [ms(100), ms(200), ms(400), ms(800), ms(1_000), ms(1_000)]
        );
        assert_eq!(b.ceiling(u32::MAX), ms(1_000));
    }

    #[test]
    fn full_jitter_stays_in_bounds_and_spreads() {
        let b = Backoff::new(ms(100), ms(5_000));
        let mut rng = SmallRng::seed_from_u64(9);
        for n in 1..=4 {
            let draws: Vec<Duration> = (0..2_000).map(|_| b.jittered(n, &mut rng)).collect();
            let ceiling = b.ceiling(n);
            assert!(draws.iter().all(|d| *d <= ceiling));
            // Uniform: about a quarter below a quarter of the ceiling, and the mean near half.
            let low = draws.iter().filter(|d| **d < ceiling / 4).count();
            assert!((400..600).contains(&low), "{low}");
            let mean = draws.iter().sum::<Duration>() / 2_000;
            assert!(mean > ceiling * 45 / 100 && mean < ceiling * 55 / 100);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_a_floor_and_the_deadline_a_limit() {
        let b = Backoff::new(ms(100), ms(5_000));
        let mut rng = SmallRng::seed_from_u64(1);
        let now = Instant::now();
        let w = b.wait(1, Some(ms(2_000)), now, None, &mut rng).unwrap();
        assert_eq!(w, ms(2_000));
        let w = b.wait(1, None, now, None, &mut rng).unwrap();
        assert!(w <= ms(100));
        assert_eq!(
            b.wait(1, Some(ms(2_000)), now, Some(now + ms(1_500)), &mut rng),
            None
        );
        assert_eq!(
            b.wait(1, Some(ms(2_000)), now, Some(now + ms(2_001)), &mut rng),
            Some(ms(2_000))
        );
    }
}

//! Monotonic time as integers, so that target state fits in atomics. Every reading goes through
//! `tokio::time::Instant`, which follows tokio's paused test clock: breaker cooldowns, windows
//! and latency decay can then be tested deterministically.

use std::time::Duration;

use tokio::time::Instant;

/// A fixed origin; times are stored as milliseconds or nanoseconds since it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epoch(Instant);

impl Epoch {
    pub(crate) fn new() -> Self {
        Self(Instant::now())
    }

    /// Milliseconds from the origin to `at` (0 before it).
    pub(crate) fn millis(&self, at: Instant) -> u64 {
        duration_millis(at.saturating_duration_since(self.0))
    }

    pub(crate) fn now_millis(&self) -> u64 {
        self.millis(Instant::now())
    }
}

/// Whole milliseconds of `d`, saturating.
pub(crate) fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole nanoseconds of `d`, saturating.
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_the_paused_clock() {
        let e = Epoch::new();
        assert_eq!(e.now_millis(), 0);
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(e.now_millis(), 1_500);
        assert_eq!(duration_millis(Duration::MAX), u64::MAX);
        assert_eq!(duration_nanos(Duration::from_micros(3)), 3_000);
    }
}

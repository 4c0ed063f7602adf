//! The retry budget (after Finagle's): each request to a model deposits, each retry or hedge
//! withdraws, and a withdrawal is allowed while
//! `retries + 1 <= ratio × requests + min_per_sec × window_secs` over the sliding window.
//! During an outage this bounds the extra load retries put on a struggling provider to
//! `ratio` (plus a small floor), instead of multiplying it by `max_attempts`.
//!
//! Check and withdrawal are two atomic steps, not one: under heavy concurrency a few retries
//! beyond the budget can slip through (at most one per concurrent caller).

use std::time::Duration;

use crate::clock::Epoch;
use crate::settings::RetryBudgetSettings;
use crate::window::WindowCounter;

#[derive(Debug)]
pub struct RetryBudget {
    epoch: Epoch,
    /// (requests, retries)
    window: WindowCounter,
    ratio: f64,
    reserve: f64,
}

impl RetryBudget {
    pub fn new(s: &RetryBudgetSettings) -> Self {
        let window_secs = s.window_secs.max(1);
        Self {
            epoch: Epoch::new(),
            window: WindowCounter::new(Duration::from_secs(window_secs)),
            ratio: if s.ratio.is_finite() {
                s.ratio.max(0.0)
            } else {
                0.0
            },
            reserve: f64::from(s.min_per_sec) * window_secs as f64,
        }
    }

    /// A request arrived (once per request, not per attempt).
    pub fn deposit(&self) {
        self.window.add(self.epoch.now_millis(), 1, 0);
    }

    /// Takes one retry (or hedge) from the budget if there is one.
    pub fn try_withdraw(&self) -> bool {
        let now = self.epoch.now_millis();
        let (requests, retries) = self.window.sums(now);
        let allowed = (retries + 1) as f64 <= self.ratio * requests as f64 + self.reserve;
        if allowed {
            self.window.add(now, 0, 1);
        }
        allowed
    }

    /// (requests, retries) in the current window, for metrics.
    pub fn usage(&self) -> (u64, u64) {
        self.window.sums(self.epoch.now_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_are_a_fraction_of_requests_plus_a_floor() {
        let b = RetryBudget::new(&RetryBudgetSettings {
            ratio: 0.1,
            min_per_sec: 1,
            window_secs: 10,
        });
        // Floor: 10 retries with no traffic at all.
        let granted = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(granted, 10);
        for _ in 0..100 {
            b.deposit();
        }
        // 100 requests add 10 more.
        let granted = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(granted, 10);
        assert_eq!(b.usage(), (100, 20));
        // The window slides: everything is forgotten after it.
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(b.usage(), (0, 0));
        assert!(b.try_withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_budget_refuses() {
        let b = RetryBudget::new(&RetryBudgetSettings {
            ratio: 0.0,
            min_per_sec: 0,
            window_secs: 10,
        });
        b.deposit();
        assert!(!b.try_withdraw());
    }
}

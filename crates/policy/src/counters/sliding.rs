//! The sliding-window rate-limit decision, as a pure function of the window state.
//!
//! A key keeps two counts: `curr` for the current fixed window `[idx·w, (idx+1)·w)` and `prev`
//! for the one before. At `elapsed` milliseconds into the current window the usage of the
//! sliding window ending now is estimated as
//!
//! ```text
//! used = ceil(prev · (w − elapsed) / w) + curr
//! ```
//!
//! (the previous window's count weighted by its overlap, rounded up so the estimate never
//! under-counts). A request of `cost` fits when `used + cost ≤ limit`. This smooths the burst a
//! plain fixed window allows at its boundary, in O(1) state per key. The Redis Lua script
//! (`scripts/rate_check.lua`) implements the same formula; both backends run the same tests.
//! Integer arithmetic is exact while `prev · w < 2^53` (Lua numbers are doubles), e.g. any
//! count below 10^9 with a window up to one day.

/// The result of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub allowed: bool,
    pub remaining: u64,
    /// Allowed: milliseconds until the current window closes. Refused: milliseconds until the
    /// request would fit if nothing else were counted.
    pub reset_after_ms: u64,
}

fn ceil_div(a: u128, b: u128) -> u128 {
    a.div_ceil(b)
}

/// Decides a request of `cost` against `limit`, `elapsed_ms` into a window of `window_ms`.
pub fn decide(
    prev: u64,
    curr: u64,
    elapsed_ms: u64,
    window_ms: u64,
    cost: u64,
    limit: u64,
) -> Outcome {
    let w = u128::from(window_ms.max(1));
    let e = u128::from(elapsed_ms).min(w - 1);
    let (p, c, cost, limit) = (
        u128::from(prev),
        u128::from(curr),
        u128::from(cost),
        u128::from(limit),
    );
    let used = ceil_div(p * (w - e), w) + c;
    let to_u64 = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    if used + cost <= limit {
        return Outcome {
            allowed: true,
            remaining: to_u64(limit - used - cost),
            reset_after_ms: to_u64(w - e),
        };
    }
    let remaining = to_u64(limit.saturating_sub(used));
    let wait = if cost > limit {
        // Never fits: report the time until the window is entirely clear.
        2 * w - e
    } else {
        // Still in this window: the previous count decays until it leaves room.
        let in_window = (c + cost <= limit && p > 0)
            .then(|| {
                let room = limit - c - cost;
                let keep = room * w / p; // largest (w − e − t) that fits
                (w - e).saturating_sub(keep)
            })
            .filter(|t| *t < w - e);
        match in_window {
            Some(t) => t,
            None => {
                // In the next window `curr` becomes the decaying previous count.
                let room = limit - cost;
                // Nothing current (c = 0): it fits as soon as the next window starts.
                let e2 = (room * w)
                    .checked_div(c)
                    .map_or(0, |keep| w.saturating_sub(keep));
                (w - e) + e2
            }
        }
    };
    Outcome {
        allowed: false,
        remaining,
        reset_after_ms: to_u64(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_window_counts_exactly() {
        let o = decide(0, 0, 0, 60_000, 1, 3);
        assert_eq!(
            o,
            Outcome {
                allowed: true,
                remaining: 2,
                reset_after_ms: 60_000
            }
        );
        let o = decide(0, 3, 10_000, 60_000, 1, 3);
        assert!(!o.allowed);
        assert_eq!(o.remaining, 0);
        // Nothing from the previous window: the current count becomes `prev` in 50 s, and has
        // decayed to 2 of 3 after 1/3 of the next window (20 s): 50 s + 20 s.
        assert_eq!(o.reset_after_ms, 70_000);
    }

    #[test]
    fn previous_window_is_weighted_by_overlap() {
        // 10 in the previous window, a quarter of it still overlapping: ceil(2.5) = 3.
        let o = decide(10, 0, 45_000, 60_000, 1, 4);
        assert!(o.allowed);
        assert_eq!(o.remaining, 0);
        let o = decide(10, 0, 45_000, 60_000, 2, 4);
        assert!(!o.allowed);
        // Needs ceil(10·(60000 − 45000 − t)/60000) ≤ 2 → t ≥ 3000 ms.
        assert_eq!(o.reset_after_ms, 3_000);
        assert!(decide(10, 0, 48_000, 60_000, 2, 4).allowed);
        assert!(!decide(10, 0, 47_999, 60_000, 2, 4).allowed);
    }

    #[test]
    fn oversized_request_never_fits() {
        let o = decide(0, 0, 1_000, 60_000, 11, 10);
        assert!(!o.allowed);
        assert_eq!(o.remaining, 10);
        assert_eq!(o.reset_after_ms, 119_000);
    }

    #[test]
    fn retry_hint_is_sufficient_and_tight() {
        // For a grid of states, waiting `reset_after_ms` makes the request fit (given the same
        // state rolled forward), and waiting 1 ms less does not.
        let w = 1_000u64;
        for prev in [0u64, 1, 3, 7, 10] {
            for curr in [0u64, 1, 4, 9] {
                for e in [0u64, 1, 250, 999] {
                    for cost in [1u64, 3] {
                        let limit = 10;
                        let o = decide(prev, curr, e, w, cost, limit);
                        if o.allowed {
                            continue;
                        }
                        let at = |t: u64| {
                            let pos = e + t;
                            if pos < w {
                                decide(prev, curr, pos, w, cost, limit).allowed
                            } else if pos < 2 * w {
                                decide(curr, 0, pos - w, w, cost, limit).allowed
                            } else {
                                decide(0, 0, pos % w, w, cost, limit).allowed
                            }
                        };
                        assert!(at(o.reset_after_ms), "{prev} {curr} {e} {cost}");
                        if o.reset_after_ms > 0 {
                            assert!(!at(o.reset_after_ms - 1), "{prev} {curr} {e} {cost}");
                        }
                    }
                }
            }
        }
    }
}

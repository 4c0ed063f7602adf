//! Rate-limit response headers, in OpenAI's names and formats:
//! `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`,
//! `x-ratelimit-reset-requests` and the same three for `-tokens`. Resets are durations such as
//! `20ms`, `1s`, `6m0s`, `1h2m3s` (rounded up to the unit shown).

use std::time::Duration;

use crate::counters::Decision;

/// Limit, remaining and reset for one dimension (requests or tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub limit: u64,
    pub remaining: u64,
    pub reset_after: Duration,
}

impl From<&Decision> for RateState {
    fn from(d: &Decision) -> Self {
        Self {
            limit: d.limit,
            remaining: d.remaining,
            reset_after: d.reset_after,
        }
    }
}

/// The values for the rate-limit headers of one response: for each dimension, the most
/// constraining subject (the one with the least remaining).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub requests: Option<RateState>,
    pub tokens: Option<RateState>,
}

impl RateLimitHeaders {
    pub(crate) fn offer_requests(&mut self, s: RateState) {
        keep_tightest(&mut self.requests, s);
    }

    pub(crate) fn offer_tokens(&mut self, s: RateState) {
        keep_tightest(&mut self.tokens, s);
    }

    /// Header names and values to add to a response.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(6);
        if let Some(r) = &self.requests {
            out.push(("x-ratelimit-limit-requests", r.limit.to_string()));
            out.push(("x-ratelimit-remaining-requests", r.remaining.to_string()));
            out.push(("x-ratelimit-reset-requests", format_reset(r.reset_after)));
        }
        if let Some(t) = &self.tokens {
            out.push(("x-ratelimit-limit-tokens", t.limit.to_string()));
            out.push(("x-ratelimit-remaining-tokens", t.remaining.to_string()));
            out.push(("x-ratelimit-reset-tokens", format_reset(t.reset_after)));
        }
        out
    }
}

fn keep_tightest(slot: &mut Option<RateState>, s: RateState) {
    match slot {
        Some(cur) if cur.remaining <= s.remaining => {}
        _ => *slot = Some(s),
    }
}

/// Formats a reset duration the way OpenAI does: `250ms` under a second, else
/// hours/minutes/seconds with seconds rounded up (`1s`, `6m0s`, `1h0m5s`).
pub fn format_reset(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let secs = ms.div_ceil(1_000);
    let (h, m, s) = (secs / 3_600, (secs % 3_600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Whole seconds for a `Retry-After` header (rounded up, at least 1).
pub fn retry_after_secs(d: Duration) -> u64 {
    u64::try_from(d.as_millis().div_ceil(1_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_format_like_openai() {
        assert_eq!(format_reset(Duration::from_millis(20)), "20ms");
        assert_eq!(format_reset(Duration::from_millis(1_000)), "1s");
        assert_eq!(format_reset(Duration::from_millis(1_001)), "2s");
        assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
        assert_eq!(format_reset(Duration::from_secs(3_605)), "1h0m5s");
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2_001)), 3);
    }

    #[test]
    fn tightest_subject_wins() {
        let mut h = RateLimitHeaders::default();
        let st = |limit, remaining| RateState {
            limit,
            remaining,
            reset_after: Duration::from_secs(1),
        };
        h.offer_requests(st(100, 50));
        h.offer_requests(st(10, 3));
        h.offer_requests(st(1000, 900));
        assert_eq!(h.requests.map(|r| r.limit), Some(10));
        let pairs = h.pairs();
        assert_eq!(pairs.len(), 3);
        assert_eq!(
            pairs[1],
            ("x-ratelimit-remaining-requests", "3".to_string())
        );
    }
}

//! The per-target circuit breaker, lock-free.
//!
//! ```text
//!            N failures in a row, or error rate >= R over the window (>= M requests)
//!   Closed ─────────────────────────────────────────────────────────────────▶ Open
//!     ▲                                                                        │ cooldown
//!     │ probe succeeds                  probe fails: Open, cooldown doubled     ▼ elapses
//!     └──────────────────────────── HalfOpen (exactly one probe admitted) ◀────┘
//! ```
//!
//! State, probe flag, trip count and the end of the cooldown share one `AtomicU64`, so that
//! "cooldown over → admit one probe" is a single compare-and-swap: two callers can never both
//! become the probe. The cooldown is `cooldown_ms × 2^(trips - 1)`, capped; closing resets it.
//! Only the probe's result moves an open or half-open breaker; results of attempts admitted
//! before the trip are ignored there.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::settings::BreakerSettings;
use crate::window::WindowCounter;

/// A breaker's state as shown by metrics and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Traffic flows.
    Closed,
    /// Ejected until the cooldown ends.
    Open,
    /// Cooldown over: one probe request decides.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;
const PROBE_BIT: u64 = 1 << 2;
const TRIPS_SHIFT: u32 = 3;
const TRIPS_MAX: u64 = 31;
const UNTIL_SHIFT: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word {
    state: u64,
    probe: bool,
    trips: u64,
    until_ms: u64,
}

impl Word {
    fn load(v: u64) -> Self {
        Self {
            state: v & 3,
            probe: v & PROBE_BIT != 0,
            trips: (v >> TRIPS_SHIFT) & TRIPS_MAX,
            until_ms: v >> UNTIL_SHIFT,
        }
    }

    fn store(self) -> u64 {
        self.state
            | if self.probe { PROBE_BIT } else { 0 }
            | (self.trips.min(TRIPS_MAX) << TRIPS_SHIFT)
            | (self.until_ms.min(u64::MAX >> UNTIL_SHIFT) << UNTIL_SHIFT)
    }
}

/// How the breaker lets an attempt through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Closed: an ordinary attempt.
    Normal,
    /// The single half-open probe; its result opens or closes the breaker.
    Probe,
    /// Open, or half-open with the probe taken.
    Refused,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    word: AtomicU64,
    consecutive: AtomicU32,
    window: WindowCounter,
    consecutive_limit: u32,
    error_rate: f64,
    min_requests: u64,
    cooldown_ms: u64,
    max_cooldown_ms: u64,
}

impl Breaker {
    pub(crate) fn new(s: &BreakerSettings) -> Self {
        Self {
            word: AtomicU64::new(CLOSED),
            consecutive: AtomicU32::new(0),
            window: WindowCounter::new(Duration::from_secs(s.window_secs)),
            consecutive_limit: s.consecutive_failures.max(1),
            error_rate: s.error_rate,
            min_requests: u64::from(s.min_requests.max(1)),
            cooldown_ms: s.cooldown_ms.max(1),
            max_cooldown_ms: s.max_cooldown_ms.max(s.cooldown_ms.max(1)),
        }
    }

    /// Cooldown of the `trips`-th trip in a row (1-based).
    pub(crate) fn cooldown(&self, trips: u64) -> Duration {
        let factor = 1u64 << trips.saturating_sub(1).min(32);
        Duration::from_millis(
            self.cooldown_ms
                .saturating_mul(factor)
                .min(self.max_cooldown_ms),
        )
    }

    /// The effective state: an open breaker whose cooldown is over reads as half-open, since
    /// the next attempt is its probe.
    pub(crate) fn state(&self, now_ms: u64) -> BreakerState {
        let w = Word::load(self.word.load(Ordering::Acquire));
        match w.state {
            CLOSED => BreakerState::Closed,
            OPEN if now_ms < w.until_ms => BreakerState::Open,
            _ => BreakerState::HalfOpen,
        }
    }

    /// Would [`Breaker::admit`] let an attempt through now? Read-only (for selection).
    pub(crate) fn would_admit(&self, now_ms: u64) -> bool {
        let w = Word::load(self.word.load(Ordering::Acquire));
        match w.state {
            CLOSED => true,
            OPEN => now_ms >= w.until_ms,
            _ => !w.probe,
        }
    }

    pub(crate) fn admit(&self, now_ms: u64) -> Admission {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let w = Word::load(cur);
            let next = match w.state {
                CLOSED => return Admission::Normal,
                OPEN if now_ms < w.until_ms => return Admission::Refused,
                OPEN => Word {
                    state: HALF_OPEN,
                    probe: true,
                    ..w
                },
                _ if w.probe => return Admission::Refused,
                _ => Word { probe: true, ..w },
            };
            match self.word.compare_exchange_weak(
                cur,
                next.store(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Admission::Probe,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The target answered (successfully, or with an error that is not its fault).
    pub(crate) fn on_success(&self, now_ms: u64, probe: bool) {
        if probe {
            let closed = self.transition(|w| {
                (w.state == HALF_OPEN && w.probe).then_some(Word {
                    state: CLOSED,
                    probe: false,
                    trips: 0,
                    until_ms: 0,
                })
            });
            if closed {
                self.consecutive.store(0, Ordering::Release);
                self.window.reset();
            }
            return;
        }
        if Word::load(self.word.load(Ordering::Acquire)).state == CLOSED {
            self.consecutive.store(0, Ordering::Release);
            self.window.add(now_ms, 1, 0);
        }
    }

    /// The target failed. Returns true if this failure opened the breaker.
    pub(crate) fn on_failure(&self, now_ms: u64, probe: bool) -> bool {
        if probe {
            return self.transition(|w| {
                (w.state == HALF_OPEN && w.probe).then(|| {
                    let trips = (w.trips + 1).min(TRIPS_MAX);
                    Word {
                        state: OPEN,
                        probe: false,
                        trips,
                        until_ms: now_ms.saturating_add(self.cooldown_ms_for(trips)),
                    }
                })
            });
        }
        if Word::load(self.word.load(Ordering::Acquire)).state != CLOSED {
            return false;
        }
        let in_a_row = self.consecutive.fetch_add(1, Ordering::AcqRel) + 1;
        self.window.add(now_ms, 1, 1);
        let (requests, failures) = self.window.sums(now_ms);
        let rate_tripped =
            requests >= self.min_requests && failures as f64 >= self.error_rate * requests as f64;
        if in_a_row < self.consecutive_limit && !rate_tripped {
            return false;
        }
        self.transition(|w| {
            (w.state == CLOSED).then(|| Word {
                state: OPEN,
                probe: false,
                trips: 1,
                until_ms: now_ms.saturating_add(self.cooldown_ms_for(1)),
            })
        })
    }

    /// The probe ended without telling anything (cancelled): let another probe through.
    pub(crate) fn release_probe(&self) {
        self.transition(|w| {
            (w.state == HALF_OPEN && w.probe).then_some(Word { probe: false, ..w })
        });
    }

    fn cooldown_ms_for(&self, trips: u64) -> u64 {
        crate::clock::duration_millis(self.cooldown(trips))
    }

    /// Applies `f` atomically; true if it made a change.
    fn transition(&self, f: impl Fn(Word) -> Option<Word>) -> bool {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let Some(next) = f(Word::load(cur)) else {
                return false;
            };
            match self.word.compare_exchange_weak(
                cur,
                next.store(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: 3,
            error_rate: 0.5,
            min_requests: 10,
            window_secs: 30,
            cooldown_ms: 1_000,
            max_cooldown_ms: 5_000,
        }
    }

    #[test]
    fn trips_after_consecutive_failures_and_a_success_resets_the_run() {
        let b = Breaker::new(&settings());
        assert!(!b.on_failure(0, false));
        assert!(!b.on_failure(0, false));
        b.on_success(0, false);
        assert!(!b.on_failure(0, false));
        assert!(!b.on_failure(0, false));
        assert_eq!(b.state(0), BreakerState::Closed);
        assert!(b.on_failure(0, false));
        assert_eq!(b.state(0), BreakerState::Open);
        assert_eq!(b.admit(999), Admission::Refused);
        assert!(!b.would_admit(999));
    }

    #[test]
    fn trips_on_error_rate_once_enough_requests() {
        let b = Breaker::new(&BreakerSettings {
            consecutive_failures: 100,
            ..settings()
        });
        // Alternate: never 2 failures in a row, 50% failures.
        for i in 0..9 {
            if i % 2 == 0 {
                assert!(!b.on_failure(0, false));
            } else {
                b.on_success(0, false);
            }
        }
        // 9 requests, 5 failures: under the minimum volume.
        assert_eq!(b.state(0), BreakerState::Closed);
        b.on_success(0, false);
        // 10 requests, 5 failures = 50%: this failure makes 6/11.
        assert!(b.on_failure(0, false));
        assert_eq!(b.state(0), BreakerState::Open);
    }

    #[test]
    fn old_failures_leave_the_window() {
        let run = |later: u64| {
            let b = Breaker::new(&BreakerSettings {
                consecutive_failures: 100,
                ..settings()
            });
            // 9 requests, 4 failures: under the minimum volume.
            for _ in 0..4 {
                b.on_failure(0, false);
                b.on_success(0, false);
            }
            b.on_success(0, false);
            b.on_success(later, false);
            b.on_failure(later, false);
            b.on_failure(later, false)
        };
        // Within the window: 12 requests, 6 failures.
        assert!(run(1_000));
        // 31 s later the first nine are gone: 3 requests, under the minimum.
        assert!(!run(31_000));
    }

    #[test]
    fn half_open_admits_exactly_one_probe_and_success_closes() {
        let b = Breaker::new(&settings());
        for _ in 0..3 {
            b.on_failure(0, false);
        }
        assert_eq!(b.admit(999), Admission::Refused);
        assert_eq!(b.state(1_000), BreakerState::HalfOpen);
        assert!(b.would_admit(1_000));
        assert_eq!(b.admit(1_000), Admission::Probe);
        assert_eq!(b.admit(1_000), Admission::Refused);
        assert!(!b.would_admit(1_000));
        // A stale non-probe result changes nothing.
        b.on_success(1_000, false);
        assert_eq!(b.state(1_000), BreakerState::HalfOpen);
        b.on_success(1_200, true);
        assert_eq!(b.state(1_200), BreakerState::Closed);
        assert_eq!(b.admit(1_200), Admission::Normal);
        // The run of failures starts over.
        assert!(!b.on_failure(1_300, false));
        assert!(!b.on_failure(1_300, false));
    }

    #[test]
    fn failed_probes_double_the_cooldown_up_to_the_cap() {
        let b = Breaker::new(&settings());
        for _ in 0..3 {
            b.on_failure(0, false);
        }
        for expected in [2_000, 4_000, 5_000, 5_000] {
            let now = now_until(&b);
            assert_eq!(b.admit(now - 1), Admission::Refused);
            assert_eq!(b.admit(now), Admission::Probe);
            assert!(b.on_failure(now, true));
            assert_eq!(now_until(&b) - now, expected);
        }
        // After a successful probe the next trip starts from the base cooldown again.
        let t = now_until(&b);
        assert_eq!(b.admit(t), Admission::Probe);
        b.on_success(t, true);
        for _ in 0..3 {
            b.on_failure(t, false);
        }
        assert_eq!(now_until(&b) - t, 1_000);
    }

    fn now_until(b: &Breaker) -> u64 {
        Word::load(b.word.load(Ordering::Acquire)).until_ms
    }

    #[test]
    fn released_probe_lets_another_through() {
        let b = Breaker::new(&settings());
        for _ in 0..3 {
            b.on_failure(0, false);
        }
        assert_eq!(b.admit(1_000), Admission::Probe);
        b.release_probe();
        assert_eq!(b.state(1_000), BreakerState::HalfOpen);
        assert_eq!(b.admit(1_000), Admission::Probe);
    }

    #[test]
    fn concurrent_callers_get_one_probe() {
        let b = std::sync::Arc::new(Breaker::new(&settings()));
        for _ in 0..3 {
            b.on_failure(0, false);
        }
        let probes: usize = (0..8)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    (0..1_000)
                        .filter(|_| b.admit(1_000) == Admission::Probe)
                        .count()
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(probes, 1);
    }

    #[test]
    fn word_round_trips() {
        for w in [
            Word {
                state: HALF_OPEN,
                probe: true,
                trips: 31,
                until_ms: 123_456_789,
            },
            Word {
                state: OPEN,
                probe: false,
                trips: 2,
                until_ms: 0,
            },
        ] {
            assert_eq!(Word::load(w.store()), w);
        }
    }
}

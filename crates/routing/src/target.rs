//! One target's shared, lock-free health and load: requests in flight, latency (peak-EWMA and a
//! p95 histogram, per [`LatencyKind`]), the circuit breaker, and a rate-limit cooldown set from
//! the provider's `Retry-After`. An attempt holds an [`InFlight`] guard from admission to its
//! end; the guard reports the result, and dropping it unreported (a cancelled hedge, a deadline)
//! still gives the in-flight slot and any half-open probe back.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use switchyard_types::{ErrorClass, GatewayError};

use crate::breaker::{Admission, Breaker, BreakerState};
use crate::clock::{duration_millis, Epoch};
use crate::latency::{Histogram, LatencyKind, PeakEwma};
use crate::settings::BreakerSettings;

/// Cooldown after a rate-limit response that did not say how long to wait.
pub const DEFAULT_RATE_LIMIT_COOLDOWN: Duration = Duration::from_secs(1);

/// What an error class says about the target that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEffect {
    /// The target is failing: counts towards its breaker.
    Failure,
    /// The target answered; the error is about the request or a quota (for the breaker this is
    /// a success; rate limits cool the target down instead).
    Responded,
    /// Says nothing about the target (Switchyard's own failure).
    NoInfo,
}

/// Classifies an error class for the breaker.
pub fn health_effect(class: ErrorClass) -> HealthEffect {
    match class {
        ErrorClass::ServerError
        | ErrorClass::Timeout
        | ErrorClass::Connect
        | ErrorClass::Overloaded
        | ErrorClass::UpstreamAuth
        | ErrorClass::QuotaExceeded => HealthEffect::Failure,
        ErrorClass::BadRequest
        | ErrorClass::Unauthorized
        | ErrorClass::Forbidden
        | ErrorClass::NotFound
        | ErrorClass::PayloadTooLarge
        | ErrorClass::Unsupported
        | ErrorClass::RateLimited
        | ErrorClass::BudgetExceeded
        | ErrorClass::ContextWindowExceeded
        | ErrorClass::ContentFiltered => HealthEffect::Responded,
        ErrorClass::Internal => HealthEffect::NoInfo,
    }
}

/// Cost returned for a target with requests in flight and no latency observation yet, so that
/// a new target gets one request at a time until it has answered (Finagle's penalty).
const UNOBSERVED_PENALTY_NS: f64 = 1e15;

/// Shared state of one target.
#[derive(Debug)]
pub struct TargetState {
    epoch: Epoch,
    in_flight: AtomicU32,
    max_in_flight: u32,
    breaker: Breaker,
    /// Rate-limit cooldown end, ms since `epoch`.
    cool_until_ms: AtomicU64,
    /// Last failure or rate limit, ms since `epoch` + 1; 0 = never.
    last_failure: AtomicU64,
    /// Per [`LatencyKind`]. Inline: selection reads them.
    ewma: [PeakEwma; 2],
    /// Per [`LatencyKind`]. Boxed (2 KiB): keeps the fields selection reads close together.
    histograms: Box<[Histogram; 2]>,
    max_cooldown: Duration,
}

impl TargetState {
    pub fn new(breaker: &BreakerSettings, max_in_flight: Option<u32>) -> Self {
        Self::with_epoch(Epoch::new(), breaker, max_in_flight)
    }

    /// Targets of one group share an epoch, so one clock reading serves them all.
    pub(crate) fn with_epoch(
        epoch: Epoch,
        breaker: &BreakerSettings,
        max_in_flight: Option<u32>,
    ) -> Self {
        Self {
            epoch,
            in_flight: AtomicU32::new(0),
            max_in_flight: max_in_flight.unwrap_or(u32::MAX).max(1),
            breaker: Breaker::new(breaker),
            cool_until_ms: AtomicU64::new(0),
            last_failure: AtomicU64::new(0),
            ewma: [PeakEwma::new(), PeakEwma::new()],
            histograms: Box::new([Histogram::new(), Histogram::new()]),
            max_cooldown: Duration::from_millis(breaker.max_cooldown_ms.max(1)),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.epoch.now_millis()
    }

    /// Breaker state (an open breaker whose cooldown is over reads `HalfOpen`).
    pub fn state(&self) -> BreakerState {
        self.breaker.state(self.now_ms())
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The configured limit, if any.
    pub fn max_in_flight(&self) -> Option<u32> {
        (self.max_in_flight != u32::MAX).then_some(self.max_in_flight)
    }

    /// Peak-EWMA latency estimate of this kind, decayed to now; `None` before any observation.
    pub fn latency_estimate(&self, kind: LatencyKind) -> Option<Duration> {
        self.ewma[kind.index()]
            .estimate_ns(self.now_ms())
            .map(|ns| Duration::from_nanos(ns as u64))
    }

    /// p95 of the last 30 to 60 s of successful attempts of this kind; `None` with fewer than
    /// 20 observations.
    pub fn latency_p95(&self, kind: LatencyKind) -> Option<Duration> {
        self.histograms[kind.index()].quantile(self.now_ms(), 0.95)
    }

    /// Time left of a rate-limit cooldown.
    pub fn cooldown_remaining(&self) -> Option<Duration> {
        self.cooldown_remaining_at(self.now_ms())
    }

    pub(crate) fn cooldown_remaining_at(&self, now_ms: u64) -> Option<Duration> {
        let until = self.cool_until_ms.load(Ordering::Acquire);
        (until > now_ms).then(|| Duration::from_millis(until - now_ms))
    }

    /// Healthy and with room: breaker admits, no cooldown, under `max_in_flight`.
    pub fn is_available(&self) -> bool {
        self.available_at(self.now_ms())
    }

    #[inline]
    pub(crate) fn available_at(&self, now_ms: u64) -> bool {
        self.has_room()
            && self.cool_until_ms.load(Ordering::Acquire) <= now_ms
            && self.breaker.would_admit(now_ms)
    }

    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) < self.max_in_flight
    }

    /// 0 if this target never failed, else a larger number for a more recent failure.
    #[inline]
    pub(crate) fn last_failure_rank(&self) -> u64 {
        self.last_failure.load(Ordering::Acquire)
    }

    /// Load for `lowest_latency`: estimate × (in flight + 1), in nanoseconds.
    #[inline]
    pub(crate) fn latency_cost(&self, now_ms: u64, kind: LatencyKind) -> f64 {
        let pending = f64::from(self.in_flight());
        match self.ewma[kind.index()].estimate_ns(now_ms) {
            Some(est) => est * (pending + 1.0),
            None if pending == 0.0 => 0.0,
            None => UNOBSERVED_PENALTY_NS + pending,
        }
    }

    /// Admits an attempt if the target is available. See [`InFlight`].
    pub fn try_acquire(&self) -> Option<InFlight<'_>> {
        self.acquire_at(self.now_ms(), false)
    }

    /// Admits an attempt; `forced` bypasses the breaker and the cooldown (never the in-flight
    /// limit), for when no target is healthy. A forced attempt still becomes the half-open
    /// probe when one is due.
    pub(crate) fn acquire_at(&self, now_ms: u64, forced: bool) -> Option<InFlight<'_>> {
        let mut cur = self.in_flight.load(Ordering::Acquire);
        loop {
            if cur >= self.max_in_flight {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
        // From here on, dropping the guard gives the slot back.
        let mut guard = InFlight {
            target: self,
            probe: false,
            reported: false,
        };
        if !forced && self.cool_until_ms.load(Ordering::Acquire) > now_ms {
            return None;
        }
        match self.breaker.admit(now_ms) {
            Admission::Normal => {}
            Admission::Probe => guard.probe = true,
            Admission::Refused if forced => {}
            Admission::Refused => return None,
        }
        Some(guard)
    }

    fn note_failure(&self, now_ms: u64) {
        self.last_failure.fetch_max(now_ms + 1, Ordering::AcqRel);
    }

    fn cool_down(&self, now_ms: u64, d: Duration) {
        let until = now_ms.saturating_add(duration_millis(d.min(self.max_cooldown)));
        self.cool_until_ms.fetch_max(until, Ordering::AcqRel);
    }
}

/// An admitted attempt: holds one in-flight slot (and perhaps the half-open probe) until it is
/// reported or dropped.
#[derive(Debug)]
#[must_use = "dropping the guard ends the attempt without a result"]
pub struct InFlight<'a> {
    target: &'a TargetState,
    probe: bool,
    reported: bool,
}

impl InFlight<'_> {
    /// This attempt is the half-open probe: its result opens or closes the breaker.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The attempt succeeded after `latency` (of `kind`).
    pub fn succeed(mut self, kind: LatencyKind, latency: Duration) {
        let t = self.target;
        let now = t.now_ms();
        t.breaker.on_success(now, self.probe);
        t.ewma[kind.index()].observe(now, latency);
        t.histograms[kind.index()].record(now, latency);
        self.reported = true;
    }

    /// The attempt failed with `err` after `elapsed`. Returns true if this opened the breaker.
    pub fn fail(mut self, err: &GatewayError, kind: LatencyKind, elapsed: Duration) -> bool {
        let t = self.target;
        let now = t.now_ms();
        let cooldown = match (err.retry_after, err.class) {
            (Some(d), _) => Some(d),
            (None, ErrorClass::RateLimited) => Some(DEFAULT_RATE_LIMIT_COOLDOWN),
            (None, _) => None,
        };
        if let Some(d) = cooldown {
            t.cool_down(now, d);
            t.note_failure(now);
        }
        if err.class == ErrorClass::Timeout {
            t.ewma[kind.index()].raise_to(now, elapsed);
        }
        let opened = match health_effect(err.class) {
            HealthEffect::Failure => {
                t.note_failure(now);
                t.breaker.on_failure(now, self.probe)
            }
            HealthEffect::Responded => {
                t.breaker.on_success(now, self.probe);
                false
            }
            // Dropping unreported releases the probe.
            HealthEffect::NoInfo => return false,
        };
        self.reported = true;
        opened
    }

    /// The attempt was cut short after `elapsed` (lost a hedge race, or hit the deadline): no
    /// verdict on health, but its latency was at least `elapsed`.
    pub fn abandon(self, kind: LatencyKind, elapsed: Duration) {
        let t = self.target;
        t.ewma[kind.index()].raise_to(t.now_ms(), elapsed);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.target.in_flight.fetch_sub(1, Ordering::AcqRel);
        if self.probe && !self.reported {
            self.target.breaker.release_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::Who;

    fn breaker() -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: 2,
            cooldown_ms: 1_000,
            ..BreakerSettings::default()
        }
    }

    fn err(class: ErrorClass) -> GatewayError {
        GatewayError::new(class, Who::Upstream, "x")
    }

    #[tokio::test(start_paused = true)]
    async fn guard_counts_in_flight_and_respects_the_limit() {
        let t = TargetState::new(&breaker(), Some(2));
        let a = t.try_acquire().unwrap();
        let b = t.try_acquire().unwrap();
        assert_eq!(t.in_flight(), 2);
        assert!(!t.is_available());
        assert!(t.try_acquire().is_none());
        assert!(
            t.acquire_at(t.now_ms(), true).is_none(),
            "forced ignores no limit"
        );
        assert_eq!(t.in_flight(), 2);
        a.succeed(LatencyKind::Total, Duration::from_millis(10));
        drop(b);
        assert_eq!(t.in_flight(), 0);
        assert!(t.is_available());
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_cools_down_for_retry_after_capped() {
        let t = TargetState::new(&breaker(), None);
        let g = t.try_acquire().unwrap();
        g.fail(
            &err(ErrorClass::RateLimited).with_retry_after(Some(Duration::from_secs(7))),
            LatencyKind::Total,
            Duration::ZERO,
        );
        assert_eq!(t.cooldown_remaining(), Some(Duration::from_secs(7)));
        assert!(!t.is_available());
        assert!(t.try_acquire().is_none());
        assert_eq!(
            t.state(),
            BreakerState::Closed,
            "a 429 is not a breaker failure"
        );
        tokio::time::advance(Duration::from_millis(6_999)).await;
        assert!(!t.is_available());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(t.is_available());

        // Without Retry-After: the default; an absurd Retry-After is capped.
        t.try_acquire().unwrap().fail(
            &err(ErrorClass::RateLimited),
            LatencyKind::Total,
            Duration::ZERO,
        );
        assert_eq!(t.cooldown_remaining(), Some(DEFAULT_RATE_LIMIT_COOLDOWN));
        tokio::time::advance(DEFAULT_RATE_LIMIT_COOLDOWN).await;
        t.try_acquire().unwrap().fail(
            &err(ErrorClass::RateLimited).with_retry_after(Some(Duration::from_secs(86_400))),
            LatencyKind::Total,
            Duration::ZERO,
        );
        assert_eq!(t.cooldown_remaining(), Some(Duration::from_secs(300)));
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_then_half_open_probe_closes() {
        let t = TargetState::new(&breaker(), None);
        assert!(!t.try_acquire().unwrap().fail(
            &err(ErrorClass::ServerError),
            LatencyKind::Total,
            Duration::ZERO
        ));
        assert!(t.try_acquire().unwrap().fail(
            &err(ErrorClass::Connect),
            LatencyKind::Total,
            Duration::ZERO
        ));
        assert_eq!(t.state(), BreakerState::Open);
        assert!(t.try_acquire().is_none());
        // Forced attempts pass an open breaker.
        let forced = t.acquire_at(t.now_ms(), true).unwrap();
        assert!(!forced.is_probe());
        drop(forced);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(t.state(), BreakerState::HalfOpen);
        let probe = t.try_acquire().unwrap();
        assert!(probe.is_probe());
        assert!(t.try_acquire().is_none(), "one probe at a time");
        // A client error still proves the target answers.
        probe.fail(
            &err(ErrorClass::BadRequest),
            LatencyKind::Total,
            Duration::ZERO,
        );
        assert_eq!(t.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_probe_is_released_and_internal_errors_say_nothing() {
        let t = TargetState::new(&breaker(), None);
        for _ in 0..2 {
            t.try_acquire().unwrap().fail(
                &err(ErrorClass::ServerError),
                LatencyKind::Total,
                Duration::ZERO,
            );
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        let probe = t.try_acquire().unwrap();
        assert!(probe.is_probe());
        probe.fail(
            &err(ErrorClass::Internal),
            LatencyKind::Total,
            Duration::ZERO,
        );
        let probe = t.try_acquire().unwrap();
        assert!(probe.is_probe(), "internal error released the probe");
        probe.abandon(LatencyKind::Total, Duration::from_millis(5));
        assert!(
            t.try_acquire().unwrap().is_probe(),
            "abandon released it too"
        );
        assert_eq!(t.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn latency_is_tracked_per_kind() {
        let t = TargetState::new(&breaker(), None);
        assert_eq!(t.latency_estimate(LatencyKind::Total), None);
        for _ in 0..20 {
            t.try_acquire()
                .unwrap()
                .succeed(LatencyKind::FirstToken, Duration::from_millis(200));
        }
        let est = t.latency_estimate(LatencyKind::FirstToken).unwrap();
        assert!(est.abs_diff(Duration::from_millis(200)) < Duration::from_millis(1));
        assert_eq!(t.latency_estimate(LatencyKind::Total), None);
        let p95 = t.latency_p95(LatencyKind::FirstToken).unwrap();
        assert!(p95 >= Duration::from_millis(200) && p95 <= Duration::from_millis(250));
        assert_eq!(t.latency_p95(LatencyKind::Total), None);
        // A timeout raises the estimate to what it waited.
        t.try_acquire().unwrap().fail(
            &err(ErrorClass::Timeout),
            LatencyKind::FirstToken,
            Duration::from_secs(2),
        );
        let est = t.latency_estimate(LatencyKind::FirstToken).unwrap();
        assert!(est >= Duration::from_millis(1_999));
    }

    #[test]
    fn every_class_has_an_effect() {
        for c in ErrorClass::ALL {
            let e = health_effect(c);
            if c.retryable() && c != ErrorClass::RateLimited {
                assert_eq!(e, HealthEffect::Failure, "{c:?}");
            }
        }
        assert_eq!(
            health_effect(ErrorClass::BadRequest),
            HealthEffect::Responded
        );
    }
}

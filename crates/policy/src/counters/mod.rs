//! The counter primitives that admission is built from, behind one dyn-compatible trait with two
//! backends: [`MemoryCounters`] (one process) and [`RedisCounters`] (shared by every replica).
//!
//! Every primitive is a single atomic check-and-update:
//!
//! * **Rate limits** — a sliding-window counter ([`sliding`]): the count of the current fixed
//!   window plus the previous window's count weighted by how much of it still overlaps the
//!   sliding window. `rate_check` adds `cost` only when the result stays within the limit: a
//!   refused request is not counted. `rate_adjust` corrects the current window afterwards
//!   (tokens-per-minute once the real usage is known), flooring at zero.
//! * **Concurrency** — leases with an expiry, so a crashed replica's slots come back by
//!   themselves after `lease_ttl`.
//! * **Budgets** — per (subject, window): spent micro-dollars plus outstanding reservations.
//!   `reserve` admits only if `spent + reserved + amount ≤ limit`; `settle` replaces a
//!   reservation by the actual cost (which may exceed it); reservations expire after their hold
//!   time, so a crashed replica's reservations are released by themselves.
//!
//! Keys are opaque strings chosen by the caller; each backend namespaces them. Every piece of
//! state carries an expiry, so nothing grows without bound.

pub mod memory;
pub mod redis;
pub mod sliding;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use self::memory::MemoryCounters;
pub use self::redis::RedisCounters;

/// A boxed, sendable future: keeps [`Counters`] dyn-compatible without a macro crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The counter store failed (Redis unreachable, a script error). Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("counter store: {message}")]
pub struct CounterError {
    pub message: String,
}

impl CounterError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The outcome of a rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The request fits and has been counted.
    pub allowed: bool,
    pub limit: u64,
    /// What is left in the window after this request (before it, when refused).
    pub remaining: u64,
    /// Allowed: time until the current window closes. Refused: the earliest time after which
    /// the same request could fit, if nothing else is counted meanwhile.
    pub reset_after: Duration,
}

/// A held concurrency slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub id: String,
}

/// The budget window a reservation or spend belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetWindow {
    /// A calendar window (or the whole lifetime, `id = "total"`): all spend in one bucket.
    /// The state is kept until `expires_at_ms` (Unix milliseconds).
    Fixed { id: String, expires_at_ms: i64 },
    /// The last `hours` clock hours (UTC), summed from hourly buckets by the backend's clock:
    /// spend counts for between `hours − 1` and `hours` hours.
    Rolling { hours: u32 },
}

impl BudgetWindow {
    /// The part of the storage key that names this window.
    pub(crate) fn storage_suffix(&self) -> String {
        match self {
            BudgetWindow::Fixed { id, .. } => id.clone(),
            BudgetWindow::Rolling { hours } => format!("rolling{hours}h"),
        }
    }
}

/// An outstanding budget reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub key: String,
    pub window: BudgetWindow,
    pub id: String,
    pub amount: u64,
    /// Spent plus every outstanding reservation, this one included, right after reserving.
    pub committed: u64,
}

/// A reservation was refused: it would take the budget over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// Settled spend in the window.
    pub spent: u64,
    /// Other requests' outstanding reservations.
    pub reserved: u64,
}

/// Spend before and after a settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub spent_before: u64,
    pub spent_after: u64,
}

/// A budget's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetState {
    pub spent: u64,
    pub reserved: u64,
}

/// The atomic counter primitives. Both backends pass the same test suite.
pub trait Counters: Send + Sync {
    /// Adds `cost` to `key`'s sliding window of length `window` if the total stays within
    /// `limit`; a refused request is not counted.
    fn rate_check<'a>(
        &'a self,
        key: &'a str,
        cost: u64,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Decision, CounterError>>;

    /// Adds `delta` (which may be negative) to the current window of `key`, flooring at zero.
    fn rate_adjust<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), CounterError>>;

    /// Takes one of `limit` concurrency slots for `lease_ttl`, or `None` when all are held.
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        lease_ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, CounterError>>;

    /// Gives a slot back (no-op if it already expired).
    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), CounterError>>;

    /// Reserves `amount` micro-dollars if `spent + reserved + amount ≤ limit`. The reservation
    /// expires after `hold` unless settled or released first.
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
        amount: u64,
        limit: u64,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Result<Reservation, Exceeded>, CounterError>>;

    /// Replaces the reservation by the actual cost (which may exceed it). The cost is added even
    /// when the reservation already expired.
    fn settle<'a>(
        &'a self,
        reservation: &'a Reservation,
        actual: u64,
    ) -> BoxFuture<'a, Result<Settled, CounterError>>;

    /// Drops a reservation without spending.
    fn release<'a>(
        &'a self,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<(), CounterError>>;

    /// Spend and outstanding reservations in a window.
    fn spent<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
    ) -> BoxFuture<'a, Result<BudgetState, CounterError>>;

    /// Initialises a window's spend (from the ledger, at start-up) only if it has none yet.
    /// Returns whether the value was written. A rolling window's seed goes into the current
    /// hour's bucket (conservative: it leaves the window up to one hour late).
    fn seed<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
        micros: u64,
    ) -> BoxFuture<'a, Result<bool, CounterError>>;
}

/// Escapes the characters that would break the key layout or its hash tag:
/// `%`, `{`, `}` and `|` become `%25`, `%7B`, `%7D`, `%7C`.
pub fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for ch in part.chars() {
        match ch {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            '|' => out.push_str("%7C"),
            c => out.push(c),
        }
    }
    out
}

/// A fresh 128-bit random id for leases and reservations, unique across replicas.
pub(crate) fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Milliseconds per rolling-budget bucket.
pub(crate) const HOUR_MS: u64 = 3_600_000;

//! In-process counters: a sharded map of small state records, each behind a `parking_lot`
//! mutex held only for the few arithmetic operations of one check (no await while locked, no
//! `std::sync::Mutex`). Expired records are swept from a shard every [`SWEEP_EVERY`] operations
//! on it, so the map stays bounded by what is live.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::sliding::decide;
use super::{
    duration_ms, escape, new_id, BoxFuture, BudgetState, BudgetWindow, CounterError, Counters,
    Decision, Exceeded, Lease, Reservation, Settled, HOUR_MS,
};
use crate::clock::{Clock, SystemClock};

const SHARDS: usize = 32;
/// Operations on one shard between sweeps of its expired records.
pub const SWEEP_EVERY: u32 = 1_024;

trait Expiring {
    fn expires_at(&self) -> u64;
}

struct Shard<V> {
    map: HashMap<String, V>,
    ops: u32,
}

struct Sharded<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    hasher: RandomState,
}

impl<V: Expiring> Sharded<V> {
    fn new() -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    map: HashMap::new(),
                    ops: 0,
                })
            })
            .collect();
        Self {
            shards,
            hasher: RandomState::new(),
        }
    }

    /// Runs `f` on the shard holding `key`, sweeping expired records first when due.
    fn with<R>(
        &self,
        key: String,
        now: u64,
        f: impl FnOnce(&mut HashMap<String, V>, String) -> R,
    ) -> R {
        let idx = (self.hasher.hash_one(&key) as usize) % self.shards.len();
        let mut shard = self.shards[idx].lock();
        shard.ops += 1;
        if shard.ops >= SWEEP_EVERY {
            shard.ops = 0;
            shard.map.retain(|_, v| v.expires_at() > now);
        }
        f(&mut shard.map, key)
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }

    fn sweep(&self, now: u64) {
        for shard in self.shards.iter() {
            shard.lock().map.retain(|_, v| v.expires_at() > now);
        }
    }
}

struct RateState {
    window_idx: u64,
    prev: u64,
    curr: u64,
    window_ms: u64,
}

impl RateState {
    fn roll(&mut self, idx: u64) {
        if self.window_idx == idx {
            return;
        }
        self.prev = if self.window_idx + 1 == idx {
            self.curr
        } else {
            0
        };
        self.curr = 0;
        self.window_idx = idx;
    }
}

impl Expiring for RateState {
    fn expires_at(&self) -> u64 {
        (self.window_idx + 2).saturating_mul(self.window_ms)
    }
}

#[derive(Default)]
struct ConcState {
    leases: HashMap<String, u64>,
}

impl Expiring for ConcState {
    fn expires_at(&self) -> u64 {
        self.leases.values().copied().max().unwrap_or(0)
    }
}

#[derive(Default)]
struct BudgetRecord {
    fixed_spent: u64,
    buckets: BTreeMap<u64, u64>,
    reserved: u64,
    reservations: HashMap<String, (u64, u64)>,
    expires_at: u64,
    /// A fixed window has had spend written (settled or seeded), even if zero.
    touched: bool,
    /// A rolling window has been seeded.
    seeded: bool,
}

impl Expiring for BudgetRecord {
    fn expires_at(&self) -> u64 {
        let held = self
            .reservations
            .values()
            .map(|(_, e)| *e)
            .max()
            .unwrap_or(0);
        self.expires_at.max(held)
    }
}

impl BudgetRecord {
    fn purge(&mut self, now: u64) {
        let reserved = &mut self.reserved;
        self.reservations.retain(|_, (amount, expiry)| {
            let live = *expiry > now;
            if !live {
                *reserved = reserved.saturating_sub(*amount);
            }
            live
        });
    }

    fn spent(&mut self, window: &BudgetWindow, now: u64) -> u64 {
        match window {
            BudgetWindow::Fixed { .. } => self.fixed_spent,
            BudgetWindow::Rolling { hours } => {
                let current = now / HOUR_MS;
                let oldest = current.saturating_sub(u64::from(*hours).saturating_sub(1));
                self.buckets.retain(|b, _| *b >= oldest);
                self.buckets
                    .values()
                    .fold(0u64, |a, v| a.saturating_add(*v))
            }
        }
    }

    fn add_spent(&mut self, window: &BudgetWindow, now: u64, amount: u64) {
        match window {
            BudgetWindow::Fixed { .. } => {
                self.touched = true;
                self.fixed_spent = self.fixed_spent.saturating_add(amount);
            }
            BudgetWindow::Rolling { .. } => {
                let b = self.buckets.entry(now / HOUR_MS).or_insert(0);
                *b = b.saturating_add(amount);
            }
        }
    }

    fn extend(&mut self, window: &BudgetWindow, now: u64) {
        let until = match window {
            BudgetWindow::Fixed { expires_at_ms, .. } => u64::try_from(*expires_at_ms).unwrap_or(0),
            BudgetWindow::Rolling { hours } => {
                now.saturating_add((u64::from(*hours) + 1).saturating_mul(HOUR_MS))
            }
        };
        self.expires_at = self.expires_at.max(until);
    }
}

/// Counters held in this process. Correct for one gateway process; use [`RedisCounters`]
/// (`super::RedisCounters`) when several replicas must share limits.
pub struct MemoryCounters {
    clock: Arc<dyn Clock>,
    rates: Sharded<RateState>,
    concurrency: Sharded<ConcState>,
    budgets: Sharded<BudgetRecord>,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCounters {
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// Counters driven by `clock` (tests use a [`ManualClock`](crate::clock::ManualClock)).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            rates: Sharded::new(),
            concurrency: Sharded::new(),
            budgets: Sharded::new(),
        }
    }

    /// Number of live records (rate windows, concurrency keys, budget windows).
    pub fn len(&self) -> usize {
        self.rates.len() + self.concurrency.len() + self.budgets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired record now (also done incrementally as shards are used).
    pub fn sweep_expired(&self) {
        let now = self.clock.now_ms();
        self.rates.sweep(now);
        self.concurrency.sweep(now);
        self.budgets.sweep(now);
    }

    fn rate_key(key: &str, window_ms: u64) -> String {
        format!("{key}#{window_ms}")
    }

    fn budget_key(key: &str, window: &BudgetWindow) -> String {
        format!("{}|{}", escape(key), escape(&window.storage_suffix()))
    }

    fn do_rate_check(&self, key: &str, cost: u64, limit: u64, window: Duration) -> Decision {
        let w = duration_ms(window);
        let now = self.clock.now_ms();
        let idx = now / w;
        let elapsed = now % w;
        self.rates.with(Self::rate_key(key, w), now, |map, rk| {
            let st = map.entry(rk).or_insert(RateState {
                window_idx: idx,
                prev: 0,
                curr: 0,
                window_ms: w,
            });
            st.roll(idx);
            let out = decide(st.prev, st.curr, elapsed, w, cost, limit);
            if out.allowed {
                st.curr = st.curr.saturating_add(cost);
            }
            Decision {
                allowed: out.allowed,
                limit,
                remaining: out.remaining,
                reset_after: Duration::from_millis(out.reset_after_ms),
            }
        })
    }

    fn do_rate_adjust(&self, key: &str, delta: i64, window: Duration) {
        let w = duration_ms(window);
        let now = self.clock.now_ms();
        let idx = now / w;
        self.rates.with(Self::rate_key(key, w), now, |map, rk| {
            let st = map.entry(rk).or_insert(RateState {
                window_idx: idx,
                prev: 0,
                curr: 0,
                window_ms: w,
            });
            st.roll(idx);
            st.curr = if delta >= 0 {
                st.curr.saturating_add(delta.unsigned_abs())
            } else {
                st.curr.saturating_sub(delta.unsigned_abs())
            };
        });
    }

    fn do_acquire(&self, key: &str, limit: u64, ttl: Duration) -> Option<Lease> {
        let now = self.clock.now_ms();
        let expiry = now.saturating_add(duration_ms(ttl));
        self.concurrency.with(key.to_owned(), now, |map, ck| {
            let st = map.entry(ck).or_default();
            st.leases.retain(|_, e| *e > now);
            if (st.leases.len() as u64) < limit {
                let id = new_id();
                st.leases.insert(id.clone(), expiry);
                Some(Lease {
                    key: key.to_owned(),
                    id,
                })
            } else {
                None
            }
        })
    }

    fn do_release_lease(&self, lease: &Lease) {
        let now = self.clock.now_ms();
        self.concurrency.with(lease.key.clone(), now, |map, _| {
            if let Some(st) = map.get_mut(&lease.key) {
                st.leases.remove(&lease.id);
            }
        });
    }

    fn do_reserve(
        &self,
        key: &str,
        window: &BudgetWindow,
        amount: u64,
        limit: u64,
        hold: Duration,
    ) -> Result<Reservation, Exceeded> {
        let now = self.clock.now_ms();
        self.budgets
            .with(Self::budget_key(key, window), now, |map, bkey| {
                let rec = map.entry(bkey).or_default();
                rec.purge(now);
                let spent = rec.spent(window, now);
                let committed = spent.saturating_add(rec.reserved);
                if committed.saturating_add(amount) > limit {
                    return Err(Exceeded {
                        spent,
                        reserved: rec.reserved,
                    });
                }
                let id = new_id();
                rec.reserved = rec.reserved.saturating_add(amount);
                rec.reservations
                    .insert(id.clone(), (amount, now.saturating_add(duration_ms(hold))));
                rec.extend(window, now);
                Ok(Reservation {
                    key: key.to_owned(),
                    window: window.clone(),
                    id,
                    amount,
                    committed: committed.saturating_add(amount),
                })
            })
    }

    fn do_settle(&self, r: &Reservation, actual: u64) -> Settled {
        let now = self.clock.now_ms();
        self.budgets
            .with(Self::budget_key(&r.key, &r.window), now, |map, bkey| {
                let rec = map.entry(bkey).or_default();
                rec.purge(now);
                if let Some((amount, _)) = rec.reservations.remove(&r.id) {
                    rec.reserved = rec.reserved.saturating_sub(amount);
                }
                let before = rec.spent(&r.window, now);
                rec.add_spent(&r.window, now, actual);
                rec.extend(&r.window, now);
                Settled {
                    spent_before: before,
                    spent_after: before.saturating_add(actual),
                }
            })
    }

    fn do_release(&self, r: &Reservation) {
        let now = self.clock.now_ms();
        self.budgets
            .with(Self::budget_key(&r.key, &r.window), now, |map, bkey| {
                if let Some(rec) = map.get_mut(&bkey) {
                    if let Some((amount, _)) = rec.reservations.remove(&r.id) {
                        rec.reserved = rec.reserved.saturating_sub(amount);
                    }
                }
            });
    }

    fn do_spent(&self, key: &str, window: &BudgetWindow) -> BudgetState {
        let now = self.clock.now_ms();
        self.budgets
            .with(Self::budget_key(key, window), now, |map, bkey| {
                match map.get_mut(&bkey) {
                    Some(rec) => {
                        rec.purge(now);
                        BudgetState {
                            spent: rec.spent(window, now),
                            reserved: rec.reserved,
                        }
                    }
                    None => BudgetState::default(),
                }
            })
    }

    fn do_seed(&self, key: &str, window: &BudgetWindow, micros: u64) -> bool {
        let now = self.clock.now_ms();
        self.budgets
            .with(Self::budget_key(key, window), now, |map, bkey| {
                let rec = map.entry(bkey).or_default();
                let has_spend = match window {
                    BudgetWindow::Fixed { .. } => rec.touched,
                    BudgetWindow::Rolling { .. } => {
                        rec.spent(window, now); // drops buckets that left the window
                        rec.seeded || !rec.buckets.is_empty()
                    }
                };
                if has_spend {
                    return false;
                }
                rec.seeded = true;
                rec.add_spent(window, now, micros);
                rec.extend(window, now);
                true
            })
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl Counters for MemoryCounters {
    fn rate_check<'a>(
        &'a self,
        key: &'a str,
        cost: u64,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Decision, CounterError>> {
        ready(Ok(self.do_rate_check(key, cost, limit, window)))
    }

    fn rate_adjust<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        self.do_rate_adjust(key, delta, window);
        ready(Ok(()))
    }

    fn acquire<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        lease_ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, CounterError>> {
        ready(Ok(self.do_acquire(key, limit, lease_ttl)))
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), CounterError>> {
        self.do_release_lease(lease);
        ready(Ok(()))
    }

    fn reserve<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
        amount: u64,
        limit: u64,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Result<Reservation, Exceeded>, CounterError>> {
        ready(Ok(self.do_reserve(key, window, amount, limit, hold)))
    }

    fn settle<'a>(
        &'a self,
        reservation: &'a Reservation,
        actual: u64,
    ) -> BoxFuture<'a, Result<Settled, CounterError>> {
        ready(Ok(self.do_settle(reservation, actual)))
    }

    fn release<'a>(
        &'a self,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        self.do_release(reservation);
        ready(Ok(()))
    }

    fn spent<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
    ) -> BoxFuture<'a, Result<BudgetState, CounterError>> {
        ready(Ok(self.do_spent(key, window)))
    }

    fn seed<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
        micros: u64,
    ) -> BoxFuture<'a, Result<bool, CounterError>> {
        ready(Ok(self.do_seed(key, window, micros)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn expired_records_are_swept() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let c = MemoryCounters::with_clock(clock.clone());
        for i in 0..100 {
            c.do_rate_check(&format!("k{i}"), 1, 10, Duration::from_secs(1));
            c.do_acquire(&format!("c{i}"), 1, Duration::from_secs(1));
        }
        assert_eq!(c.len(), 200);
        clock.advance_ms(5_000);
        c.sweep_expired();
        assert!(c.is_empty());
    }

    #[test]
    fn incremental_sweep_bounds_the_map() {
        let clock = Arc::new(ManualClock::new(0));
        let c = MemoryCounters::with_clock(clock.clone());
        // Many distinct short-lived keys over a long time: the map never holds much more than
        // what a sweep interval of live keys can be.
        for i in 0..(SHARDS as u32 * SWEEP_EVERY * 3) {
            clock.advance_ms(10);
            c.do_rate_check(&format!("user-{i}"), 1, 10, Duration::from_millis(100));
        }
        assert!(c.len() <= SHARDS * SWEEP_EVERY as usize, "len {}", c.len());
    }
}

//! A model group — one public model's targets and routing settings — and target selection.
//!
//! Every strategy chooses among *available* targets (breaker admits, no rate-limit cooldown,
//! under `max_in_flight`) that the caller does not exclude. If none is available, selection
//! falls back to the target that failed least recently (never-failed first, then by position)
//! among those with room, ignoring breakers and cooldowns: a model whose targets are all
//! unhealthy is still tried rather than failed outright. Only when every remaining target is at
//! its in-flight limit is there no choice.
//!
//! Selection reads a few atomics per target and never allocates or locks; each strategy makes
//! at most two passes over the targets.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng;

use crate::budget::RetryBudget;
use crate::clock::Epoch;
use crate::latency::LatencyKind;
use crate::rng::ThreadRng;
use crate::settings::{RoutingSettings, Strategy, TargetSettings};
use crate::target::TargetState;

/// One target of a group: its settings, a label for metrics, and its live state.
#[derive(Debug)]
pub struct Target {
    /// Free-form name for logs and metrics (the server uses `provider/model`).
    pub label: String,
    pub settings: TargetSettings,
    pub state: TargetState,
}

/// A public model: its targets, routing settings and retry budget. Shared (`Arc`) by every
/// request to the model; all mutable state is atomic.
#[derive(Debug)]
pub struct Group {
    name: String,
    settings: RoutingSettings,
    targets: Vec<Target>,
    /// Target indices by (priority, position), for `ordered`.
    by_priority: Vec<usize>,
    /// Target indices by (cost, position), unpriced last, for `lowest_cost`.
    by_cost: Vec<usize>,
    /// Running sums of the weights, for `weighted`.
    cumulative_weight: Vec<u64>,
    next: AtomicUsize,
    budget: RetryBudget,
    epoch: Epoch,
}

/// Random draws tried before an exact scan (weighted and lowest-latency selection).
const SAMPLE_TRIES: usize = 4;
/// Tied targets `least_busy` remembers in its one pass.
const TIE_SLOTS: usize = 64;

/// Price for `lowest_cost`: unpriced (or nonsensical) prices sort last.
fn cost_of(t: &Target) -> f64 {
    t.settings
        .cost_per_mtok
        .filter(|c| !c.is_nan())
        .unwrap_or(f64::INFINITY)
}

/// A selection and whether it had to ignore health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pick {
    pub(crate) index: usize,
    /// No target was available: this is the least-recently-failed fallback.
    pub(crate) forced: bool,
}

impl Group {
    /// `targets` are (label, settings) in configuration order; target indices follow it.
    pub fn new(
        name: impl Into<String>,
        settings: RoutingSettings,
        targets: impl IntoIterator<Item = (String, TargetSettings)>,
    ) -> Self {
        let epoch = Epoch::new();
        let targets: Vec<Target> = targets
            .into_iter()
            .map(|(label, s)| Target {
                label,
                state: TargetState::with_epoch(epoch, &settings.breaker, s.max_in_flight),
                settings: s,
            })
            .collect();
        let mut by_priority: Vec<usize> = (0..targets.len()).collect();
        by_priority.sort_by_key(|&i| (targets[i].settings.priority, i));
        let mut by_cost: Vec<usize> = (0..targets.len()).collect();
        by_cost.sort_by(|&a, &b| {
            cost_of(&targets[a])
                .total_cmp(&cost_of(&targets[b]))
                .then(a.cmp(&b))
        });
        let cumulative_weight = targets
            .iter()
            .scan(0u64, |sum, t| {
                *sum += u64::from(t.settings.weight);
                Some(*sum)
            })
            .collect();
        Self {
            name: name.into(),
            budget: RetryBudget::new(&settings.retry_budget),
            settings,
            targets,
            by_priority,
            by_cost,
            cumulative_weight,
            next: AtomicUsize::new(0),
            epoch,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn settings(&self) -> &RoutingSettings {
        &self.settings
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    pub fn target(&self, index: usize) -> Option<&Target> {
        self.targets.get(index)
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The group's retry budget (retries and hedges withdraw from it).
    pub fn retry_budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// Chooses a target by the group's strategy, skipping `exclude`; latency strategies use
    /// total-response latency. `None` only when every non-excluded target is at its in-flight
    /// limit (or there is none).
    pub fn select(&self, exclude: &[usize]) -> Option<usize> {
        self.select_for(exclude, LatencyKind::Total)
    }

    /// [`Group::select`] for requests measured by `kind` (streams: [`LatencyKind::FirstToken`]).
    pub fn select_for(&self, exclude: &[usize], kind: LatencyKind) -> Option<usize> {
        self.select_with(exclude, kind, &mut ThreadRng)
    }

    /// [`Group::select_for`] with a caller-supplied random source (seeded in tests).
    pub fn select_with<R: Rng + ?Sized>(
        &self,
        exclude: &[usize],
        kind: LatencyKind,
        rng: &mut R,
    ) -> Option<usize> {
        let now = self.clock_ms();
        let excluded = |i: usize| exclude.contains(&i);
        self.pick_healthy(excluded, kind, now, rng)
            .or_else(|| self.pick_least_recently_failed(excluded))
            .map(|p| p.index)
    }

    /// Now, in the milliseconds every target of the group counts in.
    pub(crate) fn clock_ms(&self) -> u64 {
        self.epoch.now_millis()
    }

    /// The strategy's choice among available targets.
    pub(crate) fn pick_healthy<R: Rng + ?Sized>(
        &self,
        excluded: impl Fn(usize) -> bool,
        kind: LatencyKind,
        now_ms: u64,
        rng: &mut R,
    ) -> Option<Pick> {
        let ok = |i: usize| !excluded(i) && self.targets[i].state.available_at(now_ms);
        let index = match self.settings.strategy {
            Strategy::Weighted => self.weighted(ok, rng),
            Strategy::RoundRobin => self.round_robin(ok),
            Strategy::LeastBusy => self.least_busy(ok, rng),
            Strategy::LowestLatency => self.two_choices(ok, rng, kind, now_ms),
            Strategy::LowestCost => self.cheapest(ok, rng),
            Strategy::Ordered => self.by_priority.iter().copied().find(|&i| ok(i)),
        }?;
        Some(Pick {
            index,
            forced: false,
        })
    }

    /// The fallback when nothing is available: least recently failed, with room.
    pub(crate) fn pick_least_recently_failed(
        &self,
        excluded: impl Fn(usize) -> bool,
    ) -> Option<Pick> {
        self.targets
            .iter()
            .enumerate()
            .filter(|(i, t)| !excluded(*i) && t.state.has_room())
            .min_by_key(|(i, t)| (t.state.last_failure_rank(), *i))
            .map(|(index, _)| Pick {
                index,
                forced: true,
            })
    }

    /// Weighted random: draws by the static weights and accepts an available target (almost
    /// always the first draw when most targets are healthy); after a few refusals, an exact scan
    /// over the available ones. Either way the choice is proportional to weight among them.
    fn weighted<R: Rng + ?Sized>(&self, ok: impl Fn(usize) -> bool, rng: &mut R) -> Option<usize> {
        let total = self.cumulative_weight.last().copied().unwrap_or(0);
        if total > 0 {
            for _ in 0..SAMPLE_TRIES {
                let r = rng.random_range(0..total);
                let i = self.cumulative_weight.partition_point(|&c| c <= r);
                if i < self.targets.len() && ok(i) {
                    return Some(i);
                }
            }
        }
        self.weighted_scan(ok, rng)
    }

    fn weighted_scan<R: Rng + ?Sized>(
        &self,
        ok: impl Fn(usize) -> bool,
        rng: &mut R,
    ) -> Option<usize> {
        let (mut count, mut total) = (0usize, 0u64);
        for (i, t) in self.targets.iter().enumerate() {
            if ok(i) {
                count += 1;
                total += u64::from(t.settings.weight);
            }
        }
        if count == 0 {
            return None;
        }
        if total == 0 {
            // Only standby (weight 0) targets are available: uniform among them.
            return self.nth_ok(&ok, rng.random_range(0..count));
        }
        let mut r = rng.random_range(0..total);
        let mut last = None;
        for (i, t) in self.targets.iter().enumerate() {
            if !ok(i) {
                continue;
            }
            let w = u64::from(t.settings.weight);
            if r < w {
                return Some(i);
            }
            r -= w;
            last = Some(i);
        }
        // Availability changed between the passes.
        last
    }

    fn nth_ok(&self, ok: &impl Fn(usize) -> bool, n: usize) -> Option<usize> {
        (0..self.targets.len()).filter(|&i| ok(i)).nth(n)
    }

    fn round_robin(&self, ok: impl Fn(usize) -> bool) -> Option<usize> {
        let n = self.targets.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n).map(|k| (start + k) % n).find(|&i| ok(i))
    }

    /// Fewest in flight, ties broken uniformly at random. One pass keeps the first
    /// [`TIE_SLOTS`] tied indices on the stack; only with more ties than that does a second
    /// pass find the chosen one.
    fn least_busy<R: Rng + ?Sized>(
        &self,
        ok: impl Fn(usize) -> bool,
        rng: &mut R,
    ) -> Option<usize> {
        let mut best = u32::MAX;
        let mut ties = 0usize;
        let mut slots = [0usize; TIE_SLOTS];
        for (i, t) in self.targets.iter().enumerate() {
            if !ok(i) {
                continue;
            }
            let load = t.state.in_flight();
            if ties == 0 || load < best {
                best = load;
                ties = 0;
            } else if load > best {
                continue;
            }
            if let Some(slot) = slots.get_mut(ties) {
                *slot = i;
            }
            ties += 1;
        }
        match ties {
            0 => None,
            1 => Some(slots[0]),
            _ => {
                let n = rng.random_range(0..ties);
                if n < TIE_SLOTS {
                    return Some(slots[n]);
                }
                self.targets
                    .iter()
                    .enumerate()
                    .filter(|&(i, t)| ok(i) && t.state.in_flight() == best)
                    .nth(n)
                    .map(|(i, _)| i)
                    // Load changed between the passes.
                    .or(Some(slots[0]))
            }
        }
    }

    /// The cheapest available target; equal prices share the traffic at random.
    fn cheapest<R: Rng + ?Sized>(&self, ok: impl Fn(usize) -> bool, rng: &mut R) -> Option<usize> {
        let (pos, first) = self
            .by_cost
            .iter()
            .copied()
            .enumerate()
            .find(|&(_, i)| ok(i))?;
        let best = cost_of(&self.targets[first]);
        let same_price = self.by_cost[pos..]
            .iter()
            .take_while(|&&i| cost_of(&self.targets[i]) == best)
            .count();
        let tied = &self.by_cost[pos..pos + same_price];
        let ties = tied.iter().filter(|&&i| ok(i)).count();
        if ties <= 1 {
            return Some(first);
        }
        let n = rng.random_range(0..ties);
        tied.iter()
            .copied()
            .filter(|&i| ok(i))
            .nth(n)
            .or(Some(first))
    }

    /// Power of two choices on peak-EWMA × (in flight + 1). The two distinct candidates are
    /// drawn uniformly among available targets: by rejection first (constant time when most
    /// are available), else by counting.
    fn two_choices<R: Rng + ?Sized>(
        &self,
        ok: impl Fn(usize) -> bool,
        rng: &mut R,
        kind: LatencyKind,
        now_ms: u64,
    ) -> Option<usize> {
        let n = self.targets.len();
        let cheaper = |x: usize, y: usize| {
            let cost = |i: usize| self.targets[i].state.latency_cost(now_ms, kind);
            if cost(y) < cost(x) {
                y
            } else {
                x
            }
        };
        if n >= 2 {
            let a = (0..SAMPLE_TRIES)
                .map(|_| rng.random_range(0..n))
                .find(|&i| ok(i));
            if let Some(a) = a {
                let b = (0..SAMPLE_TRIES)
                    .map(|_| rng.random_range(0..n))
                    .find(|&j| j != a && ok(j));
                if let Some(b) = b {
                    return Some(cheaper(a, b));
                }
            }
        }
        let count = (0..self.targets.len()).filter(|&i| ok(i)).count();
        match count {
            0 => return None,
            1 => return self.nth_ok(&ok, 0),
            _ => {}
        }
        let a = rng.random_range(0..count);
        let mut b = rng.random_range(0..count - 1);
        if b >= a {
            b += 1;
        }
        let (mut first, mut second) = (None, None);
        let mut rank = 0;
        for i in 0..self.targets.len() {
            if !ok(i) {
                continue;
            }
            if rank == a {
                first = Some(i);
            } else if rank == b {
                second = Some(i);
            }
            if first.is_some() && second.is_some() {
                break;
            }
            rank += 1;
        }
        match (first, second) {
            (Some(x), Some(y)) => Some(cheaper(x, y)),
            (x, y) => x.or(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::time::Duration;
    use switchyard_types::{ErrorClass, GatewayError, Who};

    fn group(strategy: Strategy, targets: Vec<TargetSettings>) -> Group {
        let settings = RoutingSettings {
            strategy,
            ..RoutingSettings::default()
        };
        Group::new(
            "m",
            settings,
            targets
                .into_iter()
                .enumerate()
                .map(|(i, t)| (format!("t{i}"), t)),
        )
    }

    fn plain(n: usize) -> Vec<TargetSettings> {
        vec![TargetSettings::default(); n]
    }

    fn fail(g: &Group, i: usize, class: ErrorClass, times: usize) {
        for _ in 0..times {
            let guard = g.targets[i].state.acquire_at(g.clock_ms(), true).unwrap();
            guard.fail(
                &GatewayError::new(class, Who::Upstream, "x"),
                LatencyKind::Total,
                Duration::ZERO,
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn round_robin_is_exact_and_skips_unhealthy() {
        let g = group(Strategy::RoundRobin, plain(3));
        let order: Vec<usize> = (0..7).map(|_| g.select(&[]).unwrap()).collect();
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0]);
        fail(&g, 1, ErrorClass::ServerError, 5);
        let order: Vec<usize> = (0..4).map(|_| g.select(&[]).unwrap()).collect();
        // Counter at 7: starts at 1 (skipped to 2), 2, 0, 1 (skipped to 2).
        assert_eq!(order, [2, 2, 0, 2]);
        assert_eq!(g.select(&[0, 2]), Some(1), "least-recently-failed fallback");
    }

    #[tokio::test(start_paused = true)]
    async fn least_busy_takes_the_idlest_and_spreads_ties() {
        let g = group(Strategy::LeastBusy, plain(3));
        let _a = g.targets[0].state.try_acquire().unwrap();
        let _b = g.targets[1].state.try_acquire().unwrap();
        let _c = g.targets[1].state.try_acquire().unwrap();
        assert_eq!(g.select(&[]), Some(2));
        let _d = g.targets[2].state.try_acquire().unwrap();
        // 0 and 2 tie at one in flight.
        let mut rng = SmallRng::seed_from_u64(3);
        let mut seen = [0u32; 3];
        for _ in 0..1_000 {
            seen[g.select_with(&[], LatencyKind::Total, &mut rng).unwrap()] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!(seen[0] > 400 && seen[2] > 400, "{seen:?}");
    }

    #[test]
    fn least_busy_ties_beyond_the_stack_slots_stay_uniform() {
        let n = TIE_SLOTS * 2;
        let g = group(Strategy::LeastBusy, plain(n));
        let mut rng = SmallRng::seed_from_u64(5);
        let mut counts = vec![0u32; n];
        for _ in 0..(n as u32 * 300) {
            counts[g.select_with(&[], LatencyKind::Total, &mut rng).unwrap()] += 1;
        }
        let (lo, hi) = (
            counts[..TIE_SLOTS].iter().sum::<u32>(),
            counts[TIE_SLOTS..].iter().sum::<u32>(),
        );
        assert!(counts.iter().all(|c| (200..400).contains(c)), "{counts:?}");
        assert!(lo.abs_diff(hi) < lo / 20, "{lo} vs {hi}");
    }

    #[tokio::test(start_paused = true)]
    async fn lowest_latency_prefers_the_faster_target() {
        let g = group(Strategy::LowestLatency, plain(2));
        // Unobserved and idle: both cost 0.
        for (i, ms) in [(0, 900), (1, 100)] {
            g.targets[i]
                .state
                .try_acquire()
                .unwrap()
                .succeed(LatencyKind::Total, Duration::from_millis(ms));
        }
        for _ in 0..100 {
            assert_eq!(g.select(&[]), Some(1));
        }
        // Streams are judged on their own estimate: none yet, so both idle targets tie.
        let mut seen = [0u32; 2];
        for _ in 0..200 {
            seen[g.select_for(&[], LatencyKind::FirstToken).unwrap()] += 1;
        }
        assert!(seen[0] > 0 && seen[1] > 0);
        // Load counts: ten requests in flight on the fast target make it the costlier one.
        let held: Vec<_> = (0..10)
            .map(|_| g.targets[1].state.try_acquire().unwrap())
            .collect();
        assert_eq!(g.select(&[]), Some(0));
        drop(held);
    }

    #[tokio::test(start_paused = true)]
    async fn unobserved_busy_target_is_penalised() {
        let g = group(Strategy::LowestLatency, plain(2));
        g.targets[0]
            .state
            .try_acquire()
            .unwrap()
            .succeed(LatencyKind::Total, Duration::from_secs(5));
        let _pending = g.targets[1].state.try_acquire().unwrap();
        assert_eq!(g.select(&[]), Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn lowest_cost_and_ordered() {
        let mut t = plain(4);
        t[0].cost_per_mtok = Some(10.0);
        t[1].cost_per_mtok = Some(2.5);
        t[2].cost_per_mtok = None;
        t[3].cost_per_mtok = Some(2.5);
        let g = group(Strategy::LowestCost, t.clone());
        let mut seen = [0u32; 4];
        for _ in 0..400 {
            seen[g.select(&[]).unwrap()] += 1;
        }
        assert_eq!((seen[0], seen[2]), (0, 0));
        assert!(seen[1] > 100 && seen[3] > 100, "{seen:?}");
        assert_eq!(g.select(&[1, 3]), Some(0));
        assert_eq!(g.select(&[0, 1, 3]), Some(2), "unpriced last");

        t[0].priority = 2;
        t[1].priority = 1;
        t[2].priority = 1;
        t[3].priority = 0;
        let g = group(Strategy::Ordered, t);
        assert_eq!(g.select(&[]), Some(3));
        assert_eq!(g.select(&[3]), Some(1));
        fail(&g, 1, ErrorClass::RateLimited, 1);
        assert_eq!(g.select(&[3]), Some(2), "cooling target skipped");
        assert_eq!(g.select(&[2, 3]), Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn all_unhealthy_falls_back_to_least_recently_failed() {
        let g = group(Strategy::Weighted, plain(3));
        fail(&g, 2, ErrorClass::ServerError, 5);
        tokio::time::advance(Duration::from_secs(1)).await;
        fail(&g, 0, ErrorClass::ServerError, 5);
        tokio::time::advance(Duration::from_secs(1)).await;
        fail(&g, 1, ErrorClass::ServerError, 5);
        assert!(g.targets.iter().all(|t| !t.state.is_available()));
        assert_eq!(g.select(&[]), Some(2));
        assert_eq!(g.select(&[2]), Some(0));
        assert_eq!(
            g.pick_least_recently_failed(|_| false),
            Some(Pick {
                index: 2,
                forced: true
            })
        );
        assert_eq!(g.select(&[0, 1, 2]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn saturated_targets_are_never_chosen() {
        let mut t = plain(2);
        t[0].max_in_flight = Some(1);
        t[1].max_in_flight = Some(1);
        let g = group(Strategy::Weighted, t);
        let _a = g.targets[0].state.try_acquire().unwrap();
        assert_eq!(g.select(&[]), Some(1));
        let _b = g.targets[1].state.try_acquire().unwrap();
        assert_eq!(g.select(&[]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn standby_weight_zero_only_when_needed() {
        let mut t = plain(2);
        t[1].weight = 0;
        let g = group(Strategy::Weighted, t);
        for _ in 0..200 {
            assert_eq!(g.select(&[]), Some(0));
        }
        assert_eq!(g.select(&[0]), Some(1));
    }

    #[test]
    fn empty_group_selects_nothing() {
        for s in Strategy::ALL {
            assert_eq!(group(s, vec![]).select(&[]), None);
        }
    }
}

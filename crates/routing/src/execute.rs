//! The executor: runs one request's [`Plan`] by calling the server's attempt closure on chosen
//! targets, with retries, backoff, the retry budget, fallbacks, hedging and the deadline.
//!
//! ```text
//! for each group (the requested model, then the fallback list its failure class selects):
//!     deposit one request in the group's retry budget
//!     loop (at most retries.max_attempts attempts, hedges included):
//!         stop if the last error's class is not in retries.retry_on
//!         choose: a healthy target not yet tried → a healthy one already tried →
//!                 the least-recently-failed one (only if no fallback model is left to try)
//!         for a retry: withdraw from the budget (stop if empty), wait max(full-jitter backoff,
//!                 that target's rate-limit cooldown) — or stop if that ends past the deadline
//!         run the round: the attempt, plus hedges on other targets if configured; the first
//!                 Ok wins and the others are dropped (cancelled)
//!     on failure: fallback_kind(class) names the list to continue with; none → give up
//! ```
//!
//! Every attempt is recorded (in the outcome's log, and in its target's breaker and latency
//! state); the deadline cuts the running attempt short with `ErrorClass::Timeout`. A model none
//! of whose targets is available is skipped straight to its general fallbacks when it has any.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use switchyard_types::{ErrorClass, GatewayError, Who};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::fallback::{fallback_kind, FallbackKind};
use crate::group::{Group, Pick};
use crate::latency::LatencyKind;
use crate::plan::Plan;
use crate::rng::{RngHandle, SeededSource, ThreadRng};
use crate::target::InFlight;

/// What the attempt closure is told about the attempt it is asked to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCtx {
    /// Index into [`Plan::groups`] (0: the requested model).
    pub group_index: usize,
    /// Index into that group's targets.
    pub target_index: usize,
    /// 1-based position among all attempts of the request, hedges included.
    pub attempt_number: u32,
    /// Started because an earlier attempt was slow, while that one still runs.
    pub is_hedge: bool,
}

/// One upstream attempt, as the outcome reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    pub group: usize,
    pub target: usize,
    pub attempt_number: u32,
    /// `None`: it succeeded, or was cancelled (see `cancelled`).
    pub class: Option<ErrorClass>,
    /// From start to result (or to cancellation).
    pub latency: Duration,
    pub hedge: bool,
    /// Dropped unfinished because another attempt of its round won; the upstream may still
    /// have billed its input.
    pub cancelled: bool,
}

/// The result of a request and how it came about.
#[derive(Debug)]
pub struct Outcome<T> {
    pub result: Result<T, GatewayError>,
    /// Upstream attempts made, hedges included (the `x-switchyard-attempts` header).
    pub attempts: u32,
    /// (group index, target index) of the attempt whose result is returned, on success.
    pub served_by: Option<(usize, usize)>,
    /// Every attempt, in the order they started.
    pub attempt_log: Vec<AttemptRecord>,
}

/// Runs plans. Holds only the source of randomness; all routing state lives in the groups.
#[derive(Debug, Default)]
pub struct Executor {
    seeded: Option<SeededSource>,
}

impl Executor {
    /// Random choices come from a fast per-thread generator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Random choices (target selection, jitter) come from one seeded sequence: for tests
    /// that need the same choices every run.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seeded: Some(SeededSource::new(seed)),
        }
    }

    fn rng(&self) -> RngHandle<'_> {
        match &self.seeded {
            Some(s) => RngHandle::Seeded(s),
            None => RngHandle::Thread(ThreadRng),
        }
    }

    /// Runs `plan`, calling `attempt` once per upstream attempt, until one succeeds, the plan
    /// is exhausted, or `deadline` passes. Without a `deadline`, the requested model's
    /// `timeout_ms` (if any) sets one. For a stream, `attempt` should resolve once the first
    /// event arrived, so that failover stays invisible to the client and latency is time to
    /// first token (declare it with [`Plan::latency_kind`]).
    pub async fn execute<T, F, Fut>(
        &self,
        plan: &Plan,
        deadline: Option<Instant>,
        attempt: F,
    ) -> Outcome<T>
    where
        F: FnMut(AttemptCtx) -> Fut,
        Fut: Future<Output = Result<T, GatewayError>>,
    {
        let deadline = deadline.or_else(|| {
            plan.primary()
                .settings()
                .timeout_ms
                .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)))
        });
        let mut run = Run {
            plan,
            deadline,
            attempt,
            rng: self.rng(),
            log: Vec::new(),
            tried_groups: vec![false; plan.groups().len()],
            cursors: [0; 3],
        };
        let mut group = 0;
        let result = loop {
            run.tried_groups[group] = true;
            match run.run_group(group).await {
                Ok((value, target)) => break Ok((value, (group, target))),
                Err(err) => {
                    let next = fallback_kind(err.class).and_then(|k| run.next_group(k));
                    match next {
                        Some(g) if !run.deadline_passed() => group = g,
                        _ => break Err(err),
                    }
                }
            }
        };
        let (result, served_by) = match result {
            Ok((value, at)) => (Ok(value), Some(at)),
            Err(e) => (Err(e), None),
        };
        Outcome {
            result,
            attempts: u32::try_from(run.log.len()).unwrap_or(u32::MAX),
            served_by,
            attempt_log: run.log,
        }
    }
}

/// The error for attempts cut short by the request's deadline.
pub fn deadline_exceeded() -> GatewayError {
    GatewayError::new(
        ErrorClass::Timeout,
        Who::Upstream,
        "the request's deadline passed before an upstream answered",
    )
}

/// The error when no target of a model could take the request at all.
pub fn no_target_available(group: &Group) -> GatewayError {
    GatewayError::new(
        ErrorClass::Overloaded,
        Who::Gateway,
        format!(
            "no target of model \"{}\" can take the request now",
            group.name()
        ),
    )
    .with_status(503)
}

/// Attempts made in one group so far (hedges included) and the targets they went to.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) made: u32,
    pub(crate) tried: Vec<usize>,
}

/// One request's mutable state while it runs.
pub(crate) struct Run<'a, F> {
    pub(crate) plan: &'a Plan,
    pub(crate) deadline: Option<Instant>,
    pub(crate) attempt: F,
    pub(crate) rng: RngHandle<'a>,
    pub(crate) log: Vec<AttemptRecord>,
    tried_groups: Vec<bool>,
    cursors: [usize; 3],
}

impl<'a, F> Run<'a, F> {
    pub(crate) fn deadline_passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn untried_in(&self, kind: FallbackKind) -> impl Iterator<Item = (usize, usize)> + '_ {
        let chain = self.plan.chain(kind);
        (self.cursors[kind.index()]..chain.len())
            .map(move |pos| (pos, chain[pos]))
            .filter(|&(_, g)| !self.tried_groups[g])
    }

    fn has_next(&self, kind: FallbackKind) -> bool {
        self.untried_in(kind).next().is_some()
    }

    fn next_group(&mut self, kind: FallbackKind) -> Option<usize> {
        let (pos, group) = self.untried_in(kind).next()?;
        self.cursors[kind.index()] = pos + 1;
        Some(group)
    }

    /// Chooses a target of `group`: healthy and untried, else healthy, else (if `forced_ok`)
    /// the least recently failed, untried first. `refused` lost an admission race just now.
    fn choose(
        &mut self,
        group: &Group,
        tried: &[usize],
        refused: &[usize],
        forced_ok: bool,
    ) -> Option<Pick> {
        let now = group.clock_ms();
        let kind = self.plan.kind();
        group
            .pick_healthy(
                |i| tried.contains(&i) || refused.contains(&i),
                kind,
                now,
                &mut self.rng,
            )
            .or_else(|| {
                if tried.is_empty() {
                    return None;
                }
                group.pick_healthy(|i| refused.contains(&i), kind, now, &mut self.rng)
            })
            .or_else(|| {
                if !forced_ok {
                    return None;
                }
                group
                    .pick_least_recently_failed(|i| tried.contains(&i) || refused.contains(&i))
                    .or_else(|| group.pick_least_recently_failed(|i| refused.contains(&i)))
            })
    }

    /// Admits an attempt on `pick`, choosing again (without waiting) if another request took
    /// its last slot or its probe in the meantime.
    fn admit(
        &mut self,
        group: &'a Group,
        pick: Pick,
        tried: &[usize],
        forced_ok: bool,
    ) -> Option<(usize, InFlight<'a>)> {
        let mut refused = Vec::new();
        let mut next = Some(pick);
        while let Some(p) = next {
            let state = &group.targets()[p.index].state;
            if let Some(guard) = state.acquire_at(state.now_ms(), p.forced) {
                return Some((p.index, guard));
            }
            refused.push(p.index);
            next = self.choose(group, tried, &refused, forced_ok);
        }
        None
    }
}

impl<'a, T, F, Fut> Run<'a, F>
where
    F: FnMut(AttemptCtx) -> Fut,
    Fut: Future<Output = Result<T, GatewayError>>,
{
    /// Tries one group until an attempt succeeds (value, target index) or the group gives up
    /// (the error to act on).
    async fn run_group(&mut self, g: usize) -> Result<(T, usize), GatewayError> {
        let plan: &'a Plan = self.plan;
        let group: &'a Group = &plan.groups()[g];
        let settings = group.settings();
        let max_attempts = settings.retries.max_attempts.max(1);
        let backoff = Backoff::from_settings(&settings.retries);
        group.retry_budget().deposit();

        let mut tally = Tally::default();
        let mut retries = 0u32;
        let mut last: Option<GatewayError> = None;
        loop {
            if self.deadline_passed() {
                return Err(last.unwrap_or_else(deadline_exceeded));
            }
            let failure_class = match &last {
                None => ErrorClass::Overloaded,
                Some(e)
                    if tally.made >= max_attempts
                        || !settings.retries.retry_on.contains(&e.class) =>
                {
                    return Err(e.clone())
                }
                Some(e) => e.class,
            };
            // Forcing an unhealthy target only makes sense when no fallback can take over.
            let forced_ok = !fallback_kind(failure_class).is_some_and(|k| self.has_next(k));
            let Some(pick) = self.choose(group, &tally.tried, &[], forced_ok) else {
                return Err(last.unwrap_or_else(|| no_target_available(group)));
            };
            if let Some(err) = &last {
                if !group.retry_budget().try_withdraw() {
                    return Err(err.clone());
                }
                retries += 1;
                let cooldown = group.targets()[pick.index].state.cooldown_remaining();
                // A provider that asks for a longer pause than we would ever back off: answer
                // now (with its Retry-After) rather than hold the client; fallbacks still apply.
                if cooldown
                    .is_some_and(|c| c > Duration::from_millis(settings.retries.max_delay_ms))
                {
                    return Err(err.clone());
                }
                match backoff.wait(
                    retries,
                    cooldown,
                    Instant::now(),
                    self.deadline,
                    &mut self.rng,
                ) {
                    Some(wait) if wait.is_zero() => {}
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(err.clone()),
                }
            }
            let Some(first) = self.admit(group, pick, &tally.tried, forced_ok) else {
                return Err(last.unwrap_or_else(|| no_target_available(group)));
            };
            match self.round(g, group, first, &mut tally).await {
                Ok(won) => return Ok(won),
                Err(e) => last = Some(e),
            }
        }
    }

    /// Starts an attempt: logs it and calls the closure.
    pub(crate) fn start(&mut self, group: usize, target: usize, hedge: bool) -> (usize, Fut) {
        let record = self.log.len();
        let attempt_number = u32::try_from(record + 1).unwrap_or(u32::MAX);
        self.log.push(AttemptRecord {
            group,
            target,
            attempt_number,
            class: None,
            latency: Duration::ZERO,
            hedge,
            cancelled: false,
        });
        let fut = (self.attempt)(AttemptCtx {
            group_index: group,
            target_index: target,
            attempt_number,
            is_hedge: hedge,
        });
        (record, fut)
    }

    /// Reports a finished attempt to its target and the log. `None`: the deadline cut it.
    pub(crate) fn finish(
        &mut self,
        record: usize,
        guard: InFlight<'a>,
        end: Option<Result<T, GatewayError>>,
        elapsed: Duration,
    ) -> Result<T, GatewayError> {
        let kind: LatencyKind = self.plan.kind();
        let entry = &mut self.log[record];
        entry.latency = elapsed;
        match end {
            Some(Ok(value)) => {
                guard.succeed(kind, elapsed);
                Ok(value)
            }
            Some(Err(err)) => {
                entry.class = Some(err.class);
                guard.fail(&err, kind, elapsed);
                Err(err)
            }
            None => {
                entry.class = Some(ErrorClass::Timeout);
                guard.abandon(kind, elapsed);
                Err(deadline_exceeded())
            }
        }
    }

    /// Reports an attempt dropped because another one won.
    pub(crate) fn cancelled(&mut self, record: usize, guard: InFlight<'a>, elapsed: Duration) {
        let entry = &mut self.log[record];
        entry.latency = elapsed;
        entry.cancelled = true;
        guard.abandon(self.plan.kind(), elapsed);
    }
}

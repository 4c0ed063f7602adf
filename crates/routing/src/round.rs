//! One round of a request on one group: an attempt and, when hedging is on, up to `max_hedges`
//! hedges started on other healthy targets each time the round has waited the hedge delay
//! (fixed, or the first target's p95). The first attempt to succeed wins; the others are
//! dropped — which cancels their futures and so their upstream requests — and recorded as
//! cancelled. A failed attempt leaves the others running; the round fails when all have
//! failed. The request's deadline cuts every running attempt with `ErrorClass::Timeout`.
//!
//! Without hedging the round is a plain `timeout_at` around one future: no allocation.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use switchyard_types::GatewayError;
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use crate::execute::{deadline_exceeded, AttemptCtx, Run, Tally};
use crate::group::Group;
use crate::target::InFlight;

/// An attempt in flight within a hedged round.
struct Running<'a, Fut> {
    fut: Pin<Box<Fut>>,
    guard: InFlight<'a>,
    target: usize,
    record: usize,
    started: Instant,
}

enum Event<T> {
    Done(usize, Result<T, GatewayError>),
    Deadline,
    HedgeDue,
}

impl<'a, T, F, Fut> Run<'a, F>
where
    F: FnMut(AttemptCtx) -> Fut,
    Fut: Future<Output = Result<T, GatewayError>>,
{
    /// Runs a round starting with `first` (already admitted); returns the winner's value and
    /// target, or the last error. Counts every attempt started in `tally`.
    pub(crate) async fn round(
        &mut self,
        g: usize,
        group: &'a Group,
        first: (usize, InFlight<'a>),
        tally: &mut Tally,
    ) -> Result<(T, usize), GatewayError> {
        let (target, guard) = first;
        tally.made += 1;
        tally.tried.push(target);
        let hedging = group
            .settings()
            .hedge
            .as_ref()
            .filter(|h| h.max_hedges > 0)
            .and_then(|h| {
                let delay = match h.delay_ms {
                    Some(ms) => Some(Duration::from_millis(ms)),
                    None => group.targets()[target].state.latency_p95(self.plan.kind()),
                };
                delay.map(|d| (d, h.max_hedges))
            });
        let (record, fut) = self.start(g, target, false);
        let started = Instant::now();
        let Some((delay, max_hedges)) = hedging else {
            let end = match self.deadline {
                Some(d) => timeout_at(d, fut).await.ok(),
                None => Some(fut.await),
            };
            return self
                .finish(record, guard, end, started.elapsed())
                .map(|v| (v, target));
        };
        let first = Running {
            fut: Box::pin(fut),
            guard,
            target,
            record,
            started,
        };
        self.hedged(g, group, first, delay, max_hedges, tally).await
    }

    async fn hedged(
        &mut self,
        g: usize,
        group: &'a Group,
        first: Running<'a, Fut>,
        delay: Duration,
        mut hedges_left: u32,
        tally: &mut Tally,
    ) -> Result<(T, usize), GatewayError> {
        let max_attempts = group.settings().retries.max_attempts.max(1);
        let mut running = vec![first];
        let mut hedge_timer = Box::pin(sleep(delay));
        let mut deadline_timer = self.deadline.map(|d| Box::pin(sleep_until(d)));
        loop {
            let event = poll_fn(|cx| {
                for (i, r) in running.iter_mut().enumerate() {
                    if let Poll::Ready(result) = r.fut.as_mut().poll(cx) {
                        return Poll::Ready(Event::Done(i, result));
                    }
                }
                if let Some(timer) = deadline_timer.as_mut() {
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Event::Deadline);
                    }
                }
                if hedges_left > 0 && hedge_timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::HedgeDue);
                }
                Poll::Pending
            })
            .await;
            match event {
                Event::Done(i, result) => {
                    let done = running.swap_remove(i);
                    let elapsed = done.started.elapsed();
                    match self.finish(done.record, done.guard, Some(result), elapsed) {
                        Ok(value) => {
                            for other in running.drain(..) {
                                let Running {
                                    fut,
                                    guard,
                                    record,
                                    started,
                                    ..
                                } = other;
                                drop(fut);
                                self.cancelled(record, guard, started.elapsed());
                            }
                            return Ok((value, done.target));
                        }
                        Err(err) if running.is_empty() => return Err(err),
                        Err(_) => {}
                    }
                }
                Event::Deadline => {
                    for other in running.drain(..) {
                        let Running {
                            fut,
                            guard,
                            record,
                            started,
                            ..
                        } = other;
                        drop(fut);
                        // The result is the deadline error, the same for every attempt.
                        let _ = self.finish(record, guard, None, started.elapsed());
                    }
                    return Err(deadline_exceeded());
                }
                Event::HedgeDue => {
                    hedges_left -= 1;
                    match self.start_hedge(g, group, &running, max_attempts, tally) {
                        Some(hedge) => {
                            running.push(hedge);
                            match Instant::now().checked_add(delay) {
                                Some(at) => hedge_timer.as_mut().reset(at),
                                None => hedges_left = 0,
                            }
                        }
                        // No healthy target, budget or attempt left now: no more hedges.
                        None => hedges_left = 0,
                    }
                }
            }
        }
    }

    /// Starts a hedge on a healthy target not yet tried, if the attempt limit and the retry
    /// budget allow.
    fn start_hedge(
        &mut self,
        g: usize,
        group: &'a Group,
        running: &[Running<'a, Fut>],
        max_attempts: u32,
        tally: &mut Tally,
    ) -> Option<Running<'a, Fut>> {
        if tally.made >= max_attempts {
            return None;
        }
        let now = group.clock_ms();
        let tried = &tally.tried;
        let busy = |i: usize| tried.contains(&i) || running.iter().any(|r| r.target == i);
        let pick = group.pick_healthy(busy, self.plan.kind(), now, &mut self.rng)?;
        if !group.retry_budget().try_withdraw() {
            return None;
        }
        let state = &group.targets()[pick.index].state;
        let guard = state.acquire_at(state.now_ms(), false)?;
        tally.made += 1;
        tally.tried.push(pick.index);
        let (record, fut) = self.start(g, pick.index, true);
        Some(Running {
            fut: Box::pin(fut),
            guard,
            target: pick.index,
            record,
            started: Instant::now(),
        })
    }
}

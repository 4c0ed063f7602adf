//! Hedging: a slow first attempt gets a hedge on another target after the delay; the first Ok
//! wins, the loser's future is dropped (cancelled), and both attempts are reported.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchyard_routing::{
    AttemptCtx, Executor, HedgeSettings, LatencyKind, Plan, RetryBudgetSettings, RoutingSettings,
    Strategy,
};
use switchyard_types::{ErrorClass, GatewayError};
use tokio::time::Instant;

fn hedged(delay_ms: Option<u64>) -> RoutingSettings {
    RoutingSettings {
        strategy: Strategy::Ordered,
        hedge: Some(HedgeSettings {
            delay_ms,
            max_hedges: 1,
        }),
        ..RoutingSettings::default()
    }
}

/// Sets its flag when dropped: proves a future was cancelled.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

type Reply = Pin<Box<dyn Future<Output = Result<usize, GatewayError>> + Send>>;

/// Target i takes `delays[i]` then replies with `results[i]`; `dropped[i]` is set if its
/// future is dropped before finishing; `finished` counts futures that ran to the end.
struct Fake {
    delays: Vec<Duration>,
    results: Vec<Result<(), ErrorClass>>,
    dropped: Vec<Arc<AtomicBool>>,
    finished: Arc<AtomicU32>,
}

impl Fake {
    fn new(spec: &[(u64, Result<(), ErrorClass>)]) -> Self {
        Self {
            delays: spec.iter().map(|(d, _)| ms(*d)).collect(),
            results: spec.iter().map(|(_, r)| *r).collect(),
            dropped: spec
                .iter()
                .map(|_| Arc::new(AtomicBool::new(false)))
                .collect(),
            finished: Arc::new(AtomicU32::new(0)),
        }
    }

    fn attempt(&self) -> impl FnMut(AttemptCtx) -> Reply + '_ {
        move |ctx| {
            let t = ctx.target_index;
            let (delay, result) = (self.delays[t], self.results[t]);
            let flag = DropFlag(self.dropped[t].clone());
            let finished = self.finished.clone();
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                finished.fetch_add(1, Ordering::SeqCst);
                std::mem::forget(flag);
                result.map(|()| t).map_err(err)
            })
        }
    }
}

#[tokio::test(start_paused = true)]
async fn slow_first_target_loses_to_the_hedge() {
    let g = group("m", hedged(Some(100)), 2);
    let plan = Plan::new(g.clone());
    let fake = Fake::new(&[(1_000, Ok(())), (50, Ok(()))]);
    let t0 = Instant::now();
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(out.served_by, Some((0, 1)));
    assert_eq!(
        t0.elapsed(),
        ms(150),
        "hedge started at 100 ms, answered 50 ms later"
    );
    assert_eq!(out.attempts, 2);
    let log = &out.attempt_log;
    assert_eq!(
        (log[0].target, log[0].hedge, log[0].cancelled),
        (0, false, true)
    );
    assert_eq!(log[0].class, None);
    assert_eq!(log[0].latency, ms(150), "the loser ran until cancelled");
    assert_eq!(
        (log[1].target, log[1].hedge, log[1].cancelled),
        (1, true, false)
    );
    assert_eq!((log[1].class, log[1].latency), (None, ms(50)));
    assert!(
        fake.dropped[0].load(Ordering::SeqCst),
        "loser future dropped"
    );
    assert!(!fake.dropped[1].load(Ordering::SeqCst));
    assert_eq!(fake.finished.load(Ordering::SeqCst), 1);
    // Both slots were given back; the loser's latency counts as at least 150 ms.
    assert_eq!(g.targets()[0].state.in_flight(), 0);
    assert_eq!(g.targets()[1].state.in_flight(), 0);
    let est = g.targets()[0]
        .state
        .latency_estimate(LatencyKind::Total)
        .unwrap();
    assert!(est >= ms(149));
}

#[tokio::test(start_paused = true)]
async fn fast_first_target_is_not_hedged() {
    let plan = Plan::new(group("m", hedged(Some(100)), 2));
    let fake = Fake::new(&[(80, Ok(())), (10, Ok(()))]);
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!((out.served_by, out.attempts), (Some((0, 0)), 1));
}

#[tokio::test(start_paused = true)]
async fn first_target_wins_if_it_answers_before_the_hedge() {
    let plan = Plan::new(group("m", hedged(Some(100)), 2));
    let fake = Fake::new(&[(130, Ok(())), (100, Ok(()))]);
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!((out.served_by, out.attempts), (Some((0, 0)), 2));
    assert!(out.attempt_log[1].cancelled && out.attempt_log[1].hedge);
    assert!(fake.dropped[1].load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn failed_first_attempt_leaves_the_hedge_running() {
    let plan = Plan::new(group("m", hedged(Some(100)), 2));
    let fake = Fake::new(&[(120, Err(ErrorClass::ServerError)), (200, Ok(()))]);
    let t0 = Instant::now();
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!(out.served_by, Some((0, 1)));
    assert_eq!(t0.elapsed(), ms(300));
    assert_eq!(out.attempt_log[0].class, Some(ErrorClass::ServerError));
    assert!(!out.attempt_log[0].cancelled);
}

#[tokio::test(start_paused = true)]
async fn hedges_count_against_the_retry_budget() {
    let s = RoutingSettings {
        retry_budget: RetryBudgetSettings {
            ratio: 0.0,
            min_per_sec: 0,
            window_secs: 10,
        },
        ..hedged(Some(100))
    };
    let plan = Plan::new(group("m", s, 2));
    let fake = Fake::new(&[(1_000, Ok(())), (50, Ok(()))]);
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!((out.served_by, out.attempts), (Some((0, 0)), 1));
    assert_eq!(plan.primary().retry_budget().usage(), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn hedges_count_against_max_attempts() {
    let mut s = hedged(Some(100));
    s.retries.max_attempts = 1;
    let plan = Plan::new(group("m", s, 2));
    let fake = Fake::new(&[(1_000, Ok(())), (50, Ok(()))]);
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!(out.attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn observed_p95_sets_the_delay_when_none_is_configured() {
    let g = group("m", hedged(None), 2);
    let plan = Plan::new(g.clone()).latency_kind(LatencyKind::FirstToken);
    let exec = Executor::new();
    // Too few observations: no hedge, however slow.
    let slow = Fake::new(&[(2_000, Ok(())), (10, Ok(()))]);
    let out = exec.execute(&plan, None, slow.attempt()).await;
    assert_eq!((out.served_by, out.attempts), (Some((0, 0)), 1));
    // 40 first events at 100 ms: p95 is about 100 ms.
    let fast = Fake::new(&[(100, Ok(())), (10, Ok(()))]);
    for _ in 0..40 {
        assert_eq!(exec.execute(&plan, None, fast.attempt()).await.attempts, 1);
    }
    let p95 = g.targets()[0]
        .state
        .latency_p95(LatencyKind::FirstToken)
        .unwrap();
    assert!(p95 >= ms(100) && p95 <= ms(125), "{p95:?}");
    let t0 = Instant::now();
    let out = exec.execute(&plan, None, slow.attempt()).await;
    assert_eq!(out.served_by, Some((0, 1)));
    // Timers have millisecond resolution: the hedge starts on the ms after the p95.
    let hedge_at = t0.elapsed() - ms(10);
    assert!(
        hedge_at >= p95 && hedge_at < p95 + ms(1),
        "{hedge_at:?} vs {p95:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn deadline_cuts_every_attempt_of_a_hedged_round() {
    let plan = Plan::new(group("m", hedged(Some(100)), 2));
    let fake = Fake::new(&[(1_000, Ok(())), (1_000, Ok(()))]);
    let t0 = Instant::now();
    let out = Executor::new()
        .execute(&plan, Some(t0 + ms(300)), fake.attempt())
        .await;
    assert_eq!(t0.elapsed(), ms(300));
    assert_eq!(out.result.unwrap_err().class, ErrorClass::Timeout);
    assert_eq!(out.attempts, 2);
    assert!(out
        .attempt_log
        .iter()
        .all(|r| r.class == Some(ErrorClass::Timeout)));
    assert_eq!(out.attempt_log[0].latency, ms(300));
    assert_eq!(out.attempt_log[1].latency, ms(200));
    assert!(fake.dropped.iter().all(|d| d.load(Ordering::SeqCst)));
}

#[tokio::test(start_paused = true)]
async fn several_hedges_when_configured() {
    let s = RoutingSettings {
        hedge: Some(HedgeSettings {
            delay_ms: Some(100),
            max_hedges: 2,
        }),
        ..hedged(None)
    };
    let plan = Plan::new(group("m", s, 3));
    let fake = Fake::new(&[(1_000, Ok(())), (1_000, Ok(())), (50, Ok(()))]);
    let t0 = Instant::now();
    let out = Executor::new().execute(&plan, None, fake.attempt()).await;
    assert_eq!(out.served_by, Some((0, 2)));
    assert_eq!(t0.elapsed(), ms(250));
    let hedges: Vec<bool> = out.attempt_log.iter().map(|r| r.hedge).collect();
    assert_eq!(hedges, [false, true, true]);
}

#[test]
fn execute_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let plan = Plan::new(group("m", hedged(Some(1)), 2));
    let up = Upstreams::new(vec![vec![ok(), ok()]]);
    let exec = Executor::new();
    let fut = exec.execute(&plan, None, up.attempt());
    assert_send(&fut);
}

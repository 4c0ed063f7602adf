//! Retries: backoff timing with full jitter, Retry-After, the retry budget against a retry
//! storm, the overall deadline, attempt limits, and zero failures with one bad target.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use switchyard_routing::{
    AttemptCtx, BreakerSettings, Executor, Plan, RetryBudgetSettings, RetrySettings,
    RoutingSettings, Strategy,
};
use switchyard_types::{ErrorClass, GatewayError};
use tokio::time::Instant;

fn settings() -> RoutingSettings {
    RoutingSettings::default()
}

/// Breaker that never trips, budget that never runs out: isolates retry behaviour.
fn lenient() -> RoutingSettings {
    RoutingSettings {
        breaker: BreakerSettings {
            consecutive_failures: u32::MAX,
            min_requests: u32::MAX,
            ..BreakerSettings::default()
        },
        retry_budget: RetryBudgetSettings {
            ratio: 100.0,
            ..RetryBudgetSettings::default()
        },
        ..RoutingSettings::default()
    }
}

/// An attempt closure that logs when each attempt started and replies from `script`.
fn timed(
    script: Script,
    starts: Rc<RefCell<Vec<(Instant, AttemptCtx)>>>,
) -> impl FnMut(
    AttemptCtx,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), GatewayError>>>> {
    let mut n = 0;
    move |ctx| {
        starts.borrow_mut().push((Instant::now(), ctx));
        let (delay, reply) = script(n);
        n += 1;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            reply
        })
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_is_full_jitter_within_doubling_ceilings() {
    let plan = Plan::new(group("m", lenient(), 1));
    let exec = Executor::seeded(11);
    let mut first_gaps = Vec::new();
    for _ in 0..50 {
        let starts = Rc::new(RefCell::new(Vec::new()));
        let script = steps(vec![
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::Overloaded))),
            (ms(0), Ok(())),
        ]);
        let out = exec
            .execute(&plan, None, timed(script, starts.clone()))
            .await;
        assert!(out.result.is_ok());
        assert_eq!(out.attempts, 3);
        let s = starts.borrow();
        let gap1 = s[1].0 - s[0].0;
        let gap2 = s[2].0 - s[1].0;
        assert!(gap1 <= ms(100), "{gap1:?}");
        assert!(gap2 <= ms(200), "{gap2:?}");
        first_gaps.push(gap1);
    }
    // Jittered: spread over the range, not a constant (tokio timers have 1 ms resolution, so
    // 50 draws land on about 40 distinct values of 0..=100 ms).
    let distinct: std::collections::HashSet<_> = first_gaps.iter().collect();
    assert!(distinct.len() > 25, "{}", distinct.len());
    assert!(first_gaps.iter().any(|g| *g < ms(30)));
    assert!(first_gaps.iter().any(|g| *g > ms(70)));
}

#[tokio::test(start_paused = true)]
async fn backoff_ceiling_is_capped() {
    let s = RoutingSettings {
        retries: RetrySettings {
            max_attempts: 8,
            base_delay_ms: 100,
            max_delay_ms: 300,
            ..RetrySettings::default()
        },
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 1));
    let starts = Rc::new(RefCell::new(Vec::new()));
    let out = Executor::seeded(2)
        .execute(
            &plan,
            None,
            timed(fails(ErrorClass::Connect), starts.clone()),
        )
        .await;
    assert_eq!(out.attempts, 8);
    assert_eq!(out.result.unwrap_err().class, ErrorClass::Connect);
    let s = starts.borrow();
    let ceilings = [100, 200, 300, 300, 300, 300, 300];
    for (i, c) in ceilings.iter().enumerate() {
        assert!(s[i + 1].0 - s[i].0 <= ms(*c));
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_on_the_same_target() {
    let plan = Plan::new(group("m", lenient(), 1));
    let starts = Rc::new(RefCell::new(Vec::new()));
    let script = steps(vec![
        (
            ms(0),
            Err(err(ErrorClass::RateLimited).with_retry_after(Some(ms(2_000)))),
        ),
        (ms(0), Ok(())),
    ]);
    let t0 = Instant::now();
    let out = Executor::seeded(4)
        .execute(&plan, None, timed(script, starts.clone()))
        .await;
    assert!(out.result.is_ok());
    let s = starts.borrow();
    // max(jitter <= 100 ms, 2 s): exactly the provider's 2 s.
    assert_eq!(s[1].0 - s[0].0, ms(2_000));
    assert_eq!(t0.elapsed(), ms(2_000));
}

#[tokio::test(start_paused = true)]
async fn retry_after_past_the_deadline_gives_up_at_once() {
    let plan = Plan::new(group("m", lenient(), 1));
    let up = Upstreams::new(vec![vec![steps(vec![
        (
            ms(0),
            Err(err(ErrorClass::RateLimited).with_retry_after(Some(ms(5_000)))),
        ),
        (ms(0), Ok(())),
    ])]]);
    let t0 = Instant::now();
    let out = Executor::seeded(4)
        .execute(&plan, Some(t0 + ms(1_000)), up.attempt())
        .await;
    let e = out.result.unwrap_err();
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(
        e.retry_after,
        Some(ms(5_000)),
        "the provider's wait is passed on"
    );
    assert_eq!(out.attempts, 1);
    assert_eq!(t0.elapsed(), ms(0), "did not sleep towards the deadline");
}

#[tokio::test(start_paused = true)]
async fn retry_after_longer_than_max_delay_is_answered_at_once() {
    // max_delay_ms is 5 s by default: a provider asking for 60 s is not waited for.
    let plan = Plan::new(group("m", RoutingSettings::default(), 1));
    let up = Upstreams::new(vec![vec![steps(vec![
        (
            ms(0),
            Err(err(ErrorClass::RateLimited).with_retry_after(Some(ms(60_000)))),
        ),
        (ms(0), Ok(())),
    ])]]);
    let t0 = Instant::now();
    let out = Executor::seeded(4).execute(&plan, None, up.attempt()).await;
    let e = out.result.unwrap_err();
    assert_eq!(e.retry_after, Some(ms(60_000)));
    assert_eq!(out.attempts, 1);
    assert_eq!(t0.elapsed(), ms(0));
}

#[tokio::test(start_paused = true)]
async fn rate_limited_target_is_left_alone_while_another_serves() {
    let s = RoutingSettings {
        strategy: Strategy::Ordered,
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 2));
    let up = Upstreams::new(vec![vec![
        steps(vec![
            (
                ms(0),
                Err(err(ErrorClass::RateLimited).with_retry_after(Some(ms(10_000)))),
            ),
            (ms(0), Ok(())),
        ]),
        ok(),
    ]]);
    let exec = Executor::seeded(5);
    let t0 = Instant::now();
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((0, 1)));
    assert!(t0.elapsed() <= ms(100), "only jitter, not the 10 s");
    // Cooling down: the next requests skip target 0 without trying it.
    for _ in 0..5 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!((out.served_by, out.attempts), (Some((0, 1)), 1));
    }
    assert_eq!(up.calls(0, 0), 1);
    // Once the cooldown is over the preferred target is used again.
    tokio::time::advance(ms(10_000)).await;
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((0, 0)));
}

async fn storm(budget: RetryBudgetSettings) -> u32 {
    let s = RoutingSettings {
        retries: RetrySettings {
            max_attempts: 3,
            base_delay_ms: 0,
            max_delay_ms: 0,
            ..RetrySettings::default()
        },
        retry_budget: budget,
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 1));
    let up = Upstreams::new(vec![vec![fails(ErrorClass::ServerError)]]);
    let exec = Executor::seeded(6);
    for _ in 0..1_000 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!(
            out.result.err().map(|e| e.class),
            Some(ErrorClass::ServerError)
        );
    }
    up.total() - 1_000
}

#[tokio::test(start_paused = true)]
async fn retry_budget_stops_a_retry_storm() {
    let budget = RetryBudgetSettings::default();
    let limit = budget.ratio * 1_000.0 + f64::from(budget.min_per_sec) * budget.window_secs as f64;
    let retries = storm(budget).await;
    assert!(f64::from(retries) <= limit, "{retries} retries > {limit}");
    assert!(
        f64::from(retries) >= limit - 1.0,
        "the budget was used: {retries}"
    );
    // Without the budget the same outage doubles the load.
    let unbounded = storm(RetryBudgetSettings {
        ratio: 100.0,
        ..RetryBudgetSettings::default()
    })
    .await;
    assert_eq!(unbounded, 2_000);
}

#[tokio::test(start_paused = true)]
async fn deadline_bounds_all_attempts() {
    let s = RoutingSettings {
        retries: RetrySettings {
            max_attempts: 10,
            ..RetrySettings::default()
        },
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 2));
    let up = Upstreams::new(vec![vec![
        fails_after(ms(1_000), ErrorClass::ServerError),
        fails_after(ms(1_000), ErrorClass::Timeout),
    ]]);
    let t0 = Instant::now();
    let out = Executor::seeded(8)
        .execute(&plan, Some(t0 + ms(2_500)), up.attempt())
        .await;
    assert_eq!(t0.elapsed(), ms(2_500));
    let e = out.result.unwrap_err();
    assert_eq!(e.class, ErrorClass::Timeout);
    assert_eq!(out.attempts, 3);
    let last = out.attempt_log.last().unwrap();
    assert_eq!(last.class, Some(ErrorClass::Timeout));
    assert!(last.latency < ms(1_000), "cut short: {:?}", last.latency);
}

#[tokio::test(start_paused = true)]
async fn default_timeout_from_settings_is_the_deadline() {
    let s = RoutingSettings {
        timeout_ms: Some(300),
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 1));
    let up = Upstreams::new(vec![vec![ok_after(ms(10_000))]]);
    let t0 = Instant::now();
    let out = Executor::new().execute(&plan, None, up.attempt()).await;
    assert_eq!(t0.elapsed(), ms(300));
    assert_eq!(out.result.unwrap_err().class, ErrorClass::Timeout);
    // An explicit deadline wins over the default.
    let t0 = Instant::now();
    let out = Executor::new()
        .execute(&plan, Some(t0 + ms(50)), up.attempt())
        .await;
    assert_eq!(t0.elapsed(), ms(50));
    assert!(out.result.is_err());
}

#[tokio::test(start_paused = true)]
async fn retries_try_other_targets_first_and_stop_at_max_attempts() {
    let plan = Plan::new(group("m", lenient(), 3));
    let up = Upstreams::new(vec![vec![fails(ErrorClass::ServerError); 3]]);
    let exec = Executor::seeded(9);
    for _ in 0..20 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!(out.attempts, 3);
        let targets: std::collections::HashSet<usize> =
            out.attempt_log.iter().map(|r| r.target).collect();
        assert_eq!(targets.len(), 3, "three different targets");
        assert!(out
            .attempt_log
            .iter()
            .all(|r| r.class == Some(ErrorClass::ServerError)));
    }
}

#[tokio::test(start_paused = true)]
async fn single_target_is_retried_when_it_is_all_there_is() {
    let plan = Plan::new(group("m", lenient(), 1));
    let up = Upstreams::new(vec![vec![steps(vec![
        (ms(0), Err(err(ErrorClass::Connect))),
        (ms(0), Ok(())),
    ])]]);
    let out = Executor::seeded(1).execute(&plan, None, up.attempt()).await;
    assert_eq!((out.served_by, out.attempts), (Some((0, 0)), 2));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_are_not_retried() {
    let plan = Plan::new(group("m", lenient(), 3));
    for class in [
        ErrorClass::BadRequest,
        ErrorClass::Unsupported,
        ErrorClass::QuotaExceeded,
        ErrorClass::Internal,
    ] {
        let up = Upstreams::new(vec![vec![fails(class); 3]]);
        let out = Executor::new().execute(&plan, None, up.attempt()).await;
        assert_eq!(out.result.unwrap_err().class, class);
        assert_eq!(out.attempts, 1, "{class:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_on_is_configurable() {
    let s = RoutingSettings {
        retries: RetrySettings {
            retry_on: vec![ErrorClass::UpstreamAuth],
            ..RetrySettings::default()
        },
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 2));
    let up = Upstreams::new(vec![vec![fails(ErrorClass::UpstreamAuth), ok()]]);
    let exec = Executor::seeded(2);
    for _ in 0..10 {
        assert!(exec.execute(&plan, None, up.attempt()).await.result.is_ok());
    }
    // ServerError is no longer retried.
    let up = Upstreams::new(vec![vec![fails(ErrorClass::ServerError); 2]]);
    assert_eq!(exec.execute(&plan, None, up.attempt()).await.attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn zero_failures_with_one_bad_target_of_three() {
    let plan = Plan::new(group("m", settings(), 3));
    let up = Upstreams::new(vec![vec![
        ok_after(ms(20)),
        fails_after(ms(5), ErrorClass::ServerError),
        ok_after(ms(20)),
    ]]);
    let exec = Executor::seeded(10);
    for _ in 0..1_000 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert!(out.result.is_ok(), "{:?}", out.result.err());
        assert_ne!(out.served_by.unwrap().1, 1);
    }
    // The breaker ejected the bad target after 5 failures in a row; each 30 s cooldown (and
    // its doubling) lets one probe through.
    let bad = up.calls(0, 1);
    assert!((5..=8).contains(&bad), "bad target called {bad} times");
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_with_a_failing_target_all_succeed() {
    let plan = std::sync::Arc::new(Plan::new(group("m", settings(), 3)));
    let up = Upstreams::new(vec![vec![
        ok_after(ms(50)),
        fails_after(ms(10), ErrorClass::Connect),
        ok_after(ms(80)),
    ]]);
    let exec = std::sync::Arc::new(Executor::seeded(12));
    let mut handles = Vec::new();
    for _ in 0..200 {
        let (plan, exec, attempt) = (plan.clone(), exec.clone(), up.attempt());
        handles.push(tokio::spawn(async move {
            exec.execute(&plan, None, attempt).await
        }));
    }
    for h in handles {
        let out = h.await.unwrap();
        assert!(out.result.is_ok(), "{:?}", out.attempt_log);
    }
}

#[tokio::test(start_paused = true)]
async fn a_model_without_targets_is_overloaded_not_a_panic() {
    let plan = Plan::new(group("empty", lenient(), 0));
    let up = Upstreams::new(vec![vec![]]);
    let out = Executor::new().execute(&plan, None, up.attempt()).await;
    let e = out.result.unwrap_err();
    assert_eq!((e.class, e.status), (ErrorClass::Overloaded, 503));
    assert_eq!(out.attempts, 0);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_already_past_makes_no_attempt() {
    let plan = Plan::new(group("m", lenient(), 1));
    let up = Upstreams::new(vec![vec![ok()]]);
    let out = Executor::new()
        .execute(&plan, Some(Instant::now()), up.attempt())
        .await;
    assert_eq!(out.result.unwrap_err().class, ErrorClass::Timeout);
    assert_eq!(up.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn huge_configured_durations_do_not_overflow() {
    let s = RoutingSettings {
        timeout_ms: Some(u64::MAX),
        hedge: Some(switchyard_routing::HedgeSettings {
            delay_ms: Some(u64::MAX),
            max_hedges: 3,
        }),
        retries: RetrySettings {
            base_delay_ms: u64::MAX,
            max_delay_ms: u64::MAX,
            ..RetrySettings::default()
        },
        ..lenient()
    };
    let plan = Plan::new(group("m", s, 2));
    let up = Upstreams::new(vec![vec![ok(), ok()]]);
    let out = Executor::new().execute(&plan, None, up.attempt()).await;
    assert!(out.result.is_ok());
}

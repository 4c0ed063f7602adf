//! Circuit breakers through the executor: ejection after consecutive failures or an error rate,
//! a single half-open probe, a cooldown that doubles on repeated trips, recovery, and the
//! state shown to metrics.

mod common;

use common::*;
use switchyard_routing::{
    BreakerSettings, BreakerState, Executor, Plan, RetryBudgetSettings, RetrySettings,
    RoutingSettings, Strategy,
};
use switchyard_types::ErrorClass;

fn settings() -> RoutingSettings {
    RoutingSettings {
        strategy: Strategy::Ordered,
        breaker: BreakerSettings {
            consecutive_failures: 3,
            cooldown_ms: 1_000,
            max_cooldown_ms: 3_000,
            ..BreakerSettings::default()
        },
        retry_budget: RetryBudgetSettings {
            ratio: 100.0,
            ..RetryBudgetSettings::default()
        },
        // Retry at once, so that only the test moves the clock.
        retries: RetrySettings {
            base_delay_ms: 0,
            max_delay_ms: 0,
            ..RetrySettings::default()
        },
        ..RoutingSettings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn open_half_open_probe_and_doubled_cooldown() {
    let g = group("m", settings(), 2);
    let plan = Plan::new(g.clone());
    // Target 0 (preferred) fails until call 6, then recovers.
    let up = Upstreams::new(vec![vec![
        steps(vec![
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Ok(())),
        ]),
        ok(),
    ]]);
    let exec = Executor::seeded(1);
    let state = |i: usize| g.targets()[i].state.state();

    for _ in 0..3 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!((out.served_by, out.attempts), (Some((0, 1)), 2));
    }
    assert_eq!(state(0), BreakerState::Open);
    // Open: requests go straight to target 1.
    for _ in 0..10 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!((out.served_by, out.attempts), (Some((0, 1)), 1));
    }
    assert_eq!(up.calls(0, 0), 3);

    // Cooldown over: exactly one probe; it fails and the breaker reopens for 2 s.
    tokio::time::advance(ms(1_000)).await;
    assert_eq!(state(0), BreakerState::HalfOpen);
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((0, 1)));
    assert_eq!(up.calls(0, 0), 4);
    assert_eq!(state(0), BreakerState::Open);
    tokio::time::advance(ms(1_999)).await;
    assert_eq!(state(0), BreakerState::Open, "cooldown doubled");
    exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(up.calls(0, 0), 4);

    // Second probe fails too: 3 s (doubling capped at max_cooldown_ms).
    tokio::time::advance(ms(1)).await;
    exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(up.calls(0, 0), 5);
    tokio::time::advance(ms(2_999)).await;
    assert_eq!(state(0), BreakerState::Open);
    tokio::time::advance(ms(1)).await;

    // Third probe succeeds: closed, and target 0 takes the traffic again.
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert_eq!(out.served_by, Some((0, 0)));
    assert_eq!(state(0), BreakerState::Closed);
    for _ in 0..5 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!(out.served_by, Some((0, 0)));
    }
}

#[tokio::test(start_paused = true)]
async fn only_one_probe_while_it_is_in_flight() {
    let g = group("m", settings(), 2);
    let plan = Plan::new(g.clone());
    let up = Upstreams::new(vec![vec![
        steps(vec![
            (ms(0), Err(err(ErrorClass::Connect))),
            (ms(0), Err(err(ErrorClass::Connect))),
            (ms(0), Err(err(ErrorClass::Connect))),
            // The probe: slow, then fine.
            (ms(500), Ok(())),
        ]),
        ok_after(ms(10)),
    ]]);
    let exec = Executor::seeded(2);
    for _ in 0..3 {
        exec.execute(&plan, None, up.attempt()).await;
    }
    assert_eq!(g.targets()[0].state.state(), BreakerState::Open);
    tokio::time::advance(ms(1_000)).await;
    let (a, b, c, d) = tokio::join!(
        exec.execute(&plan, None, up.attempt()),
        exec.execute(&plan, None, up.attempt()),
        exec.execute(&plan, None, up.attempt()),
        exec.execute(&plan, None, up.attempt()),
    );
    assert_eq!(up.calls(0, 0), 4, "one probe");
    let on_zero = [a, b, c, d]
        .iter()
        .filter(|o| o.served_by == Some((0, 0)))
        .count();
    assert_eq!(on_zero, 1);
    assert_eq!(g.targets()[0].state.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn error_rate_trips_without_consecutive_failures() {
    let mut s = settings();
    s.breaker = BreakerSettings {
        consecutive_failures: 1_000,
        error_rate: 0.5,
        min_requests: 10,
        cooldown_ms: 1_000,
        ..BreakerSettings::default()
    };
    s.strategy = Strategy::RoundRobin;
    let g = group("m", s, 2);
    let plan = Plan::new(g.clone());
    // Target 0 alternates failure and success; target 1 is fine.
    let alternate = std::sync::Arc::new(|n: u32| {
        if n & 1 == 0 {
            (ms(0), Err(err(ErrorClass::ServerError)))
        } else {
            (ms(0), Ok(()))
        }
    });
    let up = Upstreams::new(vec![vec![alternate, ok()]]);
    let exec = Executor::seeded(3);
    for _ in 0..40 {
        assert!(exec.execute(&plan, None, up.attempt()).await.result.is_ok());
    }
    assert_eq!(g.targets()[0].state.state(), BreakerState::Open);
    // Tripped once the window held enough requests: about 10 calls, not 1000.
    let calls = up.calls(0, 0);
    assert!((10..=12).contains(&calls), "{calls}");
}

#[tokio::test(start_paused = true)]
async fn every_target_open_still_serves_through_the_least_recently_failed() {
    let g = group("m", settings(), 2);
    let plan = Plan::new(g.clone());
    let up = Upstreams::new(vec![vec![
        fails(ErrorClass::ServerError),
        steps(vec![
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Err(err(ErrorClass::ServerError))),
            (ms(0), Ok(())),
        ]),
    ]]);
    let exec = Executor::seeded(4);
    while g
        .targets()
        .iter()
        .any(|t| t.state.state() != BreakerState::Open)
    {
        exec.execute(&plan, None, up.attempt()).await;
    }
    // No fallback model: rather than failing outright, the target that failed least
    // recently is tried anyway.
    let out = exec.execute(&plan, None, up.attempt()).await;
    assert!(out.attempts >= 1);
    assert!(out.result.is_ok(), "{:?}", out.attempt_log);
}

//! The per-target circuit breaker through the real server: it opens after N consecutive
//! failures (or an error rate over its window), the target then gets no traffic (its fake's
//! call count stays flat), `/metrics` and `/health/ready` show it open; after the cooldown one
//! probe goes through and closes it on success, or reopens it for twice as long on failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod reliability_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::gateway;
use reliability_support::*;
use switchyard_server::Running;
use switchyard_testkit::FakeUpstream;

const TARGET_A: &[(&str, &str)] = &[("model", "smart"), ("target", "a/gpt-a")];

async fn breaker_gauge(g: &Running) -> Option<f64> {
    sample(
        &metrics(g).await,
        "switchyard_target_breaker_state",
        TARGET_A,
    )
}

async fn health_state(g: &Running) -> String {
    health_target(g, "smart", "a/gpt-a").await["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `a` fails with 500 while `a_down` is set; `b` is healthy; `a` is preferred (ordered).
async fn setup(breaker: &str) -> (Running, FakeUpstream, FakeUpstream, Arc<AtomicBool>) {
    setup_with(breaker, Duration::ZERO).await
}

/// [`setup`] where healthy answers from `a` take `a_delay`.
async fn setup_with(
    breaker: &str,
    a_delay: Duration,
) -> (Running, FakeUpstream, FakeUpstream, Arc<AtomicBool>) {
    let a_down = Arc::new(AtomicBool::new(true));
    let down = a_down.clone();
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        if down.load(Ordering::SeqCst) {
            server_error()
        } else {
            switchyard_testkit::faults::delayed(ok(r), a_delay)
        }
    })
    .await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        &format!(
            "  smart:
    strategy: ordered
    retries: {{ base_delay_ms: 5, max_delay_ms: 20 }}
    breaker: {breaker}
    targets:
      - {{ provider: a, model: gpt-a }}
      - {{ provider: b, model: gpt-b }}
"
        ),
    ))
    .await;
    (g, a, b, a_down)
}

#[tokio::test]
async fn opens_after_consecutive_failures_then_a_probe_closes_it() {
    let (g, a, b, a_down) = setup("{ consecutive_failures: 3, cooldown_ms: 300 }").await;
    for i in 0..3 {
        assert_eq!(health_state(&g).await, "closed", "before failure {i}");
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(2)));
    }
    assert_eq!(a.calls(), 3);
    assert_eq!(health_state(&g).await, "open");
    assert_eq!(breaker_gauge(&g).await, Some(2.0));

    // Open: the preferred target gets nothing; requests go straight to b.
    for _ in 0..10 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(1)));
    }
    assert_eq!(a.calls(), 3, "an open target got traffic");
    assert_eq!(b.calls(), 13);

    // The cooldown passes: half-open; the next request is the probe, and it succeeds.
    a_down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(health_state(&g).await, "half_open");
    assert_eq!(breaker_gauge(&g).await, Some(1.0));
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider(), r.attempts()), (200, "a", Some(1)));
    assert_eq!(a.calls(), 4);
    assert_eq!(health_state(&g).await, "closed");
    assert_eq!(breaker_gauge(&g).await, Some(0.0));
    for _ in 0..5 {
        assert_eq!(ask(&g, "smart").await.provider(), "a");
    }
    assert_eq!((a.calls(), b.calls()), (9, 13));
}

#[tokio::test]
async fn a_failed_probe_reopens_for_a_longer_cooldown() {
    let (g, a, _b, a_down) = setup("{ consecutive_failures: 2, cooldown_ms: 300 }").await;
    for _ in 0..2 {
        assert_eq!(ask(&g, "smart").await.status, 200);
    }
    assert_eq!(health_state(&g).await, "open");
    tokio::time::sleep(Duration::from_millis(350)).await;
    // The probe fails: open again, now for 600 ms.
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(2)));
    assert_eq!(a.calls(), 3);
    assert_eq!(health_state(&g).await, "open");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(health_state(&g).await, "open", "the cooldown did not grow");
    assert_eq!(ask(&g, "smart").await.provider(), "b");
    assert_eq!(a.calls(), 3);
    a_down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(health_state(&g).await, "half_open");
    assert_eq!(ask(&g, "smart").await.provider(), "a");
    assert_eq!(health_state(&g).await, "closed");
}

#[tokio::test]
async fn half_open_lets_exactly_one_probe_through_under_concurrency() {
    // The probe takes 500 ms, so every other request arrives while it is still running.
    let (g, a, b, a_down) = setup_with(
        "{ consecutive_failures: 2, cooldown_ms: 300 }",
        Duration::from_millis(500),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(ask(&g, "smart").await.status, 200);
    }
    assert_eq!(health_state(&g).await, "open");
    a_down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let before_b = b.calls();
    // Eight requests at once while half-open: one probe to `a`, the rest to `b`.
    let rs = futures_util::future::join_all((0..8).map(|_| ask(&g, "smart"))).await;
    assert!(rs.iter().all(|r| r.status == 200));
    let to_a = rs.iter().filter(|r| r.provider() == "a").count();
    assert_eq!(to_a, 1, "probes: {to_a}");
    assert_eq!(a.calls(), 3);
    assert_eq!(b.calls() - before_b, 7);
    assert_eq!(health_state(&g).await, "closed");
}

#[tokio::test]
async fn opens_on_the_error_rate_without_consecutive_failures() {
    // Every other call fails: never three in a row, but half of all requests.
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        if seen.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            server_error()
        } else {
            ok(r)
        }
    })
    .await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: ordered
    retries: { base_delay_ms: 5, max_delay_ms: 20 }
    breaker: { consecutive_failures: 3, error_rate: 0.5, min_requests: 4, cooldown_ms: 60000 }
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
",
    ))
    .await;
    for _ in 0..12 {
        assert_eq!(ask(&g, "smart").await.status, 200);
    }
    // Calls 1, 3, 5 fail; at the fifth request 3 of 5 failed: open.
    assert_eq!(a.calls(), 5);
    assert_eq!(health_state(&g).await, "open");
    assert_eq!(breaker_gauge(&g).await, Some(2.0));
}

#[tokio::test]
async fn rate_limits_do_not_trip_the_breaker() {
    let a = FakeUpstream::start(|_| rate_limited().with_header("retry-after", "0")).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: ordered
    retries: { base_delay_ms: 5, max_delay_ms: 20 }
    breaker: { consecutive_failures: 2, cooldown_ms: 60000 }
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
",
    ))
    .await;
    for _ in 0..4 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider()), (200, "b"), "{}", r.text);
    }
    // `retry-after: 0` sets no cooldown, so `a` was tried (and rate limited) every time...
    assert_eq!(a.calls(), 4);
    // ... and it is still closed: a rate limit is not a failure.
    assert_eq!(health_state(&g).await, "closed");
    assert_eq!(breaker_gauge(&g).await, Some(0.0));
}

#[tokio::test]
async fn a_model_whose_targets_are_all_open_goes_straight_to_its_fallback() {
    let a = FakeUpstream::start(|_| server_error()).await;
    let c = FakeUpstream::start(healthy("gpt-cheap")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("c", v1(&c))],
        "  smart:
    retries: { max_attempts: 1 }
    breaker: { consecutive_failures: 2, cooldown_ms: 60000 }
    fallbacks: [cheap]
    targets:
      - { provider: a, model: gpt-a }
  cheap:
    targets: [{ provider: c, model: gpt-cheap }]
",
    ))
    .await;
    for _ in 0..2 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider(), r.attempts()), (200, "c", Some(2)));
    }
    assert_eq!(health_state(&g).await, "open");
    for _ in 0..5 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider(), r.attempts()), (200, "c", Some(1)));
    }
    assert_eq!(a.calls(), 2);
}

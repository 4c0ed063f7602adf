//! Hedging through the real server: with `hedge: {delay_ms: 100}`, a slow first target and a
//! fast second one, the answer comes from the second well before the first would have
//! answered, the slow upstream request is cancelled, and `x-switchyard-attempts` is 2. Without
//! a hedge setting the same request waits for the slow target.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod reliability_support;

use std::time::Duration;

use common::gateway;
use reliability_support::*;
use switchyard_server::Running;
use switchyard_testkit::{faults, FakeUpstream};

/// `smart`: slow `a` (2 s before its first byte of body or stream) first, fast `b` second.
async fn setup(hedge: &str) -> (Running, FakeUpstream, FakeUpstream) {
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| faults::delayed(ok(r), Duration::from_secs(2))).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        &format!(
            "  smart:
    strategy: ordered
{hedge}
    targets:
      - {{ provider: a, model: gpt-a }}
      - {{ provider: b, model: gpt-b }}
"
        ),
    ))
    .await;
    (g, a, b)
}

async fn assert_loser_cancelled(a: &FakeUpstream) {
    assert!(
        eventually(Duration::from_secs(2), || async move { a.cancelled() == 1 }).await,
        "the slow attempt was not cancelled (cancelled = {}, completed = {})",
        a.cancelled(),
        a.completed()
    );
    assert_eq!(a.completed(), 0);
}

#[tokio::test]
async fn a_hedge_answers_fast_and_cancels_the_slow_attempt() {
    let (g, a, b) = setup("    hedge: { delay_ms: 100 }").await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.provider(), r.attempts()), ("b", Some(2)));
    assert!(
        r.elapsed >= Duration::from_millis(90) && r.elapsed < Duration::from_millis(1000),
        "{:?}",
        r.elapsed
    );
    assert_eq!((a.calls(), b.calls()), (1, 1));
    assert_loser_cancelled(&a).await;
    // A hedge is not a failure of the slow target.
    assert_eq!(
        health_target(&g, "smart", "a/gpt-a").await["state"],
        "closed"
    );
}

#[tokio::test]
async fn a_hedged_stream_is_one_clean_stream_from_the_winner() {
    let (g, a, b) = setup("    hedge: { delay_ms: 100 }").await;
    let r = post(&g, &stream_body("smart", "hi")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.provider(), r.attempts()), ("b", Some(2)));
    assert!(r.elapsed < Duration::from_millis(1000), "{:?}", r.elapsed);
    let data = clean_stream(&r.text).unwrap();
    assert_eq!(stream_text(&data), "Hello from gpt-b");
    assert_eq!((a.calls(), b.calls()), (1, 1));
    assert_loser_cancelled(&a).await;
}

#[tokio::test]
async fn without_hedging_the_slow_target_is_waited_for() {
    let (g, a, b) = setup("").await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.provider(), r.attempts()), ("a", Some(1)));
    assert!(r.elapsed >= Duration::from_millis(1900), "{:?}", r.elapsed);
    assert_eq!((a.calls(), b.calls()), (1, 0));
}

#[tokio::test]
async fn a_fast_first_target_is_not_hedged() {
    let a = FakeUpstream::start(healthy("gpt-a")).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: ordered
    hedge: { delay_ms: 300 }
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
",
    ))
    .await;
    for _ in 0..5 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider(), r.attempts()), (200, "a", Some(1)));
    }
    assert_eq!(b.calls(), 0);
}

#[tokio::test]
async fn hedges_draw_on_the_retry_budget() {
    // No budget at all: the hedge is never started and the slow target is waited for.
    let (g, a, b) = setup(
        "    hedge: { delay_ms: 100 }
    retry_budget: { ratio: 0.0, min_per_sec: 0 }",
    )
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider(), r.attempts()), (200, "a", Some(1)));
    assert!(r.elapsed >= Duration::from_millis(1900), "{:?}", r.elapsed);
    assert_eq!((a.calls(), b.calls()), (1, 0));
}

//! Retries through the real server: 500, 429 and connection refused go to another healthy
//! target first; a 400 is never retried; `x-switchyard-attempts` counts the attempts;
//! `Retry-After` cools a target (or is waited out when it is the only one, or answered at once
//! when it is longer than the backoff cap); the retry budget caps retries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod reliability_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::gateway;
use reliability_support::*;
use switchyard_testkit::{faults, openai, FakeUpstream, Reply};

/// `smart` with target `a` first (ordered), then `b`.
const A_THEN_B: &str = "  smart:
    strategy: ordered
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
";

async fn first_fails_with(reply: Reply) {
    let a = FakeUpstream::start(move |_| reply.clone()).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(&[("a", v1(&a)), ("b", v1(&b))], A_THEN_B)).await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "b");
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "answer from gpt-b"
    );
    assert_eq!(r.attempts(), Some(2));
    // The retry went to the other target, not back to the one that failed.
    assert_eq!((a.calls(), b.calls()), (1, 1));
}

#[tokio::test]
async fn a_500_is_retried_on_another_target() {
    first_fails_with(server_error()).await;
}

#[tokio::test]
async fn a_429_is_retried_on_another_target() {
    first_fails_with(rate_limited()).await;
}

#[tokio::test]
async fn a_503_overloaded_is_retried_on_another_target() {
    first_fails_with(openai::error(
        503,
        "The engine is currently overloaded, please try again later.",
        "server_error",
        "",
    ))
    .await;
}

#[tokio::test]
async fn connection_refused_is_retried_on_another_target() {
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", faults::refused_url().unwrap()), ("b", v1(&b))],
        A_THEN_B,
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "b");
    assert_eq!(r.attempts(), Some(2));
    assert_eq!(b.calls(), 1);
    let m = metrics(&g).await;
    assert_eq!(
        sample(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "a"), ("error", "connect")]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "b"), ("error", "none")]
        ),
        Some(1.0),
        "{m}"
    );
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let a = FakeUpstream::start(|_| {
        openai::error(
            400,
            "Invalid value for 'temperature': must be between 0 and 2.",
            "invalid_request_error",
            "",
        )
    })
    .await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(&[("a", v1(&a)), ("b", v1(&b))], A_THEN_B)).await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert!(r.text.contains("temperature"), "{}", r.text);
    assert_eq!((a.calls(), b.calls()), (1, 0));
}

#[tokio::test]
async fn a_lone_target_is_retried_with_backoff_up_to_max_attempts() {
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        if seen.fetch_add(1, Ordering::SeqCst) < 2 {
            server_error()
        } else {
            ok(r)
        }
    })
    .await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    retries: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 50 }
    targets:
      - { provider: a, model: gpt-a }
  strict:
    retries: { max_attempts: 1 }
    targets:
      - { provider: a, model: gpt-a }
",
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.attempts(), Some(3));
    assert_eq!(a.calls(), 3);

    n.store(0, Ordering::SeqCst);
    let r = ask(&g, "strict").await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "server_error", "{}", r.text);
    assert_eq!(a.calls(), 4, "max_attempts 1: no retry");
}

#[tokio::test]
async fn a_failed_request_reports_its_attempts() {
    let a = FakeUpstream::start(|_| server_error()).await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    retries: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 5 }
    targets:
      - { provider: a, model: gpt-a }
",
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(a.calls(), 3);
    assert_eq!(r.attempts(), Some(3), "headers: {:?}", r.headers);
}

#[tokio::test]
async fn retry_after_cools_the_target_so_requests_go_elsewhere() {
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            rate_limited().with_header("retry-after", "1")
        } else {
            ok(r)
        }
    })
    .await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(&[("a", v1(&a)), ("b", v1(&b))], A_THEN_B)).await;
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(2)));
    let h = health_target(&g, "smart", "a/gpt-a").await;
    let cooldown = h["cooldown_ms"].as_u64().unwrap_or(0);
    assert!((1..=1000).contains(&cooldown), "{h}");
    assert_eq!(
        h["state"], "closed",
        "a rate limit is not a breaker failure: {h}"
    );
    for _ in 0..5 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(1)));
    }
    assert_eq!(a.calls(), 1, "the cooling target got traffic");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider()), (200, "a"), "{}", r.text);
    assert_eq!(a.calls(), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_cools_the_target_too() {
    let a = FakeUpstream::start(|_| {
        let when = std::time::SystemTime::now() + Duration::from_secs(3);
        rate_limited().with_header("retry-after", &http_date(when))
    })
    .await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(&[("a", v1(&a)), ("b", v1(&b))], A_THEN_B)).await;
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(2)));
    let h = health_target(&g, "smart", "a/gpt-a").await;
    let cooldown = h["cooldown_ms"].as_u64().unwrap_or(0);
    // Second resolution: between 2 and 3 s left (the 1 s default would be at most 1000).
    assert!((1500..=3000).contains(&cooldown), "{h}");
    for _ in 0..3 {
        assert_eq!(ask(&g, "smart").await.provider(), "b");
    }
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn a_lone_target_is_retried_after_its_retry_after() {
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            rate_limited().with_header("retry-after", "1")
        } else {
            ok(r)
        }
    })
    .await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    retries: { base_delay_ms: 10 }
    targets:
      - { provider: a, model: gpt-a }
",
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.attempts(), Some(2));
    assert!(
        r.elapsed >= Duration::from_millis(950),
        "retried before Retry-After: {:?}",
        r.elapsed
    );
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
}

#[tokio::test]
async fn a_retry_after_beyond_the_backoff_cap_is_answered_at_once() {
    let a = FakeUpstream::start(|_| rate_limited().with_header("retry-after", "30")).await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    retries: { max_delay_ms: 2000 }
    targets:
      - { provider: a, model: gpt-a }
",
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.elapsed < Duration::from_secs(1), "{:?}", r.elapsed);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert_eq!(
        r.json()["error"]["code"],
        "rate_limit_exceeded",
        "{}",
        r.text
    );
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_is_answered_at_once() {
    let a = FakeUpstream::start(|_| rate_limited().with_header("retry-after", "1")).await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    targets:
      - { provider: a, model: gpt-a }
",
    ))
    .await;
    let r = post_with(
        &g,
        &chat_body("smart", "hi"),
        &[("x-switchyard-timeout", "600")],
    )
    .await;
    // Waiting out the second would end past the deadline: the 429 now, not a 504 later.
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.elapsed < Duration::from_millis(500), "{:?}", r.elapsed);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn the_retry_budget_caps_retries() {
    let a = FakeUpstream::start(|_| server_error()).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    // A breaker that never trips, so every request tries `a` first; a budget of one retry per
    // four requests and no floor.
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: ordered
    retry_budget: { ratio: 0.25, min_per_sec: 0, window_secs: 60 }
    breaker: { consecutive_failures: 1000, min_requests: 1000 }
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
",
    ))
    .await;
    let mut served = 0;
    for _ in 0..20 {
        let r = ask(&g, "smart").await;
        match r.status {
            200 => served += 1,
            500 => {}
            s => panic!("{s}: {}", r.text),
        }
    }
    assert_eq!(a.calls(), 20);
    assert_eq!(b.calls(), 5, "retries beyond 25% of requests");
    assert_eq!(served, 5);
}

#[test]
fn the_test_http_date_matches_the_rfc_example() {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(
        http_date(std::time::UNIX_EPOCH),
        "Thu, 01 Jan 1970 00:00:00 GMT"
    );
}

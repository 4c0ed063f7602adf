//! Deadlines through the real server: the client's `x-switchyard-timeout` and the model's
//! `timeout_ms` give a 504 within bounds against a slow upstream and cancel the upstream
//! request; the deadline bounds all attempts together; a target's own `first_byte_ms` fails
//! over to another target.
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
use switchyard_testkit::{faults, FakeUpstream, Reply};

fn assert_timeout(r: &Resp, min: Duration, max: Duration) {
    assert_eq!(r.status, 504, "{}", r.text);
    let v = r.json();
    assert_eq!(v["error"]["code"], "upstream_timeout", "{}", r.text);
    assert!(
        r.elapsed >= min && r.elapsed <= max,
        "answered after {:?}, expected {min:?}..{max:?}",
        r.elapsed
    );
}

/// A model `smart` on one slow target (answers after 3 s).
async fn slow_gateway(models_extra: &str) -> (switchyard_server::Running, FakeUpstream) {
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| faults::delayed(ok(r), Duration::from_secs(3))).await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        &format!(
            "  smart:
{models_extra}
    targets:
      - {{ provider: a, model: gpt-a }}
"
        ),
    ))
    .await;
    (g, a)
}

#[tokio::test]
async fn the_client_deadline_header_gives_504_in_time_and_cancels_upstream() {
    let (g, a) = slow_gateway("    retries: { max_attempts: 3 }").await;
    let r = post_with(
        &g,
        &chat_body("smart", "hi"),
        &[("x-switchyard-timeout", "300")],
    )
    .await;
    assert_timeout(&r, Duration::from_millis(280), Duration::from_millis(1500));
    assert_eq!(a.calls(), 1, "a deadline is not retried");
    let fa = &a;
    assert!(
        eventually(
            Duration::from_secs(2),
            || async move { fa.cancelled() == 1 }
        )
        .await,
        "the upstream request was not cancelled"
    );
    let m = metrics(&g).await;
    assert_eq!(
        sample(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "a"), ("error", "timeout")]
        ),
        Some(1.0),
        "{m}"
    );
}

#[tokio::test]
async fn the_client_deadline_accepts_seconds_and_rejects_nonsense() {
    let (g, _a) = slow_gateway("").await;
    let r = post_with(
        &g,
        &chat_body("smart", "hi"),
        &[("x-switchyard-timeout", "0.4s")],
    )
    .await;
    assert_timeout(&r, Duration::from_millis(380), Duration::from_millis(1500));
    let r = post_with(
        &g,
        &chat_body("smart", "hi"),
        &[("x-switchyard-timeout", "soon")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["param"], "x-switchyard-timeout");
}

#[tokio::test]
async fn a_stream_past_its_deadline_before_the_first_event_gets_a_json_504() {
    let (g, a) = slow_gateway("").await;
    let r = post_with(
        &g,
        &stream_body("smart", "hi"),
        &[("x-switchyard-timeout", "300")],
    )
    .await;
    // Nothing was sent yet, so the client gets a plain error response, not a stream.
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_timeout(&r, Duration::from_millis(280), Duration::from_millis(1500));
    let fa = &a;
    assert!(
        eventually(
            Duration::from_secs(2),
            || async move { fa.cancelled() == 1 }
        )
        .await
    );
}

#[tokio::test]
async fn the_model_timeout_gives_504_in_time() {
    let (g, a) = slow_gateway("    timeout_ms: 400").await;
    let r = ask(&g, "smart").await;
    assert_timeout(&r, Duration::from_millis(380), Duration::from_millis(1500));
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn the_client_deadline_lowers_the_model_timeout() {
    let (g, _a) = slow_gateway("    timeout_ms: 10000").await;
    let r = post_with(
        &g,
        &chat_body("smart", "hi"),
        &[("x-switchyard-timeout", "300")],
    )
    .await;
    assert_timeout(&r, Duration::from_millis(280), Duration::from_millis(1500));
}

#[tokio::test]
async fn the_deadline_bounds_all_attempts_together() {
    // Each attempt fails after 600 ms; three would take 1.8 s and more.
    let a =
        FakeUpstream::start(|_| faults::delayed(server_error(), Duration::from_millis(600))).await;
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    timeout_ms: 1000
    retries: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 20 }
    targets:
      - { provider: a, model: gpt-a }
",
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_timeout(&r, Duration::from_millis(950), Duration::from_millis(1600));
    assert_eq!(a.calls(), 2, "the second attempt was cut by the deadline");
}

#[tokio::test]
async fn a_target_first_byte_timeout_fails_over() {
    let a = FakeUpstream::start(|_| Reply::hang()).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: ordered
    targets:
      - { provider: a, model: gpt-a, timeouts: { first_byte_ms: 200 } }
      - { provider: b, model: gpt-b }
",
    ))
    .await;
    let r = ask(&g, "smart").await;
    assert_eq!((r.status, r.provider(), r.attempts()), (200, "b", Some(2)));
    assert!(
        r.elapsed >= Duration::from_millis(190) && r.elapsed < Duration::from_millis(1500),
        "{:?}",
        r.elapsed
    );
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn the_client_deadline_cannot_raise_the_model_timeout() {
    // models.NAME.timeout_ms: "the client may lower it with x-switchyard-timeout".
    let (g, _a) = slow_gateway("    timeout_ms: 400").await;
    let r = post_with(
        &g,
        &chat_body("smart", "hi"),
        &[("x-switchyard-timeout", "10000")],
    )
    .await;
    assert_timeout(&r, Duration::from_millis(380), Duration::from_millis(1500));
}

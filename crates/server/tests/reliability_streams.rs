//! Streaming failover through the real server. A target that fails before its first event (a
//! 500, connection refused, an SSE error event first, no event within `first_byte_ms`) is
//! replaced invisibly: the client sees one clean stream. A stream that breaks after bytes were
//! sent (connection dropped, ended without `[DONE]`, idle too long) is not failed over: it ends
//! with a well-formed error event in the client's dialect and is counted in
//! `switchyard_streams_broken_total`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod reliability_support;

use std::time::Duration;

use common::{client, gateway, url};
use reliability_support::*;
use serde_json::{json, Value};
use switchyard_server::Running;
use switchyard_testkit::{faults, openai, FakeUpstream, Reply};

/// `smart`: target `a` first (ordered, with `a_extra` in its mapping), then healthy `b`.
async fn a_then_b(a_url: String, a_extra: &str) -> (Running, FakeUpstream) {
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", a_url), ("b", v1(&b))],
        &format!(
            "  smart:
    strategy: ordered
    retries: {{ base_delay_ms: 5, max_delay_ms: 20 }}
    targets:
      - {{ provider: a, model: gpt-a{a_extra} }}
      - {{ provider: b, model: gpt-b }}
"
        ),
    ))
    .await;
    (g, b)
}

/// Streams `smart` and checks the client got b's answer as one clean stream after two attempts.
async fn assert_replaced_invisibly(g: &Running, b: &FakeUpstream) -> Resp {
    let r = post(g, &stream_body("smart", "hi")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!((r.provider(), r.attempts()), ("b", Some(2)));
    let data = clean_stream(&r.text).unwrap();
    assert_eq!(stream_text(&data), "Hello from gpt-b");
    assert_eq!(b.calls(), 1);
    assert_eq!(
        sample(
            &metrics(g).await,
            "switchyard_streams_broken_total",
            &[("model", "smart"), ("provider", "b")]
        ),
        None,
        "a replaced attempt is not a broken stream"
    );
    r
}

#[tokio::test]
async fn a_500_before_the_first_event_is_replaced() {
    let a = FakeUpstream::start(|_| server_error()).await;
    let (g, b) = a_then_b(v1(&a), "").await;
    assert_replaced_invisibly(&g, &b).await;
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn connection_refused_is_replaced() {
    let (g, b) = a_then_b(faults::refused_url().unwrap(), "").await;
    assert_replaced_invisibly(&g, &b).await;
}

/// A 200 stream whose first event is OpenAI's error object.
fn error_event_first() -> Reply {
    Reply::sse(vec![
        (
            Duration::ZERO,
            format!(
                "data: {}\n\n",
                json!({"error": {"message": "The server had an error while processing your request. Sorry about that!",
                                 "type": "server_error", "param": null, "code": null}})
            ),
        ),
        (Duration::ZERO, "data: [DONE]\n\n".to_string()),
    ])
}

#[tokio::test]
async fn an_error_event_first_is_replaced() {
    let a = FakeUpstream::start(|_| error_event_first()).await;
    let (g, b) = a_then_b(v1(&a), "").await;
    assert_replaced_invisibly(&g, &b).await;
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn no_first_event_within_first_byte_ms_is_replaced() {
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| faults::delayed(ok(r), Duration::from_secs(3))).await;
    let (g, b) = a_then_b(v1(&a), ", timeouts: { first_byte_ms: 200 }").await;
    let r = assert_replaced_invisibly(&g, &b).await;
    assert!(r.elapsed < Duration::from_millis(1500), "{:?}", r.elapsed);
    let fa = &a;
    assert!(
        eventually(
            Duration::from_secs(2),
            || async move { fa.cancelled() == 1 }
        )
        .await,
        "the slow upstream stream was not cancelled"
    );
}

#[tokio::test]
async fn an_anthropic_client_stream_is_replaced_invisibly_too() {
    let a = FakeUpstream::start(|_| error_event_first()).await;
    let (g, b) = a_then_b(v1(&a), "").await;
    let resp = client()
        .post(url(&g, "/v1/messages"))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(
            json!({"model": "smart", "max_tokens": 64, "stream": true,
                   "messages": [{"role": "user", "content": "hi"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-attempts"], "2");
    let text = resp.text().await.unwrap();
    assert!(!text.contains("event: error"), "{text}");
    assert_eq!(text.matches("event: message_start").count(), 1, "{text}");
    assert!(text.contains("event: message_stop"), "{text}");
    assert!(text.contains("Hello"), "{text}");
    assert_eq!(b.calls(), 1);
}

/// The first two events of a streamed completion (role, then "Hel").
fn head_events() -> Vec<String> {
    openai::chat_stream_events("gpt-a", &["Hel", "lo"], false, Duration::ZERO)
        .into_iter()
        .take(2)
        .map(|(_, e)| e)
        .collect()
}

async fn broken_count(g: &Running) -> Option<f64> {
    sample(
        &metrics(g).await,
        "switchyard_streams_broken_total",
        &[("model", "smart"), ("provider", "a")],
    )
}

/// The client's OpenAI stream: a's first events, then one error event and `[DONE]`.
fn assert_ends_with_error_event(text: &str) -> Value {
    let data = common::sse_data(text);
    assert!(data.len() >= 4, "{text}");
    assert_eq!(stream_text(&data[..data.len() - 2]), "Hel", "{text}");
    assert_eq!(data.last().unwrap(), "[DONE]", "{text}");
    let err: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{text}"
    );
    assert!(err["error"]["type"].is_string(), "{text}");
    assert!(
        text.ends_with("\n\n"),
        "not a whole event at the end: {text:?}"
    );
    err
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_ends_with_an_error_event_and_is_counted() {
    let a = faults::BrokenStreamUpstream::start(head_events())
        .await
        .unwrap();
    let (g, b) = a_then_b(format!("{}/v1", a.url()), "").await;
    let r = post(&g, &stream_body("smart", "hi")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.provider(), "a");
    assert_ends_with_error_event(&r.text);
    assert_eq!(
        (a.calls(), b.calls()),
        (1, 0),
        "no failover after the first byte"
    );
    assert_eq!(broken_count(&g).await, Some(1.0));
}

#[tokio::test]
async fn a_stream_ending_without_done_ends_with_an_error_event_and_is_counted() {
    let a = FakeUpstream::start(|_| {
        let events = head_events()
            .into_iter()
            .map(|e| (Duration::ZERO, e))
            .collect();
        Reply::sse(events)
    })
    .await;
    let (g, b) = a_then_b(v1(&a), "").await;
    let r = post(&g, &stream_body("smart", "hi")).await;
    assert_eq!((r.status, r.provider()), (200, "a"));
    assert_ends_with_error_event(&r.text);
    assert_eq!(b.calls(), 0);
    assert_eq!(broken_count(&g).await, Some(1.0));
}

#[tokio::test]
async fn an_idle_stream_ends_with_an_error_event_and_is_counted() {
    let a = FakeUpstream::start(|_| {
        let mut events: Vec<(Duration, String)> = head_events()
            .into_iter()
            .map(|e| (Duration::ZERO, e))
            .collect();
        events.push((Duration::from_secs(3), "data: [DONE]\n\n".into()));
        Reply::sse(events)
    })
    .await;
    let (g, _b) = a_then_b(v1(&a), ", timeouts: { idle_ms: 300 }").await;
    let r = post(&g, &stream_body("smart", "hi")).await;
    assert_eq!((r.status, r.provider()), (200, "a"));
    assert!(r.elapsed < Duration::from_secs(2), "{:?}", r.elapsed);
    let err = assert_ends_with_error_event(&r.text);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("idle"),
        "{err}"
    );
    assert_eq!(broken_count(&g).await, Some(1.0));
}

#[tokio::test]
async fn an_anthropic_client_gets_an_anthropic_error_event_when_the_stream_breaks() {
    let a = faults::BrokenStreamUpstream::start(head_events())
        .await
        .unwrap();
    let (g, _b) = a_then_b(format!("{}/v1", a.url()), "").await;
    let resp = client()
        .post(url(&g, "/v1/messages"))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(
            json!({"model": "smart", "max_tokens": 64, "stream": true,
                   "messages": [{"role": "user", "content": "hi"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("event: message_start"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\ndata: "), "{text}");
    let v: Value =
        serde_json::from_str(last.lines().nth(1).unwrap().trim_start_matches("data: ")).unwrap();
    assert_eq!(v["type"], "error", "{text}");
    assert!(v["error"]["type"].is_string(), "{text}");
    assert!(!text.contains("message_stop"), "{text}");
    assert_eq!(broken_count(&g).await, Some(1.0));
}

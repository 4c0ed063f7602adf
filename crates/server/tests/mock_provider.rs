//! The `mock` provider's settings, through the real server: `latency_ms`, `ttft_ms`,
//! `tokens_per_second`, the `content` and usage overrides, deterministic content, and
//! `failure_rate` below 1 with its `failure_status`. Timing checks are lower bounds only (the
//! configured delay is honoured), never upper bounds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use switchyard_server::Running;

/// One mock provider `p` with the given `mock:` settings (a YAML flow mapping) behind the
/// model `m`, with `model_extra` (indented four spaces) in the model's section.
fn mock_config(mock: &str, model_extra: &str) -> String {
    format!(
        "providers:\n  p:\n    kind: mock\n    mock: {mock}\nmodels:\n  m:\n{model_extra}    targets:\n      - {{ provider: p, model: mock-1 }}\n"
    )
}

fn chat(content: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": content}]})
}

fn chat_stream(content: &str) -> Value {
    json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": content}]})
}

/// Status, JSON body and how long the whole answer took.
async fn post(g: &Running, body: &Value) -> (u16, Value, Duration) {
    let start = Instant::now();
    let resp = client()
        .post(url(g, "/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let elapsed = start.elapsed();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, v, elapsed)
}

/// One SSE event's `data:` payload and when (since the request was sent) the client read it.
struct Event {
    at: Duration,
    data: String,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }

    fn content(&self) -> Option<String> {
        self.json()
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// Sends a streaming request and reads its events as they arrive.
async fn stream(g: &Running, body: &Value) -> Vec<Event> {
    let start = Instant::now();
    let resp = client()
        .post(url(g, "/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        let at = start.elapsed();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let ev: String = buf.drain(..end + 2).collect();
            for line in ev.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    events.push(Event {
                        at,
                        data: data.to_string(),
                    });
                }
            }
        }
    }
    assert_eq!(events.last().map(|e| e.data.as_str()), Some("[DONE]"));
    events
}

/// The content deltas of a stream, in order.
fn contents(events: &[Event]) -> Vec<(Duration, String)> {
    events
        .iter()
        .filter_map(|e| e.content().filter(|c| !c.is_empty()).map(|c| (e.at, c)))
        .collect()
}

fn joined(events: &[Event]) -> String {
    contents(events).into_iter().map(|(_, c)| c).collect()
}

#[tokio::test]
async fn latency_ms_delays_the_json_answer() {
    let g = gateway(&mock_config("{ latency_ms: 150 }", "")).await;
    let (status, v, elapsed) = post(&g, &chat("hello")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Mock response to: hello"
    );
    assert!(
        elapsed >= Duration::from_millis(150),
        "the mock's latency_ms of 150 ms is honoured: the answer came after {elapsed:?}"
    );
}

#[tokio::test]
async fn ttft_ms_delays_the_first_stream_event() {
    let g = gateway(&mock_config("{ ttft_ms: 200 }", "")).await;
    let events = stream(&g, &chat_stream("hello there")).await;
    let first = &events[0];
    assert!(
        first.at >= Duration::from_millis(200),
        "no stream event before ttft_ms (200 ms): the first came after {:?}",
        first.at
    );
    assert_eq!(joined(&events), "Mock response to: hello there");
}

/// 20 tokens at 50 tokens/s: 20 ms before each token, 400 ms in all. The tokens arrive spread
/// over that time, not all at once.
#[tokio::test]
async fn tokens_per_second_paces_the_stream() {
    let words: Vec<String> = (1..=20).map(|i| format!("w{i}")).collect();
    let content = words.join(" ");
    let g = gateway(&mock_config(
        &format!("{{ tokens_per_second: 50, content: \"{content}\" }}"),
        "",
    ))
    .await;
    let events = stream(&g, &chat_stream("go")).await;
    let tokens = contents(&events);
    assert_eq!(tokens.len(), 20, "one event per token");
    assert_eq!(joined(&events), content);
    let last = events.last().unwrap().at;
    assert!(
        last >= Duration::from_millis(400),
        "20 tokens at 50 tokens/s take at least 400 ms: the stream ended after {last:?}"
    );
    // The mock sleeps 19 × 20 ms = 380 ms between the first token and the last; reading them
    // may shift either one, so the bound leaves room.
    let spread = tokens[19].0 - tokens[0].0;
    assert!(
        spread >= Duration::from_millis(250),
        "tokens arrive spread out, not at once: first to last token took {spread:?}"
    );
}

#[tokio::test]
async fn content_override_is_the_answer_whatever_the_prompt() {
    let g = gateway(&mock_config(
        "{ content: \"The fixed answer, from config.\" }",
        "",
    ))
    .await;
    for prompt in ["hello", "something else entirely"] {
        let (status, v, _) = post(&g, &chat(prompt)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "The fixed answer, from config."
        );
        // The default completion tokens count the configured answer's words.
        assert_eq!(v["usage"]["completion_tokens"], 5, "{v}");
        let events = stream(&g, &chat_stream(prompt)).await;
        assert_eq!(joined(&events), "The fixed answer, from config.");
    }
}

#[tokio::test]
async fn usage_overrides_are_reported_json_and_stream() {
    let g = gateway(
        "providers:\n  p:\n    kind: mock\n    mock: { prompt_tokens: 7, completion_tokens: 42 }\n  q:\n    kind: mock\nmodels:\n  m:\n    targets:\n      - { provider: p, model: mock-1 }\n  plain:\n    targets:\n      - { provider: q, model: mock-1 }\n",
    )
    .await;
    let usage = |v: &Value| {
        (
            v["usage"]["prompt_tokens"].as_u64(),
            v["usage"]["completion_tokens"].as_u64(),
            v["usage"]["total_tokens"].as_u64(),
        )
    };
    // Without overrides: words in the messages (3) and in the answer
    // ("Mock response to: one two three", 6).
    let mut body = chat("one two three");
    body["model"] = json!("plain");
    let (_, v, _) = post(&g, &body).await;
    assert_eq!(usage(&v), (Some(3), Some(6), Some(9)), "{v}");

    let (status, v, _) = post(&g, &chat("one two three")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(usage(&v), (Some(7), Some(42), Some(49)), "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"], "Mock response to: one two three",
        "the usage overrides leave the content alone"
    );

    let mut body = chat_stream("one two three");
    body["stream_options"] = json!({"include_usage": true});
    let events = stream(&g, &body).await;
    let usage_events: Vec<Value> = events
        .iter()
        .map(Event::json)
        .filter(|v| v["usage"].is_object())
        .collect();
    assert_eq!(usage_events.len(), 1);
    assert_eq!(usage(&usage_events[0]), (Some(7), Some(42), Some(49)));

    // The gateway counts the overridden numbers too (one JSON answer and one stream).
    let metrics = scrape(&g).await;
    assert!(
        metrics.contains(r#"switchyard_tokens_total{model="m",provider="p",kind="completion"} 84"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"switchyard_tokens_total{model="m",provider="p",kind="prompt"} 14"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_same_request_gets_the_same_content() {
    let g = gateway(&mock_config("{}", "")).await;
    let body = json!({"model": "m", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what is the answer"},
    ]});
    let (_, a, _) = post(&g, &body).await;
    let (_, b, _) = post(&g, &body).await;
    let content = a["choices"][0]["message"]["content"].clone();
    assert_eq!(content, "Mock response to: what is the answer");
    assert_eq!(b["choices"][0]["message"]["content"], content);
    assert_eq!(a["usage"], b["usage"]);

    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    let first = joined(&stream(&g, &sbody).await);
    let second = joined(&stream(&g, &sbody).await);
    assert_eq!(first, second);
    assert_eq!(
        json!(first),
        content,
        "a stream says what the JSON answer says"
    );

    // A different request gets a different answer.
    let (_, c, _) = post(&g, &chat("something else")).await;
    assert_ne!(c["choices"][0]["message"]["content"], content);
}

/// `failure_rate: 0.5`: over 200 requests some fail with the configured status in OpenAI's
/// error shape, and some succeed. The draw is random, so the bounds are loose (the chance of
/// falling outside 20–80 % is below 10⁻¹⁶). One attempt per request and a breaker that never
/// trips, so every client response is the mock's own answer.
#[tokio::test]
async fn failure_rate_fails_a_fraction_with_the_configured_status() {
    let g = gateway(&mock_config(
        "{ failure_rate: 0.5, failure_status: 503 }",
        "    retries: { max_attempts: 1 }\n    breaker: { consecutive_failures: 100000, min_requests: 100000 }\n",
    ))
    .await;
    let (mut ok, mut failed) = (0, 0);
    for i in 0..200 {
        let (status, v, _) = post(&g, &chat(&format!("request {i}"))).await;
        match status {
            200 => {
                ok += 1;
                assert_eq!(
                    v["choices"][0]["message"]["content"],
                    format!("Mock response to: request {i}")
                );
            }
            503 => {
                failed += 1;
                assert_eq!(v["error"]["type"], "server_error", "{v}");
                assert_eq!(v["error"]["message"], "mock provider failure (503)", "{v}");
                assert!(v["error"].get("code").is_some(), "{v}");
                assert!(v["error"].get("param").is_some(), "{v}");
            }
            other => panic!("unexpected status {other}: {v}"),
        }
    }
    assert_eq!(ok + failed, 200);
    assert!(
        (40..=160).contains(&failed),
        "about half fail: {failed} of 200 failed"
    );
}

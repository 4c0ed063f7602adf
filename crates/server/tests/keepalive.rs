//! Opt-in SSE keep-alive comments while a stream waits for its first event.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchyard_testkit::{openai, FakeUpstream, Reply};

fn yaml(slow: &str, broken: &str) -> String {
    format!(
        r#"
providers:
  slow: {{ kind: openai_compatible, base_url: "{slow}/v1" }}
  broken: {{ kind: openai_compatible, base_url: "{broken}/v1" }}
models:
  thinker:
    stream_keepalive_ms: 200
    targets: [{{ provider: slow, model: deep }}]
  failover:
    stream_keepalive_ms: 200
    strategy: ordered
    targets: [{{ provider: broken, model: x, priority: 0 }}, {{ provider: slow, model: deep, priority: 1 }}]
  doomed:
    stream_keepalive_ms: 200
    retries: {{ max_attempts: 1 }}
    targets: [{{ provider: broken, model: x }}]
"#
    )
}

async fn stream(g: &switchyard_server::Running, model: &str) -> (u16, String) {
    let resp = client()
        .post(url(g, "/v1/chat/completions"))
        .json(&json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "think hard"}]}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn comments_flow_until_the_first_event_then_the_stream_is_clean() {
    let slow = FakeUpstream::start(|_| {
        let mut ev = openai::chat_stream_events("deep", &["4", "2"], true, Duration::ZERO);
        ev[0].0 = Duration::from_millis(900);
        Reply::sse(ev)
    })
    .await;
    let broken =
        FakeUpstream::start(|_| openai::error(500, "boom", "server_error", "server_error")).await;
    let g = gateway(&yaml(&slow.url(), &broken.url())).await;

    let (status, text) = stream(&g, "thinker").await;
    assert_eq!(status, 200);
    let comments = text.matches(": keep-alive\n\n").count();
    assert!(comments >= 3, "{comments} keep-alives: {text}");
    assert!(text.starts_with(": keep-alive\n\n"));
    let data = sse_data(&text);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let content: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(content, "42");

    // Failover still happens behind the comments.
    let (status, text) = stream(&g, "failover").await;
    assert_eq!(status, 200);
    assert!(sse_data(&text).last().unwrap() == "[DONE]", "{text}");
    assert!(broken.calls() >= 1);

    // Nothing answers: the stream ends with an error event, not a cut.
    let (status, text) = stream(&g, "doomed").await;
    assert_eq!(status, 200);
    let data = sse_data(&text);
    let err: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(err["error"]["message"], "boom");
    assert_eq!(data.last().unwrap(), "[DONE]");
}

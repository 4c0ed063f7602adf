//! The Anthropic client dialect: /v1/messages translated to an OpenAI-wire provider (the mock),
//! passed through to Anthropic, and /v1/messages/count_tokens both ways.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_testkit::{FakeUpstream, Reply};

fn yaml(anthropic_base: &str) -> String {
    format!(
        r#"
providers:
  mock: {{ kind: mock }}
  claude: {{ kind: anthropic, api_key: sk-ant-provider, base_url: "{anthropic_base}" }}
models:
  mock: {{ targets: [{{ provider: mock, model: mock-1 }}] }}
  sonnet: {{ targets: [{{ provider: claude, model: claude-sonnet-4-5 }}] }}
"#
    )
}

#[tokio::test]
async fn messages_to_an_openai_wire_provider_and_count_tokens_estimate() {
    let fake = FakeUpstream::start(|_| Reply::json(500, "{}")).await;
    let g = gateway(&yaml(&fake.url())).await;
    let v: Value = client()
        .post(url(&g, "/v1/messages"))
        .header("x-api-key", "anything")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "mock", "max_tokens": 50, "messages": [{"role": "user", "content": "hello claude"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "Mock response to: hello claude");
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["usage"]["output_tokens"], 5);

    let text = client()
        .post(url(&g, "/v1/messages"))
        .json(&json!({"model": "mock", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("event: message_start"), "{text}");
    assert!(text.contains("event: content_block_delta"));
    assert!(
        text.trim_end()
            .ends_with("data: {\"type\":\"message_stop\"}"),
        "{text}"
    );

    let resp = client()
        .post(url(&g, "/v1/messages/count_tokens"))
        .json(&json!({"model": "mock", "messages": [{"role": "user", "content": "one two three four"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert!(v["input_tokens"].as_u64().unwrap() >= 4, "{v}");

    // Anthropic-shaped errors.
    let resp = client()
        .post(url(&g, "/v1/messages"))
        .json(&json!({"model": "mock", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_tokens"));
}

#[tokio::test]
async fn count_tokens_passes_through_to_anthropic() {
    let fake = FakeUpstream::start(|_| Reply::json(200, r#"{"input_tokens":42}"#)).await;
    let g = gateway(&yaml(&fake.url())).await;
    let resp = client()
        .post(url(&g, "/v1/messages/count_tokens"))
        .header("x-api-key", "client-key")
        .json(&json!({"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["input_tokens"], 42);
    let r = fake.last().unwrap();
    assert_eq!(r.path, "/v1/messages/count_tokens");
    assert_eq!(r.header("x-api-key"), Some("sk-ant-provider"));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.json()["model"], "claude-sonnet-4-5");
}

//! The OpenAI same-dialect path against a fake OpenAI upstream: exact upstream requests, JSON
//! and streams, usage, headers, auth.
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
use switchyard_testkit::{openai, FakeUpstream, Reply};

#[tokio::test]
async fn json_request_is_forwarded_byte_for_byte_with_the_model_rewritten() {
    let fake = FakeUpstream::start(|_| {
        Reply::json(200, openai::chat_json("gpt-4o-2024-08-06", "Hello!", 9, 2))
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let body = r#"{"model":"smart","messages":[{"role":"user","content":"Hi"}],"temperature":0.2,"x_vendor_field":{"keep":[1,"two"]},"logit_bias":{"50256":-100}}"#;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .header("authorization", "Bearer client-key-should-not-leak")
        .header("content-type", "application/json")
        .header("x-request-id", "my-req-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "my-req-1");
    assert_eq!(resp.headers()["x-switchyard-provider"], "openai");
    assert_eq!(resp.headers()["x-switchyard-model"], "gpt-4o");
    assert_eq!(resp.headers()["x-switchyard-attempts"], "1");
    let text = resp.text().await.unwrap();
    assert_eq!(
        text,
        openai::chat_json("gpt-4o-2024-08-06", "Hello!", 9, 2),
        "response body passes through unchanged"
    );

    let r = fake.last().unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer sk-provider-secret"));
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        body.replace(r#""model":"smart""#, r#""model":"gpt-4o""#),
        "every other byte is the client's"
    );
    assert!(
        r.headers.get("x-request-id").is_none() || r.header("x-request-id") == Some("my-req-1")
    );
}

#[tokio::test]
async fn provider_slash_model_addressing() {
    let fake =
        FakeUpstream::start(|_| Reply::json(200, openai::chat_json("gpt-4o-mini", "ok", 1, 1)))
            .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(
            &json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-model"], "gpt-4o-mini");
    assert_eq!(fake.last().unwrap().json()["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn stream_first_event_reaches_client_while_upstream_still_sends() {
    let fake = FakeUpstream::start(|_| {
        let mut ev = openai::chat_stream_events("gpt-4o", &["Hel", "lo"], true, Duration::ZERO);
        // The rest of the stream only after 1.5 s.
        ev[2].0 = Duration::from_millis(1500);
        Reply::sse(ev)
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let started = Instant::now();
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(std::str::from_utf8(&first)
        .unwrap()
        .contains("\"role\":\"assistant\""));
    assert!(
        first_at < Duration::from_millis(1000),
        "first event after {first_at:?}: buffered?"
    );
    let mut rest = String::from_utf8(first.to_vec()).unwrap();
    while let Some(c) = body.next().await {
        rest.push_str(std::str::from_utf8(&c.unwrap()).unwrap());
    }
    assert!(started.elapsed() >= Duration::from_millis(1400));
    let data = sse_data(&rest);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let text: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "Hello");
}

#[tokio::test]
async fn stream_usage_is_requested_upstream_but_hidden_from_a_client_that_did_not_ask() {
    let fake = FakeUpstream::start(|_| {
        Reply::sse(openai::chat_stream_events(
            "gpt-4o",
            &["a", "b", "c"],
            true,
            Duration::ZERO,
        ))
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let text = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        fake.last().unwrap().json()["stream_options"],
        json!({"include_usage": true})
    );
    assert!(!text.contains("usage"), "client sees no usage: {text}");
    let expected: Vec<String> =
        openai::chat_stream_events("gpt-4o", &["a", "b", "c"], false, Duration::ZERO)
            .into_iter()
            .map(|(_, e)| e)
            .collect();
    assert_eq!(
        text,
        expected.concat(),
        "exactly what a client without include_usage gets from OpenAI"
    );

    // The gateway counted the tokens anyway.
    let metrics = scrape(&g).await;
    assert!(
        metrics.contains(
            r#"switchyard_tokens_total{model="smart",provider="openai",kind="completion"} 3"#
        ),
        "{metrics}"
    );
    assert!(metrics
        .contains(r#"switchyard_tokens_total{model="smart",provider="openai",kind="prompt"} 9"#));
}

#[tokio::test]
async fn stream_with_include_usage_passes_through_unchanged() {
    let events = openai::chat_stream_events("gpt-4o", &["x", "y"], true, Duration::ZERO);
    let expected: String = events.iter().map(|(_, e)| e.clone()).collect();
    let fake = FakeUpstream::start(move |_| Reply::sse(events.clone())).await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let body = r#"{"model":"smart","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}"#;
    let text = client()
        .post(url(&g, "/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, expected);
    assert_eq!(
        std::str::from_utf8(&fake.last().unwrap().body).unwrap(),
        body.replace("smart", "gpt-4o")
    );
}

#[tokio::test]
async fn embeddings_and_models() {
    let fake = FakeUpstream::start(|_| {
        Reply::json(200, openai::embeddings_json("text-embedding-3-small", 2))
    })
    .await;
    let g = gateway(&format!(
        r#"
providers:
  openai: {{ kind: openai, api_key: sk-p, base_url: "{}/v1" }}
models:
  embed:
    targets: [{{ provider: openai, model: text-embedding-3-small }}]
  chat:
    targets: [{{ provider: openai, model: gpt-4o }}]
"#,
        fake.url()
    ))
    .await;
    let resp = client()
        .post(url(&g, "/v1/embeddings"))
        .json(&json!({"model": "embed", "input": ["a", "b"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let r = fake.last().unwrap();
    assert_eq!(r.path, "/v1/embeddings");
    assert_eq!(r.json()["model"], "text-embedding-3-small");

    let v: Value = client()
        .get(url(&g, "/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["chat", "embed"]);
    assert_eq!(v["object"], "list");
}

#[tokio::test]
async fn azure_deployment_url_api_version_and_api_key_header() {
    let fake =
        FakeUpstream::start(|_| Reply::json(200, openai::chat_json("gpt-4o", "hi", 1, 1))).await;
    let g = gateway(&format!(
        r#"
providers:
  azure-east:
    kind: azure_openai
    base_url: {}
    api_key: azure-secret
    api_version: "2024-10-21"
models:
  smart:
    targets: [{{ provider: azure-east, model: my-gpt4o-deployment }}]
    pricing: {{ input: 2.5, output: 10 }}
"#,
        fake.url()
    ))
    .await;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = fake.last().unwrap();
    assert_eq!(
        r.path,
        "/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(r.header("api-key"), Some("azure-secret"));
    assert!(r.headers.get("authorization").is_none());
}

#[tokio::test]
async fn master_key_is_required_and_never_forwarded() {
    let fake =
        FakeUpstream::start(|_| Reply::json(200, openai::chat_json("gpt-4o", "hi", 1, 1))).await;
    let g = gateway(&openai_config(
        &format!("{}/v1", fake.url()),
        "master_key: sk-master-123",
    ))
    .await;
    let req = json!({"model": "smart", "messages": [{"role": "user", "content": "x"}]});
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .bearer_auth("wrong")
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(fake.calls(), 0);
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .bearer_auth("sk-master-123")
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = fake.last().unwrap();
    assert_eq!(r.header("authorization"), Some("Bearer sk-provider-secret"));
    let all: String = r
        .headers
        .iter()
        .map(|(_, v)| v.to_str().unwrap_or("").to_string())
        .collect();
    assert!(!all.contains("sk-master-123"));
    // /v1/models and /metrics: models needs the key, health does not.
    assert_eq!(
        client()
            .get(url(&g, "/v1/models"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client()
            .get(url(&g, "/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

//! Errors of each kind in OpenAI's shape, timeouts, cancellation, graceful shutdown, and the
//! offline mock provider.
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

async fn post(
    g: &switchyard_server::Running,
    body: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = client()
        .post(url(g, "/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains("sk-provider-secret"),
        "provider key leaked: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, v, headers)
}

#[tokio::test]
async fn client_errors_are_openai_shaped() {
    let fake =
        FakeUpstream::start(|_| Reply::json(200, openai::chat_json("gpt-4o", "x", 1, 1))).await;
    let g = gateway(&openai_config(
        &format!("{}/v1", fake.url()),
        "server: { max_body_bytes: 2000 }",
    ))
    .await;

    let (s, v, h) = post(&g, "{not json").await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
    assert!(h.contains_key("x-request-id"));

    let (s, v, _) = post(&g, r#"{"model":"smart"}"#).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["param"], "messages");

    let (s, v, _) = post(&g, r#"{"messages":[]}"#).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["param"], "model");

    let (s, v, h) = post(&g, r#"{"model":"nope","messages":[]}"#).await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "model_not_found");
    assert!(
        h.get("x-switchyard-provider").is_none(),
        "no provider was tried"
    );

    let big = format!(
        r#"{{"model":"smart","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(5000)
    );
    let (s, v, _) = post(&g, &big).await;
    assert_eq!(s, 413);
    assert_eq!(v["error"]["code"], "request_too_large");

    assert_eq!(fake.calls(), 0, "no client mistake reaches the provider");

    let resp = client()
        .get(url(&g, "/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
}

/// The traffic endpoints are dispatched before the router: the unversioned aliases reach the
/// pipeline too, another method on their paths is still a 405, and an unknown POST path is
/// still the router's OpenAI-shaped 404.
#[tokio::test]
async fn traffic_endpoints_and_the_router_share_the_listener() {
    let fake =
        FakeUpstream::start(|_| Reply::json(200, openai::chat_json("gpt-4o", "hi", 1, 1))).await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let body = r#"{"model":"smart","messages":[{"role":"user","content":"hi"}]}"#;
    for path in ["/v1/chat/completions", "/chat/completions"] {
        let resp = client()
            .post(url(&g, path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["x-switchyard-model"], "gpt-4o", "{path}");
    }
    assert_eq!(fake.calls(), 2);
    let resp = client()
        .get(url(&g, "/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let resp = client()
        .post(url(&g, "/v1/chat/completion"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unknown_url");
    let resp = client().get(url(&g, "/health/live")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn upstream_errors_keep_status_and_message() {
    let fake = FakeUpstream::start(|r| {
        let content = r.json()["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match content.as_str() {
            "429" => openai::error(
                429,
                "Rate limit reached for gpt-4o",
                "requests",
                "rate_limit_exceeded",
            )
            .with_header("retry-after", "7"),
            "400" => openai::error(
                400,
                "This model's maximum context length is 128000 tokens.",
                "invalid_request_error",
                "context_length_exceeded",
            ),
            "500" => openai::error(
                500,
                "The server had an error while processing your request.",
                "server_error",
                "server_error",
            ),
            "401" => openai::error(
                401,
                "Incorrect API key provided: sk-prov****cret.",
                "invalid_request_error",
                "invalid_api_key",
            ),
            _ => Reply::json(200, openai::chat_json("gpt-4o", "x", 1, 1)),
        }
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let req = |c: &str| {
        json!({"model": "smart", "messages": [{"role": "user", "content": c}]}).to_string()
    };

    let (s, v, h) = post(&g, &req("429")).await;
    assert_eq!(s, 429);
    assert_eq!(v["error"]["message"], "Rate limit reached for gpt-4o");
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(h["retry-after"], "7");
    // The response names the provider and upstream model whose answer it passes on.
    assert_eq!(h["x-switchyard-provider"], "openai");
    assert_eq!(h["x-switchyard-model"], "gpt-4o");

    let (s, v, _) = post(&g, &req("400")).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("maximum context length"));

    // The provider refusing the gateway's key is a 502, not the client's 401, and the
    // provider's message (with part of the key) is not passed on.
    let (s, v, h) = post(&g, &req("401")).await;
    assert_eq!(s, 502);
    assert_eq!(h["x-switchyard-provider"], "openai");
    assert_eq!(v["error"]["code"], "upstream_auth_failed");
    assert!(!v["error"]["message"].as_str().unwrap().contains("sk-prov"));

    let (s, v, h) = post(&g, &req("500")).await;
    assert_eq!(s, 500);
    assert_eq!(h["x-switchyard-provider"], "openai");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("server had an error"));
}

#[tokio::test]
async fn unreachable_upstream_is_502_and_slow_upstream_is_504() {
    // A port with nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let g = gateway(&openai_config(&format!("http://{closed}/v1"), "")).await;
    let (s, v, _) = post(
        &g,
        r#"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#,
    )
    .await;
    assert_eq!(s, 502);
    assert_eq!(v["error"]["code"], "upstream_unreachable");

    let fake = FakeUpstream::start(|_| Reply::hang()).await;
    let g = gateway(&format!(
        r#"
providers:
  openai:
    kind: openai
    api_key: sk-provider-secret
    base_url: {}/v1
    timeouts: {{ first_byte_ms: 300 }}
models:
  smart:
    targets: [{{ provider: openai, model: gpt-4o }}]
"#,
        fake.url()
    ))
    .await;
    let t = Instant::now();
    let (s, v, _) = post(
        &g,
        r#"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#,
    )
    .await;
    assert_eq!(s, 504);
    assert_eq!(v["error"]["code"], "upstream_timeout");
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// `request_ms` bounds the whole non-streaming exchange from the moment the request is sent:
/// the wait for the response head and the body together, whatever `first_byte_ms` allows.
#[tokio::test]
async fn request_ms_bounds_the_whole_answer_head_and_body_together() {
    // Each case is tried three times (timeouts are retried), 600 ms each.
    let config = |url: String| {
        openai_config(
            &format!("{url}/v1"),
            "    timeouts: { first_byte_ms: 60000, request_ms: 600 }",
        )
    };
    let chat = r#"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#;
    let body = openai::chat_json("gpt-4o", "hi", 3, 1);
    let (head, tail) = body.split_at(body.len() / 2);
    let cases = [
        // No head at all: only request_ms can end the wait (first_byte_ms is a minute).
        ("no head", Reply::hang()),
        // The head at once, then the body stalls.
        (
            "stalled body",
            Reply::bytes(
                200,
                "application/json",
                vec![
                    (Duration::ZERO, head.as_bytes().to_vec()),
                    (Duration::from_secs(30), tail.as_bytes().to_vec()),
                ],
            ),
        ),
        // Head after 400 ms and the body 400 ms later: each part fits in 600 ms, the
        // whole does not.
        (
            "slow head and slow body",
            Reply::bytes(
                200,
                "application/json",
                vec![
                    (Duration::ZERO, head.as_bytes().to_vec()),
                    (Duration::from_millis(400), tail.as_bytes().to_vec()),
                ],
            )
            .with_head_delay(Duration::from_millis(400)),
        ),
    ];
    for (case, reply) in cases {
        let fake = FakeUpstream::start(move |_| reply.clone()).await;
        let g = gateway(&config(fake.url())).await;
        let t = Instant::now();
        let (s, v, h) = post(&g, chat).await;
        assert_eq!(s, 504, "{case}: {v}");
        assert_eq!(v["error"]["code"], "upstream_timeout", "{case}");
        assert_eq!(h["x-switchyard-attempts"], "3", "{case}");
        assert!(t.elapsed() < Duration::from_secs(10), "{case}");
    }

    // Within the limit the answer comes through.
    let reply = Reply::json(200, body.clone()).with_head_delay(Duration::from_millis(100));
    let fake = FakeUpstream::start(move |_| reply.clone()).await;
    let g = gateway(&config(fake.url())).await;
    let (s, v, _) = post(&g, chat).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn idle_stream_ends_with_an_error_event() {
    let fake = FakeUpstream::start(|_| {
        let mut ev = openai::chat_stream_events("gpt-4o", &["a", "b"], true, Duration::ZERO);
        ev[2].0 = Duration::from_secs(30);
        Reply::sse(ev)
    })
    .await;
    let g = gateway(&format!(
        r#"
providers:
  openai: {{ kind: openai, api_key: k, base_url: "{}/v1", timeouts: {{ idle_ms: 300 }} }}
models:
  smart: {{ targets: [{{ provider: openai, model: gpt-4o }}] }}
"#,
        fake.url()
    ))
    .await;
    let text = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data = sse_data(&text);
    let err: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(err["error"]["code"], "upstream_timeout", "{text}");
    assert_eq!(data.last().unwrap(), "[DONE]");
    let metrics = scrape(&g).await;
    assert!(
        metrics.contains("switchyard_streams_broken_total{model=\"smart\",provider=\"openai\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_stream() {
    let fake = FakeUpstream::start(|_| {
        let pieces: Vec<&str> = vec!["tok"; 50];
        Reply::sse(openai::chat_stream_events(
            "gpt-4o",
            &pieces,
            true,
            Duration::from_millis(100),
        ))
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    body.next().await.unwrap().unwrap();
    drop(body);
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.cancelled() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.cancelled(), 1, "upstream stream was not cancelled");
    assert_eq!(fake.completed(), 0);
}

#[tokio::test]
async fn client_disconnect_cancels_a_pending_json_request() {
    let fake = FakeUpstream::start(|_| Reply::hang()).await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let c = client();
    let req = c
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "messages": [{"role": "user", "content": "Hi"}]}))
        .send();
    let _ = tokio::time::timeout(Duration::from_millis(500), req).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.cancelled() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.calls(), 1);
    assert_eq!(fake.cancelled(), 1, "upstream request was not cancelled");
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_stream_finish() {
    let fake = FakeUpstream::start(|_| {
        Reply::sse(openai::chat_stream_events(
            "gpt-4o",
            &["a", "b", "c", "d"],
            true,
            Duration::from_millis(150),
        ))
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let addr = g.addr;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "smart", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    let shutdown = tokio::spawn(g.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = resp.text().await.unwrap();
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "stream cut short: {text}"
    );
    shutdown.await.unwrap().unwrap();
    assert!(
        reqwest::Client::new()
            .get(format!("http://{addr}/health/live"))
            .send()
            .await
            .is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn mock_provider_works_offline_json_and_stream() {
    let g = gateway(
        r#"
providers:
  mock: { kind: mock, mock: { prompt_tokens: 11 } }
models:
  mock: { targets: [{ provider: mock, model: mock-1 }] }
"#,
    )
    .await;
    let v: Value = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "mock", "messages": [{"role": "user", "content": "hello there"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Mock response to: hello there"
    );
    assert_eq!(v["usage"]["prompt_tokens"], 11);
    let text = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "mock/anything", "stream": true, "messages": [{"role": "user", "content": "hello there"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let joined: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(joined, "Mock response to: hello there");
    assert!(!text.contains("usage"));
}

#[tokio::test]
async fn health_and_metrics() {
    let g = gateway("providers:\n  mock: { kind: mock }\n").await;
    let v: Value = client()
        .get(url(&g, "/health/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ready");
    let resp = client().get(url(&g, "/metrics")).send().await.unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("openmetrics"));
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(r#"switchyard_in_flight_requests{endpoint="chat_completions"} 0"#),
        "{text}"
    );
}

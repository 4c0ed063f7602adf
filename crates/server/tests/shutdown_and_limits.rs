//! Shutdown and body limits: while draining, new connections are refused, idle keep-alive
//! connections are closed and `/health/ready` answers 503; `server.shutdown_grace_ms` cuts off a
//! stream that outlasts it; a chunked request body (no Content-Length) over
//! `server.max_body_bytes` is a 413 in OpenAI's error shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use common::*;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound on anything that should happen "promptly".
const PATIENCE: Duration = Duration::from_secs(20);

/// One mock model `slow` whose streamed answer is `words` tokens at `tokens_per_second`.
fn slow_mock(words: usize, tokens_per_second: u64, server: &str) -> String {
    let content = vec!["tok"; words].join(" ");
    format!(
        r#"
{server}
providers:
  mock: {{ kind: mock, mock: {{ tokens_per_second: {tokens_per_second}, content: "{content}" }} }}
models:
  slow: {{ targets: [{{ provider: mock, model: mock-1 }}] }}
"#
    )
}

/// Starts a streamed chat request and waits for its first bytes, so it is surely in flight.
async fn start_stream(
    g: &switchyard_server::Running,
) -> (
    impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>>,
    String,
) {
    let resp = client()
        .post(url(g, "/v1/chat/completions"))
        .json(&json!({"model": "slow", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    (body, String::from_utf8_lossy(&first).into_owned())
}

/// `/health/ready` through the router over the server's own state (a new connection cannot
/// reach it once draining: the listener is closed).
async fn readiness(state: &std::sync::Arc<switchyard_server::AppState>) -> (u16, Value) {
    let mut router = switchyard_server::router(state.clone());
    let req = http::Request::get("/health/ready")
        .body(Body::empty())
        .unwrap();
    let resp = tower_service::Service::call(&mut router, req)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Writes `request` on a new connection and reads one response: status, lower-cased head,
/// body (by Content-Length).
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    read_response(&mut s).await
}

async fn read_response(s: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(PATIENCE, s.read(&mut chunk))
            .await
            .expect("no response in time")
            .unwrap();
        assert!(
            n > 0,
            "connection closed before a response head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = tokio::time::timeout(PATIENCE, s.read(&mut chunk))
            .await
            .expect("response body not complete in time")
            .unwrap();
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    (status, head, body)
}

/// A chunked (Transfer-Encoding, no Content-Length) chat request whose body is `pieces`.
fn chunked_chat(pieces: &[&str]) -> Vec<u8> {
    let mut req = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for p in pieces {
        req.extend_from_slice(format!("{:x}\r\n{p}\r\n", p.len()).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

#[tokio::test]
async fn draining_refuses_new_connections_closes_idle_ones_and_reports_not_ready() {
    // 40 tokens at 10 per second: the stream keeps the server draining for about 4 s.
    let g = gateway(&slow_mock(40, 10, "")).await;
    let addr = g.addr;
    let state = g.state.clone();
    let (status, v) = readiness(&state).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("ready")), "{v}");

    // An idle keep-alive connection, served once before the shutdown.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, head, _) = read_response(&mut idle).await;
    assert_eq!(status, 200, "{head}");

    let (mut stream, first) = start_stream(&g).await;
    let shutdown = tokio::spawn(g.shutdown());

    // New connections are refused once draining starts.
    let deadline = Instant::now() + PATIENCE;
    loop {
        if TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still accepting connections after shutdown began"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !shutdown.is_finished(),
        "the server stopped before its in-flight stream finished"
    );

    // The idle keep-alive connection is closed: no further request is served on it.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, idle.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "idle keep-alive connection left open while draining"
    );
    assert!(
        rest.is_empty(),
        "unexpected bytes: {}",
        String::from_utf8_lossy(&rest)
    );

    // Readiness reports draining, so a load balancer stops routing here.
    let (status, v) = readiness(&state).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["status"], "draining");

    // The in-flight stream still runs to its end.
    let mut text = first;
    while let Some(chunk) = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("stream stalled while draining")
    {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "stream cut short: {text}"
    );
    tokio::time::timeout(PATIENCE, shutdown)
        .await
        .expect("shutdown did not finish after the stream ended")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_grace_cuts_off_a_stream_that_outlasts_it() {
    // 120 tokens at 4 per second: about 30 s, far beyond the 300 ms grace.
    let g = gateway(&slow_mock(120, 4, "server: { shutdown_grace_ms: 300 }")).await;
    let (mut stream, first) = start_stream(&g).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), g.shutdown())
        .await
        .expect("shutdown waited for the stream instead of the grace period")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "stopped before the grace period: {took:?}"
    );
    // The client sees its stream end (closed, or an error) long before the answer was done.
    let mut text = first;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => text.push_str(&String::from_utf8_lossy(&b)),
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream kept going after the grace period: {text}"
    );
    assert!(
        !text.contains("[DONE]"),
        "the stream finished instead of being cut: {text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the cut-off took as long as the stream"
    );
}

#[tokio::test]
async fn chunked_body_over_max_body_bytes_is_413_in_openai_shape() {
    let g = gateway(&slow_mock(3, 0, "server: { max_body_bytes: 1000 }")).await;
    let filler = "x".repeat(1500);
    let body = format!(r#"{{"model":"slow","messages":[{{"role":"user","content":"{filler}"}}]}}"#);
    assert!(body.len() > 1000);
    let (first, rest) = body.split_at(600);
    let (second, third) = rest.split_at(600);
    let req = chunked_chat(&[first, second, third]);
    assert!(!String::from_utf8_lossy(&req)
        .to_ascii_lowercase()
        .contains("content-length"));
    let (status, head, bytes) = raw_exchange(g.addr, &req).await;
    assert_eq!(status, 413, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(v["error"]["code"], "request_too_large", "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("1000"),
        "{v}"
    );
    assert!(v["error"].get("param").is_some(), "{v}");
}

#[tokio::test]
async fn chunked_body_under_max_body_bytes_is_served() {
    let g = gateway(&slow_mock(3, 0, "server: { max_body_bytes: 1000 }")).await;
    let body = r#"{"model":"slow","messages":[{"role":"user","content":"hello"}]}"#;
    let (first, second) = body.split_at(20);
    let (status, head, bytes) = raw_exchange(g.addr, &chunked_chat(&[first, second])).await;
    assert_eq!(status, 200, "{head} {}", String::from_utf8_lossy(&bytes));
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "tok tok tok");
}

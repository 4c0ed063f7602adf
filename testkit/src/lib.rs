//! Fake upstreams. [`FakeUpstream`] is an HTTP server on 127.0.0.1 that records every request
//! (method, path and query, headers, body), counts calls, and answers with whatever the test's
//! handler scripts: a status, headers, and a body sent in chunks with delays (for streams,
//! time-to-first-token and idle tests), or a hang. The wire bodies for each provider live in
//! the tests that use them, taken from the provider's documentation.

pub mod anthropic;
pub mod bedrock;
pub mod cohere;
pub mod faults;
pub mod gemini;
pub mod mistral;
pub mod openai;
pub mod vertex;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use parking_lot::Mutex;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/v1/chat/completions` or `/openai/deployments/d/chat/completions?api-version=2024-10-21`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the fake answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Body pieces, each sent after its delay.
    pub chunks: Vec<(Duration, Bytes)>,
    /// Never answer (to test timeouts and cancellation).
    pub hang: bool,
    /// How long the response head is held back.
    pub head_delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![(Duration::ZERO, Bytes::from(body.into()))],
            hang: false,
            head_delay: Duration::ZERO,
        }
    }

    /// An SSE stream of the given raw events (each should end with a blank line).
    pub fn sse(events: Vec<(Duration, String)>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            chunks: events
                .into_iter()
                .map(|(d, e)| (d, Bytes::from(e)))
                .collect(),
            hang: false,
            head_delay: Duration::ZERO,
        }
    }

    pub fn bytes(status: u16, content_type: &str, chunks: Vec<(Duration, Vec<u8>)>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            chunks: chunks
                .into_iter()
                .map(|(d, b)| (d, Bytes::from(b)))
                .collect(),
            hang: false,
            head_delay: Duration::ZERO,
        }
    }

    pub fn hang() -> Self {
        Self {
            status: 200,
            headers: vec![],
            chunks: vec![],
            hang: true,
            head_delay: Duration::ZERO,
        }
    }

    /// This reply with its head (status and headers) sent only after `delay`.
    pub fn with_head_delay(mut self, delay: Duration) -> Self {
        self.head_delay = delay;
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

struct Inner {
    handler: Box<Handler>,
    requests: Mutex<Vec<Recorded>>,
    calls: AtomicUsize,
    /// Streams whose client went away before the end.
    cancelled: AtomicUsize,
    completed: AtomicUsize,
}

/// A running fake upstream.
#[derive(Clone)]
pub struct FakeUpstream {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    stop: Arc<tokio::sync::Notify>,
}

impl FakeUpstream {
    /// Starts a fake on 127.0.0.1 with a random port.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let inner = Arc::new(Inner {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
        });
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic_free_abort(&format!("fake upstream cannot bind: {e}")),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic_free_abort(&format!("fake upstream has no address: {e}")),
        };
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(inner.clone());
        let stop = Arc::new(tokio::sync::Notify::new());
        let stop2 = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop2.notified().await })
                .await;
        });
        Self { addr, inner, stop }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// Streamed replies abandoned by the client before their last chunk.
    pub fn cancelled(&self) -> usize {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Replies whose every chunk was handed to the connection.
    pub fn completed(&self) -> usize {
        self.inner.completed.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().clone()
    }

    pub fn last(&self) -> Option<Recorded> {
        self.inner.requests.lock().last().cloned()
    }

    /// Stops accepting new connections.
    pub fn stop(&self) {
        self.stop.notify_waiters();
    }
}

/// Serves `handler` on an already-bound listener until the process ends (for the benchmark's
/// standalone fake upstream).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) {
    let inner = Arc::new(Inner {
        handler: Box::new(handler),
        requests: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        cancelled: AtomicUsize::new(0),
        completed: AtomicUsize::new(0),
    });
    let app = axum::Router::new().fallback(serve_fast).with_state(inner);
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let _ = axum::serve(listener, app).await;
}

/// Like `serve` but records nothing (the benchmark upstream must not grow).
async fn serve_fast(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        path: String::new(),
        headers: HeaderMap::new(),
        body,
    };
    let reply = (inner.handler)(&rec);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = if reply.chunks.len() == 1 {
        Body::from(
            reply
                .chunks
                .into_iter()
                .map(|(_, b)| b)
                .next()
                .unwrap_or_default(),
        )
    } else {
        let all: Vec<Result<Bytes, std::io::Error>> =
            reply.chunks.into_iter().map(|(_, b)| Ok(b)).collect();
        Body::from_stream(futures_util::stream::iter(all))
    };
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Test helpers must not panic inside library code (lint); abort the test process loudly.
fn panic_free_abort(msg: &str) -> ! {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
    std::process::abort()
}

async fn serve(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    inner.calls.fetch_add(1, Ordering::SeqCst);
    let reply = (inner.handler)(&rec);
    inner.requests.lock().push(rec);
    if reply.hang {
        let guard = CancelGuard {
            inner: inner.clone(),
            done: false,
        };
        std::future::pending::<()>().await;
        drop(guard);
    }
    if !reply.head_delay.is_zero() {
        // Counted as cancelled if the gateway gives up while the head is held back.
        let mut guard = CancelGuard {
            inner: inner.clone(),
            done: false,
        };
        tokio::time::sleep(reply.head_delay).await;
        guard.done = true;
    }
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let guard = CancelGuard {
        inner: inner.clone(),
        done: false,
    };
    let chunks = reply.chunks;
    let stream = futures_util::stream::unfold(
        (chunks.into_iter(), guard),
        |(mut it, mut guard)| async move {
            match it.next() {
                Some((delay, bytes)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok::<Bytes, std::io::Error>(bytes), (it, guard)))
                }
                None => {
                    guard.done = true;
                    guard.inner.completed.fetch_add(1, Ordering::SeqCst);
                    None
                }
            }
        },
    );
    builder
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Counts replies dropped before completion (the gateway cancelled the upstream request).
struct CancelGuard {
    inner: Arc<Inner>,
    done: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.done {
            self.inner.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

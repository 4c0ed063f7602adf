//! `/metrics` after real traffic through fake upstreams: the upstream latency and
//! time-to-first-token histograms, request counts by status and error class, the in-flight
//! gauge while an upstream holds its answer, token counters after a stream, and label values
//! that never carry a name the client made up (unknown models are `unknown`, `provider/model`
//! addressing is `provider/*`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use switchyard_server::Running;
use switchyard_testkit::{faults, openai, FakeUpstream, Reply};
use tokio::sync::Notify;

/// Scrapes until `done` holds (the request's record is finished just after its last byte is
/// handed over, so a scrape right after the client read it may still see it in flight); gives
/// up after 5 s and returns the last scrape for the test's assertion to report.
async fn scrape_until(g: &Running, done: impl Fn(&str) -> bool) -> String {
    let mut text = scrape(g).await;
    for _ in 0..500 {
        if done(&text) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        text = scrape(g).await;
    }
    text
}

/// The sum of the samples of `name` (exactly: `name{...} value`) whose labels include every
/// `key="value"` of `labels`; `None` when no series matches.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix('{') else {
            continue;
        };
        let Some((set, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let pairs: Vec<&str> = set.split(',').collect();
        if labels
            .iter()
            .all(|(k, v)| pairs.contains(&format!("{k}=\"{v}\"").as_str()))
        {
            let v: f64 = value.trim().parse().unwrap();
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

fn in_flight(text: &str) -> Option<f64> {
    sample(
        text,
        "switchyard_in_flight_requests",
        &[("endpoint", "chat_completions")],
    )
}

/// An OpenAI-compatible upstream that holds its answer until the test releases it: a JSON
/// answer's head, or a stream's events after the first (which it sends after `FIRST_EVENT`).
#[derive(Clone)]
struct Hold {
    arrived: Arc<Notify>,
    release: Arc<Notify>,
}

const FIRST_EVENT: Duration = Duration::from_millis(150);

async fn held(State(h): State<Hold>, req: Request) -> Response {
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let stream = serde_json::from_slice::<Value>(&body).unwrap()["stream"] == json!(true);
    h.arrived.notify_one();
    if !stream {
        h.release.notified().await;
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(openai::chat_json("gpt-4o", "held", 4, 2)))
            .unwrap();
    }
    let events: Vec<String> =
        openai::chat_stream_events("gpt-4o", &["a", "b"], true, Duration::ZERO)
            .into_iter()
            .map(|(_, e)| e)
            .collect();
    let first = Bytes::from(events[0].clone());
    let rest = Bytes::from(events[1..].concat());
    let release = h.release.clone();
    let body = futures_util::stream::once(async move {
        tokio::time::sleep(FIRST_EVENT).await;
        Ok::<_, std::io::Error>(first)
    })
    .chain(futures_util::stream::once(async move {
        release.notified().await;
        Ok(rest)
    }));
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap()
}

/// Starts a [`Hold`] upstream: its `/v1` base URL and its handles.
async fn hold_upstream() -> (String, Hold) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = Hold {
        arrived: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let app = axum::Router::new().fallback(held).with_state(hold.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), hold)
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "Hi"}]})
}

#[tokio::test]
async fn in_flight_while_the_upstream_holds_its_answer_then_upstream_latency() {
    let (base, hold) = hold_upstream().await;
    let g = gateway(&openai_config(&base, "")).await;
    assert_eq!(in_flight(&scrape(&g).await), Some(0.0));

    let target = url(&g, "/v1/chat/completions");
    let pending = tokio::spawn(async move {
        let resp = client()
            .post(target)
            .json(&chat("smart", false))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    });
    hold.arrived.notified().await;
    let text = scrape(&g).await;
    assert_eq!(in_flight(&text), Some(1.0), "{text}");
    // Held at least this long before the upstream's response head.
    tokio::time::sleep(Duration::from_millis(200)).await;
    hold.release.notify_one();
    let (status, v) = pending.await.unwrap();
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "held");

    let text = scrape_until(&g, |t| in_flight(t) == Some(0.0)).await;
    assert_eq!(in_flight(&text), Some(0.0), "{text}");
    let provider = [("provider", "openai")];
    assert_eq!(
        sample(
            &text,
            "switchyard_upstream_duration_seconds_count",
            &provider
        ),
        Some(1.0),
        "{text}"
    );
    let upstream_sum = sample(&text, "switchyard_upstream_duration_seconds_sum", &provider);
    assert!(
        upstream_sum.is_some_and(|s| s >= 0.2),
        "the upstream held its head for 200 ms: {upstream_sum:?}"
    );
    let model = [("model", "smart"), ("provider", "openai")];
    assert_eq!(
        sample(&text, "switchyard_request_duration_seconds_count", &model),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_requests_total",
            &[
                ("endpoint", "chat_completions"),
                ("model", "smart"),
                ("provider", "openai"),
                ("status", "200"),
                ("error", "none"),
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_time_to_first_token_seconds_count",
            &model
        ),
        None,
        "a JSON answer has no time to first token: {text}"
    );
}

/// A stream counts as in flight until its last event, not just until its head; once done, its
/// time to first token and its tokens (from the usage the gateway asked the upstream for) are
/// recorded.
#[tokio::test]
async fn a_stream_is_in_flight_until_it_ends_then_ttft_and_tokens_are_recorded() {
    let (base, hold) = hold_upstream().await;
    let g = gateway(&openai_config(&base, "")).await;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&chat("smart", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&first).starts_with("data: "),
        "{first:?}"
    );
    let text = scrape(&g).await;
    assert_eq!(in_flight(&text), Some(1.0), "{text}");

    hold.release.notify_one();
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    assert!(String::from_utf8_lossy(&rest).ends_with("data: [DONE]\n\n"));

    let text = scrape_until(&g, |t| in_flight(t) == Some(0.0)).await;
    assert_eq!(in_flight(&text), Some(0.0), "{text}");
    let model = [("model", "smart"), ("provider", "openai")];
    assert_eq!(
        sample(
            &text,
            "switchyard_time_to_first_token_seconds_count",
            &model
        ),
        Some(1.0),
        "{text}"
    );
    let ttft = sample(&text, "switchyard_time_to_first_token_seconds_sum", &model);
    assert!(
        ttft.is_some_and(|s| s >= FIRST_EVENT.as_secs_f64()),
        "the first event came after {FIRST_EVENT:?}: {ttft:?}"
    );
    let tokens = |kind: &str| {
        sample(
            &text,
            "switchyard_tokens_total",
            &[("model", "smart"), ("provider", "openai"), ("kind", kind)],
        )
    };
    assert_eq!(tokens("prompt"), Some(9.0), "{text}");
    assert_eq!(tokens("completion"), Some(2.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "switchyard_requests_total",
            &[("model", "smart"), ("status", "200"), ("error", "none")]
        ),
        Some(1.0),
        "{text}"
    );
}

/// An upstream 500 and an unknown model are counted with their status and an error class from
/// the fixed set (never the upstream's message).
#[tokio::test]
async fn errors_are_counted_by_status_and_error_class() {
    let fake = FakeUpstream::start(|_| {
        openai::error(
            500,
            "upstream exploded: details-xyz",
            "server_error",
            "server_error",
        )
    })
    .await;
    let g = gateway(&format!(
        "providers:\n  openai:\n    kind: openai\n    api_key: sk-provider-secret\n    base_url: {}/v1\nmodels:\n  smart:\n    retries: {{ max_attempts: 1 }}\n    targets:\n      - {{ provider: openai, model: gpt-4o }}\n",
        fake.url()
    ))
    .await;
    let post = |model: &'static str| {
        let target = url(&g, "/v1/chat/completions");
        async move {
            client()
                .post(target)
                .json(&chat(model, false))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("smart").await, 500);
    assert_eq!(post("no-such-model-xyz").await, 404);
    assert_eq!(fake.calls(), 1);

    let text = scrape_until(&g, |t| in_flight(t) == Some(0.0)).await;
    assert_eq!(
        sample(
            &text,
            "switchyard_requests_total",
            &[
                ("endpoint", "chat_completions"),
                ("model", "smart"),
                ("status", "500"),
                ("error", "server_error"),
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_requests_total",
            &[
                ("endpoint", "chat_completions"),
                ("model", "unknown"),
                ("provider", "none"),
                ("status", "404"),
                ("error", "not_found"),
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_upstream_attempts_total",
            &[("provider", "openai"), ("error", "server_error")]
        ),
        Some(1.0),
        "{text}"
    );
    // Failed upstream answers are timed too.
    assert_eq!(
        sample(
            &text,
            "switchyard_upstream_duration_seconds_count",
            &[("provider", "openai")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "switchyard_requests_total", &[("status", "200")]),
        None,
        "{text}"
    );
    assert!(!text.contains("details-xyz"), "{text}");
    assert!(!text.contains("no-such-model-xyz"), "{text}");
}

/// Names the client sends are not label values: an unknown model is `unknown`, an unknown
/// provider prefix too, and `provider/model` addressing is `provider/*` (otherwise every
/// made-up name would be a new series).
#[tokio::test]
async fn client_chosen_model_names_never_become_label_values() {
    let fake = FakeUpstream::start(|r| {
        if faults::wants_stream(r) {
            Reply::sse(openai::chat_stream_events(
                "gpt-direct-xyz",
                &["x", "y", "z"],
                true,
                Duration::ZERO,
            ))
        } else {
            Reply::json(200, openai::chat_json("gpt-direct-xyz", "ok", 3, 1))
        }
    })
    .await;
    let g = gateway(&openai_config(&format!("{}/v1", fake.url()), "")).await;
    let send = |body: Value| {
        let target = url(&g, "/v1/chat/completions");
        async move {
            let resp = client().post(target).json(&body).send().await.unwrap();
            let status = resp.status().as_u16();
            let _ = resp.bytes().await.unwrap();
            status
        }
    };
    assert_eq!(send(chat("no-such-model-xyz", false)).await, 404);
    assert_eq!(
        send(chat("nosuchprovider-xyz/some-model", false)).await,
        404
    );
    assert_eq!(send(chat("openai/gpt-direct-xyz", false)).await, 200);
    assert_eq!(send(chat("openai/gpt-direct-xyz", true)).await, 200);
    assert_eq!(fake.calls(), 2);

    let text = scrape_until(&g, |t| in_flight(t) == Some(0.0)).await;
    for made_up in ["no-such-model-xyz", "nosuchprovider", "gpt-direct-xyz"] {
        assert!(
            !text.contains(made_up),
            "`{made_up}` is a label value: {text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            "switchyard_requests_total",
            &[
                ("model", "unknown"),
                ("provider", "none"),
                ("status", "404"),
                ("error", "not_found"),
            ]
        ),
        Some(2.0),
        "{text}"
    );
    let direct = [("model", "openai/*"), ("provider", "openai")];
    assert_eq!(
        sample(
            &text,
            "switchyard_requests_total",
            &[direct[0], direct[1], ("status", "200"), ("error", "none")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_time_to_first_token_seconds_count",
            &direct
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_tokens_total",
            &[direct[0], direct[1], ("kind", "completion")]
        ),
        Some(4.0),
        "one JSON answer (1) and one stream (3): {text}"
    );
}

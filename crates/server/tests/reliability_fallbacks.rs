//! Fallback models by error class, through the real server: the general list when every target
//! of a model fails with a server error; `context_window_fallbacks` (and only it) on OpenAI's
//! `context_length_exceeded`; `content_policy_fallbacks` (and only it) on a content-filter
//! refusal; nothing for a plain bad request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod reliability_support;

use common::gateway;
use reliability_support::*;
use serde_json::json;
use switchyard_server::Running;
use switchyard_testkit::{FakeUpstream, Reply};

/// OpenAI's answer when the prompt is longer than the model's context window.
fn context_length_exceeded() -> Reply {
    Reply::json(
        400,
        json!({"error": {
            "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded"
        }})
        .to_string(),
    )
}

/// Azure OpenAI's answer when its content filter refuses the prompt.
fn content_filtered() -> Reply {
    Reply::json(
        400,
        json!({"error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
            "type": null,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {
                    "hate": {"filtered": true, "severity": "high"},
                    "jailbreak": {"filtered": false, "detected": false},
                    "self_harm": {"filtered": false, "severity": "safe"},
                    "sexual": {"filtered": false, "severity": "safe"},
                    "violence": {"filtered": false, "severity": "safe"}
                }
            }
        }})
        .to_string(),
    )
}

/// `smart` (targets a and b) with one model in each fallback list: `cheap` (c, general),
/// `long` (l, context window), `lenient` (p, content policy).
struct Setup {
    g: Running,
    a: FakeUpstream,
    b: FakeUpstream,
    c: FakeUpstream,
    l: FakeUpstream,
    p: FakeUpstream,
}

async fn setup(primary: impl Fn() -> Reply + Send + Sync + Clone + 'static, lists: &str) -> Setup {
    let pa = primary.clone();
    let a = FakeUpstream::start(move |_| pa()).await;
    let b = FakeUpstream::start(move |_| primary()).await;
    let c = FakeUpstream::start(healthy("gpt-cheap")).await;
    let l = FakeUpstream::start(healthy("gpt-long")).await;
    let p = FakeUpstream::start(healthy("gpt-lenient")).await;
    let models = format!(
        "  smart:
    retries: {{ base_delay_ms: 5, max_delay_ms: 20 }}
{lists}
    targets:
      - {{ provider: a, model: gpt-a }}
      - {{ provider: b, model: gpt-b }}
  cheap:
    targets: [{{ provider: c, model: gpt-cheap }}]
  long:
    targets: [{{ provider: l, model: gpt-long }}]
  lenient:
    targets: [{{ provider: p, model: gpt-lenient }}]
"
    );
    let g = gateway(&config(
        &[
            ("a", v1(&a)),
            ("b", v1(&b)),
            ("c", v1(&c)),
            ("l", v1(&l)),
            ("p", v1(&p)),
        ],
        &models,
    ))
    .await;
    Setup { g, a, b, c, l, p }
}

const ALL_LISTS: &str = "    fallbacks: [cheap]
    context_window_fallbacks: [long]
    content_policy_fallbacks: [lenient]";

#[tokio::test]
async fn general_fallback_when_every_target_fails_with_5xx() {
    let s = setup(server_error, ALL_LISTS).await;
    let r = ask(&s.g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "c");
    assert_eq!(r.header("x-switchyard-model"), Some("gpt-cheap"));
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "answer from gpt-cheap"
    );
    // Three attempts on smart (both targets tried), then one on the fallback.
    assert_eq!(r.attempts(), Some(4));
    assert_eq!(s.a.calls() + s.b.calls(), 3);
    assert!(s.a.calls() >= 1 && s.b.calls() >= 1);
    assert_eq!((s.c.calls(), s.l.calls(), s.p.calls()), (1, 0, 0));
}

#[tokio::test]
async fn context_window_overflow_goes_to_the_context_window_list_only() {
    let s = setup(context_length_exceeded, ALL_LISTS).await;
    let r = ask(&s.g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "l");
    assert_eq!(r.attempts(), Some(2), "no retry within smart");
    assert_eq!(s.a.calls() + s.b.calls(), 1);
    assert_eq!((s.c.calls(), s.l.calls(), s.p.calls()), (0, 1, 0));
}

#[tokio::test]
async fn context_window_overflow_without_its_list_is_answered_not_sent_to_general() {
    let s = setup(context_length_exceeded, "    fallbacks: [cheap]").await;
    let r = ask(&s.g, "smart").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.json()["error"]["code"],
        "context_length_exceeded",
        "{}",
        r.text
    );
    assert_eq!(s.a.calls() + s.b.calls(), 1);
    assert_eq!((s.c.calls(), s.l.calls(), s.p.calls()), (0, 0, 0));
}

#[tokio::test]
async fn content_filter_goes_to_the_content_policy_list_only() {
    let s = setup(content_filtered, ALL_LISTS).await;
    let r = ask(&s.g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "p");
    assert_eq!(r.attempts(), Some(2));
    assert_eq!(s.a.calls() + s.b.calls(), 1);
    assert_eq!((s.c.calls(), s.l.calls(), s.p.calls()), (0, 0, 1));
}

#[tokio::test]
async fn a_bad_request_falls_back_nowhere() {
    let bad = || {
        switchyard_testkit::openai::error(
            400,
            "Invalid type for 'max_tokens': expected an integer, but got a string instead.",
            "invalid_request_error",
            "invalid_type",
        )
    };
    let s = setup(bad, ALL_LISTS).await;
    let r = ask(&s.g, "smart").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(s.a.calls() + s.b.calls(), 1);
    assert_eq!((s.c.calls(), s.l.calls(), s.p.calls()), (0, 0, 0));
}

#[tokio::test]
async fn general_fallback_serves_streams_too() {
    let s = setup(server_error, ALL_LISTS).await;
    let r = post(&s.g, &stream_body("smart", "hi")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "c");
    let data = clean_stream(&r.text).unwrap();
    assert_eq!(stream_text(&data), "Hello from gpt-cheap");
    assert_eq!(s.c.calls(), 1);
}

#[tokio::test]
async fn a_model_at_its_in_flight_limit_overflows_to_its_fallback() {
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        switchyard_testkit::faults::delayed(ok(r), std::time::Duration::from_millis(400))
    })
    .await;
    let c = FakeUpstream::start(healthy("gpt-cheap")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("c", v1(&c))],
        "  smart:
    fallbacks: [cheap]
    targets:
      - { provider: a, model: gpt-a, max_in_flight: 1 }
  cheap:
    targets: [{ provider: c, model: gpt-cheap }]
",
    ))
    .await;
    let rs = futures_util::future::join_all((0..4).map(|_| ask(&g, "smart"))).await;
    let mut providers: Vec<&str> = rs
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text);
            r.provider()
        })
        .collect();
    providers.sort_unstable();
    assert_eq!(providers, ["a", "c", "c", "c"]);
    assert_eq!((a.calls(), c.calls()), (1, 3));
}

#[tokio::test]
async fn a_long_retry_after_goes_to_the_general_fallback_at_once() {
    let s = setup(
        || rate_limited().with_header("retry-after", "30"),
        ALL_LISTS,
    )
    .await;
    let r = ask(&s.g, "smart").await;
    assert_eq!((r.status, r.provider()), (200, "c"), "{}", r.text);
    assert!(
        r.elapsed < std::time::Duration::from_secs(1),
        "{:?}",
        r.elapsed
    );
    // Both targets of smart were tried once (each then cooling for 30 s), then the fallback.
    assert_eq!((s.a.calls(), s.b.calls(), s.c.calls()), (1, 1, 1));
    assert_eq!(r.attempts(), Some(3));
}

#[tokio::test]
async fn a_context_overflow_reported_in_a_stream_goes_to_the_context_window_list() {
    let overflow = || {
        Reply::sse(vec![(
            std::time::Duration::ZERO,
            format!(
                "data: {}\n\n",
                json!({"error": {"message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens. Please reduce the length of the messages.",
                                 "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
            ),
        )])
    };
    let s = setup(overflow, ALL_LISTS).await;
    let r = post(&s.g, &stream_body("smart", "hi")).await;
    assert_eq!((r.status, r.provider()), (200, "l"), "{}", r.text);
    let data = clean_stream(&r.text).unwrap();
    assert_eq!(stream_text(&data), "Hello from gpt-long");
    assert_eq!((s.c.calls(), s.l.calls(), s.p.calls()), (0, 1, 0));
}

/// Metrics name the model the client asked for, also when a fallback model's target served it
/// (the target's kept series are for its own model and are not used then), and the serving
/// model's own traffic still counts under its own name.
#[tokio::test]
async fn a_fallback_served_request_is_counted_under_the_model_asked_for() {
    let s = setup(server_error, ALL_LISTS).await;
    assert_eq!(ask(&s.g, "smart").await.status, 200);
    assert_eq!(ask(&s.g, "cheap").await.status, 200);
    assert_eq!(ask(&s.g, "cheap").await.status, 200);
    let text = metrics(&s.g).await;
    let requests = |model: &str| {
        sample(
            &text,
            "switchyard_requests_total",
            &[
                ("endpoint", "chat_completions"),
                ("model", model),
                ("provider", "c"),
                ("status", "200"),
                ("error", "none"),
            ],
        )
    };
    assert_eq!(requests("smart"), Some(1.0), "{text}");
    assert_eq!(requests("cheap"), Some(2.0), "{text}");
    let ok_attempts = sample(
        &text,
        "switchyard_upstream_attempts_total",
        &[("provider", "c"), ("error", "none")],
    );
    assert_eq!(ok_attempts, Some(3.0), "{text}");
    let durations = |model: &str| {
        sample(
            &text,
            "switchyard_request_duration_seconds_count",
            &[("model", model), ("provider", "c")],
        )
    };
    assert_eq!(
        (durations("smart"), durations("cheap")),
        (Some(1.0), Some(2.0))
    );
}

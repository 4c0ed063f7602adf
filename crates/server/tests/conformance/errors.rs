//! The error scenarios of the conformance suite: each error class a provider produces, sent by
//! its fake in the provider's own shape, must reach an OpenAI client as an OpenAI error of the
//! right class that keeps the provider's message.

use serde_json::{json, Value};

use super::{fold_stream, ErrKind, Provider, Rig};

fn body(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "Hello"}]})
}

/// The `Retry-After` seconds the provider asked for, from a header or Google's `RetryInfo`.
fn upstream_retry_after(reply: &switchyard_testkit::Reply) -> Option<String> {
    if let Some((_, v)) = reply
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
    {
        return Some(v.clone());
    }
    let body: Vec<u8> = reply.chunks.iter().flat_map(|(_, b)| b.to_vec()).collect();
    let v: Value = serde_json::from_slice(&body).ok()?;
    v["error"]["details"]
        .as_array()?
        .iter()
        .find_map(|d| d["retryDelay"].as_str())
        .map(|d| d.trim_end_matches('s').to_string())
}

async fn failing(
    p: &dyn Provider,
    kind: ErrKind,
    stream: bool,
) -> (u16, http::HeaderMap, Value, super::ErrCase) {
    let case = p
        .error(kind)
        .unwrap_or_else(|| panic!("{} has no {kind:?} error", p.label()));
    // One attempt: how often routing retries is its own concern (and its tests'); here the
    // mapping of one failure is under test.
    let reply = case.reply.clone();
    let rig = Rig::with(
        p,
        move |_| reply.clone(),
        "",
        "retries: { max_attempts: 1 }",
    )
    .await;
    let (status, h, v) = if stream {
        let (s, h, mut chunks) = rig.chat_stream(&body(true)).await;
        (s, h, chunks.remove(0))
    } else {
        rig.chat(&body(false)).await
    };
    assert_eq!(rig.fake().calls(), 1, "one upstream attempt");
    (status, h, v, case)
}

fn assert_message(p: &dyn Provider, v: &Value, message: &str) {
    let got = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an OpenAI error: {v}"));
    assert!(
        got.contains(message),
        "{}: the provider's message is kept: {got:?} ~ {message:?}",
        p.label()
    );
}

async fn rate_limit_case(p: &dyn Provider, stream: bool) {
    let (status, h, v, case) = failing(p, ErrKind::RateLimit, stream).await;
    assert_eq!(status, 429, "{}: {v}", p.label());
    assert_eq!(v["error"]["type"], "rate_limit_error", "{v}");
    assert_message(p, &v, case.message);
    if let Some(secs) = upstream_retry_after(&case.reply) {
        assert_eq!(
            h.get("retry-after").and_then(|v| v.to_str().ok()),
            Some(secs.as_str()),
            "{}: Retry-After passed on",
            p.label()
        );
    }
}

pub async fn rate_limit(p: &dyn Provider) {
    rate_limit_case(p, false).await;
}

/// A stream that fails before its first byte is an HTTP error, not a 200 stream.
pub async fn rate_limit_stream(p: &dyn Provider) {
    rate_limit_case(p, true).await;
}

pub async fn overloaded(p: &dyn Provider) {
    let (status, _h, v, case) = failing(p, ErrKind::Overloaded, false).await;
    assert_eq!(
        status,
        case.status,
        "{}: the provider's status: {v}",
        p.label()
    );
    assert_eq!(v["error"]["type"], "server_error", "{v}");
    assert_message(p, &v, case.message);
}

pub async fn server_error(p: &dyn Provider) {
    let (status, _h, v, case) = failing(p, ErrKind::ServerError, false).await;
    assert_eq!(
        status,
        case.status,
        "{}: the provider's status: {v}",
        p.label()
    );
    assert_eq!(v["error"]["type"], "server_error", "{v}");
    assert_message(p, &v, case.message);
}

/// The provider refused the gateway's credentials: not the client's fault, so a 502 (never
/// the 401 a bad client key gets), and the provider's message (which may echo part of the key)
/// stays in the gateway's logs; the client is told which upstream status came back.
pub async fn upstream_auth(p: &dyn Provider) {
    let (status, _h, v, case) = failing(p, ErrKind::Auth, false).await;
    assert_eq!(status, 502, "{}: {v}", p.label());
    assert_eq!(v["error"]["type"], "server_error", "{}: {v}", p.label());
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("rejected the gateway's credentials"), "{msg}");
    assert!(
        !msg.contains(case.message),
        "{}: the provider's own message stays in the logs: {msg}",
        p.label()
    );
    assert!(
        msg.contains(&format!("upstream status {}", case.status)),
        "{}: the message names the status the provider answered ({}): {msg}",
        p.label(),
        case.status
    );
}

pub async fn context_window(p: &dyn Provider) {
    let (status, _h, v, case) = failing(p, ErrKind::ContextWindow, false).await;
    assert_eq!(status, 400, "{}: {v}", p.label());
    assert_eq!(
        v["error"]["code"],
        "context_length_exceeded",
        "{}: {v}",
        p.label()
    );
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert_message(p, &v, case.message);
}

pub async fn content_filter(p: &dyn Provider) {
    let (status, _h, v, case) = failing(p, ErrKind::ContentFilter, false).await;
    assert_eq!(status, 400, "{}: {v}", p.label());
    assert_eq!(v["error"]["code"], "content_filter", "{}: {v}", p.label());
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert_message(p, &v, case.message);
}

/// An error after the stream began: the text already sent stays, then an OpenAI error event.
pub async fn stream_error_midway(p: &dyn Provider) {
    let reply = p
        .mid_stream_error("Partial", "upstream broke mid-stream")
        .expect("provider can fail mid-stream");
    let rig = Rig::start(p, reply).await;
    let (status, _h, chunks) = rig.chat_stream(&body(true)).await;
    assert_eq!(status, 200, "{}: {chunks:?}", p.label());
    let st = fold_stream(&chunks);
    assert_eq!(st.text, "Partial", "{chunks:?}");
    assert_eq!(
        st.errors.len(),
        1,
        "{}: one error event: {chunks:?}",
        p.label()
    );
    let msg = st.errors[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("upstream broke mid-stream"),
        "{}: {msg}",
        p.label()
    );
    assert!(
        !st.finish.iter().any(|f| f == "stop"),
        "not a normal end: {chunks:?}"
    );
}

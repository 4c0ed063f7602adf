//! OpenAI Chat Completions wire bodies, as the API reference shows them.

use std::time::Duration;

use serde_json::json;

use crate::Reply;

/// A `chat.completion` with one text choice and usage.
pub fn chat_json(model: &str, content: &str, prompt_tokens: u64, completion_tokens: u64) -> String {
    json!({
        "id": "chatcmpl-123", "object": "chat.completion", "created": 1_700_000_000u64, "model": model,
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}}
    })
    .to_string()
}

/// The events of a streamed completion of `pieces`, with `"usage":null` on every chunk and a
/// final usage chunk when `include_usage`, then `[DONE]`. Each event after the first waits
/// `gap`.
pub fn chat_stream_events(
    model: &str,
    pieces: &[&str],
    include_usage: bool,
    gap: Duration,
) -> Vec<(Duration, String)> {
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        let mut c = json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_700_000_000u64,
            "model": model, "system_fingerprint": "fp_44709d6fcb",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if include_usage {
            c["usage"] = serde_json::Value::Null;
        }
        format!("data: {c}\n\n")
    };
    let mut out = vec![(
        Duration::ZERO,
        chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            json!(null),
        ),
    )];
    for p in pieces {
        out.push((gap, chunk(json!({"content": p}), json!(null))));
    }
    out.push((gap, chunk(json!({}), json!("stop"))));
    if include_usage {
        let u = json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_700_000_000u64,
            "model": model, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": pieces.len(), "total_tokens": 9 + pieces.len(),
            "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}});
        out.push((Duration::ZERO, format!("data: {u}\n\n")));
    }
    out.push((Duration::ZERO, "data: [DONE]\n\n".to_string()));
    out
}

/// An OpenAI error body.
pub fn error(status: u16, message: &str, typ: &str, code: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"message": message, "type": typ, "param": null, "code": code}})
            .to_string(),
    )
}

/// An embeddings list with one 3-dimensional vector per input.
pub fn embeddings_json(model: &str, n: usize) -> String {
    let data: Vec<_> = (0..n)
        .map(|i| json!({"object": "embedding", "index": i, "embedding": [0.1, -0.2, 0.3 + i as f64]}))
        .collect();
    json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 4, "total_tokens": 4}}).to_string()
}

/// A fast OpenAI-compatible upstream for benchmarks: JSON for non-streaming requests, an SSE
/// stream of `stream_events` pieces for streaming ones.
pub fn bench_handler(stream_events: usize) -> impl Fn(&crate::Recorded) -> Reply + Send + Sync {
    let json_body = chat_json("bench-model", "Hello! How can I help you today?", 12, 9);
    move |r| {
        if r.body.windows(13).any(|w| w == b"\"stream\":true") {
            let pieces: Vec<String> = (0..stream_events).map(|i| format!("tok{i} ")).collect();
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            Reply::sse(chat_stream_events(
                "bench-model",
                &refs,
                true,
                Duration::ZERO,
            ))
        } else {
            Reply::json(200, json_body.clone())
        }
    }
}

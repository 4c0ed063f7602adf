//! The `mock` provider: an in-process upstream that speaks the OpenAI wire format, so it goes
//! through exactly the same code as a real OpenAI-compatible provider. Deterministic content
//! and usage; configurable latency, time to first token, token rate and failures.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};
use switchyard_config::MockConfig;
use switchyard_providers::WireRequest;
use switchyard_types::GatewayError;

use crate::transport::UpstreamResponse;

pub struct MockProvider {
    cfg: MockConfig,
}

impl MockProvider {
    pub fn new(cfg: MockConfig) -> Self {
        Self { cfg }
    }

    pub async fn handle(&self, req: WireRequest) -> Result<UpstreamResponse, GatewayError> {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if self.cfg.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.cfg.latency_ms)).await;
        }
        if self.cfg.failure_rate > 0.0 && rand::random::<f64>() < self.cfg.failure_rate {
            let status = StatusCode::from_u16(self.cfg.failure_status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (typ, code) = match status.as_u16() {
                429 => ("rate_limit_error", "rate_limit_exceeded"),
                400..=499 => ("invalid_request_error", "mock_failure"),
                _ => ("server_error", "mock_failure"),
            };
            let err = json!({"error": {"message": format!("mock provider failure ({})", status.as_u16()), "type": typ, "param": null, "code": code}});
            let mut headers = json_headers();
            if status.as_u16() == 429 {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return Ok(full(status, headers, err.to_string()));
        }
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("mock-1")
            .to_string();
        if req.url.ends_with("/embeddings") {
            return Ok(self.embeddings(&body, &model));
        }
        // Validate like OpenAI does, so clients see the same 400s.
        match body.get("messages") {
            Some(Value::Array(m)) if !m.is_empty() => {}
            _ => {
                return Ok(invalid(
                    "messages",
                    "Invalid value for 'messages': expected a non-empty array of messages.",
                ))
            }
        }
        let prompt_words: u64 = body
            .get("messages")
            .and_then(Value::as_array)
            .map(|msgs| msgs.iter().map(|m| words(&text_of(m)) as u64).sum())
            .unwrap_or(0);
        let last_user = body
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|msgs| {
                msgs.iter()
                    .rev()
                    .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            })
            .map(text_of)
            .unwrap_or_default();
        let content = self
            .cfg
            .content
            .clone()
            .unwrap_or_else(|| format!("Mock response to: {last_user}"));
        let tokens: Vec<String> = split_tokens(&content);
        let usage = json!({
            "prompt_tokens": self.cfg.prompt_tokens.unwrap_or(prompt_words.max(1)),
            "completion_tokens": self.cfg.completion_tokens.unwrap_or(tokens.len() as u64),
            "total_tokens": self.cfg.prompt_tokens.unwrap_or(prompt_words.max(1)) + self.cfg.completion_tokens.unwrap_or(tokens.len() as u64),
        });
        let id = format!("chatcmpl-mock{:016x}", rand::random::<u64>());
        let created = now_secs();
        if body.get("stream").and_then(Value::as_bool) == Some(true) {
            let include_usage = body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                == Some(true);
            return Ok(self.stream(id, created, model, tokens, usage, include_usage));
        }
        let resp = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage,
        });
        Ok(full(StatusCode::OK, json_headers(), resp.to_string()))
    }

    fn stream(
        &self,
        id: String,
        created: u64,
        model: String,
        tokens: Vec<String>,
        usage: Value,
        include_usage: bool,
    ) -> UpstreamResponse {
        let chunk = |delta: Value, finish: Value| {
            let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
            if include_usage {
                c["usage"] = Value::Null;
            }
            format!("data: {c}\n\n")
        };
        let mut events: Vec<(Duration, String)> = Vec::with_capacity(tokens.len() + 4);
        let ttft = Duration::from_millis(self.cfg.ttft_ms);
        let gap = Duration::from_micros(
            1_000_000u64
                .checked_div(self.cfg.tokens_per_second)
                .unwrap_or(0),
        );
        events.push((
            ttft,
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        ));
        for t in &tokens {
            events.push((gap, chunk(json!({"content": t}), Value::Null)));
        }
        events.push((Duration::ZERO, chunk(json!({}), json!("stop"))));
        if include_usage {
            let u = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [], "usage": usage});
            events.push((Duration::ZERO, format!("data: {u}\n\n")));
        }
        events.push((Duration::ZERO, "data: [DONE]\n\n".to_string()));
        let body = stream::unfold(events.into_iter(), |mut it| async move {
            let (delay, text) = it.next()?;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok(Bytes::from(text)), it))
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        UpstreamResponse {
            status: StatusCode::OK,
            headers,
            body: Box::pin(body),
        }
    }

    fn embeddings(&self, body: &Value, model: &str) -> UpstreamResponse {
        if body.get("input").is_none() {
            return invalid("input", "you must provide an 'input' parameter");
        }
        let inputs: Vec<String> = match body.get("input") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
            _ => vec![],
        };
        let dims = body
            .get("dimensions")
            .and_then(Value::as_u64)
            .unwrap_or(8)
            .clamp(1, 4096) as usize;
        if inputs.is_empty() {
            return invalid(
                "input",
                "'input' must be a string or a non-empty array of strings.",
            );
        }
        let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let v = pseudo_embedding(text, dims);
                let embedding = if base64 {
                    use base64::Engine as _;
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
                } else {
                    json!(v)
                };
                json!({"object": "embedding", "index": i, "embedding": embedding})
            })
            .collect();
        let tokens: u64 = inputs.iter().map(|t| words(t) as u64).sum();
        let resp = json!({"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
        full(StatusCode::OK, json_headers(), resp.to_string())
    }
}

/// A 400 in OpenAI's shape.
fn invalid(param: &str, message: &str) -> UpstreamResponse {
    let err = json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": null}});
    full(StatusCode::BAD_REQUEST, json_headers(), err.to_string())
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h
}

fn full(status: StatusCode, headers: HeaderMap, body: String) -> UpstreamResponse {
    UpstreamResponse {
        status,
        headers,
        body: Box::pin(stream::once(async move { Ok(Bytes::from(body)) })),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Text of an OpenAI message: a string, or the text parts joined.
fn text_of(m: &Value) -> String {
    match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Splits text into word tokens, each keeping its leading space, so they concatenate back.
fn split_tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_whitespace() && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A deterministic unit vector from the text (FNV-1a seeded per dimension).
fn pseudo_embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dims)
        .map(|d| {
            let mut h: u64 = 0xcbf29ce484222325 ^ (d as u64).wrapping_mul(0x9E3779B97F4A7C15);
            for b in text.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x100000001b3);
            }
            ((h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_back() {
        let s = "Mock response to: hello  world";
        assert_eq!(split_tokens(s).concat(), s);
        assert_eq!(split_tokens(s).len(), 5);
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = pseudo_embedding("hi", 16);
        assert_eq!(a, pseudo_embedding("hi", 16));
        assert_ne!(a, pseudo_embedding("ho", 16));
        let n: f32 = a.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-4);
    }
}

//! Anthropic Messages API wire bodies as Anthropic's API reference shows them (the `message`
//! object, the streaming events, error bodies) and [`handler`], a fake `POST /v1/messages` that
//! checks what the real endpoint checks (path, `x-api-key`, `anthropic-version`, `max_tokens`,
//! no `system` role in `messages`) and answers JSON or a stream.
//!
//! The fakes of the other providers share two helpers from here: [`sample_input`] (arguments a
//! model would produce for a JSON-Schema'd tool) and [`Call`] (a tool call in an answer).

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::{Recorded, Reply};

/// The `anthropic-version` every request must carry.
pub const VERSION: &str = "2023-06-01";

/// A tool call in a scripted answer: id, function name, and its argument JSON text in the
/// pieces a stream sends (a JSON answer joins them). Every provider module uses this shape.
pub type Call<'a> = (&'a str, &'a str, &'a [&'a str]);

/// Joins a call's argument fragments and parses them (`{}` when they do not parse).
pub fn call_input(fragments: &[&str]) -> Value {
    serde_json::from_str(&fragments.concat()).unwrap_or_else(|_| json!({}))
}

/// Anthropic `usage` (input excludes cache reads and writes).
pub fn usage(input: u64, output: u64) -> Value {
    usage_cached(input, output, 0, 0)
}

/// Anthropic `usage` with prompt-cache reads and writes.
pub fn usage_cached(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Value {
    json!({"input_tokens": input, "cache_creation_input_tokens": cache_write,
           "cache_read_input_tokens": cache_read, "output_tokens": output})
}

/// The content blocks of an answer: one text block (when `text` is not empty), then one
/// `tool_use` block per call.
fn blocks(text: &str, calls: &[Call<'_>]) -> Vec<Value> {
    let mut out = Vec::new();
    if !text.is_empty() {
        out.push(json!({"type": "text", "text": text}));
    }
    for (id, name, fragments) in calls {
        out.push(
            json!({"type": "tool_use", "id": id, "name": name, "input": call_input(fragments)}),
        );
    }
    out
}

/// A `message` object. `stop_sequence` is null; set it on the returned value for
/// `stop_reason: "stop_sequence"`.
pub fn message(
    model: &str,
    text: &str,
    calls: &[Call<'_>],
    stop_reason: &str,
    usage: Value,
) -> Value {
    json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
           "model": model, "content": blocks(text, calls), "stop_reason": stop_reason,
           "stop_sequence": null, "usage": usage})
}

/// One SSE event: `event: NAME` and the JSON `data` (whose `type` is the same name).
pub fn event(data: &Value) -> String {
    let name = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    format!("event: {name}\ndata: {data}\n\n")
}

/// The events of a streamed answer: `message_start` (input usage), `ping`, a text block with
/// one `text_delta` per piece, a `tool_use` block per call (an empty first `input_json_delta`,
/// then one per fragment), `message_delta` (stop reason, output tokens), `message_stop`.
pub fn stream_events(
    model: &str,
    pieces: &[&str],
    calls: &[Call<'_>],
    stop_reason: &str,
    usage: Value,
) -> Vec<(Duration, String)> {
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let mut out = vec![
        (
            Duration::ZERO,
            event(&json!({"type": "message_start", "message": {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": start_usage}})),
        ),
        (Duration::ZERO, event(&json!({"type": "ping"}))),
    ];
    let mut index = 0;
    if !pieces.is_empty() {
        out.push((
            Duration::ZERO,
            event(&json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}})),
        ));
        for p in pieces {
            out.push((
                Duration::ZERO,
                event(&json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": p}})),
            ));
        }
        out.push((
            Duration::ZERO,
            event(&json!({"type": "content_block_stop", "index": 0})),
        ));
        index = 1;
    }
    for (id, name, fragments) in calls {
        out.push((
            Duration::ZERO,
            event(&json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})),
        ));
        for f in std::iter::once(&"").chain(fragments.iter()) {
            out.push((
                Duration::ZERO,
                event(&json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": f}})),
            ));
        }
        out.push((
            Duration::ZERO,
            event(&json!({"type": "content_block_stop", "index": index})),
        ));
        index += 1;
    }
    let output = usage.get("output_tokens").cloned().unwrap_or(json!(0));
    out.push((
        Duration::ZERO,
        event(&json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": output}})),
    ));
    out.push((Duration::ZERO, event(&json!({"type": "message_stop"}))));
    out
}

/// An `error` event sent inside a 200 stream.
pub fn error_event(typ: &str, message: &str) -> String {
    event(&json!({"type": "error", "error": {"type": typ, "message": message}}))
}

/// An error body: `{"type":"error","error":{"type","message"},"request_id"}`.
pub fn error_body(typ: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": typ, "message": message},
           "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
    .to_string()
}

/// An error answer with Anthropic's headers (`request-id`; `retry-after` on 429 and 529).
pub fn error(status: u16, typ: &str, message: &str) -> Reply {
    let r = Reply::json(status, error_body(typ, message))
        .with_header("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy");
    if status == 429 || status == 529 {
        r.with_header("retry-after", "1")
    } else {
        r
    }
}

/// Arguments a model might produce for a tool whose parameters are `schema` (JSON Schema):
/// every declared property gets a value of its type (strings `"Paris"`).
pub fn sample_input(schema: &Value) -> Value {
    let mut out = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let ty = prop
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string")
                .to_ascii_lowercase();
            let v = match ty.as_str() {
                "integer" | "number" => json!(1),
                "boolean" => json!(true),
                "array" => json!([]),
                "object" => json!({}),
                _ => json!("Paris"),
            };
            out.insert(name.clone(), v);
        }
    }
    Value::Object(out)
}

/// Text of a `content` field: a string, or its text blocks joined.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Checks the head of a Messages request: `None` when it is acceptable, else the error the
/// real API would answer.
pub fn check_request(r: &Recorded, api_key: &str) -> Option<Reply> {
    if r.method != "POST" || r.path != "/v1/messages" {
        return Some(error(
            404,
            "not_found_error",
            &format!("Not found: {}", r.path),
        ));
    }
    if r.header("x-api-key") != Some(api_key) {
        return Some(error(401, "authentication_error", "invalid x-api-key"));
    }
    if r.header("anthropic-version").is_none() {
        return Some(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    check_body(&r.json(), true)
}

/// Checks a Messages body: `None` when acceptable. `with_model`: `model` is required (Vertex
/// bodies carry none).
pub fn check_body(body: &Value, with_model: bool) -> Option<Reply> {
    let bad = |m: &str| Some(error(400, "invalid_request_error", m));
    if !body.is_object() {
        return bad("request body is not valid JSON");
    }
    if with_model && body.get("model").and_then(Value::as_str).is_none() {
        return bad("model: Field required");
    }
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return bad("max_tokens: Field required");
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("messages: Field required");
    };
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "user" && role != "assistant" {
            return bad(&format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
    }
    None
}

/// What the fake answers for a Messages body: a call of the forced tool, or of the first tool
/// when tools are offered and the last turn is not a tool result; otherwise text echoing the
/// last user text. Returns `(text, tool name, tool input)`.
pub fn plan_answer(body: &Value) -> (String, Option<(String, Value)>) {
    let messages = body.get("messages").and_then(Value::as_array);
    let last = messages.and_then(|m| m.last());
    let after_result = last
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .is_some_and(|b| {
            b.iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        });
    let tools = body.get("tools").and_then(Value::as_array);
    let forced = body
        .pointer("/tool_choice/name")
        .and_then(Value::as_str)
        .filter(|_| body.pointer("/tool_choice/type").and_then(Value::as_str) == Some("tool"));
    let tool = tools.and_then(|ts| {
        if let Some(name) = forced {
            return ts
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(name));
        }
        if after_result {
            return None;
        }
        ts.first()
    });
    if let Some(t) = tool {
        let name = t.get("name").and_then(Value::as_str).unwrap_or("tool");
        let schema = t.get("input_schema").cloned().unwrap_or(Value::Null);
        return (
            String::new(),
            Some((name.to_string(), sample_input(&schema))),
        );
    }
    let user_text = messages
        .and_then(|ms| {
            ms.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .map(text_of)
        .unwrap_or_default();
    let text = if after_result {
        "Done: the tool answered.".to_string()
    } else {
        format!("You said: {user_text}")
    };
    (text, None)
}

/// Splits text into word pieces that concatenate back to it.
pub fn pieces_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch == ' ' && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The reply to an accepted Messages body (see [`plan_answer`]).
pub fn answer(body: &Value, model: &str) -> Reply {
    let (text, tool) = plan_answer(body);
    let args = tool.as_ref().map(|(_, input)| input.to_string());
    let frags: Vec<&str> = args.as_deref().map(|a| vec![a]).unwrap_or_default();
    let calls: Vec<Call<'_>> = tool
        .as_ref()
        .map(|(name, _)| vec![("toolu_01A09q90qw90lq917835lq9", name.as_str(), &frags[..])])
        .unwrap_or_default();
    let stop = if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    let pieces = pieces_of(&text);
    let u = usage(12, pieces.len().max(1) as u64);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Reply::sse(stream_events(model, &refs, &calls, stop, u))
    } else {
        Reply::json(200, message(model, &text, &calls, stop, u).to_string())
    }
}

/// A fake Anthropic API: checks each request like [`check_request`], then answers like
/// [`answer`]. The answer's `model` is the request's.
pub fn handler(api_key: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let key = api_key.to_string();
    move |r| {
        if let Some(refusal) = check_request(r, &key) {
            return refusal;
        }
        let body = r.json();
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("claude")
            .to_string();
        answer(&body, &model)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn rec(path: &str, headers: &[(&str, &str)], body: Value) -> Recorded {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Recorded {
            method: "POST".into(),
            path: path.into(),
            headers: h,
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    pub(crate) fn body_text(r: &Reply) -> String {
        r.chunks
            .iter()
            .map(|(_, b)| String::from_utf8_lossy(b).to_string())
            .collect()
    }

    const KEY: [(&str, &str); 2] = [("x-api-key", "k"), ("anthropic-version", VERSION)];

    #[test]
    fn refuses_like_the_api() {
        let h = handler("k");
        let body = json!({"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(h(&rec("/v1/messages", &KEY, body.clone())).status, 200);
        let wrong = [("x-api-key", "nope"), ("anthropic-version", VERSION)];
        let r = h(&rec("/v1/messages", &wrong, body.clone()));
        assert_eq!(r.status, 401);
        assert!(body_text(&r).contains("authentication_error"));
        assert_eq!(
            h(&rec("/v1/messages", &[("x-api-key", "k")], body.clone())).status,
            400
        );
        assert_eq!(h(&rec("/v1/complete", &KEY, body)).status, 404);
        let no_max = json!({"model": "c", "messages": [{"role": "user", "content": "hi"}]});
        assert!(body_text(&h(&rec("/v1/messages", &KEY, no_max))).contains("max_tokens"));
        let system_role = json!({"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]});
        assert_eq!(h(&rec("/v1/messages", &KEY, system_role)).status, 400);
    }

    #[test]
    fn answers_text_then_tool_calls() {
        let h = handler("k");
        let text = json!({"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": "hello there"}]});
        let v: Value =
            serde_json::from_str(&body_text(&h(&rec("/v1/messages", &KEY, text)))).unwrap();
        assert_eq!(v["content"][0]["text"], "You said: hello there");
        assert_eq!(v["stop_reason"], "end_turn");
        let tools = json!({"model": "c", "max_tokens": 10, "stream": true,
            "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}],
            "messages": [{"role": "user", "content": "weather?"}]});
        let events = body_text(&h(&rec("/v1/messages", &KEY, tools)));
        assert!(events.starts_with("event: message_start\n"));
        assert!(events.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        let json_text: String = events
            .split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|d| d["delta"]["partial_json"].as_str().map(str::to_string))
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&json_text).unwrap(),
            json!({"city": "Paris", "days": 1})
        );
        assert!(events.contains(r#""stop_reason":"tool_use""#));
    }

    #[test]
    fn stream_event_names_match_their_type() {
        let ev = stream_events(
            "m",
            &["a", "b"],
            &[("t", "f", &["{}"])],
            "tool_use",
            usage(3, 2),
        );
        for (_, e) in &ev {
            let name = e.lines().next().unwrap().strip_prefix("event: ").unwrap();
            let data: Value =
                serde_json::from_str(e.lines().nth(1).unwrap().strip_prefix("data: ").unwrap())
                    .unwrap();
            assert_eq!(data["type"], name);
        }
        assert_eq!(pieces_of("a b  c").concat(), "a b  c");
    }
}

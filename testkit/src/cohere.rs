//! Cohere v2 Chat wire bodies as Cohere's API reference shows them (the chat response with
//! `message.content` / `tool_plan` / `tool_calls`, `billed_units` usage, the typed SSE events,
//! `{"id","message"}` errors) and [`handler`], a fake `POST /v2/chat` that checks the path, the
//! bearer key and the body, and answers JSON or a stream.

use std::time::Duration;

use serde_json::{json, Value};

/// A tool call in a scripted answer (see [`crate::anthropic::Call`]).
pub use crate::anthropic::Call;
use crate::anthropic::{pieces_of, sample_input};
use crate::{Recorded, Reply};

/// Cohere `usage`: what is billed, and the raw counts including the prompt template.
pub fn usage(input: u64, output: u64) -> Value {
    json!({"billed_units": {"input_tokens": input, "output_tokens": output},
           "tokens": {"input_tokens": input + 64, "output_tokens": output}})
}

fn tool_calls(calls: &[Call<'_>]) -> Vec<Value> {
    calls
        .iter()
        .map(|(id, name, fragments)| {
            json!({"id": id, "type": "function",
                   "function": {"name": name, "arguments": fragments.concat()}})
        })
        .collect()
}

/// A v2 chat response. With calls, `text` is the `tool_plan`; without, the text content.
pub fn chat(text: &str, calls: &[Call<'_>], finish_reason: &str, usage: Value) -> Value {
    let message = if calls.is_empty() {
        json!({"role": "assistant", "content": [{"type": "text", "text": text}]})
    } else {
        json!({"role": "assistant", "tool_plan": text, "tool_calls": tool_calls(calls)})
    };
    json!({"id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4", "finish_reason": finish_reason,
           "message": message, "usage": usage})
}

/// One SSE event, named by its JSON `type`.
pub fn event(data: &Value) -> String {
    let name = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    format!("event: {name}\ndata: {data}\n\n")
}

/// A streamed answer: `message-start`; the text as a content block (`content-start`,
/// `content-delta` per piece, `content-end`) — or, with calls, as `tool-plan-delta`s — then per
/// call `tool-call-start` (id, name, empty arguments), `tool-call-delta` per fragment,
/// `tool-call-end`; `message-end` with the finish reason and usage; then `data: [DONE]`.
pub fn stream_events(
    pieces: &[&str],
    calls: &[Call<'_>],
    finish_reason: &str,
    usage: Value,
) -> Vec<(Duration, String)> {
    let mut ev = vec![event(&json!({"id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
        "type": "message-start", "delta": {"message": {"role": "assistant", "content": [],
        "tool_plan": "", "tool_calls": [], "citations": []}}}))];
    if calls.is_empty() {
        ev.push(event(&json!({"type": "content-start", "index": 0,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}})));
        for p in pieces {
            ev.push(event(&json!({"type": "content-delta", "index": 0,
                "delta": {"message": {"content": {"text": p}}}})));
        }
        ev.push(event(&json!({"type": "content-end", "index": 0})));
    } else {
        for p in pieces {
            ev.push(event(&json!({"type": "tool-plan-delta",
                "delta": {"message": {"tool_plan": p}}})));
        }
        for (i, (id, name, fragments)) in calls.iter().enumerate() {
            ev.push(event(&json!({"type": "tool-call-start", "index": i,
                "delta": {"message": {"tool_calls": {"id": id, "type": "function",
                    "function": {"name": name, "arguments": ""}}}}})));
            for f in *fragments {
                ev.push(event(&json!({"type": "tool-call-delta", "index": i,
                    "delta": {"message": {"tool_calls": {"function": {"arguments": f}}}}})));
            }
            ev.push(event(&json!({"type": "tool-call-end", "index": i})));
        }
    }
    ev.push(event(&json!({"type": "message-end",
        "delta": {"finish_reason": finish_reason, "usage": usage}})));
    ev.push("data: [DONE]\n\n".to_string());
    ev.into_iter().map(|e| (Duration::ZERO, e)).collect()
}

/// An error answer: `{"id","message"}`.
pub fn error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"id": "3f5c5e5c-2a4f-4c8e-8d2e-0b1a2c3d4e5f", "message": message}).to_string(),
    )
}

/// Checks a v2 chat body: `None` when acceptable, else Cohere's 400.
pub fn check_body(body: &Value) -> Option<Reply> {
    let bad = |m: &str| Some(error(400, m));
    if body.get("model").and_then(Value::as_str).is_none() {
        return bad("invalid request: model must be specified");
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("invalid request: messages must be specified");
    };
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("system" | "user" | "assistant") => {}
            Some("tool") => {
                if m.get("tool_call_id").and_then(Value::as_str).is_none() {
                    return bad(&format!(
                        "invalid request: messages[{i}].tool_call_id is required"
                    ));
                }
            }
            _ => {
                return bad(&format!(
                "invalid request: messages[{i}].role must be one of system, user, assistant, tool"
            ))
            }
        }
        if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
            for c in calls {
                if c.pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .is_none()
                {
                    return bad("invalid request: tool_calls.function.arguments must be a string");
                }
            }
        }
    }
    None
}

/// What the fake answers: a call of the first offered tool (`tool_choice` `REQUIRED`, or unless
/// the last message is a tool result); else text echoing the last user text.
pub fn plan_answer(body: &Value) -> (String, Option<(String, Value)>) {
    let messages = body.get("messages").and_then(Value::as_array);
    let after_result = messages
        .and_then(|m| m.last())
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        == Some("tool");
    let choice = body.get("tool_choice").and_then(Value::as_str);
    let first = body.pointer("/tools/0/function");
    let pick = match choice {
        Some("NONE") => None,
        Some("REQUIRED") => first,
        _ if after_result => None,
        _ => first,
    };
    if let Some(f) = pick {
        let name = f.get("name").and_then(Value::as_str).unwrap_or("tool");
        let schema = f.get("parameters").cloned().unwrap_or(Value::Null);
        return (
            String::new(),
            Some((name.to_string(), sample_input(&schema))),
        );
    }
    if after_result {
        return ("Done: the tool answered.".to_string(), None);
    }
    let user_text = messages
        .and_then(|ms| {
            ms.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .map(|c| match c {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        })
        .unwrap_or_default();
    (format!("You said: {user_text}"), None)
}

/// A fake Cohere API (`POST /v2/chat`) with key `api_key`.
pub fn handler(api_key: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let bearer = format!("Bearer {api_key}");
    move |r| {
        if r.method != "POST" || r.path != "/v2/chat" {
            return error(404, &format!("no route for {}", r.path));
        }
        if r.header("authorization") != Some(bearer.as_str()) {
            return error(401, "invalid api token");
        }
        let body = r.json();
        if let Some(refusal) = check_body(&body) {
            return refusal;
        }
        let (text, tool) = plan_answer(&body);
        let args = tool.as_ref().map(|(_, a)| a.to_string());
        let frags: Vec<&str> = args.as_deref().map(|a| vec![a]).unwrap_or_default();
        let calls: Vec<Call<'_>> = tool
            .as_ref()
            .map(|(name, _)| vec![("get_weather_k5ws2vcjq0hz", name.as_str(), &frags[..])])
            .unwrap_or_default();
        let (finish, text) = if calls.is_empty() {
            ("COMPLETE", text)
        } else {
            ("TOOL_CALL", "I will call the tool.".to_string())
        };
        let pieces = pieces_of(&text);
        let u = usage(12, pieces.len().max(1) as u64);
        if body.get("stream").and_then(Value::as_bool) == Some(true) {
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            Reply::sse(stream_events(&refs, &calls, finish, u))
        } else {
            Reply::json(200, chat(&text, &calls, finish, u).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anthropic::tests::{body_text, rec};

    #[test]
    fn checks_and_answers() {
        let h = handler("k");
        let auth = [("authorization", "Bearer k")];
        let body = json!({"model": "command-a", "messages": [{"role": "user", "content": "hi"}]});
        let v: Value =
            serde_json::from_str(&body_text(&h(&rec("/v2/chat", &auth, body.clone())))).unwrap();
        assert_eq!(v["message"]["content"][0]["text"], "You said: hi");
        assert_eq!(v["finish_reason"], "COMPLETE");
        assert_eq!(h(&rec("/v2/chat", &[], body.clone())).status, 401);
        assert_eq!(h(&rec("/v1/chat", &auth, body)).status, 404);
        let tool_no_id = json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]});
        assert_eq!(h(&rec("/v2/chat", &auth, tool_no_id)).status, 400);
        let tools = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "w"}],
            "tools": [{"type": "function", "function": {"name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]});
        let text = body_text(&h(&rec("/v2/chat", &auth, tools)));
        assert!(text.contains("event: tool-call-start") && text.ends_with("data: [DONE]\n\n"));
        assert!(text.contains(r#""finish_reason":"TOOL_CALL""#));
    }
}

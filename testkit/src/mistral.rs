//! OpenAI-style chat wire bodies in the variants the providers speaking them differ by
//! ([`Flavor`]): Mistral's (9-character tool-call ids, no `type` on tool calls, usage on the
//! last stream chunk unasked, tool calls whole in one delta, `{"object":"error",...}` errors),
//! and the plain OpenAI and Azure OpenAI shapes (tool calls streamed in fragments, usage only
//! with `stream_options.include_usage`, Azure's `prompt_filter_results` annotation chunk).
//!
//! [`handler`] is a fake `POST /v1/chat/completions` for Mistral: bearer key, Mistral's own
//! field names (it refuses `max_completion_tokens`, `stream_options`, `seed` with a 422 like
//! the real API refuses unknown fields) and tool-call ids matching `^[a-zA-Z0-9]{9}$`.
//! [`openai_handler`] and [`azure_handler`] fake OpenAI and an Azure deployment.

use std::time::Duration;

use serde_json::{json, Value};

/// A tool call in a scripted answer (see [`crate::anthropic::Call`]).
pub use crate::anthropic::Call;
use crate::anthropic::{pieces_of, sample_input};
use crate::{Recorded, Reply};

/// Which provider's variant of the OpenAI wire to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    Azure,
    Mistral,
}

/// OpenAI `usage` (Mistral's has no details).
pub fn usage(flavor: Flavor, prompt: u64, completion: u64) -> Value {
    match flavor {
        Flavor::Mistral => json!({"prompt_tokens": prompt, "completion_tokens": completion,
                                  "total_tokens": prompt + completion}),
        _ => json!({"prompt_tokens": prompt, "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "prompt_tokens_details": {"cached_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0}}),
    }
}

fn id(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Mistral => "cmpl-e5cc70bb28c444948073e77776eb30ef",
        _ => "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    }
}

fn tool_call(flavor: Flavor, index: usize, call: &Call<'_>) -> Value {
    let (id, name, fragments) = call;
    match flavor {
        Flavor::Mistral => json!({"id": id, "index": index,
            "function": {"name": name, "arguments": fragments.concat()}}),
        _ => json!({"id": id, "type": "function",
            "function": {"name": name, "arguments": fragments.concat()}}),
    }
}

fn azure_filters() -> Value {
    json!({"hate": {"filtered": false, "severity": "safe"},
           "self_harm": {"filtered": false, "severity": "safe"},
           "sexual": {"filtered": false, "severity": "safe"},
           "violence": {"filtered": false, "severity": "safe"}})
}

/// A `chat.completion` with one choice.
pub fn completion(
    flavor: Flavor,
    model: &str,
    text: &str,
    calls: &[Call<'_>],
    finish_reason: &str,
    usage: Value,
) -> Value {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| tool_call(flavor, i, c))
        .collect();
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        json!(text)
    };
    let mut message = json!({"role": "assistant", "content": content});
    if !tool_calls.is_empty() {
        message["tool_calls"] = json!(tool_calls);
    }
    let mut choice = json!({"index": 0, "message": message, "finish_reason": finish_reason});
    match flavor {
        Flavor::Mistral => {
            choice["message"]["prefix"] = json!(false);
        }
        Flavor::OpenAi | Flavor::Azure => {
            choice["message"]["refusal"] = Value::Null;
            choice["logprobs"] = Value::Null;
        }
    }
    let mut out = json!({"id": id(flavor), "object": "chat.completion", "created": 1_741_569_952u64,
                         "model": model, "choices": [choice], "usage": usage});
    if flavor == Flavor::Azure {
        out["prompt_filter_results"] =
            json!([{"prompt_index": 0, "content_filter_results": azure_filters()}]);
        out["choices"][0]["content_filter_results"] = azure_filters();
    }
    out
}

/// A streamed completion. `include_usage` is the client's `stream_options.include_usage`
/// (ignored for Mistral, which always puts usage on its last chunk). OpenAI and Azure stream
/// each tool call as a first fragment with `id`/`type`/`name` and then one chunk per argument
/// fragment; Mistral sends each call whole in one delta. Azure starts with its
/// `prompt_filter_results` chunk (empty `choices`, `id`, `model`).
pub fn stream_events(
    flavor: Flavor,
    model: &str,
    pieces: &[&str],
    calls: &[Call<'_>],
    finish_reason: &str,
    usage: Value,
    include_usage: bool,
) -> Vec<(Duration, String)> {
    let usage_null = include_usage && flavor != Flavor::Mistral;
    let chunk = |delta: Value, finish: Value, usage: Option<&Value>| {
        let mut c = json!({"id": id(flavor), "object": "chat.completion.chunk",
            "created": 1_741_569_952u64, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if let Some(u) = usage {
            c["usage"] = u.clone();
        } else if usage_null {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    };
    let mut ev = Vec::new();
    if flavor == Flavor::Azure {
        ev.push(format!(
            "data: {}\n\n",
            json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                   "prompt_filter_results": [{"prompt_index": 0,
                                              "content_filter_results": azure_filters()}]})
        ));
    }
    let first = match flavor {
        Flavor::Mistral => json!({"role": "assistant", "content": ""}),
        _ => json!({"role": "assistant", "content": "", "refusal": null}),
    };
    ev.push(chunk(first, Value::Null, None));
    for p in pieces {
        ev.push(chunk(json!({"content": p}), Value::Null, None));
    }
    for (i, call) in calls.iter().enumerate() {
        if flavor == Flavor::Mistral {
            ev.push(chunk(
                json!({"tool_calls": [tool_call(flavor, i, call)]}),
                Value::Null,
                None,
            ));
            continue;
        }
        let (id, name, fragments) = call;
        ev.push(chunk(
            json!({"tool_calls": [{"index": i, "id": id, "type": "function",
            "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
            None,
        ));
        for f in *fragments {
            ev.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": f}}]}),
                Value::Null,
                None,
            ));
        }
    }
    match flavor {
        Flavor::Mistral => ev.push(chunk(json!({}), json!(finish_reason), Some(&usage))),
        _ => {
            ev.push(chunk(json!({}), json!(finish_reason), None));
            if include_usage {
                ev.push(format!(
                    "data: {}\n\n",
                    json!({"id": id(flavor), "object": "chat.completion.chunk",
                           "created": 1_741_569_952u64, "model": model, "choices": [],
                           "usage": usage})
                ));
            }
        }
    }
    ev.push("data: [DONE]\n\n".to_string());
    ev.into_iter().map(|e| (Duration::ZERO, e)).collect()
}

/// An error answer in the flavor's shape: OpenAI `{"error":{message,type,param,code}}`, Azure
/// `{"error":{code,message}}` (+`innererror` for content filtering), Mistral
/// `{"object":"error",message,type,param,code}`.
pub fn error(flavor: Flavor, status: u16, message: &str, typ: &str, code: &str) -> Reply {
    let body = match flavor {
        Flavor::OpenAi => {
            json!({"error": {"message": message, "type": typ, "param": null, "code": code}})
        }
        Flavor::Azure if code == "content_filter" => json!({"error": {
            "message": message, "type": null, "param": "prompt", "code": "content_filter",
            "status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"hate": {"filtered": true, "severity": "high"},
                    "self_harm": {"filtered": false, "severity": "safe"},
                    "sexual": {"filtered": false, "severity": "safe"},
                    "violence": {"filtered": false, "severity": "safe"}}}}}),
        Flavor::Azure => json!({"error": {"code": code, "message": message}}),
        Flavor::Mistral => json!({"object": "error", "message": message, "type": typ,
                                  "param": null, "code": code}),
    };
    let r = Reply::json(status, body.to_string());
    if status == 429 {
        r.with_header("retry-after", "1")
    } else {
        r
    }
}

/// Whether `id` is a tool-call id Mistral accepts.
pub fn is_mistral_id(id: &str) -> bool {
    id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks a body in the flavor's rules: `None` when acceptable.
pub fn check_body(flavor: Flavor, body: &Value) -> Option<Reply> {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Some(error(
            flavor,
            400,
            "Missing required parameter: 'messages'.",
            "invalid_request_error",
            "missing_required_parameter",
        ));
    };
    if flavor != Flavor::Mistral {
        return None;
    }
    for field in ["max_completion_tokens", "stream_options", "seed"] {
        if body.get(field).is_some() {
            return Some(error(
                flavor,
                422,
                &format!("body.{field}: Extra inputs are not permitted"),
                "invalid_request_error",
                "extra_forbidden",
            ));
        }
    }
    let ids = messages.iter().flat_map(|m| {
        let calls = m
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("id").and_then(Value::as_str));
        calls.chain(m.get("tool_call_id").and_then(Value::as_str))
    });
    for id in ids {
        if !is_mistral_id(id) {
            return Some(error(
                flavor,
                400,
                &format!("Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9."),
                "invalid_request_error",
                "3280",
            ));
        }
    }
    None
}

/// What a fake answers: a call of the named tool (`tool_choice` `{"type":"function",...}`), or
/// of the first tool unless the last message is a tool result or `tool_choice` is `none`; else
/// text echoing the last user text.
pub fn plan_answer(body: &Value) -> (String, Option<(String, Value)>) {
    let messages = body.get("messages").and_then(Value::as_array);
    let after_result = messages
        .and_then(|m| m.last())
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        == Some("tool");
    let tools: Vec<&Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("function"))
        .collect();
    let named = body
        .pointer("/tool_choice/function/name")
        .and_then(Value::as_str);
    let pick = match (named, body.get("tool_choice").and_then(Value::as_str)) {
        (Some(n), _) => tools
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(n)),
        (None, Some("none")) => None,
        (None, Some("required" | "any")) => tools.first(),
        _ if after_result => None,
        _ => tools.first(),
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

/// The reply to an accepted body (see [`plan_answer`]).
pub fn answer(flavor: Flavor, body: &Value) -> Reply {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("model")
        .to_string();
    let (text, tool) = plan_answer(body);
    let args = tool.as_ref().map(|(_, a)| a.to_string());
    let frags: Vec<&str> = args.as_deref().map(|a| vec![a]).unwrap_or_default();
    let call_id = match flavor {
        Flavor::Mistral => "D681PevKs",
        _ => "call_62136354",
    };
    let calls: Vec<Call<'_>> = tool
        .as_ref()
        .map(|(name, _)| vec![(call_id, name.as_str(), &frags[..])])
        .unwrap_or_default();
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let pieces = pieces_of(&text);
    let u = usage(flavor, 12, pieces.len().max(1) as u64);
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let include = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Reply::sse(stream_events(
            flavor, &model, &refs, &calls, finish, u, include,
        ))
    } else {
        Reply::json(
            200,
            completion(flavor, &model, &text, &calls, finish, u).to_string(),
        )
    }
}

fn bearer_check(flavor: Flavor, r: &Recorded, path: &str, bearer: &str) -> Option<Reply> {
    if r.method != "POST" || r.path != path {
        return Some(error(
            flavor,
            404,
            &format!("Invalid URL (POST {})", r.path),
            "invalid_request_error",
            "unknown_url",
        ));
    }
    if r.header("authorization") != Some(bearer) {
        return Some(error(
            flavor,
            401,
            "Incorrect API key provided.",
            "invalid_request_error",
            "invalid_api_key",
        ));
    }
    None
}

/// A fake Mistral API (`POST /v1/chat/completions`, bearer `api_key`).
pub fn handler(api_key: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let bearer = format!("Bearer {api_key}");
    move |r| {
        let flavor = Flavor::Mistral;
        if let Some(refusal) = bearer_check(flavor, r, "/v1/chat/completions", &bearer) {
            return refusal;
        }
        let body = r.json();
        check_body(flavor, &body).unwrap_or_else(|| answer(flavor, &body))
    }
}

/// A fake OpenAI API (`POST /v1/chat/completions`, bearer `api_key`) that calls tools.
pub fn openai_handler(api_key: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let bearer = format!("Bearer {api_key}");
    move |r| {
        let flavor = Flavor::OpenAi;
        if let Some(refusal) = bearer_check(flavor, r, "/v1/chat/completions", &bearer) {
            return refusal;
        }
        let body = r.json();
        check_body(flavor, &body).unwrap_or_else(|| answer(flavor, &body))
    }
}

/// A fake Azure OpenAI deployment: `POST /openai/deployments/{deployment}/chat/completions
/// ?api-version=...` with `api-key: <api_key>`.
pub fn azure_handler(
    api_key: &str,
    deployment: &str,
) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let key = api_key.to_string();
    let prefix = format!("/openai/deployments/{deployment}/chat/completions?api-version=");
    move |r| {
        let flavor = Flavor::Azure;
        if r.method != "POST" || !r.path.starts_with(&prefix) {
            return error(
                flavor,
                404,
                "The API deployment for this resource does not exist.",
                "",
                "DeploymentNotFound",
            );
        }
        if r.header("api-key") != Some(key.as_str()) {
            return error(
                flavor,
                401,
                "Access denied due to invalid subscription key or wrong API endpoint.",
                "",
                "401",
            );
        }
        let body = r.json();
        check_body(flavor, &body).unwrap_or_else(|| answer(flavor, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anthropic::tests::{body_text, rec};

    #[test]
    fn mistral_refuses_foreign_fields_and_ids() {
        let h = handler("k");
        let auth = [("authorization", "Bearer k")];
        let p = "/v1/chat/completions";
        let ok = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(h(&rec(p, &auth, ok)).status, 200);
        let extra = json!({"model": "m", "max_completion_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(h(&rec(p, &auth, extra)).status, 422);
        let foreign = json!({"model": "m", "messages": [
            {"role": "assistant", "tool_calls": [{"id": "call_abc", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "r"}]});
        let r = h(&rec(p, &auth, foreign));
        assert_eq!(r.status, 400);
        assert!(body_text(&r).contains(r#""object":"error""#));
        assert!(is_mistral_id("D681PevKs") && !is_mistral_id("call_abc123"));
    }

    #[test]
    fn stream_shapes_per_flavor() {
        let calls: [Call<'_>; 1] = [("call_1", "f", &[r#"{"a":"#, "1}"])];
        let openai = stream_events(
            Flavor::OpenAi,
            "m",
            &[],
            &calls,
            "tool_calls",
            usage(Flavor::OpenAi, 1, 2),
            true,
        );
        // role, call start, two fragments, finish, usage, [DONE]
        assert_eq!(openai.len(), 7);
        assert!(openai[4].1.contains(r#""usage":null"#));
        assert!(openai[5].1.contains(r#""choices":[]"#));
        let mistral = stream_events(
            Flavor::Mistral,
            "m",
            &[],
            &calls,
            "tool_calls",
            usage(Flavor::Mistral, 1, 2),
            false,
        );
        // role, the whole call, finish with usage, [DONE]
        assert_eq!(mistral.len(), 4);
        assert!(mistral[1].1.contains(r#""arguments":"{\"a\":1}""#));
        assert!(mistral[2].1.contains(r#""total_tokens":3"#));
        let azure = stream_events(
            Flavor::Azure,
            "m",
            &["x"],
            &[],
            "stop",
            usage(Flavor::Azure, 1, 2),
            false,
        );
        assert!(
            azure[0].1.contains("prompt_filter_results") && azure[0].1.contains(r#""choices":[]"#)
        );
    }

    #[test]
    fn azure_path_and_key() {
        let h = azure_handler("k", "dep");
        let body = json!({"messages": [{"role": "user", "content": "hi"}]});
        let p = "/openai/deployments/dep/chat/completions?api-version=2024-10-21";
        assert_eq!(h(&rec(p, &[("api-key", "k")], body.clone())).status, 200);
        assert_eq!(
            h(&rec(p, &[("authorization", "Bearer k")], body.clone())).status,
            401
        );
        assert_eq!(
            h(&rec(
                "/openai/deployments/other/chat/completions?api-version=1",
                &[("api-key", "k")],
                body
            ))
            .status,
            404
        );
    }
}

//! Google Gemini API wire bodies as Google's API reference shows them
//! (`GenerateContentResponse`, `usageMetadata`, prompt blocks, the `{"error":{code,message,
//! status,details}}` errors) and [`handler`], a fake `generateContent` /
//! `streamGenerateContent?alt=sse` endpoint that checks the path, the `x-goog-api-key` and the
//! body, and answers JSON or SSE (CRLF-delimited, as Google sends it; no `[DONE]`).
//!
//! The bodies are shared with the Vertex AI fake ([`crate::vertex`]).

use std::time::Duration;

use serde_json::{json, Value};

/// A tool call in a scripted answer (see [`crate::anthropic::Call`]).
pub use crate::anthropic::Call;
use crate::anthropic::{call_input, pieces_of, sample_input};
use crate::{Recorded, Reply};

/// `usageMetadata`.
pub fn usage(prompt: u64, candidates: u64) -> Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
           "totalTokenCount": prompt + candidates})
}

/// `usageMetadata` with cached prompt tokens (a subset of `promptTokenCount`).
pub fn usage_cached(prompt: u64, candidates: u64, cached: u64) -> Value {
    let mut u = usage(prompt, candidates);
    u["cachedContentTokenCount"] = json!(cached);
    u
}

fn parts(text: &str, calls: &[Call<'_>]) -> Vec<Value> {
    let mut out = Vec::new();
    if !text.is_empty() {
        out.push(json!({"text": text}));
    }
    for (_, name, fragments) in calls {
        out.push(json!({"functionCall": {"name": name, "args": call_input(fragments)}}));
    }
    out
}

/// A `GenerateContentResponse` with one candidate. Function calls carry no id, as Gemini sends
/// them (the call's id in [`Call`] is ignored).
pub fn response(
    model_version: &str,
    text: &str,
    calls: &[Call<'_>],
    finish_reason: &str,
    usage: Value,
) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts(text, calls)},
                           "finishReason": finish_reason, "index": 0}],
           "usageMetadata": usage, "modelVersion": model_version,
           "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"})
}

/// A prompt blocked by safety: HTTP 200, no candidates, `promptFeedback.blockReason`.
pub fn blocked(model_version: &str, reason: &str) -> Value {
    json!({"promptFeedback": {"blockReason": reason, "safetyRatings": [
              {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]},
           "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
           "modelVersion": model_version, "responseId": "mAitaLmkHPPlz7IPvtfUqQ5"})
}

/// One SSE event as Google frames it.
pub fn sse_event(data: &Value) -> String {
    format!("data: {data}\r\n\r\n")
}

/// A streamed answer: one event per text piece carrying running usage totals, then the function
/// calls (whole, as Gemini streams them) with the `finishReason` and the final usage on the
/// last event.
pub fn stream_events(
    model_version: &str,
    pieces: &[&str],
    calls: &[Call<'_>],
    finish_reason: &str,
    usage: Value,
) -> Vec<(Duration, String)> {
    let prompt = usage
        .get("promptTokenCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let chunk = |parts: Vec<Value>, finish: Option<&str>, u: Value| {
        let mut cand = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        if let Some(f) = finish {
            cand["finishReason"] = json!(f);
        }
        sse_event(&json!({"candidates": [cand], "usageMetadata": u,
                           "modelVersion": model_version, "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"}))
    };
    let mut out = Vec::new();
    let last_text = if calls.is_empty() {
        pieces.len().checked_sub(1)
    } else {
        None
    };
    for (i, p) in pieces.iter().enumerate() {
        if Some(i) == last_text {
            out.push((
                Duration::ZERO,
                chunk(vec![json!({"text": p})], Some(finish_reason), usage.clone()),
            ));
        } else {
            let running = json!({"promptTokenCount": prompt, "candidatesTokenCount": i + 1,
                                 "totalTokenCount": prompt + i as u64 + 1});
            out.push((
                Duration::ZERO,
                chunk(vec![json!({"text": p})], None, running),
            ));
        }
    }
    if last_text.is_none() {
        out.push((
            Duration::ZERO,
            chunk(parts("", calls), Some(finish_reason), usage),
        ));
    }
    out
}

/// An error body: `{"error":{"code","message","status","details"}}`.
pub fn error_body(code: u16, status: &str, message: &str, details: Value) -> String {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
        .to_string()
}

/// An error answer without details.
pub fn error(code: u16, status: &str, message: &str) -> Reply {
    Reply::json(code, error_body(code, status, message, json!([])))
}

/// A 429 `RESOURCE_EXHAUSTED` with the `QuotaFailure` and `RetryInfo` details Google sends.
pub fn rate_limited(message: &str, retry_delay: &str) -> Reply {
    Reply::json(
        429,
        error_body(
            429,
            "RESOURCE_EXHAUSTED",
            message,
            json!([
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
            ]),
        ),
    )
}

/// The 400 Google answers for a key it does not know (`ErrorInfo.reason: API_KEY_INVALID`).
pub fn invalid_key() -> Reply {
    Reply::json(
        400,
        error_body(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"}}]),
        ),
    )
}

/// `(model, streaming)` from a `.../models/{model}:generateContent` or
/// `...:streamGenerateContent?alt=sse` path under `prefix` (`/v1beta/models/`).
pub fn route<'a>(path: &'a str, prefix: &str) -> Option<(&'a str, bool)> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let rest = path.strip_prefix(prefix)?;
    if let Some(model) = rest.strip_suffix(":generateContent") {
        return Some((model, false));
    }
    let model = rest.strip_suffix(":streamGenerateContent")?;
    query
        .split('&')
        .any(|kv| kv == "alt=sse")
        .then_some((model, true))
}

/// The key a request presents: `x-goog-api-key`, else the `key` query parameter.
fn presented_key(r: &Recorded) -> Option<String> {
    if let Some(k) = r.header("x-goog-api-key") {
        return Some(k.to_string());
    }
    let (_, query) = r.path.split_once('?')?;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("key=").map(str::to_string))
}

/// Checks a `GenerateContentRequest` body: `None` when acceptable, else Google's 400.
pub fn check_body(body: &Value) -> Option<Reply> {
    let bad = |m: &str| Some(error(400, "INVALID_ARGUMENT", m));
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return bad("* GenerateContentRequest.contents: contents is not specified");
    };
    if contents.is_empty() {
        return bad("* GenerateContentRequest.contents: contents is not specified");
    }
    for (i, c) in contents.iter().enumerate() {
        match c.get("role").and_then(Value::as_str) {
            Some("user" | "model") | None => {}
            Some(other) => {
                return bad(&format!(
                    "Please use a valid role: user, model. (contents[{i}].role = {other})"
                ))
            }
        }
        let parts = c.get("parts").and_then(Value::as_array);
        if parts.is_none_or(|p| p.is_empty()) {
            return bad(&format!(
                "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            ));
        }
        for p in parts.into_iter().flatten() {
            if let Some(fr) = p.get("functionResponse") {
                if !fr.get("response").is_some_and(Value::is_object) {
                    return bad("functionResponse.response must be a JSON object");
                }
            }
        }
    }
    None
}

/// What the fake answers: a call of the only allowed function (`mode: ANY`) or of the first
/// declared one when the last turn holds no `functionResponse`; else text echoing the last
/// user text. Returns `(text, call)`.
pub fn plan_answer(body: &Value) -> (String, Option<(String, Value)>) {
    let contents = body.get("contents").and_then(Value::as_array);
    let last_parts = contents
        .and_then(|c| c.last())
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array);
    let after_result =
        last_parts.is_some_and(|ps| ps.iter().any(|p| p.get("functionResponse").is_some()));
    let decls: Vec<&Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
        .flatten()
        .collect();
    let mode = body
        .pointer("/toolConfig/functionCallingConfig/mode")
        .and_then(Value::as_str);
    let allowed = body
        .pointer("/toolConfig/functionCallingConfig/allowedFunctionNames/0")
        .and_then(Value::as_str);
    let pick = match (mode, allowed) {
        (Some("NONE"), _) => None,
        (Some("ANY"), Some(name)) => decls
            .iter()
            .find(|d| d.get("name").and_then(Value::as_str) == Some(name)),
        _ if after_result => None,
        _ => decls.first(),
    };
    if let Some(d) = pick {
        let name = d.get("name").and_then(Value::as_str).unwrap_or("tool");
        let params = d
            .get("parameters")
            .or_else(|| d.get("parametersJsonSchema"))
            .cloned()
            .unwrap_or(Value::Null);
        return (
            String::new(),
            Some((name.to_string(), sample_input(&params))),
        );
    }
    if after_result {
        return ("Done: the tool answered.".to_string(), None);
    }
    let user_text = contents
        .and_then(|cs| {
            cs.iter()
                .rev()
                .find(|c| c.get("role").and_then(Value::as_str) != Some("model"))
        })
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    (format!("You said: {user_text}"), None)
}

/// The reply to an accepted body (see [`plan_answer`]).
pub fn answer(body: &Value, model: &str, stream: bool) -> Reply {
    let (text, call) = plan_answer(body);
    let args = call.as_ref().map(|(_, a)| a.to_string());
    let frags: Vec<&str> = args.as_deref().map(|a| vec![a]).unwrap_or_default();
    let calls: Vec<Call<'_>> = call
        .as_ref()
        .map(|(name, _)| vec![("", name.as_str(), &frags[..])])
        .unwrap_or_default();
    let pieces = pieces_of(&text);
    let u = usage(12, pieces.len().max(1) as u64);
    if stream {
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Reply::sse(stream_events(model, &refs, &calls, "STOP", u))
    } else {
        Reply::json(200, response(model, &text, &calls, "STOP", u).to_string())
    }
}

/// A fake Gemini API (`/v1beta/models/{model}:generateContent` and
/// `:streamGenerateContent?alt=sse`) with key `api_key`.
pub fn handler(api_key: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let key = api_key.to_string();
    move |r| {
        let Some((model, stream)) = route(&r.path, "/v1beta/models/") else {
            return error(
                404,
                "NOT_FOUND",
                &format!("The requested URL {} was not found on this server.", r.path),
            );
        };
        match presented_key(r) {
            None => {
                return error(
                    403,
                    "PERMISSION_DENIED",
                    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                )
            }
            Some(k) if k != key => return invalid_key(),
            Some(_) => {}
        }
        let body = r.json();
        if let Some(refusal) = check_body(&body) {
            return refusal;
        }
        answer(&body, model, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anthropic::tests::{body_text, rec};

    #[test]
    fn routes_and_keys() {
        assert_eq!(
            route(
                "/v1beta/models/gemini-2.5-flash:generateContent",
                "/v1beta/models/"
            ),
            Some(("gemini-2.5-flash", false))
        );
        assert_eq!(
            route(
                "/v1beta/models/g:streamGenerateContent?alt=sse",
                "/v1beta/models/"
            ),
            Some(("g", true))
        );
        assert_eq!(
            route("/v1beta/models/g:streamGenerateContent", "/v1beta/models/"),
            None
        );
        let h = handler("k");
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        let p = "/v1beta/models/g:generateContent";
        assert_eq!(
            h(&rec(p, &[("x-goog-api-key", "k")], body.clone())).status,
            200
        );
        assert_eq!(
            h(&rec(&format!("{p}?key=k"), &[], body.clone())).status,
            200
        );
        let bad = h(&rec(p, &[("x-goog-api-key", "x")], body.clone()));
        assert_eq!(bad.status, 400);
        assert!(body_text(&bad).contains("API_KEY_INVALID"));
        assert_eq!(h(&rec(p, &[], body)).status, 403);
        let system_role = json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]});
        assert_eq!(
            h(&rec(p, &[("x-goog-api-key", "k")], system_role)).status,
            400
        );
        let string_response = json!({"contents": [{"role": "user", "parts": [
            {"functionResponse": {"name": "f", "response": "18 C"}}]}]});
        assert_eq!(
            h(&rec(p, &[("x-goog-api-key", "k")], string_response)).status,
            400
        );
    }

    #[test]
    fn streams_crlf_events_with_calls_last() {
        let h = handler("k");
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "weather"}]}],
            "tools": [{"functionDeclarations": [{"name": "get_weather",
                "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}]});
        let r = h(&rec(
            "/v1beta/models/g:streamGenerateContent?alt=sse",
            &[("x-goog-api-key", "k")],
            body,
        ));
        let text = body_text(&r);
        assert!(text.ends_with("\r\n\r\n") && !text.contains("[DONE]"));
        let last: Value =
            serde_json::from_str(text.trim_end().rsplit("data: ").next().unwrap()).unwrap();
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"name": "get_weather", "args": {"city": "Paris"}})
        );
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        let ev = stream_events("m", &["a", "b"], &[], "STOP", usage(5, 2));
        let first: Value =
            serde_json::from_str(ev[0].1.trim().strip_prefix("data: ").unwrap()).unwrap();
        assert!(first["candidates"][0].get("finishReason").is_none());
        assert_eq!(first["usageMetadata"]["candidatesTokenCount"], 1);
    }
}

//! OpenAI Chat Completions response -> canonical response (also used for OpenAI-compatible
//! servers, whose small differences are tolerated: `reasoning_content`, content part lists,
//! arguments sent as objects, float `created`).

use serde::Deserialize;
use serde_json::Value;
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    ToolCall, Usage,
};

use super::error::error_from_value;

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    created: Option<Value>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    logprobs: Option<Value>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    refusal: Option<String>,
}

/// A tool call, whole or as a stream fragment.
#[derive(Deserialize)]
pub(crate) struct WireToolCall {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<WireFunction>,
}

#[derive(Deserialize)]
pub(crate) struct WireFunction {
    #[serde(default)]
    pub name: Option<String>,
    /// A JSON string per the spec; some compatible servers send an object.
    #[serde(default)]
    pub arguments: Option<Value>,
}

impl WireFunction {
    pub fn arguments_text(&self) -> String {
        match &self.arguments {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl WireUsage {
    pub fn to_canonical(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.unwrap_or(0),
            completion_tokens: self.completion_tokens.unwrap_or(0),
            cached_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

/// `finish_reason` -> canonical. `Err` for `error` (Mistral), which must surface as an error.
/// Unknown reasons count as `stop`.
pub(crate) fn finish_reason(reason: &str) -> Result<FinishReason, GatewayError> {
    Ok(match reason {
        "length" | "model_length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        "error" => {
            return Err(GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                "the provider ended the answer with finish_reason `error`",
            ))
        }
        _ => FinishReason::Stop,
    })
}

pub(crate) fn malformed(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::upstream(
        ErrorClass::ServerError,
        502,
        format!("the provider returned a malformed response: {e}"),
    )
}

/// Text of `content`: a string, or the text parts of a part list.
fn content_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    }
}

/// Decodes a successful (2xx) Chat Completions body.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(malformed)?;
    if let Some(err) = &wire.error {
        if !err.is_null() {
            return Err(error_from_value(None, err));
        }
    }
    let mut raw_reason = None;
    let mut choices = Vec::with_capacity(wire.choices.len());
    for c in wire.choices {
        let mut parts = Vec::new();
        let mut refusal = None;
        if let Some(m) = c.message {
            if let Some(r) = m.reasoning_content.filter(|r| !r.is_empty()) {
                parts.push(ContentPart::Reasoning {
                    text: r,
                    signature: None,
                });
            }
            if let Some(text) = m.content.as_ref().and_then(content_text) {
                if !text.is_empty() {
                    parts.push(ContentPart::text(text));
                }
            }
            for call in m.tool_calls.unwrap_or_default() {
                let (name, arguments) = match &call.function {
                    Some(f) => (f.name.clone().unwrap_or_default(), f.arguments_text()),
                    None => (String::new(), String::new()),
                };
                parts.push(ContentPart::ToolCall(ToolCall {
                    id: call.id.unwrap_or_default(),
                    name,
                    arguments,
                    signature: None,
                }));
            }
            refusal = m.refusal.filter(|r| !r.is_empty());
        }
        let finish = match c.finish_reason.as_deref() {
            Some(r) => Some(finish_reason(r)?),
            None => None,
        };
        if raw_reason.is_none() {
            raw_reason = c.finish_reason;
        }
        choices.push(Choice {
            index: c.index,
            message: Message {
                role: Role::Assistant,
                content: parts,
                name: None,
            },
            finish_reason: finish,
            refusal,
            logprobs: c.logprobs.filter(|l| !l.is_null()),
        });
    }
    Ok(ChatResponse {
        id: wire.id,
        model: wire.model,
        created: wire.created.as_ref().map(unix_seconds).unwrap_or(0),
        choices,
        usage: wire.usage.as_ref().map(WireUsage::to_canonical),
        provider_stop_reason: raw_reason,
    })
}

pub(crate) fn unix_seconds(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_compatible_variants() {
        let body = br#"{"id":"x","model":"m","created":1700000000.5,"choices":[{"index":0,
            "message":{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],
            "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"k":1}}}]},
            "finish_reason":"model_length"}]}"#;
        let r = decode_response(body).unwrap();
        assert_eq!(r.created, 1_700_000_000);
        assert_eq!(r.choices[0].message.joined_text(), "ab");
        assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
        match &r.choices[0].message.content[1] {
            ContentPart::ToolCall(c) => assert_eq!(c.arguments, r#"{"k":1}"#),
            other => panic!("{other:?}"),
        }
        assert!(r.usage.is_none());
    }

    #[test]
    fn error_finish_reason_is_an_error() {
        let body = br#"{"id":"x","model":"m","choices":[{"index":0,"message":{"content":"a"},"finish_reason":"error"}]}"#;
        assert_eq!(
            decode_response(body).unwrap_err().class,
            ErrorClass::ServerError
        );
        assert_eq!(
            decode_response(b"{").unwrap_err().class,
            ErrorClass::ServerError
        );
    }
}

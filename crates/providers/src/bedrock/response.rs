//! Converse response -> canonical response; stop-reason and usage mapping shared with the
//! stream decoder.
//!
//! Usage: Bedrock reports `inputTokens` *excluding* prompt-cache reads and writes (as Anthropic
//! does; AWS's prompt-caching guide reports them in separate fields), so `prompt_tokens` =
//! `inputTokens` + `cacheReadInputTokens` + `cacheWriteInputTokens`, with the reads as
//! `cached_tokens` and the writes as `cache_write_tokens`.

use serde::Deserialize;
use serde_json::Value;
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    ToolCall, Usage,
};

use super::{now_secs, response_id, JSON_TOOL_NAME};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_write_input_tokens: u64,
}

impl TokenUsage {
    pub(crate) fn to_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens
                + self.cache_read_input_tokens
                + self.cache_write_input_tokens,
            completion_tokens: self.output_tokens,
            cached_tokens: self.cache_read_input_tokens,
            cache_write_tokens: self.cache_write_input_tokens,
            reasoning_tokens: 0,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ConverseResponse {
    output: Option<Output>,
    stop_reason: Option<String>,
    usage: Option<TokenUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Output {
    message: Option<WireMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireMessage {
    content: Vec<Value>,
}

/// Maps a Converse `stopReason`. `tool_calls` is whether the answer holds a real tool call
/// (the JSON-output tool does not count). Malformed output is an upstream error.
pub(crate) fn finish_reason(stop: &str, tool_calls: bool) -> Result<FinishReason, GatewayError> {
    Ok(match stop {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "tool_use" if tool_calls => FinishReason::ToolCalls,
        "tool_use" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        "malformed_model_output" | "malformed_tool_use" => {
            return Err(GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                format!("bedrock: the model produced unusable output ({stop})"),
            )
            .with_code(stop.to_string()));
        }
        _ if tool_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    })
}

/// JSON text of a tool input document.
pub(crate) fn input_text(input: &Value) -> String {
    match input {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One Converse content block as a canonical part (unknown blocks are skipped).
fn block_part(block: &Value) -> Option<ContentPart> {
    if let Some(text) = block.get("text").and_then(Value::as_str) {
        return Some(ContentPart::text(text));
    }
    if let Some(tu) = block.get("toolUse") {
        let name = tu.get("name").and_then(Value::as_str).unwrap_or_default();
        let input = input_text(tu.get("input").unwrap_or(&Value::Null));
        if name == JSON_TOOL_NAME {
            return Some(ContentPart::text(input));
        }
        return Some(ContentPart::ToolCall(ToolCall {
            id: tu
                .get("toolUseId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: name.to_string(),
            arguments: input,
            signature: None,
        }));
    }
    if let Some(rc) = block.get("reasoningContent") {
        if let Some(rt) = rc.get("reasoningText") {
            return Some(ContentPart::Reasoning {
                text: rt
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                signature: rt
                    .get("signature")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        if let Some(data) = rc.get("redactedContent").and_then(Value::as_str) {
            return Some(ContentPart::RedactedReasoning {
                data: data.to_string(),
            });
        }
    }
    None
}

pub(crate) fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let resp: ConverseResponse = serde_json::from_slice(body).map_err(|e| {
        GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            format!("bedrock: unreadable Converse response: {e}"),
        )
    })?;
    let blocks = resp
        .output
        .and_then(|o| o.message)
        .map(|m| m.content)
        .unwrap_or_default();
    let content: Vec<ContentPart> = blocks.iter().filter_map(block_part).collect();
    let tool_calls = content
        .iter()
        .any(|p| matches!(p, ContentPart::ToolCall(_)));
    let stop = resp.stop_reason.unwrap_or_default();
    let finish = finish_reason(&stop, tool_calls)?;
    Ok(ChatResponse {
        id: response_id(),
        model: String::new(),
        created: now_secs(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content,
                name: None,
            },
            finish_reason: Some(finish),
            refusal: None,
            logprobs: None,
        }],
        usage: resp.usage.map(|u| u.to_usage()),
        provider_stop_reason: (!stop.is_empty()).then_some(stop),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons() {
        assert_eq!(
            finish_reason("end_turn", false).unwrap(),
            FinishReason::Stop
        );
        assert_eq!(
            finish_reason("stop_sequence", false).unwrap(),
            FinishReason::Stop
        );
        assert_eq!(
            finish_reason("tool_use", true).unwrap(),
            FinishReason::ToolCalls
        );
        assert_eq!(
            finish_reason("tool_use", false).unwrap(),
            FinishReason::Stop
        );
        assert_eq!(
            finish_reason("max_tokens", false).unwrap(),
            FinishReason::Length
        );
        assert_eq!(
            finish_reason("model_context_window_exceeded", false).unwrap(),
            FinishReason::Length
        );
        assert_eq!(
            finish_reason("guardrail_intervened", false).unwrap(),
            FinishReason::ContentFilter
        );
        assert_eq!(
            finish_reason("content_filtered", false).unwrap(),
            FinishReason::ContentFilter
        );
        let e = finish_reason("malformed_tool_use", true).unwrap_err();
        assert_eq!(e.class, ErrorClass::ServerError);
        assert!(finish_reason("malformed_model_output", false).is_err());
    }

    #[test]
    fn usage_adds_cache_counts() {
        let u = TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            cache_read_input_tokens: 100,
            cache_write_input_tokens: 7,
        }
        .to_usage();
        assert_eq!(u.prompt_tokens, 117);
        assert_eq!(u.cached_tokens, 100);
        assert_eq!(u.cache_write_tokens, 7);
        assert_eq!(u.total(), 122);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_response(b"not json").is_err());
        let r = decode_response(b"{}").unwrap();
        assert!(r.choices[0].message.content.is_empty());
        assert_eq!(r.usage, None);
    }
}

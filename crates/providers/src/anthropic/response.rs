//! Anthropic Messages response -> canonical response: content blocks, stop reason, usage.

use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    ToolCall, Usage,
};

use super::error::{error_from_type, WireErrorBody};
use super::JSON_TOOL_NAME;

#[derive(Deserialize)]
struct WireMessage {
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireErrorBody>,
}

/// A content block, flat (not an internally tagged enum, so `input` can stay raw text and keep
/// the model's key order).
#[derive(Deserialize)]
pub(crate) struct WireBlock {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub input: Option<Box<RawValue>>,
}

/// Anthropic usage. `input_tokens` excludes cache reads and writes.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Overlays the fields `newer` carries (stream usage is cumulative).
    pub fn merge(&mut self, newer: &WireUsage) {
        let pick = |old: &mut Option<u64>, new: Option<u64>| {
            if new.is_some() {
                *old = new;
            }
        };
        pick(&mut self.input_tokens, newer.input_tokens);
        pick(&mut self.output_tokens, newer.output_tokens);
        pick(
            &mut self.cache_creation_input_tokens,
            newer.cache_creation_input_tokens,
        );
        pick(
            &mut self.cache_read_input_tokens,
            newer.cache_read_input_tokens,
        );
    }

    /// In OpenAI accounting: prompt = input + cache writes + cache reads.
    pub fn to_canonical(self) -> Usage {
        let input = self.input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        let read = self.cache_read_input_tokens.unwrap_or(0);
        Usage {
            prompt_tokens: input.saturating_add(write).saturating_add(read),
            completion_tokens: self.output_tokens.unwrap_or(0),
            cached_tokens: read,
            cache_write_tokens: write,
            reasoning_tokens: 0,
        }
    }
}

/// Anthropic `stop_reason` -> canonical finish reason. Unknown reasons count as `stop` (the raw
/// value is kept in `provider_stop_reason`).
pub(crate) fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// Removes insignificant whitespace from JSON text, keeping key order (unlike a round trip
/// through `serde_json::Value`, whose maps are sorted).
pub(crate) fn compact_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn malformed(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::upstream(
        ErrorClass::ServerError,
        502,
        format!("anthropic returned a malformed response: {e}"),
    )
}

/// Decodes a successful (2xx) Messages response body.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let msg: WireMessage = serde_json::from_slice(body).map_err(malformed)?;
    if msg.ty.as_deref() == Some("error") {
        let e = msg.error.unwrap_or_default();
        return Err(error_from_type(500, &e.ty, &e.message));
    }
    let mut parts = Vec::with_capacity(msg.content.len());
    let mut tool_calls = 0usize;
    let mut json_answer = false;
    for block in msg.content {
        match block.ty.as_str() {
            "text" => parts.push(ContentPart::text(block.text.unwrap_or_default())),
            "thinking" => parts.push(ContentPart::Reasoning {
                text: block.thinking.unwrap_or_default(),
                signature: block.signature.filter(|s| !s.is_empty()),
            }),
            "redacted_thinking" => parts.push(ContentPart::RedactedReasoning {
                data: block.data.unwrap_or_default(),
            }),
            "tool_use" => {
                let args = block
                    .input
                    .map(|raw| compact_json(raw.get()))
                    .unwrap_or_else(|| "{}".to_string());
                let name = block.name.unwrap_or_default();
                if name == JSON_TOOL_NAME {
                    json_answer = true;
                    parts.push(ContentPart::text(args));
                } else {
                    tool_calls += 1;
                    parts.push(ContentPart::ToolCall(ToolCall {
                        id: block.id.unwrap_or_default(),
                        name,
                        arguments: args,
                        signature: None,
                    }));
                }
            }
            // Server tools, citations-only and future block types carry nothing canonical.
            _ => {}
        }
    }
    let mut finish = msg.stop_reason.as_deref().map(finish_reason);
    if finish == Some(FinishReason::ToolCalls) && tool_calls == 0 && json_answer {
        finish = Some(FinishReason::Stop);
    }
    Ok(ChatResponse {
        id: msg.id,
        model: msg.model,
        created: now_unix(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content: parts,
                name: None,
            },
            finish_reason: finish,
            refusal: None,
            logprobs: None,
        }],
        usage: msg.usage.map(WireUsage::to_canonical),
        provider_stop_reason: msg.stop_reason,
    })
}

/// Anthropic responses carry no timestamp: the time of decoding stands in.
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_keeping_order_and_strings() {
        assert_eq!(
            compact_json("{ \"b\" : 1,\n \"a\": \"x y\\\" z\" }"),
            "{\"b\":1,\"a\":\"x y\\\" z\"}"
        );
        assert_eq!(compact_json("{}"), "{}");
    }

    #[test]
    fn usage_accounting() {
        let u = WireUsage {
            input_tokens: Some(10),
            output_tokens: Some(5),
            cache_creation_input_tokens: Some(100),
            cache_read_input_tokens: Some(1000),
        };
        assert_eq!(
            u.to_canonical(),
            Usage {
                prompt_tokens: 1110,
                completion_tokens: 5,
                cached_tokens: 1000,
                cache_write_tokens: 100,
                reasoning_tokens: 0
            }
        );
    }

    #[test]
    fn garbage_is_an_upstream_error() {
        let e = decode_response(b"not json").unwrap_err();
        assert_eq!(e.class, ErrorClass::ServerError);
        assert_eq!(e.who, switchyard_types::Who::Upstream);
    }
}

//! Canonical [`ChatResponse`] -> Anthropic `message` JSON; count_tokens and error bodies; the
//! stop-reason and usage mappings shared with the stream encoder.
//!
//! - Only the first choice is rendered (Anthropic has no `n`).
//! - `tool_use.input` is the arguments' JSON text parsed; empty text is `{}`, and text that is not
//!   a JSON object (the model produced broken JSON) is passed through as a JSON string rather
//!   than replaced, so nothing the model said is lost (Anthropic SDKs type `input` as any JSON).
//! - A refusal (`Choice::refusal`) with no text becomes the message's text block.
//! - Thinking blocks without a signature carry `"signature":""` (the field is required).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use switchyard_types::{ChatResponse, ContentPart, FinishReason, GatewayError, Usage};

use crate::json;

#[derive(Serialize)]
struct MessageOut<'a> {
    id: Cow<'a, str>,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<BlockOut<'a>>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<&'a str>,
    usage: UsageOut,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
}

/// Anthropic `usage`: `input_tokens` excludes cache reads and writes.
#[derive(Serialize)]
pub(crate) struct UsageOut {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

impl From<&Usage> for UsageOut {
    fn from(u: &Usage) -> Self {
        UsageOut {
            input_tokens: u
                .prompt_tokens
                .saturating_sub(u.cached_tokens)
                .saturating_sub(u.cache_write_tokens),
            cache_creation_input_tokens: u.cache_write_tokens,
            cache_read_input_tokens: u.cached_tokens,
            output_tokens: u.completion_tokens,
        }
    }
}

/// Anthropic's stop reason for a canonical finish. The provider's own reason is kept when it is
/// an Anthropic reason that agrees with the canonical one (`stop_sequence`, `pause_turn`,
/// `model_context_window_exceeded` are finer than the canonical classes).
pub(crate) fn stop_reason(
    finish: Option<FinishReason>,
    provider: Option<&str>,
) -> Option<&'static str> {
    let native = provider.and_then(|p| match p {
        "end_turn" => Some(("end_turn", FinishReason::Stop)),
        "stop_sequence" => Some(("stop_sequence", FinishReason::Stop)),
        "pause_turn" => Some(("pause_turn", FinishReason::Stop)),
        "max_tokens" => Some(("max_tokens", FinishReason::Length)),
        "model_context_window_exceeded" => {
            Some(("model_context_window_exceeded", FinishReason::Length))
        }
        "tool_use" => Some(("tool_use", FinishReason::ToolCalls)),
        "refusal" => Some(("refusal", FinishReason::ContentFilter)),
        _ => None,
    });
    match (finish, native) {
        (Some(f), Some((name, class))) if f == class => Some(name),
        (None, Some((name, _))) => Some(name),
        (Some(f), _) => Some(map_finish(f)),
        (None, None) => None,
    }
}

pub(crate) fn map_finish(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
    }
}

/// `msg_`-prefixed id.
pub(crate) fn message_id(id: &str) -> Cow<'_, str> {
    if id.starts_with("msg_") {
        Cow::Borrowed(id)
    } else {
        Cow::Owned(format!("msg_{id}"))
    }
}

/// Tool arguments (JSON text) -> `tool_use.input`.
pub(crate) fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(json::Obj::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::String(arguments.to_owned()),
    }
}

/// Renders `resp` as an Anthropic `message` body.
pub fn render_message_response(resp: &ChatResponse) -> Vec<u8> {
    let choice = resp.choices.first();
    let mut content = Vec::new();
    if let Some(c) = choice {
        for part in &c.message.content {
            match part {
                ContentPart::Reasoning { text, signature } => content.push(BlockOut::Thinking {
                    thinking: text,
                    signature: signature.as_deref().unwrap_or(""),
                }),
                ContentPart::RedactedReasoning { data } => {
                    content.push(BlockOut::RedactedThinking { data })
                }
                ContentPart::Text { text, .. } => content.push(BlockOut::Text { text }),
                ContentPart::ToolCall(call) => content.push(BlockOut::ToolUse {
                    id: &call.id,
                    name: &call.name,
                    input: tool_input(&call.arguments),
                }),
                _ => {}
            }
        }
        if let Some(refusal) = c.refusal.as_deref() {
            if !content.iter().any(|b| matches!(b, BlockOut::Text { .. })) {
                content.push(BlockOut::Text { text: refusal });
            }
        }
    }
    let body = MessageOut {
        id: message_id(&resp.id),
        kind: "message",
        role: "assistant",
        model: &resp.model,
        content,
        stop_reason: stop_reason(
            choice.and_then(|c| c.finish_reason),
            resp.provider_stop_reason.as_deref(),
        ),
        stop_sequence: None,
        usage: UsageOut::from(&resp.usage.unwrap_or_default()),
    };
    json::to_vec(&body)
}

#[derive(Serialize)]
struct CountTokens {
    input_tokens: u64,
}

/// `{"input_tokens": n}`.
pub fn render_count_tokens(n: u64) -> Vec<u8> {
    json::to_vec(&CountTokens { input_tokens: n })
}

#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorOut<'a>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

impl<'a> From<&'a GatewayError> for ErrorBody<'a> {
    fn from(err: &'a GatewayError) -> Self {
        ErrorBody {
            kind: "error",
            error: ErrorOut {
                kind: err.class.anthropic_type(),
                message: &err.message,
            },
        }
    }
}

/// `{"type":"error","error":{"type","message"}}`.
pub fn render_error(err: &GatewayError) -> Vec<u8> {
    json::to_vec(&ErrorBody::from(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchyard_types::ErrorClass;

    #[test]
    fn stop_reasons() {
        use FinishReason::*;
        assert_eq!(stop_reason(Some(Stop), None), Some("end_turn"));
        assert_eq!(
            stop_reason(Some(Stop), Some("stop_sequence")),
            Some("stop_sequence")
        );
        assert_eq!(stop_reason(Some(Stop), Some("STOP")), Some("end_turn"));
        // A provider reason that disagrees with the canonical class loses.
        assert_eq!(
            stop_reason(Some(ToolCalls), Some("end_turn")),
            Some("tool_use")
        );
        assert_eq!(stop_reason(Some(Length), None), Some("max_tokens"));
        assert_eq!(stop_reason(Some(ContentFilter), None), Some("refusal"));
        assert_eq!(stop_reason(None, Some("pause_turn")), Some("pause_turn"));
        assert_eq!(stop_reason(None, None), None);
    }

    #[test]
    fn tool_inputs() {
        assert_eq!(tool_input(""), json!({}));
        assert_eq!(tool_input(r#"{"a":1}"#), json!({"a":1}));
        assert_eq!(tool_input(r#"{"a":"#), json!(r#"{"a":"#));
        assert_eq!(tool_input("[1]"), json!("[1]"));
    }

    #[test]
    fn usage_excludes_cache_from_input() {
        let u = Usage {
            prompt_tokens: 100,
            completion_tokens: 5,
            cached_tokens: 60,
            cache_write_tokens: 30,
            reasoning_tokens: 2,
        };
        let v = serde_json::to_value(UsageOut::from(&u)).unwrap();
        assert_eq!(
            v,
            json!({"input_tokens":10,"cache_creation_input_tokens":30,"cache_read_input_tokens":60,"output_tokens":5})
        );
        // Inconsistent upstream numbers never underflow.
        let bad = Usage {
            prompt_tokens: 1,
            cached_tokens: 5,
            ..Usage::default()
        };
        assert_eq!(UsageOut::from(&bad).input_tokens, 0);
    }

    #[test]
    fn errors_and_counts() {
        let e = GatewayError::client(ErrorClass::Overloaded, "Overloaded");
        let v: Value = serde_json::from_slice(&render_error(&e)).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})
        );
        assert_eq!(render_count_tokens(42), br#"{"input_tokens":42}"#);
        assert_eq!(message_id("msg_1"), "msg_1");
        assert_eq!(message_id("chatcmpl-1"), "msg_chatcmpl-1");
    }
}

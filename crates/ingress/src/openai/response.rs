//! Canonical [`ChatResponse`] -> OpenAI `chat.completion` JSON, and OpenAI error bodies. The
//! wire structs here borrow from the canonical response: rendering copies no strings apart from
//! joining several text parts into one `content`.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use switchyard_types::{ChatResponse, Choice, ContentPart, GatewayError, Usage};

use crate::json;

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChoiceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageOut>,
}

#[derive(Serialize)]
struct ChoiceOut<'a> {
    index: u32,
    message: MessageOut<'a>,
    logprobs: Option<&'a Value>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Option<Cow<'a, str>>,
    refusal: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    thinking_blocks: Vec<ThinkingBlock<'a>>,
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought_signature: Option<&'a str>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// Non-standard `thinking_blocks` entry (Anthropic's block shapes).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ThinkingBlock<'a> {
    Thinking {
        thinking: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        signature: Option<&'a str>,
    },
    RedactedThinking {
        data: &'a str,
    },
}

/// OpenAI `usage`.
#[derive(Serialize)]
pub(crate) struct UsageOut {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
}

impl From<&Usage> for UsageOut {
    fn from(u: &Usage) -> Self {
        UsageOut {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.prompt_tokens.saturating_add(u.completion_tokens),
            prompt_tokens_details: PromptDetails {
                cached_tokens: u.cached_tokens,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: u.reasoning_tokens,
            },
        }
    }
}

/// Joins strings, borrowing when there is exactly one; `None` when there are none.
fn join<'a>(mut parts: impl Iterator<Item = &'a str>) -> Option<Cow<'a, str>> {
    let first = parts.next()?;
    match parts.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut s = String::with_capacity(first.len() + second.len());
            s.push_str(first);
            s.push_str(second);
            parts.for_each(|p| s.push_str(p));
            Some(Cow::Owned(s))
        }
    }
}

fn render_choice(c: &Choice) -> ChoiceOut<'_> {
    let parts = &c.message.content;
    let content = join(parts.iter().filter_map(|p| match p {
        ContentPart::Text { text, .. } => Some(text.as_str()),
        _ => None,
    }));
    let reasoning_content = join(parts.iter().filter_map(|p| match p {
        ContentPart::Reasoning { text, .. } => Some(text.as_str()),
        _ => None,
    }));
    // Blocks are only needed when there is something beyond the text to send back.
    let needs_blocks = parts.iter().any(|p| {
        matches!(
            p,
            ContentPart::Reasoning {
                signature: Some(_),
                ..
            } | ContentPart::RedactedReasoning { .. }
        )
    });
    let thinking_blocks = if needs_blocks {
        parts
            .iter()
            .filter_map(|p| match p {
                ContentPart::Reasoning { text, signature } => Some(ThinkingBlock::Thinking {
                    thinking: text,
                    signature: signature.as_deref(),
                }),
                ContentPart::RedactedReasoning { data } => {
                    Some(ThinkingBlock::RedactedThinking { data })
                }
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let tool_calls = parts
        .iter()
        .filter_map(|p| match p {
            ContentPart::ToolCall(call) => Some(ToolCallOut {
                id: &call.id,
                kind: "function",
                function: FunctionOut {
                    name: &call.name,
                    arguments: &call.arguments,
                },
                thought_signature: call.signature.as_deref(),
            }),
            _ => None,
        })
        .collect();
    ChoiceOut {
        index: c.index,
        message: MessageOut {
            role: "assistant",
            content,
            refusal: c.refusal.as_deref(),
            tool_calls,
            reasoning_content,
            thinking_blocks,
        },
        logprobs: c.logprobs.as_ref(),
        finish_reason: c.finish_reason.map(|f| f.as_openai()),
    }
}

/// Renders `resp` as an OpenAI `chat.completion` body. `model` is the upstream model that
/// answered (`resp.model`); `public_model` (the name the client asked for) stands in only when
/// the upstream reported none.
pub fn render_chat_response(resp: &ChatResponse, public_model: &str) -> Vec<u8> {
    let model = if resp.model.is_empty() {
        public_model
    } else {
        &resp.model
    };
    let body = Completion {
        id: &resp.id,
        object: "chat.completion",
        created: resp.created,
        model,
        choices: resp.choices.iter().map(render_choice).collect(),
        usage: resp.usage.as_ref().map(UsageOut::from),
    };
    json::to_vec(&body)
}

#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorOut<'a>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'a str>,
    code: &'a str,
}

impl<'a> From<&'a GatewayError> for ErrorBody<'a> {
    fn from(err: &'a GatewayError) -> Self {
        ErrorBody {
            error: ErrorOut {
                message: &err.message,
                kind: err.class.openai_type(),
                param: err.param.as_deref(),
                code: err.code_str(),
            },
        }
    }
}

/// `{"error":{"message","type","param","code"}}`.
pub fn render_error(err: &GatewayError) -> Vec<u8> {
    json::to_vec(&ErrorBody::from(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchyard_types::{FinishReason, Message, Role, ToolCall};

    fn response(parts: Vec<ContentPart>) -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-1".into(),
            model: "gpt-4o-2024-08-06".into(),
            created: 1_700_000_000,
            choices: vec![Choice {
                index: 0,
                message: Message {
                    role: Role::Assistant,
                    content: parts,
                    name: None,
                },
                finish_reason: Some(FinishReason::Stop),
                refusal: None,
                logprobs: None,
            }],
            usage: None,
            provider_stop_reason: None,
        }
    }

    fn render(r: &ChatResponse) -> Value {
        serde_json::from_slice(&render_chat_response(r, "smart")).unwrap()
    }

    #[test]
    fn several_text_parts_join_and_model_is_upstream() {
        let v = render(&response(vec![
            ContentPart::text("a"),
            ContentPart::text("b"),
        ]));
        assert_eq!(v["choices"][0]["message"]["content"], "ab");
        assert_eq!(v["model"], "gpt-4o-2024-08-06");
        assert!(v.get("usage").is_none());
        assert!(v["choices"][0]["message"]
            .get("reasoning_content")
            .is_none());
    }

    #[test]
    fn public_model_stands_in_for_a_missing_upstream_model() {
        let mut r = response(vec![]);
        r.model.clear();
        let v = render(&r);
        assert_eq!(v["model"], "smart");
        assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
    }

    #[test]
    fn unsigned_reasoning_has_no_blocks() {
        let v = render(&response(vec![
            ContentPart::Reasoning {
                text: "hmm".into(),
                signature: None,
            },
            ContentPart::ToolCall(ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
                signature: Some("sig".into()),
            }),
        ]));
        let m = &v["choices"][0]["message"];
        assert_eq!(m["reasoning_content"], "hmm");
        assert!(m.get("thinking_blocks").is_none());
        assert_eq!(m["tool_calls"][0]["thought_signature"], "sig");
    }

    #[test]
    fn error_shape() {
        let e = GatewayError::bad_request("nope").with_param("messages");
        let v: Value = serde_json::from_slice(&render_error(&e)).unwrap();
        assert_eq!(
            v,
            json!({"error":{"message":"nope","type":"invalid_request_error","param":"messages","code":"invalid_request"}})
        );
    }
}

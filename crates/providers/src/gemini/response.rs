//! Gemini `GenerateContentResponse` -> canonical [`ChatResponse`], plus the pieces the stream
//! decoder shares: wire types, finish-reason and usage mapping.
//!
//! - Parts: `thought:true` text -> `Reasoning` (its `thoughtSignature` as signature); other
//!   text -> `Text`, and a `thoughtSignature` on it is kept as an empty `Reasoning` part just
//!   before it (the request encoder puts it back on the text part); `functionCall` -> `ToolCall`
//!   with arguments as JSON text, the part's `thoughtSignature` as signature and the call's `id`
//!   when Gemini gives one, else a synthesized `call_<n>` (n counts calls across the response).
//!   Other parts (inline images, code execution) have no canonical form and are skipped.
//! - Finish reasons (PROVIDERS.md section 10): `STOP` -> `stop`, or `tool_calls` when the
//!   candidate holds a function call; `MAX_TOKENS` -> `length`; `SAFETY`, `RECITATION`,
//!   `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `IMAGE_*` -> `content_filter`. The ones that
//!   mean "no usable answer" fail the whole response: `LANGUAGE` -> `BadRequest` 400 (the input
//!   language is unsupported; retrying will not help); `MALFORMED_FUNCTION_CALL`,
//!   `UNEXPECTED_TOOL_CALL`, `TOO_MANY_TOOL_CALLS`, `OTHER`, `FINISH_REASON_UNSPECIFIED` and
//!   unknown reasons -> `ServerError` 502 (a model hiccup another attempt may not repeat).
//! - A prompt blocked by `promptFeedback.blockReason` (no candidates) -> `ContentFiltered` 400.
//! - Usage (section 11): prompt = `promptTokenCount` + `toolUsePromptTokenCount`; completion =
//!   `candidatesTokenCount` + `thoughtsTokenCount`; cached = `cachedContentTokenCount`;
//!   reasoning = `thoughtsTokenCount`.
//! - `id` = `responseId`, `model` = `modelVersion`; `created` is the local clock (Gemini sends
//!   no timestamp).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Map, Value};
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    ToolCall, Usage,
};

use super::error::WireError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireResponse {
    #[serde(default)]
    pub candidates: Vec<WireCandidate>,
    pub prompt_feedback: Option<PromptFeedback>,
    pub usage_metadata: Option<UsageMetadata>,
    pub model_version: Option<String>,
    pub response_id: Option<String>,
    /// Present on error objects sent inside a stream.
    pub error: Option<WireError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCandidate {
    pub content: Option<WireContent>,
    pub finish_reason: Option<String>,
    pub finish_message: Option<String>,
    pub index: Option<u32>,
    pub logprobs_result: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireContent {
    #[serde(default)]
    pub parts: Vec<WirePart>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePart {
    pub text: Option<String>,
    pub thought: Option<bool>,
    pub thought_signature: Option<String>,
    pub function_call: Option<WireFunctionCall>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireFunctionCall {
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    pub args: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptFeedback {
    pub block_reason: Option<String>,
    pub block_reason_message: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
}

impl UsageMetadata {
    pub fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_token_count + self.tool_use_prompt_token_count,
            completion_tokens: self.candidates_token_count + self.thoughts_token_count,
            cached_tokens: self.cached_content_token_count,
            cache_write_tokens: 0,
            reasoning_tokens: self.thoughts_token_count,
        }
    }
}

impl WireCandidate {
    /// The candidate's index, defaulting to its position (proto JSON omits a zero index).
    pub fn choice_index(&self, position: usize) -> u32 {
        self.index
            .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX))
    }
}

impl WireFunctionCall {
    /// Arguments as JSON text (`{}` when absent).
    pub fn arguments_text(&self) -> String {
        match &self.args {
            None | Some(Value::Null) => "{}".to_string(),
            Some(v) => v.to_string(),
        }
    }
}

/// What a Gemini `finishReason` means for the canonical response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finish {
    Reason(FinishReason),
    Error(GatewayError),
}

/// Maps a finish reason; `has_tool_call` turns `STOP` into `tool_calls`.
pub(crate) fn map_finish(reason: &str, has_tool_call: bool, message: Option<&str>) -> Finish {
    let filtered = [
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
    ];
    match reason {
        "STOP" if has_tool_call => Finish::Reason(FinishReason::ToolCalls),
        "STOP" => Finish::Reason(FinishReason::Stop),
        "MAX_TOKENS" => Finish::Reason(FinishReason::Length),
        r if filtered.contains(&r) || r.starts_with("IMAGE_") => {
            Finish::Reason(FinishReason::ContentFilter)
        }
        other => {
            let (class, status) = if other == "LANGUAGE" {
                (ErrorClass::BadRequest, 400)
            } else {
                (ErrorClass::ServerError, 502)
            };
            let mut text = format!("Gemini stopped without a usable answer (finishReason {other})");
            if let Some(m) = message.filter(|m| !m.is_empty()) {
                text.push_str(": ");
                text.push_str(m);
            }
            Finish::Error(
                GatewayError::upstream(class, status, text).with_code(other.to_ascii_lowercase()),
            )
        }
    }
}

/// The error for a prompt Gemini blocked (`promptFeedback.blockReason`).
pub(crate) fn blocked_prompt(feedback: &PromptFeedback) -> Option<GatewayError> {
    let reason = feedback.block_reason.as_deref()?;
    let mut text = format!("Gemini blocked the prompt (blockReason {reason})");
    if let Some(m) = feedback
        .block_reason_message
        .as_deref()
        .filter(|m| !m.is_empty())
    {
        text.push_str(": ");
        text.push_str(m);
    }
    Some(GatewayError::upstream(
        ErrorClass::ContentFiltered,
        400,
        text,
    ))
}

/// Fallback id when Gemini sends no `responseId`.
pub(crate) fn synthesized_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("gemini-{nanos:x}")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub(crate) fn parse_response(body: &[u8]) -> Result<WireResponse, GatewayError> {
    serde_json::from_slice(body).map_err(|e| {
        GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            format!("Gemini sent a response that is not a GenerateContentResponse: {e}"),
        )
    })
}

/// Decodes a successful `generateContent` body.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let wire = parse_response(body)?;
    if let Some(err) = &wire.error {
        return Err(super::error::from_wire(err.code.unwrap_or(500), err, None));
    }
    if wire.candidates.is_empty() {
        if let Some(err) = wire.prompt_feedback.as_ref().and_then(blocked_prompt) {
            return Err(err);
        }
        return Err(GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            "Gemini returned no candidates",
        ));
    }
    let mut next_call = 0u32;
    let mut choices = Vec::with_capacity(wire.candidates.len());
    for (position, cand) in wire.candidates.iter().enumerate() {
        let mut content: Vec<ContentPart> = Vec::new();
        let mut has_tool_call = false;
        for part in cand.content.iter().flat_map(|c| c.parts.iter()) {
            if let Some(call) = &part.function_call {
                has_tool_call = true;
                let id = call
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("call_{next_call}"));
                next_call += 1;
                content.push(ContentPart::ToolCall(ToolCall {
                    id,
                    name: call.name.clone(),
                    arguments: call.arguments_text(),
                    signature: part.thought_signature.clone(),
                }));
                continue;
            }
            let Some(text) = &part.text else { continue };
            if part.thought == Some(true) {
                content.push(ContentPart::Reasoning {
                    text: text.clone(),
                    signature: part.thought_signature.clone(),
                });
                continue;
            }
            if let Some(sig) = &part.thought_signature {
                content.push(ContentPart::Reasoning {
                    text: String::new(),
                    signature: Some(sig.clone()),
                });
            }
            if text.is_empty() {
                continue;
            }
            match content.last_mut() {
                Some(ContentPart::Text { text: prev, .. }) if part.thought_signature.is_none() => {
                    prev.push_str(text)
                }
                _ => content.push(ContentPart::text(text.clone())),
            }
        }
        let finish_reason = match cand.finish_reason.as_deref() {
            None => None,
            Some(r) => match map_finish(r, has_tool_call, cand.finish_message.as_deref()) {
                Finish::Reason(f) => Some(f),
                Finish::Error(e) => return Err(e),
            },
        };
        choices.push(Choice {
            index: cand.choice_index(position),
            message: Message {
                role: Role::Assistant,
                content,
                name: None,
            },
            finish_reason,
            refusal: None,
            logprobs: cand.logprobs_result.as_ref().and_then(convert_logprobs),
        });
    }
    Ok(ChatResponse {
        id: wire.response_id.clone().unwrap_or_else(synthesized_id),
        model: wire.model_version.clone().unwrap_or_default(),
        created: now_secs(),
        choices,
        usage: wire.usage_metadata.map(UsageMetadata::to_usage),
        provider_stop_reason: wire
            .candidates
            .first()
            .and_then(|c| c.finish_reason.clone()),
    })
}

/// `logprobsResult` -> OpenAI `logprobs` (`{"content":[{token,logprob,bytes,top_logprobs}]}`).
pub(crate) fn convert_logprobs(v: &Value) -> Option<Value> {
    let chosen = v.get("chosenCandidates")?.as_array()?;
    let top = v.get("topCandidates").and_then(Value::as_array);
    let entry = |c: &Value| -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("token".into(), c.get("token").cloned().unwrap_or(json!("")));
        m.insert(
            "logprob".into(),
            c.get("logProbability").cloned().unwrap_or(json!(0.0)),
        );
        m.insert("bytes".into(), Value::Null);
        m
    };
    let content: Vec<Value> = chosen
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut m = entry(c);
            let alternatives: Vec<Value> = top
                .and_then(|t| t.get(i))
                .and_then(|t| t.get("candidates"))
                .and_then(Value::as_array)
                .map(|alts| alts.iter().map(|a| Value::Object(entry(a))).collect())
                .unwrap_or_default();
            m.insert("top_logprobs".into(), Value::Array(alternatives));
            Value::Object(m)
        })
        .collect();
    Some(json!({ "content": content }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_mapping() {
        assert_eq!(
            map_finish("STOP", false, None),
            Finish::Reason(FinishReason::Stop)
        );
        assert_eq!(
            map_finish("STOP", true, None),
            Finish::Reason(FinishReason::ToolCalls)
        );
        assert_eq!(
            map_finish("MAX_TOKENS", true, None),
            Finish::Reason(FinishReason::Length)
        );
        assert_eq!(
            map_finish("IMAGE_SAFETY", false, None),
            Finish::Reason(FinishReason::ContentFilter)
        );
        match map_finish("MALFORMED_FUNCTION_CALL", false, Some("bad json")) {
            Finish::Error(e) => {
                assert_eq!(e.class, ErrorClass::ServerError);
                assert!(e.message.contains("MALFORMED_FUNCTION_CALL"));
                assert!(e.message.contains("bad json"));
            }
            other => panic!("{other:?}"),
        }
        match map_finish("LANGUAGE", false, None) {
            Finish::Error(e) => assert_eq!((e.class, e.status), (ErrorClass::BadRequest, 400)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn logprobs_conversion() {
        let v = json!({
            "topCandidates": [{"candidates": [{"token": "Hi", "logProbability": -0.1}, {"token": "Hey", "logProbability": -2.5}]}],
            "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}]
        });
        assert_eq!(
            convert_logprobs(&v).unwrap(),
            json!({"content": [{"token": "Hi", "logprob": -0.1, "bytes": null, "top_logprobs": [
                {"token": "Hi", "logprob": -0.1, "bytes": null},
                {"token": "Hey", "logprob": -2.5, "bytes": null}
            ]}]})
        );
    }
}

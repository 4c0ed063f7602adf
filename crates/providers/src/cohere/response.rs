//! Cohere v2 chat response and SSE stream -> canonical.
//!
//! - `message.content` text items become text parts, `thinking` items reasoning parts;
//!   `tool_plan` (the preamble before tool calls) becomes a text part ahead of the calls.
//! - `finish_reason`: `COMPLETE`/`STOP_SEQUENCE` -> stop, `MAX_TOKENS` -> length, `TOOL_CALL`
//!   -> tool_calls; `ERROR` and `TIMEOUT` are upstream errors.
//! - Usage follows `billed_units` (what Cohere charges), falling back to `tokens`.
//! - Stream: dispatch on the JSON `type` (`message-start`, `content-delta`, `tool-plan-delta`,
//!   `tool-call-start`, `tool-call-delta`, `message-end`, ...); in deltas `tool_calls` is an
//!   object, not a list. `[DONE]` and unknown events are ignored.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    StreamEvent, ToolCall, Usage,
};

use crate::sse::{parse_event, SseSplitter};
use crate::StreamDecoder;

fn upstream(msg: impl Into<String>) -> GatewayError {
    GatewayError::upstream(ErrorClass::ServerError, 502, msg)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Counts {
    input_tokens: Option<f64>,
    output_tokens: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireUsage {
    billed_units: Option<Counts>,
    tokens: Option<Counts>,
}

impl WireUsage {
    fn to_usage(&self) -> Usage {
        let pick = |f: fn(&Counts) -> Option<f64>| {
            self.billed_units
                .as_ref()
                .and_then(f)
                .or_else(|| self.tokens.as_ref().and_then(f))
                .unwrap_or(0.0) as u64
        };
        Usage {
            prompt_tokens: pick(|c| c.input_tokens),
            completion_tokens: pick(|c| c.output_tokens),
            ..Usage::default()
        }
    }
}

/// Maps `finish_reason`; `ERROR`/`TIMEOUT` (and an explicit error message) are errors.
fn finish_reason(reason: &str, error: Option<&str>) -> Result<FinishReason, GatewayError> {
    Ok(match reason {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "TIMEOUT" => {
            return Err(GatewayError::upstream(
                ErrorClass::Timeout,
                504,
                error.unwrap_or("cohere: generation timed out").to_string(),
            )
            .with_code("TIMEOUT"))
        }
        "ERROR" => {
            return Err(
                upstream(error.unwrap_or("cohere: generation failed").to_string())
                    .with_code("ERROR"),
            )
        }
        _ => FinishReason::Stop,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireFunction {
    name: String,
    arguments: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireMessage {
    content: Vec<Value>,
    tool_calls: Vec<WireToolCall>,
    tool_plan: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireResponse {
    id: String,
    finish_reason: String,
    message: WireMessage,
    usage: Option<WireUsage>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let r: WireResponse = serde_json::from_slice(body)
        .map_err(|e| upstream(format!("cohere: unreadable chat response: {e}")))?;
    let mut content = Vec::new();
    for item in &r.message.content {
        match item.get("type").and_then(Value::as_str) {
            Some("thinking") => content.push(ContentPart::Reasoning {
                text: item
                    .get("thinking")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                signature: None,
            }),
            Some("text") => {
                if let Some(t) = item.get("text").and_then(Value::as_str) {
                    content.push(ContentPart::text(t));
                }
            }
            _ => {}
        }
    }
    if let Some(plan) = r.message.tool_plan.as_deref().filter(|p| !p.is_empty()) {
        content.push(ContentPart::text(plan));
    }
    for c in &r.message.tool_calls {
        content.push(ContentPart::ToolCall(ToolCall {
            id: c.id.clone(),
            name: c.function.name.clone(),
            arguments: c.function.arguments.clone(),
            signature: None,
        }));
    }
    let finish = finish_reason(&r.finish_reason, None)?;
    Ok(ChatResponse {
        id: r.id,
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
        usage: r.usage.map(|u| u.to_usage()),
        provider_stop_reason: (!r.finish_reason.is_empty()).then_some(r.finish_reason),
    })
}

/// Decoder for one Cohere v2 chat SSE stream.
#[derive(Debug, Default)]
pub struct CohereStreamDecoder {
    sse: SseSplitter,
    started: bool,
    ended: bool,
    /// Cohere's tool-call index -> canonical tool index.
    tools: HashMap<u64, u32>,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

impl CohereStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, id: &str, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: id.to_string(),
                model: String::new(),
            });
        }
    }

    fn tool_index(&mut self, cohere_index: u64) -> u32 {
        let next = self.tools.len() as u32;
        *self.tools.entry(cohere_index).or_insert(next)
    }

    fn handle(&mut self, ev: &Value, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        let kind = ev.get("type").and_then(Value::as_str).unwrap_or_default();
        let index = ev.get("index").and_then(Value::as_u64).unwrap_or(0);
        if kind != "message-start" && kind != "debug" {
            self.start("", out);
        }
        match kind {
            "message-start" => {
                let id = ev.get("id").and_then(Value::as_str).unwrap_or_default();
                self.start(id, out);
            }
            "content-start" | "content-delta" => {
                let c = ev.pointer("/delta/message/content");
                if let Some(t) = c.and_then(|c| str_at(c, "/thinking")) {
                    if !t.is_empty() {
                        out.push(StreamEvent::ReasoningDelta {
                            choice: 0,
                            text: t.to_string(),
                        });
                    }
                }
                if let Some(t) = c.and_then(|c| str_at(c, "/text")) {
                    if !t.is_empty() {
                        out.push(StreamEvent::TextDelta {
                            choice: 0,
                            text: t.to_string(),
                        });
                    }
                }
            }
            "tool-plan-delta" => {
                if let Some(t) = str_at(ev, "/delta/message/tool_plan") {
                    out.push(StreamEvent::TextDelta {
                        choice: 0,
                        text: t.to_string(),
                    });
                }
            }
            "tool-call-start" => {
                let call = ev.pointer("/delta/message/tool_calls");
                let i = self.tool_index(index);
                out.push(StreamEvent::ToolCallStart {
                    choice: 0,
                    index: i,
                    id: call
                        .and_then(|c| str_at(c, "/id"))
                        .unwrap_or_default()
                        .to_string(),
                    name: call
                        .and_then(|c| str_at(c, "/function/name"))
                        .unwrap_or_default()
                        .to_string(),
                    signature: None,
                });
                if let Some(a) = call.and_then(|c| str_at(c, "/function/arguments")) {
                    if !a.is_empty() {
                        out.push(StreamEvent::ToolCallDelta {
                            choice: 0,
                            index: i,
                            arguments: a.to_string(),
                        });
                    }
                }
            }
            "tool-call-delta" => {
                if let Some(a) = str_at(ev, "/delta/message/tool_calls/function/arguments") {
                    let i = self.tool_index(index);
                    out.push(StreamEvent::ToolCallDelta {
                        choice: 0,
                        index: i,
                        arguments: a.to_string(),
                    });
                }
            }
            "message-end" => {
                self.ended = true;
                let reason = str_at(ev, "/delta/finish_reason").unwrap_or("COMPLETE");
                let error = str_at(ev, "/delta/error");
                match finish_reason(reason, error) {
                    Ok(reason) => {
                        out.push(StreamEvent::Finish { choice: 0, reason });
                        if let Some(u) = ev.pointer("/delta/usage") {
                            let u: WireUsage = serde_json::from_value(u.clone())
                                .map_err(|e| upstream(format!("cohere: unreadable usage: {e}")))?;
                            out.push(StreamEvent::Usage(u.to_usage()));
                        }
                    }
                    Err(e) => out.push(StreamEvent::Error(e)),
                }
            }
            // content-end, tool-call-end, citation-*, debug and unknown events.
            _ => {}
        }
        Ok(())
    }

    fn event(&mut self, raw: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        let ev = parse_event(raw);
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" || self.ended {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data)
            .map_err(|e| upstream(format!("cohere: unreadable stream event: {e}")))?;
        self.handle(&v, out)
    }
}

impl StreamDecoder for CohereStreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        self.sse.push(chunk);
        while let Some(raw) = self.sse.next_event() {
            self.event(&raw, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if let Some(rest) = self.sse.remainder() {
            self.event(&rest, out)?;
        }
        if !self.ended {
            return Err(upstream("cohere: stream ended before message-end"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("COMPLETE", None).unwrap(), FinishReason::Stop);
        assert_eq!(
            finish_reason("STOP_SEQUENCE", None).unwrap(),
            FinishReason::Stop
        );
        assert_eq!(
            finish_reason("MAX_TOKENS", None).unwrap(),
            FinishReason::Length
        );
        assert_eq!(
            finish_reason("TOOL_CALL", None).unwrap(),
            FinishReason::ToolCalls
        );
        assert_eq!(
            finish_reason("TIMEOUT", None).unwrap_err().class,
            ErrorClass::Timeout
        );
        let e = finish_reason("ERROR", Some("model crashed")).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (ErrorClass::ServerError, "model crashed")
        );
    }

    #[test]
    fn usage_prefers_billed_units() {
        let u: WireUsage = serde_json::from_str(
            r#"{"billed_units":{"input_tokens":47,"output_tokens":16},"tokens":{"input_tokens":53,"output_tokens":16}}"#,
        )
        .unwrap();
        assert_eq!(
            (u.to_usage().prompt_tokens, u.to_usage().completion_tokens),
            (47, 16)
        );
        let u: WireUsage =
            serde_json::from_str(r#"{"tokens":{"input_tokens":53,"output_tokens":9}}"#).unwrap();
        assert_eq!(u.to_usage().prompt_tokens, 53);
    }

    #[test]
    fn unreadable_and_truncated() {
        assert!(decode_response(b"<html>").is_err());
        let mut d = CohereStreamDecoder::new();
        let mut out = Vec::new();
        assert!(d.feed(b"data: {not json}\n\n", &mut out).is_err());
        let mut d = CohereStreamDecoder::new();
        d.feed(
            b"event: message-start\ndata: {\"type\":\"message-start\",\"id\":\"a\"}\n\n",
            &mut out,
        )
        .unwrap();
        assert!(d.finish(&mut out).is_err());
    }
}

//! `streamGenerateContent?alt=sse` body -> canonical [`StreamEvent`]s.
//!
//! Each SSE event (CRLF-framed by Google; [`SseSplitter`] handles both) is a whole
//! `GenerateContentResponse` holding only the new parts. Per event: `Start` on the first;
//! thought text -> `ReasoningDelta` (+ `ReasoningSignature` when signed); text ->
//! `TextDelta` (a signature on plain text -> `ReasoningSignature` first, as the non-streaming
//! decoder keeps it); each `functionCall` (they arrive whole) -> `ToolCallStart` + one
//! `ToolCallDelta` with all arguments (index counted per choice, ids `call_<n>` across the
//! stream unless Gemini gives one); `finishReason` -> `Finish` (or `Error` for the reasons
//! [`super::response`] treats as failures). `usageMetadata` holds running totals: the last one
//! is kept and emitted once as `Usage` when the body ends. A blocked prompt or an `error`
//! object -> `Error`. A body that ends before any `finishReason` is reported as truncated.

use std::collections::{BTreeMap, BTreeSet};

use switchyard_types::{ErrorClass, GatewayError, StreamEvent, Usage};

use super::response::{
    blocked_prompt, map_finish, parse_response, synthesized_id, Finish, WireResponse,
};
use crate::sse::{parse_event, SseSplitter};
use crate::StreamDecoder;

/// Decoder for one Gemini stream.
#[derive(Debug, Default)]
pub struct GeminiStreamDecoder {
    splitter: SseSplitter,
    started: bool,
    /// Next `call_<n>` id.
    next_call: u32,
    /// Next tool-call index, per choice.
    tool_index: BTreeMap<u32, u32>,
    /// Choices that produced a tool call (their `STOP` means `tool_calls`).
    with_tool_calls: BTreeSet<u32>,
    finished: BTreeSet<u32>,
    usage: Option<Usage>,
    failed: bool,
}

impl GeminiStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn handle(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let wire: WireResponse = parse_response(data.as_bytes())?;
        if let Some(err) = &wire.error {
            self.failed = true;
            out.push(StreamEvent::Error(super::error::from_wire(
                err.code.unwrap_or(500),
                err,
                None,
            )));
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: wire.response_id.clone().unwrap_or_else(synthesized_id),
                model: wire.model_version.clone().unwrap_or_default(),
            });
        }
        if wire.candidates.is_empty() {
            if let Some(err) = wire.prompt_feedback.as_ref().and_then(blocked_prompt) {
                self.failed = true;
                out.push(StreamEvent::Error(err));
                return Ok(());
            }
        }
        for (position, cand) in wire.candidates.iter().enumerate() {
            let choice = cand.choice_index(position);
            for part in cand.content.iter().flat_map(|c| c.parts.iter()) {
                if let Some(call) = &part.function_call {
                    let index = self.tool_index.entry(choice).or_insert(0);
                    let this = *index;
                    *index += 1;
                    let id = call
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("call_{}", self.next_call));
                    self.next_call += 1;
                    self.with_tool_calls.insert(choice);
                    out.push(StreamEvent::ToolCallStart {
                        choice,
                        index: this,
                        id,
                        name: call.name.clone(),
                        signature: part.thought_signature.clone(),
                    });
                    out.push(StreamEvent::ToolCallDelta {
                        choice,
                        index: this,
                        arguments: call.arguments_text(),
                    });
                    continue;
                }
                let Some(text) = &part.text else { continue };
                let thought = part.thought == Some(true);
                if thought && !text.is_empty() {
                    out.push(StreamEvent::ReasoningDelta {
                        choice,
                        text: text.clone(),
                    });
                }
                if let Some(sig) = &part.thought_signature {
                    out.push(StreamEvent::ReasoningSignature {
                        choice,
                        signature: sig.clone(),
                    });
                }
                if !thought && !text.is_empty() {
                    out.push(StreamEvent::TextDelta {
                        choice,
                        text: text.clone(),
                    });
                }
            }
            if let Some(reason) = cand.finish_reason.as_deref() {
                let has_call = self.with_tool_calls.contains(&choice);
                match map_finish(reason, has_call, cand.finish_message.as_deref()) {
                    Finish::Reason(r) => {
                        if self.finished.insert(choice) {
                            out.push(StreamEvent::Finish { choice, reason: r });
                        }
                    }
                    Finish::Error(e) => {
                        self.failed = true;
                        out.push(StreamEvent::Error(e));
                    }
                }
            }
        }
        if let Some(u) = wire.usage_metadata {
            self.usage = Some(u.to_usage());
        }
        Ok(())
    }
}

impl StreamDecoder for GeminiStreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        self.splitter.push(chunk);
        while let Some(raw) = self.splitter.next_event() {
            if self.failed {
                continue;
            }
            let event = parse_event(&raw);
            self.handle(&event.data, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        // A last event without its blank line.
        if let Some(rest) = self.splitter.remainder() {
            if !self.failed {
                let event = parse_event(&rest);
                self.handle(&event.data, out)?;
            }
        }
        if self.failed {
            return Ok(());
        }
        if !self.started {
            return Err(GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                "Gemini stream ended without any event",
            ));
        }
        if self.finished.is_empty() {
            return Err(GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                "Gemini stream ended before a finishReason (truncated)",
            ));
        }
        if let Some(u) = self.usage.take() {
            out.push(StreamEvent::Usage(u));
        }
        Ok(())
    }
}

//! Anthropic Messages SSE stream -> canonical stream events.
//!
//! Event order: `message_start` (id, model, input usage), then per content block
//! `content_block_start` / `content_block_delta`* / `content_block_stop`, then `message_delta`
//! (stop reason, cumulative usage) and `message_stop`. `ping` and unknown events are ignored;
//! an `error` event ends the stream with [`StreamEvent::Error`]. Usage is emitted once, at
//! `message_stop`.

use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_types::{ErrorClass, FinishReason, GatewayError, StreamEvent};

use super::error::{stream_error, WireErrorBody};
use super::response::{compact_json, finish_reason, WireBlock, WireUsage};
use super::JSON_TOOL_NAME;
use crate::sse::{parse_event, SseSplitter};
use crate::StreamDecoder;

/// What a content block (by Anthropic block index) turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    /// A client tool call with its canonical tool-call index; `args` once any argument text
    /// was emitted.
    Tool {
        index: u32,
        args: bool,
    },
    /// The JSON-mode tool: its input is the answer's text.
    Json {
        args: bool,
    },
    Other,
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    content_block: Option<WireBlock>,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireErrorBody>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `content_block_delta.delta` and `message_delta.delta`, flat.
#[derive(Deserialize)]
struct WireDelta {
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Decodes an Anthropic Messages stream (also Vertex `streamRawPredict`).
#[derive(Debug, Default)]
pub struct AnthropicStreamDecoder {
    sse: SseSplitter,
    /// Block kinds by Anthropic block index.
    blocks: Vec<(u64, Block)>,
    next_tool: u32,
    usage: Option<WireUsage>,
    /// `message_stop` or `error` seen: the stream is over.
    done: bool,
}

impl AnthropicStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn block(&mut self, index: u64) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn handle(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if self.done || data.trim().is_empty() {
            return Ok(());
        }
        let ev: WireEvent = serde_json::from_str(data).map_err(|e| {
            GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                format!("anthropic sent a malformed stream event: {e}"),
            )
        })?;
        match ev.ty.as_str() {
            "message_start" => {
                if let Some(m) = ev.message {
                    if let Some(u) = &m.usage {
                        self.usage.get_or_insert_with(WireUsage::default).merge(u);
                    }
                    out.push(StreamEvent::Start {
                        id: m.id,
                        model: m.model,
                    });
                }
            }
            "content_block_start" => {
                if let (Some(index), Some(block)) = (ev.index, ev.content_block) {
                    self.block_start(index, block, out);
                }
            }
            "content_block_delta" => {
                if let (Some(index), Some(delta)) = (ev.index, ev.delta) {
                    self.block_delta(index, delta, out);
                }
            }
            "content_block_stop" => {
                if let Some(index) = ev.index {
                    self.block_stop(index, out);
                }
            }
            "message_delta" => {
                if let Some(u) = &ev.usage {
                    self.usage.get_or_insert_with(WireUsage::default).merge(u);
                }
                if let Some(reason) = ev.delta.and_then(|d| d.stop_reason) {
                    let mut reason = finish_reason(&reason);
                    let real_tools = self
                        .blocks
                        .iter()
                        .any(|(_, b)| matches!(b, Block::Tool { .. }));
                    if reason == FinishReason::ToolCalls && !real_tools {
                        reason = FinishReason::Stop;
                    }
                    out.push(StreamEvent::Finish { choice: 0, reason });
                }
            }
            "message_stop" => {
                if let Some(u) = self.usage.take() {
                    out.push(StreamEvent::Usage(u.to_canonical()));
                }
                self.done = true;
            }
            "error" => {
                let e = ev.error.unwrap_or_default();
                out.push(StreamEvent::Error(stream_error(&e.ty, &e.message)));
                self.done = true;
            }
            // `ping` and event types added later.
            _ => {}
        }
        Ok(())
    }

    fn block_start(&mut self, index: u64, block: WireBlock, out: &mut Vec<StreamEvent>) {
        let kind = match block.ty.as_str() {
            "text" => {
                if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { choice: 0, text });
                }
                Block::Text
            }
            "thinking" => {
                if let Some(text) = block.thinking.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ReasoningDelta { choice: 0, text });
                }
                if let Some(signature) = block.signature.filter(|s| !s.is_empty()) {
                    out.push(StreamEvent::ReasoningSignature {
                        choice: 0,
                        signature,
                    });
                }
                Block::Thinking
            }
            "redacted_thinking" => {
                out.push(StreamEvent::RedactedReasoning {
                    choice: 0,
                    data: block.data.unwrap_or_default(),
                });
                Block::Other
            }
            "tool_use" => {
                // The start normally carries `input: {}`; anything more is already arguments.
                let initial = block
                    .input
                    .as_deref()
                    .map(|raw: &RawValue| compact_json(raw.get()))
                    .filter(|s| s != "{}" && !s.is_empty());
                let name = block.name.unwrap_or_default();
                if name == JSON_TOOL_NAME {
                    let args = initial.is_some();
                    if let Some(text) = initial {
                        out.push(StreamEvent::TextDelta { choice: 0, text });
                    }
                    Block::Json { args }
                } else {
                    let tool_index = self.next_tool;
                    self.next_tool = self.next_tool.saturating_add(1);
                    out.push(StreamEvent::ToolCallStart {
                        choice: 0,
                        index: tool_index,
                        id: block.id.unwrap_or_default(),
                        name,
                        signature: None,
                    });
                    let args = initial.is_some();
                    if let Some(arguments) = initial {
                        out.push(StreamEvent::ToolCallDelta {
                            choice: 0,
                            index: tool_index,
                            arguments,
                        });
                    }
                    Block::Tool {
                        index: tool_index,
                        args,
                    }
                }
            }
            _ => Block::Other,
        };
        self.blocks.push((index, kind));
    }

    fn block_delta(&mut self, index: u64, delta: WireDelta, out: &mut Vec<StreamEvent>) {
        match delta.ty.as_deref() {
            Some("text_delta") => {
                if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { choice: 0, text });
                }
            }
            Some("thinking_delta") => {
                if let Some(text) = delta.thinking.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ReasoningDelta { choice: 0, text });
                }
            }
            Some("signature_delta") => {
                if let Some(signature) = delta.signature.filter(|s| !s.is_empty()) {
                    out.push(StreamEvent::ReasoningSignature {
                        choice: 0,
                        signature,
                    });
                }
            }
            Some("input_json_delta") => {
                let Some(fragment) = delta.partial_json.filter(|s| !s.is_empty()) else {
                    return;
                };
                match self.block(index) {
                    Some(Block::Tool { index, args }) => {
                        *args = true;
                        let index = *index;
                        out.push(StreamEvent::ToolCallDelta {
                            choice: 0,
                            index,
                            arguments: fragment,
                        });
                    }
                    Some(Block::Json { args }) => {
                        *args = true;
                        out.push(StreamEvent::TextDelta {
                            choice: 0,
                            text: fragment,
                        });
                    }
                    _ => {}
                }
            }
            // citations_delta and delta types added later.
            _ => {}
        }
    }

    /// A tool block that streamed no argument text had input `{}` (what the non-streaming
    /// answer reports): emit it so both agree.
    fn block_stop(&mut self, index: u64, out: &mut Vec<StreamEvent>) {
        match self.block(index) {
            Some(Block::Tool { index, args }) if !*args => {
                *args = true;
                let index = *index;
                out.push(StreamEvent::ToolCallDelta {
                    choice: 0,
                    index,
                    arguments: "{}".into(),
                });
            }
            Some(Block::Json { args }) if !*args => {
                *args = true;
                out.push(StreamEvent::TextDelta {
                    choice: 0,
                    text: "{}".into(),
                });
            }
            _ => {}
        }
    }
}

impl StreamDecoder for AnthropicStreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        self.sse.push(chunk);
        while let Some(raw) = self.sse.next_event() {
            let ev = parse_event(&raw);
            self.handle(&ev.data, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if let Some(rest) = self.sse.remainder() {
            let ev = parse_event(&rest);
            self.handle(&ev.data, out)?;
        }
        if self.done {
            return Ok(());
        }
        if let Some(u) = self.usage.take() {
            out.push(StreamEvent::Usage(u.to_canonical()));
        }
        self.done = true;
        Err(GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            "anthropic stream ended before message_stop (truncated)",
        ))
    }
}

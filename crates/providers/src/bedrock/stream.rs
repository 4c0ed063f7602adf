//! ConverseStream body (AWS event-stream frames) -> canonical stream events.
//!
//! `messageStart` -> `Start`; `contentBlockStart` (tool use) -> `ToolCallStart`;
//! `contentBlockDelta` -> text / tool-argument / reasoning deltas; `messageStop` -> `Finish`;
//! `metadata` -> `Usage`. Exception frames become one `Error` event. The forced JSON-output
//! tool's argument fragments are emitted as text.

use std::collections::HashMap;

use serde_json::Value;
use switchyard_types::{ErrorClass, GatewayError, StreamEvent};

use super::error::stream_exception;
use super::response::{finish_reason, TokenUsage};
use super::{response_id, JSON_TOOL_NAME};
use crate::eventstream::{EventStreamDecoder, Message};
use crate::StreamDecoder;

#[derive(Debug, Clone, Copy)]
enum Block {
    /// A tool call with its index among the answer's tool calls.
    Tool(u32),
    /// The JSON-output tool: its arguments are the answer text.
    JsonText,
}

/// Decoder for one ConverseStream body.
#[derive(Debug, Default)]
pub struct BedrockStreamDecoder {
    frames: EventStreamDecoder,
    started: bool,
    stopped: bool,
    /// Ended by an error event; later frames are ignored.
    failed: bool,
    blocks: HashMap<u64, Block>,
    /// Tool blocks that received argument text (a call without any gets `{}` at its stop).
    with_args: std::collections::HashSet<u64>,
    next_tool: u32,
}

fn stream_err(msg: impl Into<String>) -> GatewayError {
    GatewayError::upstream(ErrorClass::ServerError, 502, msg)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

impl BedrockStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: response_id(),
                model: String::new(),
            });
        }
    }

    fn handle(&mut self, msg: &Message, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if self.failed {
            return Ok(());
        }
        match msg.message_type().unwrap_or("event") {
            "exception" => {
                let name = msg.exception_type().unwrap_or("internalServerException");
                out.push(StreamEvent::Error(stream_exception(name, &msg.payload)));
                self.failed = true;
                return Ok(());
            }
            "error" => {
                let code = msg.header_str(":error-code").unwrap_or("error");
                let text = msg.header_str(":error-message").unwrap_or("stream error");
                out.push(StreamEvent::Error(
                    stream_err(format!("bedrock: {text}")).with_code(code.to_string()),
                ));
                self.failed = true;
                return Ok(());
            }
            _ => {}
        }
        let Some(kind) = msg.event_type() else {
            return Ok(());
        };
        let payload: Value = serde_json::from_slice(&msg.payload)
            .map_err(|e| stream_err(format!("bedrock: unreadable {kind} event: {e}")))?;
        match kind {
            "messageStart" => self.start(out),
            "contentBlockStart" => {
                self.start(out);
                let index = block_index(&payload);
                if let Some(tu) = payload.get("start").and_then(|s| s.get("toolUse")) {
                    let name = str_at(tu, &["name"]).unwrap_or_default();
                    if name == JSON_TOOL_NAME {
                        self.blocks.insert(index, Block::JsonText);
                    } else {
                        let id = str_at(tu, &["toolUseId"]).unwrap_or_default();
                        self.open_tool(index, id, name, out);
                    }
                }
            }
            "contentBlockDelta" => {
                self.start(out);
                let index = block_index(&payload);
                let Some(delta) = payload.get("delta") else {
                    return Ok(());
                };
                self.delta(index, delta, out);
            }
            "messageStop" => {
                self.start(out);
                self.stopped = true;
                let stop = str_at(&payload, &["stopReason"]).unwrap_or("end_turn");
                let tools = self.blocks.values().any(|b| matches!(b, Block::Tool(_)));
                match finish_reason(stop, tools) {
                    Ok(reason) => out.push(StreamEvent::Finish { choice: 0, reason }),
                    Err(e) => {
                        out.push(StreamEvent::Error(e));
                        self.failed = true;
                    }
                }
            }
            "metadata" => {
                if let Some(u) = payload.get("usage") {
                    let usage: TokenUsage = serde_json::from_value(u.clone())
                        .map_err(|e| stream_err(format!("bedrock: unreadable usage: {e}")))?;
                    out.push(StreamEvent::Usage(usage.to_usage()));
                }
            }
            "contentBlockStop" => {
                // A tool call that streamed no argument text still needs valid JSON arguments.
                let index = block_index(&payload);
                if !self.with_args.contains(&index) {
                    match self.blocks.get(&index) {
                        Some(Block::Tool(i)) => out.push(StreamEvent::ToolCallDelta {
                            choice: 0,
                            index: *i,
                            arguments: "{}".into(),
                        }),
                        Some(Block::JsonText) => out.push(StreamEvent::TextDelta {
                            choice: 0,
                            text: "{}".into(),
                        }),
                        None => {}
                    }
                }
            }
            // Unknown events carry nothing we need.
            _ => {}
        }
        Ok(())
    }

    fn open_tool(&mut self, block: u64, id: &str, name: &str, out: &mut Vec<StreamEvent>) -> u32 {
        let index = self.next_tool;
        self.next_tool += 1;
        self.blocks.insert(block, Block::Tool(index));
        out.push(StreamEvent::ToolCallStart {
            choice: 0,
            index,
            id: id.to_string(),
            name: name.to_string(),
            signature: None,
        });
        index
    }

    fn delta(&mut self, block: u64, delta: &Value, out: &mut Vec<StreamEvent>) {
        if let Some(text) = str_at(delta, &["text"]) {
            out.push(StreamEvent::TextDelta {
                choice: 0,
                text: text.to_string(),
            });
        } else if let Some(tu) = delta.get("toolUse") {
            let fragment = str_at(tu, &["input"]).unwrap_or_default().to_string();
            if !fragment.is_empty() {
                self.with_args.insert(block);
            }
            let target = match self.blocks.get(&block) {
                Some(b) => *b,
                // A delta for a block never opened: open it without id or name.
                None => Block::Tool(self.open_tool(block, "", "", out)),
            };
            match target {
                Block::Tool(index) => out.push(StreamEvent::ToolCallDelta {
                    choice: 0,
                    index,
                    arguments: fragment,
                }),
                Block::JsonText => out.push(StreamEvent::TextDelta {
                    choice: 0,
                    text: fragment,
                }),
            }
        } else if let Some(rc) = delta.get("reasoningContent") {
            if let Some(text) = str_at(rc, &["text"]) {
                out.push(StreamEvent::ReasoningDelta {
                    choice: 0,
                    text: text.to_string(),
                });
            }
            if let Some(sig) = str_at(rc, &["signature"]) {
                out.push(StreamEvent::ReasoningSignature {
                    choice: 0,
                    signature: sig.to_string(),
                });
            }
            if let Some(data) = str_at(rc, &["redactedContent"]) {
                out.push(StreamEvent::RedactedReasoning {
                    choice: 0,
                    data: data.to_string(),
                });
            }
        }
    }
}

fn block_index(payload: &Value) -> u64 {
    payload
        .get("contentBlockIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

impl StreamDecoder for BedrockStreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        self.frames.push(chunk);
        while let Some(msg) = self.frames.next_message()? {
            self.handle(&msg, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if self.failed {
            return Ok(());
        }
        if self.frames.buffered() > 0 {
            return Err(stream_err(format!(
                "bedrock: stream ended inside a frame ({} bytes left)",
                self.frames.buffered()
            )));
        }
        if !self.stopped {
            return Err(stream_err("bedrock: stream ended before messageStop"));
        }
        Ok(())
    }
}

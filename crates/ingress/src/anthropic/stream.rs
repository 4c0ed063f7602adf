//! Canonical [`StreamEvent`]s -> Anthropic Messages SSE (`event: X\ndata: {...}\n\n`).
//!
//! Sequence written: `message_start`, then content blocks with a running `index`
//! (`content_block_start`, `content_block_delta`*, `content_block_stop`), then `message_delta`
//! (stop reason and cumulative usage) and `message_stop`.
//! - Text, thinking and tool-use deltas go to an open block of their kind; a delta of another
//!   kind (or another tool call) closes the open block and starts a new one.
//! - A reasoning signature is sent as `signature_delta` and ends its thinking block; redacted
//!   reasoning is a complete `redacted_thinking` block (start + stop).
//! - Usage usually arrives after `Finish`: the stop reason is held until `Usage` (or
//!   [`MessagesStreamEncoder::finish`]) arrives, then `message_delta` carries the full usage,
//!   which Anthropic documents as cumulative. `message_start` reports zero usage, the numbers
//!   not being known yet.
//! - Only choice 0 is encoded (Anthropic has no `n`); events of other choices are skipped.
//! - A tool-call fragment for a call whose block was already closed (an upstream interleaving
//!   parallel calls) is sent against that call's own block index, which Anthropic SDKs
//!   accumulate by index.
//! - `Error` -> `event: error`; nothing is written after it.
//! - The model shown is the upstream model from `Start` (the one given to `new` when the
//!   upstream names none).

use serde::Serialize;
use switchyard_types::{FinishReason, StreamEvent, Usage};

use super::response::{map_finish, message_id, ErrorBody, UsageOut};
use crate::json;

/// Encodes one response stream for an Anthropic client.
#[derive(Debug)]
pub struct MessagesStreamEncoder {
    model: String,
    started: bool,
    open: Option<(Kind, u32)>,
    next_index: u32,
    /// Tool-call index -> content block index.
    tool_blocks: Vec<(u32, u32)>,
    stop: Option<FinishReason>,
    usage: Option<Usage>,
    /// `message_stop` or an error was written.
    ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Tool(u32),
}

#[derive(Serialize)]
struct MessageStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: StartMessage<'a>,
}

#[derive(Serialize)]
struct StartMessage<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: [(); 0],
    stop_reason: Option<()>,
    stop_sequence: Option<()>,
    usage: UsageOut,
}

#[derive(Serialize)]
struct BlockStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
    content_block: StartBlock<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock<'a> {
    Text {
        text: &'static str,
    },
    Thinking {
        thinking: &'static str,
        signature: &'static str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: EmptyObject,
    },
}

#[derive(Serialize)]
struct EmptyObject {}

#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
    delta: DeltaOut<'a>,
}

/// Named as the wire names them (`text_delta`, ...).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[expect(
    clippy::enum_variant_names,
    reason = "variant names are the wire's delta type names"
)]
enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    ThinkingDelta { thinking: &'a str },
    SignatureDelta { signature: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Serialize)]
struct BlockStop {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
}

#[derive(Serialize)]
struct MessageDelta {
    #[serde(rename = "type")]
    kind: &'static str,
    delta: StopDelta,
    usage: UsageOut,
}

#[derive(Serialize)]
struct StopDelta {
    stop_reason: &'static str,
    stop_sequence: Option<()>,
}

#[derive(Serialize)]
struct MessageStop {
    #[serde(rename = "type")]
    kind: &'static str,
}

fn event<T: Serialize>(out: &mut Vec<u8>, name: &str, data: &T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    json::write_json(out, data);
    out.extend_from_slice(b"\n\n");
}

impl MessagesStreamEncoder {
    /// `model` is shown when the upstream's `Start` names no model.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            started: false,
            open: None,
            next_index: 0,
            tool_blocks: Vec::new(),
            stop: None,
            usage: None,
            ended: false,
        }
    }

    /// Appends the SSE events for `ev` to `out`.
    pub fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match ev {
            StreamEvent::Start { id, model } if !self.started => self.start(out, id, model),
            StreamEvent::TextDelta { choice: 0, text } if !text.is_empty() => {
                let index = self.open_block(out, Kind::Text, |_| StartBlock::Text { text: "" });
                self.delta(out, index, DeltaOut::TextDelta { text });
            }
            StreamEvent::ReasoningDelta { choice: 0, text } if !text.is_empty() => {
                let index = self.open_block(out, Kind::Thinking, |_| StartBlock::Thinking {
                    thinking: "",
                    signature: "",
                });
                self.delta(out, index, DeltaOut::ThinkingDelta { thinking: text });
            }
            StreamEvent::ReasoningSignature {
                choice: 0,
                signature,
            } => {
                let index = self.open_block(out, Kind::Thinking, |_| StartBlock::Thinking {
                    thinking: "",
                    signature: "",
                });
                self.delta(out, index, DeltaOut::SignatureDelta { signature });
                self.close(out);
            }
            StreamEvent::RedactedReasoning { choice: 0, data } => {
                self.close(out);
                let index = self.begin(out, StartBlock::RedactedThinking { data });
                self.open = Some((Kind::Thinking, index));
                self.close(out);
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                index,
                id,
                name,
                ..
            } => {
                self.close(out);
                let block = self.begin(
                    out,
                    StartBlock::ToolUse {
                        id,
                        name,
                        input: EmptyObject {},
                    },
                );
                self.open = Some((Kind::Tool(*index), block));
                self.tool_blocks.push((*index, block));
            }
            StreamEvent::ToolCallDelta {
                choice: 0,
                index,
                arguments,
            } if !arguments.is_empty() => {
                let block = match self.open {
                    Some((Kind::Tool(t), b)) if t == *index => Some(b),
                    _ => self
                        .tool_blocks
                        .iter()
                        .rev()
                        .find(|(t, _)| t == index)
                        .map(|(_, b)| *b),
                };
                // A fragment of a call that never started has no block to go to.
                if let Some(block) = block {
                    self.delta(
                        out,
                        block,
                        DeltaOut::InputJsonDelta {
                            partial_json: arguments,
                        },
                    );
                }
            }
            StreamEvent::Finish { choice: 0, reason } => {
                self.ensure_started(out);
                self.close(out);
                self.stop = Some(*reason);
                if self.usage.is_some() {
                    self.end(out);
                }
            }
            StreamEvent::Usage(usage) => {
                self.usage = Some(*usage);
                if self.stop.is_some() {
                    self.end(out);
                }
            }
            StreamEvent::Error(err) => {
                event(out, "error", &ErrorBody::from(err));
                self.ended = true;
            }
            // Other choices, and empty fragments.
            _ => {}
        }
    }

    /// The upstream stream ended: closes the open block and writes `message_delta` (with what
    /// is known of the stop reason and usage) and `message_stop`, unless already written or an
    /// error ended the stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.ended {
            self.ensure_started(out);
            self.close(out);
            self.end(out);
        }
    }

    fn start(&mut self, out: &mut Vec<u8>, id: &str, model: &str) {
        self.started = true;
        let model = if model.is_empty() {
            self.model.as_str()
        } else {
            model
        };
        event(
            out,
            "message_start",
            &MessageStart {
                kind: "message_start",
                message: StartMessage {
                    id: &message_id(id),
                    kind: "message",
                    role: "assistant",
                    model,
                    content: [],
                    stop_reason: None,
                    stop_sequence: None,
                    usage: UsageOut::from(&self.usage.unwrap_or_default()),
                },
            },
        );
    }

    /// Events before `Start` (which a decoder should not produce) still open a valid message.
    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.start(out, "msg_gateway", "");
        }
    }

    /// The index of an open block of `kind`, starting one (and closing another) if needed.
    fn open_block<'a>(
        &mut self,
        out: &mut Vec<u8>,
        kind: Kind,
        block: impl FnOnce(u32) -> StartBlock<'a>,
    ) -> u32 {
        if let Some((k, index)) = self.open {
            if k == kind {
                return index;
            }
        }
        self.close(out);
        let index = self.begin(out, block(self.next_index));
        self.open = Some((kind, index));
        index
    }

    /// Writes `content_block_start` for the next index.
    fn begin(&mut self, out: &mut Vec<u8>, block: StartBlock<'_>) -> u32 {
        self.ensure_started(out);
        let index = self.next_index;
        self.next_index += 1;
        event(
            out,
            "content_block_start",
            &BlockStart {
                kind: "content_block_start",
                index,
                content_block: block,
            },
        );
        index
    }

    fn delta(&mut self, out: &mut Vec<u8>, index: u32, delta: DeltaOut<'_>) {
        event(
            out,
            "content_block_delta",
            &BlockDelta {
                kind: "content_block_delta",
                index,
                delta,
            },
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((_, index)) = self.open.take() {
            event(
                out,
                "content_block_stop",
                &BlockStop {
                    kind: "content_block_stop",
                    index,
                },
            );
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.ended = true;
        event(
            out,
            "message_delta",
            &MessageDelta {
                kind: "message_delta",
                delta: StopDelta {
                    stop_reason: map_finish(self.stop.unwrap_or(FinishReason::Stop)),
                    stop_sequence: None,
                },
                usage: UsageOut::from(&self.usage.unwrap_or_default()),
            },
        );
        event(
            out,
            "message_stop",
            &MessageStop {
                kind: "message_stop",
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(out: &[u8]) -> Vec<String> {
        std::str::from_utf8(out)
            .unwrap()
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("event: "))
            .map(|e| e.lines().next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn kinds_switch_blocks() {
        let mut enc = MessagesStreamEncoder::new("claude");
        let mut out = Vec::new();
        for ev in [
            StreamEvent::Start {
                id: "1".into(),
                model: String::new(),
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: "a".into(),
            },
            StreamEvent::TextDelta {
                choice: 1,
                text: "skipped".into(),
            },
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: "r".into(),
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Length,
            },
        ] {
            enc.encode(&ev, &mut out);
        }
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains(r#""model":"claude""#), "{text}");
        assert!(text.contains(r#""id":"msg_1""#), "{text}");
        assert!(!text.contains("skipped"));
        enc.finish(&mut out);
        enc.finish(&mut out);
        assert_eq!(
            names(&out),
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .contains(r#""stop_reason":"max_tokens""#));
    }

    #[test]
    fn nothing_after_an_error() {
        let mut enc = MessagesStreamEncoder::new("claude");
        let mut out = Vec::new();
        enc.encode(
            &StreamEvent::Error(switchyard_types::GatewayError::internal("boom")),
            &mut out,
        );
        enc.encode(
            &StreamEvent::TextDelta {
                choice: 0,
                text: "a".into(),
            },
            &mut out,
        );
        enc.finish(&mut out);
        assert_eq!(names(&out), ["error"]);
    }
}

//! Canonical [`StreamEvent`]s -> OpenAI `chat.completion.chunk` SSE events.
//!
//! Every chunk shares the same head (`id`, `object`, `created`, `model`), serialised once when
//! the stream starts and copied into each event; only the per-choice delta is serialised per
//! event. Shape, as OpenAI streams it:
//! - the first chunk of a choice carries `delta.role:"assistant"` (`Start` opens choice 0 with
//!   `{"role":"assistant","content":""}`; other choices get the role on their first delta);
//! - text -> `delta.content`, reasoning -> non-standard `delta.reasoning_content`, a reasoning
//!   signature or redacted reasoning -> non-standard `delta.thinking_blocks` (one block);
//! - a tool call's start carries `index`, `id`, `type`, `function.name` and empty `arguments`;
//!   its fragments carry `index` and `function.arguments` only;
//! - `Finish` -> `delta:{}` with `finish_reason`;
//! - with `include_usage`, every chunk carries `"usage":null` and `Usage` becomes one extra
//!   chunk with `"choices":[]` and the full usage; without it, usage is not sent;
//! - `Error` -> `data: {"error":{...}}` in OpenAI's error shape.

use serde::Serialize;
use switchyard_types::{FinishReason, StreamEvent};

use super::response::{ErrorBody, ThinkingBlock, UsageOut};
use crate::json;

/// Encodes one response stream for an OpenAI client.
#[derive(Debug)]
pub struct ChatStreamEncoder {
    include_usage: bool,
    created: u64,
    /// `{"id":..,"object":"chat.completion.chunk","created":..,"model":..,` (no choices yet).
    head: Vec<u8>,
    /// Choices whose first chunk (with the role) has been sent.
    opened: Vec<u32>,
    done: bool,
}

#[derive(Serialize)]
struct ChoiceChunk<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_blocks: Option<[ThinkingBlock<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought_signature: Option<&'a str>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

impl ChatStreamEncoder {
    /// `include_usage` is the client's `stream_options.include_usage`; `created` the Unix time
    /// every chunk reports.
    pub fn new(include_usage: bool, created: u64) -> Self {
        Self {
            include_usage,
            created,
            head: Vec::new(),
            opened: Vec::new(),
            done: false,
        }
    }

    /// Appends the SSE events for `ev` (zero or more complete `data: ...\n\n` events) to `out`.
    pub fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        match ev {
            StreamEvent::Start { id, model } => {
                self.set_head(id, model);
                self.opened.push(0);
                let delta = Delta {
                    role: Some("assistant"),
                    content: Some(""),
                    ..Delta::default()
                };
                self.chunk(out, 0, delta, None);
            }
            StreamEvent::TextDelta { choice, text } => {
                let delta = Delta {
                    content: Some(text),
                    ..Delta::default()
                };
                self.delta(out, *choice, delta);
            }
            StreamEvent::ReasoningDelta { choice, text } => {
                let delta = Delta {
                    reasoning_content: Some(text),
                    ..Delta::default()
                };
                self.delta(out, *choice, delta);
            }
            StreamEvent::ReasoningSignature { choice, signature } => {
                let delta = Delta {
                    thinking_blocks: Some([ThinkingBlock::Thinking {
                        thinking: "",
                        signature: Some(signature),
                    }]),
                    ..Delta::default()
                };
                self.delta(out, *choice, delta);
            }
            StreamEvent::RedactedReasoning { choice, data } => {
                let delta = Delta {
                    thinking_blocks: Some([ThinkingBlock::RedactedThinking { data }]),
                    ..Delta::default()
                };
                self.delta(out, *choice, delta);
            }
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
                signature,
            } => {
                let delta = Delta {
                    tool_calls: Some([ToolCallDelta {
                        index: *index,
                        id: Some(id),
                        kind: Some("function"),
                        function: FunctionDelta {
                            name: Some(name),
                            arguments: "",
                        },
                        thought_signature: signature.as_deref(),
                    }]),
                    ..Delta::default()
                };
                self.delta(out, *choice, delta);
            }
            StreamEvent::ToolCallDelta {
                choice,
                index,
                arguments,
            } => {
                let delta = Delta {
                    tool_calls: Some([ToolCallDelta {
                        index: *index,
                        id: None,
                        kind: None,
                        function: FunctionDelta {
                            name: None,
                            arguments,
                        },
                        thought_signature: None,
                    }]),
                    ..Delta::default()
                };
                self.delta(out, *choice, delta);
            }
            StreamEvent::Finish { choice, reason } => {
                self.chunk(out, *choice, Delta::default(), Some(*reason));
            }
            StreamEvent::Usage(usage) => {
                if self.include_usage {
                    self.ensure_head();
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(&self.head);
                    out.extend_from_slice(b"\"choices\":[],\"usage\":");
                    json::write_json(out, &UsageOut::from(usage));
                    out.extend_from_slice(b"}\n\n");
                }
            }
            StreamEvent::Error(err) => {
                out.extend_from_slice(b"data: ");
                json::write_json(out, &ErrorBody::from(err));
                out.extend_from_slice(b"\n\n");
            }
        }
    }

    /// Ends the stream: `data: [DONE]` (once, however often it is called).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            self.done = true;
            out.extend_from_slice(b"data: [DONE]\n\n");
        }
    }

    fn set_head(&mut self, id: &str, model: &str) {
        self.head.clear();
        self.head.extend_from_slice(b"{\"id\":");
        json::write_json(&mut self.head, id);
        self.head
            .extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        json::write_json(&mut self.head, &self.created);
        self.head.extend_from_slice(b",\"model\":");
        json::write_json(&mut self.head, model);
        self.head.push(b',');
    }

    /// Events before `Start` (which a decoder should not produce) still yield valid chunks.
    fn ensure_head(&mut self) {
        if self.head.is_empty() {
            self.set_head("", "");
        }
    }

    /// A content delta: the choice's first one also carries the role.
    fn delta(&mut self, out: &mut Vec<u8>, choice: u32, mut delta: Delta<'_>) {
        if !self.opened.contains(&choice) {
            self.opened.push(choice);
            delta.role = Some("assistant");
        }
        self.chunk(out, choice, delta, None);
    }

    fn chunk(
        &mut self,
        out: &mut Vec<u8>,
        index: u32,
        delta: Delta<'_>,
        finish: Option<FinishReason>,
    ) {
        self.ensure_head();
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&self.head);
        out.extend_from_slice(b"\"choices\":[");
        json::write_json(
            out,
            &ChoiceChunk {
                index,
                delta,
                finish_reason: finish.map(|f| f.as_openai()),
            },
        );
        out.push(b']');
        if self.include_usage {
            out.extend_from_slice(b",\"usage\":null");
        }
        out.extend_from_slice(b"}\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use switchyard_types::Usage;

    fn events(bytes: &[u8]) -> Vec<Value> {
        let text = std::str::from_utf8(bytes).unwrap();
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let data = e.strip_prefix("data: ").unwrap();
                serde_json::from_str(data).unwrap_or(Value::String(data.into()))
            })
            .collect()
    }

    #[test]
    fn start_text_finish_without_usage() {
        let mut enc = ChatStreamEncoder::new(false, 7);
        let mut out = Vec::new();
        enc.encode(
            &StreamEvent::Start {
                id: "chatcmpl-1".into(),
                model: "gpt-4o".into(),
            },
            &mut out,
        );
        enc.encode(
            &StreamEvent::TextDelta {
                choice: 0,
                text: "Hi \"you\"".into(),
            },
            &mut out,
        );
        enc.encode(
            &StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop,
            },
            &mut out,
        );
        enc.encode(&StreamEvent::Usage(Usage::default()), &mut out);
        enc.finish(&mut out);
        enc.finish(&mut out);
        let ev = events(&out);
        assert_eq!(ev.len(), 4);
        assert_eq!(
            ev[0],
            json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"gpt-4o",
                   "choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})
        );
        assert_eq!(
            ev[1]["choices"][0]["delta"],
            json!({"content":"Hi \"you\""})
        );
        assert!(ev[1].get("usage").is_none());
        assert_eq!(ev[2]["choices"][0]["delta"], json!({}));
        assert_eq!(ev[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(ev[3], Value::String("[DONE]".into()));
    }

    #[test]
    fn second_choice_gets_its_role_on_first_delta() {
        let mut enc = ChatStreamEncoder::new(true, 1);
        let mut out = Vec::new();
        for ev in [
            StreamEvent::Start {
                id: "x".into(),
                model: "m".into(),
            },
            StreamEvent::TextDelta {
                choice: 1,
                text: "b".into(),
            },
            StreamEvent::TextDelta {
                choice: 1,
                text: "c".into(),
            },
        ] {
            enc.encode(&ev, &mut out);
        }
        let ev = events(&out);
        assert_eq!(ev[1]["choices"][0]["delta"]["role"], "assistant");
        assert!(ev[2]["choices"][0]["delta"].get("role").is_none());
        assert!(ev
            .iter()
            .all(|e| e["usage"].is_null() && e.get("usage").is_some()));
    }
}

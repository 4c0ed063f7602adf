//! Shared test helpers: fixture loading, a tiny SSE parser, and a "decoder" that turns a
//! canonical response into the canonical event sequence a provider stream would produce.

#![allow(dead_code, reason = "each test binary uses a subset of these helpers")]
#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test helpers: a panic here is a failed test"
)]

use serde_json::Value;
use switchyard_types::{ChatResponse, ContentPart, StreamEvent};

pub fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

pub fn fixture_json(rel: &str) -> Value {
    serde_json::from_slice(&fixture(rel)).unwrap()
}

pub fn to_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// Parses a complete SSE body; every event must end with a blank line and carry one `data:`.
pub fn parse_sse(bytes: &[u8]) -> Vec<SseEvent> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "stream does not end at an event boundary: {text:?}"
    );
    let mut events = Vec::new();
    for raw in text.split("\n\n").filter(|e| !e.is_empty()) {
        let mut event = None;
        let mut data: Option<String> = None;
        for line in raw.lines() {
            if let Some(v) = line.strip_prefix("event: ") {
                assert!(event.is_none(), "two event lines in {raw:?}");
                event = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                assert!(data.is_none(), "two data lines in {raw:?}");
                data = Some(v.to_string());
            } else {
                panic!("unexpected SSE line {line:?} in {raw:?}");
            }
        }
        events.push(SseEvent {
            event,
            data: data.unwrap_or_else(|| panic!("no data in {raw:?}")),
        });
    }
    events
}

/// Splits `s` into pieces of at most `n` characters (never inside a UTF-8 sequence).
pub fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// The canonical events a provider decoder would emit for `resp` (one choice per response
/// choice, text in small fragments, usage after every finish). With `interleave`, the
/// argument fragments of all tool calls of a choice are interleaved after all their starts.
pub fn events_for(resp: &ChatResponse, interleave: bool) -> Vec<StreamEvent> {
    let mut out = vec![StreamEvent::Start {
        id: resp.id.clone(),
        model: resp.model.clone(),
    }];
    for c in &resp.choices {
        let choice = c.index;
        let mut tool_index = 0;
        let mut pending: Vec<(u32, Vec<String>)> = Vec::new();
        for part in &c.message.content {
            match part {
                ContentPart::Text { text, .. } => {
                    for p in pieces(text, 4) {
                        out.push(StreamEvent::TextDelta { choice, text: p });
                    }
                }
                ContentPart::Reasoning { text, signature } => {
                    for p in pieces(text, 5) {
                        out.push(StreamEvent::ReasoningDelta { choice, text: p });
                    }
                    if let Some(sig) = signature {
                        out.push(StreamEvent::ReasoningSignature {
                            choice,
                            signature: sig.clone(),
                        });
                    }
                }
                ContentPart::RedactedReasoning { data } => {
                    out.push(StreamEvent::RedactedReasoning {
                        choice,
                        data: data.clone(),
                    });
                }
                ContentPart::ToolCall(call) => {
                    out.push(StreamEvent::ToolCallStart {
                        choice,
                        index: tool_index,
                        id: call.id.clone(),
                        name: call.name.clone(),
                        signature: call.signature.clone(),
                    });
                    let frags = pieces(&call.arguments, 6);
                    if interleave {
                        pending.push((tool_index, frags));
                    } else {
                        for a in frags {
                            out.push(StreamEvent::ToolCallDelta {
                                choice,
                                index: tool_index,
                                arguments: a,
                            });
                        }
                    }
                    tool_index += 1;
                }
                other => panic!("not an output part: {other:?}"),
            }
        }
        let longest = pending.iter().map(|(_, f)| f.len()).max().unwrap_or(0);
        for k in 0..longest {
            for (index, frags) in &pending {
                if let Some(a) = frags.get(k) {
                    out.push(StreamEvent::ToolCallDelta {
                        choice,
                        index: *index,
                        arguments: a.clone(),
                    });
                }
            }
        }
        if let Some(reason) = c.finish_reason {
            out.push(StreamEvent::Finish { choice, reason });
        }
    }
    if let Some(u) = resp.usage {
        out.push(StreamEvent::Usage(u));
    }
    out
}

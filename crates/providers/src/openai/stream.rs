//! OpenAI Chat Completions SSE stream -> canonical stream events.
//!
//! Handles: `data: [DONE]`; tool-call fragments appended per `index` (only a call's first
//! fragment has `id`/`name`; servers that send whole calls without `index` get one assigned);
//! the usage chunk with `choices: []` (and usage on the last content chunk, as some compatible
//! servers send it); Azure's annotation-only chunks with `choices: []` and no usage (skipped);
//! `usage: null` (ignored); `{"error":{...}}` mid-stream -> [`StreamEvent::Error`]. Usage is
//! emitted once, at `[DONE]` (or at the end of a stream that finished without one).

use serde::Deserialize;
use serde_json::Value;
use switchyard_types::{ErrorClass, GatewayError, StreamEvent, Usage};

use super::error::error_from_value;
use super::response::{finish_reason, WireToolCall, WireUsage};
use crate::sse::{parse_event, SseSplitter};
use crate::StreamDecoder;

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireDelta {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

/// Decodes an OpenAI-wire stream (OpenAI, Azure, compatible servers, Mistral).
#[derive(Debug, Default)]
pub struct OpenAiStreamDecoder {
    sse: SseSplitter,
    started: bool,
    /// `(choice, tool index)` of every tool call started.
    tools: Vec<(u32, u32)>,
    /// The last tool index fragments went to, per choice (for fragments without `index`).
    last_tool: Vec<(u32, u32)>,
    usage: Option<Usage>,
    /// Some choice reported a finish reason.
    finished: bool,
    /// `[DONE]` or an error was seen.
    done: bool,
}

impl OpenAiStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn handle(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        let data = data.trim();
        if self.done || data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            if let Some(u) = self.usage.take() {
                out.push(StreamEvent::Usage(u));
            }
            return Ok(());
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| {
            GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                format!("the provider sent a malformed stream chunk: {e}"),
            )
        })?;
        if let Some(err) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            out.push(StreamEvent::Error(error_from_value(None, err)));
            self.done = true;
            return Ok(());
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.to_canonical());
        }
        // Azure's prompt-filter annotations (and the usage chunk) have no choices.
        if chunk.choices.is_empty() {
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.id,
                model: chunk.model,
            });
        }
        for c in chunk.choices {
            if let Some(d) = c.delta {
                self.delta(c.index, d, out);
            }
            if let Some(reason) = c.finish_reason.as_deref() {
                match finish_reason(reason) {
                    Ok(reason) => {
                        self.finished = true;
                        out.push(StreamEvent::Finish {
                            choice: c.index,
                            reason,
                        });
                    }
                    Err(e) => {
                        out.push(StreamEvent::Error(e));
                        self.done = true;
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    fn delta(&mut self, choice: u32, d: WireDelta, out: &mut Vec<StreamEvent>) {
        if let Some(text) = d.reasoning_content.filter(|t| !t.is_empty()) {
            out.push(StreamEvent::ReasoningDelta { choice, text });
        }
        let text = match d.content {
            Some(Value::String(s)) => s,
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            _ => String::new(),
        };
        if !text.is_empty() {
            out.push(StreamEvent::TextDelta { choice, text });
        }
        // No canonical refusal event: the refusal text is streamed as text.
        if let Some(text) = d.refusal.filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta { choice, text });
        }
        for call in d.tool_calls.unwrap_or_default() {
            self.tool_fragment(choice, call, out);
        }
    }

    fn tool_fragment(&mut self, choice: u32, call: WireToolCall, out: &mut Vec<StreamEvent>) {
        let started_in_choice =
            u32::try_from(self.tools.iter().filter(|(c, _)| *c == choice).count())
                .unwrap_or(u32::MAX);
        let last = self
            .last_tool
            .iter()
            .find(|(c, _)| *c == choice)
            .map(|(_, i)| *i);
        let index = match (call.index, &call.id, last) {
            (Some(i), _, _) => i,
            // A whole call without `index`: the next one.
            (None, Some(_), _) | (None, None, None) => started_in_choice,
            (None, None, Some(i)) => i,
        };
        match self.last_tool.iter_mut().find(|(c, _)| *c == choice) {
            Some(entry) => entry.1 = index,
            None => self.last_tool.push((choice, index)),
        }
        let (name, arguments) = match &call.function {
            Some(f) => (f.name.clone(), f.arguments_text()),
            None => (None, String::new()),
        };
        if !self.tools.contains(&(choice, index)) {
            self.tools.push((choice, index));
            out.push(StreamEvent::ToolCallStart {
                choice,
                index,
                id: call.id.unwrap_or_default(),
                name: name.unwrap_or_default(),
                signature: None,
            });
        }
        if !arguments.is_empty() {
            out.push(StreamEvent::ToolCallDelta {
                choice,
                index,
                arguments,
            });
        }
    }
}

impl StreamDecoder for OpenAiStreamDecoder {
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
        self.done = true;
        if let Some(u) = self.usage.take() {
            out.push(StreamEvent::Usage(u));
        }
        // Some compatible servers end after the finish chunk without `[DONE]`.
        if self.finished {
            return Ok(());
        }
        Err(GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            "the provider's stream ended before it finished (truncated)",
        ))
    }
}

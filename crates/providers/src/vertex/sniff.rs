//! Picks the Gemini or the Anthropic translation for a Vertex answer by looking at it.
//!
//! [`crate::ChatAdapter`]'s response, stream and error hooks do not receive the model, and one
//! Vertex provider serves both Google's and Anthropic's models, so the answer itself decides:
//! - a body whose `type` is `"message"` is an Anthropic Messages response, anything else a
//!   `GenerateContentResponse`;
//! - a stream whose first SSE event has an `event:` name or a JSON `type` field
//!   (`message_start`, `ping`, `error`) is an Anthropic stream; Gemini events are bare `data:`
//!   objects with `candidates`. Bytes are held back only until the first event is complete;
//! - an error body with `"type":"error"` is Anthropic's; Google's own errors (Vertex answers
//!   for both publishers, e.g. quota 429s) use `{"error":{...}}`.

use http::HeaderMap;
use serde::Deserialize;
use switchyard_types::{ChatResponse, GatewayError, StreamEvent};

use crate::anthropic::AnthropicStreamDecoder;
use crate::gemini::GeminiStreamDecoder;
use crate::sse::{parse_event, SseSplitter};
use crate::{anthropic, gemini, StreamDecoder};

#[derive(Deserialize)]
struct Sniff {
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn json_type(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Sniff>(body).ok()?.kind
}

/// Decodes a non-streaming Vertex answer from either publisher.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    if json_type(body).as_deref() == Some("message") {
        anthropic::decode_response(body)
    } else {
        gemini::decode_response(body)
    }
}

/// Maps a Vertex error answer from either publisher.
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    if json_type(body).as_deref() == Some("error") {
        anthropic::map_error(status, headers, body)
    } else {
        gemini::map_error(status, headers, body)
    }
}

/// A stream decoder that becomes a Gemini or an Anthropic decoder at the first event.
#[derive(Default)]
pub struct SniffingDecoder {
    /// Bytes received before the first event was complete.
    held: Vec<u8>,
    inner: Option<Box<dyn StreamDecoder>>,
}

impl SniffingDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses by the first event (complete or, at the end of the body, whatever there is).
    fn choose(first_event: &[u8]) -> Box<dyn StreamDecoder> {
        let event = parse_event(first_event);
        let anthropic = event.event.is_some() || json_type(event.data.as_bytes()).is_some();
        if anthropic {
            Box::new(AnthropicStreamDecoder::new())
        } else {
            Box::new(GeminiStreamDecoder::new())
        }
    }

    fn first_event(&self, at_end: bool) -> Option<Vec<u8>> {
        let mut splitter = SseSplitter::new();
        splitter.push(&self.held);
        match splitter.next_event() {
            Some(e) => Some(e.to_vec()),
            None if at_end => splitter.remainder().map(|r| r.to_vec()),
            None => None,
        }
    }
}

impl StreamDecoder for SniffingDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if let Some(inner) = &mut self.inner {
            return inner.feed(chunk, out);
        }
        self.held.extend_from_slice(chunk);
        if let Some(first) = self.first_event(false) {
            let mut inner = Self::choose(&first);
            let held = std::mem::take(&mut self.held);
            let result = inner.feed(&held, out);
            self.inner = Some(inner);
            return result;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError> {
        if self.inner.is_none() {
            let first = self.first_event(true).unwrap_or_default();
            let mut inner = Self::choose(&first);
            let held = std::mem::take(&mut self.held);
            inner.feed(&held, out)?;
            self.inner = Some(inner);
        }
        match &mut self.inner {
            Some(inner) => inner.finish(out),
            None => Ok(()),
        }
    }
}

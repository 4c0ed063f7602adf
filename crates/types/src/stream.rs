//! Canonical stream events. Provider stream decoders emit these; egress encoders turn them into
//! the client's dialect (OpenAI chunks, Anthropic events). Order: `Start`, then deltas, then
//! `Finish` per choice, then `Usage` (once, when known), or `Error`.

use serde::{Deserialize, Serialize};

use crate::{FinishReason, GatewayError, Usage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The response began. `model` is the upstream model that answers.
    Start {
        id: String,
        model: String,
    },
    TextDelta {
        choice: u32,
        text: String,
    },
    ReasoningDelta {
        choice: u32,
        text: String,
    },
    /// Ends a reasoning block with its signature (Anthropic `signature_delta`).
    ReasoningSignature {
        choice: u32,
        signature: String,
    },
    RedactedReasoning {
        choice: u32,
        data: String,
    },
    /// A tool call begins. `index` counts tool calls within the choice from 0 (OpenAI's index).
    ToolCallStart {
        choice: u32,
        index: u32,
        id: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// A fragment of a tool call's JSON arguments.
    ToolCallDelta {
        choice: u32,
        index: u32,
        arguments: String,
    },
    Finish {
        choice: u32,
        reason: FinishReason,
    },
    /// Final usage for the whole response (running totals already folded in by the decoder).
    Usage(Usage),
    /// The upstream reported an error after the stream began.
    Error(GatewayError),
}

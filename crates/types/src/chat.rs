//! Canonical chat request and response.
//!
//! Conventions every translator follows:
//! - System and developer instructions are `Role::System` messages, in order. Providers that take
//!   a top-level system prompt gather them.
//! - Tool calls are `ContentPart::ToolCall` parts of an assistant message; tool results are
//!   `ContentPart::ToolResult` parts (an OpenAI `tool` message becomes a `Role::Tool` message
//!   holding one).
//! - Tool-call arguments are the JSON **text** the model produced (OpenAI's shape); providers
//!   that want an object parse it and pass unparsable text through as a string.
//! - Reasoning (Anthropic thinking, Gemini thoughts) is kept with its signature so it can be sent
//!   back unchanged on the next turn.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentPart>,
    /// OpenAI `name` on a message (participant name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: vec![ContentPart::text(text)],
            name: None,
        }
    }

    /// All text parts joined (no separator), ignoring every other part.
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for p in &self.content {
            if let ContentPart::Text { text, .. } = p {
                out.push_str(text);
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    Text {
        text: String,
        /// Provider prompt-cache marker (Anthropic `cache_control`), passed through as given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    Image {
        source: MediaSource,
        /// OpenAI `detail`: `auto` | `low` | `high`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    Audio {
        /// Base64 audio.
        data: String,
        /// `wav`, `mp3`, ...
        format: String,
    },
    File {
        source: MediaSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
    },
    ToolCall(ToolCall),
    ToolResult(ToolResult),
    /// Model reasoning (Anthropic `thinking`, Gemini `thought:true` text) with its signature.
    Reasoning {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Encrypted reasoning (Anthropic `redacted_thinking`, Bedrock `redactedContent`).
    RedactedReasoning {
        data: String,
    },
}

impl ContentPart {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            cache_control: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaSource {
    /// An http(s) URL (or a `data:` URL as the client gave it).
    Url { url: String },
    /// Inline bytes, base64-encoded, with their media type (`image/png`).
    Base64 { media_type: String, data: String },
    /// A provider-side file id (OpenAI `file_id`, Gemini `fileUri`).
    FileId { id: String },
}

impl MediaSource {
    /// Turns a `data:<media>;base64,<data>` URL into `Base64`; other sources are returned as-is.
    pub fn normalize_data_url(self) -> Self {
        if let MediaSource::Url { url } = &self {
            if let Some(rest) = url.strip_prefix("data:") {
                if let Some((meta, data)) = rest.split_once(',') {
                    if let Some(media_type) = meta.strip_suffix(";base64") {
                        return MediaSource::Base64 {
                            media_type: media_type.to_string(),
                            data: data.to_string(),
                        };
                    }
                }
            }
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text of the arguments, exactly as the model produced it.
    pub arguments: String,
    /// Gemini `thoughtSignature` attached to the function-call part, echoed back next turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    /// The called function's name when known (Gemini needs it; OpenAI does not send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text and image parts.
    pub content: Vec<ContentPart>,
    #[serde(default)]
    pub is_error: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
}

/// What the client asked of reasoning: OpenAI `reasoning_effort`, or an explicit token budget
/// (Anthropic `thinking.budget_tokens`, Gemini `thinkingBudget`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reasoning {
    pub effort: Option<ReasoningEffort>,
    pub budget_tokens: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model as the provider should see it (the router rewrites the public name).
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Anthropic/Gemini `top_k` (no OpenAI equivalent).
    pub top_k: Option<u32>,
    /// OpenAI `max_completion_tokens` (or legacy `max_tokens`), Anthropic `max_tokens`.
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    /// Number of choices (OpenAI `n`, Gemini `candidateCount`).
    pub n: Option<u32>,
    pub logprobs: Option<bool>,
    pub top_logprobs: Option<u32>,
    pub reasoning: Option<Reasoning>,
    pub stream: bool,
    /// The client asked for usage on the stream (`stream_options.include_usage`).
    pub include_usage: bool,
    /// End-user id (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// Fields the ingress did not recognise, kept for providers that understand them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

impl FinishReason {
    pub fn as_openai(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    /// An assistant message: text, reasoning and tool-call parts.
    pub message: Message,
    pub finish_reason: Option<FinishReason>,
    /// Refusal text (OpenAI `refusal`), when the model refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    /// The upstream model that answered.
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    /// The raw stop reason the provider gave (`end_turn`, `STOP`, ...), for clients of the same
    /// dialect and for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_stop_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_url_becomes_base64() {
        let s = MediaSource::Url {
            url: "data:image/png;base64,iVBOR".into(),
        }
        .normalize_data_url();
        assert_eq!(
            s,
            MediaSource::Base64 {
                media_type: "image/png".into(),
                data: "iVBOR".into()
            }
        );
        let u = MediaSource::Url {
            url: "https://x/y.png".into(),
        };
        assert_eq!(u.clone().normalize_data_url(), u);
    }
}

//! Anthropic Messages API adapter (`POST {base}/v1/messages`).
//!
//! The conversion is exposed as free functions so other adapters that serve Claude with the same
//! body (Vertex `rawPredict`) reuse it: [`encode_request`], [`decode_response`],
//! [`AnthropicStreamDecoder`] and [`map_error`].
//!
//! Translation decisions (canonical/OpenAI semantics -> Anthropic):
//! - **System** messages, wherever they appear, are gathered in order into the top-level
//!   `system` (a plain string for one uncached text, else text blocks keeping `cache_control`).
//! - **Turns** alternate `user`/`assistant`; consecutive same-role turns (including `Role::Tool`
//!   messages, which become user turns of `tool_result` blocks) are merged, and within a user turn
//!   `tool_result` blocks are moved before any other block, as Anthropic requires. Empty text
//!   parts are left out; a final assistant turn (prefill) loses its trailing whitespace.
//! - **Tool-call arguments** are JSON text canonically; Anthropic wants an object. Text that
//!   parses to an object is sent as that object, empty text as `{}`; anything else (unparsable
//!   or a non-object value, e.g. a call truncated at `max_tokens`) is sent as
//!   `{"_raw": "<text>"}` so the history stays valid and nothing is lost.
//! - **Temperature**: OpenAI takes 0-2, Anthropic 0-1. Values above 1 are clamped to 1.0 (the
//!   closest value Anthropic accepts; it is not reported as dropped because it is sent).
//!   Negative or non-finite values are a client error.
//! - **`max_tokens`** is required: the client's, else `AnthropicOptions::default_max_tokens`.
//! - **Reasoning**: an explicit `budget_tokens` wins (0 disables thinking, values below 1024 are
//!   raised to Anthropic's minimum of 1024); else effort `low` 1024, `medium` 4096, `high` 16384,
//!   `minimal`/`none` no thinking. When `max_tokens <= budget`, `max_tokens` becomes
//!   `budget + max_tokens` so the answer keeps the room the client asked for. With thinking on,
//!   Anthropic refuses `temperature`, `top_k`, `top_p` below 0.95 and forced tool choice; these
//!   go through the `unsupported_params` policy. Reasoning parts in the history are sent back as
//!   `thinking` (with signature) / `redacted_thinking` blocks first in their turn; reasoning
//!   without a signature (e.g. from another provider) cannot be verified by Anthropic and is
//!   left out.
//! - **JSON mode** (`json_object` / `json_schema`) becomes a tool named [`JSON_TOOL_NAME`] whose
//!   `input_schema` is the schema, forced with `tool_choice` (or `any` when the client has tools
//!   of its own, `auto` with thinking). The decoders turn that tool's input back into the text
//!   of the answer (streamed `input_json_delta` fragments become text deltas) and report finish
//!   reason `stop`. A client tool with the reserved name is refused.
//! - **Unsupported** (`n > 1`, `seed`, `presence_penalty`, `frequency_penalty`, `logprobs`,
//!   `top_logprobs`, audio parts) go through the provider's `unsupported_params` policy. `strict`
//!   on tools and `extra` fields (which come from other dialects) are not sent.

mod error;
mod request;
mod response;
mod stream;

use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_types::{ChatRequest, ChatResponse, GatewayError};

use crate::{ChatAdapter, Dropped, StreamDecoder, WireRequest};

pub use error::map_error;
pub use request::encode_request;
pub use response::{decode_response, WireUsage};
pub use stream::AnthropicStreamDecoder;

/// Name of the tool that carries a JSON-mode answer (see the module docs).
pub const JSON_TOOL_NAME: &str = "switchyard_json_response";

/// Default `max_tokens` when neither the client nor the config gives one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
const DEFAULT_VERSION: &str = "2023-06-01";

/// Per-provider settings the request encoder needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnthropicOptions {
    /// `max_tokens` to send when the client gave none.
    pub default_max_tokens: u32,
    /// What to do with parameters Anthropic cannot honour.
    pub unsupported: UnsupportedParams,
}

impl Default for AnthropicOptions {
    fn default() -> Self {
        Self {
            default_max_tokens: DEFAULT_MAX_TOKENS,
            unsupported: UnsupportedParams::Drop,
        }
    }
}

impl AnthropicOptions {
    pub fn from_config(cfg: &ProviderConfig) -> Self {
        Self {
            default_max_tokens: cfg.default_max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            unsupported: cfg.unsupported_params,
        }
    }
}

/// The Anthropic Messages API adapter.
pub struct AnthropicAdapter {
    url: String,
    /// Every header but the body's content type: key, version, configured extras.
    headers: Vec<(HeaderName, HeaderValue)>,
    opts: AnthropicOptions,
}

impl std::fmt::Debug for AnthropicAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicAdapter")
            .field("url", &self.url)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl AnthropicAdapter {
    /// Builds the adapter from its provider config. Fails on header names or values that
    /// cannot be sent (the message never includes a secret).
    pub fn new(cfg: &ProviderConfig) -> Result<Self, String> {
        let base = cfg
            .base_url
            .as_deref()
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let mut headers = Vec::new();
        if let Some(key) = &cfg.api_key {
            let mut v = HeaderValue::from_str(key.expose())
                .map_err(|_| "anthropic api_key is not a valid header value".to_string())?;
            v.set_sensitive(true);
            headers.push((HeaderName::from_static("x-api-key"), v));
        }
        let version = cfg.anthropic_version.as_deref().unwrap_or(DEFAULT_VERSION);
        let v = HeaderValue::from_str(version)
            .map_err(|_| format!("invalid anthropic_version {version:?}"))?;
        headers.push((HeaderName::from_static("anthropic-version"), v));
        headers.extend(extra_headers(cfg)?);
        Ok(Self {
            url: format!("{base}/v1/messages"),
            headers,
            opts: AnthropicOptions::from_config(cfg),
        })
    }

    /// The Messages endpoint this adapter posts to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Auth, version and configured extra headers, as sent on every request (the server's
    /// Anthropic pass-through uses them with the client's own body).
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }
}

/// Parses `cfg.headers` into header pairs.
pub(crate) fn extra_headers(
    cfg: &ProviderConfig,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::with_capacity(cfg.headers.len());
    for (name, value) in &cfg.headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for header {name:?}"))?;
        out.push((n, v));
    }
    Ok(out)
}

impl ChatAdapter for AnthropicAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        let body = encode_request(req, &self.opts, dropped)?;
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| GatewayError::internal(format!("encoding anthropic request: {e}")))?;
        let mut wire = WireRequest::post_json(self.url.clone(), bytes);
        wire.headers.extend(self.headers.iter().cloned());
        Ok(wire)
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(AnthropicStreamDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        map_error(status, headers, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::Secret;

    #[test]
    fn builds_url_and_headers() {
        let cfg = ProviderConfig {
            api_key: Some(Secret::new("sk-ant-123".into())),
            base_url: Some("http://127.0.0.1:9/".into()),
            headers: [("anthropic-beta".to_string(), "x-1".to_string())].into(),
            ..Default::default()
        };
        let a = AnthropicAdapter::new(&cfg).unwrap();
        assert_eq!(a.url(), "http://127.0.0.1:9/v1/messages");
        let req = ChatRequest {
            model: "claude".into(),
            messages: vec![switchyard_types::Message::text(
                switchyard_types::Role::User,
                "hi",
            )],
            ..Default::default()
        };
        let wire = a.chat_request(&req, &mut Dropped::default()).unwrap();
        let get = |n: &str| {
            wire.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("x-api-key"), "sk-ant-123");
        assert!(get("x-api-key").is_sensitive());
        assert_eq!(get("anthropic-version"), "2023-06-01");
        assert_eq!(get("anthropic-beta"), "x-1");
        assert_eq!(get("content-type"), "application/json");
        assert!(!format!("{a:?}").contains("sk-ant"));
    }

    #[test]
    fn rejects_bad_header_config() {
        let cfg = ProviderConfig {
            headers: [("bad header".to_string(), "v".to_string())].into(),
            ..Default::default()
        };
        assert!(AnthropicAdapter::new(&cfg).is_err());
        let cfg = ProviderConfig {
            anthropic_version: Some("2023\n".into()),
            ..Default::default()
        };
        assert!(AnthropicAdapter::new(&cfg).is_err());
    }
}

//! OpenAI Chat Completions wire adapter, for OpenAI, Azure OpenAI and OpenAI-compatible servers.
//!
//! Used when the client speaks another dialect (Anthropic in, OpenAI out); the server's
//! same-dialect pass-through uses only [`OpenAiAdapter::chat_url`],
//! [`OpenAiAdapter::embeddings_url`] and [`OpenAiAdapter::auth_headers`].
//!
//! The conversion is exposed as free functions other OpenAI-like adapters (Mistral) reuse:
//! [`encode_request`], [`decode_response`], [`OpenAiStreamDecoder`], [`map_error`],
//! [`encode_embed_request`], [`decode_embed_response`].
//!
//! Translation decisions:
//! - Reasoning parts in the history are not sent (Chat Completions has no field for them).
//! - An explicit reasoning budget without an effort is sent as the nearest `reasoning_effort`
//!   (0 -> `none`, <= 1024 -> `low`, <= 8192 -> `medium`, else `high`).
//! - Images returned inside tool results cannot go in a `tool` message: they follow the run of
//!   `tool` messages as a user message, each image labelled with its `tool_call_id`.
//! - `max_tokens` is sent as `max_completion_tokens`; streaming always asks for
//!   `stream_options.include_usage` (the gateway meters every stream).
//! - `top_k` is sent for OpenAI-compatible servers (vLLM, llama.cpp take it) and goes through the
//!   `unsupported_params` policy for OpenAI and Azure.
//! - `extra` fields are copied through without overriding translated ones.

mod embed;
mod error;
mod request;
mod response;
mod stream;

use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_types::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorClass, GatewayError,
};

use crate::anthropic::extra_headers;
use crate::{unsupported, ChatAdapter, Dropped, StreamDecoder, WireRequest};

pub use embed::{decode_embed_response, encode_embed_request};
pub use error::map_error;
pub use request::{check_request, encode_request};
pub use response::decode_response;
pub use stream::OpenAiStreamDecoder;

const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Azure `api-version` when the config gives none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// Which OpenAI-wire service the adapter talks to (URLs and auth differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiFlavor {
    OpenAi,
    Azure,
    Compatible,
}

impl OpenAiFlavor {
    fn provider_name(self) -> &'static str {
        match self {
            OpenAiFlavor::OpenAi => "openai",
            OpenAiFlavor::Azure => "azure_openai",
            OpenAiFlavor::Compatible => "openai_compatible",
        }
    }
}

/// The OpenAI Chat Completions adapter.
pub struct OpenAiAdapter {
    flavor: OpenAiFlavor,
    /// Base URL without a trailing slash.
    base: String,
    /// Azure: `Some(api-version)` for the deployments surface, `None` for the v1 surface.
    api_version: Option<String>,
    /// Auth headers (sensitive) followed by the configured extra headers.
    headers: Vec<(HeaderName, HeaderValue)>,
    unsupported: UnsupportedParams,
}

impl std::fmt::Debug for OpenAiAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiAdapter")
            .field("flavor", &self.flavor)
            .field("base", &self.base)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

fn sensitive(value: &str, what: &str) -> Result<HeaderValue, String> {
    let mut v =
        HeaderValue::from_str(value).map_err(|_| format!("{what} is not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

impl OpenAiAdapter {
    /// Builds the adapter. `Compatible` and `Azure` need a `base_url`.
    pub fn new(cfg: &ProviderConfig, flavor: OpenAiFlavor) -> Result<Self, String> {
        let base = match (cfg.base_url.as_deref(), flavor) {
            (Some(b), _) => b,
            (None, OpenAiFlavor::OpenAi) => OPENAI_BASE_URL,
            (None, _) => return Err(format!("{} needs a base_url", flavor.provider_name())),
        };
        let base = base.trim_end_matches('/').to_string();
        let mut headers = Vec::new();
        let bearer = |secret: &str, what: &str| {
            sensitive(&format!("Bearer {secret}"), what).map(|v| (http::header::AUTHORIZATION, v))
        };
        match flavor {
            OpenAiFlavor::Azure => {
                if let Some(token) = &cfg.azure_ad_token {
                    headers.push(bearer(token.expose(), "azure_ad_token")?);
                } else if let Some(key) = &cfg.api_key {
                    headers.push((
                        HeaderName::from_static("api-key"),
                        sensitive(key.expose(), "api_key")?,
                    ));
                }
            }
            OpenAiFlavor::OpenAi | OpenAiFlavor::Compatible => {
                if let Some(key) = cfg.api_key.as_ref().filter(|k| !k.expose().is_empty()) {
                    headers.push(bearer(key.expose(), "api_key")?);
                }
            }
        }
        headers.extend(extra_headers(cfg)?);
        let api_version = match flavor {
            OpenAiFlavor::Azure if !base.ends_with("/openai/v1") => Some(
                cfg.api_version
                    .clone()
                    .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_string()),
            ),
            _ => None,
        };
        Ok(Self {
            flavor,
            base,
            api_version,
            headers,
            unsupported: cfg.unsupported_params,
        })
    }

    pub fn flavor(&self) -> OpenAiFlavor {
        self.flavor
    }

    /// The chat-completions URL for `upstream_model` (an Azure deployment name on Azure).
    pub fn chat_url(&self, upstream_model: &str) -> String {
        self.url("chat/completions", upstream_model)
    }

    /// The embeddings URL for `upstream_model` (an Azure deployment name on Azure).
    pub fn embeddings_url(&self, upstream_model: &str) -> String {
        self.url("embeddings", upstream_model)
    }

    fn url(&self, op: &str, model: &str) -> String {
        match &self.api_version {
            Some(version) => {
                // Accept a base given with or without its trailing `/openai`.
                let root = self.base.strip_suffix("/openai").unwrap_or(&self.base);
                format!(
                    "{root}/openai/deployments/{}/{op}?api-version={}",
                    encode_segment(model),
                    encode_segment(version)
                )
            }
            None => format!("{}/{op}", self.base),
        }
    }

    /// Auth headers (values marked sensitive) and the configured extra headers.
    pub fn auth_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        self.headers.clone()
    }

    fn wire(
        &self,
        url: String,
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<WireRequest, GatewayError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| GatewayError::internal(format!("encoding openai request: {e}")))?;
        let mut wire = WireRequest::post_json(url, bytes);
        wire.headers.extend(self.headers.iter().cloned());
        Ok(wire)
    }
}

/// Percent-encodes a URL path segment or query value (RFC 3986 unreserved characters kept).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ChatAdapter for OpenAiAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        check_request(req)?;
        let mut body = encode_request(req);
        if self.flavor != OpenAiFlavor::Compatible && body.contains_key("top_k") {
            unsupported(
                self.unsupported,
                self.flavor.provider_name(),
                "top_k",
                dropped,
            )?;
            body.remove("top_k");
        }
        self.wire(self.chat_url(&req.model), &body)
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(OpenAiStreamDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        map_error(status, headers, body)
    }

    fn embed_request(&self, req: &EmbedRequest) -> Result<WireRequest, GatewayError> {
        if req.input.is_empty() {
            return Err(GatewayError::client(
                ErrorClass::BadRequest,
                "embeddings input must not be empty",
            )
            .with_param("input"));
        }
        self.wire(self.embeddings_url(&req.model), &encode_embed_request(req))
    }

    fn embed_response(
        &self,
        req: &EmbedRequest,
        body: &[u8],
    ) -> Result<EmbedResponse, GatewayError> {
        crate::fill_embed_model(decode_embed_response(body), req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("gpt-4o_mini.v1"), "gpt-4o_mini.v1");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn compatible_needs_base_url() {
        let err =
            OpenAiAdapter::new(&ProviderConfig::default(), OpenAiFlavor::Compatible).unwrap_err();
        assert!(err.contains("base_url"));
        assert!(OpenAiAdapter::new(&ProviderConfig::default(), OpenAiFlavor::Azure).is_err());
        assert!(OpenAiAdapter::new(&ProviderConfig::default(), OpenAiFlavor::OpenAi).is_ok());
    }
}

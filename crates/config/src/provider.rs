//! Provider configuration: one struct for every kind; `validate` checks that each kind has what
//! it needs and nothing it would ignore.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchyard_types::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Openai,
    AzureOpenai,
    Anthropic,
    Gemini,
    Vertex,
    Bedrock,
    Cohere,
    Mistral,
    OpenaiCompatible,
    Mock,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 10] = [
        ProviderKind::Openai,
        ProviderKind::AzureOpenai,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Vertex,
        ProviderKind::Bedrock,
        ProviderKind::Cohere,
        ProviderKind::Mistral,
        ProviderKind::OpenaiCompatible,
        ProviderKind::Mock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::AzureOpenai => "azure_openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Vertex => "vertex",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Cohere => "cohere",
            ProviderKind::Mistral => "mistral",
            ProviderKind::OpenaiCompatible => "openai_compatible",
            ProviderKind::Mock => "mock",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Speaks the OpenAI Chat Completions wire format (same-dialect fast path applies).
    pub fn is_openai_wire(self) -> bool {
        matches!(
            self,
            ProviderKind::Openai | ProviderKind::AzureOpenai | ProviderKind::OpenaiCompatible
        )
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Openai => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::Cohere => Some("https://api.cohere.com"),
            ProviderKind::Mistral => Some("https://api.mistral.ai/v1"),
            // Derived from region/location, or required.
            ProviderKind::AzureOpenai
            | ProviderKind::Vertex
            | ProviderKind::Bedrock
            | ProviderKind::OpenaiCompatible
            | ProviderKind::Mock => None,
        }
    }
}

/// What to do with a request parameter the provider cannot honour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedParams {
    /// Drop it and name it in the `x-switchyard-dropped-params` response header.
    #[default]
    Drop,
    /// Refuse the request with a 400 naming the parameter.
    Reject,
}

/// Timeouts in milliseconds. Absent means the gateway default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    /// TCP+TLS connect. Default 5 000.
    pub connect_ms: Option<u64>,
    /// Until the response head (and, for streams, the first event). Default 60 000.
    pub first_byte_ms: Option<u64>,
    /// Whole request, non-streaming. Default 600 000.
    pub request_ms: Option<u64>,
    /// Longest silence between two stream events. Default 60 000.
    pub idle_ms: Option<u64>,
}

/// The `mock` provider: answers in-process, deterministically. Powers the offline quickstart,
/// tests and benchmarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MockConfig {
    /// Delay before a non-streaming answer, or before the first stream event.
    #[serde(default)]
    pub latency_ms: u64,
    /// Stream only: delay before the first token (after `latency_ms`).
    #[serde(default)]
    pub ttft_ms: u64,
    /// Stream only: tokens per second after the first; 0 = as fast as possible.
    #[serde(default)]
    pub tokens_per_second: u64,
    /// Fraction of requests (0..=1) that fail with `failure_status`.
    #[serde(default)]
    pub failure_rate: f64,
    #[serde(default = "default_failure_status")]
    pub failure_status: u16,
    /// The answer's text; default echoes the last user message.
    #[serde(default)]
    pub content: Option<String>,
    /// Usage to report; default counts whitespace-separated words.
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
}

fn default_failure_status() -> u16 {
    500
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            ttft_ms: 0,
            tokens_per_second: 0,
            failure_rate: 0.0,
            failure_status: 500,
            content: None,
            prompt_tokens: None,
            completion_tokens: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub kind: Option<ProviderKind>,
    pub api_key: Option<Secret<String>>,
    pub base_url: Option<String>,
    /// Azure OpenAI `api-version` query parameter.
    pub api_version: Option<String>,
    /// Azure: send the key as `Authorization: Bearer` (an Entra ID token) instead of `api-key`.
    #[serde(default)]
    pub azure_ad_token: Option<Secret<String>>,
    /// Bedrock region.
    pub region: Option<String>,
    pub access_key_id: Option<Secret<String>>,
    pub secret_access_key: Option<Secret<String>>,
    pub session_token: Option<Secret<String>>,
    /// Vertex project and location.
    pub project: Option<String>,
    pub location: Option<String>,
    /// Vertex service-account JSON file.
    pub credentials_file: Option<String>,
    /// Vertex OAuth token endpoint (tests point it at a fake).
    pub token_url: Option<String>,
    /// Vertex: a static access token instead of a service account.
    pub access_token: Option<Secret<String>>,
    /// Anthropic `anthropic-version` header; default `2023-06-01`.
    pub anthropic_version: Option<String>,
    /// `max_tokens` to send when the client gave none and the provider requires one.
    pub default_max_tokens: Option<u32>,
    /// Extra headers sent on every upstream request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub unsupported_params: UnsupportedParams,
    /// `mock` only.
    pub mock: Option<MockConfig>,
}

impl ProviderConfig {
    pub fn kind(&self) -> ProviderKind {
        self.kind.unwrap_or(ProviderKind::Mock)
    }
}

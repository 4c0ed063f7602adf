//! Vertex AI adapter (PROVIDERS.md section 5): Google's Gemini models and Anthropic's Claude
//! models behind one Google Cloud project.
//!
//! - Host `https://{location}-aiplatform.googleapis.com` (`global` ->
//!   `https://aiplatform.googleapis.com`); `base_url` replaces the host (tests). Location
//!   defaults to `us-central1`; `project` is required.
//! - Models whose name starts with `claude` go to the Anthropic publisher:
//!   `/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict` (stream:
//!   `:streamRawPredict`), body = the Anthropic Messages body without `model` and with
//!   `"anthropic_version":"vertex-2023-10-16"`. Every other model goes to
//!   `.../publishers/google/models/{model}:generateContent` (stream:
//!   `:streamGenerateContent?alt=sse`) with the Gemini body.
//! - Answers, streams and errors are routed to the right decoder by sniffing them (sniff.rs):
//!   the adapter hooks do not receive the model.
//! - Auth in [`ChatAdapter::authorize`]: `Authorization: Bearer` with the configured static
//!   `access_token`, or a cached OAuth token minted from the `credentials_file` service
//!   account (auth.rs).
//! - Embeddings are not offered through Vertex yet (the trait's default `Unsupported`).

mod auth;
mod sniff;

use std::time::Duration;

use http::{HeaderMap, HeaderName};
use serde_json::Value;
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_types::{ChatRequest, ChatResponse, GatewayError, Secret};

pub use auth::{ServiceAccount, TokenSource, DEFAULT_TOKEN_URL, REFRESH_MARGIN, SCOPE};
pub use sniff::{decode_response, map_error, SniffingDecoder};

use crate::anthropic::AnthropicOptions;
use crate::client::HttpClient;
use crate::{anthropic, gemini, BoxFuture, ChatAdapter, Dropped, StreamDecoder, WireRequest};

const DEFAULT_LOCATION: &str = "us-central1";
/// `anthropic_version` Vertex expects in Claude bodies.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";
/// Bound on one token-endpoint exchange when no `first_byte_ms` is configured.
const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

enum Auth {
    Static(Secret<String>),
    ServiceAccount(Box<TokenSource>),
}

/// The Vertex AI adapter.
pub struct VertexAdapter {
    host: String,
    project: String,
    location: String,
    auth: Auth,
    headers: Vec<(HeaderName, String)>,
    unsupported: UnsupportedParams,
    anthropic: AnthropicOptions,
}

impl std::fmt::Debug for VertexAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.auth {
            Auth::Static(_) => "static access token",
            Auth::ServiceAccount(_) => "service account",
        };
        f.debug_struct("VertexAdapter")
            .field("host", &self.host)
            .field("project", &self.project)
            .field("location", &self.location)
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

/// Which publisher serves a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    Google,
    Anthropic,
}

impl Publisher {
    pub fn for_model(model: &str) -> Self {
        if model.starts_with("claude") {
            Publisher::Anthropic
        } else {
            Publisher::Google
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Publisher::Google => "google",
            Publisher::Anthropic => "anthropic",
        }
    }
}

fn path_safe(value: &str, extra: &[char]) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || extra.contains(&c))
}

impl VertexAdapter {
    /// Builds the adapter. Reads and parses `credentials_file` when no `access_token` is
    /// given. Errors never contain key material.
    pub fn new(cfg: &ProviderConfig, client: HttpClient) -> Result<Self, String> {
        let project = cfg.project.clone().ok_or("vertex: `project` is required")?;
        if !path_safe(&project, &['.', ':', '_']) {
            return Err(format!("vertex: invalid project `{project}`"));
        }
        let location = cfg
            .location
            .clone()
            .unwrap_or_else(|| DEFAULT_LOCATION.to_string());
        if !path_safe(&location, &[]) {
            return Err(format!("vertex: invalid location `{location}`"));
        }
        let host = match &cfg.base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None if location == "global" => "https://aiplatform.googleapis.com".to_string(),
            None => format!("https://{location}-aiplatform.googleapis.com"),
        };
        let auth = match (&cfg.access_token, &cfg.credentials_file) {
            (Some(token), _) if !token.expose().is_empty() => Auth::Static(token.clone()),
            (_, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("vertex: cannot read credentials_file `{path}`: {e}"))?;
                let account = ServiceAccount::from_json(&text)
                    .map_err(|e| format!("vertex: credentials_file `{path}`: {e}"))?;
                let token_url = cfg
                    .token_url
                    .clone()
                    .or_else(|| account.token_uri().map(str::to_string))
                    .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_string());
                let timeout = cfg
                    .timeouts
                    .first_byte_ms
                    .map(Duration::from_millis)
                    .unwrap_or(DEFAULT_TOKEN_TIMEOUT);
                Auth::ServiceAccount(Box::new(
                    TokenSource::new(account, token_url, client, timeout)
                        .map_err(|e| format!("vertex: {e}"))?,
                ))
            }
            _ => return Err("vertex: needs `access_token` or `credentials_file`".into()),
        };
        Ok(Self {
            host,
            project,
            location,
            auth,
            headers: gemini::parse_headers(cfg).map_err(|e| format!("vertex: {e}"))?,
            unsupported: cfg.unsupported_params,
            anthropic: AnthropicOptions::from_config(cfg),
        })
    }

    /// The full URL for `model`'s `method` (`generateContent`, `rawPredict`, ...).
    pub fn url(&self, model: &str, method: &str) -> Result<String, GatewayError> {
        gemini::check_model(model)?;
        if model.contains('/') {
            return Err(
                GatewayError::bad_request(format!("invalid Vertex model name `{model}`"))
                    .with_param("model"),
            );
        }
        Ok(format!(
            "{}/v1/projects/{}/locations/{}/publishers/{}/models/{model}:{method}",
            self.host,
            self.project,
            self.location,
            Publisher::for_model(model).as_str()
        ))
    }

    /// The token source, when authenticating with a service account.
    pub fn token_source(&self) -> Option<&TokenSource> {
        match &self.auth {
            Auth::ServiceAccount(t) => Some(t),
            Auth::Static(_) => None,
        }
    }
}

impl ChatAdapter for VertexAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        let (url, body) = match Publisher::for_model(&req.model) {
            Publisher::Anthropic => {
                let mut body = anthropic::encode_request(req, &self.anthropic, dropped)?;
                body.remove("model");
                body.insert(
                    "anthropic_version".into(),
                    Value::String(ANTHROPIC_VERSION.into()),
                );
                let method = if req.stream {
                    "streamRawPredict"
                } else {
                    "rawPredict"
                };
                (self.url(&req.model, method)?, body)
            }
            Publisher::Google => {
                let body = gemini::encode_request(req, self.unsupported, dropped)?;
                let url = if req.stream {
                    self.url(&req.model, "streamGenerateContent")? + "?alt=sse"
                } else {
                    self.url(&req.model, "generateContent")?
                };
                (url, body)
            }
        };
        let bytes = serde_json::to_vec(&Value::Object(body)).map_err(|e| {
            GatewayError::internal(format!("could not serialise the Vertex body: {e}"))
        })?;
        let mut wire = WireRequest::post_json(url, bytes);
        for (name, value) in &self.headers {
            wire.header(name.clone(), value)?;
        }
        Ok(wire)
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(SniffingDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        map_error(status, headers, body)
    }

    /// Adds `Authorization: Bearer <token>` (replacing any earlier one, so a retried request
    /// can be authorized again).
    fn authorize<'a>(
        &'a self,
        mut req: WireRequest,
    ) -> BoxFuture<'a, Result<WireRequest, GatewayError>> {
        Box::pin(async move {
            let token = match &self.auth {
                Auth::Static(t) => t.clone(),
                Auth::ServiceAccount(source) => source.token().await?,
            };
            req.headers
                .retain(|(n, _)| n != http::header::AUTHORIZATION);
            req.secret_header(
                http::header::AUTHORIZATION,
                &format!("Bearer {}", token.expose()),
            )?;
            Ok(req)
        })
    }
}

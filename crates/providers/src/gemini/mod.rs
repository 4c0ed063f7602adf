//! Google Gemini API (AI Studio) adapter: `POST {base}/v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`, key in `x-goog-api-key` (PROVIDERS.md section 4).
//!
//! The translation is split by direction and shared with Vertex AI, which speaks the same
//! bodies: [`encode_request`] (request.rs, with JSON-schema cleaning in schema.rs),
//! [`decode_response`] (response.rs), [`GeminiStreamDecoder`] (stream.rs), [`map_error`]
//! (error.rs) and embeddings (embed.rs). Each file's header lists its decisions.

mod embed;
mod error;
mod request;
mod response;
pub mod schema;
mod stream;

use http::{HeaderMap, HeaderName};
use serde_json::Value;
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_types::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, GatewayError, Secret,
};

pub use embed::{decode_embed_response, encode_embed, estimate_tokens};
pub use error::map_error;
pub use request::{effort_budget, encode_request, guess_mime};
pub use response::decode_response;
pub use stream::GeminiStreamDecoder;

use crate::{ChatAdapter, Dropped, StreamDecoder, WireRequest};

const DEFAULT_BASE: &str = "https://generativelanguage.googleapis.com";

/// The Gemini API adapter.
#[derive(Debug, Clone)]
pub struct GeminiAdapter {
    base: String,
    api_key: Secret<String>,
    headers: Vec<(HeaderName, String)>,
    unsupported: UnsupportedParams,
}

impl GeminiAdapter {
    pub fn new(cfg: &ProviderConfig) -> Result<Self, String> {
        let api_key = cfg
            .api_key
            .clone()
            .filter(|k| !k.expose().is_empty())
            .ok_or_else(|| "gemini: `api_key` is required".to_string())?;
        let base = cfg
            .base_url
            .as_deref()
            .unwrap_or(DEFAULT_BASE)
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            base,
            api_key,
            headers: parse_headers(cfg)?,
            unsupported: cfg.unsupported_params,
        })
    }

    /// `{base}/v1beta/{resource}:{method}`.
    fn url(&self, model: &str, method: &str) -> Result<String, GatewayError> {
        Ok(format!(
            "{}/v1beta/{}:{method}",
            self.base,
            resource_name(model)?
        ))
    }

    fn finish_request(&self, url: String, body: &Value) -> Result<WireRequest, GatewayError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            GatewayError::internal(format!("could not serialise the Gemini body: {e}"))
        })?;
        let mut wire = WireRequest::post_json(url, bytes);
        for (name, value) in &self.headers {
            wire.header(name.clone(), value)?;
        }
        wire.secret_header(
            HeaderName::from_static("x-goog-api-key"),
            self.api_key.expose(),
        )?;
        Ok(wire)
    }
}

/// Configured extra headers, checked once.
pub(crate) fn parse_headers(cfg: &ProviderConfig) -> Result<Vec<(HeaderName, String)>, String> {
    cfg.headers
        .iter()
        .map(|(k, v)| {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("invalid header name `{k}`"))?;
            http::HeaderValue::from_str(v)
                .map_err(|_| format!("invalid value for header `{k}`"))?;
            Ok((name, v.clone()))
        })
        .collect()
}

/// Checks a model name before it goes into a URL path.
pub(crate) fn check_model(model: &str) -> Result<(), GatewayError> {
    let ok = !model.is_empty()
        && !model.contains("..")
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/'));
    if ok {
        Ok(())
    } else {
        Err(GatewayError::bad_request(format!("invalid model name `{model}`")).with_param("model"))
    }
}

/// `gemini-2.5-flash` -> `models/gemini-2.5-flash`; a name that already has a collection
/// (`models/x`, `tunedModels/x`) is kept.
pub(crate) fn resource_name(model: &str) -> Result<String, GatewayError> {
    check_model(model)?;
    Ok(if model.contains('/') {
        model.to_string()
    } else {
        format!("models/{model}")
    })
}

impl ChatAdapter for GeminiAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        let body = encode_request(req, self.unsupported, dropped)?;
        let url = if req.stream {
            self.url(&req.model, "streamGenerateContent")? + "?alt=sse"
        } else {
            self.url(&req.model, "generateContent")?
        };
        self.finish_request(url, &Value::Object(body))
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(GeminiStreamDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        map_error(status, headers, body)
    }

    fn embed_request(&self, req: &EmbedRequest) -> Result<WireRequest, GatewayError> {
        let resource = resource_name(&req.model)?;
        let (method, body) = encode_embed(req, &resource)?;
        let url = format!("{}/v1beta/{resource}:{method}", self.base);
        self.finish_request(url, &body)
    }

    /// Usage is Gemini's own when present, else the documented estimate from the inputs.
    fn embed_response(
        &self,
        req: &EmbedRequest,
        body: &[u8],
    ) -> Result<EmbedResponse, GatewayError> {
        decode_embed_response(body, &req.model, &req.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        assert_eq!(
            resource_name("gemini-2.5-flash").unwrap(),
            "models/gemini-2.5-flash"
        );
        assert_eq!(
            resource_name("tunedModels/my-1").unwrap(),
            "tunedModels/my-1"
        );
        assert!(resource_name("a?b").is_err());
        assert!(resource_name("../x").is_err());
        assert!(resource_name("").is_err());
    }
}

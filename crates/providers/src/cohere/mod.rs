//! Cohere adapter: v2 Chat (`POST {base}/v2/chat`, SSE when streaming) and v2 Embed
//! (`POST {base}/v2/embed`), Bearer auth (PROVIDERS.md section 7).
//!
//! Files: `request` (canonical -> v2 chat body), `response` (body and SSE stream -> canonical).
//! Errors are `{"id"?, "message"}` classified by status and message; embeddings are here.
//!
//! Cohere's bodies carry no model name: responses have an empty `model`.

mod request;
mod response;

use http::HeaderMap;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, ProviderKind};
use switchyard_types::error::classify_status;
use switchyard_types::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorClass, GatewayError, Usage,
};

use crate::bearer::BearerEndpoint;
use crate::{retry_after, ChatAdapter, Dropped, StreamDecoder, WireRequest};

pub use response::CohereStreamDecoder;

/// The Cohere adapter.
pub struct CohereAdapter {
    ep: BearerEndpoint,
}

impl std::fmt::Debug for CohereAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CohereAdapter")
            .field("endpoint", &self.ep)
            .finish()
    }
}

impl CohereAdapter {
    /// Builds the adapter; the key comes from `api_key`, else `CO_API_KEY` / `COHERE_API_KEY`.
    pub fn new(cfg: &ProviderConfig) -> Result<Self, String> {
        Self::with_env(cfg, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// As [`CohereAdapter::new`], reading the environment through `env`.
    pub fn with_env(
        cfg: &ProviderConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        Ok(Self {
            ep: BearerEndpoint::from_config(
                "cohere",
                ProviderKind::Cohere,
                &["CO_API_KEY", "COHERE_API_KEY"],
                cfg,
                env,
            )?,
        })
    }

    fn post(&self, path: &str, body: &Value) -> Result<WireRequest, GatewayError> {
        self.ep.post(path, body)
    }
}

impl ChatAdapter for CohereAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        let body =
            request::encode_request(req, self.ep.policy, self.ep.default_max_tokens, dropped)?;
        let mut w = self.post("/v2/chat", &body)?;
        if req.stream {
            w.header(http::header::ACCEPT, "text/event-stream")?;
        }
        Ok(w)
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        response::decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(CohereStreamDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        map_error(status, headers, body)
    }

    fn embed_request(&self, req: &EmbedRequest) -> Result<WireRequest, GatewayError> {
        let mut body = json!({
            "model": req.model,
            "texts": req.input,
            "input_type": req.input_type.as_deref().unwrap_or("search_document"),
            "embedding_types": ["float"],
        });
        if let (Some(d), Some(obj)) = (req.dimensions, body.as_object_mut()) {
            obj.insert("output_dimension".into(), json!(d));
        }
        self.post("/v2/embed", &body)
    }

    fn embed_response(
        &self,
        req: &EmbedRequest,
        body: &[u8],
    ) -> Result<EmbedResponse, GatewayError> {
        crate::fill_embed_model(decode_embed(body), req)
    }
}

/// Maps a Cohere error answer: `{"id"?, "message"}` with the HTTP status deciding the class
/// (402 is an account out of credit; 499 a request Cohere saw cancelled).
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let t = String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(500)
                .collect::<String>();
            if t.is_empty() {
                format!("cohere answered HTTP {status}")
            } else {
                t
            }
        });
    let class = match status {
        402 => ErrorClass::QuotaExceeded,
        401 | 403 => ErrorClass::UpstreamAuth,
        _ => classify_status(status, &message),
    };
    GatewayError::upstream(class, status, message).with_retry_after(retry_after(headers))
}

fn bad_embed(msg: &str) -> GatewayError {
    GatewayError::upstream(
        ErrorClass::ServerError,
        502,
        format!("cohere: unreadable embed response: {msg}"),
    )
}

/// `{"embeddings":{"float":[[..]]},"meta":{"billed_units":{"input_tokens"}}}`.
pub(crate) fn decode_embed(body: &[u8]) -> Result<EmbedResponse, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad_embed(&e.to_string()))?;
    let list = v
        .pointer("/embeddings/float")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_embed("no embeddings.float"))?;
    let embeddings = list
        .iter()
        .map(|e| {
            e.as_array()?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<f32>>>()
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad_embed("an embedding is not a list of numbers"))?;
    let tokens = v
        .pointer("/meta/billed_units/input_tokens")
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as u64;
    Ok(EmbedResponse {
        model: String::new(),
        embeddings,
        usage: Usage {
            prompt_tokens: tokens,
            ..Usage::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources() {
        let a = CohereAdapter::with_env(&ProviderConfig::default(), |k| {
            (k == "CO_API_KEY").then(|| "co-key-xyz".to_string())
        })
        .unwrap();
        assert_eq!(a.ep.base, "https://api.cohere.com");
        assert!(!format!("{a:?}").contains("co-key-xyz"));
        assert!(CohereAdapter::with_env(&ProviderConfig::default(), |_| None).is_err());
    }

    #[test]
    fn errors_by_status() {
        let h = HeaderMap::new();
        let e = map_error(
            429,
            &h,
            br#"{"id":"x","message":"You are using a Trial key"}"#,
        );
        assert_eq!(e.class, ErrorClass::RateLimited);
        assert_eq!(e.message, "You are using a Trial key");
        assert_eq!(map_error(402, &h, b"{}").class, ErrorClass::QuotaExceeded);
        assert_eq!(map_error(401, &h, b"{}").class, ErrorClass::UpstreamAuth);
        assert_eq!(map_error(404, &h, b"{}").class, ErrorClass::NotFound);
        assert_eq!(map_error(500, &h, b"oops").class, ErrorClass::ServerError);
        let e = map_error(
            400,
            &h,
            br#"{"message":"too many tokens: total number of tokens in the prompt cannot exceed 128000"}"#,
        );
        assert_eq!(e.class, ErrorClass::ContextWindowExceeded);
    }
}

//! Provider adapters. Every provider has the same shape (one module each): wire types, request
//! conversion (canonical -> wire), response conversion (wire -> canonical), a stream decoder
//! (wire bytes -> canonical `StreamEvent`s), error mapping, and auth.
//!
//! Adapters are pure apart from auth that needs the network (Vertex OAuth tokens), for which they
//! get the one shared [`client::HttpClient`]. The server sends the [`WireRequest`] an adapter
//! builds and hands the answer back to the same adapter.
//!
//! OpenAI-wire providers (`openai`, `azure_openai`, `openai_compatible`) are served by the
//! server's same-dialect fast path when the client speaks OpenAI; the `openai` adapter here is
//! used when the client speaks another dialect (Anthropic in, OpenAI out).

pub mod anthropic;
mod bearer;
pub mod bedrock;
pub mod client;
pub mod cohere;
pub mod eventstream;
pub mod gemini;
pub mod mistral;
pub mod openai;
pub mod sse;
pub mod vertex;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::future::Future;
use std::pin::Pin;
use switchyard_config::UnsupportedParams;
use switchyard_types::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorClass, GatewayError, StreamEvent,
};

/// A boxed future, for the few adapter hooks that do I/O.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A fully built upstream request: absolute URL, headers (auth included) and body.
#[derive(Debug, Clone)]
pub struct WireRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl WireRequest {
    pub fn post_json(url: String, body: Vec<u8>) -> Self {
        Self {
            method: Method::POST,
            url,
            headers: vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(body),
        }
    }

    /// Adds a header; a value that is not a valid header value is an internal error (it came
    /// from config, which validation checked).
    pub fn header(&mut self, name: HeaderName, value: &str) -> Result<(), GatewayError> {
        let v = HeaderValue::from_str(value)
            .map_err(|_| GatewayError::internal(format!("invalid value for header {name}")))?;
        self.headers.push((name, v));
        Ok(())
    }

    /// Adds a header holding a secret, marked sensitive so it is never logged.
    pub fn secret_header(&mut self, name: HeaderName, value: &str) -> Result<(), GatewayError> {
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| GatewayError::internal(format!("invalid credential for header {name}")))?;
        v.set_sensitive(true);
        self.headers.push((name, v));
        Ok(())
    }
}

/// What a translation had to leave out, reported to the client in `x-switchyard-dropped-params`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped(pub Vec<&'static str>);

/// Decodes an upstream stream body into canonical events. Bytes arrive in arbitrary pieces:
/// an event may straddle two `feed` calls.
pub trait StreamDecoder: Send {
    /// Feeds the next piece of the upstream body, appending every event completed by it.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), GatewayError>;
    /// The upstream body ended; flushes what remains (and reports a truncated stream).
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), GatewayError>;
}

/// One provider's translator. Built once from config; shared by all requests.
pub trait ChatAdapter: Send + Sync {
    /// Builds the upstream request for `req` (`req.model` is already the upstream model).
    /// Parameters the provider cannot honour are dropped (and listed in `dropped`) or rejected
    /// with `ErrorClass::Unsupported`, according to the provider's `unsupported_params`.
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError>;

    /// Decodes a successful (2xx) non-streaming body. Errors reported inside a 200 (Gemini
    /// prompt blocks) come back as `Err`.
    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError>;

    /// A decoder for a streaming (2xx) body.
    fn stream_decoder(&self) -> Box<dyn StreamDecoder>;

    /// Maps an upstream error answer (non-2xx) to a classified gateway error keeping the
    /// provider's message.
    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError;

    /// Builds an embeddings request; providers without embeddings answer `Unsupported`.
    fn embed_request(&self, req: &EmbedRequest) -> Result<WireRequest, GatewayError> {
        let _ = req;
        Err(GatewayError::client(
            ErrorClass::Unsupported,
            "this provider does not offer embeddings through Switchyard",
        ))
    }

    /// Decodes an embeddings answer to `req` (the request is there for providers whose answer
    /// lacks the model or usage).
    fn embed_response(
        &self,
        req: &EmbedRequest,
        body: &[u8],
    ) -> Result<EmbedResponse, GatewayError> {
        let _ = (req, body);
        Err(GatewayError::internal("embeddings not supported"))
    }

    /// Last step before sending: auth that needs I/O or the final body (SigV4, OAuth tokens).
    /// The default adds nothing.
    fn authorize<'a>(
        &'a self,
        req: WireRequest,
    ) -> BoxFuture<'a, Result<WireRequest, GatewayError>> {
        Box::pin(std::future::ready(Ok(req)))
    }
}

/// Names the requested model on an embeddings answer whose body did not (Bedrock, Cohere).
pub fn fill_embed_model(
    resp: Result<EmbedResponse, GatewayError>,
    req: &EmbedRequest,
) -> Result<EmbedResponse, GatewayError> {
    resp.map(|mut r| {
        if r.model.is_empty() {
            r.model = req.model.clone();
        }
        r
    })
}

/// Reads `Retry-After` (seconds or HTTP date) and `retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<std::time::Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        if ms.is_finite() && ms >= 0.0 {
            return Some(std::time::Duration::from_millis(ms as u64));
        }
    }
    let v = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(std::time::Duration::from_secs_f64(secs));
        }
        return None;
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Applies the provider's `unsupported_params` policy to a parameter it cannot honour: records it
/// in `dropped`, or refuses the request with a 400 naming it.
pub fn unsupported(
    policy: UnsupportedParams,
    provider: &str,
    param: &'static str,
    dropped: &mut Dropped,
) -> Result<(), GatewayError> {
    match policy {
        UnsupportedParams::Drop => {
            if !dropped.0.contains(&param) {
                dropped.0.push(param);
            }
            Ok(())
        }
        UnsupportedParams::Reject => Err(GatewayError::client(
            ErrorClass::Unsupported,
            format!("parameter `{param}` is not supported by provider {provider}"),
        )
        .with_param(param)),
    }
}

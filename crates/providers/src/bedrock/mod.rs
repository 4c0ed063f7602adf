//! AWS Bedrock adapter: the Converse / ConverseStream API for chat (PROVIDERS.md section 6) and
//! InvokeModel for embeddings (Titan and Cohere embedding models).
//!
//! Files: `request` (canonical -> Converse body), `media` (image and document blocks), `response` (Converse body -> canonical, stop
//! reasons, usage), `stream` (event-stream frames -> canonical events), `error` (HTTP and
//! in-stream exceptions), `embed` (InvokeModel bodies), `sigv4` (request signing).
//!
//! Auth: SigV4 with service name `bedrock`, added in [`ChatAdapter::authorize`] because it
//! covers the final body and the current time; or a Bedrock API key sent as
//! `Authorization: Bearer` (no signing).
//!
//! Choices worth knowing (see each module for details):
//! - The Converse body has no id and no model name: responses get a generated id and an empty
//!   `model` (the caller knows which model it asked for).
//! - `response_format` (JSON object or schema) becomes a forced tool named [`JSON_TOOL_NAME`]
//!   whose input is turned back into text, as for Anthropic.

mod embed;
mod error;
mod media;
mod request;
mod response;
pub mod sigv4;
mod stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_types::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, GatewayError, Secret,
};

use crate::{BoxFuture, ChatAdapter, Dropped, StreamDecoder, WireRequest};

pub use error::{exception_class, map_error};
pub use sigv4::Credentials;
pub use stream::BedrockStreamDecoder;

/// Name of the tool that carries a `response_format` answer.
pub const JSON_TOOL_NAME: &str = "switchyard_json_response";

/// Service name in the SigV4 credential scope (not `bedrock-runtime`).
pub const SIGNING_SERVICE: &str = "bedrock";

#[derive(Debug, Clone)]
enum Auth {
    SigV4(Credentials),
    ApiKey(Secret<String>),
}

/// The Bedrock adapter. Built once from config; shared by all requests.
pub struct BedrockAdapter {
    endpoint: String,
    region: String,
    auth: Auth,
    policy: UnsupportedParams,
    default_max_tokens: Option<u32>,
    extra_headers: Vec<(HeaderName, String)>,
}

/// Extra header values may hold credentials: only their names are shown.
impl std::fmt::Debug for BedrockAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.extra_headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("BedrockAdapter")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("auth", &self.auth)
            .field("policy", &self.policy)
            .field("default_max_tokens", &self.default_max_tokens)
            .field("extra_headers", &names)
            .finish()
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl BedrockAdapter {
    /// Builds the adapter from config, falling back to the standard AWS environment variables
    /// (`AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
    /// `AWS_SESSION_TOKEN`, `AWS_BEARER_TOKEN_BEDROCK`).
    pub fn new(cfg: &ProviderConfig) -> Result<Self, String> {
        Self::with_env(cfg, env_var)
    }

    /// As [`BedrockAdapter::new`], reading the environment through `env` (tests pass a map).
    pub fn with_env(
        cfg: &ProviderConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let region = cfg
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"));
        let auth = if let Some(key) = &cfg.api_key {
            Auth::ApiKey(key.clone())
        } else if let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            Auth::SigV4(Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: cfg.session_token.clone(),
            })
        } else if let (Some(id), Some(secret)) =
            (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        {
            Auth::SigV4(Credentials {
                access_key_id: Secret::new(id),
                secret_access_key: Secret::new(secret),
                session_token: env("AWS_SESSION_TOKEN").map(Secret::new),
            })
        } else if let Some(key) = env("AWS_BEARER_TOKEN_BEDROCK") {
            Auth::ApiKey(Secret::new(key))
        } else {
            return Err(
                "bedrock: no credentials: set access_key_id and secret_access_key, or \
                        api_key, or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment \
                        variables"
                    .to_string(),
            );
        };
        let endpoint = match (&cfg.base_url, &region) {
            (Some(url), _) => url.trim_end_matches('/').to_string(),
            (None, Some(r)) => format!("https://bedrock-runtime.{r}.amazonaws.com"),
            (None, None) => {
                return Err("bedrock: no region: set region or AWS_REGION".to_string());
            }
        };
        let region = match (region, &auth) {
            (Some(r), _) => r,
            (None, Auth::SigV4(_)) => {
                return Err(
                    "bedrock: SigV4 signing needs a region: set region or AWS_REGION".to_string(),
                );
            }
            (None, Auth::ApiKey(_)) => String::new(),
        };
        let mut extra_headers = Vec::new();
        for (name, value) in &cfg.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("bedrock: invalid header name {name:?}"))?;
            extra_headers.push((name, value.clone()));
        }
        Ok(Self {
            endpoint,
            region,
            auth,
            policy: cfg.unsupported_params,
            default_max_tokens: cfg.default_max_tokens,
            extra_headers,
        })
    }

    /// `{endpoint}/model/{percent-encoded model id}/{action}`.
    pub fn model_url(&self, model: &str, action: &str) -> String {
        format!(
            "{}/model/{}/{action}",
            self.endpoint,
            sigv4::uri_encode(model, false)
        )
    }

    fn post(&self, url: String, body: Vec<u8>) -> Result<WireRequest, GatewayError> {
        let mut w = WireRequest::post_json(url, body);
        for (name, value) in &self.extra_headers {
            w.header(name.clone(), value)?;
        }
        if let Auth::ApiKey(key) = &self.auth {
            w.secret_header(
                http::header::AUTHORIZATION,
                &format!("Bearer {}", key.expose()),
            )?;
        }
        Ok(w)
    }

    /// Signs `req` as of `now` (no-op with an API key). [`ChatAdapter::authorize`] calls this
    /// with the current time.
    pub fn sign_at(&self, req: WireRequest, now: SystemTime) -> Result<WireRequest, GatewayError> {
        match &self.auth {
            Auth::SigV4(creds) => {
                sigv4::sign_request(req, creds, &self.region, SIGNING_SERVICE, now)
            }
            Auth::ApiKey(_) => Ok(req),
        }
    }
}

fn body_bytes(v: &serde_json::Value) -> Result<Vec<u8>, GatewayError> {
    serde_json::to_vec(v).map_err(|e| GatewayError::internal(format!("bedrock: encode: {e}")))
}

impl ChatAdapter for BedrockAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        let body = request::encode_request(req, self.policy, self.default_max_tokens, dropped)?;
        let action = if req.stream {
            "converse-stream"
        } else {
            "converse"
        };
        let mut w = self.post(self.model_url(&req.model, action), body_bytes(&body)?)?;
        if req.stream {
            w.header(http::header::ACCEPT, "application/vnd.amazon.eventstream")?;
        }
        Ok(w)
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        response::decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(BedrockStreamDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        map_error(status, headers, body)
    }

    fn embed_request(&self, req: &EmbedRequest) -> Result<WireRequest, GatewayError> {
        let body = embed::encode_embed(req, self.policy)?;
        self.post(self.model_url(&req.model, "invoke"), body_bytes(&body)?)
    }

    fn embed_response(
        &self,
        req: &EmbedRequest,
        body: &[u8],
    ) -> Result<EmbedResponse, GatewayError> {
        crate::fill_embed_model(embed::decode_embed(body), req)
    }

    fn authorize<'a>(
        &'a self,
        req: WireRequest,
    ) -> BoxFuture<'a, Result<WireRequest, GatewayError>> {
        Box::pin(std::future::ready(self.sign_at(req, SystemTime::now())))
    }
}

/// A response id for APIs that give none: time-based and unique within the process.
pub(crate) fn response_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("bedrock-{nanos:x}{n:04x}")
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Which model family a model id (or inference profile / ARN) names: model-specific fields in
/// `additionalModelRequestFields` differ by family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Claude,
    Nova,
    Mistral,
    Cohere,
    Other,
}

pub(crate) fn family(model: &str) -> Family {
    let m = model.to_ascii_lowercase();
    if m.contains("anthropic.") || m.contains("claude") {
        Family::Claude
    } else if m.contains("amazon.nova") || m.contains("nova-") {
        Family::Nova
    } else if m.contains("mistral.") {
        Family::Mistral
    } else if m.contains("cohere.") {
        Family::Cohere
    } else {
        Family::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg() -> ProviderConfig {
        ProviderConfig {
            region: Some("us-east-1".into()),
            access_key_id: Some(Secret::new("AKID".into())),
            secret_access_key: Some(Secret::new("SECRET".into())),
            ..Default::default()
        }
    }

    #[test]
    fn model_ids_are_percent_encoded() {
        let a = BedrockAdapter::with_env(&cfg(), |_| None).unwrap();
        assert_eq!(
            a.model_url("anthropic.claude-3-5-sonnet-20240620-v1:0", "converse"),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        );
        assert_eq!(
            a.model_url(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-v2:1",
                "converse-stream"
            ),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-v2%3A1/converse-stream"
        );
    }

    #[test]
    fn credentials_from_env_and_errors() {
        let env: HashMap<&str, &str> = [
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_SESSION_TOKEN", "T"),
        ]
        .into_iter()
        .collect();
        let a = BedrockAdapter::with_env(&ProviderConfig::default(), |k| {
            env.get(k).map(|v| v.to_string())
        })
        .unwrap();
        assert_eq!(a.region, "eu-west-3");
        assert!(matches!(&a.auth, Auth::SigV4(c) if c.session_token.is_some()));
        assert!(a.endpoint.contains("eu-west-3"));

        let e = BedrockAdapter::with_env(&ProviderConfig::default(), |_| None).unwrap_err();
        assert!(e.contains("no credentials"));
        let no_region = ProviderConfig {
            region: None,
            ..cfg()
        };
        assert!(BedrockAdapter::with_env(&no_region, |_| None)
            .unwrap_err()
            .contains("region"));
        // An API key with a base URL needs no region; Debug shows no secret.
        let keyed = ProviderConfig {
            api_key: Some(Secret::new("bedrock-api-key-123".into())),
            base_url: Some("http://127.0.0.1:9/".into()),
            headers: [("x-proxy-auth".to_string(), "hdr-secret".to_string())].into(),
            ..Default::default()
        };
        let a = BedrockAdapter::with_env(&keyed, |_| None).unwrap();
        assert_eq!(a.endpoint, "http://127.0.0.1:9");
        let debug = format!("{a:?}");
        assert!(!debug.contains("bedrock-api-key-123") && !debug.contains("hdr-secret"));
        assert!(debug.contains("x-proxy-auth"));
    }

    #[test]
    fn families() {
        assert_eq!(
            family("us.anthropic.claude-sonnet-4-20250514-v1:0"),
            Family::Claude
        );
        assert_eq!(family("amazon.nova-pro-v1:0"), Family::Nova);
        assert_eq!(family("mistral.mistral-large-2407-v1:0"), Family::Mistral);
        assert_eq!(family("cohere.command-r-plus-v1:0"), Family::Cohere);
        assert_eq!(family("meta.llama3-70b-instruct-v1:0"), Family::Other);
    }
}

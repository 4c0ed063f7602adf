//! Mistral adapter: OpenAI-like Chat Completions (`POST {base}/chat/completions`) and
//! embeddings (`POST {base}/embeddings`), Bearer auth (PROVIDERS.md section 8).
//!
//! Built on the OpenAI wire functions ([`crate::openai`]) with Mistral's differences applied to
//! the encoded body:
//! - `max_tokens` instead of `max_completion_tokens`; `random_seed` instead of `seed`;
//!   `tool_choice: "any"` for `required`; no `stream_options` (Mistral puts usage on the last
//!   stream chunk unasked, which the OpenAI stream decoder reads).
//! - Tool-call ids must match `^[a-zA-Z0-9]{9}$`: any other id in the history (`call_...`,
//!   `toolu_...`) is rewritten to a 9-character id derived from a SHA-256 of it, the same in
//!   the assistant `tool_calls` and the `tool` message, and the same on every request. Ids
//!   Mistral itself returns already match and pass unchanged, so no reverse mapping is needed.
//! - A final assistant message is a prefill: it is sent with `prefix: true`.
//! - `safe_prompt` (and any other Mistral field) passes through from `extra`.
//! - No equivalent (policy): `logprobs`, `top_logprobs`, `top_k`, `user`, `metadata`,
//!   reasoning effort.
//! - `finish_reason` `model_length` -> length and `error` -> an upstream error are handled by the
//!   OpenAI decoders; errors (`{"object":"error","message","type","code"}`) by
//!   [`openai::map_error`].
//! - Embeddings: `dimensions` is sent as `output_dimension`; `user` is not sent.

use http::HeaderMap;
use ring::digest;
use serde_json::{json, Map, Value};
use switchyard_config::{ProviderConfig, ProviderKind};
use switchyard_types::{
    ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ErrorClass, GatewayError,
    ReasoningEffort,
};

use crate::bearer::BearerEndpoint;
use crate::openai;
use crate::{unsupported, ChatAdapter, Dropped, StreamDecoder, WireRequest};

const PROVIDER: &str = "mistral";

/// The Mistral adapter.
pub struct MistralAdapter {
    ep: BearerEndpoint,
}

impl std::fmt::Debug for MistralAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralAdapter")
            .field("endpoint", &self.ep)
            .finish()
    }
}

impl MistralAdapter {
    /// Builds the adapter; the key comes from `api_key`, else `MISTRAL_API_KEY`.
    pub fn new(cfg: &ProviderConfig) -> Result<Self, String> {
        Self::with_env(cfg, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// As [`MistralAdapter::new`], reading the environment through `env`.
    pub fn with_env(
        cfg: &ProviderConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        Ok(Self {
            ep: BearerEndpoint::from_config(
                "mistral",
                ProviderKind::Mistral,
                &["MISTRAL_API_KEY"],
                cfg,
                env,
            )?,
        })
    }

    fn post(&self, path: &str, body: &Map<String, Value>) -> Result<WireRequest, GatewayError> {
        self.ep.post(path, body)
    }

    fn refuse(&self, param: &'static str, dropped: &mut Dropped) -> Result<(), GatewayError> {
        unsupported(self.ep.policy, PROVIDER, param, dropped)
    }
}

fn is_mistral_id(id: &str) -> bool {
    id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A Mistral-valid tool-call id for `id`: unchanged when it already is one, else 9 base-62
/// characters of its SHA-256 (deterministic, so both sides of a call/result pair agree).
pub fn mistral_tool_id(id: &str) -> String {
    if is_mistral_id(id) {
        return id.to_string();
    }
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let hash = digest::digest(&digest::SHA256, id.as_bytes());
    let mut n = u64::from_be_bytes(hash.as_ref()[..8].try_into().unwrap_or([0; 8]));
    let mut out = String::with_capacity(9);
    for _ in 0..9 {
        out.push(ALPHABET[(n % 62) as usize] as char);
        n /= 62;
    }
    out
}

/// Rewrites tool-call ids in encoded messages and marks a final assistant message as prefix.
fn fix_messages(messages: &mut [Value]) {
    for m in messages.iter_mut() {
        if let Some(calls) = m.get_mut("tool_calls").and_then(Value::as_array_mut) {
            for c in calls {
                if let Some(id) = c.get("id").and_then(Value::as_str) {
                    let new = mistral_tool_id(id);
                    c["id"] = json!(new);
                }
            }
        }
        if let Some(id) = m.get("tool_call_id").and_then(Value::as_str) {
            let new = mistral_tool_id(id);
            m["tool_call_id"] = json!(new);
        }
    }
    if let Some(last) = messages.last_mut() {
        if last.get("role").and_then(Value::as_str) == Some("assistant")
            && last.get("tool_calls").is_none()
        {
            last["prefix"] = json!(true);
        }
    }
}

impl ChatAdapter for MistralAdapter {
    fn chat_request(
        &self,
        req: &ChatRequest,
        dropped: &mut Dropped,
    ) -> Result<WireRequest, GatewayError> {
        openai::check_request(req)?;
        let mut body = openai::encode_request(req);
        for (param, present) in [
            ("logprobs", req.logprobs == Some(true)),
            ("top_logprobs", req.top_logprobs.is_some()),
            ("top_k", req.top_k.is_some()),
            ("user", req.user.is_some()),
            ("metadata", req.metadata.is_some()),
        ] {
            if present {
                self.refuse(param, dropped)?;
            }
            body.remove(param);
        }
        if body.remove("reasoning_effort").is_some()
            && req
                .reasoning
                .is_some_and(|r| r.effort != Some(ReasoningEffort::None))
        {
            self.refuse("reasoning_effort", dropped)?;
        }
        body.remove("max_completion_tokens");
        if let Some(m) = req.max_tokens.or(self.ep.default_max_tokens) {
            body.insert("max_tokens".into(), json!(m));
        }
        if let Some(seed) = body.remove("seed") {
            body.insert("random_seed".into(), seed);
        }
        if body.get("tool_choice").and_then(Value::as_str) == Some("required") {
            body.insert("tool_choice".into(), json!("any"));
        }
        body.remove("stream_options");
        if let Some(messages) = body.get_mut("messages").and_then(Value::as_array_mut) {
            fix_messages(messages);
        }
        self.post("/chat/completions", &body)
    }

    fn chat_response(&self, body: &[u8]) -> Result<ChatResponse, GatewayError> {
        openai::decode_response(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(openai::OpenAiStreamDecoder::new())
    }

    fn error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
        openai::map_error(status, headers, body)
    }

    fn embed_request(&self, req: &EmbedRequest) -> Result<WireRequest, GatewayError> {
        if req.input.is_empty() {
            return Err(GatewayError::client(
                ErrorClass::BadRequest,
                "embeddings input must not be empty",
            )
            .with_param("input"));
        }
        let mut body = openai::encode_embed_request(req);
        body.remove("user");
        if let Some(d) = body.remove("dimensions") {
            body.insert("output_dimension".into(), d);
        }
        self.post("/embeddings", &body)
    }

    fn embed_response(
        &self,
        req: &EmbedRequest,
        body: &[u8],
    ) -> Result<EmbedResponse, GatewayError> {
        crate::fill_embed_model(openai::decode_embed_response(body), req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_ids() {
        assert_eq!(mistral_tool_id("D681PevKs"), "D681PevKs");
        let a = mistral_tool_id("call_PTLP8xhu3uwZk4l3nlnrrJha");
        assert!(is_mistral_id(&a), "{a}");
        assert_eq!(a, mistral_tool_id("call_PTLP8xhu3uwZk4l3nlnrrJha"));
        assert_ne!(a, mistral_tool_id("call_PTLP8xhu3uwZk4l3nlnrrJhb"));
        assert!(is_mistral_id(&mistral_tool_id("")));
        assert!(!is_mistral_id("abc_defgh"));
        assert!(!is_mistral_id("abcdefghij"));
    }

    #[test]
    fn prefix_only_for_a_final_plain_assistant_message() {
        let mut m = vec![
            json!({"role": "user", "content": "hi"}),
            json!({"role": "assistant", "content": "Sure:"}),
        ];
        fix_messages(&mut m);
        assert_eq!(m[1]["prefix"], json!(true));
        let mut m = vec![
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_01", "type": "function"}]}),
        ];
        fix_messages(&mut m);
        assert!(m[0].get("prefix").is_none());
        assert!(is_mistral_id(m[0]["tool_calls"][0]["id"].as_str().unwrap()));
    }

    #[test]
    fn key_required() {
        assert!(MistralAdapter::with_env(&ProviderConfig::default(), |_| None).is_err());
        let a = MistralAdapter::with_env(&ProviderConfig::default(), |k| {
            (k == "MISTRAL_API_KEY").then(|| "mk-secret".to_string())
        })
        .unwrap();
        assert_eq!(a.ep.base, "https://api.mistral.ai/v1");
        assert!(!format!("{a:?}").contains("mk-secret"));
    }
}

//! Client dialects <-> canonical, for the gateway's translated path (the client's dialect
//! differs from the provider's; the same-dialect fast path forwards bodies without these).
//!
//! - [`openai`]: Chat Completions and Embeddings requests in, `chat.completion` /
//!   `chat.completion.chunk` / embedding lists and OpenAI errors out.
//! - [`anthropic`]: Messages and count_tokens requests in, `message` JSON / Messages SSE events
//!   and Anthropic errors out.
//!
//! Everything here is pure: bytes in, canonical types out, and back to bytes. Parsers never
//! panic on client input; every rejection is a 400 [`GatewayError`] naming the field.

pub mod anthropic;
mod json;
pub mod openai;

use switchyard_types::GatewayError;

/// The API dialect a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

impl Dialect {
    /// `err` as a JSON error body in this dialect (the HTTP status is `err.status`).
    pub fn render_error(self, err: &GatewayError) -> Vec<u8> {
        match self {
            Dialect::OpenAi => openai::render_error(err),
            Dialect::Anthropic => anthropic::render_error(err),
        }
    }

    /// Stable label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
        }
    }
}

/// Tool-call id -> function name, gathered from assistant turns while parsing, so tool results
/// carry the name of the function they answer (Gemini needs it; neither dialect sends it).
#[derive(Default)]
pub(crate) struct ToolNames(Vec<(String, String)>);

impl ToolNames {
    pub(crate) fn record(&mut self, id: &str, name: &str) {
        self.0.push((id.to_owned(), name.to_owned()));
    }

    pub(crate) fn lookup(&self, id: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::ErrorClass;

    #[test]
    fn errors_render_per_dialect() {
        let e = GatewayError::client(ErrorClass::RateLimited, "slow down");
        let o: serde_json::Value =
            serde_json::from_slice(&Dialect::OpenAi.render_error(&e)).unwrap();
        assert_eq!(o["error"]["type"], "rate_limit_error");
        assert_eq!(o["error"]["code"], "rate_limit_exceeded");
        let a: serde_json::Value =
            serde_json::from_slice(&Dialect::Anthropic.render_error(&e)).unwrap();
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "rate_limit_error");
        assert_eq!(a["error"]["message"], "slow down");
    }

    #[test]
    fn tool_names_find_the_latest() {
        let mut n = ToolNames::default();
        n.record("a", "f");
        n.record("a", "g");
        assert_eq!(n.lookup("a").as_deref(), Some("g"));
        assert_eq!(n.lookup("b"), None);
    }
}

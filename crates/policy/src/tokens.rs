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
//!
//! Counts of texts of 128 bytes or more are remembered in a small lock-free cache keyed by the
//! text's hash ([`CountCache`], 32 KB): chat clients resend the system prompt, the tools and
//! every earlier turn with each request, so only the newest message is usually counted. A hit
//! costs the hash of the text (well under a microsecond for 1 KB).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use switchyard_types::{ChatRequest, ContentPart, Message};

#[cfg(test)]
#[path = "../benches/corpus/mod.rs"]
mod corpus;

/// Loads the tokenizer now (call once at start-up).
pub fn warm_up() {
    let _ = bpe_openai::o200k_base();
}

/// Loads the tokenizer on a thread of its own, once per process (call when a `tpm` limit first
/// shows up, so the first request that needs a count does not wait ~0.1 s for the load).
pub fn warm_up_in_background() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("tokenizer-load".into())
            .spawn(warm_up);
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not load the tokenizer in the background");
        }
    });
}

/// One token per 4 bytes, rounded up: for content whose tokenization text cannot predict.
fn by_bytes(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The number of `o200k_base` tokens in `text` (special-token text counted as ordinary text).
/// Texts of [`CACHE_MIN_LEN`] bytes or more go through [`COUNTS`] first.
pub fn estimate_prompt_tokens(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    if text.len() < CACHE_MIN_LEN {
        return count(text);
    }
    COUNTS.get_or_count(text)
}

fn count(text: &str) -> u64 {
    bpe_openai::o200k_base().count(text) as u64
}

/// Texts shorter than this are counted every time (a few hundred nanoseconds).
const CACHE_MIN_LEN: usize = 128;

/// Counts of recently seen texts. A chat client resends the whole conversation every turn —
/// system prompt, tool definitions, earlier turns — so most of a request's text was counted
/// before and only the newest message is new.
static COUNTS: CountCache = CountCache::new();

/// A direct-mapped cache from a text's hash to its token count: [`CountCache::SLOTS`] atomic
/// words, no lock, 32 KB. Each word packs the upper 39 bits of the text's 64-bit hash (the
/// tag), a bit that marks the word used, and a 24-bit count; the slot is picked by the lowest
/// 12 bits. A colliding text simply replaces the slot. Two different texts would have to share
/// 51 hash bits (with a per-process random seed) for one to get the other's count, which for an
/// estimate that the provider's usage corrects after the call is not a concern.
struct CountCache {
    slots: [AtomicU64; CountCache::SLOTS],
    hasher: OnceLock<foldhash::quality::RandomState>,
}

impl CountCache {
    const SLOTS: usize = 4096;
    const COUNT_BITS: u32 = 24;
    const COUNT_MASK: u64 = (1 << Self::COUNT_BITS) - 1;

    const fn new() -> Self {
        Self {
            slots: [const { AtomicU64::new(0) }; Self::SLOTS],
            hasher: OnceLock::new(),
        }
    }

    fn get_or_count(&self, text: &str) -> u64 {
        let hash = self
            .hasher
            .get_or_init(foldhash::quality::RandomState::default)
            .hash_one(text.as_bytes());
        let slot = &self.slots[(hash as usize) % Self::SLOTS];
        // A zero word means "empty": bit 24 (in place of that hash bit) marks a used word.
        let tag = (hash & !Self::COUNT_MASK) | (1 << Self::COUNT_BITS);
        let word = slot.load(Ordering::Relaxed);
        if word != 0 && word & !Self::COUNT_MASK == tag {
            return word & Self::COUNT_MASK;
        }
        let n = count(text);
        if n <= Self::COUNT_MASK {
            slot.store(tag | n, Ordering::Relaxed);
        }
        n
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

/// [`estimate_chat_prompt_tokens`] of an OpenAI chat completion body in its plainest and most
/// common shape — every message only `role` and a string (or null) `content`, no `tools` or
/// `functions` — read straight from the bytes (strings borrowed where they have no escapes)
/// instead of building the canonical request. `None` for any other shape: the caller parses
/// it in full. Gives exactly what the full parse would give (tested against it).
pub fn estimate_plain_openai_chat(body: &[u8]) -> Option<u64> {
    use serde::de::IgnoredAny;
    use serde::Deserialize;
    use std::borrow::Cow;

    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        messages: Vec<PlainMessage<'a>>,
        tools: Option<IgnoredAny>,
        functions: Option<IgnoredAny>,
    }
    /// Anything but `role` and `content` (a name, tool calls, a refusal, audio...) is an
    /// unknown field here, so such a message falls back to the full parse.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PlainMessage<'a> {
        #[serde(borrow)]
        role: Cow<'a, str>,
        #[serde(borrow)]
        content: Option<Cow<'a, str>>,
    }

    let parsed: Body<'_> = serde_json::from_slice(body).ok()?;
    if parsed.messages.is_empty() || parsed.tools.is_some() || parsed.functions.is_some() {
        return None;
    }
    let mut total = REPLY_PRIMING;
    for m in &parsed.messages {
        // Roles the full parse rejects or treats specially go to it.
        if !matches!(&*m.role, "system" | "developer" | "user" | "assistant") {
            return None;
        }
        total += PER_MESSAGE + m.content.as_deref().map_or(0, estimate_prompt_tokens);
    }
    Some(total)
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
    fn cached_counts_equal_fresh_counts() {
        let english = corpus::english_1k();
        let fresh = count(&english);
        // First call counts and fills the slot; the second is answered from the cache.
        assert_eq!(estimate_prompt_tokens(&english), fresh);
        assert_eq!(estimate_prompt_tokens(&english), fresh);
        let hash = COUNTS
            .hasher
            .get()
            .expect("initialised by the calls above")
            .hash_one(english.as_bytes());
        let word = COUNTS.slots[(hash as usize) % CountCache::SLOTS].load(Ordering::Relaxed);
        assert_eq!(word & CountCache::COUNT_MASK, fresh, "the count is cached");
        // A different text of the same length is not given the cached count.
        let other = english.replace('e', "x");
        assert_eq!(other.len(), english.len());
        assert_eq!(estimate_prompt_tokens(&other), count(&other));
        assert_ne!(count(&other), fresh);
        // Many distinct texts (colliding slots included) all get their own counts.
        // Twice over: the second pass reads slots that others have since replaced.
        for _ in 0..2 {
            for i in 0..10_000u32 {
                let text = format!("{i} {}", &english[..200]);
                assert_eq!(estimate_prompt_tokens(&text), count(&text), "{i}");
            }
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

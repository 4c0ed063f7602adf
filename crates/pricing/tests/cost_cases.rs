//! Hand-computed costs for each provider's usage shape, priced from the shipped table.
//!
//! Each case converts the provider's own usage fields (as its documentation shows them) to the
//! canonical OpenAI accounting, then checks the cost against arithmetic done by hand in the
//! comment.

use switchyard_pricing::{cost_micros, format_usd, PriceTable};
use switchyard_types::Usage;

#[expect(clippy::panic, reason = "test helper: an unknown model fails the test")]
fn cost(kind: &str, model: &str, usage: Usage) -> u64 {
    let table = PriceTable::builtin();
    let price = table
        .lookup(kind, model)
        .unwrap_or_else(|| panic!("no price for {kind}/{model}"));
    cost_micros(price, &usage)
}

#[test]
fn anthropic_cache_read_and_write() {
    // Anthropic usage: input_tokens 100 (uncached), cache_read_input_tokens 2000,
    // cache_creation_input_tokens 500, output_tokens 300. Canonical: prompt = 100+2000+500.
    let usage = Usage {
        prompt_tokens: 2_600,
        completion_tokens: 300,
        cached_tokens: 2_000,
        cache_write_tokens: 500,
        reasoning_tokens: 0,
    };
    // Sonnet 4.5: 100·$3 + 2000·$0.30 + 500·$3.75 + 300·$15 per M
    //           = 300 + 600 + 1875 + 4500 = 7275 µ$.
    assert_eq!(
        cost("anthropic", "claude-sonnet-4-5-20250929", usage),
        7_275
    );
    // Haiku 3.5: 100·0.8 + 2000·0.08 + 500·1 + 300·4 = 80 + 160 + 500 + 1200 = 1940 µ$.
    assert_eq!(cost("anthropic", "claude-3-5-haiku-20241022", usage), 1_940);
}

#[test]
fn anthropic_long_context_tier_prices_every_token() {
    // Sonnet 4 above 200k prompt tokens: $6 input, $7.50 write, $0.60 read, $22.50 output.
    let usage = Usage {
        prompt_tokens: 250_000,
        completion_tokens: 2_000,
        cached_tokens: 100_000,
        cache_write_tokens: 50_000,
        reasoning_tokens: 0,
    };
    // 100000·6 + 100000·0.6 + 50000·7.5 + 2000·22.5 = 600000 + 60000 + 375000 + 45000.
    assert_eq!(
        cost("anthropic", "claude-sonnet-4-20250514", usage),
        1_080_000
    );
}

#[test]
fn openai_cached_subset() {
    // OpenAI usage: prompt_tokens 2006 with prompt_tokens_details.cached_tokens 1920,
    // completion_tokens 300.
    let usage = Usage {
        prompt_tokens: 2_006,
        completion_tokens: 300,
        cached_tokens: 1_920,
        ..Usage::default()
    };
    // gpt-4o: 86·2.5 + 1920·1.25 + 300·10 = 215 + 2400 + 3000 = 5615 µ$.
    assert_eq!(cost("openai", "gpt-4o-2024-08-06", usage), 5_615);
    // gpt-4o-mini: 86·0.15 + 1920·0.075 + 300·0.6 = 12.9 + 144 + 180 = 336.9 → 337 µ$.
    assert_eq!(cost("openai", "gpt-4o-mini", usage), 337);
    assert_eq!(format_usd(337), "0.000337");
}

#[test]
fn openai_reasoning_tokens_are_output() {
    // o4-mini: completion_tokens 2000 with completion_tokens_details.reasoning_tokens 1500.
    let usage = Usage {
        prompt_tokens: 1_000,
        completion_tokens: 2_000,
        reasoning_tokens: 1_500,
        ..Usage::default()
    };
    // 1000·1.1 + 2000·4.4 = 1100 + 8800 = 9900 µ$.
    assert_eq!(cost("openai", "o4-mini-2025-04-16", usage), 9_900);
}

#[test]
fn gemini_thoughts_are_output() {
    // Gemini usageMetadata: promptTokenCount 1234, candidatesTokenCount 100,
    // thoughtsTokenCount 400 → completion 500 of which reasoning 400.
    let usage = Usage {
        prompt_tokens: 1_234,
        completion_tokens: 500,
        reasoning_tokens: 400,
        ..Usage::default()
    };
    // gemini-2.5-flash: 1234·0.30 + 500·2.50 = 370.2 + 1250 = 1620.2 → 1620 µ$.
    assert_eq!(cost("gemini", "models/gemini-2.5-flash", usage), 1_620);
}

#[test]
fn gemini_long_context_with_cached_content() {
    // gemini-2.5-pro, promptTokenCount 250000 with cachedContentTokenCount 50000,
    // candidates 400 + thoughts 600.
    let usage = Usage {
        prompt_tokens: 250_000,
        completion_tokens: 1_000,
        cached_tokens: 50_000,
        reasoning_tokens: 600,
        ..Usage::default()
    };
    // >200k tier: 200000·2.5 + 50000·0.25 + 1000·15 = 500000 + 12500 + 15000 = 527500 µ$.
    assert_eq!(cost("vertex", "gemini-2.5-pro", usage), 527_500);
}

#[test]
fn bedrock_inference_profile_id() {
    // Bedrock Converse usage: inputTokens 1000, outputTokens 200.
    let usage = Usage {
        prompt_tokens: 1_000,
        completion_tokens: 200,
        ..Usage::default()
    };
    // Haiku 4.5: 1000·1 + 200·5 = 2000 µ$.
    assert_eq!(
        cost(
            "bedrock",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            usage
        ),
        2_000
    );
    // Titan embeddings v2: 1000·0.02 = 20 µ$.
    let embed = Usage {
        prompt_tokens: 1_000,
        ..Usage::default()
    };
    assert_eq!(cost("bedrock", "amazon.titan-embed-text-v2:0", embed), 20);
}

#[test]
fn cohere_and_mistral_round_half_up() {
    // command-r7b: 1000 input tokens at $0.0375/M = 37.5 µ$ → 38 (half up).
    let usage = Usage {
        prompt_tokens: 1_000,
        ..Usage::default()
    };
    assert_eq!(cost("cohere", "command-r7b-12-2024", usage), 38);
    // mistral-large-2411: 3000·2 + 1000·6 = 12000 µ$.
    let usage = Usage {
        prompt_tokens: 3_000,
        completion_tokens: 1_000,
        ..Usage::default()
    };
    assert_eq!(cost("mistral", "mistral-large-2411", usage), 12_000);
}

#[test]
fn embeddings_charge_input_only() {
    // text-embedding-3-small: 8000 tokens at $0.02/M = 160 µ$.
    let usage = Usage {
        prompt_tokens: 8_000,
        ..Usage::default()
    };
    assert_eq!(cost("openai", "text-embedding-3-small", usage), 160);
    assert_eq!(cost("azure_openai", "text-embedding-3-large", usage), 1_040);
}

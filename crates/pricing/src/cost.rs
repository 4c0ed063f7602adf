//! The cost of one request from its reported usage, in integer arithmetic.
//!
//! Usage follows OpenAI accounting (see `switchyard_types::Usage`): `cached_tokens` and
//! `cache_write_tokens` are subsets of `prompt_tokens`, `reasoning_tokens` a subset of
//! `completion_tokens`. The charge is
//!
//! ```text
//! input  = (prompt − cached − cache_write)·input + cached·cached_input + cache_write·cache_write
//! output = (completion − reasoning)·output + reasoning·(reasoning rate, else output)
//! ```
//!
//! with the long-context rates instead when `prompt_tokens` exceeds the model's threshold.
//! Each product is a rate in micro-dollars per million tokens (= pico-dollars per token) times a
//! token count, summed exactly in `u128` pico-dollars, then rounded **once**, half up, to the
//! micro-dollar: `micros = (pico + 500_000) / 1_000_000`. A usage whose subsets exceed their
//! totals (a provider bug) is clamped — a subset never exceeds what is left of its total — so
//! cost never underflows and no token is charged twice.

use switchyard_types::Usage;

use crate::price::Price;

/// Pico-dollars per micro-dollar.
const PICO_PER_MICRO: u128 = 1_000_000;

/// The exact cost of `usage` at `price`, in pico-dollars (10^-12 USD).
pub fn cost_pico(price: &Price, usage: &Usage) -> u128 {
    let rates = price.rates_for(usage.prompt_tokens);
    let prompt = u128::from(usage.prompt_tokens);
    let cached = u128::from(usage.cached_tokens).min(prompt);
    let written = u128::from(usage.cache_write_tokens).min(prompt - cached);
    let uncached = prompt - cached - written;

    let completion = u128::from(usage.completion_tokens);
    let reasoning = u128::from(usage.reasoning_tokens).min(completion);
    let plain_output = completion - reasoning;

    // Each term is below 2^64 · 2^64 = 2^128 only in theory; real values (tokens < 2^40, rates
    // < 2^40) are far from it, and saturating keeps even absurd inputs panic-free.
    [
        uncached.saturating_mul(u128::from(rates.input)),
        cached.saturating_mul(u128::from(rates.cached_input)),
        written.saturating_mul(u128::from(rates.cache_write)),
        plain_output.saturating_mul(u128::from(rates.output)),
        reasoning.saturating_mul(u128::from(rates.reasoning)),
    ]
    .into_iter()
    .fold(0u128, u128::saturating_add)
}

/// Rounds pico-dollars half up to micro-dollars, saturating at `u64::MAX`.
fn pico_to_micros(pico: u128) -> u64 {
    let micros = pico.saturating_add(PICO_PER_MICRO / 2) / PICO_PER_MICRO;
    u64::try_from(micros).unwrap_or(u64::MAX)
}

/// The cost of `usage` at `price`, in micro-dollars, rounded once, half up.
pub fn cost_micros(price: &Price, usage: &Usage) -> u64 {
    pico_to_micros(cost_pico(price, usage))
}

/// The cost of `images` images at the model's per-image price (0 when it has none). Usage carries
/// no image count, so the caller counts images where a provider bills them apart from tokens.
pub fn image_cost_micros(price: &Price, images: u64) -> u64 {
    price.per_image.map_or(0, |p| p.saturating_mul(images))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::price::LongContext;

    fn usage(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            ..Usage::default()
        }
    }

    #[test]
    fn rounds_once_half_up() {
        // 1 token at 0.5 micro-dollar per token = exactly half a micro-dollar: rounds up.
        let price = Price::flat(500_000, 0);
        assert_eq!(cost_micros(&price, &usage(1, 0)), 1);
        // 0.499999 micro-dollar rounds down.
        let price = Price::flat(499_999, 0);
        assert_eq!(cost_micros(&price, &usage(1, 0)), 0);
        // Three tokens at 0.4 micro each: 1.2 → 1 (one rounding of the sum, not three of 0).
        let price = Price::flat(400_000, 0);
        assert_eq!(cost_micros(&price, &usage(3, 0)), 1);
    }

    #[test]
    fn inconsistent_usage_is_clamped() {
        let price = Price {
            cached_input: 10,
            cache_write: 20,
            ..Price::flat(100, 1_000)
        };
        let u = Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_tokens: 8,
            cache_write_tokens: 8,
            reasoning_tokens: 9,
        };
        // cached 8, written clamped to 2, uncached 0; reasoning clamped to 5, plain 0.
        assert_eq!(cost_pico(&price, &u), 8 * 10 + 2 * 20 + 5 * 1_000);
    }

    #[test]
    fn long_context_applies_above_threshold_only() {
        let price = Price {
            long_context: Some(LongContext {
                above_prompt_tokens: 100,
                input: 2_000,
                output: 3_000,
                cached_input: 2_000,
                cache_write: 2_000,
                reasoning: None,
            }),
            ..Price::flat(1_000, 1_500)
        };
        assert_eq!(cost_pico(&price, &usage(100, 10)), 100 * 1_000 + 10 * 1_500);
        assert_eq!(cost_pico(&price, &usage(101, 10)), 101 * 2_000 + 10 * 3_000);
    }

    #[test]
    fn images_use_per_image_price() {
        let mut price = Price::flat(1, 1);
        assert_eq!(image_cost_micros(&price, 3), 0);
        price.per_image = Some(40_000);
        assert_eq!(image_cost_micros(&price, 3), 120_000);
    }
}

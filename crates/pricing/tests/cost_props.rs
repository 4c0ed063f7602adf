//! Property tests for the cost arithmetic: exact against an independent u128 reference, rounded
//! once half up, and monotone in every token count.

use proptest::prelude::*;
use switchyard_pricing::{cost_micros, cost_pico, LongContext, Price};
use switchyard_types::Usage;

/// Rates up to $1000 per million tokens (1e9 micro-dollars per million).
fn rate() -> impl Strategy<Value = u64> {
    0u64..=1_000_000_000
}

fn price() -> impl Strategy<Value = Price> {
    (
        (rate(), rate(), rate(), rate()),
        proptest::option::of(rate()),
        proptest::option::of((0u64..2_000_000, 0u64..1_000_000_000)),
    )
        .prop_map(
            |((input, output, cached_input, cache_write), reasoning, tier)| {
                let long_context = tier.map(|(threshold, extra)| LongContext {
                    above_prompt_tokens: threshold,
                    // A tier never lowers a rate (validated at load): add to every base rate.
                    input: input + extra,
                    output: output + extra,
                    cached_input: cached_input + extra,
                    cache_write: cache_write + extra,
                    reasoning: reasoning.map(|r| r + extra),
                });
                Price {
                    input,
                    output,
                    cached_input,
                    cache_write,
                    reasoning,
                    per_image: None,
                    long_context,
                }
            },
        )
}

/// Consistent usage: the subsets fit in their totals. Counts up to 2^32 tokens.
fn usage() -> impl Strategy<Value = Usage> {
    (
        0u64..=u64::from(u32::MAX),
        0u64..=u64::from(u32::MAX),
        0u64..=u64::from(u32::MAX),
        0u64..=u64::from(u32::MAX),
        0u64..=u64::from(u32::MAX),
    )
        .prop_map(|(uncached, cached, written, plain, reasoning)| Usage {
            prompt_tokens: uncached + cached + written,
            completion_tokens: plain + reasoning,
            cached_tokens: cached,
            cache_write_tokens: written,
            reasoning_tokens: reasoning,
        })
}

/// Independent reference: pick the tier, split the usage into its five disjoint categories and
/// sum `count · rate` in u128 pico-dollars.
fn reference_pico(p: &Price, u: &Usage) -> u128 {
    let (input, output, cached, write, reasoning) = match &p.long_context {
        Some(lc) if u.prompt_tokens > lc.above_prompt_tokens => (
            lc.input,
            lc.output,
            lc.cached_input,
            lc.cache_write,
            lc.reasoning.or(p.reasoning).unwrap_or(lc.output),
        ),
        _ => (
            p.input,
            p.output,
            p.cached_input,
            p.cache_write,
            p.reasoning.unwrap_or(p.output),
        ),
    };
    let uncached = u.prompt_tokens - u.cached_tokens - u.cache_write_tokens;
    let plain = u.completion_tokens - u.reasoning_tokens;
    u128::from(uncached) * u128::from(input)
        + u128::from(u.cached_tokens) * u128::from(cached)
        + u128::from(u.cache_write_tokens) * u128::from(write)
        + u128::from(plain) * u128::from(output)
        + u128::from(u.reasoning_tokens) * u128::from(reasoning)
}

#[derive(Debug, Clone, Copy)]
enum Category {
    Uncached,
    Cached,
    Written,
    Plain,
    Reasoning,
}

fn add(u: &Usage, cat: Category, n: u64) -> Usage {
    let mut v = *u;
    match cat {
        Category::Uncached => v.prompt_tokens += n,
        Category::Cached => {
            v.prompt_tokens += n;
            v.cached_tokens += n;
        }
        Category::Written => {
            v.prompt_tokens += n;
            v.cache_write_tokens += n;
        }
        Category::Plain => v.completion_tokens += n,
        Category::Reasoning => {
            v.completion_tokens += n;
            v.reasoning_tokens += n;
        }
    }
    v
}

fn category() -> impl Strategy<Value = Category> {
    prop_oneof![
        Just(Category::Uncached),
        Just(Category::Cached),
        Just(Category::Written),
        Just(Category::Plain),
        Just(Category::Reasoning),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn exact_against_reference(p in price(), u in usage()) {
        let exact = reference_pico(&p, &u);
        prop_assert_eq!(cost_pico(&p, &u), exact);
        let micros = u128::from(cost_micros(&p, &u));
        // One rounding, half up: exact − 0.5 µ$ ≤ micros·10^6 < exact + 0.5 µ$ ... with ties up.
        prop_assert!(micros * 1_000_000 + 500_000 > exact, "rounded down too far");
        prop_assert!(micros * 1_000_000 <= exact + 500_000, "rounded up too far");
    }

    #[test]
    fn monotone_in_every_token_count(
        p in price(),
        u in usage(),
        cat in category(),
        n in 0u64..=1_000_000,
    ) {
        let more = add(&u, cat, n);
        prop_assert!(cost_pico(&p, &more) >= cost_pico(&p, &u));
        prop_assert!(cost_micros(&p, &more) >= cost_micros(&p, &u));
    }

    #[test]
    fn never_panics_on_inconsistent_usage(
        p in price(),
        prompt in any::<u64>(),
        completion in any::<u64>(),
        cached in any::<u64>(),
        written in any::<u64>(),
        reasoning in any::<u64>(),
    ) {
        let u = Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: cached,
            cache_write_tokens: written,
            reasoning_tokens: reasoning,
        };
        let _ = cost_micros(&p, &u);
    }
}

#[test]
fn rounding_tie_goes_up() {
    // 3 tokens at 0.5 µ$ = 1.5 µ$ → 2.
    let p = Price::flat(500_000, 0);
    let u = Usage {
        prompt_tokens: 3,
        ..Usage::default()
    };
    assert_eq!(cost_micros(&p, &u), 2);
}

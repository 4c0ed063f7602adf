//! The shipped table: it loads, resolves providers' real model ids, and takes overrides.

use switchyard_pricing::{PriceError, PriceOverride, PriceTable};

#[test]
fn builtin_table_loads_with_a_dated_version() {
    let table = PriceTable::builtin();
    assert!(table.len() > 100, "only {} prices loaded", table.len());
    let v = table.version();
    assert_eq!(v.len(), 10);
    assert_eq!(&v[4..5], "-");
    assert_eq!(&v[7..8], "-");
    assert!(v[..4].parse::<u32>().is_ok());
}

#[test]
fn data_file_parses_strictly() {
    let text = include_str!("../data/prices.json");
    assert!(PriceTable::from_json(text).is_ok());
    let bad = text.replacen("\"input\": 2.5,", "\"inptu\": 2.5,", 1);
    assert!(matches!(
        PriceTable::from_json(&bad),
        Err(PriceError::Data(_))
    ));
}

#[test]
fn lookups_resolve_real_model_ids() {
    let t = PriceTable::builtin();
    let rate = |kind: &str, model: &str| t.lookup(kind, model).map(|p| p.input);
    assert_eq!(rate("openai", "gpt-4o"), Some(2_500_000));
    assert_eq!(rate("openai", "gpt-4o-2024-08-06"), Some(2_500_000));
    // A snapshot with its own price is not normalised away.
    assert_eq!(rate("openai", "gpt-4o-2024-05-13"), Some(5_000_000));
    assert_eq!(rate("azure_openai", "gpt-4.1-mini"), Some(400_000));
    assert_eq!(
        rate("anthropic", "claude-sonnet-4-5-20250929"),
        Some(3_000_000)
    );
    assert_eq!(rate("anthropic", "claude-3-5-haiku-latest"), Some(800_000));
    assert_eq!(rate("vertex", "claude-opus-4-1@20250805"), Some(15_000_000));
    assert_eq!(
        rate("gemini", "models/gemini-2.5-flash-lite"),
        Some(100_000)
    );
    assert_eq!(rate("vertex", "gemini-2.0-flash-001"), Some(100_000));
    assert_eq!(
        rate("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        Some(3_000_000)
    );
    assert_eq!(
        rate("bedrock", "meta.llama3-3-70b-instruct-v1:0"),
        Some(720_000)
    );
    assert_eq!(
        rate("bedrock", "amazon.titan-embed-text-v2:0"),
        Some(20_000)
    );
    assert_eq!(rate("cohere", "command-a-03-2025"), Some(2_500_000));
    assert_eq!(rate("mistral", "mistral-small-2506"), Some(100_000));
    assert_eq!(
        rate("openai_compatible", "gemini-embedding-001"),
        Some(150_000)
    );
    // Unknown models have no price (the caller flags them): never a silent zero.
    assert_eq!(rate("openai", "gpt-unknown"), None);
    assert_eq!(rate("mistral", "mistral-medium-latest"), None);
    assert_eq!(rate("openai", ""), None);
}

#[test]
fn provider_specific_entry_wins_over_bare() {
    let t = PriceTable::builtin()
        .with_overrides([(
            "bedrock/anthropic.claude-haiku-4-5",
            PriceOverride {
                input: Some(1.1),
                ..PriceOverride::default()
            },
        )])
        .unwrap();
    assert_eq!(
        t.lookup("bedrock", "eu.anthropic.claude-haiku-4-5-20251001-v1:0")
            .map(|p| p.input),
        Some(1_100_000)
    );
    // The first-party price is untouched.
    assert_eq!(
        t.lookup("anthropic", "claude-haiku-4-5").map(|p| p.input),
        Some(1_000_000)
    );
}

#[test]
fn anthropic_cache_prices_follow_the_documented_multipliers() {
    let t = PriceTable::builtin();
    // Cache reads are 0.1x input, 5-minute writes 1.25x, except the models Anthropic re-priced
    // to a 0.05x cache read, and Claude 3 Haiku, whose published cache prices are $0.30 write
    // and $0.03 read on a $0.25 input.
    let cheaper_reads = ["claude-sonnet-5-5", "claude-opus-5-5"];
    let mut checked = 0;
    for (key, p) in t.iter() {
        if !key.contains("claude") {
            continue;
        }
        if key.ends_with("claude-3-haiku") {
            assert_eq!(
                (p.input, p.cache_write, p.cached_input),
                (250_000, 300_000, 30_000)
            );
            continue;
        }
        checked += 1;
        assert_eq!(p.cache_write * 4, p.input * 5, "{key}: cache write");
        if cheaper_reads.contains(&key) {
            assert_eq!(p.cached_input * 20, p.input, "{key}: cache read");
        } else {
            assert_eq!(p.cached_input * 10, p.input, "{key}: cache read");
        }
    }
    assert!(checked >= 30);
}

#[test]
fn every_shipped_price_is_sane() {
    let t = PriceTable::builtin();
    for (key, p) in t.iter() {
        assert!(p.input > 0, "{key}: zero input price");
        assert!(p.cached_input <= p.input, "{key}: cache read above input");
        if !key.contains("embed") {
            assert!(p.output > 0, "{key}: zero output price");
        }
        if let Some(lc) = &p.long_context {
            assert!(lc.above_prompt_tokens >= 100_000, "{key}");
        }
    }
}

#[test]
fn overrides_replace_and_add() {
    let t = PriceTable::builtin()
        .with_overrides([
            (
                "gpt-4o",
                PriceOverride {
                    input: Some(2.0),
                    ..PriceOverride::default()
                },
            ),
            (
                "my-finetune",
                PriceOverride {
                    input: Some(0.3),
                    output: Some(1.2),
                    ..PriceOverride::default()
                },
            ),
        ])
        .unwrap();
    let gpt = t.lookup("openai", "gpt-4o").unwrap();
    assert_eq!(gpt.input, 2_000_000);
    // Fields not given keep their shipped value.
    assert_eq!(gpt.output, 10_000_000);
    assert_eq!(gpt.cached_input, 1_250_000);
    let ft = t.lookup("openai_compatible", "my-finetune").unwrap();
    assert_eq!(
        (ft.input, ft.output, ft.cached_input, ft.cache_write),
        (300_000, 1_200_000, 300_000, 300_000)
    );
}

#[test]
fn override_of_a_provider_key_starts_from_the_resolved_price() {
    let t = PriceTable::builtin()
        .with_overrides([(
            "azure_openai/gpt-4o",
            PriceOverride {
                output: Some(11.0),
                ..PriceOverride::default()
            },
        )])
        .unwrap();
    let p = t.lookup("azure_openai", "gpt-4o").unwrap();
    assert_eq!((p.input, p.output), (2_500_000, 11_000_000));
    assert_eq!(t.lookup("openai", "gpt-4o").unwrap().output, 10_000_000);
}

#[test]
fn bad_overrides_name_their_key_and_field() {
    let err = PriceTable::builtin()
        .with_overrides([(
            "new-model",
            PriceOverride {
                input: Some(1.0),
                ..PriceOverride::default()
            },
        )])
        .unwrap_err();
    assert_eq!(
        err,
        PriceError::Incomplete {
            key: "new-model".into()
        }
    );

    let err = PriceTable::builtin()
        .with_overrides([(
            "gpt-4o",
            PriceOverride {
                output: Some(-3.0),
                ..PriceOverride::default()
            },
        )])
        .unwrap_err();
    assert!(err.to_string().contains("gpt-4o.output"), "{err}");
}

#[test]
fn override_config_shape_rejects_unknown_fields() {
    let ok: PriceOverride =
        serde_json::from_str(r#"{"input": 2.5, "output": 10.0, "cached_input": 1.25}"#).unwrap();
    assert_eq!(ok.cached_input, Some(1.25));
    assert!(serde_json::from_str::<PriceOverride>(r#"{"inpt": 2.5}"#).is_err());
}

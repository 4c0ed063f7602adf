use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "OPENAI_API_KEY" => Some("sk-test".into()),
        "ANTHROPIC_API_KEY" => Some("ant-test".into()),
        _ => None,
    }
}

fn messages(errs: &[ConfigError]) -> Vec<String> {
    errs.iter().map(|e| e.to_string()).collect()
}

#[test]
fn contract_example_parses() {
    let yaml = r#"
listen: 127.0.0.1:4000
master_key: ${SWITCHYARD_MASTER_KEY:-sk-master}
providers:
  openai:
    kind: openai
    api_key: ${OPENAI_API_KEY}
    base_url: https://api.openai.com/v1
  claude:
    kind: anthropic
    api_key: ${ANTHROPIC_API_KEY}
models:
  smart:
    targets:
      - { provider: openai, model: gpt-4o, weight: 2 }
      - { provider: claude, model: claude-sonnet-4-5 }
    fallbacks: [cheap]
  cheap:
    targets:
      - { provider: openai, model: gpt-4o-mini }
    pricing: { input: 0.15, output: 0.6 }
"#;
    let c = load_str(yaml, &env).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:4000");
    assert_eq!(c.master_key.as_ref().unwrap().expose(), "sk-master");
    assert_eq!(
        c.providers["openai"].api_key.as_ref().unwrap().expose(),
        "sk-test"
    );
    assert_eq!(c.models["smart"].targets[0].weight, 2);
    assert_eq!(c.models["smart"].targets[1].weight, 1);
    assert_eq!(c.database, "sqlite://switchyard.db");
}

#[test]
fn every_error_reported_with_path() {
    let yaml = r#"
listen: nowhere
colour: blue
providers:
  openai:
    kind: openai
    api_key: ${MISSING_KEY}
    base_url: "not a url"
    extra_thing: 1
  az:
    kind: azur
  bare:
    api_key: x
models:
  smart:
    targets:
      - { provider: openai, model: gpt-4o }
      - { provider: azur, model: x, wieght: 3 }
    fallbacks: [smart, nope]
  empty:
    targets: []
"#;
    let errs = load_str(yaml, &env).unwrap_err();
    let m = messages(&errs);
    let want = [
        "listen: \"nowhere\" is not an address:port",
        "colour: unknown field",
        "providers.openai.api_key: environment variable MISSING_KEY is referenced but not set",
        "providers.openai.base_url: \"not a url\" is not an http(s) URL",
        "providers.openai.extra_thing: unknown field",
        "providers.az.kind: unknown variant `azur`",
        "providers.bare.kind: is required",
        "models.smart.targets[1].provider: unknown provider \"azur\"",
        "models.smart.targets[1].wieght: unknown field",
        "models.smart.fallbacks[0]: a model cannot fall back to itself",
        "models.smart.fallbacks[1]: unknown model \"nope\"",
        "models.empty.targets: at least one target is required",
    ];
    for w in want {
        assert!(
            m.iter().any(|e| e.starts_with(w)),
            "missing error {w:?} in {m:#?}"
        );
    }
}

#[test]
fn kind_specific_requirements() {
    let yaml = r#"
providers:
  az: { kind: azure_openai }
  local: { kind: openai_compatible }
  vx: { kind: vertex }
  m: { kind: mock, mock: { failure_rate: 2 } }
  o: { kind: openai, mock: { latency_ms: 1 }, api_key: k }
"#;
    let m = messages(&load_str(yaml, &env).unwrap_err());
    for w in [
        "providers.az.base_url: is required for kind azure_openai",
        "providers.az.api_key: is required for kind azure_openai",
        "providers.local.base_url: is required for kind openai_compatible",
        "providers.vx.project: is required for kind vertex",
        "providers.m.mock.failure_rate: must be between 0 and 1",
        "providers.o.mock: only applies to kind mock",
    ] {
        assert!(m.iter().any(|e| e == w), "missing {w:?} in {m:#?}");
    }
}

#[test]
fn duplicate_keys_and_bad_yaml_are_errors() {
    let dup = "providers:\n  a: {kind: mock}\n  a: {kind: mock}\n";
    let m = messages(&load_str(dup, &env).unwrap_err());
    assert_eq!(
        m,
        vec![
            "providers.a: duplicate key: defined at line 2 and again at line 3 (only the first definition is used)"
        ]
    );
    let bad = "providers: [unclosed\n";
    assert!(messages(&load_str(bad, &env).unwrap_err())[0].starts_with("invalid YAML"));
}

/// Duplicates are reported with their paths together with every other error, not alone.
#[test]
fn duplicates_are_reported_with_every_other_error() {
    let yaml = r#"
providers:
  a:
    kind: mock
  b:
    kind: openai
    api_key: ${MISSING_KEY}
    base_url: "not a url"
    colour: blue
  a:
    kind: openai
models:
  m:
    targets:
      - { provider: a, model: x, model: y }
  m:
    targets: []
  n:
    targets:
      - { provider: b, model: z }
"#;
    let errs = load_str(yaml, &env).unwrap_err();
    let m = messages(&errs);
    let want = [
        "providers.a: duplicate key: defined at line 3 and again at line 10 (only the first definition is used)",
        "models.m.targets[0].model: duplicate key: defined twice at line 15 (only the first definition is used)",
        "models.m: duplicate key: defined at line 13 and again at line 16 (only the first definition is used)",
        "providers.b.api_key: environment variable MISSING_KEY is referenced but not set",
        "providers.b.base_url: \"not a url\" is not an http(s) URL",
        "providers.b.colour: unknown field",
    ];
    for w in want {
        assert!(m.iter().any(|e| e == w), "missing error {w:?} in {m:#?}");
    }
    // The first definitions are the ones checked: `a` is a mock (no api_key needed) and `m`
    // has its target; nothing else is reported.
    assert_eq!(m.len(), want.len(), "{m:#?}");
}

/// Each field of the wrong type is reported; the entry is still checked, and still exists for
/// the models that use it.
#[test]
fn type_errors_are_per_field_and_do_not_make_names_unknown() {
    let yaml = r#"
providers:
  a:
    kind: opena
    default_max_tokens: lots
    base_url: "not a url"
    timeouts: { first_byte_ms: soon }
  b: 5
models:
  m:
    targets:
      - { provider: a, model: x, weight: heavy }
      - { provider: b, model: y, priority: [1] }
    fallbacks: [broken]
  broken:
    targets:
      - { provider: 7, model: z }
    strategy: fastest
"#;
    let m = messages(&load_str(yaml, &env).unwrap_err());
    let want = [
        "providers.a.kind: unknown variant `opena`",
        "providers.a.default_max_tokens: invalid type: string \"lots\", expected u32",
        "providers.a.timeouts.first_byte_ms: invalid type: string \"soon\", expected u64",
        "providers.a.base_url: \"not a url\" is not an http(s) URL",
        "providers.b: invalid type: integer `5`, expected struct ProviderConfig",
        "models.m.targets[0].weight: invalid type: string \"heavy\", expected u32",
        "models.m.targets[1].priority: invalid type: sequence, expected i32",
        "models.broken.targets[0].provider: invalid type: integer `7`, expected a string",
        "models.broken.strategy: unknown variant `fastest`",
    ];
    for w in want {
        assert!(
            m.iter().any(|e| e.starts_with(w)),
            "missing error {w:?} in {m:#?}"
        );
    }
    // No cascade: `a` and `b` exist, `broken` exists, a rejected kind is not "required", and
    // the dropped `provider` field is not "missing".
    assert_eq!(m.len(), want.len(), "{m:#?}");
}

#[test]
fn connect_timeout_on_a_target_is_rejected() {
    let yaml = r#"
providers:
  a: { kind: mock, timeouts: { connect_ms: 1000 } }
models:
  m:
    targets:
      - { provider: a, model: x, timeouts: { connect_ms: 500, first_byte_ms: 500 } }
"#;
    let m = messages(&load_str(yaml, &env).unwrap_err());
    assert_eq!(
        m,
        vec![
            "models.m.targets[0].timeouts.connect_ms: connect_ms is a provider setting (connections are pooled per provider): set it in providers.a.timeouts"
        ]
    );
}

#[test]
fn empty_file_is_defaults() {
    let c = load_str("", &env).unwrap();
    assert_eq!(c.listen, defaults::listen_addr());
    assert!(c.providers.is_empty());
}

#[test]
fn builtin_discovers_env_and_always_has_mock() {
    let c = defaults::builtin(&env);
    assert!(c.providers.contains_key("mock"));
    assert!(c.models.contains_key("mock"));
    assert_eq!(c.providers["openai"].kind, Some(ProviderKind::Openai));
    assert_eq!(c.providers["anthropic"].kind, Some(ProviderKind::Anthropic));
    assert!(!c.providers.contains_key("gemini"));
    assert!(c.master_key.is_none());
    let mut errors = Vec::new();
    validate::validate(&c, &validate::Unread::default(), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn builtin_listens_on_localhost_4000_and_discovers_every_documented_variable() {
    let none = |_: &str| None::<String>;
    let c = defaults::builtin(&none);
    assert_eq!(c.listen.to_string(), "127.0.0.1:4000");
    assert_eq!(c.database, "sqlite://switchyard.db");
    assert_eq!(c.providers.keys().collect::<Vec<_>>(), ["mock"]);
    assert_eq!(c.models["mock"].targets[0].provider, "mock");

    let vars = [
        ("GOOGLE_API_KEY", "g"),
        ("MISTRAL_API_KEY", "m"),
        ("CO_API_KEY", "c"),
        ("AZURE_OPENAI_API_KEY", "az"),
        ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
        ("OPENAI_API_VERSION", "2024-10-21"),
        ("AWS_ACCESS_KEY_ID", "AKIA"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("SWITCHYARD_MASTER_KEY", "sk-master"),
        // Empty counts as unset.
        ("OPENAI_API_KEY", ""),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let c = defaults::builtin(&lookup);
    let kinds: Vec<(&str, Option<ProviderKind>)> = c
        .providers
        .iter()
        .map(|(name, p)| (name.as_str(), p.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("azure", Some(ProviderKind::AzureOpenai)),
            ("bedrock", Some(ProviderKind::Bedrock)),
            ("cohere", Some(ProviderKind::Cohere)),
            ("gemini", Some(ProviderKind::Gemini)),
            ("mistral", Some(ProviderKind::Mistral)),
            ("mock", Some(ProviderKind::Mock)),
        ]
    );
    assert_eq!(
        c.providers["gemini"].api_key.as_ref().unwrap().expose(),
        "g"
    );
    assert_eq!(
        c.providers["cohere"].api_key.as_ref().unwrap().expose(),
        "c"
    );
    let azure = &c.providers["azure"];
    assert_eq!(
        azure.base_url.as_deref(),
        Some("https://res.openai.azure.com")
    );
    assert_eq!(azure.api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(c.providers["bedrock"].region.as_deref(), Some("eu-west-1"));
    assert_eq!(c.master_key.as_ref().unwrap().expose(), "sk-master");
    let mut errors = Vec::new();
    validate::validate(&c, &validate::Unread::default(), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn secrets_are_redacted_in_debug() {
    let c = load_str(
        "master_key: supersecret\nproviders:\n  o: {kind: openai, api_key: sk-abc}\n",
        &env,
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains("supersecret") && !dbg.contains("sk-abc"),
        "{dbg}"
    );
}

#[test]
fn governance_and_pricing_sections() {
    let c = load_str(
        "governance: { timezone: Europe/Paris, alert_webhook: https://hooks.example/x }\npricing: { unknown_models: charge_default, default: { input: 1, output: 2 } }\n",
        &env,
    )
    .unwrap();
    assert_eq!(c.governance.timezone, "Europe/Paris");
    assert_eq!(c.governance.key_cache_ttl_ms, 10_000);
    assert_eq!(c.pricing.unknown_models, UnknownPrice::ChargeDefault);
    let m = messages(
        &load_str(
            "governance: { timezone: Mars/Olympus, colour: 1 }\npricing: { unknown_models: charge_default }\n",
            &env,
        )
        .unwrap_err(),
    );
    for w in [
        "governance.timezone: unknown IANA time zone \"Mars/Olympus\"",
        "governance.colour: unknown field",
        "pricing.default: is required when unknown_models is charge_default",
    ] {
        assert!(m.iter().any(|e| e == w), "missing {w:?} in {m:#?}");
    }
}

#[test]
fn routing_settings_per_model_and_target() {
    let yaml = r#"
providers:
  a: { kind: mock }
  b: { kind: mock }
models:
  m:
    strategy: lowest_latency
    hedge: { delay_ms: 200 }
    timeout_ms: 30000
    retries: { max_attempts: 4 }
    targets:
      - { provider: a, model: x, max_in_flight: 10, region: eu, priority: 1 }
      - { provider: b, model: y, timeouts: { first_byte_ms: 500 } }
"#;
    let c = load_str(yaml, &env).unwrap();
    let m = &c.models["m"];
    assert_eq!(m.strategy, switchyard_routing::Strategy::LowestLatency);
    assert_eq!(m.routing().hedge.unwrap().delay_ms, Some(200));
    assert_eq!(m.retries.max_attempts, 4);
    assert_eq!(m.targets[0].routing().max_in_flight, Some(10));
    assert_eq!(
        m.targets[1].timeouts.as_ref().unwrap().first_byte_ms,
        Some(500)
    );
    let bad = r#"
providers:
  a: { kind: mock }
models:
  m:
    strategy: fastest
    targets: [{ provider: a, model: x, max_in_flight: 0 }]
  n:
    retries: { max_attempts: 0 }
    targets: [{ provider: a, model: x }]
"#;
    let m = messages(&load_str(bad, &env).unwrap_err());
    assert!(
        m.iter()
            .any(|e| e.starts_with("models.m.strategy: unknown variant `fastest`")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|e| e == "models.n.retries.max_attempts: must be at least 1"),
        "{m:#?}"
    );
}

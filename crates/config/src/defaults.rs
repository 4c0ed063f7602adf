//! The built-in configuration used when no file is given: listen on 127.0.0.1:4000, a `mock`
//! provider and model that always work offline, and a provider for each well-known environment
//! variable that is set.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};

use switchyard_types::Secret;

use crate::{Config, ModelConfig, ProviderConfig, ProviderKind, ServerSettings, TargetConfig};

pub const LISTEN: &str = "127.0.0.1:4000";
pub const DATABASE: &str = "sqlite://switchyard.db";

pub fn listen_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 4000))
}

/// Provider name, kind, and the environment variables holding its key (first set one wins).
const DISCOVERED: &[(&str, ProviderKind, &[&str])] = &[
    ("openai", ProviderKind::Openai, &["OPENAI_API_KEY"]),
    ("anthropic", ProviderKind::Anthropic, &["ANTHROPIC_API_KEY"]),
    (
        "gemini",
        ProviderKind::Gemini,
        &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    ),
    ("mistral", ProviderKind::Mistral, &["MISTRAL_API_KEY"]),
    (
        "cohere",
        ProviderKind::Cohere,
        &["COHERE_API_KEY", "CO_API_KEY"],
    ),
];

/// The built-in configuration, reading the environment through `lookup`.
pub fn builtin(lookup: &dyn Fn(&str) -> Option<String>) -> Config {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let mut providers = BTreeMap::new();
    providers.insert(
        "mock".to_string(),
        ProviderConfig {
            kind: Some(ProviderKind::Mock),
            ..Default::default()
        },
    );
    for (name, kind, vars) in DISCOVERED {
        if let Some(key) = vars.iter().find_map(|v| get(v)) {
            providers.insert(
                name.to_string(),
                ProviderConfig {
                    kind: Some(*kind),
                    api_key: Some(Secret::new(key)),
                    ..Default::default()
                },
            );
        }
    }
    if let (Some(key), Some(endpoint)) = (get("AZURE_OPENAI_API_KEY"), get("AZURE_OPENAI_ENDPOINT"))
    {
        providers.insert(
            "azure".to_string(),
            ProviderConfig {
                kind: Some(ProviderKind::AzureOpenai),
                api_key: Some(Secret::new(key)),
                base_url: Some(endpoint),
                api_version: get("AZURE_OPENAI_API_VERSION").or(get("OPENAI_API_VERSION")),
                ..Default::default()
            },
        );
    }
    if get("AWS_ACCESS_KEY_ID").is_some()
        && get("AWS_SECRET_ACCESS_KEY").is_some()
        && (get("AWS_REGION").is_some() || get("AWS_DEFAULT_REGION").is_some())
    {
        providers.insert(
            "bedrock".to_string(),
            ProviderConfig {
                kind: Some(ProviderKind::Bedrock),
                region: get("AWS_REGION").or(get("AWS_DEFAULT_REGION")),
                ..Default::default()
            },
        );
    }
    let mut models = BTreeMap::new();
    models.insert(
        "mock".to_string(),
        ModelConfig::with_targets(vec![TargetConfig::new("mock", "mock-1")]),
    );
    Config {
        listen: listen_addr(),
        master_key: get("SWITCHYARD_MASTER_KEY").map(Secret::new),
        database: DATABASE.to_string(),
        redis: None,
        server: ServerSettings::default(),
        governance: Default::default(),
        pricing: Default::default(),
        providers,
        models,
    }
}

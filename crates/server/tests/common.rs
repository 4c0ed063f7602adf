//! Shared harness: start the real server on 127.0.0.1:0 from YAML, talk to it with reqwest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]
#![allow(dead_code)]

use std::time::Duration;

use switchyard_server::Running;

pub async fn gateway(yaml: &str) -> Running {
    let config = switchyard_config::load_str(yaml, &|_| None)
        .unwrap_or_else(|e| panic!("config errors: {e:?}"));
    let mut config = config;
    config.listen = "127.0.0.1:0".parse().unwrap();
    if !yaml.contains("\npricing:") {
        // These tests are not about prices: charge unknown test models a default instead of
        // refusing them (tests/governance.rs covers the refusal).
        config.pricing.unknown_models = switchyard_config::UnknownPrice::ChargeDefault;
        config.pricing.default = Some(switchyard_config::PricingOverride {
            input: 1.0,
            output: 2.0,
            cached_input: None,
            cache_write: None,
        });
    }
    if config.database == "sqlite://switchyard.db" {
        // Never a file in the source tree: each test gets its own in-memory database.
        config.database = "sqlite::memory:".into();
    }
    switchyard_server::start(&config, std::future::pending())
        .await
        .unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn url(g: &Running, path: &str) -> String {
    format!("http://{}{}", g.addr, path)
}

/// The Prometheus text of `GET /metrics`.
pub async fn scrape(g: &Running) -> String {
    let resp = client().get(url(g, "/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// Config with one OpenAI provider pointed at `base` (which should end in /v1).
pub fn openai_config(base: &str, extra: &str) -> String {
    format!(
        r#"
providers:
  openai:
    kind: openai
    api_key: sk-provider-secret
    base_url: {base}
{extra}
models:
  smart:
    targets:
      - {{ provider: openai, model: gpt-4o }}
"#
    )
}

/// Collects an SSE body into its `data:` payloads.
pub fn sse_data(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|ev| {
            ev.lines()
                .find_map(|l| l.strip_prefix("data: ").map(str::to_string))
        })
        .collect()
}

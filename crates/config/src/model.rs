//! Public model names and how to serve them.

use serde::{Deserialize, Serialize};
use switchyard_routing::{
    BreakerSettings, HedgeSettings, RetryBudgetSettings, RetrySettings, RoutingSettings, Strategy,
    TargetSettings,
};

use crate::Timeouts;

/// One way to serve a public model: a provider and the upstream model name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetConfig {
    /// A key of `providers`.
    pub provider: String,
    /// The model name the provider knows (Azure: the deployment name).
    pub model: String,
    /// Relative weight for the `weighted` strategy. Default 1.
    #[serde(default = "one")]
    pub weight: u32,
    /// Most requests in flight to this target at once; past it, others are chosen.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// Free-form region tag (shown in health and metrics).
    #[serde(default)]
    pub region: Option<String>,
    /// Lower is tried first with the `ordered` strategy. Default 0 (then config order).
    #[serde(default)]
    pub priority: i32,
    /// Overrides of the provider's timeouts for this target: `first_byte_ms`, `request_ms`,
    /// `idle_ms`. `connect_ms` is refused here (connections are pooled per provider).
    #[serde(default)]
    pub timeouts: Option<Timeouts>,
}

impl TargetConfig {
    /// The routing crate's view of this target.
    pub fn routing(&self) -> TargetSettings {
        TargetSettings {
            weight: self.weight,
            max_in_flight: self.max_in_flight,
            region: self.region.clone(),
            priority: self.priority,
            cost_per_mtok: None,
        }
    }
}

impl TargetConfig {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
            weight: 1,
            max_in_flight: None,
            region: None,
            priority: 0,
            timeouts: None,
        }
    }
}

fn one() -> u32 {
    1
}

/// USD per million tokens; overrides the shipped price table for this model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingOverride {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub targets: Vec<TargetConfig>,
    /// Other public models tried, in order, when every target of this one failed with a
    /// retryable error.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Tried instead when the failure was a context-window overflow.
    #[serde(default)]
    pub context_window_fallbacks: Vec<String>,
    /// Tried instead when a provider's content policy refused.
    #[serde(default)]
    pub content_policy_fallbacks: Vec<String>,
    #[serde(default)]
    pub pricing: Option<PricingOverride>,
    /// How a target is chosen. Default `weighted`.
    #[serde(default)]
    pub strategy: Strategy,
    #[serde(default)]
    pub retries: RetrySettings,
    #[serde(default)]
    pub retry_budget: RetryBudgetSettings,
    #[serde(default)]
    pub breaker: BreakerSettings,
    /// Opt-in hedging: a second attempt on another target when the first is slow.
    #[serde(default)]
    pub hedge: Option<HedgeSettings>,
    /// Overall deadline of a request to this model, all attempts included (the client may
    /// lower it with `x-switchyard-timeout`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Limits on all traffic to this model, whoever sends it (rpm, tpm, max_parallel).
    #[serde(default)]
    pub limits: Option<switchyard_policy::Limits>,
    /// Streams only, opt-in: answer 200 at once and send an SSE comment (`: keep-alive`) this
    /// often until the first event, so proxies and clients with idle timeouts don't cut long
    /// reasoning requests. Failover still happens before the first event; the
    /// `x-switchyard-provider`/`-model`/`-attempts` headers are then not sent (the choice is not
    /// made yet), and a request that fails ends with an error event instead of an HTTP error.
    #[serde(default)]
    pub stream_keepalive_ms: Option<u64>,
}

impl ModelConfig {
    /// The routing crate's view of this model.
    pub fn routing(&self) -> RoutingSettings {
        RoutingSettings {
            strategy: self.strategy,
            retries: self.retries.clone(),
            retry_budget: self.retry_budget.clone(),
            breaker: self.breaker.clone(),
            hedge: self.hedge.clone(),
            timeout_ms: self.timeout_ms,
        }
    }

    /// A model with these targets and default routing.
    pub fn with_targets(targets: Vec<TargetConfig>) -> Self {
        Self {
            targets,
            fallbacks: vec![],
            context_window_fallbacks: vec![],
            content_policy_fallbacks: vec![],
            pricing: None,
            strategy: Strategy::default(),
            retries: RetrySettings::default(),
            retry_budget: RetryBudgetSettings::default(),
            breaker: BreakerSettings::default(),
            hedge: None,
            timeout_ms: None,
            limits: None,
            stream_keepalive_ms: None,
        }
    }
}

//! Public model names and how to serve them.

use serde::{Deserialize, Serialize};

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
}

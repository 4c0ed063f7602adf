//! Token usage in OpenAI's accounting: `cached_tokens` is a subset of `prompt_tokens`,
//! `reasoning_tokens` a subset of `completion_tokens`. Providers convert to this on decode.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// All input tokens, cache reads and writes included.
    pub prompt_tokens: u64,
    /// All output tokens, reasoning included.
    pub completion_tokens: u64,
    /// Input tokens read from the provider's prompt cache (subset of `prompt_tokens`).
    #[serde(default)]
    pub cached_tokens: u64,
    /// Input tokens written to the provider's prompt cache (subset of `prompt_tokens`; cost only).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Reasoning/thinking tokens (subset of `completion_tokens`).
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

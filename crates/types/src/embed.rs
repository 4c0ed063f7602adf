//! Canonical embeddings request and response.

use serde::{Deserialize, Serialize};

use crate::Usage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedRequest {
    pub model: String,
    /// One or more input texts.
    pub input: Vec<String>,
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64`, as the client asked.
    pub encoding_format: Option<String>,
    pub user: Option<String>,
    /// Provider task hint (Gemini `taskType`, Cohere `input_type`), from `extra` when given.
    pub input_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    pub model: String,
    pub embeddings: Vec<Vec<f32>>,
    pub usage: Usage,
}

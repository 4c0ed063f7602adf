//! Gemini embeddings: one input -> `:embedContent`, several -> `:batchEmbedContents`.
//!
//! Request: `{"content":{"parts":[{"text"}]},"taskType"?,"outputDimensionality"?}`; a batch
//! wraps one such object per input, each with `"model":"models/{m}"`, in `requests`.
//! `dimensions` -> `outputDimensionality`; `input_type` -> `taskType` (upper-cased, so
//! `retrieval_query` works); `user` has no equivalent and is ignored.
//!
//! Response: `{"embedding":{"values"}}` or `{"embeddings":[{"values"}]}`. The Gemini API
//! reports no token usage for embeddings, so usage is an **estimate**: ceil(chars / 4) per
//! input, all of it prompt tokens. When a `usageMetadata.promptTokenCount` is present (Vertex
//! does send one) it is used instead.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use switchyard_types::{EmbedRequest, EmbedResponse, ErrorClass, GatewayError, Usage};

/// The method (`embedContent` or `batchEmbedContents`) and body for `req`; `resource` is the
/// model's resource name (`models/text-embedding-004`).
pub fn encode_embed(
    req: &EmbedRequest,
    resource: &str,
) -> Result<(&'static str, Value), GatewayError> {
    if req.input.is_empty() {
        return Err(
            GatewayError::bad_request("embeddings need at least one input").with_param("input"),
        );
    }
    let one = |text: &str, with_model: bool| {
        let mut m = Map::new();
        if with_model {
            m.insert("model".into(), json!(resource));
        }
        m.insert("content".into(), json!({ "parts": [{ "text": text }] }));
        if let Some(t) = &req.input_type {
            m.insert("taskType".into(), json!(t.to_ascii_uppercase()));
        }
        if let Some(d) = req.dimensions {
            m.insert("outputDimensionality".into(), json!(d));
        }
        Value::Object(m)
    };
    match req.input.as_slice() {
        [single] => Ok(("embedContent", one(single, false))),
        many => {
            let requests: Vec<Value> = many.iter().map(|t| one(t, true)).collect();
            Ok(("batchEmbedContents", json!({ "requests": requests })))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEmbed {
    embedding: Option<Values>,
    embeddings: Option<Vec<Values>>,
    usage_metadata: Option<EmbedUsage>,
}

#[derive(Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<f32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmbedUsage {
    prompt_token_count: Option<u64>,
}

/// Estimated tokens for embedding inputs: ceil(chars / 4) each.
pub fn estimate_tokens(inputs: &[String]) -> u64 {
    inputs
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum()
}

/// Decodes an embeddings answer. `inputs` (the request's texts) feed the usage estimate;
/// `model` is echoed (Gemini's answer does not name it).
pub fn decode_embed_response(
    body: &[u8],
    model: &str,
    inputs: &[String],
) -> Result<EmbedResponse, GatewayError> {
    let wire: WireEmbed = serde_json::from_slice(body).map_err(|e| {
        GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            format!("Gemini sent an embeddings answer that could not be read: {e}"),
        )
    })?;
    let embeddings: Vec<Vec<f32>> = match (wire.embedding, wire.embeddings) {
        (Some(one), _) => vec![one.values],
        (None, Some(many)) => many.into_iter().map(|v| v.values).collect(),
        (None, None) => {
            return Err(GatewayError::upstream(
                ErrorClass::ServerError,
                502,
                "Gemini's embeddings answer holds no embedding",
            ))
        }
    };
    if !inputs.is_empty() && embeddings.len() != inputs.len() {
        return Err(GatewayError::upstream(
            ErrorClass::ServerError,
            502,
            format!(
                "Gemini returned {} embeddings for {} inputs",
                embeddings.len(),
                inputs.len()
            ),
        ));
    }
    let prompt_tokens = wire
        .usage_metadata
        .and_then(|u| u.prompt_token_count)
        .unwrap_or_else(|| estimate_tokens(inputs));
    Ok(EmbedResponse {
        model: model.to_string(),
        embeddings,
        usage: Usage {
            prompt_tokens,
            ..Usage::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_rounds_up_per_input() {
        assert_eq!(
            estimate_tokens(&["abcde".into(), "ab".into(), String::new()]),
            3
        );
        assert_eq!(estimate_tokens(&["héllo".into()]), 2);
    }
}

//! OpenAI `/embeddings`: canonical embed request -> body, response -> canonical (float arrays,
//! or base64 little-endian `f32` when `encoding_format: base64` was asked).

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_types::{EmbedRequest, EmbedResponse, Usage};

use super::response::malformed;
use switchyard_types::GatewayError;

/// `{model, input, dimensions?, encoding_format?, user?}`.
pub fn encode_embed_request(req: &EmbedRequest) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(req.model.clone()));
    body.insert(
        "input".into(),
        Value::Array(req.input.iter().cloned().map(Value::String).collect()),
    );
    if let Some(d) = req.dimensions {
        body.insert("dimensions".into(), Value::from(d));
    }
    if let Some(f) = &req.encoding_format {
        body.insert("encoding_format".into(), Value::String(f.clone()));
    }
    if let Some(u) = &req.user {
        body.insert("user".into(), Value::String(u.clone()));
    }
    body
}

#[derive(Deserialize)]
struct WireEmbedResponse {
    #[serde(default)]
    model: String,
    data: Vec<WireEmbedding>,
    #[serde(default)]
    usage: Option<WireEmbedUsage>,
}

#[derive(Deserialize)]
struct WireEmbedding {
    #[serde(default)]
    index: usize,
    embedding: Value,
}

#[derive(Deserialize)]
struct WireEmbedUsage {
    #[serde(default)]
    prompt_tokens: u64,
}

fn vector(v: &Value) -> Result<Vec<f32>, GatewayError> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| malformed("embedding holds a non-number"))
            })
            .collect(),
        Value::String(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(malformed)?;
            if bytes.len() % 4 != 0 {
                return Err(malformed("base64 embedding is not a whole number of f32"));
            }
            Ok(bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        }
        _ => Err(malformed("embedding is neither an array nor base64")),
    }
}

/// Decodes an `/embeddings` response, ordered by `index`.
pub fn decode_embed_response(body: &[u8]) -> Result<EmbedResponse, GatewayError> {
    let mut wire: WireEmbedResponse = serde_json::from_slice(body).map_err(malformed)?;
    wire.data.sort_by_key(|d| d.index);
    let embeddings = wire
        .data
        .iter()
        .map(|d| vector(&d.embedding))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EmbedResponse {
        model: wire.model,
        embeddings,
        usage: Usage {
            prompt_tokens: wire.usage.map(|u| u.prompt_tokens).unwrap_or(0),
            ..Usage::default()
        },
    })
}

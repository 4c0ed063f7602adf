//! OpenAI Embeddings: request (`POST /v1/embeddings`) -> canonical [`EmbedRequest`], and
//! canonical [`EmbedResponse`] -> OpenAI `list` of `embedding` objects.
//!
//! Token-array inputs (`[1, 2, 3]` or `[[1, 2], [3]]`) are OpenAI-tokenizer specific and cannot be
//! translated to another provider: they are refused with a 400.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use switchyard_types::{EmbedRequest, EmbedResponse, GatewayError};

use crate::json::{self, Path};

/// Parses an OpenAI embeddings body. The non-standard `input_type` (a provider task hint, as
/// Cohere names it) is accepted; other unknown fields are ignored.
pub fn parse_embed_request(body: &[u8]) -> Result<EmbedRequest, GatewayError> {
    let mut obj = json::parse_object(body)?;
    let root = Path::ROOT;
    let model = json::req_string(&mut obj, "model", &root)?;
    let input_path = root.key("input");
    let input = match json::take(&mut obj, "input") {
        None => return Err(json::missing(&input_path)),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(json::bad(&input_path, "at least one input is required"));
            }
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) => texts.push(s),
                    Value::Number(_) | Value::Array(_) => return Err(token_arrays(&input_path)),
                    other => {
                        return Err(json::invalid_type(&input_path.index(i), "a string", &other))
                    }
                }
            }
            texts
        }
        Some(other) => {
            return Err(json::invalid_type(
                &input_path,
                "a string or an array of strings",
                &other,
            ))
        }
    };
    let encoding_format = json::opt_string(&mut obj, "encoding_format", &root)?;
    if let Some(f) = encoding_format.as_deref() {
        if f != "float" && f != "base64" {
            return Err(json::bad(
                &root.key("encoding_format"),
                format!("expected 'float' or 'base64', got '{f}'"),
            ));
        }
    }
    Ok(EmbedRequest {
        model,
        input,
        dimensions: json::opt_u32(&mut obj, "dimensions", &root)?,
        encoding_format,
        user: json::opt_string(&mut obj, "user", &root)?,
        input_type: json::opt_string(&mut obj, "input_type", &root)?,
    })
}

fn token_arrays(path: &Path<'_>) -> GatewayError {
    json::unsupported(
        path,
        "token-array inputs are not supported for translation; send text",
    )
}

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Item<'a>>,
    model: &'a str,
    usage: EmbedUsage,
}

#[derive(Serialize)]
struct Item<'a> {
    object: &'static str,
    index: usize,
    embedding: Embedding<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Embedding<'a> {
    Floats(&'a [f32]),
    Base64(String),
}

#[derive(Serialize)]
struct EmbedUsage {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// Renders `resp` as OpenAI's embedding list, reporting `model`. With `base64`, each vector is
/// its little-endian `f32` bytes in standard base64 (what `encoding_format:"base64"` returns).
pub fn render_embed_response(resp: &EmbedResponse, model: &str, base64: bool) -> Vec<u8> {
    let data = resp
        .embeddings
        .iter()
        .enumerate()
        .map(|(index, v)| Item {
            object: "embedding",
            index,
            embedding: if base64 {
                Embedding::Base64(encode_f32_le(v))
            } else {
                Embedding::Floats(v)
            },
        })
        .collect();
    json::to_vec(&List {
        object: "list",
        data,
        model,
        usage: EmbedUsage {
            prompt_tokens: resp.usage.prompt_tokens,
            total_tokens: resp.usage.total(),
        },
    })
}

fn encode_f32_le(v: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(v.len() * 4);
    for f in v {
        bytes.extend_from_slice(&f.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs() {
        let r = parse_embed_request(br#"{"model":"e","input":"hi"}"#).unwrap();
        assert_eq!(r.input, ["hi"]);
        let r = parse_embed_request(
            br#"{"model":"e","input":["a","b"],"dimensions":256,"encoding_format":"base64","user":"u"}"#,
        )
        .unwrap();
        assert_eq!(r.input, ["a", "b"]);
        assert_eq!(r.dimensions, Some(256));
        assert_eq!(r.encoding_format.as_deref(), Some("base64"));
        assert_eq!(r.user.as_deref(), Some("u"));
    }

    #[test]
    fn token_arrays_are_refused() {
        for body in [
            r#"{"model":"e","input":[1,2,3]}"#,
            r#"{"model":"e","input":[[1,2],[3]]}"#,
        ] {
            let e = parse_embed_request(body.as_bytes()).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e
                .message
                .contains("token-array inputs are not supported for translation"));
            assert_eq!(e.param.as_deref(), Some("input"));
        }
        let e = parse_embed_request(br#"{"model":"e","input":[]}"#).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("input"));
        let e = parse_embed_request(br#"{"model":"e","input":"x","encoding_format":"int8"}"#)
            .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("encoding_format"));
    }

    #[test]
    fn base64_is_little_endian_f32() {
        // 1.0f32 = 0x3f800000 -> LE bytes 00 00 80 3f.
        assert_eq!(encode_f32_le(&[1.0]), "AACAPw==");
    }
}

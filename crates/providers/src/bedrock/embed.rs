//! Embeddings through InvokeModel (`POST /model/{id}/invoke`), by model id:
//! - Amazon Titan text embeddings (`amazon.titan-embed-text-*`): `{"inputText","dimensions"?}`
//!   -> `{"embedding":[..],"inputTextTokenCount"}`. Titan embeds ONE text per call and an
//!   adapter builds one upstream request, so several inputs are refused with `Unsupported`
//!   (send one input per request, or use a Cohere embedding model).
//! - Cohere on Bedrock (`cohere.embed-*`): `{"texts","input_type"}` -> `{"embeddings":[[..]]}`
//!   (or `{"embeddings":{"float":[[..]]}}` when typed); Bedrock reports no token usage in this
//!   body, so usage is zero.
//!
//! `embed_request` has no `Dropped` list: a parameter a model cannot take (`dimensions`) is
//! refused under the `reject` policy and ignored (unreported) under `drop`.

use serde_json::{json, Map, Value};
use switchyard_config::UnsupportedParams;
use switchyard_types::{EmbedRequest, EmbedResponse, ErrorClass, GatewayError, Usage};

use crate::{unsupported, Dropped};

enum Kind {
    Titan,
    Cohere,
}

fn kind(model: &str) -> Result<Kind, GatewayError> {
    let m = model.to_ascii_lowercase();
    if m.contains("amazon.titan-embed") {
        Ok(Kind::Titan)
    } else if m.contains("cohere.embed") {
        Ok(Kind::Cohere)
    } else {
        Err(GatewayError::client(
            ErrorClass::Unsupported,
            format!(
                "bedrock embeddings support amazon.titan-embed-* and cohere.embed-* models, not {model}"
            ),
        ))
    }
}

pub(crate) fn encode_embed(
    req: &EmbedRequest,
    policy: UnsupportedParams,
) -> Result<Value, GatewayError> {
    let mut dropped = Dropped::default();
    let mut body = Map::new();
    match kind(&req.model)? {
        Kind::Titan => {
            let [text] = req.input.as_slice() else {
                return Err(GatewayError::client(
                    ErrorClass::Unsupported,
                    format!(
                        "Titan embedding models on Bedrock take one input per request; got {}",
                        req.input.len()
                    ),
                )
                .with_param("input"));
            };
            body.insert("inputText".into(), json!(text));
            if let Some(d) = req.dimensions {
                if req.model.contains("titan-embed-text-v1") {
                    unsupported(policy, "bedrock", "dimensions", &mut dropped)?;
                } else {
                    body.insert("dimensions".into(), json!(d));
                }
            }
        }
        Kind::Cohere => {
            body.insert("texts".into(), json!(req.input));
            body.insert(
                "input_type".into(),
                json!(req.input_type.as_deref().unwrap_or("search_document")),
            );
            if let Some(d) = req.dimensions {
                if req.model.contains("embed-v4") {
                    body.insert("output_dimension".into(), json!(d));
                } else {
                    unsupported(policy, "bedrock", "dimensions", &mut dropped)?;
                }
            }
        }
    }
    Ok(Value::Object(body))
}

fn floats(v: &Value) -> Option<Vec<f32>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect()
}

fn bad(msg: &str) -> GatewayError {
    GatewayError::upstream(
        ErrorClass::ServerError,
        502,
        format!("bedrock: unreadable embeddings response: {msg}"),
    )
}

pub(crate) fn decode_embed(body: &[u8]) -> Result<EmbedResponse, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    if let Some(e) = v.get("embedding") {
        let embedding = floats(e).ok_or_else(|| bad("`embedding` is not a list of numbers"))?;
        let tokens = v
            .get("inputTextTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        return Ok(EmbedResponse {
            model: String::new(),
            embeddings: vec![embedding],
            usage: Usage {
                prompt_tokens: tokens,
                ..Usage::default()
            },
        });
    }
    let list = match v.get("embeddings") {
        Some(Value::Array(a)) => a,
        Some(Value::Object(o)) => o
            .get("float")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no float embeddings"))?,
        _ => return Err(bad("no `embedding` or `embeddings`")),
    };
    let embeddings = list
        .iter()
        .map(floats)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("an embedding is not a list of numbers"))?;
    Ok(EmbedResponse {
        model: String::new(),
        embeddings,
        usage: Usage::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(model: &str, input: &[&str]) -> EmbedRequest {
        EmbedRequest {
            model: model.into(),
            input: input.iter().map(|s| s.to_string()).collect(),
            dimensions: None,
            encoding_format: None,
            user: None,
            input_type: None,
        }
    }

    #[test]
    fn titan_single_input_only() {
        let mut r = req("amazon.titan-embed-text-v2:0", &["hello"]);
        r.dimensions = Some(256);
        assert_eq!(
            encode_embed(&r, UnsupportedParams::Drop).unwrap(),
            json!({"inputText": "hello", "dimensions": 256})
        );
        let e = encode_embed(
            &req("amazon.titan-embed-text-v2:0", &["a", "b"]),
            UnsupportedParams::Drop,
        )
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::Unsupported);
        assert!(e.message.contains("one input"));
    }

    #[test]
    fn cohere_and_unknown_models() {
        let mut r = req("cohere.embed-english-v3", &["a", "b"]);
        r.input_type = Some("search_query".into());
        assert_eq!(
            encode_embed(&r, UnsupportedParams::Drop).unwrap(),
            json!({"texts": ["a", "b"], "input_type": "search_query"})
        );
        r.dimensions = Some(10);
        assert!(encode_embed(&r, UnsupportedParams::Reject).is_err());
        assert!(encode_embed(&r, UnsupportedParams::Drop).is_ok());
        let e = encode_embed(&req("meta.llama3", &["a"]), UnsupportedParams::Drop).unwrap_err();
        assert_eq!(e.class, ErrorClass::Unsupported);
    }

    #[test]
    fn decodes_both_shapes() {
        let t = decode_embed(br#"{"embedding":[0.5,-1],"inputTextTokenCount":3}"#).unwrap();
        assert_eq!(t.embeddings, vec![vec![0.5, -1.0]]);
        assert_eq!(t.usage.prompt_tokens, 3);
        let c = decode_embed(
            br#"{"id":"x","embeddings":[[1],[2]],"response_type":"embeddings_floats"}"#,
        )
        .unwrap();
        assert_eq!(c.embeddings, vec![vec![1.0], vec![2.0]]);
        let c = decode_embed(br#"{"embeddings":{"float":[[3]]}}"#).unwrap();
        assert_eq!(c.embeddings, vec![vec![3.0]]);
        assert!(decode_embed(br#"{"embeddings":[["x"]]}"#).is_err());
        assert!(decode_embed(b"[]").is_err());
    }
}

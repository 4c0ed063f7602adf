//! Gemini embeddings: `:embedContent` for one input, `:batchEmbedContents` for several.
#![cfg(test)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::ProviderConfig;
use switchyard_providers::gemini::{decode_embed_response, GeminiAdapter};
use switchyard_providers::ChatAdapter;
use switchyard_types::{EmbedRequest, ErrorClass, Secret};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/gemini")
            .join(name),
    )
    .unwrap()
}

fn adapter() -> GeminiAdapter {
    GeminiAdapter::new(&ProviderConfig {
        api_key: Some(Secret::new("k".to_string())),
        ..ProviderConfig::default()
    })
    .unwrap()
}

fn embed(inputs: &[&str]) -> EmbedRequest {
    EmbedRequest {
        model: "text-embedding-004".into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        dimensions: Some(256),
        encoding_format: None,
        user: Some("u1".into()),
        input_type: Some("retrieval_document".into()),
    }
}

#[test]
fn single_input_uses_embed_content() {
    let wire = adapter().embed_request(&embed(&["Hello world"])).unwrap();
    assert_eq!(
        wire.url,
        "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:embedContent"
    );
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(
        body,
        json!({
            "content": {"parts": [{"text": "Hello world"}]},
            "taskType": "RETRIEVAL_DOCUMENT",
            "outputDimensionality": 256
        })
    );
    assert!(wire.headers.iter().any(|(n, _)| n == "x-goog-api-key"));
}

#[test]
fn several_inputs_use_batch_embed_contents() {
    let mut req = embed(&["first", "second"]);
    req.dimensions = None;
    req.input_type = None;
    let wire = adapter().embed_request(&req).unwrap();
    assert!(wire
        .url
        .ends_with("/v1beta/models/text-embedding-004:batchEmbedContents"));
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(
        body,
        json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "first"}]}},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "second"}]}}
        ]})
    );
}

#[test]
fn empty_input_is_refused() {
    let e = adapter().embed_request(&embed(&[])).unwrap_err();
    assert_eq!(e.class, ErrorClass::BadRequest);
}

#[test]
fn responses_decode_with_estimated_usage() {
    let r = decode_embed_response(
        &fixture("embed_single.response.json"),
        "text-embedding-004",
        &["Hello world".into()],
    )
    .unwrap();
    assert_eq!(r.model, "text-embedding-004");
    assert_eq!(
        r.embeddings,
        vec![vec![0.013168523, -0.008711934, -0.046782676, 0.00069968984]]
    );
    // 11 characters -> ceil(11 / 4) = 3 (an estimate: Gemini reports no usage).
    assert_eq!(r.usage.prompt_tokens, 3);
    assert_eq!(r.usage.completion_tokens, 0);

    let r = decode_embed_response(
        &fixture("embed_batch.response.json"),
        "m",
        &["first".into(), "second".into()],
    )
    .unwrap();
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[1], vec![-0.0214, 0.0092, 0.0311]);
    assert_eq!(r.usage.prompt_tokens, 2 + 2);

    // Count mismatch and garbage are upstream errors.
    let e = decode_embed_response(&fixture("embed_batch.response.json"), "m", &["x".into()])
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
    assert!(decode_embed_response(b"{}", "m", &[]).is_err());
    assert!(decode_embed_response(b"nope", "m", &[]).is_err());
}

#[test]
fn reported_usage_wins_over_the_estimate() {
    let body = br#"{"embedding":{"values":[0.5]},"usageMetadata":{"promptTokenCount":9}}"#;
    let r = decode_embed_response(body, "m", &["abc".into()]).unwrap();
    assert_eq!(r.usage.prompt_tokens, 9);
    let r = adapter()
        .embed_response(&embed_req(), &fixture("embed_single.response.json"))
        .unwrap();
    assert_eq!(r.embeddings.len(), 1);
}

fn embed_req() -> switchyard_types::EmbedRequest {
    switchyard_types::EmbedRequest {
        model: "embed-model".into(),
        input: vec!["hello world".into()],
        dimensions: None,
        encoding_format: None,
        user: None,
        input_type: None,
    }
}

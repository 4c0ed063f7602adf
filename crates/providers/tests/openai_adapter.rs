//! OpenAI-wire adapter plumbing: URLs and auth per flavor, embeddings requests and responses.

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use base64::Engine;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::ProviderConfig;
use switchyard_providers::openai::{
    decode_embed_response, encode_embed_request, OpenAiAdapter, OpenAiFlavor,
};
use switchyard_providers::ChatAdapter;
use switchyard_types::{EmbedRequest, ErrorClass, Secret};

fn cfg(base: Option<&str>) -> ProviderConfig {
    ProviderConfig {
        base_url: base.map(String::from),
        api_key: Some(Secret::new("sk-test-123".into())),
        ..Default::default()
    }
}

#[test]
fn openai_urls() {
    let a = OpenAiAdapter::new(&cfg(None), OpenAiFlavor::OpenAi).unwrap();
    assert_eq!(
        a.chat_url("gpt-4o"),
        "https://api.openai.com/v1/chat/completions"
    );
    assert_eq!(
        a.embeddings_url("text-embedding-3-small"),
        "https://api.openai.com/v1/embeddings"
    );
    let a = OpenAiAdapter::new(
        &cfg(Some("http://127.0.0.1:8080/v1/")),
        OpenAiFlavor::OpenAi,
    )
    .unwrap();
    assert_eq!(
        a.chat_url("gpt-4o"),
        "http://127.0.0.1:8080/v1/chat/completions"
    );
}

#[test]
fn compatible_urls() {
    let a = OpenAiAdapter::new(
        &cfg(Some("http://localhost:11434/v1/")),
        OpenAiFlavor::Compatible,
    )
    .unwrap();
    assert_eq!(
        a.chat_url("llama3"),
        "http://localhost:11434/v1/chat/completions"
    );
    assert_eq!(
        a.embeddings_url("nomic"),
        "http://localhost:11434/v1/embeddings"
    );
    assert!(OpenAiAdapter::new(&cfg(None), OpenAiFlavor::Compatible).is_err());
}

#[test]
fn azure_urls() {
    let a = OpenAiAdapter::new(
        &cfg(Some("https://myres.openai.azure.com/")),
        OpenAiFlavor::Azure,
    )
    .unwrap();
    assert_eq!(
        a.chat_url("gpt4o-prod"),
        "https://myres.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(
        a.embeddings_url("embed small"),
        "https://myres.openai.azure.com/openai/deployments/embed%20small/embeddings?api-version=2024-10-21"
    );
    let mut c = cfg(Some("https://myres.openai.azure.com/openai"));
    c.api_version = Some("2025-01-01-preview".into());
    let a = OpenAiAdapter::new(&c, OpenAiFlavor::Azure).unwrap();
    assert_eq!(
        a.chat_url("d"),
        "https://myres.openai.azure.com/openai/deployments/d/chat/completions?api-version=2025-01-01-preview"
    );
    // The v1 surface: no deployment in the path, no api-version.
    let a = OpenAiAdapter::new(
        &cfg(Some("https://myres.openai.azure.com/openai/v1/")),
        OpenAiFlavor::Azure,
    )
    .unwrap();
    assert_eq!(
        a.chat_url("gpt-4o"),
        "https://myres.openai.azure.com/openai/v1/chat/completions"
    );
    assert_eq!(
        a.embeddings_url("e"),
        "https://myres.openai.azure.com/openai/v1/embeddings"
    );
}

fn header_list(a: &OpenAiAdapter) -> Vec<(String, String, bool)> {
    a.auth_headers()
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                v.to_str().unwrap().to_string(),
                v.is_sensitive(),
            )
        })
        .collect()
}

#[test]
fn auth_headers_per_flavor() {
    let mut c = cfg(None);
    c.headers
        .insert("OpenAI-Organization".into(), "org-1".into());
    let a = OpenAiAdapter::new(&c, OpenAiFlavor::OpenAi).unwrap();
    assert_eq!(
        header_list(&a),
        vec![
            ("authorization".into(), "Bearer sk-test-123".into(), true),
            ("openai-organization".into(), "org-1".into(), false),
        ]
    );

    let mut c = cfg(Some("http://127.0.0.1:1/v1"));
    c.api_key = None;
    let a = OpenAiAdapter::new(&c, OpenAiFlavor::Compatible).unwrap();
    assert!(header_list(&a).is_empty(), "no key, no Authorization");

    let a = OpenAiAdapter::new(
        &cfg(Some("https://r.openai.azure.com")),
        OpenAiFlavor::Azure,
    )
    .unwrap();
    assert_eq!(
        header_list(&a),
        vec![("api-key".into(), "sk-test-123".into(), true)]
    );

    let mut c = cfg(Some("https://r.openai.azure.com"));
    c.azure_ad_token = Some(Secret::new("eyJ0eXAi".into()));
    let a = OpenAiAdapter::new(&c, OpenAiFlavor::Azure).unwrap();
    assert_eq!(
        header_list(&a),
        vec![("authorization".into(), "Bearer eyJ0eXAi".into(), true)]
    );
    assert!(!format!("{a:?}").contains("eyJ0eXAi"));
    assert!(!format!("{a:?}").contains("sk-test"));

    let mut c = cfg(None);
    c.api_key = Some(Secret::new("bad\nkey".into()));
    let err = OpenAiAdapter::new(&c, OpenAiFlavor::OpenAi).unwrap_err();
    assert!(
        !err.contains("bad\nkey"),
        "the error never shows the secret"
    );
}

#[test]
fn embeddings_request() {
    let req = EmbedRequest {
        model: "text-embedding-3-small".into(),
        input: vec!["The food was delicious".into(), "and the waiter...".into()],
        dimensions: Some(256),
        encoding_format: Some("float".into()),
        user: Some("u1".into()),
        input_type: Some("search_query".into()),
    };
    assert_eq!(
        Value::Object(encode_embed_request(&req)),
        json!({"model": "text-embedding-3-small",
               "input": ["The food was delicious", "and the waiter..."],
               "dimensions": 256, "encoding_format": "float", "user": "u1"})
    );
    let a = OpenAiAdapter::new(
        &cfg(Some("https://r.openai.azure.com")),
        OpenAiFlavor::Azure,
    )
    .unwrap();
    let w = a.embed_request(&req).unwrap();
    assert_eq!(
        w.url,
        "https://r.openai.azure.com/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    );
    assert!(w.headers.iter().any(|(n, _)| n == "api-key"));
    let empty = EmbedRequest {
        input: vec![],
        ..req
    };
    assert_eq!(
        a.embed_request(&empty).unwrap_err().class,
        ErrorClass::BadRequest
    );
}

#[test]
fn embeddings_response_float_and_base64() {
    let body = br#"{"object":"list","data":[
        {"object":"embedding","index":1,"embedding":[0.5,-1.25]},
        {"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292]}],
        "model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
    let r = decode_embed_response(body).unwrap();
    assert_eq!(r.model, "text-embedding-3-small");
    assert_eq!(
        r.embeddings,
        vec![vec![0.002_306_425_5_f32, -0.009_327_292], vec![0.5, -1.25]]
    );
    assert_eq!(r.usage.prompt_tokens, 8);

    let floats = [1.0f32, -2.5, 0.125];
    let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let body = json!({"object":"list","data":[{"object":"embedding","index":0,"embedding":b64}],
                      "model":"m","usage":{"prompt_tokens":3,"total_tokens":3}});
    let r = decode_embed_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(r.embeddings, vec![floats.to_vec()]);

    let bad = json!({"data":[{"index":0,"embedding":"AAA="}],"model":"m"});
    assert!(decode_embed_response(bad.to_string().as_bytes()).is_err());
}

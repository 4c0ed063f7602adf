//! Vertex AI adapter: URL building per location and publisher, the Claude body, static-token
//! auth, and routing answers/streams/errors to the right decoder by sniffing them.
#![cfg(test)]

use std::path::PathBuf;
use std::time::Duration;

use http::HeaderMap;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::ProviderConfig;
use switchyard_providers::anthropic::{self, AnthropicStreamDecoder};
use switchyard_providers::client::HttpClient;
use switchyard_providers::gemini::{self, GeminiStreamDecoder};
use switchyard_providers::vertex::{Publisher, VertexAdapter};
use switchyard_providers::{ChatAdapter, Dropped, StreamDecoder};
use switchyard_types::{
    ChatRequest, ContentPart, ErrorClass, FinishReason, Message, Role, Secret, StreamEvent,
};

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir)
            .join(name),
    )
    .unwrap()
}

fn client() -> HttpClient {
    HttpClient::new(Duration::from_secs(1)).unwrap()
}

fn config(location: Option<&str>) -> ProviderConfig {
    ProviderConfig {
        project: Some("my-project".into()),
        location: location.map(str::to_string),
        access_token: Some(Secret::new("ya29.static-token".to_string())),
        ..ProviderConfig::default()
    }
}

fn chat(model: &str, stream: bool) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![
            Message::text(Role::System, "Be brief."),
            Message::text(Role::User, "Say hello in French."),
        ],
        max_tokens: Some(100),
        stream,
        ..ChatRequest::default()
    }
}

fn url_for(cfg: &ProviderConfig, model: &str, stream: bool) -> String {
    let adapter = VertexAdapter::new(cfg, client()).unwrap();
    let mut d = Dropped::default();
    adapter
        .chat_request(&chat(model, stream), &mut d)
        .unwrap()
        .url
}

#[test]
fn urls_per_location_and_publisher() {
    let base = "/v1/projects/my-project/locations";
    assert_eq!(
        url_for(&config(None), "gemini-2.5-flash", false),
        format!("https://us-central1-aiplatform.googleapis.com{base}/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
    );
    assert_eq!(
        url_for(&config(Some("europe-west4")), "gemini-2.5-flash", true),
        format!("https://europe-west4-aiplatform.googleapis.com{base}/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    );
    assert_eq!(
        url_for(&config(Some("global")), "gemini-2.5-pro", false),
        format!("https://aiplatform.googleapis.com{base}/global/publishers/google/models/gemini-2.5-pro:generateContent")
    );
    assert_eq!(
        url_for(&config(Some("us-east5")), "claude-sonnet-4-5@20250929", false),
        format!("https://us-east5-aiplatform.googleapis.com{base}/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    );
    assert_eq!(
        url_for(&config(Some("us-east5")), "claude-haiku-4-5@20251001", true),
        format!("https://us-east5-aiplatform.googleapis.com{base}/us-east5/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict")
    );
    let mut cfg = config(Some("global"));
    cfg.base_url = Some("http://127.0.0.1:8089/".into());
    assert_eq!(
        url_for(&cfg, "claude-opus-4-1", false),
        "http://127.0.0.1:8089/v1/projects/my-project/locations/global/publishers/anthropic/models/claude-opus-4-1:rawPredict"
    );
    assert_eq!(
        Publisher::for_model("claude-3-5-haiku"),
        Publisher::Anthropic
    );
    assert_eq!(Publisher::for_model("gemini-claude"), Publisher::Google);
}

#[test]
fn bad_model_names_and_configs_are_refused() {
    let adapter = VertexAdapter::new(&config(None), client()).unwrap();
    let mut d = Dropped::default();
    for model in ["publishers/google/models/x", "gemini?x", ""] {
        let e = adapter
            .chat_request(&chat(model, false), &mut d)
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::BadRequest, "{model}");
    }
    let mut cfg = config(None);
    cfg.project = None;
    assert!(VertexAdapter::new(&cfg, client()).is_err());
    let mut cfg = config(None);
    cfg.project = Some("a/b".into());
    assert!(VertexAdapter::new(&cfg, client()).is_err());
    let mut cfg = config(Some("us-central1/../x"));
    assert!(VertexAdapter::new(&cfg, client()).is_err());
    cfg = config(None);
    cfg.access_token = None;
    assert!(VertexAdapter::new(&cfg, client()).is_err());
    cfg.credentials_file = Some("/nonexistent/sa.json".into());
    let e = VertexAdapter::new(&cfg, client()).unwrap_err();
    assert!(e.contains("/nonexistent/sa.json"), "{e}");
}

#[test]
fn claude_body_is_the_anthropic_body_without_model() {
    let adapter = VertexAdapter::new(&config(Some("us-east5")), client()).unwrap();
    let req = chat("claude-sonnet-4-5@20250929", true);
    let mut d = Dropped::default();
    let wire = adapter.chat_request(&req, &mut d).unwrap();
    let body: Value = serde_json::from_slice(&wire.body).unwrap();

    let mut expected = anthropic::encode_request(
        &req,
        &anthropic::AnthropicOptions::from_config(&config(None)),
        &mut Dropped::default(),
    )
    .unwrap();
    expected.remove("model");
    expected.insert("anthropic_version".into(), json!("vertex-2023-10-16"));
    assert_eq!(body, Value::Object(expected));
    assert!(body.get("model").is_none());
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(body["stream"], true);
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 100);
}

#[test]
fn gemini_body_sets_roles() {
    let mut cfg = config(None);
    cfg.headers
        .insert("x-goog-user-project".into(), "billing-project".into());
    let adapter = VertexAdapter::new(&cfg, client()).unwrap();
    let mut req = chat("gemini-2.5-flash", false);
    req.messages.push(Message::text(Role::Assistant, "Bonjour"));
    req.messages.push(Message::text(Role::User, "Merci"));
    let mut d = Dropped::default();
    let wire = adapter.chat_request(&req, &mut d).unwrap();
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(
        body,
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Say hello in French."}]},
                {"role": "model", "parts": [{"text": "Bonjour"}]},
                {"role": "user", "parts": [{"text": "Merci"}]}
            ],
            "generationConfig": {"maxOutputTokens": 100}
        })
    );
    assert!(wire
        .headers
        .iter()
        .any(|(n, v)| n == "x-goog-user-project" && v == "billing-project"));
    // No credential before authorize().
    assert!(!wire.headers.iter().any(|(n, _)| n == "authorization"));
}

#[tokio::test]
async fn static_token_is_sent_as_bearer() {
    let adapter = VertexAdapter::new(&config(None), client()).unwrap();
    assert!(!format!("{adapter:?}").contains("static-token"));
    let mut d = Dropped::default();
    let wire = adapter
        .chat_request(&chat("gemini-2.5-flash", false), &mut d)
        .unwrap();
    let wire = adapter.authorize(wire).await.unwrap();
    // Authorizing twice (a retry) keeps a single header.
    let wire = adapter.authorize(wire).await.unwrap();
    let auth: Vec<_> = wire
        .headers
        .iter()
        .filter(|(n, _)| n == "authorization")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0], "Bearer ya29.static-token");
    assert!(auth[0].is_sensitive());
}

#[test]
fn responses_are_routed_by_shape() {
    let adapter = VertexAdapter::new(&config(None), client()).unwrap();
    let claude = fixture("vertex", "claude_response.json");
    let got = adapter.chat_response(&claude).unwrap();
    let mut want = anthropic::decode_response(&claude).unwrap();
    want.created = got.created;
    assert_eq!(got, want);
    assert_eq!(
        got.choices[0].message.content,
        vec![ContentPart::text("Bonjour!")]
    );

    let gem = fixture("gemini", "response_text.json");
    let got = adapter.chat_response(&gem).unwrap();
    let mut want = gemini::decode_response(&gem).unwrap();
    want.created = got.created;
    assert_eq!(got, want);

    let blocked = fixture("gemini", "response_blocked_prompt.json");
    assert_eq!(
        adapter.chat_response(&blocked).unwrap_err().class,
        ErrorClass::ContentFiltered
    );
}

fn run(mut d: Box<dyn StreamDecoder>, body: &[u8], piece: usize) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    for chunk in body.chunks(piece) {
        d.feed(chunk, &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    out
}

#[test]
fn streams_are_routed_by_their_first_event() {
    let adapter = VertexAdapter::new(&config(None), client()).unwrap();
    let claude = fixture("vertex", "claude_stream.sse");
    let want = run(
        Box::new(AnthropicStreamDecoder::new()),
        &claude,
        claude.len(),
    );
    assert!(want.contains(&StreamEvent::TextDelta {
        choice: 0,
        text: "Bon".into()
    }));
    assert!(want.contains(&StreamEvent::Finish {
        choice: 0,
        reason: FinishReason::Stop
    }));
    for piece in [1, 5, claude.len()] {
        assert_eq!(
            run(adapter.stream_decoder(), &claude, piece),
            want,
            "piece {piece}"
        );
    }

    let gem = fixture("gemini", "stream_thinking_tool.sse");
    let want = run(Box::new(GeminiStreamDecoder::new()), &gem, gem.len());
    for piece in [1, 5, gem.len()] {
        assert_eq!(
            run(adapter.stream_decoder(), &gem, piece),
            want,
            "piece {piece}"
        );
    }
}

#[test]
fn empty_stream_is_an_error() {
    let adapter = VertexAdapter::new(&config(None), client()).unwrap();
    let mut d = adapter.stream_decoder();
    let mut out = Vec::new();
    d.feed(b"", &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());
}

#[test]
fn errors_are_routed_by_shape() {
    let adapter = VertexAdapter::new(&config(None), client()).unwrap();
    let e = adapter.error(
        529,
        &HeaderMap::new(),
        &fixture("vertex", "claude_error.json"),
    );
    assert_eq!(
        e,
        anthropic::map_error(
            529,
            &HeaderMap::new(),
            &fixture("vertex", "claude_error.json")
        )
    );
    assert_eq!(e.class, ErrorClass::Overloaded);
    let e = adapter.error(
        429,
        &HeaderMap::new(),
        &fixture("vertex", "quota_error.json"),
    );
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert!(e.message.starts_with("Quota exceeded"));
    let e = adapter.error(
        400,
        &HeaderMap::new(),
        &fixture("gemini", "error_context_window.json"),
    );
    assert_eq!(e.class, ErrorClass::ContextWindowExceeded);
}

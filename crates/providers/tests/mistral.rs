//! Mistral adapter against recorded chat-completions / embeddings wire bodies
//! (tests/fixtures/mistral).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a panic is a failed test"
)]

use http::HeaderMap;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_providers::mistral::MistralAdapter;
use switchyard_providers::{ChatAdapter, Dropped, WireRequest};
use switchyard_types::{
    ChatRequest, ContentPart, EmbedRequest, ErrorClass, FinishReason, Message, Role, Secret,
    StreamEvent, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/mistral/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn adapter_with(policy: UnsupportedParams) -> MistralAdapter {
    MistralAdapter::with_env(
        &ProviderConfig {
            api_key: Some(Secret::new("mistral-test-key".into())),
            base_url: Some("http://127.0.0.1:4020/v1".into()),
            unsupported_params: policy,
            ..Default::default()
        },
        |_| None,
    )
    .unwrap()
}

fn adapter() -> MistralAdapter {
    adapter_with(UnsupportedParams::Drop)
}

fn header<'a>(w: &'a WireRequest, name: &str) -> Option<&'a str> {
    w.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

fn call(id: &str, city: &str) -> Message {
    Message {
        role: Role::Assistant,
        content: vec![ContentPart::ToolCall(ToolCall {
            id: id.into(),
            name: "get_weather".into(),
            arguments: format!(r#"{{"city":"{city}"}}"#),
            signature: None,
        })],
        name: None,
    }
}

fn result(id: &str, text: &str) -> Message {
    Message {
        role: Role::Tool,
        content: vec![ContentPart::ToolResult(ToolResult {
            call_id: id.into(),
            name: None,
            content: vec![ContentPart::text(text)],
            is_error: false,
        })],
        name: None,
    }
}

fn tools_request() -> ChatRequest {
    let mut extra = serde_json::Map::new();
    extra.insert("safe_prompt".into(), json!(true));
    ChatRequest {
        model: "mistral-large-latest".into(),
        messages: vec![
            Message::text(Role::System, "You are terse."),
            Message::text(Role::User, "What's the weather in Paris?"),
            call("call_PTLP8xhu3uwZk4l3nlnrrJha", "Paris"),
            result("call_PTLP8xhu3uwZk4l3nlnrrJha", "18 C"),
            call("D681PevKs", "Lyon"),
            result("D681PevKs", "21 C"),
            Message::text(Role::User, "And tomorrow?"),
        ],
        tools: vec![Tool {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            strict: None,
        }],
        tool_choice: Some(ToolChoice::Required),
        max_tokens: Some(100),
        seed: Some(7),
        temperature: Some(0.2),
        top_k: Some(5),
        logprobs: Some(true),
        stream: true,
        include_usage: true,
        extra,
        ..Default::default()
    }
}

#[test]
fn golden_request_rewrites_ids_and_fields() {
    let mut dropped = Dropped::default();
    let w = adapter()
        .chat_request(&tools_request(), &mut dropped)
        .unwrap();
    assert_eq!(w.url, "http://127.0.0.1:4020/v1/chat/completions");
    assert_eq!(header(&w, "authorization"), Some("Bearer mistral-test-key"));
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    let want: Value = serde_json::from_slice(&fixture("chat_request_tools.json")).unwrap();
    assert_eq!(body, want);
    assert_eq!(dropped.0, vec!["logprobs", "top_k"]);

    let e = adapter_with(UnsupportedParams::Reject)
        .chat_request(&tools_request(), &mut Dropped::default())
        .unwrap_err();
    assert_eq!(
        (e.class, e.param.as_deref()),
        (ErrorClass::Unsupported, Some("logprobs"))
    );
}

#[test]
fn prefill_is_sent_as_prefix() {
    let req = ChatRequest {
        model: "mistral-small-latest".into(),
        messages: vec![
            Message::text(Role::User, "Write a haiku"),
            Message::text(Role::Assistant, "Autumn"),
        ],
        ..Default::default()
    };
    let w = adapter()
        .chat_request(&req, &mut Dropped::default())
        .unwrap();
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": "Autumn", "prefix": true})
    );
    assert!(body.get("stream_options").is_none());
}

#[test]
fn responses() {
    let r = adapter()
        .chat_response(&fixture("chat_response_tool_call.json"))
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        r.choices[0].message.content,
        vec![ContentPart::ToolCall(ToolCall {
            id: "D681PevKs".into(),
            name: "retrieve_payment_status".into(),
            arguments: r#"{"transaction_id": "T1001"}"#.into(),
            signature: None,
        })]
    );
    assert_eq!(r.model, "mistral-large-latest");
    assert_eq!(r.usage.map(|u| u.total()), Some(190));
    let r = adapter()
        .chat_response(&fixture("chat_response_model_length.json"))
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
    assert_eq!(r.provider_stop_reason.as_deref(), Some("model_length"));
}

fn decode(bytes: &[u8], piece: usize) -> Vec<StreamEvent> {
    let mut d = adapter().stream_decoder();
    let mut out = Vec::new();
    for c in bytes.chunks(piece) {
        d.feed(c, &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    out
}

#[test]
fn stream_usage_arrives_without_stream_options() {
    let bytes = fixture("stream_text.sse");
    let events = decode(&bytes, bytes.len());
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "6a3e4b2f9c2f4f4e8d1c0b7a6e5d4c3b".into(),
                model: "mistral-small-latest".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: "Bonjour".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: " !".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 10,
                completion_tokens: 4,
                ..Usage::default()
            }),
        ]
    );
    assert_eq!(decode(&bytes, 1), events);
}

#[test]
fn stream_whole_tool_call_and_error_finish() {
    let events = decode(&fixture("stream_tool_call.sse"), 16);
    assert_eq!(
        events[1..],
        [
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "Qx7Lm2Pz9".into(),
                name: "get_weather".into(),
                signature: None
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: r#"{"city": "Paris"}"#.into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 80,
                completion_tokens: 21,
                ..Usage::default()
            }),
        ]
    );
    let events = decode(&fixture("stream_error.sse"), 3);
    assert!(
        matches!(events.last(), Some(StreamEvent::Error(e)) if e.class == ErrorClass::ServerError),
        "{events:?}"
    );
}

#[test]
fn errors() {
    let e = adapter().error(
        400,
        &HeaderMap::new(),
        &fixture("error_invalid_tool_id.json"),
    );
    assert_eq!(e.class, ErrorClass::BadRequest);
    assert!(e.message.contains("length of 9"));
    let e = adapter().error(429, &HeaderMap::new(), &fixture("error_429.json"));
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(e.message, "Requests rate limit exceeded");
}

#[test]
fn embeddings() {
    let req = EmbedRequest {
        model: "codestral-embed".into(),
        input: vec!["a".into(), "b".into()],
        dimensions: Some(256),
        encoding_format: None,
        user: Some("u1".into()),
        input_type: None,
    };
    let w = adapter().embed_request(&req).unwrap();
    assert_eq!(w.url, "http://127.0.0.1:4020/v1/embeddings");
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "codestral-embed", "input": ["a", "b"], "output_dimension": 256})
    );
    let r = adapter()
        .embed_response(&embed_req(), &fixture("embed_response.json"))
        .unwrap();
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[1][2], 0.0521240234375_f64 as f32);
    assert_eq!(r.usage.prompt_tokens, 15);
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

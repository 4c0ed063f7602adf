//! Cohere adapter against recorded v2 chat / embed wire bodies (tests/fixtures/cohere).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a panic is a failed test"
)]

use http::HeaderMap;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_providers::cohere::CohereAdapter;
use switchyard_providers::{ChatAdapter, Dropped, WireRequest};
use switchyard_types::{
    ChatRequest, ContentPart, EmbedRequest, ErrorClass, FinishReason, MediaSource, Message,
    ResponseFormat, Role, Secret, StreamEvent, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/cohere/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn adapter_with(policy: UnsupportedParams) -> CohereAdapter {
    CohereAdapter::with_env(
        &ProviderConfig {
            api_key: Some(Secret::new("co-test-key".into())),
            base_url: Some("http://127.0.0.1:4010/".into()),
            unsupported_params: policy,
            ..Default::default()
        },
        |_| None,
    )
    .unwrap()
}

fn adapter() -> CohereAdapter {
    adapter_with(UnsupportedParams::Drop)
}

fn header<'a>(w: &'a WireRequest, name: &str) -> Option<&'a str> {
    w.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

fn tools_request() -> ChatRequest {
    let mut extra = serde_json::Map::new();
    extra.insert("safety_mode".into(), json!("STRICT"));
    extra.insert("some_unknown_field".into(), json!(1));
    ChatRequest {
        model: "command-a-03-2025".into(),
        messages: vec![
            Message::text(Role::System, "You are a weather bot."),
            Message::text(Role::User, "What's the weather in Paris?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentPart::text("I will look up the weather in Paris."),
                    ContentPart::ToolCall(ToolCall {
                        id: "get_weather_9x2k7qv4m1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                        signature: None,
                    }),
                ],
                name: None,
            },
            Message {
                role: Role::Tool,
                content: vec![ContentPart::ToolResult(ToolResult {
                    call_id: "get_weather_9x2k7qv4m1".into(),
                    name: Some("get_weather".into()),
                    content: vec![ContentPart::text(r#"{"temperature":18,"sky":"sunny"}"#)],
                    is_error: false,
                })],
                name: None,
            },
            Message {
                role: Role::User,
                content: vec![
                    ContentPart::text("And what is in this picture?"),
                    ContentPart::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                        detail: Some("low".into()),
                    },
                ],
                name: None,
            },
        ],
        tools: vec![Tool {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            strict: Some(true),
        }],
        tool_choice: Some(ToolChoice::Required),
        max_tokens: Some(300),
        temperature: Some(0.3),
        top_p: Some(0.75),
        top_k: Some(40),
        stop: vec!["END".into()],
        seed: Some(42),
        frequency_penalty: Some(0.1),
        presence_penalty: Some(0.2),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object", "properties": {"answer": {"type": "string"}}}),
            strict: None,
            description: None,
        }),
        stream: true,
        extra,
        ..Default::default()
    }
}

#[test]
fn golden_request() {
    let mut dropped = Dropped::default();
    let w = adapter()
        .chat_request(&tools_request(), &mut dropped)
        .unwrap();
    assert_eq!(w.url, "http://127.0.0.1:4010/v2/chat");
    assert_eq!(header(&w, "authorization"), Some("Bearer co-test-key"));
    assert_eq!(header(&w, "accept"), Some("text/event-stream"));
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    let want: Value = serde_json::from_slice(&fixture("chat_request_tools.json")).unwrap();
    assert_eq!(body, want);
    assert!(dropped.0.is_empty());
}

#[test]
fn unsupported_params_follow_policy() {
    let req = ChatRequest {
        model: "command-r".into(),
        messages: vec![Message::text(Role::User, "hi")],
        n: Some(2),
        logprobs: Some(true),
        user: Some("u1".into()),
        tool_choice: Some(ToolChoice::None),
        ..Default::default()
    };
    let mut dropped = Dropped::default();
    let w = adapter().chat_request(&req, &mut dropped).unwrap();
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "command-r", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "NONE"})
    );
    assert_eq!(dropped.0, vec!["n", "logprobs", "user"]);
    let e = adapter_with(UnsupportedParams::Reject)
        .chat_request(&req, &mut Dropped::default())
        .unwrap_err();
    assert_eq!(
        (e.class, e.param.as_deref()),
        (ErrorClass::Unsupported, Some("n"))
    );
}

#[test]
fn text_response() {
    let r = adapter()
        .chat_response(&fixture("chat_response_text.json"))
        .unwrap();
    assert_eq!(r.id, "c14c80c3-18eb-4519-9460-6c92edd8cfb4");
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert!(r.choices[0]
        .message
        .joined_text()
        .starts_with("LLMs stand for"));
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 17,
            completion_tokens: 26,
            ..Usage::default()
        })
    );
    assert_eq!(r.provider_stop_reason.as_deref(), Some("COMPLETE"));
}

#[test]
fn tool_call_and_thinking_responses() {
    let r = adapter()
        .chat_response(&fixture("chat_response_tool_call.json"))
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        r.choices[0].message.content,
        vec![
            ContentPart::text("I will search for the weather in Toronto."),
            ContentPart::ToolCall(ToolCall {
                id: "get_weather_1byjy32y4hvq".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"Toronto"}"#.into(),
                signature: None,
            }),
        ]
    );
    let r = adapter()
        .chat_response(&fixture("chat_response_thinking.json"))
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
    assert_eq!(
        r.choices[0].message.content[0],
        ContentPart::Reasoning {
            text: "The user asks for a proof; start with the base case.".into(),
            signature: None
        }
    );
    let e = adapter()
        .chat_response(br#"{"id":"x","finish_reason":"ERROR","message":{"role":"assistant"}}"#)
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
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
fn stream_text() {
    let bytes = fixture("stream_text.sse");
    let events = decode(&bytes, bytes.len());
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "29f14a5a-11de-4cae-9800-25e4747408ea".into(),
                model: String::new()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: "Hello".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: " there!".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 3,
                completion_tokens: 3,
                ..Usage::default()
            }),
        ]
    );
    assert_eq!(decode(&bytes, 1), events);
    // CRLF framing gives the same events.
    let crlf = String::from_utf8(bytes).unwrap().replace('\n', "\r\n");
    assert_eq!(decode(crlf.as_bytes(), 11), events);
}

#[test]
fn stream_tool_calls() {
    let bytes = fixture("stream_tool_call.sse");
    let events = decode(&bytes, 9);
    let delta = |index: u32, a: &str| StreamEvent::ToolCallDelta {
        choice: 0,
        index,
        arguments: a.into(),
    };
    assert_eq!(
        events[1..],
        [
            StreamEvent::TextDelta {
                choice: 0,
                text: "I will".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: " check the weather.".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "get_weather_nsz5zm3w56q3".into(),
                name: "get_weather".into(),
                signature: None
            },
            delta(0, "{\n    \""),
            delta(0, "location\": \"Toronto\"\n}"),
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 1,
                id: "get_weather_rj2pvhb9wq5c".into(),
                name: "get_weather".into(),
                signature: None
            },
            delta(1, r#"{"location": "Paris"}"#),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 37,
                completion_tokens: 28,
                ..Usage::default()
            }),
        ]
    );
    assert_eq!(decode(&bytes, 1), events);
}

#[test]
fn stream_error_finish_is_an_error_event() {
    let events = decode(&fixture("stream_error.sse"), 4);
    let StreamEvent::Error(e) = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert_eq!(e.class, ErrorClass::ServerError);
    assert_eq!(e.message, "internal error during generation");
}

#[test]
fn http_errors() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", "7".parse().unwrap());
    let e = adapter().error(429, &h, &fixture("error_429.json"));
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert!(e.message.starts_with("You are using a Trial key"));
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(7)));
    let e = adapter().error(
        401,
        &HeaderMap::new(),
        br#"{"message":"invalid api token"}"#,
    );
    assert_eq!(e.class, ErrorClass::UpstreamAuth);
}

#[test]
fn embeddings() {
    let req = EmbedRequest {
        model: "embed-english-v3.0".into(),
        input: vec!["hello".into(), "goodbye".into()],
        dimensions: None,
        encoding_format: None,
        user: None,
        input_type: Some("search_query".into()),
    };
    let w = adapter().embed_request(&req).unwrap();
    assert_eq!(w.url, "http://127.0.0.1:4010/v2/embed");
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "embed-english-v3.0", "texts": ["hello", "goodbye"], "input_type": "search_query", "embedding_types": ["float"]})
    );
    let r = adapter()
        .embed_response(&embed_req(), &fixture("embed_response.json"))
        .unwrap();
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[0][0], 0.016296387);
    assert_eq!(r.usage.prompt_tokens, 2);
    assert!(adapter()
        .embed_response(&embed_req(), br#"{"embeddings":{}}"#)
        .is_err());
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

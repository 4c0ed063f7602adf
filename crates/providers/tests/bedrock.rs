//! Bedrock adapter against recorded Converse / ConverseStream wire bodies
//! (tests/fixtures/bedrock): golden requests, responses, event-stream decoding, errors, auth,
//! embeddings.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a panic is a failed test"
)]

use std::time::{Duration, UNIX_EPOCH};

use http::HeaderMap;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_providers::bedrock::BedrockAdapter;
use switchyard_providers::eventstream::encode_message;
use switchyard_providers::{ChatAdapter, Dropped, WireRequest};
use switchyard_types::{
    ChatRequest, ContentPart, EmbedRequest, ErrorClass, FinishReason, MediaSource, Message,
    ResponseFormat, Role, Secret, StreamEvent, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/bedrock/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn config() -> ProviderConfig {
    ProviderConfig {
        region: Some("us-east-1".into()),
        access_key_id: Some(Secret::new("AKIDEXAMPLE".into())),
        secret_access_key: Some(Secret::new(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        )),
        session_token: Some(Secret::new("FQoGZXIvYXdzEXAMPLE".into())),
        ..Default::default()
    }
}

fn adapter() -> BedrockAdapter {
    BedrockAdapter::with_env(&config(), |_| None).unwrap()
}

fn header<'a>(w: &'a WireRequest, name: &str) -> Option<&'a str> {
    w.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

fn body(w: &WireRequest) -> Value {
    serde_json::from_slice(&w.body).unwrap()
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Current weather for a city".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        strict: None,
    }
}

fn tool_conversation() -> ChatRequest {
    ChatRequest {
        model: "anthropic.claude-3-7-sonnet-20250219-v1:0".into(),
        messages: vec![
            Message {
                role: Role::System,
                content: vec![ContentPart::Text {
                    text: "You are a weather bot.".into(),
                    cache_control: Some(json!({"type": "ephemeral"})),
                }],
                name: None,
            },
            Message {
                role: Role::User,
                content: vec![
                    ContentPart::text("What's the weather in Paris? Here is a photo."),
                    ContentPart::Image {
                        source: MediaSource::Url {
                            url: "data:image/png;base64,iVBORw0KGgo=".into(),
                        },
                        detail: None,
                    },
                ],
                name: None,
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentPart::Reasoning {
                        text: "Need the weather tool.".into(),
                        signature: Some("sig-1".into()),
                    },
                    ContentPart::text("Let me check."),
                    ContentPart::ToolCall(ToolCall {
                        id: "tooluse_1".into(),
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
                    call_id: "tooluse_1".into(),
                    name: None,
                    content: vec![ContentPart::text("18 C, sunny")],
                    is_error: false,
                })],
                name: None,
            },
            Message::text(Role::User, "Thanks! And tomorrow?"),
        ],
        tools: vec![weather_tool()],
        tool_choice: Some(ToolChoice::Auto),
        max_tokens: Some(512),
        temperature: Some(0.5),
        top_p: Some(0.9),
        stop: vec!["END".into()],
        ..Default::default()
    }
}

#[test]
fn golden_tool_conversation_request() {
    let mut dropped = Dropped::default();
    let w = adapter()
        .chat_request(&tool_conversation(), &mut dropped)
        .unwrap();
    assert_eq!(
        w.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse"
    );
    assert_eq!(header(&w, "content-type"), Some("application/json"));
    assert_eq!(body(&w), fixture_json("converse_request_tools.json"));
    assert!(dropped.0.is_empty());
}

fn json_schema_request() -> ChatRequest {
    ChatRequest {
        model: "amazon.nova-pro-v1:0".into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![
                ContentPart::text("Summarise the attached report as JSON."),
                ContentPart::File {
                    source: MediaSource::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0xLjQ=".into(),
                    },
                    filename: Some("Q3 report.pdf".into()),
                },
            ],
            name: None,
        }],
        response_format: Some(ResponseFormat::JsonSchema {
            name: "summary".into(),
            schema: json!({"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}),
            strict: Some(true),
            description: None,
        }),
        seed: Some(7),
        n: Some(1),
        top_k: Some(20),
        ..Default::default()
    }
}

#[test]
fn golden_json_schema_request_and_policy() {
    let mut dropped = Dropped::default();
    let w = adapter()
        .chat_request(&json_schema_request(), &mut dropped)
        .unwrap();
    assert_eq!(body(&w), fixture_json("converse_request_json_schema.json"));
    assert_eq!(dropped.0, vec!["seed"]);

    let strict = BedrockAdapter::with_env(
        &ProviderConfig {
            unsupported_params: UnsupportedParams::Reject,
            ..config()
        },
        |_| None,
    )
    .unwrap();
    let e = strict
        .chat_request(&json_schema_request(), &mut Dropped::default())
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported);
    assert_eq!(e.param.as_deref(), Some("seed"));
}

#[test]
fn url_images_follow_policy() {
    let mut req = ChatRequest {
        model: "anthropic.claude-3-haiku-20240307-v1:0".into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![
                ContentPart::text("what is this?"),
                ContentPart::Image {
                    source: MediaSource::Url {
                        url: "https://example.com/cat.png".into(),
                    },
                    detail: None,
                },
                ContentPart::Image {
                    source: MediaSource::Url {
                        url: "s3://bucket/dog.jpg".into(),
                    },
                    detail: None,
                },
            ],
            name: None,
        }],
        ..Default::default()
    };
    let mut dropped = Dropped::default();
    let b = body(&adapter().chat_request(&req, &mut dropped).unwrap());
    assert_eq!(
        b["messages"][0]["content"],
        json!([
            {"text": "what is this?"},
            {"image": {"format": "jpeg", "source": {"s3Location": {"uri": "s3://bucket/dog.jpg"}}}}
        ])
    );
    assert_eq!(dropped.0, vec!["image_url"]);
    // Unknown inline media types are the client's error.
    req.messages[0].content = vec![ContentPart::Image {
        source: MediaSource::Base64 {
            media_type: "image/tiff".into(),
            data: "AAAA".into(),
        },
        detail: None,
    }];
    let e = adapter()
        .chat_request(&req, &mut Dropped::default())
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::BadRequest);
}

#[test]
fn streaming_uses_converse_stream_and_arn_ids_are_encoded() {
    let req = ChatRequest {
        model: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3".into(),
        messages: vec![Message::text(Role::User, "hi")],
        stream: true,
        ..Default::default()
    };
    let w = adapter()
        .chat_request(&req, &mut Dropped::default())
        .unwrap();
    assert_eq!(
        w.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3/converse-stream"
    );
    assert_eq!(
        header(&w, "accept"),
        Some("application/vnd.amazon.eventstream")
    );
    assert_eq!(
        body(&w),
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
}

#[test]
fn sigv4_on_a_bedrock_request() {
    // Expected values computed independently (Python hmac/hashlib) from the SigV4 spec.
    let mut w = WireRequest::post_json(
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse".into(),
        br#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.to_vec(),
    );
    w.header(http::header::USER_AGENT, "switchyard").unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_735_689_600); // 2025-01-01T00:00:00Z
    let signed = adapter().sign_at(w, at).unwrap();
    assert_eq!(header(&signed, "x-amz-date"), Some("20250101T000000Z"));
    assert_eq!(
        header(&signed, "x-amz-content-sha256"),
        Some("7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54")
    );
    assert_eq!(
        header(&signed, "x-amz-security-token"),
        Some("FQoGZXIvYXdzEXAMPLE")
    );
    assert_eq!(
        header(&signed, "authorization"),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
             Signature=70f8f509f38f5d28b6d21bb0f8c3386e8b19b423d3230d0720f7f3960b68bc20"
        )
    );
    let auth = signed
        .headers
        .iter()
        .find(|(n, _)| n == http::header::AUTHORIZATION)
        .unwrap();
    assert!(auth.1.is_sensitive());
}

#[tokio::test]
async fn authorize_signs_now_and_api_keys_use_bearer() {
    let a = adapter();
    let w = a
        .chat_request(&tool_conversation(), &mut Dropped::default())
        .unwrap();
    let signed = a.authorize(w).await.unwrap();
    assert!(header(&signed, "authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
    assert_eq!(header(&signed, "x-amz-date").map(str::len), Some(16));

    let keyed = BedrockAdapter::with_env(
        &ProviderConfig {
            region: Some("us-west-2".into()),
            api_key: Some(Secret::new("ABSKexamplekey".into())),
            ..Default::default()
        },
        |_| None,
    )
    .unwrap();
    let w = keyed
        .chat_request(&tool_conversation(), &mut Dropped::default())
        .unwrap();
    let w = keyed.authorize(w).await.unwrap();
    assert_eq!(header(&w, "authorization"), Some("Bearer ABSKexamplekey"));
    assert!(header(&w, "x-amz-date").is_none());
    assert!(w
        .url
        .starts_with("https://bedrock-runtime.us-west-2.amazonaws.com/"));
}

#[test]
fn tool_use_response() {
    let r = adapter()
        .chat_response(&fixture("converse_response_tool_use.json"))
        .unwrap();
    let c = &r.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        c.message.content,
        vec![
            ContentPart::Reasoning {
                text: "The user wants the weather in Paris.".into(),
                signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
            },
            ContentPart::text("Let me check the weather for you."),
            ContentPart::ToolCall(ToolCall {
                id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
                signature: None,
            }),
        ]
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 412,
            completion_tokens: 71,
            ..Usage::default()
        })
    );
    assert_eq!(r.provider_stop_reason.as_deref(), Some("tool_use"));
    assert!(r.id.starts_with("bedrock-"));
}

#[test]
fn cached_usage_and_other_stop_reasons() {
    let a = adapter();
    let r = a
        .chat_response(&fixture("converse_response_text_cached.json"))
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 21 + 2048 + 64,
            completion_tokens: 12,
            cached_tokens: 2048,
            cache_write_tokens: 64,
            reasoning_tokens: 0,
        })
    );
    let r = a
        .chat_response(&fixture("converse_response_json_tool.json"))
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        r.choices[0].message.content,
        vec![ContentPart::text(r#"{"title":"Q3 revenue up 12%"}"#)]
    );
    let r = a
        .chat_response(&fixture("converse_response_guardrail.json"))
        .unwrap();
    assert_eq!(
        r.choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    let e = a
        .chat_response(br#"{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"malformed_tool_use"}"#)
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
}

/// Event-stream bytes for a fixture of `{"event", "payload"}` entries.
fn stream_bytes(name: &str) -> Vec<u8> {
    let events = fixture_json(name);
    let mut out = Vec::new();
    for e in events.as_array().unwrap() {
        out.extend(encode_message(
            &[
                (":event-type", e["event"].as_str().unwrap()),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            e["payload"].to_string().as_bytes(),
        ));
    }
    out
}

fn decode_in_pieces(bytes: &[u8], piece: usize) -> Vec<StreamEvent> {
    let mut d = adapter().stream_decoder();
    let mut out = Vec::new();
    for chunk in bytes.chunks(piece) {
        d.feed(chunk, &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    out
}

/// Replaces the generated id so event lists compare.
fn normalise(mut events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    for e in &mut events {
        if let StreamEvent::Start { id, .. } = e {
            assert!(id.starts_with("bedrock-"));
            *id = "ID".into();
        }
    }
    events
}

#[test]
fn stream_tool_use_events() {
    let bytes = stream_bytes("stream_tool_use.json");
    let whole = normalise(decode_in_pieces(&bytes, bytes.len()));
    let text = |t: &str| StreamEvent::TextDelta {
        choice: 0,
        text: t.into(),
    };
    let args = |t: &str| StreamEvent::ToolCallDelta {
        choice: 0,
        index: 0,
        arguments: t.into(),
    };
    assert_eq!(
        whole,
        vec![
            StreamEvent::Start {
                id: "ID".into(),
                model: String::new()
            },
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: "The user wants ".into()
            },
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: "the weather.".into()
            },
            StreamEvent::ReasoningSignature {
                choice: 0,
                signature: "EqQBCgIYAhIM".into()
            },
            text("Let me"),
            text(" check."),
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q".into(),
                name: "get_weather".into(),
                signature: None,
            },
            args(""),
            args("{\"city\":"),
            args(" \"Paris\"}"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 412,
                completion_tokens: 71,
                ..Usage::default()
            }),
        ]
    );
    // Byte by byte, and in odd-sized pieces, gives the same events.
    assert_eq!(normalise(decode_in_pieces(&bytes, 1)), whole);
    assert_eq!(normalise(decode_in_pieces(&bytes, 7)), whole);
}

#[test]
fn stream_json_tool_becomes_text() {
    let events = normalise(decode_in_pieces(&stream_bytes("stream_json_tool.json"), 13));
    assert_eq!(
        events[1..],
        [
            StreamEvent::TextDelta {
                choice: 0,
                text: "{\"title\": ".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: "\"Q3\"}".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 1000,
                completion_tokens: 25,
                cached_tokens: 100,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn stream_exception_frame_is_an_error_event() {
    let mut bytes = encode_message(
        &[(":event-type", "messageStart"), (":message-type", "event")],
        br#"{"role":"assistant"}"#,
    );
    bytes.extend(encode_message(
        &[
            (":exception-type", "throttlingException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Too many tokens, please wait before trying again."}"#,
    ));
    let events = decode_in_pieces(&bytes, 5);
    let StreamEvent::Error(e) = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(e.status, 429);
    assert_eq!(
        e.message,
        "Too many tokens, please wait before trying again."
    );
}

#[test]
fn stream_corruption_and_truncation_are_errors() {
    let bytes = stream_bytes("stream_tool_use.json");
    // Flip a payload byte in the first frame: its message CRC no longer matches.
    let mut bad = bytes.clone();
    bad[40] ^= 0x20;
    let mut d = adapter().stream_decoder();
    let mut out = Vec::new();
    let e = d.feed(&bad, &mut out).unwrap_err();
    assert!(e.message.contains("checksum"), "{e}");

    // Cut inside the last frame: finish reports it.
    let mut d = adapter().stream_decoder();
    let mut out = Vec::new();
    d.feed(&bytes[..bytes.len() - 3], &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());

    // Cut between frames before messageStop: also an error.
    let first = encode_message(
        &[(":event-type", "messageStart"), (":message-type", "event")],
        br#"{"role":"assistant"}"#,
    );
    let mut d = adapter().stream_decoder();
    let mut out = Vec::new();
    d.feed(&first, &mut out).unwrap();
    let e = d.finish(&mut out).unwrap_err();
    assert!(e.message.contains("messageStop"));
}

fn error_with_type(name: &str, status: u16, body: &[u8]) -> switchyard_types::GatewayError {
    let mut h = HeaderMap::new();
    h.insert(
        "x-amzn-errortype",
        format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            .parse()
            .unwrap(),
    );
    adapter().error(status, &h, body)
}

#[test]
fn http_errors() {
    let e = error_with_type(
        "ThrottlingException",
        429,
        &fixture("error_throttling.json"),
    );
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(
        e.message,
        "Too many requests, please wait before trying again."
    );
    assert!(e.class.retryable());
    let e = error_with_type(
        "ValidationException",
        400,
        &fixture("error_validation_too_long.json"),
    );
    assert_eq!(e.class, ErrorClass::ContextWindowExceeded);
    let e = error_with_type(
        "AccessDeniedException",
        403,
        br#"{"message":"You don't have access to the model with the specified model ID."}"#,
    );
    assert_eq!(e.class, ErrorClass::UpstreamAuth);
    let e = error_with_type(
        "ResourceNotFoundException",
        404,
        br#"{"message":"Model not found"}"#,
    );
    assert_eq!(e.class, ErrorClass::NotFound);
}

#[test]
fn embeddings() {
    let a = adapter();
    let titan = EmbedRequest {
        model: "amazon.titan-embed-text-v2:0".into(),
        input: vec!["hello world".into()],
        dimensions: Some(256),
        encoding_format: None,
        user: None,
        input_type: None,
    };
    let w = a.embed_request(&titan).unwrap();
    assert_eq!(
        w.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(
        body(&w),
        json!({"inputText": "hello world", "dimensions": 256})
    );
    let r = a
        .embed_response(&embed_req(), &fixture("titan_embed_response.json"))
        .unwrap();
    assert_eq!(r.embeddings, vec![vec![0.0234, -0.0512, 0.1177, 0.0031]]);
    assert_eq!(r.usage.prompt_tokens, 5);

    let cohere = EmbedRequest {
        model: "cohere.embed-english-v3".into(),
        input: vec!["hello world".into(), "goodbye".into()],
        dimensions: None,
        encoding_format: None,
        user: None,
        input_type: None,
    };
    let w = a.embed_request(&cohere).unwrap();
    assert_eq!(
        body(&w),
        json!({"texts": ["hello world", "goodbye"], "input_type": "search_document"})
    );
    let r = a
        .embed_response(&embed_req(), &fixture("cohere_embed_response.json"))
        .unwrap();
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[1], vec![0.056, 0.078]);

    let e = a
        .embed_request(&EmbedRequest {
            input: vec!["a".into(), "b".into()],
            ..titan
        })
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported);
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

//! Anthropic Messages: request fixtures -> canonical, canonical -> `message` bodies as the
//! Anthropic documentation shows them, and the round trip of a rendered answer into the next
//! request.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a panic there is a failed test"
)]

mod common;

use common::{fixture, fixture_json, to_json};
use pretty_assertions::assert_eq;
use serde_json::json;
use switchyard_ingress::anthropic::{
    parse_count_tokens_request, parse_messages_request, render_count_tokens,
    render_message_response,
};
use switchyard_types::{
    ChatRequest, ChatResponse, Choice, ContentPart, FinishReason, MediaSource, Message, Reasoning,
    Role, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};

#[test]
fn tools_fixture_maps_every_field() {
    let r = parse_messages_request(&fixture("anthropic/messages_request_tools.json")).unwrap();
    let expected = ChatRequest {
        model: "claude-sonnet-4-5".into(),
        messages: vec![
            Message::text(Role::System, "You are a weather assistant."),
            Message::text(Role::User, "What is the weather like in San Francisco?"),
            Message {
                role: Role::Assistant,
                name: None,
                content: vec![
                    ContentPart::text("I'll check the current weather in San Francisco for you."),
                    ContentPart::ToolCall(ToolCall {
                        id: "toolu_01A09q90qw90lq917835lq9".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"location":"San Francisco, CA","unit":"celsius"}"#.into(),
                        signature: None,
                    }),
                ],
            },
            Message {
                role: Role::Tool,
                name: None,
                content: vec![ContentPart::ToolResult(ToolResult {
                    call_id: "toolu_01A09q90qw90lq917835lq9".into(),
                    name: Some("get_weather".into()),
                    content: vec![ContentPart::text("15 degrees")],
                    is_error: false,
                })],
            },
            Message::text(Role::User, "And what time is it there?"),
        ],
        tools: vec![
            Tool {
                name: "get_weather".into(),
                description: Some("Get the current weather in a given location".into()),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "The unit of temperature"}
                    },
                    "required": ["location"]
                }),
                strict: None,
            },
            Tool {
                name: "get_time".into(),
                description: Some("Get the current time in a given time zone".into()),
                parameters: json!({"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}),
                strict: None,
            },
        ],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(false),
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(40),
        max_tokens: Some(1024),
        stop: vec!["\n\nHuman:".into()],
        stream: true,
        include_usage: true,
        user: Some("13803d75-b4b5-4c3e-b2a2-6f21399b021b".into()),
        extra: json!({"service_tier": "auto"})
            .as_object()
            .cloned()
            .unwrap(),
        ..ChatRequest::default()
    };
    assert_eq!(r, expected);
}

#[test]
fn thinking_fixture_keeps_signatures_cache_control_and_tool_result_blocks() {
    let r = parse_messages_request(&fixture("anthropic/messages_request_thinking.json")).unwrap();
    assert_eq!(
        r.reasoning,
        Some(Reasoning {
            effort: None,
            budget_tokens: Some(10000)
        })
    );
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(r.parallel_tool_calls, None);
    assert_eq!(
        r.messages[0],
        Message {
            role: Role::System,
            name: None,
            content: vec![
                ContentPart::text("You are an AI assistant tasked with analyzing literary works."),
                ContentPart::Text {
                    text: "<the entire contents of Pride and Prejudice>".into(),
                    cache_control: Some(json!({"type": "ephemeral"})),
                },
            ],
        }
    );
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::System, Role::User, Role::Assistant, Role::Tool]
    );
    let assistant = &r.messages[2].content;
    assert!(matches!(
        &assistant[0],
        ContentPart::Reasoning { signature: Some(s), .. } if s.starts_with("BDaL4Vrb")
    ));
    assert!(
        matches!(&assistant[1], ContentPart::RedactedReasoning { data } if data.starts_with("EmwKAhgB"))
    );
    assert!(
        matches!(&assistant[2], ContentPart::ToolCall(c) if c.arguments == r#"{"location":"Paris"}"#)
    );
    assert_eq!(
        r.messages[3].content,
        vec![ContentPart::ToolResult(ToolResult {
            call_id: "toolu_01CswdEQBMshySk6Y9DFKrfq".into(),
            name: Some("get_weather".into()),
            content: vec![
                ContentPart::text("Current temperature: 88°F"),
                ContentPart::Image {
                    source: MediaSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into()
                    },
                    detail: None
                },
            ],
            is_error: false,
        })]
    );
}

#[test]
fn media_fixture_maps_every_source() {
    let r = parse_messages_request(&fixture("anthropic/messages_request_media.json")).unwrap();
    assert_eq!(r.messages.len(), 1);
    assert_eq!(
        r.messages[0].content,
        vec![
            ContentPart::Image {
                source: MediaSource::Base64 {
                    media_type: "image/jpeg".into(),
                    data: "/9j/4AAQSkZJRg==".into()
                },
                detail: None
            },
            ContentPart::Image {
                source: MediaSource::Url {
                    url: "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg".into()
                },
                detail: None
            },
            ContentPart::File {
                source: MediaSource::Base64 {
                    media_type: "application/pdf".into(),
                    data: "JVBERi0xLjQ=".into()
                },
                filename: Some("report.pdf".into())
            },
            ContentPart::File {
                source: MediaSource::Url {
                    url: "https://assets.anthropic.com/m/1cd9d098ac3e6467/original/Claude-3-Model-Card-October-Addendum.pdf".into()
                },
                filename: None
            },
            ContentPart::Image {
                source: MediaSource::FileId {
                    id: "file_011CNha8iCJcU1wXNR6q4V8w".into()
                },
                detail: None
            },
            ContentPart::Text {
                text: "Describe these.".into(),
                cache_control: Some(json!({"type": "ephemeral", "ttl": "1h"}))
            },
        ]
    );
}

#[test]
fn count_tokens_fixture_needs_no_max_tokens() {
    let body = fixture("anthropic/count_tokens_request.json");
    let r = parse_count_tokens_request(&body).unwrap();
    assert_eq!(r.model, "claude-opus-4-1");
    assert_eq!(r.max_tokens, None);
    assert_eq!(r.tools.len(), 1);
    assert_eq!(
        r.messages[0],
        Message::text(Role::System, "You are a scientist")
    );
    let e = parse_messages_request(&body).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("max_tokens"));
    assert_eq!(render_count_tokens(14), br#"{"input_tokens":14}"#);
}

fn response(id: &str, parts: Vec<ContentPart>, finish: FinishReason, usage: Usage) -> ChatResponse {
    ChatResponse {
        id: id.into(),
        model: "claude-sonnet-4-5-20250929".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content: parts,
                name: None,
            },
            finish_reason: Some(finish),
            refusal: None,
            logprobs: None,
        }],
        usage: Some(usage),
        provider_stop_reason: None,
    }
}

#[test]
fn tool_use_response_matches_the_documented_body() {
    let resp = response(
        "msg_01Aq9w938a90dw8q",
        vec![
            ContentPart::text("I'll check the current weather in San Francisco for you."),
            ContentPart::ToolCall(ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: r#"{"location": "San Francisco, CA", "unit": "celsius"}"#.into(),
                signature: None,
            }),
        ],
        FinishReason::ToolCalls,
        Usage {
            prompt_tokens: 472,
            completion_tokens: 89,
            ..Usage::default()
        },
    );
    let got = to_json(&render_message_response(&resp));
    assert_eq!(
        got,
        fixture_json("anthropic/message_response_tool_use.json")
    );
}

#[test]
fn thinking_response_with_cache_usage_matches_the_documented_body() {
    let mut resp = response(
        "chatcmpl-9xYz",
        vec![
            ContentPart::Reasoning {
                text: "To approach this, let's think about what we know about prime numbers..."
                    .into(),
                signature: Some("zbbJhbGciOiJFU8zI1NiIsImtakcjsu38219c0.eyJoYXNoIjoiYWJjMTIzIiwiaWF0IjoxNjE0NTM0NTY3fQ....".into()),
            },
            ContentPart::RedactedReasoning {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into(),
            },
            ContentPart::text("Yes, there are infinitely many prime numbers such that..."),
        ],
        FinishReason::Stop,
        Usage {
            prompt_tokens: 3050,
            completion_tokens: 300,
            cached_tokens: 2000,
            cache_write_tokens: 1000,
            reasoning_tokens: 200,
        },
    );
    resp.provider_stop_reason = Some("stop_sequence".into());
    let got = to_json(&render_message_response(&resp));
    assert_eq!(
        got,
        fixture_json("anthropic/message_response_thinking.json")
    );
}

#[test]
fn broken_tool_arguments_and_refusals_are_kept() {
    let mut resp = response(
        "msg_1",
        vec![ContentPart::ToolCall(ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: r#"{"city": "Par"#.into(),
            signature: None,
        })],
        FinishReason::ToolCalls,
        Usage::default(),
    );
    let got = to_json(&render_message_response(&resp));
    assert_eq!(got["content"][0]["input"], json!(r#"{"city": "Par"#));

    resp.choices[0].message.content.clear();
    resp.choices[0].finish_reason = Some(FinishReason::ContentFilter);
    resp.choices[0].refusal = Some("I can't help with that.".into());
    let got = to_json(&render_message_response(&resp));
    assert_eq!(
        got["content"],
        json!([{"type": "text", "text": "I can't help with that."}])
    );
    assert_eq!(got["stop_reason"], "refusal");
}

/// A rendered answer, sent back as the assistant turn of the next request, parses into the
/// parts it was rendered from (arguments as compact JSON with sorted keys, as serde_json writes
/// objects).
#[test]
fn rendered_message_round_trips_into_the_next_request() {
    let parts = vec![
        ContentPart::Reasoning {
            text: "Need two tools.".into(),
            signature: Some("sig".into()),
        },
        ContentPart::RedactedReasoning { data: "enc".into() },
        ContentPart::text("Checking."),
        ContentPart::ToolCall(ToolCall {
            id: "toolu_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris","unit":"c"}"#.into(),
            signature: None,
        }),
        ContentPart::ToolCall(ToolCall {
            id: "toolu_2".into(),
            name: "get_time".into(),
            arguments: "{}".into(),
            signature: None,
        }),
    ];
    let resp = response(
        "msg_x",
        parts.clone(),
        FinishReason::ToolCalls,
        Usage::default(),
    );
    let rendered = to_json(&render_message_response(&resp));
    assert_eq!(rendered["stop_reason"], "tool_use");
    let next = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": rendered["role"], "content": rendered["content"]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon"}
            ]}
        ]
    });
    let r = parse_messages_request(next.to_string().as_bytes()).unwrap();
    assert_eq!(r.messages[1].content, parts);
    let names: Vec<Option<String>> = r.messages[2..]
        .iter()
        .map(|m| match &m.content[0] {
            ContentPart::ToolResult(t) => t.name.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, [Some("get_weather".into()), Some("get_time".into())]);
}

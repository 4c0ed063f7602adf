//! OpenAI Chat Completions: request fixtures -> canonical, canonical -> response bodies as the
//! OpenAI documentation shows them, and the reasoning round trip across turns.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a panic there is a failed test"
)]

mod common;

use common::{fixture, fixture_json, to_json};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_ingress::openai::{parse_chat_request, render_chat_response};
use switchyard_types::{
    ChatRequest, ChatResponse, Choice, ContentPart, FinishReason, MediaSource, Message, Reasoning,
    ReasoningEffort, ResponseFormat, Role, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};

fn obj(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn full_request_fixture_maps_every_field() {
    let r = parse_chat_request(&fixture("openai/chat_request_full.json")).unwrap();
    let expected = ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![
            Message::text(Role::System, "You are a helpful assistant."),
            Message::text(Role::System, "Answer in French."),
            Message {
                role: Role::User,
                name: Some("alice".into()),
                content: vec![
                    ContentPart::text("What's in this image, and what is the weather there?"),
                    ContentPart::Image {
                        source: MediaSource::Url {
                            url: "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg".into(),
                        },
                        detail: Some("high".into()),
                    },
                    ContentPart::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                        detail: None,
                    },
                    ContentPart::Audio {
                        data: "UklGRiQAAABXQVZF".into(),
                        format: "wav".into(),
                    },
                    ContentPart::File {
                        source: MediaSource::Base64 {
                            media_type: "application/pdf".into(),
                            data: "JVBERi0xLjQ=".into(),
                        },
                        filename: Some("draconomicon.pdf".into()),
                    },
                    ContentPart::File {
                        source: MediaSource::FileId {
                            id: "file-6F2ksmvXxt4VdoqmHRw6kL".into(),
                        },
                        filename: None,
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                name: None,
                content: vec![ContentPart::ToolCall(ToolCall {
                    id: "call_abc123".into(),
                    name: "get_current_weather".into(),
                    arguments: "{\"location\": \"Madison, WI\"}".into(),
                    signature: None,
                })],
            },
            Message {
                role: Role::Tool,
                name: None,
                content: vec![ContentPart::ToolResult(ToolResult {
                    call_id: "call_abc123".into(),
                    name: Some("get_current_weather".into()),
                    content: vec![ContentPart::text(
                        "{\"temperature\": 22, \"unit\": \"celsius\"}",
                    )],
                    is_error: false,
                })],
            },
        ],
        tools: vec![Tool {
            name: "get_current_weather".into(),
            description: Some("Get the current weather in a given location".into()),
            parameters: json!({
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                },
                "required": ["location"]
            }),
            strict: Some(false),
        }],
        tool_choice: Some(ToolChoice::Function("get_current_weather".into())),
        parallel_tool_calls: Some(false),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "weather_report".into(),
            schema: json!({"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"], "additionalProperties": false}),
            strict: Some(true),
            description: Some("A short report".into()),
        }),
        temperature: Some(0.7),
        top_p: Some(0.9),
        top_k: None,
        max_tokens: Some(512),
        stop: vec!["\n\n".into(), "END".into()],
        seed: Some(42),
        presence_penalty: Some(0.5),
        frequency_penalty: Some(-0.5),
        n: Some(1),
        logprobs: Some(true),
        top_logprobs: Some(2),
        reasoning: Some(Reasoning {
            effort: Some(ReasoningEffort::Medium),
            budget_tokens: None,
        }),
        stream: true,
        include_usage: true,
        user: Some("user-1234".into()),
        metadata: Some(obj(json!({"team": "search"}))),
        extra: obj(json!({"store": false, "logit_bias": {"50256": -100}, "service_tier": "auto"})),
    };
    assert_eq!(r, expected);
}

#[test]
fn reasoning_turn_fixture_keeps_blocks_first_and_signatures() {
    let r = parse_chat_request(&fixture("openai/chat_request_reasoning_turn.json")).unwrap();
    assert_eq!(r.top_k, Some(40));
    assert_eq!(r.max_tokens, Some(4096));
    assert_eq!(r.stop, ["STOP"]);
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(
        r.reasoning,
        Some(Reasoning {
            effort: None,
            budget_tokens: Some(2048)
        })
    );
    assert_eq!(
        r.messages[1].content,
        vec![
            ContentPart::Reasoning {
                text: "The user wants the weather. I should call the tool.".into(),
                signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
            },
            ContentPart::RedactedReasoning {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into()
            },
            ContentPart::text("Let me check."),
            ContentPart::ToolCall(ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
                signature: Some("CiQBVKhc7q".into()),
            }),
        ]
    );
    assert_eq!(
        r.messages[2].content,
        vec![ContentPart::ToolResult(ToolResult {
            call_id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: Some("get_weather".into()),
            content: vec![ContentPart::text("18 C"), ContentPart::text(", sunny")],
            is_error: false,
        })]
    );
}

#[test]
fn reasoning_content_alone_becomes_an_unsigned_reasoning_part() {
    let r = parse_chat_request(
        br#"{"model":"m","messages":[{"role":"assistant","content":"4","reasoning_content":"2+2"}]}"#,
    )
    .unwrap();
    assert_eq!(
        r.messages[0].content,
        vec![
            ContentPart::Reasoning {
                text: "2+2".into(),
                signature: None
            },
            ContentPart::text("4")
        ]
    );
}

fn response(parts: Vec<ContentPart>, finish: FinishReason, usage: Usage) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-abc123".into(),
        model: "gpt-4o-mini-2024-07-18".into(),
        created: 1_699_896_916,
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
fn tool_call_response_matches_the_documented_body() {
    let resp = response(
        vec![ContentPart::ToolCall(ToolCall {
            id: "call_abc123".into(),
            name: "get_current_weather".into(),
            arguments: "{\n\"location\": \"Boston, MA\"\n}".into(),
            signature: None,
        })],
        FinishReason::ToolCalls,
        Usage {
            prompt_tokens: 82,
            completion_tokens: 17,
            ..Usage::default()
        },
    );
    let got = to_json(&render_chat_response(&resp, "smart"));
    assert_eq!(got, fixture_json("openai/chat_response_tool_calls.json"));
}

#[test]
fn text_response_matches_the_documented_body() {
    let mut resp = response(
        vec![ContentPart::text("Hello! How can I assist you today?")],
        FinishReason::Stop,
        Usage {
            prompt_tokens: 19,
            completion_tokens: 10,
            ..Usage::default()
        },
    );
    resp.id = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT".into();
    resp.model = "gpt-4.1-2025-04-14".into();
    resp.created = 1_741_569_952;
    let got = to_json(&render_chat_response(&resp, "gpt-4.1"));
    assert_eq!(got, fixture_json("openai/chat_response_text.json"));
}

#[test]
fn usage_details_refusal_and_logprobs_are_rendered() {
    let mut resp = response(
        vec![],
        FinishReason::ContentFilter,
        Usage {
            prompt_tokens: 100,
            completion_tokens: 50,
            cached_tokens: 64,
            cache_write_tokens: 10,
            reasoning_tokens: 30,
        },
    );
    resp.choices[0].refusal = Some("I can't help with that.".into());
    resp.choices[0].logprobs = Some(json!({"content": []}));
    let got = to_json(&render_chat_response(&resp, "smart"));
    assert_eq!(
        got["usage"],
        json!({"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,
               "prompt_tokens_details":{"cached_tokens":64},
               "completion_tokens_details":{"reasoning_tokens":30}})
    );
    let c = &got["choices"][0];
    assert_eq!(c["message"]["refusal"], "I can't help with that.");
    assert_eq!(c["message"]["content"], Value::Null);
    assert_eq!(c["finish_reason"], "content_filter");
    assert_eq!(c["logprobs"], json!({"content": []}));
}

/// The assistant message a client gets back, sent on the next turn, parses into the same
/// parts: reasoning (with signatures and redacted blocks), text and tool calls survive.
#[test]
fn rendered_reasoning_survives_the_next_turn() {
    let parts = vec![
        ContentPart::Reasoning {
            text: "First, think.".into(),
            signature: Some("sig-1".into()),
        },
        ContentPart::RedactedReasoning {
            data: "opaque".into(),
        },
        ContentPart::text("Calling tools."),
        ContentPart::ToolCall(ToolCall {
            id: "call_1".into(),
            name: "a".into(),
            arguments: "{\"x\":1}".into(),
            signature: Some("gemini-sig".into()),
        }),
        ContentPart::ToolCall(ToolCall {
            id: "call_2".into(),
            name: "b".into(),
            arguments: "{}".into(),
            signature: None,
        }),
    ];
    let resp = response(parts.clone(), FinishReason::ToolCalls, Usage::default());
    let rendered = to_json(&render_chat_response(&resp, "smart"));
    let message = rendered["choices"][0]["message"].clone();
    let next = json!({"model": "smart", "messages": [
        {"role": "user", "content": "go"},
        message,
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": "two"}
    ]});
    let r = parse_chat_request(next.to_string().as_bytes()).unwrap();
    assert_eq!(r.messages[1].role, Role::Assistant);
    assert_eq!(r.messages[1].content, parts);
    let ContentPart::ToolResult(res) = &r.messages[3].content[0] else {
        panic!("{:?}", r.messages[3]);
    };
    assert_eq!(
        (res.call_id.as_str(), res.name.as_deref()),
        ("call_2", Some("b"))
    );
}

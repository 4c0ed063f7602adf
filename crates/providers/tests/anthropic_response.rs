//! Anthropic Messages responses -> canonical responses (fixtures in
//! `fixtures/anthropic/response_*.json`, shaped as Anthropic documents them).

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use pretty_assertions::assert_eq;
use switchyard_providers::anthropic::decode_response;
use switchyard_types::{
    ChatResponse, ContentPart, ErrorClass, FinishReason, Role, ToolCall, Usage,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decode(name: &str) -> ChatResponse {
    decode_response(&fixture(name)).expect("decodes")
}

#[test]
fn text() {
    let r = decode("response_text.json");
    assert_eq!(r.id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
    assert_eq!(r.model, "claude-sonnet-4-5-20250929");
    assert!(
        r.created > 1_600_000_000,
        "decode time stands in for created"
    );
    assert_eq!(r.choices.len(), 1);
    let c = &r.choices[0];
    assert_eq!(c.message.role, Role::Assistant);
    assert_eq!(
        c.message.content,
        vec![ContentPart::text("Hi! My name is Claude.")]
    );
    assert_eq!(c.finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.provider_stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 2095,
            completion_tokens: 503,
            ..Usage::default()
        })
    );
}

#[test]
fn tool_use() {
    let r = decode("response_tool_use.json");
    let c = &r.choices[0];
    assert_eq!(
        c.message.content,
        vec![
            ContentPart::text("I'll check the current weather in San Francisco for you."),
            ContentPart::ToolCall(ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                // Compact JSON text in the model's key order.
                arguments: r#"{"location":"San Francisco, CA","unit":"celsius"}"#.into(),
                signature: None,
            }),
        ]
    );
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(r.provider_stop_reason.as_deref(), Some("tool_use"));
}

#[test]
fn thinking_with_signature_and_redacted() {
    let r = decode("response_thinking.json");
    assert_eq!(
        r.choices[0].message.content,
        vec![
            ContentPart::Reasoning {
                text: "Let me analyze this step by step...".into(),
                signature: Some(
                    "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL"
                        .into()
                ),
            },
            ContentPart::RedactedReasoning {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into()
            },
            ContentPart::text("Based on my analysis, the answer is 12231."),
        ]
    );
}

#[test]
fn usage_with_cache_tokens() {
    let r = decode("response_cache_usage.json");
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 21 + 188_086,
            completion_tokens: 393,
            cached_tokens: 0,
            cache_write_tokens: 188_086,
            reasoning_tokens: 0,
        })
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
    let body = String::from_utf8(fixture("response_cache_usage.json"))
        .unwrap()
        .replace(
            "\"cache_read_input_tokens\": 0",
            "\"cache_read_input_tokens\": 5000",
        );
    let u = decode_response(body.as_bytes()).unwrap().usage.unwrap();
    assert_eq!(u.prompt_tokens, 21 + 188_086 + 5000);
    assert_eq!(u.cached_tokens, 5000);
    assert_eq!(u.total(), 21 + 188_086 + 5000 + 393);
}

#[test]
fn every_stop_reason() {
    let cases = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("pause_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("model_context_window_exceeded", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
    ];
    let template = String::from_utf8(fixture("response_text.json")).unwrap();
    for (raw, want) in cases {
        let body = template.replace("\"end_turn\"", &format!("\"{raw}\""));
        let r = decode_response(body.as_bytes()).unwrap();
        assert_eq!(r.choices[0].finish_reason, Some(want), "{raw}");
        assert_eq!(r.provider_stop_reason.as_deref(), Some(raw));
    }
    let body = template.replace("\"end_turn\"", "null");
    assert_eq!(
        decode_response(body.as_bytes()).unwrap().choices[0].finish_reason,
        None
    );
}

#[test]
fn json_tool_becomes_text() {
    let r = decode("response_json_tool.json");
    assert_eq!(
        r.choices[0].message.content,
        vec![ContentPart::text(
            r#"{"city":"Paris","temp_c":18.5,"tags":["sunny","mild"]}"#
        )]
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
}

#[test]
fn error_inside_a_200_and_garbage() {
    let e = decode_response(
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.class, ErrorClass::Overloaded);
    assert_eq!(e.message, "Overloaded");
    let e = decode_response(b"<html>").unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
}

#[test]
fn unknown_blocks_are_ignored() {
    let body = br#"{"id":"m","type":"message","role":"assistant","model":"c","content":[
        {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
        {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},
        {"type":"text","text":"Done","citations":[{"type":"web_search_result_location"}]}],
        "stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
    let r = decode_response(body).unwrap();
    assert_eq!(
        r.choices[0].message.content,
        vec![ContentPart::text("Done")]
    );
}

//! OpenAI Chat Completions responses -> canonical responses (fixtures in
//! `fixtures/openai/response_*.json`).

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use pretty_assertions::assert_eq;
use switchyard_providers::openai::decode_response;
use switchyard_types::{ChatResponse, ContentPart, ErrorClass, FinishReason, ToolCall, Usage};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
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
    assert_eq!(r.id, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    assert_eq!(r.model, "gpt-4o-2024-08-06");
    assert_eq!(r.created, 1_741_569_952);
    assert_eq!(r.choices.len(), 1);
    assert_eq!(
        r.choices[0].message.content,
        vec![ContentPart::text("Hello! How can I assist you today?")]
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.choices[0].refusal, None);
    assert_eq!(r.choices[0].logprobs, None);
    assert_eq!(r.provider_stop_reason.as_deref(), Some("stop"));
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 19,
            completion_tokens: 10,
            ..Usage::default()
        })
    );
}

#[test]
fn parallel_tool_calls() {
    let r = decode("response_tool_calls.json");
    let call = |id: &str, city: &str| {
        ContentPart::ToolCall(ToolCall {
            id: id.into(),
            name: "get_weather".into(),
            arguments: format!("{{\"city\":\"{city}\"}}"),
            signature: None,
        })
    };
    assert_eq!(
        r.choices[0].message.content,
        vec![call("call_1", "Paris"), call("call_2", "Tokyo")]
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn cached_and_reasoning_tokens() {
    let r = decode("response_usage_details.json");
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 2006,
            completion_tokens: 300,
            cached_tokens: 1920,
            cache_write_tokens: 0,
            reasoning_tokens: 256,
        })
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
}

#[test]
fn azure_filtered_completion() {
    let r = decode("response_azure_filtered.json");
    assert_eq!(
        r.choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert_eq!(r.choices[0].message.joined_text(), "I can describe the");
}

#[test]
fn finish_reasons() {
    let template = String::from_utf8(fixture("response_text.json")).unwrap();
    for (raw, want) in [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("tool_calls", FinishReason::ToolCalls),
        ("function_call", FinishReason::ToolCalls),
        ("content_filter", FinishReason::ContentFilter),
        ("model_length", FinishReason::Length),
    ] {
        let body = template.replace(
            "\"finish_reason\": \"stop\"",
            &format!("\"finish_reason\": \"{raw}\""),
        );
        let r = decode_response(body.as_bytes()).unwrap();
        assert_eq!(r.choices[0].finish_reason, Some(want), "{raw}");
        assert_eq!(r.provider_stop_reason.as_deref(), Some(raw));
    }
    let body = template.replace("\"finish_reason\": \"stop\"", "\"finish_reason\": null");
    assert_eq!(
        decode_response(body.as_bytes()).unwrap().choices[0].finish_reason,
        None
    );
}

#[test]
fn refusal_reasoning_content_and_logprobs() {
    let body = br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[
        {"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},
         "logprobs":{"content":[{"token":"I","logprob":-0.1}]},"finish_reason":"stop"},
        {"index":1,"message":{"role":"assistant","content":"4","reasoning_content":"2+2"},"finish_reason":"stop"}]}"#;
    let r = decode_response(body).unwrap();
    assert_eq!(
        r.choices[0].refusal.as_deref(),
        Some("I can't help with that.")
    );
    assert!(r.choices[0].message.content.is_empty());
    assert!(r.choices[0].logprobs.is_some());
    assert_eq!(r.choices[1].index, 1);
    assert_eq!(
        r.choices[1].message.content,
        vec![
            ContentPart::Reasoning {
                text: "2+2".into(),
                signature: None
            },
            ContentPart::text("4")
        ]
    );
}

#[test]
fn error_body_in_a_200() {
    let e = decode_response(br#"{"error":{"message":"boom","type":"server_error","code":null}}"#)
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
    assert_eq!(e.message, "boom");
}

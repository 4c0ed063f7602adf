//! OpenAI chunk encoder on canonical event sequences: the documented text stream byte for byte,
//! and reassembled deltas equal to the non-stream body for tool calls, reasoning, usage, errors.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a panic there is a failed test"
)]

mod common;

use std::collections::BTreeMap;

use common::{events_for, fixture, parse_sse, to_json};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_ingress::openai::{render_chat_response, ChatStreamEncoder};
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    StreamEvent, ToolCall, Usage,
};

fn encode(events: &[StreamEvent], include_usage: bool, created: u64) -> Vec<u8> {
    let mut enc = ChatStreamEncoder::new(include_usage, created);
    let mut out = Vec::new();
    for ev in events {
        let before = out.len();
        enc.encode(ev, &mut out);
        // Each call writes whole events only.
        assert!(out.len() == before || out.ends_with(b"\n\n"));
    }
    enc.finish(&mut out);
    out
}

#[test]
fn documented_text_stream_with_usage_byte_for_byte() {
    let events = [
        StreamEvent::Start {
            id: "chatcmpl-123".into(),
            model: "gpt-4o-mini".into(),
        },
        StreamEvent::TextDelta {
            choice: 0,
            text: "Hello".into(),
        },
        StreamEvent::TextDelta {
            choice: 0,
            text: "!".into(),
        },
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::Stop,
        },
        StreamEvent::Usage(Usage {
            prompt_tokens: 9,
            completion_tokens: 2,
            ..Usage::default()
        }),
    ];
    let out = encode(&events, true, 1_694_268_190);
    let expected = fixture("openai/stream_text_usage.sse");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

/// What an OpenAI client accumulates from the chunks, in the non-stream message shape.
#[derive(Default, Debug)]
struct Acc {
    role: Option<String>,
    content: Option<String>,
    reasoning: Option<String>,
    blocks: Vec<Value>,
    calls: BTreeMap<u64, (String, String, String, Option<String>)>,
    finish: Option<String>,
}

fn reassemble(out: &[u8], include_usage: bool) -> (BTreeMap<u64, Acc>, Option<Value>) {
    let events = parse_sse(out);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let mut choices: BTreeMap<u64, Acc> = BTreeMap::new();
    let mut usage = None;
    let mut reasoning_since_block = String::new();
    for e in &events[..events.len() - 1] {
        assert!(e.event.is_none());
        let chunk = e.json();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk.get("usage").is_some(), include_usage, "{chunk}");
        let list = chunk["choices"].as_array().unwrap();
        if list.is_empty() {
            assert!(usage.is_none(), "usage sent twice");
            usage = Some(chunk["usage"].clone());
            continue;
        }
        for c in list {
            let acc = choices.entry(c["index"].as_u64().unwrap()).or_default();
            let d = &c["delta"];
            if let Some(r) = d["role"].as_str() {
                assert!(acc.role.is_none(), "role sent twice");
                acc.role = Some(r.into());
            }
            assert!(acc.role.is_some(), "a delta before the role: {c}");
            if let Some(t) = d["content"].as_str() {
                acc.content.get_or_insert_with(String::new).push_str(t);
            }
            if let Some(t) = d["reasoning_content"].as_str() {
                acc.reasoning.get_or_insert_with(String::new).push_str(t);
                reasoning_since_block.push_str(t);
            }
            for b in d["thinking_blocks"].as_array().into_iter().flatten() {
                let mut b = b.clone();
                if b["type"] == "thinking" {
                    b["thinking"] = Value::String(std::mem::take(&mut reasoning_since_block));
                }
                acc.blocks.push(b);
            }
            for tc in d["tool_calls"].as_array().into_iter().flatten() {
                let index = tc["index"].as_u64().unwrap();
                let args = tc["function"]["arguments"].as_str().unwrap();
                if let Some(id) = tc["id"].as_str() {
                    assert_eq!(tc["type"], "function");
                    let name = tc["function"]["name"].as_str().unwrap();
                    let sig = tc["thought_signature"].as_str().map(String::from);
                    let prev = acc
                        .calls
                        .insert(index, (id.into(), name.into(), args.into(), sig));
                    assert!(prev.is_none(), "tool call {index} started twice");
                } else {
                    acc.calls.get_mut(&index).unwrap().2.push_str(args);
                }
            }
            if let Some(f) = c["finish_reason"].as_str() {
                assert_eq!(d, &json!({}));
                acc.finish = Some(f.into());
            }
        }
    }
    (choices, usage)
}

/// Rebuilds the non-stream message JSON from the accumulated deltas. The first chunk carries
/// `content:""` (as OpenAI's do), so a message without text accumulates `""` where the
/// non-stream body has `null`.
fn message_of(acc: &Acc) -> Value {
    let content = acc.content.as_deref().filter(|c| !c.is_empty());
    let mut m = json!({"role": acc.role, "content": content, "refusal": null});
    if !acc.calls.is_empty() {
        m["tool_calls"] = acc
            .calls
            .values()
            .map(|(id, name, args, sig)| {
                let mut v = json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}});
                if let Some(s) = sig {
                    v["thought_signature"] = json!(s);
                }
                v
            })
            .collect();
    }
    if let Some(r) = &acc.reasoning {
        m["reasoning_content"] = json!(r);
    }
    if !acc.blocks.is_empty() {
        m["thinking_blocks"] = Value::Array(acc.blocks.clone());
    }
    m
}

fn check_stream_equals_body(resp: &ChatResponse, interleave: bool, include_usage: bool) {
    let out = encode(&events_for(resp, interleave), include_usage, resp.created);
    let (choices, usage) = reassemble(&out, include_usage);
    let body = to_json(&render_chat_response(resp, "public"));
    for c in body["choices"].as_array().unwrap() {
        let acc = &choices[&c["index"].as_u64().unwrap()];
        assert_eq!(message_of(acc), c["message"]);
        assert_eq!(json!(acc.finish), c["finish_reason"]);
    }
    assert_eq!(choices.len(), body["choices"].as_array().unwrap().len());
    if include_usage {
        assert_eq!(usage.as_ref(), body.get("usage"));
    } else {
        assert_eq!(usage, None);
    }
}

fn resp(parts: Vec<ContentPart>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-9".into(),
        model: "gpt-4o".into(),
        created: 1_700_000_000,
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
        usage: Some(Usage {
            prompt_tokens: 42,
            completion_tokens: 17,
            cached_tokens: 8,
            cache_write_tokens: 0,
            reasoning_tokens: 5,
        }),
        provider_stop_reason: None,
    }
}

fn call(id: &str, name: &str, args: &str) -> ContentPart {
    ContentPart::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
        signature: None,
    })
}

#[test]
fn text_stream_equals_body() {
    let r = resp(
        vec![ContentPart::text("Bonjour, le monde — ça va? 😀 Oui.")],
        FinishReason::Stop,
    );
    check_stream_equals_body(&r, false, true);
    check_stream_equals_body(&r, false, false);
}

#[test]
fn two_parallel_tool_calls_equal_body() {
    let r = resp(
        vec![
            ContentPart::text("Checking both."),
            call(
                "call_1",
                "get_weather",
                r#"{"city":"Paris","unit":"celsius"}"#,
            ),
            call("call_2", "get_time", r#"{"tz":"Europe/Paris"}"#),
        ],
        FinishReason::ToolCalls,
    );
    check_stream_equals_body(&r, false, true);
    check_stream_equals_body(&r, true, true);
}

#[test]
fn reasoning_with_signature_equals_body() {
    let r = resp(
        vec![
            ContentPart::Reasoning {
                text: "Let me think about the weather tool.".into(),
                signature: Some("EqQBCgIYAhIM".into()),
            },
            ContentPart::RedactedReasoning {
                data: "EmwKAhgB".into(),
            },
            ContentPart::text("Sunny."),
            ContentPart::ToolCall(ToolCall {
                id: "call_7".into(),
                name: "f".into(),
                arguments: "{}".into(),
                signature: Some("thought-sig".into()),
            }),
        ],
        FinishReason::ToolCalls,
    );
    check_stream_equals_body(&r, false, true);
}

#[test]
fn two_choices_equal_body() {
    let mut r = resp(vec![ContentPart::text("first")], FinishReason::Stop);
    let mut second = r.choices[0].clone();
    second.index = 1;
    second.message.content = vec![ContentPart::text("second answer")];
    second.finish_reason = Some(FinishReason::Length);
    r.choices.push(second);
    check_stream_equals_body(&r, false, true);
}

#[test]
fn usage_after_finish_comes_last_before_done() {
    let r = resp(vec![ContentPart::text("hi")], FinishReason::Stop);
    let out = encode(&events_for(&r, false), true, r.created);
    let events = parse_sse(&out);
    let n = events.len();
    assert_eq!(events[n - 1].data, "[DONE]");
    let usage_chunk = events[n - 2].json();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["total_tokens"], 59);
    assert_eq!(
        usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"],
        8
    );
    assert_eq!(events[n - 3].json()["choices"][0]["finish_reason"], "stop");
}

#[test]
fn error_mid_stream_is_an_openai_error_event() {
    let events = [
        StreamEvent::Start {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
        },
        StreamEvent::TextDelta {
            choice: 0,
            text: "partial".into(),
        },
        StreamEvent::Error(
            GatewayError::upstream(ErrorClass::Overloaded, 529, "Overloaded")
                .with_code("overloaded"),
        ),
    ];
    let out = encode(&events, false, 1);
    let parsed = parse_sse(&out);
    assert_eq!(
        parsed[2].json(),
        json!({"error": {"message": "Overloaded", "type": "server_error", "param": null, "code": "overloaded"}})
    );
    assert_eq!(parsed[3].data, "[DONE]");
}

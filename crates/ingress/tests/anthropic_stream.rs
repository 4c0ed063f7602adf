//! Anthropic Messages SSE encoder on canonical event sequences: the documented text stream,
//! protocol invariants (one message, consecutive block indices, every block closed, stop last),
//! and reassembled blocks equal to the non-stream body.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a panic there is a failed test"
)]

mod common;

use common::{events_for, fixture, parse_sse, to_json};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_ingress::anthropic::{render_message_response, MessagesStreamEncoder};
use switchyard_types::{
    ChatResponse, Choice, ContentPart, ErrorClass, FinishReason, GatewayError, Message, Role,
    StreamEvent, ToolCall, Usage,
};

fn encode(events: &[StreamEvent]) -> Vec<u8> {
    let mut enc = MessagesStreamEncoder::new("public-model");
    let mut out = Vec::new();
    for ev in events {
        enc.encode(ev, &mut out);
        assert!(out.is_empty() || out.ends_with(b"\n\n"));
    }
    enc.finish(&mut out);
    out
}

#[test]
fn documented_text_stream() {
    let events = [
        StreamEvent::Start {
            id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into(),
            model: "claude-sonnet-4-5-20250929".into(),
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
            prompt_tokens: 25,
            completion_tokens: 15,
            ..Usage::default()
        }),
    ];
    let got = parse_sse(&encode(&events));
    let want = parse_sse(&fixture("anthropic/stream_text.sse"));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.event, w.event);
        assert_eq!(g.json(), w.json());
    }
}

/// Checks the event grammar and rebuilds the `message` body a client SDK would accumulate.
fn reassemble(out: &[u8]) -> Value {
    let events = parse_sse(out);
    let mut message = Value::Null;
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial_json: Vec<String> = Vec::new();
    let mut open: Option<usize> = None;
    let mut stopped = false;
    for (k, e) in events.iter().enumerate() {
        let data = e.json();
        assert_eq!(Some(data["type"].as_str().unwrap()), e.event.as_deref());
        match e.event.as_deref().unwrap() {
            "message_start" => {
                assert_eq!(k, 0, "message_start first");
                message = data["message"].clone();
                assert_eq!(message["content"], json!([]));
            }
            "content_block_start" => {
                assert!(open.is_none(), "a block started while another is open");
                let i = data["index"].as_u64().unwrap() as usize;
                assert_eq!(i, blocks.len(), "block indices run from 0 without gaps");
                blocks.push(data["content_block"].clone());
                partial_json.push(String::new());
                open = Some(i);
            }
            "content_block_delta" => {
                let i = data["index"].as_u64().unwrap() as usize;
                let d = &data["delta"];
                let b = &mut blocks[i];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        assert_eq!(open, Some(i));
                        b["text"] = json!(format!(
                            "{}{}",
                            b["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ));
                    }
                    "thinking_delta" => {
                        assert_eq!(open, Some(i));
                        b["thinking"] = json!(format!(
                            "{}{}",
                            b["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ));
                    }
                    "signature_delta" => {
                        assert_eq!(open, Some(i));
                        b["signature"] = d["signature"].clone();
                    }
                    "input_json_delta" => {
                        assert_eq!(b["type"], "tool_use");
                        partial_json[i].push_str(d["partial_json"].as_str().unwrap());
                    }
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                let i = data["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(i), "stop of a block that is not open");
                open = None;
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block open");
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                message["usage"] = data["usage"].clone();
            }
            "message_stop" => {
                assert_eq!(k, events.len() - 1, "message_stop last");
                stopped = true;
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(stopped, "no message_stop");
    for (b, pj) in blocks.iter_mut().zip(&partial_json) {
        if b["type"] == "tool_use" {
            b["input"] = if pj.is_empty() {
                json!({})
            } else {
                serde_json::from_str(pj).unwrap()
            };
        }
    }
    message["content"] = Value::Array(blocks);
    message
}

fn resp(parts: Vec<ContentPart>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "msg_01".into(),
        model: "claude-sonnet-4-5".into(),
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
        usage: Some(Usage {
            prompt_tokens: 130,
            completion_tokens: 40,
            cached_tokens: 50,
            cache_write_tokens: 30,
            reasoning_tokens: 10,
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

fn check_stream_equals_body(r: &ChatResponse) {
    let got = reassemble(&encode(&events_for(r, false)));
    assert_eq!(got, to_json(&render_message_response(r)));
}

#[test]
fn text_stream_equals_body() {
    check_stream_equals_body(&resp(
        vec![ContentPart::text("Bonjour — ça va? 😀 Très bien.")],
        FinishReason::Stop,
    ));
}

#[test]
fn two_parallel_tool_calls_equal_body() {
    check_stream_equals_body(&resp(
        vec![
            ContentPart::text("Checking both."),
            call(
                "toolu_1",
                "get_weather",
                r#"{"city":"Paris","unit":"celsius"}"#,
            ),
            call("toolu_2", "get_time", r#"{"tz":"Europe/Paris"}"#),
        ],
        FinishReason::ToolCalls,
    ));
}

#[test]
fn reasoning_with_signature_then_text_and_tool_equals_body() {
    check_stream_equals_body(&resp(
        vec![
            ContentPart::Reasoning {
                text: "The user wants the weather; call the tool.".into(),
                signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgx".into()),
            },
            ContentPart::RedactedReasoning {
                data: "EmwKAhgBEgy3va3pzix".into(),
            },
            ContentPart::Reasoning {
                text: "Second thought.".into(),
                signature: Some("sig2".into()),
            },
            ContentPart::text("Let me look."),
            call("toolu_9", "get_weather", r#"{"city":"Paris"}"#),
        ],
        FinishReason::ToolCalls,
    ));
}

#[test]
fn interleaved_tool_fragments_still_reach_their_blocks() {
    let r = resp(
        vec![
            call("toolu_1", "a", r#"{"x":"one two three"}"#),
            call("toolu_2", "b", r#"{"y":"four five six"}"#),
        ],
        FinishReason::ToolCalls,
    );
    let out = encode(&events_for(&r, true));
    let got = reassemble(&out);
    assert_eq!(
        got["content"],
        to_json(&render_message_response(&r))["content"]
    );
}

#[test]
fn stop_reason_waits_for_usage_after_finish() {
    let mut enc = MessagesStreamEncoder::new("m");
    let mut out = Vec::new();
    enc.encode(
        &StreamEvent::Start {
            id: "abc".into(),
            model: "claude".into(),
        },
        &mut out,
    );
    enc.encode(
        &StreamEvent::TextDelta {
            choice: 0,
            text: "hi".into(),
        },
        &mut out,
    );
    enc.encode(
        &StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::Length,
        },
        &mut out,
    );
    let names: Vec<_> = parse_sse(&out)
        .into_iter()
        .map(|e| e.event.unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop"
        ]
    );
    enc.encode(
        &StreamEvent::Usage(Usage {
            prompt_tokens: 10,
            completion_tokens: 3,
            ..Usage::default()
        }),
        &mut out,
    );
    let len = out.len();
    enc.finish(&mut out);
    assert_eq!(out.len(), len, "finish after message_stop writes nothing");
    let msg = reassemble(&out);
    assert_eq!(msg["id"], "msg_abc");
    assert_eq!(msg["stop_reason"], "max_tokens");
    assert_eq!(
        msg["usage"],
        json!({"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3})
    );
}

#[test]
fn usage_before_finish_and_no_usage_at_all() {
    let text = StreamEvent::TextDelta {
        choice: 0,
        text: "x".into(),
    };
    let finish = StreamEvent::Finish {
        choice: 0,
        reason: FinishReason::ToolCalls,
    };
    let usage = StreamEvent::Usage(Usage {
        prompt_tokens: 5,
        completion_tokens: 1,
        ..Usage::default()
    });
    // Usage first: the message ends as soon as the finish arrives.
    let mut enc = MessagesStreamEncoder::new("m");
    let mut out = Vec::new();
    for ev in [&text, &usage, &finish] {
        enc.encode(ev, &mut out);
    }
    let msg = reassemble(&out);
    assert_eq!(msg["stop_reason"], "tool_use");
    assert_eq!(msg["usage"]["input_tokens"], 5);
    // No Start: message_start still comes first, with the model given to `new`.
    assert_eq!(msg["model"], "m");

    // No usage ever: finish() closes the message with zero usage.
    let msg = reassemble(&encode(&[text, finish]));
    assert_eq!(msg["stop_reason"], "tool_use");
    assert_eq!(msg["usage"]["output_tokens"], 0);
}

#[test]
fn error_mid_stream_is_an_error_event_and_ends_the_stream() {
    let out = encode(&[
        StreamEvent::Start {
            id: "msg_1".into(),
            model: "claude".into(),
        },
        StreamEvent::TextDelta {
            choice: 0,
            text: "partial".into(),
        },
        StreamEvent::Error(GatewayError::upstream(
            ErrorClass::Overloaded,
            529,
            "Overloaded",
        )),
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::Stop,
        },
    ]);
    let events = parse_sse(&out);
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(
        last.json(),
        json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})
    );
    assert_eq!(events.len(), 4);
}

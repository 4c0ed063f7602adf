//! OpenAI-wire stream decoding: text, tool-call deltas, the usage chunk, `[DONE]`, Azure's
//! annotation chunks and mid-stream errors; fed whole and byte by byte.

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use pretty_assertions::assert_eq;
use serde_json::Value;
use switchyard_providers::openai::{decode_response, OpenAiStreamDecoder};
use switchyard_providers::StreamDecoder;
use switchyard_types::{ErrorClass, FinishReason, StreamEvent, Usage};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run(bytes: &[u8], step: usize) -> (Vec<StreamEvent>, Result<(), ErrorClass>) {
    let mut d = OpenAiStreamDecoder::new();
    let mut out = Vec::new();
    if step == 0 {
        d.feed(bytes, &mut out).unwrap();
    } else {
        for piece in bytes.chunks(step) {
            d.feed(piece, &mut out).unwrap();
        }
    }
    let end = d.finish(&mut out).map_err(|e| e.class);
    (out, end)
}

fn decode_all_ways(bytes: &[u8]) -> (Vec<StreamEvent>, Result<(), ErrorClass>) {
    let whole = run(bytes, 0);
    assert_eq!(run(bytes, 1), whole, "byte by byte");
    assert_eq!(run(bytes, 5), whole, "5-byte pieces");
    whole
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        choice: 0,
        text: t.into(),
    }
}

#[test]
fn text_stream_with_usage_chunk_and_done() {
    let (events, end) = decode_all_ways(&fixture("stream_text.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "chatcmpl-123".into(),
                model: "gpt-4o-mini".into()
            },
            text("Hello"),
            text("! How can I help?"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 9,
                completion_tokens: 12,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn tool_call_deltas_by_index() {
    let (events, end) = decode_all_ways(&fixture("stream_tool_calls.sse"));
    assert_eq!(end, Ok(()));
    let start = |index: u32, id: &str| StreamEvent::ToolCallStart {
        choice: 0,
        index,
        id: id.into(),
        name: "get_weather".into(),
        signature: None,
    };
    let delta = |index: u32, a: &str| StreamEvent::ToolCallDelta {
        choice: 0,
        index,
        arguments: a.into(),
    };
    assert_eq!(
        events[1..],
        [
            start(0, "call_1"),
            delta(0, "{\"city\":"),
            delta(0, "\"Paris\"}"),
            start(1, "call_2"),
            delta(1, "{\"city\":\"Tokyo\"}"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 42,
                completion_tokens: 17,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn stream_agrees_with_non_stream() {
    let (events, _) = decode_all_ways(&fixture("stream_tool_calls.sse"));
    let r = decode_response(&fixture("response_tool_calls.json")).unwrap();
    let mut args = vec![String::new(); 2];
    let mut ids = vec![String::new(); 2];
    for e in &events {
        match e {
            StreamEvent::ToolCallStart { index, id, .. } => ids[*index as usize] = id.clone(),
            StreamEvent::ToolCallDelta {
                index, arguments, ..
            } => args[*index as usize].push_str(arguments),
            _ => {}
        }
    }
    let want: Vec<(String, Value)> = r.choices[0]
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            switchyard_types::ContentPart::ToolCall(c) => {
                Some((c.id.clone(), serde_json::from_str(&c.arguments).unwrap()))
            }
            _ => None,
        })
        .collect();
    let got: Vec<(String, Value)> = ids
        .into_iter()
        .zip(args.iter().map(|a| serde_json::from_str(a).unwrap()))
        .collect();
    assert_eq!(got, want);
    let usage = events.iter().find_map(|e| match e {
        StreamEvent::Usage(u) => Some(*u),
        _ => None,
    });
    assert_eq!(usage, r.usage);
}

#[test]
fn azure_annotation_chunks_are_skipped() {
    let (events, end) = decode_all_ways(&fixture("stream_azure.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(
        events,
        vec![
            // Not the empty id/model of the first (annotation) chunk.
            StreamEvent::Start {
                id: "chatcmpl-AzS1".into(),
                model: "gpt-4o-2024-08-06".into()
            },
            text("Bonjour"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 12,
                completion_tokens: 3,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn mid_stream_error() {
    let (events, end) = decode_all_ways(&fixture("stream_error.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(events[1], text("Par"));
    match &events[2] {
        StreamEvent::Error(e) => {
            assert_eq!(e.class, ErrorClass::ServerError);
            assert_eq!(
                e.message,
                "The server had an error while processing your request. Sorry about that!"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(events.len(), 3);
}

#[test]
fn truncated_and_done_less_streams() {
    let full = String::from_utf8(fixture("stream_text.sse")).unwrap();
    // Cut before the finish chunk: truncated.
    let cut = full.find("\"finish_reason\":\"stop\"").unwrap();
    let cut = full[..cut].rfind("data:").unwrap();
    let (_, end) = decode_all_ways(&full.as_bytes()[..cut]);
    assert_eq!(end, Err(ErrorClass::ServerError));
    // Finished and with usage, but no [DONE] (some compatible servers): fine, usage once.
    let cut = full.find("data: [DONE]").unwrap();
    let (events, end) = decode_all_ways(&full.as_bytes()[..cut]);
    assert_eq!(end, Ok(()));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Usage(_)))
            .count(),
        1
    );
}

#[test]
fn compatible_server_variants() {
    // Whole tool calls without `index`, usage on the last chunk, reasoning_content, refusal,
    // no [DONE] after a finish.
    let body = concat!(
        "data: {\"id\":\"x\",\"model\":\"mistral-large\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"hmm\"}}]}\n\n",
        "data: {\"id\":\"x\",\"model\":\"mistral-large\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"D681PevKs\",\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}},{\"id\":\"E681PevKs\",\"function\":{\"name\":\"b\",\"arguments\":{\"k\":1}}}]}}]}\n\n",
        "data: {\"id\":\"x\",\"model\":\"mistral-large\",\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"no\"},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"total_tokens\":11}}\n\n",
    );
    let (events, end) = decode_all_ways(body.as_bytes());
    assert_eq!(end, Ok(()));
    assert_eq!(
        events[1..],
        [
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: "hmm".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "D681PevKs".into(),
                name: "a".into(),
                signature: None
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: "{}".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 1,
                id: "E681PevKs".into(),
                name: "b".into(),
                signature: None
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 1,
                arguments: "{\"k\":1}".into()
            },
            text("no"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 5,
                completion_tokens: 6,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn error_finish_reason_and_malformed_chunks() {
    let (events, _) = decode_all_ways(
        b"data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\"}]}\n\ndata: [DONE]\n\n",
    );
    assert!(matches!(events.last(), Some(StreamEvent::Error(_))));
    let mut d = OpenAiStreamDecoder::new();
    let e = d.feed(b"data: {oops\n\n", &mut Vec::new()).unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
}

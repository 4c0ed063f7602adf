//! Gemini stream decoding of documented chunk sequences (CRLF-framed SSE): whole body and
//! byte-by-byte feeding give the same events.
#![cfg(test)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;
use switchyard_providers::gemini::GeminiStreamDecoder;
use switchyard_providers::StreamDecoder;
use switchyard_types::{ErrorClass, FinishReason, GatewayError, StreamEvent, Usage};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/gemini")
            .join(name),
    )
    .unwrap()
}

fn decode_in_pieces(body: &[u8], piece: usize) -> Result<Vec<StreamEvent>, GatewayError> {
    let mut d = GeminiStreamDecoder::new();
    let mut out = Vec::new();
    for chunk in body.chunks(piece.max(1)) {
        d.feed(chunk, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

/// Decodes whole, byte by byte and in 7-byte pieces; all must agree.
fn decode(body: &[u8]) -> Result<Vec<StreamEvent>, GatewayError> {
    let whole = decode_in_pieces(body, body.len());
    assert_eq!(decode_in_pieces(body, 1), whole);
    assert_eq!(decode_in_pieces(body, 7), whole);
    whole
}

#[test]
fn fixtures_use_crlf_framing() {
    let body = fixture("stream_text.sse");
    assert!(body.windows(4).any(|w| w == b"\r\n\r\n"));
}

#[test]
fn text_stream() {
    let events = decode(&fixture("stream_text.sse")).unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "s-txt-1".into(),
                model: "gemini-2.5-flash".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: "The".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: " capital of France is".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: " Paris.".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 8,
                completion_tokens: 8,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn lf_framing_gives_the_same_events() {
    let crlf = fixture("stream_text.sse");
    let lf = String::from_utf8(crlf.clone())
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(decode(lf.as_bytes()).unwrap(), decode(&crlf).unwrap());
}

#[test]
fn thoughts_and_whole_function_calls() {
    let events = decode(&fixture("stream_thinking_tool.sse")).unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "s-tool-1".into(),
                model: "gemini-3-pro-preview".into()
            },
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: "**Planning**\nI should call the weather tool.".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "call_0".into(),
                name: "get_weather".into(),
                signature: Some("CiQBcsjafNcmZ2VhUbt1Q2qUZ0Jzd5mF0Q==".into()),
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: r#"{"city":"Paris"}"#.into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 1,
                id: "call_1".into(),
                name: "get_time".into(),
                signature: None,
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 1,
                arguments: r#"{"tz":"Europe/Paris"}"#.into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            // Running totals: the last usageMetadata wins, nothing is summed.
            StreamEvent::Usage(Usage {
                prompt_tokens: 71,
                completion_tokens: 118,
                cached_tokens: 64,
                cache_write_tokens: 0,
                reasoning_tokens: 88,
            }),
        ]
    );
}

#[test]
fn signature_on_empty_final_text_part() {
    let events = decode(&fixture("stream_text_signature.sse")).unwrap();
    assert_eq!(
        events[1..4],
        [
            StreamEvent::TextDelta {
                choice: 0,
                text: "Hello".into()
            },
            StreamEvent::ReasoningSignature {
                choice: 0,
                signature: "Eo4BCosBTextSig==".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
        ]
    );
}

#[test]
fn blocked_prompt_in_stream() {
    let events = decode(&fixture("stream_blocked.sse")).unwrap();
    assert_eq!(events.len(), 2);
    match &events[1] {
        StreamEvent::Error(e) => {
            assert_eq!(e.class, ErrorClass::ContentFiltered);
            assert!(e.message.contains("SAFETY"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn error_object_in_stream_stops_decoding() {
    let events = decode(&fixture("stream_error.sse")).unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        events[1],
        StreamEvent::TextDelta {
            choice: 0,
            text: "Once upon".into()
        }
    );
    match &events[2] {
        StreamEvent::Error(e) => {
            assert_eq!((e.class, e.status), (ErrorClass::Overloaded, 503));
            assert_eq!(
                e.message,
                "The model is overloaded. Please try again later."
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn malformed_function_call_is_an_error_event() {
    let events = decode(&fixture("stream_malformed_call.sse")).unwrap();
    assert!(matches!(events[0], StreamEvent::Start { .. }));
    match &events[1] {
        StreamEvent::Error(e) => {
            assert_eq!(e.class, ErrorClass::ServerError);
            assert!(e.message.contains("MALFORMED_FUNCTION_CALL"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(events.len(), 2);
}

#[test]
fn truncated_and_empty_streams_are_errors() {
    let e = decode(&fixture("stream_truncated.sse")).unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
    assert!(e.message.contains("truncated"));
    let e = decode(b"").unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
}

#[test]
fn last_event_without_blank_line_is_still_decoded() {
    let body = fixture("stream_text.sse");
    let trimmed = &body[..body.len() - 4];
    assert_eq!(decode(trimmed).unwrap(), decode(&body).unwrap());
}

#[test]
fn garbage_event_is_an_error_not_a_panic() {
    let mut d = GeminiStreamDecoder::new();
    let mut out = Vec::new();
    let e = d.feed(b"data: {not json\r\n\r\n", &mut out).unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
}

#[test]
fn two_candidates_count_tool_indexes_per_choice() {
    let body = concat!(
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"a\",\"args\":{}}}]},\"index\":0},",
        "{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"b\",\"args\":{}}}]},\"index\":1}],\"responseId\":\"x\"}\r\n\r\n",
        "data: {\"candidates\":[{\"finishReason\":\"STOP\",\"index\":0},{\"content\":{\"parts\":[{\"text\":\"ok\"}]},\"finishReason\":\"MAX_TOKENS\",\"index\":1}]}\r\n\r\n"
    );
    let events = decode(body.as_bytes()).unwrap();
    let starts: Vec<(u32, u32, String)> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStart {
                choice, index, id, ..
            } => Some((*choice, *index, id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        vec![(0, 0, "call_0".into()), (1, 0, "call_1".into())]
    );
    let finishes: Vec<&StreamEvent> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Finish { .. }))
        .collect();
    assert_eq!(
        finishes,
        vec![
            &StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            &StreamEvent::Finish {
                choice: 1,
                reason: FinishReason::Length
            }
        ]
    );
    // No usageMetadata anywhere: no Usage event.
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::Usage(_))));
}

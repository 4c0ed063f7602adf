//! Anthropic Messages stream decoding: documented event sequences, fed whole and byte by byte;
//! stream and non-stream decoding of the same answer agree.

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use pretty_assertions::assert_eq;
use serde_json::Value;
use switchyard_providers::anthropic::{decode_response, AnthropicStreamDecoder};
use switchyard_providers::StreamDecoder;
use switchyard_types::{ContentPart, ErrorClass, FinishReason, StreamEvent, Usage};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Feeds `bytes` in pieces of `step` bytes (0 = all at once); returns events and finish's result.
fn run(bytes: &[u8], step: usize) -> (Vec<StreamEvent>, Result<(), ErrorClass>) {
    let mut d = AnthropicStreamDecoder::new();
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

/// Whole, byte by byte and in 7-byte pieces give identical events.
fn decode_all_ways(bytes: &[u8]) -> (Vec<StreamEvent>, Result<(), ErrorClass>) {
    let whole = run(bytes, 0);
    assert_eq!(run(bytes, 1), whole, "byte by byte");
    assert_eq!(run(bytes, 7), whole, "7-byte pieces");
    whole
}

fn start(id: &str) -> StreamEvent {
    StreamEvent::Start {
        id: id.into(),
        model: "claude-sonnet-4-5-20250929".into(),
    }
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        choice: 0,
        text: t.into(),
    }
}

#[test]
fn text_stream() {
    let (events, end) = decode_all_ways(&fixture("stream_text.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into(),
                model: "claude-sonnet-4-5-20250929".into(),
            },
            text("Hello"),
            text("!"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 25,
                completion_tokens: 15,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn tool_use_stream() {
    let (events, end) = decode_all_ways(&fixture("stream_tool_use.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(
        events,
        vec![
            start("msg_01Aq9w938a90dw8q"),
            text("I'll check the current weather"),
            text(" in San Francisco for you."),
            // Block index 1 is the first tool call: tool index 0.
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                signature: None,
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: "{\"location\":".into()
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: " \"San Francisco, CA\"".into()
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: ", \"unit\": \"celsius\"}".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 472,
                completion_tokens: 89,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn thinking_stream() {
    let (events, end) = decode_all_ways(&fixture("stream_thinking.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(
        events,
        vec![
            start("msg_01Think"),
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: "Let me analyze".into()
            },
            StreamEvent::ReasoningDelta {
                choice: 0,
                text: " this step by step...".into()
            },
            StreamEvent::ReasoningSignature {
                choice: 0,
                signature:
                    "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL"
                        .into()
            },
            StreamEvent::RedactedReasoning {
                choice: 0,
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into()
            },
            text("Based on my analysis, "),
            text("the answer is 12231."),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            // Input and cache counts from message_start, output from message_delta.
            StreamEvent::Usage(Usage {
                prompt_tokens: 1050,
                completion_tokens: 320,
                cached_tokens: 1000,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn json_tool_streams_as_text() {
    let (events, end) = decode_all_ways(&fixture("stream_json_tool.sse"));
    assert_eq!(end, Ok(()));
    assert_eq!(
        events,
        vec![
            start("msg_01Json"),
            text("{\"city\":\"Paris\","),
            text("\"temp_c\":18.5,\"tags\":[\"sunny\",\"mild\"]}"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop
            },
            StreamEvent::Usage(Usage {
                prompt_tokens: 400,
                completion_tokens: 40,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn error_event_after_200() {
    let (events, end) = decode_all_ways(&fixture("stream_error.sse"));
    assert_eq!(end, Ok(()), "the error was reported as an event");
    assert_eq!(events.len(), 3);
    assert_eq!(events[1], text("Partial"));
    match &events[2] {
        StreamEvent::Error(e) => {
            assert_eq!(e.class, ErrorClass::Overloaded);
            assert_eq!(e.status, 529);
            assert_eq!(e.message, "Overloaded");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn truncated_stream_is_an_error_after_usage() {
    let full = String::from_utf8(fixture("stream_tool_use.sse")).unwrap();
    let cut = full.find("event: message_stop").unwrap();
    let (events, end) = decode_all_ways(&full.as_bytes()[..cut]);
    assert_eq!(end, Err(ErrorClass::ServerError));
    let usages = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Usage(_)))
        .count();
    assert_eq!(usages, 1, "usage known so far is still reported once");

    // Cut mid-event: no finish, no message_stop.
    let cut = full.find("partial_json\":\" \\\"San").unwrap();
    let (_, end) = decode_all_ways(&full.as_bytes()[..cut]);
    assert_eq!(end, Err(ErrorClass::ServerError));
}

#[test]
fn crlf_framing_unknown_events_and_empty_tool_input() {
    let body = concat!(
        "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"c\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\r\n\r\n",
        "event: brand_new_event\r\ndata: {\"type\":\"brand_new_event\",\"x\":1}\r\n\r\n",
        "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_time\",\"input\":{}}}\r\n\r\n",
        "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\r\n\r\n",
        "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n",
        "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}\r\n\r\n",
        "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n",
    );
    let (events, end) = decode_all_ways(body.as_bytes());
    assert_eq!(end, Ok(()));
    assert_eq!(
        events[1..3],
        [
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "toolu_9".into(),
                name: "get_time".into(),
                signature: None
            },
            // No argument text streamed: `{}`, as the non-streaming answer would say.
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: "{}".into()
            },
        ]
    );
}

#[test]
fn malformed_event_is_an_error() {
    let mut d = AnthropicStreamDecoder::new();
    let mut out = Vec::new();
    let e = d
        .feed(b"event: message_start\ndata: {not json\n\n", &mut out)
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::ServerError);
}

/// Concatenated stream text and tool arguments equal what the non-streaming decoder gives for
/// the same answer.
fn assert_stream_matches(events: &[StreamEvent], response: &[u8]) {
    let r = decode_response(response).unwrap();
    let c = &r.choices[0];
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut args: Vec<String> = Vec::new();
    let mut finish = None;
    let mut usage = None;
    for e in events {
        match e {
            StreamEvent::TextDelta { text: t, .. } => text.push_str(t),
            StreamEvent::ReasoningDelta { text: t, .. } => reasoning.push_str(t),
            StreamEvent::ToolCallStart { index, .. } => {
                assert_eq!(*index as usize, args.len());
                args.push(String::new());
            }
            StreamEvent::ToolCallDelta {
                index, arguments, ..
            } => args[*index as usize].push_str(arguments),
            StreamEvent::Finish { reason, .. } => finish = Some(*reason),
            StreamEvent::Usage(u) => usage = Some(*u),
            _ => {}
        }
    }
    assert_eq!(text, c.message.joined_text());
    let want_reasoning: String = c
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::Reasoning { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, want_reasoning);
    let want_args: Vec<Value> = c
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::ToolCall(tc) => Some(serde_json::from_str(&tc.arguments).unwrap()),
            _ => None,
        })
        .collect();
    let got_args: Vec<Value> = args
        .iter()
        .map(|a| serde_json::from_str(a).unwrap())
        .collect();
    assert_eq!(got_args, want_args);
    assert_eq!(finish, c.finish_reason);
    assert_eq!(usage, r.usage);
}

#[test]
fn stream_agrees_with_non_stream_fixtures() {
    for (sse, json) in [
        ("stream_tool_use.sse", "response_tool_use.json"),
        ("stream_thinking.sse", "response_thinking.json"),
        ("stream_json_tool.sse", "response_json_tool.json"),
    ] {
        let (events, end) = decode_all_ways(&fixture(sse));
        assert_eq!(end, Ok(()));
        let body = fixture(json);
        let body = if sse == "stream_thinking.sse" {
            // The stream fixture reads 1000 tokens from the cache.
            String::from_utf8(body)
                .unwrap()
                .replace(
                    "\"input_tokens\": 50,",
                    "\"input_tokens\": 50, \"cache_read_input_tokens\": 1000,",
                )
                .into_bytes()
        } else {
            body
        };
        assert_stream_matches(&events, &body);
    }
}

/// A tiny deterministic generator (xorshift), so the property test needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Splits `s` at random char boundaries into 1..=4 pieces.
fn split(rng: &mut Rng, s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut cuts: Vec<usize> = (0..rng.below(4))
        .map(|_| rng.below(chars.len() + 1))
        .collect();
    cuts.push(0);
    cuts.push(chars.len());
    cuts.sort_unstable();
    cuts.windows(2)
        .map(|w| chars[w[0]..w[1]].iter().collect())
        .collect()
}

fn sse(ty: &str, data: Value) -> String {
    format!("event: {ty}\ndata: {data}\n\n")
}

#[test]
fn property_stream_equals_non_stream() {
    use serde_json::json;
    let words = [
        "Hé",
        "llo",
        " wörld",
        "\"quoted\"",
        "\n",
        "🙂",
        "a\\b",
        "{",
        "}",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..200 {
        let mut blocks = Vec::new(); // non-streaming content
        let mut stream = sse(
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_p","model":"claude-x","content":[],
                   "usage":{"input_tokens":11,"output_tokens":1}}}),
        );
        let n_blocks = 1 + rng.below(4);
        let mut has_tool = false;
        for i in 0..n_blocks {
            if rng.below(2) == 0 {
                let t: String = (0..1 + rng.below(6))
                    .map(|_| words[rng.below(words.len())])
                    .collect();
                blocks.push(json!({"type":"text","text":t}));
                stream += &sse(
                    "content_block_start",
                    json!({"type":"content_block_start","index":i,"content_block":{"type":"text","text":""}}),
                );
                for piece in split(&mut rng, &t) {
                    stream += &sse(
                        "content_block_delta",
                        json!({"type":"content_block_delta","index":i,"delta":{"type":"text_delta","text":piece}}),
                    );
                }
            } else {
                has_tool = true;
                let v: String = (0..rng.below(4))
                    .map(|_| words[rng.below(words.len())])
                    .collect();
                let input = json!({"q": v, "n": rng.below(1000), "list": [1, {"k": v}]});
                blocks.push(
                    json!({"type":"tool_use","id":format!("toolu_{i}"),"name":"f","input":input}),
                );
                stream += &sse(
                    "content_block_start",
                    json!({"type":"content_block_start","index":i,"content_block":{"type":"tool_use","id":format!("toolu_{i}"),"name":"f","input":{}}}),
                );
                for piece in split(&mut rng, &input.to_string()) {
                    stream += &sse(
                        "content_block_delta",
                        json!({"type":"content_block_delta","index":i,"delta":{"type":"input_json_delta","partial_json":piece}}),
                    );
                }
            }
            stream += &sse(
                "content_block_stop",
                json!({"type":"content_block_stop","index":i}),
            );
        }
        let stop = if has_tool { "tool_use" } else { "end_turn" };
        stream += &sse(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":stop},"usage":{"output_tokens":42}}),
        );
        stream += &sse("message_stop", json!({"type":"message_stop"}));
        let response = json!({"id":"msg_p","type":"message","role":"assistant","model":"claude-x",
            "content":blocks,"stop_reason":stop,"usage":{"input_tokens":11,"output_tokens":42}});

        let step = 1 + rng.below(40);
        let (events, end) = run(stream.as_bytes(), step);
        assert_eq!(end, Ok(()), "case {case}");
        assert_eq!(
            (events.clone(), end),
            run(stream.as_bytes(), 0),
            "case {case}"
        );
        assert_stream_matches(&events, response.to_string().as_bytes());
    }
}

//! Malformed bodies of many kinds: every parser answers a 400 naming the problem, and never
//! panics — on hand-written cases, on every truncation of each valid fixture, and on
//! deterministic byte mutations of them.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers outside #[test] fns: a panic there is a failed test"
)]

mod common;

use common::fixture;
use switchyard_ingress::{anthropic, openai};
use switchyard_types::{ChatRequest, ErrorClass, GatewayError, Who};

type Parser = fn(&[u8]) -> Result<ChatRequest, GatewayError>;

fn embed(body: &[u8]) -> Result<(), GatewayError> {
    openai::parse_embed_request(body).map(|_| ())
}

fn assert_client_400(e: &GatewayError, what: &str) {
    assert_eq!(e.status, 400, "{what}: {e}");
    assert_eq!(e.who, Who::Client, "{what}");
    assert!(
        matches!(e.class, ErrorClass::BadRequest | ErrorClass::Unsupported),
        "{what}: {e}"
    );
    assert!(!e.message.is_empty());
    // The error renders in both dialects as valid JSON.
    for body in [openai::render_error(e), anthropic::render_error(e)] {
        serde_json::from_slice::<serde_json::Value>(&body).unwrap();
    }
}

const CHAT_FIXTURES: [(&str, Parser); 7] = [
    ("openai/chat_request_full.json", openai::parse_chat_request),
    (
        "openai/chat_request_reasoning_turn.json",
        openai::parse_chat_request,
    ),
    (
        "anthropic/messages_request_tools.json",
        anthropic::parse_messages_request,
    ),
    (
        "anthropic/messages_request_thinking.json",
        anthropic::parse_messages_request,
    ),
    (
        "anthropic/messages_request_media.json",
        anthropic::parse_messages_request,
    ),
    (
        "anthropic/count_tokens_request.json",
        anthropic::parse_count_tokens_request,
    ),
    (
        "anthropic/messages_request_tools.json",
        anthropic::parse_count_tokens_request,
    ),
];

fn trimmed(rel: &str) -> Vec<u8> {
    let body = fixture(rel);
    let end = body
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    body[..end].to_vec()
}

#[test]
fn every_truncation_of_a_valid_body_is_a_400() {
    for (rel, parse) in CHAT_FIXTURES {
        let body = trimmed(rel);
        parse(&body).unwrap_or_else(|e| panic!("{rel} must parse: {e}"));
        for n in 0..body.len() {
            match parse(&body[..n]) {
                Ok(_) => panic!("{rel}: prefix of {n} bytes parsed"),
                Err(e) => assert_client_400(&e, rel),
            }
        }
    }
    let body = trimmed("openai/embeddings_request.json");
    embed(&body).unwrap();
    for n in 0..body.len() {
        assert_client_400(&embed(&body[..n]).unwrap_err(), "embeddings prefix");
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn byte_mutations_never_panic() {
    const BYTES: &[u8] = b"{}[]\",:0-1e.nt\\ \x00\xff\xc3aZ";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (rel, parse) in CHAT_FIXTURES {
        let body = trimmed(rel);
        for _ in 0..400 {
            let mut b = body.clone();
            for _ in 0..(1 + rng.next() % 4) {
                let i = (rng.next() as usize) % b.len();
                match rng.next() % 3 {
                    0 => b[i] = BYTES[(rng.next() as usize) % BYTES.len()],
                    1 => {
                        b.remove(i);
                    }
                    _ => b.insert(i, BYTES[(rng.next() as usize) % BYTES.len()]),
                }
            }
            if let Err(e) = parse(&b) {
                assert_client_400(&e, rel);
            }
        }
    }
}

fn openai_err(body: &str) -> GatewayError {
    let e = openai::parse_chat_request(body.as_bytes())
        .map(|r| panic!("accepted {body}: {r:?}"))
        .unwrap_err();
    assert_client_400(&e, body);
    e
}

fn anthropic_err(body: &str) -> GatewayError {
    let e = anthropic::parse_messages_request(body.as_bytes())
        .map(|r| panic!("accepted {body}: {r:?}"))
        .unwrap_err();
    assert_client_400(&e, body);
    e
}

const U: &str = r#"{"role":"user","content":"hi"}"#;

#[test]
fn openai_malformed_bodies_name_the_param() {
    let e = openai_err("");
    assert!(e.message.contains("not valid JSON"), "{}", e.message);
    assert!(e.message.contains("line 1"), "{}", e.message);
    openai_err("{\"model\": \"m\", }");
    openai_err("\u{feff}{}");
    openai_err("null");
    openai_err("\"text\"");
    openai_err(&format!("{}{}", "[".repeat(500), "]".repeat(500)));
    let nested = format!(
        r#"{{"model":"m","messages":[{U}],"metadata":{}1{}}}"#,
        r#"{"a":"#.repeat(300),
        "}".repeat(300)
    );
    openai_err(&nested);
    let cases: &[(&str, &str)] = &[
        (r#"{"messages":[]}"#, "model"),
        (r#"{"model":1,"messages":[]}"#, "model"),
        (r#"{"model":"m"}"#, "messages"),
        (r#"{"model":"m","messages":null}"#, "messages"),
        (r#"{"model":"m","messages":{}}"#, "messages"),
        (r#"{"model":"m","messages":[]}"#, "messages"),
        (r#"{"model":"m","messages":["hi"]}"#, "messages[0]"),
        (
            r#"{"model":"m","messages":[{"content":"x"}]}"#,
            "messages[0].role",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":5}]}"#,
            "messages[0].content",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[5]}]}"#,
            "messages[0].content[0]",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}"#,
            "messages[0].content[0].type",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}"#,
            "messages[0].content[0].type",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#,
            "messages[0].content[0].text",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x"}}]}]}"#,
            "messages[0].content[0].input_audio.format",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{}}]}]}"#,
            "messages[0].content[0].file",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}]}"#,
            "messages[0].tool_calls[0].id",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":3}}]}]}"#,
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}"#,
            "messages[0].tool_calls",
        ),
        (
            r#"{"model":"m","messages":[{"role":"assistant","thinking_blocks":[{"type":"x"}]}]}"#,
            "messages[0].thinking_blocks[0].type",
        ),
        (
            r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
            "messages[0].tool_call_id",
        ),
        (
            r#"{"model":"m","messages":[{"role":"function","content":"x"}]}"#,
            "messages[0].name",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"tools":[{{"type":"function"}}]}}"#),
            "tools[0].function",
        ),
        (
            &format!(
                r#"{{"model":"m","messages":[{U}],"tools":[{{"type":"custom","custom":{{}}}}]}}"#
            ),
            "tools[0].type",
        ),
        (
            &format!(
                r#"{{"model":"m","messages":[{U}],"tools":[{{"type":"function","function":{{"name":"f","parameters":"x"}}}}]}}"#
            ),
            "tools[0].function.parameters",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"tool_choice":"sometimes"}}"#),
            "tool_choice",
        ),
        (
            &format!(
                r#"{{"model":"m","messages":[{U}],"tool_choice":{{"type":"function","function":{{}}}}}}"#
            ),
            "tool_choice.function.name",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"response_format":{{"type":"xml"}}}}"#),
            "response_format.type",
        ),
        (
            &format!(
                r#"{{"model":"m","messages":[{U}],"response_format":{{"type":"json_schema"}}}}"#
            ),
            "response_format.json_schema",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"max_tokens":-5}}"#),
            "max_tokens",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"max_completion_tokens":1.5}}"#),
            "max_completion_tokens",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"n":99999999999}}"#),
            "n",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"seed":1e30}}"#),
            "seed",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"stop":[1]}}"#),
            "stop[0]",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"stream":"yes"}}"#),
            "stream",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"stream_options":{{"include_usage":1}}}}"#),
            "stream_options.include_usage",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"metadata":[]}}"#),
            "metadata",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"thinking":{{"type":"enabled"}}}}"#),
            "thinking.budget_tokens",
        ),
        (
            &format!(r#"{{"model":"m","messages":[{U}],"user":7}}"#),
            "user",
        ),
    ];
    for (body, param) in cases {
        let e = openai_err(body);
        assert_eq!(e.param.as_deref(), Some(*param), "{body}: {}", e.message);
        assert!(e.message.contains(param), "{body}: {}", e.message);
    }
}

#[test]
fn anthropic_malformed_bodies_name_the_param() {
    anthropic_err("{");
    anthropic_err("[]");
    let cases: &[(&str, &str)] = &[
        (r#"{"max_tokens":1,"messages":[]}"#, "model"),
        (
            &format!(r#"{{"model":"c","messages":[{U}]}}"#),
            "max_tokens",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":"1","messages":[{U}]}}"#),
            "max_tokens",
        ),
        (r#"{"model":"c","max_tokens":1}"#, "messages"),
        (r#"{"model":"c","max_tokens":1,"messages":[]}"#, "messages"),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user"}]}"#,
            "messages[0].content",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"x"}}]}]}"#,
            "messages[0].content[0].source.media_type",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"ftp"}}]}]}"#,
            "messages[0].content[0].source.type",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result"}]}]}"#,
            "messages[0].content[0].tool_use_id",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"video"}]}]}]}"#,
            "messages[0].content[0].content[0].type",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":"no"}]}]}"#,
            "messages[0].content[0].is_error",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","input":{}}]}]}"#,
            "messages[0].content[0].name",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"thinking","signature":"s"}]}]}"#,
            "messages[0].content[0].thinking",
        ),
        (
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"thinking","thinking":"x"}]}]}"#,
            "messages[0].content[0].type",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":1,"messages":[{U}],"system":5}}"#),
            "system",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"system":[{{"type":"image"}}]}}"#
            ),
            "system[0].type",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":1,"messages":[{U}],"tools":[{{"name":"f"}}]}}"#),
            "tools[0].input_schema",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"tools":[{{"type":"bash_20250124","name":"bash"}}]}}"#
            ),
            "tools[0].type",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"tool_choice":{{"type":"tool"}}}}"#
            ),
            "tool_choice.name",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"tool_choice":{{"type":"maybe"}}}}"#
            ),
            "tool_choice.type",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":1,"messages":[{U}],"tool_choice":"auto"}}"#),
            "tool_choice",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":1,"messages":[{U}],"stop_sequences":[null]}}"#),
            "stop_sequences[0]",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"thinking":{{"type":"enabled"}}}}"#
            ),
            "thinking.budget_tokens",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"thinking":{{"budget_tokens":1}}}}"#
            ),
            "thinking.type",
        ),
        (
            &format!(
                r#"{{"model":"c","max_tokens":1,"messages":[{U}],"metadata":{{"user_id":1}}}}"#
            ),
            "metadata.user_id",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":1,"messages":[{U}],"temperature":"warm"}}"#),
            "temperature",
        ),
        (
            &format!(r#"{{"model":"c","max_tokens":1,"messages":[{U}],"top_k":-1}}"#),
            "top_k",
        ),
    ];
    for (body, param) in cases {
        let e = anthropic_err(body);
        assert_eq!(e.param.as_deref(), Some(*param), "{body}: {}", e.message);
        assert!(e.message.contains(param), "{body}: {}", e.message);
    }
}

#[test]
fn embeddings_malformed_bodies_name_the_param() {
    let cases: &[(&str, &str)] = &[
        (r#"{"input":"x"}"#, "model"),
        (r#"{"model":"e"}"#, "input"),
        (r#"{"model":"e","input":5}"#, "input"),
        (r#"{"model":"e","input":["a",null]}"#, "input[1]"),
        (r#"{"model":"e","input":["a",[1]]}"#, "input"),
        (
            r#"{"model":"e","input":"a","dimensions":"big"}"#,
            "dimensions",
        ),
    ];
    for (body, param) in cases {
        let e = embed(body.as_bytes()).unwrap_err();
        assert_client_400(&e, body);
        assert_eq!(e.param.as_deref(), Some(*param), "{body}: {}", e.message);
    }
}

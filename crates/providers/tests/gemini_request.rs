//! Gemini request encoding: golden fixtures (canonical request in, Gemini body out) and the
//! adapter's URL, headers and parameter policy.
#![cfg(test)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_providers::gemini::{decode_response, encode_request, GeminiAdapter};
use switchyard_providers::{ChatAdapter, Dropped};
use switchyard_types::{
    ChatRequest, ContentPart, ErrorClass, Message, Reasoning, ReasoningEffort, Role, Secret,
    ToolChoice, ToolResult,
};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gemini")
        .join(name)
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn request(name: &str) -> ChatRequest {
    serde_json::from_value(read_json(&format!("{name}.request.json"))).unwrap()
}

fn encode(req: &ChatRequest) -> (Value, Dropped) {
    let mut dropped = Dropped::default();
    let body = encode_request(req, UnsupportedParams::Drop, &mut dropped).unwrap();
    (Value::Object(body), dropped)
}

#[test]
fn golden_requests() {
    for name in [
        "system_multiturn",
        "images",
        "tools_roundtrip",
        "tool_choice_function",
        "json_schema",
        "json_object",
        "generation",
        "thinking_budget",
    ] {
        let (body, dropped) = encode(&request(name));
        let expected = read_json(&format!("{name}.gemini.json"));
        assert_eq!(body, expected, "fixture {name}");
        assert_eq!(dropped, Dropped::default(), "fixture {name}");
    }
}

fn simple(text: &str) -> ChatRequest {
    ChatRequest {
        model: "gemini-2.5-flash".into(),
        messages: vec![Message::text(Role::User, text)],
        ..ChatRequest::default()
    }
}

fn with_tool(mut req: ChatRequest) -> ChatRequest {
    req.tools = serde_json::from_value(json!([{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}]))
        .unwrap();
    req
}

#[test]
fn tool_choice_modes() {
    for (choice, expected) in [
        (ToolChoice::Auto, json!({"mode": "AUTO"})),
        (ToolChoice::None, json!({"mode": "NONE"})),
        (ToolChoice::Required, json!({"mode": "ANY"})),
        (
            ToolChoice::Function("f".into()),
            json!({"mode": "ANY", "allowedFunctionNames": ["f"]}),
        ),
    ] {
        let mut req = with_tool(simple("hi"));
        req.tool_choice = Some(choice);
        let (body, _) = encode(&req);
        assert_eq!(body["toolConfig"]["functionCallingConfig"], expected);
    }
    // No tools: no toolConfig either.
    let mut req = simple("hi");
    req.tool_choice = Some(ToolChoice::Required);
    assert!(encode(&req).0.get("toolConfig").is_none());
}

#[test]
fn more_than_five_stop_sequences_follow_the_policy() {
    let mut req = simple("count");
    req.stop = (1..=7).map(|i| i.to_string()).collect();
    let (body, dropped) = encode(&req);
    assert_eq!(
        body["generationConfig"]["stopSequences"],
        json!(["1", "2", "3", "4", "5"])
    );
    assert_eq!(dropped.0, vec!["stop"]);

    let mut dropped = Dropped::default();
    let err = encode_request(&req, UnsupportedParams::Reject, &mut dropped).unwrap_err();
    assert_eq!(err.class, ErrorClass::Unsupported);
    assert_eq!(err.param.as_deref(), Some("stop"));
}

#[test]
fn parallel_tool_calls_false_and_big_seed_are_unsupported() {
    let mut req = with_tool(simple("hi"));
    req.parallel_tool_calls = Some(false);
    req.seed = Some(1 << 40);
    let (body, dropped) = encode(&req);
    assert!(body["generationConfig"].get("seed").is_none());
    assert_eq!(dropped.0, vec!["parallel_tool_calls", "seed"]);
    let mut d = Dropped::default();
    let err = encode_request(&req, UnsupportedParams::Reject, &mut d).unwrap_err();
    assert_eq!(err.param.as_deref(), Some("parallel_tool_calls"));
}

#[test]
fn reasoning_effort_budgets() {
    for (effort, expected) in [
        (ReasoningEffort::None, json!({"thinkingBudget": 0})),
        (
            ReasoningEffort::Minimal,
            json!({"thinkingBudget": 512, "includeThoughts": true}),
        ),
        (
            ReasoningEffort::Low,
            json!({"thinkingBudget": 1024, "includeThoughts": true}),
        ),
        (
            ReasoningEffort::High,
            json!({"thinkingBudget": 24576, "includeThoughts": true}),
        ),
    ] {
        let mut req = simple("think");
        req.reasoning = Some(Reasoning {
            effort: Some(effort),
            budget_tokens: None,
        });
        let (body, _) = encode(&req);
        assert_eq!(
            body["generationConfig"]["thinkingConfig"], expected,
            "{effort:?}"
        );
    }
}

#[test]
fn tool_result_without_known_call_is_refused() {
    let mut req = simple("hi");
    req.messages.push(Message {
        role: Role::Tool,
        content: vec![ContentPart::ToolResult(ToolResult {
            call_id: "call_404".into(),
            name: None,
            content: vec![ContentPart::text("x")],
            is_error: false,
        })],
        name: None,
    });
    let mut d = Dropped::default();
    let err = encode_request(&req, UnsupportedParams::Drop, &mut d).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadRequest);
    assert!(err.message.contains("call_404"), "{}", err.message);
}

#[test]
fn non_object_tool_arguments_are_refused() {
    let mut req = simple("hi");
    req.messages.push(Message {
        role: Role::Assistant,
        content: vec![ContentPart::ToolCall(switchyard_types::ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: "{\"a\": tru".into(),
            signature: None,
        })],
        name: None,
    });
    let mut d = Dropped::default();
    let err = encode_request(&req, UnsupportedParams::Drop, &mut d).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadRequest);
}

#[test]
fn only_system_messages_is_a_bad_request() {
    let mut req = simple("x");
    req.messages = vec![Message::text(Role::System, "be nice")];
    let mut d = Dropped::default();
    let err = encode_request(&req, UnsupportedParams::Drop, &mut d).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadRequest);
}

/// A function call decoded from Gemini goes back with its signature, and the tool result
/// finds the function name from the call id.
#[test]
fn decoded_tool_calls_round_trip_with_signatures() {
    let body = std::fs::read(fixture_path("response_function_call.json")).unwrap();
    let resp = decode_response(&body).unwrap();
    let assistant = resp.choices[0].message.clone();
    let mut req = simple("Weather in Paris and London?");
    req.messages.push(assistant.clone());
    for (part, text) in assistant.content.iter().zip(["18 C", "12 C"]) {
        let ContentPart::ToolCall(call) = part else {
            panic!("expected tool call")
        };
        req.messages.push(Message {
            role: Role::Tool,
            content: vec![ContentPart::ToolResult(ToolResult {
                call_id: call.id.clone(),
                name: None,
                content: vec![ContentPart::text(text)],
                is_error: false,
            })],
            name: None,
        });
    }
    let (body, _) = encode(&req);
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather in Paris and London?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBcsjafNcmZ2VhUbt1Q2qUZ0Jzd5mF0Q=="},
                {"functionCall": {"name": "get_weather", "args": {"city": "London", "unit": "C"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "18 C"}}},
                {"functionResponse": {"name": "get_weather", "response": {"result": "12 C"}}}
            ]}
        ])
    );
}

/// Text carrying a signature comes back onto the same text part.
#[test]
fn text_signature_round_trips() {
    let body = std::fs::read(fixture_path("response_thoughts.json")).unwrap();
    let resp = decode_response(&body).unwrap();
    let mut req = simple("Prove it.");
    req.messages.push(resp.choices[0].message.clone());
    req.messages.push(Message::text(Role::User, "Thanks"));
    let (body, _) = encode(&req);
    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [
            {"text": "**Counting primes**\n\nSuppose finitely many primes exist...", "thought": true, "thoughtSignature": "EpgDCpUDAdHtim9ThoughtSig=="},
            {"text": "Assume p1..pn are all primes; "},
            {"text": "then p1*...*pn + 1 has a prime factor outside the list.", "thoughtSignature": "Eo4BCosBTextSig=="}
        ]})
    );
}

fn config() -> ProviderConfig {
    let mut cfg = ProviderConfig {
        api_key: Some(Secret::new("AIzaSy-test-key".to_string())),
        ..ProviderConfig::default()
    };
    cfg.headers.insert("x-team".into(), "search".into());
    cfg
}

#[test]
fn adapter_builds_urls_and_headers() {
    let adapter = GeminiAdapter::new(&config()).unwrap();
    let mut req = simple("hi");
    let mut d = Dropped::default();
    let wire = adapter.chat_request(&req, &mut d).unwrap();
    assert_eq!(
        wire.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    let key = wire
        .headers
        .iter()
        .find(|(n, _)| n == "x-goog-api-key")
        .map(|(_, v)| v)
        .unwrap();
    assert_eq!(key, "AIzaSy-test-key");
    assert!(key.is_sensitive());
    assert!(wire
        .headers
        .iter()
        .any(|(n, v)| n == "x-team" && v == "search"));
    assert!(wire
        .headers
        .iter()
        .any(|(n, v)| n == "content-type" && v == "application/json"));
    let sent: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(sent["contents"][0]["parts"][0]["text"], "hi");

    req.stream = true;
    let wire = adapter.chat_request(&req, &mut d).unwrap();
    assert_eq!(
        wire.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );

    let mut cfg = config();
    cfg.base_url = Some("http://127.0.0.1:9999/".into());
    let adapter = GeminiAdapter::new(&cfg).unwrap();
    req.model = "tunedModels/my-model-1".into();
    let wire = adapter.chat_request(&req, &mut d).unwrap();
    assert_eq!(
        wire.url,
        "http://127.0.0.1:9999/v1beta/tunedModels/my-model-1:streamGenerateContent?alt=sse"
    );
    req.model = "gemini?key=x".into();
    assert_eq!(
        adapter.chat_request(&req, &mut d).unwrap_err().class,
        ErrorClass::BadRequest
    );
}

#[test]
fn adapter_needs_a_key_and_never_prints_it() {
    assert!(GeminiAdapter::new(&ProviderConfig::default()).is_err());
    let adapter = GeminiAdapter::new(&config()).unwrap();
    assert!(!format!("{adapter:?}").contains("AIzaSy-test-key"));
    let mut cfg = config();
    cfg.headers.insert("bad header".into(), "x".into());
    assert!(GeminiAdapter::new(&cfg).is_err());
}

#[test]
fn user_and_metadata_have_no_equivalent_and_are_named() {
    let mut req = simple("hi");
    req.user = Some("end-user-7".into());
    req.metadata = Some(
        serde_json::json!({"session": "s1"})
            .as_object()
            .unwrap()
            .clone(),
    );
    let (body, dropped) = encode(&req);
    assert_eq!(dropped, Dropped(vec!["user", "metadata"]));
    assert!(body.get("user").is_none() && body.get("metadata").is_none());
    let mut d = Dropped::default();
    let e = encode_request(&req, UnsupportedParams::Reject, &mut d).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("user"));
}

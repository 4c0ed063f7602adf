//! Golden tests: canonical requests -> OpenAI Chat Completions bodies (fixtures in
//! `fixtures/openai/request_*.json`, shaped as OpenAI documents them).

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_providers::openai::{check_request, encode_request, OpenAiAdapter, OpenAiFlavor};
use switchyard_providers::{ChatAdapter, Dropped};
use switchyard_types::{
    ChatRequest, ContentPart, ErrorClass, MediaSource, Message, Reasoning, ReasoningEffort,
    ResponseFormat, Role, Tool, ToolCall, ToolChoice, ToolResult,
};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn encode(req: &ChatRequest) -> Value {
    check_request(req).expect("representable");
    Value::Object(encode_request(req))
}

fn req(model: &str, messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages,
        ..Default::default()
    }
}

fn msg(role: Role, content: Vec<ContentPart>) -> Message {
    Message {
        role,
        content,
        name: None,
    }
}

fn call(id: &str, args: &str) -> ContentPart {
    ContentPart::ToolCall(ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: args.into(),
        signature: None,
    })
}

fn tool_result(id: &str, content: Vec<ContentPart>) -> Message {
    msg(
        Role::Tool,
        vec![ContentPart::ToolResult(ToolResult {
            call_id: id.into(),
            name: None,
            content,
            is_error: false,
        })],
    )
}

#[test]
fn text_and_system() {
    let mut r = req(
        "gpt-4o",
        vec![
            Message::text(Role::System, "You are a helpful assistant."),
            Message::text(Role::User, "Hello!"),
        ],
    );
    r.max_tokens = Some(256);
    r.temperature = Some(0.7);
    assert_eq!(encode(&r), fixture("request_text.json"));
}

#[test]
fn multi_turn_with_names_and_parts() {
    let mut alice = Message::text(Role::User, "Who won the world series in 2020?");
    alice.name = Some("alice".into());
    let r = req(
        "gpt-4o-mini",
        vec![
            Message::text(Role::System, "Be brief."),
            alice,
            Message::text(
                Role::Assistant,
                "The Los Angeles Dodgers won the World Series in 2020.",
            ),
            msg(
                Role::User,
                vec![
                    ContentPart::text("Where was it played?"),
                    ContentPart::text("Answer in one line."),
                ],
            ),
        ],
    );
    assert_eq!(encode(&r), fixture("request_multiturn.json"));
}

#[test]
fn images_audio_and_files() {
    let r = req(
        "gpt-4o",
        vec![msg(
            Role::User,
            vec![
                ContentPart::text("What's in these?"),
                ContentPart::Image {
                    source: MediaSource::Url { url: "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg".into() },
                    detail: Some("high".into()),
                },
                ContentPart::Image {
                    source: MediaSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgoAAAANSUhEUg==".into(),
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
                        data: "JVBERi0xLjQK".into(),
                    },
                    filename: Some("report.pdf".into()),
                },
                ContentPart::File {
                    source: MediaSource::FileId {
                        id: "file-6F2ksmvXxt4VdoqmHRw6kL".into(),
                    },
                    filename: None,
                },
            ],
        )],
    );
    assert_eq!(encode(&r), fixture("request_images.json"));
}

#[test]
fn tools_parallel_calls_results_and_reasoning_dropped() {
    let mut r = req(
        "gpt-4o",
        vec![
            Message::text(Role::User, "What's the weather in Paris and in Tokyo?"),
            msg(
                Role::Assistant,
                vec![
                    ContentPart::Reasoning {
                        text: "two cities".into(),
                        signature: Some("sig".into()),
                    },
                    call("call_abc", "{\"city\":\"Paris\"}"),
                    call("call_def", "{\"city\":\"Tokyo\"}"),
                ],
            ),
            tool_result("call_abc", vec![ContentPart::text("18 C, sunny")]),
            tool_result(
                "call_def",
                vec![
                    ContentPart::text("22 C"),
                    ContentPart::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                        detail: None,
                    },
                    ContentPart::text("radar attached"),
                ],
            ),
            msg(
                Role::Assistant,
                vec![
                    ContentPart::RedactedReasoning { data: "x".into() },
                    ContentPart::text("Paris: 18 C. Tokyo: 22 C."),
                ],
            ),
            Message::text(Role::User, "Thanks"),
        ],
    );
    r.tools = vec![Tool {
        name: "get_weather".into(),
        description: Some("Get the current weather for a city".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}),
        strict: Some(true),
    }];
    r.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    r.parallel_tool_calls = Some(false);
    assert_eq!(encode(&r), fixture("request_tools.json"));
}

#[test]
fn tool_choice_variants() {
    for (choice, want) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::Function("f".into()),
            json!({"type": "function", "function": {"name": "f"}}),
        ),
    ] {
        let mut r = req("m", vec![Message::text(Role::User, "x")]);
        r.tool_choice = Some(choice);
        assert_eq!(encode(&r)["tool_choice"], want);
    }
}

#[test]
fn json_modes() {
    let mut r = req(
        "gpt-4o-2024-08-06",
        vec![Message::text(
            Role::User,
            "Extract: Alice and Bob meet on Friday.",
        )],
    );
    r.response_format = Some(ResponseFormat::JsonSchema {
        name: "calendar_event".into(),
        schema: json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "date": {"type": "string"}, "participants": {"type": "array", "items": {"type": "string"}}},
            "required": ["name", "date", "participants"],
            "additionalProperties": false
        }),
        strict: Some(true),
        description: Some("An event".into()),
    });
    assert_eq!(encode(&r), fixture("request_json_schema.json"));
    r.response_format = Some(ResponseFormat::JsonObject);
    assert_eq!(
        encode(&r)["response_format"],
        json!({"type": "json_object"})
    );
    r.response_format = Some(ResponseFormat::Text);
    assert_eq!(encode(&r)["response_format"], json!({"type": "text"}));
}

#[test]
fn every_parameter_stream_and_extra() {
    let mut r = req("o3-mini", vec![Message::text(Role::User, "Think hard.")]);
    r.max_tokens = Some(2000);
    r.temperature = Some(1.2);
    r.top_p = Some(0.8);
    r.stop = vec!["END".into(), "\n\n".into()];
    r.seed = Some(42);
    r.presence_penalty = Some(0.1);
    r.frequency_penalty = Some(-0.2);
    r.n = Some(2);
    r.logprobs = Some(true);
    r.top_logprobs = Some(3);
    r.reasoning = Some(Reasoning {
        effort: Some(ReasoningEffort::High),
        budget_tokens: None,
    });
    r.user = Some("user-1234".into());
    r.metadata = Some(json!({"team": "search"}).as_object().unwrap().clone());
    r.tool_choice = Some(ToolChoice::Required);
    r.stream = true;
    r.include_usage = false; // usage is asked for anyway
    r.extra.insert("service_tier".into(), json!("flex"));
    r.extra.insert("logit_bias".into(), json!({"50256": -100}));
    // An extra field never overrides a translated one.
    r.extra.insert("model".into(), json!("not-this"));
    assert_eq!(encode(&r), fixture("request_all_params.json"));
}

#[test]
fn reasoning_budget_maps_to_effort() {
    let mut r = req("o3", vec![Message::text(Role::User, "x")]);
    for (budget, want) in [
        (0, "none"),
        (1024, "low"),
        (4096, "medium"),
        (32000, "high"),
    ] {
        r.reasoning = Some(Reasoning {
            effort: None,
            budget_tokens: Some(budget),
        });
        assert_eq!(encode(&r)["reasoning_effort"], json!(want));
    }
}

#[test]
fn unrepresentable_content_is_refused() {
    for content in [
        ContentPart::Image {
            source: MediaSource::FileId {
                id: "file-1".into(),
            },
            detail: None,
        },
        ContentPart::File {
            source: MediaSource::Url {
                url: "https://example.com/a.pdf".into(),
            },
            filename: None,
        },
    ] {
        let r = req("m", vec![msg(Role::User, vec![content])]);
        let e = check_request(&r).unwrap_err();
        assert_eq!(e.class, ErrorClass::BadRequest);
    }
    let r = req(
        "m",
        vec![msg(
            Role::Assistant,
            vec![ContentPart::Audio {
                data: "x".into(),
                format: "wav".into(),
            }],
        )],
    );
    assert!(check_request(&r).is_err());
}

fn adapter(flavor: OpenAiFlavor, policy: UnsupportedParams) -> OpenAiAdapter {
    let cfg = ProviderConfig {
        base_url: Some("http://127.0.0.1:1/v1".into()),
        api_key: Some(switchyard_types::Secret::new("k".into())),
        unsupported_params: policy,
        ..Default::default()
    };
    OpenAiAdapter::new(&cfg, flavor).unwrap()
}

#[test]
fn top_k_is_policy_for_openai_and_kept_for_compatible() {
    let mut r = req("m", vec![Message::text(Role::User, "x")]);
    r.top_k = Some(40);
    let body = |w: switchyard_providers::WireRequest| -> Value {
        serde_json::from_slice(&w.body).unwrap()
    };

    let mut dropped = Dropped::default();
    let w = adapter(OpenAiFlavor::OpenAi, UnsupportedParams::Drop)
        .chat_request(&r, &mut dropped)
        .unwrap();
    assert!(body(w).get("top_k").is_none());
    assert_eq!(dropped.0, vec!["top_k"]);

    let e = adapter(OpenAiFlavor::OpenAi, UnsupportedParams::Reject)
        .chat_request(&r, &mut Dropped::default())
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported);

    let mut dropped = Dropped::default();
    let w = adapter(OpenAiFlavor::Compatible, UnsupportedParams::Reject)
        .chat_request(&r, &mut dropped)
        .unwrap();
    assert_eq!(body(w)["top_k"], json!(40));
    assert!(dropped.0.is_empty());
}

#[test]
fn adapter_builds_the_wire_request() {
    let a = adapter(OpenAiFlavor::OpenAi, UnsupportedParams::Drop);
    let mut r = req(
        "gpt-4o",
        vec![
            Message::text(Role::System, "You are a helpful assistant."),
            Message::text(Role::User, "Hello!"),
        ],
    );
    r.max_tokens = Some(256);
    r.temperature = Some(0.7);
    let w = a.chat_request(&r, &mut Dropped::default()).unwrap();
    assert_eq!(w.url, "http://127.0.0.1:1/v1/chat/completions");
    let body: Value = serde_json::from_slice(&w.body).unwrap();
    assert_eq!(body, fixture("request_text.json"));
    let names: Vec<&str> = w.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["content-type", "authorization"]);
    // A request Chat Completions cannot carry is refused before anything is sent.
    let bad = req(
        "gpt-4o",
        vec![msg(Role::Tool, vec![ContentPart::text("no id")])],
    );
    assert!(a.chat_request(&bad, &mut Dropped::default()).is_err());
}

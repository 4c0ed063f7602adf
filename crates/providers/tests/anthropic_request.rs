//! Golden tests: canonical requests -> Anthropic Messages bodies (fixtures in
//! `fixtures/anthropic/request_*.json`, written from Anthropic's documented request shapes).

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use switchyard_config::{ProviderConfig, UnsupportedParams};
use switchyard_providers::anthropic::{
    encode_request, AnthropicAdapter, AnthropicOptions, JSON_TOOL_NAME,
};
use switchyard_providers::{ChatAdapter, Dropped};
use switchyard_types::{
    ChatRequest, ContentPart, ErrorClass, MediaSource, Message, Reasoning, ReasoningEffort,
    ResponseFormat, Role, Tool, ToolCall, ToolChoice, ToolResult,
};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn encode(req: &ChatRequest) -> Value {
    encode_with(req, AnthropicOptions::default()).0
}

fn encode_with(req: &ChatRequest, opts: AnthropicOptions) -> (Value, Dropped) {
    let mut dropped = Dropped::default();
    let body = encode_request(req, &opts, &mut dropped).expect("encodes");
    (Value::Object(body), dropped)
}

fn user(text: &str) -> Message {
    Message::text(Role::User, text)
}

fn req(model: &str, messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages,
        ..Default::default()
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

fn result(id: &str, content: Vec<ContentPart>, is_error: bool) -> Message {
    Message {
        role: Role::Tool,
        content: vec![ContentPart::ToolResult(ToolResult {
            call_id: id.into(),
            name: None,
            content,
            is_error,
        })],
        name: None,
    }
}

fn msg(role: Role, content: Vec<ContentPart>) -> Message {
    Message {
        role,
        content,
        name: None,
    }
}

#[test]
fn text() {
    let mut r = req("claude-sonnet-4-5", vec![user("Hello, Claude")]);
    r.max_tokens = Some(256);
    assert_eq!(encode(&r), fixture("request_text.json"));
}

#[test]
fn system_messages_are_gathered_with_cache_control() {
    let mut r = req(
        "claude-sonnet-4-5",
        vec![
            Message::text(Role::System, "You are a concise assistant."),
            msg(
                Role::System,
                vec![ContentPart::Text {
                    text: "Reference: the Eiffel Tower is 330 m tall.".into(),
                    cache_control: Some(json!({"type": "ephemeral"})),
                }],
            ),
            user("How tall is the Eiffel Tower?"),
            Message::text(Role::System, "Answer in French."),
        ],
    );
    r.stream = true;
    r.include_usage = true;
    assert_eq!(encode(&r), fixture("request_system.json"));
}

#[test]
fn single_system_text_is_a_string() {
    let mut r = req(
        "claude-haiku-4-5",
        vec![
            Message::text(Role::System, "You are a helpful assistant."),
            user("Hi"),
        ],
    );
    r.max_tokens = Some(1024);
    assert_eq!(encode(&r), fixture("request_system_string.json"));
}

#[test]
fn same_role_turns_merge_and_prefill_is_trimmed() {
    let r = req(
        "claude-sonnet-4-5",
        vec![
            user("Hi"),
            user("Are you there?"),
            Message::text(Role::Assistant, "Yes."),
            Message::text(Role::Assistant, ""),
            Message::text(Role::Assistant, "How can I help?"),
            msg(
                Role::User,
                vec![
                    ContentPart::text("Tell me a joke"),
                    ContentPart::text(""),
                    ContentPart::Text {
                        text: "about cats".into(),
                        cache_control: Some(json!({"type": "ephemeral"})),
                    },
                ],
            ),
            Message::text(Role::Assistant, "Why did the cat "),
        ],
    );
    assert_eq!(encode(&r), fixture("request_merge.json"));
}

#[test]
fn images_and_documents() {
    let r = req(
        "claude-sonnet-4-5",
        vec![msg(
            Role::User,
            vec![
                ContentPart::text("What is in these images and this report?"),
                ContentPart::Image {
                    source: MediaSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgoAAAANSUhEUg==".into(),
                    },
                    detail: None,
                },
                ContentPart::Image {
                    source: MediaSource::Url {
                        url: "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg".into(),
                    },
                    detail: Some("high".into()),
                },
                ContentPart::Image {
                    source: MediaSource::Url {
                        url: "data:image/jpeg;base64,/9j/4AAQSkZJRg==".into(),
                    },
                    detail: None,
                },
                ContentPart::File {
                    source: MediaSource::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0xLjQK".into(),
                    },
                    filename: Some("report.pdf".into()),
                },
            ],
        )],
    );
    assert_eq!(encode(&r), fixture("request_images.json"));
}

fn weather_tools() -> Vec<Tool> {
    vec![
        Tool {
            name: "get_weather".into(),
            description: Some("Get the current weather in a given location".into()),
            parameters: json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["c", "f"]}
                },
                "required": ["city"]
            }),
            strict: Some(true),
        },
        Tool {
            name: "get_time".into(),
            description: None,
            parameters: Value::Null,
            strict: None,
        },
    ]
}

#[test]
fn tools_calls_and_results_round_trip() {
    let mut r = req(
        "claude-sonnet-4-5",
        vec![
            user("What's the weather and the time in Paris?"),
            msg(
                Role::Assistant,
                vec![
                    ContentPart::text("Let me check both."),
                    call(
                        "toolu_01A09q90qw90lq917835lq9",
                        "get_weather",
                        r#"{"city": "Paris", "unit": "c"}"#,
                    ),
                    call("toolu_01B7u2yQfmX3aFhvSo2hVGkD", "get_time", ""),
                ],
            ),
            result(
                "toolu_01A09q90qw90lq917835lq9",
                vec![
                    ContentPart::text("18 C, sunny"),
                    ContentPart::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                        detail: None,
                    },
                ],
                false,
            ),
            // Text typed between two tool results must still come after all of them.
            user("Take your time."),
            result(
                "toolu_01B7u2yQfmX3aFhvSo2hVGkD",
                vec![ContentPart::text("clock unavailable")],
                true,
            ),
        ],
    );
    r.tools = weather_tools();
    r.tool_choice = Some(ToolChoice::Auto);
    r.parallel_tool_calls = Some(false);
    r.max_tokens = Some(1024);
    assert_eq!(encode(&r), fixture("request_tools.json"));
}

#[test]
fn tool_choice_variants() {
    let cases: Vec<(Option<ToolChoice>, Option<bool>, Option<Value>)> = vec![
        (None, None, None),
        (Some(ToolChoice::Auto), None, Some(json!({"type": "auto"}))),
        (Some(ToolChoice::None), None, Some(json!({"type": "none"}))),
        (
            Some(ToolChoice::None),
            Some(false),
            Some(json!({"type": "none"})),
        ),
        (
            Some(ToolChoice::Required),
            None,
            Some(json!({"type": "any"})),
        ),
        (
            Some(ToolChoice::Required),
            Some(false),
            Some(json!({"type": "any", "disable_parallel_tool_use": true})),
        ),
        (
            Some(ToolChoice::Function("get_weather".into())),
            None,
            Some(json!({"type": "tool", "name": "get_weather"})),
        ),
        (
            Some(ToolChoice::Function("get_weather".into())),
            Some(false),
            Some(json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})),
        ),
        (
            None,
            Some(false),
            Some(json!({"type": "auto", "disable_parallel_tool_use": true})),
        ),
        (None, Some(true), None),
    ];
    for (choice, parallel, want) in cases {
        let mut r = req("m", vec![user("hi")]);
        r.tools = weather_tools();
        r.tool_choice = choice.clone();
        r.parallel_tool_calls = parallel;
        let body = encode(&r);
        assert_eq!(
            body.get("tool_choice"),
            want.as_ref(),
            "{choice:?} {parallel:?}"
        );
    }
    // No tools: no tool_choice at all.
    let mut r = req("m", vec![user("hi")]);
    r.tool_choice = Some(ToolChoice::Required);
    let body = encode(&r);
    assert!(body.get("tool_choice").is_none());
    assert!(body.get("tools").is_none());
}

#[test]
fn unparsable_tool_arguments_are_wrapped() {
    let r = req(
        "m",
        vec![
            user("go"),
            msg(Role::Assistant, vec![call("t1", "f", r#"{"city": "Par"#)]),
            result("t1", vec![ContentPart::text("ok")], false),
        ],
    );
    let body = encode(&r);
    assert_eq!(
        body["messages"][1]["content"][0]["input"],
        json!({"_raw": r#"{"city": "Par"#})
    );
}

#[test]
fn json_schema_becomes_a_forced_tool() {
    let mut r = req(
        "claude-sonnet-4-5",
        vec![user("Give me the weather in Paris as JSON.")],
    );
    r.response_format = Some(ResponseFormat::JsonSchema {
        name: "weather_report".into(),
        schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}},
            "required": ["city", "temp_c"],
            "additionalProperties": false
        }),
        strict: Some(true),
        description: None,
    });
    assert_eq!(encode(&r), fixture("request_json_schema.json"));
}

#[test]
fn json_object_mode_and_interaction_with_client_tools() {
    let mut r = req("m", vec![user("json please")]);
    r.response_format = Some(ResponseFormat::JsonObject);
    let body = encode(&r);
    assert_eq!(
        body["tools"],
        json!([{"name": JSON_TOOL_NAME, "description": "Respond with a JSON object.",
                "input_schema": {"type": "object"}}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": JSON_TOOL_NAME})
    );

    // With client tools the model must call one of them or answer through the JSON tool.
    r.tools = weather_tools();
    let body = encode(&r);
    assert_eq!(body["tools"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    r.tool_choice = Some(ToolChoice::None);
    assert_eq!(
        encode(&r)["tool_choice"],
        json!({"type": "tool", "name": JSON_TOOL_NAME})
    );

    // Text format is plain text.
    let mut r = req("m", vec![user("x")]);
    r.response_format = Some(ResponseFormat::Text);
    assert!(encode(&r).get("tools").is_none());

    // A non-object schema cannot be a tool input.
    r.response_format = Some(ResponseFormat::JsonSchema {
        name: "list".into(),
        schema: json!({"type": "array"}),
        strict: None,
        description: None,
    });
    let err =
        encode_request(&r, &AnthropicOptions::default(), &mut Dropped::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Unsupported);

    // The reserved name cannot be used by a client tool.
    let mut r = req("m", vec![user("x")]);
    r.tools = vec![Tool {
        name: JSON_TOOL_NAME.into(),
        description: None,
        parameters: json!({"type": "object"}),
        strict: None,
    }];
    let err =
        encode_request(&r, &AnthropicOptions::default(), &mut Dropped::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadRequest);
}

#[test]
fn sampling_stop_and_user() {
    let mut r = req("claude-sonnet-4-5", vec![user("Write a haiku.")]);
    r.temperature = Some(1.7);
    r.top_p = Some(0.9);
    r.top_k = Some(40);
    r.stop = vec!["\n\nHuman:".into(), "END".into()];
    r.user = Some("user-123".into());
    r.max_tokens = Some(100);
    r.stream = true;
    let (body, dropped) = encode_with(&r, AnthropicOptions::default());
    assert_eq!(body, fixture("request_sampling.json"));
    assert_eq!(
        dropped,
        Dropped::default(),
        "a clamped temperature is sent, not dropped"
    );
}

#[test]
fn temperature_in_range_is_kept_and_negative_is_refused() {
    let mut r = req("m", vec![user("x")]);
    r.temperature = Some(0.3);
    assert_eq!(encode(&r)["temperature"], json!(0.3));
    r.temperature = Some(-0.1);
    let err =
        encode_request(&r, &AnthropicOptions::default(), &mut Dropped::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadRequest);
    assert_eq!(err.param.as_deref(), Some("temperature"));
}

#[test]
fn max_tokens_default() {
    let r = req("m", vec![user("x")]);
    assert_eq!(encode(&r)["max_tokens"], json!(4096));
    let opts = AnthropicOptions {
        default_max_tokens: 1000,
        unsupported: UnsupportedParams::Drop,
    };
    assert_eq!(encode_with(&r, opts).0["max_tokens"], json!(1000));
    let cfg = ProviderConfig {
        default_max_tokens: Some(777),
        ..Default::default()
    };
    assert_eq!(AnthropicOptions::from_config(&cfg).default_max_tokens, 777);
}

#[test]
fn thinking_round_trip_with_signature() {
    let mut r = req(
        "claude-sonnet-4-5",
        vec![
            user("What is 27 * 453?"),
            msg(
                Role::Assistant,
                vec![
                    ContentPart::Reasoning {
                        text: "The user wants 27 * 453. I should use the calculator.".into(),
                        signature: Some(
                            "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into(),
                        ),
                    },
                    ContentPart::text("I'll use the calculator."),
                    // Redacted reasoning given after the text still goes before it.
                    ContentPart::RedactedReasoning {
                        data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
                            .into(),
                    },
                    // Reasoning without a signature (another provider's) is not sent.
                    ContentPart::Reasoning {
                        text: "unsigned".into(),
                        signature: None,
                    },
                    call("toolu_01CAL", "calculator", r#"{"expr":"27 * 453"}"#),
                ],
            ),
            result("toolu_01CAL", vec![ContentPart::text("12231")], false),
        ],
    );
    r.tools = vec![Tool {
        name: "calculator".into(),
        description: Some("Evaluates an arithmetic expression".into()),
        parameters: json!({"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}),
        strict: None,
    }];
    r.reasoning = Some(Reasoning {
        effort: Some(ReasoningEffort::Medium),
        budget_tokens: None,
    });
    r.max_tokens = Some(1000);
    assert_eq!(encode(&r), fixture("request_thinking.json"));
}

#[test]
fn thinking_budget_and_incompatible_parameters() {
    let mut r = req("m", vec![user("x")]);
    r.reasoning = Some(Reasoning {
        effort: None,
        budget_tokens: Some(2048),
    });
    r.max_tokens = Some(8000);
    r.temperature = Some(0.5);
    r.top_k = Some(5);
    r.top_p = Some(0.5);
    let (body, dropped) = encode_with(&r, AnthropicOptions::default());
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], json!(8000));
    assert!(body.get("temperature").is_none());
    assert!(body.get("top_k").is_none());
    assert!(body.get("top_p").is_none());
    assert_eq!(dropped.0, vec!["temperature", "top_p", "top_k"]);

    // Forced tool choice is refused with thinking: auto instead, reported.
    let mut r = req("m", vec![user("x")]);
    r.tools = weather_tools();
    r.tool_choice = Some(ToolChoice::Required);
    r.reasoning = Some(Reasoning {
        effort: Some(ReasoningEffort::High),
        budget_tokens: None,
    });
    let (body, dropped) = encode_with(&r, AnthropicOptions::default());
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(body["max_tokens"], json!(16384 + 4096));
    assert_eq!(dropped.0, vec!["tool_choice"]);

    // Minimal effort: no thinking.
    r.reasoning = Some(Reasoning {
        effort: Some(ReasoningEffort::Minimal),
        budget_tokens: None,
    });
    assert!(encode(&r).get("thinking").is_none());
}

fn with_unsupported() -> ChatRequest {
    let mut r = req("m", vec![user("x")]);
    r.n = Some(2);
    r.seed = Some(7);
    r.presence_penalty = Some(0.5);
    r.frequency_penalty = Some(0.5);
    r.logprobs = Some(true);
    r.top_logprobs = Some(3);
    r
}

#[test]
fn unsupported_params_dropped() {
    let (body, dropped) = encode_with(&with_unsupported(), AnthropicOptions::default());
    assert_eq!(
        dropped.0,
        vec![
            "n",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "logprobs",
            "top_logprobs"
        ]
    );
    for k in [
        "n",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
    ] {
        assert!(body.get(k).is_none(), "{k} must not be sent");
    }
    // n = 1 and logprobs = false ask for nothing Anthropic lacks.
    let mut r = req("m", vec![user("x")]);
    r.n = Some(1);
    r.logprobs = Some(false);
    assert_eq!(
        encode_with(&r, AnthropicOptions::default()).1,
        Dropped::default()
    );
}

#[test]
fn unsupported_params_rejected() {
    let opts = AnthropicOptions {
        default_max_tokens: 4096,
        unsupported: UnsupportedParams::Reject,
    };
    let err = encode_request(&with_unsupported(), &opts, &mut Dropped::default()).unwrap_err();
    assert_eq!(err.class, ErrorClass::Unsupported);
    assert_eq!(err.param.as_deref(), Some("n"));
    assert_eq!(err.status, 400);
}

#[test]
fn audio_goes_through_the_policy() {
    let r = req(
        "m",
        vec![msg(
            Role::User,
            vec![
                ContentPart::text("listen"),
                ContentPart::Audio {
                    data: "UklGR".into(),
                    format: "wav".into(),
                },
            ],
        )],
    );
    let (body, dropped) = encode_with(&r, AnthropicOptions::default());
    assert_eq!(body["messages"][0]["content"], json!("listen"));
    assert_eq!(dropped.0, vec!["audio"]);
}

#[test]
fn adapter_builds_the_wire_request() {
    let cfg = ProviderConfig {
        api_key: Some(switchyard_types::Secret::new("sk-ant-test".into())),
        anthropic_version: Some("2023-06-01".into()),
        ..Default::default()
    };
    let a = AnthropicAdapter::new(&cfg).unwrap();
    let mut r = req("claude-sonnet-4-5", vec![user("Hello, Claude")]);
    r.max_tokens = Some(256);
    let wire = a.chat_request(&r, &mut Dropped::default()).unwrap();
    assert_eq!(wire.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(wire.method, http::Method::POST);
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(body, fixture("request_text.json"));
    let names: Vec<&str> = wire.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["content-type", "x-api-key", "anthropic-version"]
    );
}

#[test]
fn openai_metadata_has_no_equivalent_and_is_named() {
    let mut r = req("claude-sonnet-4-5", vec![user("hi")]);
    r.user = Some("u-1".into());
    r.metadata = Some(json!({"trace": "abc"}).as_object().unwrap().clone());
    let (body, dropped) = encode_with(&r, AnthropicOptions::default());
    assert_eq!(body["metadata"], json!({"user_id": "u-1"}));
    assert_eq!(dropped, Dropped(vec!["metadata"]));
}

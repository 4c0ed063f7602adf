//! The Anthropic client dialect (`POST /v1/messages`) through the real server against three
//! upstreams: the Anthropic fake (pass-through: the body forwarded byte-for-byte but the model,
//! the provider's `x-api-key` instead of the client's), an OpenAI fake and a Gemini fake
//! (translated) — JSON and streams, tool use, and errors in Anthropic's error shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod conformance;

use futures_util::StreamExt;
use serde_json::{json, Value};
use switchyard_server::Running;
use switchyard_testkit::mistral::{self as oaiwire, Flavor};
use switchyard_testkit::{anthropic as antwire, gemini as gemwire, FakeUpstream, Reply};

use common::{client, gateway, url};
use conformance::anthropic_like::view_messages;
use conformance::gemini_like::view_gemini;
use conformance::openai_like::view_openai;
use conformance::Item;

const CLIENT_KEY: &str = "sk-ant-client-key-never-forwarded";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Up {
    Anthropic,
    OpenAi,
    Gemini,
}

impl Up {
    fn yaml(self, base: &str) -> String {
        let (provider, model) = match self {
            Up::Anthropic => (
                format!("kind: anthropic\n    api_key: sk-ant-provider\n    base_url: {base}"),
                "claude-sonnet-4-5",
            ),
            Up::OpenAi => (
                format!("kind: openai\n    api_key: sk-openai-provider\n    base_url: {base}/v1"),
                "gpt-4o",
            ),
            Up::Gemini => (
                format!("kind: gemini\n    api_key: gemini-provider\n    base_url: {base}"),
                "gemini-2.5-flash",
            ),
        };
        // One attempt per request: the errors below are about their shape, not retries.
        format!("providers:\n  p:\n    {provider}\nmodels:\n  claude-ish:\n    targets:\n      - {{ provider: p, model: {model} }}\n    retries: {{ max_attempts: 1 }}\n")
    }

    /// The upstream's own checks (path, credentials, body rules).
    fn gate(self, r: &switchyard_testkit::Recorded) -> Option<Reply> {
        let accepted = match self {
            Up::Anthropic => antwire::handler("sk-ant-provider")(r),
            Up::OpenAi => oaiwire::openai_handler("sk-openai-provider")(r),
            Up::Gemini => gemwire::handler("gemini-provider")(r),
        };
        (accepted.status != 200).then_some(accepted)
    }
}

struct Rig {
    fake: FakeUpstream,
    g: Running,
}

async fn rig(up: Up, reply: Reply) -> Rig {
    let fake = FakeUpstream::start(move |r| up.gate(r).unwrap_or_else(|| reply.clone())).await;
    let g = gateway(&up.yaml(&fake.url())).await;
    Rig { fake, g }
}

impl Rig {
    async fn post(&self, body: &Value) -> reqwest::Response {
        client()
            .post(url(&self.g, "/v1/messages"))
            .header("x-api-key", CLIENT_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "prompt-caching-2024-07-31")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, body: &Value) -> (u16, Value) {
        let resp = self.post(body).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
        )
    }

    async fn stream(&self, body: &Value) -> (u16, String) {
        let resp = self.post(body).await;
        let status = resp.status().as_u16();
        let mut text = String::new();
        let mut s = resp.bytes_stream();
        while let Some(c) = s.next().await {
            text.push_str(std::str::from_utf8(&c.unwrap()).unwrap());
        }
        (status, text)
    }

    fn upstream(&self) -> switchyard_testkit::Recorded {
        let reqs = self.fake.requests();
        assert_eq!(reqs.len(), 1, "one upstream request");
        reqs.into_iter().next().unwrap()
    }
}

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Get the current weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}})
}

fn ask(stream: bool) -> Value {
    json!({"model": "claude-ish", "max_tokens": 300, "stream": stream, "system": "Be brief.",
           "messages": [{"role": "user", "content": "Hello"}]})
}

fn ask_tools(stream: bool) -> Value {
    json!({"model": "claude-ish", "max_tokens": 300, "stream": stream,
           "tools": [weather_tool()], "tool_choice": {"type": "auto"},
           "messages": [{"role": "user", "content": "What is the weather in Paris?"}]})
}

/// An Anthropic SSE stream folded: checks the event order and names, returns the message
/// rebuilt (content blocks, stop reason, usage).
#[derive(Debug, Default)]
struct Folded {
    text: String,
    /// `(id, name, concatenated partial_json)`.
    tools: Vec<(String, String, String)>,
    stop_reason: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    error: Option<Value>,
}

fn fold_anthropic(raw: &str) -> Folded {
    let mut f = Folded::default();
    let mut names = Vec::new();
    let mut open: Option<(u64, String)> = None;
    for ev in raw.split("\n\n").filter(|e| !e.trim().is_empty()) {
        let name = ev
            .lines()
            .find_map(|l| l.strip_prefix("event: "))
            .unwrap_or_else(|| panic!("every event is named: {ev}"));
        let data: Value = serde_json::from_str(
            ev.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data line"),
        )
        .unwrap();
        assert_eq!(data["type"], name, "event name matches the JSON type");
        names.push(name.to_string());
        match name {
            "message_start" => {
                assert_eq!(data["message"]["role"], "assistant");
                f.input_tokens = data["message"]["usage"]["input_tokens"].as_u64();
            }
            "content_block_start" => {
                assert!(open.is_none(), "blocks do not overlap");
                let idx = data["index"].as_u64().unwrap();
                let block = &data["content_block"];
                let ty = block["type"].as_str().unwrap().to_string();
                if ty == "tool_use" {
                    f.tools.push((
                        block["id"].as_str().unwrap().into(),
                        block["name"].as_str().unwrap().into(),
                        String::new(),
                    ));
                }
                open = Some((idx, ty));
            }
            "content_block_delta" => {
                let (idx, ty) = open.clone().expect("a delta inside a block");
                assert_eq!(data["index"].as_u64(), Some(idx));
                match data["delta"]["type"].as_str().unwrap() {
                    "text_delta" => {
                        assert_eq!(ty, "text");
                        f.text.push_str(data["delta"]["text"].as_str().unwrap());
                    }
                    "input_json_delta" => {
                        assert_eq!(ty, "tool_use");
                        f.tools
                            .last_mut()
                            .unwrap()
                            .2
                            .push_str(data["delta"]["partial_json"].as_str().unwrap());
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                let (idx, _) = open.take().expect("stop closes an open block");
                assert_eq!(data["index"].as_u64(), Some(idx));
            }
            "message_delta" => {
                f.stop_reason = data["delta"]["stop_reason"].as_str().map(str::to_string);
                f.output_tokens = data["usage"]["output_tokens"].as_u64();
                if let Some(i) = data["usage"]["input_tokens"].as_u64() {
                    f.input_tokens = Some(i);
                }
            }
            "error" => f.error = Some(data["error"].clone()),
            "message_stop" | "ping" => {}
            other => panic!("unknown event {other}"),
        }
    }
    if f.error.is_none() {
        assert_eq!(
            names.first().map(String::as_str),
            Some("message_start"),
            "{names:?}"
        );
        assert_eq!(
            names.last().map(String::as_str),
            Some("message_stop"),
            "{names:?}"
        );
    }
    f
}

fn assert_anthropic_error(
    status: u16,
    v: &Value,
    want_status: u16,
    want_type: &str,
    message: &str,
) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["type"], "error", "Anthropic's error shape: {v}");
    assert_eq!(v["error"]["type"], want_type, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(message),
        "{v}"
    );
}

// ---- Anthropic upstream: pass-through ----

#[tokio::test]
async fn anthropic_json_passes_through_with_the_providers_key() {
    let answer = antwire::message(
        "claude-sonnet-4-5-20250929",
        "Hi!",
        &[],
        "end_turn",
        antwire::usage(9, 3),
    )
    .to_string();
    let r = rig(Up::Anthropic, Reply::json(200, answer.clone())).await;
    let body = ask(false);
    let resp = r.post(&body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-model"], "claude-sonnet-4-5");
    assert_eq!(
        resp.text().await.unwrap(),
        answer,
        "the answer passes through unchanged"
    );

    let up = r.upstream();
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(up.header("x-api-key"), Some("sk-ant-provider"));
    assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        up.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    for (name, value) in &up.headers {
        assert!(
            !value.to_str().unwrap_or("").contains(CLIENT_KEY),
            "client key leaked in {name}"
        );
    }
    let sent = serde_json::to_string(&body).unwrap();
    assert_eq!(
        std::str::from_utf8(&up.body).unwrap(),
        sent.replace(r#""model":"claude-ish""#, r#""model":"claude-sonnet-4-5""#),
        "byte-for-byte but the model"
    );
}

#[tokio::test]
async fn anthropic_stream_passes_through_event_for_event() {
    let events = antwire::stream_events(
        "claude-sonnet-4-5",
        &["Hel", "lo"],
        &[("toolu_01", "get_weather", &[r#"{"city":"#, r#""Paris"}"#])],
        "tool_use",
        antwire::usage(9, 12),
    );
    let expected: String = events.iter().map(|(_, e)| e.as_str()).collect();
    let r = rig(Up::Anthropic, Reply::sse(events)).await;
    let (status, text) = r.stream(&ask_tools(true)).await;
    assert_eq!(status, 200);
    assert_eq!(text, expected, "every event unchanged");
    let f = fold_anthropic(&text);
    assert_eq!(f.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(r.upstream().json()["tools"][0]["name"], "get_weather");
}

#[tokio::test]
async fn anthropic_errors_keep_anthropics_shape() {
    for (status, typ, msg) in [
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        (529, "overloaded_error", "Overloaded"),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
        ),
    ] {
        let r = rig(Up::Anthropic, antwire::error(status, typ, msg)).await;
        let (s, v) = r.json(&ask(false)).await;
        assert_anthropic_error(s, &v, status, typ, msg);
    }
}

#[tokio::test]
async fn anthropic_error_event_inside_a_stream_reaches_the_client() {
    let mut ev = antwire::stream_events(
        "claude-sonnet-4-5",
        &["Par"],
        &[],
        "end_turn",
        antwire::usage(5, 1),
    );
    ev.truncate(4);
    ev.push((
        std::time::Duration::ZERO,
        antwire::error_event("overloaded_error", "Overloaded"),
    ));
    let r = rig(Up::Anthropic, Reply::sse(ev)).await;
    let (status, text) = r.stream(&ask(true)).await;
    assert_eq!(status, 200);
    let f = fold_anthropic(&text);
    assert_eq!(f.text, "Par");
    assert_eq!(f.error.unwrap()["type"], "overloaded_error");
}

// ---- OpenAI and Gemini upstreams: translated ----

fn text_reply(up: Up, stream: bool) -> Reply {
    match up {
        Up::OpenAi if stream => Reply::sse(oaiwire::stream_events(
            Flavor::OpenAi,
            "gpt-4o",
            &["Hel", "lo!"],
            &[],
            "stop",
            oaiwire::usage(Flavor::OpenAi, 9, 3),
            true,
        )),
        Up::OpenAi => Reply::json(
            200,
            oaiwire::completion(
                Flavor::OpenAi,
                "gpt-4o",
                "Hello!",
                &[],
                "stop",
                oaiwire::usage(Flavor::OpenAi, 9, 3),
            )
            .to_string(),
        ),
        Up::Gemini if stream => Reply::sse(gemwire::stream_events(
            "gemini-2.5-flash",
            &["Hel", "lo!"],
            &[],
            "STOP",
            gemwire::usage(9, 3),
        )),
        Up::Gemini => Reply::json(
            200,
            gemwire::response(
                "gemini-2.5-flash",
                "Hello!",
                &[],
                "STOP",
                gemwire::usage(9, 3),
            )
            .to_string(),
        ),
        Up::Anthropic => unreachable!("pass-through"),
    }
}

fn tool_reply(up: Up, stream: bool) -> Reply {
    let frags: &[&str] = &[r#"{"city":"#, r#""Paris"}"#];
    let calls = [("call_Paris123", "get_weather", frags)];
    match up {
        Up::OpenAi if stream => Reply::sse(oaiwire::stream_events(
            Flavor::OpenAi,
            "gpt-4o",
            &[],
            &calls,
            "tool_calls",
            oaiwire::usage(Flavor::OpenAi, 30, 12),
            true,
        )),
        Up::OpenAi => Reply::json(
            200,
            oaiwire::completion(
                Flavor::OpenAi,
                "gpt-4o",
                "",
                &calls,
                "tool_calls",
                oaiwire::usage(Flavor::OpenAi, 30, 12),
            )
            .to_string(),
        ),
        Up::Gemini if stream => Reply::sse(gemwire::stream_events(
            "gemini-2.5-flash",
            &[],
            &calls,
            "STOP",
            gemwire::usage(30, 12),
        )),
        Up::Gemini => Reply::json(
            200,
            gemwire::response(
                "gemini-2.5-flash",
                "",
                &calls,
                "STOP",
                gemwire::usage(30, 12),
            )
            .to_string(),
        ),
        Up::Anthropic => unreachable!("pass-through"),
    }
}

/// Where the system prompt, the user text and `max_tokens` landed upstream.
fn assert_translated_request(up: Up, r: &switchyard_testkit::Recorded, stream: bool) {
    let body = r.json();
    let w = match up {
        Up::OpenAi => {
            assert_eq!(r.path, "/v1/chat/completions");
            assert_eq!(r.header("authorization"), Some("Bearer sk-openai-provider"));
            assert_eq!(body["model"], "gpt-4o");
            if stream {
                assert_eq!(
                    body["stream_options"]["include_usage"], true,
                    "usage is always asked"
                );
            }
            view_openai(&body)
        }
        Up::Gemini => {
            let method = if stream {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            assert_eq!(r.path, format!("/v1beta/models/gemini-2.5-flash:{method}"));
            assert_eq!(r.header("x-goog-api-key"), Some("gemini-provider"));
            view_gemini(&body, stream)
        }
        Up::Anthropic => view_messages(&body),
    };
    assert_eq!(w.max_tokens, Some(300), "{body}");
    for (name, value) in &r.headers {
        assert!(
            !value.to_str().unwrap_or("").contains(CLIENT_KEY),
            "client key leaked in {name}"
        );
    }
    if body.to_string().contains("Be brief.") {
        assert_eq!(w.system, vec!["Be brief.".to_string()]);
    }
}

async fn translated_json(up: Up) {
    let r = rig(up, text_reply(up, false)).await;
    let (status, v) = r.json(&ask(false)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["content"], json!([{"type": "text", "text": "Hello!"}]));
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["usage"]["input_tokens"], 9);
    assert_eq!(v["usage"]["output_tokens"], 3);
    let up_req = r.upstream();
    assert_translated_request(up, &up_req, false);
    let w = match up {
        Up::OpenAi => view_openai(&up_req.json()),
        _ => view_gemini(&up_req.json(), false),
    };
    assert_eq!(w.texts("user"), vec!["Hello"]);
}

async fn translated_stream(up: Up) {
    let r = rig(up, text_reply(up, true)).await;
    let (status, text) = r.stream(&ask(true)).await;
    assert_eq!(status, 200, "{text}");
    let f = fold_anthropic(&text);
    assert_eq!(f.text, "Hello!");
    assert_eq!(f.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        (f.input_tokens, f.output_tokens),
        (Some(9), Some(3)),
        "{text}"
    );
    assert_translated_request(up, &r.upstream(), true);
}

async fn translated_tool_use(up: Up) {
    let r = rig(up, tool_reply(up, false)).await;
    let (status, v) = r.json(&ask_tools(false)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["stop_reason"], "tool_use");
    let block = v["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .expect("a tool_use block");
    assert_eq!(block["name"], "get_weather");
    assert_eq!(
        block["input"],
        json!({"city": "Paris"}),
        "input is an object"
    );
    assert!(block["id"].as_str().is_some_and(|s| !s.is_empty()));
    let body = r.upstream().json();
    let w = match up {
        Up::OpenAi => view_openai(&body),
        _ => view_gemini(&body, false),
    };
    assert_eq!(w.tools.len(), 1);
    assert_eq!(w.tools[0].name, "get_weather");
}

async fn translated_stream_tool_use(up: Up) {
    let r = rig(up, tool_reply(up, true)).await;
    let (status, text) = r.stream(&ask_tools(true)).await;
    assert_eq!(status, 200, "{text}");
    let f = fold_anthropic(&text);
    assert_eq!(f.tools.len(), 1, "{text}");
    assert_eq!(f.tools[0].1, "get_weather");
    let input: Value =
        serde_json::from_str(&f.tools[0].2).unwrap_or_else(|e| panic!("{}: {e}", f.tools[0].2));
    assert_eq!(input, json!({"city": "Paris"}));
    assert_eq!(f.stop_reason.as_deref(), Some("tool_use"));
}

async fn translated_tool_result(up: Up) {
    let r = rig(up, text_reply(up, false)).await;
    let body = json!({"model": "claude-ish", "max_tokens": 300, "tools": [weather_tool()], "messages": [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "18 C and sunny"},
            {"type": "text", "text": "And tomorrow?"}]}]});
    let (status, v) = r.json(&body).await;
    assert_eq!(status, 200, "{v}");
    let up_body = r.upstream().json();
    let w = match up {
        Up::OpenAi => view_openai(&up_body),
        _ => view_gemini(&up_body, false),
    };
    let calls = w.calls();
    let results = w.results();
    assert_eq!(calls.len(), 1, "{up_body}");
    assert_eq!(results.len(), 1, "{up_body}");
    assert_eq!(calls[0].args, json!({"city": "Paris"}));
    assert!(results[0].content.contains("18 C and sunny"));
    assert!(results[0].turn > calls[0].turn);
    match up {
        Up::OpenAi => {
            assert_eq!(
                calls[0].id.as_deref(),
                Some("toolu_01A09q90qw90lq917835lq9")
            );
            assert_eq!(
                results[0].id.as_deref(),
                Some("toolu_01A09q90qw90lq917835lq9")
            );
            assert_eq!(results[0].role, "tool");
            // The text after the result follows the tool message as a user message.
            assert_eq!(w.roles(), vec!["user", "assistant", "tool", "user"]);
        }
        _ => assert_eq!(results[0].name.as_deref(), Some("get_weather")),
    }
    assert!(w
        .items()
        .any(|(_, t, i)| t.role == "user" && *i == Item::Text("And tomorrow?".into())));
}

async fn translated_errors(up: Up) {
    let cases: Vec<(Reply, u16, &str, &str)> = match up {
        Up::OpenAi => vec![
            (oaiwire::error(Flavor::OpenAi, 429, "Rate limit reached for gpt-4o", "tokens", "rate_limit_exceeded"), 429, "rate_limit_error", "Rate limit reached for gpt-4o"),
            (oaiwire::error(Flavor::OpenAi, 400, "This model's maximum context length is 128000 tokens.", "invalid_request_error", "context_length_exceeded"), 400, "invalid_request_error", "maximum context length"),
            (oaiwire::error(Flavor::OpenAi, 500, "The server had an error", "server_error", "server_error"), 500, "api_error", "The server had an error"),
        ],
        _ => vec![
            (gemwire::rate_limited("Resource has been exhausted (e.g. check quota).", "1s"), 429, "rate_limit_error", "Resource has been exhausted"),
            (gemwire::error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), 503, "overloaded_error", "The model is overloaded"),
            (gemwire::error(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."), 400, "invalid_request_error", "input token count"),
        ],
    };
    for (reply, status, typ, msg) in cases {
        let r = rig(up, reply.clone()).await;
        let (s, v) = r.json(&ask(false)).await;
        assert_anthropic_error(s, &v, status, typ, msg);
        let r = rig(up, reply).await;
        let (s, text) = r.stream(&ask(true)).await;
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("a stream failing first is a JSON error ({e}): {text}"));
        assert_anthropic_error(s, &v, status, typ, msg);
    }
}

#[tokio::test]
async fn openai_json() {
    translated_json(Up::OpenAi).await;
}
#[tokio::test]
async fn openai_stream() {
    translated_stream(Up::OpenAi).await;
}
#[tokio::test]
async fn openai_tool_use() {
    translated_tool_use(Up::OpenAi).await;
}
#[tokio::test]
async fn openai_stream_tool_use() {
    translated_stream_tool_use(Up::OpenAi).await;
}
#[tokio::test]
async fn openai_tool_result() {
    translated_tool_result(Up::OpenAi).await;
}
#[tokio::test]
async fn openai_errors() {
    translated_errors(Up::OpenAi).await;
}
#[tokio::test]
async fn gemini_json() {
    translated_json(Up::Gemini).await;
}
#[tokio::test]
async fn gemini_stream() {
    translated_stream(Up::Gemini).await;
}
#[tokio::test]
async fn gemini_tool_use() {
    translated_tool_use(Up::Gemini).await;
}
#[tokio::test]
async fn gemini_stream_tool_use() {
    translated_stream_tool_use(Up::Gemini).await;
}
#[tokio::test]
async fn gemini_tool_result() {
    translated_tool_result(Up::Gemini).await;
}
#[tokio::test]
async fn gemini_errors() {
    translated_errors(Up::Gemini).await;
}

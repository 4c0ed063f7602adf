//! The provider conformance suite's harness: one [`Provider`] description per provider kind
//! (how to configure it, how its fake answers a [`Script`], where each request field lands in
//! its wire body — the [`Wire`] view), the rig that starts the provider's fake upstream and the
//! real gateway in front of it, and OpenAI-client helpers. The scenarios (`scenarios.rs`,
//! `errors.rs`) are written once against this and stamped over every provider by
//! [`conformance!`].
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports,
    reason = "test harness: tests fail by panicking; each test binary uses a part of it"
)]

pub mod anthropic_like;
pub mod bedrock;
pub mod cohere;
pub mod errors;
pub mod extras;
pub mod gemini_like;
pub mod openai_like;
pub mod scenarios;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use switchyard_server::Running;
use switchyard_testkit::{FakeUpstream, Recorded, Reply};

/// Why a scripted answer ended, in provider-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fin {
    Stop,
    StopSequence,
    Length,
    ToolCalls,
    ContentFilter,
}

impl Fin {
    /// The OpenAI `finish_reason` the client must see.
    pub fn openai(self) -> &'static str {
        match self {
            Fin::Stop | Fin::StopSequence => "stop",
            Fin::Length => "length",
            Fin::ToolCalls => "tool_calls",
            Fin::ContentFilter => "content_filter",
        }
    }
}

/// What the fake upstream answers, in provider-neutral terms; each [`Provider`] renders it in
/// its wire format.
#[derive(Debug, Clone)]
pub struct Script {
    /// Text pieces (streamed one by one; joined for JSON answers).
    pub pieces: Vec<&'static str>,
    /// Tool calls: function name and argument fragments. Ids are the provider's own.
    pub calls: Vec<(&'static str, Vec<&'static str>)>,
    pub finish: Fin,
    /// Prompt and completion tokens as the provider reports them.
    pub usage: (u64, u64),
}

impl Script {
    pub fn text(pieces: &[&'static str]) -> Self {
        Script {
            pieces: pieces.to_vec(),
            calls: vec![],
            finish: Fin::Stop,
            usage: (11, 7),
        }
    }

    pub fn calls(calls: &[(&'static str, &[&'static str])]) -> Self {
        Script {
            pieces: vec![],
            calls: calls.iter().map(|(n, f)| (*n, f.to_vec())).collect(),
            finish: Fin::ToolCalls,
            usage: (30, 12),
        }
    }

    pub fn finish(mut self, f: Fin) -> Self {
        self.finish = f;
        self
    }

    pub fn usage(mut self, prompt: u64, completion: u64) -> Self {
        self.usage = (prompt, completion);
        self
    }

    pub fn joined(&self) -> String {
        self.pieces.concat()
    }

    /// The calls in the testkit's shape, with ids from `id_of`.
    pub fn wire_calls(
        &self,
        id_of: impl Fn(usize) -> &'static str,
    ) -> Vec<switchyard_testkit::anthropic::Call<'_>> {
        self.calls
            .iter()
            .enumerate()
            .map(|(i, (name, frags))| (id_of(i), *name, frags.as_slice()))
            .collect()
    }
}

/// One item of a turn in the provider-neutral view of an upstream body.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(String),
    Image {
        media_type: String,
        data: String,
    },
    Call {
        id: Option<String>,
        name: String,
        args: Value,
    },
    Result {
        id: Option<String>,
        name: Option<String>,
        content: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// `user`, `assistant` or `tool` (providers with a tool role).
    pub role: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub description: Option<String>,
    pub params: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonMode {
    Object,
    Schema(Value),
}

/// The provider-neutral reading of an upstream request body: each provider's view reads every
/// field from the place its wire format puts it.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    pub system: Vec<String>,
    pub turns: Vec<Turn>,
    pub tools: Vec<ToolDef>,
    /// The native tool choice, as sent.
    pub tool_choice: Option<Value>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub stop: Vec<String>,
    pub json: Option<JsonMode>,
    pub stream: bool,
    pub raw: Value,
}

impl Wire {
    pub fn roles(&self) -> Vec<&str> {
        self.turns.iter().map(|t| t.role.as_str()).collect()
    }

    pub fn items(&self) -> impl Iterator<Item = (usize, &Turn, &Item)> {
        self.turns
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.items.iter().map(move |it| (i, t, it)))
    }

    /// Every text item of `role` turns, in order.
    pub fn texts(&self, role: &str) -> Vec<String> {
        self.items()
            .filter(|(_, t, _)| t.role == role)
            .filter_map(|(_, _, it)| match it {
                Item::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn calls(&self) -> Vec<CallSeen> {
        self.items()
            .filter_map(|(turn, _, it)| match it {
                Item::Call { id, name, args } => Some(CallSeen {
                    turn,
                    id: id.clone(),
                    name: name.clone(),
                    args: args.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    pub fn results(&self) -> Vec<ResultSeen> {
        self.items()
            .filter_map(|(turn, t, it)| match it {
                Item::Result { id, name, content } => Some(ResultSeen {
                    turn,
                    role: t.role.clone(),
                    id: id.clone(),
                    name: name.clone(),
                    content: content.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

/// A tool call found in an upstream body, with the index of its turn.
#[derive(Debug, Clone)]
pub struct CallSeen {
    pub turn: usize,
    pub id: Option<String>,
    pub name: String,
    pub args: Value,
}

/// A tool result found in an upstream body, with its turn's index and role.
#[derive(Debug, Clone)]
pub struct ResultSeen {
    pub turn: usize,
    pub role: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub content: String,
}

/// The error classes a provider produces, as scenarios ask for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrKind {
    RateLimit,
    Overloaded,
    ServerError,
    Auth,
    ContextWindow,
    ContentFilter,
}

/// A scripted upstream failure and the provider message the client must see.
pub struct ErrCase {
    pub reply: Reply,
    pub message: &'static str,
    /// The upstream HTTP status (the status passed to the client for most classes).
    pub status: u16,
}

/// The checks a provider's real service makes before answering (path, credentials, body
/// rules): `Some(refusal)` is the error it would answer instead.
pub type Gate = Box<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;

/// How one provider kind is configured, answers and is read. Every scenario runs through this.
pub trait Provider: Sync {
    /// The provider's own request checks, run by the fake before any scripted answer.
    fn gate(&self) -> Gate;
    /// Label for assertion messages.
    fn label(&self) -> &'static str;
    /// The provider's YAML lines (kind, credentials, `base_url` = `base`).
    fn yaml(&self, base: &str) -> String;
    /// The upstream model the public model `m` targets.
    fn model(&self) -> &'static str;
    /// Served in-process (the `mock` kind): there is no fake upstream to script or inspect.
    fn in_process(&self) -> bool {
        false
    }
    /// The client's body reaches the provider as-is (OpenAI-wire providers).
    fn pass_through(&self) -> bool {
        false
    }
    /// The id this provider gives the `n`th tool call of an answer; `None` when it sends none
    /// (the gateway makes them up).
    fn call_id(&self, n: usize) -> Option<&'static str>;
    /// The fake's answer for `script`.
    fn reply(&self, script: &Script, stream: bool, include_usage: bool) -> Reply;
    /// The fake's answer in JSON mode carrying `json_text` (a forced tool call for providers
    /// that do JSON mode with one).
    fn json_reply(&self, json_text: &'static str, stream: bool) -> Reply {
        let pieces: Vec<&'static str> = if stream {
            let mid = json_text.len() / 2;
            vec![&json_text[..mid], &json_text[mid..]]
        } else {
            vec![json_text]
        };
        self.reply(&Script::text(&pieces), stream, false)
    }
    /// An answer reporting `cached` prompt tokens read from the provider's cache, out of
    /// `prompt`; `None` when the provider reports no cache usage.
    fn cached_reply(
        &self,
        prompt: u64,
        completion: u64,
        cached: u64,
        stream: bool,
    ) -> Option<Reply>;
    /// A stream that breaks after the text piece `text` with an error carrying `message`.
    fn mid_stream_error(&self, text: &'static str, message: &'static str) -> Option<Reply>;
    /// Asserts the method, path and credentials of an upstream request.
    fn check_head(&self, r: &Recorded, stream: bool);
    /// Reads an upstream body.
    fn view(&self, r: &Recorded) -> Wire;
    /// The native tool choice for OpenAI's `auto` / `required` (`None`: not sent).
    fn tool_choice(&self, openai: &str) -> Option<Value>;
    /// The temperature the provider receives for an OpenAI temperature `t` (clamped to 0..=1 by
    /// providers that take no more).
    fn temperature(&self, t: f64) -> f64 {
        t
    }
    /// The argument fragments this provider streams for a call without arguments (Anthropic
    /// sends one empty `input_json_delta`; OpenAI-shaped providers send `{}`).
    fn no_args_fragments(&self) -> &'static [&'static str] {
        &[]
    }
    /// A scripted failure of `kind`, or `None` when this provider has no such error.
    fn error(&self, kind: ErrKind) -> Option<ErrCase>;
    /// A parameter this provider cannot honour (`(field, value)`), or `None` when the client's
    /// body is forwarded as-is.
    fn unsupported_probe(&self) -> Option<(&'static str, Value)>;
}

/// The gateway in front of one provider's fake.
pub struct Rig {
    pub fake: Option<FakeUpstream>,
    pub gateway: Running,
}

/// The whole config: provider `p` (with `extra` provider lines) and public model `m`
/// targeting it (with `model_extra` model lines).
pub fn config(p: &dyn Provider, base: &str, extra: &str, model_extra: &str) -> String {
    let indent = |text: &str, by: &str| {
        let mut out = String::new();
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            out.push_str(by);
            out.push_str(l);
            out.push('\n');
        }
        out
    };
    let provider = indent(&format!("{}\n{extra}", p.yaml(base)), "    ");
    let model = indent(model_extra, "    ");
    format!(
        "providers:\n  p:\n{provider}models:\n  m:\n    targets:\n      - {{ provider: p, model: \"{}\" }}\n{model}",
        p.model()
    )
}

impl Rig {
    /// Starts a fake answering every request with `reply`, and the gateway.
    pub async fn start(p: &dyn Provider, reply: Reply) -> Rig {
        Rig::with(p, move |_| reply.clone(), "", "").await
    }

    /// Starts a fake with `handler` and the gateway, `extra` added to the provider's YAML and
    /// `model_extra` to the model's.
    pub async fn with(
        p: &dyn Provider,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        extra: &str,
        model_extra: &str,
    ) -> Rig {
        if p.in_process() {
            let gateway = crate::common::gateway(&config(p, "", extra, model_extra)).await;
            return Rig {
                fake: None,
                gateway,
            };
        }
        let gate = p.gate();
        let fake = FakeUpstream::start(move |r| gate(r).unwrap_or_else(|| handler(r))).await;
        let gateway = crate::common::gateway(&config(p, &fake.url(), extra, model_extra)).await;
        Rig {
            fake: Some(fake),
            gateway,
        }
    }

    pub fn fake(&self) -> &FakeUpstream {
        self.fake
            .as_ref()
            .expect("this provider has a fake upstream")
    }

    /// The one request the fake received.
    pub fn only_request(&self) -> Recorded {
        let reqs = self.fake().requests();
        assert_eq!(reqs.len(), 1, "expected exactly one upstream request");
        reqs.into_iter().next().unwrap()
    }

    /// POSTs an OpenAI chat body; returns status, headers and the JSON body.
    pub async fn chat(&self, body: &Value) -> (u16, http::HeaderMap, Value) {
        let resp = crate::common::client()
            .post(crate::common::url(&self.gateway, "/v1/chat/completions"))
            .bearer_auth("sk-client-key")
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"));
        (status, headers, v)
    }

    /// POSTs an OpenAI chat body expecting a stream; returns status, headers and the `data:`
    /// payloads (JSON values, `[DONE]` as a string).
    pub async fn chat_stream(&self, body: &Value) -> (u16, http::HeaderMap, Vec<Value>) {
        let resp = crate::common::client()
            .post(crate::common::url(&self.gateway, "/v1/chat/completions"))
            .bearer_auth("sk-client-key")
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut text = String::new();
        let mut s = resp.bytes_stream();
        while let Some(c) = s.next().await {
            text.push_str(std::str::from_utf8(&c.unwrap()).unwrap());
        }
        if status != 200 {
            let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return (status, headers, vec![v]);
        }
        let data = crate::common::sse_data(&text)
            .into_iter()
            .map(|d| serde_json::from_str(&d).unwrap_or(Value::String(d)))
            .collect();
        (status, headers, data)
    }
}

/// What a streamed OpenAI answer adds up to.
#[derive(Debug, Default)]
pub struct Streamed {
    pub text: String,
    /// `(index, id, name, arguments)` per tool call, arguments concatenated.
    pub calls: Vec<(u64, String, String, String)>,
    pub finish: Vec<String>,
    /// Usage chunks (`choices: []` + usage).
    pub usage: Vec<Value>,
    pub done: bool,
    pub errors: Vec<Value>,
    /// Chunks that are not OpenAI chunks: Azure's annotation-only `prompt_filter_results`
    /// chunks (empty `object`, `id`, `model` and `choices`). Set aside so the other scenarios
    /// measure their own concern; `text_stream` asserts there are none.
    pub foreign: Vec<Value>,
}

/// Folds OpenAI stream chunks, asserting the chunk shape on the way: `chat.completion.chunk`
/// objects, the role on the first delta, a tool call's `id`/`type`/`name` only on its first
/// fragment.
pub fn fold_stream(chunks: &[Value]) -> Streamed {
    let mut out = Streamed::default();
    let mut saw_role = false;
    for (n, c) in chunks.iter().enumerate() {
        if c == "[DONE]" {
            assert_eq!(n, chunks.len() - 1, "[DONE] must be the last event");
            out.done = true;
            continue;
        }
        if let Some(e) = c.get("error") {
            out.errors.push(e.clone());
            continue;
        }
        if c.get("prompt_filter_results").is_some()
            && c["choices"].as_array().is_some_and(Vec::is_empty)
            && c.get("usage").is_none_or(Value::is_null)
        {
            out.foreign.push(c.clone());
            continue;
        }
        assert_eq!(c["object"], "chat.completion.chunk", "chunk shape: {c}");
        let choices = c["choices"].as_array().expect("choices is a list");
        if choices.is_empty() {
            if c.get("usage").is_some_and(|u| !u.is_null()) {
                out.usage.push(c["usage"].clone());
            }
            continue;
        }
        for ch in choices {
            assert_eq!(ch["index"], 0);
            let d = &ch["delta"];
            if d.get("role").is_some() {
                assert_eq!(d["role"], "assistant");
                saw_role = true;
            }
            assert!(saw_role, "the first delta carries the role: {c}");
            if let Some(t) = d.get("content").and_then(Value::as_str) {
                out.text.push_str(t);
            }
            for tc in d
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = tc["index"].as_u64().expect("tool call delta has an index");
                let args = tc["function"]["arguments"].as_str().unwrap_or("");
                match out.calls.iter_mut().find(|(i, ..)| *i == index) {
                    Some(call) => {
                        assert!(
                            tc.get("id").is_none() && tc["function"].get("name").is_none(),
                            "only a call's first fragment has id and name: {tc}"
                        );
                        call.3.push_str(args);
                    }
                    None => {
                        assert_eq!(tc["type"], "function", "first fragment: {tc}");
                        let id = tc["id"].as_str().expect("first fragment has an id");
                        let name = tc["function"]["name"].as_str().expect("and a name");
                        assert!(!id.is_empty() && !name.is_empty());
                        out.calls
                            .push((index, id.to_string(), name.to_string(), args.to_string()));
                    }
                }
            }
            if let Some(f) = ch.get("finish_reason").and_then(Value::as_str) {
                out.finish.push(f.to_string());
            }
        }
    }
    out
}

/// The weather tool every tool scenario offers, as the openai SDK sends it.
pub fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string", "description": "City name"}},
                       "required": ["city"], "additionalProperties": false},
        "strict": true}})
}

/// A one-pixel PNG, base64.
pub const PIXEL_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/// Stamps every scenario over one provider: `conformance!(name => ctor; extra: [..])` makes a
/// module `name` with one `#[tokio::test]` per common chat scenario plus the listed extras.
#[macro_export]
macro_rules! conformance {
    ($name:ident => $ctor:expr; extra: [$($extra:ident),* $(,)?]) => {
        mod $name {
            $crate::conformance!(@tests $ctor;
                text, text_stream, system_prompt, multi_turn, image_input, tool_call,
                tool_result_round_trip, parallel_tool_calls, parallel_tool_results,
                stream_tool_call_deltas, stream_parallel_tool_calls, tool_call_without_arguments,
                json_object, json_schema,
                json_schema_stream, stop_sequences, max_tokens, temperature, usage_stream
                $(, $extra)*);
        }
    };
    (@tests $ctor:expr; $($s:ident),*) => {
        $(
            #[tokio::test]
            async fn $s() {
                $crate::conformance::scenarios::$s(&$ctor).await;
            }
        )*
    };
}

/// Stamps the error scenarios over one provider (see [`conformance!`]).
#[macro_export]
macro_rules! conformance_errors {
    ($name:ident => $ctor:expr; [$($s:ident),* $(,)?]) => {
        mod $name {
            $(
                #[tokio::test]
                async fn $s() {
                    $crate::conformance::errors::$s(&$ctor).await;
                }
            )*
        }
    };
}

/// Reads `usage` of an OpenAI response as `(prompt, completion, total)`.
pub fn usage_of(v: &Value) -> (u64, u64, u64) {
    (
        v["prompt_tokens"].as_u64().unwrap_or(u64::MAX),
        v["completion_tokens"].as_u64().unwrap_or(u64::MAX),
        v["total_tokens"].as_u64().unwrap_or(u64::MAX),
    )
}

/// The upstream model and provider headers every answer carries.
pub fn assert_route_headers(p: &dyn Provider, h: &http::HeaderMap) {
    assert_eq!(h["x-switchyard-provider"], "p", "{}", p.label());
    assert_eq!(h["x-switchyard-model"], p.model(), "{}", p.label());
}

/// Waits a little for a fake to record a streamed request (it records before answering, so
/// this only guards against scheduling).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

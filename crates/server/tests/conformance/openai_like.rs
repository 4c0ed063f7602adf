//! OpenAI-wire providers: `openai`, `azure_openai` and `openai_compatible` (the client's body
//! passes through) and `mistral` (translated: OpenAI bodies with Mistral's differences), and
//! the view of an OpenAI Chat Completions body.

use serde_json::{json, Value};
use switchyard_testkit::mistral::{self as wire, Flavor};
use switchyard_testkit::{Recorded, Reply};

use super::{ErrCase, ErrKind, Item, JsonMode, Provider, Script, ToolDef, Turn, Wire};

/// `data:<media>;base64,<data>` -> `(media, data)`.
pub fn split_data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media = meta.strip_suffix(";base64")?;
    Some((media.to_string(), data.to_string()))
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// Reads an OpenAI Chat Completions body (also Mistral's and, for the shared parts, Cohere's).
/// Asserts OpenAI's rule that tool-call arguments are a JSON *string*.
pub fn view_openai(body: &Value) -> Wire {
    let mut w = Wire {
        raw: body.clone(),
        ..Wire::default()
    };
    for m in body["messages"].as_array().expect("messages is a list") {
        let role = m["role"].as_str().expect("role is a string");
        let content = m.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => w.system.push(text_of(content)),
            "user" => {
                let mut items = Vec::new();
                match content {
                    Value::String(s) => items.push(Item::Text(s.clone())),
                    Value::Array(parts) => {
                        for p in parts {
                            match p["type"].as_str() {
                                Some("text") => {
                                    items.push(Item::Text(p["text"].as_str().unwrap().into()))
                                }
                                Some("image_url") => {
                                    let url = p["image_url"]["url"].as_str().unwrap();
                                    let (media_type, data) =
                                        split_data_url(url).expect("image sent as a data URL");
                                    items.push(Item::Image { media_type, data });
                                }
                                other => panic!("unexpected user part {other:?}"),
                            }
                        }
                    }
                    other => panic!("unexpected user content {other}"),
                }
                w.turns.push(Turn {
                    role: "user".into(),
                    items,
                });
            }
            "assistant" => {
                let mut items = Vec::new();
                let text = text_of(content);
                if !text.is_empty() {
                    items.push(Item::Text(text));
                }
                for c in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let args = c["function"]["arguments"]
                        .as_str()
                        .unwrap_or_else(|| panic!("arguments must be a JSON string: {c}"));
                    items.push(Item::Call {
                        id: c["id"].as_str().map(str::to_string),
                        name: c["function"]["name"].as_str().unwrap().to_string(),
                        args: serde_json::from_str(args).unwrap_or(Value::String(args.into())),
                    });
                }
                w.turns.push(Turn {
                    role: "assistant".into(),
                    items,
                });
            }
            "tool" => w.turns.push(Turn {
                role: "tool".into(),
                items: vec![Item::Result {
                    id: m["tool_call_id"].as_str().map(str::to_string),
                    name: None,
                    content: text_of(content),
                }],
            }),
            other => panic!("unexpected role {other}"),
        }
    }
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert_eq!(t["type"], "function");
        let f = &t["function"];
        w.tools.push(ToolDef {
            name: f["name"].as_str().unwrap().to_string(),
            description: f["description"].as_str().map(str::to_string),
            params: f["parameters"].clone(),
        });
    }
    w.tool_choice = body.get("tool_choice").cloned();
    w.max_tokens = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64);
    w.temperature = body.get("temperature").and_then(Value::as_f64);
    w.stop = match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        _ => vec![],
    };
    w.json = match body
        .pointer("/response_format/type")
        .and_then(Value::as_str)
    {
        Some("json_object") => Some(JsonMode::Object),
        Some("json_schema") => Some(JsonMode::Schema(
            body["response_format"]["json_schema"]["schema"].clone(),
        )),
        _ => None,
    };
    w.stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    w
}

/// Which OpenAI-wire provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiKind {
    OpenAi,
    Azure,
    Compatible,
    Mistral,
}

/// An OpenAI-wire provider kind.
pub struct OpenAiLike(pub OpenAiKind);

impl OpenAiLike {
    fn flavor(&self) -> Flavor {
        match self.0 {
            OpenAiKind::Azure => Flavor::Azure,
            OpenAiKind::Mistral => Flavor::Mistral,
            OpenAiKind::OpenAi | OpenAiKind::Compatible => Flavor::OpenAi,
        }
    }

    fn native_finish(&self, f: super::Fin) -> &'static str {
        use super::Fin::*;
        match f {
            Stop | StopSequence => "stop",
            Length => "length",
            ToolCalls => "tool_calls",
            ContentFilter => "content_filter",
        }
    }

    fn path(&self) -> &'static str {
        match self.0 {
            OpenAiKind::Azure => {
                "/openai/deployments/gpt-4o-deploy/chat/completions?api-version=2024-10-21"
            }
            _ => "/v1/chat/completions",
        }
    }

    fn err(&self, status: u16, message: &'static str, typ: &str, code: &str) -> ErrCase {
        ErrCase {
            reply: wire::error(self.flavor(), status, message, typ, code),
            message,
            status,
        }
    }
}

impl Provider for OpenAiLike {
    fn gate(&self) -> super::Gate {
        let flavor = self.flavor();
        let path = self.path();
        let (header, value) = match self.0 {
            OpenAiKind::OpenAi => ("authorization", "Bearer sk-openai-test"),
            OpenAiKind::Azure => ("api-key", "azure-key-test"),
            OpenAiKind::Compatible => ("authorization", "Bearer sk-compat-test"),
            OpenAiKind::Mistral => ("authorization", "Bearer mistral-key-test"),
        };
        Box::new(move |r| {
            if r.path != path {
                return Some(wire::error(
                    flavor,
                    404,
                    "Invalid URL",
                    "invalid_request_error",
                    "unknown_url",
                ));
            }
            if r.header(header) != Some(value) {
                return Some(wire::error(
                    flavor,
                    401,
                    "Incorrect API key provided.",
                    "invalid_request_error",
                    "invalid_api_key",
                ));
            }
            wire::check_body(flavor, &r.json())
        })
    }

    fn label(&self) -> &'static str {
        match self.0 {
            OpenAiKind::OpenAi => "openai",
            OpenAiKind::Azure => "azure_openai",
            OpenAiKind::Compatible => "openai_compatible",
            OpenAiKind::Mistral => "mistral",
        }
    }

    fn yaml(&self, base: &str) -> String {
        match self.0 {
            OpenAiKind::OpenAi => {
                format!("kind: openai\napi_key: sk-openai-test\nbase_url: {base}/v1")
            }
            OpenAiKind::Azure => format!(
                "kind: azure_openai\napi_key: azure-key-test\nbase_url: {base}\napi_version: \"2024-10-21\""
            ),
            OpenAiKind::Compatible => {
                format!("kind: openai_compatible\napi_key: sk-compat-test\nbase_url: {base}/v1")
            }
            OpenAiKind::Mistral => {
                format!("kind: mistral\napi_key: mistral-key-test\nbase_url: {base}/v1")
            }
        }
    }

    fn model(&self) -> &'static str {
        match self.0 {
            OpenAiKind::OpenAi => "gpt-4o",
            OpenAiKind::Azure => "gpt-4o-deploy",
            OpenAiKind::Compatible => "llama-3.1-8b-instruct",
            OpenAiKind::Mistral => "mistral-large-latest",
        }
    }

    fn pass_through(&self) -> bool {
        self.0 != OpenAiKind::Mistral
    }

    fn call_id(&self, n: usize) -> Option<&'static str> {
        let ids: [&'static str; 2] = match self.0 {
            OpenAiKind::Mistral => ["D681PevKs", "Xz9QpL2mN"],
            _ => [
                "call_FthC9qRpsL5kBpwwyw6c7j4k",
                "call_5sFZs4DCt4G8cnKkWiQPXr6Q",
            ],
        };
        ids.get(n).copied()
    }

    fn reply(&self, s: &Script, stream: bool, include_usage: bool) -> Reply {
        let calls = s.wire_calls(|i| self.call_id(i).unwrap());
        let usage = wire::usage(self.flavor(), s.usage.0, s.usage.1);
        let finish = self.native_finish(s.finish);
        if stream {
            Reply::sse(wire::stream_events(
                self.flavor(),
                self.model(),
                &s.pieces,
                &calls,
                finish,
                usage,
                include_usage,
            ))
        } else {
            let body = wire::completion(
                self.flavor(),
                self.model(),
                &s.joined(),
                &calls,
                finish,
                usage,
            );
            Reply::json(200, body.to_string())
        }
    }

    fn cached_reply(
        &self,
        prompt: u64,
        completion: u64,
        cached: u64,
        stream: bool,
    ) -> Option<Reply> {
        if self.0 == OpenAiKind::Mistral {
            return None;
        }
        let mut usage = wire::usage(self.flavor(), prompt, completion);
        usage["prompt_tokens_details"]["cached_tokens"] = json!(cached);
        Some(if stream {
            Reply::sse(wire::stream_events(
                self.flavor(),
                self.model(),
                &["Cached."],
                &[],
                "stop",
                usage,
                true,
            ))
        } else {
            let body = wire::completion(self.flavor(), self.model(), "Cached.", &[], "stop", usage);
            Reply::json(200, body.to_string())
        })
    }

    fn mid_stream_error(&self, text: &'static str, message: &'static str) -> Option<Reply> {
        let mut ev = wire::stream_events(
            self.flavor(),
            self.model(),
            &[text],
            &[],
            "stop",
            json!({}),
            false,
        );
        // Keep the role chunk (after Azure's annotation chunk) and the text chunk; then the
        // error OpenAI sends inside a stream, and the connection closes.
        let keep = if self.0 == OpenAiKind::Azure { 3 } else { 2 };
        ev.truncate(keep);
        ev.push((
            std::time::Duration::ZERO,
            format!(
                "data: {}\n\n",
                json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}})
            ),
        ));
        Some(Reply::sse(ev))
    }

    fn check_head(&self, r: &Recorded, stream: bool) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, self.path(), "{}", self.label());
        match self.0 {
            OpenAiKind::Azure => {
                assert_eq!(r.header("api-key"), Some("azure-key-test"));
                assert_eq!(
                    r.header("authorization"),
                    None,
                    "no bearer on Azure key auth"
                );
            }
            OpenAiKind::OpenAi => {
                assert_eq!(r.header("authorization"), Some("Bearer sk-openai-test"))
            }
            OpenAiKind::Compatible => {
                assert_eq!(r.header("authorization"), Some("Bearer sk-compat-test"))
            }
            OpenAiKind::Mistral => {
                assert_eq!(r.header("authorization"), Some("Bearer mistral-key-test"))
            }
        }
        let body = r.json();
        assert_eq!(
            body["model"],
            self.model(),
            "the upstream model is in the body"
        );
        assert_eq!(
            body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            stream
        );
        if self.0 == OpenAiKind::Mistral {
            for field in ["max_completion_tokens", "stream_options", "seed"] {
                assert!(
                    body.get(field).is_none(),
                    "Mistral refuses `{field}`: {body}"
                );
            }
        }
    }

    fn view(&self, r: &Recorded) -> Wire {
        let w = view_openai(&r.json());
        if self.0 == OpenAiKind::Mistral {
            for c in w.calls() {
                let id = c.id.expect("Mistral tool calls carry ids");
                assert!(
                    wire::is_mistral_id(&id),
                    "Mistral wants 9-char ids, got {id}"
                );
            }
            for r in w.results() {
                let id = r.id.expect("Mistral tool results carry ids");
                assert!(
                    wire::is_mistral_id(&id),
                    "Mistral wants 9-char ids, got {id}"
                );
            }
        }
        w
    }

    fn tool_choice(&self, openai: &str) -> Option<Value> {
        match (self.0, openai) {
            (OpenAiKind::Mistral, "required") => Some(json!("any")),
            _ => Some(json!(openai)),
        }
    }

    fn no_args_fragments(&self) -> &'static [&'static str] {
        &["{}"]
    }

    fn error(&self, kind: ErrKind) -> Option<ErrCase> {
        let a = self.0 == OpenAiKind::Azure;
        let m = self.0 == OpenAiKind::Mistral;
        Some(match kind {
            ErrKind::RateLimit if a => self.err(429, "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current tier. Please retry after 1 second.", "", "429"),
            ErrKind::RateLimit if m => self.err(429, "Requests rate limit exceeded", "rate_limited", "1300"),
            ErrKind::RateLimit => self.err(429, "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29964, Requested 512.", "tokens", "rate_limit_exceeded"),
            ErrKind::Overloaded => self.err(503, "The engine is currently overloaded, please try again later.", "server_error", "server_error"),
            ErrKind::ServerError if a => self.err(500, "The server had an error while processing your request. Sorry about that!", "", "InternalServerError"),
            ErrKind::ServerError => self.err(500, "The server had an error while processing your request. Sorry about that!", "server_error", "server_error"),
            ErrKind::Auth if a => self.err(401, "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.", "", "401"),
            ErrKind::Auth if m => self.err(401, "Unauthorized", "invalid_request_error", "1000"),
            ErrKind::Auth => self.err(401, "Incorrect API key provided: sk-opena*test. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"),
            ErrKind::ContextWindow if m => self.err(400, "Prompt contains 40283 tokens and 0 draft tokens, too large for model with 32768 maximum context length", "invalid_request_message_error", "3051"),
            ErrKind::ContextWindow => self.err(400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.", "invalid_request_error", "context_length_exceeded"),
            ErrKind::ContentFilter if m => return None,
            ErrKind::ContentFilter => self.err(400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.", "invalid_request_error", "content_filter"),
        })
    }

    fn unsupported_probe(&self) -> Option<(&'static str, Value)> {
        match self.0 {
            OpenAiKind::Mistral => Some(("user", json!({"user": "user-1234"}))),
            _ => None,
        }
    }
}

//! `cohere`: v2 Chat, and the view of a v2 chat body (OpenAI-like messages with `tool_plan`,
//! upper-case `tool_choice`, `stop_sequences`, `p`/`k`).

use serde_json::{json, Value};
use switchyard_testkit::{cohere as wire, Recorded, Reply};

use super::openai_like::split_data_url;
use super::{ErrCase, ErrKind, Fin, Item, JsonMode, Provider, Script, ToolDef, Turn, Wire};

const CALL_IDS: [&str; 2] = ["get_weather_k5ws2vcjq0hz", "get_weather_7rmm2bq5tdf1"];

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

/// Reads a Cohere v2 chat body.
pub fn view_cohere(body: &Value) -> Wire {
    let mut w = Wire {
        raw: body.clone(),
        ..Wire::default()
    };
    for m in body["messages"].as_array().expect("messages is a list") {
        let content = m.get("content").unwrap_or(&Value::Null);
        match m["role"].as_str().unwrap() {
            "system" => w.system.push(text_of(content)),
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
                                    let (media_type, data) =
                                        split_data_url(p["image_url"]["url"].as_str().unwrap())
                                            .expect("inline image as a data URL");
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
                // Text beside tool calls goes as the `tool_plan`.
                let text = m
                    .get("tool_plan")
                    .and_then(Value::as_str)
                    .map_or_else(|| text_of(content), str::to_string);
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
                        .expect("arguments are a JSON string");
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
        let f = &t["function"];
        w.tools.push(ToolDef {
            name: f["name"].as_str().unwrap().to_string(),
            description: f["description"].as_str().map(str::to_string),
            params: f["parameters"].clone(),
        });
    }
    w.tool_choice = body.get("tool_choice").cloned();
    w.max_tokens = body.get("max_tokens").and_then(Value::as_u64);
    w.temperature = body.get("temperature").and_then(Value::as_f64);
    w.stop = body
        .get("stop_sequences")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    if let Some(rf) = body.get("response_format") {
        assert_eq!(rf["type"], "json_object", "Cohere's JSON mode type");
        w.json = Some(match rf.get("json_schema") {
            Some(s) => JsonMode::Schema(s.clone()),
            None => JsonMode::Object,
        });
    }
    w.stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    w
}

fn native_finish(f: Fin) -> &'static str {
    match f {
        Fin::Stop => "COMPLETE",
        Fin::StopSequence => "STOP_SEQUENCE",
        Fin::Length => "MAX_TOKENS",
        Fin::ToolCalls => "TOOL_CALL",
        Fin::ContentFilter => panic!("Cohere has no content-filter finish reason"),
    }
}

pub struct Cohere;

impl Cohere {
    fn err(status: u16, message: &'static str) -> ErrCase {
        ErrCase {
            reply: wire::error(status, message),
            message,
            status,
        }
    }
}

impl Provider for Cohere {
    fn gate(&self) -> super::Gate {
        Box::new(|r| {
            if r.path != "/v2/chat" {
                return Some(wire::error(404, "not found"));
            }
            if r.header("authorization") != Some("Bearer co-key-test") {
                return Some(wire::error(401, "invalid api token"));
            }
            wire::check_body(&r.json())
        })
    }

    fn label(&self) -> &'static str {
        "cohere"
    }

    fn yaml(&self, base: &str) -> String {
        format!("kind: cohere\napi_key: co-key-test\nbase_url: {base}")
    }

    fn model(&self) -> &'static str {
        "command-a-03-2025"
    }

    fn call_id(&self, n: usize) -> Option<&'static str> {
        CALL_IDS.get(n).copied()
    }

    fn reply(&self, s: &Script, stream: bool, _include_usage: bool) -> Reply {
        let calls = s.wire_calls(|i| CALL_IDS[i]);
        let usage = wire::usage(s.usage.0, s.usage.1);
        let fin = native_finish(s.finish);
        if stream {
            Reply::sse(wire::stream_events(&s.pieces, &calls, fin, usage))
        } else {
            Reply::json(200, wire::chat(&s.joined(), &calls, fin, usage).to_string())
        }
    }

    fn cached_reply(
        &self,
        _prompt: u64,
        _completion: u64,
        _cached: u64,
        _stream: bool,
    ) -> Option<Reply> {
        None
    }

    fn mid_stream_error(&self, text: &'static str, message: &'static str) -> Option<Reply> {
        let mut ev = wire::stream_events(&[text], &[], "COMPLETE", wire::usage(5, 1));
        // message-start, content-start, one delta; then a message-end reporting the failure.
        ev.truncate(3);
        ev.push((
            std::time::Duration::ZERO,
            wire::event(&json!({"type": "message-end",
                "delta": {"finish_reason": "ERROR", "error": message, "usage": wire::usage(5, 1)}})),
        ));
        Some(Reply::sse(ev))
    }

    fn check_head(&self, r: &Recorded, stream: bool) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v2/chat");
        assert_eq!(r.header("authorization"), Some("Bearer co-key-test"));
        let body = r.json();
        assert_eq!(body["model"], self.model());
        assert_eq!(
            body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            stream
        );
    }

    fn view(&self, r: &Recorded) -> Wire {
        view_cohere(&r.json())
    }

    fn tool_choice(&self, openai: &str) -> Option<Value> {
        match openai {
            "required" => Some(json!("REQUIRED")),
            "none" => Some(json!("NONE")),
            _ => None,
        }
    }

    fn no_args_fragments(&self) -> &'static [&'static str] {
        &["{}"]
    }

    fn error(&self, kind: ErrKind) -> Option<ErrCase> {
        Some(match kind {
            ErrKind::RateLimit => Self::err(429, "You are using a Trial key, which is limited to 10 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. Contact us on 'https://discord.gg/XW44jPfYJu' or email us at support@cohere.com with any questions"),
            ErrKind::Overloaded => Self::err(503, "service unavailable: the model is over capacity, please retry"),
            ErrKind::ServerError => Self::err(500, "internal server error, this has been reported to our developers. id 3f5c5e5c2a4f"),
            ErrKind::Auth => Self::err(401, "invalid api token"),
            ErrKind::ContextWindow => Self::err(400, "too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 130512. Try using a shorter prompt, or enabling prompt truncating."),
            ErrKind::ContentFilter => return None,
        })
    }

    fn unsupported_probe(&self) -> Option<(&'static str, Value)> {
        Some(("logprobs", json!({"logprobs": true})))
    }
}

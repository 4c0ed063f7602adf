//! Providers speaking Anthropic's Messages body: `anthropic`, and Claude on `vertex`
//! (`rawPredict`: no `model` in the body, `anthropic_version: vertex-2023-10-16`), and the view
//! of a Messages body.

use serde_json::{json, Value};
use switchyard_testkit::{anthropic as wire, gemini, vertex, Recorded, Reply};

use super::{ErrCase, ErrKind, Fin, Item, JsonMode, Provider, Script, ToolDef, Turn, Wire};

/// The tool the gateway forces for JSON mode.
pub const JSON_TOOL: &str = "switchyard_json_response";

/// Reads a Messages body, asserting Anthropic's rules on the way: roles alternate starting with
/// `user`, no empty text blocks, `tool_result` blocks first in their turn, `tool_use.input` an
/// object.
pub fn view_messages(body: &Value) -> Wire {
    let mut w = Wire {
        raw: body.clone(),
        ..Wire::default()
    };
    match body.get("system") {
        None => {}
        Some(Value::String(s)) => w.system.push(s.clone()),
        Some(Value::Array(blocks)) => {
            for b in blocks {
                assert_eq!(b["type"], "text", "system blocks are text");
                w.system.push(b["text"].as_str().unwrap().to_string());
            }
        }
        Some(other) => panic!("system must be a string or text blocks: {other}"),
    }
    let messages = body["messages"].as_array().expect("messages is a list");
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap();
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        assert_eq!(role, expected, "turns alternate starting with user: {body}");
        let blocks = match &m["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(b) => b.clone(),
            other => panic!("content must be a string or blocks: {other}"),
        };
        let mut seen_other = false;
        let mut items = Vec::new();
        for b in &blocks {
            match b["type"].as_str().unwrap() {
                "text" => {
                    let t = b["text"].as_str().unwrap();
                    assert!(!t.is_empty(), "Anthropic refuses empty text blocks");
                    seen_other = true;
                    items.push(Item::Text(t.to_string()));
                }
                "image" => {
                    seen_other = true;
                    assert_eq!(b["source"]["type"], "base64");
                    items.push(Item::Image {
                        media_type: b["source"]["media_type"].as_str().unwrap().into(),
                        data: b["source"]["data"].as_str().unwrap().into(),
                    });
                }
                "tool_use" => {
                    seen_other = true;
                    assert!(b["input"].is_object(), "tool_use.input is an object: {b}");
                    items.push(Item::Call {
                        id: b["id"].as_str().map(str::to_string),
                        name: b["name"].as_str().unwrap().to_string(),
                        args: b["input"].clone(),
                    });
                }
                "tool_result" => {
                    assert!(!seen_other, "tool_result blocks come first in a turn: {m}");
                    let content = match &b["content"] {
                        Value::String(s) => s.clone(),
                        Value::Array(parts) => parts
                            .iter()
                            .filter_map(|p| p["text"].as_str())
                            .collect::<Vec<_>>()
                            .join(""),
                        _ => String::new(),
                    };
                    items.push(Item::Result {
                        id: b["tool_use_id"].as_str().map(str::to_string),
                        name: None,
                        content,
                    });
                }
                other => panic!("unexpected block type {other}"),
            }
        }
        w.turns.push(Turn {
            role: role.to_string(),
            items,
        });
    }
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = t["name"].as_str().unwrap().to_string();
        let params = t["input_schema"].clone();
        if name == JSON_TOOL {
            w.json = Some(if params == json!({"type": "object"}) {
                JsonMode::Object
            } else {
                JsonMode::Schema(params)
            });
            continue;
        }
        w.tools.push(ToolDef {
            name,
            description: t["description"].as_str().map(str::to_string),
            params,
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
    w.stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    w
}

/// `anthropic`, or Claude on `vertex`.
pub struct AnthropicLike {
    pub vertex: bool,
}

pub const ANTHROPIC: AnthropicLike = AnthropicLike { vertex: false };
pub const VERTEX_CLAUDE: AnthropicLike = AnthropicLike { vertex: true };

const CALL_IDS: [&str; 2] = [
    "toolu_01A09q90qw90lq917835lq9",
    "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
];

fn native_finish(f: Fin) -> &'static str {
    match f {
        Fin::Stop => "end_turn",
        Fin::StopSequence => "stop_sequence",
        Fin::Length => "max_tokens",
        Fin::ToolCalls => "tool_use",
        Fin::ContentFilter => "refusal",
    }
}

impl AnthropicLike {
    fn path(&self, stream: bool) -> String {
        if self.vertex {
            vertex::claude_path("test-project", "us-east5", self.model(), stream)
        } else {
            "/v1/messages".to_string()
        }
    }

    fn answer(
        &self,
        text: &str,
        calls: &[wire::Call<'_>],
        fin: &str,
        usage: Value,
        stream: bool,
    ) -> Reply {
        if stream {
            let pieces: Vec<&str> = if text.is_empty() { vec![] } else { vec![text] };
            Reply::sse(wire::stream_events(
                self.model(),
                &pieces,
                calls,
                fin,
                usage,
            ))
        } else {
            Reply::json(
                200,
                wire::message(self.model(), text, calls, fin, usage).to_string(),
            )
        }
    }

    fn err(&self, status: u16, typ: &str, message: &'static str) -> ErrCase {
        ErrCase {
            reply: wire::error(status, typ, message),
            message,
            status,
        }
    }
}

impl Provider for AnthropicLike {
    fn gate(&self) -> super::Gate {
        if self.vertex {
            let h = vertex::handler("ya29.test-access-token", "test-project", "us-east5");
            // The fake Vertex answers an accepted request itself; only its refusals (4xx from
            // the checks) matter here.
            return Box::new(move |r| {
                let reply = h(r);
                (reply.status != 200).then_some(reply)
            });
        }
        Box::new(|r| wire::check_request(r, "sk-ant-test"))
    }

    fn label(&self) -> &'static str {
        if self.vertex {
            "vertex (claude)"
        } else {
            "anthropic"
        }
    }

    fn yaml(&self, base: &str) -> String {
        if self.vertex {
            format!("kind: vertex\nproject: test-project\nlocation: us-east5\naccess_token: ya29.test-access-token\nbase_url: {base}")
        } else {
            format!("kind: anthropic\napi_key: sk-ant-test\nbase_url: {base}")
        }
    }

    fn model(&self) -> &'static str {
        if self.vertex {
            "claude-sonnet-4-5@20250929"
        } else {
            "claude-sonnet-4-5"
        }
    }

    fn call_id(&self, n: usize) -> Option<&'static str> {
        CALL_IDS.get(n).copied()
    }

    fn reply(&self, s: &Script, stream: bool, _include_usage: bool) -> Reply {
        let calls = s.wire_calls(|i| CALL_IDS[i]);
        let usage = wire::usage(s.usage.0, s.usage.1);
        let fin = native_finish(s.finish);
        if stream {
            Reply::sse(wire::stream_events(
                self.model(),
                &s.pieces,
                &calls,
                fin,
                usage,
            ))
        } else {
            let mut m = wire::message(self.model(), &s.joined(), &calls, fin, usage);
            if s.finish == Fin::StopSequence {
                m["stop_sequence"] = json!("END");
            }
            Reply::json(200, m.to_string())
        }
    }

    fn json_reply(&self, json_text: &'static str, stream: bool) -> Reply {
        let mid = json_text.len() / 2;
        let frags = [&json_text[..mid], &json_text[mid..]];
        let calls = [("toolu_01JsonJsonJsonJsonJsonJs", JSON_TOOL, &frags[..])];
        self.answer("", &calls, "tool_use", wire::usage(20, 9), stream)
    }

    fn cached_reply(
        &self,
        prompt: u64,
        completion: u64,
        cached: u64,
        stream: bool,
    ) -> Option<Reply> {
        // Anthropic's input_tokens excludes cache reads and writes: split `prompt` into fresh
        // input, 2 written tokens and `cached` read ones.
        let usage = wire::usage_cached(prompt - cached - 2, completion, cached, 2);
        Some(self.answer("Cached.", &[], "end_turn", usage, stream))
    }

    fn mid_stream_error(&self, text: &'static str, message: &'static str) -> Option<Reply> {
        let mut ev = wire::stream_events(self.model(), &[text], &[], "end_turn", wire::usage(5, 1));
        // message_start, ping, content_block_start, one delta; then the error event.
        ev.truncate(4);
        ev.push((
            std::time::Duration::ZERO,
            wire::error_event("overloaded_error", message),
        ));
        Some(Reply::sse(ev))
    }

    fn check_head(&self, r: &Recorded, stream: bool) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, self.path(stream), "{}", self.label());
        let body = r.json();
        if self.vertex {
            assert_eq!(
                r.header("authorization"),
                Some("Bearer ya29.test-access-token")
            );
            assert!(body.get("model").is_none(), "no model in a rawPredict body");
            assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
        } else {
            assert_eq!(r.header("x-api-key"), Some("sk-ant-test"));
            assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
            assert_eq!(r.header("authorization"), None);
            assert_eq!(body["model"], self.model());
        }
        assert!(
            body["max_tokens"].as_u64().is_some(),
            "max_tokens is required"
        );
        assert_eq!(
            body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            stream
        );
    }

    fn view(&self, r: &Recorded) -> Wire {
        view_messages(&r.json())
    }

    fn tool_choice(&self, openai: &str) -> Option<Value> {
        Some(match openai {
            "required" => json!({"type": "any"}),
            other => json!({"type": other}),
        })
    }

    fn temperature(&self, t: f64) -> f64 {
        t.min(1.0)
    }

    fn error(&self, kind: ErrKind) -> Option<ErrCase> {
        Some(match kind {
            ErrKind::RateLimit if self.vertex => {
                let message = "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-sonnet-4-5. Please submit a quota increase request.";
                ErrCase {
                    reply: gemini::error(429, "RESOURCE_EXHAUSTED", message),
                    message,
                    status: 429,
                }
            }
            ErrKind::RateLimit => self.err(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage."),
            ErrKind::Overloaded => self.err(529, "overloaded_error", "Overloaded"),
            ErrKind::ServerError => self.err(500, "api_error", "Internal server error"),
            ErrKind::Auth if self.vertex => ErrCase {
                reply: vertex::unauthenticated(),
                message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                status: 401,
            },
            ErrKind::Auth => self.err(401, "authentication_error", "invalid x-api-key"),
            ErrKind::ContextWindow => self.err(400, "invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"),
            ErrKind::ContentFilter => return None,
        })
    }

    fn unsupported_probe(&self) -> Option<(&'static str, Value)> {
        Some(("seed", json!({"seed": 7})))
    }
}

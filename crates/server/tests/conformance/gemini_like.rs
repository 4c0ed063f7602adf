//! Providers speaking Gemini's `GenerateContentRequest`: `gemini` (AI Studio, key in
//! `x-goog-api-key`) and Gemini models on `vertex` (project/location paths, bearer token), and
//! the view of a Gemini body.

use serde_json::{json, Value};
use switchyard_testkit::{gemini as wire, vertex, Recorded, Reply};

use super::{ErrCase, ErrKind, Fin, Item, JsonMode, Provider, Script, ToolDef, Turn, Wire};

/// Reads a Gemini body, asserting Gemini's rules on the way: roles `user`/`model` only,
/// `functionResponse.response` an object, tool parameters without the JSON-Schema keywords
/// Gemini refuses.
pub fn view_gemini(body: &Value, stream: bool) -> Wire {
    let mut w = Wire {
        raw: body.clone(),
        stream,
        ..Wire::default()
    };
    for p in body
        .pointer("/systemInstruction/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.system.push(p["text"].as_str().unwrap().to_string());
    }
    for c in body["contents"].as_array().expect("contents is a list") {
        let role = match c["role"].as_str() {
            Some("user") => "user",
            Some("model") => "assistant",
            other => panic!("Gemini roles are user and model, got {other:?}"),
        };
        let mut items = Vec::new();
        for p in c["parts"].as_array().expect("parts is a list") {
            if p.get("thought") == Some(&json!(true)) {
                continue;
            }
            if let Some(t) = p.get("text").and_then(Value::as_str) {
                items.push(Item::Text(t.to_string()));
            } else if let Some(d) = p.get("inlineData") {
                items.push(Item::Image {
                    media_type: d["mimeType"].as_str().unwrap().into(),
                    data: d["data"].as_str().unwrap().into(),
                });
            } else if let Some(f) = p.get("functionCall") {
                assert!(f["args"].is_object(), "functionCall.args is an object: {f}");
                items.push(Item::Call {
                    id: f.get("id").and_then(Value::as_str).map(str::to_string),
                    name: f["name"].as_str().unwrap().to_string(),
                    args: f["args"].clone(),
                });
            } else if let Some(f) = p.get("functionResponse") {
                let resp = &f["response"];
                assert!(
                    resp.is_object(),
                    "functionResponse.response is an object: {f}"
                );
                let content = match resp.get("result").or_else(|| resp.get("content")) {
                    Some(Value::String(s)) => s.clone(),
                    _ => resp.to_string(),
                };
                items.push(Item::Result {
                    id: f.get("id").and_then(Value::as_str).map(str::to_string),
                    name: f["name"].as_str().map(str::to_string),
                    content,
                });
            } else {
                panic!("unexpected part {p}");
            }
        }
        w.turns.push(Turn {
            role: role.to_string(),
            items,
        });
    }
    for d in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
        .flatten()
    {
        let params = d
            .get("parameters")
            .or_else(|| d.get("parametersJsonSchema"))
            .cloned()
            .unwrap_or(Value::Null);
        if d.get("parameters").is_some() {
            let text = params.to_string();
            for refused in ["additionalProperties", "$schema", "$ref"] {
                assert!(
                    !text.contains(refused),
                    "Gemini refuses `{refused}` in parameters: {text}"
                );
            }
        }
        w.tools.push(ToolDef {
            name: d["name"].as_str().unwrap().to_string(),
            description: d["description"].as_str().map(str::to_string),
            params,
        });
    }
    w.tool_choice = body.pointer("/toolConfig/functionCallingConfig").cloned();
    let g = body.get("generationConfig").cloned().unwrap_or(json!({}));
    w.max_tokens = g.get("maxOutputTokens").and_then(Value::as_u64);
    w.temperature = g.get("temperature").and_then(Value::as_f64);
    w.stop = g
        .get("stopSequences")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    if g.get("responseMimeType") == Some(&json!("application/json")) {
        w.json = Some(
            match g
                .get("responseJsonSchema")
                .or_else(|| g.get("responseSchema"))
            {
                Some(s) => JsonMode::Schema(s.clone()),
                None => JsonMode::Object,
            },
        );
    }
    w
}

/// `gemini`, or Gemini on `vertex`.
pub struct GeminiLike {
    pub vertex: bool,
}

pub const GEMINI: GeminiLike = GeminiLike { vertex: false };
pub const VERTEX_GEMINI: GeminiLike = GeminiLike { vertex: true };

fn native_finish(f: Fin) -> &'static str {
    match f {
        Fin::Stop | Fin::StopSequence | Fin::ToolCalls => "STOP",
        Fin::Length => "MAX_TOKENS",
        Fin::ContentFilter => "SAFETY",
    }
}

impl GeminiLike {
    fn path(&self, stream: bool) -> String {
        if self.vertex {
            vertex::gemini_path("test-project", "us-east5", self.model(), stream)
        } else if stream {
            format!(
                "/v1beta/models/{}:streamGenerateContent?alt=sse",
                self.model()
            )
        } else {
            format!("/v1beta/models/{}:generateContent", self.model())
        }
    }

    fn err(&self, reply: Reply, message: &'static str, status: u16) -> ErrCase {
        ErrCase {
            reply,
            message,
            status,
        }
    }
}

impl Provider for GeminiLike {
    fn gate(&self) -> super::Gate {
        let h: Box<dyn Fn(&Recorded) -> Reply + Send + Sync> = if self.vertex {
            Box::new(vertex::handler(
                "ya29.test-access-token",
                "test-project",
                "us-east5",
            ))
        } else {
            Box::new(wire::handler("gemini-key-test"))
        };
        Box::new(move |r| {
            let reply = h(r);
            (reply.status != 200).then_some(reply)
        })
    }

    fn label(&self) -> &'static str {
        if self.vertex {
            "vertex (gemini)"
        } else {
            "gemini"
        }
    }

    fn yaml(&self, base: &str) -> String {
        if self.vertex {
            format!("kind: vertex\nproject: test-project\nlocation: us-east5\naccess_token: ya29.test-access-token\nbase_url: {base}")
        } else {
            format!("kind: gemini\napi_key: gemini-key-test\nbase_url: {base}")
        }
    }

    fn model(&self) -> &'static str {
        "gemini-2.5-flash"
    }

    fn call_id(&self, _n: usize) -> Option<&'static str> {
        None
    }

    fn reply(&self, s: &Script, stream: bool, _include_usage: bool) -> Reply {
        let calls = s.wire_calls(|_| "");
        let usage = wire::usage(s.usage.0, s.usage.1);
        let fin = native_finish(s.finish);
        if stream {
            Reply::sse(wire::stream_events(
                "gemini-2.5-flash-001",
                &s.pieces,
                &calls,
                fin,
                usage,
            ))
        } else {
            let body = wire::response("gemini-2.5-flash-001", &s.joined(), &calls, fin, usage);
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
        let usage = wire::usage_cached(prompt, completion, cached);
        Some(if stream {
            Reply::sse(wire::stream_events(
                "gemini-2.5-flash-001",
                &["Cached."],
                &[],
                "STOP",
                usage,
            ))
        } else {
            let body = wire::response("gemini-2.5-flash-001", "Cached.", &[], "STOP", usage);
            Reply::json(200, body.to_string())
        })
    }

    fn mid_stream_error(&self, text: &'static str, message: &'static str) -> Option<Reply> {
        let first = wire::sse_event(&json!({"candidates": [{"content": {"role": "model",
            "parts": [{"text": text}]}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
            "modelVersion": "gemini-2.5-flash-001"}));
        let err = wire::sse_event(
            &json!({"error": {"code": 500, "message": message, "status": "INTERNAL"}}),
        );
        Some(Reply::sse(vec![
            (std::time::Duration::ZERO, first),
            (std::time::Duration::ZERO, err),
        ]))
    }

    fn check_head(&self, r: &Recorded, stream: bool) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, self.path(stream), "{}", self.label());
        if self.vertex {
            assert_eq!(
                r.header("authorization"),
                Some("Bearer ya29.test-access-token")
            );
        } else {
            assert_eq!(r.header("x-goog-api-key"), Some("gemini-key-test"));
            assert!(
                !r.path.contains("key="),
                "the key goes in a header, not the URL"
            );
        }
        let body = r.json();
        assert!(body.get("model").is_none(), "the model is in the path");
        assert!(
            body.get("stream").is_none(),
            "streaming is chosen by the method"
        );
    }

    fn view(&self, r: &Recorded) -> Wire {
        view_gemini(&r.json(), r.path.contains(":streamGenerateContent"))
    }

    fn tool_choice(&self, openai: &str) -> Option<Value> {
        Some(match openai {
            "required" => json!({"mode": "ANY"}),
            "none" => json!({"mode": "NONE"}),
            _ => json!({"mode": "AUTO"}),
        })
    }

    fn error(&self, kind: ErrKind) -> Option<ErrCase> {
        Some(match kind {
            ErrKind::RateLimit => {
                let m = "Resource has been exhausted (e.g. check quota).";
                self.err(wire::rate_limited(m, "1s"), m, 429)
            }
            ErrKind::Overloaded => {
                let m = "The model is overloaded. Please try again later.";
                self.err(wire::error(503, "UNAVAILABLE", m), m, 503)
            }
            ErrKind::ServerError => {
                let m = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";
                self.err(wire::error(500, "INTERNAL", m), m, 500)
            }
            ErrKind::Auth if self.vertex => self.err(
                vertex::unauthenticated(),
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                401,
            ),
            ErrKind::Auth => self.err(
                wire::invalid_key(),
                "API key not valid. Please pass a valid API key.",
                400,
            ),
            ErrKind::ContextWindow => {
                let m = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).";
                self.err(wire::error(400, "INVALID_ARGUMENT", m), m, 400)
            }
            ErrKind::ContentFilter => self.err(
                Reply::json(200, wire::blocked("gemini-2.5-flash-001", "SAFETY").to_string()),
                "SAFETY",
                200,
            ),
        })
    }

    fn unsupported_probe(&self) -> Option<(&'static str, Value)> {
        Some((
            "parallel_tool_calls",
            json!({"parallel_tool_calls": false, "tools": [super::weather_tool()]}),
        ))
    }
}

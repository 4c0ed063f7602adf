//! `bedrock`: Converse / ConverseStream with SigV4 (static keys), and the view of a Converse
//! body.

use serde_json::{json, Value};
use switchyard_testkit::{bedrock as wire, Recorded, Reply};

use super::anthropic_like::JSON_TOOL;
use super::{ErrCase, ErrKind, Fin, Item, JsonMode, Provider, Script, ToolDef, Turn, Wire};

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
const CALL_IDS: [&str; 2] = [
    "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
    "tooluse_Z5m0s1hVQ2y3bL8pX4aQ9w",
];

/// Reads a Converse body, asserting Bedrock's rules: alternating roles starting with `user`,
/// `toolConfig` present whenever the history holds tool blocks.
pub fn view_converse(body: &Value, stream: bool) -> Wire {
    let mut w = Wire {
        raw: body.clone(),
        stream,
        ..Wire::default()
    };
    for s in body
        .get("system")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = s.get("text").and_then(Value::as_str) {
            w.system.push(t.to_string());
        }
    }
    let mut tool_blocks = false;
    for (i, m) in body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .enumerate()
    {
        let role = m["role"].as_str().unwrap();
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        assert_eq!(role, expected, "turns alternate starting with user: {body}");
        let mut items = Vec::new();
        for b in m["content"].as_array().expect("content is a block list") {
            if let Some(t) = b.get("text").and_then(Value::as_str) {
                items.push(Item::Text(t.to_string()));
            } else if let Some(img) = b.get("image") {
                items.push(Item::Image {
                    media_type: format!("image/{}", img["format"].as_str().unwrap()),
                    data: img["source"]["bytes"].as_str().unwrap().to_string(),
                });
            } else if let Some(t) = b.get("toolUse") {
                tool_blocks = true;
                assert!(t["input"].is_object(), "toolUse.input is an object: {t}");
                items.push(Item::Call {
                    id: t["toolUseId"].as_str().map(str::to_string),
                    name: t["name"].as_str().unwrap().to_string(),
                    args: t["input"].clone(),
                });
            } else if let Some(t) = b.get("toolResult") {
                tool_blocks = true;
                let content = t["content"]
                    .as_array()
                    .expect("toolResult.content is a list")
                    .iter()
                    .map(|c| match c.get("text") {
                        Some(Value::String(s)) => s.clone(),
                        _ => c.get("json").map(Value::to_string).unwrap_or_default(),
                    })
                    .collect::<Vec<_>>()
                    .join("");
                items.push(Item::Result {
                    id: t["toolUseId"].as_str().map(str::to_string),
                    name: None,
                    content,
                });
            } else if b.get("cachePoint").is_none() {
                panic!("unexpected block {b}");
            }
        }
        w.turns.push(Turn {
            role: role.to_string(),
            items,
        });
    }
    if tool_blocks {
        assert!(
            body.get("toolConfig").is_some(),
            "toolConfig is required with tool blocks"
        );
    }
    for t in body
        .pointer("/toolConfig/tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let spec = &t["toolSpec"];
        let name = spec["name"].as_str().unwrap().to_string();
        let params = spec["inputSchema"]["json"].clone();
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
            description: spec["description"].as_str().map(str::to_string),
            params,
        });
    }
    w.tool_choice = body.pointer("/toolConfig/toolChoice").cloned();
    let ic = body.get("inferenceConfig").cloned().unwrap_or(json!({}));
    w.max_tokens = ic.get("maxTokens").and_then(Value::as_u64);
    w.temperature = ic.get("temperature").and_then(Value::as_f64);
    w.stop = ic
        .get("stopSequences")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    w
}

fn native_finish(f: Fin) -> &'static str {
    match f {
        Fin::Stop => "end_turn",
        Fin::StopSequence => "stop_sequence",
        Fin::Length => "max_tokens",
        Fin::ToolCalls => "tool_use",
        Fin::ContentFilter => "guardrail_intervened",
    }
}

pub struct Bedrock;

impl Bedrock {
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
            wire::stream_reply(wire::stream_frames(&pieces, calls, fin, usage))
        } else {
            Reply::json(200, wire::converse(text, calls, fin, usage).to_string())
        }
    }

    fn err(status: u16, name: &str, message: &'static str) -> ErrCase {
        ErrCase {
            reply: wire::error(status, name, message),
            message,
            status,
        }
    }
}

impl Provider for Bedrock {
    fn gate(&self) -> super::Gate {
        Box::new(|r| {
            let Some(_) = wire::route(&r.path) else {
                return Some(wire::error(
                    404,
                    "UnknownOperationException",
                    "no such operation",
                ));
            };
            if let Err(e) = wire::verify_sigv4(r, KEY_ID, SECRET, REGION) {
                return Some(wire::error(403, "InvalidSignatureException", &e));
            }
            wire::check_body(&r.json())
        })
    }

    fn label(&self) -> &'static str {
        "bedrock"
    }

    fn yaml(&self, base: &str) -> String {
        format!("kind: bedrock\nregion: {REGION}\naccess_key_id: {KEY_ID}\nsecret_access_key: {SECRET}\nbase_url: {base}")
    }

    fn model(&self) -> &'static str {
        "anthropic.claude-3-5-sonnet-20240620-v1:0"
    }

    fn call_id(&self, n: usize) -> Option<&'static str> {
        CALL_IDS.get(n).copied()
    }

    fn reply(&self, s: &Script, stream: bool, _include_usage: bool) -> Reply {
        let calls = s.wire_calls(|i| CALL_IDS[i]);
        let usage = wire::usage(s.usage.0, s.usage.1);
        let fin = native_finish(s.finish);
        if stream {
            wire::stream_reply(wire::stream_frames(&s.pieces, &calls, fin, usage))
        } else {
            Reply::json(
                200,
                wire::converse(&s.joined(), &calls, fin, usage).to_string(),
            )
        }
    }

    fn json_reply(&self, json_text: &'static str, stream: bool) -> Reply {
        let mid = json_text.len() / 2;
        let frags = [&json_text[..mid], &json_text[mid..]];
        let calls = [("tooluse_JsonJsonJsonJsonJsonJs", JSON_TOOL, &frags[..])];
        self.answer("", &calls, "tool_use", wire::usage(20, 9), stream)
    }

    fn cached_reply(
        &self,
        prompt: u64,
        completion: u64,
        cached: u64,
        stream: bool,
    ) -> Option<Reply> {
        let usage = wire::usage_cached(prompt - cached - 2, completion, cached, 2);
        Some(self.answer("Cached.", &[], "end_turn", usage, stream))
    }

    fn mid_stream_error(&self, text: &'static str, message: &'static str) -> Option<Reply> {
        let frames = vec![
            wire::event("messageStart", &json!({"role": "assistant"})),
            wire::event(
                "contentBlockDelta",
                &json!({"contentBlockIndex": 0, "delta": {"text": text}}),
            ),
            wire::exception("modelStreamErrorException", message),
        ];
        Some(wire::stream_reply(frames))
    }

    fn check_head(&self, r: &Recorded, stream: bool) {
        assert_eq!(r.method, "POST");
        let action = if stream {
            "converse-stream"
        } else {
            "converse"
        };
        assert_eq!(
            r.path,
            format!("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/{action}"),
            "the model id is percent-encoded in the path"
        );
        wire::verify_sigv4(r, KEY_ID, SECRET, REGION).unwrap_or_else(|e| panic!("SigV4: {e}"));
        let auth = r.header("authorization").unwrap();
        assert!(auth.contains(&format!("Credential={KEY_ID}/")), "{auth}");
        assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
        assert!(!auth.contains(SECRET));
        let body = r.json();
        assert!(body.get("model").is_none() && body.get("stream").is_none());
    }

    fn view(&self, r: &Recorded) -> Wire {
        view_converse(&r.json(), r.path.ends_with("/converse-stream"))
    }

    fn tool_choice(&self, openai: &str) -> Option<Value> {
        match openai {
            "required" => Some(json!({"any": {}})),
            "auto" => Some(json!({"auto": {}})),
            _ => None,
        }
    }

    fn temperature(&self, t: f64) -> f64 {
        t.min(1.0)
    }

    fn error(&self, kind: ErrKind) -> Option<ErrCase> {
        Some(match kind {
            ErrKind::RateLimit => Self::err(
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            ErrKind::Overloaded => Self::err(
                503,
                "ServiceUnavailableException",
                "Bedrock is unable to process your request.",
            ),
            ErrKind::ServerError => Self::err(
                500,
                "InternalServerException",
                "The server encountered an internal error while processing the request.",
            ),
            ErrKind::Auth => Self::err(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            ErrKind::ContextWindow => Self::err(
                400,
                "ValidationException",
                "Input is too long for requested model.",
            ),
            ErrKind::ContentFilter => return None,
        })
    }

    fn unsupported_probe(&self) -> Option<(&'static str, Value)> {
        Some(("seed", json!({"seed": 7})))
    }
}

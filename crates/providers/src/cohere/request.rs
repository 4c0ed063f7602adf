//! Canonical request -> Cohere v2 chat body.
//!
//! Mapping decisions:
//! - Messages keep their roles. An assistant turn with tool calls sends its text as
//!   `tool_plan` (Cohere's preamble to tool calls) and the calls as `tool_calls`; reasoning
//!   parts go back as `{"type":"thinking"}` content items.
//! - `Role::Tool` messages become one `tool` message per result (`tool_call_id`, text content);
//!   Cohere has no error flag on tool results, so `is_error` is carried by the text alone.
//! - User images go as `image_url` parts (inline data as a `data:` URL); files, audio and
//!   provider file ids follow the `unsupported_params` policy.
//! - `tool_choice`: auto = omitted, `none` = `NONE`, `required` = `REQUIRED`; a named function
//!   sends only that tool with `REQUIRED` (same effect).
//! - `response_format`: `{"type":"json_object"}`, plus `json_schema` for a schema.
//! - Reasoning: `thinking{type:"enabled", token_budget?}` (effort `none` -> disabled).
//! - No equivalent (policy): `n` > 1, `logprobs`/`top_logprobs` (Cohere's per-token shape is
//!   not mapped), `parallel_tool_calls: false`, `user`, `metadata`.
//! - `extra` passes through `safety_mode`, `documents`, `citation_options`, `priority`.

use serde_json::{json, Map, Value};
use switchyard_config::UnsupportedParams;
use switchyard_types::{
    ChatRequest, ContentPart, GatewayError, MediaSource, Message, ReasoningEffort, ResponseFormat,
    Role, ToolChoice,
};

use crate::{unsupported, Dropped};

const PROVIDER: &str = "cohere";
const PASSTHROUGH: [&str; 4] = ["safety_mode", "documents", "citation_options", "priority"];

pub(crate) fn encode_request(
    req: &ChatRequest,
    policy: UnsupportedParams,
    default_max_tokens: Option<u32>,
    dropped: &mut Dropped,
) -> Result<Value, GatewayError> {
    let mut refuse = |param: &'static str| unsupported(policy, PROVIDER, param, dropped);
    if req.n.is_some_and(|n| n > 1) {
        refuse("n")?;
    }
    if req.logprobs == Some(true) {
        refuse("logprobs")?;
    }
    if req.top_logprobs.is_some() {
        refuse("top_logprobs")?;
    }
    if req.parallel_tool_calls == Some(false) {
        refuse("parallel_tool_calls")?;
    }
    if req.user.is_some() {
        refuse("user")?;
    }
    if req.metadata.is_some() {
        refuse("metadata")?;
    }

    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    let mut messages = Vec::new();
    for m in &req.messages {
        encode_message(m, &mut messages, &mut refuse)?;
    }
    body.insert("messages".into(), Value::Array(messages));

    let mut tools: Vec<&switchyard_types::Tool> = req.tools.iter().collect();
    match &req.tool_choice {
        None | Some(ToolChoice::Auto) => {}
        Some(ToolChoice::None) => {
            body.insert("tool_choice".into(), json!("NONE"));
        }
        Some(ToolChoice::Required) => {
            body.insert("tool_choice".into(), json!("REQUIRED"));
        }
        Some(ToolChoice::Function(name)) => {
            tools.retain(|t| &t.name == name);
            body.insert("tool_choice".into(), json!("REQUIRED"));
        }
    }
    if !tools.is_empty() {
        let list: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), json!(t.name));
                if let Some(d) = &t.description {
                    f.insert("description".into(), json!(d));
                }
                f.insert("parameters".into(), t.parameters.clone());
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), Value::Array(list));
        if tools.iter().any(|t| t.strict == Some(true)) {
            body.insert("strict_tools".into(), json!(true));
        }
    } else if matches!(req.tool_choice, Some(ToolChoice::Function(_))) {
        return Err(
            GatewayError::bad_request("tool_choice names a function that is not in tools")
                .with_param("tool_choice"),
        );
    }

    let mut put = |k: &str, v: Value| {
        body.insert(k.into(), v);
    };
    if let Some(m) = req.max_tokens.or(default_max_tokens) {
        put("max_tokens", json!(m));
    }
    if let Some(t) = req.temperature {
        put("temperature", json!(t));
    }
    if let Some(p) = req.top_p {
        put("p", json!(p));
    }
    if let Some(k) = req.top_k {
        put("k", json!(k));
    }
    if !req.stop.is_empty() {
        put("stop_sequences", json!(req.stop));
    }
    if let Some(s) = req.seed {
        put("seed", json!(s));
    }
    if let Some(f) = req.frequency_penalty {
        put("frequency_penalty", json!(f));
    }
    if let Some(p) = req.presence_penalty {
        put("presence_penalty", json!(p));
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => put("response_format", json!({"type": "json_object"})),
        Some(ResponseFormat::JsonSchema { schema, .. }) => put(
            "response_format",
            json!({"type": "json_object", "json_schema": schema}),
        ),
        Some(ResponseFormat::Text) | None => {}
    }
    if let Some(r) = req.reasoning {
        if r.effort == Some(ReasoningEffort::None) {
            put("thinking", json!({"type": "disabled"}));
        } else if let Some(b) = r.budget_tokens {
            put("thinking", json!({"type": "enabled", "token_budget": b}));
        } else if r.effort.is_some() {
            put("thinking", json!({"type": "enabled"}));
        }
    }
    if req.stream {
        put("stream", json!(true));
    }
    for key in PASSTHROUGH {
        if let Some(v) = req.extra.get(key) {
            put(key, v.clone());
        }
    }
    Ok(Value::Object(body))
}

fn encode_message(
    m: &Message,
    out: &mut Vec<Value>,
    refuse: &mut impl FnMut(&'static str) -> Result<(), GatewayError>,
) -> Result<(), GatewayError> {
    match m.role {
        Role::System => out.push(json!({"role": "system", "content": m.joined_text()})),
        Role::User => {
            let mut parts = Vec::new();
            let mut only_text = true;
            for p in &m.content {
                match p {
                    ContentPart::Text { text, .. } => {
                        parts.push(json!({"type": "text", "text": text}))
                    }
                    ContentPart::Image { source, detail } => {
                        let url = match source.clone().normalize_data_url() {
                            MediaSource::Url { url } => url,
                            MediaSource::Base64 { media_type, data } => {
                                format!("data:{media_type};base64,{data}")
                            }
                            MediaSource::FileId { .. } => {
                                refuse("file_id")?;
                                continue;
                            }
                        };
                        let mut image = Map::new();
                        image.insert("url".into(), json!(url));
                        if let Some(d) = detail {
                            image.insert("detail".into(), json!(d));
                        }
                        parts.push(json!({"type": "image_url", "image_url": image}));
                        only_text = false;
                    }
                    ContentPart::File { .. } => refuse("file")?,
                    ContentPart::Audio { .. } => refuse("input_audio")?,
                    ContentPart::ToolResult(r) => out.push(tool_message(r)),
                    // Assistant-only parts in a user turn carry nothing Cohere can take.
                    ContentPart::ToolCall(_)
                    | ContentPart::Reasoning { .. }
                    | ContentPart::RedactedReasoning { .. } => {}
                }
            }
            if parts.is_empty() {
                return Ok(());
            }
            let content = if only_text {
                json!(m.joined_text())
            } else {
                Value::Array(parts)
            };
            out.push(json!({"role": "user", "content": content}));
        }
        Role::Assistant => {
            let mut msg = Map::new();
            msg.insert("role".into(), json!("assistant"));
            let calls: Vec<Value> = m
                .content
                .iter()
                .filter_map(|p| match p {
                    ContentPart::ToolCall(c) => Some(json!({
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    })),
                    _ => None,
                })
                .collect();
            let text = m.joined_text();
            let mut content: Vec<Value> = m
                .content
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Reasoning { text, .. } => {
                        Some(json!({"type": "thinking", "thinking": text}))
                    }
                    _ => None,
                })
                .collect();
            if calls.is_empty() {
                if !text.is_empty() {
                    content.push(json!({"type": "text", "text": text}));
                }
            } else {
                if !text.is_empty() {
                    msg.insert("tool_plan".into(), json!(text));
                }
                msg.insert("tool_calls".into(), Value::Array(calls));
            }
            if !content.is_empty() {
                msg.insert("content".into(), Value::Array(content));
            }
            out.push(Value::Object(msg));
        }
        Role::Tool => {
            for p in &m.content {
                match p {
                    ContentPart::ToolResult(r) => out.push(tool_message(r)),
                    ContentPart::Text { .. } => {}
                    _ => refuse("tool_result_content")?,
                }
            }
        }
    }
    Ok(())
}

fn tool_message(r: &switchyard_types::ToolResult) -> Value {
    let text: String = r
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    json!({"role": "tool", "tool_call_id": r.call_id, "content": text})
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::{Message, Tool};

    #[test]
    fn named_function_keeps_only_that_tool() {
        let t = |n: &str| Tool {
            name: n.into(),
            description: None,
            parameters: json!({"type": "object"}),
            strict: None,
        };
        let req = ChatRequest {
            model: "command-a-03-2025".into(),
            messages: vec![Message::text(Role::User, "hi")],
            tools: vec![t("a"), t("b")],
            tool_choice: Some(ToolChoice::Function("b".into())),
            ..Default::default()
        };
        let v =
            encode_request(&req, UnsupportedParams::Drop, None, &mut Dropped::default()).unwrap();
        assert_eq!(v["tool_choice"], "REQUIRED");
        assert_eq!(v["tools"].as_array().unwrap().len(), 1);
        assert_eq!(v["tools"][0]["function"]["name"], "b");
        let bad = ChatRequest {
            tool_choice: Some(ToolChoice::Function("zzz".into())),
            ..req
        };
        assert!(
            encode_request(&bad, UnsupportedParams::Drop, None, &mut Dropped::default()).is_err()
        );
    }

    #[test]
    fn reasoning_modes() {
        let mut req = ChatRequest {
            model: "command-a-reasoning-08-2025".into(),
            messages: vec![Message::text(Role::User, "hi")],
            reasoning: Some(switchyard_types::Reasoning {
                effort: Some(ReasoningEffort::High),
                budget_tokens: None,
            }),
            ..Default::default()
        };
        let enc = |r: &ChatRequest| {
            encode_request(r, UnsupportedParams::Drop, None, &mut Dropped::default()).unwrap()
        };
        assert_eq!(enc(&req)["thinking"], json!({"type": "enabled"}));
        req.reasoning = Some(switchyard_types::Reasoning {
            effort: None,
            budget_tokens: Some(5000),
        });
        assert_eq!(
            enc(&req)["thinking"],
            json!({"type": "enabled", "token_budget": 5000})
        );
        req.reasoning = Some(switchyard_types::Reasoning {
            effort: Some(ReasoningEffort::None),
            budget_tokens: None,
        });
        assert_eq!(enc(&req)["thinking"], json!({"type": "disabled"}));
    }
}

//! Canonical request -> OpenAI Chat Completions request body.

use serde_json::{json, Map, Value};
use switchyard_types::{
    ChatRequest, ContentPart, GatewayError, MediaSource, Message, ReasoningEffort, ResponseFormat,
    Role, ToolChoice,
};

/// Checks that `req` holds nothing Chat Completions cannot carry (files by URL, images by file
/// id, media in system or assistant messages, tool messages without a result).
/// [`encode_request`] leaves such parts out; adapters call this first to refuse instead.
pub fn check_request(req: &ChatRequest) -> Result<(), GatewayError> {
    let bad = |msg: &str| Err(GatewayError::bad_request(msg.to_string()).with_param("messages"));
    for m in &req.messages {
        for p in &m.content {
            match (m.role, p) {
                (
                    _,
                    ContentPart::Image {
                        source: MediaSource::FileId { .. },
                        ..
                    },
                ) => return bad("openai chat completions cannot take an image by file id"),
                (
                    _,
                    ContentPart::File {
                        source: MediaSource::Url { url },
                        ..
                    },
                ) if !url.starts_with("data:") => {
                    return bad("openai chat completions cannot take a file by URL")
                }
                (Role::System, ContentPart::Text { .. }) => {}
                (Role::System, _) => return bad("system messages may only contain text"),
                (Role::Assistant, ContentPart::Text { .. })
                | (Role::Assistant, ContentPart::ToolCall(_))
                | (Role::Assistant, ContentPart::Reasoning { .. })
                | (Role::Assistant, ContentPart::RedactedReasoning { .. }) => {}
                (Role::Assistant, _) => {
                    return bad("assistant messages may only contain text and tool calls")
                }
                (Role::User | Role::Tool, ContentPart::ToolCall(_)) => {
                    return bad("tool calls belong to assistant messages")
                }
                _ => {}
            }
        }
        if m.role == Role::Tool
            && !m
                .content
                .iter()
                .any(|p| matches!(p, ContentPart::ToolResult(_)))
        {
            return bad("a tool message needs a tool result (tool_call_id)");
        }
    }
    Ok(())
}

/// Builds the Chat Completions body for `req`: every canonical field, `extra` copied through.
pub fn encode_request(req: &ChatRequest) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(req.model.clone()));
    body.insert(
        "messages".into(),
        Value::Array(encode_messages(&req.messages)),
    );
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), Value::String(t.name.clone()));
                if let Some(d) = &t.description {
                    f.insert("description".into(), Value::String(d.clone()));
                }
                if !t.parameters.is_null() {
                    f.insert("parameters".into(), t.parameters.clone());
                }
                if let Some(s) = t.strict {
                    f.insert("strict".into(), Value::Bool(s));
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
        };
        body.insert("tool_choice".into(), v);
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    };
    put(
        "parallel_tool_calls",
        req.parallel_tool_calls.map(Value::Bool),
    );
    put(
        "response_format",
        req.response_format.as_ref().map(response_format),
    );
    put("temperature", req.temperature.map(Value::from));
    put("top_p", req.top_p.map(Value::from));
    put("top_k", req.top_k.map(Value::from));
    put("max_completion_tokens", req.max_tokens.map(Value::from));
    put("stop", (!req.stop.is_empty()).then(|| json!(req.stop)));
    put("seed", req.seed.map(Value::from));
    put("presence_penalty", req.presence_penalty.map(Value::from));
    put("frequency_penalty", req.frequency_penalty.map(Value::from));
    put("n", req.n.map(Value::from));
    put("logprobs", req.logprobs.map(Value::Bool));
    put("top_logprobs", req.top_logprobs.map(Value::from));
    put(
        "reasoning_effort",
        req.reasoning
            .as_ref()
            .and_then(|r| r.effort.or_else(|| r.budget_tokens.map(effort_for_budget)))
            .map(|e| Value::String(effort_str(e).into())),
    );
    put("user", req.user.clone().map(Value::String));
    put("metadata", req.metadata.clone().map(Value::Object));
    if req.stream {
        body.insert("stream".into(), Value::Bool(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    for (k, v) in &req.extra {
        if !body.contains_key(k) {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

fn effort_for_budget(budget: u32) -> ReasoningEffort {
    match budget {
        0 => ReasoningEffort::None,
        1..=1024 => ReasoningEffort::Low,
        1025..=8192 => ReasoningEffort::Medium,
        _ => ReasoningEffort::High,
    }
}

fn effort_str(e: ReasoningEffort) -> &'static str {
    match e {
        ReasoningEffort::None => "none",
        ReasoningEffort::Minimal => "minimal",
        ReasoningEffort::Low => "low",
        ReasoningEffort::Medium => "medium",
        ReasoningEffort::High => "high",
    }
}

fn response_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
            description,
        } => {
            let mut s = Map::new();
            s.insert("name".into(), Value::String(name.clone()));
            if let Some(d) = description {
                s.insert("description".into(), Value::String(d.clone()));
            }
            s.insert("schema".into(), schema.clone());
            if let Some(strict) = strict {
                s.insert("strict".into(), Value::Bool(*strict));
            }
            json!({"type": "json_schema", "json_schema": s})
        }
    }
}

/// A URL for an image or file source: http(s) as given, inline bytes as a `data:` URL.
fn media_url(src: &MediaSource) -> Option<String> {
    match src {
        MediaSource::Url { url } => Some(url.clone()),
        MediaSource::Base64 { media_type, data } => {
            Some(format!("data:{media_type};base64,{data}"))
        }
        MediaSource::FileId { .. } => None,
    }
}

/// One user-content part; `None` for parts Chat Completions cannot carry.
fn user_part(p: &ContentPart) -> Option<Value> {
    match p {
        ContentPart::Text { text, .. } => Some(json!({"type": "text", "text": text})),
        ContentPart::Image { source, detail } => {
            let mut img = Map::new();
            img.insert("url".into(), Value::String(media_url(source)?));
            if let Some(d) = detail {
                img.insert("detail".into(), Value::String(d.clone()));
            }
            Some(json!({"type": "image_url", "image_url": img}))
        }
        ContentPart::Audio { data, format } => Some(json!({
            "type": "input_audio",
            "input_audio": {"data": data, "format": format},
        })),
        ContentPart::File { source, filename } => {
            let mut f = Map::new();
            match source {
                MediaSource::FileId { id } => {
                    f.insert("file_id".into(), Value::String(id.clone()));
                }
                MediaSource::Base64 { .. } => {
                    f.insert("file_data".into(), Value::String(media_url(source)?));
                }
                MediaSource::Url { url } if url.starts_with("data:") => {
                    f.insert("file_data".into(), Value::String(url.clone()));
                }
                MediaSource::Url { .. } => return None,
            }
            if let Some(name) = filename {
                f.insert("filename".into(), Value::String(name.clone()));
            }
            Some(json!({"type": "file", "file": f}))
        }
        ContentPart::ToolCall(_)
        | ContentPart::ToolResult(_)
        | ContentPart::Reasoning { .. }
        | ContentPart::RedactedReasoning { .. } => None,
    }
}

/// A single text part as a string, anything else as a part list.
fn user_content(parts: &[&ContentPart]) -> Value {
    if let [ContentPart::Text { text, .. }] = parts {
        return Value::String(text.clone());
    }
    Value::Array(parts.iter().filter_map(|p| user_part(p)).collect())
}

fn with_name(mut v: Value, name: &Option<String>) -> Value {
    if let (Some(n), Some(obj)) = (name, v.as_object_mut()) {
        obj.insert("name".into(), Value::String(n.clone()));
    }
    v
}

/// Images that came back in tool results, waiting to follow the run of `tool` messages.
#[derive(Default)]
struct PendingImages(Vec<Value>);

impl PendingImages {
    fn flush(&mut self, out: &mut Vec<Value>) {
        if !self.0.is_empty() {
            out.push(json!({"role": "user", "content": std::mem::take(&mut self.0)}));
        }
    }
}

fn encode_messages(messages: &[Message]) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len());
    let mut images = PendingImages::default();
    for m in messages {
        match m.role {
            Role::System => {
                images.flush(&mut out);
                let msg = json!({"role": "system", "content": m.joined_text()});
                out.push(with_name(msg, &m.name));
            }
            Role::Assistant => {
                images.flush(&mut out);
                out.push(assistant_message(m));
            }
            Role::User | Role::Tool => {
                // Tool results become `tool` messages, first; the rest is a user message.
                for p in &m.content {
                    if let ContentPart::ToolResult(r) = p {
                        let texts: Vec<&ContentPart> = r
                            .content
                            .iter()
                            .filter(|c| matches!(c, ContentPart::Text { .. }))
                            .collect();
                        let content = match texts.as_slice() {
                            [] => Value::String(String::new()),
                            [ContentPart::Text { text, .. }] => Value::String(text.clone()),
                            many => {
                                Value::Array(many.iter().filter_map(|p| user_part(p)).collect())
                            }
                        };
                        out.push(json!({
                            "role": "tool",
                            "tool_call_id": r.call_id,
                            "content": content,
                        }));
                        for c in &r.content {
                            if !matches!(c, ContentPart::Image { .. }) {
                                continue;
                            }
                            if let Some(v) = user_part(c) {
                                images.0.push(json!({
                                    "type": "text",
                                    "text": format!("[image from tool call {}]", r.call_id),
                                }));
                                images.0.push(v);
                            }
                        }
                    }
                }
                let rest: Vec<&ContentPart> = m
                    .content
                    .iter()
                    .filter(|p| user_part(p).is_some())
                    .collect();
                if !rest.is_empty() {
                    images.flush(&mut out);
                    let msg = json!({"role": "user", "content": user_content(&rest)});
                    out.push(with_name(msg, &m.name));
                }
            }
        }
    }
    images.flush(&mut out);
    out
}

fn assistant_message(m: &Message) -> Value {
    let mut msg = Map::new();
    msg.insert("role".into(), Value::String("assistant".into()));
    let has_text = m
        .content
        .iter()
        .any(|p| matches!(p, ContentPart::Text { .. }));
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
    let content = if has_text {
        Value::String(m.joined_text())
    } else if calls.is_empty() {
        Value::String(String::new())
    } else {
        Value::Null
    };
    msg.insert("content".into(), content);
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(n) = &m.name {
        msg.insert("name".into(), Value::String(n.clone()));
    }
    Value::Object(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_map_to_efforts() {
        assert_eq!(effort_for_budget(0), ReasoningEffort::None);
        assert_eq!(effort_for_budget(1024), ReasoningEffort::Low);
        assert_eq!(effort_for_budget(4096), ReasoningEffort::Medium);
        assert_eq!(effort_for_budget(20000), ReasoningEffort::High);
    }

    #[test]
    fn unrepresentable_parts_are_refused() {
        let mut req = ChatRequest {
            model: "m".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentPart::Image {
                    source: MediaSource::FileId {
                        id: "file-1".into(),
                    },
                    detail: None,
                }],
                name: None,
            }],
            ..Default::default()
        };
        assert!(check_request(&req).is_err());
        req.messages[0].role = Role::Tool;
        req.messages[0].content = vec![ContentPart::text("x")];
        assert!(check_request(&req).is_err());
        req.messages[0].role = Role::User;
        assert!(check_request(&req).is_ok());
    }
}

//! Canonical request -> Anthropic Messages request body. The translation decisions are listed in
//! the module docs of [`crate::anthropic`].

use serde_json::{json, Map, Value};
use switchyard_types::{
    ChatRequest, ContentPart, ErrorClass, GatewayError, MediaSource, Message, Reasoning,
    ReasoningEffort, ResponseFormat, Role, ToolChoice, ToolResult,
};

use super::{AnthropicOptions, JSON_TOOL_NAME};
use crate::{unsupported, Dropped};

/// Anthropic's minimum thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;

/// Builds the full Messages body (including `model` and `stream`) for `req`.
pub fn encode_request(
    req: &ChatRequest,
    opts: &AnthropicOptions,
    dropped: &mut Dropped,
) -> Result<Map<String, Value>, GatewayError> {
    let unsup = |param: &'static str, dropped: &mut Dropped| {
        unsupported(opts.unsupported, "anthropic", param, dropped)
    };
    if req.n.is_some_and(|n| n > 1) {
        unsup("n", dropped)?;
    }
    if req.seed.is_some() {
        unsup("seed", dropped)?;
    }
    if req.presence_penalty.is_some() {
        unsup("presence_penalty", dropped)?;
    }
    if req.frequency_penalty.is_some() {
        unsup("frequency_penalty", dropped)?;
    }
    if req.logprobs == Some(true) {
        unsup("logprobs", dropped)?;
    }
    if req.top_logprobs.is_some() {
        unsup("top_logprobs", dropped)?;
    }

    let mut body = Map::new();
    body.insert("model".into(), Value::String(req.model.clone()));

    let (system, turns) = encode_messages(&req.messages, opts, dropped)?;
    if let Some(system) = system {
        body.insert("system".into(), system);
    }
    body.insert("messages".into(), Value::Array(turns));

    let budget = thinking_budget(req.reasoning.as_ref());
    let mut max_tokens = req.max_tokens.unwrap_or(opts.default_max_tokens);
    if let Some(budget) = budget {
        if max_tokens <= budget {
            max_tokens = budget.saturating_add(max_tokens);
        }
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    body.insert("max_tokens".into(), Value::from(max_tokens));

    encode_sampling(req, budget.is_some(), &mut body, opts, dropped)?;
    encode_tools(req, budget.is_some(), &mut body, opts, dropped)?;

    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop));
    }
    if let Some(user) = &req.user {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    if req.metadata.as_ref().is_some_and(|m| !m.is_empty()) {
        // OpenAI's free-form `metadata` has no Anthropic equivalent (only `user_id`).
        unsupported(opts.unsupported, "anthropic", "metadata", dropped)?;
    }
    body.insert("stream".into(), Value::Bool(req.stream));
    Ok(body)
}

/// The thinking budget asked for, if thinking is on.
fn thinking_budget(reasoning: Option<&Reasoning>) -> Option<u32> {
    let r = reasoning?;
    if let Some(b) = r.budget_tokens {
        return (b > 0).then(|| b.max(MIN_THINKING_BUDGET));
    }
    match r.effort? {
        ReasoningEffort::None | ReasoningEffort::Minimal => None,
        ReasoningEffort::Low => Some(1024),
        ReasoningEffort::Medium => Some(4096),
        ReasoningEffort::High => Some(16384),
    }
}

fn encode_sampling(
    req: &ChatRequest,
    thinking: bool,
    body: &mut Map<String, Value>,
    opts: &AnthropicOptions,
    dropped: &mut Dropped,
) -> Result<(), GatewayError> {
    let policy = opts.unsupported;
    if let Some(t) = req.temperature {
        if !t.is_finite() || t < 0.0 {
            return Err(
                GatewayError::bad_request("temperature must be a number >= 0")
                    .with_param("temperature"),
            );
        }
        if thinking {
            unsupported(policy, "anthropic", "temperature", dropped)?;
        } else {
            body.insert("temperature".into(), Value::from(t.min(1.0)));
        }
    }
    if let Some(p) = req.top_p {
        if thinking && p < 0.95 {
            unsupported(policy, "anthropic", "top_p", dropped)?;
        } else {
            body.insert("top_p".into(), Value::from(p));
        }
    }
    if let Some(k) = req.top_k {
        if thinking {
            unsupported(policy, "anthropic", "top_k", dropped)?;
        } else {
            body.insert("top_k".into(), Value::from(k));
        }
    }
    Ok(())
}

/// The forced tool for JSON mode: `(description, input_schema)`.
fn json_tool(format: Option<&ResponseFormat>) -> Result<Option<(String, Value)>, GatewayError> {
    match format {
        None | Some(ResponseFormat::Text) => Ok(None),
        Some(ResponseFormat::JsonObject) => Ok(Some((
            "Respond with a JSON object.".to_string(),
            json!({"type": "object"}),
        ))),
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            description,
            ..
        }) => {
            let is_object = schema
                .as_object()
                .is_some_and(|o| o.get("type").is_none_or(|t| t.as_str() == Some("object")));
            if !is_object {
                return Err(GatewayError::client(
                    ErrorClass::Unsupported,
                    "anthropic: response_format json_schema must describe an object",
                )
                .with_param("response_format"));
            }
            let desc = description.clone().unwrap_or_else(|| {
                format!("Respond with a JSON object matching the `{name}` schema.")
            });
            Ok(Some((desc, schema.clone())))
        }
    }
}

fn encode_tools(
    req: &ChatRequest,
    thinking: bool,
    body: &mut Map<String, Value>,
    opts: &AnthropicOptions,
    dropped: &mut Dropped,
) -> Result<(), GatewayError> {
    let mut tools = Vec::with_capacity(req.tools.len() + 1);
    for t in &req.tools {
        if t.name == JSON_TOOL_NAME {
            return Err(GatewayError::bad_request(format!(
                "tool name `{JSON_TOOL_NAME}` is reserved by the gateway"
            ))
            .with_param("tools"));
        }
        let schema = match &t.parameters {
            Value::Null => json!({"type": "object", "properties": {}}),
            Value::Object(_) => t.parameters.clone(),
            _ => {
                return Err(GatewayError::bad_request(format!(
                    "parameters of tool `{}` must be a JSON Schema object",
                    t.name
                ))
                .with_param("tools"))
            }
        };
        let mut tool = Map::new();
        tool.insert("name".into(), Value::String(t.name.clone()));
        if let Some(d) = &t.description {
            tool.insert("description".into(), Value::String(d.clone()));
        }
        tool.insert("input_schema".into(), schema);
        tools.push(Value::Object(tool));
    }
    let client_tools = !tools.is_empty();
    let json = json_tool(req.response_format.as_ref())?;
    let has_json = json.is_some();
    if let Some((description, schema)) = json {
        tools.push(json!({
            "name": JSON_TOOL_NAME,
            "description": description,
            "input_schema": schema,
        }));
    }
    if tools.is_empty() {
        return Ok(());
    }
    body.insert("tools".into(), Value::Array(tools));

    // Forced tool use is refused with thinking on: fall back to `auto` (through the policy when
    // the client forced it).
    let forced_ok = |dropped: &mut Dropped| -> Result<bool, GatewayError> {
        if thinking {
            unsupported(opts.unsupported, "anthropic", "tool_choice", dropped)?;
            Ok(false)
        } else {
            Ok(true)
        }
    };
    let mut choice = match (&req.tool_choice, has_json) {
        (Some(ToolChoice::Function(name)), _) if client_tools => {
            if forced_ok(dropped)? {
                Some(json!({"type": "tool", "name": name}))
            } else {
                Some(json!({"type": "auto"}))
            }
        }
        (Some(ToolChoice::Required), _) if client_tools => {
            if forced_ok(dropped)? {
                Some(json!({"type": "any"}))
            } else {
                Some(json!({"type": "auto"}))
            }
        }
        // JSON mode: the answer must come through a tool call.
        (_, true) if thinking => Some(json!({"type": "auto"})),
        (Some(ToolChoice::None) | None | Some(ToolChoice::Auto), true) => {
            if client_tools && req.tool_choice != Some(ToolChoice::None) {
                Some(json!({"type": "any"}))
            } else {
                Some(json!({"type": "tool", "name": JSON_TOOL_NAME}))
            }
        }
        (Some(ToolChoice::Auto), false) => Some(json!({"type": "auto"})),
        (Some(ToolChoice::None), false) => Some(json!({"type": "none"})),
        (None, false) => None,
        // Required/Function without client tools but with JSON mode: the JSON tool is the one.
        (Some(ToolChoice::Required | ToolChoice::Function(_)), _) => {
            Some(json!({"type": "tool", "name": JSON_TOOL_NAME}))
        }
    };
    if req.parallel_tool_calls == Some(false) {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c.get("type").and_then(Value::as_str) != Some("none") {
            if let Some(obj) = c.as_object_mut() {
                obj.insert("disable_parallel_tool_use".into(), Value::Bool(true));
            }
        }
    }
    if let Some(c) = choice {
        body.insert("tool_choice".into(), c);
    }
    Ok(())
}

/// One turn being built.
struct Turn {
    role: &'static str,
    blocks: Vec<Value>,
}

/// Gathers system text and builds alternating, merged turns.
fn encode_messages(
    messages: &[Message],
    opts: &AnthropicOptions,
    dropped: &mut Dropped,
) -> Result<(Option<Value>, Vec<Value>), GatewayError> {
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for msg in messages {
        let (role, blocks) = match msg.role {
            Role::System => {
                for part in &msg.content {
                    match part {
                        ContentPart::Text { text, .. } if text.is_empty() => {}
                        ContentPart::Text { .. } => system.push(text_block(part)),
                        _ => {
                            return Err(GatewayError::bad_request(
                                "system messages may only contain text for anthropic",
                            )
                            .with_param("messages"))
                        }
                    }
                }
                continue;
            }
            Role::User | Role::Tool => ("user", user_blocks(msg, opts, dropped)?),
            Role::Assistant => ("assistant", assistant_blocks(msg)?),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == role => last.blocks.extend(blocks),
            _ => turns.push(Turn { role, blocks }),
        }
    }
    trim_prefill(&mut turns);
    if turns.is_empty() {
        return Err(GatewayError::bad_request(
            "at least one user or assistant message is required",
        )
        .with_param("messages"));
    }
    let turns = turns
        .into_iter()
        .map(|mut t| {
            // Anthropic wants tool results first in a user turn and reasoning first in an
            // assistant turn; a stable sort keeps everything else in order.
            t.blocks.sort_by_key(|b| {
                let ty = b.get("type").and_then(Value::as_str);
                !matches!(ty, Some("tool_result" | "thinking" | "redacted_thinking"))
            });
            json!({"role": t.role, "content": compact_content(t.blocks)})
        })
        .collect();
    let system = match system.len() {
        0 => None,
        1 if system[0].get("cache_control").is_none() => system[0].get("text").cloned(),
        _ => Some(Value::Array(system)),
    };
    Ok((system, turns))
}

/// A final assistant turn is a prefill: Anthropic refuses trailing whitespace there.
fn trim_prefill(turns: &mut Vec<Turn>) {
    let Some(last) = turns.last_mut() else { return };
    if last.role != "assistant" {
        return;
    }
    if let Some(Value::Object(block)) = last.blocks.last_mut() {
        if block.get("type").and_then(Value::as_str) == Some("text") {
            if let Some(Value::String(text)) = block.get_mut("text") {
                let trimmed = text.trim_end().len();
                text.truncate(trimmed);
                if text.is_empty() {
                    last.blocks.pop();
                }
            }
        }
    }
    if last.blocks.is_empty() {
        turns.pop();
    }
}

/// One plain text block becomes a string; anything else stays a block list.
fn compact_content(blocks: Vec<Value>) -> Value {
    if let [only] = blocks.as_slice() {
        if only.get("type").and_then(Value::as_str) == Some("text")
            && only.get("cache_control").is_none()
        {
            if let Some(text) = only.get("text") {
                return text.clone();
            }
        }
    }
    Value::Array(blocks)
}

fn text_block(part: &ContentPart) -> Value {
    let mut b = Map::new();
    if let ContentPart::Text {
        text,
        cache_control,
    } = part
    {
        b.insert("type".into(), Value::String("text".into()));
        b.insert("text".into(), Value::String(text.clone()));
        if let Some(cc) = cache_control {
            b.insert("cache_control".into(), cc.clone());
        }
    }
    Value::Object(b)
}

fn source(src: &MediaSource) -> Value {
    match src.clone().normalize_data_url() {
        MediaSource::Base64 { media_type, data } => {
            json!({"type": "base64", "media_type": media_type, "data": data})
        }
        MediaSource::Url { url } => json!({"type": "url", "url": url}),
        MediaSource::FileId { id } => json!({"type": "file", "file_id": id}),
    }
}

fn user_blocks(
    msg: &Message,
    opts: &AnthropicOptions,
    dropped: &mut Dropped,
) -> Result<Vec<Value>, GatewayError> {
    let mut out = Vec::with_capacity(msg.content.len());
    for part in &msg.content {
        match part {
            ContentPart::Text { text, .. } if text.is_empty() => {}
            ContentPart::Text { .. } => out.push(text_block(part)),
            ContentPart::Image { source: src, .. } => {
                out.push(json!({"type": "image", "source": source(src)}))
            }
            ContentPart::File {
                source: src,
                filename,
            } => {
                let mut doc = json!({"type": "document", "source": source(src)});
                if let (Some(name), Some(obj)) = (filename, doc.as_object_mut()) {
                    obj.insert("title".into(), Value::String(name.clone()));
                }
                out.push(doc);
            }
            ContentPart::Audio { .. } => {
                unsupported(opts.unsupported, "anthropic", "audio", dropped)?;
            }
            ContentPart::ToolResult(r) => out.push(tool_result_block(r)?),
            ContentPart::ToolCall(_)
            | ContentPart::Reasoning { .. }
            | ContentPart::RedactedReasoning { .. } => {
                return Err(GatewayError::bad_request(
                    "tool calls and reasoning belong to assistant messages",
                )
                .with_param("messages"))
            }
        }
    }
    Ok(out)
}

fn tool_result_block(r: &ToolResult) -> Result<Value, GatewayError> {
    let mut parts = Vec::with_capacity(r.content.len());
    for p in &r.content {
        match p {
            ContentPart::Text { text, .. } if text.is_empty() => {}
            ContentPart::Text { .. } => parts.push(text_block(p)),
            ContentPart::Image { source: src, .. } => {
                parts.push(json!({"type": "image", "source": source(src)}))
            }
            _ => {
                return Err(GatewayError::bad_request(
                    "tool results may only contain text and images for anthropic",
                )
                .with_param("messages"))
            }
        }
    }
    let mut b = Map::new();
    b.insert("type".into(), Value::String("tool_result".into()));
    b.insert("tool_use_id".into(), Value::String(r.call_id.clone()));
    if !parts.is_empty() {
        b.insert("content".into(), compact_content(parts));
    }
    if r.is_error {
        b.insert("is_error".into(), Value::Bool(true));
    }
    Ok(Value::Object(b))
}

fn assistant_blocks(msg: &Message) -> Result<Vec<Value>, GatewayError> {
    let mut out = Vec::with_capacity(msg.content.len());
    for part in &msg.content {
        match part {
            ContentPart::Text { text, .. } if text.is_empty() => {}
            ContentPart::Text { .. } => out.push(text_block(part)),
            ContentPart::Reasoning {
                text,
                signature: Some(sig),
            } => out.push(json!({"type": "thinking", "thinking": text, "signature": sig})),
            // Unsigned reasoning cannot be verified by Anthropic: left out.
            ContentPart::Reasoning {
                signature: None, ..
            } => {}
            ContentPart::RedactedReasoning { data } => {
                out.push(json!({"type": "redacted_thinking", "data": data}))
            }
            ContentPart::ToolCall(call) => out.push(json!({
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": tool_input(&call.arguments),
            })),
            ContentPart::Image { .. }
            | ContentPart::Audio { .. }
            | ContentPart::File { .. }
            | ContentPart::ToolResult(_) => return Err(GatewayError::bad_request(
                "assistant messages may only contain text, reasoning and tool calls for anthropic",
            )
            .with_param("messages")),
        }
    }
    Ok(out)
}

/// Tool-call arguments (JSON text) as the object Anthropic requires; see the module docs.
pub(crate) fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "_raw": arguments }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_input_shapes() {
        assert_eq!(tool_input(""), json!({}));
        assert_eq!(tool_input(" {\"a\":1} "), json!({"a": 1}));
        assert_eq!(tool_input("{\"a\":"), json!({"_raw": "{\"a\":"}));
        assert_eq!(tool_input("[1]"), json!({"_raw": "[1]"}));
    }

    #[test]
    fn budgets() {
        let r = |effort, budget| Reasoning {
            effort,
            budget_tokens: budget,
        };
        assert_eq!(thinking_budget(None), None);
        assert_eq!(
            thinking_budget(Some(&r(Some(ReasoningEffort::Low), None))),
            Some(1024)
        );
        assert_eq!(
            thinking_budget(Some(&r(Some(ReasoningEffort::Medium), None))),
            Some(4096)
        );
        assert_eq!(
            thinking_budget(Some(&r(Some(ReasoningEffort::High), None))),
            Some(16384)
        );
        assert_eq!(
            thinking_budget(Some(&r(Some(ReasoningEffort::Minimal), None))),
            None
        );
        assert_eq!(
            thinking_budget(Some(&r(Some(ReasoningEffort::None), None))),
            None
        );
        assert_eq!(
            thinking_budget(Some(&r(Some(ReasoningEffort::High), Some(2000)))),
            Some(2000)
        );
        assert_eq!(thinking_budget(Some(&r(None, Some(10)))), Some(1024));
        assert_eq!(thinking_budget(Some(&r(None, Some(0)))), None);
    }

    #[test]
    fn empty_conversation_is_a_client_error() {
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::System, "only system")],
            ..Default::default()
        };
        let err = encode_request(&req, &AnthropicOptions::default(), &mut Dropped::default())
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::BadRequest);
    }
}

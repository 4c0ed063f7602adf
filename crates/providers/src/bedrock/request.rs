//! Canonical request -> Converse / ConverseStream body.
//!
//! Mapping decisions:
//! - `Role::System` messages gather into top-level `system`; a text part carrying
//!   `cache_control` (Anthropic prompt caching) is followed by `{"cachePoint":{"type":"default"}}`,
//!   in `system` and in messages alike.
//! - `Role::Tool` messages become user turns of `toolResult` blocks; consecutive turns of the same
//!   role are merged (Converse wants alternating user/assistant turns).
//! - Images and documents go inline (`bytes`, base64) or by `s3://` location; http(s) URLs and
//!   provider file ids cannot be fetched by Bedrock and follow the `unsupported_params` policy
//!   (`image_url` / `file`).
//! - `tool_choice: none` has no Converse equivalent: `toolChoice` is omitted and the tools are
//!   dropped, unless the history holds toolUse/toolResult blocks — then `toolConfig` must stay
//!   (Bedrock requires it) and the model may still call a tool.
//! - `response_format` JSON (object or schema) is a forced tool [`JSON_TOOL_NAME`]; combined with
//!   the client's own tools it cannot be forced and follows the policy as `response_format`.
//! - `top_k` and reasoning go into `additionalModelRequestFields` by model family: Claude
//!   `top_k` / `thinking{type,budget_tokens}`, Nova `inferenceConfig.topK` /
//!   `reasoningConfig{type,maxReasoningEffort}`, Mistral `top_k`, Cohere `k`; other families
//!   follow the policy.
//! - `temperature` is clamped to Bedrock's 0..=1.
//! - No equivalent (policy): `n` > 1, `seed`, penalties, `logprobs`, `top_logprobs`,
//!   `parallel_tool_calls: false`, `user`, `metadata`, audio input.
//! - `extra` passes through the Converse top-level fields `guardrailConfig`,
//!   `performanceConfig`, `promptVariables`, `requestMetadata`,
//!   `additionalModelResponseFieldPaths`, and merges `additionalModelRequestFields`.

use std::collections::HashSet;

use serde_json::{json, Map, Value};
use switchyard_config::UnsupportedParams;
use switchyard_types::{
    ChatRequest, ContentPart, GatewayError, ReasoningEffort, ResponseFormat, Role, ToolChoice,
};

use super::media::{document_block, image_block};
use super::{family, Family, JSON_TOOL_NAME};
use crate::{unsupported, Dropped};

const PROVIDER: &str = "bedrock";
const PASSTHROUGH: [&str; 5] = [
    "guardrailConfig",
    "performanceConfig",
    "promptVariables",
    "requestMetadata",
    "additionalModelResponseFieldPaths",
];

pub(super) struct Ctx<'a> {
    pub(super) policy: UnsupportedParams,
    pub(super) dropped: &'a mut Dropped,
    /// Document names used so far (Bedrock wants them unique).
    pub(super) doc_names: HashSet<String>,
}

impl Ctx<'_> {
    pub(super) fn unsupported(&mut self, param: &'static str) -> Result<(), GatewayError> {
        unsupported(self.policy, PROVIDER, param, self.dropped)
    }
}

/// Builds the Converse body for `req`.
pub(crate) fn encode_request(
    req: &ChatRequest,
    policy: UnsupportedParams,
    default_max_tokens: Option<u32>,
    dropped: &mut Dropped,
) -> Result<Value, GatewayError> {
    let mut ctx = Ctx {
        policy,
        dropped,
        doc_names: HashSet::new(),
    };
    check_unsupported(req, &mut ctx)?;

    let mut body = Map::new();
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for msg in &req.messages {
        match msg.role {
            Role::System => system_blocks(&msg.content, &mut system)?,
            Role::User | Role::Tool => {
                let blocks = content_blocks(&msg.content, &mut ctx)?;
                push_turn(&mut turns, "user", blocks);
            }
            Role::Assistant => {
                let blocks = content_blocks(&msg.content, &mut ctx)?;
                push_turn(&mut turns, "assistant", blocks);
            }
        }
    }
    let history_tools = history_tool_names(&turns);
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    body.insert("messages".into(), Value::Array(messages));

    let inference = inference_config(req, default_max_tokens);
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if let Some(tc) = tool_config(req, history_tools, &mut ctx)? {
        body.insert("toolConfig".into(), tc);
    }
    let mut extra_fields = additional_fields(req, &mut ctx)?;
    for key in PASSTHROUGH {
        if let Some(v) = req.extra.get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Object(more)) = req.extra.get("additionalModelRequestFields") {
        for (k, v) in more {
            extra_fields.insert(k.clone(), v.clone());
        }
    }
    if !extra_fields.is_empty() {
        body.insert(
            "additionalModelRequestFields".into(),
            Value::Object(extra_fields),
        );
    }
    Ok(Value::Object(body))
}

fn check_unsupported(req: &ChatRequest, ctx: &mut Ctx<'_>) -> Result<(), GatewayError> {
    if req.n.is_some_and(|n| n > 1) {
        ctx.unsupported("n")?;
    }
    if req.seed.is_some() {
        ctx.unsupported("seed")?;
    }
    if req.presence_penalty.is_some() {
        ctx.unsupported("presence_penalty")?;
    }
    if req.frequency_penalty.is_some() {
        ctx.unsupported("frequency_penalty")?;
    }
    if req.logprobs == Some(true) {
        ctx.unsupported("logprobs")?;
    }
    if req.top_logprobs.is_some() {
        ctx.unsupported("top_logprobs")?;
    }
    if req.parallel_tool_calls == Some(false) {
        ctx.unsupported("parallel_tool_calls")?;
    }
    if req.user.is_some() {
        ctx.unsupported("user")?;
    }
    if req.metadata.is_some() {
        ctx.unsupported("metadata")?;
    }
    Ok(())
}

fn push_turn(turns: &mut Vec<(&'static str, Vec<Value>)>, role: &'static str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some((r, content)) if *r == role => content.extend(blocks),
        _ => turns.push((role, blocks)),
    }
}

fn cache_point() -> Value {
    json!({"cachePoint": {"type": "default"}})
}

fn system_blocks(parts: &[ContentPart], out: &mut Vec<Value>) -> Result<(), GatewayError> {
    for part in parts {
        match part {
            ContentPart::Text {
                text,
                cache_control,
            } => {
                if !text.is_empty() {
                    out.push(json!({"text": text}));
                }
                if cache_control.is_some() {
                    out.push(cache_point());
                }
            }
            _ => {
                return Err(GatewayError::bad_request(
                    "bedrock: system messages may only contain text",
                ))
            }
        }
    }
    Ok(())
}

fn content_blocks(parts: &[ContentPart], ctx: &mut Ctx<'_>) -> Result<Vec<Value>, GatewayError> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            ContentPart::Text {
                text,
                cache_control,
            } => {
                if !text.is_empty() {
                    out.push(json!({"text": text}));
                }
                if cache_control.is_some() {
                    out.push(cache_point());
                }
            }
            ContentPart::Image { source, .. } => {
                if let Some(b) = image_block(source, ctx)? {
                    out.push(b);
                }
            }
            ContentPart::File { source, filename } => {
                if let Some(b) = document_block(source, filename.as_deref(), ctx)? {
                    out.push(b);
                }
            }
            ContentPart::Audio { .. } => ctx.unsupported("input_audio")?,
            ContentPart::ToolCall(call) => {
                out.push(json!({"toolUse": {
                    "toolUseId": call.id,
                    "name": call.name,
                    "input": tool_input(&call.arguments),
                }}));
            }
            ContentPart::ToolResult(result) => {
                let mut content = Vec::new();
                for p in &result.content {
                    match p {
                        ContentPart::Text { text, .. } => content.push(json!({"text": text})),
                        ContentPart::Image { source, .. } => {
                            if let Some(b) = image_block(source, ctx)? {
                                content.push(b);
                            }
                        }
                        ContentPart::File { source, filename } => {
                            if let Some(b) = document_block(source, filename.as_deref(), ctx)? {
                                content.push(b);
                            }
                        }
                        _ => ctx.unsupported("tool_result_content")?,
                    }
                }
                out.push(json!({"toolResult": {
                    "toolUseId": result.call_id,
                    "content": content,
                    "status": if result.is_error { "error" } else { "success" },
                }}));
            }
            ContentPart::Reasoning { text, signature } => {
                let mut rt = Map::new();
                rt.insert("text".into(), json!(text));
                if let Some(sig) = signature {
                    rt.insert("signature".into(), json!(sig));
                }
                out.push(json!({"reasoningContent": {"reasoningText": rt}}));
            }
            ContentPart::RedactedReasoning { data } => {
                out.push(json!({"reasoningContent": {"redactedContent": data}}));
            }
        }
    }
    Ok(out)
}

/// Tool arguments are JSON text; Converse wants a JSON document. Empty text is `{}`;
/// unparsable text passes through as a JSON string.
fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// Tool names used by toolUse blocks, and whether any toolUse/toolResult block exists.
fn history_tool_names(turns: &[(&'static str, Vec<Value>)]) -> (bool, Vec<String>) {
    let mut any = false;
    let mut names: Vec<String> = Vec::new();
    for (_, blocks) in turns {
        for b in blocks {
            if let Some(tu) = b.get("toolUse") {
                any = true;
                if let Some(n) = tu.get("name").and_then(Value::as_str) {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_string());
                    }
                }
            } else if b.get("toolResult").is_some() {
                any = true;
            }
        }
    }
    (any, names)
}

fn inference_config(req: &ChatRequest, default_max_tokens: Option<u32>) -> Map<String, Value> {
    let mut c = Map::new();
    if let Some(m) = req.max_tokens.or(default_max_tokens) {
        c.insert("maxTokens".into(), json!(m));
    }
    if let Some(t) = req.temperature {
        c.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
    }
    if let Some(p) = req.top_p {
        c.insert("topP".into(), json!(p));
    }
    if !req.stop.is_empty() {
        c.insert("stopSequences".into(), json!(req.stop));
    }
    c
}

fn tool_spec(name: &str, description: Option<&str>, schema: Value) -> Value {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(name));
    if let Some(d) = description {
        spec.insert("description".into(), json!(d));
    }
    spec.insert("inputSchema".into(), json!({ "json": schema }));
    json!({ "toolSpec": spec })
}

fn tool_config(
    req: &ChatRequest,
    (history_has_tools, history_names): (bool, Vec<String>),
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, GatewayError> {
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| tool_spec(&t.name, t.description.as_deref(), t.parameters.clone()))
        .collect();
    let mut choice = match &req.tool_choice {
        None | Some(ToolChoice::None) => None,
        Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Function(name)) => Some(json!({"tool": {"name": name}})),
    };
    if req.tool_choice == Some(ToolChoice::None) && !history_has_tools {
        tools.clear();
    }
    let json_schema = match &req.response_format {
        Some(ResponseFormat::JsonObject) => Some((json!({"type": "object"}), None)),
        Some(ResponseFormat::JsonSchema {
            schema,
            description,
            ..
        }) => Some((schema.clone(), description.clone())),
        Some(ResponseFormat::Text) | None => None,
    };
    if let Some((schema, description)) = json_schema {
        if req.tools.is_empty() {
            let description = description
                .unwrap_or_else(|| "Give the answer as JSON matching this schema.".to_string());
            tools.push(tool_spec(JSON_TOOL_NAME, Some(&description), schema));
            choice = Some(json!({"tool": {"name": JSON_TOOL_NAME}}));
        } else {
            ctx.unsupported("response_format")?;
        }
    }
    if tools.is_empty() && history_has_tools {
        tools = history_names
            .iter()
            .map(|n| tool_spec(n, None, json!({"type": "object"})))
            .collect();
    }
    if tools.is_empty() {
        return Ok(None);
    }
    let mut tc = Map::new();
    tc.insert("tools".into(), Value::Array(tools));
    if let Some(c) = choice {
        tc.insert("toolChoice".into(), c);
    }
    Ok(Some(Value::Object(tc)))
}

fn effort_budget(effort: ReasoningEffort) -> Option<u32> {
    match effort {
        ReasoningEffort::None => None,
        ReasoningEffort::Minimal | ReasoningEffort::Low => Some(1024),
        ReasoningEffort::Medium => Some(4096),
        ReasoningEffort::High => Some(16384),
    }
}

fn budget_effort(budget: u32) -> &'static str {
    match budget {
        0..=2047 => "low",
        2048..=8191 => "medium",
        _ => "high",
    }
}

fn additional_fields(
    req: &ChatRequest,
    ctx: &mut Ctx<'_>,
) -> Result<Map<String, Value>, GatewayError> {
    let fam = family(&req.model);
    let mut f = Map::new();
    if let Some(k) = req.top_k {
        match fam {
            Family::Claude | Family::Mistral => {
                f.insert("top_k".into(), json!(k));
            }
            Family::Nova => {
                f.insert("inferenceConfig".into(), json!({"topK": k}));
            }
            Family::Cohere => {
                f.insert("k".into(), json!(k));
            }
            Family::Other => ctx.unsupported("top_k")?,
        }
    }
    if let Some(r) = req.reasoning {
        let off = r.effort == Some(ReasoningEffort::None);
        let budget = if off {
            None
        } else {
            r.budget_tokens.or_else(|| r.effort.and_then(effort_budget))
        };
        match (fam, budget) {
            (_, None) => {}
            (Family::Claude, Some(b)) => {
                f.insert(
                    "thinking".into(),
                    json!({"type": "enabled", "budget_tokens": b}),
                );
            }
            (Family::Nova, Some(b)) => {
                let effort = match r.effort {
                    Some(ReasoningEffort::Minimal | ReasoningEffort::Low) => "low",
                    Some(ReasoningEffort::Medium) => "medium",
                    Some(ReasoningEffort::High) => "high",
                    Some(ReasoningEffort::None) | None => budget_effort(b),
                };
                f.insert(
                    "reasoningConfig".into(),
                    json!({"type": "enabled", "maxReasoningEffort": effort}),
                );
            }
            (_, Some(_)) => ctx.unsupported("reasoning_effort")?,
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::{Message, ToolCall, ToolResult};

    fn encode(req: &ChatRequest) -> (Value, Dropped) {
        let mut d = Dropped::default();
        let v = encode_request(req, UnsupportedParams::Drop, None, &mut d).unwrap();
        (v, d)
    }

    #[test]
    fn tool_inputs() {
        assert_eq!(tool_input(""), json!({}));
        assert_eq!(tool_input("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(tool_input("{not json"), json!("{not json"));
    }

    #[test]
    fn tool_choice_none_drops_tools_without_history() {
        let mut req = ChatRequest {
            model: "anthropic.claude-3-haiku-20240307-v1:0".into(),
            messages: vec![Message::text(Role::User, "hi")],
            tools: vec![switchyard_types::Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object"}),
                strict: None,
            }],
            tool_choice: Some(ToolChoice::None),
            ..Default::default()
        };
        assert!(encode(&req).0.get("toolConfig").is_none());
        req.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentPart::ToolCall(ToolCall {
                id: "t1".into(),
                name: "f".into(),
                arguments: "{}".into(),
                signature: None,
            })],
            name: None,
        });
        req.messages.push(Message {
            role: Role::Tool,
            content: vec![ContentPart::ToolResult(ToolResult {
                call_id: "t1".into(),
                name: None,
                content: vec![ContentPart::text("ok")],
                is_error: false,
            })],
            name: None,
        });
        let (v, _) = encode(&req);
        assert_eq!(
            v["toolConfig"],
            json!({"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]})
        );
    }

    #[test]
    fn history_without_declared_tools_synthesizes_specs() {
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![
                Message::text(Role::User, "hi"),
                Message {
                    role: Role::Assistant,
                    content: vec![ContentPart::ToolCall(ToolCall {
                        id: "t1".into(),
                        name: "lookup".into(),
                        arguments: "{}".into(),
                        signature: None,
                    })],
                    name: None,
                },
            ],
            ..Default::default()
        };
        let (v, _) = encode(&req);
        assert_eq!(v["toolConfig"]["tools"][0]["toolSpec"]["name"], "lookup");
        assert!(v["toolConfig"].get("toolChoice").is_none());
    }

    #[test]
    fn reasoning_by_family() {
        let mut req = ChatRequest {
            model: "us.anthropic.claude-sonnet-4-20250514-v1:0".into(),
            messages: vec![Message::text(Role::User, "hi")],
            reasoning: Some(switchyard_types::Reasoning {
                effort: Some(ReasoningEffort::Medium),
                budget_tokens: None,
            }),
            top_k: Some(40),
            ..Default::default()
        };
        let (v, _) = encode(&req);
        assert_eq!(
            v["additionalModelRequestFields"],
            json!({"top_k": 40, "thinking": {"type": "enabled", "budget_tokens": 4096}})
        );
        req.model = "us.amazon.nova-2-lite-v1:0".into();
        req.reasoning = Some(switchyard_types::Reasoning {
            effort: None,
            budget_tokens: Some(20000),
        });
        let (v, _) = encode(&req);
        assert_eq!(
            v["additionalModelRequestFields"],
            json!({"inferenceConfig": {"topK": 40}, "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}})
        );
        req.model = "meta.llama3-70b-instruct-v1:0".into();
        let (v, d) = encode(&req);
        assert!(v.get("additionalModelRequestFields").is_none());
        assert_eq!(d.0, vec!["top_k", "reasoning_effort"]);
        // Effort none means no thinking at all.
        req.model = "anthropic.claude-3-7-sonnet-20250219-v1:0".into();
        req.top_k = None;
        req.reasoning = Some(switchyard_types::Reasoning {
            effort: Some(ReasoningEffort::None),
            budget_tokens: Some(2048),
        });
        assert!(encode(&req).0.get("additionalModelRequestFields").is_none());
    }
}

//! Anthropic Messages request (as a client sends it) -> canonical [`ChatRequest`].
//!
//! - `system` (string or text blocks, `cache_control` kept) becomes one `Role::System` message,
//!   first.
//! - A user turn's `tool_result` blocks become `Role::Tool` messages, in order, followed by one
//!   user message with the turn's remaining blocks (if any): Anthropic puts results before text
//!   in a turn, and OpenAI-shaped providers need the tool messages right after the call.
//! - `tool_use.input` (an object) becomes the arguments' JSON text.
//! - Server tools (a `tools[].type` other than `custom`) and server-tool content blocks cannot be
//!   carried to another provider: they are refused with a 400 `unsupported_parameter` naming the
//!   field, rather than passed through `extra` to a provider that would misread them.
//! - `thinking` `enabled` -> `reasoning.budget_tokens`, `disabled` -> reasoning effort `none`;
//!   another thinking type (newer API versions) is kept in `extra["thinking"]` as given.
//! - Streams of this dialect always carry usage: `include_usage` is always true.

use base64::Engine as _;
use serde_json::Value;
use switchyard_types::{
    ChatRequest, ContentPart, GatewayError, MediaSource, Message, Reasoning, ReasoningEffort, Role,
    Tool, ToolCall, ToolChoice, ToolResult,
};

use crate::json::{self, Obj, Path};
use crate::ToolNames;

/// Parses an Anthropic `POST /v1/messages` body (`max_tokens` is required).
pub fn parse_messages_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    parse(body, true)
}

/// Parses an Anthropic `POST /v1/messages/count_tokens` body (as Messages, `max_tokens` optional).
pub fn parse_count_tokens_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    parse(body, false)
}

fn parse(body: &[u8], require_max_tokens: bool) -> Result<ChatRequest, GatewayError> {
    let mut obj = json::parse_object(body)?;
    let root = Path::ROOT;
    let model = json::req_string(&mut obj, "model", &root)?;
    let max_tokens = json::opt_u32(&mut obj, "max_tokens", &root)?;
    if require_max_tokens && max_tokens.is_none() {
        return Err(json::missing(&root.key("max_tokens")));
    }
    let raw_messages = json::req_array(&mut obj, "messages", &root)?;
    if raw_messages.is_empty() {
        return Err(json::bad(
            &root.key("messages"),
            "at least one message is required",
        ));
    }
    let mut messages = Vec::with_capacity(raw_messages.len() + 1);
    if let Some(system) = json::take(&mut obj, "system") {
        if let Some(m) = parse_system(system, &root.key("system"))? {
            messages.push(m);
        }
    }
    parse_messages(raw_messages, &root.key("messages"), &mut messages)?;

    let tools = match json::opt_array(&mut obj, "tools", &root)? {
        Some(raw) => parse_tools(raw, &root.key("tools"))?,
        None => Vec::new(),
    };
    let (tool_choice, parallel_tool_calls) = match json::opt_object(&mut obj, "tool_choice", &root)?
    {
        Some(tc) => parse_tool_choice(tc, &root.key("tool_choice"))?,
        None => (None, None),
    };

    let user = match json::opt_object(&mut obj, "metadata", &root)? {
        Some(mut md) => json::opt_string(&mut md, "user_id", &root.key("metadata"))?,
        None => None,
    };
    let reasoning = match json::opt_object(&mut obj, "thinking", &root)? {
        Some(t) => parse_thinking(t, &root.key("thinking"), &mut obj)?,
        None => None,
    };

    Ok(ChatRequest {
        model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        temperature: json::opt_f64(&mut obj, "temperature", &root)?,
        top_p: json::opt_f64(&mut obj, "top_p", &root)?,
        top_k: json::opt_u32(&mut obj, "top_k", &root)?,
        max_tokens,
        stop: json::opt_string_list(&mut obj, "stop_sequences", &root)?,
        reasoning,
        stream: json::opt_bool(&mut obj, "stream", &root)?.unwrap_or(false),
        include_usage: true,
        user,
        extra: json::into_extra(obj),
        ..ChatRequest::default()
    })
}

fn parse_system(v: Value, path: &Path<'_>) -> Result<Option<Message>, GatewayError> {
    let content = match v {
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => vec![ContentPart::text(s)],
        Value::Array(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.into_iter().enumerate() {
                let p = path.index(i);
                let mut o = json::as_object(b, &p)?;
                let kind = json::req_string(&mut o, "type", &p)?;
                if kind != "text" {
                    return Err(json::bad(
                        &p.key("type"),
                        format!("system blocks must be 'text', got '{kind}'"),
                    ));
                }
                parts.push(text_block(o, &p)?);
            }
            if parts.is_empty() {
                return Ok(None);
            }
            parts
        }
        other => {
            return Err(json::invalid_type(
                path,
                "a string or an array of text blocks",
                &other,
            ))
        }
    };
    Ok(Some(Message {
        role: Role::System,
        content,
        name: None,
    }))
}

fn parse_messages(
    raw: Vec<Value>,
    path: &Path<'_>,
    out: &mut Vec<Message>,
) -> Result<(), GatewayError> {
    let mut names = ToolNames::default();
    for (i, v) in raw.into_iter().enumerate() {
        let p = path.index(i);
        let mut m = json::as_object(v, &p)?;
        let role = match json::req_string(&mut m, "role", &p)?.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(json::bad(
                    &p.key("role"),
                    format!("expected 'user' or 'assistant', got '{other}'"),
                ))
            }
        };
        let cp = p.key("content");
        let blocks = match json::take(&mut m, "content") {
            None => return Err(json::missing(&cp)),
            Some(Value::String(s)) => {
                out.push(Message::text(role, s));
                continue;
            }
            Some(Value::Array(blocks)) => blocks,
            Some(other) => {
                return Err(json::invalid_type(
                    &cp,
                    "a string or an array of content blocks",
                    &other,
                ))
            }
        };
        let mut parts = Vec::with_capacity(blocks.len());
        let mut had_results = false;
        for (j, b) in blocks.into_iter().enumerate() {
            let bp = cp.index(j);
            match parse_block(json::as_object(b, &bp)?, &bp, role, &mut names)? {
                Block::Part(part) => parts.push(part),
                Block::Result(result) => {
                    had_results = true;
                    out.push(Message {
                        role: Role::Tool,
                        content: vec![ContentPart::ToolResult(result)],
                        name: None,
                    });
                }
            }
        }
        if !parts.is_empty() || !had_results {
            out.push(Message {
                role,
                content: parts,
                name: None,
            });
        }
    }
    Ok(())
}

enum Block {
    Part(ContentPart),
    Result(ToolResult),
}

fn parse_block(
    mut o: Obj,
    path: &Path<'_>,
    role: Role,
    names: &mut ToolNames,
) -> Result<Block, GatewayError> {
    let kind = json::req_string(&mut o, "type", path)?;
    let user = role == Role::User;
    let part = match kind.as_str() {
        "text" => text_block(o, path)?,
        "image" if user => image_block(o, path)?,
        "document" if user => document_block(o, path)?,
        "tool_result" if user => return tool_result_block(o, path, names).map(Block::Result),
        "tool_use" if !user => {
            let id = json::req_string(&mut o, "id", path)?;
            let name = json::req_string(&mut o, "name", path)?;
            let arguments = match json::take(&mut o, "input") {
                None => "{}".to_string(),
                Some(input) => input.to_string(),
            };
            names.record(&id, &name);
            ContentPart::ToolCall(ToolCall {
                id,
                name,
                arguments,
                signature: None,
            })
        }
        "thinking" if !user => ContentPart::Reasoning {
            text: json::req_string(&mut o, "thinking", path)?,
            signature: json::opt_string(&mut o, "signature", path)?.filter(|s| !s.is_empty()),
        },
        "redacted_thinking" if !user => ContentPart::RedactedReasoning {
            data: json::req_string(&mut o, "data", path)?,
        },
        "image" | "document" | "tool_result" | "tool_use" | "thinking" | "redacted_thinking" => {
            let role = if user { "user" } else { "assistant" };
            return Err(json::bad(
                &path.key("type"),
                format!("a '{kind}' block is not allowed in a {role} message"),
            ));
        }
        other => {
            return Err(json::unsupported(
                &path.key("type"),
                format!("content block type '{other}' cannot be translated to another provider"),
            ))
        }
    };
    Ok(Block::Part(part))
}

fn text_block(mut o: Obj, path: &Path<'_>) -> Result<ContentPart, GatewayError> {
    Ok(ContentPart::Text {
        text: json::req_string(&mut o, "text", path)?,
        cache_control: json::take(&mut o, "cache_control"),
    })
}

fn image_block(mut o: Obj, path: &Path<'_>) -> Result<ContentPart, GatewayError> {
    let source = json::req_object(&mut o, "source", path)?;
    Ok(ContentPart::Image {
        source: parse_source(source, &path.key("source"), false)?,
        detail: None,
    })
}

fn document_block(mut o: Obj, path: &Path<'_>) -> Result<ContentPart, GatewayError> {
    let source = json::req_object(&mut o, "source", path)?;
    Ok(ContentPart::File {
        source: parse_source(source, &path.key("source"), true)?,
        filename: json::opt_string(&mut o, "title", path)?,
    })
}

/// `base64` / `url` / `file` sources; documents also take plain `text` (carried as base64
/// `text/plain`).
fn parse_source(mut s: Obj, path: &Path<'_>, document: bool) -> Result<MediaSource, GatewayError> {
    let kind = json::req_string(&mut s, "type", path)?;
    match kind.as_str() {
        "base64" => Ok(MediaSource::Base64 {
            media_type: json::req_string(&mut s, "media_type", path)?,
            data: json::req_string(&mut s, "data", path)?,
        }),
        "url" => Ok(MediaSource::Url {
            url: json::req_string(&mut s, "url", path)?,
        }),
        "file" => Ok(MediaSource::FileId {
            id: json::req_string(&mut s, "file_id", path)?,
        }),
        "text" if document => {
            let text = json::req_string(&mut s, "data", path)?;
            Ok(MediaSource::Base64 {
                media_type: json::opt_string(&mut s, "media_type", path)?
                    .unwrap_or_else(|| "text/plain".into()),
                data: base64::engine::general_purpose::STANDARD.encode(text),
            })
        }
        other => Err(json::unsupported(
            &path.key("type"),
            format!("source type '{other}' cannot be translated"),
        )),
    }
}

fn tool_result_block(
    mut o: Obj,
    path: &Path<'_>,
    names: &ToolNames,
) -> Result<ToolResult, GatewayError> {
    let call_id = json::req_string(&mut o, "tool_use_id", path)?;
    let cp = path.key("content");
    let content = match json::take(&mut o, "content") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![ContentPart::text(s)],
        Some(Value::Array(blocks)) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (k, b) in blocks.into_iter().enumerate() {
                let bp = cp.index(k);
                let mut bo = json::as_object(b, &bp)?;
                let kind = json::req_string(&mut bo, "type", &bp)?;
                parts.push(match kind.as_str() {
                    "text" => text_block(bo, &bp)?,
                    "image" => image_block(bo, &bp)?,
                    "document" => document_block(bo, &bp)?,
                    other => {
                        return Err(json::unsupported(
                            &bp.key("type"),
                            format!("tool_result content type '{other}' cannot be translated"),
                        ))
                    }
                });
            }
            parts
        }
        Some(other) => {
            return Err(json::invalid_type(
                &cp,
                "a string or an array of content blocks",
                &other,
            ))
        }
    };
    Ok(ToolResult {
        name: names.lookup(&call_id),
        call_id,
        content,
        is_error: json::opt_bool(&mut o, "is_error", path)?.unwrap_or(false),
    })
}

fn parse_tools(raw: Vec<Value>, path: &Path<'_>) -> Result<Vec<Tool>, GatewayError> {
    let mut tools = Vec::with_capacity(raw.len());
    for (i, v) in raw.into_iter().enumerate() {
        let p = path.index(i);
        let mut o = json::as_object(v, &p)?;
        if let Some(kind) = json::opt_string(&mut o, "type", &p)? {
            if kind != "custom" {
                return Err(json::unsupported(
                    &p.key("type"),
                    format!("server tool '{kind}' cannot be translated to another provider"),
                ));
            }
        }
        let name = json::req_string(&mut o, "name", &p)?;
        let parameters = match json::opt_object(&mut o, "input_schema", &p)? {
            Some(schema) => Value::Object(schema),
            None => return Err(json::missing(&p.key("input_schema"))),
        };
        tools.push(Tool {
            name,
            description: json::opt_string(&mut o, "description", &p)?,
            parameters,
            strict: json::opt_bool(&mut o, "strict", &p)?,
        });
    }
    Ok(tools)
}

fn parse_tool_choice(
    mut o: Obj,
    path: &Path<'_>,
) -> Result<(Option<ToolChoice>, Option<bool>), GatewayError> {
    let kind = json::req_string(&mut o, "type", path)?;
    let choice = match kind.as_str() {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Function(json::req_string(&mut o, "name", path)?),
        other => {
            return Err(json::bad(
                &path.key("type"),
                format!("expected 'auto', 'any', 'tool' or 'none', got '{other}'"),
            ))
        }
    };
    let parallel = json::opt_bool(&mut o, "disable_parallel_tool_use", path)?.map(|d| !d);
    Ok((Some(choice), parallel))
}

fn parse_thinking(
    mut t: Obj,
    path: &Path<'_>,
    rest: &mut Obj,
) -> Result<Option<Reasoning>, GatewayError> {
    let kind = match t.get("type") {
        Some(Value::String(k)) => k.clone(),
        Some(other) => return Err(json::invalid_type(&path.key("type"), "a string", other)),
        None => return Err(json::missing(&path.key("type"))),
    };
    match kind.as_str() {
        "enabled" => {
            let budget = json::opt_u32(&mut t, "budget_tokens", path)?
                .ok_or_else(|| json::missing(&path.key("budget_tokens")))?;
            Ok(Some(Reasoning {
                effort: None,
                budget_tokens: Some(budget),
            }))
        }
        "disabled" => Ok(Some(Reasoning {
            effort: Some(ReasoningEffort::None),
            budget_tokens: None,
        })),
        _ => {
            rest.insert("thinking".into(), Value::Object(t));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> GatewayError {
        parse_messages_request(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn max_tokens_is_required_for_messages_only() {
        let body = r#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(err(body).param.as_deref(), Some("max_tokens"));
        let r = parse_count_tokens_request(body.as_bytes()).unwrap();
        assert_eq!(r.max_tokens, None);
        assert!(r.include_usage);
    }

    #[test]
    fn tool_results_come_before_the_turns_text() {
        let r = parse_messages_request(
            br#"{"model":"c","max_tokens":10,"messages":[
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"w","input":{"c":"P"}},
                                             {"type":"tool_use","id":"t2","name":"v","input":{}}]},
              {"role":"user","content":[{"type":"text","text":"thanks"},
                {"type":"tool_result","tool_use_id":"t1","content":"18 C"},
                {"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"x"}],"is_error":true}]}]}"#,
        )
        .unwrap();
        let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::Tool,
                Role::User
            ]
        );
        let ContentPart::ToolResult(t2) = &r.messages[3].content[0] else {
            panic!("{:?}", r.messages[3]);
        };
        assert_eq!(t2.call_id, "t2");
        assert_eq!(t2.name.as_deref(), Some("v"));
        assert!(t2.is_error);
        assert_eq!(r.messages[4].joined_text(), "thanks");
    }

    #[test]
    fn server_tools_and_blocks_are_refused_with_the_path() {
        let e = err(
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"x"}],
            "tools":[{"type":"web_search_20250305","name":"web_search"}]}"#,
        );
        assert_eq!(e.param.as_deref(), Some("tools[0].type"));
        assert_eq!(e.code_str(), "unsupported_parameter");
        let e = err(
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}"#,
        );
        assert_eq!(e.param.as_deref(), Some("messages[0].content[0].type"));
    }

    #[test]
    fn misplaced_blocks_and_roles() {
        let e = err(
            r#"{"model":"c","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}"#,
        );
        assert_eq!(e.param.as_deref(), Some("messages[0].content[0].type"));
        let e = err(r#"{"model":"c","max_tokens":1,"messages":[{"role":"system","content":"x"}]}"#);
        assert_eq!(e.param.as_deref(), Some("messages[0].role"));
    }

    #[test]
    fn unknown_thinking_type_goes_to_extra() {
        let r = parse_messages_request(
            br#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"adaptive"}}"#,
        )
        .unwrap();
        assert_eq!(r.reasoning, None);
        assert_eq!(r.extra["thinking"]["type"], "adaptive");
    }

    #[test]
    fn text_documents_are_base64_text() {
        let r = parse_messages_request(
            br#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[
            {"type":"document","title":"t.txt","source":{"type":"text","media_type":"text/plain","data":"hi"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            r.messages[0].content[0],
            ContentPart::File {
                source: MediaSource::Base64 {
                    media_type: "text/plain".into(),
                    data: "aGk=".into()
                },
                filename: Some("t.txt".into())
            }
        );
    }
}

//! OpenAI Chat Completions request (as a client sends it) -> canonical [`ChatRequest`].
//!
//! Every known field is moved out of the parsed body and typed; whatever remains goes to
//! `extra`. Wrong types and missing required fields are 400s naming the field path.
//! Non-standard fields accepted: `top_k`, `thinking` (`{type:"enabled",budget_tokens}`), and on
//! assistant messages `reasoning_content`, `thinking_blocks` and tool-call `thought_signature`
//! (what [`super::render_chat_response`] emits, so reasoning survives a multi-turn tool loop).

use serde_json::Value;
use switchyard_types::{
    ChatRequest, ContentPart, GatewayError, MediaSource, Message, Reasoning, ReasoningEffort,
    ResponseFormat, Role, Tool, ToolCall, ToolChoice, ToolResult,
};

use crate::json::{self, Obj, Path};
use crate::ToolNames;

/// Parses an OpenAI `POST /v1/chat/completions` body.
pub fn parse_chat_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut obj = json::parse_object(body)?;
    let root = Path::ROOT;
    let model = json::req_string(&mut obj, "model", &root)?;
    let raw_messages = json::req_array(&mut obj, "messages", &root)?;
    if raw_messages.is_empty() {
        return Err(json::bad(
            &root.key("messages"),
            "at least one message is required",
        ));
    }
    let messages = parse_messages(raw_messages, &root.key("messages"))?;

    let mut tools = match json::opt_array(&mut obj, "tools", &root)? {
        Some(raw) => parse_tools(raw, &root.key("tools"))?,
        None => Vec::new(),
    };
    if let Some(raw) = json::opt_array(&mut obj, "functions", &root)? {
        let path = root.key("functions");
        for (i, v) in raw.into_iter().enumerate() {
            let p = path.index(i);
            tools.push(parse_function_def(json::as_object(v, &p)?, &p)?);
        }
    }
    let mut tool_choice = json::take(&mut obj, "tool_choice")
        .map(|v| parse_tool_choice(v, &root.key("tool_choice")))
        .transpose()?;
    if let Some(v) = json::take(&mut obj, "function_call") {
        let legacy = parse_legacy_function_call(v, &root.key("function_call"))?;
        tool_choice = tool_choice.or(Some(legacy));
    }

    let response_format = json::opt_object(&mut obj, "response_format", &root)?
        .map(|o| parse_response_format(o, &root.key("response_format")))
        .transpose()?;

    let max_completion = json::opt_u32(&mut obj, "max_completion_tokens", &root)?;
    let max_legacy = json::opt_u32(&mut obj, "max_tokens", &root)?;

    let effort = json::opt_string(&mut obj, "reasoning_effort", &root)?
        .map(|s| parse_effort(&s, &root.key("reasoning_effort")))
        .transpose()?;
    let mut reasoning = effort.map(|e| Reasoning {
        effort: Some(e),
        budget_tokens: None,
    });
    if let Some(thinking) = json::opt_object(&mut obj, "thinking", &root)? {
        apply_thinking(thinking, &root.key("thinking"), &mut reasoning)?;
    }

    let stream = json::opt_bool(&mut obj, "stream", &root)?.unwrap_or(false);
    let include_usage = match json::opt_object(&mut obj, "stream_options", &root)? {
        Some(mut so) => {
            json::opt_bool(&mut so, "include_usage", &root.key("stream_options"))?.unwrap_or(false)
        }
        None => false,
    };

    Ok(ChatRequest {
        model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: json::opt_bool(&mut obj, "parallel_tool_calls", &root)?,
        response_format,
        temperature: json::opt_f64(&mut obj, "temperature", &root)?,
        top_p: json::opt_f64(&mut obj, "top_p", &root)?,
        top_k: json::opt_u32(&mut obj, "top_k", &root)?,
        max_tokens: max_completion.or(max_legacy),
        stop: json::opt_string_list(&mut obj, "stop", &root)?,
        seed: json::opt_i64(&mut obj, "seed", &root)?,
        presence_penalty: json::opt_f64(&mut obj, "presence_penalty", &root)?,
        frequency_penalty: json::opt_f64(&mut obj, "frequency_penalty", &root)?,
        n: json::opt_u32(&mut obj, "n", &root)?,
        logprobs: json::opt_bool(&mut obj, "logprobs", &root)?,
        top_logprobs: json::opt_u32(&mut obj, "top_logprobs", &root)?,
        reasoning,
        stream,
        include_usage,
        user: json::opt_string(&mut obj, "user", &root)?,
        metadata: json::opt_object(&mut obj, "metadata", &root)?,
        extra: json::into_extra(obj),
    })
}

fn parse_messages(raw: Vec<Value>, path: &Path<'_>) -> Result<Vec<Message>, GatewayError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut names = ToolNames::default();
    // The id given to the last legacy `function_call`, for the `function` message answering it.
    let mut legacy_call: Option<(String, String)> = None;
    for (i, v) in raw.into_iter().enumerate() {
        let p = path.index(i);
        let mut m = json::as_object(v, &p)?;
        let role = json::req_string(&mut m, "role", &p)?;
        let name = json::opt_string(&mut m, "name", &p)?;
        let content = json::take(&mut m, "content");
        let content_path = p.key("content");
        let message = match role.as_str() {
            "system" | "developer" => Message {
                role: Role::System,
                content: parse_content(content, &content_path, Allowed::Text)?,
                name,
            },
            "user" => Message {
                role: Role::User,
                content: parse_content(content, &content_path, Allowed::User)?,
                name,
            },
            "assistant" => {
                let mut parts = parse_reasoning(&mut m, &p)?;
                parts.extend(parse_content(content, &content_path, Allowed::Assistant)?);
                if let Some(calls) = json::opt_array(&mut m, "tool_calls", &p)? {
                    let calls_path = p.key("tool_calls");
                    for (j, c) in calls.into_iter().enumerate() {
                        let call = parse_tool_call(c, &calls_path.index(j))?;
                        names.record(&call.id, &call.name);
                        parts.push(ContentPart::ToolCall(call));
                    }
                }
                if let Some(fc) = json::opt_object(&mut m, "function_call", &p)? {
                    let fp = p.key("function_call");
                    let mut call = parse_function(fc, &fp)?;
                    call.id = format!("call_legacy_{i}");
                    legacy_call = Some((call.id.clone(), call.name.clone()));
                    parts.push(ContentPart::ToolCall(call));
                }
                Message {
                    role: Role::Assistant,
                    content: parts,
                    name,
                }
            }
            "tool" => {
                let call_id = json::req_string(&mut m, "tool_call_id", &p)?;
                let result = ToolResult {
                    name: names.lookup(&call_id),
                    call_id,
                    content: parse_content(content, &content_path, Allowed::Tool)?,
                    is_error: false,
                };
                Message {
                    role: Role::Tool,
                    content: vec![ContentPart::ToolResult(result)],
                    name: None,
                }
            }
            "function" => {
                let fname = name.ok_or_else(|| json::missing(&p.key("name")))?;
                let call_id = match legacy_call.take() {
                    Some((id, n)) if n == fname => id,
                    _ => format!("call_legacy_{fname}"),
                };
                let result = ToolResult {
                    call_id,
                    name: Some(fname),
                    content: parse_content(content, &content_path, Allowed::Tool)?,
                    is_error: false,
                };
                Message {
                    role: Role::Tool,
                    content: vec![ContentPart::ToolResult(result)],
                    name: None,
                }
            }
            other => {
                return Err(json::bad(
                    &p.key("role"),
                    format!(
                        "unknown role '{other}' (expected system, developer, user, assistant \
                         or tool)"
                    ),
                ))
            }
        };
        out.push(message);
    }
    Ok(out)
}

/// Which content parts a role may carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// system / developer: text only.
    Text,
    User,
    /// Text; `refusal` parts are accepted and dropped.
    Assistant,
    /// Tool results: text and images.
    Tool,
}

impl Allowed {
    fn role(self) -> &'static str {
        match self {
            Allowed::Text => "system",
            Allowed::User => "user",
            Allowed::Assistant => "assistant",
            Allowed::Tool => "tool",
        }
    }
}

fn parse_content(
    content: Option<Value>,
    path: &Path<'_>,
    allowed: Allowed,
) -> Result<Vec<ContentPart>, GatewayError> {
    match content {
        None => Ok(Vec::new()),
        // Clients send `"content": ""` beside tool calls; an empty text block is an error on
        // some providers (Anthropic), and it says nothing.
        Some(Value::String(s)) if s.is_empty() && allowed == Allowed::Assistant => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![ContentPart::text(s)]),
        Some(Value::Array(items)) => {
            let mut parts = Vec::with_capacity(items.len());
            for (j, item) in items.into_iter().enumerate() {
                let p = path.index(j);
                if let Some(part) = parse_part(json::as_object(item, &p)?, &p, allowed)? {
                    parts.push(part);
                }
            }
            Ok(parts)
        }
        Some(other) => Err(json::invalid_type(
            path,
            "a string or an array of content parts",
            &other,
        )),
    }
}

fn parse_part(
    mut obj: Obj,
    path: &Path<'_>,
    allowed: Allowed,
) -> Result<Option<ContentPart>, GatewayError> {
    let kind = json::req_string(&mut obj, "type", path)?;
    let media_ok = matches!(allowed, Allowed::User | Allowed::Tool);
    let part = match kind.as_str() {
        "text" => ContentPart::text(json::req_string(&mut obj, "text", path)?),
        "refusal" if allowed == Allowed::Assistant => return Ok(None),
        "image_url" if media_ok => {
            let p = path.key("image_url");
            let (url, detail) = match json::take(&mut obj, "image_url") {
                None => return Err(json::missing(&p)),
                Some(Value::String(url)) => (url, None),
                Some(v) => {
                    let mut io = json::as_object(v, &p)?;
                    (
                        json::req_string(&mut io, "url", &p)?,
                        json::opt_string(&mut io, "detail", &p)?,
                    )
                }
            };
            ContentPart::Image {
                source: MediaSource::Url { url }.normalize_data_url(),
                detail,
            }
        }
        "input_audio" if allowed == Allowed::User => {
            let p = path.key("input_audio");
            let mut a = json::req_object(&mut obj, "input_audio", path)?;
            ContentPart::Audio {
                data: json::req_string(&mut a, "data", &p)?,
                format: json::req_string(&mut a, "format", &p)?,
            }
        }
        "file" if allowed == Allowed::User => {
            let p = path.key("file");
            let mut f = json::req_object(&mut obj, "file", path)?;
            let filename = json::opt_string(&mut f, "filename", &p)?;
            let source = if let Some(id) = json::opt_string(&mut f, "file_id", &p)? {
                MediaSource::FileId { id }
            } else if let Some(data) = json::opt_string(&mut f, "file_data", &p)? {
                file_data_source(data)
            } else {
                return Err(json::bad(&p, "one of 'file_id' or 'file_data' is required"));
            };
            ContentPart::File { source, filename }
        }
        other => {
            return Err(json::bad(
                &path.key("type"),
                format!(
                    "content part type '{other}' is not accepted in a {} message",
                    allowed.role()
                ),
            ))
        }
    };
    Ok(Some(part))
}

/// OpenAI `file_data` is a `data:` URL; bare base64 is taken as a PDF, the only document type
/// Chat Completions accepts inline.
fn file_data_source(data: String) -> MediaSource {
    if data.starts_with("data:") {
        MediaSource::Url { url: data }.normalize_data_url()
    } else {
        MediaSource::Base64 {
            media_type: "application/pdf".to_string(),
            data,
        }
    }
}

/// Non-standard reasoning on an assistant message, placed before its other parts:
/// `thinking_blocks` (complete, with signatures) when given, else `reasoning_content`.
fn parse_reasoning(m: &mut Obj, path: &Path<'_>) -> Result<Vec<ContentPart>, GatewayError> {
    let text = json::opt_string(m, "reasoning_content", path)?;
    let Some(blocks) = json::opt_array(m, "thinking_blocks", path)? else {
        return Ok(text
            .filter(|t| !t.is_empty())
            .map(|text| ContentPart::Reasoning {
                text,
                signature: None,
            })
            .into_iter()
            .collect());
    };
    let bp = path.key("thinking_blocks");
    let mut parts = Vec::with_capacity(blocks.len());
    for (k, b) in blocks.into_iter().enumerate() {
        let p = bp.index(k);
        let mut o = json::as_object(b, &p)?;
        let kind = json::req_string(&mut o, "type", &p)?;
        parts.push(match kind.as_str() {
            "thinking" => ContentPart::Reasoning {
                text: json::opt_string(&mut o, "thinking", &p)?.unwrap_or_default(),
                signature: json::opt_string(&mut o, "signature", &p)?.filter(|s| !s.is_empty()),
            },
            "redacted_thinking" => ContentPart::RedactedReasoning {
                data: json::req_string(&mut o, "data", &p)?,
            },
            other => {
                return Err(json::bad(
                    &p.key("type"),
                    format!("expected 'thinking' or 'redacted_thinking', got '{other}'"),
                ))
            }
        });
    }
    Ok(parts)
}

fn parse_tool_call(v: Value, path: &Path<'_>) -> Result<ToolCall, GatewayError> {
    let mut o = json::as_object(v, path)?;
    let id = json::req_string(&mut o, "id", path)?;
    if let Some(kind) = json::opt_string(&mut o, "type", path)? {
        if kind != "function" {
            return Err(json::unsupported(
                &path.key("type"),
                format!("only function tool calls can be translated, got '{kind}'"),
            ));
        }
    }
    let signature = json::opt_string(&mut o, "thought_signature", path)?;
    let function = json::req_object(&mut o, "function", path)?;
    let mut call = parse_function(function, &path.key("function"))?;
    call.id = id;
    call.signature = signature;
    Ok(call)
}

/// `{name, arguments}`; arguments are JSON text (an object is accepted and serialised).
fn parse_function(mut f: Obj, path: &Path<'_>) -> Result<ToolCall, GatewayError> {
    let name = json::req_string(&mut f, "name", path)?;
    let arguments = match json::take(&mut f, "arguments") {
        None => "{}".to_string(),
        Some(Value::String(s)) => s,
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(other) => {
            return Err(json::invalid_type(
                &path.key("arguments"),
                "a string of JSON",
                &other,
            ))
        }
    };
    Ok(ToolCall {
        id: String::new(),
        name,
        arguments,
        signature: None,
    })
}

fn parse_tools(raw: Vec<Value>, path: &Path<'_>) -> Result<Vec<Tool>, GatewayError> {
    let mut tools = Vec::with_capacity(raw.len());
    for (i, v) in raw.into_iter().enumerate() {
        let p = path.index(i);
        let mut o = json::as_object(v, &p)?;
        let kind = json::opt_string(&mut o, "type", &p)?;
        if let Some(kind) = kind.filter(|k| k != "function") {
            return Err(json::unsupported(
                &p.key("type"),
                format!("only function tools can be translated, got '{kind}'"),
            ));
        }
        let f = json::req_object(&mut o, "function", &p)?;
        tools.push(parse_function_def(f, &p.key("function"))?);
    }
    Ok(tools)
}

/// `{name, description, parameters, strict}` (a `tools[].function` or a legacy `functions[]`).
fn parse_function_def(mut f: Obj, path: &Path<'_>) -> Result<Tool, GatewayError> {
    let name = json::req_string(&mut f, "name", path)?;
    let description = json::opt_string(&mut f, "description", path)?;
    let parameters = match json::opt_object(&mut f, "parameters", path)? {
        Some(p) => Value::Object(p),
        None => empty_object_schema(),
    };
    Ok(Tool {
        name,
        description,
        parameters,
        strict: json::opt_bool(&mut f, "strict", path)?,
    })
}

/// The schema of a function without parameters.
pub(crate) fn empty_object_schema() -> Value {
    let mut m = Obj::new();
    m.insert("type".into(), Value::String("object".into()));
    m.insert("properties".into(), Value::Object(Obj::new()));
    Value::Object(m)
}

fn parse_tool_choice(v: Value, path: &Path<'_>) -> Result<ToolChoice, GatewayError> {
    match v {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(json::bad(
                path,
                format!("expected 'auto', 'none', 'required' or an object, got '{other}'"),
            )),
        },
        Value::Object(mut o) => {
            let kind = json::req_string(&mut o, "type", path)?;
            if kind != "function" {
                return Err(json::unsupported(
                    &path.key("type"),
                    format!("tool_choice type '{kind}' cannot be translated"),
                ));
            }
            let mut f = json::req_object(&mut o, "function", path)?;
            let name = json::req_string(&mut f, "name", &path.key("function"))?;
            Ok(ToolChoice::Function(name))
        }
        other => Err(json::invalid_type(path, "a string or an object", &other)),
    }
}

fn parse_legacy_function_call(v: Value, path: &Path<'_>) -> Result<ToolChoice, GatewayError> {
    match v {
        Value::String(s) if s == "auto" => Ok(ToolChoice::Auto),
        Value::String(s) if s == "none" => Ok(ToolChoice::None),
        Value::String(s) => Err(json::bad(
            path,
            format!("expected 'auto', 'none' or {{\"name\"}}, got '{s}'"),
        )),
        Value::Object(mut o) => Ok(ToolChoice::Function(json::req_string(
            &mut o, "name", path,
        )?)),
        other => Err(json::invalid_type(path, "a string or an object", &other)),
    }
}

fn parse_response_format(mut o: Obj, path: &Path<'_>) -> Result<ResponseFormat, GatewayError> {
    let kind = json::req_string(&mut o, "type", path)?;
    match kind.as_str() {
        "text" => Ok(ResponseFormat::Text),
        "json_object" => Ok(ResponseFormat::JsonObject),
        "json_schema" => {
            let p = path.key("json_schema");
            let mut js = json::req_object(&mut o, "json_schema", path)?;
            let name = json::opt_string(&mut js, "name", &p)?.unwrap_or_else(|| "response".into());
            let schema = json::opt_object(&mut js, "schema", &p)?.unwrap_or_default();
            Ok(ResponseFormat::JsonSchema {
                name,
                schema: Value::Object(schema),
                strict: json::opt_bool(&mut js, "strict", &p)?,
                description: json::opt_string(&mut js, "description", &p)?,
            })
        }
        other => Err(json::bad(
            &path.key("type"),
            format!("expected 'text', 'json_object' or 'json_schema', got '{other}'"),
        )),
    }
}

fn parse_effort(s: &str, path: &Path<'_>) -> Result<ReasoningEffort, GatewayError> {
    match s {
        "none" => Ok(ReasoningEffort::None),
        "minimal" => Ok(ReasoningEffort::Minimal),
        "low" => Ok(ReasoningEffort::Low),
        "medium" => Ok(ReasoningEffort::Medium),
        "high" => Ok(ReasoningEffort::High),
        other => Err(json::bad(
            path,
            format!("expected none, minimal, low, medium or high, got '{other}'"),
        )),
    }
}

/// Non-standard Anthropic-style `thinking`: `enabled` sets the budget, `disabled` asks for no
/// reasoning unless `reasoning_effort` already said otherwise.
fn apply_thinking(
    mut t: Obj,
    path: &Path<'_>,
    reasoning: &mut Option<Reasoning>,
) -> Result<(), GatewayError> {
    let kind = json::req_string(&mut t, "type", path)?;
    let r = reasoning.get_or_insert_with(Reasoning::default);
    match kind.as_str() {
        "enabled" => {
            let budget = json::opt_u32(&mut t, "budget_tokens", path)?
                .ok_or_else(|| json::missing(&path.key("budget_tokens")))?;
            r.budget_tokens = Some(budget);
        }
        "disabled" => {
            r.effort.get_or_insert(ReasoningEffort::None);
        }
        other => {
            return Err(json::bad(
                &path.key("type"),
                format!("expected 'enabled' or 'disabled', got '{other}'"),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> GatewayError {
        parse_chat_request(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn minimal_request() {
        let r = parse_chat_request(br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
            .unwrap();
        assert_eq!(r.model, "m");
        assert_eq!(r.messages, vec![Message::text(Role::User, "hi")]);
        assert!(!r.stream && !r.include_usage && r.extra.is_empty());
    }

    #[test]
    fn missing_and_empty_messages_name_the_param() {
        let e = err(r#"{"model":"m"}"#);
        assert_eq!(e.param.as_deref(), Some("messages"));
        let e = err(r#"{"model":"m","messages":[]}"#);
        assert_eq!(e.param.as_deref(), Some("messages"));
        let e = err(r#"{"messages":[{"role":"user","content":"x"}]}"#);
        assert_eq!(e.param.as_deref(), Some("model"));
    }

    #[test]
    fn wrong_types_name_the_path() {
        let e = err(
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":7}}]}]}"#,
        );
        assert_eq!(
            e.param.as_deref(),
            Some("messages[0].content[0].image_url.url")
        );
        let e =
            err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#);
        assert_eq!(e.param.as_deref(), Some("temperature"));
        let e = err(r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#);
        assert_eq!(e.param.as_deref(), Some("messages[0].role"));
        let e = err(
            r#"{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":"u"}]}]}"#,
        );
        assert_eq!(e.param.as_deref(), Some("messages[0].content[0].type"));
    }

    #[test]
    fn legacy_functions_become_tools() {
        let r = parse_chat_request(
            br#"{"model":"m","functions":[{"name":"f"}],"function_call":{"name":"f"},
            "messages":[{"role":"user","content":"x"},
              {"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}},
              {"role":"function","name":"f","content":"42"}]}"#,
        )
        .unwrap();
        assert_eq!(r.tools[0].name, "f");
        assert_eq!(r.tools[0].parameters, empty_object_schema());
        assert_eq!(r.tool_choice, Some(ToolChoice::Function("f".into())));
        let ContentPart::ToolCall(call) = &r.messages[1].content[0] else {
            panic!("expected a tool call: {:?}", r.messages[1]);
        };
        let ContentPart::ToolResult(res) = &r.messages[2].content[0] else {
            panic!("expected a tool result: {:?}", r.messages[2]);
        };
        assert_eq!(res.call_id, call.id);
        assert_eq!(res.name.as_deref(), Some("f"));
        assert_eq!(r.messages[2].role, Role::Tool);
    }

    #[test]
    fn thinking_and_effort() {
        let r = parse_chat_request(
            br#"{"model":"m","messages":[{"role":"user","content":"x"}],
            "reasoning_effort":"low","thinking":{"type":"enabled","budget_tokens":2048}}"#,
        )
        .unwrap();
        assert_eq!(
            r.reasoning,
            Some(Reasoning {
                effort: Some(ReasoningEffort::Low),
                budget_tokens: Some(2048)
            })
        );
        let e = err(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"}"#,
        );
        assert_eq!(e.param.as_deref(), Some("reasoning_effort"));
    }

    #[test]
    fn empty_assistant_text_beside_tool_calls_is_dropped() {
        let r = parse_chat_request(
            br#"{"model":"m","messages":[{"role":"assistant","content":"",
            "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.messages[0].content.len(), 1);
        assert!(matches!(r.messages[0].content[0], ContentPart::ToolCall(_)));
    }

    #[test]
    fn bare_file_data_is_a_pdf() {
        assert_eq!(
            file_data_source("JVBER".into()),
            MediaSource::Base64 {
                media_type: "application/pdf".into(),
                data: "JVBER".into()
            }
        );
    }
}

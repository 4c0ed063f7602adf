//! Canonical [`ChatRequest`] -> Gemini `GenerateContentRequest` body (shared with Vertex).
//!
//! Decisions (see also PROVIDERS.md section 4):
//! - System messages (wherever they are) become `systemInstruction.parts`, one text part each.
//! - Roles: user and tool -> `user`, assistant -> `model`; every content carries its `role`;
//!   consecutive contents of the same role are merged; empty text parts are left out.
//! - Images/files: base64 -> `inlineData`; URLs (and provider file ids) -> `fileData` with a
//!   MIME type guessed from the extension (`image/*` for an image of unknown type; omitted for
//!   other files of unknown type). Audio -> `inlineData` `audio/<format>`.
//! - Tool calls -> `functionCall{name,args}` with the call's `signature` echoed as the part's
//!   `thoughtSignature`. Arguments must be a JSON object for Gemini: anything else is refused
//!   with a 400 naming the call (Google would refuse it less clearly). Call ids are not sent
//!   (Gemini matches responses by name and order).
//! - Tool results -> `functionResponse{name,response}` in a `user` content. The name is the
//!   result's own, else that of the latest earlier assistant tool call with the same id; no
//!   name is a 400. Text that is a JSON object is sent as the response object; other text is
//!   wrapped as `{"result": text}` (`{"error": text}` when the result is an error). Image parts
//!   of a result follow as sibling `inlineData`/`fileData` parts of the same content.
//! - Reasoning: a part with a signature is echoed as `{"text","thought":true,"thoughtSignature"}`;
//!   an *empty* one (how [`super::response`] keeps the signature Gemini put on a plain text part)
//!   re-attaches its signature to the next text part, or stands alone as an empty text part.
//!   Reasoning without a signature and redacted reasoning (another provider's) are not sent:
//!   thought summaries carry no state.
//! - `generationConfig`: see [`generation_config`]. `response_format: json_schema` uses
//!   `responseJsonSchema` (real JSON Schema, what Google's structured-output guide now
//!   recommends) rather than the OpenAPI-subset `responseSchema`.
//! - More than 5 `stop` sequences: the first 5 are sent and `stop` is reported under the
//!   `unsupported_params` policy (`reject` refuses the request). `parallel_tool_calls: false`
//!   has no equivalent and goes through the same policy, as do `user` and `metadata`.
//! - From `extra`, Gemini's own `safetySettings` and `cachedContent` are passed through.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use switchyard_config::UnsupportedParams;
use switchyard_types::{
    ChatRequest, ContentPart, GatewayError, MediaSource, ReasoningEffort, ResponseFormat, Role,
    ToolChoice, ToolResult,
};

use super::schema;
use crate::{unsupported, Dropped};

const PROVIDER: &str = "gemini";
/// Gemini accepts at most this many stop sequences.
const MAX_STOP: usize = 5;

/// Builds the JSON body of a `generateContent` / `streamGenerateContent` call.
pub fn encode_request(
    req: &ChatRequest,
    policy: UnsupportedParams,
    dropped: &mut Dropped,
) -> Result<Map<String, Value>, GatewayError> {
    let mut body = Map::new();
    let (system, contents) = encode_messages(req)?;
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    if contents.is_empty() {
        return Err(GatewayError::bad_request(
            "the request has no user or assistant message for Gemini to answer",
        )
        .with_param("messages"));
    }
    body.insert("contents".into(), Value::Array(contents));

    if !req.tools.is_empty() {
        let declarations: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), Value::String(t.name.clone()));
                if let Some(desc) = &t.description {
                    d.insert("description".into(), Value::String(desc.clone()));
                }
                let params = schema::for_function(&t.parameters);
                // An object without properties is refused: a function without parameters
                // simply has none.
                let has_properties = params.get("properties").is_some();
                let object_like = params.get("type").is_none_or(|t| t == "object");
                if has_properties || !object_like {
                    d.insert("parameters".into(), params);
                }
                Value::Object(d)
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{ "functionDeclarations": declarations }]),
        );
        if let Some(choice) = &req.tool_choice {
            let config = match choice {
                ToolChoice::Auto => json!({"mode": "AUTO"}),
                ToolChoice::None => json!({"mode": "NONE"}),
                ToolChoice::Required => json!({"mode": "ANY"}),
                ToolChoice::Function(name) => {
                    json!({"mode": "ANY", "allowedFunctionNames": [name]})
                }
            };
            body.insert(
                "toolConfig".into(),
                json!({ "functionCallingConfig": config }),
            );
        }
    }
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        unsupported(policy, PROVIDER, "parallel_tool_calls", dropped)?;
    }
    // No Gemini equivalent for OpenAI's end-user id or free-form metadata.
    if req.user.is_some() {
        unsupported(policy, PROVIDER, "user", dropped)?;
    }
    if req.metadata.as_ref().is_some_and(|m| !m.is_empty()) {
        unsupported(policy, PROVIDER, "metadata", dropped)?;
    }

    let generation = generation_config(req, policy, dropped)?;
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    for key in ["safetySettings", "cachedContent"] {
        if let Some(v) = req.extra.get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    Ok(body)
}

/// `generationConfig`: `maxOutputTokens`, `temperature`, `topP`, `topK`, `stopSequences`,
/// `seed`, `presencePenalty`, `frequencyPenalty`, `candidateCount` (`n`),
/// `responseLogprobs`/`logprobs`, `responseMimeType` + `responseJsonSchema`, and
/// `thinkingConfig` (budget as given; effort none 0, minimal 512, low 1024, medium 8192,
/// high 24576; `includeThoughts` whenever a non-zero budget was asked).
fn generation_config(
    req: &ChatRequest,
    policy: UnsupportedParams,
    dropped: &mut Dropped,
) -> Result<Map<String, Value>, GatewayError> {
    let mut g = Map::new();
    if let Some(v) = req.max_tokens {
        g.insert("maxOutputTokens".into(), json!(v));
    }
    if let Some(v) = req.temperature {
        g.insert("temperature".into(), json!(v));
    }
    if let Some(v) = req.top_p {
        g.insert("topP".into(), json!(v));
    }
    if let Some(v) = req.top_k {
        g.insert("topK".into(), json!(v));
    }
    if !req.stop.is_empty() {
        if req.stop.len() > MAX_STOP {
            unsupported(policy, PROVIDER, "stop", dropped)?;
        }
        let stops: Vec<&String> = req.stop.iter().take(MAX_STOP).collect();
        g.insert("stopSequences".into(), json!(stops));
    }
    if let Some(seed) = req.seed {
        // Gemini's seed is an int32.
        match i32::try_from(seed) {
            Ok(s) => {
                g.insert("seed".into(), json!(s));
            }
            Err(_) => unsupported(policy, PROVIDER, "seed", dropped)?,
        }
    }
    if let Some(v) = req.presence_penalty {
        g.insert("presencePenalty".into(), json!(v));
    }
    if let Some(v) = req.frequency_penalty {
        g.insert("frequencyPenalty".into(), json!(v));
    }
    if let Some(n) = req.n {
        g.insert("candidateCount".into(), json!(n));
    }
    if req.logprobs == Some(true) || req.top_logprobs.is_some() {
        g.insert("responseLogprobs".into(), json!(true));
        if let Some(k) = req.top_logprobs {
            g.insert("logprobs".into(), json!(k));
        }
    }
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            g.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => {
            g.insert("responseMimeType".into(), json!("application/json"));
            g.insert("responseJsonSchema".into(), schema::for_response(s));
        }
    }
    if let Some(r) = &req.reasoning {
        let budget = r.budget_tokens.or_else(|| r.effort.map(effort_budget));
        if let Some(b) = budget {
            let mut t = Map::new();
            t.insert("thinkingBudget".into(), json!(b));
            if b > 0 {
                t.insert("includeThoughts".into(), json!(true));
            }
            g.insert("thinkingConfig".into(), Value::Object(t));
        }
    }
    Ok(g)
}

/// Thinking budget for an OpenAI-style effort.
pub fn effort_budget(effort: ReasoningEffort) -> u32 {
    match effort {
        ReasoningEffort::None => 0,
        ReasoningEffort::Minimal => 512,
        ReasoningEffort::Low => 1024,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24576,
    }
}

/// Returns (system parts, contents).
fn encode_messages(req: &ChatRequest) -> Result<(Vec<Value>, Vec<Value>), GatewayError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    // Tool-call id -> function name, from the assistant messages seen so far (latest wins).
    let mut call_names: HashMap<&str, &str> = HashMap::new();

    for msg in &req.messages {
        let role = match msg.role {
            Role::System => {
                let text = msg.joined_text();
                if !text.is_empty() {
                    system.push(json!({ "text": text }));
                }
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "model",
        };
        let mut parts = Vec::new();
        let mut pending_signature: Option<&str> = None;
        for part in &msg.content {
            // A signature waiting for the next text part is flushed before anything else.
            let attach = match part {
                ContentPart::Text { text, .. } if !text.is_empty() => pending_signature.take(),
                _ => None,
            };
            if let Some(sig) = pending_signature.take() {
                parts.push(json!({ "text": "", "thoughtSignature": sig }));
            }
            match part {
                ContentPart::Text { text, .. } => {
                    if !text.is_empty() {
                        let mut p = json!({ "text": text });
                        if let Some(sig) = attach {
                            p["thoughtSignature"] = json!(sig);
                        }
                        parts.push(p);
                    }
                }
                ContentPart::Image { source, .. } => {
                    parts.push(media_part(source, None, MediaKind::Image));
                }
                ContentPart::File { source, filename } => {
                    parts.push(media_part(source, filename.as_deref(), MediaKind::File));
                }
                ContentPart::Audio { data, format } => {
                    parts.push(
                        json!({"inlineData": {"mimeType": audio_mime(format), "data": data}}),
                    );
                }
                ContentPart::ToolCall(call) => {
                    let args = call_args(&call.name, &call.arguments)?;
                    let mut p = json!({"functionCall": {"name": call.name, "args": args}});
                    if let Some(sig) = &call.signature {
                        p["thoughtSignature"] = json!(sig);
                    }
                    parts.push(p);
                    call_names.insert(call.id.as_str(), call.name.as_str());
                }
                ContentPart::ToolResult(result) => {
                    let name = match result.name.as_deref() {
                        Some(n) => n,
                        None => call_names.get(result.call_id.as_str()).copied().ok_or_else(|| {
                            GatewayError::bad_request(format!(
                                "tool result for call id `{}` matches no earlier assistant tool call, and Gemini needs the function name",
                                result.call_id
                            ))
                            .with_param("messages")
                        })?,
                    };
                    encode_tool_result(name, result, &mut parts);
                }
                ContentPart::Reasoning { text, signature } => match signature {
                    Some(sig) if text.is_empty() => pending_signature = Some(sig),
                    Some(sig) => {
                        parts.push(json!({"text": text, "thought": true, "thoughtSignature": sig}))
                    }
                    None => {}
                },
                ContentPart::RedactedReasoning { .. } => {}
            }
        }
        if let Some(sig) = pending_signature.take() {
            parts.push(json!({ "text": "", "thoughtSignature": sig }));
        }
        if parts.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last_role, last_parts)) if *last_role == role => last_parts.extend(parts),
            _ => turns.push((role, parts)),
        }
    }
    let contents = turns
        .into_iter()
        .map(|(role, parts)| json!({ "role": role, "parts": parts }))
        .collect();
    Ok((system, contents))
}

/// Parses tool-call arguments into the object Gemini wants (empty text = no arguments).
fn call_args(name: &str, arguments: &str) -> Result<Value, GatewayError> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(GatewayError::bad_request(format!(
            "arguments of tool call `{name}` are not a JSON object; Gemini needs an object"
        ))
        .with_param("messages")),
    }
}

fn encode_tool_result(name: &str, result: &ToolResult, parts: &mut Vec<Value>) {
    let mut text = String::new();
    let mut media = Vec::new();
    for p in &result.content {
        match p {
            ContentPart::Text { text: t, .. } => text.push_str(t),
            ContentPart::Image { source, .. } => {
                media.push(media_part(source, None, MediaKind::Image))
            }
            ContentPart::File { source, filename } => {
                media.push(media_part(source, filename.as_deref(), MediaKind::File))
            }
            _ => {}
        }
    }
    let key = if result.is_error { "error" } else { "result" };
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(obj @ Value::Object(_)) if !result.is_error => obj,
        _ => json!({ key: text }),
    };
    parts.push(json!({"functionResponse": {"name": name, "response": response}}));
    parts.extend(media);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaKind {
    Image,
    File,
}

fn media_part(source: &MediaSource, filename: Option<&str>, kind: MediaKind) -> Value {
    match source.clone().normalize_data_url() {
        MediaSource::Base64 { media_type, data } => {
            json!({"inlineData": {"mimeType": media_type, "data": data}})
        }
        MediaSource::Url { url: uri } | MediaSource::FileId { id: uri } => {
            let guessed = filename.and_then(guess_mime).or_else(|| guess_mime(&uri));
            let mime = match (guessed, kind) {
                (Some(m), _) => Some(m),
                (None, MediaKind::Image) => Some("image/*"),
                (None, MediaKind::File) => None,
            };
            match mime {
                Some(m) => json!({"fileData": {"mimeType": m, "fileUri": uri}}),
                None => json!({"fileData": {"fileUri": uri}}),
            }
        }
    }
}

fn audio_mime(format: &str) -> String {
    match format.to_ascii_lowercase().as_str() {
        "mp3" | "mpeg" => "audio/mp3".into(),
        "wav" | "wave" => "audio/wav".into(),
        other => format!("audio/{other}"),
    }
}

/// MIME type from a path's or URL's extension (query and fragment ignored).
pub fn guess_mime(path: &str) -> Option<&'static str> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let last = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = last.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/md",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "xml" => "text/xml",
        "wav" => "audio/wav",
        "mp3" => "audio/mp3",
        "aac" => "audio/aac",
        "ogg" => "audio/ogg",
        "flac" => "audio/flac",
        "aiff" => "audio/aiff",
        "mp4" => "video/mp4",
        "mpeg" | "mpg" => "video/mpeg",
        "mov" => "video/mov",
        "webm" => "video/webm",
        "avi" => "video/avi",
        "wmv" => "video/wmv",
        "flv" => "video/x-flv",
        "3gp" | "3gpp" => "video/3gpp",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_guessing() {
        assert_eq!(guess_mime("https://x/a/b.PNG?x=1"), Some("image/png"));
        assert_eq!(guess_mime("https://x/a.b/c"), None);
        assert_eq!(guess_mime("report.pdf"), Some("application/pdf"));
    }

    #[test]
    fn call_args_must_be_objects() {
        assert_eq!(call_args("f", "  ").unwrap(), json!({}));
        assert_eq!(call_args("f", r#"{"a":1}"#).unwrap(), json!({"a":1}));
        assert!(call_args("f", "[1]").is_err());
        assert!(call_args("f", "{\"a\":").is_err());
    }
}

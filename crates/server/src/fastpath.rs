//! The same-dialect fast path: read only what routing needs from the client's body (model,
//! stream flags) without building a JSON tree, splice the upstream model name into the original
//! bytes, and forward. Streams pass through event by event; usage is picked out of the stream.

use std::borrow::Cow;
use std::ops::Range;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_providers::sse::SseSplitter;
use switchyard_types::{GatewayError, Usage};

/// What the fast path reads from a request body.
#[derive(Debug)]
pub struct Peeked<'a> {
    pub model: Cow<'a, str>,
    model_span: Range<usize>,
    pub stream: bool,
    pub include_usage: bool,
    stream_options: Option<(&'a RawValue, Range<usize>)>,
    /// `max_completion_tokens` or `max_tokens`, for budget reservations.
    pub max_tokens: Option<u64>,
    /// OpenAI `user` (the end-user id) for attribution.
    pub user: Option<Cow<'a, str>>,
    /// OpenAI `metadata` (string values become tags).
    pub metadata: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct PeekRaw<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    stream: Option<bool>,
    #[serde(borrow)]
    stream_options: Option<&'a RawValue>,
    messages: Option<IgnoredAny>,
    input: Option<IgnoredAny>,
    max_tokens: Option<&'a RawValue>,
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    user: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
}

/// Which body fields the endpoint requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// OpenAI chat: `model`, `messages`.
    Chat,
    /// OpenAI embeddings: `model`, `input`.
    Embeddings,
    /// Anthropic messages: `model`, `messages`, `max_tokens`.
    Messages,
}

fn span_of(body: &[u8], raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    start..start + raw.get().len()
}

/// The client's mistake behind a failed [`PeekRaw`] read: not JSON at all, JSON that is not an
/// object, or an object with a field of the wrong type (only `stream` is typed) or a repeated
/// field.
fn peek_error(body: &[u8], e: &serde_json::Error) -> GatewayError {
    if !e.is_data() {
        return GatewayError::bad_request(format!("the request body is not valid JSON: {e}"));
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return GatewayError::bad_request("the request body must be a JSON object");
    }
    let text = e.to_string();
    if text.starts_with("invalid type") && text.contains("expected a boolean") {
        return GatewayError::bad_request(format!("`stream` must be a boolean: {text}"))
            .with_param("stream");
    }
    GatewayError::bad_request(format!("invalid request body: {text}"))
}

/// Reads model and stream flags. Errors are the client's: malformed JSON, a missing required
/// field, a non-string model.
pub fn peek(body: &[u8], required: Required) -> Result<Peeked<'_>, GatewayError> {
    let raw: PeekRaw<'_> = serde_json::from_slice(body).map_err(|e| peek_error(body, &e))?;
    let model_raw = raw.model.ok_or_else(|| {
        GatewayError::bad_request("you must provide a model parameter").with_param("model")
    })?;
    let model: Cow<'_, str> = serde_json::from_str(model_raw.get())
        .map_err(|_| GatewayError::bad_request("`model` must be a string").with_param("model"))?;
    if model.is_empty() {
        return Err(GatewayError::bad_request("`model` must not be empty").with_param("model"));
    }
    let missing = match required {
        Required::Chat if raw.messages.is_none() => Some("messages"),
        Required::Embeddings if raw.input.is_none() => Some("input"),
        Required::Messages if raw.messages.is_none() => Some("messages"),
        Required::Messages if raw.max_tokens.is_none() => Some("max_tokens"),
        _ => None,
    };
    if let Some(field) = missing {
        return Err(
            GatewayError::bad_request(format!("missing required parameter: '{field}'"))
                .with_param(field),
        );
    }
    let include_usage = match raw.stream_options {
        Some(so) => {
            #[derive(Deserialize)]
            struct So {
                include_usage: Option<bool>,
            }
            serde_json::from_str::<Option<So>>(so.get())
                .map_err(|_| {
                    GatewayError::bad_request("`stream_options` must be an object")
                        .with_param("stream_options")
                })?
                .and_then(|s| s.include_usage)
                .unwrap_or(false)
        }
        None => false,
    };
    let number = |r: Option<&RawValue>| r.and_then(|r| r.get().parse::<u64>().ok());
    let max_tokens = number(raw.max_completion_tokens).or(number(raw.max_tokens));
    let user = raw
        .user
        .and_then(|u| serde_json::from_str::<Cow<'_, str>>(u.get()).ok());
    Ok(Peeked {
        max_tokens,
        user,
        metadata: raw.metadata,
        model_span: span_of(body, model_raw),
        model,
        stream: raw.stream.unwrap_or(false),
        include_usage,
        stream_options: raw.stream_options.map(|so| (so, span_of(body, so))),
    })
}

/// The body with `model` replaced by `upstream_model` and, when `force_usage` is set on a
/// stream the client did not ask usage for, `stream_options.include_usage:true` added. Every
/// other byte is the client's.
pub fn rewrite(body: &[u8], p: &Peeked<'_>, upstream_model: &str, force_usage: bool) -> Vec<u8> {
    let quoted = serde_json::to_string(upstream_model).unwrap_or_else(|_| "\"\"".into());
    let mut edits: Vec<(Range<usize>, Cow<'_, str>)> = vec![(p.model_span.clone(), quoted.into())];
    if force_usage && p.stream && !p.include_usage {
        match &p.stream_options {
            Some((raw, span)) => {
                let mut obj: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(raw.get()).unwrap_or_default();
                obj.insert("include_usage".into(), serde_json::Value::Bool(true));
                let text = serde_json::Value::Object(obj).to_string();
                edits.push((span.clone(), text.into()));
            }
            None => {
                // Insert as the object's first member: the object has a `model` member, so a
                // trailing comma is always followed by one.
                if let Some(open) = body.iter().position(|b| *b == b'{') {
                    edits.push((
                        open + 1..open + 1,
                        r#""stream_options":{"include_usage":true},"#.into(),
                    ));
                }
            }
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    let extra: usize = edits.iter().map(|(_, t)| t.len()).sum();
    let mut out = Vec::with_capacity(body.len() + extra);
    let mut pos = 0;
    for (range, text) in edits {
        out.extend_from_slice(&body[pos..range.start]);
        out.extend_from_slice(text.as_bytes());
        pos = range.end;
    }
    out.extend_from_slice(&body[pos..]);
    out
}

#[derive(Deserialize, Default)]
struct Details {
    #[serde(default)]
    cached_tokens: u64,
    #[serde(default)]
    reasoning_tokens: u64,
}

#[derive(Deserialize)]
struct UsageWire {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
}

impl From<UsageWire> for Usage {
    fn from(u: UsageWire) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            cache_write_tokens: 0,
            reasoning_tokens: u
                .completion_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
        }
    }
}

/// Usage from a complete OpenAI-shaped JSON response (chat or embeddings), without a tree:
/// only the top-level `usage` member is parsed.
pub fn usage_of_body(body: &[u8]) -> Option<Usage> {
    let raw = usage_member(body)?;
    serde_json::from_slice::<Option<UsageWire>>(raw)
        .ok()?
        .map(Usage::from)
}

/// The bytes of the value of the top-level member `key` of the JSON object in `body`, found
/// without parsing the rest: strings are skipped with `memchr`, nesting is counted. `None`
/// when the body is not an object or has no such member. Member names are compared as
/// written (an escaped spelling of `key` is not recognised). The value is not validated
/// here; the caller parses it.
pub fn top_level_member<'a>(body: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut i = skip_ws(body, 0);
    if body.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(body, i);
        match body.get(i)? {
            b'}' => return None,
            b'"' => {}
            _ => return None,
        }
        let end = string_end(body, i)?;
        let name = &body[i + 1..end];
        i = skip_ws(body, end + 1);
        if body.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(body, i + 1);
        let value_end = value_end(body, start)?;
        if name == key {
            return Some(&body[start..value_end]);
        }
        i = skip_ws(body, value_end);
        match body.get(i)? {
            b',' => i += 1,
            _ => return None,
        }
    }
}

/// The top-level `usage` member's value: looked for at the end of the body first, where OpenAI
/// and Anthropic put it (the choices or content before it are then never scanned), else with the
/// forward scan.
fn usage_member(body: &[u8]) -> Option<&[u8]> {
    static USAGE_KEY: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new(b"\"usage\""));
    last_member_with(body, &USAGE_KEY).or_else(|| top_level_member(body, b"usage"))
}

/// The value of the member named `quoted_key` (with its quotes) when it is the last member of
/// the top-level object, found from the end. For valid JSON the checks make it exact: the
/// candidate key is preceded by `{` or `,` (so its quote opens a string rather than sitting
/// inside one, where it would be escaped), followed by `:` and a value that ends right before
/// the final `}` (so it belongs to the outermost object). `None` when any check fails; the
/// caller then scans forward.
pub fn last_member<'a>(body: &'a [u8], quoted_key: &[u8]) -> Option<&'a [u8]> {
    last_member_with(body, &memchr::memmem::FinderRev::new(quoted_key))
}

/// [`last_member`] with the key's searcher built once by the caller.
fn last_member_with<'a>(
    body: &'a [u8],
    quoted_key: &memchr::memmem::FinderRev<'_>,
) -> Option<&'a [u8]> {
    if body.get(skip_ws(body, 0)) != Some(&b'{') {
        return None;
    }
    let close = skip_ws_back(body, body.len()).checked_sub(1)?;
    if body[close] != b'}' {
        return None;
    }
    let at = quoted_key.rfind(&body[..close])?;
    let before = skip_ws_back(body, at);
    if !matches!(body.get(before.checked_sub(1)?), Some(b',' | b'{')) {
        return None;
    }
    let colon = skip_ws(body, at + quoted_key.needle().len());
    if body.get(colon) != Some(&b':') {
        return None;
    }
    let start = skip_ws(body, colon + 1);
    let value_end = value_end(body, start)?;
    (value_end <= close && skip_ws(body, value_end) == close).then(|| &body[start..value_end])
}

/// `end` moved back over the whitespace just before it.
fn skip_ws_back(body: &[u8], mut end: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = end.checked_sub(1).and_then(|i| body.get(i)) {
        end -= 1;
    }
    end
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = body.get(i) {
        i += 1;
    }
    i
}

/// `body[open]` is a quote: the index of the closing quote.
fn string_end(body: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', body.get(i..)?)?;
        if body[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

/// The index just past the JSON value starting at `start` (a string, an object or array with
/// everything nested in it, or a scalar up to the next delimiter).
fn value_end(body: &[u8], start: usize) -> Option<usize> {
    match body.get(start)? {
        b'"' => string_end(body, start).map(|e| e + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match body.get(i)? {
                    b'"' => i = string_end(body, i)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let rest = &body[start..];
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                .unwrap_or(rest.len());
            (len > 0).then_some(start + len)
        }
    }
}

/// Watches an OpenAI SSE stream on its way to the client: picks out usage, drops the usage
/// chunk and `"usage":null` fields when the client did not ask for usage, notices errors.
pub struct OpenAiStreamTap {
    splitter: SseSplitter,
    strip_usage: bool,
    pub usage: Option<Usage>,
    pub saw_done: bool,
    /// An upstream error object seen in the stream.
    pub error_seen: bool,
}

impl OpenAiStreamTap {
    pub fn new(strip_usage: bool) -> Self {
        Self {
            splitter: SseSplitter::new(),
            strip_usage,
            usage: None,
            saw_done: false,
            error_seen: false,
        }
    }

    /// Feeds upstream bytes; appends the complete events to forward to `out`. Returns how many
    /// events were forwarded.
    pub fn process(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> usize {
        self.splitter.push(chunk);
        let mut n = 0;
        while let Some(ev) = self.splitter.next_event() {
            if self.handle(&ev, out) {
                n += 1;
            }
        }
        n
    }

    /// The upstream ended: forwards an incomplete trailing event as-is.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(rest) = self.splitter.remainder() {
            out.extend_from_slice(&rest);
        }
    }

    fn handle(&mut self, ev: &[u8], out: &mut Vec<u8>) -> bool {
        let data = data_of(ev);
        if data == b"[DONE]" {
            self.saw_done = true;
            out.extend_from_slice(ev);
            return true;
        }
        if data.starts_with(b"{\"error\"") {
            self.error_seen = true;
        }
        // Azure's annotation-only chunks (`"choices":[]`, empty id/model, only
        // `prompt_filter_results`) are not chat.completion.chunks: clients reading `choices[0]`
        // break on them. The usage chunk also has no choices but carries `usage`.
        if memchr::memmem::find(data, b"\"choices\":[]").is_some()
            && memchr::memmem::find(data, b"\"usage\":{").is_none()
        {
            return false;
        }
        if memchr::memmem::find(data, b"\"usage\":{").is_some() {
            #[derive(Deserialize)]
            struct Chunk {
                usage: Option<UsageWire>,
                #[serde(default)]
                choices: Vec<IgnoredAny>,
            }
            if let Ok(c) = serde_json::from_slice::<Chunk>(data) {
                if let Some(u) = c.usage {
                    self.usage = Some(u.into());
                    if self.strip_usage && c.choices.is_empty() {
                        return false;
                    }
                }
            }
        }
        if self.strip_usage {
            if let Some(pos) = memchr::memmem::find(ev, b",\"usage\":null") {
                out.extend_from_slice(&ev[..pos]);
                out.extend_from_slice(&ev[pos + ",\"usage\":null".len()..]);
                return true;
            }
        }
        out.extend_from_slice(ev);
        true
    }
}

/// The `data:` payload of a single-line SSE event (the shape OpenAI-compatible servers send);
/// for other shapes the whole event, which never matches the markers looked for.
fn data_of(ev: &[u8]) -> &[u8] {
    let trimmed = trim_ascii(ev);
    match trimmed.strip_prefix(b"data:") {
        Some(rest) if !rest.contains(&b'\n') => trim_ascii(rest),
        _ => trimmed,
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// Watches an Anthropic Messages SSE stream passing through unchanged: picks out usage
/// (`message_start` then cumulative `message_delta`) and notices `error` events and the end.
pub struct AnthropicStreamTap {
    splitter: SseSplitter,
    usage: switchyard_providers::anthropic::WireUsage,
    pub saw_usage: bool,
    pub saw_stop: bool,
    pub error_seen: bool,
}

impl Default for AnthropicStreamTap {
    fn default() -> Self {
        Self::new()
    }
}

impl AnthropicStreamTap {
    pub fn new() -> Self {
        Self {
            splitter: SseSplitter::new(),
            usage: Default::default(),
            saw_usage: false,
            saw_stop: false,
            error_seen: false,
        }
    }

    /// Feeds upstream bytes; appends the complete events (unchanged) to `out`.
    pub fn process(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.splitter.push(chunk);
        while let Some(ev) = self.splitter.next_event() {
            self.inspect(&ev);
            out.extend_from_slice(&ev);
        }
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(rest) = self.splitter.remainder() {
            out.extend_from_slice(&rest);
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        self.saw_usage.then(|| self.usage.to_canonical())
    }

    fn inspect(&mut self, ev: &[u8]) {
        let find = |needle: &[u8]| memchr::memmem::find(ev, needle).is_some();
        if find(b"\"type\":\"message_start\"") || find(b"\"type\":\"message_delta\"") {
            let parsed = switchyard_providers::sse::parse_event(ev);
            #[derive(Deserialize)]
            struct Msg {
                usage: Option<switchyard_providers::anthropic::WireUsage>,
            }
            #[derive(Deserialize)]
            struct Ev {
                message: Option<Msg>,
                usage: Option<switchyard_providers::anthropic::WireUsage>,
            }
            if let Ok(e) = serde_json::from_str::<Ev>(&parsed.data) {
                if let Some(u) = e.message.and_then(|m| m.usage).or(e.usage) {
                    self.usage.merge(&u);
                    self.saw_usage = true;
                }
            }
        } else if find(b"\"type\":\"message_stop\"") {
            self.saw_stop = true;
        } else if find(b"event: error") || find(b"\"type\":\"error\"") {
            self.error_seen = true;
        }
    }
}

/// Usage from a complete Anthropic `message` JSON, without a tree.
pub fn anthropic_usage_of_body(body: &[u8]) -> Option<Usage> {
    let raw = usage_member(body)?;
    serde_json::from_slice::<Option<switchyard_providers::anthropic::WireUsage>>(raw)
        .ok()?
        .map(|u| u.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_replaces_only_the_model() {
        let body = br#"{"model": "smart", "messages":[{"role":"user","content":"model"}], "x_unknown": {"a":[1,2]}}"#;
        let p = peek(body, Required::Chat).unwrap();
        assert_eq!(p.model, "smart");
        let out = rewrite(body, &p, "gpt-4o", true);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model": "gpt-4o", "messages":[{"role":"user","content":"model"}], "x_unknown": {"a":[1,2]}}"#
        );
    }

    #[test]
    fn rewrite_escapes_and_handles_escaped_input() {
        let body = br#"{"messages":[],"model":"a\"b"}"#;
        let p = peek(body, Required::Chat).unwrap();
        assert_eq!(p.model, "a\"b");
        let out = rewrite(body, &p, "x\"y", false);
        assert_eq!(out, br#"{"messages":[],"model":"x\"y"}"#);
    }

    #[test]
    fn forces_usage_on_streams() {
        let body = br#"{"model":"m","messages":[],"stream":true}"#;
        let p = peek(body, Required::Chat).unwrap();
        let out = rewrite(body, &p, "u", true);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["model"], "u");

        let body = br#"{"model":"m","messages":[],"stream":true,"stream_options":{"foo":1}}"#;
        let p = peek(body, Required::Chat).unwrap();
        assert!(!p.include_usage);
        let v: serde_json::Value = serde_json::from_slice(&rewrite(body, &p, "u", true)).unwrap();
        assert_eq!(
            v["stream_options"],
            serde_json::json!({"foo":1,"include_usage":true})
        );

        let body =
            br#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#;
        let p = peek(body, Required::Chat).unwrap();
        assert!(p.include_usage);
        assert_eq!(
            rewrite(body, &p, "m", true),
            body.to_vec(),
            "nothing to add when the client asked"
        );
    }

    #[test]
    fn client_errors() {
        let e = peek(b"{not json", Required::Chat).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
        assert_eq!(peek(b"[1]", Required::Chat).unwrap_err().status, 400);
        let e = peek(b" \n [1]", Required::Chat).unwrap_err();
        assert!(e.message.contains("must be a JSON object"), "{}", e.message);
        // Valid JSON with a mistyped or repeated field is not called invalid JSON.
        let e = peek(
            br#"{"model":"m","messages":[],"stream":"yes"}"#,
            Required::Chat,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.param.as_deref(), Some("stream"));
        assert!(e.message.contains("must be a boolean"), "{}", e.message);
        let e = peek(
            br#"{"model":"m","model":"n","messages":[]}"#,
            Required::Chat,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("duplicate field"), "{}", e.message);
        assert!(!e.message.contains("not valid JSON"), "{}", e.message);
        let e = peek(br#"{"messages":[]}"#, Required::Chat).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("model"));
        let e = peek(br#"{"model":"m"}"#, Required::Chat).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages"));
        let e = peek(br#"{"model":3,"messages":[]}"#, Required::Chat).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("model"));
        let e = peek(br#"{"model":"m","input":"x"}"#, Required::Messages).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages"));
        for cut in 0..20 {
            let _ = peek(&br#"{"model":"m","messages":[]}"#[..cut], Required::Chat);
        }
    }

    #[test]
    fn tap_strips_usage_the_client_did_not_ask_for() {
        let upstream = concat!(
            "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
            "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
            "data: {\"id\":\"1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1}}}\n\n",
            "data: [DONE]\n\n"
        );
        let mut tap = OpenAiStreamTap::new(true);
        let mut out = Vec::new();
        for b in upstream.as_bytes().chunks(7) {
            tap.process(b, &mut out);
        }
        tap.finish(&mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains("usage"), "{text}");
        assert!(text.ends_with("data: [DONE]\n\n"));
        assert_eq!(text.matches("data: ").count(), 3);
        let u = tap.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.cached_tokens),
            (5, 2, 1)
        );

        let mut tap = OpenAiStreamTap::new(false);
        let mut out = Vec::new();
        tap.process(upstream.as_bytes(), &mut out);
        assert_eq!(
            &out[..],
            upstream.as_bytes(),
            "unchanged when the client asked for usage"
        );
        assert_eq!(tap.usage.unwrap().completion_tokens, 2);
    }

    #[test]
    fn azure_annotation_chunks_are_dropped() {
        let upstream = concat!(
            "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n",
            "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: [DONE]\n\n"
        );
        let mut tap = OpenAiStreamTap::new(false);
        let mut out = Vec::new();
        tap.process(upstream.as_bytes(), &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains("prompt_filter_results"), "{text}");
        assert!(text.starts_with("data: {\"id\":\"1\""));
    }

    /// Looking from the end agrees with the forward scan whenever it answers, and declines
    /// (leaving the forward scan to answer) when the last `"usage"` is nested, quoted, not the
    /// last member, or the body is not an object.
    #[test]
    fn last_member_agrees_with_the_forward_scan_or_declines() {
        let cases: &[(&[u8], bool)] = &[
            (br#"{"a":1,"usage":{"prompt_tokens":1}}"#, true),
            (b"{ \"usage\" :\t{\"prompt_tokens\":2} }\n", true),
            (br#"{"usage":null}"#, true),
            (
                br#"{"usage":{"prompt_tokens":1},"b":{"usage":{"prompt_tokens":9}}}"#,
                false,
            ),
            (
                br#"{"usage":{"prompt_tokens":1},"b":"x\"usage\":{}"}"#,
                false,
            ),
            (br#"{"b":["usage"],"usage":3,"c":1}"#, false),
            (br#"{"b":"usage","c":{"usage":2}}"#, false),
            (br#"["usage",{"usage":1}]"#, false),
            (br#"{"b":[{"usage":1}]}"#, false),
            (br#"{"usage":{"prompt_tokens":1}"#, false),
            (b"", false),
        ];
        for (body, from_end) in cases {
            let text = String::from_utf8_lossy(body);
            let back = last_member(body, b"\"usage\"");
            assert_eq!(back.is_some(), *from_end, "{text}");
            if let Some(v) = back {
                assert_eq!(Some(v), top_level_member(body, b"usage"), "{text}");
            }
        }
    }

    #[test]
    fn usage_from_body() {
        let u = usage_of_body(br#"{"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":2}}}"#).unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens),
            (3, 4, 2)
        );
        assert!(usage_of_body(b"{}").is_none());
    }

    /// The scanner finds the top-level member only: not one nested in another value or
    /// quoted inside a string, and it agrees with a full parse on every member of a body with
    /// escapes, nesting and whitespace.
    #[test]
    fn top_level_member_finds_only_the_top_level() {
        let body = br#" { "choices" : [ {"usage": {"prompt_tokens": 99}}, "\"usage\": 1" ],
            "text": "a \\\" \"usage\":{} ]}",
            "n": -1.5e3 , "t":true,"z":null, "o": {"usage": [1, {"a": "}"}]},
            "usage" :{"prompt_tokens":3,"completion_tokens":4} } "#;
        let tree: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(body).unwrap();
        for (k, v) in &tree {
            let raw = top_level_member(body, k.as_bytes()).unwrap_or_else(|| panic!("{k}"));
            let parsed: serde_json::Value = serde_json::from_slice(raw).unwrap();
            assert_eq!(&parsed, v, "{k}");
        }
        assert!(top_level_member(body, b"prompt_tokens").is_none());
        let u = usage_of_body(body).unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens), (3, 4));
        // Not an object, unterminated, no usage, usage null.
        for bad in [
            &b"[1]"[..],
            b"",
            b"{\"usage\":{\"prompt_tokens\":",
            b"{\"a\":\"",
            b"{\"usage\":null}",
        ] {
            assert!(
                usage_of_body(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let an = br#"{"id":"m","content":[{"type":"text","text":"usage"}],"usage":{"input_tokens":5,"output_tokens":6}}"#;
        assert!(
            last_member(an, b"\"usage\"").is_some(),
            "found from the end"
        );
        let u = anthropic_usage_of_body(an).unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens), (5, 6));
    }
}

//! AWS Bedrock Converse / ConverseStream wire bodies as the Bedrock API reference shows them, the
//! AWS event-stream binary framing (written here, independently of the gateway's decoder), a
//! SigV4 verifier, and [`handler`]: a fake `POST /model/{modelId}/converse` and
//! `/converse-stream` that verifies the request's SigV4 signature (service `bedrock`), checks
//! the body like Bedrock does (alternating roles starting with `user`, `toolConfig` present
//! whenever the history holds tool blocks) and answers JSON or an event stream.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};
use serde_json::{json, Value};

/// A tool call in a scripted answer (see [`crate::anthropic::Call`]).
pub use crate::anthropic::Call;
use crate::anthropic::{call_input, pieces_of, sample_input};
use crate::{Recorded, Reply};

/// The SigV4 service name Bedrock signs with.
pub const SERVICE: &str = "bedrock";

/// Converse `usage`.
pub fn usage(input: u64, output: u64) -> Value {
    json!({"inputTokens": input, "outputTokens": output, "totalTokens": input + output})
}

/// Converse `usage` with prompt-cache reads and writes (not included in `inputTokens`).
pub fn usage_cached(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Value {
    json!({"inputTokens": input, "outputTokens": output,
           "totalTokens": input + output + cache_read + cache_write,
           "cacheReadInputTokens": cache_read, "cacheWriteInputTokens": cache_write})
}

fn content(text: &str, calls: &[Call<'_>]) -> Vec<Value> {
    let mut out = Vec::new();
    if !text.is_empty() {
        out.push(json!({"text": text}));
    }
    for (id, name, fragments) in calls {
        out.push(
            json!({"toolUse": {"toolUseId": id, "name": name, "input": call_input(fragments)}}),
        );
    }
    out
}

/// A Converse response.
pub fn converse(text: &str, calls: &[Call<'_>], stop_reason: &str, usage: Value) -> Value {
    json!({"output": {"message": {"role": "assistant", "content": content(text, calls)}},
           "stopReason": stop_reason, "usage": usage, "metrics": {"latencyMs": 412}})
}

/// One event-stream frame with string headers (big-endian lengths, CRC32 of the prelude and of
/// the whole message).
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hdr = Vec::new();
    for (name, value) in headers {
        hdr.push(name.len() as u8);
        hdr.extend_from_slice(name.as_bytes());
        hdr.push(7);
        hdr.extend_from_slice(&(value.len() as u16).to_be_bytes());
        hdr.extend_from_slice(value.as_bytes());
    }
    let total = 12 + hdr.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An `event` frame; the payload gets the random-length padding field `"p"` AWS adds.
pub fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    let mut p = payload.clone();
    if let Some(obj) = p.as_object_mut() {
        obj.insert("p".into(), json!("abcdefghijklmnopqrstuvwxyzABCDEF"));
    }
    frame(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        p.to_string().as_bytes(),
    )
}

/// An in-stream exception frame (`throttlingException`, `internalServerException`, ...).
pub fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    frame(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({"message": message}).to_string().as_bytes(),
    )
}

/// The frames of a streamed answer: `messageStart`, the text as `contentBlockDelta`s of block 0
/// and its `contentBlockStop`, per call a `contentBlockStart` (toolUse), one delta per fragment
/// and a stop, then `messageStop` and `metadata` (usage, metrics).
pub fn stream_frames(
    pieces: &[&str],
    calls: &[Call<'_>],
    stop_reason: &str,
    usage: Value,
) -> Vec<Vec<u8>> {
    let mut out = vec![event("messageStart", &json!({"role": "assistant"}))];
    let mut index = 0;
    if !pieces.is_empty() {
        for p in pieces {
            out.push(event(
                "contentBlockDelta",
                &json!({"contentBlockIndex": 0, "delta": {"text": p}}),
            ));
        }
        out.push(event("contentBlockStop", &json!({"contentBlockIndex": 0})));
        index = 1;
    }
    for (id, name, fragments) in calls {
        out.push(event(
            "contentBlockStart",
            &json!({"contentBlockIndex": index,
            "start": {"toolUse": {"toolUseId": id, "name": name}}}),
        ));
        for f in *fragments {
            out.push(event(
                "contentBlockDelta",
                &json!({"contentBlockIndex": index,
                "delta": {"toolUse": {"input": f}}}),
            ));
        }
        out.push(event(
            "contentBlockStop",
            &json!({"contentBlockIndex": index}),
        ));
        index += 1;
    }
    out.push(event("messageStop", &json!({"stopReason": stop_reason})));
    out.push(event(
        "metadata",
        &json!({"usage": usage, "metrics": {"latencyMs": 412}}),
    ));
    out
}

/// A 200 `application/vnd.amazon.eventstream` reply sending each frame as its own chunk.
pub fn stream_reply(frames: Vec<Vec<u8>>) -> Reply {
    Reply::bytes(
        200,
        "application/vnd.amazon.eventstream",
        frames.into_iter().map(|f| (Duration::ZERO, f)).collect(),
    )
}

/// An error answer: `{"message"}` with the error name in `x-amzn-ErrorType`.
pub fn error(status: u16, name: &str, message: &str) -> Reply {
    Reply::json(status, json!({"message": message}).to_string())
        .with_header(
            "x-amzn-ErrorType",
            &format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        )
        .with_header("x-amzn-RequestId", "b5e0b1e4-3b8c-4f0e-9a55-6c1f2f3a4d5e")
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// RFC 3986 encoding (unreserved characters kept; `/` kept when asked).
fn encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::new();
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hexval = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Verifies the SigV4 `Authorization` of a recorded request, as AWS does: credential scope
/// (key id, date, region, service), `x-amz-date` within 15 minutes, `host` and `x-amz-date`
/// signed, the `x-amz-content-sha256` (when sent) equal to the body's hash, and the signature
/// recomputed from the canonical request (each path segment encoded once more).
pub fn verify_sigv4(
    r: &Recorded,
    access_key_id: &str,
    secret_access_key: &str,
    region: &str,
) -> Result<(), String> {
    let auth = r.header("authorization").ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not an AWS4-HMAC-SHA256 authorization")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (credential, signed, signature) = match (credential, signed, signature) {
        (Some(c), Some(s), Some(g)) => (c, s, g),
        _ => return Err(format!("malformed authorization: {auth}")),
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, scope_region, service, terminal] = scope[..] else {
        return Err(format!("malformed credential scope: {credential}"));
    };
    if key_id != access_key_id {
        return Err(format!("unknown access key id {key_id}"));
    }
    if scope_region != region || service != SERVICE || terminal != "aws4_request" {
        return Err(format!("wrong credential scope: {credential}"));
    }
    let amz_date = r.header("x-amz-date").ok_or("no x-amz-date header")?;
    if !amz_date.starts_with(date) || amz_date.len() != 16 {
        return Err(format!(
            "x-amz-date {amz_date} does not match the scope date {date}"
        ));
    }
    check_skew(amz_date)?;
    let names: Vec<&str> = signed.split(';').collect();
    if !names.contains(&"host") || !names.contains(&"x-amz-date") {
        return Err(format!(
            "host and x-amz-date must be signed (signed: {signed})"
        ));
    }
    let payload_hash = sha256_hex(&r.body);
    if let Some(h) = r.header("x-amz-content-sha256") {
        if h != payload_hash {
            return Err("x-amz-content-sha256 is not the body's hash".into());
        }
    }
    let scope = Scope {
        secret_access_key,
        date,
        region,
        service: SERVICE,
    };
    let (expected, canonical) = self::signature(r, signed, &payload_hash, amz_date, &scope)?;
    if expected != signature {
        return Err(format!(
            "signature mismatch; canonical request was:\n{canonical}"
        ));
    }
    Ok(())
}

/// Who signed, and for which date, region and service.
pub struct Scope<'a> {
    pub secret_access_key: &'a str,
    /// `YYYYMMDD`.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The SigV4 signature of a recorded request over the `signed` header names (`a;b;c`), and
/// the canonical request it signs: the method, the path as received with each segment encoded
/// once more, the query decoded, re-encoded and sorted, the signed headers (trimmed, inner
/// spaces collapsed, repeats joined with `,`), the signed names and the payload hash.
pub fn signature(
    r: &Recorded,
    signed: &str,
    payload_hash: &str,
    amz_date: &str,
    scope: &Scope<'_>,
) -> Result<(String, String), String> {
    let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k), false), encode(&decode(v), false))
        })
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical = format!("{}\n{}\n{query}\n", r.method, encode(path.as_bytes(), true));
    for name in signed.split(';') {
        let values: Vec<String> = r
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} was not sent"));
        }
        let _ = writeln!(canonical, "{name}:{}", values.join(","));
    }
    let _ = write!(canonical, "\n{signed}\n{payload_hash}");
    let Scope {
        secret_access_key,
        date,
        region,
        service,
    } = *scope;
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac_sha256(k_date.as_ref(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), b"aws4_request");
    let sig = hex(hmac_sha256(k_signing.as_ref(), string_to_sign.as_bytes()).as_ref());
    Ok((sig, canonical))
}

/// Refuses an `x-amz-date` (`YYYYMMDDTHHMMSSZ`) more than 15 minutes from now.
fn check_skew(amz_date: &str) -> Result<(), String> {
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        amz_date
            .get(range)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad x-amz-date {amz_date}"))
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let then = days * 86_400 + h * 3600 + mi * 60 + s;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if (now - then).abs() > 15 * 60 {
        return Err(format!("x-amz-date {amz_date} is more than 15 minutes off"));
    }
    Ok(())
}

/// `(model id, streaming)` from `/model/{id}/converse` or `/model/{id}/converse-stream`; the id
/// is percent-decoded.
pub fn route(path: &str) -> Option<(String, bool)> {
    let rest = path.split('?').next()?.strip_prefix("/model/")?;
    let (id, stream) = if let Some(id) = rest.strip_suffix("/converse-stream") {
        (id, true)
    } else {
        (rest.strip_suffix("/converse")?, false)
    };
    Some((String::from_utf8_lossy(&decode(id)).into_owned(), stream))
}

/// Checks a Converse body: `None` when acceptable, else Bedrock's `ValidationException`.
pub fn check_body(body: &Value) -> Option<Reply> {
    let bad = |m: &str| Some(error(400, "ValidationException", m));
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("The messages field is required.");
    };
    let mut expected = "user";
    let mut has_tool_blocks = false;
    for m in messages {
        if m.get("role").and_then(Value::as_str) != Some(expected) {
            return bad("A conversation must start with a user message and alternate between user and assistant roles. Try again with a conversation that alternates between user and assistant roles.");
        }
        expected = if expected == "user" {
            "assistant"
        } else {
            "user"
        };
        let blocks = m.get("content").and_then(Value::as_array);
        if blocks.is_none_or(|b| b.is_empty()) {
            return bad("The content field in the Message object is empty.");
        }
        has_tool_blocks |= blocks
            .into_iter()
            .flatten()
            .any(|b| b.get("toolUse").is_some() || b.get("toolResult").is_some());
    }
    if has_tool_blocks && body.get("toolConfig").is_none() {
        return bad("The toolConfig field must be defined when using toolUse and toolResult content blocks.");
    }
    None
}

/// What the fake answers: a call of the forced tool (`toolChoice.tool`), or of the first tool
/// when the last turn holds no `toolResult`; else text echoing the last user text.
pub fn plan_answer(body: &Value) -> (String, Option<(String, Value)>) {
    let messages = body.get("messages").and_then(Value::as_array);
    let last = messages
        .and_then(|m| m.last())
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array);
    let after_result = last.is_some_and(|b| b.iter().any(|b| b.get("toolResult").is_some()));
    let tools: Vec<&Value> = body
        .pointer("/toolConfig/tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("toolSpec"))
        .collect();
    let forced = body
        .pointer("/toolConfig/toolChoice/tool/name")
        .and_then(Value::as_str);
    let pick = match forced {
        Some(name) => tools
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(name)),
        None if after_result => None,
        None => tools.first(),
    };
    if let Some(t) = pick {
        let name = t.get("name").and_then(Value::as_str).unwrap_or("tool");
        let schema = t
            .pointer("/inputSchema/json")
            .cloned()
            .unwrap_or(Value::Null);
        return (
            String::new(),
            Some((name.to_string(), sample_input(&schema))),
        );
    }
    if after_result {
        return ("Done: the tool answered.".to_string(), None);
    }
    let user_text = messages
        .and_then(|ms| {
            ms.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    (format!("You said: {user_text}"), None)
}

/// A fake Bedrock runtime verifying SigV4 with the given credentials (the signature must name
/// `region` and service `bedrock`).
pub fn handler(
    access_key_id: &str,
    secret_access_key: &str,
    region: &str,
) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let (id, secret, region) = (
        access_key_id.to_string(),
        secret_access_key.to_string(),
        region.to_string(),
    );
    move |r| {
        let Some((_, stream)) = route(&r.path) else {
            return error(
                404,
                "UnknownOperationException",
                &format!("no operation at {}", r.path),
            );
        };
        if let Err(e) = verify_sigv4(r, &id, &secret, &region) {
            return error(403, "InvalidSignatureException", &e);
        }
        let body = r.json();
        if let Some(refusal) = check_body(&body) {
            return refusal;
        }
        let (text, tool) = plan_answer(&body);
        let args = tool.as_ref().map(|(_, a)| a.to_string());
        let frags: Vec<&str> = args.as_deref().map(|a| vec![a]).unwrap_or_default();
        let calls: Vec<Call<'_>> = tool
            .as_ref()
            .map(|(name, _)| vec![("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name.as_str(), &frags[..])])
            .unwrap_or_default();
        let stop = if calls.is_empty() {
            "end_turn"
        } else {
            "tool_use"
        };
        let pieces = pieces_of(&text);
        let u = usage(12, pieces.len().max(1) as u64);
        if stream {
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            stream_reply(stream_frames(&refs, &calls, stop, u))
        } else {
            Reply::json(200, converse(&text, &calls, stop, u).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use switchyard_providers::bedrock::sigv4::{sign_request, Credentials};
    use switchyard_providers::eventstream::decode_all;
    use switchyard_providers::WireRequest;
    use switchyard_types::Secret;

    use super::*;

    fn rec(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Recorded {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Recorded {
            method: method.into(),
            path: path.into(),
            headers: h,
            body: bytes::Bytes::copy_from_slice(body),
        }
    }

    /// AWS's SigV4 test suite, `get-vanilla`.
    #[test]
    fn aws_get_vanilla_vector() {
        let r = rec(
            "GET",
            "/",
            &[
                ("host", "example.amazonaws.com"),
                ("x-amz-date", "20150830T123600Z"),
            ],
            b"",
        );
        let scope = Scope {
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            date: "20150830",
            region: "us-east-1",
            service: "service",
        };
        let (sig, canonical) = signature(
            &r,
            "host;x-amz-date",
            &sha256_hex(b""),
            "20150830T123600Z",
            &scope,
        )
        .unwrap();
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sig,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// A request signed by the gateway's signer, as the fake receives it.
    fn signed(now: SystemTime, secret: &str) -> Recorded {
        let url = "http://127.0.0.1:9/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
        let w = WireRequest::post_json(url.into(), br#"{"messages":[]}"#.to_vec());
        let creds = Credentials {
            access_key_id: Secret::new("AKIDEXAMPLE".into()),
            secret_access_key: Secret::new(secret.into()),
            session_token: None,
        };
        let w = sign_request(w, &creds, "us-east-1", SERVICE, now).unwrap();
        let mut headers = vec![("host".to_string(), "127.0.0.1:9".to_string())];
        for (k, v) in &w.headers {
            headers.push((k.to_string(), v.to_str().unwrap().to_string()));
        }
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        rec(
            "POST",
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
            &refs,
            &w.body,
        )
    }

    #[test]
    fn verifies_signatures_and_catches_tampering() {
        let r = signed(SystemTime::now(), "SECRET");
        verify_sigv4(&r, "AKIDEXAMPLE", "SECRET", "us-east-1").unwrap();
        assert!(verify_sigv4(&r, "AKIDEXAMPLE", "OTHER", "us-east-1")
            .unwrap_err()
            .contains("signature mismatch"));
        assert!(verify_sigv4(&r, "AKIDOTHER", "SECRET", "us-east-1").is_err());
        assert!(verify_sigv4(&r, "AKIDEXAMPLE", "SECRET", "eu-west-1").is_err());
        let mut tampered = r.clone();
        tampered.body = bytes::Bytes::from_static(br#"{"messages":[1]}"#);
        assert!(verify_sigv4(&tampered, "AKIDEXAMPLE", "SECRET", "us-east-1").is_err());
        let mut moved = r.clone();
        moved.path = "/model/other/converse".into();
        assert!(verify_sigv4(&moved, "AKIDEXAMPLE", "SECRET", "us-east-1").is_err());
        let old = signed(
            SystemTime::now() - std::time::Duration::from_secs(3600),
            "SECRET",
        );
        assert!(verify_sigv4(&old, "AKIDEXAMPLE", "SECRET", "us-east-1")
            .unwrap_err()
            .contains("15 minutes"));
    }

    #[test]
    fn frames_decode_with_the_gateways_decoder() {
        let frames = stream_frames(
            &["Hi"],
            &[("tu_1", "f", &[r#"{"a":"#, "1}"])],
            "tool_use",
            usage(3, 4),
        );
        let msgs = decode_all(&frames.concat()).unwrap();
        let types: Vec<&str> = msgs.iter().map(|m| m.event_type().unwrap()).collect();
        assert_eq!(
            types,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockStop",
                "contentBlockStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        let last: Value = serde_json::from_slice(&msgs[8].payload).unwrap();
        assert_eq!(last["usage"]["totalTokens"], 7);
        let mut bad = frames[1].clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        assert!(
            decode_all(&bad).is_err(),
            "a flipped payload bit fails the CRC"
        );
        let ex = decode_all(&exception("throttlingException", "slow down")).unwrap();
        assert_eq!(ex[0].message_type(), Some("exception"));
        assert_eq!(ex[0].exception_type(), Some("throttlingException"));
    }

    #[test]
    fn body_rules_and_routes() {
        let ok = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
        assert!(check_body(&ok).is_none());
        let two_users = json!({"messages": [
            {"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]});
        assert_eq!(check_body(&two_users).unwrap().status, 400);
        let tools_without_config = json!({"messages": [
            {"role": "user", "content": [{"text": "a"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}]}]});
        assert!(check_body(&tools_without_config).is_some());
        assert_eq!(
            route("/model/a.b-v1%3A0/converse-stream"),
            Some(("a.b-v1:0".to_string(), true))
        );
        assert_eq!(route("/model/x/invoke"), None);
    }
}

//! OpenAI-style error answers -> classified gateway errors. Shapes handled: OpenAI
//! `{"error":{"message","type","param","code"}}`, Azure `{"error":{"code","message",
//! "innererror":{"code"}}}`, and Mistral's flat `{"object":"error","message","type","code"}`.

use http::HeaderMap;
use serde_json::Value;
use switchyard_types::error::classify_status;
use switchyard_types::{ErrorClass, GatewayError};

use crate::retry_after;

/// Longest piece of a non-JSON error body kept as the message.
const MAX_TEXT: usize = 512;

/// Maps an upstream error answer (non-2xx) to a gateway error keeping the provider's status,
/// message, code and param.
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let err = match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => {
            let inner = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
            error_from_value(Some(status), inner)
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let class = classify_status(status, text);
            let message = if text.is_empty() {
                format!("the provider answered HTTP {status}")
            } else {
                let mut end = text.len().min(MAX_TEXT);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text[..end].to_string()
            };
            GatewayError::upstream(class, status, message)
        }
    };
    err.with_retry_after(retry_after(headers))
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Classifies an error object (the value of `error`, or a flat error body). `status` is `None`
/// for an error that arrived inside a 200 (a stream chunk or body).
pub(crate) fn error_from_value(status: Option<u16>, v: &Value) -> GatewayError {
    let message = str_field(v, "message").unwrap_or_else(|| match status {
        Some(s) => format!("the provider answered HTTP {s}"),
        None => "the provider reported an error".to_string(),
    });
    let code = str_field(v, "code");
    let ty = str_field(v, "type");
    let inner_code = v.get("innererror").and_then(|i| str_field(i, "code"));
    let param = str_field(v, "param");

    let by_code = |c: &str| match c.to_ascii_lowercase().as_str() {
        "context_length_exceeded" | "string_above_max_length" => {
            Some(ErrorClass::ContextWindowExceeded)
        }
        "content_filter" | "content_policy_violation" | "responsibleaipolicyviolation" => {
            Some(ErrorClass::ContentFiltered)
        }
        "insufficient_quota" => Some(ErrorClass::QuotaExceeded),
        "rate_limit_exceeded" => Some(ErrorClass::RateLimited),
        "invalid_api_key" => Some(ErrorClass::UpstreamAuth),
        "model_not_found" | "deploymentnotfound" => Some(ErrorClass::NotFound),
        _ => None,
    };
    let class = [&code, &inner_code, &ty]
        .into_iter()
        .flatten()
        .find_map(|c| by_code(c))
        .unwrap_or_else(|| {
            let text = format!(
                "{} {} {}",
                code.as_deref().unwrap_or(""),
                ty.as_deref().unwrap_or(""),
                message
            );
            match status {
                Some(s) => classify_status(s, &text),
                None => match ty.as_deref() {
                    Some("invalid_request_error") => match classify_status(400, &text) {
                        c @ (ErrorClass::ContextWindowExceeded
                        | ErrorClass::ContentFiltered
                        | ErrorClass::QuotaExceeded) => c,
                        _ => ErrorClass::BadRequest,
                    },
                    Some("rate_limit_error" | "requests" | "tokens") => ErrorClass::RateLimited,
                    _ => ErrorClass::ServerError,
                },
            }
        });
    let mut err = GatewayError::upstream(class, status.unwrap_or(class.default_status()), message);
    // Azure's numeric codes ("429") repeat the status: not a dialect code.
    if let Some(c) = code.filter(|c| !c.chars().all(|ch| ch.is_ascii_digit())) {
        err = err.with_code(c);
    }
    if let Some(p) = param {
        err = err.with_param(p);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_stream_errors_default_to_server_error() {
        let e = error_from_value(
            None,
            &serde_json::json!({"message": "boom", "type": "server_error"}),
        );
        assert_eq!(e.class, ErrorClass::ServerError);
        assert_eq!(e.status, 502);
        assert_eq!(e.message, "boom");
    }

    #[test]
    fn plain_text_bodies() {
        let e = map_error(503, &HeaderMap::new(), b"upstream connect error");
        assert_eq!(e.class, ErrorClass::ServerError);
        assert_eq!(e.message, "upstream connect error");
        let e = map_error(401, &HeaderMap::new(), b"");
        assert_eq!(e.class, ErrorClass::UpstreamAuth);
        assert_eq!(e.message, "the provider answered HTTP 401");
    }
}

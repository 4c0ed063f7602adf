//! Anthropic error answers (`{"type":"error","error":{"type","message"}}`) -> classified
//! gateway errors keeping the provider's status and message.

use http::HeaderMap;
use serde::Deserialize;
use switchyard_types::error::classify_status;
use switchyard_types::{ErrorClass, GatewayError};

use crate::retry_after;

#[derive(Deserialize, Default, Debug)]
pub(crate) struct WireErrorBody {
    #[serde(rename = "type", default)]
    pub ty: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
}

/// Longest piece of a non-JSON error body kept as the message.
const MAX_TEXT: usize = 512;

/// Maps an upstream error answer to a gateway error.
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let err = match serde_json::from_slice::<WireError>(body) {
        Ok(w) if !w.error.ty.is_empty() => error_from_type(status, &w.error.ty, &w.error.message),
        _ => {
            let text = String::from_utf8_lossy(body);
            let class = classify_status(status, &text);
            GatewayError::upstream(class, status, text_message(status, &text))
        }
    };
    err.with_retry_after(retry_after(headers))
}

fn text_message(status: u16, text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        return format!("anthropic answered HTTP {status}");
    }
    let mut end = t.len().min(MAX_TEXT);
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    t[..end].to_string()
}

/// Classifies an Anthropic error `type` (the message refines `invalid_request_error`).
pub(crate) fn class_for_type(status: u16, ty: &str, message: &str) -> ErrorClass {
    match ty {
        "invalid_request_error" => {
            let lower = message.to_ascii_lowercase();
            if lower.contains("context limit") || lower.contains("prompt is too long") {
                return ErrorClass::ContextWindowExceeded;
            }
            match classify_status(400, message) {
                c @ (ErrorClass::ContextWindowExceeded
                | ErrorClass::QuotaExceeded
                | ErrorClass::ContentFiltered) => c,
                _ => ErrorClass::BadRequest,
            }
        }
        "authentication_error" | "permission_error" => ErrorClass::UpstreamAuth,
        "not_found_error" => ErrorClass::NotFound,
        "rate_limit_error" => ErrorClass::RateLimited,
        "billing_error" => ErrorClass::QuotaExceeded,
        "overloaded_error" => ErrorClass::Overloaded,
        "api_error" => ErrorClass::ServerError,
        "request_too_large" => ErrorClass::PayloadTooLarge,
        "timeout_error" => ErrorClass::Timeout,
        _ => classify_status(status, message),
    }
}

/// Builds the gateway error for an Anthropic error type and message.
pub(crate) fn error_from_type(status: u16, ty: &str, message: &str) -> GatewayError {
    let class = class_for_type(status, ty, message);
    let message = if message.is_empty() {
        format!("anthropic {ty}")
    } else {
        message.to_string()
    };
    GatewayError::upstream(class, status, message)
}

/// An `error` event inside a 200 stream: no HTTP status exists, so the class's own is used.
pub(crate) fn stream_error(ty: &str, message: &str) -> GatewayError {
    let class = class_for_type(500, ty, message);
    let mut e = error_from_type(class.default_status(), ty, message);
    e.class = class;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_json_bodies_use_status() {
        let e = map_error(502, &HeaderMap::new(), b"<html>bad gateway</html>");
        assert_eq!(e.class, ErrorClass::ServerError);
        assert_eq!(e.status, 502);
        assert_eq!(e.message, "<html>bad gateway</html>");
        let e = map_error(429, &HeaderMap::new(), b"");
        assert_eq!(e.class, ErrorClass::RateLimited);
        assert_eq!(e.message, "anthropic answered HTTP 429");
        let long = "é".repeat(600);
        let e = map_error(500, &HeaderMap::new(), long.as_bytes());
        assert!(e.message.len() <= MAX_TEXT);
    }

    #[test]
    fn stream_errors_take_the_class_status() {
        let e = stream_error("overloaded_error", "Overloaded");
        assert_eq!(e.class, ErrorClass::Overloaded);
        assert_eq!(e.status, 529);
    }
}

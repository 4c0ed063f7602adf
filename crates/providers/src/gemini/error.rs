//! Gemini (and Vertex Gemini) error bodies -> classified [`GatewayError`]s.
//!
//! Body: `{"error":{"code","message","status","details":[...]}}` (Vertex sometimes wraps it in
//! a one-element array). Classification by `status`, refined by `details`:
//! - an `ErrorInfo` whose `reason` starts with `API_KEY_` (`API_KEY_INVALID`, ...) ->
//!   `UpstreamAuth`, whatever the status (Gemini reports a bad key as a 400);
//! - `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `OUT_OF_RANGE` -> `BadRequest`, or
//!   `ContextWindowExceeded` when the message is about the token limit;
//! - `PERMISSION_DENIED`, `UNAUTHENTICATED` -> `UpstreamAuth`; `NOT_FOUND` -> `NotFound`;
//! - `RESOURCE_EXHAUSTED` -> `RateLimited`, `retry_after` from `RetryInfo.retryDelay` ("1s",
//!   "0.5s") or else the `Retry-After` headers;
//! - `INTERNAL`, `UNKNOWN`, `ABORTED`, `CANCELLED` -> `ServerError`; `UNAVAILABLE` ->
//!   `Overloaded` (Google's 503 reads "The model is overloaded"; both are retryable, and
//!   `Overloaded` tells routing to back off); `DEADLINE_EXCEEDED` -> `Timeout`;
//! - anything else, or a body that is not Google's shape -> [`classify_status`].
//!
//! The status is Google's own (for `UpstreamAuth` the server answers the client 502 — the
//! gateway's credential failed, not the client's). The message is Google's own.

use std::time::Duration;

use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use switchyard_types::error::classify_status;
use switchyard_types::{ErrorClass, GatewayError};

use crate::retry_after;

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct WireError {
    pub code: Option<u16>,
    pub message: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub details: Vec<Value>,
}

#[derive(Deserialize)]
struct Envelope {
    error: WireError,
}

/// Most characters of a non-JSON error body kept as the message.
const MAX_RAW_MESSAGE: usize = 500;

/// Maps a non-2xx Gemini answer.
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let header_retry = retry_after(headers);
    match parse_envelope(body) {
        Some(err) => from_wire(status, &err, header_retry),
        None => {
            let text = String::from_utf8_lossy(body);
            let trimmed = text.trim();
            let message = if trimmed.is_empty() {
                format!("Gemini answered HTTP {status}")
            } else {
                trimmed.chars().take(MAX_RAW_MESSAGE).collect()
            };
            let class = classify_status(status, trimmed);
            GatewayError::upstream(class, status, message).with_retry_after(header_retry)
        }
    }
}

fn parse_envelope(body: &[u8]) -> Option<WireError> {
    if let Ok(e) = serde_json::from_slice::<Envelope>(body) {
        return Some(e.error);
    }
    let list: Vec<Envelope> = serde_json::from_slice(body).ok()?;
    list.into_iter().next().map(|e| e.error)
}

/// Classifies one Google error object. `http_status` is the HTTP status (or the error's own
/// `code` for errors inside a stream).
pub(crate) fn from_wire(
    http_status: u16,
    err: &WireError,
    header_retry: Option<Duration>,
) -> GatewayError {
    let message = err
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("Gemini answered HTTP {http_status}"));
    let reason = error_info_reason(&err.details);
    let class = if reason.is_some_and(|r| r.starts_with("API_KEY_")) {
        ErrorClass::UpstreamAuth
    } else {
        match err.status.as_deref() {
            Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => {
                if classify_status(400, &message) == ErrorClass::ContextWindowExceeded
                    || mentions_token_limit(&message)
                {
                    ErrorClass::ContextWindowExceeded
                } else {
                    ErrorClass::BadRequest
                }
            }
            Some("PERMISSION_DENIED" | "UNAUTHENTICATED") => ErrorClass::UpstreamAuth,
            Some("NOT_FOUND") => ErrorClass::NotFound,
            Some("RESOURCE_EXHAUSTED") => ErrorClass::RateLimited,
            Some("INTERNAL" | "UNKNOWN" | "ABORTED" | "CANCELLED") => ErrorClass::ServerError,
            Some("UNAVAILABLE") => ErrorClass::Overloaded,
            Some("DEADLINE_EXCEEDED") => ErrorClass::Timeout,
            _ => classify_status(http_status, &message),
        }
    };
    // Google's own status is kept (the server answers the client 502 for UpstreamAuth).
    let mut e = GatewayError::upstream(class, http_status, message);
    if let Some(r) = reason {
        e = e.with_code(r.to_ascii_lowercase());
    }
    e.with_retry_after(retry_info(&err.details).or(header_retry))
}

fn mentions_token_limit(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("input token count") || m.contains("token limit") || m.contains("tokens allowed")
}

fn type_is(detail: &Value, name: &str) -> bool {
    detail
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with(name))
}

/// `google.rpc.ErrorInfo.reason`.
fn error_info_reason(details: &[Value]) -> Option<&str> {
    details
        .iter()
        .find(|d| type_is(d, "google.rpc.ErrorInfo"))
        .and_then(|d| d.get("reason"))
        .and_then(Value::as_str)
}

/// `google.rpc.RetryInfo.retryDelay`: a proto Duration, as JSON text (`"1.5s"`) or as
/// `{"seconds","nanos"}`.
fn retry_info(details: &[Value]) -> Option<Duration> {
    let delay = details
        .iter()
        .find(|d| type_is(d, "google.rpc.RetryInfo"))?
        .get("retryDelay")?;
    match delay {
        Value::String(s) => parse_duration(s),
        Value::Object(o) => {
            let secs = o
                .get("seconds")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .unwrap_or(0);
            let nanos = o.get("nanos").and_then(Value::as_u64).unwrap_or(0);
            Some(Duration::from_secs(secs) + Duration::from_nanos(nanos.min(999_999_999)))
        }
        _ => None,
    }
}

/// Parses a proto-JSON duration such as `"29s"` or `"0.5s"`.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().strip_suffix('s')?.parse().ok()?;
    if !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("0.5s"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("1m"), None);
        assert_eq!(parse_duration("NaNs"), None);
    }

    #[test]
    fn non_json_body_uses_status() {
        let e = map_error(503, &HeaderMap::new(), b"upstream connect error");
        assert_eq!(e.class, ErrorClass::ServerError);
        assert_eq!(e.message, "upstream connect error");
        let e = map_error(502, &HeaderMap::new(), b"");
        assert_eq!(e.message, "Gemini answered HTTP 502");
    }

    #[test]
    fn array_wrapped_error() {
        let body = br#"[{"error":{"code":404,"message":"Publisher model not found","status":"NOT_FOUND"}}]"#;
        let e = map_error(404, &HeaderMap::new(), body);
        assert_eq!((e.class, e.status), (ErrorClass::NotFound, 404));
    }
}

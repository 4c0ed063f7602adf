//! Anthropic error answers -> gateway error classes, status, message and retry hint.

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use pretty_assertions::assert_eq;
use switchyard_providers::anthropic::map_error;
use switchyard_types::{ErrorClass, Who};

fn body(ty: &str, message: &str) -> Vec<u8> {
    serde_json::json!({
        "type": "error",
        "error": {"type": ty, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
    })
    .to_string()
    .into_bytes()
}

#[test]
fn every_error_type_maps_to_a_class() {
    let cases = [
        (
            400,
            "invalid_request_error",
            "messages: text content blocks must be non-empty",
            ErrorClass::BadRequest,
        ),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 208000 tokens > 200000 maximum",
            ErrorClass::ContextWindowExceeded,
        ),
        (
            400,
            "invalid_request_error",
            "input length and `max_tokens` exceed context limit: 199000 + 8192 > 200000",
            ErrorClass::ContextWindowExceeded,
        ),
        (
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
            ErrorClass::QuotaExceeded,
        ),
        (
            401,
            "authentication_error",
            "invalid x-api-key",
            ErrorClass::UpstreamAuth,
        ),
        (
            402,
            "billing_error",
            "Payment required",
            ErrorClass::QuotaExceeded,
        ),
        (
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
            ErrorClass::UpstreamAuth,
        ),
        (
            404,
            "not_found_error",
            "model: claude-nope",
            ErrorClass::NotFound,
        ),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
            ErrorClass::PayloadTooLarge,
        ),
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            ErrorClass::RateLimited,
        ),
        (
            500,
            "api_error",
            "An unexpected error has occurred internal to Anthropic's systems.",
            ErrorClass::ServerError,
        ),
        (
            504,
            "timeout_error",
            "Request timed out",
            ErrorClass::Timeout,
        ),
        (
            529,
            "overloaded_error",
            "Overloaded",
            ErrorClass::Overloaded,
        ),
        // A type added later falls back on the status.
        (409, "conflict_error", "conflict", ErrorClass::BadRequest),
        (503, "brand_new_error", "later", ErrorClass::ServerError),
    ];
    for (status, ty, message, class) in cases {
        let e = map_error(status, &HeaderMap::new(), &body(ty, message));
        assert_eq!(e.class, class, "{ty}: {message}");
        assert_eq!(e.status, status, "{ty}");
        assert_eq!(e.message, message, "{ty}");
        assert_eq!(e.who, Who::Upstream);
    }
}

#[test]
fn retry_after_is_read() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", HeaderValue::from_static("17"));
    let e = map_error(429, &h, &body("rate_limit_error", "slow down"));
    assert_eq!(e.retry_after, Some(Duration::from_secs(17)));
    assert!(e.class.retryable());
    let e = map_error(
        529,
        &HeaderMap::new(),
        &body("overloaded_error", "Overloaded"),
    );
    assert_eq!(e.retry_after, None);
    assert!(e.class.retryable());
}

#[test]
fn non_json_bodies_are_classified_by_status() {
    let e = map_error(
        413,
        &HeaderMap::new(),
        b"<html><body>413 Request Entity Too Large</body></html>",
    );
    assert_eq!(e.class, ErrorClass::PayloadTooLarge);
    let e = map_error(529, &HeaderMap::new(), b"");
    assert_eq!(e.class, ErrorClass::Overloaded);
    // JSON without the Anthropic shape.
    let e = map_error(401, &HeaderMap::new(), br#"{"message":"nope"}"#);
    assert_eq!(e.class, ErrorClass::UpstreamAuth);
}

//! Gemini error bodies -> classified gateway errors.
#![cfg(test)]

use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use switchyard_config::ProviderConfig;
use switchyard_providers::gemini::{map_error, GeminiAdapter};
use switchyard_providers::ChatAdapter;
use switchyard_types::{ErrorClass, Secret, Who};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/gemini")
            .join(name),
    )
    .unwrap()
}

#[test]
fn each_status_maps_to_its_class() {
    let cases = [
        (
            "error_api_key_invalid.json",
            400,
            ErrorClass::UpstreamAuth,
            400,
        ),
        (
            "error_invalid_argument.json",
            400,
            ErrorClass::BadRequest,
            400,
        ),
        (
            "error_context_window.json",
            400,
            ErrorClass::ContextWindowExceeded,
            400,
        ),
        (
            "error_permission_denied.json",
            403,
            ErrorClass::UpstreamAuth,
            403,
        ),
        ("error_not_found.json", 404, ErrorClass::NotFound, 404),
        ("error_rate_limited.json", 429, ErrorClass::RateLimited, 429),
        ("error_internal.json", 500, ErrorClass::ServerError, 500),
        ("error_unavailable.json", 503, ErrorClass::Overloaded, 503),
        ("error_deadline.json", 504, ErrorClass::Timeout, 504),
    ];
    for (name, http_status, class, status) in cases {
        let body = fixture(name);
        let e = map_error(http_status, &HeaderMap::new(), &body);
        assert_eq!((e.class, e.status), (class, status), "{name}");
        assert_eq!(e.who, Who::Upstream, "{name}");
        let wire: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            e.message,
            wire["error"]["message"].as_str().unwrap(),
            "{name} keeps Google's message"
        );
    }
}

#[test]
fn api_key_invalid_has_its_code() {
    let e = map_error(
        400,
        &HeaderMap::new(),
        &fixture("error_api_key_invalid.json"),
    );
    assert_eq!(e.code.as_deref(), Some("api_key_invalid"));
    assert!(!e.class.retryable());
}

#[test]
fn retry_info_beats_headers_and_headers_are_the_fallback() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("7"));
    let e = map_error(429, &headers, &fixture("error_rate_limited.json"));
    assert_eq!(e.retry_after, Some(Duration::from_millis(500)));
    assert!(e.class.retryable());

    let e = map_error(503, &headers, &fixture("error_unavailable.json"));
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));

    let body = br#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"29s"}]}}"#;
    let e = map_error(429, &HeaderMap::new(), body);
    assert_eq!(e.retry_after, Some(Duration::from_secs(29)));
}

#[test]
fn adapter_error_hook_uses_the_same_mapping() {
    let cfg = ProviderConfig {
        api_key: Some(Secret::new("k".to_string())),
        ..ProviderConfig::default()
    };
    let a = GeminiAdapter::new(&cfg).unwrap();
    let e = a.error(404, &HeaderMap::new(), &fixture("error_not_found.json"));
    assert_eq!(e.class, ErrorClass::NotFound);
}

#[test]
fn unknown_status_and_html_bodies_fall_back_to_the_http_status() {
    let body = br#"{"error":{"code":499,"message":"The operation was cancelled.","status":"SOMETHING_ELSE"}}"#;
    let e = map_error(429, &HeaderMap::new(), body);
    assert_eq!(e.class, ErrorClass::RateLimited);
    let e = map_error(
        502,
        &HeaderMap::new(),
        b"<html><body>Bad Gateway</body></html>",
    );
    assert_eq!((e.class, e.status), (ErrorClass::ServerError, 502));
    let e = map_error(401, &HeaderMap::new(), b"nope");
    assert_eq!((e.class, e.status), (ErrorClass::UpstreamAuth, 401));
}

//! OpenAI / Azure / Mistral-style error answers -> gateway error classes, keeping message, code,
//! param and the retry hint.

// Marks the whole file as test code, so the lint table lets helpers unwrap.
#![cfg(test)]

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use pretty_assertions::assert_eq;
use serde_json::json;
use switchyard_providers::openai::map_error;
use switchyard_types::{ErrorClass, Who};

fn openai(message: &str, ty: &str, code: Option<&str>, param: Option<&str>) -> Vec<u8> {
    json!({"error": {"message": message, "type": ty, "param": param, "code": code}})
        .to_string()
        .into_bytes()
}

#[test]
fn openai_errors() {
    let cases = [
        (400, openai("This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", "invalid_request_error", Some("context_length_exceeded"), Some("messages")), ErrorClass::ContextWindowExceeded, Some("context_length_exceeded")),
        (400, openai("Invalid value for 'temperature'.", "invalid_request_error", Some("invalid_value"), Some("temperature")), ErrorClass::BadRequest, Some("invalid_value")),
        (401, openai("Incorrect API key provided: sk-abc***xyz.", "invalid_request_error", Some("invalid_api_key"), None), ErrorClass::UpstreamAuth, Some("invalid_api_key")),
        (403, openai("You are not allowed to sample from this model", "invalid_request_error", None, None), ErrorClass::UpstreamAuth, None),
        (404, openai("The model `gpt-9` does not exist or you do not have access to it.", "invalid_request_error", Some("model_not_found"), None), ErrorClass::NotFound, Some("model_not_found")),
        (429, openai("Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 30000, Requested 100.", "tokens", Some("rate_limit_exceeded"), None), ErrorClass::RateLimited, Some("rate_limit_exceeded")),
        (429, openai("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", Some("insufficient_quota"), None), ErrorClass::QuotaExceeded, Some("insufficient_quota")),
        (500, openai("The server had an error while processing your request. Sorry about that!", "server_error", None, None), ErrorClass::ServerError, None),
        (503, openai("The engine is currently overloaded, please try again later.", "server_error", None, None), ErrorClass::Overloaded, None),
    ];
    for (status, body, class, code) in cases {
        let e = map_error(status, &HeaderMap::new(), &body);
        assert_eq!(e.class, class, "{status}");
        assert_eq!(e.status, status);
        assert_eq!(e.code.as_deref(), code);
        assert_eq!(e.who, Who::Upstream);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(e.message, v["error"]["message"].as_str().unwrap());
    }
    let e = map_error(
        400,
        &HeaderMap::new(),
        &openai(
            "bad",
            "invalid_request_error",
            Some("invalid_value"),
            Some("temperature"),
        ),
    );
    assert_eq!(e.param.as_deref(), Some("temperature"));
}

#[test]
fn rate_limit_retry_after() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", HeaderValue::from_static("20"));
    let e = map_error(
        429,
        &h,
        &openai("slow", "requests", Some("rate_limit_exceeded"), None),
    );
    assert_eq!(e.retry_after, Some(Duration::from_secs(20)));
    let mut h = HeaderMap::new();
    h.insert("retry-after-ms", HeaderValue::from_static("1500"));
    h.insert("retry-after", HeaderValue::from_static("2"));
    let e = map_error(429, &h, br#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 2 seconds."}}"#);
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
    assert_eq!(e.code, None, "Azure's numeric code only repeats the status");
}

#[test]
fn azure_errors() {
    let filtered = json!({"error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": null, "param": "prompt", "code": "content_filter", "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
            "hate": {"filtered": false, "severity": "safe"},
            "violence": {"filtered": true, "severity": "medium"}}}}});
    let e = map_error(400, &HeaderMap::new(), filtered.to_string().as_bytes());
    assert_eq!(e.class, ErrorClass::ContentFiltered);
    assert_eq!(e.code.as_deref(), Some("content_filter"));
    assert_eq!(e.param.as_deref(), Some("prompt"));

    let e = map_error(
        404,
        &HeaderMap::new(),
        br#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#,
    );
    assert_eq!(e.class, ErrorClass::NotFound);
    assert_eq!(e.code.as_deref(), Some("DeploymentNotFound"));

    let e = map_error(
        401,
        &HeaderMap::new(),
        br#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}"#,
    );
    assert_eq!(e.class, ErrorClass::UpstreamAuth);
    assert_eq!(e.code, None);
}

#[test]
fn mistral_flat_shape() {
    let e = map_error(
        400,
        &HeaderMap::new(),
        br#"{"object":"error","message":"Prompt contains 40000 tokens, too large for model with 32768 maximum context length","type":"invalid_request_error","param":null,"code":"3051"}"#,
    );
    assert_eq!(e.class, ErrorClass::ContextWindowExceeded);
    assert!(e.message.starts_with("Prompt contains"));
}

#[test]
fn non_json_bodies() {
    let e = map_error(502, &HeaderMap::new(), b"<html>Bad Gateway</html>");
    assert_eq!(e.class, ErrorClass::ServerError);
    assert_eq!(e.message, "<html>Bad Gateway</html>");
}

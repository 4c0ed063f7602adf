//! Bedrock errors: HTTP error answers (`{"message"}` + `x-amzn-ErrorType: Name:uri`) and
//! in-stream exception frames share one name -> class table.

use http::HeaderMap;
use serde_json::Value;
use switchyard_types::error::classify_status;
use switchyard_types::{ErrorClass, GatewayError};

use crate::retry_after;

/// Class for an AWS exception name (`ThrottlingException` or the stream's `throttlingException`;
/// the case of the first letter does not matter). `message` decides between a plain
/// validation error and a context-window overflow.
pub fn exception_class(name: &str, message: &str) -> Option<ErrorClass> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "throttlingexception" => ErrorClass::RateLimited,
        "servicequotaexceededexception" => ErrorClass::QuotaExceeded,
        "serviceunavailableexception" => ErrorClass::Overloaded,
        "modelnotreadyexception"
        | "internalserverexception"
        | "modelerrorexception"
        | "modelstreamerrorexception" => ErrorClass::ServerError,
        "modeltimeoutexception" => ErrorClass::Timeout,
        "validationexception" => {
            if classify_status(400, message) == ErrorClass::ContextWindowExceeded {
                ErrorClass::ContextWindowExceeded
            } else {
                ErrorClass::BadRequest
            }
        }
        "accessdeniedexception"
        | "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "expiredtokenexception"
        | "missingauthenticationtokenexception" => ErrorClass::UpstreamAuth,
        "resourcenotfoundexception" => ErrorClass::NotFound,
        _ => return None,
    })
}

/// The HTTP status AWS documents for an in-stream exception.
pub(crate) fn exception_status(name: &str) -> u16 {
    match name.to_ascii_lowercase().as_str() {
        "throttlingexception" => 429,
        "serviceunavailableexception" => 503,
        "modelstreamerrorexception" | "modelerrorexception" => 424,
        "validationexception" => 400,
        "modeltimeoutexception" => 408,
        _ => 500,
    }
}

/// The error name: `x-amzn-errortype` (before `:`), else the body's `__type` (after `#`).
fn error_name(headers: &HeaderMap, body: &Value) -> Option<String> {
    if let Some(h) = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
    {
        let name = h.split(':').next().unwrap_or(h).trim();
        if !name.is_empty() {
            return Some(name.to_string());
        }
    }
    let t = body
        .get("__type")
        .or_else(|| body.get("code"))
        .and_then(Value::as_str)?;
    Some(t.rsplit('#').next().unwrap_or(t).to_string())
}

fn body_message(body: &Value, raw: &[u8]) -> String {
    body.get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(raw);
            let text = text.trim();
            if text.is_empty() {
                "no error message".to_string()
            } else {
                text.chars().take(500).collect()
            }
        })
}

/// Maps an HTTP error answer from Bedrock.
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = body_message(&json, body);
    let name = error_name(headers, &json);
    let class = name
        .as_deref()
        .and_then(|n| exception_class(n, &message))
        .unwrap_or_else(|| classify_status(status, &message));
    let mut err =
        GatewayError::upstream(class, status, message).with_retry_after(retry_after(headers));
    if let Some(n) = name {
        err = with_aws_code(err, n);
    }
    err
}

/// Names the AWS exception as the error code, unless the class has a code clients act on
/// (`context_length_exceeded`, `content_filter`, `rate_limit_exceeded`).
fn with_aws_code(err: GatewayError, name: String) -> GatewayError {
    match err.class {
        ErrorClass::ContextWindowExceeded
        | ErrorClass::ContentFiltered
        | ErrorClass::RateLimited => err,
        _ => err.with_code(name),
    }
}

/// An in-stream exception frame (`:message-type: exception`).
pub(crate) fn stream_exception(name: &str, payload: &[u8]) -> GatewayError {
    let json: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let message = body_message(&json, payload);
    let class = exception_class(name, &message).unwrap_or(ErrorClass::ServerError);
    with_aws_code(
        GatewayError::upstream(class, exception_status(name), message),
        name.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str, status: u16, msg: &str) -> GatewayError {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amzn-ErrorType",
            format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/")
                .parse()
                .unwrap(),
        );
        map_error(status, &h, format!(r#"{{"message":"{msg}"}}"#).as_bytes())
    }

    #[test]
    fn http_exceptions_by_name() {
        let cases = [
            ("ThrottlingException", 429, ErrorClass::RateLimited),
            ("ServiceUnavailableException", 503, ErrorClass::Overloaded),
            ("ModelNotReadyException", 429, ErrorClass::ServerError),
            ("ValidationException", 400, ErrorClass::BadRequest),
            ("AccessDeniedException", 403, ErrorClass::UpstreamAuth),
            ("UnrecognizedClientException", 403, ErrorClass::UpstreamAuth),
            ("ResourceNotFoundException", 404, ErrorClass::NotFound),
            ("ModelTimeoutException", 408, ErrorClass::Timeout),
            ("InternalServerException", 500, ErrorClass::ServerError),
            ("ModelErrorException", 424, ErrorClass::ServerError),
        ];
        for (name, status, class) in cases {
            let e = err(name, status, "boom");
            assert_eq!(e.class, class, "{name}");
            assert_eq!(e.status, status);
            // Classes clients act on keep their own code; others name the AWS exception.
            let expected = (class != ErrorClass::RateLimited).then_some(name);
            assert_eq!(e.code.as_deref(), expected, "{name}");
            assert_eq!(e.code_str(), expected.unwrap_or("rate_limit_exceeded"));
            assert_eq!(e.message, "boom");
        }
    }

    #[test]
    fn validation_context_window() {
        let e = err(
            "ValidationException",
            400,
            "Input is too long for requested model.",
        );
        assert_eq!(e.class, ErrorClass::ContextWindowExceeded);
        assert_eq!(e.code_str(), "context_length_exceeded");
        let e = err(
            "ValidationException",
            400,
            "prompt is too long: 210000 tokens > 200000 maximum",
        );
        assert_eq!(e.class, ErrorClass::ContextWindowExceeded);
    }

    #[test]
    fn fallbacks() {
        let e = map_error(
            400,
            &HeaderMap::new(),
            br#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}"#,
        );
        assert_eq!(e.class, ErrorClass::BadRequest);
        assert_eq!(e.code.as_deref(), Some("ValidationException"));
        let e = map_error(502, &HeaderMap::new(), b"<html>bad gateway</html>");
        assert_eq!(e.class, ErrorClass::ServerError);
        assert_eq!(e.message, "<html>bad gateway</html>");
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        let e = map_error(429, &h, b"");
        assert_eq!(e.class, ErrorClass::RateLimited);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
    }

    #[test]
    fn stream_exceptions() {
        let e = stream_exception("throttlingException", br#"{"message":"slow down"}"#);
        assert_eq!((e.class, e.status), (ErrorClass::RateLimited, 429));
        let e = stream_exception("modelStreamErrorException", br#"{"message":"x"}"#);
        assert_eq!((e.class, e.status), (ErrorClass::ServerError, 424));
        let e = stream_exception("validationException", br#"{"message":"x"}"#);
        assert_eq!((e.class, e.status), (ErrorClass::BadRequest, 400));
        let e = stream_exception("serviceUnavailableException", b"");
        assert_eq!((e.class, e.status), (ErrorClass::Overloaded, 503));
        let e = stream_exception("somethingNewException", b"{}");
        assert_eq!((e.class, e.status), (ErrorClass::ServerError, 500));
    }
}

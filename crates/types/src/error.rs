//! One error type for the whole gateway. It records *who* failed (client, upstream, gateway),
//! a classification that routing acts on (retry, fall back, give up), and the message to show.
//! HTTP status and dialect codes come from one exhaustive `match` each, here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    /// The client's request was wrong (bad JSON, unknown model, over a limit).
    Client,
    /// The provider failed or refused.
    Upstream,
    /// Switchyard itself failed.
    Gateway,
}

/// Low-cardinality classification. Used for retry/fallback decisions and as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Malformed or invalid request.
    BadRequest,
    /// The client presented no or a bad key (to Switchyard).
    Unauthorized,
    /// The key may not do this (model not allowed, admin route).
    Forbidden,
    /// Unknown model or route.
    NotFound,
    PayloadTooLarge,
    /// A parameter the target provider cannot honour, with `unsupported_params: reject`.
    Unsupported,
    /// Rate limited (by the provider or by Switchyard's own limits). Retryable.
    RateLimited,
    /// Over a Switchyard budget. Not retryable.
    BudgetExceeded,
    /// The provider account is out of quota/credit (OpenAI `insufficient_quota`). Not retryable.
    QuotaExceeded,
    /// The provider is over capacity (Anthropic 529). Retryable.
    Overloaded,
    /// The prompt is longer than the model's context window.
    ContextWindowExceeded,
    /// A provider's content policy blocked the prompt or the output.
    ContentFiltered,
    /// The provider rejected Switchyard's credentials.
    UpstreamAuth,
    /// The provider failed (5xx). Retryable.
    ServerError,
    /// The provider did not answer in time. Retryable.
    Timeout,
    /// The provider could not be reached. Retryable.
    Connect,
    /// Switchyard's own bug or failure.
    Internal,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 17] = [
        ErrorClass::BadRequest,
        ErrorClass::Unauthorized,
        ErrorClass::Forbidden,
        ErrorClass::NotFound,
        ErrorClass::PayloadTooLarge,
        ErrorClass::Unsupported,
        ErrorClass::RateLimited,
        ErrorClass::BudgetExceeded,
        ErrorClass::QuotaExceeded,
        ErrorClass::Overloaded,
        ErrorClass::ContextWindowExceeded,
        ErrorClass::ContentFiltered,
        ErrorClass::UpstreamAuth,
        ErrorClass::ServerError,
        ErrorClass::Timeout,
        ErrorClass::Connect,
        ErrorClass::Internal,
    ];

    /// Stable label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::Unauthorized => "unauthorized",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::NotFound => "not_found",
            ErrorClass::PayloadTooLarge => "payload_too_large",
            ErrorClass::Unsupported => "unsupported",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::BudgetExceeded => "budget_exceeded",
            ErrorClass::QuotaExceeded => "quota_exceeded",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::ContextWindowExceeded => "context_window_exceeded",
            ErrorClass::ContentFiltered => "content_filtered",
            ErrorClass::UpstreamAuth => "upstream_auth",
            ErrorClass::ServerError => "server_error",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connect => "connect",
            ErrorClass::Internal => "internal",
        }
    }

    /// May another attempt (same or other target) succeed?
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimited
                | ErrorClass::Overloaded
                | ErrorClass::ServerError
                | ErrorClass::Timeout
                | ErrorClass::Connect
        )
    }

    /// The HTTP status a client sees for this class when the gateway has no upstream status
    /// to pass on.
    pub fn default_status(self) -> u16 {
        match self {
            ErrorClass::BadRequest
            | ErrorClass::Unsupported
            | ErrorClass::ContextWindowExceeded
            | ErrorClass::ContentFiltered => 400,
            ErrorClass::Unauthorized => 401,
            ErrorClass::Forbidden => 403,
            ErrorClass::NotFound => 404,
            ErrorClass::PayloadTooLarge => 413,
            ErrorClass::RateLimited | ErrorClass::BudgetExceeded | ErrorClass::QuotaExceeded => 429,
            ErrorClass::Overloaded => 529,
            ErrorClass::UpstreamAuth => 502,
            ErrorClass::ServerError => 502,
            ErrorClass::Timeout => 504,
            ErrorClass::Connect => 502,
            ErrorClass::Internal => 500,
        }
    }

    /// OpenAI error `type`.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorClass::BadRequest
            | ErrorClass::Unsupported
            | ErrorClass::ContextWindowExceeded
            | ErrorClass::ContentFiltered
            | ErrorClass::NotFound
            | ErrorClass::PayloadTooLarge => "invalid_request_error",
            ErrorClass::Unauthorized => "authentication_error",
            ErrorClass::Forbidden => "permission_error",
            ErrorClass::RateLimited => "rate_limit_error",
            ErrorClass::BudgetExceeded | ErrorClass::QuotaExceeded => "insufficient_quota",
            ErrorClass::Overloaded
            | ErrorClass::UpstreamAuth
            | ErrorClass::ServerError
            | ErrorClass::Timeout
            | ErrorClass::Connect
            | ErrorClass::Internal => "server_error",
        }
    }

    /// Default OpenAI error `code`.
    pub fn openai_code(self) -> &'static str {
        match self {
            ErrorClass::BadRequest => "invalid_request",
            ErrorClass::Unauthorized => "invalid_api_key",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::NotFound => "model_not_found",
            ErrorClass::PayloadTooLarge => "request_too_large",
            ErrorClass::Unsupported => "unsupported_parameter",
            ErrorClass::RateLimited => "rate_limit_exceeded",
            ErrorClass::BudgetExceeded => "budget_exceeded",
            ErrorClass::QuotaExceeded => "insufficient_quota",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::ContextWindowExceeded => "context_length_exceeded",
            ErrorClass::ContentFiltered => "content_filter",
            ErrorClass::UpstreamAuth => "upstream_auth_failed",
            ErrorClass::ServerError => "upstream_error",
            ErrorClass::Timeout => "upstream_timeout",
            ErrorClass::Connect => "upstream_unreachable",
            ErrorClass::Internal => "internal_error",
        }
    }

    /// Anthropic error `type`.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            ErrorClass::BadRequest
            | ErrorClass::Unsupported
            | ErrorClass::ContextWindowExceeded
            | ErrorClass::ContentFiltered => "invalid_request_error",
            ErrorClass::Unauthorized => "authentication_error",
            ErrorClass::Forbidden => "permission_error",
            ErrorClass::NotFound => "not_found_error",
            ErrorClass::PayloadTooLarge => "request_too_large",
            ErrorClass::RateLimited | ErrorClass::BudgetExceeded => "rate_limit_error",
            ErrorClass::QuotaExceeded => "billing_error",
            ErrorClass::Overloaded => "overloaded_error",
            ErrorClass::UpstreamAuth
            | ErrorClass::ServerError
            | ErrorClass::Timeout
            | ErrorClass::Connect
            | ErrorClass::Internal => "api_error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayError {
    pub class: ErrorClass,
    pub who: Who,
    /// HTTP status to answer with.
    pub status: u16,
    /// Human-readable message (the provider's own message for upstream errors). Never contains
    /// a secret.
    pub message: String,
    /// Dialect error code to show (`context_length_exceeded`); defaults from the class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The offending request field, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// How long the provider (or our limiter) asked us to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<Duration>,
}

impl GatewayError {
    pub fn new(class: ErrorClass, who: Who, message: impl Into<String>) -> Self {
        Self {
            class,
            who,
            status: class.default_status(),
            message: message.into(),
            code: None,
            param: None,
            retry_after: None,
        }
    }

    /// The client's own mistake.
    pub fn client(class: ErrorClass, message: impl Into<String>) -> Self {
        Self::new(class, Who::Client, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::client(ErrorClass::BadRequest, message)
    }

    pub fn upstream(class: ErrorClass, status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            ..Self::new(class, Who::Upstream, message)
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Internal, Who::Gateway, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }
    pub fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.retry_after = d;
        self
    }

    /// The dialect `code` to show: the explicit one, else the class default.
    pub fn code_str(&self) -> &str {
        self.code
            .as_deref()
            .unwrap_or_else(|| self.class.openai_code())
    }
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.class.as_str(),
            self.status,
            self.message
        )
    }
}

impl std::error::Error for GatewayError {}

/// Classifies an upstream HTTP error from its status and body text, for providers whose error
/// shape carries no explicit class. Content matters: context-window and content-policy errors
/// arrive as 400s.
pub fn classify_status(status: u16, body_text: &str) -> ErrorClass {
    let lower = body_text.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "context_length_exceeded",
        "context length",
        "context window",
        "maximum context",
        "too many tokens",
        "prompt is too long",
        "input is too long",
        "exceeds the maximum number of tokens",
        "model_context_window_exceeded",
    ]) {
        return ErrorClass::ContextWindowExceeded;
    }
    if has(&[
        "content_filter",
        "content_policy",
        "content policy",
        "responsibleaipolicyviolation",
        "safety",
    ]) && (400..500).contains(&status)
    {
        return ErrorClass::ContentFiltered;
    }
    if has(&["insufficient_quota", "billing", "credit balance"]) && status != 500 {
        return ErrorClass::QuotaExceeded;
    }
    match status {
        401 => ErrorClass::UpstreamAuth,
        403 => ErrorClass::UpstreamAuth,
        404 => ErrorClass::NotFound,
        408 => ErrorClass::Timeout,
        413 => ErrorClass::PayloadTooLarge,
        429 => ErrorClass::RateLimited,
        529 => ErrorClass::Overloaded,
        503 if has(&["overload", "capacity"]) => ErrorClass::Overloaded,
        504 => ErrorClass::Timeout,
        500..=599 => ErrorClass::ServerError,
        _ => ErrorClass::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_reads_content() {
        assert_eq!(
            classify_status(400, r#"{"error":{"code":"context_length_exceeded"}}"#),
            ErrorClass::ContextWindowExceeded
        );
        assert_eq!(
            classify_status(400, r#"{"error":{"code":"content_filter"}}"#),
            ErrorClass::ContentFiltered
        );
        assert_eq!(classify_status(429, "slow down"), ErrorClass::RateLimited);
        assert_eq!(
            classify_status(429, r#"{"error":{"code":"insufficient_quota"}}"#),
            ErrorClass::QuotaExceeded
        );
        assert_eq!(classify_status(529, ""), ErrorClass::Overloaded);
        assert_eq!(classify_status(503, "busy"), ErrorClass::ServerError);
        assert_eq!(classify_status(400, "bad"), ErrorClass::BadRequest);
        assert!(ErrorClass::RateLimited.retryable());
        assert!(!ErrorClass::QuotaExceeded.retryable());
    }

    #[test]
    fn labels_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorClass::ALL {
            assert!(seen.insert(c.as_str()));
        }
    }
}

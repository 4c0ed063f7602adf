//! The provider conformance suite, error scenarios: each error class a provider produces,
//! in that provider's own error shape, through the real server to an OpenAI client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
#[macro_use]
mod conformance;

use conformance::anthropic_like::{ANTHROPIC, VERTEX_CLAUDE};
use conformance::bedrock::Bedrock;
use conformance::cohere::Cohere;
use conformance::gemini_like::{GEMINI, VERTEX_GEMINI};
use conformance::openai_like::{OpenAiKind, OpenAiLike};

conformance_errors!(openai => crate::OpenAiLike(crate::OpenAiKind::OpenAi);
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     content_filter, stream_error_midway]);
conformance_errors!(azure_openai => crate::OpenAiLike(crate::OpenAiKind::Azure);
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     content_filter, stream_error_midway]);
conformance_errors!(openai_compatible => crate::OpenAiLike(crate::OpenAiKind::Compatible);
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     content_filter, stream_error_midway]);
conformance_errors!(mistral => crate::OpenAiLike(crate::OpenAiKind::Mistral);
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     stream_error_midway]);
conformance_errors!(anthropic => crate::ANTHROPIC;
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     stream_error_midway]);
conformance_errors!(vertex_claude => crate::VERTEX_CLAUDE;
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     stream_error_midway]);
conformance_errors!(gemini => crate::GEMINI;
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     content_filter, stream_error_midway]);
conformance_errors!(vertex_gemini => crate::VERTEX_GEMINI;
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     content_filter, stream_error_midway]);
conformance_errors!(bedrock => crate::Bedrock;
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     stream_error_midway]);
conformance_errors!(cohere => crate::Cohere;
    [rate_limit, rate_limit_stream, overloaded, server_error, upstream_auth, context_window,
     stream_error_midway]);

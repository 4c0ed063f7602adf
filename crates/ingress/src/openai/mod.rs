//! The OpenAI dialect as a client speaks it: Chat Completions (`POST /v1/chat/completions`) and
//! Embeddings (`POST /v1/embeddings`).
//!
//! Choices made where OpenAI's shape leaves room:
//! - Rendered responses and chunks carry the upstream model that answered (`resp.model`, the
//!   stream's `Start.model`), as OpenAI itself answers with the dated snapshot behind an alias
//!   and as the `x-switchyard-model` header does; the public name is used only when the upstream
//!   gave none.
//! - Reasoning is rendered as the non-standard `reasoning_content` (text) and `thinking_blocks`
//!   (with signatures, when there are any) on the assistant message, and a Gemini thought
//!   signature on a tool call as `thought_signature`; the parser accepts all three back, so
//!   reasoning survives multi-turn tool use through OpenAI SDKs (which keep unknown fields).

mod embed;
mod request;
mod response;
mod stream;

pub use embed::{parse_embed_request, render_embed_response};
pub use request::parse_chat_request;
pub use response::{render_chat_response, render_error};
pub use stream::ChatStreamEncoder;

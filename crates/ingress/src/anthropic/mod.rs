//! The Anthropic Messages dialect as a client speaks it: `POST /v1/messages` and
//! `POST /v1/messages/count_tokens`.
//!
//! Choices made where the canonical form and Anthropic's shape differ are documented on each
//! module: [`parse_messages_request`] (server tools refused, tool results ordered first),
//! [`render_message_response`] (unparsable tool arguments kept as a string, stop reasons), and
//! [`MessagesStreamEncoder`] (usage after finish, block switching).

mod request;
mod response;
mod stream;

pub use request::{parse_count_tokens_request, parse_messages_request};
pub use response::{render_count_tokens, render_error, render_message_response};
pub use stream::MessagesStreamEncoder;

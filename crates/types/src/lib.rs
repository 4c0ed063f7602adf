//! Canonical types: the one form every ingress dialect parses into and every provider adapter
//! translates from. Ingress and provider code meet here and never depend on each other.
//!
//! N dialects + M providers = N + M translators. Keep these types plain data: no I/O, no HTTP.

pub mod chat;
pub mod embed;
pub mod error;
pub mod secret;
pub mod stream;
pub mod usage;

pub use chat::*;
pub use embed::*;
pub use error::{ErrorClass, GatewayError, Who};
pub use secret::Secret;
pub use stream::StreamEvent;
pub use usage::Usage;

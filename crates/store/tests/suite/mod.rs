//! The store test cases, each an async fn over one backend (see `store.rs` for the stamping).

mod audit;
mod keys;
mod logs;
mod migrations;
mod spend;
mod teams;

pub use audit::*;
pub use keys::*;
pub use logs::*;
pub use migrations::*;
pub use spend::*;
pub use teams::*;

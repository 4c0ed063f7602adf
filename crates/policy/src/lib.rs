//! Request-path policy for Switchyard: admission against rate limits, concurrency limits and
//! budgets, over counters held in memory (one process) or in Redis (every replica), plus the
//! pieces the server needs around it: prompt-token estimation and model allow-lists.
//!
//! No SQL on this path: the counters are the only state, seeded from the spend ledger at
//! start-up ([`Counters::seed`]).
//!
//! The server's flow: resolve each subject's [`BudgetSpec`] once into a [`Budget`] when keys
//! are loaded; per request, check [`model_allowed`], estimate tokens
//! ([`estimate_chat_prompt_tokens`]) and the maximum cost, call [`Admission::admit`], and on
//! completion [`Permit::settle`] with the actual usage and cost (dropping the permit on
//! failure releases it).

pub mod admission;
pub mod clock;
pub mod counters;
pub mod glob;
pub mod headers;
pub mod limits;
pub mod tokens;
pub mod window;

pub use admission::{
    Admission, AdmissionConfig, Permit, Refusal, Settlement, SoftBudgetNotice, Subject, SubjectKind,
};
pub use counters::{
    BudgetState, BudgetWindow, CounterError, Counters, Decision, Exceeded, Lease, MemoryCounters,
    RedisCounters, Reservation, Settled,
};
pub use glob::model_allowed;
pub use headers::{format_reset, retry_after_secs, RateLimitHeaders, RateState};
/// Re-exported so callers can name time zones and instants without a direct dependency.
pub use jiff;
pub use limits::{Budget, BudgetSpec, InvalidBudget, Limits, Period};
pub use tokens::{
    estimate_chat_prompt_tokens, estimate_plain_openai_chat, estimate_prompt_tokens, warm_up,
    warm_up_in_background,
};
pub use window::{window_at, window_start_ms};

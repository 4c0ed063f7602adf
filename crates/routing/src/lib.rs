//! switchyard-routing: how a request to a public model reaches an upstream that answers.
//!
//! - [`settings`]: what the configuration says per model and per target.
//! - [`Group`]: a model's targets with their live state ([`TargetState`]: in flight, latency,
//!   circuit breaker, rate-limit cooldown) and [`Group::select`] for each [`Strategy`].
//! - [`Plan`]: the requested model and its fallback models, per error class ([`Fallbacks`],
//!   [`fallback_kind`]).
//! - [`Executor::execute`]: runs a plan by calling the server's attempt closure, with retries
//!   ([`Backoff`], [`RetryBudget`]), fallbacks, hedging and an overall deadline, and reports
//!   every attempt in an [`Outcome`].
//!
//! Routing knows nothing of HTTP or providers: an attempt is a closure from [`AttemptCtx`] to a
//! future of `Result<T, GatewayError>`. State is lock-free (atomics) and reads the tokio clock,
//! so every behaviour here is tested on a paused clock.

mod backoff;
mod breaker;
mod budget;
mod clock;
mod execute;
mod fallback;
mod group;
mod latency;
mod plan;
mod rng;
mod round;
pub mod settings;
mod target;
mod window;

pub use backoff::Backoff;
pub use breaker::BreakerState;
pub use budget::RetryBudget;
pub use execute::{
    deadline_exceeded, no_target_available, AttemptCtx, AttemptRecord, Executor, Outcome,
};
pub use fallback::{fallback_kind, FallbackKind, Fallbacks};
pub use group::{Group, Target};
pub use latency::{LatencyKind, DECAY as LATENCY_DECAY};
pub use plan::Plan;
pub use rng::ThreadRng;
pub use settings::{
    BreakerSettings, HedgeSettings, RetryBudgetSettings, RetrySettings, RoutingSettings,
    SettingsIssue, Strategy, TargetSettings,
};
pub use target::{health_effect, HealthEffect, InFlight, TargetState, DEFAULT_RATE_LIMIT_COOLDOWN};

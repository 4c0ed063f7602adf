//! Routing settings as the configuration file spells them: one [`RoutingSettings`] per public
//! model (`models.NAME`) and one [`TargetSettings`] per target. Plain serde structs that reject
//! unknown fields; every field has a documented default, so an empty mapping is a valid value.
//! [`RoutingSettings::validate`] and [`TargetSettings::validate`] check ranges purely and report
//! each problem with its field path relative to the struct, for the config crate to prefix.

use serde::{Deserialize, Serialize};
use switchyard_types::ErrorClass;

/// How a target is chosen among the healthy targets of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Random, proportional to each target's `weight` (the default).
    #[default]
    Weighted,
    /// Each target in turn.
    RoundRobin,
    /// Fewest requests in flight; ties broken at random.
    LeastBusy,
    /// Power of two choices on peak-EWMA latency × (in flight + 1).
    LowestLatency,
    /// Lowest `cost_per_mtok`; ties broken at random; targets without a price last.
    LowestCost,
    /// The first healthy target by `priority` (lowest first), then by position.
    Ordered,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::Weighted,
        Strategy::RoundRobin,
        Strategy::LeastBusy,
        Strategy::LowestLatency,
        Strategy::LowestCost,
        Strategy::Ordered,
    ];

    /// Stable label for metrics and logs (the configuration spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Weighted => "weighted",
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastBusy => "least_busy",
            Strategy::LowestLatency => "lowest_latency",
            Strategy::LowestCost => "lowest_cost",
            Strategy::Ordered => "ordered",
        }
    }
}

/// Everything that decides how one public model is served.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingSettings {
    /// Default `weighted`.
    pub strategy: Strategy,
    pub retries: RetrySettings,
    pub retry_budget: RetryBudgetSettings,
    pub breaker: BreakerSettings,
    /// Hedging is opt-in: absent (the default) means never hedge.
    pub hedge: Option<HedgeSettings>,
    /// Default overall deadline for a request to this model, covering every attempt, backoff
    /// and fallback; a request may bring its own. Default: none.
    pub timeout_ms: Option<u64>,
}

/// Retries within one model's targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Upstream attempts on this model's targets, all together, first attempt and hedges
    /// included. Default 3. Fallback models have their own.
    pub max_attempts: u32,
    /// Backoff ceiling of the first retry; doubles each retry. Default 100.
    pub base_delay_ms: u64,
    /// Backoff ceiling cap. Default 5000.
    pub max_delay_ms: u64,
    /// Error classes worth another attempt. Default: the retryable classes (rate_limited,
    /// overloaded, server_error, timeout, connect).
    pub retry_on: Vec<ErrorClass>,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay_ms: 100,
            max_delay_ms: 5_000,
            retry_on: ErrorClass::ALL
                .into_iter()
                .filter(|c| c.retryable())
                .collect(),
        }
    }
}

/// Caps retries (and hedges) to a fraction of requests, so an outage does not become a storm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryBudgetSettings {
    /// Retries allowed per request over the window. Default 0.2.
    pub ratio: f64,
    /// Retries per second always allowed, whatever the traffic (so a quiet model can still
    /// retry): the window holds `min_per_sec × window_secs` of them. Default 5.
    pub min_per_sec: u32,
    /// Sliding window length. Default 10.
    pub window_secs: u64,
}

impl Default for RetryBudgetSettings {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_per_sec: 5,
            window_secs: 10,
        }
    }
}

/// Per-target circuit breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    /// Trip after this many failures in a row. Default 5.
    pub consecutive_failures: u32,
    /// Trip when failures / requests over the window reach this. Default 0.5.
    pub error_rate: f64,
    /// ... but only once the window holds this many requests. Default 20.
    pub min_requests: u32,
    /// Error-rate window. Default 30.
    pub window_secs: u64,
    /// How long a tripped target is ejected before one probe is let through. Default 30000.
    /// Doubles each time the probe fails, up to `max_cooldown_ms`.
    pub cooldown_ms: u64,
    /// Cap of the growing cooldown, and of a provider's `Retry-After`. Default 300000.
    pub max_cooldown_ms: u64,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            error_rate: 0.5,
            min_requests: 20,
            window_secs: 30,
            cooldown_ms: 30_000,
            max_cooldown_ms: 300_000,
        }
    }
}

/// Opt-in hedging: a second attempt on another target when the first is slow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HedgeSettings {
    /// Start a hedge after this long without an answer (time to first event for streams).
    /// Absent (the default): the first target's observed p95, and no hedge until it has
    /// enough observations to have one.
    pub delay_ms: Option<u64>,
    /// Hedges per round at most. Default 1.
    pub max_hedges: u32,
}

impl Default for HedgeSettings {
    fn default() -> Self {
        Self {
            delay_ms: None,
            max_hedges: 1,
        }
    }
}

/// Per-target routing knobs (the provider and upstream model are the config crate's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetSettings {
    /// Share of traffic under `weighted`. Default 1. A weight of 0 makes a standby target,
    /// chosen only when no target with a positive weight is healthy.
    pub weight: u32,
    /// Requests in flight at most; a target at the limit is skipped. Default: unlimited.
    pub max_in_flight: Option<u32>,
    /// Free-form region tag, for metrics and health output. Default: none.
    pub region: Option<String>,
    /// Rank under `ordered` (lowest first; equal ranks keep their listed order). Default 0.
    pub priority: i32,
    /// USD per million tokens, used by `lowest_cost`. The server fills it from the price table;
    /// a target without one is chosen last. Default: none.
    pub cost_per_mtok: Option<f64>,
}

impl Default for TargetSettings {
    fn default() -> Self {
        Self {
            weight: 1,
            max_in_flight: None,
            region: None,
            priority: 0,
            cost_per_mtok: None,
        }
    }
}

/// One invalid setting: `path` is relative to the validated struct (`retries.max_attempts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsIssue {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SettingsIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn issue(out: &mut Vec<SettingsIssue>, path: &str, message: impl Into<String>) {
    out.push(SettingsIssue {
        path: path.to_owned(),
        message: message.into(),
    });
}

impl RoutingSettings {
    /// Every out-of-range value, each with its path. Empty when valid.
    pub fn validate(&self) -> Vec<SettingsIssue> {
        let mut out = Vec::new();
        let r = &self.retries;
        if r.max_attempts == 0 {
            issue(&mut out, "retries.max_attempts", "must be at least 1");
        }
        if r.base_delay_ms > r.max_delay_ms {
            issue(
                &mut out,
                "retries.base_delay_ms",
                format!(
                    "{} is above retries.max_delay_ms ({})",
                    r.base_delay_ms, r.max_delay_ms
                ),
            );
        }
        let b = &self.retry_budget;
        if !(b.ratio.is_finite() && b.ratio >= 0.0) {
            issue(&mut out, "retry_budget.ratio", "must be a number >= 0");
        }
        if b.window_secs == 0 {
            issue(&mut out, "retry_budget.window_secs", "must be at least 1");
        }
        let k = &self.breaker;
        if k.consecutive_failures == 0 {
            issue(
                &mut out,
                "breaker.consecutive_failures",
                "must be at least 1",
            );
        }
        if !(k.error_rate > 0.0 && k.error_rate <= 1.0) {
            issue(&mut out, "breaker.error_rate", "must be in (0, 1]");
        }
        if k.window_secs == 0 {
            issue(&mut out, "breaker.window_secs", "must be at least 1");
        }
        if k.cooldown_ms == 0 {
            issue(&mut out, "breaker.cooldown_ms", "must be at least 1");
        }
        if k.max_cooldown_ms < k.cooldown_ms {
            issue(
                &mut out,
                "breaker.max_cooldown_ms",
                format!(
                    "{} is below breaker.cooldown_ms ({})",
                    k.max_cooldown_ms, k.cooldown_ms
                ),
            );
        }
        if let Some(h) = &self.hedge {
            if h.max_hedges == 0 {
                issue(&mut out, "hedge.max_hedges", "must be at least 1");
            }
            if h.delay_ms == Some(0) {
                issue(&mut out, "hedge.delay_ms", "must be at least 1");
            }
        }
        if self.timeout_ms == Some(0) {
            issue(&mut out, "timeout_ms", "must be at least 1");
        }
        out
    }
}

impl TargetSettings {
    /// Every out-of-range value, each with its path. Empty when valid.
    pub fn validate(&self) -> Vec<SettingsIssue> {
        let mut out = Vec::new();
        if self.max_in_flight == Some(0) {
            issue(&mut out, "max_in_flight", "must be at least 1");
        }
        if let Some(c) = self.cost_per_mtok {
            if !(c.is_finite() && c >= 0.0) {
                issue(&mut out, "cost_per_mtok", "must be a number >= 0");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_mapping_gives_documented_defaults() {
        let s: RoutingSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s.strategy, Strategy::Weighted);
        assert_eq!(s.retries.max_attempts, 3);
        assert_eq!(s.retries.base_delay_ms, 100);
        assert_eq!(s.retries.max_delay_ms, 5_000);
        assert_eq!(
            s.retries.retry_on,
            vec![
                ErrorClass::RateLimited,
                ErrorClass::Overloaded,
                ErrorClass::ServerError,
                ErrorClass::Timeout,
                ErrorClass::Connect
            ]
        );
        assert_eq!(s.retry_budget.ratio, 0.2);
        assert_eq!(s.retry_budget.min_per_sec, 5);
        assert_eq!(s.retry_budget.window_secs, 10);
        assert_eq!(s.breaker.consecutive_failures, 5);
        assert_eq!(s.breaker.error_rate, 0.5);
        assert_eq!(s.breaker.min_requests, 20);
        assert_eq!(s.breaker.window_secs, 30);
        assert_eq!(s.breaker.cooldown_ms, 30_000);
        assert_eq!(s.breaker.max_cooldown_ms, 300_000);
        assert_eq!(s.hedge, None);
        assert_eq!(s.timeout_ms, None);
        assert!(s.validate().is_empty());

        let t: TargetSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(t, TargetSettings::default());
        assert_eq!(t.weight, 1);
        assert!(t.validate().is_empty());
    }

    #[test]
    fn partial_values_and_hedge_defaults() {
        let s: RoutingSettings = serde_json::from_str(
            r#"{"strategy":"lowest_latency","retries":{"max_attempts":5,"retry_on":["server_error"]},
                "hedge":{},"timeout_ms":30000}"#,
        )
        .unwrap();
        assert_eq!(s.strategy, Strategy::LowestLatency);
        assert_eq!(s.retries.max_attempts, 5);
        assert_eq!(s.retries.base_delay_ms, 100);
        assert_eq!(s.retries.retry_on, vec![ErrorClass::ServerError]);
        assert_eq!(
            s.hedge,
            Some(HedgeSettings {
                delay_ms: None,
                max_hedges: 1
            })
        );
        assert_eq!(s.timeout_ms, Some(30_000));
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        for bad in [
            r#"{"strategy":"weighted","retires":{}}"#,
            r#"{"retries":{"max_attempt":2}}"#,
            r#"{"retry_budget":{"ratio":0.1,"burst":3}}"#,
            r#"{"breaker":{"cooldown":5}}"#,
            r#"{"hedge":{"delay":5}}"#,
            r#"{"strategy":"fastest"}"#,
        ] {
            assert!(
                serde_json::from_str::<RoutingSettings>(bad).is_err(),
                "accepted {bad}"
            );
        }
        assert!(serde_json::from_str::<TargetSettings>(r#"{"wieght":2}"#).is_err());
    }

    #[test]
    fn strategy_labels_round_trip() {
        for s in Strategy::ALL {
            let json = format!("\"{}\"", s.as_str());
            assert_eq!(serde_json::from_str::<Strategy>(&json).unwrap(), s);
        }
    }

    #[test]
    fn validation_names_each_bad_field() {
        let mut s = RoutingSettings::default();
        s.retries.max_attempts = 0;
        s.retries.base_delay_ms = 10_000;
        s.retry_budget.ratio = f64::NAN;
        s.retry_budget.window_secs = 0;
        s.breaker.consecutive_failures = 0;
        s.breaker.error_rate = 1.5;
        s.breaker.window_secs = 0;
        s.breaker.max_cooldown_ms = 10;
        s.hedge = Some(HedgeSettings {
            delay_ms: Some(0),
            max_hedges: 0,
        });
        s.timeout_ms = Some(0);
        let paths: Vec<String> = s.validate().into_iter().map(|i| i.path).collect();
        assert_eq!(
            paths,
            [
                "retries.max_attempts",
                "retries.base_delay_ms",
                "retry_budget.ratio",
                "retry_budget.window_secs",
                "breaker.consecutive_failures",
                "breaker.error_rate",
                "breaker.window_secs",
                "breaker.max_cooldown_ms",
                "hedge.max_hedges",
                "hedge.delay_ms",
                "timeout_ms",
            ]
        );
        let t = TargetSettings {
            max_in_flight: Some(0),
            cost_per_mtok: Some(-1.0),
            ..TargetSettings::default()
        };
        let paths: Vec<String> = t.validate().into_iter().map(|i| i.path).collect();
        assert_eq!(paths, ["max_in_flight", "cost_per_mtok"]);
    }
}

//! The metric registry. Label values are bounded: model and provider names come from the
//! configuration, statuses are HTTP codes, error classes and endpoints are enums.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;
use switchyard_types::ErrorClass;

/// A label value named in the configuration (a model or provider name), shared rather than
/// copied: building a label set for a lookup clones a pointer, not a string.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label(std::sync::Arc<str>);

impl Label {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Label {
    fn from(s: &str) -> Self {
        Label(s.into())
    }
}

impl From<String> for Label {
    fn from(s: String) -> Self {
        Label(s.into())
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Label {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl EncodeLabelValue for Label {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[expect(
    non_camel_case_types,
    reason = "label values are the variant names, in snake_case"
)]
pub enum Endpoint {
    chat_completions,
    embeddings,
    messages,
    count_tokens,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[expect(
    non_camel_case_types,
    reason = "label values are the variant names, in snake_case"
)]
pub enum TokenKind {
    prompt,
    completion,
    cached,
    reasoning,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[expect(
    non_camel_case_types,
    reason = "label values are the variant names, in snake_case"
)]
pub enum ErrorLabel {
    none,
    bad_request,
    unauthorized,
    forbidden,
    not_found,
    payload_too_large,
    unsupported,
    rate_limited,
    budget_exceeded,
    quota_exceeded,
    overloaded,
    context_window_exceeded,
    content_filtered,
    upstream_auth,
    server_error,
    timeout,
    connect,
    internal,
    client_disconnected,
}

impl From<Option<ErrorClass>> for ErrorLabel {
    fn from(c: Option<ErrorClass>) -> Self {
        match c {
            None => ErrorLabel::none,
            Some(ErrorClass::BadRequest) => ErrorLabel::bad_request,
            Some(ErrorClass::Unauthorized) => ErrorLabel::unauthorized,
            Some(ErrorClass::Forbidden) => ErrorLabel::forbidden,
            Some(ErrorClass::NotFound) => ErrorLabel::not_found,
            Some(ErrorClass::PayloadTooLarge) => ErrorLabel::payload_too_large,
            Some(ErrorClass::Unsupported) => ErrorLabel::unsupported,
            Some(ErrorClass::RateLimited) => ErrorLabel::rate_limited,
            Some(ErrorClass::BudgetExceeded) => ErrorLabel::budget_exceeded,
            Some(ErrorClass::QuotaExceeded) => ErrorLabel::quota_exceeded,
            Some(ErrorClass::Overloaded) => ErrorLabel::overloaded,
            Some(ErrorClass::ContextWindowExceeded) => ErrorLabel::context_window_exceeded,
            Some(ErrorClass::ContentFiltered) => ErrorLabel::content_filtered,
            Some(ErrorClass::UpstreamAuth) => ErrorLabel::upstream_auth,
            Some(ErrorClass::ServerError) => ErrorLabel::server_error,
            Some(ErrorClass::Timeout) => ErrorLabel::timeout,
            Some(ErrorClass::Connect) => ErrorLabel::connect,
            Some(ErrorClass::Internal) => ErrorLabel::internal,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: Endpoint,
    /// Public model name from config (`provider/*` for ad-hoc addressing, `unknown` otherwise).
    pub model: Label,
    /// Provider name from config of the target that served the request, or `none` when none
    /// did (failed upstream attempts are counted per provider in `upstream_attempts`).
    pub provider: Label,
    /// HTTP status returned to the client.
    pub status: u16,
    pub error: ErrorLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: Label,
    pub provider: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub model: Label,
    pub provider: Label,
    pub kind: TokenKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub provider: Label,
    pub error: ErrorLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    /// Public model name from config.
    pub model: String,
    /// `provider/upstream-model` from config.
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: Endpoint,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0, 120.0,
    ]
    .into_iter()
}

fn new_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// Every metric, registered once at start-up and shared.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<ModelLabels, Histogram, fn() -> Histogram>,
    pub upstream_duration: Family<ProviderLabels, Histogram, fn() -> Histogram>,
    pub ttft: Family<ModelLabels, Histogram, fn() -> Histogram>,
    pub in_flight: Family<EndpointLabels, Gauge>,
    /// `in_flight`'s series per [`Endpoint`], looked up once.
    in_flight_by_endpoint: PerEndpoint<Gauge>,
    pub tokens: Family<TokenLabels, Counter>,
    pub attempts: Family<AttemptLabels, Counter>,
    pub streams_broken: Family<ModelLabels, Counter>,
    /// Circuit-breaker state per target: 0 closed, 1 half-open, 2 open (set at scrape time).
    pub target_state: Family<TargetLabels, Gauge>,
    pub target_in_flight: Family<TargetLabels, Gauge>,
    /// Peak-EWMA latency estimate per target, milliseconds (time to first token for streams
    /// where that was observed, else total).
    pub target_latency_ms: Family<TargetLabels, Gauge>,
    /// Ledger/log records dropped because a queue was full (never silently).
    pub ledger_dropped: Counter,
    /// Request-log rows written.
    pub ledger_written: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchyard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Client requests by endpoint, model, provider, status and error class",
            requests.clone(),
        );
        let request_duration: Family<ModelLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(new_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from request received to response complete",
            request_duration.clone(),
        );
        let upstream_duration: Family<ProviderLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(new_histogram);
        registry.register(
            "upstream_duration_seconds",
            "Time from upstream request sent to upstream response head",
            upstream_duration.clone(),
        );
        let ttft: Family<ModelLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(new_histogram);
        registry.register(
            "time_to_first_token_seconds",
            "Time from request received to the first stream event sent to the client",
            ttft.clone(),
        );
        let in_flight = Family::<EndpointLabels, Gauge>::default();
        // Present from the start (at 0) so a scrape before the first request shows them.
        let in_flight_by_endpoint = PerEndpoint::from_fn(|endpoint| {
            in_flight.get_or_create_owned(&EndpointLabels { endpoint })
        });
        registry.register(
            "in_flight_requests",
            "Requests being served",
            in_flight.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens reported by providers (cached is a subset of prompt, reasoning of completion)",
            tokens.clone(),
        );
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "upstream_attempts",
            "Upstream attempts by provider and error class (none = success)",
            attempts.clone(),
        );
        let streams_broken = Family::<ModelLabels, Counter>::default();
        registry.register(
            "streams_broken",
            "Streams that failed after bytes reached the client",
            streams_broken.clone(),
        );
        let target_state = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "target_breaker_state",
            "Circuit breaker per target: 0 closed, 1 half-open, 2 open",
            target_state.clone(),
        );
        let target_in_flight = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "target_in_flight",
            "Upstream requests in flight per target",
            target_in_flight.clone(),
        );
        let target_latency_ms = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "target_latency_estimate_ms",
            "Peak-EWMA latency estimate per target",
            target_latency_ms.clone(),
        );
        let ledger_dropped = Counter::default();
        registry.register(
            "ledger_dropped",
            "Spend/log records dropped because the writer queue was full",
            ledger_dropped.clone(),
        );
        let ledger_written = Counter::default();
        registry.register(
            "ledger_written",
            "Request-log rows written to the store",
            ledger_written.clone(),
        );
        Self {
            registry,
            ledger_dropped,
            ledger_written,
            target_state,
            target_in_flight,
            target_latency_ms,
            requests,
            request_duration,
            upstream_duration,
            ttft,
            in_flight,
            in_flight_by_endpoint,
            tokens,
            attempts,
            streams_broken,
        }
    }

    /// The in-flight gauge of `endpoint`.
    pub fn in_flight(&self, endpoint: Endpoint) -> &Gauge {
        self.in_flight_by_endpoint.get(endpoint)
    }

    /// Lets other crates register their own metrics (routing target state, budgets, ...).
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Renders the OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The series a successful request served by one (model, provider) updates, looked up in their
/// families the first time each is needed and kept: a request served here then counts itself
/// without hashing a label set per metric. Each handle is the family's own series (a clone shares
/// its value), created only when first used, so the exposition is the same as with lookups.
pub struct ServedHandles {
    model: Label,
    provider: Label,
    /// Status 200, error `none`, per [`Endpoint`].
    requests_ok: PerEndpoint<OnceLock<Counter>>,
    duration: OnceLock<Histogram>,
    ttft: OnceLock<Histogram>,
    /// Per [`TokenKind`].
    tokens: PerTokenKind<OnceLock<Counter>>,
    /// Upstream attempts without error, and time to the upstream's response head (per provider).
    attempts_ok: OnceLock<Counter>,
    upstream_duration: OnceLock<Histogram>,
}

/// One value per [`Endpoint`], found by an exhaustive match (a new endpoint cannot be
/// forgotten here).
#[derive(Default)]
struct PerEndpoint<T> {
    chat_completions: T,
    embeddings: T,
    messages: T,
    count_tokens: T,
}

impl<T> PerEndpoint<T> {
    fn from_fn(mut f: impl FnMut(Endpoint) -> T) -> Self {
        Self {
            chat_completions: f(Endpoint::chat_completions),
            embeddings: f(Endpoint::embeddings),
            messages: f(Endpoint::messages),
            count_tokens: f(Endpoint::count_tokens),
        }
    }

    fn get(&self, e: Endpoint) -> &T {
        match e {
            Endpoint::chat_completions => &self.chat_completions,
            Endpoint::embeddings => &self.embeddings,
            Endpoint::messages => &self.messages,
            Endpoint::count_tokens => &self.count_tokens,
        }
    }
}

/// One value per [`TokenKind`], found by an exhaustive match.
#[derive(Default)]
struct PerTokenKind<T> {
    prompt: T,
    completion: T,
    cached: T,
    reasoning: T,
}

impl<T> PerTokenKind<T> {
    fn get(&self, k: TokenKind) -> &T {
        match k {
            TokenKind::prompt => &self.prompt,
            TokenKind::completion => &self.completion,
            TokenKind::cached => &self.cached,
            TokenKind::reasoning => &self.reasoning,
        }
    }
}

impl ServedHandles {
    pub fn new(model: Label, provider: Label) -> Self {
        Self {
            model,
            provider,
            requests_ok: Default::default(),
            duration: OnceLock::new(),
            ttft: OnceLock::new(),
            tokens: Default::default(),
            attempts_ok: OnceLock::new(),
            upstream_duration: OnceLock::new(),
        }
    }

    /// Whether these are the series of `model` served by `provider`.
    pub fn serves(&self, model: &Label, provider: &Label) -> bool {
        self.model == *model && self.provider == *provider
    }

    fn model_labels(&self) -> ModelLabels {
        ModelLabels {
            model: self.model.clone(),
            provider: self.provider.clone(),
        }
    }

    /// `switchyard_requests_total{endpoint, model, provider, status="200", error="none"}`.
    pub fn requests_ok(&self, m: &Metrics, endpoint: Endpoint) -> &Counter {
        self.requests_ok.get(endpoint).get_or_init(|| {
            m.requests.get_or_create_owned(&RequestLabels {
                endpoint,
                model: self.model.clone(),
                provider: self.provider.clone(),
                status: 200,
                error: ErrorLabel::none,
            })
        })
    }

    pub fn duration(&self, m: &Metrics) -> &Histogram {
        self.duration
            .get_or_init(|| m.request_duration.get_or_create_owned(&self.model_labels()))
    }

    pub fn ttft(&self, m: &Metrics) -> &Histogram {
        self.ttft
            .get_or_init(|| m.ttft.get_or_create_owned(&self.model_labels()))
    }

    pub fn tokens(&self, m: &Metrics, kind: TokenKind) -> &Counter {
        self.tokens.get(kind).get_or_init(|| {
            m.tokens.get_or_create_owned(&TokenLabels {
                model: self.model.clone(),
                provider: self.provider.clone(),
                kind,
            })
        })
    }

    /// `switchyard_upstream_attempts_total{provider, error="none"}`.
    pub fn attempts_ok(&self, m: &Metrics) -> &Counter {
        self.attempts_ok.get_or_init(|| {
            m.attempts.get_or_create_owned(&AttemptLabels {
                provider: self.provider.clone(),
                error: ErrorLabel::none,
            })
        })
    }

    pub fn upstream_duration(&self, m: &Metrics) -> &Histogram {
        self.upstream_duration.get_or_init(|| {
            m.upstream_duration.get_or_create_owned(&ProviderLabels {
                provider: self.provider.clone(),
            })
        })
    }
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labels() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&RequestLabels {
                endpoint: Endpoint::chat_completions,
                model: "smart".into(),
                provider: "openai".into(),
                status: 200,
                error: ErrorLabel::none,
            })
            .inc();
        m.tokens
            .get_or_create(&TokenLabels {
                model: "smart".into(),
                provider: "openai".into(),
                kind: TokenKind::prompt,
            })
            .inc_by(42);
        let text = m.render();
        assert!(text.contains(
            r#"switchyard_requests_total{endpoint="chat_completions",model="smart",provider="openai",status="200",error="none"} 1"#
        ), "{text}");
        assert!(text.contains(r#"kind="prompt"} 42"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    /// The kept handles are the families' own series: updating through them renders exactly
    /// as updating through lookups does (and only the series used appear).
    #[test]
    fn served_handles_update_the_families_series() {
        // Families are hash maps: series come out in no fixed order.
        let sorted = |text: String| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        };
        let (a, b) = (Metrics::new(), Metrics::new());
        let h = ServedHandles::new("smart".into(), "openai".into());
        assert!(h.serves(&"smart".into(), &"openai".into()));
        assert!(!h.serves(&"smart".into(), &"azure".into()));
        for _ in 0..2 {
            h.requests_ok(&a, Endpoint::messages).inc();
            h.tokens(&a, TokenKind::cached).inc_by(5);
            h.duration(&a).observe(0.02);
            h.ttft(&a).observe(0.01);
            h.attempts_ok(&a).inc();
            h.upstream_duration(&a).observe(0.015);
            a.in_flight(Endpoint::embeddings).inc();
        }
        let ml = ModelLabels {
            model: "smart".into(),
            provider: "openai".into(),
        };
        for _ in 0..2 {
            b.requests
                .get_or_create(&RequestLabels {
                    endpoint: Endpoint::messages,
                    model: "smart".into(),
                    provider: "openai".into(),
                    status: 200,
                    error: ErrorLabel::none,
                })
                .inc();
            b.tokens
                .get_or_create(&TokenLabels {
                    model: "smart".into(),
                    provider: "openai".into(),
                    kind: TokenKind::cached,
                })
                .inc_by(5);
            b.request_duration.get_or_create(&ml).observe(0.02);
            b.ttft.get_or_create(&ml).observe(0.01);
            b.attempts
                .get_or_create(&AttemptLabels {
                    provider: "openai".into(),
                    error: ErrorLabel::none,
                })
                .inc();
            b.upstream_duration
                .get_or_create(&ProviderLabels {
                    provider: "openai".into(),
                })
                .observe(0.015);
            b.in_flight
                .get_or_create(&EndpointLabels {
                    endpoint: Endpoint::embeddings,
                })
                .inc();
        }
        // Every endpoint and token kind has a slot of its own.
        const ENDPOINTS: [Endpoint; 4] = [
            Endpoint::chat_completions,
            Endpoint::embeddings,
            Endpoint::messages,
            Endpoint::count_tokens,
        ];
        const KINDS: [TokenKind; 4] = [
            TokenKind::prompt,
            TokenKind::completion,
            TokenKind::cached,
            TokenKind::reasoning,
        ];
        for (i, endpoint) in ENDPOINTS.into_iter().enumerate() {
            h.requests_ok(&a, endpoint).inc_by(10 + i as u64);
            a.in_flight(endpoint).inc_by(100 + i as i64);
            b.requests
                .get_or_create(&RequestLabels {
                    endpoint,
                    model: "smart".into(),
                    provider: "openai".into(),
                    status: 200,
                    error: ErrorLabel::none,
                })
                .inc_by(10 + i as u64);
            b.in_flight
                .get_or_create(&EndpointLabels { endpoint })
                .inc_by(100 + i as i64);
        }
        for (i, kind) in KINDS.into_iter().enumerate() {
            h.tokens(&a, kind).inc_by(1000 + i as u64);
            b.tokens
                .get_or_create(&TokenLabels {
                    model: "smart".into(),
                    provider: "openai".into(),
                    kind,
                })
                .inc_by(1000 + i as u64);
        }
        let text = a.render();
        assert_eq!(sorted(text.clone()), sorted(b.render()));
        assert!(
            text.contains(r#"switchyard_in_flight_requests{endpoint="embeddings"} 103"#),
            "{text}"
        );
    }

    #[test]
    fn every_error_class_has_a_label() {
        for c in ErrorClass::ALL {
            assert_ne!(ErrorLabel::from(Some(c)), ErrorLabel::none);
        }
    }
}

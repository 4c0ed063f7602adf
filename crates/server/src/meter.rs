//! The meter stage: one record per request, finished exactly once — when the response (or the
//! stream) completes, or when it is dropped because the client went away. It updates metrics;
//! the spend ledger and request log hang off the same record.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use switchyard_telemetry::{
    Endpoint, ErrorLabel, Label, ModelLabels, ProviderLabels, RequestLabels, ServedHandles,
    TokenKind, TokenLabels,
};
use switchyard_types::{ErrorClass, Usage};

use crate::governance::Attribution;
use crate::ledger::LedgerRecord;
use crate::state::{AppState, Target};
use switchyard_policy::Permit;
use switchyard_pricing::Price;
use switchyard_store::{LogRow, SpendRow};

/// The model label before the model is known, the provider label before one served.
static UNKNOWN: LazyLock<Label> = LazyLock::new(|| Label::from("unknown"));
static NONE: LazyLock<Label> = LazyLock::new(|| Label::from("none"));

pub struct Meter {
    app: Arc<AppState>,
    pub endpoint: Endpoint,
    /// The id the response carries (the client's `x-request-id` when it sent one).
    pub request_id: String,
    /// `request_id` came from the client: the ledger rows get an id of their own.
    id_from_client: bool,
    pub started: Instant,
    pub model_label: Label,
    pub provider: Label,
    pub upstream_model: String,
    pub status: u16,
    pub error: Option<ErrorClass>,
    pub usage: Option<Usage>,
    pub attempts: u32,
    pub first_token: Option<Instant>,
    /// The client disconnected before the response completed.
    pub aborted: bool,
    /// The model name the client asked for.
    pub model_requested: String,
    pub stream: bool,
    pub attribution: Attribution,
    /// The admission permit to settle with the actual cost.
    pub permit: Option<Permit>,
    /// The price of the target that served.
    pub price: Option<Price>,
    /// Captured bodies for the request log (only when capture is on).
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    /// The serving target's kept metric series (see [`ServedHandles`]).
    pub served: Option<Arc<ServedHandles>>,
    /// When every attempt failed: the target of the last one (its provider's error is the one
    /// the client gets, and the response names it).
    pub failed_at: Option<Target>,
    finished: bool,
}

impl Meter {
    pub fn start(
        app: Arc<AppState>,
        endpoint: Endpoint,
        request_id: String,
        id_from_client: bool,
    ) -> Self {
        app.metrics.in_flight(endpoint).inc();
        Self {
            app,
            endpoint,
            request_id,
            id_from_client,
            started: Instant::now(),
            model_label: UNKNOWN.clone(),
            provider: NONE.clone(),
            upstream_model: String::new(),
            status: 0,
            error: None,
            usage: None,
            attempts: 0,
            first_token: None,
            aborted: false,
            model_requested: String::new(),
            stream: false,
            attribution: Attribution::default(),
            permit: None,
            price: None,
            request_body: None,
            response_body: None,
            served: None,
            failed_at: None,
            finished: false,
        }
    }

    /// The cost of the usage seen so far at the serving target's price, in micro-dollars.
    pub fn cost_micros(&self) -> Option<u64> {
        Some(switchyard_pricing::cost_micros(
            self.price.as_ref()?,
            self.usage.as_ref()?,
        ))
    }

    /// The request is answered by `target`: its provider, upstream model, price and kept metric
    /// series, status 200.
    pub fn served_by(&mut self, target: &Target) {
        self.provider = target.provider.label.clone();
        self.upstream_model = target.upstream_model.clone();
        self.price = target.price;
        self.served = target.served.clone();
        self.status = 200;
    }

    /// Records the time of an upstream attempt's response head.
    pub fn upstream_latency(&self, target: &Target, since: Instant) {
        let m = &self.app.metrics;
        let seconds = since.elapsed().as_secs_f64();
        match target.served.as_deref() {
            Some(h) => h.upstream_duration(m).observe(seconds),
            None => m
                .upstream_duration
                .get_or_create(&ProviderLabels {
                    provider: target.provider.label.clone(),
                })
                .observe(seconds),
        }
    }

    /// Records one upstream attempt's outcome.
    pub fn attempt(&self, target: &Target, class: Option<ErrorClass>) {
        let m = &self.app.metrics;
        match (target.served.as_deref(), class) {
            (Some(h), None) => {
                h.attempts_ok(m).inc();
            }
            _ => {
                m.attempts
                    .get_or_create(&switchyard_telemetry::AttemptLabels {
                        provider: target.provider.label.clone(),
                        error: ErrorLabel::from(class),
                    })
                    .inc();
            }
        }
    }

    pub fn stream_broken(&self) {
        self.app
            .metrics
            .streams_broken
            .get_or_create(&ModelLabels {
                model: self.model_label.clone(),
                provider: self.provider.clone(),
            })
            .inc();
    }

    /// Moves the record out (into a stream body), leaving a finished husk behind whose drop
    /// records nothing.
    pub fn detach(&self) -> Meter {
        Meter {
            app: self.app.clone(),
            endpoint: self.endpoint,
            request_id: String::new(),
            id_from_client: false,
            started: self.started,
            model_label: self.model_label.clone(),
            provider: self.provider.clone(),
            upstream_model: String::new(),
            status: 0,
            error: None,
            usage: None,
            attempts: 0,
            first_token: None,
            aborted: false,
            model_requested: String::new(),
            stream: false,
            attribution: Attribution::default(),
            permit: None,
            price: None,
            request_body: None,
            response_body: None,
            served: None,
            failed_at: None,
            finished: true,
        }
    }

    /// Finishes the record (idempotent).
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let m = &self.app.metrics;
        m.in_flight(self.endpoint).dec();
        let error = if self.aborted && self.error.is_none() {
            ErrorLabel::client_disconnected
        } else {
            ErrorLabel::from(self.error)
        };
        // The serving target's kept series when they are this request's (its own model, not a
        // fallback's); otherwise the families are looked up.
        let kept = self
            .served
            .as_deref()
            .filter(|h| h.serves(&self.model_label, &self.provider));
        match kept {
            Some(h) if self.status == 200 && error == ErrorLabel::none => {
                h.requests_ok(m, self.endpoint).inc();
            }
            _ => {
                m.requests
                    .get_or_create(&RequestLabels {
                        endpoint: self.endpoint,
                        model: self.model_label.clone(),
                        provider: self.provider.clone(),
                        status: self.status,
                        error,
                    })
                    .inc();
            }
        }
        let ml = || ModelLabels {
            model: self.model_label.clone(),
            provider: self.provider.clone(),
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        match kept {
            Some(h) => h.duration(m).observe(elapsed),
            None => m.request_duration.get_or_create(&ml()).observe(elapsed),
        }
        if let Some(t) = self.first_token {
            let ttft = t.duration_since(self.started).as_secs_f64();
            match kept {
                Some(h) => h.ttft(m).observe(ttft),
                None => m.ttft.get_or_create(&ml()).observe(ttft),
            }
        }
        if let Some(u) = self.usage {
            for (kind, n) in [
                (TokenKind::prompt, u.prompt_tokens),
                (TokenKind::completion, u.completion_tokens),
                (TokenKind::cached, u.cached_tokens),
                (TokenKind::reasoning, u.reasoning_tokens),
            ] {
                if n == 0 {
                    continue;
                }
                match kept {
                    Some(h) => {
                        h.tokens(m, kind).inc_by(n);
                    }
                    None => {
                        m.tokens
                            .get_or_create(&TokenLabels {
                                model: self.model_label.clone(),
                                provider: self.provider.clone(),
                                kind,
                            })
                            .inc_by(n);
                    }
                }
            }
        }
        tracing::debug!(
            request_id = %self.request_id,
            model = %self.model_label,
            provider = %self.provider,
            status = self.status,
            error = ?self.error,
            attempts = self.attempts,
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "request finished"
        );
        self.write_ledger();
    }
}

impl Meter {
    /// Hands the request's record and permit to the ledger (no waiting). The spend and log rows
    /// are built by the writer, after the response has gone out.
    fn write_ledger(&mut self) {
        let usage = self.usage.unwrap_or_default();
        let cost = self.cost_micros().unwrap_or(0);
        let served = !self.provider.is_empty() && *self.provider != *"none";
        let now = Instant::now();
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        // A client's id may repeat: the rows are keyed by an id of the gateway's own (with the
        // client's kept beside it), so a repeated id never hides a request's spend.
        let (request_id, client_request_id) = if self.id_from_client {
            (
                crate::pipeline::new_request_id(),
                Some(std::mem::take(&mut self.request_id)),
            )
        } else {
            (std::mem::take(&mut self.request_id), None)
        };
        let facts = RequestFacts {
            request_id,
            client_request_id,
            ts: switchyard_store::now_ms(),
            attribution: std::mem::take(&mut self.attribution),
            model: self.model_label.clone(),
            provider: served.then(|| self.provider.clone()),
            upstream_model: std::mem::take(&mut self.upstream_model),
            usage: self.usage,
            cost_micros: cost,
            log: self.app.settings.request_log,
            model_requested: std::mem::take(&mut self.model_requested),
            attempts: self.attempts,
            status: self.status,
            error_class: if self.aborted && self.error.is_none() {
                Some("client_disconnected")
            } else {
                self.error.map(ErrorClass::as_str)
            },
            latency_ms: ms(now.duration_since(self.started)),
            ttft_ms: self.first_token.map(|t| ms(t.duration_since(self.started))),
            stream: self.stream,
            request_body: self.request_body.take(),
            response_body: self.response_body.take(),
        };
        self.app.ledger.record(LedgerRecord {
            facts: Some(facts),
            permit: self.permit.take(),
            actual_tokens: usage.total(),
            cost_micros: cost,
        });
    }
}

/// What the spend ledger and request log record of one request, moved out of the meter as is.
pub struct RequestFacts {
    request_id: String,
    client_request_id: Option<String>,
    ts: i64,
    attribution: Attribution,
    model: Label,
    /// `None`: no provider served.
    provider: Option<Label>,
    upstream_model: String,
    usage: Option<Usage>,
    cost_micros: u64,
    /// Whether the request log is on.
    log: bool,
    model_requested: String,
    attempts: u32,
    status: u16,
    error_class: Option<&'static str>,
    latency_ms: i64,
    ttft_ms: Option<i64>,
    stream: bool,
    request_body: Option<String>,
    response_body: Option<String>,
}

impl RequestFacts {
    /// The spend row (when a provider served and reported usage) and the log row (when the
    /// request log is on).
    pub fn into_rows(self) -> (Option<SpendRow>, Option<LogRow>) {
        let a = self.attribution;
        let usage = self.usage.unwrap_or_default();
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let spend = match (&self.provider, self.usage.is_some()) {
            (Some(provider), true) => Some(SpendRow {
                request_id: self.request_id.clone(),
                ts: self.ts,
                key_id: a.key_id.clone(),
                team_id: a.team_id.clone(),
                user: a.user.clone(),
                end_user: a.end_user.clone(),
                model: self.model.to_string(),
                provider: provider.to_string(),
                upstream_model: self.upstream_model.clone(),
                tags: a.tags.clone(),
                input_tokens: as_i64(usage.prompt_tokens),
                output_tokens: as_i64(usage.completion_tokens),
                cached_tokens: as_i64(usage.cached_tokens),
                reasoning_tokens: as_i64(usage.reasoning_tokens),
                cost_micros: as_i64(self.cost_micros),
            }),
            _ => None,
        };
        let served = self.provider.is_some();
        let log = self.log.then(|| LogRow {
            request_id: self.request_id,
            client_request_id: self.client_request_id,
            ts: self.ts,
            key_id: a.key_id,
            team_id: a.team_id,
            user: a.user.or(a.end_user),
            model_requested: self.model_requested,
            model_served: served.then_some(self.upstream_model),
            provider: self.provider.map(|p| p.to_string()),
            attempts: self.attempts,
            status: self.status,
            error_class: self.error_class.map(str::to_string),
            input_tokens: as_i64(usage.prompt_tokens),
            output_tokens: as_i64(usage.completion_tokens),
            cost_micros: as_i64(self.cost_micros),
            latency_ms: self.latency_ms,
            ttft_ms: self.ttft_ms,
            cache_status: "none".into(),
            stream: self.stream,
            request_body: self.request_body,
            response_body: self.response_body,
            tags: a.tags,
        });
        (spend, log)
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if !self.finished {
            self.aborted = true;
            if self.status == 0 {
                // Closed before any response: nginx's convention.
                self.status = 499;
            }
            self.finish();
        }
    }
}

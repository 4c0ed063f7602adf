//! The meter stage: one record per request, finished exactly once — when the response (or the
//! stream) completes, or when it is dropped because the client went away. It updates metrics;
//! the spend ledger and request log hang off the same record.

use std::sync::Arc;
use std::time::Instant;

use switchyard_telemetry::{
    Endpoint, EndpointLabels, ErrorLabel, ModelLabels, ProviderLabels, RequestLabels, TokenKind,
    TokenLabels,
};
use switchyard_types::{ErrorClass, Usage};

use crate::state::AppState;

pub struct Meter {
    app: Arc<AppState>,
    pub endpoint: Endpoint,
    pub request_id: String,
    pub started: Instant,
    pub model_label: String,
    pub provider: String,
    pub upstream_model: String,
    pub status: u16,
    pub error: Option<ErrorClass>,
    pub usage: Option<Usage>,
    pub attempts: u32,
    pub first_token: Option<Instant>,
    /// The client disconnected before the response completed.
    pub aborted: bool,
    finished: bool,
}

impl Meter {
    pub fn start(app: Arc<AppState>, endpoint: Endpoint, request_id: String) -> Self {
        app.metrics
            .in_flight
            .get_or_create(&EndpointLabels { endpoint })
            .inc();
        Self {
            app,
            endpoint,
            request_id,
            started: Instant::now(),
            model_label: "unknown".into(),
            provider: "none".into(),
            upstream_model: String::new(),
            status: 0,
            error: None,
            usage: None,
            attempts: 0,
            first_token: None,
            aborted: false,
            finished: false,
        }
    }

    /// Records the time of an upstream attempt's response head.
    pub fn upstream_latency(&self, provider: &str, since: Instant) {
        self.app
            .metrics
            .upstream_duration
            .get_or_create(&ProviderLabels {
                provider: provider.to_string(),
            })
            .observe(since.elapsed().as_secs_f64());
    }

    /// Records one upstream attempt's outcome.
    pub fn attempt(&self, provider: &str, class: Option<ErrorClass>) {
        self.app
            .metrics
            .attempts
            .get_or_create(&switchyard_telemetry::AttemptLabels {
                provider: provider.to_string(),
                error: ErrorLabel::from(class),
            })
            .inc();
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
            started: self.started,
            model_label: String::new(),
            provider: String::new(),
            upstream_model: String::new(),
            status: 0,
            error: None,
            usage: None,
            attempts: 0,
            first_token: None,
            aborted: false,
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
        m.in_flight
            .get_or_create(&EndpointLabels {
                endpoint: self.endpoint,
            })
            .dec();
        let error = if self.aborted && self.error.is_none() {
            ErrorLabel::client_disconnected
        } else {
            ErrorLabel::from(self.error)
        };
        m.requests
            .get_or_create(&RequestLabels {
                endpoint: self.endpoint,
                model: self.model_label.clone(),
                provider: self.provider.clone(),
                status: self.status,
                error,
            })
            .inc();
        let ml = ModelLabels {
            model: self.model_label.clone(),
            provider: self.provider.clone(),
        };
        m.request_duration
            .get_or_create(&ml)
            .observe(self.started.elapsed().as_secs_f64());
        if let Some(t) = self.first_token {
            m.ttft
                .get_or_create(&ml)
                .observe(t.duration_since(self.started).as_secs_f64());
        }
        if let Some(u) = self.usage {
            for (kind, n) in [
                (TokenKind::prompt, u.prompt_tokens),
                (TokenKind::completion, u.completion_tokens),
                (TokenKind::cached, u.cached_tokens),
                (TokenKind::reasoning, u.reasoning_tokens),
            ] {
                if n > 0 {
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

//! Admission: the request-path check of every limit and budget that applies to a request,
//! all-or-nothing.
//!
//! For each subject (key, team, user, end-user, model), in the order given:
//! requests per minute (cost 1), tokens per minute (cost = the estimated tokens), concurrency
//! (a lease); then, for each subject with a budget, a reservation of the request's estimated
//! maximum cost in the budget's current window. The first refusal rolls back everything taken
//! so far (rate counts are subtracted again, leases and reservations released) and becomes a
//! 429 (`rate_limit_exceeded` with `Retry-After`, or `budget_exceeded`).
//!
//! The [`Permit`] holds what was taken. [`Permit::settle`] charges the actual cost to every
//! budget (replacing the reservations), corrects the token counts by the actual usage and frees
//! the concurrency slots. A permit dropped without settling (the request failed, or the task
//! was cancelled) releases its reservations and slots from a spawned task; anything a crashed
//! process still held expires by itself (reservation hold, lease TTL).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use switchyard_types::{ErrorClass, GatewayError};

use crate::counters::{BudgetState, CounterError, Counters, Lease, Reservation};
use crate::headers::{retry_after_secs, RateLimitHeaders, RateState};
use crate::limits::{Budget, Limits, Period};

/// Who a limit or budget belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Key,
    Team,
    User,
    /// The end-user or agent session named by the client (e.g. from a request header).
    EndUser,
    Model,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Key => "key",
            SubjectKind::Team => "team",
            SubjectKind::User => "user",
            SubjectKind::EndUser => "end_user",
            SubjectKind::Model => "model",
        }
    }
}

/// One subject of a request with its limits and budget.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: String,
    pub limits: Limits,
    pub budget: Option<Budget>,
}

impl Subject {
    fn counter_key(&self, what: &str) -> String {
        format!("{what}:{}:{}", self.kind.as_str(), self.id)
    }
}

/// Tunables of admission.
#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// How long a concurrency slot is held at most (a crashed replica's slots come back after
    /// this). Longer than the longest request, streams included.
    pub lease_ttl: Duration,
    /// How long a budget reservation is held at most before it expires unsettled.
    pub reservation_hold: Duration,
    /// When the counter store fails: `false` refuses the request (503), `true` admits it
    /// without that check and logs a warning.
    pub fail_open: bool,
    /// The window of `rpm` and `tpm`.
    pub rate_window: Duration,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(15 * 60),
            reservation_hold: Duration::from_secs(15 * 60),
            fail_open: false,
            rate_window: Duration::from_secs(60),
        }
    }
}

/// A budget at or over its soft threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftBudgetNotice {
    pub kind: SubjectKind,
    pub id: String,
    pub period: Period,
    /// Spend (settled, plus reservations for a notice from admission).
    pub spent_micros: u64,
    pub soft_micros: u64,
    pub limit_micros: u64,
}

/// A refused request: the error to answer with and the rate-limit headers to send.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: GatewayError,
    pub headers: RateLimitHeaders,
    /// The subject whose limit refused (none when the counter store failed).
    pub subject: Option<(SubjectKind, String)>,
}

impl From<Refusal> for GatewayError {
    fn from(r: Refusal) -> Self {
        r.error
    }
}

struct HeldReservation {
    kind: SubjectKind,
    id: String,
    budget: Budget,
    reservation: Reservation,
}

/// Everything a request has taken; released on drop unless settled.
#[derive(Default)]
struct Held {
    requests: Vec<String>,
    tokens: Vec<(String, u64)>,
    leases: Vec<Lease>,
    reservations: Vec<HeldReservation>,
}

async fn warn_on_err<T>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, CounterError>>,
) {
    if let Err(err) = fut.await {
        tracing::warn!(error = %err, "admission: {what} failed");
    }
}

/// Frees leases and reservations (nothing is charged).
async fn release_all(counters: &dyn Counters, leases: &[Lease], reservations: &[HeldReservation]) {
    for lease in leases {
        warn_on_err("lease release", counters.release_lease(lease)).await;
    }
    for r in reservations {
        warn_on_err("reservation release", counters.release(&r.reservation)).await;
    }
}

/// Undoes an admission that was refused part-way: rate counts are subtracted again.
async fn roll_back(counters: &dyn Counters, held: Held, window: Duration) {
    for key in &held.requests {
        warn_on_err("rate rollback", counters.rate_adjust(key, -1, window)).await;
    }
    for (key, n) in &held.tokens {
        let delta = -i64::try_from(*n).unwrap_or(i64::MAX);
        warn_on_err("rate rollback", counters.rate_adjust(key, delta, window)).await;
    }
    release_all(counters, &held.leases, &held.reservations).await;
}

fn usd(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Checks limits and reserves budgets for requests.
#[derive(Clone)]
pub struct Admission {
    counters: Arc<dyn Counters>,
    config: AdmissionConfig,
}

impl Admission {
    pub fn new(counters: Arc<dyn Counters>, config: AdmissionConfig) -> Self {
        Self { counters, config }
    }

    pub fn counters(&self) -> &Arc<dyn Counters> {
        &self.counters
    }

    /// Initialises a subject's current budget window from the spend ledger (at start-up), only
    /// if the window has no spend yet. Returns whether it was written; `false` also when the
    /// subject has no budget.
    pub async fn seed_budget(
        &self,
        subject: &Subject,
        spent_micros: u64,
        now: Timestamp,
    ) -> Result<bool, CounterError> {
        let Some(budget) = &subject.budget else {
            return Ok(false);
        };
        let window = budget.window_at(now);
        self.counters
            .seed(&subject.counter_key("budget"), &window, spent_micros)
            .await
    }

    /// Spend and outstanding reservations of a subject's current budget window (`None` when the
    /// subject has no budget).
    pub async fn budget_state(
        &self,
        subject: &Subject,
        now: Timestamp,
    ) -> Result<Option<BudgetState>, CounterError> {
        let Some(budget) = &subject.budget else {
            return Ok(None);
        };
        let window = budget.window_at(now);
        self.counters
            .spent(&subject.counter_key("budget"), &window)
            .await
            .map(Some)
    }

    /// Admits a request now. See [`admit_at`](Self::admit_at).
    pub async fn admit(
        &self,
        subjects: &[Subject],
        estimated_tokens: u64,
        estimated_max_cost_micros: u64,
    ) -> Result<Permit, Refusal> {
        self.admit_at(
            subjects,
            estimated_tokens,
            estimated_max_cost_micros,
            Timestamp::now(),
        )
        .await
    }

    /// Admits a request at `now` (which picks the calendar budget windows), checking every
    /// subject's limits and reserving `estimated_max_cost_micros` in every subject's budget,
    /// all or nothing.
    ///
    /// `estimated_tokens` is what tokens-per-minute is charged up front: the prompt estimate
    /// plus the expected completion (e.g. `max_tokens`); [`Permit::settle`] corrects it.
    pub async fn admit_at(
        &self,
        subjects: &[Subject],
        estimated_tokens: u64,
        estimated_max_cost_micros: u64,
        now: Timestamp,
    ) -> Result<Permit, Refusal> {
        let mut held = Held::default();
        let mut headers = RateLimitHeaders::default();
        let mut over_soft = Vec::new();
        match self
            .take_all(
                subjects,
                estimated_tokens,
                estimated_max_cost_micros,
                now,
                &mut held,
                &mut headers,
                &mut over_soft,
            )
            .await
        {
            Ok(()) => Ok(Permit {
                counters: Arc::clone(&self.counters),
                window: self.config.rate_window,
                held,
                headers,
                over_soft,
            }),
            Err(mut refusal) => {
                roll_back(self.counters.as_ref(), held, self.config.rate_window).await;
                refusal.headers = headers;
                Err(refusal)
            }
        }
    }

    /// A counter failure: refuse (fail closed) or skip the check (fail open).
    #[expect(
        clippy::result_large_err,
        reason = "a refusal is the cold path and is returned by value to the caller anyway"
    )]
    fn store_failed(&self, err: CounterError) -> Result<(), Refusal> {
        if self.config.fail_open {
            tracing::warn!(error = %err, "admission: counter store failed; admitting (fail_open)");
            return Ok(());
        }
        tracing::error!(error = %err, "admission: counter store failed; refusing");
        Err(Refusal {
            error: GatewayError::internal("rate-limit and budget counters are unavailable")
                .with_status(503),
            headers: RateLimitHeaders::default(),
            subject: None,
        })
    }

    #[expect(clippy::too_many_arguments, reason = "internal step of admit_at")]
    async fn take_all(
        &self,
        subjects: &[Subject],
        estimated_tokens: u64,
        estimated_cost: u64,
        now: Timestamp,
        held: &mut Held,
        headers: &mut RateLimitHeaders,
        over_soft: &mut Vec<SoftBudgetNotice>,
    ) -> Result<(), Refusal> {
        let c = self.counters.as_ref();
        let window = self.config.rate_window;
        for s in subjects {
            if let Some(rpm) = s.limits.rpm {
                let key = s.counter_key("rpm");
                match c.rate_check(&key, 1, rpm, window).await {
                    Ok(d) => {
                        headers.offer_requests(RateState::from(&d));
                        if !d.allowed {
                            return Err(rate_refusal(s, "requests", rpm, d.reset_after));
                        }
                        held.requests.push(key);
                    }
                    Err(e) => self.store_failed(e)?,
                }
            }
            if let Some(tpm) = s.limits.tpm {
                let key = s.counter_key("tpm");
                match c.rate_check(&key, estimated_tokens, tpm, window).await {
                    Ok(d) => {
                        headers.offer_tokens(RateState::from(&d));
                        if !d.allowed {
                            return Err(rate_refusal(s, "tokens", tpm, d.reset_after));
                        }
                        held.tokens.push((key, estimated_tokens));
                    }
                    Err(e) => self.store_failed(e)?,
                }
            }
            if let Some(max) = s.limits.max_parallel {
                match c
                    .acquire(&s.counter_key("cc"), max, self.config.lease_ttl)
                    .await
                {
                    Ok(Some(lease)) => held.leases.push(lease),
                    Ok(None) => return Err(concurrency_refusal(s, max)),
                    Err(e) => self.store_failed(e)?,
                }
            }
        }
        for s in subjects {
            let Some(budget) = &s.budget else { continue };
            let window = budget.window_at(now);
            let key = s.counter_key("budget");
            match c
                .reserve(
                    &key,
                    &window,
                    estimated_cost,
                    budget.limit_micros,
                    self.config.reservation_hold,
                )
                .await
            {
                Ok(Ok(reservation)) => {
                    if let Some(soft) = budget.soft_micros {
                        if reservation.committed >= soft {
                            over_soft.push(SoftBudgetNotice {
                                kind: s.kind,
                                id: s.id.clone(),
                                period: budget.period,
                                spent_micros: reservation.committed,
                                soft_micros: soft,
                                limit_micros: budget.limit_micros,
                            });
                        }
                    }
                    held.reservations.push(HeldReservation {
                        kind: s.kind,
                        id: s.id.clone(),
                        budget: budget.clone(),
                        reservation,
                    });
                }
                Ok(Err(exceeded)) => {
                    let msg = format!(
                        "{} budget exceeded: {} of {} USD used this {} period (this request may cost up to {} USD)",
                        s.kind.as_str(),
                        usd(exceeded.spent.saturating_add(exceeded.reserved)),
                        usd(budget.limit_micros),
                        budget.period.as_str(),
                        usd(estimated_cost),
                    );
                    return Err(Refusal {
                        error: GatewayError::client(ErrorClass::BudgetExceeded, msg)
                            .with_code("budget_exceeded"),
                        headers: RateLimitHeaders::default(),
                        subject: Some((s.kind, s.id.clone())),
                    });
                }
                Err(e) => self.store_failed(e)?,
            }
        }
        Ok(())
    }
}

fn rate_refusal(s: &Subject, what: &str, limit: u64, wait: Duration) -> Refusal {
    let secs = retry_after_secs(wait);
    let msg = format!(
        "rate limit exceeded for {}: {limit} {what} per minute; retry after {secs}s",
        s.kind.as_str()
    );
    Refusal {
        error: GatewayError::client(ErrorClass::RateLimited, msg)
            .with_code("rate_limit_exceeded")
            .with_retry_after(Some(Duration::from_secs(secs))),
        headers: RateLimitHeaders::default(),
        subject: Some((s.kind, s.id.clone())),
    }
}

fn concurrency_refusal(s: &Subject, max: u64) -> Refusal {
    let msg = format!(
        "rate limit exceeded for {}: at most {max} requests in flight",
        s.kind.as_str()
    );
    Refusal {
        error: GatewayError::client(ErrorClass::RateLimited, msg)
            .with_code("rate_limit_exceeded")
            .with_retry_after(Some(Duration::from_secs(1))),
        headers: RateLimitHeaders::default(),
        subject: Some((s.kind, s.id.clone())),
    }
}

/// What a settlement found.
#[derive(Debug, Default)]
pub struct Settlement {
    /// Budgets whose settled spend crossed their soft threshold with this request. Each
    /// crossing is seen by exactly one request, on any replica: fire the alert for these.
    pub soft_crossed: Vec<SoftBudgetNotice>,
    /// Counter updates that failed (logged; the ledger still records the cost).
    pub failures: Vec<CounterError>,
}

/// An admitted request. Settle it with the actual usage; dropping it releases what it holds.
pub struct Permit {
    counters: Arc<dyn Counters>,
    window: Duration,
    held: Held,
    /// Rate-limit headers for the response.
    pub headers: RateLimitHeaders,
    /// Budgets already at or over their soft threshold (spend plus reservations) at admission.
    pub over_soft: Vec<SoftBudgetNotice>,
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("leases", &self.held.leases.len())
            .field("reservations", &self.held.reservations.len())
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Permit {
    /// The reservations this permit holds, as (subject kind, subject id, micro-dollars).
    pub fn reserved(&self) -> Vec<(SubjectKind, &str, u64)> {
        self.held
            .reservations
            .iter()
            .map(|r| (r.kind, r.id.as_str(), r.reservation.amount))
            .collect()
    }

    /// Charges `actual_cost_micros` to every budget (replacing the reservations, even when the
    /// actual cost exceeds them), corrects tokens-per-minute by `actual_tokens` (prompt +
    /// completion) and frees the concurrency slots. Streams settle at their end, aborted ones
    /// included, with whatever usage was reported.
    pub async fn settle(mut self, actual_tokens: u64, actual_cost_micros: u64) -> Settlement {
        let held = std::mem::take(&mut self.held);
        let c = self.counters.as_ref();
        let mut out = Settlement::default();
        for (key, estimated) in &held.tokens {
            let delta = i128::from(actual_tokens) - i128::from(*estimated);
            if delta != 0 {
                let delta =
                    i64::try_from(delta).unwrap_or(if delta > 0 { i64::MAX } else { i64::MIN });
                if let Err(e) = c.rate_adjust(key, delta, self.window).await {
                    tracing::warn!(error = %e, "admission: token correction failed");
                    out.failures.push(e);
                }
            }
        }
        for r in &held.reservations {
            match c.settle(&r.reservation, actual_cost_micros).await {
                Ok(settled) => {
                    if let Some(soft) = r.budget.soft_micros {
                        if settled.spent_before < soft && settled.spent_after >= soft {
                            out.soft_crossed.push(SoftBudgetNotice {
                                kind: r.kind,
                                id: r.id.clone(),
                                period: r.budget.period,
                                spent_micros: settled.spent_after,
                                soft_micros: soft,
                                limit_micros: r.budget.limit_micros,
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "admission: budget settlement failed");
                    out.failures.push(e);
                }
            }
        }
        for lease in &held.leases {
            if let Err(e) = c.release_lease(lease).await {
                tracing::warn!(error = %e, "admission: lease release failed");
                out.failures.push(e);
            }
        }
        out
    }

    /// Releases the reservations and slots without charging (the request failed before any
    /// billable work). Rate counts stay: the request was made.
    pub async fn release(mut self) {
        let held = std::mem::take(&mut self.held);
        release_all(self.counters.as_ref(), &held.leases, &held.reservations).await;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        if held.leases.is_empty() && held.reservations.is_empty() {
            return;
        }
        let counters = Arc::clone(&self.counters);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    release_all(counters.as_ref(), &held.leases, &held.reservations).await;
                });
            }
            Err(_) => tracing::warn!(
                "admission: permit dropped outside a runtime; its reservations and slots expire by themselves"
            ),
        }
    }
}

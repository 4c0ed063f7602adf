//! Off the request path: settling budget permits, writing the spend ledger and request log in
//! batches, soft-budget alerts, and log retention.
//!
//! A finished request hands one [`LedgerRecord`] to a bounded queue (`try_send`: the request
//! path never waits). The settler settles its permit at once — budget counters must be right
//! for the next request — and passes the rows to the writer (a record without a permit goes to
//! the writer directly), which inserts them in batches
//! (every 200 ms or 500 rows). When a queue is full the record's rows are dropped and counted in
//! `switchyard_ledger_dropped_total` (the permit is still settled): a slow database never takes
//! the gateway down, and memory stays bounded.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;
use prometheus_client::metrics::counter::Counter;
use serde_json::json;
use switchyard_policy::{Permit, SoftBudgetNotice};
use switchyard_providers::client::HttpClient;
use switchyard_store::{LogRow, SpendRow, Store};

use crate::meter::RequestFacts;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One finished request.
pub struct LedgerRecord {
    /// What the rows are built from (by the writer, off the request path).
    pub facts: Option<RequestFacts>,
    pub permit: Option<Permit>,
    pub actual_tokens: u64,
    pub cost_micros: u64,
}

struct Rows(RequestFacts);

pub struct Ledger {
    tx: mpsc::Sender<LedgerRecord>,
    /// Straight to the writer, for records without a permit to settle first.
    rows_tx: mpsc::Sender<Rows>,
    dropped: Counter,
    tasks: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

const BATCH: usize = 500;
const FLUSH_EVERY: Duration = Duration::from_millis(200);

impl Ledger {
    /// Starts the settler, the writer and the retention pruner.
    pub fn start(
        store: Arc<dyn Store>,
        capacity: usize,
        alerts: Option<Alerts>,
        retention_days: u32,
        dropped: Counter,
        written: Counter,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<LedgerRecord>(capacity.max(1));
        let (rows_tx, rows_rx) = mpsc::channel::<Rows>(capacity.max(1));
        let dropped_s = dropped.clone();
        let direct_rows = rows_tx.clone();
        let settler = tokio::spawn(async move {
            while let Some(rec) = rx.recv().await {
                if let Some(permit) = rec.permit {
                    let s = permit.settle(rec.actual_tokens, rec.cost_micros).await;
                    for f in &s.failures {
                        tracing::warn!(error = %f, "budget counter update failed");
                    }
                    if let Some(a) = &alerts {
                        for notice in s.soft_crossed {
                            a.fire(notice);
                        }
                    }
                }
                let Some(facts) = rec.facts else {
                    continue;
                };
                if rows_tx.try_send(Rows(facts)).is_err() {
                    dropped_s.inc();
                }
            }
        });
        let writer = tokio::spawn(write_loop(store.clone(), rows_rx, written));
        let mut tasks = vec![settler, writer];
        if retention_days > 0 {
            tasks.push(tokio::spawn(prune_loop(store, retention_days)));
        }
        Self {
            tx,
            rows_tx: direct_rows,
            dropped,
            tasks: parking_lot::Mutex::new(tasks),
        }
    }

    /// Queues a record without waiting. When the queue is full the rows are dropped (counted)
    /// and the permit is settled from a task of its own.
    pub fn record(&self, rec: LedgerRecord) {
        if rec.permit.is_none() {
            // Nothing to settle: skip the settler's hop.
            let Some(facts) = rec.facts else {
                return;
            };
            if self.rows_tx.try_send(Rows(facts)).is_err() {
                self.dropped.inc();
            }
            return;
        }
        if let Err(e) = self.tx.try_send(rec) {
            self.dropped.inc();
            let rec = match e {
                mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => r,
            };
            if let Some(permit) = rec.permit {
                let (tokens, cost) = (rec.actual_tokens, rec.cost_micros);
                tokio::spawn(async move {
                    let _ = permit.settle(tokens, cost).await;
                });
            }
        }
    }

    /// Stops taking records and waits (at most `grace`) for everything queued to be written.
    pub async fn close(&self, grace: Duration) {
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.tasks.lock());
        // The settler ends when every sender is gone; the state holds one, so close it by
        // waiting for the queue to drain instead.
        let drain = async {
            while self.tx.capacity() < self.tx.max_capacity()
                || self.rows_tx.capacity() < self.rows_tx.max_capacity()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // One more flush period for the writer.
            tokio::time::sleep(FLUSH_EVERY * 2).await;
        };
        let _ = tokio::time::timeout(grace, drain).await;
        for t in tasks {
            t.abort();
        }
    }
}

async fn write_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Rows>, written: Counter) {
    let mut spend: Vec<SpendRow> = Vec::with_capacity(BATCH);
    let mut logs: Vec<LogRow> = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(Rows(facts)) => {
                    let (s, l) = facts.into_rows();
                    if let Some(s) = s { spend.push(s); }
                    if let Some(l) = l { logs.push(l); }
                    if logs.len() >= BATCH || spend.len() >= BATCH {
                        flush(store.as_ref(), &mut spend, &mut logs, &written).await;
                    }
                }
                None => {
                    flush(store.as_ref(), &mut spend, &mut logs, &written).await;
                    return;
                }
            },
            _ = tick.tick() => {
                if !logs.is_empty() || !spend.is_empty() {
                    flush(store.as_ref(), &mut spend, &mut logs, &written).await;
                }
            }
        }
    }
}

/// Writes a batch, retrying transient failures a few times; rows that still fail are dropped
/// with an error log (the inserts are idempotent by request id, so a retry never double-counts).
async fn flush(
    store: &dyn Store,
    spend: &mut Vec<SpendRow>,
    logs: &mut Vec<LogRow>,
    written: &Counter,
) {
    for attempt in 0..4u32 {
        let r = async {
            if !spend.is_empty() {
                store.insert_spend(spend).await?;
            }
            if !logs.is_empty() {
                store.insert_logs(logs).await?;
            }
            Ok::<(), switchyard_store::StoreError>(())
        }
        .await;
        match r {
            Ok(()) => {
                written.inc_by(logs.len() as u64);
                break;
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "ledger write failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, rows = logs.len(), "ledger write failed; dropping the batch");
            }
        }
    }
    spend.clear();
    logs.clear();
}

async fn prune_loop(store: Arc<dyn Store>, days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = switchyard_store::now_ms() - i64::from(days) * 86_400_000;
        match store.prune_logs(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, days, "pruned the request log"),
            Err(e) => tracing::warn!(error = %e, "pruning the request log failed"),
        }
    }
}

/// Soft-budget alerts: a JSON POST to the configured webhook, retried with backoff.
#[derive(Clone)]
pub struct Alerts {
    pub client: HttpClient,
    pub url: String,
}

impl Alerts {
    pub fn fire(&self, n: SoftBudgetNotice) {
        let body = json!({
            "type": "budget.soft_threshold_crossed",
            "subject": {"kind": n.kind.as_str(), "id": n.id},
            "period": n.period.as_str(),
            "spent_usd": micros_to_usd(n.spent_micros),
            "soft_usd": micros_to_usd(n.soft_micros),
            "max_usd": micros_to_usd(n.limit_micros),
            "at": switchyard_store::now_ms(),
        })
        .to_string();
        let this = self.clone();
        tokio::spawn(async move {
            for attempt in 0..5u32 {
                let req = http::Request::post(&this.url)
                    .header(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )
                    .body(Full::new(Bytes::from(body.clone())));
                let Ok(req) = req else {
                    tracing::error!("invalid alert webhook URL");
                    return;
                };
                match tokio::time::timeout(Duration::from_secs(10), this.client.send(req)).await {
                    Ok(Ok(resp)) if resp.status().is_success() => return,
                    Ok(Ok(resp)) => tracing::warn!(
                        status = resp.status().as_u16(),
                        attempt,
                        "alert webhook refused"
                    ),
                    Ok(Err(e)) => tracing::warn!(error = %e, attempt, "alert webhook failed"),
                    Err(_) => tracing::warn!(attempt, "alert webhook timed out"),
                }
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            tracing::error!("alert webhook gave up after 5 attempts");
        });
    }
}

fn micros_to_usd(m: u64) -> f64 {
    m as f64 / 1_000_000.0
}

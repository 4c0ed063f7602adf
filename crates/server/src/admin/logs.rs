//! `GET /admin/logs` (filtered, newest first, cursor-paginated) and `GET /admin/logs/{request_id}`
//! (one request, with its captured payloads if capture was on). Team-scoped callers see their
//! team's requests only; another team's request is 404.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use switchyard_store::{LogFilter, LogRow, StoreError};
use switchyard_types::GatewayError;

use super::input::{self, field_error, parse_query, present, Bound};
use super::output::{not_found, ok, rfc3339, store_error, usd};
use super::Ctx;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    request_id: Option<String>,
    key_id: Option<String>,
    team_id: Option<String>,
    model: Option<String>,
    status: Option<String>,
    error_class: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// One request as the API shows it. Payloads appear only on the single-request route.
#[derive(Debug, Serialize)]
pub struct LogView {
    pub request_id: String,
    /// The `x-request-id` the client sent (null when it sent none; the gateway's own id is
    /// `request_id`).
    pub client_request_id: Option<String>,
    pub ts: String,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    pub user: Option<String>,
    pub model_requested: String,
    pub model_served: Option<String>,
    pub provider: Option<String>,
    pub attempts: u32,
    pub status: u16,
    pub error_class: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub cache_status: String,
    pub stream: bool,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}

impl LogView {
    fn new(row: LogRow, with_payloads: bool) -> Self {
        LogView {
            request_id: row.request_id,
            client_request_id: row.client_request_id,
            ts: rfc3339(row.ts),
            key_id: row.key_id,
            team_id: row.team_id,
            user: row.user,
            model_requested: row.model_requested,
            model_served: row.model_served,
            provider: row.provider,
            attempts: row.attempts,
            status: row.status,
            error_class: row.error_class,
            input_tokens: row.input_tokens,
            output_tokens: row.output_tokens,
            cost_usd: usd(row.cost_micros),
            latency_ms: row.latency_ms,
            ttft_ms: row.ttft_ms,
            cache_status: row.cache_status,
            stream: row.stream,
            tags: row.tags,
            request_body: row.request_body.filter(|_| with_payloads),
            response_body: row.response_body.filter(|_| with_payloads),
        }
    }
}

#[derive(Debug, Serialize)]
struct LogPage {
    rows: Vec<LogView>,
    next_cursor: Option<String>,
}

/// `GET /admin/logs`.
pub async fn list(ctx: Ctx) -> Result<Response, GatewayError> {
    let q: LogQuery = parse_query(ctx.query.as_deref())?;
    let status = present(q.status)
        .map(|s| match s.parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            _ => Err(field_error(
                "status",
                format!("must be an HTTP status code (100-599), got `{s}`"),
            )),
        })
        .transpose()?;
    let from_ms = input::parse_bound_opt("from", q.from, Bound::From)?;
    let to_ms = input::parse_bound_opt("to", q.to, Bound::To)?;
    input::check_range(from_ms, to_ms)?;
    let limit = input::parse_limit(q.limit, 100, switchyard_store::MAX_PAGE_LIMIT)?;
    let filter = LogFilter {
        request_id: present(q.request_id),
        key_id: present(q.key_id),
        team_id: ctx.caller.scoped_team_filter(present(q.team_id))?,
        model: present(q.model),
        status,
        error_class: present(q.error_class),
        from_ms,
        to_ms,
    };
    let cursor = present(q.cursor);
    let page = ctx
        .app
        .store
        .query_logs(&filter, cursor.as_deref(), limit)
        .await
        .map_err(|e| match e {
            StoreError::InvalidInput(m) => field_error("cursor", m),
            other => store_error(other),
        })?;
    ok(&LogPage {
        rows: page
            .items
            .into_iter()
            .map(|r| LogView::new(r, false))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// `GET /admin/logs/{request_id}`.
pub async fn get(ctx: Ctx) -> Result<Response, GatewayError> {
    let id = ctx.param(0)?;
    let row = ctx
        .app
        .store
        .get_log(id)
        .await
        .map_err(store_error)?
        .filter(|r| ctx.caller.can_see(r.team_id.as_deref()))
        .ok_or_else(|| not_found("request", id))?;
    ok(&LogView::new(row, true))
}

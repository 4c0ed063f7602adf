//! The request log: batched inserts, lookup, filtered newest-first pages, chunked pruning.

use sqlx::types::Json;
use sqlx::Row as _;

use super::{
    batch_insert_sql, begin_write, json_col, push_eq, shaped_chunks, Builder, Pool, Row,
    ShapeCache, BATCH_SHAPES,
};
use crate::cursor::{clamp_limit, finish_page, Cursor, CursorKind};
use crate::error::StoreError;
use crate::records::{LogFilter, LogRow, Page};

macro_rules! log_columns {
    () => {
        "request_id, ts, key_id, team_id, user_id, model_requested, model_served, provider, \
         attempts, status, error_class, input_tokens, output_tokens, cost_micros, latency_ms, \
         ttft_ms, cache_status, stream, request_body, response_body, tags, client_request_id"
    };
}
const COLUMNS: usize = 22;
// The largest batch statement stays below SQLite's limit of 32 766 bound parameters.
const _: () = assert!(super::BATCH_SHAPES[0] * COLUMNS <= 32_766);
/// Rows deleted per statement when pruning: short write locks, steady progress.
const PRUNE_CHUNK: i64 = 5_000;

fn from_row(row: &Row) -> Result<LogRow, StoreError> {
    let attempts: i32 = row.try_get("attempts")?;
    let status: i32 = row.try_get("status")?;
    Ok(LogRow {
        request_id: row.try_get("request_id")?,
        client_request_id: row.try_get("client_request_id")?,
        ts: row.try_get("ts")?,
        key_id: row.try_get("key_id")?,
        team_id: row.try_get("team_id")?,
        user: row.try_get("user_id")?,
        model_requested: row.try_get("model_requested")?,
        model_served: row.try_get("model_served")?,
        provider: row.try_get("provider")?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt(format!("negative attempts {attempts}")))?,
        status: u16::try_from(status)
            .map_err(|_| StoreError::Corrupt(format!("status {status} out of range")))?,
        error_class: row.try_get("error_class")?,
        input_tokens: row.try_get("input_tokens")?,
        output_tokens: row.try_get("output_tokens")?,
        cost_micros: row.try_get("cost_micros")?,
        latency_ms: row.try_get("latency_ms")?,
        ttft_ms: row.try_get("ttft_ms")?,
        cache_status: row.try_get("cache_status")?,
        stream: row.try_get("stream")?,
        request_body: row.try_get("request_body")?,
        response_body: row.try_get("response_body")?,
        tags: json_col(row, "tags")?,
    })
}

pub(super) async fn insert(pool: &Pool, rows: &[LogRow]) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = begin_write(pool).await?;
    let mut inserted = 0;
    static SQL: ShapeCache = [const { std::sync::OnceLock::new() }; BATCH_SHAPES.len()];
    for chunk in shaped_chunks(rows) {
        let sql = batch_insert_sql(
            &SQL,
            concat!("INSERT INTO request_log (", log_columns!(), ")"),
            COLUMNS,
            chunk.len(),
            " ON CONFLICT (request_id) DO NOTHING",
        );
        // Column names and numbered placeholders only: every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(&r.request_id)
                .bind(r.ts)
                .bind(r.key_id.as_deref())
                .bind(r.team_id.as_deref())
                .bind(r.user.as_deref())
                .bind(&r.model_requested)
                .bind(r.model_served.as_deref())
                .bind(r.provider.as_deref())
                .bind(i32::try_from(r.attempts).unwrap_or(i32::MAX))
                .bind(i32::from(r.status))
                .bind(r.error_class.as_deref())
                .bind(r.input_tokens)
                .bind(r.output_tokens)
                .bind(r.cost_micros)
                .bind(r.latency_ms)
                .bind(r.ttft_ms)
                .bind(&r.cache_status)
                .bind(r.stream)
                .bind(r.request_body.as_deref())
                .bind(r.response_body.as_deref())
                .bind(Json(&r.tags))
                .bind(r.client_request_id.as_deref());
        }
        inserted += q.execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(inserted)
}

/// The row with this request id, else the newest row whose client sent this id.
pub(super) async fn get(pool: &Pool, request_id: &str) -> Result<Option<LogRow>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        log_columns!(),
        " FROM request_log WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(pool)
    .await?;
    let row = match row {
        Some(row) => Some(row),
        None => {
            sqlx::query(concat!(
                "SELECT ",
                log_columns!(),
                " FROM request_log WHERE client_request_id = $1 \
                 ORDER BY ts DESC, request_id DESC LIMIT 1"
            ))
            .bind(request_id)
            .fetch_optional(pool)
            .await?
        }
    };
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn query(
    pool: &Pool,
    filter: &LogFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<LogRow>, StoreError> {
    let after = cursor
        .map(|c| Cursor::decode(c, CursorKind::Logs))
        .transpose()?;
    let limit = clamp_limit(limit);
    let mut qb = Builder::new(concat!(
        "SELECT ",
        log_columns!(),
        " FROM request_log WHERE 1 = 1"
    ));
    if let Some(id) = &filter.request_id {
        qb.push(" AND (request_id = ").push_bind(id);
        qb.push(" OR client_request_id = ").push_bind(id).push(")");
    }
    push_eq(&mut qb, "key_id", filter.key_id.as_deref());
    push_eq(&mut qb, "team_id", filter.team_id.as_deref());
    if let Some(model) = &filter.model {
        qb.push(" AND (model_requested = ").push_bind(model);
        qb.push(" OR model_served = ").push_bind(model).push(")");
    }
    push_eq(&mut qb, "status", filter.status.map(i32::from));
    push_eq(&mut qb, "error_class", filter.error_class.as_deref());
    if let Some(from) = filter.from_ms {
        qb.push(" AND ts >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        qb.push(" AND ts < ").push_bind(to);
    }
    if let Some(after) = &after {
        qb.push(" AND (ts, request_id) < (").push_bind(after.ts);
        qb.push(", ").push_bind(&after.id).push(")");
    }
    qb.push(" ORDER BY ts DESC, request_id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(finish_page(items, limit, CursorKind::Logs, |last| Cursor {
        ts: last.ts,
        id: last.request_id.clone(),
    }))
}

pub(super) async fn prune(pool: &Pool, older_than_ms: i64) -> Result<u64, StoreError> {
    let mut deleted = 0;
    loop {
        let n = sqlx::query(
            "DELETE FROM request_log WHERE request_id IN \
             (SELECT request_id FROM request_log WHERE ts < $1 LIMIT $2)",
        )
        .bind(older_than_ms)
        .bind(PRUNE_CHUNK)
        .execute(pool)
        .await?
        .rows_affected();
        deleted += n;
        if n < PRUNE_CHUNK.unsigned_abs() {
            return Ok(deleted);
        }
        // Let queued batch inserts take the write lock between chunks.
        tokio::task::yield_now().await;
    }
}

//! The spend ledger: batched inserts, grouped reports and totals, all summed in SQL.

use sqlx::types::Json;
use sqlx::Row as _;

use super::{
    batch_insert_sql, begin_write, push_eq, shaped_chunks, Builder, Pool, ShapeCache, BATCH_SHAPES,
    DIALECT,
};
use crate::error::StoreError;
use crate::records::{GroupBy, SpendFilter, SpendGroup, SpendRow, SpendScope};

const COLUMNS: usize = 15;
// The largest batch statement stays below SQLite's limit of 32 766 bound parameters.
const _: () = assert!(super::BATCH_SHAPES[0] * COLUMNS <= 32_766);

pub(super) async fn insert(pool: &Pool, rows: &[SpendRow]) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = begin_write(pool).await?;
    let mut inserted = 0;
    static SQL: ShapeCache = [const { std::sync::OnceLock::new() }; BATCH_SHAPES.len()];
    for chunk in shaped_chunks(rows) {
        let sql = batch_insert_sql(
            &SQL,
            "INSERT INTO spend_ledger (request_id, ts, key_id, team_id, user_id, end_user, model, \
             provider, upstream_model, tags, input_tokens, output_tokens, cached_tokens, \
             reasoning_tokens, cost_micros)",
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
                .bind(r.end_user.as_deref())
                .bind(&r.model)
                .bind(&r.provider)
                .bind(&r.upstream_model)
                .bind(Json(&r.tags))
                .bind(r.input_tokens)
                .bind(r.output_tokens)
                .bind(r.cached_tokens)
                .bind(r.reasoning_tokens)
                .bind(r.cost_micros);
        }
        inserted += q.execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(inserted)
}

pub(super) async fn report(
    pool: &Pool,
    group_by: GroupBy,
    from_ms: i64,
    to_ms: i64,
    filter: &SpendFilter,
) -> Result<Vec<SpendGroup>, StoreError> {
    let mut qb = Builder::new("SELECT ");
    qb.push(DIALECT.group_expr(group_by));
    qb.push(
        " AS grp, CAST(SUM(s.cost_micros) AS BIGINT) AS cost_micros, COUNT(*) AS requests, \
         CAST(SUM(s.input_tokens) AS BIGINT) AS input_tokens, \
         CAST(SUM(s.output_tokens) AS BIGINT) AS output_tokens FROM ",
    );
    qb.push(DIALECT.spend_source(group_by));
    qb.push(" WHERE s.ts >= ").push_bind(from_ms);
    qb.push(" AND s.ts < ").push_bind(to_ms);
    push_eq(&mut qb, "s.key_id", filter.key_id.as_deref());
    push_eq(&mut qb, "s.team_id", filter.team_id.as_deref());
    qb.push(" GROUP BY 1 ORDER BY 2 DESC, 1 ASC");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(SpendGroup {
                group: row.try_get("grp")?,
                cost_micros: row.try_get("cost_micros")?,
                requests: row.try_get("requests")?,
                input_tokens: row.try_get("input_tokens")?,
                output_tokens: row.try_get("output_tokens")?,
            })
        })
        .collect()
}

pub(super) async fn total(
    pool: &Pool,
    scope: &SpendScope,
    from_ms: i64,
    to_ms: i64,
) -> Result<i64, StoreError> {
    let (sql, id) = match scope {
        SpendScope::Key(id) => (
            "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM spend_ledger \
             WHERE key_id = $1 AND ts >= $2 AND ts < $3",
            id,
        ),
        SpendScope::Team(id) => (
            "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM spend_ledger \
             WHERE team_id = $1 AND ts >= $2 AND ts < $3",
            id,
        ),
        SpendScope::User(id) => (
            "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM spend_ledger \
             WHERE user_id = $1 AND ts >= $2 AND ts < $3",
            id,
        ),
        SpendScope::EndUser(id) => (
            "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM spend_ledger \
             WHERE end_user = $1 AND ts >= $2 AND ts < $3",
            id,
        ),
    };
    let total: i64 = sqlx::query_scalar(sql)
        .bind(id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(pool)
        .await?;
    Ok(total)
}

//! The SQL implementation of [`Store`], compiled once per backend (see `backend/mod.rs`): the
//! including module provides `Db` (the sqlx driver) and `DIALECT`.
//!
//! Static statements use `$n` placeholders, which both drivers accept; statements assembled at
//! run time use `QueryBuilder`, which emits each driver's own placeholders. Values are always
//! bound, never spliced.

mod audit;
mod keys;
mod logs;
mod migrate;
mod spend;
mod teams;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::Row as _;

use super::{Db, DIALECT};
use crate::entities::{
    KeyFilter, KeyMaterial, KeyPatch, NewKey, NewTeam, Team, TeamPatch, VirtualKey,
};
use crate::error::StoreError;
use crate::records::{
    AuditEntry, AuditFilter, GroupBy, LogFilter, LogRow, NewAudit, Page, SpendFilter, SpendGroup,
    SpendRow, SpendScope,
};
use crate::store::{Backend, Store};

type Pool = sqlx::Pool<Db>;
type Row = <Db as sqlx::Database>::Row;
type Tx = sqlx::Transaction<'static, Db>;
type Builder = sqlx::QueryBuilder<Db>;

/// Rows per multi-row `INSERT` in batch inserts, largest first. sqlx keeps every distinct
/// statement prepared (per connection, up to 100 of them), and a 500-row `INSERT` prepared once
/// per batch size held megabytes: with a handful of fixed shapes the cache stays small (and every
/// statement is prepared once, not once per batch). 128 rows × 21 columns stays well below
/// SQLite's 32 766 and PostgreSQL's 65 535 bound parameters.
const BATCH_SHAPES: [usize; 4] = [128, 32, 8, 1];

/// Splits `rows` into chunks whose lengths are all in [`BATCH_SHAPES`] (greedily, largest
/// first), so a batch of any size uses at most four distinct statements.
fn shaped_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let size = BATCH_SHAPES.iter().copied().find(|&s| s <= rows.len())?;
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some(chunk)
    })
}

/// One cached statement text per [`BATCH_SHAPES`] entry.
type ShapeCache = [std::sync::OnceLock<String>; BATCH_SHAPES.len()];

/// The multi-row `INSERT` for `rows` rows of `columns` values each: `head`, then
/// `VALUES ($1, …), (…)` (`?` on SQLite), then `tail`. For the [`BATCH_SHAPES`] it is built once and kept, so
/// a batch binds its values without formatting a placeholder per value.
fn batch_insert_sql(
    cache: &'static ShapeCache,
    head: &str,
    columns: usize,
    rows: usize,
    tail: &str,
) -> std::borrow::Cow<'static, str> {
    let build = || {
        use std::fmt::Write as _;
        let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 7);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..columns {
                n += 1;
                sql.push_str(if c == 0 { "" } else { ", " });
                // The driver's own placeholders, as `QueryBuilder` writes them: SQLite looks a
                // numbered parameter's name up by a linear scan (quadratic over a 2 688-value
                // statement), while plain `?` binds by position.
                match DIALECT {
                    crate::backend::Dialect::Sqlite => sql.push('?'),
                    crate::backend::Dialect::Postgres => {
                        let _ = write!(sql, "${n}");
                    }
                }
            }
            sql.push(')');
        }
        sql.push_str(tail);
        sql
    };
    match BATCH_SHAPES.iter().position(|&s| s == rows) {
        Some(slot) => std::borrow::Cow::Borrowed(cache[slot].get_or_init(build).as_str()),
        None => std::borrow::Cow::Owned(build()),
    }
}

/// A [`Store`] on one sqlx pool.
pub(crate) struct SqlStore {
    pool: Pool,
}

impl SqlStore {
    /// Applies pending migrations and wraps the pool.
    pub(crate) async fn open(pool: Pool) -> Result<Self, StoreError> {
        migrate::run(&pool).await?;
        Ok(SqlStore { pool })
    }
}

/// A transaction that will write (see [`super::Dialect::begin_write`]).
async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    pool.begin_with(DIALECT.begin_write()).await
}

/// Decodes a JSON column.
fn json_col<T: DeserializeOwned + 'static>(row: &Row, column: &str) -> Result<T, StoreError> {
    Ok(row.try_get::<Json<T>, _>(column)?.0)
}

/// Decodes a nullable JSON column.
fn json_opt(row: &Row, column: &str) -> Result<Option<Value>, StoreError> {
    Ok(row.try_get::<Option<Json<Value>>, _>(column)?.map(|j| j.0))
}

/// The bind value of an optional JSON field: JSON `null` is stored as SQL NULL.
fn json_bind(value: Option<&Value>) -> Option<Json<&Value>> {
    value.filter(|v| !v.is_null()).map(Json)
}

/// Appends ` AND <column> = <value>` when a filter value is set.
fn push_eq<'a, T>(qb: &mut Builder, column: &str, value: Option<T>)
where
    T: 'a + sqlx::Encode<'a, Db> + sqlx::Type<Db>,
{
    if let Some(value) = value {
        qb.push(" AND ").push(column).push(" = ").push_bind(value);
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        DIALECT.backend()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_team(&self, new: NewTeam) -> Result<Team, StoreError> {
        teams::create(&self.pool, new).await
    }

    async fn get_team(&self, id: &str) -> Result<Option<Team>, StoreError> {
        teams::get_by_id(&self.pool, id).await
    }

    async fn get_team_by_name(&self, name: &str) -> Result<Option<Team>, StoreError> {
        teams::get_by_name(&self.pool, name).await
    }

    async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        teams::list(&self.pool).await
    }

    async fn update_team(&self, id: &str, patch: TeamPatch) -> Result<Team, StoreError> {
        teams::update(&self.pool, id, patch).await
    }

    async fn delete_team(&self, id: &str) -> Result<(), StoreError> {
        teams::delete(&self.pool, id).await
    }

    async fn create_key(&self, new: NewKey) -> Result<VirtualKey, StoreError> {
        keys::create(&self.pool, new).await
    }

    async fn get_key(&self, id: &str) -> Result<Option<VirtualKey>, StoreError> {
        keys::get_by_id(&self.pool, id).await
    }

    async fn get_key_by_hash(&self, key_hash: &str) -> Result<Option<VirtualKey>, StoreError> {
        keys::get_by_hash(&self.pool, key_hash).await
    }

    async fn list_keys(&self, filter: &KeyFilter) -> Result<Vec<VirtualKey>, StoreError> {
        keys::list(&self.pool, filter).await
    }

    async fn update_key(&self, id: &str, patch: KeyPatch) -> Result<VirtualKey, StoreError> {
        keys::update(&self.pool, id, patch).await
    }

    async fn revoke_key(&self, id: &str) -> Result<VirtualKey, StoreError> {
        keys::revoke(&self.pool, id).await
    }

    async fn rotate_key(&self, id: &str, material: KeyMaterial) -> Result<VirtualKey, StoreError> {
        keys::rotate(&self.pool, id, material).await
    }

    async fn insert_spend(&self, rows: &[SpendRow]) -> Result<u64, StoreError> {
        spend::insert(&self.pool, rows).await
    }

    async fn spend_report(
        &self,
        group_by: GroupBy,
        from_ms: i64,
        to_ms: i64,
        filter: &SpendFilter,
    ) -> Result<Vec<SpendGroup>, StoreError> {
        spend::report(&self.pool, group_by, from_ms, to_ms, filter).await
    }

    async fn spend_total(
        &self,
        scope: &SpendScope,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<i64, StoreError> {
        spend::total(&self.pool, scope, from_ms, to_ms).await
    }

    async fn insert_logs(&self, rows: &[LogRow]) -> Result<u64, StoreError> {
        logs::insert(&self.pool, rows).await
    }

    async fn get_log(&self, request_id: &str) -> Result<Option<LogRow>, StoreError> {
        logs::get(&self.pool, request_id).await
    }

    async fn query_logs(
        &self,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<LogRow>, StoreError> {
        logs::query(&self.pool, filter, cursor, limit).await
    }

    async fn prune_logs(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        logs::prune(&self.pool, older_than_ms).await
    }

    async fn append_audit(&self, entry: NewAudit) -> Result<AuditEntry, StoreError> {
        audit::append(&self.pool, entry).await
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>, StoreError> {
        audit::query(&self.pool, filter, cursor, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::{batch_insert_sql, shaped_chunks, ShapeCache, BATCH_SHAPES};

    #[test]
    fn batches_split_into_a_few_fixed_shapes() {
        let rows: Vec<u32> = (0..500).collect();
        let sizes: Vec<usize> = shaped_chunks(&rows).map(<[u32]>::len).collect();
        assert_eq!(sizes, [128, 128, 128, 32, 32, 32, 8, 8, 1, 1, 1, 1]);
        let joined: Vec<u32> = shaped_chunks(&rows).flatten().copied().collect();
        assert_eq!(joined, rows, "every row once, in order");
        assert_eq!(shaped_chunks::<u32>(&[]).count(), 0);
        assert_eq!(shaped_chunks(&rows[..7]).count(), 7);
    }

    #[test]
    fn batch_statements_number_every_value_once_and_are_kept_per_shape() {
        static CACHE: ShapeCache = [const { std::sync::OnceLock::new() }; BATCH_SHAPES.len()];
        let sql = batch_insert_sql(
            &CACHE,
            "INSERT INTO t (a, b, c)",
            3,
            2,
            " ON CONFLICT DO NOTHING",
        );
        let values = match super::DIALECT {
            crate::backend::Dialect::Sqlite => "(?, ?, ?), (?, ?, ?)",
            crate::backend::Dialect::Postgres => "($1, $2, $3), ($4, $5, $6)",
        };
        assert_eq!(
            sql,
            format!("INSERT INTO t (a, b, c) VALUES {values} ON CONFLICT DO NOTHING")
        );
        for rows in BATCH_SHAPES {
            let a = batch_insert_sql(&CACHE, "INSERT INTO t (a, b, c)", 3, rows, "");
            let b = batch_insert_sql(&CACHE, "INSERT INTO t (a, b, c)", 3, rows, "");
            assert!(matches!(a, std::borrow::Cow::Borrowed(_)), "{rows} is kept");
            assert!(
                std::ptr::eq(a.as_ptr(), b.as_ptr()),
                "built once for {rows}"
            );
            let values = a.matches('$').count() + a.matches('?').count();
            assert_eq!(values, rows * 3);
        }
    }
}

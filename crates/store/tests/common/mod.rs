//! Test harness: gives each test case its own fresh database — a temporary SQLite file, or a
//! PostgreSQL schema with a random name on `SWITCHYARD_TEST_POSTGRES_URL` — and removes it
//! afterwards, also when the case panics.

use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::AssertSqlSafe;
use switchyard_store::{connect_with, new_id, Backend, Store, StoreOptions};

pub const POSTGRES_URL_VAR: &str = "SWITCHYARD_TEST_POSTGRES_URL";

/// One test case's database.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub options: StoreOptions,
}

impl TestDb {
    /// Connects (and migrates) like the server does.
    pub async fn connect(&self) -> Arc<dyn Store> {
        connect_with(&self.url, &self.options)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }

    /// The query plan of `query` as text, one line per plan row (SQLite's `EXPLAIN QUERY PLAN`
    /// details; PostgreSQL's `EXPLAIN` with sequential scans priced out, so a usable index is
    /// always chosen even on a small table).
    pub async fn plan(&self, query: &str) -> Result<String, sqlx::Error> {
        use sqlx::Row as _;
        match self.backend {
            Backend::Sqlite => {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(SqliteConnectOptions::from_str(&self.url)?)
                    .await?;
                let rows = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}")))
                    .fetch_all(&pool)
                    .await;
                pool.close().await;
                rows?
                    .iter()
                    .map(|r| r.try_get::<String, _>("detail"))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|l| l.join("\n"))
            }
            Backend::Postgres => {
                let schema = self.options.schema.clone().unwrap_or_default();
                let options =
                    PgConnectOptions::from_str(&self.url)?.options([("search_path", schema)]);
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?;
                let mut conn = pool.acquire().await?;
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *conn)
                    .await?;
                let rows = sqlx::query(AssertSqlSafe(format!("EXPLAIN {query}")))
                    .fetch_all(&mut *conn)
                    .await;
                drop(conn);
                pool.close().await;
                rows?
                    .iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|l| l.join("\n"))
            }
        }
    }

    /// Runs one statement outside the store's API (to prove what the API cannot do).
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(SqliteConnectOptions::from_str(&self.url)?)
                    .await?;
                let done = sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .map(|r| r.rows_affected());
                pool.close().await;
                done
            }
            Backend::Postgres => {
                let schema = self.options.schema.clone().unwrap_or_default();
                let options =
                    PgConnectOptions::from_str(&self.url)?.options([("search_path", schema)]);
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?;
                let done = sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .map(|r| r.rows_affected());
                pool.close().await;
                done
            }
        }
    }
}

fn test_options() -> StoreOptions {
    StoreOptions {
        max_connections: Some(4),
        acquire_timeout: Duration::from_secs(30),
        busy_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    }
}

/// Removes the SQLite file and its WAL side files when the case ends, however it ends.
struct TempFiles(PathBuf);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Runs `case` against a fresh SQLite file.
pub async fn with_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let path = std::env::temp_dir().join(format!("{}.db", new_id("switchyard_store_test")));
    let _cleanup = TempFiles(path.clone());
    let db = TestDb {
        backend: Backend::Sqlite,
        url: format!("sqlite://{}", path.display()),
        options: test_options(),
    };
    case(db).await;
}

/// Runs `case` against a fresh schema of the PostgreSQL named by `SWITCHYARD_TEST_POSTGRES_URL`,
/// or reports the skip (once per test binary, on the real stderr so it is not captured).
pub async fn with_postgres<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    static SKIP_NOTICE: Once = Once::new();
    let Some(url) = std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
    else {
        SKIP_NOTICE.call_once(|| {
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: {POSTGRES_URL_VAR} not set (PostgreSQL store tests pass without running)"
            );
        });
        return;
    };
    let schema = new_id("sy_test").to_lowercase();
    let db = TestDb {
        backend: Backend::Postgres,
        url: url.clone(),
        options: StoreOptions {
            schema: Some(schema.clone()),
            ..test_options()
        },
    };
    // Run the case as its own task so a panic can be caught, the schema dropped, and the panic
    // then re-raised to fail the test.
    let outcome = tokio::spawn(case(db)).await;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect to drop the test schema");
    sqlx::query(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(&admin)
    .await
    .expect("drop the test schema");
    admin.close().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

//! SQLite backend (embedded default): a file created if missing, WAL journal, `synchronous =
//! NORMAL`, a busy timeout for writers, foreign keys on. `sqlite::memory:` works too (one
//! connection, kept open for the pool's lifetime).

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::Dialect;
use crate::error::{redact_url, scrub, url_secrets, StoreError};
use crate::store::{Store, StoreOptions};

type Db = sqlx::Sqlite;
const DIALECT: Dialect = Dialect::Sqlite;

#[expect(
    clippy::duplicate_mod,
    reason = "the one SQL implementation, compiled once per driver (see backend/mod.rs)"
)]
#[path = "sql/mod.rs"]
mod sql;

const SQLITE_BUSY: i32 = 5;
const OPEN_RETRY_DELAY: Duration = Duration::from_millis(25);

/// Readers run in parallel under WAL; writes are serialised by SQLite anyway.
const DEFAULT_MAX_CONNECTIONS: u32 = 4;

pub(crate) async fn connect(
    url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let pool = open_pool(url, options).await?;
    Ok(Arc::new(sql::SqlStore::open(pool).await?))
}

/// The connection pool `connect` uses, before migrations.
async fn open_pool(url: &str, options: &StoreOptions) -> Result<sqlx::SqlitePool, StoreError> {
    let secrets = url_secrets(url);
    let connect_options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidUrl {
            url: redact_url(url),
            reason: scrub(&e.to_string(), &secrets),
        })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);

    let pool_options = SqlitePoolOptions::new()
        .acquire_timeout(options.acquire_timeout)
        .min_connections(1);
    // A shared-cache in-memory database lives only while a connection is open, and several
    // connections to it would fail with SQLITE_LOCKED instead of waiting: use exactly one.
    let pool_options = if is_in_memory(url) {
        pool_options
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        pool_options.max_connections(options.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS))
    };

    // Two processes opening a brand-new file at once race to switch it to WAL, and SQLite can
    // answer that race with SQLITE_BUSY without consulting the busy handler: retry the open
    // for as long as a writer would wait anyway.
    let deadline = Instant::now() + options.busy_timeout;
    loop {
        match pool_options
            .clone()
            .connect_with(connect_options.clone())
            .await
        {
            Ok(pool) => return Ok(pool),
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                tokio::time::sleep(OPEN_RETRY_DELAY).await;
            }
            Err(e) => {
                return Err(StoreError::Connect {
                    url: redact_url(url),
                    message: scrub(&e.to_string(), &secrets),
                })
            }
        }
    }
}

/// SQLITE_BUSY, including its extended codes (e.g. SQLITE_BUSY_RECOVERY).
fn is_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::NewTeam;
    use sqlx::{AssertSqlSafe, Row as _};

    struct TempDb(std::path::PathBuf);
    impl Drop for TempDb {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = self.0.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
    }

    #[tokio::test]
    async fn connections_run_in_wal_with_busy_timeout_and_foreign_keys() {
        let file = TempDb(std::env::temp_dir().join(format!("{}.db", crate::new_id("sy_unit"))));
        let url = format!("sqlite://{}", file.0.display());
        let pool = open_pool(&url, &StoreOptions::default()).await.unwrap();
        assert!(file.0.exists(), "created if missing");
        let pragma = |name: &'static str| {
            let pool = pool.clone();
            async move {
                let row = sqlx::query(AssertSqlSafe(format!("PRAGMA {name}")))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let value: String = match row.try_get::<String, _>(0) {
                    Ok(text) => text,
                    Err(_) => row.try_get::<i64, _>(0).unwrap().to_string(),
                };
                value
            }
        };
        assert_eq!(pragma("journal_mode").await, "wal");
        assert_eq!(pragma("busy_timeout").await, "5000");
        assert_eq!(pragma("foreign_keys").await, "1");
        assert_eq!(pragma("synchronous").await, "1", "NORMAL");
        pool.close().await;
    }

    #[tokio::test]
    async fn in_memory_database_keeps_its_data_for_the_pool_lifetime() {
        let store = connect("sqlite::memory:", &StoreOptions::default())
            .await
            .unwrap();
        let team = store
            .create_team(NewTeam {
                name: "mem".into(),
                ..NewTeam::default()
            })
            .await
            .unwrap();
        tokio::task::yield_now().await;
        assert_eq!(store.get_team(&team.id).await.unwrap(), Some(team));
        assert_eq!(store.list_teams().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn missing_directory_is_a_connect_error() {
        let err = connect(
            "sqlite:///nonexistent-dir-for-switchyard/x.db",
            &StoreOptions::default(),
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    }
}

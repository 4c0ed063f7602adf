//! PostgreSQL backend (cluster mode): every connection gets a server-side `statement_timeout`
//! and `idle_in_transaction_session_timeout`, an application name, and optionally a schema first
//! on its `search_path` (created if missing) so several deployments or test runs can share one
//! database. TLS follows the URL's `sslmode`.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::AssertSqlSafe;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::Dialect;
use crate::error::{redact_url, scrub, url_secrets, StoreError};
use crate::store::{Store, StoreOptions};

type Db = sqlx::Postgres;
const DIALECT: Dialect = Dialect::Postgres;

#[expect(
    clippy::duplicate_mod,
    reason = "the one SQL implementation, compiled once per driver (see backend/mod.rs)"
)]
#[path = "sql/mod.rs"]
mod sql;

/// Enough for the admin API, the ledger/log batcher and the pruner on a 2-core replica.
const DEFAULT_MAX_CONNECTIONS: u32 = 8;
/// A transaction left open by a stuck task must not hold locks forever.
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) async fn connect(
    url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let pool = open_pool(url, options).await?;
    Ok(Arc::new(sql::SqlStore::open(pool).await?))
}

/// The connection pool `connect` uses (schema created), before migrations.
async fn open_pool(url: &str, options: &StoreOptions) -> Result<sqlx::PgPool, StoreError> {
    let secrets = url_secrets(url);
    let invalid = |reason: String| StoreError::InvalidUrl {
        url: redact_url(url),
        reason,
    };
    let mut connect_options = PgConnectOptions::from_str(url)
        .map_err(|e| invalid(scrub(&e.to_string(), &secrets)))?
        .application_name("switchyard")
        .options([
            ("statement_timeout", millis(options.statement_timeout)),
            (
                "idle_in_transaction_session_timeout",
                millis(IDLE_IN_TRANSACTION_TIMEOUT),
            ),
        ]);
    if let Some(schema) = &options.schema {
        if !is_plain_identifier(schema) {
            return Err(StoreError::InvalidInput(format!(
                "schema `{schema}` must be 1-63 lowercase letters, digits or `_`, not starting with a digit"
            )));
        }
        connect_options = connect_options.options([("search_path", schema.as_str())]);
    }

    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS))
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options)
        .await
        .map_err(|e| StoreError::Connect {
            url: redact_url(url),
            message: scrub(&e.to_string(), &secrets),
        })?;

    if let Some(schema) = &options.schema {
        create_schema(&pool, schema).await?;
    }
    Ok(pool)
}

/// `CREATE SCHEMA IF NOT EXISTS` is not safe against a concurrent twin (both may try to insert
/// the catalog row), so replicas starting together take turns under an advisory lock.
async fn create_schema(pool: &sqlx::PgPool, schema: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('switchyard_schema:' || $1))")
        .bind(schema)
        .execute(&mut *tx)
        .await?;
    // Safe to splice: checked by `is_plain_identifier`.
    sqlx::query(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && name.len() <= 63
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn schema_names_are_plain_identifiers_only() {
        assert!(is_plain_identifier("switchyard"));
        assert!(is_plain_identifier("sy_test_01ab"));
        for bad in [
            "",
            "1abc",
            "Public",
            "a-b",
            "a\"; DROP TABLE x; --",
            &"a".repeat(64),
        ] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn connection_failure_does_not_leak_the_password() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let options = StoreOptions {
            acquire_timeout: Duration::from_secs(2),
            ..StoreOptions::default()
        };
        let err = connect("postgres://app:hunter2@127.0.0.1:1/db", &options)
            .await
            .err()
            .unwrap();
        let text = format!("{err} / {err:?}");
        assert!(matches!(err, StoreError::Connect { .. }), "{text}");
        assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    /// Live check of the session settings, when a test server is configured.
    #[tokio::test]
    async fn sessions_carry_statement_timeout_and_search_path() {
        let Some(url) = std::env::var("SWITCHYARD_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: SWITCHYARD_TEST_POSTGRES_URL not set (PostgreSQL session settings)"
            );
            return;
        };
        let schema = crate::new_id("sy_unit").to_lowercase();
        let options = StoreOptions {
            statement_timeout: Duration::from_millis(1_500),
            schema: Some(schema.clone()),
            ..StoreOptions::default()
        };
        let pool = open_pool(&url, &options).await.unwrap();
        let show = |name: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, String>(AssertSqlSafe(format!("SHOW {name}")))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let timeout = show("statement_timeout").await;
        let idle = show("idle_in_transaction_session_timeout").await;
        let path = show("search_path").await;
        let app = show("application_name").await;
        // A query longer than the timeout is cancelled by the server.
        let slow = sqlx::query("SELECT pg_sleep(3)").execute(&pool).await;
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        assert_eq!(timeout, "1500ms");
        assert_eq!(idle, "1min");
        assert_eq!(path, schema);
        assert_eq!(app, "switchyard");
        let err = StoreError::from(slow.unwrap_err());
        assert!(err.to_string().contains("statement timeout"), "{err}");
    }

    #[tokio::test]
    async fn bad_schema_is_refused_before_connecting() {
        let options = StoreOptions {
            schema: Some("x; drop".into()),
            ..StoreOptions::default()
        };
        let err = connect("postgres://u@127.0.0.1:1/db", &options)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
}

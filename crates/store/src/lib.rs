//! switchyard-store: the persistent state of Switchyard — teams, virtual keys, the spend ledger,
//! the request log and the audit log — behind one dyn-compatible [`Store`] trait with two
//! implementations chosen by URL scheme:
//!
//! - `sqlite://switchyard.db` (embedded default; file created if missing; WAL + busy timeout),
//! - `postgres://…` / `postgresql://…` (cluster mode; `statement_timeout` on every connection).
//!
//! Schema migrations are embedded in the binary (`migrations/sqlite`, `migrations/postgres`),
//! versioned in a `switchyard_migrations` table and applied at [`connect`], forward-only.
//! Queries are checked at run time (`sqlx::query`), so building never needs a database.
//!
//! Conventions: ids are `prefix_` + random base62 ([`new_id`]); timestamps are Unix milliseconds
//! (`i64`); money is integer micro-dollars (`i64`); secrets are never stored ([`hash_key`]).
//! Nothing here is meant for the request path of an admitted request: callers cache keys and
//! batch ledger/log rows.

mod backend;
mod cursor;
mod entities;
mod error;
mod ids;
mod migrations;
mod records;
mod store;

use std::sync::Arc;

pub use entities::{
    KeyFilter, KeyMaterial, KeyPatch, KeyRole, NewKey, NewTeam, Team, TeamPatch, VirtualKey,
};
pub use error::{redact_url, StoreError};
pub use ids::{generate_key, hash_key, new_id, now_ms, KEY_DISPLAY_PREFIX_LEN, KEY_SCHEME_PREFIX};
pub use records::{
    AuditEntry, AuditFilter, GroupBy, LogFilter, LogRow, NewAudit, Page, SpendFilter, SpendGroup,
    SpendRow, SpendScope, MAX_PAGE_LIMIT,
};
pub use store::{Backend, Store, StoreOptions};

/// Opens the store named by `url` with default [`StoreOptions`] and applies pending migrations.
///
/// `sqlite:` URLs (`sqlite://path.db`, `sqlite::memory:`) open SQLite; `postgres:` and
/// `postgresql:` URLs open PostgreSQL. Errors never contain the URL's password.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, &StoreOptions::default()).await
}

/// [`connect`] with explicit pool and timeout settings.
pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .ok_or_else(|| StoreError::InvalidUrl {
            url: redact_url(url),
            reason: "missing scheme (expected sqlite:// or postgres://)".to_owned(),
        })?;
    match scheme.as_str() {
        "sqlite" => backend::sqlite::connect(url, options).await,
        "postgres" | "postgresql" => {
            let (url, schema) = take_schema_param(url);
            let mut options = options.clone();
            if schema.is_some() {
                options.schema = schema;
            }
            backend::postgres::connect(&url, &options).await
        }
        other => Err(StoreError::InvalidUrl {
            url: redact_url(url),
            reason: format!("unsupported scheme `{other}` (expected sqlite:// or postgres://)"),
        }),
    }
}

/// Splits a `switchyard_schema=NAME` query parameter off a PostgreSQL URL: several
/// deployments (or test runs) can share one database, each in its own schema.
fn take_schema_param(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("switchyard_schema=") {
            Some(v) => {
                schema = Some(v.to_owned());
                false
            }
            None => !kv.is_empty(),
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_param_is_split_off() {
        assert_eq!(
            take_schema_param("postgres://u@h/db?switchyard_schema=gw1&sslmode=disable"),
            (
                "postgres://u@h/db?sslmode=disable".to_owned(),
                Some("gw1".to_owned())
            )
        );
        assert_eq!(
            take_schema_param("postgres://u@h/db?switchyard_schema=gw1"),
            ("postgres://u@h/db".to_owned(), Some("gw1".to_owned()))
        );
        assert_eq!(
            take_schema_param("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), None)
        );
    }

    #[tokio::test]
    async fn unknown_scheme_is_rejected_without_leaking_the_password() {
        let err = connect("mysql://root:hunter2@db/x").await.err().unwrap();
        let text = format!("{err} {err:?}");
        assert!(text.contains("unsupported scheme `mysql`"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn url_without_scheme_is_rejected() {
        let err = connect("switchyard.db").await.err().unwrap();
        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
    }
}

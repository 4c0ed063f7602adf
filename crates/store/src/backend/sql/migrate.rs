//! Applies the embedded migrations at start-up: one transaction, under a lock so replicas
//! starting together take turns, recording each version with its checksum.

use super::{begin_write, Pool, DIALECT};
use crate::error::StoreError;
use crate::ids::now_ms;
use crate::migrations::MIGRATIONS;

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS switchyard_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

pub(super) async fn run(pool: &Pool) -> Result<(), StoreError> {
    let failed = |version: i64| {
        move |e: sqlx::Error| StoreError::Migration {
            version,
            message: StoreError::from(e).to_string(),
        }
    };
    let mut tx = begin_write(pool).await.map_err(failed(0))?;
    if let Some(lock) = DIALECT.migration_lock() {
        sqlx::query(lock)
            .execute(&mut *tx)
            .await
            .map_err(failed(0))?;
    }
    sqlx::query(CREATE_HISTORY)
        .execute(&mut *tx)
        .await
        .map_err(failed(0))?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM switchyard_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(failed(0))?;

    for migration in MIGRATIONS {
        let checksum = migration.checksum(DIALECT);
        match applied.iter().find(|(v, _)| *v == migration.version) {
            Some((_, recorded)) if *recorded == checksum => continue,
            Some(_) => {
                return Err(StoreError::Migration {
                    version: migration.version,
                    message: format!(
                    "`{}` was applied with different SQL; released migrations must never be edited",
                    migration.name
                ),
                })
            }
            None => {}
        }
        sqlx::raw_sql(migration.sql(DIALECT))
            .execute(&mut *tx)
            .await
            .map_err(failed(migration.version))?;
        sqlx::query(
            "INSERT INTO switchyard_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(&checksum)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(failed(migration.version))?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied schema migration"
        );
    }

    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newest) = applied.iter().map(|(v, _)| *v).filter(|v| *v > known).max() {
        // A newer replica migrated already (rolling upgrade): keep serving, but say so.
        tracing::warn!(
            database_version = newest,
            binary_version = known,
            "database schema is newer than this binary"
        );
    }
    tx.commit().await.map_err(failed(0))?;
    Ok(())
}

//! The [`Store`] trait every backend implements, and the connection settings.

use async_trait::async_trait;
use std::time::Duration;

use crate::entities::{
    KeyFilter, KeyMaterial, KeyPatch, NewKey, NewTeam, Team, TeamPatch, VirtualKey,
};
use crate::error::StoreError;
use crate::records::{
    AuditEntry, AuditFilter, GroupBy, LogFilter, LogRow, NewAudit, Page, SpendFilter, SpendGroup,
    SpendRow, SpendScope,
};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool and timeout settings. The defaults suit a 2-core box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Pool size; `None` picks 4 for SQLite (one writer at a time anyway) and 8 for PostgreSQL.
    /// An in-memory SQLite database always uses exactly one connection.
    pub max_connections: Option<u32>,
    /// How long a caller waits for a pooled connection before `StoreError::Unavailable`.
    pub acquire_timeout: Duration,
    /// PostgreSQL: server-side `statement_timeout` of every connection.
    pub statement_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock before failing.
    pub busy_timeout: Duration,
    /// PostgreSQL: schema to put first on `search_path` (created if missing); lets several
    /// deployments or test runs share one database. Lowercase letters, digits and `_` only.
    pub schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: None,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(5),
            schema: None,
        }
    }
}

/// Switchyard's persistent state. Held as `Arc<dyn Store>`; every method is one short
/// transaction or statement. `get_*` return `Ok(None)` for a missing row; operations on a
/// missing row (`update_*`, `revoke_key`, ...) return [`StoreError::NotFound`].
#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// A round trip to the database (health checks).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the pool, waiting for checked-out connections to come back.
    async fn close(&self);

    // ---- teams ----
    /// Creates a team; `Conflict` if the name is taken.
    async fn create_team(&self, new: NewTeam) -> Result<Team, StoreError>;
    async fn get_team(&self, id: &str) -> Result<Option<Team>, StoreError>;
    async fn get_team_by_name(&self, name: &str) -> Result<Option<Team>, StoreError>;
    /// All teams, by name.
    async fn list_teams(&self) -> Result<Vec<Team>, StoreError>;
    async fn update_team(&self, id: &str, patch: TeamPatch) -> Result<Team, StoreError>;
    /// Deletes a team; `Conflict` while keys (revoked ones included) still belong to it.
    async fn delete_team(&self, id: &str) -> Result<(), StoreError>;

    // ---- virtual keys ----
    /// Creates a key; `NotFound` for an unknown team, `InvalidInput` for a malformed hash or a
    /// `team_admin` key without a team, `Conflict` if the hash already exists.
    async fn create_key(&self, new: NewKey) -> Result<VirtualKey, StoreError>;
    async fn get_key(&self, id: &str) -> Result<Option<VirtualKey>, StoreError>;
    /// Looks a key up by [`crate::hash_key`] of the presented secret. Revoked and expired keys
    /// are returned too: check [`VirtualKey::is_active`].
    async fn get_key_by_hash(&self, key_hash: &str) -> Result<Option<VirtualKey>, StoreError>;
    /// Keys by creation time, optionally of one team.
    async fn list_keys(&self, filter: &KeyFilter) -> Result<Vec<VirtualKey>, StoreError>;
    async fn update_key(&self, id: &str, patch: KeyPatch) -> Result<VirtualKey, StoreError>;
    /// Marks a key revoked (idempotent: the first revocation time is kept).
    async fn revoke_key(&self, id: &str) -> Result<VirtualKey, StoreError>;
    /// Replaces hash and prefix atomically, keeping id and everything else; the old secret stops
    /// matching at once. `Conflict` for a revoked key.
    async fn rotate_key(&self, id: &str, material: KeyMaterial) -> Result<VirtualKey, StoreError>;

    // ---- spend ledger ----
    /// Inserts a batch in one transaction (multi-row INSERTs). Rows whose `request_id` is
    /// already present are skipped, so re-sending a batch never double-counts. Returns the
    /// number of rows inserted.
    async fn insert_spend(&self, rows: &[SpendRow]) -> Result<u64, StoreError>;
    /// Spend in `[from_ms, to_ms)` grouped by `group_by`, most expensive first (ties by group).
    async fn spend_report(
        &self,
        group_by: GroupBy,
        from_ms: i64,
        to_ms: i64,
        filter: &SpendFilter,
    ) -> Result<Vec<SpendGroup>, StoreError>;
    /// Total micro-dollars spent by `scope` in `[from_ms, to_ms)` (0 if none).
    async fn spend_total(
        &self,
        scope: &SpendScope,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<i64, StoreError>;

    // ---- request log ----
    /// Inserts a batch in one transaction; duplicate `request_id`s are skipped. Returns the
    /// number of rows inserted.
    async fn insert_logs(&self, rows: &[LogRow]) -> Result<u64, StoreError>;
    async fn get_log(&self, request_id: &str) -> Result<Option<LogRow>, StoreError>;
    /// Newest first (`ts`, then `request_id`, descending), at most `limit` rows (clamped to
    /// 1..=1000), continuing after `cursor`. `InvalidInput` for a malformed cursor.
    async fn query_logs(
        &self,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<LogRow>, StoreError>;
    /// Deletes log rows with `ts < older_than_ms`, in small chunks so writers are never blocked
    /// for long. Returns how many were deleted.
    async fn prune_logs(&self, older_than_ms: i64) -> Result<u64, StoreError>;

    // ---- audit log (append-only: there is no update or delete) ----
    async fn append_audit(&self, entry: NewAudit) -> Result<AuditEntry, StoreError>;
    /// Newest first, like [`Store::query_logs`].
    async fn query_audit(
        &self,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>, StoreError>;
}

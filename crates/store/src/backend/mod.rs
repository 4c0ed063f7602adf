//! The two database backends.
//!
//! There is one SQL implementation of [`crate::Store`] (the `sql/` folder). It is compiled twice:
//! `sqlite.rs` and `postgres.rs` each include it as a module with their own `Db` (the sqlx
//! driver type) and `DIALECT` in scope, so both backends run the same Rust code with concrete
//! types — no generic-over-driver trait bounds — and the shared test suite proves they agree.
//! Everything that differs between the dialects is here in [`Dialect`] or in each backend's
//! `connect` (connection options, pool sizing).

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::records::GroupBy;
use crate::store::Backend;

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn backend(self) -> Backend {
        match self {
            Dialect::Sqlite => Backend::Sqlite,
            Dialect::Postgres => Backend::Postgres,
        }
    }

    /// Starts a transaction that will write. SQLite takes the write lock up front so a
    /// read-then-write transaction waits (busy_timeout) instead of failing with SQLITE_BUSY.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Serialises concurrent migrators (replicas starting together) within a transaction.
    /// SQLite needs nothing more than [`Dialect::begin_write`].
    pub(crate) fn migration_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(
                "SELECT pg_advisory_xact_lock(hashtext('switchyard_migrations:' || COALESCE(current_schema(), '')))",
            ),
        }
    }

    /// The `FROM` clause of a spend report over `spend_ledger s`; for tags, one row per tag
    /// (`t`), requests without tags drop out.
    pub(crate) fn spend_source(self, group_by: GroupBy) -> &'static str {
        match (self, group_by) {
            (Dialect::Sqlite, GroupBy::Tag) => "spend_ledger s, json_each(s.tags) t",
            (Dialect::Postgres, GroupBy::Tag) => {
                "spend_ledger s CROSS JOIN LATERAL jsonb_array_elements_text(s.tags) AS t(value)"
            }
            _ => "spend_ledger s",
        }
    }

    /// The grouping expression of a spend report (text in both dialects; UTC buckets).
    pub(crate) fn group_expr(self, group_by: GroupBy) -> &'static str {
        match (self, group_by) {
            (_, GroupBy::Key) => "COALESCE(s.key_id, '')",
            (_, GroupBy::Team) => "COALESCE(s.team_id, '')",
            (_, GroupBy::User) => "COALESCE(s.user_id, '')",
            (_, GroupBy::Model) => "s.model",
            (_, GroupBy::Provider) => "s.provider",
            (_, GroupBy::Tag) => "t.value",
            (Dialect::Sqlite, GroupBy::Day) => "strftime('%Y-%m-%d', s.ts / 1000, 'unixepoch')",
            (Dialect::Sqlite, GroupBy::Hour) => {
                "strftime('%Y-%m-%dT%H:00:00Z', s.ts / 1000, 'unixepoch')"
            }
            (Dialect::Postgres, GroupBy::Day) => {
                "to_char(to_timestamp(s.ts / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            }
            (Dialect::Postgres, GroupBy::Hour) => {
                "to_char(to_timestamp(s.ts / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')"
            }
        }
    }
}

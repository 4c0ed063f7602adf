//! The embedded schema history. Each version has one SQL file per dialect under `migrations/`;
//! versions only ever get appended (a released file is never edited: its checksum is recorded
//! and checked at every start-up).

use sha2::{Digest, Sha256};

use crate::backend::Dialect;

/// One schema version.
#[derive(Debug)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Migration {
    pub(crate) fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }

    /// SHA-256 hex of this version's SQL for `dialect`.
    pub(crate) fn checksum(&self, dialect: Dialect) -> String {
        hex::encode(Sha256::digest(self.sql(dialect).as_bytes()))
    }
}

/// All versions, ascending.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "partial_attribution_indexes",
        sqlite: include_str!("../migrations/sqlite/0002_partial_attribution_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0002_partial_attribution_indexes.sql"),
    },
    Migration {
        version: 3,
        name: "client_request_id",
        sqlite: include_str!("../migrations/sqlite/0003_client_request_id.sql"),
        postgres: include_str!("../migrations/postgres/0003_client_request_id.sql"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_start_at_one_and_increase_by_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            assert!(!m.sql(Dialect::Sqlite).trim().is_empty());
            assert!(!m.sql(Dialect::Postgres).trim().is_empty());
        }
    }

    #[test]
    fn both_dialects_create_the_same_tables_and_indexes() {
        let created = |sql: &str| {
            let mut names: Vec<String> = sql
                .lines()
                .filter_map(|l| {
                    let l = l.trim();
                    l.strip_prefix("CREATE TABLE ")
                        .or_else(|| l.strip_prefix("CREATE INDEX "))
                })
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
                .collect();
            names.sort();
            names
        };
        for m in MIGRATIONS {
            let sqlite = created(m.sql(Dialect::Sqlite));
            assert!(!sqlite.is_empty(), "{}", m.name);
            assert_eq!(sqlite, created(m.sql(Dialect::Postgres)), "{}", m.name);
        }
    }
}

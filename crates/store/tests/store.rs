//! The shared store test suite, run against SQLite (a temporary file, always) and against
//! PostgreSQL when `SWITCHYARD_TEST_POSTGRES_URL` is set (a fresh random schema per test case).
//! Each case is a plain async fn in `suite/`; the macro below stamps it out once per backend.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test cases live in helper fns outside #[test]: a panic there is a failed test"
)]

mod common;
mod suite;

/// `store:` cases take an `Arc<dyn Store>`; `db:` cases take the `TestDb` (they reconnect or
/// reach past the API).
macro_rules! stamp {
    (store: [$($store_case:ident),* $(,)?], db: [$($db_case:ident),* $(,)?]) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $store_case() {
                    crate::common::with_sqlite(|db| async move {
                        crate::suite::$store_case(db.connect().await).await
                    })
                    .await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $db_case() {
                    crate::common::with_sqlite(crate::suite::$db_case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $store_case() {
                    crate::common::with_postgres(|db| async move {
                        crate::suite::$store_case(db.connect().await).await
                    })
                    .await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $db_case() {
                    crate::common::with_postgres(crate::suite::$db_case).await
                }
            )*
        }
    };
}

stamp!(
    store: [
        ping_reports_backend,
        teams_crud,
        team_name_conflicts_and_delete_rules,
        keys_crud,
        key_validation,
        rotate_invalidates_old_hash,
        revoke_is_idempotent_and_hides_key_from_listing,
        spend_report_by_every_group,
        spend_report_filters_and_date_ranges,
        spend_totals_per_scope,
        spend_insert_is_idempotent_and_chunked,
        concurrent_batch_inserts,
        log_roundtrip_and_filters,
        log_pagination_has_no_duplicates_or_gaps,
        log_page_limit_is_clamped,
        prune_logs_deletes_only_old_rows,
        audit_append_and_query,
    ],
    db: [
        migrations_are_idempotent_and_concurrent_safe,
        edited_migration_is_refused,
        audit_log_refuses_update_and_delete,
        attribution_lookups_use_the_partial_indexes,
    ]
);

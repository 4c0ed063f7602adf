//! Migrations: applied once, safe to re-run and to race, and refused when history was edited.

use switchyard_store::{NewTeam, StoreError};

use crate::common::TestDb;

pub async fn migrations_are_idempotent_and_concurrent_safe(db: TestDb) {
    // Two replicas starting at once against an empty database.
    let (a, b) = tokio::join!(db.connect(), db.connect());
    let team = a
        .create_team(NewTeam {
            name: "persisted".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap();
    assert_eq!(b.get_team(&team.id).await.unwrap().unwrap(), team);
    a.close().await;
    b.close().await;

    // A restart re-runs the migrator: nothing is re-applied, data survives.
    let c = db.connect().await;
    assert_eq!(
        c.get_team_by_name("persisted").await.unwrap().unwrap(),
        team
    );
    c.close().await;
    assert_eq!(
        db.raw_execute("UPDATE switchyard_migrations SET name = name")
            .await
            .unwrap(),
        3,
        "every version recorded once"
    );
}

/// The attribution indexes (and the client request id's) are partial (rows without the
/// attribute are not indexed), and the lookups the store makes still use them.
pub async fn attribution_lookups_use_the_partial_indexes(db: TestDb) {
    db.connect().await.close().await;
    for (query, index) in [
        ("SELECT SUM(cost_micros) FROM spend_ledger WHERE key_id = 'k' AND ts >= 0 AND ts < 9", "spend_ledger_key"),
        ("SELECT SUM(cost_micros) FROM spend_ledger WHERE team_id = 't' AND ts >= 0 AND ts < 9", "spend_ledger_team"),
        ("SELECT SUM(cost_micros) FROM spend_ledger WHERE user_id = 'u' AND ts >= 0 AND ts < 9", "spend_ledger_user"),
        ("SELECT SUM(cost_micros) FROM spend_ledger WHERE end_user = 'e' AND ts >= 0 AND ts < 9", "spend_ledger_end_user"),
        ("SELECT request_id FROM request_log WHERE key_id = 'k' ORDER BY ts DESC, request_id DESC LIMIT 5", "request_log_key"),
        ("SELECT request_id FROM request_log WHERE team_id = 't' ORDER BY ts DESC, request_id DESC LIMIT 5", "request_log_team"),
        ("SELECT request_id FROM request_log WHERE client_request_id = 'c' ORDER BY ts DESC, request_id DESC LIMIT 5", "request_log_client_request_id"),
    ] {
        let plan = db.plan(query).await.unwrap();
        assert!(plan.contains(index), "{query}\n{plan}");
    }
}

pub async fn edited_migration_is_refused(db: TestDb) {
    db.connect().await.close().await;
    db.raw_execute("UPDATE switchyard_migrations SET checksum = 'edited' WHERE version = 1")
        .await
        .unwrap();
    let err = switchyard_store::connect_with(&db.url, &db.options)
        .await
        .err()
        .expect("an edited migration must be refused");
    assert!(
        matches!(&err, StoreError::Migration { version: 1, message } if message.contains("never be edited")),
        "{err:?}"
    );
}

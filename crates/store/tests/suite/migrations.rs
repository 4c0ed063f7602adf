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
        1,
        "one recorded version"
    );
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

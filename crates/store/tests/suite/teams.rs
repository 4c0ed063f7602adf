//! Teams: every operation, the unique name, and the delete rules.

use serde_json::json;
use std::sync::Arc;
use switchyard_store::{
    generate_key, Backend, KeyMaterial, NewKey, NewTeam, Store, StoreError, TeamPatch,
};

pub async fn ping_reports_backend(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    assert!(matches!(
        store.backend(),
        Backend::Sqlite | Backend::Postgres
    ));
    store.close().await;
}

fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().cloned().unwrap()
}

pub async fn teams_crud(store: Arc<dyn Store>) {
    let created = store
        .create_team(NewTeam {
            name: "search".into(),
            limits: Some(json!({"rpm": 600, "tpm": 100000})),
            budget: Some(json!({"max_usd": 250.0, "period": "monthly"})),
            metadata: object(json!({"cost_center": "cc-17"})),
        })
        .await
        .unwrap();
    assert!(created.id.starts_with("team_"), "{}", created.id);
    assert_eq!(created.created_at, created.updated_at);
    assert!(created.created_at > 0);

    let by_id = store.get_team(&created.id).await.unwrap().unwrap();
    assert_eq!(by_id, created);
    let by_name = store.get_team_by_name("search").await.unwrap().unwrap();
    assert_eq!(by_name, created);
    assert_eq!(store.get_team("team_missing").await.unwrap(), None);
    assert_eq!(store.get_team_by_name("nope").await.unwrap(), None);

    let other = store
        .create_team(NewTeam {
            name: "analytics".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap();
    assert_eq!(other.limits, None);
    assert!(other.metadata.is_empty());
    let names: Vec<String> = store
        .list_teams()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["analytics", "search"]);

    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let updated = store
        .update_team(
            &created.id,
            TeamPatch {
                name: Some("search-platform".into()),
                limits: Some(None),
                ..TeamPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "search-platform");
    assert_eq!(updated.limits, None, "Some(None) clears");
    assert_eq!(updated.budget, created.budget, "None leaves unchanged");
    assert_eq!(updated.metadata, created.metadata);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at > created.updated_at);
    assert_eq!(store.get_team(&created.id).await.unwrap().unwrap(), updated);

    let updated = store
        .update_team(
            &created.id,
            TeamPatch {
                budget: Some(Some(json!({"max_usd": 10}))),
                metadata: Some(object(json!({"owner": "ana"}))),
                ..TeamPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.budget, Some(json!({"max_usd": 10})));
    assert_eq!(updated.metadata, object(json!({"owner": "ana"})));
    assert_eq!(updated.name, "search-platform");

    let err = store
        .update_team("team_missing", TeamPatch::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { entity: "team", .. }),
        "{err:?}"
    );

    store.delete_team(&other.id).await.unwrap();
    assert_eq!(store.get_team(&other.id).await.unwrap(), None);
    let err = store.delete_team(&other.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn team_name_conflicts_and_delete_rules(store: Arc<dyn Store>) {
    let a = store
        .create_team(NewTeam {
            name: "alpha".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap();
    let b = store
        .create_team(NewTeam {
            name: "beta".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap();

    let err = store
        .create_team(NewTeam {
            name: "alpha".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("`alpha`")),
        "{err:?}"
    );
    let err = store
        .update_team(
            &b.id,
            TeamPatch {
                name: Some("alpha".into()),
                ..TeamPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .create_team(NewTeam {
            name: "  ".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");

    // A team with keys (even revoked ones) cannot be deleted; once they move, it can.
    let mut new = NewKey::new(KeyMaterial::from_secret(&generate_key()));
    new.team_id = Some(a.id.clone());
    let key = store.create_key(new).await.unwrap();
    store.revoke_key(&key.id).await.unwrap();
    let err = store.delete_team(&a.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.get_team(&a.id).await.unwrap().is_some());
    store
        .update_key(
            &key.id,
            switchyard_store::KeyPatch {
                team_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store.delete_team(&a.id).await.unwrap();
    assert_eq!(store.list_teams().await.unwrap().len(), 1);
}

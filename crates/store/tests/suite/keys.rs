//! Virtual keys: every operation, validation, rotation and revocation.

use serde_json::json;
use std::sync::Arc;
use switchyard_store::{
    generate_key, hash_key, now_ms, KeyFilter, KeyMaterial, KeyPatch, KeyRole, NewKey, NewTeam,
    Store, StoreError, Team, VirtualKey,
};

async fn team(store: &Arc<dyn Store>, name: &str) -> Team {
    store
        .create_team(NewTeam {
            name: name.into(),
            ..NewTeam::default()
        })
        .await
        .unwrap()
}

async fn key_in(store: &Arc<dyn Store>, team_id: Option<&str>) -> (String, VirtualKey) {
    let secret = generate_key();
    let mut new = NewKey::new(KeyMaterial::from_secret(&secret));
    new.team_id = team_id.map(str::to_owned);
    (secret, store.create_key(new).await.unwrap())
}

pub async fn keys_crud(store: Arc<dyn Store>) {
    let ml = team(&store, "ml").await;
    let web = team(&store, "web").await;
    let secret = generate_key();
    let mut new = NewKey::new(KeyMaterial::from_secret(&secret));
    new.name = Some("ci".into());
    new.team_id = Some(ml.id.clone());
    new.user = Some("alice@example.com".into());
    new.models = vec!["gpt-4o".into(), "claude-*".into()];
    new.expires_at = Some(now_ms() + 86_400_000);
    new.limits = Some(json!({"rpm": 60, "max_parallel": 4}));
    new.budget = Some(json!({"max_usd": 5, "period": "daily", "soft_usd": 4}));
    new.metadata = json!({"env": "ci"}).as_object().cloned().unwrap();
    new.role = KeyRole::TeamAdmin;
    new.capture_payloads = true;
    let key = store.create_key(new.clone()).await.unwrap();

    assert!(key.id.starts_with("key_"));
    assert_eq!(key.key_hash, hash_key(&secret));
    assert_eq!(key.key_prefix, &secret[..8]);
    assert!(key.key_prefix.starts_with("sk-sy-"));
    assert_eq!(key.name.as_deref(), Some("ci"));
    assert_eq!(key.team_id.as_deref(), Some(ml.id.as_str()));
    assert_eq!(key.user.as_deref(), Some("alice@example.com"));
    assert_eq!(key.models, ["gpt-4o", "claude-*"]);
    assert_eq!(key.expires_at, new.expires_at);
    assert_eq!(key.limits, new.limits);
    assert_eq!(key.budget, new.budget);
    assert_eq!(key.metadata, new.metadata);
    assert_eq!(key.role, KeyRole::TeamAdmin);
    assert!(key.capture_payloads);
    assert_eq!(key.revoked_at, None);
    assert!(key.is_active(now_ms()));

    assert_eq!(store.get_key(&key.id).await.unwrap().unwrap(), key);
    assert_eq!(
        store
            .get_key_by_hash(&hash_key(&secret))
            .await
            .unwrap()
            .unwrap(),
        key
    );
    assert_eq!(
        store
            .get_key_by_hash(&hash_key("sk-sy-other"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get_key("key_missing").await.unwrap(), None);

    let (_, plain) = key_in(&store, None).await;
    assert_eq!(plain.role, KeyRole::User);
    assert!(plain.models.is_empty() && plain.metadata.is_empty());
    assert!(!plain.capture_payloads);
    let (_, web_key) = key_in(&store, Some(&web.id)).await;

    let ids = |keys: Vec<VirtualKey>| keys.into_iter().map(|k| k.id).collect::<Vec<_>>();
    let listed = store.list_keys(&KeyFilter::default()).await.unwrap();
    let order: Vec<(i64, &str)> = listed
        .iter()
        .map(|k| (k.created_at, k.id.as_str()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "by creation time, then id");
    let mut all = ids(listed.clone());
    all.sort();
    let mut want = vec![key.id.clone(), plain.id.clone(), web_key.id.clone()];
    want.sort();
    assert_eq!(all, want);
    let of_web = KeyFilter {
        team_id: Some(web.id.clone()),
        include_revoked: false,
    };
    assert_eq!(
        ids(store.list_keys(&of_web).await.unwrap()),
        [web_key.id.as_str()]
    );

    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let updated = store
        .update_key(
            &key.id,
            KeyPatch {
                name: Some(None),
                team_id: Some(Some(web.id.clone())),
                models: Some(vec!["*".into()]),
                expires_at: Some(None),
                budget: Some(None),
                role: Some(KeyRole::ReadOnly),
                capture_payloads: Some(false),
                ..KeyPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, None);
    assert_eq!(updated.team_id.as_deref(), Some(web.id.as_str()));
    assert_eq!(updated.models, ["*"]);
    assert_eq!(updated.expires_at, None);
    assert_eq!(updated.budget, None);
    assert_eq!(updated.limits, key.limits, "untouched");
    assert_eq!(updated.user, key.user, "untouched");
    assert_eq!(updated.metadata, key.metadata, "untouched");
    assert_eq!(
        updated.key_hash, key.key_hash,
        "update never touches the secret"
    );
    assert_eq!(updated.role, KeyRole::ReadOnly);
    assert!(!updated.capture_payloads);
    assert_eq!(updated.created_at, key.created_at);
    assert!(updated.updated_at > key.updated_at);
    assert_eq!(store.get_key(&key.id).await.unwrap().unwrap(), updated);
    assert_eq!(store.list_keys(&of_web).await.unwrap().len(), 2);

    let err = store
        .update_key("key_missing", KeyPatch::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { entity: "key", .. }),
        "{err:?}"
    );
}

pub async fn key_validation(store: Arc<dyn Store>) {
    let t = team(&store, "t").await;

    let mut raw_secret = NewKey::new(KeyMaterial::from_secret("sk-sy-x"));
    raw_secret.material.hash = generate_key();
    let err = store.create_key(raw_secret).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");

    let mut long_prefix = NewKey::new(KeyMaterial::from_secret("sk-sy-x"));
    long_prefix.material.prefix = generate_key();
    let err = store.create_key(long_prefix).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");

    let mut admin_without_team = NewKey::new(KeyMaterial::from_secret(&generate_key()));
    admin_without_team.role = KeyRole::TeamAdmin;
    let err = store.create_key(admin_without_team).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");

    let mut unknown_team = NewKey::new(KeyMaterial::from_secret(&generate_key()));
    unknown_team.team_id = Some("team_nope".into());
    let err = store.create_key(unknown_team).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { entity: "team", id } if id == "team_nope"),
        "{err:?}"
    );

    let secret = generate_key();
    let (_, existing) = key_in(&store, Some(&t.id)).await;
    let first = store
        .create_key(NewKey::new(KeyMaterial::from_secret(&secret)))
        .await
        .unwrap();
    let err = store
        .create_key(NewKey::new(KeyMaterial::from_secret(&secret)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // The database enforces the team_admin rule on updates too.
    let err = store
        .update_key(
            &first.id,
            KeyPatch {
                role: Some(KeyRole::TeamAdmin),
                ..KeyPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    let err = store
        .update_key(
            &existing.id,
            KeyPatch {
                team_id: Some(Some("team_nope".into())),
                ..KeyPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { entity: "team", .. }),
        "{err:?}"
    );
    // Nothing above changed the stored keys.
    assert_eq!(store.get_key(&first.id).await.unwrap().unwrap(), first);
    assert_eq!(
        store.get_key(&existing.id).await.unwrap().unwrap(),
        existing
    );
}

pub async fn rotate_invalidates_old_hash(store: Arc<dyn Store>) {
    let t = team(&store, "rot").await;
    let (old_secret, key) = key_in(&store, Some(&t.id)).await;
    let new_secret = generate_key();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let rotated = store
        .rotate_key(&key.id, KeyMaterial::from_secret(&new_secret))
        .await
        .unwrap();

    assert_eq!(
        store.get_key_by_hash(&hash_key(&old_secret)).await.unwrap(),
        None
    );
    let found = store
        .get_key_by_hash(&hash_key(&new_secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, rotated);
    assert_eq!(rotated.id, key.id);
    assert_eq!(rotated.key_prefix, &new_secret[..8]);
    assert!(rotated.updated_at > key.updated_at);
    // Everything but hash, prefix and updated_at is kept.
    let normalized = VirtualKey {
        key_hash: key.key_hash.clone(),
        key_prefix: key.key_prefix.clone(),
        updated_at: key.updated_at,
        ..rotated.clone()
    };
    assert_eq!(normalized, key);

    let err = store
        .rotate_key("key_missing", KeyMaterial::from_secret(&generate_key()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let bad = KeyMaterial {
        hash: "not-a-hash".into(),
        prefix: "sk-sy-ab".into(),
    };
    let err = store.rotate_key(&key.id, bad).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");

    store.revoke_key(&key.id).await.unwrap();
    let err = store
        .rotate_key(&key.id, KeyMaterial::from_secret(&generate_key()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let still = store.get_key(&key.id).await.unwrap().unwrap();
    assert_eq!(still.key_hash, hash_key(&new_secret));
}

pub async fn revoke_is_idempotent_and_hides_key_from_listing(store: Arc<dyn Store>) {
    let t = team(&store, "rev").await;
    let (secret, key) = key_in(&store, Some(&t.id)).await;
    let (_, kept) = key_in(&store, Some(&t.id)).await;

    let revoked = store.revoke_key(&key.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked_at set");
    assert!(at >= key.created_at);
    assert!(!revoked.is_active(now_ms()));
    assert_eq!(revoked.updated_at, at);

    // Still found by hash (so the caller can say "revoked"), but not active.
    let by_hash = store
        .get_key_by_hash(&hash_key(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hash.revoked_at, Some(at));

    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let again = store.revoke_key(&key.id).await.unwrap();
    assert_eq!(again.revoked_at, Some(at), "first revocation time is kept");
    assert_eq!(again, revoked);

    let active = store
        .list_keys(&KeyFilter {
            team_id: Some(t.id.clone()),
            include_revoked: false,
        })
        .await
        .unwrap();
    assert_eq!(active.iter().map(|k| &k.id).collect::<Vec<_>>(), [&kept.id]);
    let all = store
        .list_keys(&KeyFilter {
            team_id: Some(t.id.clone()),
            include_revoked: true,
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    let err = store.revoke_key("key_missing").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

//! The audit log: append, filters, pagination; append-only even past the API.

use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use switchyard_store::{AuditFilter, NewAudit, Store, StoreError};

use crate::common::TestDb;

fn entry(actor: &str, action: &str, target_id: &str) -> NewAudit {
    NewAudit {
        actor: actor.into(),
        action: action.into(),
        target_type: action.split('.').next().unwrap().into(),
        target_id: target_id.into(),
        before: None,
        after: None,
    }
}

pub async fn audit_append_and_query(store: Arc<dyn Store>) {
    let created = store
        .append_audit(NewAudit {
            after: Some(json!({"id": "key_1", "key_prefix": "sk-sy-ab", "models": ["gpt-4o"]})),
            ..entry("master", "key.create", "key_1")
        })
        .await
        .unwrap();
    assert!(created.id.starts_with("aud_"));
    assert!(created.ts > 0);
    assert_eq!(created.before, None);

    let updated = store
        .append_audit(NewAudit {
            before: Some(json!({"models": ["gpt-4o"]})),
            after: Some(json!({"models": ["*"]})),
            ..entry("key_admin", "key.update", "key_1")
        })
        .await
        .unwrap();
    for i in 0..25 {
        store
            .append_audit(entry("master", "team.create", &format!("team_{i}")))
            .await
            .unwrap();
    }

    let all = store
        .query_audit(&AuditFilter::default(), None, 1000)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 27);
    assert_eq!(all.next_cursor, None);
    let order: Vec<(i64, &str)> = all.items.iter().map(|e| (e.ts, e.id.as_str())).collect();
    let mut sorted = order.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(order, sorted, "newest first");

    let of_key = AuditFilter {
        target_type: Some("key".into()),
        target_id: Some("key_1".into()),
        ..AuditFilter::default()
    };
    let history = store.query_audit(&of_key, None, 100).await.unwrap().items;
    let mut history_ids: Vec<&str> = history.iter().map(|e| e.id.as_str()).collect();
    history_ids.sort();
    let mut want = vec![created.id.as_str(), updated.id.as_str()];
    want.sort();
    assert_eq!(history_ids, want);
    let stored_update = history.iter().find(|e| e.id == updated.id).unwrap();
    assert_eq!(stored_update, &updated, "before/after JSON round-trips");

    let by_actor = AuditFilter {
        actor: Some("key_admin".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        store.query_audit(&by_actor, None, 100).await.unwrap().items,
        std::slice::from_ref(&updated)
    );
    let by_action = AuditFilter {
        action: Some("team.create".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        store
            .query_audit(&by_action, None, 100)
            .await
            .unwrap()
            .items
            .len(),
        25
    );
    let future = AuditFilter {
        from_ms: Some(all.items[0].ts + 1),
        ..AuditFilter::default()
    };
    assert!(store
        .query_audit(&future, None, 100)
        .await
        .unwrap()
        .items
        .is_empty());
    let past = AuditFilter {
        to_ms: Some(created.ts),
        ..AuditFilter::default()
    };
    assert!(store
        .query_audit(&past, None, 100)
        .await
        .unwrap()
        .items
        .is_empty());

    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .query_audit(&AuditFilter::default(), cursor.as_deref(), 4)
            .await
            .unwrap();
        for e in &page.items {
            assert!(seen.insert(e.id.clone()), "duplicate {}", e.id);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 27);

    // A log cursor is not an audit cursor.
    let logs_page = store
        .query_logs(&Default::default(), None, 1)
        .await
        .unwrap();
    assert_eq!(logs_page.next_cursor, None);
    let audit_page = store
        .query_audit(&AuditFilter::default(), None, 1)
        .await
        .unwrap();
    let audit_cursor = audit_page.next_cursor.unwrap();
    let err = store
        .query_logs(&Default::default(), Some(&audit_cursor), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
}

pub async fn audit_log_refuses_update_and_delete(db: TestDb) {
    let store = db.connect().await;
    let e = store
        .append_audit(entry("master", "key.revoke", "key_9"))
        .await
        .unwrap();
    let update = db
        .raw_execute("UPDATE audit_log SET actor = 'someone-else'")
        .await;
    assert!(update.is_err(), "{update:?}");
    let delete = db.raw_execute("DELETE FROM audit_log").await;
    assert!(delete.is_err(), "{delete:?}");
    let all = store
        .query_audit(&AuditFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(all.items, [e]);
}

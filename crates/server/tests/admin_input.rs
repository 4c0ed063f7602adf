//! Bad input to the admin API: clear OpenAI-shaped 400s naming the field, 404 for unknown ids,
//! 409 for conflicts, never a 500 for the client's mistake. And the one deliberate 500: an
//! audit entry that cannot be written fails the request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod admin_common;
mod common;

use std::sync::Arc;

use admin_common::{expect_error, Admin, MASTER};
use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchyard_store::{
    AuditEntry, AuditFilter, Backend, GroupBy, KeyFilter, KeyMaterial, KeyPatch, LogFilter, LogRow,
    NewAudit, NewKey, NewTeam, Page, SpendFilter, SpendGroup, SpendRow, SpendScope, Store,
    StoreError, Team, TeamPatch, VirtualKey,
};

#[tokio::test]
async fn bad_key_bodies_name_the_field() {
    let a = Admin::start().await;
    let team = a.team("t").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"budget": {"max_usd": 10, "period": "yearly"}}),
            "budget.period: unknown variant `yearly`",
        ),
        (
            json!({"budget": {"max_usd": 10}}),
            "budget: missing field `period`",
        ),
        (
            json!({"budget": {"max_usd": -1, "period": "daily"}}),
            "budget.max_usd: must be a non-negative",
        ),
        (
            json!({"budget": {"max_usd": 10, "period": "daily", "soft_usd": 11}}),
            "budget.soft_usd: must not exceed max_usd",
        ),
        (
            json!({"budget": {"max_usd": 10, "period": "daily", "timezone": "Nowhere/City"}}),
            "budget.timezone",
        ),
        (
            json!({"budget": {"max_usd": 10, "period": {"rolling": {"hours": 0}}}}),
            "budget.period.rolling.hours",
        ),
        (
            json!({"budget": {"max_usd": "ten", "period": "daily"}}),
            "budget.max_usd: invalid type",
        ),
        (
            json!({"budget": {"max_usd": 1, "period": "daily", "hard": true}}),
            "unknown field `hard`",
        ),
        (json!({"limits": {"rpm": -5}}), "limits.rpm: invalid value"),
        (json!({"limits": {"rps": 5}}), "unknown field `rps`"),
        (json!({"models": "gpt-4o"}), "models: invalid type"),
        (
            json!({"models": ["gpt-4o", ""]}),
            "models[1]: must not be empty",
        ),
        (json!({"role": "admin"}), "role: unknown variant `admin`"),
        (
            json!({"role": "team_admin"}),
            "role: a team_admin key needs a team_id",
        ),
        (
            json!({"expires_at": "next week"}),
            "expires_at: `next week` is not an RFC 3339",
        ),
        (
            json!({"expires_at": 1_000_000_000}),
            "expires_at: must be in the future",
        ),
        (
            json!({"expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at: must be in the future",
        ),
        (
            json!({"team_id": "team_missing"}),
            "team_id: team `team_missing` does not exist",
        ),
        (json!({"name": ""}), "name: must not be empty"),
        (json!({"name": 5}), "name: invalid type"),
        (json!({"metadata": [1]}), "metadata: invalid type"),
        (
            json!({"capture_payloads": "yes"}),
            "capture_payloads: invalid type",
        ),
        (json!({"key": "sk-sy-chosen-by-me"}), "unknown field `key`"),
    ];
    for (body, needle) in cases {
        let r = a.post("/admin/keys", MASTER, body.clone()).await;
        let msg = expect_error(&r, 400);
        assert!(msg.contains(needle), "{body}: {msg}");
        assert_eq!(r.error_type(), "invalid_request_error");
    }
    let (id, _) = a.key(json!({"team_id": team})).await;
    for (body, needle) in [
        (
            json!({"budget": {"max_usd": 1, "period": "hourly"}}),
            "budget.period: unknown variant",
        ),
        (
            json!({"team_id": "team_missing"}),
            "team_id: team `team_missing` does not exist",
        ),
        (
            json!({"role": "team_admin", "team_id": null}),
            "role: a team_admin key needs a team_id",
        ),
        (json!({"models": null}), "models: must not be null"),
        (json!({"metadata": null}), "metadata: must not be null"),
        (json!({"role": null}), "role: must not be null"),
        (json!({"expires_at": [1]}), "expires_at: expected"),
        (json!({"id": "key_other"}), "unknown field `id`"),
    ] {
        let r = a
            .patch(&format!("/admin/keys/{id}"), MASTER, body.clone())
            .await;
        let msg = expect_error(&r, 400);
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    // Nothing above created a key beyond the one.
    assert_eq!(
        a.get("/admin/keys", MASTER).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(a.audit("action=key.create").await.len() == 1);
}

#[tokio::test]
async fn bad_team_bodies_and_raw_payloads() {
    let a = Admin::start().await;
    for (body, needle) in [
        (json!({}), "missing field `name`"),
        (json!({"name": "   "}), "name: must not be empty"),
        (
            json!({"name": "x", "budget": {"max_usd": 1, "period": "yearly"}}),
            "budget.period",
        ),
        (
            json!({"name": "x", "limits": {"tpm": 1.5}}),
            "limits.tpm: invalid type",
        ),
        (json!({"name": "x", "owner": "me"}), "unknown field `owner`"),
        (json!("just a string"), "invalid JSON body"),
    ] {
        let r = a.post("/admin/teams", MASTER, body.clone()).await;
        let msg = expect_error(&r, 400);
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    // Not JSON at all, an empty body, and a huge one.
    let url = common::url(&a.g, "/admin/teams");
    for raw in ["{\"name\": ", "", "name=x"] {
        let r = a
            .http
            .post(&url)
            .bearer_auth(MASTER)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{raw:?}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"]["message"].is_string());
    }
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = a
        .http
        .post(&url)
        .bearer_auth(MASTER)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = a.get("/admin/teams?limit=5", MASTER).await;
    expect_error(&r, 400);
    assert_eq!(a.get("/admin/teams", MASTER).await.json["data"], json!([]));
    assert!(
        a.audit("").await.is_empty(),
        "failed requests leave no audit entry"
    );
}

#[tokio::test]
async fn unknown_ids_are_404_and_never_500() {
    let a = Admin::start().await;
    for (method, path) in [
        (Method::GET, "/admin/teams/team_nope"),
        (Method::PATCH, "/admin/teams/team_nope"),
        (Method::DELETE, "/admin/teams/team_nope"),
        (Method::GET, "/admin/keys/key_nope"),
        (Method::PATCH, "/admin/keys/key_nope"),
        (Method::DELETE, "/admin/keys/key_nope"),
        (Method::POST, "/admin/keys/key_nope/rotate"),
        (Method::GET, "/admin/logs/req_nope"),
        (Method::GET, "/admin/keys/%E2%9C%93%20odd"),
    ] {
        let r = a
            .call(method.clone(), path, Some(MASTER), Some(json!({})))
            .await;
        let msg = expect_error(&r, 404);
        assert!(msg.contains("not found"), "{method} {path}: {msg}");
    }
}

/// A store that works except that audit entries cannot be written.
struct NoAudit(Arc<dyn Store>);

#[async_trait]
impl Store for NoAudit {
    fn backend(&self) -> Backend {
        self.0.backend()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
    async fn close(&self) {
        self.0.close().await
    }
    async fn create_team(&self, new: NewTeam) -> Result<Team, StoreError> {
        self.0.create_team(new).await
    }
    async fn get_team(&self, id: &str) -> Result<Option<Team>, StoreError> {
        self.0.get_team(id).await
    }
    async fn get_team_by_name(&self, name: &str) -> Result<Option<Team>, StoreError> {
        self.0.get_team_by_name(name).await
    }
    async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        self.0.list_teams().await
    }
    async fn update_team(&self, id: &str, patch: TeamPatch) -> Result<Team, StoreError> {
        self.0.update_team(id, patch).await
    }
    async fn delete_team(&self, id: &str) -> Result<(), StoreError> {
        self.0.delete_team(id).await
    }
    async fn create_key(&self, new: NewKey) -> Result<VirtualKey, StoreError> {
        self.0.create_key(new).await
    }
    async fn get_key(&self, id: &str) -> Result<Option<VirtualKey>, StoreError> {
        self.0.get_key(id).await
    }
    async fn get_key_by_hash(&self, hash: &str) -> Result<Option<VirtualKey>, StoreError> {
        self.0.get_key_by_hash(hash).await
    }
    async fn list_keys(&self, filter: &KeyFilter) -> Result<Vec<VirtualKey>, StoreError> {
        self.0.list_keys(filter).await
    }
    async fn update_key(&self, id: &str, patch: KeyPatch) -> Result<VirtualKey, StoreError> {
        self.0.update_key(id, patch).await
    }
    async fn revoke_key(&self, id: &str) -> Result<VirtualKey, StoreError> {
        self.0.revoke_key(id).await
    }
    async fn rotate_key(&self, id: &str, m: KeyMaterial) -> Result<VirtualKey, StoreError> {
        self.0.rotate_key(id, m).await
    }
    async fn insert_spend(&self, rows: &[SpendRow]) -> Result<u64, StoreError> {
        self.0.insert_spend(rows).await
    }
    async fn spend_report(
        &self,
        group_by: GroupBy,
        from_ms: i64,
        to_ms: i64,
        filter: &SpendFilter,
    ) -> Result<Vec<SpendGroup>, StoreError> {
        self.0.spend_report(group_by, from_ms, to_ms, filter).await
    }
    async fn spend_total(&self, s: &SpendScope, from: i64, to: i64) -> Result<i64, StoreError> {
        self.0.spend_total(s, from, to).await
    }
    async fn insert_logs(&self, rows: &[LogRow]) -> Result<u64, StoreError> {
        self.0.insert_logs(rows).await
    }
    async fn get_log(&self, request_id: &str) -> Result<Option<LogRow>, StoreError> {
        self.0.get_log(request_id).await
    }
    async fn query_logs(
        &self,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<LogRow>, StoreError> {
        self.0.query_logs(filter, cursor, limit).await
    }
    async fn prune_logs(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        self.0.prune_logs(older_than_ms).await
    }
    async fn append_audit(&self, _entry: NewAudit) -> Result<AuditEntry, StoreError> {
        Err(StoreError::Unavailable("disk full".into()))
    }
    async fn query_audit(
        &self,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.0.query_audit(filter, cursor, limit).await
    }
}

#[tokio::test]
async fn a_change_that_cannot_be_audited_fails_the_request() {
    let mut config = switchyard_config::load_str(&admin_common::config(""), &|_| None).unwrap();
    config.database = "sqlite::memory:".into();
    let inner = switchyard_store::connect(&config.database).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(NoAudit(inner.clone()));
    let state = Arc::new(
        switchyard_server::AppState::build(&config, store)
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, switchyard_server::router(state))
            .await
            .unwrap();
    });
    let http = common::client();
    let r = http
        .post(format!("http://{addr}/admin/keys"))
        .bearer_auth(MASTER)
        .json(&json!({"name": "unaudited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "audit_failed");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("key.create") && msg.contains("audit"), "{msg}");
    assert!(
        !body.to_string().contains("sk-sy-"),
        "no secret in the failure: {body}"
    );
    // Reads do not audit and keep working. As documented, the change itself stays applied
    // (the store has no transaction spanning it and its audit entry): the 500 tells the
    // operator to review it.
    let r = http
        .get(format!("http://{addr}/admin/keys"))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let listed: Value = r.json().await.unwrap();
    assert_eq!(listed["data"][0]["name"], "unaudited");
    assert!(inner
        .query_audit(&AuditFilter::default(), None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
}

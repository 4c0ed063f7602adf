//! Admin API through the real server: team and key CRUD, the secret shown once and usable as an
//! API key, rotation and revocation, and the audit trail of every change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod admin_common;
mod common;

use admin_common::{expect_error, Admin, MASTER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchyard_store::hash_key;

#[tokio::test]
async fn teams_crud() {
    let a = Admin::start().await;
    let r = a
        .post(
            "/admin/teams",
            MASTER,
            json!({
                "name": "  search  ",
                "limits": {"rpm": 600, "tpm": 100000},
                "budget": {"max_usd": 250.5, "period": "monthly", "soft_usd": 200},
                "metadata": {"cost_center": "cc-42"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"));
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("team_"), "{id}");
    assert_eq!(r.json["name"], "search");
    assert_eq!(r.json["limits"], json!({"rpm": 600, "tpm": 100000}));
    assert_eq!(
        r.json["budget"],
        json!({"max_usd": 250.5, "period": "monthly", "soft_usd": 200.0})
    );
    assert_eq!(r.json["metadata"]["cost_center"], "cc-42");
    assert!(r.json["created_at"].as_str().unwrap().ends_with('Z'));

    let other = a.team("billing").await;
    let list = a.get("/admin/teams", MASTER).await;
    let names: Vec<&str> = list.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["billing", "search"]);

    let got = a.get(&format!("/admin/teams/{id}"), MASTER).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json["name"], "search");

    let patched = a
        .patch(
            &format!("/admin/teams/{id}"),
            MASTER,
            json!({"name": "search-eu", "budget": null, "limits": {"max_parallel": 4}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json["name"], "search-eu");
    assert_eq!(patched.json["budget"], Value::Null);
    assert_eq!(patched.json["limits"], json!({"max_parallel": 4}));
    assert_eq!(
        patched.json["metadata"]["cost_center"], "cc-42",
        "untouched"
    );

    // Duplicate names are 409, on create and on rename.
    let dup = a
        .post("/admin/teams", MASTER, json!({"name": "billing"}))
        .await;
    assert!(expect_error(&dup, 409).contains("billing"));
    let dup = a
        .patch(
            &format!("/admin/teams/{id}"),
            MASTER,
            json!({"name": "billing"}),
        )
        .await;
    expect_error(&dup, 409);

    // A team with keys cannot be deleted; an empty one can, once.
    let (key_id, _) = a.key(json!({"team_id": other})).await;
    let refused = a.delete(&format!("/admin/teams/{other}"), MASTER).await;
    expect_error(&refused, 409);
    a.patch(
        &format!("/admin/keys/{key_id}"),
        MASTER,
        json!({"team_id": null}),
    )
    .await;
    let deleted = a.delete(&format!("/admin/teams/{other}"), MASTER).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.json, json!({"id": other, "deleted": true}));
    expect_error(&a.get(&format!("/admin/teams/{other}"), MASTER).await, 404);
    expect_error(
        &a.delete(&format!("/admin/teams/{other}"), MASTER).await,
        404,
    );
    expect_error(
        &a.patch(&format!("/admin/teams/{other}"), MASTER, json!({}))
            .await,
        404,
    );
}

#[tokio::test]
async fn keys_crud_and_the_secret_is_shown_once() {
    let a = Admin::start().await;
    let team = a.team("ml").await;
    let r = a
        .post(
            "/admin/keys",
            MASTER,
            json!({
                "name": "ci",
                "team_id": team,
                "user": "alice@example.com",
                "models": ["gpt-4o", "claude-*"],
                "expires_at": 4102444800u64,
                "limits": {"rpm": 60, "tpm": 10000, "max_parallel": 2},
                "budget": {"max_usd": 10, "period": "monthly", "soft_usd": 8},
                "metadata": {"env": "ci"},
                "capture_payloads": true
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["status"], "active");
    let secret = r.json["key"].as_str().unwrap().to_owned();
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("sk-sy-") && secret.len() == 46,
        "{secret}"
    );
    assert!(id.starts_with("key_"));
    assert_eq!(r.json["key_prefix"], secret[..8]);
    assert_eq!(r.json["team_id"], team.as_str());
    assert_eq!(r.json["user"], "alice@example.com");
    assert_eq!(r.json["models"], json!(["gpt-4o", "claude-*"]));
    assert_eq!(r.json["expires_at"], "2100-01-01T00:00:00Z");
    assert_eq!(
        r.json["limits"],
        json!({"rpm": 60, "tpm": 10000, "max_parallel": 2})
    );
    assert_eq!(r.json["budget"]["max_usd"], 10.0);
    assert_eq!(r.json["role"], "user");
    assert_eq!(r.json["capture_payloads"], true);
    assert!(r.json.get("key_hash").is_none());

    // Every later read shows the prefix only: no secret, no hash.
    let hash = hash_key(&secret);
    for path in [format!("/admin/keys/{id}"), "/admin/keys".to_owned()] {
        let got = a.get(&path, MASTER).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.text);
        assert!(!got.text.contains(&secret), "{}", got.text);
        assert!(!got.text.contains(&hash), "{}", got.text);
        assert!(!got.text.contains("\"key\":"), "{}", got.text);
        assert!(got.text.contains(&id));
    }
    let listed = a.get(&format!("/admin/keys?team_id={team}"), MASTER).await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 1);
    let none = a.get("/admin/keys?team_id=team_nope", MASTER).await;
    assert_eq!(none.json["data"], json!([]));

    let patched = a
        .patch(
            &format!("/admin/keys/{id}"),
            MASTER,
            json!({"name": "ci-2", "models": [], "limits": null, "expires_at": "2099-12-31T23:00:00+01:00"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json["name"], "ci-2");
    assert_eq!(patched.json["models"], json!([]));
    assert_eq!(patched.json["limits"], Value::Null);
    assert_eq!(patched.json["expires_at"], "2099-12-31T22:00:00Z");
    assert_eq!(patched.json["budget"]["soft_usd"], 8.0, "untouched");
    expect_error(&a.get("/admin/keys/key_doesnotexist", MASTER).await, 404);
}

#[tokio::test]
async fn rotate_and_revoke() {
    let a = Admin::start().await;
    let team = a.team("ops").await;
    let (id, old) = a.key(json!({"team_id": team, "role": "team_admin"})).await;
    assert_eq!(a.get("/admin/keys", &old).await.status, StatusCode::OK);

    let r = a
        .post(&format!("/admin/keys/{id}/rotate"), MASTER, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new = r.json["key"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(r.json["key_prefix"], new[..8]);
    // The old secret is gone at once; the new one works.
    expect_error(&a.get("/admin/keys", &old).await, 401);
    assert_eq!(a.get("/admin/keys", &new).await.status, StatusCode::OK);

    let revoked = a.delete(&format!("/admin/keys/{id}"), MASTER).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.json["status"], "revoked");
    let first_revocation = revoked.json["revoked_at"].as_str().unwrap().to_owned();
    let r = a.get("/admin/keys", &new).await;
    expect_error(&r, 403);
    assert_eq!(r.error_type(), "permission_error");
    assert_eq!(r.json["error"]["code"], "key_revoked");

    // Revoking again is harmless and keeps the first time; rotating a revoked key is 409.
    let again = a.delete(&format!("/admin/keys/{id}"), MASTER).await;
    assert_eq!(again.json["revoked_at"], first_revocation.as_str());
    expect_error(
        &a.post(&format!("/admin/keys/{id}/rotate"), MASTER, json!({}))
            .await,
        409,
    );
    // Revoked keys leave the default listing.
    let listed = a.get("/admin/keys", MASTER).await;
    assert_eq!(listed.json["data"], json!([]));
    let all = a.get("/admin/keys?include_revoked=true", MASTER).await;
    assert_eq!(all.json["data"].as_array().unwrap().len(), 1);
    expect_error(
        &a.post("/admin/keys/key_missing/rotate", MASTER, json!({}))
            .await,
        404,
    );
    expect_error(&a.delete("/admin/keys/key_missing", MASTER).await, 404);
}

#[tokio::test]
async fn an_expired_key_loses_admin_access() {
    let a = Admin::start().await;
    let team = a.team("t").await;
    let (id, secret) = a
        .key(json!({"team_id": team, "role": "read_only", "expires_at": 4102444800u64}))
        .await;
    assert_eq!(a.get("/admin/keys", &secret).await.status, StatusCode::OK);
    // A past instant on PATCH expires the key now (on create it is refused).
    let r = a
        .patch(
            &format!("/admin/keys/{id}"),
            MASTER,
            json!({"expires_at": 1_000_000_000}),
        )
        .await;
    assert_eq!(r.json["status"], "expired", "{}", r.text);
    let r = a.get("/admin/keys", &secret).await;
    expect_error(&r, 403);
    assert_eq!(r.json["error"]["code"], "key_expired");
}

#[tokio::test]
async fn the_secret_works_as_an_api_key() {
    let a = Admin::start().await;
    let (id, secret) = a.key(json!({"name": "app"})).await;
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let ok = a
        .call(
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(&secret),
            Some(chat.clone()),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(ok.json["choices"][0]["message"]["content"].is_string());

    let rotated = a
        .post(&format!("/admin/keys/{id}/rotate"), MASTER, json!({}))
        .await;
    let new = rotated.json["key"].as_str().unwrap().to_owned();
    let old = a
        .call(
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(&secret),
            Some(chat.clone()),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.text);
    let fresh = a
        .call(
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(&new),
            Some(chat.clone()),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);

    a.delete(&format!("/admin/keys/{id}"), MASTER).await;
    let revoked = a
        .call(
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(&new),
            Some(chat),
        )
        .await;
    assert!(
        revoked.status == StatusCode::UNAUTHORIZED || revoked.status == StatusCode::FORBIDDEN,
        "{}",
        revoked.text
    );
}

#[tokio::test]
async fn every_change_is_audited_without_secrets() {
    let a = Admin::start().await;
    let team = a.team("audited").await;
    a.patch(
        &format!("/admin/teams/{team}"),
        MASTER,
        json!({"metadata": {"x": 1}}),
    )
    .await;
    let (admin_id, admin_secret) = a.key(json!({"team_id": team, "role": "team_admin"})).await;
    // A change by a team admin is attributed to its key id.
    let (key_id, key_secret) = a.key_as(&admin_secret, json!({"name": "svc"})).await;
    a.patch(
        &format!("/admin/keys/{key_id}"),
        &admin_secret,
        json!({"user": "bob"}),
    )
    .await;
    let rotated = a
        .post(&format!("/admin/keys/{key_id}/rotate"), MASTER, json!({}))
        .await;
    let rotated_secret = rotated.json["key"].as_str().unwrap().to_owned();
    a.delete(&format!("/admin/keys/{key_id}"), MASTER).await;
    let spare = a.team("spare").await;
    a.delete(&format!("/admin/teams/{spare}"), MASTER).await;

    let all = a.get("/admin/audit", MASTER).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    for s in [&admin_secret, &key_secret, &rotated_secret] {
        assert!(
            !all.text.contains(s.as_str()),
            "secret in audit: {}",
            all.text
        );
        assert!(
            !all.text.contains(&hash_key(s)),
            "hash in audit: {}",
            all.text
        );
    }
    assert!(!all.text.contains("key_hash"));
    let rows = all.json["rows"].as_array().unwrap();
    // Entries written within the same millisecond may come in either order: compare as sets.
    let mut actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "key.create",
            "key.create",
            "key.revoke",
            "key.rotate",
            "key.update",
            "team.create",
            "team.create",
            "team.delete",
            "team.update"
        ]
    );
    let find = |action: &str, target: &str| -> &Value {
        rows.iter()
            .find(|r| r["action"] == action && r["target_id"] == target)
            .unwrap_or_else(|| panic!("no {action} on {target}"))
    };
    let by_admin: Vec<&Value> = rows
        .iter()
        .filter(|r| r["actor"] == admin_id.as_str())
        .collect();
    assert_eq!(by_admin.len(), 2, "{by_admin:?}");
    assert_eq!(find("key.create", &key_id)["actor"], admin_id.as_str());
    assert_eq!(find("key.create", &admin_id)["actor"], "master");
    let update = find("key.update", &key_id);
    assert_eq!(update["target_type"], "key");
    assert_eq!(update["before"]["user"], Value::Null);
    assert_eq!(update["after"]["user"], "bob");
    let rotate = find("key.rotate", &key_id);
    assert_eq!(rotate["before"]["key_prefix"], key_secret[..8]);
    assert_eq!(rotate["after"]["key_prefix"], rotated_secret[..8]);
    let revoke = find("key.revoke", &key_id);
    assert_eq!(revoke["before"]["status"], "active");
    assert_eq!(revoke["after"]["status"], "revoked");
    let create = find("team.create", &team);
    assert_eq!(create["target_type"], "team");
    assert_eq!(create["before"], Value::Null);
    assert_eq!(create["after"]["name"], "audited");
    let team_update = find("team.update", &team);
    assert_eq!(team_update["after"]["metadata"]["x"], 1);
    let delete = find("team.delete", &spare);
    assert_eq!(delete["before"]["name"], "spare");
    assert_eq!(delete["after"], Value::Null);
    assert!(delete["ts"].as_str().unwrap().ends_with('Z'));

    // Filters and cursor pagination.
    let rotations = a.audit("action=key.rotate").await;
    assert_eq!(rotations.len(), 1);
    let on_key = a
        .audit(&format!("target_type=key&target_id={key_id}"))
        .await;
    assert_eq!(on_key.len(), 4);
    assert_eq!(a.audit(&format!("actor={admin_id}")).await.len(), 2);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/admin/audit?limit=4&cursor={c}"),
            None => "/admin/audit?limit=4".to_owned(),
        };
        let page = a.get(&q, MASTER).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let rows = page.json["rows"].as_array().unwrap();
        assert!(rows.len() <= 4);
        seen.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected);
    expect_error(&a.get("/admin/audit?cursor=bm9wZQ", MASTER).await, 400);
}

#[tokio::test]
async fn openapi_document_is_served() {
    let a = Admin::start().await;
    let r = a.get("/admin/openapi.json", MASTER).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("application/json"));
    assert_eq!(r.json["openapi"], "3.1.0");
    assert!(r.json["paths"]["/admin/keys/{id}/rotate"]["post"].is_object());
    expect_error(
        &a.call(reqwest::Method::GET, "/admin/openapi.json", None, None)
            .await,
        401,
    );
}

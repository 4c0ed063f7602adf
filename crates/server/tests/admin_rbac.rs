//! Who may use the admin API: the master key, team admins confined to their team, read-only
//! keys, and everyone else refused (401 without a valid key, 403 for user/revoked/expired keys,
//! 401 for everything when no master key is configured).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod admin_common;
mod common;

use admin_common::{expect_error, Admin, MASTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchyard_store::{generate_key, KeyMaterial, KeyRole, NewKey, NewTeam};

/// One request per admin route (ids may not exist: auth is checked first).
fn every_route() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::POST, "/admin/teams", Some(json!({"name": "x"}))),
        (Method::GET, "/admin/teams", None),
        (Method::GET, "/admin/teams/team_x", None),
        (Method::PATCH, "/admin/teams/team_x", Some(json!({}))),
        (Method::DELETE, "/admin/teams/team_x", None),
        (Method::POST, "/admin/keys", Some(json!({}))),
        (Method::GET, "/admin/keys", None),
        (Method::GET, "/admin/keys/key_x", None),
        (Method::PATCH, "/admin/keys/key_x", Some(json!({}))),
        (Method::DELETE, "/admin/keys/key_x", None),
        (Method::POST, "/admin/keys/key_x/rotate", None),
        (Method::GET, "/admin/spend", None),
        (Method::GET, "/admin/logs", None),
        (Method::GET, "/admin/logs/req_x", None),
        (Method::GET, "/admin/audit", None),
        (Method::GET, "/admin/openapi.json", None),
    ]
}

#[tokio::test]
async fn without_a_master_key_the_admin_api_is_closed() {
    let a = Admin::start_with(
        "providers:\n  p:\n    kind: mock\nmodels:\n  m:\n    targets:\n      - { provider: p, model: mock-1 }\n",
    )
    .await;
    // Even a team_admin key that exists in the store gets nowhere.
    let store = &a.g.state.store;
    let team = store
        .create_team(NewTeam {
            name: "t".into(),
            ..NewTeam::default()
        })
        .await
        .unwrap();
    let secret = generate_key();
    let mut new = NewKey::new(KeyMaterial::from_secret(&secret));
    new.team_id = Some(team.id);
    new.role = KeyRole::TeamAdmin;
    store.create_key(new).await.unwrap();
    for (method, path, body) in every_route() {
        for key in [None, Some(secret.as_str()), Some("anything")] {
            let r = a.call(method.clone(), path, key, body.clone()).await;
            let msg = expect_error(&r, 401);
            assert!(msg.contains("master_key"), "{method} {path}: {msg}");
            assert_eq!(r.json["error"]["code"], "admin_api_disabled");
        }
    }
}

#[tokio::test]
async fn no_key_bad_key_and_user_keys_are_refused_on_every_route() {
    let a = Admin::start().await;
    let (_, user_key) = a.key(json!({"name": "app"})).await;
    let (revoked_id, revoked) = a.key(json!({"role": "read_only"})).await;
    a.delete(&format!("/admin/keys/{revoked_id}"), MASTER).await;
    for (method, path, body) in every_route() {
        let r = a.call(method.clone(), path, None, body.clone()).await;
        assert!(!expect_error(&r, 401).is_empty());
        assert_eq!(r.error_type(), "authentication_error", "{method} {path}");
        let r = a
            .call(method.clone(), path, Some("sk-sy-wrong"), body.clone())
            .await;
        expect_error(&r, 401);
        let r = a
            .call(method.clone(), path, Some(&user_key), body.clone())
            .await;
        expect_error(&r, 403);
        assert_eq!(r.error_type(), "permission_error", "{method} {path}");
        let r = a
            .call(method.clone(), path, Some(&revoked), body.clone())
            .await;
        expect_error(&r, 403);
        assert!(r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"));
    }
    // The master key is not accepted as a lower-case prefix or with junk around it.
    let r = a.get("/admin/keys", &format!("{MASTER}x")).await;
    expect_error(&r, 401);
}

struct Teams {
    a: Admin,
    team_a: String,
    team_b: String,
    admin_a: String,
    admin_a_id: String,
    key_b: String,
    key_loose: String,
}

async fn two_teams() -> Teams {
    let a = Admin::start().await;
    let team_a = a.team("alpha").await;
    let team_b = a.team("beta").await;
    let (admin_a_id, admin_a) = a
        .key(json!({"team_id": team_a, "role": "team_admin"}))
        .await;
    let (key_b, _) = a.key(json!({"team_id": team_b, "name": "b-svc"})).await;
    let (key_loose, _) = a.key(json!({"name": "no-team"})).await;
    Teams {
        a,
        team_a,
        team_b,
        admin_a,
        admin_a_id,
        key_b,
        key_loose,
    }
}

#[tokio::test]
async fn a_team_admin_manages_only_its_own_team() {
    let t = two_teams().await;
    let a = &t.a;
    let me = t.admin_a.as_str();

    // Creating: forced into its team; naming another team is 403.
    let r = a.post("/admin/keys", me, json!({"name": "a-svc"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["team_id"], t.team_a.as_str());
    let own = r.json["id"].as_str().unwrap().to_owned();
    let r = a
        .post(
            "/admin/keys",
            me,
            json!({"team_id": t.team_a, "role": "team_admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = a
        .post(
            "/admin/keys",
            me,
            json!({"team_id": t.team_b, "role": "team_admin"}),
        )
        .await;
    assert!(expect_error(&r, 403).contains(&t.team_a));
    let r = a
        .post("/admin/keys", me, json!({"team_id": t.team_b}))
        .await;
    expect_error(&r, 403);

    // Listing: only its team's keys; asking for another team is 403.
    let r = a.get("/admin/keys", me).await;
    let teams: Vec<&str> = r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["team_id"].as_str().unwrap())
        .collect();
    assert_eq!(teams.len(), 3, "{}", r.text);
    assert!(teams.iter().all(|t2| *t2 == t.team_a));
    expect_error(
        &a.get(&format!("/admin/keys?team_id={}", t.team_b), me)
            .await,
        403,
    );

    // Another team's key, or a key with no team, does not exist for it.
    for other in [&t.key_b, &t.key_loose] {
        expect_error(&a.get(&format!("/admin/keys/{other}"), me).await, 404);
        expect_error(
            &a.patch(&format!("/admin/keys/{other}"), me, json!({"name": "mine"}))
                .await,
            404,
        );
        expect_error(&a.delete(&format!("/admin/keys/{other}"), me).await, 404);
        expect_error(
            &a.post(&format!("/admin/keys/{other}/rotate"), me, json!({}))
                .await,
            404,
        );
    }
    // ... and they were not touched.
    let b = a.get(&format!("/admin/keys/{}", t.key_b), MASTER).await;
    assert_eq!(b.json["name"], "b-svc");
    assert_eq!(b.json["status"], "active");

    // Its own keys: update, rotate, revoke; but never move one to another team.
    let r = a
        .patch(
            &format!("/admin/keys/{own}"),
            me,
            json!({"models": ["gpt-4o"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = a
        .patch(
            &format!("/admin/keys/{own}"),
            me,
            json!({"team_id": t.team_b}),
        )
        .await;
    expect_error(&r, 403);
    let r = a
        .patch(&format!("/admin/keys/{own}"), me, json!({"team_id": null}))
        .await;
    expect_error(&r, 403);
    let r = a
        .patch(
            &format!("/admin/keys/{own}"),
            me,
            json!({"team_id": t.team_a}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        a.post(&format!("/admin/keys/{own}/rotate"), me, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        a.delete(&format!("/admin/keys/{own}"), me).await.status,
        StatusCode::OK
    );

    // Teams: reads its own only; cannot create, change or delete any.
    let r = a.get("/admin/teams", me).await;
    let ids: Vec<&str> = r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [t.team_a.as_str()]);
    assert_eq!(
        a.get(&format!("/admin/teams/{}", t.team_a), me)
            .await
            .status,
        StatusCode::OK
    );
    expect_error(&a.get(&format!("/admin/teams/{}", t.team_b), me).await, 404);
    expect_error(
        &a.post("/admin/teams", me, json!({"name": "gamma"})).await,
        403,
    );
    expect_error(
        &a.patch(
            &format!("/admin/teams/{}", t.team_a),
            me,
            json!({"budget": null}),
        )
        .await,
        403,
    );
    expect_error(
        &a.delete(&format!("/admin/teams/{}", t.team_b), me).await,
        403,
    );
    assert_eq!(
        a.get("/admin/teams", MASTER).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Reports: its team only; naming another team is 403.
    expect_error(
        &a.get(&format!("/admin/spend?team_id={}", t.team_b), me)
            .await,
        403,
    );
    expect_error(
        &a.get(&format!("/admin/logs?team_id={}", t.team_b), me)
            .await,
        403,
    );
    assert_eq!(a.get("/admin/spend", me).await.status, StatusCode::OK);

    // Audit: the entries about its team and its team's keys, none about team beta.
    let r = a.get("/admin/audit", me).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let about_a = row["target_id"] == t.team_a.as_str()
            || row["after"]["team_id"] == t.team_a.as_str()
            || row["before"]["team_id"] == t.team_a.as_str();
        assert!(about_a, "{row}");
        assert_ne!(row["target_id"], t.team_b.as_str());
        assert_ne!(row["target_id"], t.key_b.as_str());
    }
    assert!(rows.iter().any(|r| r["actor"] == t.admin_a_id.as_str()));
    // Scoped pages still paginate completely.
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let r = a
            .get(&format!("/admin/audit?limit=2&cursor={cursor}"), me)
            .await;
        let page = r.json["rows"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen += page.len();
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, rows.len());
}

#[tokio::test]
async fn read_only_keys_read_but_never_write() {
    let t = two_teams().await;
    let a = &t.a;
    let (_, scoped) = a
        .key(json!({"team_id": t.team_b, "role": "read_only"}))
        .await;
    let (_, global) = a.key(json!({"role": "read_only"})).await;

    for key in [&scoped, &global] {
        for (method, path, body) in [
            (
                Method::POST,
                "/admin/keys".to_owned(),
                json!({"team_id": t.team_b}),
            ),
            (
                Method::PATCH,
                format!("/admin/keys/{}", t.key_b),
                json!({"name": "x"}),
            ),
            (
                Method::DELETE,
                format!("/admin/keys/{}", t.key_b),
                Value::Null,
            ),
            (
                Method::POST,
                format!("/admin/keys/{}/rotate", t.key_b),
                json!({}),
            ),
            (
                Method::POST,
                "/admin/teams".to_owned(),
                json!({"name": "x"}),
            ),
            (
                Method::PATCH,
                format!("/admin/teams/{}", t.team_b),
                json!({}),
            ),
            (
                Method::DELETE,
                format!("/admin/teams/{}", t.team_b),
                Value::Null,
            ),
        ] {
            let r = a.call(method.clone(), &path, Some(key), Some(body)).await;
            expect_error(&r, 403);
            assert_eq!(r.error_type(), "permission_error", "{method} {path}");
        }
    }
    let b = a.get(&format!("/admin/keys/{}", t.key_b), MASTER).await;
    assert_eq!(b.json["status"], "active");
    assert_eq!(b.json["name"], "b-svc");

    // Scoped to team beta: sees beta's keys only.
    let r = a.get("/admin/keys", &scoped).await;
    assert!(r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["team_id"] == t.team_b.as_str()));
    assert_eq!(
        a.get(&format!("/admin/keys/{}", t.key_b), &scoped)
            .await
            .status,
        StatusCode::OK
    );
    expect_error(
        &a.get(&format!("/admin/keys/{}", t.key_loose), &scoped)
            .await,
        404,
    );
    // Without a team: sees everything.
    let r = a.get("/admin/keys", &global).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 5, "{}", r.text);
    assert_eq!(
        a.get("/admin/teams", &global).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for path in [
        "/admin/spend",
        "/admin/logs",
        "/admin/audit",
        "/admin/openapi.json",
    ] {
        assert_eq!(a.get(path, &global).await.status, StatusCode::OK, "{path}");
        assert_eq!(a.get(path, &scoped).await.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn wrong_methods_and_unknown_routes_are_json_errors() {
    let a = Admin::start().await;
    let r = a
        .call(Method::PUT, "/admin/keys", Some(MASTER), Some(json!({})))
        .await;
    expect_error(&r, 405);
    let r = a.get("/admin/nope", MASTER).await;
    expect_error(&r, 404);
}

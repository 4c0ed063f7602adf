//! Spend reports and the request log through the real server, over ledger and log rows written
//! straight into the gateway's store: grouping, ranges, CSV, team scoping, filters and cursors.
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
use switchyard_store::{now_ms, LogRow, SpendRow};

const DAY: i64 = 86_400_000;
/// 2025-01-10T00:00:00Z.
const JAN_10: i64 = 1_736_467_200_000;

#[allow(clippy::too_many_arguments)]
fn spend(
    id: &str,
    ts: i64,
    key: &str,
    team: Option<&str>,
    model: &str,
    provider: &str,
    tags: &[&str],
    cost_micros: i64,
) -> SpendRow {
    SpendRow {
        request_id: id.into(),
        ts,
        key_id: Some(key.into()),
        team_id: team.map(Into::into),
        user: Some("alice".into()),
        end_user: None,
        model: model.into(),
        provider: provider.into(),
        upstream_model: model.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        input_tokens: 100,
        output_tokens: 10,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cost_micros,
    }
}

fn rows(r: &Value) -> Vec<(String, f64, i64)> {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap().to_owned(),
                r["cost_usd"].as_f64().unwrap(),
                r["requests"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn with_ledger() -> (Admin, String, String) {
    let a = Admin::start().await;
    let ta = a.team("alpha").await;
    let tb = a.team("beta").await;
    let ledger = vec![
        spend(
            "r1",
            JAN_10 + 1_000,
            "key_a",
            Some(&ta),
            "gpt-4o",
            "openai",
            &["prod", "x,y"],
            1_250_000,
        ),
        spend(
            "r2",
            JAN_10 + 3_600_000,
            "key_a",
            Some(&ta),
            "gpt-4o",
            "openai",
            &["prod"],
            750_000,
        ),
        spend(
            "r3",
            JAN_10 + DAY + 5,
            "key_b",
            Some(&tb),
            "claude",
            "anthropic",
            &[],
            2_000_001,
        ),
        spend(
            "r4",
            JAN_10 + 2 * DAY,
            "key_c",
            None,
            "gpt-4o",
            "openai",
            &["=cmd"],
            1,
        ),
        // Recent, for the default 30-day window.
        spend(
            "r5",
            now_ms() - DAY,
            "key_a",
            Some(&ta),
            "gpt-4o",
            "openai",
            &[],
            42,
        ),
    ];
    let n = a.g.state.store.insert_spend(&ledger).await.unwrap();
    assert_eq!(n, 5);
    (a, ta, tb)
}

#[tokio::test]
async fn spend_grouped_over_a_date_range() {
    let (a, ta, tb) = with_ledger().await;
    let range = "from=2025-01-10&to=2025-01-12";
    let r = a
        .get(&format!("/admin/spend?group_by=model&{range}"), MASTER)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        rows(&r.json),
        [
            ("claude".into(), 2.000001, 1),
            ("gpt-4o".into(), 2.000001, 3)
        ]
    );
    assert_eq!(r.json["group_by"], "model");
    assert_eq!(r.json["from"], "2025-01-10T00:00:00Z");
    assert_eq!(
        r.json["to"], "2025-01-13T00:00:00Z",
        "a date `to` includes that day"
    );
    assert_eq!(r.json["total_cost_usd"], 4.000002);
    let row = &r.json["rows"][1];
    assert_eq!(row["input_tokens"], 300);
    assert_eq!(row["output_tokens"], 30);

    let r = a
        .get(&format!("/admin/spend?group_by=team&{range}"), MASTER)
        .await;
    assert_eq!(
        rows(&r.json),
        [
            (tb.clone(), 2.000001, 1),
            (ta.clone(), 2.0, 2),
            (String::new(), 0.000001, 1)
        ]
    );
    let r = a
        .get(&format!("/admin/spend?group_by=day&{range}"), MASTER)
        .await;
    let mut days: Vec<String> = rows(&r.json).into_iter().map(|r| r.0).collect();
    days.sort();
    assert_eq!(days, ["2025-01-10", "2025-01-11", "2025-01-12"]);
    let r = a
        .get(
            "/admin/spend?group_by=hour&from=2025-01-10T00:00:00Z&to=2025-01-10T02:00:00Z",
            MASTER,
        )
        .await;
    assert_eq!(
        rows(&r.json),
        [
            ("2025-01-10T00:00:00Z".into(), 1.25, 1),
            ("2025-01-10T01:00:00Z".into(), 0.75, 1)
        ]
    );
    let r = a
        .get(&format!("/admin/spend?group_by=tag&{range}"), MASTER)
        .await;
    assert_eq!(
        r.json["total_cost_usd"],
        Value::Null,
        "tags overlap: no total"
    );
    assert_eq!(rows(&r.json).len(), 3);
    let r = a
        .get(
            &format!("/admin/spend?group_by=provider&{range}&key_id=key_a"),
            MASTER,
        )
        .await;
    assert_eq!(rows(&r.json), [("openai".into(), 2.0, 2)]);
    let r = a
        .get(
            &format!("/admin/spend?group_by=key&{range}&team_id={tb}"),
            MASTER,
        )
        .await;
    assert_eq!(rows(&r.json), [("key_b".into(), 2.000001, 1)]);
    // Unix seconds work too: [Jan 10 00:00, Jan 10 01:00) holds r1 only.
    let r = a
        .get(
            "/admin/spend?group_by=key&from=1736467200&to=1736470800",
            MASTER,
        )
        .await;
    assert_eq!(rows(&r.json), [("key_a".into(), 1.25, 1)]);

    // Default: the last 30 days (r5 only), grouped by key.
    let r = a.get("/admin/spend", MASTER).await;
    assert_eq!(r.json["group_by"], "key");
    assert_eq!(rows(&r.json), [("key_a".into(), 0.000042, 1)]);
}

#[tokio::test]
async fn spend_as_csv() {
    let (a, _, _) = with_ledger().await;
    let r = a
        .get(
            "/admin/spend?group_by=tag&from=2025-01-01&to=2025-01-31&format=csv",
            MASTER,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.content_type.starts_with("text/csv"), "{}", r.content_type);
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(
        lines[0],
        "group,cost_usd,requests,input_tokens,output_tokens"
    );
    assert_eq!(lines[1], "prod,2.000000,2,200,20");
    assert!(lines.contains(&"\"x,y\",1.250000,1,100,10"), "{}", r.text);
    assert!(lines.contains(&"'=cmd,0.000001,1,100,10"), "{}", r.text);
    assert_eq!(lines.len(), 4);
}

#[tokio::test]
async fn spend_is_scoped_to_a_team_key() {
    let (a, ta, tb) = with_ledger().await;
    let (_, reader) = a.key(json!({"team_id": ta, "role": "read_only"})).await;
    let r = a
        .get(
            "/admin/spend?group_by=team&from=2025-01-01&to=2025-02-01",
            &reader,
        )
        .await;
    assert_eq!(rows(&r.json), [(ta.clone(), 2.0, 2)]);
    expect_error(
        &a.get(&format!("/admin/spend?team_id={tb}"), &reader).await,
        403,
    );
}

#[tokio::test]
async fn spend_rejects_bad_queries() {
    let a = Admin::start().await;
    for (query, field) in [
        ("group_by=week", "group_by: unknown value `week`"),
        ("format=xml", "format: unknown format `xml`"),
        ("from=yesterday", "from: `yesterday` is not"),
        ("to=2025-02-30", "to: `2025-02-30` is not"),
        ("from=2025-02-01&to=2025-01-01", "from: must be before `to`"),
        ("colour=red", "unknown field `colour`"),
    ] {
        let r = a.get(&format!("/admin/spend?{query}"), MASTER).await;
        let msg = expect_error(&r, 400);
        assert!(msg.contains(field), "{query}: {msg}");
    }
}

fn log(id: &str, ts: i64, key: &str, team: Option<&str>, model: &str, status: u16) -> LogRow {
    LogRow {
        client_request_id: None,
        request_id: id.into(),
        ts,
        key_id: Some(key.into()),
        team_id: team.map(Into::into),
        user: None,
        model_requested: model.into(),
        model_served: Some(format!("{model}-2024")),
        provider: Some("openai".into()),
        attempts: 1,
        status,
        error_class: (status >= 400).then(|| "rate_limited".to_owned()),
        input_tokens: 12,
        output_tokens: 3,
        cost_micros: 1_500,
        latency_ms: 250,
        ttft_ms: Some(80),
        cache_status: "miss".into(),
        stream: false,
        request_body: Some("{\"messages\":[]}".into()),
        response_body: Some("{\"choices\":[]}".into()),
        tags: vec!["prod".into()],
    }
}

#[tokio::test]
async fn logs_filter_and_paginate() {
    // The rows are dated 2025: keep them away from the retention pruner.
    let a = Admin::start_with(&admin_common::config(
        "governance:\n  log_retention_days: 0\n",
    ))
    .await;
    let ta = a.team("alpha").await;
    let mut batch = Vec::new();
    for i in 0..7 {
        let team = if i % 2 == 0 { Some(ta.as_str()) } else { None };
        let status = if i == 3 { 429 } else { 200 };
        let model = if i < 5 { "gpt-4o" } else { "claude" };
        batch.push(log(
            &format!("req_{i}"),
            JAN_10 + i * 1000,
            "key_a",
            team,
            model,
            status,
        ));
    }
    assert_eq!(a.g.state.store.insert_logs(&batch).await.unwrap(), 7);

    // Newest first, three per page, until the cursor runs out.
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/logs?limit=3&cursor={c}"),
            None => "/admin/logs?limit=3".to_owned(),
        };
        let r = a.get(&path, MASTER).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        pages += 1;
        for row in r.json["rows"].as_array().unwrap() {
            assert!(
                row.get("request_body").is_none(),
                "list rows carry no payloads"
            );
            ids.push(row["request_id"].as_str().unwrap().to_owned());
        }
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3, "{ids:?}");
    assert_eq!(
        ids,
        ["req_6", "req_5", "req_4", "req_3", "req_2", "req_1", "req_0"]
    );

    let only = |r: &Value| -> Vec<String> {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = a.get("/admin/logs?status=429", MASTER).await;
    assert_eq!(only(&r.json), ["req_3"]);
    assert_eq!(r.json["rows"][0]["error_class"], "rate_limited");
    let r = a.get("/admin/logs?request_id=req_3", MASTER).await;
    assert_eq!(only(&r.json), ["req_3"]);
    assert_eq!(r.json["rows"][0]["client_request_id"], Value::Null);
    let r = a.get("/admin/logs?model=claude", MASTER).await;
    assert_eq!(only(&r.json), ["req_6", "req_5"]);
    let r = a
        .get(
            "/admin/logs?model=gpt-4o-2024&error_class=rate_limited",
            MASTER,
        )
        .await;
    assert_eq!(only(&r.json), ["req_3"]);
    let r = a.get(&format!("/admin/logs?team_id={ta}"), MASTER).await;
    assert_eq!(only(&r.json), ["req_6", "req_4", "req_2", "req_0"]);
    let r = a
        .get(
            "/admin/logs?from=2025-01-10T00:00:02Z&to=2025-01-10T00:00:04Z",
            MASTER,
        )
        .await;
    assert_eq!(only(&r.json), ["req_3", "req_2"]);
    let r = a.get("/admin/logs?key_id=key_zzz", MASTER).await;
    assert_eq!(r.json["rows"], json!([]));
    assert_eq!(r.json["next_cursor"], Value::Null);

    // One request in full.
    let r = a.get("/admin/logs/req_3", MASTER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["ts"], "2025-01-10T00:00:03Z");
    assert_eq!(r.json["cost_usd"], 0.0015);
    assert_eq!(r.json["model_served"], "gpt-4o-2024");
    assert_eq!(r.json["ttft_ms"], 80);
    assert_eq!(r.json["request_body"], "{\"messages\":[]}");
    expect_error(&a.get("/admin/logs/req_missing", MASTER).await, 404);

    // A team-scoped key sees its team's requests only.
    let (_, reader) = a.key(json!({"team_id": ta, "role": "read_only"})).await;
    let r = a.get("/admin/logs", &reader).await;
    assert_eq!(only(&r.json), ["req_6", "req_4", "req_2", "req_0"]);
    expect_error(&a.get("/admin/logs/req_3", &reader).await, 404);
    assert_eq!(
        a.get("/admin/logs/req_2", &reader).await.status,
        StatusCode::OK
    );

    for (query, needle) in [
        ("cursor=garbage", "cursor: "),
        ("status=abc", "status: must be an HTTP status"),
        ("limit=0", "limit: "),
        ("limit=5000", "limit: "),
        ("from=nope", "from: "),
        ("page=2", "unknown field `page`"),
    ] {
        let msg = expect_error(&a.get(&format!("/admin/logs?{query}"), MASTER).await, 400);
        assert!(msg.contains(needle), "{query}: {msg}");
    }
}

//! Governance on the request path: virtual keys, model allow-lists, rate limits, budgets that
//! hold under concurrency, prices, the spend ledger and request log, soft-budget alerts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use switchyard_store::{
    generate_key, GroupBy, KeyMaterial, LogFilter, NewKey, NewTeam, SpendFilter,
};
use switchyard_testkit::{openai, FakeUpstream, Reply};

/// A fake OpenAI answering every chat with `completion` completion tokens and 9 prompt tokens.
async fn upstream(completion: u64) -> FakeUpstream {
    FakeUpstream::start(move |_| Reply::json(200, openai::chat_json("gpt-4o", "ok", 9, completion)))
        .await
}

fn config(base: &str, extra: &str) -> String {
    format!(
        r#"
master_key: sk-master
providers:
  openai: {{ kind: openai, api_key: sk-provider-secret, base_url: "{base}/v1" }}
models:
  smart: {{ targets: [{{ provider: openai, model: gpt-4o }}] }}
  other: {{ targets: [{{ provider: openai, model: gpt-4o-mini }}] }}
{extra}
"#
    )
}

#[derive(Default)]
struct KeySpec {
    team: Option<String>,
    models: Vec<String>,
    limits: Option<Value>,
    budget: Option<Value>,
    capture: bool,
}

async fn make_key(g: &switchyard_server::Running, spec: KeySpec) -> (String, String) {
    let secret = generate_key();
    let mut k = NewKey::new(KeyMaterial::from_secret(&secret));
    k.team_id = spec.team;
    k.models = spec.models;
    k.limits = spec.limits;
    k.budget = spec.budget;
    k.capture_payloads = spec.capture;
    let key = g.state.store.create_key(k).await.unwrap();
    (secret, key.id)
}

async fn chat(
    g: &switchyard_server::Running,
    key: &str,
    model: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client()
        .post(url(g, "/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "Hello there"}]}));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// Waits until the ledger writer has flushed (it batches every 200 ms).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(700)).await;
}

#[tokio::test]
async fn virtual_key_is_accepted_attributed_and_priced() {
    let fake = upstream(2).await;
    let g = gateway(&config(&fake.url(), "")).await;
    let team = g
        .state
        .store
        .create_team(NewTeam {
            name: "search".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (secret, key_id) = make_key(
        &g,
        KeySpec {
            team: Some(team.id.clone()),
            ..Default::default()
        },
    )
    .await;
    let resp = chat(
        &g,
        &secret,
        "smart",
        &[("x-switchyard-tags", "feature:autocomplete, exp-7")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    // gpt-4o: $2.50 / M input, $10 / M output. 9 × 2.5 + 2 × 10 = 42.5 µ$ -> 43 µ$ (half up).
    assert_eq!(resp.headers()["x-switchyard-cost-usd"], "0.000043");
    // The client's virtual key never reaches the provider.
    assert_eq!(
        fake.last().unwrap().header("authorization"),
        Some("Bearer sk-provider-secret")
    );
    settle().await;
    let now = switchyard_store::now_ms();
    let by_key = g
        .state
        .store
        .spend_report(
            GroupBy::Key,
            now - 60_000,
            now + 1000,
            &SpendFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0].group, key_id);
    assert_eq!(by_key[0].cost_micros, 43);
    assert_eq!((by_key[0].input_tokens, by_key[0].output_tokens), (9, 2));
    let by_team = g
        .state
        .store
        .spend_report(
            GroupBy::Team,
            now - 60_000,
            now + 1000,
            &SpendFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_team[0].group, team.id);
    let by_tag = g
        .state
        .store
        .spend_report(
            GroupBy::Tag,
            now - 60_000,
            now + 1000,
            &SpendFilter::default(),
        )
        .await
        .unwrap();
    let mut tags: Vec<&str> = by_tag.iter().map(|r| r.group.as_str()).collect();
    tags.sort();
    assert_eq!(tags, vec!["exp-7", "feature:autocomplete"]);
    let logs = g
        .state
        .store
        .query_logs(&LogFilter::default(), None, 10)
        .await
        .unwrap();
    let row = &logs.items[0];
    assert_eq!(row.key_id.as_deref(), Some(key_id.as_str()));
    assert_eq!(row.status, 200);
    assert_eq!(row.model_requested, "smart");
    assert_eq!(row.model_served.as_deref(), Some("gpt-4o"));
    assert_eq!(row.cost_micros, 43);
    assert!(
        row.request_body.is_none(),
        "payload capture is off by default"
    );
}

#[tokio::test]
async fn payload_capture_per_key() {
    let fake = upstream(2).await;
    let g = gateway(&config(&fake.url(), "")).await;
    let (secret, _) = make_key(
        &g,
        KeySpec {
            capture: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    settle().await;
    let logs = g
        .state
        .store
        .query_logs(&LogFilter::default(), None, 10)
        .await
        .unwrap();
    let row = &logs.items[0];
    assert!(row.request_body.as_deref().unwrap().contains("Hello there"));
    assert!(row
        .response_body
        .as_deref()
        .unwrap()
        .contains("chat.completion"));
}

#[tokio::test]
async fn unknown_revoked_and_disallowed_keys_are_refused() {
    let fake = upstream(2).await;
    let g = gateway(&config(&fake.url(), "")).await;
    let resp = chat(&g, "sk-sy-doesnotexist", "smart", &[]).await;
    assert_eq!(resp.status(), 401);
    let (secret, key_id) = make_key(
        &g,
        KeySpec {
            models: vec!["sm*".into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    let resp = chat(&g, &secret, "other", &[]).await;
    assert_eq!(resp.status(), 403);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "model_not_allowed");
    g.state.store.revoke_key(&key_id).await.unwrap();
    g.state.keys.invalidate_all();
    let resp = chat(&g, &secret, "smart", &[]).await;
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn rate_limit_refuses_with_429_retry_after_and_headers() {
    let fake = upstream(2).await;
    let g = gateway(&config(&fake.url(), "")).await;
    let (secret, _) = make_key(
        &g,
        KeySpec {
            limits: Some(json!({"rpm": 2})),
            ..Default::default()
        },
    )
    .await;
    let r1 = chat(&g, &secret, "smart", &[]).await;
    assert_eq!(r1.status(), 200);
    assert_eq!(r1.headers()["x-ratelimit-limit-requests"], "2");
    assert_eq!(r1.headers()["x-ratelimit-remaining-requests"], "1");
    assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    let r3 = chat(&g, &secret, "smart", &[]).await;
    assert_eq!(r3.status(), 429);
    assert!(r3.headers().contains_key("retry-after"));
    assert_eq!(r3.headers()["x-ratelimit-remaining-requests"], "0");
    let v: Value = r3.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn budget_holds_under_concurrency() {
    // Each request costs 9 × 2.5 + 100 × 10 = 1022.5 -> 1023 µ$; it reserves at least its
    // max_tokens (100 × 10 = 1000 µ$) plus its prompt estimate.
    let fake = upstream(100).await;
    let g = Arc::new(gateway(&config(&fake.url(), "")).await);
    let (secret, key_id) = make_key(
        &g,
        KeySpec {
            budget: Some(json!({"max_usd": 0.01, "period": "monthly"})),
            ..Default::default()
        },
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let g = g.clone();
        let secret = secret.clone();
        tasks.push(tokio::spawn(async move {
            chat(&g, &secret, "smart", &[]).await.status().as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    // Never more than the budget plus one request's reservation.
    assert!(ok * 1023 <= 10_000 + 1100, "{ok} requests admitted");
    assert!(ok >= 8, "the budget admits what it can hold: only {ok}");
    // Sequential requests after the budget is spent are refused with budget_exceeded.
    let resp = chat(&g, &secret, "smart", &[]).await;
    assert_eq!(resp.status(), 429);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded");
    settle().await;
    let total = g
        .state
        .store
        .spend_total(
            &switchyard_store::SpendScope::Key(key_id),
            0,
            switchyard_store::now_ms() + 1000,
        )
        .await
        .unwrap();
    assert_eq!(total, ok * 1023);
}

#[tokio::test]
async fn team_budget_applies_to_every_key_of_the_team() {
    let fake = upstream(100).await;
    let g = gateway(&config(&fake.url(), "")).await;
    let team = g
        .state
        .store
        .create_team(NewTeam {
            name: "t".into(),
            budget: Some(json!({"max_usd": 0.003, "period": "daily"})),
            ..Default::default()
        })
        .await
        .unwrap();
    let (a, _) = make_key(
        &g,
        KeySpec {
            team: Some(team.id.clone()),
            ..Default::default()
        },
    )
    .await;
    let (b, _) = make_key(
        &g,
        KeySpec {
            team: Some(team.id.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(chat(&g, &a, "smart", &[]).await.status(), 200);
    assert_eq!(chat(&g, &b, "smart", &[]).await.status(), 200);
    // 2 × 1023 spent; a third needs ~1025 more and 3000 − 2046 < 1025.
    let resp = chat(&g, &a, "smart", &[]).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(chat(&g, &b, "smart", &[]).await.status(), 429);
}

#[tokio::test]
async fn soft_budget_fires_the_webhook_once() {
    let hook = FakeUpstream::start(|_| Reply::json(200, "{}")).await;
    let fake = upstream(100).await;
    let g = gateway(&config(
        &fake.url(),
        &format!("governance: {{ alert_webhook: \"{}/hook\" }}", hook.url()),
    ))
    .await;
    let (secret, key_id) = make_key(
        &g,
        KeySpec {
            budget: Some(json!({"max_usd": 1.0, "period": "total", "soft_usd": 0.002})),
            ..Default::default()
        },
    )
    .await;
    for _ in 0..4 {
        assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while hook.calls() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.calls(), 1, "exactly one alert for one crossing");
    let body = hook.last().unwrap().json();
    assert_eq!(body["type"], "budget.soft_threshold_crossed");
    assert_eq!(body["subject"]["id"], key_id.as_str());
    assert_eq!(body["soft_usd"], 0.002);
}

#[tokio::test]
async fn unknown_prices_are_refused_unless_a_default_is_configured() {
    let fake = upstream(2).await;
    let base = format!("{}/v1", fake.url());
    let yaml = format!(
        "providers:\n  local: {{ kind: openai_compatible, base_url: \"{base}\" }}\nmodels:\n  llama: {{ targets: [{{ provider: local, model: my-llama }}] }}\n  priced: {{ targets: [{{ provider: local, model: my-llama }}], pricing: {{ input: 1, output: 1 }} }}\npricing: {{ unknown_models: block }}\n"
    );
    let g = gateway(&yaml).await;
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "llama", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "model_price_unknown");
    assert_eq!(fake.calls(), 0);
    let resp = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&json!({"model": "priced", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // 9 + 2 tokens at $1 / M = 11 µ$.
    assert_eq!(resp.headers()["x-switchyard-cost-usd"], "0.000011");
}

#[tokio::test]
async fn streamed_requests_are_metered_at_their_end() {
    let fake = FakeUpstream::start(|_| {
        Reply::sse(openai::chat_stream_events(
            "gpt-4o",
            &["a", "b", "c"],
            true,
            Duration::ZERO,
        ))
    })
    .await;
    let g = gateway(&config(&fake.url(), "")).await;
    let (secret, key_id) = make_key(&g, KeySpec::default()).await;
    let text = client()
        .post(url(&g, "/v1/chat/completions"))
        .bearer_auth(&secret)
        .json(&json!({"model": "smart", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    settle().await;
    // 9 × 2.5 + 3 × 10 = 52.5 -> 53 µ$.
    let total = g
        .state
        .store
        .spend_total(
            &switchyard_store::SpendScope::Key(key_id),
            0,
            switchyard_store::now_ms() + 1000,
        )
        .await
        .unwrap();
    assert_eq!(total, 53);
    let logs = g
        .state
        .store
        .query_logs(&LogFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(logs.items[0].stream);
    assert!(logs.items[0].ttft_ms.is_some());
}

fn temp_db() -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-gov-{}-{}",
        std::process::id(),
        switchyard_store::new_id("t")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/ledger.db", dir.display());
    (dir, url)
}

#[tokio::test]
async fn budgets_survive_a_restart_with_in_memory_counters() {
    let fake = upstream(100).await;
    let (dir, db) = temp_db();
    let yaml = config(&fake.url(), &format!("database: \"{db}\""));
    let g = gateway(&yaml).await;
    let (secret, _) = make_key(
        &g,
        KeySpec {
            budget: Some(json!({"max_usd": 0.003, "period": "daily"})),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    g.shutdown().await.unwrap(); // flushes the ledger
                                 // A new process: counters start empty and are seeded from the ledger (2 × 1023 µ$ spent).
    let g = gateway(&yaml).await;
    let resp = chat(&g, &secret, "smart", &[]).await;
    assert_eq!(resp.status(), 429, "the restart forgot the spend");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded");
    g.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Two replicas sharing PostgreSQL and Redis: one budget and one rate limit across both, and a
/// key revoked on one replica stops working on the other within the key-cache bound.
#[tokio::test]
async fn two_replicas_share_budgets_limits_and_revocations() {
    let (Ok(pg), Ok(redis)) = (
        std::env::var("SWITCHYARD_TEST_POSTGRES_URL"),
        std::env::var("SWITCHYARD_TEST_REDIS_URL"),
    ) else {
        eprintln!("skipped: SWITCHYARD_TEST_POSTGRES_URL and SWITCHYARD_TEST_REDIS_URL not set");
        return;
    };
    let fake = upstream(100).await;
    let schema = format!(
        "gw_{}",
        switchyard_store::new_id("t")
            .to_lowercase()
            .replace('_', "")
    );
    let sep = if pg.contains('?') { '&' } else { '?' };
    let db = format!("{pg}{sep}switchyard_schema={schema}");
    let yaml = config(
        &fake.url(),
        &format!("database: \"{db}\"\nredis: \"{redis}\"\ngovernance: {{ key_cache_ttl_ms: 500 }}"),
    );
    let a = Arc::new(gateway(&yaml).await);
    let b = Arc::new(gateway(&yaml).await);
    let (secret, key_id) = make_key(
        &a,
        KeySpec {
            budget: Some(json!({"max_usd": 0.01, "period": "total"})),
            limits: Some(json!({"rpm": 1000})),
            ..Default::default()
        },
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let g = if i % 2 == 0 { a.clone() } else { b.clone() };
        let secret = secret.clone();
        tasks.push(tokio::spawn(async move {
            chat(&g, &secret, "smart", &[]).await.status().as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert!(
        ok * 1023 <= 10_000 + 1100,
        "{ok} admitted across two replicas"
    );
    assert!(ok >= 8, "only {ok} admitted");

    // Revocation: a fresh key used on both replicas, revoked through replica A's store.
    let (secret2, key2) = make_key(&a, KeySpec::default()).await;
    assert_eq!(chat(&a, &secret2, "smart", &[]).await.status(), 200);
    assert_eq!(chat(&b, &secret2, "smart", &[]).await.status(), 200);
    a.state.store.revoke_key(&key2).await.unwrap();
    a.state.keys.invalidate_all();
    assert_eq!(chat(&a, &secret2, "smart", &[]).await.status(), 401);
    let revoked_at = Instant::now();
    loop {
        if chat(&b, &secret2, "smart", &[]).await.status() == 401 {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_millis(2000),
            "replica B still accepts a revoked key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = key_id;
}

#[tokio::test]
async fn model_limits_apply_to_everyone() {
    let fake = upstream(2).await;
    let g = gateway(&format!(
        "providers:\n  openai: {{ kind: openai, api_key: k, base_url: \"{}/v1\" }}\nmodels:\n  smart: {{ targets: [{{ provider: openai, model: gpt-4o }}], limits: {{ rpm: 1 }} }}\n",
        fake.url()
    ))
    .await;
    let req = json!({"model": "smart", "messages": [{"role": "user", "content": "x"}]});
    let r1 = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status(), 200);
    let r2 = client()
        .post(url(&g, "/v1/chat/completions"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status(), 429);
    let v: Value = r2.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn end_user_budgets_hold_per_end_user() {
    let fake = upstream(100).await;
    let g = gateway(&config(
        &fake.url(),
        "governance: { end_user_budget: { max_usd: 0.003, period: daily } }",
    ))
    .await;
    let (secret, _) = make_key(&g, KeySpec::default()).await;
    let alice = [("x-switchyard-end-user", "alice")];
    assert_eq!(chat(&g, &secret, "smart", &alice).await.status(), 200);
    assert_eq!(chat(&g, &secret, "smart", &alice).await.status(), 200);
    // 2 × 1023 µ$ spent; the next reservation (≥ 1000 µ$ of output) does not fit in 3000.
    let resp = chat(&g, &secret, "smart", &alice).await;
    assert_eq!(resp.status(), 429);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded");
    // Another end user of the same key has a budget of their own.
    assert_eq!(
        chat(&g, &secret, "smart", &[("x-switchyard-end-user", "bob")])
            .await
            .status(),
        200
    );
    settle().await;
    let now = switchyard_store::now_ms();
    let by_end_user = g
        .state
        .store
        .spend_total(
            &switchyard_store::SpendScope::EndUser("alice".into()),
            0,
            now + 1000,
        )
        .await
        .unwrap();
    assert_eq!(by_end_user, 2 * 1023);
}

#[tokio::test]
async fn the_request_log_can_be_switched_off_while_spend_is_still_recorded() {
    let fake = upstream(2).await;
    let g = gateway(&config(&fake.url(), "governance: { request_log: false }")).await;
    let (secret, key_id) = make_key(&g, KeySpec::default()).await;
    assert_eq!(chat(&g, &secret, "smart", &[]).await.status(), 200);
    settle().await;
    let logs = g
        .state
        .store
        .query_logs(&LogFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(logs.items.is_empty());
    let total = g
        .state
        .store
        .spend_total(
            &switchyard_store::SpendScope::Key(key_id),
            0,
            switchyard_store::now_ms() + 1000,
        )
        .await
        .unwrap();
    assert_eq!(total, 43);
}

/// A client (or a retrying proxy) that sends the same `x-request-id` twice is charged twice:
/// the id is echoed back each time, but the ledger and log rows are keyed by the gateway's own
/// ids, with the client's kept beside them (before, the second request's rows were dropped as
/// duplicates and its spend went unrecorded).
#[tokio::test]
async fn a_repeated_client_request_id_is_still_charged_every_time() {
    let fake = upstream(2).await;
    let g = gateway(&config(&fake.url(), "")).await;
    let (secret, key_id) = make_key(&g, KeySpec::default()).await;
    for _ in 0..2 {
        let resp = chat(&g, &secret, "smart", &[("x-request-id", "client-retry-7")]).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-request-id"], "client-retry-7");
    }
    // A request without an id of its own gets one, used for its rows too.
    let resp = chat(&g, &secret, "smart", &[]).await;
    let own_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    settle().await;
    let total = g
        .state
        .store
        .spend_total(
            &switchyard_store::SpendScope::Key(key_id),
            0,
            switchyard_store::now_ms() + 1000,
        )
        .await
        .unwrap();
    assert_eq!(total, 3 * 43, "every request charged");
    let repeated = LogFilter {
        request_id: Some("client-retry-7".into()),
        ..LogFilter::default()
    };
    let rows = g
        .state
        .store
        .query_logs(&repeated, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_ne!(rows[0].request_id, rows[1].request_id);
    for row in &rows {
        assert_eq!(row.client_request_id.as_deref(), Some("client-retry-7"));
        assert!(row.request_id.starts_with("req_"), "{}", row.request_id);
    }
    let newest = g
        .state
        .store
        .get_log("client-retry-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.request_id, rows[0].request_id);
    let own = g.state.store.get_log(&own_id).await.unwrap().unwrap();
    assert_eq!(
        (own.request_id.as_str(), own.client_request_id),
        (own_id.as_str(), None)
    );
}

//! The spend ledger: reports per group with hand-computed sums, filters, date ranges, totals,
//! idempotent chunked inserts, concurrent batches.

use std::sync::Arc;
use switchyard_store::{
    GroupBy, LogFilter, LogRow, SpendFilter, SpendGroup, SpendRow, SpendScope, Store,
};

/// 2024-03-10T00:00:00Z and the two following midnights.
const D0: i64 = 1_710_028_800_000;
const D1: i64 = 1_710_115_200_000;
const D2: i64 = 1_710_201_600_000;
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn row(id: &str, ts: i64, cost_micros: i64) -> SpendRow {
    SpendRow {
        request_id: id.into(),
        ts,
        key_id: None,
        team_id: None,
        user: None,
        end_user: None,
        model: "gpt-4o".into(),
        provider: "openai".into(),
        upstream_model: "gpt-4o-2024-08-06".into(),
        tags: vec![],
        input_tokens: 0,
        output_tokens: 0,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cost_micros,
    }
}

fn attributed(key: &str, team: &str, user: Option<&str>, end_user: Option<&str>) -> SpendRow {
    SpendRow {
        key_id: Some(key.into()),
        team_id: Some(team.into()),
        user: user.map(Into::into),
        end_user: end_user.map(Into::into),
        ..row("", 0, 0)
    }
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

/// Five requests inside [D0, D2), one just before and one exactly at D2 (both outside).
fn fixture() -> Vec<SpendRow> {
    vec![
        SpendRow {
            request_id: "r1".into(),
            ts: D0 + HOUR + 15 * MINUTE,
            tags: tags(&["prod", "chat"]),
            input_tokens: 100,
            output_tokens: 50,
            cached_tokens: 40,
            cost_micros: 1_500,
            ..attributed("key_a", "team_x", Some("alice"), Some("sess1"))
        },
        SpendRow {
            request_id: "r2".into(),
            ts: D0 + HOUR + 45 * MINUTE,
            model: "claude".into(),
            provider: "anthropic".into(),
            upstream_model: "claude-sonnet-4".into(),
            tags: tags(&["prod"]),
            input_tokens: 200,
            output_tokens: 20,
            reasoning_tokens: 10,
            cost_micros: 2_600,
            ..attributed("key_a", "team_x", Some("alice"), Some("sess2"))
        },
        SpendRow {
            request_id: "r3".into(),
            ts: D0 + 13 * HOUR + 5 * MINUTE,
            provider: "azure".into(),
            input_tokens: 10,
            output_tokens: 5,
            cost_micros: 70,
            ..attributed("key_b", "team_x", Some("bob"), None)
        },
        SpendRow {
            request_id: "r4".into(),
            ts: D1,
            model: "gemini".into(),
            provider: "google".into(),
            upstream_model: "gemini-2.5-pro".into(),
            tags: tags(&["chat", "batch"]),
            input_tokens: 1_000,
            output_tokens: 300,
            cost_micros: 9_000,
            ..attributed("key_c", "team_y", None, None)
        },
        SpendRow {
            tags: tags(&["prod"]),
            input_tokens: 1,
            output_tokens: 1,
            ..row("r5", D2 - 1, 4)
        },
        SpendRow {
            request_id: "early".into(),
            ts: D0 - 1,
            tags: tags(&["prod"]),
            cost_micros: 50_000,
            ..attributed("key_a", "team_x", Some("alice"), Some("sess1"))
        },
        SpendRow {
            request_id: "late".into(),
            ts: D2,
            cost_micros: 100_000,
            ..attributed("key_a", "team_x", Some("alice"), Some("sess1"))
        },
    ]
}

fn g(group: &str, cost: i64, requests: i64, input: i64, output: i64) -> SpendGroup {
    SpendGroup {
        group: group.into(),
        cost_micros: cost,
        requests,
        input_tokens: input,
        output_tokens: output,
    }
}

async fn seeded(store: &Arc<dyn Store>) {
    assert_eq!(store.insert_spend(&fixture()).await.unwrap(), 7);
}

pub async fn spend_report_by_every_group(store: Arc<dyn Store>) {
    seeded(&store).await;
    let all = SpendFilter::default();
    let expected = [
        (
            GroupBy::Key,
            vec![
                g("key_c", 9_000, 1, 1_000, 300),
                g("key_a", 4_100, 2, 300, 70),
                g("key_b", 70, 1, 10, 5),
                g("", 4, 1, 1, 1),
            ],
        ),
        (
            GroupBy::Team,
            vec![
                g("team_y", 9_000, 1, 1_000, 300),
                g("team_x", 4_170, 3, 310, 75),
                g("", 4, 1, 1, 1),
            ],
        ),
        (
            GroupBy::User,
            vec![
                g("", 9_004, 2, 1_001, 301),
                g("alice", 4_100, 2, 300, 70),
                g("bob", 70, 1, 10, 5),
            ],
        ),
        (
            GroupBy::Model,
            vec![
                g("gemini", 9_000, 1, 1_000, 300),
                g("claude", 2_600, 1, 200, 20),
                g("gpt-4o", 1_574, 3, 111, 56),
            ],
        ),
        (
            GroupBy::Provider,
            vec![
                g("google", 9_000, 1, 1_000, 300),
                g("anthropic", 2_600, 1, 200, 20),
                g("openai", 1_504, 2, 101, 51),
                g("azure", 70, 1, 10, 5),
            ],
        ),
        (
            // One row per tag; r3 has no tags and drops out.
            GroupBy::Tag,
            vec![
                g("chat", 10_500, 2, 1_100, 350),
                g("batch", 9_000, 1, 1_000, 300),
                g("prod", 4_104, 3, 301, 71),
            ],
        ),
        (
            GroupBy::Day,
            vec![
                g("2024-03-11", 9_004, 2, 1_001, 301),
                g("2024-03-10", 4_170, 3, 310, 75),
            ],
        ),
        (
            GroupBy::Hour,
            vec![
                g("2024-03-11T00:00:00Z", 9_000, 1, 1_000, 300),
                g("2024-03-10T01:00:00Z", 4_100, 2, 300, 70),
                g("2024-03-10T13:00:00Z", 70, 1, 10, 5),
                g("2024-03-11T23:00:00Z", 4, 1, 1, 1),
            ],
        ),
    ];
    assert_eq!(expected.len(), GroupBy::ALL.len());
    for (group_by, rows) in expected {
        let got = store.spend_report(group_by, D0, D2, &all).await.unwrap();
        assert_eq!(got, rows, "group_by {group_by}");
    }
}

pub async fn spend_report_filters_and_date_ranges(store: Arc<dyn Store>) {
    seeded(&store).await;
    let team_x = SpendFilter {
        team_id: Some("team_x".into()),
        key_id: None,
    };
    assert_eq!(
        store
            .spend_report(GroupBy::Model, D0, D2, &team_x)
            .await
            .unwrap(),
        [
            g("claude", 2_600, 1, 200, 20),
            g("gpt-4o", 1_570, 2, 110, 55)
        ]
    );
    let key_a = SpendFilter {
        key_id: Some("key_a".into()),
        team_id: None,
    };
    assert_eq!(
        store
            .spend_report(GroupBy::Day, D0, D2, &key_a)
            .await
            .unwrap(),
        [g("2024-03-10", 4_100, 2, 300, 70)]
    );
    let both = SpendFilter {
        key_id: Some("key_b".into()),
        team_id: Some("team_x".into()),
    };
    assert_eq!(
        store
            .spend_report(GroupBy::Key, D0, D2, &both)
            .await
            .unwrap(),
        [g("key_b", 70, 1, 10, 5)]
    );
    let mismatch = SpendFilter {
        key_id: Some("key_c".into()),
        team_id: Some("team_x".into()),
    };
    assert!(store
        .spend_report(GroupBy::Key, D0, D2, &mismatch)
        .await
        .unwrap()
        .is_empty());

    let all = SpendFilter::default();
    // [from, to) is half-open on both ends of the fixture.
    assert_eq!(
        store
            .spend_report(GroupBy::Team, D1, D2, &all)
            .await
            .unwrap(),
        [g("team_y", 9_000, 1, 1_000, 300), g("", 4, 1, 1, 1)]
    );
    assert_eq!(
        store
            .spend_report(GroupBy::Key, D0 - 1, D0, &all)
            .await
            .unwrap(),
        [g("key_a", 50_000, 1, 0, 0)]
    );
    assert_eq!(
        store
            .spend_report(GroupBy::Day, D0 - 1, D2 + 1, &all)
            .await
            .unwrap(),
        [
            g("2024-03-12", 100_000, 1, 0, 0),
            g("2024-03-09", 50_000, 1, 0, 0),
            g("2024-03-11", 9_004, 2, 1_001, 301),
            g("2024-03-10", 4_170, 3, 310, 75),
        ]
    );
    // Only r3 falls in this hour, and it has no tags.
    let r3_hour = (D0 + 13 * HOUR, D0 + 14 * HOUR);
    assert_eq!(
        store
            .spend_report(GroupBy::Key, r3_hour.0, r3_hour.1, &all)
            .await
            .unwrap(),
        [g("key_b", 70, 1, 10, 5)]
    );
    assert!(store
        .spend_report(GroupBy::Tag, r3_hour.0, r3_hour.1, &all)
        .await
        .unwrap()
        .is_empty());
}

pub async fn spend_totals_per_scope(store: Arc<dyn Store>) {
    seeded(&store).await;
    let total = |scope: SpendScope, from: i64, to: i64| {
        let store = store.clone();
        async move { store.spend_total(&scope, from, to).await.unwrap() }
    };
    assert_eq!(total(SpendScope::Key("key_a".into()), D0, D2).await, 4_100);
    assert_eq!(
        total(SpendScope::Key("key_a".into()), D0 - 1, D2 + 1).await,
        154_100
    );
    assert_eq!(
        total(SpendScope::Team("team_x".into()), D0, D2).await,
        4_170
    );
    assert_eq!(total(SpendScope::Team("team_y".into()), D0, D1).await, 0);
    assert_eq!(total(SpendScope::User("alice".into()), D0, D2).await, 4_100);
    assert_eq!(total(SpendScope::User("bob".into()), D0, D2).await, 70);
    assert_eq!(
        total(SpendScope::EndUser("sess1".into()), D0, D2).await,
        1_500
    );
    assert_eq!(
        total(SpendScope::EndUser("sess1".into()), D0 - 1, D2 + 1).await,
        151_500
    );
    assert_eq!(
        total(SpendScope::Key("key_none".into()), 0, i64::MAX).await,
        0
    );
}

pub async fn spend_insert_is_idempotent_and_chunked(store: Arc<dyn Store>) {
    assert_eq!(store.insert_spend(&[]).await.unwrap(), 0);
    // 4,500 rows: more than two multi-row statements' worth, in one transaction.
    let rows: Vec<SpendRow> = (0..4_500)
        .map(|i| SpendRow {
            tags: tags(&["bulk"]),
            input_tokens: 2,
            ..row(&format!("bulk-{i}"), D0 + i, i % 7)
        })
        .collect();
    assert_eq!(store.insert_spend(&rows).await.unwrap(), 4_500);
    let expected_cost: i64 = (0..4_500).map(|i| i % 7).sum();
    let report = store
        .spend_report(GroupBy::Tag, D0, D2, &SpendFilter::default())
        .await
        .unwrap();
    assert_eq!(report, [g("bulk", expected_cost, 4_500, 9_000, 0)]);

    // Re-sending a batch (retry after a timeout) does not double-count; new rows still land,
    // and a duplicate within one batch counts once.
    let mut retry = rows[4_000..].to_vec();
    retry.push(row("fresh", D0, 1_000));
    retry.push(row("fresh", D0, 1_000));
    assert_eq!(store.insert_spend(&retry).await.unwrap(), 1);
    let report = store
        .spend_report(GroupBy::Model, D0, D2, &SpendFilter::default())
        .await
        .unwrap();
    assert_eq!(
        report,
        [g("gpt-4o", expected_cost + 1_000, 4_501, 9_000, 0)]
    );
}

pub async fn concurrent_batch_inserts(store: Arc<dyn Store>) {
    const TASKS: i64 = 8;
    const BATCHES: i64 = 10;
    const PER_BATCH: i64 = 50;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            for batch in 0..BATCHES {
                let base = (task * BATCHES + batch) * PER_BATCH;
                let spend: Vec<SpendRow> = (base..base + PER_BATCH)
                    .map(|i| SpendRow {
                        key_id: Some(format!("key_{task}")),
                        ..row(&format!("c-{i}"), D0 + i, 3)
                    })
                    .collect();
                let logs: Vec<LogRow> = spend.iter().map(log_for).collect();
                let (a, b) = tokio::join!(store.insert_spend(&spend), store.insert_logs(&logs));
                assert_eq!(a.unwrap(), PER_BATCH as u64);
                assert_eq!(b.unwrap(), PER_BATCH as u64);
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let total_rows = TASKS * BATCHES * PER_BATCH;
    let report = store
        .spend_report(GroupBy::Key, D0, D2, &SpendFilter::default())
        .await
        .unwrap();
    assert_eq!(report.len(), TASKS as usize);
    for group in &report {
        assert_eq!(group.requests, BATCHES * PER_BATCH, "{}", group.group);
        assert_eq!(group.cost_micros, 3 * BATCHES * PER_BATCH);
    }
    let mut seen = 0;
    let mut cursor = None;
    loop {
        let page = store
            .query_logs(&LogFilter::default(), cursor.as_deref(), 1000)
            .await
            .unwrap();
        seen += page.items.len() as i64;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, total_rows);
}

fn log_for(s: &SpendRow) -> LogRow {
    LogRow {
        client_request_id: None,
        request_id: s.request_id.clone(),
        ts: s.ts,
        key_id: s.key_id.clone(),
        team_id: None,
        user: None,
        model_requested: s.model.clone(),
        model_served: Some(s.upstream_model.clone()),
        provider: Some(s.provider.clone()),
        attempts: 1,
        status: 200,
        error_class: None,
        input_tokens: s.input_tokens,
        output_tokens: s.output_tokens,
        cost_micros: s.cost_micros,
        latency_ms: 120,
        ttft_ms: None,
        cache_status: "miss".into(),
        stream: false,
        request_body: None,
        response_body: None,
        tags: s.tags.clone(),
    }
}

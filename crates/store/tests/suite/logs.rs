//! The request log: round trip, filters, cursor pagination, page-size clamp, pruning.

use std::collections::HashSet;
use std::sync::Arc;
use switchyard_store::{LogFilter, LogRow, Store, StoreError};

const T0: i64 = 1_710_028_800_000;

fn log(id: &str, ts: i64) -> LogRow {
    LogRow {
        client_request_id: None,
        request_id: id.into(),
        ts,
        key_id: Some("key_a".into()),
        team_id: Some("team_x".into()),
        user: Some("alice".into()),
        model_requested: "gpt-4o".into(),
        model_served: Some("gpt-4o-2024-08-06".into()),
        provider: Some("openai".into()),
        attempts: 1,
        status: 200,
        error_class: None,
        input_tokens: 12,
        output_tokens: 34,
        cost_micros: 56,
        latency_ms: 789,
        ttft_ms: Some(210),
        cache_status: "miss".into(),
        stream: true,
        request_body: None,
        response_body: None,
        tags: vec![],
    }
}

/// Everything the filters can tell apart, plus some rows sharing a timestamp.
fn fixture() -> Vec<LogRow> {
    vec![
        LogRow {
            request_body: Some(r#"{"model":"gpt-4o","messages":[]}"#.into()),
            response_body: Some(r#"{"choices":[]}"#.into()),
            tags: vec!["prod".into(), "chat".into()],
            ..log("a", T0)
        },
        LogRow {
            // b and c carried the same x-request-id from their client.
            client_request_id: Some("client-1".into()),
            status: 429,
            error_class: Some("rate_limited".into()),
            model_served: None,
            provider: None,
            attempts: 0,
            ttft_ms: None,
            stream: false,
            ..log("b", T0 + 10)
        },
        LogRow {
            client_request_id: Some("client-1".into()),
            model_requested: "fast".into(),
            model_served: Some("claude-haiku".into()),
            provider: Some("anthropic".into()),
            attempts: 3,
            status: 502,
            error_class: Some("upstream".into()),
            key_id: Some("key_b".into()),
            ..log("c", T0 + 10)
        },
        LogRow {
            team_id: Some("team_y".into()),
            key_id: None,
            user: None,
            cache_status: "hit".into(),
            ..log("d", T0 + 20)
        },
    ]
}

fn ids(rows: &[LogRow]) -> Vec<&str> {
    rows.iter().map(|r| r.request_id.as_str()).collect()
}

pub async fn log_roundtrip_and_filters(store: Arc<dyn Store>) {
    let rows = fixture();
    assert_eq!(store.insert_logs(&rows).await.unwrap(), 4);
    assert_eq!(
        store.insert_logs(&rows[..1]).await.unwrap(),
        0,
        "duplicates skipped"
    );
    for row in &rows {
        let got = store.get_log(&row.request_id).await.unwrap().unwrap();
        assert_eq!(&got, row);
    }
    assert_eq!(store.get_log("zzz").await.unwrap(), None);

    let query = |filter: LogFilter| {
        let store = store.clone();
        async move {
            let page = store.query_logs(&filter, None, 100).await.unwrap();
            assert_eq!(page.next_cursor, None);
            page.items
        }
    };
    // Newest first; equal timestamps by request id, descending.
    assert_eq!(
        ids(&query(LogFilter::default()).await),
        ["d", "c", "b", "a"]
    );
    let key_a = LogFilter {
        key_id: Some("key_a".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(key_a).await), ["b", "a"]);
    let team_y = LogFilter {
        team_id: Some("team_y".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(team_y).await), ["d"]);
    let served = LogFilter {
        model: Some("claude-haiku".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(served).await), ["c"]);
    let asked = LogFilter {
        model: Some("gpt-4o".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(asked).await), ["d", "b", "a"]);
    let status = LogFilter {
        status: Some(429),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(status).await), ["b"]);
    let class = LogFilter {
        error_class: Some("upstream".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(class).await), ["c"]);
    let range = LogFilter {
        from_ms: Some(T0 + 10),
        to_ms: Some(T0 + 20),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(range).await), ["c", "b"]);
    let combined = LogFilter {
        key_id: Some("key_a".into()),
        status: Some(200),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(combined).await), ["a"]);
    // A request id matches the gateway's id or the one the client sent (which may repeat).
    let by_client_id = LogFilter {
        request_id: Some("client-1".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(by_client_id).await), ["c", "b"]);
    let by_own_id = LogFilter {
        request_id: Some("b".into()),
        ..LogFilter::default()
    };
    assert_eq!(ids(&query(by_own_id).await), ["b"]);
    // One request: by its own id, else the newest that carried the client's id.
    let one = |id: &'static str| {
        let store = store.clone();
        async move { store.get_log(id).await.unwrap().map(|r| r.request_id) }
    };
    assert_eq!(one("b").await.as_deref(), Some("b"));
    assert_eq!(one("client-1").await.as_deref(), Some("c"));
    assert_eq!(one("client-2").await, None);

    for bad in ["garbage", "bDE6eDp5"] {
        let err = store
            .query_logs(&LogFilter::default(), Some(bad), 10)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
}

pub async fn log_pagination_has_no_duplicates_or_gaps(store: Arc<dyn Store>) {
    // 1,000 rows, five per millisecond, inserted in shuffled batches.
    let mut rows: Vec<LogRow> = (0..1_000)
        .map(|i| LogRow {
            client_request_id: None,
            key_id: Some(if i % 3 == 0 { "key_x" } else { "key_y" }.into()),
            ..log(&format!("req-{:04}", (i * 7_919) % 1_000), T0 + i / 5)
        })
        .collect();
    rows.reverse();
    for batch in rows.chunks(137) {
        store.insert_logs(batch).await.unwrap();
    }
    let newest_first = |key: Option<&str>| {
        let mut list: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| key.is_none() || r.key_id.as_deref() == key)
            .map(|r| (r.ts, r.request_id.clone()))
            .collect();
        list.sort();
        list.reverse();
        list
    };
    let key_x = LogFilter {
        key_id: Some("key_x".into()),
        ..LogFilter::default()
    };
    let all = newest_first(None);
    assert_eq!(all.len(), 1_000);
    let of_x = newest_first(Some("key_x"));
    assert_eq!(of_x.len(), 334);

    for (filter, want) in [(LogFilter::default(), all), (key_x, of_x)] {
        let mut got = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = store
                .query_logs(&filter, cursor.as_deref(), 97)
                .await
                .unwrap();
            pages += 1;
            assert!(page.items.len() <= 97);
            for item in &page.items {
                assert!(
                    seen.insert(item.request_id.clone()),
                    "duplicate {}",
                    item.request_id
                );
                got.push((item.ts, item.request_id.clone()));
            }
            match page.next_cursor {
                Some(next) => {
                    assert_eq!(page.items.len(), 97, "only the last page is short");
                    cursor = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(
            got, want,
            "pages concatenate to the full newest-first listing"
        );
        assert_eq!(pages, want.len().div_ceil(97).max(1));
    }
}

pub async fn log_page_limit_is_clamped(store: Arc<dyn Store>) {
    let rows: Vec<LogRow> = (0..1_005)
        .map(|i| log(&format!("r{i:05}"), T0 + i))
        .collect();
    store.insert_logs(&rows).await.unwrap();
    let page = store
        .query_logs(&LogFilter::default(), None, 50_000)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1_000);
    assert_eq!(page.items[0].request_id, "r01004");
    let rest = store
        .query_logs(&LogFilter::default(), page.next_cursor.as_deref(), 50_000)
        .await
        .unwrap();
    assert_eq!(
        ids(&rest.items),
        ["r00004", "r00003", "r00002", "r00001", "r00000"]
    );
    assert_eq!(rest.next_cursor, None);
    let one = store
        .query_logs(&LogFilter::default(), None, 0)
        .await
        .unwrap();
    assert_eq!(ids(&one.items), ["r01004"]);
    assert!(one.next_cursor.is_some());
}

pub async fn prune_logs_deletes_only_old_rows(store: Arc<dyn Store>) {
    // 12,000 rows: pruning 10,000 of them takes several chunked deletes.
    let rows: Vec<LogRow> = (0..12_000)
        .map(|i| log(&format!("p{i:05}"), T0 + i))
        .collect();
    for batch in rows.chunks(3_000) {
        store.insert_logs(batch).await.unwrap();
    }
    assert_eq!(store.prune_logs(T0 + 10_000).await.unwrap(), 10_000);
    assert_eq!(store.prune_logs(T0 + 10_000).await.unwrap(), 0);
    assert_eq!(store.get_log("p09999").await.unwrap(), None);
    assert!(store.get_log("p10000").await.unwrap().is_some());
    let page = store
        .query_logs(&LogFilter::default(), None, 1_000)
        .await
        .unwrap();
    let rest = store
        .query_logs(&LogFilter::default(), page.next_cursor.as_deref(), 1_000)
        .await
        .unwrap();
    assert_eq!(page.items.len() + rest.items.len(), 2_000);
    assert_eq!(rest.next_cursor, None);
    assert_eq!(rest.items.last().unwrap().request_id, "p10000");
    assert_eq!(store.prune_logs(T0).await.unwrap(), 0);
}

//! Test backends: in-memory counters always, Redis counters when `SWITCHYARD_TEST_REDIS_URL`
//! is set (each test gets its own random key prefix, so tests never see each other's keys).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure here is a failed test"
)]

use std::sync::Arc;

use switchyard_policy::{Counters, MemoryCounters, RedisCounters};

pub const REDIS_ENV: &str = "SWITCHYARD_TEST_REDIS_URL";

pub struct Backend {
    pub name: &'static str,
    pub counters: Arc<dyn Counters>,
    /// The Redis URL and key prefix, for tests that open a second "replica" or inspect keys.
    pub redis: Option<(String, String)>,
}

pub fn redis_url() -> Option<String> {
    std::env::var(REDIS_ENV).ok().filter(|s| !s.is_empty())
}

pub fn random_prefix(test: &str) -> String {
    format!("sy:test:{test}:{:016x}:", rand::random::<u64>())
}

/// The backends to run `test` against. Prints a clear line when Redis is skipped.
pub async fn backends(test: &str) -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "memory",
        counters: Arc::new(MemoryCounters::new()),
        redis: None,
    }];
    match redis_url() {
        Some(url) => {
            let prefix = random_prefix(test);
            let counters = RedisCounters::connect_with_prefix(&url, &prefix)
                .await
                .expect("SWITCHYARD_TEST_REDIS_URL is set but Redis is unreachable");
            out.push(Backend {
                name: "redis",
                counters: Arc::new(counters),
                redis: Some((url, prefix)),
            });
        }
        None => {
            // Written past the test harness's capture so the skip shows in every run's log,
            // once per test binary.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: redis counter backend ({REDIS_ENV} not set); memory backend only (first: {test})"
                );
            });
        }
    }
    out
}

/// A second replica: another connection to the same Redis with the same prefix.
pub async fn second_replica(b: &Backend) -> Option<Arc<dyn Counters>> {
    let (url, prefix) = b.redis.as_ref()?;
    let other = RedisCounters::connect_with_prefix(url, prefix).await.ok()?;
    Some(Arc::new(other))
}

/// Every key under the backend's prefix has an expiry (nothing grows without bound); returns
/// how many keys were checked. Memory backends return 0.
pub async fn assert_all_keys_expire(b: &Backend) -> usize {
    let Some((url, prefix)) = &b.redis else {
        return 0;
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    for key in &keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no expiry (PTTL {ttl})");
    }
    keys.len()
}

/// Checks that every key expires, then deletes this test's keys from the shared Redis.
pub async fn finish(b: &Backend) -> usize {
    let n = assert_all_keys_expire(b).await;
    if let Some((url, prefix)) = &b.redis {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    }
    n
}

//! Counters in Redis, shared by every gateway replica. Each check-and-update is one Lua script
//! (`scripts/*.lua`), so it is atomic across replicas; times come from the Redis server's
//! `TIME`, so replicas with skewed clocks still agree on windows. Requires Redis ≥ 5 (scripts
//! that write after reading `TIME` rely on effects replication, the default since 5 and the
//! only mode since 7).
//!
//! Keys (the prefix defaults to `sy:`; user-chosen parts are escaped, see [`escape`]):
//!
//! | key | type | expiry |
//! | --- | --- | --- |
//! | `sy:rl:{KEY}:WINDOW_MS` | hash `i`,`p`,`c` — sliding-window state | 2 windows |
//! | `sy:cc:{KEY}` | zset lease id → expiry | longest lease |
//! | `sy:b:{KEY\|WINDOW}` | hash `s` or `h<hour>` spend, `r` reserved | window end (+ hold) |
//! | `sy:b:{KEY\|WINDOW}:res` | hash reservation id → micros | same |
//! | `sy:b:{KEY\|WINDOW}:exp` | zset reservation id → expiry | same |
//!
//! The `{…}` hash tags keep the keys one script touches in one Redis Cluster slot.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use super::{
    duration_ms, escape, new_id, BoxFuture, BudgetState, BudgetWindow, CounterError, Counters,
    Decision, Exceeded, Lease, Reservation, Settled,
};

const COMMON: &str = include_str!("scripts/common.lua");

struct Scripts {
    rate_check: Script,
    rate_adjust: Script,
    acquire: Script,
    reserve: Script,
    settle: Script,
    release: Script,
    spent: Script,
    seed: Script,
}

impl Scripts {
    fn load() -> Self {
        let budget = |body: &str| Script::new(&format!("{COMMON}\n{body}"));
        Self {
            rate_check: Script::new(include_str!("scripts/rate_check.lua")),
            rate_adjust: Script::new(include_str!("scripts/rate_adjust.lua")),
            acquire: Script::new(include_str!("scripts/acquire.lua")),
            reserve: budget(include_str!("scripts/reserve.lua")),
            settle: budget(include_str!("scripts/settle.lua")),
            release: budget(include_str!("scripts/release.lua")),
            spent: budget(include_str!("scripts/spent.lua")),
            seed: budget(include_str!("scripts/seed.lua")),
        }
    }
}

fn map_err(e: redis::RedisError) -> CounterError {
    // The error text never contains the connection URL (and so no password): it is the kind,
    // and the server's own message where there is one.
    match e.detail() {
        Some(detail) => CounterError::new(format!("redis {:?}: {detail}", e.kind())),
        None => CounterError::new(format!("redis {:?}", e.kind())),
    }
}

/// Counters in Redis. Cheap to clone; every clone shares one multiplexed connection that
/// reconnects by itself.
#[derive(Clone)]
pub struct RedisCounters {
    conn: ConnectionManager,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn mode(window: &BudgetWindow) -> (&'static str, i64, u32) {
    match window {
        BudgetWindow::Fixed { expires_at_ms, .. } => ("f", *expires_at_ms, 0),
        BudgetWindow::Rolling { hours } => ("r", 0, (*hours).max(1)),
    }
}

impl RedisCounters {
    /// Connects to `url` (`redis://[:password@]host:port[/db]`, `rediss://` for TLS is not
    /// compiled in) with the `sy:` key prefix.
    pub async fn connect(url: &str) -> Result<Self, CounterError> {
        Self::connect_with_prefix(url, "sy:").await
    }

    /// Connects with another key prefix (tests isolate themselves with a random one).
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, CounterError> {
        let client = redis::Client::open(url).map_err(map_err)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(map_err)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts::load()),
        })
    }

    fn rate_key(&self, key: &str, window_ms: u64) -> String {
        format!("{}rl:{{{}}}:{window_ms}", self.prefix, escape(key))
    }

    fn lease_key(&self, key: &str) -> String {
        format!("{}cc:{{{}}}", self.prefix, escape(key))
    }

    fn budget_keys(&self, key: &str, window: &BudgetWindow) -> [String; 3] {
        let base = format!(
            "{}b:{{{}|{}}}",
            self.prefix,
            escape(key),
            escape(&window.storage_suffix())
        );
        [base.clone(), format!("{base}:res"), format!("{base}:exp")]
    }

    async fn run_rate_check(
        &self,
        key: &str,
        cost: u64,
        limit: u64,
        window: Duration,
    ) -> Result<Decision, CounterError> {
        let w = duration_ms(window);
        let mut conn = self.conn.clone();
        let (allowed, remaining, reset): (i64, i64, i64) = self
            .scripts
            .rate_check
            .key(self.rate_key(key, w))
            .arg(cost)
            .arg(limit)
            .arg(w)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(Decision {
            allowed: allowed == 1,
            limit,
            remaining: u64::try_from(remaining).unwrap_or(0),
            reset_after: Duration::from_millis(u64::try_from(reset).unwrap_or(0)),
        })
    }

    async fn run_rate_adjust(
        &self,
        key: &str,
        delta: i64,
        window: Duration,
    ) -> Result<(), CounterError> {
        let w = duration_ms(window);
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .rate_adjust
            .key(self.rate_key(key, w))
            .arg(delta)
            .arg(w)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn run_acquire(
        &self,
        key: &str,
        limit: u64,
        ttl: Duration,
    ) -> Result<Option<Lease>, CounterError> {
        let id = new_id();
        let mut conn = self.conn.clone();
        let taken: i64 = self
            .scripts
            .acquire
            .key(self.lease_key(key))
            .arg(limit)
            .arg(duration_ms(ttl))
            .arg(&id)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok((taken == 1).then(|| Lease {
            key: key.to_owned(),
            id,
        }))
    }

    async fn run_release_lease(&self, lease: &Lease) -> Result<(), CounterError> {
        let mut conn = self.conn.clone();
        let _: i64 = conn
            .zrem(self.lease_key(&lease.key), &lease.id)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn run_reserve(
        &self,
        key: &str,
        window: &BudgetWindow,
        amount: u64,
        limit: u64,
        hold: Duration,
    ) -> Result<Result<Reservation, Exceeded>, CounterError> {
        let id = new_id();
        let (mode, fixed_at, hours) = mode(window);
        let [k1, k2, k3] = self.budget_keys(key, window);
        let mut conn = self.conn.clone();
        let (ok, spent, third): (i64, i64, i64) = self
            .scripts
            .reserve
            .key(k1)
            .key(k2)
            .key(k3)
            .arg(amount)
            .arg(limit)
            .arg(&id)
            .arg(duration_ms(hold))
            .arg(fixed_at)
            .arg(mode)
            .arg(hours)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        // Refused: the third value is the other reservations; admitted: the new total.
        let spent = u64::try_from(spent).unwrap_or(0);
        let third = u64::try_from(third).unwrap_or(0);
        if ok != 1 {
            return Ok(Err(Exceeded {
                spent,
                reserved: third,
            }));
        }
        Ok(Ok(Reservation {
            key: key.to_owned(),
            window: window.clone(),
            id,
            amount,
            committed: third,
        }))
    }

    async fn run_settle(&self, r: &Reservation, actual: u64) -> Result<Settled, CounterError> {
        let (mode, fixed_at, hours) = mode(&r.window);
        let [k1, k2, k3] = self.budget_keys(&r.key, &r.window);
        let mut conn = self.conn.clone();
        let (before, after): (i64, i64) = self
            .scripts
            .settle
            .key(k1)
            .key(k2)
            .key(k3)
            .arg(&r.id)
            .arg(actual)
            .arg(fixed_at)
            .arg(mode)
            .arg(hours)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(Settled {
            spent_before: u64::try_from(before).unwrap_or(0),
            spent_after: u64::try_from(after).unwrap_or(0),
        })
    }

    async fn run_release(&self, r: &Reservation) -> Result<(), CounterError> {
        let [k1, k2, k3] = self.budget_keys(&r.key, &r.window);
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .release
            .key(k1)
            .key(k2)
            .key(k3)
            .arg(&r.id)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn run_spent(
        &self,
        key: &str,
        window: &BudgetWindow,
    ) -> Result<BudgetState, CounterError> {
        let (mode, _, hours) = mode(window);
        let [k1, k2, k3] = self.budget_keys(key, window);
        let mut conn = self.conn.clone();
        let (spent, reserved): (i64, i64) = self
            .scripts
            .spent
            .key(k1)
            .key(k2)
            .key(k3)
            .arg(mode)
            .arg(hours)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(BudgetState {
            spent: u64::try_from(spent).unwrap_or(0),
            reserved: u64::try_from(reserved).unwrap_or(0),
        })
    }

    async fn run_seed(
        &self,
        key: &str,
        window: &BudgetWindow,
        micros: u64,
    ) -> Result<bool, CounterError> {
        let (mode, fixed_at, hours) = mode(window);
        let [k1, k2, k3] = self.budget_keys(key, window);
        let mut conn = self.conn.clone();
        let written: i64 = self
            .scripts
            .seed
            .key(k1)
            .key(k2)
            .key(k3)
            .arg(micros)
            .arg(fixed_at)
            .arg(mode)
            .arg(hours)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(written == 1)
    }
}

impl Counters for RedisCounters {
    fn rate_check<'a>(
        &'a self,
        key: &'a str,
        cost: u64,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Decision, CounterError>> {
        Box::pin(self.run_rate_check(key, cost, limit, window))
    }

    fn rate_adjust<'a>(
        &'a self,
        key: &'a str,
        delta: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        Box::pin(self.run_rate_adjust(key, delta, window))
    }

    fn acquire<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        lease_ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, CounterError>> {
        Box::pin(self.run_acquire(key, limit, lease_ttl))
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), CounterError>> {
        Box::pin(self.run_release_lease(lease))
    }

    fn reserve<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
        amount: u64,
        limit: u64,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Result<Reservation, Exceeded>, CounterError>> {
        Box::pin(self.run_reserve(key, window, amount, limit, hold))
    }

    fn settle<'a>(
        &'a self,
        reservation: &'a Reservation,
        actual: u64,
    ) -> BoxFuture<'a, Result<Settled, CounterError>> {
        Box::pin(self.run_settle(reservation, actual))
    }

    fn release<'a>(
        &'a self,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<(), CounterError>> {
        Box::pin(self.run_release(reservation))
    }

    fn spent<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
    ) -> BoxFuture<'a, Result<BudgetState, CounterError>> {
        Box::pin(self.run_spent(key, window))
    }

    fn seed<'a>(
        &'a self,
        key: &'a str,
        window: &'a BudgetWindow,
        micros: u64,
    ) -> BoxFuture<'a, Result<bool, CounterError>> {
        Box::pin(self.run_seed(key, window, micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_hash_tags_intact() {
        assert_eq!(escape("team-1"), "team-1");
        assert_eq!(escape("a{b}|c%"), "a%7Bb%7D%7Cc%25");
    }

    #[tokio::test]
    async fn errors_do_not_leak_the_url() {
        // Nothing listens on port 1; the password must not appear in the error.
        let err = RedisCounters::connect("redis://:hunter2@127.0.0.1:1/0")
            .await
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }
}

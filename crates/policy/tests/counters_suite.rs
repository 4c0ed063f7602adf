//! One counter test suite, run against `MemoryCounters` always and `RedisCounters` when
//! `SWITCHYARD_TEST_REDIS_URL` is set (skipped with a printed line otherwise).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{backends, finish, second_replica};
use switchyard_policy::{BudgetWindow, Counters};
use tokio::task::JoinSet;

const MINUTE: Duration = Duration::from_secs(60);
/// A day-long window: a 200-request burst never straddles its boundary in practice (and the
/// rounded-up weighting keeps the count exact even if it did).
const DAY: Duration = Duration::from_secs(86_400);

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a failed test"
)]
fn fixed(id: &str) -> BudgetWindow {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    BudgetWindow::Fixed {
        id: id.into(),
        expires_at_ms: now + 3_600_000,
    }
}

#[tokio::test]
async fn rate_check_counts_refuses_and_adjusts() {
    for b in backends("rate_check").await {
        let c = &b.counters;
        for i in 0..5 {
            let d = c.rate_check("k", 1, 5, MINUTE).await.unwrap();
            assert!(d.allowed, "{}: request {i}", b.name);
            assert_eq!(d.remaining, 4 - i, "{}", b.name);
            assert_eq!(d.limit, 5);
            assert!(d.reset_after <= MINUTE);
        }
        let refused = c.rate_check("k", 1, 5, MINUTE).await.unwrap();
        assert!(!refused.allowed, "{}", b.name);
        assert_eq!(refused.remaining, 0);
        assert!(refused.reset_after > Duration::ZERO);
        // A refused request was not counted: giving one back makes exactly one fit.
        c.rate_adjust("k", -1, MINUTE).await.unwrap();
        assert!(
            c.rate_check("k", 1, 5, MINUTE).await.unwrap().allowed,
            "{}",
            b.name
        );
        assert!(
            !c.rate_check("k", 1, 5, MINUTE).await.unwrap().allowed,
            "{}",
            b.name
        );
        // A cost larger than what is left is refused whole; a positive adjustment uses room.
        let d = c.rate_check("t", 700, 1_000, MINUTE).await.unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, 300);
        assert!(!c.rate_check("t", 301, 1_000, MINUTE).await.unwrap().allowed);
        c.rate_adjust("t", 250, MINUTE).await.unwrap();
        let d = c.rate_check("t", 50, 1_000, MINUTE).await.unwrap();
        assert!(d.allowed, "{}", b.name);
        assert_eq!(d.remaining, 0);
        // Adjusting below zero floors at zero.
        c.rate_adjust("t", -5_000, MINUTE).await.unwrap();
        assert_eq!(
            c.rate_check("t", 0, 1_000, MINUTE).await.unwrap().remaining,
            1_000
        );
        // A request bigger than the limit never fits.
        let d = c.rate_check("big", 11, 10, MINUTE).await.unwrap();
        assert!(!d.allowed);
        assert!(d.reset_after > MINUTE);
        // Keys and windows are independent.
        assert!(c.rate_check("k", 1, 5, DAY).await.unwrap().allowed);
        assert!(c.rate_check("other", 1, 5, MINUTE).await.unwrap().allowed);
        assert!(finish(&b).await > 0 || b.redis.is_none());
    }
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a failed test"
)]
async fn burst_rate(counters: Vec<Arc<dyn Counters>>, key: &str, limit: u64) -> u64 {
    let mut set = JoinSet::new();
    for i in 0..200 {
        let c = Arc::clone(&counters[i % counters.len()]);
        let key = key.to_owned();
        set.spawn(async move { c.rate_check(&key, 1, limit, DAY).await.unwrap().allowed });
    }
    let mut allowed = 0;
    while let Some(r) = set.join_next().await {
        allowed += u64::from(r.unwrap());
    }
    allowed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rate_checks_never_exceed_the_limit() {
    for b in backends("rate_burst").await {
        let allowed = burst_rate(vec![Arc::clone(&b.counters)], "burst", 37).await;
        assert_eq!(allowed, 37, "{}", b.name);
        if let Some(other) = second_replica(&b).await {
            let allowed = burst_rate(vec![Arc::clone(&b.counters), other], "two", 53).await;
            assert_eq!(allowed, 53, "two replicas share one limit");
        }
        finish(&b).await;
    }
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a failed test"
)]
async fn burst_reserve(counters: Vec<Arc<dyn Counters>>, key: &str, cost: u64, limit: u64) -> u64 {
    let window = fixed("w1");
    let mut set = JoinSet::new();
    for i in 0..200 {
        let c = Arc::clone(&counters[i % counters.len()]);
        let key = key.to_owned();
        let window = window.clone();
        set.spawn(async move {
            c.reserve(&key, &window, cost, limit, MINUTE)
                .await
                .unwrap()
                .is_ok()
        });
    }
    let mut admitted = 0;
    while let Some(r) = set.join_next().await {
        admitted += u64::from(r.unwrap());
    }
    let state = counters[0].spent(key, &window).await.unwrap();
    assert_eq!(state.reserved, admitted * cost);
    assert_eq!(state.spent, 0);
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_exceed_the_budget() {
    for b in backends("reserve_burst").await {
        // C = 7 µ$, L = 1000 µ$: floor(1000 / 7) = 142.
        let admitted = burst_reserve(vec![Arc::clone(&b.counters)], "budget", 7, 1_000).await;
        assert_eq!(admitted, 142, "{}", b.name);
        if let Some(other) = second_replica(&b).await {
            let admitted =
                burst_reserve(vec![Arc::clone(&b.counters), other], "shared", 13, 1_000).await;
            assert_eq!(admitted, 76, "two replicas share one budget");
        }
        finish(&b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_acquires_never_exceed_the_slots() {
    for b in backends("acquire_burst").await {
        let mut counters = vec![Arc::clone(&b.counters)];
        if let Some(other) = second_replica(&b).await {
            counters.push(other);
        }
        let mut set = JoinSet::new();
        for i in 0..200 {
            let c = Arc::clone(&counters[i % counters.len()]);
            set.spawn(async move { c.acquire("slots", 7, MINUTE).await.unwrap() });
        }
        let mut leases = Vec::new();
        while let Some(r) = set.join_next().await {
            leases.extend(r.unwrap());
        }
        assert_eq!(leases.len(), 7, "{}", b.name);
        b.counters.release_lease(&leases[0]).await.unwrap();
        // Releasing twice is harmless and frees nothing more.
        b.counters.release_lease(&leases[0]).await.unwrap();
        assert!(b
            .counters
            .acquire("slots", 7, MINUTE)
            .await
            .unwrap()
            .is_some());
        assert!(b
            .counters
            .acquire("slots", 7, MINUTE)
            .await
            .unwrap()
            .is_none());
        finish(&b).await;
    }
}

#[tokio::test]
async fn leases_expire_by_themselves() {
    for b in backends("lease_expiry").await {
        let c = &b.counters;
        let lease = c.acquire("l", 1, Duration::from_millis(150)).await.unwrap();
        assert!(lease.is_some());
        assert!(c.acquire("l", 1, MINUTE).await.unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            c.acquire("l", 1, MINUTE).await.unwrap().is_some(),
            "{}",
            b.name
        );
        finish(&b).await;
    }
}

#[tokio::test]
async fn settle_replaces_the_reservation_and_may_exceed_it() {
    for b in backends("settle").await {
        let c = &b.counters;
        let w = fixed("d2026-11-26");
        let r1 = c
            .reserve("team", &w, 400, 1_000, MINUTE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r1.committed, 400);
        let r2 = c
            .reserve("team", &w, 400, 1_000, MINUTE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r2.committed, 800);
        let refused = c
            .reserve("team", &w, 400, 1_000, MINUTE)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((refused.spent, refused.reserved), (0, 800), "{}", b.name);

        // Actual cost above the reservation is charged in full.
        let s = c.settle(&r1, 550).await.unwrap();
        assert_eq!((s.spent_before, s.spent_after), (0, 550), "{}", b.name);
        let state = c.spent("team", &w).await.unwrap();
        assert_eq!((state.spent, state.reserved), (550, 400), "{}", b.name);

        c.release(&r2).await.unwrap();
        let state = c.spent("team", &w).await.unwrap();
        assert_eq!((state.spent, state.reserved), (550, 0));
        // Settling or releasing the same reservation again does not free anything twice.
        c.release(&r2).await.unwrap();
        assert_eq!(c.spent("team", &w).await.unwrap().reserved, 0);

        // 450 left: 450 fits, 451 does not.
        assert!(c
            .reserve("team", &w, 451, 1_000, MINUTE)
            .await
            .unwrap()
            .is_err());
        let r3 = c
            .reserve("team", &w, 450, 1_000, MINUTE)
            .await
            .unwrap()
            .unwrap();
        c.settle(&r3, 0).await.unwrap();
        assert_eq!(c.spent("team", &w).await.unwrap().spent, 550);
        // Other windows and keys are untouched.
        assert_eq!(
            c.spent("team", &fixed("d2026-11-27")).await.unwrap().spent,
            0
        );
        assert_eq!(c.spent("other", &w).await.unwrap().spent, 0);
        finish(&b).await;
    }
}

#[tokio::test]
async fn reservations_expire_and_late_settlements_still_charge() {
    for b in backends("reservation_expiry").await {
        let c = &b.counters;
        let w = fixed("m2026-11");
        let r = c
            .reserve("k", &w, 900, 1_000, Duration::from_millis(150))
            .await
            .unwrap()
            .unwrap();
        assert!(c
            .reserve("k", &w, 200, 1_000, MINUTE)
            .await
            .unwrap()
            .is_err());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(c.spent("k", &w).await.unwrap().reserved, 0, "{}", b.name);
        let s = c.settle(&r, 300).await.unwrap();
        assert_eq!(s.spent_after, 300, "{}", b.name);
        assert_eq!(
            c.spent("k", &w).await.unwrap(),
            switchyard_policy::BudgetState {
                spent: 300,
                reserved: 0
            }
        );
        finish(&b).await;
    }
}

#[tokio::test]
async fn seed_only_when_absent() {
    for b in backends("seed").await {
        let c = &b.counters;
        let w = fixed("m2026-11");
        assert!(c.seed("k", &w, 1_234).await.unwrap(), "{}", b.name);
        assert!(!c.seed("k", &w, 9_999).await.unwrap(), "{}", b.name);
        assert_eq!(c.spent("k", &w).await.unwrap().spent, 1_234);
        // A window that already has spend is not overwritten.
        let r = c.reserve("k2", &w, 10, 100, MINUTE).await.unwrap().unwrap();
        c.settle(&r, 10).await.unwrap();
        assert!(!c.seed("k2", &w, 50).await.unwrap());
        assert_eq!(c.spent("k2", &w).await.unwrap().spent, 10);
        // Seeded spend counts against the limit.
        assert!(c
            .reserve("k", &w, 100, 1_300, MINUTE)
            .await
            .unwrap()
            .is_err());
        assert!(c.reserve("k", &w, 66, 1_300, MINUTE).await.unwrap().is_ok());

        let rolling = BudgetWindow::Rolling { hours: 24 };
        assert!(c.seed("r", &rolling, 500).await.unwrap());
        assert!(!c.seed("r", &rolling, 500).await.unwrap());
        assert_eq!(c.spent("r", &rolling).await.unwrap().spent, 500);
        finish(&b).await;
    }
}

#[tokio::test]
async fn rolling_windows_sum_their_buckets() {
    for b in backends("rolling").await {
        let c = &b.counters;
        let w = BudgetWindow::Rolling { hours: 6 };
        let r = c.reserve("u", &w, 100, 250, MINUTE).await.unwrap().unwrap();
        c.settle(&r, 120).await.unwrap();
        let r = c.reserve("u", &w, 100, 250, MINUTE).await.unwrap().unwrap();
        c.settle(&r, 80).await.unwrap();
        assert_eq!(c.spent("u", &w).await.unwrap().spent, 200, "{}", b.name);
        assert!(c.reserve("u", &w, 51, 250, MINUTE).await.unwrap().is_err());
        // A different rolling length is a different window.
        assert_eq!(
            c.spent("u", &BudgetWindow::Rolling { hours: 1 })
                .await
                .unwrap()
                .spent,
            0
        );
        finish(&b).await;
    }
}

#[tokio::test]
async fn awkward_keys_are_isolated() {
    for b in backends("keys").await {
        let c = &b.counters;
        let w = fixed("total");
        // Keys that contain the separators of the storage layout must not collide.
        let r = c.reserve("a|b", &w, 5, 10, MINUTE).await.unwrap().unwrap();
        c.settle(&r, 5).await.unwrap();
        assert_eq!(
            c.spent("a", &fixed("b|total")).await.unwrap().spent,
            0,
            "{}",
            b.name
        );
        assert_eq!(c.spent("a|b", &w).await.unwrap().spent, 5);
        assert!(c.rate_check("{x}", 1, 1, MINUTE).await.unwrap().allowed);
        assert!(c.rate_check("x", 1, 1, MINUTE).await.unwrap().allowed);
        assert!(
            c.rate_check("end-user ü ✓", 1, 1, MINUTE)
                .await
                .unwrap()
                .allowed
        );
        finish(&b).await;
    }
}

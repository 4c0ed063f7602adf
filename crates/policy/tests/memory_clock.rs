//! Window behaviour over time, on the in-memory backend with a manual clock (no sleeping).

use std::sync::Arc;
use std::time::Duration;

use switchyard_policy::clock::ManualClock;
use switchyard_policy::{BudgetWindow, Counters, MemoryCounters};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR_MS: u64 = 3_600_000;
/// A round start time: 2026-11-26T00:00:00Z.
const T0: u64 = 1_795_651_200_000;

#[tokio::test]
async fn sliding_window_carries_the_previous_minute() {
    let clock = Arc::new(ManualClock::new(T0));
    let c = MemoryCounters::with_clock(clock.clone());
    for _ in 0..10 {
        assert!(c.rate_check("k", 1, 10, MINUTE).await.unwrap().allowed);
    }
    assert!(!c.rate_check("k", 1, 10, MINUTE).await.unwrap().allowed);
    // At the start of the next minute the previous one still overlaps fully.
    clock.set(T0 + 60_000);
    let d = c.rate_check("k", 1, 10, MINUTE).await.unwrap();
    assert!(!d.allowed);
    // The hint: 10·(60000 − t)/60000 ≤ 9 → t ≥ 6000 ms.
    assert_eq!(d.reset_after, Duration::from_millis(6_000));
    clock.set(T0 + 66_000);
    assert!(c.rate_check("k", 1, 10, MINUTE).await.unwrap().allowed);
    // Half-way through: ceil(10·0.5) + 1 = 6 used; 4 more fit.
    clock.set(T0 + 90_000);
    for _ in 0..4 {
        assert!(c.rate_check("k", 1, 10, MINUTE).await.unwrap().allowed);
    }
    assert!(!c.rate_check("k", 1, 10, MINUTE).await.unwrap().allowed);
    // Two minutes of silence clear everything.
    clock.set(T0 + 240_000);
    assert_eq!(
        c.rate_check("k", 0, 10, MINUTE).await.unwrap().remaining,
        10
    );
}

#[tokio::test]
async fn rolling_budget_buckets_age_out() {
    let clock = Arc::new(ManualClock::new(T0 + 10 * 60_000));
    let c = MemoryCounters::with_clock(clock.clone());
    let w = BudgetWindow::Rolling { hours: 2 };
    let r = c
        .reserve("k", &w, 100, 1_000, MINUTE)
        .await
        .unwrap()
        .unwrap();
    c.settle(&r, 100).await.unwrap();
    clock.set(T0 + HOUR_MS + 5 * 60_000);
    let r = c
        .reserve("k", &w, 50, 1_000, MINUTE)
        .await
        .unwrap()
        .unwrap();
    c.settle(&r, 50).await.unwrap();
    assert_eq!(c.spent("k", &w).await.unwrap().spent, 150);
    // Two hours after the first bucket began, it leaves the window.
    clock.set(T0 + 2 * HOUR_MS);
    assert_eq!(c.spent("k", &w).await.unwrap().spent, 50);
    clock.set(T0 + 3 * HOUR_MS);
    assert_eq!(c.spent("k", &w).await.unwrap().spent, 0);
}

#[tokio::test]
async fn reservations_and_leases_expire_on_the_clock() {
    let clock = Arc::new(ManualClock::new(T0));
    let c = MemoryCounters::with_clock(clock.clone());
    let w = BudgetWindow::Fixed {
        id: "total".into(),
        expires_at_ms: (T0 + 400 * 86_400_000) as i64,
    };
    let _held = c
        .reserve("k", &w, 900, 1_000, MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert!(c
        .reserve("k", &w, 200, 1_000, MINUTE)
        .await
        .unwrap()
        .is_err());
    let _lease = c.acquire("l", 1, MINUTE).await.unwrap().unwrap();
    assert!(c.acquire("l", 1, MINUTE).await.unwrap().is_none());
    clock.advance_ms(60_001);
    assert!(c
        .reserve("k", &w, 200, 1_000, MINUTE)
        .await
        .unwrap()
        .is_ok());
    assert!(c.acquire("l", 1, MINUTE).await.unwrap().is_some());
}

#[tokio::test]
async fn expired_windows_are_dropped() {
    let clock = Arc::new(ManualClock::new(T0));
    let c = MemoryCounters::with_clock(clock.clone());
    let w = BudgetWindow::Fixed {
        id: "d2026-11-26".into(),
        expires_at_ms: (T0 + HOUR_MS) as i64,
    };
    let r = c.reserve("k", &w, 10, 100, MINUTE).await.unwrap().unwrap();
    c.settle(&r, 10).await.unwrap();
    assert_eq!(c.len(), 1);
    clock.set(T0 + HOUR_MS + 1);
    c.sweep_expired();
    assert!(c.is_empty());
}

//! Each routing strategy's effect end to end, through the real server and fake upstreams that
//! count their calls: weighted split, round robin, ordered priority, least busy, lowest
//! latency; and the per-target `max_in_flight` limit under concurrency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;
mod reliability_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::gateway;
use futures_util::future::join_all;
use reliability_support::*;
use switchyard_testkit::{faults, FakeUpstream};

#[tokio::test]
async fn weighted_split_follows_the_weights() {
    let a = FakeUpstream::start(healthy("gpt-a")).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: weighted
    targets:
      - { provider: a, model: gpt-a, weight: 1 }
      - { provider: b, model: gpt-b, weight: 3 }
",
    ))
    .await;
    for batch in 0..25 {
        let rs = join_all((0..8).map(|_| ask(&g, "smart"))).await;
        for r in rs {
            assert_eq!(r.status, 200, "batch {batch}: {}", r.text);
        }
    }
    let (na, nb) = (a.calls(), b.calls());
    assert_eq!(na + nb, 200, "no request was retried");
    // Expected 50 / 150 (σ ≈ 6): an even split (100 / 100) is far outside.
    assert!((25..=80).contains(&na), "a got {na}, b got {nb}");
}

#[tokio::test]
async fn round_robin_alternates() {
    let fakes = [
        FakeUpstream::start(healthy("gpt-a")).await,
        FakeUpstream::start(healthy("gpt-b")).await,
        FakeUpstream::start(healthy("gpt-c")).await,
    ];
    let g = gateway(&config(
        &[
            ("a", v1(&fakes[0])),
            ("b", v1(&fakes[1])),
            ("c", v1(&fakes[2])),
        ],
        "  smart:
    strategy: round_robin
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
      - { provider: c, model: gpt-c }
",
    ))
    .await;
    let mut order = Vec::new();
    for _ in 0..12 {
        let r = ask(&g, "smart").await;
        assert_eq!(r.status, 200, "{}", r.text);
        order.push(r.provider().to_string());
    }
    for (i, p) in order.iter().enumerate() {
        assert_eq!(p, &order[i % 3], "not a cycle: {order:?}");
    }
    let mut first = order[..3].to_vec();
    first.sort();
    assert_eq!(first, ["a", "b", "c"], "{order:?}");
    for f in &fakes {
        assert_eq!(f.calls(), 4);
    }
}

#[tokio::test]
async fn ordered_prefers_the_best_priority_and_moves_down_on_failure() {
    let b_down = Arc::new(AtomicBool::new(false));
    let a = FakeUpstream::start(healthy("gpt-a")).await;
    let flag = b_down.clone();
    let b_ok = healthy("gpt-b");
    let b = FakeUpstream::start(move |r| {
        if flag.load(Ordering::SeqCst) {
            server_error()
        } else {
            b_ok(r)
        }
    })
    .await;
    let c = FakeUpstream::start(healthy("gpt-c")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b)), ("c", v1(&c))],
        "  smart:
    strategy: ordered
    targets:
      - { provider: a, model: gpt-a, priority: 2 }
      - { provider: b, model: gpt-b, priority: 0 }
      - { provider: c, model: gpt-c, priority: 1 }
",
    ))
    .await;
    for _ in 0..10 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider()), (200, "b"), "{}", r.text);
    }
    assert_eq!((a.calls(), b.calls(), c.calls()), (0, 10, 0));

    b_down.store(true, Ordering::SeqCst);
    let r = ask(&g, "smart").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), "c", "the next priority, not the last");
    assert_eq!(r.attempts(), Some(2));
    assert_eq!((a.calls(), b.calls(), c.calls()), (0, 11, 1));
}

#[tokio::test]
async fn least_busy_avoids_a_target_with_a_long_running_request() {
    // "hold" requests take 1.5 s; others answer at once.
    let handler = |model: &'static str| {
        let ok = healthy(model);
        move |r: &switchyard_testkit::Recorded| {
            if faults::first_message(r) == "hold" {
                faults::delayed(ok(r), Duration::from_millis(1500))
            } else {
                ok(r)
            }
        }
    };
    let a = FakeUpstream::start(handler("gpt-a")).await;
    let b = FakeUpstream::start(handler("gpt-b")).await;
    let g = Arc::new(
        gateway(&config(
            &[("a", v1(&a)), ("b", v1(&b))],
            "  smart:
    strategy: least_busy
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
",
        ))
        .await,
    );
    let g2 = g.clone();
    let held = tokio::spawn(async move { post(&g2, &chat_body("smart", "hold")).await });
    let (ra, rb) = (&a, &b);
    assert!(
        eventually(Duration::from_secs(3), || async move {
            ra.calls() + rb.calls() == 1
        })
        .await,
        "the long request never arrived"
    );
    let (busy, idle) = if a.calls() == 1 { (&a, &b) } else { (&b, &a) };
    for _ in 0..12 {
        let r = ask(&g, "smart").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(busy.calls(), 1, "a busy target got short requests");
    assert_eq!(idle.calls(), 12);
    let r = held.await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn lowest_latency_moves_traffic_off_a_slow_target() {
    let ok_a = healthy("gpt-a");
    let a =
        FakeUpstream::start(move |r| faults::delayed(ok_a(r), Duration::from_millis(300))).await;
    let b = FakeUpstream::start(healthy("gpt-b")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: lowest_latency
    targets:
      - { provider: a, model: gpt-a }
      - { provider: b, model: gpt-b }
",
    ))
    .await;
    let mut late_slow = 0;
    for i in 0..40 {
        let r = ask(&g, "smart").await;
        assert_eq!(r.status, 200, "{}", r.text);
        if i >= 10 && r.provider() == "a" {
            late_slow += 1;
        }
    }
    // Before both are observed the choice is a coin toss; after, the 300 ms target loses every
    // comparison (its estimate decays over 10 s, far longer than this test).
    assert!(a.calls() <= 3, "slow target got {} of 40", a.calls());
    assert_eq!(late_slow, 0);
    let h = health_target(&g, "smart", "a/gpt-a").await;
    let ms = h["latency_ms"].as_f64().unwrap();
    assert!(ms > 150.0, "latency estimate of the slow target: {h}");
    let m = metrics(&g).await;
    let gauge = |t: &str| {
        sample(
            &m,
            "switchyard_target_latency_estimate_ms",
            &[("model", "smart"), ("target", t)],
        )
        .unwrap_or_else(|| panic!("no latency gauge for {t}: {m}"))
    };
    assert!(gauge("a/gpt-a") > 150.0 && gauge("b/gpt-b") < 100.0, "{m}");
}

#[tokio::test]
async fn max_in_flight_is_respected_under_concurrency() {
    let peak_a = faults::PeakInFlight::new();
    let pa = peak_a.clone();
    let ok_a = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        pa.observe();
        faults::delayed(ok_a(r), Duration::from_millis(400))
    })
    .await;
    peak_a.attach(&a);
    let ok_b = healthy("gpt-b");
    let b =
        FakeUpstream::start(move |r| faults::delayed(ok_b(r), Duration::from_millis(400))).await;
    let g = Arc::new(
        gateway(&config(
            &[("a", v1(&a)), ("b", v1(&b))],
            "  smart:
    strategy: weighted
    targets:
      - { provider: a, model: gpt-a, weight: 10, max_in_flight: 2 }
      - { provider: b, model: gpt-b, weight: 1 }
",
        ))
        .await,
    );
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let g = g.clone();
            tokio::spawn(async move { ask(&g, "smart").await })
        })
        .collect();
    // While they run, the gateway reports the limit as the target's in-flight count.
    let gr = &*g;
    assert!(
        eventually(Duration::from_secs(2), || async move {
            health_target(gr, "smart", "a/gpt-a").await["in_flight"] == 2
        })
        .await,
        "health never showed 2 in flight on a"
    );
    let m = metrics(&g).await;
    assert_eq!(
        sample(
            &m,
            "switchyard_target_in_flight",
            &[("model", "smart"), ("target", "a/gpt-a")]
        ),
        Some(2.0),
        "{m}"
    );
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert!(peak_a.peak() <= 2, "a served {} at once", peak_a.peak());
    assert!(a.calls() >= 2, "the preferred target was used");
    assert_eq!(a.calls() + b.calls(), 12);
}

#[tokio::test]
async fn a_lone_target_at_its_limit_refuses_the_surplus() {
    let peak = faults::PeakInFlight::new();
    let p = peak.clone();
    let ok = healthy("gpt-a");
    let a = FakeUpstream::start(move |r| {
        p.observe();
        faults::delayed(ok(r), Duration::from_millis(400))
    })
    .await;
    peak.attach(&a);
    let g = gateway(&config(
        &[("a", v1(&a))],
        "  smart:
    targets:
      - { provider: a, model: gpt-a, max_in_flight: 2 }
",
    ))
    .await;
    let rs = join_all((0..6).map(|_| ask(&g, "smart"))).await;
    let ok = rs.iter().filter(|r| r.status == 200).count();
    for r in rs.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(r.json()["error"]["type"], "server_error", "{}", r.text);
    }
    assert!(ok >= 2, "{ok} succeeded");
    assert!(peak.peak() <= 2, "a served {} at once", peak.peak());
}

#[tokio::test]
async fn lowest_cost_prefers_the_cheaper_target_by_the_price_table() {
    let a = FakeUpstream::start(healthy("gpt-4o")).await;
    let b = FakeUpstream::start(healthy("gpt-4o-mini")).await;
    let g = gateway(&config(
        &[("a", v1(&a)), ("b", v1(&b))],
        "  smart:
    strategy: lowest_cost
    targets:
      - { provider: a, model: gpt-4o }
      - { provider: b, model: gpt-4o-mini }
",
    ))
    .await;
    for _ in 0..20 {
        let r = ask(&g, "smart").await;
        assert_eq!((r.status, r.provider()), (200, "b"), "{}", r.text);
    }
    assert_eq!((a.calls(), b.calls()), (0, 20));
}

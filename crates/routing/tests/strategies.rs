//! Strategy behaviour: weighted selection converges to the weights (property test, seeded),
//! round robin is exact, least busy and lowest latency follow load and observations.

mod common;

use std::collections::HashSet;

use common::*;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use switchyard_routing::{
    Executor, Group, LatencyKind, Plan, RoutingSettings, Strategy, TargetSettings,
};

fn settings(strategy: Strategy) -> RoutingSettings {
    RoutingSettings {
        strategy,
        ..RoutingSettings::default()
    }
}

fn weighted(weights: &[u32]) -> Group {
    Group::new(
        "w",
        settings(Strategy::Weighted),
        weights.iter().enumerate().map(|(i, w)| {
            (
                format!("t{i}"),
                TargetSettings {
                    weight: *w,
                    ..TargetSettings::default()
                },
            )
        }),
    )
}

const DRAWS: u32 = 20_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn weighted_frequencies_converge_to_weights(
        weights in prop::collection::vec(1u32..=10, 2..=6),
        excluded in prop::collection::vec(any::<bool>(), 6),
        seed in any::<u64>(),
    ) {
        let g = weighted(&weights);
        // Exclude some targets, but never all.
        let mut exclude: Vec<usize> = (0..weights.len()).filter(|i| excluded[*i]).collect();
        if exclude.len() == weights.len() {
            exclude.pop();
        }
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut counts = vec![0u32; weights.len()];
        for _ in 0..DRAWS {
            let i = g.select_with(&exclude, LatencyKind::Total, &mut rng).unwrap();
            counts[i] += 1;
        }
        let total: u32 = (0..weights.len())
            .filter(|i| !exclude.contains(i))
            .map(|i| weights[i])
            .sum();
        for (i, c) in counts.iter().enumerate() {
            let observed = f64::from(*c) / f64::from(DRAWS);
            if exclude.contains(&i) {
                prop_assert_eq!(*c, 0);
            } else {
                let expected = f64::from(weights[i]) / f64::from(total);
                prop_assert!(
                    (observed - expected).abs() < 0.02,
                    "target {} observed {} expected {} ({:?})", i, observed, expected, counts
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_strategy_respects_exclusions_and_its_order(
        strategy in prop::sample::select(Strategy::ALL.to_vec()),
        targets in prop::collection::vec((0u32..4, -2i32..3, prop::option::of(0u8..5)), 1..24),
        excluded in prop::collection::vec(any::<bool>(), 24),
        seed in any::<u64>(),
    ) {
        let g = Group::new(
            "p",
            settings(strategy),
            targets.iter().enumerate().map(|(i, (weight, priority, cost))| {
                (
                    format!("t{i}"),
                    TargetSettings {
                        weight: *weight,
                        priority: *priority,
                        cost_per_mtok: cost.map(f64::from),
                        ..TargetSettings::default()
                    },
                )
            }),
        );
        let exclude: Vec<usize> = (0..targets.len()).filter(|i| excluded[*i]).collect();
        let allowed: Vec<usize> = (0..targets.len()).filter(|i| !excluded[*i]).collect();
        let mut rng = SmallRng::seed_from_u64(seed);
        for _ in 0..20 {
            let pick = g.select_with(&exclude, LatencyKind::Total, &mut rng);
            if allowed.is_empty() {
                prop_assert_eq!(pick, None);
                continue;
            }
            let i = pick.unwrap();
            prop_assert!(allowed.contains(&i), "{} excluded", i);
            let cost = |j: usize| targets[j].2.map_or(f64::INFINITY, f64::from);
            match strategy {
                Strategy::Ordered => {
                    let best = allowed.iter().map(|&j| (targets[j].1, j)).min().unwrap();
                    prop_assert_eq!(i, best.1);
                }
                Strategy::LowestCost => {
                    let best = allowed.iter().map(|&j| cost(j)).fold(f64::INFINITY, f64::min);
                    prop_assert_eq!(cost(i), best);
                }
                // Zero weights only when nothing with a weight is allowed.
                Strategy::Weighted if allowed.iter().any(|&j| targets[j].0 > 0) => {
                    prop_assert!(targets[i].0 > 0);
                }
                _ => {}
            }
        }
    }
}

#[test]
fn lowest_latency_candidates_cover_every_available_target() {
    // All idle and unobserved: costs tie, so the choice is the first random candidate, which
    // must be uniform over the allowed targets whichever sampling path found it.
    let g = Group::new(
        "ll",
        settings(Strategy::LowestLatency),
        (0..10).map(|i| (format!("t{i}"), TargetSettings::default())),
    );
    let mut rng = SmallRng::seed_from_u64(17);
    for exclude in [vec![], vec![0, 2, 4, 6, 8], vec![0, 1, 2, 3, 4, 5, 6, 7]] {
        let allowed = 10 - exclude.len();
        let mut counts = [0u32; 10];
        let draws = 4_000 * allowed as u32;
        for _ in 0..draws {
            counts[g
                .select_with(&exclude, LatencyKind::Total, &mut rng)
                .unwrap()] += 1;
        }
        for (i, c) in counts.iter().enumerate() {
            if exclude.contains(&i) {
                assert_eq!(*c, 0);
            } else {
                assert!((3_500..4_500).contains(c), "{exclude:?}: {counts:?}");
            }
        }
    }
}

#[test]
fn same_seed_same_choices() {
    let g = weighted(&[1, 2, 3, 4]);
    let draw = |seed| {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..64)
            .map(|_| g.select_with(&[], LatencyKind::Total, &mut rng).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(5), draw(5));
    assert_ne!(draw(5), draw(6));
}

#[tokio::test(start_paused = true)]
async fn round_robin_serves_in_exact_order() {
    let plan = Plan::new(group("rr", settings(Strategy::RoundRobin), 3));
    let up = Upstreams::new(vec![vec![ok(), ok(), ok()]]);
    let exec = Executor::new();
    let mut order = Vec::new();
    for _ in 0..7 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!(out.attempts, 1);
        order.push(out.served_by.unwrap().1);
    }
    assert_eq!(order, [0, 1, 2, 0, 1, 2, 0]);
}

#[tokio::test(start_paused = true)]
async fn least_busy_avoids_loaded_targets() {
    let g = group("lb", settings(Strategy::LeastBusy), 3);
    let plan = Plan::new(g.clone());
    let up = Upstreams::new(vec![vec![ok(), ok(), ok()]]);
    let exec = Executor::seeded(1);
    let _busy0 = g.targets()[0].state.try_acquire().unwrap();
    let _busy2 = g.targets()[2].state.try_acquire().unwrap();
    for _ in 0..20 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert_eq!(out.served_by, Some((0, 1)));
    }
    // While a request is in flight it counts: two concurrent requests go to different
    // targets once 1 is as busy as the others.
    let _busy1 = g.targets()[1].state.try_acquire().unwrap();
    let slow = Upstreams::new(vec![vec![ok_after(ms(100)); 3]]);
    let (a, b, c) = tokio::join!(
        exec.execute(&plan, None, slow.attempt()),
        exec.execute(&plan, None, slow.attempt()),
        exec.execute(&plan, None, slow.attempt()),
    );
    let served: HashSet<usize> = [a, b, c].iter().map(|o| o.served_by.unwrap().1).collect();
    assert_eq!(
        served.len(),
        3,
        "each concurrent request took the idlest target"
    );
}

#[tokio::test(start_paused = true)]
async fn lowest_latency_learns_the_faster_target() {
    let plan = Plan::new(group("ll", settings(Strategy::LowestLatency), 2));
    let up = Upstreams::new(vec![vec![ok_after(ms(300)), ok_after(ms(30))]]);
    let exec = Executor::seeded(7);
    for _ in 0..40 {
        let out = exec.execute(&plan, None, up.attempt()).await;
        assert!(out.result.is_ok());
    }
    assert!(up.calls(0, 0) <= 1, "slow target served {}", up.calls(0, 0));
    assert!(up.calls(0, 1) >= 39);
    let est = plan.primary().targets()[1]
        .state
        .latency_estimate(LatencyKind::Total)
        .unwrap();
    assert!(est >= ms(29) && est <= ms(31), "{est:?}");
}

#[tokio::test(start_paused = true)]
async fn lowest_latency_uses_first_token_time_for_streams() {
    let g = group("ll", settings(Strategy::LowestLatency), 2);
    // Target 0 is faster in total time, target 1 to the first token.
    for (i, total, ttft) in [(0, 200, 150), (1, 900, 20)] {
        let s = &g.targets()[i].state;
        s.try_acquire()
            .unwrap()
            .succeed(LatencyKind::Total, ms(total));
        s.try_acquire()
            .unwrap()
            .succeed(LatencyKind::FirstToken, ms(ttft));
    }
    let up = Upstreams::new(vec![vec![ok(), ok()]]);
    let exec = Executor::seeded(3);
    let stream = Plan::new(g.clone()).latency_kind(LatencyKind::FirstToken);
    let whole = Plan::new(g);
    for _ in 0..10 {
        let s = exec.execute(&stream, None, up.attempt()).await;
        assert_eq!(s.served_by, Some((0, 1)));
        let w = exec.execute(&whole, None, up.attempt()).await;
        assert_eq!(w.served_by, Some((0, 0)));
    }
}

#[tokio::test(start_paused = true)]
async fn ordered_and_lowest_cost_through_the_executor() {
    let mut targets = vec![TargetSettings::default(); 3];
    targets[0].priority = 5;
    targets[1].priority = 1;
    targets[0].cost_per_mtok = Some(0.5);
    targets[1].cost_per_mtok = Some(3.0);
    let up = Upstreams::new(vec![vec![ok(), ok(), ok()]]);
    let exec = Executor::new();
    let ordered = Plan::new(group_with(
        "o",
        settings(Strategy::Ordered),
        targets.clone(),
    ));
    // Priority 0 (target 2, default) first.
    assert_eq!(
        exec.execute(&ordered, None, up.attempt()).await.served_by,
        Some((0, 2))
    );
    let cheap = Plan::new(group_with("c", settings(Strategy::LowestCost), targets));
    assert_eq!(
        exec.execute(&cheap, None, up.attempt()).await.served_by,
        Some((0, 0))
    );
}

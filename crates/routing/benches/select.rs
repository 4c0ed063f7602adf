//! Selection cost among 100 targets for every strategy (the budget is 1 µs), and the executor's
//! overhead on the single-target fast path.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_routing::{
    Executor, Group, LatencyKind, Plan, RoutingSettings, Strategy, TargetSettings,
};
use switchyard_types::GatewayError;

fn group(strategy: Strategy, n: usize) -> Group {
    let settings = RoutingSettings {
        strategy,
        ..RoutingSettings::default()
    };
    let g = Group::new(
        "bench",
        settings,
        (0..n).map(|i| {
            (
                format!("t{i}"),
                TargetSettings {
                    weight: 1 + (i as u32 % 5),
                    priority: (i % 7) as i32,
                    cost_per_mtok: Some(1.0 + (i % 13) as f64),
                    max_in_flight: Some(1_000),
                    ..TargetSettings::default()
                },
            )
        }),
    );
    for (i, t) in g.targets().iter().enumerate() {
        if let Some(guard) = t.state.try_acquire() {
            guard.succeed(
                LatencyKind::Total,
                Duration::from_millis(50 + (i as u64 * 37) % 400),
            );
        }
    }
    g
}

fn select(c: &mut Criterion) {
    let mut by_strategy = c.benchmark_group("select_100_targets");
    for s in Strategy::ALL {
        let g = group(s, 100);
        by_strategy.bench_function(s.as_str(), |b| {
            b.iter(|| black_box(g.select(black_box(&[]))))
        });
    }
    // A retry: two targets excluded.
    let g = group(Strategy::Weighted, 100);
    by_strategy.bench_function("weighted_excluding_2", |b| {
        b.iter(|| black_box(g.select(black_box(&[3, 70]))))
    });
    by_strategy.finish();

    let g = group(Strategy::Weighted, 1);
    c.bench_function("select_1_target", |b| {
        b.iter(|| black_box(g.select(black_box(&[]))))
    });
}

fn execute(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .ok();
    let Some(rt) = rt else { return };
    let plan = Plan::new(std::sync::Arc::new(group(Strategy::Weighted, 1)));
    let exec = Executor::new();
    c.bench_function("execute_single_target_ok", |b| {
        b.iter(|| {
            rt.block_on(exec.execute(&plan, None, |ctx| async move {
                Ok::<_, GatewayError>(ctx.target_index)
            }))
        })
    });
    c.bench_function("block_on_baseline", |b| {
        b.iter(|| rt.block_on(async { black_box(Ok::<_, GatewayError>(0usize)) }))
    });
}

criterion_group!(benches, select, execute);
criterion_main!(benches);

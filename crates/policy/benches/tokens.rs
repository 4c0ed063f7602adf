//! Prompt-token counting cost per call (`o200k_base`), on a pathological prompt (one long
//! pre-tokenized word), English prose, CJK text, and JSON with code: `count_o200k` with a text
//! never seen before (a fresh counter in front of it each call, so the count cache misses),
//! `cached` with the same text every call.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use switchyard_policy::estimate_prompt_tokens;

mod corpus;

fn counting(c: &mut Criterion) {
    let cases = [
        ("pathological_1k", corpus::pathological_1k()),
        ("english_1k", corpus::english_1k()),
        ("english_8k", corpus::english_8k()),
        ("cjk_1k", corpus::CJK_1K.to_owned()),
        ("code_2k", corpus::CODE_2K.to_owned()),
    ];
    switchyard_policy::warm_up();
    let mut group = c.benchmark_group("count_o200k");
    for (name, text) in &cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut n = 0u64;
        group.bench_function(*name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    format!("{n} {text}")
                },
                |fresh| estimate_prompt_tokens(black_box(&fresh)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    let mut group = c.benchmark_group("cached");
    for (name, text) in &cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| estimate_prompt_tokens(black_box(text)))
        });
    }
    group.finish();
}

criterion_group!(benches, counting);
criterion_main!(benches);

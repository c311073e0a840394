//! Lock-order graph cost per size: chains both ways and random pairwise orders, each built from empty, so a figure per size shows whether the cost per edge stays flat.
//!
//! `cargo bench -p lockgraph-detect --bench order`. Each bench builds one
//! whole graph (the workloads of `tests/order_scale.rs`, which checks the
//! same scaling by counting visits and bytes); criterion's time divided by
//! the edges is the cost per first-seen edge. After criterion's summary,
//! `main` prints that cost per size from criterion's estimates.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput};

#[path = "../tests/order_workload/mod.rs"]
mod order_workload;
use order_workload::{chain, shuffled_locks, take, thread, Rng};

const CHAINS: [u64; 3] = [2_500, 5_000, 10_000];
const RANDOM: [u64; 3] = [25_000, 50_000, 100_000];
/// Pairs taken per lock in the random workload.
const PAIRS_PER_LOCK: u64 = 8;

/// `n` locks in random pairs, lower id first; returns the edges.
fn random_pairs(n: u64) -> usize {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n);
    let mut g = shuffled_locks(n, &mut rng);
    let threads: Vec<_> = (0..4).map(thread).collect();
    for k in 0..PAIRS_PER_LOCK * n {
        let (a, b) = (rng.below(n), rng.below(n));
        if a != b {
            take(&mut g, &threads[(k % 4) as usize], a.min(b), a.max(b));
        }
    }
    g.edge_count()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("order");
    group.sample_size(10);
    for n in CHAINS {
        group.throughput(Throughput::Elements(n - 1));
        for (name, reverse) in [("chain", false), ("chain_reverse", true)] {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter(|| black_box(chain(n, reverse).edge_count()))
            });
        }
    }
    for n in RANDOM {
        let edges = random_pairs(n) as u64;
        group.throughput(Throughput::Elements(edges));
        group.bench_with_input(BenchmarkId::new("random_pairs", n), &n, |b, &n| {
            b.iter(|| black_box(random_pairs(n)))
        });
    }
    group.finish();
}

/// Criterion's mean estimate for `order/<name>/<n>`, in nanoseconds.
fn estimate(name: &str, n: u64) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = dir.join(format!("criterion/order/{name}/{n}/new/estimates.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    println!("cost per first-seen edge, by size:");
    for name in ["chain", "chain_reverse"] {
        for n in CHAINS {
            if let Some(ns) = estimate(name, n) {
                println!(
                    "  {name:<14} {n:>7} locks: {:>7.1} ns/edge",
                    ns / (n - 1) as f64
                );
            }
        }
    }
    for n in RANDOM {
        if let Some(ns) = estimate("random_pairs", n) {
            let edges = random_pairs(n) as f64;
            println!(
                "  random_pairs   {n:>7} locks: {:>7.1} ns/edge ({edges} edges)",
                ns / edges
            );
        }
    }
}

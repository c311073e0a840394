//! Overhead benchmark: lockgraph's instrumented `Mutex` against plain `parking_lot::Mutex`, measured in the same run, with a table of ratios printed at the end.
//!
//! Run it with `cargo bench -p lockgraph --bench overhead`. Each group has a
//! `parking_lot` variant and a `lockgraph` variant of the same code shape:
//!
//! - `a_uncontended`: lock and unlock one mutex, no contention; plus
//!   `lockgraph_off`, with detection switched off by `set_enabled(false)`.
//! - `b_nested`: lock A, B, C in a stable order and unlock them; after the
//!   first iteration every order edge is one already seen.
//! - `c_contended`: two threads, 500k increments each on one mutex, timed
//!   per whole run.
//! - `d_fresh_chain`: 1000 new mutexes locked pairwise along a chain, so
//!   every edge is first-seen; `lockgraph_after_drops` measures the same
//!   after 100_000 other chain-locked mutexes were dropped (the "no
//!   quadratic cliff" check).
//! - `a_rec_uncontended`, case (a-rec): (a) with every event recorded to a
//!   trace. Recording is process-wide and starts once, so it is the separate
//!   bench `benches/recording.rs` (`cargo bench -p lockgraph --bench
//!   recording`), which prints its own ratio line (target <= 4x).
//!
//! After criterion's own summary, `main` reads criterion's estimates of this
//! run back and prints `lockgraph / parking_lot` ratios against the targets.

use std::hint::black_box;
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::mean_ns;
use criterion::{Criterion, Throughput};

mod common;

/// Group of benchmark (a): uncontended lock and unlock.
const GROUP_A: &str = "a_uncontended";
/// Group of benchmark (b): nested A→B→C in a stable order.
const GROUP_B: &str = "b_nested";
/// Group of benchmark (c): two threads contending on one mutex.
const GROUP_C: &str = "c_contended";
/// Group of benchmark (d): chains of fresh mutexes, every edge first-seen.
const GROUP_D: &str = "d_fresh_chain";

/// Bench id of the plain parking_lot variants.
const PL: &str = "parking_lot";
/// Bench id of the lockgraph variants.
const LG: &str = "lockgraph";
/// Bench id of (a) with lockgraph's detection switched off.
const LG_OFF: &str = "lockgraph_off";
/// Bench id of (d) with lockgraph, steady repetition.
const LG_FRESH: &str = "lockgraph_fresh";
/// Bench id of (d) with lockgraph after 100_000 dropped mutexes.
const LG_AFTER_DROPS: &str = "lockgraph_after_drops";

/// Increments per thread in (c).
const PER_THREAD: u64 = 500_000;
/// Threads in (c).
const THREADS: u64 = 2;
/// Mutexes per chain in (d).
const CHAIN: u32 = 1000;
/// Chains created, locked and dropped before measuring `lockgraph_after_drops`.
const CHURN_ROUNDS: usize = 100;

/// (a) Uncontended lock + unlock of one mutex.
fn bench_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP_A);

    let pl = parking_lot::Mutex::new(0u64);
    group.bench_function(PL, |b| {
        b.iter(|| {
            let g = pl.lock();
            black_box(&*g);
            drop(g)
        })
    });

    let lg = lockgraph::Mutex::new(0u64);
    group.bench_function(LG, |b| {
        b.iter(|| {
            let g = lg.lock();
            black_box(&*g);
            drop(g)
        })
    });

    let off = lockgraph::Mutex::new(0u64);
    group.bench_function(LG_OFF, |b| {
        lockgraph::set_enabled(false);
        b.iter(|| {
            let g = off.lock();
            black_box(&*g);
            drop(g)
        });
        lockgraph::set_enabled(true);
    });

    group.finish();
}

/// (b) Nested A→B→C lock and unlock, always in the same order.
fn bench_nested(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP_B);

    let (pa, pb, pc) = (
        parking_lot::Mutex::new(0u64),
        parking_lot::Mutex::new(0u64),
        parking_lot::Mutex::new(0u64),
    );
    group.bench_function(PL, |b| {
        b.iter(|| {
            let ga = pa.lock();
            let gb = pb.lock();
            let gc = pc.lock();
            black_box((&*ga, &*gb, &*gc));
            drop(gc);
            drop(gb);
            drop(ga)
        })
    });

    let (la, lb, lc) = (
        lockgraph::Mutex::new(0u64),
        lockgraph::Mutex::new(0u64),
        lockgraph::Mutex::new(0u64),
    );
    group.bench_function(LG, |b| {
        b.iter(|| {
            let ga = la.lock();
            let gb = lb.lock();
            let gc = lc.lock();
            black_box((&*ga, &*gb, &*gc));
            drop(gc);
            drop(gb);
            drop(ga)
        })
    });

    group.finish();
}

/// One run of (c) on parking_lot: two scoped threads increment one counter; returns the wall time.
fn contended_parking_lot() -> Duration {
    let m = parking_lot::Mutex::new(0u64);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    *m.lock() += 1;
                }
            });
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(m.into_inner(), THREADS * PER_THREAD);
    elapsed
}

/// One run of (c) on lockgraph: the same code shape as [`contended_parking_lot`].
fn contended_lockgraph() -> Duration {
    let m = lockgraph::Mutex::new(0u64);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    *m.lock() += 1;
                }
            });
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(m.into_inner(), THREADS * PER_THREAD);
    elapsed
}

/// (c) Two threads contending on one mutex, 1_000_000 increments per measured run.
fn bench_contended(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP_C);
    group.sample_size(10);
    group.throughput(Throughput::Elements(THREADS * PER_THREAD));

    group.bench_function(PL, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| contended_parking_lot()).sum())
    });
    group.bench_function(LG, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| contended_lockgraph()).sum())
    });

    group.finish();
}

/// Locks a chain of parking_lot mutexes pairwise, once.
fn chain_parking_lot(v: &[parking_lot::Mutex<u32>]) {
    for w in v.windows(2) {
        let _a = w[0].lock();
        let _b = w[1].lock();
    }
}

/// Locks a chain of lockgraph mutexes pairwise, once: every edge is first-seen.
fn chain_lockgraph(v: &[lockgraph::Mutex<u32>]) {
    for w in v.windows(2) {
        let _a = w[0].lock();
        let _b = w[1].lock();
    }
}

/// Before `lockgraph_after_drops`: creates, chain-locks and drops 100_000 mutexes, once per process.
fn churn_dropped_locks() {
    static CHURN: Once = Once::new();
    CHURN.call_once(|| {
        for _ in 0..CHURN_ROUNDS {
            let v: Vec<lockgraph::Mutex<u32>> = (0..CHAIN).map(lockgraph::Mutex::new).collect();
            chain_lockgraph(&v);
            drop(v);
        }
    });
}

/// (d) 1000 fresh mutexes chain-locked once per iteration, fresh and after many drops.
fn bench_fresh_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP_D);

    group.bench_function(PL, |b| {
        b.iter(|| {
            let v: Vec<parking_lot::Mutex<u32>> = (0..CHAIN).map(parking_lot::Mutex::new).collect();
            chain_parking_lot(&v);
            drop(v)
        })
    });

    // Measured before the churn below, so it sees only its own repetitions.
    group.bench_function(LG_FRESH, |b| {
        b.iter(|| {
            let v: Vec<lockgraph::Mutex<u32>> = (0..CHAIN).map(lockgraph::Mutex::new).collect();
            chain_lockgraph(&v);
            drop(v)
        })
    });

    group.bench_function(LG_AFTER_DROPS, |b| {
        churn_dropped_locks();
        b.iter(|| {
            let v: Vec<lockgraph::Mutex<u32>> = (0..CHAIN).map(lockgraph::Mutex::new).collect();
            chain_lockgraph(&v);
            drop(v)
        })
    });

    group.finish();
}

// criterion's runner for the four groups, in order (a) to (d). The macro
// makes an undocumented `pub fn`, hence the allow.
#[allow(missing_docs)]
mod harness {
    use super::{bench_contended, bench_fresh_chain, bench_nested, bench_uncontended};
    criterion::criterion_group!(
        overhead,
        bench_uncontended,
        bench_nested,
        bench_contended,
        bench_fresh_chain
    );
}

/// `numerator / denominator` of two measured means, when both were measured in this run.
fn ratio((ng, nb): (&str, &str), (dg, db): (&str, &str), since: SystemTime) -> Option<f64> {
    let n = mean_ns(ng, nb, since)?;
    let d = mean_ns(dg, db, since)?;
    (d > 0.0).then(|| n / d)
}

/// Prints the ratio table to stdout; a line whose estimates are missing is skipped.
fn print_ratios(since: SystemTime) {
    /// One line: label, ratio, target text, whether the ratio meets it.
    type Line = (&'static str, Option<f64>, &'static str, fn(f64) -> bool);
    let lines: [Line; 6] = [
        (
            "(a) uncontended lock+unlock",
            ratio((GROUP_A, LG), (GROUP_A, PL), since),
            "target <= 1.2x",
            |r| r <= 1.2,
        ),
        (
            "(a-off) uncontended, detection off",
            ratio((GROUP_A, LG_OFF), (GROUP_A, PL), since),
            "target <= 1.05x",
            |r| r <= 1.05,
        ),
        (
            "(b) nested A->B->C, seen edges",
            ratio((GROUP_B, LG), (GROUP_B, PL), since),
            "target <= 1.6x",
            |r| r <= 1.6,
        ),
        (
            // Throughput ratio: parking_lot's time over lockgraph's.
            "(c) contended throughput",
            ratio((GROUP_C, PL), (GROUP_C, LG), since),
            "target >= 0.9x",
            |r| r >= 0.9,
        ),
        (
            "(d) fresh chain, first-seen edges",
            ratio((GROUP_D, LG_FRESH), (GROUP_D, PL), since),
            "target <= 3x",
            |r| r <= 3.0,
        ),
        (
            "(d) after-drops / fresh",
            ratio((GROUP_D, LG_AFTER_DROPS), (GROUP_D, LG_FRESH), since),
            "target <= 2x",
            |r| r <= 2.0,
        ),
    ];

    println!();
    println!("lockgraph overhead (lockgraph / parking_lot, same run):");
    let mut printed = 0;
    for (label, r, target, ok) in lines {
        let Some(r) = r else { continue };
        let verdict = if ok(r) { "ok" } else { "MISSED" };
        println!("ratio {label}: {r:.2}x  ({target}) {verdict}");
        printed += 1;
    }
    if printed == 0 {
        println!("(no estimates from this run: filtered, --test or --list)");
    }
    let findings = lockgraph::findings().len();
    println!("findings recorded during the run: {findings} (expected 0)");
}

/// Runs the benchmarks, criterion's summary, then the ratio table.
fn main() {
    lockgraph::set_on_finding(lockgraph::OnFinding::Off);
    // Filesystem timestamps can be coarse: allow a little slack.
    let since = SystemTime::now() - Duration::from_secs(2);

    harness::overhead();
    Criterion::default().configure_from_args().final_summary();

    print_ratios(since);
}

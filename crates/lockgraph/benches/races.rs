//! Race-detection overhead: a tracked access in the same epoch, an instrumented atomic operation, and a lock once tracking is on, each beside its plain twin in the same run.
//!
//! Run it with `cargo bench -p lockgraph --bench races`. Tracking starts at
//! the first access to a tracked location and is process-wide, so this is a
//! process of its own (`benches/overhead.rs` measures the locks with
//! tracking off, as a lock-only program runs). Groups:
//!
//! - `e_tracked_read`: a read through `cell::UnsafeCell::with` against
//!   `std::cell::UnsafeCell::get`; every read after the first is in the
//!   same epoch (target: at most 5 ns more).
//! - `f_atomic_fetch_add`: `fetch_add(1, AcqRel)` on a lockgraph atomic
//!   against std's (target: at most 60 ns more).
//! - `g_lock_tracking_on`: uncontended lock+unlock with tracking on, so
//!   every release publishes a clock (reported as a ratio).
//!
//! At the end `main` prints the differences and the ratio from criterion's
//! estimates of this run.

use std::hint::black_box;
use std::sync::atomic::Ordering::AcqRel;
use std::time::{Duration, SystemTime};

use common::mean_ns;
use criterion::Criterion;

mod common;

const GROUP_E: &str = "e_tracked_read";
const GROUP_F: &str = "f_atomic_fetch_add";
const GROUP_G: &str = "g_lock_tracking_on";
const PLAIN: &str = "plain";
const LG: &str = "lockgraph";

fn bench_races(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP_E);
    let plain = std::cell::UnsafeCell::new(7u64);
    group.bench_function(PLAIN, |b| {
        // Safety: nothing else touches the cell.
        b.iter(|| black_box(unsafe { *plain.get() }))
    });
    let tracked = lockgraph::cell::UnsafeCell::new(7u64);
    group.bench_function(LG, |b| {
        // Safety: nothing else touches the cell.
        b.iter(|| black_box(tracked.with(|p| unsafe { *p })))
    });
    group.finish();

    let mut group = c.benchmark_group(GROUP_F);
    let plain = std::sync::atomic::AtomicU64::new(0);
    group.bench_function(PLAIN, |b| b.iter(|| black_box(plain.fetch_add(1, AcqRel))));
    let tracked = lockgraph::sync::atomic::AtomicU64::new(0);
    group.bench_function(LG, |b| b.iter(|| black_box(tracked.fetch_add(1, AcqRel))));
    group.finish();

    let mut group = c.benchmark_group(GROUP_G);
    let pl = parking_lot::Mutex::new(0u64);
    group.bench_function(PLAIN, |b| {
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
    group.finish();
}

// criterion's runner. The macro makes an undocumented `pub fn`, hence the allow.
#[allow(missing_docs)]
mod harness {
    use super::bench_races;
    criterion::criterion_group!(races, bench_races);
}

/// Runs the groups and prints what they cost over their plain twins.
fn main() {
    let since = SystemTime::now() - Duration::from_secs(2);
    harness::races();
    Criterion::default().configure_from_args().final_summary();
    let diff = |g: &str| Some(mean_ns(g, LG, since)? - mean_ns(g, PLAIN, since)?);
    println!();
    match diff(GROUP_E) {
        Some(d) => println!("(e) same-epoch tracked read: +{d:.1} ns (target <= 5 ns)"),
        None => println!("(e) no estimate from this run"),
    }
    match diff(GROUP_F) {
        Some(d) => println!("(f) instrumented fetch_add: +{d:.1} ns (target <= 60 ns)"),
        None => println!("(f) no estimate from this run"),
    }
    match (mean_ns(GROUP_G, LG, since), mean_ns(GROUP_G, PLAIN, since)) {
        (Some(l), Some(p)) if p > 0.0 => {
            println!("(g) lock+unlock with tracking on: {:.2}x", l / p)
        }
        _ => println!("(g) no estimate from this run"),
    }
    println!(
        "findings during the run: {} (expected 0)",
        lockgraph::findings().len()
    );
}

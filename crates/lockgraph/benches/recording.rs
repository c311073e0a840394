//! Recording overhead benchmark, case (a-rec) of the overhead table: uncontended lock+unlock with every event recorded to a trace file.
//!
//! Run it with `cargo bench -p lockgraph --bench recording`. Recording is
//! process-wide and starts once, so this case cannot share a process with
//! `benches/overhead.rs`: here `main` calls `lockgraph::record_to` before
//! anything else, into a fresh temporary directory, and runs criterion on a
//! thread spawned after that (a thread that used a lock before recording
//! started never records). Group `a_rec_uncontended` has a `parking_lot`
//! and a `lockgraph` variant of the same code shape as `a_uncontended` in
//! `overhead.rs`.
//!
//! At the end `main` prints the `lockgraph / parking_lot` ratio from
//! criterion's estimates of this run, checks the trace file grew while
//! lockgraph was measured (printing how much), and deletes the directory.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime};

use common::mean_ns;
use criterion::Criterion;

mod common;

/// Group of benchmark (a-rec): uncontended lock and unlock, recording on.
const GROUP: &str = "a_rec_uncontended";
/// Bench id of the plain parking_lot variant.
const PL: &str = "parking_lot";
/// Bench id of the lockgraph variant, recording every event.
const LG: &str = "lockgraph";
/// The largest acceptable `lockgraph / parking_lot` ratio.
const TARGET: f64 = 4.0;

/// (a-rec) Uncontended lock + unlock of one mutex, with recording on.
///
/// The measuring times are kept short: every lockgraph iteration writes two
/// trace lines (`acquire`, `release`), and the default times make a trace
/// of several gigabytes.
fn bench_uncontended_recording(c: &mut Criterion) {
    let mut group = c.benchmark_group(GROUP);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

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

    group.finish();
}

// criterion's runner. The macro makes an undocumented `pub fn`, hence the allow.
#[allow(missing_docs)]
mod harness {
    use super::bench_uncontended_recording;
    criterion::criterion_group!(recording, bench_uncontended_recording);
}

/// This run's temporary directory; the trace goes to `bench-trace/` in it.
fn bench_dir() -> PathBuf {
    std::env::temp_dir().join(format!("lockgraph-recording-bench-{}", std::process::id()))
}

/// The size of the trace file after draining every thread's events into it.
fn trace_size(path: &Path) -> u64 {
    lockgraph::flush_trace();
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Starts recording, runs the benchmark on a fresh thread, prints the ratio and the trace growth.
fn main() {
    // First of all: threads that use a lock before recording starts never
    // record. The trailing separator makes `record_to` take it as a directory.
    let trace = lockgraph::record_to(bench_dir().join("bench-trace/"))
        .unwrap_or_else(|e| panic!("cannot record to {}: {e}", bench_dir().display()));
    lockgraph::set_on_finding(lockgraph::OnFinding::Off);
    // Filesystem timestamps can be coarse: allow a little slack.
    let since = SystemTime::now() - Duration::from_secs(2);
    let before = trace_size(&trace);

    // Criterion measures on the thread that runs it: one created after recording started.
    let measured = thread::Builder::new()
        .name("bench-recording".into())
        .spawn(|| {
            harness::recording();
            Criterion::default().configure_from_args().final_summary();
        })
        .expect("spawn the measuring thread")
        .join();

    let grown = trace_size(&trace).saturating_sub(before);
    println!();
    match (mean_ns(GROUP, LG, since), mean_ns(GROUP, PL, since)) {
        (Some(lg), Some(pl)) if pl > 0.0 => {
            let r = lg / pl;
            println!(
                "ratio (a-rec) uncontended lock+unlock, recording: {r:.2}x (target <= {TARGET}x)"
            );
        }
        _ => println!("(no estimates from this run: filtered, --test or --list)"),
    }
    println!(
        "trace grew by {:.1} MB during the run ({})",
        grown as f64 / 1e6,
        trace.display()
    );
    let findings = lockgraph::findings().len();
    println!("findings recorded during the run: {findings} (expected 0)");

    // The directory is this process's alone: remove it with the trace.
    if let Err(e) = std::fs::remove_dir_all(bench_dir()) {
        eprintln!("cannot remove {}: {e}", bench_dir().display());
    }
    if measured.is_err() {
        std::process::exit(101);
    }
    if mean_ns(GROUP, LG, since).is_some() {
        assert!(grown > 0, "recording was on, yet the trace did not grow");
    }
}

//! Analysis throughput benchmark: `TraceReader` feeding `Analyzer` over a synthetic in-memory trace, the path of `lockgraph analyze`.
//!
//! Run it with `cargo bench -p lockgraph-detect --bench replay`. The trace
//! is generated once, in memory, by the crate's own
//! `trace::synthetic::synthetic_trace`: a header, 8 named threads, 64
//! mutexes with their creation sites, then 1_000_000 events. Each thread
//! runs a fixed repertoire of code paths that nest 1–3 locks in one global
//! order (ascending object id) and release them in reverse; some steps use
//! `try_lock` (`try`, or `try_fail` when another thread holds the lock), a
//! blocking acquisition of a busy lock records `wait` first, and the first
//! acquisition of a chain records `attempt`, as the live runtime does.
//! After the first few thousand events there is nothing new to learn: the
//! steady state of a healthy program.
//!
//! Before measuring, the trace is analyzed once and must produce no finding.
//! After criterion's summary, `main` reads criterion's estimate of this run
//! back and prints the throughput in million events per second.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput};
use lockgraph_detect::replay::{Analyzer, Stats};
use lockgraph_detect::trace::synthetic::{synthetic_trace, MUTEXES, THREADS};
use lockgraph_detect::trace::TraceReader;
use lockgraph_detect::Finding;

/// Criterion group of the benchmark.
const GROUP: &str = "replay";
/// Criterion bench id: reading and analyzing the whole trace.
const BENCH: &str = "read_and_analyze";
/// Events in the synthetic trace.
const EVENTS: u64 = 1_000_000;
/// The throughput the analysis should reach, in million events per second.
const TARGET_MEPS: f64 = 5.0;

/// What `lockgraph analyze` does with one trace: read every record, replay it, finish.
fn analyze(bytes: &[u8]) -> (Vec<Finding>, Stats) {
    let mut analyzer = Analyzer::new();
    let mut replay = analyzer.trace("synthetic.jsonl");
    for record in TraceReader::new(bytes, "synthetic.jsonl") {
        replay.record(record.expect("the synthetic trace is valid"));
    }
    replay.finish();
    analyzer.finish()
}

/// How many events of each kind the trace holds, for the record.
fn event_mix(text: &str) -> String {
    let kinds = ["attempt", "acquire", "wait", "try", "try_fail", "release"];
    let counts: Vec<String> = kinds
        .iter()
        .map(|k| {
            let needle = format!("\"ev\":\"{k}\"");
            format!("{k} {}", text.matches(&needle).count())
        })
        .collect();
    counts.join(", ")
}

/// Reading and analyzing the synthetic trace, after checking it is finding-free.
fn bench_replay(c: &mut Criterion) {
    let text = synthetic_trace(EVENTS);
    let (findings, stats) = analyze(text.as_bytes());
    assert!(
        findings.is_empty(),
        "a trace with one consistent lock order must produce no finding, got {}: {:?}",
        findings.len(),
        findings.iter().map(|f| &f.summary).collect::<Vec<_>>()
    );
    assert_eq!(stats.events, EVENTS);
    assert_eq!(stats.threads, THREADS);
    assert_eq!(stats.objects, MUTEXES);
    println!(
        "synthetic trace: {EVENTS} events, {:.1} MB ({})",
        text.len() as f64 / 1e6,
        event_mix(&text)
    );

    let mut group = c.benchmark_group(GROUP);
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(BENCH, |b| b.iter(|| analyze(black_box(text.as_bytes()))));
    group.finish();
}

// criterion's runner. The macro makes an undocumented `pub fn`, hence the allow.
#[allow(missing_docs)]
mod harness {
    use super::bench_replay;
    criterion::criterion_group!(replay, bench_replay);
}

/// The directories criterion may have written to, in criterion's own order of preference.
fn criterion_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        dirs.push(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(target).join("criterion"));
    }
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join("criterion"),
    );
    dirs
}

/// The mean time (ns) criterion estimated for `group/bench` in this run, if it measured it.
///
/// Estimates older than `since` are from an earlier run (this one was
/// filtered, say) and are left out.
fn mean_ns(group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    criterion_dirs().iter().find_map(|dir| {
        let path = dir
            .join(group)
            .join(bench)
            .join("new")
            .join("estimates.json");
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        if modified < since {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json.get("mean")?.get("point_estimate")?.as_f64()
    })
}

/// Runs the benchmark, criterion's summary, then the throughput line.
fn main() {
    // Filesystem timestamps can be coarse: allow a little slack.
    let since = SystemTime::now() - Duration::from_secs(2);

    harness::replay();
    Criterion::default().configure_from_args().final_summary();

    println!();
    match mean_ns(GROUP, BENCH, since) {
        Some(ns) if ns > 0.0 => {
            // events / (ns / 1e9) / 1e6
            let meps = EVENTS as f64 * 1e3 / ns;
            println!("replay: {meps:.2} million events per second (target >= {TARGET_MEPS})");
        }
        _ => println!("replay: no estimate from this run (filtered, --test or --list)"),
    }
}

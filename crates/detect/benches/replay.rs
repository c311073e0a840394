//! Analysis throughput benchmark: `TraceReader` feeding `Analyzer` over a synthetic in-memory trace, the path of `lockgraph analyze`.
//!
//! Run it with `cargo bench -p lockgraph-detect --bench replay`. The trace
//! is generated once, in memory, with the crate's own `write` functions: a
//! header, 8 named threads, 64 mutexes with their creation sites, then
//! 1_000_000 events. Each thread runs a fixed repertoire of code paths that
//! nest 1–3 locks in one global order (ascending object id) and release them
//! in reverse; some steps use `try_lock` (`try`, or `try_fail` when another
//! thread holds the lock), a blocking acquisition of a busy lock records
//! `wait` first, and the first acquisition of a chain records `attempt`, as
//! the live runtime does. After the first few thousand events there is
//! nothing new to learn: the steady state of a healthy program.
//!
//! Before measuring, the trace is analyzed once and must produce no finding.
//! After criterion's summary, `main` reads criterion's estimate of this run
//! back and prints the throughput in million events per second.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput};
use lockgraph_detect::model::{chain_hash, Mode, ObjectKind};
use lockgraph_detect::replay::{Analyzer, Stats};
use lockgraph_detect::trace::{write, EventKind, Record, TraceEvent, TraceReader};
use lockgraph_detect::Finding;
use rustc_hash::FxHashSet;

/// Criterion group of the benchmark.
const GROUP: &str = "replay";
/// Criterion bench id: reading and analyzing the whole trace.
const BENCH: &str = "read_and_analyze";
/// Events in the synthetic trace.
const EVENTS: u64 = 1_000_000;
/// The throughput the analysis should reach, in million events per second.
const TARGET_MEPS: f64 = 5.0;

/// Threads in the synthetic trace (ids 1..=THREADS).
const THREADS: u64 = 8;
/// Mutexes in the synthetic trace (ids 1..=MUTEXES, created at sites 1..=MUTEXES).
const MUTEXES: u64 = 64;
/// Acquisition sites, numbered after the creation sites.
const ACQUIRE_SITES: u64 = 32;
/// Code paths per thread: each a fixed, ordered set of 1–3 locks.
const PATHS_PER_THREAD: usize = 12;
/// One step in this many is a `try_lock` rather than a blocking `lock`.
const TRY_ONE_IN: u64 = 8;

/// A small deterministic generator (splitmix64): the same trace every run.
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One step of a code path: a lock to take, where, and how.
#[derive(Clone, Copy)]
struct Step {
    /// The mutex.
    object: u64,
    /// The acquisition site.
    site: u64,
    /// `try_lock` (never blocks) rather than `lock`.
    try_lock: bool,
}

/// One simulated thread: its code paths and where it is in the current one.
struct Worker {
    /// The thread id.
    id: u64,
    /// The code paths it runs, each in ascending object order.
    paths: Vec<Vec<Step>>,
    /// The path being run.
    path: usize,
    /// The next step of that path; past its end, the thread releases.
    next: usize,
    /// The locks held, in the order taken, with the chain hash up to each.
    held: Vec<(u64, u64)>,
    /// An `attempt` was recorded for the next step.
    asked: bool,
    /// A `wait` was recorded for the next step: the thread is blocked.
    waiting: bool,
    /// Chains this thread already took (the live runtime's cache): no `attempt` for them.
    seen: FxHashSet<u64>,
}

/// Generates the events of a healthy program, one line at a time.
struct Generator {
    /// The random source.
    rng: Rng,
    /// The simulated threads.
    workers: Vec<Worker>,
    /// Which thread holds each mutex (index `object - 1`), 0 for none.
    owner: Vec<u64>,
}

impl Generator {
    /// A generator with every thread's code paths drawn from a fixed seed.
    fn new() -> Self {
        let mut rng = Rng(0x5EED_1234_ABCD_0042);
        let workers = (1..=THREADS)
            .map(|id| {
                let paths = (0..PATHS_PER_THREAD)
                    .map(|_| {
                        let depth = 1 + rng.below(3) as usize;
                        let mut objects: Vec<u64> = Vec::with_capacity(depth);
                        while objects.len() < depth {
                            let o = 1 + rng.below(MUTEXES);
                            if !objects.contains(&o) {
                                objects.push(o);
                            }
                        }
                        objects.sort_unstable();
                        objects
                            .into_iter()
                            .map(|object| Step {
                                object,
                                site: MUTEXES + 1 + rng.below(ACQUIRE_SITES),
                                try_lock: rng.below(TRY_ONE_IN) == 0,
                            })
                            .collect()
                    })
                    .collect();
                Worker {
                    id,
                    paths,
                    path: 0,
                    next: 0,
                    held: Vec::new(),
                    asked: false,
                    waiting: false,
                    seen: FxHashSet::default(),
                }
            })
            .collect();
        Generator {
            rng,
            workers,
            owner: vec![0; MUTEXES as usize],
        }
    }

    /// The lines before the events: header, threads, sites, objects.
    fn preamble() -> String {
        let mut out = write::header("synthetic-bank", 4242, 1_700_000_000_000);
        for id in 1..=THREADS {
            write::record(
                &mut out,
                &Record::Thread {
                    id,
                    name: Some(format!("worker-{id}")),
                },
            );
        }
        for id in 1..=MUTEXES + ACQUIRE_SITES {
            let (file, line) = if id <= MUTEXES {
                ("src/bank/accounts.rs", 100 + id as u32)
            } else {
                ("src/bank/transfer.rs", 10 * id as u32)
            };
            write::record(
                &mut out,
                &Record::Site {
                    id,
                    file: file.to_owned(),
                    line,
                    col: 21,
                    frames: Vec::new(),
                },
            );
        }
        for id in 1..=MUTEXES {
            write::record(
                &mut out,
                &Record::Object {
                    id,
                    kind: ObjectKind::Mutex,
                    name: Some(format!("account-{id}")),
                    site: id,
                },
            );
        }
        out
    }

    /// Appends the next event line to `out`.
    fn next_event(&mut self, out: &mut String) {
        let first = self.rng.below(THREADS) as usize;
        for k in 0..self.workers.len() {
            let w = (first + k) % self.workers.len();
            if let Some(e) = self.step(w) {
                write::event(out, &e);
                return;
            }
        }
        // Locks are always taken in ascending order, so whoever holds the
        // highest held lock can always go on.
        unreachable!("every simulated thread is blocked: the lock order is not consistent");
    }

    /// The next event of worker `w`, or `None` if it is blocked.
    fn step(&mut self, w: usize) -> Option<TraceEvent> {
        let Generator {
            rng,
            workers,
            owner,
        } = self;
        let worker = &mut workers[w];
        let t = worker.id;
        if worker.next == worker.paths[worker.path].len() {
            if let Some((o, _)) = worker.held.pop() {
                owner[o as usize - 1] = 0;
                let mut e = TraceEvent::new(EventKind::Release, t);
                e.object = Some(o);
                return Some(e);
            }
            worker.path = rng.below(PATHS_PER_THREAD as u64) as usize;
            worker.next = 0;
        }
        let step = worker.paths[worker.path][worker.next];
        let owner = &mut owner[step.object as usize - 1];
        let event = |kind| {
            let mut e = TraceEvent::new(kind, t);
            e.object = Some(step.object);
            e.site = Some(step.site);
            e.mode = Some(Mode::Exclusive);
            e
        };
        let chain = chain_hash(
            worker.held.last().map_or(0, |&(_, c)| c),
            step.object,
            Mode::Exclusive,
        );
        if step.try_lock {
            worker.next += 1;
            if *owner != 0 {
                return Some(event(EventKind::TryFail));
            }
            *owner = t;
            worker.held.push((step.object, chain));
            return Some(event(EventKind::Try));
        }
        if *owner != 0 {
            if worker.waiting {
                return None;
            }
            worker.waiting = true;
            return Some(event(EventKind::Wait));
        }
        if !worker.asked && !worker.waiting && worker.seen.insert(chain) {
            worker.asked = true;
            return Some(event(EventKind::Attempt));
        }
        *owner = t;
        worker.held.push((step.object, chain));
        worker.next += 1;
        worker.asked = false;
        worker.waiting = false;
        Some(event(EventKind::Acquire))
    }
}

/// The whole synthetic trace of `events` events, in memory.
fn synthetic_trace(events: u64) -> String {
    let mut gen = Generator::new();
    let mut out = Generator::preamble();
    out.reserve(events as usize * 48);
    for _ in 0..events {
        gen.next_event(&mut out);
    }
    out
}

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

//! Recording: a trace survives the ways a process ends (SIGKILL, process::exit,
//! a panic then abort) up to its last flush, and reads back cleanly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lockgraph::Mutex;
use lockgraph_detect::trace::{Event, EventKind, Record, TraceReader};
use lockgraph_scenarios::{run_with, traces_in, Options};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("trace-tests")
        .join(name)
}

/// Reads the one trace in `dir`: its records and warnings; panics on any error.
fn read(dir: &Path) -> (Vec<Record>, Vec<String>) {
    let files = traces_in(dir);
    assert_eq!(files.len(), 1, "one trace in {}", dir.display());
    let f = std::fs::File::open(&files[0]).unwrap();
    let mut r = TraceReader::new(std::io::BufReader::new(f), files[0].display().to_string());
    let records: Vec<Record> = r
        .by_ref()
        .map(|x| x.expect("readable to the end"))
        .collect();
    (records, r.warnings().to_vec())
}

/// One event of one thread.
#[derive(Clone, Copy)]
struct Ev {
    thread: u64,
    event: Event<u64>,
}

impl Ev {
    fn kind(&self) -> EventKind {
        self.event.kind()
    }
}

/// The events of a trace with every `repeat` expanded: each thread's
/// previous `k` events, `n` more times. What the program did, event by event.
fn expand(records: &[Record]) -> Vec<Ev> {
    let mut per_thread: std::collections::HashMap<u64, Vec<Ev>> = Default::default();
    let mut all = Vec::new();
    for r in records {
        let &Record::Event { thread, event } = r else {
            continue;
        };
        let e = Ev { thread, event };
        let mine = per_thread.entry(thread).or_default();
        if let Event::Repeat { k, n } = event {
            let block: Vec<Ev> = mine[mine.len() - k as usize..].to_vec();
            for _ in 0..n {
                mine.extend(block.iter().copied());
                all.extend(block.iter().copied());
            }
        } else {
            mine.push(e);
            all.push(e);
        }
    }
    all
}

/// Events of `kind` on the object named `name`, repeats expanded.
fn count(records: &[Record], name: &str, kind: EventKind) -> usize {
    let id = records.iter().find_map(|r| match r {
        Record::Object {
            id, name: Some(n), ..
        } if n == name => Some(*id),
        _ => None,
    });
    let Some(id) = id else { return 0 };
    expand(records)
        .iter()
        .filter(|e| e.kind() == kind && e.event.object() == Some(id))
        .count()
}

#[test]
fn a_tight_loop_is_compressed_without_losing_an_event() {
    let d = dir("compressed");
    let out = run_with(
        "a_tight_loop_is_compressed_without_losing_an_event",
        Options {
            trace_dir: Some(d.clone()),
            ..Options::default()
        },
        || {
            let a = Mutex::named("outer", 0);
            let b = Mutex::named("inner", 0);
            for i in 0..10_000 {
                let _a = a.lock();
                *b.lock() += i;
            }
            let _t = b.try_lock();
        },
    );
    out.assert_silent();
    let (records, _) = read(&d);
    let lines = records
        .iter()
        .filter(|r| matches!(r, Record::Event { .. }))
        .count();
    assert!(lines < 200, "10 000 iterations in {lines} event lines");
    assert_eq!(count(&records, "outer", EventKind::Acquire), 10_000);
    assert_eq!(count(&records, "inner", EventKind::Acquire), 10_000);
    assert_eq!(
        count(&records, "inner", EventKind::Release),
        10_001,
        "10 000 in the loop, one for the try_lock guard"
    );
    assert_eq!(count(&records, "inner", EventKind::Try), 1);
    // The expanded order is the program's, iteration after iteration: outer,
    // inner, inner released, outer released (the first inner also has the
    // `attempt` of a chain learned for the first time).
    let events = expand(&records);
    let kinds: Vec<(EventKind, u64)> = events
        .iter()
        .filter(|e| matches!(e.kind(), EventKind::Acquire | EventKind::Release))
        .map(|e| (e.kind(), e.event.object().unwrap()))
        .collect();
    let (outer, inner) = (kinds[0].1, kinds[1].1);
    for (i, quad) in kinds.chunks(4).take(10_000).enumerate() {
        assert_eq!(
            quad,
            [
                (EventKind::Acquire, outer),
                (EventKind::Acquire, inner),
                (EventKind::Release, inner),
                (EventKind::Release, outer)
            ],
            "iteration {i}"
        );
    }
}

fn work(name: &'static str, times: usize) {
    let m = Mutex::named(name, 0);
    for _ in 0..times {
        *m.lock() += 1;
    }
}

#[test]
fn a_killed_process_leaves_a_trace_readable_to_its_last_flush() {
    let d = dir("killed");
    let out = run_with(
        "a_killed_process_leaves_a_trace_readable_to_its_last_flush",
        Options {
            trace_dir: Some(d.clone()),
            kill_after: Some(Duration::from_millis(1500)),
            ..Options::default()
        },
        || {
            work("before the kill", 100);
            // Several flush periods pass, then the process hangs until killed.
            loop {
                work("while waiting to be killed", 10);
                std::thread::sleep(Duration::from_millis(20));
            }
        },
    );
    assert!(!out.status.success(), "the child was killed");
    let (records, _warnings) = read(&d);
    assert!(matches!(records[0], Record::Header { .. }));
    assert_eq!(count(&records, "before the kill", EventKind::Acquire), 100);
    assert_eq!(count(&records, "before the kill", EventKind::Release), 100);
}

#[test]
fn process_exit_flushes_what_the_flusher_had_not_written() {
    let d = dir("exit");
    let out = run_with(
        "process_exit_flushes_what_the_flusher_had_not_written",
        Options {
            trace_dir: Some(d.clone()),
            kill_after: Some(Duration::from_secs(10)),
            ..Options::default()
        },
        || {
            work("right before exit", 10);
            std::process::exit(3);
        },
    );
    assert_eq!(out.status.code(), Some(3));
    let (records, warnings) = read(&d);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(count(&records, "right before exit", EventKind::Acquire), 10);
}

#[test]
fn a_panic_flushes_before_an_abort() {
    let d = dir("abort");
    let out = run_with(
        "a_panic_flushes_before_an_abort",
        Options {
            trace_dir: Some(d.clone()),
            kill_after: Some(Duration::from_secs(10)),
            ..Options::default()
        },
        || {
            work("before the panic", 10);
            let _ = std::thread::spawn(|| panic!("boom")).join();
            // abort runs no exit handlers: only the panic hook's flush saved the events.
            std::process::abort();
        },
    );
    assert!(!out.status.success());
    let (records, _) = read(&d);
    assert_eq!(count(&records, "before the panic", EventKind::Acquire), 10);
}

#[test]
fn record_to_starts_recording_from_the_api() {
    let d = dir("api");
    let _ = std::fs::remove_dir_all(&d);
    let out = run_with(
        "record_to_starts_recording_from_the_api",
        Options::default(),
        || {
            let path = lockgraph::record_to(dir("api").join("by-api.jsonl")).expect("record");
            assert_eq!(lockgraph::trace_path(), Some(path));
            std::thread::spawn(|| work("recorded by api", 5))
                .join()
                .unwrap();
            lockgraph::flush_trace();
        },
    );
    out.assert_silent();
    let (records, _) = read(&d);
    assert_eq!(count(&records, "recorded by api", EventKind::Acquire), 5);
}

#[test]
fn spawn_join_and_exit_are_recorded_with_the_child_ids() {
    let d = dir("threads");
    let out = run_with(
        "spawn_join_and_exit_are_recorded_with_the_child_ids",
        Options {
            trace_dir: Some(d.clone()),
            ..Options::default()
        },
        || {
            let h = lockgraph::thread::Builder::new()
                .name("child".into())
                .spawn(|| work("in the child", 3))
                .unwrap();
            h.join().unwrap();
            work("in the parent", 1);
        },
    );
    out.assert_silent();
    let (records, _) = read(&d);
    let child = records
        .iter()
        .find_map(|r| match r {
            Record::Thread { id, name: Some(n) } if n == "child" => Some(*id),
            _ => None,
        })
        .expect("the child's thread record");
    let events = expand(&records);
    let spawn = events
        .iter()
        .find(|e| e.kind() == EventKind::Spawn)
        .expect("spawn recorded");
    assert!(matches!(spawn.event, Event::Spawn { child: c, .. } if c == child));
    let join = events
        .iter()
        .find(|e| e.kind() == EventKind::Join)
        .expect("join recorded");
    assert!(matches!(join.event, Event::Join { child: c, .. } if c == child));
    assert_eq!(join.thread, spawn.thread, "the spawner joined");
    assert!(
        events
            .iter()
            .any(|e| e.event == Event::Exit && e.thread == child),
        "the child's exit"
    );
    assert_eq!(count(&records, "in the child", EventKind::Acquire), 3);
    assert!(events
        .iter()
        .any(|e| e.thread == child && e.kind() == EventKind::Acquire));
}

#[test]
fn blocks_that_diverge_mid_copy_expand_to_the_exact_sequence() {
    let d = dir("diverging");
    let out = run_with(
        "blocks_that_diverge_mid_copy_expand_to_the_exact_sequence",
        Options {
            trace_dir: Some(d.clone()),
            ..Options::default()
        },
        || {
            let outer = Mutex::named("outer", 0);
            let left = Mutex::named("left", 0);
            let right = Mutex::named("right", 0);
            // Runs of copies, broken mid-block: the shared prefix (outer)
            // is held back, then the other lock shows it was no copy.
            for i in 0..3000u32 {
                let _o = outer.lock();
                if (i / 7) % 2 == 0 {
                    *left.lock() += 1;
                } else {
                    *right.lock() += 1;
                }
            }
        },
    );
    out.assert_silent();
    let (records, _) = read(&d);
    let name_of = |id: u64| {
        records.iter().find_map(|r| match r {
            Record::Object {
                id: i,
                name: Some(n),
                ..
            } if *i == id => Some(n.clone()),
            _ => None,
        })
    };
    let seq: Vec<(EventKind, String)> = expand(&records)
        .iter()
        .filter(|e| matches!(e.kind(), EventKind::Acquire | EventKind::Release))
        .map(|e| (e.kind(), name_of(e.event.object().unwrap()).unwrap()))
        .collect();
    let mut expected = Vec::new();
    for i in 0..3000u32 {
        let inner = if (i / 7) % 2 == 0 { "left" } else { "right" };
        expected.push((EventKind::Acquire, "outer".to_owned()));
        expected.push((EventKind::Acquire, inner.to_owned()));
        expected.push((EventKind::Release, inner.to_owned()));
        expected.push((EventKind::Release, "outer".to_owned()));
    }
    assert_eq!(seq.len(), expected.len());
    assert!(
        seq == expected,
        "the expanded trace is the program's sequence"
    );
}

#[test]
fn a_process_hung_in_a_deadlock_and_killed_is_diagnosed_from_its_trace() {
    let d = dir("hung");
    let out = run_with(
        "a_process_hung_in_a_deadlock_and_killed_is_diagnosed_from_its_trace",
        Options {
            trace_dir: Some(d.clone()),
            kill_after: Some(Duration::from_millis(1500)),
            // `off`: lockgraph does not break the deadlock; the process hangs.
            env: vec![("LOCKGRAPH_ON_FINDING".into(), "off".into())],
            ..Options::default()
        },
        || {
            let a = std::sync::Arc::new(Mutex::named("A", ()));
            let b = std::sync::Arc::new(Mutex::named("B", ()));
            let meet = std::sync::Arc::new(std::sync::Barrier::new(2));
            let t = {
                let (a, b, meet) = (a.clone(), b.clone(), meet.clone());
                lockgraph::thread::Builder::new()
                    .name("t1".into())
                    .spawn(move || {
                        let _a = a.lock();
                        meet.wait();
                        let _b = b.lock();
                    })
                    .unwrap()
            };
            let _b = b.lock();
            meet.wait();
            let _a = a.lock();
            drop(t);
        },
    );
    assert!(!out.status.success(), "the child hung and was killed");
    let findings = lockgraph_scenarios::analyze(&traces_in(&d));
    let kinds: Vec<_> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [lockgraph_detect::Kind::Deadlock], "{findings:#?}");
    assert!(
        findings[0].summary.contains("Mutex \"A\"") && findings[0].summary.contains("Mutex \"B\""),
        "{}",
        findings[0].summary
    );
}

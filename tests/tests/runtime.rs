//! The runtime's contract beyond single scenarios: reactions (panic, warn,
//! off), once-per-process reporting, the run-time off switch, one-thread
//! cycles, and guards released on another thread.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use lockgraph::Mutex;
use lockgraph_detect::{Kind, Severity};
use lockgraph_scenarios::{run_with, Options};

/// Thread "t1" takes A then B; after it finished, thread "t2" takes B then A.
fn inversion(a: &Arc<Mutex<()>>, b: &Arc<Mutex<()>>) {
    let (a1, b1) = (a.clone(), b.clone());
    thread::Builder::new()
        .name("t1".into())
        .spawn(move || {
            let _a = a1.lock();
            let _b = b1.lock();
        })
        .unwrap()
        .join()
        .unwrap();
    let (a2, b2) = (a.clone(), b.clone());
    let _ = thread::Builder::new()
        .name("t2".into())
        .spawn(move || {
            let _b = b2.lock();
            let _a = a2.lock();
        })
        .unwrap()
        .join();
}

/// [`inversion`] on a fresh pair of mutexes named A and B.
fn inversion_of_fresh_pair() {
    inversion(
        &Arc::new(Mutex::named("A", ())),
        &Arc::new(Mutex::named("B", ())),
    );
}

fn env(pairs: &[(&str, &str)]) -> Options {
    Options {
        env: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Options::default()
    }
}

#[test]
fn warn_reports_on_stderr_and_the_program_goes_on() {
    let out = run_with(
        "warn_reports_on_stderr_and_the_program_goes_on",
        env(&[("LOCKGRAPH_ON_FINDING", "warn")]),
        || {
            inversion_of_fresh_pair();
            eprintln!("the program went on");
        },
    );
    out.single(Kind::LockOrderCycle);
    assert!(out.status.success());
    // The report is printed by the reporter thread, so it may come after
    // what the program printed next; it is there by the time the process ends.
    assert!(
        out.stderr.contains("lockgraph: lock_order_cycle (error):"),
        "report on stderr: {}",
        out.stderr
    );
    assert!(out.stderr.contains("the program went on"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn off_records_without_a_word() {
    let out = run_with(
        "off_records_without_a_word",
        env(&[("LOCKGRAPH_ON_FINDING", "off")]),
        || {
            inversion_of_fresh_pair();
        },
    );
    out.single(Kind::LockOrderCycle);
    assert!(!out.stderr.contains("lockgraph:"), "{}", out.stderr);
}

#[test]
fn the_api_overrides_the_environment() {
    let out = run_with(
        "the_api_overrides_the_environment",
        env(&[("LOCKGRAPH_ON_FINDING", "panic")]),
        || {
            lockgraph::set_on_finding(lockgraph::OnFinding::Warn);
            inversion_of_fresh_pair();
        },
    );
    out.single(Kind::LockOrderCycle);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn panic_is_the_default_and_its_message_is_the_report() {
    let out = run_with(
        "panic_is_the_default_and_its_message_is_the_report",
        Options::default(),
        || {
            inversion_of_fresh_pair();
        },
    );
    out.single(Kind::LockOrderCycle);
    let panic_line = out
        .stderr
        .lines()
        .position(|l| l.contains("thread 't2'") && l.contains("panicked"))
        .expect("t2 panicked");
    let next = out.stderr.lines().nth(panic_line + 1).unwrap_or_default();
    assert!(
        next.starts_with("lockgraph: lock_order_cycle (error): possible deadlock"),
        "first line names the kind: {next}"
    );
}

#[test]
fn the_same_finding_is_reported_once_per_process() {
    let out = run_with(
        "the_same_finding_is_reported_once_per_process",
        env(&[("LOCKGRAPH_ON_FINDING", "warn")]),
        || {
            let (a, b) = (
                Arc::new(Mutex::named("A", ())),
                Arc::new(Mutex::named("B", ())),
            );
            // The same inversion, formed again and again by fresh threads.
            for _ in 0..5 {
                inversion(&a, &b);
            }
        },
    );
    out.single(Kind::LockOrderCycle);
    assert_eq!(
        out.stderr.matches("lock_order_cycle (error)").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn lockgraph_off_switches_detection_off() {
    let out = run_with(
        "lockgraph_off_switches_detection_off",
        env(&[("LOCKGRAPH", "off")]),
        || {
            inversion_of_fresh_pair();
            assert!(lockgraph::held_locks().is_empty());
        },
    );
    out.assert_silent();
}

#[test]
fn a_cycle_formed_by_one_thread_alone_is_only_a_warning() {
    let out = run_with(
        "a_cycle_formed_by_one_thread_alone_is_only_a_warning",
        Options::default(),
        || {
            let a = Mutex::named("A", ());
            let b = Mutex::named("B", ());
            {
                let _a = a.lock();
                let _b = b.lock();
            }
            let _b = b.lock();
            let _a = a.lock();
        },
    );
    let f = out.single(Kind::LockOrderCycle);
    assert_eq!(f.severity, Severity::Warning);
    assert!(out.status.success(), "a warning does not panic");
    assert!(
        out.stderr.contains("lockgraph: lock_order_cycle (warning)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_guard_sent_to_another_thread_is_released_there() {
    let out = run_with(
        "a_guard_sent_to_another_thread_is_released_there",
        Options::default(),
        || {
            let a = Arc::new(Mutex::named("A", ()));
            let b = Arc::new(Mutex::named("B", ()));
            let (tx, rx) = mpsc::channel();
            let dropper = thread::spawn(move || drop(rx.recv().unwrap()));
            tx.send(a.lock_arc()).unwrap();
            dropper.join().unwrap();
            assert!(lockgraph::held_locks().is_empty(), "no phantom A");
            // With a phantom A this would add A→B, and the next thread would close a cycle.
            drop(b.lock());
            let (a2, b2) = (a.clone(), b.clone());
            thread::spawn(move || {
                let _b = b2.lock();
                let _a = a2.lock();
            })
            .join()
            .unwrap();
        },
    );
    out.assert_silent();
}

/// Two threads lock `a` and `b` in opposite orders at the same moment.
fn collide(a: &Arc<Mutex<()>>, b: &Arc<Mutex<()>>) {
    let meet = Arc::new(std::sync::Barrier::new(2));
    let spawn = |x: Arc<Mutex<()>>, y: Arc<Mutex<()>>, meet: Arc<std::sync::Barrier>| {
        thread::spawn(move || {
            let _x = x.lock();
            meet.wait();
            let _y = y.lock();
        })
    };
    let t1 = spawn(a.clone(), b.clone(), meet.clone());
    let t2 = spawn(b.clone(), a.clone(), meet);
    let _ = t1.join();
    let _ = t2.join();
}

#[test]
fn warn_still_ends_a_certain_self_deadlock() {
    let out = run_with(
        "warn_still_ends_a_certain_self_deadlock",
        env(&[("LOCKGRAPH_ON_FINDING", "warn")]),
        || {
            let m = Mutex::named("m", ());
            let _a = m.lock();
            let _b = m.lock(); // would hang forever: it panics instead
            unreachable!("the relock never returns");
        },
    );
    out.single(Kind::SelfDeadlock);
    assert!(
        out.stderr.contains("lockgraph: self_deadlock (error)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("unreachable"), "{}", out.stderr);
}

#[test]
fn warn_still_ends_a_real_deadlock() {
    let out = run_with(
        "warn_still_ends_a_real_deadlock",
        env(&[("LOCKGRAPH_ON_FINDING", "warn")]),
        || {
            collide(
                &Arc::new(Mutex::named("A", ())),
                &Arc::new(Mutex::named("B", ())),
            );
        },
    );
    out.single(Kind::Deadlock);
}

#[test]
fn warn_goes_on_after_a_read_inside_read_hazard() {
    let out = run_with(
        "warn_goes_on_after_a_read_inside_read_hazard",
        env(&[("LOCKGRAPH_ON_FINDING", "warn")]),
        || {
            let l = lockgraph::RwLock::named("table", 0);
            let a = l.read();
            let b = l.read(); // a hazard, not a certain hang: reported, then allowed
            assert_eq!(*a + *b, 0);
            eprintln!("went on after the hazard");
        },
    );
    out.single(Kind::SelfDeadlock);
    assert!(
        out.stderr.contains("went on after the hazard"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_same_deadlock_twice_in_one_process_ends_both_times() {
    let out = run_with(
        "the_same_deadlock_twice_in_one_process_ends_both_times",
        Options::default(),
        || {
            for _ in 0..2 {
                collide(
                    &Arc::new(Mutex::named("A", ())),
                    &Arc::new(Mutex::named("B", ())),
                );
            }
            eprintln!("both collisions ended");
        },
    );
    out.single(Kind::Deadlock);
    assert!(
        out.stderr.contains("both collisions ended"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("reported before"), "{}", out.stderr);
}

#[test]
fn a_process_that_exits_holding_a_lock_reports_the_leak_live_and_in_its_trace() {
    let name = "a_process_that_exits_holding_a_lock_reports_the_leak_live_and_in_its_trace";
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("runtime-traces")
        .join(name);
    let out = run_with(
        name,
        Options {
            trace_dir: Some(dir.clone()),
            ..Options::default()
        },
        || {
            // The thread that ends the process still holds it (its
            // thread-locals are never destroyed: the exit hook reports it).
            let m: &'static Mutex<u32> = Box::leak(Box::new(Mutex::named("config", 0)));
            std::mem::forget(m.lock());
        },
    );
    assert!(out.status.success());
    assert!(
        out.stderr
            .contains("lockgraph: lock_leak (warning): thread")
            && out.stderr.contains("ended holding Mutex \"config\""),
        "reported at exit:\n{}",
        out.stderr
    );
    let offline = lockgraph_scenarios::analyze(&lockgraph_scenarios::traces_in(&dir));
    let leak: Vec<_> = offline
        .iter()
        .filter(|f| f.kind == Kind::LockLeak)
        .collect();
    assert_eq!(leak.len(), 1, "{offline:?}");
    assert!(
        leak[0].summary.contains("Mutex \"config\""),
        "{}",
        leak[0].summary
    );
    assert_eq!(leak[0].severity, Severity::Warning);
}

/// One event's fields: (name, value), the target and level first.
type Fields = Vec<(String, String)>;

/// A `tracing` subscriber that keeps every event's fields, as a user's
/// subscriber would route them.
struct Keep(Arc<std::sync::Mutex<Vec<Fields>>>);

impl tracing::Subscriber for Keep {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Visit(Fields);
        impl tracing::field::Visit for Visit {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push((field.name().to_owned(), format!("{value:?}")));
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push((field.name().to_owned(), value.to_owned()));
            }
        }
        let mut fields = Visit(vec![
            ("target".into(), event.metadata().target().into()),
            ("level".into(), event.metadata().level().to_string()),
        ]);
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn findings_are_tracing_events_with_structured_fields() {
    let out = run_with(
        "findings_are_tracing_events_with_structured_fields",
        env(&[("LOCKGRAPH_ON_FINDING", "warn")]),
        || {
            let events = Arc::new(std::sync::Mutex::new(Vec::new()));
            tracing::subscriber::set_global_default(Keep(events.clone()))
                .expect("first subscriber");
            inversion_of_fresh_pair();
            let events = events.lock().unwrap();
            let e = events
                .iter()
                .find(|e| {
                    e.iter()
                        .any(|(k, v)| k == "kind" && v == "lock_order_cycle")
                })
                .unwrap_or_else(|| panic!("no lock_order_cycle event in {events:?}"));
            let field = |name: &str| {
                e.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no field {name} in {e:?}"))
            };
            assert_eq!(field("target"), "lockgraph");
            assert_eq!(field("level"), "ERROR");
            assert_eq!(field("severity"), "error");
            assert_eq!(field("fingerprint").len(), 16, "{e:?}");
            assert!(field("objects").contains("Mutex \"A\""), "{e:?}");
            assert!(field("threads").contains("thread \"t2\""), "{e:?}");
            assert!(field("sites").contains("runtime.rs:"), "{e:?}");
            assert!(field("message").contains("possible deadlock"), "{e:?}");
        },
    );
    out.assert_body_ok();
    out.single(Kind::LockOrderCycle);
}

//! Post-mortem: a process that died (killed, or ended by `process::exit`)
//! while threads were inside a wait is diagnosed from its trace, including
//! waits inside a condvar wait. Each trace is kept in `fixtures/scenarios/`
//! with its golden report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lockgraph::{Condvar, Mutex};
use lockgraph_detect::{Finding, Kind};
use lockgraph_scenarios::{
    analyze, ms, named, run_with, set_flag_under, traces_in, waiter_holding_config, Options,
    Outcome,
};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("postmortem")
        .join(name)
}

/// Runs `body` recorded, kills it (SIGKILL) after `after`, before the live
/// runtime could confirm anything, and analyzes what its trace holds.
fn killed(name: &str, after: Duration, body: impl FnOnce()) -> (Outcome, Vec<Finding>) {
    let out = run_with(
        name,
        Options {
            trace_dir: Some(dir(name)),
            kill_after: Some(after),
            ..Options::default()
        },
        body,
    );
    assert!(!out.status.success(), "the child hung and was killed");
    let findings = analyze(&traces_in(&dir(name)));
    out.save_fixture(name);
    (out, findings)
}

#[test]
fn killed_inside_a_condvar_wait_after_a_notify_that_woke_nobody_is_missed_notification() {
    let name =
        "killed_inside_a_condvar_wait_after_a_notify_that_woke_nobody_is_missed_notification";
    let (_, findings) = killed(name, ms(450), || {
        let pair = Arc::new((
            Mutex::named("results", Vec::<u32>::new()),
            Condvar::named("ready"),
        ));
        let worker = {
            let pair = pair.clone();
            named("worker", move || {
                pair.0.lock().push(42);
                // The bug: notifies before main waits, and main waits with no predicate.
                pair.1.notify_one();
            })
        };
        worker.join().unwrap();
        let mut results = pair.0.lock();
        pair.1.wait(&mut results);
    });
    let kinds: Vec<Kind> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [Kind::MissedNotification], "{findings:#?}");
    let f = &findings[0];
    assert!(f.summary.contains("Condvar \"ready\""), "{}", f.summary);
    assert!(
        f.evidence
            .iter()
            .all(|e| e.site.file.ends_with("postmortem.rs")),
        "names the notify site and the wait site: {:?}",
        f.evidence
    );
}

#[test]
fn killed_with_threads_blocked_on_each_other_through_a_condvar_and_a_lock_is_deadlock() {
    let name = "killed_with_threads_blocked_on_each_other_through_a_condvar_and_a_lock_is_deadlock";
    let (_, findings) = killed(name, ms(450), || {
        let (config, flag, waiter) = waiter_holding_config();
        let notifier = named("notifier", move || {
            std::thread::sleep(ms(50));
            set_flag_under(&config, &flag);
        });
        waiter.join().unwrap();
        notifier.join().unwrap();
    });
    let kinds: Vec<Kind> = findings.iter().map(|f| f.kind).collect();
    // The wait under a lock is a warning of its own; the stall is the deadlock.
    assert!(kinds.contains(&Kind::Deadlock), "{findings:#?}");
    let f = findings.iter().find(|f| f.kind == Kind::Deadlock).unwrap();
    for part in [
        "Condvar \"flag set\"",
        "Mutex \"config\"",
        "\"waiter\"",
        "\"notifier\"",
    ] {
        assert!(f.summary.contains(part), "{part} in {}", f.summary);
    }
}

/// Runs `body`, which ends the process with `std::process::exit(3)` while
/// other threads are blocked, recorded; returns its stderr and what its
/// trace holds.
fn exited(name: &str, body: impl FnOnce()) -> (Outcome, Vec<Finding>) {
    let out = run_with(
        name,
        Options {
            trace_dir: Some(dir(name)),
            // Returns what is left instead of looking for the findings line
            // the child never prints (it exits first).
            kill_after: Some(Duration::from_secs(15)),
            ..Options::default()
        },
        body,
    );
    assert_eq!(out.status.code(), Some(3), "stderr:\n{}", out.stderr);
    let findings = analyze(&traces_in(&dir(name)));
    out.save_fixture(name);
    (out, findings)
}

#[test]
fn process_exit_while_a_thread_waits_after_a_lost_notify_is_missed_notification_live_and_offline() {
    let name = "process_exit_while_a_thread_waits_after_a_lost_notify_is_missed_notification_live_and_offline";
    let (out, findings) = exited(name, || {
        let pair = Arc::new((Mutex::named("results", 0), Condvar::named("ready")));
        let producer = {
            let pair = pair.clone();
            named("producer", move || {
                *pair.0.lock() += 1;
                pair.1.notify_one();
            })
        };
        producer.join().unwrap();
        let _consumer = {
            let pair = pair.clone();
            named("consumer", move || {
                let mut g = pair.0.lock();
                pair.1.wait(&mut g);
            })
        };
        // Longer than one slice, shorter than the stall check: only the
        // exit can report it.
        std::thread::sleep(ms(250));
        std::process::exit(3);
    });
    assert!(
        out.stderr
            .contains("lockgraph: missed_notification (error)")
            && out.stderr.contains("found at process exit"),
        "reported live at exit:\n{}",
        out.stderr
    );
    let kinds: Vec<Kind> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [Kind::MissedNotification], "{findings:#?}");
    assert!(
        out.stderr.contains(&findings[0].fingerprint.to_string()),
        "live and offline agree on the fingerprint {}:\n{}",
        findings[0].fingerprint,
        out.stderr
    );
}

#[test]
fn twin_process_exit_with_an_idle_worker_waiting_for_work_is_silent() {
    let name = "twin_process_exit_with_an_idle_worker_waiting_for_work_is_silent";
    let (out, findings) = exited(name, || {
        let queue = Arc::new((
            Mutex::named("queue", Vec::<u32>::new()),
            Condvar::named("work"),
        ));
        let _worker = {
            let queue = queue.clone();
            named("worker", move || {
                let mut q = queue.0.lock();
                loop {
                    while q.is_empty() {
                        queue.1.wait(&mut q);
                    }
                    q.clear();
                }
            })
        };
        std::thread::sleep(ms(250));
        // Exits without shutting the pool down: the worker still waits for
        // work, which is not a bug.
        std::process::exit(3);
    });
    assert!(
        !out.stderr.contains("lockgraph:"),
        "silent live:\n{}",
        out.stderr
    );
    assert!(findings.is_empty(), "silent offline: {findings:#?}");
}

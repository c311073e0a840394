//! Post-mortem: a process that died (killed, or ended by `process::exit`)
//! while threads were inside a wait is diagnosed from its trace, including
//! waits inside a condvar wait. Each trace is kept in `fixtures/scenarios/`
//! with its golden report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lockgraph::{Condvar, Mutex};
use lockgraph_detect::{Finding, Kind};
use lockgraph_scenarios::{analyze, ms, named, run_with, traces_in, Options, Outcome};

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
        let config = Arc::new(Mutex::named("config", ()));
        let flag = Arc::new((Mutex::named("flag", false), Condvar::named("flag set")));
        let waiter = {
            let (config, flag) = (config.clone(), flag.clone());
            named("waiter", move || {
                // The bug: waits for the flag while holding the config lock
                // the notifier needs first.
                let _config = config.lock();
                let mut set = flag.0.lock();
                while !*set {
                    flag.1.wait(&mut set);
                }
            })
        };
        let notifier = {
            let (config, flag) = (config.clone(), flag.clone());
            named("notifier", move || {
                std::thread::sleep(ms(50));
                let _config = config.lock();
                *flag.0.lock() = true;
                flag.1.notify_all();
            })
        };
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

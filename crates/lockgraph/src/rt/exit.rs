//! What runs when the process exits: the steps higher layers register, in a fixed order, from one `atexit` hook.
//!
//! This module is at the bottom of the runtime's layers, so that the
//! modules above it can each register what they must do at exit when they
//! first have something to do (a thread's state to end, threads blocked to
//! judge, reports queued to print, a trace to flush), without this module
//! knowing any of them. The steps run in [`Stage`] order whatever order they
//! were registered in. `std::process::exit` runs them too; an abort does
//! not (the trace writer's panic hook covers a panic that aborts).

use std::sync::Mutex;

/// When a step runs, relative to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// The exiting thread's state ends: its leaks are reported, its exit
    /// recorded (glibc has usually destroyed its thread-locals already).
    EndThread,
    /// Locks threads ended holding, and nobody let go since, are reported.
    Leaks,
    /// Threads still blocked in waits nothing can end are judged.
    Blocked,
    /// Reports still queued for printing are printed.
    Reports,
    /// The trace gets the process's exit and is flushed.
    Trace,
}

/// A step and when it runs.
type Step = (Stage, fn());

static STEPS: Mutex<Vec<Step>> = Mutex::new(Vec::new());

/// Registers `step` to run at process exit, at `stage` (once per stage:
/// a second registration of a stage is ignored). Installs the `atexit`
/// hook the first time.
pub(crate) fn register(stage: Stage, step: fn()) {
    let Ok(mut steps) = STEPS.lock() else {
        return;
    };
    if steps.iter().any(|(s, _)| *s == stage) {
        return;
    }
    if steps.is_empty() {
        // Safety: registering a plain extern "C" function with atexit is always sound.
        unsafe {
            libc::atexit(run);
        }
    }
    steps.push((stage, step));
}

/// The `atexit` hook: every registered step, in stage order.
extern "C" fn run() {
    let mut steps = match STEPS.lock() {
        Ok(s) => s.clone(),
        Err(_) => return,
    };
    steps.sort_by_key(|(stage, _)| *stage);
    for (_, step) in steps {
        step();
    }
}

//! The reporter thread: symbolizes, renders and prints the findings that do not end their thread, off the thread that found them.
//!
//! Symbolizing a backtrace the first time costs 100 ms and more (the debug
//! information is loaded then). Done on the thread that triggered a
//! warning, that changed the schedule lockgraph observes: a 5 ms sleep under
//! a lock took 125 to 145 ms, long enough to turn a possible deadlock into
//! a real one. A finding that does not end its thread is therefore handed
//! to this thread (a queue push and a wake-up), which prints it. Findings
//! that end their thread (a panic) are rendered where they are raised:
//! that thread is leaving anyway. The queue is drained at process exit.

use std::collections::VecDeque;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use lockgraph_detect::Finding;
use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct State {
    queue: VecDeque<Finding>,
    /// A finding is being printed.
    busy: bool,
    /// The thread was started (or could not be: then `inline`).
    started: bool,
    /// No reporter thread: print on the caller's thread.
    inline: bool,
}

static STATE: LazyLock<(Mutex<State>, Condvar)> = LazyLock::new(Default::default);

/// Prints `f` to stderr (prefixed `lockgraph: `) from the reporter thread;
/// the caller pays a queue push.
pub(crate) fn print(f: Finding) {
    let (lock, cv) = &*STATE;
    let mut s = lock.lock();
    if !s.started {
        s.started = true;
        let spawned = std::thread::Builder::new()
            .name("lockgraph-reporter".to_owned())
            .spawn(run);
        s.inline = spawned.is_err();
        if !s.inline {
            super::exit::register(super::exit::Stage::Reports, drain_at_exit);
        }
    }
    if s.inline {
        drop(s);
        return write(f);
    }
    s.queue.push_back(f);
    cv.notify_all();
}

fn write(mut f: Finding) {
    f.resolve_stacks();
    eprintln!("lockgraph: {}", lockgraph_report::render(&f));
}

fn run() {
    // The runtime's own thread: never a thread that might end a stall.
    super::procs::register_own();
    let (lock, cv) = &*STATE;
    let mut s = lock.lock();
    loop {
        match s.queue.pop_front() {
            Some(f) => {
                s.busy = true;
                drop(s);
                write(f);
                s = lock.lock();
                s.busy = false;
                cv.notify_all();
            }
            None => cv.wait(&mut s),
        }
    }
}

/// At process exit: what is queued is printed before the process goes.
fn drain_at_exit() {
    drain(Duration::from_secs(2));
}

/// Waits (at most `limit`) until every finding handed over is printed: at
/// process exit, and before anything else is printed synchronously.
pub(crate) fn drain(limit: Duration) {
    let (lock, cv) = &*STATE;
    let deadline = Instant::now() + limit;
    let mut s = lock.lock();
    while !s.inline && (s.busy || !s.queue.is_empty()) {
        if cv.wait_until(&mut s, deadline).timed_out() {
            break;
        }
    }
}

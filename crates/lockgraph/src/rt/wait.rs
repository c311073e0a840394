//! Sliced blocking waits: how a blocked thread takes part in deadlock and stall detection.
//!
//! Every blocking call (a lock, a join, a condvar wait, the waits of
//! `Semaphore`, `Event`, `Barrier`, `Latch` and `Once`) waits here in
//! slices. See [`wait_sliced`].

use std::time::{Duration, Instant};

use lockgraph_detect::waitfor::{WaitOn, Waiter};
use lockgraph_detect::{Mode, ObjectId, ObjectInfo, Site};

use super::config;
use super::global::{Found, GLOBAL};
use super::local::{self, Loc};
use super::react;
use super::sink;
use super::stack;

/// How long a blocked thread waits before it checks whether it is deadlocked.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// A blocking wait, as [`wait_sliced`] needs it described.
pub(crate) struct Wait {
    /// What is waited on.
    pub(crate) object: ObjectId,
    /// Who can end the wait.
    pub(crate) on: WaitOn,
    /// For locks, the mode asked for.
    pub(crate) mode: Mode,
    /// Where.
    pub(crate) site: Loc,
    /// When the wait gives up, if ever.
    pub(crate) deadline: Option<Instant>,
    /// A notification on the object nobody waited for, made before this
    /// wait began: (site, runtime id of the thread that made it).
    pub(crate) missed: Option<(Loc, u64)>,
    /// Whether a confirmed deadlock may end this wait with a panic. Not a
    /// bump's re-acquisition: its guard outlives the panic and must hold
    /// its lock. Such a wait neither checks nor leaves; the other threads
    /// of the deadlock do, and their unwinding ends it.
    pub(crate) victim: bool,
}

/// How many consecutive checks must find the same lock cycle before it is a deadlock.
const CONFIRM_CYCLE: u32 = 2;
/// How many consecutive checks must find the same stall (a deadlock through
/// anything but locks alone). More than for a lock cycle: whether a thread
/// might still set an event is a judgment about the whole process.
const CONFIRM_STALL: u32 = 5;

/// Waits in slices until `slice(d)` (which waits at most `d`) returns
/// `true`, or the deadline passes (returns `false`).
///
/// Most waits end within the first slice and never touch shared state.
/// After it, the thread registers as blocked, and after each further slice
/// it checks whether it is part of a deadlock: a wait-for cycle among locks
/// or a set of blocked threads nothing can wake ([`lockgraph_detect::stall`]).
/// A deadlock seen on enough consecutive checks is confirmed: reported and,
/// unless the reaction is `off`, this thread leaves the wait by panicking
/// (for a stall, so does every thread in it).
pub(crate) fn wait_sliced(
    w: &Wait,
    info: &dyn Fn() -> ObjectInfo,
    mut slice: impl FnMut(Duration) -> bool,
) -> bool {
    let step = |deadline: Option<Instant>| match deadline {
        Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
        None => SLICE,
    };
    let expired = |deadline: Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
    if slice(step(w.deadline)) {
        return true;
    }
    if expired(w.deadline) {
        return false;
    }
    let registered = config::enabled()
        .then(|| local::with(|l| (l.thread(), l.held_for_detect(), l.held_infos())))
        .flatten();
    let Some((thread, held, mut infos)) = registered else {
        loop {
            if slice(step(w.deadline)) {
                return true;
            }
            if expired(w.deadline) {
                return false;
            }
        }
    };
    infos.push(info());
    let me = thread.id;
    let waiter = Waiter {
        thread,
        object: w.object,
        on: w.on,
        timed: w.deadline.is_some(),
        mode: w.mode,
        site: Site::from_location(w.site),
        held,
        stack: None,
        missed: None,
    };
    let mut g = GLOBAL.lock();
    let waiter = Waiter {
        missed: w.missed.map(|(site, by)| g.missed(site, by)),
        ..waiter
    };
    g.add_waiter(waiter, infos);
    drop(g);
    super::exit::register(super::exit::Stage::Blocked, blocked_at_exit);
    /// Leaves the table of blocked threads however the wait ends, a panic
    /// of the slice included (removing twice is harmless).
    struct Registered(lockgraph_detect::ThreadId);
    impl Drop for Registered {
        fn drop(&mut self) {
            GLOBAL.lock().remove_waiter(self.0);
        }
    }
    let _registered = Registered(me);
    let mut suspect: Option<(lockgraph_detect::Fingerprint, u32)> = None;
    // Since when unknown threads, asleep, have held the suspected stall back.
    let mut held_back_since: Option<Instant> = None;
    let done = loop {
        if slice(step(w.deadline)) {
            break true;
        }
        if expired(w.deadline) {
            if w.missed.is_some() {
                timed_out_after_missed(me);
            }
            break false;
        }
        let mut g = GLOBAL.lock();
        if let Some(message) = g.take_doom(me) {
            if w.victim {
                g.remove_waiter(me);
                drop(g);
                panic!("{message}");
            }
        }
        if w.deadline.is_some() || !w.victim {
            continue;
        }
        let Some(found) = g.deadlock_through(me) else {
            suspect = None;
            held_back_since = None;
            continue;
        };
        let seen = match suspect {
            Some((fp, n)) if fp == found.finding.fingerprint => n + 1,
            _ => {
                held_back_since = None;
                1
            }
        };
        suspect = Some((found.finding.fingerprint, seen));
        let needed = if found.lock_cycle {
            CONFIRM_CYCLE
        } else {
            CONFIRM_STALL
        };
        if seen < needed {
            continue;
        }
        // Threads the runtime does not know may yet end a stall (not a lock
        // cycle: only its own threads hold those locks). A running one holds
        // the report back while it runs; asleep ones for the grace period.
        let mut waited_for = None;
        if !found.lock_cycle {
            let unknown = g.unknown_threads();
            if !unknown.is_empty() {
                let since = *held_back_since.get_or_insert_with(Instant::now);
                let running = unknown
                    .iter()
                    .any(|u| u.activity == super::procs::Activity::Running);
                if running || since.elapsed() < config::stall_grace() {
                    continue;
                }
                waited_for = Some((since.elapsed(), unknown));
            }
        }
        let Found {
            finding: mut f,
            waiters,
            lock_cycle,
        } = found;
        if let Some((waited, unknown)) = waited_for {
            f.notes.push(unknown_note(waited, &unknown));
        }
        if sink::recording() {
            sink::deadlock_record(&waiters);
        }
        // Only this thread's stack can be captured, here and now.
        if let Some(step) = f.evidence.iter_mut().rev().find(|s| s.thread == me) {
            step.stack = stack::capture();
        }
        g.mark_deadlocked(&f);
        // A confirmed deadlock never ends by itself: unless the reaction is
        // `off`, this thread leaves the wait by panicking. A lock cycle
        // ends when one thread leaves (its locks come free); a stall needs
        // every thread in it to leave.
        let ends = config::on_finding() != config::OnFinding::Off;
        if ends {
            g.remove_waiter(me);
        }
        drop(g);
        if let Some(message) = react::handle(f, true) {
            if !lock_cycle {
                let message: std::sync::Arc<str> = message.as_str().into();
                let mut g = GLOBAL.lock();
                for other in waiters.iter().filter(|x| x.thread.id != me) {
                    g.doomed.push((other.thread.id, message.clone()));
                }
            }
            panic!("{message}");
        }
        suspect = None;
    };
    done
}

/// Waits for thread `child` to finish (`finished(d)` waits at most `d`),
/// as a blocking wait only that thread can end.
pub(crate) fn join_wait(
    child: u64,
    name: Option<&'static str>,
    spawned: Loc,
    site: Loc,
    finished: &dyn Fn(Duration) -> bool,
) {
    if child == 0 || !config::enabled() {
        return;
    }
    let object = lockgraph_detect::model::thread_object(lockgraph_detect::ThreadId(child));
    let wait = Wait {
        object,
        on: WaitOn::Thread(lockgraph_detect::ThreadId(child)),
        mode: Mode::Exclusive,
        site,
        deadline: None,
        missed: None,
        victim: true,
    };
    let info = || ObjectInfo {
        api: None,
        id: object,
        kind: lockgraph_detect::ObjectKind::Thread,
        name: name.map(Into::into),
        site: Site::from_location(spawned),
    };
    wait_sliced(&wait, &info, finished);
}

/// A timed wait that began after a notification nobody waited for ran
/// out. If nothing could have ended it anyway (every thread that might
/// notify again is blocked or gone), that is a `missed_notification`.
fn timed_out_after_missed(me: lockgraph_detect::ThreadId) {
    let g = GLOBAL.lock();
    let Some(found) = g.deadlock_through_as_untimed(me) else {
        return;
    };
    if found.finding.kind != lockgraph_detect::Kind::MissedNotification
        || !g.unknown_threads().is_empty()
    {
        return;
    }
    if sink::recording() {
        sink::deadlock_record(&found.waiters);
    }
    drop(g);
    // The wait is over: a report, never the end of the thread.
    if let Some(message) = react::handle(found.finding, false) {
        panic!("{message}");
    }
}

/// The note of a stall reported although threads the runtime does not know
/// were alive: who they were, and how long the report waited for them.
fn unknown_note(waited: Duration, unknown: &[super::procs::Unknown]) -> String {
    let names: Vec<String> = unknown
        .iter()
        .map(super::procs::Unknown::describe)
        .collect();
    format!(
        "reported after waiting {:.1} s for {} thread(s) lockgraph does not know, which might have ended it: {}; none was running when the grace ended, so none is taken to (a thread that ends such a wait later than that needs a larger LOCKGRAPH_STALL_GRACE, now {:.1} s)",
        waited.as_secs_f64(),
        unknown.len(),
        names.join(", "),
        config::stall_grace().as_secs_f64()
    )
}

/// At process exit (the `atexit` hook): threads still blocked in a wait
/// nothing could end any more are reported, as [`lockgraph_detect::stall::at_exit`]
/// decides (lock cycles and missed notifications; an idle wait for work is
/// not a bug). Never panics: the process is ending, and a panic in an exit
/// handler would abort it. Waits younger than one slice are not registered
/// yet and go unseen here; the trace's replay still sees them.
fn blocked_at_exit() {
    if !config::enabled() {
        return;
    }
    let found = GLOBAL.lock().at_exit();
    for (mut f, waiters) in found {
        f.notes.push(
            "found at process exit: these threads were still blocked when the process ended"
                .to_owned(),
        );
        if sink::recording() {
            sink::deadlock_record(&waiters);
        }
        react::report_at_exit(f);
    }
}

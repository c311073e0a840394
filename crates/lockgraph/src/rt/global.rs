//! The shared detector state. Touched only when a thread learns something new
//! (a first-seen chain, a blocking wait, a guard released on another thread),
//! never on the steady path.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use lockgraph_detect::analysis::{Analysis, Blocked};
use lockgraph_detect::waitfor::{WaitOn, Waiter};
use lockgraph_detect::{
    Analyses, Finding, Fingerprint, ObjectId, ObjectInfo, Severity, ThreadId, ThreadInfo,
};
use parking_lot::Mutex;

/// Everything threads share.
#[derive(Default)]
pub(crate) struct Global {
    /// The analyses, asked through their `on_*` hooks (the lock-order graph among them).
    pub(crate) analyses: Analyses,
    /// Threads blocked right now, with the descriptions of the objects they concern.
    pub(crate) waiters: Vec<(Waiter, Vec<ObjectInfo>)>,
    pub(crate) threads: Vec<Arc<Shared>>,
    /// Locks released on a thread that did not acquire them, not yet claimed by their owner.
    pub(crate) orphans: lockgraph_detect::state::Orphans,
    pub(crate) findings: Vec<Finding>,
    pub(crate) reported: HashSet<(Fingerprint, Severity)>,
    /// Threads of a confirmed deadlock that must leave their waits, with the report.
    pub(crate) doomed: Vec<(ThreadId, Arc<str>)>,
    /// Locks held by threads that ended (at most [`MAX_ORPHANS`]).
    pub(crate) leaked: Vec<ObjectId>,
    /// `lock_leak`s of threads that ended holding a lock, not yet reported:
    /// a guard sent to another thread (`send_guard`) may still be released
    /// there (`react::confirm_leaks`).
    pub(crate) ended_holding: Vec<(u64, lockgraph_detect::Finding)>,
    /// Threads in a long streak of failed attempts (livelock candidates).
    pub(crate) spinners: Vec<lockgraph_detect::livelock::Spinner>,
    /// Descriptions of the objects the spinners name.
    pub(crate) spinner_objects: Vec<ObjectInfo>,
    /// Deadlocks reported, whose lock-order cycles are not reported again
    /// (at most [`MAX_ORPHANS`]).
    pub(crate) deadlocks: Vec<Finding>,
    /// Threads that ended, newest last (at most [`MAX_ORPHANS`]): reports
    /// may still name them.
    pub(crate) past: Vec<ThreadInfo>,
}

/// A deadlock a blocked thread found itself part of.
pub(crate) struct Found {
    pub(crate) finding: Finding,
    /// Every waiter in it.
    pub(crate) waiters: Vec<Waiter>,
    /// A wait-for cycle among locks (not a stall over other primitives).
    pub(crate) lock_cycle: bool,
}

/// What other threads may touch of a thread's state: its identity, and
/// the flag that says a guard of its was released elsewhere.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) thread: ThreadInfo,
    pub(crate) pending: AtomicBool,
    /// The kernel's id of the thread (0 where unknown).
    pub(crate) tid: i64,
}

/// The one shared state. A plain parking_lot mutex: the runtime never
/// instruments itself.
pub(crate) static GLOBAL: LazyLock<Mutex<Global>> = LazyLock::new(|| Mutex::new(Global::default()));

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

/// How many unclaimed orphan releases are kept before the oldest are dropped.
const MAX_ORPHANS: usize = 1024;

/// A fresh thread id, for a thread about to be spawned.
pub(crate) fn next_thread_id() -> u64 {
    NEXT_THREAD.fetch_add(1, Ordering::Relaxed)
}

/// Registers the calling thread, with the id its spawner chose if any.
pub(crate) fn register_thread(chosen: Option<u64>) -> Arc<Shared> {
    let id = ThreadId(chosen.unwrap_or_else(next_thread_id));
    let name = std::thread::current().name().map(Into::into);
    let shared = Arc::new(Shared {
        thread: ThreadInfo {
            span: None,
            id,
            name,
        },
        pending: AtomicBool::new(false),
        tid: super::procs::current_tid(),
    });
    GLOBAL.lock().threads.push(shared.clone());
    if super::sink::recording() {
        super::sink::thread_record(id.0, shared.thread.name.as_deref());
    }
    shared
}

pub(crate) fn unregister_thread(s: &Arc<Shared>) {
    let mut g = GLOBAL.lock();
    g.threads.retain(|t| !Arc::ptr_eq(t, s));
    if g.past.len() >= MAX_ORPHANS {
        g.past.remove(0);
    }
    g.past.push(s.thread.clone());
    let id = s.thread.id;
    g.waiters.retain(|(w, _)| w.thread.id != id);
    g.doomed.retain(|(t, _)| *t != id);
}

/// Records that lock `id` was released by a thread that does not hold it
/// (a guard sent to another thread, or `force_unlock`), and tells every
/// thread to check whether it was theirs.
#[cold]
pub(crate) fn orphan_release(id: u64) {
    let mut g = GLOBAL.lock();
    g.orphans.post(id);
    g.leaked.retain(|o| o.0 != id);
    g.ended_holding.retain(|(o, _)| *o != id);
    for t in &g.threads {
        t.pending.store(true, Ordering::Relaxed);
    }
}

impl Global {
    /// Registers a blocked thread.
    pub(crate) fn add_waiter(&mut self, w: Waiter, infos: Vec<ObjectInfo>) {
        let id = w.thread.id;
        self.waiters.retain(|(x, _)| x.thread.id != id);
        self.waiters.push((w, infos));
    }

    pub(crate) fn remove_waiter(&mut self, thread: ThreadId) {
        self.waiters.retain(|(w, _)| w.thread.id != thread);
    }

    /// The deadlock `thread` is part of: a wait-for cycle among locks, or a
    /// set of blocked threads nothing can wake.
    pub(crate) fn deadlock_through(&self, thread: ThreadId) -> Option<Found> {
        self.deadlock_of(thread, false)
    }

    /// [`Global::deadlock_through`], taking `thread`'s own wait as untimed
    /// (for a wait that just timed out: could anything have ended it?).
    pub(crate) fn deadlock_through_as_untimed(&self, thread: ThreadId) -> Option<Found> {
        self.deadlock_of(thread, true)
    }

    /// A notification marker (site, runtime thread id) as a report needs it.
    pub(crate) fn missed(
        &self,
        site: &'static std::panic::Location<'static>,
        by: u64,
    ) -> lockgraph_detect::waitfor::Missed {
        let by = ThreadId(by);
        lockgraph_detect::waitfor::Missed {
            site: lockgraph_detect::Site::from_location(site),
            by: self
                .threads
                .iter()
                .map(|t| &t.thread)
                .chain(self.past.iter().rev())
                .find(|t| t.id == by)
                .cloned()
                .unwrap_or(ThreadInfo {
                    span: None,
                    id: by,
                    name: None,
                }),
        }
    }

    /// The blocked threads as the analyses take them: a lock released on
    /// another thread but not yet claimed is not held.
    fn blocked(&self) -> Vec<Waiter> {
        self.waiters
            .iter()
            .map(|(w, _)| {
                let mut w = w.clone();
                w.held.retain(|h| !self.orphans.contains(h.object.0));
                w
            })
            .collect()
    }

    /// Describes an object a waiter names.
    fn lookup(&self, id: ObjectId) -> ObjectInfo {
        self.waiters
            .iter()
            .flat_map(|(_, infos)| infos.iter())
            .find(|o| o.id == id)
            .cloned()
            .or_else(|| self.analyses.order.object(id).cloned())
            .unwrap_or_else(|| ObjectInfo {
                api: None,
                id,
                kind: lockgraph_detect::ObjectKind::Mutex,
                name: None,
                site: lockgraph_detect::Site::new("<unknown>", 0, 0),
            })
    }

    /// At process exit: what the threads still blocked show
    /// ([`lockgraph_detect::stall::at_exit`]), each with its waiters.
    pub(crate) fn at_exit(&self) -> Vec<(Finding, Vec<Waiter>)> {
        let waiters = self.blocked();
        self.analyses
            .on_process_exit(&Blocked {
                waiters: &waiters,
                live: &[],
                leaked: &self.leaked,
                object: &|id| self.lookup(id),
            })
            .into_iter()
            .map(|(f, who)| (f, who.iter().map(|&i| waiters[i].clone()).collect()))
            .collect()
    }

    fn deadlock_of(&self, thread: ThreadId, as_untimed: bool) -> Option<Found> {
        let mut waiters = self.blocked();
        if as_untimed {
            for w in waiters.iter_mut().filter(|w| w.thread.id == thread) {
                w.timed = false;
            }
        }
        let live: Vec<ThreadId> = self.threads.iter().map(|t| t.thread.id).collect();
        let lookup = |id: ObjectId| self.lookup(id);
        let (finding, who) = self.analyses.on_stuck(
            &Blocked {
                waiters: &waiters,
                live: &live,
                leaked: &self.leaked,
                object: &lookup,
            },
            thread,
        )?;
        // `deadlock_of` reports a lock cycle first when there is one.
        let lock_cycle = who.iter().all(|&i| waiters[i].on == WaitOn::Lock)
            && lockgraph_detect::waitfor::find_cycle(&waiters, thread).is_some();
        Some(Found {
            finding,
            waiters: who.iter().map(|&i| waiters[i].clone()).collect(),
            lock_cycle,
        })
    }

    /// The threads the runtime does not know that might still be running
    /// or wake by themselves (and so end a stall): see [`super::procs`].
    pub(crate) fn unknown_threads(&self) -> Vec<super::procs::Unknown> {
        let mut known: Vec<i64> = self.threads.iter().map(|t| t.tid).collect();
        known.extend(super::procs::own_tids());
        super::procs::unknown_threads(&known)
    }

    /// The report this thread must leave its wait with, if a deadlock it is part of was confirmed.
    pub(crate) fn take_doom(&mut self, thread: ThreadId) -> Option<Arc<str>> {
        let i = self.doomed.iter().position(|(t, _)| *t == thread)?;
        Some(self.doomed.swap_remove(i).1)
    }

    /// Remembers a reported deadlock, so that no thread also reports the
    /// lock-order cycle behind it when it finally gets its lock
    /// ([`Finding::realized_by`]).
    pub(crate) fn mark_deadlocked(&mut self, f: &Finding) {
        if self.deadlocks.len() >= MAX_ORPHANS {
            self.deadlocks.remove(0);
        }
        self.deadlocks.push(f.clone());
    }
}

/// What the lock-order graph holds now, and the work its searches did so
/// far: a look at the detector's own size and cost, and what scale tests
/// hold linear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// Locks with a node: each was held while another was acquired, or
    /// acquired under another, and is still alive.
    pub locks: usize,
    /// Distinct orders (held, then acquired) among them.
    pub edges: usize,
    /// Nodes visited by the graph's searches since the process started
    /// (re-ranking its topological order, and looking for cycles). It
    /// grows with new orders, never with acquisitions of known ones.
    pub search_visits: u64,
}

/// The lock-order graph's size and work so far ([`GraphStats`]).
pub fn graph_stats() -> GraphStats {
    let g = GLOBAL.lock();
    let order = &g.analyses.order;
    GraphStats {
        locks: order.node_count(),
        edges: order.edge_count(),
        search_visits: order.search_visits(),
    }
}

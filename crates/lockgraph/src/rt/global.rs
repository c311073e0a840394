//! The shared detector state. Touched only when a thread learns something new
//! (a first-seen chain, a blocking wait, a guard released on another thread),
//! never on the steady path.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use lockgraph_detect::analysis::{Analysis, Blocked};
use lockgraph_detect::waitfor::{WaitOn, Waiter};
use lockgraph_detect::{
    Acquisition, Analyses, Finding, Fingerprint, HeldLock, Mode, ObjectId, ObjectInfo, Severity,
    Site, StackRef, ThreadId, ThreadInfo,
};
use parking_lot::Mutex;
use smallvec::SmallVec;

use super::meta::{describe, Desc};

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
    /// Objects dropped while deferred edges may still name them: those
    /// edges are never published (see [`Deferred`]). Emptied whenever no
    /// edge is deferred, and bounded by publishing every buffer.
    dead: rustc_hash::FxHashSet<u64>,
}

/// A blocking acquisition whose lock-order edges were deferred: it took a
/// lock nothing was ever acquired under (no edge leaves it, published or
/// deferred), so its edges, which all end at that lock, close no cycle.
/// They go into the graph (*are published*) later, in order, before
/// anything could make that lock the start of an edge: every learning
/// that could close a cycle publishes every thread's deferred edges
/// first. A lock made, nested once and dropped (a lock per request, per
/// test, per object) thus never reaches the shared graph at all.
pub(crate) struct Deferred {
    /// The span the thread was in (the thread is the buffer's owner).
    pub(crate) span: Option<Arc<str>>,
    pub(crate) object: u64,
    pub(crate) desc: &'static Desc,
    pub(crate) mode: Mode,
    pub(crate) site: &'static std::panic::Location<'static>,
    /// The locks held, oldest first: the ends of the edges, and the gates.
    pub(crate) held: SmallVec<[DeferredHeld; 2]>,
    pub(crate) stack: Option<StackRef>,
    pub(crate) epoch: u32,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred")
            .field("object", &self.object)
            .field(
                "held",
                &self.held.iter().map(|h| h.object).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A lock held by a [`Deferred`] acquisition.
pub(crate) struct DeferredHeld {
    pub(crate) object: u64,
    pub(crate) desc: &'static Desc,
    pub(crate) mode: Mode,
    pub(crate) site: &'static std::panic::Location<'static>,
}

/// Deferred acquisitions in all threads' buffers; changed only under the
/// buffer's lock.
static DEFERRED: AtomicUsize = AtomicUsize::new(0);

/// A thread publishes its own buffer once it holds this many.
pub(crate) const DEFER_CAP: usize = 1024;
/// Dead objects remembered before every buffer is published at once.
const DEAD_MAX: usize = 4096;

/// Whether any thread has deferred edges right now.
#[inline]
pub(crate) fn any_deferred() -> bool {
    DEFERRED.load(Ordering::Acquire) != 0
}

/// Adds `d` to `shared`'s buffer; whether the buffer is full (then the
/// thread publishes it: [`Global::publish_thread`]).
pub(crate) fn defer(shared: &Shared, d: Deferred) -> bool {
    let mut buf = shared.deferred.lock();
    buf.push(d);
    // Counted under the buffer's lock, as publishing takes it away.
    DEFERRED.fetch_add(1, Ordering::Release);
    buf.len() >= DEFER_CAP
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
    /// Its deferred acquisitions ([`Deferred`]), oldest first. Its own
    /// lock: the thread adds to it without the shared state's; whoever
    /// publishes takes the shared state's lock first, then this one.
    pub(crate) deferred: Mutex<Vec<Deferred>>,
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
        deferred: Mutex::new(Vec::new()),
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
    /// Publishes every thread's deferred edges, oldest first within each
    /// thread: before anything that could close a cycle through them is
    /// learned, and before the graph is read. Cycles found go to `found`
    /// (none by construction; reported rather than lost if one is).
    pub(crate) fn publish_all(&mut self, found: &mut Vec<Finding>) {
        if !any_deferred() {
            return;
        }
        for i in 0..self.threads.len() {
            let t = self.threads[i].clone();
            self.publish_thread(&t, found);
        }
        if !any_deferred() {
            self.dead.clear();
        }
    }

    /// Publishes thread `t`'s deferred edges.
    pub(crate) fn publish_thread(&mut self, t: &Shared, found: &mut Vec<Finding>) {
        // Drained in place, the buffer's lock held (the owner only ever
        // takes that lock alone): it keeps its capacity, and is not grown
        // again from nothing, copied at every doubling, for each batch.
        let mut buf = t.deferred.lock();
        if buf.is_empty() {
            return;
        }
        DEFERRED.fetch_sub(buf.len(), Ordering::Release);
        let mut held = Vec::new();
        for d in buf.drain(..) {
            // A dropped lock's edges are gone (its node would be too).
            if self.dead.contains(&d.object) {
                continue;
            }
            let thread = ThreadInfo {
                span: d.span,
                ..t.thread.clone()
            };
            let desc = d.desc;
            self.analyses.on_object(ObjectId(d.object), &|| {
                describe(d.object, desc.kind, desc.created, desc.name)
            });
            held.clear();
            for h in &d.held {
                // A dropped held lock gets no node again (nothing could
                // remove it), but stays in the list: it gated the edges.
                if !self.dead.contains(&h.object) {
                    let desc = h.desc;
                    self.analyses.on_object(ObjectId(h.object), &|| {
                        describe(h.object, desc.kind, desc.created, desc.name)
                    });
                }
                held.push(HeldLock {
                    object: ObjectId(h.object),
                    mode: h.mode,
                    site: Site::from_location(h.site),
                });
            }
            self.analyses.on_learn(
                &Acquisition {
                    thread: &thread,
                    object: ObjectId(d.object),
                    mode: d.mode,
                    site: Site::from_location(d.site),
                    held: &held,
                    stack: d.stack,
                    epoch: d.epoch,
                },
                found,
            );
        }
    }

    /// Thread `t`'s buffer is full: acquisitions of locks dropped since
    /// leave it unpublished (the common case: short-lived locks), and only
    /// if it is still more than half full is the rest published.
    pub(crate) fn compact_thread(&mut self, t: &Shared, found: &mut Vec<Finding>) {
        {
            let mut buf = t.deferred.lock();
            let before = buf.len();
            buf.retain(|d| !self.dead.contains(&d.object));
            DEFERRED.fetch_sub(before - buf.len(), Ordering::Release);
            if buf.len() <= DEFER_CAP / 2 {
                return;
            }
        }
        self.publish_thread(t, found);
    }

    /// Object `id`, which the graph may know, was dropped: its node goes,
    /// and deferred edges naming it will not be published.
    pub(crate) fn dropped(&mut self, id: ObjectId, found: &mut Vec<Finding>) {
        self.analyses.on_drop(id);
        if any_deferred() {
            self.dead.insert(id.0);
            if self.dead.len() > DEAD_MAX {
                self.compact_all(found);
            }
        }
    }

    /// Too many dead objects remembered: every buffer drops the
    /// acquisitions of dead locks, and only the dead objects the rest still
    /// name (as held locks) are kept in mind. If those alone are too many,
    /// everything is published and nothing need be remembered.
    fn compact_all(&mut self, found: &mut Vec<Finding>) {
        let mut named = rustc_hash::FxHashSet::default();
        for t in &self.threads {
            let mut buf = t.deferred.lock();
            let before = buf.len();
            buf.retain(|d| !self.dead.contains(&d.object));
            DEFERRED.fetch_sub(before - buf.len(), Ordering::Release);
            for d in buf.iter() {
                named.extend(
                    d.held
                        .iter()
                        .map(|h| h.object)
                        .filter(|o| self.dead.contains(o)),
                );
            }
        }
        self.dead = named;
        if self.dead.len() > DEAD_MAX / 2 {
            self.publish_all(found);
            self.dead.clear();
        }
    }

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

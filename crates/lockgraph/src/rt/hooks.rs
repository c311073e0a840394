//! The entry points the primitives call: before and after acquiring, on release, on drop, for permits and joins.
//!
//! The hook points are exact: a blocking acquisition is judged *before* it
//! can block (self-waits, order edges), recorded as held only *after* it
//! succeeded, and forgotten just *before* the raw unlock. (Recording outside
//! the critical section was measured and is slower under contention: the
//! wider gap between one thread's unlock and its next lock hands the lock to
//! the spinning peer more often, and each handoff costs a park and unpark.) A failed `try_lock`
//! records nothing; a successful one joins the held set but adds no order
//! edge, because it could not have blocked.

use std::time::Duration;

use lockgraph_detect::analysis::Analysis;
use lockgraph_detect::selfwait::{self, Request};
use lockgraph_detect::waitfor::WaitOn;
use lockgraph_detect::Event;
use lockgraph_detect::{hazard, livelock};
use lockgraph_detect::{Acquisition, Finding, Mode, ObjectId, ObjectInfo, Site, ThreadId};

use super::config;
use super::global::{self, GLOBAL};
use super::hb;
use super::local::{self, Loc, Local};
use super::meta::{describe, Meta};
use super::react;
use super::sink::{self, at, LiveEvent};
use super::stack;

use super::heuristics::spinning;
pub(crate) use super::heuristics::{blocking, BlockingOn};
pub(crate) use super::wait::{join_wait, wait_sliced, Wait};

/// The raw operations of one acquisition mode.
pub(crate) trait LockOps {
    /// Tries to acquire without blocking.
    fn try_now(&self) -> bool;
    /// Tries to acquire, blocking at most `d`.
    fn wait(&self, d: Duration) -> bool;
    /// Acquires, blocking as long as it takes (used when uninstrumented).
    fn lock(&self);
    /// Releases what `try_now`/`wait`/`lock` acquired.
    fn unlock(&self);
    /// The thread starts (`true`) or stops (`false`) a blocking wait for
    /// the lock, slices included (an rwlock's writer holds readers back).
    fn blocking(&self, _waits: bool) {}
}

/// What to do with the held stack once the lock is acquired.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// A new entry.
    Push,
    /// The thread already holds this lock upgradable; it becomes exclusive.
    Upgrade,
    /// A condvar wait gives the mutex back (no self-wait check, no wait).
    Reacquire,
    /// A guard's `bump` takes back the lock it just released: no self-wait
    /// check, and the guard outlives any panic, so the lock must be held
    /// again on every way out (see [`bump`]).
    Relock,
}

/// A blocking acquisition. Returns once acquired, or panics with a report
/// (per configuration) instead of deadlocking.
#[inline(always)]
pub(crate) fn acquire<L: LockOps>(meta: &Meta, mode: Mode, site: Loc, ops: &L, then: Then) {
    if config::enabled() {
        if then != Then::Push || !acquire_steady(meta, mode, site, ops) {
            acquire_on(meta, mode, site, ops, then);
        }
        hb::acquired(meta, mode, site);
    } else {
        ops.lock()
    }
}

/// The steady path: an uncontended acquisition with nothing new to learn
/// (see [`Local::steady_acquire`]). `false` if it took nothing and the
/// full path must run. Kept apart and small: no frame for the slow path's
/// state, no copies of it.
#[inline]
fn acquire_steady<L: LockOps>(meta: &Meta, mode: Mode, site: Loc, ops: &L) -> bool {
    local::with_steady(|l| Some(l.steady_acquire(meta, mode, site, || ops.try_now())))
        .unwrap_or(false)
}

/// [`acquire`] with detection on.
#[inline(never)]
fn acquire_on<L: LockOps>(meta: &Meta, mode: Mode, site: Loc, ops: &L, then: Then) {
    let state = local::with(|l| {
        l.drain_pending();
        if then != Then::Push || first_write(meta, mode) {
            return Fast::Slow;
        }
        let id = meta.id();
        match l.known_chain(id, mode) {
            Some(chain) if ops.try_now() => {
                l.push_acquired(meta, id, chain, mode, site);
                Fast::Done
            }
            Some(chain) => Fast::Busy(chain),
            None => Fast::Slow,
        }
    });
    match state {
        Some(Fast::Done) => {}
        // Nothing new to learn, the lock is just busy: wait without the slow path.
        Some(Fast::Busy(chain)) => {
            let id = meta.id();
            if !spin_for(ops) {
                local::with(|l| {
                    l.record(Event::Wait {
                        object: id,
                        mode,
                        site: at(site),
                    })
                });
                block(meta, mode, site, ops, true);
            }
            local::with(|l| {
                l.push_acquired(meta, id, chain, mode, site);
            });
        }
        Some(Fast::Slow) => acquire_slow(meta, mode, site, ops, then),
        None => ops.lock(),
    }
}

/// What the fast path concluded.
enum Fast {
    /// Acquired and recorded.
    Done,
    /// Nothing new to learn, but the lock is busy; the chain hash to push once acquired.
    Busy(u64),
    /// Something to check or learn first.
    Slow,
}

/// Whether this acquisition is an rwlock's first write, which read-read
/// inversions through it need to know about.
#[inline]
fn first_write(meta: &Meta, mode: Mode) -> bool {
    mode == Mode::Exclusive
        && meta.kind() == lockgraph_detect::ObjectKind::RwLock
        && !meta.written()
}

/// What the slow path learned before acquiring.
struct Plan {
    /// A self-wait, and whether it is certain to hang (not just a hazard).
    /// Boxed: a plan is moved out of the thread-local on every first-seen
    /// chain, and a `Finding` inline made that a copy of hundreds of bytes.
    self_wait: Option<Box<(Finding, bool)>>,
    cycles: Vec<Finding>,
    chain: u64,
    /// The chain is new, and its edges are not learned yet: the caller
    /// tries the lock first, then defers them or learns them ([`defer`]).
    later: bool,
}

#[cold]
#[inline(never)]
fn acquire_slow<L: LockOps>(meta: &Meta, mode: Mode, site: Loc, ops: &L, then: Then) {
    // A plain mutex's edges may be deferred (see `defer`).
    let defer_ok = then == Then::Push
        && mode == Mode::Exclusive
        && meta.kind() == lockgraph_detect::ObjectKind::Mutex;
    let Some(plan) = local::with(|l| plan(l, meta, mode, site, then, defer_ok)) else {
        ops.lock();
        return;
    };
    if let Some(found) = plan.self_wait {
        let (f, certain) = *found;
        if let Some(message) = react::handle(f, certain) {
            panic!("{message}");
        }
    }
    let mut cycles = plan.cycles;
    let mut taken = false;
    if plan.later {
        // Taken now, with nothing ever acquired under it: deferred. Else
        // learned, before any wait as always (a cycle is reported before
        // the deadlock it warns of can hang).
        taken = ops.try_now();
        let more = local::with(|l| {
            if taken && !meta.has_out() {
                defer(l, meta, mode, site, plan.chain)
            } else {
                learn(l, meta, mode, site, plan.chain, false)
            }
        });
        if let Some(more) = more.filter(|m| !m.is_empty()) {
            cycles.extend(more);
        }
    }
    if !taken && !ops.try_now() && !spin_for(ops) {
        let id = meta.id();
        local::with(|l| {
            l.record(Event::Wait {
                object: id,
                mode,
                site: at(site),
            })
        });
        block(meta, mode, site, ops, then != Then::Relock);
    }
    // A cycle a reported deadlock realized (typically while this thread
    // waited in it) is that deadlock, already reported: detect's rule.
    if !cycles.is_empty() {
        let g = GLOBAL.lock();
        cycles.retain(|c| !g.deadlocks.iter().any(|d| c.realized_by(d)));
    }
    let message = react::handle_all(cycles);
    // To panic, undo what no guard will: a fresh acquisition gives the lock
    // back, an upgrade its upgrade. A bump's guard holds the lock again and
    // will unlock it, so its entry goes back before the panic.
    if message.is_some() && then != Then::Relock {
        ops.unlock();
    } else {
        let id = meta.id();
        local::with(|l| match then {
            // Not used for acquisitions: `reacquired` pushes the entry itself.
            Then::Push | Then::Reacquire | Then::Relock => {
                l.push_acquired(meta, id, plan.chain, mode, site);
            }
            Then::Upgrade => {
                l.remode(id, mode);
                l.record(Event::Remode {
                    object: id,
                    mode,
                    site: at(site),
                });
            }
        });
    }
    if let Some(message) = message {
        panic!("{message}");
    }
}

/// Judges an acquisition that is not on the fast path: a self-wait, and the
/// order edges it adds (learned in the shared graph only if the chain is new).
fn plan(l: &mut Local, meta: &Meta, mode: Mode, site: Loc, then: Then, defer_ok: bool) -> Plan {
    l.drain_pending();
    let id = meta.id();
    let asked = match then {
        Then::Push | Then::Relock => Some(Event::Attempt {
            object: id,
            mode,
            site: at(site),
        }),
        Then::Upgrade => Some(Event::Upgrade {
            object: id,
            mode,
            site: at(site),
        }),
        // The condvar hook records the wake-up itself.
        Then::Reacquire => None,
    };
    if let Some(e) = asked {
        l.record(e);
    }
    let prior = l.held.mode_of(id);
    let self_wait = if let (Then::Push, Some(prior)) = (then, prior) {
        let thread = l.thread();
        let held = l.held_for_detect();
        let info = meta.info();
        let certain = selfwait::classify(prior, mode) == Some(selfwait::SelfWait::Certain);
        let req = Request {
            thread: &thread,
            object: &info,
            mode,
            site: Site::from_location(site),
            stack: stack::capture(),
        };
        let mut out = Vec::with_capacity(1);
        GLOBAL.lock().analyses.on_reacquire(&req, &held, &mut out);
        out.pop().map(|f| Box::new((f, certain)))
    } else {
        None
    };
    let chain = l.next_chain(id, mode);
    let first_write = first_write(meta, mode);
    let mut cycles = Vec::new();
    let mut later = false;
    // detect's learn rule: something to teach the graph?
    if l.held
        .teaches(id, mode, first_write, |c| l.cache_contains_pub(c))
        .is_some()
    {
        if defer_ok && !first_write {
            later = true;
        } else {
            cycles = learn(l, meta, mode, site, chain, first_write);
        }
    }
    Plan {
        self_wait,
        cycles,
        chain,
        later,
    }
}

/// A backtrace for a first-seen edge, the first time this thread pairs
/// these two sites (the held lock's acquisition site and `site`).
fn pair_stack(l: &mut Local, id: u64, site: Loc) -> Option<lockgraph_detect::StackRef> {
    match l.held.last() {
        Some(top) if top.object != id => {
            let pair = (
                top.extra.site as *const _ as usize,
                site as *const _ as usize,
            );
            if l.stacked_pairs
                .get_or_insert_with(Default::default)
                .insert(pair)
            {
                stack::capture()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Teaches the shared graph the edges of an acquisition of `meta` under
/// the thread's held locks (every thread's deferred edges first), and
/// remembers the chain. Returns the cycles they close.
fn learn(
    l: &mut Local,
    meta: &Meta,
    mode: Mode,
    site: Loc,
    chain: u64,
    first_write: bool,
) -> Vec<Finding> {
    let id = meta.id();
    let mut cycles = Vec::new();
    let stack = pair_stack(l, id, site);
    let thread = l.thread();
    // A scratch list kept in the thread's state: no allocation per new chain.
    let mut others = std::mem::take(&mut l.scratch);
    others.clear();
    others.extend(
        l.held
            .entries()
            .iter()
            .filter(|h| h.object != id)
            .map(local::to_detect),
    );
    {
        let mut g = GLOBAL.lock();
        // Deferred edges may be on a cycle this acquisition closes.
        g.publish_all(&mut cycles);
        g.analyses.on_object(ObjectId(id), &|| meta.info());
        for h in l.held.entries().iter().filter(|h| h.object != id) {
            g.analyses.on_object(ObjectId(h.object), &|| local::info(h));
        }
        g.analyses.on_learn(
            &Acquisition {
                thread: &thread,
                object: ObjectId(id),
                mode,
                site: Site::from_location(site),
                held: &others,
                stack,
                epoch: l.fork_join,
            },
            &mut cycles,
        );
    }
    l.scratch = others;
    meta.mark_in_graph();
    if first_write {
        meta.mark_written();
    }
    for e in l.held.extras_mut() {
        e.in_graph = true;
    }
    l.cache_insert(chain);
    cycles
}

/// Defers the edges of an acquisition that just took `meta`, a plain
/// mutex nothing was ever acquired under (`has_out` is set when a thread
/// lets go of a lock it acquired another under, so, with the lock taken,
/// no edge leaves it, in the graph or deferred, and none can while this
/// thread holds it). Every edge of this acquisition ends at it, so none
/// closes a cycle now; they wait in the thread's buffer
/// ([`global::Deferred`]) until anything that could close one through them
/// publishes them. Returns cycles found if the full buffer had to be
/// published.
fn defer(l: &mut Local, meta: &Meta, mode: Mode, site: Loc, chain: u64) -> Vec<Finding> {
    let id = meta.id();
    let stack = pair_stack(l, id, site);
    let mut held = smallvec::SmallVec::new();
    for h in l.held.entries() {
        if h.object != id {
            held.push(global::DeferredHeld {
                object: h.object,
                desc: h.extra.desc,
                mode: h.mode,
                site: h.extra.site,
            });
        }
    }
    let d = global::Deferred {
        span: l.span_text(),
        object: id,
        desc: meta.desc(),
        mode,
        site,
        held,
        stack,
        epoch: l.fork_join,
    };
    let full = global::defer(l.shared(), d);
    meta.mark_in_graph();
    for e in l.held.extras_mut() {
        e.in_graph = true;
    }
    l.cache_insert(chain);
    let mut found = Vec::new();
    if full {
        let shared = l.shared().clone();
        GLOBAL.lock().compact_thread(&shared, &mut found);
    }
    found
}

/// Spins for a busy lock as parking_lot's own `lock` does before it
/// parks: a few rounds of growing CPU back-off, then a few yields, taking
/// the lock the moment it comes free. Whether it did. Most contended
/// acquisitions end here, with no timed wait (whose deadline and timed
/// park read the clock) and no wait recorded: a wait this short is no
/// blocking the analyses could judge.
#[inline]
fn spin_for<L: LockOps>(ops: &L) -> bool {
    for round in 1..=SPINS {
        if round <= 3 {
            for _ in 0..(1u32 << round) {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
        if ops.try_now() {
            return true;
        }
    }
    false
}

/// Rounds of [`spin_for`]: parking_lot's `SpinWait` count.
const SPINS: u32 = 10;

/// Waits for the lock in slices (see [`wait_sliced`]); `victim` if a
/// confirmed deadlock may end the wait with a panic.
fn block<L: LockOps>(meta: &Meta, mode: Mode, site: Loc, ops: &L, victim: bool) {
    let wait = Wait {
        object: ObjectId(meta.id()),
        on: WaitOn::Lock,
        mode,
        site,
        deadline: None,
        missed: None,
        victim,
    };
    /// Ends the blocking wait however it ends, a deadlock panic included.
    struct Waiting<'a, L: LockOps>(&'a L);
    impl<L: LockOps> Drop for Waiting<'_, L> {
        fn drop(&mut self) {
            self.0.blocking(false);
        }
    }
    ops.blocking(true);
    let _waiting = Waiting(ops);
    wait_sliced(&wait, &|| meta.info(), |d| ops.wait(d));
}

/// A guard's `bump`. lock_api defines it as "functionally equivalent to
/// `unlock_fair` followed by `lock`", and so it is to the runtime: the
/// entry goes, the lock is released fairly (`unlock_fair`), and it is taken
/// back on top of the held stack, at the site where it was first acquired
/// (lock_api does not pass the caller's). That re-acquisition learns edges
/// from every lock the thread still holds, including those taken after this
/// one: a thread holding M then L that bumps M really waits for M while
/// holding L, and deadlocks with a thread that takes M then L. (parking_lot
/// skips the release when nobody is parked; here a thread spinning for the
/// lock may take it in between, which the definition allows.)
///
/// The guard outlives any panic out of here, so its lock must be held again
/// on every way out: a lock-order cycle is reported with the lock held and
/// its entry back, and the wait is never a deadlock's victim (the others in
/// the cycle are, and their unwinding frees the lock). With detection off,
/// `raw_bump` is parking_lot's own.
pub(crate) fn bump<L: LockOps>(
    meta: &Meta,
    mode: Mode,
    caller: Loc,
    ops: &L,
    unlock_fair: impl FnOnce(),
    raw_bump: impl FnOnce(),
) {
    if !config::enabled() {
        return raw_bump();
    }
    let site = meta
        .id_if_assigned()
        .and_then(|id| local::with(|l| l.held.entry(id).map(|h| h.extra.site)).flatten())
        .unwrap_or(caller);
    release(meta);
    unlock_fair();
    acquire(meta, mode, site, ops, Then::Relock);
}

/// The site a re-lock of `meta` for a guard that still exists is reported
/// at: where that guard's lock had been acquired, if this thread released
/// it lately (lock_api's `MutexGuard::unlocked` releases, runs the
/// closure, takes the lock back), else `caller`.
pub(crate) fn relock_site(meta: &Meta, caller: Loc) -> Loc {
    meta.id_if_assigned()
        .and_then(|id| local::with(|l| l.released_site(id)).flatten())
        .unwrap_or(caller)
}

/// A successful non-blocking (or timed) acquisition: joins the held set, adds no edge.
#[inline]
pub(crate) fn acquired_without_blocking(meta: &Meta, mode: Mode, site: Loc) {
    if !config::enabled() {
        return;
    }
    let id = meta.id();
    local::with(|l| {
        l.drain_pending();
        let chain = l.next_chain(id, mode);
        l.push(meta, id, chain, mode, site);
        l.record(Event::Try {
            object: id,
            mode,
            site: at(site),
        });
    });
    hb::acquired(meta, mode, site);
}

/// A non-blocking (or timed) acquisition failed, or `is_locked` answered
/// "busy": recorded, and counted towards a livelock.
#[inline]
pub(crate) fn try_failed(meta: &Meta, mode: Mode, site: Loc) {
    if !config::enabled() {
        return;
    }
    let id = meta.id();
    let check = local::with(|l| {
        l.record(Event::TryFail {
            object: id,
            mode,
            site: at(site),
        });
        let s = l.streak.get_or_insert_with(|| {
            Box::new(local::Streak {
                fails: lockgraph_detect::state::Streak::new(),
                published: false,
            })
        });
        // A spinner looks for a livelock through it every 8th failure.
        s.fails.fail(id, site) && (s.fails.total() - livelock::FAILS) % 8 == 0
    });
    if check == Some(true) {
        spinning(meta);
    }
}

/// Records an event that has no other bookkeeping (condvar waits and notifications).
pub(crate) fn note(e: LiveEvent) {
    if config::enabled() && sink::recording() {
        local::with(|l| l.record(e));
    }
}

/// Records, just before a wait on `object`, that it begins after a
/// notification nobody waited for (`missed`: its site and thread), so a
/// trace carries the mark the live runtime judged the wait by.
pub(crate) fn note_missed(object: u64, missed: Option<(Loc, u64)>) {
    if let Some((site, by)) = missed {
        note(Event::Missed {
            object,
            by,
            site: at(site),
        });
    }
}

/// Just before the raw unlock.
#[inline(always)]
pub(crate) fn release(meta: &Meta) {
    // An object never acquired while detection was on has no id and no entry.
    let Some(id) = meta.id_if_assigned() else {
        return;
    };
    let found = local::with_steady(|l| l.steady_release(id)).or_else(|| {
        local::with(|l| {
            let found = l.remove(id);
            l.record_with(|| Event::Release { object: id });
            found
        })
    });
    match found {
        Some(Some((_, mode))) => hb::released(meta, mode),
        // A guard another thread took: who wrote under it is unknown here.
        _ => hb::released_for_another(meta),
    }
    match found.map(|f| f.map(|(in_graph, _)| in_graph)) {
        // Set once: a load first keeps the steady path from writing the object.
        // (and whoever takes it next sees that an edge leaves it).
        Some(Some(true)) if !meta.has_out() => {
            meta.mark_has_out();
        }
        Some(Some(_)) | None => {}
        // Not ours: a guard sent here from another thread, or force_unlock.
        // Edges learned under it are taken to leave it (no entry says).
        Some(None) if config::enabled() => {
            meta.mark_has_out();
            global::orphan_release(id)
        }
        Some(None) => {}
    }
}

/// The thread now holds its lock of `meta` in another mode (a downgrade).
pub(crate) fn remode(meta: &Meta, mode: Mode) {
    let Some(id) = meta.id_if_assigned() else {
        return;
    };
    let was = local::with(|l| {
        let was = l.held.mode_of(id);
        l.remode(id, mode);
        l.record(Event::Remode {
            object: id,
            mode,
            site: None,
        });
        was
    })
    .flatten();
    // For happens-before: a downgrade lets the write lock go (readers that
    // come next see what was written under it); an upgrade takes what the
    // readers that left released.
    if was == Some(Mode::Exclusive) && mode != Mode::Exclusive {
        hb::released(meta, Mode::Exclusive);
    } else if mode == Mode::Exclusive && was != Some(Mode::Exclusive) {
        hb::acquired(meta, Mode::Exclusive, meta.created);
    }
}

/// A condvar wait gave the mutex back: record the re-acquisition at the
/// wait site, learning its order edges, without a self-wait check (the
/// thread released it to wait).
pub(crate) fn reacquired(meta: &Meta, mode: Mode, site: Loc) {
    if !config::enabled() {
        return;
    }
    let plan = local::with(|l| plan(l, meta, mode, site, Then::Reacquire, false));
    let id = meta.id();
    local::with(|l| {
        let chain = l.next_chain(id, mode);
        l.push(meta, id, chain, mode, site);
    });
    hb::acquired(meta, mode, site);
    if let Some(plan) = plan {
        if let Some(message) = react::handle_all(plan.cycles) {
            panic!("{message}");
        }
    }
}

/// Called when an object is dropped. An object with a graph node loses it (no
/// cycle through it can happen again); an object dropped while still locked
/// (its guard was forgotten) keeps its node, so that held-lock entries naming
/// it still resolve.
pub(crate) fn dropped(meta: &Meta, still_locked: bool) {
    let Some(id) = meta.id_if_assigned() else {
        return;
    };
    if sink::recording() {
        local::with(|l| l.record(Event::Drop { object: id }));
    }
    if still_locked {
        let info = describe(id, meta.kind(), meta.created, meta.name);
        // Held by this thread: its guard was forgotten. The entry goes (the
        // lock is gone, nobody can wait for it) and the leak is reported.
        let leaked = local::with(|l| {
            let h = l.held.remove(id)?;
            Some((l.thread(), h.extra.site))
        })
        .flatten();
        let mut found = Vec::new();
        {
            let mut g = GLOBAL.lock();
            g.analyses.on_object(ObjectId(id), &|| info.clone());
            if let Some((thread, site)) = leaked {
                g.analyses.on_leak(
                    &thread,
                    &info,
                    Site::from_location(site),
                    hazard::Leak::Destroyed,
                    &mut found,
                );
            }
        }
        for f in found {
            let _ = react::handle(f, false);
        }
    } else if meta.in_graph() {
        let mut found = Vec::new();
        GLOBAL.lock().dropped(ObjectId(id), &mut found);
        if let Some(message) = react::handle_all(found) {
            panic!("{message}");
        }
    }
}

/// A thread is about to be spawned from this one: its id, recorded as spawned.
pub(crate) fn spawning(site: Loc) -> u64 {
    if !config::enabled() {
        return 0;
    }
    let child = global::next_thread_id();
    let me = local::with(|l| {
        l.record(Event::Spawn {
            child,
            site: at(site),
        });
        (l.thread().id, l.fork_join_step())
    });
    if let Some((me, k)) = me {
        GLOBAL.lock().analyses.order.spawned(me, k, ThreadId(child));
        sink::fork_join_record(true, me.0, k, child);
        // What this thread did before the spawn goes out before the child's.
        if sink::recording() {
            sink::drain_thread(me.0);
        }
    }
    hb::spawning(child);
    child
}

/// First thing in a spawned thread: take the id the spawner chose.
pub(crate) fn adopt_thread(id: u64) {
    if id != 0 && config::enabled() {
        local::with(|l| l.adopt(id));
        hb::adopt(id);
    }
}

/// This thread is about to join thread `child`; `is_self` if that is itself.
pub(crate) fn joining(child: u64, is_self: bool, site: Loc) {
    if !config::enabled() {
        return;
    }
    let thread = local::with(|l| {
        l.record(Event::Join {
            child,
            site: at(site),
        });
        l.thread()
    });
    if let (true, Some(thread)) = (is_self, thread) {
        let mut found = Vec::with_capacity(1);
        let stack = stack::capture();
        GLOBAL
            .lock()
            .analyses
            .on_join_self(&thread, Site::from_location(site), stack, &mut found);
        for f in found {
            if let Some(message) = react::handle(f, true) {
                panic!("{message}");
            }
        }
    }
}

/// A join of thread `child` (not the current one) starts: blocking while holding?
pub(crate) fn join_blocking(child: u64, name: Option<&'static str>, spawned: Loc, site: Loc) {
    let info = || ObjectInfo {
        api: None,
        id: lockgraph_detect::model::thread_object(lockgraph_detect::ThreadId(child)),
        kind: lockgraph_detect::ObjectKind::Thread,
        name: name.map(Into::into),
        site: Site::from_location(spawned),
    };
    blocking(BlockingOn::Object(&info), site);
}

/// This thread joined thread `child` (std's join returned): what it does
/// next is after everything the child did, for the lock-order graph's
/// fork-join order (the Join event was recorded when the join began).
pub(crate) fn joined(child: u64) {
    if child == 0 || !config::enabled() {
        return;
    }
    if let Some((me, k)) = local::with(|l| (l.thread().id, l.fork_join_step())) {
        GLOBAL.lock().analyses.order.joined(me, k, ThreadId(child));
        sink::fork_join_record(false, me.0, k, child);
    }
}

/// This thread took a permit of semaphore `meta` at `site`.
pub(crate) fn took_permit(meta: &Meta, site: Loc) {
    if !config::enabled() {
        return;
    }
    let id = meta.id();
    local::with(|l| {
        l.permits.push(local::Held {
            object: id,
            mode: Mode::Shared,
            chain: 0,
            extra: local::Entry::of(meta, site),
        });
        l.record(Event::Take {
            object: id,
            site: at(site),
        });
    });
    hb::saw(meta, "took a permit of", site);
}

/// This thread gave back a permit of semaphore `meta` (one it took, if it has one).
pub(crate) fn gave_permit(meta: &Meta, site: Loc) {
    if !config::enabled() {
        return;
    }
    // Assigned here if need be: a permit given before anyone took one is
    // still one a later taker's entry must be matched with.
    let id = meta.id();
    hb::released(meta, Mode::Exclusive);
    let mine = local::with(|l| {
        l.record(Event::Give {
            object: id,
            site: at(site),
        });
        match l.permits.iter().rposition(|p| p.object == id) {
            Some(i) => {
                l.permits.remove(i);
                true
            }
            None => false,
        }
    });
    // A permit given back by a thread that did not take one (a semaphore
    // used as a signal): the taker's entry goes, as for a guard sent away.
    if mine == Some(false) {
        global::orphan_release(id);
    }
}

/// The calling thread's runtime id (0 when detection is off).
pub(crate) fn current_thread_id() -> u64 {
    if !config::enabled() {
        return 0;
    }
    local::with(|l| l.thread().id.0).unwrap_or(0)
}

/// A thread calls once `meta` again from inside its own closure: a certain
/// self-deadlock, reported (and ended by a panic unless the reaction is `off`).
pub(crate) fn once_self(meta: &Meta, owner: u64, site: Loc) {
    if !config::enabled() {
        return;
    }
    let Some(thread) = local::with(|l| {
        l.record(Event::BlockFor {
            object: meta.id(),
            by: owner,
            timed: false,
            site: at(site),
        });
        l.thread()
    }) else {
        return;
    };
    let mut found = Vec::with_capacity(1);
    let (info, stack) = (meta.info(), stack::capture());
    GLOBAL.lock().analyses.on_once_self(
        &thread,
        &info,
        Site::from_location(site),
        stack,
        &mut found,
    );
    for f in found {
        if let Some(message) = react::handle(f, true) {
            panic!("{message}");
        }
    }
}

/// Puts a lock back in the held set without any check: a condvar wait
/// that ended by a panic holds its mutex again, and its guard will unlock it.
pub(crate) fn held_again(meta: &Meta, mode: Mode, site: Loc) {
    if !config::enabled() {
        return;
    }
    let id = meta.id();
    local::with(|l| {
        let chain = l.next_chain(id, mode);
        l.push(meta, id, chain, mode, site);
    });
    hb::acquired(meta, mode, site);
}

/// The locks the current thread holds right now, oldest first: what the
/// detector believes, for tests and debugging.
pub fn held_locks() -> Vec<lockgraph_detect::ObjectInfo> {
    local::with(|l| {
        l.drain_pending();
        l.held_infos()
    })
    .unwrap_or_default()
}

/// The lock-order graph's size and work so far ([`global::GraphStats`]),
/// deferred edges published first.
pub fn graph_stats() -> global::GraphStats {
    let mut found = Vec::new();
    let stats = {
        let mut g = GLOBAL.lock();
        g.publish_all(&mut found);
        let order = &g.analyses.order;
        global::GraphStats {
            locks: order.node_count(),
            edges: order.edge_count(),
            search_visits: order.search_visits(),
        }
    };
    if let Some(message) = react::handle_all(found) {
        panic!("{message}");
    }
    stats
}

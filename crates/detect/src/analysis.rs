//! The moments at which a driver asks the analyses, as one trait of `on_*` hooks.
//!
//! Both drivers (the live runtime's slow path and [`crate::replay`]) keep
//! the per-thread state of [`crate::state`] and, at each moment below, call
//! the hook of one [`Analyses`] value, the set lockgraph runs. Which rule
//! answers at which moment is decided here, once: a driver never calls an
//! analysis module itself. A new analysis is one implementation of
//! [`Analysis`] (every hook has a no-op default, as in
//! `tracing_subscriber::Layer`) and one field of [`Analyses`], and it works
//! live and offline at once.
//!
//! Races are the one exception to "through this trait": the state of a
//! tracked location lives beside the location, not in one shared value,
//! and both drivers apply each operation through the shared step
//! [`crate::race::Shadow::apply`].

use crate::hazard::{self, Blocking, Leak};
use crate::livelock::{self, Spinner};
use crate::model::{HeldLock, ObjectId, ObjectInfo, Site, StackRef, ThreadId, ThreadInfo};
use crate::order::{Acquisition, LockOrderGraph};
use crate::selfwait::{self, Request};
use crate::stall;
use crate::waitfor::Waiter;
use crate::Finding;

/// What a thread is about to block on while it may hold locks
/// ([`Analysis::on_block`]).
pub struct Block<'a> {
    /// The blocking thread.
    pub thread: &'a ThreadInfo,
    /// What it holds, oldest first.
    pub held: &'a [HeldLock],
    /// Describes a held lock.
    pub info: &'a dyn Fn(&HeldLock) -> ObjectInfo,
    /// What it waits for.
    pub what: Blocking<'a>,
    /// Where.
    pub site: Site,
    /// The stack there, if captured.
    pub stack: Option<StackRef>,
}

/// The threads blocked right now, as [`Analysis::on_stuck`] and
/// [`Analysis::on_process_exit`] see them.
pub struct Blocked<'a> {
    /// Every blocked thread's wait.
    pub waiters: &'a [Waiter],
    /// The threads still alive (a wait on one that runs may end).
    pub live: &'a [ThreadId],
    /// Locks held by threads that ended: they wake nobody.
    pub leaked: &'a [ObjectId],
    /// Describes an object a waiter names.
    pub object: &'a dyn Fn(ObjectId) -> ObjectInfo,
}

/// The analyses' hooks, one per moment a driver reaches. Every hook has a
/// no-op default; findings go to `out` (or are returned where the driver
/// must know who they concern). The three questions about blocked and
/// spinning threads take `&self`: they judge a state the driver keeps and
/// change nothing, so a driver may answer their lookups from its own
/// tables while it asks.
#[allow(unused_variables)]
pub trait Analysis {
    /// A blocking acquisition of a lock the thread already holds, before it
    /// may block (`held` includes the earlier entry).
    fn on_reacquire(&mut self, req: &Request<'_>, held: &[HeldLock], out: &mut Vec<Finding>) {}

    /// A blocking acquisition the learn rule says teaches something
    /// ([`crate::state::HeldStack::teaches`]): a nested chain not yet known,
    /// or a read-write lock's first write. The objects named must have been
    /// described first ([`Analysis::on_object`]).
    fn on_learn(&mut self, acq: &Acquisition<'_>, out: &mut Vec<Finding>) {}

    /// An object is named for the first time by what the analyses keep.
    fn on_object(&mut self, id: ObjectId, info: &dyn Fn() -> ObjectInfo) {}

    /// An object is destroyed while no thread holds it.
    fn on_drop(&mut self, id: ObjectId) {}

    /// A thread joins itself.
    fn on_join_self(
        &mut self,
        thread: &ThreadInfo,
        site: Site,
        stack: Option<StackRef>,
        out: &mut Vec<Finding>,
    ) {
    }

    /// A thread reaches a once it is running itself.
    fn on_once_self(
        &mut self,
        thread: &ThreadInfo,
        once: &ObjectInfo,
        site: Site,
        stack: Option<StackRef>,
        out: &mut Vec<Finding>,
    ) {
    }

    /// A thread starts a blocking wait (not for a lock) and may hold locks.
    fn on_block(&mut self, b: &Block<'_>, out: &mut Vec<Finding>) {}

    /// A lock or permit is gone with its holder: the thread ended holding
    /// it, or the lock was destroyed under a forgotten guard.
    fn on_leak(
        &mut self,
        thread: &ThreadInfo,
        object: &ObjectInfo,
        taken: Site,
        how: Leak,
        out: &mut Vec<Finding>,
    ) {
    }

    /// Is `thread`, blocked, part of a wait nothing can end? The finding
    /// and the indices of the waiters in it.
    fn on_stuck(&self, blocked: &Blocked<'_>, thread: ThreadId) -> Option<(Finding, Vec<usize>)> {
        None
    }

    /// The process exits with these threads blocked: what they show, each
    /// with the indices of its waiters.
    fn on_process_exit(&self, blocked: &Blocked<'_>) -> Vec<(Finding, Vec<usize>)> {
        Vec::new()
    }

    /// Thread `start` is in a long streak of failed attempts: a livelock
    /// through it among `spinners`, and the indices of the spinners in it.
    fn on_spin(
        &self,
        spinners: &[Spinner],
        start: ThreadId,
        leaked: &[ObjectId],
        object: &dyn Fn(ObjectId) -> ObjectInfo,
    ) -> Option<(Finding, Vec<usize>)> {
        None
    }
}

/// The analyses lockgraph runs, live and offline: the lock-order graph
/// (the one with state) and the stateless rules of [`selfwait`],
/// [`hazard`], [`stall`] and [`livelock`].
#[derive(Default)]
pub struct Analyses {
    /// The lock-order graph over lock instances.
    pub order: LockOrderGraph,
}

/// A lock-order graph learns what acquisitions teach and forgets
/// destroyed locks. The replay also runs one over lock classes, fed
/// through the same hooks.
impl Analysis for LockOrderGraph {
    fn on_learn(&mut self, acq: &Acquisition<'_>, out: &mut Vec<Finding>) {
        out.extend(self.on_acquire(acq));
    }

    fn on_object(&mut self, id: ObjectId, info: &dyn Fn() -> ObjectInfo) {
        self.ensure_object(id, info);
    }

    fn on_drop(&mut self, id: ObjectId) {
        self.remove_object(id);
    }
}

impl Analysis for Analyses {
    fn on_reacquire(&mut self, req: &Request<'_>, held: &[HeldLock], out: &mut Vec<Finding>) {
        out.extend(selfwait::check(req, held));
    }

    fn on_learn(&mut self, acq: &Acquisition<'_>, out: &mut Vec<Finding>) {
        self.order.on_learn(acq, out);
    }

    fn on_object(&mut self, id: ObjectId, info: &dyn Fn() -> ObjectInfo) {
        self.order.on_object(id, info);
    }

    fn on_drop(&mut self, id: ObjectId) {
        self.order.on_drop(id);
    }

    fn on_join_self(
        &mut self,
        thread: &ThreadInfo,
        site: Site,
        stack: Option<StackRef>,
        out: &mut Vec<Finding>,
    ) {
        out.push(selfwait::join_self(thread, site, stack));
    }

    fn on_once_self(
        &mut self,
        thread: &ThreadInfo,
        once: &ObjectInfo,
        site: Site,
        stack: Option<StackRef>,
        out: &mut Vec<Finding>,
    ) {
        out.push(selfwait::once_self(thread, once, site, stack));
    }

    fn on_block(&mut self, b: &Block<'_>, out: &mut Vec<Finding>) {
        if let Blocking::On(o) = b.what {
            if !hazard::warns_when_blocking(o.kind) {
                return;
            }
        }
        out.extend(hazard::blocking_while_holding(
            b.thread,
            b.held,
            b.info,
            b.what.clone(),
            b.site.clone(),
            b.stack.clone(),
        ));
    }

    fn on_leak(
        &mut self,
        thread: &ThreadInfo,
        object: &ObjectInfo,
        taken: Site,
        how: Leak,
        out: &mut Vec<Finding>,
    ) {
        out.push(hazard::lock_leak(thread, object, taken, how));
    }

    fn on_stuck(&self, b: &Blocked<'_>, thread: ThreadId) -> Option<(Finding, Vec<usize>)> {
        stall::deadlock_of(b.waiters, b.live, b.leaked, thread, b.object)
    }

    fn on_process_exit(&self, b: &Blocked<'_>) -> Vec<(Finding, Vec<usize>)> {
        stall::at_exit(b.waiters, b.leaked, b.object)
    }

    fn on_spin(
        &self,
        spinners: &[Spinner],
        start: ThreadId,
        leaked: &[ObjectId],
        object: &dyn Fn(ObjectId) -> ObjectInfo,
    ) -> Option<(Finding, Vec<usize>)> {
        let cycle = livelock::find(spinners, start, leaked)?;
        Some((livelock::finding(spinners, &cycle, object), cycle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Mode, ObjectKind};
    use crate::Kind;

    fn thread(id: u64) -> ThreadInfo {
        ThreadInfo {
            span: None,
            id: ThreadId(id),
            name: None,
        }
    }

    fn object(id: u64, kind: ObjectKind) -> ObjectInfo {
        ObjectInfo {
            api: None,
            id: ObjectId(id),
            kind,
            name: None,
            site: Site::new("src/lib.rs", id as u32, 1),
        }
    }

    fn held(id: u64) -> HeldLock {
        HeldLock {
            object: ObjectId(id),
            mode: Mode::Exclusive,
            site: Site::new("src/lib.rs", 10 + id as u32, 5),
        }
    }

    fn learn(a: &mut dyn Analysis, t: u64, outer: u64, inner: u64) -> Vec<Finding> {
        let mut out = Vec::new();
        for id in [outer, inner] {
            a.on_object(ObjectId(id), &|| object(id, ObjectKind::Mutex));
        }
        a.on_learn(
            &Acquisition {
                thread: &thread(t),
                object: ObjectId(inner),
                mode: Mode::Exclusive,
                site: Site::new("src/lib.rs", 20, 5),
                held: &[held(outer)],
                stack: None,
                epoch: 0,
            },
            &mut out,
        );
        out
    }

    /// An analysis that keeps nothing and answers nothing: every hook's
    /// default is a no-op, so it is one empty `impl`.
    struct Silent;
    impl Analysis for Silent {}

    #[test]
    fn every_hook_defaults_to_nothing() {
        let mut s = Silent;
        assert!(learn(&mut s, 1, 1, 2).is_empty());
        assert!(learn(&mut s, 2, 2, 1).is_empty());
        let blocked = Blocked {
            waiters: &[],
            live: &[],
            leaked: &[],
            object: &|id| object(id.0, ObjectKind::Mutex),
        };
        assert!(s.on_stuck(&blocked, ThreadId(1)).is_none());
        assert!(s.on_process_exit(&blocked).is_empty());
    }

    #[test]
    fn the_set_learns_orders_through_its_graph() {
        let mut a = Analyses::default();
        assert!(learn(&mut a, 1, 1, 2).is_empty());
        let found = learn(&mut a, 2, 2, 1);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, Kind::LockOrderCycle);
        // A destroyed lock leaves the graph: the order is forgotten.
        a.on_drop(ObjectId(1));
        assert!(!a.order.contains(ObjectId(1)));
    }

    #[test]
    fn which_waits_warn_under_a_lock_is_decided_here() {
        let mut a = Analyses::default();
        let warns = |a: &mut Analyses, kind: ObjectKind| {
            let what = object(9, kind);
            let mut out = Vec::new();
            a.on_block(
                &Block {
                    thread: &thread(1),
                    held: &[held(1)],
                    info: &|h| object(h.object.0, ObjectKind::Mutex),
                    what: Blocking::On(&what),
                    site: Site::new("src/lib.rs", 30, 5),
                    stack: None,
                },
                &mut out,
            );
            out.iter()
                .all(|f| f.kind == Kind::BlockingWhileHolding)
                .then_some(out.len())
        };
        for kind in [
            ObjectKind::Event,
            ObjectKind::Barrier,
            ObjectKind::Latch,
            ObjectKind::Channel,
            ObjectKind::Condvar,
            ObjectKind::Thread,
        ] {
            assert_eq!(warns(&mut a, kind), Some(1), "{kind:?}");
        }
        // A semaphore's or a once's wait under a lock is the program's
        // design more often than a bug (docs/heuristics.md).
        for kind in [ObjectKind::Semaphore, ObjectKind::Once] {
            assert_eq!(warns(&mut a, kind), Some(0), "{kind:?}");
        }
    }
}

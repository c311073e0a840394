//! What the primitives beyond locks share: a state under a plain mutex, a condvar, and waits the runtime can see.
//!
//! Each of `Semaphore`, `Event`, `Barrier`, `Latch` and `Once` keeps its
//! state in a parking_lot mutex the runtime does not instrument (it is held
//! only for a few instructions, never across user code) and wakes waiters
//! with a parking_lot condvar. Instrumented, waiting goes through the
//! runtime's sliced wait (`backend::block`), so a thread blocked here takes
//! part in deadlock and stall detection; the state is re-checked under the
//! mutex after every slice, so no wakeup is ever lost between slices.

use std::time::Instant;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::backend::{self, Blocking, Meta};
pub(crate) use crate::backend::{Done, Kind, Loc, Signal, Waker};

/// The shared machinery of one primitive.
pub(crate) struct Core<S> {
    pub(crate) state: Mutex<S>,
    cv: Condvar,
    /// What the runtime knows of the object (zero-sized when not instrumented).
    pub(crate) meta: Meta,
}

impl<S> Core<S> {
    /// A primitive created at `created`, optionally named.
    pub(crate) const fn new(
        state: S,
        kind: Kind,
        name: Option<&'static str>,
        created: Loc,
    ) -> Self {
        Core {
            state: Mutex::new(state),
            cv: Condvar::new(),
            meta: Meta::new(created, name, kind),
        }
    }

    /// The same primitive under another name.
    pub(crate) fn rename(&mut self, name: &'static str) {
        self.meta.rename(name);
    }

    /// Waits, releasing `guard` while blocked, until `ready` says the wait is
    /// over or `deadline` passes (`None`: timed out).
    pub(crate) fn wait(
        &self,
        guard: &mut MutexGuard<'_, S>,
        site: Loc,
        deadline: Option<Instant>,
        waker: Waker,
        ready: impl FnMut(&mut S) -> Option<Done>,
    ) -> Option<Done> {
        self.wait_missing(guard, site, deadline, waker, None, ready)
    }

    /// [`Core::wait`], for a wait that began after a notification nobody
    /// waited for (`missed`: its site and thread).
    pub(crate) fn wait_missing(
        &self,
        guard: &mut MutexGuard<'_, S>,
        site: Loc,
        deadline: Option<Instant>,
        waker: Waker,
        missed: Option<(Loc, u64)>,
        mut ready: impl FnMut(&mut S) -> Option<Done>,
    ) -> Option<Done> {
        if let Some(d) = ready(guard) {
            // Found done without waiting: it still saw what was published.
            if d == Done::Ok {
                self.synced(site);
            }
            return Some(d);
        }
        if backend::enabled() {
            let how = Blocking {
                site,
                deadline,
                waker,
                missed,
            };
            return backend::block(&self.meta, &self.cv, guard, how, ready);
        }
        loop {
            match deadline {
                Some(d) => {
                    if self.cv.wait_until(guard, d).timed_out() {
                        return ready(guard);
                    }
                }
                None => self.cv.wait(guard),
            }
            if let Some(d) = ready(guard) {
                return Some(d);
            }
        }
    }

    /// Wakes one waiter (call with the state locked, after changing it).
    pub(crate) fn wake_one(&self) -> bool {
        self.cv.notify_one()
    }

    /// Wakes every waiter (call with the state locked, after changing it).
    pub(crate) fn wake_all(&self) -> usize {
        self.cv.notify_all()
    }

    /// Records a signal: what `how` did, waking `woken` waiters.
    pub(crate) fn signal(&self, how: Signal, woken: u64, site: Loc) {
        backend::signal(&self.meta, how, woken, site);
    }

    /// Records that a wait passed at once (it counts as seeing what it waited for).
    pub(crate) fn passed(&self, site: Loc) {
        backend::passed(&self.meta, site);
    }

    /// Publishes this thread's history through the primitive, for the
    /// threads that will see what it is about to do (call with the state
    /// locked, before changing it, so no waiter can see the change first).
    pub(crate) fn publish(&self) {
        backend::published(&self.meta);
    }

    /// This thread saw what the primitive published (a wait that found
    /// its condition already met without waiting, or a leader's arrival).
    pub(crate) fn synced(&self, site: Loc) {
        backend::synced(&self.meta, site);
    }
}

/// The calling thread's runtime id (0 when not instrumented).
pub(crate) fn me() -> u64 {
    backend::current_thread_id()
}

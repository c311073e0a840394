//! What the primitives beyond locks share: a state under a plain mutex, a condvar, and instrumented waits.
//!
//! Each of `Semaphore`, `Event`, `Barrier`, `Latch` and `Once` keeps its
//! state in a parking_lot mutex the runtime does not instrument (it is held
//! only for a few instructions, never across user code) and wakes waiters
//! with a parking_lot condvar. Waiting goes through the runtime's sliced
//! wait, so a thread blocked here takes part in deadlock and stall
//! detection; the state is re-checked under the mutex after every slice, so
//! no wakeup is ever lost between slices.

use std::panic::Location;
use std::time::Instant;

use parking_lot::{Condvar, Mutex, MutexGuard};

/// A call site.
pub(crate) type Loc = &'static Location<'static>;

/// What kind of primitive a [`Core`] belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Semaphore,
    Event,
    Barrier,
    Latch,
    Once,
}

/// How a wait ended, when it did not time out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// What the thread waited for happened.
    Ok,
    /// The barrier broke.
    Broken,
}

/// Who can end a wait on a [`Core`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Waker {
    /// Any live thread (a permit released, an event set, a party arriving).
    Anyone,
    /// Only the thread with this runtime id (the thread running a once).
    Thread(#[cfg_attr(not(feature = "instrument"), allow(dead_code))] u64),
}

/// The shared machinery of one primitive.
pub(crate) struct Core<S> {
    pub(crate) state: Mutex<S>,
    cv: Condvar,
    #[cfg(feature = "instrument")]
    pub(crate) meta: crate::rt::meta::Meta,
}

impl<S> Core<S> {
    /// A primitive created at `created`, optionally named.
    pub(crate) const fn new(
        state: S,
        kind: Kind,
        name: Option<&'static str>,
        created: Loc,
    ) -> Self {
        let _ = (kind, name, created);
        Core {
            state: Mutex::new(state),
            cv: Condvar::new(),
            #[cfg(feature = "instrument")]
            meta: crate::rt::meta::Meta::new(created, name, object_kind(kind)),
        }
    }

    /// The object's id, for records.
    #[cfg_attr(not(feature = "instrument"), allow(dead_code))]
    pub(crate) fn id(&self) -> u64 {
        #[cfg(feature = "instrument")]
        {
            self.meta.id()
        }
        #[cfg(not(feature = "instrument"))]
        {
            0
        }
    }

    /// The same primitive under another name.
    pub(crate) fn rename(&mut self, name: &'static str) {
        #[cfg(feature = "instrument")]
        {
            self.meta.name = Some(name);
        }
        let _ = name;
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
            return Some(d);
        }
        #[cfg(feature = "instrument")]
        if crate::rt::config::enabled() {
            return self.wait_instrumented(guard, site, deadline, waker, missed, ready);
        }
        let _ = (site, waker, missed);
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

    #[cfg(feature = "instrument")]
    fn wait_instrumented(
        &self,
        guard: &mut MutexGuard<'_, S>,
        site: Loc,
        deadline: Option<Instant>,
        waker: Waker,
        missed: Option<(Loc, u64)>,
        mut ready: impl FnMut(&mut S) -> Option<Done>,
    ) -> Option<Done> {
        use crate::rt::hooks::{self, Wait};
        use crate::rt::sink::at;
        use lockgraph_detect::event::Outcome;
        use lockgraph_detect::waitfor::WaitOn;
        use lockgraph_detect::{Event, Mode, ObjectId, ThreadId};

        let id = self.meta.id();
        let timed = deadline.is_some();
        let (on, e) = match waker {
            Waker::Anyone => (
                WaitOn::Anyone,
                Event::Block {
                    object: id,
                    timed,
                    site: at(site),
                },
            ),
            Waker::Thread(t) => (
                WaitOn::Thread(ThreadId(t)),
                Event::BlockFor {
                    object: id,
                    by: t,
                    timed,
                    site: at(site),
                },
            ),
        };
        // Recorded first, so the trace shows the wait a warning is about.
        hooks::note_missed(id, missed);
        hooks::note(e);
        if matches!(
            self.meta.kind(),
            lockgraph_detect::ObjectKind::Event
                | lockgraph_detect::ObjectKind::Barrier
                | lockgraph_detect::ObjectKind::Latch
        ) {
            hooks::blocking(hooks::BlockingOn::Object(&|| self.meta.info()), site);
        }
        let wait = Wait {
            object: ObjectId(id),
            on,
            mode: Mode::Exclusive,
            site,
            deadline,
            missed,
            victim: true,
        };
        let mut outcome = None;
        hooks::wait_sliced(&wait, &|| self.meta.info(), |d| {
            let until = Instant::now() + d;
            loop {
                if let Some(o) = ready(guard) {
                    outcome = Some(o);
                    return true;
                }
                if self.cv.wait_until(guard, until).timed_out() {
                    outcome = ready(guard);
                    return outcome.is_some();
                }
            }
        });
        let how = match outcome {
            Some(Done::Ok) => Outcome::Ok,
            Some(Done::Broken) => Outcome::Broken,
            None => Outcome::Timeout,
        };
        hooks::note(Event::Unblock {
            object: id,
            outcome: how,
            site: at(site),
        });
        outcome
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
    #[cfg(feature = "instrument")]
    pub(crate) fn signal(&self, how: lockgraph_detect::trace::SignalKind, woken: u64, site: Loc) {
        if crate::rt::config::enabled() {
            crate::rt::hooks::note(lockgraph_detect::Event::Signal {
                object: self.meta.id(),
                how,
                woken,
                site: crate::rt::sink::at(site),
            });
        }
    }
}

#[cfg(feature = "instrument")]
const fn object_kind(k: Kind) -> lockgraph_detect::ObjectKind {
    use lockgraph_detect::ObjectKind as O;
    match k {
        Kind::Semaphore => O::Semaphore,
        Kind::Event => O::Event,
        Kind::Barrier => O::Barrier,
        Kind::Latch => O::Latch,
        Kind::Once => O::Once,
    }
}

/// The calling thread's runtime id (0 when not instrumented).
pub(crate) fn me() -> u64 {
    #[cfg(feature = "instrument")]
    {
        crate::rt::hooks::current_thread_id()
    }
    #[cfg(not(feature = "instrument"))]
    {
        0
    }
}

/// Records that a wait passed at once (it counts as seeing what it waited for).
pub(crate) fn passed(core_id: &dyn Fn() -> u64, site: Loc) {
    #[cfg(feature = "instrument")]
    if crate::rt::config::enabled() {
        crate::rt::hooks::note(lockgraph_detect::Event::Unblock {
            object: core_id(),
            outcome: lockgraph_detect::event::Outcome::Ok,
            site: crate::rt::sink::at(site),
        });
    }
    let _ = (core_id, site);
}

/// Records a signal on a primitive (nothing when not instrumented).
macro_rules! signal {
    ($core:expr, $how:ident, $woken:expr, $site:expr) => {{
        #[cfg(feature = "instrument")]
        $core.signal(
            lockgraph_detect::trace::SignalKind::$how,
            $woken as u64,
            $site,
        );
        #[cfg(not(feature = "instrument"))]
        let _ = (&$core, $woken, $site);
    }};
}
pub(crate) use signal;

//! `Condvar`: parking_lot's condition variable, working with lockgraph's mutex guards.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::mutex::MutexGuard;

/// Whether a timed wait returned because its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// `true` if the wait timed out rather than being notified.
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A condition variable with the API of `parking_lot::Condvar`: no spurious
/// wakeups, notifications return whether (or how many) threads woke.
///
/// While a thread waits, the mutex it waits with is not held: the wait
/// takes it out of the thread's held set and puts it back, at the wait's
/// site, when the thread wakes.
///
/// ```
/// use std::sync::Arc;
/// use lockgraph::{Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let worker = {
///     let pair = pair.clone();
///     std::thread::spawn(move || {
///         *pair.0.lock() = true;
///         pair.1.notify_one();
///     })
/// };
/// let mut ready = pair.0.lock();
/// pair.1.wait_while(&mut ready, |ready| !*ready);
/// drop(ready);
/// worker.join().unwrap();
/// ```
pub struct Condvar {
    inner: parking_lot::Condvar,
    #[cfg(feature = "instrument")]
    meta: crate::rt::meta::Meta,
}

impl Condvar {
    /// Creates a condition variable; usable in `static`s.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            inner: parking_lot::Condvar::new(),
            #[cfg(feature = "instrument")]
            meta: crate::rt::meta::Meta::new(
                Location::caller(),
                None,
                lockgraph_detect::ObjectKind::Condvar,
            ),
        }
    }

    /// Creates a condition variable that reports call `name`.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        let _ = name;
        Condvar {
            inner: parking_lot::Condvar::new(),
            #[cfg(feature = "instrument")]
            meta: crate::rt::meta::Meta::new(
                Location::caller(),
                Some(name),
                lockgraph_detect::ObjectKind::Condvar,
            ),
        }
    }

    /// Wakes one waiting thread; returns whether one was woken.
    #[track_caller]
    pub fn notify_one(&self) -> bool {
        let woken = self.inner.notify_one();
        self.noted_notify(u64::from(woken), false, Location::caller());
        woken
    }

    /// Wakes every waiting thread; returns how many were woken.
    #[track_caller]
    pub fn notify_all(&self) -> usize {
        let woken = self.inner.notify_all();
        self.noted_notify(woken as u64, true, Location::caller());
        woken
    }

    #[cfg(feature = "instrument")]
    fn noted_notify(&self, woken: u64, all: bool, site: &'static Location<'static>) {
        use crate::rt::record::RawEvent;
        let mut e = RawEvent::new(
            lockgraph_detect::trace::EventKind::Notify,
            self.meta.id(),
            None,
            Some(site),
        );
        e.extra = woken;
        e.flag = all;
        crate::rt::hooks::note(e);
    }

    #[cfg(not(feature = "instrument"))]
    #[inline(always)]
    fn noted_notify(&self, _: u64, _: bool, _: &'static Location<'static>) {}

    /// Runs a parking_lot wait on the mutex behind `guard`.
    #[cfg(feature = "instrument")]
    fn around<T: ?Sized, R: WaitOutcome>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        site: &'static Location<'static>,
        wait: impl FnOnce(&parking_lot::Condvar, &mut parking_lot::MutexGuard<'_, ()>) -> R,
    ) -> R {
        let mutex = MutexGuard::mutex(guard);
        // Safety: we only read the raw lock's metadata and its parking_lot mutex.
        let raw = unsafe { mutex.raw() };
        use crate::rt::record::RawEvent;
        use lockgraph_detect::trace::EventKind;
        let mutex_id = raw.meta().id();
        let mut e = RawEvent::new(EventKind::CvWait, self.meta.id(), None, Some(site));
        e.extra = mutex_id;
        crate::rt::hooks::note(e);
        crate::rt::hooks::release(raw.meta());
        let pl = raw.parking_lot_mutex();
        // Safety: this thread holds the lock (it has `guard`); the parking_lot
        // guard stands in for it during the wait and is forgotten after, so the
        // lock stays held by `guard`.
        let mut pl_guard = unsafe { pl.make_guard_unchecked() };
        let r = wait(&self.inner, &mut pl_guard);
        std::mem::forget(pl_guard);
        let mut e = RawEvent::new(EventKind::CvWoken, self.meta.id(), None, Some(site));
        e.extra = mutex_id;
        e.flag = timed_out(&r);
        crate::rt::hooks::note(e);
        crate::rt::hooks::reacquired(raw.meta(), lockgraph_detect::Mode::Exclusive, site);
        r
    }

    #[cfg(not(feature = "instrument"))]
    fn around<T: ?Sized, R: WaitOutcome>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        _site: &'static Location<'static>,
        wait: impl FnOnce(&parking_lot::Condvar, &mut MutexGuard<'_, T>) -> R,
    ) -> R {
        wait(&self.inner, guard)
    }

    /// Releases the mutex behind `guard`, waits for a notification, and takes it back.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.around(guard, Location::caller(), |cv, g| cv.wait(g))
    }

    /// Like [`Condvar::wait`], giving up at `timeout`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(self.around(guard, Location::caller(), |cv, g| {
            cv.wait_until(g, timeout).timed_out()
        }))
    }

    /// Like [`Condvar::wait`], giving up after `timeout`.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(self.around(guard, Location::caller(), |cv, g| {
            cv.wait_for(g, timeout).timed_out()
        }))
    }

    /// Waits while `condition` holds on the protected data: the predicate
    /// makes a notification sent before the wait impossible to miss.
    #[track_caller]
    pub fn wait_while<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
    ) {
        let site = Location::caller();
        while condition(&mut **guard) {
            self.around(guard, site, |cv, g| cv.wait(g));
        }
    }

    /// Like [`Condvar::wait_while`], giving up at `timeout`.
    #[track_caller]
    pub fn wait_while_until<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        let site = Location::caller();
        let mut timed_out = false;
        while !timed_out && condition(&mut **guard) {
            timed_out = self.around(guard, site, |cv, g| cv.wait_until(g, timeout).timed_out());
        }
        WaitTimeoutResult(timed_out)
    }

    /// Like [`Condvar::wait_while`], giving up after `timeout`.
    #[track_caller]
    pub fn wait_while_for<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => self.wait_while_until(guard, condition, deadline),
            None => {
                self.wait_while(guard, condition);
                WaitTimeoutResult(false)
            }
        }
    }
}

/// What a wait returned: whether it timed out, for the trace.
#[cfg_attr(not(feature = "instrument"), allow(dead_code))]
trait WaitOutcome {
    fn timed_out(&self) -> bool;
}

impl WaitOutcome for () {
    fn timed_out(&self) -> bool {
        false
    }
}

impl WaitOutcome for bool {
    fn timed_out(&self) -> bool {
        *self
    }
}

#[cfg(feature = "instrument")]
fn timed_out(r: &impl WaitOutcome) -> bool {
    r.timed_out()
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Condvar { .. }")
    }
}

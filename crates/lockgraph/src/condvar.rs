//! `Condvar`: parking_lot's condition variable, working with lockgraph's mutex guards.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::backend::CondvarState;
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
    /// What the runtime keeps beside it (zero-sized when not instrumented).
    state: CondvarState,
}

impl Condvar {
    /// Creates a condition variable; usable in `static`s.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            inner: parking_lot::Condvar::new(),
            state: CondvarState::new(Location::caller(), None),
        }
    }

    /// Creates a condition variable that reports call `name`.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Condvar {
            inner: parking_lot::Condvar::new(),
            state: CondvarState::new(Location::caller(), Some(name)),
        }
    }

    /// Wakes one waiting thread; returns whether one was woken.
    #[track_caller]
    pub fn notify_one(&self) -> bool {
        self.state.notify_one(&self.inner, Location::caller())
    }

    /// Wakes every waiting thread; returns how many were woken.
    #[track_caller]
    pub fn notify_all(&self) -> usize {
        self.state.notify_all(&self.inner, Location::caller())
    }

    /// Waits on the mutex behind `guard` until notified or `deadline`
    /// (returns whether it timed out); instrumented, in slices that take
    /// part in deadlock and stall detection.
    fn around<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> bool {
        self.state.wait(&self.inner, guard, site, deadline)
    }

    /// Releases the mutex behind `guard`, waits for a notification, and takes it back.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.around(guard, Location::caller(), None);
    }

    /// Like [`Condvar::wait`], giving up at `timeout`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(self.around(guard, Location::caller(), Some(timeout)))
    }

    /// Like [`Condvar::wait`], giving up after `timeout`.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = Instant::now().checked_add(timeout);
        WaitTimeoutResult(self.around(guard, Location::caller(), deadline))
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
            self.around(guard, site, None);
        }
    }

    /// Like [`Condvar::wait_while`], giving up at `timeout`.
    #[track_caller]
    pub fn wait_while_until<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        self.wait_while_deadline(guard, condition, Some(timeout), Location::caller())
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
        self.wait_while_deadline(guard, condition, deadline, Location::caller())
    }

    fn wait_while_deadline<T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        while condition(&mut **guard) {
            if self.around(guard, site, deadline) {
                // Timed out: the result says whether the condition still holds.
                return WaitTimeoutResult(condition(&mut **guard));
            }
        }
        WaitTimeoutResult(false)
    }
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

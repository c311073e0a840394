//! `Mutex`: parking_lot's mutex with its acquisitions fed to the detector
//! (and `mutex_type!`, the code `FairMutex` shares).

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{self, RawMutex, SitedMutex, Timeout};

/// Defines a mutex type over lock_api's `Mutex` with raw lock `$raw`: the
/// struct and every method, each acquisition with the caller's site.
/// `Mutex` and `FairMutex` are this same code.
macro_rules! mutex_type {
    ($(#[$doc:meta])* $name:ident, $raw:ident, $guard:ident, $make:path) => {
        $(#[$doc])*
        #[repr(transparent)]
        pub struct $name<T: ?Sized> {
            inner: lock_api::Mutex<$raw, T>,
        }

impl<T> $name<T> {
    /// Creates an unnamed mutex; usable in `static`s. Its creation site is the caller's.
    #[track_caller]
    #[inline]
    pub const fn new(val: T) -> Self {
        $name {
            inner: lock_api::Mutex::from_raw($make(Location::caller(), None), val),
        }
    }

    /// Creates a mutex that reports call `name`; usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn named(name: &'static str, val: T) -> Self {
        $name {
            inner: lock_api::Mutex::from_raw($make(Location::caller(), Some(name)), val),
        }
    }

    /// Creates a mutex with a name built at run time (`format!("account {id}")`).
    /// Each distinct name is kept once for the life of the process.
    #[track_caller]
    pub fn with_name(name: impl AsRef<str>, val: T) -> Self {
        let name = backend::intern(name.as_ref());
        $name {
            inner: lock_api::Mutex::from_raw($make(Location::caller(), name), val),
        }
    }

    /// Consumes the mutex, returning the data.
    #[inline]
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> $name<T> {
    /// Acquires the mutex, blocking until it is available.
    ///
    /// Reports a `self_deadlock` if this thread already holds it, a
    /// `lock_order_cycle` if this acquisition closes a cycle of lock orders,
    /// and a `deadlock` if the thread ends up blocked in a cycle of waits.
    #[track_caller]
    #[inline]
    pub fn lock(&self) -> $guard<'_, T> {
        SitedMutex::lock_at(self.raw_ref(), Location::caller());
        // Safety: the raw lock was just acquired by this thread.
        unsafe { self.inner.make_guard_unchecked() }
    }

    /// Tries to acquire without blocking. A try cannot block, so it adds no order edge.
    #[track_caller]
    #[inline]
    pub fn try_lock(&self) -> Option<$guard<'_, T>> {
        self.try_with(None, Location::caller())
    }

    /// Tries to acquire, waiting at most `timeout`.
    #[track_caller]
    #[inline]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<$guard<'_, T>> {
        self.try_with(Some(Timeout::For(timeout)), Location::caller())
    }

    /// Tries to acquire, waiting until `timeout` at most.
    #[track_caller]
    #[inline]
    pub fn try_lock_until(&self, timeout: Instant) -> Option<$guard<'_, T>> {
        self.try_with(Some(Timeout::Until(timeout)), Location::caller())
    }

    #[inline]
    fn try_with(
        &self,
        timeout: Option<Timeout>,
        site: &'static Location<'static>,
    ) -> Option<$guard<'_, T>> {
        if self.raw_ref().try_at(timeout, site) {
            // Safety: the raw lock was just acquired by this thread.
            Some(unsafe { self.inner.make_guard_unchecked() })
        } else {
            None
        }
    }

    #[inline]
    fn raw_ref(&self) -> &$raw {
        // Safety: the raw lock is only locked and unlocked in pairs through guards.
        unsafe { self.inner.raw() }
    }

    /// Whether the mutex is locked by any thread. A "yes" counts as a failed
    /// attempt towards a `livelock` report (the classic back-off loop polls
    /// `is_locked`).
    #[inline]
    #[track_caller]
    pub fn is_locked(&self) -> bool {
        let locked = self.inner.is_locked();
        if locked {
            self.raw_ref().polled_busy(Location::caller());
        }
        locked
    }

    /// A mutable reference to the data; no locking needed.
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// A raw pointer to the data.
    #[inline]
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Forcibly unlocks the mutex, as if a guard were dropped, on whichever
    /// thread: the thread that acquired it stops holding it.
    ///
    /// # Safety
    /// The mutex must be locked, with its guard forgotten (`mem::forget`).
    #[inline]
    pub unsafe fn force_unlock(&self) {
        // Safety: forwarded contract.
        unsafe { self.inner.force_unlock() }
    }

    /// Like [`Self::force_unlock`], with a fair unlock.
    ///
    /// # Safety
    /// As for [`Self::force_unlock`].
    #[inline]
    pub unsafe fn force_unlock_fair(&self) {
        // Safety: forwarded contract.
        unsafe { self.inner.force_unlock_fair() }
    }

    /// The raw lock.
    ///
    /// # Safety
    /// Locking or unlocking it directly must keep lock_api's invariants.
    #[inline]
    pub unsafe fn raw(&self) -> &$raw {
        // Safety: forwarded contract.
        unsafe { self.inner.raw() }
    }

    /// Makes a guard without locking.
    ///
    /// # Safety
    /// The current thread must hold the lock.
    #[inline]
    pub unsafe fn make_guard_unchecked(&self) -> $guard<'_, T> {
        // Safety: forwarded contract.
        unsafe { self.inner.make_guard_unchecked() }
    }

    fn as_lock_api(this: &Arc<Self>) -> Arc<lock_api::Mutex<$raw, T>> {
        let ptr = Arc::into_raw(Arc::clone(this)) as *const lock_api::Mutex<$raw, T>;
        // Safety: `Mutex<T>` is `repr(transparent)` over `lock_api::Mutex<$raw, T>`,
        // so the pointer and the Arc allocation are the same for both types.
        unsafe { Arc::from_raw(ptr) }
    }

    /// Acquires the mutex through an `Arc`, returning a guard that owns the `Arc`.
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> lock_api::ArcMutexGuard<$raw, T> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.lock_arc())
    }

    /// Tries to acquire through an `Arc` without blocking.
    #[track_caller]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<lock_api::ArcMutexGuard<$raw, T>> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.try_lock_arc())
    }

    /// Tries to acquire through an `Arc`, waiting at most `timeout`.
    #[track_caller]
    pub fn try_lock_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<lock_api::ArcMutexGuard<$raw, T>> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.try_lock_arc_for(timeout))
    }

    /// Tries to acquire through an `Arc`, waiting until `timeout` at most.
    #[track_caller]
    pub fn try_lock_arc_until(
        self: &Arc<Self>,
        timeout: Instant,
    ) -> Option<lock_api::ArcMutexGuard<$raw, T>> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.try_lock_arc_until(timeout))
    }
}

impl<T: Default> Default for $name<T> {
    #[track_caller]
    fn default() -> Self {
        $name::new(T::default())
    }
}

impl<T> From<T> for $name<T> {
    #[track_caller]
    fn from(val: T) -> Self {
        $name::new(val)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for $name<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Through lock_api's try_lock: Debug must never block or report.
        fmt::Debug::fmt(&self.inner, f)
    }
}
    };
}
pub(crate) use mutex_type;

/// The guard of a [`Mutex`]: lock_api's guard, so `map`, `try_map`,
/// `unlocked` and friends work as with parking_lot.
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A guard mapped to part of the protected data.
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

mutex_type!(
    /// A mutual-exclusion lock with the API of `parking_lot::Mutex`.
    ///
    /// Every blocking `lock` feeds the lock-order graph with the locks the
    /// thread already holds; re-locking a mutex the thread holds is reported as
    /// a `self_deadlock` instead of hanging. Give it a name with
    /// [`Mutex::named`] so reports read like the program.
    ///
    /// ```
    /// use lockgraph::Mutex;
    ///
    /// let accounts = Mutex::named("accounts", vec![100, 200]);
    /// accounts.lock()[0] += 1;
    /// assert_eq!(accounts.into_inner(), vec![101, 200]);
    /// ```
    Mutex,
    RawMutex,
    MutexGuard,
    new_raw
);

/// A non-reentrant instrumented raw mutex.
const fn new_raw(site: &'static Location<'static>, name: Option<&'static str>) -> RawMutex {
    backend::raw_mutex(site, name, false)
}

/// Creates a mutex in a `const` context, as `parking_lot::const_mutex`
/// does: the same as [`Mutex::new`], which is `const` too.
#[track_caller]
#[inline]
pub const fn const_mutex<T>(val: T) -> Mutex<T> {
    Mutex::new(val)
}

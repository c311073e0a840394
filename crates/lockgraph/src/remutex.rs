//! `ReentrantMutex`: a mutex its owner may lock again, instrumented.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use parking_lot::RawThreadId;

use crate::backend::{self, RawMutex};

/// A mutex the owning thread may lock again, with the API of
/// `parking_lot::ReentrantMutex`. Re-entry is never reported; only the first
/// acquisition by a thread joins the lock-order graph.
///
/// ```
/// use lockgraph::ReentrantMutex;
///
/// let m = ReentrantMutex::named("log", ());
/// let outer = m.lock();
/// let inner = m.lock(); // the owner may lock again
/// drop((inner, outer));
/// ```
#[repr(transparent)]
pub struct ReentrantMutex<T: ?Sized> {
    inner: lock_api::ReentrantMutex<RawMutex, RawThreadId, T>,
}

/// The guard of a [`ReentrantMutex`].
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A reentrant guard mapped to part of the data.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// Creates a reentrant mutex in a `const` context, as
/// `parking_lot::const_reentrant_mutex` does: the same as
/// [`ReentrantMutex::new`], which is `const` too.
#[track_caller]
#[inline]
pub const fn const_reentrant_mutex<T>(val: T) -> ReentrantMutex<T> {
    ReentrantMutex::new(val)
}

impl<T> ReentrantMutex<T> {
    /// Creates an unnamed reentrant mutex; usable in `static`s.
    #[track_caller]
    pub const fn new(val: T) -> Self {
        ReentrantMutex {
            inner: lock_api::ReentrantMutex::from_raw(
                backend::raw_mutex(Location::caller(), None, true),
                <RawThreadId as lock_api::GetThreadId>::INIT,
                val,
            ),
        }
    }

    /// Creates a reentrant mutex that reports call `name`; usable in `static`s.
    #[track_caller]
    pub const fn named(name: &'static str, val: T) -> Self {
        ReentrantMutex {
            inner: lock_api::ReentrantMutex::from_raw(
                backend::raw_mutex(Location::caller(), Some(name), true),
                <RawThreadId as lock_api::GetThreadId>::INIT,
                val,
            ),
        }
    }

    /// Creates a reentrant mutex with a name built at run time.
    #[track_caller]
    pub fn with_name(name: impl AsRef<str>, val: T) -> Self {
        ReentrantMutex {
            inner: lock_api::ReentrantMutex::from_raw(
                backend::raw_mutex(Location::caller(), backend::intern(name.as_ref()), true),
                <RawThreadId as lock_api::GetThreadId>::INIT,
                val,
            ),
        }
    }

    /// Consumes the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Acquires the mutex, blocking unless this thread already owns it.
    #[track_caller]
    #[inline]
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        backend::with_site(Location::caller(), || self.inner.lock())
    }

    /// Tries to acquire without blocking.
    #[track_caller]
    #[inline]
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        backend::with_site(Location::caller(), || self.inner.try_lock())
    }

    /// Tries to acquire, waiting at most `timeout`.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        backend::with_site(Location::caller(), || self.inner.try_lock_for(timeout))
    }

    /// Tries to acquire, waiting until `timeout` at most.
    #[track_caller]
    pub fn try_lock_until(&self, timeout: Instant) -> Option<ReentrantMutexGuard<'_, T>> {
        backend::with_site(Location::caller(), || self.inner.try_lock_until(timeout))
    }

    /// Whether any thread holds the mutex.
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Whether the current thread holds the mutex.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.inner.is_owned_by_current_thread()
    }

    /// A mutable reference to the data; no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// A raw pointer to the data.
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Forcibly unlocks one level of a forgotten guard.
    ///
    /// # Safety
    /// The current thread must hold the mutex with a forgotten guard.
    pub unsafe fn force_unlock(&self) {
        // Safety: forwarded contract.
        unsafe { self.inner.force_unlock() }
    }
}

impl<T: Default> Default for ReentrantMutex<T> {
    #[track_caller]
    fn default() -> Self {
        ReentrantMutex::new(T::default())
    }
}

impl<T> From<T> for ReentrantMutex<T> {
    #[track_caller]
    fn from(val: T) -> Self {
        ReentrantMutex::new(val)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

//! `RwLock`: parking_lot's reader-writer lock with its acquisitions fed to the detector.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{self, Access, RawRwLock, Timeout};

/// A reader-writer lock with the API of `parking_lot::RwLock`.
///
/// Reads and writes feed the lock-order graph with their modes: two threads
/// taking read locks in opposite orders are silent while nobody writes those
/// locks (reads never wait for reads), and reported once writers could queue
/// between them. Asking for `write` (or a plain `read`) while holding a read
/// lock on the same `RwLock` is a `self_deadlock`; use `read_recursive` or
/// `upgradable_read` instead.
///
/// ```
/// use lockgraph::{RwLock, RwLockUpgradableReadGuard};
///
/// let config = RwLock::named("config", 1);
/// let r = config.upgradable_read();
/// if *r == 1 {
///     let mut w = RwLockUpgradableReadGuard::upgrade(r);
///     *w = 2;
/// }
/// assert_eq!(*config.read(), 2);
/// ```
#[repr(transparent)]
pub struct RwLock<T: ?Sized> {
    inner: lock_api::RwLock<RawRwLock, T>,
}

/// A read guard.
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;
/// A write guard.
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;
/// An upgradable read guard.
pub type RwLockUpgradableReadGuard<'a, T> = lock_api::RwLockUpgradableReadGuard<'a, RawRwLock, T>;
/// A read guard mapped to part of the data.
pub type MappedRwLockReadGuard<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock, T>;
/// A write guard mapped to part of the data.
pub type MappedRwLockWriteGuard<'a, T> = lock_api::MappedRwLockWriteGuard<'a, RawRwLock, T>;

/// Creates a reader-writer lock in a `const` context, as
/// `parking_lot::const_rwlock` does: the same as [`RwLock::new`], which is
/// `const` too.
#[track_caller]
#[inline]
pub const fn const_rwlock<T>(val: T) -> RwLock<T> {
    RwLock::new(val)
}

impl<T> RwLock<T> {
    /// Creates an unnamed lock; usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn new(val: T) -> Self {
        RwLock {
            inner: lock_api::RwLock::from_raw(backend::raw_rwlock(Location::caller(), None), val),
        }
    }

    /// Creates a lock that reports call `name`; usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn named(name: &'static str, val: T) -> Self {
        RwLock {
            inner: lock_api::RwLock::from_raw(
                backend::raw_rwlock(Location::caller(), Some(name)),
                val,
            ),
        }
    }

    /// Creates a lock with a name built at run time.
    #[track_caller]
    pub fn with_name(name: impl AsRef<str>, val: T) -> Self {
        let name = backend::intern(name.as_ref());
        RwLock {
            inner: lock_api::RwLock::from_raw(backend::raw_rwlock(Location::caller(), name), val),
        }
    }

    /// Consumes the lock, returning the data.
    #[inline]
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

macro_rules! blocking {
    ($(#[$doc:meta])* $name:ident, $access:expr, $guard:ident, $make:ident) => {
        $(#[$doc])*
        #[track_caller]
        #[inline]
        pub fn $name(&self) -> $guard<'_, T> {
            backend::rw_lock(self.raw_ref(), $access, Location::caller());
            // Safety: the raw lock was just acquired by this thread in this mode.
            unsafe { self.inner.$make() }
        }
    };
}

macro_rules! trying {
    ($(#[$doc:meta])* $name:ident, $access:expr, $guard:ident, $make:ident) => {
        $(#[$doc])*
        #[track_caller]
        #[inline]
        pub fn $name(&self) -> Option<$guard<'_, T>> {
            self.try_with($access, None, Location::caller())
                // Safety: the raw lock was just acquired by this thread in this mode.
                .then(|| unsafe { self.inner.$make() })
        }
    };
    ($(#[$doc:meta])* $name:ident, $access:expr, $guard:ident, $make:ident, $arg:ident: $ty:ty, $wrap:ident) => {
        $(#[$doc])*
        #[track_caller]
        #[inline]
        pub fn $name(&self, $arg: $ty) -> Option<$guard<'_, T>> {
            self.try_with($access, Some(Timeout::$wrap($arg)), Location::caller())
                // Safety: the raw lock was just acquired by this thread in this mode.
                .then(|| unsafe { self.inner.$make() })
        }
    };
}

impl<T: ?Sized> RwLock<T> {
    #[inline]
    fn raw_ref(&self) -> &RawRwLock {
        // Safety: the raw lock is only locked and unlocked in pairs through guards.
        unsafe { self.inner.raw() }
    }

    #[inline]
    fn try_with(
        &self,
        access: Access,
        timeout: Option<Timeout>,
        site: &'static Location<'static>,
    ) -> bool {
        backend::rw_try(self.raw_ref(), access, timeout, site)
    }

    blocking!(
        /// Acquires a shared read lock, blocking while a writer holds or waits for it.
        read, Access::Read, RwLockReadGuard, make_read_guard_unchecked);
    blocking!(
        /// Acquires a shared read lock that does not wait behind waiting writers,
        /// so a thread may take it again while it holds a read lock.
        read_recursive, Access::ReadRecursive, RwLockReadGuard, make_read_guard_unchecked);
    blocking!(
        /// Acquires the exclusive write lock.
        write, Access::Write, RwLockWriteGuard, make_write_guard_unchecked);
    blocking!(
        /// Acquires an upgradable read lock: shared with readers, exclusive among upgraders.
        upgradable_read, Access::Upgradable, RwLockUpgradableReadGuard, make_upgradable_guard_unchecked);

    trying!(
        /// Tries to read-lock without blocking.
        try_read, Access::Read, RwLockReadGuard, make_read_guard_unchecked);
    trying!(
        /// Tries to read-lock, waiting at most `timeout`.
        try_read_for, Access::Read, RwLockReadGuard, make_read_guard_unchecked, timeout: Duration, For);
    trying!(
        /// Tries to read-lock, waiting until `timeout` at most.
        try_read_until, Access::Read, RwLockReadGuard, make_read_guard_unchecked, timeout: Instant, Until);
    trying!(
        /// Tries to read-lock recursively without blocking.
        try_read_recursive, Access::ReadRecursive, RwLockReadGuard, make_read_guard_unchecked);
    trying!(
        /// Tries to read-lock recursively, waiting at most `timeout`.
        try_read_recursive_for, Access::ReadRecursive, RwLockReadGuard, make_read_guard_unchecked, timeout: Duration, For);
    trying!(
        /// Tries to read-lock recursively, waiting until `timeout` at most.
        try_read_recursive_until, Access::ReadRecursive, RwLockReadGuard, make_read_guard_unchecked, timeout: Instant, Until);
    trying!(
        /// Tries to write-lock without blocking.
        try_write, Access::Write, RwLockWriteGuard, make_write_guard_unchecked);
    trying!(
        /// Tries to write-lock, waiting at most `timeout`.
        try_write_for, Access::Write, RwLockWriteGuard, make_write_guard_unchecked, timeout: Duration, For);
    trying!(
        /// Tries to write-lock, waiting until `timeout` at most.
        try_write_until, Access::Write, RwLockWriteGuard, make_write_guard_unchecked, timeout: Instant, Until);
    trying!(
        /// Tries to take an upgradable read lock without blocking.
        try_upgradable_read, Access::Upgradable, RwLockUpgradableReadGuard, make_upgradable_guard_unchecked);
    trying!(
        /// Tries to take an upgradable read lock, waiting at most `timeout`.
        try_upgradable_read_for, Access::Upgradable, RwLockUpgradableReadGuard, make_upgradable_guard_unchecked, timeout: Duration, For);
    trying!(
        /// Tries to take an upgradable read lock, waiting until `timeout` at most.
        try_upgradable_read_until, Access::Upgradable, RwLockUpgradableReadGuard, make_upgradable_guard_unchecked, timeout: Instant, Until);

    /// Whether any thread holds the lock in any mode.
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Whether a thread holds the lock for writing.
    #[inline]
    pub fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
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

    /// The raw lock.
    ///
    /// # Safety
    /// Locking or unlocking it directly must keep lock_api's invariants.
    #[inline]
    pub unsafe fn raw(&self) -> &RawRwLock {
        // Safety: forwarded contract.
        unsafe { self.inner.raw() }
    }

    /// Forcibly releases a read lock whose guard was forgotten.
    ///
    /// # Safety
    /// A read lock must be held with its guard forgotten.
    #[inline]
    pub unsafe fn force_unlock_read(&self) {
        // Safety: forwarded contract.
        unsafe { self.inner.force_unlock_read() }
    }

    /// Forcibly releases the write lock whose guard was forgotten.
    ///
    /// # Safety
    /// The write lock must be held with its guard forgotten.
    #[inline]
    pub unsafe fn force_unlock_write(&self) {
        // Safety: forwarded contract.
        unsafe { self.inner.force_unlock_write() }
    }

    fn as_lock_api(this: &Arc<Self>) -> Arc<lock_api::RwLock<RawRwLock, T>> {
        let ptr = Arc::into_raw(Arc::clone(this)) as *const lock_api::RwLock<RawRwLock, T>;
        // Safety: `RwLock<T>` is `repr(transparent)` over `lock_api::RwLock<RawRwLock, T>`.
        unsafe { Arc::from_raw(ptr) }
    }

    /// Read-locks through an `Arc`, returning a guard that owns the `Arc`.
    #[track_caller]
    pub fn read_arc(self: &Arc<Self>) -> lock_api::ArcRwLockReadGuard<RawRwLock, T> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.read_arc())
    }

    /// Write-locks through an `Arc`, returning a guard that owns the `Arc`.
    #[track_caller]
    pub fn write_arc(self: &Arc<Self>) -> lock_api::ArcRwLockWriteGuard<RawRwLock, T> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.write_arc())
    }

    /// Takes an upgradable read lock through an `Arc`.
    #[track_caller]
    pub fn upgradable_read_arc(
        self: &Arc<Self>,
    ) -> lock_api::ArcRwLockUpgradableReadGuard<RawRwLock, T> {
        let inner = Self::as_lock_api(self);
        backend::with_site(Location::caller(), || inner.upgradable_read_arc())
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(val: T) -> Self {
        RwLock::new(val)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

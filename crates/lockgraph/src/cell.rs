//! `UnsafeCell` with loom's API, whose every access is checked for data races.
//!
//! Code that already has `cfg(loom)` shims ports over: `with` and `with_mut`
//! take closures over raw pointers, `get` and `get_mut` return tracked
//! pointers. A read is checked against writes, a write against every
//! access, by happens-before over lockgraph's primitives and atomics; a
//! race is a `data_race` report naming both accesses. Access through
//! `&mut self` is exclusive and never a race.
//!
//! Without the `instrument` feature this is a plain `std::cell::UnsafeCell`.

use std::panic::Location;

use crate::backend::{Place, Tracking};

/// An `UnsafeCell` whose accesses lockgraph checks (loom's API).
#[derive(Debug)]
pub struct UnsafeCell<T: ?Sized> {
    t: Tracking,
    data: std::cell::UnsafeCell<T>,
}

// Safety: as std's `UnsafeCell` inside a type the user makes `Sync`; the
// tracking state is itself `Sync`. Whether sharing is sound is the user's
// promise, exactly as with std's cell (this is what the checks verify).
unsafe impl<T: ?Sized + Send> Send for UnsafeCell<T> {}

impl<T> UnsafeCell<T> {
    /// A cell holding `data` (construction is not a write); usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn new(data: T) -> Self {
        UnsafeCell {
            t: Tracking::new(Location::caller(), None, Place::Cell),
            data: std::cell::UnsafeCell::new(data),
        }
    }

    /// A cell that reports call `name` (not in loom's API); usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn named(name: &'static str, data: T) -> Self {
        UnsafeCell {
            t: Tracking::new(Location::caller(), Some(name), Place::Cell),
            data: std::cell::UnsafeCell::new(data),
        }
    }

    /// The value, consuming the cell.
    #[inline]
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Reads through a `*const T` given to `f`: checked as a read at the caller.
    #[track_caller]
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.t.read(Location::caller());
        f(self.data.get())
    }

    /// Writes through a `*mut T` given to `f`: checked as a write at the caller.
    #[track_caller]
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.t.write(Location::caller());
        f(self.data.get())
    }

    /// A tracked `*const T`: the read is checked now, at the caller.
    #[track_caller]
    #[inline]
    pub fn get(&self) -> ConstPtr<T> {
        self.t.read(Location::caller());
        ConstPtr {
            ptr: self.data.get(),
        }
    }

    /// A tracked `*mut T`: the write is checked now, at the caller.
    #[track_caller]
    #[inline]
    pub fn get_mut(&self) -> MutPtr<T> {
        self.t.write(Location::caller());
        MutPtr {
            ptr: self.data.get(),
        }
    }

    /// The value through `&mut self`: exclusive, never a race.
    #[inline]
    pub fn get_mut_exclusive(&mut self) -> &mut T {
        self.t.exclusive();
        self.data.get_mut()
    }
}

impl<T: Default> Default for UnsafeCell<T> {
    #[track_caller]
    fn default() -> Self {
        UnsafeCell::new(T::default())
    }
}

impl<T> From<T> for UnsafeCell<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        UnsafeCell::new(v)
    }
}

/// A `*const T` from [`UnsafeCell::get`], as loom's.
#[derive(Debug)]
pub struct ConstPtr<T: ?Sized> {
    ptr: *const T,
}

impl<T: ?Sized> ConstPtr<T> {
    /// Dereferences the pointer.
    ///
    /// # Safety
    ///
    /// As for `&*ptr`: no write to the value while the reference lives.
    #[inline]
    pub unsafe fn deref(&self) -> &T {
        // Safety: the caller's promise.
        unsafe { &*self.ptr }
    }

    /// Calls `f` with the raw pointer.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.ptr)
    }
}

/// A `*mut T` from [`UnsafeCell::get_mut`], as loom's.
#[derive(Debug)]
pub struct MutPtr<T: ?Sized> {
    ptr: *mut T,
}

impl<T: ?Sized> MutPtr<T> {
    /// Dereferences the pointer mutably.
    ///
    /// # Safety
    ///
    /// As for `&mut *ptr`: no other access to the value while the reference lives.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn deref(&self) -> &mut T {
        // Safety: the caller's promise.
        unsafe { &mut *self.ptr }
    }

    /// Calls `f` with the raw pointer.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.ptr)
    }
}

//! `Tracked<T>`: a shared variable whose racy use is reported and is never undefined behaviour.
//!
//! For code ported from Go, Python or Java, where a plain shared variable
//! is read and written from several threads: `load` and `store` are each
//! atomic (a lock no detector sees keeps them sound), and every access is
//! checked by happens-before over lockgraph's primitives as if it were a
//! plain memory access: unordered accesses are a `data_race`; a load then
//! a store by one thread with another thread's store in between, each
//! ordered by a lock, is an `atomicity_violation` (check and act in two
//! critical sections).

use std::panic::Location;

use crate::backend::{Place, Tracking};

/// A shared variable whose accesses lockgraph checks for races.
#[derive(Debug)]
pub struct Tracked<T: Copy> {
    t: Tracking,
    value: parking_lot::Mutex<T>,
}

impl<T: Copy> Tracked<T> {
    /// A variable holding `v` (construction is not a write); usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn new(v: T) -> Self {
        Tracked {
            t: Tracking::new(Location::caller(), None, Place::Tracked),
            value: parking_lot::const_mutex(v),
        }
    }

    /// A variable that reports call `name`; usable in `static`s.
    #[track_caller]
    #[inline]
    pub const fn named(name: &'static str, v: T) -> Self {
        Tracked {
            t: Tracking::new(Location::caller(), Some(name), Place::Tracked),
            value: parking_lot::const_mutex(v),
        }
    }

    /// Reads the value: checked as a read at the caller.
    #[track_caller]
    #[inline]
    pub fn load(&self) -> T {
        self.t.read(Location::caller());
        *self.value.lock()
    }

    /// Writes the value: checked as a write at the caller.
    #[track_caller]
    #[inline]
    pub fn store(&self, v: T) {
        self.t.write(Location::caller());
        *self.value.lock() = v;
    }

    /// The value through `&mut self`: exclusive, never a race.
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.t.exclusive();
        self.value.get_mut()
    }

    /// The value, consuming the variable.
    #[inline]
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: Copy + Default> Default for Tracked<T> {
    #[track_caller]
    fn default() -> Self {
        Tracked::new(T::default())
    }
}

impl<T: Copy> From<T> for Tracked<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Tracked::new(v)
    }
}

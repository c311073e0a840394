//! `OnceLock` and `LazyLock` that carry happens-before: whoever sees the value sees what its initializer did.
//!
//! Same API as std's (the parts of it this crate's MSRV has). The value is
//! stored with its initializer's clock, taken when the initializer returned,
//! and every `get` that finds it takes that clock in, so reading what the
//! initializing closure wrote through tracked locations is never a race.

use std::fmt;
use std::panic::Location;

use crate::backend::Clock;

/// A cell written once, as [`std::sync::OnceLock`].
pub struct OnceLock<T> {
    inner: std::sync::OnceLock<(T, Clock)>,
}

impl<T> OnceLock<T> {
    /// An empty cell; usable in `static`s.
    pub const fn new() -> Self {
        OnceLock {
            inner: std::sync::OnceLock::new(),
        }
    }

    /// The value, if set; what its initializer did is ordered before now.
    #[track_caller]
    pub fn get(&self) -> Option<&T> {
        let site = Location::caller();
        self.inner.get().map(|(v, c)| {
            c.take_in(site);
            v
        })
    }

    /// The value through `&mut self`.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut().map(|(v, _)| v)
    }

    /// Sets the value if empty; `Err(value)` if it was set already.
    #[track_caller]
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("taken once"));
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// The value, initialized by `f` if empty (by one thread, as std's).
    #[track_caller]
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        let site = Location::caller();
        let (v, c) = self.inner.get_or_init(|| {
            let v = f();
            (v, Clock::now())
        });
        c.take_in(site);
        v
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner().map(|(v, _)| v)
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.inner.take().map(|(v, _)| v)
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.inner.get() {
            Some((v, _)) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(v: T) -> Self {
        let cell = OnceLock::new();
        let _ = cell.inner.set((v, Clock::now()));
        cell
    }
}

/// A value initialized on first access, as [`std::sync::LazyLock`].
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    init: parking_lot::Mutex<Option<F>>,
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A lazy value that `f` computes on first access; usable in `static`s.
    pub const fn new(f: F) -> Self {
        LazyLock {
            cell: OnceLock::new(),
            init: parking_lot::const_mutex(Some(f)),
        }
    }

    /// The value, computing it if this is the first access.
    #[track_caller]
    pub fn force(this: &LazyLock<T, F>) -> &T {
        this.cell.get_or_init(|| match this.init.lock().take() {
            Some(f) => f(),
            None => panic!("LazyLock instance has previously been poisoned"),
        })
    }
}

impl<T, F: FnOnce() -> T> std::ops::Deref for LazyLock<T, F> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyLock").field(&self.cell).finish()
    }
}

//! `Semaphore`: a counting semaphore with RAII permits, and its bounded variant.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use super::core::{Core, Done, Kind, Loc, Signal, Waker};
use crate::backend;

/// A counting semaphore: at most `permits` holders at once.
///
/// [`Semaphore::acquire`] blocks until a permit is free and returns a
/// [`SemaphorePermit`] that gives it back when dropped. A permit can also be
/// kept past its scope with [`SemaphorePermit::forget`] and given back later
/// with [`Semaphore::release`], the style of Python's `threading.Semaphore`.
///
/// A thread waiting for a permit takes part in deadlock detection: if every
/// thread that could release one is itself blocked, it is a `deadlock`
/// report instead of a hang.
///
/// ```
/// use lockgraph::Semaphore;
///
/// let pool = Semaphore::named("pool", 2);
/// let a = pool.acquire();
/// let _b = pool.acquire();
/// assert!(pool.try_acquire().is_none());
/// drop(a);
/// assert!(pool.try_acquire().is_some());
/// ```
pub struct Semaphore {
    core: Core<usize>,
    max: Option<usize>,
}

/// Returned by [`Semaphore::release`] on a bounded semaphore that already
/// has all its permits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverRelease {
    /// The semaphore's capacity.
    pub max: usize,
}

impl fmt::Display for OverRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "semaphore released more times than acquired: it already has all {} permits",
            self.max
        )
    }
}

impl std::error::Error for OverRelease {}

impl Semaphore {
    /// A semaphore with `permits` free permits. [`Semaphore::release`] may
    /// raise the count above that.
    #[track_caller]
    pub const fn new(permits: usize) -> Self {
        Semaphore {
            core: Core::new(permits, Kind::Semaphore, None, Location::caller()),
            max: None,
        }
    }

    /// A named semaphore; reports use the name.
    #[track_caller]
    pub const fn named(name: &'static str, permits: usize) -> Self {
        Semaphore {
            core: Core::new(permits, Kind::Semaphore, Some(name), Location::caller()),
            max: None,
        }
    }

    /// A bounded semaphore: `permits` is also the most it can ever have, and
    /// a release beyond it is an [`OverRelease`] error, not a silent increase.
    #[track_caller]
    pub const fn bounded(permits: usize) -> Self {
        Semaphore {
            core: Core::new(permits, Kind::Semaphore, None, Location::caller()),
            max: Some(permits),
        }
    }

    /// The same semaphore under a name.
    pub fn with_name(mut self, name: &'static str) -> Self {
        self.core.rename(name);
        self
    }

    /// Takes a permit, waiting as long as it takes.
    #[track_caller]
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        let site = Location::caller();
        self.take(site, None)
            .unwrap_or_else(|| unreachable!("an untimed wait does not time out"))
    }

    /// Takes a permit if one is free right now.
    #[track_caller]
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let site = Location::caller();
        let mut s = self.core.state.lock();
        if *s == 0 {
            return None;
        }
        *s -= 1;
        drop(s);
        Some(self.permit(site))
    }

    /// Takes a permit, waiting at most `timeout`.
    #[track_caller]
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        let site = Location::caller();
        // A timeout too long to represent is no timeout.
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.take(site, Some(deadline)),
            None => self.take(site, None),
        }
    }

    fn take(&self, site: Loc, deadline: Option<Instant>) -> Option<SemaphorePermit<'_>> {
        let mut s = self.core.state.lock();
        self.core.wait(&mut s, site, deadline, Waker::Anyone, |n| {
            (*n > 0).then_some(Done::Ok)
        })?;
        *s -= 1;
        drop(s);
        Some(self.permit(site))
    }

    fn permit(&self, site: Loc) -> SemaphorePermit<'_> {
        backend::took_permit(&self.core.meta, site);
        SemaphorePermit { sem: self, site }
    }

    /// Gives a permit back: one kept with [`SemaphorePermit::forget`], or a
    /// new one (an unbounded semaphore grows). On a bounded semaphore that
    /// already has all its permits, nothing changes and the call is an error.
    #[track_caller]
    pub fn release(&self) -> Result<(), OverRelease> {
        self.give(Location::caller())
    }

    fn give(&self, site: Loc) -> Result<(), OverRelease> {
        let mut s = self.core.state.lock();
        if let Some(max) = self.max {
            if *s >= max {
                return Err(OverRelease { max });
            }
        }
        // Before the permit is there to take: a taker that ends at once
        // must already see that its permit was given back for it.
        backend::gave_permit(&self.core.meta, site);
        *s += 1;
        let woken = self.core.wake_one();
        drop(s);
        self.core.signal(Signal::Release, u64::from(woken), site);
        Ok(())
    }

    /// How many permits are free right now.
    pub fn available(&self) -> usize {
        *self.core.state.lock()
    }

    /// The capacity of a bounded semaphore.
    pub fn max(&self) -> Option<usize> {
        self.max
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .field("max", &self.max)
            .finish()
    }
}

/// A permit of a [`Semaphore`], given back when dropped.
#[must_use = "the permit is given back at once if not kept"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    site: Loc,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken without a guard; [`Semaphore::release`] gives it back.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        // A permit's own release never exceeds a bounded semaphore's capacity.
        let _ = self.sem.give(self.site);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SemaphorePermit { .. }")
    }
}

//! `FairMutex`: parking_lot's always-fair mutex, instrumented exactly like `Mutex`.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{self, RawFairMutex, SitedMutex, Timeout};
use crate::mutex::mutex_type;

/// The guard of a [`FairMutex`]: lock_api's guard, so `map`, `try_map`,
/// `unlocked`, `unlock_fair` and `bump` work as with parking_lot.
pub type FairMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawFairMutex, T>;
/// A fair mutex guard mapped to part of the protected data.
pub type MappedFairMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawFairMutex, T>;

mutex_type!(
    /// A mutual-exclusion lock that is always fair, with the API of
    /// `parking_lot::FairMutex`: waiters get the lock in the order they
    /// asked for it.
    ///
    /// To the detector it is a [`Mutex`](crate::Mutex) in every way (the
    /// same hooks, sites, lock-order edges and self-deadlock checks), and
    /// reports call it a mutex: fairness decides who gets the lock next,
    /// not whether a cycle of waits can form.
    ///
    /// ```
    /// use lockgraph::{FairMutex, FairMutexGuard};
    ///
    /// let queue = FairMutex::named("queue", vec![1]);
    /// let mut g = queue.lock();
    /// g.push(2);
    /// FairMutexGuard::bump(&mut g); // lets a waiter in, then takes it back
    /// FairMutexGuard::unlock_fair(g);
    /// assert_eq!(queue.into_inner(), vec![1, 2]);
    /// ```
    FairMutex,
    RawFairMutex,
    FairMutexGuard,
    backend::raw_fair_mutex
);

/// Creates a fair mutex in a `const` context, as
/// `parking_lot::const_fair_mutex` does: the same as [`FairMutex::new`],
/// which is `const` too.
#[track_caller]
#[inline]
pub const fn const_fair_mutex<T>(val: T) -> FairMutex<T> {
    FairMutex::new(val)
}

//! The one switch between instrumented and plain builds (the `instrument` feature).
//!
//! The public wrappers are written once against this module. Instrumented,
//! the raw locks are lockgraph's own; plain, they are parking_lot's and every
//! hook compiles to nothing, so the guards are parking_lot's own types.

use std::panic::Location;
use std::time::{Duration, Instant};

pub(crate) type Loc = &'static Location<'static>;

/// How an rwlock is requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    ReadRecursive,
    Upgradable,
    Write,
}

/// A timeout for a timed acquisition.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timeout {
    For(Duration),
    Until(Instant),
}

/// A raw mutex the wrappers lock with the caller's site: `RawMutex` and
/// `RawFairMutex`, lockgraph's or (plain) parking_lot's.
pub(crate) trait SitedMutex {
    /// Acquires, blocking.
    fn lock_at(&self, site: Loc);
    /// Tries to acquire without blocking (`None`), or within a timeout.
    fn try_at(&self, timeout: Option<Timeout>, site: Loc) -> bool;
    /// `is_locked()` answered "yes" at `site`: a failed attempt, towards a `livelock`.
    fn polled_busy(&self, site: Loc);
}

#[cfg(feature = "instrument")]
mod imp {
    /// An event's missed-notification mark: detect's rule.
    pub(crate) type SetMark = lockgraph_detect::state::SetMark<super::Loc>;

    use super::{Access, Loc, SitedMutex, Timeout};
    use lockgraph_detect::{Mode, ObjectKind};

    pub use crate::raw::{RawFairMutex, RawMutex, RawRwLock};

    pub(crate) use crate::raw::with_site;

    pub(crate) const fn raw_mutex(
        site: Loc,
        name: Option<&'static str>,
        reentrant: bool,
    ) -> RawMutex {
        RawMutex::new(
            site,
            name,
            if reentrant {
                ObjectKind::ReentrantMutex
            } else {
                ObjectKind::Mutex
            },
        )
    }

    pub(crate) const fn raw_fair_mutex(site: Loc, name: Option<&'static str>) -> RawFairMutex {
        RawFairMutex::new(site, name)
    }

    pub(crate) const fn raw_rwlock(site: Loc, name: Option<&'static str>) -> RawRwLock {
        RawRwLock::new(site, name)
    }

    pub(crate) fn intern(name: &str) -> Option<&'static str> {
        Some(crate::rt::meta::intern(name))
    }

    fn mode(a: Access) -> Mode {
        match a {
            Access::Read => Mode::Shared,
            Access::ReadRecursive => Mode::SharedRecursive,
            Access::Upgradable => Mode::Upgradable,
            Access::Write => Mode::Exclusive,
        }
    }

    macro_rules! sited {
        ($raw:ty) => {
            impl SitedMutex for $raw {
                #[inline]
                fn lock_at(&self, site: Loc) {
                    <$raw>::lock_at(self, site)
                }

                #[inline]
                fn try_at(&self, timeout: Option<Timeout>, site: Loc) -> bool {
                    match timeout {
                        None => self.try_lock_at(site),
                        Some(Timeout::For(d)) => self.try_lock_for_at(d, site),
                        Some(Timeout::Until(t)) => self.try_lock_until_at(t, site),
                    }
                }

                fn polled_busy(&self, site: Loc) {
                    crate::rt::hooks::try_failed(self.meta(), Mode::Exclusive, site);
                }
            }
        };
    }
    sited!(RawMutex);
    sited!(RawFairMutex);

    #[inline]
    pub(crate) fn rw_lock(raw: &RawRwLock, a: Access, site: Loc) {
        raw.lock_at(mode(a), site)
    }

    #[inline]
    pub(crate) fn rw_try(raw: &RawRwLock, a: Access, timeout: Option<Timeout>, site: Loc) -> bool {
        let t = timeout.map(|t| match t {
            Timeout::For(d) => crate::raw::Timeout::For(d),
            Timeout::Until(i) => crate::raw::Timeout::Until(i),
        });
        raw.try_lock_at(mode(a), t, site)
    }
}

#[cfg(not(feature = "instrument"))]
mod imp {
    /// The plain twin of detect's `SetMark`: zero-sized, every method a no-op.
    #[derive(Clone, Copy, Debug, Default)]
    pub(crate) struct SetMark;

    impl SetMark {
        pub(crate) const fn new() -> Self {
            SetMark
        }
        #[inline(always)]
        pub(crate) fn set(&mut self, _: Loc, _: u64, _: bool) {}
        #[inline(always)]
        pub(crate) fn saw(&mut self) {}
        #[inline(always)]
        pub(crate) fn cleared(&mut self) {}
        #[inline(always)]
        pub(crate) fn mark_for(&self, _: u64) -> Option<(Loc, u64)> {
            None
        }
    }

    use super::{Access, Loc, SitedMutex, Timeout};
    use lock_api::{
        RawMutex as _, RawMutexTimed as _, RawRwLock as _, RawRwLockRecursive as _,
        RawRwLockRecursiveTimed as _, RawRwLockTimed as _, RawRwLockUpgrade as _,
        RawRwLockUpgradeTimed as _,
    };

    pub use parking_lot::{RawFairMutex, RawMutex, RawRwLock};

    #[inline(always)]
    pub(crate) fn with_site<R>(_site: Loc, f: impl FnOnce() -> R) -> R {
        f()
    }

    pub(crate) const fn raw_mutex(_: Loc, _: Option<&'static str>, _: bool) -> RawMutex {
        <RawMutex as lock_api::RawMutex>::INIT
    }

    pub(crate) const fn raw_fair_mutex(_: Loc, _: Option<&'static str>) -> RawFairMutex {
        <RawFairMutex as lock_api::RawMutex>::INIT
    }

    pub(crate) const fn raw_rwlock(_: Loc, _: Option<&'static str>) -> RawRwLock {
        <RawRwLock as lock_api::RawRwLock>::INIT
    }

    pub(crate) fn intern(_: &str) -> Option<&'static str> {
        None
    }

    macro_rules! sited {
        ($raw:ty) => {
            impl SitedMutex for $raw {
                #[inline(always)]
                fn lock_at(&self, _: Loc) {
                    self.lock()
                }

                #[inline(always)]
                fn try_at(&self, timeout: Option<Timeout>, _: Loc) -> bool {
                    match timeout {
                        None => self.try_lock(),
                        Some(Timeout::For(d)) => self.try_lock_for(d),
                        Some(Timeout::Until(t)) => self.try_lock_until(t),
                    }
                }

                #[inline(always)]
                fn polled_busy(&self, _: Loc) {}
            }
        };
    }
    sited!(RawMutex);
    sited!(RawFairMutex);

    #[inline(always)]
    pub(crate) fn rw_lock(raw: &RawRwLock, a: Access, _: Loc) {
        match a {
            Access::Read => raw.lock_shared(),
            Access::ReadRecursive => raw.lock_shared_recursive(),
            Access::Upgradable => raw.lock_upgradable(),
            Access::Write => raw.lock_exclusive(),
        }
    }

    #[inline(always)]
    pub(crate) fn rw_try(raw: &RawRwLock, a: Access, timeout: Option<Timeout>, _: Loc) -> bool {
        match (a, timeout) {
            (Access::Read, None) => raw.try_lock_shared(),
            (Access::Read, Some(Timeout::For(d))) => raw.try_lock_shared_for(d),
            (Access::Read, Some(Timeout::Until(t))) => raw.try_lock_shared_until(t),
            (Access::ReadRecursive, None) => raw.try_lock_shared_recursive(),
            (Access::ReadRecursive, Some(Timeout::For(d))) => raw.try_lock_shared_recursive_for(d),
            (Access::ReadRecursive, Some(Timeout::Until(t))) => {
                raw.try_lock_shared_recursive_until(t)
            }
            (Access::Upgradable, None) => raw.try_lock_upgradable(),
            (Access::Upgradable, Some(Timeout::For(d))) => raw.try_lock_upgradable_for(d),
            (Access::Upgradable, Some(Timeout::Until(t))) => raw.try_lock_upgradable_until(t),
            (Access::Write, None) => raw.try_lock_exclusive(),
            (Access::Write, Some(Timeout::For(d))) => raw.try_lock_exclusive_for(d),
            (Access::Write, Some(Timeout::Until(t))) => raw.try_lock_exclusive_until(t),
        }
    }
}

pub(crate) use imp::{
    intern, raw_fair_mutex, raw_mutex, raw_rwlock, rw_lock, rw_try, with_site, SetMark,
};
pub use imp::{RawFairMutex, RawMutex, RawRwLock};

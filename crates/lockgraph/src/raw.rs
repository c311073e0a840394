//! The instrumented raw locks: parking_lot's raw locks plus the runtime hooks,
//! behind lock_api's raw traits so that every guard type is lock_api's own.
//!
//! The public wrappers call the `*_at(site)` methods with the caller's
//! location (`#[track_caller]`); lock_api's own calls (a guard's drop,
//! `MutexGuard::unlocked`, `upgrade`) arrive through the trait methods.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lock_api::{
    RawMutex as _, RawMutexTimed as _, RawRwLock as _, RawRwLockRecursive as _,
    RawRwLockRecursiveTimed as _, RawRwLockTimed as _, RawRwLockUpgrade as _,
    RawRwLockUpgradeDowngrade as _, RawRwLockUpgradeTimed as _,
};
use lockgraph_detect::{Mode, ObjectKind};

use super::rt::hooks::{self, LockOps, Then};
use super::rt::local::Loc;
use super::rt::meta::Meta;

thread_local! {
    /// The caller's site, for acquisitions that reach us through lock_api
    /// (reentrant mutexes), which cannot pass it along.
    static SITE: Cell<Option<Loc>> = const { Cell::new(None) };
}

/// Runs `f` with `site` as the site of any acquisition lock_api makes inside it.
#[inline]
pub(crate) fn with_site<R>(site: Loc, f: impl FnOnce() -> R) -> R {
    let _ = SITE.try_with(|s| s.set(Some(site)));
    let r = f();
    let _ = SITE.try_with(|s| s.set(None));
    r
}

#[inline]
fn site_or(caller: Loc) -> Loc {
    wrapper_site().unwrap_or(caller)
}

/// The site a lockgraph wrapper set for an acquisition it makes through
/// lock_api. A blocking raw `lock` without one is lock_api taking a lock
/// back for a guard that still exists (`MutexGuard::unlocked`, the read and
/// write guards' `unlocked`, `ReentrantMutexGuard::unlocked`): like `bump`,
/// that re-lock must hold the lock on every way out, since the guard will
/// unlock it as it drops ([`Then::Relock`]).
#[inline]
fn wrapper_site() -> Option<Loc> {
    SITE.try_with(|s| s.get()).ok().flatten()
}

/// The site lock_api's `INIT` constructors record: the object was not made through lockgraph's API.
const UNKNOWN: Loc = Location::caller();

/// Defines an instrumented raw mutex over a parking_lot mutex type: the
/// struct, the object's metadata, and lock_api's raw traits with the hooks.
/// `RawMutex` and `RawFairMutex` are the same code over different locks.
macro_rules! instrumented_raw_mutex {
    ($(#[$doc:meta])* $name:ident, $pl_mutex:ty, $pl_raw:ty, $pl_new:path) => {
        $(#[$doc])*
        // `repr(C)`, the lock word last: next to the data lock_api puts
        // after it, and away from the metadata's hot fields (see `Meta`).
        #[repr(C)]
        pub struct $name {
            meta: Meta,
            // A whole parking_lot mutex (not just its raw lock) so that a
            // Condvar can wait on it with parking_lot's own guard type.
            inner: $pl_mutex,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("meta", &self.meta)
                    .finish_non_exhaustive()
            }
        }

        impl $name {
            #[inline]
            fn pl(&self) -> &$pl_raw {
                // Safety: we only use the raw lock to lock and unlock it in pairs, as the wrapper would.
                unsafe { self.inner.raw() }
            }

            #[inline(always)]
            fn mode(&self) -> Mode {
                if self.meta.kind() == ObjectKind::ReentrantMutex {
                    Mode::Reentrant
                } else {
                    Mode::Exclusive
                }
            }

            pub(crate) fn meta(&self) -> &Meta {
                &self.meta
            }

            /// Acquires, recording `site`.
            #[inline]
            pub(crate) fn lock_at(&self, site: Loc) {
                hooks::acquire(
                    &self.meta,
                    self.mode(),
                    site,
                    &MutexOps(self.pl()),
                    Then::Push,
                );
            }

            /// Tries to acquire without blocking, recording `site` on success.
            #[inline]
            pub(crate) fn try_lock_at(&self, site: Loc) -> bool {
                let ok = self.pl().try_lock();
                self.tried(ok, site)
            }

            #[inline]
            fn tried(&self, ok: bool, site: Loc) -> bool {
                if ok {
                    hooks::acquired_without_blocking(&self.meta, self.mode(), site);
                } else {
                    hooks::try_failed(&self.meta, self.mode(), site);
                }
                ok
            }

            /// Tries to acquire within `d`.
            pub(crate) fn try_lock_for_at(&self, d: Duration, site: Loc) -> bool {
                let ok = self.pl().try_lock_for(d);
                self.tried(ok, site)
            }

            /// Tries to acquire until `t`.
            pub(crate) fn try_lock_until_at(&self, t: Instant, site: Loc) -> bool {
                let ok = self.pl().try_lock_until(t);
                self.tried(ok, site)
            }
        }

        // Safety: mutual exclusion is parking_lot's; the hooks only observe.
        unsafe impl lock_api::RawMutex for $name {
            #[allow(clippy::declare_interior_mutable_const)]
            const INIT: Self = $name {
                inner: $pl_new(()),
                meta: Meta::new(UNKNOWN, None, ObjectKind::Mutex),
            };
            type GuardMarker = <$pl_raw as lock_api::RawMutex>::GuardMarker;

            #[inline]
            #[track_caller]
            fn lock(&self) {
                match wrapper_site() {
                    Some(site) => self.lock_at(site),
                    None => hooks::acquire(
                        &self.meta,
                        self.mode(),
                        hooks::relock_site(&self.meta, Location::caller()),
                        &MutexOps(self.pl()),
                        Then::Relock,
                    ),
                }
            }

            #[inline]
            #[track_caller]
            fn try_lock(&self) -> bool {
                self.try_lock_at(site_or(Location::caller()))
            }

            #[inline]
            unsafe fn unlock(&self) {
                hooks::release(&self.meta);
                // Safety: the caller holds the lock (lock_api's contract).
                unsafe { self.pl().unlock() }
            }

            #[inline]
            fn is_locked(&self) -> bool {
                self.pl().is_locked()
            }
        }

        // Safety: as above; fairness is parking_lot's.
        unsafe impl lock_api::RawMutexFair for $name {
            unsafe fn unlock_fair(&self) {
                hooks::release(&self.meta);
                // Safety: the caller holds the lock.
                unsafe { self.pl().unlock_fair() }
            }

            // A release and a re-acquisition, as lock_api defines `bump`:
            // see `hooks::bump`.
            #[track_caller]
            unsafe fn bump(&self) {
                let pl = self.pl();
                hooks::bump(
                    &self.meta,
                    self.mode(),
                    Location::caller(),
                    &MutexOps(pl),
                    // Safety: the caller holds the lock (lock_api's contract).
                    || unsafe { pl.unlock_fair() },
                    // Safety: as above.
                    || unsafe { pl.bump() },
                );
            }
        }

        // Safety: as above.
        unsafe impl lock_api::RawMutexTimed for $name {
            type Duration = Duration;
            type Instant = Instant;

            #[track_caller]
            fn try_lock_for(&self, timeout: Duration) -> bool {
                self.try_lock_for_at(timeout, site_or(Location::caller()))
            }

            #[track_caller]
            fn try_lock_until(&self, timeout: Instant) -> bool {
                self.try_lock_until_at(timeout, site_or(Location::caller()))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                hooks::dropped(&self.meta, self.pl().is_locked());
            }
        }
    };
}

instrumented_raw_mutex!(
    /// An instrumented raw mutex: parking_lot's, plus the object's metadata.
    RawMutex,
    parking_lot::Mutex<()>,
    parking_lot::RawMutex,
    parking_lot::const_mutex
);

instrumented_raw_mutex!(
    /// An instrumented raw fair mutex: parking_lot's `RawFairMutex`, plus
    /// the object's metadata. Every unlock is fair (parking_lot's); to the
    /// detector it is a mutex like any other, and reports call it one.
    RawFairMutex,
    parking_lot::FairMutex<()>,
    parking_lot::RawFairMutex,
    parking_lot::const_fair_mutex
);

impl RawMutex {
    pub(crate) const fn new(created: Loc, name: Option<&'static str>, kind: ObjectKind) -> Self {
        RawMutex {
            inner: parking_lot::const_mutex(()),
            meta: Meta::new(created, name, kind),
        }
    }

    /// The parking_lot mutex underneath, for condvar waits.
    pub(crate) fn parking_lot_mutex(&self) -> &parking_lot::Mutex<()> {
        &self.inner
    }
}

impl RawFairMutex {
    pub(crate) const fn new(created: Loc, name: Option<&'static str>) -> Self {
        RawFairMutex {
            inner: parking_lot::const_fair_mutex(()),
            meta: Meta::new(created, name, ObjectKind::Mutex),
        }
    }
}

/// A mutex's raw operations, for the hooks.
struct MutexOps<'a, P>(&'a P);

impl<P> LockOps for MutexOps<'_, P>
where
    P: lock_api::RawMutexTimed<Duration = Duration, Instant = Instant>,
{
    #[inline]
    fn try_now(&self) -> bool {
        self.0.try_lock()
    }
    fn wait(&self, d: Duration) -> bool {
        self.0.try_lock_for(d)
    }
    #[inline]
    fn lock(&self) {
        self.0.lock()
    }
    fn unlock(&self) {
        // Safety: called only right after this thread acquired the lock.
        unsafe { self.0.unlock() }
    }
}

/// An instrumented raw reader-writer lock: parking_lot's, plus the object's metadata.
// `repr(C)`, the lock word last: see the mutexes.
#[repr(C)]
pub struct RawRwLock {
    meta: Meta,
    gate: WriterGate,
    inner: parking_lot::RawRwLock,
}

impl std::fmt::Debug for RawRwLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRwLock")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

struct RwOps<'a> {
    raw: &'a parking_lot::RawRwLock,
    mode: Mode,
    gate: &'a WriterGate,
}

/// The writers blocked on an instrumented rwlock, and the readers held
/// back behind them.
///
/// parking_lot queues a `read` (and an upgradable read) behind a writer
/// that waits. A sliced writer leaves that queue between its slices (each
/// `try_lock_exclusive_for` that times out clears the parked-writer bit and
/// wakes the readers behind it), so without this a reader arriving while a
/// writer waits could get in, and a read-write-read hang that happens under
/// parking_lot would not happen under lockgraph. Readers that arrive while
/// a writer waits here wait for the gate to open (parked on its address,
/// in slices like any wait), as parking_lot would hold them.
struct WriterGate {
    waiting: AtomicU32,
}

impl WriterGate {
    const fn new() -> Self {
        WriterGate {
            waiting: AtomicU32::new(0),
        }
    }

    /// Whether a writer waits.
    #[inline]
    fn closed(&self) -> bool {
        self.waiting.load(Ordering::Acquire) != 0
    }

    fn key(&self) -> usize {
        &self.waiting as *const AtomicU32 as usize
    }

    /// A writer starts (`true`) or stops (`false`) waiting.
    fn writer_waits(&self, waits: bool) {
        if waits {
            self.waiting.fetch_add(1, Ordering::AcqRel);
        } else if self.waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Safety: the key is this gate's own address, which parking_lot
            // uses for nothing else (it parks on the lock word's address).
            unsafe {
                parking_lot_core::unpark_all(self.key(), parking_lot_core::DEFAULT_UNPARK_TOKEN);
            }
        }
    }

    /// Waits until no writer waits or `deadline` passes; whether it opened.
    fn wait_open(&self, deadline: Instant) -> bool {
        while self.closed() {
            // Safety: as in `writer_waits`; the validation closure only
            // reads an atomic, and the callbacks do nothing.
            let result = unsafe {
                parking_lot_core::park(
                    self.key(),
                    || self.closed(),
                    || {},
                    |_, _| {},
                    parking_lot_core::DEFAULT_PARK_TOKEN,
                    Some(deadline),
                )
            };
            if result == parking_lot_core::ParkResult::TimedOut {
                return !self.closed();
            }
        }
        true
    }
}

impl LockOps for RwOps<'_> {
    #[inline]
    fn try_now(&self) -> bool {
        match self.mode {
            Mode::Shared => !self.gate.closed() && self.raw.try_lock_shared(),
            Mode::SharedRecursive => self.raw.try_lock_shared_recursive(),
            Mode::Upgradable => !self.gate.closed() && self.raw.try_lock_upgradable(),
            _ => self.raw.try_lock_exclusive(),
        }
    }
    fn wait(&self, d: Duration) -> bool {
        match self.mode {
            Mode::Shared | Mode::Upgradable => {
                let Some(deadline) = Instant::now().checked_add(d) else {
                    return false;
                };
                self.until(deadline)
            }
            Mode::SharedRecursive => self.raw.try_lock_shared_recursive_for(d),
            _ => self.raw.try_lock_exclusive_for(d),
        }
    }
    fn blocking(&self, waits: bool) {
        if self.mode == Mode::Exclusive {
            self.gate.writer_waits(waits);
        }
    }
    fn lock(&self) {
        match self.mode {
            Mode::Shared => self.raw.lock_shared(),
            Mode::SharedRecursive => self.raw.lock_shared_recursive(),
            Mode::Upgradable => self.raw.lock_upgradable(),
            _ => self.raw.lock_exclusive(),
        }
    }
    fn unlock(&self) {
        // Safety: called only right after this thread acquired the lock in `mode`.
        unsafe {
            match self.mode {
                Mode::Shared | Mode::SharedRecursive => self.raw.unlock_shared(),
                Mode::Upgradable => self.raw.unlock_upgradable(),
                _ => self.raw.unlock_exclusive(),
            }
        }
    }
}

impl RwOps<'_> {
    /// Tries to acquire in `mode` until `deadline`, behind the writer gate
    /// for a plain or upgradable read.
    fn until(&self, deadline: Instant) -> bool {
        match self.mode {
            Mode::Shared => {
                self.gate.wait_open(deadline) && self.raw.try_lock_shared_until(deadline)
            }
            Mode::Upgradable => {
                self.gate.wait_open(deadline) && self.raw.try_lock_upgradable_until(deadline)
            }
            Mode::SharedRecursive => self.raw.try_lock_shared_recursive_until(deadline),
            _ => self.raw.try_lock_exclusive_until(deadline),
        }
    }
}

/// Upgrading an upgradable lock this thread holds.
struct UpgradeOps<'a>(&'a parking_lot::RawRwLock, &'a WriterGate);

impl LockOps for UpgradeOps<'_> {
    fn try_now(&self) -> bool {
        // Safety: the caller holds the lock upgradable (lock_api's contract for upgrade).
        unsafe { self.0.try_upgrade() }
    }
    fn wait(&self, d: Duration) -> bool {
        // Safety: as above.
        unsafe { self.0.try_upgrade_for(d) }
    }
    fn lock(&self) {
        // Safety: as above.
        unsafe { self.0.upgrade() }
    }
    fn unlock(&self) {
        // Safety: the upgrade succeeded, so the thread holds it exclusively;
        // giving back only the upgrade keeps the guard the caller has valid.
        unsafe { self.0.downgrade_to_upgradable() }
    }
    fn blocking(&self, waits: bool) {
        // A waiting upgrade holds readers back as a waiting writer does.
        self.1.writer_waits(waits);
    }
}

impl RawRwLock {
    pub(crate) const fn new(created: Loc, name: Option<&'static str>) -> Self {
        RawRwLock {
            inner: <parking_lot::RawRwLock as lock_api::RawRwLock>::INIT,
            meta: Meta::new(created, name, ObjectKind::RwLock),
            gate: WriterGate::new(),
        }
    }

    /// The raw operations of `mode` on this lock.
    #[inline]
    fn ops(&self, mode: Mode) -> RwOps<'_> {
        RwOps {
            raw: &self.inner,
            mode,
            gate: &self.gate,
        }
    }

    /// Acquires in `mode`, blocking, recording `site`.
    #[inline]
    pub(crate) fn lock_at(&self, mode: Mode, site: Loc) {
        hooks::acquire(&self.meta, mode, site, &self.ops(mode), Then::Push);
    }

    /// A blocking acquisition through lock_api: a wrapper's (with its
    /// site), or a re-lock for a guard that still exists (see [`wrapper_site`]).
    #[inline]
    fn lock_or_relock(&self, mode: Mode, caller: Loc) {
        let ops = self.ops(mode);
        match wrapper_site() {
            Some(site) => hooks::acquire(&self.meta, mode, site, &ops, Then::Push),
            None => hooks::acquire(
                &self.meta,
                mode,
                hooks::relock_site(&self.meta, caller),
                &ops,
                Then::Relock,
            ),
        }
    }

    /// Tries to acquire in `mode` without blocking (`None`), or within a timeout.
    #[inline]
    pub(crate) fn try_lock_at(&self, mode: Mode, timeout: Option<Timeout>, site: Loc) -> bool {
        let ops = self.ops(mode);
        let ok = match timeout {
            None => ops.try_now(),
            Some(Timeout::For(d)) => ops.wait(d),
            Some(Timeout::Until(t)) => ops.until(t),
        };
        if ok {
            hooks::acquired_without_blocking(&self.meta, mode, site);
        } else {
            hooks::try_failed(&self.meta, mode, site);
        }
        ok
    }

    fn upgrade_site(&self) -> Loc {
        site_or(Location::caller())
    }
}

/// A timeout for a timed acquisition.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timeout {
    For(Duration),
    Until(Instant),
}

// Safety: reader-writer exclusion is parking_lot's; the hooks only observe.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawRwLock::new(UNKNOWN, None);
    type GuardMarker = <parking_lot::RawRwLock as lock_api::RawRwLock>::GuardMarker;

    #[inline]
    #[track_caller]
    fn lock_shared(&self) {
        self.lock_or_relock(Mode::Shared, Location::caller())
    }
    #[track_caller]
    fn try_lock_shared(&self) -> bool {
        self.try_lock_at(Mode::Shared, None, site_or(Location::caller()))
    }
    #[inline]
    unsafe fn unlock_shared(&self) {
        hooks::release(&self.meta);
        // Safety: the caller holds a shared lock.
        unsafe { self.inner.unlock_shared() }
    }
    #[inline]
    #[track_caller]
    fn lock_exclusive(&self) {
        self.lock_or_relock(Mode::Exclusive, Location::caller())
    }
    #[track_caller]
    fn try_lock_exclusive(&self) -> bool {
        self.try_lock_at(Mode::Exclusive, None, site_or(Location::caller()))
    }
    #[inline]
    unsafe fn unlock_exclusive(&self) {
        hooks::release(&self.meta);
        // Safety: the caller holds the exclusive lock.
        unsafe { self.inner.unlock_exclusive() }
    }
    #[inline]
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }
    fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockFair for RawRwLock {
    unsafe fn unlock_shared_fair(&self) {
        hooks::release(&self.meta);
        // Safety: the caller holds a shared lock.
        unsafe { self.inner.unlock_shared_fair() }
    }
    unsafe fn unlock_exclusive_fair(&self) {
        hooks::release(&self.meta);
        // Safety: the caller holds the exclusive lock.
        unsafe { self.inner.unlock_exclusive_fair() }
    }
    // parking_lot yields a read lock only when this is its one reader and
    // a writer waits, and then waits for that writer only: a fair release
    // and a *recursive* read do exactly that (see `hooks::bump`).
    #[track_caller]
    unsafe fn bump_shared(&self) {
        let raw = &self.inner;
        hooks::bump(
            &self.meta,
            Mode::SharedRecursive,
            Location::caller(),
            &RwOps {
                raw,
                mode: Mode::SharedRecursive,
                gate: &self.gate,
            },
            // Safety: the caller holds a shared lock (lock_api's contract).
            || unsafe { raw.unlock_shared_fair() },
            // Safety: as above; it holds it again on return.
            || unsafe { raw.bump_shared() },
        );
    }
    #[track_caller]
    unsafe fn bump_exclusive(&self) {
        let raw = &self.inner;
        hooks::bump(
            &self.meta,
            Mode::Exclusive,
            Location::caller(),
            &RwOps {
                raw,
                mode: Mode::Exclusive,
                gate: &self.gate,
            },
            // Safety: the caller holds the exclusive lock (lock_api's contract).
            || unsafe { raw.unlock_exclusive_fair() },
            // Safety: as above; it holds it again on return.
            || unsafe { raw.bump_exclusive() },
        );
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    unsafe fn downgrade(&self) {
        hooks::remode(&self.meta, Mode::Shared);
        // Safety: the caller holds the exclusive lock.
        unsafe { self.inner.downgrade() }
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_shared_for(&self, d: Duration) -> bool {
        self.try_lock_at(
            Mode::Shared,
            Some(Timeout::For(d)),
            site_or(Location::caller()),
        )
    }
    #[track_caller]
    fn try_lock_shared_until(&self, t: Instant) -> bool {
        self.try_lock_at(
            Mode::Shared,
            Some(Timeout::Until(t)),
            site_or(Location::caller()),
        )
    }
    #[track_caller]
    fn try_lock_exclusive_for(&self, d: Duration) -> bool {
        self.try_lock_at(
            Mode::Exclusive,
            Some(Timeout::For(d)),
            site_or(Location::caller()),
        )
    }
    #[track_caller]
    fn try_lock_exclusive_until(&self, t: Instant) -> bool {
        self.try_lock_at(
            Mode::Exclusive,
            Some(Timeout::Until(t)),
            site_or(Location::caller()),
        )
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockRecursive for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_shared_recursive(&self) {
        self.lock_or_relock(Mode::SharedRecursive, Location::caller())
    }
    #[track_caller]
    fn try_lock_shared_recursive(&self) -> bool {
        self.try_lock_at(Mode::SharedRecursive, None, site_or(Location::caller()))
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockRecursiveTimed for RawRwLock {
    #[track_caller]
    fn try_lock_shared_recursive_for(&self, d: Duration) -> bool {
        self.try_lock_at(
            Mode::SharedRecursive,
            Some(Timeout::For(d)),
            site_or(Location::caller()),
        )
    }
    #[track_caller]
    fn try_lock_shared_recursive_until(&self, t: Instant) -> bool {
        self.try_lock_at(
            Mode::SharedRecursive,
            Some(Timeout::Until(t)),
            site_or(Location::caller()),
        )
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_upgradable(&self) {
        self.lock_or_relock(Mode::Upgradable, Location::caller())
    }
    #[track_caller]
    fn try_lock_upgradable(&self) -> bool {
        self.try_lock_at(Mode::Upgradable, None, site_or(Location::caller()))
    }
    #[inline]
    unsafe fn unlock_upgradable(&self) {
        hooks::release(&self.meta);
        // Safety: the caller holds the upgradable lock.
        unsafe { self.inner.unlock_upgradable() }
    }
    #[track_caller]
    unsafe fn upgrade(&self) {
        hooks::acquire(
            &self.meta,
            Mode::Exclusive,
            self.upgrade_site(),
            &UpgradeOps(&self.inner, &self.gate),
            Then::Upgrade,
        );
    }
    #[track_caller]
    unsafe fn try_upgrade(&self) -> bool {
        // Safety: the caller holds the upgradable lock.
        let ok = unsafe { self.inner.try_upgrade() };
        if ok {
            hooks::remode(&self.meta, Mode::Exclusive);
        }
        ok
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    unsafe fn unlock_upgradable_fair(&self) {
        hooks::release(&self.meta);
        // Safety: the caller holds the upgradable lock.
        unsafe { self.inner.unlock_upgradable_fair() }
    }
    #[track_caller]
    unsafe fn bump_upgradable(&self) {
        let raw = &self.inner;
        hooks::bump(
            &self.meta,
            Mode::Upgradable,
            Location::caller(),
            &RwOps {
                raw,
                mode: Mode::Upgradable,
                gate: &self.gate,
            },
            // Safety: the caller holds the upgradable lock (lock_api's contract).
            || unsafe { raw.unlock_upgradable_fair() },
            // Safety: as above; it holds it again on return.
            || unsafe { raw.bump_upgradable() },
        );
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockUpgradeDowngrade for RawRwLock {
    unsafe fn downgrade_upgradable(&self) {
        hooks::remode(&self.meta, Mode::Shared);
        // Safety: the caller holds the upgradable lock.
        unsafe { self.inner.downgrade_upgradable() }
    }
    unsafe fn downgrade_to_upgradable(&self) {
        hooks::remode(&self.meta, Mode::Upgradable);
        // Safety: the caller holds the exclusive lock.
        unsafe { self.inner.downgrade_to_upgradable() }
    }
}

// Safety: as above.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[track_caller]
    fn try_lock_upgradable_for(&self, d: Duration) -> bool {
        self.try_lock_at(
            Mode::Upgradable,
            Some(Timeout::For(d)),
            site_or(Location::caller()),
        )
    }
    #[track_caller]
    fn try_lock_upgradable_until(&self, t: Instant) -> bool {
        self.try_lock_at(
            Mode::Upgradable,
            Some(Timeout::Until(t)),
            site_or(Location::caller()),
        )
    }
    unsafe fn try_upgrade_for(&self, d: Duration) -> bool {
        // Safety: the caller holds the upgradable lock.
        let ok = unsafe { self.inner.try_upgrade_for(d) };
        if ok {
            hooks::remode(&self.meta, Mode::Exclusive);
        }
        ok
    }
    unsafe fn try_upgrade_until(&self, t: Instant) -> bool {
        // Safety: the caller holds the upgradable lock.
        let ok = unsafe { self.inner.try_upgrade_until(t) };
        if ok {
            hooks::remode(&self.meta, Mode::Exclusive);
        }
        ok
    }
}

impl Drop for RawRwLock {
    fn drop(&mut self) {
        hooks::dropped(&self.meta, self.inner.is_locked());
    }
}

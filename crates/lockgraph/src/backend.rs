//! The one switch between instrumented and plain builds (the `instrument` feature): the facade every primitive calls.
//!
//! The primitives are written once against this module and call its facade
//! unconditionally. Instrumented, the facade forwards to the runtime
//! (`rt`, declared here, through re-exports and thin adapters that map the
//! crate-local types below to the detector's) and the raw locks are
//! lockgraph's own. Plain, it is a no-op twin with the same signatures:
//! `#[inline(always)]` empty functions, zero-sized metadata, ids of 0,
//! [`enabled`] a constant `false`; the raw locks are parking_lot's, so the
//! guards are parking_lot's own types. Where a primitive waits differently
//! when instrumented, the instrumented wait lives in the runtime and is
//! reached through here.

use std::panic::Location;
use std::time::{Duration, Instant};

/// The runtime behind the instrumented primitives.
#[cfg(feature = "instrument")]
#[path = "rt/mod.rs"]
mod rt;

/// The instrumented raw locks.
#[cfg(feature = "instrument")]
#[path = "raw.rs"]
mod raw;

/// Whether this build instruments its locks.
pub(crate) const INSTRUMENTED: bool = cfg!(feature = "instrument");

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

/// What kind of primitive beyond locks an object is ([`Meta::new`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Semaphore,
    Event,
    Barrier,
    Latch,
    Once,
    Channel,
}

/// How a wait on a primitive beyond locks ended, when it did not time out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// What the thread waited for happened.
    Ok,
    /// The barrier broke.
    Broken,
}

/// Who can end a wait on a primitive beyond locks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Waker {
    /// Any live thread (a permit released, an event set, a party arriving).
    Anyone,
    /// Only the thread with this runtime id (the thread running a once).
    Thread(#[cfg_attr(not(feature = "instrument"), allow(dead_code))] u64),
}

/// What a signal on a primitive beyond locks did ([`signal`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Signal {
    /// An event was set.
    Set,
    /// An event was cleared.
    Clear,
    /// A semaphore permit was given back.
    Release,
    /// A latch was counted down.
    CountDown,
    /// A party arrived at a barrier.
    Arrive,
    /// A barrier was aborted.
    Abort,
    /// A barrier was reset.
    Reset,
    /// A once finished running its closure.
    Done,
}

/// What kind of tracked location a [`Tracking`] is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place {
    /// `cell::UnsafeCell`.
    Cell,
    /// `Tracked`.
    Tracked,
}

/// A value an atomic operation read or left, as a report prints it.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "instrument"), allow(dead_code))]
pub(crate) enum Value {
    Unsigned(u64),
    Signed(i64),
    Bool(bool),
    Ptr(usize),
}

/// What an atomic operation did, with its ordering.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "instrument"), allow(dead_code))]
pub(crate) enum AtomicOp {
    /// A load, or a failed compare-exchange (its failure ordering).
    Load(std::sync::atomic::Ordering),
    /// A plain store.
    Store(std::sync::atomic::Ordering),
    /// A read-modify-write: `fetch_*`, `swap`, a successful compare-exchange.
    Update(std::sync::atomic::Ordering),
}

/// A wait on a primitive beyond locks, as [`block`] needs it described.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "instrument"), allow(dead_code))]
pub(crate) struct Blocking {
    /// Where.
    pub(crate) site: Loc,
    /// When the wait gives up, if ever.
    pub(crate) deadline: Option<Instant>,
    /// Who can end it.
    pub(crate) waker: Waker,
    /// A notification nobody waited for, made before this wait began:
    /// (site, runtime id of the thread that made it).
    pub(crate) missed: Option<(Loc, u64)>,
}

#[cfg(feature = "instrument")]
mod imp {
    /// An event's missed-notification mark: detect's rule.
    pub(crate) type SetMark = lockgraph_detect::state::SetMark<super::Loc>;

    /// The runtime's public API, re-exported at the crate root.
    pub(crate) mod api {
        pub use crate::backend::rt::config::{
            on_finding, set_backtraces, set_enabled, set_on_finding, set_stall_grace, stall_grace,
            OnFinding, DEFAULT_STALL_GRACE,
        };
        pub use crate::backend::rt::global::GraphStats;
        pub use crate::backend::rt::heuristics::progress;
        pub use crate::backend::rt::hooks::graph_stats;
        pub use crate::backend::rt::hooks::held_locks;
        pub use crate::backend::rt::react::{findings, take_findings};
        pub use crate::backend::rt::sink::{flush as flush_trace, trace_path};
        pub use lockgraph_detect::{Finding, Kind, ObjectInfo, Severity};

        /// Starts recording every event of this process to `path` (a file, or a
        /// directory that gets `<program>-<pid>.jsonl`), as `LOCKGRAPH_TRACE=path`
        /// does; returns the file. Call it before the threads to record start:
        /// threads that already used a lock keep not recording. Recording starts
        /// once per process; later calls return the file already in use.
        pub fn record_to(path: impl AsRef<std::path::Path>) -> std::io::Result<std::path::PathBuf> {
            crate::backend::rt::sink::start(path.as_ref())
        }
    }

    use std::mem::ManuallyDrop;
    use std::time::{Duration, Instant};

    use super::{raw, rt};
    use super::{Access, Blocking, Done, Kind, Loc, Signal, SitedMutex, Timeout, Waker};
    use super::{AtomicOp, Place, Value};
    use lockgraph_detect::event::Outcome;
    use lockgraph_detect::trace::SignalKind;
    use lockgraph_detect::waitfor::WaitOn;
    use lockgraph_detect::{Mode, ObjectId, ObjectKind, ThreadId};
    use std::sync::Arc;

    pub use super::raw::{RawFairMutex, RawMutex, RawRwLock};

    pub(crate) use super::raw::with_site;

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
        Some(rt::meta::intern(name))
    }

    #[cfg_attr(not(feature = "tracing-spans"), allow(dead_code, unreachable_pub))]
    pub(crate) fn span_intern(text: &str, name: &'static str) -> Option<(u64, Arc<str>)> {
        Some(rt::span::intern(text, name))
    }

    #[cfg_attr(not(feature = "tracing-spans"), allow(dead_code, unreachable_pub))]
    pub(crate) fn span_enter(id: u64, text: &Arc<str>) {
        rt::span::enter(id, text);
    }

    #[cfg_attr(not(feature = "tracing-spans"), allow(dead_code, unreachable_pub))]
    pub(crate) fn span_exit(id: u64) {
        rt::span::exit(id);
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
                    rt::hooks::try_failed(self.meta(), Mode::Exclusive, site);
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
            Timeout::For(d) => raw::Timeout::For(d),
            Timeout::Until(i) => raw::Timeout::Until(i),
        });
        raw.try_lock_at(mode(a), t, site)
    }

    /// An object's metadata: the runtime's, for a primitive beyond locks.
    #[derive(Debug)]
    pub(crate) struct Meta(rt::meta::Meta);

    impl Meta {
        /// The metadata of a `kind` made at `created`, optionally named.
        pub(crate) const fn new(created: Loc, name: Option<&'static str>, kind: Kind) -> Self {
            let kind = match kind {
                Kind::Semaphore => ObjectKind::Semaphore,
                Kind::Event => ObjectKind::Event,
                Kind::Barrier => ObjectKind::Barrier,
                Kind::Latch => ObjectKind::Latch,
                Kind::Once => ObjectKind::Once,
                Kind::Channel => ObjectKind::Channel,
            };
            Meta(rt::meta::Meta::new(created, name, kind))
        }

        /// The same object under another name.
        pub(crate) fn rename(&mut self, name: &'static str) {
            self.0.name = Some(name);
        }
    }

    /// What the runtime keeps beside a condvar (`rt::condvar::State`).
    pub(crate) struct CondvarState(rt::condvar::State);

    impl CondvarState {
        /// The state of a condvar made at `created`, optionally named.
        pub(crate) const fn new(created: Loc, name: Option<&'static str>) -> Self {
            CondvarState(rt::condvar::State::new(created, name))
        }

        /// `cv.notify_one()`, recorded, reaching a wait between two slices too.
        #[inline]
        pub(crate) fn notify_one(&self, cv: &parking_lot::Condvar, site: Loc) -> bool {
            self.0.notify(false, site, || usize::from(cv.notify_one())) > 0
        }

        /// `cv.notify_all()`, recorded, reaching waits between two slices too.
        #[inline]
        pub(crate) fn notify_all(&self, cv: &parking_lot::Condvar, site: Loc) -> usize {
            self.0.notify(true, site, || cv.notify_all())
        }

        /// Waits on `cv` with the mutex behind `guard` until notified or
        /// `deadline`; returns whether it timed out. parking_lot's condvar
        /// waits on the parking_lot mutex inside our raw mutex, through a
        /// guard made for it and never dropped.
        pub(crate) fn wait<T: ?Sized>(
            &self,
            cv: &parking_lot::Condvar,
            guard: &mut lock_api::MutexGuard<'_, RawMutex, T>,
            site: Loc,
            deadline: Option<Instant>,
        ) -> bool {
            let mutex = lock_api::MutexGuard::mutex(guard);
            // Safety: we only read the raw lock's metadata and its parking_lot mutex.
            let raw = unsafe { mutex.raw() };
            // Safety: this thread holds the lock (it has `guard`); the
            // parking_lot guard stands in for it during the wait. Never
            // dropped: on every path, including a panic that ends a
            // deadlocked wait, `guard` stays the one that unlocks.
            let mut pl_guard =
                ManuallyDrop::new(unsafe { raw.parking_lot_mutex().make_guard_unchecked() });
            self.0.wait(cv, &mut pl_guard, raw.meta(), site, deadline)
        }
    }

    /// Whether detection runs (it can be switched off at run time).
    #[inline]
    pub(crate) fn enabled() -> bool {
        rt::config::enabled()
    }

    /// The runtime's sliced wait on a primitive beyond locks (see
    /// `rt::sync::block`); call it only when [`enabled`].
    pub(crate) fn block<S>(
        meta: &Meta,
        cv: &parking_lot::Condvar,
        guard: &mut parking_lot::MutexGuard<'_, S>,
        how: Blocking,
        mut ready: impl FnMut(&mut S) -> Option<Done>,
    ) -> Option<Done> {
        let wait = rt::hooks::Wait {
            object: ObjectId(meta.0.id()),
            on: match how.waker {
                Waker::Anyone => WaitOn::Anyone,
                Waker::Thread(t) => WaitOn::Thread(ThreadId(t)),
            },
            mode: Mode::Exclusive,
            site: how.site,
            deadline: how.deadline,
            missed: how.missed,
            victim: true,
        };
        let outcome = rt::sync::block(&meta.0, cv, guard, &wait, |s| {
            ready(s).map(|d| match d {
                Done::Ok => Outcome::Ok,
                Done::Broken => Outcome::Broken,
            })
        });
        match outcome {
            Outcome::Ok => Some(Done::Ok),
            Outcome::Broken => Some(Done::Broken),
            Outcome::Timeout => None,
        }
    }

    /// Records a signal: what `how` did, waking `woken` waiters.
    pub(crate) fn signal(meta: &Meta, how: Signal, woken: u64, site: Loc) {
        let how = match how {
            Signal::Set => SignalKind::Set,
            Signal::Clear => SignalKind::Clear,
            Signal::Release => SignalKind::Release,
            Signal::CountDown => SignalKind::CountDown,
            Signal::Arrive => SignalKind::Arrive,
            Signal::Abort => SignalKind::Abort,
            Signal::Reset => SignalKind::Reset,
            Signal::Done => SignalKind::Done,
        };
        rt::sync::signal(&meta.0, how, woken, site);
    }

    /// Records that a wait passed at once.
    pub(crate) fn passed(meta: &Meta, site: Loc) {
        rt::sync::passed(&meta.0, site);
    }

    /// Publishes this thread's history through the primitive `meta`.
    #[inline]
    pub(crate) fn published(meta: &Meta) {
        rt::hb::released(&meta.0, lockgraph_detect::Mode::Exclusive);
    }

    /// This thread saw what the primitive `meta` published.
    #[inline]
    pub(crate) fn synced(meta: &Meta, site: Loc) {
        rt::sync::synced(&meta.0, site);
    }

    /// The calling thread's runtime id (0 when detection is off).
    pub(crate) fn current_thread_id() -> u64 {
        rt::hooks::current_thread_id()
    }

    /// A tracked location's runtime side: its metadata and shadow.
    #[derive(Debug)]
    pub(crate) struct Tracking {
        meta: rt::meta::Meta,
        loc: rt::hb::LocState,
    }

    impl Tracking {
        /// A location of kind `place` made at `created`, optionally named.
        pub(crate) const fn new(created: Loc, name: Option<&'static str>, place: Place) -> Self {
            let kind = match place {
                Place::Cell => ObjectKind::Cell,
                Place::Tracked => ObjectKind::Tracked,
            };
            Tracking {
                meta: rt::meta::Meta::new(created, name, kind),
                loc: rt::hb::LocState::new(),
            }
        }

        /// A read at `site`: checked against the writes it could race with.
        #[inline]
        pub(crate) fn read(&self, site: Loc) {
            rt::hb::read(&self.meta, &self.loc, site)
        }

        /// A write at `site`: checked against every access it could race with.
        #[inline]
        pub(crate) fn write(&self, site: Loc) {
            rt::hb::write(&self.meta, &self.loc, site)
        }

        /// An access through `&mut`: exclusive, so nothing races with it.
        #[inline]
        pub(crate) fn exclusive(&mut self) {
            rt::hb::exclusive(&self.meta, &mut self.loc)
        }
    }

    fn order(o: std::sync::atomic::Ordering) -> lockgraph_detect::race::Order {
        use lockgraph_detect::race::Order;
        use std::sync::atomic::Ordering as O;
        match o {
            O::Relaxed => Order::Relaxed,
            O::Acquire => Order::Acquire,
            O::Release => Order::Release,
            O::AcqRel => Order::AcqRel,
            _ => Order::SeqCst,
        }
    }

    /// An atomic's runtime side: its metadata, shadow and release clock.
    #[derive(Debug)]
    pub(crate) struct AtomicTracking {
        meta: rt::meta::Meta,
        state: rt::hb::AtomicState,
    }

    impl AtomicTracking {
        /// An atomic made at `created`.
        pub(crate) const fn new(created: Loc) -> Self {
            AtomicTracking {
                meta: rt::meta::Meta::new(created, None, ObjectKind::Atomic),
                state: rt::hb::AtomicState::new(),
            }
        }

        /// Runs the operation `f` at `site` (it returns its result, what it
        /// did and the value a report names) with its happens-before
        /// effects, as one step.
        #[inline]
        pub(crate) fn op<R>(&self, site: Loc, f: impl FnOnce() -> (R, AtomicOp, Value)) -> R {
            rt::hb::atomic(&self.meta, &self.state, site, || {
                let (r, what, value) = f();
                use lockgraph_detect::race::AtomicKind;
                let what = match what {
                    AtomicOp::Load(o) => rt::hb::AtomicOp(AtomicKind::Load, order(o)),
                    AtomicOp::Store(o) => rt::hb::AtomicOp(AtomicKind::Store, order(o)),
                    AtomicOp::Update(o) => rt::hb::AtomicOp(AtomicKind::Update, order(o)),
                };
                let value = match value {
                    Value::Unsigned(v) => rt::hb::Value::Unsigned(v),
                    Value::Signed(v) => rt::hb::Value::Signed(v),
                    Value::Bool(v) => rt::hb::Value::Bool(v),
                    Value::Ptr(v) => rt::hb::Value::Ptr(v),
                };
                (r, what, value)
            })
        }

        /// An access through `&mut`: exclusive.
        #[inline]
        pub(crate) fn exclusive(&mut self) {
            rt::hb::exclusive_atomic(&self.meta, &mut self.state)
        }
    }

    /// A fence with ordering `o` at `site`.
    pub(crate) fn fence(o: std::sync::atomic::Ordering, site: Loc) {
        rt::hb::fence(order(o), site)
    }

    /// `hb::release`: this thread's history is published at `addr`.
    pub(crate) fn hb_release(addr: usize) {
        rt::hb::annotate_release(addr)
    }

    /// `hb::acquire`: what was published at `addr` is before now.
    pub(crate) fn hb_acquire(addr: usize, site: Loc) {
        rt::hb::annotate_acquire(addr, site)
    }

    /// What a message carries: its sender's clock when it was sent.
    #[derive(Debug)]
    pub(crate) struct Clock(Option<Box<lockgraph_detect::race::VClock>>);

    impl Clock {
        /// This thread's clock, now.
        #[inline]
        pub(crate) fn now() -> Clock {
            Clock(rt::hb::snapshot())
        }

        /// A receiver at `site` takes the clock in.
        #[inline]
        pub(crate) fn take_in(&self, site: Loc) {
            rt::hb::take_in(self.0.as_deref(), site)
        }
    }

    /// A receive on the channel `meta` that found nothing: waits in slices
    /// (`slice(d)` receives for at most `d`, true once the wait is over),
    /// taking part in stall detection. Call it only when [`enabled`].
    pub(crate) fn channel_wait(meta: &Meta, site: Loc, slice: impl FnMut(Duration) -> bool) {
        rt::sync::channel_wait(&meta.0, site, slice)
    }

    /// A thread lockgraph spawned is done with its closure.
    pub(crate) fn thread_finished() {
        rt::hb::finish()
    }

    /// The thread with runtime id `child` was joined at `site` (std's join returned).
    pub(crate) fn joined(child: u64, site: Loc) {
        rt::hooks::joined(child);
        rt::hb::joined(child, site)
    }

    /// This thread took a permit of the semaphore `meta`.
    pub(crate) fn took_permit(meta: &Meta, site: Loc) {
        rt::hooks::took_permit(&meta.0, site);
    }

    /// This thread gave back a permit of the semaphore `meta`.
    pub(crate) fn gave_permit(meta: &Meta, site: Loc) {
        rt::hooks::gave_permit(&meta.0, site);
    }

    /// A thread calls the once `meta`, run by `owner`, from inside its own
    /// closure: a `self_deadlock`, reported.
    pub(crate) fn once_self(meta: &Meta, owner: u64, site: Loc) {
        rt::hooks::once_self(&meta.0, owner, site);
    }

    /// A thread is about to be spawned from this one: its runtime id.
    pub(crate) fn spawning(site: Loc) -> u64 {
        rt::hooks::spawning(site)
    }

    /// First thing in a spawned thread: take the id the spawner chose.
    pub(crate) fn adopt_thread(id: u64) {
        rt::hooks::adopt_thread(id);
    }

    /// A sleep starts at `site`: recorded, and a warning if locks are held.
    pub(crate) fn sleeping(site: Loc) {
        rt::hooks::blocking(rt::hooks::BlockingOn::Sleep, site);
    }

    /// Joins `thread` (runtime id `child`, spawned at `spawned`) as a
    /// blocking wait: a join of itself is a `self_deadlock`, and the wait
    /// (`finished(d)` waits at most `d`) takes part in deadlock detection.
    /// Returns once the thread has finished.
    pub(crate) fn join(
        child: u64,
        thread: &std::thread::Thread,
        spawned: Loc,
        site: Loc,
        finished: &dyn Fn(Duration) -> bool,
    ) {
        let is_self = thread.id() == std::thread::current().id();
        rt::hooks::joining(child, is_self, site);
        let name = thread.name().map(rt::meta::intern);
        if !is_self {
            rt::hooks::join_blocking(child, name, spawned, site);
        }
        rt::hooks::join_wait(child, name, spawned, site, finished);
    }
}

#[cfg(not(feature = "instrument"))]
mod imp {
    /// The runtime's public API, re-exported at the crate root: of it, the
    /// plain build keeps only what code may call unconditionally.
    pub(crate) mod api {
        /// Marks progress: a streak of failed lock attempts of this thread ends, so
        /// a polling loop that does useful work between polls is not a `livelock`.
        /// (Compiled out: does nothing.)
        #[inline(always)]
        pub fn progress() {}
    }

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

    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::Value;
    use super::{Access, AtomicOp, Blocking, Done, Kind, Loc, Place, Signal, SitedMutex, Timeout};
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

    #[cfg_attr(not(feature = "tracing-spans"), allow(dead_code, unreachable_pub))]
    #[inline(always)]
    pub(crate) fn span_intern(_: &str, _: &'static str) -> Option<(u64, Arc<str>)> {
        None
    }

    #[cfg_attr(not(feature = "tracing-spans"), allow(dead_code, unreachable_pub))]
    #[inline(always)]
    pub(crate) fn span_enter(_: u64, _: &Arc<str>) {}

    #[cfg_attr(not(feature = "tracing-spans"), allow(dead_code, unreachable_pub))]
    #[inline(always)]
    pub(crate) fn span_exit(_: u64) {}

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

    /// The plain twin of an object's metadata: zero-sized.
    #[derive(Debug)]
    pub(crate) struct Meta;

    impl Meta {
        pub(crate) const fn new(_: Loc, _: Option<&'static str>, _: Kind) -> Self {
            Meta
        }
        #[inline(always)]
        pub(crate) fn rename(&mut self, _: &'static str) {}
    }

    /// The plain twin of a condvar's runtime state: zero-sized; a wait is
    /// parking_lot's own.
    pub(crate) struct CondvarState;

    impl CondvarState {
        pub(crate) const fn new(_: Loc, _: Option<&'static str>) -> Self {
            CondvarState
        }

        #[inline(always)]
        pub(crate) fn notify_one(&self, cv: &parking_lot::Condvar, _: Loc) -> bool {
            cv.notify_one()
        }

        #[inline(always)]
        pub(crate) fn notify_all(&self, cv: &parking_lot::Condvar, _: Loc) -> usize {
            cv.notify_all()
        }

        #[inline(always)]
        pub(crate) fn wait<T: ?Sized>(
            &self,
            cv: &parking_lot::Condvar,
            guard: &mut lock_api::MutexGuard<'_, RawMutex, T>,
            _: Loc,
            deadline: Option<Instant>,
        ) -> bool {
            match deadline {
                Some(d) => cv.wait_until(guard, d).timed_out(),
                None => {
                    cv.wait(guard);
                    false
                }
            }
        }
    }

    /// Detection never runs.
    #[inline(always)]
    pub(crate) const fn enabled() -> bool {
        false
    }

    /// Never called ([`enabled`] is `false`): nothing to wait with.
    #[inline(always)]
    pub(crate) fn block<S>(
        _: &Meta,
        _: &parking_lot::Condvar,
        _: &mut parking_lot::MutexGuard<'_, S>,
        _: Blocking,
        _: impl FnMut(&mut S) -> Option<Done>,
    ) -> Option<Done> {
        None
    }

    #[inline(always)]
    pub(crate) fn signal(_: &Meta, _: Signal, _: u64, _: Loc) {}

    #[inline(always)]
    pub(crate) fn passed(_: &Meta, _: Loc) {}

    #[inline(always)]
    pub(crate) fn published(_: &Meta) {}

    #[inline(always)]
    pub(crate) fn synced(_: &Meta, _: Loc) {}

    #[inline(always)]
    pub(crate) fn current_thread_id() -> u64 {
        0
    }

    /// The plain twin of a tracked location's runtime side: zero-sized.
    #[derive(Debug)]
    pub(crate) struct Tracking;

    impl Tracking {
        pub(crate) const fn new(_: Loc, _: Option<&'static str>, _: Place) -> Self {
            Tracking
        }
        #[inline(always)]
        pub(crate) fn read(&self, _: Loc) {}
        #[inline(always)]
        pub(crate) fn write(&self, _: Loc) {}
        #[inline(always)]
        pub(crate) fn exclusive(&mut self) {}
    }

    /// The plain twin of an atomic's runtime side: zero-sized; an
    /// operation is just the operation.
    #[derive(Debug)]
    pub(crate) struct AtomicTracking;

    impl AtomicTracking {
        pub(crate) const fn new(_: Loc) -> Self {
            AtomicTracking
        }
        #[inline(always)]
        pub(crate) fn op<R>(&self, _: Loc, f: impl FnOnce() -> (R, AtomicOp, Value)) -> R {
            f().0
        }
        #[inline(always)]
        pub(crate) fn exclusive(&mut self) {}
    }

    #[inline(always)]
    pub(crate) fn fence(_: std::sync::atomic::Ordering, _: Loc) {}

    #[inline(always)]
    pub(crate) fn hb_release(_: usize) {}

    #[inline(always)]
    pub(crate) fn hb_acquire(_: usize, _: Loc) {}

    #[inline(always)]
    pub(crate) fn thread_finished() {}

    /// Never called ([`enabled`] is `false`).
    #[inline(always)]
    pub(crate) fn channel_wait(_: &Meta, _: Loc, _: impl FnMut(Duration) -> bool) {}

    /// The plain twin of a message's clock: zero-sized.
    #[derive(Debug)]
    pub(crate) struct Clock;

    impl Clock {
        #[inline(always)]
        pub(crate) fn now() -> Clock {
            Clock
        }
        #[inline(always)]
        pub(crate) fn take_in(&self, _: Loc) {}
    }

    #[inline(always)]
    pub(crate) fn joined(_: u64, _: Loc) {}

    #[inline(always)]
    pub(crate) fn took_permit(_: &Meta, _: Loc) {}

    #[inline(always)]
    pub(crate) fn gave_permit(_: &Meta, _: Loc) {}

    #[inline(always)]
    pub(crate) fn once_self(_: &Meta, _: u64, _: Loc) {}

    #[inline(always)]
    pub(crate) fn spawning(_: Loc) -> u64 {
        0
    }

    #[inline(always)]
    pub(crate) fn adopt_thread(_: u64) {}

    #[inline(always)]
    pub(crate) fn sleeping(_: Loc) {}

    /// Nothing to do: `std`'s join does the waiting.
    #[inline(always)]
    pub(crate) fn join(
        _: u64,
        _: &std::thread::Thread,
        _: Loc,
        _: Loc,
        _: &dyn Fn(Duration) -> bool,
    ) {
    }
}

pub(crate) use imp::api;
pub(crate) use imp::{
    adopt_thread, block, channel_wait, current_thread_id, enabled, fence, gave_permit, hb_acquire,
    hb_release, intern, join, joined, once_self, passed, published, raw_fair_mutex, raw_mutex,
    raw_rwlock, rw_lock, rw_try, signal, sleeping, spawning, synced, thread_finished, took_permit,
    with_site, AtomicTracking, Clock, CondvarState, Meta, SetMark, Tracking,
};
#[cfg(feature = "tracing-spans")]
pub(crate) use imp::{span_enter, span_exit, span_intern};
pub use imp::{RawFairMutex, RawMutex, RawRwLock};

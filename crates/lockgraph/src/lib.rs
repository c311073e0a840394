//! lockgraph: swap-in instrumented parking_lot locks that find deadlocks while your tests run.
//!
//! Replace `use parking_lot::{Mutex, RwLock, ReentrantMutex, Condvar}` with
//! `use lockgraph::{...}` and the code compiles unchanged: every public item
//! of parking_lot 0.12 has its namesake here (`tests/parity.rs` checks). Every blocking
//! acquisition then feeds a lock-order graph:
//!
//! - a `lock_order_cycle` is reported where an acquisition closes a cycle of
//!   lock orders across threads, even though nothing hung;
//! - a `self_deadlock` is reported before a thread re-locks what it holds;
//! - a `deadlock` is reported within about a second when threads really
//!   block on each other, instead of hanging the test.
//!
//! ```should_panic
//! use lockgraph::Mutex;
//!
//! let m = Mutex::named("m", 0);
//! let _g = m.lock();
//! let _again = m.lock(); // panics: self_deadlock, naming both sites
//! ```
//!
//! Reactions are set by `LOCKGRAPH_ON_FINDING=panic|warn|off` (default
//! `panic`: errors fail the test at the line that caused them) or
//! [`set_on_finding`]; `LOCKGRAPH=off` switches detection off at run time.
//! Building without the default `instrument` feature compiles it all out:
//! the guards are then parking_lot's own types.
//!
//! Table of contents:
//! - [`Mutex`], [`FairMutex`], [`RwLock`], [`ReentrantMutex`], [`Condvar`]:
//!   the locks, and parking_lot's `const_*` constructors.
//! - [`Semaphore`], [`Event`], [`Barrier`], [`Latch`], [`Once`], [`Timer`]:
//!   the other primitives a threading guide teaches; a thread blocked in
//!   any of them takes part in deadlock and stall detection.
//! - [`thread`]: `spawn`, `Builder`, `JoinHandle`: named threads whose
//!   spawn, join and exit are recorded.
//! - [`findings`], [`take_findings`], [`set_on_finding`], [`set_stall_grace`]:
//!   the runtime's API.

mod backend;
mod condvar;
mod fair_mutex;
mod mutex;
#[cfg(feature = "instrument")]
mod raw;
mod remutex;
#[cfg(feature = "instrument")]
mod rt;
mod rwlock;
mod sync;
pub mod thread;

pub use backend::{RawFairMutex, RawMutex, RawRwLock};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use fair_mutex::{const_fair_mutex, FairMutex, FairMutexGuard, MappedFairMutexGuard};
pub use lock_api;
pub use lock_api::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard,
};
pub use mutex::{const_mutex, MappedMutexGuard, Mutex, MutexGuard};
pub use parking_lot::RawThreadId;
pub use remutex::{
    const_reentrant_mutex, MappedReentrantMutexGuard, ReentrantMutex, ReentrantMutexGuard,
};
pub use rwlock::{
    const_rwlock, MappedRwLockReadGuard, MappedRwLockWriteGuard, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard,
};
pub use sync::{
    Barrier, BarrierWaitResult, BrokenBarrier, Event, Latch, Once, OnceState, OverRelease,
    Semaphore, SemaphorePermit, Timer,
};

#[cfg(feature = "instrument")]
pub use lockgraph_detect::{Finding, Kind, ObjectInfo, Severity};
#[cfg(feature = "instrument")]
pub use rt::config::{
    on_finding, set_backtraces, set_enabled, set_on_finding, set_stall_grace, stall_grace,
    OnFinding, DEFAULT_STALL_GRACE,
};
#[cfg(feature = "instrument")]
pub use rt::heuristics::progress;
#[cfg(feature = "instrument")]
pub use rt::hooks::held_locks;
#[cfg(feature = "instrument")]
pub use rt::react::{findings, take_findings};

/// Marks progress: a streak of failed lock attempts of this thread ends, so
/// a polling loop that does useful work between polls is not a `livelock`.
/// (Compiled out: does nothing.)
#[cfg(not(feature = "instrument"))]
#[inline(always)]
pub fn progress() {}
#[cfg(feature = "instrument")]
pub use rt::sink::{flush as flush_trace, trace_path};

/// Starts recording every event of this process to `path` (a file, or a
/// directory that gets `<program>-<pid>.jsonl`), as `LOCKGRAPH_TRACE=path`
/// does; returns the file. Call it before the threads to record start:
/// threads that already used a lock keep not recording. Recording starts
/// once per process; later calls return the file already in use.
#[cfg(feature = "instrument")]
pub fn record_to(path: impl AsRef<std::path::Path>) -> std::io::Result<std::path::PathBuf> {
    rt::sink::start(path.as_ref())
}

/// Whether this build instruments its locks (the `instrument` feature).
pub const INSTRUMENTED: bool = cfg!(feature = "instrument");

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

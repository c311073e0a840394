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

// The one switch: the only module that names the `instrument` feature. It
// declares the runtime (`rt/`) and the instrumented raw locks (`raw.rs`),
// which exist only in instrumented builds.
mod backend;
pub mod cell;
mod condvar;
mod fair_mutex;
pub mod hb;
mod mutex;
mod remutex;
mod rwlock;
#[cfg(feature = "tracing-spans")]
pub mod spans;
pub mod sync;
pub mod thread;
mod tracked;

// The runtime's API: all of it when instrumented, `progress` (a no-op) when not.
pub use backend::api::*;
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

pub use tracked::Tracked;

/// Whether this build instruments its locks (the `instrument` feature).
pub const INSTRUMENTED: bool = backend::INSTRUMENTED;

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

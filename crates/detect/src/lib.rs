//! lockgraph-detect: the event model, the lock-order graph, the wait-for analysis and findings.
//!
//! This crate knows nothing about threads or locks at run time. It consumes
//! descriptions of what happened (an acquisition with the locks then held, a
//! thread blocked on an object) and returns [`Finding`]s. The live runtime
//! (`lockgraph`) and post-mortem analysis feed it the same way, which is what
//! makes their findings identical.
//!
//! Table of contents:
//! - [`analysis`]: the `on_*` hooks through which both drivers ask the
//!   analyses, and [`Analyses`], the set lockgraph runs.
//! - [`event`]: the one typed event the runtime records, traces store and the replay reads.
//! - [`model`]: ids, sites, objects, threads, lock modes, stacks.
//! - [`finding`]: the finding data model, kinds, severities, fingerprints.
//! - [`order`]: the lock-order graph with its incremental cycle check.
//! - [`waitfor`]: cycles in the wait-for relation (real deadlocks).
//! - [`selfwait`]: a thread acquiring what it already holds.
//! - [`stall`]: deadlocks over any primitive, by graph reduction over wakers.
//! - [`state`]: the per-thread and per-object state both drivers keep, and
//!   the rules that change it (held stacks and the learn rule, streaks,
//!   notification marks, releases made elsewhere).
//! - [`livelock`]: threads failing to acquire against each other, with no progress.
//! - [`hazard`]: blocking while holding a lock, and leaked locks and permits.
//! - [`race`]: vector clocks, the shadow of a tracked location, data races
//!   and atomicity violations.

pub mod analysis;
pub mod event;
pub mod finding;
pub mod hazard;
pub mod livelock;
pub mod model;
pub mod order;
pub mod race;
pub mod replay;
pub mod selfwait;
pub mod stall;
pub mod state;
pub mod trace;
pub mod waitfor;

pub use analysis::{Analyses, Analysis};
pub use event::{Event, EventKind};
pub use finding::{Evidence, Finding, Fingerprint, Kind, ObjectRef, Op, Severity, ThreadRef};
pub use model::{
    Frame, HeldLock, Mode, ObjectId, ObjectInfo, ObjectKind, Site, Stack, StackRef, ThreadId,
    ThreadInfo,
};
pub use order::{Acquisition, LockOrderGraph};
